/*
 * log.c - one line per event, key=value fields, on a stream.
 *
 * The line is formatted into a stack buffer first and written with one
 * fputs, so lines from one process never interleave mid-line. Everything the
 * worker logs happens on its loop thread; the stream is only borrowed.
 */
#include "worker/log.h"

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
    k = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ level=%s event=%s",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(tv.tv_usec / 1000), level_names[level], event);
    n = k < 0 ? 0 : (size_t)k < sizeof(line) ? (size_t)k : sizeof(line) - 1;
    if (fmt != NULL && fmt[0] != '\0' && n + 2 < sizeof(line)) {
        line[n++] = ' ';
        va_start(ap, fmt);
        k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
        va_end(ap);
        if (k > 0) {
            n = n + (size_t)k < sizeof(line) ? n + (size_t)k : sizeof(line) - 1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (line[i] == '\n' || line[i] == '\r') {
            line[i] = ' ';
        }
    }
    line[n] = '\0';
    (void)fprintf(l->out, "%s\n", line);
    (void)fflush(l->out);
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
