/*
 * redis_conn_topo.c - the cluster side of redis_conn.c (its design is
 * there): the readiness reported to the owner, one node per master, and the
 * slot table (CLUSTER SLOTS through the boot node or any connected master,
 * refreshed periodically and soon after a redirect or a failure).
 */
#include "redis_conn_impl.h"
#include "redis_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REFRESH_MIN_MS   250
#define SLOTS_TIMEOUT_MS 5000

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
        rconn_refresh_soon(c);
        update_ready(c, text);
        return;
    }
    update_ready(c, "");
}

void rconn_on_single_state(void *ctx, bool ready, const char *why)
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
struct cnode *rconn_node_get(struct pc_redis_conn *c, const struct pc_redis_addr *a, size_t *idx)
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
void rconn_on_gc_timer(evutil_socket_t fd, short what, void *arg)
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
        if (rconn_node_get(c, &t->nodes[i], &idx[i]) == NULL) {
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
void rconn_on_refresh_timer(evutil_socket_t fd, short what, void *arg)
{
    struct pc_redis_conn *c = arg;
    struct timeval tv = pc__ms_tv(REFRESH_MS);

    (void)fd;
    (void)what;
    refresh_now(c);
    (void)evtimer_add(c->refresh_timer, &tv);
}

void rconn_refresh_soon(struct pc_redis_conn *c)
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

void rconn_on_boot_state(void *ctx, bool ready, const char *why)
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
