/*
 * fsutil.c - the file-system steps of the items' atomic writes.
 *
 * A file is replaced by writing a temporary file in the same directory (a
 * rename is only atomic within one file system), fsyncing it, and renaming
 * it over the target; the directory is then fsynced so the rename itself is
 * durable. Every failure removes the temporary file, so an interrupted or
 * failed apply leaves either the old file or the new one and no debris.
 *
 * _GNU_SOURCE is defined for mkostemp(O_CLOEXEC): item functions run on
 * executor threads while other threads spawn processes, and a descriptor
 * without close-on-exec would leak into those children.
 */
#define _GNU_SOURCE /* NOLINT(bugprone-reserved-identifier): feature-test macro */

#include "items_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Longest file-name part kept in a temp name, so ".NAME.tmp.XXXXXX" fits NAME_MAX. */
#define TMP_BASE_MAX 200

int pc__mkdir_parents(const char *path, struct pc_err *err)
{
    char buf[PC_ITEMS_PATH_MAX + 1];
    size_t n = strlen(path);

    if (n > PC_ITEMS_PATH_MAX) {
        return pc_err_set(err, PC_EINVAL, "path longer than %d bytes", PC_ITEMS_PATH_MAX);
    }
    memcpy(buf, path, n + 1);
    /* Walk every separator after the first character: each prefix is a parent. */
    for (size_t i = 1; i < n; i++) {
        if (buf[i] != '/' || buf[i - 1] == '/') {
            continue;
        }
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            int rc = -errno;

            return pc__err_sys(err, rc, "cannot create directory %s", buf);
        }
        buf[i] = '/';
    }
    return 0;
}

int pc__tmp_open(const char *path, char **tmp_path, int *fd, struct pc_err *err)
{
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash != NULL ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dir_len;
    size_t base_len = strlen(base);
    size_t cap = 0;
    char *tmpl = NULL;
    int tmp_fd = -1;
    int rc = pc__mkdir_parents(path, err);

    if (rc < 0) {
        return rc;
    }
    if (base_len == 0) {
        return pc_err_set(err, PC_EINVAL, "path %s names a directory, not a file", path);
    }
    if (base_len > TMP_BASE_MAX) {
        base_len = TMP_BASE_MAX;
    }
    cap = dir_len + 1 + base_len + sizeof(".tmp.XXXXXX");
    tmpl = malloc(cap);
    if (tmpl == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    /* Hidden name next to the target: ".NAME.tmp.XXXXXX". */
    snprintf(tmpl, cap, "%.*s.%.*s.tmp.XXXXXX", (int)dir_len, path, (int)base_len, base);
    tmp_fd = mkostemp(tmpl, O_CLOEXEC);
    if (tmp_fd < 0) {
        rc = -errno;
        pc__err_sys(err, rc, "cannot create a temporary file next to %s", path);
        free(tmpl);
        return rc;
    }
    *tmp_path = tmpl;
    *fd = tmp_fd;
    return 0;
}

/* Makes a completed rename durable; failures are ignored because the file is already in place. */
static void fsync_parent_dir(const char *path)
{
    char dir[PC_ITEMS_PATH_MAX + 1];
    const char *slash = strrchr(path, '/');
    int fd = -1;

    if (slash == NULL) {
        memcpy(dir, ".", 2);
    } else if (slash == path) {
        memcpy(dir, "/", 2);
    } else {
        size_t n = (size_t)(slash - path);

        if (n > PC_ITEMS_PATH_MAX) {
            return;
        }
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

int pc__tmp_commit(int fd, const char *tmp_path, const char *path, unsigned mode,
                   struct pc_err *err)
{
    int rc = 0;

    if (fchmod(fd, (mode_t)mode) != 0) {
        rc = pc__err_sys(err, -errno, "cannot set mode %04o on %s", mode, tmp_path);
        goto fail;
    }
    if (fsync(fd) != 0) {
        rc = pc__err_sys(err, -errno, "cannot sync %s", tmp_path);
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = pc__err_sys(err, -errno, "cannot close %s", tmp_path);
        goto fail;
    }
    fd = -1;
    if (rename(tmp_path, path) != 0) {
        rc = pc__err_sys(err, -errno, "cannot rename the temporary file onto %s", path);
        goto fail;
    }
    fsync_parent_dir(path);
    return 0;
fail:
    if (fd >= 0) {
        close(fd);
    }
    unlink(tmp_path);
    return rc;
}

void pc__tmp_abandon(int fd, const char *tmp_path)
{
    if (fd >= 0) {
        close(fd);
    }
    if (tmp_path != NULL) {
        unlink(tmp_path);
    }
}

int pc__write_all(int fd, const void *p, size_t n)
{
    const char *at = p;

    while (n > 0) {
        ssize_t w = write(fd, at, n);

        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        at += w;
        n -= (size_t)w;
    }
    return 0;
}

int pc__unlink_if_exists(const char *path, struct pc_err *err)
{
    if (unlink(path) != 0 && errno != ENOENT) {
        return pc__err_sys(err, -errno, "cannot remove %s", path);
    }
    return 0;
}
