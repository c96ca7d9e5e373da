/*
 * items.h - the built-in item types (CONTRACT §6): file, sh_cmd, sleep and
 * http_download.
 *
 * The type objects are constant and stateless: every function may run on
 * any executor thread, concurrently for different items. Params, states and
 * diffs are msgpack maps; their shapes are documented per type below and in
 * each type's source file.
 *
 * file          params {path, content | content_base64, mode?="0644"}
 *               state  {exists: bool, size: uint, sha256: hex text, mode: "0644"}
 *               clean  {exists: false, size: 0, sha256: "", mode: ""}
 *               diff   {change: "none"|"create"|"update"|"delete", content: bool, mode: bool}
 * sh_cmd        params argv arrays: state_current, state_goal, apply_exec (required);
 *               state_diff, apply_check, state_clean (optional)
 *               state  {stdout: str, stderr: str, exit_code: int | nil (killed by a signal)}
 *               diff   {stdout: str, stderr: str}
 * sleep         params {steps: 1..1e6, step_ms: 0..3600000, marker: path, fail_at_step?}
 *               state  {done: bool}     clean {done: false}
 *               diff   {change: "none"|"complete"|"reset"}
 * http_download params {url: "http://...", path, timeout_ms?=600000, max_bytes?=1 GiB}
 *               state  {exists: bool, size: uint | nil (unknown), etag: str | nil}
 *               clean  {exists: false, size: 0, etag: nil}
 *               diff   {change: "none"|"download"|"delete"}
 */
#ifndef PEACE_ITEMS_H
#define PEACE_ITEMS_H

#include "peace/err.h"
#include "peace/item.h"

/* Longest path accepted in params (bytes, without the NUL). */
#define PC_ITEMS_PATH_MAX 4096

extern const struct pc_item_type pc_item_file;
extern const struct pc_item_type pc_item_sh_cmd;
extern const struct pc_item_type pc_item_sleep;
extern const struct pc_item_type pc_item_http_download;

/*
 * Adds the four built-in types to r (borrowed; the type objects are static
 * and outlive any registry). Returns 0 or the error of pc_registry_add (a
 * duplicate name when called twice on one registry).
 */
int pc_items_register_builtin(struct pc_registry *r, struct pc_err *err) PC_NODISCARD;

/*
 * Path confinement (peace-worker --file-root, CONTRACT §1): 0 when path
 * stays inside root, else PC_EINVAL (or a system error) with the reason in
 * err. root must be canonical (realpath of an existing directory); a
 * relative path is taken from the working directory. Refused: a ".."
 * component anywhere, and a path whose deepest existing ancestor resolves
 * (every symlink followed) outside root. The items repeat this check right
 * before they touch the path, then go through the held parent directory
 * (pc_item_ctx.file_root): see common/items/src/confine.c for what that
 * guarantees against concurrent changes.
 */
int pc_items_path_confined(const char *root, const char *path, struct pc_err *err) PC_NODISCARD;

/* The params key holding the path that --file-root confines, for the
 * built-in type named type ("path" for file and http_download), or NULL. */
const char *pc_items_confined_param(const char *type);

#endif /* PEACE_ITEMS_H */
