/*
 * fleet_ops.c - the operations views and actions (peace/fleet_ops.h): the
 * rounds of each operation and what they keep. The JSON answers are in
 * fleet_ops_json.c, the loops that send the rounds in fleet_ops_run.c.
 *
 * Rounds:
 *   workers  ZREVRANGE queues | ZRANGEBYSCORE workers:{Q} (now +inf, each
 *            queue | HGETALL worker:{C}, each live consumer
 *   queues   ZREVRANGE queues | XLEN q, XPENDING q workers, XRANGE q - +
 *            COUNT 1, ZCOUNT workers:{Q} (now +inf, each queue; XLEN dead
 *   dead     XREVRANGE dead (CURSOR|+) - COUNT limit, XLEN dead
 *   retry    XRANGE dead E E, GET dead:retried:{E} | SET dead:retried:{E}
 *            NEW NX EX, SET dead:retried:{E}:claim NEW NX PX | (set) the
 *            submit commands of NEW + XDEL dead E, (not set) GET
 *            dead:retried:{E}; or, marker X found with the entry still
 *            there: HEXISTS exec:{X} status, SET ...:claim X NX PX | (claimed,
 *            no execution) the submit commands of X + XDEL dead E,
 *            (claimed, queued) XDEL dead E, (not claimed) nothing
 *   rerun    EXISTS exec:{T}, GET exec:{T}:job, HGET exec:{T} job | (no :job
 *            key, a digest D) GET jobs:{D} | the submit commands of NEW
 *   execs    ZREVRANGEBYSCORE execs MAX MIN WITHSCORES LIMIT K N | HMGET
 *            exec:{ID} fields..., each id | ... until the page is full, the
 *            index ends or PC_FOP_SCAN_MAX entries were examined.
 *
 * The retry marker is the fence: the one retry whose SET NX succeeds queues
 * the job and removes the entry; any other (concurrent or later) answers
 * the id the marker holds, so retrying twice queues one execution. The
 * marker holds the new id before anything is queued, so a retry that
 * stopped between its marker and its submit (a crash, Redis gone) is not
 * lost: the next retry finds the marker with the entry still there and
 * queues that same id, unless the claim (set with the marker, expiring
 * after FOP_RETRY_CLAIM_MS) says a retry is queueing it now, or the
 * execution exists (then only the entry's removal was lost).
 *
 * Executions cursor: "c<SCORE>.<ID>", the position (created_ms, id) of the
 * last execution the page examined. The index orders equal scores by id,
 * descending in a reverse range, so the next page is every entry below that
 * position: score < SCORE, or score == SCORE and id < ID. Within a request,
 * K counts the entries read at the current lowest score, which keeps a run
 * of equal scores longer than a round from being read twice.
 */
#include "fleet_ops_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/cmd.h"
#include "peace/ident.h"
#include "peace/keys.h"
#include "peace/msg.h"
#include "peace/outcome.h"
#include "peace/submit.h"

static const char *const filter_fields[FOP_META_EXTRA] = {"status",  "outcome", "cmd",  "app",
                                                          "profile", "flow",    "queue"};

/* ------------------------------------------------------------------------ */
/* Life                                                                      */

static char *dup_str(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);

    if (d != NULL) {
        memcpy(d, s, n + 1);
    }
    return d;
}

static void clear_round(struct pc_fop *op)
{
    for (size_t i = 0; i < op->n_cmds; i++) {
        pc_redis_args_cleanup(&op->cmds[i]);
    }
    op->n_cmds = 0;
}

/* A new command of the round (initialised), or NULL when out of memory. */
struct pc_redis_args *fop_add_cmd(struct pc_fop *op)
{
    if (op->n_cmds == op->cap_cmds) {
        size_t cap = op->cap_cmds > 0 ? op->cap_cmds * 2 : 8;
        struct pc_redis_args *c = realloc(op->cmds, cap * sizeof(*c));

        if (c == NULL) {
            return NULL;
        }
        op->cmds = c;
        op->cap_cmds = cap;
    }
    pc_redis_args_init(&op->cmds[op->n_cmds]);
    return &op->cmds[op->n_cmds++];
}

/* Keeps a reply for the life of the operation (results borrow from it). */
static int keep_reply(struct pc_fop *op, redisReply *r)
{
    if (op->n_kept == op->cap_kept) {
        size_t cap = op->cap_kept > 0 ? op->cap_kept * 2 : 16;
        redisReply **k = realloc(op->kept, cap * sizeof(*k));

        if (k == NULL) {
            freeReplyObject(r);
            return PC_ENOMEM;
        }
        op->kept = k;
        op->cap_kept = cap;
    }
    op->kept[op->n_kept++] = r;
    return 0;
}

void fop_add_key_cmd(struct pc_redis_args *a, int key_rc, const char *key)
{
    if (key_rc < 0) {
        a->rc = a->rc != 0 ? a->rc : PC_ELIMIT;
        return;
    }
    pc_redis_args_addz(a, key);
}

static int check_limit(const struct pc_fop_params *p, size_t max, struct pc_err *err)
{
    if (p->limit < 1 || p->limit > max) {
        return pc_err_set(err, PC_EINVAL, "limit must be a number in 1..%zu", max);
    }
    return 0;
}

static int first_round(struct pc_fop *op, struct pc_err *err);

int pc_fop_create(const struct pc_fop_params *p, struct pc_fop **out, struct pc_err *err)
{
    struct pc_fop *op = NULL;
    int rc = 0;

    *out = NULL;
    if (p->prefix == NULL || pc_prefix_check(p->prefix, err) != 0) {
        return PC_EINVAL;
    }
    if (p->partitions > PC_PARTITIONS_MAX) {
        return pc_err_set(err, PC_EINVAL, "partitions must be 1 to %d", PC_PARTITIONS_MAX);
    }
    if (p->n_queues > PC_FOP_QUEUES_MAX) {
        return pc_err_set(err, PC_EINVAL, "more than %d queues", PC_FOP_QUEUES_MAX);
    }
    for (size_t i = 0; i < p->n_queues; i++) {
        if (p->queues[i] == NULL || !pc_ident_valid(p->queues[i], strlen(p->queues[i]))) {
            return pc_err_set(err, PC_EINVAL,
                              "queue names are identifiers ([A-Za-z_][A-Za-z0-9_]*)");
        }
    }
    op = calloc(1, sizeof(*op));
    if (op == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    op->kind = p->kind;
    op->now_ms = p->now_ms;
    op->partitions = p->partitions > 0 ? p->partitions : 1;
    memcpy(op->prefix, p->prefix, strlen(p->prefix) + 1);
    for (size_t i = 0; i < p->n_queues; i++) {
        fop_add_queue(op, p->queues[i], strlen(p->queues[i]));
    }
    switch (p->kind) {
    case PC_FOP_WORKERS:
    case PC_FOP_QUEUES:
        break;
    case PC_FOP_DEAD:
        rc = check_limit(p, PC_FOP_DEAD_MAX, err);
        if (rc == 0 && p->cursor != NULL && p->cursor[0] != '\0') {
            if (strlen(p->cursor) >= sizeof(op->in_cursor) ||
                !pc_stream_entry_id_valid(p->cursor)) {
                rc = pc_err_set(err, PC_EINVAL, "cursor is not one this API gave");
            } else {
                memcpy(op->in_cursor, p->cursor, strlen(p->cursor) + 1);
            }
        }
        op->limit = p->limit;
        break;
    case PC_FOP_RETRY:
    case PC_FOP_RERUN:
        if (p->target == NULL || p->new_id == NULL ||
            !pc_exec_id_valid(p->new_id, strlen(p->new_id)) ||
            strlen(p->new_id) >= sizeof(op->new_id)) {
            rc = pc_err_set(err, PC_EINVAL, "a retry or rerun needs a target and a new id");
        } else if (p->kind == PC_FOP_RETRY && (strlen(p->target) >= sizeof(op->target) ||
                                               !pc_stream_entry_id_valid(p->target))) {
            rc = pc_err_set(err, PC_EINVAL, "a dead-letter id is a stream entry id (MS-SEQ)");
        } else if (p->kind == PC_FOP_RERUN && (strlen(p->target) >= sizeof(op->target) ||
                                               !pc_exec_id_valid(p->target, strlen(p->target)))) {
            rc = pc_err_set(err, PC_EINVAL, "an execution id is 1..%d bytes of [0-9A-Za-z-]",
                            PC_EXEC_ID_MAX);
        } else {
            memcpy(op->target, p->target, strlen(p->target) + 1);
            memcpy(op->new_id, p->new_id, strlen(p->new_id) + 1);
        }
        break;
    case PC_FOP_EXECS:
        rc = check_limit(p, PC_FOP_LIST_MAX, err);
        if (rc == 0 && p->cursor != NULL && p->cursor[0] != '\0') {
            if (!fop_cursor_parse(p->cursor, &op->c_score, op->c_id, sizeof(op->c_id))) {
                rc = pc_err_set(err, PC_EINVAL, "cursor is not one this API gave");
            }
            op->has_cursor = rc == 0;
            op->pos_score = op->c_score;
            op->has_pos = op->has_cursor;
        }
        if (rc == 0 && (p->n_fields == 0 || p->fields == NULL)) {
            rc = pc_err_set(err, PC_EINVAL, "an executions listing needs fields");
        }
        if (rc == 0) {
            op->fields = calloc(p->n_fields + FOP_META_EXTRA, sizeof(*op->fields));
            if (op->fields == NULL) {
                rc = pc_err_set(err, PC_ENOMEM, "out of memory");
            }
        }
        for (size_t i = 0; rc == 0 && i < p->n_fields + FOP_META_EXTRA; i++) {
            op->fields[i] =
                dup_str(i < p->n_fields ? p->fields[i] : filter_fields[i - p->n_fields]);
            rc = op->fields[i] == NULL ? pc_err_set(err, PC_ENOMEM, "out of memory") : 0;
            op->n_all_fields = i + 1;
        }
        op->n_fields = p->n_fields;
        op->limit = p->limit;
        if (p->filter != NULL) {
            op->filter = *p->filter;
        }
        break;
    default:
        rc = pc_err_set(err, PC_EINVAL, "unknown operation");
        break;
    }
    if (rc == 0) {
        rc = first_round(op, err);
    }
    if (rc != 0) {
        pc_fop_destroy(op);
        return rc;
    }
    *out = op;
    return 0;
}

void pc_fop_destroy(struct pc_fop *op)
{
    if (op == NULL) {
        return;
    }
    clear_round(op);
    free(op->cmds);
    for (size_t i = 0; i < op->n_kept; i++) {
        freeReplyObject(op->kept[i]);
    }
    free(op->kept);
    for (size_t i = 0; i < op->n_all_fields; i++) {
        free(op->fields[i]);
    }
    free(op->fields);
    free(op->rows);
    free(op->workers);
    free(op->dead);
    free(op);
}

void fop_add_queue(struct pc_fop *op, const char *p, size_t n)
{
    if (op->n_queues == PC_FOP_QUEUES_MAX || n > PC_ID_MAX || !pc_ident_valid(p, n)) {
        return;
    }
    for (size_t q = 0; q < op->n_queues; q++) {
        if (strlen(op->queues[q].name.s) == n && memcmp(op->queues[q].name.s, p, n) == 0) {
            return;
        }
    }
    memcpy(op->queues[op->n_queues].name.s, p, n);
    op->queues[op->n_queues].name.s[n] = '\0';
    op->n_queues++;
}

void pc_fop_round(const struct pc_fop *op, const struct pc_redis_args **cmds, size_t *n)
{
    *cmds = op->cmds;
    *n = op->n_cmds;
}

enum pc_fop_result pc_fop_result(const struct pc_fop *op)
{
    return op->result;
}

const char *pc_fop_message(const struct pc_fop *op)
{
    return op->message;
}

size_t pc_fop_rows(const struct pc_fop *op)
{
    return op->n_rows;
}

const redisReply *pc_fop_row(const struct pc_fop *op, size_t i)
{
    return i < op->n_rows ? op->rows[i] : NULL;
}

const char *pc_fop_cursor(const struct pc_fop *op)
{
    return op->out_cursor[0] != '\0' ? op->out_cursor : NULL;
}

const char *pc_fop_new_id(const struct pc_fop *op)
{
    return op->new_id;
}

/* ------------------------------------------------------------------------ */
/* Rounds                                                                    */

static int registry_round(struct pc_fop *op)
{
    struct pc_redis_args *a = fop_add_cmd(op);
    char key[PC_KEY_MAX];

    if (a == NULL) {
        return PC_ENOMEM;
    }
    pc_redis_args_addz(a, "ZREVRANGE");
    fop_add_key_cmd(a, pc_key_queues(key, sizeof(key), op->prefix), key);
    pc_redis_args_addz(a, "0");
    pc_redis_args_addu64(a, PC_FOP_QUEUES_MAX - 1);
    return pc_redis_args_error(a);
}

static int dead_round(struct pc_fop *op)
{
    struct pc_redis_args *a = fop_add_cmd(op);
    struct pc_redis_args *len = a != NULL ? fop_add_cmd(op) : NULL;
    char key[PC_KEY_MAX];
    int krc = pc_key_dead(key, sizeof(key), op->prefix);

    if (a == NULL || len == NULL) {
        return PC_ENOMEM;
    }
    a = &op->cmds[0];
    pc_redis_args_addz(a, "XREVRANGE");
    fop_add_key_cmd(a, krc, key);
    if (op->in_cursor[0] != '\0') {
        pc_redis_args_addf(a, "(%s", op->in_cursor);
    } else {
        pc_redis_args_addz(a, "+");
    }
    pc_redis_args_addz(a, "-");
    pc_redis_args_addz(a, "COUNT");
    pc_redis_args_addu64(a, op->limit);
    pc_redis_args_addz(len, "XLEN");
    fop_add_key_cmd(len, krc, key);
    return pc_redis_args_error(a) != 0 ? pc_redis_args_error(a) : pc_redis_args_error(len);
}

/* The submit commands of op->new_id from a job read back (bytes), with the
 * link field (rerun_of / retry_of) added to the meta hash. */
static int submit_round(struct pc_fop *op, const char *job_bytes, size_t job_len,
                        const char *link_field, struct pc_err *err)
{
    struct msg_job job;
    struct pc_buf bytes;
    enum pc_block_kind blocks[PC_BLOCKS_MAX];
    struct pc_redis_args a[PC_SUBMIT_CMDS];
    int rc;

    memset(&job, 0, sizeof(job));
    if (msg_job_decode(job_bytes, job_len, &job, err) != 0) {
        op->result = PC_FOP_CONFLICT;
        (void)snprintf(op->message, sizeof(op->message), "the job cannot be queued again: %.200s",
                       err->msg);
        pc_err_clear(err);
        return 0;
    }
    /* The new id in the profile's key slot (peace/submit.h; a retry placed it before its
     * marker, so this leaves it as it is; a retry finishing another's queues the marker's
     * id exactly as it is). */
    if (!op->finishing) {
        pc_submit_colocate_id(op->new_id, job.flow.app.s, job.flow.profile.s);
    }
    memcpy(job.id, op->new_id, strlen(op->new_id) + 1);
    job.created_ms = op->now_ms;
    rc = msg_job_encode(&job, &bytes, err);
    if (rc != 0) {
        msg_job_cleanup(&job);
        return rc;
    }
    rc = pc_submit_args(op->prefix, op->partitions, &job, bytes.data, bytes.len,
                        pc_cmd_blocks(job.cmd, job.sync, blocks), a);
    pc_redis_args_addz(&a[PC_SUBMIT_META], link_field);
    pc_redis_args_addz(&a[PC_SUBMIT_META], op->target);
    for (size_t i = 0; i < PC_SUBMIT_CMDS; i++) {
        struct pc_redis_args *c = rc == 0 ? fop_add_cmd(op) : NULL;

        if (c == NULL) {
            rc = rc != 0 ? rc : PC_ENOMEM;
            pc_redis_args_cleanup(&a[i]);
            continue;
        }
        rc = pc_redis_args_error(&a[i]);
        pc_redis_args_move(c, &a[i]);
    }
    msg_job_cleanup(&job);
    pc_buf_cleanup(&bytes);
    if (rc != 0) {
        return pc_err_set(err, rc, "cannot build the submit commands");
    }
    op->result = PC_FOP_CREATED;
    return 0;
}

static int first_round(struct pc_fop *op, struct pc_err *err)
{
    char key[PC_KEY_MAX];
    struct pc_redis_args *a = NULL;
    struct pc_redis_args *b = NULL;
    int rc = 0;

    switch (op->kind) {
    case PC_FOP_WORKERS:
    case PC_FOP_QUEUES:
        rc = registry_round(op);
        break;
    case PC_FOP_DEAD:
        rc = dead_round(op);
        break;
    case PC_FOP_RETRY:
        a = fop_add_cmd(op);
        b = a != NULL ? fop_add_cmd(op) : NULL;
        if (b == NULL) {
            return pc_err_set(err, PC_ENOMEM, "out of memory");
        }
        a = &op->cmds[0];
        pc_redis_args_addz(a, "XRANGE");
        fop_add_key_cmd(a, pc_key_dead(key, sizeof(key), op->prefix), key);
        pc_redis_args_addz(a, op->target);
        pc_redis_args_addz(a, op->target);
        pc_redis_args_addz(b, "GET");
        fop_add_key_cmd(b, pc_key_dead_retried(key, sizeof(key), op->prefix, op->target), key);
        rc = pc_redis_args_error(a) != 0 ? pc_redis_args_error(a) : pc_redis_args_error(b);
        break;
    case PC_FOP_RERUN:
        a = fop_add_cmd(op);
        b = a != NULL ? fop_add_cmd(op) : NULL;
        if (b == NULL) {
            return pc_err_set(err, PC_ENOMEM, "out of memory");
        }
        a = &op->cmds[0];
        pc_redis_args_addz(a, "EXISTS");
        fop_add_key_cmd(a, pc_key_exec(key, sizeof(key), op->prefix, op->target), key);
        pc_redis_args_addz(b, "GET");
        fop_add_key_cmd(b, pc_key_job(key, sizeof(key), op->prefix, op->target), key);
        rc = pc_redis_args_error(a) != 0 ? pc_redis_args_error(a) : pc_redis_args_error(b);
        a = rc == 0 ? fop_add_cmd(op) : NULL;
        if (rc == 0 && a == NULL) {
            return pc_err_set(err, PC_ENOMEM, "out of memory");
        }
        if (a != NULL) {
            pc_redis_args_addz(a, "HGET");
            fop_add_key_cmd(a, pc_key_exec(key, sizeof(key), op->prefix, op->target), key);
            pc_redis_args_addz(a, "job");
            rc = pc_redis_args_error(a);
        }
        break;
    case PC_FOP_EXECS:
        rc = fop_execs_index_round(op);
        break;
    }
    if (rc != 0) {
        return pc_err_set(err, rc, "cannot build the Redis commands (%s)", pc_strerror(rc));
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Replies                                                                   */

bool fop_is_str(const redisReply *r)
{
    return r != NULL && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

/* workers: the consumers of each queue's set -> HGETALL each. */
static int workers_step(struct pc_fop *op, redisReply **r, size_t n)
{
    char key[PC_KEY_MAX];

    if (op->step == 1) {
        for (size_t i = 0; i < r[0]->elements; i++) {
            if (fop_is_str(r[0]->element[i])) {
                fop_add_queue(op, r[0]->element[i]->str, r[0]->element[i]->len);
            }
        }
        for (size_t q = 0; q < op->n_queues; q++) {
            struct pc_redis_args *a = fop_add_cmd(op);

            if (a == NULL) {
                return PC_ENOMEM;
            }
            pc_redis_args_addz(a, "ZRANGEBYSCORE");
            fop_add_key_cmd(a, pc_key_workers(key, sizeof(key), op->prefix, op->queues[q].name.s),
                            key);
            pc_redis_args_addf(a, "(%llu", (unsigned long long)op->now_ms);
            pc_redis_args_addz(a, "+inf");
            pc_redis_args_addz(a, "WITHSCORES");
            pc_redis_args_addz(a, "LIMIT");
            pc_redis_args_addz(a, "0");
            pc_redis_args_addu64(a, PC_FOP_WORKERS_MAX);
        }
        return 0;
    }
    if (op->step == 2) {
        size_t total = 0;

        for (size_t i = 0; i < n; i++) {
            total += r[i]->type == REDIS_REPLY_ARRAY ? r[i]->elements / 2 : 0;
        }
        op->workers = calloc(total + 1, sizeof(*op->workers));
        if (op->workers == NULL) {
            return PC_ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            for (size_t k = 0; r[i]->type == REDIS_REPLY_ARRAY && k + 1 < r[i]->elements; k += 2) {
                const redisReply *m = r[i]->element[k];
                const redisReply *s = r[i]->element[k + 1];
                struct pc_redis_args *a = NULL;
                bool seen = false;

                if (!fop_is_str(m) || m->len == 0 || memchr(m->str, '{', m->len) != NULL ||
                    memchr(m->str, '}', m->len) != NULL || !fop_is_str(s)) {
                    continue;
                }
                for (size_t w = 0; w < op->n_workers && !seen; w++) {
                    const redisReply *o = op->workers[w].member;

                    seen = o->len == m->len && memcmp(o->str, m->str, m->len) == 0;
                }
                if (seen || m->len >= PC_KEY_MAX / 2) {
                    continue;
                }
                a = fop_add_cmd(op);
                if (a == NULL) {
                    return PC_ENOMEM;
                }
                op->workers[op->n_workers].member = m;
                op->workers[op->n_workers].expires_ms = strtoull(s->str, NULL, 10);
                op->n_workers++;
                pc_redis_args_addz(a, "HGETALL");
                {
                    char consumer[PC_KEY_MAX / 2];

                    memcpy(consumer, m->str, m->len);
                    consumer[m->len] = '\0';
                    fop_add_key_cmd(a, pc_key_worker(key, sizeof(key), op->prefix, consumer), key);
                }
            }
        }
        return 0;
    }
    for (size_t i = 0; i < n && i < op->n_workers; i++) {
        op->workers[i].hash = r[i]->type == REDIS_REPLY_ARRAY ? r[i] : NULL;
    }
    return 0;
}

/* queues: per queue ZCOUNT live, then per partition XLEN, XPENDING, XRANGE
 * first (peace/keys.h: one stream when partitions = 1); then XLEN dead. */
static int queues_step(struct pc_fop *op, redisReply **r, size_t n)
{
    char key[PC_KEY_MAX];
    size_t stride = 1 + 3 * (size_t)op->partitions;

    if (op->step == 1) {
        for (size_t i = 0; i < r[0]->elements; i++) {
            if (fop_is_str(r[0]->element[i])) {
                fop_add_queue(op, r[0]->element[i]->str, r[0]->element[i]->len);
            }
        }
        for (size_t q = 0; q < op->n_queues; q++) {
            const char *name = op->queues[q].name.s;
            struct pc_redis_args *a = fop_add_cmd(op);

            if (a == NULL) {
                return PC_ENOMEM;
            }
            pc_redis_args_addz(a, "ZCOUNT");
            fop_add_key_cmd(a, pc_key_workers(key, sizeof(key), op->prefix, name), key);
            pc_redis_args_addf(a, "(%llu", (unsigned long long)op->now_ms);
            pc_redis_args_addz(a, "+inf");
            for (unsigned p = 0; p < op->partitions; p++) {
                int krc = pc_key_queue_part(key, sizeof(key), op->prefix, name, p, op->partitions);

                for (size_t k = 0; k < 3; k++) {
                    a = fop_add_cmd(op);
                    if (a == NULL) {
                        return PC_ENOMEM;
                    }
                    pc_redis_args_addz(a, k == 0 ? "XLEN" : k == 1 ? "XPENDING" : "XRANGE");
                    fop_add_key_cmd(a, krc, key);
                    if (k == 1) {
                        pc_redis_args_addz(a, "workers");
                    } else if (k == 2) {
                        pc_redis_args_addz(a, "-");
                        pc_redis_args_addz(a, "+");
                        pc_redis_args_addz(a, "COUNT");
                        pc_redis_args_addz(a, "1");
                    }
                }
            }
        }
        {
            struct pc_redis_args *d = fop_add_cmd(op);

            if (d == NULL) {
                return PC_ENOMEM;
            }
            pc_redis_args_addz(d, "XLEN");
            fop_add_key_cmd(d, pc_key_dead(key, sizeof(key), op->prefix), key);
        }
        return 0;
    }
    for (size_t q = 0; q < op->n_queues && stride * (q + 1) <= n; q++) {
        struct fop_queue *Q = &op->queues[q];
        redisReply **qr = &r[stride * q];

        Q->live =
            qr[0]->type == REDIS_REPLY_INTEGER && qr[0]->integer > 0 ? (uint64_t)qr[0]->integer : 0;
        Q->length = 0;
        Q->pending = 0;
        Q->oldest_ms = 0;
        for (unsigned p = 0; p < op->partitions; p++) {
            const redisReply *len = qr[1 + 3 * p];
            const redisReply *pend = qr[2 + 3 * p];
            const redisReply *first = qr[3 + 3 * p];

            Q->length +=
                len->type == REDIS_REPLY_INTEGER && len->integer > 0 ? (uint64_t)len->integer : 0;
            /* XPENDING summary: [count, first, last, consumers]; NOGROUP = none pending. */
            Q->pending += pend->type == REDIS_REPLY_ARRAY && pend->elements > 0 &&
                                  pend->element[0]->type == REDIS_REPLY_INTEGER &&
                                  pend->element[0]->integer > 0
                              ? (uint64_t)pend->element[0]->integer
                              : 0;
            /* The oldest job of any partition. */
            if (first->type == REDIS_REPLY_ARRAY && first->elements > 0 &&
                first->element[0]->type == REDIS_REPLY_ARRAY && first->element[0]->elements > 0 &&
                fop_is_str(first->element[0]->element[0])) {
                uint64_t ms = strtoull(first->element[0]->element[0]->str, NULL, 10);

                Q->oldest_ms = Q->oldest_ms == 0 || ms < Q->oldest_ms ? ms : Q->oldest_ms;
            }
        }
    }
    op->dead_len = n > 0 && r[n - 1]->type == REDIS_REPLY_INTEGER && r[n - 1]->integer > 0
                       ? (uint64_t)r[n - 1]->integer
                       : 0;
    return 0;
}

static int dead_step(struct pc_fop *op, redisReply **r, size_t n)
{
    const redisReply *list = r[0];

    (void)n;
    op->dead_len =
        r[1]->type == REDIS_REPLY_INTEGER && r[1]->integer > 0 ? (uint64_t)r[1]->integer : 0;
    if (list->type != REDIS_REPLY_ARRAY) {
        return PC_EREDIS;
    }
    op->dead = calloc(list->elements + 1, sizeof(*op->dead));
    if (op->dead == NULL) {
        return PC_ENOMEM;
    }
    for (size_t i = 0; i < list->elements; i++) {
        const redisReply *e = list->element[i];

        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || !fop_is_str(e->element[0]) ||
            e->element[1]->type != REDIS_REPLY_ARRAY) {
            continue;
        }
        op->dead[op->n_dead++] = e;
    }
    if (list->elements == op->limit && op->n_dead > 0) {
        const redisReply *last = op->dead[op->n_dead - 1]->element[0];

        (void)snprintf(op->out_cursor, sizeof(op->out_cursor), "%.*s", (int)last->len, last->str);
    }
    return 0;
}

/* The value of field name in a flat [field, value, ...] array, or NULL. */
const redisReply *fop_field(const redisReply *kv, const char *name)
{
    size_t nl = strlen(name);

    for (size_t i = 0; kv != NULL && i + 1 < kv->elements; i += 2) {
        const redisReply *f = kv->element[i];

        if (fop_is_str(f) && f->len == nl && memcmp(f->str, name, nl) == 0) {
            return fop_is_str(kv->element[i + 1]) ? kv->element[i + 1] : NULL;
        }
    }
    return NULL;
}

/* SET claim ID NX PX FOP_RETRY_CLAIM_MS: who queues the marker's id now. */
static int add_claim(struct pc_fop *op, const char *id)
{
    char key[PC_KEY_MAX];
    struct pc_redis_args *a = fop_add_cmd(op);

    if (a == NULL) {
        return PC_ENOMEM;
    }
    pc_redis_args_addz(a, "SET");
    fop_add_key_cmd(a, pc_key_dead_retry_claim(key, sizeof(key), op->prefix, op->target), key);
    pc_redis_args_addz(a, id);
    pc_redis_args_addz(a, "NX");
    pc_redis_args_addz(a, "PX");
    pc_redis_args_addu64(a, FOP_RETRY_CLAIM_MS);
    return pc_redis_args_error(a);
}

/* The submit commands of op->new_id, then XDEL dead E (the retry is over). */
static int submit_and_remove(struct pc_fop *op, struct pc_err *err)
{
    char key[PC_KEY_MAX];
    struct pc_redis_args *a = NULL;
    int rc = submit_round(op, op->job->str, op->job->len, "retry_of", err);

    if (rc != 0 || op->result != PC_FOP_CREATED) {
        return rc;
    }
    a = fop_add_cmd(op);
    if (a == NULL) {
        return PC_ENOMEM;
    }
    pc_redis_args_addz(a, "XDEL");
    fop_add_key_cmd(a, pc_key_dead(key, sizeof(key), op->prefix), key);
    pc_redis_args_addz(a, op->target);
    return pc_redis_args_error(a);
}

/* XDEL dead E alone: the execution was queued, the entry was not removed. */
static int remove_entry(struct pc_fop *op)
{
    char key[PC_KEY_MAX];
    struct pc_redis_args *a = fop_add_cmd(op);

    if (a == NULL) {
        return PC_ENOMEM;
    }
    pc_redis_args_addz(a, "XDEL");
    fop_add_key_cmd(a, pc_key_dead(key, sizeof(key), op->prefix), key);
    pc_redis_args_addz(a, op->target);
    op->result = PC_FOP_OK;
    return pc_redis_args_error(a);
}

/* Step 1: the entry and the marker were read. */
static int retry_read(struct pc_fop *op, redisReply **r, struct pc_err *err)
{
    char key[PC_KEY_MAX];
    const redisReply *list = r[0];
    const redisReply *entry =
        list->type == REDIS_REPLY_ARRAY && list->elements > 0 ? list->element[0] : NULL;
    const redisReply *job = NULL;
    struct pc_redis_args *a = NULL;
    struct msg_job j;

    if (entry == NULL || entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) {
        if (fop_is_str(r[1])) {
            /* Retried and removed: the same answer as the first time. */
            (void)snprintf(op->new_id, sizeof(op->new_id), "%.*s", (int)r[1]->len, r[1]->str);
            op->result = PC_FOP_OK;
            return 0;
        }
        op->result = PC_FOP_NOT_FOUND;
        (void)snprintf(op->message, sizeof(op->message), "dead letter %s not found", op->target);
        return 0;
    }
    job = fop_field(entry->element[1], "job");
    if (job == NULL || job->len == 0) {
        op->result = PC_FOP_CONFLICT;
        (void)snprintf(op->message, sizeof(op->message), "dead letter %s has no job to queue again",
                       op->target);
        return 0;
    }
    /* Decode now, so a job that cannot run again is refused before the marker. */
    memset(&j, 0, sizeof(j));
    if (msg_job_decode(job->str, job->len, &j, err) != 0) {
        op->result = PC_FOP_CONFLICT;
        (void)snprintf(op->message, sizeof(op->message),
                       "dead letter %s cannot be queued again: %.200s", op->target, err->msg);
        pc_err_clear(err);
        return 0;
    }
    if (!fop_is_str(r[1])) {
        /* The new id in the job's profile slot before the marker names it. */
        pc_submit_colocate_id(op->new_id, j.flow.app.s, j.flow.profile.s);
    }
    msg_job_cleanup(&j);
    op->job = job; /* kept for the submit round */
    if (fop_is_str(r[1])) {
        /* Marked and the entry still there: that retry is being queued, or
         * it stopped between its marker and its submit. Finish it with the
         * marker's id, unless its claim is held or its execution exists. */
        if (r[1]->len == 0 || r[1]->len >= sizeof(op->new_id) ||
            !pc_exec_id_valid(r[1]->str, r[1]->len)) {
            op->result = PC_FOP_CONFLICT;
            (void)snprintf(op->message, sizeof(op->message),
                           "dead letter %s: its retry marker is not an execution id", op->target);
            return 0;
        }
        (void)snprintf(op->new_id, sizeof(op->new_id), "%.*s", (int)r[1]->len, r[1]->str);
        op->finishing = true;
        a = fop_add_cmd(op);
        if (a == NULL) {
            return PC_ENOMEM;
        }
        pc_redis_args_addz(a, "HEXISTS");
        fop_add_key_cmd(a, pc_key_exec(key, sizeof(key), op->prefix, op->new_id), key);
        pc_redis_args_addz(a, "status");
        return pc_redis_args_error(a) != 0 ? pc_redis_args_error(a) : add_claim(op, op->new_id);
    }
    a = fop_add_cmd(op);
    if (a == NULL) {
        return PC_ENOMEM;
    }
    pc_redis_args_addz(a, "SET");
    fop_add_key_cmd(a, pc_key_dead_retried(key, sizeof(key), op->prefix, op->target), key);
    pc_redis_args_addz(a, op->new_id);
    pc_redis_args_addz(a, "NX");
    pc_redis_args_addz(a, "EX");
    pc_redis_args_addu64(a, PC_JOB_KEEP_S);
    /* The claim with the marker: a retry that finds the marker meanwhile
     * leaves the queueing to this one. */
    return pc_redis_args_error(a) != 0 ? pc_redis_args_error(a) : add_claim(op, op->new_id);
}

static int retry_step(struct pc_fop *op, redisReply **r, size_t n, struct pc_err *err)
{
    char key[PC_KEY_MAX];

    (void)n;
    if (op->step == 1) {
        return retry_read(op, r, err);
    }
    if (op->step == 2 && op->finishing) {
        /* r[0]: HEXISTS exec:{ID} status; r[1]: SET claim NX. */
        if (r[1]->type == REDIS_REPLY_NIL) {
            op->result = PC_FOP_OK; /* another retry is queueing it now */
            return 0;
        }
        if (r[0]->type == REDIS_REPLY_INTEGER && r[0]->integer == 1) {
            return remove_entry(op); /* queued; only the entry's removal was lost */
        }
        return submit_and_remove(op, err);
    }
    if (op->step == 2) {
        struct pc_redis_args *a = NULL;

        if (r[0]->type == REDIS_REPLY_NIL) {
            /* Another retry set the marker first: answer its id. */
            a = fop_add_cmd(op);
            if (a == NULL) {
                return PC_ENOMEM;
            }
            pc_redis_args_addz(a, "GET");
            fop_add_key_cmd(a, pc_key_dead_retried(key, sizeof(key), op->prefix, op->target), key);
            op->lost_race = true;
            return pc_redis_args_error(a);
        }
        return submit_and_remove(op, err);
    }
    if (op->lost_race) {
        if (fop_is_str(r[0])) {
            (void)snprintf(op->new_id, sizeof(op->new_id), "%.*s", (int)r[0]->len, r[0]->str);
        }
        op->result = PC_FOP_OK;
    }
    return 0;
}

/* The job is not kept: a rerun cannot queue it. */
static int rerun_not_kept(struct pc_fop *op)
{
    op->result = PC_FOP_CONFLICT;
    (void)snprintf(op->message, sizeof(op->message),
                   "the job of execution %s is not kept (it was submitted by an older "
                   "version, or over %u days ago)",
                   op->target, PC_JOB_KEEP_S / 86400u);
    return 0;
}

static int rerun_step(struct pc_fop *op, redisReply **r, size_t n, struct pc_err *err)
{
    char key[PC_KEY_MAX];
    char digest[PC_JOB_DIGEST_LEN + 1];
    struct pc_redis_args *a = NULL;

    (void)n;
    if (op->step == 2 && op->job_copy) {
        /* r[0]: GET jobs:{DIGEST}. */
        op->job_copy = false;
        if (!fop_is_str(r[0]) || r[0]->len == 0) {
            return rerun_not_kept(op);
        }
        return submit_round(op, r[0]->str, r[0]->len, "rerun_of", err);
    }
    if (op->step != 1) {
        return 0;
    }
    /* r[0]: EXISTS exec:{T}; r[1]: GET exec:{T}:job (executions submitted
     * before the shared copy); r[2]: HGET exec:{T} job (its digest). */
    if (r[0]->type != REDIS_REPLY_INTEGER || r[0]->integer != 1) {
        op->result = PC_FOP_NOT_FOUND;
        (void)snprintf(op->message, sizeof(op->message), "execution %s not found", op->target);
        return 0;
    }
    if (fop_is_str(r[1]) && r[1]->len > 0) {
        return submit_round(op, r[1]->str, r[1]->len, "rerun_of", err);
    }
    if (!fop_is_str(r[2]) || r[2]->len != PC_JOB_DIGEST_LEN) {
        return rerun_not_kept(op);
    }
    memcpy(digest, r[2]->str, PC_JOB_DIGEST_LEN);
    digest[PC_JOB_DIGEST_LEN] = '\0';
    if (pc_key_job_copy(key, sizeof(key), op->prefix, digest) < 0) {
        return rerun_not_kept(op); /* not a digest this version writes */
    }
    a = fop_add_cmd(op);
    if (a == NULL) {
        return PC_ENOMEM;
    }
    pc_redis_args_addz(a, "GET");
    pc_redis_args_addz(a, key);
    op->job_copy = true;
    return pc_redis_args_error(a);
}

int pc_fop_feed(struct pc_fop *op, redisReply **replies, size_t n, struct pc_err *err)
{
    size_t expected = op->n_cmds;
    int rc = 0;

    clear_round(op);
    for (size_t i = 0; i < n; i++) {
        if (replies[i] == NULL && rc == 0) {
            rc = pc_err_set(err, PC_EREDIS, "Redis did not answer");
        }
        if (rc == 0 && replies[i] != NULL && replies[i]->type == REDIS_REPLY_ERROR &&
            !(op->kind == PC_FOP_QUEUES && op->step == 1 &&
              pc_redis_reply_is_error(replies[i], "NOGROUP"))) {
            /* (XPENDING of a queue no worker has read yet: nothing pending.) */
            rc = pc_err_set(err, PC_EREDIS, "Redis error: %.*s",
                            (int)(replies[i]->len < 200 ? replies[i]->len : 200), replies[i]->str);
        }
    }
    if (rc == 0 && n != expected) {
        rc = pc_err_set(err, PC_EINTERNAL, "%zu replies for %zu commands", n, expected);
    }
    for (size_t i = 0; i < n; i++) {
        if (replies[i] != NULL && keep_reply(op, replies[i]) != 0 && rc == 0) {
            rc = pc_err_set(err, PC_ENOMEM, "out of memory");
        }
        replies[i] = NULL;
    }
    if (rc != 0) {
        op->failed = true;
        return rc;
    }
    op->step++;
    {
        redisReply **r = op->kept + op->n_kept - n;

        if (op->kind == PC_FOP_EXECS && op->rows == NULL) {
            op->rows = calloc(op->limit + 1, sizeof(*op->rows));
            if (op->rows == NULL) {
                rc = PC_ENOMEM;
            }
        }
        if (rc == 0) {
            switch (op->kind) {
            case PC_FOP_WORKERS:
                rc = workers_step(op, r, n);
                break;
            case PC_FOP_QUEUES:
                rc = queues_step(op, r, n);
                break;
            case PC_FOP_DEAD:
                rc = dead_step(op, r, n);
                break;
            case PC_FOP_RETRY:
                rc = retry_step(op, r, n, err);
                break;
            case PC_FOP_RERUN:
                rc = rerun_step(op, r, n, err);
                break;
            case PC_FOP_EXECS:
                rc = fop_execs_step(op, r, n);
                break;
            }
        }
    }
    if (rc != 0) {
        clear_round(op);
        op->failed = true;
        if (err->code == 0) {
            (void)pc_err_set(err, rc, "%s",
                             rc == PC_EREDIS ? "unexpected Redis reply" : pc_strerror(rc));
        }
    }
    return rc;
}
