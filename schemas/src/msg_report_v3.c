/*
 * msg_report_v3.c - version 3 of the full report: the same information as
 * version 2 in fewer bytes (schemas/README.md, "outcome report").
 *
 * Where version 2 spends its bytes on key names and 9-byte absolute times,
 * version 3 writes:
 *  - "times": [started_ms, created, finished, interrupted], the last three
 *    as signed offsets from started_ms (nil = unknown), so each is 1-3 bytes;
 *  - "blocks": one array per block, [name, start, duration, cols, rows,
 *    unset], start relative to started_ms; unset, cols and rows are left
 *    out when they hold their default (in that order);
 *  - one row per entry, [item, start, duration, cell...] (start relative
 *    to the block's start; both left out for an entry that was not timed),
 *    the cells named once per block by `cols`; a block whose columns are
 *    its kind's usual ones (discover: current, goal) does not name them.
 * Nothing is lost: a value column's nil is "no state", and an entry that
 * has no such value at all is listed in `unset`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_report_int.h"
#include "peace/msg.h"

/* Columns, in the order a writer lists them. */
enum col {
    COL_CHANGED,
    COL_STALE,
    COL_VALUE0, /* the PC_RV_COUNT values follow, in enum pc_rv order */
    COL_ERROR = COL_VALUE0 + PC_RV_COUNT,
    COL_TRUNCATED,
    COL_COUNT,
};
static const char *const col_names[COL_COUNT] = {"changed", "stale", "current", "goal",     "diff",
                                                 "clean",   "state", "error",   "truncated"};
#define COL_BIT(c)   (1u << (c))
#define COL_VALUE(v) COL_BIT(COL_VALUE0 + (v))

/* The columns a block of this kind names by default. */
static uint32_t default_cols(enum pc_block_kind k)
{
    switch (k) {
    case PC_BLOCK_READ_CURRENT:
    case PC_BLOCK_DISCOVER_CURRENT:
        return COL_VALUE(PC_RV_CURRENT);
    case PC_BLOCK_READ_GOAL:
    case PC_BLOCK_DISCOVER_GOAL:
        return COL_VALUE(PC_RV_GOAL);
    case PC_BLOCK_DISCOVER:
        return COL_VALUE(PC_RV_CURRENT) | COL_VALUE(PC_RV_GOAL);
    case PC_BLOCK_CLEAN_INSERTION:
        return COL_VALUE(PC_RV_CLEAN);
    case PC_BLOCK_DIFF:
        return COL_VALUE(PC_RV_DIFF);
    case PC_BLOCK_SYNC_CHECK:
    case PC_BLOCK_SYNC_CHECK_CURRENT:
    case PC_BLOCK_SYNC_CHECK_GOAL:
        return COL_BIT(COL_STALE);
    case PC_BLOCK_APPLY_ENSURE:
    case PC_BLOCK_APPLY_ENSURE_DRY:
    case PC_BLOCK_APPLY_CLEAN:
    case PC_BLOCK_APPLY_CLEAN_DRY:
    case PC_BLOCK_CLEAN_OBSOLETE:
    case PC_BLOCK_CLEAN_OBSOLETE_DRY:
    case PC_BLOCK_CLEAN_REPLACED:
    case PC_BLOCK_CLEAN_REPLACED_DRY:
    case PC_BLOCK_ENSURE_REPLACED:
    case PC_BLOCK_ENSURE_REPLACED_DRY:
        return COL_BIT(COL_CHANGED) | COL_VALUE(PC_RV_STATE);
    }
    return 0;
}

static uint32_t entry_cols(const struct pc_report_item *it)
{
    uint32_t m = 0;

    m |= it->apply != PC_APPLY_NONE ? COL_BIT(COL_CHANGED) : 0;
    m |= it->stale != PC_STALE_NONE ? COL_BIT(COL_STALE) : 0;
    m |= it->error != NULL ? COL_BIT(COL_ERROR) : 0;
    for (size_t v = 0; v < PC_RV_COUNT; v++) {
        m |= it->values[v].set ? COL_VALUE(v) : 0;
        m |= it->values[v].set && it->values[v].truncated ? COL_BIT(COL_TRUNCATED) : 0;
    }
    return m;
}

static uint32_t popcount(uint32_t m)
{
    uint32_t n = 0;

    for (; m != 0; m &= m - 1) {
        n++;
    }
    return n;
}

/* ------------------------------------------------------------------------ */
/* Encoding                                                                 */
/* ------------------------------------------------------------------------ */

bool msg__rep3_has_times(const struct pc_outcome *o)
{
    return o->created_ms != 0 || o->started_ms != 0 || o->finished_ms != 0 ||
           o->interrupted_ms != 0;
}

bool msg__rep3_processed_is_run(const struct pc_outcome *o)
{
    if (o->n_blocks_processed != o->n_run) {
        return false;
    }
    for (size_t i = 0; i < o->n_run; i++) {
        if (o->blocks[i] != o->run[i].kind) {
            return false;
        }
    }
    return true;
}

#define TIME_MAX ((uint64_t)INT64_MAX / 2)

int msg__rep3_check_times(const struct pc_outcome *o, struct pc_err *err)
{
    bool ok = o->created_ms <= TIME_MAX && o->started_ms <= TIME_MAX &&
              o->finished_ms <= TIME_MAX && o->interrupted_ms <= TIME_MAX;

    for (size_t b = 0; ok && b < o->n_run; b++) {
        ok = o->run[b].start_ms <= TIME_MAX && o->run[b].duration_ms <= TIME_MAX;
        for (size_t i = 0; ok && i < o->run[b].n_items; i++) {
            const struct pc_report_item *it = &o->run[b].items[i];

            ok = !it->timed || (it->start_ms <= TIME_MAX && it->duration_ms <= TIME_MAX);
        }
    }
    return ok ? 0
              : pc_err_set(err, PC_EINVAL, "report: a time over %llu ms",
                           (unsigned long long)TIME_MAX);
}

static int64_t rel(uint64_t t, uint64_t anchor)
{
    return (int64_t)t - (int64_t)anchor; /* both <= TIME_MAX: no overflow */
}

static void write_rel_or_nil(struct msg__wr *w, uint64_t t, uint64_t anchor)
{
    if (t == 0) {
        msg__wr_nil(w);
    } else {
        msg__wr_int(w, rel(t, anchor));
    }
}

void msg__rep3_write_times(struct msg__wr *w, const struct pc_outcome *o)
{
    msg__wr_array(w, o->interrupted_ms != 0 ? 4 : 3);
    msg__wr_uint(w, o->started_ms);
    write_rel_or_nil(w, o->created_ms, o->started_ms);
    write_rel_or_nil(w, o->finished_ms, o->started_ms);
    if (o->interrupted_ms != 0) {
        write_rel_or_nil(w, o->interrupted_ms, o->started_ms);
    }
}

static void write_cell(struct msg__wr *w, const struct pc_report_item *it, unsigned c)
{
    const struct pc_rvalue *rv = NULL;

    switch (c) {
    case COL_CHANGED:
        if (it->apply == PC_APPLY_NONE) {
            msg__wr_nil(w);
        } else {
            msg__wr_bool(w, it->apply == PC_APPLY_CHANGED);
        }
        return;
    case COL_STALE:
        if (it->stale == PC_STALE_NONE) {
            msg__wr_nil(w);
        } else {
            msg__wr_cstr(w, it->stale == PC_STALE_GOAL ? "goal" : "current");
        }
        return;
    case COL_ERROR:
        if (it->error == NULL) {
            msg__wr_nil(w);
        } else {
            msg__wr_cstr(w, it->error);
        }
        return;
    case COL_TRUNCATED:
        if ((entry_cols(it) & COL_BIT(COL_TRUNCATED)) == 0) {
            msg__wr_nil(w);
        } else {
            msg__rep_write_truncated(w, it);
        }
        return;
    default:
        rv = &it->values[c - COL_VALUE0];
        if (rv->set && !rv->truncated && rv->state.data != NULL) {
            msg__wr_raw(w, rv->state.data, rv->state.len);
        } else {
            msg__wr_nil(w); /* no state, truncated (see the truncated cell) or unset */
        }
        return;
    }
}

static void write_row(struct msg__wr *w, const struct pc_report_item *it, uint64_t block_start,
                      uint32_t cols)
{
    msg__wr_array(w, 1 + 2u * it->timed + popcount(cols));
    msg__wr_cstr(w, it->item.s);
    if (it->timed) {
        msg__wr_int(w, rel(it->start_ms, block_start));
        msg__wr_uint(w, it->duration_ms);
    }
    for (unsigned c = 0; c < COL_COUNT; c++) {
        if ((cols & COL_BIT(c)) != 0) {
            write_cell(w, it, c);
        }
    }
}

/* Entries without a value of a value column that the block lists. */
static size_t count_unset(const struct pc_report_block *b, uint32_t cols)
{
    size_t n = 0;

    for (size_t i = 0; i < b->n_items; i++) {
        for (size_t v = 0; v < PC_RV_COUNT; v++) {
            n += (cols & COL_VALUE(v)) != 0 && !b->items[i].values[v].set;
        }
    }
    return n;
}

static void write_unset(struct msg__wr *w, const struct pc_report_block *b, uint32_t cols, size_t n)
{
    msg__wr_array(w, (uint32_t)n);
    for (size_t i = 0; i < b->n_items; i++) {
        uint32_t pos = 0;

        for (unsigned c = 0; c < COL_COUNT; c++) {
            if ((cols & COL_BIT(c)) == 0) {
                continue;
            }
            if (c >= COL_VALUE0 && c < COL_VALUE0 + PC_RV_COUNT &&
                !b->items[i].values[c - COL_VALUE0].set) {
                msg__wr_array(w, 2);
                msg__wr_uint(w, i);
                msg__wr_uint(w, pos);
            }
            pos++;
        }
    }
}

static void write_block(struct msg__wr *w, const struct pc_report_block *b, uint64_t anchor)
{
    uint32_t cols = 0;
    size_t n_unset = 0;
    uint32_t len = 3;

    for (size_t i = 0; i < b->n_items; i++) {
        cols |= entry_cols(&b->items[i]);
    }
    n_unset = count_unset(b, cols);
    len = n_unset > 0                                       ? 6
          : cols != default_cols(b->kind) && b->n_items > 0 ? 5
          : b->n_items > 0                                  ? 4
                                                            : 3;
    msg__wr_array(w, len);
    msg__wr_cstr(w, pc_block_name(b->kind));
    msg__wr_int(w, rel(b->start_ms, anchor));
    msg__wr_uint(w, b->duration_ms);
    if (len >= 5) {
        msg__wr_array(w, popcount(cols));
        for (unsigned c = 0; c < COL_COUNT; c++) {
            if ((cols & COL_BIT(c)) != 0) {
                msg__wr_cstr(w, col_names[c]);
            }
        }
    }
    if (len >= 4) {
        msg__wr_array(w, (uint32_t)b->n_items);
        for (size_t i = 0; i < b->n_items; i++) {
            write_row(w, &b->items[i], b->start_ms, cols);
        }
    }
    if (len == 6) {
        write_unset(w, b, cols, n_unset);
    }
}

void msg__rep3_write_blocks(struct msg__wr *w, const struct pc_outcome *o)
{
    msg__wr_array(w, (uint32_t)o->n_run);
    for (size_t b = 0; b < o->n_run; b++) {
        write_block(w, &o->run[b], o->started_ms);
    }
}

/* ------------------------------------------------------------------------ */
/* Decoding                                                                 */
/* ------------------------------------------------------------------------ */

/* t = anchor + offset, within 0..TIME_MAX; false otherwise. */
static bool add_rel(uint64_t anchor, int64_t offset, uint64_t *t)
{
    if (anchor > TIME_MAX || offset > (int64_t)TIME_MAX || offset < -(int64_t)TIME_MAX) {
        return false;
    }
    offset += (int64_t)anchor;
    if (offset < 0 || (uint64_t)offset > TIME_MAX) {
        return false;
    }
    *t = (uint64_t)offset;
    return true;
}

int msg__rep3_read_times(struct rep_dec *d)
{
    uint64_t *const later[3] = {&d->o.created_ms, &d->o.finished_ms, &d->o.interrupted_ms};
    uint32_t count = 0;
    int rc = msg__rd_array(&d->r, &count);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "report: times");
    }
    if (count < 3 || count > 4) {
        return pc_err_set(d->err, PC_ESCHEMA, "report: times: %u elements, expected 3 or 4",
                          (unsigned)count);
    }
    rc = msg__rd_uint(&d->r, &d->o.started_ms);
    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "report: times[0]");
    }
    if (d->o.started_ms > TIME_MAX) {
        return pc_err_set(d->err, PC_ESCHEMA, "report: times[0]: out of range");
    }
    for (uint32_t i = 1; i < count; i++) {
        int64_t off = 0;

        if (msg__rd_nil(&d->r)) {
            continue;
        }
        rc = msg__rd_int(&d->r, &off);
        if (rc != 0) {
            return msg__fail(d->err, rc, &d->r, "report: times[%u]", (unsigned)i);
        }
        if (!add_rel(d->o.started_ms, off, later[i - 1])) {
            return pc_err_set(d->err, PC_ESCHEMA, "report: times[%u]: out of range", (unsigned)i);
        }
    }
    return 0;
}

/* The cols of a block: names, each once, in the writer's order. */
static int read_cols(struct rep_dec *d, uint32_t *cols, unsigned order[COL_COUNT], uint32_t *n,
                     const char *path)
{
    uint32_t count = 0;
    int rc = msg__rd_array(&d->r, &count);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "%s.cols", path);
    }
    if (count > COL_COUNT) {
        return pc_err_set(d->err, PC_ESCHEMA, "%s.cols: %u columns", path, (unsigned)count);
    }
    *cols = 0;
    for (uint32_t i = 0; i < count; i++) {
        const char *p = NULL;
        size_t len = 0;
        unsigned c = COL_COUNT;

        rc = msg__rd_str(&d->r, &p, &len);
        if (rc != 0) {
            return msg__fail(d->err, rc, &d->r, "%s.cols[%u]", path, (unsigned)i);
        }
        for (unsigned k = 0; k < COL_COUNT; k++) {
            if (strlen(col_names[k]) == len && memcmp(col_names[k], p, len) == 0) {
                c = k;
            }
        }
        if (c == COL_COUNT || (*cols & COL_BIT(c)) != 0) {
            return pc_err_set(d->err, PC_ESCHEMA, "%s.cols[%u]: unknown or repeated \"%.*s\"", path,
                              (unsigned)i, (int)(len > 64 ? 64 : len), p);
        }
        *cols |= COL_BIT(c);
        order[i] = c;
    }
    *n = count;
    return 0;
}

static int read_truncated_cell(struct rep_dec *d, struct pc_report_item *it, const char *path)
{
    static const char *const names[PC_RV_COUNT] = {"current", "goal", "diff", "clean", "state"};
    char sub[112];
    uint32_t seen = 0;
    uint32_t count = 0;
    int rc = 0;

    if (msg__rd_nil(&d->r)) {
        return 0;
    }
    rc = msg__rd_map(&d->r, &count);
    if (rc != 0 || count == 0) {
        return rc != 0 ? msg__fail(d->err, rc, &d->r, "%s.truncated", path)
                       : pc_err_set(d->err, PC_ESCHEMA, "%s.truncated: empty", path);
    }
    (void)snprintf(sub, sizeof(sub), "%s.truncated", path);
    for (uint32_t k = 0; rc == 0 && k < count; k++) {
        size_t v = 0;
        struct pc_rvalue *rv = NULL;

        rc = msg__rd_key(&d->r, names, PC_RV_COUNT, &seen, &v, sub, d->err);
        if (rc != 0) {
            return rc;
        }
        rv = &it->values[v];
        /* Its column holds nil for it: set, no state. */
        if (!rv->set || rv->state.data != NULL) {
            return pc_err_set(d->err, PC_ESCHEMA, "%s: %s truncated but given", path, names[v]);
        }
        rv->truncated = true;
        rc = msg__rep_read_digest(d, rv, sub);
    }
    return rc;
}

static int read_cell(struct rep_dec *d, struct pc_report_item *it, unsigned c, const char *path)
{
    char sub[112];
    bool changed = false;
    int rc = 0;

    (void)snprintf(sub, sizeof(sub), "%s.%s", path, col_names[c]);
    if (c >= COL_VALUE0 && c < COL_VALUE0 + PC_RV_COUNT) {
        return msg__rep_read_value(d, &it->values[c - COL_VALUE0], sub);
    }
    if (c == COL_TRUNCATED) {
        return read_truncated_cell(d, it, path);
    }
    if (msg__rd_nil(&d->r)) {
        return 0;
    }
    switch (c) {
    case COL_CHANGED:
        rc = msg__rd_bool(&d->r, &changed);
        it->apply = changed ? PC_APPLY_CHANGED : PC_APPLY_UNCHANGED;
        return rc == 0 ? 0 : msg__fail(d->err, rc, &d->r, "%s", sub);
    case COL_STALE:
        return msg__rep_read_stale(d, &it->stale, sub);
    default: /* COL_ERROR */
        return msg__rd_text(&d->r, PC_OUTCOME_ERROR_TEXT_MAX, &it->error, sub, d->err);
    }
}

static int read_row(struct rep_dec *d, struct pc_report_item *it, const unsigned *order,
                    uint32_t n_cols, const char *path)
{
    uint32_t count = 0;
    int64_t off = 0;
    int rc = msg__rd_array(&d->r, &count);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "%s", path);
    }
    if (count != 1 + n_cols && count != 3 + n_cols) {
        return pc_err_set(d->err, PC_ESCHEMA, "%s: %u elements for %u columns", path,
                          (unsigned)count, (unsigned)n_cols);
    }
    rc = msg__rd_id(&d->r, &it->item, path, d->err);
    if (rc == 0 && count == 3 + n_cols) {
        it->timed = true;
        rc = msg__rd_int(&d->r, &off);
        it->start_ms = (uint64_t)off; /* relative until msg__rep3_resolve */
        rc = rc == 0 ? msg__rd_uint(&d->r, &it->duration_ms) : rc;
        if (rc != 0) {
            return msg__fail(d->err, rc, &d->r, "%s: start, duration", path);
        }
    }
    for (uint32_t k = 0; rc == 0 && k < n_cols; k++) {
        rc = read_cell(d, it, order[k], path);
    }
    return rc;
}

static int read_rows(struct rep_dec *d, struct pc_report_block *b, const unsigned *order,
                     uint32_t n_cols, const char *path)
{
    char sub[96];
    uint32_t count = 0;
    int rc = msg__rd_array(&d->r, &count);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "%s.rows", path);
    }
    if (count > PC_FLOW_ITEMS_MAX) {
        return pc_err_set(d->err, PC_ELIMIT, "%s.rows: %u entries, more than %d", path,
                          (unsigned)count, PC_FLOW_ITEMS_MAX);
    }
    if (count == 0) {
        return 0;
    }
    b->items = calloc(count, sizeof(*b->items));
    if (b->items == NULL) {
        return pc_err_set(d->err, PC_ENOMEM, "%s.rows: out of memory", path);
    }
    for (uint32_t i = 0; rc == 0 && i < count; i++) {
        (void)snprintf(sub, sizeof(sub), "%s.rows[%u]", path, (unsigned)i);
        b->n_items = i + 1; /* counted first: cleanup frees a half-read entry */
        rc = read_row(d, &b->items[i], order, n_cols, sub);
    }
    return rc;
}

static int read_unset(struct rep_dec *d, struct pc_report_block *b, const unsigned *order,
                      uint32_t n_cols, const char *path)
{
    uint32_t count = 0;
    int rc = msg__rd_array(&d->r, &count);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "%s.unset", path);
    }
    for (uint32_t i = 0; i < count; i++) {
        uint32_t pair = 0;
        uint64_t row = 0;
        uint64_t pos = 0;
        struct pc_rvalue *rv = NULL;

        rc = msg__rd_array(&d->r, &pair);
        rc = rc == 0 && pair != 2 ? PC_ESCHEMA : rc;
        rc = rc == 0 ? msg__rd_uint(&d->r, &row) : rc;
        rc = rc == 0 ? msg__rd_uint(&d->r, &pos) : rc;
        if (rc != 0) {
            return msg__fail(d->err, rc, &d->r, "%s.unset[%u]: expected [row, column]", path,
                             (unsigned)i);
        }
        if (row >= b->n_items || pos >= n_cols || order[pos] < COL_VALUE0 ||
            order[pos] >= COL_VALUE0 + PC_RV_COUNT) {
            return pc_err_set(d->err, PC_ESCHEMA, "%s.unset[%u]: no such value cell", path,
                              (unsigned)i);
        }
        rv = &b->items[row].values[order[pos] - COL_VALUE0];
        if (!rv->set || rv->truncated || rv->state.data != NULL) {
            return pc_err_set(d->err, PC_ESCHEMA, "%s.unset[%u]: the cell holds a value", path,
                              (unsigned)i);
        }
        rv->set = false;
    }
    return 0;
}

int msg__rep3_read_block(struct rep_dec *d, struct pc_report_block *b, size_t bi)
{
    char path[48];
    unsigned order[COL_COUNT];
    uint32_t n_cols = 0;
    uint32_t cols = 0;
    uint32_t count = 0;
    const char *p = NULL;
    size_t n = 0;
    int64_t off = 0;
    int rc = msg__rd_array(&d->r, &count);

    (void)snprintf(path, sizeof(path), "report: blocks[%zu]", bi);
    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "%s", path);
    }
    if (count < 3 || count > 6) {
        return pc_err_set(d->err, PC_ESCHEMA, "%s: %u elements, expected 3 to 6", path,
                          (unsigned)count);
    }
    rc = msg__rd_str(&d->r, &p, &n);
    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "%s.block", path);
    }
    if (pc_block_parse(p, n, &b->kind) != 0) {
        return pc_err_set(d->err, PC_EINVAL, "%s.block: unknown block \"%.*s\"", path,
                          (int)(n > 64 ? 64 : n), p);
    }
    rc = msg__rd_int(&d->r, &off);
    b->start_ms = (uint64_t)off; /* relative until msg__rep3_resolve */
    rc = rc == 0 ? msg__rd_uint(&d->r, &b->duration_ms) : rc;
    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "%s: start, duration", path);
    }
    if (count == 3) {
        return 0;
    }
    if (count >= 5) {
        rc = read_cols(d, &cols, order, &n_cols, path);
    } else {
        cols = default_cols(b->kind);
        for (unsigned c = 0; c < COL_COUNT; c++) {
            if ((cols & COL_BIT(c)) != 0) {
                order[n_cols++] = c;
            }
        }
        rc = n_cols == 0 ? pc_err_set(d->err, PC_ESCHEMA, "%s: rows without cols", path) : 0;
    }
    rc = rc == 0 ? read_rows(d, b, order, n_cols, path) : rc;
    if (rc == 0 && count == 6) {
        rc = read_unset(d, b, order, n_cols, path);
    }
    return rc;
}

int msg__rep3_resolve(struct rep_dec *d)
{
    for (size_t b = 0; b < d->o.n_run; b++) {
        struct pc_report_block *rb = &d->o.run[b];

        if (!add_rel(d->o.started_ms, (int64_t)rb->start_ms, &rb->start_ms) ||
            rb->duration_ms > TIME_MAX) {
            return pc_err_set(d->err, PC_ESCHEMA, "report: blocks[%zu]: time out of range", b);
        }
        for (size_t i = 0; i < rb->n_items; i++) {
            struct pc_report_item *it = &rb->items[i];

            if (it->timed && (!add_rel(rb->start_ms, (int64_t)it->start_ms, &it->start_ms) ||
                              it->duration_ms > TIME_MAX)) {
                return pc_err_set(d->err, PC_ESCHEMA,
                                  "report: blocks[%zu].rows[%zu]: time out of range", b, i);
            }
        }
    }
    return 0;
}
