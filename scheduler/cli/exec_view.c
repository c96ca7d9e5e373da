/*
 * exec_view.c - the output of the execution subcommands, one layout for
 * every transport (exec_view.h).
 *
 * Text goes through the records' plain text, JSON through their JSON
 * members and values, so the layout lives here once and each transport
 * keeps only how it reads a field. Documents are built in a bounded buffer
 * and printed whole: a document that cannot be built prints nothing on
 * stdout and one line on stderr.
 */
#include "exec_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "peace/ident.h"
#include "sched_meta.h"

const char *const cli_list_fields[CLI_LIST_NFIELDS] = {
    "id",      "cmd",        "app",        "profile",     "flow",   "queue",  "status",
    "outcome", "created_ms", "started_ms", "finished_ms", "worker", "attempt"};

/* The parts of an item's progress, in the order they are shown. */
static const char *const progress_parts[] = {"status", "limit", "done", "msg"};

int cli_exec_id_check(const char *id, struct pc_err *err)
{
    size_t n = id != NULL ? strlen(id) : 0;

    if (n == 0 || n > CLI_EXEC_ID_MAX) {
        return pc_err_set(err, PC_EINVAL, "an execution id has 1..%d characters", CLI_EXEC_ID_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        char c = id[i];

        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              c == '-')) {
            return pc_err_set(err, PC_EINVAL, "execution id has a bad character at %zu", i);
        }
    }
    return 0;
}

void cli_print_err(const struct pc_err *err)
{
    (void)fprintf(stderr, "peace: %s\n", err->msg[0] != '\0' ? err->msg : "failed");
}

/* ------------------------------------------------------------------------ */
/* Arguments                                                                 */

int cli_args_one_id(const struct cli_opts *o, const char *what)
{
    struct pc_err err;

    pc_err_clear(&err);
    if (o->n_args != 1) {
        (void)pc_err_set(&err, PC_EINVAL, "%s needs exactly one execution id", what);
    } else if (cli_exec_id_check(o->args[0], &err) == 0) {
        return 0;
    }
    cli_print_err(&err);
    return 1;
}

int cli_args_watch(const struct cli_opts *o)
{
    struct pc_err err;

    pc_err_clear(&err);
    if (o->n_args != 1 || cli_exec_id_check(o->args[0], &err) != 0) {
        (void)fprintf(stderr, "peace: watch needs one execution id%s%s\n", err.msg[0] ? ": " : "",
                      err.msg);
        return 1;
    }
    return 0;
}

int cli_args_states(const struct cli_opts *o)
{
    static const char *const what[] = {"app", "profile", "flow"};

    if (o->n_args != 3) {
        (void)fprintf(stderr, "peace: states needs APP PROFILE FLOW (see peace --help)\n");
        return 1;
    }
    for (size_t i = 0; i < 3; i++) {
        if (!pc_ident_valid(o->args[i], strlen(o->args[i]))) {
            (void)fprintf(stderr,
                          "peace: %s \"%s\" is not an identifier ([A-Za-z_][A-Za-z0-9_]*)\n",
                          what[i], o->args[i]);
            return 1;
        }
    }
    return 0;
}

int cli_args_list(const struct cli_opts *o, size_t *limit)
{
    size_t n = o->limit != 0 ? o->limit : CLI_LIST_DEFAULT;

    if (n > CLI_LIST_MAX || o->n_args != 0) {
        (void)fprintf(stderr, "peace: list takes no arguments and --limit 1..%d\n", CLI_LIST_MAX);
        return 1;
    }
    *limit = n;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* status                                                                    */

/*
 * The progress of items as {"item": {"status","limit","done","msg"}} (JSON)
 * or one "  item: status=..." line each (text: empty values left out,
 * values cut to 200 bytes).
 */
static int progress_render(const struct cli_records *items, bool json, struct pc_buf *b)
{
    struct cli_cursor at = {0, NULL};
    struct cli_record it;
    bool first_item = true;
    int rc = json ? pc_buf_puts(b, "{") : 0;

    while (rc == 0 && items->next(items, &at, &it)) {
        bool first_part = true;

        if (json) {
            rc = first_item ? 0 : pc_buf_puts(b, ",");
            rc = rc == 0 ? pc_buf_append_json_str(b, it.name, it.name_len) : rc;
            rc = rc == 0 ? pc_buf_puts(b, ":{") : rc;
        } else {
            rc = pc_buf_appendf(b, "  %.*s:", (int)it.name_len, it.name);
        }
        first_item = false;
        for (size_t p = 0; rc == 0 && p < sizeof(progress_parts) / sizeof(progress_parts[0]); p++) {
            char v[CLI_META_VALUE_MAX];

            if (json) {
                rc = it.ops->json_member(&it, progress_parts[p], b, &first_part);
            } else if (it.ops->text(&it, progress_parts[p], v, sizeof(v)) > 0) {
                rc = pc_buf_appendf(b, " %s=%.200s", progress_parts[p], v);
            }
        }
        rc = rc == 0 ? pc_buf_puts(b, json ? "}" : "\n") : rc;
    }
    return rc == 0 && json ? pc_buf_puts(b, "}") : rc;
}

static int status_json(const struct cli_record *meta, const struct cli_records *items,
                       const struct pc_outcome *outcome, struct pc_buf *b)
{
    int rc = pc_buf_puts(b, "{\"meta\":");

    rc = rc == 0 ? meta->ops->json_value(meta, b, NULL) : rc;
    rc = rc == 0 ? pc_buf_puts(b, ",\"progress\":") : rc;
    rc = rc == 0 ? progress_render(items, true, b) : rc;
    rc = rc == 0 ? pc_buf_puts(b, ",\"report\":") : rc;
    if (rc == 0) {
        rc = outcome != NULL ? pc_outcome_format_json(outcome, b) : pc_buf_puts(b, "null");
    }
    return rc == 0 ? pc_buf_puts(b, "}\n") : rc;
}

static int status_text(const char *id, const struct cli_record *meta,
                       const struct cli_records *items, bool has_progress,
                       const struct pc_outcome *outcome, struct pc_buf *b)
{
    int rc = pc_buf_appendf(b, "execution %s\n", id);

    /* The id is the heading: the fields follow it. */
    for (size_t i = 1; rc == 0 && i < SCHED_META_NFIELDS; i++) {
        char v[CLI_META_VALUE_MAX];

        if (meta->ops->text(meta, sched_meta_fields[i], v, sizeof(v)) > 0) {
            rc = pc_buf_appendf(b, "  %s: %s\n", sched_meta_fields[i], v);
        }
    }
    if (rc == 0 && has_progress) {
        rc = pc_buf_puts(b, "progress:\n");
        rc = rc == 0 ? progress_render(items, false, b) : rc;
    }
    if (rc == 0 && outcome != NULL) {
        rc = pc_outcome_format_text(outcome, b);
    }
    return rc;
}

int cli_print_status(const char *id, const struct cli_record *meta, const struct cli_records *items,
                     bool has_progress, const struct pc_outcome *outcome, bool json)
{
    struct pc_buf b;
    int rc;

    pc_buf_init(&b, CLI_OUT_MAX);
    rc = json ? status_json(meta, items, outcome, &b)
              : status_text(id, meta, items, has_progress, outcome, &b);
    if (rc == 0) {
        (void)fputs(pc_buf_str(&b), stdout);
    } else {
        (void)fprintf(stderr, "peace: cannot format the status (%s)\n", pc_strerror(rc));
    }
    pc_buf_cleanup(&b);
    return rc == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------------ */
/* list                                                                      */

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

/* One execution of `list`: a JSON object or a table row. */
static int list_row(const struct cli_record *row, bool json, bool first, struct pc_buf *b)
{
    enum { ID = 0, CMD, APP, PROFILE, FLOW, STATUS, OUTCOME, CREATED_MS, SHOWN };
    static const char *const shown[SHOWN] = {"id",   "cmd",    "app",     "profile",
                                             "flow", "status", "outcome", "created_ms"};
    char v[SHOWN][CLI_META_VALUE_MAX];
    size_t outcome_len = 0;
    char created[32];
    char where[3 * PC_ID_MAX + 3];
    bool first_field = true;
    int rc;

    if (json) {
        rc = pc_buf_puts(b, first ? "{" : ",{");
        for (size_t f = 0; rc == 0 && f < CLI_LIST_NFIELDS; f++) {
            rc = row->ops->json_member(row, cli_list_fields[f], b, &first_field);
        }
        return rc == 0 ? pc_buf_puts(b, "}") : rc;
    }
    for (size_t f = 0; f < SHOWN; f++) {
        size_t n = row->ops->text(row, shown[f], v[f], sizeof(v[f]));

        outcome_len = f == OUTCOME ? n : outcome_len;
    }
    format_time(v[CREATED_MS], created, sizeof(created));
    (void)snprintf(where, sizeof(where), "%.64s/%.64s/%.64s", v[APP], v[PROFILE], v[FLOW]);
    return pc_buf_appendf(b, "%-26.64s  %-16.32s  %-36s  %-8.16s  %-21.32s  %s\n", v[ID], v[CMD],
                          where, v[STATUS], outcome_len > 0 ? v[OUTCOME] : "-", created);
}

int cli_print_list(const struct cli_records *rows, bool json)
{
    struct cli_cursor at = {0, NULL};
    struct cli_record row;
    struct pc_buf b;
    bool first = true;
    int rc;

    pc_buf_init(&b, CLI_OUT_MAX);
    rc = json ? pc_buf_puts(&b, "[")
              : pc_buf_appendf(&b, "%-26s  %-16s  %-36s  %-8s  %-21s  %s\n", "ID", "CMD",
                               "APP/PROFILE/FLOW", "STATUS", "OUTCOME", "CREATED");
    while (rc == 0 && rows->next(rows, &at, &row)) {
        rc = list_row(&row, json, first, &b);
        first = false;
    }
    rc = rc == 0 && json ? pc_buf_puts(&b, "]\n") : rc;
    if (rc == 0) {
        (void)fputs(pc_buf_str(&b), stdout);
    } else {
        (void)fprintf(stderr, "peace: cannot format the list (%s)\n", pc_strerror(rc));
    }
    pc_buf_cleanup(&b);
    return rc == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------------ */
/* report, interrupt, states                                                 */

int cli_print_report(const char *id, const struct cli_record *meta, int outcome_rc,
                     const struct pc_outcome *outcome, const struct pc_err *err, bool json)
{
    if (outcome_rc == PC_ENOTFOUND) {
        char st[32];

        (void)meta->ops->text(meta, "status", st, sizeof(st));
        (void)fprintf(stderr, "peace: execution %s has no report yet (status %s)\n", id,
                      st[0] != '\0' ? st : "unknown");
        return 1;
    }
    if (outcome_rc != 0) {
        (void)fprintf(stderr, "peace: execution %s: report: %s\n", id, err->msg);
        return 1;
    }
    cli_print_outcome(outcome, json);
    return 0;
}

void cli_print_outcome(const struct pc_outcome *o, bool json)
{
    struct pc_buf b;
    int rc;

    pc_buf_init(&b, CLI_OUT_MAX);
    rc = json ? pc_outcome_format_json(o, &b) : pc_outcome_format_text(o, &b);
    if (rc == 0) {
        (void)fputs(pc_buf_str(&b), stdout);
        if (json) {
            (void)fputc('\n', stdout);
        }
    } else {
        (void)fprintf(stderr, "peace: cannot format the report (%s)\n", pc_strerror(rc));
    }
    pc_buf_cleanup(&b);
}

void cli_print_interrupt(const char *id, enum cli_interrupt_result result, bool json)
{
    if (json) {
        (void)printf("{\"id\":\"%s\",\"result\":\"%s\"}\n", id,
                     result == CLI_INTERRUPT_FINISHED  ? "already_finished"
                     : result == CLI_INTERRUPT_ALREADY ? "already_requested"
                                                       : "requested");
    } else if (result == CLI_INTERRUPT_FINISHED) {
        (void)printf("execution %s has already finished: no effect\n", id);
    } else if (result == CLI_INTERRUPT_ALREADY) {
        (void)printf("execution %s: an interrupt was already requested (published again)\n", id);
    } else {
        (void)printf("execution %s: interrupt requested\n", id);
    }
}

/* A meta time or counter as JSON: its digits, or null (absent, or not a number). */
static const char *json_number_or_null(const char *v)
{
    size_t n = strlen(v);

    if (n == 0 || n > 19 || strspn(v, "0123456789") != n) {
        return "null";
    }
    return v;
}

bool cli_receipt_finished(const struct cli_record *meta)
{
    char status[32];

    return meta->ops->text(meta, "status", status, sizeof(status)) > 0 &&
           strcmp(status, "finished") == 0;
}

int cli_print_receipt(const char *id, const struct cli_record *meta, bool json)
{
    enum { R_MODE, R_REQUESTED, R_LATCHED, R_ESCALATIONS, R_FINISHED, R_OUTCOME, R_N };
    static const char *const fields[R_N] = {"interrupt_mode",       "interrupt_requested_ms",
                                            "interrupt_latched_ms", "interrupt_escalations",
                                            "finished_ms",          "outcome"};
    char v[R_N][CLI_META_VALUE_MAX];
    enum pc_outcome_kind kind = PC_OUTCOME_BLOCK_ERROR;
    enum pc_interrupt_mode mode = PC_MODE_FINISH;

    for (size_t i = 0; i < R_N; i++) {
        (void)meta->ops->text(meta, fields[i], v[i], sizeof(v[i]));
    }
    if (pc_outcome_kind_parse(v[R_OUTCOME], strlen(v[R_OUTCOME]), &kind) != 0) {
        kind = PC_OUTCOME_BLOCK_ERROR;
    }
    if (pc_interrupt_mode_parse(v[R_MODE], strlen(v[R_MODE]), &mode, NULL) != 0) {
        mode = PC_MODE_FINISH; /* absent (a raw PUBLISH of a plain reason): finish */
    }
    if (json) {
        (void)printf("{\"id\":\"%s\",\"mode\":\"%s\",\"requested_ms\":%s,\"latched_ms\":%s,"
                     "\"escalations\":%s,\"finished_ms\":%s,\"outcome\":\"%s\"}\n",
                     id, pc_interrupt_mode_name(mode), json_number_or_null(v[R_REQUESTED]),
                     json_number_or_null(v[R_LATCHED]),
                     v[R_ESCALATIONS][0] != '\0' ? json_number_or_null(v[R_ESCALATIONS]) : "0",
                     json_number_or_null(v[R_FINISHED]), pc_outcome_kind_name(kind));
    } else {
        (void)printf("execution %s: outcome %s\n  mode %s, requested at %s, latched at %s, "
                     "escalations %s, finished at %s (Unix ms)\n",
                     id, pc_outcome_kind_name(kind), pc_interrupt_mode_name(mode),
                     v[R_REQUESTED][0] != '\0' ? v[R_REQUESTED] : "-",
                     v[R_LATCHED][0] != '\0' ? v[R_LATCHED] : "- (not latched)",
                     v[R_ESCALATIONS][0] != '\0' ? v[R_ESCALATIONS] : "0",
                     v[R_FINISHED][0] != '\0' ? v[R_FINISHED] : "-");
    }
    return pc_outcome_exit_status(kind);
}

int cli_states_text(struct pc_buf *b, const char *label, const struct cli_records *states,
                    struct pc_err *err)
{
    struct cli_cursor at = {0, NULL};
    struct cli_record state;
    bool more = states->next(states, &at, &state);
    int rc = pc_buf_appendf(b, "%s:%s\n", label, more ? "" : " (none stored)");

    while (rc == 0 && more) {
        rc = pc_buf_appendf(b, "  %.*s: ", (int)(state.name_len < 64 ? state.name_len : 64),
                            state.name);
        rc = rc == 0 ? state.ops->json_value(&state, b, err) : rc;
        rc = rc == 0 ? pc_buf_puts(b, "\n") : rc;
        more = rc == 0 && states->next(states, &at, &state);
    }
    if (rc != 0 && err != NULL && err->code == PC_OK) {
        (void)pc_err_set(err, rc, "states: %s", pc_strerror(rc));
    }
    return rc;
}
