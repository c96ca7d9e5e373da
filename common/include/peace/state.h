/*
 * state.h - item state values and per-flow state maps.
 *
 * A state is an opaque msgpack-encoded value produced by an item type
 * (CONTRACT §6 lists the built-in shapes). The framework never interprets it
 * except to store, compare (byte equality unless the item type provides
 * state_eq) and display it.
 *
 * Absent versus nil: a struct pc_state with data == NULL is *absent* (not
 * discovered, unknown, not processed). A present state may hold msgpack nil,
 * which means "this item has no state"; stores write absent entries as nil and
 * readers treat a stored nil as absent (as peace reads `null`).
 */
#ifndef PEACE_STATE_H
#define PEACE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peace/buf.h"
#include "peace/err.h"

/* Upper bound of one encoded state; larger values are rejected everywhere. */
#define PC_STATE_MAX (1u << 20)

struct pc_state {
    uint8_t *data; /* owned msgpack bytes; NULL = absent */
    size_t len;
};

/* Copies (p, n) into s (replacing its content). Returns 0, PC_ELIMIT or PC_ENOMEM. */
int pc_state_set(struct pc_state *s, const void *p, size_t n) PC_NODISCARD;

/* Sets s to msgpack nil ("no state"). */
int pc_state_set_nil(struct pc_state *s) PC_NODISCARD;

/* Takes ownership of a malloc'd buffer (p, n): s frees it later. On error p is freed. */
int pc_state_take(struct pc_state *s, void *p, size_t n) PC_NODISCARD;

/* Deep copy; an absent src makes dst absent. */
int pc_state_copy(struct pc_state *dst, const struct pc_state *src) PC_NODISCARD;

/* Moves src into dst (dst's old content freed); src becomes absent. */
void pc_state_move(struct pc_state *dst, struct pc_state *src);

/* Frees the content; s becomes absent. */
void pc_state_clear(struct pc_state *s);

/* True when s holds a value other than msgpack nil. */
bool pc_state_present(const struct pc_state *s);

/*
 * The "unknown" mark. An apply cut short by a cancel or kill has an unknown
 * effect on the world; the engine discovers the item's current state again
 * and stores it. When that discovery fails too, it stores this mark as the
 * item's current state instead: the stored-vs-discovered check of the next
 * ensure or clean does not hold it against the discovered state (that state
 * is used, as after a discover), a diff from it fails with a clear reason,
 * and JSON shows it as {"$peace":"unknown"}. Encoded as one msgpack ext value
 * (type PC_STATE_EXT_UNKNOWN, one byte 'u'), which no built-in item makes.
 */
#define PC_STATE_EXT_UNKNOWN 112

/* Sets s to the unknown mark. Returns 0 or PC_ENOMEM. */
int pc_state_set_unknown(struct pc_state *s) PC_NODISCARD;

/* True when s is the unknown mark. */
bool pc_state_is_unknown(const struct pc_state *s);

/* Byte equality; two non-present states are equal. */
bool pc_state_bytes_eq(const struct pc_state *a, const struct pc_state *b);

/*
 * Appends a JSON rendering of the state to out ("null" when not present).
 * bin values become base64 strings, ext values become null; a non-string map
 * key becomes its JSON text as a string, cut to 4096 bytes plus "..." when
 * longer (a display, not a round trip). Returns 0,
 * PC_ESCHEMA for bytes that are not one msgpack value, PC_ELIMIT, PC_ENOMEM.
 */
int pc_state_to_json(const struct pc_state *s, struct pc_buf *out) PC_NODISCARD;

/*
 * The reverse of pc_state_to_json: one JSON value (text, len bytes) packed
 * as msgpack into s (replacing its content; JSON null gives msgpack nil).
 * At most PC_FLOW_JSON_DEPTH_MAX deep and PC_STATE_MAX bytes. Returns 0,
 * PC_EINVAL (not JSON), PC_ELIMIT or PC_ENOMEM.
 */
int pc_state_from_json(struct pc_state *s, const char *text, size_t len) PC_NODISCARD;

/* A states map: one slot per flow item, indexed like pc_flow.items. */
struct pc_states {
    struct pc_state *v; /* owned array of n slots */
    size_t n;
};

/* Allocates n absent slots. */
int pc_states_init(struct pc_states *m, size_t n) PC_NODISCARD;

/* Deep copy of src into uninitialised dst. */
int pc_states_copy(struct pc_states *dst, const struct pc_states *src) PC_NODISCARD;

/* Frees every slot and the array. Accepts a zeroed struct. */
void pc_states_cleanup(struct pc_states *m);

#endif /* PEACE_STATE_H */
