/*
 * sched_submit.c - checking request bodies before anything is queued.
 *
 * Design. The body is parsed once with jansson (duplicate keys refused, NUL
 * in strings refused). The flow object inside it is dumped back to compact
 * JSON and handed to pc_flow_parse_json, the same parser `peace run` uses
 * for flow files, so the API and the CLI accept exactly the same flows and
 * report the same errors (item id and JSON path). The item types then check
 * their params with the same params_create a worker calls before running
 * anything, so a bad param is a 400 here rather than a rejected execution
 * later. Only then is the msgpack job encoded.
 */
#include "sched_submit.h"

#include <jansson.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "peace/cmd.h"
#include "peace/flow.h"
#include "peace/ident.h"
#include "peace/interrupt.h"

static const char *const submit_keys[] = {"cmd", "flow", "interrupt_strategy",
                                          "apply_stored_state_sync", "queue"};

/* Parses body as one JSON value; invalid_json names line and column. */
static int load_body(const char *body, size_t len, json_t **out, struct sched_fail *fail)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);

    if (root == NULL) {
        return sched_fail_set(fail, SCHED_INVALID_JSON,
                              "the body is not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                              jerr.column);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return sched_fail_set(fail, SCHED_BAD_REQUEST, "the body must be a JSON object");
    }
    *out = root;
    return 0;
}

/* Refuses keys not in allowed[]. */
static int check_keys(json_t *obj, const char *const *allowed, size_t n_allowed,
                      struct sched_fail *fail)
{
    const char *key = NULL;
    json_t *value = NULL;

    json_object_foreach(obj, key, value)
    {
        bool known = false;

        (void)value;
        for (size_t i = 0; i < n_allowed && !known; i++) {
            known = strcmp(key, allowed[i]) == 0;
        }
        if (!known) {
            return sched_fail_set(fail, SCHED_BAD_REQUEST, "unknown field \"%.64s\"", key);
        }
    }
    return 0;
}

/* An optional string field: *p NULL when absent; bad_request when not a string. */
static int opt_string(json_t *obj, const char *name, const char **p, size_t *n,
                      struct sched_fail *fail)
{
    json_t *v = json_object_get(obj, name);

    *p = NULL;
    *n = 0;
    if (v == NULL) {
        return 0;
    }
    if (!json_is_string(v)) {
        return sched_fail_set(fail, SCHED_BAD_REQUEST, "\"%s\" must be a string", name);
    }
    *p = json_string_value(v);
    *n = json_string_length(v);
    return 0;
}

/* The flow object as compact JSON text, then the CLI's flow parser. */
static int parse_flow(json_t *flow_obj, struct pc_flow *out, struct sched_fail *fail)
{
    size_t need = json_dumpb(flow_obj, NULL, 0, JSON_COMPACT);
    char *text = NULL;
    struct pc_err err;
    int rc;

    pc_err_clear(&err);
    if (need == 0) {
        return sched_fail_set(fail, SCHED_INTERNAL, "cannot re-encode the flow");
    }
    if (need > PC_FLOW_FILE_MAX) {
        return sched_fail_set(fail, SCHED_INVALID_FLOW, "flow: larger than %u bytes",
                              (unsigned)PC_FLOW_FILE_MAX);
    }
    text = malloc(need);
    if (text == NULL) {
        return sched_fail_set(fail, SCHED_INTERNAL, "out of memory");
    }
    if (json_dumpb(flow_obj, text, need, JSON_COMPACT) != need) {
        free(text);
        return sched_fail_set(fail, SCHED_INTERNAL, "cannot re-encode the flow");
    }
    rc = pc_flow_parse_json(text, need, "flow", out, &err);
    free(text);
    if (rc == PC_ENOMEM) {
        return sched_fail_set(fail, SCHED_INTERNAL, "out of memory");
    }
    if (rc != 0) {
        return sched_fail_set(fail, SCHED_INVALID_FLOW, "%s", err.msg);
    }
    return 0;
}

/* Every item's type is known and accepts its params. */
static int check_items(const struct pc_registry *reg, const struct pc_flow *flow,
                       struct sched_fail *fail)
{
    struct pc_err err;

    pc_err_clear(&err);
    if (pc_registry_check_flow(reg, flow, &err) != 0) {
        return sched_fail_set(fail, SCHED_UNKNOWN_ITEM_TYPE, "%s", err.msg);
    }
    for (size_t i = 0; i < flow->n_items; i++) {
        const struct pc_flow_item *it = &flow->items[i];
        const struct pc_item_type *type = pc_registry_find(reg, it->type.s, strlen(it->type.s));
        msgpack_unpacked u;
        size_t off = 0;
        void *params = NULL;
        int rc;

        if (type == NULL) {
            return sched_fail_set(fail, SCHED_UNKNOWN_ITEM_TYPE,
                                  "item %s: unknown item type \"%s\"", it->id.s, it->type.s);
        }
        msgpack_unpacked_init(&u);
        if (it->params == NULL ||
            msgpack_unpack_next(&u, (const char *)it->params, it->params_len, &off) !=
                MSGPACK_UNPACK_SUCCESS ||
            u.data.type != MSGPACK_OBJECT_MAP) {
            msgpack_unpacked_destroy(&u);
            return sched_fail_set(fail, SCHED_INVALID_FLOW,
                                  "item %s (items[%zu]): params are not an object", it->id.s, i);
        }
        pc_err_clear(&err);
        rc = type->params_create(&u.data, &params, &err);
        msgpack_unpacked_destroy(&u);
        if (rc != 0) {
            return sched_fail_set(fail, SCHED_INVALID_FLOW, "item %s (items[%zu], %s): %s",
                                  it->id.s, i, it->type.s,
                                  err.msg[0] != '\0' ? err.msg : "bad params");
        }
        type->params_destroy(params);
    }
    return 0;
}

static int opt_bool(json_t *root, const char *key, bool *out, struct sched_fail *fail)
{
    json_t *v = json_object_get(root, key);

    if (v == NULL) {
        return 0;
    }
    if (!json_is_boolean(v)) {
        return sched_fail_set(fail, SCHED_BAD_REQUEST, "\"%s\": expected true or false", key);
    }
    *out = json_is_true(v);
    return 0;
}

/* "stored" (default) or "discovered". */
static int opt_side(json_t *root, const char *key, bool *discovered, struct sched_fail *fail)
{
    const char *p = NULL;
    size_t n = 0;
    int rc = opt_string(root, key, &p, &n, fail);

    if (rc != 0 || p == NULL) {
        return rc;
    }
    *discovered = n == 10 && memcmp(p, "discovered", 10) == 0;
    if (!*discovered && !(n == 6 && memcmp(p, "stored", 6) == 0)) {
        return sched_fail_set(fail, SCHED_BAD_REQUEST, "\"%s\": \"stored\" or \"discovered\"", key);
    }
    return 0;
}

/* cmd (required), interrupt_strategy, apply_stored_state_sync, queue, and
 * keep_obsolete, no_save, diff_current, diff_goal. */
static int parse_options(json_t *root, const char *default_queue, struct msg_job *job,
                         struct sched_fail *fail)
{
    const char *p = NULL;
    size_t n = 0;
    struct pc_err err;
    int rc;

    pc_err_clear(&err);
    if (json_object_get(root, "cmd") == NULL) {
        return sched_fail_set(fail, SCHED_BAD_REQUEST, "\"cmd\" is missing");
    }
    rc = opt_string(root, "cmd", &p, &n, fail);
    if (rc == 0 && pc_cmd_parse(p, n, &job->cmd, &err) != 0) {
        rc = sched_fail_set(fail, SCHED_BAD_REQUEST, "\"cmd\": %s", err.msg);
    }
    rc = rc == 0 ? opt_string(root, "interrupt_strategy", &p, &n, fail) : rc;
    if (rc == 0 && p != NULL && pc_strategy_parse(p, n, &job->strategy, &err) != 0) {
        rc = sched_fail_set(fail, SCHED_BAD_REQUEST, "\"interrupt_strategy\": %s", err.msg);
    }
    rc = rc == 0 ? opt_string(root, "apply_stored_state_sync", &p, &n, fail) : rc;
    if (rc == 0 && p != NULL && pc_sync_parse(p, n, &job->sync, &err) != 0) {
        rc = sched_fail_set(fail, SCHED_BAD_REQUEST, "\"apply_stored_state_sync\": %s", err.msg);
    }
    rc = rc == 0 ? opt_bool(root, "keep_obsolete", &job->keep_obsolete, fail) : rc;
    rc = rc == 0 ? opt_bool(root, "no_save", &job->no_save, fail) : rc;
    rc = rc == 0 ? opt_side(root, "diff_current", &job->diff_current_discovered, fail) : rc;
    rc = rc == 0 ? opt_side(root, "diff_goal", &job->diff_goal_discovered, fail) : rc;
    rc = rc == 0 ? opt_string(root, "queue", &p, &n, fail) : rc;
    if (rc == 0 && p == NULL) {
        p = default_queue;
        n = strlen(default_queue);
    }
    if (rc == 0 && pc_id_set(&job->queue, p, n, "queue", &err) != 0) {
        rc = sched_fail_set(fail, SCHED_BAD_REQUEST, "\"queue\": %s", err.msg);
    }
    return rc;
}

/* The msgpack job, the items list and the block count of a checked job. */
static int finish_submission(struct sched_submission *s, struct sched_fail *fail)
{
    enum pc_block_kind blocks[PC_BLOCKS_MAX];
    struct pc_err err;
    int rc;

    pc_err_clear(&err);
    rc = msg_job_encode(&s->job, &s->job_bytes, &err);
    if (rc == PC_ELIMIT) {
        return sched_fail_set(fail, SCHED_BODY_TOO_LARGE, "the job would be over %u bytes: %s",
                              (unsigned)MSG_JOB_MAX, err.msg);
    }
    if (rc != 0) {
        return sched_fail_set(fail, rc == PC_ENOMEM ? SCHED_INTERNAL : SCHED_INVALID_FLOW, "%s",
                              err.msg);
    }
    s->blocks_total = pc_cmd_blocks(s->job.cmd, s->job.sync, blocks);
    return 0;
}

int sched_submit_parse(const char *body, size_t len, const struct pc_registry *reg,
                       const char *default_queue, const char *id, uint64_t created_ms,
                       struct sched_submission *out, struct sched_fail *fail)
{
    struct sched_submission s;
    json_t *root = NULL;
    json_t *flow_obj = NULL;
    int rc;

    memset(&s, 0, sizeof(s));
    s.job.strategy.kind = PC_STRATEGY_FINISH_CURRENT;
    s.job.sync = PC_SYNC_BOTH;
    if (strlen(id) > PC_ULID_LEN) {
        return sched_fail_set(fail, SCHED_INTERNAL, "bad execution id");
    }
    memcpy(s.job.id, id, strlen(id) + 1);
    s.job.created_ms = created_ms;
    rc = load_body(body, len, &root, fail);
    if (rc == 0) {
        rc = check_keys(root, submit_keys, sizeof(submit_keys) / sizeof(submit_keys[0]), fail);
    }
    rc = rc == 0 ? parse_options(root, default_queue, &s.job, fail) : rc;
    if (rc == 0) {
        flow_obj = json_object_get(root, "flow");
        if (flow_obj == NULL || !json_is_object(flow_obj)) {
            rc = sched_fail_set(fail, SCHED_BAD_REQUEST, "\"flow\" must be a flow object");
        }
    }
    rc = rc == 0 ? parse_flow(flow_obj, &s.job.flow, fail) : rc;
    rc = rc == 0 ? check_items(reg, &s.job.flow, fail) : rc;
    rc = rc == 0 ? finish_submission(&s, fail) : rc;
    if (root != NULL) {
        json_decref(root);
    }
    if (rc != 0) {
        msg_job_cleanup(&s.job);
        return rc;
    }
    *out = s;
    return 0;
}

void sched_submission_cleanup(struct sched_submission *s)
{
    if (s == NULL) {
        return;
    }
    msg_job_cleanup(&s->job);
    pc_buf_cleanup(&s->job_bytes);
}

/* Length of the longest prefix of (p, n) of at most max bytes that ends on a
 * UTF-8 character boundary. */
static size_t utf8_cut(const char *p, size_t n, size_t max)
{
    size_t cut = n < max ? n : max;

    while (cut > 0 && cut < n && ((unsigned char)p[cut] & 0xC0) == 0x80) {
        cut--;
    }
    return cut;
}

int sched_interrupt_parse(const char *body, size_t len, char *reason, size_t reason_size,
                          struct sched_fail *fail)
{
    return sched_interrupt_parse_mode(body, len, reason, reason_size, NULL, fail);
}

int sched_interrupt_parse_mode(const char *body, size_t len, char *reason, size_t reason_size,
                               struct pc_interrupt_req *req, struct sched_fail *fail)
{
    static const char *const keys[] = {"reason", "mode", "deadline_ms"};
    json_t *root = NULL;
    const char *p = NULL;
    size_t n = 0;
    bool blank = true;
    int rc;

    for (size_t i = 0; i < len && blank; i++) {
        blank = body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n';
    }
    if (req != NULL) {
        memset(req, 0, sizeof(*req));
        req->mode = PC_MODE_FINISH;
    }
    if (reason_size == 0) {
        return sched_fail_set(fail, SCHED_INTERNAL, "no room for the reason");
    }
    if (blank) {
        reason[0] = '\0';
        return 0;
    }
    rc = load_body(body, len, &root, fail);
    rc = rc == 0 ? check_keys(root, keys, req != NULL ? 3 : 1, fail) : rc;
    rc = rc == 0 ? opt_string(root, "reason", &p, &n, fail) : rc;
    if (rc == 0) {
        n = p != NULL ? utf8_cut(p, n, reason_size - 1) : 0;
        if (n > 0) {
            memcpy(reason, p, n);
        }
        reason[n] = '\0';
    }
    if (rc == 0 && req != NULL) {
        json_t *d = json_object_get(root, "deadline_ms");
        struct pc_err err;

        rc = opt_string(root, "mode", &p, &n, fail);
        if (rc == 0 && p != NULL && pc_interrupt_mode_parse(p, n, &req->mode, &err) != 0) {
            rc = sched_fail_set(fail, SCHED_BAD_REQUEST, "\"mode\": %s", err.msg);
        }
        if (rc == 0 && d != NULL) {
            if (!json_is_integer(d) || json_integer_value(d) < 0 ||
                json_integer_value(d) > (json_int_t)PC_INTERRUPT_DEADLINE_MAX_MS) {
                rc = sched_fail_set(fail, SCHED_BAD_REQUEST,
                                    "\"deadline_ms\": give an integer 0..%u",
                                    PC_INTERRUPT_DEADLINE_MAX_MS);
            } else {
                req->has_deadline = true;
                req->deadline_ms = (uint64_t)json_integer_value(d);
            }
        }
    }
    if (root != NULL) {
        json_decref(root);
    }
    return rc;
}
