/*
 * sched_reply.h - the scheduler's one adapter of hiredis replies: copies of
 * replies that outlive their callback, and what a reply means for the API
 * (Redis unavailable, an error, a value).
 *
 * hiredis lends a reply only for the duration of its callback; the
 * scheduler pipelines several commands per request and answers when the last
 * reply arrives, so each reply is first flattened into an owned
 * struct sched_flat: a scalar or one level of array.
 */
#ifndef SCHED_REPLY_H
#define SCHED_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "peace/err.h"
#include "sched_json.h"

enum sched_flat_kind {
    SCHED_FLAT_NONE = 0, /* no reply: the command did not complete (Redis away) */
    SCHED_FLAT_ERROR,    /* an error reply; v[0] is its text */
    SCHED_FLAT_NIL,
    SCHED_FLAT_INT,   /* integer; also v[0] as decimal text */
    SCHED_FLAT_STR,   /* string or status; v[0] */
    SCHED_FLAT_ARRAY, /* v[0..n): strings, integers as text; nil and nested arrays absent */
};

struct sched_flat {
    enum sched_flat_kind kind;
    long long integer;   /* SCHED_FLAT_INT */
    struct sched_str *v; /* owned array; strings point into data */
    size_t n;
    char *data; /* owned storage of every string */
};

/*
 * Copies reply (borrowed; NULL = no reply) into out (uninitialised; owned by
 * the caller on success, sched_flat_cleanup). Returns 0 or PC_ENOMEM (out
 * is then zeroed).
 */
int sched_flat_from_reply(const redisReply *reply, struct sched_flat *out) PC_NODISCARD;

/* Frees what f owns and zeroes it. Accepts NULL. */
void sched_flat_cleanup(struct sched_flat *f);

/*
 * True when an error reply means "Redis cannot serve this right now"
 * (LOADING, BUSY, MASTERDOWN, TRYAGAIN, CLUSTERDOWN, NOAUTH...) rather than
 * a bug: such errors are answered 503 redis_unavailable, others 500.
 */
bool sched_error_is_unavailable(const char *p, size_t n);

/* Reads a decimal text of at most 20 digits as an unsigned integer; false
 * when it is not one. */
bool sched_str_u64(const struct sched_str *s, uint64_t *out);

#endif /* SCHED_REPLY_H */
