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
#include <sys/eventfd.h>
#include <unistd.h>

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

void pc_latch_force(struct pc_latch *l)
{
    l->strategy.kind = PC_STRATEGY_FINISH_CURRENT;
    l->strategy.n = 0;
    if (!l->signal_latched) {
        l->signal_pending = true;
    }
}

/* ------------------------------------------------------------------------ */
/* Modes and payloads                                                        */

static const char *const mode_names[] = {
    [PC_MODE_FINISH] = "finish",
    [PC_MODE_CANCEL] = "cancel",
    [PC_MODE_KILL] = "kill",
};

const char *pc_interrupt_mode_name(enum pc_interrupt_mode m)
{
    return (unsigned)m <= PC_MODE_KILL ? mode_names[m] : "finish";
}

static bool mode_match(const char *p, size_t n, enum pc_interrupt_mode *out)
{
    for (int m = PC_MODE_FINISH; m <= PC_MODE_KILL; m++) {
        size_t len = strlen(mode_names[m]);

        if (n == len && memcmp(p, mode_names[m], len) == 0) {
            *out = (enum pc_interrupt_mode)m;
            return true;
        }
    }
    return false;
}

int pc_interrupt_mode_parse(const char *p, size_t n, enum pc_interrupt_mode *out,
                            struct pc_err *err)
{
    if (p != NULL && mode_match(p, n, out)) {
        return 0;
    }
    return pc_err_set(err, PC_EINVAL, "unknown interrupt mode \"%.*s\" (finish, cancel, kill)",
                      (int)(n > 32 ? 32 : n), p != NULL ? p : "");
}

static bool is_sep(char c)
{
    return c == ' ' || c == '\t';
}

void pc_interrupt_payload_parse(const char *p, size_t n, struct pc_interrupt_req *out)
{
    size_t i = 1;
    size_t tok = 0;
    enum pc_interrupt_mode mode = PC_MODE_FINISH;
    uint64_t deadline = 0;
    bool has_deadline = false;

    memset(out, 0, sizeof(*out));
    out->mode = PC_MODE_FINISH;
    out->reason = p;
    out->reason_len = p != NULL ? n : 0;
    if (p == NULL || n < 2 || p[0] != '!') {
        return;
    }
    while (i < n && !is_sep(p[i])) {
        i++;
    }
    if (!mode_match(p + 1, i - 1, &mode)) {
        return; /* not a mode: the whole payload is a finish reason */
    }
    if (i < n) {
        i++; /* the one separator */
    }
    /* A deadline: decimal digits followed by a separator or the end. */
    tok = i;
    while (tok < n && p[tok] >= '0' && p[tok] <= '9') {
        tok++;
    }
    if (tok > i && (tok == n || is_sep(p[tok]))) {
        has_deadline = true;
        for (size_t k = i; k < tok; k++) {
            deadline = deadline * 10 + (uint64_t)(p[k] - '0');
            if (deadline > PC_INTERRUPT_DEADLINE_MAX_MS) {
                deadline = PC_INTERRUPT_DEADLINE_MAX_MS; /* clamped; more digits change nothing */
            }
        }
        i = tok < n ? tok + 1 : tok;
    }
    out->mode = mode;
    out->has_deadline = has_deadline;
    out->deadline_ms = deadline;
    out->reason = i < n ? p + i : NULL;
    out->reason_len = i < n ? n - i : 0;
}

int pc_interrupt_payload_format(const struct pc_interrupt_req *r, char *out, size_t out_size)
{
    int len = (int)(r->reason_len > 4096 ? 4096 : r->reason_len);
    const char *reason = r->reason != NULL ? r->reason : "";
    bool reason_is_digits = len > 0;

    if (r->mode == PC_MODE_FINISH && !r->has_deadline && len > 0 && reason[0] != '!') {
        return snprintf(out, out_size, "%.*s", len, reason);
    }
    for (int k = 0; k < len && reason_is_digits; k++) {
        reason_is_digits = reason[k] >= '0' && reason[k] <= '9';
    }
    if (r->has_deadline || reason_is_digits) {
        /* A reason made of digits alone needs the deadline before it to
         * read back as a reason. */
        return snprintf(out, out_size, "!%s %llu%s%.*s", pc_interrupt_mode_name(r->mode),
                        (unsigned long long)(r->has_deadline ? r->deadline_ms
                                                             : PC_INTERRUPT_DEADLINE_DEFAULT_MS),
                        len > 0 ? " " : "", len, reason);
    }
    return snprintf(out, out_size, "!%s%s%.*s", pc_interrupt_mode_name(r->mode), len > 0 ? " " : "",
                    len, reason);
}

bool pc_interrupt_honoured(const struct pc_strategy *s, enum pc_interrupt_mode m)
{
    return s->kind != PC_STRATEGY_IGNORE || m == PC_MODE_KILL;
}

/* ------------------------------------------------------------------------ */
/* Escalation                                                                */

void pc_escalation_init(struct pc_escalation *s)
{
    memset(s, 0, sizeof(*s));
    s->mode = PC_MODE_FINISH;
}

static uint64_t deadline_of(bool has_deadline, uint64_t deadline_ms)
{
    if (!has_deadline) {
        return PC_INTERRUPT_DEADLINE_DEFAULT_MS;
    }
    return deadline_ms > PC_INTERRUPT_DEADLINE_MAX_MS ? PC_INTERRUPT_DEADLINE_MAX_MS : deadline_ms;
}

/* Moves to mode m (higher than the current one, or the first). */
static void enter(struct pc_escalation *s, enum pc_interrupt_mode m, bool has_deadline,
                  uint64_t deadline_ms, uint64_t now_ms)
{
    s->mode = m;
    if (m == PC_MODE_CANCEL) {
        uint64_t d = deadline_of(has_deadline, deadline_ms);

        s->kill_at_ms = now_ms > UINT64_MAX - d ? UINT64_MAX : now_ms + d;
    } else {
        s->kill_at_ms = 0;
    }
}

bool pc_escalation_request(struct pc_escalation *s, const struct pc_interrupt_req *r,
                           uint64_t now_ms)
{
    enum pc_interrupt_mode want = r->mode > PC_MODE_KILL ? PC_MODE_KILL : r->mode;

    if (s->requests < UINT32_MAX) {
        s->requests++;
    }
    if (s->requests == 1) {
        s->latched_ms = now_ms;
        enter(s, want, r->has_deadline, r->deadline_ms, now_ms);
        return true;
    }
    if (s->mode == PC_MODE_KILL) {
        return false;
    }
    if (want <= s->mode) {
        want = (enum pc_interrupt_mode)(s->mode + 1);
    }
    s->escalations++;
    enter(s, want, r->has_deadline, r->deadline_ms, now_ms);
    return true;
}

bool pc_escalation_at_least(struct pc_escalation *s, enum pc_interrupt_mode m, bool has_deadline,
                            uint64_t deadline_ms, uint64_t now_ms)
{
    if (m > PC_MODE_KILL) {
        m = PC_MODE_KILL;
    }
    if (s->requests == 0) {
        s->requests = 1;
        s->latched_ms = now_ms;
        enter(s, m, has_deadline, deadline_ms, now_ms);
        return true;
    }
    if (m <= s->mode) {
        return false;
    }
    enter(s, m, has_deadline, deadline_ms, now_ms);
    return true;
}

bool pc_escalation_due(const struct pc_escalation *s, uint64_t now_ms)
{
    return s->requests > 0 && s->mode == PC_MODE_CANCEL && s->kill_at_ms != 0 &&
           now_ms >= s->kill_at_ms;
}

void pc_escalation_deadline(struct pc_escalation *s)
{
    if (s->mode == PC_MODE_CANCEL) {
        s->mode = PC_MODE_KILL;
        s->kill_at_ms = 0;
        s->escalations++;
    }
}

/* ------------------------------------------------------------------------ */
/* Cancel token                                                              */

void pc_cancel_init(struct pc_cancel *c)
{
    atomic_init(&c->level, PC_MODE_FINISH);
    c->fd = -1;
    pthread_mutex_init(&c->lock, NULL);
}

void pc_cancel_cleanup(struct pc_cancel *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    pthread_mutex_destroy(&c->lock);
}

static void drain_fd(int fd)
{
    uint64_t v = 0;

    while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR) {
    }
}

void pc_cancel_reset(struct pc_cancel *c)
{
    pthread_mutex_lock(&c->lock);
    atomic_store(&c->level, PC_MODE_FINISH);
    if (c->fd >= 0) {
        drain_fd(c->fd);
    }
    pthread_mutex_unlock(&c->lock);
}

void pc_cancel_raise(struct pc_cancel *c, enum pc_interrupt_mode m)
{
    uint64_t one = 1;

    pthread_mutex_lock(&c->lock);
    if ((int)m > atomic_load(&c->level)) {
        atomic_store(&c->level, (int)m);
        if (c->fd >= 0) {
            while (write(c->fd, &one, sizeof(one)) < 0 && errno == EINTR) {
            }
        }
    }
    pthread_mutex_unlock(&c->lock);
}

enum pc_interrupt_mode pc_cancel_level(const struct pc_cancel *c)
{
    return (enum pc_interrupt_mode)atomic_load(&c->level);
}

int pc_cancel_fd(struct pc_cancel *c)
{
    int fd = -1;
    uint64_t one = 1;

    pthread_mutex_lock(&c->lock);
    if (c->fd < 0) {
        c->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (c->fd < 0) {
            fd = -errno;
            pthread_mutex_unlock(&c->lock);
            return fd;
        }
        if (atomic_load(&c->level) > PC_MODE_FINISH) {
            while (write(c->fd, &one, sizeof(one)) < 0 && errno == EINTR) {
            }
        }
    }
    fd = c->fd;
    pthread_mutex_unlock(&c->lock);
    return fd;
}

enum pc_interrupt_mode pc_cancel_ack(struct pc_cancel *c)
{
    pthread_mutex_lock(&c->lock);
    if (c->fd >= 0) {
        drain_fd(c->fd);
    }
    pthread_mutex_unlock(&c->lock);
    return pc_cancel_level(c);
}
