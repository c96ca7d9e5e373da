/*
 * fleet_ops.h - the operations views and actions on a fleet's Redis
 * (docs/fleet.md "Operations"): live workers, queues, dead letters, the
 * retry of a dead letter, the rerun of an execution, and the executions
 * listing with filters and a cursor. One implementation for every program:
 * the scheduler runs an operation on its event loop, the CLI on its
 * blocking client, and both print the same JSON.
 *
 * An operation does no I/O itself. It hands out rounds of commands
 * (pc_fop_round); the caller sends one round pipelined, in order, and gives
 * back every reply (pc_fop_feed); the operation then builds the next round
 * from them, until a round is empty. pc_fop_run_sync and pc_fop_run_async
 * are those loops for the two kinds of connection. Every command names keys
 * of one slot, so the rounds run the same on a Redis Cluster.
 *
 * Ownership: an operation is owned by its creator (pc_fop_destroy); the
 * params' strings are copied at creation; the replies fed are taken; results
 * (pc_fop_row, pc_fop_cursor, pc_fop_message) are borrowed from the
 * operation.
 */
#ifndef PEACE_FLEET_OPS_H
#define PEACE_FLEET_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "peace/buf.h"
#include "peace/err.h"
#include "peace/ident.h"
#include "peace/redis_conn.h"
#include "peace/redis_sync.h"

/* Limits of what one operation reads. */
#define PC_FOP_QUEUES_MAX  256   /* queues looked at (registry and named) */
#define PC_FOP_WORKERS_MAX 1000  /* live workers read per queue */
#define PC_FOP_LIST_MAX    1000  /* executions per page */
#define PC_FOP_DEAD_MAX    100   /* dead letters per page (each holds its job) */
#define PC_FOP_SCAN_MAX    10000 /* index entries one filtered page examines */
#define PC_FOP_CURSOR_MAX  96    /* a cursor's text, NUL included */
#define PC_FOP_EXECS_SHOWN 32    /* execution ids a worker's heartbeat lists */

enum pc_fop_kind {
    PC_FOP_WORKERS, /* live workers, from their heartbeats */
    PC_FOP_QUEUES,  /* queues: length, pending, live workers, oldest job; dead length */
    PC_FOP_DEAD,    /* dead letters, newest first, a page (limit, cursor) */
    PC_FOP_RETRY,   /* queue a dead letter's job again as a new execution */
    PC_FOP_RERUN,   /* queue an execution's job again as a new execution */
    PC_FOP_EXECS,   /* executions, newest first, filtered, a page (limit, cursor) */
};

/* How a finished operation ended (besides a Redis failure, see pc_fop_feed). */
enum pc_fop_result {
    PC_FOP_OK = 0,    /* read, or the retry had already been made (its id is given) */
    PC_FOP_CREATED,   /* retry, rerun: a new execution was queued */
    PC_FOP_NOT_FOUND, /* retry: no such dead letter; rerun: no such execution */
    PC_FOP_CONFLICT,  /* retry, rerun: the job cannot be queued again (message says why) */
};

/*
 * Filters of the executions listing; an empty field matches everything.
 * Set them with pc_exec_filter_set, which validates each value.
 */
struct pc_exec_filter {
    char status[16];  /* queued | running | finished */
    char outcome[32]; /* one outcome name (implies finished) */
    char cmd[32];     /* a command name */
    struct pc_id app;
    struct pc_id profile;
    struct pc_id flow;
    struct pc_id queue;
    uint64_t since_ms; /* created at or after (Unix ms); 0 = any time */
};

/*
 * Sets filter `name` (status, outcome, cmd, app, profile, flow, queue,
 * since) to value. Returns 0; PC_ENOTFOUND for a name that is not a filter
 * (err untouched); PC_EINVAL with err for a bad value.
 */
int pc_exec_filter_set(struct pc_exec_filter *f, const char *name, const char *value,
                       struct pc_err *err) PC_NODISCARD;

/* True when no filter is set. */
bool pc_exec_filter_empty(const struct pc_exec_filter *f);

/* True for a Redis stream entry id ("MS-SEQ", both decimal, at most 20 digits each). */
bool pc_stream_entry_id_valid(const char *s);

struct pc_fop_params {
    enum pc_fop_kind kind;
    const char *prefix;
    unsigned partitions; /* every queue's partitions (peace/keys.h); 0 = 1 */
    uint64_t now_ms;     /* Unix ms: liveness of beats, ages; created_ms of a new execution */
    /* workers, queues: queues looked at besides those of the registry. */
    const char *const *queues;
    size_t n_queues;
    /* dead, execs: page size (1..PC_FOP_DEAD_MAX or 1..PC_FOP_LIST_MAX) and
     * the cursor of a previous page (NULL or "" = from the newest). */
    size_t limit;
    const char *cursor;
    /* retry: the dead entry id; rerun: the execution id. */
    const char *target;
    /* retry, rerun: the id of the execution to queue (a fresh ULID). */
    const char *new_id;
    /* execs: filters (may be NULL) and the meta fields each row holds, in order. */
    const struct pc_exec_filter *filter;
    const char *const *fields;
    size_t n_fields;
};

struct pc_fop;

/*
 * Returns owned *out. Validates the params: a bad cursor, limit, id or
 * prefix is PC_EINVAL with err naming it (nothing is sent).
 */
int pc_fop_create(const struct pc_fop_params *p, struct pc_fop **out,
                  struct pc_err *err) PC_NODISCARD;

/* Accepts NULL. */
void pc_fop_destroy(struct pc_fop *op);

/*
 * The commands of the next round (borrowed until the next pc_fop_feed);
 * *n == 0 when the operation is over.
 */
void pc_fop_round(const struct pc_fop *op, const struct pc_redis_args **cmds, size_t *n);

/*
 * Gives the replies of the round: replies[i] answers cmds[i], NULL when it
 * did not complete. The replies are taken (freed by the operation, also on
 * failure). Returns 0, or PC_EREDIS (a reply missing, or an error reply
 * where none is expected: err says which) or PC_ENOMEM, after which the
 * operation is over.
 */
int pc_fop_feed(struct pc_fop *op, redisReply **replies, size_t n, struct pc_err *err) PC_NODISCARD;

/* The result of a finished operation; message says why for NOT_FOUND and CONFLICT. */
enum pc_fop_result pc_fop_result(const struct pc_fop *op);
const char *pc_fop_message(const struct pc_fop *op);

/*
 * The answer as JSON (docs/http-api.md) for workers, queues, dead, retry and
 * rerun: appended to out. Returns 0, PC_ELIMIT or PC_ENOMEM; PC_EINVAL for
 * execs (its rows are rendered by the caller).
 */
int pc_fop_json(const struct pc_fop *op, struct pc_buf *out) PC_NODISCARD;

/* execs: the rows of the page, newest first; each an HMGET reply whose
 * first n_fields elements are the params' fields. */
size_t pc_fop_rows(const struct pc_fop *op);
const redisReply *pc_fop_row(const struct pc_fop *op, size_t i);

/* dead, execs: the cursor of the next page, or NULL on the last page. */
const char *pc_fop_cursor(const struct pc_fop *op);

/* retry, rerun: the id of the execution queued (or queued by an earlier retry). */
const char *pc_fop_new_id(const struct pc_fop *op);

/* Runs every round on a blocking client. 0, or what pc_fop_feed returned. */
int pc_fop_run_sync(struct pc_redis_sync *s, struct pc_fop *op, struct pc_err *err) PC_NODISCARD;

/* rc 0: op finished (see pc_fop_result); else err says why. op stays the caller's. */
typedef void pc_fop_done_cb(void *arg, struct pc_fop *op, int rc, const struct pc_err *err);

/*
 * Runs every round on an asynchronous connection; done runs exactly once,
 * possibly before this returns. Returns 0, or PC_ENOMEM (done never runs).
 */
int pc_fop_run_async(struct pc_redis_conn *c, struct pc_fop *op, pc_fop_done_cb *done,
                     void *arg) PC_NODISCARD;

#endif /* PEACE_FLEET_OPS_H */
