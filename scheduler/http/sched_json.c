/*
 * sched_json.c - JSON documents of the HTTP API.
 *
 * Design. Redis holds plain text (meta and progress hashes, stream entries)
 * written by workers and other tools, so nothing read back is trusted: every
 * string goes through one escaper that also repairs invalid UTF-8, counters
 * become numbers only when they really are decimal numbers, and msgpack
 * values (report, states) are checked by the schema codecs before they are
 * rendered. Items are listed in flow order from the meta's `items` field;
 * the progress hash (either layout) is read once through
 * pc_progress_view_build, so a flow of 10 000 items is rendered in
 * O(n log n), not O(n^2).
 */
#include "sched_json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peace/ident.h"
#include "peace/msg.h"
#include "peace/outcome.h"
#include "peace/progress_line.h"
#include "peace/state.h"

/* ------------------------------------------------------------------------ */
/* Strings                                                                   */

int sched_json_error(struct pc_buf *b, enum sched_code code, const char *msg)
{
    int rc = pc_buf_puts(b, "{\"error\":");

    rc = rc == 0 ? pc_buf_append_json_str(b, msg, strlen(msg)) : rc;
    rc = rc == 0 ? pc_buf_puts(b, ",\"code\":\"") : rc;
    rc = rc == 0 ? pc_buf_puts(b, sched_code_name(code)) : rc;
    return rc == 0 ? pc_buf_puts(b, "\"}") : rc;
}

/* ------------------------------------------------------------------------ */
/* Meta                                                                      */

static bool str_is(const struct sched_str *s, const char *word)
{
    size_t n = strlen(word);

    return s->p != NULL && s->n == n && memcmp(s->p, word, n) == 0;
}

const struct sched_str *sched_kv_find(const struct sched_str *kv, size_t n, const char *name)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        if (str_is(&kv[i], name) && kv[i + 1].p != NULL) {
            return &kv[i + 1];
        }
    }
    return NULL;
}

void sched_meta_from_kv(const struct sched_str *kv, size_t n, struct sched_meta *m)
{
    memset(m, 0, sizeof(*m));
    for (size_t f = 0; f < SCHED_META_NFIELDS; f++) {
        const struct sched_str *v = sched_kv_find(kv, n, sched_meta_fields[f]);

        if (v != NULL) {
            m->v[f] = *v;
        }
    }
}

bool sched_json_numeric_field(const char *name, size_t n)
{
    static const char *const counters[] = {"attempt",     "block_index",          "blocks_total",
                                           "items_total", "items_done",           "done",
                                           "index",       "interrupt_escalations"};

    if (n > 3 && memcmp(name + n - 3, "_ms", 3) == 0) {
        return true;
    }
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
        if (strlen(counters[i]) == n && memcmp(counters[i], name, n) == 0) {
            return true;
        }
    }
    return false;
}

/* 1..19 digits without a leading zero (or "0"): a JSON number that fits 64 bits. */
static bool decimal_number(const char *p, size_t n)
{
    if (p == NULL || n == 0 || n > 19 || (n > 1 && p[0] == '0')) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
    }
    return true;
}

/* "name":value, a number for counters that are numbers, else a string. */
static int json_field(struct pc_buf *b, const char *name, size_t name_len, const char *p, size_t n)
{
    int rc = pc_buf_append_json_str(b, name, name_len);

    rc = rc == 0 ? pc_buf_append(b, ":", 1) : rc;
    if (rc == 0) {
        rc = sched_json_numeric_field(name, name_len) && decimal_number(p, n)
                 ? pc_buf_append(b, p, n)
                 : pc_buf_append_json_str(b, p, n);
    }
    return rc;
}

int sched_json_execution(struct pc_buf *b, const struct sched_meta *m)
{
    bool first = true;
    int rc = pc_buf_puts(b, "{");

    for (size_t f = 0; rc == 0 && f < SCHED_META_NFIELDS; f++) {
        if (m->v[f].p == NULL) {
            continue;
        }
        rc = first ? 0 : pc_buf_puts(b, ",");
        first = false;
        rc = rc == 0 ? json_field(b, sched_meta_fields[f], strlen(sched_meta_fields[f]), m->v[f].p,
                                  m->v[f].n)
                     : rc;
    }
    return rc == 0 ? pc_buf_puts(b, "}") : rc;
}

/* ------------------------------------------------------------------------ */
/* Items                                                                     */

/* The item's entry: its progress as read (either layout), defaults where absent. */
static int item_json(struct pc_buf *b, const char *id, size_t id_len,
                     const struct pc_progress_item *it)
{
    static const struct pc_progress_str defaults[4] = {
        {"initialized", 11}, {"unknown", 7}, {"0", 1}, {"", 0}};
    static const char *const names[4] = {"status", "limit", "done", "msg"};
    struct pc_progress_str v[4];
    int rc;

    memcpy(v, defaults, sizeof(v));
    if (it != NULL) {
        const struct pc_progress_str read[4] = {it->status, it->limit, it->done, it->msg};

        for (size_t p = 0; p < 4; p++) {
            if (read[p].s != NULL) {
                v[p] = read[p];
            }
        }
    }
    if (!decimal_number(v[2].s, v[2].n)) {
        v[2] = defaults[2]; /* done is a number in the API; a non-number is shown as 0 */
    }
    rc = pc_buf_puts(b, "{\"id\":");
    rc = rc == 0 ? pc_buf_append_json_str(b, id, id_len) : rc;
    for (size_t p = 0; rc == 0 && p < 4; p++) {
        rc = pc_buf_puts(b, ",");
        rc = rc == 0 ? json_field(b, names[p], strlen(names[p]), v[p].s, v[p].n) : rc;
    }
    return rc == 0 ? pc_buf_puts(b, "}") : rc;
}

int sched_json_items(struct pc_buf *b, const struct sched_str *items_csv,
                     const struct sched_str *progress_kv, size_t n_kv)
{
    struct pc_progress_kv *kv = calloc(n_kv / 2 + 1, sizeof(*kv));
    struct pc_progress_view view;
    size_t n = 0;
    bool first = true;
    int rc;

    memset(&view, 0, sizeof(view));
    if (kv == NULL) {
        return PC_ENOMEM;
    }
    for (size_t i = 0; i + 1 < n_kv; i += 2) {
        kv[n].f = progress_kv[i].p;
        kv[n].fn = progress_kv[i].n;
        kv[n].v = progress_kv[i + 1].p;
        kv[n].vn = progress_kv[i + 1].n;
        n++;
    }
    rc = pc_progress_view_build(&view, kv, n);
    rc = rc == 0 ? pc_buf_puts(b, "[") : rc;
    if (rc == 0 && items_csv != NULL && items_csv->p != NULL) {
        const char *p = items_csv->p;
        const char *end = p + items_csv->n;

        while (rc == 0 && p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            size_t len = comma != NULL ? (size_t)(comma - p) : (size_t)(end - p);

            if (pc_ident_valid(p, len)) {
                rc = first ? 0 : pc_buf_puts(b, ",");
                first = false;
                rc = rc == 0 ? item_json(b, p, len, pc_progress_view_find(&view, p, len)) : rc;
            }
            p += len + 1;
        }
    } else if (rc == 0) {
        for (size_t i = 0; rc == 0 && i < view.n; i++) {
            const struct pc_progress_item *it = &view.items[i];

            if (!pc_ident_valid(it->id, it->id_len)) {
                continue;
            }
            rc = first ? 0 : pc_buf_puts(b, ",");
            first = false;
            rc = rc == 0 ? item_json(b, it->id, it->id_len, it) : rc;
        }
    }
    pc_progress_view_free(&view);
    free(kv);
    return rc == 0 ? pc_buf_puts(b, "]") : rc;
}

/* ------------------------------------------------------------------------ */
/* Report and states                                                         */

int sched_json_report(struct pc_buf *b, const struct sched_str *report,
                      const struct sched_str *outcome, const struct sched_str *error)
{
    struct pc_outcome o;
    enum pc_outcome_kind kind;
    char text[PC_OUTCOME_ERROR_TEXT_MAX + 1];
    int rc;

    if (report != NULL && report->p != NULL && report->n > 0 &&
        msg_report_decode(report->p, report->n, &o, NULL) == 0) {
        rc = pc_outcome_format_json(&o, b);
        pc_outcome_cleanup(&o);
        return rc;
    }
    if (outcome == NULL || outcome->p == NULL ||
        pc_outcome_kind_parse(outcome->p, outcome->n, &kind) != 0) {
        return pc_buf_puts(b, "null");
    }
    pc_outcome_init(&o);
    o.kind = kind;
    if (error != NULL && error->p != NULL && error->n > 0) {
        size_t n = error->n < sizeof(text) - 1 ? error->n : sizeof(text) - 1;

        memcpy(text, error->p, n);
        text[n] = '\0';
        rc = pc_outcome_set_error(&o, text);
        if (rc != 0) {
            pc_outcome_cleanup(&o);
            return rc;
        }
    }
    rc = pc_outcome_format_json(&o, b);
    pc_outcome_cleanup(&o);
    return rc;
}

int sched_json_states(struct pc_buf *b, const struct sched_str *kv, size_t n, struct pc_err *err)
{
    bool first = true;
    int rc = pc_buf_puts(b, "{");

    for (size_t i = 0; rc == 0 && i + 1 < n; i += 2) {
        const struct sched_str *name = &kv[i];
        const struct sched_str *value = &kv[i + 1];
        struct pc_state s = {NULL, 0};

        if (name->p == NULL || value->p == NULL) {
            continue;
        }
        if (msg_state_check(value->p, value->n, NULL) != 0) {
            return pc_err_set(err, PC_ESCHEMA, "the stored state of %.*s is not one msgpack value",
                              (int)(name->n < 64 ? name->n : 64), name->p);
        }
        rc = first ? 0 : pc_buf_puts(b, ",");
        first = false;
        rc = rc == 0 ? pc_buf_append_json_str(b, name->p, name->n) : rc;
        rc = rc == 0 ? pc_buf_puts(b, ":") : rc;
        /* A borrowed view: pc_state_to_json only reads. */
        s.data = (uint8_t *)(uintptr_t)value->p;
        s.len = value->n;
        rc = rc == 0 ? pc_state_to_json(&s, b) : rc;
    }
    return rc == 0 ? pc_buf_puts(b, "}") : rc;
}

/* ------------------------------------------------------------------------ */
/* Server-Sent Events                                                        */

/* A kind that can go on an `event:` line as it is: 1..32 of [a-z_]. */
static bool plain_word(const struct sched_str *s)
{
    if (s == NULL || s->p == NULL || s->n == 0 || s->n > 32) {
        return false;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (!((s->p[i] >= 'a' && s->p[i] <= 'z') || s->p[i] == '_')) {
            return false;
        }
    }
    return true;
}

int sched_sse_frame(struct pc_buf *b, const char *id, const struct sched_str *kv, size_t n,
                    bool *is_outcome)
{
    const struct sched_str *kind = sched_kv_find(kv, n, "kind");
    bool first = true;
    int rc = pc_buf_puts(b, "id: ");

    rc = rc == 0 ? pc_buf_puts(b, id) : rc;
    rc = rc == 0 ? pc_buf_puts(b, "\nevent: ") : rc;
    if (rc == 0) {
        rc = plain_word(kind) ? pc_buf_append(b, kind->p, kind->n) : pc_buf_puts(b, "message");
    }
    rc = rc == 0 ? pc_buf_puts(b, "\ndata: {") : rc;
    for (size_t i = 0; rc == 0 && i + 1 < n; i += 2) {
        if (kv[i].p == NULL || kv[i + 1].p == NULL) {
            continue;
        }
        rc = first ? 0 : pc_buf_puts(b, ",");
        first = false;
        rc = rc == 0 ? json_field(b, kv[i].p, kv[i].n, kv[i + 1].p, kv[i + 1].n) : rc;
    }
    rc = rc == 0 ? pc_buf_puts(b, "}\n\n") : rc;
    if (rc == 0 && is_outcome != NULL) {
        *is_outcome = kind != NULL && str_is(kind, "outcome");
    }
    return rc;
}
