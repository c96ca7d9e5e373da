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

#endif /* PEACE_INTERRUPT_H */
