/*
 * outcome.h - the outcome of a finished execution (CONTRACT §2).
 *
 * Every outcome but `rejected` lists blocks processed / not processed;
 * `block_interrupted` and `item_error` also list item ids processed (start
 * order) / not processed (flow order); `item_error` lists each failing item
 * with its error text; `block_error` and `rejected` carry `error`.
 */
#ifndef PEACE_OUTCOME_H
#define PEACE_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>

#include "peace/buf.h"
#include "peace/cmd.h"
#include "peace/err.h"
#include "peace/ident.h"

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

struct pc_outcome {
    enum pc_outcome_kind kind;
    enum pc_block_kind blocks[PC_BLOCKS_MAX]; /* the command's blocks */
    size_t n_blocks;
    size_t n_blocks_processed;     /* processed = blocks[0..n), not processed = the rest */
    struct pc_id *items_processed; /* owned; start order */
    size_t n_items_processed;
    struct pc_id *items_not_processed; /* owned; flow order */
    size_t n_items_not_processed;
    struct pc_item_error *errors; /* owned; arrival order */
    size_t n_errors;
    char *error; /* owned; block_error / rejected reason, else NULL */
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

/* Appends the human-readable report (several lines) to out. */
int pc_outcome_format_text(const struct pc_outcome *o, struct pc_buf *out) PC_NODISCARD;

/*
 * Appends the report as one JSON object to out:
 * {"outcome","blocks_processed":[..],"blocks_not_processed":[..],
 *  "items_processed":[..],"items_not_processed":[..],
 *  "errors":[{"item","error"}],"error"}
 * (keys that do not apply to the outcome are omitted).
 */
int pc_outcome_format_json(const struct pc_outcome *o, struct pc_buf *out) PC_NODISCARD;

#endif /* PEACE_OUTCOME_H */
