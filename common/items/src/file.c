/*
 * file.c - the `file` item type: a file with given content and mode.
 *
 * params  {path: str, content: str | content_base64: str, mode?: "0644"}
 * state   {exists: bool, size: uint, sha256: str, mode: str}
 *         sha256 is 64 lowercase hex digits of the content, mode the four
 *         octal digits of the permission bits ("0644").
 * clean   {exists: false, size: 0, sha256: "", mode: ""} - the state of an
 *         absent file, so a discovered absent file equals clean byte for byte.
 * diff    {change: "none"|"create"|"update"|"delete", content: bool, mode: bool}
 *         content/mode tell whether the bytes / the permission bits change.
 *
 * The goal is computed from params alone. Apply writes the whole content to
 * a temporary file next to the target and renames it over (never a partial
 * file on disk), or only chmods when the content already matches; clean
 * removes the file. Apply re-discovers the file afterwards, so the state it
 * returns is what is on disk, not what was intended. Symlinks and other
 * non-regular files at path are errors rather than being replaced silently.
 */
#include "peace/items.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "items_internal.h"
#include "peace/params.h"

#define FILE_MODE_DEFAULT 0644u
#define FILE_CHUNK        ((size_t)64 * 1024)

struct file_params {
    char *path;
    uint8_t *content; /* owned; content_len bytes */
    size_t content_len;
    unsigned mode; /* permission bits, <= 07777 */
};

/* A decoded file state. */
struct file_state {
    bool exists;
    uint64_t size;
    char sha256[PC_SHA256_HEX_LEN + 1];
    char mode[8];
};

/* ------------------------------------------------------------------------ */
/* Params                                                                    */

static void file_params_destroy(void *p)
{
    struct file_params *fp = p;

    if (fp == NULL) {
        return;
    }
    free(fp->path);
    free(fp->content);
    free(fp);
}

/* Parses "0644"-style text: one to four octal digits. */
static int parse_mode(const msgpack_object *v, unsigned *out, struct pc_err *err)
{
    unsigned mode = 0;
    uint32_t n = 0;

    if (v->type != MSGPACK_OBJECT_STR || v->via.str.size == 0 || v->via.str.size > 4) {
        return pc_err_set(err, PC_EINVAL, "params.mode: expected an octal string such as \"0644\"");
    }
    n = v->via.str.size;
    for (uint32_t i = 0; i < n; i++) {
        char c = v->via.str.ptr[i];

        if (c < '0' || c > '7') {
            return pc_err_set(err, PC_EINVAL,
                              "params.mode: expected an octal string such as \"0644\"");
        }
        mode = mode * 8u + (unsigned)(c - '0');
    }
    *out = mode;
    return 0;
}

/* Reads content or content_base64 (exactly one) into fp. */
static int parse_content(const msgpack_object *params, struct file_params *fp, struct pc_err *err)
{
    const msgpack_object *text = pc_msgpack_map_get(params, "content");
    const msgpack_object *b64 = pc_msgpack_map_get(params, "content_base64");
    int rc = 0;

    text = text != NULL && text->type != MSGPACK_OBJECT_NIL ? text : NULL;
    b64 = b64 != NULL && b64->type != MSGPACK_OBJECT_NIL ? b64 : NULL;
    if (text != NULL && b64 != NULL) {
        return pc_err_set(err, PC_EINVAL,
                          "params: give either content or content_base64, not both");
    }
    if (text == NULL && b64 == NULL) {
        return pc_err_set(err, PC_EINVAL, "params.content: required (or params.content_base64)");
    }
    if (b64 != NULL) {
        if (b64->type != MSGPACK_OBJECT_STR) {
            return pc_err_set(err, PC_EINVAL, "params.content_base64: expected a string");
        }
        rc = pc__base64_decode(b64->via.str.ptr, b64->via.str.size, &fp->content, &fp->content_len,
                               err);
        if (rc < 0) {
            pc_err_prefix(err, "params.content_base64");
        }
        return rc;
    }
    if (text->type != MSGPACK_OBJECT_STR) {
        return pc_err_set(err, PC_EINVAL, "params.content: expected a string");
    }
    fp->content_len = text->via.str.size;
    fp->content = malloc(fp->content_len > 0 ? fp->content_len : 1);
    if (fp->content == NULL) {
        return pc_err_set(err, PC_ENOMEM, "params.content: out of memory");
    }
    if (fp->content_len > 0) {
        memcpy(fp->content, text->via.str.ptr, fp->content_len);
    }
    return 0;
}

static int file_params_create(const msgpack_object *params, void **out, struct pc_err *err)
{
    struct file_params *fp = calloc(1, sizeof(*fp));
    const msgpack_object *mode = NULL;
    int rc = 0;

    if (fp == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    fp->mode = FILE_MODE_DEFAULT;
    rc = pc_params_strdup(params, "path", true, PC_ITEMS_PATH_MAX, &fp->path, err);
    if (rc < 0) {
        goto fail;
    }
    if (fp->path[0] == '\0' || fp->path[strlen(fp->path) - 1] == '/') {
        rc = pc_err_set(err, PC_EINVAL,
                        "params.path: expected a file path (not empty, no trailing /)");
        goto fail;
    }
    rc = parse_content(params, fp, err);
    if (rc < 0) {
        goto fail;
    }
    mode = pc_msgpack_map_get(params, "mode");
    if (mode != NULL && mode->type != MSGPACK_OBJECT_NIL) {
        rc = parse_mode(mode, &fp->mode, err);
        if (rc < 0) {
            goto fail;
        }
    }
    *out = fp;
    return 0;
fail:
    file_params_destroy(fp);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* States                                                                    */

static int file_state_pack(bool exists, uint64_t size, const char *sha256, const char *mode,
                           struct pc_state *out, struct pc_err *err)
{
    struct pc__mpw w;

    pc__mpw_init(&w);
    pc__mpw_map(&w, 4);
    pc__mpw_cstr(&w, "exists");
    pc__mpw_bool(&w, exists);
    pc__mpw_cstr(&w, "size");
    pc__mpw_u64(&w, size);
    pc__mpw_cstr(&w, "sha256");
    pc__mpw_cstr(&w, sha256);
    pc__mpw_cstr(&w, "mode");
    pc__mpw_cstr(&w, mode);
    return pc__mpw_finish(&w, out, err);
}

/* Copies a bounded state string into dst (dst_size includes the NUL). */
static int copy_field(const struct pc__mpr *r, const char *key, char *dst, size_t dst_size,
                      struct pc_err *err)
{
    const char *p = NULL;
    size_t n = 0;
    int rc = pc__mpr_str(r, key, false, &p, &n, err);

    if (rc < 0) {
        return rc;
    }
    if (n >= dst_size) {
        return pc_err_set(err, PC_ESCHEMA, "%s.%s: longer than %zu bytes", r->what, key,
                          dst_size - 1);
    }
    memcpy(dst, p, n);
    dst[n] = '\0';
    return 0;
}

static int file_state_decode(const struct pc_state *s, const char *what, struct file_state *out,
                             struct pc_err *err)
{
    struct pc__mpr r;
    struct file_state fs = {0};
    int rc = pc__mpr_open(&r, s, what, err);

    if (rc < 0) {
        return rc;
    }
    rc = pc__mpr_bool(&r, "exists", &fs.exists, err);
    if (rc == 0) {
        rc = pc__mpr_u64(&r, "size", &fs.size, err);
    }
    if (rc == 0) {
        rc = copy_field(&r, "sha256", fs.sha256, sizeof(fs.sha256), err);
    }
    if (rc == 0) {
        rc = copy_field(&r, "mode", fs.mode, sizeof(fs.mode), err);
    }
    pc__mpr_close(&r);
    if (rc == 0) {
        *out = fs;
    }
    return rc;
}

/* Hashes an open regular file; *size is the number of bytes read. */
static int hash_fd(int fd, const char *path, char hex[PC_SHA256_HEX_LEN + 1], uint64_t *size,
                   struct pc_err *err)
{
    struct pc_sha256 c;
    uint8_t digest[PC_SHA256_LEN];
    uint8_t *buf = malloc(FILE_CHUNK);
    uint64_t total = 0;

    if (buf == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    pc_sha256_init(&c);
    for (;;) {
        ssize_t n = read(fd, buf, FILE_CHUNK);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int rc = -errno;

            free(buf);
            return pc__err_sys(err, rc, "cannot read %s", path);
        }
        if (n == 0) {
            break;
        }
        pc_sha256_update(&c, buf, (size_t)n);
        total += (uint64_t)n;
    }
    free(buf);
    pc_sha256_final(&c, digest);
    pc_sha256_hex(digest, hex);
    *size = total;
    return 0;
}

/* Discovers the state of the file at path (the operation path of a
 * pc__where). */
static int discover_at(const char *path, struct pc_state *out, struct pc_err *err)
{
    struct stat st;
    char hex[PC_SHA256_HEX_LEN + 1];
    char mode[8];
    uint64_t size = 0;
    int fd = -1;
    int rc = 0;

    if (lstat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            return file_state_pack(false, 0, "", "", out, err);
        }
        return pc__err_sys(err, -errno, "cannot stat %s", path);
    }
    if (!S_ISREG(st.st_mode)) {
        return pc_err_set(err, PC_EINVAL, "%s exists and is not a regular file", path);
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return pc__err_sys(err, -errno, "cannot open %s", path);
    }
    /* Mode from the opened file: the one whose bytes are hashed. */
    if (fstat(fd, &st) != 0) {
        rc = pc__err_sys(err, -errno, "cannot stat %s", path);
        close(fd);
        return rc;
    }
    rc = hash_fd(fd, path, hex, &size, err);
    close(fd);
    if (rc < 0) {
        return rc;
    }
    snprintf(mode, sizeof(mode), "%04o", (unsigned)(st.st_mode & 07777));
    return file_state_pack(true, size, hex, mode, out, err);
}

/* Discovers the state of the file at path, inside root when root is set. */
static int file_discover(const char *root, const char *path, struct pc_state *out,
                         struct pc_err *err)
{
    struct pc__where wh;
    int rc = pc__where_open(root, path, false, &wh, err);

    if (rc < 0) {
        return rc;
    }
    rc = wh.absent ? file_state_pack(false, 0, "", "", out, err) : discover_at(wh.path, out, err);
    pc__where_close(&wh);
    return rc;
}

static int file_state_current(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                              struct pc_err *err)
{
    const struct file_params *fp = params;

    return file_discover(ctx->file_root, fp->path, out, err);
}

static int file_state_goal(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                           struct pc_err *err)
{
    const struct file_params *fp = params;
    char hex[PC_SHA256_HEX_LEN + 1];
    char mode[8];

    (void)ctx;
    pc_sha256_hex_of(fp->content, fp->content_len, hex);
    snprintf(mode, sizeof(mode), "%04o", fp->mode);
    return file_state_pack(true, fp->content_len, hex, mode, out, err);
}

static int file_state_clean(const void *params, struct pc_state *out, struct pc_err *err)
{
    (void)params;
    return file_state_pack(false, 0, "", "", out, err);
}

/* ------------------------------------------------------------------------ */
/* Diff, check, apply                                                        */

enum file_change { FILE_NONE, FILE_CREATE, FILE_UPDATE, FILE_DELETE };

struct file_delta {
    enum file_change change;
    bool content; /* the bytes change */
    bool mode;    /* the permission bits change */
};

static struct file_delta file_compare(const struct file_state *a, const struct file_state *b)
{
    struct file_delta d;

    d.content = a->exists != b->exists || a->size != b->size || strcmp(a->sha256, b->sha256) != 0;
    d.mode = strcmp(a->mode, b->mode) != 0;
    if (!a->exists && !b->exists) {
        d.change = FILE_NONE;
        d.content = false;
        d.mode = false;
    } else if (!a->exists) {
        d.change = FILE_CREATE;
    } else if (!b->exists) {
        d.change = FILE_DELETE;
    } else {
        d.change = d.content || d.mode ? FILE_UPDATE : FILE_NONE;
    }
    return d;
}

static int file_state_diff(const void *params, const struct pc_state *a, const struct pc_state *b,
                           struct pc_state *out, struct pc_err *err)
{
    static const char *const names[] = {"none", "create", "update", "delete"};
    struct file_state sa = {0};
    struct file_state sb = {0};
    struct file_delta d;
    struct pc__mpw w;
    int rc = 0;

    (void)params;
    rc = file_state_decode(a, "state a", &sa, err);
    if (rc == 0) {
        rc = file_state_decode(b, "state b", &sb, err);
    }
    if (rc < 0) {
        return rc;
    }
    d = file_compare(&sa, &sb);
    pc__mpw_init(&w);
    pc__mpw_map(&w, 3);
    pc__mpw_cstr(&w, "change");
    pc__mpw_cstr(&w, names[d.change]);
    pc__mpw_cstr(&w, "content");
    pc__mpw_bool(&w, d.content);
    pc__mpw_cstr(&w, "mode");
    pc__mpw_bool(&w, d.mode);
    return pc__mpw_finish(&w, out, err);
}

static int file_apply_check(const void *params, const struct pc_state *current,
                            const struct pc_state *target, const struct pc_state *diff,
                            struct pc_apply_check *out, struct pc_err *err)
{
    struct file_state cur = {0};
    struct file_state tgt = {0};
    struct file_delta d;
    int rc = 0;

    (void)params;
    (void)diff;
    /* Decided from the two states, not the diff, so a diff from another
     * version of this type cannot make the check wrong. */
    rc = file_state_decode(current, "current state", &cur, err);
    if (rc == 0) {
        rc = file_state_decode(target, "target state", &tgt, err);
    }
    if (rc < 0) {
        return rc;
    }
    d = file_compare(&cur, &tgt);
    out->exec_required = d.change != FILE_NONE;
    out->limit.kind = PC_LIMIT_STEPS;
    out->limit.n = out->exec_required ? 1 : 0;
    if (d.change != FILE_NONE && d.change != FILE_DELETE && d.content && tgt.size > 0) {
        out->limit.kind = PC_LIMIT_BYTES;
        out->limit.n = tgt.size;
    }
    return 0;
}

/* Writes the params content to path (an operation path) atomically,
 * reporting bytes written. */
static int file_write(struct pc_item_ctx *ctx, const struct file_params *fp, const char *path,
                      struct pc_err *err)
{
    char *tmp_path = NULL;
    int fd = -1;
    size_t off = 0;
    int rc = pc__tmp_open(path, &tmp_path, &fd, err);

    if (rc < 0) {
        return rc;
    }
    while (off < fp->content_len) {
        size_t n = fp->content_len - off < FILE_CHUNK ? fp->content_len - off : FILE_CHUNK;

        rc = pc__write_all(fd, fp->content + off, n);
        if (rc < 0) {
            pc__err_sys(err, rc, "cannot write %s", tmp_path);
            pc__tmp_abandon(fd, tmp_path);
            goto out;
        }
        off += n;
        pc_item_progress_inc(ctx, n, NULL);
    }
    rc = pc__tmp_commit(fd, tmp_path, path, fp->mode, err);
    if (rc == 0 && fp->content_len == 0) {
        /* An empty file was sized as one step rather than zero bytes. */
        pc_item_progress_inc(ctx, 1, NULL);
    }
out:
    free(tmp_path);
    return rc;
}

/* Checks that target is the goal these params produce (and not, say, a goal
 * stored from older params), so apply never returns something else. */
static int check_target_matches(const struct file_params *fp, const struct file_state *tgt,
                                struct pc_err *err)
{
    char hex[PC_SHA256_HEX_LEN + 1];
    char mode[8];

    pc_sha256_hex_of(fp->content, fp->content_len, hex);
    snprintf(mode, sizeof(mode), "%04o", fp->mode);
    if (tgt->size != fp->content_len || strcmp(tgt->sha256, hex) != 0 ||
        strcmp(tgt->mode, mode) != 0) {
        return pc_err_set(err, PC_EINVAL,
                          "target state is not the goal of these params (re-run discovery)");
    }
    return 0;
}

/* Sets the permission bits of the regular file at path (never through a
 * symlink). */
static int set_mode(const char *path, const char *shown, unsigned mode, struct pc_err *err)
{
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

    if (fd < 0) {
        return pc__err_sys(err, -errno, "cannot open %s", shown);
    }
    if (fchmod(fd, (mode_t)mode) != 0) {
        rc = pc__err_sys(err, -errno, "cannot set mode %04o on %s", mode, shown);
    }
    close(fd);
    return rc;
}

/* Apply's change, on the operation path of a pc__where. */
static int apply_at(struct pc_item_ctx *ctx, const struct file_params *fp, const char *path,
                    const struct pc_state *current, const struct file_state *tgt,
                    struct pc_err *err)
{
    struct file_state cur = {0};
    int rc = 0;

    if (!tgt->exists) {
        rc = pc__unlink_if_exists(path, err);
        if (rc == 0) {
            pc_item_progress_inc(ctx, 1, NULL);
        }
        return rc;
    }
    /* Same bytes already in place: only the permission bits need fixing. An
     * unreadable current state just means a full rewrite. */
    if (file_state_decode(current, "current state", &cur, NULL) == 0 && cur.exists &&
        cur.size == tgt->size && strcmp(cur.sha256, tgt->sha256) == 0) {
        rc = set_mode(path, fp->path, fp->mode, err);
        if (rc == 0) {
            pc_item_progress_inc(ctx, 1, NULL);
        }
        return rc;
    }
    return file_write(ctx, fp, path, err);
}

static int file_apply(struct pc_item_ctx *ctx, const void *params, const struct pc_state *current,
                      const struct pc_state *target, const struct pc_state *diff,
                      struct pc_state *out, struct pc_err *err)
{
    const struct file_params *fp = params;
    struct file_state tgt = {0};
    struct pc__where wh;
    int rc = file_state_decode(target, "target state", &tgt, err);

    (void)diff;
    if (rc < 0) {
        return rc;
    }
    if (tgt.exists) {
        rc = check_target_matches(fp, &tgt, err);
        if (rc < 0) {
            return rc;
        }
    }
    rc = pc__where_open(ctx->file_root, fp->path, tgt.exists, &wh, err);
    if (rc < 0) {
        return rc;
    }
    if (!wh.absent) {
        rc = apply_at(ctx, fp, wh.path, current, &tgt, err);
    } else {
        pc_item_progress_inc(ctx, 1, NULL); /* nothing to remove */
    }
    if (rc == 0) {
        rc = wh.absent ? file_state_pack(false, 0, "", "", out, err)
                       : discover_at(wh.path, out, err);
    }
    pc__where_close(&wh);
    return rc;
}

static int file_apply_dry(struct pc_item_ctx *ctx, const void *params,
                          const struct pc_state *current, const struct pc_state *target,
                          const struct pc_state *diff, struct pc_state *out, struct pc_err *err)
{
    int rc = 0;

    (void)ctx;
    (void)params;
    (void)current;
    (void)diff;
    rc = pc_state_copy(out, target);
    if (rc < 0) {
        return pc_err_set(err, rc, "cannot copy the target state");
    }
    return 0;
}

/* Field equality, so states written by another encoder (other key order or
 * integer widths) still compare equal when they describe the same file. */
static bool file_state_eq(const void *params, const struct pc_state *a, const struct pc_state *b)
{
    struct file_state sa = {0};
    struct file_state sb = {0};

    (void)params;
    if (!pc_state_present(a) || !pc_state_present(b) || file_state_decode(a, "a", &sa, NULL) < 0 ||
        file_state_decode(b, "b", &sb, NULL) < 0) {
        return pc_state_bytes_eq(a, b);
    }
    return sa.exists == sb.exists && sa.size == sb.size && strcmp(sa.sha256, sb.sha256) == 0 &&
           strcmp(sa.mode, sb.mode) == 0;
}

/* A file at another path is another file: the old one is removed (cleaned
 * with the stored params), then the new one written. */
static bool file_needs_replacement(const void *stored_params, const void *new_params)
{
    const struct file_params *a = stored_params;
    const struct file_params *b = new_params;

    return strcmp(a->path, b->path) != 0;
}

const struct pc_item_type pc_item_file = {
    .name = "file",
    .params_create = file_params_create,
    .params_destroy = file_params_destroy,
    .state_current = file_state_current,
    .state_goal = file_state_goal,
    .state_diff = file_state_diff,
    .state_clean = file_state_clean,
    .apply_check = file_apply_check,
    .apply_dry = file_apply_dry,
    .apply = file_apply,
    .state_eq = file_state_eq,
    .needs_replacement = file_needs_replacement,
};
