/*
 * report_rec.h - records a report's per-block values and timings while the
 * engine runs (the engine calls these at block and item boundaries).
 *
 * The recorder writes into a struct pc_outcome it borrows (o->run). Item
 * entries are made as items start (or, for read blocks, for every item) and
 * put in flow order when the block ends. Recording never fails the
 * execution: an allocation failure drops the entry and sets o->partial.
 * All calls on the engine's loop thread.
 */
#ifndef PEACE_REPORT_REC_H
#define PEACE_REPORT_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peace/cmd.h"
#include "peace/err.h"
#include "peace/flow.h"
#include "peace/outcome.h"
#include "peace/state.h"

struct pc_report_rec {
    struct pc_outcome *o;       /* borrowed: receives o->run */
    const struct pc_flow *flow; /* borrowed */
    size_t *slot;               /* owned; per flow item: 1 + its entry in the open block, 0 none */
    size_t cap;                 /* entries allocated in the open block */
    size_t budget;              /* bytes of states kept so far (PC_REPORT_VALUES_BUDGET) */
    bool open;                  /* a block is open */
};

/* Initialises r for flow, writing into o. Returns 0 or PC_ENOMEM. */
int pc_report_rec_init(struct pc_report_rec *r, struct pc_outcome *o,
                       const struct pc_flow *flow) PC_NODISCARD;

/* Frees what r owns (not o's blocks). Accepts a zeroed struct. */
void pc_report_rec_cleanup(struct pc_report_rec *r);

/* A block starts at now_ms (Unix ms). A still open block is closed first. */
void pc_report_rec_block_begin(struct pc_report_rec *r, enum pc_block_kind kind, uint64_t now_ms);

/* Item `item` (flow index) starts / ends its work in the open block. */
void pc_report_rec_item_begin(struct pc_report_rec *r, size_t item, uint64_t now_ms);
void pc_report_rec_item_end(struct pc_report_rec *r, size_t item, uint64_t now_ms);

/* The item's error in the open block (text copied, bounded). */
void pc_report_rec_item_error(struct pc_report_rec *r, size_t item, const char *text);

/* apply_check's answer for the item: changed (apply asked) or already in the goal. */
void pc_report_rec_item_apply(struct pc_report_rec *r, size_t item, bool changed);

/* The sync check found the item's stored state stale. */
void pc_report_rec_item_stale(struct pc_report_rec *r, size_t item, enum pc_stale_mark which);

/* The item's value v is s (copied under the report's bounds). */
void pc_report_rec_item_value(struct pc_report_rec *r, size_t item, enum pc_rv v,
                              const struct pc_state *s);

/*
 * Records the open block's value from the engine's state maps (maps has
 * PC_EXEC_MAP_COUNT entries indexed by enum pc_exec_map, exec.h): read
 * blocks give every item's stored state; discover, clean states, diff and
 * apply blocks give the value of each item that ran in the block.
 */
void pc_report_rec_block_values(struct pc_report_rec *r, const struct pc_states *maps);

/* The open block ends at now_ms: its entries are put in flow order. */
void pc_report_rec_block_end(struct pc_report_rec *r, uint64_t now_ms);

#endif /* PEACE_REPORT_REC_H */
