/*
 * ops_cmds.c - `peace workers`, `queues`, `dead [retry ENTRY]` and `rerun ID`
 * (cli.h): the operations of peace/fleet_ops.h run on Redis (--redis), or
 * asked of a scheduler (--server). Either way the answer is the API's JSON
 * document, printed as it is with --json and read back for the table, so the
 * two transports print the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "exec_view.h"
#include "peace/fleet_ops.h"
#include "peace/ulid.h"
#include "redis_client.h"
#include "server_exec.h"

#define OUT_MAX      (64u << 20)
#define DEAD_DEFAULT 20
#define REASON_SHOWN 60

static uint64_t unix_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The operation p on the fleet's Redis: its JSON (owned text in out) and result. */
static int run_redis(const struct cli_opts *o, struct pc_fop_params *p, struct pc_buf *out,
                     enum pc_fop_result *result)
{
    struct cli_redis *r = NULL;
    struct pc_fop *op = NULL;
    struct pc_err err;
    int status = 1;

    pc_err_clear(&err);
    p->prefix = o->prefix;
    p->partitions = o->partitions;
    /* A new execution is created at its id's time, as every submission. */
    p->now_ms = p->new_id != NULL ? pc_ulid_time_ms(p->new_id, PC_ULID_LEN) : unix_ms();
    if (pc_fop_create(p, &op, &err) != 0) {
        (void)fprintf(stderr, "peace: %s\n", err.msg);
        return 1;
    }
    if (cli_redis_connect(o->redis_url, o->prefix, &r, &err) != 0 ||
        pc_fop_run_sync(cli_redis_sync(r), op, &err) != 0) {
        (void)fprintf(stderr, "peace: %s\n", err.msg);
        goto out;
    }
    *result = pc_fop_result(op);
    if (*result == PC_FOP_NOT_FOUND || *result == PC_FOP_CONFLICT) {
        (void)fprintf(stderr, "peace: %s\n", pc_fop_message(op));
        goto out;
    }
    if (pc_fop_json(op, out) != 0) {
        (void)fprintf(stderr, "peace: the answer is too large\n");
        goto out;
    }
    status = 0;
out:
    pc_fop_destroy(op);
    cli_redis_destroy(r);
    return status;
}

/* method path on the scheduler: its JSON document (owned) in *doc. */
static int run_server(const struct cli_opts *o, enum evhttp_cmd_type method, const char *path,
                      json_t **doc)
{
    struct cli_http *h = NULL;
    struct pc_err err;
    int status = 1;

    pc_err_clear(&err);
    if (cli_server_open(o, &h) != 0) {
        return 1;
    }
    if (cli_server_call(h, method, path, method == EVHTTP_REQ_POST ? "{}" : NULL,
                        method == EVHTTP_REQ_POST ? 2 : 0, doc, &err) != 0) {
        cli_print_err(&err);
    } else {
        status = 0;
    }
    cli_http_destroy(h);
    return status;
}

/*
 * Runs p (Redis) or method path (server) and hands the document to print:
 * printed as JSON with --json, else print(doc). Exit status.
 */
static int run_and_print(const struct cli_opts *o, struct pc_fop_params *p,
                         enum evhttp_cmd_type method, const char *path,
                         void (*print)(const json_t *doc, const struct cli_opts *o))
{
    json_t *doc = NULL;
    struct pc_buf text;
    enum pc_fop_result result = PC_FOP_OK;
    int status;

    pc_buf_init(&text, OUT_MAX);
    if (o->server_url != NULL) {
        status = run_server(o, method, path, &doc);
        if (status == 0 && o->json) {
            char *s = json_dumps(doc, JSON_COMPACT);

            if (s != NULL) {
                (void)printf("%s\n", s);
                free(s);
            }
        }
    } else {
        status = run_redis(o, p, &text, &result);
        if (status == 0 && o->json) {
            (void)printf("%s\n", pc_buf_str(&text));
        } else if (status == 0) {
            json_error_t jerr;

            doc = json_loadb(pc_buf_str(&text), text.len, 0, &jerr);
            status = doc != NULL ? 0 : 1;
        }
    }
    if (status == 0 && !o->json && doc != NULL) {
        print(doc, o);
    }
    json_decref(doc);
    pc_buf_cleanup(&text);
    return status;
}

static const char *text_of(const json_t *obj, const char *name)
{
    const char *s = json_string_value(json_object_get(obj, name));

    return s != NULL ? s : "-";
}

static long long num_of(const json_t *obj, const char *name)
{
    const json_t *v = json_object_get(obj, name);

    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* "12s", "3m", "5h", "2d", or "-" for a missing time. */
static void age(char *out, size_t size, long long ms)
{
    if (ms < 0) {
        (void)snprintf(out, size, "-");
    } else if (ms < 60000) {
        (void)snprintf(out, size, "%llds", ms / 1000);
    } else if (ms < 3600000) {
        (void)snprintf(out, size, "%lldm", ms / 60000);
    } else if (ms < 86400000) {
        (void)snprintf(out, size, "%lldh", ms / 3600000);
    } else {
        (void)snprintf(out, size, "%lldd", ms / 86400000);
    }
}

/* ------------------------------------------------------------------------ */
/* workers                                                                   */

static void print_workers(const json_t *doc, const struct cli_opts *o)
{
    const json_t *list = json_object_get(doc, "workers");
    uint64_t now = unix_ms();
    size_t i;
    const json_t *w;

    (void)o;
    if (json_array_size(list) == 0) {
        (void)printf("no live workers\n");
        return;
    }
    (void)printf("%-40s %-12s %-16s %7s %-8s %7s %9s  %s\n", "CONSUMER", "QUEUE", "HOST", "PID",
                 "VERSION", "RUNNING", "LAST SEEN", "EXECUTIONS");
    json_array_foreach(list, i, w)
    {
        const json_t *ex = json_object_get(w, "executions");
        long long seen = num_of(w, "last_seen_ms");
        char seen_text[32];
        char running[32];
        size_t k;
        const json_t *id;

        age(seen_text, sizeof(seen_text), seen >= 0 ? (long long)now - seen : -1);
        (void)snprintf(running, sizeof(running), "%lld/%lld", num_of(w, "running"),
                       num_of(w, "concurrency"));
        (void)printf("%-40s %-12s %-16s %7lld %-8s %7s %9s  ", text_of(w, "consumer"),
                     text_of(w, "queue"), text_of(w, "host"), num_of(w, "pid"),
                     text_of(w, "version"), running, seen_text);
        json_array_foreach(ex, k, id)
        {
            (void)printf("%s%s", k > 0 ? "," : "", json_string_value(id));
        }
        (void)printf("%s\n", json_array_size(ex) == 0 ? "-" : "");
    }
}

/* A view of the caller's queue (workers, queues): no arguments, one GET. */
static int queue_view(const struct cli_opts *o, enum pc_fop_kind kind, const char *name,
                      const char *path, void (*print)(const json_t *doc, const struct cli_opts *o))
{
    struct pc_fop_params p;
    const char *queues[1] = {o->queue};

    if (o->n_args != 0) {
        (void)fprintf(stderr, "peace: %s takes no arguments\n", name);
        return 1;
    }
    memset(&p, 0, sizeof(p));
    p.kind = kind;
    p.queues = queues;
    p.n_queues = 1;
    return run_and_print(o, &p, EVHTTP_REQ_GET, path, print);
}

int cli_ops_workers(const struct cli_opts *o)
{
    return queue_view(o, PC_FOP_WORKERS, "workers", "/v1/workers", print_workers);
}

/* ------------------------------------------------------------------------ */
/* queues                                                                    */

static void print_queues(const json_t *doc, const struct cli_opts *o)
{
    const json_t *list = json_object_get(doc, "queues");
    size_t i;
    const json_t *q;

    (void)o;
    (void)printf("%-24s %9s %9s %8s %11s\n", "QUEUE", "LENGTH", "PENDING", "WORKERS", "OLDEST AGE");
    json_array_foreach(list, i, q)
    {
        char oldest[32];

        age(oldest, sizeof(oldest), num_of(q, "oldest_age_ms"));
        (void)printf("%-24s %9lld %9lld %8lld %11s\n", text_of(q, "name"), num_of(q, "length"),
                     num_of(q, "pending"), num_of(q, "workers_live"), oldest);
    }
    (void)printf("dead letters: %lld\n", num_of(doc, "dead_length"));
}

int cli_ops_queues(const struct cli_opts *o)
{
    return queue_view(o, PC_FOP_QUEUES, "queues", "/v1/queues", print_queues);
}

/* ------------------------------------------------------------------------ */
/* dead, dead retry                                                          */

static void print_dead(const json_t *doc, const struct cli_opts *o)
{
    const json_t *list = json_object_get(doc, "dead");
    const char *next = json_string_value(json_object_get(doc, "next_cursor"));
    size_t i;
    const json_t *d;

    (void)o;
    if (json_array_size(list) == 0) {
        (void)printf("no dead letters\n");
    } else {
        (void)printf("%-22s %-28s %-10s %-32s %s\n", "ENTRY", "EXECUTION", "CMD",
                     "APP/PROFILE/FLOW", "REASON");
    }
    json_array_foreach(list, i, d)
    {
        const json_t *job = json_object_get(d, "job");
        char where[3 * 65 + 3];

        if (json_is_object(job)) {
            (void)snprintf(where, sizeof(where), "%s/%s/%s", text_of(job, "app"),
                           text_of(job, "profile"), text_of(job, "flow"));
        } else {
            (void)snprintf(where, sizeof(where), "(job unreadable)");
        }
        (void)printf("%-22s %-28s %-10s %-32s %.*s\n", text_of(d, "id"), text_of(d, "exec"),
                     json_is_object(job) ? text_of(job, "cmd") : "-", where, REASON_SHOWN,
                     text_of(d, "reason"));
    }
    (void)printf("%lld in the dead-letter stream", num_of(doc, "length"));
    if (next != NULL) {
        (void)printf("; next page: --cursor %s", next);
    }
    (void)printf("\n");
}

static void print_retry(const json_t *doc, const struct cli_opts *o)
{
    (void)o;
    if (json_is_true(json_object_get(doc, "already_retried"))) {
        (void)printf("dead letter %s was already retried as execution %s\n", text_of(doc, "entry"),
                     text_of(doc, "id"));
    } else {
        (void)printf("queued execution %s (retry of dead letter %s)\n", text_of(doc, "id"),
                     text_of(doc, "entry"));
    }
}

int cli_ops_dead(const struct cli_opts *o)
{
    struct pc_fop_params p;
    char path[CLI_SERVER_PATH_MAX];
    char new_id[PC_ULID_LEN + 1];
    struct pc_ulid_gen gen;
    struct pc_err err;

    memset(&p, 0, sizeof(p));
    pc_err_clear(&err);
    if (o->n_args == 0) {
        p.kind = PC_FOP_DEAD;
        p.limit = o->limit != 0 ? o->limit : DEAD_DEFAULT;
        p.cursor = o->cursor;
        if (p.limit > PC_FOP_DEAD_MAX ||
            (o->cursor != NULL && !pc_stream_entry_id_valid(o->cursor))) {
            (void)fprintf(stderr, "peace: dead takes --limit 1..%d and a --cursor it printed\n",
                          PC_FOP_DEAD_MAX);
            return 1;
        }
        (void)snprintf(path, sizeof(path), "/v1/dead?limit=%zu%s%s", p.limit,
                       o->cursor != NULL ? "&cursor=" : "", o->cursor != NULL ? o->cursor : "");
        return run_and_print(o, &p, EVHTTP_REQ_GET, path, print_dead);
    }
    if (o->n_args != 2 || strcmp(o->args[0], "retry") != 0) {
        (void)fprintf(stderr, "peace: dead takes no argument, or retry ENTRY\n");
        return 1;
    }
    if (!pc_stream_entry_id_valid(o->args[1])) {
        (void)fprintf(stderr, "peace: dead retry %s: a dead-letter id looks like 1700000000000-0\n",
                      o->args[1]);
        return 1;
    }
    pc_ulid_gen_init(&gen, NULL, NULL, NULL, NULL);
    if (pc_ulid_next(&gen, new_id, &err) != 0) {
        (void)fprintf(stderr, "peace: cannot make an execution id: %s\n", err.msg);
        return 1;
    }
    p.kind = PC_FOP_RETRY;
    p.target = o->args[1];
    p.new_id = new_id;
    (void)snprintf(path, sizeof(path), "/v1/dead/%s/retry", o->args[1]);
    return run_and_print(o, &p, EVHTTP_REQ_POST, path, print_retry);
}

/* ------------------------------------------------------------------------ */
/* rerun                                                                     */

static void print_rerun(const json_t *doc, const struct cli_opts *o)
{
    (void)o;
    (void)printf("queued execution %s (rerun of %s)\n", text_of(doc, "id"),
                 text_of(doc, "rerun_of"));
}

int cli_ops_rerun(const struct cli_opts *o)
{
    struct pc_fop_params p;
    char path[CLI_SERVER_PATH_MAX];
    char new_id[PC_ULID_LEN + 1];
    struct pc_ulid_gen gen;
    struct pc_err err;

    pc_err_clear(&err);
    if (o->n_args != 1 || !pc_exec_id_valid(o->args[0], strlen(o->args[0]))) {
        (void)fprintf(stderr, "peace: rerun needs one execution id\n");
        return 1;
    }
    pc_ulid_gen_init(&gen, NULL, NULL, NULL, NULL);
    if (pc_ulid_next(&gen, new_id, &err) != 0) {
        (void)fprintf(stderr, "peace: cannot make an execution id: %s\n", err.msg);
        return 1;
    }
    memset(&p, 0, sizeof(p));
    p.kind = PC_FOP_RERUN;
    p.target = o->args[0];
    p.new_id = new_id;
    (void)snprintf(path, sizeof(path), "/v1/executions/%s/rerun", o->args[0]);
    return run_and_print(o, &p, EVHTTP_REQ_POST, path, print_rerun);
}
