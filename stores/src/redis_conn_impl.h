/*
 * redis_conn_impl.h - what the files of the routing connection share
 * (peace/redis_conn.h is its public interface): the connection's structure,
 * its cluster nodes and requests. redis_conn.c holds the design and the
 * public calls, redis_conn_topo.c the cluster's readiness, nodes and slot
 * table, redis_conn_req.c the routed requests (redirects, retries, order).
 */
#ifndef PEACE_REDIS_CONN_IMPL_H
#define PEACE_REDIS_CONN_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peace/redis_cluster.h"
#include "peace/redis_conn.h"
#include "redis_node.h"

#define REFRESH_MS 5000 /* the slot table's periodic refresh */

struct cnode {
    struct pc_redis_conn *c;
    struct pc_redis_addr addr;
    struct pc_redis_node *node; /* owned */
    bool in_table;              /* the table (or a MOVED) names it a master */
    bool subscribed;            /* holds subscriptions: no commands */
    bool failed;                /* went down (or never came up) since last ready */
    unsigned inflight;          /* requests waiting on its replies */
};

struct creq {
    struct pc_redis_conn *c;
    struct pc_redis_args args; /* the whole command, owned */
    int key;                   /* argument index, or -1 */
    unsigned slot;
    pc_redis_reply_cb *cb;
    void *arg;
    uint32_t timeout_ms;
    uint32_t wait_ms;     /* how long it may wait for a node */
    uint64_t deadline_ms; /* waiting for a node ends here */
    unsigned redirects;
    unsigned retries;
    bool asking;
    bool released; /* ordered: counted in ord_inflight */
    struct pc_redis_addr ask_addr;
    struct cnode *sent_to; /* NULL unless a reply is awaited */
    struct creq *onext;    /* ordered: the FIFO of requests not released yet */
    struct event *timer;   /* wait / retry */
    struct creq *prev;
    struct creq *next;
};

struct pc_redis_conn {
    struct event_base *base; /* borrowed */
    struct pc_redis_url url;
    struct pc_redis_conn_opts opts;
    char name[32];
    pc_redis_state_cb *on_state;
    void *state_ctx;

    struct pc_redis_node *single; /* standalone: the one node */

    /* Cluster. */
    struct pc_redis_node *boot;
    unsigned boot_failures; /* before the first ready */
    struct cnode **nodes;   /* owned */
    size_t nnodes;
    size_t ncap;
    uint16_t slot_node[PC_CLUSTER_SLOTS]; /* index into nodes */
    bool have_table;
    bool ready; /* as last reported */
    bool ever_ready;
    bool closing;
    bool refreshing;
    uint64_t last_refresh_ms;
    unsigned rr;
    struct event *refresh_timer;
    struct event *gc_timer;
    struct creq *reqs;

    /* opts.ordered: requests wait in a FIFO and are released while they go
     * to the node of those in flight (or nothing is in flight). */
    struct creq *ord_head;
    struct creq *ord_tail;
    size_t ord_inflight;
    struct cnode *ord_node;
    struct event *ord_ev;
};

/* redis_conn_topo.c */

/* The node for a (created, connecting, when new); NULL when out of memory
 * or when the table is full. *idx (may be NULL): its index in c->nodes. */
struct cnode *rconn_node_get(struct pc_redis_conn *c, const struct pc_redis_addr *a, size_t *idx);
/* A refresh of the slot table soon (at most once per REFRESH_MIN_MS). */
void rconn_refresh_soon(struct pc_redis_conn *c);
/* Callbacks of the standalone node and of the boot node (ctx = c), and of
 * the refresh and node-removal timers (arg = c). */
void rconn_on_single_state(void *ctx, bool ready, const char *why);
void rconn_on_boot_state(void *ctx, bool ready, const char *why);
void rconn_on_refresh_timer(evutil_socket_t fd, short what, void *arg);
void rconn_on_gc_timer(evutil_socket_t fd, short what, void *arg);

/* redis_conn_req.c */

/* pc_redis__cmd_head_args on a cluster: the command is copied, routed by
 * its key's slot, and sent (never completed before this returns 0). */
int rconn_cluster_send(struct pc_redis_conn *c, size_t n_head, const char *const *head,
                       const size_t *head_lens, const struct pc_redis_args *tail,
                       uint32_t timeout_ms, pc_redis_reply_cb *cb, void *arg);
/* Frees r, then calls its callback with reply (NULL: failed). */
void rconn_creq_complete(struct creq *r, const redisReply *reply);
/* opts.ordered: the timer that releases the FIFO's head requests (arg = c). */
void rconn_on_ord_ev(evutil_socket_t fd, short what, void *arg);

#endif /* PEACE_REDIS_CONN_IMPL_H */
