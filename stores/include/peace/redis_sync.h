/*
 * redis_sync.h - a blocking Redis client for command-line programs (the
 * CLI, the bench), built on struct pc_redis_conn: the same routing, so the
 * same URLs (standalone or Redis Cluster) work everywhere.
 *
 * The client owns a private libevent loop and runs it only inside its calls.
 * Commands are queued with pc_redis_sync_append and their replies taken in
 * order with pc_redis_sync_get_reply (pipelining: several commands can be in
 * flight before the first reply is taken). A reply is owned by the caller
 * (freeReplyObject) and may be an error reply; PC_EREDIS means the command
 * did not complete (connection lost, timed out): the client is then
 * "broken" until pc_redis_sync_reconnect.
 */
#ifndef PEACE_REDIS_SYNC_H
#define PEACE_REDIS_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "peace/err.h"
#include "peace/redis_url.h"

struct pc_redis_sync;

/*
 * Connects (and, on a cluster, reads the topology) within connect_timeout_ms;
 * commands time out after cmd_timeout_ms. url is copied. Returns owned *out;
 * on failure err names the server (never its password).
 */
int pc_redis_sync_connect(const struct pc_redis_url *url, uint32_t connect_timeout_ms,
                          uint32_t cmd_timeout_ms, struct pc_redis_sync **out,
                          struct pc_err *err) PC_NODISCARD;
/* Accepts NULL; replies not taken are dropped. */
void pc_redis_sync_destroy(struct pc_redis_sync *s);

/* True once a command failed to complete (until reconnected). */
bool pc_redis_sync_broken(const struct pc_redis_sync *s);

/* Drops the connection and connects again with the same settings. */
int pc_redis_sync_reconnect(struct pc_redis_sync *s, struct pc_err *err) PC_NODISCARD;

/* Queues argv[0..argc) (binary-safe, copied). */
int pc_redis_sync_append(struct pc_redis_sync *s, int argc, const char *const *argv,
                         const size_t *lens, struct pc_err *err) PC_NODISCARD;

/* The next queued command's reply (owned), waiting for it. */
int pc_redis_sync_get_reply(struct pc_redis_sync *s, redisReply **reply,
                            struct pc_err *err) PC_NODISCARD;

/* A deep copy that freeReplyObject frees; NULL when out of memory. */
redisReply *pc_redis_reply_dup(const redisReply *r);

#endif /* PEACE_REDIS_SYNC_H */
