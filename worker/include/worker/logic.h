/*
 * logic.h - the decisions of the worker that need no Redis: reading stream
 * entries and script replies, why a job is rejected, which items a takeover
 * tolerates, lease arithmetic. Pure functions over plain values (hiredis
 * reply structs are plain data), so tests build their inputs by hand.
 */
#ifndef WORKER_LOGIC_H
#define WORKER_LOGIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "peace/buf.h"
#include "peace/cmd.h"
#include "peace/err.h"
#include "peace/exec.h"
#include "peace/flow.h"
#include "peace/ident.h"
#include "peace/item.h"
#include "peace/msg.h"
#include "peace/outcome.h"
#include "peace/progress_line.h"

#define WK_ENTRY_ID_MAX 63
#define WK_EXEC_ID_MAX  PC_EXEC_ID_MAX
#define WK_REASON_MAX   512

/* ------------------------------------------------------------------------ */
/* Stream entries                                                            */

/* One entry of the queue stream; the byte ranges are borrowed from the reply. */
struct wk_entry {
    char id[WK_ENTRY_ID_MAX + 1];     /* stream entry id, "" when unusable */
    char exec_id[WK_EXEC_ID_MAX + 1]; /* "" when missing or unusable */
    const char *job;                  /* NULL when missing */
    size_t job_len;
};

/*
 * Reads one entry ([id, [field, value, ...]]) of an XREADGROUP / XAUTOCLAIM
 * reply into out. Returns 0 when the entry has a usable id (fields may still
 * be missing or bad: exec_id "" / job NULL), PC_ESCHEMA when even the id is
 * unusable (nothing can be done with it). Unknown fields are ignored; a
 * repeated field, or a job over MSG_JOB_MAX bytes, leaves job NULL.
 */
int wk_entry_parse(const redisReply *entry, struct wk_entry *out) PC_NODISCARD;

/*
 * Decides whether an entry can run: decodes the job, checks it names the
 * entry's execution and that every item type is known (registry). On
 * failure returns PC_EINVAL / PC_ESCHEMA / PC_ELIMIT and writes the
 * rejection reason into reason (a text for `error` and peace:dead); job is
 * then empty. On success job is owned by the caller (msg_job_cleanup).
 */
int wk_job_accept(const struct wk_entry *e, const struct pc_registry *reg, struct msg_job *job,
                  char *reason, size_t reason_size) PC_NODISCARD;

/* Where an execution's engine writes and runs: ops tables, so tests can
 * give fakes. Everything borrowed for the engine's life. */
struct wk_exec_env {
    const struct pc_registry *reg;
    struct pc_store store;
    struct pc_executor executor;
    const struct pc_exec_observer_ops *observer;
    void *observer_ctx;
    const char *file_root; /* NULL = no confinement (pc_exec_opts.file_root) */
    /* The policy for items known only from the store (obsolete, replaced as
     * last applied): pc_exec_opts.stored_item_check; may be NULL. */
    int (*stored_item_check)(void *ctx, const struct pc_flow_item *fi, char *reason,
                             size_t reason_size);
    void *stored_item_check_ctx;
};

/*
 * Builds the engine for an accepted job (job and tolerate, flow->n_items
 * slots, borrowed for the engine's life). A job the engine refuses (bad
 * params, unknown type) is PC_EINVAL with the rejection reason, naming the
 * item; PC_ENOMEM is not the job's fault (the caller must not reject it).
 */
int wk_exec_setup(const struct msg_job *job, const struct wk_exec_env *env, const bool *tolerate,
                  struct pc_exec **out, char *reason, size_t reason_size) PC_NODISCARD;

/* ------------------------------------------------------------------------ */
/* Script replies                                                            */

enum wk_start_kind {
    WK_START_STARTED,
    WK_START_FINISHED,  /* already finished: ack and skip */
    WK_START_EXHAUSTED, /* attempts used up: finished rejected by the script */
    WK_START_MORE,      /* the short form was not enough: send the long form */
};

/* exec_start's reply; strings borrowed from the reply. */
struct wk_start {
    enum wk_start_kind kind;
    uint64_t epoch;
    uint64_t attempt;
    uint64_t interrupt_requested_ms; /* 0 = none */
    const char *interrupt_reason;
    size_t interrupt_reason_len;
    const char *block; /* previous attempt's block name ("" = none) */
    size_t block_len;
    const char *tolerate; /* previous sync_tolerate list ("" = none) */
    size_t tolerate_len;
    const redisReply *progress; /* array of field, value (may be empty) */
    int lock;                   /* the profile lock taken with it: -1 not asked, 1 held, 0 busy */
    const char *lock_holder;    /* lock == 0: the holder's value */
    size_t lock_holder_len;
};

int wk_start_parse(const redisReply *reply, struct wk_start *out, struct pc_err *err) PC_NODISCARD;

struct wk_renew {
    bool fenced;
    uint64_t interrupt_requested_ms; /* 0 = none */
    const char *interrupt_reason;
    size_t interrupt_reason_len;
    const char *interrupt_mode; /* the marker's mode ("" or NULL = finish) */
    size_t interrupt_mode_len;
    uint64_t interrupt_deadline_ms; /* 0 = none recorded */
};

int wk_renew_parse(const redisReply *reply, struct wk_renew *out, struct pc_err *err) PC_NODISCARD;

/* lock_acquire's reply: *acquired, and the holder when busy (borrowed). */
int wk_lock_parse(const redisReply *reply, bool *acquired, const char **holder, size_t *holder_len,
                  struct pc_err *err) PC_NODISCARD;

/* What the plain `SET LOCK VALUE PX LEASE NX GET` (the first try for the
 * profile lock: a plain command costs Redis a fraction of a script call)
 * answered, for execution exec_id: nil = taken (WK_LOCK_TAKEN); a value of
 * this execution (an earlier attempt's lock, or this one's) = the
 * lock_acquire script decides (WK_LOCK_ASK_SCRIPT); another value = held by
 * *holder (borrowed, WK_LOCK_BUSY). */
enum wk_lock_try {
    WK_LOCK_TAKEN,
    WK_LOCK_BUSY,
    WK_LOCK_ASK_SCRIPT,
};
int wk_lock_set_parse(const redisReply *reply, const char *exec_id, enum wk_lock_try *out,
                      const char **holder, size_t *holder_len, struct pc_err *err) PC_NODISCARD;

/* ------------------------------------------------------------------------ */
/* Takeover                                                                  */

/* What the previous attempts left (exec_start's reply); borrowed. */
struct wk_prev_attempt {
    const char *block; /* the previous attempt's block name ("" or NULL = none) */
    size_t block_len;
    const char *list; /* sync_tolerate: comma-separated ids ("" or NULL = none) */
    size_t list_len;
    const struct pc_progress_kv *progress; /* the progress hash's fields (either layout) */
    size_t n_progress;
};

/*
 * Which items the stored-vs-discovered guard tolerates in a new attempt
 * (docs/fleet.md "Takeover and the guard"): the items the earlier attempts
 * may have changed without storing their state. Those are the items listed
 * in prev->list (carried over from earlier attempts), plus, when the
 * previous attempt was in an apply block (prev->block names it), every item
 * whose progress does not record `success`. A worker records an apply
 * block's start before any of its items may apply, and stops starting items
 * at its first failed write, so an item without a recorded success may have
 * run with its states write lost; one recorded `success` had its state
 * stored first.
 *
 * tolerate has flow->n_items slots (all written). list receives the
 * comma-separated ids tolerated (for the meta field sync_tolerate), in flow
 * order; an initialised pc_buf. Returns the number tolerated, or a negative
 * code (PC_ENOMEM / PC_ELIMIT from the buffer).
 */
long wk_tolerate(const struct pc_flow *flow, const struct wk_prev_attempt *prev, bool *tolerate,
                 struct pc_buf *list);

/* ------------------------------------------------------------------------ */
/* Leases and timing                                                         */

struct wk_timing {
    uint32_t renew_ms;       /* lease / 3 */
    uint32_t claim_ms;       /* min(lease / 2, 500): XAUTOCLAIM, and parked retries checked */
    uint32_t read_block_ms;  /* XREADGROUP BLOCK */
    uint32_t cmd_timeout_ms; /* per command: below the lease, so a stall is noticed in time */
};

void wk_timing_from_lease(uint32_t lease_ms, struct wk_timing *out);

/* Lease deadline written at start and renewal. */
uint64_t wk_lease_until(uint64_t now_ms, uint32_t lease_ms);

/* True when no renewal succeeded for a whole lease: another worker may own
 * the execution by now, so this one must stop writing it. */
bool wk_lease_lost(uint64_t last_renewed_ms, uint64_t now_ms, uint32_t lease_ms);

/* True when a parked execution should try the profile lock again without a
 * release message (the holder may have died): every claim_ms. */
bool wk_park_retry_due(uint64_t last_try_ms, uint64_t now_ms, uint32_t lease_ms);

/* "<host>:<pid>:<6 hex>" consumer name; host cut to fit. */
int wk_consumer_name(const char *host, long pid, uint32_t rand32, char *out, size_t out_size);

/* The outcome report of a rejected job (kind rejected, error = reason). */
int wk_rejected_report(const char *reason, struct pc_buf *out) PC_NODISCARD;

#endif /* WORKER_LOGIC_H */
