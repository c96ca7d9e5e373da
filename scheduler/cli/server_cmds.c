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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "peace/ident.h"
#include "redis_exec.h"
#include "server_exec.h"
#include "server_json.h"

#define CLI_OUT_MAX        (64u << 20)
#define CLI_LIST_DEFAULT   20
#define CLI_LIST_MAX       10000
#define CLI_META_VALUE_MAX 512

/* The contract fields of an execution in their documented order (report aside). */
static const char *const meta_fields[] = {
    "id",
    "cmd",
    "app",
    "profile",
    "flow",
    "queue",
    "status",
    "outcome",
    "created_ms",
    "started_ms",
    "finished_ms",
    "worker",
    "attempt",
    "block",
    "block_index",
    "blocks_total",
    "items_total",
    "items_done",
    "interrupt_requested_ms",
    "interrupt_reason",
    "error",
};

static void fail(const struct pc_err *err)
{
    (void)fprintf(stderr, "peace: %s\n", err->msg[0] != '\0' ? err->msg : "failed");
}

int cli_server_open(const struct cli_opts *o, struct cli_http **out)
{
    struct pc_err err;

    pc_err_clear(&err);
    if (cli_http_create(o->server_url, o->token, out, &err) != 0) {
        fail(&err);
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

/* Appends "label:\n  item: json..." for one states map of a states document. */
static int states_text(const json_t *doc, const char *which, const char *label, struct pc_buf *b,
                       struct pc_err *err)
{
    const json_t *map = json_object_get(doc, which);
    const char *item;
    const json_t *state;
    int rc;

    if (!json_is_object(map)) {
        return pc_err_set(err, PC_ESCHEMA, "states: %s is not an object", which);
    }
    rc = pc_buf_appendf(b, "%s:%s\n", label, json_object_size(map) == 0 ? " (none stored)" : "");
    json_object_foreach((json_t *)(uintptr_t)map, item, state)
    {
        rc = rc == 0 ? pc_buf_appendf(b, "  %.64s: ", item) : rc;
        rc = rc == 0 ? cli_json_append(b, state) : rc;
        rc = rc == 0 ? pc_buf_puts(b, "\n") : rc;
        if (rc != 0) {
            break;
        }
    }
    return rc != 0 ? pc_err_set(err, rc, "states: %s", pc_strerror(rc)) : 0;
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

static int one_id(const struct cli_opts *o, const char *what, struct pc_err *err)
{
    if (o->n_args != 1) {
        return pc_err_set(err, PC_EINVAL, "%s needs exactly one execution id", what);
    }
    return cli_exec_id_check(o->args[0], err);
}

/* GET /v1/executions/{id} of the one id argument; prints why on failure. */
static int get_execution(const struct cli_opts *o, const char *what, struct cli_http **h,
                         json_t **doc)
{
    char path[CLI_SERVER_PATH_MAX];
    struct pc_err err;

    pc_err_clear(&err);
    if (one_id(o, what, &err) != 0) {
        fail(&err);
        return 1;
    }
    if (cli_server_open(o, h) != 0) {
        return 1;
    }
    (void)snprintf(path, sizeof(path), "/v1/executions/%s", o->args[0]);
    if (cli_server_call(*h, EVHTTP_REQ_GET, path, NULL, 0, doc, &err) != 0) {
        fail(&err);
        return 1;
    }
    if (!json_is_object(json_object_get(*doc, "execution"))) {
        (void)fprintf(stderr, "peace: execution %s: the scheduler's answer has no execution\n",
                      o->args[0]);
        return 1;
    }
    return 0;
}

/* A member as the plain text a meta hash holds ("" when absent). */
static void member_text(const json_t *obj, const char *name, char *out, size_t out_size)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, name) : NULL;

    out[0] = '\0';
    if (v != NULL) {
        cli_json_scalar_text(v, out, out_size);
    }
}

/* Appends "name":value, keeping the value's JSON type, when obj has it. */
static int copy_member(struct pc_buf *b, const json_t *obj, const char *name, bool *first)
{
    const json_t *v = json_object_get(obj, name);
    int rc;

    if (v == NULL) {
        return 0;
    }
    rc = *first ? 0 : pc_buf_puts(b, ",");
    *first = false;
    rc = rc == 0 ? pc_buf_append_json_str(b, name, strlen(name)) : rc;
    rc = rc == 0 ? pc_buf_puts(b, ":") : rc;
    return rc == 0 ? cli_json_append(b, v) : rc;
}

/*
 * The items array as the Redis mode shows the progress hash: a JSON object
 * {"item": {"status","limit","done","msg"}} or "  item: status=..." lines
 * (empty values left out, messages cut to 200 bytes).
 */
static int progress_render(const json_t *items, bool json, struct pc_buf *b)
{
    static const char *const parts[] = {"status", "limit", "done", "msg"};
    const json_t *it;
    bool first_item = true;
    size_t i;
    int rc = json ? pc_buf_puts(b, "{") : 0;

    json_array_foreach(items, i, it)
    {
        const char *id = cli_json_str(it, "id");
        bool first = true;

        if (rc != 0) {
            break;
        }
        if (id == NULL || !pc_ident_valid(id, strlen(id))) {
            continue;
        }
        if (json) {
            rc = first_item ? 0 : pc_buf_puts(b, ",");
            rc = rc == 0 ? pc_buf_appendf(b, "\"%s\":{", id) : rc;
        } else {
            rc = pc_buf_appendf(b, "  %s:", id);
        }
        first_item = false;
        for (size_t p = 0; rc == 0 && p < sizeof(parts) / sizeof(parts[0]); p++) {
            char v[CLI_META_VALUE_MAX];

            if (json) {
                rc = copy_member(b, it, parts[p], &first);
                continue;
            }
            member_text(it, parts[p], v, sizeof(v));
            if (v[0] != '\0') {
                rc = pc_buf_appendf(b, " %s=%.200s", parts[p], v);
            }
        }
        rc = rc == 0 ? pc_buf_puts(b, json ? "}" : "\n") : rc;
    }
    return rc == 0 && json ? pc_buf_puts(b, "}") : rc;
}

int cli_server_status(const struct cli_opts *o)
{
    struct cli_http *h = NULL;
    json_t *doc = NULL;
    const json_t *exec;
    const json_t *items;
    struct pc_outcome outcome;
    bool have_outcome = false;
    struct pc_buf b;
    struct pc_err err;
    int status = 1;
    int rc;

    pc_err_clear(&err);
    pc_buf_init(&b, CLI_OUT_MAX);
    if (get_execution(o, "status", &h, &doc) != 0) {
        goto out;
    }
    exec = json_object_get(doc, "execution");
    items = json_object_get(doc, "items");
    rc = cli_server_outcome(doc, &outcome, &err);
    have_outcome = rc == 0;
    if (rc != 0 && rc != PC_ENOTFOUND) {
        (void)fprintf(stderr, "peace: execution %s: %s\n", o->args[0], err.msg);
        goto out;
    }
    if (o->json) {
        rc = pc_buf_puts(&b, "{\"meta\":");
        rc = rc == 0 ? cli_json_append(&b, exec) : rc;
        rc = rc == 0 ? pc_buf_puts(&b, ",\"progress\":") : rc;
        rc = rc == 0 ? progress_render(items, true, &b) : rc;
        rc = rc == 0 ? pc_buf_puts(&b, ",\"report\":") : rc;
        if (rc == 0) {
            rc = have_outcome ? pc_outcome_format_json(&outcome, &b) : pc_buf_puts(&b, "null");
        }
        rc = rc == 0 ? pc_buf_puts(&b, "}\n") : rc;
    } else {
        rc = pc_buf_appendf(&b, "execution %s\n", o->args[0]);
        for (size_t i = 1; rc == 0 && i < sizeof(meta_fields) / sizeof(meta_fields[0]); i++) {
            char v[CLI_META_VALUE_MAX];

            member_text(exec, meta_fields[i], v, sizeof(v));
            if (v[0] != '\0') {
                rc = pc_buf_appendf(&b, "  %s: %s\n", meta_fields[i], v);
            }
        }
        if (rc == 0 && json_array_size(items) > 0) {
            rc = pc_buf_puts(&b, "progress:\n");
            rc = rc == 0 ? progress_render(items, false, &b) : rc;
        }
        if (rc == 0 && have_outcome) {
            rc = pc_outcome_format_text(&outcome, &b);
        }
    }
    if (rc != 0) {
        (void)fprintf(stderr, "peace: cannot format the status (%s)\n", pc_strerror(rc));
        goto out;
    }
    (void)fputs(pc_buf_str(&b), stdout);
    status = 0;
out:
    if (have_outcome) {
        pc_outcome_cleanup(&outcome);
    }
    pc_buf_cleanup(&b);
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
    if (rc == PC_ENOTFOUND) {
        char st[32];

        member_text(json_object_get(doc, "execution"), "status", st, sizeof(st));
        (void)fprintf(stderr, "peace: execution %s has no report yet (status %s)\n", o->args[0],
                      st[0] != '\0' ? st : "unknown");
        goto out;
    }
    if (rc != 0) {
        (void)fprintf(stderr, "peace: execution %s: report: %s\n", o->args[0], err.msg);
        goto out;
    }
    cli_print_outcome(&outcome, o->json);
    pc_outcome_cleanup(&outcome);
    status = 0;
out:
    json_decref(doc);
    cli_http_destroy(h);
    return status;
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
    if (one_id(o, "interrupt", &err) != 0) {
        fail(&err);
        goto out;
    }
    rc = pc_buf_puts(&body, "{\"reason\":");
    rc = rc == 0 ? pc_buf_append_json_str(&body, reason, strlen(reason)) : rc;
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
        fail(&err);
        goto out;
    }
    requested = json_object_get(doc, "requested");
    if (!json_is_boolean(requested)) {
        (void)fprintf(stderr, "peace: execution %s: the scheduler's answer has no \"requested\"\n",
                      o->args[0]);
        goto out;
    }
    if (o->json) {
        (void)printf("{\"id\":\"%s\",\"result\":\"%s\"}\n", o->args[0],
                     json_is_true(requested) ? "requested" : "already_finished");
    } else if (json_is_true(requested)) {
        (void)printf("execution %s: interrupt requested\n", o->args[0]);
    } else {
        (void)printf("execution %s has already finished: no effect\n", o->args[0]);
    }
    status = 0;
out:
    pc_buf_cleanup(&body);
    json_decref(doc);
    cli_http_destroy(h);
    return status;
}

static void format_time(const char *ms_text, char *out, size_t out_size)
{
    char *end = NULL;
    unsigned long long ms = strtoull(ms_text, &end, 10);
    time_t secs;
    struct tm tm;

    out[0] = '\0';
    if (ms_text[0] == '\0' || end == NULL || *end != '\0') {
        return;
    }
    secs = (time_t)(ms / 1000u);
    if (localtime_r(&secs, &tm) != NULL) {
        (void)strftime(out, out_size, "%Y-%m-%d %H:%M:%S", &tm);
    }
}

/* The fields `list` shows, in this order (the Redis mode's). */
static const char *const list_fields[] = {
    "id",      "cmd",        "app",        "profile",     "flow",   "queue",  "status",
    "outcome", "created_ms", "started_ms", "finished_ms", "worker", "attempt"};

/* One execution of `list`: a JSON object or a table row. */
static int list_row(const json_t *e, bool json, bool first, struct pc_buf *b)
{
    char v[7][CLI_META_VALUE_MAX];
    char created[32];
    bool first_field = true;
    int rc;

    if (json) {
        rc = pc_buf_puts(b, first ? "{" : ",{");
        for (size_t f = 0; rc == 0 && f < sizeof(list_fields) / sizeof(list_fields[0]); f++) {
            rc = copy_member(b, e, list_fields[f], &first_field);
        }
        return rc == 0 ? pc_buf_puts(b, "}") : rc;
    }
    member_text(e, "id", v[0], sizeof(v[0]));
    member_text(e, "cmd", v[1], sizeof(v[1]));
    member_text(e, "app", v[2], sizeof(v[2]));
    member_text(e, "profile", v[3], sizeof(v[3]));
    member_text(e, "flow", v[4], sizeof(v[4]));
    member_text(e, "status", v[5], sizeof(v[5]));
    member_text(e, "outcome", v[6], sizeof(v[6]));
    {
        char ms[CLI_META_VALUE_MAX];
        char where[3 * PC_ID_MAX + 3];

        member_text(e, "created_ms", ms, sizeof(ms));
        format_time(ms, created, sizeof(created));
        (void)snprintf(where, sizeof(where), "%.64s/%.64s/%.64s", v[2], v[3], v[4]);
        return pc_buf_appendf(b, "%-26.64s  %-16.32s  %-36s  %-8.16s  %-21.32s  %s\n", v[0], v[1],
                              where, v[5], v[6][0] != '\0' ? v[6] : "-", created);
    }
}

int cli_server_list(const struct cli_opts *o)
{
    size_t limit = o->limit != 0 ? o->limit : CLI_LIST_DEFAULT;
    struct cli_http *h = NULL;
    char path[CLI_SERVER_PATH_MAX];
    json_t *doc = NULL;
    const json_t *execs;
    const json_t *e;
    struct pc_buf b;
    struct pc_err err;
    bool first = true;
    int status = 1;
    size_t i;
    int rc;

    pc_err_clear(&err);
    pc_buf_init(&b, CLI_OUT_MAX);
    if (limit > CLI_LIST_MAX || o->n_args != 0) {
        (void)fprintf(stderr, "peace: list takes no arguments and --limit 1..%d\n", CLI_LIST_MAX);
        goto out;
    }
    if (cli_server_open(o, &h) != 0) {
        goto out;
    }
    (void)snprintf(path, sizeof(path), "/v1/executions?limit=%zu", limit);
    if (cli_server_call(h, EVHTTP_REQ_GET, path, NULL, 0, &doc, &err) != 0) {
        fail(&err);
        goto out;
    }
    execs = json_object_get(doc, "executions");
    if (!json_is_array(execs)) {
        (void)fprintf(stderr, "peace: the scheduler's answer has no executions list\n");
        goto out;
    }
    rc = o->json ? pc_buf_puts(&b, "[")
                 : pc_buf_appendf(&b, "%-26s  %-16s  %-36s  %-8s  %-21s  %s\n", "ID", "CMD",
                                  "APP/PROFILE/FLOW", "STATUS", "OUTCOME", "CREATED");
    json_array_foreach(execs, i, e)
    {
        if (rc != 0) {
            break;
        }
        if (cli_json_str(e, "id") == NULL) {
            continue; /* not an execution: nothing to show */
        }
        rc = list_row(e, o->json, first, &b);
        first = false;
    }
    rc = rc == 0 && o->json ? pc_buf_puts(&b, "]\n") : rc;
    if (rc != 0) {
        (void)fprintf(stderr, "peace: cannot format the list (%s)\n", pc_strerror(rc));
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

int cli_server_states(const struct cli_opts *o)
{
    static const char *const what[] = {"app", "profile", "flow"};
    struct cli_http *h = NULL;
    char path[CLI_SERVER_PATH_MAX];
    json_t *doc = NULL;
    struct pc_buf b;
    struct pc_err err;
    int status = 1;
    int rc;

    pc_err_clear(&err);
    pc_buf_init(&b, CLI_OUT_MAX);
    if (o->n_args != 3) {
        (void)fprintf(stderr, "peace: states needs APP PROFILE FLOW (see peace --help)\n");
        goto out;
    }
    for (size_t i = 0; i < 3; i++) {
        if (!pc_ident_valid(o->args[i], strlen(o->args[i]))) {
            (void)fprintf(stderr,
                          "peace: %s \"%s\" is not an identifier ([A-Za-z_][A-Za-z0-9_]*)\n",
                          what[i], o->args[i]);
            goto out;
        }
    }
    if (cli_server_open(o, &h) != 0) {
        goto out;
    }
    if (!o->json) {
        if (cli_server_states_print(h, o->args[0], o->args[1], o->args[2], "stored current states",
                                    "stored goal states", &err) != 0) {
            fail(&err);
            goto out;
        }
        status = 0;
        goto out;
    }
    rc = states_path(path, sizeof(path), o->args[0], o->args[1], o->args[2], &err);
    rc = rc == 0 ? cli_server_call(h, EVHTTP_REQ_GET, path, NULL, 0, &doc, &err) : rc;
    if (rc != 0) {
        fail(&err);
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
