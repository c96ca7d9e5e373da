/*
 * fleet_ops_execs.c - the executions listing of peace/fleet_ops.h: its
 * filters, its cursor and its rounds (see fleet_ops.c for the design of
 * the cursor).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_ops_int.h"
#include "peace/cmd.h"
#include "peace/outcome.h"

#define EXECS_ROUND  256 /* index entries read per round of a filtered listing */
#define META_STATUS  0   /* the filter fields appended to the caller's */
#define META_OUTCOME 1
#define META_CMD     2
#define META_APP     3
#define META_PROFILE 4
#define META_FLOW    5
#define META_QUEUE   6

/* ------------------------------------------------------------------------ */
/* Filters, cursors                                                          */

static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;

    if (n == 0 || n > 20) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10u) {
            return false;
        }
        v = v * 10u + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

bool pc_stream_entry_id_valid(const char *s)
{
    const char *dash = s != NULL ? strchr(s, '-') : NULL;
    uint64_t v;

    return dash != NULL && parse_u64(s, (size_t)(dash - s), &v) &&
           parse_u64(dash + 1, strlen(dash + 1), &v);
}

static int set_choice(char *out, size_t out_size, const char *value, bool ok, const char *name,
                      const char *choices, struct pc_err *err)
{
    if (!ok || strlen(value) >= out_size) {
        return pc_err_set(err, PC_EINVAL, "%s must be one of %s", name, choices);
    }
    memcpy(out, value, strlen(value) + 1);
    return 0;
}

int pc_exec_filter_set(struct pc_exec_filter *f, const char *name, const char *value,
                       struct pc_err *err)
{
    size_t n = value != NULL ? strlen(value) : 0;
    enum pc_outcome_kind kind;
    enum pc_cmd cmd;

    if (name == NULL || value == NULL) {
        return pc_err_set(err, PC_EINVAL, "a filter needs a name and a value");
    }
    if (strcmp(name, "status") == 0) {
        return set_choice(f->status, sizeof(f->status), value,
                          strcmp(value, "queued") == 0 || strcmp(value, "running") == 0 ||
                              strcmp(value, "finished") == 0,
                          "status", "queued, running, finished", err);
    }
    if (strcmp(name, "outcome") == 0) {
        return set_choice(f->outcome, sizeof(f->outcome), value,
                          pc_outcome_kind_parse(value, n, &kind) == 0, "outcome",
                          "complete, block_interrupted, execution_interrupted, item_error, "
                          "block_error, rejected",
                          err);
    }
    if (strcmp(name, "cmd") == 0) {
        return set_choice(f->cmd, sizeof(f->cmd), value, pc_cmd_parse(value, n, &cmd, NULL) == 0,
                          "cmd", "the command names (discover, ensure, clean, ...)", err);
    }
    if (strcmp(name, "since") == 0) {
        if (!parse_u64(value, n, &f->since_ms)) {
            return pc_err_set(err, PC_EINVAL, "since must be a time in Unix milliseconds");
        }
        return 0;
    }
    if (strcmp(name, "app") == 0) {
        return pc_id_set(&f->app, value, n, "app", err);
    }
    if (strcmp(name, "profile") == 0) {
        return pc_id_set(&f->profile, value, n, "profile", err);
    }
    if (strcmp(name, "flow") == 0) {
        return pc_id_set(&f->flow, value, n, "flow", err);
    }
    if (strcmp(name, "queue") == 0) {
        return pc_id_set(&f->queue, value, n, "queue", err);
    }
    return PC_ENOTFOUND;
}

bool pc_exec_filter_empty(const struct pc_exec_filter *f)
{
    return f == NULL || (f->status[0] == '\0' && f->outcome[0] == '\0' && f->cmd[0] == '\0' &&
                         f->app.s[0] == '\0' && f->profile.s[0] == '\0' && f->flow.s[0] == '\0' &&
                         f->queue.s[0] == '\0' && f->since_ms == 0);
}

/* "c<SCORE>.<ID>" -> (score, id); false when it is not one. */
bool fop_cursor_parse(const char *s, uint64_t *score, char *id, size_t id_size)
{
    const char *dot = s != NULL && s[0] == 'c' ? strchr(s, '.') : NULL;
    size_t idn;

    if (dot == NULL || !parse_u64(s + 1, (size_t)(dot - s - 1), score)) {
        return false;
    }
    idn = strlen(dot + 1);
    if (idn >= id_size || !pc_exec_id_valid(dot + 1, idn)) {
        return false;
    }
    memcpy(id, dot + 1, idn + 1);
    return true;
}

int fop_execs_index_round(struct pc_fop *op)
{
    struct pc_redis_args *a = fop_add_cmd(op);
    char key[PC_KEY_MAX];
    bool plain = pc_exec_filter_empty(&op->filter);

    if (a == NULL) {
        return PC_ENOMEM;
    }
    pc_redis_args_addz(a, "ZREVRANGEBYSCORE");
    fop_add_key_cmd(a, pc_key_execs(key, sizeof(key), op->prefix), key);
    if (op->has_pos) {
        pc_redis_args_addu64(a, op->pos_score);
    } else {
        pc_redis_args_addz(a, "+inf");
    }
    if (op->filter.since_ms > 0) {
        pc_redis_args_addu64(a, op->filter.since_ms);
    } else {
        pc_redis_args_addz(a, "-inf");
    }
    pc_redis_args_addz(a, "WITHSCORES");
    pc_redis_args_addz(a, "LIMIT");
    pc_redis_args_addu64(a, op->pos_count);
    /* Unfiltered, one more than the page tells whether a next page exists;
     * a cursor's own position may come back (equal scores) and is skipped. */
    op->round_count = plain ? op->limit - op->n_rows + 1 + (op->has_cursor ? 1 : 0) : EXECS_ROUND;
    pc_redis_args_addu64(a, op->round_count);
    return pc_redis_args_error(a);
}

static bool field_is(const redisReply *v, const char *want)
{
    size_t n = strlen(want);

    return n == 0 || (fop_is_str(v) && v->len == n && memcmp(v->str, want, n) == 0);
}

static bool execs_match(const struct pc_fop *op, const redisReply *row)
{
    const struct pc_exec_filter *f = &op->filter;
    const redisReply *const *x = (const redisReply *const *)row->element + op->n_fields;

    if (f->outcome[0] != '\0' && !field_is(x[META_STATUS], "finished")) {
        return false;
    }
    return field_is(x[META_STATUS], f->status) && field_is(x[META_OUTCOME], f->outcome) &&
           field_is(x[META_CMD], f->cmd) && field_is(x[META_APP], f->app.s) &&
           field_is(x[META_PROFILE], f->profile.s) && field_is(x[META_FLOW], f->flow.s) &&
           field_is(x[META_QUEUE], f->queue.s);
}

static void set_execs_cursor(struct pc_fop *op, uint64_t score, const redisReply *id)
{
    (void)snprintf(op->out_cursor, sizeof(op->out_cursor), "c%llu.%.*s", (unsigned long long)score,
                   (int)id->len, id->str);
}

int fop_execs_step(struct pc_fop *op, redisReply **r, size_t n)
{
    char key[PC_KEY_MAX];

    if (op->step % 2 == 1) {
        const redisReply *list = r[0];

        if (list->type != REDIS_REPLY_ARRAY) {
            return PC_EREDIS;
        }
        op->index = list;
        op->index_full = list->elements / 2 >= op->round_count;
        if (list->elements == 0) {
            op->out_cursor[0] = '\0'; /* the index ended: the last page */
        }
        for (size_t i = 0; i + 1 < list->elements; i += 2) {
            const redisReply *id = list->element[i];
            const redisReply *sc = list->element[i + 1];
            struct pc_redis_args *a = NULL;
            char idz[PC_EXEC_ID_MAX + 1];

            if (!fop_is_str(id) || !fop_is_str(sc) || id->len == 0 || id->len > PC_EXEC_ID_MAX ||
                !pc_exec_id_valid(id->str, id->len)) {
                a = fop_add_cmd(op); /* keeps the slots aligned: answered by a no-op */
                if (a == NULL) {
                    return PC_ENOMEM;
                }
                pc_redis_args_addz(a, "EXISTS");
                pc_redis_args_addz(a, op->prefix);
                continue;
            }
            memcpy(idz, id->str, id->len);
            idz[id->len] = '\0';
            a = fop_add_cmd(op);
            if (a == NULL) {
                return PC_ENOMEM;
            }
            pc_redis_args_addz(a, "HMGET");
            fop_add_key_cmd(a, pc_key_exec(key, sizeof(key), op->prefix, idz), key);
            for (size_t f = 0; f < op->n_all_fields; f++) {
                pc_redis_args_addz(a, op->fields[f]);
            }
            if (pc_redis_args_error(a) != 0) {
                return pc_redis_args_error(a);
            }
        }
        return 0;
    }
    /* The metas of the index entries, in index order. */
    {
        const redisReply *list = op->index;
        bool full = false;

        for (size_t i = 0, k = 0; i + 1 < list->elements && k < n; i += 2, k++) {
            const redisReply *id = list->element[i];
            uint64_t score = strtoull(list->element[i + 1]->str, NULL, 10);
            const redisReply *row = r[k];
            bool skip = false;

            if (op->n_rows == op->limit) {
                full = true; /* a next page exists: the cursor stays at the last row */
                break;
            }
            if (op->has_pos && score == op->pos_score) {
                op->pos_count++;
            } else {
                op->pos_score = score;
                op->pos_count = 1;
                op->has_pos = true;
            }
            op->scanned++;
            if (op->has_cursor && score == op->c_score && fop_is_str(id)) {
                size_t cl = strlen(op->c_id);
                int c = memcmp(id->str, op->c_id, id->len < cl ? id->len : cl);

                skip = c > 0 || (c == 0 && id->len >= cl);
            }
            set_execs_cursor(op, score, id);
            if (skip || row->type != REDIS_REPLY_ARRAY || row->elements != op->n_all_fields ||
                !fop_is_str(row->element[0]) || !execs_match(op, row)) {
                continue; /* the cursor's own entry, expired, or filtered out */
            }
            op->rows[op->n_rows++] = row;
        }
        if (full) {
            return 0; /* the cursor is the last entry examined */
        }
        if (!op->index_full || op->scanned >= PC_FOP_SCAN_MAX) {
            if (!op->index_full) {
                op->out_cursor[0] = '\0'; /* the index ended: the last page */
            }
            return 0;
        }
        return fop_execs_index_round(op);
    }
}
