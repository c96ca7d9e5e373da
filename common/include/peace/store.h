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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peace/err.h"
#include "peace/flow.h"
#include "peace/state.h"

enum pc_states_kind {
    PC_STATES_CURRENT = 0,
    PC_STATES_GOAL,
    PC_STATES_RECORDS, /* per item: type, params and deps as last applied */
};

/*
 * An item the store holds something about (a present current state or a
 * record): one not in the flow it was asked about (an obsolete item), or one
 * of the flow with its record (its type and params as last applied).
 */
struct pc_stored_item {
    struct pc_id id;
    bool has_record;   /* false: stored before records existed */
    struct pc_id type; /* has_record only */
    uint8_t *params;   /* owned msgpack map; has_record only */
    size_t params_len;
    struct pc_id *deps; /* owned; ids it depended on when last applied */
    size_t n_deps;
};

struct pc_stored_items {
    struct pc_stored_item *v; /* owned */
    size_t n;
};

/* Frees everything s owns and zeroes it. Accepts a zeroed struct. */
void pc_stored_items_cleanup(struct pc_stored_items *s);

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
    /* Writes every item of the flow (absent entries written as nil); entries
     * of ids not in the flow are kept (they are obsolete items, removed only
     * by remove_item once cleaned). */
    int (*write_all)(void *ctx, enum pc_states_kind kind, const struct pc_flow *flow,
                     const struct pc_states *m, pc_store_done_cb *done, void *arg);

    /*
     * The three below may be NULL (a store without records: obsolete and
     * replaced items are then never seen). read_obsolete fills out (zeroed)
     * with the ids not in flow that have a present current state or a
     * record, and the ids in flow that have a record, in stored order, with
     * their records (the engine tells them apart); out must stay valid until
     * the callback. Nothing stored is not an error (out stays empty).
     */
    int (*read_obsolete)(void *ctx, const struct pc_flow *flow, struct pc_stored_items *out,
                         pc_store_done_cb *done, void *arg);
    /* Writes the record of flow item `item`: its type, params and deps. */
    int (*write_record)(void *ctx, const struct pc_flow *flow, size_t item, pc_store_done_cb *done,
                        void *arg);
    /* Removes everything stored about flow item `item` (current and goal
     * states, record): an obsolete item that was cleaned. */
    int (*remove_item)(void *ctx, const struct pc_flow *flow, size_t item, pc_store_done_cb *done,
                       void *arg);
};

struct pc_store {
    const struct pc_store_ops *ops;
    void *ctx;
};

#endif /* PEACE_STORE_H */
