/*
 * follow.h - following an execution to its outcome, whatever carries its
 * events (an XREAD of the events stream with --redis, the scheduler's event
 * stream with --server): msg_events fed to the progress renderer, the notes
 * shown above the bars, what Ctrl-C and reconnecting say, and the final
 * report with the states discover and read commands show. The transports
 * read events, request interrupts and fetch the outcome; everything the
 * user sees while following is decided here.
 */
#ifndef PEACE_CLI_FOLLOW_H
#define PEACE_CLI_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "peace/err.h"
#include "peace/flow.h"
#include "peace/msg.h"
#include "peace/outcome.h"
#include "render.h"

/* What one follower shows. */
struct cli_follow {
    const struct cli_opts *o;   /* borrowed */
    const char *id;             /* borrowed: the execution */
    const struct pc_flow *flow; /* borrowed: the item ids of the bars */
    struct cli_render *render;  /* owned; NULL without progress bars */
    size_t blocks_total;
    bool saw_outcome; /* the `outcome` event arrived */
};

/* Monotonic time in milliseconds: the renderer's clock. */
uint64_t cli_mono_ms(void);

/*
 * The progress renderer of a command: *out is NULL with --no-progress,
 * else owned, drawing on stdout (stderr with --json, which keeps stdout for
 * the document), redrawn in place when that is a terminal.
 */
int cli_render_open(const struct cli_opts *o, const struct pc_flow *flow,
                    struct cli_render **out) PC_NODISCARD;

/*
 * The second Ctrl-C: says so on stderr and exits with status 130 at once.
 * Async-signal-safe (a signal handler may call it).
 */
void cli_exit_interrupted_twice(void) __attribute__((noreturn));

/*
 * Starts showing execution id (o, id and flow are borrowed for the
 * follower's life). PC_ENOMEM when the renderer cannot be made; f is then
 * still safe to clean up.
 */
int cli_follow_init(struct cli_follow *f, const struct cli_opts *o, const char *id,
                    const struct pc_flow *flow, size_t blocks_total) PC_NODISCARD;
/* Accepts a zeroed follower. */
void cli_follow_cleanup(struct cli_follow *f);

/* One event of the execution (sets saw_outcome at the outcome). */
void cli_follow_event(struct cli_follow *f, const struct msg_event *ev);
/* A one-line note above the bars, or on stderr without bars (none with --json). */
void cli_follow_note(struct cli_follow *f, const char *text);
/* Periodic redraw between events. */
void cli_follow_tick(struct cli_follow *f);
/* Following is over: the final redraw, so later output goes below the bars. */
void cli_follow_end(struct cli_follow *f);

/* The interrupt asked for by Ctrl-C was recorded (finished: it came too late). */
void cli_follow_interrupt_sent(struct cli_follow *f, bool finished);
/* The interrupt could not be requested: why. */
void cli_follow_interrupt_failed(struct cli_follow *f, const char *why);

/* The connection failed with err: "...; reconnecting". */
void cli_follow_reconnecting(struct cli_follow *f, const struct pc_err *err);
/* Reconnecting failed for seconds: err says the follower gave up. */
void cli_follow_gave_up(const struct cli_follow *f, struct pc_err *err, unsigned seconds);

/*
 * Prints the states of a finished execution as "label:\n  item: json"
 * lines, for each label that is not NULL, and says on stderr why it could
 * not.
 */
typedef void cli_states_print_fn(void *arg, const struct pc_flow *flow, const char *current_label,
                                 const char *goal_label);

/*
 * The end of a followed execution of cmd: for discover and read commands
 * that completed (text only), the states they found or read first, through
 * print_states; then the report. Returns the exit status of the outcome.
 */
int cli_follow_report(const struct cli_follow *f, enum pc_cmd cmd, const struct pc_outcome *outcome,
                      cli_states_print_fn *print_states, void *arg);

/*
 * After submitting execution id: --detach prints the id (or {"id"}) and
 * returns true (nothing to follow); otherwise the header line (on stderr
 * with --json) and false.
 */
bool cli_print_submitted(const struct cli_opts *o, const char *id, const struct pc_flow *flow,
                         const char *queue);
/* Before `watch` follows: the header line (none with --json). */
void cli_print_watching(const struct cli_opts *o, enum pc_cmd cmd, const struct pc_flow *flow,
                        const char *id);

/*
 * Adds item (id, n) to the bars of f when it is an identifier not there
 * yet. f->items must have room for one more.
 */
void cli_flow_add_item(struct pc_flow *f, const char *id, size_t n);

#endif /* PEACE_CLI_FOLLOW_H */
