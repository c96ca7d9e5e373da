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
    p->partitions = c->rb->cfg->partitions;
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

/* ------------------------------------------------------------------------ */
/* /metrics: the fleet's figures                                             */

/* The queues and workers operations of one /metrics request. */
struct fleet_metrics {
    struct rcall *c;
    struct sched_metrics *m; /* borrowed from the call's data */
    struct pc_fop *queues;
    struct pc_fop *workers;
    struct pc_buf extra;
};

static void fleet_metrics_free(struct fleet_metrics *fm)
{
    pc_fop_destroy(fm->queues);
    pc_fop_destroy(fm->workers);
    pc_buf_cleanup(&fm->extra);
    free(fm);
}

/* A label value as Prometheus wants it: \, " and newlines escaped. */
static int label(struct pc_buf *b, const char *s)
{
    int rc = 0;

    for (; rc == 0 && *s != '\0'; s++) {
        rc = *s == '\\'   ? pc_buf_puts(b, "\\\\")
             : *s == '"'  ? pc_buf_puts(b, "\\\"")
             : *s == '\n' ? pc_buf_puts(b, "\\n")
                          : pc_buf_append(b, s, 1);
    }
    return rc;
}

static int family(struct pc_buf *b, const char *name, const char *type, const char *help)
{
    return pc_buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The figures, from the two operations' JSON documents. */
static int fleet_render(struct fleet_metrics *fm)
{
    static const struct {
        const char *name;
        const char *field;
        const char *help;
    } per_worker[] = {
        {"peace_fleet_worker_running", "running",
         "Executions running on the worker (its heartbeat)."},
        {"peace_fleet_worker_concurrency", "concurrency", "The worker's --concurrency."},
        {"peace_fleet_worker_threads_busy", "threads_busy",
         "Item tasks submitted to the worker's threads and not done."},
    };
    struct pc_buf qb;
    struct pc_buf wb;
    json_t *q = NULL;
    json_t *w = NULL;
    struct pc_buf *b = &fm->extra;
    uint64_t now = web_unix_ms();
    int rc;

    pc_buf_init(&qb, RESPONSE_MAX);
    pc_buf_init(&wb, RESPONSE_MAX);
    rc = pc_fop_json(fm->queues, &qb);
    rc = rc == 0 ? pc_fop_json(fm->workers, &wb) : rc;
    if (rc == 0) {
        q = json_loadb(pc_buf_str(&qb), qb.len, 0, NULL);
        w = json_loadb(pc_buf_str(&wb), wb.len, 0, NULL);
        rc = q != NULL && w != NULL ? 0 : PC_ENOMEM;
    }
    rc = rc == 0 ? family(b, "peace_dead_letters", "gauge",
                          "Entries in the dead-letter stream (jobs that could not run).")
                 : rc;
    rc = rc == 0 ? pc_buf_appendf(b, "peace_dead_letters %lld\n",
                                  (long long)json_integer_value(json_object_get(q, "dead_length")))
                 : rc;
    rc = rc == 0 ? family(b, "peace_queue_oldest_age_seconds", "gauge",
                          "Age of the oldest job still in the queue stream (0 when empty).")
                 : rc;
    {
        size_t i;
        json_t *x;

        json_array_foreach(json_object_get(q, "queues"), i, x)
        {
            json_t *age = json_object_get(x, "oldest_age_ms");

            rc = rc == 0 ? pc_buf_puts(b, "peace_queue_oldest_age_seconds{queue=\"") : rc;
            rc = rc == 0 ? label(b, json_string_value(json_object_get(x, "name"))) : rc;
            rc = rc == 0
                     ? pc_buf_appendf(
                           b, "\"} %.3f\n",
                           json_is_integer(age) ? (double)json_integer_value(age) / 1000.0 : 0.0)
                     : rc;
        }
    }
    for (size_t f = 0; rc == 0 && f < sizeof(per_worker) / sizeof(per_worker[0]); f++) {
        size_t i;
        json_t *x;

        rc = family(b, per_worker[f].name, "gauge", per_worker[f].help);
        json_array_foreach(json_object_get(w, "workers"), i, x)
        {
            rc = rc == 0 ? pc_buf_appendf(b, "%s{consumer=\"", per_worker[f].name) : rc;
            rc = rc == 0 ? label(b, json_string_value(json_object_get(x, "consumer"))) : rc;
            rc = rc == 0 ? pc_buf_puts(b, "\",queue=\"") : rc;
            rc = rc == 0 && json_is_string(json_object_get(x, "queue"))
                     ? label(b, json_string_value(json_object_get(x, "queue")))
                     : rc;
            rc = rc == 0 ? pc_buf_appendf(b, "\"} %lld\n",
                                          (long long)json_integer_value(
                                              json_object_get(x, per_worker[f].field)))
                         : rc;
        }
    }
    rc = rc == 0 ? family(b, "peace_fleet_worker_last_seen_seconds", "gauge",
                          "Time since the worker's last heartbeat.")
                 : rc;
    {
        size_t i;
        json_t *x;

        json_array_foreach(json_object_get(w, "workers"), i, x)
        {
            json_int_t seen = json_integer_value(json_object_get(x, "last_seen_ms"));

            rc = rc == 0 ? pc_buf_puts(b, "peace_fleet_worker_last_seen_seconds{consumer=\"") : rc;
            rc = rc == 0 ? label(b, json_string_value(json_object_get(x, "consumer"))) : rc;
            rc = rc == 0 ? pc_buf_puts(b, "\",queue=\"") : rc;
            rc = rc == 0 && json_is_string(json_object_get(x, "queue"))
                     ? label(b, json_string_value(json_object_get(x, "queue")))
                     : rc;
            rc = rc == 0 ? pc_buf_appendf(b, "\"} %.3f\n",
                                          seen > 0 && (uint64_t)seen < now
                                              ? (double)(now - (uint64_t)seen) / 1000.0
                                              : 0.0)
                         : rc;
        }
    }
    json_decref(q);
    json_decref(w);
    pc_buf_cleanup(&qb);
    pc_buf_cleanup(&wb);
    return rc;
}

static void fleet_workers_done(void *arg, struct pc_fop *op, int rc, const struct pc_err *err)
{
    struct fleet_metrics *fm = arg;
    struct rcall *c = fm->c;

    (void)op;
    if (rc != 0) {
        fleet_metrics_free(fm);
        answer_failure(c, rc, err);
        return;
    }
    rc = fleet_render(fm);
    if (rc != 0) {
        fleet_metrics_free(fm);
        redis__reply_code(c, SCHED_INTERNAL, "cannot build the metrics (%s)", pc_strerror(rc));
        return;
    }
    fm->m->extra = pc_buf_str(&fm->extra);
    fm->m->extra_len = fm->extra.len;
    web_answer_metrics(c->wc, fm->m);
    fleet_metrics_free(fm);
    redis__call_done(c);
}

static void fleet_queues_done(void *arg, struct pc_fop *op, int rc, const struct pc_err *err)
{
    struct fleet_metrics *fm = arg;
    struct rcall *c = fm->c;

    (void)op;
    if (rc != 0 || pc_fop_run_async(c->rb->redis, fm->workers, fleet_workers_done, fm) != 0) {
        fleet_metrics_free(fm);
        if (rc != 0) {
            answer_failure(c, rc, err);
        } else {
            redis__reply_code(c, SCHED_INTERNAL, "out of memory");
        }
    }
}

void redis__fleet_metrics(struct rcall *c, struct sched_metrics *m)
{
    struct fleet_metrics *fm = calloc(1, sizeof(*fm));
    const char *queues[1] = {c->rb->cfg->queue.s};
    struct pc_fop_params p;
    struct pc_err err;

    if (fm == NULL) {
        redis__reply_code(c, SCHED_INTERNAL, "out of memory");
        return;
    }
    fm->c = c;
    fm->m = m;
    pc_buf_init(&fm->extra, RESPONSE_MAX);
    memset(&p, 0, sizeof(p));
    p.prefix = c->rb->cfg->prefix;
    p.partitions = c->rb->cfg->partitions;
    p.now_ms = web_unix_ms();
    p.queues = queues;
    p.n_queues = 1;
    p.kind = PC_FOP_QUEUES;
    pc_err_clear(&err);
    if (pc_fop_create(&p, &fm->queues, &err) != 0) {
        fleet_metrics_free(fm);
        redis__reply_code(c, SCHED_INTERNAL, "%s", err.msg);
        return;
    }
    p.kind = PC_FOP_WORKERS;
    if (pc_fop_create(&p, &fm->workers, &err) != 0) {
        fleet_metrics_free(fm);
        redis__reply_code(c, SCHED_INTERNAL, "%s", err.msg);
        return;
    }
    if (pc_fop_run_async(c->rb->redis, fm->queues, fleet_queues_done, fm) != 0) {
        fleet_metrics_free(fm);
        redis__reply_code(c, SCHED_INTERNAL, "out of memory");
    }
}
