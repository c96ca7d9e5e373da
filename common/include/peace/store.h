/*
 * store.h - the states store interface: where a flow's current and goal
 * states live between executions (CONTRACT §3 `peace:states:*` hashes, or
 * `.peace/<app>/<profile>/<flow>/` for the local runner).
 *
 * Operations are asynchronous so that a Redis backend can pipeline them on an
 * event loop. Callback contract (as libuv and hiredis): when an operation
 * returns non-zero its callback is never invoked; when it returns 0 the
 * callback runs exactly once, possibly before the operation returns. Input
 * data is copied before the operation returns.
 */
#ifndef PEACE_STORE_H
#define PEACE_STORE_H

#include <stddef.h>

#include "peace/err.h"
#include "peace/flow.h"
#include "peace/state.h"

enum pc_states_kind {
    PC_STATES_CURRENT = 0,
    PC_STATES_GOAL,
};

/* rc is 0 or a negative code; err (borrowed for the call) describes it. */
typedef void pc_store_done_cb(void *arg, int rc, const struct pc_err *err);

struct pc_store_ops {
    /*
     * Reads the stored states of flow into out, which holds flow->n_items
     * absent slots. Entries for ids not in the flow are ignored; stored nil
     * stays absent. Completes with PC_ENOTFOUND when nothing was ever stored.
     * out must stay valid until the callback.
     */
    int (*read)(void *ctx, enum pc_states_kind kind, const struct pc_flow *flow,
                struct pc_states *out, pc_store_done_cb *done, void *arg);
    /* Writes one item's state (absent is written as nil). */
    int (*write_item)(void *ctx, enum pc_states_kind kind, const struct pc_flow *flow, size_t item,
                      const struct pc_state *s, pc_store_done_cb *done, void *arg);
    /* Replaces the whole map (absent entries written as nil). */
    int (*write_all)(void *ctx, enum pc_states_kind kind, const struct pc_flow *flow,
                     const struct pc_states *m, pc_store_done_cb *done, void *arg);
};

struct pc_store {
    const struct pc_store_ops *ops;
    void *ctx;
};

#endif /* PEACE_STORE_H */
