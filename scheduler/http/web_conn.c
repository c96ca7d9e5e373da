/*
 * web_conn.c - the HTTP layer's limits per client connection: a
 * whole-request deadline (a client that sends a request one byte every few
 * seconds never trips the inactivity timeout, but it trips this) and a cap
 * on the connections open at once (web_server_opts: request_timeout_s,
 * max_connections).
 *
 * Design. evhttp creates each accepted connection's bufferevent through
 * our callback (evhttp_set_bevcb), which records it with a deadline timer
 * and holds a reference on it, so the record never points at freed memory.
 * The deadline runs from the accept (and again from each answer, for the
 * next request on a kept-alive connection) until the request is fully read
 * (web__conn_request_read, called when evhttp hands the request over). When
 * it passes, the socket is shut down: evhttp reads end-of-file and frees the
 * connection itself, as for a client that left (no evhttp internals are
 * touched, and no bufferevent filter sits in between). A connection beyond
 * the cap is shut down the same way at once. evhttp frees a connection's
 * bufferevent by clearing its callbacks and dropping its reference; a sweep
 * every second drops ours for those, which closes the socket.
 *
 * /metrics shows n_conns (open now), conns_refused (counted when the cap
 * decides) and conns_expired (counted when the deadline shuts a connection
 * evhttp still uses).
 */
#include <stdlib.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/http.h>

#include "sched_log.h"
#include "web_internal.h"

#define SWEEP_MS 1000

struct web_conn {
    struct web_server *srv;
    struct bufferevent *bev; /* one reference held */
    struct event *deadline;  /* owned */
    bool refused;            /* over the cap: shut at once */
    bool counted;            /* in srv->n_conns: until it is shut or closed */
    struct web_conn *prev;
    struct web_conn *next;
};

/* evhttp still uses the bufferevent (it clears the callbacks when it frees it). */
static bool conn_alive(const struct web_conn *c)
{
    bufferevent_event_cb eventcb = NULL;

    /* Not the read callback: evhttp clears that one while it writes an
     * answer (or streams events), on a connection still open. */
    bufferevent_getcb(c->bev, NULL, NULL, &eventcb, NULL);
    return eventcb != NULL;
}

/* A connection leaves the cap's count as soon as it is shut or closed, not
 * when the sweep drops its record: otherwise a burst of short connections
 * would hold places that are no longer taken. */
static void uncount(struct web_conn *c)
{
    if (c->counted) {
        c->counted = false;
        if (c->srv->n_conns > 0) {
            c->srv->n_conns--;
        }
    }
}

static void conn_release(struct web_conn *c)
{
    struct web_server *s = c->srv;

    if (s->conns == c) {
        s->conns = c->next;
    }
    if (c->prev != NULL) {
        c->prev->next = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    uncount(c);
    event_free(c->deadline);
    (void)bufferevent_decref(c->bev);
    free(c);
}

static void conn_shut(struct web_conn *c)
{
    evutil_socket_t fd = bufferevent_getfd(c->bev);

    uncount(c);
    if (fd >= 0) {
        (void)shutdown(fd, SHUT_RDWR);
    }
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct web_conn *c = arg;

    (void)fd;
    (void)what;
    if (!conn_alive(c)) {
        return;
    }
    if (!c->refused) {
        c->srv->conns_expired++;
        if (c->srv->o.log_requests) {
            sched_log("a connection did not send its request within %u s: closed",
                      c->srv->o.request_timeout_s);
        }
    }
    conn_shut(c);
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    struct web_server *s = arg;
    struct timeval tv = {SWEEP_MS / 1000, 0};

    (void)fd;
    (void)what;
    for (struct web_conn *c = s->conns, *next = NULL; c != NULL; c = next) {
        next = c->next;
        if (!conn_alive(c)) {
            conn_release(c);
        }
    }
    if (s->conns != NULL) {
        (void)evtimer_add(s->sweep, &tv);
    }
}

static void arm(struct web_conn *c, unsigned s)
{
    struct timeval tv = {(time_t)s, 0};

    (void)evtimer_add(c->deadline, &tv);
}

static struct bufferevent *on_new_conn(struct event_base *base, void *arg)
{
    struct web_server *s = arg;
    struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    struct web_conn *c = NULL;
    struct timeval tv = {SWEEP_MS / 1000, 0};

    if (bev == NULL) {
        return NULL; /* evhttp makes its own; the connection is then not limited */
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL || (c->deadline = evtimer_new(base, on_deadline, c)) == NULL) {
        free(c);
        return bev;
    }
    c->srv = s;
    c->bev = bev;
    bufferevent_incref(bev);
    c->next = s->conns;
    if (s->conns != NULL) {
        s->conns->prev = c;
    }
    s->conns = c;
    s->n_conns++;
    c->counted = true;
    /* The fd is set right after we return: a zero timer shuts it then. */
    c->refused = s->n_conns > s->o.max_connections || s->stopping;
    if (c->refused) {
        s->conns_refused++; /* counted when decided: it is shut whatever happens next */
    }
    arm(c, c->refused ? 0 : s->o.request_timeout_s);
    if (!evtimer_pending(s->sweep, NULL)) {
        (void)evtimer_add(s->sweep, &tv);
    }
    return bev;
}

static struct web_conn *find(struct web_server *s, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = req != NULL ? evhttp_request_get_connection(req) : NULL;
    struct bufferevent *bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;

    for (struct web_conn *c = s->conns; bev != NULL && c != NULL; c = c->next) {
        if (c->bev == bev) {
            return c;
        }
    }
    return NULL;
}

static void on_conn_closed(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    uncount(arg);
}

bool web__conn_request_read(struct web_server *s, struct evhttp_request *req)
{
    struct web_conn *c = find(s, req);

    if (c == NULL) {
        return true;
    }
    (void)evtimer_del(c->deadline);
    /* evhttp calls it when it frees the connection (before it clears the
     * bufferevent's callbacks, so the record is still there). */
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), on_conn_closed, c);
    return !c->refused;
}

void web__conn_answering(struct web_server *s, struct evhttp_request *req)
{
    struct web_conn *c = find(s, req);

    if (c != NULL && !c->refused) {
        arm(c, s->o.request_timeout_s); /* the next request on a kept-alive connection */
    }
}

int web__conn_setup(struct web_server *s)
{
    if (s->o.request_timeout_s == 0) {
        s->o.request_timeout_s = WEB_REQUEST_TIMEOUT_S;
    }
    if (s->o.max_connections == 0) {
        s->o.max_connections = WEB_MAX_CONNECTIONS;
    }
    s->sweep = evtimer_new(s->o.base, on_sweep, s);
    if (s->sweep == NULL) {
        return PC_ENOMEM;
    }
    evhttp_set_bevcb(s->http, on_new_conn, s);
    return 0;
}

void web__conn_destroy_all(struct web_server *s)
{
    /* After evhttp_free: every bufferevent is released by evhttp, ours go now. */
    while (s->conns != NULL) {
        conn_release(s->conns);
    }
    if (s->sweep != NULL) {
        event_free(s->sweep);
        s->sweep = NULL;
    }
}
