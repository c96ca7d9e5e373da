/*
 * sched_server.c - the request handlers of peace-scheduler.
 *
 * Design. One libevent loop serves HTTP (evhttp) and talks to Redis through
 * one shared, reconnecting asynchronous connection (redis_conn.h). Every
 * request becomes a `call` that lives until it is answered, exactly once:
 * either at once (a bad request, Redis known to be down) or from the
 * completion of its Redis commands. Commands a request needs together are
 * pipelined as a `batch`: each reply is copied (hiredis lends it only for
 * its callback) and the handler continues when the last one arrived. Every
 * callback of redis_conn runs exactly once, so every call is answered, also
 * when Redis goes away (503 redis_unavailable) or the server shuts down.
 *
 * Order of checks for every request: the guard (sched_guard.h: Host,
 * Origin, route and method, token scope, media type, parameters), body
 * size, then the handler's own validation; nothing reaches Redis before
 * all of them passed. Submitting is the sequence of
 * docs/fleet.md (HSET meta, ZADD index, XADD job) pipelined on the one
 * connection, so Redis applies it in that order.
 *
 * The server holds no execution state: several schedulers can serve the
 * same Redis side by side. Its only counters are the answers it gave.
 */
#include "sched_server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "peace/keys.h"
#include "peace/msg.h"
#include "peace/submit.h"
#include "sched_json.h"
#include "sched_log.h"
#include "sched_metrics.h"
#include "sched_page.h"
#include "sched_reply.h"
#include "sched_server_internal.h"
#include "sched_submit.h"

#define RESPONSE_MAX    (64u << 20)
#define HEADERS_MAX     ((ev_ssize_t)64 * 1024)
#define LIST_DEFAULT    50
#define LIST_MAX        1000
#define STOP_GRACE_MS   200
#define DEFAULT_REASON  "requested with the HTTP API"
#define QUERY_VALUE_MAX 64

struct call;
struct batch;

typedef void batch_done_fn(struct call *c, struct sched_flat *slots, size_t n);

struct slot_ref {
    struct batch *batch;
    size_t index;
};

/* Commands sent together; done runs once, when every reply is in. */
struct batch {
    struct call *call;
    size_t n;
    size_t pending; /* replies to wait for, plus one until launched */
    struct sched_flat *slots;
    struct slot_ref *refs;
    batch_done_fn *done;
};

/* One request, from arrival to its answer. */
struct call {
    struct sched_server *srv;
    struct evhttp_request *req;
    struct sched_route route;
    uint64_t t0;
    char method[8];
    char log_path[SCHED_LOG_PATH_MAX + 1];
    char last_id[SCHED_STREAM_ID_MAX + 1]; /* events */
    struct sched_submission sub;           /* submit */
    bool has_sub;
    char reason[MSG_EVENT_REASON_MAX + 1]; /* interrupt */
    struct pc_interrupt_req ireq;          /* interrupt: mode and deadline */
    uint64_t ireq_ms;                      /* interrupt: when it was requested */
    char status[16];
    size_t metrics_ids; /* metrics: executions sampled */
    struct sched_metrics metrics;
    double *interrupt_s;
    struct sched_timing *timings; /* metrics: exec_t and block_t storage */
    double *wait_s;
};

/* ------------------------------------------------------------------------ */
/* Time, logging                                                             */

uint64_t sched__mono_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t sched__unix_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void sched__request_done(struct sched_server *s, const char *method, const char *path, int status,
                         uint64_t t0_ms)
{
    sched_http_count(&s->http_counts, status);
    sched_log("%s %s %d %llums", method, path, status,
              (unsigned long long)(sched__mono_ms() - t0_ms));
}

static const char *method_text(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    default:
        return "?";
    }
}

static enum sched_method method_kind(enum evhttp_cmd_type t)
{
    return t == EVHTTP_REQ_GET    ? SCHED_METHOD_GET
           : t == EVHTTP_REQ_HEAD ? SCHED_METHOD_HEAD
           : t == EVHTTP_REQ_POST ? SCHED_METHOD_POST
                                  : SCHED_METHOD_OTHER;
}

/* ------------------------------------------------------------------------ */
/* Answers                                                                   */

static void call_free(struct call *c)
{
    if (c->has_sub) {
        sched_submission_cleanup(&c->sub);
    }
    free(c->interrupt_s);
    free(c->timings);
    free(c->wait_s);
    free(c);
}

/* Sends status with body (p, n) of content type ctype and frees c. */
static void reply_raw(struct call *c, int status, const char *ctype, const void *p, size_t n)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
    struct evbuffer *body = evbuffer_new();

    (void)evhttp_add_header(h, "Content-Type", ctype);
    (void)evhttp_add_header(h, "Cache-Control", "no-store");
    (void)evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    if (status == 401) {
        (void)evhttp_add_header(h, "WWW-Authenticate", "Bearer realm=\"peace\"");
    }
    if (body == NULL || (n > 0 && evbuffer_add(body, p, n) != 0)) {
        /* No memory for the body: an empty answer is still an answer. */
        if (body != NULL) {
            evbuffer_free(body);
        }
        body = NULL;
        status = 500;
    }
    evhttp_send_reply(c->req, status, NULL, body);
    if (body != NULL) {
        evbuffer_free(body);
    }
    sched__request_done(c->srv, c->method, c->log_path, status, c->t0);
    call_free(c);
}

static void reply_json(struct call *c, int status, const struct pc_buf *b)
{
    reply_raw(c, status, "application/json", pc_buf_str(b), b->len);
}

static void reply_fail(struct call *c, const struct sched_fail *f)
{
    struct pc_buf b;
    int status = sched_code_status(f->code);

    pc_buf_init(&b, 4096);
    if (f->code == SCHED_INTERNAL) {
        sched_log("%s %s: internal error: %s", c->method, c->log_path, f->msg);
    }
    if (sched_json_error(&b, f->code, f->msg) != 0) {
        static const char fallback[] = "{\"error\":\"internal error\",\"code\":\"internal\"}";

        pc_buf_cleanup(&b);
        reply_raw(c, 500, "application/json", fallback, sizeof(fallback) - 1);
        return;
    }
    reply_json(c, status, &b);
    pc_buf_cleanup(&b);
}

static void reply_code(struct call *c, enum sched_code code, const char *fmt, ...) PC_PRINTF(3, 4);

static void reply_code(struct call *c, enum sched_code code, const char *fmt, ...)
{
    struct sched_fail f;
    va_list ap;

    f.code = code;
    va_start(ap, fmt);
    (void)vsnprintf(f.msg, sizeof(f.msg), fmt, ap);
    va_end(ap);
    reply_fail(c, &f);
}

/* A document built into b (rc its build status) with status, else 500. */
static void reply_built(struct call *c, int status, int rc, const struct pc_buf *b)
{
    if (rc != 0) {
        reply_code(c, SCHED_INTERNAL, "cannot build the answer (%s)", pc_strerror(rc));
        return;
    }
    reply_json(c, status, b);
}

static void reply_unavailable(struct call *c)
{
    const struct sched_server *s = c->srv;

    reply_code(c, SCHED_REDIS_UNAVAILABLE, "Redis at %s cannot be reached right now%s%s",
               s->redis_where, s->redis_why[0] != '\0' ? ": " : "", s->redis_why);
}

/*
 * Answers a failed slot: 503 when Redis did not answer or cannot serve now,
 * 500 for any other error reply. Returns true when it answered.
 */
static bool reply_if_failed(struct call *c, const struct sched_flat *slots, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (slots[i].kind == SCHED_FLAT_NONE) {
            reply_unavailable(c);
            return true;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (slots[i].kind == SCHED_FLAT_ERROR) {
            const struct sched_str *e = &slots[i].v[0];

            if (sched_error_is_unavailable(e->p, e->n)) {
                reply_code(c, SCHED_REDIS_UNAVAILABLE, "Redis cannot serve requests now: %.*s",
                           (int)(e->n < 200 ? e->n : 200), e->p);
            } else {
                reply_code(c, SCHED_INTERNAL, "Redis error: %.*s", (int)(e->n < 200 ? e->n : 200),
                           e->p);
            }
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------------ */
/* Batches                                                                   */

static void batch_finish(struct batch *b)
{
    b->done(b->call, b->slots, b->n);
    for (size_t i = 0; i < b->n; i++) {
        sched_flat_cleanup(&b->slots[i]);
    }
    free(b->slots);
    free(b->refs);
    free(b);
}

static void batch_settle(struct batch *b)
{
    if (--b->pending == 0) {
        batch_finish(b);
    }
}

static void on_slot_reply(void *arg, const redisReply *reply)
{
    struct slot_ref *ref = arg;
    struct batch *b = ref->batch;
    struct sched_flat *slot = &b->slots[ref->index];

    if (sched_flat_from_reply(reply, slot) != 0) {
        slot->kind = SCHED_FLAT_NONE; /* out of memory: treated as no answer */
    }
    batch_settle(b);
}

/* Returns owned: a batch of n commands for c; done runs when all replied. */
static struct batch *batch_new(struct call *c, size_t n, batch_done_fn *done)
{
    struct batch *b = calloc(1, sizeof(*b));

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

/* Sends a->n arguments as command i (a is cleaned up). A send that fails
 * leaves the slot "no answer". */
static void batch_send(struct batch *b, size_t i, struct pc_redis_args *a)
{
    int rc = pc_redis_cmd_args(b->call->srv->redis, a, 0, on_slot_reply, &b->refs[i]);

    pc_redis_args_cleanup(a);
    if (rc != 0) {
        b->pending--;
    }
}

static void batch_send_script(struct batch *b, size_t i, enum pc_script id, int nkeys,
                              struct pc_redis_args *a)
{
    struct sched_server *s = b->call->srv;

    if (pc_script_run(s->scripts, s->redis, id, nkeys, a, 0, on_slot_reply, &b->refs[i]) != 0) {
        b->pending--;
    }
}

/* All commands are sent: done runs when the last reply arrives (or now). */
static void batch_launch(struct batch *b)
{
    batch_settle(b);
}

/*
 * A batch of the n commands a[] built by the caller, sent in this order on
 * the one connection (so Redis applies them in this order); every a[i] is
 * cleaned up. Answers 500 itself when a command could not be built
 * (build_failed says which) or memory runs out.
 */
static void run_batch(struct call *c, struct pc_redis_args *a, size_t n, batch_done_fn *done,
                      const char *build_failed)
{
    struct batch *b = NULL;
    bool built = true;

    for (size_t i = 0; i < n; i++) {
        built = built && pc_redis_args_error(&a[i]) == 0;
    }
    if (built) {
        b = batch_new(c, n, done);
    }
    if (b == NULL) {
        for (size_t i = 0; i < n; i++) {
            pc_redis_args_cleanup(&a[i]);
        }
        reply_code(c, SCHED_INTERNAL, "%s", built ? "out of memory" : build_failed);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        batch_send(b, i, &a[i]);
    }
    batch_launch(b);
}

/* A batch of one command built by the caller; answers 500 itself on failure. */
static void run_one(struct call *c, struct pc_redis_args *a, batch_done_fn *done)
{
    run_batch(c, a, 1, done, "cannot build a Redis command");
}

/*
 * The count newest ids of the executions index (ZREVRANGE), then done;
 * answers 503 itself while Redis is away.
 */
static void run_newest_ids(struct call *c, uint64_t count, batch_done_fn *done)
{
    struct pc_redis_args a;
    char key[PC_KEY_MAX];

    if (!pc_redis_conn_ready(c->srv->redis)) {
        reply_unavailable(c);
        return;
    }
    (void)pc_key_execs(key, sizeof(key), c->srv->cfg->prefix);
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, "ZREVRANGE");
    pc_redis_args_addz(&a, key);
    pc_redis_args_addz(&a, "0");
    pc_redis_args_addu64(&a, count - 1);
    run_one(c, &a, done);
}

/*
 * After run_newest_ids (slots[0] holds the ids): one HMGET of the n_fields
 * fields per id, in a batch whose slot i answers id i, then done. An id
 * this API cannot show keeps an empty slot (SCHED_FLAT_NIL). Answers the
 * failures itself.
 */
static void run_hmget_each(struct call *c, const struct sched_flat *slots,
                           const char *const *fields, size_t n_fields, batch_done_fn *done)
{
    const struct sched_flat *ids = &slots[0];
    struct batch *b = NULL;

    if (reply_if_failed(c, slots, 1)) {
        return;
    }
    if (ids->kind != SCHED_FLAT_ARRAY) {
        reply_code(c, SCHED_INTERNAL, "the executions index is not a sorted set");
        return;
    }
    b = batch_new(c, ids->n, done);
    if (b == NULL) {
        reply_code(c, SCHED_INTERNAL, "out of memory");
        return;
    }
    for (size_t i = 0; i < ids->n; i++) {
        struct pc_redis_args a;
        char key[PC_KEY_MAX];

        if (ids->v[i].p == NULL || !pc_exec_id_valid(ids->v[i].p, ids->v[i].n) ||
            pc_key_exec(key, sizeof(key), c->srv->cfg->prefix, ids->v[i].p) < 0) {
            b->pending--;
            b->slots[i].kind = SCHED_FLAT_NIL;
            continue;
        }
        pc_redis_args_init(&a);
        pc_redis_args_addz(&a, "HMGET");
        pc_redis_args_addz(&a, key);
        for (size_t f = 0; f < n_fields; f++) {
            pc_redis_args_addz(&a, fields[f]);
        }
        batch_send(b, i, &a);
    }
    batch_launch(b);
}

/* ------------------------------------------------------------------------ */
/* POST /v1/executions                                                       */

static void submit_done(struct call *c, struct sched_flat *slots, size_t n)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
    char location[128];
    struct pc_buf b;
    int rc;

    if (reply_if_failed(c, slots, n)) {
        return;
    }
    (void)snprintf(location, sizeof(location), "/v1/executions/%s", c->sub.job.id);
    (void)evhttp_add_header(h, "Location", location);
    pc_buf_init(&b, 4096);
    rc = pc_buf_appendf(&b, "{\"id\":\"%s\",\"status\":\"queued\"}", c->sub.job.id);
    reply_built(c, 202, rc, &b);
    pc_buf_cleanup(&b);
}

/* The commands of the submit sequence (docs/fleet.md "Submitting"): HSET
 * the meta hash (status=queued), ZADD the index, XADD the job, SET the kept job. */
static void submit_args(const struct call *c, struct pc_redis_args a[PC_SUBMIT_CMDS])
{
    if (pc_submit_args(c->srv->cfg->prefix, &c->sub.job, c->sub.job_bytes.data,
                       c->sub.job_bytes.len, c->sub.blocks_total, a) != 0 &&
        pc_redis_args_error(&a[0]) == 0) {
        a[0].rc = PC_ELIMIT;
    }
}

static void handle_submit(struct call *c)
{
    struct sched_server *s = c->srv;
    struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
    size_t len = evbuffer_get_length(in);
    const char *body = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
    struct pc_redis_args a[PC_SUBMIT_CMDS];
    char id[PC_ULID_LEN + 1];
    struct sched_fail fail;
    struct pc_err err;

    pc_err_clear(&err);
    if (body == NULL) {
        reply_code(c, SCHED_INTERNAL, "out of memory");
        return;
    }
    if (pc_ulid_next(&s->ulid, id, &err) != 0) {
        reply_code(c, SCHED_INTERNAL, "cannot make an execution id: %s", err.msg);
        return;
    }
    /* Everything is checked before Redis is touched: a bad request queues nothing. */
    if (sched_submit_parse(body, len, s->registry, s->cfg->queue.s, id,
                           pc_ulid_time_ms(id, PC_ULID_LEN), &c->sub, &fail) != 0) {
        reply_fail(c, &fail);
        return;
    }
    c->has_sub = true;
    if (!pc_redis_conn_ready(s->redis)) {
        reply_unavailable(c);
        return;
    }
    submit_args(c, a);
    run_batch(c, a, PC_SUBMIT_CMDS, submit_done, "cannot build the submit commands");
}

/* ------------------------------------------------------------------------ */
/* GET /v1/executions                                                        */

static void list_metas_done(struct call *c, struct sched_flat *slots, size_t n)
{
    bool first = true;
    struct pc_buf b;
    int rc;

    if (reply_if_failed(c, slots, n)) {
        return;
    }
    pc_buf_init(&b, RESPONSE_MAX);
    rc = pc_buf_puts(&b, "{\"executions\":[");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct sched_meta m;

        if (slots[i].kind != SCHED_FLAT_ARRAY || slots[i].n != SCHED_META_NFIELDS ||
            slots[i].v[0].p == NULL) {
            continue; /* expired since it was indexed */
        }
        memcpy(m.v, slots[i].v, sizeof(m.v));
        rc = first ? 0 : pc_buf_puts(&b, ",");
        first = false;
        rc = rc == 0 ? sched_json_execution(&b, &m) : rc;
    }
    rc = rc == 0 ? pc_buf_puts(&b, "]}") : rc;
    reply_built(c, 200, rc, &b);
    pc_buf_cleanup(&b);
}

static void list_ids_done(struct call *c, struct sched_flat *slots, size_t n)
{
    (void)n;
    run_hmget_each(c, slots, sched_meta_fields, SCHED_META_NFIELDS, list_metas_done);
}

static void handle_list(struct call *c, const char *query)
{
    char value[QUERY_VALUE_MAX];
    unsigned long long limit = LIST_DEFAULT;
    bool found = false;

    if (sched_query_get(query, "limit", value, sizeof(value), &found) != 0 ||
        (found && sched_parse_count(value, 1, LIST_MAX, &limit) != 0)) {
        reply_code(c, SCHED_BAD_REQUEST, "limit must be a number in 1..%d", LIST_MAX);
        return;
    }
    run_newest_ids(c, limit, list_ids_done);
}

/* ------------------------------------------------------------------------ */
/* GET /v1/executions/{id}                                                   */

static void get_done(struct call *c, struct sched_flat *slots, size_t n)
{
    const struct sched_flat *meta = &slots[0];
    const struct sched_flat *prog = &slots[1];
    const struct sched_flat *full = &slots[2];
    const struct sched_str *report = NULL;
    struct sched_meta m;
    struct pc_buf b;
    int rc;

    if (reply_if_failed(c, slots, n)) {
        return;
    }
    if (meta->kind != SCHED_FLAT_ARRAY || meta->n == 0) {
        reply_code(c, SCHED_EXECUTION_NOT_FOUND, "execution %s not found", c->route.id);
        return;
    }
    sched_meta_from_kv(meta->v, meta->n, &m);
    pc_buf_init(&b, RESPONSE_MAX);
    rc = pc_buf_puts(&b, "{\"execution\":");
    rc = rc == 0 ? sched_json_execution(&b, &m) : rc;
    rc = rc == 0 ? pc_buf_puts(&b, ",\"items\":") : rc;
    if (rc == 0) {
        rc = sched_json_items(&b, sched_kv_find(meta->v, meta->n, "items"),
                              prog->kind == SCHED_FLAT_ARRAY ? prog->v : NULL,
                              prog->kind == SCHED_FLAT_ARRAY ? prog->n : 0);
    }
    rc = rc == 0 ? pc_buf_puts(&b, ",\"report\":") : rc;
    /* The full report when there is one, else the meta hash's summary. */
    report = full->kind == SCHED_FLAT_STR && full->n > 0 && full->v[0].n > 0
                 ? &full->v[0]
                 : sched_kv_find(meta->v, meta->n, "report");
    if (rc == 0) {
        rc = sched_json_report(&b, report, sched_kv_find(meta->v, meta->n, "outcome"),
                               sched_kv_find(meta->v, meta->n, "error"));
    }
    rc = rc == 0 ? pc_buf_puts(&b, "}") : rc;
    reply_built(c, 200, rc, &b);
    pc_buf_cleanup(&b);
}

static void handle_get(struct call *c)
{
    const char *prefix = c->srv->cfg->prefix;
    struct pc_redis_args a[3];
    char key[PC_KEY_MAX];

    if (!pc_redis_conn_ready(c->srv->redis)) {
        reply_unavailable(c);
        return;
    }
    for (size_t i = 0; i < 3; i++) {
        pc_redis_args_init(&a[i]);
        pc_redis_args_addz(&a[i], i < 2 ? "HGETALL" : "GET");
    }
    if (pc_key_exec(key, sizeof(key), prefix, c->route.id) < 0) {
        a[0].rc = PC_ELIMIT;
    }
    pc_redis_args_addz(&a[0], key);
    if (pc_key_progress(key, sizeof(key), prefix, c->route.id) < 0) {
        a[1].rc = PC_ELIMIT;
    }
    pc_redis_args_addz(&a[1], key);
    if (pc_key_report(key, sizeof(key), prefix, c->route.id) < 0) {
        a[2].rc = PC_ELIMIT;
    }
    pc_redis_args_addz(&a[2], key);
    run_batch(c, a, 3, get_done, "cannot build the Redis commands");
}

/* ------------------------------------------------------------------------ */
/* POST /v1/executions/{id}/interrupt                                        */

static void interrupt_reply(struct call *c, const char *status, bool requested)
{
    struct pc_buf b;
    int rc;

    pc_buf_init(&b, 4096);
    rc = pc_buf_appendf(&b, "{\"id\":\"%s\",\"status\":", c->route.id);
    rc = rc == 0 ? pc_buf_append_json_str(&b, status, strlen(status)) : rc;
    rc = rc == 0 ? pc_buf_appendf(&b, ",\"requested\":%s", requested ? "true" : "false") : rc;
    /* The receipt: what was asked and when; the worker records when it
     * latched it (interrupt_latched_ms) and the outcome on the execution. */
    if (rc == 0 && requested) {
        rc = pc_buf_appendf(&b, ",\"mode\":\"%s\",\"deadline_ms\":%llu,\"requested_ms\":%llu",
                            pc_interrupt_mode_name(c->ireq.mode),
                            (unsigned long long)(c->ireq.has_deadline
                                                     ? c->ireq.deadline_ms
                                                     : PC_INTERRUPT_DEADLINE_DEFAULT_MS),
                            (unsigned long long)c->ireq_ms);
    }
    rc = rc == 0 ? pc_buf_puts(&b, "}") : rc;
    reply_built(c, 202, rc, &b);
    pc_buf_cleanup(&b);
}

static void interrupt_published(struct call *c, struct sched_flat *slots, size_t n)
{
    (void)n;
    if (slots[0].kind == SCHED_FLAT_NONE || slots[0].kind == SCHED_FLAT_ERROR) {
        /* The marker is recorded: the worker honours it at its next lease
         * renewal (or at start), so the request stands. */
        sched_log("execution %s: interrupt recorded, PUBLISH failed", c->route.id);
    }
    interrupt_reply(c, c->status, true);
}

static void interrupt_marked(struct call *c, struct sched_flat *slots, size_t n)
{
    struct pc_redis_args a;
    char channel[PC_KEY_MAX];

    if (reply_if_failed(c, slots, n)) {
        return;
    }
    if (slots[0].kind != SCHED_FLAT_INT) {
        reply_code(c, SCHED_INTERNAL, "exec_mark_interrupt: unexpected reply");
        return;
    }
    if (slots[0].integer == 0) {
        interrupt_reply(c, "finished", false); /* it finished in between */
        return;
    }
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, "PUBLISH");
    if (pc_key_interrupt_channel(channel, sizeof(channel), c->srv->cfg->prefix, c->route.id) < 0) {
        a.rc = PC_ELIMIT;
    }
    pc_redis_args_addz(&a, channel);
    {
        /* A plain finish publishes the bare reason, as before modes existed. */
        char payload[MSG_EVENT_REASON_MAX + 48];
        struct pc_interrupt_req r = c->ireq;
        int len = 0;

        r.reason = c->reason;
        r.reason_len = strlen(c->reason);
        len = pc_interrupt_payload_format(&r, payload, sizeof(payload));
        if (len < 0 || (size_t)len >= sizeof(payload)) {
            a.rc = PC_ELIMIT;
            len = 0;
        }
        pc_redis_args_add(&a, payload, (size_t)len);
    }
    run_one(c, &a, interrupt_published);
}

static void interrupt_status(struct call *c, struct sched_flat *slots, size_t n)
{
    const struct sched_flat *st = &slots[0];
    struct pc_redis_args a;
    char key[PC_KEY_MAX];
    struct batch *b = NULL;

    if (reply_if_failed(c, slots, n)) {
        return;
    }
    if (st->kind != SCHED_FLAT_STR) {
        reply_code(c, SCHED_EXECUTION_NOT_FOUND, "execution %s not found", c->route.id);
        return;
    }
    (void)snprintf(c->status, sizeof(c->status), "%.*s", (int)(st->v[0].n < 15 ? st->v[0].n : 15),
                   st->v[0].p);
    if (strcmp(c->status, "finished") == 0) {
        interrupt_reply(c, c->status, false);
        return;
    }
    /* Record the marker first (so a queued execution ends interrupted when
     * it starts, whoever hears the PUBLISH), then publish. */
    pc_redis_args_init(&a);
    if (pc_key_exec(key, sizeof(key), c->srv->cfg->prefix, c->route.id) < 0) {
        a.rc = PC_ELIMIT;
    }
    pc_redis_args_addz(&a, key);
    c->ireq_ms = sched__unix_ms();
    pc_redis_args_addu64(&a, c->ireq_ms);
    pc_redis_args_addz(&a, c->reason);
    pc_redis_args_addz(&a, pc_interrupt_mode_name(c->ireq.mode));
    pc_redis_args_addu64(&a, c->ireq.has_deadline ? c->ireq.deadline_ms
                                                  : PC_INTERRUPT_DEADLINE_DEFAULT_MS);
    if (pc_redis_args_error(&a) != 0 || (b = batch_new(c, 1, interrupt_marked)) == NULL) {
        pc_redis_args_cleanup(&a);
        reply_code(c, SCHED_INTERNAL, "cannot build the interrupt script call");
        return;
    }
    batch_send_script(b, 0, PC_SCRIPT_EXEC_MARK_INTERRUPT, 1, &a);
    batch_launch(b);
}

static void handle_interrupt(struct call *c)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
    size_t len = evbuffer_get_length(in);
    const char *body = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
    struct pc_redis_args a;
    struct sched_fail fail;
    char key[PC_KEY_MAX];

    if (body == NULL) {
        reply_code(c, SCHED_INTERNAL, "out of memory");
        return;
    }
    if (sched_interrupt_parse_mode(body, len, c->reason, sizeof(c->reason), &c->ireq, &fail) != 0) {
        reply_fail(c, &fail);
        return;
    }
    if (c->reason[0] == '\0') {
        memcpy(c->reason, DEFAULT_REASON, sizeof(DEFAULT_REASON));
    }
    if (!pc_redis_conn_ready(c->srv->redis)) {
        reply_unavailable(c);
        return;
    }
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, "HGET");
    if (pc_key_exec(key, sizeof(key), c->srv->cfg->prefix, c->route.id) < 0) {
        a.rc = PC_ELIMIT;
    }
    pc_redis_args_addz(&a, key);
    pc_redis_args_addz(&a, "status");
    run_one(c, &a, interrupt_status);
}

/* ------------------------------------------------------------------------ */
/* GET /v1/states/{app}/{profile}/{flow}                                     */

static void states_done(struct call *c, struct sched_flat *slots, size_t n)
{
    const struct sched_route *r = &c->route;
    struct pc_buf b;
    struct pc_err err;
    int rc;

    pc_err_clear(&err);
    if (reply_if_failed(c, slots, n)) {
        return;
    }
    pc_buf_init(&b, RESPONSE_MAX);
    rc = pc_buf_appendf(&b,
                        "{\"app\":\"%s\",\"profile\":\"%s\",\"flow\":\"%s\",\"current\":", r->app.s,
                        r->profile.s, r->flow.s);
    for (size_t k = 0; rc == 0 && k < 2; k++) {
        const struct sched_flat *h = &slots[k];

        rc = k == 1 ? pc_buf_puts(&b, ",\"goal\":") : 0;
        if (rc == 0) {
            rc = h->kind == SCHED_FLAT_ARRAY ? sched_json_states(&b, h->v, h->n, &err)
                                             : pc_buf_puts(&b, "{}");
        }
    }
    rc = rc == 0 ? pc_buf_puts(&b, "}") : rc;
    if (rc == PC_ESCHEMA) {
        reply_code(c, SCHED_INTERNAL, "%s", err.msg);
    } else {
        reply_built(c, 200, rc, &b);
    }
    pc_buf_cleanup(&b);
}

static void handle_states(struct call *c)
{
    static const enum pc_states_kind kinds[2] = {PC_STATES_CURRENT, PC_STATES_GOAL};
    const struct sched_route *r = &c->route;
    struct pc_redis_args a[2];
    char key[PC_KEY_MAX];

    if (!pc_redis_conn_ready(c->srv->redis)) {
        reply_unavailable(c);
        return;
    }
    for (size_t k = 0; k < 2; k++) {
        pc_redis_args_init(&a[k]);
        pc_redis_args_addz(&a[k], "HGETALL");
        if (pc_key_states(key, sizeof(key), c->srv->cfg->prefix, r->app.s, r->profile.s, r->flow.s,
                          kinds[k]) < 0) {
            a[k].rc = PC_ELIMIT;
        }
        pc_redis_args_addz(&a[k], key);
    }
    run_batch(c, a, 2, states_done, "cannot build the Redis commands");
}

/* ------------------------------------------------------------------------ */
/* GET /healthz                                                              */

static void healthz_unavailable(struct call *c, const char *why)
{
    struct pc_buf b;
    int rc;

    pc_buf_init(&b, 4096);
    rc = pc_buf_puts(&b, "{\"status\":\"unavailable\",\"error\":");
    rc = rc == 0 ? pc_buf_append_json_str(&b, why, strlen(why)) : rc;
    rc = rc == 0 ? pc_buf_puts(&b, "}") : rc;
    if (rc == 0) {
        reply_json(c, 503, &b);
    } else {
        reply_code(c, SCHED_INTERNAL, "cannot build the answer");
    }
    pc_buf_cleanup(&b);
}

static void healthz_done(struct call *c, struct sched_flat *slots, size_t n)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    char why[PC_ERR_MSG_MAX + 64];

    (void)n;
    if (slots[0].kind == SCHED_FLAT_STR && slots[0].v[0].n == 4 &&
        memcmp(slots[0].v[0].p, "PONG", 4) == 0) {
        reply_raw(c, 200, "application/json", ok, sizeof(ok) - 1);
        return;
    }
    if (slots[0].kind == SCHED_FLAT_ERROR) {
        (void)snprintf(why, sizeof(why), "Redis at %s: %.*s", c->srv->redis_where,
                       (int)(slots[0].v[0].n < 200 ? slots[0].v[0].n : 200), slots[0].v[0].p);
    } else {
        (void)snprintf(why, sizeof(why), "Redis at %s did not answer PING", c->srv->redis_where);
    }
    healthz_unavailable(c, why);
}

static void handle_healthz(struct call *c)
{
    struct pc_redis_args a;
    char why[2 * PC_ERR_MSG_MAX + 64];

    if (!pc_redis_conn_ready(c->srv->redis)) {
        (void)snprintf(why, sizeof(why), "Redis at %s cannot be reached%s%s", c->srv->redis_where,
                       c->srv->redis_why[0] != '\0' ? ": " : "", c->srv->redis_why);
        healthz_unavailable(c, why);
        return;
    }
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, "PING");
    run_one(c, &a, healthz_done);
}

/* ------------------------------------------------------------------------ */
/* GET /metrics                                                              */

enum {
    M_STATUS = 0,
    M_OUTCOME,
    M_QUEUE,
    M_INTERRUPT_MS,
    M_FINISHED_MS,
    M_CMD,
    M_CREATED_MS,
    M_STARTED_MS,
    M_BLOCK_MS,
    M_REPORT,
    M_NFIELDS
};

static const char *const metrics_fields[M_NFIELDS] = {
    "status",     "outcome",  "queue", "interrupt_requested_ms", "finished_ms", "cmd", "created_ms",
    "started_ms", "block_ms", "report"};

/* The timings of one sampled execution: queue wait, run time, block times. */
static void metrics_timings(struct call *c, const struct sched_flat *f, enum pc_outcome_kind kind,
                            bool finished)
{
    struct sched_metrics *m = &c->metrics;
    const struct sched_str *bm = &f->v[M_BLOCK_MS];
    const struct sched_str *rep = &f->v[M_REPORT];
    uint64_t created = 0;
    uint64_t started = 0;
    uint64_t done = 0;
    enum pc_cmd cmd;
    struct pc_outcome o;

    if (!sched_str_u64(&f->v[M_CREATED_MS], &created) ||
        !sched_str_u64(&f->v[M_STARTED_MS], &started) || started < created) {
        return;
    }
    m->wait_s[m->n_wait++] = (double)(started - created) / 1000.0;
    if (!finished || f->v[M_CMD].p == NULL ||
        pc_cmd_parse(f->v[M_CMD].p, f->v[M_CMD].n, &cmd, NULL) != 0 ||
        !sched_str_u64(&f->v[M_FINISHED_MS], &done) || done < started) {
        return;
    }
    m->exec_t[m->n_exec++] = (struct sched_timing){
        .cmd = (uint8_t)cmd, .label = (uint8_t)kind, .s = (done - started) / 1000.0};
    /* block_ms lists the blocks run in the command's order (the summary's block list). */
    if (bm->p == NULL || bm->n == 0 || rep->p == NULL ||
        msg_report_decode(rep->p, rep->n, &o, NULL) != 0) {
        return;
    }
    for (size_t b = 0, i = 0; b < o.n_blocks && i < bm->n; b++) {
        uint64_t ms = 0;
        bool digit = false;

        while (i < bm->n && bm->p[i] >= '0' && bm->p[i] <= '9' && ms < UINT64_MAX / 20) {
            ms = ms * 10 + (uint64_t)(bm->p[i++] - '0');
            digit = true;
        }
        if (!digit || (i < bm->n && bm->p[i++] != ',')) {
            break;
        }
        m->block_t[m->n_block++] = (struct sched_timing){
            .cmd = (uint8_t)cmd, .label = (uint8_t)o.blocks[b], .s = (double)ms / 1000.0};
    }
    pc_outcome_cleanup(&o);
}

static void metrics_queues_done(struct call *c, struct sched_flat *slots, size_t n)
{
    struct sched_metrics *m = &c->metrics;
    struct pc_buf b;
    int rc;

    for (size_t q = 0; q < m->n_queues && 3 * q + 2 < n; q++) {
        const struct sched_flat *len = &slots[3 * q];
        const struct sched_flat *pend = &slots[3 * q + 1];
        const struct sched_flat *live = &slots[3 * q + 2];
        uint64_t v = 0;

        if (len->kind == SCHED_FLAT_NONE || pend->kind == SCHED_FLAT_NONE ||
            live->kind == SCHED_FLAT_NONE) {
            reply_unavailable(c);
            return;
        }
        m->queues[q].length =
            len->kind == SCHED_FLAT_INT && len->integer > 0 ? (uint64_t)len->integer : 0;
        /* XPENDING summary: [count, first id, last id, consumers]; an error
         * (no such group yet) is zero pending. */
        m->queues[q].pending =
            pend->kind == SCHED_FLAT_ARRAY && pend->n > 0 && sched_str_u64(&pend->v[0], &v) ? v : 0;
        m->queues[q].workers_live =
            live->kind == SCHED_FLAT_INT && live->integer > 0 ? (uint64_t)live->integer : 0;
    }
    m->interrupt_s = c->interrupt_s;
    m->http = &c->srv->http_counts;
    m->sse_streams = c->srv->n_streams;
    pc_buf_init(&b, RESPONSE_MAX);
    rc = sched_metrics_render(m, &b);
    if (rc != 0) {
        reply_code(c, SCHED_INTERNAL, "cannot build the metrics (%s)", pc_strerror(rc));
    } else {
        reply_raw(c, 200, "text/plain; version=0.0.4; charset=utf-8", pc_buf_str(&b), b.len);
    }
    pc_buf_cleanup(&b);
}

/* Adds queue (p, n) to the report unless known or the table is full. */
static void metrics_add_queue(struct sched_metrics *m, const char *p, size_t n)
{
    if (m->n_queues == SCHED_METRICS_QUEUES_MAX || !pc_ident_valid(p, n)) {
        return;
    }
    for (size_t q = 0; q < m->n_queues; q++) {
        if (strlen(m->queues[q].name.s) == n && memcmp(m->queues[q].name.s, p, n) == 0) {
            return;
        }
    }
    memcpy(m->queues[m->n_queues].name.s, p, n);
    m->queues[m->n_queues].name.s[n] = '\0';
    m->n_queues++;
}

/* Counts one sampled execution (HMGET of metrics_fields). */
static void metrics_count(struct call *c, const struct sched_flat *f)
{
    struct sched_metrics *m = &c->metrics;
    const struct sched_str *st = &f->v[M_STATUS];
    enum pc_outcome_kind kind;
    uint64_t asked = 0;
    uint64_t done = 0;

    m->sampled++;
    for (size_t s = 0; s < SCHED_STATUS_COUNT; s++) {
        const char *name = sched_exec_status_name((enum sched_exec_status)s);

        if (st->n == strlen(name) && memcmp(st->p, name, st->n) == 0) {
            m->by_status[s]++;
        }
    }
    if (f->v[M_OUTCOME].p != NULL &&
        pc_outcome_kind_parse(f->v[M_OUTCOME].p, f->v[M_OUTCOME].n, &kind) == 0 &&
        (unsigned)kind < SCHED_OUTCOME_COUNT) {
        m->by_outcome[kind]++;
        metrics_timings(c, f, kind, true);
    } else {
        metrics_timings(c, f, PC_OUTCOME_COMPLETE, false);
    }
    if (f->v[M_QUEUE].p != NULL) {
        metrics_add_queue(m, f->v[M_QUEUE].p, f->v[M_QUEUE].n);
    }
    if (sched_str_u64(&f->v[M_INTERRUPT_MS], &asked) &&
        sched_str_u64(&f->v[M_FINISHED_MS], &done) && done >= asked) {
        c->interrupt_s[m->n_interrupt++] = (double)(done - asked) / 1000.0;
    }
}

/* XLEN, XPENDING and the live workers (their heartbeats, docs/fleet.md) of every
 * reported queue. */
static void metrics_send_queues(struct call *c)
{
    struct sched_metrics *m = &c->metrics;
    struct batch *b = batch_new(c, 3 * m->n_queues, metrics_queues_done);

    if (b == NULL) {
        reply_code(c, SCHED_INTERNAL, "out of memory");
        return;
    }
    for (size_t q = 0; q < m->n_queues; q++) {
        struct pc_redis_args a[3];
        char key[PC_KEY_MAX];
        char workers[PC_KEY_MAX];
        bool bad =
            pc_key_queue(key, sizeof(key), c->srv->cfg->prefix, m->queues[q].name.s) < 0 ||
            pc_key_workers(workers, sizeof(workers), c->srv->cfg->prefix, m->queues[q].name.s) < 0;

        for (size_t k = 0; k < 3; k++) {
            pc_redis_args_init(&a[k]);
        }
        pc_redis_args_addz(&a[0], "XLEN");
        pc_redis_args_addz(&a[0], key);
        pc_redis_args_addz(&a[1], "XPENDING");
        pc_redis_args_addz(&a[1], key);
        pc_redis_args_addz(&a[1], "workers");
        /* A beat's score is when it expires: those still in the future. */
        pc_redis_args_addz(&a[2], "ZCOUNT");
        pc_redis_args_addz(&a[2], workers);
        pc_redis_args_addf(&a[2], "(%llu", (unsigned long long)sched__unix_ms());
        pc_redis_args_addz(&a[2], "+inf");
        for (size_t k = 0; k < 3; k++) {
            if (bad) {
                pc_redis_args_cleanup(&a[k]);
                b->pending--;
                b->slots[3 * q + k].kind = SCHED_FLAT_NIL;
            } else {
                batch_send(b, 3 * q + k, &a[k]);
            }
        }
    }
    batch_launch(b);
}

static void metrics_metas_done(struct call *c, struct sched_flat *slots, size_t n)
{
    if (reply_if_failed(c, slots, n)) {
        return;
    }
    c->interrupt_s = calloc(n + 1, sizeof(*c->interrupt_s));
    c->wait_s = calloc(n + 1, sizeof(*c->wait_s));
    c->timings = calloc((n + 1) * (PC_BLOCKS_MAX + 1), sizeof(*c->timings));
    c->metrics.wait_s = c->wait_s;
    c->metrics.exec_t = c->timings;
    c->metrics.block_t = c->timings != NULL ? c->timings + n + 1 : NULL;
    if (c->interrupt_s == NULL || c->wait_s == NULL || c->timings == NULL) {
        reply_code(c, SCHED_INTERNAL, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (slots[i].kind == SCHED_FLAT_ARRAY && slots[i].n == M_NFIELDS &&
            slots[i].v[M_STATUS].p != NULL) {
            metrics_count(c, &slots[i]); /* else: expired since it was indexed */
        }
    }
    metrics_send_queues(c);
}

static void metrics_ids_done(struct call *c, struct sched_flat *slots, size_t n)
{
    (void)n;
    /* The configured queue is always reported, even when idle. */
    metrics_add_queue(&c->metrics, c->srv->cfg->queue.s, strlen(c->srv->cfg->queue.s));
    run_hmget_each(c, slots, metrics_fields, M_NFIELDS, metrics_metas_done);
}

static void handle_metrics(struct call *c)
{
    run_newest_ids(c, SCHED_METRICS_SAMPLE, metrics_ids_done);
}

/* ------------------------------------------------------------------------ */
/* GET /v1/executions/{id}/events                                            */

static void events_exists_done(struct call *c, struct sched_flat *slots, size_t n)
{
    struct sched_fail fail;

    if (reply_if_failed(c, slots, n)) {
        return;
    }
    if (slots[0].kind != SCHED_FLAT_INT || slots[0].integer != 1) {
        reply_code(c, SCHED_EXECUTION_NOT_FOUND, "execution %s not found", c->route.id);
        return;
    }
    if (sched__sse_start(c->srv, c->req, c->route.id, c->last_id, c->t0, c->log_path, &fail) != 0) {
        reply_fail(c, &fail);
        return;
    }
    call_free(c); /* the stream answers the request from here on */
}

static void handle_events(struct call *c, const char *query)
{
    struct sched_server *s = c->srv;
    const char *header =
        evhttp_find_header(evhttp_request_get_input_headers(c->req), "Last-Event-ID");
    struct pc_redis_args a;
    char key[PC_KEY_MAX];
    bool found = false;

    if (header != NULL && header[0] != '\0') {
        if (strlen(header) > SCHED_STREAM_ID_MAX || !sched_stream_id_valid(header)) {
            reply_code(c, SCHED_BAD_REQUEST, "Last-Event-ID is not a stream entry id");
            return;
        }
        memcpy(c->last_id, header, strlen(header) + 1);
    } else if (sched_query_get(query, "last_event_id", c->last_id, sizeof(c->last_id), &found) !=
                   0 ||
               (found && c->last_id[0] != '\0' && !sched_stream_id_valid(c->last_id))) {
        reply_code(c, SCHED_BAD_REQUEST, "last_event_id is not a stream entry id");
        return;
    }
    if (c->last_id[0] == '\0') {
        memcpy(c->last_id, "0-0", 4);
    }
    if (s->stopping || s->n_streams >= s->cfg->max_sse) {
        reply_code(c, SCHED_TOO_MANY_STREAMS, "%s",
                   s->stopping ? "the scheduler is shutting down"
                               : "every event stream is in use; retry later");
        return;
    }
    if (!pc_redis_conn_ready(s->redis)) {
        reply_unavailable(c);
        return;
    }
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, "EXISTS");
    if (pc_key_exec(key, sizeof(key), s->cfg->prefix, c->route.id) < 0) {
        a.rc = PC_ELIMIT;
    }
    pc_redis_args_addz(&a, key);
    run_one(c, &a, events_exists_done);
}

/* ------------------------------------------------------------------------ */
/* Dispatch                                                                  */

static void on_request(struct evhttp_request *req, void *arg)
{
    struct sched_server *s = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    char path[SCHED_PATH_MAX + 2];
    const char *query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    struct call *c = calloc(1, sizeof(*c));
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct sched_request rq;
    struct sched_fail fail;
    size_t body_len;

    if (c == NULL) {
        evhttp_send_error(req, 500, NULL);
        sched__request_done(s, method_text(cmd), "?", 500, sched__mono_ms());
        return;
    }
    c->srv = s;
    c->req = req;
    c->t0 = sched__mono_ms();
    (void)snprintf(c->method, sizeof(c->method), "%s", method_text(cmd));
    sched_log_target(evhttp_request_get_uri(req), c->log_path, sizeof(c->log_path));
    /* The path as sent: the URI parser reads "//x" as a host. */
    sched_request_path(evhttp_request_get_uri(req), uri != NULL ? evhttp_uri_get_path(uri) : NULL,
                       path, sizeof(path));
    memset(&rq, 0, sizeof(rq));
    rq.method = method_kind(cmd);
    rq.path = path;
    rq.query = query;
    rq.authorization = evhttp_find_header(in, "Authorization");
    rq.content_type = evhttp_find_header(in, "Content-Type");
    rq.host = evhttp_find_header(in, "Host");
    rq.origin = evhttp_find_header(in, "Origin");
    /* Route, permission, token, Host, Origin and media type: one decision. */
    if (sched_guard_decide(&s->guard, &rq, &c->route, NULL, &fail) != 0) {
        reply_fail(c, &fail);
        return;
    }
    /* evhttp refused far larger bodies itself (see sched_server_create). */
    body_len = evbuffer_get_length(evhttp_request_get_input_buffer(req));
    if (body_len > s->cfg->max_body) {
        reply_code(c, SCHED_BODY_TOO_LARGE, "the body is over %zu bytes", s->cfg->max_body);
        return;
    }
    switch (c->route.kind) {
    case SCHED_ROUTE_PAGE:
        reply_raw(c, 200, "text/html; charset=utf-8", sched_page_html, sched_page_html_len);
        break;
    case SCHED_ROUTE_HEALTHZ:
        handle_healthz(c);
        break;
    case SCHED_ROUTE_METRICS:
        handle_metrics(c);
        break;
    case SCHED_ROUTE_SUBMIT:
        handle_submit(c);
        break;
    case SCHED_ROUTE_LIST:
        handle_list(c, query);
        break;
    case SCHED_ROUTE_GET:
        handle_get(c);
        break;
    case SCHED_ROUTE_EVENTS:
        handle_events(c, query);
        break;
    case SCHED_ROUTE_INTERRUPT:
        handle_interrupt(c);
        break;
    case SCHED_ROUTE_STATES:
        handle_states(c);
        break;
    }
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */

static void on_redis_state(void *ctx, bool ready, const char *why)
{
    struct sched_server *s = ctx;
    bool was_ready = s->redis_ready;

    s->redis_ready = ready;
    (void)snprintf(s->redis_why, sizeof(s->redis_why), "%s", why);
    if (ready) {
        pc_scripts_load(s->scripts, s->redis);
    }
    if (s->redis_known && ready != was_ready) {
        sched_log("redis %s: %s%s%s", s->redis_where, ready ? "connected" : "unavailable",
                  why[0] != '\0' ? ": " : "", why);
    }
    s->redis_known = true;
}

static void on_libevent_log(int severity, const char *msg)
{
    if (severity >= EVENT_LOG_WARN) {
        sched_log("libevent: %s", msg);
    }
}

static void on_stop_timer(evutil_socket_t fd, short what, void *arg)
{
    struct sched_server *s = arg;

    (void)fd;
    (void)what;
    (void)event_base_loopexit(s->base, NULL);
}

int sched_server_create(struct event_base *base, const struct sched_config *cfg,
                        const struct pc_registry *reg, struct sched_server **out,
                        struct pc_err *err)
{
    struct sched_server *s = calloc(1, sizeof(*s));
    struct pc_redis_conn_opts opts;
    int rc;

    if (s == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    s->base = base;
    s->cfg = cfg;
    s->registry = reg;
    sched_guard_from_config(cfg, &s->guard);
    pc_ulid_gen_init(&s->ulid, NULL, NULL, NULL, NULL);
    (void)pc_redis_url_describe(&cfg->redis, s->redis_where, sizeof(s->redis_where));
    event_set_log_callback(on_libevent_log);
    rc = pc_scripts_create(&s->scripts, err);
    if (rc != 0) {
        goto fail;
    }
    s->http = evhttp_new(base);
    s->stop_timer = evtimer_new(base, on_stop_timer, s);
    if (s->http == NULL || s->stop_timer == NULL) {
        rc = pc_err_set(err, PC_ENOMEM, "cannot create the HTTP server");
        goto fail;
    }
    /* Two tiers: evhttp stops reading a body a quarter over the limit (its
     * 413 has an HTML body: it answers before any callback of ours); a
     * body between the limit and that is read and refused here, in JSON
     * with the code body_too_large. */
    evhttp_set_max_body_size(s->http, (ev_ssize_t)(cfg->max_body + cfg->max_body / 4));
    evhttp_set_max_headers_size(s->http, HEADERS_MAX);
    /* A connection that sends nothing for this long while a request is
     * read (or between requests) is closed: half-sent requests end. */
    evhttp_set_timeout(s->http, (int)cfg->read_timeout_s);
    /* Every method reaches the router, which answers 405 in JSON. */
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(s->http, on_request, s);
    memset(&opts, 0, sizeof(opts));
    opts.name = "scheduler";
    opts.ordered = true; /* a submit's meta is written before its job is queued */
    opts.on_state = on_redis_state;
    opts.state_ctx = s;
    rc = pc_redis_conn_create(base, &cfg->redis, &opts, &s->redis, err);
    if (rc != 0) {
        goto fail;
    }
    *out = s;
    return 0;
fail:
    sched_server_destroy(s);
    return rc;
}

/* The listen host resolves to an address (one line, not libevent's). */
static int listen_host_check(const char *host, struct pc_err *err)
{
    struct addrinfo hints;
    struct addrinfo *ai = NULL;
    int g;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    g = getaddrinfo(host, NULL, &hints, &ai);
    if (g != 0) {
        return pc_err_set(err, PC_EINVAL,
                          "cannot listen on %s: not an address or a known host (%s)", host,
                          gai_strerror(g));
    }
    freeaddrinfo(ai);
    return 0;
}

int sched_server_start(struct sched_server *s, struct pc_err *err)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int rc;

    while (!s->redis_known) {
        if (event_base_loop(s->base, EVLOOP_ONCE) < 0) {
            return pc_err_set(err, PC_EINTERNAL, "the event loop failed");
        }
    }
    if (!s->redis_ready) {
        return pc_err_set(err, PC_EREDIS, "cannot reach Redis at %s: %s", s->redis_where,
                          s->redis_why);
    }
    rc = listen_host_check(s->cfg->listen_host, err);
    if (rc != 0) {
        return rc;
    }
    errno = 0;
    s->bound = evhttp_bind_socket_with_handle(s->http, s->cfg->listen_host, s->cfg->listen_port);
    if (s->bound == NULL) {
        int e = errno;
        char why[128];

        /* The XSI strerror_r: thread-safe, unlike strerror. */
        if (e == 0 || strerror_r(e, why, sizeof(why)) != 0) {
            (void)snprintf(why, sizeof(why), "bind failed");
        }
        return pc_err_set(err, e != 0 ? -e : PC_EIO, "cannot listen on %s:%u: %s",
                          s->cfg->listen_host, (unsigned)s->cfg->listen_port, why);
    }
    memset(&ss, 0, sizeof(ss));
    if (getsockname(evhttp_bound_socket_get_fd(s->bound), (struct sockaddr *)&ss, &len) == 0) {
        s->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                           : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    sched_log("listening on %s:%u (redis %s, prefix %s, queue %s, %s)", s->cfg->listen_host,
              (unsigned)s->port, s->redis_where, s->cfg->prefix, s->cfg->queue.s,
              s->cfg->no_auth ? "no authentication (--no-auth)" : "token required");
    return 0;
}

uint16_t sched_server_port(const struct sched_server *s)
{
    return s->port;
}

void sched_server_stop(struct sched_server *s)
{
    struct timeval grace = {0, (suseconds_t)STOP_GRACE_MS * 1000};

    if (s->stopping) {
        return;
    }
    s->stopping = true;
    sched_log("stopping");
    if (s->bound != NULL) {
        evhttp_del_accept_socket(s->http, s->bound);
        s->bound = NULL;
    }
    sched__sse_end_all(s);
    /* A moment for answers in flight (they need Redis, which is fast). */
    (void)evtimer_add(s->stop_timer, &grace);
}

void sched_server_destroy(struct sched_server *s)
{
    if (s == NULL) {
        return;
    }
    /* Streams first (they hold requests of http), then the shared
     * connection: its pending callbacks answer their requests (503), which
     * needs http alive. */
    sched__sse_destroy_all(s);
    pc_redis_conn_destroy(s->redis);
    if (s->http != NULL) {
        evhttp_free(s->http);
    }
    if (s->stop_timer != NULL) {
        event_free(s->stop_timer);
    }
    pc_scripts_destroy(s->scripts);
    free(s);
}
