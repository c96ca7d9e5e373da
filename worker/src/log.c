/*
 * log.c - one line per event, key=value fields, on a stream.
 *
 * The line is formatted into a stack buffer first and written with one
 * fwrite, so lines from one process never interleave mid-line. Everything the
 * worker logs happens on its loop thread; the stream is only borrowed.
 * Batched (wk_log_batch), the stream is fully buffered and flushed at the end
 * of each loop turn that logged: a worker logs two lines per execution, and
 * a write(2) each was a tenth of its CPU per execution.
 */
#include "worker/log.h"

#include <event2/event.h>

#include <stdarg.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define LINE_MAX_BYTES 2048

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int wk_log_level_parse(const char *s, enum wk_log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum wk_log_level)i;
            return 0;
        }
    }
    return PC_EINVAL;
}

static char *put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

/* YYYY-MM-DDTHH:MM:SS.mmmZ (24 bytes) by hand: a worker logs a line or two
 * per execution, and printf's cost showed in its profile (so do the level and
 * event, copied rather than formatted, and the CR/LF scan, done by memchr). */
static size_t put_timestamp(char *out, const struct tm *tm, int ms)
{
    char *p = out;
    int year = tm->tm_year + 1900;

    p = put2(p, year / 100);
    p = put2(p, year % 100);
    *p++ = '-';
    p = put2(p, tm->tm_mon + 1);
    *p++ = '-';
    p = put2(p, tm->tm_mday);
    *p++ = 'T';
    p = put2(p, tm->tm_hour);
    *p++ = ':';
    p = put2(p, tm->tm_min);
    *p++ = ':';
    p = put2(p, tm->tm_sec);
    *p++ = '.';
    *p++ = (char)('0' + ms / 100 % 10);
    p = put2(p, ms % 100);
    *p++ = 'Z';
    return (size_t)(p - out);
}

/* Appends s at line + n, keeping the last byte of the line free; returns the new n. */
static size_t put_text(char *line, size_t n, const char *s)
{
    size_t len = strnlen(s, LINE_MAX_BYTES - 1 - n);

    memcpy(line + n, s, len);
    return n + len;
}

/* Turns every c in line[0..n) into a space. */
static void blank_out(char *line, size_t n, char c)
{
    char *p = line;

    while ((p = memchr(p, c, n - (size_t)(p - line))) != NULL) {
        *p++ = ' ';
    }
}

void wk_log(const struct wk_log *l, enum wk_log_level level, const char *event, const char *fmt,
            ...)
{
    char line[LINE_MAX_BYTES];
    struct timeval tv;
    struct tm tm;
    va_list ap;
    size_t n;
    int k;

    if (l == NULL || l->out == NULL || level < l->min) {
        return;
    }
    (void)gettimeofday(&tv, NULL);
    (void)gmtime_r(&tv.tv_sec, &tm);
    n = put_timestamp(line, &tm, (int)(tv.tv_usec / 1000));
    n = put_text(line, n, " level=");
    n = put_text(line, n, level_names[level]);
    n = put_text(line, n, " event=");
    n = put_text(line, n, event);
    if (fmt != NULL && fmt[0] != '\0' && n + 2 < sizeof(line)) {
        line[n++] = ' ';
        va_start(ap, fmt);
        k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
        va_end(ap);
        if (k > 0) {
            n = n + (size_t)k < sizeof(line) ? n + (size_t)k : sizeof(line) - 1;
        }
    }
    blank_out(line, n, '\n');
    blank_out(line, n, '\r');
    line[n] = '\n';
    (void)fwrite(line, 1, n + 1, l->out);
    if (l->flush != NULL) {
        event_active(l->flush, EV_TIMEOUT, 0); /* once per turn: already active is a no-op */
    } else {
        (void)fflush(l->out);
    }
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    const struct wk_log *l = arg;

    (void)fd;
    (void)what;
    (void)fflush(l->out);
}

int wk_log_batch(struct wk_log *l, struct event_base *base)
{
    struct event *ev = event_new(base, -1, 0, on_flush, l);

    if (ev == NULL || l->out == NULL || setvbuf(l->out, NULL, _IOFBF, 1u << 16) != 0) {
        if (ev != NULL) {
            event_free(ev);
        }
        return PC_ENOMEM;
    }
    l->flush = ev;
    return 0;
}

void wk_log_unbatch(struct wk_log *l)
{
    if (l->flush != NULL) {
        event_free(l->flush);
        l->flush = NULL;
    }
    if (l->out != NULL) {
        (void)fflush(l->out);
    }
}

const char *wk_log_quote(const char *text, char *out, size_t out_size)
{
    size_t n = 0;

    if (out_size == 0) {
        return out;
    }
    for (const char *p = text != NULL ? text : ""; *p != '\0' && n + 1 < out_size; p++) {
        char c = *p;

        if (c == '"') {
            c = '\'';
        } else if ((unsigned char)c < 0x20 || c == 0x7f) {
            c = ' ';
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return out;
}
