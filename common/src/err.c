/*
 * err.c - the error record and code names.
 *
 * Messages are sanitised as they are written (CR/LF become spaces) so any
 * text that reaches a log line, an HTTP body or a Redis field stays on one
 * line whatever input produced it.
 */
#include "peace/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static void sanitise(char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\r' || *s == '\n') {
            *s = ' ';
        }
    }
}

int pc_err_set(struct pc_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL) {
        return code;
    }
    err->code = code;
    va_start(ap, fmt);
    (void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    sanitise(err->msg);
    return code;
}

void pc_err_prefix(struct pc_err *err, const char *fmt, ...)
{
    char prefix[PC_ERR_MSG_MAX];
    char old[PC_ERR_MSG_MAX];
    va_list ap;

    if (err == NULL) {
        return;
    }
    va_start(ap, fmt);
    (void)vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    {
        /* Assemble by hand: truncation of the tail is intended. */
        size_t np = strnlen(prefix, sizeof(prefix));
        size_t no = strnlen(old, sizeof(old));
        size_t cap = sizeof(err->msg) - 1;
        size_t n = 0;

        memcpy(err->msg, prefix, np < cap ? np : cap);
        n = np < cap ? np : cap;
        if (n + 2 <= cap) {
            memcpy(err->msg + n, ": ", 2);
            n += 2;
        }
        if (n < cap) {
            size_t take = no < cap - n ? no : cap - n;
            memcpy(err->msg + n, old, take);
            n += take;
        }
        err->msg[n] = '\0';
    }
    sanitise(err->msg);
}

void pc_err_clear(struct pc_err *err)
{
    if (err != NULL) {
        err->code = PC_OK;
        err->msg[0] = '\0';
    }
}

const char *pc_strerror(int code)
{
    switch (code) {
    case PC_OK:
        return "OK";
    case PC_EINVAL:
        return "EINVAL";
    case PC_ESCHEMA:
        return "ESCHEMA";
    case PC_ELIMIT:
        return "ELIMIT";
    case PC_ENOTFOUND:
        return "ENOTFOUND";
    case PC_EITEM:
        return "EITEM";
    case PC_ESTALE:
        return "ESTALE";
    case PC_EREDIS:
        return "EREDIS";
    case PC_EFENCED:
        return "EFENCED";
    case PC_EINTERNAL:
        return "EINTERNAL";
    case PC_ENOMEM:
        return "ENOMEM";
    case PC_EIO:
        return "EIO";
    case PC_ECANCELED:
        return "ECANCELED";
    case -ENOENT:
        return "ENOENT";
    case -EACCES:
        return "EACCES";
    case -EEXIST:
        return "EEXIST";
    case -ENOMEM:
        return "ENOMEM";
    case -EINVAL:
        return "EINVAL";
    case -EIO:
        return "EIO";
    case -ETIMEDOUT:
        return "ETIMEDOUT";
    case -ECONNREFUSED:
        return "ECONNREFUSED";
    default:
        return code < 0 && code > -1000 ? "ESYSTEM" : "EUNKNOWN";
    }
}
