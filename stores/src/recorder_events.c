/*
 * recorder_events.c - the recorder's events and progress: the events
 * pending for the stream (the held-back interrupt event with the items it
 * stopped, one progress event per status change), the progress hash lines,
 * and the progress section of exec_progress / exec_finish that carries them
 * (recorder.c, its design).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/keys.h"
#include "peace/msg.h"
#include "peace/progress_line.h"
#include "recorder_int.h"

void rec_flush_backlog_soon(struct pc_recorder *r)
{
    if (r->n_events >= EVENTS_BACKLOG_MAX && !r->finishing && !r->lost &&
        !event_pending(r->soon, EV_TIMEOUT, NULL)) {
        event_active(r->soon, EV_TIMEOUT, 0);
    }
}

static void push_event_now(struct pc_recorder *r, const struct msg_event *ev)
{
    struct msg_event_fields f;

    if (!r->block_known && ev->kind != MSG_EVENT_BLOCK_START) {
        /* Before the first block nothing ran: an execution interrupted
         * before it started has only its outcome in the stream. */
        return;
    }
    if (msg_event_to_fields(ev, &f, NULL) != 0) {
        return; /* cannot happen for values built here; never write a bad event */
    }
    pc_redis_args_addu64(&r->events, f.n);
    for (size_t i = 0; i < f.n; i++) {
        pc_redis_args_add(&r->events, f.argv[i], f.argvlen[i]);
    }
    r->n_events++;
    rec_flush_backlog_soon(r);
}

/* The held-back interrupt event, with the items it stopped. */
void rec_push_interrupt(struct pc_recorder *r)
{
    struct msg_event ev;

    if (!r->irq_pending) {
        return;
    }
    r->irq_pending = false;
    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_INTERRUPT;
    memcpy(ev.reason, r->irq_reason, sizeof(ev.reason));
    ev.items = r->irq_items;
    ev.items_len = r->irq_len;
    push_event_now(r, &ev);
    r->irq_len = 0;
}

/* Every event but the interrupt's own: the interrupt, when held back,
 * goes first (events keep the order things happened in). */
void rec_push_event(struct pc_recorder *r, const struct msg_event *ev)
{
    rec_push_interrupt(r);
    push_event_now(r, ev);
}

/* Lists item in the held-back interrupt event; false when it cannot (no
 * interrupt held back, the list is full, out of memory): the item then
 * gets a progress event of its own. */
bool rec_irq_list_item(struct pc_recorder *r, size_t item)
{
    const char *id = r->flow->items[item].id.s;
    size_t n = strnlen(id, PC_ID_MAX);
    size_t need = r->irq_len + (r->irq_len > 0 ? 1 : 0) + n;

    if (!r->irq_pending || need > MSG_EVENT_ITEMS_MAX) {
        return false;
    }
    if (need > r->irq_cap) {
        size_t cap = r->irq_cap > 0 ? r->irq_cap : 1024;
        char *p = NULL;

        while (cap < need) {
            cap *= 2;
        }
        cap = cap > MSG_EVENT_ITEMS_MAX ? MSG_EVENT_ITEMS_MAX : cap;
        p = realloc(r->irq_items, cap);
        if (p == NULL) {
            return false;
        }
        r->irq_items = p;
        r->irq_cap = cap;
    }
    if (r->irq_len > 0) {
        r->irq_items[r->irq_len++] = ',';
    }
    memcpy(r->irq_items + r->irq_len, id, n);
    r->irq_len += n;
    return true;
}

void rec_push_progress_event(struct pc_recorder *r, size_t item,
                             const struct pc_progress_tracker *t)
{
    struct msg_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_PROGRESS;
    ev.item = r->flow->items[item].id;
    ev.status = t->status;
    ev.done = t->done;
    ev.limit = t->limit;
    memcpy(ev.msg, t->msg, sizeof(ev.msg));
    ev.msg[sizeof(ev.msg) - 1] = '\0';
    rec_push_event(r, &ev);
}

/* The item's progress line (layout 2, peace/progress_line.h) as one
 * hash field: field = item id, value = `STATUS LIMIT DONE[ MSG]`. */
static void add_progress_line(struct pc_redis_args *a, const char *id, size_t id_len,
                              const struct pc_progress_tracker *t)
{
    char limit[48];
    char line[PC_PROGRESS_LINE_MAX];
    int n;

    if (t->limit.kind == PC_LIMIT_UNKNOWN) {
        memcpy(limit, "unknown", 8);
    } else if (pc_limit_format(&t->limit, limit, sizeof(limit)) < 0) {
        (void)snprintf(limit, sizeof(limit), "unknown");
    }
    n = pc_progress_line_encode(line, sizeof(line), pc_progress_status_name(t->status), limit,
                                t->done, t->msg, strnlen(t->msg, sizeof(t->msg)));
    if (n < 0) { /* cannot happen: the line has room for any tracker */
        n = pc_progress_line_encode(line, sizeof(line), pc_progress_status_name(t->status),
                                    "unknown", t->done, NULL, 0);
    }
    pc_redis_args_add(a, id, id_len);
    pc_redis_args_add(a, line, n > 0 ? (size_t)n : 0);
}

/* An item's field, whichever of its parts changed (one field per item). */
static void add_progress_fields(struct pc_recorder *r, struct pc_redis_args *a, size_t item,
                                unsigned mask)
{
    const char *id = r->flow->items[item].id.s;

    if ((mask & FIELD_ALL) != 0) {
        add_progress_line(a, id, strnlen(id, PC_ID_MAX), &r->last[item]);
    }
}

void pc_recorder_initial_progress(const struct pc_flow *flow, struct pc_redis_args *a)
{
    struct pc_progress_tracker t;

    pc_progress_tracker_init(&t);
    pc_redis_args_addu64(a, 2 * (uint64_t)flow->n_items + 2);
    pc_redis_args_add(a, PC_PROGRESS_LAYOUT_FIELD, PC_PROGRESS_LAYOUT_FIELD_LEN);
    pc_redis_args_addu64(a, PC_PROGRESS_LAYOUT);
    for (size_t i = 0; i < flow->n_items; i++) {
        const char *id = flow->items[i].id.s;

        add_progress_line(a, id, strnlen(id, PC_ID_MAX), &t);
    }
}

/* The fields of item to write: the changed ones, all four the first time. */
static unsigned fields_to_write(const struct pc_recorder *r, size_t item)
{
    return r->written[item] ? r->dirty[item] & FIELD_ALL : FIELD_ALL;
}

static void append_args(struct pc_redis_args *dst, const struct pc_redis_args *src)
{
    for (size_t i = 0; i < src->n; i++) {
        pc_redis_args_add(dst, src->data + src->off[i], src->lens[i]);
    }
}

/*
 * Appends the progress section of exec_progress / exec_finish (np
 * [field value]... ne [nf [field value]...]... nm [field value]...) with
 * everything pending, and forgets it: the dirty items' hash fields, the
 * events in the order they happened (a coalesced update of an item closes
 * its run of units and messages) and the meta fields.
 */
void rec_add_progress_section(struct pc_recorder *r, struct pc_redis_args *a,
                              enum section_call call)
{
    size_t nm;
    bool mark;
    /* Layout 2: a sync is not an execution outliving a flush interval, so
     * its events stay pending for the next flush or the finish (which write
     * them if the execution has a stream or a follower by then). */
    bool keep = call == SECTION_SYNC && r->events_layout == 2 && !r->stream_marked;

    rec_push_interrupt(r);
    for (size_t k = 0; k < r->n_dirty; k++) {
        size_t i = r->dirty_list[k];

        if (r->ev_dirty[i]) {
            rec_push_progress_event(r, i, &r->last[i]);
            r->ev_dirty[i] = false;
        }
    }
    {
        uint64_t np = r->layout_written ? 0 : 2;

        for (size_t k = 0; k < r->n_dirty; k++) {
            np += fields_to_write(r, r->dirty_list[k]) != 0 ? 2 : 0;
        }
        pc_redis_args_addu64(a, np);
        if (!r->layout_written) {
            pc_redis_args_add(a, PC_PROGRESS_LAYOUT_FIELD, PC_PROGRESS_LAYOUT_FIELD_LEN);
            pc_redis_args_addu64(a, PC_PROGRESS_LAYOUT);
            r->layout_written = true;
        }
    }
    for (size_t k = 0; k < r->n_dirty; k++) {
        size_t i = r->dirty_list[k];

        add_progress_fields(r, a, i, fields_to_write(r, i));
        r->written[i] = true;
        r->dirty[i] = 0;
    }
    r->n_dirty = 0;
    pc_redis_args_addu64(a, keep ? 0 : r->n_events);
    if (!keep) {
        append_args(a, &r->events);
    }
    /* Layout 2: the first exec_progress that writes events creates the
     * stream, and says so (the finish then writes its events too). */
    mark = call == SECTION_FLUSH && r->events_layout == 2 && !r->stream_marked && r->n_events > 0;
    nm = 2 + (r->first_meta_sent ? 0 : r->first_meta.n);
    nm += r->block_known ? 4 : 0;
    nm += mark ? 2 : 0;
    pc_redis_args_addu64(a, nm);
    if (mark) {
        pc_redis_args_addz(a, "events");
        pc_redis_args_addz(a, "1");
        r->stream_marked = true;
    }
    pc_redis_args_addz(a, "items_done");
    pc_redis_args_addu64(a, r->n_done);
    if (r->block_known) {
        pc_redis_args_addz(a, "block");
        pc_redis_args_addz(a, pc_block_name(r->blocks[r->block_index]));
        pc_redis_args_addz(a, "block_index");
        pc_redis_args_addu64(a, r->block_index);
    }
    if (!r->first_meta_sent) {
        append_args(a, &r->first_meta);
    }
    if (!keep) {
        if (r->events.rc != 0 && a->rc == 0) {
            a->rc = r->events.rc; /* the call is refused: nothing half-written */
        }
        r->events.n = 0;
        r->events.len = 0;
        r->events.rc = 0;
        r->n_events = 0;
    }
    r->meta_dirty = false;
    r->first_meta_sent = true;
}
