/*
 * sdk_v1_plugin.c - a plugin built for plugin API 1.0, for the SDK test: its
 * item type `v1flag` (a marker file: state true when it exists) is laid out
 * as 1.x lays out struct pc_item_type (it ends after state_eq), at the very
 * end of a page followed by an inaccessible one, so a loader that read a
 * 2.x member of it (needs_replacement) would crash the program instead of
 * reading garbage. Built against the installed SDK (this version's
 * headers); only the layout and the version it claims are 1.x.
 *
 *   params {"path": "..."}    state: true | false    apply: create / remove
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "peace/params.h"
#include "peace/plugin.h"

const uint32_t peace_plugin_api_version = (uint32_t)(1u << 16);

/* 1.x's struct pc_item_type: everything before needs_replacement. */
#define V1_SIZE offsetof(struct pc_item_type, needs_replacement)

static int params_create(const msgpack_object *params, void **out, struct pc_err *err)
{
    char *path = NULL;
    int rc = pc_params_strdup(params, "path", true, 4096, &path, err);

    *out = path;
    return rc;
}

static void params_destroy(void *params)
{
    free(params);
}

static int set_bool(struct pc_state *out, bool v, struct pc_err *err)
{
    uint8_t b = v ? 0xc3 : 0xc2; /* msgpack true / false */

    return pc_state_set(out, &b, 1) == 0 ? 0 : pc_err_set(err, PC_ENOMEM, "out of memory");
}

static int state_current(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                         struct pc_err *err)
{
    (void)ctx;
    return set_bool(out, access((const char *)params, F_OK) == 0, err);
}

static int state_goal(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                      struct pc_err *err)
{
    (void)ctx;
    (void)params;
    return set_bool(out, true, err);
}

static int state_diff(const void *params, const struct pc_state *a, const struct pc_state *b,
                      struct pc_state *out, struct pc_err *err)
{
    (void)params;
    return set_bool(out, !pc_state_bytes_eq(a, b), err);
}

static int state_clean(const void *params, struct pc_state *out, struct pc_err *err)
{
    (void)params;
    return set_bool(out, false, err);
}

static int apply_check(const void *params, const struct pc_state *current,
                       const struct pc_state *target, const struct pc_state *diff,
                       struct pc_apply_check *out, struct pc_err *err)
{
    (void)params;
    (void)diff;
    (void)err;
    out->exec_required = !pc_state_bytes_eq(current, target);
    out->limit.kind = PC_LIMIT_UNKNOWN;
    return 0;
}

static int apply_dry(struct pc_item_ctx *ctx, const void *params, const struct pc_state *current,
                     const struct pc_state *target, const struct pc_state *diff,
                     struct pc_state *out, struct pc_err *err)
{
    (void)ctx;
    (void)params;
    (void)current;
    (void)diff;
    return pc_state_copy(out, target) == 0 ? 0 : pc_err_set(err, PC_ENOMEM, "out of memory");
}

static int apply(struct pc_item_ctx *ctx, const void *params, const struct pc_state *current,
                 const struct pc_state *target, const struct pc_state *diff, struct pc_state *out,
                 struct pc_err *err)
{
    const char *path = params;
    bool make = target->len == 1 && target->data[0] == 0xc3;
    FILE *f = NULL;

    (void)current;
    (void)diff;
    if (make) {
        f = fopen(path, "w");
        if (f == NULL || fclose(f) != 0) {
            return pc_err_set(err, PC_EITEM, "cannot create %s", path);
        }
    } else if (unlink(path) != 0) {
        return pc_err_set(err, PC_EITEM, "cannot remove %s", path);
    }
    return state_current(ctx, params, out, err);
}

int peace_plugin_register(uint32_t api_version, struct pc_registry *r, struct pc_err *err)
{
    const struct pc_item_type full = {
        .name = "v1flag",
        .params_create = params_create,
        .params_destroy = params_destroy,
        .state_current = state_current,
        .state_goal = state_goal,
        .state_diff = state_diff,
        .state_clean = state_clean,
        .apply_check = apply_check,
        .apply_dry = apply_dry,
        .apply = apply,
    };
    long page = sysconf(_SC_PAGESIZE);
    uint8_t *mem =
        mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t *at = NULL;

    (void)fprintf(stderr, "sdk_v1_plugin: register called by API %u.%u\n",
                  PC_PLUGIN_API_VERSION_MAJOR(api_version),
                  PC_PLUGIN_API_VERSION_MINOR(api_version));
    if (mem == MAP_FAILED || mprotect(mem + page, (size_t)page, PROT_NONE) != 0) {
        return pc_err_set(err, PC_ENOMEM, "mmap failed");
    }
    at = mem + page - V1_SIZE;
    memcpy(at, &full, V1_SIZE);
    /* The memory stays mapped for the process's life, as a type must. */
    return pc_registry_add(r, (const struct pc_item_type *)(const void *)at, err);
}
