/*
 * outcome.h - the outcome of a finished execution (CONTRACT §2).
 *
 * Every outcome but `rejected` lists blocks processed / not processed;
 * `block_interrupted` and `item_error` also list item ids processed (start
 * order) / not processed (flow order); `item_error` lists each failing item
 * with its error text; `block_error` and `rejected` carry `error`.
 *
 * The report (version 2, schemas/README.md) adds the execution's times and,
 * per block run, its start, duration and outcome value: one entry per item
 * in flow order with the states read or discovered, the diff, the stale
 * stored state of the sync check, and for apply blocks whether the item
 * changed, its resulting (dry: would-be) state, its time and its error.
 * Values are bounded: a state over PC_REPORT_VALUE_MAX bytes, or any state
 * once the report holds PC_REPORT_VALUES_BUDGET bytes of states, is replaced
 * by its size and sha256 and marked truncated.
 */
#ifndef PEACE_OUTCOME_H
#define PEACE_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>

#include "peace/buf.h"
#include "peace/cmd.h"
#include "peace/err.h"
#include "peace/ident.h"
#include "peace/sha256.h"
#include "peace/state.h"

enum pc_outcome_kind {
    PC_OUTCOME_COMPLETE = 0,
    PC_OUTCOME_BLOCK_INTERRUPTED,
    PC_OUTCOME_EXECUTION_INTERRUPTED,
    PC_OUTCOME_ITEM_ERROR,
    PC_OUTCOME_BLOCK_ERROR,
    PC_OUTCOME_REJECTED,
};

const char *pc_outcome_kind_name(enum pc_outcome_kind k);
int pc_outcome_kind_parse(const char *p, size_t n, enum pc_outcome_kind *out);

/* CONTRACT §7: 0 complete, 2 either interrupted outcome, 1 otherwise. */
int pc_outcome_exit_status(enum pc_outcome_kind k);

#define PC_OUTCOME_ERROR_TEXT_MAX 4096

struct pc_item_error {
    struct pc_id item;
    char *text; /* owned */
};

/* Bounds of the values a report carries (see above). */
#define PC_REPORT_VALUE_MAX     (4u << 10)
#define PC_REPORT_VALUES_BUDGET (4u << 20)

/* The named values of a report item entry. */
enum pc_rv {
    PC_RV_CURRENT = 0, /* read / discover: current state */
    PC_RV_GOAL,        /* read / discover: goal state */
    PC_RV_DIFF,        /* diff: the item's state diff */
    PC_RV_CLEAN,       /* clean states: the state clean leads to */
    PC_RV_STATE,       /* apply: the state now in effect (dry: would-be) */
};
#define PC_RV_COUNT 5

/* Contract name of a value ("current", ...), or NULL. */
const char *pc_rv_name(enum pc_rv v);

/* A state in a report: the value itself, or its size and digest. */
struct pc_rvalue {
    bool set;              /* the entry has this value */
    bool truncated;        /* state absent; size and sha256 describe it */
    struct pc_state state; /* owned; absent = JSON null (no state) */
    uint64_t size;
    char sha256[PC_SHA256_HEX_LEN + 1];
};

enum pc_apply_mark {
    PC_APPLY_NONE = 0,  /* no apply_check result (not an apply block, or it failed) */
    PC_APPLY_CHANGED,   /* apply_check asked for an apply (dry: would apply) */
    PC_APPLY_UNCHANGED, /* already in the goal state */
};

enum pc_stale_mark {
    PC_STALE_NONE = 0,
    PC_STALE_CURRENT, /* sync check: stored current differs from the discovered one */
    PC_STALE_GOAL,
};

/* One item's entry in a block. */
struct pc_report_item {
    struct pc_id item;
    bool timed; /* start_ms / duration_ms are meaningful (the item ran in this block) */
    uint64_t start_ms;
    uint64_t duration_ms;
    enum pc_apply_mark apply;
    enum pc_stale_mark stale;
    struct pc_rvalue values[PC_RV_COUNT];
    char *error; /* owned; the item's error in this block, or NULL */
};

/* One block run (processed, or cut short by an interrupt or an error). */
struct pc_report_block {
    enum pc_block_kind kind;
    uint64_t start_ms;
    uint64_t duration_ms;
    struct pc_report_item *items; /* owned; flow order */
    size_t n_items;
};

struct pc_outcome {
    enum pc_outcome_kind kind;
    enum pc_block_kind blocks[PC_BLOCKS_MAX]; /* the command's blocks */
    size_t n_blocks;
    size_t n_blocks_processed;     /* processed = blocks[0..n), not processed = the rest */
    struct pc_id *items_processed; /* owned; start order */
    size_t n_items_processed;
    struct pc_id *items_not_processed; /* owned; flow order */
    size_t n_items_not_processed;
    /* owned; flow order: items cut short by a cancel or kill (also listed
     * as processed); listed with items_processed, only when non-empty */
    struct pc_id *items_interrupted;
    size_t n_items_interrupted;
    struct pc_item_error *errors; /* owned; arrival order */
    size_t n_errors;
    char *error; /* owned; block_error / rejected reason, else NULL */

    /* Report v2; all zero / empty in a v1 report. Times are Unix ms, 0 = unknown. */
    uint64_t created_ms;
    uint64_t started_ms;
    uint64_t finished_ms;
    uint64_t interrupted_ms;     /* the interrupt took effect */
    struct pc_report_block *run; /* owned; the blocks run, in order */
    size_t n_run;
    bool partial; /* a value could not be recorded (out of memory): entries are missing */
    /* Obsolete items (stored, no longer in the flow): those the execution
     * cleans (or, dry / diff, would clean; with keep_obsolete, leaves), in
     * stored order, and those it cannot manage (no stored type and params,
     * or an unknown type), which stay stored. */
    struct pc_id *items_obsolete; /* owned */
    size_t n_items_obsolete;
    struct pc_id *items_obsolete_unmanaged; /* owned */
    size_t n_items_obsolete_unmanaged;
    bool obsolete_kept; /* keep_obsolete: items_obsolete were left alone */
    /* Replaced items (ensure: a blocking item and its dependents, cleaned as
     * last applied in clean_replaced, ensured again in ensure_replaced;
     * ensure_dry and diff: would be), flow order. */
    struct pc_id *items_replaced; /* owned */
    size_t n_items_replaced;
};

/* Zeroes o (kind complete, nothing listed). */
void pc_outcome_init(struct pc_outcome *o);

/* Frees everything o owns and re-initialises it. */
void pc_outcome_cleanup(struct pc_outcome *o);

/* Deep copy into uninitialised dst. */
int pc_outcome_copy(struct pc_outcome *dst, const struct pc_outcome *src) PC_NODISCARD;

/* Appends an item error (text copied, truncated to PC_OUTCOME_ERROR_TEXT_MAX). */
int pc_outcome_add_error(struct pc_outcome *o, const struct pc_id *item,
                         const char *text) PC_NODISCARD;

/* Sets o->error (copied, truncated). */
int pc_outcome_set_error(struct pc_outcome *o, const char *text) PC_NODISCARD;

/* Frees what b owns (not b itself). */
void pc_report_block_cleanup(struct pc_report_block *b);

/* Frees what it owns and zeroes it. */
void pc_report_item_cleanup(struct pc_report_item *it);

/*
 * Sets v from state s (absent: null), applying the bounds: a state over
 * PC_REPORT_VALUE_MAX bytes, or any once *budget (bytes of states kept so
 * far; NULL = no budget) would pass PC_REPORT_VALUES_BUDGET, is replaced by
 * its size and sha256. Returns 0 or PC_ENOMEM (v unchanged).
 */
int pc_rvalue_set(struct pc_rvalue *v, const struct pc_state *s, size_t *budget) PC_NODISCARD;

/* Appends the human-readable report (several lines) to out. */
int pc_outcome_format_text(const struct pc_outcome *o, struct pc_buf *out) PC_NODISCARD;

/*
 * Appends the report as one JSON object to out:
 * {"outcome","blocks_processed":[..],"blocks_not_processed":[..],
 *  "items_processed":[..],"items_not_processed":[..],"items_interrupted":[..],
 *  "errors":[{"item","error"}],"error",
 *  "created_ms","started_ms","finished_ms","interrupted_ms","partial",
 *  "blocks":[{"block","start_ms","duration_ms","items":[{"item","start_ms",
 *   "duration_ms","changed","stale","current","goal","diff","clean","state",
 *   "error"}]}]}
 * (keys that do not apply are omitted; a truncated value is
 * {"truncated":true,"size":N,"sha256":"..."}). schemas/README.md has it all.
 */
int pc_outcome_format_json(const struct pc_outcome *o, struct pc_buf *out) PC_NODISCARD;

#endif /* PEACE_OUTCOME_H */
