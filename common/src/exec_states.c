/*
 * exec_states.c - the engine's store calls: item and map writes, reads of
 * stored states, and the stored-vs-discovered check.
 */
#include "exec_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Store writes                                                              */

void pc_exec__record_block_error(struct pc_exec *e, const char *text)
{
    if (!e->has_block_error) {
        size_t n = strnlen(text, sizeof(e->block_error) - 1);

        memcpy(e->block_error, text, n);
        e->block_error[n] = '\0';
        e->has_block_error = true;
    }
}

static void write_done(void *arg, int rc, const struct pc_err *err)
{
    struct pc_exec *e = arg;

    e->pending_writes--;
    if (rc != 0) {
        char text[PC_ERR_MSG_MAX + 32];

        (void)snprintf(text, sizeof(text), "states write failed: %s",
                       err != NULL && err->msg[0] != '\0' ? err->msg : pc_strerror(rc));
        pc_exec__record_block_error(e, text);
        e->stop_all = true;
    }
    if (e->finishing) {
        pc_exec__maybe_deliver(e);
    }
}

void pc_exec__store_write_item(struct pc_exec *e, enum pc_states_kind kind, size_t item,
                               const struct pc_state *s)
{
    struct pc_err err;
    int rc;

    pc_err_clear(&err);
    e->pending_writes++;
    rc = e->opts.store.ops->write_item(e->opts.store.ctx, kind, &e->wflow, id_index(e, item), s,
                                       write_done, e);
    if (rc != 0) {
        (void)pc_err_set(&err, rc, "%s", pc_strerror(rc));
        write_done(e, rc, &err);
    }
}

/* The item's type, params and deps as applied: what cleans it once it leaves
 * the flow. Stores without records skip it. */
void pc_exec__store_write_record(struct pc_exec *e, size_t item)
{
    struct pc_err err;
    int rc;

    if (e->opts.store.ops->write_record == NULL) {
        return;
    }
    pc_err_clear(&err);
    e->pending_writes++;
    rc = e->opts.store.ops->write_record(e->opts.store.ctx, &e->wflow, item, write_done, e);
    if (rc != 0) {
        (void)pc_err_set(&err, rc, "%s", pc_strerror(rc));
        write_done(e, rc, &err);
    }
}

void pc_exec__store_remove_item(struct pc_exec *e, size_t item)
{
    struct pc_err err;
    int rc;

    if (e->opts.store.ops->remove_item == NULL) {
        return;
    }
    pc_err_clear(&err);
    e->pending_writes++;
    rc = e->opts.store.ops->remove_item(e->opts.store.ctx, &e->wflow, item, write_done, e);
    if (rc != 0) {
        (void)pc_err_set(&err, rc, "%s", pc_strerror(rc));
        write_done(e, rc, &err);
    }
}

void pc_exec__store_write_all(struct pc_exec *e, enum pc_states_kind kind,
                              const struct pc_states *m)
{
    struct pc_err err;
    int rc;

    pc_err_clear(&err);
    e->pending_writes++;
    /* Twins (past wflow) share their flow item's entry: not written twice. */
    e->write_view.v = m->v;
    e->write_view.n = e->wflow.n_items;
    rc = e->opts.store.ops->write_all(e->opts.store.ctx, kind, &e->wflow, &e->write_view,
                                      write_done, e);
    if (rc != 0) {
        (void)pc_err_set(&err, rc, "%s", pc_strerror(rc));
        write_done(e, rc, &err);
    }
}

/* ------------------------------------------------------------------------ */
/* Non-streaming blocks                                                      */

static void read_done(void *arg, int rc, const struct pc_err *err)
{
    struct pc_exec *e = arg;
    char text[PC_ERR_MSG_MAX + 96];

    if (rc == PC_ENOTFOUND) {
        (void)snprintf(text, sizeof(text),
                       "%s states have not been discovered (run discover first)",
                       cur_block(e) == PC_BLOCK_READ_CURRENT ? "current" : "goal");
        pc_exec__record_block_error(e, text);
        pc_exec__block_done(e, BLOCK_FAILED);
        return;
    }
    if (rc != 0) {
        (void)snprintf(text, sizeof(text), "reading stored %s states failed: %s",
                       cur_block(e) == PC_BLOCK_READ_CURRENT ? "current" : "goal",
                       err != NULL && err->msg[0] != '\0' ? err->msg : pc_strerror(rc));
        pc_exec__record_block_error(e, text);
        pc_exec__block_done(e, BLOCK_FAILED);
        return;
    }
    /* A twin's stored state is its id's: the flow item's slot. */
    for (size_t i = e->wflow.n_items; i < e->n_items; i++) {
        struct pc_states *m = &e->maps[cur_block(e) == PC_BLOCK_READ_CURRENT ? PC_MAP_STORED_CURRENT
                                                                             : PC_MAP_STORED_GOAL];

        if (is_twin(e, i) && pc_state_copy(&m->v[i], &m->v[e->items[i].twin]) != 0) {
            pc_exec__record_block_error(e, "out of memory");
            pc_exec__block_done(e, BLOCK_FAILED);
            return;
        }
    }
    pc_exec__block_done(e, BLOCK_OK);
}

void pc_exec__run_read(struct pc_exec *e, enum pc_states_kind kind, enum pc_exec_map map)
{
    struct pc_err err;
    int rc;

    if (kind == PC_STATES_CURRENT && pc_exec__read_obsolete_first(e)) {
        return;
    }

    pc_err_clear(&err);
    e->read_view.v = e->maps[map].v;
    e->read_view.n = e->wflow.n_items;
    rc = e->opts.store.ops->read(e->opts.store.ctx, kind, &e->wflow, &e->read_view, read_done, e);
    if (rc != 0) {
        (void)pc_err_set(&err, rc, "%s", pc_strerror(rc));
        read_done(e, rc, &err);
    }
}

static bool states_eq(const struct pc_exec *e, size_t i, const struct pc_state *a,
                      const struct pc_state *b)
{
    const struct item_rt *it = &e->items[i];

    if (it->type->state_eq != NULL) {
        return it->type->state_eq(it->params, a, b);
    }
    return pc_state_bytes_eq(a, b);
}

static int describe_state(struct pc_buf *msg, const char *label, const struct pc_state *s)
{
    int rc = pc_buf_appendf(msg, " %s ", label);

    if (rc == 0 && !pc_state_present(s)) {
        return pc_buf_puts(msg, "(none)");
    }
    if (rc == 0 && pc_state_to_json(s, msg) != 0) {
        rc = pc_buf_puts(msg, "(unreadable)");
    }
    return rc;
}

/*
 * Compares stored vs discovered for one kind. Returns the number of stale
 * items, appending each one's description to msg (all three stale kinds of
 * peace count: only stored, only discovered, values differ).
 */
static size_t sync_compare(struct pc_exec *e, enum pc_exec_map stored, enum pc_exec_map found,
                           struct pc_buf *msg, bool *item_stale)
{
    size_t stale = 0;

    for (size_t i = 0; i < e->n_items; i++) {
        const struct pc_state *s = &e->maps[stored].v[i];
        const struct pc_state *d = &e->maps[found].v[i];
        bool ps = pc_state_present(s);
        bool pd = pc_state_present(d);

        if ((!ps && !pd) || (ps && pd && states_eq(e, i, s, d))) {
            continue;
        }
        if (pc_state_is_unknown(s)) {
            continue; /* marked unknown after a cut: the discovered state is the truth */
        }
        if (found == PC_MAP_GOAL && is_old(e, i)) {
            continue; /* an old incarnation has no goal: it is going away */
        }
        if (is_twin(e, i)) {
            continue; /* the stored entry is its id's, checked with the flow item */
        }
        if (e->opts.sync_tolerate != NULL && i < e->n_flow && e->opts.sync_tolerate[i]) {
            continue;
        }
        item_stale[i] = true;
        stale++;
        /* The message is bounded: once full, later items are only counted. */
        if (pc_buf_appendf(msg, "%s%s:", stale == 1 ? "" : ";", e->flow->items[i].id.s) == 0 &&
            describe_state(msg, "stored", s) == 0 && describe_state(msg, "discovered", d) == 0) {
            continue;
        }
    }
    return stale;
}

void pc_exec__run_sync_check(struct pc_exec *e, bool current, bool goal)
{
    struct pc_buf msg;
    bool *item_stale = calloc(e->n_items + 1, sizeof(bool));
    size_t stale = 0;
    const char *which = "current";

    if (item_stale == NULL) {
        pc_exec__record_block_error(e, "out of memory in the stored-vs-discovered check");
        pc_exec__block_done(e, BLOCK_FAILED);
        return;
    }
    pc_buf_init(&msg, PC_OUTCOME_ERROR_TEXT_MAX - 200);
    if (current) {
        stale = sync_compare(e, PC_MAP_STORED_CURRENT, PC_MAP_CURRENT, &msg, item_stale);
    }
    if (stale == 0 && goal) {
        which = "goal";
        stale = sync_compare(e, PC_MAP_STORED_GOAL, PC_MAP_GOAL, &msg, item_stale);
    }
    for (size_t i = 0; i < e->n_items; i++) {
        if (item_stale[i]) {
            pc_report_rec_item_stale(&e->rec, i,
                                     strcmp(which, "goal") == 0 ? PC_STALE_GOAL : PC_STALE_CURRENT);
            pc_exec__emit_kind(e, i, PC_UPDATE_FAIL, PC_MSG_SET, "stored state out of sync");
        } else if (current && pc_state_is_unknown(&e->maps[PC_MAP_STORED_CURRENT].v[i])) {
            pc_exec__emit_kind(e, i, PC_UPDATE_TICK, PC_MSG_SET,
                               "stored state unknown (cut short): the discovered one is used");
        } else {
            pc_exec__emit_kind(e, i, PC_UPDATE_TICK, PC_MSG_SET, "state in sync");
        }
    }
    if (stale > 0) {
        char text[PC_OUTCOME_ERROR_TEXT_MAX];

        (void)snprintf(text, sizeof(text),
                       "stored %s states are out of sync with the discovered ones: %s. Re-run "
                       "discover and check the diff before applying.",
                       which, pc_buf_str(&msg));
        pc_exec__record_block_error(e, text);
    }
    pc_buf_cleanup(&msg);
    free(item_stale);
    pc_exec__block_done(e, stale > 0 ? BLOCK_FAILED : BLOCK_OK);
}
