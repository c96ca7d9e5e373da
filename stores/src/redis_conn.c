/*
 * redis_conn.c - a Redis connection that routes: one node on a standalone
 * Redis, one node per master on a Redis Cluster (redis_node.c holds each).
 *
 * Standalone (redis://, unix://): every call goes straight to the one node;
 * nothing is copied or looked at on the way.
 *
 * Cluster (redis+cluster://). Design:
 *   - a "boot" node dials the seeds in turn and asks CLUSTER SLOTS; the reply
 *     (pc_cluster_parse_slots) gives the masters and the slot table. A node
 *     (one async context) exists per master named by the table or by a
 *     redirect, created when first named, removed (from a timer, never
 *     inside a callback) once no table names it and nothing waits on it;
 *   - a command is copied into a request, routed by the slot of its key
 *     (pc_cluster_cmd_key, pc_cluster_key_slot) or, keyless, to any ready
 *     master, and its reply classified (pc_cluster_classify): MOVED patches
 *     the slot and resends there (and asks for one throttled full refresh),
 *     ASK sends ASKING and the command back to back to the named node
 *     without touching the table, TRYAGAIN and CLUSTERDOWN retry after a
 *     growing delay (CLUSTERDOWN also refreshes). At most REDIRECTS_MAX
 *     redirects and RETRIES_MAX retries: then the caller gets the error;
 *   - a request whose node is not connected yet waits for it, up to its
 *     timeout, then completes with NULL like a broken connection;
 *   - the table is refreshed every REFRESH_MS, and soon (at most once per
 *     REFRESH_MIN_MS) after a redirect, a failed command or a node going
 *     down;
 *   - the connection is first ready when the table is known and every
 *     master in it is connected. A master's connection breaking makes it
 *     not ready (the owner sees what it sees when a standalone Redis goes
 *     away: commands in flight may be lost) until it comes back or a
 *     refresh replaces it (failover); a master met for the first time
 *     while ready does not (nothing was lost; requests wait for it).
 * With opts.ordered, commands also run in the order they were sent across
 * masters (as on one server): a command waits until the commands in flight
 * on another master have replied; commands to one master still pipeline.
 * Redirects and retries can reorder commands while slots migrate.
 * Subscriptions go to the master of the channel's slot: with classic
 * PUBLISH, Redis Cluster forwards every message to every node, so any node
 * would do; the slot only spreads subscribers. NOSCRIPT needs no per-node
 * state here: scripts.c resends with EVAL, which loads the script on the
 * node that lacked it.
 */
#include "peace/redis_conn.h"

#include "redis_conn_impl.h"
#include "redis_conn_internal.h"
#include "redis_node.h"
#include "redis_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/redis_cluster.h"

/* ------------------------------------------------------------------------ */
/* Public calls                                                              */

int pc_redis_conn_create(struct event_base *base, const struct pc_redis_url *url,
                         const struct pc_redis_conn_opts *opts, struct pc_redis_conn **out,
                         struct pc_err *err)
{
    struct pc_redis_conn *c = NULL;
    struct pc_redis_conn_opts o;
    int rc;

    c = pc__redis_conn_alloc(sizeof(*c), base, url, opts, out, &rc, err);
    if (c == NULL) {
        return rc;
    }
    c->base = base;
    c->url = *url;
    c->opts = *opts;
    (void)snprintf(c->name, sizeof(c->name), "%s", opts->name != NULL ? opts->name : "redis");
    c->opts.name = c->name;
    c->on_state = opts->on_state;
    c->state_ctx = opts->state_ctx;
    for (size_t s = 0; s < PC_CLUSTER_SLOTS; s++) {
        c->slot_node[s] = PC_CLUSTER_NO_NODE;
    }
    o = c->opts;
    if (!url->cluster) {
        o.on_state = rconn_on_single_state;
        o.state_ctx = c;
        rc = pc_redis_node_create(base, url, &o, &c->single, err);
        if (rc != 0) {
            free(c);
            return rc;
        }
        *out = c;
        return 0;
    }
    c->refresh_timer = evtimer_new(base, rconn_on_refresh_timer, c);
    c->gc_timer = evtimer_new(base, rconn_on_gc_timer, c);
    c->ord_ev = evtimer_new(base, rconn_on_ord_ev, c);
    if (c->refresh_timer == NULL || c->gc_timer == NULL || c->ord_ev == NULL) {
        pc_redis_conn_destroy(c);
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    o.on_state = rconn_on_boot_state;
    o.state_ctx = c;
    rc = pc_redis_node_create(base, url, &o, &c->boot, err);
    if (rc != 0) {
        pc_redis_conn_destroy(c);
        return rc;
    }
    {
        struct timeval tv = pc__ms_tv(REFRESH_MS);

        (void)evtimer_add(c->refresh_timer, &tv);
    }
    *out = c;
    return 0;
}

void pc_redis_conn_destroy(struct pc_redis_conn *c)
{
    if (c == NULL) {
        return;
    }
    c->closing = true;
    pc_redis_node_destroy(c->single);
    pc_redis_node_destroy(c->boot);
    /* Nodes first: their pending replies complete the requests with NULL. */
    for (size_t i = 0; i < c->nnodes; i++) {
        pc_redis_node_destroy(c->nodes[i]->node);
        c->nodes[i]->node = NULL;
    }
    c->ord_head = NULL; /* its requests are in reqs too */
    c->ord_tail = NULL;
    while (c->reqs != NULL) {
        rconn_creq_complete(c->reqs, NULL);
    }
    for (size_t i = 0; i < c->nnodes; i++) {
        free(c->nodes[i]);
    }
    free(c->nodes);
    if (c->refresh_timer != NULL) {
        event_free(c->refresh_timer);
    }
    if (c->gc_timer != NULL) {
        event_free(c->gc_timer);
    }
    if (c->ord_ev != NULL) {
        event_free(c->ord_ev);
    }
    memset(&c->url, 0, sizeof(c->url));
    free(c);
}

bool pc_redis_conn_ready(const struct pc_redis_conn *c)
{
    if (c == NULL) {
        return false;
    }
    return c->single != NULL ? pc_redis_node_ready(c->single) : c->ready && !c->closing;
}

bool pc_redis_conn_is_cluster(const struct pc_redis_conn *c)
{
    return c != NULL && c->single == NULL;
}

void pc_redis_conn_reset(struct pc_redis_conn *c, const char *why)
{
    if (c == NULL) {
        return;
    }
    if (c->single != NULL) {
        pc_redis_node_reset(c->single, why);
        return;
    }
    for (size_t i = 0; i < c->nnodes; i++) {
        pc_redis_node_reset(c->nodes[i]->node, why);
    }
}

int pc_redis_cmd(struct pc_redis_conn *c, int argc, const char *const *argv, const size_t *argvlen,
                 uint32_t timeout_ms, pc_redis_reply_cb *cb, void *arg)
{
    if (c == NULL || argc <= 0 || argv == NULL || argvlen == NULL || cb == NULL) {
        return PC_EINVAL;
    }
    if (c->single != NULL) {
        return pc_redis_node_cmd(c->single, argc, argv, argvlen, timeout_ms, cb, arg);
    }
    return rconn_cluster_send(c, (size_t)argc, argv, argvlen, NULL, timeout_ms, cb, arg);
}

int pc_redis__cmd_head_args(struct pc_redis_conn *c, size_t n_head, const char *const *head,
                            const size_t *head_lens, const struct pc_redis_args *tail,
                            uint32_t timeout_ms, pc_redis_reply_cb *cb, void *arg)
{
    size_t total;

    if (c == NULL || cb == NULL || (n_head > 0 && (head == NULL || head_lens == NULL)) ||
        (tail != NULL && tail->rc != 0)) {
        return tail != NULL && tail->rc != 0 ? tail->rc : PC_EINVAL;
    }
    if (c->single != NULL) {
        return pc_redis_node_cmd_head_args(c->single, n_head, head, head_lens, tail, timeout_ms, cb,
                                           arg);
    }
    total = n_head + (tail != NULL ? tail->n : 0);
    if (total == 0 || total > (size_t)INT32_MAX) {
        return PC_EINVAL;
    }
    return rconn_cluster_send(c, n_head, head, head_lens, tail, timeout_ms, cb, arg);
}

int pc_redis_subscribe(struct pc_redis_conn *c, int argc, const char *const *argv,
                       const size_t *argvlen, pc_redis_reply_cb *cb, void *arg)
{
    struct cnode *n = NULL;
    uint16_t i;
    int rc;

    if (c == NULL || argc != 2 || argv == NULL || argvlen == NULL || cb == NULL) {
        return PC_EINVAL;
    }
    if (c->single != NULL) {
        return pc_redis_node_subscribe(c->single, argc, argv, argvlen, cb, arg);
    }
    if (!c->ready) {
        return PC_EREDIS;
    }
    i = c->slot_node[pc_cluster_key_slot(argv[1], argvlen[1])];
    if (i == PC_CLUSTER_NO_NODE) {
        return PC_EREDIS;
    }
    n = c->nodes[i];
    if (!pc_redis_node_ready(n->node)) {
        /* Still connecting: any connected master hears every PUBLISH too. */
        n = NULL;
        for (size_t k = 0; k < c->nnodes && n == NULL; k++) {
            if (c->nodes[k]->in_table && pc_redis_node_ready(c->nodes[k]->node)) {
                n = c->nodes[k];
            }
        }
        if (n == NULL) {
            return PC_EREDIS;
        }
    }
    rc = pc_redis_node_subscribe(n->node, argc, argv, argvlen, cb, arg);
    if (rc == 0) {
        n->subscribed = true;
    }
    return rc;
}
