/*
 * sched_reply.c - hiredis replies into owned, flat values.
 *
 * Design. Two passes over a reply: the first sizes the storage (the sum of
 * every string's length plus a NUL each), the second copies, so a reply
 * costs exactly two allocations whatever its size. Nested arrays are not
 * copied (the API never needs them through this path: the XREAD and XINFO
 * replies are read directly in their callbacks).
 */
#include "sched_reply.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Text of a scalar element, or false for nil and nested arrays. */
static bool scalar_text(const redisReply *r, char *num, size_t num_size, const char **p, size_t *n)
{
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        *p = r->str != NULL ? r->str : "";
        *n = r->str != NULL ? r->len : 0;
        return true;
    case REDIS_REPLY_INTEGER:
        *n = (size_t)snprintf(num, num_size, "%lld", r->integer);
        *p = num;
        return true;
    default:
        return false;
    }
}

int sched_flat_from_reply(const redisReply *reply, struct sched_flat *out)
{
    struct sched_flat f;
    const redisReply *const *elems = NULL;
    size_t count = 0;
    size_t total = 0;
    size_t off = 0;
    char num[32];
    const char *p = NULL;
    size_t n = 0;

    memset(&f, 0, sizeof(f));
    memset(out, 0, sizeof(*out));
    if (reply == NULL) {
        return 0; /* SCHED_FLAT_NONE */
    }
    switch (reply->type) {
    case REDIS_REPLY_NIL:
        out->kind = SCHED_FLAT_NIL;
        return 0;
    case REDIS_REPLY_ARRAY:
        f.kind = SCHED_FLAT_ARRAY;
        elems = (const redisReply *const *)reply->element;
        count = reply->elements;
        break;
    case REDIS_REPLY_INTEGER:
        f.kind = SCHED_FLAT_INT;
        f.integer = reply->integer;
        elems = &reply;
        count = 1;
        break;
    case REDIS_REPLY_ERROR:
        f.kind = SCHED_FLAT_ERROR;
        elems = &reply;
        count = 1;
        break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        f.kind = SCHED_FLAT_STR;
        elems = &reply;
        count = 1;
        break;
    default:
        out->kind = SCHED_FLAT_NIL;
        return 0;
    }
    for (size_t i = 0; i < count; i++) {
        if (scalar_text(elems[i], num, sizeof(num), &p, &n)) {
            total += n + 1;
        }
    }
    f.v = calloc(count + 1, sizeof(*f.v));
    f.data = malloc(total + 1);
    if (f.v == NULL || f.data == NULL) {
        free(f.v);
        free(f.data);
        return PC_ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        if (!scalar_text(elems[i], num, sizeof(num), &p, &n)) {
            continue; /* absent: p stays NULL */
        }
        if (n > 0) {
            memcpy(f.data + off, p, n);
        }
        f.data[off + n] = '\0';
        f.v[i].p = f.data + off;
        f.v[i].n = n;
        off += n + 1;
    }
    f.n = count;
    *out = f;
    return 0;
}

void sched_flat_cleanup(struct sched_flat *f)
{
    if (f == NULL) {
        return;
    }
    free(f->v);
    free(f->data);
    memset(f, 0, sizeof(*f));
}

bool sched_error_is_unavailable(const char *p, size_t n)
{
    static const char *const words[] = {"LOADING",     "BUSY",   "MASTERDOWN", "TRYAGAIN",
                                        "CLUSTERDOWN", "NOAUTH", "READONLY",   "MISCONF"};

    for (size_t i = 0; p != NULL && i < sizeof(words) / sizeof(words[0]); i++) {
        size_t w = strlen(words[i]);

        /* The leading word only: Redis keeps it stable while the prose changes. */
        if (n >= w && memcmp(p, words[i], w) == 0 && (n == w || p[w] == ' ')) {
            return true;
        }
    }
    return false;
}

bool sched_str_u64(const struct sched_str *s, uint64_t *out)
{
    char text[24];
    char *end = NULL;
    unsigned long long v;

    if (s == NULL || s->p == NULL || s->n == 0 || s->n > 20) {
        return false;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (s->p[i] < '0' || s->p[i] > '9') {
            return false;
        }
    }
    memcpy(text, s->p, s->n);
    text[s->n] = '\0';
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0') {
        return false;
    }
    *out = (uint64_t)v;
    return true;
}
