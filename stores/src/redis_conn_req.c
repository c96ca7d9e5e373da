/*
 * redis_conn_req.c - the requests of redis_conn.c on a Redis Cluster (its
 * design is there): each command copied, routed by the slot of its key,
 * sent when its node is ready, redirected (MOVED, ASK) or retried
 * (TRYAGAIN, CLUSTERDOWN) a bounded number of times, and with opts.ordered
 * released in the order it was sent.
 */
#include "redis_conn_impl.h"
#include "redis_util.h"

#include <stdlib.h>
#include <string.h>

#define REDIRECTS_MAX 8
#define RETRIES_MAX   10
#define WAIT_STEP_MS  10
#define ARGV_STACK    16

static void creq_send(struct creq *r);

/* ------------------------------------------------------------------------ */
/* Requests                                                                  */

static void creq_free(struct creq *r)
{
    struct pc_redis_conn *c = r->c;

    if (r->released) {
        /* The next requests may go now (from the loop: never nested). */
        struct timeval now = {0, 0};

        c->ord_inflight--;
        if (c->ord_head != NULL && !c->closing) {
            (void)evtimer_add(c->ord_ev, &now);
        }
    }
    PC__DLIST_UNLINK(&c->reqs, r);
    (void)event_del(r->timer);
    pc_redis_args_cleanup(&r->args);
    free(r);
}

void rconn_creq_complete(struct creq *r, const redisReply *reply)
{
    pc_redis_reply_cb *cb = r->cb;
    void *arg = r->arg;

    creq_free(r);
    cb(arg, reply);
}

static void creq_later(struct creq *r, uint32_t ms)
{
    struct timeval tv = pc__ms_tv(ms);

    (void)evtimer_add(r->timer, &tv);
}

static void on_creq_reply(void *arg, const redisReply *reply)
{
    struct creq *r = arg;
    struct pc_redis_conn *c = r->c;
    struct cnode *n = r->sent_to;
    struct pc_cluster_redirect d;
    size_t idx = 0;

    r->sent_to = NULL;
    if (n->inflight > 0) {
        n->inflight--;
    }
    if (reply == NULL || c->closing) {
        if (!c->closing) {
            rconn_refresh_soon(c);
        }
        rconn_creq_complete(r, reply);
        return;
    }
    d = pc_cluster_classify(reply, &n->addr);
    switch (d.kind) {
    case PC_CLUSTER_MOVED:
    case PC_CLUSTER_ASK:
        if (++r->redirects > REDIRECTS_MAX) {
            break;
        }
        if (d.kind == PC_CLUSTER_ASK) {
            r->asking = true;
            r->ask_addr = d.addr;
        } else {
            n = rconn_node_get(c, &d.addr, &idx);
            if (n == NULL) {
                break;
            }
            n->in_table = true;
            c->slot_node[d.slot] = (uint16_t)idx;
            rconn_refresh_soon(c);
        }
        creq_send(r);
        return;
    case PC_CLUSTER_TRYAGAIN:
    case PC_CLUSTER_CLUSTERDOWN:
        if (r->retries >= RETRIES_MAX) {
            break;
        }
        if (d.kind == PC_CLUSTER_CLUSTERDOWN) {
            rconn_refresh_soon(c);
        }
        creq_later(r, pc_cluster_retry_delay_ms(r->retries++));
        return;
    case PC_CLUSTER_REPLY:
        break;
    }
    rconn_creq_complete(r, reply);
}

static void on_ignore(void *arg, const redisReply *reply)
{
    (void)arg;
    (void)reply;
}

/* The node a request goes to now, or NULL to wait. */
static struct cnode *creq_target(struct creq *r)
{
    struct pc_redis_conn *c = r->c;

    if (r->asking) {
        return rconn_node_get(c, &r->ask_addr, NULL);
    }
    if (r->key >= 0) {
        uint16_t i = c->have_table ? c->slot_node[r->slot] : PC_CLUSTER_NO_NODE;

        return i == PC_CLUSTER_NO_NODE ? NULL : c->nodes[i];
    }
    for (size_t k = 0; k < c->nnodes; k++) {
        struct cnode *n = c->nodes[(c->rr + k) % c->nnodes];

        if (n->in_table && !n->subscribed && pc_redis_node_ready(n->node)) {
            c->rr = (unsigned)((c->rr + k + 1) % c->nnodes);
            return n;
        }
    }
    return NULL;
}

static void creq_send(struct creq *r)
{
    struct pc_redis_conn *c = r->c;
    struct cnode *n = creq_target(r);
    static const char *const asking[1] = {"ASKING"};
    static const size_t asking_len[1] = {6};
    int rc;

    if (n == NULL || !pc_redis_node_ready(n->node) || n->subscribed) {
        if (pc__mono_ms() >= r->deadline_ms) {
            rconn_creq_complete(r, NULL);
            return;
        }
        if (n == NULL) {
            rconn_refresh_soon(c);
        }
        creq_later(r, WAIT_STEP_MS);
        return;
    }
    if (r->asking) {
        /* Back to back on one connection: ASKING covers the next command only. */
        r->asking = false;
        if (pc_redis_node_cmd(n->node, 1, asking, asking_len, r->timeout_ms, on_ignore, NULL) !=
            0) {
            rconn_creq_complete(r, NULL);
            return;
        }
    }
    rc = pc_redis_node_cmd_head_args(n->node, 0, NULL, NULL, &r->args, r->timeout_ms, on_creq_reply,
                                     r);
    if (rc != 0) {
        rconn_creq_complete(r, NULL);
        return;
    }
    r->sent_to = n;
    n->inflight++;
}

static void on_creq_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    creq_send(arg);
}

/* The routing key of r's command, read from its arguments. */
static void creq_route(struct creq *r)
{
    const char *argv_s[ARGV_STACK];
    size_t lens_s[ARGV_STACK];
    size_t n = r->args.n;
    const char **argv = argv_s;
    size_t *lens = lens_s;
    bool heap = false;

    if (n > ARGV_STACK) {
        argv = malloc(n * sizeof(*argv));
        lens = malloc(n * sizeof(*lens));
        heap = true;
        if (argv == NULL || lens == NULL) {
            /* Route by the first argument: a wrong guess costs one MOVED. */
            free(argv);
            free(lens);
            r->key = n > 1 ? 1 : -1;
            if (r->key == 1) {
                r->slot = pc_cluster_key_slot(r->args.data + r->args.off[1], r->args.lens[1]);
            }
            return;
        }
    }
    for (size_t i = 0; i < n; i++) {
        argv[i] = r->args.data + r->args.off[i];
        lens[i] = r->args.lens[i];
    }
    r->key = pc_cluster_cmd_key((int)n, argv, lens);
    if (r->key >= 0) {
        r->slot = pc_cluster_key_slot(argv[r->key], lens[r->key]);
    }
    if (heap) {
        free(argv);
        free(lens);
    }
}

int rconn_cluster_send(struct pc_redis_conn *c, size_t n_head, const char *const *head,
                       const size_t *head_lens, const struct pc_redis_args *tail,
                       uint32_t timeout_ms, pc_redis_reply_cb *cb, void *arg)
{
    size_t head_event = (sizeof(struct creq) + 15u) & ~(size_t)15u;
    struct creq *r = NULL;
    int rc;

    if (c->closing) {
        return PC_EREDIS;
    }
    r = calloc(1, head_event + event_get_struct_event_size());
    if (r == NULL) {
        return PC_ENOMEM;
    }
    r->timer = (struct event *)(void *)((char *)r + head_event);
    if (evtimer_assign(r->timer, c->base, on_creq_timer, r) != 0) {
        free(r);
        return PC_ENOMEM;
    }
    pc_redis_args_init(&r->args);
    for (size_t i = 0; i < n_head; i++) {
        pc_redis_args_add(&r->args, head[i], head_lens[i]);
    }
    for (size_t i = 0; tail != NULL && i < tail->n; i++) {
        pc_redis_args_add(&r->args, tail->data + tail->off[i], tail->lens[i]);
    }
    rc = pc_redis_args_error(&r->args);
    if (rc != 0) {
        pc_redis_args_cleanup(&r->args);
        free(r);
        return rc;
    }
    r->c = c;
    r->cb = cb;
    r->arg = arg;
    r->timeout_ms = timeout_ms;
    r->wait_ms = timeout_ms != 0 ? timeout_ms
                                 : (c->opts.cmd_timeout_ms != 0 ? c->opts.cmd_timeout_ms : 10000);
    r->deadline_ms = pc__mono_ms() + r->wait_ms;
    creq_route(r);
    r->next = c->reqs;
    if (c->reqs != NULL) {
        c->reqs->prev = r;
    }
    c->reqs = r;
    if (c->opts.ordered) {
        struct timeval now = {0, 0};

        if (c->ord_tail != NULL) {
            c->ord_tail->onext = r;
        } else {
            c->ord_head = r;
        }
        c->ord_tail = r;
        (void)evtimer_add(c->ord_ev, &now);
        return 0;
    }
    /* The callback never runs before the caller gets 0: send from a timer
     * when no node can take it now (creq_send would complete it at once). */
    {
        struct cnode *n = creq_target(r);

        if (n != NULL && pc_redis_node_ready(n->node) && !n->subscribed && !r->asking) {
            creq_send(r);
        } else {
            creq_later(r, 0);
        }
    }
    return 0;
}

/* Releases the FIFO's head requests that may go now: while nothing is in
 * flight, or they go to the node of those in flight. A request without a
 * node yet goes alone. */
void rconn_on_ord_ev(evutil_socket_t fd, short what, void *arg)
{
    struct pc_redis_conn *c = arg;

    (void)fd;
    (void)what;
    while (c->ord_head != NULL && !c->closing) {
        struct creq *r = c->ord_head;
        struct cnode *n =
            r->key >= 0 && c->have_table && c->slot_node[r->slot] != PC_CLUSTER_NO_NODE
                ? c->nodes[c->slot_node[r->slot]]
                : NULL;

        if (c->ord_inflight > 0 && (n == NULL || n != c->ord_node)) {
            return;
        }
        c->ord_head = r->onext;
        if (c->ord_head == NULL) {
            c->ord_tail = NULL;
        }
        r->onext = NULL;
        r->released = true;
        c->ord_inflight++;
        c->ord_node = n;
        r->deadline_ms = pc__mono_ms() + r->wait_ms; /* from the release */
        creq_later(r, 0);
        if (n == NULL) {
            return;
        }
    }
}
