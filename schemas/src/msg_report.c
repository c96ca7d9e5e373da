/*
 * msg_report.c - the outcome report stored in `peace:exec:{ID}` (field
 * `report`; schemas/README.md).
 *
 * The report names blocks and outcomes by their contract text, never by enum
 * number, so readers in other languages need no table and a reordered enum
 * cannot change the meaning of stored reports. Only "v" and "outcome" are
 * required: the encoder leaves out empty lists and a nil error, the decoder
 * defaults them.
 * Every count is bounded before anything is allocated.
 *
 * Version 2 adds the execution's times and the blocks run ("blocks": each
 * block's times and per-item entries). Version 3 holds the same in fewer
 * bytes (msg_report_v3.c: relative times, one row per entry). This file
 * writes version 3 (1 when nothing needs more, and always for the summary
 * of the meta hash; 2 on request) and reads 1, 2 and 3; a version-1 report
 * decodes to an outcome without times or blocks.
 */
#include "peace/msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_report_int.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

enum rep_key {
    REP_V,
    REP_OUTCOME,
    REP_BLOCKS_PROCESSED,
    REP_BLOCKS_NOT_PROCESSED,
    REP_ITEMS_PROCESSED,
    REP_ITEMS_NOT_PROCESSED,
    REP_ERRORS,
    REP_ERROR,
    REP_CREATED_MS,
    REP_STARTED_MS,
    REP_FINISHED_MS,
    REP_INTERRUPTED_MS,
    REP_PARTIAL,
    REP_BLOCKS,
    REP_ITEMS_OBSOLETE,
    REP_ITEMS_OBSOLETE_UNMANAGED,
    REP_OBSOLETE_KEPT,
    REP_ITEMS_INTERRUPTED,
    REP_TIMES,
    REP_ITEMS_REPLACED,
};
static const char *const rep_keys[] = {"v",
                                       "outcome",
                                       "blocks_processed",
                                       "blocks_not_processed",
                                       "items_processed",
                                       "items_not_processed",
                                       "errors",
                                       "error",
                                       "created_ms",
                                       "started_ms",
                                       "finished_ms",
                                       "interrupted_ms",
                                       "partial",
                                       "blocks",
                                       "items_obsolete",
                                       "items_obsolete_unmanaged",
                                       "obsolete_kept",
                                       "items_interrupted",
                                       "times",
                                       "items_replaced"};
/* Keys of version 2 only (version 3 has "times" instead). */
#define REP_V2_ONLY                                                                                \
    ((1u << REP_CREATED_MS) | (1u << REP_STARTED_MS) | (1u << REP_FINISHED_MS) |                   \
     (1u << REP_INTERRUPTED_MS))

#define REP_REQUIRED ((1u << REP_V) | (1u << REP_OUTCOME))

/* ------------------------------------------------------------------------ */
/* Encoding                                                                 */
/* ------------------------------------------------------------------------ */

static bool text_ok(const char *s)
{
    return s == NULL || strnlen(s, PC_OUTCOME_ERROR_TEXT_MAX + 1) <= PC_OUTCOME_ERROR_TEXT_MAX;
}

static int check_ids(const struct pc_id *ids, size_t n, const char *what, struct pc_err *err)
{
    if (n > PC_FLOW_ITEMS_MAX || (n > 0 && ids == NULL)) {
        return pc_err_set(err, PC_EINVAL, "report: %s: %zu ids", what, n);
    }
    for (size_t i = 0; i < n; i++) {
        if (!pc_ident_valid(ids[i].s, strnlen(ids[i].s, sizeof(ids[i].s)))) {
            return pc_err_set(err, PC_EINVAL, "report: %s[%zu]: not an item id", what, i);
        }
    }
    return 0;
}

static int check_entry(const struct pc_report_item *it, size_t b, size_t i, struct pc_err *err)
{
    if (!pc_ident_valid(it->item.s, strnlen(it->item.s, PC_ID_MAX + 1)) || !text_ok(it->error) ||
        (unsigned)it->apply > PC_APPLY_UNCHANGED || (unsigned)it->stale > PC_STALE_GOAL) {
        return pc_err_set(err, PC_EINVAL, "report: blocks[%zu].items[%zu]: bad entry", b, i);
    }
    for (size_t v = 0; v < PC_RV_COUNT; v++) {
        const struct pc_rvalue *rv = &it->values[v];

        if (!rv->set || rv->truncated || rv->state.data == NULL) {
            continue;
        }
        if (rv->state.len > PC_REPORT_VALUE_MAX ||
            msg_state_check(rv->state.data, rv->state.len, NULL) != 0) {
            return pc_err_set(err, PC_EINVAL, "report: blocks[%zu].items[%zu].%s: bad value", b, i,
                              pc_rv_name((enum pc_rv)v));
        }
    }
    return 0;
}

static int check_run(const struct pc_outcome *o, struct pc_err *err)
{
    if (o->n_run > PC_BLOCKS_MAX || (o->n_run > 0 && o->run == NULL)) {
        return pc_err_set(err, PC_EINVAL, "report: blocks: %zu blocks", o->n_run);
    }
    for (size_t b = 0; b < o->n_run; b++) {
        const struct pc_report_block *rb = &o->run[b];

        if ((unsigned)rb->kind >= PC_BLOCK_KIND_COUNT || rb->n_items > PC_FLOW_ITEMS_MAX ||
            (rb->n_items > 0 && rb->items == NULL)) {
            return pc_err_set(err, PC_EINVAL, "report: blocks[%zu]: bad block", b);
        }
        for (size_t i = 0; i < rb->n_items; i++) {
            int rc = check_entry(&rb->items[i], b, i, err);

            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

/* Refuses what msg_report_decode would refuse. */
static int check_outcome(const struct pc_outcome *o, struct pc_err *err)
{
    enum pc_outcome_kind kind;
    const char *name = pc_outcome_kind_name(o->kind);
    int rc;

    if (pc_outcome_kind_parse(name, strlen(name), &kind) != 0 || kind != o->kind) {
        return pc_err_set(err, PC_EINVAL, "report: outcome: no outcome number %d", (int)o->kind);
    }
    if (o->n_blocks > PC_BLOCKS_MAX || o->n_blocks_processed > o->n_blocks) {
        return pc_err_set(err, PC_EINVAL, "report: %zu of %zu blocks processed",
                          o->n_blocks_processed, o->n_blocks);
    }
    for (size_t i = 0; i < o->n_blocks; i++) {
        if ((unsigned)o->blocks[i] >= PC_BLOCK_KIND_COUNT) {
            return pc_err_set(err, PC_EINVAL, "report: blocks[%zu]: no block number %d", i,
                              (int)o->blocks[i]);
        }
    }
    rc = check_ids(o->items_processed, o->n_items_processed, "items_processed", err);
    if (rc == 0) {
        rc =
            check_ids(o->items_not_processed, o->n_items_not_processed, "items_not_processed", err);
    }
    if (rc == 0) {
        rc = check_ids(o->items_interrupted, o->n_items_interrupted, "items_interrupted", err);
    }
    if (rc != 0) {
        return rc;
    }
    if (o->n_errors > PC_FLOW_ITEMS_MAX || (o->n_errors > 0 && o->errors == NULL)) {
        return pc_err_set(err, PC_EINVAL, "report: errors: %zu errors", o->n_errors);
    }
    for (size_t i = 0; i < o->n_errors; i++) {
        if (!pc_ident_valid(o->errors[i].item.s, strnlen(o->errors[i].item.s, PC_ID_MAX + 1)) ||
            !text_ok(o->errors[i].text)) {
            return pc_err_set(err, PC_EINVAL,
                              "report: errors[%zu]: bad item id or text over %d "
                              "bytes",
                              i, PC_OUTCOME_ERROR_TEXT_MAX);
        }
    }
    if (!text_ok(o->error)) {
        return pc_err_set(err, PC_EINVAL, "report: error: over %d bytes",
                          PC_OUTCOME_ERROR_TEXT_MAX);
    }
    return check_run(o, err);
}

static void write_blocks(struct msg__wr *w, const enum pc_block_kind *blocks, size_t n)
{
    msg__wr_array(w, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        msg__wr_cstr(w, pc_block_name(blocks[i]));
    }
}

static void write_ids(struct msg__wr *w, const struct pc_id *ids, size_t n)
{
    msg__wr_array(w, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        msg__wr_cstr(w, ids[i].s);
    }
}

static void write_time(struct msg__wr *w, const char *key, uint64_t ms)
{
    if (ms != 0) {
        msg__wr_cstr(w, key);
        msg__wr_uint(w, ms);
    }
}

static bool needs_v2(const struct pc_outcome *o)
{
    return o->created_ms != 0 || o->started_ms != 0 || o->finished_ms != 0 ||
           o->interrupted_ms != 0 || o->partial || o->n_run > 0 || o->n_items_obsolete > 0 ||
           o->n_items_obsolete_unmanaged > 0 || o->obsolete_kept || o->n_items_replaced > 0;
}

/* Version 2's own keys (times, partial, blocks as maps, obsolete lists). */
static void write_v2_tail(struct msg__wr *w, const struct pc_outcome *o)
{
    write_time(w, "created_ms", o->created_ms);
    write_time(w, "started_ms", o->started_ms);
    write_time(w, "finished_ms", o->finished_ms);
    write_time(w, "interrupted_ms", o->interrupted_ms);
    if (o->partial) {
        msg__wr_cstr(w, "partial");
        msg__wr_bool(w, true);
    }
    if (o->n_run > 0) {
        msg__wr_cstr(w, "blocks");
        msg__wr_array(w, (uint32_t)o->n_run);
        for (size_t b = 0; b < o->n_run; b++) {
            msg__rep2_write_block(w, &o->run[b]);
        }
    }
}

/* Version 3's: "times" and compact "blocks" (msg_report_v3.c). */
static void write_v3_tail(struct msg__wr *w, const struct pc_outcome *o)
{
    if (msg__rep3_has_times(o)) {
        msg__wr_cstr(w, "times");
        msg__rep3_write_times(w, o);
    }
    if (o->partial) {
        msg__wr_cstr(w, "partial");
        msg__wr_bool(w, true);
    }
    if (o->n_run > 0) {
        msg__wr_cstr(w, "blocks");
        msg__rep3_write_blocks(w, o);
    }
}

static uint32_t count_keys(const struct pc_outcome *o, unsigned version, bool write_processed)
{
    size_t n_not_done = o->n_blocks - o->n_blocks_processed;
    uint32_t keys = 2 + write_processed + (n_not_done > 0) + (o->n_items_processed > 0) +
                    (o->n_items_not_processed > 0) + (o->n_items_interrupted > 0) +
                    (o->n_errors > 0) + (o->error != NULL);

    if (version >= 2) {
        keys += o->partial + (o->n_run > 0) + (o->n_items_obsolete > 0) +
                (o->n_items_obsolete_unmanaged > 0) + o->obsolete_kept + (o->n_items_replaced > 0);
    }
    if (version == 2) {
        keys += (o->created_ms != 0) + (o->started_ms != 0) + (o->finished_ms != 0) +
                (o->interrupted_ms != 0);
    } else if (version == 3) {
        keys += msg__rep3_has_times(o);
    }
    return keys;
}

/* version 1: the summary (version 1 keys only); 2 or 3: the full report,
 * written as version 1 when nothing needs more. */
static int encode(const struct pc_outcome *o, unsigned version, struct pc_buf *out,
                  struct pc_err *err)
{
    struct msg__wr w;
    size_t n_not_done = o->n_blocks - o->n_blocks_processed;
    bool write_processed = o->n_blocks_processed > 0;
    bool write_outcome = true;
    int rc = check_outcome(o, err);

    if (rc != 0) {
        return rc;
    }
    if (version < 1 || version > MSG_REPORT_VERSION) {
        return pc_err_set(err, PC_EINVAL, "report: no version %u", version);
    }
    /* Empty lists and a nil error are left out (readers default them): a
     * short report keeps the meta hash within Redis's compact encoding
     * (hash-max-listpack-value, 64 bytes by default). */
    version = needs_v2(o) ? version : 1;
    if (version == 3) {
        rc = msg__rep3_check_times(o, err);
        if (rc != 0) {
            return rc;
        }
        /* Version 3's defaults: the blocks run, complete. */
        write_processed = !msg__rep3_processed_is_run(o);
        write_outcome = o->kind != PC_OUTCOME_COMPLETE;
    }
    msg__wr_init(&w, MSG_REPORT_MAX);
    msg__wr_map(&w, count_keys(o, version, write_processed) - !write_outcome);
    msg__wr_cstr(&w, "v");
    msg__wr_uint(&w, version);
    if (write_outcome) {
        msg__wr_cstr(&w, "outcome");
        msg__wr_cstr(&w, pc_outcome_kind_name(o->kind));
    }
    if (write_processed) {
        msg__wr_cstr(&w, "blocks_processed");
        write_blocks(&w, o->blocks, o->n_blocks_processed);
    }
    if (n_not_done > 0) {
        msg__wr_cstr(&w, "blocks_not_processed");
        write_blocks(&w, o->blocks + o->n_blocks_processed, n_not_done);
    }
    if (o->n_items_processed > 0) {
        msg__wr_cstr(&w, "items_processed");
        write_ids(&w, o->items_processed, o->n_items_processed);
    }
    if (o->n_items_not_processed > 0) {
        msg__wr_cstr(&w, "items_not_processed");
        write_ids(&w, o->items_not_processed, o->n_items_not_processed);
    }
    if (o->n_items_interrupted > 0) {
        msg__wr_cstr(&w, "items_interrupted");
        write_ids(&w, o->items_interrupted, o->n_items_interrupted);
    }
    if (o->n_errors > 0) {
        msg__wr_cstr(&w, "errors");
        msg__wr_array(&w, (uint32_t)o->n_errors);
        for (size_t i = 0; i < o->n_errors; i++) {
            msg__wr_array(&w, 2);
            msg__wr_cstr(&w, o->errors[i].item.s);
            msg__wr_cstr(&w, o->errors[i].text != NULL ? o->errors[i].text : "");
        }
    }
    if (o->error != NULL) {
        msg__wr_cstr(&w, "error");
        msg__wr_cstr(&w, o->error);
    }
    if (version == 1) {
        return msg__wr_finish(&w, out, "report", err);
    }
    if (version == 2) {
        write_v2_tail(&w, o);
    } else {
        write_v3_tail(&w, o);
    }
    if (o->n_items_obsolete > 0) {
        msg__wr_cstr(&w, "items_obsolete");
        write_ids(&w, o->items_obsolete, o->n_items_obsolete);
    }
    if (o->n_items_obsolete_unmanaged > 0) {
        msg__wr_cstr(&w, "items_obsolete_unmanaged");
        write_ids(&w, o->items_obsolete_unmanaged, o->n_items_obsolete_unmanaged);
    }
    if (o->obsolete_kept) {
        msg__wr_cstr(&w, "obsolete_kept");
        msg__wr_bool(&w, true);
    }
    if (o->n_items_replaced > 0) {
        msg__wr_cstr(&w, "items_replaced");
        write_ids(&w, o->items_replaced, o->n_items_replaced);
    }
    return msg__wr_finish(&w, out, "report", err);
}

int msg_report_encode(const struct pc_outcome *o, struct pc_buf *out, struct pc_err *err)
{
    return encode(o, MSG_REPORT_VERSION, out, err);
}

int msg_report_encode_version(const struct pc_outcome *o, unsigned version, struct pc_buf *out,
                              struct pc_err *err)
{
    if (version < 2) {
        return pc_err_set(err, PC_EINVAL, "report: no full report of version %u", version);
    }
    return encode(o, version, out, err);
}

int msg_report_summary_encode(const struct pc_outcome *o, struct pc_buf *out, struct pc_err *err)
{
    return encode(o, 1, out, err);
}

int msg_report_encode_redis(const struct pc_outcome *o, struct pc_buf *meta, struct pc_buf *full,
                            struct pc_err *err)
{
    int rc = encode(o, MSG_REPORT_VERSION, full, err);

    if (rc != 0) {
        return rc;
    }
    if (full->len <= MSG_REPORT_INLINE_MAX) {
        *meta = *full;
        pc_buf_init(full, 1);
        return 0;
    }
    rc = encode(o, 1, meta, err);
    if (rc != 0) {
        pc_buf_cleanup(full);
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Decoding                                                                 */
/* ------------------------------------------------------------------------ */

static int read_blocks(struct rep_dec *d, size_t key, enum pc_block_kind *out, size_t *n_out)
{
    uint32_t count = 0;
    int rc = msg__rd_array(&d->r, &count);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "report: %s", rep_keys[key]);
    }
    if (count > PC_BLOCKS_MAX) {
        return pc_err_set(d->err, PC_ELIMIT, "report: %s: %u blocks, more than %d", rep_keys[key],
                          (unsigned)count, PC_BLOCKS_MAX);
    }
    for (uint32_t i = 0; i < count; i++) {
        const char *p = NULL;
        size_t n = 0;

        rc = msg__rd_str(&d->r, &p, &n);
        if (rc != 0) {
            return msg__fail(d->err, rc, &d->r, "report: %s[%u]", rep_keys[key], (unsigned)i);
        }
        if (pc_block_parse(p, n, &out[i]) != 0) {
            return pc_err_set(d->err, PC_EINVAL, "report: %s[%u]: unknown block \"%.*s\"",
                              rep_keys[key], (unsigned)i, (int)(n > 64 ? 64 : n), p);
        }
    }
    *n_out = count;
    return 0;
}

static int read_ids(struct rep_dec *d, size_t key, struct pc_id **out, size_t *n_out)
{
    char path[64];
    uint32_t count = 0;
    int rc = msg__rd_array(&d->r, &count);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "report: %s", rep_keys[key]);
    }
    if (count > PC_FLOW_ITEMS_MAX) {
        return pc_err_set(d->err, PC_ELIMIT, "report: %s: %u ids, more than %d", rep_keys[key],
                          (unsigned)count, PC_FLOW_ITEMS_MAX);
    }
    if (count == 0) {
        return 0;
    }
    *out = malloc(count * sizeof(**out));
    if (*out == NULL) {
        return pc_err_set(d->err, PC_ENOMEM, "report: %s: out of memory", rep_keys[key]);
    }
    for (uint32_t i = 0; rc == 0 && i < count; i++) {
        (void)snprintf(path, sizeof(path), "report: %s[%u]", rep_keys[key], (unsigned)i);
        rc = msg__rd_id(&d->r, &(*out)[i], path, d->err);
        *n_out = rc == 0 ? i + 1 : *n_out;
    }
    return rc;
}

static int read_error_entry(struct rep_dec *d, uint32_t i)
{
    struct pc_item_error *e = &d->o.errors[i];
    char path[48];
    uint32_t pair = 0;
    int rc = msg__rd_array(&d->r, &pair);

    if (rc == 0 && pair != 2) {
        return pc_err_set(d->err, PC_ESCHEMA, "report: errors[%u]: expected [item, text]",
                          (unsigned)i);
    }
    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "report: errors[%u]", (unsigned)i);
    }
    (void)snprintf(path, sizeof(path), "report: errors[%u][0]", (unsigned)i);
    rc = msg__rd_id(&d->r, &e->item, path, d->err);
    if (rc == 0) {
        (void)snprintf(path, sizeof(path), "report: errors[%u][1]", (unsigned)i);
        rc = msg__rd_text(&d->r, PC_OUTCOME_ERROR_TEXT_MAX, &e->text, path, d->err);
    }
    return rc;
}

static int read_errors(struct rep_dec *d)
{
    uint32_t count = 0;
    int rc = msg__rd_array(&d->r, &count);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "report: errors");
    }
    if (count > PC_FLOW_ITEMS_MAX) {
        return pc_err_set(d->err, PC_ELIMIT, "report: errors: %u errors, more than %d",
                          (unsigned)count, PC_FLOW_ITEMS_MAX);
    }
    if (count == 0) {
        return 0;
    }
    d->o.errors = calloc(count, sizeof(*d->o.errors));
    if (d->o.errors == NULL) {
        return pc_err_set(d->err, PC_ENOMEM, "report: errors: out of memory");
    }
    for (uint32_t i = 0; rc == 0 && i < count; i++) {
        rc = read_error_entry(d, i);
        /* Counted even on failure: the entry's text is NULL or owned, cleanup frees it. */
        d->o.n_errors = i + 1;
    }
    return rc;
}

static int read_time(struct rep_dec *d, size_t key, uint64_t *out)
{
    int rc = msg__rd_uint(&d->r, out);

    return rc == 0 ? 0 : msg__fail(d->err, rc, &d->r, "report: %s", rep_keys[key]);
}

int msg__rep_read_stale(struct rep_dec *d, enum pc_stale_mark *out, const char *path)
{
    const char *p = NULL;
    size_t n = 0;
    int rc = msg__rd_str(&d->r, &p, &n);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "%s", path);
    }
    if (n == 7 && memcmp(p, "current", 7) == 0) {
        *out = PC_STALE_CURRENT;
    } else if (n == 4 && memcmp(p, "goal", 4) == 0) {
        *out = PC_STALE_GOAL;
    } else {
        return pc_err_set(d->err, PC_EINVAL, "%s: not current or goal", path);
    }
    return 0;
}

/* The value of "blocks": an array of at most PC_BLOCKS_MAX blocks, each
 * read by its version's read_block into d->o.run. */
static int read_run(struct rep_dec *d,
                    int (*read_block)(struct rep_dec *, struct pc_report_block *, size_t))
{
    uint32_t count = 0;
    int rc = msg__rd_array(&d->r, &count);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "report: blocks");
    }
    if (count > PC_BLOCKS_MAX) {
        return pc_err_set(d->err, PC_ELIMIT, "report: blocks: %u blocks, more than %d",
                          (unsigned)count, PC_BLOCKS_MAX);
    }
    if (count == 0) {
        return 0;
    }
    d->o.run = calloc(count, sizeof(*d->o.run));
    if (d->o.run == NULL) {
        return pc_err_set(d->err, PC_ENOMEM, "report: blocks: out of memory");
    }
    for (uint32_t b = 0; rc == 0 && b < count; b++) {
        d->o.n_run = b + 1;
        rc = read_block(d, &d->o.run[b], b);
    }
    return rc;
}

/* The value of one top-level field of a report (key) into d. */
static int read_field(struct rep_dec *d, size_t key)
{
    const char *p = NULL;
    size_t n = 0;
    uint64_t v = 0;
    int rc;

    switch ((enum rep_key)key) {
    case REP_V:
        rc = msg__rd_uint(&d->r, &v);
        if (rc != 0) {
            return msg__fail(d->err, rc, &d->r, "report: v");
        }
        return v == d->version ? 0 : pc_err_set(d->err, PC_ESCHEMA, "report: unknown version");
    case REP_OUTCOME:
        rc = msg__rd_str(&d->r, &p, &n);
        if (rc != 0) {
            return msg__fail(d->err, rc, &d->r, "report: outcome");
        }
        if (pc_outcome_kind_parse(p, n, &d->o.kind) != 0) {
            return pc_err_set(d->err, PC_EINVAL, "report: outcome: unknown outcome \"%.*s\"",
                              (int)(n > 64 ? 64 : n), p);
        }
        return 0;
    case REP_BLOCKS_PROCESSED:
        d->done_given = true;
        return read_blocks(d, key, d->done, &d->n_done);
    case REP_BLOCKS_NOT_PROCESSED:
        return read_blocks(d, key, d->not_done, &d->n_not_done);
    case REP_ITEMS_PROCESSED:
        return read_ids(d, key, &d->o.items_processed, &d->o.n_items_processed);
    case REP_ITEMS_NOT_PROCESSED:
        return read_ids(d, key, &d->o.items_not_processed, &d->o.n_items_not_processed);
    case REP_ITEMS_INTERRUPTED:
        return read_ids(d, key, &d->o.items_interrupted, &d->o.n_items_interrupted);
    case REP_ERRORS:
        return read_errors(d);
    case REP_ITEMS_OBSOLETE:
        return read_ids(d, key, &d->o.items_obsolete, &d->o.n_items_obsolete);
    case REP_ITEMS_REPLACED:
        return read_ids(d, key, &d->o.items_replaced, &d->o.n_items_replaced);
    case REP_ITEMS_OBSOLETE_UNMANAGED:
        return read_ids(d, key, &d->o.items_obsolete_unmanaged, &d->o.n_items_obsolete_unmanaged);
    case REP_OBSOLETE_KEPT:
        rc = msg__rd_bool(&d->r, &d->o.obsolete_kept);
        return rc == 0 ? 0 : msg__fail(d->err, rc, &d->r, "report: obsolete_kept");
    case REP_ERROR:
        return msg__rd_nil(&d->r) ? 0
                                  : msg__rd_text(&d->r, PC_OUTCOME_ERROR_TEXT_MAX, &d->o.error,
                                                 "report: error", d->err);
    case REP_CREATED_MS:
        return read_time(d, key, &d->o.created_ms);
    case REP_STARTED_MS:
        return read_time(d, key, &d->o.started_ms);
    case REP_FINISHED_MS:
        return read_time(d, key, &d->o.finished_ms);
    case REP_INTERRUPTED_MS:
        return read_time(d, key, &d->o.interrupted_ms);
    case REP_PARTIAL:
        rc = msg__rd_bool(&d->r, &d->o.partial);
        return rc == 0 ? 0 : msg__fail(d->err, rc, &d->r, "report: partial");
    case REP_BLOCKS:
        return read_run(d, d->version == 3 ? msg__rep3_read_block : msg__rep2_read_block);
    case REP_TIMES:
        return msg__rep3_read_times(d);
    }
    return PC_EINTERNAL;
}

static int decode_report(struct rep_dec *d)
{
    uint32_t count = 0;
    uint32_t seen = 0;
    int rc = msg__rd_map(&d->r, &count);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "report");
    }
    for (uint32_t k = 0; rc == 0 && k < count; k++) {
        size_t key = 0;

        rc = msg__rd_key(&d->r, rep_keys, COUNT_OF(rep_keys), &seen, &key, "report", d->err);
        if (rc == 0 && ((d->version == 3 && ((1u << key) & REP_V2_ONLY) != 0) ||
                        (d->version != 3 && key == REP_TIMES))) {
            rc = pc_err_set(d->err, PC_ESCHEMA, "report: key \"%s\" is not of version %u",
                            rep_keys[key], (unsigned)d->version);
        }
        if (rc == 0) {
            rc = read_field(d, key);
        }
    }
    if (rc == 0) {
        /* Version 3 leaves out the outcome when it is complete. */
        rc = msg__require(rep_keys, COUNT_OF(rep_keys),
                          d->version == 3 ? 1u << REP_V : REP_REQUIRED, seen, "report", d->err);
        if (rc == 0 && (seen & (1u << REP_OUTCOME)) == 0) {
            d->o.kind = PC_OUTCOME_COMPLETE;
        }
    }
    if (rc == 0 && !msg__rd_done(&d->r)) {
        rc = pc_err_set(d->err, PC_ESCHEMA, "report: %zu bytes after the message",
                        d->r.n - d->r.off);
    }
    if (rc == 0 && d->version == 3) {
        /* Block times were read relative to started_ms; blocks_processed
         * defaults to the blocks run. */
        rc = msg__rep3_resolve(d);
        for (size_t b = 0; rc == 0 && !d->done_given && b < d->o.n_run; b++) {
            d->done[d->n_done++] = d->o.run[b].kind;
        }
    }
    if (rc == 0 && d->n_done + d->n_not_done > PC_BLOCKS_MAX) {
        rc = pc_err_set(d->err, PC_ELIMIT, "report: %zu blocks, more than %d",
                        d->n_done + d->n_not_done, PC_BLOCKS_MAX);
    }
    return rc;
}

int msg_report_decode(const void *p, size_t n, struct pc_outcome *out, struct pc_err *err)
{
    struct rep_dec d;
    uint64_t version = 0;
    int rc =
        msg__check_version_in(p, n, MSG_REPORT_MAX, 1, MSG_REPORT_VERSION, "report", &version, err);

    if (rc != 0) {
        return rc;
    }
    memset(&d, 0, sizeof(d));
    d.version = version;
    pc_outcome_init(&d.o);
    msg__rd_init(&d.r, p, n);
    d.err = err;
    rc = decode_report(&d);
    if (rc != 0) {
        pc_outcome_cleanup(&d.o);
        return rc;
    }
    memcpy(d.o.blocks, d.done, d.n_done * sizeof(d.done[0]));
    memcpy(d.o.blocks + d.n_done, d.not_done, d.n_not_done * sizeof(d.not_done[0]));
    d.o.n_blocks = d.n_done + d.n_not_done;
    d.o.n_blocks_processed = d.n_done;
    *out = d.o;
    return 0;
}
