/*
 * interrupt.c - interrupt strategies and the latch.
 *
 * Counting follows the interruptible crate 0.2.4's item_interrupt_poll: once
 * the signal is latched, every counting poll increments the count, except,
 * for poll_next_n, the poll that first observes the signal; waiting polls
 * never count. poll_next_n:N interrupts when the count reaches N. With the
 * poll points of exec.c this reproduces peace 0.0.15's own tests, e.g. an
 * ensure with poll_next_n:2 and the signal sent beforehand stops after
 * read_current and read_goal.
 */
#include "peace/interrupt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pc_strategy_parse(const char *p, size_t n, struct pc_strategy *out, struct pc_err *err)
{
    static const char prefix[] = "poll_next_n:";
    const size_t plen = sizeof(prefix) - 1;
    char digits[24];
    char *end = NULL;
    unsigned long long v;

    if (n == 14 && memcmp(p, "finish_current", 14) == 0) {
        out->kind = PC_STRATEGY_FINISH_CURRENT;
        out->n = 0;
        return 0;
    }
    if (n == 6 && memcmp(p, "ignore", 6) == 0) {
        out->kind = PC_STRATEGY_IGNORE;
        out->n = 0;
        return 0;
    }
    if (n > plen && n - plen < sizeof(digits) && memcmp(p, prefix, plen) == 0 && p[plen] >= '0' &&
        p[plen] <= '9') {
        memcpy(digits, p + plen, n - plen);
        digits[n - plen] = '\0';
        errno = 0;
        v = strtoull(digits, &end, 10);
        if (errno == 0 && *end == '\0') {
            out->kind = PC_STRATEGY_POLL_NEXT_N;
            out->n = v;
            return 0;
        }
    }
    return pc_err_set(err, PC_EINVAL,
                      "unknown interrupt strategy \"%.*s\" (finish_current, poll_next_n:N, ignore)",
                      (int)(n > 64 ? 64 : n), p);
}

int pc_strategy_format(const struct pc_strategy *s, char *out, size_t out_size)
{
    switch (s->kind) {
    case PC_STRATEGY_POLL_NEXT_N:
        return snprintf(out, out_size, "poll_next_n:%" PRIu64, s->n);
    case PC_STRATEGY_IGNORE:
        return snprintf(out, out_size, "ignore");
    case PC_STRATEGY_FINISH_CURRENT:
    default:
        return snprintf(out, out_size, "finish_current");
    }
}

void pc_latch_init(struct pc_latch *l, const struct pc_strategy *strategy)
{
    memset(l, 0, sizeof(*l));
    l->strategy = *strategy;
}

void pc_latch_signal(struct pc_latch *l)
{
    if (!l->signal_latched) {
        l->signal_pending = true;
    }
}

static bool latch_take(struct pc_latch *l)
{
    if (!l->signal_latched && l->signal_pending) {
        l->signal_latched = true;
        l->signal_pending = false;
        return true;
    }
    return false;
}

static bool latch_poll(struct pc_latch *l, bool counting, bool *first_activation)
{
    bool interrupted = false;
    bool first_received;

    if (first_activation != NULL) {
        *first_activation = false;
    }
    first_received = latch_take(l);
    if (!l->signal_latched) {
        return false;
    }
    if (counting && !(first_received && l->strategy.kind == PC_STRATEGY_POLL_NEXT_N) &&
        l->polls_since < UINT64_MAX) {
        l->polls_since++;
    }
    switch (l->strategy.kind) {
    case PC_STRATEGY_FINISH_CURRENT:
        interrupted = true;
        break;
    case PC_STRATEGY_POLL_NEXT_N:
        interrupted = l->polls_since >= l->strategy.n;
        break;
    case PC_STRATEGY_IGNORE:
    default:
        interrupted = false;
        break;
    }
    if (interrupted && !l->activated) {
        l->activated = true;
        if (first_activation != NULL) {
            *first_activation = true;
        }
    }
    return interrupted;
}

bool pc_latch_poll(struct pc_latch *l, bool *first_activation)
{
    return latch_poll(l, true, first_activation);
}

bool pc_latch_poll_waiting(struct pc_latch *l, bool *first_activation)
{
    return latch_poll(l, false, first_activation);
}

void pc_latch_observe(struct pc_latch *l)
{
    (void)latch_take(l);
}
