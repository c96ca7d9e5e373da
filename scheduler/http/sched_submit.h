/*
 * sched_submit.h - request bodies of the API: a submission (POST
 * /v1/executions) checked as strictly as `peace run` checks a flow file, and
 * an interrupt request (POST /v1/executions/{id}/interrupt).
 *
 * Nothing here touches Redis: a body that fails here is answered 400 and
 * nothing is queued.
 */
#ifndef SCHED_SUBMIT_H
#define SCHED_SUBMIT_H

#include <stddef.h>
#include <stdint.h>

#include "peace/buf.h"
#include "peace/item.h"
#include "peace/msg.h"
#include "sched_http.h"

/* A checked submission, ready for the submit sequence of docs/fleet.md. */
struct sched_submission {
    struct msg_job job;      /* owned (msg_job_cleanup) */
    struct pc_buf job_bytes; /* owned: the msgpack job */
    size_t blocks_total;     /* the command's number of blocks */
};

/*
 * Parses and validates a submission body (len bytes, not NUL-terminated):
 * {"cmd", "flow", "interrupt_strategy"?, "apply_stored_state_sync"?,
 * "queue"?}; unknown fields are refused. The flow goes through
 * pc_flow_parse_json, pc_registry_check_flow and every item type's
 * params_create, exactly as a worker will check it. id (a ULID, copied)
 * becomes the execution id; created_ms its creation time; default_queue is
 * used when the body names none. reg is borrowed for the call.
 *
 * On success out (uninitialised) is filled and owned by the caller
 * (sched_submission_cleanup). Failures name the problem in fail:
 * invalid_json, bad_request, invalid_flow, unknown_item_type,
 * body_too_large (the encoded job is over MSG_JOB_MAX) or internal.
 * Returns 0 or a negative code.
 */
int sched_submit_parse(const char *body, size_t len, const struct pc_registry *reg,
                       const char *default_queue, const char *id, uint64_t created_ms,
                       struct sched_submission *out, struct sched_fail *fail) PC_NODISCARD;

/* Frees what s owns. Accepts NULL and a zeroed struct. */
void sched_submission_cleanup(struct sched_submission *s);

/*
 * Parses an interrupt body: empty (or only whitespace), or {"reason"?:
 * string}. The reason (cut to reason_size - 1 bytes at a UTF-8 boundary) is
 * written to reason, "" when absent. Returns 0 or PC_EINVAL with fail set
 * (invalid_json, bad_request).
 */
int sched_interrupt_parse(const char *body, size_t len, char *reason, size_t reason_size,
                          struct sched_fail *fail) PC_NODISCARD;

/*
 * The same with the interrupt mode: {"reason"?: string, "mode"?: "finish" |
 * "cancel" | "kill", "deadline_ms"?: 0..PC_INTERRUPT_DEADLINE_MAX_MS}. req
 * gets the mode and deadline (finish, none, when absent); its reason fields
 * are left empty (the reason is in `reason`). bad_request for a bad mode or
 * deadline.
 */
int sched_interrupt_parse_mode(const char *body, size_t len, char *reason, size_t reason_size,
                               struct pc_interrupt_req *req, struct sched_fail *fail) PC_NODISCARD;

#endif /* SCHED_SUBMIT_H */
