/*
 * events_fold.h - following an execution's events (docs/fleet.md "Events on
 * demand"): the follower's registration and the events of an execution
 * whose stream was never written.
 *
 * Events layout 2: an execution writes its events stream
 * `PREFIX:exec:{ID}:events` only from its first progress flush on (it
 * outlived one flush interval) or once someone follows it. A follower
 * registers with the script exec_follow (scripts.h) BEFORE it reads
 * anything: on an execution not finished yet it sets the meta field
 * `followed`, and the finish then writes every pending event and the
 * outcome event (which wakes an XREAD BLOCK). Redis runs the registration
 * and the finish one after the other, so either the finish sees the field or
 * the registration sees `finished`. A finished execution without a stream
 * ("folded") has its events synthesised here from its meta hash, progress
 * hash and report: one block_start per block run, then the interrupt (when
 * the interrupt took effect), the last progress of every item that ran, the
 * outcome. They carry the ids `0-1`, `0-2`... (below any id Redis gives), so
 * a client resuming with Last-Event-ID gets exactly the events after it.
 *
 * One implementation for every follower (the scheduler's SSE, the CLI's
 * follow, the bench). pc_events_fold is pure; pc_exec_follow_parse reads
 * exec_follow's reply. Nothing here does I/O.
 */
#ifndef PEACE_EVENTS_FOLD_H
#define PEACE_EVENTS_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "peace/err.h"
#include "peace/keys.h"
#include "peace/msg.h"
#include "peace/outcome.h"
#include "peace/progress_line.h"

/* Room for a synthesised id ("0-" and a decimal). */
#define PC_EVENTS_FOLD_ID_MAX 24

/* exec_follow's keys, in order (pc_exec_follow_keys). */
#define PC_EXEC_FOLLOW_NKEYS 4

/* Most events a fold yields (blocks, the items, interrupt and outcome). */
#define PC_EVENTS_FOLD_ITEMS_MAX 100000

/* What a fold is made of; every pointer borrowed, (p, n) bytes, p NULL = absent. */
struct pc_events_fold_in {
    const char *outcome; /* meta `outcome` */
    size_t outcome_len;
    const char *items; /* meta `items`: item ids in flow order, comma-separated */
    size_t items_len;
    bool interrupt_requested; /* meta `interrupt_requested_ms` is set */
    const char *reason;       /* meta `interrupt_reason` */
    size_t reason_len;
    const struct pc_outcome *report;         /* the decoded report, or NULL */
    const struct pc_progress_view *progress; /* the progress hash, or NULL */
};

/* The synthesised events; event k has the id `0-(k+1)`. */
struct pc_events_fold {
    struct msg_event *ev; /* owned */
    size_t n;
};

/*
 * Synthesises the events of a finished execution that has no stream into
 * out (uninitialised; freed with pc_events_fold_free): block_start for each
 * block the report lists as run (a version-1 summary: each processed block),
 * interrupt (reason cut to MSG_EVENT_REASON_MAX) when the report says the
 * interrupt took effect or the outcome is execution_interrupted (and a block
 * ran: before the first block nothing is recorded, as in a written stream),
 * the progress of each item in `items` order (items absent: the hash's
 * order) whose status is not `initialized`, then the outcome. A value that
 * does not parse is left at its default (a reader shows what it can).
 * Returns 0, PC_ESCHEMA (no or unknown outcome), PC_ELIMIT or PC_ENOMEM.
 */
int pc_events_fold(const struct pc_events_fold_in *in, struct pc_events_fold *out,
                   struct pc_err *err) PC_NODISCARD;

/* Frees what f owns; safe on a zeroed or freed value. */
void pc_events_fold_free(struct pc_events_fold *f);

/* Writes event k's id ("0-(k+1)") into out; returns its length or PC_ELIMIT. */
int pc_events_fold_id(size_t k, char *out, size_t out_size) PC_NODISCARD;

/*
 * The index of the first event whose id sorts after last_id (a stream id
 * "MS-SEQ" or "MS"; NULL, empty or unparsable: 0, i.e. everything).
 */
size_t pc_events_fold_after(const struct pc_events_fold *f, const char *last_id);

/* ------------------------------------------------------------------------ */
/* The registration: script exec_follow                                     */

enum pc_follow_state {
    PC_FOLLOW_UNKNOWN = 0, /* no such execution (never was, expired or deleted) */
    PC_FOLLOW_RUNNING,     /* queued or running: registered, its stream will be written */
    PC_FOLLOW_FINISHED,    /* finished, with its events stream: read it */
    PC_FOLLOW_FOLDED,      /* finished without a stream: events in `fold` */
};

struct pc_exec_follow {
    enum pc_follow_state state;
    struct pc_events_fold fold; /* owned; PC_FOLLOW_FOLDED only */
};

/* Fills keys with exec_follow's keys (meta, progress, events, report) of
 * exec_id. Returns 0 or PC_EINVAL (a key does not fit). */
int pc_exec_follow_keys(char keys[PC_EXEC_FOLLOW_NKEYS][PC_KEY_MAX], const char *prefix,
                        const char *exec_id) PC_NODISCARD;

/*
 * Reads exec_follow's reply into out (uninitialised; freed with
 * pc_exec_follow_free). Returns 0, PC_EREDIS (NULL or an error reply: text
 * in err) or PC_ESCHEMA / PC_ENOMEM / PC_ELIMIT (a reply that does not
 * parse, a fold that fails).
 */
int pc_exec_follow_parse(const redisReply *reply, struct pc_exec_follow *out,
                         struct pc_err *err) PC_NODISCARD;

void pc_exec_follow_free(struct pc_exec_follow *f);

#endif /* PEACE_EVENTS_FOLD_H */
