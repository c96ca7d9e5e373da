/*
 * server_json.h - the scheduler's JSON documents (docs/http-api.md) turned
 * back into the values the CLI already knows how to show: an SSE event's
 * data into a struct msg_event (what the Redis events stream decodes to),
 * an execution's `report` into a struct pc_outcome, and JSON values into
 * the exact text the Redis mode prints for them.
 *
 * Everything here reads documents that come from outside: every shape is
 * checked, every list is bounded, and a bad document is an error naming
 * what is wrong, never a crash.
 */
#ifndef PEACE_CLI_SERVER_JSON_H
#define PEACE_CLI_SERVER_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "peace/buf.h"
#include "peace/err.h"
#include "peace/msg.h"
#include "peace/outcome.h"

/* Deepest JSON value rendered by cli_json_append (states are far shallower). */
#define CLI_JSON_DEPTH_MAX 64

/*
 * Parses (p, n) as one JSON value (NUL bytes inside strings allowed).
 * *out is owned (json_decref). what names the document in the error.
 */
int cli_json_parse(const char *p, size_t n, const char *what, json_t **out,
                   struct pc_err *err) PC_NODISCARD;

/*
 * The data of one event of GET /v1/executions/{id}/events: a JSON object of
 * the stream entry's fields (strings, and numbers for index and done) into
 * out, through msg_event_from_fields. PC_ESCHEMA for anything else. An
 * interrupt's items are copied into keep (reset first; out->items points
 * into it, valid while keep is unchanged); keep NULL: out->items is left
 * empty.
 */
int cli_event_from_json(const char *data, size_t len, struct msg_event *out, struct pc_buf *keep,
                        struct pc_err *err) PC_NODISCARD;

/*
 * A report object (pc_outcome_format_json's shape) into out (uninitialised;
 * owned by the caller on success, pc_outcome_cleanup). Blocks and items are
 * checked as names and identifiers; lists are bounded.
 */
int cli_outcome_from_json(const json_t *report, struct pc_outcome *out,
                          struct pc_err *err) PC_NODISCARD;

/*
 * Appends v as compact JSON, the way pc_state_to_json writes states (the
 * same string escapes, reals as %.17g), so a state read through the
 * scheduler prints exactly as one read from Redis. PC_ELIMIT beyond
 * CLI_JSON_DEPTH_MAX levels or the buffer's limit.
 */
int cli_json_append(struct pc_buf *b, const json_t *v) PC_NODISCARD;

/*
 * A scalar as the plain text a meta hash holds: strings as they are,
 * integers in decimal, reals as %.17g, booleans as true/false, null and
 * containers as "". Cut to fit out_size; "" when it holds a NUL byte.
 */
void cli_json_scalar_text(const json_t *v, char *out, size_t out_size);

/* The string member name of obj, or NULL (absent or not a string). Borrowed. */
const char *cli_json_str(const json_t *obj, const char *name);

#endif /* PEACE_CLI_SERVER_JSON_H */
