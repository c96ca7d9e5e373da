/*
 * exec.c - the execution engine.
 *
 * Design. One execution is a state machine driven by three kinds of event,
 * all delivered on the loop thread: a block starts, an item task completes
 * (executor done callback), a store operation completes. Nothing here blocks:
 * every item function runs in a task on the executor.
 *
 * Blocks run in order. Before each block the interrupt latch is polled
 * (peace's CmdExecution). Streaming blocks feed items through a ready queue:
 * roots (items without predecessors, or without successors for clean) are
 * preloaded in flow order; an item becomes ready when all its predecessors
 * (successors for clean) completed in this block. The ready queue is polled
 * as peace's interruptible stream is: one counting poll per "slot" (each
 * next item, and the end of the stream), made as soon as the previous item
 * was taken and a concurrency slot is free, plus a waiting poll when the
 * item the slot waited for becomes ready. When a poll says "interrupted" the
 * item is not taken (so it is neither started nor listed as processed),
 * nothing new starts, in-flight items finish, and the block ends
 * interrupted. In the apply block the first item error stops new items
 * from becoming ready (items already in the ready queue may still start).
 *
 * Per item there is at most one task in flight, so task structs are
 * preallocated per item and reused, and the state maps can be written slot
 * by slot from the loop thread while tasks of other items read their own
 * slots on executor threads.
 *
 * Progress reported by items goes to a per-item slot (atomics, and a mutex
 * only for messages) and reaches the observer when the host calls
 * pc_exec_progress_flush() or when the framework updates that item; so a
 * million progress calls per second cost a million atomic adds, not a
 * million observer calls.
 *
 * Files: exec.c (creation, block loop, outcome, public calls),
 * exec_progress.c, exec_task.c (what runs on executor threads),
 * exec_stream.c (streaming blocks), exec_states.c (store reads and writes,
 * the stored-vs-discovered check), exec_obsolete.c; exec_internal.h is what
 * they share.
 */
#include "peace/exec.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "exec_internal.h"

/* ------------------------------------------------------------------------ */
/* Creation                                                                  */

int pc_exec__build_graph(struct pc_exec *e, struct pc_err *err)
{
    const struct pc_flow *f = e->flow;
    size_t *count = calloc(e->n_items + 1, sizeof(*count));

    if (count == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < f->n_items; i++) {
        for (size_t d = 0; d < f->items[i].n_deps; d++) {
            count[f->items[i].deps[d]]++;
        }
    }
    for (size_t i = 0; i < e->n_items; i++) {
        e->items[i].succ = calloc(count[i] + 1, sizeof(size_t));
        if (e->items[i].succ == NULL) {
            free(count);
            return pc_err_set(err, PC_ENOMEM, "out of memory");
        }
    }
    free(count);
    for (size_t i = 0; i < f->n_items; i++) {
        for (size_t d = 0; d < f->items[i].n_deps; d++) {
            struct item_rt *dep = &e->items[f->items[i].deps[d]];
            dep->succ[dep->n_succ++] = i;
        }
    }
    return 0;
}

int pc_exec__parse_params(struct pc_exec *e, size_t i, struct pc_err *err)
{
    const struct pc_flow_item *fi = &e->flow->items[i];
    struct item_rt *it = &e->items[i];
    msgpack_unpacked u;
    msgpack_unpack_return ur;
    size_t off = 0;
    int rc;

    it->type = pc_registry_find(e->opts.registry, fi->type.s, strlen(fi->type.s));
    if (it->type == NULL) {
        return pc_err_set(err, PC_EINVAL, "item %s: unknown item type \"%s\"", fi->id.s,
                          fi->type.s);
    }
    msgpack_unpacked_init(&u);
    ur = fi->params != NULL
             ? msgpack_unpack_next(&u, (const char *)fi->params, fi->params_len, &off)
             : MSGPACK_UNPACK_PARSE_ERROR;
    if (ur != MSGPACK_UNPACK_SUCCESS || u.data.type != MSGPACK_OBJECT_MAP) {
        msgpack_unpacked_destroy(&u);
        if (ur == MSGPACK_UNPACK_NOMEM_ERROR) {
            return pc_err_set(err, PC_ENOMEM, "item %s: out of memory reading params", fi->id.s);
        }
        return pc_err_set(err, PC_EINVAL, "item %s: params are not a map", fi->id.s);
    }
    pc_err_clear(err);
    rc = it->type->params_create(&u.data, &it->params, err);
    msgpack_unpacked_destroy(&u);
    if (rc != 0) {
        rc = rc < 0 ? rc : PC_EINVAL;
        /* Item code may fail without a message (as task_run allows for): err still says why. */
        if (err != NULL && err->code == 0) {
            (void)pc_err_set(err, rc, "params rejected (%s)", pc_strerror(rc));
        }
        pc_err_prefix(err, "item %s (%s)", fi->id.s, fi->type.s);
        it->params = NULL;
        return rc;
    }
    return 0;
}

int pc_exec_create(const struct pc_exec_opts *opts, struct pc_exec **out, struct pc_err *err)
{
    struct pc_exec *e = calloc(1, sizeof(*e));
    size_t n = opts->flow->n_items;
    int rc = 0;

    if (e == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    e->opts = *opts;
    e->flow = opts->flow;
    e->wflow = *opts->flow;
    e->n_flow = n;
    e->n_items = n;
    pc_latch_init(&e->latch, &opts->strategy);
    pc_outcome_init(&e->outcome);
    pc_outcome_init(&e->pending_errors);
    pthread_mutex_init(&e->slot_lock, NULL);
    e->n_blocks = opts->cmd == PC_CMD_DIFF
                      ? pc_cmd_blocks_diff(opts->diff_current_discovered,
                                           opts->diff_goal_discovered, e->blocks)
                      : pc_cmd_blocks(opts->cmd, opts->sync, e->blocks);
    e->items = calloc(n + 1, sizeof(*e->items));
    e->ready = calloc(n + 1, sizeof(size_t));
    e->started_order = calloc(n + 1, sizeof(size_t));
    e->running = calloc(n + 1, sizeof(size_t));
    if (e->items == NULL || e->ready == NULL || e->started_order == NULL || e->running == NULL ||
        pc_report_rec_init(&e->rec, &e->outcome, opts->flow) != 0) {
        rc = pc_err_set(err, PC_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t m = 0; rc == 0 && m < PC_EXEC_MAP_COUNT; m++) {
        rc = pc_states_init(&e->maps[m], n);
    }
    if (rc != 0) {
        rc = pc_err_set(err, PC_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        pc_cancel_init(&e->items[i].cancel);
        e->n_cancel_ready++;
    }
    rc = pc_exec__build_graph(e, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct item_rt *it = &e->items[i];

        pc_progress_tracker_init(&it->tracker);
        it->ctx.ops = &pc_exec__slot_ops;
        it->ctx.ops_ctx = e;
        it->ctx.item = i;
        it->ctx.item_id = e->flow->items[i].id.s;
        it->ctx.file_root = opts->file_root;
        it->ctx.cancel = &it->cancel;
        it->task.e = e;
        it->task.item = i;
        rc = pc_exec__parse_params(e, i, err);
    }
out:
    if (rc != 0) {
        pc_exec_destroy(e);
        return rc;
    }
    *out = e;
    return 0;
}

void pc_exec_destroy(struct pc_exec *e)
{
    if (e == NULL) {
        return;
    }
    if (e->items != NULL) {
        for (size_t i = 0; i < e->n_items; i++) {
            struct item_rt *it = &e->items[i];

            if (it->params != NULL && it->type != NULL) {
                it->type->params_destroy(it->params);
            }
            free(it->succ);
            pc_state_clear(&it->task.current);
            pc_state_clear(&it->task.goal);
            pc_state_clear(&it->task.diff);
            pc_state_clear(&it->task.out);
        }
        for (size_t i = 0; i < e->n_cancel_ready; i++) {
            pc_cancel_cleanup(&e->items[i].cancel);
        }
    }
    for (size_t m = 0; m < PC_EXEC_MAP_COUNT; m++) {
        pc_states_cleanup(&e->maps[m]);
    }
    pc_report_rec_cleanup(&e->rec);
    pc_outcome_cleanup(&e->outcome);
    pc_outcome_cleanup(&e->pending_errors);
    pc_flow_cleanup(&e->xflow);
    pc_stored_items_cleanup(&e->stored);
    pthread_mutex_destroy(&e->slot_lock);
    free(e->items);
    free(e->ready);
    free(e->started_order);
    free(e->running);
    free(e);
}

/* ------------------------------------------------------------------------ */
/* Block loop and outcome                                                    */

static void run_block(struct pc_exec *e);

static int list_items(struct pc_exec *e)
{
    struct pc_outcome *o = &e->outcome;

    o->items_processed = calloc(e->n_started + 1, sizeof(struct pc_id));
    o->items_not_processed = calloc(e->n_items + 1, sizeof(struct pc_id));
    o->items_interrupted = calloc(e->n_cut + 1, sizeof(struct pc_id));
    if (o->items_processed == NULL || o->items_not_processed == NULL ||
        o->items_interrupted == NULL) {
        return PC_ENOMEM;
    }
    for (size_t i = 0; i < e->n_items; i++) {
        if (e->items[i].cut && o->n_items_interrupted < e->n_cut) {
            o->items_interrupted[o->n_items_interrupted++] = e->flow->items[i].id;
        }
    }
    for (size_t k = 0; k < e->n_started; k++) {
        o->items_processed[o->n_items_processed++] = e->flow->items[e->started_order[k]].id;
    }
    for (size_t i = 0; i < e->n_items; i++) {
        if (e->items[i].member && !e->items[i].started) {
            o->items_not_processed[o->n_items_not_processed++] = e->flow->items[i].id;
        }
    }
    return 0;
}

static void build_outcome(struct pc_exec *e)
{
    struct pc_outcome *o = &e->outcome;
    int rc = 0;

    memcpy(o->blocks, e->blocks, sizeof(o->blocks));
    o->n_blocks = e->n_blocks;
    if (e->final_execution_interrupted) {
        o->kind = PC_OUTCOME_EXECUTION_INTERRUPTED;
        o->n_blocks_processed = e->block;
        return;
    }
    /* A failed states write turns any outcome into a block error: the
     * execution's effects are not recorded, and the caller must know. */
    if (e->final_result == BLOCK_FAILED || e->has_block_error) {
        o->kind = PC_OUTCOME_BLOCK_ERROR;
        o->n_blocks_processed = e->block;
        rc = pc_outcome_set_error(o, e->block_error);
    } else if (e->final_result == BLOCK_ITEM_ERROR || e->final_result == BLOCK_INTERRUPTED) {
        o->kind = e->final_result == BLOCK_ITEM_ERROR ? PC_OUTCOME_ITEM_ERROR
                                                      : PC_OUTCOME_BLOCK_INTERRUPTED;
        o->n_blocks_processed = e->block;
        rc = list_items(e);
        for (size_t k = 0; rc == 0 && k < e->pending_errors.n_errors; k++) {
            rc = pc_outcome_add_error(o, &e->pending_errors.errors[k].item,
                                      e->pending_errors.errors[k].text);
        }
    } else {
        o->kind = PC_OUTCOME_COMPLETE;
        o->n_blocks_processed = e->n_blocks;
    }
    if (rc != 0) {
        uint64_t created = o->created_ms;
        uint64_t started = o->started_ms;

        pc_outcome_cleanup(o);
        o->created_ms = created;
        o->started_ms = started;
        o->kind = PC_OUTCOME_BLOCK_ERROR;
        memcpy(o->blocks, e->blocks, sizeof(o->blocks));
        o->n_blocks = e->n_blocks;
        o->n_blocks_processed = e->block;
        o->error = NULL;
        /* The lists just freed make room for the text, most of the time;
         * when they do not, the outcome stays a block_error without one. */
        if (pc_outcome_set_error(o, "out of memory while building the outcome") != 0) {
            o->error = NULL;
        }
    }
}

void pc_exec__maybe_deliver(struct pc_exec *e)
{
    if (e->finished || e->pending_writes > 0) {
        return;
    }
    e->finished = true;
    pc_report_rec_block_end(&e->rec, pc_exec__now_ms(e));
    build_outcome(e);
    e->outcome.finished_ms = pc_exec__now_ms(e);
    if (e->opts.observer != NULL && e->opts.observer->finished != NULL) {
        e->opts.observer->finished(e->opts.observer_ctx, &e->outcome);
    }
}

static void finish(struct pc_exec *e, enum block_result r, bool execution_interrupted)
{
    e->final_result = r;
    e->final_execution_interrupted = execution_interrupted;
    e->finishing = true;
    pc_exec__maybe_deliver(e);
}

void pc_exec__block_done(struct pc_exec *e, enum block_result r)
{
    pc_report_rec_block_values(&e->rec, e->maps);
    pc_report_rec_block_end(&e->rec, pc_exec__now_ms(e));
    if (r != BLOCK_OK) {
        finish(e, r, false);
        return;
    }
    e->block++;
    if (e->block == e->n_blocks) {
        finish(e, BLOCK_OK, false);
        return;
    }
    run_block(e);
}

static void run_block(struct pc_exec *e)
{
    enum pc_block_kind b = cur_block(e);

    if (e->block != 0) {
        for (size_t i = 0; i < e->n_items; i++) {
            pc_exec__emit_kind(e, i, PC_UPDATE_RESET_TO_PENDING, PC_MSG_CLEAR, NULL);
        }
    }
    if (pc_exec__poll_interrupt(e, true)) {
        finish(e, BLOCK_OK, true);
        return;
    }
    if (e->opts.observer != NULL && e->opts.observer->block_start != NULL) {
        e->opts.observer->block_start(e->opts.observer_ctx, e->block, b);
    }
    pc_report_rec_block_begin(&e->rec, b, pc_exec__now_ms(e));
    switch (b) {
    case PC_BLOCK_READ_CURRENT:
        pc_exec__run_read(e, PC_STATES_CURRENT, PC_MAP_STORED_CURRENT);
        break;
    case PC_BLOCK_READ_GOAL:
        pc_exec__run_read(e, PC_STATES_GOAL, PC_MAP_STORED_GOAL);
        break;
    case PC_BLOCK_SYNC_CHECK:
        pc_exec__run_sync_check(e, true, true);
        break;
    case PC_BLOCK_SYNC_CHECK_CURRENT:
        pc_exec__run_sync_check(e, true, false);
        break;
    case PC_BLOCK_SYNC_CHECK_GOAL:
        pc_exec__run_sync_check(e, false, true);
        break;
    case PC_BLOCK_CLEAN_INSERTION:
    case PC_BLOCK_DIFF:
        /* Sequential folds over the graph in peace. */
        pc_exec__stream_begin(e, 1, false);
        break;
    case PC_BLOCK_APPLY_ENSURE:
    case PC_BLOCK_APPLY_ENSURE_DRY:
        for (size_t i = 0; i < e->n_items; i++) {
            if (pc_state_copy(&e->maps[PC_MAP_APPLIED].v[i], &e->maps[PC_MAP_CURRENT].v[i]) != 0) {
                pc_exec__record_block_error(e, "out of memory");
                pc_exec__block_done(e, BLOCK_FAILED);
                return;
            }
        }
        pc_exec__stream_begin(e, pc_exec__max_concurrency(e), false);
        break;
    case PC_BLOCK_APPLY_CLEAN:
    case PC_BLOCK_APPLY_CLEAN_DRY:
    case PC_BLOCK_CLEAN_OBSOLETE:
    case PC_BLOCK_CLEAN_OBSOLETE_DRY:
        for (size_t i = 0; i < e->n_items; i++) {
            if (is_obsolete_block(b) != is_obsolete(e, i)) {
                continue; /* the applied map keeps what the previous block made */
            }
            if (pc_state_copy(&e->maps[PC_MAP_APPLIED].v[i], &e->maps[PC_MAP_CURRENT].v[i]) != 0) {
                pc_exec__record_block_error(e, "out of memory");
                pc_exec__block_done(e, BLOCK_FAILED);
                return;
            }
        }
        pc_exec__stream_begin(e, pc_exec__max_concurrency(e), true);
        break;
    case PC_BLOCK_CLEAN_REPLACED:
    case PC_BLOCK_CLEAN_REPLACED_DRY:
    case PC_BLOCK_ENSURE_REPLACED:
    case PC_BLOCK_ENSURE_REPLACED_DRY: {
        bool clean = b == PC_BLOCK_CLEAN_REPLACED || b == PC_BLOCK_CLEAN_REPLACED_DRY;

        /* clean_replaced starts from the old items' discovered states;
         * ensure_replaced from what clean_replaced left (their cleaned
         * states), which is also what it stores for an item it does not
         * reach (interrupted). */
        for (size_t i = e->n_flow; i < e->n_items; i++) {
            size_t to = clean ? i : e->items[i].twin;
            const struct pc_state *from =
                clean ? &e->maps[PC_MAP_CURRENT].v[i] : &e->maps[PC_MAP_APPLIED].v[i];

            if (e->items[i].role == ROLE_REPLACED &&
                pc_state_copy(&e->maps[PC_MAP_APPLIED].v[to], from) != 0) {
                pc_exec__record_block_error(e, "out of memory");
                pc_exec__block_done(e, BLOCK_FAILED);
                return;
            }
        }
        pc_exec__stream_begin(e, pc_exec__max_concurrency(e), clean);
        break;
    }
    default:
        pc_exec__stream_begin(e, pc_exec__max_concurrency(e), false);
        break;
    }
}

/* ------------------------------------------------------------------------ */
/* Public                                                                    */

void pc_exec_start(struct pc_exec *e)
{
    if (e->started) {
        return;
    }
    e->started = true;
    e->block = 0;
    e->outcome.started_ms = pc_exec__now_ms(e);
    e->outcome.created_ms = e->opts.created_ms != 0 ? e->opts.created_ms : e->outcome.started_ms;
    if (e->n_blocks == 0) {
        finish(e, BLOCK_OK, false);
        return;
    }
    run_block(e);
}

void pc_exec_signal_interrupt(struct pc_exec *e)
{
    if (!e->finished) {
        pc_latch_signal(&e->latch);
    }
}

void pc_exec_interrupt(struct pc_exec *e, enum pc_interrupt_mode mode)
{
    if (e->finished) {
        return;
    }
    if (!pc_interrupt_honoured(&e->opts.strategy, mode) || mode == PC_MODE_FINISH) {
        pc_latch_signal(&e->latch);
        return;
    }
    if (mode == PC_MODE_KILL) {
        pc_latch_force(&e->latch);
    } else {
        pc_latch_signal(&e->latch);
    }
    if (mode > e->mode) {
        e->mode = mode;
    }
    for (size_t k = 0; k < e->n_running; k++) {
        pc_cancel_raise(&e->items[e->running[k]].cancel, mode);
    }
}

size_t pc_exec_running(const struct pc_exec *e)
{
    return e->finished ? 0 : e->n_running;
}

bool pc_exec_finished(const struct pc_exec *e)
{
    return e->finished;
}

const struct pc_outcome *pc_exec_outcome(const struct pc_exec *e)
{
    return e->finished ? &e->outcome : NULL;
}

const struct pc_progress_tracker *pc_exec_tracker(const struct pc_exec *e, size_t item)
{
    return item < e->n_items ? &e->items[item].tracker : NULL;
}

const struct pc_flow *pc_exec_flow(const struct pc_exec *e)
{
    return e->flow;
}

const struct pc_states *pc_exec_map(const struct pc_exec *e, enum pc_exec_map which)
{
    return (size_t)which < PC_EXEC_MAP_COUNT ? &e->maps[which] : NULL;
}

size_t pc_exec_block_index(const struct pc_exec *e)
{
    return e->block;
}
