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

/* True when (p, n) is a valid identifier. */
bool pc_ident_valid(const char *p, size_t n);

/*
 * Validates (p, n) and copies it into out. `what` names the identifier in the
 * error ("item id", "app"...). Returns 0 or PC_EINVAL.
 */
int pc_id_set(struct pc_id *out, const char *p, size_t n, const char *what, struct pc_err *err);

#endif /* PEACE_IDENT_H */
