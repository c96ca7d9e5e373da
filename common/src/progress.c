/*
 * progress.c - the per-item progress tracker state machine
 * (reference/peace-semantics.md §6.3).
 *
 * Notable rules kept from peace: a Limit puts the item back to exec_pending
 * (the apply has not produced a delta yet), and an Interrupt only marks items
 * that were waiting (initialized, exec_pending, user_pending): queued and
 * running items are in flight and will finish.
 */
#include "peace/progress.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {
    [PC_PROGRESS_INITIALIZED] = "initialized",
    [PC_PROGRESS_EXEC_PENDING] = "exec_pending",
    [PC_PROGRESS_QUEUED] = "queued",
    [PC_PROGRESS_RUNNING] = "running",
    [PC_PROGRESS_INTERRUPTED] = "interrupted",
    [PC_PROGRESS_RUNNING_STALLED] = "running_stalled",
    [PC_PROGRESS_USER_PENDING] = "user_pending",
    [PC_PROGRESS_SUCCESS] = "success",
    [PC_PROGRESS_FAIL] = "fail",
};

const char *pc_progress_status_name(enum pc_progress_status s)
{
    if ((size_t)s >= sizeof(status_names) / sizeof(status_names[0])) {
        return "unknown";
    }
    return status_names[s];
}

int pc_progress_status_parse(const char *p, size_t n, enum pc_progress_status *out)
{
    for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++) {
        if (strlen(status_names[i]) == n && memcmp(status_names[i], p, n) == 0) {
            *out = (enum pc_progress_status)i;
            return 0;
        }
    }
    return PC_EINVAL;
}

int pc_limit_format(const struct pc_limit *l, char *out, size_t out_size)
{
    switch (l->kind) {
    case PC_LIMIT_STEPS:
        return snprintf(out, out_size, "steps:%" PRIu64, l->n);
    case PC_LIMIT_BYTES:
        return snprintf(out, out_size, "bytes:%" PRIu64, l->n);
    case PC_LIMIT_UNKNOWN:
    default:
        return snprintf(out, out_size, "unknown");
    }
}

static int parse_u64(const char *p, size_t n, uint64_t *out)
{
    char tmp[32];
    char *end = NULL;
    unsigned long long v;

    if (n == 0 || n >= sizeof(tmp) || p[0] < '0' || p[0] > '9') {
        return PC_EINVAL;
    }
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    errno = 0;
    v = strtoull(tmp, &end, 10);
    if (errno != 0 || *end != '\0') {
        return PC_EINVAL;
    }
    *out = v;
    return 0;
}

int pc_limit_parse(const char *p, size_t n, struct pc_limit *out)
{
    struct pc_limit l = {PC_LIMIT_UNKNOWN, 0};

    if (n == 7 && memcmp(p, "unknown", 7) == 0) {
        *out = l;
        return 0;
    }
    if (n > 6 && memcmp(p, "steps:", 6) == 0) {
        l.kind = PC_LIMIT_STEPS;
    } else if (n > 6 && memcmp(p, "bytes:", 6) == 0) {
        l.kind = PC_LIMIT_BYTES;
    } else {
        return PC_EINVAL;
    }
    if (parse_u64(p + 6, n - 6, &l.n) != 0) {
        return PC_EINVAL;
    }
    *out = l;
    return 0;
}

void pc_progress_tracker_init(struct pc_progress_tracker *t)
{
    memset(t, 0, sizeof(*t));
    t->status = PC_PROGRESS_INITIALIZED;
}

static bool apply_msg(struct pc_progress_tracker *t, const struct pc_progress_update *u)
{
    size_t n;

    switch (u->msg_update) {
    case PC_MSG_CLEAR:
        if (t->msg[0] == '\0') {
            return false;
        }
        t->msg[0] = '\0';
        return true;
    case PC_MSG_SET:
        n = u->msg_len < PC_PROGRESS_MSG_MAX ? u->msg_len : PC_PROGRESS_MSG_MAX;
        if (strlen(t->msg) == n && memcmp(t->msg, u->msg, n) == 0) {
            return false;
        }
        memcpy(t->msg, u->msg, n);
        t->msg[n] = '\0';
        /* A message is one line of plain text wherever it is shown. */
        for (size_t i = 0; i < n; i++) {
            if (t->msg[i] == '\n' || t->msg[i] == '\r' || t->msg[i] == '\0') {
                t->msg[i] = ' ';
            }
        }
        return true;
    case PC_MSG_NO_CHANGE:
    default:
        return false;
    }
}

static void set_status(struct pc_progress_tracker *t, enum pc_progress_status s, bool *changed)
{
    if (t->status != s) {
        t->status = s;
        *changed = true;
    }
}

bool pc_progress_apply(struct pc_progress_tracker *t, const struct pc_progress_update *u)
{
    bool changed = false;

    switch (u->kind) {
    case PC_UPDATE_RESET:
    case PC_UPDATE_RESET_TO_PENDING:
        changed = t->limit.kind != PC_LIMIT_UNKNOWN || t->done != 0 || t->msg[0] != '\0';
        t->limit.kind = PC_LIMIT_UNKNOWN;
        t->limit.n = 0;
        t->done = 0;
        t->msg[0] = '\0';
        set_status(t,
                   u->kind == PC_UPDATE_RESET ? PC_PROGRESS_INITIALIZED : PC_PROGRESS_EXEC_PENDING,
                   &changed);
        break;
    case PC_UPDATE_QUEUED:
        set_status(t, PC_PROGRESS_QUEUED, &changed);
        break;
    case PC_UPDATE_INTERRUPT:
        if (t->status == PC_PROGRESS_INITIALIZED || t->status == PC_PROGRESS_EXEC_PENDING ||
            t->status == PC_PROGRESS_USER_PENDING) {
            set_status(t, PC_PROGRESS_INTERRUPTED, &changed);
        } else {
            /* In-flight or finished items are untouched, message included. */
            return false;
        }
        break;
    case PC_UPDATE_LIMIT:
        changed = t->limit.kind != u->limit.kind || t->limit.n != u->limit.n;
        t->limit = u->limit;
        set_status(t, PC_PROGRESS_EXEC_PENDING, &changed);
        break;
    case PC_UPDATE_TICK:
        set_status(t, PC_PROGRESS_RUNNING, &changed);
        break;
    case PC_UPDATE_INC:
        if (u->inc > 0) {
            t->done = UINT64_MAX - t->done < u->inc ? UINT64_MAX : t->done + u->inc;
            changed = true;
        }
        set_status(t, PC_PROGRESS_RUNNING, &changed);
        break;
    case PC_UPDATE_SUCCESS:
        set_status(t, PC_PROGRESS_SUCCESS, &changed);
        break;
    case PC_UPDATE_FAIL:
        set_status(t, PC_PROGRESS_FAIL, &changed);
        break;
    case PC_UPDATE_CUT:
        set_status(t, PC_PROGRESS_INTERRUPTED, &changed);
        break;
    default:
        return false;
    }
    if (apply_msg(t, u)) {
        changed = true;
    }
    return changed;
}
