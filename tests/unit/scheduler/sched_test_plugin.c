/*
 * sched_test_plugin.c - a plugin (--plugin PATH.so) with one item type,
 * `noop`, for the scheduler's tests: the scheduler must accept flows that
 * use it only when the plugin is loaded. Its params must be a map with a
 * boolean `ok` that is true, so the tests can also see the plugin's own
 * params check refuse a flow. Its functions do nothing: the scheduler never
 * runs items.
 */
#include <msgpack.h>
#include <string.h>

#include "peace/item.h"
#include "peace/plugin.h"

PEACE_PLUGIN_API_DEFINE;

static int params_create(const msgpack_object *params, void **out, struct pc_err *err)
{
    for (uint32_t i = 0; i < params->via.map.size; i++) {
        const msgpack_object_kv *kv = &params->via.map.ptr[i];

        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 2 &&
            memcmp(kv->key.via.str.ptr, "ok", 2) == 0 && kv->val.type == MSGPACK_OBJECT_BOOLEAN &&
            kv->val.via.boolean) {
            *out = NULL;
            return 0;
        }
    }
    return pc_err_set(err, PC_EINVAL, "params: \"ok\" must be true");
}

static void params_destroy(void *params)
{
    (void)params;
}

static int nil_state(struct pc_state *out)
{
    return pc_state_set_nil(out);
}

static int state_current(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                         struct pc_err *err)
{
    (void)ctx;
    (void)params;
    (void)err;
    return nil_state(out);
}

static int state_diff(const void *params, const struct pc_state *a, const struct pc_state *b,
                      struct pc_state *out, struct pc_err *err)
{
    (void)params;
    (void)a;
    (void)b;
    (void)err;
    return nil_state(out);
}

static int state_clean(const void *params, struct pc_state *out, struct pc_err *err)
{
    (void)params;
    (void)err;
    return nil_state(out);
}

static int apply_check(const void *params, const struct pc_state *current,
                       const struct pc_state *target, const struct pc_state *diff,
                       struct pc_apply_check *out, struct pc_err *err)
{
    (void)params;
    (void)current;
    (void)target;
    (void)diff;
    (void)err;
    memset(out, 0, sizeof(*out));
    return 0;
}

static int apply(struct pc_item_ctx *ctx, const void *params, const struct pc_state *current,
                 const struct pc_state *target, const struct pc_state *diff, struct pc_state *out,
                 struct pc_err *err)
{
    (void)ctx;
    (void)params;
    (void)current;
    (void)target;
    (void)diff;
    (void)err;
    return nil_state(out);
}

static const struct pc_item_type noop_type = {
    .name = "noop",
    .params_create = params_create,
    .params_destroy = params_destroy,
    .state_current = state_current,
    .state_goal = state_current,
    .state_diff = state_diff,
    .state_clean = state_clean,
    .apply_check = apply_check,
    .apply_dry = apply,
    .apply = apply,
};

int peace_plugin_register(uint32_t api_version, struct pc_registry *r, struct pc_err *err)
{
    (void)api_version;
    return pc_registry_add(r, &noop_type, err);
}
