/*
 * exec_obsolete.c - items from the store: obsolete items (stored, no longer
 * in the flow, or now of another type) and replaced items as last applied,
 * planned into their blocks (the flow extended with them: old incarnations,
 * some with the id of a flow item, their twin).
 */
#include "exec_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "peace/replace.h"

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
            pc_err_prefix(err, "%s item, stored params",
                          i < e->wflow.n_items ? "obsolete" : "replaced or retyped");
        }
    }
    return rc;
}

/* An item the plan appends to the flow: an old incarnation. */
struct old_item {
    enum item_role role;
    size_t twin;                     /* its id's flow item, or SIZE_MAX */
    const struct pc_stored_item *si; /* its record, or NULL: the flow item's params */
};

/* Appends old item o to xflow (deps resolved later, by xflow_link). */
static int xflow_add(struct pc_exec *e, const struct old_item *o)
{
    struct pc_flow *x = &e->xflow;
    struct pc_flow_item *it = &x->items[x->n_items];
    const struct pc_flow_item *fi = o->twin != SIZE_MAX ? &e->opts.flow->items[o->twin] : NULL;
    const uint8_t *params = o->si != NULL ? o->si->params : fi->params;
    size_t len = o->si != NULL ? o->si->params_len : fi->params_len;
    size_t n_deps = o->si != NULL ? o->si->n_deps : fi->n_deps;

    memset(it, 0, sizeof(*it));
    it->id = o->si != NULL ? o->si->id : fi->id;
    it->type = o->si != NULL ? o->si->type : fi->type;
    it->params = malloc(len > 0 ? len : 1);
    it->deps = calloc(n_deps + 1, sizeof(size_t));
    if (it->params == NULL || it->deps == NULL) {
        free(it->params);
        free(it->deps);
        return PC_ENOMEM;
    }
    memcpy(it->params, params, len);
    it->params_len = len;
    x->n_items++;
    return 0;
}

/* Index of the old item with id (p, n) and role among olds, else -1. */
static long old_find(const struct pc_exec *e, const struct old_item *olds, size_t n_old,
                     enum item_role role, const char *p, size_t n)
{
    for (size_t k = 0; k < n_old; k++) {
        const struct pc_id *id = &e->xflow.items[e->n_flow + k].id;

        if (olds[k].role == role && strlen(id->s) == n && memcmp(id->s, p, n) == 0) {
            return (long)(e->n_flow + k);
        }
    }
    return -1;
}

/* Deps of the old items, among the old items of their own role (what they
 * depended on when last applied: the record's deps, else the flow's). */
static void xflow_link(struct pc_exec *e, const struct old_item *olds, size_t n_old)
{
    for (size_t k = 0; k < n_old; k++) {
        struct pc_flow_item *it = &e->xflow.items[e->n_flow + k];
        const struct old_item *o = &olds[k];
        const struct pc_flow_item *fi = o->twin != SIZE_MAX ? &e->opts.flow->items[o->twin] : NULL;
        size_t n_deps = o->si != NULL ? o->si->n_deps : fi->n_deps;

        for (size_t d = 0; d < n_deps; d++) {
            const char *id =
                o->si != NULL ? o->si->deps[d].s : e->opts.flow->items[fi->deps[d]].id.s;
            long at = old_find(e, olds, n_old, o->role, id, strlen(id));

            if (at >= 0 && (size_t)at != e->n_flow + k) {
                it->deps[it->n_deps++] = (size_t)at;
            }
        }
    }
}

/* ---- replacement: which flow items block (peace/replace.h) ---------------- */

struct blocks_ctx {
    const struct pc_exec *e;
    const long *rec; /* per flow item: its same-type record in e->stored, or -1 */
};

/* Flow item i blocks when its type says its record's params (as last
 * applied) must be cleaned before its flow params can be reached. Stored
 * params the type no longer accepts do not block (nothing to compare). */
static bool item_blocks(void *ctx, size_t i)
{
    const struct blocks_ctx *c = ctx;
    const struct item_rt *it = &c->e->items[i];
    const struct pc_stored_item *si = NULL;
    msgpack_unpacked u;
    void *stored = NULL;
    bool blocks = false;
    struct pc_err err;

    if (c->rec[i] < 0 || it->type->needs_replacement == NULL) {
        return false;
    }
    si = &c->e->stored.v[c->rec[i]];
    msgpack_unpacked_init(&u);
    pc_err_clear(&err);
    if (msgpack_unpack_next(&u, (const char *)si->params, si->params_len, NULL) ==
            MSGPACK_UNPACK_SUCCESS &&
        u.data.type == MSGPACK_OBJECT_MAP && it->type->params_create(&u.data, &stored, &err) == 0) {
        blocks = it->type->needs_replacement(stored, it->params);
        it->type->params_destroy(stored);
    }
    msgpack_unpacked_destroy(&u);
    return blocks;
}

/* ---- the plan ------------------------------------------------------------ */

/* The stored-item check (a worker's policy) for the old items that will run. */
static int check_olds(struct pc_exec *e, const struct old_item *olds, size_t n_old,
                      struct pc_err *err)
{
    char reason[PC_ERR_MSG_MAX];
    enum pc_block_kind ob;
    bool obsolete_runs = pc_cmd_obsolete_block(e->opts.cmd, &ob);

    for (size_t k = 0; e->opts.stored_item_check != NULL && k < n_old; k++) {
        const struct pc_flow_item *fi = &e->xflow.items[e->n_flow + k];

        if (olds[k].role == ROLE_OBSOLETE && !obsolete_runs) {
            continue;
        }
        reason[0] = '\0';
        if (e->opts.stored_item_check(e->opts.stored_item_check_ctx, fi, reason, sizeof(reason)) !=
            0) {
            return pc_err_set(
                err, PC_EINVAL, "%s item %s cannot run here: %s%s",
                olds[k].role == ROLE_OBSOLETE ? "obsolete" : "replaced", fi->id.s, reason,
                olds[k].role == ROLE_OBSOLETE
                    ? " (--keep-obsolete leaves it; a worker that may run it cleans it)"
                    : "");
        }
    }
    return 0;
}

/*
 * Sorts what the store holds about the flow's items and the others:
 *  - an id no longer in the flow, or in it with another type now, is
 *    obsolete: manageable ones (a record with a registered type) are
 *    cleaned in clean_obsolete, or only listed with keep_obsolete; the
 *    others are listed as unmanaged and left stored;
 *  - for ensure, a flow item whose record says it blocks (item_blocks) is
 *    replaced, with every item that depends on it: as last applied (their
 *    records), they are cleaned in clean_replaced, then ensured again in
 *    ensure_replaced.
 * The old items are appended to a copy of the flow (xflow): plain obsolete
 * ones first, then the twins (ids of the flow), so wflow is a prefix.
 */
static int stored_plan(struct pc_exec *e, struct pc_err *err)
{
    struct pc_outcome *o = &e->outcome;
    const struct pc_flow *f = e->opts.flow;
    size_t n_flow = e->n_flow;
    struct old_item *olds = calloc(e->stored.n + n_flow + 1, sizeof(*olds));
    long *rec = calloc(n_flow + 1, sizeof(long));
    long *other_type = calloc(n_flow + 1, sizeof(long));
    bool *blocking = calloc(n_flow + 1, sizeof(bool));
    bool *replaced = calloc(n_flow + 1, sizeof(bool));
    size_t n_old = 0;
    size_t n_plain = 0;
    size_t n_replaced = 0;
    enum pc_block_kind cb;
    enum pc_block_kind eb;
    bool replaces = pc_cmd_replace_blocks(e->opts.cmd, &cb, &eb);
    int rc =
        olds != NULL && rec != NULL && other_type != NULL && blocking != NULL && replaced != NULL
            ? 0
            : PC_ENOMEM;

    for (size_t i = 0; rc == 0 && i < n_flow; i++) {
        rec[i] = -1;
        other_type[i] = -1;
    }
    /* Obsolete items: plain ones first (stored order), ids of the flow
     * now of another type noted for later (they are twins). */
    for (size_t s = 0; rc == 0 && s < e->stored.n; s++) {
        const struct pc_stored_item *si = &e->stored.v[s];
        long at = pc_flow_find(f, si->id.s, strlen(si->id.s));
        bool known = si->has_record &&
                     pc_registry_find(e->opts.registry, si->type.s, strlen(si->type.s)) != NULL;

        if (at >= 0 && (!si->has_record || strcmp(si->type.s, f->items[at].type.s) == 0)) {
            rec[at] = si->has_record ? (long)s : -1;
            continue;
        }
        if (!known) {
            rc = add_id(&o->items_obsolete_unmanaged, &o->n_items_obsolete_unmanaged, &si->id);
            continue;
        }
        rc = add_id(&o->items_obsolete, &o->n_items_obsolete, &si->id);
        if (at >= 0) {
            other_type[at] = (long)s;
        } else if (!e->opts.keep_obsolete) {
            olds[n_old++] = (struct old_item){.role = ROLE_OBSOLETE, .twin = SIZE_MAX, .si = si};
        }
    }
    n_plain = n_old;
    o->obsolete_kept = e->opts.keep_obsolete && o->n_items_obsolete > 0;
    /* diff lists what ensure would replace, and runs nothing of it. */
    if (rc == 0 && (replaces || e->opts.cmd == PC_CMD_DIFF)) {
        struct blocks_ctx bc = {.e = e, .rec = rec};
        struct pc_replace_ops ops = {.blocks = item_blocks};

        n_replaced = pc_replace_plan(f, &ops, &bc, blocking, replaced);
    }
    /* Twins: obsolete ones (another type now; a replaced one is cleaned
     * with the replaced items instead, before what it depends on), then the
     * replaced items as last applied, in flow order. */
    for (size_t i = 0; rc == 0 && i < n_flow; i++) {
        if (other_type[i] >= 0 && !replaced[i] && !e->opts.keep_obsolete) {
            olds[n_old++] = (struct old_item){
                .role = ROLE_OBSOLETE, .twin = i, .si = &e->stored.v[other_type[i]]};
        }
    }
    for (size_t i = 0; rc == 0 && i < n_flow; i++) {
        long s = rec[i] >= 0 ? rec[i] : other_type[i];

        if (replaced[i]) {
            rc = add_id(&o->items_replaced, &o->n_items_replaced, &f->items[i].id);
        }
        if (replaced[i] && replaces) {
            olds[n_old++] = (struct old_item){
                .role = ROLE_REPLACED, .twin = i, .si = s >= 0 ? &e->stored.v[s] : NULL};
        }
    }
    if (rc == 0 && n_old > 0) {
        rc = pc_flow_copy(&e->xflow, f);
    }
    if (rc == 0 && n_old > 0) {
        struct pc_flow_item *items = realloc(e->xflow.items, (n_flow + n_old) * sizeof(*items));

        rc = items != NULL ? 0 : PC_ENOMEM;
        if (rc == 0) {
            e->xflow.items = items;
        }
        for (size_t k = 0; rc == 0 && k < n_old; k++) {
            rc = xflow_add(e, &olds[k]);
        }
    }
    if (rc != 0) {
        rc = pc_err_set(err, rc, "out of memory planning the stored items");
    }
    if (rc == 0 && n_old > 0) {
        xflow_link(e, olds, n_old);
        rc = check_olds(e, olds, n_old, err);
    }
    if (rc == 0 && n_old > 0) {
        e->flow = &e->xflow;
        e->wflow = e->xflow;
        e->wflow.n_items = n_flow + n_plain;
        rc = grow_items(e, err);
    }
    for (size_t k = 0; rc == 0 && k < n_old; k++) {
        e->items[n_flow + k].role = olds[k].role;
        e->items[n_flow + k].twin = olds[k].twin;
    }
    for (size_t i = 0; rc == 0 && i < n_flow; i++) {
        e->items[i].replace = replaces && replaced[i];
    }
    /* Blocks: the replacement pair after ensure's apply block, then
     * clean_obsolete last (PC_BLOCKS_MAX has room for all of them). */
    if (rc == 0 && replaces && n_replaced > 0 && e->n_blocks + 2 <= PC_BLOCKS_MAX) {
        e->blocks[e->n_blocks++] = cb;
        e->blocks[e->n_blocks++] = eb;
    }
    if (rc == 0 && n_old > (replaces ? n_replaced : 0) && pc_cmd_obsolete_block(e->opts.cmd, &cb) &&
        e->n_blocks < PC_BLOCKS_MAX) {
        e->blocks[e->n_blocks++] = cb;
    }
    free(olds);
    free(rec);
    free(other_type);
    free(blocking);
    free(replaced);
    return rc;
}

static void read_obsolete_done(void *arg, int rc, const struct pc_err *err)
{
    struct pc_exec *e = arg;
    struct pc_err perr;
    char text[PC_ERR_MSG_MAX + 96];

    e->obsolete_read = true;
    bool refused = false;

    pc_err_clear(&perr);
    if (rc == 0) {
        rc = stored_plan(e, &perr);
        err = &perr;
        refused = rc == PC_EINVAL; /* the stored-item check said no: its text says why */
    }
    if (rc != 0) {
        (void)snprintf(text, sizeof(text), "%s%s",
                       refused ? "" : "reading the stored items failed: ",
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
