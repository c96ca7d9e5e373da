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

void pc_report_item_cleanup(struct pc_report_item *it)
{
    for (size_t v = 0; v < PC_RV_COUNT; v++) {
        pc_state_clear(&it->values[v].state);
    }
    free(it->error);
    memset(it, 0, sizeof(*it));
}

void pc_report_block_cleanup(struct pc_report_block *b)
{
    for (size_t i = 0; i < b->n_items; i++) {
        pc_report_item_cleanup(&b->items[i]);
    }
    free(b->items);
    memset(b, 0, sizeof(*b));
}

void pc_outcome_cleanup(struct pc_outcome *o)
{
    for (size_t i = 0; i < o->n_run; i++) {
        pc_report_block_cleanup(&o->run[i]);
    }
    free(o->run);
    for (size_t i = 0; i < o->n_errors; i++) {
        free(o->errors[i].text);
    }
    free(o->errors);
    free(o->items_processed);
    free(o->items_not_processed);
    free(o->items_obsolete);
    free(o->items_obsolete_unmanaged);
    free(o->items_replaced);
    free(o->items_interrupted);
    free(o->error);
    pc_outcome_init(o);
}

static const char *const rv_names[PC_RV_COUNT] = {
    [PC_RV_CURRENT] = "current", [PC_RV_GOAL] = "goal",   [PC_RV_DIFF] = "diff",
    [PC_RV_CLEAN] = "clean",     [PC_RV_STATE] = "state",
};

const char *pc_rv_name(enum pc_rv v)
{
    return (unsigned)v < PC_RV_COUNT ? rv_names[v] : NULL;
}

int pc_rvalue_set(struct pc_rvalue *v, const struct pc_state *s, size_t *budget)
{
    struct pc_rvalue n;

    memset(&n, 0, sizeof(n));
    n.set = true;
    if (pc_state_present(s)) {
        bool over = s->len > PC_REPORT_VALUE_MAX ||
                    (budget != NULL && *budget + s->len > PC_REPORT_VALUES_BUDGET);

        if (over) {
            n.truncated = true;
            n.size = s->len;
            pc_sha256_hex_of(s->data, s->len, n.sha256);
        } else if (pc_state_copy(&n.state, s) != 0) {
            return PC_ENOMEM;
        } else if (budget != NULL) {
            *budget += s->len;
        }
    }
    pc_state_clear(&v->state);
    *v = n;
    return 0;
}

static char *dup_bounded(const char *s);

static int copy_item(struct pc_report_item *dst, const struct pc_report_item *src)
{
    *dst = *src;
    dst->error = NULL;
    for (size_t v = 0; v < PC_RV_COUNT; v++) {
        dst->values[v].state.data = NULL;
        dst->values[v].state.len = 0;
    }
    for (size_t v = 0; v < PC_RV_COUNT; v++) {
        if (pc_state_copy(&dst->values[v].state, &src->values[v].state) != 0) {
            return PC_ENOMEM;
        }
    }
    if (src->error != NULL) {
        dst->error = dup_bounded(src->error);
        if (dst->error == NULL) {
            return PC_ENOMEM;
        }
    }
    return 0;
}

static int copy_run(struct pc_outcome *dst, const struct pc_outcome *src)
{
    if (src->n_run == 0) {
        return 0;
    }
    dst->run = calloc(src->n_run, sizeof(*dst->run));
    if (dst->run == NULL) {
        return PC_ENOMEM;
    }
    for (size_t b = 0; b < src->n_run; b++) {
        const struct pc_report_block *sb = &src->run[b];
        struct pc_report_block *db = &dst->run[b];

        dst->n_run = b + 1;
        db->kind = sb->kind;
        db->start_ms = sb->start_ms;
        db->duration_ms = sb->duration_ms;
        if (sb->n_items == 0) {
            continue;
        }
        db->items = calloc(sb->n_items, sizeof(*db->items));
        if (db->items == NULL) {
            return PC_ENOMEM;
        }
        for (size_t i = 0; i < sb->n_items; i++) {
            db->n_items = i + 1;
            if (copy_item(&db->items[i], &sb->items[i]) != 0) {
                return PC_ENOMEM;
            }
        }
    }
    return 0;
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
        rc = dup_ids(&dst->items_obsolete, src->items_obsolete, src->n_items_obsolete);
    }
    if (rc == 0) {
        dst->n_items_obsolete = src->n_items_obsolete;
        rc = dup_ids(&dst->items_obsolete_unmanaged, src->items_obsolete_unmanaged,
                     src->n_items_obsolete_unmanaged);
    }
    if (rc == 0) {
        dst->n_items_obsolete_unmanaged = src->n_items_obsolete_unmanaged;
        dst->obsolete_kept = src->obsolete_kept;
    }
    if (rc == 0) {
        rc = dup_ids(&dst->items_interrupted, src->items_interrupted, src->n_items_interrupted);
    }
    if (rc == 0) {
        dst->n_items_interrupted = src->n_items_interrupted;
    }
    if (rc == 0) {
        rc = dup_ids(&dst->items_replaced, src->items_replaced, src->n_items_replaced);
    }
    if (rc == 0) {
        dst->n_items_replaced = src->n_items_replaced;
    }
    for (size_t i = 0; rc == 0 && i < src->n_errors; i++) {
        rc = pc_outcome_add_error(dst, &src->errors[i].item, src->errors[i].text);
    }
    if (rc == 0 && src->error != NULL) {
        rc = pc_outcome_set_error(dst, src->error);
    }
    if (rc == 0) {
        dst->created_ms = src->created_ms;
        dst->started_ms = src->started_ms;
        dst->finished_ms = src->finished_ms;
        dst->interrupted_ms = src->interrupted_ms;
        dst->partial = src->partial;
        rc = copy_run(dst, src);
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
