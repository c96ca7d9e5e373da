/*
 * redis_backend_internal.h - what the files of peace-scheduler's Redis
 * backend share (redis_backend.c: requests and batches; redis_events.c:
 * event streams; redis_metrics.c: /metrics). Private to scheduler/src.
 *
 * Every request the HTTP layer hands over becomes a `struct rcall` that
 * lives until its web_call is answered, exactly once: either at once (a bad
 * request, Redis known to be down) or from the completion of its Redis
 * commands. Commands a request needs together are pipelined as a `batch`:
 * each reply is copied (hiredis lends it only for its callback) and the
 * handler continues when the last one arrived. Every callback of
 * redis_conn runs exactly once, so every call is answered, also when Redis
 * goes away (503 redis_unavailable) or the server shuts down.
 */
#ifndef REDIS_BACKEND_INTERNAL_H
#define REDIS_BACKEND_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "peace/item.h"
#include "peace/redis_conn.h"
#include "peace/scripts.h"
#include "peace/ulid.h"
#include "sched_config.h"
#include "sched_reply.h"
#include "web_backend.h"
#include "web_server.h"

struct redis_backend {
    struct event_base *base;            /* borrowed */
    const struct sched_config *cfg;     /* borrowed */
    const struct pc_registry *registry; /* borrowed */
    struct pc_redis_conn *redis;        /* owned: requests share it */
    struct pc_scripts *scripts;         /* owned */
    bool redis_known;                   /* a first connection outcome arrived */
    bool redis_ready;
    char redis_why[PC_ERR_MSG_MAX];
    char redis_where[PC_ERR_MSG_MAX]; /* "host:port" for messages */
    struct pc_ulid_gen ulid;
    struct irq *irq_waiting; /* interrupt answers waiting on a timer (a list) */
    /* Latch announcements (redis_interrupt.c): a connection subscribed to
     * PREFIX:interrupts:latched, and the interrupt answers waiting for a
     * latch (a list). While not subscribed, those answers poll. */
    struct pc_redis_conn *sub; /* owned */
    bool latch_subscribed;
    bool stopping;
    struct irq *irq_latch;
};

struct rcall;
struct irq;
typedef void redis_batch_done_fn(struct rcall *c, struct sched_flat *slots, size_t n);

/* One request of the backend: its web_call and what its handler keeps. */
struct rcall {
    struct redis_backend *rb;
    struct web_call *wc;
    const char *id; /* the route's execution id (borrowed from wc) */
    void *data;     /* the handler's own state; freed with the call */
    void (*data_free)(void *data);
};

/* Returns owned: a call for wc (answers 500 and returns NULL when out of memory). */
struct rcall *redis__call_new(struct redis_backend *rb, struct web_call *wc);

/* Answers: each frees c. */
void redis__reply_code(struct rcall *c, enum sched_code code, const char *fmt, ...) PC_PRINTF(3, 4);
void redis__reply_unavailable(struct rcall *c);
/* Frees c after its web_call was answered by a web_answer_* function. */
void redis__call_done(struct rcall *c);

/* Answers a failed slot (503 when Redis did not answer or cannot serve now,
 * 500 otherwise) and frees c. Returns true when it answered. */
bool redis__reply_if_failed(struct rcall *c, const struct sched_flat *slots, size_t n);

/*
 * A batch of the n commands a[] built by the caller, sent in this order on
 * the one connection; every a[i] is cleaned up. done runs when the last
 * reply arrived. Answers 500 itself when a command could not be built
 * (build_failed says which) or memory runs out.
 */
void redis__run_batch(struct rcall *c, struct pc_redis_args *a, size_t n, redis_batch_done_fn *done,
                      const char *build_failed);

/* The count newest ids of the executions index, then done (503 itself
 * while Redis is away). */
void redis__run_newest_ids(struct rcall *c, uint64_t count, redis_batch_done_fn *done);

/* After redis__run_newest_ids: one HMGET of fields per id, slot i for id i
 * (an id this API cannot show keeps a SCHED_FLAT_NIL slot), then done. */
void redis__run_hmget_each(struct rcall *c, const struct sched_flat *slots,
                           const char *const *fields, size_t n_fields, redis_batch_done_fn *done);

/* A batch of n queue-statistics commands built per slot by the caller. */
struct redis_batch;
struct redis_batch *redis__batch_new(struct rcall *c, size_t n, redis_batch_done_fn *done);
void redis__batch_send(struct redis_batch *b, size_t i, struct pc_redis_args *a);
void redis__batch_skip(struct redis_batch *b, size_t i); /* slot i: SCHED_FLAT_NIL, not sent */
/* One command (a) as a batch of one. */
void redis__run_one(struct rcall *c, struct pc_redis_args *a, redis_batch_done_fn *done);

/* Slot i: the script id with nkeys keys and the arguments a. */
void redis__batch_send_script(struct redis_batch *b, size_t i, enum pc_script id, int nkeys,
                              struct pc_redis_args *a);
void redis__batch_launch(struct redis_batch *b);

/* The operations routes (redis_ops.c): workers, queues, dead letters,
 * retry, rerun (the backend's `route` op). */
void redis__route(void *be, struct web_call *wc);

/* GET /v1/executions: a page, with the query's filters and cursor (redis_ops.c). */
void redis__list(struct redis_backend *rb, struct web_call *wc, size_t limit);

/* /metrics: adds the fleet's figures (dead letters, oldest job per queue,
 * per-worker figures) to m, then answers with web_answer_metrics and frees c
 * (redis_ops.c). */
void redis__fleet_metrics(struct rcall *c, struct sched_metrics *m);

/* GET /metrics (redis_metrics.c). */
void redis__metrics(void *be, struct web_call *wc);

/* GET /v1/executions/{id}/events once the execution is known to exist
 * (redis_events.c): answers wc (a stream, or an error). */
void redis__events_open(struct redis_backend *rb, struct web_call *wc, const char *exec_id,
                        const char *last_id);

/* POST /v1/executions/{id}/interrupt (redis_interrupt.c; the backend's
 * `interrupt` op). */
void redis__interrupt(void *be, struct web_call *wc, const char *id,
                      const struct web_interrupt *ir);

/* Answers every interrupt waiting on a timer with what is known so far
 * (redis_backend_destroy, before the connection goes). */
void redis__interrupts_answer_waiting(struct redis_backend *rb);

/* The subscriber connection's state (redis_interrupt.c): (re)subscribes
 * when it is ready. */
void redis__latch_sub_state(void *ctx, bool ready, const char *why);

#endif /* REDIS_BACKEND_INTERNAL_H */
