/*
 * redis_conn.h - one asynchronous Redis connection on a libevent loop, that
 * keeps itself connected: to a standalone Redis (redis://, unix://) or to a
 * Redis Cluster (redis+cluster://), the same calls for both.
 *
 * On a cluster, the connection reads the topology (CLUSTER SLOTS) from the
 * seeds, keeps one connection per master and sends each command to the
 * master of its key's slot, following MOVED and ASK redirects and retrying
 * TRYAGAIN and CLUSTERDOWN by itself; the caller sees the final reply only.
 * Commands must keep their keys in one slot (hash tags). It is "ready" when
 * the topology is known and every master is connected. See redis_conn.c.
 *
 * A connection connects, authenticates (AUTH [user] password) and selects
 * its database from a struct pc_redis_url, then reports "ready" to its owner.
 * When it breaks (server gone, error, a command timing out) it reports "down"
 * and reconnects from a timer with exponential backoff (opts.backoff_min_ms
 * .. opts.backoff_max_ms, halved by random jitter), forever, until destroyed.
 *
 * Commands: pc_redis_cmd() and pc_redis_cmd_args() send one command (wire
 * bytes are (ptr, len) pairs). When they return 0 the callback runs exactly
 * once, never before they return: with the reply (an error reply included),
 * or with NULL when the command could not complete (not connected, the
 * connection broke, the command timed out). A command that times out breaks
 * the connection: on a half-open TCP connection nothing later would arrive,
 * and a late reply after a NULL callback would be ambiguous. When they
 * return non-zero (bad arguments, out of memory) the callback never runs.
 *
 * Subscriptions (pc_redis_subscribe) are for a connection used only for
 * pub/sub: the callback runs for the confirmation and every message, and
 * once with NULL when the subscription ends with the connection. Owners
 * re-subscribe when the connection reports "ready" again.
 *
 * Everything runs on the loop thread. Callbacks may send further commands
 * but must never destroy the connection they are called from.
 */
#ifndef PEACE_REDIS_CONN_H
#define PEACE_REDIS_CONN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "peace/err.h"
#include "peace/redis_url.h"

struct pc_redis_conn;

/* reply: borrowed for the call (NULL = the command did not complete). */
typedef void pc_redis_reply_cb(void *arg, const redisReply *reply);

/* ready: the connection is usable (true) or went down (false); why names the
 * cause of a failure or disconnection ("" when there is none). */
typedef void pc_redis_state_cb(void *ctx, bool ready, const char *why);

struct pc_redis_conn_opts {
    const char *name;            /* for messages ("cmd", "read", "sub"); copied */
    uint32_t connect_timeout_ms; /* 0 = 5000 */
    uint32_t cmd_timeout_ms;     /* default per command; 0 = 10000 */
    uint32_t backoff_min_ms;     /* 0 = 100 */
    uint32_t backoff_max_ms;     /* 0 = 5000 */
    pc_redis_state_cb *on_state; /* may be NULL */
    void *state_ctx;
    /* Cluster: commands to different masters run in the order they were
     * sent, as on one server (a command waits for the replies of those in
     * flight on another master). Off, only commands to one master keep
     * their order (a caller chains on replies where order matters). A
     * standalone connection is always ordered. */
    bool ordered;
};

/*
 * Returns owned: a connection that starts connecting at once (the first
 * outcome arrives through on_state). url and opts are copied. base is
 * borrowed and must outlive the connection.
 */
int pc_redis_conn_create(struct event_base *base, const struct pc_redis_url *url,
                         const struct pc_redis_conn_opts *opts, struct pc_redis_conn **out,
                         struct pc_err *err) PC_NODISCARD;

/*
 * Closes the connection; pending commands complete with NULL first (their
 * callbacks must not send on this connection: it refuses). Accepts NULL.
 * Never call it from one of this connection's callbacks.
 */
void pc_redis_conn_destroy(struct pc_redis_conn *c);

/* True when commands can be sent now. */
bool pc_redis_conn_ready(const struct pc_redis_conn *c);

/* True for a redis+cluster:// connection. */
bool pc_redis_conn_is_cluster(const struct pc_redis_conn *c);

/* Breaks the connection on purpose (it reconnects after the backoff). Safe
 * from callbacks: the drop happens on the next loop iteration. */
void pc_redis_conn_reset(struct pc_redis_conn *c, const char *why);

/*
 * Sends argv[0..argc) (argvlen[i] bytes each). timeout_ms 0 = the
 * connection's default. See the file comment for the callback contract.
 */
int pc_redis_cmd(struct pc_redis_conn *c, int argc, const char *const *argv, const size_t *argvlen,
                 uint32_t timeout_ms, pc_redis_reply_cb *cb, void *arg) PC_NODISCARD;

/*
 * Subscribes (SUBSCRIBE / PSUBSCRIBE argv): cb runs for each pushed reply
 * and once with NULL at the end. Returns PC_EREDIS when not connected. On a
 * cluster the subscription is made on one master (classic PUBLISH reaches
 * every node of a cluster).
 */
int pc_redis_subscribe(struct pc_redis_conn *c, int argc, const char *const *argv,
                       const size_t *argvlen, pc_redis_reply_cb *cb, void *arg) PC_NODISCARD;

/* ------------------------------------------------------------------------ */
/* Argument lists                                                            */

/*
 * A command's arguments built piece by piece into one owned buffer. Errors
 * are sticky: the first failing add records rc and the rest are ignored, so
 * callers check once (pc_redis_args_error) before sending.
 */
struct pc_redis_args {
    char *data; /* owned */
    size_t len;
    size_t cap;
    size_t *off; /* owned: start of each argument in data */
    size_t *lens;
    size_t n;
    size_t ncap;
    int rc; /* first error, or 0 */
};

void pc_redis_args_init(struct pc_redis_args *a);
void pc_redis_args_cleanup(struct pc_redis_args *a);
void pc_redis_args_add(struct pc_redis_args *a, const void *p, size_t n);
void pc_redis_args_addz(struct pc_redis_args *a, const char *s);
void pc_redis_args_addu64(struct pc_redis_args *a, uint64_t v);
void pc_redis_args_addf(struct pc_redis_args *a, const char *fmt, ...) PC_PRINTF(2, 3);
/* Moves src into dst (uninitialised); src becomes empty. */
void pc_redis_args_move(struct pc_redis_args *dst, struct pc_redis_args *src);
static inline int pc_redis_args_error(const struct pc_redis_args *a)
{
    return a->rc;
}

/* Sends a->n arguments; a is copied by the call (the caller keeps it). */
int pc_redis_cmd_args(struct pc_redis_conn *c, const struct pc_redis_args *a, uint32_t timeout_ms,
                      pc_redis_reply_cb *cb, void *arg) PC_NODISCARD;

/* ------------------------------------------------------------------------ */
/* Pure helpers                                                              */

/*
 * Delay before reconnect attempt `attempt` (0 = the first retry):
 * min_ms * 2^attempt capped at max_ms, then jittered into [d/2, d] with
 * rand32 (any 32-bit random value). Never below 1 ms.
 */
uint32_t pc_redis_backoff_ms(unsigned attempt, uint32_t min_ms, uint32_t max_ms, uint32_t rand32);

/* True when reply is an error reply whose text starts with prefix ("NOSCRIPT"). */
bool pc_redis_reply_is_error(const redisReply *reply, const char *prefix);

/* Copies a reply's text (error, status or string) into out for messages. */
void pc_redis_reply_text(const redisReply *reply, char *out, size_t out_size);

#endif /* PEACE_REDIS_CONN_H */
