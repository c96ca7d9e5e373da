/*
 * sched_server_internal.h - what the request handlers (sched_server.c) and
 * the event streams (sched_sse.c) share. Private to scheduler/src.
 */
#ifndef SCHED_SERVER_INTERNAL_H
#define SCHED_SERVER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/http.h>

#include "peace/item.h"
#include "peace/redis_conn.h"
#include "peace/scripts.h"
#include "peace/ulid.h"
#include "sched_config.h"
#include "sched_guard.h"
#include "sched_http.h"
#include "sched_metrics.h"

#define SCHED_LOG_PATH_MAX 200

struct sched_sse;

struct sched_server {
    struct event_base *base;            /* borrowed */
    const struct sched_config *cfg;     /* borrowed */
    const struct pc_registry *registry; /* borrowed */
    struct sched_guard guard;           /* borrows from cfg */
    struct evhttp *http;                /* owned */
    struct evhttp_bound_socket *bound;  /* owned by http; NULL when not listening */
    uint16_t port;
    struct pc_redis_conn *redis; /* owned: requests share it */
    struct pc_scripts *scripts;  /* owned */
    bool redis_known;            /* a first connection outcome arrived */
    bool redis_ready;
    char redis_why[PC_ERR_MSG_MAX];
    char redis_where[PC_ERR_MSG_MAX]; /* "host:port" for messages */
    struct pc_ulid_gen ulid;
    struct sched_http_counts http_counts;
    struct sched_sse *streams; /* owned list */
    unsigned n_streams;
    bool stopping;
    struct event *stop_timer; /* owned */
};

uint64_t sched__mono_ms(void);
uint64_t sched__unix_ms(void);

/* Counts an answer and logs "METHOD PATH STATUS MSms". */
void sched__request_done(struct sched_server *s, const char *method, const char *path, int status,
                         uint64_t t0_ms);

/*
 * Serves the event stream of execution exec_id on req from after last_id
 * ("0-0" = from the start). On success the stream owns req (and answers
 * it); on failure (too many streams, out of memory) fail is set and the
 * caller still owns req.
 */
int sched__sse_start(struct sched_server *s, struct evhttp_request *req, const char *exec_id,
                     const char *last_id, uint64_t t0_ms, const char *log_path,
                     struct sched_fail *fail) PC_NODISCARD;

/* Ends every stream (clients see the end of the response). */
void sched__sse_end_all(struct sched_server *s);

/* Frees every stream now (after the loop returned). */
void sched__sse_destroy_all(struct sched_server *s);

#endif /* SCHED_SERVER_INTERNAL_H */
