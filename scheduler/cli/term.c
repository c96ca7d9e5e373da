/*
 * term.c - terminal capabilities and text that fits a width (term.h).
 */
#include "term.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

static bool set(const char *v)
{
    return v != NULL && v[0] != '\0';
}

/* "C.UTF-8", "en_US.utf8", "de_DE.UTF-8@euro": the codeset names UTF-8. */
static bool locale_utf8(const char *loc)
{
    const char *dot = strchr(loc, '.');

    if (dot == NULL) {
        return false;
    }
    dot++;
    return strncasecmp(dot, "utf-8", 5) == 0 || strncasecmp(dot, "utf8", 4) == 0;
}

static unsigned parse_columns(const char *v)
{
    char *end = NULL;
    unsigned long n;

    if (!set(v) || v[0] < '0' || v[0] > '9') {
        return 0;
    }
    n = strtoul(v, &end, 10);
    return end != NULL && *end == '\0' && n > 0 && n <= CLI_TERM_WIDTH_MAX ? (unsigned)n : 0;
}

void cli_term_decide(bool is_tty, const char *term, const char *no_color, const char *lc_all,
                     const char *lc_ctype, const char *lang, unsigned cols, const char *columns_env,
                     struct cli_term *out)
{
    const char *loc = set(lc_all) ? lc_all : set(lc_ctype) ? lc_ctype : set(lang) ? lang : NULL;
    unsigned w = cols != 0 ? cols : parse_columns(columns_env);

    out->live = is_tty && set(term) && strcmp(term, "dumb") != 0;
    out->color = out->live && !set(no_color);
    out->utf8 = loc != NULL && locale_utf8(loc);
    if (w == 0) {
        w = CLI_TERM_WIDTH_DEFAULT;
    }
    out->width = w < CLI_TERM_WIDTH_MIN   ? CLI_TERM_WIDTH_MIN
                 : w > CLI_TERM_WIDTH_MAX ? CLI_TERM_WIDTH_MAX
                                          : w;
}

unsigned cli_term_width(int fd, unsigned fallback)
{
    struct winsize ws;

    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        unsigned w = ws.ws_col;

        return w < CLI_TERM_WIDTH_MIN   ? CLI_TERM_WIDTH_MIN
               : w > CLI_TERM_WIDTH_MAX ? CLI_TERM_WIDTH_MAX
                                        : w;
    }
    return fallback;
}

void cli_term_detect(int fd, struct cli_term *out)
{
    bool tty = isatty(fd) == 1;

    cli_term_decide(tty, getenv("TERM"), getenv("NO_COLOR"), getenv("LC_ALL"), getenv("LC_CTYPE"),
                    getenv("LANG"), tty ? cli_term_width(fd, 0) : 0, getenv("COLUMNS"), out);
}

/* Decodes one UTF-8 character at p (n bytes left): its length, or 0 if invalid. */
static size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    size_t len;
    uint32_t c;

    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2;
        c = p[0] & 0x1fu;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3;
        c = p[0] & 0x0fu;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4;
        c = p[0] & 0x07u;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0u) != 0x80u) {
            return 0;
        }
        c = (c << 6) | (p[i] & 0x3fu);
    }
    /* Overlong forms, surrogates, beyond U+10FFFF. */
    if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
        (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }
    *cp = c;
    return len;
}

/* Columns of a code point: 0 for combining marks, 2 for wide (East Asian, emoji). */
static size_t cp_cols(uint32_t c)
{
    if ((c >= 0x300 && c <= 0x36f) || c == 0x200b || c == 0x200d || (c >= 0xfe00 && c <= 0xfe0f)) {
        return 0;
    }
    if ((c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) ||
        (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
        (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
        (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) ||
        (c >= 0x1f900 && c <= 0x1f9ff) || (c >= 0x20000 && c <= 0x3fffd)) {
        return 2;
    }
    return 1;
}

size_t cli_term_fit(char *out, size_t cap, const char *s, size_t max_cols, bool utf8)
{
    const char *ell = utf8 ? "\u2026" : "...";
    size_t ell_cols = utf8 ? 1 : 3;
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    size_t o = 0;
    size_t cols = 0;
    size_t cut_o = 0; /* where the ellipsis goes if the text does not fit */
    size_t cut_cols = 0;
    bool cut = false;

    if (cap == 0) {
        return 0;
    }
    for (size_t i = 0; i < n;) {
        uint32_t c = '?';
        size_t len = utf8_decode(p + i, n - i, &c);
        const unsigned char *src = p + i;
        size_t w;
        unsigned char q = '?';

        if (len == 0) {
            len = 1; /* an invalid byte: one '?' */
            c = '?';
            src = &q;
        } else if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || (!utf8 && c >= 0x80)) {
            c = '?';
            src = &q;
        }
        w = c == '?' && src == &q ? 1 : cp_cols(c);
        /* Remember the last place an ellipsis still fits. */
        if (cols + ell_cols <= max_cols) {
            cut_o = o;
            cut_cols = cols;
        }
        if (cols + w > max_cols || o + (src == &q ? 1 : len) + 1 > cap) {
            cut = true;
            break;
        }
        memcpy(out + o, src, src == &q ? 1 : len);
        o += src == &q ? 1 : len;
        cols += w;
        i += len;
    }
    if (cut) {
        o = cut_o;
        cols = cut_cols;
        if (cols + ell_cols <= max_cols && o + strlen(ell) + 1 <= cap) {
            memcpy(out + o, ell, strlen(ell));
            o += strlen(ell);
            cols += ell_cols;
        }
    }
    out[o] = '\0';
    return cols;
}
