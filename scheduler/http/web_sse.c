/*
 * web_sse.c - the response side of GET /v1/executions/{id}/events: an
 * execution's events as Server-Sent Events, fed by a source of the backend
 * (web_backend.h, "Event streams").
 *
 * Design. The layer owns the response: its start (200 text/event-stream
 * with a `retry:` field, or, for a client that resumes and has nothing
 * more to get, 204 No Content, which makes a standard EventSource stop
 * instead of reconnecting forever), the framing of entries
 * (sched_sse_frame), a keepalive comment every 15 s (which also finds dead
 * peers and starts a response a probing source keeps waiting), the
 * back-pressure of a client that reads slowly (web_stream_writable: the
 * stream ends after 60 s of not reading), and its end. The source owns
 * where the events come from and when to read more.
 *
 * The end of a stream has two origins: ours (the source ends it, or the
 * server stops), where the response is ended and the close callback removed
 * first; and the client's (evhttp's close callback, which evhttp calls after
 * it detached the request from the dying connection). Either way the stream
 * and its source are freed from a zero-delay timer, never inside a callback
 * of evhttp or of the source.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "sched_json.h"
#include "sched_log.h"
#include "web_internal.h"

#define SSE_KEEPALIVE_S  15
#define SSE_WRITE_IDLE_S 60 /* a client that stops reading this long is dropped */
#define SSE_BACKLOG_MAX  ((size_t)256 * 1024)
#define SSE_STALL_MAX_MS 60000u
#define SSE_FRAMES_MAX   (16u << 20)
/* The `retry:` field of every stream: how long a client waits to reconnect. */
#define SSE_CLIENT_RETRY_MS "2000"

struct web_stream {
    struct web_server *srv;
    struct evhttp_request *req;      /* NULL once our end of the response is sent */
    struct evhttp_connection *evcon; /* NULL once ended or the client is gone */
    const struct web_source_ops *ops;
    void *src;               /* the source; NULL once closed */
    struct event *keepalive; /* owned, persistent */
    struct event *reap;      /* owned, one-shot */
    char exec_id[SCHED_EXEC_ID_MAX + 1];
    char log_path[WEB_LOG_PATH_MAX + 1];
    uint64_t t0;
    uint64_t stalled_since; /* mono ms; 0 = the client keeps up */
    bool ended;             /* no more writes */
    bool dying;             /* the reaper is scheduled or running */
    bool started;           /* the 200 response is started */
    bool probing;           /* resuming: the source decides 200 or 204 */
    struct web_stream *prev;
    struct web_stream *next;
};

static void schedule_reap(struct web_stream *c)
{
    struct timeval now = {0, 0};

    if (!c->dying) {
        c->dying = true;
        (void)evtimer_add(c->reap, &now);
    }
}

void web_stream_end(struct web_stream *c, const char *why)
{
    if (c->ended) {
        schedule_reap(c);
        return;
    }
    web_stream_start(c); /* a probe cut short: an empty stream, not no answer */
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
    web__request_done(c->srv, "GET", c->log_path, 200, c->t0);
    schedule_reap(c);
}

void web_stream_no_content(struct web_stream *c)
{
    struct evkeyvalq *h = NULL;

    if (c->ended) {
        schedule_reap(c);
        return;
    }
    c->ended = true;
    if (c->evcon != NULL) {
        evhttp_connection_set_closecb(c->evcon, NULL, NULL);
        h = evhttp_request_get_output_headers(c->req);
        (void)evhttp_add_header(h, "Cache-Control", "no-store");
        evhttp_send_reply(c->req, 204, "No Content", NULL);
        c->req = NULL;
        c->evcon = NULL;
    }
    web__request_done(c->srv, "GET", c->log_path, 204, c->t0);
    schedule_reap(c);
}

static void on_client_close(struct evhttp_connection *evcon, void *arg)
{
    struct web_stream *c = arg;

    (void)evcon;
    /* evhttp detached the request from the connection before calling us;
     * the request is ours to free (the reaper does). */
    c->evcon = NULL;
    if (!c->ended) {
        c->ended = true;
        web__request_done(c->srv, "GET", c->log_path, 200, c->t0);
    }
    schedule_reap(c);
}

static void send_raw(struct web_stream *c, const char *p, size_t n)
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
        web_stream_end(c, "out of memory");
        return;
    }
    evhttp_send_reply_chunk(c->req, b);
    evbuffer_free(b);
}

void web_stream_start(struct web_stream *c)
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
    send_raw(c, hello, sizeof(hello) - 1);
}

void web_stream_send(struct web_stream *c, const char *p, size_t n)
{
    web_stream_start(c); /* a resuming client has events to get */
    send_raw(c, p, n);
}

int web_stream_event(struct web_stream *c, const char *id, const struct sched_str *kv, size_t n,
                     bool *outcome)
{
    struct pc_buf frame;
    int rc;

    pc_buf_init(&frame, SSE_FRAMES_MAX);
    rc = sched_sse_frame(&frame, id, kv, n, outcome);
    if (rc != 0) {
        web_stream_end(c, "cannot frame an event");
    } else {
        web_stream_send(c, pc_buf_str(&frame), frame.len);
    }
    pc_buf_cleanup(&frame);
    return rc;
}

bool web_stream_probing(const struct web_stream *c)
{
    return c->probing;
}

bool web_stream_over(const struct web_stream *c)
{
    return c->ended || c->dying;
}

int web_stream_writable(struct web_stream *c)
{
    struct bufferevent *bev = c->evcon != NULL ? evhttp_connection_get_bufferevent(c->evcon) : NULL;
    size_t backlog = bev != NULL ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
    uint64_t now;

    if (web_stream_over(c)) {
        return -1;
    }
    if (backlog <= SSE_BACKLOG_MAX) {
        c->stalled_since = 0;
        return 1;
    }
    now = web_mono_ms();
    if (c->stalled_since == 0) {
        c->stalled_since = now;
    }
    if (now - c->stalled_since > SSE_STALL_MAX_MS) {
        web_stream_end(c, "the client stopped reading");
        return -1;
    }
    return 0;
}

static void on_keepalive(evutil_socket_t fd, short what, void *arg)
{
    static const char comment[] = ": keepalive\n\n";

    (void)fd;
    (void)what;
    web_stream_start(arg); /* a probe the source keeps waiting: the stream starts anyway */
    send_raw(arg, comment, sizeof(comment) - 1);
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */

static void stream_free(struct web_stream *c)
{
    struct web_server *s = c->srv;

    c->dying = true;
    if (c->src != NULL) {
        void *src = c->src;

        c->src = NULL;
        c->ops->close(src);
    }
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
    if (c->keepalive != NULL) {
        event_free(c->keepalive);
    }
    if (c->reap != NULL) {
        event_free(c->reap);
    }
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
    stream_free(arg);
}

int web_stream_open(struct web_call *call, const struct web_source_ops *ops, void *src,
                    struct web_stream **out, struct sched_fail *fail)
{
    struct web_server *s = call->srv;
    struct web_stream *c = NULL;
    struct timeval ka = {SSE_KEEPALIVE_S, 0};

    if (s->stopping || s->n_streams >= s->o.max_sse) {
        return sched_fail_set(fail, SCHED_TOO_MANY_STREAMS, "every event stream is in use");
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return sched_fail_set(fail, SCHED_INTERNAL, "out of memory");
    }
    c->srv = s;
    c->t0 = call->t0;
    (void)snprintf(c->exec_id, sizeof(c->exec_id), "%s", call->route.id);
    (void)snprintf(c->log_path, sizeof(c->log_path), "%s", call->log_path);
    c->keepalive = event_new(s->o.base, -1, EV_PERSIST, on_keepalive, c);
    c->reap = evtimer_new(s->o.base, on_reap, c);
    if (c->keepalive == NULL || c->reap == NULL) {
        if (c->keepalive != NULL) {
            event_free(c->keepalive);
        }
        if (c->reap != NULL) {
            event_free(c->reap);
        }
        free(c);
        return sched_fail_set(fail, SCHED_INTERNAL, "cannot start the event stream");
    }
    /* From here on the request is the stream's. */
    c->ops = ops;
    c->src = src;
    c->req = call->req;
    c->evcon = evhttp_request_get_connection(call->req);
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
    c->probing = strcmp(call->last_id, "0-0") != 0;
    if (!c->probing) {
        web_stream_start(c);
    }
    (void)event_add(c->keepalive, &ka);
    web__call_free(call);
    *out = c;
    return 0;
}

void web__sse_end_all(struct web_server *s)
{
    for (struct web_stream *c = s->streams; c != NULL; c = c->next) {
        web_stream_end(c, NULL);
    }
}

void web__sse_destroy_all(struct web_server *s)
{
    while (s->streams != NULL) {
        struct web_stream *c = s->streams;

        /* Unlinked here, so the loop visibly advances. */
        s->streams = c->next;
        if (c->next != NULL) {
            c->next->prev = NULL;
        }
        c->next = NULL;
        c->prev = NULL;
        stream_free(c);
    }
}
