/*
 * logic.c - the worker's decisions that need no Redis.
 *
 * Everything that comes from Redis is checked here before the worker acts
 * on it: stream entries written by any submitter (bounded sizes, missing or
 * repeated fields, a job naming another execution) and the replies of our
 * own scripts (shape and number ranges). A bad entry becomes a rejection
 * reason, never a crash. The takeover rule (which items the guard
 * tolerates) and the lease arithmetic are here too, so tests can check them
 * value by value.
 */
#include "worker/logic.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/progress.h"
#include "peace/progress_line.h"

/* ------------------------------------------------------------------------ */
/* Small reply helpers                                                       */

static bool is_text(const redisReply *r)
{
    return r != NULL && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) &&
           r->str != NULL;
}

static bool text_eq(const redisReply *r, const char *s)
{
    size_t n = strlen(s);

    return is_text(r) && r->len == n && memcmp(r->str, s, n) == 0;
}

/* A decimal number given as an integer reply or as text. */
static int reply_u64(const redisReply *r, uint64_t *out)
{
    char text[24];
    char *end = NULL;
    unsigned long long v;

    if (r == NULL) {
        return PC_ESCHEMA;
    }
    if (r->type == REDIS_REPLY_INTEGER) {
        if (r->integer < 0) {
            return PC_ESCHEMA;
        }
        *out = (uint64_t)r->integer;
        return 0;
    }
    if (!is_text(r) || r->len == 0 || r->len >= sizeof(text)) {
        return PC_ESCHEMA;
    }
    memcpy(text, r->str, r->len);
    text[r->len] = '\0';
    if (text[0] < '0' || text[0] > '9') {
        return PC_ESCHEMA;
    }
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0') {
        return PC_ESCHEMA;
    }
    *out = v;
    return 0;
}

/* Text or empty; for optional fields returned as '' by the scripts. */
static void reply_text(const redisReply *r, const char **p, size_t *n)
{
    if (is_text(r)) {
        *p = r->str;
        *n = r->len;
    } else {
        *p = "";
        *n = 0;
    }
}

/* ------------------------------------------------------------------------ */
/* Stream entries                                                            */

static bool entry_id_usable(const redisReply *r)
{
    if (!is_text(r) || r->len == 0 || r->len > WK_ENTRY_ID_MAX) {
        return false;
    }
    for (size_t i = 0; i < r->len; i++) {
        char c = r->str[i];

        if (!((c >= '0' && c <= '9') || c == '-')) {
            return false;
        }
    }
    return true;
}

int wk_entry_parse(const redisReply *entry, struct wk_entry *out)
{
    const redisReply *fields = NULL;
    bool exec_seen = false;
    bool job_seen = false;
    bool job_bad = false;

    memset(out, 0, sizeof(*out));
    if (entry == NULL || entry->type != REDIS_REPLY_ARRAY || entry->elements < 1 ||
        !entry_id_usable(entry->element[0])) {
        return PC_ESCHEMA;
    }
    memcpy(out->id, entry->element[0]->str, entry->element[0]->len);
    out->id[entry->element[0]->len] = '\0';
    fields = entry->elements >= 2 ? entry->element[1] : NULL;
    if (fields == NULL || fields->type != REDIS_REPLY_ARRAY) {
        return 0; /* a deleted entry: no fields */
    }
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i];
        const redisReply *v = fields->element[i + 1];

        if (text_eq(k, "exec")) {
            if (exec_seen || !is_text(v) || !pc_exec_id_valid(v->str, v->len)) {
                out->exec_id[0] = '\0';
                exec_seen = true;
                continue;
            }
            exec_seen = true;
            memcpy(out->exec_id, v->str, v->len);
            out->exec_id[v->len] = '\0';
        } else if (text_eq(k, "job")) {
            if (job_seen || !is_text(v) || v->len > MSG_JOB_MAX) {
                job_bad = true;
            } else {
                out->job = v->str;
                out->job_len = v->len;
            }
            job_seen = true;
        }
    }
    if (job_bad) {
        out->job = NULL;
        out->job_len = 0;
    }
    return 0;
}

int wk_job_accept(const struct wk_entry *e, const struct pc_registry *reg, struct msg_job *job,
                  char *reason, size_t reason_size)
{
    struct pc_err err;
    int rc;

    pc_err_clear(&err);
    memset(job, 0, sizeof(*job));
    if (e->job == NULL) {
        (void)snprintf(reason, reason_size,
                       "the queue entry has no usable job field (missing, repeated or over %u "
                       "bytes)",
                       (unsigned)MSG_JOB_MAX);
        return PC_ESCHEMA;
    }
    rc = msg_job_decode(e->job, e->job_len, job, &err);
    if (rc != 0) {
        (void)snprintf(reason, reason_size, "undecodable job: %s", err.msg);
        return rc;
    }
    if (e->exec_id[0] != '\0' && strcmp(e->exec_id, job->id) != 0) {
        (void)snprintf(reason, reason_size,
                       "the job is for execution %s but its queue entry names %s", job->id,
                       e->exec_id);
        msg_job_cleanup(job);
        return PC_EINVAL;
    }
    if (reg != NULL) {
        rc = pc_registry_check_flow(reg, &job->flow, &err);
        if (rc != 0) {
            (void)snprintf(reason, reason_size, "invalid flow: %s", err.msg);
            msg_job_cleanup(job);
            return PC_EINVAL;
        }
    }
    return 0;
}

int wk_exec_setup(const struct msg_job *job, const struct wk_exec_env *env, const bool *tolerate,
                  struct pc_exec **out, char *reason, size_t reason_size)
{
    struct pc_exec_opts eo;
    struct pc_err err;
    int rc;

    memset(&eo, 0, sizeof(eo));
    eo.cmd = job->cmd;
    eo.sync = job->sync;
    eo.keep_obsolete = job->keep_obsolete;
    eo.diff_current_discovered = job->diff_current_discovered;
    eo.diff_goal_discovered = job->diff_goal_discovered;
    eo.no_save = job->no_save;
    eo.strategy = job->strategy;
    eo.flow = &job->flow;
    eo.registry = env->reg;
    eo.store = env->store;
    eo.executor = env->executor;
    eo.observer = env->observer;
    eo.observer_ctx = env->observer_ctx;
    eo.sync_tolerate = tolerate;
    eo.file_root = env->file_root;
    eo.stored_item_check = env->stored_item_check;
    eo.stored_item_check_ctx = env->stored_item_check_ctx;
    eo.created_ms = job->created_ms;
    pc_err_clear(&err);
    rc = pc_exec_create(&eo, out, &err);
    if (rc == PC_ENOMEM) {
        (void)snprintf(reason, reason_size, "out of memory");
        return rc;
    }
    if (rc != 0) {
        (void)snprintf(reason, reason_size, "%s", err.msg[0] ? err.msg : pc_strerror(rc));
        return PC_EINVAL;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Script replies                                                            */

int wk_start_parse(const redisReply *reply, struct wk_start *out, struct pc_err *err)
{
    struct wk_start s;

    memset(&s, 0, sizeof(s));
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1) {
        return pc_err_set(err, PC_ESCHEMA, "exec_start: unexpected reply");
    }
    if (text_eq(reply->element[0], "finished")) {
        s.kind = WK_START_FINISHED;
        *out = s;
        return 0;
    }
    if (text_eq(reply->element[0], "more")) {
        s.kind = WK_START_MORE;
        *out = s;
        return 0;
    }
    if (text_eq(reply->element[0], "exhausted")) {
        s.kind = WK_START_EXHAUSTED;
        if (reply->elements >= 2 && reply_u64(reply->element[1], &s.attempt) != 0) {
            return pc_err_set(err, PC_ESCHEMA, "exec_start: bad attempt");
        }
        *out = s;
        return 0;
    }
    if (!text_eq(reply->element[0], "started") || (reply->elements != 8 && reply->elements != 9) ||
        reply_u64(reply->element[1], &s.epoch) != 0 ||
        reply_u64(reply->element[2], &s.attempt) != 0 || s.epoch == 0 || s.attempt == 0 ||
        reply->element[7]->type != REDIS_REPLY_ARRAY) {
        return pc_err_set(err, PC_ESCHEMA, "exec_start: unexpected reply");
    }
    s.kind = WK_START_STARTED;
    if (is_text(reply->element[3]) && reply->element[3]->len > 0 &&
        reply_u64(reply->element[3], &s.interrupt_requested_ms) != 0) {
        /* A marker that is not a number is still a marker. */
        s.interrupt_requested_ms = 1;
    }
    reply_text(reply->element[4], &s.interrupt_reason, &s.interrupt_reason_len);
    reply_text(reply->element[5], &s.block, &s.block_len);
    reply_text(reply->element[6], &s.tolerate, &s.tolerate_len);
    s.progress = reply->element[7];
    s.lock = -1;
    if (reply->elements == 9) {
        const redisReply *lk = reply->element[8];
        uint64_t held = 0;

        if (lk->type != REDIS_REPLY_ARRAY || (lk->elements != 0 && lk->elements != 2)) {
            return pc_err_set(err, PC_ESCHEMA, "exec_start: bad lock answer");
        }
        if (lk->elements == 2) {
            if (reply_u64(lk->element[0], &held) != 0 || held > 1) {
                return pc_err_set(err, PC_ESCHEMA, "exec_start: bad lock answer");
            }
            s.lock = (int)held;
            reply_text(lk->element[1], &s.lock_holder, &s.lock_holder_len);
        }
    }
    *out = s;
    return 0;
}

int wk_renew_parse(const redisReply *reply, struct wk_renew *out, struct pc_err *err)
{
    struct wk_renew r;

    memset(&r, 0, sizeof(r));
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1) {
        return pc_err_set(err, PC_ESCHEMA, "exec_renew: unexpected reply");
    }
    if (text_eq(reply->element[0], "fenced")) {
        r.fenced = true;
        *out = r;
        return 0;
    }
    if (!text_eq(reply->element[0], "ok") || (reply->elements != 3 && reply->elements != 5)) {
        return pc_err_set(err, PC_ESCHEMA, "exec_renew: unexpected reply");
    }
    if (reply->elements == 5) {
        uint64_t d = 0;

        reply_text(reply->element[3], &r.interrupt_mode, &r.interrupt_mode_len);
        if (is_text(reply->element[4]) && reply_u64(reply->element[4], &d) == 0) {
            r.interrupt_deadline_ms = d;
        }
    }
    if (is_text(reply->element[1]) && reply->element[1]->len > 0 &&
        reply_u64(reply->element[1], &r.interrupt_requested_ms) != 0) {
        r.interrupt_requested_ms = 1;
    }
    reply_text(reply->element[2], &r.interrupt_reason, &r.interrupt_reason_len);
    *out = r;
    return 0;
}

int wk_lock_parse(const redisReply *reply, bool *acquired, const char **holder, size_t *holder_len,
                  struct pc_err *err)
{
    uint64_t v = 0;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply_u64(reply->element[0], &v) != 0 || v > 1) {
        return pc_err_set(err, PC_ESCHEMA, "lock_acquire: unexpected reply");
    }
    *acquired = v == 1;
    reply_text(reply->element[1], holder, holder_len);
    return 0;
}

int wk_lock_set_parse(const redisReply *reply, const char *exec_id, enum wk_lock_try *out,
                      const char **holder, size_t *holder_len, struct pc_err *err)
{
    size_t id_len = strlen(exec_id);

    *holder = "";
    *holder_len = 0;
    if (reply == NULL) {
        return pc_err_set(err, PC_EREDIS, "lock: no reply");
    }
    if (reply->type == REDIS_REPLY_NIL) {
        *out = WK_LOCK_TAKEN;
        return 0;
    }
    if (reply->type != REDIS_REPLY_STRING) {
        return pc_err_set(err, PC_ESCHEMA, "lock: unexpected reply");
    }
    *holder = reply->str;
    *holder_len = reply->len;
    *out =
        reply->len > id_len && memcmp(reply->str, exec_id, id_len) == 0 && reply->str[id_len] == ':'
            ? WK_LOCK_ASK_SCRIPT
            : WK_LOCK_BUSY;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Takeover                                                                  */

/* True when the progress hash records item id as `success` (its state was
 * stored: the states write is sent before the progress that reports it). */
static bool recorded_success(const struct pc_progress_view *v, const char *id)
{
    const struct pc_progress_item *it = pc_progress_view_find(v, id, strlen(id));
    enum pc_progress_status st;

    return it != NULL && it->status.s != NULL &&
           pc_progress_status_parse(it->status.s, it->status.n, &st) == 0 &&
           st == PC_PROGRESS_SUCCESS;
}

static bool listed(const char *list, size_t list_len, const char *id)
{
    size_t id_len = strlen(id);
    size_t i = 0;

    while (i < list_len) {
        size_t j = i;

        while (j < list_len && list[j] != ',') {
            j++;
        }
        if (j - i == id_len && memcmp(list + i, id, id_len) == 0) {
            return true;
        }
        i = j + 1;
    }
    return false;
}

static bool is_apply_block(const char *name, size_t n)
{
    enum pc_block_kind b;

    return pc_block_parse(name, n, &b) == 0 &&
           (b == PC_BLOCK_APPLY_ENSURE || b == PC_BLOCK_APPLY_CLEAN ||
            b == PC_BLOCK_CLEAN_REPLACED || b == PC_BLOCK_ENSURE_REPLACED);
}

long wk_tolerate(const struct pc_flow *flow, const struct wk_prev_attempt *prev, bool *tolerate,
                 struct pc_buf *list)
{
    bool apply = prev->block != NULL && is_apply_block(prev->block, prev->block_len);
    struct pc_progress_view view;
    long count = 0;

    if (pc_progress_view_build(&view, prev->progress, prev->n_progress) != 0) {
        return PC_ENOMEM;
    }

    for (size_t i = 0; i < flow->n_items; i++) {
        const char *id = flow->items[i].id.s;
        bool t = (prev->list != NULL && listed(prev->list, prev->list_len, id)) ||
                 (apply && !recorded_success(&view, id));
        int rc = 0;

        tolerate[i] = t;
        if (!t) {
            continue;
        }
        if (count > 0) {
            rc = pc_buf_puts(list, ",");
        }
        if (rc == 0) {
            rc = pc_buf_puts(list, id);
        }
        if (rc != 0) {
            pc_progress_view_free(&view);
            return rc;
        }
        count++;
    }
    pc_progress_view_free(&view);
    return count;
}

/* ------------------------------------------------------------------------ */
/* Leases and timing                                                         */

void wk_timing_from_lease(uint32_t lease_ms, struct wk_timing *out)
{
    out->renew_ms = lease_ms / 3 > 0 ? lease_ms / 3 : 1;
    /* A dead worker's entries become claimable one lease after its last
     * renewal; looking every 500 ms (lease/2 for short leases) takes them
     * over within lease + 0.5 s. XAUTOCLAIM of nothing is cheap. */
    out->claim_ms = lease_ms / 2 < 500 ? (lease_ms / 2 > 0 ? lease_ms / 2 : 1) : 500;
    /* A blocking read returns well within a renewal period, so a stopped
     * worker (SIGTERM) stops reading quickly. */
    out->read_block_ms = out->renew_ms < 2000 ? out->renew_ms : 2000;
    out->cmd_timeout_ms = lease_ms / 2 > 1000 ? lease_ms / 2 : 1000;
}

uint64_t wk_lease_until(uint64_t now_ms, uint32_t lease_ms)
{
    return now_ms + lease_ms;
}

bool wk_lease_lost(uint64_t last_renewed_ms, uint64_t now_ms, uint32_t lease_ms)
{
    return now_ms >= last_renewed_ms && now_ms - last_renewed_ms >= lease_ms;
}

bool wk_park_retry_due(uint64_t last_try_ms, uint64_t now_ms, uint32_t lease_ms)
{
    return now_ms < last_try_ms || now_ms - last_try_ms >= lease_ms / 2;
}

int wk_consumer_name(const char *host, long pid, uint32_t rand32, char *out, size_t out_size)
{
    char h[64];
    size_t n = 0;
    int k;

    /* Keep the name printable and free of spaces (it shows in XINFO). */
    for (const char *p = host != NULL ? host : ""; *p != '\0' && n + 1 < sizeof(h); p++) {
        char c = *p;

        if (c <= 0x20 || c >= 0x7f) {
            c = '_';
        }
        h[n++] = c;
    }
    h[n] = '\0';
    k = snprintf(out, out_size, "%s:%ld:%06x", n > 0 ? h : "host", pid,
                 (unsigned)(rand32 & 0xffffffu));
    return k < 0 || (size_t)k >= out_size ? PC_ELIMIT : 0;
}

int wk_rejected_report(const char *reason, struct pc_buf *out)
{
    struct pc_outcome o;
    int rc;

    pc_outcome_init(&o);
    o.kind = PC_OUTCOME_REJECTED;
    rc = pc_outcome_set_error(&o, reason);
    if (rc == 0) {
        rc = msg_report_encode(&o, out, NULL);
    }
    pc_outcome_cleanup(&o);
    return rc;
}
