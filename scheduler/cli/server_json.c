/*
 * server_json.c - reading the scheduler's JSON documents (server_json.h).
 *
 * Design. The CLI already renders events (struct msg_event) and outcomes
 * (struct pc_outcome) for the Redis mode; the scheduler serves the same
 * values as JSON. Rather than a second renderer, each document is turned
 * back into those values: an event's JSON fields become the field/value
 * strings of a stream entry and go through msg_event_from_fields, so both
 * modes accept and refuse exactly the same events; a report becomes a
 * pc_outcome, which pc_outcome_format_* print as in every other mode.
 * jansson is used only here and in the callers that walk response bodies.
 */
#include "server_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/cmd.h"
#include "peace/flow.h"
#include "peace/ident.h"

#define CLI_EVENT_MEMBERS_MAX 32

int cli_json_parse(const char *p, size_t n, const char *what, json_t **out, struct pc_err *err)
{
    json_error_t jerr;
    json_t *v = json_loadb(p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);

    if (v == NULL) {
        return pc_err_set(err, PC_ESCHEMA, "%s is not JSON (line %d, column %d: %s)", what,
                          jerr.line, jerr.column, jerr.text);
    }
    *out = v;
    return 0;
}

const char *cli_json_str(const json_t *obj, const char *name)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, name) : NULL;

    return json_is_string(v) ? json_string_value(v) : NULL;
}

void cli_json_scalar_text(const json_t *v, char *out, size_t out_size)
{
    out[0] = '\0';
    switch (json_typeof(v)) {
    case JSON_STRING:
        if (memchr(json_string_value(v), '\0', json_string_length(v)) == NULL) {
            (void)snprintf(out, out_size, "%s", json_string_value(v));
        }
        break;
    case JSON_INTEGER:
        (void)snprintf(out, out_size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        (void)snprintf(out, out_size, "%.17g", json_real_value(v));
        break;
    case JSON_TRUE:
        (void)snprintf(out, out_size, "true");
        break;
    case JSON_FALSE:
        (void)snprintf(out, out_size, "false");
        break;
    default:
        break;
    }
}

int cli_event_from_json(const char *data, size_t len, struct msg_event *out, struct pc_buf *keep,
                        struct pc_err *err)
{
    const char *fields[2 * CLI_EVENT_MEMBERS_MAX];
    size_t lens[2 * CLI_EVENT_MEMBERS_MAX];
    char numbers[CLI_EVENT_MEMBERS_MAX][24];
    json_t *root = NULL;
    const char *key;
    json_t *v;
    size_t n = 0;
    int rc;

    rc = cli_json_parse(data, len, "event data", &root, err);
    if (rc != 0) {
        return rc;
    }
    if (!json_is_object(root)) {
        rc = pc_err_set(err, PC_ESCHEMA, "event data is not a JSON object");
        goto out;
    }
    if (json_object_size(root) > CLI_EVENT_MEMBERS_MAX) {
        rc =
            pc_err_set(err, PC_ELIMIT, "event data has more than %d fields", CLI_EVENT_MEMBERS_MAX);
        goto out;
    }
    json_object_foreach(root, key, v)
    {
        if (json_is_string(v)) {
            fields[n + 1] = json_string_value(v);
            lens[n + 1] = json_string_length(v);
        } else if (json_is_integer(v)) {
            (void)snprintf(numbers[n / 2], sizeof(numbers[0]), "%" JSON_INTEGER_FORMAT,
                           json_integer_value(v));
            fields[n + 1] = numbers[n / 2];
            lens[n + 1] = strlen(numbers[n / 2]);
        } else {
            continue; /* no field of an event is anything else: unknown, ignored */
        }
        fields[n] = key;
        lens[n] = strlen(key);
        n += 2;
    }
    rc = msg_event_from_fields(fields, lens, n, out, err);
    if (rc == 0 && out->items_len > 0) {
        /* out->items points into root: copied, or left out. */
        if (keep != NULL) {
            pc_buf_reset(keep);
        }
        if (keep != NULL && pc_buf_append(keep, out->items, out->items_len) == 0) {
            out->items = keep->data;
        } else {
            out->items = NULL;
            out->items_len = 0;
        }
    }
out:
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Reports                                                                   */

/* Appends the block names of the array member name to blocks; *n counts them. */
static int blocks_from_json(const json_t *report, const char *name, enum pc_block_kind *blocks,
                            size_t *n, struct pc_err *err)
{
    const json_t *arr = json_object_get(report, name);
    const json_t *v;
    size_t i;

    if (arr == NULL) {
        return 0;
    }
    if (!json_is_array(arr)) {
        return pc_err_set(err, PC_ESCHEMA, "report: %s is not an array", name);
    }
    json_array_foreach(arr, i, v)
    {
        if (*n == PC_BLOCKS_MAX) {
            return pc_err_set(err, PC_ELIMIT, "report: more than %d blocks", PC_BLOCKS_MAX);
        }
        if (!json_is_string(v) ||
            pc_block_parse(json_string_value(v), json_string_length(v), &blocks[*n]) != 0) {
            return pc_err_set(err, PC_ESCHEMA, "report: %s[%zu] is not a block name", name, i);
        }
        (*n)++;
    }
    return 0;
}

/* The identifiers of the array member name as an owned array (NULL when empty). */
static int ids_from_json(const json_t *report, const char *name, struct pc_id **out, size_t *n,
                         struct pc_err *err)
{
    const json_t *arr = json_object_get(report, name);
    struct pc_id *ids;
    const json_t *v;
    size_t i;

    *out = NULL;
    *n = 0;
    if (arr == NULL || (json_is_array(arr) && json_array_size(arr) == 0)) {
        return 0;
    }
    if (!json_is_array(arr)) {
        return pc_err_set(err, PC_ESCHEMA, "report: %s is not an array", name);
    }
    if (json_array_size(arr) > PC_FLOW_ITEMS_MAX) {
        return pc_err_set(err, PC_ELIMIT, "report: %s lists more than %d items", name,
                          PC_FLOW_ITEMS_MAX);
    }
    ids = calloc(json_array_size(arr), sizeof(*ids));
    if (ids == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v) ||
            pc_id_set(&ids[i], json_string_value(v), json_string_length(v), "item id", NULL) != 0) {
            free(ids);
            return pc_err_set(err, PC_ESCHEMA, "report: %s[%zu] is not an item id", name, i);
        }
    }
    *out = ids;
    *n = json_array_size(arr);
    return 0;
}

static int errors_from_json(const json_t *report, struct pc_outcome *o, struct pc_err *err)
{
    const json_t *arr = json_object_get(report, "errors");
    const json_t *e;
    size_t i;

    if (arr == NULL) {
        return 0;
    }
    if (!json_is_array(arr) || json_array_size(arr) > PC_FLOW_ITEMS_MAX) {
        return pc_err_set(err, PC_ESCHEMA, "report: errors is not an array of at most %d",
                          PC_FLOW_ITEMS_MAX);
    }
    json_array_foreach(arr, i, e)
    {
        const char *item = cli_json_str(e, "item");
        const char *text = cli_json_str(e, "error");
        struct pc_id id;

        if (item == NULL || text == NULL ||
            pc_id_set(&id, item, strlen(item), "item id", NULL) != 0) {
            return pc_err_set(err, PC_ESCHEMA, "report: errors[%zu] is not {item, error}", i);
        }
        if (pc_outcome_add_error(o, &id, text) != 0) {
            return pc_err_set(err, PC_ENOMEM, "out of memory");
        }
    }
    return 0;
}

/* A non-negative integer member (0 when absent). */
static int ms_from_json(const json_t *obj, const char *name, uint64_t *out, const char *path,
                        struct pc_err *err)
{
    const json_t *v = json_object_get(obj, name);

    *out = 0;
    if (v == NULL) {
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        return pc_err_set(err, PC_ESCHEMA, "%s: %s is not a time in ms", path, name);
    }
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int value_from_json(const json_t *v, struct pc_rvalue *rv, const char *path,
                           struct pc_err *err)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    int rc;

    if (text == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    rv->set = true;
    rc = json_is_null(v) ? 0 : pc_state_from_json(&rv->state, text, strlen(text));
    free(text);
    if (rc == 0 && rv->state.len > PC_REPORT_VALUE_MAX) {
        rc = PC_ELIMIT;
    }
    return rc == 0 ? 0 : pc_err_set(err, rc == PC_ENOMEM ? rc : PC_ESCHEMA, "%s: bad value", path);
}

static int truncated_from_json(const json_t *t, struct pc_report_item *it, const char *path,
                               struct pc_err *err)
{
    const char *key = NULL;
    const json_t *d = NULL;

    if (!json_is_object(t)) {
        return pc_err_set(err, PC_ESCHEMA, "%s: truncated is not an object", path);
    }
    json_object_foreach((json_t *)t, key, d)
    {
        const char *sha = cli_json_str(d, "sha256");
        const json_t *size = json_is_object(d) ? json_object_get(d, "size") : NULL;
        size_t v = 0;

        while (v < PC_RV_COUNT && strcmp(pc_rv_name((enum pc_rv)v), key) != 0) {
            v++;
        }
        if (v == PC_RV_COUNT || it->values[v].set || sha == NULL ||
            strlen(sha) != PC_SHA256_HEX_LEN || !json_is_integer(size) ||
            json_integer_value(size) < 0) {
            return pc_err_set(err, PC_ESCHEMA, "%s: truncated.%s is not {size, sha256}", path, key);
        }
        it->values[v].set = true;
        it->values[v].truncated = true;
        it->values[v].size = (uint64_t)json_integer_value(size);
        memcpy(it->values[v].sha256, sha, PC_SHA256_HEX_LEN + 1);
    }
    return 0;
}

static int entry_from_json(const json_t *e, struct pc_report_item *it, const char *path,
                           struct pc_err *err)
{
    const char *id = cli_json_str(e, "item");
    const char *stale = cli_json_str(e, "stale");
    const json_t *changed = json_is_object(e) ? json_object_get(e, "changed") : NULL;
    const json_t *error = json_is_object(e) ? json_object_get(e, "error") : NULL;
    const json_t *t = json_is_object(e) ? json_object_get(e, "truncated") : NULL;
    int rc = 0;

    if (id == NULL || pc_id_set(&it->item, id, strlen(id), "item id", NULL) != 0) {
        return pc_err_set(err, PC_ESCHEMA, "%s: item is not an item id", path);
    }
    it->timed = json_object_get(e, "start_ms") != NULL;
    rc = ms_from_json(e, "start_ms", &it->start_ms, path, err);
    rc = rc != 0 ? rc : ms_from_json(e, "duration_ms", &it->duration_ms, path, err);
    if (rc == 0 && changed != NULL) {
        if (!json_is_boolean(changed)) {
            return pc_err_set(err, PC_ESCHEMA, "%s: changed is not a boolean", path);
        }
        it->apply = json_is_true(changed) ? PC_APPLY_CHANGED : PC_APPLY_UNCHANGED;
    }
    if (rc == 0 && stale != NULL) {
        if (strcmp(stale, "current") != 0 && strcmp(stale, "goal") != 0) {
            return pc_err_set(err, PC_ESCHEMA, "%s: stale is not current or goal", path);
        }
        it->stale = stale[0] == 'g' ? PC_STALE_GOAL : PC_STALE_CURRENT;
    }
    if (rc == 0 && error != NULL) {
        if (!json_is_string(error)) {
            return pc_err_set(err, PC_ESCHEMA, "%s: error is not a string", path);
        }
        it->error = strndup(json_string_value(error), PC_OUTCOME_ERROR_TEXT_MAX);
        if (it->error == NULL) {
            return pc_err_set(err, PC_ENOMEM, "out of memory");
        }
    }
    for (size_t v = 0; rc == 0 && v < PC_RV_COUNT; v++) {
        const json_t *val = json_object_get(e, pc_rv_name((enum pc_rv)v));

        if (val != NULL) {
            rc = value_from_json(val, &it->values[v], path, err);
        }
    }
    if (rc == 0 && t != NULL) {
        rc = truncated_from_json(t, it, path, err);
    }
    return rc;
}

static int block_from_json(const json_t *jb, struct pc_report_block *b, size_t bi,
                           struct pc_err *err)
{
    char path[96];
    const char *name = cli_json_str(jb, "block");
    const json_t *items = json_is_object(jb) ? json_object_get(jb, "items") : NULL;
    const json_t *e = NULL;
    size_t i = 0;
    int rc;

    (void)snprintf(path, sizeof(path), "report: blocks[%zu]", bi);
    if (name == NULL || pc_block_parse(name, strlen(name), &b->kind) != 0) {
        return pc_err_set(err, PC_ESCHEMA, "%s: block is not a block name", path);
    }
    rc = ms_from_json(jb, "start_ms", &b->start_ms, path, err);
    rc = rc != 0 ? rc : ms_from_json(jb, "duration_ms", &b->duration_ms, path, err);
    if (rc != 0 || items == NULL) {
        return rc;
    }
    if (!json_is_array(items) || json_array_size(items) > PC_FLOW_ITEMS_MAX) {
        return pc_err_set(err, PC_ESCHEMA, "%s: items is not an array of at most %d", path,
                          PC_FLOW_ITEMS_MAX);
    }
    if (json_array_size(items) == 0) {
        return 0;
    }
    b->items = calloc(json_array_size(items), sizeof(*b->items));
    if (b->items == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    json_array_foreach(items, i, e)
    {
        (void)snprintf(path, sizeof(path), "report: blocks[%zu].items[%zu]", bi, i);
        b->n_items = i + 1;
        rc = entry_from_json(e, &b->items[i], path, err);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* The report v2 members: times, partial, blocks. */
static int run_from_json(const json_t *report, struct pc_outcome *o, struct pc_err *err)
{
    const json_t *blocks = json_object_get(report, "blocks");
    const json_t *partial = json_object_get(report, "partial");
    const json_t *jb = NULL;
    size_t i = 0;
    int rc = ms_from_json(report, "created_ms", &o->created_ms, "report", err);

    rc = rc != 0 ? rc : ms_from_json(report, "started_ms", &o->started_ms, "report", err);
    rc = rc != 0 ? rc : ms_from_json(report, "finished_ms", &o->finished_ms, "report", err);
    rc = rc != 0 ? rc : ms_from_json(report, "interrupted_ms", &o->interrupted_ms, "report", err);
    if (rc != 0) {
        return rc;
    }
    if (partial != NULL && !json_is_boolean(partial)) {
        return pc_err_set(err, PC_ESCHEMA, "report: partial is not a boolean");
    }
    o->partial = partial != NULL && json_is_true(partial);
    if (blocks == NULL) {
        return 0;
    }
    if (!json_is_array(blocks) || json_array_size(blocks) > PC_BLOCKS_MAX) {
        return pc_err_set(err, PC_ESCHEMA, "report: blocks is not an array of at most %d",
                          PC_BLOCKS_MAX);
    }
    if (json_array_size(blocks) == 0) {
        return 0;
    }
    o->run = calloc(json_array_size(blocks), sizeof(*o->run));
    if (o->run == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    json_array_foreach(blocks, i, jb)
    {
        o->n_run = i + 1;
        rc = block_from_json(jb, &o->run[i], i, err);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int cli_outcome_from_json(const json_t *report, struct pc_outcome *out, struct pc_err *err)
{
    const char *kind = cli_json_str(report, "outcome");
    const json_t *error = json_is_object(report) ? json_object_get(report, "error") : NULL;
    struct pc_outcome o;
    size_t processed = 0;
    int rc;

    if (!json_is_object(report)) {
        return pc_err_set(err, PC_ESCHEMA, "the report is not a JSON object");
    }
    pc_outcome_init(&o);
    if (kind == NULL || pc_outcome_kind_parse(kind, strlen(kind), &o.kind) != 0) {
        return pc_err_set(err, PC_ESCHEMA, "report: outcome %s%s%s is not an outcome",
                          kind != NULL ? "\"" : "", kind != NULL ? kind : "(missing)",
                          kind != NULL ? "\"" : "");
    }
    rc = blocks_from_json(report, "blocks_processed", o.blocks, &processed, err);
    o.n_blocks = processed;
    o.n_blocks_processed = processed;
    if (rc == 0) {
        rc = blocks_from_json(report, "blocks_not_processed", o.blocks, &o.n_blocks, err);
    }
    if (rc == 0) {
        rc =
            ids_from_json(report, "items_processed", &o.items_processed, &o.n_items_processed, err);
    }
    if (rc == 0) {
        rc = ids_from_json(report, "items_not_processed", &o.items_not_processed,
                           &o.n_items_not_processed, err);
    }
    if (rc == 0) {
        rc = errors_from_json(report, &o, err);
    }
    if (rc == 0) {
        rc = run_from_json(report, &o, err);
    }
    if (rc == 0 && error != NULL && !json_is_null(error)) {
        if (!json_is_string(error)) {
            rc = pc_err_set(err, PC_ESCHEMA, "report: error is not a string");
        } else if (pc_outcome_set_error(&o, json_string_value(error)) != 0) {
            rc = pc_err_set(err, PC_ENOMEM, "out of memory");
        }
    }
    if (rc != 0) {
        pc_outcome_cleanup(&o);
        return rc;
    }
    *out = o;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Rendering                                                                 */

static int append_value(struct pc_buf *b, const json_t *v, int depth)
{
    const char *key;
    const json_t *m;
    size_t i;
    int rc;

    if (depth > CLI_JSON_DEPTH_MAX) {
        return PC_ELIMIT;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        rc = pc_buf_puts(b, "{");
        i = 0;
        json_object_foreach((json_t *)(uintptr_t)v, key, m)
        {
            rc = rc == 0 && i++ > 0 ? pc_buf_puts(b, ",") : rc;
            rc = rc == 0 ? pc_buf_append_json_str(b, key, strlen(key)) : rc;
            rc = rc == 0 ? pc_buf_puts(b, ":") : rc;
            rc = rc == 0 ? append_value(b, m, depth + 1) : rc;
            if (rc != 0) {
                return rc;
            }
        }
        return pc_buf_puts(b, "}");
    case JSON_ARRAY:
        rc = pc_buf_puts(b, "[");
        json_array_foreach(v, i, m)
        {
            rc = rc == 0 && i > 0 ? pc_buf_puts(b, ",") : rc;
            rc = rc == 0 ? append_value(b, m, depth + 1) : rc;
            if (rc != 0) {
                return rc;
            }
        }
        return pc_buf_puts(b, "]");
    case JSON_STRING:
        return pc_buf_append_json_str(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return pc_buf_appendf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    case JSON_REAL:
        return pc_buf_appendf(b, "%.17g", json_real_value(v));
    case JSON_TRUE:
        return pc_buf_puts(b, "true");
    case JSON_FALSE:
        return pc_buf_puts(b, "false");
    default:
        return pc_buf_puts(b, "null");
    }
}

int cli_json_append(struct pc_buf *b, const json_t *v)
{
    size_t start = b->len;
    int rc = append_value(b, v, 0);

    if (rc != 0 && b->data != NULL) {
        b->len = start; /* nothing half-written survives */
        b->data[start] = '\0';
    }
    return rc;
}
