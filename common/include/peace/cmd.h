/*
 * cmd.h - commands and their fixed sequences of blocks (CONTRACT §2,
 * reference/peace-semantics.md §3.5).
 */
#ifndef PEACE_CMD_H
#define PEACE_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include "peace/err.h"

#define PC_BLOCKS_MAX 8

enum pc_cmd {
    PC_CMD_DISCOVER = 0,
    PC_CMD_DISCOVER_CURRENT,
    PC_CMD_DISCOVER_GOAL,
    PC_CMD_READ_CURRENT,
    PC_CMD_READ_GOAL,
    PC_CMD_DIFF,
    PC_CMD_ENSURE,
    PC_CMD_ENSURE_DRY,
    PC_CMD_CLEAN,
    PC_CMD_CLEAN_DRY,
};
#define PC_CMD_COUNT 10

/* apply_stored_state_sync */
enum pc_sync {
    PC_SYNC_BOTH = 0, /* default */
    PC_SYNC_NONE,
    PC_SYNC_CURRENT,
    PC_SYNC_GOAL,
};

enum pc_block_kind {
    PC_BLOCK_READ_CURRENT = 0, /* non-streaming: stored current states */
    PC_BLOCK_READ_GOAL,        /* non-streaming: stored goal states */
    PC_BLOCK_DISCOVER,         /* streaming: current and goal */
    PC_BLOCK_DISCOVER_CURRENT, /* streaming */
    PC_BLOCK_DISCOVER_GOAL,    /* streaming */
    PC_BLOCK_CLEAN_INSERTION,  /* streaming, sequential: state_clean */
    PC_BLOCK_DIFF,             /* streaming, sequential: state_diff; an error fails the block */
    PC_BLOCK_SYNC_CHECK,       /* non-streaming: stored-vs-discovered guard, current then goal */
    PC_BLOCK_SYNC_CHECK_CURRENT,
    PC_BLOCK_SYNC_CHECK_GOAL,
    PC_BLOCK_APPLY_ENSURE, /* streaming, forward */
    PC_BLOCK_APPLY_ENSURE_DRY,
    PC_BLOCK_APPLY_CLEAN, /* streaming, reverse dependency order */
    PC_BLOCK_APPLY_CLEAN_DRY,
    /* streaming, reverse dependency order: cleans obsolete items (stored,
     * no longer in the flow); appended to ensure / clean (and their dry
     * variants) when there are such items */
    PC_BLOCK_CLEAN_OBSOLETE,
    PC_BLOCK_CLEAN_OBSOLETE_DRY,
    /* streaming: replacement (the seeds' full EnsureCmd). clean_replaced
     * cleans, in reverse dependency order, the items as last applied (their
     * stored type and params) of the blocking items (their type says the
     * goal needs a replacement) and of everything that depends on them;
     * ensure_replaced then ensures those items again, in order. Inserted
     * after ensure's apply block (which then ensures only the other items)
     * when there are blocking items. */
    PC_BLOCK_CLEAN_REPLACED,
    PC_BLOCK_CLEAN_REPLACED_DRY,
    PC_BLOCK_ENSURE_REPLACED,
    PC_BLOCK_ENSURE_REPLACED_DRY,
};
#define PC_BLOCK_KIND_COUNT 20

const char *pc_cmd_name(enum pc_cmd c);
int pc_cmd_parse(const char *p, size_t n, enum pc_cmd *out, struct pc_err *err) PC_NODISCARD;

const char *pc_sync_name(enum pc_sync s);
int pc_sync_parse(const char *p, size_t n, enum pc_sync *out, struct pc_err *err) PC_NODISCARD;

const char *pc_block_name(enum pc_block_kind b);
int pc_block_parse(const char *p, size_t n, enum pc_block_kind *out);

/* Fills out with the command's blocks in order; returns their number. */
size_t pc_cmd_blocks(enum pc_cmd c, enum pc_sync sync, enum pc_block_kind out[PC_BLOCKS_MAX]);

/* diff's blocks: each side read stored (read_current / read_goal) or
 * discovered (discover_current / discover_goal), then diff. */
size_t pc_cmd_blocks_diff(bool current_discovered, bool goal_discovered,
                          enum pc_block_kind out[PC_BLOCKS_MAX]);

/* True for blocks that stream items (and so poll interrupts per item). */
bool pc_block_is_streaming(enum pc_block_kind b);

/* The block cleaning obsolete items that command c appends when it finds
 * some (ensure, clean and their dry variants); false for other commands. */
bool pc_cmd_obsolete_block(enum pc_cmd c, enum pc_block_kind *out);

/* The two replacement blocks command c inserts when it has blocking items
 * (ensure and ensure_dry); false for other commands. */
bool pc_cmd_replace_blocks(enum pc_cmd c, enum pc_block_kind *clean, enum pc_block_kind *ensure);

/* True for commands that look for obsolete items (those above and diff). */
bool pc_cmd_sees_obsolete(enum pc_cmd c);

/* True for commands that write a profile's states, and so run under the
 * profile lock: ensure, clean and the discover commands. */
bool pc_cmd_needs_profile_lock(enum pc_cmd c);

#endif /* PEACE_CMD_H */
