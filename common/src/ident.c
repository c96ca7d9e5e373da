/*
 * ident.c - identifier validation (CONTRACT §2).
 */
#include "peace/ident.h"

#include <string.h>

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

bool pc_ident_valid(const char *p, size_t n)
{
    if (p == NULL || n == 0 || n > PC_ID_MAX || !is_alpha(p[0])) {
        return false;
    }
    for (size_t i = 1; i < n; i++) {
        if (!is_alpha(p[i]) && !is_digit(p[i])) {
            return false;
        }
    }
    return true;
}

int pc_id_set(struct pc_id *out, const char *p, size_t n, const char *what, struct pc_err *err)
{
    if (!pc_ident_valid(p, n)) {
        if (n > PC_ID_MAX) {
            return pc_err_set(err, PC_EINVAL, "%s is longer than %d bytes", what, PC_ID_MAX);
        }
        return pc_err_set(err, PC_EINVAL,
                          "%s \"%.*s\" is not an identifier ([A-Za-z_][A-Za-z0-9_]*)", what,
                          (int)(n > PC_ID_MAX ? PC_ID_MAX : n), p != NULL ? p : "");
    }
    memcpy(out->s, p, n);
    out->s[n] = '\0';
    return 0;
}

bool pc_exec_id_valid(const char *p, size_t n)
{
    if (p == NULL || n == 0 || n > PC_EXEC_ID_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = p[i];

        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              c == '-')) {
            return false;
        }
    }
    return true;
}
