/*
 * store_dir.h - the local-directory states store of the local runner:
 * `<root>/.peace/<app>/<profile>/<flow>/states_current.msgpack` and
 * `states_goal.msgpack`, each one msgpack map item id -> state in flow
 * order (the state value envelope of schemas/). Writes are atomic (temp file
 * + fsync + rename). Operations complete synchronously.
 */
#ifndef PEACE_STORE_DIR_H
#define PEACE_STORE_DIR_H

#include "peace/store.h"

struct pc_store_dir;

/* Returns owned. root is copied ("." for the working directory). */
int pc_store_dir_create(const char *root, struct pc_store_dir **out,
                        struct pc_err *err) PC_NODISCARD;

/* Accepts NULL. */
void pc_store_dir_destroy(struct pc_store_dir *d);

/* The store interface over d (borrowed: valid while d lives). */
struct pc_store pc_store_dir_store(struct pc_store_dir *d);

/* Path of the flow's directory (for messages); borrowed until the next call. */
const char *pc_store_dir_flow_path(struct pc_store_dir *d, const struct pc_flow *flow);

#endif /* PEACE_STORE_DIR_H */
