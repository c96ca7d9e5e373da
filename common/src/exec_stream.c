/*
 * exec_stream.c - the engine's streaming blocks: the ready queue, its
 * interrupt polls, starting items, and what each finished task means.
 */
#include "exec_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void pump(struct pc_exec *e);
static void item_completed(struct pc_exec *e, size_t item, bool ok);
static void stream_finish(struct pc_exec *e);

/* ------------------------------------------------------------------------ */
/* Streaming blocks                                                          */

/* Which items a streaming block runs: old incarnations (obsolete items, and
 * replaced items as last applied) are discovered (their current state, with
 * their stored params), get their clean state, and are cleaned in their own
 * block; ensure's apply block ensures the flow's items that are not
 * replaced, ensure_replaced the replaced ones; everything else is for the
 * flow's items. */
static bool in_block(const struct pc_exec *e, enum pc_block_kind b, size_t i)
{
    switch (b) {
    case PC_BLOCK_CLEAN_OBSOLETE:
    case PC_BLOCK_CLEAN_OBSOLETE_DRY:
        return is_obsolete(e, i);
    case PC_BLOCK_CLEAN_REPLACED:
    case PC_BLOCK_CLEAN_REPLACED_DRY:
        return is_old(e, i) && e->items[i].role == ROLE_REPLACED;
    case PC_BLOCK_ENSURE_REPLACED:
    case PC_BLOCK_ENSURE_REPLACED_DRY:
        return !is_old(e, i) && e->items[i].replace;
    case PC_BLOCK_APPLY_ENSURE:
    case PC_BLOCK_APPLY_ENSURE_DRY:
        return !is_old(e, i) && !e->items[i].replace;
    case PC_BLOCK_DISCOVER:
    case PC_BLOCK_DISCOVER_CURRENT:
    case PC_BLOCK_CLEAN_INSERTION:
        return true;
    default:
        return !is_old(e, i);
    }
}

/* The report's entry of item i: an old incarnation cleaned in an apply block
 * (where its flow twin does not run) is reported under its id's flow item;
 * other items past the flow are not reported per item. */
static size_t rec_index(const struct pc_exec *e, size_t i)
{
    return is_twin(e, i) && is_apply(cur_block(e)) ? e->items[i].twin : i;
}

static void ready_push(struct pc_exec *e, size_t item)
{
    e->ready[(e->ready_head + e->ready_len) % (e->n_items + 1)] = item;
    e->ready_len++;
}

static size_t ready_pop(struct pc_exec *e)
{
    size_t item = e->ready[e->ready_head];

    e->ready_head = (e->ready_head + 1) % (e->n_items + 1);
    e->ready_len--;
    return item;
}

/* Predecessors of i that take part in this block (members only: a
 * predecessor outside the block was done before it). */
static size_t n_predecessors(const struct pc_exec *e, size_t i)
{
    const struct item_rt *it = &e->items[i];
    const struct pc_flow_item *fi = &e->flow->items[i];
    size_t n = 0;

    if (e->reverse) {
        for (size_t s = 0; s < it->n_succ; s++) {
            n += e->items[it->succ[s]].member;
        }
        return n;
    }
    for (size_t d = 0; d < fi->n_deps; d++) {
        n += e->items[fi->deps[d]].member;
    }
    return n;
}

size_t pc_exec__max_concurrency(const struct pc_exec *e)
{
    size_t c = e->opts.concurrency_max;

    return c == 0 || c > PC_EXEC_CONCURRENCY_MAX ? PC_EXEC_CONCURRENCY_MAX : c;
}

void pc_exec__stream_begin(struct pc_exec *e, size_t limit, bool reverse)
{
    e->limit = limit;
    e->reverse = reverse;
    e->ready_head = 0;
    e->ready_len = 0;
    e->n_started = 0;
    e->n_running = 0;
    e->n_done = 0;
    e->stop_new_ready = false;
    e->stop_all = false;
    e->slot_open = false;
    e->slot_interrupted = false;
    e->interrupted = false;
    e->block_active = true;
    for (size_t i = 0; i < e->n_items; i++) {
        e->items[i].started = false;
        e->items[i].in_flight = false;
        e->items[i].member = in_block(e, cur_block(e), i);
    }
    for (size_t i = 0; i < e->n_items; i++) {
        e->items[i].waiting = n_predecessors(e, i);
    }
    /* Roots are preloaded in flow order (reverse flow order for clean, so the
     * last leaves are torn down first, as peace's reversed graph does). The
     * flow's items and the obsolete ones never depend on each other. */
    for (size_t k = 0; k < e->n_items; k++) {
        size_t i = reverse ? e->n_items - 1 - k : k;

        if (e->items[i].member && e->items[i].waiting == 0) {
            ready_push(e, i);
        }
    }
    pump(e);
}

static void prepare_task_inputs(struct pc_exec *e, struct item_task *t)
{
    size_t i = t->item;
    int rc = 0;

    pc_state_clear(&t->current);
    pc_state_clear(&t->goal);
    pc_state_clear(&t->diff);
    pc_state_clear(&t->out);
    switch (t->kind) {
    case TASK_DIFF:
        /* A side without a state (normal before a predecessor exists) has no diff. */
        {
            /* Each side stored or discovered in this execution (diff options). */
            const struct pc_state *cur =
                &e->maps[e->opts.diff_current_discovered ? PC_MAP_CURRENT : PC_MAP_STORED_CURRENT]
                     .v[i];
            const struct pc_state *goal =
                &e->maps[e->opts.diff_goal_discovered ? PC_MAP_GOAL : PC_MAP_STORED_GOAL].v[i];

            t->skip = !pc_state_present(cur) || !pc_state_present(goal);
            if (!t->skip) {
                rc = pc_state_copy(&t->current, cur);
            }
            if (rc == 0 && !t->skip) {
                rc = pc_state_copy(&t->goal, goal);
            }
        }
        break;
    case TASK_PREPARE_CLEAN:
        rc = pc_state_copy(&t->current, &e->maps[PC_MAP_CURRENT].v[i]);
        if (rc == 0) {
            rc = pc_state_copy(&t->goal, &e->maps[PC_MAP_CLEAN].v[i]);
        }
        break;
    default:
        break;
    }
    if (rc != 0) {
        t->rc = pc_err_set(&t->err, rc, "out of memory");
    }
}

static enum task_kind first_task_kind(enum pc_block_kind b)
{
    switch (b) {
    case PC_BLOCK_DISCOVER:
        return TASK_DISCOVER_BOTH;
    case PC_BLOCK_DISCOVER_CURRENT:
        return TASK_DISCOVER_CURRENT;
    case PC_BLOCK_DISCOVER_GOAL:
        return TASK_DISCOVER_GOAL;
    case PC_BLOCK_CLEAN_INSERTION:
        return TASK_CLEAN_INSERTION;
    case PC_BLOCK_DIFF:
        return TASK_DIFF;
    case PC_BLOCK_APPLY_ENSURE:
    case PC_BLOCK_APPLY_ENSURE_DRY:
    case PC_BLOCK_ENSURE_REPLACED:
    case PC_BLOCK_ENSURE_REPLACED_DRY:
        return TASK_PREPARE_ENSURE;
    default:
        return TASK_PREPARE_CLEAN;
    }
}

static void submit_task(struct pc_exec *e, struct item_task *t)
{
    int rc = e->opts.executor.ops->submit(e->opts.executor.ctx, &t->base);

    if (rc != 0) {
        /* The executor refused (shutting down): the item fails, visibly. */
        t->rc = pc_err_set(&t->err, rc, "executor refused the task (%s)", pc_strerror(rc));
        pc_exec__task_done(&t->base);
    }
}

static void start_item(struct pc_exec *e, size_t i)
{
    struct item_rt *it = &e->items[i];
    struct item_task *t = &it->task;
    enum pc_block_kind b = cur_block(e);

    it->started = true;
    it->in_flight = true;
    e->started_order[e->n_started++] = i;
    e->running[e->n_running++] = i;
    pc_report_rec_item_begin(&e->rec, rec_index(e, i), pc_exec__now_ms(e));
    it->ctx.stored_current = pc_exec__stored_current(e, i);
    pc_cancel_reset(&it->cancel);
    if (is_apply(b)) {
        pc_exec__emit_kind(e, i, PC_UPDATE_QUEUED, PC_MSG_NO_CHANGE, NULL);
    }
    pc_exec__task_reset(t, b == PC_BLOCK_DISCOVER && is_old(e, i) ? TASK_DISCOVER_CURRENT
                                                                  : first_task_kind(b));
    prepare_task_inputs(e, t);
    if (t->rc != 0 || t->skip) {
        pc_exec__task_done(&t->base);
        return;
    }
    submit_task(e, t);
}

static bool stream_exhausted(const struct pc_exec *e)
{
    return e->n_running == 0 && (e->ready_len == 0 || e->stop_all);
}

static void pump(struct pc_exec *e)
{
    /* start_item may complete an item synchronously (a refused task), which
     * re-enters here through item_completed: the outer call keeps looping. */
    if (e->pumping) {
        e->repump = true;
        return;
    }
    e->pumping = true;
    do {
        e->repump = false;
        while (!e->stop_all && e->n_running < e->limit) {
            if (!e->slot_open) {
                /* The stream is asked for its next item (or its end) as soon as
                 * a concurrency slot is free: peace's counting poll. */
                e->slot_open = true;
                e->slot_interrupted = pc_exec__poll_interrupt(e, true);
            }
            if (e->ready_len == 0) {
                break; /* the slot waits for an item to become ready */
            }
            if (!e->slot_interrupted) {
                /* Same instant as the counting poll when the item was already
                 * ready (nothing can arrive in between); otherwise the
                 * waiting poll of a slot woken by a newly ready item. */
                e->slot_interrupted = pc_exec__poll_interrupt(e, false);
            }
            if (e->slot_interrupted) {
                /* The item that would be dequeued now is dropped, not listed. */
                e->interrupted = true;
                e->stop_all = true;
                break;
            }
            e->slot_open = false;
            start_item(e, ready_pop(e));
        }
    } while (e->repump);
    e->pumping = false;
    if (e->block_active && stream_exhausted(e)) {
        if (!e->stop_all) {
            /* The stream's end wakes its open slot: a waiting poll, which
             * latches a signal that arrived meanwhile (so later polls count
             * from here), with nothing left to stop. */
            pc_latch_observe(&e->latch);
        }
        stream_finish(e);
    }
}

static void item_error(struct pc_exec *e, size_t item, const struct pc_err *err)
{
    const char *text = err->msg[0] != '\0' ? err->msg : pc_strerror(err->code);

    pc_report_rec_item_error(&e->rec, rec_index(e, item), text);
    if (pc_outcome_add_error(&e->pending_errors, &e->flow->items[item].id, text) != 0) {
        pc_exec__record_block_error(e, "out of memory recording an item error");
        e->stop_all = true;
    }
}

static void finish_item_progress(struct pc_exec *e, size_t item, bool ok, const char *msg)
{
    pc_exec__flush_item(e, item);
    pc_exec__emit_kind(e, item, ok ? PC_UPDATE_SUCCESS : PC_UPDATE_FAIL, PC_MSG_SET, msg);
}

/*
 * An item cut short by cancel/kill: `interrupted` in progress, listed in
 * items_interrupted, not an error; its dependents do not become ready and
 * its block ends interrupted.
 */
static void item_cut(struct pc_exec *e, size_t item)
{
    struct item_rt *it = &e->items[item];
    enum pc_interrupt_mode m = pc_cancel_level(&it->cancel);
    struct pc_progress_update u = {.kind = PC_UPDATE_CUT, .msg_update = PC_MSG_SET};

    if (!it->cut) {
        it->cut = true;
        e->n_cut++;
    }
    pc_exec__flush_item(e, item);
    u.msg = m == PC_MODE_KILL ? "interrupted (kill)" : "interrupted (cancel)";
    u.msg_len = strlen(u.msg);
    pc_exec__emit(e, item, &u);
    /* A cut means the interrupt is in effect: where the strategy stops at
     * the first poll, stop now (nothing else would poll when this was the
     * last item running). */
    if (e->latch.strategy.kind == PC_STRATEGY_FINISH_CURRENT && pc_exec__poll_interrupt(e, false)) {
        e->interrupted = true;
        e->stop_all = true;
    }
    item_completed(e, item, false);
}

static void done_discover(struct pc_exec *e, struct item_task *t)
{
    size_t i = t->item;
    bool standalone = e->opts.cmd == PC_CMD_DISCOVER || e->opts.cmd == PC_CMD_DISCOVER_CURRENT ||
                      e->opts.cmd == PC_CMD_DISCOVER_GOAL;
    bool ok;

    if (t->cut) {
        item_cut(e, i);
        return;
    }
    /* States that were obtained are kept even when the other one failed. */
    if (t->kind != TASK_DISCOVER_GOAL && t->rc == 0) {
        pc_state_move(&e->maps[PC_MAP_CURRENT].v[i], &t->current);
    }
    if (t->kind == TASK_DISCOVER_GOAL && t->rc == 0) {
        pc_state_move(&e->maps[PC_MAP_GOAL].v[i], &t->goal);
    }
    if (t->kind == TASK_DISCOVER_BOTH && t->rc_goal == 0) {
        pc_state_move(&e->maps[PC_MAP_GOAL].v[i], &t->goal);
    }
    if (t->kind == TASK_DISCOVER_BOTH && t->rc == 0 && t->rc_goal != 0) {
        t->rc = t->rc_goal;
        t->err = t->err_goal;
    }
    ok = t->rc == 0;
    if (!ok) {
        item_error(e, i, &t->err);
        finish_item_progress(e, i, false, t->err.msg);
    } else if (standalone) {
        finish_item_progress(e, i, true, "discovered");
    } else {
        pc_exec__flush_item(e, i);
        pc_exec__emit_kind(e, i, PC_UPDATE_TICK, PC_MSG_SET, "discovered");
    }
    item_completed(e, i, true);
}

static void done_local(struct pc_exec *e, struct item_task *t)
{
    size_t i = t->item;

    if (t->rc != 0) {
        if (t->kind == TASK_DIFF) {
            char text[PC_ERR_MSG_MAX + PC_ID_MAX + 32];

            /* peace's diff block is a try-fold: the first error fails the block. */
            (void)snprintf(text, sizeof(text), "diff of item %s failed: %s", e->flow->items[i].id.s,
                           t->err.msg);
            pc_exec__record_block_error(e, text);
            e->stop_all = true;
        } else {
            item_error(e, i, &t->err);
        }
        item_completed(e, i, true);
        return;
    }
    pc_state_move(&e->maps[t->kind == TASK_DIFF ? PC_MAP_DIFF : PC_MAP_CLEAN].v[i], &t->out);
    item_completed(e, i, true);
}

static void apply_item_finished(struct pc_exec *e, struct item_task *t, bool ok, const char *msg)
{
    size_t i = t->item;
    enum pc_block_kind b = cur_block(e);

    if (ok && !is_dry(b) && is_obsolete_block(b) && !is_twin(e, i)) {
        /* Cleaned: its stored state goes now, and only now. */
        pc_exec__store_remove_item(e, i);
    } else if (ok && !is_dry(b) && is_twin(e, i)) {
        /* An old incarnation whose id lives on in the flow: a replaced one
         * stores its cleaned state until ensure_replaced writes the new one
         * (record kept: an interrupted replacement is planned again); an
         * obsolete one (another type now) leaves the new one's entry. */
        if (b == PC_BLOCK_CLEAN_REPLACED) {
            pc_exec__store_write_item(e, PC_STATES_CURRENT, i, &e->maps[PC_MAP_APPLIED].v[i]);
        }
    } else if (ok && !is_dry(b)) {
        pc_exec__store_write_item(e, PC_STATES_CURRENT, i, &e->maps[PC_MAP_APPLIED].v[i]);
        if (is_ensure(b)) {
            pc_exec__store_write_item(e, PC_STATES_GOAL, i, &e->maps[PC_MAP_GOAL].v[i]);
        }
        pc_exec__store_write_record(e, i);
    }
    if (ok && is_twin(e, i)) {
        pc_report_rec_item_value(&e->rec, rec_index(e, i), PC_RV_STATE,
                                 &e->maps[PC_MAP_APPLIED].v[i]);
    }
    if (!ok) {
        item_error(e, i, &t->err);
        e->stop_new_ready = true;
    }
    finish_item_progress(e, i, ok, msg);
    item_completed(e, i, ok);
}

static void done_prepare(struct pc_exec *e, struct item_task *t)
{
    size_t i = t->item;
    enum pc_block_kind b = cur_block(e);
    char limit_msg[] = "in progress";

    /* The re-resolved goal replaces the discovered one whenever it was obtained. */
    if (t->kind == TASK_PREPARE_ENSURE && t->goal.data != NULL &&
        pc_state_copy(&e->maps[PC_MAP_GOAL].v[i], &t->goal) != 0) {
        t->rc = pc_err_set(&t->err, PC_ENOMEM, "out of memory");
    }
    if (t->cut) {
        item_cut(e, i); /* nothing was changed yet: the stored state stays */
        return;
    }
    if (t->rc != 0) {
        apply_item_finished(e, t, false, t->err.msg);
        return;
    }
    pc_report_rec_item_apply(&e->rec, rec_index(e, i), t->check.exec_required);
    if (!t->check.exec_required) {
        pc_state_move(&e->maps[PC_MAP_APPLIED].v[i], &t->current);
        apply_item_finished(e, t, true, "nothing to do!");
        return;
    }
    {
        struct pc_progress_update u = {.kind = PC_UPDATE_LIMIT,
                                       .limit = t->check.limit,
                                       .msg_update = PC_MSG_SET,
                                       .msg = limit_msg,
                                       .msg_len = strlen(limit_msg)};
        pc_exec__emit(e, i, &u);
    }
    t->kind = is_dry(b) ? TASK_APPLY_DRY : TASK_APPLY;
    pc_err_clear(&t->err);
    pc_state_clear(&t->out);
    submit_task(e, t);
}

static void done_apply(struct pc_exec *e, struct item_task *t)
{
    size_t i = t->item;

    if (t->cut) {
        if (t->kind == TASK_APPLY && t->rc_goal == 0) {
            /* The re-discovered state is the truth: stored now, and again
             * with the block's states. */
            pc_state_move(&e->maps[PC_MAP_APPLIED].v[i], &t->out);
            pc_exec__store_write_item(e, PC_STATES_CURRENT, i, &e->maps[PC_MAP_APPLIED].v[i]);
        } else if (t->kind == TASK_APPLY) {
            struct pc_err err = t->err_goal;

            /* The truth cannot be had: the stored state is marked unknown
             * (now, and again with the block's states), so the next ensure
             * uses what it discovers instead of failing its guard. */
            if (pc_state_set_unknown(&e->maps[PC_MAP_APPLIED].v[i]) == 0) {
                pc_exec__store_write_item(e, PC_STATES_CURRENT, i, &e->maps[PC_MAP_APPLIED].v[i]);
                pc_err_prefix(&err, "interrupted, then re-discovering its current state failed "
                                    "(its stored state is marked unknown)");
            } else {
                pc_state_clear(&e->maps[PC_MAP_APPLIED].v[i]);
                pc_err_prefix(&err, "interrupted, then re-discovering its current state failed");
            }
            item_error(e, i, &err);
        }
        item_cut(e, i);
        return;
    }
    if (t->rc != 0) {
        apply_item_finished(e, t, false, t->err.msg);
        return;
    }
    pc_state_move(&e->maps[PC_MAP_APPLIED].v[t->item], &t->out);
    apply_item_finished(e, t, true, "done!");
}

void pc_exec__task_done(struct pc_task *base)
{
    struct item_task *t =
        (struct item_task *)(void *)((char *)base - offsetof(struct item_task, base));
    struct pc_exec *e = t->e;

    switch (t->kind) {
    case TASK_DISCOVER_CURRENT:
    case TASK_DISCOVER_GOAL:
    case TASK_DISCOVER_BOTH:
        done_discover(e, t);
        break;
    case TASK_CLEAN_INSERTION:
    case TASK_DIFF:
        done_local(e, t);
        break;
    case TASK_PREPARE_ENSURE:
    case TASK_PREPARE_CLEAN:
        done_prepare(e, t);
        break;
    case TASK_APPLY:
    case TASK_APPLY_DRY:
    default:
        done_apply(e, t);
        break;
    }
}

/* An item's work in this block is over: make its successors ready. */
static void item_completed(struct pc_exec *e, size_t item, bool ok)
{
    struct item_rt *it = &e->items[item];
    const struct pc_flow_item *fi = &e->flow->items[item];

    it->in_flight = false;
    pc_report_rec_item_end(&e->rec, rec_index(e, item), pc_exec__now_ms(e));
    pc_exec__running_remove(e, item);
    e->n_done++;
    if (ok && !e->stop_new_ready && !e->stop_all) {
        if (e->reverse) {
            for (size_t d = 0; d < fi->n_deps; d++) {
                if (e->items[fi->deps[d]].member && --e->items[fi->deps[d]].waiting == 0) {
                    ready_push(e, fi->deps[d]);
                }
            }
        } else {
            for (size_t s = 0; s < it->n_succ; s++) {
                if (e->items[it->succ[s]].member && --e->items[it->succ[s]].waiting == 0) {
                    ready_push(e, it->succ[s]);
                }
            }
        }
    }
    pump(e);
}

static void stream_finish(struct pc_exec *e)
{
    enum pc_block_kind b = cur_block(e);
    enum block_result r = BLOCK_OK;

    e->block_active = false;
    if (e->has_block_error) {
        r = BLOCK_FAILED;
    } else if (e->pending_errors.n_errors > 0) {
        r = BLOCK_ITEM_ERROR;
    } else if (e->interrupted || e->n_cut > 0) {
        r = BLOCK_INTERRUPTED;
    }
    /* States of the block that yields the command's value are written on
     * completion and on partial completion (item error, interruption), so
     * applied items are never forgotten (semantics §4.4). */
    if (r != BLOCK_FAILED || is_apply(b)) {
        /* Only the discover commands save what they discovered, and not
         * with no_save; diff's discovered sides are never saved. */
        bool save = !e->opts.no_save;

        if (save && (b == PC_BLOCK_DISCOVER || b == PC_BLOCK_DISCOVER_CURRENT) &&
            (e->opts.cmd == PC_CMD_DISCOVER || e->opts.cmd == PC_CMD_DISCOVER_CURRENT)) {
            pc_exec__store_write_all(e, PC_STATES_CURRENT, &e->maps[PC_MAP_CURRENT]);
        }
        if (save && (b == PC_BLOCK_DISCOVER || b == PC_BLOCK_DISCOVER_GOAL) &&
            (e->opts.cmd == PC_CMD_DISCOVER || e->opts.cmd == PC_CMD_DISCOVER_GOAL)) {
            pc_exec__store_write_all(e, PC_STATES_GOAL, &e->maps[PC_MAP_GOAL]);
        }
        if (b == PC_BLOCK_APPLY_ENSURE || b == PC_BLOCK_APPLY_CLEAN ||
            b == PC_BLOCK_ENSURE_REPLACED) {
            pc_exec__store_write_all(e, PC_STATES_CURRENT, &e->maps[PC_MAP_APPLIED]);
        }
        if (b == PC_BLOCK_APPLY_ENSURE || b == PC_BLOCK_ENSURE_REPLACED) {
            pc_exec__store_write_all(e, PC_STATES_GOAL, &e->maps[PC_MAP_GOAL]);
        }
    }
    pc_exec__block_done(e, r);
}
