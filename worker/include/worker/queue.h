/*
 * queue.h - a worker's side of its queue stream(s): the consumer group of
 * every partition, the blocking reads and the takeover sweeps
 * (docs/fleet.md "Worker protocol" and "Queue partitions").
 *
 * A queue of P partitions (peace/keys.h) is read with one blocking
 * XREADGROUP per partition, each on a connection of its own (a blocked read
 * holds its connection, and on a cluster each partition is in its own
 * slot, so one command cannot read two of them). The worker's free slots
 * are shared among the reads by wk_read_plan (worker/parts.h), so the
 * entries delivered never exceed them. Takeover sweeps every partition in
 * turn, one XAUTOCLAIM after the other on the command connection, each
 * with the free slots left. P = 1 is the single stream of old, read exactly
 * as before.
 *
 * Entries reach the owner through hooks.entries with their partition; the
 * owner acknowledges and renews them on wk_queue_key(q, part).
 */
#ifndef WORKER_QUEUE_H
#define WORKER_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "peace/err.h"
#include "peace/redis_conn.h"
#include "peace/redis_url.h"
#include "worker/log.h"

struct wk_queue;

struct wk_queue_hooks {
    /* Executions this worker can still take now. */
    unsigned (*free_slots)(void *ctx);
    /* False while the worker must take nothing (draining, stopping, the
     * command connection down: an entry read then could not start). */
    bool (*may_take)(void *ctx);
    /* Entries of partition part (an array reply, borrowed), read or claimed. */
    void (*entries)(void *ctx, unsigned part, const redisReply *entries);
    /* An error reply to operation `what` (ACL denials are logged by the owner). */
    void (*error)(void *ctx, const char *what, const redisReply *reply);
    void *ctx;
};

struct wk_queue_opts {
    struct event_base *base;        /* borrowed; outlives the queue */
    const struct pc_redis_url *url; /* copied by each connection */
    struct pc_redis_conn *cmd;      /* borrowed: XGROUP, XAUTOCLAIM */
    const char *prefix;             /* copied */
    const char *queue;              /* copied */
    unsigned partitions;            /* 1..PC_PARTITIONS_MAX */
    const char *consumer;           /* copied */
    const char *group;              /* copied */
    uint32_t lease_ms;              /* XAUTOCLAIM min idle time */
    uint32_t read_block_ms;         /* BLOCK when every partition has a read */
    uint32_t cmd_timeout_ms;
    uint32_t retry_ms;        /* after a failed read or group creation */
    const struct wk_log *log; /* borrowed */
    struct wk_queue_hooks hooks;
};

/* Returns owned *out: the read connections start connecting at once. */
int wk_queue_create(const struct wk_queue_opts *o, struct wk_queue **out,
                    struct pc_err *err) PC_NODISCARD;
/* From now on no hook runs (call it before closing the command connection,
 * whose pending replies still reach the queue). Accepts NULL. */
void wk_queue_stop(struct wk_queue *q);
/* Closes the read connections and frees q; after the command connection is
 * closed (its callbacks refer to q). Accepts NULL. */
void wk_queue_destroy(struct wk_queue *q);
/* The command connection is (again) ready: create every partition's group. */
void wk_queue_cmd_ready(struct wk_queue *q);
/* Starts the reads the free slots allow (after slots were freed, say). */
void wk_queue_read(struct wk_queue *q);
/* One takeover sweep over every partition (unless one is running). */
void wk_queue_claim(struct wk_queue *q);
/* The stream of partition part (part < partitions). */
const char *wk_queue_key(const struct wk_queue *q, unsigned part);
/* P, the number of partitions read. */
unsigned wk_queue_partitions(const struct wk_queue *q);

#endif /* WORKER_QUEUE_H */
