/*
 * secret.c - secrets from a value or a file (secret.h).
 *
 * Design. A secret file is read whole, bounded, and must be one line: a
 * Docker or Kubernetes secret, or `printf %s "$TOKEN" > file`, both end
 * with at most one newline, which is dropped. Anything else (a directory, a
 * FIFO that would block, a second line) is a mistake worth a clear error
 * rather than a secret that silently differs from what the operator meant.
 * Messages name the file, never what it holds.
 */
#include "peace/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail_errno(struct pc_err *err, int e, const char *what, const char *path)
{
    char text[128];

    if (strerror_r(e, text, sizeof(text)) != 0) {
        (void)snprintf(text, sizeof(text), "error %d", e);
    }
    return pc_err_set(err, -e, "cannot %s %.200s: %s", what, path, text);
}

static int read_all(int fd, char *buf, size_t size, size_t *len)
{
    size_t n = 0;

    while (n < size) {
        ssize_t r = read(fd, buf + n, size - n);

        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
    }
    *len = n;
    return 0;
}

int pc_secret_read_file(const char *path, char *out, size_t out_size, size_t *out_len,
                        struct pc_err *err)
{
    char buf[PC_SECRET_FILE_MAX + 1];
    struct stat st;
    size_t n = 0;
    int fd;
    int rc;

    if (path == NULL || path[0] == '\0') {
        return pc_err_set(err, PC_EINVAL, "an empty file name");
    }
    if (out_size == 0) {
        return pc_err_set(err, PC_ELIMIT, "no room for the secret");
    }
    /* O_NONBLOCK: a FIFO must not hang the program; it is refused below. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        return fail_errno(err, errno, "open", path);
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        (void)close(fd);
        return pc_err_set(err, PC_EINVAL, "%.200s is not a regular file", path);
    }
    rc = read_all(fd, buf, sizeof(buf), &n);
    (void)close(fd);
    if (rc != 0) {
        return fail_errno(err, -rc, "read", path);
    }
    if (n > PC_SECRET_FILE_MAX) {
        return pc_err_set(err, PC_ELIMIT, "%.200s is larger than %d bytes", path,
                          PC_SECRET_FILE_MAX);
    }
    if (n > 0 && buf[n - 1] == '\n') {
        n--;
        if (n > 0 && buf[n - 1] == '\r') {
            n--;
        }
    }
    if (n == 0) {
        return pc_err_set(err, PC_EINVAL, "%.200s is empty", path);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];

        if (c < 0x20 || c == 0x7f) {
            return pc_err_set(err, PC_EINVAL,
                              "%.200s holds a line break or control character (one line expected)",
                              path);
        }
    }
    if (n >= out_size) {
        return pc_err_set(err, PC_ELIMIT, "the secret in %.200s is longer than %zu bytes", path,
                          out_size - 1);
    }
    memcpy(out, buf, n);
    out[n] = '\0';
    if (out_len != NULL) {
        *out_len = n;
    }
    return 0;
}

static bool given(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* Copies a value given inline. */
static int take_value(const char *name, const char *v, char *out, size_t out_size, size_t *out_len,
                      struct pc_err *err)
{
    size_t n = strlen(v);

    if (n >= out_size) {
        return pc_err_set(err, PC_ELIMIT, "%s: longer than %zu bytes", name, out_size - 1);
    }
    memcpy(out, v, n + 1);
    if (out_len != NULL) {
        *out_len = n;
    }
    return 0;
}

static int take_file(const char *name, const char *path, char *out, size_t out_size,
                     size_t *out_len, struct pc_err *err)
{
    int rc = pc_secret_read_file(path, out, out_size, out_len, err);

    if (rc != 0) {
        pc_err_prefix(err, "%s", name);
    }
    return rc;
}

int pc_secret_get(const struct pc_secret_src *src, char *out, size_t out_size, size_t *out_len,
                  bool *found, struct pc_err *err)
{
    *found = false;
    if (out_size > 0) {
        out[0] = '\0';
    }
    if (out_len != NULL) {
        *out_len = 0;
    }
    if (given(src->value) && given(src->file)) {
        return pc_err_set(err, PC_EINVAL, "give %s or %s, not both", src->flag, src->file_flag);
    }
    if (given(src->value) || given(src->file)) {
        *found = true;
        return given(src->value)
                   ? take_value(src->flag, src->value, out, out_size, out_len, err)
                   : take_file(src->file_flag, src->file, out, out_size, out_len, err);
    }
    if (given(src->env_value) && given(src->env_file)) {
        return pc_err_set(err, PC_EINVAL, "set %s or %s, not both", src->env, src->env_file_var);
    }
    if (given(src->env_value) || given(src->env_file)) {
        *found = true;
        return given(src->env_value)
                   ? take_value(src->env, src->env_value, out, out_size, out_len, err)
                   : take_file(src->env_file_var, src->env_file, out, out_size, out_len, err);
    }
    return 0;
}
