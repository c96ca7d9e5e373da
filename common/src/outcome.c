/*
 * outcome.c - the outcome of a finished execution and its renderings.
 */
#include "peace/outcome.h"

#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {
    [PC_OUTCOME_COMPLETE] = "complete",
    [PC_OUTCOME_BLOCK_INTERRUPTED] = "block_interrupted",
    [PC_OUTCOME_EXECUTION_INTERRUPTED] = "execution_interrupted",
    [PC_OUTCOME_ITEM_ERROR] = "item_error",
    [PC_OUTCOME_BLOCK_ERROR] = "block_error",
    [PC_OUTCOME_REJECTED] = "rejected",
};
#define KIND_COUNT (sizeof(kind_names) / sizeof(kind_names[0]))

const char *pc_outcome_kind_name(enum pc_outcome_kind k)
{
    return (size_t)k < KIND_COUNT ? kind_names[k] : "unknown";
}

int pc_outcome_kind_parse(const char *p, size_t n, enum pc_outcome_kind *out)
{
    for (size_t i = 0; i < KIND_COUNT; i++) {
        if (strlen(kind_names[i]) == n && memcmp(kind_names[i], p, n) == 0) {
            *out = (enum pc_outcome_kind)i;
            return 0;
        }
    }
    return PC_EINVAL;
}

int pc_outcome_exit_status(enum pc_outcome_kind k)
{
    switch (k) {
    case PC_OUTCOME_COMPLETE:
        return 0;
    case PC_OUTCOME_BLOCK_INTERRUPTED:
    case PC_OUTCOME_EXECUTION_INTERRUPTED:
        return 2;
    default:
        return 1;
    }
}

void pc_outcome_init(struct pc_outcome *o)
{
    memset(o, 0, sizeof(*o));
    o->kind = PC_OUTCOME_COMPLETE;
}

void pc_outcome_cleanup(struct pc_outcome *o)
{
    for (size_t i = 0; i < o->n_errors; i++) {
        free(o->errors[i].text);
    }
    free(o->errors);
    free(o->items_processed);
    free(o->items_not_processed);
    free(o->error);
    pc_outcome_init(o);
}

static char *dup_bounded(const char *s)
{
    size_t n = strnlen(s, PC_OUTCOME_ERROR_TEXT_MAX);
    char *d = malloc(n + 1);

    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int dup_ids(struct pc_id **dst, const struct pc_id *src, size_t n)
{
    *dst = NULL;
    if (n == 0) {
        return 0;
    }
    *dst = malloc(n * sizeof(**dst));
    if (*dst == NULL) {
        return PC_ENOMEM;
    }
    memcpy(*dst, src, n * sizeof(**dst));
    return 0;
}

int pc_outcome_copy(struct pc_outcome *dst, const struct pc_outcome *src)
{
    int rc = 0;

    pc_outcome_init(dst);
    dst->kind = src->kind;
    memcpy(dst->blocks, src->blocks, sizeof(dst->blocks));
    dst->n_blocks = src->n_blocks;
    dst->n_blocks_processed = src->n_blocks_processed;
    rc = dup_ids(&dst->items_processed, src->items_processed, src->n_items_processed);
    if (rc == 0) {
        dst->n_items_processed = src->n_items_processed;
        rc = dup_ids(&dst->items_not_processed, src->items_not_processed,
                     src->n_items_not_processed);
    }
    if (rc == 0) {
        dst->n_items_not_processed = src->n_items_not_processed;
    }
    for (size_t i = 0; rc == 0 && i < src->n_errors; i++) {
        rc = pc_outcome_add_error(dst, &src->errors[i].item, src->errors[i].text);
    }
    if (rc == 0 && src->error != NULL) {
        rc = pc_outcome_set_error(dst, src->error);
    }
    if (rc != 0) {
        pc_outcome_cleanup(dst);
    }
    return rc;
}

int pc_outcome_add_error(struct pc_outcome *o, const struct pc_id *item, const char *text)
{
    struct pc_item_error *v = realloc(o->errors, (o->n_errors + 1) * sizeof(*v));
    char *t = NULL;

    if (v == NULL) {
        return PC_ENOMEM;
    }
    o->errors = v;
    t = dup_bounded(text != NULL ? text : "");
    if (t == NULL) {
        return PC_ENOMEM;
    }
    v[o->n_errors].item = *item;
    v[o->n_errors].text = t;
    o->n_errors++;
    return 0;
}

int pc_outcome_set_error(struct pc_outcome *o, const char *text)
{
    char *t = dup_bounded(text != NULL ? text : "");

    if (t == NULL) {
        return PC_ENOMEM;
    }
    free(o->error);
    o->error = t;
    return 0;
}

static bool lists_items(enum pc_outcome_kind k)
{
    return k == PC_OUTCOME_BLOCK_INTERRUPTED || k == PC_OUTCOME_ITEM_ERROR;
}

static int text_ids(struct pc_buf *out, const char *label, const struct pc_id *ids, size_t n)
{
    int rc = pc_buf_appendf(out, "  %s:", label);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = pc_buf_appendf(out, "%s %s", i == 0 ? "" : ",", ids[i].s);
    }
    if (rc == 0 && n == 0) {
        rc = pc_buf_puts(out, " (none)");
    }
    return rc != 0 ? rc : pc_buf_puts(out, "\n");
}

static int text_blocks(struct pc_buf *out, const char *label, const enum pc_block_kind *b, size_t n)
{
    int rc = pc_buf_appendf(out, "  %s:", label);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = pc_buf_appendf(out, "%s %s", i == 0 ? "" : ",", pc_block_name(b[i]));
    }
    if (rc == 0 && n == 0) {
        rc = pc_buf_puts(out, " (none)");
    }
    return rc != 0 ? rc : pc_buf_puts(out, "\n");
}

int pc_outcome_format_text(const struct pc_outcome *o, struct pc_buf *out)
{
    int rc = pc_buf_appendf(out, "outcome: %s\n", pc_outcome_kind_name(o->kind));

    if (rc == 0 && o->kind != PC_OUTCOME_REJECTED) {
        rc = text_blocks(out, "blocks processed", o->blocks, o->n_blocks_processed);
        if (rc == 0) {
            rc = text_blocks(out, "blocks not processed", o->blocks + o->n_blocks_processed,
                             o->n_blocks - o->n_blocks_processed);
        }
    }
    if (rc == 0 && lists_items(o->kind)) {
        rc = text_ids(out, "items processed", o->items_processed, o->n_items_processed);
        if (rc == 0) {
            rc = text_ids(out, "items not processed", o->items_not_processed,
                          o->n_items_not_processed);
        }
    }
    for (size_t i = 0; rc == 0 && i < o->n_errors; i++) {
        rc = pc_buf_appendf(out, "  error: %s: %s\n", o->errors[i].item.s, o->errors[i].text);
    }
    if (rc == 0 && o->error != NULL) {
        rc = pc_buf_appendf(out, "  error: %s\n", o->error);
    }
    return rc;
}

static int json_ids(struct pc_buf *out, const char *key, const struct pc_id *ids, size_t n)
{
    int rc = pc_buf_appendf(out, ",\"%s\":[", key);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i > 0) {
            rc = pc_buf_puts(out, ",");
        }
        if (rc == 0) {
            rc = pc_buf_append_json_str(out, ids[i].s, strlen(ids[i].s));
        }
    }
    return rc != 0 ? rc : pc_buf_puts(out, "]");
}

static int json_blocks(struct pc_buf *out, const char *key, const enum pc_block_kind *b, size_t n)
{
    int rc = pc_buf_appendf(out, ",\"%s\":[", key);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = pc_buf_appendf(out, "%s\"%s\"", i == 0 ? "" : ",", pc_block_name(b[i]));
    }
    return rc != 0 ? rc : pc_buf_puts(out, "]");
}

int pc_outcome_format_json(const struct pc_outcome *o, struct pc_buf *out)
{
    size_t start = out->len;
    int rc = pc_buf_appendf(out, "{\"outcome\":\"%s\"", pc_outcome_kind_name(o->kind));

    if (rc == 0 && o->kind != PC_OUTCOME_REJECTED) {
        rc = json_blocks(out, "blocks_processed", o->blocks, o->n_blocks_processed);
        if (rc == 0) {
            rc = json_blocks(out, "blocks_not_processed", o->blocks + o->n_blocks_processed,
                             o->n_blocks - o->n_blocks_processed);
        }
    }
    if (rc == 0 && lists_items(o->kind)) {
        rc = json_ids(out, "items_processed", o->items_processed, o->n_items_processed);
        if (rc == 0) {
            rc = json_ids(out, "items_not_processed", o->items_not_processed,
                          o->n_items_not_processed);
        }
    }
    if (rc == 0 && o->kind == PC_OUTCOME_ITEM_ERROR) {
        rc = pc_buf_puts(out, ",\"errors\":[");
        for (size_t i = 0; rc == 0 && i < o->n_errors; i++) {
            rc = pc_buf_appendf(out, "%s{\"item\":\"%s\",\"error\":", i == 0 ? "" : ",",
                                o->errors[i].item.s);
            if (rc == 0) {
                rc = pc_buf_append_json_str(out, o->errors[i].text, strlen(o->errors[i].text));
            }
            if (rc == 0) {
                rc = pc_buf_puts(out, "}");
            }
        }
        if (rc == 0) {
            rc = pc_buf_puts(out, "]");
        }
    }
    if (rc == 0 && o->error != NULL) {
        rc = pc_buf_puts(out, ",\"error\":");
        if (rc == 0) {
            rc = pc_buf_append_json_str(out, o->error, strlen(o->error));
        }
    }
    if (rc == 0) {
        rc = pc_buf_puts(out, "}");
    }
    if (rc != 0) {
        out->len = start;
        if (out->data != NULL) {
            out->data[start] = '\0';
        }
    }
    return rc;
}
