/*
 * replace.c - which items an ensure replaces (peace/replace.h).
 *
 * The replaced set is the blocking items closed under "depends on": a fixed
 * point over the deps lists, so it needs no successor lists and no order of
 * the items (deps may point at later items). Flows are bounded
 * (PC_FLOW_ITEMS_MAX); each round marks at least one more item or stops.
 */
#include "peace/replace.h"

size_t pc_replace_plan(const struct pc_flow *flow, const struct pc_replace_ops *ops, void *ctx,
                       bool *blocking, bool *replaced)
{
    size_t n = 0;
    bool grew = true;

    for (size_t i = 0; i < flow->n_items; i++) {
        blocking[i] = ops->blocks(ctx, i);
        replaced[i] = blocking[i];
        n += replaced[i];
    }
    while (grew) {
        grew = false;
        for (size_t i = 0; i < flow->n_items; i++) {
            const struct pc_flow_item *fi = &flow->items[i];

            for (size_t d = 0; !replaced[i] && d < fi->n_deps; d++) {
                if (fi->deps[d] < flow->n_items && replaced[fi->deps[d]]) {
                    replaced[i] = true;
                    grew = true;
                    n++;
                }
            }
        }
    }
    return n;
}
