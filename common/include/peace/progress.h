/*
 * progress.h - per-item progress: limits, updates and the tracker state machine
 * (reference/peace-semantics.md §6.3).
 */
#ifndef PEACE_PROGRESS_H
#define PEACE_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peace/err.h"

#define PC_PROGRESS_MSG_MAX 200

/* The message of an item an interrupt stopped before it started. */
#define PC_PROGRESS_INTERRUPTED_MSG "interrupted"

enum pc_progress_status {
    PC_PROGRESS_INITIALIZED = 0,
    PC_PROGRESS_EXEC_PENDING,
    PC_PROGRESS_QUEUED,
    PC_PROGRESS_RUNNING,
    PC_PROGRESS_INTERRUPTED,
    PC_PROGRESS_RUNNING_STALLED,
    PC_PROGRESS_USER_PENDING,
    PC_PROGRESS_SUCCESS,
    PC_PROGRESS_FAIL,
};

/* Contract text of a status ("exec_pending"...). */
const char *pc_progress_status_name(enum pc_progress_status s);
int pc_progress_status_parse(const char *p, size_t n, enum pc_progress_status *out);

enum pc_limit_kind {
    PC_LIMIT_UNKNOWN = 0,
    PC_LIMIT_STEPS,
    PC_LIMIT_BYTES,
};

struct pc_limit {
    enum pc_limit_kind kind;
    uint64_t n; /* total units; 0 for unknown */
};

/* Formats a limit as CONTRACT §3 text: "unknown", "steps:N", "bytes:N". */
int pc_limit_format(const struct pc_limit *l, char *out, size_t out_size);
int pc_limit_parse(const char *p, size_t n, struct pc_limit *out);

enum pc_progress_update_kind {
    PC_UPDATE_RESET,            /* -> initialized, limit/msg/units cleared */
    PC_UPDATE_RESET_TO_PENDING, /* -> exec_pending, limit/msg/units cleared */
    PC_UPDATE_QUEUED,           /* -> queued */
    PC_UPDATE_INTERRUPT, /* -> interrupted, only from initialized/exec_pending/user_pending */
    PC_UPDATE_LIMIT,     /* set limit, -> exec_pending */
    PC_UPDATE_TICK,      /* activity, -> running */
    PC_UPDATE_INC,       /* units += inc, -> running */
    PC_UPDATE_SUCCESS,   /* -> success */
    PC_UPDATE_FAIL,      /* -> fail */
    PC_UPDATE_CUT,       /* -> interrupted from any status: cut short by cancel/kill */
};

enum pc_msg_update {
    PC_MSG_NO_CHANGE = 0,
    PC_MSG_CLEAR,
    PC_MSG_SET,
};

struct pc_progress_update {
    enum pc_progress_update_kind kind;
    uint64_t inc;          /* PC_UPDATE_INC */
    struct pc_limit limit; /* PC_UPDATE_LIMIT */
    enum pc_msg_update msg_update;
    const char *msg; /* PC_MSG_SET: borrowed, msg_len bytes (truncated to fit) */
    size_t msg_len;
};

struct pc_progress_tracker {
    enum pc_progress_status status;
    struct pc_limit limit;
    uint64_t done; /* units done */
    char msg[PC_PROGRESS_MSG_MAX + 1];
};

/* Sets t to initialized with no limit, no units, no message. */
void pc_progress_tracker_init(struct pc_progress_tracker *t);

/* Applies one update (state machine of §6.3). Returns true when t changed. */
bool pc_progress_apply(struct pc_progress_tracker *t, const struct pc_progress_update *u);

#endif /* PEACE_PROGRESS_H */
