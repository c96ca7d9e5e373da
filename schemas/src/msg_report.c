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
 */
#include "peace/msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_internal.h"

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
};
static const char *const rep_keys[] = {"v",
                                       "outcome",
                                       "blocks_processed",
                                       "blocks_not_processed",
                                       "items_processed",
                                       "items_not_processed",
                                       "errors",
                                       "error"};
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
    return 0;
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

int msg_report_encode(const struct pc_outcome *o, struct pc_buf *out, struct pc_err *err)
{
    struct msg__wr w;
    size_t n_not_done = o->n_blocks - o->n_blocks_processed;
    uint32_t keys = 2;
    int rc = check_outcome(o, err);

    if (rc != 0) {
        return rc;
    }
    /* Empty lists and a nil error are left out (readers default them): a
     * short report keeps the meta hash within Redis's compact encoding
     * (hash-max-listpack-value, 64 bytes by default). */
    keys += (o->n_blocks_processed > 0) + (n_not_done > 0) + (o->n_items_processed > 0) +
            (o->n_items_not_processed > 0) + (o->n_errors > 0) + (o->error != NULL);
    msg__wr_init(&w, MSG_REPORT_MAX);
    msg__wr_map(&w, keys);
    msg__wr_cstr(&w, "v");
    msg__wr_uint(&w, MSG_VERSION);
    msg__wr_cstr(&w, "outcome");
    msg__wr_cstr(&w, pc_outcome_kind_name(o->kind));
    if (o->n_blocks_processed > 0) {
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
    return msg__wr_finish(&w, out, "report", err);
}

/* ------------------------------------------------------------------------ */
/* Decoding                                                                 */
/* ------------------------------------------------------------------------ */

struct rep_dec {
    struct msg__rd r;
    struct pc_outcome o;
    enum pc_block_kind done[PC_BLOCKS_MAX];
    size_t n_done;
    enum pc_block_kind not_done[PC_BLOCKS_MAX];
    size_t n_not_done;
    struct pc_err *err;
};

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
        return v == MSG_VERSION ? 0 : pc_err_set(d->err, PC_ESCHEMA, "report: unknown version");
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
        return read_blocks(d, key, d->done, &d->n_done);
    case REP_BLOCKS_NOT_PROCESSED:
        return read_blocks(d, key, d->not_done, &d->n_not_done);
    case REP_ITEMS_PROCESSED:
        return read_ids(d, key, &d->o.items_processed, &d->o.n_items_processed);
    case REP_ITEMS_NOT_PROCESSED:
        return read_ids(d, key, &d->o.items_not_processed, &d->o.n_items_not_processed);
    case REP_ERRORS:
        return read_errors(d);
    case REP_ERROR:
        return msg__rd_nil(&d->r) ? 0
                                  : msg__rd_text(&d->r, PC_OUTCOME_ERROR_TEXT_MAX, &d->o.error,
                                                 "report: error", d->err);
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
        if (rc == 0) {
            rc = read_field(d, key);
        }
    }
    if (rc == 0) {
        rc = msg__require(rep_keys, COUNT_OF(rep_keys), REP_REQUIRED, seen, "report", d->err);
    }
    if (rc == 0 && !msg__rd_done(&d->r)) {
        rc = pc_err_set(d->err, PC_ESCHEMA, "report: %zu bytes after the message",
                        d->r.n - d->r.off);
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
    int rc = msg__check_version(p, n, MSG_REPORT_MAX, "report", err);

    if (rc != 0) {
        return rc;
    }
    memset(&d, 0, sizeof(d));
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
