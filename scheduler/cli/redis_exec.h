/*
 * redis_exec.h - what the CLI's fleet subcommands share when they read
 * Redis themselves (--redis): an execution's meta hash, requesting an
 * interrupt, turning a finished execution into its outcome report, and
 * printing stored states. How things are shown is exec_view.h's.
 */
#ifndef PEACE_CLI_REDIS_EXEC_H
#define PEACE_CLI_REDIS_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exec_view.h"
#include "peace/buf.h"
#include "peace/err.h"
#include "peace/outcome.h"
#include "peace/progress_line.h"
#include "peace/store.h"
#include "redis_client.h"

/*
 * HGETALL of the execution's meta hash. *meta is owned (freeReplyObject), a
 * flat field/value array. PC_ENOTFOUND (with "execution ID not found") when
 * the hash does not exist.
 */
int cli_exec_meta(struct cli_redis *r, const char *id, redisReply **meta,
                  struct pc_err *err) PC_NODISCARD;

/*
 * The view of a progress hash (an HGETALL reply, borrowed: it must outlive
 * the view), whatever its layout (peace/progress_line.h). Returns 0 or
 * PC_ENOMEM; free with pc_progress_view_free.
 */
int cli_progress_view(const redisReply *prog, struct pc_progress_view *view) PC_NODISCARD;

/* A meta field as a NUL-terminated copy in out ("" when absent or too long). */
void cli_meta_get(const redisReply *meta, const char *field, char *out, size_t out_size);

/* Unix time now, in milliseconds. */
uint64_t cli_unix_ms(void);

/*
 * Records interrupt_requested_ms / interrupt_reason on the meta hash unless
 * the execution is finished or already has a request (the fleet's
 * exec_mark_interrupt script, so it can not race the worker's finish; the
 * mode only rises), then PUBLISHes the interrupt channel: the bare reason
 * (cut to the event limit) for a plain finish, else "!MODE [DEADLINE] REASON".
 * A request to an execution already interrupted is published too: the
 * worker running it escalates one step. *result is written on success.
 */
int cli_exec_interrupt(struct cli_redis *r, const char *id, const char *reason,
                       enum pc_interrupt_mode mode, bool has_deadline, uint64_t deadline_ms,
                       enum cli_interrupt_result *result, struct pc_err *err);

/*
 * The outcome of a finished execution: its full report
 * (`peace:exec:{ID}:report`) when r is not NULL and the key exists, else
 * from its meta: the `report` field (the summary) when present, else the
 * `outcome` and `error` fields (a job rejected before it could be reported
 * in full). out is uninitialised and owned by the caller on success
 * (pc_outcome_cleanup). PC_ENOTFOUND when there is no outcome yet.
 */
int cli_exec_outcome(struct cli_redis *r, const char *id, const redisReply *meta,
                     struct pc_outcome *out, struct pc_err *err) PC_NODISCARD;

/*
 * Appends the states hash of (app, profile, flow, kind) to out as a JSON
 * object {item: state...} in the hash's order. A value that is not one
 * msgpack value is an error naming the item.
 */
int cli_states_json(struct cli_redis *r, const char *app, const char *profile, const char *flow,
                    enum pc_states_kind kind, struct pc_buf *out, struct pc_err *err) PC_NODISCARD;

/* Prints the states hash as "label:\n  item: json" lines. */
int cli_states_print_text(struct cli_redis *r, const char *app, const char *profile,
                          const char *flow, enum pc_states_kind kind, const char *label,
                          struct pc_err *err) PC_NODISCARD;

struct cli_opts;

/* Connects *r (owned: cli_redis_destroy) to o's Redis: 0, or 1 with the
 * reason printed on stderr. */
int cli_connect_or_fail(const struct cli_opts *o, struct cli_redis **r);

#endif
