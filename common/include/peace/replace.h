/*
 * replace.h - which items an ensure replaces (CONTRACT §2, the seeds' full
 * EnsureCmd): pure decisions over the flow's dependency graph, no I/O.
 *
 * An item *blocks* when its type says that reaching the goal of its flow
 * params needs the item as last applied (its stored item record) cleaned
 * first and made again (pc_item_type.needs_replacement: a `file` whose path
 * changed). A blocking item and everything that depends on it, directly or
 * not, are *replaced*: cleaned as last applied in reverse dependency order
 * (block clean_replaced), then ensured again in order (ensure_replaced);
 * the other items are ensured first, in ensure's own apply block.
 */
#ifndef PEACE_REPLACE_H
#define PEACE_REPLACE_H

#include <stdbool.h>
#include <stddef.h>

#include "peace/flow.h"

struct pc_replace_ops {
    /* Whether flow item `item` blocks (see above). Called once per item, in
     * flow order. */
    bool (*blocks)(void *ctx, size_t item);
};

/*
 * Fills blocking[i] (ops->blocks) and replaced[i] (blocking, or depends on a
 * blocking item through flow deps) for every item of flow; both arrays hold
 * flow->n_items entries, owned by the caller. Returns the number of replaced
 * items. The flow must be valid (deps are indices of earlier-checked items,
 * no cycles: pc_flow validation).
 */
size_t pc_replace_plan(const struct pc_flow *flow, const struct pc_replace_ops *ops, void *ctx,
                       bool *blocking, bool *replaced);

#endif /* PEACE_REPLACE_H */
