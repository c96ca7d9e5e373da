/*
 * redis_events.c - the Redis backend's source of an event stream (GET
 * /v1/executions/{id}/events): reads the execution's events stream and
 * hands each entry to the HTTP layer's stream (web_backend.h), which frames
 * and sends it.
 *
 * Design. Each client gets its own Redis connection, because XREAD BLOCK
 * holds a connection for its whole wait and must never stall the shared
 * one; --max-sse bounds how many exist. A source is a small state machine
 * driven by replies and one timer:
 *
 *   follow: script exec_follow (events_fold.h), before anything is read:
 *          it registers the client on an execution not finished yet (whose
 *          finish then writes its events stream, events layout 2), and tells
 *          unknown / running / finished / finished without a stream
 *          ("folded": its events come synthesised, ids 0-1, 0-2...: the
 *          client gets those after its last id and the stream ends)
 *   pump:  XREAD COUNT 256 BLOCK 2000 STREAMS events <last id>
 *          entries -> one SSE event each (id = entry id, so a client
 *          resumes with Last-Event-ID); the `outcome` event ends the stream
 *          nothing (2 s) -> follow again: finished -> drain (XREAD without
 *          BLOCK until nothing is left, then end: a job rejected before it
 *          ran has no outcome event); folded -> as above; gone -> end; else
 *          pump again
 *   wake: pump again later (Redis away: after a reconnect; a client that
 *          reads slowly: once the layer says it may write again)
 *
 * A client that resumes is answered only after a first, non-blocking read:
 * when nothing follows its id and the execution is over (status finished,
 * the execution gone, or the stream's last entry is the `outcome` event) the
 * answer is 204 No Content; otherwise the 200 stream starts as usual.
 *
 * The source is freed by the layer (close), never inside one of its Redis
 * callbacks; pending callbacks then see `dying` and do nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/events_fold.h"
#include "peace/keys.h"
#include "peace/scripts.h"
#include "redis_backend_internal.h"
#include "sched_log.h"

#define SSE_READ_COUNT     "256"
#define SSE_BLOCK_MS       2000u
#define SSE_CMD_TIMEOUT_MS (SSE_BLOCK_MS + 5000u)
#define SSE_RETRY_MS       500
#define SSE_FIELDS_MAX     64
#define SSE_FRAMES_MAX     (16u << 20)

struct redis_source {
    struct web_stream *st;       /* the layer's stream; NULL until open */
    struct pc_redis_conn *redis; /* owned */
    struct pc_scripts *scripts;  /* borrowed from the backend */
    struct event *wake;          /* owned, one-shot */
    char exec_id[SCHED_EXEC_ID_MAX + 1];
    char keys[PC_EXEC_FOLLOW_NKEYS][PC_KEY_MAX]; /* exec_follow's; [2] = events */
    char *events_key;                            /* keys[2] */
    char last_id[SCHED_STREAM_ID_MAX + 1];
    bool in_flight;  /* a command on redis awaits its reply */
    bool registered; /* exec_follow answered once */
    bool draining;   /* finished: read what is left, then end */
    bool dying;      /* closed by the layer */
};

static void pump(struct redis_source *c);

static void arm(struct event *ev, unsigned ms)
{
    struct timeval tv = {(time_t)(ms / 1000u), (suseconds_t)((ms % 1000u) * 1000u)};

    (void)evtimer_add(ev, &tv);
}

static bool gone(const struct redis_source *c)
{
    return c->dying || c->st == NULL || web_stream_over(c->st);
}

/* ------------------------------------------------------------------------ */
/* Replies                                                                   */

/* One entry [id, [field, value...]] framed into frames; *outcome if it ends. */
static int frame_entry(struct redis_source *c, const redisReply *e, struct pc_buf *frames,
                       bool *outcome)
{
    struct sched_str kv[SSE_FIELDS_MAX];
    const redisReply *fields;
    char id[SCHED_STREAM_ID_MAX + 1];
    size_t n;

    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len > SCHED_STREAM_ID_MAX) {
        return 0;
    }
    memcpy(id, e->element[0]->str, e->element[0]->len);
    id[e->element[0]->len] = '\0';
    if (!sched_stream_id_valid(id)) {
        return 0;
    }
    /* Resume after this entry whatever happens to its content. */
    memcpy(c->last_id, id, sizeof(id));
    fields = e->element[1];
    if (fields->type != REDIS_REPLY_ARRAY || fields->elements > SSE_FIELDS_MAX) {
        return 0; /* not an entry of ours: skipped */
    }
    n = fields->elements;
    for (size_t i = 0; i < n; i++) {
        const redisReply *f = fields->element[i];

        kv[i].p = f->type == REDIS_REPLY_STRING ? f->str : NULL;
        kv[i].n = f->type == REDIS_REPLY_STRING ? f->len : 0;
    }
    return sched_sse_frame(frames, id, kv, n, outcome);
}

static bool is_outcome_entry(const redisReply *e)
{
    const redisReply *f = NULL;

    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[1]->type != REDIS_REPLY_ARRAY) {
        return false;
    }
    f = e->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const redisReply *k = f->element[i];
        const redisReply *v = f->element[i + 1];

        if (k->type == REDIS_REPLY_STRING && k->len == 4 && memcmp(k->str, "kind", 4) == 0) {
            return v->type == REDIS_REPLY_STRING && v->len == 7 &&
                   memcmp(v->str, "outcome", 7) == 0;
        }
    }
    return false;
}

/* Probing, the execution not finished: was the client's last event the outcome? */
static void on_last_entry(void *arg, const redisReply *reply)
{
    struct redis_source *c = arg;

    c->in_flight = false;
    if (gone(c)) {
        return;
    }
    if (reply == NULL) {
        arm(c->wake, SSE_RETRY_MS);
        return;
    }
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
        is_outcome_entry(reply->element[0])) {
        web_stream_no_content(c->st);
        return;
    }
    web_stream_start(c->st);
    pump(c);
}

static void check_last_entry(struct redis_source *c)
{
    const char *argv[6] = {"XREVRANGE", c->events_key, "+", "-", "COUNT", "1"};
    size_t lens[6] = {9, strlen(c->events_key), 1, 1, 5, 1};

    c->in_flight = true;
    if (pc_redis_cmd(c->redis, 6, argv, lens, 0, on_last_entry, c) != 0) {
        c->in_flight = false;
        arm(c->wake, SSE_RETRY_MS);
    }
}

/* A folded execution: its synthesised events after the client's last id, then the end. */
static void send_folded(struct redis_source *c, const struct pc_events_fold *fold)
{
    size_t from = pc_events_fold_after(fold, c->last_id);
    struct pc_buf frames;
    bool outcome = false;
    int rc = 0;

    if (from >= fold->n) {
        if (web_stream_probing(c->st)) {
            web_stream_no_content(c->st);
        } else {
            web_stream_end(c->st, NULL);
        }
        return;
    }
    pc_buf_init(&frames, SSE_FRAMES_MAX);
    for (size_t k = from; rc == 0 && k < fold->n && !outcome; k++) {
        struct msg_event_fields f;
        struct sched_str kv[MSG_EVENT_FIELDS_MAX];
        char id[PC_EVENTS_FOLD_ID_MAX];

        rc = pc_events_fold_id(k, id, sizeof(id)) < 0 ? PC_ELIMIT : 0;
        if (rc == 0) {
            rc = msg_event_to_fields(&fold->ev[k], &f, NULL);
        }
        for (size_t i = 0; rc == 0 && i < f.n; i++) {
            kv[i].p = f.argv[i];
            kv[i].n = f.argvlen[i];
        }
        if (rc == 0) {
            rc = sched_sse_frame(&frames, id, kv, f.n, &outcome);
            (void)snprintf(c->last_id, sizeof(c->last_id), "%s", id);
        }
    }
    if (rc != 0) {
        pc_buf_cleanup(&frames);
        web_stream_end(c->st, "cannot frame an event");
        return;
    }
    web_stream_start(c->st);
    web_stream_send(c->st, pc_buf_str(&frames), frames.len);
    pc_buf_cleanup(&frames);
    web_stream_end(c->st, NULL);
}

static void on_follow(void *arg, const redisReply *reply)
{
    struct redis_source *c = arg;
    struct pc_exec_follow fo;
    struct pc_err err;
    bool first = !c->registered;

    c->in_flight = false;
    if (gone(c)) {
        return;
    }
    if (reply == NULL) {
        arm(c->wake, SSE_RETRY_MS);
        return;
    }
    pc_err_clear(&err);
    if (pc_exec_follow_parse(reply, &fo, &err) != 0) {
        sched_log("events of %s: %s", c->exec_id, err.msg);
        web_stream_end(c->st, NULL);
        return;
    }
    c->registered = true;
    switch (fo.state) {
    case PC_FOLLOW_UNKNOWN:
        if (web_stream_probing(c->st)) {
            web_stream_no_content(c->st);
        } else {
            web_stream_end(c->st, "the execution is gone (expired or deleted)");
        }
        break;
    case PC_FOLLOW_FOLDED:
        send_folded(c, &fo.fold);
        break;
    case PC_FOLLOW_FINISHED:
        if (!first && web_stream_probing(c->st)) {
            web_stream_no_content(c->st);
            break;
        }
        c->draining = true;
        pump(c);
        break;
    case PC_FOLLOW_RUNNING:
        if (!first && web_stream_probing(c->st)) {
            check_last_entry(c);
            break;
        }
        pump(c);
        break;
    }
    pc_exec_follow_free(&fo);
}

/* exec_follow: registers the client (before any read) and tells the state. */
static void follow(struct redis_source *c)
{
    struct pc_redis_args a;

    pc_redis_args_init(&a);
    for (int k = 0; k < PC_EXEC_FOLLOW_NKEYS; k++) {
        pc_redis_args_addz(&a, c->keys[k]);
    }
    c->in_flight = true;
    if (pc_script_run(c->scripts, c->redis, PC_SCRIPT_EXEC_FOLLOW, PC_EXEC_FOLLOW_NKEYS, &a,
                      SSE_CMD_TIMEOUT_MS, on_follow, c) != 0) {
        c->in_flight = false;
        arm(c->wake, SSE_RETRY_MS);
    }
}

static void on_xread(void *arg, const redisReply *reply)
{
    struct redis_source *c = arg;
    const redisReply *entries = NULL;
    bool outcome = false;
    struct pc_buf frames;
    int rc = 0;

    c->in_flight = false;
    if (gone(c)) {
        return;
    }
    if (reply == NULL) {
        arm(c->wake, SSE_RETRY_MS); /* Redis away: pump checks readiness */
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        sched_log("events of %s: XREAD failed: %.*s", c->exec_id,
                  (int)(reply->len < 200 ? reply->len : 200), reply->str);
        web_stream_end(c->st, NULL);
        return;
    }
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
        reply->element[0]->type == REDIS_REPLY_ARRAY && reply->element[0]->elements == 2 &&
        reply->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
        entries = reply->element[0]->element[1];
    }
    if (entries == NULL || entries->elements == 0) {
        if (c->draining && !web_stream_probing(c->st)) {
            web_stream_end(c->st, NULL);
        } else {
            follow(c);
        }
        return;
    }
    pc_buf_init(&frames, SSE_FRAMES_MAX);
    for (size_t i = 0; rc == 0 && i < entries->elements && !outcome; i++) {
        rc = frame_entry(c, entries->element[i], &frames, &outcome);
    }
    if (rc != 0) {
        pc_buf_cleanup(&frames);
        web_stream_end(c->st, "cannot frame an event");
        return;
    }
    web_stream_start(c->st); /* a resuming client has events to get */
    web_stream_send(c->st, pc_buf_str(&frames), frames.len);
    pc_buf_cleanup(&frames);
    if (outcome) {
        web_stream_end(c->st, NULL);
        return;
    }
    pump(c);
}

/* ------------------------------------------------------------------------ */
/* Driving                                                                   */

static void pump(struct redis_source *c)
{
    const char *argv[8];
    size_t lens[8];
    char block[16];
    int argc = 0;
    int w;

    if (gone(c) || c->in_flight || !pc_redis_conn_ready(c->redis)) {
        return; /* a reply, the connection's "ready" or the close moves on */
    }
    w = web_stream_writable(c->st);
    if (w < 0) {
        return;
    }
    if (w == 0) {
        arm(c->wake, 100);
        return;
    }
    if (!c->registered) {
        follow(c); /* before the first read: no lost wake-up */
        return;
    }
    (void)snprintf(block, sizeof(block), "%u", SSE_BLOCK_MS);
    argv[argc++] = "XREAD";
    argv[argc++] = "COUNT";
    argv[argc++] = SSE_READ_COUNT;
    if (!c->draining && !web_stream_probing(c->st)) {
        argv[argc++] = "BLOCK";
        argv[argc++] = block;
    }
    argv[argc++] = "STREAMS";
    argv[argc++] = c->events_key;
    argv[argc++] = c->last_id;
    for (int i = 0; i < argc; i++) {
        lens[i] = strlen(argv[i]);
    }
    c->in_flight = true;
    if (pc_redis_cmd(c->redis, argc, argv, lens, SSE_CMD_TIMEOUT_MS, on_xread, c) != 0) {
        c->in_flight = false;
        arm(c->wake, SSE_RETRY_MS);
    }
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pump(arg);
}

static void on_redis_state(void *ctx, bool ready, const char *why)
{
    struct redis_source *c = ctx;

    (void)why;
    if (ready && c->redis != NULL) {
        pump(c);
    }
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */

static void source_free(struct redis_source *c)
{
    c->dying = true;
    /* Pending Redis callbacks run now, see `dying` and return. */
    pc_redis_conn_destroy(c->redis);
    c->redis = NULL;
    if (c->wake != NULL) {
        event_free(c->wake);
    }
    free(c);
}

static void source_close(void *src)
{
    source_free(src);
}

static const struct web_source_ops source_ops = {.close = source_close};

void redis__events_open(struct redis_backend *rb, struct web_call *call, const char *exec_id,
                        const char *last_id)
{
    struct redis_source *c = calloc(1, sizeof(*c));
    struct pc_redis_conn_opts opts;
    struct sched_fail fail;
    struct pc_err err;

    pc_err_clear(&err);
    if (c == NULL) {
        web_reply_code(call, SCHED_INTERNAL, "out of memory");
        return;
    }
    (void)snprintf(c->exec_id, sizeof(c->exec_id), "%s", exec_id);
    (void)snprintf(c->last_id, sizeof(c->last_id), "%s", last_id);
    c->wake = evtimer_new(rb->base, on_wake, c);
    c->scripts = rb->scripts;
    c->events_key = c->keys[2];
    if (c->wake == NULL || pc_exec_follow_keys(c->keys, rb->cfg->prefix, exec_id) != 0) {
        goto fail;
    }
    memset(&opts, 0, sizeof(opts));
    opts.name = "events";
    opts.on_state = on_redis_state;
    opts.state_ctx = c;
    if (pc_redis_conn_create(rb->base, &rb->cfg->redis, &opts, &c->redis, &err) != 0) {
        goto fail;
    }
    if (web_stream_open(call, &source_ops, c, &c->st, &fail) != 0) {
        source_free(c);
        web_reply_fail(call, &fail);
        return;
    }
    pump(c); /* nothing yet: the connection reports "ready" soon */
    return;
fail:
    source_free(c);
    web_reply_code(call, SCHED_INTERNAL, "cannot start the event stream%s%s",
                   err.msg[0] != '\0' ? ": " : "", err.msg);
}
