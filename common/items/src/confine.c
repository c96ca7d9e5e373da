/*
 * confine.c - the path confinement of peace-worker --file-root: the paths of
 * `file` and `http_download` must stay inside one directory.
 *
 * Two checks, both failing closed:
 *  1. before anything runs (the worker, on accepting a job, and again in the
 *     item right before it touches the path): no ".." component, and the
 *     deepest existing ancestor of the path, resolved with realpath (every
 *     symlink followed), is the root or below it;
 *  2. at the moment of the operation: the parent directory is opened and
 *     held, the directory actually opened is checked through its descriptor
 *     (/proc/self/fd/N), and the file operation goes through that descriptor
 *     ("/proc/self/fd/N/NAME"), so swapping a directory for a symlink after
 *     check 1 cannot redirect it. The last component is never followed when
 *     it is a symlink (rename replaces it, unlink removes it, reads use
 *     O_NOFOLLOW).
 * What a local user who can write inside the root can still do by racing
 * the worker: make it create empty parent directories outside the root
 * (mkdir runs between checks 1 and 2); check 2 then refuses the write.
 */
#define _GNU_SOURCE /* NOLINT(bugprone-reserved-identifier): feature-test macro */

#include "items_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "peace/items.h"

const char *pc_items_confined_param(const char *type)
{
    if (type != NULL && (strcmp(type, "file") == 0 || strcmp(type, "http_download") == 0)) {
        return "path";
    }
    return NULL;
}

/* True when canonical path p is root or below it (root canonical too). */
static bool inside(const char *root, const char *p)
{
    size_t n = strlen(root);

    if (n == 1 && root[0] == '/') {
        return p[0] == '/';
    }
    return strncmp(p, root, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

static bool has_dotdot(const char *path)
{
    const char *p = path;

    while (*p != '\0') {
        size_t n = strcspn(p, "/");

        if (n == 2 && p[0] == '.' && p[1] == '.') {
            return true;
        }
        p += n;
        p += strspn(p, "/");
    }
    return false;
}

int pc_items_path_confined(const char *root, const char *path, struct pc_err *err)
{
    char abs[PC_ITEMS_PATH_MAX + PATH_MAX + 2];
    char real[PATH_MAX];
    size_t n;

    if (path == NULL || path[0] == '\0') {
        return pc_err_set(err, PC_EINVAL, "empty path");
    }
    if (strlen(path) > PC_ITEMS_PATH_MAX) {
        return pc_err_set(err, PC_EINVAL, "path longer than %d bytes", PC_ITEMS_PATH_MAX);
    }
    if (has_dotdot(path)) {
        return pc_err_set(err, PC_EINVAL,
                          "path %s has a '..' component (not allowed with --file-root)", path);
    }
    if (path[0] == '/') {
        (void)snprintf(abs, sizeof(abs), "%s", path);
    } else {
        if (getcwd(real, sizeof(real)) == NULL) {
            return pc__err_sys(err, -errno, "cannot resolve %s: no working directory", path);
        }
        (void)snprintf(abs, sizeof(abs), "%s/%s", real, path);
    }
    /* The deepest ancestor that exists (the path itself when it does). */
    n = strlen(abs);
    for (;;) {
        struct stat st;

        if (lstat(abs, &st) == 0) {
            break;
        }
        if (errno != ENOENT && errno != ENOTDIR) {
            return pc__err_sys(err, -errno, "cannot check %s", abs);
        }
        while (n > 1 && abs[n - 1] == '/') {
            n--;
        }
        while (n > 1 && abs[n - 1] != '/') {
            n--;
        }
        abs[n > 1 ? n - 1 : 1] = '\0';
        n = strlen(abs);
    }
    if (realpath(abs, real) == NULL) {
        return pc__err_sys(err, -errno, "cannot resolve %s (a dangling symlink?)", abs);
    }
    if (!inside(root, real)) {
        if (strcmp(real, abs) == 0) {
            return pc_err_set(err, PC_EINVAL, "path %s is outside the file root %s", path, root);
        }
        return pc_err_set(err, PC_EINVAL, "path %s is outside the file root %s (%s resolves to %s)",
                          path, root, abs, real);
    }
    return 0;
}

void pc__where_close(struct pc__where *w)
{
    if (w->dirfd >= 0) {
        close(w->dirfd);
        w->dirfd = -1;
    }
}

int pc__where_open(const char *root, const char *path, bool create_parents, struct pc__where *w,
                   struct pc_err *err)
{
    char dir[PC_ITEMS_PATH_MAX + 1];
    char link[64];
    char real[PATH_MAX];
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    ssize_t n;
    int rc;

    w->dirfd = -1;
    w->absent = false;
    if (strlen(path) > PC_ITEMS_PATH_MAX) {
        return pc_err_set(err, PC_EINVAL, "path longer than %d bytes", PC_ITEMS_PATH_MAX);
    }
    if (root == NULL) {
        (void)snprintf(w->path, sizeof(w->path), "%s", path);
        return create_parents ? pc__mkdir_parents(path, err) : 0;
    }
    rc = pc_items_path_confined(root, path, err);
    if (rc == 0 && create_parents) {
        rc = pc__mkdir_parents(path, err);
    }
    if (rc < 0) {
        return rc;
    }
    if (slash == NULL) {
        memcpy(dir, ".", 2);
    } else if (slash == path) {
        memcpy(dir, "/", 2);
    } else {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    }
    w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->dirfd < 0) {
        if (errno == ENOENT && !create_parents) {
            w->absent = true; /* no parent directory: no file either */
            return 0;
        }
        return pc__err_sys(err, -errno, "cannot open directory %s", dir);
    }
    (void)snprintf(link, sizeof(link), "/proc/self/fd/%d", w->dirfd);
    n = readlink(link, real, sizeof(real) - 1);
    if (n < 0 || (size_t)n >= sizeof(real) - 1) {
        rc = pc__err_sys(err, n < 0 ? -errno : PC_ELIMIT,
                         "cannot check where directory %s is (is /proc mounted?)", dir);
        pc__where_close(w);
        return rc;
    }
    real[n] = '\0';
    if (!inside(root, real)) {
        pc__where_close(w);
        return pc_err_set(err, PC_EINVAL,
                          "path %s is outside the file root %s (its directory is now %s)", path,
                          root, real);
    }
    (void)snprintf(w->path, sizeof(w->path), "%s/%s", link, base);
    return 0;
}
