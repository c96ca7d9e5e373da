/*
 * redis_util.h - what redis_conn.c and redis_node.c (and redis_util.c)
 * share: time helpers, the decimal writer of the RESP formatter, limits,
 * and the checks every connection's creation starts with. Private to
 * stores/.
 */
#ifndef PEACE_REDIS_UTIL_H
#define PEACE_REDIS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>

#include "peace/redis_conn.h"

#define PC__WHY_MAX        200
#define PC__ARGS_MAX_BYTES ((size_t)1 << 30) /* Redis' own bulk limit is 512 MiB */

static inline struct timeval pc__ms_tv(uint32_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000u), (suseconds_t)((ms % 1000u) * 1000u)};

    return tv;
}

static inline uint64_t pc__mono_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Writes v in decimal at p (at most 20 bytes, no NUL); returns the end. */
char *pc__put_u64(char *p, uint64_t v);

/*
 * The start of pc_redis_conn_create and pc_redis_node_create: checks the
 * arguments and returns `size` zeroed bytes (owned), or NULL with *rc
 * (PC_EINVAL, PC_ENOMEM) and err set.
 */
void *pc__redis_conn_alloc(size_t size, const struct event_base *base,
                           const struct pc_redis_url *url, const struct pc_redis_conn_opts *opts,
                           const void *out, int *rc, struct pc_err *err);

/* Unlinks r from the doubly linked list at *head (fields prev, next). */
#define PC__DLIST_UNLINK(head, r)                                                                  \
    do {                                                                                           \
        if ((r)->prev != NULL) {                                                                   \
            (r)->prev->next = (r)->next;                                                           \
        } else {                                                                                   \
            *(head) = (r)->next;                                                                   \
        }                                                                                          \
        if ((r)->next != NULL) {                                                                   \
            (r)->next->prev = (r)->prev;                                                           \
        }                                                                                          \
    } while (0)

#endif /* PEACE_REDIS_UTIL_H */
