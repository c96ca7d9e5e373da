/*
 * exec_internal.h - what the engine's own files (exec*.c) share: the
 * execution's structure and the functions one file calls in another.
 * Everything here runs on the loop thread unless said otherwise.
 */
#ifndef PEACE_EXEC_INTERNAL_H
#define PEACE_EXEC_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peace/exec.h"
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

enum item_role {
    ROLE_FLOW = 0, /* an item of the flow */
    ROLE_OBSOLETE, /* stored, no longer in the flow (or now of another type) */
    ROLE_REPLACED, /* a replaced item as last applied (its stored record) */
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
    /* Flow items: replaced (blocking, or depends on a blocking item): ensured
     * in ensure_replaced, not in ensure's apply block. */
    bool replace;
    /* Items past the flow (from the store): an old incarnation. */
    enum item_role role;
    /* An old incarnation whose id is also in the flow (replaced, or of
     * another type now): that flow item's index, else SIZE_MAX. Its stored
     * state is the flow item's (one id, one entry), read into both slots and
     * written through the flow item's index. */
    size_t twin;
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
    /* The flow the store reads and writes whole maps of: the items
     * [0, n_write), i.e. every item but the twins (items past it, whose ids
     * are the flow's); a view of flow (owns nothing). */
    struct pc_flow wflow;
    struct pc_states read_view;    /* the map being read, cut to wflow (owns nothing) */
    struct pc_states write_view;   /* the map being written whole, cut to wflow (owns nothing) */
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

/* Block and item predicates. */

static inline enum pc_block_kind cur_block(const struct pc_exec *e)
{
    return e->blocks[e->block];
}

static inline bool is_replaced_block(enum pc_block_kind b)
{
    return b == PC_BLOCK_CLEAN_REPLACED || b == PC_BLOCK_CLEAN_REPLACED_DRY ||
           b == PC_BLOCK_ENSURE_REPLACED || b == PC_BLOCK_ENSURE_REPLACED_DRY;
}

static inline bool is_apply(enum pc_block_kind b)
{
    return b == PC_BLOCK_APPLY_ENSURE || b == PC_BLOCK_APPLY_ENSURE_DRY ||
           b == PC_BLOCK_APPLY_CLEAN || b == PC_BLOCK_APPLY_CLEAN_DRY ||
           b == PC_BLOCK_CLEAN_OBSOLETE || b == PC_BLOCK_CLEAN_OBSOLETE_DRY || is_replaced_block(b);
}

static inline bool is_obsolete_block(enum pc_block_kind b)
{
    return b == PC_BLOCK_CLEAN_OBSOLETE || b == PC_BLOCK_CLEAN_OBSOLETE_DRY;
}

/* An item from the store (obsolete, or a replaced item as last applied). */
static inline bool is_old(const struct pc_exec *e, size_t i)
{
    return i >= e->n_flow;
}

static inline bool is_obsolete(const struct pc_exec *e, size_t i)
{
    return i >= e->n_flow && e->items[i].role == ROLE_OBSOLETE;
}

static inline bool is_twin(const struct pc_exec *e, size_t i)
{
    return i >= e->n_flow && e->items[i].twin != SIZE_MAX;
}

/* The index the store and the report know item i by (its id's flow item). */
static inline size_t id_index(const struct pc_exec *e, size_t i)
{
    return is_twin(e, i) ? e->items[i].twin : i;
}

static inline bool is_dry(enum pc_block_kind b)
{
    return b == PC_BLOCK_APPLY_ENSURE_DRY || b == PC_BLOCK_APPLY_CLEAN_DRY ||
           b == PC_BLOCK_CLEAN_OBSOLETE_DRY || b == PC_BLOCK_CLEAN_REPLACED_DRY ||
           b == PC_BLOCK_ENSURE_REPLACED_DRY;
}

static inline bool is_ensure(enum pc_block_kind b)
{
    return b == PC_BLOCK_APPLY_ENSURE || b == PC_BLOCK_APPLY_ENSURE_DRY ||
           b == PC_BLOCK_ENSURE_REPLACED || b == PC_BLOCK_ENSURE_REPLACED_DRY;
}

/* exec.c: creation, the block loop, the outcome */
int pc_exec__build_graph(struct pc_exec *e, struct pc_err *err);
int pc_exec__parse_params(struct pc_exec *e, size_t i, struct pc_err *err);
void pc_exec__maybe_deliver(struct pc_exec *e);
void pc_exec__block_done(struct pc_exec *e, enum block_result r);

/* exec_progress.c: the report clock, progress, interrupt polls */
uint64_t pc_exec__now_ms(const struct pc_exec *e);
void pc_exec__emit(struct pc_exec *e, size_t item, const struct pc_progress_update *u);
void pc_exec__emit_kind(struct pc_exec *e, size_t item, enum pc_progress_update_kind kind,
                        enum pc_msg_update mu, const char *msg);
void pc_exec__flush_item(struct pc_exec *e, size_t item);
void pc_exec__running_remove(struct pc_exec *e, size_t item);
bool pc_exec__poll_interrupt(struct pc_exec *e, bool counting);
extern const struct pc_item_progress_ops pc_exec__slot_ops;

/* exec_task.c: item tasks (run on executor threads) */
const struct pc_state *pc_exec__stored_current(struct pc_exec *e, size_t i);
void pc_exec__task_reset(struct item_task *t, enum task_kind kind);

/* exec_states.c: states writes and reads, the stored-vs-discovered check */
void pc_exec__record_block_error(struct pc_exec *e, const char *text);
void pc_exec__store_write_item(struct pc_exec *e, enum pc_states_kind kind, size_t item,
                               const struct pc_state *s);
void pc_exec__store_write_record(struct pc_exec *e, size_t item);
void pc_exec__store_remove_item(struct pc_exec *e, size_t item);
void pc_exec__store_write_all(struct pc_exec *e, enum pc_states_kind kind,
                              const struct pc_states *m);
void pc_exec__run_read(struct pc_exec *e, enum pc_states_kind kind, enum pc_exec_map map);
void pc_exec__run_sync_check(struct pc_exec *e, bool current, bool goal);

/* exec_stream.c: streaming blocks */
size_t pc_exec__max_concurrency(const struct pc_exec *e);
void pc_exec__stream_begin(struct pc_exec *e, size_t limit, bool reverse);
void pc_exec__task_done(struct pc_task *base);

/* exec_obsolete.c: obsolete items */
bool pc_exec__read_obsolete_first(struct pc_exec *e);

#endif /* PEACE_EXEC_INTERNAL_H */
