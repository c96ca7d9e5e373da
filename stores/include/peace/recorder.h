/*
 * recorder.h - records a running execution in Redis: an observer of the
 * engine (exec.h) that writes the execution's meta, progress and events
 * (CONTRACT §3) and, when the engine finishes, the outcome, then
 * acknowledges the job and releases the profile lock (docs/fleet.md,
 * "Progress" and "Finish").
 *
 * Progress is flushed every flush_ms (50 ms by default), each flush one
 * fenced `exec_progress` script call; what is pending at the end (a block
 * start included) goes into the `exec_finish` call. Every status change of
 * an item is an event of its own; units and messages within one status are
 * coalesced per item per flush. The end runs `exec_finish` (fenced) and
 * `lock_release` (which publishes the profile on the profiles-released
 * channel), then XACK and XDEL of the job's stream entry.
 *
 * When a write is refused by the fence (another attempt owns the execution)
 * or the recorder is abandoned, it writes nothing more and never acks.
 *
 * Everything runs on the loop thread of base.
 */
#ifndef PEACE_RECORDER_H
#define PEACE_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "peace/exec.h"
#include "peace/redis_conn.h"
#include "peace/scripts.h"

struct pc_recorder;

/*
 * The end of the recording, delivered from the loop (never from inside an
 * engine callback, so the owner may destroy the exec and the recorder here):
 * rc 0 = outcome written and job acknowledged; PC_EFENCED = the execution
 * was lost to another attempt (or abandoned); PC_EREDIS = the outcome could
 * not be written (the job stays pending and will be taken over). why
 * describes a failure ("" on success); o is the engine's outcome (borrowed
 * for the call).
 */
typedef void pc_recorder_done_cb(void *ctx, int rc, const char *why);

typedef uint64_t pc_recorder_clock_fn(void *ctx);

/* pc_recorder_sync's answer: rc 0 once Redis applied the call, else
 * PC_EREDIS (refused, or the connection went away). */
typedef void pc_recorder_sync_cb(void *ctx, int rc);

struct pc_recorder_opts {
    struct event_base *base;    /* borrowed */
    struct pc_redis_conn *conn; /* borrowed; outlives the recorder */
    struct pc_scripts *scripts; /* borrowed; likewise */
    const char *prefix;         /* copied */
    const char *exec_id;        /* copied */
    const char *queue;          /* copied: queue name (for XACK) */
    unsigned partition;         /* the job's partition of queue (peace/keys.h) */
    unsigned partitions;        /* the queue's partitions; 0 = 1 */
    const char *group;          /* copied: consumer group (for XACK) */
    const char *entry_id;       /* copied: the job's stream entry id */
    uint64_t epoch;             /* lease epoch from exec_start */
    const struct pc_flow *flow; /* borrowed for the recorder's life */
    enum pc_cmd cmd;
    enum pc_sync sync;
    const char *lock_value; /* copied; NULL = no profile lock to release */
    uint32_t flush_ms;      /* 0 = 50 */
    uint32_t events_maxlen; /* 0 = 10000 */
    /* 2 (or 0): the events stream is written from the first progress flush
     * that carries events (the meta field `events` = 1 then marks it), or
     * by the finish when the execution has it or is followed (meta field
     * `followed`, events_fold.h); 1: always written (docs/fleet.md "Events
     * on demand"). */
    unsigned events_layout;
    uint64_t retention_s; /* expiry of the keys once finished; 0 = never */
    /* Meta fields written with the first flush, as field/value pairs (copied). */
    const char *const *first_meta;
    size_t n_first_meta;          /* strings, even */
    pc_recorder_clock_fn *now_ms; /* NULL = CLOCK_REALTIME; Unix ms */
    void *clock_ctx;
    pc_recorder_done_cb *on_done;
    void *done_ctx;
    /* May be NULL: called before each of the recorder's writes, so the owner
     * can send writes it queued elsewhere first (pc_store_redis_flush): Redis
     * then applies an item's states before the progress that reports it. */
    void (*before_write)(void *ctx);
    void *before_write_ctx;
    /* May be NULL: called once, at the first progress write that fails (an
     * error reply, a lost connection, cannot send), possibly from inside an
     * engine callback: the owner should only latch it (stop starting
     * items, as the worker does) and act from the loop. Not called for
     * pc_recorder_abandon. Nothing is written after it. */
    void (*on_write_failed)(void *ctx, const char *why);
    void *on_write_failed_ctx;
    /* The progress hash already holds every item's initial fields
     * and the layout marker (pc_recorder_initial_progress, written by
     * exec_start): only changes are written. false: every item is written
     * once, and the first write carries the marker. */
    bool progress_prefilled;
};

/*
 * Appends to a the count and the field/value pairs of every item's initial
 * progress (progress layout 2, peace/progress_line.h: the `.layout`
 * marker, then one `ITEM` line of a fresh tracker each), as exec_start
 * takes them. a's error (pc_redis_args_error) says if it failed.
 */
void pc_recorder_initial_progress(const struct pc_flow *flow, struct pc_redis_args *a);

/* Returns owned. Nothing is written until pc_recorder_attach. */
int pc_recorder_create(const struct pc_recorder_opts *opts, struct pc_recorder **out,
                       struct pc_err *err) PC_NODISCARD;

/* The observer table to pass in pc_exec_opts, with the recorder as ctx. */
const struct pc_exec_observer_ops *pc_recorder_observer(void);

/* Binds the engine (borrowed: must outlive the recorder's flushes) and starts
 * the flush timer. Call before pc_exec_start. */
void pc_recorder_attach(struct pc_recorder *r, struct pc_exec *e);

/* Reason carried by the `interrupt` event when the interrupt takes effect. */
void pc_recorder_set_interrupt_reason(struct pc_recorder *r, const char *reason, size_t len);

/*
 * Sends everything pending now, in one exec_progress call even when nothing
 * is (the meta's block fields are always in it), and calls cb with its
 * reply: Redis answers in order on the connection, so rc 0 means every
 * write sent before, states included, was applied too. Returns 0 (cb runs
 * exactly once, later, unless the recorder is destroyed first) or non-zero
 * without calling cb (lost, or the outcome is being written).
 */
int pc_recorder_sync(struct pc_recorder *r, pc_recorder_sync_cb *cb, void *ctx) PC_NODISCARD;

/* Stops all writes: the execution belongs to someone else now. The done
 * callback still runs once the engine finishes, with PC_EFENCED. */
void pc_recorder_abandon(struct pc_recorder *r);

/* True once abandoned or fenced. */
bool pc_recorder_lost(const struct pc_recorder *r);

/* Accepts NULL. Only after the done callback ran, or when the engine never
 * started; writes still in flight are forgotten safely. */
void pc_recorder_destroy(struct pc_recorder *r);

#endif /* PEACE_RECORDER_H */
