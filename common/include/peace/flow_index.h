/*
 * flow_index.h - an id -> item index lookup over a flow, in O(log n).
 *
 * pc_flow_find is a linear scan; decoders that resolve many dependency ids
 * (up to PC_FLOW_ITEMS_MAX x PC_FLOW_DEPS_MAX) build this sorted index once
 * instead, so that a large hostile flow cannot cost quadratic time.
 */
#ifndef PEACE_FLOW_INDEX_H
#define PEACE_FLOW_INDEX_H

#include <stddef.h>

#include "peace/err.h"
#include "peace/flow.h"

struct pc_flow_index {
    const struct pc_flow *flow; /* borrowed: must outlive the index, items unchanged */
    size_t *order;              /* owned: item indices sorted by id */
    size_t n;
};

/*
 * Builds the index of flow's current items into caller storage. Returns 0 or
 * PC_ENOMEM (ix untouched).
 */
int pc_flow_index_init(struct pc_flow_index *ix, const struct pc_flow *flow) PC_NODISCARD;

/* Index of the item with id (p, n), or -1. With duplicate ids, any one of them. */
long pc_flow_index_find(const struct pc_flow_index *ix, const char *p, size_t n);

/* Frees the index; accepts a zeroed struct. */
void pc_flow_index_cleanup(struct pc_flow_index *ix);

#endif /* PEACE_FLOW_INDEX_H */
