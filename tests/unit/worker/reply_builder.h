/*
 * reply_builder.h - hiredis replies built by hand for tests: the worker's
 * parsers read plain redisReply structs, so tests need no server.
 * Every builder returns an owned reply; rb_free frees a whole tree.
 */
#ifndef REPLY_BUILDER_H
#define REPLY_BUILDER_H

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

static inline redisReply *rb_new(int type)
{
    redisReply *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        abort();
    }
    r->type = type;
    return r;
}

/* A bulk string of n bytes (may hold NULs). */
static inline redisReply *rb_strn(const void *p, size_t n)
{
    redisReply *r = rb_new(REDIS_REPLY_STRING);

    r->str = malloc(n + 1);
    if (r->str == NULL) {
        abort();
    }
    memcpy(r->str, p, n);
    r->str[n] = '\0';
    r->len = n;
    return r;
}

static inline redisReply *rb_str(const char *s)
{
    return rb_strn(s, strlen(s));
}

static inline redisReply *rb_err(const char *s)
{
    redisReply *r = rb_str(s);

    r->type = REDIS_REPLY_ERROR;
    return r;
}

static inline redisReply *rb_int(long long v)
{
    redisReply *r = rb_new(REDIS_REPLY_INTEGER);

    r->integer = v;
    return r;
}

static inline redisReply *rb_nil(void)
{
    return rb_new(REDIS_REPLY_NIL);
}

/* An array of n replies (taken). */
static inline redisReply *rb_arr(size_t n, ...)
{
    redisReply *r = rb_new(REDIS_REPLY_ARRAY);
    va_list ap;

    r->elements = n;
    r->element = calloc(n + 1, sizeof(redisReply *));
    if (r->element == NULL) {
        abort();
    }
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        r->element[i] = va_arg(ap, redisReply *);
    }
    va_end(ap);
    return r;
}

static inline void rb_free(redisReply *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->elements; i++) {
        rb_free(r->element[i]);
    }
    free(r->element);
    free(r->str);
    free(r);
}

#endif /* REPLY_BUILDER_H */
