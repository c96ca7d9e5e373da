/*
 * redis_conn_internal.h - what the stores' own files share about
 * redis_conn.c beyond its public header.
 */
#ifndef PEACE_REDIS_CONN_INTERNAL_H
#define PEACE_REDIS_CONN_INTERNAL_H

#include "peace/redis_conn.h"

/*
 * pc_redis_cmd for the command head[0..n_head) followed by every argument of
 * tail (NULL = none), formatted straight from both: no argv array. Callback
 * contract of pc_redis_cmd; a tail with an error fails with that error.
 */
int pc_redis__cmd_head_args(struct pc_redis_conn *c, size_t n_head, const char *const *head,
                            const size_t *head_lens, const struct pc_redis_args *tail,
                            uint32_t timeout_ms, pc_redis_reply_cb *cb, void *arg) PC_NODISCARD;

#endif /* PEACE_REDIS_CONN_INTERNAL_H */
