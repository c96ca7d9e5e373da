/*
 * server_run.c - `peace run FLOW.json --server URL` and `peace watch ID
 * --server URL`: submit an execution through peace-scheduler and follow it
 * to its outcome over the scheduler's event stream.
 *
 * Submitting: the flow file is read and validated here first (a bad flow is
 * never sent), then POST /v1/executions carries the file's JSON object as
 * it is, with the command, strategy, sync and queue.
 *
 * Following: GET /v1/executions/{id}/events is read as it arrives; the SSE
 * parser (server_sse.h) hands over each event, whose JSON data becomes the
 * msg_event the Redis mode decodes from its stream, and goes to the same
 * follower (follow.h: the bars, the notes, the report). The stream ends after the `outcome` event;
 * one that ends without it (a job rejected before it ran has none, a scheduler shutting down ends
 * it early) is answered by asking the execution's status: finished means report, anything else
 * means reconnect. A dropped or refused connection, a 5xx or a stream silent past its keepalive is
 * retried with backoff, resuming with Last-Event-ID, for up to
 * CLI_FOLLOW_RETRY_MS without any byte from the scheduler; then the
 * follower gives up with one line (the execution goes on without us).
 *
 * Everything runs on the HTTP client's event loop: the stream, a redraw
 * timer, the retry timer and SIGINT/SIGTERM (evsignal, so no handler state
 * of our own). The first Ctrl-C POSTs /interrupt and the follower keeps
 * following to the outcome; the second exits at once with status 130.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "exec_view.h"
#include "follow.h"
#include "peace/cmd.h"
#include "peace/msg.h"
#include "server_exec.h"
#include "server_json.h"
#include "server_sse.h"

#define CLI_SSE_LINE_MAX    ((size_t)256u << 10)
#define CLI_SSE_DATA_MAX    ((size_t)1u << 20)
#define CLI_FOLLOW_RETRY_MS 30000u
#define CLI_TICK_MS         250u
#define CLI_BACKOFF_MIN_MS  100u
#define CLI_BACKOFF_MAX_MS  2000u

struct follower {
    struct cli_follow view; /* what is shown */
    struct cli_http *h;     /* borrowed */
    char exec_path[CLI_SERVER_PATH_MAX];
    struct cli_sse sse;
    struct event *on_int; /* owned events of the client's loop */
    struct event *on_term;
    struct event *tick;
    struct event *retry;
    int interrupts;
    bool stopped;           /* leave the loop */
    bool failed;            /* ... with err */
    bool reporting;         /* following is over: late answers are not shown */
    bool interrupt_pending; /* a Ctrl-C's request is in flight */
    uint64_t failing_since; /* mono ms of the first failure in a row; 0 = healthy */
    unsigned backoff_ms;
    struct pc_err err;
};

static void fail_now(struct follower *f, const struct pc_err *err)
{
    f->err = *err;
    f->failed = true;
    f->stopped = true;
}

static void arm(struct event *ev, unsigned ms)
{
    struct timeval tv = {(time_t)(ms / 1000u), (suseconds_t)((ms % 1000u) * 1000u)};

    (void)event_add(ev, &tv);
}

/* A failure worth retrying: retry after the backoff, or give up past the deadline. */
static void stream_failed(struct follower *f, const struct pc_err *err)
{
    uint64_t now = cli_mono_ms();

    if (f->failing_since == 0) {
        f->failing_since = now;
        f->backoff_ms = CLI_BACKOFF_MIN_MS;
        cli_follow_reconnecting(&f->view, err);
    }
    if (now - f->failing_since >= CLI_FOLLOW_RETRY_MS) {
        struct pc_err gave_up = *err;

        cli_follow_gave_up(&f->view, &gave_up, CLI_FOLLOW_RETRY_MS / 1000u);
        fail_now(f, &gave_up);
        return;
    }
    arm(f->retry, f->backoff_ms);
    f->backoff_ms = f->backoff_ms * 2 > CLI_BACKOFF_MAX_MS ? CLI_BACKOFF_MAX_MS : f->backoff_ms * 2;
}

/* One SSE event; 1 stops the parser once the outcome is in. */
static int on_event(void *arg, const struct cli_sse_event *sse_ev)
{
    struct follower *f = arg;
    struct msg_event ev;
    struct pc_buf items;

    pc_buf_init(&items, MSG_EVENT_ITEMS_MAX + 1);
    /* An event this version cannot read is skipped: the report is what counts. */
    if (cli_event_from_json(sse_ev->data, sse_ev->data_len, &ev, &items, NULL) == 0) {
        cli_follow_event(&f->view, &ev);
    }
    pc_buf_cleanup(&items);
    return f->view.saw_outcome ? 1 : 0;
}

static int on_data(void *arg, const char *p, size_t n)
{
    struct follower *f = arg;
    struct pc_err err;
    int rc;

    if (f->stopped) {
        return 1;
    }
    if (f->failing_since != 0) {
        f->failing_since = 0;
        cli_follow_note(&f->view, "reconnected to the scheduler");
    }
    pc_err_clear(&err);
    rc = cli_sse_feed(&f->sse, p, n, &err);
    if (f->view.saw_outcome) {
        f->stopped = true;
        return 1;
    }
    if (rc != 0) {
        pc_err_prefix(&err, "execution %s", f->view.id);
        fail_now(f, &err);
        return 1;
    }
    return 0;
}

static void on_end(void *arg, int rc, const struct cli_http_response *resp,
                   const struct pc_err *err)
{
    struct follower *f = arg;
    struct pc_err why;

    if (f->stopped) {
        return;
    }
    if (rc != 0) {
        stream_failed(f, err);
        return;
    }
    if (resp->status == 200 || resp->status == 204) {
        /* Ended without the outcome event, or (204, resuming) nothing more
         * will come: follow() asks why. */
        f->stopped = true;
        return;
    }
    pc_err_clear(&why);
    if (cli_server_failure(f->h, resp, &why) == PC_EIO) {
        stream_failed(f, &why); /* 5xx: Redis away, too many streams, shutting down */
    } else {
        fail_now(f, &why);
    }
}

static void start_stream(struct follower *f)
{
    char path[CLI_SERVER_PATH_MAX + 16];
    struct pc_err err;

    pc_err_clear(&err);
    cli_sse_restart(&f->sse);
    (void)snprintf(path, sizeof(path), "%s/events", f->exec_path);
    if (cli_http_stream_start(f->h, path, cli_sse_last_id(&f->sse), on_data, on_end, f, &err) !=
        0) {
        stream_failed(f, &err);
    }
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    start_stream(arg);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct follower *f = arg;

    (void)fd;
    (void)what;
    cli_follow_tick(&f->view);
}

static void on_interrupt_done(void *arg, int rc, const struct cli_http_response *resp,
                              const struct pc_err *err)
{
    struct follower *f = arg;
    json_t *doc = NULL;
    struct pc_err why;

    f->interrupt_pending = false;
    if (f->reporting) {
        return;
    }
    pc_err_clear(&why);
    if (rc != 0) {
        why = *err;
    } else if (cli_server_reply(f->h, resp, &doc, &why) == 0) {
        cli_follow_interrupt_sent(&f->view, json_is_false(json_object_get(doc, "requested")));
        json_decref(doc);
        return;
    }
    cli_follow_interrupt_failed(&f->view, why.msg);
}

static void request_interrupt(struct follower *f)
{
    static const char body[] = "{\"reason\":\"Ctrl-C in the peace CLI\"}";
    char path[CLI_SERVER_PATH_MAX + 16];
    struct pc_err err;

    pc_err_clear(&err);
    (void)snprintf(path, sizeof(path), "%s/interrupt", f->exec_path);
    if (cli_http_call_start(f->h, EVHTTP_REQ_POST, path, body, sizeof(body) - 1, on_interrupt_done,
                            f, &err) != 0) {
        cli_follow_interrupt_failed(&f->view, err.msg);
        return;
    }
    f->interrupt_pending = true;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct follower *f = arg;

    (void)sig;
    (void)what;
    if (++f->interrupts > 1) {
        /* Not in a signal handler (evsignal): what was printed can be flushed first. */
        (void)fflush(stdout);
        cli_exit_interrupted_twice();
    }
    request_interrupt(f);
}

static void follower_cleanup(struct follower *f)
{
    struct event *evs[] = {f->on_int, f->on_term, f->tick, f->retry};

    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
        if (evs[i] != NULL) {
            event_free(evs[i]); /* a signal's previous disposition comes back */
        }
    }
    f->on_int = f->on_term = f->tick = f->retry = NULL;
    cli_sse_cleanup(&f->sse);
    cli_follow_cleanup(&f->view);
}

static int follower_init(struct follower *f, const struct cli_opts *o, struct cli_http *h,
                         const char *id, const struct pc_flow *flow, size_t blocks_total)
{
    struct event_base *base = cli_http_base(h);

    memset(f, 0, sizeof(*f));
    f->h = h;
    pc_err_clear(&f->err);
    cli_sse_init(&f->sse, CLI_SSE_LINE_MAX, CLI_SSE_DATA_MAX, on_event, f);
    (void)snprintf(f->exec_path, sizeof(f->exec_path), "/v1/executions/%s", id);
    if (cli_follow_init(&f->view, o, id, flow, blocks_total) != 0) {
        return PC_ENOMEM;
    }
    f->on_int = evsignal_new(base, SIGINT, on_signal, f);
    f->on_term = evsignal_new(base, SIGTERM, on_signal, f);
    f->tick = event_new(base, -1, EV_PERSIST, on_tick, f);
    f->retry = evtimer_new(base, on_retry, f);
    if (f->on_int == NULL || f->on_term == NULL || f->tick == NULL || f->retry == NULL ||
        event_add(f->on_int, NULL) != 0 || event_add(f->on_term, NULL) != 0) {
        return PC_ENOMEM;
    }
    arm(f->tick, CLI_TICK_MS);
    return 0;
}

/*
 * The stream ended without the outcome: finished (report it), gone (fail),
 * or still going (the stream ended early: reconnect).
 */
static void after_stream_end(struct follower *f)
{
    json_t *doc = NULL;
    const char *status;
    struct pc_err err;
    int rc;

    pc_err_clear(&err);
    rc = cli_server_call(f->h, EVHTTP_REQ_GET, f->exec_path, NULL, 0, &doc, &err);
    if (rc == PC_ENOTFOUND) {
        (void)pc_err_set(&err, PC_ENOTFOUND,
                         "execution %s disappeared (its keys expired or were deleted)", f->view.id);
        fail_now(f, &err);
    } else if (rc == PC_EIO) {
        stream_failed(f, &err);
    } else if (rc != 0) {
        fail_now(f, &err);
    } else {
        status = cli_json_str(json_object_get(doc, "execution"), "status");
        if (status != NULL && strcmp(status, "finished") == 0) {
            f->stopped = true; /* everything it wrote was in the stream */
        } else {
            (void)pc_err_set(&err, PC_EIO, "the event stream of %s ended early", f->view.id);
            stream_failed(f, &err);
        }
    }
    json_decref(doc);
}

/* Follows to the end of the execution; 0, or 1 with the reason printed. */
static int follow(struct follower *f)
{
    struct event_base *base = cli_http_base(f->h);

    start_stream(f);
    for (;;) {
        while (!f->stopped) {
            if (event_base_loop(base, EVLOOP_ONCE) < 0) {
                (void)pc_err_set(&f->err, PC_EINTERNAL, "the event loop failed");
                f->failed = true;
                break;
            }
        }
        cli_http_stream_stop(f->h);
        if (f->failed || f->view.saw_outcome) {
            break;
        }
        /* Ended without the outcome event. */
        f->stopped = false;
        after_stream_end(f);
        if (f->stopped) {
            break; /* finished, or failed */
        }
    }
    /* The outcome can arrive before the answer to a Ctrl-C's request (the
     * scheduler answers once the worker latched it): that answer is the
     * user's receipt, so it is waited for (bounded by the client's timeout;
     * a second Ctrl-C still exits at once). */
    while (f->interrupt_pending && !f->failed) {
        if (event_base_loop(base, EVLOOP_ONCE) < 0) {
            break;
        }
    }
    f->reporting = true;
    cli_follow_end(&f->view);
    if (f->failed) {
        (void)fprintf(stderr, "peace: %s\n", f->err.msg);
        return 1;
    }
    return 0;
}

/* The stored states of flow, for the labels given (cli_states_print_fn). */
static void print_states(void *arg, const struct pc_flow *flow, const char *current_label,
                         const char *goal_label)
{
    struct pc_err err;

    pc_err_clear(&err);
    if (cli_server_states_print(arg, flow->app.s, flow->profile.s, flow->flow.s, current_label,
                                goal_label, &err) != 0) {
        (void)fprintf(stderr, "peace: %s\n", err.msg);
    }
}

/* Reads the finished execution's report and prints it. */
static int finish(struct follower *f, enum pc_cmd cmd)
{
    struct pc_outcome outcome;
    json_t *doc = NULL;
    struct pc_err err;
    int status;

    pc_err_clear(&err);
    if (cli_server_call(f->h, EVHTTP_REQ_GET, f->exec_path, NULL, 0, &doc, &err) != 0 ||
        cli_server_outcome(doc, &outcome, &err) != 0) {
        (void)fprintf(stderr, "peace: execution %s: %s\n", f->view.id, err.msg);
        json_decref(doc);
        return 1;
    }
    json_decref(doc);
    status = cli_follow_report(&f->view, cmd, &outcome, print_states, f->h);
    pc_outcome_cleanup(&outcome);
    return status;
}

/* Follows id to its outcome and reports it; the exit status. */
static int follow_and_report(const struct cli_opts *o, struct cli_http *h, const char *id,
                             enum pc_cmd cmd, const struct pc_flow *flow, size_t blocks_total)
{
    struct follower f;
    int status;

    if (follower_init(&f, o, h, id, flow, blocks_total) != 0) {
        follower_cleanup(&f);
        (void)fprintf(stderr, "peace: out of memory\n");
        return 1;
    }
    status = follow(&f);
    /* Signals back to their defaults before the report, as the Redis mode does. */
    if (f.on_int != NULL) {
        event_free(f.on_int);
        f.on_int = NULL;
    }
    if (f.on_term != NULL) {
        event_free(f.on_term);
        f.on_term = NULL;
    }
    if (status == 0) {
        status = finish(&f, cmd);
    }
    follower_cleanup(&f);
    return status;
}

/* ------------------------------------------------------------------------ */
/* run                                                                        */
/* ------------------------------------------------------------------------ */

/* The flow file's bytes, at most PC_FLOW_FILE_MAX (a pipe is bounded the same way). */
static int read_flow_file(const char *path, struct pc_buf *text, struct pc_err *err)
{
    char chunk[16384];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0) {
        return pc_err_set(err, -errno, "%s: cannot open: %s", path, strerror(errno));
    }
    for (;;) {
        ssize_t got = read(fd, chunk, sizeof(chunk));

        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            rc = pc_err_set(err, -errno, "%s: cannot read: %s", path, strerror(errno));
            break;
        }
        if (got == 0) {
            break;
        }
        rc = pc_buf_append(text, chunk, (size_t)got);
        if (rc != 0) {
            rc = pc_err_set(err, rc,
                            rc == PC_ELIMIT ? "%s: larger than the limit of %u bytes"
                                            : "%s: out of memory (%u)",
                            path, PC_FLOW_FILE_MAX);
            break;
        }
    }
    (void)close(fd);
    return rc;
}

/* {"cmd","interrupt_strategy","apply_stored_state_sync","queue","flow": <the file as is>} */
static int submit_body(const struct cli_opts *o, const struct pc_buf *flow_text,
                       struct pc_buf *body)
{
    char strategy[64];
    int rc;

    (void)pc_strategy_format(&o->strategy, strategy, sizeof(strategy));
    rc = pc_buf_appendf(body, "{\"cmd\":\"%s\",\"interrupt_strategy\":", pc_cmd_name(o->cmd));
    rc = rc == 0 ? pc_buf_append_json_str(body, strategy, strlen(strategy)) : rc;
    rc = rc == 0
             ? pc_buf_appendf(
                   body, ",\"apply_stored_state_sync\":\"%s\",\"queue\":", pc_sync_name(o->sync))
             : rc;
    rc = rc == 0 ? pc_buf_append_json_str(body, o->queue, strlen(o->queue)) : rc;
    rc = rc == 0 && o->keep_obsolete ? pc_buf_puts(body, ",\"keep_obsolete\":true") : rc;
    rc = rc == 0 && o->diff_current_discovered
             ? pc_buf_puts(body, ",\"diff_current\":\"discovered\"")
             : rc;
    rc = rc == 0 && o->diff_goal_discovered ? pc_buf_puts(body, ",\"diff_goal\":\"discovered\"")
                                            : rc;
    rc = rc == 0 && o->no_save ? pc_buf_puts(body, ",\"no_save\":true") : rc;
    rc = rc == 0 ? pc_buf_puts(body, ",\"flow\":") : rc;
    rc = rc == 0 ? pc_buf_append(body, flow_text->data, flow_text->len) : rc;
    return rc == 0 ? pc_buf_puts(body, "}") : rc;
}

int cli_server_run(const struct cli_opts *o)
{
    struct cli_http *h = NULL;
    enum pc_block_kind blocks[PC_BLOCKS_MAX];
    size_t blocks_total;
    struct pc_flow flow;
    struct pc_id queue;
    struct pc_buf text;
    struct pc_buf body;
    char id[CLI_EXEC_ID_MAX + 1];
    json_t *doc = NULL;
    const char *given_id;
    struct pc_err err;
    int status = 1;

    memset(&flow, 0, sizeof(flow));
    pc_buf_init(&text, PC_FLOW_FILE_MAX);
    pc_buf_init(&body, PC_FLOW_FILE_MAX + 4096u);
    pc_err_clear(&err);
    /* Validate everything local before sending: a bad flow is never submitted. */
    if (read_flow_file(o->args[0], &text, &err) != 0 ||
        pc_flow_parse_json(pc_buf_str(&text), text.len, o->args[0], &flow, &err) != 0) {
        (void)fprintf(stderr, "peace: %s\n", err.msg);
        goto out;
    }
    if (pc_id_set(&queue, o->queue, strlen(o->queue), "queue", &err) != 0) {
        (void)fprintf(stderr, "peace: --queue: %s\n", err.msg);
        goto out;
    }
    if (submit_body(o, &text, &body) != 0) {
        (void)fprintf(stderr, "peace: %s: too large to submit\n", o->args[0]);
        goto out;
    }
    blocks_total = pc_cmd_blocks(o->cmd, o->sync, blocks);
    if (cli_server_open(o, &h) != 0) {
        goto out;
    }
    if (cli_server_call(h, EVHTTP_REQ_POST, "/v1/executions", pc_buf_str(&body), body.len, &doc,
                        &err) != 0) {
        (void)fprintf(stderr, "peace: %s\n", err.msg);
        goto out;
    }
    given_id = cli_json_str(doc, "id");
    if (given_id == NULL || cli_exec_id_check(given_id, &err) != 0) {
        (void)fprintf(stderr, "peace: the scheduler's answer has no usable execution id\n");
        goto out;
    }
    (void)snprintf(id, sizeof(id), "%s", given_id);
    if (cli_print_submitted(o, id, &flow, queue.s)) {
        status = 0;
        goto out;
    }
    status = follow_and_report(o, h, id, o->cmd, &flow, blocks_total);
out:
    json_decref(doc);
    pc_buf_cleanup(&body);
    pc_buf_cleanup(&text);
    pc_flow_cleanup(&flow);
    cli_http_destroy(h);
    return status;
}

/* ------------------------------------------------------------------------ */
/* watch                                                                      */
/* ------------------------------------------------------------------------ */

/* The names and order of the bars: the execution's items as the scheduler lists them. */
static int flow_from_items(const json_t *exec, const json_t *items, struct pc_flow *out,
                           struct pc_err *err)
{
    const char *names[] = {"app", "profile", "flow"};
    struct pc_id *ids[3];
    struct pc_flow f;
    const json_t *it;
    size_t i;

    memset(&f, 0, sizeof(f));
    ids[0] = &f.app;
    ids[1] = &f.profile;
    ids[2] = &f.flow;
    for (size_t k = 0; k < 3; k++) {
        const char *v = cli_json_str(exec, names[k]);

        if (v == NULL || pc_id_set(ids[k], v, strlen(v), names[k], err) != 0) {
            return pc_err_set(err, PC_ESCHEMA, "the execution has no valid %s", names[k]);
        }
    }
    if (!json_is_array(items) || json_array_size(items) > PC_FLOW_ITEMS_MAX) {
        return pc_err_set(err, PC_ESCHEMA, "the execution's items are not a list of at most %d",
                          PC_FLOW_ITEMS_MAX);
    }
    f.items = calloc(json_array_size(items) + 1, sizeof(*f.items));
    if (f.items == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    json_array_foreach(items, i, it)
    {
        const char *id = cli_json_str(it, "id");

        if (id != NULL) {
            cli_flow_add_item(&f, id, strlen(id));
        }
    }
    *out = f;
    return 0;
}

int cli_server_watch(const struct cli_opts *o)
{
    struct cli_http *h = NULL;
    char path[CLI_SERVER_PATH_MAX];
    json_t *doc = NULL;
    const json_t *exec;
    const char *cmd_text;
    const json_t *blocks;
    struct pc_flow flow;
    enum pc_cmd cmd;
    struct pc_err err;
    int status = 1;

    memset(&flow, 0, sizeof(flow));
    pc_err_clear(&err);
    if (cli_args_watch(o) != 0 || cli_server_open(o, &h) != 0) {
        goto out;
    }
    (void)snprintf(path, sizeof(path), "/v1/executions/%s", o->args[0]);
    if (cli_server_call(h, EVHTTP_REQ_GET, path, NULL, 0, &doc, &err) != 0) {
        (void)fprintf(stderr, "peace: %s\n", err.msg);
        goto out;
    }
    exec = json_object_get(doc, "execution");
    cmd_text = cli_json_str(exec, "cmd");
    if (cmd_text == NULL || pc_cmd_parse(cmd_text, strlen(cmd_text), &cmd, &err) != 0 ||
        flow_from_items(exec, json_object_get(doc, "items"), &flow, &err) != 0) {
        (void)fprintf(stderr, "peace: execution %s: %s\n", o->args[0],
                      err.msg[0] != '\0' ? err.msg : "no command");
        goto out;
    }
    blocks = json_object_get(exec, "blocks_total");
    cli_print_watching(o, cmd, &flow, o->args[0]);
    status = follow_and_report(o, h, o->args[0], cmd, &flow,
                               json_is_integer(blocks) && json_integer_value(blocks) > 0 &&
                                       json_integer_value(blocks) <= PC_BLOCKS_MAX
                                   ? (size_t)json_integer_value(blocks)
                                   : 0);
out:
    json_decref(doc);
    pc_flow_cleanup(&flow);
    cli_http_destroy(h);
    return status;
}

int cli_server_events(const struct cli_opts *o)
{
    (void)o;
    (void)fprintf(stderr, "peace: events reads Redis (--redis); through a scheduler, "
                          "GET /v1/executions/ID/events streams them\n");
    return 1;
}
