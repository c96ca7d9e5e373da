/*
 * local_history.c - reports of local runs on disk (local_history.h).
 *
 * Layout: .peace/<app>/<profile>/<flow>/executions/<ID>.<cmd>.msgpack. The
 * id is a ULID, so names sort by creation time: pruning and listing sort
 * names, never read clocks or mtimes. Every name read from disk is checked
 * (identifiers, a ULID, a known command) before it is used; anything else
 * in those directories is ignored.
 */
#include "local_history.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec_view.h"
#include "peace/buf.h"
#include "peace/ident.h"
#include "peace/msg.h"

#define HISTORY_DIR  ".peace"
#define PATH_MAX_LEN 1024

struct entry {
    char id[PC_ULID_LEN + 1];
    char cmd[32];
    char path[PATH_MAX_LEN];
    char where[3 * (PC_ID_MAX + 1)]; /* app/profile/flow */
};

static int mkdir_p(const char *path)
{
    char tmp[PATH_MAX_LEN];
    size_t n = strlen(path);

    if (n >= sizeof(tmp)) {
        return PC_ELIMIT;
    }
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
                return PC_EIO;
            }
            *p = '/';
        }
    }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? PC_EIO : 0;
}

/* <ID>.<cmd>.msgpack with a valid ULID and command: fills id and cmd. */
static bool parse_name(const char *name, char id[PC_ULID_LEN + 1], char *cmd, size_t cmd_size)
{
    size_t n = strlen(name);
    const char *dot = NULL;
    enum pc_cmd c;
    size_t cn;

    if (n < PC_ULID_LEN + 10 || name[PC_ULID_LEN] != '.' || strcmp(name + n - 8, ".msgpack") != 0 ||
        !pc_exec_id_valid(name, PC_ULID_LEN)) {
        return false;
    }
    dot = name + PC_ULID_LEN + 1;
    cn = (size_t)(name + n - 8 - dot);
    if (cn == 0 || cn >= cmd_size || pc_cmd_parse(dot, cn, &c, NULL) != 0) {
        return false;
    }
    memcpy(id, name, PC_ULID_LEN);
    id[PC_ULID_LEN] = '\0';
    memcpy(cmd, dot, cn);
    cmd[cn] = '\0';
    return true;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Removes the oldest reports of dir beyond CLI_HISTORY_KEEP. */
static void prune(const char *dir)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0;
    size_t cap = 0;
    struct dirent *de = NULL;

    if (d == NULL) {
        return;
    }
    while ((de = readdir(d)) != NULL) {
        char id[PC_ULID_LEN + 1];
        char cmd[32];

        if (!parse_name(de->d_name, id, cmd, sizeof(cmd))) {
            continue;
        }
        if (n == cap) {
            char **v = realloc(names, (cap == 0 ? 64 : cap * 2) * sizeof(*v));

            if (v == NULL) {
                break;
            }
            names = v;
            cap = cap == 0 ? 64 : cap * 2;
        }
        names[n] = strdup(de->d_name);
        if (names[n] == NULL) {
            break;
        }
        n++;
    }
    (void)closedir(d);
    if (n > CLI_HISTORY_KEEP) {
        qsort(names, n, sizeof(*names), name_cmp);
        for (size_t i = 0; i < n - CLI_HISTORY_KEEP; i++) {
            char path[PATH_MAX_LEN];

            if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) < (int)sizeof(path)) {
                (void)unlink(path);
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);

        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return PC_EIO;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int cli_history_save(const char *root, const struct pc_flow *flow, enum pc_cmd cmd,
                     const struct pc_outcome *o, char id_out[PC_ULID_LEN + 1], struct pc_err *err)
{
    struct pc_ulid_gen gen;
    struct pc_buf b;
    char dir[PATH_MAX_LEN];
    char tmp[PATH_MAX_LEN + 16];
    char path[PATH_MAX_LEN + 64];
    int fd;
    int rc;

    pc_ulid_gen_init(&gen, NULL, NULL, NULL, NULL);
    rc = pc_exec_id_valid(id_out, strnlen(id_out, PC_ULID_LEN + 1))
             ? 0
             : pc_ulid_next(&gen, id_out, err);
    if (rc != 0) {
        return rc;
    }
    if (snprintf(dir, sizeof(dir), "%s/%s/%s/%s/%s/executions", root, HISTORY_DIR, flow->app.s,
                 flow->profile.s, flow->flow.s) >= (int)sizeof(dir)) {
        return pc_err_set(err, PC_ELIMIT, "history path too long");
    }
    if (mkdir_p(dir) != 0) {
        return pc_err_set(err, PC_EIO, "cannot create %s: %s", dir, strerror(errno));
    }
    rc = msg_report_encode(o, &b, err);
    if (rc != 0) {
        return rc;
    }
    (void)snprintf(path, sizeof(path), "%s/%s.%s.msgpack", dir, id_out, pc_cmd_name(cmd));
    (void)snprintf(tmp, sizeof(tmp), "%s/.tmp-%s", dir, id_out);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    rc = fd < 0 ? PC_EIO : write_all(fd, b.data, b.len);
    if (fd >= 0 && close(fd) != 0) {
        rc = PC_EIO;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = PC_EIO;
    }
    pc_buf_cleanup(&b);
    if (rc != 0) {
        (void)unlink(tmp);
        return pc_err_set(err, rc, "cannot write %s: %s", path, strerror(errno));
    }
    prune(dir);
    return 0;
}

/* Every report under .peace (at most max), in *out (owned), newest first. */
static int scan(struct entry **out, size_t *n_out, size_t max)
{
    struct entry *v = NULL;
    size_t n = 0;
    DIR *d1 = opendir(HISTORY_DIR);
    struct dirent *a = NULL;

    *out = NULL;
    *n_out = 0;
    if (d1 == NULL) {
        return 0;
    }
    while ((a = readdir(d1)) != NULL) {
        char p1[PATH_MAX_LEN];
        DIR *d2 = NULL;
        struct dirent *b = NULL;

        if (!pc_ident_valid(a->d_name, strlen(a->d_name)) ||
            snprintf(p1, sizeof(p1), "%s/%s", HISTORY_DIR, a->d_name) >= (int)sizeof(p1) ||
            (d2 = opendir(p1)) == NULL) {
            continue;
        }
        while ((b = readdir(d2)) != NULL) {
            char p2[PATH_MAX_LEN];
            DIR *d3 = NULL;
            struct dirent *c = NULL;

            if (!pc_ident_valid(b->d_name, strlen(b->d_name)) ||
                snprintf(p2, sizeof(p2), "%s/%s", p1, b->d_name) >= (int)sizeof(p2) ||
                (d3 = opendir(p2)) == NULL) {
                continue;
            }
            while ((c = readdir(d3)) != NULL) {
                char p3[PATH_MAX_LEN];
                DIR *d4 = NULL;
                struct dirent *e = NULL;

                if (!pc_ident_valid(c->d_name, strlen(c->d_name)) ||
                    snprintf(p3, sizeof(p3), "%s/%s/executions", p2, c->d_name) >=
                        (int)sizeof(p3) ||
                    (d4 = opendir(p3)) == NULL) {
                    continue;
                }
                while ((e = readdir(d4)) != NULL && n < max) {
                    struct entry *x = NULL;
                    struct entry *nv = NULL;

                    if (n % 64 == 0) {
                        nv = realloc(v, (n + 64) * sizeof(*v));
                        if (nv == NULL) {
                            break;
                        }
                        v = nv;
                    }
                    x = &v[n];
                    if (!parse_name(e->d_name, x->id, x->cmd, sizeof(x->cmd)) ||
                        snprintf(x->path, sizeof(x->path), "%s/%s", p3, e->d_name) >=
                            (int)sizeof(x->path)) {
                        continue;
                    }
                    (void)snprintf(x->where, sizeof(x->where), "%s/%s/%s", a->d_name, b->d_name,
                                   c->d_name);
                    n++;
                }
                (void)closedir(d4);
            }
            (void)closedir(d3);
        }
        (void)closedir(d2);
    }
    (void)closedir(d1);
    *out = v;
    *n_out = n;
    return 0;
}

static int entry_newest_first(const void *a, const void *b)
{
    return -strcmp(((const struct entry *)a)->id, ((const struct entry *)b)->id);
}

/* Reads and decodes one saved report (bounded by MSG_REPORT_MAX). */
static int load(const char *path, struct pc_outcome *o, struct pc_err *err)
{
    FILE *f = fopen(path, "rb");
    struct pc_buf b;
    char chunk[8192];
    size_t k;
    int rc = 0;

    if (f == NULL) {
        return pc_err_set(err, PC_EIO, "%s: %s", path, strerror(errno));
    }
    pc_buf_init(&b, MSG_REPORT_MAX + 1);
    while (rc == 0 && (k = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        rc = pc_buf_append(&b, chunk, k);
    }
    (void)fclose(f);
    if (rc == 0) {
        rc = msg_report_decode(b.data != NULL ? b.data : "", b.len, o, err);
    } else {
        rc = pc_err_set(err, rc, "%s: too big", path);
    }
    pc_buf_cleanup(&b);
    return rc;
}

int cli_history_list(bool json, size_t limit)
{
    struct entry *v = NULL;
    size_t n = 0;

    (void)scan(&v, &n, CLI_HISTORY_LIST_MAX);
    if (n > 1) {
        qsort(v, n, sizeof(*v), entry_newest_first);
    }
    if (limit == 0 || limit > n) {
        limit = n;
    }
    if (json) {
        (void)fputs("[", stdout);
    }
    for (size_t i = 0; i < limit; i++) {
        struct pc_outcome o;
        struct pc_err err;
        const char *outcome = "unreadable";

        pc_err_clear(&err);
        if (load(v[i].path, &o, &err) == 0) {
            outcome = pc_outcome_kind_name(o.kind);
            pc_outcome_cleanup(&o);
        }
        if (json) {
            (void)printf("%s{\"id\":\"%s\",\"cmd\":\"%s\",\"flow\":\"%s\",\"outcome\":\"%s\"}",
                         i == 0 ? "" : ",", v[i].id, v[i].cmd, v[i].where, outcome);
        } else {
            (void)printf("%s  %-12s %-30s %s\n", v[i].id, v[i].cmd, v[i].where, outcome);
        }
    }
    if (json) {
        (void)puts("]");
    } else if (n == 0) {
        (void)puts("(no local executions under " HISTORY_DIR ")");
    }
    free(v);
    return 0;
}

/* The saved report of id into *o and its entry into *e: 0, or 1 after saying why. */
static int find(const char *id, struct entry *e, struct pc_outcome *o)
{
    struct entry *v = NULL;
    struct pc_err err;
    size_t n = 0;
    int rc = 1;

    pc_err_clear(&err);
    if (!pc_exec_id_valid(id, strlen(id))) {
        (void)fprintf(stderr, "peace: %s is not an execution id\n", id);
        return 1;
    }
    (void)scan(&v, &n, SIZE_MAX);
    for (size_t i = 0; i < n && rc != 0; i++) {
        if (strcmp(v[i].id, id) != 0) {
            continue;
        }
        if (load(v[i].path, o, &err) != 0) {
            (void)fprintf(stderr, "peace: %s\n", err.msg);
            free(v);
            return 1;
        }
        *e = v[i];
        rc = 0;
    }
    if (rc != 0) {
        (void)fprintf(stderr, "peace: execution %s not found under %s\n", id, HISTORY_DIR);
    }
    free(v);
    return rc;
}

int cli_history_report(const char *id, bool json)
{
    struct entry e;
    struct pc_outcome o;
    struct pc_buf b;
    int status;

    if (find(id, &e, &o) != 0) {
        return 1;
    }
    pc_buf_init(&b, 64u << 20);
    if ((json ? pc_outcome_format_json(&o, &b) : pc_outcome_format_text(&o, &b)) == 0) {
        if (json) {
            (void)printf("{\"id\":\"%s\",\"cmd\":\"%s\",\"flow\":\"%s\",\"report\":%s}\n", id,
                         e.cmd, e.where, pc_buf_str(&b));
        } else {
            (void)printf("%s %s (local, %s)\n%s", e.cmd, e.where, id, pc_buf_str(&b));
        }
    }
    status = pc_outcome_exit_status(o.kind);
    pc_buf_cleanup(&b);
    pc_outcome_cleanup(&o);
    return status;
}

/* ------------------------------------------------------------------------ */
/* status --local: the meta of a local execution, from its saved report     */

enum {
    LM_ID,
    LM_CMD,
    LM_APP,
    LM_PROFILE,
    LM_FLOW,
    LM_QUEUE,
    LM_STATUS,
    LM_OUTCOME,
    LM_CREATED,
    LM_STARTED,
    LM_FINISHED,
    LM_COUNT
};
static const char *const lm_fields[LM_COUNT] = {"id",         "cmd",        "app",        "profile",
                                                "flow",       "queue",      "status",     "outcome",
                                                "created_ms", "started_ms", "finished_ms"};

struct local_meta {
    char v[LM_COUNT][PC_ID_MAX + 32];
};

static int lm_index(const char *field)
{
    for (int i = 0; i < LM_COUNT; i++) {
        if (strcmp(lm_fields[i], field) == 0) {
            return i;
        }
    }
    return -1;
}

static size_t lm_text(const struct cli_record *rec, const char *field, char *out, size_t out_size)
{
    const struct local_meta *m = rec->src;
    int i = lm_index(field);
    const char *v = i >= 0 ? m->v[i] : "";

    (void)snprintf(out, out_size, "%s", v);
    return strlen(v);
}

/* Times are numbers, everything else text (as the meta hash reads in JSON). */
static int lm_member(const struct local_meta *m, int i, struct pc_buf *b, bool *first)
{
    int rc;

    if (m->v[i][0] == '\0') {
        return 0;
    }
    rc = *first ? 0 : pc_buf_puts(b, ",");
    *first = false;
    rc = rc == 0 ? pc_buf_append_json_str(b, lm_fields[i], strlen(lm_fields[i])) : rc;
    rc = rc == 0 ? pc_buf_puts(b, ":") : rc;
    if (rc == 0 && i >= LM_CREATED) {
        return pc_buf_puts(b, m->v[i]);
    }
    return rc == 0 ? pc_buf_append_json_str(b, m->v[i], strlen(m->v[i])) : rc;
}

static int lm_json_member(const struct cli_record *rec, const char *field, struct pc_buf *b,
                          bool *first)
{
    int i = lm_index(field);

    return i >= 0 ? lm_member(rec->src, i, b, first) : 0;
}

static int lm_json(const struct cli_record *rec, struct pc_buf *b, struct pc_err *err)
{
    bool first = true;
    int rc = pc_buf_puts(b, "{");

    (void)err;
    for (int i = 0; rc == 0 && i < LM_COUNT; i++) {
        rc = lm_member(rec->src, i, b, &first);
    }
    return rc == 0 ? pc_buf_puts(b, "}") : rc;
}

static const struct cli_record_ops lm_ops = {lm_text, lm_json_member, lm_json};

static bool no_items(const struct cli_records *s, struct cli_cursor *at, struct cli_record *rec)
{
    (void)s;
    (void)at;
    (void)rec;
    return false;
}

static void lm_time(char *out, size_t size, uint64_t ms)
{
    if (ms != 0) {
        (void)snprintf(out, size, "%llu", (unsigned long long)ms);
    }
}

int cli_history_status(const char *id, bool json)
{
    struct local_meta m;
    struct entry e;
    struct pc_outcome o;
    const char *w = NULL;
    const char *slash1 = NULL;
    const char *slash2 = NULL;
    int status;

    if (find(id, &e, &o) != 0) {
        return 1;
    }
    memset(&m, 0, sizeof(m));
    w = e.where;
    slash1 = strchr(w, '/');
    slash2 = slash1 != NULL ? strchr(slash1 + 1, '/') : NULL;
    (void)snprintf(m.v[LM_ID], sizeof(m.v[LM_ID]), "%s", id);
    (void)snprintf(m.v[LM_CMD], sizeof(m.v[LM_CMD]), "%s", e.cmd);
    if (slash1 != NULL && slash2 != NULL) {
        (void)snprintf(m.v[LM_APP], sizeof(m.v[LM_APP]), "%.*s", (int)(slash1 - w), w);
        (void)snprintf(m.v[LM_PROFILE], sizeof(m.v[LM_PROFILE]), "%.*s", (int)(slash2 - slash1 - 1),
                       slash1 + 1);
        (void)snprintf(m.v[LM_FLOW], sizeof(m.v[LM_FLOW]), "%s", slash2 + 1);
    }
    (void)snprintf(m.v[LM_QUEUE], sizeof(m.v[LM_QUEUE]), "local");
    (void)snprintf(m.v[LM_STATUS], sizeof(m.v[LM_STATUS]), "finished");
    (void)snprintf(m.v[LM_OUTCOME], sizeof(m.v[LM_OUTCOME]), "%s", pc_outcome_kind_name(o.kind));
    lm_time(m.v[LM_CREATED], sizeof(m.v[LM_CREATED]), o.created_ms);
    lm_time(m.v[LM_STARTED], sizeof(m.v[LM_STARTED]), o.started_ms);
    lm_time(m.v[LM_FINISHED], sizeof(m.v[LM_FINISHED]), o.finished_ms);
    {
        struct cli_record meta = {&lm_ops, &m, NULL, 0};
        struct cli_records items = {NULL, no_items};

        /* A local run keeps no progress: its report says what each item did. */
        status = cli_print_status(id, &meta, &items, false, &o, json);
    }
    pc_outcome_cleanup(&o);
    return status;
}
