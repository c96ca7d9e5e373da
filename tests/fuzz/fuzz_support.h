/*
 * fuzz_support.h - checks several fuzz targets share: what a worker does
 * with a decoded flow before anything runs, and flow equality.
 */
#ifndef PEACE_FUZZ_SUPPORT_H
#define PEACE_FUZZ_SUPPORT_H

#include <stdbool.h>

#include "peace/flow.h"

/*
 * Checks flow against the built-in item types as a worker does before a
 * job runs (pc_registry_check_flow, then every item's params_create and
 * params_destroy). Any result is fine; returns true when all were accepted.
 */
bool fuzz_worker_accepts(const struct pc_flow *flow);

/* True when a and b hold the same items, deps and params bytes. */
bool fuzz_flow_equal(const struct pc_flow *a, const struct pc_flow *b);

#endif /* PEACE_FUZZ_SUPPORT_H */
