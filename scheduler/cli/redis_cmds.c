/*
 * redis_cmds.c - `peace status | interrupt | list | report` against
 * the fleet's Redis, and the helpers the run/watch follower shares with them
 * (`peace states` is redis_states.c's).
 *
 * Every subcommand opens one connection, reads what CONTRACT §3 names
 * (meta, progress, states hashes, the execs index), prints text or (with
 * --json) one JSON document on stdout, and returns the exit status: 0 when
 * it did its job, 1 with a one-line reason on stderr otherwise (unknown id,
 * unreachable Redis, a value it cannot decode).
 *
 * Meta values are plain text; in JSON the counters and times become numbers
 * and everything else stays a string. The `report` field is msgpack and is
 * shown decoded, never as bytes. The layout of what is printed is
 * exec_view.c's: here the hashes become its records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "peace/keys.h"
#include "peace/msg.h"
#include "peace/scripts.h"
#include "redis_exec.h"

uint64_t cli_unix_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
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

/*
 * The fleet's exec_mark_interrupt script (the worker and the scheduler run
 * the same text): 1 marked, 2 already marked, 0 finished or unknown.
 */
static int mark_interrupt(struct cli_redis *r, const char *key, const char *reason,
                          size_t reason_len, const struct pc_interrupt_req *req, long long *marked,
                          struct pc_err *err)
{
    const char *script = pc_script_source(PC_SCRIPT_EXEC_MARK_INTERRUPT);
    const char *mode = pc_interrupt_mode_name(req->mode);
    char now_text[24];
    char deadline[24];
    redisReply *rep = NULL;
    int rc;

    (void)snprintf(now_text, sizeof(now_text), "%llu", (unsigned long long)cli_unix_ms());
    (void)snprintf(deadline, sizeof(deadline), "%llu",
                   (unsigned long long)(req->has_deadline ? req->deadline_ms
                                                          : PC_INTERRUPT_DEADLINE_DEFAULT_MS));
    {
        const char *argv[] = {"EVAL", script, "1", key, now_text, reason, mode, deadline};
        size_t lens[] = {4,
                         strlen(script),
                         1,
                         strlen(key),
                         strlen(now_text),
                         reason_len,
                         strlen(mode),
                         strlen(deadline)};

        rc = cli_redis_command(r, 8, argv, lens, &rep, err);
    }
    if (rc != 0) {
        return rc;
    }
    if (rep->type != REDIS_REPLY_INTEGER) {
        freeReplyObject(rep);
        return pc_err_set(err, PC_EREDIS, "interrupt script: unexpected reply");
    }
    *marked = rep->integer;
    freeReplyObject(rep);
    return 0;
}

/* Finished or unknown: an execution is known while its meta hash has a status. */
static int exec_known(struct cli_redis *r, const char *key, bool *known, struct pc_err *err)
{
    redisReply *rep = NULL;
    int rc = cli_redis_cmd(r, &rep, err, "HEXISTS", key, "status", (char *)NULL);

    if (rc != 0) {
        return rc;
    }
    *known = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
    freeReplyObject(rep);
    return 0;
}

int cli_exec_interrupt(struct cli_redis *r, const char *id, const char *reason,
                       enum pc_interrupt_mode mode, bool has_deadline, uint64_t deadline_ms,
                       enum cli_interrupt_result *result, struct pc_err *err)
{
    char key[PC_KEY_MAX];
    char channel[PC_KEY_MAX];
    char payload[MSG_EVENT_REASON_MAX + 48];
    size_t reason_len = strlen(reason);
    struct pc_interrupt_req req = {
        .mode = mode, .has_deadline = has_deadline, .deadline_ms = deadline_ms};
    int payload_len = 0;
    redisReply *rep = NULL;
    long long marked = 0;
    bool known = false;
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
    req.reason = reason;
    req.reason_len = reason_len;
    payload_len = pc_interrupt_payload_format(&req, payload, sizeof(payload));
    if (payload_len < 0 || (size_t)payload_len >= sizeof(payload)) {
        return pc_err_set(err, PC_EINVAL, "interrupt: the payload does not fit");
    }
    rc = mark_interrupt(r, key, reason, reason_len, &req, &marked, err);
    if (rc == 0 && marked == 0) {
        rc = exec_known(r, key, &known, err);
        if (rc == 0) {
            *result = known ? CLI_INTERRUPT_FINISHED : CLI_INTERRUPT_UNKNOWN;
        }
        return rc;
    }
    if (rc != 0) {
        return rc;
    }
    {
        /* A plain finish publishes the bare reason, as before modes existed. */
        const char *argv[] = {"PUBLISH", channel, payload};
        size_t lens[] = {7, strlen(channel), (size_t)payload_len};

        rc = cli_redis_command(r, 3, argv, lens, &rep, err);
    }
    if (rc != 0) {
        return rc;
    }
    freeReplyObject(rep);
    *result = marked == 1 ? CLI_INTERRUPT_RECORDED : CLI_INTERRUPT_ALREADY;
    return 0;
}

/* The full report: 0 and *found, or 0 and !*found when there is none. */
static int full_report(struct cli_redis *r, const char *id, struct pc_outcome *out, bool *found,
                       struct pc_err *err)
{
    char key[PC_KEY_MAX];
    redisReply *rep = NULL;
    int rc;

    *found = false;
    if (pc_key_report(key, sizeof(key), cli_redis_prefix(r), id) < 0) {
        return pc_err_set(err, PC_EINVAL, "execution id %s makes no key", id);
    }
    rc = cli_redis_cmd(r, &rep, err, "GET", key, (char *)NULL);
    if (rc != 0) {
        return rc;
    }
    if (rep != NULL && rep->type == REDIS_REPLY_STRING && rep->len > 0) {
        rc = msg_report_decode(rep->str, rep->len, out, err);
        *found = rc == 0;
    }
    if (rep != NULL) {
        freeReplyObject(rep);
    }
    return rc;
}

int cli_exec_outcome(struct cli_redis *r, const char *id, const redisReply *meta,
                     struct pc_outcome *out, struct pc_err *err)
{
    const redisReply *report = cli_reply_field(meta, "report");
    char kind_text[64];
    char error_text[PC_OUTCOME_ERROR_TEXT_MAX];
    enum pc_outcome_kind kind;
    struct pc_outcome o;
    const char *p;
    size_t n;
    bool found = false;

    if (r != NULL && id != NULL) {
        int rc = full_report(r, id, out, &found, err);

        if (rc != 0 || found) {
            return rc;
        }
    }
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

/* ------------------------------------------------------------------------ */
/* Replies as exec_view records                                              */

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

/* A JSON number as written by hand: digits only, no leading zero (but "0"). */
static bool all_digits(const char *p, size_t n)
{
    if (n == 0 || n > 19 || (n > 1 && p[0] == '0')) {
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

/* A string reply v as field's text (cut to fit) and its length; "" and 0 for anything else. */
static size_t reply_text(const redisReply *v, char *out, size_t out_size)
{
    size_t n = v != NULL && v->type == REDIS_REPLY_STRING ? v->len : 0;
    size_t copied = n < out_size ? n : out_size - 1;

    memcpy(out, n > 0 ? v->str : "", copied);
    out[copied] = '\0';
    return n;
}

/* A string reply v as a JSON member of field (nothing for anything else). */
static int reply_json_member(const redisReply *v, const char *field, struct pc_buf *b, bool *first)
{
    int rc;

    if (v == NULL || v->type != REDIS_REPLY_STRING) {
        return 0;
    }
    rc = *first ? 0 : pc_buf_puts(b, ",");
    *first = false;
    return rc == 0 ? append_json_field(b, field, v->str, v->len) : rc;
}

/* The meta hash (HGETALL). Text as cli_meta_get reads it. */
static size_t meta_text(const struct cli_record *rec, const char *field, char *out, size_t out_size)
{
    cli_meta_get(rec->src, field, out, out_size);
    return strlen(out);
}

static int meta_json_member(const struct cli_record *rec, const char *field, struct pc_buf *b,
                            bool *first)
{
    return reply_json_member(cli_reply_field(rec->src, field), field, b, first);
}

/* {"field": value...} of every meta field but report (private ones included). */
static int meta_json(const struct cli_record *rec, struct pc_buf *b, struct pc_err *err)
{
    const redisReply *meta = rec->src;
    bool first = true;
    int rc = pc_buf_puts(b, "{");

    (void)err;
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

static const struct cli_record_ops meta_ops = {meta_text, meta_json_member, meta_json};

/* One item of the progress hash (either layout, pc_progress_view_build). */
static struct pc_progress_str progress_part(const struct cli_record *rec, const char *part)
{
    const struct pc_progress_item *it = rec->src;
    struct pc_progress_str none = {NULL, 0};

    return strcmp(part, "status") == 0  ? it->status
           : strcmp(part, "limit") == 0 ? it->limit
           : strcmp(part, "done") == 0  ? it->done
           : strcmp(part, "msg") == 0   ? it->msg
                                        : none;
}

static size_t progress_text(const struct cli_record *rec, const char *part, char *out,
                            size_t out_size)
{
    struct pc_progress_str v = progress_part(rec, part);
    size_t copied = v.n < out_size ? v.n : out_size - 1;

    memcpy(out, v.s != NULL ? v.s : "", v.s != NULL ? copied : 0);
    out[v.s != NULL ? copied : 0] = '\0';
    return v.s != NULL ? v.n : 0;
}

static int progress_json_member(const struct cli_record *rec, const char *part, struct pc_buf *b,
                                bool *first)
{
    struct pc_progress_str v = progress_part(rec, part);
    int rc;

    if (v.s == NULL) {
        return 0;
    }
    rc = *first ? 0 : pc_buf_puts(b, ",");
    *first = false;
    return rc == 0 ? append_json_field(b, part, v.s, v.n) : rc;
}

static const struct cli_record_ops progress_ops = {progress_text, progress_json_member, NULL};

/* The items of the progress hash, in the order they first appear. */
static bool progress_next(const struct cli_records *s, struct cli_cursor *at,
                          struct cli_record *rec)
{
    const struct pc_progress_view *v = s->src;
    const struct pc_progress_item *it;

    if (at->index >= v->n) {
        return false;
    }
    it = &v->items[at->index++];
    *rec = (struct cli_record){&progress_ops, it, it->id, it->id_len};
    return true;
}

/* The view of a progress hash reply (HGETALL); the reply must outlive it. */
int cli_progress_view(const redisReply *prog, struct pc_progress_view *view)
{
    struct pc_progress_kv *kv = NULL;
    size_t n = 0;
    int rc;

    memset(view, 0, sizeof(*view));
    if (prog == NULL || prog->type != REDIS_REPLY_ARRAY) {
        return pc_progress_view_build(view, NULL, 0);
    }
    kv = calloc(prog->elements / 2 + 1, sizeof(*kv));
    if (kv == NULL) {
        return PC_ENOMEM;
    }
    for (size_t i = 0; i + 1 < prog->elements; i += 2) {
        const redisReply *k = prog->element[i];
        const redisReply *v = prog->element[i + 1];

        if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING) {
            kv[n++] = (struct pc_progress_kv){k->str, k->len, v->str, v->len};
        }
    }
    rc = pc_progress_view_build(view, kv, n);
    free(kv);
    return rc;
}

/* One HMGET of the list fields (cli_list_fields order). */
static const redisReply *row_field(const struct cli_record *rec, const char *field)
{
    const redisReply *m = rec->src;

    for (size_t f = 0; f < CLI_LIST_NFIELDS; f++) {
        if (strcmp(cli_list_fields[f], field) == 0) {
            return m->element[f];
        }
    }
    return NULL;
}

static size_t row_text(const struct cli_record *rec, const char *field, char *out, size_t out_size)
{
    return reply_text(row_field(rec, field), out, out_size);
}

static int row_json_member(const struct cli_record *rec, const char *field, struct pc_buf *b,
                           bool *first)
{
    return reply_json_member(row_field(rec, field), field, b, first);
}

static const struct cli_record_ops row_ops = {row_text, row_json_member, NULL};

/* The rows of `list`: the HMGET replies, src an array of n_metas + 1 (NULL-terminated). */
static bool rows_next(const struct cli_records *s, struct cli_cursor *at, struct cli_record *rec)
{
    redisReply *const *metas = s->src;

    for (; metas[at->index] != NULL; at->index++) {
        const redisReply *m = metas[at->index];

        if (m->type != REDIS_REPLY_ARRAY || m->elements != CLI_LIST_NFIELDS ||
            m->element[0]->type != REDIS_REPLY_STRING) {
            continue; /* expired or not a meta hash: nothing to show */
        }
        at->index++;
        *rec = (struct cli_record){&row_ops, m, NULL, 0};
        return true;
    }
    return false;
}

/* ------------------------------------------------------------------------ */
/* Subcommands                                                               */

int cli_connect_or_fail(const struct cli_opts *o, struct cli_redis **r)
{
    struct pc_err err;

    pc_err_clear(&err);
    if (cli_redis_connect(o->redis_url, o->prefix, r, &err) != 0) {
        cli_print_err(&err);
        return 1;
    }
    return 0;
}

int cli_redis_status(const struct cli_opts *o)
{
    struct cli_redis *r = NULL;
    redisReply *meta = NULL;
    redisReply *prog = NULL;
    struct pc_progress_view view = {0};
    struct pc_outcome outcome;
    bool have_outcome = false;
    char key[PC_KEY_MAX];
    struct pc_err err;
    int status = 1;
    int rc;

    pc_err_clear(&err);
    if (cli_args_one_id(o, "status") != 0 || cli_connect_or_fail(o, &r) != 0) {
        goto out;
    }
    if (cli_exec_meta(r, o->args[0], &meta, &err) != 0 ||
        pc_key_progress(key, sizeof(key), cli_redis_prefix(r), o->args[0]) < 0 ||
        cli_redis_cmd(r, &prog, &err, "HGETALL", key, (char *)NULL) != 0) {
        cli_print_err(&err);
        goto out;
    }
    pc_err_clear(&err);
    rc = cli_exec_outcome(r, o->args[0], meta, &outcome, &err);
    have_outcome = rc == 0;
    if (rc != 0 && rc != PC_ENOTFOUND) {
        cli_print_err(&err);
        goto out;
    }
    if (cli_progress_view(prog, &view) != 0) {
        (void)fprintf(stderr, "peace: out of memory\n");
        goto out;
    }
    {
        struct cli_record meta_rec = {&meta_ops, meta, NULL, 0};
        struct cli_records items = {&view, progress_next};

        status = cli_print_status(o->args[0], &meta_rec, &items, view.n > 0,
                                  have_outcome ? &outcome : NULL, o->json);
    }
out:
    pc_progress_view_free(&view);
    if (have_outcome) {
        pc_outcome_cleanup(&outcome);
    }
    if (prog != NULL) {
        freeReplyObject(prog);
    }
    if (meta != NULL) {
        freeReplyObject(meta);
    }
    cli_redis_destroy(r);
    return status;
}

/*
 * --wait: polls the meta hash (every 50 ms) until the execution finished,
 * then prints the receipt (cli_print_receipt). Returns the outcome's exit
 * status.
 */
static int wait_receipt(struct cli_redis *r, const char *id, bool json)
{
    for (;;) {
        redisReply *meta = NULL;
        struct pc_err err;
        struct timespec ts = {0, 50 * 1000000L};

        pc_err_clear(&err);
        if (cli_exec_meta(r, id, &meta, &err) != 0) {
            cli_print_err(&err);
            return 1;
        }
        {
            struct cli_record rec = {&meta_ops, meta, NULL, 0};

            if (cli_receipt_finished(&rec)) {
                int status = cli_print_receipt(id, &rec, json);

                freeReplyObject(meta);
                return status;
            }
        }
        freeReplyObject(meta);
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
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
    if (cli_args_one_id(o, "interrupt") != 0 || cli_connect_or_fail(o, &r) != 0) {
        goto out;
    }
    if (cli_exec_interrupt(r, o->args[0], reason, o->mode, o->has_deadline, o->deadline_ms, &result,
                           &err) != 0) {
        cli_print_err(&err);
        goto out;
    }
    if (result == CLI_INTERRUPT_UNKNOWN) {
        (void)fprintf(stderr, "peace: execution %s not found\n", o->args[0]);
        goto out;
    }
    if (o->wait) {
        status = wait_receipt(r, o->args[0], o->json);
        goto out;
    }
    cli_print_interrupt(o->args[0], result, o->json);
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

/* Pipelines one HMGET per id; metas[i] (owned) gets each reply. */
static int list_fetch(struct cli_redis *r, const redisReply *ids, redisReply **metas,
                      struct pc_err *err)
{
    const char *argv[2 + CLI_LIST_NFIELDS];
    size_t lens[2 + CLI_LIST_NFIELDS];
    char key[PC_KEY_MAX];
    char id[CLI_EXEC_ID_MAX + 1];
    int rc = 0;

    argv[0] = "HMGET";
    lens[0] = 5;
    for (size_t f = 0; f < CLI_LIST_NFIELDS; f++) {
        argv[2 + f] = cli_list_fields[f];
        lens[2 + f] = strlen(cli_list_fields[f]);
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
        rc = cli_redis_append(r, 2 + CLI_LIST_NFIELDS, argv, lens, err);
    }
    for (size_t i = 0; rc == 0 && i < ids->elements; i++) {
        rc = cli_redis_get_reply(r, &metas[i], err);
    }
    return rc;
}

int cli_redis_list(const struct cli_opts *o)
{
    struct cli_redis *r = NULL;
    redisReply *ids = NULL;
    redisReply **metas = NULL;
    size_t n_metas = 0;
    size_t limit = 0;
    char key[PC_KEY_MAX];
    char stop[24];
    struct pc_err err;
    int status = 1;

    pc_err_clear(&err);
    if (cli_args_list(o, &limit) != 0 || cli_connect_or_fail(o, &r) != 0) {
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
        cli_print_err(&err);
        goto out;
    }
    {
        struct cli_records rows = {metas, rows_next};

        status = cli_print_list(&rows, o->json);
    }
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
    cli_redis_destroy(r);
    return status;
}

int cli_redis_report(const struct cli_opts *o)
{
    struct cli_redis *r = NULL;
    redisReply *meta = NULL;
    struct pc_outcome outcome;
    struct pc_err err;
    int status = 1;
    int rc;

    pc_err_clear(&err);
    if (cli_args_one_id(o, "report") != 0 || cli_connect_or_fail(o, &r) != 0) {
        goto out;
    }
    if (cli_exec_meta(r, o->args[0], &meta, &err) != 0) {
        cli_print_err(&err);
        goto out;
    }
    rc = cli_exec_outcome(r, o->args[0], meta, &outcome, &err);
    {
        struct cli_record meta_rec = {&meta_ops, meta, NULL, 0};

        status = cli_print_report(o->args[0], &meta_rec, rc, &outcome, &err, o->json);
    }
    if (rc == 0) {
        pc_outcome_cleanup(&outcome);
    }
out:
    if (meta != NULL) {
        freeReplyObject(meta);
    }
    cli_redis_destroy(r);
    return status;
}
