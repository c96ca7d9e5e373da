/*
 * follow.c - what a follower shows, for every transport (follow.h).
 *
 * Events arrive as msg_events, whether decoded from a Redis stream entry or
 * from the scheduler's JSON, so one function turns them into the renderer's
 * calls: a `progress` event carries an item's whole tracker, so the bar is
 * rebuilt from it alone. Notes go above the bars when there are bars, to
 * stderr otherwise, and nowhere with --json (stdout is the document's, and
 * a script reading stderr wants the one line of a failure, not chatter).
 */
#include "follow.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exec_view.h"
#include "peace/ident.h"
#include "peace/progress.h"

uint64_t cli_mono_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int cli_render_open(const struct cli_opts *o, const struct pc_flow *flow, struct cli_render **out)
{
    struct cli_term term;

    *out = NULL;
    if (!o->progress) {
        return 0;
    }
    cli_term_detect(o->json ? STDERR_FILENO : STDOUT_FILENO, &term);
    return cli_render_create(flow, o->json ? stderr : stdout, &term, cli_mono_ms(), out) != 0
               ? PC_ENOMEM
               : 0;
}

void cli_exit_interrupted_twice(void)
{
    static const char again[] = "\npeace: interrupted twice, exiting now\n";

    /* The user insists: leave at once, as with any interactive tool. */
    (void)!write(STDERR_FILENO, again, sizeof(again) - 1);
    _exit(130);
}

int cli_follow_init(struct cli_follow *f, const struct cli_opts *o, const char *id,
                    const struct pc_flow *flow, size_t blocks_total)
{
    memset(f, 0, sizeof(*f));
    f->o = o;
    f->id = id;
    f->flow = flow;
    f->blocks_total = blocks_total;
    return cli_render_open(o, flow, &f->render);
}

void cli_follow_cleanup(struct cli_follow *f)
{
    cli_render_destroy(f->render);
    f->render = NULL;
}

void cli_follow_note(struct cli_follow *f, const char *text)
{
    if (f->render != NULL) {
        cli_render_note(f->render, text, cli_mono_ms());
    } else if (!f->o->json) {
        (void)fprintf(stderr, "peace: %s\n", text);
    }
}

/* The items an interrupt event lists (schemas/README.md, progress event):
 * each one's status became `interrupted` and its message `interrupted`,
 * units and limit unchanged. */
static void follow_stopped_items(struct cli_follow *f, const struct msg_event *ev)
{
    const char *id = NULL;
    size_t id_len = 0;
    size_t pos = 0;
    size_t next = 0; /* listed in flow order: the next one is usually the next item */

    while (f->render != NULL && f->flow != NULL && msg_event_items_next(ev, &pos, &id, &id_len)) {
        long item = next < f->flow->n_items && strlen(f->flow->items[next].id.s) == id_len &&
                            memcmp(f->flow->items[next].id.s, id, id_len) == 0
                        ? (long)next
                        : pc_flow_find(f->flow, id, id_len);
        const struct pc_progress_tracker *cur =
            item >= 0 ? cli_render_tracker(f->render, (size_t)item) : NULL;
        struct pc_progress_tracker t;

        if (cur == NULL) {
            continue;
        }
        next = (size_t)item + 1;
        t = *cur;
        t.status = PC_PROGRESS_INTERRUPTED;
        (void)snprintf(t.msg, sizeof(t.msg), "%s", PC_PROGRESS_INTERRUPTED_MSG);
        cli_render_item(f->render, (size_t)item, &t, cli_mono_ms());
    }
}

void cli_follow_event(struct cli_follow *f, const struct msg_event *ev)
{
    char line[MSG_EVENT_REASON_MAX + 64];
    struct pc_progress_tracker t;
    long item;

    switch (ev->kind) {
    case MSG_EVENT_BLOCK_START:
        if (f->render != NULL) {
            cli_render_block(f->render, (size_t)ev->block_index, f->blocks_total,
                             pc_block_name(ev->block), cli_mono_ms());
        }
        break;
    case MSG_EVENT_PROGRESS:
        item = f->flow != NULL ? pc_flow_find(f->flow, ev->item.s, strlen(ev->item.s)) : -1;
        if (item < 0 || f->render == NULL) {
            break;
        }
        pc_progress_tracker_init(&t);
        t.status = ev->status;
        t.limit = ev->limit;
        t.done = ev->done;
        memcpy(t.msg, ev->msg, sizeof(t.msg));
        cli_render_item(f->render, (size_t)item, &t, cli_mono_ms());
        break;
    case MSG_EVENT_INTERRUPT:
        (void)snprintf(line, sizeof(line),
                       "interrupted%s%s: items in progress finish, nothing new starts",
                       ev->reason[0] != '\0' ? " - " : "", ev->reason);
        cli_follow_note(f, line);
        follow_stopped_items(f, ev);
        break;
    case MSG_EVENT_OUTCOME:
        f->saw_outcome = true;
        break;
    }
}

void cli_follow_tick(struct cli_follow *f)
{
    if (f->render != NULL) {
        cli_render_tick(f->render, cli_mono_ms());
    }
}

void cli_follow_end(struct cli_follow *f)
{
    if (f->render != NULL) {
        cli_render_finish(f->render, cli_mono_ms());
    }
}

void cli_follow_interrupt_sent(struct cli_follow *f, bool finished)
{
    if (finished) {
        cli_follow_note(f, "interrupt requested, but the execution has already finished");
    } else {
        cli_follow_note(f, "interrupt requested: items in progress finish, nothing new starts "
                           "(Ctrl-C again to exit now)");
    }
}

void cli_follow_interrupt_failed(struct cli_follow *f, const char *why)
{
    char line[PC_ERR_MSG_MAX + 64];

    (void)snprintf(line, sizeof(line), "could not request the interrupt: %s", why);
    cli_follow_note(f, line);
}

void cli_follow_reconnecting(struct cli_follow *f, const struct pc_err *err)
{
    char line[PC_ERR_MSG_MAX + 64];

    (void)snprintf(line, sizeof(line), "%s; reconnecting", err->msg);
    cli_follow_note(f, line);
}

void cli_follow_gave_up(const struct cli_follow *f, struct pc_err *err, unsigned seconds)
{
    pc_err_prefix(err, "gave up following execution %s after %u s", f->id, seconds);
}

static bool prints_states(enum pc_cmd cmd)
{
    return cmd == PC_CMD_DISCOVER || cmd == PC_CMD_DISCOVER_CURRENT ||
           cmd == PC_CMD_DISCOVER_GOAL || cmd == PC_CMD_READ_CURRENT || cmd == PC_CMD_READ_GOAL;
}

int cli_follow_report(const struct cli_follow *f, enum pc_cmd cmd, const struct pc_outcome *outcome,
                      cli_states_print_fn *print_states, void *arg)
{
    if (!f->o->json && outcome->kind == PC_OUTCOME_COMPLETE && prints_states(cmd)) {
        bool current =
            cmd == PC_CMD_DISCOVER || cmd == PC_CMD_DISCOVER_CURRENT || cmd == PC_CMD_READ_CURRENT;
        bool goal =
            cmd == PC_CMD_DISCOVER || cmd == PC_CMD_DISCOVER_GOAL || cmd == PC_CMD_READ_GOAL;

        print_states(arg, f->flow, current ? "current states" : NULL, goal ? "goal states" : NULL);
    }
    cli_print_outcome(outcome, f->o->json);
    return pc_outcome_exit_status(outcome->kind);
}

bool cli_print_submitted(const struct cli_opts *o, const char *id, const struct pc_flow *flow,
                         const char *queue)
{
    if (o->detach) {
        if (o->json) {
            (void)printf("{\"id\":\"%s\"}\n", id);
        } else {
            (void)printf("%s\n", id);
        }
        return true;
    }
    if (o->json) {
        (void)fprintf(stderr, "peace: execution %s queued on %s\n", id, queue);
    } else {
        (void)printf("%s %s/%s/%s on the fleet: execution %s (queue %s)\n", pc_cmd_name(o->cmd),
                     flow->app.s, flow->profile.s, flow->flow.s, id, queue);
        (void)fflush(stdout);
    }
    return false;
}

void cli_print_watching(const struct cli_opts *o, enum pc_cmd cmd, const struct pc_flow *flow,
                        const char *id)
{
    if (!o->json) {
        (void)printf("%s %s/%s/%s on the fleet: execution %s\n", pc_cmd_name(cmd), flow->app.s,
                     flow->profile.s, flow->flow.s, id);
        (void)fflush(stdout);
    }
}

void cli_flow_add_item(struct pc_flow *f, const char *id, size_t n)
{
    if (n == 0 || !pc_ident_valid(id, n) || pc_flow_find(f, id, n) >= 0) {
        return;
    }
    memcpy(f->items[f->n_items].id.s, id, n);
    f->items[f->n_items].id.s[n] = '\0';
    f->n_items++;
}
