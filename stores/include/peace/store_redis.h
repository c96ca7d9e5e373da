/*
 * store_redis.h - the states store over Redis (CONTRACT §3):
 * `PREFIX:states:{APP:PROFILE}:FLOW:current` and `:goal` hashes, item id ->
 * msgpack state (msgpack nil where the item has no state).
 *
 * Reads are one HGETALL. Writes run the `states_write` script, fenced by the
 * profile lock `PREFIX:lock:{APP:PROFILE}`: a write succeeds only while the
 * lock holds this store's lock value ("EXECID:EPOCH"); otherwise it
 * completes with PC_EFENCED. A store without a lock value refuses writes.
 *
 * One store serves one execution. Operations follow store.h (callback
 * exactly once when the operation returns 0, never before it returns here);
 * each operation is independent of the store object once sent, so the store
 * may be destroyed while operations are in flight (they still complete).
 */
#ifndef PEACE_STORE_REDIS_H
#define PEACE_STORE_REDIS_H

#include <stdint.h>

#include <event2/event.h>

#include "peace/redis_conn.h"
#include "peace/scripts.h"
#include "peace/store.h"

struct pc_store_redis;

/* A states write was refused because the profile lock is no longer this
 * execution's (FENCED: another attempt may own the profile now), or did not
 * complete (no reply: stored or not, nobody knows). Either way the
 * execution must not be finished on this error. why is borrowed for the
 * call. */
typedef void pc_store_redis_fenced_cb(void *ctx, const char *why);

struct pc_store_redis_opts {
    struct pc_redis_conn *conn; /* borrowed: outlives the store and its operations */
    struct pc_scripts *scripts; /* borrowed: likewise */
    const char *prefix;         /* copied */
    const char *lock_value;     /* copied; NULL = no lock (writes refused) */
    uint32_t timeout_ms;        /* per operation; 0 = the connection's default */
    /* Borrowed, may be NULL. With a base, writes issued in one loop turn go
     * out as one script call (from a zero-delay event); without, each write
     * is sent at once. */
    struct event_base *base;
    /* May be NULL; runs before the refused write completes. fenced_ctx must
     * outlive every write (as the writes' own callback arguments). */
    pc_store_redis_fenced_cb *on_fenced;
    void *fenced_ctx;
};

/* Returns owned. */
int pc_store_redis_create(const struct pc_store_redis_opts *opts, struct pc_store_redis **out,
                          struct pc_err *err) PC_NODISCARD;

/* Accepts NULL. Queued writes are sent first (they still complete). */
void pc_store_redis_destroy(struct pc_store_redis *s);

/* Sends the queued writes now (before a write of another kind that must
 * follow them, such as a progress flush). Accepts NULL. */
void pc_store_redis_flush(struct pc_store_redis *s);

/* Sets (copies) or clears (NULL) the lock value later writes are fenced with. */
int pc_store_redis_set_lock(struct pc_store_redis *s, const char *lock_value) PC_NODISCARD;

/* The store interface over s (borrowed: valid while s lives). */
struct pc_store pc_store_redis_store(struct pc_store_redis *s);

/*
 * Decodes an HGETALL reply of a states hash into out (flow->n_items slots):
 * every slot is replaced, ids not in the flow ignored, nil is absent. An
 * empty hash is PC_ENOTFOUND; a malformed value PC_ESCHEMA / PC_ELIMIT. out
 * is unchanged on failure. Exposed for tests.
 */
int pc_store_redis_decode(const redisReply *reply, const struct pc_flow *flow,
                          struct pc_states *out, struct pc_err *err) PC_NODISCARD;

#endif /* PEACE_STORE_REDIS_H */
