/*
 * server_cmds.c - `peace status | interrupt | list | states | report` as a
 * REST client of peace-scheduler (--server URL), and the helpers the
 * run/watch follower shares with them (server_exec.h).
 *
 * Each subcommand makes one call (docs/http-api.md) and prints what the
 * Redis mode prints for the same execution: the same text layout, the same
 * --json documents, the same exit statuses. The scheduler answers in JSON,
 * so values are read back with jansson: a report becomes a pc_outcome and is
 * printed by pc_outcome_format_*, states are re-rendered exactly as
 * pc_state_to_json writes them (cli_json_append). A failed call is one line
 * on stderr, the scheduler's {"error","code"} when it sent one, and exit 1.
 * The layout of what is printed is exec_view.c's: here the JSON objects
 * become its records.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "exec_view.h"
#include "peace/ident.h"
#include "server_exec.h"
#include "server_json.h"

int cli_server_open(const struct cli_opts *o, struct cli_http **out)
{
    struct pc_err err;

    pc_err_clear(&err);
    if (cli_http_create(o->server_url, o->token, out, &err) != 0) {
        cli_print_err(&err);
        return 1;
    }
    return 0;
}

int cli_server_failure(const struct cli_http *h, const struct cli_http_response *resp,
                       struct pc_err *err)
{
    int kind = resp->status >= 500 ? PC_EIO : resp->status == 404 ? PC_ENOTFOUND : PC_EINVAL;
    char line[PC_ERR_MSG_MAX];

    cli_http_error_line(resp, line, sizeof(line));
    if (resp->status == 401) {
        return pc_err_set(err, kind,
                          "the scheduler at %s refused the request: %s; give its token with "
                          "--token or PEACE_TOKEN",
                          cli_http_origin(h), line);
    }
    return pc_err_set(err, kind, "%s", line);
}

int cli_server_reply(const struct cli_http *h, const struct cli_http_response *resp, json_t **doc,
                     struct pc_err *err)
{
    if (resp->status < 200 || resp->status > 299) {
        return cli_server_failure(h, resp, err);
    }
    return cli_json_parse(pc_buf_str(&resp->body), resp->body.len, "the scheduler's answer", doc,
                          err);
}

int cli_server_call(struct cli_http *h, enum evhttp_cmd_type method, const char *path,
                    const char *body, size_t body_len, json_t **doc, struct pc_err *err)
{
    struct cli_http_response resp;
    int rc = cli_http_call(h, method, path, body, body_len, &resp, err);

    if (rc != 0) {
        return rc;
    }
    rc = cli_server_reply(h, &resp, doc, err);
    cli_http_response_cleanup(&resp);
    return rc;
}

int cli_server_outcome(const json_t *exec_doc, struct pc_outcome *out, struct pc_err *err)
{
    const json_t *report = json_object_get(exec_doc, "report");

    if (report == NULL || json_is_null(report)) {
        return pc_err_set(err, PC_ENOTFOUND, "no outcome yet");
    }
    return cli_outcome_from_json(report, out, err);
}

/* ------------------------------------------------------------------------ */
/* JSON objects as exec_view records                                         */

/* A member as the plain text a meta hash holds ("" when absent). */
static size_t object_text(const struct cli_record *rec, const char *field, char *out,
                          size_t out_size)
{
    const json_t *obj = rec->src;
    const json_t *v = json_is_object(obj) ? json_object_get(obj, field) : NULL;

    out[0] = '\0';
    if (v != NULL) {
        cli_json_scalar_text(v, out, out_size);
    }
    return strlen(out);
}

/* Appends "name":value, keeping the value's JSON type, when the object has it. */
static int object_json_member(const struct cli_record *rec, const char *field, struct pc_buf *b,
                              bool *first)
{
    const json_t *v = json_object_get(rec->src, field);
    int rc;

    if (v == NULL) {
        return 0;
    }
    rc = *first ? 0 : pc_buf_puts(b, ",");
    *first = false;
    rc = rc == 0 ? pc_buf_append_json_str(b, field, strlen(field)) : rc;
    rc = rc == 0 ? pc_buf_puts(b, ":") : rc;
    return rc == 0 ? cli_json_append(b, v) : rc;
}

static int object_json(const struct cli_record *rec, struct pc_buf *b, struct pc_err *err)
{
    (void)err;
    return cli_json_append(b, rec->src);
}

static const struct cli_record_ops object_ops = {object_text, object_json_member, object_json};

/* The items of an execution document: the elements with a valid "id", in order. */
static bool items_next(const struct cli_records *s, struct cli_cursor *at, struct cli_record *rec)
{
    for (; at->index < json_array_size(s->src); at->index++) {
        const json_t *it = json_array_get(s->src, at->index);
        const char *id = cli_json_str(it, "id");

        if (id != NULL && pc_ident_valid(id, strlen(id))) {
            at->index++;
            *rec = (struct cli_record){&object_ops, it, id, strlen(id)};
            return true;
        }
    }
    return false;
}

/* The executions of a list document: the elements with an "id". */
static bool rows_next(const struct cli_records *s, struct cli_cursor *at, struct cli_record *rec)
{
    for (; at->index < json_array_size(s->src); at->index++) {
        const json_t *e = json_array_get(s->src, at->index);

        if (cli_json_str(e, "id") != NULL) {
            at->index++;
            *rec = (struct cli_record){&object_ops, e, NULL, 0};
            return true;
        }
    }
    return false;
}

/* The members of a states map: item names and their states. */
static bool states_next(const struct cli_records *s, struct cli_cursor *at, struct cli_record *rec)
{
    json_t *map = (json_t *)(uintptr_t)s->src; /* jansson's iterators take no const */
    const char *item;

    at->iter = at->index == 0 ? json_object_iter(map) : json_object_iter_next(map, at->iter);
    at->index++;
    if (at->iter == NULL) {
        return false;
    }
    item = json_object_iter_key(at->iter);
    *rec = (struct cli_record){&object_ops, json_object_iter_value(at->iter), item, strlen(item)};
    return true;
}

/* Appends "label:\n  item: json..." for one states map of a states document. */
static int states_text(const json_t *doc, const char *which, const char *label, struct pc_buf *b,
                       struct pc_err *err)
{
    const json_t *map = json_object_get(doc, which);
    struct cli_records states = {map, states_next};

    if (!json_is_object(map)) {
        return pc_err_set(err, PC_ESCHEMA, "states: %s is not an object", which);
    }
    return cli_states_text(b, label, &states, err);
}

static int states_path(char *path, size_t size, const char *app, const char *profile,
                       const char *flow, struct pc_err *err)
{
    if (!pc_ident_valid(app, strlen(app)) || !pc_ident_valid(profile, strlen(profile)) ||
        !pc_ident_valid(flow, strlen(flow))) {
        return pc_err_set(err, PC_EINVAL, "no states for %s/%s/%s", app, profile, flow);
    }
    (void)snprintf(path, size, "/v1/states/%s/%s/%s", app, profile, flow);
    return 0;
}

int cli_server_states_print(struct cli_http *h, const char *app, const char *profile,
                            const char *flow, const char *current_label, const char *goal_label,
                            struct pc_err *err)
{
    char path[CLI_SERVER_PATH_MAX];
    json_t *doc = NULL;
    struct pc_buf b;
    int rc = states_path(path, sizeof(path), app, profile, flow, err);

    pc_buf_init(&b, CLI_OUT_MAX);
    rc = rc == 0 ? cli_server_call(h, EVHTTP_REQ_GET, path, NULL, 0, &doc, err) : rc;
    if (rc == 0 && current_label != NULL) {
        rc = states_text(doc, "current", current_label, &b, err);
    }
    if (rc == 0 && goal_label != NULL) {
        rc = states_text(doc, "goal", goal_label, &b, err);
    }
    if (rc == 0) {
        (void)fputs(pc_buf_str(&b), stdout);
    }
    pc_buf_cleanup(&b);
    json_decref(doc);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Subcommands                                                               */

/* GET /v1/executions/{id} of the one id argument; prints why on failure. */
static int get_execution(const struct cli_opts *o, const char *what, struct cli_http **h,
                         json_t **doc)
{
    char path[CLI_SERVER_PATH_MAX];
    struct pc_err err;

    pc_err_clear(&err);
    if (cli_args_one_id(o, what) != 0 || cli_server_open(o, h) != 0) {
        return 1;
    }
    (void)snprintf(path, sizeof(path), "/v1/executions/%s", o->args[0]);
    if (cli_server_call(*h, EVHTTP_REQ_GET, path, NULL, 0, doc, &err) != 0) {
        cli_print_err(&err);
        return 1;
    }
    if (!json_is_object(json_object_get(*doc, "execution"))) {
        (void)fprintf(stderr, "peace: execution %s: the scheduler's answer has no execution\n",
                      o->args[0]);
        return 1;
    }
    return 0;
}

int cli_server_status(const struct cli_opts *o)
{
    struct cli_http *h = NULL;
    json_t *doc = NULL;
    struct pc_outcome outcome;
    bool have_outcome = false;
    struct pc_err err;
    int status = 1;
    int rc;

    pc_err_clear(&err);
    if (get_execution(o, "status", &h, &doc) != 0) {
        goto out;
    }
    rc = cli_server_outcome(doc, &outcome, &err);
    have_outcome = rc == 0;
    if (rc != 0 && rc != PC_ENOTFOUND) {
        (void)fprintf(stderr, "peace: execution %s: %s\n", o->args[0], err.msg);
        goto out;
    }
    {
        const json_t *items = json_object_get(doc, "items");
        struct cli_record meta = {&object_ops, json_object_get(doc, "execution"), NULL, 0};
        struct cli_records item_records = {items, items_next};

        status = cli_print_status(o->args[0], &meta, &item_records, json_array_size(items) > 0,
                                  have_outcome ? &outcome : NULL, o->json);
    }
out:
    if (have_outcome) {
        pc_outcome_cleanup(&outcome);
    }
    json_decref(doc);
    cli_http_destroy(h);
    return status;
}

int cli_server_report(const struct cli_opts *o)
{
    struct cli_http *h = NULL;
    json_t *doc = NULL;
    struct pc_outcome outcome;
    struct pc_err err;
    int status = 1;
    int rc;

    pc_err_clear(&err);
    if (get_execution(o, "report", &h, &doc) != 0) {
        goto out;
    }
    rc = cli_server_outcome(doc, &outcome, &err);
    {
        struct cli_record meta = {&object_ops, json_object_get(doc, "execution"), NULL, 0};

        status = cli_print_report(o->args[0], &meta, rc, &outcome, &err, o->json);
    }
    if (rc == 0) {
        pc_outcome_cleanup(&outcome);
    }
out:
    json_decref(doc);
    cli_http_destroy(h);
    return status;
}

/*
 * --wait: reads the execution (every 50 ms) until it finished, then prints
 * the receipt from its meta (cli_print_receipt), as --redis does. Returns
 * the outcome's exit status.
 */
static int wait_receipt(struct cli_http *h, const char *id, bool json)
{
    char path[CLI_SERVER_PATH_MAX];

    (void)snprintf(path, sizeof(path), "/v1/executions/%s", id);
    for (;;) {
        json_t *doc = NULL;
        struct pc_err err;
        struct timespec ts = {0, 50 * 1000000L};
        const json_t *exec;

        pc_err_clear(&err);
        if (cli_server_call(h, EVHTTP_REQ_GET, path, NULL, 0, &doc, &err) != 0) {
            cli_print_err(&err);
            return 1;
        }
        exec = json_object_get(doc, "execution");
        if (!json_is_object(exec)) {
            json_decref(doc);
            (void)fprintf(stderr, "peace: execution %s: the scheduler's answer has no execution\n",
                          id);
            return 1;
        }
        {
            struct cli_record rec = {&object_ops, exec, NULL, 0};

            if (cli_receipt_finished(&rec)) {
                int status = cli_print_receipt(id, &rec, json);

                json_decref(doc);
                return status;
            }
        }
        json_decref(doc);
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
}

int cli_server_interrupt(const struct cli_opts *o)
{
    static const char default_reason[] = "requested with peace interrupt";
    const char *reason = o->reason != NULL ? o->reason : default_reason;
    struct cli_http *h = NULL;
    char path[CLI_SERVER_PATH_MAX];
    json_t *doc = NULL;
    const json_t *requested;
    struct pc_buf body;
    struct pc_err err;
    int status = 1;
    int rc;

    pc_err_clear(&err);
    pc_buf_init(&body, (size_t)64u << 10);
    if (cli_args_one_id(o, "interrupt") != 0) {
        goto out;
    }
    rc = pc_buf_puts(&body, "{\"reason\":");
    rc = rc == 0 ? pc_buf_append_json_str(&body, reason, strlen(reason)) : rc;
    rc = rc == 0 ? pc_buf_appendf(&body, ",\"mode\":\"%s\"", pc_interrupt_mode_name(o->mode)) : rc;
    if (rc == 0 && o->has_deadline) {
        rc = pc_buf_appendf(&body, ",\"deadline_ms\":%llu", (unsigned long long)o->deadline_ms);
    }
    rc = rc == 0 ? pc_buf_puts(&body, "}") : rc;
    if (rc != 0) {
        (void)fprintf(stderr, "peace: --reason is too long\n");
        goto out;
    }
    if (cli_server_open(o, &h) != 0) {
        goto out;
    }
    (void)snprintf(path, sizeof(path), "/v1/executions/%s/interrupt", o->args[0]);
    if (cli_server_call(h, EVHTTP_REQ_POST, path, pc_buf_str(&body), body.len, &doc, &err) != 0) {
        cli_print_err(&err);
        goto out;
    }
    requested = json_object_get(doc, "requested");
    if (!json_is_boolean(requested)) {
        (void)fprintf(stderr, "peace: execution %s: the scheduler's answer has no \"requested\"\n",
                      o->args[0]);
        goto out;
    }
    if (o->wait) {
        status = wait_receipt(h, o->args[0], o->json);
        goto out;
    }
    cli_print_interrupt(o->args[0],
                        json_is_true(requested) ? CLI_INTERRUPT_RECORDED : CLI_INTERRUPT_FINISHED,
                        o->json);
    status = 0;
out:
    pc_buf_cleanup(&body);
    json_decref(doc);
    cli_http_destroy(h);
    return status;
}

int cli_server_list(const struct cli_opts *o)
{
    size_t limit = 0;
    struct cli_http *h = NULL;
    char path[CLI_SERVER_PATH_MAX];
    json_t *doc = NULL;
    const json_t *execs;
    struct pc_err err;
    int status = 1;

    pc_err_clear(&err);
    if (cli_args_list(o, &limit) != 0 || cli_server_open(o, &h) != 0) {
        goto out;
    }
    (void)snprintf(path, sizeof(path), "/v1/executions?limit=%zu", limit);
    if (cli_server_call(h, EVHTTP_REQ_GET, path, NULL, 0, &doc, &err) != 0) {
        cli_print_err(&err);
        goto out;
    }
    execs = json_object_get(doc, "executions");
    if (!json_is_array(execs)) {
        (void)fprintf(stderr, "peace: the scheduler's answer has no executions list\n");
        goto out;
    }
    {
        struct cli_records rows = {execs, rows_next};

        status = cli_print_list(&rows, o->json);
    }
out:
    json_decref(doc);
    cli_http_destroy(h);
    return status;
}

int cli_server_states(const struct cli_opts *o)
{
    struct cli_http *h = NULL;
    char path[CLI_SERVER_PATH_MAX];
    json_t *doc = NULL;
    struct pc_buf b;
    struct pc_err err;
    int status = 1;
    int rc;

    pc_err_clear(&err);
    pc_buf_init(&b, CLI_OUT_MAX);
    if (cli_args_states(o) != 0 || cli_server_open(o, &h) != 0) {
        goto out;
    }
    if (!o->json) {
        if (cli_server_states_print(h, o->args[0], o->args[1], o->args[2], "stored current states",
                                    "stored goal states", &err) != 0) {
            cli_print_err(&err);
            goto out;
        }
        status = 0;
        goto out;
    }
    rc = states_path(path, sizeof(path), o->args[0], o->args[1], o->args[2], &err);
    rc = rc == 0 ? cli_server_call(h, EVHTTP_REQ_GET, path, NULL, 0, &doc, &err) : rc;
    if (rc != 0) {
        cli_print_err(&err);
        goto out;
    }
    if (!json_is_object(json_object_get(doc, "current")) ||
        !json_is_object(json_object_get(doc, "goal"))) {
        (void)fprintf(stderr, "peace: the scheduler's states answer has no current or goal map\n");
        goto out;
    }
    rc = cli_json_append(&b, doc);
    rc = rc == 0 ? pc_buf_puts(&b, "\n") : rc;
    if (rc != 0) {
        (void)fprintf(stderr, "peace: cannot format the states (%s)\n", pc_strerror(rc));
        goto out;
    }
    (void)fputs(pc_buf_str(&b), stdout);
    status = 0;
out:
    pc_buf_cleanup(&b);
    json_decref(doc);
    cli_http_destroy(h);
    return status;
}
