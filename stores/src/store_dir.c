/*
 * store_dir.c - the local-directory states store of the local runner.
 *
 * Each (app, profile, flow) has a directory `<root>/.peace/<app>/<profile>/
 * <flow>/` holding `states_current.msgpack`, `states_goal.msgpack` and
 * `states_items.msgpack` (the item records), each one states envelope of
 * schemas/ (msg_states_encode_ex / msg_states_decode_ex). Entries of ids the
 * flow does not know (obsolete items) are kept by every write: only
 * remove_item drops them, once they were cleaned.
 * The envelope names its flow, so a file copied to the wrong place is
 * refused instead of being read as someone else's states.
 *
 * Every write replaces the whole file atomically: the new content goes to a
 * temporary file in the same directory, is fsync'd, renamed over the old
 * file, and the directory is fsync'd so the rename itself survives a crash.
 * A reader therefore sees either the old map or the new one, never a mix.
 * write_item is a read-modify-write of that file: the local runner has one
 * writer per flow and maps are small, so simplicity wins over a journal.
 *
 * All operations complete synchronously (the callback runs before the
 * operation returns, as store.h allows). Bad arguments are programming
 * errors: the operation returns PC_EINVAL and never calls back. Every I/O or
 * decoding failure is reported through the callback, naming the file.
 */
#include "peace/store_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "peace/msg.h"

#define STORE_DIR_MODE  0755
#define STORE_FILE_MODE 0644

struct pc_store_dir {
    char *root;              /* owned copy */
    struct pc_buf flow_path; /* storage behind pc_store_dir_flow_path */
};

/* ---- errors ------------------------------------------------------------ */

/* Records a failed system call on a path: "cannot <what> <path>: <reason>". */
static int sys_error(struct pc_err *err, int rc, const char *what, const char *path)
{
    char reason[128];

    /* The XSI strerror_r: thread-safe, unlike strerror. */
    if (rc <= -1000 || rc >= 0 || strerror_r(-rc, reason, sizeof(reason)) != 0) {
        (void)snprintf(reason, sizeof(reason), "%s", pc_strerror(rc));
    }
    return pc_err_set(err, rc, "cannot %s %s: %s", what, path, reason);
}

/* ---- paths ------------------------------------------------------------- */

/* A path that does not fit its buffer (PC_ELIMIT) or memory (PC_ENOMEM). */
static int path_error(int rc, struct pc_err *err)
{
    if (rc == PC_ELIMIT) {
        return pc_err_set(err, rc, "states dir: path longer than %d bytes", PATH_MAX);
    }
    return pc_err_set(err, rc, "states dir: out of memory");
}

/* Appends `<root>/.peace/<app>/<profile>/<flow>` to out. */
static int append_flow_dir(const struct pc_store_dir *d, const struct pc_flow *flow,
                           struct pc_buf *out, struct pc_err *err)
{
    /* The ids become path components: only identifiers may (no "..", no "/"). */
    const struct pc_id *parts[] = {&flow->app, &flow->profile, &flow->flow};
    int rc = 0;

    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        if (!pc_ident_valid(parts[i]->s, strlen(parts[i]->s))) {
            return pc_err_set(err, PC_EINVAL, "states dir: invalid identifier '%s'", parts[i]->s);
        }
    }
    rc = pc_buf_appendf(out, "%s/.peace/%s/%s/%s", d->root, flow->app.s, flow->profile.s,
                        flow->flow.s);
    if (rc != 0) {
        return path_error(rc, err);
    }
    return 0;
}

/* Fills dir with the flow's directory and file with the kind's file in it. */
static int build_paths(const struct pc_store_dir *d, const struct pc_flow *flow,
                       enum pc_states_kind kind, struct pc_buf *dir, struct pc_buf *file,
                       struct pc_err *err)
{
    const char *name = msg_states_kind_name(kind);
    int rc = 0;

    if (name == NULL) {
        return pc_err_set(err, PC_EINVAL, "states dir: unknown states kind %d", (int)kind);
    }
    rc = append_flow_dir(d, flow, dir, err);
    if (rc != 0) {
        return rc;
    }
    rc = pc_buf_appendf(file, "%s/states_%s.msgpack", pc_buf_str(dir), name);
    if (rc != 0) {
        return path_error(rc, err);
    }
    return 0;
}

/* mkdir -p over the path in b (modified in place while walking, restored). */
static int make_dirs(struct pc_buf *b, struct pc_err *err)
{
    char *path = b->data;

    for (size_t i = 1; i <= b->len; i++) {
        if (path[i] != '/' && path[i] != '\0') {
            continue;
        }
        if (path[i - 1] == '/') {
            continue; /* "//" or a trailing "/" */
        }
        char saved = path[i];
        path[i] = '\0';
        int rc = (mkdir(path, STORE_DIR_MODE) == 0 || errno == EEXIST) ? 0 : -errno;
        if (rc != 0) {
            sys_error(err, rc, "create directory", path);
        }
        path[i] = saved;
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* ---- files ------------------------------------------------------------- */

static int read_all(int fd, uint8_t *p, size_t n)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return -errno;
        }
        if (r == 0) {
            return PC_EIO; /* shrank while we read it */
        }
        got += (size_t)r;
    }
    return 0;
}

/*
 * Reads the whole file at path into *out (returns owned, malloc'd) and *len.
 * A missing file is PC_ENOTFOUND; a file over MSG_STATES_MAX is PC_ELIMIT.
 */
static int read_file(const char *path, uint8_t **out, size_t *len, struct pc_err *err)
{
    struct stat st;
    uint8_t *data = NULL;
    int fd = -1;
    int rc = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        if (rc == -ENOENT) {
            return pc_err_set(err, PC_ENOTFOUND, "no stored states: %s does not exist", path);
        }
        return sys_error(err, rc, "open", path);
    }
    if (fstat(fd, &st) != 0) {
        rc = sys_error(err, -errno, "stat", path);
        goto out;
    }
    if (st.st_size < 0 || (uintmax_t)st.st_size > MSG_STATES_MAX) {
        rc = pc_err_set(err, PC_ELIMIT, "%s: %jd bytes exceed the limit of %u", path,
                        (intmax_t)st.st_size, MSG_STATES_MAX);
        goto out;
    }
    data = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
    if (data == NULL) {
        rc = pc_err_set(err, PC_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    rc = read_all(fd, data, (size_t)st.st_size);
    if (rc != 0) {
        sys_error(err, rc, "read", path);
        goto out;
    }
    *out = data;
    *len = (size_t)st.st_size;
    data = NULL;
out:
    free(data);
    close(fd);
    return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
    size_t put = 0;

    while (put < n) {
        ssize_t w = write(fd, p + put, n - put);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            return -errno;
        }
        put += (size_t)w;
    }
    return 0;
}

/* fsync of a directory, so that a rename inside it is durable. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0) {
        return -errno;
    }
    if (fsync(fd) != 0) {
        rc = -errno;
    }
    close(fd);
    return rc;
}

/* Writes (p, n) to a new temporary file in dir, fsync'd, and closes it. */
static int write_temp(struct pc_buf *tmp, const char *dir, const char *p, size_t n,
                      struct pc_err *err)
{
    int fd = -1;
    int rc = 0;

    rc = pc_buf_appendf(tmp, "%s/.states.tmp.XXXXXX", dir);
    if (rc != 0) {
        return path_error(rc, err);
    }
    fd = mkstemp(tmp->data);
    if (fd < 0) {
        rc = -errno;
        pc_buf_reset(tmp); /* nothing to unlink */
        return sys_error(err, rc, "create a file in", dir);
    }
    /* mkstemp creates 0600; states are as readable as any other output. */
    if (fchmod(fd, STORE_FILE_MODE) != 0) {
        rc = -errno;
    }
    if (rc == 0) {
        rc = write_all(fd, p, n);
    }
    if (rc == 0 && fsync(fd) != 0) {
        rc = -errno;
    }
    if (close(fd) != 0 && rc == 0) {
        rc = -errno;
    }
    if (rc != 0) {
        return sys_error(err, rc, "write", tmp->data);
    }
    return 0;
}

/* Replaces path (in dir) with (p, n) atomically, creating dir as needed. */
static int replace_file(struct pc_buf *dir, const char *path, const char *p, size_t n,
                        struct pc_err *err)
{
    struct pc_buf tmp;
    int rc = 0;

    pc_buf_init(&tmp, PATH_MAX);
    rc = make_dirs(dir, err);
    if (rc != 0) {
        goto out;
    }
    rc = write_temp(&tmp, pc_buf_str(dir), p, n, err);
    if (rc != 0) {
        goto out;
    }
    if (rename(tmp.data, path) != 0) {
        rc = sys_error(err, -errno, "rename a file to", path);
        goto out;
    }
    pc_buf_reset(&tmp); /* renamed: nothing to remove any more */
    rc = sync_dir(pc_buf_str(dir));
    if (rc != 0) {
        sys_error(err, rc, "sync directory", pc_buf_str(dir));
    }
out:
    if (tmp.len > 0) {
        (void)unlink(tmp.data);
    }
    pc_buf_cleanup(&tmp);
    return rc;
}

/* ---- states ------------------------------------------------------------ */

/* Reads and decodes the kind's file into out (unchanged on failure). */
static int load_states(const struct pc_store_dir *d, enum pc_states_kind kind,
                       const struct pc_flow *flow, struct pc_states *out,
                       struct msg_states_extra *extra, struct pc_err *err)
{
    struct pc_buf dir;
    struct pc_buf file;
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = 0;

    pc_buf_init(&dir, PATH_MAX);
    pc_buf_init(&file, PATH_MAX);
    rc = build_paths(d, flow, kind, &dir, &file, err);
    if (rc != 0) {
        goto out;
    }
    rc = read_file(pc_buf_str(&file), &data, &len, err);
    if (rc != 0) {
        goto out;
    }
    rc = msg_states_decode_ex(data, len, flow, out, extra, err);
    if (rc != 0) {
        pc_err_prefix(err, "%s", pc_buf_str(&file));
    }
out:
    free(data);
    pc_buf_cleanup(&file);
    pc_buf_cleanup(&dir);
    return rc;
}

/* The entries of ids not in flow, from the kind's file (none when absent). */
/* The entries of ids not in flow (and, with flow_m, the flow's into it,
 * flow->n_items slots); no file is no entries. */
static int load_both(const struct pc_store_dir *d, enum pc_states_kind kind,
                     const struct pc_flow *flow, struct msg_states_extra *extra,
                     struct pc_states *flow_m, struct pc_err *err)
{
    struct pc_states m = {0};
    int rc = pc_states_init(&m, flow->n_items);

    memset(extra, 0, sizeof(*extra));
    if (rc != 0) {
        return pc_err_set(err, rc, "states dir: out of memory");
    }
    rc = load_states(d, kind, flow, &m, extra, err);
    if (rc == PC_ENOTFOUND) {
        pc_err_clear(err);
        rc = 0;
    }
    if (flow_m != NULL) {
        *flow_m = m;
    } else {
        pc_states_cleanup(&m);
    }
    return rc;
}

static int load_extra(const struct pc_store_dir *d, enum pc_states_kind kind,
                      const struct pc_flow *flow, struct msg_states_extra *extra,
                      struct pc_err *err)
{
    return load_both(d, kind, flow, extra, NULL, err);
}

/* Encodes m and replaces the kind's file with it. */
static int store_states(const struct pc_store_dir *d, enum pc_states_kind kind,
                        const struct pc_flow *flow, const struct pc_states *m,
                        const struct msg_states_extra *extra, struct pc_err *err)
{
    struct pc_buf dir;
    struct pc_buf file;
    struct pc_buf bytes = {0}; /* zeroed: cleanup is safe before the encode */
    int rc = 0;

    pc_buf_init(&dir, PATH_MAX);
    pc_buf_init(&file, PATH_MAX);
    rc = build_paths(d, flow, kind, &dir, &file, err);
    if (rc != 0) {
        goto out;
    }
    rc = msg_states_encode_ex(flow, kind, m, extra, &bytes, err);
    if (rc != 0) {
        pc_err_prefix(err, "%s", pc_buf_str(&file));
        goto out;
    }
    rc = replace_file(&dir, pc_buf_str(&file), bytes.data, bytes.len, err);
out:
    pc_buf_cleanup(&bytes);
    pc_buf_cleanup(&file);
    pc_buf_cleanup(&dir);
    return rc;
}

/* Read-modify-write of one slot: a missing file counts as all absent. */
static int store_item(const struct pc_store_dir *d, enum pc_states_kind kind,
                      const struct pc_flow *flow, size_t item, const struct pc_state *s,
                      struct pc_err *err)
{
    struct pc_states m = {0};
    struct msg_states_extra extra = {0};
    int rc = 0;

    rc = pc_states_init(&m, flow->n_items);
    if (rc != 0) {
        return pc_err_set(err, rc, "states dir: out of memory");
    }
    rc = load_states(d, kind, flow, &m, &extra, err);
    if (rc == PC_ENOTFOUND) {
        pc_err_clear(err);
        rc = 0;
    }
    if (rc == 0) {
        rc = pc_state_copy(&m.v[item], s);
        if (rc != 0) {
            pc_err_set(err, rc, "states dir: cannot copy the state of %s", flow->items[item].id.s);
        }
    }
    if (rc == 0) {
        rc = store_states(d, kind, flow, &m, &extra, err);
    }
    msg_states_extra_cleanup(&extra);
    pc_states_cleanup(&m);
    return rc;
}

/* Rewrites the kind's file without flow item `item` (no file: nothing to do). */
static int drop_item(const struct pc_store_dir *d, enum pc_states_kind kind,
                     const struct pc_flow *flow, size_t item, struct pc_err *err)
{
    struct pc_states m = {0};
    struct msg_states_extra extra = {0};
    struct pc_flow view = *flow; /* shallow: the encoder only reads ids */
    struct pc_states rest = {0};
    int rc = pc_states_init(&m, flow->n_items);

    view.items = NULL;
    if (rc == 0) {
        rc = load_states(d, kind, flow, &m, &extra, err);
    } else {
        rc = pc_err_set(err, rc, "states dir: out of memory");
    }
    if (rc == PC_ENOTFOUND) {
        pc_err_clear(err);
        rc = 0;
        goto out;
    }
    if (rc == 0) {
        view.items = calloc(flow->n_items + 1, sizeof(*view.items));
        rest.v = calloc(flow->n_items + 1, sizeof(*rest.v));
        rc = view.items != NULL && rest.v != NULL ? 0 : pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    if (rc == 0) {
        view.n_items = 0;
        for (size_t i = 0; i < flow->n_items; i++) {
            if (i != item) {
                view.items[view.n_items] = flow->items[i];
                rest.v[view.n_items++] = m.v[i]; /* borrowed */
            }
        }
        rest.n = view.n_items;
        rc = store_states(d, kind, &view, &rest, &extra, err);
    }
out:
    free(view.items);
    free(rest.v);
    msg_states_extra_cleanup(&extra);
    pc_states_cleanup(&m);
    return rc;
}

static int add_stored(struct pc_stored_items *out, const struct pc_id *id, size_t *at)
{
    struct pc_stored_item *v = NULL;

    for (size_t i = 0; i < out->n; i++) {
        if (strcmp(out->v[i].id.s, id->s) == 0) {
            *at = i;
            return 0;
        }
    }
    v = realloc(out->v, (out->n + 1) * sizeof(*v));
    if (v == NULL) {
        return PC_ENOMEM;
    }
    out->v = v;
    memset(&v[out->n], 0, sizeof(v[out->n]));
    v[out->n].id = *id;
    *at = out->n++;
    return 0;
}

static int read_obsolete(const struct pc_store_dir *d, const struct pc_flow *flow,
                         struct pc_stored_items *out, struct pc_err *err)
{
    struct msg_states_extra cur = {0};
    struct msg_states_extra rec = {0};
    struct pc_states flow_rec = {0};
    size_t at = 0;
    int rc = load_extra(d, PC_STATES_CURRENT, flow, &cur, err);

    if (rc == 0) {
        rc = load_both(d, PC_STATES_RECORDS, flow, &rec, &flow_rec, err);
    }
    /* The flow's items with a record (as last applied), first, flow order. */
    for (size_t i = 0; rc == 0 && i < flow_rec.n; i++) {
        if (flow_rec.v[i].data == NULL) {
            continue;
        }
        rc = add_stored(out, &flow->items[i].id, &at);
        if (rc == 0 &&
            msg_record_decode(flow_rec.v[i].data, flow_rec.v[i].len, &out->v[at], NULL) != 0) {
            out->v[at].has_record = false;
        }
    }
    for (size_t i = 0; rc == 0 && i < cur.n; i++) {
        if (pc_state_present(&cur.v[i])) {
            rc = add_stored(out, &cur.ids[i], &at);
        }
    }
    for (size_t i = 0; rc == 0 && i < rec.n; i++) {
        if (rec.v[i].data == NULL) {
            continue;
        }
        rc = add_stored(out, &rec.ids[i], &at);
        /* An unreadable record leaves the item without one (reported as
         * obsolete but not manageable, never dropped). */
        if (rc == 0 && msg_record_decode(rec.v[i].data, rec.v[i].len, &out->v[at], NULL) != 0) {
            out->v[at].has_record = false;
        }
    }
    if (rc == PC_ENOMEM) {
        rc = pc_err_set(err, rc, "states dir: out of memory");
    }
    if (rc != 0) {
        pc_stored_items_cleanup(out);
    }
    msg_states_extra_cleanup(&cur);
    msg_states_extra_cleanup(&rec);
    pc_states_cleanup(&flow_rec);
    return rc;
}

/* ---- the store interface ----------------------------------------------- */

static void complete(pc_store_done_cb *done, void *arg, int rc, struct pc_err *err)
{
    if (rc == 0) {
        pc_err_clear(err);
    }
    done(arg, rc, err);
}

static int dir_read(void *ctx, enum pc_states_kind kind, const struct pc_flow *flow,
                    struct pc_states *out, pc_store_done_cb *done, void *arg)
{
    struct pc_err err = {0};

    if (flow == NULL || out == NULL || done == NULL || out->n != flow->n_items) {
        return PC_EINVAL;
    }
    complete(done, arg, load_states(ctx, kind, flow, out, NULL, &err), &err);
    return 0;
}

static int dir_write_item(void *ctx, enum pc_states_kind kind, const struct pc_flow *flow,
                          size_t item, const struct pc_state *s, pc_store_done_cb *done, void *arg)
{
    struct pc_err err = {0};

    if (flow == NULL || s == NULL || done == NULL || item >= flow->n_items) {
        return PC_EINVAL;
    }
    complete(done, arg, store_item(ctx, kind, flow, item, s, &err), &err);
    return 0;
}

static int dir_write_all(void *ctx, enum pc_states_kind kind, const struct pc_flow *flow,
                         const struct pc_states *m, pc_store_done_cb *done, void *arg)
{
    struct pc_err err = {0};

    struct msg_states_extra extra = {0};
    int rc;

    if (flow == NULL || m == NULL || done == NULL || m->n != flow->n_items) {
        return PC_EINVAL;
    }
    rc = load_extra(ctx, kind, flow, &extra, &err);
    if (rc == 0) {
        rc = store_states(ctx, kind, flow, m, &extra, &err);
    }
    msg_states_extra_cleanup(&extra);
    complete(done, arg, rc, &err);
    return 0;
}

static int dir_read_obsolete(void *ctx, const struct pc_flow *flow, struct pc_stored_items *out,
                             pc_store_done_cb *done, void *arg)
{
    struct pc_err err = {0};

    if (flow == NULL || out == NULL || done == NULL) {
        return PC_EINVAL;
    }
    complete(done, arg, read_obsolete(ctx, flow, out, &err), &err);
    return 0;
}

static int dir_write_record(void *ctx, const struct pc_flow *flow, size_t item,
                            pc_store_done_cb *done, void *arg)
{
    struct pc_err err = {0};
    struct pc_buf rec = {0};
    struct pc_state st;
    int rc;

    if (flow == NULL || done == NULL || item >= flow->n_items) {
        return PC_EINVAL;
    }
    rc = msg_record_encode(flow, item, &rec, &err);
    if (rc == 0) {
        st.data = (uint8_t *)rec.data;
        st.len = rec.len;
        rc = store_item(ctx, PC_STATES_RECORDS, flow, item, &st, &err);
    }
    pc_buf_cleanup(&rec);
    complete(done, arg, rc, &err);
    return 0;
}

static int dir_remove_item(void *ctx, const struct pc_flow *flow, size_t item,
                           pc_store_done_cb *done, void *arg)
{
    struct pc_err err = {0};
    int rc = 0;

    if (flow == NULL || done == NULL || item >= flow->n_items) {
        return PC_EINVAL;
    }
    for (int k = PC_STATES_CURRENT; rc == 0 && k <= PC_STATES_RECORDS; k++) {
        rc = drop_item(ctx, (enum pc_states_kind)k, flow, item, &err);
    }
    complete(done, arg, rc, &err);
    return 0;
}

static const struct pc_store_ops store_dir_ops = {
    .read = dir_read,
    .write_item = dir_write_item,
    .write_all = dir_write_all,
    .read_obsolete = dir_read_obsolete,
    .write_record = dir_write_record,
    .remove_item = dir_remove_item,
};

int pc_store_dir_create(const char *root, struct pc_store_dir **out, struct pc_err *err)
{
    struct pc_store_dir *d = NULL;
    size_t len = 0;

    if (root == NULL || root[0] == '\0' || out == NULL) {
        return pc_err_set(err, PC_EINVAL, "states dir: empty root");
    }
    len = strlen(root);
    if (len >= PATH_MAX) {
        return pc_err_set(err, PC_ELIMIT, "states dir: root longer than %d bytes", PATH_MAX);
    }
    d = calloc(1, sizeof(*d));
    if (d == NULL) {
        return pc_err_set(err, PC_ENOMEM, "states dir: out of memory");
    }
    d->root = malloc(len + 1);
    if (d->root == NULL) {
        free(d);
        return pc_err_set(err, PC_ENOMEM, "states dir: out of memory");
    }
    memcpy(d->root, root, len + 1);
    pc_buf_init(&d->flow_path, PATH_MAX);
    *out = d;
    return 0;
}

void pc_store_dir_destroy(struct pc_store_dir *d)
{
    if (d == NULL) {
        return;
    }
    pc_buf_cleanup(&d->flow_path);
    free(d->root);
    free(d);
}

struct pc_store pc_store_dir_store(struct pc_store_dir *d)
{
    struct pc_store s = {.ops = &store_dir_ops, .ctx = d};

    return s;
}

const char *pc_store_dir_flow_path(struct pc_store_dir *d, const struct pc_flow *flow)
{
    pc_buf_reset(&d->flow_path);
    if (append_flow_dir(d, flow, &d->flow_path, NULL) != 0) {
        pc_buf_reset(&d->flow_path);
    }
    return pc_buf_str(&d->flow_path);
}
