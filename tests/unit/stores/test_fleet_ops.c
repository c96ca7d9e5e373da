/*
 * test_fleet_ops.c - the operations of peace/fleet_ops.h against a small
 * in-memory stand-in for the commands they send (no Redis): the executions
 * pages (every entry once, in order, whatever the page size, with runs of
 * equal scores, filters and entries added between pages), cursor and limit
 * validation, the decisions of a dead-letter retry and of a rerun, and a
 * retry stopped between its marker and its submit (finished by the next
 * retry, with the marker's id, exactly once).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/buf.h"
#include "peace/fleet_ops.h"
#include "peace/flow.h"
#include "peace/msg.h"
#include "peace/submit.h"

#define N_MAX 64

struct entry {
    char id[32];
    uint64_t score;
    const char *status;
    const char *app;
};

struct world {
    struct entry e[N_MAX];
    size_t n;
};

static redisReply *r_new(int type)
{
    redisReply *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    r->type = type;
    return r;
}

static redisReply *r_str(const char *s)
{
    redisReply *r = r_new(REDIS_REPLY_STRING);

    r->len = strlen(s);
    r->str = malloc(r->len + 1);
    assert_non_null(r->str);
    memcpy(r->str, s, r->len + 1);
    return r;
}

static redisReply *r_arr(size_t n)
{
    redisReply *r = r_new(REDIS_REPLY_ARRAY);

    r->elements = n;
    r->element = calloc(n + 1, sizeof(*r->element));
    assert_non_null(r->element);
    return r;
}

static void arg(const struct pc_redis_args *a, size_t i, char *out, size_t size)
{
    size_t n = a->lens[i] < size - 1 ? a->lens[i] : size - 1;

    memcpy(out, a->data + a->off[i], n);
    out[n] = '\0';
}

/* Orders by score, then id, both descending (a reverse range). */
static int cmp_desc(const void *x, const void *y)
{
    const struct entry *a = x;
    const struct entry *b = y;

    if (a->score != b->score) {
        return a->score > b->score ? -1 : 1;
    }
    return -strcmp(a->id, b->id);
}

static redisReply *answer(struct world *w, const struct pc_redis_args *a)
{
    char cmd[32];
    char key[128];

    arg(a, 0, cmd, sizeof(cmd));
    arg(a, 1, key, sizeof(key));
    if (strcmp(cmd, "ZREVRANGEBYSCORE") == 0) {
        char max[32];
        char min[32];
        char off[32];
        char count[32];
        struct entry sorted[N_MAX];
        size_t k = 0;
        size_t skip;
        size_t take;
        redisReply *r;

        arg(a, 2, max, sizeof(max));
        arg(a, 3, min, sizeof(min));
        arg(a, 6, off, sizeof(off));
        arg(a, 7, count, sizeof(count));
        memcpy(sorted, w->e, w->n * sizeof(sorted[0]));
        qsort(sorted, w->n, sizeof(sorted[0]), cmp_desc);
        skip = strtoull(off, NULL, 10);
        take = strtoull(count, NULL, 10);
        r = r_arr(2 * w->n);
        r->elements = 0;
        for (size_t i = 0; i < w->n; i++) {
            char sc[32];

            if ((strcmp(max, "+inf") != 0 && sorted[i].score > strtoull(max, NULL, 10)) ||
                (strcmp(min, "-inf") != 0 && sorted[i].score < strtoull(min, NULL, 10))) {
                continue;
            }
            if (skip > 0) {
                skip--;
                continue;
            }
            if (k == take) {
                break;
            }
            (void)snprintf(sc, sizeof(sc), "%llu", (unsigned long long)sorted[i].score);
            r->element[r->elements++] = r_str(sorted[i].id);
            r->element[r->elements++] = r_str(sc);
            k++;
        }
        return r;
    }
    if (strcmp(cmd, "HMGET") == 0) {
        const struct entry *e = NULL;
        redisReply *r = r_arr(a->n - 2);

        for (size_t i = 0; i < w->n; i++) {
            char want[128];

            (void)snprintf(want, sizeof(want), "p:exec:{%s}", w->e[i].id);
            e = strcmp(want, key) == 0 ? &w->e[i] : e;
        }
        for (size_t f = 2; f < a->n; f++) {
            char field[32];

            arg(a, f, field, sizeof(field));
            r->element[f - 2] = e == NULL                      ? r_new(REDIS_REPLY_NIL)
                                : strcmp(field, "id") == 0     ? r_str(e->id)
                                : strcmp(field, "status") == 0 ? r_str(e->status)
                                : strcmp(field, "app") == 0    ? r_str(e->app)
                                                               : r_new(REDIS_REPLY_NIL);
        }
        return r;
    }
    fail_msg("unexpected command %s", cmd);
    return NULL;
}

/* Runs op to its end on w. */
static void run(struct world *w, struct pc_fop *op)
{
    for (;;) {
        const struct pc_redis_args *cmds = NULL;
        redisReply *replies[1024];
        size_t n = 0;
        struct pc_err err;

        pc_fop_round(op, &cmds, &n);
        if (n == 0) {
            return;
        }
        assert_true(n <= 1024);
        for (size_t i = 0; i < n; i++) {
            replies[i] = answer(w, &cmds[i]);
        }
        pc_err_clear(&err);
        assert_int_equal(pc_fop_feed(op, replies, n, &err), 0);
    }
}

static const char *const fields[] = {"id", "status"};

/* One page: its ids appended to out (n_out), the next cursor into cursor. */
static void page(struct world *w, size_t limit, const struct pc_exec_filter *f, char *cursor,
                 char out[][32], size_t *n_out)
{
    struct pc_fop_params p;
    struct pc_fop *op = NULL;
    struct pc_err err;

    memset(&p, 0, sizeof(p));
    p.kind = PC_FOP_EXECS;
    p.prefix = "p";
    p.limit = limit;
    p.cursor = cursor;
    p.filter = f;
    p.fields = fields;
    p.n_fields = 2;
    pc_err_clear(&err);
    assert_int_equal(pc_fop_create(&p, &op, &err), 0);
    run(w, op);
    assert_true(pc_fop_rows(op) <= limit);
    for (size_t i = 0; i < pc_fop_rows(op); i++) {
        const redisReply *row = pc_fop_row(op, i);

        assert_int_equal(row->element[0]->type, REDIS_REPLY_STRING);
        (void)snprintf(out[(*n_out)++], 32, "%.31s", row->element[0]->str);
    }
    (void)snprintf(cursor, PC_FOP_CURSOR_MAX, "%s",
                   pc_fop_cursor(op) != NULL ? pc_fop_cursor(op) : "");
    pc_fop_destroy(op);
}

static void fill(struct world *w, size_t n)
{
    memset(w, 0, sizeof(*w));
    for (size_t i = 0; i < n; i++) {
        /* Runs of equal scores: 5 executions per millisecond. */
        (void)snprintf(w->e[i].id, sizeof(w->e[i].id), "01ID%04zu", i);
        w->e[i].score = 1000 + i / 5;
        w->e[i].status = i % 3 == 0 ? "finished" : "queued";
        w->e[i].app = i % 2 == 0 ? "a" : "b";
    }
    w->n = n;
}

/* Every id matching (status, app), newest first. */
static size_t expected(struct world *w, const char *status, const char *app, char out[][32])
{
    struct entry sorted[N_MAX];
    size_t k = 0;

    memcpy(sorted, w->e, w->n * sizeof(sorted[0]));
    qsort(sorted, w->n, sizeof(sorted[0]), cmp_desc);
    for (size_t i = 0; i < w->n; i++) {
        if ((status == NULL || strcmp(sorted[i].status, status) == 0) &&
            (app == NULL || strcmp(sorted[i].app, app) == 0)) {
            (void)snprintf(out[k++], 32, "%.31s", sorted[i].id);
        }
    }
    return k;
}

static void walk(struct world *w, size_t limit, const struct pc_exec_filter *f, const char *status,
                 const char *app)
{
    char got[N_MAX * 2][32];
    char want[N_MAX][32];
    char cursor[PC_FOP_CURSOR_MAX] = "";
    size_t n_got = 0;
    size_t n_want = expected(w, status, app, want);
    size_t pages = 0;

    do {
        page(w, limit, f, cursor, got, &n_got);
        assert_true(++pages <= N_MAX + 2);
    } while (cursor[0] != '\0');
    assert_int_equal(n_got, n_want);
    for (size_t i = 0; i < n_want; i++) {
        assert_string_equal(got[i], want[i]);
    }
}

static void pages_see_every_execution_once_in_order(void **state)
{
    struct world w;

    (void)state;
    fill(&w, 23);
    for (size_t limit = 1; limit <= 25; limit++) {
        walk(&w, limit, NULL, NULL, NULL);
    }
}

static void filtered_pages_see_every_match_once(void **state)
{
    struct world w;
    struct pc_exec_filter f;
    struct pc_err err;

    (void)state;
    fill(&w, 40);
    memset(&f, 0, sizeof(f));
    assert_int_equal(pc_exec_filter_set(&f, "app", "a", &err), 0);
    for (size_t limit = 1; limit <= 7; limit++) {
        walk(&w, limit, &f, NULL, "a");
    }
    assert_int_equal(pc_exec_filter_set(&f, "status", "finished", &err), 0);
    walk(&w, 2, &f, "finished", "a");
}

static void an_execution_added_between_pages_shifts_nothing(void **state)
{
    struct world w;
    char got[N_MAX][32];
    char cursor[PC_FOP_CURSOR_MAX] = "";
    size_t n = 0;

    (void)state;
    fill(&w, 10);
    page(&w, 4, NULL, cursor, got, &n);
    /* A newer execution, and one in the same millisecond as the cursor. */
    (void)snprintf(w.e[w.n].id, 32, "01ZNEW");
    w.e[w.n].score = 5000;
    w.e[w.n].status = "queued";
    w.e[w.n++].app = "a";
    page(&w, 4, NULL, cursor, got, &n);
    page(&w, 4, NULL, cursor, got, &n);
    assert_string_equal(cursor, "");
    assert_int_equal(n, 10);
    for (size_t i = 0; i < n; i++) {
        assert_string_not_equal(got[i], "01ZNEW");
        for (size_t k = 0; k < i; k++) {
            assert_string_not_equal(got[i], got[k]);
        }
    }
}

static void bad_cursors_limits_and_filters_are_refused(void **state)
{
    static const char *const bad[] = {"x",
                                      "c",
                                      "c12",
                                      "c.01ID",
                                      "c-1.01ID",
                                      "c1.",
                                      "c1.bad/id",
                                      "c1x.01ID",
                                      "c99999999999999999999999.01ID",
                                      "1700000000000-0"};
    struct pc_fop_params p;
    struct pc_fop *op = NULL;
    struct pc_exec_filter f;
    struct pc_err err;

    (void)state;
    memset(&p, 0, sizeof(p));
    p.kind = PC_FOP_EXECS;
    p.prefix = "p";
    p.fields = fields;
    p.n_fields = 2;
    p.limit = 10;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p.cursor = bad[i];
        assert_int_equal(pc_fop_create(&p, &op, &err), PC_EINVAL);
        assert_null(op);
    }
    p.cursor = NULL;
    p.limit = 0;
    assert_int_equal(pc_fop_create(&p, &op, &err), PC_EINVAL);
    p.limit = PC_FOP_LIST_MAX + 1;
    assert_int_equal(pc_fop_create(&p, &op, &err), PC_EINVAL);
    p.kind = PC_FOP_DEAD;
    p.limit = PC_FOP_DEAD_MAX + 1;
    assert_int_equal(pc_fop_create(&p, &op, &err), PC_EINVAL);
    p.limit = 5;
    p.cursor = "c1.01ID";
    assert_int_equal(pc_fop_create(&p, &op, &err), PC_EINVAL);
    memset(&f, 0, sizeof(f));
    assert_int_equal(pc_exec_filter_set(&f, "status", "sleeping", &err), PC_EINVAL);
    assert_int_equal(pc_exec_filter_set(&f, "outcome", "great", &err), PC_EINVAL);
    assert_int_equal(pc_exec_filter_set(&f, "cmd", "rm", &err), PC_EINVAL);
    assert_int_equal(pc_exec_filter_set(&f, "app", "no way", &err), PC_EINVAL);
    assert_int_equal(pc_exec_filter_set(&f, "since", "yesterday", &err), PC_EINVAL);
    assert_int_equal(pc_exec_filter_set(&f, "since", "99999999999999999999999", &err), PC_EINVAL);
    assert_int_equal(pc_exec_filter_set(&f, "limit", "3", &err), PC_ENOTFOUND);
    assert_true(pc_exec_filter_empty(&f));
    assert_int_equal(pc_exec_filter_set(&f, "outcome", "item_error", &err), 0);
    assert_false(pc_exec_filter_empty(&f));
}

/* A retry: garbage job -> conflict; marker present -> the same id again. */
static void retry_decisions(void **state)
{
    struct pc_fop_params p;
    struct pc_fop *op = NULL;
    struct pc_err err;
    const struct pc_redis_args *cmds = NULL;
    redisReply *rep[2];
    redisReply *entry;
    size_t n = 0;

    (void)state;
    memset(&p, 0, sizeof(p));
    p.kind = PC_FOP_RETRY;
    p.prefix = "p";
    p.target = "1700000000000-0";
    p.new_id = "01NEWNEWNEWNEWNEWNEWNEWNEW";
    assert_int_equal(pc_fop_create(&p, &op, &err), 0);
    pc_fop_round(op, &cmds, &n);
    assert_int_equal(n, 2);
    entry = r_arr(2);
    entry->element[0] = r_str("1700000000000-0");
    entry->element[1] = r_arr(4);
    entry->element[1]->element[0] = r_str("exec");
    entry->element[1]->element[1] = r_str("01OLD");
    entry->element[1]->element[2] = r_str("job");
    entry->element[1]->element[3] = r_str("not msgpack");
    rep[0] = r_arr(1);
    rep[0]->element[0] = entry;
    rep[1] = r_new(REDIS_REPLY_NIL);
    assert_int_equal(pc_fop_feed(op, rep, 2, &err), 0);
    pc_fop_round(op, &cmds, &n);
    assert_int_equal(n, 0); /* nothing marked, nothing queued */
    assert_int_equal(pc_fop_result(op), PC_FOP_CONFLICT);
    pc_fop_destroy(op);

    assert_int_equal(pc_fop_create(&p, &op, &err), 0);
    rep[0] = r_arr(0);
    rep[1] = r_str("01FIRSTRETRY");
    assert_int_equal(pc_fop_feed(op, rep, 2, &err), 0);
    pc_fop_round(op, &cmds, &n);
    assert_int_equal(n, 0);
    assert_int_equal(pc_fop_result(op), PC_FOP_OK);
    assert_string_equal(pc_fop_new_id(op), "01FIRSTRETRY");
    pc_fop_destroy(op);

    assert_int_equal(pc_fop_create(&p, &op, &err), 0);
    rep[0] = r_arr(0);
    rep[1] = r_new(REDIS_REPLY_NIL);
    assert_int_equal(pc_fop_feed(op, rep, 2, &err), 0);
    assert_int_equal(pc_fop_result(op), PC_FOP_NOT_FOUND);
    pc_fop_destroy(op);

    /* A reply missing is a failure, not a guess. */
    assert_int_equal(pc_fop_create(&p, &op, &err), 0);
    rep[0] = NULL;
    rep[1] = r_new(REDIS_REPLY_NIL);
    assert_int_equal(pc_fop_feed(op, rep, 2, &err), PC_EREDIS);
    pc_fop_destroy(op);
}

/* ------------------------------------------------------------------------ */
/* A retry on an in-memory stand-in: the dead entry, the marker and its claim,
 * the metas and the queue. */

#define ENTRY "1700000000000-0"
#define ID1   "01HZX3K5T0Y8M2Q4R6S8T0V2W1"
#define ID2   "01HZX3K5T0Y8M2Q4R6S8T0V2W2"
#define ID3   "01HZX3K5T0Y8M2Q4R6S8T0V2W3"

struct rw {
    bool entry; /* ENTRY is in p:dead */
    struct pc_buf job;
    char marker[64]; /* "" = none */
    char claim[64];  /* "" = none (or expired) */
    char meta[8][32];
    size_t n_meta;
    char queued[8][32]; /* XADD ... exec ID, in order */
    size_t n_queued;
};

static redisReply *r_bin(const void *p, size_t n)
{
    redisReply *r = r_new(REDIS_REPLY_STRING);

    r->len = n;
    r->str = malloc(n + 1);
    assert_non_null(r->str);
    memcpy(r->str, p, n);
    r->str[n] = '\0';
    return r;
}

static redisReply *r_int(long long v)
{
    redisReply *r = r_new(REDIS_REPLY_INTEGER);

    r->integer = v;
    return r;
}

static bool has_meta(const struct rw *w, const char *id)
{
    for (size_t i = 0; i < w->n_meta; i++) {
        if (strcmp(w->meta[i], id) == 0) {
            return true;
        }
    }
    return false;
}

static redisReply *answer_rw(struct rw *w, const struct pc_redis_args *a)
{
    char cmd[32];
    char key[160];
    char v[64];

    arg(a, 0, cmd, sizeof(cmd));
    arg(a, 1, key, sizeof(key));
    if (strcmp(cmd, "XRANGE") == 0) {
        redisReply *r;

        assert_string_equal(key, "p:dead");
        if (!w->entry) {
            return r_arr(0);
        }
        r = r_arr(1);
        r->element[0] = r_arr(2);
        r->element[0]->element[0] = r_str(ENTRY);
        r->element[0]->element[1] = r_arr(4);
        r->element[0]->element[1]->element[0] = r_str("exec");
        r->element[0]->element[1]->element[1] = r_str("01OLD");
        r->element[0]->element[1]->element[2] = r_str("job");
        r->element[0]->element[1]->element[3] = r_bin(w->job.data, w->job.len);
        return r;
    }
    if (strcmp(cmd, "GET") == 0) {
        assert_string_equal(key, "p:dead:retried:{" ENTRY "}");
        return w->marker[0] != '\0' ? r_str(w->marker) : r_new(REDIS_REPLY_NIL);
    }
    if (strcmp(cmd, "SET") == 0) {
        char *slot = strcmp(key, "p:dead:retried:{" ENTRY "}") == 0         ? w->marker
                     : strcmp(key, "p:dead:retried:{" ENTRY "}:claim") == 0 ? w->claim
                                                                            : NULL;
        char nx[8];

        if (slot == NULL) { /* the job kept for a rerun */
            assert_non_null(strstr(key, ":job"));
            return r_new(REDIS_REPLY_STATUS);
        }
        arg(a, 3, nx, sizeof(nx));
        assert_string_equal(nx, "NX");
        if (slot[0] != '\0') {
            return r_new(REDIS_REPLY_NIL);
        }
        arg(a, 2, v, sizeof(v));
        (void)snprintf(slot, 64, "%s", v);
        return r_new(REDIS_REPLY_STATUS);
    }
    if (strcmp(cmd, "HEXISTS") == 0) {
        char want[160];

        arg(a, 2, v, sizeof(v));
        assert_string_equal(v, "status");
        for (size_t i = 0; i < w->n_meta; i++) {
            (void)snprintf(want, sizeof(want), "p:exec:{%s}", w->meta[i]);
            if (strcmp(want, key) == 0) {
                return r_int(1);
            }
        }
        return r_int(0);
    }
    if (strcmp(cmd, "HSET") == 0) {
        char id[32];
        size_t kl = strlen(key);

        assert_true(kl > 9 && kl - 9 < sizeof(id) && strncmp(key, "p:exec:{", 8) == 0 &&
                    key[kl - 1] == '}');
        memcpy(id, key + 8, kl - 9);
        id[kl - 9] = '\0';
        if (!has_meta(w, id)) {
            assert_true(w->n_meta < 8);
            (void)snprintf(w->meta[w->n_meta++], sizeof(w->meta[0]), "%s", id);
        }
        return r_int(1);
    }
    if (strcmp(cmd, "ZADD") == 0) {
        return r_int(1);
    }
    if (strcmp(cmd, "XADD") == 0) {
        for (size_t i = 2; i + 1 < a->n; i++) {
            arg(a, i, v, sizeof(v));
            if (strcmp(v, "exec") == 0) {
                assert_true(w->n_queued < 8);
                arg(a, i + 1, w->queued[w->n_queued++], sizeof(w->queued[0]));
                return r_str("1-1");
            }
        }
        fail_msg("XADD without exec");
    }
    if (strcmp(cmd, "XDEL") == 0) {
        arg(a, 2, v, sizeof(v));
        assert_string_equal(v, ENTRY);
        w->entry = false;
        return r_int(1);
    }
    fail_msg("unexpected command %s", cmd);
    return NULL;
}

/* One round of op on w; false when op is over. */
static bool step_rw(struct rw *w, struct pc_fop *op)
{
    const struct pc_redis_args *cmds = NULL;
    redisReply *replies[16];
    size_t n = 0;
    struct pc_err err;

    pc_fop_round(op, &cmds, &n);
    if (n == 0) {
        return false;
    }
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) {
        replies[i] = answer_rw(w, &cmds[i]);
    }
    pc_err_clear(&err);
    assert_int_equal(pc_fop_feed(op, replies, n, &err), 0);
    return true;
}

static struct pc_fop *retry_op(const char *new_id)
{
    struct pc_fop_params p;
    struct pc_fop *op = NULL;
    struct pc_err err;

    memset(&p, 0, sizeof(p));
    p.kind = PC_FOP_RETRY;
    p.prefix = "p";
    p.target = ENTRY;
    p.new_id = new_id;
    p.now_ms = 1800000000000u;
    assert_int_equal(pc_fop_create(&p, &op, &err), 0);
    return op;
}

/* Runs a retry to its end: its result, its id into id_out. */
static enum pc_fop_result retry_all(struct rw *w, const char *new_id, char *id_out)
{
    struct pc_fop *op = retry_op(new_id);
    enum pc_fop_result res;

    while (step_rw(w, op)) {
    }
    res = pc_fop_result(op);
    (void)snprintf(id_out, 32, "%s", pc_fop_new_id(op) != NULL ? pc_fop_new_id(op) : "");
    pc_fop_destroy(op);
    return res;
}

static void rw_init(struct rw *w)
{
    struct msg_job job;
    static const char flow[] = "{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": ["
                               " {\"id\": \"s\", \"type\": \"sleep\", \"params\": {\"steps\": 1,"
                               "  \"step_ms\": 1, \"marker\": \"/tmp/x\"}}]}";

    memset(w, 0, sizeof(*w));
    memset(&job, 0, sizeof(job));
    (void)snprintf(job.id, sizeof(job.id), "01HZX3K5T0Y8M2Q4R6S8T0V2W0");
    job.cmd = PC_CMD_ENSURE;
    (void)snprintf(job.queue.s, sizeof(job.queue.s), "default");
    job.created_ms = 1700000000000u;
    assert_int_equal(pc_flow_parse_json(flow, strlen(flow), "test", &job.flow, NULL), 0);
    assert_int_equal(msg_job_encode(&job, &w->job, NULL), 0);
    msg_job_cleanup(&job);
    w->entry = true;
}

/* The plain retry: marker and claim, then the submit and the entry's removal. */
static void retry_queues_once(void **state)
{
    struct rw w;
    char id[32];

    (void)state;
    rw_init(&w);
    assert_int_equal(retry_all(&w, ID1, id), PC_FOP_CREATED);
    /* The id placed in the profile's slot (its last characters) before the marker. */
    assert_int_equal(strncmp(id, ID1, 20), 0);
    assert_string_equal(w.marker, id);
    assert_int_equal(w.n_queued, 1);
    assert_string_equal(w.queued[0], id);
    assert_false(w.entry);
    /* Again: the same id, nothing more queued. */
    assert_int_equal(retry_all(&w, ID2, id), PC_FOP_OK);
    assert_string_equal(id, w.marker);
    assert_int_equal(w.n_queued, 1);
    pc_buf_cleanup(&w.job);
}

/* Stopped between the marker and the submit: while its claim lives, another
 * retry queues nothing; once it expired, the next retry queues the marker's
 * id, once, and removes the entry. */
static void retry_stopped_after_marker_is_finished_by_the_next(void **state)
{
    struct rw w;
    struct pc_fop *op = NULL;
    char id[32];
    char first[64];

    (void)state;
    rw_init(&w);
    op = retry_op(ID1);
    assert_true(step_rw(&w, op)); /* read */
    assert_true(step_rw(&w, op)); /* marker + claim */
    pc_fop_destroy(op);           /* it stops here: nothing queued */
    (void)snprintf(first, sizeof(first), "%s", w.marker);
    assert_int_equal(strncmp(first, ID1, 20), 0);
    assert_int_equal(w.n_queued, 0);
    assert_true(w.entry);

    assert_int_equal(retry_all(&w, ID2, id), PC_FOP_OK); /* the claim is held */
    assert_string_equal(id, first);
    assert_int_equal(w.n_queued, 0);

    w.claim[0] = '\0'; /* it expired */
    assert_int_equal(retry_all(&w, ID3, id), PC_FOP_CREATED);
    assert_string_equal(id, first);
    assert_int_equal(w.n_queued, 1);
    assert_string_equal(w.queued[0], first);
    assert_true(has_meta(&w, first));
    assert_int_equal(w.n_meta, 1);
    assert_false(w.entry);
    assert_string_equal(w.marker, first);

    w.claim[0] = '\0';
    assert_int_equal(retry_all(&w, ID2, id), PC_FOP_OK);
    assert_string_equal(id, first);
    assert_int_equal(w.n_queued, 1);
    pc_buf_cleanup(&w.job);
}

/* Queued but the entry not removed: the next retry only removes it. */
static void retry_stopped_before_removal_only_removes(void **state)
{
    struct rw w;
    char id[32];

    (void)state;
    rw_init(&w);
    (void)snprintf(w.marker, sizeof(w.marker), "%s", ID1);
    (void)snprintf(w.meta[w.n_meta++], sizeof(w.meta[0]), "%s", ID1);
    (void)snprintf(w.queued[w.n_queued++], sizeof(w.queued[0]), "%s", ID1);
    assert_int_equal(retry_all(&w, ID2, id), PC_FOP_OK);
    assert_string_equal(id, ID1);
    assert_int_equal(w.n_queued, 1);
    assert_false(w.entry);
    pc_buf_cleanup(&w.job);
}

/* Two at once: the one that set the marker queues; the other queues nothing. */
static void concurrent_retries_queue_once(void **state)
{
    struct rw w;
    struct pc_fop *op = NULL;
    char id[32];
    char first[64];

    (void)state;
    rw_init(&w);
    op = retry_op(ID1);
    assert_true(step_rw(&w, op));
    assert_true(step_rw(&w, op));
    (void)snprintf(first, sizeof(first), "%s", w.marker);
    assert_int_equal(retry_all(&w, ID2, id), PC_FOP_OK);
    assert_string_equal(id, first);
    while (step_rw(&w, op)) {
    }
    assert_int_equal(pc_fop_result(op), PC_FOP_CREATED);
    pc_fop_destroy(op);
    assert_int_equal(w.n_queued, 1);
    assert_string_equal(w.queued[0], first);
    assert_false(w.entry);
    pc_buf_cleanup(&w.job);
}

/* A marker that is not an execution id (written by hand): refused, nothing queued. */
static void a_bad_marker_is_refused(void **state)
{
    static const char *const bad[] = {"not an id", "01HZX3K5T0Y8M2Q4R6S8T0V2W1}x", "{}", "a b"};
    struct rw w;
    char id[32];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rw_init(&w);
        (void)snprintf(w.marker, sizeof(w.marker), "%s", bad[i]);
        assert_int_equal(retry_all(&w, ID2, id), PC_FOP_CONFLICT);
        assert_int_equal(w.n_queued, 0);
        assert_true(w.entry);
        assert_int_equal(w.n_meta, 0);
        pc_buf_cleanup(&w.job);
    }
}

static void rerun_decisions(void **state)
{
    struct pc_fop_params p;
    struct pc_fop *op = NULL;
    struct pc_err err;
    redisReply *rep[3];

    (void)state;
    memset(&p, 0, sizeof(p));
    p.kind = PC_FOP_RERUN;
    p.prefix = "p";
    p.target = "01OLD";
    p.new_id = "01NEW";
    assert_int_equal(pc_fop_create(&p, &op, &err), 0);
    rep[0] = r_new(REDIS_REPLY_INTEGER);
    rep[0]->integer = 0;
    rep[1] = r_new(REDIS_REPLY_NIL);
    rep[2] = r_new(REDIS_REPLY_NIL);
    assert_int_equal(pc_fop_feed(op, rep, 3, &err), 0);
    assert_int_equal(pc_fop_result(op), PC_FOP_NOT_FOUND);
    pc_fop_destroy(op);
    /* Neither the old key nor a digest: not kept. */
    assert_int_equal(pc_fop_create(&p, &op, &err), 0);
    rep[0] = r_new(REDIS_REPLY_INTEGER);
    rep[0]->integer = 1;
    rep[1] = r_new(REDIS_REPLY_NIL);
    rep[2] = r_new(REDIS_REPLY_NIL);
    assert_int_equal(pc_fop_feed(op, rep, 3, &err), 0);
    assert_int_equal(pc_fop_result(op), PC_FOP_CONFLICT);
    assert_non_null(strstr(pc_fop_message(op), "not kept"));
    pc_fop_destroy(op);
    /* A meta field that is no digest names no key. */
    assert_int_equal(pc_fop_create(&p, &op, &err), 0);
    rep[0] = r_new(REDIS_REPLY_INTEGER);
    rep[0]->integer = 1;
    rep[1] = r_new(REDIS_REPLY_NIL);
    rep[2] = r_str("}{0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab");
    assert_int_equal(pc_fop_feed(op, rep, 3, &err), 0);
    assert_int_equal(pc_fop_result(op), PC_FOP_CONFLICT);
    pc_fop_destroy(op);
    p.target = "bad/id";
    assert_int_equal(pc_fop_create(&p, &op, &err), PC_EINVAL);
}

/* ------------------------------------------------------------------------ */
/* Submits and reruns on an in-memory stand-in of the strings and the metas. */

#define KV_MAX 16

struct kv {
    char key[KV_MAX][160];
    struct pc_buf val[KV_MAX];
    size_t n;
    char meta[KV_MAX][32];     /* execution ids with a meta hash */
    char meta_job[KV_MAX][80]; /* their `job` field, "" = none */
    char rerun_of[KV_MAX][80];
    size_t n_meta;
    char queued[KV_MAX][32];
    size_t n_queued;
    size_t n_sets; /* SETs of a string */
};

static struct pc_buf *kv_get(struct kv *w, const char *key)
{
    for (size_t i = 0; i < w->n; i++) {
        if (strcmp(w->key[i], key) == 0) {
            return &w->val[i];
        }
    }
    return NULL;
}

static size_t kv_meta(struct kv *w, const char *key)
{
    for (size_t i = 0; i < w->n_meta; i++) {
        char want[160];

        (void)snprintf(want, sizeof(want), "p:exec:{%s}", w->meta[i]);
        if (strcmp(want, key) == 0) {
            return i;
        }
    }
    return KV_MAX;
}

static redisReply *answer_kv(struct kv *w, const struct pc_redis_args *a)
{
    char cmd[32];
    char key[160];
    char f[64];
    char v[80];
    size_t m;

    arg(a, 0, cmd, sizeof(cmd));
    arg(a, 1, key, sizeof(key));
    m = kv_meta(w, key);
    if (strcmp(cmd, "SET") == 0) {
        struct pc_buf *b = kv_get(w, key);

        if (b == NULL) {
            assert_true(w->n < KV_MAX);
            (void)snprintf(w->key[w->n], sizeof(w->key[0]), "%s", key);
            b = &w->val[w->n++];
            pc_buf_init(b, 1u << 20);
        }
        pc_buf_reset(b);
        assert_int_equal(pc_buf_append(b, a->data + a->off[2], a->lens[2]), 0);
        w->n_sets++;
        return r_new(REDIS_REPLY_STATUS);
    }
    if (strcmp(cmd, "GET") == 0) {
        struct pc_buf *b = kv_get(w, key);

        return b != NULL ? r_bin(b->data, b->len) : r_new(REDIS_REPLY_NIL);
    }
    if (strcmp(cmd, "EXISTS") == 0) {
        return r_int(m < KV_MAX);
    }
    if (strcmp(cmd, "HGET") == 0) {
        arg(a, 2, f, sizeof(f));
        assert_string_equal(f, "job");
        return m < KV_MAX && w->meta_job[m][0] != '\0' ? r_str(w->meta_job[m])
                                                       : r_new(REDIS_REPLY_NIL);
    }
    if (strcmp(cmd, "HSET") == 0) {
        size_t kl = strlen(key);

        assert_true(m == KV_MAX && w->n_meta < KV_MAX && kl > 9 && kl - 9 < sizeof(w->meta[0]));
        m = w->n_meta++;
        memcpy(w->meta[m], key + 8, kl - 9);
        w->meta[m][kl - 9] = '\0';
        for (size_t i = 2; i + 1 < a->n; i += 2) {
            arg(a, i, f, sizeof(f));
            arg(a, i + 1, v, sizeof(v));
            if (strcmp(f, "job") == 0) {
                /* The copy it names is there already (it is written first). */
                char ck[160];

                (void)snprintf(ck, sizeof(ck), "p:jobs:{%s}", v);
                assert_non_null(kv_get(w, ck));
                (void)snprintf(w->meta_job[m], sizeof(w->meta_job[0]), "%s", v);
            } else if (strcmp(f, "rerun_of") == 0) {
                (void)snprintf(w->rerun_of[m], sizeof(w->rerun_of[0]), "%s", v);
            }
        }
        return r_int(1);
    }
    if (strcmp(cmd, "ZADD") == 0) {
        return r_int(1);
    }
    if (strcmp(cmd, "XADD") == 0) {
        arg(a, 3, f, sizeof(f));
        assert_string_equal(f, "exec");
        assert_true(w->n_queued < KV_MAX);
        arg(a, 4, w->queued[w->n_queued++], sizeof(w->queued[0]));
        return r_str("1-1");
    }
    fail_msg("unexpected command %s", cmd);
    return NULL;
}

/* Sends the submit commands of job in order. */
static void kv_submit(struct kv *w, const struct msg_job *job)
{
    struct pc_redis_args a[PC_SUBMIT_CMDS];
    struct pc_buf bytes;
    struct pc_err err;

    memset(&bytes, 0, sizeof(bytes));
    assert_int_equal(msg_job_encode(job, &bytes, &err), 0);
    assert_int_equal(pc_submit_args("p", 1, job, bytes.data, bytes.len, 1, a), 0);
    for (size_t k = 0; k < PC_SUBMIT_CMDS; k++) {
        redisReply *r = answer_kv(w, &a[k]);

        freeReplyObject(r);
        pc_redis_args_cleanup(&a[k]);
    }
    pc_buf_cleanup(&bytes);
}

/* Runs a rerun of target to its end: its result, its id into id_out. */
static enum pc_fop_result kv_rerun(struct kv *w, const char *target, const char *new_id,
                                   char *id_out)
{
    struct pc_fop_params p;
    struct pc_fop *op = NULL;
    struct pc_err err;
    enum pc_fop_result res;

    memset(&p, 0, sizeof(p));
    p.kind = PC_FOP_RERUN;
    p.prefix = "p";
    p.target = target;
    p.new_id = new_id;
    p.now_ms = 1800000000000u;
    assert_int_equal(pc_fop_create(&p, &op, &err), 0);
    for (;;) {
        const struct pc_redis_args *cmds = NULL;
        redisReply *replies[16];
        size_t n = 0;

        pc_fop_round(op, &cmds, &n);
        if (n == 0) {
            break;
        }
        assert_true(n <= 16);
        for (size_t i = 0; i < n; i++) {
            replies[i] = answer_kv(w, &cmds[i]);
        }
        pc_err_clear(&err);
        assert_int_equal(pc_fop_feed(op, replies, n, &err), 0);
    }
    res = pc_fop_result(op);
    (void)snprintf(id_out, 32, "%s", pc_fop_new_id(op) != NULL ? pc_fop_new_id(op) : "");
    pc_fop_destroy(op);
    return res;
}

static void kv_job(struct msg_job *job, const char *id, uint64_t created_ms)
{
    static const char flow[] = "{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": ["
                               " {\"id\": \"s\", \"type\": \"sleep\", \"params\": {\"steps\": 1,"
                               "  \"step_ms\": 1, \"marker\": \"/tmp/x\"}}]}";

    memset(job, 0, sizeof(*job));
    (void)snprintf(job->id, sizeof(job->id), "%s", id);
    job->cmd = PC_CMD_ENSURE;
    (void)snprintf(job->queue.s, sizeof(job->queue.s), "default");
    job->created_ms = created_ms;
    assert_int_equal(pc_flow_parse_json(flow, strlen(flow), "test", &job->flow, NULL), 0);
}

static void kv_cleanup(struct kv *w)
{
    for (size_t i = 0; i < w->n; i++) {
        pc_buf_cleanup(&w->val[i]);
    }
}

/* Two submits of one flow keep one copy; each reruns from it, with a fresh id. */
static void submits_of_one_flow_share_one_copy_and_rerun_from_it(void **state)
{
    struct kv w;
    struct msg_job job;
    char id[32];
    size_t copies = 0;

    (void)state;
    memset(&w, 0, sizeof(w));
    kv_job(&job, ID1, 1700000000000u);
    kv_submit(&w, &job);
    (void)snprintf(job.id, sizeof(job.id), "%s", ID2);
    job.created_ms += 5000;
    kv_submit(&w, &job);
    msg_job_cleanup(&job);
    for (size_t i = 0; i < w.n; i++) {
        copies += strncmp(w.key[i], "p:jobs:{", 8) == 0;
        assert_null(strstr(w.key[i], "}:job")); /* no copy per execution */
    }
    assert_int_equal(copies, 1);
    assert_int_equal(w.n_meta, 2);
    assert_string_equal(w.meta_job[0], w.meta_job[1]);
    assert_int_equal(kv_rerun(&w, ID2, ID3, id), PC_FOP_CREATED);
    assert_int_equal(strncmp(id, ID3, 20), 0);
    assert_int_equal(w.n_meta, 3);
    assert_string_equal(w.meta[2], id);
    assert_string_equal(w.rerun_of[2], ID2);
    assert_string_equal(w.meta_job[2], w.meta_job[0]); /* the rerun shares it too */
    assert_int_equal(w.n_queued, 3);
    assert_string_equal(w.queued[2], id);
    /* The copy expired: not kept, nothing queued. */
    w.key[0][0] = '\0';
    assert_int_equal(kv_rerun(&w, ID1, "01HZX3K5T0Y8M2Q4R6S8T0V2W4", id), PC_FOP_CONFLICT);
    assert_int_equal(w.n_queued, 3);
    kv_cleanup(&w);
}

/* An execution of the layout before the shared copy (its own :job key, no
 * meta field) still reruns. */
static void an_old_layout_execution_reruns_from_its_own_key(void **state)
{
    struct kv w;
    struct msg_job job;
    struct pc_err err;
    char id[32];

    (void)state;
    memset(&w, 0, sizeof(w));
    kv_job(&job, ID1, 1700000000000u);
    (void)snprintf(w.key[0], sizeof(w.key[0]), "p:exec:{%s}:job", ID1);
    pc_buf_init(&w.val[0], 1u << 20);
    memset(&err, 0, sizeof(err));
    {
        struct pc_buf bytes;

        memset(&bytes, 0, sizeof(bytes));
        assert_int_equal(msg_job_encode(&job, &bytes, &err), 0);
        assert_int_equal(pc_buf_append(&w.val[0], bytes.data, bytes.len), 0);
        pc_buf_cleanup(&bytes);
    }
    w.n = 1;
    (void)snprintf(w.meta[0], sizeof(w.meta[0]), "%s", ID1);
    w.n_meta = 1;
    msg_job_cleanup(&job);
    assert_int_equal(kv_rerun(&w, ID1, ID2, id), PC_FOP_CREATED);
    assert_int_equal(strncmp(id, ID2, 20), 0);
    assert_int_equal(w.n_meta, 2);
    assert_string_equal(w.rerun_of[1], ID1);
    assert_int_equal(strlen(w.meta_job[1]), 64); /* the rerun keeps the shared copy */
    assert_int_equal(w.n_queued, 1);
    assert_string_equal(w.queued[0], id);
    kv_cleanup(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pages_see_every_execution_once_in_order),
        cmocka_unit_test(filtered_pages_see_every_match_once),
        cmocka_unit_test(an_execution_added_between_pages_shifts_nothing),
        cmocka_unit_test(bad_cursors_limits_and_filters_are_refused),
        cmocka_unit_test(retry_decisions),
        cmocka_unit_test(rerun_decisions),
        cmocka_unit_test(submits_of_one_flow_share_one_copy_and_rerun_from_it),
        cmocka_unit_test(an_old_layout_execution_reruns_from_its_own_key),
        cmocka_unit_test(retry_queues_once),
        cmocka_unit_test(retry_stopped_after_marker_is_finished_by_the_next),
        cmocka_unit_test(retry_stopped_before_removal_only_removes),
        cmocka_unit_test(concurrent_retries_queue_once),
        cmocka_unit_test(a_bad_marker_is_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
