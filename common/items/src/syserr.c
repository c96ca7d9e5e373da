/*
 * syserr.c - turning a negative errno into item error text.
 *
 * Item errors end up in outcome reports read by people, so they carry the
 * system's text ("No such file or directory") rather than a code name. The
 * XSI strerror_r is used (thread-safe, caller buffer); this file must not
 * define _GNU_SOURCE, which would select the GNU variant instead.
 */
#include "items_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int pc__err_sys(struct pc_err *err, int code, const char *fmt, ...)
{
    char what[PC_ERR_MSG_MAX];
    char text[128];
    va_list ap;

    if (err == NULL) {
        return code;
    }
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (code >= 0 || strerror_r(-code, text, sizeof(text)) != 0) {
        snprintf(text, sizeof(text), "%s", pc_strerror(code));
    }
    return pc_err_set(err, code, "%s: %s", what, text);
}
