/*
 * wexec_start.c - starting an execution: exec_start, the profile lock, parking,
 * and the queue entry that becomes an execution (see worker.c).
 */
#include "worker_int.h"

static void try_lock(struct wexec *x);
static void release_unused_lock(struct wexec *x);
static void park(struct wexec *x);
static void send_start(struct wexec *x);

/* ------------------------------------------------------------------------ */
/* Profile lock                                                              */

/* The lock's answer (ok: a well-formed reply; acquired, holder: what it
 * said), after the reply that carried it. */
static void lock_answer(struct wexec *x, const redisReply *reply, bool ok, bool acquired,
                        const char *holder, size_t holder_len)
{
    char text[160];

    x->lock_in_flight = false;
    if (x->dropped && !x->w->stopping && ok && acquired) {
        release_unused_lock(x); /* let go meanwhile (drain): give the lock back */
    }
    if (!wx_call_returned(x)) {
        return;
    }
    if (x->state == WX_RUNNING) {
        /* Started meanwhile without the lock (interrupted while parked):
         * give back a lock this reply may have granted. */
        if (ok && acquired) {
            release_unused_lock(x);
        }
        return;
    }
    if (!ok) {
        pc_redis_reply_text(reply, text, sizeof(text));
        wk_log(x->w->log, WK_LOG_WARN, "lock_failed", "exec=%s err=\"%s\"", x->id, text);
        /* Parked: retried at the next retry time. */
        x->state = WX_PARKED;
        return;
    }
    if (acquired) {
        x->has_lock = true;
        wx_run_exec(x);
        return;
    }
    if (x->state != WX_PARKED) {
        park(x);
        wk_log(x->w->log, WK_LOG_INFO, "exec_parked", "exec=%s profile=%s:%s holder=%.*s", x->id,
               x->job.flow.app.s, x->job.flow.profile.s, (int)(holder_len < 100 ? holder_len : 100),
               holder);
    }
    x->state = WX_PARKED;
}

static void on_lock_reply(void *arg, const redisReply *reply)
{
    struct wexec *x = arg;
    bool acquired = false;
    const char *holder = NULL;
    size_t holder_len = 0;
    bool ok;

    wx_note_denied(x->w, "script lock_acquire", reply);
    ok = reply != NULL && reply->type != REDIS_REPLY_ERROR &&
         wk_lock_parse(reply, &acquired, &holder, &holder_len, NULL) == 0;
    lock_answer(x, reply, ok, acquired, holder, holder_len);
}

static int send_lock_script(struct wexec *x)
{
    struct wk_worker *w = x->w;
    struct pc_redis_args a;
    char lock[PC_KEY_MAX];

    if (pc_key_lock(lock, sizeof(lock), w->cfg->prefix, x->job.flow.app.s, x->job.flow.profile.s) <
        0) {
        return PC_EINVAL;
    }
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, lock);
    pc_redis_args_addz(&a, x->id);
    pc_redis_args_addz(&a, x->lock_value);
    pc_redis_args_addu64(&a, w->cfg->lease_ms);
    if (pc_script_run(w->scripts, w->cmd, PC_SCRIPT_LOCK_ACQUIRE, 1, &a, 0, on_lock_reply, x) !=
        0) {
        return PC_EREDIS;
    }
    x->inflight++;
    return 0;
}

/* The plain SET NX GET's reply: taken, busy, or a value of this execution
 * (an earlier attempt's lock, or this attempt's own after a lost reply),
 * which the lock_acquire script settles. */
static void on_lock_set_reply(void *arg, const redisReply *reply)
{
    struct wexec *x = arg;
    enum wk_lock_try t = WK_LOCK_BUSY;
    const char *holder = NULL;
    size_t holder_len = 0;
    bool ok;

    wx_note_denied(x->w, "SET (the profile lock)", reply);
    ok = reply != NULL && reply->type != REDIS_REPLY_ERROR &&
         wk_lock_set_parse(reply, x->id, &t, &holder, &holder_len, NULL) == 0;
    if (ok && t == WK_LOCK_ASK_SCRIPT && !x->dropped && x->state != WX_RUNNING &&
        wx_can_send(x->w) && send_lock_script(x) == 0) {
        /* lock_in_flight stays: the script's reply ends the try. */
        (void)wx_call_returned(x);
        return;
    }
    lock_answer(x, reply, ok, ok && t == WK_LOCK_TAKEN, holder, holder_len);
}

static void release_unused_lock(struct wexec *x)
{
    struct wk_worker *w = x->w;
    struct pc_redis_args a;
    char lock[PC_KEY_MAX];
    char tag[2 * PC_ID_MAX + 2];

    if (!wx_can_send(w) || pc_key_lock(lock, sizeof(lock), w->cfg->prefix, x->job.flow.app.s,
                                       x->job.flow.profile.s) < 0) {
        return;
    }
    (void)snprintf(tag, sizeof(tag), "%s:%s", x->job.flow.app.s, x->job.flow.profile.s);
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, lock);
    pc_redis_args_addz(&a, x->lock_value);
    pc_redis_args_addz(&a, w->released_channel); /* parked executions retry at once */
    pc_redis_args_addz(&a, tag);
    if (pc_script_run(w->scripts, w->cmd, PC_SCRIPT_LOCK_RELEASE, 1, &a, 0, wx_on_ignored_reply,
                      w) != 0) {
        wk_log(w->log, WK_LOG_WARN, "unlock_failed", "exec=%s err=\"cannot send\"", x->id);
    }
}

/* Back to `queued` in the meta: it waits, it does not run. */
static void park(struct wexec *x)
{
    struct wk_worker *w = x->w;
    struct pc_redis_args a;

    if (!wx_can_send(w)) {
        return;
    }
    pc_redis_args_init(&a);
    wx_add_exec_keys(&a, w, x->id, false, false);
    pc_redis_args_addu64(&a, x->epoch);
    if (pc_script_run(w->scripts, w->cmd, PC_SCRIPT_EXEC_PARK, 1, &a, 0, wx_on_ignored_reply, w) !=
        0) {
        wk_log(w->log, WK_LOG_WARN, "park_failed", "exec=%s err=\"cannot send\"", x->id);
    }
}

/* The first try is a plain SET NX GET (docs/fleet.md "Profile lock"). */
static void try_lock(struct wexec *x)
{
    struct wk_worker *w = x->w;
    char lock[PC_KEY_MAX];
    char lease[24];
    const char *argv[7];
    size_t lens[7];

    if (x->lock_in_flight || !wx_can_send(w) ||
        pc_key_lock(lock, sizeof(lock), w->cfg->prefix, x->job.flow.app.s, x->job.flow.profile.s) <
            0) {
        return;
    }
    x->last_lock_try_ms = wx_now_ms(w);
    (void)snprintf(lease, sizeof(lease), "%u", (unsigned)w->cfg->lease_ms);
    argv[0] = "SET";
    argv[1] = lock;
    argv[2] = x->lock_value;
    argv[3] = "PX";
    argv[4] = lease;
    argv[5] = "NX";
    argv[6] = "GET";
    for (int i = 0; i < 7; i++) {
        lens[i] = strlen(argv[i]);
    }
    if (pc_redis_cmd(w->cmd, 7, argv, lens, 0, on_lock_set_reply, x) == 0) {
        x->inflight++;
        x->lock_in_flight = true;
        if (x->state != WX_PARKED) {
            x->state = WX_LOCKING;
        }
    }
}

void wx_retry_parked(struct wk_worker *w, const char *profile_tag, size_t tag_len, bool forced)
{
    struct wexec *next = NULL;
    uint64_t now = wx_now_ms(w);
    char tag[2 * PC_ID_MAX + 2];

    for (struct wexec *x = w->execs; x != NULL; x = next) {
        next = x->next;
        if (x->state != WX_PARKED) {
            continue;
        }
        (void)snprintf(tag, sizeof(tag), "%s:%s", x->job.flow.app.s, x->job.flow.profile.s);
        if ((profile_tag != NULL && strlen(tag) == tag_len &&
             memcmp(tag, profile_tag, tag_len) == 0) ||
            (profile_tag == NULL &&
             (forced || wk_park_retry_due(x->last_lock_try_ms, now, w->cfg->lease_ms)))) {
            try_lock(x);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Starting                                                                  */

static size_t progress_kv(const redisReply *arr, struct pc_progress_kv **out)
{
    size_t n = 0;
    struct pc_progress_kv *kv = NULL;

    *out = NULL;
    if (arr == NULL || arr->type != REDIS_REPLY_ARRAY || arr->elements < 2) {
        return 0;
    }
    kv = calloc(arr->elements / 2 + 1, sizeof(*kv));
    if (kv == NULL) {
        return 0;
    }
    for (size_t i = 0; i + 1 < arr->elements; i += 2) {
        const redisReply *k = arr->element[i];
        const redisReply *v = arr->element[i + 1];

        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
            continue;
        }
        kv[n].f = k->str;
        kv[n].fn = k->len;
        kv[n].v = v->str;
        kv[n].vn = v->len;
        n++;
    }
    *out = kv;
    return n;
}

void wx_started(struct wexec *x, const struct wk_start *s)
{
    struct wk_worker *w = x->w;
    struct pc_progress_kv *kv = NULL;
    size_t n_kv = 0;
    long tolerated;

    x->epoch = s->epoch;
    x->attempt = s->attempt;
    x->last_renewed_ms = wx_now_ms(w);
    (void)snprintf(x->lock_value, sizeof(x->lock_value), "%s:%llu", x->id,
                   (unsigned long long)x->epoch);
    if (s->attempt > 1) {
        struct wk_prev_attempt prev;

        n_kv = progress_kv(s->progress, &kv);
        prev.block = s->block;
        prev.block_len = s->block_len;
        prev.list = s->tolerate;
        prev.list_len = s->tolerate_len;
        prev.progress = kv;
        prev.n_progress = n_kv;
        tolerated = wk_tolerate(&x->job.flow, &prev, x->tolerate, &x->tolerate_list);
        free(kv);
        wk_log(w->log, WK_LOG_INFO, "exec_takeover",
               "exec=%s entry=%s attempt=%llu previous_block=%.*s tolerated=%ld items=\"%s\"",
               x->id, x->entry_id, (unsigned long long)x->attempt, (int)s->block_len, s->block,
               tolerated, pc_buf_str(&x->tolerate_list));
    }
    if (s->interrupt_requested_ms != 0) {
        wx_latch_interrupt(x, s->interrupt_reason, s->interrupt_reason_len);
    }
    if (x->state == WX_RUNNING) {
        if (s->lock == 1) {
            release_unused_lock(x);
        }
        return; /* latch_interrupt cannot start it from here, but be safe */
    }
    if (x->needs_lock && !(x->interrupted && x->job.strategy.kind == PC_STRATEGY_FINISH_CURRENT)) {
        /* exec_start took the lock too (one slot: a standalone Redis or a
         * co-located id), or it is tried now (the lock is in another slot). */
        if (s->lock == 1) {
            x->has_lock = true;
            wx_run_exec(x);
        } else if (s->lock == 0) {
            x->last_lock_try_ms = wx_now_ms(w);
            park(x);
            x->state = WX_PARKED;
            wk_log(w->log, WK_LOG_INFO, "exec_parked", "exec=%s profile=%s:%s holder=%.*s", x->id,
                   x->job.flow.app.s, x->job.flow.profile.s,
                   (int)(s->lock_holder_len < 100 ? s->lock_holder_len : 100), s->lock_holder);
        } else {
            try_lock(x);
        }
        return;
    }
    if (s->lock == 1) {
        release_unused_lock(x); /* interrupted meanwhile: it runs without the lock */
    }
    wx_run_exec(x);
}

static void on_start_reply(void *arg, const redisReply *reply)
{
    struct wexec *x = arg;
    struct wk_worker *w = x->w;
    struct wk_start s;
    struct pc_err err;
    char text[160];
    char reason[96];

    if (x->dropped && !w->stopping && reply != NULL && reply->type == REDIS_REPLY_ARRAY &&
        wk_start_parse(reply, &s, NULL) == 0 && s.kind == WK_START_STARTED && s.lock == 1) {
        /* Let go meanwhile (drain): give back the lock the start took. */
        (void)snprintf(x->lock_value, sizeof(x->lock_value), "%s:%llu", x->id,
                       (unsigned long long)s.epoch);
        release_unused_lock(x);
    }
    if (!wx_call_returned(x)) {
        return;
    }
    pc_err_clear(&err);
    wx_note_denied(w, "script exec_start", reply);
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR || wk_start_parse(reply, &s, &err) != 0) {
        pc_redis_reply_text(reply, text, sizeof(text));
        wk_log(w->log, WK_LOG_WARN, "start_failed", "exec=%s entry=%s err=\"%s\"", x->id,
               x->entry_id, err.msg[0] ? err.msg : text);
        wx_drop(x);
        return;
    }
    switch (s.kind) {
    case WK_START_FINISHED:
        wk_log(w->log, WK_LOG_INFO, "already_finished", "exec=%s entry=%s", x->id, x->entry_id);
        wx_ack_entry(w, x->part, x->entry_id);
        wx_drop(x);
        return;
    case WK_START_EXHAUSTED:
        (void)snprintf(reason, sizeof(reason), "gave up after %u attempts", w->cfg->max_attempts);
        wk_log(w->log, WK_LOG_WARN, "exec_gave_up", "exec=%s entry=%s err=\"%s\"", x->id,
               x->entry_id, reason);
        wx_give_up(w, x, reason);
        wx_drop(x);
        return;
    case WK_START_MORE:
        if (x->start_long) {
            wk_log(w->log, WK_LOG_WARN, "start_failed", "exec=%s entry=%s err=\"%s\"", x->id,
                   x->entry_id, "exec_start asked for more than its long form");
            wx_drop(x);
            return;
        }
        x->start_long = true;
        send_start(x);
        return;
    case WK_START_STARTED:
    default:
        wx_started(x, &s);
        return;
    }
}

/*
 * exec_start, short form first: enough for a job whose submitter wrote the
 * meta and that has attempts left. Otherwise the script asks for the long
 * form (x->start_long): the descriptive fields to fill in, and the report of
 * an execution that gave up.
 */
static void send_start(struct wexec *x)
{
    struct wk_worker *w = x->w;
    struct pc_redis_args a;
    struct pc_buf report;
    enum pc_block_kind blocks[PC_BLOCKS_MAX];
    uint64_t now = wx_now_ms(w);
    char reason[96];
    char lock[PC_KEY_MAX];
    /* The profile lock is taken in the same call where one script reaches
     * it: on a standalone Redis, and on a cluster when the id is in the
     * profile's slot (docs/fleet.md "Co-located execution ids"); otherwise
     * it is in another slot (try_lock after the reply). */
    bool fuse = x->needs_lock &&
                (!pc_redis_conn_is_cluster(w->cmd) ||
                 pc_exec_colocated(x->id, x->job.flow.app.s, x->job.flow.profile.s)) &&
                pc_key_lock(lock, sizeof(lock), w->cfg->prefix, x->job.flow.app.s,
                            x->job.flow.profile.s) >= 0;
    int nkeys = fuse ? 4 : 3;

    pc_redis_args_init(&a);
    wx_add_exec_keys(&a, w, x->id, true, true);
    if (fuse) {
        pc_redis_args_addz(&a, lock);
    }
    pc_redis_args_addz(&a, w->consumer);
    pc_redis_args_addu64(&a, now);
    pc_redis_args_addu64(&a, wk_lease_until(now, w->cfg->lease_ms));
    pc_redis_args_addu64(&a, w->cfg->max_attempts);
    pc_redis_args_addu64(&a, w->cfg->retention_s);
    pc_redis_args_addu64(&a, EVENTS_MAXLEN);
    pc_redis_args_addz(&a, !fuse                                                ? "0"
                           : x->job.strategy.kind == PC_STRATEGY_FINISH_CURRENT ? "2"
                                                                                : "1");
    pc_redis_args_addu64(&a, w->cfg->lease_ms);
    pc_redis_args_addz(&a, x->id);
    pc_recorder_initial_progress(&x->job.flow, &a);
    if (!x->start_long) {
        if (pc_script_run(w->scripts, w->cmd, PC_SCRIPT_EXEC_START, nkeys, &a, 0, on_start_reply,
                          x) == 0) {
            x->inflight++;
            return;
        }
        wk_log(w->log, WK_LOG_WARN, "start_failed", "exec=%s entry=%s err=\"cannot send\"", x->id,
               x->entry_id);
        wx_drop(x);
        return;
    }
    (void)snprintf(reason, sizeof(reason), "gave up after %u attempts", w->cfg->max_attempts);
    if (wk_rejected_report(reason, &report) != 0) {
        pc_buf_init(&report, 1);
    }
    pc_redis_args_add(&a, report.data != NULL ? report.data : "", report.len);
    pc_redis_args_addz(&a, reason);
    pc_buf_cleanup(&report);
    /* Descriptive fields, filled in only where the submitter left them out. */
    pc_redis_args_addz(&a, "id");
    pc_redis_args_addz(&a, x->id);
    pc_redis_args_addz(&a, "cmd");
    pc_redis_args_addz(&a, pc_cmd_name(x->job.cmd));
    pc_redis_args_addz(&a, "app");
    pc_redis_args_addz(&a, x->job.flow.app.s);
    pc_redis_args_addz(&a, "profile");
    pc_redis_args_addz(&a, x->job.flow.profile.s);
    pc_redis_args_addz(&a, "flow");
    pc_redis_args_addz(&a, x->job.flow.flow.s);
    pc_redis_args_addz(&a, "queue");
    pc_redis_args_addz(&a, x->job.queue.s);
    pc_redis_args_addz(&a, "created_ms");
    pc_redis_args_addu64(&a, x->job.created_ms);
    pc_redis_args_addz(&a, "blocks_total");
    pc_redis_args_addu64(&a, pc_cmd_blocks(x->job.cmd, x->job.sync, blocks));
    pc_redis_args_addz(&a, "items_total");
    pc_redis_args_addu64(&a, x->job.flow.n_items);
    if (pc_script_run(w->scripts, w->cmd, PC_SCRIPT_EXEC_START, nkeys, &a, 0, on_start_reply, x) ==
        0) {
        x->inflight++;
        return;
    }
    wk_log(w->log, WK_LOG_WARN, "start_failed", "exec=%s entry=%s err=\"cannot send\"", x->id,
           x->entry_id);
    wx_drop(x);
}

/* A states write was fenced (the profile lock was lost) or got no reply:
 * the execution is no longer ours (another attempt finishes it), whatever
 * the engine reports. */
static void on_store_fenced(void *ctx, const char *why)
{
    struct wexec *x = ctx;

    /* Only a running engine writes states; lose() then never frees x. */
    if (x->state == WX_RUNNING && x->rec != NULL) {
        wx_lose(x, why);
    }
}

/* Builds the store and the engine for a decoded job. */
static int wexec_setup(struct wexec *x, char *reason, size_t reason_size)
{
    struct wk_worker *w = x->w;
    struct pc_store_redis_opts so;
    struct wk_exec_env env;
    struct pc_err err;

    x->tolerate = calloc(x->job.flow.n_items + 1, sizeof(bool));
    x->release_ev = event_new(w->base, -1, 0, wx_on_release, x);
    if (x->release_ev == NULL || wk_gate_create(pc_pool_executor(w->pool), &x->gate) != 0) {
        (void)snprintf(reason, reason_size, "out of memory");
        return PC_ENOMEM;
    }
    memset(&so, 0, sizeof(so));
    so.conn = w->cmd;
    so.scripts = w->scripts;
    so.prefix = w->cfg->prefix;
    so.base = w->base;
    so.on_fenced = on_store_fenced;
    so.fenced_ctx = x;
    pc_err_clear(&err);
    if (x->tolerate == NULL || pc_store_redis_create(&so, &x->store, &err) != 0) {
        (void)snprintf(reason, reason_size, "out of memory");
        return PC_ENOMEM;
    }
    env.reg = w->reg;
    env.store = pc_store_redis_store(x->store);
    env.executor = wk_gate_executor(x->gate);
    env.observer = &wx_wexec_observer;
    env.observer_ctx = x;
    env.file_root = w->policy.file_root[0] != '\0' ? w->policy.file_root : NULL;
    env.stored_item_check = wk_policy_check_stored;
    env.stored_item_check_ctx = &w->policy;
    return wk_exec_setup(&x->job, &env, x->tolerate, &x->exec, reason, reason_size);
}

void wx_handle_entry(struct wk_worker *w, unsigned part, const redisReply *entry)
{
    struct wk_entry e;
    struct wexec *x = NULL;
    int rc;
    char reason[WK_REASON_MAX];
    char q[QUOTE_MAX];

    if (wk_entry_parse(entry, &e) != 0) {
        wk_log(w->log, WK_LOG_WARN, "entry_unusable", "err=\"a queue entry without a usable id\"");
        return;
    }
    if (w->draining || w->stopping) {
        return; /* stays pending: another worker takes it after the lease */
    }
    if (wx_find_entry(w, part, e.id) != NULL) {
        return; /* ours already (a takeover of our own entry) */
    }
    if (e.exec_id[0] == '\0') {
        wx_reject(w, part, &e, "", NULL, "the queue entry has no usable exec field");
        return;
    }
    if (wx_find_exec(w, e.exec_id, NULL) != NULL) {
        wk_log(w->log, WK_LOG_WARN, "duplicate_entry", "exec=%s entry=%s", e.exec_id, e.id);
        return;
    }
    x = calloc(1, sizeof(*x));
    if (x == NULL) {
        return;
    }
    x->w = w;
    x->part = part;
    pc_buf_init(&x->tolerate_list, 1u << 20);
    (void)snprintf(x->entry_id, sizeof(x->entry_id), "%s", e.id);
    (void)snprintf(x->id, sizeof(x->id), "%s", e.exec_id);
    if (wk_job_accept(&e, w->reg, &x->job, reason, sizeof(reason)) != 0) {
        wx_reject(w, part, &e, e.exec_id, NULL, reason);
        wx_wexec_free(x);
        return;
    }
    if (wk_policy_check(&w->policy, &x->job.flow, reason, sizeof(reason)) != 0) {
        wk_log(w->log, WK_LOG_WARN, "job_refused", "exec=%s entry=%s reason=\"%s\"", e.exec_id,
               e.id, wx_quote(reason, q));
        wx_reject(w, part, &e, e.exec_id, &x->job, reason);
        wx_wexec_free(x);
        return;
    }
    rc = wexec_setup(x, reason, sizeof(reason));
    if (rc != 0) {
        if (rc != PC_EINVAL) {
            wx_wexec_free(x); /* not the job's fault: leave it pending */
            return;
        }
        wx_reject(w, part, &e, e.exec_id, &x->job, reason);
        wx_wexec_free(x);
        return;
    }
    x->needs_lock = pc_cmd_needs_profile_lock(x->job.cmd);
    x->state = WX_STARTING;
    wx_list_push(&w->execs, x);
    w->n_active++;
    wk_log(w->log, WK_LOG_DEBUG, "entry_received", "exec=%s entry=%s cmd=%s", x->id, x->entry_id,
           wx_quote(pc_cmd_name(x->job.cmd), q));
    send_start(x);
}
