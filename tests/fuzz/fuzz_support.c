/*
 * fuzz_support.c - see fuzz_support.h.
 */
#include "fuzz_support.h"

#include <msgpack.h>
#include <string.h>

#include "fuzz.h"
#include "peace/item.h"
#include "peace/items.h"

/* params_create then params_destroy of one item; true when accepted. */
static bool params_accepted(const struct pc_item_type *type, const struct pc_flow_item *fi)
{
    msgpack_unpacked u;
    size_t off = 0;
    void *params = NULL;
    struct pc_err err;
    bool ok = false;

    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, (const char *)fi->params, fi->params_len, &off) ==
            MSGPACK_UNPACK_SUCCESS &&
        u.data.type == MSGPACK_OBJECT_MAP) {
        pc_err_clear(&err);
        if (type->params_create(&u.data, &params, &err) == 0) {
            type->params_destroy(params);
            ok = true;
        }
    }
    msgpack_unpacked_destroy(&u);
    return ok;
}

bool fuzz_worker_accepts(const struct pc_flow *flow)
{
    struct pc_registry *reg = NULL;
    struct pc_err err;
    bool ok = true;

    FUZZ_CHECK(pc_registry_create(&reg, &err) == 0);
    FUZZ_CHECK(pc_items_register_builtin(reg, &err) == 0);
    if (pc_registry_check_flow(reg, flow, &err) != 0) {
        pc_registry_destroy(reg);
        return false;
    }
    for (size_t i = 0; i < flow->n_items; i++) {
        const struct pc_flow_item *fi = &flow->items[i];
        const struct pc_item_type *type = pc_registry_find(reg, fi->type.s, strlen(fi->type.s));

        FUZZ_CHECK(type != NULL); /* pc_registry_check_flow accepted the flow */
        ok = params_accepted(type, fi) && ok;
    }
    pc_registry_destroy(reg);
    return ok;
}

bool fuzz_flow_equal(const struct pc_flow *a, const struct pc_flow *b)
{
    if (strcmp(a->app.s, b->app.s) != 0 || strcmp(a->profile.s, b->profile.s) != 0 ||
        strcmp(a->flow.s, b->flow.s) != 0 || a->n_items != b->n_items) {
        return false;
    }
    for (size_t i = 0; i < a->n_items; i++) {
        const struct pc_flow_item *x = &a->items[i];
        const struct pc_flow_item *y = &b->items[i];

        if (strcmp(x->id.s, y->id.s) != 0 || strcmp(x->type.s, y->type.s) != 0 ||
            x->n_deps != y->n_deps || x->params_len != y->params_len ||
            (x->n_deps > 0 && memcmp(x->deps, y->deps, x->n_deps * sizeof(*x->deps)) != 0) ||
            (x->params_len > 0 && memcmp(x->params, y->params, x->params_len) != 0)) {
            return false;
        }
    }
    return true;
}
