/*
 * local_run.c - `peace run FLOW.json --local`: the engine in this process.
 *
 * One libevent loop drives everything: the engine, a thread pool for item
 * work, a 50 ms timer that flushes item progress and redraws the bars, and
 * SIGINT/SIGTERM. The first Ctrl-C is a `finish` interrupt (in-flight items
 * finish, nothing new starts); the second a `cancel` (running items are asked
 * to stop; it becomes a `kill` after PC_INTERRUPT_DEADLINE_DEFAULT_MS); a
 * third exits at once (130), as users of interactive tools expect.
 *
 * With --listen HOST:PORT the same loop also serves the run's dashboard and
 * HTTP API (local_web.h): the observer feeds both the bars and the server,
 * the page's Interrupt asks for the same graduated modes as Ctrl-C, and
 * after the outcome (the report printed) the server stays up until Ctrl-C or
 * --exit-after-s; the exit status is the outcome's.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli.h"
#include "exec_view.h"
#include "follow.h"
#include "local_history.h"
#include "local_web.h"
#include "peace/exec.h"
#include "peace/items.h"
#include "peace/pool.h"
#include "peace/store_dir.h"
#include "render.h"
#include "sched_guard.h"
#include "web_server.h"

#define TICK_MS 50

struct local_run {
    const struct cli_opts *opts;
    const struct pc_flow *flow;
    struct event_base *base;
    struct pc_exec *exec;
    struct cli_render *render;
    unsigned interrupts;
    struct event *kill_timer; /* the cancel's deadline */
    struct local_web *web;    /* --listen; NULL otherwise */
    struct event *done_ev;    /* --listen: the outcome, handled from the loop */
    struct event *exit_timer; /* --listen: --exit-after-s after the outcome */
    bool reported;            /* --listen: the report is printed */
    char listen_host[256];    /* --listen: the host (the server borrows it) */
    int status;               /* --listen: the exit status once reported */
    /* The interrupt's receipt (Ctrl-C or HTTP), as the fleet's meta keeps it:
     * the engine is in this process, so a request is latched when made. */
    uint64_t irq_requested_ms;
    enum pc_interrupt_mode irq_mode; /* in effect; only rises */
    uint64_t irq_escalations;
    uint64_t finished_ms;
};

/* A request of mode now: the first one is the receipt's; later ones that
 * raise the mode count as escalations (as local_web_note_mode). */
static void note_request(struct local_run *lr, enum pc_interrupt_mode mode)
{
    if (lr->irq_requested_ms == 0) {
        lr->irq_requested_ms = web_unix_ms();
        lr->irq_mode = mode;
        return;
    }
    if (mode > lr->irq_mode) {
        lr->irq_escalations += (uint64_t)(mode - lr->irq_mode);
        lr->irq_mode = mode;
    }
}

/* The receipt as a record of meta fields: cli_print_receipt reads text only. */
#define RECEIPT_FIELDS 6
struct receipt_rec {
    char v[RECEIPT_FIELDS][32];
};
static const char *const receipt_fields[RECEIPT_FIELDS] = {
    "interrupt_mode",       "interrupt_requested_ms",
    "interrupt_latched_ms", "interrupt_escalations",
    "finished_ms",          "outcome"};

static size_t receipt_text(const struct cli_record *rec, const char *field, char *out,
                           size_t out_size)
{
    const struct receipt_rec *r = rec->src;

    if (out_size == 0) {
        return 0;
    }
    out[0] = '\0';
    for (size_t i = 0; i < RECEIPT_FIELDS; i++) {
        if (strcmp(field, receipt_fields[i]) == 0) {
            (void)snprintf(out, out_size, "%s", r->v[i]);
            return strlen(out);
        }
    }
    return 0;
}

static int receipt_json_member(const struct cli_record *rec, const char *field, struct pc_buf *b,
                               bool *first)
{
    (void)rec;
    (void)field;
    (void)b;
    (void)first;
    return PC_EINVAL; /* the receipt is text only */
}

static int receipt_json_value(const struct cli_record *rec, struct pc_buf *b, struct pc_err *err)
{
    (void)rec;
    (void)b;
    return pc_err_set(err, PC_EINVAL, "the receipt is text only");
}

static const struct cli_record_ops receipt_ops = {
    .text = receipt_text,
    .json_member = receipt_json_member,
    .json_value = receipt_json_value,
};

/* After an interrupt: the receipt `peace interrupt ID --wait` prints for a
 * fleet execution (the mode in effect, requested, latched, escalations,
 * finished, the outcome); the report above it lists what was processed. */
static void print_receipt(const struct local_run *lr, const char *id)
{
    const struct pc_outcome *o = pc_exec_outcome(lr->exec);
    struct receipt_rec r;
    struct cli_record rec = {.ops = &receipt_ops, .src = &r, .name = NULL, .name_len = 0};

    if (lr->irq_requested_ms == 0 || o == NULL) {
        return;
    }
    memset(&r, 0, sizeof(r));
    (void)snprintf(r.v[0], sizeof(r.v[0]), "%s", pc_interrupt_mode_name(lr->irq_mode));
    (void)snprintf(r.v[1], sizeof(r.v[1]), "%llu", (unsigned long long)lr->irq_requested_ms);
    (void)snprintf(r.v[2], sizeof(r.v[2]), "%llu", (unsigned long long)lr->irq_requested_ms);
    (void)snprintf(r.v[3], sizeof(r.v[3]), "%llu", (unsigned long long)lr->irq_escalations);
    (void)snprintf(r.v[4], sizeof(r.v[4]), "%llu", (unsigned long long)lr->finished_ms);
    (void)snprintf(r.v[5], sizeof(r.v[5]), "%s", pc_outcome_kind_name(o->kind));
    (void)cli_print_receipt(id[0] != '\0' ? id : "local", &rec, false);
}

static void on_block_start(void *ctx, size_t index, enum pc_block_kind kind)
{
    struct local_run *lr = ctx;
    enum pc_block_kind blocks[PC_BLOCKS_MAX];
    size_t total = pc_cmd_blocks(lr->opts->cmd, lr->opts->sync, blocks);

    if (lr->render != NULL) {
        cli_render_block(lr->render, index, total, pc_block_name(kind), cli_mono_ms());
    }
    local_web_block_start(lr->web, index, kind);
}

static void on_progress(void *ctx, size_t item, const struct pc_progress_tracker *t,
                        const struct pc_progress_update *u)
{
    struct local_run *lr = ctx;

    (void)u;
    if (lr->render != NULL) {
        cli_render_item(lr->render, item, t, cli_mono_ms());
    }
    local_web_progress(lr->web, item, t);
}

static void on_interrupted(void *ctx)
{
    struct local_run *lr = ctx;

    if (lr->render != NULL) {
        cli_render_note(lr->render, "interrupted: items in progress finish, nothing new starts",
                        cli_mono_ms());
    }
    local_web_interrupted(lr->web);
}

static void on_finished(void *ctx, const struct pc_outcome *o)
{
    struct local_run *lr = ctx;

    lr->finished_ms = web_unix_ms();
    if (lr->web != NULL) {
        struct timeval now = {0, 0};

        local_web_finished(lr->web, o);
        (void)evtimer_add(lr->done_ev, &now); /* report from the loop, keep serving */
        return;
    }
    (void)event_base_loopexit(lr->base, NULL);
}

static const struct pc_exec_observer_ops observer = {
    .block_start = on_block_start,
    .progress = on_progress,
    .interrupted = on_interrupted,
    .finished = on_finished,
};

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct local_run *lr = arg;

    (void)fd;
    (void)what;
    pc_exec_progress_flush(lr->exec);
    local_web_tick(lr->web);
    if (lr->render != NULL) {
        cli_render_tick(lr->render, cli_mono_ms());
    }
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct local_run *lr = arg;

    (void)what;
    (void)sig;
    if (lr->reported) {
        (void)event_base_loopexit(lr->base, NULL); /* --listen after the outcome: stop serving */
        return;
    }
    local_web_note_interrupt(lr->web, "interrupted from the terminal (Ctrl-C)");
    lr->interrupts++;
    if (lr->interrupts <= 2) {
        note_request(lr, lr->interrupts == 2 ? PC_MODE_CANCEL : PC_MODE_FINISH);
    }
    if (lr->interrupts > 2) {
        cli_exit_interrupted_twice();
    }
    if (lr->interrupts == 2) {
        struct timeval tv = {(time_t)(PC_INTERRUPT_DEADLINE_DEFAULT_MS / 1000u), 0};

        if (lr->render != NULL) {
            cli_render_note(lr->render,
                            "cancel requested: items in progress are asked to stop (Ctrl-C again "
                            "to exit now)",
                            cli_mono_ms());
        }
        pc_exec_interrupt(lr->exec, PC_MODE_CANCEL);
        local_web_note_mode(lr->web, PC_MODE_CANCEL, PC_INTERRUPT_DEADLINE_DEFAULT_MS);
        if (lr->kill_timer != NULL) {
            (void)evtimer_add(lr->kill_timer, &tv);
        }
        return;
    }
    if (lr->render != NULL) {
        cli_render_note(lr->render,
                        "interrupt requested: finishing items in progress (Ctrl-C again to cancel "
                        "them)",
                        cli_mono_ms());
    }
    pc_exec_signal_interrupt(lr->exec);
    local_web_note_mode(lr->web, PC_MODE_FINISH, PC_INTERRUPT_DEADLINE_DEFAULT_MS);
}

/* The cancel's deadline passed: it becomes a kill. */
static void on_kill_timer(evutil_socket_t fd, short what, void *arg)
{
    struct local_run *lr = arg;

    (void)fd;
    (void)what;
    if (lr->render != NULL) {
        cli_render_note(lr->render, "cancel deadline passed: killing items in progress",
                        cli_mono_ms());
    }
    pc_exec_interrupt(lr->exec, PC_MODE_KILL);
    note_request(lr, PC_MODE_KILL);
    local_web_note_mode(lr->web, PC_MODE_KILL, 0);
}

static int print_map(const struct pc_flow *flow, const struct pc_states *m, const char *label)
{
    struct pc_buf b;
    int rc = 0;

    pc_buf_init(&b, 64u << 20);
    rc = pc_buf_appendf(&b, "%s:\n", label);
    for (size_t i = 0; rc == 0 && i < flow->n_items; i++) {
        rc = pc_buf_appendf(&b, "  %s: ", flow->items[i].id.s);
        if (rc == 0) {
            rc = pc_state_to_json(&m->v[i], &b);
        }
        if (rc == 0) {
            rc = pc_buf_puts(&b, "\n");
        }
    }
    if (rc == 0) {
        (void)fputs(pc_buf_str(&b), stdout);
    }
    pc_buf_cleanup(&b);
    return rc;
}

/* The value of read and diff commands is what the user asked to see. */
static void print_value(const struct cli_opts *o, const struct pc_flow *flow, struct pc_exec *e)
{
    switch (o->cmd) {
    case PC_CMD_READ_CURRENT:
        (void)print_map(flow, pc_exec_map(e, PC_MAP_STORED_CURRENT), "stored current states");
        break;
    case PC_CMD_READ_GOAL:
        (void)print_map(flow, pc_exec_map(e, PC_MAP_STORED_GOAL), "stored goal states");
        break;
    case PC_CMD_DIFF:
        (void)print_map(flow, pc_exec_map(e, PC_MAP_DIFF),
                        o->diff_current_discovered
                            ? (o->diff_goal_discovered
                                   ? "diff (discovered current -> discovered goal)"
                                   : "diff (discovered current -> stored goal)")
                            : (o->diff_goal_discovered ? "diff (stored current -> discovered goal)"
                                                       : "diff (stored current -> stored goal)"));
        break;
    case PC_CMD_DISCOVER:
    case PC_CMD_DISCOVER_CURRENT:
        (void)print_map(flow, pc_exec_map(e, PC_MAP_CURRENT), "current states");
        if (o->cmd == PC_CMD_DISCOVER_CURRENT) {
            break;
        }
        /* fallthrough */
    case PC_CMD_DISCOVER_GOAL:
        (void)print_map(flow, pc_exec_map(e, PC_MAP_GOAL), "goal states");
        break;
    default:
        break;
    }
}

static int report(const struct cli_opts *o, const struct pc_flow *flow, struct pc_exec *e)
{
    const struct pc_outcome *out = pc_exec_outcome(e);
    struct pc_buf b;

    if (out == NULL) {
        (void)fprintf(stderr, "peace: the execution did not finish\n");
        return 1;
    }
    pc_buf_init(&b, 16u << 20);
    if (o->json) {
        if (pc_outcome_format_json(out, &b) == 0) {
            (void)printf("%s\n", pc_buf_str(&b));
        }
    } else {
        if (out->kind == PC_OUTCOME_COMPLETE) {
            print_value(o, flow, e);
        }
        if (pc_outcome_format_text(out, &b) == 0) {
            (void)fputs(pc_buf_str(&b), stdout);
        }
    }
    pc_buf_cleanup(&b);
    return pc_outcome_exit_status(out->kind);
}

static int prepare(const struct cli_opts *o, struct pc_flow *flow, struct pc_registry **reg,
                   struct pc_err *err)
{
    int rc = pc_flow_load_file(o->args[0], flow, err);

    if (rc != 0) {
        return rc;
    }
    rc = pc_registry_create(reg, err);
    if (rc == 0) {
        rc = pc_items_register_builtin(*reg, err);
    }
    for (size_t i = 0; rc == 0 && i < o->n_plugins; i++) {
        rc = pc_registry_load_plugin(*reg, o->plugins[i], err);
    }
    if (rc == 0) {
        rc = pc_registry_check_flow(*reg, flow, err);
    }
    return rc;
}

/* The outcome on the terminal: the bars' end, the kept report, the report. */
static int finish_and_report(struct local_run *lr)
{
    const struct cli_opts *o = lr->opts;
    struct pc_err err;

    pc_err_clear(&err);
    if (lr->render != NULL) {
        cli_render_finish(lr->render, cli_mono_ms());
    }
    char id[PC_ULID_LEN + 1] = "";
    int status;

    if (pc_exec_outcome(lr->exec) != NULL) {
        if (lr->web != NULL) {
            (void)snprintf(id, sizeof(id), "%s", local_web_exec_id(lr->web));
        }
        /* Kept for `peace list --local` / `peace report ID --local`; a failure
         * to keep it does not change the run's result. */
        if (cli_history_save(".", lr->flow, o->cmd, pc_exec_outcome(lr->exec), id, &err) != 0) {
            (void)fprintf(stderr, "peace: the report was not kept: %s\n", err.msg);
        } else if (!o->json) {
            (void)printf("execution %s (peace report %s --local)\n", id, id);
        }
    }
    status = report(o, lr->flow, lr->exec);
    if (!o->json) {
        print_receipt(lr, id);
    }
    return status;
}

/* --listen: the outcome is in; report it now and keep serving. */
static void on_done_ev(evutil_socket_t fd, short what, void *arg)
{
    struct local_run *lr = arg;
    FILE *info = lr->opts->json ? stderr : stdout;

    (void)fd;
    (void)what;
    pc_exec_progress_flush(lr->exec);
    lr->status = finish_and_report(lr);
    lr->reported = true;
    if (lr->opts->has_exit_after) {
        struct timeval tv = {(time_t)lr->opts->exit_after_s, 0};

        (void)fprintf(info, "peace: still serving the dashboard for %u s (Ctrl-C to stop now)\n",
                      lr->opts->exit_after_s);
        (void)evtimer_add(lr->exit_timer, &tv);
    } else {
        (void)fprintf(info, "peace: still serving the dashboard; Ctrl-C to stop\n");
    }
    (void)fflush(info);
}

static void on_exit_timer(evutil_socket_t fd, short what, void *arg)
{
    struct local_run *lr = arg;

    (void)fd;
    (void)what;
    (void)event_base_loopexit(lr->base, NULL);
}

/* The page's Interrupt (POST .../interrupt): the graduated modes of Ctrl-C. */
static void on_web_interrupt(void *ctx, enum pc_interrupt_mode mode, uint64_t deadline_ms,
                             const char *reason)
{
    struct local_run *lr = ctx;
    char note[MSG_EVENT_REASON_MAX + 96];

    (void)snprintf(note, sizeof(note), "%s requested over HTTP: %s", pc_interrupt_mode_name(mode),
                   reason);
    if (lr->render != NULL) {
        cli_render_note(lr->render, note, cli_mono_ms());
    }
    local_web_note_mode(lr->web, mode, deadline_ms);
    note_request(lr, mode);
    if (mode == PC_MODE_FINISH) {
        lr->interrupts = lr->interrupts > 1 ? lr->interrupts : 1;
        pc_exec_signal_interrupt(lr->exec);
        return;
    }
    lr->interrupts = 2; /* a Ctrl-C now exits */
    if (mode == PC_MODE_CANCEL && lr->kill_timer != NULL) {
        struct timeval tv = {(time_t)(deadline_ms / 1000u),
                             (suseconds_t)((deadline_ms % 1000u) * 1000u)};

        (void)evtimer_add(lr->kill_timer, &tv);
    }
    pc_exec_interrupt(lr->exec, mode);
}

static int run_loop(struct local_run *lr)
{
    struct event *tick = NULL;
    struct event *sigint = NULL;
    struct event *sigterm = NULL;
    struct timeval tv = {0, (suseconds_t)TICK_MS * 1000};
    int rc = 0;

    tick = event_new(lr->base, -1, EV_PERSIST, on_tick, lr);
    lr->kill_timer = evtimer_new(lr->base, on_kill_timer, lr);
    sigint = evsignal_new(lr->base, SIGINT, on_signal, lr);
    sigterm = evsignal_new(lr->base, SIGTERM, on_signal, lr);
    if (tick == NULL || sigint == NULL || sigterm == NULL || event_add(tick, &tv) != 0 ||
        event_add(sigint, NULL) != 0 || event_add(sigterm, NULL) != 0) {
        rc = PC_ENOMEM;
        goto out;
    }
    local_web_started(lr->web);
    pc_exec_start(lr->exec);
    if (!pc_exec_finished(lr->exec) || lr->web != NULL) {
        (void)event_base_dispatch(lr->base);
    }
    pc_exec_progress_flush(lr->exec);
    if (lr->web != NULL) {
        /* Streams end, answers in flight go out: a moment of the loop. */
        struct timeval grace = {0, 200000};

        (void)event_del(tick);
        local_web_stop(lr->web);
        (void)event_base_loopexit(lr->base, &grace);
        (void)event_base_dispatch(lr->base);
    }
out:
    if (tick != NULL) {
        event_free(tick);
    }
    if (lr->kill_timer != NULL) {
        event_free(lr->kill_timer);
        lr->kill_timer = NULL;
    }
    if (sigint != NULL) {
        event_free(sigint);
    }
    if (sigterm != NULL) {
        event_free(sigterm);
    }
    return rc;
}

/*
 * --listen: the guard's tokens (flags, then PEACE_READ_TOKEN /
 * PEACE_INTERRUPT_TOKEN; --token / PEACE_TOKEN resolved by main), a token
 * generated when none is given (unless --no-auth on a loopback address), and
 * the server; prints the dashboard's URL.
 */
static int web_open(struct local_run *lr, const struct pc_flow *flow, struct pc_store store,
                    char *generated, size_t generated_size)
{
    const struct cli_opts *o = lr->opts;
    const char *rt = o->read_token != NULL ? o->read_token : getenv("PEACE_READ_TOKEN");
    const char *it =
        o->interrupt_token != NULL ? o->interrupt_token : getenv("PEACE_INTERRUPT_TOKEN");
    const char *tokens[SCHED_SCOPE_COUNT] = {NULL, rt, it, o->token};
    char *host = lr->listen_host;
    char url[SCHED_TOKEN_MAX + 320];
    struct local_web_opts wo;
    struct pc_err err;
    bool any = false;
    size_t glen = 0;
    FILE *info = o->json ? stderr : stdout;

    pc_err_clear(&err);
    memset(&wo, 0, sizeof(wo));
    if (sched_listen_parse(o->listen, host, sizeof(lr->listen_host), &wo.listen_port, &err) != 0) {
        (void)fprintf(stderr, "peace: %s\n", err.msg);
        return 1;
    }
    for (size_t k = 1; k < SCHED_SCOPE_COUNT; k++) {
        if (tokens[k] != NULL && tokens[k][0] != '\0') {
            if (strlen(tokens[k]) > SCHED_TOKEN_MAX) {
                (void)fprintf(stderr, "peace: a token is over %d bytes\n", SCHED_TOKEN_MAX);
                return 1;
            }
            wo.guard.tokens[k].p = tokens[k];
            wo.guard.tokens[k].n = strlen(tokens[k]);
            any = true;
        }
    }
    if (o->no_auth) {
        if (any) {
            (void)fprintf(stderr, "peace: --no-auth and a token exclude each other\n");
            return 1;
        }
        if (!sched_host_is_loopback(host)) {
            (void)fprintf(stderr,
                          "peace: --no-auth is only allowed on a loopback --listen address "
                          "(127.0.0.1, ::1, localhost), not %s\n",
                          host);
            return 1;
        }
        wo.guard.no_auth = true;
    } else if (!any) {
        if (web_token_generate(generated, generated_size, &glen, &err) != 0) {
            (void)fprintf(stderr, "peace: %s\n", err.msg);
            return 1;
        }
        wo.guard.tokens[SCHED_SCOPE_ALL].p = generated;
        wo.guard.tokens[SCHED_SCOPE_ALL].n = glen;
    }
    wo.base = lr->base;
    wo.flow = flow;
    wo.cmd = o->cmd;
    wo.sync = o->sync;
    wo.store = store;
    wo.guard.listen_host = host;
    wo.listen_host = host;
    wo.on_interrupt = on_web_interrupt;
    wo.interrupt_ctx = lr;
    if (local_web_create(&wo, &lr->web, &err) != 0) {
        (void)fprintf(stderr, "peace: %s\n", err.msg);
        return 1;
    }
    lr->done_ev = evtimer_new(lr->base, on_done_ev, lr);
    lr->exit_timer = evtimer_new(lr->base, on_exit_timer, lr);
    if (lr->done_ev == NULL || lr->exit_timer == NULL) {
        (void)fprintf(stderr, "peace: out of memory\n");
        return 1;
    }
    web_url_format(host, local_web_port(lr->web), glen > 0 ? generated : NULL, url, sizeof(url));
    if (glen > 0) {
        (void)fprintf(info, "peace: no token given: generated one for this run: %s\n", generated);
    }
    (void)fprintf(info, "peace: dashboard of execution %s: %s\n", local_web_exec_id(lr->web), url);
    (void)fflush(info);
    return 0;
}

int cli_local_run(const struct cli_opts *o)
{
    struct local_run lr;
    struct pc_flow flow;
    struct pc_registry *reg = NULL;
    struct pc_store_dir *dir = NULL;
    struct pc_pool *pool = NULL;
    struct pc_exec_opts eo;
    struct pc_err err;
    char generated[2 * WEB_TOKEN_RANDOM_BYTES + 1];
    int status = 1;

    memset(&lr, 0, sizeof(lr));
    memset(&flow, 0, sizeof(flow));
    memset(&eo, 0, sizeof(eo));
    pc_err_clear(&err);
    lr.opts = o;
    lr.flow = &flow;
    if (o->listen == NULL &&
        (o->has_exit_after || o->no_auth || o->read_token != NULL || o->interrupt_token != NULL)) {
        (void)fprintf(stderr, "peace: --read-token, --interrupt-token, --no-auth and "
                              "--exit-after-s need --listen HOST:PORT (see peace --help)\n");
        goto out;
    }
    if (prepare(o, &flow, &reg, &err) != 0) {
        (void)fprintf(stderr, "peace: %s\n", err.msg);
        goto out;
    }
    if (o->workdir != NULL && chdir(o->workdir) != 0) {
        (void)fprintf(stderr, "peace: --workdir %s: %s\n", o->workdir, strerror(errno));
        goto out;
    }
    lr.base = event_base_new();
    if (lr.base == NULL || pc_store_dir_create(".", &dir, &err) != 0 ||
        pc_pool_create(lr.base, flow.n_items < 64 ? (unsigned)flow.n_items + 1 : 64, &pool, &err) !=
            0) {
        (void)fprintf(stderr, "peace: cannot start: %s\n", err.msg[0] ? err.msg : "out of memory");
        goto out;
    }
    eo.cmd = o->cmd;
    eo.sync = o->sync;
    eo.keep_obsolete = o->keep_obsolete;
    eo.diff_current_discovered = o->diff_current_discovered;
    eo.diff_goal_discovered = o->diff_goal_discovered;
    eo.no_save = o->no_save;
    eo.strategy = o->strategy;
    eo.flow = &flow;
    eo.registry = reg;
    eo.store = pc_store_dir_store(dir);
    eo.executor = pc_pool_executor(pool);
    eo.observer = &observer;
    eo.observer_ctx = &lr;
    if (pc_exec_create(&eo, &lr.exec, &err) != 0) {
        (void)fprintf(stderr, "peace: %s: %s\n", o->args[0], err.msg);
        goto out;
    }
    if (o->listen != NULL &&
        web_open(&lr, &flow, pc_store_dir_store(dir), generated, sizeof(generated)) != 0) {
        goto out;
    }
    if (cli_render_open(o, &flow, &lr.render) != 0) {
        (void)fprintf(stderr, "peace: out of memory\n");
        goto out;
    }
    if (!o->json) {
        (void)printf("%s %s/%s/%s (local, states in %s)\n", pc_cmd_name(o->cmd), flow.app.s,
                     flow.profile.s, flow.flow.s, pc_store_dir_flow_path(dir, &flow));
    }
    if (run_loop(&lr) != 0) {
        (void)fprintf(stderr, "peace: cannot run the event loop\n");
        goto out;
    }
    status = lr.reported ? lr.status : finish_and_report(&lr);
out:
    /* The server first: it reads the store and the flow. */
    local_web_destroy(lr.web);
    if (lr.done_ev != NULL) {
        event_free(lr.done_ev);
    }
    if (lr.exit_timer != NULL) {
        event_free(lr.exit_timer);
    }
    /* Only a finished execution may be destroyed while its pool lives. */
    if (lr.exec != NULL && !pc_exec_finished(lr.exec)) {
        pc_pool_destroy(pool);
        pool = NULL;
    }
    pc_exec_destroy(lr.exec);
    pc_pool_destroy(pool);
    cli_render_destroy(lr.render);
    pc_store_dir_destroy(dir);
    pc_registry_destroy(reg);
    pc_flow_cleanup(&flow);
    if (lr.base != NULL) {
        event_base_free(lr.base);
    }
    return status;
}
