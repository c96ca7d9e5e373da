/*
 * msg.h - the wire messages of peace fleet and their codecs (CONTRACT §3).
 *
 * schemas/README.md defines every message field by field; this header is the
 * C view of the same definitions. Binary messages are msgpack maps with
 * string keys and a version field "v" (MSG_VERSION). Events are flat
 * field/value text pairs of a Redis stream entry.
 *
 * Common rules of every decoder:
 * - input is (ptr, len) bytes, never assumed NUL-terminated;
 * - sizes, lengths, counts and nesting depth are bounded (limits below and
 *   in flow.h / state.h / outcome.h); a larger input fails with PC_ELIMIT;
 * - an unknown version or malformed bytes fail with PC_ESCHEMA, an invalid
 *   value (bad identifier, unknown command, cyclic flow) with PC_EINVAL;
 * - out is written only on success; on failure everything allocated is freed
 *   and err says which field failed ("job: flow.items[2].deps[0]: ...").
 * Every encoder writes exactly what its decoder accepts: it checks its input
 * first and fails (normally PC_EINVAL) on a value the decoder would reject.
 *
 * Encoders fill an uninitialised struct pc_buf on success: the caller owns
 * it and frees it with pc_buf_cleanup(). On failure the buf is untouched.
 *
 * No function here keeps global state; all are safe to call from any thread
 * on distinct objects.
 */
#ifndef PEACE_MSG_H
#define PEACE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peace/buf.h"
#include "peace/cmd.h"
#include "peace/err.h"
#include "peace/flow.h"
#include "peace/ident.h"
#include "peace/interrupt.h"
#include "peace/outcome.h"
#include "peace/progress.h"
#include "peace/state.h"
#include "peace/store.h"
#include "peace/ulid.h"

/* The version every message of this header writes and the only one it reads,
 * except the report (MSG_REPORT_VERSION). */
#define MSG_VERSION 1

/* The report's version: written 3; read 1 (no times, no blocks), 2 (the same
 * information as 3 in a longer form) and 3. */
#define MSG_REPORT_VERSION 3

/* A full report this small goes in the meta hash's `report` field, which
 * keeps the hash in Redis's compact encoding (hash-max-listpack-value, 64
 * by default) and saves a key. */
#define MSG_REPORT_INLINE_MAX 64u

/* Maximum encoded size of each message. */
#define MSG_JOB_MAX    (8u << 20)
#define MSG_STATES_MAX (64u << 20)
#define MSG_REPORT_MAX (48u << 20)

/* Maximum nesting of a params map or of a state value (the value itself is 1). */
#define MSG_DEPTH_MAX 32

/* ------------------------------------------------------------------------ */
/* job: the `job` field of a `peace:queue:{Q}` stream entry                  */
/* ------------------------------------------------------------------------ */

struct msg_job {
    char id[PC_ULID_LEN + 1]; /* execution id, NUL-terminated ULID text */
    enum pc_cmd cmd;
    enum pc_sync sync;
    struct pc_strategy strategy;
    struct pc_id queue;
    uint64_t created_ms;          /* Unix ms */
    struct pc_flow flow;          /* owned; item params are msgpack maps */
    bool keep_obsolete;           /* leave obsolete items (written only when true) */
    bool diff_current_discovered; /* diff: "diff_current": "discovered" */
    bool diff_goal_discovered;    /* diff: "diff_goal": "discovered" */
    bool no_save;                 /* discover*: do not save (written only when true) */
};

/*
 * Encodes job into out (uninitialised; owned by the caller on success). The
 * flow must pass pc_flow_validate and every params must be one msgpack map
 * within limits. Returns 0, PC_EINVAL, PC_ELIMIT (over MSG_JOB_MAX) or
 * PC_ENOMEM.
 */
int msg_job_encode(const struct msg_job *job, struct pc_buf *out, struct pc_err *err) PC_NODISCARD;

/*
 * Decodes (p, n) into out (uninitialised; on success owned by the caller,
 * freed with msg_job_cleanup) and runs pc_flow_validate on the flow.
 * Returns 0, PC_ESCHEMA, PC_EINVAL, PC_ELIMIT or PC_ENOMEM.
 */
int msg_job_decode(const void *p, size_t n, struct msg_job *out, struct pc_err *err) PC_NODISCARD;

/* Frees what job owns and zeroes it. Accepts NULL and a zeroed struct. */
void msg_job_cleanup(struct msg_job *job);

/* ------------------------------------------------------------------------ */
/* states envelope: a local states file (states_current / states_goal)        */
/* ------------------------------------------------------------------------ */

/* Name of a states kind in the envelope ("current", "goal"). */
const char *msg_states_kind_name(enum pc_states_kind kind);

/*
 * Encodes the states map of flow (states->n == flow->n_items, absent slots
 * written as nil) into out (uninitialised). Every present state must pass
 * msg_state_check. Returns 0, PC_EINVAL, PC_ESCHEMA, PC_ELIMIT or PC_ENOMEM.
 */
int msg_states_encode(const struct pc_flow *flow, enum pc_states_kind kind,
                      const struct pc_states *states, struct pc_buf *out,
                      struct pc_err *err) PC_NODISCARD;

/*
 * Decodes an envelope written for flow (app, profile and flow must match:
 * PC_EINVAL otherwise). out holds flow->n_items slots (normally absent); on
 * success every slot is replaced: the stored state where one is stored, else
 * absent. Entries whose id is not in flow are ignored, a stored nil is
 * absent, a repeated id is PC_ESCHEMA, a state over PC_STATE_MAX is
 * PC_ELIMIT. On failure out is unchanged.
 */
int msg_states_decode(const void *p, size_t n, const struct pc_flow *flow, struct pc_states *out,
                      struct pc_err *err) PC_NODISCARD;

/* Entries of ids not in the flow (obsolete items), kept across writes. */
struct msg_states_extra {
    struct pc_id *ids;  /* owned */
    struct pc_state *v; /* owned; absent = stored nil */
    size_t n;
};
void msg_states_extra_cleanup(struct msg_states_extra *x);

/* msg_states_encode, then the extra entries (may be NULL) after the flow's. */
int msg_states_encode_ex(const struct pc_flow *flow, enum pc_states_kind kind,
                         const struct pc_states *states, const struct msg_states_extra *extra,
                         struct pc_buf *out, struct pc_err *err) PC_NODISCARD;

/* msg_states_decode that also returns (in extra, owned, zeroed on entry;
 * may be NULL) the entries of ids not in flow, in stored order. */
int msg_states_decode_ex(const void *p, size_t n, const struct pc_flow *flow, struct pc_states *out,
                         struct msg_states_extra *extra, struct pc_err *err) PC_NODISCARD;

/*
 * An item record (the value of `peace:states:{APP:PROFILE}:FLOW:items`, and
 * of the local `states_items.msgpack` envelope): the type, params and deps
 * of flow item `item` as it is applied. msg_record_decode fills out's type,
 * params, deps and sets has_record (out zeroed but for its id; on failure
 * nothing is left allocated).
 */
int msg_record_encode(const struct pc_flow *flow, size_t item, struct pc_buf *out,
                      struct pc_err *err) PC_NODISCARD;
int msg_record_decode(const void *p, size_t n, struct pc_stored_item *out,
                      struct pc_err *err) PC_NODISCARD;

/*
 * Checks that (p, n) is exactly one msgpack value, at most PC_STATE_MAX
 * bytes and MSG_DEPTH_MAX deep (a value of a `peace:states:*` hash).
 * Returns 0, PC_ESCHEMA or PC_ELIMIT.
 */
int msg_state_check(const void *p, size_t n, struct pc_err *err) PC_NODISCARD;

/* ------------------------------------------------------------------------ */
/* outcome report: the `report` field of `peace:exec:{ID}`                    */
/* ------------------------------------------------------------------------ */

/*
 * Encodes o into out (uninitialised): version MSG_REPORT_VERSION, or 1 when
 * o has no times, blocks or partial flag.
 * o->n_blocks_processed <= o->n_blocks <= PC_BLOCKS_MAX; the blocks run
 * (o->run) hold valid ids and values within PC_REPORT_VALUE_MAX. Returns 0,
 * PC_EINVAL, PC_ELIMIT or PC_ENOMEM.
 */
int msg_report_encode(const struct pc_outcome *o, struct pc_buf *out,
                      struct pc_err *err) PC_NODISCARD;

/*
 * The same in an older form: version 2 (or 3 = msg_report_encode), for
 * readers of the release before version 3 and for comparing sizes. Same
 * checks and errors, and PC_EINVAL for another version.
 */
int msg_report_encode_version(const struct pc_outcome *o, unsigned version, struct pc_buf *out,
                              struct pc_err *err) PC_NODISCARD;

/*
 * The summary of o (the meta hash's `report` field): version 1, without the
 * times, the blocks and the partial flag. Same checks and errors.
 */
int msg_report_summary_encode(const struct pc_outcome *o, struct pc_buf *out,
                              struct pc_err *err) PC_NODISCARD;

/*
 * The report's two Redis values (schemas/README.md): *meta (the meta hash's
 * `report` field) is the full report when it takes at most
 * MSG_REPORT_INLINE_MAX bytes, and *full (`peace:exec:{ID}:report`) is then
 * empty; otherwise *meta is the summary and *full the full report. Both
 * uninitialised on entry, owned by the caller on success (nothing on
 * failure). Same errors as msg_report_encode.
 */
int msg_report_encode_redis(const struct pc_outcome *o, struct pc_buf *meta, struct pc_buf *full,
                            struct pc_err *err) PC_NODISCARD;

/*
 * Decodes a version 1, 2 or 3 report (p, n) into out (uninitialised; on success
 * owned by the caller, freed with pc_outcome_cleanup). Returns 0,
 * PC_ESCHEMA, PC_EINVAL, PC_ELIMIT or PC_ENOMEM.
 */
int msg_report_decode(const void *p, size_t n, struct pc_outcome *out,
                      struct pc_err *err) PC_NODISCARD;

/* ------------------------------------------------------------------------ */
/* progress event: one entry of the `peace:exec:{ID}:events` stream           */
/* ------------------------------------------------------------------------ */

enum msg_event_kind {
    MSG_EVENT_BLOCK_START = 0, /* fields: block, index */
    MSG_EVENT_PROGRESS,        /* fields: item, status, done, limit, msg */
    MSG_EVENT_INTERRUPT,       /* fields: reason, items */
    MSG_EVENT_OUTCOME,         /* fields: outcome */
};

/* Longest interrupt reason carried by an event (longer ones are cut by the sender). */
#define MSG_EVENT_REASON_MAX 200

/* Longest `items` value of an interrupt event (a writer lists the items it
 * stopped up to this size and gives the rest a progress event each). */
#define MSG_EVENT_ITEMS_MAX 65536

/* A decoded event: no heap. Only the fields of kind are meaningful. Every
 * member is a plain value except items, which is borrowed. */
struct msg_event {
    enum msg_event_kind kind;
    enum pc_block_kind block;              /* block_start */
    uint64_t block_index;                  /* block_start: 0-based, < PC_BLOCKS_MAX */
    struct pc_id item;                     /* progress */
    enum pc_progress_status status;        /* progress */
    uint64_t done;                         /* progress: units done */
    struct pc_limit limit;                 /* progress */
    char msg[PC_PROGRESS_MSG_MAX + 1];     /* progress: NUL-terminated, may be empty */
    char reason[MSG_EVENT_REASON_MAX + 1]; /* interrupt: NUL-terminated, may be empty */
    /* interrupt: the items it stopped before they started (each one's
     * status became `interrupted`, its message `interrupted`), item ids in
     * flow order separated by commas, not NUL-terminated; items_len 0 (items
     * may be NULL) = none listed. Borrowed: from the caller for
     * msg_event_to_fields, from the fields given to msg_event_from_fields. */
    const char *items;
    size_t items_len;
    enum pc_outcome_kind outcome; /* outcome */
};

/*
 * Iterates over ev's items: *pos starts at 0; each call sets *id / *id_len
 * to the next id (borrowed from ev->items) and returns true, false at the
 * end. Meaningful for a valid event (msg_event_from_fields checked it).
 */
bool msg_event_items_next(const struct msg_event *ev, size_t *pos, const char **id, size_t *id_len);

/* Contract text of an event kind ("block_start"...), or NULL for a bad value. */
const char *msg_event_kind_name(enum msg_event_kind k);

/* Field/value strings for XADD, at most 6 pairs. */
#define MSG_EVENT_FIELDS_MAX 12

struct msg_event_fields {
    const char *argv[MSG_EVENT_FIELDS_MAX]; /* borrowed from the event, this struct, or static */
    size_t argvlen[MSG_EVENT_FIELDS_MAX];
    size_t n;            /* strings used (field, value, field, value...) */
    char index_text[24]; /* storage for formatted numbers */
    char done_text[24];
    char limit_text[48];
};

/*
 * Renders ev as field/value pairs in out (caller storage). The strings are
 * borrowed from ev and out: valid while both live unchanged and unmoved.
 * Returns 0 or PC_EINVAL (a value out of its range).
 */
int msg_event_to_fields(const struct msg_event *ev, struct msg_event_fields *out,
                        struct pc_err *err) PC_NODISCARD;

/*
 * Parses the n strings fields[i] (lens[i] bytes each, field/value
 * alternating, as a stream entry gives them) into out. Unknown fields are
 * ignored (fields may be added without a version change); a missing or
 * repeated field, an unknown kind, a value with a NUL byte or over its limit
 * fails with PC_ESCHEMA / PC_ELIMIT. out is written only on success.
 */
int msg_event_from_fields(const char *const *fields, const size_t *lens, size_t n,
                          struct msg_event *out, struct pc_err *err) PC_NODISCARD;

#endif /* PEACE_MSG_H */
