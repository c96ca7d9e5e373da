/*
 * worker.c - the peace-worker daemon: the life of an execution on Redis.
 *
 * Design (docs/fleet.md is the specification). One event_base drives three
 * connections: `cmd` carries every script and write, pipelined; `read`
 * carries the blocking XREADGROUP, so a read never stalls the pipeline;
 * `sub` hears interrupts (PSUBSCRIBE) and released profile locks.
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
#include "worker/worker.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "peace/exec.h"
#include "peace/items.h"
#include "peace/keys.h"
#include "peace/pool.h"
#include "peace/recorder.h"
#include "peace/redis_conn.h"
#include "peace/scripts.h"
#include "peace/store_redis.h"
#include "worker/denied.h"
#include "worker/gate.h"
#include "worker/logic.h"
#include "worker/ops.h"
#include "worker/policy.h"

#define GROUP          "workers"
#define CONSUMER_MAX   128
#define EVENTS_MAXLEN  10000
#define DEAD_MAXLEN    100000
#define LOCK_VALUE_MAX 128
#define READ_RETRY_MS  1000
#define QUOTE_MAX      300
#define GRACE_KILL_MS  500 /* after a drain gives up: time for items to act on the kill */

enum wx_state {
    WX_STARTING,
    WX_LOCKING,
    WX_PARKED,
    WX_RUNNING,
};

struct wexec {
    struct wk_worker *w;
    struct wexec *prev;
    struct wexec *next;
    enum wx_state state;
    char entry_id[WK_ENTRY_ID_MAX + 1];
    char id[WK_EXEC_ID_MAX + 1];
    struct msg_job job;
    struct pc_exec *exec;
    struct pc_store_redis *store;
    struct pc_recorder *rec;
    struct wk_gate *gate;     /* the engine's executor: the pool, gated */
    struct event *release_ev; /* delivers the gate's held completions */
    bool *tolerate;           /* borrowed by the engine */
    struct pc_buf tolerate_list;
    uint64_t epoch;
    uint64_t attempt;
    char lock_value[LOCK_VALUE_MAX + 1];
    bool needs_lock;
    bool has_lock;
    bool start_long; /* exec_start asked for its long form */
    bool interrupted;
    char reason[MSG_EVENT_REASON_MAX + 1];
    struct pc_escalation esc; /* the interrupt's mode, escalations, deadline */
    uint64_t last_renewed_ms;
    uint64_t last_lock_try_ms;
    unsigned inflight;
    bool renew_in_flight;
    bool lock_in_flight;
    bool lost;
    bool engine_running;
    bool dropped;
};

struct wk_worker {
    const struct wk_config *cfg;
    const struct wk_log *log;
    struct event_base *base;
    struct wk_clock clock;
    struct wk_timing timing;
    char consumer[CONSUMER_MAX];
    char redis_where[PC_REDIS_HOST_MAX + 16];

    char queue_key[PC_KEY_MAX];
    char dead_key[PC_KEY_MAX];
    char interrupt_pattern[PC_KEY_MAX];
    char released_channel[PC_KEY_MAX];

    struct pc_registry *reg;
    struct wk_policy policy; /* --item-types, --file-root */
    struct wk_denied denied; /* ACL denials logged so far */
    bool sub_denied;         /* the subscriptions were refused (logged once) */
    struct pc_pool *pool;
    struct pc_scripts *scripts;
    struct pc_redis_conn *cmd;
    struct pc_redis_conn *read;
    struct pc_redis_conn *sub;

    struct wexec *execs; /* active (not dropped) executions */
    unsigned n_active;
    struct wexec *zombies; /* dropped, waiting for replies or the engine */

    bool cmd_was_ready;
    bool cmd_down; /* down since the last ready (logged once) */
    bool startup_failed;
    char startup_why[PC_ERR_MSG_MAX];
    bool group_ready;
    bool group_creating;
    bool reading;
    bool claiming;
    char claim_cursor[WK_ENTRY_ID_MAX + 1];
    bool draining;
    bool stopping; /* tearing down: send nothing */

    struct wk_ops *ops; /* heartbeat and metrics (ops.h) */

    struct event *renew_timer;
    struct event *claim_timer;
    struct event *read_retry_timer;
    struct event *grace_timer;
    bool grace_killed;            /* the drain gave up: running items were killed */
    struct event *escalate_timer; /* the next cancel deadline of any execution */
    struct event *sigterm;
    struct event *sigint;
    unsigned signals;
};

static void maybe_read(struct wk_worker *w);
static void try_lock(struct wexec *x);
static void release_unused_lock(struct wexec *x);
static void park(struct wexec *x);
static void run_exec(struct wexec *x);
static void drop(struct wexec *x);
static void check_drained(struct wk_worker *w);
static void send_start(struct wexec *x);

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */

static uint64_t realtime_ms(void *ctx)
{
    struct timespec ts;

    (void)ctx;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t realtime_us(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t now_ms(const struct wk_worker *w)
{
    return w->clock.now_ms(w->clock.ctx);
}

static struct timeval ms_tv(uint32_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000u), (suseconds_t)((ms % 1000u) * 1000u)};

    return tv;
}

static const char *quote(const char *text, char *buf)
{
    return wk_log_quote(text, buf, QUOTE_MAX);
}

static unsigned free_slots(const struct wk_worker *w)
{
    return w->n_active < w->cfg->concurrency ? w->cfg->concurrency - w->n_active : 0;
}

static bool can_send(const struct wk_worker *w)
{
    return !w->stopping;
}

/* A reply callback that only needs to exist (fire-and-forget writes). */
/* An ACL denial in reply: logged once per operation (docs/acl.md). */
static void note_denied(struct wk_worker *w, const char *what, const redisReply *reply)
{
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        (void)wk_denied_note(&w->denied, w->log, what, reply->str);
    }
}

static void on_ignored_reply(void *arg, const redisReply *reply)
{
    struct wk_worker *w = arg;
    char text[160];

    note_denied(w, "a write (interrupt marker, XACK, XDEL, XGROUP CREATECONSUMER)", reply);
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        pc_redis_reply_text(reply, text, sizeof(text));
        wk_log(w->log, WK_LOG_DEBUG, "write_failed", "err=\"%s\"", text);
    }
}

static void add_exec_keys(struct pc_redis_args *a, const struct wk_worker *w, const char *id,
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
static void ack_entry(struct wk_worker *w, const char *entry_id)
{
    const char *argv[4] = {"XACK", w->queue_key, GROUP, entry_id};
    const char *del[3] = {"XDEL", w->queue_key, entry_id};
    size_t lens[4];
    size_t del_lens[3];

    if (!can_send(w)) {
        return;
    }
    for (int i = 0; i < 4; i++) {
        lens[i] = strlen(argv[i]);
    }
    for (int i = 0; i < 3; i++) {
        del_lens[i] = strlen(del[i]);
    }
    if (pc_redis_cmd(w->cmd, 4, argv, lens, 0, on_ignored_reply, w) != 0 ||
        pc_redis_cmd(w->cmd, 3, del, del_lens, 0, on_ignored_reply, w) != 0) {
        wk_log(w->log, WK_LOG_WARN, "ack_failed", "entry=%s err=\"cannot send\"", entry_id);
    }
}

/* ------------------------------------------------------------------------ */
/* Rejections: exec_reject -> XADD dead -> XACK, each after the previous    */

struct rejection {
    struct wk_worker *w;
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

    note_denied(w, "XADD peace:dead", reply);
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        /* Not acknowledged: the entry stays pending and is retried. */
        pc_redis_reply_text(reply, text, sizeof(text));
        wk_log(w->log, WK_LOG_WARN, "dead_letter_failed", "entry=%s exec=%s err=\"%s\"",
               rj->entry_id, rj->exec_id[0] ? rj->exec_id : "-", text);
    } else {
        ack_entry(w, rj->entry_id);
    }
    rejection_free(rj);
}

static void send_dead(struct rejection *rj)
{
    struct wk_worker *w = rj->w;
    struct pc_redis_args a;

    if (!can_send(w)) {
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

    note_denied(rj->w, "script exec_reject", reply);
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
static void reject(struct wk_worker *w, const struct wk_entry *e, const char *exec_id,
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
           exec_id[0] ? exec_id : "-", quote(reason, q));
    if (!can_send(w)) {
        return;
    }
    rj = calloc(1, sizeof(*rj));
    if (rj == NULL) {
        return;
    }
    rj->w = w;
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
    add_exec_keys(&a, w, exec_id, false, true);
    pc_redis_args_addu64(&a, now_ms(w));
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
static void give_up(struct wk_worker *w, const struct wexec *x, const char *reason)
{
    struct rejection *rj = NULL;
    struct pc_buf b;

    if (!can_send(w)) {
        return;
    }
    rj = calloc(1, sizeof(*rj));
    if (rj == NULL) {
        return;
    }
    rj->w = w;
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

/* ------------------------------------------------------------------------ */
/* Executions: lifetime                                                      */

static void wexec_free(struct wexec *x)
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

static void list_push(struct wexec **head, struct wexec *x)
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
        wexec_free(x);
    }
}

/* Leaves the worker's active set; freed once nothing refers to it. */
static void drop(struct wexec *x)
{
    struct wk_worker *w = x->w;

    if (x->dropped) {
        return;
    }
    x->dropped = true;
    list_remove(&w->execs, x);
    w->n_active--;
    list_push(&w->zombies, x);
    maybe_free(x);
    if (!w->stopping) {
        maybe_read(w);
        check_drained(w);
    }
}

/* One reply referring to x arrived; returns false when x was dropped
 * meanwhile (the caller must not use it further). */
static bool call_returned(struct wexec *x)
{
    x->inflight--;
    if (x->dropped || x->w->stopping) {
        maybe_free(x);
        return false;
    }
    return true;
}

static struct wexec *find_exec(struct wk_worker *w, const char *id, const char *entry_id)
{
    for (struct wexec *x = w->execs; x != NULL; x = x->next) {
        if ((id != NULL && strcmp(x->id, id) == 0) ||
            (entry_id != NULL && strcmp(x->entry_id, entry_id) == 0)) {
            return x;
        }
    }
    return NULL;
}

/* The execution is no longer ours: stop writing it, never ack it. */
static void lose(struct wexec *x, const char *why)
{
    char q[QUOTE_MAX];

    if (x->lost) {
        return;
    }
    x->lost = true;
    wk_log(x->w->log, WK_LOG_WARN, "exec_lost", "exec=%s entry=%s epoch=%llu err=\"%s\"", x->id,
           x->entry_id, (unsigned long long)x->epoch, quote(why, q));
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
    drop(x);
}

/* ------------------------------------------------------------------------ */
/* Interrupts                                                                */

static void latch_interrupt(struct wexec *x, const char *reason, size_t len)
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
           quote(x->reason, q), (unsigned long long)realtime_us());
    /* finish_current starts nothing once interrupted: a parked execution
     * can end at once, without the profile lock (it will write nothing). */
    if (x->state == WX_PARKED && x->job.strategy.kind == PC_STRATEGY_FINISH_CURRENT) {
        run_exec(x);
    }
}

static void mark_interrupt(struct wk_worker *w, const char *id, const char *reason, size_t len,
                           const struct pc_interrupt_req *r, const struct pc_escalation *esc);

static void arm_escalation(struct wk_worker *w)
{
    uint64_t next = 0;
    uint64_t now = now_ms(w);
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
    tv = ms_tv(next > now ? (unsigned)(next - now < 86400000u ? next - now : 86400000u) : 0);
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
    mark_interrupt(w, x->id, x->reason, strlen(x->reason), r, &x->esc);
    arm_escalation(w);
    /* A kill stops whatever the strategy: a parked execution ends now. */
    if (x->state == WX_PARKED && x->esc.mode == PC_MODE_KILL) {
        run_exec(x);
    }
}

/* A request heard on the channel (each message is one request). */
static void interrupt_request(struct wexec *x, const char *payload, size_t len)
{
    struct pc_interrupt_req r;
    bool rose = false;

    pc_interrupt_payload_parse(payload, len, &r);
    rose = pc_escalation_request(&x->esc, &r, now_ms(x->w));
    latch_interrupt(x, r.reason, r.reason_len);
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
    rose = pc_escalation_at_least(&x->esc, r.mode, r.has_deadline, r.deadline_ms, now_ms(x->w));
    latch_interrupt(x, reason, len);
    if (rose && !x->dropped) {
        mode_rose(x, &r);
    }
}

static void on_escalate_timer(evutil_socket_t fd, short what, void *arg)
{
    struct wk_worker *w = arg;
    uint64_t now = now_ms(w);
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
static void mark_interrupt(struct wk_worker *w, const char *id, const char *reason, size_t len,
                           const struct pc_interrupt_req *r, const struct pc_escalation *esc)
{
    struct pc_redis_args a;

    if (!can_send(w)) {
        return;
    }
    pc_redis_args_init(&a);
    add_exec_keys(&a, w, id, false, false);
    pc_redis_args_addu64(&a, now_ms(w));
    pc_redis_args_add(&a, reason, len < MSG_EVENT_REASON_MAX ? len : MSG_EVENT_REASON_MAX);
    pc_redis_args_addz(&a, pc_interrupt_mode_name(esc != NULL ? esc->mode : r->mode));
    pc_redis_args_addu64(&a, r->has_deadline ? r->deadline_ms : PC_INTERRUPT_DEADLINE_DEFAULT_MS);
    if (esc != NULL) {
        pc_redis_args_addu64(&a, esc->latched_ms);
        pc_redis_args_addu64(&a, esc->escalations);
    }
    if (pc_script_run(w->scripts, w->cmd, PC_SCRIPT_EXEC_MARK_INTERRUPT, 1, &a, 0, on_ignored_reply,
                      w) != 0) {
        wk_log(w->log, WK_LOG_WARN, "mark_failed", "exec=%s err=\"cannot send\"", id);
    }
}

/* ------------------------------------------------------------------------ */
/* Renewal                                                                   */

static void on_lock_renew_reply(void *arg, const redisReply *reply)
{
    struct wexec *x = arg;

    note_denied(x->w, "script lock_renew", reply);
    if (!call_returned(x)) {
        return;
    }
    if (reply != NULL && reply->type == REDIS_REPLY_INTEGER && reply->integer == 0) {
        lose(x, "the profile lock expired and is no longer held by this execution");
    }
}

static void on_xclaim_reply(void *arg, const redisReply *reply)
{
    struct wexec *x = arg;

    note_denied(x->w, "XCLAIM", reply);
    (void)call_returned(x);
}

static void after_renewed(struct wexec *x)
{
    struct wk_worker *w = x->w;
    const char *argv[7] = {"XCLAIM", w->queue_key, GROUP, w->consumer, "0", x->entry_id, "JUSTID"};
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
    note_denied(x->w, "script exec_renew", reply);
    if (!call_returned(x)) {
        return;
    }
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR || wk_renew_parse(reply, &r, NULL) != 0) {
        pc_redis_reply_text(reply, text, sizeof(text));
        wk_log(x->w->log, WK_LOG_WARN, "renew_failed", "exec=%s err=\"%s\"", x->id, text);
        if (x->state == WX_RUNNING) {
            /* A running execution cannot prove it still owns the execution:
             * it stops here rather than go on changing the world. */
            lose(x, "the lease renewal failed");
        }
        /* Otherwise retried next period; a whole lease without success
         * loses it. */
        return;
    }
    if (r.fenced) {
        lose(x, "another attempt owns the execution (lease epoch changed)");
        return;
    }
    x->last_renewed_ms = now_ms(x->w);
    after_renewed(x);
    if (r.interrupt_requested_ms != 0 && !x->dropped) {
        interrupt_marker(x, r.interrupt_reason, r.interrupt_reason_len, r.interrupt_mode,
                         r.interrupt_mode_len, r.interrupt_deadline_ms);
    }
}

static void renew(struct wexec *x)
{
    struct wk_worker *w = x->w;
    struct pc_redis_args a;
    uint64_t now = now_ms(w);

    if (x->dropped || x->lost || x->epoch == 0 || x->renew_in_flight || !can_send(w)) {
        return;
    }
    if (wk_lease_lost(x->last_renewed_ms, now, w->cfg->lease_ms)) {
        lose(x, "no lease renewal succeeded for a whole lease");
        return;
    }
    pc_redis_args_init(&a);
    add_exec_keys(&a, w, x->id, false, false);
    pc_redis_args_addu64(&a, x->epoch);
    pc_redis_args_addu64(&a, wk_lease_until(now, w->cfg->lease_ms));
    if (pc_script_run(w->scripts, w->cmd, PC_SCRIPT_EXEC_RENEW, 1, &a, 0, on_renew_reply, x) == 0) {
        x->inflight++;
        x->renew_in_flight = true;
    }
}

static void renew_all(struct wk_worker *w)
{
    struct wexec *next = NULL;

    for (struct wexec *x = w->execs; x != NULL; x = next) {
        next = x->next; /* renew may drop x */
        renew(x);
    }
}

static void on_renew_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    renew_all(arg);
}

/* ------------------------------------------------------------------------ */
/* Running                                                                   */

static void on_apply_recorded(void *ctx, int rc)
{
    struct wexec *x = ctx;

    if (!call_returned(x)) {
        return;
    }
    if (rc != 0 || x->lost) {
        lose(x, "the start of the apply block could not be recorded");
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
    if ((kind != PC_BLOCK_APPLY_ENSURE && kind != PC_BLOCK_APPLY_CLEAN) || x->lost) {
        return;
    }
    /* No item applies before Redis holds the block start: the next
     * attempt's guard relies on it (wk_tolerate). The checks run meanwhile;
     * their completions, which submit the applies, wait at the gate. */
    wk_gate_close(x->gate);
    if (pc_recorder_sync(x->rec, on_apply_recorded, x) == 0) {
        x->inflight++;
    } else {
        lose(x, "the start of the apply block could not be sent");
    }
}

static void on_release(evutil_socket_t fd, short what, void *arg)
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
    lose(x, why);
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

static const struct pc_exec_observer_ops wexec_observer = {
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
               x->id, x->entry_id, o != NULL ? pc_outcome_kind_name(o->kind) : "?", quote(why, q));
    }
    if (x->dropped) {
        maybe_free(x);
        return;
    }
    drop(x);
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
    char started[24];
    const char *first_meta[6] = {"status", "running",       "started_ms",
                                 started,  "sync_tolerate", pc_buf_str(&x->tolerate_list)};

    memset(&ro, 0, sizeof(ro));
    ro.base = w->base;
    ro.conn = w->cmd;
    ro.scripts = w->scripts;
    ro.prefix = w->cfg->prefix;
    ro.exec_id = x->id;
    ro.queue = w->cfg->queue;
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
    ro.first_meta = first_meta;
    /* started_ms is when the engine starts: time parked behind another
     * execution's profile lock is queue time, not run time. */
    (void)snprintf(started, sizeof(started), "%llu", (unsigned long long)now_ms(w));
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

static void run_exec(struct wexec *x)
{
    struct wk_worker *w = x->w;
    struct pc_err err;
    char q[QUOTE_MAX];

    if (w->draining) {
        /* Not started: it stays pending for another worker. */
        drop(x);
        return;
    }
    pc_err_clear(&err);
    if ((x->has_lock && pc_store_redis_set_lock(x->store, x->lock_value) != 0) ||
        make_recorder(x, &err) != 0) {
        wk_log(w->log, WK_LOG_ERROR, "exec_setup_failed", "exec=%s err=\"%s\"", x->id,
               quote(err.msg, q));
        drop(x);
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

/* ------------------------------------------------------------------------ */
/* Profile lock                                                              */

static void on_lock_reply(void *arg, const redisReply *reply)
{
    struct wexec *x = arg;
    bool acquired = false;
    const char *holder = NULL;
    size_t holder_len = 0;
    char text[160];

    x->lock_in_flight = false;
    note_denied(x->w, "script lock_acquire", reply);
    if (x->dropped && !x->w->stopping && reply != NULL &&
        wk_lock_parse(reply, &acquired, &holder, &holder_len, NULL) == 0 && acquired) {
        release_unused_lock(x); /* let go meanwhile (drain): give the lock back */
    }
    if (!call_returned(x)) {
        return;
    }
    if (x->state == WX_RUNNING) {
        /* Started meanwhile without the lock (interrupted while parked):
         * give back a lock this reply may have granted. */
        if (reply != NULL && wk_lock_parse(reply, &acquired, &holder, &holder_len, NULL) == 0 &&
            acquired) {
            release_unused_lock(x);
        }
        return;
    }
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR ||
        wk_lock_parse(reply, &acquired, &holder, &holder_len, NULL) != 0) {
        pc_redis_reply_text(reply, text, sizeof(text));
        wk_log(x->w->log, WK_LOG_WARN, "lock_failed", "exec=%s err=\"%s\"", x->id, text);
        /* Parked: retried at the next retry time. */
        x->state = WX_PARKED;
        return;
    }
    if (acquired) {
        x->has_lock = true;
        run_exec(x);
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

static void release_unused_lock(struct wexec *x)
{
    struct wk_worker *w = x->w;
    struct pc_redis_args a;
    char lock[PC_KEY_MAX];
    char tag[2 * PC_ID_MAX + 2];

    if (!can_send(w) || pc_key_lock(lock, sizeof(lock), w->cfg->prefix, x->job.flow.app.s,
                                    x->job.flow.profile.s) < 0) {
        return;
    }
    (void)snprintf(tag, sizeof(tag), "%s:%s", x->job.flow.app.s, x->job.flow.profile.s);
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, lock);
    pc_redis_args_addz(&a, x->lock_value);
    pc_redis_args_addz(&a, w->released_channel); /* parked executions retry at once */
    pc_redis_args_addz(&a, tag);
    if (pc_script_run(w->scripts, w->cmd, PC_SCRIPT_LOCK_RELEASE, 1, &a, 0, on_ignored_reply, w) !=
        0) {
        wk_log(w->log, WK_LOG_WARN, "unlock_failed", "exec=%s err=\"cannot send\"", x->id);
    }
}

/* Back to `queued` in the meta: it waits, it does not run. */
static void park(struct wexec *x)
{
    struct wk_worker *w = x->w;
    struct pc_redis_args a;

    if (!can_send(w)) {
        return;
    }
    pc_redis_args_init(&a);
    add_exec_keys(&a, w, x->id, false, false);
    pc_redis_args_addu64(&a, x->epoch);
    if (pc_script_run(w->scripts, w->cmd, PC_SCRIPT_EXEC_PARK, 1, &a, 0, on_ignored_reply, w) !=
        0) {
        wk_log(w->log, WK_LOG_WARN, "park_failed", "exec=%s err=\"cannot send\"", x->id);
    }
}

static void try_lock(struct wexec *x)
{
    struct wk_worker *w = x->w;
    struct pc_redis_args a;
    char lock[PC_KEY_MAX];

    if (x->lock_in_flight || !can_send(w) ||
        pc_key_lock(lock, sizeof(lock), w->cfg->prefix, x->job.flow.app.s, x->job.flow.profile.s) <
            0) {
        return;
    }
    x->last_lock_try_ms = now_ms(w);
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, lock);
    pc_redis_args_addz(&a, x->id);
    pc_redis_args_addz(&a, x->lock_value);
    pc_redis_args_addu64(&a, w->cfg->lease_ms);
    if (pc_script_run(w->scripts, w->cmd, PC_SCRIPT_LOCK_ACQUIRE, 1, &a, 0, on_lock_reply, x) ==
        0) {
        x->inflight++;
        x->lock_in_flight = true;
        if (x->state != WX_PARKED) {
            x->state = WX_LOCKING;
        }
    }
}

static void retry_parked(struct wk_worker *w, const char *profile_tag, size_t tag_len, bool forced)
{
    struct wexec *next = NULL;
    uint64_t now = now_ms(w);
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

static size_t progress_kv(const redisReply *arr, struct wk_kv **out)
{
    size_t n = 0;
    struct wk_kv *kv = NULL;

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
        kv[n].k = k->str;
        kv[n].kn = k->len;
        kv[n].v = v->str;
        kv[n].vn = v->len;
        n++;
    }
    *out = kv;
    return n;
}

static void started(struct wexec *x, const struct wk_start *s)
{
    struct wk_worker *w = x->w;
    struct wk_kv *kv = NULL;
    size_t n_kv = 0;
    long tolerated;

    x->epoch = s->epoch;
    x->attempt = s->attempt;
    x->last_renewed_ms = now_ms(w);
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
        latch_interrupt(x, s->interrupt_reason, s->interrupt_reason_len);
    }
    if (x->state == WX_RUNNING) {
        return; /* latch_interrupt cannot start it from here, but be safe */
    }
    if (x->needs_lock && !(x->interrupted && x->job.strategy.kind == PC_STRATEGY_FINISH_CURRENT)) {
        try_lock(x);
        return;
    }
    run_exec(x);
}

static void on_start_reply(void *arg, const redisReply *reply)
{
    struct wexec *x = arg;
    struct wk_worker *w = x->w;
    struct wk_start s;
    struct pc_err err;
    char text[160];
    char reason[96];

    if (!call_returned(x)) {
        return;
    }
    pc_err_clear(&err);
    note_denied(w, "script exec_start", reply);
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR || wk_start_parse(reply, &s, &err) != 0) {
        pc_redis_reply_text(reply, text, sizeof(text));
        wk_log(w->log, WK_LOG_WARN, "start_failed", "exec=%s entry=%s err=\"%s\"", x->id,
               x->entry_id, err.msg[0] ? err.msg : text);
        drop(x);
        return;
    }
    switch (s.kind) {
    case WK_START_FINISHED:
        wk_log(w->log, WK_LOG_INFO, "already_finished", "exec=%s entry=%s", x->id, x->entry_id);
        ack_entry(w, x->entry_id);
        drop(x);
        return;
    case WK_START_EXHAUSTED:
        (void)snprintf(reason, sizeof(reason), "gave up after %u attempts", w->cfg->max_attempts);
        wk_log(w->log, WK_LOG_WARN, "exec_gave_up", "exec=%s entry=%s err=\"%s\"", x->id,
               x->entry_id, reason);
        give_up(w, x, reason);
        drop(x);
        return;
    case WK_START_MORE:
        if (x->start_long) {
            wk_log(w->log, WK_LOG_WARN, "start_failed", "exec=%s entry=%s err=\"%s\"", x->id,
                   x->entry_id, "exec_start asked for more than its long form");
            drop(x);
            return;
        }
        x->start_long = true;
        send_start(x);
        return;
    case WK_START_STARTED:
    default:
        started(x, &s);
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
    uint64_t now = now_ms(w);
    char reason[96];

    pc_redis_args_init(&a);
    add_exec_keys(&a, w, x->id, true, true);
    pc_redis_args_addz(&a, w->consumer);
    pc_redis_args_addu64(&a, now);
    pc_redis_args_addu64(&a, wk_lease_until(now, w->cfg->lease_ms));
    pc_redis_args_addu64(&a, w->cfg->max_attempts);
    pc_redis_args_addu64(&a, w->cfg->retention_s);
    pc_redis_args_addu64(&a, EVENTS_MAXLEN);
    pc_recorder_initial_progress(&x->job.flow, &a);
    if (!x->start_long) {
        if (pc_script_run(w->scripts, w->cmd, PC_SCRIPT_EXEC_START, 3, &a, 0, on_start_reply, x) ==
            0) {
            x->inflight++;
            return;
        }
        wk_log(w->log, WK_LOG_WARN, "start_failed", "exec=%s entry=%s err=\"cannot send\"", x->id,
               x->entry_id);
        drop(x);
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
    if (pc_script_run(w->scripts, w->cmd, PC_SCRIPT_EXEC_START, 3, &a, 0, on_start_reply, x) == 0) {
        x->inflight++;
        return;
    }
    wk_log(w->log, WK_LOG_WARN, "start_failed", "exec=%s entry=%s err=\"cannot send\"", x->id,
           x->entry_id);
    drop(x);
}

/* A states write was fenced (the profile lock was lost) or got no reply:
 * the execution is no longer ours (another attempt finishes it), whatever
 * the engine reports. */
static void on_store_fenced(void *ctx, const char *why)
{
    struct wexec *x = ctx;

    /* Only a running engine writes states; lose() then never frees x. */
    if (x->state == WX_RUNNING && x->rec != NULL) {
        lose(x, why);
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
    x->release_ev = event_new(w->base, -1, 0, on_release, x);
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
    env.observer = &wexec_observer;
    env.observer_ctx = x;
    env.file_root = w->policy.file_root[0] != '\0' ? w->policy.file_root : NULL;
    return wk_exec_setup(&x->job, &env, x->tolerate, &x->exec, reason, reason_size);
}

static void handle_entry(struct wk_worker *w, const redisReply *entry)
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
    if (find_exec(w, NULL, e.id) != NULL) {
        return; /* ours already (a takeover of our own entry) */
    }
    if (e.exec_id[0] == '\0') {
        reject(w, &e, "", NULL, "the queue entry has no usable exec field");
        return;
    }
    if (find_exec(w, e.exec_id, NULL) != NULL) {
        wk_log(w->log, WK_LOG_WARN, "duplicate_entry", "exec=%s entry=%s", e.exec_id, e.id);
        return;
    }
    x = calloc(1, sizeof(*x));
    if (x == NULL) {
        return;
    }
    x->w = w;
    pc_buf_init(&x->tolerate_list, 1u << 20);
    (void)snprintf(x->entry_id, sizeof(x->entry_id), "%s", e.id);
    (void)snprintf(x->id, sizeof(x->id), "%s", e.exec_id);
    if (wk_job_accept(&e, w->reg, &x->job, reason, sizeof(reason)) != 0) {
        reject(w, &e, e.exec_id, NULL, reason);
        wexec_free(x);
        return;
    }
    if (wk_policy_check(&w->policy, &x->job.flow, reason, sizeof(reason)) != 0) {
        wk_log(w->log, WK_LOG_WARN, "job_refused", "exec=%s entry=%s reason=\"%s\"", e.exec_id,
               e.id, quote(reason, q));
        reject(w, &e, e.exec_id, &x->job, reason);
        wexec_free(x);
        return;
    }
    rc = wexec_setup(x, reason, sizeof(reason));
    if (rc != 0) {
        if (rc != PC_EINVAL) {
            wexec_free(x); /* not the job's fault: leave it pending */
            return;
        }
        reject(w, &e, e.exec_id, &x->job, reason);
        wexec_free(x);
        return;
    }
    x->needs_lock = pc_cmd_needs_profile_lock(x->job.cmd);
    x->state = WX_STARTING;
    list_push(&w->execs, x);
    w->n_active++;
    wk_log(w->log, WK_LOG_DEBUG, "entry_received", "exec=%s entry=%s cmd=%s", x->id, x->entry_id,
           quote(pc_cmd_name(x->job.cmd), q));
    send_start(x);
}

/* ------------------------------------------------------------------------ */
/* Reading and claiming                                                      */

static void handle_entries(struct wk_worker *w, const redisReply *entries)
{
    if (entries == NULL || entries->type != REDIS_REPLY_ARRAY) {
        return;
    }
    for (size_t i = 0; i < entries->elements; i++) {
        handle_entry(w, entries->element[i]);
    }
}

static void ensure_group(struct wk_worker *w);

static void schedule_read_retry(struct wk_worker *w)
{
    struct timeval tv = ms_tv(READ_RETRY_MS);

    (void)evtimer_add(w->read_retry_timer, &tv);
}

static void on_read_reply(void *arg, const redisReply *reply)
{
    struct wk_worker *w = arg;
    char text[160];

    w->reading = false;
    if (w->stopping) {
        return;
    }
    if (reply == NULL) {
        return; /* the read connection went away; reading resumes when it is back */
    }
    if (pc_redis_reply_is_error(reply, "NOGROUP")) {
        w->group_ready = false;
        ensure_group(w);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        pc_redis_reply_text(reply, text, sizeof(text));
        if (!wk_denied_note(&w->denied, w->log, "XREADGROUP", reply->str)) {
            wk_log(w->log, WK_LOG_WARN, "read_failed", "err=\"%s\"", text);
        }
        schedule_read_retry(w);
        return;
    }
    if (reply->type == REDIS_REPLY_ARRAY) {
        for (size_t s = 0; s < reply->elements; s++) {
            const redisReply *stream = reply->element[s];

            if (stream->type == REDIS_REPLY_ARRAY && stream->elements == 2) {
                handle_entries(w, stream->element[1]);
            }
        }
    }
    maybe_read(w);
}

static void maybe_read(struct wk_worker *w)
{
    struct pc_redis_args a;
    unsigned n = free_slots(w);

    /* No reading while the command connection is down: an entry read then
     * could not be started, and would wait a whole lease to be claimed. */
    if (w->reading || w->draining || w->stopping || !w->group_ready || n == 0 ||
        !pc_redis_conn_ready(w->read) || !pc_redis_conn_ready(w->cmd) ||
        evtimer_pending(w->read_retry_timer, NULL)) {
        return;
    }
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, "XREADGROUP");
    pc_redis_args_addz(&a, "GROUP");
    pc_redis_args_addz(&a, GROUP);
    pc_redis_args_addz(&a, w->consumer);
    pc_redis_args_addz(&a, "COUNT");
    pc_redis_args_addu64(&a, n);
    pc_redis_args_addz(&a, "BLOCK");
    pc_redis_args_addu64(&a, w->timing.read_block_ms);
    pc_redis_args_addz(&a, "STREAMS");
    pc_redis_args_addz(&a, w->queue_key);
    pc_redis_args_addz(&a, ">");
    if (pc_redis_cmd_args(w->read, &a, w->timing.read_block_ms + w->timing.cmd_timeout_ms,
                          on_read_reply, w) == 0) {
        w->reading = true;
    }
    pc_redis_args_cleanup(&a);
}

static void on_read_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    maybe_read(arg);
}

static void on_claim_reply(void *arg, const redisReply *reply)
{
    struct wk_worker *w = arg;

    w->claiming = false;
    note_denied(w, "XAUTOCLAIM", reply);
    if (w->stopping || reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2) {
        return;
    }
    if (reply->element[0]->type == REDIS_REPLY_STRING && reply->element[0]->len > 0 &&
        reply->element[0]->len < sizeof(w->claim_cursor)) {
        memcpy(w->claim_cursor, reply->element[0]->str, reply->element[0]->len);
        w->claim_cursor[reply->element[0]->len] = '\0';
    }
    if (reply->element[1]->type == REDIS_REPLY_ARRAY && reply->element[1]->elements > 0) {
        wk_log(w->log, WK_LOG_INFO, "entries_claimed", "count=%zu", reply->element[1]->elements);
        handle_entries(w, reply->element[1]);
    }
}

static void claim(struct wk_worker *w)
{
    struct pc_redis_args a;
    unsigned n = free_slots(w);

    if (w->claiming || w->draining || w->stopping || !w->group_ready || n == 0 ||
        !pc_redis_conn_ready(w->cmd)) {
        return;
    }
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, "XAUTOCLAIM");
    pc_redis_args_addz(&a, w->queue_key);
    pc_redis_args_addz(&a, GROUP);
    pc_redis_args_addz(&a, w->consumer);
    pc_redis_args_addu64(&a, w->cfg->lease_ms);
    pc_redis_args_addz(&a, w->claim_cursor);
    pc_redis_args_addz(&a, "COUNT");
    pc_redis_args_addu64(&a, n);
    if (pc_redis_cmd_args(w->cmd, &a, 0, on_claim_reply, w) == 0) {
        w->claiming = true;
    }
    pc_redis_args_cleanup(&a);
}

static void on_claim_timer(evutil_socket_t fd, short what, void *arg)
{
    struct wk_worker *w = arg;

    (void)fd;
    (void)what;
    claim(w);
    retry_parked(w, NULL, 0, false);
}

/* Makes this worker visible in XINFO CONSUMERS from the start (Redis
 * creates a consumer only when it first receives an entry otherwise). */
static void announce_consumer(struct wk_worker *w)
{
    const char *argv[5] = {"XGROUP", "CREATECONSUMER", w->queue_key, GROUP, w->consumer};
    size_t lens[5];

    for (int i = 0; i < 5; i++) {
        lens[i] = strlen(argv[i]);
    }
    if (pc_redis_cmd(w->cmd, 5, argv, lens, 0, on_ignored_reply, w) != 0) {
        wk_log(w->log, WK_LOG_DEBUG, "announce_failed", "consumer=%s", w->consumer);
    }
}

static void on_group_reply(void *arg, const redisReply *reply)
{
    struct wk_worker *w = arg;
    char text[160];

    w->group_creating = false;
    if (w->stopping || reply == NULL) {
        return; /* retried when the connection is back */
    }
    if (reply->type == REDIS_REPLY_ERROR && !pc_redis_reply_is_error(reply, "BUSYGROUP")) {
        pc_redis_reply_text(reply, text, sizeof(text));
        note_denied(w, "XGROUP CREATE", reply);
        wk_log(w->log, WK_LOG_ERROR, "group_failed", "stream=%s err=\"%s\"", w->queue_key, text);
        schedule_read_retry(w);
        return;
    }
    w->group_ready = true;
    announce_consumer(w);
    maybe_read(w);
    claim(w);
}

static void ensure_group(struct wk_worker *w)
{
    /* Created at the stream's start ("0"), so jobs queued before any worker
     * ever ran are not skipped; BUSYGROUP means it exists already. */
    const char *argv[6] = {"XGROUP", "CREATE", w->queue_key, GROUP, "0", "MKSTREAM"};
    size_t lens[6];

    if (w->group_creating || !can_send(w)) {
        return;
    }
    for (int i = 0; i < 6; i++) {
        lens[i] = strlen(argv[i]);
    }
    if (pc_redis_cmd(w->cmd, 6, argv, lens, 0, on_group_reply, w) == 0) {
        w->group_creating = true;
    }
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
        renew_all(w);
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
    x = find_exec(w, id, NULL);
    if (x != NULL) {
        /* Latched even while starting: the engine holds it until it starts. */
        interrupt_request(x, payload->str, payload->len);
        return; /* the owner marks it, with the mode in effect */
    }
    {
        struct pc_interrupt_req r;

        pc_interrupt_payload_parse(payload->str, payload->len, &r);
        mark_interrupt(w, id, r.reason, r.reason_len, &r, NULL);
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
        retry_parked(w, reply->element[2]->str, reply->element[2]->len, false);
    } else {
        retry_parked(w, NULL, 0, true); /* subscribed: releases may have been missed */
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
            lose(x, why);
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
               "conn=cmd err=\"%s\"", quote(why, q));
        w->cmd_down = true;
        lose_running(w, "the connection to Redis was lost");
        return;
    }
    w->cmd_down = false;
    if (!w->cmd_was_ready) {
        wk_log(w->log, WK_LOG_INFO, "worker_started",
               "consumer=%s redis=%s prefix=%s queue=%s concurrency=%u threads=%u lease_ms=%u "
               "item_types=%s file_root=\"%s\"",
               w->consumer, w->redis_where, w->cfg->prefix, w->cfg->queue, w->cfg->concurrency,
               w->cfg->threads, (unsigned)w->cfg->lease_ms,
               w->policy.all_types ? "all" : w->policy.item_types_text,
               quote(w->policy.file_root, q));
    } else {
        wk_log(w->log, WK_LOG_INFO, "redis_up", "conn=cmd");
    }
    w->cmd_was_ready = true;
    pc_scripts_load(w->scripts, w->cmd);
    ensure_group(w);
    renew_all(w);
}

static void on_read_state(void *ctx, bool ready, const char *why)
{
    struct wk_worker *w = ctx;
    char q[QUOTE_MAX];

    if (w->stopping) {
        return;
    }
    if (ready) {
        maybe_read(w);
    } else if (w->cmd_was_ready) {
        wk_log(w->log, WK_LOG_DEBUG, "redis_down", "conn=read err=\"%s\"", quote(why, q));
    }
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
                   w->interrupt_pattern, w->released_channel, quote(why, q));
            w->sub_denied = true;
        }
    } else if (w->cmd_was_ready) {
        wk_log(w->log, WK_LOG_DEBUG, "redis_down", "conn=sub err=\"%s\"", quote(why, q));
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

static void check_drained(struct wk_worker *w)
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
        check_drained(w);
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
            drop(x);
        }
    }
    tv = ms_tv(w->cfg->grace_ms);
    (void)evtimer_add(w->grace_timer, &tv);
    check_drained(w);
}

static void on_grace_timer(evutil_socket_t fd, short what, void *arg)
{
    struct wk_worker *w = arg;

    (void)fd;
    (void)what;
    if (!w->grace_killed) {
        struct timeval tv = ms_tv(GRACE_KILL_MS);

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
            rnd = (uint32_t)now_ms(w) ^ (uint32_t)getpid();
        }
        if (wk_consumer_name(host, (long)getpid(), rnd, w->consumer, sizeof(w->consumer)) != 0) {
            return PC_EINVAL;
        }
    }
    if (pc_key_queue(w->queue_key, sizeof(w->queue_key), c->prefix, c->queue) < 0 ||
        pc_key_dead(w->dead_key, sizeof(w->dead_key), c->prefix) < 0 ||
        pc_key_interrupt_pattern(w->interrupt_pattern, sizeof(w->interrupt_pattern), c->prefix) <
            0 ||
        pc_key_profiles_released(w->released_channel, sizeof(w->released_channel), c->prefix) < 0) {
        return PC_EINVAL;
    }
    if (pc_redis_url_describe(&c->redis, w->redis_where, sizeof(w->redis_where)) < 0) {
        (void)snprintf(w->redis_where, sizeof(w->redis_where), "?");
    }
    (void)snprintf(w->claim_cursor, sizeof(w->claim_cursor), "0-0");
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

static int make_events(struct wk_worker *w, bool signals)
{
    w->renew_timer = event_new(w->base, -1, EV_PERSIST, on_renew_timer, w);
    w->claim_timer = event_new(w->base, -1, EV_PERSIST, on_claim_timer, w);
    w->read_retry_timer = evtimer_new(w->base, on_read_retry, w);
    w->grace_timer = evtimer_new(w->base, on_grace_timer, w);
    w->escalate_timer = evtimer_new(w->base, on_escalate_timer, w);
    if (w->renew_timer == NULL || w->claim_timer == NULL || w->read_retry_timer == NULL ||
        w->grace_timer == NULL || w->escalate_timer == NULL) {
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

    out->running = 0;
    for (const struct wexec *x = w->execs; x != NULL; x = x->next) {
        out->running += x->engine_running ? 1u : 0u;
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
        w->clock.now_ms = realtime_ms;
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
        rc = make_conn(w, "read", on_read_state, &w->read, err);
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
    struct timeval renew = ms_tv(w->timing.renew_ms);
    struct timeval claim_tv = ms_tv(w->timing.claim_ms);

    if (event_add(w->renew_timer, &renew) != 0 || event_add(w->claim_timer, &claim_tv) != 0) {
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

        wexec_free(x);
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
    pc_redis_conn_destroy(w->read);
    pc_redis_conn_destroy(w->cmd);
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
    free_event(w->read_retry_timer);
    free_event(w->grace_timer);
    free_event(w->escalate_timer);
    free_event(w->sigterm);
    free_event(w->sigint);
    free(w);
}
