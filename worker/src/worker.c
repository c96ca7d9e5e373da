/*
 * worker.c - the peace-worker daemon: the life of an execution on Redis.
 *
 * Design (docs/fleet.md is the specification). One event_base drives the
 * connections: `cmd` carries every script and write, pipelined; one `read`
 * per queue partition carries its blocking XREADGROUP (queue.c), so a read
 * never stalls the pipeline; `sub` hears interrupts (PSUBSCRIBE) and
 * released profile locks.
 *
 * An execution here (struct wexec) moves STARTING (exec_start in flight) ->
 * LOCKING (lock_acquire in flight) -> PARKED (another execution holds the
 * profile) -> RUNNING (the engine runs; the recorder writes) and leaves when
 * the recorder reports the end, or earlier when it is lost (fenced by
 * another attempt, or no renewal for a whole lease) or skipped. Every
 * asynchronous call that refers to a wexec counts in x->inflight, and a
 * dropped wexec is freed only when that count is zero and its engine has
 * finished, so no reply ever reaches freed memory. Redis connections call
 * back exactly once, also when destroyed, which makes the count exact.
 *
 * Renewal every lease/3 covers running and parked executions: exec_renew
 * (fenced; returns the interrupt marker, so a missed PUBLISH still counts),
 * then XCLAIM JUSTID (resets the entry's idle time so no other worker takes
 * it), and lock_renew for a held profile lock. Takeover (XAUTOCLAIM) runs
 * every min(lease/2, 500 ms); parked executions retry every lease/2.
 *
 * Bad input never stops the worker: an entry that cannot run is finished
 * `rejected` (when it names a usable execution), copied to the dead stream
 * and acknowledged, in that order.
 */
#include "worker_int.h"

/* A reply callback that only needs to exist (fire-and-forget writes). */
void wx_on_ignored_reply(void *arg, const redisReply *reply)
{
    struct wk_worker *w = arg;
    char text[160];

    wx_note_denied(w, "a write (interrupt marker, XACK, XDEL, XGROUP CREATECONSUMER)", reply);
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        pc_redis_reply_text(reply, text, sizeof(text));
        wk_log(w->log, WK_LOG_DEBUG, "write_failed", "err=\"%s\"", text);
    }
}

void wx_add_exec_keys(struct pc_redis_args *a, const struct wk_worker *w, const char *id,
                      bool progress, bool events)
{
    char key[PC_KEY_MAX];

    if (pc_key_exec(key, sizeof(key), w->cfg->prefix, id) < 0) {
        a->rc = PC_EINVAL;
        return;
    }
    pc_redis_args_addz(a, key);
    if (progress) {
        if (pc_key_progress(key, sizeof(key), w->cfg->prefix, id) < 0) {
            a->rc = PC_EINVAL;
            return;
        }
        pc_redis_args_addz(a, key);
    }
    if (events) {
        if (pc_key_events(key, sizeof(key), w->cfg->prefix, id) < 0) {
            a->rc = PC_EINVAL;
            return;
        }
        pc_redis_args_addz(a, key);
    }
}

/* XACK, then XDEL: an entry that needs no further run is of no use in the
 * stream (the dead stream keeps a copy of a rejected job). */
void wx_ack_entry(struct wk_worker *w, unsigned part, const char *entry_id)
{
    const char *argv[4] = {"XACK", wk_queue_key(w->queue, part), GROUP, entry_id};
    const char *del[3] = {"XDEL", wk_queue_key(w->queue, part), entry_id};
    size_t lens[4];
    size_t del_lens[3];

    if (!wx_can_send(w)) {
        return;
    }
    for (int i = 0; i < 4; i++) {
        lens[i] = strlen(argv[i]);
    }
    for (int i = 0; i < 3; i++) {
        del_lens[i] = strlen(del[i]);
    }
    if (pc_redis_cmd(w->cmd, 4, argv, lens, 0, wx_on_ignored_reply, w) != 0 ||
        pc_redis_cmd(w->cmd, 3, del, del_lens, 0, wx_on_ignored_reply, w) != 0) {
        wk_log(w->log, WK_LOG_WARN, "ack_failed", "entry=%s err=\"cannot send\"", entry_id);
    }
}

/* ------------------------------------------------------------------------ */
/* Reading and claiming                                                      */

/* The queue's hooks (queue.h). */
static void on_queue_entries(void *ctx, unsigned part, const redisReply *entries)
{
    struct wk_worker *w = ctx;

    if (entries == NULL || entries->type != REDIS_REPLY_ARRAY) {
        return;
    }
    for (size_t i = 0; i < entries->elements; i++) {
        wx_handle_entry(w, part, entries->element[i]);
    }
}

static unsigned queue_free_slots(void *ctx)
{
    return wx_free_slots(ctx);
}

/* No taking while the command connection is down: an entry taken then could
 * not be started, and would wait a whole lease to be claimed. */
static bool queue_may_take(void *ctx)
{
    struct wk_worker *w = ctx;

    return !w->draining && !w->stopping && pc_redis_conn_ready(w->cmd);
}

static void on_queue_error(void *ctx, const char *what, const redisReply *reply)
{
    wx_note_denied(ctx, what, reply);
}

/* Reads what the free slots allow (after executions left, say). */
void wx_maybe_read(struct wk_worker *w)
{
    wk_queue_read(w->queue);
}

static void on_claim_timer(evutil_socket_t fd, short what, void *arg)
{
    struct wk_worker *w = arg;

    (void)fd;
    (void)what;
    wk_queue_claim(w->queue);
    wx_retry_parked(w, NULL, 0, false);
}

/* ------------------------------------------------------------------------ */
/* Pub/sub                                                                   */

static void on_interrupt_msg(void *arg, const redisReply *reply)
{
    struct wk_worker *w = arg;
    const redisReply *kind = NULL;
    const redisReply *channel = NULL;
    const redisReply *payload = NULL;
    struct wexec *x = NULL;
    char id[WK_EXEC_ID_MAX + 1];

    if (w->stopping || reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) {
        return;
    }
    kind = reply->element[0];
    if (kind->type == REDIS_REPLY_STRING && kind->len == 10 &&
        memcmp(kind->str, "psubscribe", 10) == 0) {
        /* (Re)subscribed: interrupts published meanwhile were missed, so
         * re-read every marker now (the renewal returns it). */
        wk_log(w->log, WK_LOG_INFO, "subscribed", "pattern=%s", w->interrupt_pattern);
        w->sub_denied = false;
        wx_renew_all(w);
        return;
    }
    if (reply->elements != 4 || kind->type != REDIS_REPLY_STRING || kind->len != 8 ||
        memcmp(kind->str, "pmessage", 8) != 0) {
        return;
    }
    channel = reply->element[2];
    payload = reply->element[3];
    if (channel->type != REDIS_REPLY_STRING || payload->type != REDIS_REPLY_STRING ||
        pc_key_parse_interrupt_channel(channel->str, channel->len, w->cfg->prefix, id,
                                       sizeof(id)) != 0 ||
        !pc_exec_id_valid(id, strlen(id))) {
        return;
    }
    x = wx_find_exec(w, id, NULL);
    if (x != NULL) {
        /* Latched even while starting: the engine holds it until it starts. */
        wx_interrupt_request(x, payload->str, payload->len);
        return; /* the owner marks it, with the mode in effect */
    }
    {
        struct pc_interrupt_req r;

        pc_interrupt_payload_parse(payload->str, payload->len, &r);
        wx_mark_interrupt(w, id, r.reason, r.reason_len, &r, NULL);
    }
}

static void on_released_msg(void *arg, const redisReply *reply)
{
    struct wk_worker *w = arg;

    if (w->stopping || reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[2]->type != REDIS_REPLY_STRING) {
        return;
    }
    if (reply->element[0]->len == 7 && memcmp(reply->element[0]->str, "message", 7) == 0) {
        wx_retry_parked(w, reply->element[2]->str, reply->element[2]->len, false);
    } else {
        wx_retry_parked(w, NULL, 0, true); /* subscribed: releases may have been missed */
    }
}

static void subscribe_all(struct wk_worker *w)
{
    const char *pargv[2] = {"PSUBSCRIBE", w->interrupt_pattern};
    const char *sargv[2] = {"SUBSCRIBE", w->released_channel};
    size_t plens[2] = {10, strlen(w->interrupt_pattern)};
    size_t slens[2] = {9, strlen(w->released_channel)};

    if (pc_redis_subscribe(w->sub, 2, pargv, plens, on_interrupt_msg, w) != 0 ||
        pc_redis_subscribe(w->sub, 2, sargv, slens, on_released_msg, w) != 0) {
        pc_redis_conn_reset(w->sub, "subscribe failed");
    }
}

/* ------------------------------------------------------------------------ */
/* Connection states                                                         */

/* Every running execution stops: its writes may be lost from here on. */
static void lose_running(struct wk_worker *w, const char *why)
{
    struct wexec *next = NULL;

    for (struct wexec *x = w->execs; x != NULL; x = next) {
        next = x->next; /* lose may drop x */
        if (x->state == WX_RUNNING) {
            wx_lose(x, why);
        }
    }
}

static void on_cmd_state(void *ctx, bool ready, const char *why)
{
    struct wk_worker *w = ctx;
    char q[QUOTE_MAX];

    if (w->stopping) {
        return;
    }
    if (!ready) {
        if (!w->cmd_was_ready) {
            /* Start-up: an unreachable Redis is a configuration error. */
            w->startup_failed = true;
            (void)snprintf(w->startup_why, sizeof(w->startup_why), "%s", why);
            (void)event_base_loopexit(w->base, NULL);
            return;
        }
        /* The first failure is news; the retries that follow are not. */
        wk_log(w->log, w->cmd_down ? WK_LOG_DEBUG : WK_LOG_WARN, "redis_down",
               "conn=cmd err=\"%s\"", wx_quote(why, q));
        w->cmd_down = true;
        lose_running(w, "the connection to Redis was lost");
        return;
    }
    w->cmd_down = false;
    if (!w->cmd_was_ready) {
        wk_log(w->log, WK_LOG_INFO, "worker_started",
               "consumer=%s redis=%s prefix=%s queue=%s partitions=%u concurrency=%u threads=%u "
               "lease_ms=%u item_types=%s file_root=\"%s\"",
               w->consumer, w->redis_where, w->cfg->prefix, w->cfg->queue, w->cfg->partitions,
               w->cfg->concurrency, w->cfg->threads, (unsigned)w->cfg->lease_ms,
               w->policy.all_types ? "all" : w->policy.item_types_text,
               wx_quote(w->policy.file_root, q));
    } else {
        wk_log(w->log, WK_LOG_INFO, "redis_up", "conn=cmd");
    }
    w->cmd_was_ready = true;
    pc_scripts_load(w->scripts, w->cmd);
    wk_queue_cmd_ready(w->queue);
    wx_renew_all(w);
}

static void on_sub_state(void *ctx, bool ready, const char *why)
{
    struct wk_worker *w = ctx;
    char q[QUOTE_MAX];

    if (w->stopping) {
        return;
    }
    if (ready) {
        subscribe_all(w);
    } else if (wk_denied_is(why)) {
        /* Redis refused a subscription, and hiredis drops the connection
         * for it: it is retried with backoff, but said only once. */
        if (!w->sub_denied) {
            wk_log(w->log, WK_LOG_ERROR, "interrupts_unsubscribed",
                   "pattern=%s channel=%s err=\"%s\" hint=\"the worker's Redis user may not "
                   "subscribe (docs/acl.md): raw PUBLISH interrupts are not heard; interrupts "
                   "recorded on the execution (peace interrupt, the scheduler API) are still "
                   "honoured at each lease renewal, and parked executions retry the profile lock "
                   "every lease/2\"",
                   w->interrupt_pattern, w->released_channel, wx_quote(why, q));
            w->sub_denied = true;
        }
    } else if (w->cmd_was_ready) {
        wk_log(w->log, WK_LOG_DEBUG, "redis_down", "conn=sub err=\"%s\"", wx_quote(why, q));
    }
}

/* ------------------------------------------------------------------------ */
/* Draining and signals                                                      */

static bool engines_running(const struct wk_worker *w)
{
    for (const struct wexec *x = w->execs; x != NULL; x = x->next) {
        if (x->engine_running) {
            return true;
        }
    }
    for (const struct wexec *x = w->zombies; x != NULL; x = x->next) {
        if (x->engine_running) {
            return true;
        }
    }
    return false;
}

void wx_check_drained(struct wk_worker *w)
{
    if (w->draining && !engines_running(w) && wk_ops_left(w->ops)) {
        wk_log(w->log, WK_LOG_INFO, "worker_stopped", "consumer=%s", w->consumer);
        (void)event_base_loopexit(w->base, NULL);
    }
}

static void on_ops_left(void *ctx)
{
    struct wk_worker *w = ctx;

    if (!w->stopping) {
        wx_check_drained(w);
    }
}

void wk_worker_stop(struct wk_worker *w)
{
    struct timeval tv;
    struct wexec *next = NULL;

    if (w->draining) {
        return;
    }
    w->draining = true;
    wk_ops_stop(w->ops, on_ops_left, w); /* no longer a live worker */
    wk_log(w->log, WK_LOG_INFO, "worker_draining", "running=%u grace_ms=%u", w->n_active,
           (unsigned)w->cfg->grace_ms);
    /* Executions not running yet stay pending for other workers. */
    for (struct wexec *x = w->execs; x != NULL; x = next) {
        next = x->next;
        if (!x->engine_running) {
            wx_drop(x);
        }
    }
    tv = wx_ms_tv(w->cfg->grace_ms);
    (void)evtimer_add(w->grace_timer, &tv);
    wx_check_drained(w);
}

static void on_grace_timer(evutil_socket_t fd, short what, void *arg)
{
    struct wk_worker *w = arg;

    (void)fd;
    (void)what;
    if (!w->grace_killed) {
        struct timeval tv = wx_ms_tv(GRACE_KILL_MS);

        /* The drain gives up: kill what is left (sh_cmd process groups),
         * give the items a moment to act on it, then leave. */
        w->grace_killed = true;
        wk_log(w->log, WK_LOG_WARN, "grace_expired", "running=%u action=kill", w->n_active);
        for (struct wexec *x = w->execs; x != NULL; x = x->next) {
            if (x->engine_running) {
                pc_exec_interrupt(x->exec, PC_MODE_KILL);
            }
        }
        (void)evtimer_add(w->grace_timer, &tv);
        return;
    }
    wk_log(w->log, WK_LOG_WARN, "grace_kill_expired", "running=%u", w->n_active);
    (void)event_base_loopexit(w->base, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct wk_worker *w = arg;

    (void)what;
    w->signals++;
    if (w->signals > 1) {
        wk_log(w->log, WK_LOG_WARN, "worker_exit_now", "signal=%d", (int)sig);
        (void)event_base_loopexit(w->base, NULL);
        return;
    }
    wk_worker_stop(w);
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */

static int load_types(struct wk_worker *w, struct pc_err *err)
{
    int rc = pc_registry_create(&w->reg, err);

    if (rc == 0) {
        rc = pc_items_register_builtin(w->reg, err);
    }
    for (size_t i = 0; rc == 0 && i < w->cfg->n_plugins; i++) {
        rc = pc_registry_load_plugin(w->reg, w->cfg->plugins[i], err);
        if (rc != 0) {
            pc_err_prefix(err, "--plugin %s", w->cfg->plugins[i]);
        }
    }
    return rc;
}

static int make_names(struct wk_worker *w, const struct wk_worker_opts *o)
{
    const struct wk_config *c = w->cfg;
    char host[256];
    uint32_t rnd = 0;

    if (o->consumer != NULL) {
        if (strlen(o->consumer) >= sizeof(w->consumer)) {
            return PC_EINVAL;
        }
        (void)snprintf(w->consumer, sizeof(w->consumer), "%s", o->consumer);
    } else {
        if (gethostname(host, sizeof(host)) != 0) {
            (void)snprintf(host, sizeof(host), "host");
        }
        host[sizeof(host) - 1] = '\0';
        if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
            rnd = (uint32_t)wx_now_ms(w) ^ (uint32_t)getpid();
        }
        if (wk_consumer_name(host, (long)getpid(), rnd, w->consumer, sizeof(w->consumer)) != 0) {
            return PC_EINVAL;
        }
    }
    if (pc_key_dead(w->dead_key, sizeof(w->dead_key), c->prefix) < 0 ||
        pc_key_interrupt_pattern(w->interrupt_pattern, sizeof(w->interrupt_pattern), c->prefix) <
            0 ||
        pc_key_profiles_released(w->released_channel, sizeof(w->released_channel), c->prefix) < 0) {
        return PC_EINVAL;
    }
    if (pc_redis_url_describe(&c->redis, w->redis_where, sizeof(w->redis_where)) < 0) {
        (void)snprintf(w->redis_where, sizeof(w->redis_where), "?");
    }
    return 0;
}

static int make_conn(struct wk_worker *w, const char *name, pc_redis_state_cb *cb,
                     struct pc_redis_conn **out, struct pc_err *err)
{
    struct pc_redis_conn_opts co;

    memset(&co, 0, sizeof(co));
    co.name = name;
    co.cmd_timeout_ms = w->timing.cmd_timeout_ms;
    co.on_state = cb;
    co.state_ctx = w;
    return pc_redis_conn_create(w->base, &w->cfg->redis, &co, out, err);
}

static int make_queue(struct wk_worker *w, struct pc_err *err)
{
    struct wk_queue_opts qo;

    memset(&qo, 0, sizeof(qo));
    qo.base = w->base;
    qo.url = &w->cfg->redis;
    qo.cmd = w->cmd;
    qo.prefix = w->cfg->prefix;
    qo.queue = w->cfg->queue;
    qo.partitions = w->cfg->partitions > 0 ? w->cfg->partitions : 1;
    qo.consumer = w->consumer;
    qo.group = GROUP;
    qo.lease_ms = w->cfg->lease_ms;
    qo.read_block_ms = w->timing.read_block_ms;
    qo.cmd_timeout_ms = w->timing.cmd_timeout_ms;
    qo.retry_ms = READ_RETRY_MS;
    qo.log = w->log;
    qo.hooks.free_slots = queue_free_slots;
    qo.hooks.may_take = queue_may_take;
    qo.hooks.entries = on_queue_entries;
    qo.hooks.error = on_queue_error;
    qo.hooks.ctx = w;
    return wk_queue_create(&qo, &w->queue, err);
}

static int make_events(struct wk_worker *w, bool signals)
{
    w->renew_timer = event_new(w->base, -1, EV_PERSIST, wx_on_renew_timer, w);
    w->claim_timer = event_new(w->base, -1, EV_PERSIST, on_claim_timer, w);
    w->grace_timer = evtimer_new(w->base, on_grace_timer, w);
    w->escalate_timer = evtimer_new(w->base, wx_on_escalate_timer, w);
    if (w->renew_timer == NULL || w->claim_timer == NULL || w->grace_timer == NULL ||
        w->escalate_timer == NULL) {
        return PC_ENOMEM;
    }
    if (signals) {
        w->sigterm = evsignal_new(w->base, SIGTERM, on_signal, w);
        w->sigint = evsignal_new(w->base, SIGINT, on_signal, w);
        if (w->sigterm == NULL || w->sigint == NULL || event_add(w->sigterm, NULL) != 0 ||
            event_add(w->sigint, NULL) != 0) {
            return PC_ENOMEM;
        }
    }
    return 0;
}

static void ops_gauges(void *ctx, struct wk_ops_gauges *out)
{
    const struct wk_worker *w = ctx;
    unsigned long pending = pc_pool_pending(w->pool);

    size_t len = 0;

    out->running = 0;
    out->execs[0] = '\0';
    for (const struct wexec *x = w->execs; x != NULL; x = x->next) {
        size_t n = strlen(x->id);

        if (!x->engine_running) {
            continue;
        }
        /* The first PC_FOP_EXECS_SHOWN ids, comma-separated (the heartbeat's `execs`). */
        if (out->running < PC_FOP_EXECS_SHOWN && len + n + 2 <= sizeof(out->execs)) {
            if (len > 0) {
                out->execs[len++] = ',';
            }
            memcpy(out->execs + len, x->id, n + 1);
            len += n;
        }
        out->running++;
    }
    out->threads_busy = pending < w->cfg->threads ? pending : w->cfg->threads;
}

static int make_ops(struct wk_worker *w, const struct wk_worker_opts *o, struct pc_err *err)
{
    struct wk_ops_opts oo;

    memset(&oo, 0, sizeof(oo));
    oo.base = w->base;
    oo.cfg = w->cfg;
    oo.conn = w->cmd;
    oo.consumer = w->consumer;
    oo.version = o->version;
    oo.log = w->log;
    oo.now_ms = w->clock.now_ms;
    oo.clock_ctx = w->clock.ctx;
    oo.gauges = ops_gauges;
    oo.gauges_ctx = w;
    return wk_ops_create(&oo, &w->ops, err);
}

int wk_worker_create(const struct wk_worker_opts *o, struct wk_worker **out, struct pc_err *err)
{
    struct wk_worker *w = NULL;
    int rc;

    if (o == NULL || o->cfg == NULL || o->base == NULL || out == NULL) {
        return pc_err_set(err, PC_EINVAL, "worker: missing argument");
    }
    w = calloc(1, sizeof(*w));
    if (w == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    w->cfg = o->cfg;
    w->log = o->log;
    w->base = o->base;
    w->clock = o->clock;
    if (w->clock.now_ms == NULL) {
        w->clock.now_ms = wx_realtime_ms;
    }
    wk_timing_from_lease(w->cfg->lease_ms, &w->timing);
    rc = make_names(w, o);
    if (rc != 0) {
        (void)pc_err_set(err, rc, "a key or consumer name does not fit");
        goto fail;
    }
    rc = load_types(w, err);
    if (rc == 0) {
        rc = wk_policy_init(&w->policy, w->cfg->item_types, w->cfg->file_root, w->reg, err);
    }
    if (rc == 0) {
        rc = pc_pool_create(w->base, w->cfg->threads, &w->pool, err);
    }
    if (rc == 0) {
        rc = pc_scripts_create(&w->scripts, err);
    }
    if (rc == 0 && make_events(w, o->handle_signals) != 0) {
        rc = pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    if (rc == 0) {
        rc = make_conn(w, "cmd", on_cmd_state, &w->cmd, err);
    }
    if (rc == 0) {
        rc = make_queue(w, err);
    }
    if (rc == 0) {
        rc = make_conn(w, "sub", on_sub_state, &w->sub, err);
    }
    if (rc == 0) {
        rc = make_ops(w, o, err);
    }
    if (rc != 0) {
        goto fail;
    }
    *out = w;
    return 0;
fail:
    wk_worker_destroy(w);
    return rc;
}

int wk_worker_run(struct wk_worker *w, struct pc_err *err)
{
    struct timeval wx_renew = wx_ms_tv(w->timing.renew_ms);
    struct timeval claim_tv = wx_ms_tv(w->timing.claim_ms);

    if (event_add(w->renew_timer, &wx_renew) != 0 || event_add(w->claim_timer, &claim_tv) != 0) {
        (void)pc_err_set(err, PC_ENOMEM, "cannot start timers");
        return 1;
    }
    (void)event_base_dispatch(w->base);
    (void)event_del(w->renew_timer);
    (void)event_del(w->claim_timer);
    if (w->startup_failed) {
        (void)pc_err_set(err, PC_EREDIS, "cannot reach Redis at %s: %s", w->redis_where,
                         w->startup_why);
        return 1;
    }
    return 0;
}

bool wk_worker_busy(const struct wk_worker *w)
{
    return w != NULL && engines_running(w);
}

static void free_event(struct event *ev)
{
    if (ev != NULL) {
        event_free(ev);
    }
}

/* Frees a detached list (nothing can reach it any more). */
static void free_all(struct wexec *x)
{
    while (x != NULL) {
        struct wexec *next = x->next;

        wx_wexec_free(x);
        x = next;
    }
}

void wk_worker_destroy(struct wk_worker *w)
{
    if (w == NULL) {
        return;
    }
    w->stopping = true;
    /* Connections first: their pending callbacks run now (with NULL) and
     * may still refer to executions, which are freed after. */
    pc_redis_conn_destroy(w->sub);
    wk_queue_stop(w->queue);
    pc_redis_conn_destroy(w->cmd);
    wk_queue_destroy(w->queue); /* after cmd: its replies refer to the queue */
    wk_ops_destroy(w->ops);
    free_all(w->execs);
    w->execs = NULL;
    free_all(w->zombies);
    w->zombies = NULL;
    pc_pool_destroy(w->pool);
    pc_scripts_destroy(w->scripts);
    pc_registry_destroy(w->reg);
    free_event(w->renew_timer);
    free_event(w->claim_timer);
    free_event(w->grace_timer);
    free_event(w->escalate_timer);
    free_event(w->sigterm);
    free_event(w->sigint);
    free(w);
}
