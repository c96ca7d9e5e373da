/*
 * worker_int.h - private to worker/src: the worker's state (struct wk_worker)
 * and an execution's (struct wexec), shared by the files that make up the
 * daemon (worker.c: reading, pub/sub, connections, drain, life cycle;
 * wexec_run.c: an execution's lifetime, interrupts, renewal, running;
 * wexec_start.c: starting and the profile lock; reject.c: rejections).
 * The design is described at the top of worker.c.
 */
#ifndef PEACE_WORKER_INT_H
#define PEACE_WORKER_INT_H

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
#include "worker/queue.h"

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
    unsigned part; /* the queue partition of its entry */
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
    struct wk_queue *queue; /* the partitions' reads and takeover (queue.h) */
    struct pc_redis_conn *sub;

    struct wexec *execs; /* active (not dropped) executions */
    unsigned n_active;
    struct wexec *zombies; /* dropped, waiting for replies or the engine */

    bool cmd_was_ready;
    bool cmd_down; /* down since the last ready (logged once) */
    bool startup_failed;
    char startup_why[PC_ERR_MSG_MAX];
    bool draining;
    bool stopping; /* tearing down: send nothing */

    struct wk_ops *ops; /* heartbeat and metrics (ops.h) */

    struct event *renew_timer;
    struct event *claim_timer;
    struct event *grace_timer;
    bool grace_killed;            /* the drain gave up: running items were killed */
    struct event *escalate_timer; /* the next cancel deadline of any execution */
    struct event *sigterm;
    struct event *sigint;
    unsigned signals;
};

/* Small helpers */

static inline uint64_t wx_realtime_ms(void *ctx)
{
    struct timespec ts;

    (void)ctx;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline uint64_t wx_realtime_us(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline uint64_t wx_now_ms(const struct wk_worker *w)
{
    return w->clock.now_ms(w->clock.ctx);
}

static inline struct timeval wx_ms_tv(uint32_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000u), (suseconds_t)((ms % 1000u) * 1000u)};

    return tv;
}

static inline const char *wx_quote(const char *text, char *buf)
{
    return wk_log_quote(text, buf, QUOTE_MAX);
}

static inline unsigned wx_free_slots(const struct wk_worker *w)
{
    return w->n_active < w->cfg->concurrency ? w->cfg->concurrency - w->n_active : 0;
}

static inline bool wx_can_send(const struct wk_worker *w)
{
    return !w->stopping;
}

/* An ACL denial in reply: logged once per operation (docs/acl.md). */
static inline void wx_note_denied(struct wk_worker *w, const char *what, const redisReply *reply)
{
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        (void)wk_denied_note(&w->denied, w->log, what, reply->str);
    }
}

/* worker.c */
void wx_on_ignored_reply(void *arg, const redisReply *reply);
void wx_add_exec_keys(struct pc_redis_args *a, const struct wk_worker *w, const char *id,
                      bool progress, bool events);
void wx_ack_entry(struct wk_worker *w, unsigned part, const char *entry_id);
void wx_maybe_read(struct wk_worker *w);
void wx_check_drained(struct wk_worker *w);

/* reject.c */
void wx_reject(struct wk_worker *w, unsigned part, const struct wk_entry *e, const char *exec_id,
               const struct msg_job *job, const char *reason);
void wx_give_up(struct wk_worker *w, const struct wexec *x, const char *reason);

/* wexec_run.c */
extern const struct pc_exec_observer_ops wx_wexec_observer;
void wx_wexec_free(struct wexec *x);
void wx_list_push(struct wexec **head, struct wexec *x);
void wx_drop(struct wexec *x);
bool wx_call_returned(struct wexec *x);
struct wexec *wx_find_exec(struct wk_worker *w, const char *id, const char *entry_id);
struct wexec *wx_find_entry(struct wk_worker *w, unsigned part, const char *entry_id);
void wx_lose(struct wexec *x, const char *why);
void wx_latch_interrupt(struct wexec *x, const char *reason, size_t len);
void wx_interrupt_request(struct wexec *x, const char *payload, size_t len);
void wx_on_escalate_timer(evutil_socket_t fd, short what, void *arg);
void wx_mark_interrupt(struct wk_worker *w, const char *id, const char *reason, size_t len,
                       const struct pc_interrupt_req *r, const struct pc_escalation *esc);
void wx_renew(struct wexec *x);
void wx_renew_all(struct wk_worker *w);
void wx_on_renew_timer(evutil_socket_t fd, short what, void *arg);
void wx_on_release(evutil_socket_t fd, short what, void *arg);
void wx_run_exec(struct wexec *x);

/* wexec_start.c */
void wx_retry_parked(struct wk_worker *w, const char *profile_tag, size_t tag_len, bool forced);
void wx_started(struct wexec *x, const struct wk_start *s);
void wx_handle_entry(struct wk_worker *w, unsigned part, const redisReply *entry);

#endif
