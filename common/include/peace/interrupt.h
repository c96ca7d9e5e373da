/*
 * interrupt.h - interrupt strategies and the per-execution interrupt latch
 * (reference/peace-semantics.md §5).
 *
 * The latch mirrors peace's InterruptibilityState: a signal that arrived is
 * only *observed* at a poll; once observed it stays latched for the whole
 * execution. Polls happen before every block and before each item is started
 * in item-streaming blocks (exec.c). Every poll made while the signal is
 * latched, the observing one included, counts for poll_next_n (as peace's
 * item_interrupt_poll(true) does), and the count is shared by the whole
 * execution.
 */
#ifndef PEACE_INTERRUPT_H
#define PEACE_INTERRUPT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peace/err.h"

enum pc_strategy_kind {
    PC_STRATEGY_FINISH_CURRENT = 0, /* default: start nothing new once interrupted */
    PC_STRATEGY_POLL_NEXT_N,        /* allow n more polls after the signal */
    PC_STRATEGY_IGNORE,             /* never interrupt */
};

struct pc_strategy {
    enum pc_strategy_kind kind;
    uint64_t n; /* PC_STRATEGY_POLL_NEXT_N only */
};

/* Parses "finish_current", "poll_next_n:N" or "ignore". Returns 0 or PC_EINVAL. */
int pc_strategy_parse(const char *p, size_t n, struct pc_strategy *out,
                      struct pc_err *err) PC_NODISCARD;

/* Formats as the text pc_strategy_parse accepts. Returns snprintf's count. */
int pc_strategy_format(const struct pc_strategy *s, char *out, size_t out_size);

struct pc_latch {
    struct pc_strategy strategy;
    bool signal_pending;  /* a signal arrived and no poll saw it yet */
    bool signal_latched;  /* a poll observed the signal */
    bool activated;       /* a poll reported interrupted */
    uint64_t polls_since; /* counted polls since the signal was latched */
};

void pc_latch_init(struct pc_latch *l, const struct pc_strategy *strategy);

/* A signal arrives (any number of times; one is enough). Never interrupts by itself. */
void pc_latch_signal(struct pc_latch *l);

/*
 * One counting poll (peace's item_interrupt_poll(true)): before a block, and
 * the first poll for each next item of a stream. Returns true when the
 * execution must stop starting work here. *first_activation (may be NULL) is
 * set true on the first poll that reports interrupted, so callers can emit
 * the interrupt event exactly once.
 */
bool pc_latch_poll(struct pc_latch *l, bool *first_activation);

/*
 * One waiting poll (item_interrupt_poll(false)): the stream polled again for
 * an item it is still waiting for. Latches a pending signal, never counts;
 * reports like pc_latch_poll.
 */
bool pc_latch_poll_waiting(struct pc_latch *l, bool *first_activation);

/*
 * Latches a pending signal without counting or reporting: the waiting poll
 * that sees a stream end (its result never stops anything, as nothing is
 * left to start). Later polls report as usual.
 */
void pc_latch_observe(struct pc_latch *l);

/*
 * pc_latch_force - a `kill` takes effect whatever the strategy (see
 * pc_interrupt_honoured): from now on the latch behaves as finish_current
 * with the signal pending, so the next poll stops the execution.
 */
void pc_latch_force(struct pc_latch *l);

/* ------------------------------------------------------------------------ */
/* Interrupt modes (CONTRACT §2, §3)                                         */

/*
 * How hard an interrupt stops an execution. Ordered: a further request
 * escalates one step (finish -> cancel -> kill).
 *   finish  nothing new starts; running items finish (peace's own model)
 *   cancel  as finish, and every running item is asked to stop through its
 *           cancel token (item.h); escalates to kill at its deadline
 *   kill    running items are stopped at once where their type can be
 *           (sh_cmd: SIGKILL to its process group)
 */
enum pc_interrupt_mode {
    PC_MODE_FINISH = 0,
    PC_MODE_CANCEL = 1,
    PC_MODE_KILL = 2,
};

#define PC_INTERRUPT_DEADLINE_DEFAULT_MS 10000u
/* Longest deadline accepted (one day); larger values are clamped to it. */
#define PC_INTERRUPT_DEADLINE_MAX_MS 86400000u

/* "finish", "cancel", "kill" (static). */
const char *pc_interrupt_mode_name(enum pc_interrupt_mode m);

/* Parses exactly one of the names above. Returns 0 or PC_EINVAL. */
int pc_interrupt_mode_parse(const char *p, size_t n, enum pc_interrupt_mode *out,
                            struct pc_err *err) PC_NODISCARD;

/* One interrupt request: from a channel payload, a flag or an API body. */
struct pc_interrupt_req {
    enum pc_interrupt_mode mode;
    bool has_deadline;    /* false: PC_INTERRUPT_DEADLINE_DEFAULT_MS */
    uint64_t deadline_ms; /* cancel -> kill after this long; 0 = at once */
    const char *reason;   /* borrowed from the parsed bytes; not NUL-terminated */
    size_t reason_len;
};

/*
 * Parses an interrupt channel payload (CONTRACT §3). Total: every payload is
 * a request, nothing is an error, so every raw PUBLISH that worked before
 * modes existed still works the same.
 *   "!MODE"                       mode, no reason
 *   "!MODE DEADLINE_MS"           mode and deadline (decimal digits)
 *   "!MODE DEADLINE_MS REASON"    ... and the reason (the rest, as is)
 *   "!MODE REASON"                mode and reason (REASON not all digits)
 *   anything else                 a `finish` whose reason is the whole payload
 * MODE is exactly "finish", "cancel" or "kill" (lowercase), followed by one
 * space or tab, or the end. A deadline above PC_INTERRUPT_DEADLINE_MAX_MS is
 * clamped to it. p may be NULL when n is 0.
 */
void pc_interrupt_payload_parse(const char *p, size_t n, struct pc_interrupt_req *out);

/*
 * Formats r as the payload pc_interrupt_payload_parse reads back: a plain
 * finish with a reason that does not start with '!' is the bare reason (as
 * before modes existed); anything else is "!MODE[ DEADLINE][ REASON]".
 * Returns the length snprintf would write (truncated to out_size).
 */
int pc_interrupt_payload_format(const struct pc_interrupt_req *r, char *out, size_t out_size);

/*
 * Whether a strategy lets a mode act. Decision (documented in README):
 * `ignore` ignores finish and cancel, but not kill — kill is the operator's
 * last resort, and the alternative is killing the worker, which is worse
 * (the item's process runs on and the takeover re-runs it).
 */
bool pc_interrupt_honoured(const struct pc_strategy *s, enum pc_interrupt_mode m);

/*
 * The escalation of one execution's interrupt (a pure state machine; the
 * caller owns the clock and the timer). Requests: the first sets the mode;
 * each further one escalates one step, or to the mode it asks when that is
 * higher. A cancel escalates to kill at its deadline (pc_escalation_due).
 */
struct pc_escalation {
    unsigned requests;           /* requests seen; 0 = none */
    enum pc_interrupt_mode mode; /* in effect (meaningful when requests > 0) */
    uint64_t latched_ms;         /* when the first request was taken */
    uint64_t kill_at_ms;         /* cancel: when it becomes kill; 0 = never */
    unsigned escalations;        /* steps taken after the first request */
};

void pc_escalation_init(struct pc_escalation *s);

/* A new request at now_ms. Returns true when the mode in effect rose (or
 * the first request arrived). */
bool pc_escalation_request(struct pc_escalation *s, const struct pc_interrupt_req *r,
                           uint64_t now_ms);

/*
 * The durable marker says the mode is at least m (re-read on renewal or at
 * a takeover): raises the mode without counting a request. deadline_ms as
 * in a request (0 with has_deadline false = the default). Returns true when
 * the mode in effect rose.
 */
bool pc_escalation_at_least(struct pc_escalation *s, enum pc_interrupt_mode m, bool has_deadline,
                            uint64_t deadline_ms, uint64_t now_ms);

/* True when a cancel's deadline has passed: the caller then calls
 * pc_escalation_deadline to make it a kill. */
bool pc_escalation_due(const struct pc_escalation *s, uint64_t now_ms);

/* The deadline passed: cancel becomes kill (counted as an escalation). */
void pc_escalation_deadline(struct pc_escalation *s);

/* ------------------------------------------------------------------------ */
/* The cancel token of a running item (item.h exposes it to items)           */

/*
 * One per item. The engine raises it (loop thread) to cancel or kill; the
 * item's thread reads it: a cheap atomic level, and on request an eventfd
 * that becomes readable each time the level rises (created on first use).
 */
struct pc_cancel {
    _Atomic int level; /* enum pc_interrupt_mode; PC_MODE_FINISH = not asked */
    int fd;            /* -1 until pc_cancel_fd; guarded by lock */
    pthread_mutex_t lock;
};

void pc_cancel_init(struct pc_cancel *c);
void pc_cancel_cleanup(struct pc_cancel *c);
/* Back to "not asked" before the item's next task (drains the fd). */
void pc_cancel_reset(struct pc_cancel *c);
/* Raises the level to m (never lowers it); wakes the fd. Thread-safe. */
void pc_cancel_raise(struct pc_cancel *c, enum pc_interrupt_mode m);
enum pc_interrupt_mode pc_cancel_level(const struct pc_cancel *c);
/* The eventfd (created now if needed; -errno on failure). Thread-safe. */
int pc_cancel_fd(struct pc_cancel *c);
/* Drains the fd after it polled readable; returns the level. */
enum pc_interrupt_mode pc_cancel_ack(struct pc_cancel *c);

#endif /* PEACE_INTERRUPT_H */
