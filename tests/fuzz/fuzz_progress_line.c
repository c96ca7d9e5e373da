/*
 * fuzz_progress_line.c - the progress hash's line, `STATUS LIMIT DONE[ MSG]`
 * (peace/progress_line.h), which every program reads from Redis: whatever
 * tool wrote there.
 *
 * Input: one byte (the size of a small message buffer), then the bytes,
 * used three ways: as a line (pc_progress_line_parse), as a message
 * (pc_progress_line_encode), and split at '\n' into field/value pairs of a
 * hash (pc_progress_view_build).
 *
 * Properties:
 *  - parse: status, limit and done are non-empty pieces of the line without
 *    a space (or absent); the message is the decoded rest, cut at the
 *    buffer's size, or with PC_EINVAL (a malformed escape) the raw rest; a
 *    line that parsed whole, with encodable parts, encodes again to a line
 *    that parses to the same parts (done as a number);
 *  - encode: any message up to PC_PROGRESS_MSG_MAX bytes fits a
 *    PC_PROGRESS_LINE_MAX line, which holds no control byte and parses back
 *    to the same bytes; a buffer too small is PC_ELIMIT, never an overrun;
 *  - view: every item is found by its id, by_id is sorted, no more items
 *    than fields.
 */
#include <string.h>

#include "fuzz.h"
#include "peace/progress_line.h"

static bool within(const char *p, size_t n, const char *base, size_t len)
{
    return p >= base && n <= len && (size_t)(p - base) <= len - n;
}

static bool token_part(const struct pc_progress_str *t, const char *v, size_t n)
{
    return t->s == NULL ||
           (t->n > 0 && within(t->s, t->n, v, n) && memchr(t->s, ' ', t->n) == NULL);
}

/* A status or limit pc_progress_line_encode takes: no space, control byte or NUL. */
static bool encodable(const struct pc_progress_str *t, char *out, size_t out_size)
{
    if (t->s == NULL || t->n == 0 || t->n >= out_size) {
        return false;
    }
    for (size_t i = 0; i < t->n; i++) {
        unsigned char c = (unsigned char)t->s[i];

        if (c <= ' ' || c == 0x7f) {
            return false;
        }
    }
    memcpy(out, t->s, t->n);
    out[t->n] = '\0';
    return true;
}

static bool number(const struct pc_progress_str *t, uint64_t *v)
{
    *v = 0;
    if (t->s == NULL || t->n == 0 || t->n > 19) { /* 19 digits never overflow */
        return false;
    }
    for (size_t i = 0; i < t->n; i++) {
        if (t->s[i] < '0' || t->s[i] > '9') {
            return false;
        }
        *v = *v * 10u + (uint64_t)(t->s[i] - '0');
    }
    return true;
}

static void check_parse(const char *v, size_t n, size_t small)
{
    static char msg[PC_PROGRESS_LINE_MAX];
    static char line[PC_PROGRESS_LINE_MAX];
    static char msg2[PC_PROGRESS_LINE_MAX];
    char status[64];
    char limit[64];
    struct pc_progress_item it;
    struct pc_progress_item back;
    char *tiny = malloc(small > 0 ? small : 1);
    uint64_t done = 0;
    int rc;
    int len;

    FUZZ_CHECK(tiny != NULL);
    memset(&it, 0, sizeof(it));
    rc = pc_progress_line_parse(v, n, tiny, small, &it);
    FUZZ_CHECK(rc == 0 || rc == PC_EINVAL);
    FUZZ_CHECK(token_part(&it.status, v, n) && token_part(&it.limit, v, n) &&
               token_part(&it.done, v, n));
    if (rc == PC_EINVAL) {
        FUZZ_CHECK(it.msg.s != NULL && within(it.msg.s, it.msg.n, v, n) &&
                   it.msg.s + it.msg.n == v + n);
    } else if (it.msg.s != NULL && it.msg.n > 0) {
        FUZZ_CHECK(it.msg.s == tiny && it.msg.n <= small);
    }
    /* A message follows the third space: a line with fewer spaces has none. */
    if (it.msg.s != NULL && it.msg.n > 0) {
        size_t spaces = 0;

        for (size_t i = 0; i < n; i++) {
            spaces += v[i] == ' ';
        }
        FUZZ_CHECK(spaces >= 3);
    }
    free(tiny);

    /* Whole (no cut message), then encoded again: the same parts. */
    rc = pc_progress_line_parse(v, n, msg, sizeof(msg), &it);
    if (rc != 0 || n >= sizeof(msg) || !encodable(&it.status, status, sizeof(status)) ||
        !encodable(&it.limit, limit, sizeof(limit)) || !number(&it.done, &done)) {
        return;
    }
    len = pc_progress_line_encode(line, sizeof(line), status, limit, done, it.msg.s, it.msg.n);
    if (len == PC_ELIMIT) {
        FUZZ_CHECK(it.msg.n > PC_PROGRESS_MSG_MAX); /* room for any message up to the max */
        return;
    }
    FUZZ_CHECK(len > 0 && (size_t)len < sizeof(line) && line[len] == '\0');
    FUZZ_CHECK(pc_progress_line_parse(line, (size_t)len, msg2, sizeof(msg2), &back) == 0);
    FUZZ_CHECK(back.status.n == it.status.n && memcmp(back.status.s, status, it.status.n) == 0);
    FUZZ_CHECK(back.limit.n == it.limit.n && memcmp(back.limit.s, limit, it.limit.n) == 0);
    {
        uint64_t d2 = 0;

        FUZZ_CHECK(number(&back.done, &d2) && d2 == done);
    }
    FUZZ_CHECK(back.msg.s != NULL && back.msg.n == it.msg.n &&
               (it.msg.n == 0 || memcmp(back.msg.s, it.msg.s, it.msg.n) == 0));
}

static void check_encode(const char *m, size_t n, size_t small)
{
    static char line[PC_PROGRESS_LINE_MAX];
    static char msg[PC_PROGRESS_MSG_MAX + 1];
    char *tiny = malloc(small > 0 ? small : 1);
    struct pc_progress_item it;
    size_t mn = n < PC_PROGRESS_MSG_MAX ? n : PC_PROGRESS_MSG_MAX;
    int len =
        pc_progress_line_encode(line, sizeof(line), "running", "bytes:1048576", (uint64_t)n, m, mn);

    FUZZ_CHECK(tiny != NULL);
    FUZZ_CHECK(len > 0 && (size_t)len < sizeof(line));
    for (int i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];

        FUZZ_CHECK(c >= 0x20 && c != 0x7f);
    }
    FUZZ_CHECK(pc_progress_line_parse(line, (size_t)len, msg, sizeof(msg), &it) == 0);
    FUZZ_CHECK(it.msg.s != NULL && it.msg.n == mn && (mn == 0 || memcmp(it.msg.s, m, mn) == 0));
    FUZZ_CHECK(it.status.n == 7 && memcmp(it.status.s, "running", 7) == 0);
    /* Too small a buffer: PC_ELIMIT, and nothing written past it. */
    if ((size_t)len + 1 > small) {
        FUZZ_CHECK(pc_progress_line_encode(tiny, small, "running", "bytes:1048576", (uint64_t)n, m,
                                           mn) == PC_ELIMIT);
    } else {
        FUZZ_CHECK(pc_progress_line_encode(tiny, small, "running", "bytes:1048576", (uint64_t)n, m,
                                           mn) == len);
        FUZZ_CHECK(memcmp(tiny, line, (size_t)len + 1) == 0);
    }
    free(tiny);
}

static void check_view(const char *p, size_t n)
{
    struct pc_progress_kv *kv = calloc(n / 2 + 2, sizeof(*kv));
    struct pc_progress_view view;
    size_t n_kv = 0;
    size_t at = 0;

    FUZZ_CHECK(kv != NULL);
    while (at < n) {
        const char *f = p + at;
        const char *nl = memchr(f, '\n', n - at);
        size_t fn = nl != NULL ? (size_t)(nl - f) : n - at;
        const char *v;
        size_t vn;

        at += fn + 1;
        if (nl == NULL || at > n) {
            break;
        }
        v = p + at;
        nl = memchr(v, '\n', n - at);
        vn = nl != NULL ? (size_t)(nl - v) : n - at;
        at += vn + 1;
        kv[n_kv++] = (struct pc_progress_kv){f, fn, v, vn};
    }
    memset(&view, 0, sizeof(view));
    if (pc_progress_view_build(&view, kv, n_kv) == 0) {
        FUZZ_CHECK(view.n <= n_kv);
        for (size_t i = 0; i < view.n; i++) {
            const struct pc_progress_item *it = &view.items[i];
            const struct pc_progress_item *found = pc_progress_view_find(&view, it->id, it->id_len);

            FUZZ_CHECK(it->id_len > 0 && memchr(it->id, '.', it->id_len) == NULL);
            FUZZ_CHECK(found != NULL && found->id_len == it->id_len &&
                       memcmp(found->id, it->id, it->id_len) == 0);
            if (i > 0) {
                const struct pc_progress_item *a = &view.items[view.by_id[i - 1]];
                const struct pc_progress_item *b = &view.items[view.by_id[i]];
                size_t m = a->id_len < b->id_len ? a->id_len : b->id_len;
                int c = memcmp(a->id, b->id, m);

                FUZZ_CHECK(c < 0 || (c == 0 && a->id_len < b->id_len)); /* sorted, distinct */
            }
        }
    }
    pc_progress_view_free(&view);
    free(kv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p;
    size_t n;
    size_t small;

    if (size == 0) {
        return 0;
    }
    small = data[0];
    p = (const char *)data + 1;
    n = size - 1;
    check_parse(p, n, small);
    check_encode(p, n, small);
    check_view(p, n);
    return 0;
}
