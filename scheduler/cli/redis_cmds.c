/*
 * redis_cmds.c - `peace status | interrupt | list | states | report` against
 * the fleet's Redis, and the helpers the run/watch follower shares with them.
 *
 * Every subcommand opens one connection, reads what CONTRACT §3 names
 * (meta, progress, states hashes, the execs index), prints text or (with
 * --json) one JSON document on stdout, and returns the exit status: 0 when
 * it did its job, 1 with a one-line reason on stderr otherwise (unknown id,
 * unreachable Redis, a value it cannot decode).
 *
 * Meta values are plain text; in JSON the counters and times become numbers
 * and everything else stays a string. The `report` field is msgpack and is
 * shown decoded, never as bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "peace/keys.h"
#include "peace/msg.h"
#include "redis_exec.h"

#define CLI_OUT_MAX        (64u << 20)
#define CLI_LIST_DEFAULT   20
#define CLI_LIST_MAX       10000
#define CLI_META_VALUE_MAX 512

/* Contract fields of the meta hash in their documented order (report aside). */
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

/* Marker script (exec slot): 1 recorded, 2 already requested, 0 finished, -1 unknown. */
static const char interrupt_script[] =
    "local s = redis.call('HGET', KEYS[1], 'status')\n"
    "if not s then return -1 end\n"
    "if s == 'finished' then return 0 end\n"
    "if redis.call('HEXISTS', KEYS[1], 'interrupt_requested_ms') == 1 then return 2 end\n"
    "redis.call('HSET', KEYS[1], 'interrupt_requested_ms', ARGV[1], 'interrupt_reason', ARGV[2])\n"
    "return 1\n";

static void fail(const struct pc_err *err)
{
    (void)fprintf(stderr, "peace: %s\n", err->msg[0] != '\0' ? err->msg : "failed");
}

uint64_t cli_unix_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

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

static int exec_key(struct cli_redis *r, const char *id, char *key, size_t size, struct pc_err *err)
{
    if (pc_key_exec(key, size, cli_redis_prefix(r), id) < 0) {
        return pc_err_set(err, PC_EINVAL, "execution id %s makes no key", id);
    }
    return 0;
}

int cli_exec_meta(struct cli_redis *r, const char *id, redisReply **meta, struct pc_err *err)
{
    char key[PC_KEY_MAX];
    redisReply *rep = NULL;
    int rc;

    rc = exec_key(r, id, key, sizeof(key), err);
    if (rc == 0) {
        rc = cli_redis_cmd(r, &rep, err, "HGETALL", key, (char *)NULL);
    }
    if (rc != 0 || rep == NULL) {
        return rc != 0 ? rc : PC_EINTERNAL;
    }
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0) {
        freeReplyObject(rep);
        return pc_err_set(err, PC_ENOTFOUND, "execution %s not found", id);
    }
    *meta = rep;
    return 0;
}

void cli_meta_get(const redisReply *meta, const char *field, char *out, size_t out_size)
{
    const redisReply *v = cli_reply_field(meta, field);
    const char *p;
    size_t n;

    out[0] = '\0';
    if (cli_reply_str(v, &p, &n) && n < out_size && memchr(p, '\0', n) == NULL) {
        memcpy(out, p, n);
        out[n] = '\0';
    }
}

int cli_exec_interrupt(struct cli_redis *r, const char *id, const char *reason,
                       enum cli_interrupt_result *result, struct pc_err *err)
{
    char key[PC_KEY_MAX];
    char channel[PC_KEY_MAX];
    char now_text[24];
    size_t reason_len = strlen(reason);
    redisReply *rep = NULL;
    int rc;

    if (reason_len > MSG_EVENT_REASON_MAX) {
        reason_len = MSG_EVENT_REASON_MAX;
    }
    rc = exec_key(r, id, key, sizeof(key), err);
    if (rc != 0) {
        return rc;
    }
    if (pc_key_interrupt_channel(channel, sizeof(channel), cli_redis_prefix(r), id) < 0) {
        return pc_err_set(err, PC_EINVAL, "execution id %s makes no channel", id);
    }
    (void)snprintf(now_text, sizeof(now_text), "%llu", (unsigned long long)cli_unix_ms());
    {
        const char *argv[] = {"EVAL", interrupt_script, "1", key, now_text, reason};
        size_t lens[] = {4,         sizeof(interrupt_script) - 1, 1, strlen(key), strlen(now_text),
                         reason_len};

        rc = cli_redis_command(r, 6, argv, lens, &rep, err);
    }
    if (rc != 0) {
        return rc;
    }
    if (rep->type != REDIS_REPLY_INTEGER) {
        freeReplyObject(rep);
        return pc_err_set(err, PC_EREDIS, "interrupt script: unexpected reply");
    }
    switch (rep->integer) {
    case -1:
        *result = CLI_INTERRUPT_UNKNOWN;
        break;
    case 0:
        *result = CLI_INTERRUPT_FINISHED;
        break;
    case 1:
        *result = CLI_INTERRUPT_RECORDED;
        break;
    default:
        *result = CLI_INTERRUPT_ALREADY;
        break;
    }
    freeReplyObject(rep);
    if (*result == CLI_INTERRUPT_UNKNOWN || *result == CLI_INTERRUPT_FINISHED) {
        return 0;
    }
    {
        const char *argv[] = {"PUBLISH", channel, reason};
        size_t lens[] = {7, strlen(channel), reason_len};

        rc = cli_redis_command(r, 3, argv, lens, &rep, err);
    }
    if (rc == 0) {
        freeReplyObject(rep);
    }
    return rc;
}

int cli_exec_outcome(const redisReply *meta, struct pc_outcome *out, struct pc_err *err)
{
    const redisReply *report = cli_reply_field(meta, "report");
    char kind_text[64];
    char error_text[PC_OUTCOME_ERROR_TEXT_MAX];
    enum pc_outcome_kind kind;
    struct pc_outcome o;
    const char *p;
    size_t n;

    if (cli_reply_str(report, &p, &n) && n > 0) {
        return msg_report_decode(p, n, out, err);
    }
    cli_meta_get(meta, "outcome", kind_text, sizeof(kind_text));
    if (kind_text[0] == '\0') {
        return pc_err_set(err, PC_ENOTFOUND, "no outcome yet");
    }
    if (pc_outcome_kind_parse(kind_text, strlen(kind_text), &kind) != 0) {
        return pc_err_set(err, PC_ESCHEMA, "unknown outcome %s", kind_text);
    }
    pc_outcome_init(&o);
    o.kind = kind;
    cli_meta_get(meta, "error", error_text, sizeof(error_text));
    if (error_text[0] != '\0' && pc_outcome_set_error(&o, error_text) != 0) {
        pc_outcome_cleanup(&o);
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    *out = o;
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

static int states_hash(struct cli_redis *r, const char *app, const char *profile, const char *flow,
                       enum pc_states_kind kind, redisReply **out, struct pc_err *err)
{
    char key[PC_KEY_MAX];
    redisReply *rep = NULL;
    int rc;

    if (pc_key_states(key, sizeof(key), cli_redis_prefix(r), app, profile, flow, kind) < 0) {
        (void)pc_err_set(err, PC_EINVAL, "no states key for %s/%s/%s", app, profile, flow);
        return PC_EINVAL;
    }
    rc = cli_redis_cmd(r, &rep, err, "HGETALL", key, (char *)NULL);
    if (rc != 0 || rep == NULL) {
        return rc != 0 ? rc : PC_EINTERNAL;
    }
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements % 2 != 0) {
        freeReplyObject(rep);
        (void)pc_err_set(err, PC_EREDIS, "%s: not a hash", key);
        return PC_EREDIS;
    }
    *out = rep;
    return 0;
}

/* Appends one stored value as JSON; the item is named in the error. */
static int append_state(const redisReply *name, const redisReply *value, struct pc_buf *out,
                        struct pc_err *err)
{
    struct pc_state s = {NULL, 0};
    const char *p;
    size_t n;
    int rc;

    if (!cli_reply_str(value, &p, &n) || msg_state_check(p, n, err) != 0) {
        return pc_err_set(err, PC_ESCHEMA, "stored state of %.*s is not one msgpack value",
                          (int)(name->len < 64 ? name->len : 64), name->str);
    }
    /* A borrowed view: pc_state_to_json only reads. */
    s.data = (uint8_t *)(uintptr_t)p;
    s.len = n;
    rc = pc_state_to_json(&s, out);
    if (rc != 0) {
        return pc_err_set(err, rc, "stored state of %.*s: cannot render (%s)",
                          (int)(name->len < 64 ? name->len : 64), name->str, pc_strerror(rc));
    }
    return 0;
}

int cli_states_json(struct cli_redis *r, const char *app, const char *profile, const char *flow,
                    enum pc_states_kind kind, struct pc_buf *out, struct pc_err *err)
{
    redisReply *rep = NULL;
    int rc = states_hash(r, app, profile, flow, kind, &rep, err);

    if (rc != 0) {
        return rc;
    }
    rc = pc_buf_puts(out, "{");
    for (size_t i = 0; rc == 0 && i < rep->elements; i += 2) {
        const redisReply *name = rep->element[i];

        if (name->type != REDIS_REPLY_STRING) {
            rc = pc_err_set(err, PC_EREDIS, "states hash: bad field");
            break;
        }
        rc = i > 0 ? pc_buf_puts(out, ",") : 0;
        if (rc == 0) {
            rc = pc_buf_append_json_str(out, name->str, name->len);
        }
        if (rc == 0) {
            rc = pc_buf_puts(out, ":");
        }
        if (rc == 0) {
            rc = append_state(name, rep->element[i + 1], out, err);
        }
    }
    if (rc == 0) {
        rc = pc_buf_puts(out, "}");
    }
    if (rc != 0 && err != NULL && err->code == PC_OK) {
        (void)pc_err_set(err, rc, "states: %s", pc_strerror(rc));
    }
    freeReplyObject(rep);
    return rc;
}

int cli_states_print_text(struct cli_redis *r, const char *app, const char *profile,
                          const char *flow, enum pc_states_kind kind, const char *label,
                          struct pc_err *err)
{
    redisReply *rep = NULL;
    struct pc_buf b;
    int rc = states_hash(r, app, profile, flow, kind, &rep, err);

    if (rc != 0) {
        return rc;
    }
    pc_buf_init(&b, CLI_OUT_MAX);
    rc = pc_buf_appendf(&b, "%s:%s\n", label, rep->elements == 0 ? " (none stored)" : "");
    for (size_t i = 0; rc == 0 && i < rep->elements; i += 2) {
        const redisReply *name = rep->element[i];

        rc = pc_buf_appendf(&b, "  %.*s: ", (int)(name->len < 64 ? name->len : 64), name->str);
        if (rc == 0) {
            rc = append_state(name, rep->element[i + 1], &b, err);
        }
        if (rc == 0) {
            rc = pc_buf_puts(&b, "\n");
        }
    }
    if (rc == 0) {
        (void)fputs(pc_buf_str(&b), stdout);
    } else if (err != NULL && err->code == PC_OK) {
        (void)pc_err_set(err, rc, "states: %s", pc_strerror(rc));
    }
    pc_buf_cleanup(&b);
    freeReplyObject(rep);
    return rc;
}

/* ------------------------------------------------------------------------ */

static bool numeric_field(const char *f)
{
    static const char *const numeric[] = {"attempt",     "block_index", "blocks_total",
                                          "items_total", "items_done",  "lease_epoch",
                                          "done"};
    size_t n = strlen(f);

    if (n > 3 && strcmp(f + n - 3, "_ms") == 0) {
        return true;
    }
    for (size_t i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++) {
        if (strcmp(f, numeric[i]) == 0) {
            return true;
        }
    }
    return false;
}

static bool all_digits(const char *p, size_t n)
{
    if (n == 0 || n > 19) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
    }
    return true;
}

/* Appends "field":value, a number for counters and times, else a string. */
static int append_json_field(struct pc_buf *b, const char *field, const char *p, size_t n)
{
    int rc = pc_buf_append_json_str(b, field, strlen(field));

    if (rc == 0) {
        rc = pc_buf_puts(b, ":");
    }
    if (rc == 0) {
        rc = numeric_field(field) && all_digits(p, n) ? pc_buf_append(b, p, n)
                                                      : pc_buf_append_json_str(b, p, n);
    }
    return rc;
}

/* {"field": value...} of every meta field but report (private ones included). */
static int meta_json(const redisReply *meta, struct pc_buf *b)
{
    bool first = true;
    int rc = pc_buf_puts(b, "{");

    for (size_t i = 0; rc == 0 && i + 1 < meta->elements; i += 2) {
        const redisReply *k = meta->element[i];
        const redisReply *v = meta->element[i + 1];
        char field[64];

        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            k->len >= sizeof(field) || (k->len == 6 && memcmp(k->str, "report", 6) == 0)) {
            continue;
        }
        memcpy(field, k->str, k->len);
        field[k->len] = '\0';
        rc = first ? 0 : pc_buf_puts(b, ",");
        first = false;
        if (rc == 0) {
            rc = append_json_field(b, field, v->str, v->len);
        }
    }
    return rc == 0 ? pc_buf_puts(b, "}") : rc;
}

/*
 * The progress hash as {"item": {"status","limit","done","msg"}} (JSON) or
 * one line per item (text), items in the order their first field appears.
 */
static int progress_render(const redisReply *prog, bool json, struct pc_buf *b)
{
    static const char *const parts[] = {"status", "limit", "done", "msg"};
    bool first_item = true;
    bool first_part = true;
    int rc = json ? pc_buf_puts(b, "{") : 0;

    for (size_t i = 0; rc == 0 && i + 1 < prog->elements; i += 2) {
        const redisReply *k = prog->element[i];
        const char *dot;
        size_t item_len;
        bool seen = false;

        if (k->type != REDIS_REPLY_STRING || (dot = memchr(k->str, '.', k->len)) == NULL) {
            continue;
        }
        item_len = (size_t)(dot - k->str);
        /* Visit each item once: at its first field. */
        for (size_t j = 0; j < i && !seen; j += 2) {
            const redisReply *e = prog->element[j];

            seen = e->type == REDIS_REPLY_STRING && e->len > item_len && e->str[item_len] == '.' &&
                   memcmp(e->str, k->str, item_len) == 0;
        }
        if (seen) {
            continue;
        }
        if (json) {
            rc = first_item ? 0 : pc_buf_puts(b, ",");
            if (rc == 0) {
                rc = pc_buf_append_json_str(b, k->str, item_len);
            }
            if (rc == 0) {
                rc = pc_buf_puts(b, ":{");
            }
        } else {
            rc = pc_buf_appendf(b, "  %.*s:", (int)item_len, k->str);
        }
        first_item = false;
        first_part = true;
        for (size_t p = 0; rc == 0 && p < sizeof(parts) / sizeof(parts[0]); p++) {
            char field[PC_ID_MAX + 16];
            const redisReply *v;

            (void)snprintf(field, sizeof(field), "%.*s.%s", (int)item_len, k->str, parts[p]);
            v = cli_reply_field(prog, field);
            if (v == NULL || v->type != REDIS_REPLY_STRING) {
                continue;
            }
            if (json) {
                rc = first_part ? 0 : pc_buf_puts(b, ",");
                first_part = false;
                if (rc == 0) {
                    rc = append_json_field(b, parts[p], v->str, v->len);
                }
            } else if (v->len > 0) {
                rc = pc_buf_appendf(b, " %s=%.*s", parts[p], (int)(v->len < 200 ? v->len : 200),
                                    v->str);
            }
        }
        if (rc == 0) {
            rc = pc_buf_puts(b, json ? "}" : "\n");
        }
    }
    if (rc == 0 && json) {
        rc = pc_buf_puts(b, "}");
    }
    return rc;
}

static int connect_or_fail(const struct cli_opts *o, struct cli_redis **r)
{
    struct pc_err err;

    pc_err_clear(&err);
    if (cli_redis_connect(o->redis_url, o->prefix, r, &err) != 0) {
        fail(&err);
        return 1;
    }
    return 0;
}

static int one_id(const struct cli_opts *o, const char *what, struct pc_err *err)
{
    if (o->n_args != 1) {
        return pc_err_set(err, PC_EINVAL, "%s needs exactly one execution id", what);
    }
    return cli_exec_id_check(o->args[0], err);
}

int cli_redis_status(const struct cli_opts *o)
{
    struct cli_redis *r = NULL;
    redisReply *meta = NULL;
    redisReply *prog = NULL;
    struct pc_outcome outcome;
    bool have_outcome = false;
    char key[PC_KEY_MAX];
    struct pc_buf b;
    struct pc_err err;
    int status = 1;
    int rc;

    pc_err_clear(&err);
    pc_buf_init(&b, CLI_OUT_MAX);
    if (one_id(o, "status", &err) != 0) {
        fail(&err);
        goto out;
    }
    if (connect_or_fail(o, &r) != 0) {
        goto out;
    }
    if (cli_exec_meta(r, o->args[0], &meta, &err) != 0 ||
        pc_key_progress(key, sizeof(key), cli_redis_prefix(r), o->args[0]) < 0 ||
        cli_redis_cmd(r, &prog, &err, "HGETALL", key, (char *)NULL) != 0) {
        fail(&err);
        goto out;
    }
    pc_err_clear(&err);
    rc = cli_exec_outcome(meta, &outcome, &err);
    have_outcome = rc == 0;
    if (rc != 0 && rc != PC_ENOTFOUND) {
        fail(&err);
        goto out;
    }
    if (o->json) {
        rc = pc_buf_puts(&b, "{\"meta\":");
        rc = rc == 0 ? meta_json(meta, &b) : rc;
        rc = rc == 0 ? pc_buf_puts(&b, ",\"progress\":") : rc;
        rc = rc == 0 ? progress_render(prog, true, &b) : rc;
        rc = rc == 0 ? pc_buf_puts(&b, ",\"report\":") : rc;
        if (rc == 0) {
            rc = have_outcome ? pc_outcome_format_json(&outcome, &b) : pc_buf_puts(&b, "null");
        }
        rc = rc == 0 ? pc_buf_puts(&b, "}\n") : rc;
    } else {
        rc = pc_buf_appendf(&b, "execution %s\n", o->args[0]);
        for (size_t i = 1; rc == 0 && i < sizeof(meta_fields) / sizeof(meta_fields[0]); i++) {
            char v[CLI_META_VALUE_MAX];

            cli_meta_get(meta, meta_fields[i], v, sizeof(v));
            if (v[0] != '\0') {
                rc = pc_buf_appendf(&b, "  %s: %s\n", meta_fields[i], v);
            }
        }
        if (rc == 0 && prog->elements > 0) {
            rc = pc_buf_puts(&b, "progress:\n");
            rc = rc == 0 ? progress_render(prog, false, &b) : rc;
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
    if (prog != NULL) {
        freeReplyObject(prog);
    }
    if (meta != NULL) {
        freeReplyObject(meta);
    }
    cli_redis_destroy(r);
    return status;
}

int cli_redis_interrupt(const struct cli_opts *o)
{
    static const char default_reason[] = "requested with peace interrupt";
    struct cli_redis *r = NULL;
    enum cli_interrupt_result result = CLI_INTERRUPT_UNKNOWN;
    const char *reason = o->reason != NULL ? o->reason : default_reason;
    struct pc_err err;
    int status = 1;

    pc_err_clear(&err);
    if (one_id(o, "interrupt", &err) != 0) {
        fail(&err);
        goto out;
    }
    if (connect_or_fail(o, &r) != 0) {
        goto out;
    }
    if (cli_exec_interrupt(r, o->args[0], reason, &result, &err) != 0) {
        fail(&err);
        goto out;
    }
    if (result == CLI_INTERRUPT_UNKNOWN) {
        (void)fprintf(stderr, "peace: execution %s not found\n", o->args[0]);
        goto out;
    }
    if (o->json) {
        (void)printf("{\"id\":\"%s\",\"result\":\"%s\"}\n", o->args[0],
                     result == CLI_INTERRUPT_FINISHED  ? "already_finished"
                     : result == CLI_INTERRUPT_ALREADY ? "already_requested"
                                                       : "requested");
    } else if (result == CLI_INTERRUPT_FINISHED) {
        (void)printf("execution %s has already finished: no effect\n", o->args[0]);
    } else if (result == CLI_INTERRUPT_ALREADY) {
        (void)printf("execution %s: an interrupt was already requested (published again)\n",
                     o->args[0]);
    } else {
        (void)printf("execution %s: interrupt requested\n", o->args[0]);
    }
    status = 0;
out:
    cli_redis_destroy(r);
    return status;
}

/* A field length for "%.*s", at most max. */
static int clamp_len(size_t n, size_t max)
{
    return (int)(n < max ? n : max);
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

/* The meta fields `list` shows, in this order. */
static const char *const list_fields[] = {
    "id",      "cmd",        "app",        "profile",     "flow",   "queue",  "status",
    "outcome", "created_ms", "started_ms", "finished_ms", "worker", "attempt"};
enum { LIST_FIELDS = sizeof(list_fields) / sizeof(list_fields[0]) };

/* Pipelines one HMGET per id; metas[i] (owned) gets each reply. */
static int list_fetch(struct cli_redis *r, const redisReply *ids, redisReply **metas,
                      struct pc_err *err)
{
    const char *argv[2 + LIST_FIELDS];
    size_t lens[2 + LIST_FIELDS];
    char key[PC_KEY_MAX];
    char id[CLI_EXEC_ID_MAX + 1];
    int rc = 0;

    argv[0] = "HMGET";
    lens[0] = 5;
    for (size_t f = 0; f < LIST_FIELDS; f++) {
        argv[2 + f] = list_fields[f];
        lens[2 + f] = strlen(list_fields[f]);
    }
    for (size_t i = 0; rc == 0 && i < ids->elements; i++) {
        const redisReply *e = ids->element[i];

        /* A member that makes no key still gets a command, so replies stay in step. */
        (void)snprintf(id, sizeof(id), "%.*s",
                       e->type == REDIS_REPLY_STRING ? clamp_len(e->len, CLI_EXEC_ID_MAX) : 0,
                       e->type == REDIS_REPLY_STRING ? e->str : "");
        if (cli_exec_id_check(id, NULL) != 0 ||
            pc_key_exec(key, sizeof(key), cli_redis_prefix(r), id) < 0) {
            (void)pc_key_exec(key, sizeof(key), cli_redis_prefix(r), "-");
        }
        argv[1] = key;
        lens[1] = strlen(key);
        rc = cli_redis_append(r, 2 + LIST_FIELDS, argv, lens, err);
    }
    for (size_t i = 0; rc == 0 && i < ids->elements; i++) {
        rc = cli_redis_get_reply(r, &metas[i], err);
    }
    return rc;
}

/* One execution of `list`: a JSON object or a table row. */
static int list_row(const redisReply *m, bool json, bool first, struct pc_buf *b)
{
    const char *v[LIST_FIELDS];
    size_t vl[LIST_FIELDS];
    char created_ms[24];
    char created[32];
    char where[3 * PC_ID_MAX + 3];
    bool first_field = true;
    int rc;

    for (size_t f = 0; f < LIST_FIELDS; f++) {
        const redisReply *x = m->element[f];

        v[f] = x->type == REDIS_REPLY_STRING ? x->str : "";
        vl[f] = x->type == REDIS_REPLY_STRING ? x->len : 0;
    }
    if (json) {
        rc = pc_buf_puts(b, first ? "{" : ",{");
        for (size_t f = 0; rc == 0 && f < LIST_FIELDS; f++) {
            if (m->element[f]->type != REDIS_REPLY_STRING) {
                continue;
            }
            rc = first_field ? 0 : pc_buf_puts(b, ",");
            first_field = false;
            rc = rc == 0 ? append_json_field(b, list_fields[f], v[f], vl[f]) : rc;
        }
        return rc == 0 ? pc_buf_puts(b, "}") : rc;
    }
    (void)snprintf(created_ms, sizeof(created_ms), "%.*s", clamp_len(vl[8], 20), v[8]);
    format_time(created_ms, created, sizeof(created));
    (void)snprintf(where, sizeof(where), "%.*s/%.*s/%.*s", clamp_len(vl[2], PC_ID_MAX), v[2],
                   clamp_len(vl[3], PC_ID_MAX), v[3], clamp_len(vl[4], PC_ID_MAX), v[4]);
    return pc_buf_appendf(b, "%-26.*s  %-16.*s  %-36s  %-8.*s  %-21.*s  %s\n",
                          clamp_len(vl[0], CLI_EXEC_ID_MAX), v[0], clamp_len(vl[1], 32), v[1],
                          where, clamp_len(vl[6], 16), v[6], vl[7] > 0 ? clamp_len(vl[7], 32) : 1,
                          vl[7] > 0 ? v[7] : "-", created);
}

int cli_redis_list(const struct cli_opts *o)
{
    struct cli_redis *r = NULL;
    redisReply *ids = NULL;
    redisReply **metas = NULL;
    size_t n_metas = 0;
    size_t limit = o->limit != 0 ? o->limit : CLI_LIST_DEFAULT;
    char key[PC_KEY_MAX];
    char stop[24];
    struct pc_buf b;
    struct pc_err err;
    bool first = true;
    int status = 1;
    int rc = 0;

    pc_err_clear(&err);
    pc_buf_init(&b, CLI_OUT_MAX);
    if (limit > CLI_LIST_MAX || o->n_args != 0) {
        (void)fprintf(stderr, "peace: list takes no arguments and --limit 1..%d\n", CLI_LIST_MAX);
        goto out;
    }
    if (connect_or_fail(o, &r) != 0) {
        goto out;
    }
    (void)pc_key_execs(key, sizeof(key), cli_redis_prefix(r));
    (void)snprintf(stop, sizeof(stop), "%zu", limit - 1);
    if (cli_redis_cmd(r, &ids, &err, "ZREVRANGE", key, "0", stop, (char *)NULL) != 0 ||
        ids == NULL || ids->type != REDIS_REPLY_ARRAY) {
        (void)fprintf(stderr, "peace: %s\n", err.msg[0] ? err.msg : "peace:execs is not a zset");
        goto out;
    }
    n_metas = ids->elements;
    metas = calloc(n_metas + 1, sizeof(redisReply *));
    if (metas == NULL) {
        (void)fprintf(stderr, "peace: out of memory\n");
        goto out;
    }
    if (list_fetch(r, ids, metas, &err) != 0) {
        fail(&err);
        goto out;
    }
    rc = o->json ? pc_buf_puts(&b, "[")
                 : pc_buf_appendf(&b, "%-26s  %-16s  %-36s  %-8s  %-21s  %s\n", "ID", "CMD",
                                  "APP/PROFILE/FLOW", "STATUS", "OUTCOME", "CREATED");
    for (size_t i = 0; rc == 0 && i < n_metas; i++) {
        const redisReply *m = metas[i];

        if (m->type != REDIS_REPLY_ARRAY || m->elements != LIST_FIELDS ||
            m->element[0]->type != REDIS_REPLY_STRING) {
            continue; /* expired or not a meta hash: nothing to show */
        }
        rc = list_row(m, o->json, first, &b);
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
    for (size_t i = 0; metas != NULL && i < n_metas; i++) {
        if (metas[i] != NULL) {
            freeReplyObject(metas[i]);
        }
    }
    free(metas);
    if (ids != NULL) {
        freeReplyObject(ids);
    }
    pc_buf_cleanup(&b);
    cli_redis_destroy(r);
    return status;
}

int cli_redis_states(const struct cli_opts *o)
{
    static const char *const what[] = {"app", "profile", "flow"};
    struct cli_redis *r = NULL;
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
    if (connect_or_fail(o, &r) != 0) {
        goto out;
    }
    if (o->json) {
        rc = pc_buf_puts(&b, "{\"app\":");
        rc = rc == 0 ? pc_buf_append_json_str(&b, o->args[0], strlen(o->args[0])) : rc;
        rc = rc == 0 ? pc_buf_puts(&b, ",\"profile\":") : rc;
        rc = rc == 0 ? pc_buf_append_json_str(&b, o->args[1], strlen(o->args[1])) : rc;
        rc = rc == 0 ? pc_buf_puts(&b, ",\"flow\":") : rc;
        rc = rc == 0 ? pc_buf_append_json_str(&b, o->args[2], strlen(o->args[2])) : rc;
        rc = rc == 0 ? pc_buf_puts(&b, ",\"current\":") : rc;
        if (rc == 0) {
            rc =
                cli_states_json(r, o->args[0], o->args[1], o->args[2], PC_STATES_CURRENT, &b, &err);
        }
        rc = rc == 0 ? pc_buf_puts(&b, ",\"goal\":") : rc;
        if (rc == 0) {
            rc = cli_states_json(r, o->args[0], o->args[1], o->args[2], PC_STATES_GOAL, &b, &err);
        }
        rc = rc == 0 ? pc_buf_puts(&b, "}\n") : rc;
        if (rc == 0) {
            (void)fputs(pc_buf_str(&b), stdout);
        }
    } else {
        rc = cli_states_print_text(r, o->args[0], o->args[1], o->args[2], PC_STATES_CURRENT,
                                   "stored current states", &err);
        if (rc == 0) {
            rc = cli_states_print_text(r, o->args[0], o->args[1], o->args[2], PC_STATES_GOAL,
                                       "stored goal states", &err);
        }
    }
    if (rc != 0) {
        if (err.code == PC_OK) {
            (void)pc_err_set(&err, rc, "cannot format the states (%s)", pc_strerror(rc));
        }
        fail(&err);
        goto out;
    }
    status = 0;
out:
    pc_buf_cleanup(&b);
    cli_redis_destroy(r);
    return status;
}

int cli_redis_report(const struct cli_opts *o)
{
    struct cli_redis *r = NULL;
    redisReply *meta = NULL;
    struct pc_outcome outcome;
    bool have_outcome = false;
    struct pc_err err;
    int status = 1;
    int rc;

    pc_err_clear(&err);
    if (one_id(o, "report", &err) != 0) {
        fail(&err);
        goto out;
    }
    if (connect_or_fail(o, &r) != 0) {
        goto out;
    }
    if (cli_exec_meta(r, o->args[0], &meta, &err) != 0) {
        fail(&err);
        goto out;
    }
    rc = cli_exec_outcome(meta, &outcome, &err);
    if (rc == PC_ENOTFOUND) {
        char st[32];

        cli_meta_get(meta, "status", st, sizeof(st));
        (void)fprintf(stderr, "peace: execution %s has no report yet (status %s)\n", o->args[0],
                      st[0] != '\0' ? st : "unknown");
        goto out;
    }
    if (rc != 0) {
        (void)fprintf(stderr, "peace: execution %s: report: %s\n", o->args[0], err.msg);
        goto out;
    }
    have_outcome = true;
    cli_print_outcome(&outcome, o->json);
    status = 0;
out:
    if (have_outcome) {
        pc_outcome_cleanup(&outcome);
    }
    if (meta != NULL) {
        freeReplyObject(meta);
    }
    cli_redis_destroy(r);
    return status;
}
