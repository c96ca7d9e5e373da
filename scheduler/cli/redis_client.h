/*
 * redis_client.h - the CLI's one synchronous Redis connection.
 *
 * The only file that speaks hiredis's error model: a failed call (the
 * connection broke, timed out or was refused) and an error reply both come
 * back as PC_EREDIS with a one-line reason in err; cli_redis_broken() tells
 * the two apart, so a follower can reconnect after the first and give up
 * after the second.
 */
#ifndef PEACE_CLI_REDIS_CLIENT_H
#define PEACE_CLI_REDIS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "peace/err.h"
#include "peace/redis_sync.h"

struct cli_redis;

/*
 * Connects to url (CONTRACT §1 forms), authenticates and selects the db.
 * prefix is the key prefix (checked with pc_prefix_check) and is copied.
 * Returns owned *out; on failure err is one line naming the server (never
 * its password).
 */
int cli_redis_connect(const char *url, const char *prefix, struct cli_redis **out,
                      struct pc_err *err) PC_NODISCARD;
void cli_redis_destroy(struct cli_redis *r);

/* The key prefix (borrowed from r). */
const char *cli_redis_prefix(const struct cli_redis *r);

/* The blocking client underneath (borrowed), for peace/fleet_ops.h. */
struct pc_redis_sync *cli_redis_sync(struct cli_redis *r);

/* True when the connection failed (as opposed to an error reply). */
bool cli_redis_broken(const struct cli_redis *r);

/* Connects again with the same settings; 0 or PC_EREDIS. */
int cli_redis_reconnect(struct cli_redis *r, struct pc_err *err) PC_NODISCARD;

/*
 * Runs one command of argc binary-safe arguments. On success *reply is owned
 * (freeReplyObject) and never an error reply.
 */
int cli_redis_command(struct cli_redis *r, int argc, const char **argv, const size_t *lens,
                      redisReply **reply, struct pc_err *err) PC_NODISCARD;

/* Same with NUL-terminated string arguments, the list ending with NULL. */
int cli_redis_cmd(struct cli_redis *r, redisReply **reply, struct pc_err *err, ...)
    __attribute__((sentinel)) PC_NODISCARD;

/*
 * Pipelining: append commands, then take their replies in order. A reply
 * taken with cli_redis_get_reply may be an error reply (the caller decides);
 * PC_EREDIS means the connection failed.
 */
int cli_redis_append(struct cli_redis *r, int argc, const char **argv, const size_t *lens,
                     struct pc_err *err) PC_NODISCARD;
int cli_redis_get_reply(struct cli_redis *r, redisReply **reply, struct pc_err *err) PC_NODISCARD;

/* A reply's string (STRING or STATUS) as (p, n); false for other types. */
bool cli_reply_str(const redisReply *rep, const char **p, size_t *n);

/* Looks up field in a flat field/value array reply (HGETALL, stream entry). NULL if absent. */
const redisReply *cli_reply_field(const redisReply *arr, const char *field);

#endif
