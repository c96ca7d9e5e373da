/*
 * exec_view.h - how the CLI shows executions, whatever transport read them
 * (Redis hashes with --redis, the scheduler's JSON with --server): the
 * argument checks of the execution subcommands, and the text or --json
 * output of status, list, report, states and interrupt. Both transports
 * print through here, so the same execution prints the same bytes.
 *
 * A transport describes what it read as records: an execution's meta, one
 * item's progress, one row of `list`, one stored state. A record answers
 * three questions through its ops: a field as plain text, a field as a JSON
 * member (in the JSON type the transport knows: Redis text turns counters
 * into numbers, the scheduler's JSON keeps its own types), and the whole
 * record as one JSON value. Sequences of records (items, rows, states) are
 * walked with a cursor. Records only borrow what they describe.
 */
#ifndef PEACE_CLI_EXEC_VIEW_H
#define PEACE_CLI_EXEC_VIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "peace/buf.h"
#include "peace/err.h"
#include "peace/outcome.h"

/* Largest output document the CLI builds. */
#define CLI_OUT_MAX (64u << 20)
/* `list` without --limit, and the largest --limit. */
#define CLI_LIST_DEFAULT 20
#define CLI_LIST_MAX     10000
/* Longest meta value shown (longer ones are cut or left out, as the transport reads them). */
#define CLI_META_VALUE_MAX 512
/* Longest execution id accepted on the command line (ULID 26, UUID text 36). */
#define CLI_EXEC_ID_MAX 64

/* The meta fields `list` shows, in this order. */
#define CLI_LIST_NFIELDS 13
extern const char *const cli_list_fields[CLI_LIST_NFIELDS];

struct cli_record;

struct cli_record_ops {
    /*
     * The value of field as plain text into out (NUL-terminated, cut to
     * fit); returns the value's length, 0 when absent or empty.
     */
    size_t (*text)(const struct cli_record *rec, const char *field, char *out, size_t out_size);
    /*
     * When the record has field, appends "field":value, preceded by a comma
     * unless *first, and clears *first; appends nothing when absent.
     */
    int (*json_member)(const struct cli_record *rec, const char *field, struct pc_buf *b,
                       bool *first);
    /* Appends the whole record as one JSON value; err (may be NULL) names what failed. */
    int (*json_value)(const struct cli_record *rec, struct pc_buf *b, struct pc_err *err);
};

struct cli_record {
    const struct cli_record_ops *ops; /* static */
    const void *src;                  /* borrowed: the reply or document read */
    const char *name;                 /* an item's id; (name, name_len), not NUL-terminated */
    size_t name_len;
};

/* Where a walk over records stands: an index, or a transport's iterator. */
struct cli_cursor {
    size_t index;
    void *iter;
};

/* A sequence of records. */
struct cli_records {
    const void *src; /* borrowed */
    /* The record after *at (a zeroed cursor: the first) into *rec; false at the end. */
    bool (*next)(const struct cli_records *s, struct cli_cursor *at, struct cli_record *rec);
};

/* Checks an id typed by a user: 1..CLI_EXEC_ID_MAX of [A-Za-z0-9-]. */
int cli_exec_id_check(const char *id, struct pc_err *err) PC_NODISCARD;

/* "peace: MESSAGE" on stderr ("failed" when err holds none). */
void cli_print_err(const struct pc_err *err);

/*
 * Argument checks of the subcommands. Each returns 0 when the arguments are
 * fine, else prints a one-line reason and returns 1 (the exit status).
 */
/* Exactly one valid execution id; what names the subcommand. */
int cli_args_one_id(const struct cli_opts *o, const char *what);
/* `watch ID`. */
int cli_args_watch(const struct cli_opts *o);
/* `states APP PROFILE FLOW`: three identifiers. */
int cli_args_states(const struct cli_opts *o);
/* `list [--limit N]`: no arguments; *limit gets the limit to use. */
int cli_args_list(const struct cli_opts *o, size_t *limit);

/*
 * `status`: text ("execution ID", each contract field of meta, the progress
 * of items when has_progress, the outcome) or one JSON document
 * {"meta","progress","report"}. outcome is NULL until finished. Prints on
 * stdout; returns the exit status.
 */
int cli_print_status(const char *id, const struct cli_record *meta, const struct cli_records *items,
                     bool has_progress, const struct pc_outcome *outcome, bool json);

/* `list`: a table with a header line, or one JSON array. Returns the exit status. */
int cli_print_list(const struct cli_records *rows, bool json);

/*
 * `report`: outcome_rc is what reading the outcome returned (PC_ENOTFOUND:
 * not finished yet, said with meta's status; another error: err's message).
 * Returns the exit status.
 */
int cli_print_report(const char *id, const struct cli_record *meta, int outcome_rc,
                     const struct pc_outcome *outcome, const struct pc_err *err, bool json);

/* True when meta's status is `finished` (interrupt --wait polls until then). */
bool cli_receipt_finished(const struct cli_record *meta);

/*
 * `interrupt --wait`: the receipt of a finished execution, from its meta:
 * the mode in effect, when the request was made, when the worker latched
 * it, the escalations, when it finished, and the outcome. Text, or one JSON
 * line {"id","mode","requested_ms","latched_ms","escalations","finished_ms",
 * "outcome"} (a time that is absent or not a number is null). Returns the
 * outcome's exit status.
 */
int cli_print_receipt(const char *id, const struct cli_record *meta, bool json);

/* Prints o on stdout as text (pc_outcome_format_text) or one JSON line. */
void cli_print_outcome(const struct pc_outcome *o, bool json);

enum cli_interrupt_result {
    CLI_INTERRUPT_UNKNOWN = 0, /* no such execution */
    CLI_INTERRUPT_FINISHED,    /* already finished: no effect */
    CLI_INTERRUPT_RECORDED,    /* marker recorded and published */
    CLI_INTERRUPT_ALREADY,     /* an earlier request is recorded; published again */
};

/* `interrupt`: what happened to execution id (never CLI_INTERRUPT_UNKNOWN). */
void cli_print_interrupt(const char *id, enum cli_interrupt_result result, bool json);

/*
 * Appends "label:\n" (" (none stored)" when there are none) and one
 * "  item: state" line per record of states (its name, its JSON value).
 */
int cli_states_text(struct pc_buf *b, const char *label, const struct cli_records *states,
                    struct pc_err *err) PC_NODISCARD;

#endif /* PEACE_CLI_EXEC_VIEW_H */
