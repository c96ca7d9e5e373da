/*
 * denied.c - ACL denials logged once per operation (worker/denied.h).
 */
#include "worker/denied.h"

#include <stdio.h>
#include <string.h>

bool wk_denied_is(const char *text)
{
    return text != NULL && strstr(text, "NOPERM") != NULL;
}

bool wk_denied_note(struct wk_denied *d, const struct wk_log *log, const char *what,
                    const char *text)
{
    char q[300];

    if (!wk_denied_is(text)) {
        return false;
    }
    for (size_t i = 0; i < d->n; i++) {
        if (strncmp(d->what[i], what, WK_DENIED_WHAT_MAX - 1) == 0) {
            return true;
        }
    }
    if (d->n < WK_DENIED_MAX) {
        (void)snprintf(d->what[d->n], sizeof(d->what[d->n]), "%s", what);
        d->n++;
    }
    wk_log(log, WK_LOG_ERROR, "redis_denied",
           "op=\"%s\" err=\"%s\" hint=\"the worker's Redis user lacks a permission: see "
           "docs/acl.md (logged once)\"",
           what, wk_log_quote(text, q, sizeof(q)));
    return true;
}
