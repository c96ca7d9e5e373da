/*
 * cmd.c - command names and each command's block sequence
 * (CONTRACT §2 table; reference/peace-semantics.md §3.5).
 */
#include "peace/cmd.h"

#include <string.h>

static const char *const cmd_names[PC_CMD_COUNT] = {
    [PC_CMD_DISCOVER] = "discover",
    [PC_CMD_DISCOVER_CURRENT] = "discover_current",
    [PC_CMD_DISCOVER_GOAL] = "discover_goal",
    [PC_CMD_READ_CURRENT] = "read_current",
    [PC_CMD_READ_GOAL] = "read_goal",
    [PC_CMD_DIFF] = "diff",
    [PC_CMD_ENSURE] = "ensure",
    [PC_CMD_ENSURE_DRY] = "ensure_dry",
    [PC_CMD_CLEAN] = "clean",
    [PC_CMD_CLEAN_DRY] = "clean_dry",
};

static const char *const sync_names[] = {
    [PC_SYNC_BOTH] = "both",
    [PC_SYNC_NONE] = "none",
    [PC_SYNC_CURRENT] = "current",
    [PC_SYNC_GOAL] = "goal",
};

static const char *const block_names[PC_BLOCK_KIND_COUNT] = {
    [PC_BLOCK_READ_CURRENT] = "read_current",
    [PC_BLOCK_READ_GOAL] = "read_goal",
    [PC_BLOCK_DISCOVER] = "discover",
    [PC_BLOCK_DISCOVER_CURRENT] = "discover_current",
    [PC_BLOCK_DISCOVER_GOAL] = "discover_goal",
    [PC_BLOCK_CLEAN_INSERTION] = "clean_insertion",
    [PC_BLOCK_DIFF] = "diff",
    [PC_BLOCK_SYNC_CHECK] = "sync_check",
    [PC_BLOCK_SYNC_CHECK_CURRENT] = "sync_check_current",
    [PC_BLOCK_SYNC_CHECK_GOAL] = "sync_check_goal",
    [PC_BLOCK_APPLY_ENSURE] = "apply_ensure",
    [PC_BLOCK_APPLY_ENSURE_DRY] = "apply_ensure_dry",
    [PC_BLOCK_APPLY_CLEAN] = "apply_clean",
    [PC_BLOCK_APPLY_CLEAN_DRY] = "apply_clean_dry",
    [PC_BLOCK_CLEAN_OBSOLETE] = "clean_obsolete",
    [PC_BLOCK_CLEAN_OBSOLETE_DRY] = "clean_obsolete_dry",
    [PC_BLOCK_CLEAN_REPLACED] = "clean_replaced",
    [PC_BLOCK_CLEAN_REPLACED_DRY] = "clean_replaced_dry",
    [PC_BLOCK_ENSURE_REPLACED] = "ensure_replaced",
    [PC_BLOCK_ENSURE_REPLACED_DRY] = "ensure_replaced_dry",
};

static int lookup(const char *const *names, size_t count, const char *p, size_t n)
{
    for (size_t i = 0; i < count; i++) {
        if (names[i] != NULL && strlen(names[i]) == n && memcmp(names[i], p, n) == 0) {
            return (int)i;
        }
    }
    return -1;
}

const char *pc_cmd_name(enum pc_cmd c)
{
    return (size_t)c < PC_CMD_COUNT ? cmd_names[c] : "unknown";
}

int pc_cmd_parse(const char *p, size_t n, enum pc_cmd *out, struct pc_err *err)
{
    int i = lookup(cmd_names, PC_CMD_COUNT, p, n);

    if (i < 0) {
        return pc_err_set(err, PC_EINVAL,
                          "unknown command \"%.*s\" (discover, discover_current, discover_goal, "
                          "read_current, read_goal, diff, ensure, ensure_dry, clean, clean_dry)",
                          (int)(n > 64 ? 64 : n), p);
    }
    *out = (enum pc_cmd)i;
    return 0;
}

const char *pc_sync_name(enum pc_sync s)
{
    return (size_t)s < sizeof(sync_names) / sizeof(sync_names[0]) ? sync_names[s] : "unknown";
}

int pc_sync_parse(const char *p, size_t n, enum pc_sync *out, struct pc_err *err)
{
    int i = lookup(sync_names, sizeof(sync_names) / sizeof(sync_names[0]), p, n);

    if (i < 0) {
        return pc_err_set(err, PC_EINVAL,
                          "unknown apply_stored_state_sync \"%.*s\" (none, current, goal, both)",
                          (int)(n > 64 ? 64 : n), p);
    }
    *out = (enum pc_sync)i;
    return 0;
}

const char *pc_block_name(enum pc_block_kind b)
{
    return (size_t)b < PC_BLOCK_KIND_COUNT ? block_names[b] : "unknown";
}

int pc_block_parse(const char *p, size_t n, enum pc_block_kind *out)
{
    int i = lookup(block_names, PC_BLOCK_KIND_COUNT, p, n);

    if (i < 0) {
        return PC_EINVAL;
    }
    *out = (enum pc_block_kind)i;
    return 0;
}

static enum pc_block_kind sync_block(enum pc_sync s)
{
    switch (s) {
    case PC_SYNC_CURRENT:
        return PC_BLOCK_SYNC_CHECK_CURRENT;
    case PC_SYNC_GOAL:
        return PC_BLOCK_SYNC_CHECK_GOAL;
    case PC_SYNC_BOTH:
    case PC_SYNC_NONE:
    default:
        return PC_BLOCK_SYNC_CHECK;
    }
}

size_t pc_cmd_blocks(enum pc_cmd c, enum pc_sync sync, enum pc_block_kind out[PC_BLOCKS_MAX])
{
    size_t n = 0;

    switch (c) {
    case PC_CMD_DISCOVER:
        out[n++] = PC_BLOCK_DISCOVER;
        break;
    case PC_CMD_DISCOVER_CURRENT:
        out[n++] = PC_BLOCK_DISCOVER_CURRENT;
        break;
    case PC_CMD_DISCOVER_GOAL:
        out[n++] = PC_BLOCK_DISCOVER_GOAL;
        break;
    case PC_CMD_READ_CURRENT:
        out[n++] = PC_BLOCK_READ_CURRENT;
        break;
    case PC_CMD_READ_GOAL:
        out[n++] = PC_BLOCK_READ_GOAL;
        break;
    case PC_CMD_DIFF:
        out[n++] = PC_BLOCK_READ_CURRENT;
        out[n++] = PC_BLOCK_READ_GOAL;
        out[n++] = PC_BLOCK_DIFF;
        break;
    case PC_CMD_ENSURE:
    case PC_CMD_ENSURE_DRY:
        out[n++] = PC_BLOCK_READ_CURRENT;
        out[n++] = PC_BLOCK_READ_GOAL;
        out[n++] = PC_BLOCK_DISCOVER;
        if (sync != PC_SYNC_NONE) {
            out[n++] = sync_block(sync);
        }
        out[n++] = c == PC_CMD_ENSURE ? PC_BLOCK_APPLY_ENSURE : PC_BLOCK_APPLY_ENSURE_DRY;
        break;
    case PC_CMD_CLEAN:
    case PC_CMD_CLEAN_DRY:
        /* For clean, goal sync is meaningless: goal == none, both == current. */
        out[n++] = PC_BLOCK_READ_CURRENT;
        out[n++] = PC_BLOCK_DISCOVER_CURRENT;
        out[n++] = PC_BLOCK_CLEAN_INSERTION;
        if (sync == PC_SYNC_CURRENT || sync == PC_SYNC_BOTH) {
            out[n++] = PC_BLOCK_SYNC_CHECK_CURRENT;
        }
        out[n++] = c == PC_CMD_CLEAN ? PC_BLOCK_APPLY_CLEAN : PC_BLOCK_APPLY_CLEAN_DRY;
        break;
    default:
        break;
    }
    return n;
}

size_t pc_cmd_blocks_diff(bool current_discovered, bool goal_discovered,
                          enum pc_block_kind out[PC_BLOCKS_MAX])
{
    out[0] = current_discovered ? PC_BLOCK_DISCOVER_CURRENT : PC_BLOCK_READ_CURRENT;
    out[1] = goal_discovered ? PC_BLOCK_DISCOVER_GOAL : PC_BLOCK_READ_GOAL;
    out[2] = PC_BLOCK_DIFF;
    return 3;
}

bool pc_block_is_streaming(enum pc_block_kind b)
{
    switch (b) {
    case PC_BLOCK_DISCOVER:
    case PC_BLOCK_DISCOVER_CURRENT:
    case PC_BLOCK_DISCOVER_GOAL:
    case PC_BLOCK_CLEAN_INSERTION:
    case PC_BLOCK_DIFF:
    case PC_BLOCK_APPLY_ENSURE:
    case PC_BLOCK_APPLY_ENSURE_DRY:
    case PC_BLOCK_APPLY_CLEAN:
    case PC_BLOCK_APPLY_CLEAN_DRY:
    case PC_BLOCK_CLEAN_OBSOLETE:
    case PC_BLOCK_CLEAN_OBSOLETE_DRY:
    case PC_BLOCK_CLEAN_REPLACED:
    case PC_BLOCK_CLEAN_REPLACED_DRY:
    case PC_BLOCK_ENSURE_REPLACED:
    case PC_BLOCK_ENSURE_REPLACED_DRY:
        return true;
    default:
        return false;
    }
}

bool pc_cmd_obsolete_block(enum pc_cmd c, enum pc_block_kind *out)
{
    switch (c) {
    case PC_CMD_ENSURE:
    case PC_CMD_CLEAN:
        *out = PC_BLOCK_CLEAN_OBSOLETE;
        return true;
    case PC_CMD_ENSURE_DRY:
    case PC_CMD_CLEAN_DRY:
        *out = PC_BLOCK_CLEAN_OBSOLETE_DRY;
        return true;
    default:
        return false;
    }
}

bool pc_cmd_replace_blocks(enum pc_cmd c, enum pc_block_kind *clean, enum pc_block_kind *ensure)
{
    switch (c) {
    case PC_CMD_ENSURE:
        *clean = PC_BLOCK_CLEAN_REPLACED;
        *ensure = PC_BLOCK_ENSURE_REPLACED;
        return true;
    case PC_CMD_ENSURE_DRY:
        *clean = PC_BLOCK_CLEAN_REPLACED_DRY;
        *ensure = PC_BLOCK_ENSURE_REPLACED_DRY;
        return true;
    default:
        return false;
    }
}

bool pc_cmd_sees_obsolete(enum pc_cmd c)
{
    enum pc_block_kind b;

    return c == PC_CMD_DIFF || pc_cmd_obsolete_block(c, &b);
}

bool pc_cmd_needs_profile_lock(enum pc_cmd c)
{
    /* Every command that writes states: CONTRACT §2 names ensure and clean;
     * the discover commands write states too, and an unfenced discover racing
     * an ensure could overwrite what the ensure just applied. */
    return c == PC_CMD_ENSURE || c == PC_CMD_CLEAN || c == PC_CMD_DISCOVER ||
           c == PC_CMD_DISCOVER_CURRENT || c == PC_CMD_DISCOVER_GOAL;
}
