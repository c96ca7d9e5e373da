/*
 * render.c - terminal progress bars.
 *
 * On a TTY the block of lines is redrawn in place (cursor up, clear line),
 * at most every tick, so a flood of progress updates costs one redraw per
 * tick. Every line fits the terminal's width, measured at each redraw (one
 * column short of it, so no terminal wraps): the message is cut with an
 * ellipsis first, then the bar narrows, then the elapsed time goes; a line
 * that wrapped would leave a copy on screen at every redraw. Off a TTY, or
 * with TERM=dumb, only status and message changes are printed, one line
 * each, so logs stay readable and diffable. Emoji only in a UTF-8 locale
 * (ASCII otherwise); colour on the status only, never with NO_COLOR.
 */
#include "render.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define BAR_WIDTH     24
#define BAR_WIDTH_MIN 8
#define MSG_COLS_MIN  16 /* the bar narrows before the message gets fewer */
#define STATUS_PAD    12
#define ID_COLS_MIN   8
#define LINE_MAX      4096

struct item_view {
    struct pc_id id;
    struct pc_progress_tracker t;
    uint64_t started_ms; /* 0 until the item leaves the waiting states */
    uint64_t ended_ms;
};

struct cli_render {
    FILE *out;
    struct cli_term term;
    bool tty; /* term.live */
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

int cli_render_create(const struct pc_flow *flow, FILE *out, const struct cli_term *term,
                      uint64_t now_ms, struct cli_render **rp)
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
    r->term = *term;
    r->tty = term->live;
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

/* One column each: the icons of a terminal that is not UTF-8. */
static char icon_ascii(enum pc_progress_status s)
{
    switch (s) {
    case PC_PROGRESS_INITIALIZED:
        return '.';
    case PC_PROGRESS_EXEC_PENDING:
        return ':';
    case PC_PROGRESS_QUEUED:
        return '~';
    case PC_PROGRESS_RUNNING:
        return '>';
    case PC_PROGRESS_INTERRUPTED:
        return '!';
    case PC_PROGRESS_RUNNING_STALLED:
        return 's';
    case PC_PROGRESS_USER_PENDING:
        return '?';
    case PC_PROGRESS_SUCCESS:
        return '+';
    case PC_PROGRESS_FAIL:
    default:
        return 'x';
    }
}

/* The SGR colour of a status ("" for none). */
static const char *status_color(enum pc_progress_status s)
{
    switch (s) {
    case PC_PROGRESS_RUNNING:
        return "\x1b[36m"; /* cyan */
    case PC_PROGRESS_INTERRUPTED:
    case PC_PROGRESS_RUNNING_STALLED:
    case PC_PROGRESS_USER_PENDING:
        return "\x1b[33m"; /* yellow */
    case PC_PROGRESS_SUCCESS:
        return "\x1b[32m"; /* green */
    case PC_PROGRESS_FAIL:
        return "\x1b[31m"; /* red */
    default:
        return "";
    }
}

/* Two columns each (emoji presentation). */
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

/* out holds bw + 3 bytes: "[", bw cells, "]". */
static void format_bar(char *out, size_t bw, const struct item_view *v, uint64_t now_ms)
{
    const struct pc_progress_tracker *t = &v->t;
    size_t filled = 0;

    out[0] = '[';
    if (t->limit.kind != PC_LIMIT_UNKNOWN && t->limit.n > 0) {
        uint64_t d = t->done > t->limit.n ? t->limit.n : t->done;
        filled = (size_t)((double)d * (double)bw / (double)t->limit.n);
        filled = filled > bw ? bw : filled;
    } else if (t->status == PC_PROGRESS_SUCCESS) {
        filled = bw;
    }
    for (size_t i = 0; i < bw; i++) {
        out[1 + i] = i < filled ? '=' : ' ';
    }
    if (t->limit.kind == PC_LIMIT_UNKNOWN && !done(t->status) && !waiting(t->status)) {
        /* A bouncing marker for work of unknown size. */
        size_t pos = (size_t)((now_ms / 80) % (2 * bw - 2));
        pos = pos < bw ? pos : 2 * bw - 2 - pos;
        out[1 + pos] = '#';
    } else if (filled < bw && filled > 0) {
        out[1 + filled] = '>';
    }
    out[1 + bw] = ']';
    out[2 + bw] = '\0';
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

/* The columns of a redraw, the same on every line so they line up. */
struct layout {
    size_t cols;    /* usable columns: the width less one, so no line wraps */
    size_t num_w;   /* digits of the item numbers (2 or more) */
    size_t id_w;    /* the id column (ids longer are cut) */
    size_t units_w; /* the units column; 0 = no units shown */
    size_t bw;      /* cells of the bar */
};

/* Columns of everything but the bar's cells, the message and the time. */
static size_t layout_fixed(const struct cli_render *r, const struct layout *l)
{
    /* ICON " " "NN. " ID " " "[" "]" " " STATUS " " [UNITS " "] */
    return (r->term.utf8 ? 2u : 1u) + 1 + l->num_w + 2 + l->id_w + 1 + 2 + 1 + STATUS_PAD + 1 +
           (l->units_w > 0 ? l->units_w + 1 : 0);
}

/*
 * Decides the columns: the bar has 24 cells, fewer (down to 8) when the
 * widest message would otherwise get fewer than MSG_COLS_MIN columns (or
 * fewer than it needs); when even that does not fit, ids are cut (down to
 * ID_COLS_MIN), then units go. Messages take what is left, cut with an
 * ellipsis; the elapsed time goes last.
 */
static void layout_decide(const struct cli_render *r, size_t cols, uint64_t now_ms,
                          struct layout *l)
{
    char buf[LINE_MAX];
    size_t want = 0;
    size_t el_cols = 0;
    size_t fixed;

    l->cols = cols;
    l->num_w = 2;
    for (size_t n = r->n; n >= 100; n /= 10) {
        l->num_w++;
    }
    l->id_w = r->id_width;
    l->units_w = 0;
    for (size_t i = 0; i < r->n; i++) {
        size_t w = cli_term_fit(buf, sizeof(buf), r->items[i].t.msg, MSG_COLS_MIN, r->term.utf8);

        want = w > want ? w : want;
        format_units(buf, sizeof(buf), &r->items[i].t);
        l->units_w = strlen(buf) > l->units_w ? strlen(buf) : l->units_w;
        format_elapsed(buf, sizeof(buf), &r->items[i], now_ms);
        el_cols = buf[0] != '\0' && 1 + strlen(buf) > el_cols ? 1 + strlen(buf) : el_cols;
    }
    fixed = layout_fixed(r, l);
    if (fixed + BAR_WIDTH_MIN > cols && l->id_w > ID_COLS_MIN) {
        size_t over = fixed + BAR_WIDTH_MIN - cols;

        l->id_w = l->id_w - over > ID_COLS_MIN && over < l->id_w ? l->id_w - over : ID_COLS_MIN;
        fixed = layout_fixed(r, l);
    }
    if (fixed + BAR_WIDTH_MIN > cols) {
        l->units_w = 0;
        fixed = layout_fixed(r, l);
    }
    l->bw = cols > fixed + want + el_cols ? cols - fixed - want - el_cols : 0;
    l->bw = l->bw < BAR_WIDTH_MIN ? BAR_WIDTH_MIN : l->bw > BAR_WIDTH ? BAR_WIDTH : l->bw;
}

/* One item's line: ICON NN. ID [BAR] STATUS UNITS MESSAGE (el: T), within l->cols. */
static void draw_line(struct cli_render *r, size_t i, const struct layout *l, uint64_t now_ms)
{
    const struct item_view *v = &r->items[i];
    const char *status = pc_progress_status_name(v->t.status);
    const char *sgr = r->term.color ? status_color(v->t.status) : "";
    char ascii[2] = {icon_ascii(v->t.status), '\0'};
    const char *ic = r->term.utf8 ? icon(v->t.status) : ascii;
    char bar[BAR_WIDTH + 3];
    char units[64];
    char el[48];
    char id[PC_ID_MAX + 8];
    char msg[LINE_MAX];
    char line[LINE_MAX];
    size_t status_w = strlen(status) > STATUS_PAD ? strlen(status) : STATUS_PAD;
    size_t fixed = layout_fixed(r, l) + (status_w - STATUS_PAD);
    size_t el_cols;
    size_t msg_cols;

    format_units(units, sizeof(units), &v->t);
    if (l->units_w == 0) {
        units[0] = '\0'; /* no room for units on this terminal */
    }
    format_elapsed(el, sizeof(el), v, now_ms);
    format_bar(bar, l->bw, v, now_ms);
    (void)cli_term_fit(id, sizeof(id), v->id.s, l->id_w, false);
    el_cols = el[0] != '\0' ? 1 + strlen(el) : 0;
    if (fixed + l->bw + el_cols > l->cols) {
        el[0] = '\0'; /* no room for the time either */
        el_cols = 0;
    }
    if (fixed + l->bw <= l->cols) {
        msg_cols = l->cols - fixed - l->bw - el_cols;
        (void)cli_term_fit(msg, sizeof(msg), v->t.msg, msg_cols, r->term.utf8);
        (void)fprintf(r->out, "\x1b[2K%s %*zu. %-*s %s %s%-*s%s %-*s%s%s%s%s\n", ic, (int)l->num_w,
                      i + 1, (int)l->id_w, id, bar, sgr, (int)status_w, status,
                      sgr[0] != '\0' ? "\x1b[0m" : "", (int)l->units_w, units,
                      l->units_w > 0 ? " " : "", msg, el[0] != '\0' ? " " : "", el);
        return;
    }
    /* Narrower than even the fixed parts: the line, cut to fit. */
    (void)snprintf(line, sizeof(line), "%2zu. %s %s %s", i + 1, id, bar, status);
    (void)cli_term_fit(msg, sizeof(msg), line,
                       l->cols > (r->term.utf8 ? 3u : 2u) ? l->cols - (r->term.utf8 ? 3u : 2u) : 0,
                       false);
    (void)fprintf(r->out, "\x1b[2K%s %s\n", ic, msg);
}

static void redraw(struct cli_render *r, uint64_t now_ms)
{
    char line[LINE_MAX];
    char block[LINE_MAX];
    struct layout l;

    /* Measured at every redraw: the terminal may have been resized. */
    r->term.width = cli_term_width(fileno(r->out), r->term.width);
    layout_decide(r, r->term.width - 1, now_ms, &l);
    if (r->drawn && r->lines_drawn > 0) {
        (void)fprintf(r->out, "\x1b[%zuA", r->lines_drawn);
    }
    (void)snprintf(line, sizeof(line), "  block %zu/%zu: %s", r->block_index + 1, r->block_total,
                   r->block[0] != '\0' ? r->block : "starting");
    (void)cli_term_fit(block, sizeof(block), line, l.cols, r->term.utf8);
    (void)fprintf(r->out, "\x1b[2K%s\n", block);
    for (size_t i = 0; i < r->n; i++) {
        draw_line(r, i, &l, now_ms);
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

const struct pc_progress_tracker *cli_render_tracker(const struct cli_render *r, size_t item)
{
    return item < r->n ? &r->items[item].t : NULL;
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

        char msg[LINE_MAX];

        format_units(units, sizeof(units), t);
        /* Logs are not cut to a width, but control characters never pass. */
        (void)cli_term_fit(msg, sizeof(msg), t->msg, LINE_MAX, r->term.utf8);
        (void)fprintf(r->out, "[%6.2fs] %s: %s%s%s%s%s\n", (double)(now_ms - r->t0) / 1000.0,
                      v->id.s, pc_progress_status_name(t->status), units[0] != '\0' ? " " : "",
                      units, msg[0] != '\0' ? " - " : "", msg);
        (void)fflush(r->out);
    }
}

void cli_render_note(struct cli_render *r, const char *note, uint64_t now_ms)
{
    if (r->tty && r->drawn) {
        char fit[LINE_MAX];

        /* Print the note above the bars by redrawing them below it. */
        (void)cli_term_fit(fit, sizeof(fit), note, r->term.width - 1, r->term.utf8);
        (void)fprintf(r->out, "\x1b[%zuA\x1b[2K%s\n", r->lines_drawn, fit);
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
