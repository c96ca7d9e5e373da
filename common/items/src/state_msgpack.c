/*
 * state_msgpack.c - building and reading the msgpack maps that the built-in
 * items use as states and diffs.
 *
 * The writer packs into a msgpack_sbuffer whose heap block is handed to the
 * state without a copy (pc_state_take). Pack failures are sticky so a
 * builder packs a whole map and checks once. The reader decodes a state that
 * may come from a store written by another version or by hand, so every
 * getter checks the type and names the state and the key in its error.
 */
#include "items_internal.h"

#include <stdlib.h>
#include <string.h>

#include "peace/params.h"

/* ------------------------------------------------------------------------ */
/* Writer                                                                    */

void pc__mpw_init(struct pc__mpw *w)
{
    msgpack_sbuffer_init(&w->sbuf);
    msgpack_packer_init(&w->pk, &w->sbuf, msgpack_sbuffer_write);
    w->rc = 0;
}

void pc__mpw_cleanup(struct pc__mpw *w)
{
    msgpack_sbuffer_destroy(&w->sbuf);
    msgpack_sbuffer_init(&w->sbuf);
}

/* msgpack-c reports any pack failure as a negative int: only allocation can fail. */
static void mpw_check(struct pc__mpw *w, int pack_rc)
{
    if (pack_rc != 0 && w->rc == 0) {
        w->rc = PC_ENOMEM;
    }
}

void pc__mpw_map(struct pc__mpw *w, uint32_t n)
{
    mpw_check(w, msgpack_pack_map(&w->pk, n));
}

void pc__mpw_str(struct pc__mpw *w, const void *p, size_t n)
{
    if (n > UINT32_MAX) {
        mpw_check(w, -1);
        return;
    }
    mpw_check(w, msgpack_pack_str(&w->pk, n));
    if (n > 0) {
        mpw_check(w, msgpack_pack_str_body(&w->pk, p, n));
    }
}

void pc__mpw_cstr(struct pc__mpw *w, const char *s)
{
    pc__mpw_str(w, s, strlen(s));
}

void pc__mpw_bool(struct pc__mpw *w, bool v)
{
    mpw_check(w, v ? msgpack_pack_true(&w->pk) : msgpack_pack_false(&w->pk));
}

void pc__mpw_u64(struct pc__mpw *w, uint64_t v)
{
    mpw_check(w, msgpack_pack_uint64(&w->pk, v));
}

void pc__mpw_i64(struct pc__mpw *w, int64_t v)
{
    mpw_check(w, msgpack_pack_int64(&w->pk, v));
}

void pc__mpw_nil(struct pc__mpw *w)
{
    mpw_check(w, msgpack_pack_nil(&w->pk));
}

int pc__mpw_finish(struct pc__mpw *w, struct pc_state *out, struct pc_err *err)
{
    size_t len = w->sbuf.size;
    char *data = NULL;
    int rc = 0;

    if (w->rc != 0) {
        rc = w->rc;
        pc__mpw_cleanup(w);
        return pc_err_set(err, rc, "out of memory while encoding a state");
    }
    data = msgpack_sbuffer_release(&w->sbuf);
    rc = pc_state_take(out, data, len);
    if (rc < 0) {
        return pc_err_set(err, rc, "state of %zu bytes exceeds the limit of %u bytes", len,
                          (unsigned)PC_STATE_MAX);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Reader                                                                    */

int pc__mpr_open(struct pc__mpr *r, const struct pc_state *s, const char *what, struct pc_err *err)
{
    size_t off = 0;
    msgpack_unpack_return ur;

    if (!pc_state_present(s)) {
        return pc_err_set(err, PC_EINVAL, "%s: absent (not discovered)", what);
    }
    msgpack_unpacked_init(&r->u);
    ur = msgpack_unpack_next(&r->u, (const char *)s->data, s->len, &off);
    if (ur != MSGPACK_UNPACK_SUCCESS || off != s->len || r->u.data.type != MSGPACK_OBJECT_MAP) {
        msgpack_unpacked_destroy(&r->u);
        return pc_err_set(err, PC_ESCHEMA, "%s: not a msgpack map", what);
    }
    r->map = &r->u.data;
    r->what = what;
    return 0;
}

void pc__mpr_close(struct pc__mpr *r)
{
    msgpack_unpacked_destroy(&r->u);
    r->map = NULL;
}

static const msgpack_object *mpr_get(const struct pc__mpr *r, const char *key, struct pc_err *err)
{
    const msgpack_object *v = pc_msgpack_map_get(r->map, key);

    if (v == NULL) {
        pc_err_set(err, PC_ESCHEMA, "%s: missing key %s", r->what, key);
    }
    return v;
}

int pc__mpr_bool(const struct pc__mpr *r, const char *key, bool *out, struct pc_err *err)
{
    const msgpack_object *v = mpr_get(r, key, err);

    if (v == NULL) {
        return PC_ESCHEMA;
    }
    if (v->type != MSGPACK_OBJECT_BOOLEAN) {
        return pc_err_set(err, PC_ESCHEMA, "%s.%s: expected a boolean", r->what, key);
    }
    *out = v->via.boolean;
    return 0;
}

int pc__mpr_u64(const struct pc__mpr *r, const char *key, uint64_t *out, struct pc_err *err)
{
    const msgpack_object *v = mpr_get(r, key, err);

    if (v == NULL) {
        return PC_ESCHEMA;
    }
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        return pc_err_set(err, PC_ESCHEMA, "%s.%s: expected a non-negative integer", r->what, key);
    }
    *out = v->via.u64;
    return 0;
}

int pc__mpr_i64_or_nil(const struct pc__mpr *r, const char *key, int64_t *out, bool *is_nil,
                       struct pc_err *err)
{
    const msgpack_object *v = mpr_get(r, key, err);

    if (v == NULL) {
        return PC_ESCHEMA;
    }
    if (v->type == MSGPACK_OBJECT_NIL) {
        *out = 0;
        *is_nil = true;
        return 0;
    }
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = v->via.i64;
    } else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT64_MAX) {
        *out = (int64_t)v->via.u64;
    } else {
        return pc_err_set(err, PC_ESCHEMA, "%s.%s: expected an integer or nil", r->what, key);
    }
    *is_nil = false;
    return 0;
}

int pc__mpr_str(const struct pc__mpr *r, const char *key, bool allow_nil, const char **p, size_t *n,
                struct pc_err *err)
{
    const msgpack_object *v = mpr_get(r, key, err);

    if (v == NULL) {
        return PC_ESCHEMA;
    }
    if (allow_nil && v->type == MSGPACK_OBJECT_NIL) {
        *p = NULL;
        *n = 0;
        return 0;
    }
    if (v->type != MSGPACK_OBJECT_STR) {
        return pc_err_set(err, PC_ESCHEMA, "%s.%s: expected a string%s", r->what, key,
                          allow_nil ? " or nil" : "");
    }
    /* A zero-length str may carry a NULL ptr; normalise so NULL means nil. */
    *p = v->via.str.size > 0 ? v->via.str.ptr : "";
    *n = v->via.str.size;
    return 0;
}

bool pc__bytes_eq_opt(const char *ap, size_t an, const char *bp, size_t bn)
{
    if (ap == NULL || bp == NULL) {
        return ap == bp;
    }
    return an == bn && (an == 0 || memcmp(ap, bp, an) == 0);
}
