/*
 * progress_line.c - the progress hash's line encoding and the view that
 * reads layouts 1 and 2 (progress_line.h).
 *
 * Design. The encoder runs for every dirty item of every flush, so it
 * formats into the caller's buffer without allocating. The view indexes
 * the hash once: one entry per field, sorted by (item, position), merged
 * into items, which are then put back in first-appearance order, so a hash
 * of 10 000 items is read in O(n log n).
 */
#include "peace/progress_line.h"

#include <stdlib.h>
#include <string.h>

static bool token_ok(const char *s)
{
    if (s == NULL || s[0] == '\0') {
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p <= ' ' || *p == 0x7f) {
            return false;
        }
    }
    return true;
}

int pc_progress_line_encode(char *out, size_t out_size, const char *status, const char *limit,
                            uint64_t done, const char *msg, size_t msg_len)
{
    static const char hex[] = "0123456789abcdef";
    char digits[24];
    size_t nd = 0;
    size_t sn;
    size_t ln;
    size_t o = 0;

    if (!token_ok(status) || !token_ok(limit) || (msg == NULL && msg_len > 0)) {
        return PC_EINVAL;
    }
    sn = strlen(status);
    ln = strlen(limit);
    do {
        digits[nd++] = (char)('0' + done % 10);
        done /= 10;
    } while (done > 0);
    if (sn + ln + nd + 3 > out_size) {
        return PC_ELIMIT;
    }
    memcpy(out, status, sn);
    o = sn;
    out[o++] = ' ';
    memcpy(out + o, limit, ln);
    o += ln;
    out[o++] = ' ';
    while (nd > 0) {
        out[o++] = digits[--nd];
    }
    if (msg_len > 0) {
        out[o++] = ' ';
    }
    for (size_t i = 0; i < msg_len; i++) {
        unsigned char c = (unsigned char)msg[i];
        char e = c == '\\' ? '\\' : c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : 0;
        size_t need = e != 0 ? 2 : c < 0x20 || c == 0x7f ? 4 : 1;

        if (o + need + 1 > out_size) { /* and the NUL */
            return PC_ELIMIT;
        }
        if (e != 0) {
            out[o++] = '\\';
            out[o++] = e;
        } else if (c < 0x20 || c == 0x7f) {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    if (o + 1 > out_size) {
        return PC_ELIMIT;
    }
    out[o] = '\0';
    return (int)o;
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decodes the escaped message (p, n) into buf; returns its length or -1. */
static long msg_decode(const char *p, size_t n, char *buf, size_t size)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char c = p[i];

        if (c == '\\') {
            if (i + 1 >= n) {
                return -1;
            }
            c = p[++i];
            if (c == 'n') {
                c = '\n';
            } else if (c == 'r') {
                c = '\r';
            } else if (c == 't') {
                c = '\t';
            } else if (c == 'x') {
                int h = i + 2 < n ? hex_val(p[i + 1]) : -1;
                int l = h >= 0 ? hex_val(p[i + 2]) : -1;

                if (l < 0) {
                    return -1;
                }
                c = (char)(h << 4 | l);
                i += 2;
            } else if (c != '\\') {
                return -1;
            }
        }
        if (o < size) {
            buf[o++] = c;
        }
    }
    return (long)o;
}

/* The next space-separated token of (p, n) from *at; (NULL, 0) at the end. */
static struct pc_progress_str next_token(const char *p, size_t n, size_t *at)
{
    struct pc_progress_str t = {NULL, 0};
    size_t i = *at;
    size_t j = i;

    if (i >= n) {
        return t;
    }
    while (j < n && p[j] != ' ') {
        j++;
    }
    t.s = p + i;
    t.n = j - i;
    *at = j < n ? j + 1 : n;
    if (t.n == 0) {
        t.s = NULL;
    }
    return t;
}

int pc_progress_line_parse(const char *v, size_t n, char *msg_buf, size_t msg_size,
                           struct pc_progress_item *out)
{
    size_t at = 0;
    long m;

    out->status = next_token(v, n, &at);
    out->limit = next_token(v, n, &at);
    out->done = next_token(v, n, &at);
    out->msg.s = NULL;
    out->msg.n = 0;
    if (at >= n) {
        if (out->done.s != NULL) {
            out->msg.s = ""; /* a complete line without a message: an empty one */
        }
        return 0;
    }
    m = msg_decode(v + at, n - at, msg_buf, msg_size);
    if (m < 0) {
        out->msg.s = v + at; /* shown as written */
        out->msg.n = n - at;
        return PC_EINVAL;
    }
    out->msg.s = msg_buf;
    out->msg.n = (size_t)m;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The view                                                                  */

enum part { PART_STATUS = 0, PART_LIMIT, PART_DONE, PART_MSG, PART_LINE };

static const char *const part_names[4] = {"status", "limit", "done", "msg"};

struct entry {
    const char *item;
    size_t item_len;
    size_t order;
    enum part part;
    const struct pc_progress_kv *kv;
};

static int id_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);

    if (c != 0) {
        return c;
    }
    return an < bn ? -1 : an > bn;
}

static int entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a;
    const struct entry *y = b;
    int c = id_cmp(x->item, x->item_len, y->item, y->item_len);

    if (c != 0) {
        return c;
    }
    return x->order < y->order ? -1 : x->order > y->order;
}

static bool classify(const struct pc_progress_kv *kv, struct entry *e)
{
    const char *dot = kv->f != NULL ? memchr(kv->f, '.', kv->fn) : NULL;
    size_t item_len = dot != NULL ? (size_t)(dot - kv->f) : kv->fn;

    if (kv->f == NULL || kv->v == NULL || item_len == 0) {
        return false;
    }
    e->item = kv->f;
    e->item_len = item_len;
    e->kv = kv;
    if (dot == NULL) {
        e->part = PART_LINE;
        return true;
    }
    for (size_t p = 0; p < 4; p++) {
        size_t pn = strlen(part_names[p]);

        if (kv->fn - item_len - 1 == pn && memcmp(dot + 1, part_names[p], pn) == 0) {
            e->part = (enum part)p;
            return true;
        }
    }
    return false;
}

/* Items in appearance order: sorted by the position of their first field. */
struct first_seen {
    size_t order;
    size_t item;
};

static int seen_cmp(const void *a, const void *b)
{
    const struct first_seen *x = a;
    const struct first_seen *y = b;

    return x->order < y->order ? -1 : x->order > y->order;
}

static unsigned parse_layout(const char *v, size_t n)
{
    unsigned x = 0;

    if (n == 0 || n > 6) {
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return 1;
        }
        x = x * 10 + (unsigned)(v[i] - '0');
    }
    return x;
}

int pc_progress_view_build(struct pc_progress_view *view, const struct pc_progress_kv *kv,
                           size_t n_kv)
{
    struct entry *e = calloc(n_kv + 1, sizeof(*e));
    struct first_seen *seen = NULL;
    struct pc_progress_item *sorted = NULL;
    size_t ne = 0;
    size_t ni = 0;
    size_t arena_size = 1;
    size_t arena_used = 0;

    memset(view, 0, sizeof(*view));
    view->layout = 1;
    if (e == NULL) {
        return PC_ENOMEM;
    }
    for (size_t i = 0; i < n_kv; i++) {
        if (kv[i].f != NULL && kv[i].v != NULL && kv[i].fn == PC_PROGRESS_LAYOUT_FIELD_LEN &&
            memcmp(kv[i].f, PC_PROGRESS_LAYOUT_FIELD, kv[i].fn) == 0) {
            view->layout = parse_layout(kv[i].v, kv[i].vn);
            continue;
        }
        if (classify(&kv[i], &e[ne])) {
            e[ne].order = i;
            if (e[ne].part == PART_LINE) {
                arena_size += kv[i].vn;
            }
            ne++;
        }
    }
    qsort(e, ne, sizeof(*e), entry_cmp);
    sorted = calloc(ne + 1, sizeof(*sorted));
    seen = calloc(ne + 1, sizeof(*seen));
    view->arena = malloc(arena_size);
    if (sorted == NULL || seen == NULL || view->arena == NULL) {
        free(e);
        free(sorted);
        free(seen);
        pc_progress_view_free(view);
        return PC_ENOMEM;
    }
    for (size_t i = 0; i < ne;) {
        struct pc_progress_item *it = &sorted[ni];
        struct pc_progress_item line;
        bool have_line = false;
        size_t j = i;

        it->id = e[i].item;
        it->id_len = e[i].item_len;
        seen[ni].order = e[i].order;
        seen[ni].item = ni;
        for (; j < ne && id_cmp(e[j].item, e[j].item_len, it->id, it->id_len) == 0; j++) {
            struct pc_progress_str v = {e[j].kv->v, e[j].kv->vn};

            switch (e[j].part) {
            case PART_STATUS:
                it->status = v;
                break;
            case PART_LIMIT:
                it->limit = v;
                break;
            case PART_DONE:
                it->done = v;
                break;
            case PART_MSG:
                it->msg = v;
                break;
            case PART_LINE:
                /* the last line wins; its message is decoded after the used arena */
                if (pc_progress_line_parse(v.s, v.n, view->arena + arena_used,
                                           arena_size - arena_used, &line) != 0) {
                    /* malformed escape: line.msg holds the raw text, kept */
                }
                have_line = true;
                break;
            }
        }
        if (have_line) {
            it->status = line.status;
            it->limit = line.limit;
            it->done = line.done;
            it->msg = line.msg;
            if (line.msg.s == view->arena + arena_used) {
                arena_used += line.msg.n;
            }
        }
        ni++;
        i = j;
    }
    free(e);
    qsort(seen, ni, sizeof(*seen), seen_cmp);
    view->items = calloc(ni + 1, sizeof(*view->items));
    view->by_id = calloc(ni + 1, sizeof(*view->by_id));
    if (view->items == NULL || view->by_id == NULL) {
        free(sorted);
        free(seen);
        pc_progress_view_free(view);
        return PC_ENOMEM;
    }
    for (size_t k = 0; k < ni; k++) {
        view->items[k] = sorted[seen[k].item];
        view->by_id[seen[k].item] = k; /* sorted[i] is items[by_id[i]] */
    }
    view->n = ni;
    free(sorted);
    free(seen);
    return 0;
}

const struct pc_progress_item *pc_progress_view_find(const struct pc_progress_view *view,
                                                     const char *id, size_t id_len)
{
    size_t lo = 0;
    size_t hi = view->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct pc_progress_item *it = &view->items[view->by_id[mid]];
        int c = id_cmp(it->id, it->id_len, id, id_len);

        if (c == 0) {
            return it;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

void pc_progress_view_free(struct pc_progress_view *view)
{
    free(view->items);
    free(view->by_id);
    free(view->arena);
    view->items = NULL;
    view->by_id = NULL;
    view->arena = NULL;
    view->n = 0;
}
