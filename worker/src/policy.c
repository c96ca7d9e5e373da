/*
 * policy.c - what this worker may run: --item-types and --file-root
 * (worker/policy.h). The path check itself is the items library's
 * (pc_items_path_confined), which the items repeat right before every
 * operation on the path.
 */
#include "worker/policy.h"

#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "peace/items.h"
#include "peace/params.h"

static int parse_types(struct wk_policy *p, const char *text, const struct pc_registry *reg,
                       struct pc_err *err)
{
    const char *at = text;

    if (strlen(text) >= sizeof(p->item_types_text)) {
        return pc_err_set(err, PC_EINVAL, "--item-types: longer than %zu bytes",
                          sizeof(p->item_types_text) - 1);
    }
    (void)snprintf(p->item_types_text, sizeof(p->item_types_text), "%s", text);
    for (;;) {
        size_t n = strcspn(at, ",");

        if (n == 0) {
            return pc_err_set(err, PC_EINVAL, "--item-types: empty type name in \"%s\"", text);
        }
        if (!pc_ident_valid(at, n)) {
            return pc_err_set(err, PC_EINVAL, "--item-types: \"%.*s\" is not a type name",
                              (int)(n < 64 ? n : 64), at);
        }
        if (reg != NULL && pc_registry_find(reg, at, n) == NULL) {
            return pc_err_set(err, PC_EINVAL,
                              "--item-types: no item type \"%.*s\" is registered (built-in: "
                              "file, sh_cmd, sleep, http_download; others come from --plugin)",
                              (int)n, at);
        }
        if (!wk_policy_type_allowed(p, at, n)) {
            if (p->n_types == WK_POLICY_TYPES_MAX) {
                return pc_err_set(err, PC_EINVAL, "--item-types: more than %d types",
                                  WK_POLICY_TYPES_MAX);
            }
            memcpy(p->types[p->n_types], at, n);
            p->types[p->n_types][n] = '\0';
            p->n_types++;
        }
        if (at[n] == '\0') {
            return 0;
        }
        at += n + 1;
    }
}

int wk_policy_init(struct wk_policy *p, const char *item_types, const char *file_root,
                   const struct pc_registry *reg, struct pc_err *err)
{
    struct stat st;
    int rc = 0;

    memset(p, 0, sizeof(*p));
    p->all_types = item_types == NULL;
    if (item_types != NULL) {
        rc = parse_types(p, item_types, reg, err);
        if (rc != 0) {
            return rc;
        }
    }
    if (file_root == NULL) {
        return 0;
    }
    if (file_root[0] == '\0') {
        return pc_err_set(err, PC_EINVAL, "--file-root: empty path");
    }
    if (realpath(file_root, p->file_root) == NULL) {
        int e = errno;

        p->file_root[0] = '\0';
        return pc_err_set(err, PC_EINVAL, "--file-root: cannot resolve %s: %s", file_root,
                          strerror(e));
    }
    if (stat(p->file_root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        p->file_root[0] = '\0';
        return pc_err_set(err, PC_EINVAL, "--file-root: %s is not a directory", file_root);
    }
    return 0;
}

bool wk_policy_type_allowed(const struct wk_policy *p, const char *type, size_t n)
{
    if (p->all_types) {
        return true;
    }
    for (size_t i = 0; i < p->n_types; i++) {
        if (strlen(p->types[i]) == n && memcmp(p->types[i], type, n) == 0) {
            return true;
        }
    }
    return false;
}

/* The path param of item fi (a string; anything else is left to the type's
 * own params check, which rejects it too). */
static int check_path(const struct wk_policy *p, const struct pc_flow_item *fi, const char *key,
                      char *reason, size_t reason_size)
{
    msgpack_unpacked u;
    const msgpack_object *v = NULL;
    char path[PC_ITEMS_PATH_MAX + 1];
    struct pc_err err;
    int rc = 0;

    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, (const char *)fi->params, fi->params_len, NULL) !=
        MSGPACK_UNPACK_SUCCESS) {
        msgpack_unpacked_destroy(&u);
        (void)snprintf(reason, reason_size, "item %s: params do not decode", fi->id.s);
        return PC_EINVAL;
    }
    v = pc_msgpack_map_get(&u.data, key);
    if (v == NULL || v->type != MSGPACK_OBJECT_STR || v->via.str.size > PC_ITEMS_PATH_MAX ||
        memchr(v->via.str.ptr, '\0', v->via.str.size) != NULL) {
        msgpack_unpacked_destroy(&u);
        (void)snprintf(reason, reason_size,
                       "item %s: params.%s must be a path (a string of at most %d bytes) under "
                       "--file-root",
                       fi->id.s, key, PC_ITEMS_PATH_MAX);
        return PC_EINVAL;
    }
    memcpy(path, v->via.str.ptr, v->via.str.size);
    path[v->via.str.size] = '\0';
    msgpack_unpacked_destroy(&u);
    pc_err_clear(&err);
    if (pc_items_path_confined(p->file_root, path, &err) != 0) {
        (void)snprintf(reason, reason_size, "item %s: params.%s refused: %s", fi->id.s, key,
                       err.msg);
        rc = PC_EINVAL;
    }
    return rc;
}

int wk_policy_check_item(const struct wk_policy *p, const struct pc_flow_item *fi, char *reason,
                         size_t reason_size)
{
    const char *key = NULL;

    if (!wk_policy_type_allowed(p, fi->type.s, strlen(fi->type.s))) {
        (void)snprintf(reason, reason_size,
                       "item %s: type %s is not allowed on this worker (--item-types %s)", fi->id.s,
                       fi->type.s, p->item_types_text);
        return PC_EINVAL;
    }
    key = pc_items_confined_param(fi->type.s);
    if (p->file_root[0] != '\0' && key != NULL) {
        return check_path(p, fi, key, reason, reason_size);
    }
    return 0;
}

int wk_policy_check(const struct wk_policy *p, const struct pc_flow *flow, char *reason,
                    size_t reason_size)
{
    for (size_t i = 0; i < flow->n_items; i++) {
        int rc = wk_policy_check_item(p, &flow->items[i], reason, reason_size);

        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int wk_policy_check_stored(void *ctx, const struct pc_flow_item *fi, char *reason,
                           size_t reason_size)
{
    return wk_policy_check_item(ctx, fi, reason, reason_size);
}
