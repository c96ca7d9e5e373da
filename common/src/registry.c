/*
 * registry.c - the registry of item types, and plugin loading.
 *
 * A small array searched linearly: flows name a handful of types and lookups
 * happen once per item when an execution is created, never on a hot path.
 */
#include "peace/item.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "peace/ident.h"
#include "peace/plugin.h"

#define REGISTRY_TYPES_MAX 256

struct pc_registry {
    const struct pc_item_type *types[REGISTRY_TYPES_MAX];
    size_t n;
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
    free(r);
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
    rc = fn(PC_PLUGIN_API_VERSION, r, err);
    if (rc != 0) {
        pc_err_prefix(err, "plugin %s", path);
        /* Types may already be registered: keep the object loaded. */
        return rc;
    }
    return 0;
}
