/*
 * recorder.c - writes a running execution to Redis.
 *
 * Design. The engine reports every tracker change through the observer; a
 * dashboard needs far fewer writes than that. So the recorder keeps its own
 * copy of each item's tracker and dirty flags, and every flush_ms sends one
 * `exec_progress` script call with the dirty items' progress fields, the
 * events collected since the last flush and the meta fields block /
 * block_index / items_done. Events keep the order things happened in: every
 * status change of an item is its own progress event (so a follower sees
 * items queued in start order, and every final status of a block), as are
 * block_start and interrupt; only updates within one status (units done, a
 * message) are coalesced, into one progress event per item per flush. The
 * items an interrupt stops before they start are the exception: they are
 * listed in the interrupt event itself (its `items` field), one event for
 * all of them instead of one each (a 150-item chain's interrupt wrote 150
 * events before its outcome).
 *
 * Calls are pipelined on one connection, so Redis applies them in the order
 * sent: the engine's states writes for an item go out before the progress
 * flush that reports it done. While a flush is in flight, ticks skip (more
 * coalescing under a slow Redis). A block start waits for the next tick, and
 * the end carries whatever is pending in the exec_finish call itself: a
 * short execution is one script call, however much it records. A backlog of
 * EVENTS_BACKLOG_MAX events does not wait for the tick: it goes out at the
 * end of the current loop turn (after the engine's states writes of that
 * turn), so the outcome write, and what a follower waits for after an
 * interrupt, stays bounded whatever the flow's size.
 *
 * Events layout 2 (docs/fleet.md "Events on demand"): the events go to
 * the stream from the first timer or backlog flush that carries events on
 * (that call also sets the meta field `events`); the apply gate's sync
 * keeps them pending; the finish sends what is pending and the script
 * writes it only when the execution has a stream or a follower. A short,
 * unfollowed execution thus never creates its stream.
 *
 * The end: exec_finish (fenced) and lock_release (which publishes the
 * release): one call on a standalone Redis, or on a cluster when the
 * execution's id is in its profile's slot (exec_finish releases the lock
 * itself); otherwise the lock is in another slot, on another node, so the
 * release is sent only once exec_finish has answered (otherwise the next
 * execution of the profile could start before this one's outcome is
 * recorded); XACK and XDEL once the finish succeeded. Its
 * result reaches the owner through a zero-delay timer, never from inside an
 * engine callback. Every call in flight carries a small record that the
 * recorder can orphan on destroy, so a late reply never touches freed memory.
 *
 * The events, the progress hash lines and the progress section of a call
 * are recorder_events.c's; the state both files share is recorder_int.h's.
 */
#include "peace/recorder.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "peace/keys.h"
#include "peace/msg.h"
#include "peace/progress_line.h"
#include "recorder_int.h"

static uint64_t realtime_ms(void *ctx)
{
    struct timespec ts;

    (void)ctx;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ------------------------------------------------------------------------ */
/* Calls in flight                                                           */

static struct rec_call *call_new(struct pc_recorder *r, enum call_kind kind)
{
    struct rec_call *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        return NULL;
    }
    c->r = r;
    c->kind = kind;
    c->next = r->calls;
    if (r->calls != NULL) {
        r->calls->prev = c;
    }
    r->calls = c;
    return c;
}

/* Unlinks and frees c; returns its recorder (NULL when orphaned). */
static struct pc_recorder *call_end(struct rec_call *c)
{
    struct pc_recorder *r = c->r;

    if (r != NULL) {
        if (c->prev != NULL) {
            c->prev->next = c->next;
        } else {
            r->calls = c->next;
        }
        if (c->next != NULL) {
            c->next->prev = c->prev;
        }
    }
    free(c);
    return r;
}

/* ------------------------------------------------------------------------ */
/* The end                                                                   */

static void on_done_ev(evutil_socket_t fd, short what, void *arg)
{
    struct pc_recorder *r = arg;

    (void)fd;
    (void)what;
    if (r->on_done != NULL) {
        r->on_done(r->done_ctx, r->done_rc, r->done_why);
    }
}

static void schedule_done(struct pc_recorder *r, int rc, const char *why)
{
    struct timeval tv = {0, 0};
    char text[WHY_MAX];

    if (r->done_scheduled) {
        return;
    }
    /* why may be r->done_why itself. */
    (void)snprintf(text, sizeof(text), "%s", why != NULL ? why : "");
    r->done_scheduled = true;
    r->done_rc = rc;
    memcpy(r->done_why, text, sizeof(text));
    (void)event_add(r->done_ev, &tv);
}

static void mark_lost(struct pc_recorder *r, const char *why)
{
    if (!r->lost) {
        r->lost = true;
        (void)snprintf(r->done_why, sizeof(r->done_why), "%s", why);
    }
}

/* A progress write failed: nothing more is written, and the owner hears it
 * at once (it stops the execution starting items). */
static void write_failed(struct pc_recorder *r, const char *why)
{
    bool first = !r->lost;

    mark_lost(r, why);
    if (first && r->on_write_failed != NULL) {
        r->on_write_failed(r->on_write_failed_ctx, why);
    }
}

static void on_progress_reply(void *arg, const redisReply *reply)
{
    struct rec_call *c = arg;
    pc_recorder_sync_cb *sync_cb = c->sync_cb;
    void *sync_ctx = c->sync_ctx;
    struct pc_recorder *r = call_end(c);
    char text[160];
    char why[WHY_MAX];
    bool failed = reply == NULL || reply->type == REDIS_REPLY_ERROR;

    if (r == NULL) {
        return;
    }
    r->progress_in_flight--;
    if (failed) {
        pc_redis_reply_text(reply, text, sizeof(text));
        (void)snprintf(why, sizeof(why), "progress write failed: %s", text);
        /* A fenced write means another attempt owns the execution; a lost
         * connection means this worker can no longer prove it does. */
        write_failed(r, why);
    } else {
        rec_flush_backlog_soon(r); /* what piled up while this call was in flight */
    }
    if (sync_cb != NULL) {
        sync_cb(sync_ctx, failed ? PC_EREDIS : 0);
    }
}

static void add_exec_keys(struct pc_recorder *r, struct pc_redis_args *a)
{
    pc_redis_args_addz(a, r->meta_key);
    pc_redis_args_addz(a, r->progress_key);
    pc_redis_args_addz(a, r->events_key);
    pc_redis_args_addz(a, r->epoch_text);
    pc_redis_args_addu64(a, r->events_maxlen);
}

/* Sends one exec_progress call with everything pending; sync_cb (may be
 * NULL) hears its reply. Returns 0 when sent (or nothing was pending and
 * sync_cb is NULL), else non-zero (the recorder is lost). */
static int flush_call(struct pc_recorder *r, pc_recorder_sync_cb *sync_cb, void *sync_ctx)
{
    struct pc_redis_args a;
    struct rec_call *c = NULL;

    if (r->lost) {
        return PC_EFENCED;
    }
    if (sync_cb == NULL && r->n_dirty == 0 && r->n_events == 0 && !r->irq_pending &&
        !r->meta_dirty && r->first_meta_sent) {
        return 0;
    }
    if (r->before_write != NULL) {
        r->before_write(r->before_write_ctx);
    }
    pc_redis_args_init(&a);
    add_exec_keys(r, &a);
    rec_add_progress_section(r, &a, sync_cb != NULL ? SECTION_SYNC : SECTION_FLUSH);
    c = call_new(r, CALL_PROGRESS);
    if (c == NULL) {
        pc_redis_args_cleanup(&a);
        write_failed(r, "progress write failed: out of memory");
        return PC_ENOMEM;
    }
    c->sync_cb = sync_cb;
    c->sync_ctx = sync_ctx;
    if (pc_script_run(r->scripts, r->conn, PC_SCRIPT_EXEC_PROGRESS, 3, &a, 0, on_progress_reply,
                      c) != 0) {
        (void)call_end(c);
        write_failed(r, "progress write failed: cannot send");
        return PC_EREDIS;
    }
    r->progress_in_flight++;
    return 0;
}

static void flush(struct pc_recorder *r)
{
    (void)flush_call(r, NULL, NULL);
}

int pc_recorder_sync(struct pc_recorder *r, pc_recorder_sync_cb *cb, void *ctx)
{
    if (cb == NULL || r->finishing) {
        return PC_EINVAL;
    }
    return flush_call(r, cb, ctx);
}

/* ------------------------------------------------------------------------ */
/* Observer                                                                  */

static void obs_block_start(void *ctx, size_t index, enum pc_block_kind kind)
{
    struct pc_recorder *r = ctx;
    struct msg_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_BLOCK_START;
    ev.block = kind;
    ev.block_index = index;
    if (index < PC_BLOCKS_MAX && index <= r->n_blocks) {
        /* The block the engine runs: diff's sides may be discovered rather
         * than read, and clean_obsolete is appended when there are obsolete
         * items, so the command's own list is only the default. */
        r->blocks[index] = kind;
        r->n_blocks = index == r->n_blocks ? index + 1 : r->n_blocks;
    }
    r->block_index = index < r->n_blocks ? index : r->n_blocks - 1;
    r->block_known = r->n_blocks > 0;
    r->meta_dirty = true;
    if (r->lost) {
        return;
    }
    /* Written by the next tick (within flush_ms) or with the outcome: a
     * short execution then costs one script call for all it records. */
    rec_push_event(r, &ev);
}

static void obs_progress(void *ctx, size_t item, const struct pc_progress_tracker *t,
                         const struct pc_progress_update *u)
{
    struct pc_recorder *r = ctx;
    const struct pc_progress_tracker *o = NULL;
    uint8_t mask = 0;

    if (item >= r->flow->n_items) {
        return;
    }
    o = &r->last[item];
    mask |= o->status != t->status ? FIELD_STATUS : 0;
    mask |= o->limit.kind != t->limit.kind || o->limit.n != t->limit.n ? FIELD_LIMIT : 0;
    mask |= o->done != t->done ? FIELD_DONE : 0;
    mask |= strncmp(o->msg, t->msg, sizeof(o->msg)) != 0 ? FIELD_MSG : 0;
    if (mask == 0 && r->written[item]) {
        return; /* nothing a reader sees changed */
    }
    if ((mask & FIELD_STATUS) != 0) {
        /* A status change is an event of its own, in order; it carries the
         * latest units and message, so a coalesced one is not needed. An
         * item the interrupt stopped is listed in the interrupt's event
         * instead, when a reader's view of it is exact up to this change
         * (no coalesced update pending) and the change is only the status
         * and message the interrupt sets. */
        bool listed = u != NULL && u->kind == PC_UPDATE_INTERRUPT && !r->ev_dirty[item] &&
                      t->status == PC_PROGRESS_INTERRUPTED &&
                      strcmp(t->msg, PC_PROGRESS_INTERRUPTED_MSG) == 0 &&
                      (mask & (FIELD_LIMIT | FIELD_DONE)) == 0 && !r->lost &&
                      rec_irq_list_item(r, item);

        if (!r->lost && !listed) {
            rec_push_progress_event(r, item, t);
        }
        r->ev_dirty[item] = false;
    } else {
        r->ev_dirty[item] = true;
    }
    r->n_done -= o->status == PC_PROGRESS_SUCCESS || o->status == PC_PROGRESS_FAIL;
    r->n_done += t->status == PC_PROGRESS_SUCCESS || t->status == PC_PROGRESS_FAIL;
    r->last[item] = *t;
    if (r->dirty[item] == 0) {
        r->dirty_list[r->n_dirty++] = item;
    }
    r->dirty[item] |= mask | FIELD_LISTED;
}

/* Held back: the engine now marks the items the interrupt stops
 * (obs_progress lists them in this event). */
static void obs_interrupted(void *ctx)
{
    struct pc_recorder *r = ctx;

    if (r->lost) {
        return;
    }
    rec_push_interrupt(r); /* cannot happen: the engine's interrupt takes effect once */
    memcpy(r->irq_reason, r->reason, sizeof(r->irq_reason));
    r->irq_pending = true;
    r->irq_len = 0;
}

/*
 * The end: exec_finish (fenced), then lock_release (which PUBLISHes the
 * release itself): one call on a standalone Redis, where exec_finish
 * releases the lock after the finish; on a cluster the release follows
 * exec_finish's reply, whatever it was. A
 * release after a refused finish only gives back a lock this attempt still
 * holds (a new attempt takes the lock with its own value). The job is
 * acknowledged (XACK, then XDEL: a finished execution's entry is of no
 * further use) only once the outcome is written. Done when every reply is in.
 */
static void end_maybe_done(struct pc_recorder *r)
{
    if (r->end_pending == 0 && r->finish_ok) {
        schedule_done(r, 0, "");
    }
}

static void on_end_reply(void *arg, const redisReply *reply)
{
    struct pc_recorder *r = call_end(arg);

    /* A failed XACK/XDEL/release is harmless: a takeover finds the
     * execution finished and acks it; a lock left behind expires. */
    (void)reply;
    if (r != NULL) {
        r->end_pending--;
        end_maybe_done(r);
    }
}

static void send_end_cmd(struct pc_recorder *r, int argc, const char *const *argv)
{
    size_t lens[8];
    struct rec_call *c = call_new(r, CALL_ACK);

    for (int i = 0; i < argc; i++) {
        lens[i] = strlen(argv[i]);
    }
    if (c != NULL && pc_redis_cmd(r->conn, argc, argv, lens, 0, on_end_reply, c) == 0) {
        r->end_pending++;
    } else if (c != NULL) {
        (void)call_end(c);
    }
}

static void send_release(struct pc_recorder *r)
{
    struct pc_redis_args a;
    struct rec_call *c = NULL;

    if (r->lock_value[0] == '\0') {
        return;
    }
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, r->lock_key);
    pc_redis_args_addz(&a, r->lock_value);
    pc_redis_args_addz(&a, r->released_channel);
    pc_redis_args_addz(&a, r->profile_tag);
    c = call_new(r, CALL_RELEASE);
    if (c != NULL && pc_script_run(r->scripts, r->conn, PC_SCRIPT_LOCK_RELEASE, 1, &a, 0,
                                   on_end_reply, c) == 0) {
        r->end_pending++;
    } else if (c != NULL) {
        (void)call_end(c);
    }
}

static void on_finish_reply(void *arg, const redisReply *reply)
{
    struct pc_recorder *r = call_end(arg);
    const char *ack[4];
    const char *del[3];
    char text[160];
    char why[WHY_MAX];

    if (r == NULL) {
        return;
    }
    if (r->release_after) {
        r->release_after = false;
        send_release(r);
    }
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        pc_redis_reply_text(reply, text, sizeof(text));
        (void)snprintf(why, sizeof(why), "outcome write failed: %s", text);
        schedule_done(r, pc_redis_reply_is_error(reply, "FENCED") ? PC_EFENCED : PC_EREDIS, why);
        return;
    }
    r->finish_ok = true;
    ack[0] = "XACK";
    ack[1] = r->queue_key;
    ack[2] = r->group;
    ack[3] = r->entry_id;
    del[0] = "XDEL";
    del[1] = r->queue_key;
    del[2] = r->entry_id;
    send_end_cmd(r, 4, ack);
    send_end_cmd(r, 3, del);
    end_maybe_done(r);
}

static const char *outcome_error_text(const struct pc_outcome *o, char *buf, size_t size)
{
    if (o->error != NULL) {
        return o->error;
    }
    if (o->kind == PC_OUTCOME_ITEM_ERROR && o->n_errors > 0) {
        (void)snprintf(buf, size, "%s: %s", o->errors[0].item.s,
                       o->errors[0].text != NULL ? o->errors[0].text : "failed");
        return buf;
    }
    return "";
}

/* The meta field block_ms: each block run's duration in ms, comma-separated. */
static const char *block_ms_text(const struct pc_outcome *o, char *buf, size_t size)
{
    size_t len = 0;

    buf[0] = '\0';
    for (size_t b = 0; b < o->n_run && b < PC_BLOCKS_MAX; b++) {
        int k = snprintf(buf + len, size - len, "%s%llu", b == 0 ? "" : ",",
                         (unsigned long long)o->run[b].duration_ms);

        if (k < 0 || (size_t)k >= size - len) {
            buf[len] = '\0';
            break;
        }
        len += (size_t)k;
    }
    return buf;
}

static void obs_finished(void *ctx, const struct pc_outcome *o)
{
    struct pc_recorder *r = ctx;
    struct pc_buf report;
    struct pc_buf summary;
    struct pc_redis_args a;
    struct msg_event ev;
    struct msg_event_fields f;
    struct rec_call *c = NULL;
    char errbuf[PC_OUTCOME_ERROR_TEXT_MAX + PC_ID_MAX + 4];
    char block_ms[PC_BLOCKS_MAX * 21 + 1];
    bool fused;
    int rc;

    r->finishing = true;
    (void)event_del(r->tick);
    if (r->lost) {
        schedule_done(r, PC_EFENCED, r->done_why);
        return;
    }
    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_OUTCOME;
    ev.outcome = o->kind;
    /* A small report goes whole in the meta hash (report empty: no key). */
    rc = msg_report_encode_redis(o, &summary, &report, NULL);
    if (rc != 0) {
        schedule_done(r, PC_EREDIS, "cannot encode the outcome report");
        return;
    }
    /* The last progress and the outcome in one call (exec_finish). */
    if (r->before_write != NULL) {
        r->before_write(r->before_write_ctx);
    }
    /* The profile lock's release shares the call where one script reaches
     * it (a standalone Redis, or an id in the profile's slot); otherwise it
     * is in another slot and follows as lock_release. */
    fused = r->lock_value[0] != '\0' && (!pc_redis_conn_is_cluster(r->conn) || r->colocated);
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, r->meta_key);
    pc_redis_args_addz(&a, r->progress_key);
    pc_redis_args_addz(&a, r->events_key);
    pc_redis_args_addz(&a, r->scratch_key);
    pc_redis_args_addz(&a, r->report_key);
    if (fused) {
        pc_redis_args_addz(&a, r->lock_key);
    }
    pc_redis_args_addz(&a, r->epoch_text);
    pc_redis_args_addu64(&a, r->events_maxlen);
    pc_redis_args_addz(&a, fused ? r->lock_value : "");
    pc_redis_args_addz(&a, fused ? r->released_channel : "");
    pc_redis_args_addz(&a, fused ? r->profile_tag : "");
    pc_redis_args_addz(&a, r->events_layout == 1 ? "1" : "2");
    rec_add_progress_section(r, &a, SECTION_FINISH);
    pc_redis_args_addu64(&a, r->now_ms(r->clock_ctx));
    pc_redis_args_addz(&a, pc_outcome_kind_name(o->kind));
    pc_redis_args_add(&a, summary.data != NULL ? summary.data : "", summary.len);
    pc_redis_args_addz(&a, outcome_error_text(o, errbuf, sizeof(errbuf)));
    pc_redis_args_addu64(&a, r->retention_s);
    pc_redis_args_add(&a, report.data != NULL ? report.data : "", report.len);
    pc_redis_args_addz(&a, block_ms_text(o, block_ms, sizeof(block_ms)));
    if (msg_event_to_fields(&ev, &f, NULL) == 0) {
        for (size_t i = 0; i < f.n; i++) {
            pc_redis_args_add(&a, f.argv[i], f.argvlen[i]);
        }
    }
    pc_buf_cleanup(&report);
    pc_buf_cleanup(&summary);
    c = call_new(r, CALL_FINISH);
    if (c == NULL || pc_script_run(r->scripts, r->conn, PC_SCRIPT_EXEC_FINISH, fused ? 6 : 5, &a, 0,
                                   on_finish_reply, c) != 0) {
        if (c != NULL) {
            (void)call_end(c);
        }
        pc_redis_args_cleanup(&a);
        schedule_done(r, PC_EREDIS, "outcome write failed: cannot send");
        return;
    }
    /* On a cluster the release waits for the finish's reply (on_finish_reply). */
    r->release_after = !fused;
}

static const struct pc_exec_observer_ops recorder_observer = {
    .block_start = obs_block_start,
    .progress = obs_progress,
    .interrupted = obs_interrupted,
    .finished = obs_finished,
};

const struct pc_exec_observer_ops *pc_recorder_observer(void)
{
    return &recorder_observer;
}

/* ------------------------------------------------------------------------ */
/* Timer and life cycle                                                      */

static void on_soon(evutil_socket_t fd, short what, void *arg)
{
    struct pc_recorder *r = arg;

    (void)fd;
    (void)what;
    if (r->exec != NULL && !r->finishing && r->progress_in_flight == 0) {
        flush(r);
    }
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct pc_recorder *r = arg;

    (void)fd;
    (void)what;
    if (r->exec == NULL || r->finishing) {
        return;
    }
    pc_exec_progress_flush(r->exec);
    if (r->progress_in_flight == 0) {
        flush(r);
    }
}

void pc_recorder_attach(struct pc_recorder *r, struct pc_exec *e)
{
    struct timeval tv = {(time_t)(r->flush_ms / 1000u), (suseconds_t)(r->flush_ms % 1000u) * 1000};

    r->exec = e;
    (void)event_add(r->tick, &tv);
}

void pc_recorder_set_interrupt_reason(struct pc_recorder *r, const char *reason, size_t len)
{
    size_t n = len < MSG_EVENT_REASON_MAX ? len : MSG_EVENT_REASON_MAX;

    if (reason == NULL) {
        n = 0;
    }
    if (n > 0) {
        memcpy(r->reason, reason, n);
    }
    r->reason[n] = '\0';
    /* Event values are C strings: cut at an embedded NUL, flatten newlines. */
    r->reason[strnlen(r->reason, n)] = '\0';
    for (size_t i = 0; r->reason[i] != '\0'; i++) {
        if (r->reason[i] == '\r' || r->reason[i] == '\n') {
            r->reason[i] = ' ';
        }
    }
}

void pc_recorder_abandon(struct pc_recorder *r)
{
    mark_lost(r, "the execution was lost to another attempt");
}

bool pc_recorder_lost(const struct pc_recorder *r)
{
    return r->lost;
}

static int copy_text(char *dst, size_t size, const char *src)
{
    if (src == NULL || strlen(src) >= size) {
        return PC_EINVAL;
    }
    memcpy(dst, src, strlen(src) + 1);
    return 0;
}

static int build_names(struct pc_recorder *r, const struct pc_recorder_opts *o)
{
    const struct pc_flow *f = o->flow;

    if (pc_key_exec(r->meta_key, sizeof(r->meta_key), o->prefix, o->exec_id) < 0 ||
        pc_key_progress(r->progress_key, sizeof(r->progress_key), o->prefix, o->exec_id) < 0 ||
        pc_key_events(r->events_key, sizeof(r->events_key), o->prefix, o->exec_id) < 0 ||
        pc_key_report(r->report_key, sizeof(r->report_key), o->prefix, o->exec_id) < 0 ||
        pc_key_queue_part(r->queue_key, sizeof(r->queue_key), o->prefix, o->queue, o->partition,
                          o->partitions > 0 ? o->partitions : 1) < 0 ||
        pc_key_lock(r->lock_key, sizeof(r->lock_key), o->prefix, f->app.s, f->profile.s) < 0 ||
        pc_key_profiles_released(r->released_channel, sizeof(r->released_channel), o->prefix) < 0) {
        return PC_EINVAL;
    }
    (void)snprintf(r->scratch_key, sizeof(r->scratch_key), "%s:compact", r->events_key);
    (void)snprintf(r->profile_tag, sizeof(r->profile_tag), "%s:%s", f->app.s, f->profile.s);
    r->colocated = pc_exec_colocated(o->exec_id, f->app.s, f->profile.s);
    if (copy_text(r->prefix, sizeof(r->prefix), o->prefix) != 0 ||
        copy_text(r->group, sizeof(r->group), o->group) != 0 ||
        copy_text(r->entry_id, sizeof(r->entry_id), o->entry_id) != 0 ||
        (o->lock_value != NULL &&
         copy_text(r->lock_value, sizeof(r->lock_value), o->lock_value) != 0)) {
        return PC_EINVAL;
    }
    return 0;
}

int pc_recorder_create(const struct pc_recorder_opts *o, struct pc_recorder **out,
                       struct pc_err *err)
{
    struct pc_recorder *r = NULL;
    size_t n;

    if (o == NULL || o->base == NULL || o->conn == NULL || o->scripts == NULL || o->flow == NULL ||
        out == NULL || o->n_first_meta % 2 != 0) {
        return pc_err_set(err, PC_EINVAL, "recorder: missing argument");
    }
    n = o->flow->n_items;
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    r->base = o->base;
    r->conn = o->conn;
    r->scripts = o->scripts;
    r->flow = o->flow;
    r->cmd = o->cmd;
    r->sync = o->sync;
    r->n_blocks = pc_cmd_blocks(o->cmd, o->sync, r->blocks);
    r->retention_s = o->retention_s;
    r->flush_ms = o->flush_ms != 0 ? o->flush_ms : 50;
    r->events_maxlen = o->events_maxlen != 0 ? o->events_maxlen : 10000;
    r->events_layout = o->events_layout == 1 ? 1 : 2;
    r->now_ms = o->now_ms != NULL ? o->now_ms : realtime_ms;
    r->clock_ctx = o->clock_ctx;
    r->on_done = o->on_done;
    r->done_ctx = o->done_ctx;
    r->before_write = o->before_write;
    r->before_write_ctx = o->before_write_ctx;
    r->on_write_failed = o->on_write_failed;
    r->on_write_failed_ctx = o->on_write_failed_ctx;
    {
        /* Decimal by hand (hot path: one recorder per execution). */
        char tmp[24];
        size_t k = 0;
        uint64_t v = o->epoch;

        do {
            tmp[k++] = (char)('0' + v % 10);
            v /= 10;
        } while (v != 0);
        for (size_t j = 0; j < k; j++) {
            r->epoch_text[j] = tmp[k - 1 - j];
        }
        r->epoch_text[k] = '\0';
    }
    pc_redis_args_init(&r->events);
    pc_redis_args_init(&r->first_meta);
    for (size_t i = 0; i < o->n_first_meta; i++) {
        pc_redis_args_addz(&r->first_meta, o->first_meta[i]);
    }
    if (build_names(r, o) != 0) {
        pc_recorder_destroy(r);
        return pc_err_set(err, PC_EINVAL, "recorder: a name does not fit or is invalid");
    }
    r->last = calloc(n + 1, sizeof(*r->last));
    r->dirty = calloc(n + 1, sizeof(*r->dirty));
    r->dirty_list = calloc(n + 1, sizeof(*r->dirty_list));
    r->written = calloc(n + 1, sizeof(*r->written));
    r->ev_dirty = calloc(n + 1, sizeof(*r->ev_dirty));
    r->tick = event_new(o->base, -1, EV_PERSIST, on_tick, r);
    r->done_ev = evtimer_new(o->base, on_done_ev, r);
    r->soon = event_new(o->base, -1, 0, on_soon, r);
    if (r->last == NULL || r->dirty == NULL || r->dirty_list == NULL || r->written == NULL ||
        r->ev_dirty == NULL || r->tick == NULL || r->done_ev == NULL || r->soon == NULL ||
        r->first_meta.rc != 0) {
        pc_recorder_destroy(r);
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        pc_progress_tracker_init(&r->last[i]);
        r->written[i] = o->progress_prefilled;
    }
    r->layout_written = o->progress_prefilled;
    *out = r;
    return 0;
}

void pc_recorder_destroy(struct pc_recorder *r)
{
    if (r == NULL) {
        return;
    }
    for (struct rec_call *c = r->calls; c != NULL; c = c->next) {
        c->r = NULL; /* the reply frees the record and touches nothing else */
    }
    if (r->tick != NULL) {
        event_free(r->tick);
    }
    if (r->soon != NULL) {
        event_free(r->soon);
    }
    if (r->done_ev != NULL) {
        event_free(r->done_ev);
    }
    pc_redis_args_cleanup(&r->events);
    pc_redis_args_cleanup(&r->first_meta);
    free(r->last);
    free(r->dirty);
    free(r->dirty_list);
    free(r->written);
    free(r->ev_dirty);
    free(r->irq_items);
    free(r);
}
