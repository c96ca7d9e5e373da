/*
 * ops.h - what a worker tells operators: its heartbeat in Redis (so the
 * scheduler and `peace workers` count and list live workers, docs/fleet.md)
 * and, with --metrics-listen ADDR, a Prometheus endpoint (docs/metrics.md).
 *
 * Everything runs on the worker's event loop thread. The module holds only
 * counters and what it is given: the worker calls the hooks below and lends
 * a Redis connection; nothing here decides anything about executions.
 */
#ifndef PEACE_WORKER_OPS_H
#define PEACE_WORKER_OPS_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "peace/cmd.h"
#include "peace/err.h"
#include "peace/fleet_ops.h"
#include "peace/outcome.h"
#include "peace/redis_conn.h"
#include "worker/config.h"
#include "worker/log.h"

struct wk_ops;

/* What the worker is doing now, read at each heartbeat and scrape. */
struct wk_ops_gauges {
    unsigned running;           /* executions running on this worker */
    unsigned long threads_busy; /* item tasks submitted and not done (at most threads) */
    /* The ids of the executions running, comma-separated (at most
     * PC_FOP_EXECS_SHOWN of them): the heartbeat's `execs` field. */
    char execs[PC_FOP_EXECS_SHOWN * (PC_EXEC_ID_MAX + 1)];
};

struct wk_ops_opts {
    struct event_base *base;       /* borrowed */
    const struct wk_config *cfg;   /* borrowed: prefix, queue, concurrency, threads, lease_ms,
                                      metrics_listen */
    struct pc_redis_conn *conn;    /* borrowed: the worker's command connection */
    const char *consumer;          /* copied: the worker's consumer name */
    const char *version;           /* copied: the program's version */
    const struct wk_log *log;      /* borrowed */
    uint64_t (*now_ms)(void *ctx); /* wall clock (Unix ms) */
    void *clock_ctx;
    void (*gauges)(void *ctx, struct wk_ops_gauges *out);
    void *gauges_ctx;
};

/*
 * Returns owned. Starts the heartbeat timer (every lease / 3; each beat
 * lives one lease) and, when cfg->metrics_listen is set, listens there. A
 * listen address that cannot be bound fails here, naming it.
 */
int wk_ops_create(const struct wk_ops_opts *o, struct wk_ops **out,
                  struct pc_err *err) PC_NODISCARD;

/*
 * Stops beating and removes the heartbeat (a clean stop): the worker no
 * longer counts as live. on_left(ctx) runs when Redis answered the removal
 * (or failed to): wait for wk_ops_left before leaving the loop, so the
 * removal is sent. The metrics endpoint keeps answering.
 */
void wk_ops_stop(struct wk_ops *ops, void (*on_left)(void *ctx), void *ctx);

/* True once the removal is over (or ops is NULL). */
bool wk_ops_left(const struct wk_ops *ops);

/* Accepts NULL. */
void wk_ops_destroy(struct wk_ops *ops);

/* Hooks (ops may be NULL). cmd < PC_CMD_COUNT, or PC_CMD_COUNT for a job
 * whose command is unknown (rejected before it was read). */
void wk_ops_exec_started(struct wk_ops *ops, enum pc_cmd cmd);
void wk_ops_exec_finished(struct wk_ops *ops, unsigned cmd, enum pc_outcome_kind outcome);

/*
 * The Prometheus text exposition of the counters and gauges (pure: for the
 * endpoint and the tests). process_* metrics are appended by the endpoint.
 */
int wk_ops_render(const struct wk_ops *ops, const struct wk_ops_gauges *g,
                  struct pc_buf *out) PC_NODISCARD;

/* Parses "HOST:PORT" (HOST may be [v6]; PORT 0 picks a free one); 0 or PC_EINVAL. */
int wk_ops_parse_listen(const char *text, char *host, size_t host_size, uint16_t *port);

#endif
