/*
 * store_redis.c - the states store over Redis hashes.
 *
 * Design. A flow's states are two hashes in the profile's slot, item id ->
 * msgpack state, and a third, item id -> item record (type, params, deps as
 * last applied, schemas/). Reading is one HGETALL, decoded against the flow
 * (ids the flow does not know are ignored, nil means "no state");
 * read_obsolete reads the current and records hashes for the ids the flow
 * does not know, and the records of the ids it knows. Writing is the `states_write` script: it
 * checks the profile lock first, so a worker that lost its lock (its execution was taken over)
 * cannot overwrite what the new owner wrote; a whole-map write sets every
 * item of the flow in one script (so readers never see a mix of two maps)
 * and leaves other ids alone: they are obsolete items, removed only once
 * cleaned.
 *
 * Each operation carries what its reply needs (flow, out map, callback) in
 * its own allocation; the store object only provides the names and the lock
 * value when the operation is sent.
 *
 * Writes issued together are sent together: with an event base, a write is
 * queued and the queue goes out as one `states_write` call (one fence check,
 * current and goal hashes alike) from a zero-delay event, i.e. once the
 * caller's callback returned. A discover writes both maps with one call; an
 * apply block's items that complete in one loop turn share one. A read, a
 * write for another flow, pc_store_redis_flush and destroy send the queue
 * first, so Redis applies everything in the order it was issued.
 */
#include "peace/store_redis.h"
#include "peace/states_order.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/keys.h"
#include "peace/msg.h"

#define LOCK_VALUE_MAX 128

struct store_op {
    const struct pc_flow *flow;
    enum pc_states_kind kind;
    struct pc_states *out; /* read only */
    pc_store_done_cb *done;
    void *arg;
    pc_store_redis_fenced_cb *on_fenced; /* writes: the store's hook, copied */
    void *fenced_ctx;
    struct store_op *next; /* in a batch of writes */
};

/* Writes queued for one states_write call (one flow). */
struct write_batch {
    const struct pc_flow *flow;  /* NULL = empty */
    struct pc_redis_args groups; /* [kind_key_index mode n [item state]...]... */
    struct store_op *head;       /* completed in order with the call's result */
    struct store_op *tail;
};

struct pc_store_redis {
    struct pc_redis_conn *conn;
    struct pc_scripts *scripts;
    char prefix[PC_PREFIX_MAX + 1];
    char lock_value[LOCK_VALUE_MAX + 1]; /* "" = none */
    uint32_t timeout_ms;
    pc_store_redis_fenced_cb *on_fenced;
    void *fenced_ctx;
    struct event *send_ev; /* NULL: every write is sent at once */
    struct write_batch batch;
    bool order_sent; /* the flow's order key went out with a write */
};

static const uint8_t msgpack_nil = 0xc0;

static void batch_send(struct pc_store_redis *s);
static void on_send_ev(evutil_socket_t fd, short what, void *arg);

int pc_store_redis_create(const struct pc_store_redis_opts *opts, struct pc_store_redis **out,
                          struct pc_err *err)
{
    struct pc_store_redis *s = NULL;
    int rc;

    if (opts == NULL || opts->conn == NULL || opts->scripts == NULL || opts->prefix == NULL ||
        out == NULL) {
        return pc_err_set(err, PC_EINVAL, "redis store: missing argument");
    }
    rc = pc_prefix_check(opts->prefix, err);
    if (rc != 0) {
        return rc;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    s->conn = opts->conn;
    s->scripts = opts->scripts;
    s->timeout_ms = opts->timeout_ms;
    s->on_fenced = opts->on_fenced;
    s->fenced_ctx = opts->fenced_ctx;
    pc_redis_args_init(&s->batch.groups);
    if (opts->base != NULL) {
        s->send_ev = event_new(opts->base, -1, 0, on_send_ev, s);
        if (s->send_ev == NULL) {
            free(s);
            return pc_err_set(err, PC_ENOMEM, "out of memory");
        }
    }
    (void)snprintf(s->prefix, sizeof(s->prefix), "%s", opts->prefix);
    if (pc_store_redis_set_lock(s, opts->lock_value) != 0) {
        pc_store_redis_destroy(s);
        return pc_err_set(err, PC_ELIMIT, "redis store: lock value too long");
    }
    *out = s;
    return 0;
}

void pc_store_redis_destroy(struct pc_store_redis *s)
{
    if (s == NULL) {
        return;
    }
    batch_send(s); /* queued writes still complete */
    if (s->send_ev != NULL) {
        event_free(s->send_ev);
    }
    pc_redis_args_cleanup(&s->batch.groups);
    free(s);
}

void pc_store_redis_flush(struct pc_store_redis *s)
{
    if (s != NULL) {
        batch_send(s);
    }
}

int pc_store_redis_set_lock(struct pc_store_redis *s, const char *lock_value)
{
    if (lock_value == NULL) {
        s->lock_value[0] = '\0';
        return 0;
    }
    if (strlen(lock_value) > LOCK_VALUE_MAX) {
        return PC_ELIMIT;
    }
    (void)snprintf(s->lock_value, sizeof(s->lock_value), "%s", lock_value);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */

int pc_store_redis_decode(const redisReply *reply, const struct pc_flow *flow,
                          struct pc_states *out, struct pc_err *err)
{
    struct pc_states tmp = {0};
    int rc;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements % 2 != 0) {
        return pc_err_set(err, PC_ESCHEMA, "states: unexpected reply from Redis");
    }
    if (reply->elements == 0) {
        return pc_err_set(err, PC_ENOTFOUND, "no states stored");
    }
    if (out->n != flow->n_items) {
        return pc_err_set(err, PC_EINVAL, "states: map of %zu slots for %zu items", out->n,
                          flow->n_items);
    }
    rc = pc_states_init(&tmp, flow->n_items);
    if (rc != 0) {
        return pc_err_set(err, rc, "out of memory");
    }
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        const redisReply *k = reply->element[i];
        const redisReply *v = reply->element[i + 1];
        long idx;

        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
            rc = pc_err_set(err, PC_ESCHEMA, "states: entry %zu is not a string pair", i / 2);
            goto out;
        }
        idx = pc_flow_find(flow, k->str, k->len);
        if (idx < 0) {
            continue; /* an item no longer in the flow */
        }
        rc = msg_state_check(v->str, v->len, err);
        if (rc != 0) {
            pc_err_prefix(err, "states: item '%s'", flow->items[idx].id.s);
            goto out;
        }
        if (v->len == 1 && (uint8_t)v->str[0] == msgpack_nil) {
            pc_state_clear(&tmp.v[idx]);
            continue;
        }
        rc = pc_state_set(&tmp.v[idx], v->str, v->len);
        if (rc != 0) {
            (void)pc_err_set(err, rc, "states: item '%s': %s", flow->items[idx].id.s,
                             pc_strerror(rc));
            goto out;
        }
    }
    for (size_t i = 0; i < flow->n_items; i++) {
        pc_state_move(&out->v[i], &tmp.v[i]);
    }
out:
    pc_states_cleanup(&tmp);
    return rc;
}

static void on_read_reply(void *arg, const redisReply *reply)
{
    struct store_op *op = arg;
    struct pc_err err;
    int rc;

    pc_err_clear(&err);
    if (reply == NULL) {
        rc = pc_err_set(&err, PC_EREDIS, "Redis did not answer (connection lost or timed out)");
    } else if (reply->type == REDIS_REPLY_ERROR) {
        char text[160];

        pc_redis_reply_text(reply, text, sizeof(text));
        rc = pc_err_set(&err, PC_EREDIS, "Redis: %s", text);
    } else {
        rc = pc_store_redis_decode(reply, op->flow, op->out, &err);
    }
    op->done(op->arg, rc, &err);
    free(op);
}

static int store_read(void *ctx, enum pc_states_kind kind, const struct pc_flow *flow,
                      struct pc_states *out, pc_store_done_cb *done, void *arg)
{
    struct pc_store_redis *s = ctx;
    char key[PC_KEY_MAX];
    const char *argv[2];
    size_t lens[2];
    struct store_op *op = NULL;
    int n = pc_key_states(key, sizeof(key), s->prefix, flow->app.s, flow->profile.s, flow->flow.s,
                          kind);
    int rc;

    if (n < 0) {
        return n;
    }
    batch_send(s); /* writes issued before this read go first */
    op = calloc(1, sizeof(*op));
    if (op == NULL) {
        return PC_ENOMEM;
    }
    op->flow = flow;
    op->kind = kind;
    op->out = out;
    op->done = done;
    op->arg = arg;
    argv[0] = "HGETALL";
    lens[0] = 7;
    argv[1] = key;
    lens[1] = (size_t)n;
    rc = pc_redis_cmd(s->conn, 2, argv, lens, s->timeout_ms, on_read_reply, op);
    if (rc != 0) {
        free(op);
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */

/* The reply of one states_write call completes each of its writes, in order. */
static void on_write_reply(void *arg, const redisReply *reply)
{
    struct store_op *op = arg;
    struct pc_err err;
    char text[160];
    int rc = 0;

    pc_err_clear(&err);
    if (reply == NULL) {
        rc = pc_err_set(&err, PC_EREDIS, "Redis did not answer (connection lost or timed out)");
        /* Stored or not, nobody knows: the owner gives the execution up
         * (another attempt redoes it) rather than finish it on this error,
         * which on a cluster the meta's master would still accept. */
        if (op != NULL && op->on_fenced != NULL) {
            op->on_fenced(op->fenced_ctx, err.msg);
        }
    } else if (pc_redis_reply_is_error(reply, "FENCED")) {
        pc_redis_reply_text(reply, text, sizeof(text));
        rc = pc_err_set(&err, PC_EFENCED, "%s", text);
        /* Before the writers hear of it: the owner stops treating the
         * execution as its own before the engine reports the failure. */
        if (op != NULL && op->on_fenced != NULL) {
            op->on_fenced(op->fenced_ctx, text);
        }
    } else if (reply->type == REDIS_REPLY_ERROR) {
        pc_redis_reply_text(reply, text, sizeof(text));
        rc = pc_err_set(&err, PC_EREDIS, "Redis: %s", text);
    }
    while (op != NULL) {
        struct store_op *next = op->next;

        op->done(op->arg, rc, &err);
        free(op);
        op = next;
    }
}

static void add_state(struct pc_redis_args *a, const struct pc_state *st)
{
    if (st != NULL && st->data != NULL) {
        pc_redis_args_add(a, st->data, st->len);
    } else {
        pc_redis_args_add(a, &msgpack_nil, 1);
    }
}

static int check_state(const struct pc_state *st)
{
    return st == NULL || st->data == NULL ? 0 : msg_state_check(st->data, st->len, NULL);
}

static bool same_flow(const struct pc_flow *a, const struct pc_flow *b)
{
    return a == b || (strcmp(a->app.s, b->app.s) == 0 && strcmp(a->profile.s, b->profile.s) == 0 &&
                      strcmp(a->flow.s, b->flow.s) == 0);
}

/* Completes every queued write with rc (nothing was sent). */
static void batch_fail(struct write_batch *b, int rc, const char *why)
{
    struct store_op *op = b->head;
    struct pc_err err;

    pc_err_clear(&err);
    (void)pc_err_set(&err, rc, "%s", why);
    while (op != NULL) {
        struct store_op *next = op->next;

        op->done(op->arg, rc, &err);
        free(op);
        op = next;
    }
}

/* The group ["5", "order", "1", "id,id,..."] (flow order). */
static void add_order(struct pc_redis_args *a, const struct pc_flow *flow)
{
    struct pc_buf ids;
    int rc = 0;

    pc_buf_init(&ids, PC_STATES_ORDER_MAX);
    for (size_t i = 0; rc == 0 && i < flow->n_items; i++) {
        rc = i > 0 ? pc_buf_puts(&ids, ",") : 0;
        rc = rc == 0 ? pc_buf_puts(&ids, flow->items[i].id.s) : rc;
    }
    if (rc == 0 && ids.len > 0) {
        pc_redis_args_addz(a, "5");
        pc_redis_args_addz(a, "order");
        pc_redis_args_addz(a, "1");
        pc_redis_args_add(a, ids.data, ids.len);
    }
    pc_buf_cleanup(&ids);
}

/* Sends the queued writes as one states_write call. */
static void batch_send(struct pc_store_redis *s)
{
    struct write_batch b = s->batch;
    char lock[PC_KEY_MAX];
    char current[PC_KEY_MAX];
    char goal[PC_KEY_MAX];
    char records[PC_KEY_MAX];
    char order[PC_KEY_MAX];
    struct pc_redis_args a;
    int rc;

    if (b.head == NULL) {
        return;
    }
    memset(&s->batch, 0, sizeof(s->batch));
    pc_redis_args_init(&s->batch.groups);
    if (s->send_ev != NULL) {
        (void)event_del(s->send_ev);
    }
    if (b.groups.rc != 0 ||
        pc_key_lock(lock, sizeof(lock), s->prefix, b.flow->app.s, b.flow->profile.s) < 0 ||
        pc_key_states(current, sizeof(current), s->prefix, b.flow->app.s, b.flow->profile.s,
                      b.flow->flow.s, PC_STATES_CURRENT) < 0 ||
        pc_key_states(goal, sizeof(goal), s->prefix, b.flow->app.s, b.flow->profile.s,
                      b.flow->flow.s, PC_STATES_GOAL) < 0 ||
        pc_key_states(records, sizeof(records), s->prefix, b.flow->app.s, b.flow->profile.s,
                      b.flow->flow.s, PC_STATES_RECORDS) < 0 ||
        pc_key_states_order(order, sizeof(order), s->prefix, b.flow->app.s, b.flow->profile.s,
                            b.flow->flow.s) < 0) {
        batch_fail(&b, b.groups.rc != 0 ? b.groups.rc : PC_EINVAL, "cannot build the write");
        pc_redis_args_cleanup(&b.groups);
        return;
    }
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, lock);
    pc_redis_args_addz(&a, current);
    pc_redis_args_addz(&a, goal);
    pc_redis_args_addz(&a, records);
    pc_redis_args_addz(&a, order);
    /* No lock value: a value no lock ever holds, so the script refuses. */
    pc_redis_args_addz(&a, s->lock_value[0] != '\0' ? s->lock_value : "-");
    for (size_t i = 0; i < b.groups.n; i++) {
        pc_redis_args_add(&a, b.groups.data + b.groups.off[i], b.groups.lens[i]);
    }
    pc_redis_args_cleanup(&b.groups);
    /* The first write of the execution also records the flow's order,
     * which orders every listing of these states (states_order.h). */
    if (!s->order_sent) {
        s->order_sent = true;
        add_order(&a, b.flow);
    }
    rc = pc_script_run(s->scripts, s->conn, PC_SCRIPT_STATES_WRITE, 5, &a, s->timeout_ms,
                       on_write_reply, b.head);
    if (rc != 0) {
        batch_fail(&b, rc, "cannot send the states write");
    }
}

static void on_send_ev(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    batch_send(arg);
}

static const char *kind_key_index(enum pc_states_kind kind)
{
    /* KEYS[2] current, KEYS[3] goal, KEYS[4] item records. */
    return kind == PC_STATES_CURRENT ? "2" : kind == PC_STATES_GOAL ? "3" : "4";
}

/* Queues op (its group already appended) and schedules the send. */
static void batch_queue(struct pc_store_redis *s, struct store_op *op)
{
    struct write_batch *b = &s->batch;

    if (b->tail != NULL) {
        b->tail->next = op;
    } else {
        b->head = op;
    }
    b->tail = op;
    if (s->send_ev == NULL) {
        batch_send(s);
    } else if (!event_pending(s->send_ev, EV_TIMEOUT, NULL)) {
        event_active(s->send_ev, EV_TIMEOUT, 0);
    }
}

static struct store_op *batch_op(struct pc_store_redis *s, const struct pc_flow *flow,
                                 pc_store_done_cb *done, void *arg)
{
    struct store_op *op = calloc(1, sizeof(*op));

    if (op == NULL) {
        return NULL;
    }
    op->flow = flow;
    op->done = done;
    op->on_fenced = s->on_fenced;
    op->fenced_ctx = s->fenced_ctx;
    op->arg = arg;
    if (s->batch.head != NULL && !same_flow(s->batch.flow, flow)) {
        batch_send(s);
    }
    s->batch.flow = flow;
    return op;
}

static int write_states(struct pc_store_redis *s, enum pc_states_kind kind,
                        const struct pc_flow *flow, const struct pc_states *m, size_t item,
                        const struct pc_state *one, pc_store_done_cb *done, void *arg)
{
    struct write_batch *b = &s->batch;
    struct store_op *op = NULL;

    if (m != NULL) {
        for (size_t i = 0; i < flow->n_items; i++) {
            if (check_state(&m->v[i]) != 0) {
                return PC_ESCHEMA;
            }
        }
    } else if (check_state(one) != 0) {
        return PC_ESCHEMA;
    }
    op = batch_op(s, flow, done, arg);
    if (op == NULL) {
        return PC_ENOMEM;
    }
    op->kind = kind;
    pc_redis_args_addz(&b->groups, kind_key_index(kind));
    if (m != NULL) {
        pc_redis_args_addz(&b->groups, "all");
        pc_redis_args_addu64(&b->groups, 2 * (uint64_t)flow->n_items);
        for (size_t i = 0; i < flow->n_items; i++) {
            pc_redis_args_addz(&b->groups, flow->items[i].id.s);
            add_state(&b->groups, &m->v[i]);
        }
    } else {
        pc_redis_args_addz(&b->groups, "item");
        pc_redis_args_addz(&b->groups, "2");
        pc_redis_args_addz(&b->groups, flow->items[item].id.s);
        add_state(&b->groups, one);
    }
    batch_queue(s, op);
    return 0;
}

static int store_write_item(void *ctx, enum pc_states_kind kind, const struct pc_flow *flow,
                            size_t item, const struct pc_state *st, pc_store_done_cb *done,
                            void *arg)
{
    if (item >= flow->n_items) {
        return PC_EINVAL;
    }
    return write_states(ctx, kind, flow, NULL, item, st, done, arg);
}

static int store_write_all(void *ctx, enum pc_states_kind kind, const struct pc_flow *flow,
                           const struct pc_states *m, pc_store_done_cb *done, void *arg)
{
    if (m == NULL || m->n != flow->n_items) {
        return PC_EINVAL;
    }
    return write_states(ctx, kind, flow, m, 0, NULL, done, arg);
}

static int store_write_record(void *ctx, const struct pc_flow *flow, size_t item,
                              pc_store_done_cb *done, void *arg)
{
    struct pc_store_redis *s = ctx;
    struct pc_buf rec = {0};
    struct pc_state st;
    int rc;

    if (item >= flow->n_items) {
        return PC_EINVAL;
    }
    rc = msg_record_encode(flow, item, &rec, NULL);
    if (rc != 0) {
        pc_buf_cleanup(&rec);
        return rc;
    }
    st.data = (uint8_t *)rec.data;
    st.len = rec.len;
    rc = write_states(s, PC_STATES_RECORDS, flow, NULL, item, &st, done, arg);
    pc_buf_cleanup(&rec);
    return rc;
}

static int store_remove_item(void *ctx, const struct pc_flow *flow, size_t item,
                             pc_store_done_cb *done, void *arg)
{
    struct pc_store_redis *s = ctx;
    struct store_op *op = NULL;

    if (item >= flow->n_items) {
        return PC_EINVAL;
    }
    op = batch_op(s, flow, done, arg);
    if (op == NULL) {
        return PC_ENOMEM;
    }
    for (int k = PC_STATES_CURRENT; k <= PC_STATES_RECORDS; k++) {
        pc_redis_args_addz(&s->batch.groups, kind_key_index((enum pc_states_kind)k));
        pc_redis_args_addz(&s->batch.groups, "del");
        pc_redis_args_addz(&s->batch.groups, "1");
        pc_redis_args_addz(&s->batch.groups, flow->items[item].id.s);
    }
    batch_queue(s, op);
    return 0;
}

/* ---- read_obsolete: HGETALL current, then HGETALL records ---------------- */

struct obsolete_op {
    struct pc_store_redis *s;
    const struct pc_flow *flow;
    struct pc_stored_items *out;
    pc_store_done_cb *done;
    void *arg;
    char records_key[PC_KEY_MAX];
    size_t records_key_len;
};

static bool stored_has(const struct pc_stored_items *out, const char *p, size_t n, size_t *at)
{
    for (size_t i = 0; i < out->n; i++) {
        if (strlen(out->v[i].id.s) == n && memcmp(out->v[i].id.s, p, n) == 0) {
            *at = i;
            return true;
        }
    }
    return false;
}

/* Adds id (if new; an id of the flow only with in_flow); *at is its slot,
 * or SIZE_MAX when skipped. */
static int stored_add(struct obsolete_op *o, const char *p, size_t n, bool in_flow, size_t *at,
                      struct pc_err *err)
{
    struct pc_stored_items *out = o->out;
    struct pc_stored_item *v = NULL;

    *at = SIZE_MAX;
    if ((!in_flow && pc_flow_find(o->flow, p, n) >= 0) || stored_has(out, p, n, at)) {
        return 0;
    }
    if (out->n >= 2 * (size_t)PC_FLOW_ITEMS_MAX) {
        return pc_err_set(err, PC_ELIMIT, "states: more than %d stored items",
                          2 * PC_FLOW_ITEMS_MAX);
    }
    v = realloc(out->v, (out->n + 1) * sizeof(*v));
    if (v == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    out->v = v;
    memset(&v[out->n], 0, sizeof(v[out->n]));
    if (pc_id_set(&v[out->n].id, p, n, "stored item id", err) != 0) {
        return PC_ESCHEMA;
    }
    *at = out->n++;
    return 0;
}

static int reply_check(const redisReply *reply, struct pc_err *err)
{
    char text[160];

    if (reply == NULL) {
        return pc_err_set(err, PC_EREDIS, "Redis did not answer (connection lost or timed out)");
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        pc_redis_reply_text(reply, text, sizeof(text));
        return pc_err_set(err, PC_EREDIS, "Redis: %s", text);
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements % 2 != 0) {
        return pc_err_set(err, PC_ESCHEMA, "states: unexpected reply from Redis");
    }
    return 0;
}

static void obsolete_finish(struct obsolete_op *o, int rc, struct pc_err *err)
{
    if (rc != 0) {
        pc_stored_items_cleanup(o->out);
    }
    o->done(o->arg, rc, err);
    free(o);
}

static void on_records_reply(void *arg, const redisReply *reply)
{
    struct obsolete_op *o = arg;
    struct pc_err err;
    int rc;

    pc_err_clear(&err);
    rc = reply_check(reply, &err);
    for (size_t i = 0; rc == 0 && i + 1 < reply->elements; i += 2) {
        const redisReply *k = reply->element[i];
        const redisReply *v = reply->element[i + 1];
        struct pc_stored_item *it = NULL;
        size_t at = 0;

        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
            rc = pc_err_set(&err, PC_ESCHEMA, "states: record %zu is not a string pair", i / 2);
            break;
        }
        rc = stored_add(o, k->str, k->len, true, &at, &err);
        if (rc != 0 || at == SIZE_MAX) {
            continue;
        }
        it = &o->out->v[at];
        /* An unreadable record leaves the item without one: reported as
         * obsolete but not manageable, never dropped. */
        if (msg_record_decode(v->str, v->len, it, NULL) != 0) {
            it->has_record = false;
        }
    }
    obsolete_finish(o, rc, &err);
}

static void on_current_reply(void *arg, const redisReply *reply)
{
    struct obsolete_op *o = arg;
    const char *argv[2] = {"HGETALL", o->records_key};
    size_t lens[2] = {7, o->records_key_len};
    struct pc_err err;
    int rc;

    pc_err_clear(&err);
    rc = reply_check(reply, &err);
    for (size_t i = 0; rc == 0 && i + 1 < reply->elements; i += 2) {
        const redisReply *k = reply->element[i];
        const redisReply *v = reply->element[i + 1];
        size_t at = 0;

        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
            rc = pc_err_set(&err, PC_ESCHEMA, "states: entry %zu is not a string pair", i / 2);
            break;
        }
        if (v->len == 1 && (uint8_t)v->str[0] == msgpack_nil) {
            continue; /* no state: nothing to clean */
        }
        rc = stored_add(o, k->str, k->len, false, &at, &err);
    }
    if (rc == 0) {
        rc = pc_redis_cmd(o->s->conn, 2, argv, lens, o->s->timeout_ms, on_records_reply, o);
        if (rc == 0) {
            return;
        }
        (void)pc_err_set(&err, rc, "cannot read the item records");
    }
    obsolete_finish(o, rc, &err);
}

static int store_read_obsolete(void *ctx, const struct pc_flow *flow, struct pc_stored_items *out,
                               pc_store_done_cb *done, void *arg)
{
    struct pc_store_redis *s = ctx;
    char key[PC_KEY_MAX];
    const char *argv[2];
    size_t lens[2];
    struct obsolete_op *o = NULL;
    int n = pc_key_states(key, sizeof(key), s->prefix, flow->app.s, flow->profile.s, flow->flow.s,
                          PC_STATES_CURRENT);
    int m;
    int rc;

    if (n < 0) {
        return n;
    }
    o = calloc(1, sizeof(*o));
    if (o == NULL) {
        return PC_ENOMEM;
    }
    m = pc_key_states(o->records_key, sizeof(o->records_key), s->prefix, flow->app.s,
                      flow->profile.s, flow->flow.s, PC_STATES_RECORDS);
    if (m < 0) {
        free(o);
        return m;
    }
    batch_send(s); /* writes issued before this read go first */
    o->s = s;
    o->flow = flow;
    o->out = out;
    o->done = done;
    o->arg = arg;
    o->records_key_len = (size_t)m;
    argv[0] = "HGETALL";
    lens[0] = 7;
    argv[1] = key;
    lens[1] = (size_t)n;
    rc = pc_redis_cmd(s->conn, 2, argv, lens, s->timeout_ms, on_current_reply, o);
    if (rc != 0) {
        free(o);
    }
    return rc;
}

static const struct pc_store_ops store_redis_ops = {
    .read = store_read,
    .write_item = store_write_item,
    .write_all = store_write_all,
    .read_obsolete = store_read_obsolete,
    .write_record = store_write_record,
    .remove_item = store_remove_item,
};

struct pc_store pc_store_redis_store(struct pc_store_redis *s)
{
    struct pc_store st = {.ops = &store_redis_ops, .ctx = s};

    return st;
}
