/*
 * ident.h - identifiers of the model: app, profile, flow and item ids.
 *
 * An identifier is [A-Za-z_][A-Za-z0-9_]* and at most PC_ID_MAX bytes
 * (CONTRACT §2). struct pc_id is a fixed-size value type, so ids can be copied
 * and stored without allocation.
 */
#ifndef PEACE_IDENT_H
#define PEACE_IDENT_H

#include <stdbool.h>
#include <stddef.h>

#include "peace/err.h"

#define PC_ID_MAX 64

struct pc_id {
    char s[PC_ID_MAX + 1]; /* NUL-terminated */
};

/* The longest execution id: ULID or UUID text fits with room to spare. */
#define PC_EXEC_ID_MAX 64

/* True when (p, n) is a valid identifier. */
bool pc_ident_valid(const char *p, size_t n);

/*
 * Validates (p, n) and copies it into out. `what` names the identifier in the
 * error ("item id", "app"...). Returns 0 or PC_EINVAL.
 */
int pc_id_set(struct pc_id *out, const char *p, size_t n, const char *what, struct pc_err *err);

/*
 * True for an execution id that can name Redis keys, URL paths and log
 * fields as it is: 1..PC_EXEC_ID_MAX bytes of [0-9A-Za-z-] (ULID or UUID
 * text). p may be NULL when n is 0.
 */
bool pc_exec_id_valid(const char *p, size_t n);

#endif /* PEACE_IDENT_H */
