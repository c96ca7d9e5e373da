/*
 * redis_util.c - the pure parts of redis_conn.h (backoff, reply text,
 * argument lists) and what redis_conn.c and redis_node.c share
 * (redis_util.h).
 */
#include "redis_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_conn_internal.h"

char *pc__put_u64(char *p, uint64_t v)
{
    char tmp[20];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0) {
        *p++ = tmp[--n];
    }
    return p;
}

void *pc__redis_conn_alloc(size_t size, const struct event_base *base,
                           const struct pc_redis_url *url, const struct pc_redis_conn_opts *opts,
                           const void *out, int *rc, struct pc_err *err)
{
    void *c = NULL;

    if (base == NULL || url == NULL || opts == NULL || out == NULL) {
        *rc = pc_err_set(err, PC_EINVAL, "redis connection: missing argument");
        return NULL;
    }
    c = calloc(1, size);
    if (c == NULL) {
        *rc = pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    return c;
}

/* ------------------------------------------------------------------------ */
/* Pure helpers                                                              */

uint32_t pc_redis_backoff_ms(unsigned attempt, uint32_t min_ms, uint32_t max_ms, uint32_t rand32)
{
    uint64_t d = min_ms == 0 ? 1 : min_ms;
    uint64_t half;

    if (max_ms < d) {
        max_ms = (uint32_t)d;
    }
    for (unsigned i = 0; i < attempt && d < max_ms; i++) {
        d *= 2;
    }
    if (d > max_ms) {
        d = max_ms;
    }
    /* Jitter into [d/2, d]: workers that lost Redis together do not all
     * come back in the same millisecond. */
    half = d / 2;
    d = half + (uint64_t)rand32 % (d - half + 1);
    return d == 0 ? 1 : (uint32_t)d;
}

bool pc_redis_reply_is_error(const redisReply *reply, const char *prefix)
{
    size_t n = strlen(prefix);

    return reply != NULL && reply->type == REDIS_REPLY_ERROR && reply->str != NULL &&
           reply->len >= n && memcmp(reply->str, prefix, n) == 0;
}

void pc_redis_reply_text(const redisReply *reply, char *out, size_t out_size)
{
    size_t n;

    if (out_size == 0) {
        return;
    }
    if (reply == NULL) {
        (void)snprintf(out, out_size, "no reply");
        return;
    }
    if (reply->str == NULL ||
        (reply->type != REDIS_REPLY_ERROR && reply->type != REDIS_REPLY_STATUS &&
         reply->type != REDIS_REPLY_STRING)) {
        (void)snprintf(out, out_size, "reply of type %d", reply->type);
        return;
    }
    n = reply->len < out_size - 1 ? reply->len : out_size - 1;
    memcpy(out, reply->str, n);
    out[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (out[i] == '\r' || out[i] == '\n' || out[i] == '\0') {
            out[i] = ' ';
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Argument lists                                                            */

static bool args_reserve(struct pc_redis_args *a, size_t more)
{
    if (a->rc != 0) {
        return false;
    }
    if (a->n == a->ncap) {
        size_t ncap = a->ncap == 0 ? 16 : a->ncap * 2;
        size_t *off = realloc(a->off, ncap * sizeof(*off));
        size_t *lens = NULL;

        if (off == NULL) {
            a->rc = PC_ENOMEM;
            return false;
        }
        a->off = off;
        lens = realloc(a->lens, ncap * sizeof(*lens));
        if (lens == NULL) {
            a->rc = PC_ENOMEM;
            return false;
        }
        a->lens = lens;
        a->ncap = ncap;
    }
    if (more > (size_t)PC__ARGS_MAX_BYTES - a->len) {
        a->rc = PC_ELIMIT;
        return false;
    }
    if (a->len + more + 1 > a->cap) {
        size_t cap = a->cap == 0 ? 256 : a->cap;
        char *data = NULL;

        while (cap < a->len + more + 1) {
            cap *= 2;
        }
        data = realloc(a->data, cap);
        if (data == NULL) {
            a->rc = PC_ENOMEM;
            return false;
        }
        a->data = data;
        a->cap = cap;
    }
    return true;
}

void pc_redis_args_init(struct pc_redis_args *a)
{
    memset(a, 0, sizeof(*a));
}

void pc_redis_args_cleanup(struct pc_redis_args *a)
{
    if (a == NULL) {
        return;
    }
    free(a->data);
    free(a->off);
    free(a->lens);
    memset(a, 0, sizeof(*a));
}

void pc_redis_args_add(struct pc_redis_args *a, const void *p, size_t n)
{
    if (!args_reserve(a, n)) {
        return;
    }
    if (n > 0) {
        memcpy(a->data + a->len, p, n);
    }
    a->off[a->n] = a->len;
    a->lens[a->n] = n;
    a->n++;
    a->len += n;
    a->data[a->len] = '\0';
}

void pc_redis_args_addz(struct pc_redis_args *a, const char *s)
{
    pc_redis_args_add(a, s, strlen(s));
}

void pc_redis_args_addu64(struct pc_redis_args *a, uint64_t v)
{
    char text[24];

    pc_redis_args_add(a, text, (size_t)(pc__put_u64(text, v) - text));
}

void pc_redis_args_addf(struct pc_redis_args *a, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(text)) {
        if (a->rc == 0) {
            a->rc = PC_ELIMIT;
        }
        return;
    }
    pc_redis_args_add(a, text, (size_t)n);
}

void pc_redis_args_move(struct pc_redis_args *dst, struct pc_redis_args *src)
{
    *dst = *src;
    memset(src, 0, sizeof(*src));
}

int pc_redis_cmd_args(struct pc_redis_conn *c, const struct pc_redis_args *a, uint32_t timeout_ms,
                      pc_redis_reply_cb *cb, void *arg)
{
    if (a->rc != 0) {
        return a->rc;
    }
    if (a->n == 0 || a->n > (size_t)INT32_MAX) {
        return PC_EINVAL;
    }
    return pc_redis__cmd_head_args(c, 0, NULL, NULL, a, timeout_ms, cb, arg);
}
