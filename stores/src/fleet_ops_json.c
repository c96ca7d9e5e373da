/*
 * fleet_ops_json.c - the JSON answers of the operations (peace/fleet_ops.h),
 * the documents of docs/http-api.md: the scheduler sends them, the CLI
 * prints them with --json and reads them for its tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_ops_int.h"
#include "peace/msg.h"

static bool is_str(const redisReply *r)
{
    return r != NULL && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

static int str_or_null(struct pc_buf *b, const redisReply *v)
{
    return is_str(v) ? pc_buf_append_json_str(b, v->str, v->len) : pc_buf_puts(b, "null");
}

/* A decimal text as a JSON number, anything else as null. */
static int num_or_null(struct pc_buf *b, const redisReply *v)
{
    bool digits = is_str(v) && v->len > 0 && v->len <= 19;

    for (size_t i = 0; digits && i < v->len; i++) {
        digits = v->str[i] >= '0' && v->str[i] <= '9';
    }
    return digits ? pc_buf_appendf(b, "%.*s", (int)v->len, v->str) : pc_buf_puts(b, "null");
}

static int key(struct pc_buf *b, bool *first, const char *name)
{
    int rc = *first ? 0 : pc_buf_puts(b, ",");

    *first = false;
    return rc == 0 ? pc_buf_appendf(b, "\"%s\":", name) : rc;
}

/* "a,b,c" as ["a","b","c"] (empty = []). */
static int csv_array(struct pc_buf *b, const redisReply *v)
{
    int rc = pc_buf_puts(b, "[");
    size_t start = 0;
    bool first = true;

    for (size_t i = 0; rc == 0 && is_str(v) && v->len > 0 && i <= v->len; i++) {
        if (i == v->len || v->str[i] == ',') {
            if (i > start) {
                rc = first ? 0 : pc_buf_puts(b, ",");
                rc = rc == 0 ? pc_buf_append_json_str(b, v->str + start, i - start) : rc;
                first = false;
            }
            start = i + 1;
        }
    }
    return rc == 0 ? pc_buf_puts(b, "]") : rc;
}

static int workers_json(const struct pc_fop *op, struct pc_buf *b)
{
    static const char *const text[] = {"queue", "host", "version"};
    static const char *const nums[] = {"pid",          "running",    "concurrency",  "threads",
                                       "threads_busy", "started_ms", "last_seen_ms", "lease_ms"};
    int rc = pc_buf_puts(b, "{\"workers\":[");
    bool first_w = true;

    for (size_t w = 0; rc == 0 && w < op->n_workers; w++) {
        const struct fop_worker *x = &op->workers[w];
        bool first = true;

        if (x->hash == NULL || x->hash->elements == 0) {
            continue; /* its beat expired between the two reads */
        }
        rc = first_w ? 0 : pc_buf_puts(b, ",");
        first_w = false;
        rc = rc == 0 ? pc_buf_puts(b, "{") : rc;
        rc = rc == 0 ? key(b, &first, "consumer") : rc;
        rc = rc == 0 ? pc_buf_append_json_str(b, x->member->str, x->member->len) : rc;
        for (size_t i = 0; rc == 0 && i < sizeof(text) / sizeof(text[0]); i++) {
            rc = key(b, &first, text[i]);
            rc = rc == 0 ? str_or_null(b, fop_field(x->hash, text[i])) : rc;
        }
        for (size_t i = 0; rc == 0 && i < sizeof(nums) / sizeof(nums[0]); i++) {
            rc = key(b, &first, nums[i]);
            rc = rc == 0 ? num_or_null(b, fop_field(x->hash, nums[i])) : rc;
        }
        rc = rc == 0 ? key(b, &first, "expires_ms") : rc;
        rc = rc == 0 ? pc_buf_appendf(b, "%llu", (unsigned long long)x->expires_ms) : rc;
        rc = rc == 0 ? key(b, &first, "executions") : rc;
        rc = rc == 0 ? csv_array(b, fop_field(x->hash, "execs")) : rc;
        rc = rc == 0 ? pc_buf_puts(b, "}") : rc;
    }
    return rc == 0 ? pc_buf_puts(b, "]}") : rc;
}

static int queues_json(const struct pc_fop *op, struct pc_buf *b)
{
    int rc = pc_buf_puts(b, "{\"queues\":[");

    for (size_t q = 0; rc == 0 && q < op->n_queues; q++) {
        const struct fop_queue *Q = &op->queues[q];

        rc = q > 0 ? pc_buf_puts(b, ",") : 0;
        rc = rc == 0 ? pc_buf_puts(b, "{\"name\":") : rc;
        rc = rc == 0 ? pc_buf_append_json_str(b, Q->name.s, strlen(Q->name.s)) : rc;
        rc = rc == 0 ? pc_buf_appendf(b, ",\"length\":%llu,\"pending\":%llu,\"workers_live\":%llu",
                                      (unsigned long long)Q->length, (unsigned long long)Q->pending,
                                      (unsigned long long)Q->live)
                     : rc;
        if (rc == 0 && Q->oldest_ms > 0) {
            rc = pc_buf_appendf(
                b, ",\"oldest_ms\":%llu,\"oldest_age_ms\":%llu", (unsigned long long)Q->oldest_ms,
                (unsigned long long)(op->now_ms > Q->oldest_ms ? op->now_ms - Q->oldest_ms : 0));
        } else if (rc == 0) {
            rc = pc_buf_puts(b, ",\"oldest_ms\":null,\"oldest_age_ms\":null");
        }
        rc = rc == 0 ? pc_buf_puts(b, "}") : rc;
    }
    return rc == 0 ? pc_buf_appendf(b, "],\"dead_length\":%llu}", (unsigned long long)op->dead_len)
                   : rc;
}

static int dead_job_json(struct pc_buf *b, const redisReply *job)
{
    struct msg_job j;
    int rc;

    memset(&j, 0, sizeof(j));
    if (job == NULL || job->len == 0 || msg_job_decode(job->str, job->len, &j, NULL) != 0) {
        return pc_buf_puts(b, "\"job\":null,\"retryable\":false");
    }
    rc = pc_buf_appendf(b, "\"job\":{\"cmd\":\"%s\",\"app\":", pc_cmd_name(j.cmd));
    rc = rc == 0 ? pc_buf_append_json_str(b, j.flow.app.s, strlen(j.flow.app.s)) : rc;
    rc = rc == 0 ? pc_buf_puts(b, ",\"profile\":") : rc;
    rc = rc == 0 ? pc_buf_append_json_str(b, j.flow.profile.s, strlen(j.flow.profile.s)) : rc;
    rc = rc == 0 ? pc_buf_puts(b, ",\"flow\":") : rc;
    rc = rc == 0 ? pc_buf_append_json_str(b, j.flow.flow.s, strlen(j.flow.flow.s)) : rc;
    rc = rc == 0 ? pc_buf_puts(b, ",\"queue\":") : rc;
    rc = rc == 0 ? pc_buf_append_json_str(b, j.queue.s, strlen(j.queue.s)) : rc;
    rc = rc == 0 ? pc_buf_appendf(b, ",\"items\":%zu,\"created_ms\":%llu},\"retryable\":true",
                                  j.flow.n_items, (unsigned long long)j.created_ms)
                 : rc;
    msg_job_cleanup(&j);
    return rc;
}

static int dead_json(const struct pc_fop *op, struct pc_buf *b)
{
    int rc = pc_buf_puts(b, "{\"dead\":[");

    for (size_t i = 0; rc == 0 && i < op->n_dead; i++) {
        const redisReply *e = op->dead[i];
        const redisReply *kv = e->element[1];

        rc = i > 0 ? pc_buf_puts(b, ",") : 0;
        rc = rc == 0 ? pc_buf_puts(b, "{\"id\":") : rc;
        rc = rc == 0 ? pc_buf_append_json_str(b, e->element[0]->str, e->element[0]->len) : rc;
        rc = rc == 0 ? pc_buf_appendf(
                           b, ",\"dead_ms\":%llu,\"exec\":", strtoull(e->element[0]->str, NULL, 10))
                     : rc;
        {
            const redisReply *x = fop_field(kv, "exec");

            rc = rc == 0 ? (x != NULL && x->len > 0 ? str_or_null(b, x) : pc_buf_puts(b, "null"))
                         : rc;
        }
        rc = rc == 0 ? pc_buf_puts(b, ",\"reason\":") : rc;
        rc = rc == 0 ? str_or_null(b, fop_field(kv, "reason")) : rc;
        rc = rc == 0 ? pc_buf_puts(b, ",") : rc;
        rc = rc == 0 ? dead_job_json(b, fop_field(kv, "job")) : rc;
        rc = rc == 0 ? pc_buf_puts(b, "}") : rc;
    }
    rc = rc == 0 ? pc_buf_appendf(
                       b, "],\"length\":%llu,\"next_cursor\":", (unsigned long long)op->dead_len)
                 : rc;
    if (rc == 0) {
        rc = op->out_cursor[0] != '\0'
                 ? pc_buf_append_json_str(b, op->out_cursor, strlen(op->out_cursor))
                 : pc_buf_puts(b, "null");
    }
    return rc == 0 ? pc_buf_puts(b, "}") : rc;
}

int pc_fop_json(const struct pc_fop *op, struct pc_buf *out)
{
    int rc;

    switch (op->kind) {
    case PC_FOP_WORKERS:
        return workers_json(op, out);
    case PC_FOP_QUEUES:
        return queues_json(op, out);
    case PC_FOP_DEAD:
        return dead_json(op, out);
    case PC_FOP_RETRY:
        rc = pc_buf_puts(out, "{\"entry\":");
        rc = rc == 0 ? pc_buf_append_json_str(out, op->target, strlen(op->target)) : rc;
        rc = rc == 0 ? pc_buf_puts(out, ",\"id\":") : rc;
        rc = rc == 0 ? pc_buf_append_json_str(out, op->new_id, strlen(op->new_id)) : rc;
        return rc == 0 ? pc_buf_appendf(out, ",\"already_retried\":%s}",
                                        op->result == PC_FOP_CREATED ? "false" : "true")
                       : rc;
    case PC_FOP_RERUN:
        rc = pc_buf_puts(out, "{\"id\":");
        rc = rc == 0 ? pc_buf_append_json_str(out, op->new_id, strlen(op->new_id)) : rc;
        rc = rc == 0 ? pc_buf_puts(out, ",\"status\":\"queued\",\"rerun_of\":") : rc;
        rc = rc == 0 ? pc_buf_append_json_str(out, op->target, strlen(op->target)) : rc;
        return rc == 0 ? pc_buf_puts(out, "}") : rc;
    case PC_FOP_EXECS:
    default:
        return PC_EINVAL;
    }
}
