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
 */
#include "peace/exec.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <msgpack.h>

#include "peace/report_rec.h"

/* ------------------------------------------------------------------------ */
/* Types                                                                     */

enum task_kind {
    TASK_DISCOVER_CURRENT,
    TASK_DISCOVER_GOAL,
    TASK_DISCOVER_BOTH,
    TASK_CLEAN_INSERTION,
    TASK_DIFF,
    TASK_PREPARE_ENSURE,
    TASK_PREPARE_CLEAN,
    TASK_APPLY,
    TASK_APPLY_DRY,
};

struct item_task {
    struct pc_task base;
    struct pc_exec *e;
    size_t item;
    enum task_kind kind;
    int rc;
    int rc_goal; /* TASK_DISCOVER_BOTH / TASK_PREPARE_ENSURE: goal's own result */
    struct pc_err err;
    struct pc_err err_goal;
    struct pc_state current; /* discovered / prepared current */
    struct pc_state goal;    /* discovered goal, or the apply target */
    struct pc_state diff;
    struct pc_state out; /* state_clean, diff result, applied state */
    struct pc_apply_check check;
    bool skip; /* nothing to run (diff with a side absent): complete at once */
    bool cut;  /* failed after its cancel token was raised: interrupted, not an error */
};

struct progress_slot {
    _Atomic uint64_t inc;  /* units reported and not yet flushed */
    _Atomic unsigned tick; /* ticks reported and not yet flushed */
    _Atomic int msg_dirty;
    char msg[PC_PROGRESS_MSG_MAX + 1]; /* guarded by pc_exec.slot_lock */
};

struct item_rt {
    const struct pc_item_type *type;
    void *params;
    struct pc_item_ctx ctx;
    struct pc_progress_tracker tracker;
    struct progress_slot slot;
    struct item_task task;
    struct pc_cancel cancel; /* raised by cancel/kill while the item runs */
    size_t *succ;            /* dependents (items that list this one in deps) */
    size_t n_succ;
    size_t waiting; /* predecessors not yet completed in this block */
    bool started;
    bool in_flight;
    bool member; /* takes part in the current streaming block */
    bool cut;    /* cut short by cancel/kill (listed in items_interrupted) */
};

enum block_result {
    BLOCK_OK,
    BLOCK_ITEM_ERROR,
    BLOCK_INTERRUPTED,
    BLOCK_FAILED, /* block-level error: e->block_error holds the text */
};

struct pc_exec {
    struct pc_exec_opts opts;
    /* The flow the engine runs: opts.flow, or (once obsolete items were
     * found) xflow, a copy of it with the obsolete items appended. Items
     * [n_flow, n_items) are obsolete. */
    const struct pc_flow *flow;
    struct pc_flow xflow;
    size_t n_flow;
    struct pc_stored_items stored; /* read_obsolete's answer */
    bool obsolete_read;            /* read_obsolete done (or not needed) */
    struct pc_latch latch;
    enum pc_interrupt_mode mode; /* highest mode honoured so far */
    size_t n_cut;                /* items cut short (it->cut) */
    size_t n_cancel_ready;       /* items whose cancel token is initialised */
    enum pc_block_kind blocks[PC_BLOCKS_MAX];
    size_t n_blocks;
    size_t block; /* current block index */

    struct item_rt *items;
    size_t n_items;
    struct pc_states maps[PC_EXEC_MAP_COUNT];
    pthread_mutex_t slot_lock;

    /* Streaming block state. */
    size_t *ready; /* FIFO ring of item indices */
    size_t ready_head;
    size_t ready_len;
    size_t *started_order; /* items started in this block, in start order */
    size_t n_started;
    size_t *running; /* items in flight (for flushing) */
    size_t n_running;
    size_t n_done; /* items completed in this block */
    size_t limit;  /* concurrency of this block */
    bool reverse;
    bool stop_new_ready;   /* apply: an item failed, nothing new becomes ready */
    bool stop_all;         /* interrupted or block failure: nothing new starts */
    bool slot_open;        /* the counting poll for the next item (or end) was made */
    bool slot_interrupted; /* ... and a poll of that slot said interrupted */
    bool interrupted;
    bool block_active;
    bool pumping; /* pump() is on the stack: nested calls only ask it to loop again */
    bool repump;

    struct pc_outcome outcome;
    struct pc_report_rec rec;         /* records the report's blocks into outcome */
    struct pc_outcome pending_errors; /* item errors of the current block */
    char block_error[PC_OUTCOME_ERROR_TEXT_MAX];
    bool has_block_error;

    size_t pending_writes;
    bool finishing;
    bool finished;
    bool started;
    enum block_result final_result;
    bool final_execution_interrupted;
};

static void run_block(struct pc_exec *e);
static void block_done(struct pc_exec *e, enum block_result r);
static void pump(struct pc_exec *e);
static void item_completed(struct pc_exec *e, size_t item, bool ok);

/* ------------------------------------------------------------------------ */
/* Report clock                                                              */

static uint64_t now_ms(const struct pc_exec *e)
{
    struct timespec ts;

    if (e->opts.now_ms != NULL) {
        return e->opts.now_ms(e->opts.clock_ctx);
    }
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ------------------------------------------------------------------------ */
/* Progress                                                                  */

static void emit(struct pc_exec *e, size_t item, const struct pc_progress_update *u)
{
    struct item_rt *it = &e->items[item];

    if (pc_progress_apply(&it->tracker, u) && e->opts.observer != NULL &&
        e->opts.observer->progress != NULL) {
        e->opts.observer->progress(e->opts.observer_ctx, item, &it->tracker, u);
    }
}

static void emit_kind(struct pc_exec *e, size_t item, enum pc_progress_update_kind kind,
                      enum pc_msg_update mu, const char *msg)
{
    struct pc_progress_update u = {.kind = kind, .msg_update = mu};

    if (mu == PC_MSG_SET) {
        u.msg = msg;
        u.msg_len = strlen(msg);
    }
    emit(e, item, &u);
}

/* Item-thread side: accumulate, never call out. */
static void slot_report(void *ctx, size_t item, uint64_t inc, bool tick, const char *msg,
                        size_t msg_len)
{
    struct pc_exec *e = ctx;
    struct progress_slot *s = NULL;

    if (item >= e->n_items) {
        return;
    }
    s = &e->items[item].slot;
    if (inc > 0) {
        atomic_fetch_add_explicit(&s->inc, inc, memory_order_relaxed);
    }
    if (tick || inc == 0) {
        atomic_fetch_add_explicit(&s->tick, 1u, memory_order_relaxed);
    }
    if (msg != NULL) {
        size_t n = msg_len < PC_PROGRESS_MSG_MAX ? msg_len : PC_PROGRESS_MSG_MAX;

        pthread_mutex_lock(&e->slot_lock);
        memcpy(s->msg, msg, n);
        s->msg[n] = '\0';
        atomic_store_explicit(&s->msg_dirty, 1, memory_order_relaxed);
        pthread_mutex_unlock(&e->slot_lock);
    }
}

static const struct pc_item_progress_ops slot_ops = {.report = slot_report};

static void flush_item(struct pc_exec *e, size_t item)
{
    struct progress_slot *s = &e->items[item].slot;
    uint64_t inc = atomic_exchange_explicit(&s->inc, 0, memory_order_relaxed);
    unsigned ticks = atomic_exchange_explicit(&s->tick, 0u, memory_order_relaxed);
    struct pc_progress_update u = {.kind = inc > 0 ? PC_UPDATE_INC : PC_UPDATE_TICK, .inc = inc};
    char msg[PC_PROGRESS_MSG_MAX + 1];

    if (atomic_exchange_explicit(&s->msg_dirty, 0, memory_order_relaxed) != 0) {
        pthread_mutex_lock(&e->slot_lock);
        memcpy(msg, s->msg, sizeof(msg));
        pthread_mutex_unlock(&e->slot_lock);
        u.msg_update = PC_MSG_SET;
        u.msg = msg;
        u.msg_len = strlen(msg);
    }
    if (inc == 0 && ticks == 0 && u.msg_update == PC_MSG_NO_CHANGE) {
        return;
    }
    emit(e, item, &u);
}

void pc_exec_progress_flush(struct pc_exec *e)
{
    for (size_t i = 0; i < e->n_running; i++) {
        flush_item(e, e->running[i]);
    }
}

static void running_remove(struct pc_exec *e, size_t item)
{
    for (size_t i = 0; i < e->n_running; i++) {
        if (e->running[i] == item) {
            e->running[i] = e->running[--e->n_running];
            return;
        }
    }
}

static void interrupt_activated(struct pc_exec *e)
{
    e->outcome.interrupted_ms = now_ms(e);
    if (e->opts.observer != NULL && e->opts.observer->interrupted != NULL) {
        e->opts.observer->interrupted(e->opts.observer_ctx);
    }
    for (size_t i = 0; i < e->n_items; i++) {
        emit_kind(e, i, PC_UPDATE_INTERRUPT, PC_MSG_SET, "interrupted");
    }
}

/* A counting poll (before a block, first poll of a stream slot), or a
 * waiting one (the slot's item became ready later). */
static bool poll_interrupt(struct pc_exec *e, bool counting)
{
    bool first = false;
    bool interrupted =
        counting ? pc_latch_poll(&e->latch, &first) : pc_latch_poll_waiting(&e->latch, &first);

    if (first) {
        interrupt_activated(e);
    }
    return interrupted;
}

/* ------------------------------------------------------------------------ */
/* Creation                                                                  */

static int build_graph(struct pc_exec *e, struct pc_err *err)
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

static int parse_params(struct pc_exec *e, size_t i, struct pc_err *err)
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
    rc = build_graph(e, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct item_rt *it = &e->items[i];

        pc_progress_tracker_init(&it->tracker);
        it->ctx.ops = &slot_ops;
        it->ctx.ops_ctx = e;
        it->ctx.item = i;
        it->ctx.item_id = e->flow->items[i].id.s;
        it->ctx.file_root = opts->file_root;
        it->ctx.cancel = &it->cancel;
        it->task.e = e;
        it->task.item = i;
        rc = parse_params(e, i, err);
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
/* Item tasks (executor threads)                                             */

static const struct pc_state *stored_current(struct pc_exec *e, size_t i)
{
    const struct pc_state *s = &e->maps[PC_MAP_STORED_CURRENT].v[i];

    return pc_state_present(s) ? s : NULL;
}

static int require_state(const struct pc_state *s, const char *fn, struct pc_err *err)
{
    if (s->data == NULL) {
        return pc_err_set(err, PC_EITEM, "%s returned no state", fn);
    }
    return 0;
}

static void run_prepare_ensure(struct item_task *t, struct item_rt *it)
{
    const struct pc_item_type *ty = it->type;

    t->rc = ty->state_current(&it->ctx, it->params, &t->current, &t->err);
    if (t->rc == 0) {
        t->rc = require_state(&t->current, "state_current", &t->err);
    }
    if (t->rc != 0) {
        return;
    }
    t->rc_goal = ty->state_goal(&it->ctx, it->params, &t->goal, &t->err_goal);
    if (t->rc_goal == 0) {
        t->rc_goal = require_state(&t->goal, "state_goal", &t->err_goal);
    }
    if (t->rc_goal != 0) {
        t->rc = t->rc_goal;
        t->err = t->err_goal;
        pc_state_clear(&t->goal);
        return;
    }
    t->rc = ty->state_diff(it->params, &t->current, &t->goal, &t->diff, &t->err);
    if (t->rc == 0) {
        t->rc = ty->apply_check(it->params, &t->current, &t->goal, &t->diff, &t->check, &t->err);
    }
}

static void run_prepare_clean(struct item_task *t, struct item_rt *it)
{
    const struct pc_item_type *ty = it->type;

    /* Obsolete items cleaned by ensure had no clean_insertion block. */
    if (t->goal.data == NULL) {
        t->rc = ty->state_clean(it->params, &t->goal, &t->err);
        if (t->rc == 0) {
            t->rc = require_state(&t->goal, "state_clean", &t->err);
        }
        if (t->rc != 0) {
            return;
        }
    }
    /* No state discovered: the item is treated as already clean (peace's
     * clean_prepare substitutes state_clean, so diff is clean -> clean). */
    if (t->current.data == NULL) {
        t->rc = pc_state_copy(&t->current, &t->goal);
        if (t->rc != 0) {
            (void)pc_err_set(&t->err, t->rc, "out of memory");
            return;
        }
    }
    t->rc = ty->state_diff(it->params, &t->current, &t->goal, &t->diff, &t->err);
    if (t->rc == 0) {
        t->rc = ty->apply_check(it->params, &t->current, &t->goal, &t->diff, &t->check, &t->err);
    }
}

/*
 * After a cut apply the world is unknown: the current state is discovered
 * again (into t->out, result in rc_goal/err_goal) so the truth is stored.
 * This call has no cancel token: the cut is over, and discovery is meant to
 * be short.
 */
static void rediscover(struct item_task *t, struct item_rt *it)
{
    struct pc_item_ctx ctx = it->ctx;

    ctx.cancel = NULL;
    pc_state_clear(&t->out);
    pc_err_clear(&t->err_goal);
    t->rc_goal = it->type->state_current(&ctx, it->params, &t->out, &t->err_goal);
    if (t->rc_goal == 0 && t->out.data == NULL) {
        t->rc_goal = pc_err_set(&t->err_goal, PC_EITEM, "state_current returned no state");
    }
    if (t->rc_goal != 0 && t->err_goal.msg[0] == '\0') {
        (void)pc_err_set(&t->err_goal, t->rc_goal < 0 ? t->rc_goal : PC_EITEM, "failed (%s)",
                         pc_strerror(t->rc_goal < 0 ? t->rc_goal : PC_EITEM));
    }
}

static void task_run(struct pc_task *base)
{
    struct item_task *t =
        (struct item_task *)(void *)((char *)base - offsetof(struct item_task, base));
    struct pc_exec *e = t->e;
    struct item_rt *it = &e->items[t->item];
    const struct pc_item_type *ty = it->type;

    switch (t->kind) {
    case TASK_DISCOVER_CURRENT:
        t->rc = ty->state_current(&it->ctx, it->params, &t->current, &t->err);
        break;
    case TASK_DISCOVER_GOAL:
        t->rc = ty->state_goal(&it->ctx, it->params, &t->goal, &t->err);
        break;
    case TASK_DISCOVER_BOTH:
        t->rc = ty->state_current(&it->ctx, it->params, &t->current, &t->err);
        t->rc_goal = ty->state_goal(&it->ctx, it->params, &t->goal, &t->err_goal);
        break;
    case TASK_CLEAN_INSERTION:
        t->rc = ty->state_clean(it->params, &t->out, &t->err);
        break;
    case TASK_DIFF:
        t->rc = ty->state_diff(it->params, &t->current, &t->goal, &t->out, &t->err);
        break;
    case TASK_PREPARE_ENSURE:
        run_prepare_ensure(t, it);
        break;
    case TASK_PREPARE_CLEAN:
        run_prepare_clean(t, it);
        break;
    case TASK_APPLY:
        t->rc = ty->apply(&it->ctx, it->params, &t->current, &t->goal, &t->diff, &t->out, &t->err);
        break;
    case TASK_APPLY_DRY:
        t->rc =
            ty->apply_dry(&it->ctx, it->params, &t->current, &t->goal, &t->diff, &t->out, &t->err);
        break;
    default:
        t->rc = pc_err_set(&t->err, PC_EINTERNAL, "unknown task kind");
        break;
    }
    if (t->rc > 0) {
        /* Item code must return negative codes; never let a positive one pass as success. */
        t->rc = PC_EITEM;
    }
    if (t->rc != 0 && t->err.msg[0] == '\0') {
        (void)pc_err_set(&t->err, t->rc, "failed (%s)", pc_strerror(t->rc));
    }
    if (t->rc != 0 && pc_cancel_level(&it->cancel) != PC_MODE_FINISH) {
        t->cut = true;
        if (t->kind == TASK_APPLY) {
            rediscover(t, it);
        }
    }
}

static void task_done(struct pc_task *base);

static void task_reset(struct item_task *t, enum task_kind kind)
{
    t->kind = kind;
    t->rc = 0;
    t->rc_goal = 0;
    pc_err_clear(&t->err);
    pc_err_clear(&t->err_goal);
    t->check.exec_required = false;
    t->check.limit.kind = PC_LIMIT_UNKNOWN;
    t->check.limit.n = 0;
    t->skip = false;
    t->cut = false;
    t->base.run = task_run;
    t->base.done = task_done;
    t->base.next = NULL;
}

/* ------------------------------------------------------------------------ */
/* Store writes                                                              */

static void record_block_error(struct pc_exec *e, const char *text)
{
    if (!e->has_block_error) {
        size_t n = strnlen(text, sizeof(e->block_error) - 1);

        memcpy(e->block_error, text, n);
        e->block_error[n] = '\0';
        e->has_block_error = true;
    }
}

static void maybe_deliver(struct pc_exec *e);

static void write_done(void *arg, int rc, const struct pc_err *err)
{
    struct pc_exec *e = arg;

    e->pending_writes--;
    if (rc != 0) {
        char text[PC_ERR_MSG_MAX + 32];

        (void)snprintf(text, sizeof(text), "states write failed: %s",
                       err != NULL && err->msg[0] != '\0' ? err->msg : pc_strerror(rc));
        record_block_error(e, text);
        e->stop_all = true;
    }
    if (e->finishing) {
        maybe_deliver(e);
    }
}

static void store_write_item(struct pc_exec *e, enum pc_states_kind kind, size_t item,
                             const struct pc_state *s)
{
    struct pc_err err;
    int rc;

    pc_err_clear(&err);
    e->pending_writes++;
    rc = e->opts.store.ops->write_item(e->opts.store.ctx, kind, e->flow, item, s, write_done, e);
    if (rc != 0) {
        (void)pc_err_set(&err, rc, "%s", pc_strerror(rc));
        write_done(e, rc, &err);
    }
}

/* The item's type, params and deps as applied: what cleans it once it leaves
 * the flow. Stores without records skip it. */
static void store_write_record(struct pc_exec *e, size_t item)
{
    struct pc_err err;
    int rc;

    if (e->opts.store.ops->write_record == NULL) {
        return;
    }
    pc_err_clear(&err);
    e->pending_writes++;
    rc = e->opts.store.ops->write_record(e->opts.store.ctx, e->flow, item, write_done, e);
    if (rc != 0) {
        (void)pc_err_set(&err, rc, "%s", pc_strerror(rc));
        write_done(e, rc, &err);
    }
}

static void store_remove_item(struct pc_exec *e, size_t item)
{
    struct pc_err err;
    int rc;

    if (e->opts.store.ops->remove_item == NULL) {
        return;
    }
    pc_err_clear(&err);
    e->pending_writes++;
    rc = e->opts.store.ops->remove_item(e->opts.store.ctx, e->flow, item, write_done, e);
    if (rc != 0) {
        (void)pc_err_set(&err, rc, "%s", pc_strerror(rc));
        write_done(e, rc, &err);
    }
}

static void store_write_all(struct pc_exec *e, enum pc_states_kind kind, const struct pc_states *m)
{
    struct pc_err err;
    int rc;

    pc_err_clear(&err);
    e->pending_writes++;
    rc = e->opts.store.ops->write_all(e->opts.store.ctx, kind, e->flow, m, write_done, e);
    if (rc != 0) {
        (void)pc_err_set(&err, rc, "%s", pc_strerror(rc));
        write_done(e, rc, &err);
    }
}

/* ------------------------------------------------------------------------ */
/* Streaming blocks                                                          */

static enum pc_block_kind cur_block(const struct pc_exec *e)
{
    return e->blocks[e->block];
}

static bool is_apply(enum pc_block_kind b)
{
    return b == PC_BLOCK_APPLY_ENSURE || b == PC_BLOCK_APPLY_ENSURE_DRY ||
           b == PC_BLOCK_APPLY_CLEAN || b == PC_BLOCK_APPLY_CLEAN_DRY ||
           b == PC_BLOCK_CLEAN_OBSOLETE || b == PC_BLOCK_CLEAN_OBSOLETE_DRY;
}

static bool is_obsolete_block(enum pc_block_kind b)
{
    return b == PC_BLOCK_CLEAN_OBSOLETE || b == PC_BLOCK_CLEAN_OBSOLETE_DRY;
}

static bool is_obsolete(const struct pc_exec *e, size_t i)
{
    return i >= e->n_flow;
}

/* Which items a streaming block runs: obsolete items are discovered (their
 * current state, with their stored params), get their clean state, and are
 * cleaned in their own block; everything else is for the flow's items. */
static bool in_block(const struct pc_exec *e, enum pc_block_kind b, size_t i)
{
    switch (b) {
    case PC_BLOCK_CLEAN_OBSOLETE:
    case PC_BLOCK_CLEAN_OBSOLETE_DRY:
        return is_obsolete(e, i);
    case PC_BLOCK_DISCOVER:
    case PC_BLOCK_DISCOVER_CURRENT:
    case PC_BLOCK_CLEAN_INSERTION:
        return true;
    default:
        return !is_obsolete(e, i);
    }
}

static bool is_dry(enum pc_block_kind b)
{
    return b == PC_BLOCK_APPLY_ENSURE_DRY || b == PC_BLOCK_APPLY_CLEAN_DRY ||
           b == PC_BLOCK_CLEAN_OBSOLETE_DRY;
}

static bool is_ensure(enum pc_block_kind b)
{
    return b == PC_BLOCK_APPLY_ENSURE || b == PC_BLOCK_APPLY_ENSURE_DRY;
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

static size_t n_predecessors(const struct pc_exec *e, size_t i)
{
    return e->reverse ? e->items[i].n_succ : e->flow->items[i].n_deps;
}

static size_t max_concurrency(const struct pc_exec *e)
{
    size_t c = e->opts.concurrency_max;

    return c == 0 || c > PC_EXEC_CONCURRENCY_MAX ? PC_EXEC_CONCURRENCY_MAX : c;
}

static void stream_begin(struct pc_exec *e, size_t limit, bool reverse)
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
        task_done(&t->base);
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
    pc_report_rec_item_begin(&e->rec, i, now_ms(e));
    it->ctx.stored_current = stored_current(e, i);
    pc_cancel_reset(&it->cancel);
    if (is_apply(b)) {
        emit_kind(e, i, PC_UPDATE_QUEUED, PC_MSG_NO_CHANGE, NULL);
    }
    task_reset(t, b == PC_BLOCK_DISCOVER && is_obsolete(e, i) ? TASK_DISCOVER_CURRENT
                                                              : first_task_kind(b));
    prepare_task_inputs(e, t);
    if (t->rc != 0 || t->skip) {
        task_done(&t->base);
        return;
    }
    submit_task(e, t);
}

static bool stream_exhausted(const struct pc_exec *e)
{
    return e->n_running == 0 && (e->ready_len == 0 || e->stop_all);
}

static void stream_finish(struct pc_exec *e);

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
                e->slot_interrupted = poll_interrupt(e, true);
            }
            if (e->ready_len == 0) {
                break; /* the slot waits for an item to become ready */
            }
            if (!e->slot_interrupted) {
                /* Same instant as the counting poll when the item was already
                 * ready (nothing can arrive in between); otherwise the
                 * waiting poll of a slot woken by a newly ready item. */
                e->slot_interrupted = poll_interrupt(e, false);
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

    pc_report_rec_item_error(&e->rec, item, text);
    if (pc_outcome_add_error(&e->pending_errors, &e->flow->items[item].id, text) != 0) {
        record_block_error(e, "out of memory recording an item error");
        e->stop_all = true;
    }
}

static void finish_item_progress(struct pc_exec *e, size_t item, bool ok, const char *msg)
{
    flush_item(e, item);
    emit_kind(e, item, ok ? PC_UPDATE_SUCCESS : PC_UPDATE_FAIL, PC_MSG_SET, msg);
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
    flush_item(e, item);
    u.msg = m == PC_MODE_KILL ? "interrupted (kill)" : "interrupted (cancel)";
    u.msg_len = strlen(u.msg);
    emit(e, item, &u);
    /* A cut means the interrupt is in effect: where the strategy stops at
     * the first poll, stop now (nothing else would poll when this was the
     * last item running). */
    if (e->latch.strategy.kind == PC_STRATEGY_FINISH_CURRENT && poll_interrupt(e, false)) {
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
        flush_item(e, i);
        emit_kind(e, i, PC_UPDATE_TICK, PC_MSG_SET, "discovered");
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
            record_block_error(e, text);
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

    if (ok && !is_dry(b) && is_obsolete_block(b)) {
        /* Cleaned: its stored state goes now, and only now. */
        store_remove_item(e, i);
    } else if (ok && !is_dry(b)) {
        store_write_item(e, PC_STATES_CURRENT, i, &e->maps[PC_MAP_APPLIED].v[i]);
        if (is_ensure(b)) {
            store_write_item(e, PC_STATES_GOAL, i, &e->maps[PC_MAP_GOAL].v[i]);
        }
        store_write_record(e, i);
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
    pc_report_rec_item_apply(&e->rec, i, t->check.exec_required);
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
        emit(e, i, &u);
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
            store_write_item(e, PC_STATES_CURRENT, i, &e->maps[PC_MAP_APPLIED].v[i]);
        } else if (t->kind == TASK_APPLY) {
            struct pc_err err = t->err_goal;

            pc_err_prefix(&err, "interrupted, then re-discovering its current state failed");
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

static void task_done(struct pc_task *base)
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
    pc_report_rec_item_end(&e->rec, item, now_ms(e));
    running_remove(e, item);
    e->n_done++;
    if (ok && !e->stop_new_ready && !e->stop_all) {
        if (e->reverse) {
            for (size_t d = 0; d < fi->n_deps; d++) {
                if (--e->items[fi->deps[d]].waiting == 0) {
                    ready_push(e, fi->deps[d]);
                }
            }
        } else {
            for (size_t s = 0; s < it->n_succ; s++) {
                if (--e->items[it->succ[s]].waiting == 0) {
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
            store_write_all(e, PC_STATES_CURRENT, &e->maps[PC_MAP_CURRENT]);
        }
        if (save && (b == PC_BLOCK_DISCOVER || b == PC_BLOCK_DISCOVER_GOAL) &&
            (e->opts.cmd == PC_CMD_DISCOVER || e->opts.cmd == PC_CMD_DISCOVER_GOAL)) {
            store_write_all(e, PC_STATES_GOAL, &e->maps[PC_MAP_GOAL]);
        }
        if (b == PC_BLOCK_APPLY_ENSURE || b == PC_BLOCK_APPLY_CLEAN) {
            store_write_all(e, PC_STATES_CURRENT, &e->maps[PC_MAP_APPLIED]);
        }
        if (b == PC_BLOCK_APPLY_ENSURE) {
            store_write_all(e, PC_STATES_GOAL, &e->maps[PC_MAP_GOAL]);
        }
    }
    block_done(e, r);
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
        record_block_error(e, text);
        block_done(e, BLOCK_FAILED);
        return;
    }
    if (rc != 0) {
        (void)snprintf(text, sizeof(text), "reading stored %s states failed: %s",
                       cur_block(e) == PC_BLOCK_READ_CURRENT ? "current" : "goal",
                       err != NULL && err->msg[0] != '\0' ? err->msg : pc_strerror(rc));
        record_block_error(e, text);
        block_done(e, BLOCK_FAILED);
        return;
    }
    block_done(e, BLOCK_OK);
}

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
        it->ctx.ops = &slot_ops;
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
    rc = build_graph(e, err);
    for (size_t i = e->n_flow; rc == 0 && i < n; i++) {
        rc = parse_params(e, i, err);
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

static void run_read(struct pc_exec *e, enum pc_states_kind kind, enum pc_exec_map map);

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
        record_block_error(e, text);
        block_done(e, BLOCK_FAILED);
        return;
    }
    run_read(e, PC_STATES_CURRENT, PC_MAP_STORED_CURRENT);
}

/* read_current of a command that sees obsolete items first asks the store
 * which items it holds that the flow no longer has. */
static bool read_obsolete_first(struct pc_exec *e)
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

static void run_read(struct pc_exec *e, enum pc_states_kind kind, enum pc_exec_map map)
{
    struct pc_err err;
    int rc;

    if (kind == PC_STATES_CURRENT && read_obsolete_first(e)) {
        return;
    }

    pc_err_clear(&err);
    rc = e->opts.store.ops->read(e->opts.store.ctx, kind, e->flow, &e->maps[map], read_done, e);
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
        if (found == PC_MAP_GOAL && is_obsolete(e, i)) {
            continue; /* an obsolete item has no goal: it is going away */
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

static void run_sync_check(struct pc_exec *e, bool current, bool goal)
{
    struct pc_buf msg;
    bool *item_stale = calloc(e->n_items + 1, sizeof(bool));
    size_t stale = 0;
    const char *which = "current";

    if (item_stale == NULL) {
        record_block_error(e, "out of memory in the stored-vs-discovered check");
        block_done(e, BLOCK_FAILED);
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
            emit_kind(e, i, PC_UPDATE_FAIL, PC_MSG_SET, "stored state out of sync");
        } else {
            emit_kind(e, i, PC_UPDATE_TICK, PC_MSG_SET, "state in sync");
        }
    }
    if (stale > 0) {
        char text[PC_OUTCOME_ERROR_TEXT_MAX];

        (void)snprintf(text, sizeof(text),
                       "stored %s states are out of sync with the discovered ones: %s. Re-run "
                       "discover and check the diff before applying.",
                       which, pc_buf_str(&msg));
        record_block_error(e, text);
    }
    pc_buf_cleanup(&msg);
    free(item_stale);
    block_done(e, stale > 0 ? BLOCK_FAILED : BLOCK_OK);
}

/* ------------------------------------------------------------------------ */
/* Block loop and outcome                                                    */

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
            o->items_interrupted[o->n_items_interrupted++] = e->opts.flow->items[i].id;
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

static void maybe_deliver(struct pc_exec *e)
{
    if (e->finished || e->pending_writes > 0) {
        return;
    }
    e->finished = true;
    pc_report_rec_block_end(&e->rec, now_ms(e));
    build_outcome(e);
    e->outcome.finished_ms = now_ms(e);
    if (e->opts.observer != NULL && e->opts.observer->finished != NULL) {
        e->opts.observer->finished(e->opts.observer_ctx, &e->outcome);
    }
}

static void finish(struct pc_exec *e, enum block_result r, bool execution_interrupted)
{
    e->final_result = r;
    e->final_execution_interrupted = execution_interrupted;
    e->finishing = true;
    maybe_deliver(e);
}

static void block_done(struct pc_exec *e, enum block_result r)
{
    pc_report_rec_block_values(&e->rec, e->maps);
    pc_report_rec_block_end(&e->rec, now_ms(e));
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
            emit_kind(e, i, PC_UPDATE_RESET_TO_PENDING, PC_MSG_CLEAR, NULL);
        }
    }
    if (poll_interrupt(e, true)) {
        finish(e, BLOCK_OK, true);
        return;
    }
    if (e->opts.observer != NULL && e->opts.observer->block_start != NULL) {
        e->opts.observer->block_start(e->opts.observer_ctx, e->block, b);
    }
    pc_report_rec_block_begin(&e->rec, b, now_ms(e));
    switch (b) {
    case PC_BLOCK_READ_CURRENT:
        run_read(e, PC_STATES_CURRENT, PC_MAP_STORED_CURRENT);
        break;
    case PC_BLOCK_READ_GOAL:
        run_read(e, PC_STATES_GOAL, PC_MAP_STORED_GOAL);
        break;
    case PC_BLOCK_SYNC_CHECK:
        run_sync_check(e, true, true);
        break;
    case PC_BLOCK_SYNC_CHECK_CURRENT:
        run_sync_check(e, true, false);
        break;
    case PC_BLOCK_SYNC_CHECK_GOAL:
        run_sync_check(e, false, true);
        break;
    case PC_BLOCK_CLEAN_INSERTION:
    case PC_BLOCK_DIFF:
        /* Sequential folds over the graph in peace. */
        stream_begin(e, 1, false);
        break;
    case PC_BLOCK_APPLY_ENSURE:
    case PC_BLOCK_APPLY_ENSURE_DRY:
        for (size_t i = 0; i < e->n_items; i++) {
            if (pc_state_copy(&e->maps[PC_MAP_APPLIED].v[i], &e->maps[PC_MAP_CURRENT].v[i]) != 0) {
                record_block_error(e, "out of memory");
                block_done(e, BLOCK_FAILED);
                return;
            }
        }
        stream_begin(e, max_concurrency(e), false);
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
                record_block_error(e, "out of memory");
                block_done(e, BLOCK_FAILED);
                return;
            }
        }
        stream_begin(e, max_concurrency(e), true);
        break;
    default:
        stream_begin(e, max_concurrency(e), false);
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
    e->outcome.started_ms = now_ms(e);
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
