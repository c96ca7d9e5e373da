/*
 * policy.h - what this worker may run (CONTRACT §1): the item types it
 * accepts (--item-types, default every registered type) and the directory
 * the paths of `file` and `http_download` must stay inside (--file-root).
 * A job outside the policy is rejected before anything of it runs, with a
 * reason naming the item.
 */
#ifndef WORKER_POLICY_H
#define WORKER_POLICY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "peace/err.h"
#include "peace/flow.h"
#include "peace/ident.h"
#include "peace/item.h"

#define WK_POLICY_TYPES_MAX 64

struct wk_policy {
    bool all_types;                                 /* no --item-types: every registered type */
    char types[WK_POLICY_TYPES_MAX][PC_ID_MAX + 1]; /* the allowed types otherwise */
    size_t n_types;
    char item_types_text[WK_POLICY_TYPES_MAX * (PC_ID_MAX + 1)]; /* as given, for reasons */
    char file_root[PATH_MAX]; /* canonical (realpath); "" = no confinement */
};

/*
 * Builds the policy from the flag values (NULL = not given). item_types is a
 * comma-separated list of type names, each registered in reg (a name that is
 * not is PC_EINVAL: a typo must not silently refuse every job). file_root
 * must name an existing directory; it is made canonical. Errors are one line
 * naming the flag.
 */
int wk_policy_init(struct wk_policy *p, const char *item_types, const char *file_root,
                   const struct pc_registry *reg, struct pc_err *err) PC_NODISCARD;

/* True when type (p, n) may run here. */
bool wk_policy_type_allowed(const struct wk_policy *p, const char *type, size_t n);

/*
 * Checks every item of flow: its type is allowed, and the path params of the
 * file-writing types (peace/items.h pc_items_confined_param) stay inside
 * the file root. On refusal returns PC_EINVAL and writes the rejection
 * reason ("item ID: ...") into reason. Reads the file system (realpath).
 */
int wk_policy_check(const struct wk_policy *p, const struct pc_flow *flow, char *reason,
                    size_t reason_size) PC_NODISCARD;

/* The same check for one item (wk_policy_check runs it on every item). */
int wk_policy_check_item(const struct wk_policy *p, const struct pc_flow_item *fi, char *reason,
                         size_t reason_size) PC_NODISCARD;

/*
 * wk_policy_check_item as the engine's stored_item_check (ctx: the struct
 * wk_policy): items the job does not name but the store does (obsolete
 * items ensure or clean would clean, replaced items as last applied) are
 * held to the same policy; a refusal fails the execution's first block,
 * naming the item, before anything runs.
 */
int wk_policy_check_stored(void *ctx, const struct pc_flow_item *fi, char *reason,
                           size_t reason_size);

#endif /* WORKER_POLICY_H */
