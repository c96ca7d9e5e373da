/*
 * registry.c - the registry of item types, and plugin loading.
 *
 * A small array searched linearly: flows name a handful of types and lookups
 * happen once per item when an execution is created, never on a hot path.
 */
#include "peace/item.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "peace/ident.h"
#include "peace/plugin.h"

#define REGISTRY_TYPES_MAX 256

/* The layout a plugin built for plugin API 1.x gives its types: struct
 * pc_item_type up to state_eq (needs_replacement came with 2.0). */
#define ITEM_TYPE_V1_SIZE offsetof(struct pc_item_type, needs_replacement)

struct pc_registry {
    /* types and n first, as in 1.x: a 1.x plugin's own libpeace copy of
     * pc_registry_add (if it binds to it) still appends here. */
    const struct pc_item_type *types[REGISTRY_TYPES_MAX];
    size_t n;
    /* Owned copies of 1.x plugins' types, in today's layout. */
    struct pc_item_type *owned[REGISTRY_TYPES_MAX];
    size_t n_owned;
};

int pc_registry_create(struct pc_registry **out, struct pc_err *err)
{
    struct pc_registry *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    *out = r;
    return 0;
}

void pc_registry_destroy(struct pc_registry *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->n_owned; i++) {
        free(r->owned[i]);
    }
    free(r);
}

/*
 * Types [from, r->n) were registered by a plugin built for plugin API 1.x:
 * their structs end after state_eq. Each is replaced by an owned copy of
 * that prefix with the later members zero (needs_replacement NULL: never),
 * so nothing ever reads past the plugin's struct.
 */
static int adopt_v1_types(struct pc_registry *r, size_t from, struct pc_err *err)
{
    for (size_t i = from; i < r->n; i++) {
        struct pc_item_type *copy = calloc(1, sizeof(*copy));

        if (copy == NULL || r->n_owned == REGISTRY_TYPES_MAX) {
            free(copy);
            r->n = i; /* the rest is not usable: unregistered */
            return pc_err_set(err, PC_ENOMEM, "out of memory adopting plugin API 1.x types");
        }
        memcpy(copy, r->types[i], ITEM_TYPE_V1_SIZE);
        r->owned[r->n_owned++] = copy;
        r->types[i] = copy;
    }
    return 0;
}

int pc_registry_add(struct pc_registry *r, const struct pc_item_type *t, struct pc_err *err)
{
    if (t == NULL || t->name == NULL || !pc_ident_valid(t->name, strlen(t->name))) {
        return pc_err_set(err, PC_EINVAL, "item type has no valid name");
    }
    if (t->params_create == NULL || t->params_destroy == NULL || t->state_current == NULL ||
        t->state_goal == NULL || t->state_diff == NULL || t->state_clean == NULL ||
        t->apply_check == NULL || t->apply_dry == NULL || t->apply == NULL) {
        return pc_err_set(err, PC_EINVAL, "item type %s lacks one of its functions", t->name);
    }
    if (pc_registry_find(r, t->name, strlen(t->name)) != NULL) {
        return pc_err_set(err, PC_EINVAL, "item type %s is already registered", t->name);
    }
    if (r->n == REGISTRY_TYPES_MAX) {
        return pc_err_set(err, PC_ELIMIT, "more than %d item types", REGISTRY_TYPES_MAX);
    }
    r->types[r->n++] = t;
    return 0;
}

const struct pc_item_type *pc_registry_find(const struct pc_registry *r, const char *p, size_t n)
{
    for (size_t i = 0; i < r->n; i++) {
        const char *name = r->types[i]->name;

        if (strlen(name) == n && memcmp(name, p, n) == 0) {
            return r->types[i];
        }
    }
    return NULL;
}

int pc_registry_check_flow(const struct pc_registry *r, const struct pc_flow *f, struct pc_err *err)
{
    for (size_t i = 0; i < f->n_items; i++) {
        const struct pc_flow_item *it = &f->items[i];

        if (pc_registry_find(r, it->type.s, strlen(it->type.s)) == NULL) {
            return pc_err_set(err, PC_EINVAL, "item %s (items[%zu]): unknown item type \"%s\"",
                              it->id.s, i, it->type.s);
        }
    }
    return 0;
}

typedef int plugin_register_fn(uint32_t api_version, struct pc_registry *r, struct pc_err *err);

int pc_plugin_api_check(uint32_t host_version, uint32_t plugin_version, struct pc_err *err)
{
    unsigned hmaj = PC_PLUGIN_API_VERSION_MAJOR(host_version);
    unsigned hmin = PC_PLUGIN_API_VERSION_MINOR(host_version);
    unsigned pmaj = PC_PLUGIN_API_VERSION_MAJOR(plugin_version);
    unsigned pmin = PC_PLUGIN_API_VERSION_MINOR(plugin_version);

    if (pmaj == 1 && hmaj == 2) {
        /* 1.x types are adopted in 2.0's layout (pc_registry_load_plugin). */
        return pmin <= PC_PLUGIN_API_V1_MINOR_MAX
                   ? 0
                   : pc_err_set(err, PC_EINVAL,
                                "built for plugin API %u.%u, this program provides %u.%u and "
                                "loads 1.x plugins up to 1.%u: rebuild the plugin against this "
                                "version's SDK",
                                pmaj, pmin, hmaj, hmin, (unsigned)PC_PLUGIN_API_V1_MINOR_MAX);
    }
    if (pmaj != hmaj) {
        return pc_err_set(err, PC_EINVAL,
                          "built for plugin API %u.%u, this program provides %u.%u (another major "
                          "version): rebuild the plugin against this version's SDK",
                          pmaj, pmin, hmaj, hmin);
    }
    if (pmin > hmin) {
        return pc_err_set(err, PC_EINVAL,
                          "built for plugin API %u.%u, this program provides only %u.%u: upgrade "
                          "the program or rebuild the plugin against its SDK",
                          pmaj, pmin, hmaj, hmin);
    }
    return 0;
}

int pc_registry_load_plugin(struct pc_registry *r, const char *path, struct pc_err *err)
{
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    plugin_register_fn *fn = NULL;
    const uint32_t *version = NULL;
    void *sym = NULL;
    size_t n_before = 0;
    int rc;

    if (handle == NULL) {
        const char *why = dlerror();
        return pc_err_set(err, PC_EINVAL, "plugin %s: %s", path, why != NULL ? why : "cannot load");
    }
    sym = dlsym(handle, "peace_plugin_api_version");
    if (sym == NULL) {
        dlclose(handle);
        return pc_err_set(err, PC_EINVAL,
                          "plugin %s: no peace_plugin_api_version symbol (built without the plugin "
                          "API version): rebuild it against the peace SDK, plugin API %u.%u",
                          path, (unsigned)PC_PLUGIN_API_MAJOR, (unsigned)PC_PLUGIN_API_MINOR);
    }
    version = sym;
    rc = pc_plugin_api_check(PC_PLUGIN_API_VERSION, *version, err);
    if (rc != 0) {
        dlclose(handle);
        pc_err_prefix(err, "plugin %s", path);
        return rc;
    }
    sym = dlsym(handle, "peace_plugin_register");
    if (sym == NULL) {
        dlclose(handle);
        return pc_err_set(err, PC_EINVAL, "plugin %s: no peace_plugin_register symbol", path);
    }
    /* POSIX guarantees function pointers round-trip through void *. */
    memcpy(&fn, &sym, sizeof(fn));
    n_before = r->n;
    rc = fn(PC_PLUGIN_API_VERSION_MAJOR(*version) == 1 ? PC_PLUGIN_API_V1_COMPAT
                                                       : PC_PLUGIN_API_VERSION,
            r, err);
    if (PC_PLUGIN_API_VERSION_MAJOR(*version) == 1) {
        /* Also after a failed register: what it added must not be read past. */
        int arc = adopt_v1_types(r, n_before, err);

        rc = rc != 0 ? rc : arc;
    }
    if (rc != 0) {
        pc_err_prefix(err, "plugin %s", path);
        /* Types may already be registered: keep the object loaded. */
        return rc;
    }
    return 0;
}
