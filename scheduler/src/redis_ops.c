/*
 * redis_ops.c - the operations routes of peace-scheduler's Redis backend:
 * GET /v1/workers, /v1/queues, /v1/dead, POST /v1/dead/{entry}/retry,
 * POST /v1/executions/{id}/rerun, and the pages of GET /v1/executions
 * (filters and a cursor). Each runs one operation of peace/fleet_ops.h (the
 * implementation the CLI runs too) on the backend's connection and answers
 * its JSON.
 *
 * Every input is checked before Redis is touched: a bad cursor, filter,
 * limit or id is a 400 and sends nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "peace/fleet_ops.h"
#include "redis_backend_internal.h"
#include "sched_meta.h"

#define QUERY_MAX    128
#define DEAD_DEFAULT 20
#define RESPONSE_MAX (64u << 20)

static void fop_free(void *op)
{
    pc_fop_destroy(op);
}

static void answer_failure(struct rcall *c, int rc, const struct pc_err *err)
{
    if (rc == PC_EREDIS && strstr(err->msg, "did not answer") != NULL) {
        redis__reply_unavailable(c);
        return;
    }
    if (rc == PC_EREDIS &&
        (strstr(err->msg, "LOADING") != NULL || strstr(err->msg, "CLUSTERDOWN") != NULL ||
         strstr(err->msg, "MASTERDOWN") != NULL)) {
        redis__reply_code(c, SCHED_REDIS_UNAVAILABLE, "Redis cannot serve requests now: %s",
                          err->msg);
        return;
    }
    redis__reply_code(c, SCHED_INTERNAL, "%s", err->msg);
}

/* The JSON answer of a finished operation: status on success. */
static void answer_json(struct rcall *c, struct pc_fop *op, int status)
{
    struct pc_buf b;
    int rc;

    pc_buf_init(&b, RESPONSE_MAX);
    rc = pc_fop_json(op, &b);
    web_reply_built(c->wc, status, rc, &b);
    pc_buf_cleanup(&b);
    redis__call_done(c);
}

static void on_read_done(void *arg, struct pc_fop *op, int rc, const struct pc_err *err)
{
    struct rcall *c = arg;

    if (rc != 0) {
        answer_failure(c, rc, err);
        return;
    }
    answer_json(c, op, 200);
}

static void on_requeue_done(void *arg, struct pc_fop *op, int rc, const struct pc_err *err)
{
    struct rcall *c = arg;
    bool retry = web_call_route(c->wc)->kind == SCHED_ROUTE_RETRY;

    if (rc != 0) {
        answer_failure(c, rc, err);
        return;
    }
    switch (pc_fop_result(op)) {
    case PC_FOP_NOT_FOUND:
        redis__reply_code(c, retry ? SCHED_DEAD_LETTER_NOT_FOUND : SCHED_EXECUTION_NOT_FOUND, "%s",
                          pc_fop_message(op));
        return;
    case PC_FOP_CONFLICT:
        redis__reply_code(c, SCHED_CANNOT_REQUEUE, "%s", pc_fop_message(op));
        return;
    case PC_FOP_CREATED: {
        struct evkeyvalq *h = evhttp_request_get_output_headers(web_call_request(c->wc));
        char location[128];

        (void)snprintf(location, sizeof(location), "/v1/executions/%s", pc_fop_new_id(op));
        (void)evhttp_add_header(h, "Location", location);
        answer_json(c, op, 202);
        return;
    }
    case PC_FOP_OK:
    default:
        answer_json(c, op, 200); /* a retry made before: its execution */
        return;
    }
}

/* Creates p's operation for c (400 on bad params) and runs it; answers itself. */
static void run(struct rcall *c, struct pc_fop_params *p, pc_fop_done_cb *done)
{
    struct pc_fop *op = NULL;
    struct pc_err err;

    pc_err_clear(&err);
    p->prefix = c->rb->cfg->prefix;
    if (p->now_ms == 0) {
        p->now_ms = web_unix_ms();
    }
    if (pc_fop_create(p, &op, &err) != 0) {
        redis__reply_code(c, err.code == PC_ENOMEM ? SCHED_INTERNAL : SCHED_BAD_REQUEST, "%s",
                          err.msg);
        return;
    }
    c->data = op;
    c->data_free = fop_free;
    if (!pc_redis_conn_ready(c->rb->redis)) {
        redis__reply_unavailable(c);
        return;
    }
    if (pc_fop_run_async(c->rb->redis, op, done, c) != 0) {
        redis__reply_code(c, SCHED_INTERNAL, "out of memory");
    }
}

/* A query parameter into out (found or not); false (400 answered) when malformed. */
static bool query(struct rcall *c, const char *name, char *out, size_t size, bool *found)
{
    if (sched_query_get(web_call_query(c->wc), name, out, size, found) != 0) {
        redis__reply_code(c, SCHED_BAD_REQUEST, "%s is malformed or longer than %zu bytes", name,
                          size - 1);
        return false;
    }
    return true;
}

static void handle_dead(struct rcall *c)
{
    struct pc_fop_params p;
    char limit_text[QUERY_MAX];
    char cursor[QUERY_MAX];
    unsigned long long limit = DEAD_DEFAULT;
    bool has_limit = false;
    bool has_cursor = false;

    memset(&p, 0, sizeof(p));
    if (!query(c, "limit", limit_text, sizeof(limit_text), &has_limit) ||
        !query(c, "cursor", cursor, sizeof(cursor), &has_cursor)) {
        return;
    }
    if (has_limit && sched_parse_count(limit_text, 1, PC_FOP_DEAD_MAX, &limit) != 0) {
        redis__reply_code(c, SCHED_BAD_REQUEST, "limit must be a number in 1..%d", PC_FOP_DEAD_MAX);
        return;
    }
    p.kind = PC_FOP_DEAD;
    p.limit = (size_t)limit;
    p.cursor = has_cursor ? cursor : NULL;
    run(c, &p, on_read_done);
}

/* A retry or rerun takes no parameters: the body is empty or a JSON object
 * (ignored). Anything else is a 400 (answered here). */
static bool body_ok(struct rcall *c)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(web_call_request(c->wc));
    size_t len = evbuffer_get_length(in);
    const char *body = len > 0 ? (const char *)evbuffer_pullup(in, -1) : NULL;
    json_error_t jerr;
    json_t *doc = NULL;
    bool ok;

    if (len == 0) {
        return true;
    }
    if (body == NULL) {
        redis__reply_code(c, SCHED_INTERNAL, "out of memory");
        return false;
    }
    doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    ok = json_is_object(doc);
    json_decref(doc);
    if (!ok) {
        redis__reply_code(c, SCHED_INVALID_JSON, "the body must be a JSON object (or empty)");
    }
    return ok;
}

static void handle_requeue(struct rcall *c, enum pc_fop_kind kind)
{
    struct pc_fop_params p;
    char id[PC_ULID_LEN + 1];
    struct pc_err err;

    pc_err_clear(&err);
    if (!body_ok(c)) {
        return;
    }
    if (kind == PC_FOP_RETRY && !pc_stream_entry_id_valid(c->id)) {
        redis__reply_code(c, SCHED_BAD_REQUEST,
                          "a dead letter's id is its stream entry id (1700000000000-0)");
        return;
    }
    if (pc_ulid_next(&c->rb->ulid, id, &err) != 0) {
        redis__reply_code(c, SCHED_INTERNAL, "cannot make an execution id: %s", err.msg);
        return;
    }
    memset(&p, 0, sizeof(p));
    p.kind = kind;
    p.target = c->id;
    p.new_id = id;
    p.now_ms = pc_ulid_time_ms(id, PC_ULID_LEN); /* created at its id's time, as a submission */
    run(c, &p, on_requeue_done);
}

void redis__route(void *be, struct web_call *wc)
{
    struct redis_backend *rb = be;
    struct rcall *c = redis__call_new(rb, wc);
    struct pc_fop_params p;
    const char *queues[1] = {rb->cfg->queue.s};

    if (c == NULL) {
        return;
    }
    memset(&p, 0, sizeof(p));
    p.queues = queues;
    p.n_queues = 1;
    switch (web_call_route(wc)->kind) {
    case SCHED_ROUTE_WORKERS:
        p.kind = PC_FOP_WORKERS;
        run(c, &p, on_read_done);
        return;
    case SCHED_ROUTE_QUEUES:
        p.kind = PC_FOP_QUEUES;
        run(c, &p, on_read_done);
        return;
    case SCHED_ROUTE_DEAD:
        handle_dead(c);
        return;
    case SCHED_ROUTE_RETRY:
        handle_requeue(c, PC_FOP_RETRY);
        return;
    case SCHED_ROUTE_RERUN:
        handle_requeue(c, PC_FOP_RERUN);
        return;
    default:
        redis__reply_code(c, SCHED_NOT_FOUND, "no such route on this server");
        return;
    }
}

/* ------------------------------------------------------------------------ */
/* GET /v1/executions: a page                                                */

static void on_page_done(void *arg, struct pc_fop *op, int rc, const struct pc_err *err)
{
    struct rcall *c = arg;
    size_t n = pc_fop_rows(op);
    struct sched_meta *metas = NULL;

    if (rc != 0) {
        answer_failure(c, rc, err);
        return;
    }
    metas = calloc(n + 1, sizeof(*metas));
    if (metas == NULL) {
        redis__reply_code(c, SCHED_INTERNAL, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const redisReply *row = pc_fop_row(op, i);

        for (size_t f = 0; f < SCHED_META_NFIELDS && f < row->elements; f++) {
            const redisReply *v = row->element[f];

            if (v->type == REDIS_REPLY_STRING || v->type == REDIS_REPLY_STATUS) {
                metas[i].v[f].p = v->str;
                metas[i].v[f].n = v->len;
            }
        }
    }
    web_answer_page(c->wc, metas, n, pc_fop_cursor(op));
    free(metas);
    redis__call_done(c);
}

void redis__list(struct redis_backend *rb, struct web_call *wc, size_t limit)
{
    static const char *const filters[] = {"status",  "outcome", "cmd",   "app",
                                          "profile", "flow",    "queue", "since"};
    struct rcall *c = redis__call_new(rb, wc);
    struct pc_exec_filter filter;
    struct pc_fop_params p;
    char cursor[QUERY_MAX];
    bool has_cursor = false;

    if (c == NULL) {
        return;
    }
    memset(&filter, 0, sizeof(filter));
    for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
        char value[QUERY_MAX];
        bool found = false;
        struct pc_err err;

        if (!query(c, filters[i], value, sizeof(value), &found)) {
            return;
        }
        if (found && pc_exec_filter_set(&filter, filters[i], value, &err) != 0) {
            redis__reply_code(c, SCHED_BAD_REQUEST, "%s", err.msg);
            return;
        }
    }
    if (!query(c, "cursor", cursor, sizeof(cursor), &has_cursor)) {
        return;
    }
    memset(&p, 0, sizeof(p));
    p.kind = PC_FOP_EXECS;
    p.limit = limit;
    p.cursor = has_cursor ? cursor : NULL;
    p.filter = &filter;
    p.fields = sched_meta_fields;
    p.n_fields = SCHED_META_NFIELDS;
    run(c, &p, on_page_done);
}
