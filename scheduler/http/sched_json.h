/*
 * sched_json.h - the JSON documents of the HTTP API (docs/http-api.md),
 * built from the plain text values Redis holds (CONTRACT §3).
 *
 * Inputs are (ptr, len) strings as Redis returned them: never assumed
 * NUL-terminated, never assumed valid UTF-8 (an invalid byte becomes U+FFFD,
 * so the output is always valid JSON). Every builder appends to a bounded
 * struct pc_buf and returns 0, PC_ELIMIT or PC_ENOMEM; on failure the buffer
 * may hold a partial document and must be discarded.
 */
#ifndef SCHED_JSON_H
#define SCHED_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "peace/buf.h"
#include "peace/err.h"
#include "sched_http.h"
#include "sched_meta.h"

/* A borrowed byte string; p == NULL means absent (a Redis nil). */
struct sched_str {
    const char *p;
    size_t n;
};

/* {"error": msg, "code": "<code>"} */
int sched_json_error(struct pc_buf *b, enum sched_code code, const char *msg) PC_NODISCARD;

/* The value of field name in a flat field/value list (HGETALL, a stream
 * entry), or NULL. kv holds n strings (n / 2 pairs). */
const struct sched_str *sched_kv_find(const struct sched_str *kv, size_t n, const char *name);

/* One execution's meta: v[i] is the value of sched_meta_fields[i] or absent. */
struct sched_meta {
    struct sched_str v[SCHED_META_NFIELDS];
};

/* Fills m from a flat HGETALL list (borrowed: m points into kv's strings). */
void sched_meta_from_kv(const struct sched_str *kv, size_t n, struct sched_meta *m);

/* True for fields shown as JSON numbers (times and counters) when all digits. */
bool sched_json_numeric_field(const char *name, size_t n);

/*
 * The execution object: every present contract field, times and counters as
 * numbers (when they are decimal numbers), the rest as strings.
 */
int sched_json_execution(struct pc_buf *b, const struct sched_meta *m) PC_NODISCARD;

/*
 * The items array, [{"id","status","limit","done","msg"}...]: one entry per
 * item of items_csv (the meta's `items` field: ids in flow order joined by
 * ','), or, when it is absent, per item named by the progress hash, in the
 * order its first field appears. Missing fields take the values of a fresh
 * tracker: "initialized", "unknown", 0, "".
 */
int sched_json_items(struct pc_buf *b, const struct sched_str *items_csv,
                     const struct sched_str *progress_kv, size_t n_kv) PC_NODISCARD;

/*
 * The report of an execution: pc_outcome_format_json of the msgpack `report`
 * when present and decodable, else an outcome built from `outcome` and
 * `error` (a job rejected before a full report was written), else null.
 * Any of the three may be NULL or absent.
 */
int sched_json_report(struct pc_buf *b, const struct sched_str *report,
                      const struct sched_str *outcome, const struct sched_str *error) PC_NODISCARD;

/*
 * A states hash as {"item": <state as JSON>...}. A value that is not exactly
 * one msgpack value fails with PC_ESCHEMA, naming the item in err.
 */
int sched_json_states(struct pc_buf *b, const struct sched_str *kv, size_t n,
                      struct pc_err *err) PC_NODISCARD;

/*
 * One Server-Sent Event from a stream entry: "id: <id>\nevent: <kind>\n
 * data: <JSON object of the fields>\n\n". The kind is the entry's `kind`
 * field ("message" when it has none or it is not a plain word); `index`
 * and `done` are numbers in data, other values strings. *is_outcome (may be
 * NULL) says whether this was the `outcome` event. The id must already be
 * valid (sched_stream_id_valid).
 */
int sched_sse_frame(struct pc_buf *b, const char *id, const struct sched_str *kv, size_t n,
                    bool *is_outcome) PC_NODISCARD;

#endif /* SCHED_JSON_H */
