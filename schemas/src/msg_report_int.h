/*
 * msg_report_int.h - what msg_report.c (the report's top level) shares with
 * msg_report_v2.c (version 2's blocks) and msg_report_v3.c (version 3's
 * compact times and blocks).
 * Internal to peace_schemas.
 */
#ifndef PEACE_MSG_REPORT_INT_H
#define PEACE_MSG_REPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg_internal.h"
#include "peace/outcome.h"

/* The decoder's working state (msg_report.c owns its life). */
struct rep_dec {
    struct msg__rd r;
    struct pc_outcome o;
    enum pc_block_kind done[PC_BLOCKS_MAX];
    size_t n_done;
    bool done_given; /* "blocks_processed" was present */
    enum pc_block_kind not_done[PC_BLOCKS_MAX];
    size_t n_not_done;
    uint64_t version;
    struct pc_err *err;
};

/* One state value (nil: set, no state) into rv; path names it in errors. */
int msg__rep_read_value(struct rep_dec *d, struct pc_rvalue *rv, const char *path);

/* An entry's stale mark ("current" or "goal") into out; path names it. */
int msg__rep_read_stale(struct rep_dec *d, enum pc_stale_mark *out, const char *path);

/* One {"size", "sha256"} digest into rv. */
int msg__rep_read_digest(struct rep_dec *d, struct pc_rvalue *rv, const char *path);

/* Writes the truncated values of it as a map name -> {"size", "sha256"}. */
void msg__rep_write_truncated(struct msg__wr *w, const struct pc_report_item *it);

/* Version 2: one block (a map) of "blocks"; the value of "blocks" into d->o. */
void msg__rep2_write_block(struct msg__wr *w, const struct pc_report_block *b);
/* Reads one block (index bi) of the value of "blocks" into b. */
int msg__rep2_read_block(struct rep_dec *d, struct pc_report_block *b, size_t bi);

/* Version 3: true when o has a time to write ("times"). */
bool msg__rep3_has_times(const struct pc_outcome *o);

/* Version 3: "blocks_processed" can be left out (it names the blocks run). */
bool msg__rep3_processed_is_run(const struct pc_outcome *o);

/* Version 3: the values of "times" and "blocks" (keys written by the caller). */
void msg__rep3_write_times(struct msg__wr *w, const struct pc_outcome *o);
void msg__rep3_write_blocks(struct msg__wr *w, const struct pc_outcome *o);

/* Version 3: checks the times fit the relative encoding. */
int msg__rep3_check_times(const struct pc_outcome *o, struct pc_err *err);

/* Version 3: reads the value of "times" / "blocks" into d->o. "blocks" is
 * relative to o.started_ms, so "times" must come first when both are given:
 * the decoder keeps block times relative and resolves them at the end. */
int msg__rep3_read_times(struct rep_dec *d);
int msg__rep3_read_block(struct rep_dec *d, struct pc_report_block *b, size_t bi);

/* Version 3: makes the relative block and item times read absolute (from
 * o.started_ms); PC_ESCHEMA when one falls outside 0..INT64_MAX. */
int msg__rep3_resolve(struct rep_dec *d);

#endif /* PEACE_MSG_REPORT_INT_H */
