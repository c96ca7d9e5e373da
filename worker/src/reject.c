/*
 * reject.c - rejections: an entry that cannot run is finished `rejected`, copied
 * to the dead stream and acknowledged, in that order (see worker.c).
 */
#include "worker_int.h"

/* ------------------------------------------------------------------------ */
/* Rejections: exec_reject -> XADD dead -> XACK, each after the previous    */

struct rejection {
    struct wk_worker *w;
    unsigned part; /* the queue partition of the entry */
    char entry_id[WK_ENTRY_ID_MAX + 1];
    char exec_id[WK_EXEC_ID_MAX + 1];
    char reason[WK_REASON_MAX];
    char *job; /* owned copy */
    size_t job_len;
};

static void rejection_free(struct rejection *rj)
{
    free(rj->job);
    free(rj);
}

static void on_dead_reply(void *arg, const redisReply *reply)
{
    struct rejection *rj = arg;
    struct wk_worker *w = rj->w;
    char text[160];

    wx_note_denied(w, "XADD peace:dead", reply);
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        /* Not acknowledged: the entry stays pending and is retried. */
        pc_redis_reply_text(reply, text, sizeof(text));
        wk_log(w->log, WK_LOG_WARN, "dead_letter_failed", "entry=%s exec=%s err=\"%s\"",
               rj->entry_id, rj->exec_id[0] ? rj->exec_id : "-", text);
    } else {
        wx_ack_entry(w, rj->part, rj->entry_id);
    }
    rejection_free(rj);
}

static void send_dead(struct rejection *rj)
{
    struct wk_worker *w = rj->w;
    struct pc_redis_args a;

    if (!wx_can_send(w)) {
        rejection_free(rj);
        return;
    }
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, "XADD");
    pc_redis_args_addz(&a, w->dead_key);
    pc_redis_args_addz(&a, "MAXLEN");
    pc_redis_args_addz(&a, "~");
    pc_redis_args_addu64(&a, DEAD_MAXLEN);
    pc_redis_args_addz(&a, "*");
    pc_redis_args_addz(&a, "exec");
    pc_redis_args_addz(&a, rj->exec_id);
    pc_redis_args_addz(&a, "reason");
    pc_redis_args_addz(&a, rj->reason);
    pc_redis_args_addz(&a, "job");
    pc_redis_args_add(&a, rj->job != NULL ? rj->job : "", rj->job_len);
    if (pc_redis_cmd_args(w->cmd, &a, 0, on_dead_reply, rj) != 0) {
        rejection_free(rj);
    }
    pc_redis_args_cleanup(&a);
}

static void on_reject_reply(void *arg, const redisReply *reply)
{
    struct rejection *rj = arg;
    char text[160];

    wx_note_denied(rj->w, "script exec_reject", reply);
    if (reply != NULL && reply->type != REDIS_REPLY_ERROR) {
        wk_ops_exec_finished(rj->w->ops, PC_CMD_COUNT, PC_OUTCOME_REJECTED);
    }

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        pc_redis_reply_text(reply, text, sizeof(text));
        wk_log(rj->w->log, WK_LOG_WARN, "reject_failed", "entry=%s exec=%s err=\"%s\"",
               rj->entry_id, rj->exec_id, text);
        rejection_free(rj);
        return;
    }
    send_dead(rj);
}

/*
 * Finishes an entry that cannot run. job (may be NULL) describes the
 * execution for its meta when it could be decoded.
 */
void wx_reject(struct wk_worker *w, unsigned part, const struct wk_entry *e, const char *exec_id,
               const struct msg_job *job, const char *reason)
{
    struct rejection *rj = NULL;
    struct pc_redis_args a;
    struct pc_buf report;
    struct msg_event ev;
    struct msg_event_fields f;
    char q[QUOTE_MAX];
    size_t nd = 2;

    wk_log(w->log, WK_LOG_WARN, "job_rejected", "entry=%s exec=%s err=\"%s\"", e->id,
           exec_id[0] ? exec_id : "-", wx_quote(reason, q));
    if (!wx_can_send(w)) {
        return;
    }
    rj = calloc(1, sizeof(*rj));
    if (rj == NULL) {
        return;
    }
    rj->w = w;
    rj->part = part;
    (void)snprintf(rj->entry_id, sizeof(rj->entry_id), "%s", e->id);
    (void)snprintf(rj->exec_id, sizeof(rj->exec_id), "%s", exec_id);
    (void)snprintf(rj->reason, sizeof(rj->reason), "%s", reason);
    if (e->job != NULL && e->job_len > 0) {
        rj->job = malloc(e->job_len);
        if (rj->job == NULL) {
            rejection_free(rj);
            return;
        }
        memcpy(rj->job, e->job, e->job_len);
        rj->job_len = e->job_len;
    }
    if (exec_id[0] == '\0') {
        send_dead(rj); /* nothing to mark: only dead-lettered and acked */
        return;
    }
    if (wk_rejected_report(reason, &report) != 0) {
        pc_buf_init(&report, 1);
    }
    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_OUTCOME;
    ev.outcome = PC_OUTCOME_REJECTED;
    pc_redis_args_init(&a);
    wx_add_exec_keys(&a, w, exec_id, false, true);
    pc_redis_args_addu64(&a, wx_now_ms(w));
    pc_redis_args_addz(&a, reason);
    pc_redis_args_add(&a, report.data != NULL ? report.data : "", report.len);
    pc_redis_args_addu64(&a, w->cfg->retention_s);
    pc_redis_args_addu64(&a, EVENTS_MAXLEN);
    if (job != NULL) {
        nd += 12;
    }
    pc_redis_args_addu64(&a, nd);
    pc_redis_args_addz(&a, "id");
    pc_redis_args_addz(&a, exec_id);
    if (job != NULL) {
        pc_redis_args_addz(&a, "cmd");
        pc_redis_args_addz(&a, pc_cmd_name(job->cmd));
        pc_redis_args_addz(&a, "app");
        pc_redis_args_addz(&a, job->flow.app.s);
        pc_redis_args_addz(&a, "profile");
        pc_redis_args_addz(&a, job->flow.profile.s);
        pc_redis_args_addz(&a, "flow");
        pc_redis_args_addz(&a, job->flow.flow.s);
        pc_redis_args_addz(&a, "queue");
        pc_redis_args_addz(&a, job->queue.s);
        pc_redis_args_addz(&a, "created_ms");
        pc_redis_args_addu64(&a, job->created_ms);
    }
    if (msg_event_to_fields(&ev, &f, NULL) == 0) {
        for (size_t i = 0; i < f.n; i++) {
            pc_redis_args_add(&a, f.argv[i], f.argvlen[i]);
        }
    }
    pc_buf_cleanup(&report);
    if (pc_script_run(w->scripts, w->cmd, PC_SCRIPT_EXEC_REJECT, 2, &a, 0, on_reject_reply, rj) !=
        0) {
        rejection_free(rj);
    }
}

/* Dead-letters and acks an entry whose execution gave up (already finished
 * `rejected` by exec_start). */
void wx_give_up(struct wk_worker *w, const struct wexec *x, const char *reason)
{
    struct rejection *rj = NULL;
    struct pc_buf b;

    if (!wx_can_send(w)) {
        return;
    }
    rj = calloc(1, sizeof(*rj));
    if (rj == NULL) {
        return;
    }
    rj->w = w;
    rj->part = x->part;
    (void)snprintf(rj->entry_id, sizeof(rj->entry_id), "%s", x->entry_id);
    (void)snprintf(rj->exec_id, sizeof(rj->exec_id), "%s", x->id);
    (void)snprintf(rj->reason, sizeof(rj->reason), "%s", reason);
    /* The job as queued, re-encoded from the decoded copy (the decoder
     * accepted it, so the encoder does too). */
    if (msg_job_encode(&x->job, &b, NULL) == 0) {
        rj->job = malloc(b.len > 0 ? b.len : 1);
        if (rj->job != NULL) {
            memcpy(rj->job, b.data != NULL ? b.data : "", b.len);
            rj->job_len = b.len;
        }
        pc_buf_cleanup(&b);
    }
    send_dead(rj);
}
