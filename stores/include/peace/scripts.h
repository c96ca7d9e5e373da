/*
 * scripts.h - the Lua scripts of the fleet (docs/fleet.md) and how they run.
 *
 * Every script touches the keys of one Redis Cluster slot only: the
 * execution slot (meta, progress, events) or the profile slot (lock,
 * states). Writes of a running execution are fenced: the script first checks
 * the lease epoch (execution slot: it must match, and the execution must not
 * be finished) or the lock value (profile slot) and replies with an error
 * starting "FENCED" when they do not match.
 *
 * Scripts run with EVALSHA once SCRIPT LOAD has returned their digest, with
 * EVAL before that and whenever Redis answers NOSCRIPT (after a restart or a
 * SCRIPT FLUSH); the caller never sees NOSCRIPT.
 *
 * Arguments of each script (KEYS; ARGV), replies in brackets:
 *
 * exec_start     meta progress events [lock]; consumer now_ms lease_until_ms
 *                max_attempts retention_s events_maxlen lock_mode lock_lease_ms
 *                exec_id (lock_mode "0": no lock key; "1": take the lock as
 *                lock_acquire does, value exec_id:EPOCH; "2": the same unless
 *                an interrupt is marked; on a standalone Redis, where the lock
 *                may share the call) np [field value]...
 *                (the progress layout marker and every item's initial
 *                line, written after the previous hash was read and, on
 *                attempt > 1, deleted) [exhausted_report exhausted_error
 *                [field value]... (set only where missing)]
 *                -> {"finished", outcome} | {"exhausted", attempt}
 *                 | {"more"} (short form only: a descriptive field is
 *                    missing or no attempt is left; nothing written, send
 *                    the long form)
 *                 | {"started", epoch, attempt, interrupt_requested_ms,
 *                    interrupt_reason, block, sync_tolerate,
 *                    {progress field, value...} (attempt > 1 only: the
 *                    whole previous hash, layout 1 or 2),
 *                    lock: {} (not asked) | {1, ""} (held) | {0, holder}}
 * exec_park      meta; epoch -> 1 (status back to queued, started_ms
 *                removed: the execution waits for its profile lock) | 0
 * exec_renew     meta; epoch lease_until_ms
 *                -> {"ok", interrupt_requested_ms, interrupt_reason, interrupt_mode,
 *                    interrupt_deadline_ms} | {"fenced"}
 * exec_progress  meta progress events; epoch events_maxlen np [field value]...
 *                ne [nf [field value]...]... nm [field value]...  -> "OK"
 * exec_mark_interrupt  meta; now_ms reason [mode deadline_ms [latched_ms
 *                escalations]] -> 1 marked, 2 already marked, 0 unknown or
 *                finished execution. The first request's time and reason stay;
 *                interrupt_mode (with interrupt_deadline_ms) only rises
 *                (finish < cancel < kill); the owner adds interrupt_latched_ms
 *                (first only) and interrupt_escalations, and with [channel
 *                id] announces it: PUBLISH channel id (pc_key_interrupts_latched;
 *                a denied PUBLISH is ignored).
 * exec_finish    meta progress events events_scratch report [lock]; epoch
 *                events_maxlen lock_value channel message events_layout
 *                (events_layout "2": the events are written only when the
 *                meta has `events` or `followed`; "1": always) (lock_value "" = no
 *                lock key, nothing released; else, after the finish and also
 *                when it is fenced, as lock_release: on a standalone Redis,
 *                where the lock may share the call)
 *                np [field value]... ne [nf [field value]...]... nm [field value]...
 *                (the last progress, as exec_progress) now_ms outcome summary
 *                error retention_s full_report block_ms [event field value]...
 *                -> "OK" (summary: the meta `report` field; full_report, when
 *                not empty, is SET at `report` with the retention; block_ms,
 *                when not empty, is the meta field of that name; a short events
 *                stream is rewritten at its exact size: COPY to
 *                events_scratch, RENAME back)
 * exec_follow    meta progress events report; (no arguments) -> {} unknown
 *                execution | {status} not finished (the meta field
 *                `followed` = 1 is set first: the finish then writes the
 *                events stream) | {"finished", 1} finished with an events
 *                stream | {"finished", 0, {outcome, items,
 *                interrupt_requested_ms, interrupt_reason, report},
 *                progress hash as HGETALL, full report or nil} finished
 *                without one (events_fold.h synthesises its events). Never
 *                creates a key.
 * exec_reject    meta events; now_ms error report retention_s events_maxlen
 *                nd [field value]... [event field value]...
 *                -> 1 rejected, 0 already finished
 * lock_acquire   lock; exec_id value lease_ms -> {1, ""} | {0, holder} (the
 *                worker tries a plain SET NX GET first; the script settles a
 *                lock held by an earlier attempt of the same execution)
 * lock_renew     lock; value lease_ms -> 1 | 0
 * lock_release   lock; value [channel message] -> 1 | 0 (when released and
 *                a channel is given, PUBLISH channel message)
 * states_write   lock states_current states_goal states_items states_order;
 *                value [which "all"|"item"|"del"|"order" n [item state]... |
 *                [item]... | ids]... (which: 2 = current, 3 = goal, 4 = item
 *                records, 5 = the order key; n strings; "del" removes the n
 *                items' fields; "order" SETs the order key to its one
 *                string, the flow's ids in flow order) -> "OK"
 */
#ifndef PEACE_SCRIPTS_H
#define PEACE_SCRIPTS_H

#include "peace/err.h"
#include "peace/redis_conn.h"

enum pc_script {
    PC_SCRIPT_EXEC_START = 0,
    PC_SCRIPT_EXEC_RENEW,
    PC_SCRIPT_EXEC_PROGRESS,
    PC_SCRIPT_EXEC_PARK,
    PC_SCRIPT_EXEC_MARK_INTERRUPT,
    PC_SCRIPT_EXEC_FINISH,
    PC_SCRIPT_EXEC_REJECT,
    PC_SCRIPT_LOCK_ACQUIRE,
    PC_SCRIPT_LOCK_RENEW,
    PC_SCRIPT_LOCK_RELEASE,
    PC_SCRIPT_STATES_WRITE,
    PC_SCRIPT_EXEC_FOLLOW,
};
#define PC_SCRIPT_COUNT 12

/* The script's name ("exec_start") and Lua source; static strings. */
const char *pc_script_name(enum pc_script id);
const char *pc_script_source(enum pc_script id);

/* A cache of script digests for one Redis server. */
struct pc_scripts;

/* Returns owned. */
int pc_scripts_create(struct pc_scripts **out, struct pc_err *err) PC_NODISCARD;

/* Accepts NULL. Destroy the connections it was used with first (their
 * pending calls refer to it). */
void pc_scripts_destroy(struct pc_scripts *s);

/* Sends SCRIPT LOAD for every script (call when c becomes ready); replies
 * fill the digests. Failures are harmless: calls fall back to EVAL. */
void pc_scripts_load(struct pc_scripts *s, struct pc_redis_conn *c);

/*
 * Runs script id. a holds the nkeys keys then the arguments; it is moved
 * into the call (a is empty afterwards, whatever the result). Callback
 * contract of pc_redis_cmd; timeout_ms 0 = the connection's default.
 */
int pc_script_run(struct pc_scripts *s, struct pc_redis_conn *c, enum pc_script id, int nkeys,
                  struct pc_redis_args *a, uint32_t timeout_ms, pc_redis_reply_cb *cb,
                  void *arg) PC_NODISCARD;

#endif /* PEACE_SCRIPTS_H */
