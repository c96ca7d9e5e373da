/*
 * progress_line.h - the plain-text layout of an execution's progress hash
 * (`PREFIX:exec:{ID}:progress`, schemas/README.md "Progress hash"), written
 * by the worker and read by the scheduler, the CLI and the worker itself on
 * a takeover. One encoder, one parser: every program reads both layouts
 * through pc_progress_view_build.
 *
 * Layout 2 (written now): one field per item, field = the item id, value =
 * one line `STATUS LIMIT DONE[ MSG]`: STATUS a status name, LIMIT `unknown`,
 * `steps:N` or `bytes:N`, DONE decimal units, then, when the message is not
 * empty, one space and the message escaped: `\\` for a backslash, `\n`,
 * `\r`, `\t`, and `\xHH` (lower-case hex) for every other byte below 0x20
 * and for 0x7f; every other byte (UTF-8 or not) is kept as is. The line has
 * no control byte, so it prints as one line, and the message, being last,
 * may hold spaces. The reserved field `.layout` = `2` marks the layout
 * (`.` never occurs in an item id, and the field has no item before its
 * dot, so no layout-1 reader mistakes it for an item's field).
 *
 * Layout 1 (read only): four fields per item, `ITEM.status`, `ITEM.limit`,
 * `ITEM.done`, `ITEM.msg`, raw values, no marker.
 *
 * Reading is lenient, as Redis holds what any tool wrote: a missing part is
 * absent (a reader shows its default), a malformed escape keeps the message
 * as it is in the line. Nothing here allocates except the view.
 */
#ifndef PEACE_PROGRESS_LINE_H
#define PEACE_PROGRESS_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peace/err.h"
#include "peace/progress.h"

/* The marker field and the layout written now. */
#define PC_PROGRESS_LAYOUT_FIELD     ".layout"
#define PC_PROGRESS_LAYOUT_FIELD_LEN 7
#define PC_PROGRESS_LAYOUT           2

/* Room for one encoded line of a tracker's values (status, limit, done and a
 * PC_PROGRESS_MSG_MAX message of which every byte is escaped as \xHH). */
#define PC_PROGRESS_LINE_MAX (4 * PC_PROGRESS_MSG_MAX + 128)

/*
 * Encodes one line into out (NUL-terminated). status and limit must be
 * non-empty and hold no space or control byte; msg is (msg, msg_len) bytes.
 * Returns the line's length, or PC_EINVAL (bad status/limit) / PC_ELIMIT
 * (does not fit in out_size).
 */
int pc_progress_line_encode(char *out, size_t out_size, const char *status, const char *limit,
                            uint64_t done, const char *msg, size_t msg_len) PC_NODISCARD;

/* One part of an item's progress: (s, n), s NULL when absent. */
struct pc_progress_str {
    const char *s;
    size_t n;
};

/* An item's progress as read: every part borrowed from the hash's values,
 * except a layout-2 message, which points into the view's own memory. */
struct pc_progress_item {
    const char *id; /* (id, id_len), borrowed from the field name */
    size_t id_len;
    struct pc_progress_str status, limit, done, msg;
};

/*
 * Splits a layout-2 line (v, n) into *out's status, limit, done and msg
 * (msg decoded into msg_buf, at most msg_size bytes, not NUL-terminated; a
 * longer message is cut; a line that ends after DONE has an empty message,
 * one that ends before has none). Leaves id alone. Returns 0, or PC_EINVAL when the
 * message has a malformed escape (msg then holds the raw rest of the line).
 */
int pc_progress_line_parse(const char *v, size_t n, char *msg_buf, size_t msg_size,
                           struct pc_progress_item *out) PC_NODISCARD;

/* One field of the hash as read ((f, fn), (v, vn)). */
struct pc_progress_kv {
    const char *f;
    size_t fn;
    const char *v;
    size_t vn;
};

/* Every item of a progress hash, whatever its layout. */
struct pc_progress_view {
    struct pc_progress_item *items; /* owned: in the order they first appear in the hash */
    size_t n;
    size_t *by_id;   /* owned: indexes into items, sorted by id (for find) */
    char *arena;     /* owned: decoded messages */
    unsigned layout; /* the marker's value, 1 when there is none */
};

/*
 * Builds the view of the hash's fields kv[0..n_kv) (borrowed: they must
 * outlive the view). Fields of layout 1 and 2 may both occur (a hash an
 * older worker wrote into): an item's layout-2 line wins over its layout-1
 * fields; among layout-1 fields of one part the last one wins, as HSET
 * would. Fields that are neither (unknown parts, empty item) are skipped.
 * Returns 0 or PC_ENOMEM; the view must be freed with pc_progress_view_free.
 */
int pc_progress_view_build(struct pc_progress_view *view, const struct pc_progress_kv *kv,
                           size_t n_kv) PC_NODISCARD;

/* The item (id, id_len), or NULL. */
const struct pc_progress_item *pc_progress_view_find(const struct pc_progress_view *view,
                                                     const char *id, size_t id_len);

/* Frees what the view owns; safe on a zeroed or freed view. */
void pc_progress_view_free(struct pc_progress_view *view);

#endif
