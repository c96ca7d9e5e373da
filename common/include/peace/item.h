/*
 * item.h - the item API: item types (a vtable of the seven item functions of
 * CONTRACT §2), the context through which items report progress, and the
 * registry of item types.
 *
 * Threading: every item function runs on an executor thread, never on the
 * caller's event loop, so items may block (run a process, sleep, download).
 * Functions of different items run concurrently; functions of one item never
 * do. Params objects are shared read-only across an item's calls.
 *
 * States: every `struct pc_state *out` is absent on entry; the function fills
 * it with msgpack bytes (see state.h) on success. On failure it returns a
 * negative code and describes the failure in err (that text becomes the item
 * error of the outcome); out is cleared by the framework.
 */
#ifndef PEACE_ITEM_H
#define PEACE_ITEM_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peace/err.h"
#include "peace/flow.h"
#include "peace/interrupt.h"
#include "peace/progress.h"
#include "peace/state.h"

/* ------------------------------------------------------------------------ */
/* Item context: progress reporting                                          */

struct pc_item_progress_ops {
    /*
     * Called from the item's executor thread: `inc` units done (0 with
     * tick=true for activity without units), msg (msg_len bytes, NULL = no
     * change). Must be cheap and thread-safe.
     */
    void (*report)(void *ctx, size_t item, uint64_t inc, bool tick, const char *msg,
                   size_t msg_len);
};

struct pc_item_ctx {
    const struct pc_item_progress_ops *ops; /* may be NULL: progress dropped */
    void *ops_ctx;
    size_t item;         /* index in the flow */
    const char *item_id; /* borrowed, NUL-terminated */
    const struct pc_state
        *stored_current; /* borrowed; the item's last stored current state, or NULL */
    /* Borrowed; NULL = no confinement. The canonical directory that items
     * writing files (file, http_download) must stay inside (peace-worker
     * --file-root): they check and hold the path's directory before every
     * operation (peace/items.h pc_items_path_confined). */
    const char *file_root;
    struct pc_cancel *cancel; /* borrowed; NULL = this call is never cancelled */
};

/* Reports `units` more units done; msg (NUL-terminated, may be NULL) replaces the message. */
void pc_item_progress_inc(struct pc_item_ctx *ctx, uint64_t units, const char *msg);

/* Reports activity without units; msg as above. */
void pc_item_progress_tick(struct pc_item_ctx *ctx, const char *msg);

/* ------------------------------------------------------------------------ */
/* Item context: the cancel token                                            */

/*
 * An interrupt in mode `cancel` or `kill` (interrupt.h) asks the items that
 * are running to stop. For plugin authors:
 *
 *  - Loops: check pc_item_cancelled(ctx) between steps (an atomic load).
 *  - Blocking waits: add pc_item_cancel_fd(ctx) to your poll set (POLLIN);
 *    it becomes readable each time the request rises (cancel, then kill).
 *    When it does, call pc_item_cancel_ack(ctx): it clears the fd and
 *    returns the mode asked (PC_MODE_CANCEL: stop cleanly, e.g. SIGTERM;
 *    PC_MODE_KILL: stop at once). A negative fd means no fd is available
 *    (ctx without a token, or the system refused one): poll with a timeout
 *    and check pc_item_cancelled instead.
 *  - Stopping early: undo what can be undone (remove partial files), then
 *    return PC_ECANCELED with a message. The engine lists the item as
 *    `interrupted` (not as an error), re-discovers its current state and
 *    stores that, so the next ensure starts from the truth.
 *  - Items that finish anyway (atomic and short, like `file`) may ignore
 *    the token: returning success is always allowed.
 *  - An item that ignores the token keeps its thread until it returns: the
 *    engine cannot stop C code from outside. `kill` cuts what it can (item
 *    processes) and the execution ends when the item returns.
 */

/* True once a cancel or kill was asked of this call. Cheap; any thread. */
bool pc_item_cancelled(const struct pc_item_ctx *ctx);

/* The mode asked: PC_MODE_FINISH (nothing asked), PC_MODE_CANCEL, PC_MODE_KILL. */
enum pc_interrupt_mode pc_item_cancel_mode(const struct pc_item_ctx *ctx);

/* An fd readable (POLLIN) when the request rises; owned by the engine, do
 * not close it. Negative when none is available (see above). */
int pc_item_cancel_fd(struct pc_item_ctx *ctx);

/* Clears the fd's readiness; returns pc_item_cancel_mode. */
enum pc_interrupt_mode pc_item_cancel_ack(struct pc_item_ctx *ctx);

/* ------------------------------------------------------------------------ */
/* Item types                                                                */

struct pc_apply_check {
    bool exec_required;
    struct pc_limit limit; /* sizes the progress bar of the apply when required */
};

struct pc_item_type {
    const char *name; /* an identifier; the flow's "type" */

    /*
     * Parses params (a msgpack map, borrowed for the call) into an owned
     * object that the other functions receive. Called on the loop thread
     * before anything runs: a failure rejects the job, naming the item.
     */
    int (*params_create)(const msgpack_object *params, void **out, struct pc_err *err);
    void (*params_destroy)(void *params);

    /* Discovers the current state. Leaving *out absent means "unknown". */
    int (*state_current)(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                         struct pc_err *err);
    /* Discovers the goal state. Leaving *out absent means "unknown". */
    int (*state_goal)(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                      struct pc_err *err);
    /* Diff of two present states; cheap; no progress. */
    int (*state_diff)(const void *params, const struct pc_state *a, const struct pc_state *b,
                      struct pc_state *out, struct pc_err *err);
    /* The "absent" state: the target of clean. */
    int (*state_clean)(const void *params, struct pc_state *out, struct pc_err *err);
    /* Decides whether apply must run to reach target. */
    int (*apply_check)(const void *params, const struct pc_state *current,
                       const struct pc_state *target, const struct pc_state *diff,
                       struct pc_apply_check *out, struct pc_err *err);
    /* Like apply with every write skipped; returns the state apply would produce. */
    int (*apply_dry)(struct pc_item_ctx *ctx, const void *params, const struct pc_state *current,
                     const struct pc_state *target, const struct pc_state *diff,
                     struct pc_state *out, struct pc_err *err);
    /* Performs the change towards target (goal for ensure, clean for clean);
     * returns the state now in effect. */
    int (*apply)(struct pc_item_ctx *ctx, const void *params, const struct pc_state *current,
                 const struct pc_state *target, const struct pc_state *diff, struct pc_state *out,
                 struct pc_err *err);

    /* Optional (NULL = byte equality): state equality for the stored-vs-
     * discovered guard. Pure and cheap: it runs on the loop thread. */
    bool (*state_eq)(const void *params, const struct pc_state *a, const struct pc_state *b);

    /*
     * Optional (NULL = never): whether reaching the goal of new_params needs
     * the item as made with stored_params (the params of its stored item
     * record, i.e. as last applied) cleaned first and made again: a
     * replacement (a file whose path changed). Both are parsed params of this
     * type, borrowed for the call. Pure and cheap: it runs on the loop
     * thread.
     */
    bool (*needs_replacement)(const void *stored_params, const void *new_params);
};

/* ------------------------------------------------------------------------ */
/* Registry                                                                  */

struct pc_registry;

/* Returns owned: an empty registry. */
int pc_registry_create(struct pc_registry **out, struct pc_err *err) PC_NODISCARD;

/* Accepts NULL. Does not free the types (they are borrowed). */
void pc_registry_destroy(struct pc_registry *r);

/* Adds a type (borrowed: must outlive the registry). Duplicate or invalid
 * names and missing functions are PC_EINVAL. */
int pc_registry_add(struct pc_registry *r, const struct pc_item_type *type,
                    struct pc_err *err) PC_NODISCARD;

/* Returns the type named (p, n), or NULL. */
const struct pc_item_type *pc_registry_find(const struct pc_registry *r, const char *p, size_t n);

/* Checks that every item of f has a registered type; the error names the item. */
int pc_registry_check_flow(const struct pc_registry *r, const struct pc_flow *f,
                           struct pc_err *err) PC_NODISCARD;

/*
 * Loads a plugin (see plugin.h): a shared object exporting
 * peace_plugin_api_version and peace_plugin_register. A plugin built for
 * another plugin API major version is refused before peace_plugin_register is called.
 * The object stays loaded for the process's life.
 */
int pc_registry_load_plugin(struct pc_registry *r, const char *path,
                            struct pc_err *err) PC_NODISCARD;

#endif /* PEACE_ITEM_H */
