/*
 * params.c - typed lookups in an item's params map (msgpack).
 *
 * Params come from a flow file, i.e. from outside, so every accessor checks
 * the type and the size of what it reads and names the offending key in its
 * error ("params.path: expected a string"); the framework prefixes the item.
 * msgpack strings carry a length and no terminator: they are copied into NUL-
 * terminated heap strings only after checking they hold no NUL byte, so the
 * C string seen by the item is exactly the wire string. A msgpack nil under a
 * key counts as an absent key (JSON null in a flow file means "not given").
 */
#include "peace/params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Looks key up in map; nil values count as absent. */
static const msgpack_object *param_get(const msgpack_object *params, const char *key)
{
    const msgpack_object *v = pc_msgpack_map_get(params, key);

    if (v != NULL && v->type == MSGPACK_OBJECT_NIL) {
        return NULL;
    }
    return v;
}

static int check_params_map(const msgpack_object *params, struct pc_err *err)
{
    if (params == NULL || params->type != MSGPACK_OBJECT_MAP) {
        return pc_err_set(err, PC_EINVAL, "params: expected a map");
    }
    return 0;
}

const msgpack_object *pc_msgpack_map_get(const msgpack_object *map, const char *key)
{
    size_t key_len = 0;

    if (map == NULL || map->type != MSGPACK_OBJECT_MAP || key == NULL) {
        return NULL;
    }
    key_len = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];

        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == key_len &&
            memcmp(kv->key.via.str.ptr, key, key_len) == 0) {
            return &kv->val;
        }
    }
    return NULL;
}

/* Copies a msgpack string into a new C string; `what` names it in errors. */
static int copy_cstr(const msgpack_object *v, const char *what, size_t max, char **out,
                     struct pc_err *err)
{
    char *s = NULL;
    size_t n = 0;

    if (v->type != MSGPACK_OBJECT_STR) {
        return pc_err_set(err, PC_EINVAL, "%s: expected a string", what);
    }
    n = v->via.str.size;
    if (n > max) {
        return pc_err_set(err, PC_EINVAL, "%s: longer than %zu bytes", what, max);
    }
    if (n > 0 && memchr(v->via.str.ptr, '\0', n) != NULL) {
        return pc_err_set(err, PC_EINVAL, "%s: contains a NUL byte", what);
    }
    s = malloc(n + 1);
    if (s == NULL) {
        return pc_err_set(err, PC_ENOMEM, "%s: out of memory", what);
    }
    if (n > 0) {
        memcpy(s, v->via.str.ptr, n);
    }
    s[n] = '\0';
    *out = s;
    return 0;
}

int pc_params_strdup(const msgpack_object *params, const char *key, bool required, size_t max,
                     char **out, struct pc_err *err)
{
    const msgpack_object *v = NULL;
    char what[96];
    int rc = check_params_map(params, err);

    if (rc < 0) {
        return rc;
    }
    v = param_get(params, key);
    if (v == NULL) {
        if (required) {
            return pc_err_set(err, PC_EINVAL, "params.%s: required", key);
        }
        *out = NULL;
        return 0;
    }
    snprintf(what, sizeof(what), "params.%s", key);
    return copy_cstr(v, what, max, out, err);
}

int pc_params_u64(const msgpack_object *params, const char *key, bool required, uint64_t *out,
                  struct pc_err *err)
{
    const msgpack_object *v = NULL;
    int rc = check_params_map(params, err);

    if (rc < 0) {
        return rc;
    }
    v = param_get(params, key);
    if (v == NULL) {
        if (required) {
            return pc_err_set(err, PC_EINVAL, "params.%s: required", key);
        }
        return 0;
    }
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        /* msgpack encodes every non-negative integer as POSITIVE_INTEGER, so a
         * NEGATIVE_INTEGER is really below zero; floats are refused rather than
         * rounded so that "1.5 steps" is an error, not one step. */
        return pc_err_set(err, PC_EINVAL, "params.%s: expected a non-negative integer", key);
    }
    *out = v->via.u64;
    return 0;
}

void pc_argv_free(char **argv)
{
    if (argv == NULL) {
        return;
    }
    for (size_t i = 0; argv[i] != NULL; i++) {
        free(argv[i]);
    }
    free(argv);
}

/* Longest single argument accepted; the whole params map is bounded anyway. */
#define PARAMS_ARG_MAX ((size_t)256 * 1024)

int pc_params_argv(const msgpack_object *params, const char *key, bool required, size_t max_args,
                   char ***out, struct pc_err *err)
{
    const msgpack_object *v = NULL;
    char **argv = NULL;
    size_t n = 0;
    int rc = check_params_map(params, err);

    if (rc < 0) {
        return rc;
    }
    v = param_get(params, key);
    if (v == NULL) {
        if (required) {
            return pc_err_set(err, PC_EINVAL, "params.%s: required", key);
        }
        *out = NULL;
        return 0;
    }
    if (v->type != MSGPACK_OBJECT_ARRAY) {
        return pc_err_set(err, PC_EINVAL, "params.%s: expected an array of strings (argv)", key);
    }
    n = v->via.array.size;
    if (n == 0) {
        return pc_err_set(err, PC_EINVAL, "params.%s: empty argv (needs at least the program)",
                          key);
    }
    if (n > max_args) {
        return pc_err_set(err, PC_EINVAL, "params.%s: more than %zu arguments", key, max_args);
    }
    argv = calloc(n + 1, sizeof(*argv));
    if (argv == NULL) {
        return pc_err_set(err, PC_ENOMEM, "params.%s: out of memory", key);
    }
    for (size_t i = 0; i < n; i++) {
        char what[96];

        snprintf(what, sizeof(what), "params.%s[%zu]", key, i);
        rc = copy_cstr(&v->via.array.ptr[i], what, PARAMS_ARG_MAX, &argv[i], err);
        if (rc < 0) {
            pc_argv_free(argv);
            return rc;
        }
    }
    *out = argv;
    return 0;
}
