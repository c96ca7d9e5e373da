/*
 * outcome_fmt.c - the one text and the one JSON rendering of a report
 * (outcome.h), used by every program and mode.
 */
#include "peace/outcome.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static bool lists_items(enum pc_outcome_kind k)
{
    return k == PC_OUTCOME_BLOCK_INTERRUPTED || k == PC_OUTCOME_ITEM_ERROR;
}

static int text_ids(struct pc_buf *out, const char *label, const struct pc_id *ids, size_t n)
{
    int rc = pc_buf_appendf(out, "  %s:", label);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = pc_buf_appendf(out, "%s %s", i == 0 ? "" : ",", ids[i].s);
    }
    if (rc == 0 && n == 0) {
        rc = pc_buf_puts(out, " (none)");
    }
    return rc != 0 ? rc : pc_buf_puts(out, "\n");
}

static int text_blocks(struct pc_buf *out, const char *label, const enum pc_block_kind *b, size_t n)
{
    int rc = pc_buf_appendf(out, "  %s:", label);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = pc_buf_appendf(out, "%s %s", i == 0 ? "" : ",", pc_block_name(b[i]));
    }
    if (rc == 0 && n == 0) {
        rc = pc_buf_puts(out, " (none)");
    }
    return rc != 0 ? rc : pc_buf_puts(out, "\n");
}

/* ------------------------------------------------------------------------ */
/* Report v2: text                                                           */

static const char *stale_name(enum pc_stale_mark m)
{
    return m == PC_STALE_GOAL ? "goal" : "current";
}

#define TEXT_VALUE_MAX 160 /* a value longer than this is cut in text */

/* JSON text of a value (NULL when truncated or unreadable): owned by the caller. */
static json_t *value_json(const struct pc_rvalue *v)
{
    struct pc_buf b;
    json_t *j = NULL;

    if (!v->set || v->truncated) {
        return NULL;
    }
    pc_buf_init(&b, PC_REPORT_VALUE_MAX * 8);
    if (pc_state_to_json(&v->state, &b) == 0) {
        j = json_loadb(b.data != NULL ? b.data : "null", b.len, JSON_DECODE_ANY, NULL);
    }
    pc_buf_cleanup(&b);
    return j;
}

static int text_json(struct pc_buf *out, const json_t *j)
{
    char *s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    int rc;

    if (s == NULL) {
        return pc_buf_puts(out, "?");
    }
    if (strlen(s) > TEXT_VALUE_MAX) {
        rc = pc_buf_appendf(out, "%.*s...", TEXT_VALUE_MAX, s);
    } else {
        rc = pc_buf_puts(out, s);
    }
    free(s);
    return rc;
}

static int text_value(struct pc_buf *out, const struct pc_rvalue *v)
{
    json_t *j = NULL;
    int rc;

    if (v->truncated) {
        return pc_buf_appendf(out, "(truncated: %llu bytes, sha256 %s)",
                              (unsigned long long)v->size, v->sha256);
    }
    j = value_json(v);
    rc = text_json(out, j);
    json_decref(j);
    return rc;
}

/* One line "field: before -> after" per field that differs. */
static int text_field_diff(struct pc_buf *out, const struct pc_rvalue *before,
                           const struct pc_rvalue *after)
{
    json_t *a = before != NULL ? value_json(before) : NULL;
    json_t *b = value_json(after);
    const char *key = NULL;
    json_t *v = NULL;
    int rc = 0;

    if (before == NULL || after == NULL || a == NULL || b == NULL) {
        json_decref(a);
        json_decref(b);
        return 0;
    }
    if (!json_is_object(a) || !json_is_object(b)) {
        if (!json_equal(a, b)) {
            rc = pc_buf_puts(out, "      ");
            rc = rc != 0 ? rc : text_json(out, a);
            rc = rc != 0 ? rc : pc_buf_puts(out, " -> ");
            rc = rc != 0 ? rc : text_json(out, b);
            rc = rc != 0 ? rc : pc_buf_puts(out, "\n");
        }
    } else {
        json_object_foreach(b, key, v)
        {
            json_t *old = json_object_get(a, key);

            if (rc == 0 && (old == NULL || !json_equal(old, v))) {
                rc = pc_buf_appendf(out, "      %s: ", key);
                rc =
                    rc != 0 ? rc : (old != NULL ? text_json(out, old) : pc_buf_puts(out, "(none)"));
                rc = rc != 0 ? rc : pc_buf_puts(out, " -> ");
                rc = rc != 0 ? rc : text_json(out, v);
                rc = rc != 0 ? rc : pc_buf_puts(out, "\n");
            }
        }
        json_object_foreach(a, key, v)
        {
            if (rc == 0 && json_object_get(b, key) == NULL) {
                rc = pc_buf_appendf(out, "      %s: ", key);
                rc = rc != 0 ? rc : text_json(out, v);
                rc = rc != 0 ? rc : pc_buf_puts(out, " -> (none)\n");
            }
        }
    }
    json_decref(a);
    json_decref(b);
    return rc;
}

/* The item's value v as last recorded in a block before block `upto`. */
static const struct pc_rvalue *earlier_value(const struct pc_outcome *o, size_t upto,
                                             const struct pc_id *item, enum pc_rv v)
{
    const struct pc_rvalue *found = NULL;

    for (size_t b = 0; b < upto && b < o->n_run; b++) {
        for (size_t i = 0; i < o->run[b].n_items; i++) {
            const struct pc_report_item *it = &o->run[b].items[i];

            if (strcmp(it->item.s, item->s) == 0 && it->values[v].set) {
                found = &it->values[v];
            }
        }
    }
    return found;
}

static bool is_dry_block(enum pc_block_kind k)
{
    return k == PC_BLOCK_APPLY_ENSURE_DRY || k == PC_BLOCK_APPLY_CLEAN_DRY ||
           k == PC_BLOCK_CLEAN_REPLACED_DRY || k == PC_BLOCK_ENSURE_REPLACED_DRY;
}

static int text_item(const struct pc_outcome *o, size_t b, struct pc_buf *out,
                     const struct pc_report_item *it)
{
    enum pc_block_kind k = o->run[b].kind;
    bool dry = is_dry_block(k);
    int rc = pc_buf_appendf(out, "    %s:", it->item.s);

    if (rc == 0 && it->apply != PC_APPLY_NONE) {
        rc = pc_buf_puts(out, it->apply == PC_APPLY_CHANGED ? (dry ? " would change" : " changed")
                                                            : " already in the goal state");
    }
    if (rc == 0 && it->stale != PC_STALE_NONE) {
        rc = pc_buf_appendf(out, " stored %s state is stale", stale_name(it->stale));
    }
    if (rc == 0 && it->timed) {
        rc = pc_buf_appendf(out, " (%llu ms)", (unsigned long long)it->duration_ms);
    }
    for (size_t v = 0; rc == 0 && v < PC_RV_COUNT; v++) {
        if (it->values[v].set) {
            rc = pc_buf_appendf(out, " %s%s ", v == PC_RV_STATE && dry ? "would-be " : "",
                                pc_rv_name((enum pc_rv)v));
            if (rc == 0) {
                rc = text_value(out, &it->values[v]);
            }
        }
    }
    if (rc == 0 && it->error != NULL) {
        rc = pc_buf_appendf(out, " error: %s", it->error);
    }
    if (rc == 0) {
        rc = pc_buf_puts(out, "\n");
    }
    /* A diff or a change reads as before -> after per field. */
    if (rc == 0 && it->values[PC_RV_DIFF].set) {
        rc = text_field_diff(out, earlier_value(o, b, &it->item, PC_RV_CURRENT),
                             earlier_value(o, b, &it->item, PC_RV_GOAL));
    }
    if (rc == 0 && it->values[PC_RV_STATE].set && it->apply == PC_APPLY_CHANGED) {
        rc = text_field_diff(out, earlier_value(o, b, &it->item, PC_RV_CURRENT),
                             &it->values[PC_RV_STATE]);
    }
    return rc;
}

static int text_run(const struct pc_outcome *o, struct pc_buf *out)
{
    int rc = 0;

    if (o->started_ms != 0 && o->finished_ms != 0) {
        rc = pc_buf_appendf(
            out, "  timing: queue wait %llu ms, run %llu ms\n",
            (unsigned long long)(o->started_ms > o->created_ms ? o->started_ms - o->created_ms : 0),
            (unsigned long long)(o->finished_ms > o->started_ms ? o->finished_ms - o->started_ms
                                                                : 0));
    }
    if (rc == 0 && o->interrupted_ms != 0 && o->started_ms != 0) {
        rc = pc_buf_appendf(out, "  interrupted at +%llu ms\n",
                            (unsigned long long)(o->interrupted_ms > o->started_ms
                                                     ? o->interrupted_ms - o->started_ms
                                                     : 0));
    }
    for (size_t b = 0; rc == 0 && b < o->n_run; b++) {
        const struct pc_report_block *rb = &o->run[b];

        rc = pc_buf_appendf(
            out, "  block %s: +%llu ms, %llu ms\n", pc_block_name(rb->kind),
            (unsigned long long)(rb->start_ms > o->started_ms ? rb->start_ms - o->started_ms : 0),
            (unsigned long long)rb->duration_ms);
        for (size_t i = 0; rc == 0 && i < rb->n_items; i++) {
            rc = text_item(o, b, out, &rb->items[i]);
        }
    }
    if (rc == 0 && o->partial) {
        rc = pc_buf_puts(out, "  (report partial: some values could not be recorded)\n");
    }
    return rc;
}

int pc_outcome_format_text(const struct pc_outcome *o, struct pc_buf *out)
{
    int rc = pc_buf_appendf(out, "outcome: %s\n", pc_outcome_kind_name(o->kind));

    if (rc == 0 && o->kind != PC_OUTCOME_REJECTED) {
        rc = text_blocks(out, "blocks processed", o->blocks, o->n_blocks_processed);
        if (rc == 0) {
            rc = text_blocks(out, "blocks not processed", o->blocks + o->n_blocks_processed,
                             o->n_blocks - o->n_blocks_processed);
        }
    }
    if (rc == 0 && lists_items(o->kind)) {
        rc = text_ids(out, "items processed", o->items_processed, o->n_items_processed);
        if (rc == 0) {
            rc = text_ids(out, "items not processed", o->items_not_processed,
                          o->n_items_not_processed);
        }
        if (rc == 0 && o->n_items_interrupted > 0) {
            rc = text_ids(out, "items interrupted", o->items_interrupted, o->n_items_interrupted);
        }
    }
    if (rc == 0 && o->n_items_obsolete > 0) {
        rc = text_ids(out,
                      o->obsolete_kept ? "obsolete items kept (--keep-obsolete)"
                                       : "obsolete items (removed from the flow; cleaned)",
                      o->items_obsolete, o->n_items_obsolete);
    }
    if (rc == 0 && o->n_items_obsolete_unmanaged > 0) {
        rc = text_ids(out, "obsolete items left stored (no stored type and params to clean them)",
                      o->items_obsolete_unmanaged, o->n_items_obsolete_unmanaged);
    }
    if (rc == 0 && o->n_items_replaced > 0) {
        rc = text_ids(out, "replaced items (cleaned as last applied, then ensured again)",
                      o->items_replaced, o->n_items_replaced);
    }
    for (size_t i = 0; rc == 0 && i < o->n_errors; i++) {
        rc = pc_buf_appendf(out, "  error: %s: %s\n", o->errors[i].item.s, o->errors[i].text);
    }
    if (rc == 0 && o->error != NULL) {
        rc = pc_buf_appendf(out, "  error: %s\n", o->error);
    }
    return rc != 0 ? rc : text_run(o, out);
}

static int json_ids(struct pc_buf *out, const char *key, const struct pc_id *ids, size_t n)
{
    int rc = pc_buf_appendf(out, ",\"%s\":[", key);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i > 0) {
            rc = pc_buf_puts(out, ",");
        }
        if (rc == 0) {
            rc = pc_buf_append_json_str(out, ids[i].s, strlen(ids[i].s));
        }
    }
    return rc != 0 ? rc : pc_buf_puts(out, "]");
}

static int json_blocks(struct pc_buf *out, const char *key, const enum pc_block_kind *b, size_t n)
{
    int rc = pc_buf_appendf(out, ",\"%s\":[", key);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = pc_buf_appendf(out, "%s\"%s\"", i == 0 ? "" : ",", pc_block_name(b[i]));
    }
    return rc != 0 ? rc : pc_buf_puts(out, "]");
}

/* ------------------------------------------------------------------------ */
/* Report v2: JSON                                                           */

static int json_value(struct pc_buf *out, const struct pc_rvalue *v)
{
    /* Bytes that are not one msgpack value cannot come from a checked report. */
    return pc_state_to_json(&v->state, out) == 0 ? 0 : pc_buf_puts(out, "null");
}

static int json_item(struct pc_buf *out, const struct pc_report_item *it)
{
    int rc = pc_buf_appendf(out, "{\"item\":\"%s\"", it->item.s);

    if (rc == 0 && it->timed) {
        rc = pc_buf_appendf(out, ",\"start_ms\":%llu,\"duration_ms\":%llu",
                            (unsigned long long)it->start_ms, (unsigned long long)it->duration_ms);
    }
    if (rc == 0 && it->apply != PC_APPLY_NONE) {
        rc = pc_buf_appendf(out, ",\"changed\":%s",
                            it->apply == PC_APPLY_CHANGED ? "true" : "false");
    }
    if (rc == 0 && it->stale != PC_STALE_NONE) {
        rc = pc_buf_appendf(out, ",\"stale\":\"%s\"", stale_name(it->stale));
    }
    for (size_t v = 0; rc == 0 && v < PC_RV_COUNT; v++) {
        if (it->values[v].set && !it->values[v].truncated) {
            rc = pc_buf_appendf(out, ",\"%s\":", pc_rv_name((enum pc_rv)v));
            if (rc == 0) {
                rc = json_value(out, &it->values[v]);
            }
        }
    }
    /* A value cut by the report's bounds: {"truncated":{"NAME":{"size","sha256"}}}. */
    for (size_t v = 0, n = 0; rc == 0 && v < PC_RV_COUNT; v++) {
        if (it->values[v].set && it->values[v].truncated) {
            rc = pc_buf_appendf(out, "%s\"%s\":{\"size\":%llu,\"sha256\":\"%s\"}",
                                n++ == 0 ? ",\"truncated\":{" : ",", pc_rv_name((enum pc_rv)v),
                                (unsigned long long)it->values[v].size, it->values[v].sha256);
        }
        if (rc == 0 && v == PC_RV_COUNT - 1 && n > 0) {
            rc = pc_buf_puts(out, "}");
        }
    }
    if (rc == 0 && it->error != NULL) {
        rc = pc_buf_puts(out, ",\"error\":");
        if (rc == 0) {
            rc = pc_buf_append_json_str(out, it->error, strlen(it->error));
        }
    }
    return rc != 0 ? rc : pc_buf_puts(out, "}");
}

static int json_time(struct pc_buf *out, const char *key, uint64_t ms)
{
    return ms == 0 ? 0 : pc_buf_appendf(out, ",\"%s\":%llu", key, (unsigned long long)ms);
}

static int json_run(const struct pc_outcome *o, struct pc_buf *out)
{
    int rc = json_time(out, "created_ms", o->created_ms);

    if (rc == 0) {
        rc = json_time(out, "started_ms", o->started_ms);
    }
    if (rc == 0) {
        rc = json_time(out, "finished_ms", o->finished_ms);
    }
    if (rc == 0) {
        rc = json_time(out, "interrupted_ms", o->interrupted_ms);
    }
    if (rc == 0 && o->partial) {
        rc = pc_buf_puts(out, ",\"partial\":true");
    }
    if (rc != 0 || o->n_run == 0) {
        return rc;
    }
    rc = pc_buf_puts(out, ",\"blocks\":[");
    for (size_t b = 0; rc == 0 && b < o->n_run; b++) {
        const struct pc_report_block *rb = &o->run[b];

        rc = pc_buf_appendf(out,
                            "%s{\"block\":\"%s\",\"start_ms\":%llu,\"duration_ms\":%llu,"
                            "\"items\":[",
                            b == 0 ? "" : ",", pc_block_name(rb->kind),
                            (unsigned long long)rb->start_ms, (unsigned long long)rb->duration_ms);
        for (size_t i = 0; rc == 0 && i < rb->n_items; i++) {
            rc = i == 0 ? 0 : pc_buf_puts(out, ",");
            if (rc == 0) {
                rc = json_item(out, &rb->items[i]);
            }
        }
        if (rc == 0) {
            rc = pc_buf_puts(out, "]}");
        }
    }
    return rc != 0 ? rc : pc_buf_puts(out, "]");
}

int pc_outcome_format_json(const struct pc_outcome *o, struct pc_buf *out)
{
    size_t start = out->len;
    int rc = pc_buf_appendf(out, "{\"outcome\":\"%s\"", pc_outcome_kind_name(o->kind));

    if (rc == 0 && o->kind != PC_OUTCOME_REJECTED) {
        rc = json_blocks(out, "blocks_processed", o->blocks, o->n_blocks_processed);
        if (rc == 0) {
            rc = json_blocks(out, "blocks_not_processed", o->blocks + o->n_blocks_processed,
                             o->n_blocks - o->n_blocks_processed);
        }
    }
    if (rc == 0 && lists_items(o->kind)) {
        rc = json_ids(out, "items_processed", o->items_processed, o->n_items_processed);
        if (rc == 0) {
            rc = json_ids(out, "items_not_processed", o->items_not_processed,
                          o->n_items_not_processed);
        }
        if (rc == 0 && o->n_items_interrupted > 0) {
            rc = json_ids(out, "items_interrupted", o->items_interrupted, o->n_items_interrupted);
        }
    }
    if (rc == 0 && o->n_items_obsolete > 0) {
        rc = json_ids(out, "items_obsolete", o->items_obsolete, o->n_items_obsolete);
        if (rc == 0 && o->obsolete_kept) {
            rc = pc_buf_puts(out, ",\"obsolete_kept\":true");
        }
    }
    if (rc == 0 && o->n_items_obsolete_unmanaged > 0) {
        rc = json_ids(out, "items_obsolete_unmanaged", o->items_obsolete_unmanaged,
                      o->n_items_obsolete_unmanaged);
    }
    if (rc == 0 && o->n_items_replaced > 0) {
        rc = json_ids(out, "items_replaced", o->items_replaced, o->n_items_replaced);
    }
    if (rc == 0 && o->kind == PC_OUTCOME_ITEM_ERROR) {
        rc = pc_buf_puts(out, ",\"errors\":[");
        for (size_t i = 0; rc == 0 && i < o->n_errors; i++) {
            rc = pc_buf_appendf(out, "%s{\"item\":\"%s\",\"error\":", i == 0 ? "" : ",",
                                o->errors[i].item.s);
            if (rc == 0) {
                rc = pc_buf_append_json_str(out, o->errors[i].text, strlen(o->errors[i].text));
            }
            if (rc == 0) {
                rc = pc_buf_puts(out, "}");
            }
        }
        if (rc == 0) {
            rc = pc_buf_puts(out, "]");
        }
    }
    if (rc == 0 && o->error != NULL) {
        rc = pc_buf_puts(out, ",\"error\":");
        if (rc == 0) {
            rc = pc_buf_append_json_str(out, o->error, strlen(o->error));
        }
    }
    if (rc == 0) {
        rc = json_run(o, out);
    }
    if (rc == 0) {
        rc = pc_buf_puts(out, "}");
    }
    if (rc != 0) {
        out->len = start;
        if (out->data != NULL) {
            out->data[start] = '\0';
        }
    }
    return rc;
}
