/*
 * wexec_run.c - an execution on this worker: its lifetime, interrupts,
 * renewal and running (see worker.c).
 */
#include "worker_int.h"

/* ------------------------------------------------------------------------ */
/* Executions: lifetime                                                      */

void wx_wexec_free(struct wexec *x)
{
    /* The store first: a states write it still queues (only when the worker
     * is torn down in the very turn it was issued) fails at once, and its
     * callback must find the engine alive. */
    pc_store_redis_destroy(x->store);
    if (x->exec != NULL) {
        pc_exec_destroy(x->exec);
    }
    pc_recorder_destroy(x->rec);
    wk_gate_destroy(x->gate);
    if (x->release_ev != NULL) {
        event_free(x->release_ev);
    }
    msg_job_cleanup(&x->job);
    pc_buf_cleanup(&x->tolerate_list);
    free(x->tolerate);
    free(x);
}

static void list_remove(struct wexec **head, struct wexec *x)
{
    if (x->prev != NULL) {
        x->prev->next = x->next;
    } else {
        *head = x->next;
    }
    if (x->next != NULL) {
        x->next->prev = x->prev;
    }
    x->prev = NULL;
    x->next = NULL;
}

void wx_list_push(struct wexec **head, struct wexec *x)
{
    x->prev = NULL;
    x->next = *head;
    if (*head != NULL) {
        (*head)->prev = x;
    }
    *head = x;
}

static void maybe_free(struct wexec *x)
{
    if (x->dropped && x->inflight == 0 && !x->engine_running) {
        list_remove(&x->w->zombies, x);
        wx_wexec_free(x);
    }
}

/* Leaves the worker's active set; freed once nothing refers to it. */
void wx_drop(struct wexec *x)
{
    struct wk_worker *w = x->w;

    if (x->dropped) {
        return;
    }
    x->dropped = true;
    list_remove(&w->execs, x);
    w->n_active--;
    wx_list_push(&w->zombies, x);
    maybe_free(x);
    if (!w->stopping) {
        wx_maybe_read(w);
        wx_check_drained(w);
    }
}

/* One reply referring to x arrived; returns false when x was dropped
 * meanwhile (the caller must not use it further). */
bool wx_call_returned(struct wexec *x)
{
    x->inflight--;
    if (x->dropped || x->w->stopping) {
        maybe_free(x);
        return false;
    }
    return true;
}

struct wexec *wx_find_exec(struct wk_worker *w, const char *id, const char *entry_id)
{
    for (struct wexec *x = w->execs; x != NULL; x = x->next) {
        if ((id != NULL && strcmp(x->id, id) == 0) ||
            (entry_id != NULL && strcmp(x->entry_id, entry_id) == 0)) {
            return x;
        }
    }
    return NULL;
}

/* The execution of entry_id of partition part: entry ids are per stream, so
 * two partitions can hold the same id. */
struct wexec *wx_find_entry(struct wk_worker *w, unsigned part, const char *entry_id)
{
    for (struct wexec *x = w->execs; x != NULL; x = x->next) {
        if (x->part == part && strcmp(x->entry_id, entry_id) == 0) {
            return x;
        }
    }
    return NULL;
}

/* The execution is no longer ours: stop writing it, never ack it. */
void wx_lose(struct wexec *x, const char *why)
{
    char q[QUOTE_MAX];

    if (x->lost) {
        return;
    }
    x->lost = true;
    wk_log(x->w->log, WK_LOG_WARN, "exec_lost", "exec=%s entry=%s epoch=%llu err=\"%s\"", x->id,
           x->entry_id, (unsigned long long)x->epoch, wx_quote(why, q));
    if (x->state == WX_RUNNING && x->rec != NULL) {
        /* The engine finishes by itself; the recorder then reports the loss
         * and the wexec is dropped, never acknowledged. Nothing is written
         * from now on, so nothing it does after can pass for done. It
         * starts no item any more: the gate refuses every task (whatever
         * the strategy), the interrupt ends the block early, and held
         * completions are delivered from the loop (this may run inside an
         * engine callback). The next attempt tolerates every item of the
         * apply block not recorded `success`. */
        pc_recorder_abandon(x->rec);
        wk_gate_refuse(x->gate);
        (void)event_active(x->release_ev, EV_TIMEOUT, 0);
        pc_exec_signal_interrupt(x->exec);
        return;
    }
    wx_drop(x);
}

/* ------------------------------------------------------------------------ */
/* Interrupts                                                                */

void wx_latch_interrupt(struct wexec *x, const char *reason, size_t len)
{
    char q[QUOTE_MAX];
    size_t n = len < MSG_EVENT_REASON_MAX ? len : MSG_EVENT_REASON_MAX;

    if (x->interrupted) {
        return;
    }
    x->interrupted = true;
    if (reason != NULL && n > 0) {
        memcpy(x->reason, reason, n);
    }
    x->reason[n] = '\0';
    x->reason[strnlen(x->reason, n)] = '\0';
    if (x->rec != NULL) {
        pc_recorder_set_interrupt_reason(x->rec, x->reason, strlen(x->reason));
    }
    pc_exec_signal_interrupt(x->exec);
    /* latched_us: when the engine holds it (realtime microseconds), for
     * measuring PUBLISH -> latch from outside (bench/). */
    wk_log(x->w->log, WK_LOG_INFO, "interrupt", "exec=%s reason=\"%s\" latched_us=%llu", x->id,
           wx_quote(x->reason, q), (unsigned long long)wx_realtime_us());
    /* finish_current starts nothing once interrupted: a parked execution
     * can end at once, without the profile lock (it will write nothing). */
    if (x->state == WX_PARKED && x->job.strategy.kind == PC_STRATEGY_FINISH_CURRENT) {
        wx_run_exec(x);
    }
}

void wx_mark_interrupt(struct wk_worker *w, const char *id, const char *reason, size_t len,
                       const struct pc_interrupt_req *r, const struct pc_escalation *esc);

static void arm_escalation(struct wk_worker *w)
{
    uint64_t next = 0;
    uint64_t now = wx_now_ms(w);
    struct timeval tv;

    for (struct wexec *x = w->execs; x != NULL; x = x->next) {
        if (x->esc.requests > 0 && x->esc.mode == PC_MODE_CANCEL && x->esc.kill_at_ms != 0 &&
            (next == 0 || x->esc.kill_at_ms < next)) {
            next = x->esc.kill_at_ms;
        }
    }
    if (next == 0 || w->escalate_timer == NULL) {
        return;
    }
    tv = wx_ms_tv(next > now ? (unsigned)(next - now < 86400000u ? next - now : 86400000u) : 0);
    (void)evtimer_add(w->escalate_timer, &tv);
}

/* The mode in effect rose (a request, the marker, or a deadline): the
 * engine acts on it, the meta hash records it. */
static void mode_rose(struct wexec *x, const struct pc_interrupt_req *r)
{
    struct wk_worker *w = x->w;

    if (x->esc.mode != PC_MODE_FINISH) {
        pc_exec_interrupt(x->exec, x->esc.mode);
    }
    wk_log(w->log, WK_LOG_INFO, "interrupt_mode", "exec=%s mode=%s escalations=%u latched_ms=%llu",
           x->id, pc_interrupt_mode_name(x->esc.mode), x->esc.escalations,
           (unsigned long long)x->esc.latched_ms);
    wx_mark_interrupt(w, x->id, x->reason, strlen(x->reason), r, &x->esc);
    arm_escalation(w);
    /* A kill stops whatever the strategy: a parked execution ends now. */
    if (x->state == WX_PARKED && x->esc.mode == PC_MODE_KILL) {
        wx_run_exec(x);
    }
}

/* A request heard on the channel (each message is one request). */
void wx_interrupt_request(struct wexec *x, const char *payload, size_t len)
{
    struct pc_interrupt_req r;
    bool rose = false;

    pc_interrupt_payload_parse(payload, len, &r);
    rose = pc_escalation_request(&x->esc, &r, wx_now_ms(x->w));
    wx_latch_interrupt(x, r.reason, r.reason_len);
    if (rose && !x->dropped) {
        mode_rose(x, &r);
    }
}

/* The durable marker (start, renewal): at least its mode, never a new request. */
static void interrupt_marker(struct wexec *x, const char *reason, size_t len, const char *mode,
                             size_t mode_len, uint64_t deadline_ms)
{
    struct pc_interrupt_req r = {
        .mode = PC_MODE_FINISH, .has_deadline = deadline_ms != 0, .deadline_ms = deadline_ms};
    bool rose = false;

    if (mode != NULL && pc_interrupt_mode_parse(mode, mode_len, &r.mode, NULL) != 0) {
        r.mode = PC_MODE_FINISH;
    }
    rose = pc_escalation_at_least(&x->esc, r.mode, r.has_deadline, r.deadline_ms, wx_now_ms(x->w));
    wx_latch_interrupt(x, reason, len);
    if (rose && !x->dropped) {
        mode_rose(x, &r);
    }
}

void wx_on_escalate_timer(evutil_socket_t fd, short what, void *arg)
{
    struct wk_worker *w = arg;
    uint64_t now = wx_now_ms(w);
    struct wexec *next = NULL;

    (void)fd;
    (void)what;
    for (struct wexec *x = w->execs; x != NULL; x = next) {
        next = x->next; /* mode_rose may run a parked execution */
        if (pc_escalation_due(&x->esc, now)) {
            struct pc_interrupt_req r = {.mode = PC_MODE_KILL};

            pc_escalation_deadline(&x->esc);
            wk_log(w->log, WK_LOG_INFO, "interrupt_deadline", "exec=%s", x->id);
            mode_rose(x, &r);
        }
    }
    arm_escalation(w);
}

/*
 * Records the request on the meta hash (the durable marker): the first
 * request's time and reason, the highest mode and its deadline; the owner
 * (esc != NULL) also records when it latched and how often it escalated.
 */
void wx_mark_interrupt(struct wk_worker *w, const char *id, const char *reason, size_t len,
                       const struct pc_interrupt_req *r, const struct pc_escalation *esc)
{
    struct pc_redis_args a;

    if (!wx_can_send(w)) {
        return;
    }
    pc_redis_args_init(&a);
    wx_add_exec_keys(&a, w, id, false, false);
    pc_redis_args_addu64(&a, wx_now_ms(w));
    pc_redis_args_add(&a, reason, len < MSG_EVENT_REASON_MAX ? len : MSG_EVENT_REASON_MAX);
    pc_redis_args_addz(&a, pc_interrupt_mode_name(esc != NULL ? esc->mode : r->mode));
    pc_redis_args_addu64(&a, r->has_deadline ? r->deadline_ms : PC_INTERRUPT_DEADLINE_DEFAULT_MS);
    if (esc != NULL) {
        char channel[PC_KEY_MAX];

        pc_redis_args_addu64(&a, esc->latched_ms);
        pc_redis_args_addu64(&a, esc->escalations);
        /* Announced, so an interrupt's 202 need not poll for the latch. */
        if (pc_key_interrupts_latched(channel, sizeof(channel), w->cfg->prefix) >= 0) {
            pc_redis_args_addz(&a, channel);
            pc_redis_args_addz(&a, id);
        }
    }
    if (pc_script_run(w->scripts, w->cmd, PC_SCRIPT_EXEC_MARK_INTERRUPT, 1, &a, 0,
                      wx_on_ignored_reply, w) != 0) {
        wk_log(w->log, WK_LOG_WARN, "mark_failed", "exec=%s err=\"cannot send\"", id);
    }
}

/* ------------------------------------------------------------------------ */
/* Renewal                                                                   */

static void on_lock_renew_reply(void *arg, const redisReply *reply)
{
    struct wexec *x = arg;

    wx_note_denied(x->w, "script lock_renew", reply);
    if (!wx_call_returned(x)) {
        return;
    }
    if (reply != NULL && reply->type == REDIS_REPLY_INTEGER && reply->integer == 0) {
        wx_lose(x, "the profile lock expired and is no longer held by this execution");
    }
}

static void on_xclaim_reply(void *arg, const redisReply *reply)
{
    struct wexec *x = arg;

    wx_note_denied(x->w, "XCLAIM", reply);
    (void)wx_call_returned(x);
}

static void after_renewed(struct wexec *x)
{
    struct wk_worker *w = x->w;
    const char *argv[7] = {
        "XCLAIM", wk_queue_key(w->queue, x->part), GROUP, w->consumer, "0", x->entry_id, "JUSTID"};
    size_t lens[7];
    struct pc_redis_args a;
    char lock[PC_KEY_MAX];

    for (int i = 0; i < 7; i++) {
        lens[i] = strlen(argv[i]);
    }
    if (pc_redis_cmd(w->cmd, 7, argv, lens, 0, on_xclaim_reply, x) == 0) {
        x->inflight++;
    }
    if (!x->has_lock || pc_key_lock(lock, sizeof(lock), w->cfg->prefix, x->job.flow.app.s,
                                    x->job.flow.profile.s) < 0) {
        return;
    }
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, lock);
    pc_redis_args_addz(&a, x->lock_value);
    pc_redis_args_addu64(&a, w->cfg->lease_ms);
    if (pc_script_run(w->scripts, w->cmd, PC_SCRIPT_LOCK_RENEW, 1, &a, 0, on_lock_renew_reply, x) ==
        0) {
        x->inflight++;
    }
}

static void on_renew_reply(void *arg, const redisReply *reply)
{
    struct wexec *x = arg;
    struct wk_renew r;
    char text[160];

    x->renew_in_flight = false;
    wx_note_denied(x->w, "script exec_renew", reply);
    if (!wx_call_returned(x)) {
        return;
    }
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR || wk_renew_parse(reply, &r, NULL) != 0) {
        pc_redis_reply_text(reply, text, sizeof(text));
        wk_log(x->w->log, WK_LOG_WARN, "renew_failed", "exec=%s err=\"%s\"", x->id, text);
        if (x->state == WX_RUNNING) {
            /* A running execution cannot prove it still owns the execution:
             * it stops here rather than go on changing the world. */
            wx_lose(x, "the lease renewal failed");
        }
        /* Otherwise retried next period; a whole lease without success
         * loses it. */
        return;
    }
    if (r.fenced) {
        wx_lose(x, "another attempt owns the execution (lease epoch changed)");
        return;
    }
    x->last_renewed_ms = wx_now_ms(x->w);
    after_renewed(x);
    if (r.interrupt_requested_ms != 0 && !x->dropped) {
        interrupt_marker(x, r.interrupt_reason, r.interrupt_reason_len, r.interrupt_mode,
                         r.interrupt_mode_len, r.interrupt_deadline_ms);
    }
}

void wx_renew(struct wexec *x)
{
    struct wk_worker *w = x->w;
    struct pc_redis_args a;
    uint64_t now = wx_now_ms(w);

    if (x->dropped || x->lost || x->epoch == 0 || x->renew_in_flight || !wx_can_send(w)) {
        return;
    }
    if (wk_lease_lost(x->last_renewed_ms, now, w->cfg->lease_ms)) {
        wx_lose(x, "no lease renewal succeeded for a whole lease");
        return;
    }
    pc_redis_args_init(&a);
    wx_add_exec_keys(&a, w, x->id, false, false);
    pc_redis_args_addu64(&a, x->epoch);
    pc_redis_args_addu64(&a, wk_lease_until(now, w->cfg->lease_ms));
    if (pc_script_run(w->scripts, w->cmd, PC_SCRIPT_EXEC_RENEW, 1, &a, 0, on_renew_reply, x) == 0) {
        x->inflight++;
        x->renew_in_flight = true;
    }
}

void wx_renew_all(struct wk_worker *w)
{
    struct wexec *next = NULL;

    for (struct wexec *x = w->execs; x != NULL; x = next) {
        next = x->next; /* renew may drop x */
        wx_renew(x);
    }
}

void wx_on_renew_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    wx_renew_all(arg);
}

/* ------------------------------------------------------------------------ */
/* Running                                                                   */

static void on_apply_recorded(void *ctx, int rc)
{
    struct wexec *x = ctx;

    if (!wx_call_returned(x)) {
        return;
    }
    if (rc != 0 || x->lost) {
        wx_lose(x, "the start of the apply block could not be recorded");
        return;
    }
    wk_gate_open(x->gate);
    (void)event_active(x->release_ev, EV_TIMEOUT, 0);
}

static void ob_block_start(void *ctx, size_t index, enum pc_block_kind kind)
{
    struct wexec *x = ctx;

    if (x->rec == NULL) {
        return;
    }
    pc_recorder_observer()->block_start(x->rec, index, kind);
    if ((kind != PC_BLOCK_APPLY_ENSURE && kind != PC_BLOCK_APPLY_CLEAN &&
         kind != PC_BLOCK_CLEAN_REPLACED && kind != PC_BLOCK_ENSURE_REPLACED) ||
        x->lost) {
        return;
    }
    /* No item applies before Redis holds the block start: the next
     * attempt's guard relies on it (wk_tolerate). The checks run meanwhile;
     * their completions, which submit the applies, wait at the gate. */
    wk_gate_close(x->gate);
    if (pc_recorder_sync(x->rec, on_apply_recorded, x) == 0) {
        x->inflight++;
    } else {
        wx_lose(x, "the start of the apply block could not be sent");
    }
}

void wx_on_release(evutil_socket_t fd, short what, void *arg)
{
    struct wexec *x = arg;

    (void)fd;
    (void)what;
    wk_gate_release(x->gate);
}

/* The recorder's first failed write: possibly inside an engine callback. */
static void on_recorder_write_failed(void *ctx, const char *why)
{
    struct wexec *x = ctx;

    (void)wk_denied_note(&x->w->denied, x->w->log, "script exec_progress", why);
    wx_lose(x, why);
}

static void ob_progress(void *ctx, size_t item, const struct pc_progress_tracker *t,
                        const struct pc_progress_update *u)
{
    struct wexec *x = ctx;

    if (x->rec != NULL) {
        pc_recorder_observer()->progress(x->rec, item, t, u);
    }
}

static void ob_interrupted(void *ctx)
{
    struct wexec *x = ctx;

    if (x->rec != NULL) {
        pc_recorder_observer()->interrupted(x->rec);
    }
}

static void ob_finished(void *ctx, const struct pc_outcome *o)
{
    struct wexec *x = ctx;

    if (x->rec != NULL) {
        pc_recorder_observer()->finished(x->rec, o);
    }
}

const struct pc_exec_observer_ops wx_wexec_observer = {
    .block_start = ob_block_start,
    .progress = ob_progress,
    .interrupted = ob_interrupted,
    .finished = ob_finished,
};

static void on_recorded(void *ctx, int rc, const char *why)
{
    struct wexec *x = ctx;
    struct wk_worker *w = x->w;
    const struct pc_outcome *o = pc_exec_outcome(x->exec);
    char q[QUOTE_MAX];

    x->engine_running = false;
    if (rc == 0 && o != NULL) {
        wk_ops_exec_finished(w->ops, (unsigned)x->job.cmd, o->kind);
    }
    if (rc == 0) {
        wk_log(w->log, WK_LOG_INFO, "exec_finished", "exec=%s entry=%s attempt=%llu outcome=%s",
               x->id, x->entry_id, (unsigned long long)x->attempt,
               o != NULL ? pc_outcome_kind_name(o->kind) : "?");
    } else {
        wk_log(w->log, WK_LOG_WARN, "exec_abandoned", "exec=%s entry=%s outcome=%s err=\"%s\"",
               x->id, x->entry_id, o != NULL ? pc_outcome_kind_name(o->kind) : "?",
               wx_quote(why, q));
    }
    if (x->dropped) {
        maybe_free(x);
        return;
    }
    wx_drop(x);
}

/* The recorder's writes follow the store's queued states writes. */
static void before_recorder_write(void *ctx)
{
    struct wexec *x = ctx;

    pc_store_redis_flush(x->store);
}

static int make_recorder(struct wexec *x, struct pc_err *err)
{
    struct wk_worker *w = x->w;
    struct pc_recorder_opts ro;
    char wx_started[24];
    const char *first_meta[6] = {"status",   "running",       "started_ms",
                                 wx_started, "sync_tolerate", pc_buf_str(&x->tolerate_list)};

    memset(&ro, 0, sizeof(ro));
    ro.base = w->base;
    ro.conn = w->cmd;
    ro.scripts = w->scripts;
    ro.prefix = w->cfg->prefix;
    ro.exec_id = x->id;
    ro.queue = w->cfg->queue;
    ro.partition = x->part;
    ro.partitions = w->cfg->partitions;
    ro.group = GROUP;
    ro.entry_id = x->entry_id;
    ro.epoch = x->epoch;
    ro.flow = &x->job.flow;
    ro.cmd = x->job.cmd;
    ro.sync = x->job.sync;
    ro.lock_value = x->has_lock ? x->lock_value : NULL;
    ro.events_maxlen = EVENTS_MAXLEN;
    ro.retention_s = w->cfg->retention_s;
    ro.flush_ms = w->cfg->progress_flush_ms;
    ro.events_layout = w->cfg->events_layout;
    ro.first_meta = first_meta;
    /* started_ms is when the engine starts: time parked behind another
     * execution's profile lock is queue time, not run time. */
    (void)snprintf(wx_started, sizeof(wx_started), "%llu", (unsigned long long)wx_now_ms(w));
    ro.n_first_meta = x->tolerate_list.len > 0 ? 6 : 4;
    ro.now_ms = w->clock.now_ms;
    ro.clock_ctx = w->clock.ctx;
    ro.on_done = on_recorded;
    ro.done_ctx = x;
    ro.before_write = before_recorder_write;
    ro.before_write_ctx = x;
    ro.on_write_failed = on_recorder_write_failed;
    ro.on_write_failed_ctx = x;
    ro.progress_prefilled = true; /* exec_start wrote every item's initial fields */
    return pc_recorder_create(&ro, &x->rec, err);
}

void wx_run_exec(struct wexec *x)
{
    struct wk_worker *w = x->w;
    struct pc_err err;
    char q[QUOTE_MAX];

    if (w->draining) {
        /* Not started: it stays pending for another worker. */
        wx_drop(x);
        return;
    }
    pc_err_clear(&err);
    if ((x->has_lock && pc_store_redis_set_lock(x->store, x->lock_value) != 0) ||
        make_recorder(x, &err) != 0) {
        wk_log(w->log, WK_LOG_ERROR, "exec_setup_failed", "exec=%s err=\"%s\"", x->id,
               wx_quote(err.msg, q));
        wx_drop(x);
        return;
    }
    if (x->interrupted) {
        pc_recorder_set_interrupt_reason(x->rec, x->reason, strlen(x->reason));
    }
    x->state = WX_RUNNING;
    x->engine_running = true;
    wk_log(w->log, WK_LOG_INFO, "exec_run",
           "exec=%s entry=%s cmd=%s app=%s profile=%s flow=%s attempt=%llu epoch=%llu locked=%s",
           x->id, x->entry_id, pc_cmd_name(x->job.cmd), x->job.flow.app.s, x->job.flow.profile.s,
           x->job.flow.flow.s, (unsigned long long)x->attempt, (unsigned long long)x->epoch,
           x->has_lock ? "yes" : "no");
    pc_recorder_attach(x->rec, x->exec);
    pc_exec_start(x->exec);
    wk_ops_exec_started(w->ops, x->job.cmd);
}
