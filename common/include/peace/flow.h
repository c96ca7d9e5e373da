/*
 * flow.h - the flow model: an ordered list of items with dependency edges.
 *
 * Insertion order is significant (CONTRACT §2): it orders every listing, the
 * stored states and the "not processed" lists. Dependencies are resolved to
 * item indices. A valid flow has unique item ids, known deps and no cycle.
 *
 * Params are kept as msgpack bytes (a map), so the worker never needs JSON;
 * item types decode them (see item.h).
 */
#ifndef PEACE_FLOW_H
#define PEACE_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "peace/err.h"
#include "peace/ident.h"

/* Limits on flows read from outside. */
#define PC_FLOW_ITEMS_MAX      10000
#define PC_FLOW_DEPS_MAX       256
#define PC_FLOW_PARAMS_MAX     (1u << 20)
#define PC_FLOW_FILE_MAX       (8u << 20)
#define PC_FLOW_JSON_DEPTH_MAX 32

struct pc_flow_item {
    struct pc_id id;
    struct pc_id type;
    size_t *deps; /* owned; indices of items this one depends on */
    size_t n_deps;
    uint8_t *params; /* owned msgpack map; never NULL after a parse (empty map) */
    size_t params_len;
};

struct pc_flow {
    struct pc_id app;
    struct pc_id profile;
    struct pc_id flow;
    struct pc_flow_item *items; /* owned */
    size_t n_items;
};

/*
 * Parses a flow file's JSON text (CONTRACT §6) into out and validates it.
 * `source` names the text in errors (a file name, "request body"). Errors
 * name the offending item and its position (JSON path such as
 * "items[2].deps[0]", and line:column for syntax errors). out is filled only
 * on success. Returns 0, PC_EINVAL, PC_ELIMIT or PC_ENOMEM.
 */
int pc_flow_parse_json(const char *text, size_t len, const char *source, struct pc_flow *out,
                       struct pc_err *err) PC_NODISCARD;

/*
 * For a program's main() only, before any JSON is parsed: makes jansson's
 * allocations abort the process when memory runs out. jansson 2.14's lexer
 * ignores a failed growth of its token buffer and writes past it (jansson
 * issue #362), so without this an out-of-memory while parsing untrusted JSON
 * corrupts the heap instead of failing. It changes jansson's process-wide
 * allocator (jansson's state, not ours), hence main() only.
 */
void pc_json_abort_on_oom(void);

/* Reads path (at most PC_FLOW_FILE_MAX bytes) and parses it. */
int pc_flow_load_file(const char *path, struct pc_flow *out, struct pc_err *err) PC_NODISCARD;

/*
 * Validates structure: identifiers, unique ids, dep indices in range, no
 * self-dependency, no cycle (the error names an item on the cycle). Used after
 * any decode (JSON or msgpack).
 */
int pc_flow_validate(const struct pc_flow *f, struct pc_err *err) PC_NODISCARD;

/* Index of the item with id (p, n), or -1. */
long pc_flow_find(const struct pc_flow *f, const char *p, size_t n);

/* Deep copy of src into uninitialised dst. */
int pc_flow_copy(struct pc_flow *dst, const struct pc_flow *src) PC_NODISCARD;

/* Frees everything the flow owns; the struct is zeroed. Accepts a zeroed struct. */
void pc_flow_cleanup(struct pc_flow *f);

#endif /* PEACE_FLOW_H */
