/*
 * secret.h - secrets (tokens, a Redis URL with its password) given as a
 * value or as a file, so they need not show in `ps` or the environment of
 * every process: `--token-file PATH` / `PEACE_TOKEN_FILE`, and the same for
 * every secret of every program.
 *
 * Pure apart from reading the file; no global state.
 */
#ifndef PEACE_SECRET_H
#define PEACE_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "peace/err.h"

/* Largest secret file read (a longer file is refused, not cut). */
#define PC_SECRET_FILE_MAX 8192

/*
 * Reads the secret in the file at path into out (out_size bytes,
 * NUL-terminated): the whole file but one trailing newline ("\n" or
 * "\r\n"). Refused with a one-line reason naming the path, never the
 * content: a file that cannot be opened or read (-errno), one that is not
 * a regular file or is empty (PC_EINVAL), holds a NUL, a control character
 * or a line break inside (PC_EINVAL), or does not fit out or
 * PC_SECRET_FILE_MAX (PC_ELIMIT). *out_len (may be NULL) is its length.
 */
int pc_secret_read_file(const char *path, char *out, size_t out_size, size_t *out_len,
                        struct pc_err *err) PC_NODISCARD;

/*
 * Where one secret may come from, in precedence order: the flag's value,
 * the flag's file, the environment variable, the environment's file
 * variable. NULL or "" means not given. Names are for messages.
 */
struct pc_secret_src {
    const char *flag;         /* "--token" */
    const char *file_flag;    /* "--token-file" */
    const char *env;          /* "PEACE_TOKEN" */
    const char *env_file_var; /* "PEACE_TOKEN_FILE" */
    const char *value;        /* the flag's value */
    const char *file;         /* the file flag's value */
    const char *env_value;    /* the environment variable's value */
    const char *env_file;     /* the file variable's value */
};

/*
 * Resolves src into out: the first source given wins, flags over the
 * environment; giving both a value and a file at the same level (the flag
 * and its file flag, or the variable and its file variable) is refused as
 * ambiguous. *found says whether any source was given (out is "" when
 * not). Errors as pc_secret_read_file, prefixed with the flag or variable.
 */
int pc_secret_get(const struct pc_secret_src *src, char *out, size_t out_size, size_t *out_len,
                  bool *found, struct pc_err *err) PC_NODISCARD;

#endif /* PEACE_SECRET_H */
