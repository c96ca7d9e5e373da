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

#include "redis_conn_internal.h"
#include "redis_node.h"
#include "redis_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "peace/redis_cluster.h"

#define REDIRECTS_MAX    8
#define RETRIES_MAX      10
#define REFRESH_MS       5000
#define REFRESH_MIN_MS   250
#define WAIT_STEP_MS     10
#define ARGV_STACK       16
#define SLOTS_TIMEOUT_MS 5000

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

static void creq_send(struct creq *r);
static void refresh_soon(struct pc_redis_conn *c);
static void on_ord_ev(evutil_socket_t fd, short what, void *arg);

/* ------------------------------------------------------------------------ */
/* State                                                                     */

static void report(struct pc_redis_conn *c, bool ready, const char *why)
{
    if (c->closing) {
        return;
    }
    if (ready) {
        c->ever_ready = true;
    }
    c->ready = ready;
    if (c->on_state != NULL) {
        c->on_state(c->state_ctx, ready, why != NULL ? why : "");
    }
}

/*
 * Before the first ready: the table is known and every master connected.
 * After: no master of the table has failed. A master met for the first time
 * (after a failover or a resharding to a new node) is still connecting:
 * requests wait for it, and nothing sent was lost, so the owner need not
 * hear "down" (the worker gives up its running executions on "down").
 */
static bool all_masters_ready(const struct pc_redis_conn *c)
{
    if (!c->have_table) {
        return false;
    }
    for (size_t i = 0; i < c->nnodes; i++) {
        const struct cnode *n = c->nodes[i];

        if (n->in_table && (c->ever_ready ? n->failed : !pc_redis_node_ready(n->node))) {
            return false;
        }
    }
    return true;
}

/* Reports a change of the cluster-wide readiness. */
static void update_ready(struct pc_redis_conn *c, const char *why)
{
    bool now = all_masters_ready(c);

    if (now != c->ready) {
        report(c, now, now ? "" : why);
    }
}

static void on_node_state(void *ctx, bool ready, const char *why)
{
    struct cnode *n = ctx;
    struct pc_redis_conn *c = n->c;
    char text[PC__WHY_MAX];

    n->failed = !ready;
    if (!ready) {
        n->subscribed = false; /* subscriptions end with the connection */
        (void)snprintf(text, sizeof(text), "%.64s:%d: %.100s", n->addr.host, n->addr.port, why);
        refresh_soon(c);
        update_ready(c, text);
        return;
    }
    update_ready(c, "");
}

static void on_single_state(void *ctx, bool ready, const char *why)
{
    struct pc_redis_conn *c = ctx;

    report(c, ready, why);
}

/* ------------------------------------------------------------------------ */
/* Nodes                                                                     */

static struct cnode *node_find(struct pc_redis_conn *c, const struct pc_redis_addr *a, size_t *idx)
{
    for (size_t i = 0; i < c->nnodes; i++) {
        if (c->nodes[i]->addr.port == a->port && strcmp(c->nodes[i]->addr.host, a->host) == 0) {
            if (idx != NULL) {
                *idx = i;
            }
            return c->nodes[i];
        }
    }
    return NULL;
}

/* The node for a (created, connecting, when new); NULL when out of memory
 * or when the table is full. */
static struct cnode *node_get(struct pc_redis_conn *c, const struct pc_redis_addr *a, size_t *idx)
{
    struct cnode *n = node_find(c, a, idx);
    struct pc_redis_url u;
    struct pc_redis_conn_opts o;

    if (n != NULL) {
        return n;
    }
    if (c->nnodes >= PC_CLUSTER_NODES_MAX) {
        return NULL;
    }
    if (c->nnodes == c->ncap) {
        size_t cap = c->ncap == 0 ? 8 : c->ncap * 2;
        struct cnode **p = realloc(c->nodes, cap * sizeof(*p));

        if (p == NULL) {
            return NULL;
        }
        c->nodes = p;
        c->ncap = cap;
    }
    n = calloc(1, sizeof(*n));
    if (n == NULL) {
        return NULL;
    }
    n->c = c;
    n->addr = *a;
    u = c->url;
    u.cluster = false;
    memcpy(u.host, a->host, sizeof(u.host));
    u.port = a->port;
    u.seeds[0] = *a;
    u.nseeds = 1;
    o = c->opts;
    o.name = c->name;
    o.on_state = on_node_state;
    o.state_ctx = n;
    if (pc_redis_node_create(c->base, &u, &o, &n->node, NULL) != 0) {
        memset(&u, 0, sizeof(u));
        free(n);
        return NULL;
    }
    memset(&u, 0, sizeof(u));
    if (idx != NULL) {
        *idx = c->nnodes;
    }
    c->nodes[c->nnodes++] = n;
    return n;
}

/* Removes nodes no table names and nothing waits on (from a timer only:
 * never under one of their callbacks). Indexes in slot_node are rebuilt. */
static void on_gc_timer(evutil_socket_t fd, short what, void *arg)
{
    struct pc_redis_conn *c = arg;
    size_t *map = NULL;
    size_t kept = 0;

    (void)fd;
    (void)what;
    map = calloc(c->nnodes + 1, sizeof(*map));
    if (map == NULL) {
        return;
    }
    for (size_t i = 0; i < c->nnodes; i++) {
        struct cnode *n = c->nodes[i];

        if (n->in_table || n->inflight > 0 || n->subscribed) {
            map[i] = kept;
            c->nodes[kept++] = n;
        } else {
            map[i] = SIZE_MAX;
            pc_redis_node_destroy(n->node);
            free(n);
        }
    }
    for (size_t s = 0; s < PC_CLUSTER_SLOTS; s++) {
        if (c->slot_node[s] != PC_CLUSTER_NO_NODE) {
            size_t m = map[c->slot_node[s]];

            c->slot_node[s] = m == SIZE_MAX ? PC_CLUSTER_NO_NODE : (uint16_t)m;
        }
    }
    c->nnodes = kept;
    free(map);
    update_ready(c, "a master left the cluster");
}

/* ------------------------------------------------------------------------ */
/* Topology                                                                  */

struct slots_call {
    struct pc_redis_conn *c;
    struct pc_redis_addr asked;
    struct cnode *via; /* NULL: boot */
};

static void apply_topology(struct pc_redis_conn *c, const struct pc_cluster_topo *t)
{
    size_t *idx = calloc(t->nnodes + 1, sizeof(*idx));
    struct timeval now = {0, 0};

    if (idx == NULL) {
        return;
    }
    for (size_t i = 0; i < t->nnodes; i++) {
        if (node_get(c, &t->nodes[i], &idx[i]) == NULL) {
            free(idx);
            return; /* out of memory: keep the old table, retry later */
        }
    }
    for (size_t i = 0; i < c->nnodes; i++) {
        c->nodes[i]->in_table = false;
    }
    for (size_t i = 0; i < t->nnodes; i++) {
        c->nodes[idx[i]]->in_table = true;
    }
    for (size_t s = 0; s < PC_CLUSTER_SLOTS; s++) {
        c->slot_node[s] = t->slot_node[s] == PC_CLUSTER_NO_NODE ? PC_CLUSTER_NO_NODE
                                                                : (uint16_t)idx[t->slot_node[s]];
    }
    free(idx);
    c->have_table = true;
    (void)evtimer_add(c->gc_timer, &now);
    update_ready(c, "a master is not connected");
}

static void on_slots_reply(void *arg, const redisReply *reply)
{
    struct slots_call *sc = arg;
    struct pc_redis_conn *c = sc->c;
    struct pc_cluster_topo *t = NULL;
    struct pc_err err;
    char text[PC__WHY_MAX];

    if (sc->via != NULL && sc->via->inflight > 0) {
        sc->via->inflight--;
    }
    c->refreshing = false;
    if (c->closing) {
        free(sc);
        return;
    }
    pc_err_clear(&err);
    if (reply == NULL) {
        free(sc);
        return; /* the node's own state reports the failure */
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        pc_redis_reply_text(reply, text, sizeof(text) - 40);
        (void)pc_err_set(&err, PC_EREDIS, "CLUSTER SLOTS refused (%s)", text);
    } else {
        t = malloc(sizeof(*t));
        if (t == NULL) {
            (void)pc_err_set(&err, PC_ENOMEM, "out of memory");
        } else if (pc_cluster_parse_slots(reply, &sc->asked, t, &err) == 0) {
            if (t->covered == 0) {
                (void)pc_err_set(&err, PC_EREDIS, "the cluster serves no slot yet");
            } else {
                apply_topology(c, t);
            }
        }
    }
    free(t);
    free(sc);
    if (err.code != 0 && !c->ever_ready) {
        (void)snprintf(text, sizeof(text), "not a usable Redis Cluster: %.150s", err.msg);
        report(c, false, text);
    }
}

static void refresh_now(struct pc_redis_conn *c)
{
    static const char *const argv[2] = {"CLUSTER", "SLOTS"};
    static const size_t lens[2] = {7, 5};
    struct slots_call *sc = NULL;
    struct cnode *via = NULL;
    int rc;

    if (c->refreshing || c->closing) {
        return;
    }
    if (!pc_redis_node_ready(c->boot)) {
        /* Any connected master can answer while the seeds are away. */
        for (size_t i = 0; i < c->nnodes && via == NULL; i++) {
            if (!c->nodes[i]->subscribed && pc_redis_node_ready(c->nodes[i]->node)) {
                via = c->nodes[i];
            }
        }
        if (via == NULL) {
            return; /* the boot node's ready state triggers the next one */
        }
    }
    sc = calloc(1, sizeof(*sc));
    if (sc == NULL) {
        return;
    }
    sc->c = c;
    sc->via = via;
    sc->asked = *(via != NULL ? &via->addr : pc_redis_node_addr(c->boot));
    rc = pc_redis_node_cmd(via != NULL ? via->node : c->boot, 2, argv, lens, SLOTS_TIMEOUT_MS,
                           on_slots_reply, sc);
    if (rc != 0) {
        free(sc);
        return;
    }
    if (via != NULL) {
        via->inflight++;
    }
    c->refreshing = true;
    c->last_refresh_ms = pc__mono_ms();
}

/* The periodic refresh, and the throttled one redirects ask for. */
static void on_refresh_timer(evutil_socket_t fd, short what, void *arg)
{
    struct pc_redis_conn *c = arg;
    struct timeval tv = pc__ms_tv(REFRESH_MS);

    (void)fd;
    (void)what;
    refresh_now(c);
    (void)evtimer_add(c->refresh_timer, &tv);
}

static void refresh_soon(struct pc_redis_conn *c)
{
    uint64_t now = pc__mono_ms();
    uint64_t next = c->last_refresh_ms + REFRESH_MIN_MS;
    struct timeval tv = pc__ms_tv(next > now ? (uint32_t)(next - now) : 0);
    struct timeval left;

    if (c->closing || c->single != NULL) {
        return;
    }
    /* Only ever brings the periodic timer forward. */
    if (evtimer_pending(c->refresh_timer, &left)) {
        struct timeval now_tv;
        struct timeval due;

        (void)event_base_gettimeofday_cached(c->base, &now_tv);
        evutil_timeradd(&now_tv, &tv, &due);
        if (evutil_timercmp(&left, &due, <=)) {
            return;
        }
    }
    (void)evtimer_add(c->refresh_timer, &tv);
}

static void on_boot_state(void *ctx, bool ready, const char *why)
{
    struct pc_redis_conn *c = ctx;

    if (ready) {
        c->boot_failures = 0;
        refresh_now(c);
        return;
    }
    /* Before the first ready, every seed gets its try before the owner
     * hears that the cluster cannot be reached. */
    c->boot_failures++;
    if (!c->ever_ready &&
        c->boot_failures % (unsigned)(c->url.nseeds > 0 ? c->url.nseeds : 1) == 0) {
        report(c, false, why);
    }
}

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

static void creq_complete(struct creq *r, const redisReply *reply)
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
            refresh_soon(c);
        }
        creq_complete(r, reply);
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
            n = node_get(c, &d.addr, &idx);
            if (n == NULL) {
                break;
            }
            n->in_table = true;
            c->slot_node[d.slot] = (uint16_t)idx;
            refresh_soon(c);
        }
        creq_send(r);
        return;
    case PC_CLUSTER_TRYAGAIN:
    case PC_CLUSTER_CLUSTERDOWN:
        if (r->retries >= RETRIES_MAX) {
            break;
        }
        if (d.kind == PC_CLUSTER_CLUSTERDOWN) {
            refresh_soon(c);
        }
        creq_later(r, pc_cluster_retry_delay_ms(r->retries++));
        return;
    case PC_CLUSTER_REPLY:
        break;
    }
    creq_complete(r, reply);
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
        return node_get(c, &r->ask_addr, NULL);
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
            creq_complete(r, NULL);
            return;
        }
        if (n == NULL) {
            refresh_soon(c);
        }
        creq_later(r, WAIT_STEP_MS);
        return;
    }
    if (r->asking) {
        /* Back to back on one connection: ASKING covers the next command only. */
        r->asking = false;
        if (pc_redis_node_cmd(n->node, 1, asking, asking_len, r->timeout_ms, on_ignore, NULL) !=
            0) {
            creq_complete(r, NULL);
            return;
        }
    }
    rc = pc_redis_node_cmd_head_args(n->node, 0, NULL, NULL, &r->args, r->timeout_ms, on_creq_reply,
                                     r);
    if (rc != 0) {
        creq_complete(r, NULL);
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

static int cluster_send(struct pc_redis_conn *c, size_t n_head, const char *const *head,
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
static void on_ord_ev(evutil_socket_t fd, short what, void *arg)
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
        o.on_state = on_single_state;
        o.state_ctx = c;
        rc = pc_redis_node_create(base, url, &o, &c->single, err);
        if (rc != 0) {
            free(c);
            return rc;
        }
        *out = c;
        return 0;
    }
    c->refresh_timer = evtimer_new(base, on_refresh_timer, c);
    c->gc_timer = evtimer_new(base, on_gc_timer, c);
    c->ord_ev = evtimer_new(base, on_ord_ev, c);
    if (c->refresh_timer == NULL || c->gc_timer == NULL || c->ord_ev == NULL) {
        pc_redis_conn_destroy(c);
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    o.on_state = on_boot_state;
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
        creq_complete(c->reqs, NULL);
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
    return cluster_send(c, (size_t)argc, argv, argvlen, NULL, timeout_ms, cb, arg);
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
    return cluster_send(c, n_head, head, head_lens, tail, timeout_ms, cb, arg);
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
