/*
 * denied.h - Redis ACL denials, logged once each (docs/acl.md): a command
 * or script the worker's Redis user may not run answers `NOPERM ...` every
 * time it is tried, and the worker tries some every few hundred ms; the log
 * says it once per operation (event=redis_denied, level error), naming the
 * operation and Redis's reason, instead of once per try or never.
 */
#ifndef WORKER_DENIED_H
#define WORKER_DENIED_H

#include <stdbool.h>
#include <stddef.h>

#include "worker/log.h"

#define WK_DENIED_MAX      32
#define WK_DENIED_WHAT_MAX 40

struct wk_denied {
    char what[WK_DENIED_MAX][WK_DENIED_WHAT_MAX];
    size_t n;
};

/* True when text (an error reply or a failure reason, may be NULL) is an
 * ACL denial: it starts with, or contains, "NOPERM". */
bool wk_denied_is(const char *text);

/*
 * When text is a denial: logs it the first time `what` (an operation name,
 * e.g. "XAUTOCLAIM", "script exec_progress") is denied, and returns true
 * (also when already logged). Returns false otherwise. A full table logs
 * every further new operation (never silent).
 */
bool wk_denied_note(struct wk_denied *d, const struct wk_log *log, const char *what,
                    const char *text);

#endif /* WORKER_DENIED_H */
