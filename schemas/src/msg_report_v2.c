/*
 * msg_report_v2.c - version 2 of the full report's blocks: maps with named
 * keys and absolute times (schemas/README.md, "Blocks, version 2"). Still
 * read, and written on request (msg_report_encode_version), for the release
 * before version 3. The value readers are shared with version 3.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_report_int.h"
#include "peace/msg.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Keys of one block of "blocks", and of one item entry of a block. */
enum blk_key { BLK_BLOCK, BLK_START_MS, BLK_DURATION_MS, BLK_ITEMS };
static const char *const blk_keys[] = {"block", "start_ms", "duration_ms", "items"};
#define BLK_REQUIRED ((1u << BLK_BLOCK) | (1u << BLK_START_MS) | (1u << BLK_DURATION_MS))

enum ent_key {
    ENT_ITEM,
    ENT_START_MS,
    ENT_DURATION_MS,
    ENT_CHANGED,
    ENT_STALE,
    ENT_ERROR,
    ENT_TRUNCATED,
    ENT_VALUE0, /* the PC_RV_COUNT value names follow, in enum pc_rv order */
};
static const char *const ent_keys[] = {"item",  "start_ms", "duration_ms", "changed",
                                       "stale", "error",    "truncated",   "current",
                                       "goal",  "diff",     "clean",       "state"};
#define ENT_REQUIRED (1u << ENT_ITEM)
static void write_entry(struct msg__wr *w, const struct pc_report_item *it)
{
    uint32_t keys = 1;
    uint32_t n_trunc = 0;

    for (size_t v = 0; v < PC_RV_COUNT; v++) {
        n_trunc += it->values[v].set && it->values[v].truncated;
        keys += it->values[v].set && !it->values[v].truncated;
    }
    keys += 2u * it->timed + (it->apply != PC_APPLY_NONE) + (it->stale != PC_STALE_NONE) +
            (it->error != NULL) + (n_trunc > 0);
    msg__wr_map(w, keys);
    msg__wr_cstr(w, "item");
    msg__wr_cstr(w, it->item.s);
    if (it->timed) {
        msg__wr_cstr(w, "start_ms");
        msg__wr_uint(w, it->start_ms);
        msg__wr_cstr(w, "duration_ms");
        msg__wr_uint(w, it->duration_ms);
    }
    if (it->apply != PC_APPLY_NONE) {
        msg__wr_cstr(w, "changed");
        msg__wr_bool(w, it->apply == PC_APPLY_CHANGED);
    }
    if (it->stale != PC_STALE_NONE) {
        msg__wr_cstr(w, "stale");
        msg__wr_cstr(w, it->stale == PC_STALE_GOAL ? "goal" : "current");
    }
    if (it->error != NULL) {
        msg__wr_cstr(w, "error");
        msg__wr_cstr(w, it->error);
    }
    for (size_t v = 0; v < PC_RV_COUNT; v++) {
        const struct pc_rvalue *rv = &it->values[v];

        if (rv->set && !rv->truncated) {
            msg__wr_cstr(w, pc_rv_name((enum pc_rv)v));
            if (rv->state.data != NULL) {
                msg__wr_raw(w, rv->state.data, rv->state.len);
            } else {
                msg__wr_nil(w);
            }
        }
    }
    if (n_trunc > 0) {
        msg__wr_cstr(w, "truncated");
        msg__rep_write_truncated(w, it);
    }
}

void msg__rep_write_truncated(struct msg__wr *w, const struct pc_report_item *it)
{
    uint32_t n_trunc = 0;

    for (size_t v = 0; v < PC_RV_COUNT; v++) {
        n_trunc += it->values[v].set && it->values[v].truncated;
    }
    msg__wr_map(w, n_trunc);
    for (size_t v = 0; v < PC_RV_COUNT; v++) {
        const struct pc_rvalue *rv = &it->values[v];

        if (rv->set && rv->truncated) {
            msg__wr_cstr(w, pc_rv_name((enum pc_rv)v));
            msg__wr_map(w, 2);
            msg__wr_cstr(w, "size");
            msg__wr_uint(w, rv->size);
            msg__wr_cstr(w, "sha256");
            msg__wr_cstr(w, rv->sha256);
        }
    }
}

void msg__rep2_write_block(struct msg__wr *w, const struct pc_report_block *b)
{
    msg__wr_map(w, b->n_items > 0 ? 4 : 3);
    msg__wr_cstr(w, "block");
    msg__wr_cstr(w, pc_block_name(b->kind));
    msg__wr_cstr(w, "start_ms");
    msg__wr_uint(w, b->start_ms);
    msg__wr_cstr(w, "duration_ms");
    msg__wr_uint(w, b->duration_ms);
    if (b->n_items > 0) {
        msg__wr_cstr(w, "items");
        msg__wr_array(w, (uint32_t)b->n_items);
        for (size_t i = 0; i < b->n_items; i++) {
            write_entry(w, &b->items[i]);
        }
    }
}

int msg__rep_read_value(struct rep_dec *d, struct pc_rvalue *rv, const char *path)
{
    size_t start = d->r.off;
    int rc;

    rv->set = true;
    if (msg__rd_nil(&d->r)) {
        return 0;
    }
    rc = msg__rd_skip(&d->r, MSG_DEPTH_MAX);
    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "%s", path);
    }
    if (d->r.off - start > PC_REPORT_VALUE_MAX) {
        return pc_err_set(d->err, PC_ELIMIT, "%s: %zu bytes, more than %u", path, d->r.off - start,
                          PC_REPORT_VALUE_MAX);
    }
    rc = pc_state_set(&rv->state, d->r.p + start, d->r.off - start);
    return rc == 0 ? 0 : pc_err_set(d->err, rc, "%s: out of memory", path);
}

/* One {"size", "sha256"} of an entry's "truncated" map. */
int msg__rep_read_digest(struct rep_dec *d, struct pc_rvalue *rv, const char *path)
{
    static const char *const tk[] = {"size", "sha256"};
    uint32_t seen = 0;
    uint32_t count = 0;
    int rc = msg__rd_map(&d->r, &count);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "%s", path);
    }
    for (uint32_t j = 0; j < count; j++) {
        size_t key = 0;
        const char *p = NULL;
        size_t n = 0;

        rc = msg__rd_key(&d->r, tk, 2, &seen, &key, path, d->err);
        if (rc != 0) {
            return rc;
        }
        rc = key == 0 ? msg__rd_uint(&d->r, &rv->size) : msg__rd_str(&d->r, &p, &n);
        if (rc != 0) {
            return msg__fail(d->err, rc, &d->r, "%s.%s", path, tk[key]);
        }
        if (key == 1) {
            if (n != PC_SHA256_HEX_LEN || msg__has_nul(p, n)) {
                return pc_err_set(d->err, PC_ESCHEMA, "%s.sha256: not 64 hex digits", path);
            }
            memcpy(rv->sha256, p, n);
            rv->sha256[n] = '\0';
        }
    }
    return msg__require(tk, 2, 3u, seen, path, d->err);
}

static int read_truncated(struct rep_dec *d, struct pc_report_item *it, const char *path)
{
    char sub[96];
    uint32_t seen = 0;
    uint32_t count = 0;
    int rc = msg__rd_map(&d->r, &count);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "%s.truncated", path);
    }
    (void)snprintf(sub, sizeof(sub), "%s.truncated", path);
    for (uint32_t k = 0; rc == 0 && k < count; k++) {
        size_t v = 0;

        rc = msg__rd_key(&d->r, ent_keys + ENT_VALUE0, PC_RV_COUNT, &seen, &v, sub, d->err);
        if (rc != 0) {
            return rc;
        }
        if (it->values[v].set) {
            return pc_err_set(d->err, PC_ESCHEMA, "%s: %s given twice", path,
                              ent_keys[ENT_VALUE0 + v]);
        }
        it->values[v].set = true;
        it->values[v].truncated = true;
        rc = msg__rep_read_digest(d, &it->values[v], sub);
    }
    return rc;
}

static int read_entry_field(struct rep_dec *d, struct pc_report_item *it, size_t key,
                            const char *path)
{
    char sub[96];
    bool changed = false;
    int rc = 0;

    switch (key) {
    case ENT_ITEM:
        return msg__rd_id(&d->r, &it->item, path, d->err);
    case ENT_START_MS:
    case ENT_DURATION_MS:
        it->timed = true;
        rc = msg__rd_uint(&d->r, key == ENT_START_MS ? &it->start_ms : &it->duration_ms);
        return rc == 0 ? 0 : msg__fail(d->err, rc, &d->r, "%s.%s", path, ent_keys[key]);
    case ENT_CHANGED:
        rc = msg__rd_bool(&d->r, &changed);
        it->apply = changed ? PC_APPLY_CHANGED : PC_APPLY_UNCHANGED;
        return rc == 0 ? 0 : msg__fail(d->err, rc, &d->r, "%s.changed", path);
    case ENT_STALE:
        (void)snprintf(sub, sizeof(sub), "%s.stale", path);
        return msg__rep_read_stale(d, &it->stale, sub);
    case ENT_ERROR:
        (void)snprintf(sub, sizeof(sub), "%s.error", path);
        return msg__rd_text(&d->r, PC_OUTCOME_ERROR_TEXT_MAX, &it->error, sub, d->err);
    case ENT_TRUNCATED:
        return read_truncated(d, it, path);
    default:
        if (it->values[key - ENT_VALUE0].set) {
            return pc_err_set(d->err, PC_ESCHEMA, "%s: %s given twice", path, ent_keys[key]);
        }
        (void)snprintf(sub, sizeof(sub), "%s.%s", path, ent_keys[key]);
        return msg__rep_read_value(d, &it->values[key - ENT_VALUE0], sub);
    }
}

static int read_entry(struct rep_dec *d, struct pc_report_item *it, const char *path)
{
    uint32_t count = 0;
    uint32_t seen = 0;
    int rc = msg__rd_map(&d->r, &count);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "%s", path);
    }
    for (uint32_t k = 0; rc == 0 && k < count; k++) {
        size_t key = 0;

        rc = msg__rd_key(&d->r, ent_keys, COUNT_OF(ent_keys), &seen, &key, path, d->err);
        if (rc == 0) {
            rc = read_entry_field(d, it, key, path);
        }
    }
    return rc != 0 ? rc
                   : msg__require(ent_keys, COUNT_OF(ent_keys), ENT_REQUIRED, seen, path, d->err);
}

static int read_block_items(struct rep_dec *d, struct pc_report_block *b, size_t bi)
{
    char path[64];
    uint32_t count = 0;
    int rc = msg__rd_array(&d->r, &count);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "report: blocks[%zu].items", bi);
    }
    if (count > PC_FLOW_ITEMS_MAX) {
        return pc_err_set(d->err, PC_ELIMIT, "report: blocks[%zu].items: %u entries, more than %d",
                          bi, (unsigned)count, PC_FLOW_ITEMS_MAX);
    }
    if (count == 0) {
        return 0;
    }
    b->items = calloc(count, sizeof(*b->items));
    if (b->items == NULL) {
        return pc_err_set(d->err, PC_ENOMEM, "report: blocks[%zu].items: out of memory", bi);
    }
    for (uint32_t i = 0; rc == 0 && i < count; i++) {
        (void)snprintf(path, sizeof(path), "report: blocks[%zu].items[%u]", bi, (unsigned)i);
        b->n_items = i + 1; /* counted first: cleanup frees a half-read entry */
        rc = read_entry(d, &b->items[i], path);
    }
    return rc;
}

int msg__rep2_read_block(struct rep_dec *d, struct pc_report_block *b, size_t bi)
{
    uint32_t count = 0;
    uint32_t seen = 0;
    char path[48];
    int rc = msg__rd_map(&d->r, &count);

    (void)snprintf(path, sizeof(path), "report: blocks[%zu]", bi);
    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "%s", path);
    }
    for (uint32_t k = 0; rc == 0 && k < count; k++) {
        size_t key = 0;
        const char *p = NULL;
        size_t n = 0;

        rc = msg__rd_key(&d->r, blk_keys, COUNT_OF(blk_keys), &seen, &key, path, d->err);
        if (rc != 0) {
            break;
        }
        switch ((enum blk_key)key) {
        case BLK_BLOCK:
            rc = msg__rd_str(&d->r, &p, &n);
            if (rc != 0) {
                return msg__fail(d->err, rc, &d->r, "%s.block", path);
            }
            if (pc_block_parse(p, n, &b->kind) != 0) {
                return pc_err_set(d->err, PC_EINVAL, "%s.block: unknown block \"%.*s\"", path,
                                  (int)(n > 64 ? 64 : n), p);
            }
            break;
        case BLK_START_MS:
        case BLK_DURATION_MS:
            rc = msg__rd_uint(&d->r, key == BLK_START_MS ? &b->start_ms : &b->duration_ms);
            if (rc != 0) {
                return msg__fail(d->err, rc, &d->r, "%s.%s", path, blk_keys[key]);
            }
            break;
        case BLK_ITEMS:
            rc = read_block_items(d, b, bi);
            break;
        }
    }
    return rc != 0 ? rc
                   : msg__require(blk_keys, COUNT_OF(blk_keys), BLK_REQUIRED, seen, path, d->err);
}
