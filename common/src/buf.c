/*
 * buf.c - bounded growable buffer.
 *
 * Growth doubles the capacity but never beyond max + 1 (room for the NUL);
 * a failed append leaves the content untouched, so callers can report the
 * error without cleaning up a half-built value.
 */
#include "peace/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pc_buf_init(struct pc_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

static int reserve(struct pc_buf *b, size_t extra)
{
    size_t need;
    size_t cap;
    char *p = NULL;

    if (extra > b->max || b->len > b->max - extra) {
        return PC_ELIMIT;
    }
    need = b->len + extra + 1;
    if (need <= b->cap) {
        return 0;
    }
    cap = b->cap == 0 ? 64 : b->cap;
    while (cap < need) {
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    }
    if (cap > b->max + 1) {
        cap = b->max + 1;
    }
    p = realloc(b->data, cap);
    if (p == NULL) {
        return PC_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int pc_buf_append(struct pc_buf *b, const void *p, size_t n)
{
    int rc = reserve(b, n);

    if (rc != 0) {
        return rc;
    }
    if (n > 0) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int pc_buf_puts(struct pc_buf *b, const char *s)
{
    return pc_buf_append(b, s, strlen(s));
}

int pc_buf_vappendf(struct pc_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    int rc;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        return PC_EINVAL;
    }
    rc = reserve(b, (size_t)n);
    if (rc != 0) {
        return rc;
    }
    (void)vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int pc_buf_appendf(struct pc_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = pc_buf_vappendf(b, fmt, ap);
    va_end(ap);
    return rc;
}

/*
 * Length of the valid UTF-8 sequence at s (n bytes left), or 0 when it is
 * not one (overlong forms, surrogates and values above U+10FFFF included).
 */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        cp = s[0] & 0x1fu;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        cp = s[0] & 0x0fu;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        cp = s[0] & 0x07u;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return len;
}

/* The escape for byte c of a JSON string, or NULL when it is copied as it is. */
static const char *json_escape(unsigned char c, char esc[6], size_t *len)
{
    static const char hex[] = "0123456789abcdef";

    *len = 2;
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\n':
        return "\\n";
    case '\t':
        return "\\t";
    case '\r':
        return "\\r";
    default:
        break;
    }
    if (c < 0x20 || c == 0x7f) {
        esc[0] = '\\';
        esc[1] = 'u';
        esc[2] = '0';
        esc[3] = '0';
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        *len = 6;
        return esc;
    }
    return NULL;
}

int pc_buf_append_json_str(struct pc_buf *b, const void *p, size_t n)
{
    const unsigned char *s = p;
    size_t start = b->len;
    size_t run = 0; /* bytes to copy as they are, pending: one append per run */
    int rc = pc_buf_append(b, "\"", 1);

    for (size_t i = 0; rc == 0 && i < n;) {
        char esc[6];
        size_t rep_len = 0;
        const char *rep = NULL;
        /* JSON text must be UTF-8: bytes that are not (a script's raw
         * output, say) become U+FFFD, one per invalid byte. */
        size_t seq = utf8_seq_len(s + i, n - i);

        if (seq == 0) {
            rep = "\\ufffd";
            rep_len = 6;
            seq = 1;
        } else if (seq == 1) {
            rep = json_escape(s[i], esc, &rep_len);
        }
        if (rep == NULL) {
            run += seq;
            i += seq;
            continue;
        }
        rc = run > 0 ? pc_buf_append(b, s + i - run, run) : 0;
        run = 0;
        rc = rc == 0 ? pc_buf_append(b, rep, rep_len) : rc;
        i += seq;
    }
    if (rc == 0 && run > 0) {
        rc = pc_buf_append(b, s + n - run, run);
    }
    if (rc == 0) {
        rc = pc_buf_append(b, "\"", 1);
    }
    if (rc != 0) {
        /* Keep the all-or-nothing promise for the whole literal. */
        b->len = start;
        if (b->data != NULL) {
            b->data[start] = '\0';
        }
    }
    return rc;
}

void pc_buf_reset(struct pc_buf *b)
{
    b->len = 0;
    if (b->data != NULL) {
        b->data[0] = '\0';
    }
}

void pc_buf_cleanup(struct pc_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

const char *pc_buf_str(const struct pc_buf *b)
{
    return b->data != NULL ? b->data : "";
}
