/*
 * item_test_support.h - helpers for the built-in item tests: params from
 * JSON text, a progress recorder behind a real struct pc_item_ctx, field
 * getters on msgpack states, and a scratch directory.
 */
#ifndef PEACE_TEST_ITEM_SUPPORT_H
#define PEACE_TEST_ITEM_SUPPORT_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peace/err.h"
#include "peace/item.h"
#include "peace/state.h"

/* Params decoded from JSON text (printf-formatted). Fails the test on bad JSON. */
struct test_params {
    msgpack_sbuffer sbuf;
    msgpack_unpacked u;
    const msgpack_object *obj;
};

const msgpack_object *test_params_json(struct test_params *tp, const char *fmt, ...)
    PC_PRINTF(2, 3);
void test_params_free(struct test_params *tp);

/* Records every progress report an item makes. */
struct progress_rec {
    uint64_t units;     /* sum of inc */
    size_t n_inc;       /* reports with inc > 0 */
    size_t n_tick;      /* reports with tick = true */
    char last_msg[256]; /* last message given */
};

/* Fills ctx so that reports land in rec; stored_current may be NULL. */
void progress_rec_ctx(struct progress_rec *rec, struct pc_item_ctx *ctx,
                      const struct pc_state *stored_current);

/* A params object created through the type; fails the test on error. */
void *params_create_ok(const struct pc_item_type *t, const msgpack_object *params);
/* Creating params must fail with code; returns the error message (static buffer). */
const char *params_create_err(const struct pc_item_type *t, const msgpack_object *params, int code);

/* State field getters; fail the test when the field is missing or of another type. */
bool state_bool(const struct pc_state *s, const char *key);
uint64_t state_u64(const struct pc_state *s, const char *key);
int64_t state_i64(const struct pc_state *s, const char *key);
bool state_is_nil(const struct pc_state *s, const char *key);
/* Copies a string field into a new heap string (test frees it). */
char *state_str(const struct pc_state *s, const char *key);

/* Builds a state from JSON text (for hand-made current/target states). */
void state_from_json(struct pc_state *out, const char *fmt, ...) PC_PRINTF(2, 3);

/* A fresh directory under /tmp, removed recursively by scratch_cleanup. */
struct scratch {
    char dir[64];
};
void scratch_init(struct scratch *s);
void scratch_cleanup(struct scratch *s);
/* Number of entries in dir (without . and ..). */
size_t dir_entries(const char *dir);
/* Reads a whole small file into a new heap string (NULL when missing). */
char *read_file_text(const char *path, size_t *len);
void write_file_text(const char *path, const char *text);

#endif /* PEACE_TEST_ITEM_SUPPORT_H */
