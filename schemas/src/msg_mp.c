/*
 * msg_mp.c - the bounded msgpack reader and the pc_buf-backed writer.
 *
 * Decoding does not go through msgpack_unpack: that builds a whole object
 * tree in a zone and sizes each container from its declared count before
 * seeing its elements, so hostile input could ask for gigabytes. The cursor
 * here reads one header at a time, checks every length against the bytes
 * left, and lets the codecs copy only what they keep. Types follow the
 * msgpack specification; 0xc1 (never used) is malformed.
 */
#include "msg_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/msg.h"

/* Depth allowed while skipping unknown envelope content before the version is known. */
#define SKIP_DEPTH_ANY 64

enum head_kind {
    HEAD_NIL,
    HEAD_BOOL,
    HEAD_UINT,
    HEAD_INT, /* negative */
    HEAD_FLOAT,
    HEAD_STR,
    HEAD_BIN,
    HEAD_EXT,
    HEAD_ARRAY,
    HEAD_MAP,
};

/*
 * One decoded header. For str/bin/ext/float, len is the payload that
 * follows (not yet consumed); for array/map, len is the element count.
 */
struct head {
    enum head_kind kind;
    uint64_t u;
    uint64_t len;
};

void msg__rd_init(struct msg__rd *r, const void *p, size_t n)
{
    r->p = p;
    r->n = p != NULL ? n : 0;
    r->off = 0;
    r->why = "";
}

bool msg__rd_done(const struct msg__rd *r)
{
    return r->off == r->n;
}

static size_t left(const struct msg__rd *r)
{
    return r->n - r->off;
}

static int truncated(struct msg__rd *r)
{
    r->why = "truncated";
    return PC_ESCHEMA;
}

/* Reads a k-byte big-endian number (k <= 8) after the type byte. */
static int read_be(struct msg__rd *r, size_t k, uint64_t *v)
{
    uint64_t x = 0;

    if (left(r) < k) {
        return truncated(r);
    }
    for (size_t i = 0; i < k; i++) {
        x = (x << 8) | r->p[r->off + i];
    }
    r->off += k;
    *v = x;
    return 0;
}

/* Sizes of the variable-width families, indexed from their first type byte. */
static const size_t width_8_16_32[] = {1, 2, 4};
static const size_t width_fixext[] = {1, 2, 4, 8, 16};

static int head_sized(struct msg__rd *r, enum head_kind kind, size_t width, struct head *h)
{
    h->kind = kind;
    return read_be(r, width, &h->len);
}

static int head_ext(struct msg__rd *r, size_t width, struct head *h)
{
    int rc = head_sized(r, HEAD_EXT, width, h);

    h->len += 1; /* the ext type byte precedes the data */
    return rc;
}

/* Decodes the header of a type byte in 0xc0..0xdf. */
static int head_c0_df(struct msg__rd *r, uint8_t b, struct head *h)
{
    int rc = 0;

    if (b == 0xc0 || b == 0xc2 || b == 0xc3) {
        h->kind = b == 0xc0 ? HEAD_NIL : HEAD_BOOL;
        h->u = b == 0xc3;
    } else if (b >= 0xc4 && b <= 0xc6) {
        rc = head_sized(r, HEAD_BIN, width_8_16_32[b - 0xc4], h);
    } else if (b >= 0xc7 && b <= 0xc9) {
        rc = head_ext(r, width_8_16_32[b - 0xc7], h);
    } else if (b == 0xca || b == 0xcb) {
        h->kind = HEAD_FLOAT;
        h->len = b == 0xca ? 4 : 8;
    } else if (b >= 0xcc && b <= 0xcf) {
        h->kind = HEAD_UINT;
        rc = read_be(r, (size_t)1 << (b - 0xcc), &h->u);
    } else if (b >= 0xd0 && b <= 0xd3) {
        size_t k = (size_t)1 << (b - 0xd0);
        unsigned shift = (unsigned)(64 - 8 * k);

        rc = read_be(r, k, &h->u);
        /* Sign-extend, then classify: a non-negative intN is just a uint. */
        h->u = shift == 0 ? h->u : (uint64_t)((int64_t)(h->u << shift) >> shift);
        h->kind = (int64_t)h->u < 0 ? HEAD_INT : HEAD_UINT;
    } else if (b >= 0xd4 && b <= 0xd8) {
        h->kind = HEAD_EXT;
        h->len = 1 + width_fixext[b - 0xd4];
    } else if (b >= 0xd9 && b <= 0xdb) {
        rc = head_sized(r, HEAD_STR, width_8_16_32[b - 0xd9], h);
    } else if (b == 0xdc || b == 0xdd) {
        rc = head_sized(r, HEAD_ARRAY, b == 0xdc ? 2 : 4, h);
    } else if (b == 0xde || b == 0xdf) {
        rc = head_sized(r, HEAD_MAP, b == 0xde ? 2 : 4, h);
    } else {
        r->why = "malformed (type byte 0xc1)";
        rc = PC_ESCHEMA;
    }
    return rc;
}

/*
 * Reads one header and checks that what it announces can fit: payloads must
 * be within the input, and each container element needs at least one byte.
 */
static int read_head(struct msg__rd *r, struct head *h)
{
    uint8_t b;
    int rc = 0;

    if (left(r) < 1) {
        return truncated(r);
    }
    b = r->p[r->off++];
    h->u = 0;
    h->len = 0;
    if (b <= 0x7f || b >= 0xe0) {
        h->kind = b <= 0x7f ? HEAD_UINT : HEAD_INT;
        h->u = b <= 0x7f ? b : (uint64_t)(int64_t)(int8_t)b;
    } else if (b <= 0x8f) {
        h->kind = HEAD_MAP;
        h->len = b & 0x0fu;
    } else if (b <= 0x9f) {
        h->kind = HEAD_ARRAY;
        h->len = b & 0x0fu;
    } else if (b <= 0xbf) {
        h->kind = HEAD_STR;
        h->len = b & 0x1fu;
    } else {
        rc = head_c0_df(r, b, h);
    }
    if (rc != 0) {
        return rc;
    }
    if ((h->kind == HEAD_ARRAY && h->len > left(r)) ||
        (h->kind == HEAD_MAP && h->len > left(r) / 2) ||
        ((h->kind == HEAD_STR || h->kind == HEAD_BIN || h->kind == HEAD_EXT ||
          h->kind == HEAD_FLOAT) &&
         h->len > left(r))) {
        return truncated(r);
    }
    return 0;
}

/* Reads a header of the wanted kind; otherwise rewinds and explains. */
static int expect(struct msg__rd *r, enum head_kind kind, const char *why, struct head *h)
{
    size_t start = r->off;
    int rc = read_head(r, h);

    if (rc == 0 && h->kind != kind) {
        r->off = start;
        r->why = why;
        rc = PC_ESCHEMA;
    }
    return rc;
}

int msg__rd_map(struct msg__rd *r, uint32_t *count)
{
    struct head h;
    int rc = expect(r, HEAD_MAP, "expected a map", &h);

    if (rc == 0) {
        *count = (uint32_t)h.len;
    }
    return rc;
}

int msg__rd_array(struct msg__rd *r, uint32_t *count)
{
    struct head h;
    int rc = expect(r, HEAD_ARRAY, "expected an array", &h);

    if (rc == 0) {
        *count = (uint32_t)h.len;
    }
    return rc;
}

int msg__rd_str(struct msg__rd *r, const char **p, size_t *n)
{
    struct head h;
    int rc = expect(r, HEAD_STR, "expected a string", &h);

    if (rc == 0) {
        *p = (const char *)r->p + r->off;
        *n = (size_t)h.len;
        r->off += (size_t)h.len;
    }
    return rc;
}

int msg__rd_uint(struct msg__rd *r, uint64_t *v)
{
    struct head h;
    int rc = expect(r, HEAD_UINT, "expected a non-negative integer", &h);

    if (rc == 0) {
        *v = h.u;
    }
    return rc;
}

int msg__rd_int(struct msg__rd *r, int64_t *v)
{
    size_t start = r->off;
    struct head h;
    int rc = read_head(r, &h);

    if (rc == 0 && (h.kind == HEAD_INT || (h.kind == HEAD_UINT && h.u <= (uint64_t)INT64_MAX))) {
        *v = (int64_t)h.u;
        return 0;
    }
    if (rc == 0) {
        r->off = start;
        r->why = "expected an integer of at most 63 bits";
        rc = PC_ESCHEMA;
    }
    return rc;
}

bool msg__rd_nil(struct msg__rd *r)
{
    if (left(r) >= 1 && r->p[r->off] == 0xc0) {
        r->off++;
        return true;
    }
    return false;
}

int msg__rd_bool(struct msg__rd *r, bool *v)
{
    if (left(r) >= 1 && (r->p[r->off] == 0xc2 || r->p[r->off] == 0xc3)) {
        *v = r->p[r->off] == 0xc3;
        r->off++;
        return 0;
    }
    r->why = "expected a boolean";
    return PC_ESCHEMA;
}

bool msg__rd_peek_map(const struct msg__rd *r)
{
    uint8_t b = left(r) >= 1 ? r->p[r->off] : 0;

    return left(r) >= 1 && ((b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf);
}

/* Recursion is bounded by depth_max; loops are bounded by the input length. */
static int skip(struct msg__rd *r, unsigned depth, unsigned depth_max)
{
    struct head h;
    uint64_t elements;
    int rc = read_head(r, &h);

    if (rc != 0) {
        return rc;
    }
    if (h.kind != HEAD_ARRAY && h.kind != HEAD_MAP) {
        r->off += (size_t)h.len; /* payload of str/bin/ext/float, 0 otherwise */
        return 0;
    }
    if (depth + 1 > depth_max) {
        r->why = "nested too deep";
        return PC_ELIMIT;
    }
    elements = h.kind == HEAD_MAP ? 2 * h.len : h.len;
    for (uint64_t i = 0; rc == 0 && i < elements; i++) {
        rc = skip(r, depth + 1, depth_max);
    }
    return rc;
}

int msg__rd_skip(struct msg__rd *r, unsigned depth_max)
{
    return skip(r, 0, depth_max);
}

int msg__rd_key(struct msg__rd *r, const char *const *names, size_t n_names, uint32_t *seen,
                size_t *index, const char *path, struct pc_err *err)
{
    const char *k = NULL;
    size_t n = 0;
    int rc = msg__rd_str(r, &k, &n);

    if (rc != 0) {
        return msg__fail(err, rc, r, "%s: key", path);
    }
    for (size_t i = 0; i < n_names; i++) {
        if (strlen(names[i]) == n && memcmp(names[i], k, n) == 0) {
            if ((*seen & (UINT32_C(1) << i)) != 0) {
                return pc_err_set(err, PC_ESCHEMA, "%s: key \"%s\" repeated", path, names[i]);
            }
            *seen |= UINT32_C(1) << i;
            *index = i;
            return 0;
        }
    }
    return pc_err_set(err, PC_ESCHEMA, "%s: unknown key \"%.*s\"", path, (int)(n > 64 ? 64 : n), k);
}

int msg__require(const char *const *names, size_t n_names, uint32_t required_mask, uint32_t seen,
                 const char *path, struct pc_err *err)
{
    for (size_t i = 0; i < n_names; i++) {
        uint32_t bit = UINT32_C(1) << i;

        if ((required_mask & bit) != 0 && (seen & bit) == 0) {
            return pc_err_set(err, PC_ESCHEMA, "%s: missing \"%s\"", path, names[i]);
        }
    }
    return 0;
}

int msg__fail(struct pc_err *err, int rc, const struct msg__rd *r, const char *fmt, ...)
{
    char path[PC_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    return pc_err_set(err, rc, "%s: %s", path, r->why);
}

/* Finds "v" among the top-level keys, skipping the other values. */
static int find_version(struct msg__rd *r, uint32_t count, uint64_t *v, const char *what,
                        struct pc_err *err)
{
    for (uint32_t i = 0; i < count; i++) {
        const char *k = NULL;
        size_t n = 0;
        int rc = msg__rd_str(r, &k, &n);

        if (rc != 0) {
            return msg__fail(err, rc, r, "%s: key", what);
        }
        if (n == 1 && k[0] == 'v') {
            rc = msg__rd_uint(r, v);
            return rc == 0 ? 0 : msg__fail(err, rc, r, "%s: v", what);
        }
        rc = msg__rd_skip(r, SKIP_DEPTH_ANY);
        if (rc != 0) {
            return msg__fail(err, rc, r, "%s: %.*s", what, (int)(n > 64 ? 64 : n), k);
        }
    }
    return pc_err_set(err, PC_ESCHEMA, "%s: no version field \"v\"", what);
}

int msg__check_version(const void *p, size_t n, size_t max, const char *what, struct pc_err *err)
{
    uint64_t v = 0;

    return msg__check_version_in(p, n, max, MSG_VERSION, MSG_VERSION, what, &v, err);
}

int msg__check_version_in(const void *p, size_t n, size_t max, uint64_t vmin, uint64_t vmax,
                          const char *what, uint64_t *version, struct pc_err *err)
{
    struct msg__rd r;
    uint32_t count = 0;
    uint64_t v = 0;
    int rc;

    if (n > max) {
        return pc_err_set(err, PC_ELIMIT, "%s: %zu bytes, more than the limit of %zu", what, n,
                          max);
    }
    msg__rd_init(&r, p, n);
    rc = msg__rd_map(&r, &count);
    if (rc != 0) {
        return msg__fail(err, rc, &r, "%s", what);
    }
    rc = find_version(&r, count, &v, what, err);
    if (rc == 0 && (v < vmin || v > vmax)) {
        rc = pc_err_set(err, PC_ESCHEMA,
                        "%s: unknown version %llu (this program reads versions %llu to %llu)", what,
                        (unsigned long long)v, (unsigned long long)vmin, (unsigned long long)vmax);
    }
    *version = v;
    return rc;
}

bool msg__has_nul(const char *p, size_t n)
{
    return n > 0 && memchr(p, '\0', n) != NULL;
}

int msg__rd_id(struct msg__rd *r, struct pc_id *out, const char *path, struct pc_err *err)
{
    const char *p = NULL;
    size_t n = 0;
    int rc = msg__rd_str(r, &p, &n);

    if (rc != 0) {
        return msg__fail(err, rc, r, "%s", path);
    }
    return pc_id_set(out, p, n, path, err);
}

int msg__rd_text(struct msg__rd *r, size_t max, char **out, const char *path, struct pc_err *err)
{
    const char *p = NULL;
    size_t n = 0;
    char *s = NULL;
    int rc = msg__rd_str(r, &p, &n);

    if (rc != 0) {
        return msg__fail(err, rc, r, "%s", path);
    }
    if (n > max) {
        return pc_err_set(err, PC_ELIMIT, "%s: %zu bytes, more than %zu", path, n, max);
    }
    if (msg__has_nul(p, n)) {
        return pc_err_set(err, PC_ESCHEMA, "%s: text holds a NUL byte", path);
    }
    s = malloc(n + 1);
    if (s == NULL) {
        return pc_err_set(err, PC_ENOMEM, "%s: out of memory", path);
    }
    if (n > 0) {
        memcpy(s, p, n);
    }
    s[n] = '\0';
    *out = s;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Writer                                                                   */
/* ------------------------------------------------------------------------ */

static int write_to_buf(void *data, const char *p, size_t n)
{
    return pc_buf_append(data, p, n);
}

void msg__wr_init(struct msg__wr *w, size_t max)
{
    pc_buf_init(&w->buf, max);
    msgpack_packer_init(&w->pk, &w->buf, write_to_buf);
    w->rc = 0;
}

void msg__wr_map(struct msg__wr *w, uint32_t n)
{
    if (w->rc == 0) {
        w->rc = msgpack_pack_map(&w->pk, n);
    }
}

void msg__wr_array(struct msg__wr *w, uint32_t n)
{
    if (w->rc == 0) {
        w->rc = msgpack_pack_array(&w->pk, n);
    }
}

void msg__wr_str(struct msg__wr *w, const char *p, size_t n)
{
    if (w->rc == 0 && n > UINT32_MAX) {
        w->rc = PC_ELIMIT;
    }
    if (w->rc == 0) {
        w->rc = msgpack_pack_str(&w->pk, n);
    }
    if (w->rc == 0) {
        w->rc = msgpack_pack_str_body(&w->pk, p, n);
    }
}

void msg__wr_cstr(struct msg__wr *w, const char *s)
{
    msg__wr_str(w, s, strlen(s));
}

void msg__wr_uint(struct msg__wr *w, uint64_t v)
{
    if (w->rc == 0) {
        w->rc = msgpack_pack_uint64(&w->pk, v);
    }
}

void msg__wr_int(struct msg__wr *w, int64_t v)
{
    if (w->rc == 0) {
        w->rc = msgpack_pack_int64(&w->pk, v);
    }
}

void msg__wr_nil(struct msg__wr *w)
{
    if (w->rc == 0) {
        w->rc = msgpack_pack_nil(&w->pk);
    }
}

void msg__wr_bool(struct msg__wr *w, bool v)
{
    if (w->rc == 0) {
        w->rc = v ? msgpack_pack_true(&w->pk) : msgpack_pack_false(&w->pk);
    }
}

void msg__wr_raw(struct msg__wr *w, const void *p, size_t n)
{
    if (w->rc == 0) {
        w->rc = pc_buf_append(&w->buf, p, n);
    }
}

int msg__wr_finish(struct msg__wr *w, struct pc_buf *out, const char *what, struct pc_err *err)
{
    int rc = w->rc;

    if (rc == 0) {
        *out = w->buf;
        pc_buf_init(&w->buf, 0);
        return 0;
    }
    msg__wr_cleanup(w);
    if (rc == PC_ELIMIT) {
        return pc_err_set(err, rc, "%s: larger than the limit of %zu bytes", what, w->buf.max);
    }
    return pc_err_set(err, rc < 0 ? rc : PC_ENOMEM, "%s: out of memory", what);
}

void msg__wr_cleanup(struct msg__wr *w)
{
    size_t max = w->buf.max;

    pc_buf_cleanup(&w->buf);
    pc_buf_init(&w->buf, max);
}
