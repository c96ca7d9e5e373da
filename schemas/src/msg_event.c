/*
 * msg_event.c - progress events: the entries of `peace:exec:{ID}:events`
 * (CONTRACT §3, schemas/README.md).
 *
 * Events are flat text field/value pairs so that a dashboard can read them
 * with XREAD and no msgpack library. They are built without the heap: the
 * field table borrows the event's own strings and keeps formatted numbers in
 * its own arrays. Every enum value is written as its contract name, checked
 * by a parse-back, so nothing is emitted that the decoder would refuse.
 *
 * Readers ignore fields they do not know (fields can be added without a
 * version), but a known field may appear only once and every value is
 * bounded and must not contain NUL bytes (they become C strings here).
 */
#include "peace/msg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Most strings accepted in one entry (unknown fields included). */
#define FROM_FIELDS_MAX 64

static const char *const kind_names[] = {
    [MSG_EVENT_BLOCK_START] = "block_start",
    [MSG_EVENT_PROGRESS] = "progress",
    [MSG_EVENT_INTERRUPT] = "interrupt",
    [MSG_EVENT_OUTCOME] = "outcome",
};

const char *msg_event_kind_name(enum msg_event_kind k)
{
    return (size_t)k < COUNT_OF(kind_names) ? kind_names[k] : NULL;
}

/* ------------------------------------------------------------------------ */
/* To fields                                                                */
/* ------------------------------------------------------------------------ */

static bool c_text_ok(const char *s, size_t size)
{
    return strnlen(s, size) < size;
}

/* An interrupt's items: ids separated by commas, at most
 * MSG_EVENT_ITEMS_MAX bytes; empty = none. */
static bool items_valid(const char *p, size_t n)
{
    size_t start = 0;

    if (n == 0) {
        return true;
    }
    if (p == NULL || n > MSG_EVENT_ITEMS_MAX) {
        return false;
    }
    for (size_t i = 0; i <= n; i++) {
        if (i == n || p[i] == ',') {
            if (!pc_ident_valid(p + start, i - start)) {
                return false;
            }
            start = i + 1;
        }
    }
    return true;
}

bool msg_event_items_next(const struct msg_event *ev, size_t *pos, const char **id, size_t *id_len)
{
    size_t i = *pos;
    const char *comma = NULL;

    if (ev->kind != MSG_EVENT_INTERRUPT || ev->items == NULL || i >= ev->items_len) {
        return false;
    }
    comma = memchr(ev->items + i, ',', ev->items_len - i);
    *id = ev->items + i;
    *id_len = comma != NULL ? (size_t)(comma - (ev->items + i)) : ev->items_len - i;
    *pos = i + *id_len + 1;
    return true;
}

/* Checks every value the event's kind uses. */
static int check_event(const struct msg_event *ev, struct pc_err *err)
{
    enum pc_progress_status status;
    enum pc_outcome_kind outcome;
    const char *name = NULL;
    char limit[48];
    struct pc_limit parsed;
    int n;

    switch (ev->kind) {
    case MSG_EVENT_BLOCK_START:
        if ((unsigned)ev->block >= PC_BLOCK_KIND_COUNT || ev->block_index >= PC_BLOCKS_MAX) {
            return pc_err_set(err, PC_EINVAL, "event: block %d at index %" PRIu64 " out of range",
                              (int)ev->block, ev->block_index);
        }
        return 0;
    case MSG_EVENT_PROGRESS:
        name = pc_progress_status_name(ev->status);
        n = pc_limit_format(&ev->limit, limit, sizeof(limit));
        if (!pc_ident_valid(ev->item.s, strnlen(ev->item.s, sizeof(ev->item.s))) ||
            pc_progress_status_parse(name, strlen(name), &status) != 0 || status != ev->status ||
            n < 0 || (size_t)n >= sizeof(limit) || pc_limit_parse(limit, (size_t)n, &parsed) != 0 ||
            parsed.kind != ev->limit.kind || !c_text_ok(ev->msg, sizeof(ev->msg))) {
            return pc_err_set(err, PC_EINVAL, "event: progress: bad item, status, limit or msg");
        }
        return 0;
    case MSG_EVENT_INTERRUPT:
        if (!c_text_ok(ev->reason, sizeof(ev->reason))) {
            return pc_err_set(err, PC_EINVAL, "event: interrupt: reason not terminated");
        }
        return items_valid(ev->items, ev->items_len)
                   ? 0
                   : pc_err_set(err, PC_EINVAL, "event: interrupt: bad items list");
    case MSG_EVENT_OUTCOME:
        name = pc_outcome_kind_name(ev->outcome);
        if (pc_outcome_kind_parse(name, strlen(name), &outcome) != 0 || outcome != ev->outcome) {
            return pc_err_set(err, PC_EINVAL, "event: outcome: no outcome number %d",
                              (int)ev->outcome);
        }
        return 0;
    }
    return pc_err_set(err, PC_EINVAL, "event: no event kind number %d", (int)ev->kind);
}

static void add(struct msg_event_fields *f, const char *name, const char *value)
{
    f->argv[f->n] = name;
    f->argvlen[f->n] = strlen(name);
    f->argv[f->n + 1] = value;
    f->argvlen[f->n + 1] = strlen(value);
    f->n += 2;
}

int msg_event_to_fields(const struct msg_event *ev, struct msg_event_fields *out,
                        struct pc_err *err)
{
    int rc = check_event(ev, err);

    if (rc != 0) {
        return rc;
    }
    out->n = 0;
    add(out, "kind", kind_names[ev->kind]);
    switch (ev->kind) {
    case MSG_EVENT_BLOCK_START:
        (void)snprintf(out->index_text, sizeof(out->index_text), "%" PRIu64, ev->block_index);
        add(out, "block", pc_block_name(ev->block));
        add(out, "index", out->index_text);
        break;
    case MSG_EVENT_PROGRESS:
        (void)snprintf(out->done_text, sizeof(out->done_text), "%" PRIu64, ev->done);
        (void)pc_limit_format(&ev->limit, out->limit_text, sizeof(out->limit_text));
        add(out, "item", ev->item.s);
        add(out, "status", pc_progress_status_name(ev->status));
        add(out, "done", out->done_text);
        add(out, "limit", out->limit_text);
        add(out, "msg", ev->msg);
        break;
    case MSG_EVENT_INTERRUPT:
        add(out, "reason", ev->reason);
        if (ev->items_len > 0) {
            out->argv[out->n] = "items";
            out->argvlen[out->n] = 5;
            out->argv[out->n + 1] = ev->items;
            out->argvlen[out->n + 1] = ev->items_len;
            out->n += 2;
        }
        break;
    case MSG_EVENT_OUTCOME:
        add(out, "outcome", pc_outcome_kind_name(ev->outcome));
        break;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* From fields                                                              */
/* ------------------------------------------------------------------------ */

enum ev_field {
    F_KIND,
    F_BLOCK,
    F_INDEX,
    F_ITEM,
    F_STATUS,
    F_DONE,
    F_LIMIT,
    F_MSG,
    F_REASON,
    F_OUTCOME,
    F_ITEMS
};
static const char *const all_fields[] = {
    [F_KIND] = "kind",     [F_BLOCK] = "block",     [F_INDEX] = "index", [F_ITEM] = "item",
    [F_STATUS] = "status", [F_DONE] = "done",       [F_LIMIT] = "limit", [F_MSG] = "msg",
    [F_REASON] = "reason", [F_OUTCOME] = "outcome", [F_ITEMS] = "items",
};
#define N_FIELDS COUNT_OF(all_fields)

struct value {
    const char *p;
    size_t n;
    bool set;
};

/* Decimal digits only (no sign, no space), at most 20, no overflow. */
static int parse_u64(const struct value *v, uint64_t *out)
{
    char tmp[24];
    char *end = NULL;
    unsigned long long x;

    if (v->n == 0 || v->n > 20) {
        return PC_ESCHEMA;
    }
    for (size_t i = 0; i < v->n; i++) {
        if (v->p[i] < '0' || v->p[i] > '9') {
            return PC_ESCHEMA;
        }
    }
    memcpy(tmp, v->p, v->n);
    tmp[v->n] = '\0';
    errno = 0;
    x = strtoull(tmp, &end, 10);
    if (errno != 0 || *end != '\0') {
        return PC_ESCHEMA;
    }
    *out = x;
    return 0;
}

/* Copies a text value into a C string array of size `size`. */
static int copy_text(const struct value *v, char *dst, size_t size, const char *name,
                     struct pc_err *err)
{
    if (v->n >= size) {
        return pc_err_set(err, PC_ELIMIT, "event: %s: %zu bytes, more than %zu", name, v->n,
                          size - 1);
    }
    if (v->n > 0) {
        memcpy(dst, v->p, v->n);
    }
    dst[v->n] = '\0';
    return 0;
}

static int require(const struct value *vals, enum ev_field f, struct pc_err *err)
{
    return vals[f].set ? 0
                       : pc_err_set(err, PC_ESCHEMA, "event: missing field \"%s\"", all_fields[f]);
}

static int parse_block_start(const struct value *vals, struct msg_event *ev, struct pc_err *err)
{
    int rc = require(vals, F_BLOCK, err);

    if (rc == 0) {
        rc = require(vals, F_INDEX, err);
    }
    if (rc != 0) {
        return rc;
    }
    if (pc_block_parse(vals[F_BLOCK].p, vals[F_BLOCK].n, &ev->block) != 0) {
        return pc_err_set(err, PC_ESCHEMA, "event: block: unknown block \"%.*s\"",
                          (int)(vals[F_BLOCK].n > 64 ? 64 : vals[F_BLOCK].n), vals[F_BLOCK].p);
    }
    if (parse_u64(&vals[F_INDEX], &ev->block_index) != 0 || ev->block_index >= PC_BLOCKS_MAX) {
        return pc_err_set(err, PC_ESCHEMA, "event: index: expected a number below %d",
                          PC_BLOCKS_MAX);
    }
    return 0;
}

static int parse_progress(const struct value *vals, struct msg_event *ev, struct pc_err *err)
{
    static const enum ev_field needed[] = {F_ITEM, F_STATUS, F_DONE, F_LIMIT};
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < COUNT_OF(needed); i++) {
        rc = require(vals, needed[i], err);
    }
    if (rc == 0) {
        rc = pc_id_set(&ev->item, vals[F_ITEM].p, vals[F_ITEM].n, "event: item", err);
    }
    if (rc != 0) {
        return rc;
    }
    if (pc_progress_status_parse(vals[F_STATUS].p, vals[F_STATUS].n, &ev->status) != 0) {
        return pc_err_set(err, PC_ESCHEMA, "event: status: unknown status \"%.*s\"",
                          (int)(vals[F_STATUS].n > 64 ? 64 : vals[F_STATUS].n), vals[F_STATUS].p);
    }
    if (parse_u64(&vals[F_DONE], &ev->done) != 0) {
        return pc_err_set(err, PC_ESCHEMA, "event: done: expected a number");
    }
    if (vals[F_LIMIT].n > 47 || pc_limit_parse(vals[F_LIMIT].p, vals[F_LIMIT].n, &ev->limit) != 0) {
        return pc_err_set(err, PC_ESCHEMA, "event: limit: expected unknown, steps:N or bytes:N");
    }
    return copy_text(&vals[F_MSG], ev->msg, sizeof(ev->msg), "msg", err);
}

static int parse_kind_fields(const struct value *vals, struct msg_event *ev, struct pc_err *err)
{
    switch (ev->kind) {
    case MSG_EVENT_BLOCK_START:
        return parse_block_start(vals, ev, err);
    case MSG_EVENT_PROGRESS:
        return parse_progress(vals, ev, err);
    case MSG_EVENT_INTERRUPT:
        if (vals[F_ITEMS].n > MSG_EVENT_ITEMS_MAX) {
            return pc_err_set(err, PC_ELIMIT, "event: items: %zu bytes, more than %d",
                              vals[F_ITEMS].n, MSG_EVENT_ITEMS_MAX);
        }
        if (!items_valid(vals[F_ITEMS].p, vals[F_ITEMS].n)) {
            return pc_err_set(err, PC_ESCHEMA,
                              "event: items: expected item ids separated by commas");
        }
        ev->items = vals[F_ITEMS].n > 0 ? vals[F_ITEMS].p : NULL;
        ev->items_len = vals[F_ITEMS].n;
        return copy_text(&vals[F_REASON], ev->reason, sizeof(ev->reason), "reason", err);
    case MSG_EVENT_OUTCOME:
        if (require(vals, F_OUTCOME, err) != 0) {
            return PC_ESCHEMA;
        }
        if (pc_outcome_kind_parse(vals[F_OUTCOME].p, vals[F_OUTCOME].n, &ev->outcome) != 0) {
            return pc_err_set(err, PC_ESCHEMA, "event: outcome: unknown outcome \"%.*s\"",
                              (int)(vals[F_OUTCOME].n > 64 ? 64 : vals[F_OUTCOME].n),
                              vals[F_OUTCOME].p);
        }
        return 0;
    }
    return PC_EINTERNAL;
}

/* Sorts the strings into the known fields; unknown ones are skipped. */
static int collect(const char *const *fields, const size_t *lens, size_t n, struct value *vals,
                   struct pc_err *err)
{
    if (n > 0 && (fields == NULL || lens == NULL)) {
        return pc_err_set(err, PC_ESCHEMA, "event: no fields");
    }
    if (n % 2 != 0 || n > FROM_FIELDS_MAX) {
        return pc_err_set(err, n % 2 != 0 ? PC_ESCHEMA : PC_ELIMIT,
                          "event: %zu strings, expected at most %d field/value pairs", n,
                          FROM_FIELDS_MAX / 2);
    }
    for (size_t i = 0; i < n; i += 2) {
        for (size_t f = 0; f < N_FIELDS; f++) {
            if (fields[i] == NULL || lens[i] != strlen(all_fields[f]) ||
                memcmp(fields[i], all_fields[f], lens[i]) != 0) {
                continue;
            }
            if (vals[f].set) {
                return pc_err_set(err, PC_ESCHEMA, "event: field \"%s\" repeated", all_fields[f]);
            }
            if (fields[i + 1] == NULL && lens[i + 1] > 0) {
                return pc_err_set(err, PC_ESCHEMA, "event: %s: no value", all_fields[f]);
            }
            if (lens[i + 1] > 0 && memchr(fields[i + 1], '\0', lens[i + 1]) != NULL) {
                return pc_err_set(err, PC_ESCHEMA, "event: %s: value holds a NUL byte",
                                  all_fields[f]);
            }
            vals[f].p = fields[i + 1] != NULL ? fields[i + 1] : "";
            vals[f].n = lens[i + 1];
            vals[f].set = true;
        }
    }
    return 0;
}

int msg_event_from_fields(const char *const *fields, const size_t *lens, size_t n,
                          struct msg_event *out, struct pc_err *err)
{
    struct value vals[N_FIELDS];
    struct msg_event ev;
    int rc;

    memset(vals, 0, sizeof(vals));
    memset(&ev, 0, sizeof(ev));
    rc = collect(fields, lens, n, vals, err);
    if (rc == 0) {
        rc = require(vals, F_KIND, err);
    }
    if (rc != 0) {
        return rc;
    }
    rc = PC_ESCHEMA;
    for (size_t k = 0; k < COUNT_OF(kind_names); k++) {
        if (vals[F_KIND].n == strlen(kind_names[k]) &&
            memcmp(vals[F_KIND].p, kind_names[k], vals[F_KIND].n) == 0) {
            ev.kind = (enum msg_event_kind)k;
            rc = 0;
        }
    }
    if (rc != 0) {
        return pc_err_set(err, rc, "event: kind: unknown kind \"%.*s\"",
                          (int)(vals[F_KIND].n > 64 ? 64 : vals[F_KIND].n), vals[F_KIND].p);
    }
    rc = parse_kind_fields(vals, &ev, err);
    if (rc == 0) {
        *out = ev;
    }
    return rc;
}
