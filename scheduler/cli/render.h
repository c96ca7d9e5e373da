/*
 * render.h - live progress of an execution on a terminal: one bar per item
 * (status, units, message, elapsed), redrawn in place on a TTY, or one line
 * per status change otherwise (logs, pipes, CI, TERM=dumb).
 *
 * The renderer owns copies of what it shows; callers feed it trackers (from
 * the in-process engine, or decoded from the Redis events stream) and the
 * current time, so it has no clock of its own.
 */
#ifndef PEACE_CLI_RENDER_H
#define PEACE_CLI_RENDER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "peace/flow.h"
#include "peace/progress.h"
#include "term.h"

struct cli_render;

/*
 * Returns owned. item ids are copied from flow, term is copied. out is
 * borrowed. term->live: bars redrawn in place, each line cut to the
 * terminal's width (measured again at every redraw); else one line per
 * change.
 */
int cli_render_create(const struct pc_flow *flow, FILE *out, const struct cli_term *term,
                      uint64_t now_ms, struct cli_render **r);
void cli_render_destroy(struct cli_render *r);

/* A block starts (index of total). */
void cli_render_block(struct cli_render *r, size_t index, size_t total, const char *name,
                      uint64_t now_ms);
/* An item's tracker changed. */
void cli_render_item(struct cli_render *r, size_t item, const struct pc_progress_tracker *t,
                     uint64_t now_ms);
/* Item `item`'s tracker as last fed (NULL when out of range); borrowed
 * until the next call that feeds r. */
const struct pc_progress_tracker *cli_render_tracker(const struct cli_render *r, size_t item);
/* A one-line note above the bars (e.g. "interrupt requested"). */
void cli_render_note(struct cli_render *r, const char *note, uint64_t now_ms);
/* Periodic redraw (TTY only: spinners and elapsed times move). */
void cli_render_tick(struct cli_render *r, uint64_t now_ms);
/* Final redraw; later output goes below the bars. */
void cli_render_finish(struct cli_render *r, uint64_t now_ms);

#endif
