/*
 * greeting_item.c - an example plugin: a custom item type `greeting` that
 * keeps a file holding "hello, NAME\n".
 *
 *   params  {"path": "...", "name": "..."}
 *   state   {"text": "<file content>" | nil when the file is absent}
 *
 * Build it against the installed SDK (CMakeLists.txt here: find_package(peace)
 * and libpeace) and load it with `--plugin PATH.so` (peace run --local,
 * peace-worker, peace-scheduler). It defines the two symbols of plugin.h: the
 * API version it is built for and peace_plugin_register.
 */
#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/item.h"
#include "peace/params.h"
#include "peace/plugin.h"

#define GREETING_MAX 4096

PEACE_PLUGIN_API_DEFINE;

struct greeting_params {
    char *path;
    char *name;
};

static int params_create(const msgpack_object *params, void **out, struct pc_err *err)
{
    struct greeting_params *p = calloc(1, sizeof(*p));
    int rc;

    if (p == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    rc = pc_params_strdup(params, "path", true, 4096, &p->path, err);
    if (rc == 0) {
        rc = pc_params_strdup(params, "name", true, 256, &p->name, err);
    }
    if (rc != 0) {
        free(p->path);
        free(p->name);
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

static void params_destroy(void *params)
{
    struct greeting_params *p = params;

    if (p != NULL) {
        free(p->path);
        free(p->name);
        free(p);
    }
}

/* {"text": text} or {"text": nil} when text is NULL. */
static int make_state(struct pc_state *out, const char *text, size_t len)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "text", 4);
    if (text == NULL) {
        msgpack_pack_nil(&pk);
    } else {
        msgpack_pack_str_with_body(&pk, text, len);
    }
    return pc_state_take(out, msgpack_sbuffer_release(&sb), sb.size);
}

static int greeting_text(const struct greeting_params *p, char *buf, size_t size)
{
    return snprintf(buf, size, "hello, %s\n", p->name);
}

static int state_current(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                         struct pc_err *err)
{
    const struct greeting_params *p = params;
    char buf[GREETING_MAX];
    size_t n = 0;
    FILE *f = fopen(p->path, "rb");

    (void)ctx;
    if (f == NULL) {
        if (errno == ENOENT) {
            return make_state(out, NULL, 0);
        }
        return pc_err_set(err, -errno, "cannot read %s", p->path);
    }
    n = fread(buf, 1, sizeof(buf), f);
    (void)fclose(f);
    return make_state(out, buf, n);
}

static int state_goal(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                      struct pc_err *err)
{
    char buf[GREETING_MAX];
    int n = greeting_text(params, buf, sizeof(buf));

    (void)ctx;
    if (n < 0 || (size_t)n >= sizeof(buf)) {
        return pc_err_set(err, PC_ELIMIT, "greeting too long");
    }
    return make_state(out, buf, (size_t)n);
}

static int state_clean(const void *params, struct pc_state *out, struct pc_err *err)
{
    (void)params;
    (void)err;
    return make_state(out, NULL, 0);
}

static int state_diff(const void *params, const struct pc_state *a, const struct pc_state *b,
                      struct pc_state *out, struct pc_err *err)
{
    (void)params;
    (void)err;
    /* The diff is whether the two differ: {"changed": bool}. */
    {
        msgpack_sbuffer sb;
        msgpack_packer pk;

        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 1);
        msgpack_pack_str_with_body(&pk, "changed", 7);
        if (pc_state_bytes_eq(a, b)) {
            msgpack_pack_false(&pk);
        } else {
            msgpack_pack_true(&pk);
        }
        return pc_state_take(out, msgpack_sbuffer_release(&sb), sb.size);
    }
}

static int apply_check(const void *params, const struct pc_state *current,
                       const struct pc_state *target, const struct pc_state *diff,
                       struct pc_apply_check *out, struct pc_err *err)
{
    (void)params;
    (void)diff;
    (void)err;
    out->exec_required = !pc_state_bytes_eq(current, target);
    out->limit.kind = PC_LIMIT_STEPS;
    out->limit.n = 1;
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
    (void)err;
    return pc_state_copy(out, target);
}

static int apply(struct pc_item_ctx *ctx, const void *params, const struct pc_state *current,
                 const struct pc_state *target, const struct pc_state *diff, struct pc_state *out,
                 struct pc_err *err)
{
    const struct greeting_params *p = params;
    char buf[GREETING_MAX];
    int n = greeting_text(p, buf, sizeof(buf));
    FILE *f = NULL;
    bool clean = false;

    (void)current;
    (void)diff;
    /* The clean state has text nil: its encoding is {"text": nil}, 7 bytes. */
    clean = target->len == 7 && target->data[6] == 0xc0;
    if (clean) {
        if (remove(p->path) != 0 && errno != ENOENT) {
            return pc_err_set(err, -errno, "cannot remove %s", p->path);
        }
    } else {
        f = fopen(p->path, "wb");
        if (f == NULL || n < 0 || fwrite(buf, 1, (size_t)n, f) != (size_t)n) {
            int e = errno;
            if (f != NULL) {
                (void)fclose(f);
            }
            return pc_err_set(err, -e, "cannot write %s", p->path);
        }
        if (fclose(f) != 0) {
            return pc_err_set(err, -errno, "cannot write %s", p->path);
        }
    }
    pc_item_progress_inc(ctx, 1, clean ? "removed" : "written");
    return state_current(ctx, params, out, err);
}

/* Optional: a greeting at another path is another file, so the old one is
 * cleaned (with its stored params) before the new one is written. */
static bool needs_replacement(const void *stored_params, const void *new_params)
{
    const struct greeting_params *a = stored_params;
    const struct greeting_params *b = new_params;

    return strcmp(a->path, b->path) != 0;
}

static const struct pc_item_type greeting_type = {
    .name = "greeting",
    .params_create = params_create,
    .params_destroy = params_destroy,
    .state_current = state_current,
    .state_goal = state_goal,
    .state_diff = state_diff,
    .state_clean = state_clean,
    .apply_check = apply_check,
    .apply_dry = apply_dry,
    .apply = apply,
    .needs_replacement = needs_replacement,
};

int peace_plugin_register(uint32_t api_version, struct pc_registry *r, struct pc_err *err)
{
    (void)api_version;
    return pc_registry_add(r, &greeting_type, err);
}
