/*
 * pct.h - percent-decoding.
 */
#ifndef PEACE_PCT_H
#define PEACE_PCT_H

#include <stdbool.h>
#include <stddef.h>

#include "peace/err.h"

/* True when every '%' in (p, n) starts a two-hex-digit escape that is not
 * NUL, and (p, n) holds no NUL byte itself. */
bool pc_pct_valid(const char *p, size_t n);

/*
 * Strict percent-decoding of (p, n) into out (out_size bytes, NUL-terminated):
 * '%' must be followed by two hex digits; a decoded NUL is refused. When
 * plus_is_space, '+' decodes to ' ' (query strings). *out_len is the decoded
 * length. Returns 0, PC_EINVAL (bad encoding) or PC_ELIMIT (does not fit).
 */
int pc_pct_decode(const char *p, size_t n, bool plus_is_space, char *out, size_t out_size,
                  size_t *out_len) PC_NODISCARD;

#endif /* PEACE_PCT_H */
