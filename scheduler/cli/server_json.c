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

int cli_event_from_json(const char *data, size_t len, struct msg_event *out, struct pc_err *err)
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
