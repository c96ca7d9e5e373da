/*
 * base64.c - strict RFC 4648 base64 decoding for `file`'s content_base64.
 *
 * Flow files are written by people, so line breaks and spaces are skipped,
 * but anything else outside the alphabet, misplaced padding or a truncated
 * final group is an error that names the offset: silently decoding garbage
 * would write a different file than the author meant.
 */
#include "items_internal.h"

#include <stdlib.h>

/* Returns the 6-bit value of c, or -1 outside the alphabet. */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int pc__base64_decode(const char *in, size_t n, uint8_t **out, size_t *out_len, struct pc_err *err)
{
    uint8_t *buf = malloc(n / 4 * 3 + 3);
    uint32_t acc = 0;
    unsigned quad = 0; /* symbols in the current group of four */
    unsigned pad = 0;  /* '=' seen in the current group */
    int finished = 0;  /* a padded group ended the data */
    size_t len = 0;
    size_t i = 0;

    if (buf == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        int v = 0;

        if (is_space(c)) {
            continue;
        }
        if (finished) {
            goto bad;
        }
        if (c == '=') {
            /* Padding may only fill the last one or two symbols of a group. */
            if (quad < 2) {
                goto bad;
            }
            pad++;
            v = 0;
        } else {
            v = b64_value(c);
            if (v < 0 || pad > 0) {
                goto bad;
            }
        }
        acc = acc << 6 | (uint32_t)v;
        quad++;
        if (quad == 4) {
            buf[len++] = (uint8_t)(acc >> 16);
            if (pad < 2) {
                buf[len++] = (uint8_t)(acc >> 8);
            }
            if (pad < 1) {
                buf[len++] = (uint8_t)acc;
            }
            finished = pad > 0;
            acc = 0;
            quad = 0;
            pad = 0;
        }
    }
    if (quad != 0) {
        free(buf);
        return pc_err_set(err, PC_EINVAL, "invalid base64: truncated final group");
    }
    *out = buf;
    *out_len = len;
    return 0;
bad:
    free(buf);
    return pc_err_set(err, PC_EINVAL, "invalid base64 at offset %zu", i);
}
