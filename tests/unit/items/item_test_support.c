/*
 * item_test_support.c - see item_test_support.h. JSON goes through jansson
 * and is repacked as msgpack, the way flow params reach item types.
 */
#define _GNU_SOURCE /* NOLINT(bugprone-reserved-identifier): nftw, mkdtemp */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "item_test_support.h"
#include "peace/params.h"

static void pack_json(msgpack_packer *pk, const json_t *j)
{
    if (j == NULL) {
        msgpack_pack_nil(pk);
        return;
    }
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *key = NULL;
        json_t *v = NULL;

        msgpack_pack_map(pk, json_object_size(j));
        json_object_foreach((json_t *)j, key, v)
        {
            msgpack_pack_str(pk, strlen(key));
            msgpack_pack_str_body(pk, key, strlen(key));
            pack_json(pk, v);
        }
        break;
    }
    case JSON_ARRAY:
        msgpack_pack_array(pk, json_array_size(j));
        for (size_t i = 0; i < json_array_size(j); i++) {
            pack_json(pk, json_array_get(j, i));
        }
        break;
    case JSON_STRING:
        msgpack_pack_str(pk, json_string_length(j));
        msgpack_pack_str_body(pk, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        if (json_integer_value(j) >= 0) {
            msgpack_pack_uint64(pk, (uint64_t)json_integer_value(j));
        } else {
            msgpack_pack_int64(pk, json_integer_value(j));
        }
        break;
    case JSON_REAL:
        msgpack_pack_double(pk, json_real_value(j));
        break;
    case JSON_TRUE:
        msgpack_pack_true(pk);
        break;
    case JSON_FALSE:
        msgpack_pack_false(pk);
        break;
    case JSON_NULL:
        msgpack_pack_nil(pk);
        break;
    }
}

/* Packs JSON text into sbuf; fails the test on a syntax error. */
static void json_to_msgpack(msgpack_sbuffer *sbuf, const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    msgpack_packer pk;

    if (j == NULL) {
        fail_msg("bad test JSON (%s): %s", jerr.text, text);
    }
    msgpack_sbuffer_init(sbuf);
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    pack_json(&pk, j);
    json_decref(j);
}

const msgpack_object *test_params_json(struct test_params *tp, const char *fmt, ...)
{
    char text[8192];
    va_list ap;
    size_t off = 0;
    int n = 0;

    va_start(ap, fmt);
    n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof(text));
    json_to_msgpack(&tp->sbuf, text);
    msgpack_unpacked_init(&tp->u);
    assert_int_equal(msgpack_unpack_next(&tp->u, tp->sbuf.data, tp->sbuf.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    tp->obj = &tp->u.data;
    return tp->obj;
}

void test_params_free(struct test_params *tp)
{
    msgpack_unpacked_destroy(&tp->u);
    msgpack_sbuffer_destroy(&tp->sbuf);
}

static void rec_report(void *ctx, size_t item, uint64_t inc, bool tick, const char *msg,
                       size_t msg_len)
{
    struct progress_rec *rec = ctx;

    (void)item;
    rec->units += inc;
    if (inc > 0) {
        rec->n_inc++;
    }
    if (tick) {
        rec->n_tick++;
    }
    if (msg != NULL) {
        size_t n = msg_len < sizeof(rec->last_msg) - 1 ? msg_len : sizeof(rec->last_msg) - 1;

        memcpy(rec->last_msg, msg, n);
        rec->last_msg[n] = '\0';
    }
}

static const struct pc_item_progress_ops rec_ops = {.report = rec_report};

void progress_rec_ctx(struct progress_rec *rec, struct pc_item_ctx *ctx,
                      const struct pc_state *stored_current)
{
    memset(rec, 0, sizeof(*rec));
    memset(ctx, 0, sizeof(*ctx));
    ctx->ops = &rec_ops;
    ctx->ops_ctx = rec;
    ctx->item = 0;
    ctx->item_id = "test_item";
    ctx->stored_current = stored_current;
}

void *params_create_ok(const struct pc_item_type *t, const msgpack_object *params)
{
    struct pc_err err = {0};
    void *p = NULL;
    int rc = t->params_create(params, &p, &err);

    if (rc != 0) {
        fail_msg("%s params: %s", t->name, err.msg);
    }
    assert_non_null(p);
    return p;
}

const char *params_create_err(const struct pc_item_type *t, const msgpack_object *params, int code)
{
    static char msg[PC_ERR_MSG_MAX];
    struct pc_err err = {0};
    void *p = NULL;
    int rc = t->params_create(params, &p, &err);

    if (rc == 0) {
        t->params_destroy(p);
        fail_msg("%s params accepted, expected an error", t->name);
    }
    assert_int_equal(rc, code);
    assert_int_equal(err.code, code);
    assert_null(p);
    memcpy(msg, err.msg, sizeof(msg));
    return msg;
}

/* Decodes s and finds key; the caller destroys u. */
static const msgpack_object *state_field(msgpack_unpacked *u, const struct pc_state *s,
                                         const char *key)
{
    size_t off = 0;
    const msgpack_object *v = NULL;

    assert_non_null(s->data);
    msgpack_unpacked_init(u);
    assert_int_equal(msgpack_unpack_next(u, (const char *)s->data, s->len, &off),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, s->len);
    v = pc_msgpack_map_get(&u->data, key);
    if (v == NULL) {
        msgpack_unpacked_destroy(u);
        fail_msg("state has no key %s", key);
    }
    return v;
}

bool state_bool(const struct pc_state *s, const char *key)
{
    msgpack_unpacked u;
    const msgpack_object *v = state_field(&u, s, key);
    bool b = false;

    assert_int_equal(v->type, MSGPACK_OBJECT_BOOLEAN);
    b = v->via.boolean;
    msgpack_unpacked_destroy(&u);
    return b;
}

uint64_t state_u64(const struct pc_state *s, const char *key)
{
    msgpack_unpacked u;
    const msgpack_object *v = state_field(&u, s, key);
    uint64_t n = 0;

    assert_int_equal(v->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    n = v->via.u64;
    msgpack_unpacked_destroy(&u);
    return n;
}

int64_t state_i64(const struct pc_state *s, const char *key)
{
    msgpack_unpacked u;
    const msgpack_object *v = state_field(&u, s, key);
    int64_t n = 0;

    assert_true(v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
                v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER);
    n = v->via.i64;
    msgpack_unpacked_destroy(&u);
    return n;
}

bool state_is_nil(const struct pc_state *s, const char *key)
{
    msgpack_unpacked u;
    const msgpack_object *v = state_field(&u, s, key);
    bool nil = v->type == MSGPACK_OBJECT_NIL;

    msgpack_unpacked_destroy(&u);
    return nil;
}

char *state_str(const struct pc_state *s, const char *key)
{
    msgpack_unpacked u;
    const msgpack_object *v = state_field(&u, s, key);
    char *out = NULL;

    assert_int_equal(v->type, MSGPACK_OBJECT_STR);
    out = malloc(v->via.str.size + 1);
    assert_non_null(out);
    if (v->via.str.size > 0) {
        memcpy(out, v->via.str.ptr, v->via.str.size);
    }
    out[v->via.str.size] = '\0';
    msgpack_unpacked_destroy(&u);
    return out;
}

void state_from_json(struct pc_state *out, const char *fmt, ...)
{
    char text[8192];
    msgpack_sbuffer sbuf;
    va_list ap;
    int n = 0;

    va_start(ap, fmt);
    n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof(text));
    json_to_msgpack(&sbuf, text);
    assert_int_equal(pc_state_set(out, sbuf.data, sbuf.size), 0);
    msgpack_sbuffer_destroy(&sbuf);
}

void scratch_init(struct scratch *s)
{
    snprintf(s->dir, sizeof(s->dir), "/tmp/peace-items-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void scratch_cleanup(struct scratch *s)
{
    /* Restore write permission first in case a test removed it. */
    chmod(s->dir, 0700);
    nftw(s->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

size_t dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e = NULL;
    size_t n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

char *read_file_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0;

    if (f == NULL) {
        return NULL;
    }
    buf = malloc(1 << 20);
    assert_non_null(buf);
    n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (len != NULL) {
        *len = n;
    }
    return buf;
}

void write_file_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}
