/*
 * log.h - the worker's log: one line per event on a stream (stderr),
 *   2024-05-01T12:00:00.123Z level=info event=exec_start exec=01H... attempt=1
 * i.e. a UTC timestamp, the level, the event name and key=value fields.
 * Values that may contain spaces are written quoted (wk_log_quote).
 */
#ifndef WORKER_LOG_H
#define WORKER_LOG_H

#include <stddef.h>
#include <stdio.h>

#include "peace/err.h"

enum wk_log_level {
    WK_LOG_DEBUG = 0,
    WK_LOG_INFO,
    WK_LOG_WARN,
    WK_LOG_ERROR,
};

struct event;
struct event_base;

struct wk_log {
    enum wk_log_level min;
    FILE *out; /* borrowed */
    /* NULL: every line is written at once. Set by wk_log_batch (owned):
     * lines stay in out's buffer and go out together at the end of the loop
     * turn that logged them (one write instead of one per line). */
    struct event *flush;
};

/* "debug", "info", "warn", "error"; 0 or PC_EINVAL. */
int wk_log_level_parse(const char *s, enum wk_log_level *out) PC_NODISCARD;

/* Writes one line: event and the printf-formatted fields (may be ""). CR and
 * LF in the fields become spaces, so one event is always one line. */
void wk_log(const struct wk_log *l, enum wk_log_level level, const char *event, const char *fmt,
            ...) PC_PRINTF(4, 5);

/*
 * Batches l's lines per loop turn of base: out becomes fully buffered (call
 * before anything is written to it) and an event flushes it at the end of
 * every turn that logged. Lines from one process still never interleave
 * mid-line. 0 or PC_ENOMEM (l left writing every line at once).
 */
int wk_log_batch(struct wk_log *l, struct event_base *base) PC_NODISCARD;

/* Writes what is buffered and stops batching (frees the event); safe when
 * not batching. Call before base is freed. */
void wk_log_unbatch(struct wk_log *l);

/* Copies text into out as the inside of a double-quoted value: '"' becomes
 * '\'' and control characters spaces. Returns out. */
const char *wk_log_quote(const char *text, char *out, size_t out_size);

#endif /* WORKER_LOG_H */
