/*
 * states_order.c - the listing order of stored states (states_order.h).
 */
#include "peace/states_order.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ranked {
    const char *p;
    size_t n;
    size_t rank; /* place in the order value; SIZE_MAX = not in it */
    size_t at;   /* position among the names (or in the order value) */
};

static int by_name(const char *a, size_t an, const char *b, size_t bn)
{
    int c = an == 0 || bn == 0 ? 0 : memcmp(a, b, an < bn ? an : bn);

    return c != 0 ? c : an < bn ? -1 : an > bn ? 1 : 0;
}

static int cmp_name_then_at(const void *x, const void *y)
{
    const struct ranked *a = x;
    const struct ranked *b = y;
    int c = by_name(a->p, a->n, b->p, b->n);

    return c != 0 ? c : a->at < b->at ? -1 : a->at > b->at ? 1 : 0;
}

static int cmp_listing(const void *x, const void *y)
{
    const struct ranked *a = x;
    const struct ranked *b = y;

    if (a->rank != b->rank) {
        return a->rank < b->rank ? -1 : 1;
    }
    return cmp_name_then_at(x, y);
}

/* The order value's ids, sorted by id (first place kept for repeats). */
static struct ranked *split_order(const char *order, size_t len, size_t *n_out)
{
    size_t n = 0;
    struct ranked *v = NULL;

    *n_out = 0;
    if (order == NULL || len == 0) {
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        n += order[i] == ',';
    }
    v = calloc(n + 1, sizeof(*v));
    if (v == NULL) {
        return NULL;
    }
    n = 0;
    for (size_t start = 0, i = 0; i <= len; i++) {
        if (i == len || order[i] == ',') {
            if (i > start) {
                v[n].p = order + start;
                v[n].n = i - start;
                v[n].rank = n;
                v[n].at = n;
                n++;
            }
            start = i + 1;
        }
    }
    qsort(v, n, sizeof(*v), cmp_name_then_at);
    *n_out = n;
    return v;
}

static size_t rank_of(const struct ranked *ids, size_t n, const char *p, size_t len)
{
    size_t lo = 0;
    size_t hi = n;

    /* The first entry with this id (lowest `at`, the sort's tie-break). */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (by_name(ids[mid].p, ids[mid].n, p, len) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && by_name(ids[lo].p, ids[lo].n, p, len) == 0 ? ids[lo].rank : SIZE_MAX;
}

int pc_states_listing(const char *order, size_t order_len, const char *const *name,
                      const size_t *len, size_t n, size_t *perm)
{
    size_t n_ids = 0;
    struct ranked *ids = split_order(order, order_len, &n_ids);
    struct ranked *v = calloc(n + 1, sizeof(*v));

    for (size_t i = 0; i < n; i++) {
        perm[i] = i;
    }
    if (v == NULL || (ids == NULL && order != NULL && order_len > 0)) {
        free(ids);
        free(v);
        return PC_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        v[i].p = name[i];
        v[i].n = len[i];
        v[i].at = i;
        v[i].rank = rank_of(ids, n_ids, name[i], len[i]);
    }
    qsort(v, n, sizeof(*v), cmp_listing);
    for (size_t i = 0; i < n; i++) {
        perm[i] = v[i].at;
    }
    free(ids);
    free(v);
    return 0;
}
