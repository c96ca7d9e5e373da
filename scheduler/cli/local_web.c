/*
 * local_web.c - the in-process backend of the HTTP layer for `peace run
 * --local --listen` (local_web.h).
 *
 * Design. The run is recorded in the contract's plain values, as the
 * worker writes them to Redis (CONTRACT §3): meta fields, per-item progress
 * fields, events as msg_event values with stream-like ids, the report as
 * msgpack. Requests are answered from that record with the layer's own
 * document builders (web_answer_*), so the JSON is the scheduler's by
 * construction. Event streams are sources (web_backend.h) holding a cursor
 * into the event list; every new event pumps them.
 *
 * Events follow the recorder's rules: a status change of an item is an
 * event of its own, at once; units and messages within one status are
 * coalesced per item until the next tick (50 ms); nothing but the outcome
 * is recorded before the first block starts.
 */
#include "local_web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/msg.h"
#include "peace/ulid.h"
#include "web_backend.h"
#include "web_server.h"

#define LW_MAX_BODY       (8u << 20) /* as peace-scheduler's default --max-body */
#define LW_READ_TIMEOUT_S 10
#define LW_MAX_SSE        64
#define LW_QUEUE          "local"
#define LW_WORKER         "local"
#define LW_META_MAX       (2 * 30)
#define LW_ERROR_MAX      (PC_OUTCOME_ERROR_TEXT_MAX + PC_ID_MAX + 4)

struct lw_event {
    uint64_t ms;
    uint64_t seq;
    char id[SCHED_STREAM_ID_MAX + 1];
    struct msg_event ev;
};

struct lw_source {
    struct local_web *lw;
    struct web_stream *st;
    uint64_t next;      /* absolute index of the next event to send */
    struct event *wake; /* owned: a slow reader is tried again later */
    struct lw_source *prev;
    struct lw_source *next_src;
};

/* An interrupt answer with ?wait=MS: until the run finished or MS passed. */
struct lw_waiter {
    struct local_web *lw;
    struct web_call *wc;
    struct pc_interrupt_req req;
    char status[16]; /* the status when asked */
    bool requested;
    uint64_t requested_ms;
    uint64_t until_mono_ms; /* answer then at the latest */
    struct event *timer;    /* owned */
    struct lw_waiter *next;
};

struct local_web {
    struct local_web_opts o;
    struct web_server *ws; /* owned */
    char id[PC_ULID_LEN + 1];
    uint64_t created_ms;
    uint64_t started_ms;
    uint64_t finished_ms;
    uint64_t interrupt_ms;
    char interrupt_reason[MSG_EVENT_REASON_MAX + 1];
    /* The receipt: the mode in effect (it only rises), its deadline, the
     * rises after the first request, and when the engine took the first
     * (in this process it takes a request at once). */
    bool interrupt_has_mode;
    enum pc_interrupt_mode interrupt_mode;
    uint64_t interrupt_deadline_ms;
    uint64_t interrupt_latched_ms;
    uint64_t interrupt_escalations;
    bool started;
    bool finished;
    enum pc_outcome_kind outcome;
    char error[LW_ERROR_MAX];
    enum pc_block_kind blocks[PC_BLOCKS_MAX];
    size_t blocks_total;
    bool block_known;
    size_t block_index;
    size_t items_done;
    struct pc_progress_tracker *last; /* per item */
    bool *ev_dirty;                   /* per item: units or message changed */
    struct pc_buf items_csv;
    struct pc_buf report;  /* the full msgpack report, once finished */
    struct pc_buf summary; /* the meta's `report` */
    struct sched_timing exec_t[1];
    struct sched_timing block_t[PC_BLOCKS_MAX];
    size_t n_block_t;
    struct lw_event *events; /* owned */
    size_t n_events;
    size_t cap_events;
    uint64_t first_abs; /* absolute index of events[0] */
    uint64_t last_ms;
    uint64_t last_seq;
    struct lw_source *sources;
    struct lw_waiter *waiters; /* owned list: interrupt answers waiting (?wait) */
};

/* ------------------------------------------------------------------------ */
/* Event streams                                                             */

static void source_pump(struct lw_source *s);

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    source_pump(arg);
}

static void source_close(void *p)
{
    struct lw_source *s = p;
    struct local_web *lw = s->lw;

    if (lw->sources == s) {
        lw->sources = s->next_src;
    }
    if (s->prev != NULL) {
        s->prev->next_src = s->next_src;
    }
    if (s->next_src != NULL) {
        s->next_src->prev = s->prev;
    }
    if (s->wake != NULL) {
        event_free(s->wake);
    }
    free(s);
}

static const struct web_source_ops source_ops = {.close = source_close};

static void event_kv(const struct lw_event *e, struct msg_event_fields *f, struct sched_str *kv,
                     size_t *n)
{
    *n = 0;
    if (msg_event_to_fields(&e->ev, f, NULL) != 0) {
        return;
    }
    for (size_t i = 0; i < f->n; i++) {
        kv[i].p = f->argv[i];
        kv[i].n = f->argvlen[i];
    }
    *n = f->n;
}

/* Sends what the client has not got yet, as fast as it reads. */
static void source_pump(struct lw_source *s)
{
    struct local_web *lw = s->lw;

    while (!web_stream_over(s->st)) {
        struct msg_event_fields f;
        struct sched_str kv[MSG_EVENT_FIELDS_MAX];
        const struct lw_event *e = NULL;
        bool outcome = false;
        size_t n = 0;
        int w;

        if (s->next < lw->first_abs) {
            s->next = lw->first_abs; /* trimmed meanwhile */
        }
        if (s->next >= lw->first_abs + lw->n_events) {
            if (lw->finished) {
                web_stream_end(s->st, NULL);
            }
            return;
        }
        w = web_stream_writable(s->st);
        if (w < 0) {
            return;
        }
        if (w == 0) {
            struct timeval tv = {0, 100000};

            (void)evtimer_add(s->wake, &tv);
            return;
        }
        e = &lw->events[s->next - lw->first_abs];
        s->next++;
        event_kv(e, &f, kv, &n);
        if (web_stream_event(s->st, e->id, kv, n, &outcome) != 0) {
            return;
        }
        if (outcome) {
            web_stream_end(s->st, NULL);
            return;
        }
    }
}

/* The absolute index of the first event after last_id ("ms[-seq]"). */
static uint64_t position_after(const struct local_web *lw, const char *last_id)
{
    uint64_t ms = 0;
    uint64_t seq = 0;
    const char *p = last_id;

    while (*p >= '0' && *p <= '9') {
        ms = ms * 10 + (uint64_t)(*p++ - '0');
    }
    if (*p == '-') {
        p++;
        while (*p >= '0' && *p <= '9') {
            seq = seq * 10 + (uint64_t)(*p++ - '0');
        }
    }
    for (size_t i = 0; i < lw->n_events; i++) {
        const struct lw_event *e = &lw->events[i];

        if (e->ms > ms || (e->ms == ms && e->seq > seq)) {
            return lw->first_abs + i;
        }
    }
    return lw->first_abs + lw->n_events;
}

static void lw_follow(void *be, struct web_call *wc, const char *id, const char *last_id)
{
    struct local_web *lw = be;
    struct lw_source *s = NULL;
    struct sched_fail fail;

    if (strcmp(id, lw->id) != 0) {
        web_reply_code(wc, SCHED_EXECUTION_NOT_FOUND, "execution %s not found", id);
        return;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL || (s->wake = evtimer_new(lw->o.base, on_wake, s)) == NULL) {
        free(s);
        web_reply_code(wc, SCHED_INTERNAL, "out of memory");
        return;
    }
    s->lw = lw;
    s->next = position_after(lw, last_id);
    if (web_stream_open(wc, &source_ops, s, &s->st, &fail) != 0) {
        event_free(s->wake);
        free(s);
        web_reply_fail(wc, &fail);
        return;
    }
    s->next_src = lw->sources;
    if (lw->sources != NULL) {
        lw->sources->prev = s;
    }
    lw->sources = s;
    if (web_stream_probing(s->st)) {
        bool nothing_after = s->next >= lw->first_abs + lw->n_events;
        bool last_outcome =
            lw->n_events > 0 && lw->events[lw->n_events - 1].ev.kind == MSG_EVENT_OUTCOME;

        if (nothing_after && (lw->finished || last_outcome)) {
            web_stream_no_content(s->st);
            return;
        }
        web_stream_start(s->st);
    }
    source_pump(s);
}

/* ------------------------------------------------------------------------ */
/* Recording                                                                 */

static void push_event(struct local_web *lw, const struct msg_event *ev)
{
    uint64_t ms = web_unix_ms();
    struct lw_event *e = NULL;

    if (!lw->block_known && ev->kind != MSG_EVENT_BLOCK_START && ev->kind != MSG_EVENT_OUTCOME) {
        return; /* before the first block nothing ran */
    }
    if (lw->n_events == LOCAL_WEB_EVENTS_MAX) {
        size_t drop = LOCAL_WEB_EVENTS_MAX / 10;

        memmove(lw->events, lw->events + drop, (lw->n_events - drop) * sizeof(*lw->events));
        lw->n_events -= drop;
        lw->first_abs += drop;
    }
    if (lw->n_events == lw->cap_events) {
        size_t cap = lw->cap_events == 0 ? 64 : 2 * lw->cap_events;
        struct lw_event *v = NULL;

        cap = cap > LOCAL_WEB_EVENTS_MAX ? LOCAL_WEB_EVENTS_MAX : cap;
        v = realloc(lw->events, cap * sizeof(*v));
        if (v == NULL) {
            return; /* out of memory: the event is lost, the run goes on */
        }
        lw->events = v;
        lw->cap_events = cap;
    }
    e = &lw->events[lw->n_events++];
    if (ms <= lw->last_ms && lw->n_events + lw->first_abs > 1) {
        ms = lw->last_ms;
        lw->last_seq++;
    } else {
        lw->last_seq = 0;
    }
    lw->last_ms = ms;
    e->ms = ms;
    e->seq = lw->last_seq;
    (void)snprintf(e->id, sizeof(e->id), "%llu-%llu", (unsigned long long)ms,
                   (unsigned long long)e->seq);
    e->ev = *ev;
    for (struct lw_source *s = lw->sources, *next = NULL; s != NULL; s = next) {
        next = s->next_src; /* a stream that ends is only reaped later */
        source_pump(s);
    }
}

static void push_progress(struct local_web *lw, size_t item)
{
    const struct pc_progress_tracker *t = &lw->last[item];
    struct msg_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_PROGRESS;
    ev.item = lw->o.flow->items[item].id;
    ev.status = t->status;
    ev.done = t->done;
    ev.limit = t->limit;
    memcpy(ev.msg, t->msg, sizeof(ev.msg));
    ev.msg[sizeof(ev.msg) - 1] = '\0';
    lw->ev_dirty[item] = false;
    push_event(lw, &ev);
}

void local_web_tick(struct local_web *lw)
{
    for (size_t i = 0; lw != NULL && i < lw->o.flow->n_items; i++) {
        if (lw->ev_dirty[i]) {
            push_progress(lw, i);
        }
    }
}

void local_web_started(struct local_web *lw)
{
    if (lw != NULL && !lw->started) {
        lw->started = true;
        lw->started_ms = web_unix_ms();
    }
}

void local_web_block_start(struct local_web *lw, size_t index, enum pc_block_kind kind)
{
    struct msg_event ev;

    if (lw == NULL || index >= PC_BLOCKS_MAX) {
        return;
    }
    local_web_tick(lw);
    lw->block_known = true;
    lw->block_index = index;
    lw->blocks[index] = kind;
    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_BLOCK_START;
    ev.block = kind;
    ev.block_index = index;
    push_event(lw, &ev);
}

static bool item_done(enum pc_progress_status s)
{
    return s == PC_PROGRESS_SUCCESS || s == PC_PROGRESS_FAIL;
}

void local_web_progress(struct local_web *lw, size_t item, const struct pc_progress_tracker *t)
{
    struct pc_progress_tracker *o = NULL;

    if (lw == NULL || item >= lw->o.flow->n_items) {
        return;
    }
    o = &lw->last[item];
    if (item_done(t->status) != item_done(o->status)) {
        lw->items_done += item_done(t->status) ? 1 : 0;
        lw->items_done -= item_done(o->status) && lw->items_done > 0 ? 1 : 0;
    }
    if (t->status != o->status) {
        *o = *t;
        push_progress(lw, item);
        return;
    }
    if (t->done != o->done || t->limit.kind != o->limit.kind || t->limit.n != o->limit.n ||
        strcmp(t->msg, o->msg) != 0) {
        lw->ev_dirty[item] = true;
    }
    *o = *t;
}

void local_web_note_interrupt(struct local_web *lw, const char *reason)
{
    if (lw == NULL || lw->interrupt_ms != 0 || lw->finished) {
        return;
    }
    lw->interrupt_ms = web_unix_ms();
    (void)snprintf(lw->interrupt_reason, sizeof(lw->interrupt_reason), "%s", reason);
}

void local_web_note_mode(struct local_web *lw, enum pc_interrupt_mode mode, uint64_t deadline_ms)
{
    if (lw == NULL || lw->finished) {
        return;
    }
    if (!lw->interrupt_has_mode) {
        lw->interrupt_has_mode = true;
        lw->interrupt_mode = mode;
        lw->interrupt_deadline_ms = deadline_ms;
        lw->interrupt_latched_ms = web_unix_ms();
        return;
    }
    if (mode > lw->interrupt_mode) {
        lw->interrupt_escalations += (uint64_t)(mode - lw->interrupt_mode);
        lw->interrupt_mode = mode;
        if (mode == PC_MODE_CANCEL) {
            lw->interrupt_deadline_ms = deadline_ms;
        }
    }
}

void local_web_interrupted(struct local_web *lw)
{
    struct msg_event ev;

    if (lw == NULL) {
        return;
    }
    local_web_tick(lw);
    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_INTERRUPT;
    memcpy(ev.reason, lw->interrupt_reason, sizeof(ev.reason));
    push_event(lw, &ev);
}

static void waiters_answer_all(struct local_web *lw);

void local_web_finished(struct local_web *lw, const struct pc_outcome *o)
{
    struct msg_event ev;

    if (lw == NULL || lw->finished) {
        return;
    }
    local_web_tick(lw);
    local_web_started(lw);
    lw->finished_ms = web_unix_ms();
    lw->outcome = o->kind;
    if (o->error != NULL) {
        (void)snprintf(lw->error, sizeof(lw->error), "%s", o->error);
    } else if (o->kind == PC_OUTCOME_ITEM_ERROR && o->n_errors > 0) {
        (void)snprintf(lw->error, sizeof(lw->error), "%s: %s", o->errors[0].item.s,
                       o->errors[0].text != NULL ? o->errors[0].text : "failed");
    }
    if (msg_report_encode(o, &lw->report, NULL) != 0) {
        pc_buf_init(&lw->report, 1);
    }
    if (msg_report_summary_encode(o, &lw->summary, NULL) != 0) {
        pc_buf_init(&lw->summary, 1);
    }
    lw->exec_t[0] = (struct sched_timing){.cmd = (uint8_t)lw->o.cmd,
                                          .label = (uint8_t)o->kind,
                                          .s = (double)(lw->finished_ms - lw->started_ms) / 1000.0};
    for (size_t b = 0; b < o->n_run && b < PC_BLOCKS_MAX; b++) {
        lw->block_t[lw->n_block_t++] =
            (struct sched_timing){.cmd = (uint8_t)lw->o.cmd,
                                  .label = (uint8_t)o->run[b].kind,
                                  .s = (double)o->run[b].duration_ms / 1000.0};
    }
    lw->finished = true;
    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_OUTCOME;
    ev.outcome = o->kind;
    push_event(lw, &ev); /* pumps every stream to its end */
    waiters_answer_all(lw);
}

/* ------------------------------------------------------------------------ */
/* Documents                                                                 */

/* The meta hash of the run, as field/value pairs (numbers in nums). */
struct meta_kv {
    struct sched_str kv[LW_META_MAX];
    size_t n;
    char nums[20][24];
    size_t n_nums;
};

static void kv_add(struct meta_kv *m, const char *name, const char *p, size_t n)
{
    if (m->n + 2 <= LW_META_MAX && p != NULL) {
        m->kv[m->n].p = name;
        m->kv[m->n].n = strlen(name);
        m->kv[m->n + 1].p = p;
        m->kv[m->n + 1].n = n;
        m->n += 2;
    }
}

static void kv_addz(struct meta_kv *m, const char *name, const char *v)
{
    kv_add(m, name, v, strlen(v));
}

static void kv_addu(struct meta_kv *m, const char *name, uint64_t v)
{
    if (m->n_nums < sizeof(m->nums) / sizeof(m->nums[0])) {
        char *t = m->nums[m->n_nums++];

        (void)snprintf(t, sizeof(m->nums[0]), "%llu", (unsigned long long)v);
        kv_addz(m, name, t);
    }
}

static const char *status_text(const struct local_web *lw)
{
    return lw->finished ? "finished" : lw->started ? "running" : "queued";
}

static void meta_build(const struct local_web *lw, struct meta_kv *m)
{
    const struct pc_flow *flow = lw->o.flow;

    memset(m, 0, sizeof(*m));
    kv_addz(m, "id", lw->id);
    kv_addz(m, "cmd", pc_cmd_name(lw->o.cmd));
    kv_addz(m, "app", flow->app.s);
    kv_addz(m, "profile", flow->profile.s);
    kv_addz(m, "flow", flow->flow.s);
    kv_addz(m, "queue", LW_QUEUE);
    kv_addz(m, "status", status_text(lw));
    kv_addu(m, "created_ms", lw->created_ms);
    kv_addu(m, "blocks_total", lw->blocks_total);
    kv_addu(m, "items_total", flow->n_items);
    kv_add(m, "items", pc_buf_str(&lw->items_csv), lw->items_csv.len);
    if (lw->started) {
        kv_addu(m, "started_ms", lw->started_ms);
        kv_addz(m, "worker", LW_WORKER);
        kv_addu(m, "attempt", 1);
        kv_addu(m, "items_done", lw->items_done);
    }
    if (lw->block_known) {
        kv_addz(m, "block", pc_block_name(lw->blocks[lw->block_index]));
        kv_addu(m, "block_index", lw->block_index);
    }
    if (lw->interrupt_ms != 0) {
        kv_addu(m, "interrupt_requested_ms", lw->interrupt_ms);
        kv_addz(m, "interrupt_reason", lw->interrupt_reason);
    }
    if (lw->interrupt_has_mode) {
        kv_addz(m, "interrupt_mode", pc_interrupt_mode_name(lw->interrupt_mode));
        kv_addu(m, "interrupt_deadline_ms", lw->interrupt_deadline_ms);
        kv_addu(m, "interrupt_latched_ms", lw->interrupt_latched_ms);
        kv_addu(m, "interrupt_escalations", lw->interrupt_escalations);
    }
    if (lw->finished) {
        kv_addz(m, "outcome", pc_outcome_kind_name(lw->outcome));
        kv_addu(m, "finished_ms", lw->finished_ms);
        if (lw->error[0] != '\0') {
            kv_addz(m, "error", lw->error); /* as exec_finish: only a real one */
        }
        kv_add(m, "report", lw->summary.data != NULL ? (const char *)lw->summary.data : "",
               lw->summary.len);
    }
}

static void lw_list(void *be, struct web_call *wc, size_t limit)
{
    struct local_web *lw = be;
    struct meta_kv m;
    struct sched_meta meta;

    (void)limit; /* at least 1: the one execution always fits */
    meta_build(lw, &m);
    sched_meta_from_kv(m.kv, m.n, &meta);
    web_answer_list(wc, &meta, 1);
}

/* The progress hash: ITEM.status/.limit/.done/.msg of every item. */
static void lw_get(void *be, struct web_call *wc, const char *id)
{
    struct local_web *lw = be;
    size_t n_items = lw->o.flow->n_items;
    struct sched_str *kv = NULL;
    char(*names)[PC_ID_MAX + 8] = NULL;
    char(*nums)[48] = NULL;
    struct sched_str report;
    struct meta_kv m;

    if (strcmp(id, lw->id) != 0) {
        web_reply_code(wc, SCHED_EXECUTION_NOT_FOUND, "execution %s not found", id);
        return;
    }
    kv = calloc(8 * n_items + 1, sizeof(*kv));
    names = calloc(4 * n_items + 1, sizeof(*names));
    nums = calloc(2 * n_items + 1, sizeof(*nums));
    if (kv == NULL || names == NULL || nums == NULL) {
        free(kv);
        free(names);
        free(nums);
        web_reply_code(wc, SCHED_INTERNAL, "out of memory");
        return;
    }
    for (size_t i = 0; i < n_items; i++) {
        static const char *const suffix[4] = {"status", "limit", "done", "msg"};
        const struct pc_progress_tracker *t = &lw->last[i];
        const char *vals[4];

        if (t->limit.kind == PC_LIMIT_UNKNOWN ||
            pc_limit_format(&t->limit, nums[2 * i], sizeof(nums[0])) < 0) {
            (void)snprintf(nums[2 * i], sizeof(nums[0]), "unknown");
        }
        (void)snprintf(nums[2 * i + 1], sizeof(nums[0]), "%llu", (unsigned long long)t->done);
        vals[0] = pc_progress_status_name(t->status);
        vals[1] = nums[2 * i];
        vals[2] = nums[2 * i + 1];
        vals[3] = t->msg;
        for (size_t k = 0; k < 4; k++) {
            char *name = names[4 * i + k];

            (void)snprintf(name, sizeof(names[0]), "%s.%s", lw->o.flow->items[i].id.s, suffix[k]);
            kv[8 * i + 2 * k].p = name;
            kv[8 * i + 2 * k].n = strlen(name);
            kv[8 * i + 2 * k + 1].p = vals[k];
            kv[8 * i + 2 * k + 1].n = strlen(vals[k]);
        }
    }
    meta_build(lw, &m);
    report.p = lw->report.data != NULL ? (const char *)lw->report.data : NULL;
    report.n = lw->report.len;
    web_answer_get(wc, m.kv, m.n, kv, 8 * n_items, lw->finished ? &report : NULL);
    free(kv);
    free(names);
    free(nums);
}

/* The receipt of what the engine made of the request: as the fleet reads it
 * back from the meta hash (with the outcome fields when ?wait was given). */
static void answer_interrupt(struct local_web *lw, struct web_call *wc, const char *status,
                             bool requested, const struct pc_interrupt_req *req,
                             uint64_t requested_ms, bool waited)
{
    struct web_interrupt_seen seen = {
        .latched_ms = lw->interrupt_latched_ms,
        .escalations = lw->interrupt_escalations,
        .mode = lw->interrupt_has_mode ? pc_interrupt_mode_name(lw->interrupt_mode) : "",
        .outcome = waited && lw->finished ? pc_outcome_kind_name(lw->outcome) : "",
        .finished_ms = waited && lw->finished ? lw->finished_ms : 0,
        .waited = waited,
    };

    /* Waited: the status now, as the fleet's last read of the meta. */
    web_answer_interrupt(wc, waited ? status_text(lw) : status, requested, req, requested_ms,
                         &seen);
}

static void waiter_answer(struct lw_waiter *q)
{
    struct local_web *lw = q->lw;

    for (struct lw_waiter **pp = &lw->waiters; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == q) {
            *pp = q->next;
            break;
        }
    }
    answer_interrupt(lw, q->wc, q->status, q->requested, &q->req, q->requested_ms, true);
    event_free(q->timer);
    free(q);
}

static void on_waiter_timer(evutil_socket_t fd, short what, void *arg)
{
    struct lw_waiter *q = arg;
    uint64_t now = web_mono_ms();

    (void)fd;
    (void)what;
    /* libevent's clock is coarse (a few ms): never answer before MS. */
    if (now < q->until_mono_ms) {
        struct timeval tv = {0, (suseconds_t)(q->until_mono_ms - now) * 1000};

        if (q->until_mono_ms - now < 1000 && evtimer_add(q->timer, &tv) == 0) {
            return;
        }
    }
    waiter_answer(q); /* MS passed: outcome null */
}

/* Every waiting answer now (the run finished, or the server goes away). */
static void waiters_answer_all(struct local_web *lw)
{
    while (lw->waiters != NULL) {
        waiter_answer(lw->waiters);
    }
}

/* ?wait=MS: the answer waits for local_web_finished (or MS). Answers at
 * once with what is known when it cannot wait (out of memory). */
static void wait_for_outcome(struct local_web *lw, struct web_call *wc, const char *status,
                             bool requested, const struct pc_interrupt_req *req,
                             uint64_t requested_ms, uint32_t wait_ms)
{
    struct lw_waiter *q = calloc(1, sizeof(*q));
    struct timeval tv = {(time_t)(wait_ms / 1000), (suseconds_t)(wait_ms % 1000) * 1000};

    if (q != NULL) {
        q->timer = evtimer_new(lw->o.base, on_waiter_timer, q);
        /* From now, not from the loop's cached time (the engine may have
         * taken a while since). */
        (void)event_base_update_cache_time(lw->o.base);
        q->until_mono_ms = web_mono_ms() + wait_ms;
    }
    if (q == NULL || q->timer == NULL || evtimer_add(q->timer, &tv) != 0) {
        if (q != NULL && q->timer != NULL) {
            event_free(q->timer);
        }
        free(q);
        answer_interrupt(lw, wc, status, requested, req, requested_ms, true);
        return;
    }
    q->lw = lw;
    q->wc = wc;
    q->req = *req;
    (void)snprintf(q->status, sizeof(q->status), "%s", status);
    q->requested = requested;
    q->requested_ms = requested_ms;
    q->next = lw->waiters;
    lw->waiters = q;
}

static void lw_interrupt(void *be, struct web_call *wc, const char *id,
                         const struct web_interrupt *ir)
{
    struct local_web *lw = be;
    uint64_t now = web_unix_ms();
    const char *status = NULL;

    if (strcmp(id, lw->id) != 0) {
        web_reply_code(wc, SCHED_EXECUTION_NOT_FOUND, "execution %s not found", id);
        return;
    }
    if (lw->finished) {
        /* No effect; with ?wait, the outcome at once (as the fleet's). */
        if (ir->wait_ms > 0) {
            answer_interrupt(lw, wc, "finished", false, &ir->req, 0, true);
        } else {
            web_answer_interrupt(wc, "finished", false, &ir->req, 0, NULL);
        }
        return;
    }
    status = status_text(lw); /* as it was when asked (the run may end at once) */
    local_web_note_interrupt(lw, ir->reason);
    if (lw->o.on_interrupt != NULL) {
        lw->o.on_interrupt(lw->o.interrupt_ctx, ir->req.mode,
                           ir->req.has_deadline ? ir->req.deadline_ms
                                                : PC_INTERRUPT_DEADLINE_DEFAULT_MS,
                           ir->reason);
    }
    /* The engine is in this process: the request is taken at once (the
     * latch is known now). ?wait=MS waits for the outcome, as the fleet. */
    if (ir->wait_ms > 0 && !lw->finished) {
        wait_for_outcome(lw, wc, status, true, &ir->req, now, ir->wait_ms);
        return;
    }
    answer_interrupt(lw, wc, status, true, &ir->req, now, ir->wait_ms > 0);
}

struct states_read {
    int rc;
    struct pc_err err;
};

static void on_states_read(void *arg, int rc, const struct pc_err *err)
{
    struct states_read *r = arg;

    r->rc = rc;
    if (err != NULL) {
        r->err = *err;
    }
}

static void lw_states(void *be, struct web_call *wc, const struct sched_route *r)
{
    static const char nil[1] = {(char)0xc0}; /* a stored absent state: msgpack nil */
    struct local_web *lw = be;
    const struct pc_flow *flow = lw->o.flow;
    struct pc_states m[2];
    struct states_read rd[2];
    struct sched_str *kv[2] = {NULL, NULL};
    size_t n = flow->n_items;
    bool ok = true;

    if (strcmp(r->app.s, flow->app.s) != 0 || strcmp(r->profile.s, flow->profile.s) != 0 ||
        strcmp(r->flow.s, flow->flow.s) != 0) {
        web_answer_states(wc, NULL, 0, NULL, 0); /* nothing stored here for that flow */
        return;
    }
    memset(m, 0, sizeof(m));
    memset(rd, 0, sizeof(rd));
    for (size_t k = 0; k < 2 && ok; k++) {
        enum pc_states_kind kind = k == 0 ? PC_STATES_CURRENT : PC_STATES_GOAL;

        ok = pc_states_init(&m[k], n) == 0;
        rd[k].rc = PC_EINTERNAL;
        ok = ok &&
             lw->o.store.ops->read(lw->o.store.ctx, kind, flow, &m[k], on_states_read, &rd[k]) == 0;
        ok = ok && (rd[k].rc == 0 || rd[k].rc == PC_ENOTFOUND);
        if (ok && rd[k].rc == 0) {
            kv[k] = calloc(2 * n + 1, sizeof(*kv[k]));
            ok = kv[k] != NULL;
            for (size_t i = 0; ok && i < n; i++) {
                const struct pc_state *s = &m[k].v[i];

                kv[k][2 * i].p = flow->items[i].id.s;
                kv[k][2 * i].n = strlen(flow->items[i].id.s);
                kv[k][2 * i + 1].p = pc_state_present(s) ? (const char *)s->data : nil;
                kv[k][2 * i + 1].n = pc_state_present(s) ? s->len : 1;
            }
        }
    }
    if (ok) {
        web_answer_states(wc, kv[0], kv[0] != NULL ? 2 * n : 0, kv[1], kv[1] != NULL ? 2 * n : 0);
    } else {
        web_reply_code(wc, SCHED_INTERNAL, "cannot read the stored states%s%s",
                       rd[0].err.msg[0] != '\0' || rd[1].err.msg[0] != '\0' ? ": " : "",
                       rd[0].err.msg[0] != '\0' ? rd[0].err.msg : rd[1].err.msg);
    }
    for (size_t k = 0; k < 2; k++) {
        free(kv[k]);
        pc_states_cleanup(&m[k]);
    }
}

static void lw_healthz(void *be, struct web_call *wc)
{
    (void)be;
    web_answer_health(wc, NULL);
}

static void lw_metrics(void *be, struct web_call *wc)
{
    struct local_web *lw = be;
    struct sched_metrics m;
    double interrupt_s[1];
    double wait_s[1];

    memset(&m, 0, sizeof(m));
    m.sampled = 1;
    m.by_status[lw->finished  ? SCHED_STATUS_FINISHED
                : lw->started ? SCHED_STATUS_RUNNING
                              : SCHED_STATUS_QUEUED]++;
    m.interrupt_s = interrupt_s;
    m.wait_s = wait_s;
    m.exec_t = lw->exec_t;
    m.block_t = lw->block_t;
    if (lw->started) {
        wait_s[m.n_wait++] = (double)(lw->started_ms - lw->created_ms) / 1000.0;
    }
    if (lw->finished) {
        m.by_outcome[lw->outcome]++;
        m.n_exec = 1;
        m.n_block = lw->n_block_t;
        if (lw->interrupt_ms != 0 && lw->finished_ms >= lw->interrupt_ms) {
            interrupt_s[m.n_interrupt++] = (double)(lw->finished_ms - lw->interrupt_ms) / 1000.0;
        }
    }
    web_answer_metrics(wc, &m);
}

static const struct web_backend_ops ops = {
    .healthz = lw_healthz,
    .metrics = lw_metrics,
    .list = lw_list,
    .get = lw_get,
    .follow = lw_follow,
    .interrupt = lw_interrupt,
    .states = lw_states,
    .submit = NULL,
    .route = NULL,
    .submit_why = "this server shows one local run (peace run --local --listen): it cannot start "
                  "executions",
};

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */

int local_web_create(const struct local_web_opts *opts, struct local_web **out, struct pc_err *err)
{
    struct local_web *lw = calloc(1, sizeof(*lw));
    const struct pc_flow *flow = opts->flow;
    struct web_server_opts wo;
    struct pc_ulid_gen gen;
    int rc = 0;

    if (lw == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    lw->o = *opts;
    pc_buf_init(&lw->items_csv, 1u << 20);
    pc_buf_init(&lw->report, 64u << 20);
    pc_buf_init(&lw->summary, 64u << 20);
    lw->last = calloc(flow->n_items + 1, sizeof(*lw->last));
    lw->ev_dirty = calloc(flow->n_items + 1, sizeof(*lw->ev_dirty));
    if (lw->last == NULL || lw->ev_dirty == NULL) {
        rc = pc_err_set(err, PC_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < flow->n_items; i++) {
        pc_progress_tracker_init(&lw->last[i]);
        rc = rc == 0 && i > 0 ? pc_buf_puts(&lw->items_csv, ",") : rc;
        rc = rc == 0 ? pc_buf_puts(&lw->items_csv, flow->items[i].id.s) : rc;
    }
    if (rc != 0) {
        rc = pc_err_set(err, rc, "the flow's item list is too long");
        goto fail;
    }
    {
        enum pc_block_kind blocks[PC_BLOCKS_MAX];

        lw->blocks_total = pc_cmd_blocks(opts->cmd, opts->sync, blocks);
    }
    pc_ulid_gen_init(&gen, NULL, NULL, NULL, NULL);
    rc = pc_ulid_next(&gen, lw->id, err);
    if (rc != 0) {
        goto fail;
    }
    lw->created_ms = pc_ulid_time_ms(lw->id, PC_ULID_LEN);
    memset(&wo, 0, sizeof(wo));
    wo.base = opts->base;
    wo.guard = opts->guard;
    wo.listen_host = opts->listen_host;
    wo.listen_port = opts->listen_port;
    wo.max_body = LW_MAX_BODY;
    wo.read_timeout_s = LW_READ_TIMEOUT_S;
    wo.max_sse = LW_MAX_SSE;
    wo.log_requests = false; /* the terminal shows the run's bars */
    wo.backend_name = "local";
    wo.ops = &ops;
    wo.backend = lw;
    rc = web_server_create(&wo, &lw->ws, err);
    rc = rc == 0 ? web_server_listen(lw->ws, err) : rc;
    if (rc != 0) {
        goto fail;
    }
    *out = lw;
    return 0;
fail:
    local_web_destroy(lw);
    return rc;
}

const char *local_web_exec_id(const struct local_web *lw)
{
    return lw->id;
}

uint16_t local_web_port(const struct local_web *lw)
{
    return web_server_port(lw->ws);
}

void local_web_stop(struct local_web *lw)
{
    if (lw != NULL && lw->ws != NULL) {
        web_server_stop(lw->ws, false);
    }
}

void local_web_destroy(struct local_web *lw)
{
    if (lw == NULL) {
        return;
    }
    waiters_answer_all(lw);           /* with what is known: not finished */
    web_server_close_streams(lw->ws); /* every source is closed (freed) */
    web_server_destroy(lw->ws);
    free(lw->events);
    free(lw->last);
    free(lw->ev_dirty);
    pc_buf_cleanup(&lw->items_csv);
    pc_buf_cleanup(&lw->report);
    pc_buf_cleanup(&lw->summary);
    free(lw);
}
