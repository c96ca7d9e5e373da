/*
 * sched_log.c - one line per event on stderr.
 *
 * Design. The line is formatted into a local buffer first and written with
 * one fputs, so lines of a busy server never interleave mid-line; control
 * characters from values (paths, Redis errors) are replaced by '?' there.
 */
#include "sched_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define LINE_MAX_LEN 1024

void sched_log(const char *fmt, ...)
{
    char line[LINE_MAX_LEN];
    struct timeval tv;
    struct tm tm;
    size_t n = 0;
    va_list ap;
    int w;

    (void)gettimeofday(&tv, NULL);
    if (gmtime_r(&tv.tv_sec, &tm) != NULL) {
        n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    }
    w = snprintf(line + n, sizeof(line) - n,
                 ".%03ldZ peace-scheduler: ", (long)(tv.tv_usec / 1000));
    n += w > 0 && (size_t)w < sizeof(line) - n ? (size_t)w : 0;
    va_start(ap, fmt);
    w = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    if (w > 0) {
        size_t end = n + (size_t)w < sizeof(line) - 2 ? n + (size_t)w : sizeof(line) - 2;

        for (size_t i = n; i < end; i++) {
            if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) {
                line[i] = '?';
            }
        }
        n = end;
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    (void)fputs(line, stderr);
}
