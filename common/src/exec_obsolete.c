/*
 * exec_obsolete.c - obsolete items: what the store holds that the flow no
 * longer has, planned into a last block (the flow extended with them).
 */
#include "exec_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Obsolete items                                                            */

static int add_id(struct pc_id **list, size_t *n, const struct pc_id *id)
{
    struct pc_id *v = realloc(*list, (*n + 1) * sizeof(*v));

    if (v == NULL) {
        return PC_ENOMEM;
    }
    v[*n] = *id;
    *list = v;
    (*n)++;
    return 0;
}

/* Grows every per-item array to the extended flow's size. Only before the
 * first read: nothing runs and every map is still empty. */
static int grow_items(struct pc_exec *e, struct pc_err *err)
{
    size_t n = e->flow->n_items;
    struct item_rt *items = NULL;
    size_t *ready = NULL;
    size_t *started = NULL;
    size_t *running = NULL;
    int rc = 0;

    /* Cancel tokens hold a mutex and the item contexts point at them: they
     * are made again after the move (nothing runs yet). */
    for (size_t i = 0; i < e->n_cancel_ready; i++) {
        pc_cancel_cleanup(&e->items[i].cancel);
    }
    e->n_cancel_ready = 0;
    items = realloc(e->items, (n + 1) * sizeof(*items));
    if (items == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    e->items = items;
    memset(&e->items[e->n_items], 0, (n + 1 - e->n_items) * sizeof(*items));
    ready = realloc(e->ready, (n + 1) * sizeof(size_t));
    if (ready != NULL) {
        e->ready = ready;
        started = realloc(e->started_order, (n + 1) * sizeof(size_t));
    }
    if (started != NULL) {
        e->started_order = started;
        running = realloc(e->running, (n + 1) * sizeof(size_t));
    }
    if (running == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    e->running = running;
    for (size_t m = 0; m < PC_EXEC_MAP_COUNT; m++) {
        pc_states_cleanup(&e->maps[m]);
        if (pc_states_init(&e->maps[m], n) != 0) {
            return pc_err_set(err, PC_ENOMEM, "out of memory");
        }
    }
    for (size_t i = 0; i < e->n_items; i++) {
        free(e->items[i].succ);
        e->items[i].succ = NULL;
        e->items[i].n_succ = 0;
    }
    for (size_t i = e->n_items; i < n; i++) {
        struct item_rt *it = &e->items[i];

        pc_progress_tracker_init(&it->tracker);
        it->ctx.ops = &pc_exec__slot_ops;
        it->ctx.ops_ctx = e;
        it->ctx.item = i;
        it->ctx.file_root = e->opts.file_root;
        it->task.e = e;
        it->task.item = i;
    }
    e->n_items = n;
    for (size_t i = 0; i < n; i++) {
        e->items[i].ctx.item_id = e->flow->items[i].id.s; /* the copy's ids */
        pc_cancel_init(&e->items[i].cancel);
        e->n_cancel_ready++;
        e->items[i].ctx.cancel = &e->items[i].cancel;
    }
    rc = pc_exec__build_graph(e, err);
    for (size_t i = e->n_flow; rc == 0 && i < n; i++) {
        rc = pc_exec__parse_params(e, i, err);
        if (rc != 0) {
            pc_err_prefix(err, "obsolete item, stored params");
        }
    }
    return rc;
}

/* Appends obsolete item si to xflow (deps: other obsolete items only). */
static int xflow_add(struct pc_flow *x, const struct pc_stored_item *si)
{
    struct pc_flow_item *it = &x->items[x->n_items];

    memset(it, 0, sizeof(*it));
    it->id = si->id;
    it->type = si->type;
    it->params = malloc(si->params_len > 0 ? si->params_len : 1);
    it->deps = calloc(si->n_deps + 1, sizeof(size_t));
    if (it->params == NULL || it->deps == NULL) {
        free(it->params);
        free(it->deps);
        return PC_ENOMEM;
    }
    memcpy(it->params, si->params, si->params_len);
    it->params_len = si->params_len;
    x->n_items++;
    return 0;
}

/* Deps of the obsolete items, resolved among them once all are in xflow. */
static void xflow_link(struct pc_exec *e, const bool *chosen)
{
    struct pc_flow *x = &e->xflow;
    size_t k = e->n_flow;

    for (size_t s = 0; s < e->stored.n; s++) {
        const struct pc_stored_item *si = &e->stored.v[s];
        struct pc_flow_item *it = NULL;

        if (!chosen[s]) {
            continue;
        }
        it = &x->items[k++];
        for (size_t d = 0; d < si->n_deps; d++) {
            long at = pc_flow_find(x, si->deps[d].s, strlen(si->deps[d].s));

            if (at >= (long)e->n_flow && (size_t)at != k - 1) {
                it->deps[it->n_deps++] = (size_t)at;
            }
        }
    }
}

/*
 * Sorts what the store holds about items no longer in the flow: manageable
 * ones (a record with a registered type) are cleaned, or only listed with
 * keep_obsolete; the others are listed as unmanaged and left stored.
 */
static int obsolete_plan(struct pc_exec *e, struct pc_err *err)
{
    struct pc_outcome *o = &e->outcome;
    bool *chosen = calloc(e->stored.n + 1, sizeof(bool));
    size_t n_chosen = 0;
    enum pc_block_kind ob;
    int rc = chosen != NULL ? 0 : PC_ENOMEM;

    for (size_t s = 0; rc == 0 && s < e->stored.n; s++) {
        const struct pc_stored_item *si = &e->stored.v[s];
        bool known = si->has_record &&
                     pc_registry_find(e->opts.registry, si->type.s, strlen(si->type.s)) != NULL;

        if (!known) {
            rc = add_id(&o->items_obsolete_unmanaged, &o->n_items_obsolete_unmanaged, &si->id);
            continue;
        }
        rc = add_id(&o->items_obsolete, &o->n_items_obsolete, &si->id);
        chosen[s] = !e->opts.keep_obsolete;
        n_chosen += chosen[s];
    }
    o->obsolete_kept = e->opts.keep_obsolete && o->n_items_obsolete > 0;
    if (rc == 0 && n_chosen > 0) {
        rc = pc_flow_copy(&e->xflow, e->opts.flow);
    }
    if (rc == 0 && n_chosen > 0) {
        struct pc_flow_item *items =
            realloc(e->xflow.items, (e->n_flow + n_chosen) * sizeof(*items));

        rc = items != NULL ? 0 : PC_ENOMEM;
        if (rc == 0) {
            e->xflow.items = items;
        }
        for (size_t s = 0; rc == 0 && s < e->stored.n; s++) {
            if (chosen[s]) {
                rc = xflow_add(&e->xflow, &e->stored.v[s]);
            }
        }
    }
    if (rc != 0) {
        free(chosen);
        return pc_err_set(err, rc, "out of memory planning the obsolete items");
    }
    if (n_chosen > 0) {
        xflow_link(e, chosen);
        e->flow = &e->xflow;
        rc = grow_items(e, err);
        if (rc == 0 && pc_cmd_obsolete_block(e->opts.cmd, &ob) && e->n_blocks < PC_BLOCKS_MAX) {
            e->blocks[e->n_blocks++] = ob;
        }
    }
    free(chosen);
    return rc;
}

static void read_obsolete_done(void *arg, int rc, const struct pc_err *err)
{
    struct pc_exec *e = arg;
    struct pc_err perr;
    char text[PC_ERR_MSG_MAX + 96];

    e->obsolete_read = true;
    pc_err_clear(&perr);
    if (rc == 0) {
        rc = obsolete_plan(e, &perr);
        err = &perr;
    }
    if (rc != 0) {
        (void)snprintf(text, sizeof(text), "reading the stored items failed: %s",
                       err != NULL && err->msg[0] != '\0' ? err->msg : pc_strerror(rc));
        pc_exec__record_block_error(e, text);
        pc_exec__block_done(e, BLOCK_FAILED);
        return;
    }
    pc_exec__run_read(e, PC_STATES_CURRENT, PC_MAP_STORED_CURRENT);
}

/* read_current of a command that sees obsolete items first asks the store
 * which items it holds that the flow no longer has. */
bool pc_exec__read_obsolete_first(struct pc_exec *e)
{
    struct pc_err err;
    int rc;

    if (e->obsolete_read || !pc_cmd_sees_obsolete(e->opts.cmd) ||
        e->opts.store.ops->read_obsolete == NULL) {
        return false;
    }
    pc_err_clear(&err);
    rc = e->opts.store.ops->read_obsolete(e->opts.store.ctx, e->opts.flow, &e->stored,
                                          read_obsolete_done, e);
    if (rc != 0) {
        (void)pc_err_set(&err, rc, "%s", pc_strerror(rc));
        read_obsolete_done(e, rc, &err);
    }
    return true;
}
