/*
 * report_rec.c - the report recorder (peace/report_rec.h).
 */
#include "peace/report_rec.h"

#include "peace/exec.h"

#include <stdlib.h>
#include <string.h>

int pc_report_rec_init(struct pc_report_rec *r, struct pc_outcome *o, const struct pc_flow *flow)
{
    memset(r, 0, sizeof(*r));
    r->o = o;
    r->flow = flow;
    r->slot = calloc(flow->n_items + 1, sizeof(*r->slot));
    return r->slot == NULL ? PC_ENOMEM : 0;
}

void pc_report_rec_cleanup(struct pc_report_rec *r)
{
    free(r->slot);
    memset(r, 0, sizeof(*r));
}

static struct pc_report_block *open_block(struct pc_report_rec *r)
{
    return r->open ? &r->o->run[r->o->n_run - 1] : NULL;
}

void pc_report_rec_block_begin(struct pc_report_rec *r, enum pc_block_kind kind, uint64_t now_ms)
{
    struct pc_report_block *v = NULL;

    if (r->open) {
        pc_report_rec_block_end(r, now_ms);
    }
    if (r->o->n_run >= PC_BLOCKS_MAX) {
        r->o->partial = true;
        return;
    }
    v = realloc(r->o->run, (r->o->n_run + 1) * sizeof(*v));
    if (v == NULL) {
        r->o->partial = true;
        return;
    }
    r->o->run = v;
    memset(&v[r->o->n_run], 0, sizeof(*v));
    v[r->o->n_run].kind = kind;
    v[r->o->n_run].start_ms = now_ms;
    r->o->n_run++;
    r->cap = 0;
    memset(r->slot, 0, (r->flow->n_items + 1) * sizeof(*r->slot));
    r->open = true;
}

/* The item's entry in the open block, made when missing; NULL when none can be. */
static struct pc_report_item *entry(struct pc_report_rec *r, size_t item)
{
    struct pc_report_block *b = open_block(r);
    struct pc_report_item *e = NULL;

    if (b == NULL || item >= r->flow->n_items) {
        return NULL;
    }
    if (r->slot[item] != 0) {
        return &b->items[r->slot[item] - 1];
    }
    if (b->n_items == r->cap) {
        size_t cap = r->cap == 0 ? 4 : r->cap * 2;
        struct pc_report_item *v = NULL;

        cap = cap > r->flow->n_items ? r->flow->n_items : cap;
        v = realloc(b->items, cap * sizeof(*v));
        if (v == NULL) {
            r->o->partial = true;
            return NULL;
        }
        b->items = v;
        r->cap = cap;
    }
    e = &b->items[b->n_items];
    memset(e, 0, sizeof(*e));
    e->item = r->flow->items[item].id;
    r->slot[item] = ++b->n_items;
    return e;
}

void pc_report_rec_item_begin(struct pc_report_rec *r, size_t item, uint64_t now_ms)
{
    struct pc_report_item *e = entry(r, item);

    if (e != NULL) {
        e->timed = true;
        e->start_ms = now_ms;
        e->duration_ms = 0;
    }
}

void pc_report_rec_item_end(struct pc_report_rec *r, size_t item, uint64_t now_ms)
{
    struct pc_report_item *e = entry(r, item);

    if (e != NULL && e->timed) {
        e->duration_ms = now_ms > e->start_ms ? now_ms - e->start_ms : 0;
    }
}

void pc_report_rec_item_error(struct pc_report_rec *r, size_t item, const char *text)
{
    struct pc_report_item *e = entry(r, item);
    size_t n = 0;

    if (e == NULL || e->error != NULL) {
        return;
    }
    text = text != NULL ? text : "";
    n = strnlen(text, PC_OUTCOME_ERROR_TEXT_MAX);
    e->error = malloc(n + 1);
    if (e->error == NULL) {
        r->o->partial = true;
        return;
    }
    memcpy(e->error, text, n);
    e->error[n] = '\0';
}

void pc_report_rec_item_apply(struct pc_report_rec *r, size_t item, bool changed)
{
    struct pc_report_item *e = entry(r, item);

    if (e != NULL) {
        e->apply = changed ? PC_APPLY_CHANGED : PC_APPLY_UNCHANGED;
    }
}

void pc_report_rec_item_stale(struct pc_report_rec *r, size_t item, enum pc_stale_mark which)
{
    struct pc_report_item *e = entry(r, item);

    if (e != NULL) {
        e->stale = which;
    }
}

void pc_report_rec_item_value(struct pc_report_rec *r, size_t item, enum pc_rv v,
                              const struct pc_state *s)
{
    struct pc_report_item *e = entry(r, item);

    if (e != NULL && (unsigned)v < PC_RV_COUNT &&
        pc_rvalue_set(&e->values[v], s, &r->budget) != 0) {
        r->o->partial = true;
    }
}

void pc_report_rec_block_end(struct pc_report_rec *r, uint64_t now_ms)
{
    struct pc_report_block *b = open_block(r);
    struct pc_report_item *sorted = NULL;
    size_t k = 0;

    if (b == NULL) {
        return;
    }
    r->open = false;
    b->duration_ms = now_ms > b->start_ms ? now_ms - b->start_ms : 0;
    if (b->n_items < 2) {
        return;
    }
    /* Entries were made in start order; the report lists them in flow order. */
    sorted = malloc(b->n_items * sizeof(*sorted));
    if (sorted == NULL) {
        r->o->partial = true;
        return;
    }
    for (size_t i = 0; i < r->flow->n_items; i++) {
        if (r->slot[i] != 0) {
            sorted[k++] = b->items[r->slot[i] - 1];
        }
    }
    free(b->items);
    b->items = sorted;
}

/* Every item with an entry (or every item, for read blocks) gets map m's value as v. */
static void values_from(struct pc_report_rec *r, const struct pc_states *m, enum pc_rv v,
                        bool every_item)
{
    for (size_t i = 0; i < r->flow->n_items && i < m->n; i++) {
        if (every_item || r->slot[i] != 0) {
            pc_report_rec_item_value(r, i, v, &m->v[i]);
        }
    }
}

void pc_report_rec_block_values(struct pc_report_rec *r, const struct pc_states *maps)
{
    struct pc_report_block *b = open_block(r);

    if (b == NULL) {
        return;
    }
    switch (b->kind) {
    case PC_BLOCK_READ_CURRENT:
        values_from(r, &maps[PC_MAP_STORED_CURRENT], PC_RV_CURRENT, true);
        break;
    case PC_BLOCK_READ_GOAL:
        values_from(r, &maps[PC_MAP_STORED_GOAL], PC_RV_GOAL, true);
        break;
    case PC_BLOCK_DISCOVER:
        values_from(r, &maps[PC_MAP_CURRENT], PC_RV_CURRENT, false);
        values_from(r, &maps[PC_MAP_GOAL], PC_RV_GOAL, false);
        break;
    case PC_BLOCK_DISCOVER_CURRENT:
        values_from(r, &maps[PC_MAP_CURRENT], PC_RV_CURRENT, false);
        break;
    case PC_BLOCK_DISCOVER_GOAL:
        values_from(r, &maps[PC_MAP_GOAL], PC_RV_GOAL, false);
        break;
    case PC_BLOCK_CLEAN_INSERTION:
        values_from(r, &maps[PC_MAP_CLEAN], PC_RV_CLEAN, false);
        break;
    case PC_BLOCK_DIFF:
        values_from(r, &maps[PC_MAP_DIFF], PC_RV_DIFF, false);
        break;
    case PC_BLOCK_APPLY_ENSURE:
    case PC_BLOCK_APPLY_ENSURE_DRY:
    case PC_BLOCK_APPLY_CLEAN:
    case PC_BLOCK_APPLY_CLEAN_DRY:
    case PC_BLOCK_ENSURE_REPLACED:
    case PC_BLOCK_ENSURE_REPLACED_DRY:
        values_from(r, &maps[PC_MAP_APPLIED], PC_RV_STATE, false);
        break;
    default:
        /* The sync checks' value is their stale marks; clean_replaced's and
         * clean_obsolete's are recorded by the engine per item. */
        break;
    }
}
