/*
 * fuzz_cursor.c - the cursors of the paged listings (peace/fleet_ops.h):
 * GET /v1/executions?cursor= ("c<SCORE>.<ID>", the position of the last
 * execution a page examined) and GET /v1/dead?cursor= (a stream entry id,
 * "MS-SEQ"), as pc_fop_create decodes them for the scheduler and the CLI.
 *
 * Input: one byte (bit 0: the dead letters' cursor, else the executions'),
 * then the cursor's text; a NUL ends it, as in the C string the query
 * decoder hands over.
 *
 * Properties: the cursor is accepted exactly when a reference grammar,
 * written here independently of the decoder, accepts it (decimal numbers of
 * 1 to 20 digits at most UINT64_MAX, an execution id per pc_exec_id_valid,
 * the whole within PC_FOP_CURSOR_MAX); a refusal is PC_EINVAL naming the
 * cursor; an accepted cursor positions the first command there (the
 * executions' ZREVRANGEBYSCORE starts at the score, in canonical decimal;
 * the dead letters' XREVRANGE starts after the entry id), and the canonical
 * form the API itself gives ("c%llu.%s") is accepted too, with the same
 * first command.
 */
#include <inttypes.h>
#include <string.h>

#include "fuzz.h"
#include "peace/fleet_ops.h"
#include "peace/ident.h"

/* (s, n) is 1..20 decimal digits of a value at most UINT64_MAX: *v. */
static bool ref_u64(const char *s, size_t n, uint64_t *v)
{
    static const char max[] = "18446744073709551615";
    size_t k = 0;

    if (n == 0 || n > 20) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    if (n == 20 && memcmp(s, max, 20) > 0) {
        return false;
    }
    *v = 0;
    for (k = 0; k < n; k++) {
        *v = *v * 10u + (uint64_t)(s[k] - '0');
    }
    return true;
}

/* The executions' cursor: c<SCORE>.<ID>. */
static bool ref_execs(const char *s, uint64_t *score, const char **id)
{
    const char *dot = s[0] == 'c' ? strchr(s, '.') : NULL;

    if (dot == NULL || !ref_u64(s + 1, (size_t)(dot - s - 1), score)) {
        return false;
    }
    *id = dot + 1;
    return strlen(*id) <= PC_EXEC_ID_MAX && pc_exec_id_valid(*id, strlen(*id));
}

/* The dead letters' cursor: MS-SEQ, shorter than PC_FOP_CURSOR_MAX. */
static bool ref_dead(const char *s)
{
    const char *dash = strchr(s, '-');
    uint64_t v;

    return strlen(s) < PC_FOP_CURSOR_MAX && dash != NULL && ref_u64(s, (size_t)(dash - s), &v) &&
           ref_u64(dash + 1, strlen(dash + 1), &v);
}

static bool arg_is(const struct pc_redis_args *a, size_t i, const char *want)
{
    return i < a->n && a->lens[i] == strlen(want) &&
           memcmp(a->data + a->off[i], want, a->lens[i]) == 0;
}

/* Creates the listing with cursor; returns pc_fop_create's code, and with
 * 0 checks the first command's start against want (the 3rd argument). */
static int try_cursor(enum pc_fop_kind kind, const char *cursor, const char *want)
{
    static const char *const fields[] = {"status", "created_ms"};
    struct pc_fop_params p = {.kind = kind,
                              .prefix = "peace",
                              .limit = 10,
                              .cursor = cursor,
                              .fields = fields,
                              .n_fields = 2};
    struct pc_fop *op = NULL;
    struct pc_err err;
    const struct pc_redis_args *cmds = NULL;
    size_t n = 0;
    int rc;

    pc_err_clear(&err);
    rc = pc_fop_create(&p, &op, &err);
    if (rc != 0) {
        FUZZ_CHECK(op == NULL);
        FUZZ_CHECK(rc == PC_EINVAL && strstr(err.msg, "cursor") != NULL);
        return rc;
    }
    pc_fop_round(op, &cmds, &n);
    FUZZ_CHECK(n >= 1);
    FUZZ_CHECK(arg_is(&cmds[0], 0, kind == PC_FOP_EXECS ? "ZREVRANGEBYSCORE" : "XREVRANGE"));
    FUZZ_CHECK(arg_is(&cmds[0], 2, want));
    pc_fop_destroy(op);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;
    char want[PC_FOP_CURSOR_MAX + 2];
    uint64_t score = 0;
    const char *id = NULL;
    bool dead;
    bool ok;

    if (size == 0) {
        return 0;
    }
    dead = (data[0] & 1) != 0;
    s = malloc(size);
    FUZZ_CHECK(s != NULL);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';

    if (dead) {
        ok = ref_dead(s);
        if (s[0] == '\0') {
            FUZZ_CHECK(try_cursor(PC_FOP_DEAD, s, "+") == 0); /* from the newest */
        } else {
            (void)snprintf(want, sizeof(want), "(%s", s);
            FUZZ_CHECK((try_cursor(PC_FOP_DEAD, s, want) == 0) == ok);
        }
    } else {
        ok = ref_execs(s, &score, &id);
        (void)snprintf(want, sizeof(want), "%" PRIu64, score);
        if (s[0] == '\0') {
            FUZZ_CHECK(try_cursor(PC_FOP_EXECS, s, "+inf") == 0); /* from the newest */
        } else {
            FUZZ_CHECK((try_cursor(PC_FOP_EXECS, s, want) == 0) == ok);
        }
        if (ok) {
            char canonical[PC_FOP_CURSOR_MAX];
            int len = snprintf(canonical, sizeof(canonical), "c%" PRIu64 ".%s", score, id);

            FUZZ_CHECK(len > 0 && (size_t)len < sizeof(canonical));
            FUZZ_CHECK(try_cursor(PC_FOP_EXECS, canonical, want) == 0);
        }
    }
    free(s);
    return 0;
}
