/*
 * web_internal.h - what the files of the HTTP layer share (web_server.c,
 * web_answer.c, web_sse.c). Private to scheduler/http.
 */
#ifndef WEB_INTERNAL_H
#define WEB_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/http.h>

#include "sched_guard.h"
#include "sched_http.h"
#include "sched_metrics.h"
#include "web_backend.h"
#include "web_server.h"

#define WEB_LOG_PATH_MAX 200

struct web_conn;

struct web_server {
    struct web_server_opts o;          /* copied */
    struct evhttp *http;               /* owned */
    struct evhttp_bound_socket *bound; /* owned by http; NULL when not listening */
    uint16_t port;
    struct sched_http_counts http_counts;
    struct web_stream *streams; /* owned list */
    unsigned n_streams;
    struct web_conn *conns; /* owned list: every open client connection (web_conn.c) */
    unsigned n_conns;
    struct event *sweep;    /* owned: releases connections evhttp freed */
    uint64_t conns_refused; /* closed at once: over max_connections */
    uint64_t conns_expired; /* closed: a request not read within request_timeout_s */
    bool stopping;
    struct event *stop_timer; /* owned */
};

/* One request, from arrival to its answer. */
struct web_call {
    struct web_server *srv;
    struct evhttp_request *req;
    struct sched_route route;
    const char *query;
    uint64_t t0;
    char method[8];
    char log_path[WEB_LOG_PATH_MAX + 1];
    char last_id[SCHED_STREAM_ID_MAX + 1]; /* events */
};

/* Counts an answer and logs "METHOD PATH STATUS MSms". */
void web__request_done(struct web_server *s, const char *method, const char *path, int status,
                       uint64_t t0_ms);

/* Frees a call without answering it (its answer went out otherwise). */
void web__call_free(struct web_call *c);

/* Ends every stream (clients see the end of the response). */
void web__sse_end_all(struct web_server *s);

/* Frees every stream now. */
void web__sse_destroy_all(struct web_server *s);

/* Limits per connection (web_conn.c): installs the bufferevent callback. */
int web__conn_setup(struct web_server *s);

/* The request was fully read: its deadline stops. False when its connection
 * is over the cap (the caller answers nothing). */
bool web__conn_request_read(struct web_server *s, struct evhttp_request *req);

/* An answer is going out on req's connection: the next request on it has a
 * deadline again. Call before the answer is sent. */
void web__conn_answering(struct web_server *s, struct evhttp_request *req);

/* Drops every connection record (after evhttp_free). */
void web__conn_destroy_all(struct web_server *s);

#endif /* WEB_INTERNAL_H */
