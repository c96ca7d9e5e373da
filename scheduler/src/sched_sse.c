/*
 * sched_sse.c - GET /v1/executions/{id}/events: an execution's events
 * stream as Server-Sent Events.
 *
 * Design. Each client gets its own Redis connection, because XREAD BLOCK
 * holds a connection for its whole wait and must never stall the shared
 * one; --max-sse bounds how many exist. A stream is a small state machine
 * driven by replies and three timers:
 *
 *   pump:  XREAD COUNT 256 BLOCK 2000 STREAMS events <last id>
 *          entries -> one SSE event each (id = entry id, so a client
 *          resumes with Last-Event-ID); the `outcome` event ends the stream
 *          nothing (2 s) -> HGET status: finished -> drain (XREAD without
 *          BLOCK until nothing is left, then end: a job rejected before it
 *          ran has no outcome event); gone -> end; else pump again
 *   keepalive (15 s): ": keepalive" comment, which also finds dead peers
 *   wake: pump again later (Redis away: after a reconnect; a client that
 *          reads slowly: once its output drained below 256 KiB, or the
 *          stream ends after 60 s of not reading)
 *
 * A client that resumes (Last-Event-ID or ?last_event_id=) is answered only
 * after a first, non-blocking read: when nothing follows its id and the
 * execution is over (status finished, the execution gone, or the stream's
 * last entry is the `outcome` event) the answer is 204 No Content, which makes
 * a standard EventSource stop instead of reconnecting every `retry` ms
 * forever; otherwise the 200 stream starts as usual. The keepalive timer
 * starts a response that Redis keeps waiting.
 *
 * The end of a stream has two origins: ours (outcome, execution gone,
 * shutdown), where the response is ended and the close callback removed
 * first; and the client's (evhttp's close callback, which evhttp calls after
 * it detached the request from the dying connection). Either way the stream
 * is freed from a zero-delay timer, never inside a callback of its Redis
 * connection or of evhttp; pending Redis callbacks then see `dying` and do
 * nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>

#include "peace/keys.h"
#include "sched_json.h"
#include "sched_log.h"
#include "sched_server_internal.h"

#define SSE_READ_COUNT     "256"
#define SSE_BLOCK_MS       2000u
#define SSE_CMD_TIMEOUT_MS (SSE_BLOCK_MS + 5000u)
#define SSE_KEEPALIVE_S    15
#define SSE_WRITE_IDLE_S   60 /* a client that stops reading this long is dropped */
#define SSE_RETRY_MS       500
#define SSE_BACKLOG_MAX    ((size_t)256 * 1024)
#define SSE_STALL_MAX_MS   60000u
#define SSE_FRAMES_MAX     (16u << 20)
#define SSE_FIELDS_MAX     64
/* The `retry:` field of every stream: how long a client waits to reconnect. */
#define SSE_CLIENT_RETRY_MS "2000"

struct sched_sse {
    struct sched_server *srv;
    struct evhttp_request *req;      /* NULL once our end of the response is sent */
    struct evhttp_connection *evcon; /* NULL once ended or the client is gone */
    struct pc_redis_conn *redis;     /* owned */
    struct event *keepalive;         /* owned, persistent */
    struct event *wake;              /* owned, one-shot */
    struct event *reap;              /* owned, one-shot */
    char exec_id[SCHED_EXEC_ID_MAX + 1];
    char meta_key[PC_KEY_MAX];
    char events_key[PC_KEY_MAX];
    char last_id[SCHED_STREAM_ID_MAX + 1];
    char log_path[SCHED_LOG_PATH_MAX + 1];
    uint64_t t0;
    uint64_t stalled_since; /* mono ms; 0 = the client keeps up */
    bool in_flight;         /* a command on redis awaits its reply */
    bool draining;          /* finished: read what is left, then end */
    bool ended;             /* no more writes */
    bool dying;             /* the reaper is scheduled or running */
    bool started;           /* the 200 response is started */
    bool probing;           /* resuming: the first read decides 200 or 204 */
    struct sched_sse *prev;
    struct sched_sse *next;
};

static void pump(struct sched_sse *c);
static void start_response(struct sched_sse *c);

static void arm(struct event *ev, unsigned ms)
{
    struct timeval tv = {(time_t)(ms / 1000u), (suseconds_t)((ms % 1000u) * 1000u)};

    (void)evtimer_add(ev, &tv);
}

static void schedule_reap(struct sched_sse *c)
{
    if (!c->dying) {
        c->dying = true;
        arm(c->reap, 0);
    }
}

/* Ends the response (our side) and schedules the clean-up. */
static void end_stream(struct sched_sse *c, const char *why)
{
    if (c->ended) {
        schedule_reap(c);
        return;
    }
    start_response(c); /* a probe cut short: an empty stream, not no answer */
    c->ended = true;
    if (c->evcon != NULL) {
        /* The connection may outlive this response: it must not call us. */
        evhttp_connection_set_closecb(c->evcon, NULL, NULL);
        evhttp_send_reply_end(c->req);
        c->req = NULL;
        c->evcon = NULL;
    }
    if (why != NULL) {
        sched_log("events of %s: %s", c->exec_id, why);
    }
    sched__request_done(c->srv, "GET", c->log_path, 200, c->t0);
    schedule_reap(c);
}

/* A resuming client whose execution is over: 204, so its EventSource stops. */
static void end_no_content(struct sched_sse *c)
{
    struct evkeyvalq *h = NULL;

    c->ended = true;
    if (c->evcon != NULL) {
        evhttp_connection_set_closecb(c->evcon, NULL, NULL);
        h = evhttp_request_get_output_headers(c->req);
        (void)evhttp_add_header(h, "Cache-Control", "no-store");
        evhttp_send_reply(c->req, 204, "No Content", NULL);
        c->req = NULL;
        c->evcon = NULL;
    }
    sched__request_done(c->srv, "GET", c->log_path, 204, c->t0);
    schedule_reap(c);
}

static void on_client_close(struct evhttp_connection *evcon, void *arg)
{
    struct sched_sse *c = arg;

    (void)evcon;
    /* evhttp detached the request from the connection before calling us;
     * the request is ours to free (the reaper does). */
    c->evcon = NULL;
    if (!c->ended) {
        c->ended = true;
        sched__request_done(c->srv, "GET", c->log_path, 200, c->t0);
    }
    schedule_reap(c);
}

/* Sends (p, n) to the client. */
static void send_text(struct sched_sse *c, const char *p, size_t n)
{
    struct evbuffer *b = NULL;

    if (c->ended || !c->started || c->evcon == NULL || n == 0) {
        return;
    }
    b = evbuffer_new();
    if (b == NULL || evbuffer_add(b, p, n) != 0) {
        if (b != NULL) {
            evbuffer_free(b);
        }
        end_stream(c, "out of memory");
        return;
    }
    evhttp_send_reply_chunk(c->req, b);
    evbuffer_free(b);
}

/* The 200 event-stream response, and the reconnection delay clients use. */
static void start_response(struct sched_sse *c)
{
    static const char hello[] = "retry: " SSE_CLIENT_RETRY_MS "\n\n";
    struct evkeyvalq *h = NULL;

    if (c->started || c->ended || c->evcon == NULL) {
        return;
    }
    h = evhttp_request_get_output_headers(c->req);
    (void)evhttp_add_header(h, "Content-Type", "text/event-stream; charset=utf-8");
    (void)evhttp_add_header(h, "Cache-Control", "no-store");
    (void)evhttp_add_header(h, "X-Accel-Buffering", "no");
    /* One response per connection: the connection closes with the stream. */
    (void)evhttp_add_header(h, "Connection", "close");
    evhttp_send_reply_start(c->req, 200, "OK");
    c->started = true;
    c->probing = false;
    send_text(c, hello, sizeof(hello) - 1);
}

static size_t backlog(const struct sched_sse *c)
{
    struct bufferevent *bev = c->evcon != NULL ? evhttp_connection_get_bufferevent(c->evcon) : NULL;

    return bev != NULL ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

/* ------------------------------------------------------------------------ */
/* Replies                                                                   */

/* One entry [id, [field, value...]] appended to frames; *outcome if it ends. */
static int frame_entry(struct sched_sse *c, const redisReply *e, struct pc_buf *frames,
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
    struct sched_sse *c = arg;

    c->in_flight = false;
    if (c->dying || c->ended) {
        return;
    }
    if (reply == NULL) {
        arm(c->wake, SSE_RETRY_MS);
        return;
    }
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
        is_outcome_entry(reply->element[0])) {
        end_no_content(c);
        return;
    }
    start_response(c);
    pump(c);
}

static void check_last_entry(struct sched_sse *c)
{
    const char *argv[6] = {"XREVRANGE", c->events_key, "+", "-", "COUNT", "1"};
    size_t lens[6] = {9, strlen(c->events_key), 1, 1, 5, 1};

    c->in_flight = true;
    if (pc_redis_cmd(c->redis, 6, argv, lens, 0, on_last_entry, c) != 0) {
        c->in_flight = false;
        arm(c->wake, SSE_RETRY_MS);
    }
}

static void on_status(void *arg, const redisReply *reply)
{
    struct sched_sse *c = arg;

    c->in_flight = false;
    if (c->dying || c->ended) {
        return;
    }
    if (reply == NULL) {
        arm(c->wake, SSE_RETRY_MS);
        return;
    }
    if (reply->type == REDIS_REPLY_NIL) {
        if (c->probing) {
            end_no_content(c);
            return;
        }
        end_stream(c, "the execution is gone (expired or deleted)");
        return;
    }
    if (reply->type == REDIS_REPLY_STRING && reply->len == 8 &&
        memcmp(reply->str, "finished", 8) == 0) {
        if (c->probing) {
            end_no_content(c);
            return;
        }
        c->draining = true;
    }
    if (c->probing) {
        check_last_entry(c);
        return;
    }
    pump(c);
}

static void check_status(struct sched_sse *c)
{
    const char *argv[3] = {"HGET", c->meta_key, "status"};
    size_t lens[3] = {4, strlen(c->meta_key), 6};

    c->in_flight = true;
    if (pc_redis_cmd(c->redis, 3, argv, lens, 0, on_status, c) != 0) {
        c->in_flight = false;
        arm(c->wake, SSE_RETRY_MS);
    }
}

static void on_xread(void *arg, const redisReply *reply)
{
    struct sched_sse *c = arg;
    const redisReply *entries = NULL;
    bool outcome = false;
    struct pc_buf frames;
    int rc = 0;

    c->in_flight = false;
    if (c->dying || c->ended) {
        return;
    }
    if (reply == NULL) {
        arm(c->wake, SSE_RETRY_MS); /* Redis away: pump checks readiness */
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        sched_log("events of %s: XREAD failed: %.*s", c->exec_id,
                  (int)(reply->len < 200 ? reply->len : 200), reply->str);
        end_stream(c, NULL);
        return;
    }
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
        reply->element[0]->type == REDIS_REPLY_ARRAY && reply->element[0]->elements == 2 &&
        reply->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
        entries = reply->element[0]->element[1];
    }
    if (entries == NULL || entries->elements == 0) {
        if (c->draining && !c->probing) {
            end_stream(c, NULL);
        } else {
            check_status(c);
        }
        return;
    }
    start_response(c); /* a resuming client has events to get */
    pc_buf_init(&frames, SSE_FRAMES_MAX);
    for (size_t i = 0; rc == 0 && i < entries->elements && !outcome; i++) {
        rc = frame_entry(c, entries->element[i], &frames, &outcome);
    }
    if (rc != 0) {
        pc_buf_cleanup(&frames);
        end_stream(c, "cannot frame an event");
        return;
    }
    send_text(c, pc_buf_str(&frames), frames.len);
    pc_buf_cleanup(&frames);
    if (outcome) {
        end_stream(c, NULL);
        return;
    }
    pump(c);
}

/* ------------------------------------------------------------------------ */
/* Driving                                                                   */

static void pump(struct sched_sse *c)
{
    const char *argv[8];
    size_t lens[8];
    char block[16];
    int argc = 0;
    uint64_t now;

    if (c->dying || c->ended || c->in_flight || !pc_redis_conn_ready(c->redis)) {
        return; /* a reply, the connection's "ready" or the reaper moves on */
    }
    if (backlog(c) > SSE_BACKLOG_MAX) {
        now = sched__mono_ms();
        if (c->stalled_since == 0) {
            c->stalled_since = now;
        }
        if (now - c->stalled_since > SSE_STALL_MAX_MS) {
            end_stream(c, "the client stopped reading");
            return;
        }
        arm(c->wake, 100);
        return;
    }
    c->stalled_since = 0;
    (void)snprintf(block, sizeof(block), "%u", SSE_BLOCK_MS);
    argv[argc++] = "XREAD";
    argv[argc++] = "COUNT";
    argv[argc++] = SSE_READ_COUNT;
    if (!c->draining && !c->probing) {
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

static void on_keepalive(evutil_socket_t fd, short what, void *arg)
{
    static const char comment[] = ": keepalive\n\n";

    (void)fd;
    (void)what;
    start_response(arg); /* a probe Redis keeps waiting: the stream starts anyway */
    send_text(arg, comment, sizeof(comment) - 1);
}

static void on_redis_state(void *ctx, bool ready, const char *why)
{
    struct sched_sse *c = ctx;

    (void)why;
    if (ready && c->redis != NULL) {
        pump(c);
    }
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */

/* The stream's own events (any may be NULL: a stream that failed to start). */
static void sse_free_timers(struct sched_sse *c)
{
    struct event *evs[] = {c->keepalive, c->wake, c->reap};

    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
        if (evs[i] != NULL) {
            event_free(evs[i]);
        }
    }
    c->keepalive = c->wake = c->reap = NULL;
}

static void sse_free(struct sched_sse *c)
{
    struct sched_server *s = c->srv;

    c->dying = true;
    /* Pending Redis callbacks run now, see `dying` and return. */
    pc_redis_conn_destroy(c->redis);
    c->redis = NULL;
    if (c->req != NULL) {
        /* Not ended by us: either the client left (evhttp detached the
         * request, and ending it frees it) or the server is going down
         * with the connection still open (ending it ends the response). */
        if (c->evcon != NULL) {
            evhttp_connection_set_closecb(c->evcon, NULL, NULL);
        }
        evhttp_send_reply_end(c->req);
        c->req = NULL;
    }
    sse_free_timers(c);
    if (s->streams == c) {
        s->streams = c->next;
    }
    if (c->prev != NULL) {
        c->prev->next = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    if (s->n_streams > 0) {
        s->n_streams--;
    }
    free(c);
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sse_free(arg);
}

int sched__sse_start(struct sched_server *s, struct evhttp_request *req, const char *exec_id,
                     const char *last_id, uint64_t t0_ms, const char *log_path,
                     struct sched_fail *fail)
{
    struct sched_sse *c = NULL;
    struct pc_redis_conn_opts opts;
    struct timeval ka = {SSE_KEEPALIVE_S, 0};
    struct pc_err err;

    pc_err_clear(&err);
    if (s->stopping || s->n_streams >= s->cfg->max_sse) {
        return sched_fail_set(fail, SCHED_TOO_MANY_STREAMS, "every event stream is in use");
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return sched_fail_set(fail, SCHED_INTERNAL, "out of memory");
    }
    c->srv = s;
    c->t0 = t0_ms;
    (void)snprintf(c->exec_id, sizeof(c->exec_id), "%s", exec_id);
    (void)snprintf(c->last_id, sizeof(c->last_id), "%s", last_id);
    (void)snprintf(c->log_path, sizeof(c->log_path), "%s", log_path);
    c->keepalive = event_new(s->base, -1, EV_PERSIST, on_keepalive, c);
    c->wake = evtimer_new(s->base, on_wake, c);
    c->reap = evtimer_new(s->base, on_reap, c);
    if (c->keepalive == NULL || c->wake == NULL || c->reap == NULL ||
        pc_key_exec(c->meta_key, sizeof(c->meta_key), s->cfg->prefix, exec_id) < 0 ||
        pc_key_events(c->events_key, sizeof(c->events_key), s->cfg->prefix, exec_id) < 0) {
        goto fail;
    }
    memset(&opts, 0, sizeof(opts));
    opts.name = "events";
    opts.on_state = on_redis_state;
    opts.state_ctx = c;
    if (pc_redis_conn_create(s->base, &s->cfg->redis, &opts, &c->redis, &err) != 0) {
        goto fail;
    }
    /* From here on the request is the stream's. */
    c->req = req;
    c->evcon = evhttp_request_get_connection(req);
    c->next = s->streams;
    if (s->streams != NULL) {
        s->streams->prev = c;
    }
    s->streams = c;
    s->n_streams++;
    if (c->evcon != NULL) {
        struct bufferevent *bev = evhttp_connection_get_bufferevent(c->evcon);
        struct timeval write_tv = {SSE_WRITE_IDLE_S, 0};

        evhttp_connection_set_closecb(c->evcon, on_client_close, c);
        /* The client sends nothing more: no read timeout (the server's
         * one is for requests being read), only one on writes that stall. */
        if (bev != NULL) {
            (void)bufferevent_set_timeouts(bev, NULL, &write_tv);
        }
    }
    /* From the start ("0-0"): the stream starts now. Resuming: after a probe. */
    c->probing = strcmp(last_id, "0-0") != 0;
    if (!c->probing) {
        start_response(c);
    }
    (void)event_add(c->keepalive, &ka);
    pump(c); /* nothing yet: the connection reports "ready" soon */
    return 0;
fail:
    pc_redis_conn_destroy(c->redis);
    sse_free_timers(c);
    free(c);
    return sched_fail_set(fail, SCHED_INTERNAL, "cannot start the event stream%s%s",
                          err.msg[0] != '\0' ? ": " : "", err.msg);
}

void sched__sse_end_all(struct sched_server *s)
{
    for (struct sched_sse *c = s->streams; c != NULL; c = c->next) {
        end_stream(c, NULL);
    }
}

void sched__sse_destroy_all(struct sched_server *s)
{
    while (s->streams != NULL) {
        struct sched_sse *c = s->streams;

        /* Unlinked here, so the loop visibly advances. */
        s->streams = c->next;
        if (c->next != NULL) {
            c->next->prev = NULL;
        }
        c->next = NULL;
        sse_free(c);
    }
}
