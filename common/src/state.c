/*
 * state.c - state values (msgpack bytes) and per-flow state maps.
 *
 * The JSON rendering walks a msgpack_unpacked value; it is only used for
 * display (CLI, HTTP, guard messages), so ext values are shown as null (the
 * unknown mark as {"$peace":"unknown"}) and bin values as base64 text.
 */
#include "peace/state.h"
#include "peace/store.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#define STATE_JSON_DEPTH_MAX 64
/* Longest JSON text of a non-string map key before it is cut (see json_object). */
#define STATE_JSON_KEY_MAX 4096

int pc_state_set(struct pc_state *s, const void *p, size_t n)
{
    uint8_t *copy = NULL;

    if (n > PC_STATE_MAX) {
        return PC_ELIMIT;
    }
    copy = malloc(n > 0 ? n : 1);
    if (copy == NULL) {
        return PC_ENOMEM;
    }
    if (n > 0) {
        memcpy(copy, p, n);
    }
    free(s->data);
    s->data = copy;
    s->len = n;
    return 0;
}

int pc_state_set_nil(struct pc_state *s)
{
    static const uint8_t nil = 0xc0;

    return pc_state_set(s, &nil, 1);
}

int pc_state_take(struct pc_state *s, void *p, size_t n)
{
    if (n > PC_STATE_MAX) {
        free(p);
        return PC_ELIMIT;
    }
    free(s->data);
    s->data = p;
    s->len = n;
    return 0;
}

int pc_state_copy(struct pc_state *dst, const struct pc_state *src)
{
    if (src->data == NULL) {
        pc_state_clear(dst);
        return 0;
    }
    return pc_state_set(dst, src->data, src->len);
}

void pc_state_move(struct pc_state *dst, struct pc_state *src)
{
    if (dst == src) {
        return;
    }
    free(dst->data);
    dst->data = src->data;
    dst->len = src->len;
    src->data = NULL;
    src->len = 0;
}

void pc_state_clear(struct pc_state *s)
{
    free(s->data);
    s->data = NULL;
    s->len = 0;
}

static const uint8_t state_unknown[] = {0xd4, PC_STATE_EXT_UNKNOWN, 'u'};

int pc_state_set_unknown(struct pc_state *s)
{
    return pc_state_set(s, state_unknown, sizeof(state_unknown));
}

bool pc_state_is_unknown(const struct pc_state *s)
{
    return s->data != NULL && s->len == sizeof(state_unknown) &&
           memcmp(s->data, state_unknown, sizeof(state_unknown)) == 0;
}

bool pc_state_present(const struct pc_state *s)
{
    return s != NULL && s->data != NULL && s->len > 0 && !(s->len == 1 && s->data[0] == 0xc0);
}

bool pc_state_bytes_eq(const struct pc_state *a, const struct pc_state *b)
{
    bool pa = pc_state_present(a);
    bool pb = pc_state_present(b);

    if (!pa || !pb) {
        return pa == pb;
    }
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

static int json_base64(struct pc_buf *out, const char *p, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *s = (const unsigned char *)p;
    int rc = pc_buf_append(out, "\"", 1);

    for (size_t i = 0; rc == 0 && i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16;
        char q[4];

        if (i + 1 < n) {
            v |= (uint32_t)s[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= s[i + 2];
        }
        q[0] = tbl[(v >> 18) & 63];
        q[1] = tbl[(v >> 12) & 63];
        q[2] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        q[3] = i + 2 < n ? tbl[v & 63] : '=';
        rc = pc_buf_append(out, q, 4);
    }
    return rc != 0 ? rc : pc_buf_append(out, "\"", 1);
}

static int json_object(struct pc_buf *out, const msgpack_object *o, int depth)
{
    int rc = 0;

    if (depth > STATE_JSON_DEPTH_MAX) {
        return PC_ELIMIT;
    }
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return pc_buf_puts(out, "null");
    case MSGPACK_OBJECT_BOOLEAN:
        return pc_buf_puts(out, o->via.boolean ? "true" : "false");
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return pc_buf_appendf(out, "%llu", (unsigned long long)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return pc_buf_appendf(out, "%lld", (long long)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return pc_buf_appendf(out, "%.17g", o->via.f64);
    case MSGPACK_OBJECT_STR:
        return pc_buf_append_json_str(out, o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return json_base64(out, o->via.bin.ptr, o->via.bin.size);
    case MSGPACK_OBJECT_ARRAY:
        rc = pc_buf_append(out, "[", 1);
        for (uint32_t i = 0; rc == 0 && i < o->via.array.size; i++) {
            if (i > 0) {
                rc = pc_buf_append(out, ",", 1);
            }
            if (rc == 0) {
                rc = json_object(out, &o->via.array.ptr[i], depth + 1);
            }
        }
        return rc != 0 ? rc : pc_buf_append(out, "]", 1);
    case MSGPACK_OBJECT_MAP:
        rc = pc_buf_append(out, "{", 1);
        for (uint32_t i = 0; rc == 0 && i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];

            if (i > 0) {
                rc = pc_buf_append(out, ",", 1);
            }
            if (rc == 0 && kv->key.type == MSGPACK_OBJECT_STR) {
                rc = pc_buf_append_json_str(out, kv->key.via.str.ptr, kv->key.via.str.size);
            } else if (rc == 0) {
                /* JSON keys are strings: render other keys as their JSON text,
                 * quoted, cut to STATE_JSON_KEY_MAX bytes (at a character
                 * boundary, marked "...") so that one odd key never makes a
                 * whole state, or a listing of states, unrenderable. */
                struct pc_buf key;

                pc_buf_init(&key, out->max);
                rc = json_object(&key, &kv->key, depth + 1);
                if (rc == 0 && key.len > STATE_JSON_KEY_MAX) {
                    size_t cut = STATE_JSON_KEY_MAX;

                    while (cut > 0 && ((unsigned char)key.data[cut] & 0xC0u) == 0x80u) {
                        cut--;
                    }
                    key.len = cut;
                    key.data[cut] = '\0';
                    rc = pc_buf_puts(&key, "...");
                }
                if (rc == 0) {
                    rc = pc_buf_append_json_str(out, key.data, key.len);
                }
                pc_buf_cleanup(&key);
            }
            if (rc == 0) {
                rc = pc_buf_append(out, ":", 1);
            }
            if (rc == 0) {
                rc = json_object(out, &kv->val, depth + 1);
            }
        }
        return rc != 0 ? rc : pc_buf_append(out, "}", 1);
    default:
        return pc_buf_puts(out, "null");
    }
}

int pc_state_to_json(const struct pc_state *s, struct pc_buf *out)
{
    msgpack_unpacked u;
    msgpack_unpack_return ur;
    size_t off = 0;
    size_t start = out->len;
    int rc;

    if (!pc_state_present(s)) {
        return pc_buf_puts(out, "null");
    }
    if (pc_state_is_unknown(s)) {
        return pc_buf_puts(out, "{\"$peace\":\"unknown\"}");
    }
    msgpack_unpacked_init(&u);
    ur = msgpack_unpack_next(&u, (const char *)s->data, s->len, &off);
    if (ur != MSGPACK_UNPACK_SUCCESS || off != s->len) {
        msgpack_unpacked_destroy(&u);
        return ur == MSGPACK_UNPACK_NOMEM_ERROR ? PC_ENOMEM : PC_ESCHEMA;
    }
    rc = json_object(out, &u.data, 0);
    msgpack_unpacked_destroy(&u);
    if (rc != 0) {
        out->len = start;
        if (out->data != NULL) {
            out->data[start] = '\0';
        }
    }
    return rc;
}

int pc_states_init(struct pc_states *m, size_t n)
{
    m->v = calloc(n > 0 ? n : 1, sizeof(*m->v));
    if (m->v == NULL) {
        m->n = 0;
        return PC_ENOMEM;
    }
    m->n = n;
    return 0;
}

int pc_states_copy(struct pc_states *dst, const struct pc_states *src)
{
    int rc = pc_states_init(dst, src->n);

    for (size_t i = 0; rc == 0 && i < src->n; i++) {
        rc = pc_state_copy(&dst->v[i], &src->v[i]);
    }
    if (rc != 0) {
        pc_states_cleanup(dst);
    }
    return rc;
}

void pc_states_cleanup(struct pc_states *m)
{
    if (m->v != NULL) {
        for (size_t i = 0; i < m->n; i++) {
            pc_state_clear(&m->v[i]);
        }
    }
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

void pc_stored_items_cleanup(struct pc_stored_items *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].params);
        free(s->v[i].deps);
    }
    free(s->v);
    s->v = NULL;
    s->n = 0;
}
