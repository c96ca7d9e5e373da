/*
 * exec.h - the execution engine: one run of one command over one flow.
 *
 * The engine is an event-driven state machine owned by one loop thread. It
 * runs the command's blocks in order, streams items through a ready queue
 * (forward for discover/ensure, reverse for clean, at most
 * PC_EXEC_CONCURRENCY_MAX items at once), hands every item function to the
 * executor, polls the interrupt latch exactly where peace does (before every
 * block, before each item is started in streaming blocks), keeps one progress
 * tracker per item, writes states through the store and reports everything
 * to an observer. reference/peace-semantics.md is the specification. The
 * outcome carries the report (outcome.h): every block's times and value,
 * recorded at block and item boundaries (report_rec.h).
 *
 * All functions must be called on the loop thread.
 */
#ifndef PEACE_EXEC_H
#define PEACE_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peace/cmd.h"
#include "peace/err.h"
#include "peace/executor.h"
#include "peace/flow.h"
#include "peace/interrupt.h"
#include "peace/item.h"
#include "peace/outcome.h"
#include "peace/progress.h"
#include "peace/store.h"

#define PC_EXEC_CONCURRENCY_MAX 64

struct pc_exec;

/* Observer callbacks, all on the loop thread. Every member may be NULL. */
struct pc_exec_observer_ops {
    /* Block `index` of the command starts. */
    void (*block_start)(void *ctx, size_t index, enum pc_block_kind kind);
    /* Item `item`'s tracker changed by update u (t is the state after it). */
    void (*progress)(void *ctx, size_t item, const struct pc_progress_tracker *t,
                     const struct pc_progress_update *u);
    /* The interrupt took effect (first poll that reported interrupted). */
    void (*interrupted)(void *ctx);
    /* The execution finished; o is borrowed for the call (pc_exec_outcome
     * returns it afterwards too). Do not destroy the exec from here. */
    void (*finished)(void *ctx, const struct pc_outcome *o);
};

struct pc_exec_opts {
    enum pc_cmd cmd;
    enum pc_sync sync;
    struct pc_strategy strategy;
    const struct pc_flow *flow;         /* borrowed for the exec's life */
    const struct pc_registry *registry; /* borrowed for the exec's life */
    struct pc_store store;
    struct pc_executor executor;
    const struct pc_exec_observer_ops *observer; /* may be NULL */
    void *observer_ctx;
    size_t concurrency_max; /* 0 = PC_EXEC_CONCURRENCY_MAX */
    /*
     * Optional, flow->n_items entries: items whose stored-vs-discovered
     * mismatch is tolerated (an execution taken over after a crash tolerates
     * the item its previous attempt had in flight). Borrowed.
     */
    const bool *sync_tolerate;
    /* Optional: the file root handed to every item (pc_item_ctx.file_root);
     * borrowed for the exec's life. */
    const char *file_root;
    /* Clock of the report's times (Unix ms); NULL = CLOCK_REALTIME. */
    uint64_t (*now_ms)(void *ctx);
    void *clock_ctx;
    uint64_t created_ms; /* the execution's creation (job), 0 = its start */
    /*
     * Obsolete items (stored, no longer in the flow: read_current of ensure,
     * clean, their dry variants and diff asks the store) are cleaned in a
     * last block `clean_obsolete` (dry: `clean_obsolete_dry`) appended to
     * ensure and clean; with keep_obsolete they are only listed
     * (pc_outcome.items_obsolete, obsolete_kept). An id still in the flow
     * whose stored record has another type is obsolete too (its old
     * incarnation is cleaned; the new one keeps the id's stored entries).
     *
     * Replacement (ensure, ensure_dry): a flow item whose type answers
     * needs_replacement(record params, flow params) blocks; it and every item
     * depending on it are replaced (pc_outcome.items_replaced): ensure's apply
     * block ensures the others, then clean_replaced cleans them as last
     * applied (their records' type and params) in reverse dependency order,
     * and ensure_replaced ensures them again in order (dry: the _dry blocks).
     * Their stored entries are the new items' (the stored-vs-discovered check
     * compares the flow items); a cleaned old incarnation stores its cleaned
     * state as its id's current state until ensure_replaced writes the new.
     */
    bool keep_obsolete;
    /* diff: take current / goal from discovery in this execution instead of
     * the stored states (blocks discover_current / discover_goal instead of
     * read_current / read_goal); discovered states are never saved. */
    bool diff_current_discovered;
    bool diff_goal_discovered;
    /* discover, discover_current, discover_goal: discover without saving. */
    bool no_save;
    /*
     * Optional: whether this engine may run a stored item, known only once
     * the store was read: an obsolete item it would clean, a replaced item
     * as last applied (a worker's --item-types and --file-root). Returns 0,
     * or non-zero with a one-line reason in reason (NUL-terminated): the
     * read_current block then fails naming the item, and nothing runs.
     */
    int (*stored_item_check)(void *ctx, const struct pc_flow_item *fi, char *reason,
                             size_t reason_size);
    void *stored_item_check_ctx;
};

/*
 * Returns owned: an execution ready to start. Checks item types and parses
 * every item's params; a failure (unknown type, bad params) is PC_EINVAL with
 * the item named in err, and nothing is created.
 */
int pc_exec_create(const struct pc_exec_opts *opts, struct pc_exec **out,
                   struct pc_err *err) PC_NODISCARD;

/* Starts running. The observer's finished callback runs exactly once afterwards
 * (possibly before this returns, when nothing needs the executor). */
void pc_exec_start(struct pc_exec *e);

/* An interrupt signal arrives: observed at the next poll (latched). Any time,
 * any number of times, also before start and after the end (no effect then). */
void pc_exec_signal_interrupt(struct pc_exec *e);

/* Delivers item-reported progress accumulated since the last flush to the
 * observer (the host calls this on a timer; framework updates flush first). */
void pc_exec_progress_flush(struct pc_exec *e);

/*
 * An interrupt in a mode (interrupt.h). finish is pc_exec_signal_interrupt.
 * cancel also raises the cancel token of every item running now (items
 * started later under poll_next_n get a fresh one); kill raises them to kill
 * and stops the execution at the next poll whatever the strategy. The
 * strategy `ignore` ignores finish and cancel (pc_interrupt_honoured). A
 * higher mode may follow a lower one (escalation). An item that fails after
 * its token was raised is cut: `interrupted`, listed in the outcome's
 * items_interrupted, its block ends interrupted, and after a cut apply its
 * current state is discovered again and stored.
 */
void pc_exec_interrupt(struct pc_exec *e, enum pc_interrupt_mode mode);

/* Items in flight now (0 once finished). */
size_t pc_exec_running(const struct pc_exec *e);

bool pc_exec_finished(const struct pc_exec *e);

/* The outcome once finished, else NULL. Borrowed while e lives. */
const struct pc_outcome *pc_exec_outcome(const struct pc_exec *e);

/* Tracker of an item (borrowed while e lives). */
const struct pc_progress_tracker *pc_exec_tracker(const struct pc_exec *e, size_t item);

/* The state maps an execution builds, for callers that show them (read and
 * diff commands print them). Borrowed while e lives; valid once finished. */
enum pc_exec_map {
    PC_MAP_STORED_CURRENT = 0, /* read_current */
    PC_MAP_STORED_GOAL,        /* read_goal */
    PC_MAP_CURRENT,            /* discovered current */
    PC_MAP_GOAL,               /* discovered (or re-resolved) goal */
    PC_MAP_CLEAN,              /* clean_insertion */
    PC_MAP_DIFF,               /* diff block: item diffs */
    PC_MAP_APPLIED,            /* apply: ensured / cleaned (dry: would-be) states */
};
#define PC_EXEC_MAP_COUNT 7
const struct pc_states *pc_exec_map(const struct pc_exec *e, enum pc_exec_map which);

/*
 * The flow the execution runs: opts.flow, followed by the old incarnations
 * it cleans, obsolete or replaced (indices from opts.flow->n_items on; the
 * observer's progress callback reports them with those indices; a replaced
 * item's has its flow item's id). Borrowed while e lives.
 */
const struct pc_flow *pc_exec_flow(const struct pc_exec *e);

/* Index of the block running now (or last run). */
size_t pc_exec_block_index(const struct pc_exec *e);

/* Frees e. Only before start or after finish; never inside an observer callback. */
void pc_exec_destroy(struct pc_exec *e);

#endif /* PEACE_EXEC_H */
