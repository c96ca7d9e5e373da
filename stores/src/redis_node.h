/*
 * redis_node.h - one self-reconnecting asynchronous connection to one Redis
 * server (redis_node.c), the building block of struct pc_redis_conn
 * (redis_conn.c routes over one node on a standalone Redis, over one per
 * master on a Redis Cluster). Private to stores/.
 *
 * The contract is the one redis_conn.h states for a connection (callbacks
 * exactly once, never before the call returns; NULL for a command that did
 * not complete; reconnection with backoff), per server. A URL with several
 * seeds (url.nseeds > 1) dials the next seed on each attempt.
 */
#ifndef PEACE_REDIS_NODE_H
#define PEACE_REDIS_NODE_H

#include "peace/redis_conn.h"

struct pc_redis_node;

/* Returns owned; url and opts copied, base borrowed. Starts connecting. */
int pc_redis_node_create(struct event_base *base, const struct pc_redis_url *url,
                         const struct pc_redis_conn_opts *opts, struct pc_redis_node **out,
                         struct pc_err *err) PC_NODISCARD;
/* Accepts NULL; never from one of this node's callbacks. */
void pc_redis_node_destroy(struct pc_redis_node *c);
bool pc_redis_node_ready(const struct pc_redis_node *c);
void pc_redis_node_reset(struct pc_redis_node *c, const char *why);
/* The address of the current (or last) attempt; borrowed from c. */
const struct pc_redis_addr *pc_redis_node_addr(const struct pc_redis_node *c);
/* Failed attempts since the node was last ready. */
unsigned pc_redis_node_attempts(const struct pc_redis_node *c);

int pc_redis_node_cmd(struct pc_redis_node *c, int argc, const char *const *argv,
                      const size_t *argvlen, uint32_t timeout_ms, pc_redis_reply_cb *cb,
                      void *arg) PC_NODISCARD;
/* The command head[0..n_head) then every argument of tail (NULL = none). */
int pc_redis_node_cmd_head_args(struct pc_redis_node *c, size_t n_head, const char *const *head,
                                const size_t *head_lens, const struct pc_redis_args *tail,
                                uint32_t timeout_ms, pc_redis_reply_cb *cb, void *arg) PC_NODISCARD;
int pc_redis_node_subscribe(struct pc_redis_node *c, int argc, const char *const *argv,
                            const size_t *argvlen, pc_redis_reply_cb *cb, void *arg) PC_NODISCARD;

#endif /* PEACE_REDIS_NODE_H */
