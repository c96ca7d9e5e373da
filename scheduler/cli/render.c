/*
 * render.c - terminal progress bars.
 *
 * On a TTY the block of lines is redrawn in place (cursor up, clear line),
 * at most every tick, so a flood of progress updates costs one redraw per
 * tick. Off a TTY only status and message changes are printed, one line
 * each, so logs stay readable and diffable.
 */
#include "render.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define BAR_WIDTH 24

struct item_view {
    struct pc_id id;
    struct pc_progress_tracker t;
    uint64_t started_ms; /* 0 until the item leaves the waiting states */
    uint64_t ended_ms;
};

struct cli_render {
    FILE *out;
    bool tty;
    bool drawn;
    bool dirty;
    size_t lines_drawn;
    size_t n;
    size_t id_width;
    struct item_view *items;
    char block[64];
    size_t block_index;
    size_t block_total;
    uint64_t t0;
};

int cli_render_create(const struct pc_flow *flow, FILE *out, bool tty, uint64_t now_ms,
                      struct cli_render **rp)
{
    struct cli_render *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        return PC_ENOMEM;
    }
    r->items = calloc(flow->n_items + 1, sizeof(*r->items));
    if (r->items == NULL) {
        free(r);
        return PC_ENOMEM;
    }
    r->out = out;
    r->tty = tty;
    r->n = flow->n_items;
    r->t0 = now_ms;
    for (size_t i = 0; i < flow->n_items; i++) {
        size_t w = strlen(flow->items[i].id.s);

        r->items[i].id = flow->items[i].id;
        pc_progress_tracker_init(&r->items[i].t);
        r->id_width = w > r->id_width ? w : r->id_width;
    }
    *rp = r;
    return 0;
}

void cli_render_destroy(struct cli_render *r)
{
    if (r != NULL) {
        free(r->items);
        free(r);
    }
}

static const char *icon(enum pc_progress_status s)
{
    switch (s) {
    case PC_PROGRESS_INITIALIZED:
        return "\u26ab";
    case PC_PROGRESS_EXEC_PENDING:
        return "\u26aa";
    case PC_PROGRESS_QUEUED:
        return "\U0001f7e3";
    case PC_PROGRESS_RUNNING:
        return "\U0001f535";
    case PC_PROGRESS_INTERRUPTED:
        return "\U0001f7e1";
    case PC_PROGRESS_RUNNING_STALLED:
        return "\U0001f422";
    case PC_PROGRESS_USER_PENDING:
        return "\U0001f464";
    case PC_PROGRESS_SUCCESS:
        return "\u2705";
    case PC_PROGRESS_FAIL:
    default:
        return "\u274c";
    }
}

static bool waiting(enum pc_progress_status s)
{
    return s == PC_PROGRESS_INITIALIZED || s == PC_PROGRESS_EXEC_PENDING ||
           s == PC_PROGRESS_INTERRUPTED || s == PC_PROGRESS_USER_PENDING;
}

static bool done(enum pc_progress_status s)
{
    return s == PC_PROGRESS_SUCCESS || s == PC_PROGRESS_FAIL;
}

static void format_units(char *out, size_t n, const struct pc_progress_tracker *t)
{
    if (t->limit.kind == PC_LIMIT_BYTES) {
        (void)snprintf(out, n, "%" PRIu64 "/%" PRIu64 " B", t->done, t->limit.n);
    } else if (t->limit.kind == PC_LIMIT_STEPS) {
        (void)snprintf(out, n, "%" PRIu64 "/%" PRIu64, t->done, t->limit.n);
    } else if (t->done > 0) {
        (void)snprintf(out, n, "%" PRIu64, t->done);
    } else {
        out[0] = '\0';
    }
}

static void format_bar(char *out, const struct item_view *v, uint64_t now_ms)
{
    const struct pc_progress_tracker *t = &v->t;
    size_t filled = 0;

    out[0] = '[';
    if (t->limit.kind != PC_LIMIT_UNKNOWN && t->limit.n > 0) {
        uint64_t d = t->done > t->limit.n ? t->limit.n : t->done;
        filled = (size_t)(d * BAR_WIDTH / t->limit.n);
    } else if (t->status == PC_PROGRESS_SUCCESS) {
        filled = BAR_WIDTH;
    }
    for (size_t i = 0; i < BAR_WIDTH; i++) {
        out[1 + i] = i < filled ? '=' : ' ';
    }
    if (t->limit.kind == PC_LIMIT_UNKNOWN && !done(t->status) && !waiting(t->status)) {
        /* A bouncing marker for work of unknown size. */
        size_t pos = (size_t)((now_ms / 80) % (2 * BAR_WIDTH - 2));
        pos = pos < BAR_WIDTH ? pos : 2 * BAR_WIDTH - 2 - pos;
        out[1 + pos] = '#';
    } else if (filled < BAR_WIDTH && filled > 0) {
        out[1 + filled] = '>';
    }
    out[1 + BAR_WIDTH] = ']';
    out[2 + BAR_WIDTH] = '\0';
}

static void format_elapsed(char *out, size_t n, const struct item_view *v, uint64_t now_ms)
{
    uint64_t end = v->ended_ms != 0 ? v->ended_ms : now_ms;

    if (v->started_ms == 0) {
        out[0] = '\0';
        return;
    }
    (void)snprintf(out, n, "(el: %" PRIu64 ".%01" PRIu64 "s)", (end - v->started_ms) / 1000,
                   ((end - v->started_ms) % 1000) / 100);
}

static void draw_line(struct cli_render *r, size_t i, uint64_t now_ms)
{
    const struct item_view *v = &r->items[i];
    char bar[BAR_WIDTH + 3];
    char units[64];
    char el[48];

    format_bar(bar, v, now_ms);
    format_units(units, sizeof(units), &v->t);
    format_elapsed(el, sizeof(el), v, now_ms);
    (void)fprintf(r->out, "\x1b[2K%s %2zu. %-*s %s %-14s %-15s %s %s\n", icon(v->t.status), i + 1,
                  (int)r->id_width, v->id.s, bar, pc_progress_status_name(v->t.status), units,
                  v->t.msg, el);
}

static void redraw(struct cli_render *r, uint64_t now_ms)
{
    if (r->drawn && r->lines_drawn > 0) {
        (void)fprintf(r->out, "\x1b[%zuA", r->lines_drawn);
    }
    (void)fprintf(r->out, "\x1b[2K  block %zu/%zu: %s\n", r->block_index + 1, r->block_total,
                  r->block[0] != '\0' ? r->block : "starting");
    for (size_t i = 0; i < r->n; i++) {
        draw_line(r, i, now_ms);
    }
    r->lines_drawn = r->n + 1;
    r->drawn = true;
    r->dirty = false;
    (void)fflush(r->out);
}

void cli_render_block(struct cli_render *r, size_t index, size_t total, const char *name,
                      uint64_t now_ms)
{
    (void)snprintf(r->block, sizeof(r->block), "%s", name);
    /* Elapsed times are per block: every item starts waiting again. */
    for (size_t i = 0; i < r->n; i++) {
        r->items[i].started_ms = 0;
        r->items[i].ended_ms = 0;
    }
    r->block_index = index;
    r->block_total = total;
    if (r->tty) {
        redraw(r, now_ms);
    } else {
        (void)fprintf(r->out, "[%6.2fs] block %zu/%zu: %s\n", (double)(now_ms - r->t0) / 1000.0,
                      index + 1, total, name);
        (void)fflush(r->out);
    }
}

void cli_render_item(struct cli_render *r, size_t item, const struct pc_progress_tracker *t,
                     uint64_t now_ms)
{
    struct item_view *v = NULL;
    bool status_changed;
    bool msg_changed;

    if (item >= r->n) {
        return;
    }
    v = &r->items[item];
    status_changed = v->t.status != t->status;
    msg_changed = strcmp(v->t.msg, t->msg) != 0;
    /* An apply sets its limit (back to exec_pending) after the item was
     * queued: the clock keeps running from the first non-waiting status. */
    if (!waiting(t->status) && v->started_ms == 0) {
        v->started_ms = now_ms;
    }
    if (done(t->status) && v->ended_ms == 0) {
        v->ended_ms = now_ms;
    }
    v->t = *t;
    r->dirty = true;
    if (!r->tty && (status_changed || msg_changed) && t->status != PC_PROGRESS_EXEC_PENDING) {
        char units[64];

        format_units(units, sizeof(units), t);
        (void)fprintf(r->out, "[%6.2fs] %s: %s%s%s%s%s\n", (double)(now_ms - r->t0) / 1000.0,
                      v->id.s, pc_progress_status_name(t->status), units[0] != '\0' ? " " : "",
                      units, t->msg[0] != '\0' ? " - " : "", t->msg);
        (void)fflush(r->out);
    }
}

void cli_render_note(struct cli_render *r, const char *note, uint64_t now_ms)
{
    if (r->tty && r->drawn) {
        /* Print the note above the bars by redrawing them below it. */
        (void)fprintf(r->out, "\x1b[%zuA\x1b[2K%s\n", r->lines_drawn, note);
        r->drawn = false;
        redraw(r, now_ms);
        return;
    }
    (void)fprintf(r->out, "[%6.2fs] %s\n", (double)(now_ms - r->t0) / 1000.0, note);
    (void)fflush(r->out);
}

void cli_render_tick(struct cli_render *r, uint64_t now_ms)
{
    if (r->tty) {
        redraw(r, now_ms);
    }
}

void cli_render_finish(struct cli_render *r, uint64_t now_ms)
{
    if (r->tty) {
        redraw(r, now_ms);
    }
}
