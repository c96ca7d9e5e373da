/*
 * params.h - helpers for item types reading their params (a msgpack map).
 *
 * All lookups are by exact key; wire strings are (ptr, len), never assumed
 * NUL-terminated. Errors name the key ("params.path: expected a string").
 */
#ifndef PEACE_PARAMS_H
#define PEACE_PARAMS_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peace/err.h"

/* Returns the value under key in a msgpack map, or NULL (also for a non-map). */
const msgpack_object *pc_msgpack_map_get(const msgpack_object *map, const char *key);

/*
 * Copies the string under key into a new NUL-terminated heap string (*out,
 * owned by the caller). Absent key: *out = NULL and 0 when !required, else
 * PC_EINVAL. Strings holding NUL bytes or longer than max are PC_EINVAL.
 */
int pc_params_strdup(const msgpack_object *params, const char *key, bool required, size_t max,
                     char **out, struct pc_err *err) PC_NODISCARD;

/* Reads a non-negative integer under key; absent and !required keeps *out. */
int pc_params_u64(const msgpack_object *params, const char *key, bool required, uint64_t *out,
                  struct pc_err *err) PC_NODISCARD;

/*
 * Reads an array of strings under key as an argv: *out is an owned
 * NULL-terminated array of owned strings (free with pc_argv_free). At most
 * max_args entries. Absent and !required: *out = NULL.
 */
int pc_params_argv(const msgpack_object *params, const char *key, bool required, size_t max_args,
                   char ***out, struct pc_err *err) PC_NODISCARD;

/* Frees an argv from pc_params_argv (accepts NULL). */
void pc_argv_free(char **argv);

#endif /* PEACE_PARAMS_H */
