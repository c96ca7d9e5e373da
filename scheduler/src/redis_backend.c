/*
 * redis_backend.c - peace-scheduler's Redis backend (redis_backend.h): the
 * batches every request is served with (redis_backend_internal.h) and the
 * handlers of the API's routes but /metrics (redis_metrics.c), the event
 * streams (redis_events.c), the operations routes (redis_ops.c) and the
 * interrupt (redis_interrupt.c).
 *
 * Submitting is the sequence of docs/fleet.md (HSET meta, ZADD index, XADD
 * job) pipelined on the one connection, so Redis applies it in that order.
 */
#include "redis_backend.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/keys.h"
#include "peace/msg.h"
#include "peace/states_order.h"
#include "peace/submit.h"
#include "redis_backend_internal.h"
#include "sched_log.h"
#include "sched_submit.h"

struct slot_ref {
    struct redis_batch *batch;
    size_t index;
};

/* Commands sent together; done runs once, when every reply is in. */
struct redis_batch {
    struct rcall *call;
    size_t n;
    size_t pending; /* replies to wait for, plus one until launched */
    struct sched_flat *slots;
    struct slot_ref *refs;
    redis_batch_done_fn *done;
};

/* ------------------------------------------------------------------------ */
/* Calls and answers                                                         */

struct rcall *redis__call_new(struct redis_backend *rb, struct web_call *wc)
{
    struct rcall *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        web_reply_code(wc, SCHED_INTERNAL, "out of memory");
        return NULL;
    }
    c->rb = rb;
    c->wc = wc;
    c->id = web_call_route(wc)->id;
    return c;
}

void redis__call_done(struct rcall *c)
{
    if (c->data_free != NULL) {
        c->data_free(c->data);
    }
    free(c);
}

void redis__reply_code(struct rcall *c, enum sched_code code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    web_reply_vcode(c->wc, code, fmt, ap);
    va_end(ap);
    redis__call_done(c);
}

void redis__reply_unavailable(struct rcall *c)
{
    const struct redis_backend *rb = c->rb;

    redis__reply_code(c, SCHED_REDIS_UNAVAILABLE, "Redis at %s cannot be reached right now%s%s",
                      rb->redis_where, rb->redis_why[0] != '\0' ? ": " : "", rb->redis_why);
}

bool redis__reply_if_failed(struct rcall *c, const struct sched_flat *slots, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (slots[i].kind == SCHED_FLAT_NONE) {
            redis__reply_unavailable(c);
            return true;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (slots[i].kind == SCHED_FLAT_ERROR) {
            const struct sched_str *e = &slots[i].v[0];
            int len = (int)(e->n < 200 ? e->n : 200);

            if (sched_error_is_unavailable(e->p, e->n)) {
                redis__reply_code(c, SCHED_REDIS_UNAVAILABLE,
                                  "Redis cannot serve requests now: %.*s", len, e->p);
            } else {
                redis__reply_code(c, SCHED_INTERNAL, "Redis error: %.*s", len, e->p);
            }
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------------ */
/* Batches                                                                   */

static void batch_finish(struct redis_batch *b)
{
    b->done(b->call, b->slots, b->n);
    for (size_t i = 0; i < b->n; i++) {
        sched_flat_cleanup(&b->slots[i]);
    }
    free(b->slots);
    free(b->refs);
    free(b);
}

static void batch_settle(struct redis_batch *b)
{
    if (--b->pending == 0) {
        batch_finish(b);
    }
}

static void on_slot_reply(void *arg, const redisReply *reply)
{
    struct slot_ref *ref = arg;
    struct redis_batch *b = ref->batch;
    struct sched_flat *slot = &b->slots[ref->index];

    if (sched_flat_from_reply(reply, slot) != 0) {
        slot->kind = SCHED_FLAT_NONE; /* out of memory: treated as no answer */
    }
    batch_settle(b);
}

struct redis_batch *redis__batch_new(struct rcall *c, size_t n, redis_batch_done_fn *done)
{
    struct redis_batch *b = calloc(1, sizeof(*b));

    if (b == NULL) {
        return NULL;
    }
    b->slots = calloc(n + 1, sizeof(*b->slots));
    b->refs = calloc(n + 1, sizeof(*b->refs));
    if (b->slots == NULL || b->refs == NULL) {
        free(b->slots);
        free(b->refs);
        free(b);
        return NULL;
    }
    b->call = c;
    b->n = n;
    b->pending = n + 1;
    b->done = done;
    for (size_t i = 0; i < n; i++) {
        b->refs[i].batch = b;
        b->refs[i].index = i;
    }
    return b;
}

void redis__batch_send(struct redis_batch *b, size_t i, struct pc_redis_args *a)
{
    int rc = pc_redis_cmd_args(b->call->rb->redis, a, 0, on_slot_reply, &b->refs[i]);

    pc_redis_args_cleanup(a);
    if (rc != 0) {
        b->pending--;
    }
}

void redis__batch_skip(struct redis_batch *b, size_t i)
{
    b->pending--;
    b->slots[i].kind = SCHED_FLAT_NIL;
}

void redis__batch_send_script(struct redis_batch *b, size_t i, enum pc_script id, int nkeys,
                              struct pc_redis_args *a)
{
    struct redis_backend *rb = b->call->rb;

    if (pc_script_run(rb->scripts, rb->redis, id, nkeys, a, 0, on_slot_reply, &b->refs[i]) != 0) {
        b->pending--;
    }
}

void redis__batch_launch(struct redis_batch *b)
{
    batch_settle(b);
}

void redis__run_batch(struct rcall *c, struct pc_redis_args *a, size_t n, redis_batch_done_fn *done,
                      const char *build_failed)
{
    struct redis_batch *b = NULL;
    bool built = true;

    for (size_t i = 0; i < n; i++) {
        built = built && pc_redis_args_error(&a[i]) == 0;
    }
    if (built) {
        b = redis__batch_new(c, n, done);
    }
    if (b == NULL) {
        for (size_t i = 0; i < n; i++) {
            pc_redis_args_cleanup(&a[i]);
        }
        redis__reply_code(c, SCHED_INTERNAL, "%s", built ? "out of memory" : build_failed);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        redis__batch_send(b, i, &a[i]);
    }
    redis__batch_launch(b);
}

void redis__run_one(struct rcall *c, struct pc_redis_args *a, redis_batch_done_fn *done)
{
    redis__run_batch(c, a, 1, done, "cannot build a Redis command");
}

void redis__run_newest_ids(struct rcall *c, uint64_t count, redis_batch_done_fn *done)
{
    struct pc_redis_args a;
    char key[PC_KEY_MAX];

    if (!pc_redis_conn_ready(c->rb->redis)) {
        redis__reply_unavailable(c);
        return;
    }
    (void)pc_key_execs(key, sizeof(key), c->rb->cfg->prefix);
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, "ZREVRANGE");
    pc_redis_args_addz(&a, key);
    pc_redis_args_addz(&a, "0");
    pc_redis_args_addu64(&a, count - 1);
    redis__run_one(c, &a, done);
}

void redis__run_hmget_each(struct rcall *c, const struct sched_flat *slots,
                           const char *const *fields, size_t n_fields, redis_batch_done_fn *done)
{
    const struct sched_flat *ids = &slots[0];
    struct redis_batch *b = NULL;

    if (redis__reply_if_failed(c, slots, 1)) {
        return;
    }
    if (ids->kind != SCHED_FLAT_ARRAY) {
        redis__reply_code(c, SCHED_INTERNAL, "the executions index is not a sorted set");
        return;
    }
    b = redis__batch_new(c, ids->n, done);
    if (b == NULL) {
        redis__reply_code(c, SCHED_INTERNAL, "out of memory");
        return;
    }
    for (size_t i = 0; i < ids->n; i++) {
        struct pc_redis_args a;
        char key[PC_KEY_MAX];

        if (ids->v[i].p == NULL || !pc_exec_id_valid(ids->v[i].p, ids->v[i].n) ||
            pc_key_exec(key, sizeof(key), c->rb->cfg->prefix, ids->v[i].p) < 0) {
            redis__batch_skip(b, i);
            continue;
        }
        pc_redis_args_init(&a);
        pc_redis_args_addz(&a, "HMGET");
        pc_redis_args_addz(&a, key);
        for (size_t f = 0; f < n_fields; f++) {
            pc_redis_args_addz(&a, fields[f]);
        }
        redis__batch_send(b, i, &a);
    }
    redis__batch_launch(b);
}

/* ------------------------------------------------------------------------ */
/* POST /v1/executions                                                       */

static void submission_free(void *p)
{
    if (p != NULL) {
        sched_submission_cleanup(p);
        free(p);
    }
}

static void submit_done(struct rcall *c, struct sched_flat *slots, size_t n)
{
    const struct sched_submission *sub = c->data;

    if (redis__reply_if_failed(c, slots, n)) {
        return;
    }
    web_answer_submitted(c->wc, sub->job.id);
    redis__call_done(c);
}

static void rb_submit(void *be, struct web_call *wc, const char *body, size_t len)
{
    struct redis_backend *rb = be;
    struct rcall *c = redis__call_new(rb, wc);
    struct sched_submission *sub = NULL;
    struct pc_redis_args a[PC_SUBMIT_CMDS];
    char id[PC_ULID_LEN + 1];
    struct sched_fail fail;
    struct pc_err err;

    if (c == NULL) {
        return;
    }
    pc_err_clear(&err);
    if (pc_ulid_next(&rb->ulid, id, &err) != 0) {
        redis__reply_code(c, SCHED_INTERNAL, "cannot make an execution id: %s", err.msg);
        return;
    }
    sub = calloc(1, sizeof(*sub));
    if (sub == NULL) {
        redis__reply_code(c, SCHED_INTERNAL, "out of memory");
        return;
    }
    /* Everything is checked before Redis is touched: a bad request queues nothing. */
    if (sched_submit_parse(body, len, rb->registry, rb->cfg->queue.s, id,
                           pc_ulid_time_ms(id, PC_ULID_LEN), sub, &fail) != 0) {
        free(sub);
        web_reply_fail(wc, &fail);
        redis__call_done(c);
        return;
    }
    c->data = sub;
    c->data_free = submission_free;
    /* The id in its profile's key slot (docs/fleet.md "Co-located execution ids"), so the job
     * is encoded again with it. */
    pc_submit_colocate_id(sub->job.id, sub->job.flow.app.s, sub->job.flow.profile.s);
    pc_buf_cleanup(&sub->job_bytes);
    if (msg_job_encode(&sub->job, &sub->job_bytes, &err) != 0) {
        redis__reply_code(c, SCHED_INTERNAL, "cannot encode the job: %s", err.msg);
        return;
    }
    if (!pc_redis_conn_ready(rb->redis)) {
        redis__reply_unavailable(c);
        return;
    }
    /* docs/fleet.md "Submitting": HSET meta (status=queued), ZADD index, XADD job,
     * SET the kept job. */
    if (pc_submit_args(rb->cfg->prefix, rb->cfg->partitions, &sub->job, sub->job_bytes.data,
                       sub->job_bytes.len, sub->blocks_total, a) != 0 &&
        pc_redis_args_error(&a[0]) == 0) {
        a[0].rc = PC_ELIMIT;
    }
    redis__run_batch(c, a, PC_SUBMIT_CMDS, submit_done, "cannot build the submit commands");
}

/* ------------------------------------------------------------------------ */
/* GET /v1/executions                                                        */

static void rb_list(void *be, struct web_call *wc, size_t limit)
{
    redis__list(be, wc, limit); /* filters and cursor: peace/fleet_ops.h */
}

/* ------------------------------------------------------------------------ */
/* GET /v1/executions/{id}                                                   */

static void get_done(struct rcall *c, struct sched_flat *slots, size_t n)
{
    const struct sched_flat *meta = &slots[0];
    const struct sched_flat *prog = &slots[1];
    const struct sched_flat *full = &slots[2];

    if (redis__reply_if_failed(c, slots, n)) {
        return;
    }
    if (meta->kind != SCHED_FLAT_ARRAY || meta->n == 0) {
        redis__reply_code(c, SCHED_EXECUTION_NOT_FOUND, "execution %s not found", c->id);
        return;
    }
    web_answer_get(c->wc, meta->v, meta->n, prog->kind == SCHED_FLAT_ARRAY ? prog->v : NULL,
                   prog->kind == SCHED_FLAT_ARRAY ? prog->n : 0,
                   full->kind == SCHED_FLAT_STR && full->n > 0 ? &full->v[0] : NULL);
    redis__call_done(c);
}

static void rb_get(void *be, struct web_call *wc, const char *id)
{
    struct rcall *c = redis__call_new(be, wc);
    const char *prefix = NULL;
    struct pc_redis_args a[3];
    char key[PC_KEY_MAX];

    if (c == NULL) {
        return;
    }
    prefix = c->rb->cfg->prefix;
    if (!pc_redis_conn_ready(c->rb->redis)) {
        redis__reply_unavailable(c);
        return;
    }
    for (size_t i = 0; i < 3; i++) {
        pc_redis_args_init(&a[i]);
        pc_redis_args_addz(&a[i], i < 2 ? "HGETALL" : "GET");
    }
    if (pc_key_exec(key, sizeof(key), prefix, id) < 0) {
        a[0].rc = PC_ELIMIT;
    }
    pc_redis_args_addz(&a[0], key);
    if (pc_key_progress(key, sizeof(key), prefix, id) < 0) {
        a[1].rc = PC_ELIMIT;
    }
    pc_redis_args_addz(&a[1], key);
    if (pc_key_report(key, sizeof(key), prefix, id) < 0) {
        a[2].rc = PC_ELIMIT;
    }
    pc_redis_args_addz(&a[2], key);
    redis__run_batch(c, a, 3, get_done, "cannot build the Redis commands");
}

/* ------------------------------------------------------------------------ */
/* GET /v1/executions/{id}/events                                            */

static void events_exists_done(struct rcall *c, struct sched_flat *slots, size_t n)
{
    const char *last_id = c->data;

    if (redis__reply_if_failed(c, slots, n)) {
        return;
    }
    if (slots[0].kind != SCHED_FLAT_INT || slots[0].integer != 1) {
        redis__reply_code(c, SCHED_EXECUTION_NOT_FOUND, "execution %s not found", c->id);
        return;
    }
    redis__events_open(c->rb, c->wc, c->id, last_id);
    redis__call_done(c);
}

static void rb_follow(void *be, struct web_call *wc, const char *id, const char *last_id)
{
    struct rcall *c = redis__call_new(be, wc);
    struct pc_redis_args a;
    char key[PC_KEY_MAX];

    if (c == NULL) {
        return;
    }
    /* last_id lives in wc until it is answered. */
    c->data = (void *)(uintptr_t)last_id;
    if (!pc_redis_conn_ready(c->rb->redis)) {
        redis__reply_unavailable(c);
        return;
    }
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, "EXISTS");
    if (pc_key_exec(key, sizeof(key), c->rb->cfg->prefix, id) < 0) {
        a.rc = PC_ELIMIT;
    }
    pc_redis_args_addz(&a, key);
    redis__run_one(c, &a, events_exists_done);
}

/* ------------------------------------------------------------------------ */
/* GET /v1/states/{app}/{profile}/{flow}                                     */

/* Puts h's field/value pairs in listing order (states_order.h) given the
 * flow's order key; on failure they stay in hash order. */
static void states_sort(struct sched_flat *h, const struct sched_flat *order)
{
    size_t n = h->n / 2;
    const char **names = calloc(n + 1, sizeof(*names));
    size_t *lens = calloc(n + 1, sizeof(*lens));
    size_t *perm = calloc(n + 1, sizeof(*perm));
    struct sched_str *v = calloc(2 * n + 1, sizeof(*v));
    bool has_order = order->kind == SCHED_FLAT_STR && order->n > 0 && order->v[0].p != NULL;

    if (names != NULL && lens != NULL && perm != NULL && v != NULL) {
        for (size_t i = 0; i < n; i++) {
            names[i] = h->v[2 * i].p != NULL ? h->v[2 * i].p : "";
            lens[i] = h->v[2 * i].p != NULL ? h->v[2 * i].n : 0;
        }
        if (pc_states_listing(has_order ? order->v[0].p : NULL, has_order ? order->v[0].n : 0,
                              names, lens, n, perm) == 0) {
            for (size_t i = 0; i < n; i++) {
                v[2 * i] = h->v[2 * perm[i]];
                v[2 * i + 1] = h->v[2 * perm[i] + 1];
            }
            memcpy(h->v, v, 2 * n * sizeof(*v));
        }
    }
    free(names);
    free(lens);
    free(perm);
    free(v);
}

static void states_done(struct rcall *c, struct sched_flat *slots, size_t n)
{
    struct sched_flat *cur = &slots[0];
    struct sched_flat *goal = &slots[1];

    if (redis__reply_if_failed(c, slots, n)) {
        return;
    }
    for (size_t k = 0; k < 2; k++) {
        if (slots[k].kind == SCHED_FLAT_ARRAY) {
            states_sort(&slots[k], &slots[2]);
        }
    }
    web_answer_states(c->wc, cur->kind == SCHED_FLAT_ARRAY ? cur->v : NULL, cur->n,
                      goal->kind == SCHED_FLAT_ARRAY ? goal->v : NULL, goal->n);
    redis__call_done(c);
}

static void rb_states(void *be, struct web_call *wc, const struct sched_route *r)
{
    static const enum pc_states_kind kinds[2] = {PC_STATES_CURRENT, PC_STATES_GOAL};
    struct rcall *c = redis__call_new(be, wc);
    struct pc_redis_args a[3];
    char key[PC_KEY_MAX];

    if (c == NULL) {
        return;
    }
    if (!pc_redis_conn_ready(c->rb->redis)) {
        redis__reply_unavailable(c);
        return;
    }
    for (size_t k = 0; k < 2; k++) {
        pc_redis_args_init(&a[k]);
        pc_redis_args_addz(&a[k], "HGETALL");
        if (pc_key_states(key, sizeof(key), c->rb->cfg->prefix, r->app.s, r->profile.s, r->flow.s,
                          kinds[k]) < 0) {
            a[k].rc = PC_ELIMIT;
        }
        pc_redis_args_addz(&a[k], key);
    }
    /* The flow's order key: the listing order of both. */
    pc_redis_args_init(&a[2]);
    pc_redis_args_addz(&a[2], "GET");
    if (pc_key_states_order(key, sizeof(key), c->rb->cfg->prefix, r->app.s, r->profile.s,
                            r->flow.s) < 0) {
        a[2].rc = PC_ELIMIT;
    }
    pc_redis_args_addz(&a[2], key);
    redis__run_batch(c, a, 3, states_done, "cannot build the Redis commands");
}

/* ------------------------------------------------------------------------ */
/* GET /healthz                                                              */

static void healthz_done(struct rcall *c, struct sched_flat *slots, size_t n)
{
    char why[PC_ERR_MSG_MAX + 64];

    (void)n;
    if (slots[0].kind == SCHED_FLAT_STR && slots[0].v[0].n == 4 &&
        memcmp(slots[0].v[0].p, "PONG", 4) == 0) {
        web_answer_health(c->wc, NULL);
    } else {
        if (slots[0].kind == SCHED_FLAT_ERROR) {
            (void)snprintf(why, sizeof(why), "Redis at %s: %.*s", c->rb->redis_where,
                           (int)(slots[0].v[0].n < 200 ? slots[0].v[0].n : 200), slots[0].v[0].p);
        } else {
            (void)snprintf(why, sizeof(why), "Redis at %s did not answer PING", c->rb->redis_where);
        }
        web_answer_health(c->wc, why);
    }
    redis__call_done(c);
}

static void rb_healthz(void *be, struct web_call *wc)
{
    struct redis_backend *rb = be;
    struct pc_redis_args a;
    char why[2 * PC_ERR_MSG_MAX + 64];
    struct rcall *c = NULL;

    if (!pc_redis_conn_ready(rb->redis)) {
        (void)snprintf(why, sizeof(why), "Redis at %s cannot be reached%s%s", rb->redis_where,
                       rb->redis_why[0] != '\0' ? ": " : "", rb->redis_why);
        web_answer_health(wc, why);
        return;
    }
    c = redis__call_new(rb, wc);
    if (c == NULL) {
        return;
    }
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, "PING");
    redis__run_one(c, &a, healthz_done);
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */

static const struct web_backend_ops ops = {
    .healthz = rb_healthz,
    .metrics = redis__metrics,
    .list = rb_list,
    .get = rb_get,
    .follow = rb_follow,
    .interrupt = redis__interrupt,
    .states = rb_states,
    .submit = rb_submit,
    .route = redis__route,
    .submit_why = NULL,
};

const struct web_backend_ops *redis_backend_ops(void)
{
    return &ops;
}

static void on_redis_state(void *ctx, bool ready, const char *why)
{
    struct redis_backend *rb = ctx;
    bool was_ready = rb->redis_ready;

    rb->redis_ready = ready;
    (void)snprintf(rb->redis_why, sizeof(rb->redis_why), "%s", why);
    if (ready) {
        pc_scripts_load(rb->scripts, rb->redis);
    }
    if (rb->redis_known && ready != was_ready) {
        sched_log("redis %s: %s%s%s", rb->redis_where, ready ? "connected" : "unavailable",
                  why[0] != '\0' ? ": " : "", why);
    }
    rb->redis_known = true;
}

int redis_backend_create(struct event_base *base, const struct sched_config *cfg,
                         const struct pc_registry *reg, struct redis_backend **out,
                         struct pc_err *err)
{
    struct redis_backend *rb = calloc(1, sizeof(*rb));
    struct pc_redis_conn_opts opts;
    int rc;

    if (rb == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    rb->base = base;
    rb->cfg = cfg;
    rb->registry = reg;
    pc_ulid_gen_init(&rb->ulid, NULL, NULL, NULL, NULL);
    (void)pc_redis_url_describe(&cfg->redis, rb->redis_where, sizeof(rb->redis_where));
    rc = pc_scripts_create(&rb->scripts, err);
    if (rc == 0) {
        memset(&opts, 0, sizeof(opts));
        opts.name = "scheduler";
        opts.ordered = true; /* a submit's meta is written before its job is queued */
        opts.on_state = on_redis_state;
        opts.state_ctx = rb;
        rc = pc_redis_conn_create(base, &cfg->redis, &opts, &rb->redis, err);
    }
    if (rc == 0) {
        memset(&opts, 0, sizeof(opts));
        opts.name = "scheduler-sub";
        opts.on_state = redis__latch_sub_state;
        opts.state_ctx = rb;
        rc = pc_redis_conn_create(base, &cfg->redis, &opts, &rb->sub, err);
    }
    if (rc != 0) {
        redis_backend_destroy(rb);
        return rc;
    }
    *out = rb;
    return 0;
}

int redis_backend_wait_ready(struct redis_backend *rb, struct pc_err *err)
{
    while (!rb->redis_known) {
        if (event_base_loop(rb->base, EVLOOP_ONCE) < 0) {
            return pc_err_set(err, PC_EINTERNAL, "the event loop failed");
        }
    }
    if (!rb->redis_ready) {
        return pc_err_set(err, PC_EREDIS, "cannot reach Redis at %s: %s", rb->redis_where,
                          rb->redis_why);
    }
    return 0;
}

const char *redis_backend_where(const struct redis_backend *rb)
{
    return rb->redis_where;
}

void redis_backend_destroy(struct redis_backend *rb)
{
    if (rb == NULL) {
        return;
    }
    rb->stopping = true;
    redis__interrupts_answer_waiting(rb);
    pc_redis_conn_destroy(rb->sub);
    /* Pending callbacks answer their requests (503). */
    pc_redis_conn_destroy(rb->redis);
    pc_scripts_destroy(rb->scripts);
    free(rb);
}
