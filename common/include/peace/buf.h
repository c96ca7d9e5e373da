/*
 * buf.h - a bounded, growable byte buffer for building strings and messages.
 *
 * Every buffer has a hard maximum; an append that would exceed it fails with
 * PC_ELIMIT and leaves the buffer as it was (nothing half-built survives).
 * The content is always NUL-terminated (the NUL is not counted in len).
 */
#ifndef PEACE_BUF_H
#define PEACE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "peace/err.h"

struct pc_buf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* hard limit of len */
};

/* Initialises caller storage. No allocation happens until an append. */
void pc_buf_init(struct pc_buf *b, size_t max);

/* Appends n bytes. Returns 0, PC_ELIMIT or PC_ENOMEM (buffer unchanged). */
int pc_buf_append(struct pc_buf *b, const void *p, size_t n) PC_NODISCARD;

/* Appends a NUL-terminated string. */
int pc_buf_puts(struct pc_buf *b, const char *s) PC_NODISCARD;

/* Appends printf-formatted text. */
int pc_buf_appendf(struct pc_buf *b, const char *fmt, ...) PC_PRINTF(2, 3) PC_NODISCARD;
int pc_buf_vappendf(struct pc_buf *b, const char *fmt, va_list ap) PC_NODISCARD;

/* Appends bytes as a JSON string literal (quotes and escapes included). */
int pc_buf_append_json_str(struct pc_buf *b, const void *p, size_t n) PC_NODISCARD;

/* Empties the buffer, keeping its memory. */
void pc_buf_reset(struct pc_buf *b);

/* Releases the memory; the buffer may be reused after pc_buf_init. */
void pc_buf_cleanup(struct pc_buf *b);

/* Returns the content (never NULL: "" when empty). Borrowed until the next append. */
const char *pc_buf_str(const struct pc_buf *b);

#endif /* PEACE_BUF_H */
