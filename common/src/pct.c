/*
 * pct.c - percent-decoding (RFC 3986), strict: the Redis URL's credentials
 * and the scheduler's request paths and queries decode with the same rules.
 */
#include "peace/pct.h"

#include <stdbool.h>
#include <stddef.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

bool pc_pct_valid(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\0') {
            return false;
        }
        if (p[i] != '%') {
            continue;
        }
        if (i + 2 >= n) {
            return false;
        }
        if (hex_value(p[i + 1]) < 0 || hex_value(p[i + 2]) < 0 ||
            (hex_value(p[i + 1]) == 0 && hex_value(p[i + 2]) == 0)) {
            return false;
        }
        i += 2;
    }
    return true;
}

int pc_pct_decode(const char *p, size_t n, bool plus_is_space, char *out, size_t out_size,
                  size_t *out_len)
{
    size_t o = 0;

    if (!pc_pct_valid(p, n)) {
        return PC_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        char c = p[i];

        if (c == '%') {
            c = (char)(hex_value(p[i + 1]) * 16 + hex_value(p[i + 2]));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (o + 1 >= out_size) {
            return PC_ELIMIT;
        }
        out[o++] = c;
    }
    if (out_size == 0) {
        return PC_ELIMIT;
    }
    out[o] = '\0';
    *out_len = o;
    return 0;
}
