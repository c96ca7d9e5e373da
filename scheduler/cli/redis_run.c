/*
 * redis_run.c - `peace run FLOW.json --redis URL` and `peace watch ID`: submit
 * an execution to the fleet and follow it to its outcome.
 *
 * Submitting (docs/fleet.md): the flow is loaded and validated here first,
 * so a bad flow never reaches a queue; then one HSET creates the meta hash
 * (status=queued), ZADD indexes it, XADD queues the msgpack job. The order
 * matters: a crash between the steps leaves a visible queued meta without a
 * job, never a job without a meta.
 *
 * Following: first the registration (script exec_follow, events_fold.h:
 * an execution not finished yet then writes its events stream, events
 * layout 2), then a blocking XREAD on the execution's events stream from its
 * start, with a short BLOCK so the loop notices Ctrl-C, hands each event to
 * the follower the scheduler mode uses too (follow.h: the bars, the notes,
 * the report). It ends at the `outcome` event; between events it registers
 * again, which tells the status: a job rejected before it could run finishes
 * without events, and a finished execution without a stream (it ended
 * within one flush interval, unfollowed) has its events synthesised from
 * its hashes. Then the report is read from the meta hash.
 *
 * Ctrl-C: the first records the interrupt marker on the meta hash (unless
 * finished) and publishes the interrupt channel, and the follower keeps
 * following to the outcome; the second exits at once with status 130. The
 * count lives in a file-scope sig_atomic_t because a signal handler can reach
 * nothing else; it is the only mutable static of the CLI.
 *
 * Redis going away while following: reconnect with backoff for up to
 * CLI_RECONNECT_MS, then give up with a one-line reason (the execution goes
 * on without us; `peace watch ID` picks it up again).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "follow.h"
#include "peace/events_fold.h"
#include "peace/keys.h"
#include "peace/msg.h"
#include "peace/scripts.h"
#include "peace/submit.h"
#include "peace/ulid.h"
#include "redis_exec.h"

#define CLI_BLOCK_MS          "250"
#define CLI_READ_COUNT        "512"
#define CLI_EVENT_FIELDS_MAX  32
#define CLI_RECONNECT_MS      30000
#define CLI_JOB_SCAN_MAX      20000
#define CLI_JOB_SCAN_PAGE     "500"
#define CLI_JOB_SCAN_SLACK_MS 600000u /* submitter and server clocks may differ */

static volatile sig_atomic_t interrupts_received;

static void on_interrupt_signal(int sig)
{
    (void)sig;
    if (interrupts_received > 0) {
        cli_exit_interrupted_twice();
    }
    interrupts_received = 1;
}

struct signal_guard {
    struct sigaction old_int;
    struct sigaction old_term;
};

static void signals_install(struct signal_guard *g)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_interrupt_signal;
    (void)sigemptyset(&sa.sa_mask);
    interrupts_received = 0;
    (void)sigaction(SIGINT, &sa, &g->old_int);
    (void)sigaction(SIGTERM, &sa, &g->old_term);
}

static void signals_restore(const struct signal_guard *g)
{
    (void)sigaction(SIGINT, &g->old_int, NULL);
    (void)sigaction(SIGTERM, &g->old_term, NULL);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};

    /* A signal cuts the nap short; the caller looks at the flag anyway. */
    (void)nanosleep(&ts, NULL);
}

struct follower {
    struct cli_follow view;                      /* what is shown */
    struct cli_redis *r;                         /* borrowed */
    char keys[PC_EXEC_FOLLOW_NKEYS][PC_KEY_MAX]; /* exec_follow's; [2] = events */
    char *events_key;                            /* keys[2] */
    char last_id[64];
    sig_atomic_t interrupts_handled;
};

static void request_interrupt(struct follower *f)
{
    enum cli_interrupt_result result = CLI_INTERRUPT_UNKNOWN;
    struct pc_err err;

    pc_err_clear(&err);
    if (cli_exec_interrupt(f->r, f->view.id, "Ctrl-C in the peace CLI", PC_MODE_FINISH, false, 0,
                           &result, &err) != 0) {
        cli_follow_interrupt_failed(&f->view, err.msg);
        return;
    }
    cli_follow_interrupt_sent(&f->view, result == CLI_INTERRUPT_FINISHED);
}

/* One stream entry [id, [field, value...]]. */
static void apply_entry(struct follower *f, const redisReply *entry)
{
    const char *fields[CLI_EVENT_FIELDS_MAX];
    size_t lens[CLI_EVENT_FIELDS_MAX];
    const redisReply *kv;
    struct msg_event ev;
    size_t n;

    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
        entry->element[0]->type != REDIS_REPLY_STRING ||
        entry->element[0]->len >= sizeof(f->last_id)) {
        return;
    }
    memcpy(f->last_id, entry->element[0]->str, entry->element[0]->len);
    f->last_id[entry->element[0]->len] = '\0';
    kv = entry->element[1];
    if (kv->type != REDIS_REPLY_ARRAY || kv->elements > CLI_EVENT_FIELDS_MAX) {
        return;
    }
    n = kv->elements;
    for (size_t i = 0; i < n; i++) {
        if (kv->element[i]->type != REDIS_REPLY_STRING) {
            return;
        }
        fields[i] = kv->element[i]->str;
        lens[i] = kv->element[i]->len;
    }
    /* An event this version cannot read is skipped: the report is what counts. */
    if (msg_event_from_fields(fields, lens, n, &ev, NULL) == 0) {
        cli_follow_event(&f->view, &ev);
    }
}

/* XREAD once (blocking when block is true); *got says whether entries came. */
static int read_events(struct follower *f, bool block, bool *got, struct pc_err *err)
{
    const char *argv[] = {"XREAD",      "COUNT",   CLI_READ_COUNT, "BLOCK",
                          CLI_BLOCK_MS, "STREAMS", f->events_key,  f->last_id};
    const char *argv_now[] = {"XREAD",   "COUNT",       CLI_READ_COUNT,
                              "STREAMS", f->events_key, f->last_id};
    size_t lens[8];
    redisReply *rep = NULL;
    int argc = block ? 8 : 6;
    const char **args = block ? argv : argv_now;
    int rc;

    for (int i = 0; i < argc; i++) {
        lens[i] = strlen(args[i]);
    }
    rc = cli_redis_command(f->r, argc, args, lens, &rep, err);
    if (rc != 0) {
        return rc;
    }
    *got = false;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
        rep->element[0]->type == REDIS_REPLY_ARRAY && rep->element[0]->elements == 2) {
        const redisReply *entries = rep->element[0]->element[1];

        for (size_t i = 0; entries->type == REDIS_REPLY_ARRAY && i < entries->elements; i++) {
            apply_entry(f, entries->element[i]);
            *got = true;
        }
    }
    freeReplyObject(rep);
    return 0;
}

/* Registers as a follower (exec_follow) and reads the execution's state
 * into *state; a folded execution's synthesised events after last_id are
 * shown at once. */
static int follow_register(struct follower *f, enum pc_follow_state *state, struct pc_err *err)
{
    const char *argv[3 + PC_EXEC_FOLLOW_NKEYS] = {"EVAL", pc_script_source(PC_SCRIPT_EXEC_FOLLOW),
                                                  "4"};
    size_t lens[3 + PC_EXEC_FOLLOW_NKEYS];
    struct pc_exec_follow fo;
    redisReply *rep = NULL;
    int rc;

    for (int k = 0; k < PC_EXEC_FOLLOW_NKEYS; k++) {
        argv[3 + k] = f->keys[k];
    }
    for (int i = 0; i < 3 + PC_EXEC_FOLLOW_NKEYS; i++) {
        lens[i] = strlen(argv[i]);
    }
    rc = cli_redis_command(f->r, 3 + PC_EXEC_FOLLOW_NKEYS, argv, lens, &rep, err);
    if (rc != 0) {
        return rc;
    }
    rc = pc_exec_follow_parse(rep, &fo, err);
    freeReplyObject(rep);
    if (rc != 0) {
        return rc;
    }
    *state = fo.state;
    for (size_t k = pc_events_fold_after(&fo.fold, f->last_id); k < fo.fold.n; k++) {
        if (pc_events_fold_id(k, f->last_id, sizeof(f->last_id)) < 0) {
            break; /* cannot happen: the id fits */
        }
        cli_follow_event(&f->view, &fo.fold.ev[k]);
    }
    pc_exec_follow_free(&fo);
    return 0;
}

static int reconnect(struct follower *f, struct pc_err *err)
{
    uint64_t deadline = cli_mono_ms() + CLI_RECONNECT_MS;
    unsigned backoff = 100;

    cli_follow_reconnecting(&f->view, err);
    while (cli_mono_ms() < deadline) {
        sleep_ms(backoff);
        if (cli_redis_reconnect(f->r, err) == 0) {
            cli_follow_note(&f->view, "reconnected to Redis");
            return 0;
        }
        backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
    }
    cli_follow_gave_up(&f->view, err, CLI_RECONNECT_MS / 1000);
    return PC_EREDIS;
}

static int follow(struct follower *f, struct pc_err *err)
{
    enum pc_follow_state state = PC_FOLLOW_UNKNOWN;
    bool registered = false;
    bool got = false;
    int rc;

    while (!f->view.saw_outcome) {
        if (interrupts_received > f->interrupts_handled) {
            f->interrupts_handled = interrupts_received;
            request_interrupt(f);
        }
        got = false;
        if (!registered) {
            rc = follow_register(f, &state, err); /* before the first read */
            registered = rc == 0;
        } else {
            rc = read_events(f, true, &got, err);
            if (rc == 0 && !got) {
                cli_follow_tick(&f->view);
                rc = follow_register(f, &state, err);
            }
        }
        if (rc == 0 && !got && state == PC_FOLLOW_UNKNOWN) {
            return pc_err_set(err, PC_ENOTFOUND,
                              "execution %s disappeared (its keys expired or were deleted)",
                              f->view.id);
        }
        if (rc == 0 && !got && state == PC_FOLLOW_FOLDED) {
            break; /* its events, synthesised, were shown */
        }
        if (rc == 0 && !got && state == PC_FOLLOW_FINISHED) {
            /* Everything the worker wrote before finishing is in the stream now. */
            do {
                rc = read_events(f, false, &got, err);
            } while (rc == 0 && got && !f->view.saw_outcome);
            if (rc == 0) {
                break;
            }
        }
        if (rc != 0) {
            if (!cli_redis_broken(f->r)) {
                return rc;
            }
            rc = reconnect(f, err);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

/* The stored states of flow, for the labels given (cli_states_print_fn). */
static void print_states(void *arg, const struct pc_flow *flow, const char *current_label,
                         const char *goal_label)
{
    struct cli_redis *r = arg;
    struct pc_err err;

    pc_err_clear(&err);
    if (current_label != NULL &&
        cli_states_print_text(r, flow->app.s, flow->profile.s, flow->flow.s, PC_STATES_CURRENT,
                              current_label, &err) != 0) {
        (void)fprintf(stderr, "peace: %s\n", err.msg);
    }
    if (goal_label != NULL && cli_states_print_text(r, flow->app.s, flow->profile.s, flow->flow.s,
                                                    PC_STATES_GOAL, goal_label, &err) != 0) {
        (void)fprintf(stderr, "peace: %s\n", err.msg);
    }
}

/* Reads the finished execution's report from its meta hash and prints it. */
static int finish(struct follower *f, enum pc_cmd cmd)
{
    redisReply *meta = NULL;
    struct pc_outcome outcome;
    struct pc_err err;
    int status;

    pc_err_clear(&err);
    cli_follow_end(&f->view);
    if (cli_exec_meta(f->r, f->view.id, &meta, &err) != 0 ||
        cli_exec_outcome(f->r, f->view.id, meta, &outcome, &err) != 0) {
        (void)fprintf(stderr, "peace: execution %s: %s\n", f->view.id, err.msg);
        if (meta != NULL) {
            freeReplyObject(meta);
        }
        return 1;
    }
    freeReplyObject(meta);
    status = cli_follow_report(&f->view, cmd, &outcome, print_states, f->r);
    pc_outcome_cleanup(&outcome);
    return status;
}

/* Follows execution id of cmd on flow to its outcome and reports it; the exit status. */
static int follow_and_report(const struct cli_opts *o, struct cli_redis *r, const char *id,
                             enum pc_cmd cmd, const struct pc_flow *flow, size_t blocks_total)
{
    struct follower f;
    struct signal_guard guard;
    struct pc_err err;
    int status = 1;
    int rc;

    memset(&f, 0, sizeof(f));
    pc_err_clear(&err);
    f.r = r;
    f.events_key = f.keys[2];
    if (pc_exec_follow_keys(f.keys, cli_redis_prefix(r), id) != 0) {
        (void)fprintf(stderr, "peace: execution id %s makes no key\n", id);
        return 1;
    }
    if (cli_follow_init(&f.view, o, id, flow, blocks_total) != 0) {
        (void)fprintf(stderr, "peace: out of memory\n");
        goto out;
    }
    memcpy(f.last_id, "0-0", 4);
    signals_install(&guard);
    rc = follow(&f, &err);
    signals_restore(&guard);
    if (rc != 0) {
        cli_follow_end(&f.view);
        (void)fprintf(stderr, "peace: %s\n", err.msg);
        goto out;
    }
    status = finish(&f, cmd);
out:
    cli_follow_cleanup(&f.view);
    return status;
}

/* ------------------------------------------------------------------------ */
/* run                                                                        */
/* ------------------------------------------------------------------------ */

/*
 * HSET meta, ZADD index, XADD job, SET kept job: pipelined, in this order. The consumer
 * group is created first (from the stream's start, BUSYGROUP = it exists):
 * a group created later by a worker at `$` would never deliver jobs queued
 * before the first worker ever connected.
 */
static int submit(struct cli_redis *r, unsigned partitions, const struct msg_job *job,
                  const struct pc_buf *job_bytes, size_t blocks_total, struct pc_err *err)
{
    const char *prefix = cli_redis_prefix(r);
    char queue_key[PC_KEY_MAX];
    struct pc_redis_args a[PC_SUBMIT_CMDS];
    redisReply *rep = NULL;
    int first_error = 0;
    int rc = 0;

    if (pc_key_queue_part(queue_key, sizeof(queue_key), prefix, job->queue.s,
                          pc_queue_partition_of(job->id, partitions), partitions) < 0) {
        return pc_err_set(err, PC_EINVAL, "cannot build the key names");
    }
    if (pc_submit_args(prefix, partitions, job, job_bytes->data, job_bytes->len, blocks_total, a) !=
        0) {
        for (size_t k = 0; k < PC_SUBMIT_CMDS; k++) {
            pc_redis_args_cleanup(&a[k]);
        }
        return pc_err_set(err, PC_EINVAL, "cannot build the submit commands");
    }
    {
        const char *group[] = {"XGROUP", "CREATE", queue_key, "workers", "0", "MKSTREAM"};
        size_t group_lens[6];

        for (size_t i = 0; i < 6; i++) {
            group_lens[i] = strlen(group[i]);
        }
        rc = cli_redis_append(r, 6, group, group_lens, err);
        for (size_t k = 0; rc == 0 && k < PC_SUBMIT_CMDS; k++) {
            const char *argv[32];

            if (a[k].n > sizeof(argv) / sizeof(argv[0])) {
                rc = pc_err_set(err, PC_EINTERNAL, "submit: %zu arguments", a[k].n);
                break;
            }
            pc_redis_args_argv(&a[k], argv);
            rc = cli_redis_append(r, (int)a[k].n, argv, a[k].lens, err);
        }
        for (size_t k = 0; k < PC_SUBMIT_CMDS; k++) {
            pc_redis_args_cleanup(&a[k]);
        }
    }
    /* Every reply is taken, so the connection stays in step; the first error wins. */
    for (int i = 0; rc == 0 && i < 1 + PC_SUBMIT_CMDS; i++) {
        int reply_rc = cli_redis_get_reply(r, &rep, err);

        if (reply_rc != 0) {
            return reply_rc; /* connection lost: no further reply will come */
        }
        if (rep->type == REDIS_REPLY_ERROR && !(i == 0 && strncmp(rep->str, "BUSYGROUP", 9) == 0) &&
            first_error == 0) {
            first_error = pc_err_set(err, PC_EREDIS, "submitting: %.*s",
                                     (int)(rep->len < 200 ? rep->len : 200), rep->str);
        }
        freeReplyObject(rep);
        rep = NULL;
    }
    if (rc == 0) {
        rc = first_error;
    }
    return rc;
}

int cli_redis_run(const struct cli_opts *o)
{
    struct cli_redis *r = NULL;
    struct msg_job job;
    struct pc_buf job_bytes;
    struct pc_ulid_gen gen;
    enum pc_block_kind blocks[PC_BLOCKS_MAX];
    size_t blocks_total;
    struct pc_err err;
    int status = 1;

    memset(&job, 0, sizeof(job));
    pc_buf_init(&job_bytes, MSG_JOB_MAX);
    pc_err_clear(&err);
    /* Validate everything local before touching Redis: a bad flow is never queued. */
    if (pc_flow_load_file(o->args[0], &job.flow, &err) != 0) {
        (void)fprintf(stderr, "peace: %s\n", err.msg);
        goto out;
    }
    if (pc_id_set(&job.queue, o->queue, strlen(o->queue), "queue", &err) != 0) {
        (void)fprintf(stderr, "peace: --queue: %s\n", err.msg);
        goto out;
    }
    pc_ulid_gen_init(&gen, NULL, NULL, NULL, NULL);
    if (pc_ulid_next(&gen, job.id, &err) != 0) {
        (void)fprintf(stderr, "peace: cannot make an execution id: %s\n", err.msg);
        goto out;
    }
    job.cmd = o->cmd;
    job.sync = o->sync;
    job.keep_obsolete = o->keep_obsolete;
    job.diff_current_discovered = o->diff_current_discovered;
    job.diff_goal_discovered = o->diff_goal_discovered;
    job.no_save = o->no_save;
    job.strategy = o->strategy;
    job.created_ms = pc_ulid_time_ms(job.id, PC_ULID_LEN);
    pc_submit_colocate_id(job.id, job.flow.app.s, job.flow.profile.s);
    if (msg_job_encode(&job, &job_bytes, &err) != 0) {
        (void)fprintf(stderr, "peace: %s: %s\n", o->args[0], err.msg);
        goto out;
    }
    blocks_total = pc_cmd_blocks(o->cmd, o->sync, blocks);
    if (cli_redis_connect(o->redis_url, o->prefix, &r, &err) != 0 ||
        submit(r, o->partitions, &job, &job_bytes, blocks_total, &err) != 0) {
        (void)fprintf(stderr, "peace: %s\n", err.msg);
        goto out;
    }
    if (cli_print_submitted(o, job.id, &job.flow, job.queue.s)) {
        status = 0;
        goto out;
    }
    status = follow_and_report(o, r, job.id, o->cmd, &job.flow, blocks_total);
out:
    pc_buf_cleanup(&job_bytes);
    msg_job_cleanup(&job);
    cli_redis_destroy(r);
    return status;
}

/* ------------------------------------------------------------------------ */
/* watch                                                                      */
/* ------------------------------------------------------------------------ */

/*
 * The flow of an execution, for the names and order of its bars: from its
 * job, still in the queue stream while it is queued or running (entries are
 * at most a few minutes older than created_ms), scanning a bounded number of
 * entries. PC_ENOTFOUND when the entry is gone.
 */
static int flow_from_queue(struct cli_redis *r, unsigned partitions, const char *id,
                           const redisReply *meta, struct pc_flow *out, struct pc_err *err)
{
    char queue[PC_ID_MAX + 1];
    char created[24];
    char key[PC_KEY_MAX];
    char start[64];
    char *end = NULL;
    unsigned long long created_ms;
    size_t scanned = 0;
    bool exclusive = false;
    int rc;

    cli_meta_get(meta, "queue", queue, sizeof(queue));
    cli_meta_get(meta, "created_ms", created, sizeof(created));
    created_ms = strtoull(created, &end, 10);
    if (queue[0] == '\0' || created[0] == '\0' || *end != '\0' ||
        pc_key_queue_part(key, sizeof(key), cli_redis_prefix(r), queue,
                          pc_queue_partition_of(id, partitions), partitions) < 0) {
        return PC_ENOTFOUND;
    }
    (void)snprintf(start, sizeof(start), "%llu-0",
                   created_ms > CLI_JOB_SCAN_SLACK_MS ? created_ms - CLI_JOB_SCAN_SLACK_MS : 0);
    while (scanned < CLI_JOB_SCAN_MAX) {
        redisReply *rep = NULL;
        char range_start[66];

        (void)snprintf(range_start, sizeof(range_start), "%s%s", exclusive ? "(" : "", start);
        rc = cli_redis_cmd(r, &rep, err, "XRANGE", key, range_start, "+", "COUNT",
                           CLI_JOB_SCAN_PAGE, (char *)NULL);
        if (rc != 0) {
            return rc;
        }
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0) {
            freeReplyObject(rep);
            return PC_ENOTFOUND;
        }
        for (size_t i = 0; i < rep->elements; i++) {
            const redisReply *e = rep->element[i];
            const redisReply *exec;
            const redisReply *job_field;
            struct msg_job job;

            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
                e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len >= sizeof(start)) {
                continue;
            }
            memcpy(start, e->element[0]->str, e->element[0]->len);
            start[e->element[0]->len] = '\0';
            exec = cli_reply_field(e->element[1], "exec");
            job_field = cli_reply_field(e->element[1], "job");
            if (exec == NULL || exec->type != REDIS_REPLY_STRING || exec->len != strlen(id) ||
                memcmp(exec->str, id, exec->len) != 0 || job_field == NULL ||
                job_field->type != REDIS_REPLY_STRING) {
                continue;
            }
            rc = msg_job_decode(job_field->str, job_field->len, &job, NULL);
            freeReplyObject(rep);
            if (rc != 0) {
                return PC_ENOTFOUND; /* a rejected job: its bars come from the progress hash */
            }
            *out = job.flow;
            memset(&job.flow, 0, sizeof(job.flow));
            msg_job_cleanup(&job);
            return 0;
        }
        scanned += rep->elements;
        exclusive = true;
        freeReplyObject(rep);
    }
    return PC_ENOTFOUND;
}

/* The item ids named by the progress hash, in its order (an approximation of the flow). */
static int flow_from_progress(struct cli_redis *r, const char *id, const redisReply *meta,
                              struct pc_flow *out, struct pc_err *err)
{
    char key[PC_KEY_MAX];
    char name[PC_ID_MAX + 1];
    redisReply *rep = NULL;
    struct pc_progress_view view;
    struct pc_flow f;
    int rc;

    memset(&f, 0, sizeof(f));
    if (pc_key_progress(key, sizeof(key), cli_redis_prefix(r), id) < 0) {
        return PC_EINVAL;
    }
    rc = cli_redis_cmd(r, &rep, err, "HGETALL", key, (char *)NULL);
    if (rc != 0) {
        return rc;
    }
    if (cli_progress_view(rep, &view) != 0 ||
        (f.items = calloc(view.n + 1, sizeof(*f.items))) == NULL) {
        pc_progress_view_free(&view);
        freeReplyObject(rep);
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < view.n; i++) {
        cli_flow_add_item(&f, view.items[i].id, view.items[i].id_len);
    }
    pc_progress_view_free(&view);
    freeReplyObject(rep);
    cli_meta_get(meta, "app", name, sizeof(name));
    memcpy(f.app.s, name, sizeof(name));
    cli_meta_get(meta, "profile", name, sizeof(name));
    memcpy(f.profile.s, name, sizeof(name));
    cli_meta_get(meta, "flow", name, sizeof(name));
    memcpy(f.flow.s, name, sizeof(name));
    *out = f;
    return 0;
}

int cli_redis_watch(const struct cli_opts *o)
{
    struct cli_redis *r = NULL;
    redisReply *meta = NULL;
    struct pc_flow flow;
    char text[64];
    enum pc_cmd cmd;
    struct pc_err err;
    char *end = NULL;
    size_t blocks_total;
    int status = 1;
    int rc;

    memset(&flow, 0, sizeof(flow));
    pc_err_clear(&err);
    if (cli_args_watch(o) != 0) {
        goto out;
    }
    if (cli_redis_connect(o->redis_url, o->prefix, &r, &err) != 0 ||
        cli_exec_meta(r, o->args[0], &meta, &err) != 0) {
        (void)fprintf(stderr, "peace: %s\n", err.msg);
        goto out;
    }
    cli_meta_get(meta, "cmd", text, sizeof(text));
    if (pc_cmd_parse(text, strlen(text), &cmd, &err) != 0) {
        (void)fprintf(stderr, "peace: execution %s: %s\n", o->args[0], err.msg);
        goto out;
    }
    rc = flow_from_queue(r, o->partitions, o->args[0], meta, &flow, &err);
    if (rc == PC_ENOTFOUND) {
        rc = flow_from_progress(r, o->args[0], meta, &flow, &err);
    }
    if (rc != 0) {
        (void)fprintf(stderr, "peace: %s\n", err.msg);
        goto out;
    }
    cli_meta_get(meta, "blocks_total", text, sizeof(text));
    blocks_total = (size_t)strtoull(text, &end, 10);
    cli_print_watching(o, cmd, &flow, o->args[0]);
    status = follow_and_report(o, r, o->args[0], cmd, &flow, blocks_total);
out:
    pc_flow_cleanup(&flow);
    if (meta != NULL) {
        freeReplyObject(meta);
    }
    cli_redis_destroy(r);
    return status;
}

/* ------------------------------------------------------------------------ */
/* events                                                                    */

/* Prints one line (bytes (p, n); a line break in a value shows as a space). */
static void print_line(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        (void)putchar(p[i] == '\n' || p[i] == '\r' ? ' ' : p[i]);
    }
    (void)putchar('\n');
}

/* The events recorded so far, the way a follower reads them (registered,
 * then the stream, or the synthesised events of a folded execution): one
 * line per id, field and value, as `redis-cli XRANGE` prints an entry. */
int cli_redis_events(const struct cli_opts *o)
{
    struct follower f;
    struct pc_exec_follow fo;
    redisReply *rep = NULL;
    struct pc_err err;
    const char *argv[3 + PC_EXEC_FOLLOW_NKEYS] = {"EVAL", pc_script_source(PC_SCRIPT_EXEC_FOLLOW),
                                                  "4"};
    size_t lens[3 + PC_EXEC_FOLLOW_NKEYS];
    int status = 1;

    memset(&f, 0, sizeof(f));
    memset(&fo, 0, sizeof(fo));
    pc_err_clear(&err);
    if (cli_args_one_id(o, "events") != 0) {
        return 1;
    }
    if (cli_redis_connect(o->redis_url, o->prefix, &f.r, &err) != 0 ||
        pc_exec_follow_keys(f.keys, cli_redis_prefix(f.r), o->args[0]) != 0) {
        goto fail;
    }
    for (int k = 0; k < PC_EXEC_FOLLOW_NKEYS; k++) {
        argv[3 + k] = f.keys[k];
    }
    for (int i = 0; i < 3 + PC_EXEC_FOLLOW_NKEYS; i++) {
        lens[i] = strlen(argv[i]);
    }
    if (cli_redis_command(f.r, 3 + PC_EXEC_FOLLOW_NKEYS, argv, lens, &rep, &err) != 0 ||
        pc_exec_follow_parse(rep, &fo, &err) != 0) {
        goto fail;
    }
    freeReplyObject(rep);
    rep = NULL;
    if (fo.state == PC_FOLLOW_UNKNOWN) {
        (void)pc_err_set(&err, PC_ENOTFOUND, "no execution %s", o->args[0]);
        goto fail;
    }
    for (size_t k = 0; k < fo.fold.n; k++) {
        struct msg_event_fields ef;
        char id[PC_EVENTS_FOLD_ID_MAX];

        if (pc_events_fold_id(k, id, sizeof(id)) < 0 ||
            msg_event_to_fields(&fo.fold.ev[k], &ef, NULL) != 0) {
            continue;
        }
        print_line(id, strlen(id));
        for (size_t i = 0; i < ef.n; i++) {
            print_line(ef.argv[i], ef.argvlen[i]);
        }
    }
    if (fo.state != PC_FOLLOW_FOLDED) {
        if (cli_redis_cmd(f.r, &rep, &err, "XRANGE", f.keys[2], "-", "+", (char *)NULL) != 0) {
            goto fail;
        }
        for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
            const redisReply *e = rep->element[i];

            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
                e->element[0]->type != REDIS_REPLY_STRING ||
                e->element[1]->type != REDIS_REPLY_ARRAY) {
                continue;
            }
            print_line(e->element[0]->str, e->element[0]->len);
            for (size_t j = 0; j < e->element[1]->elements; j++) {
                const redisReply *v = e->element[1]->element[j];

                print_line(v->type == REDIS_REPLY_STRING ? v->str : "",
                           v->type == REDIS_REPLY_STRING ? v->len : 0);
            }
        }
    }
    status = 0;
    goto out;
fail:
    (void)fprintf(stderr, "peace: %s\n", err.msg);
out:
    if (rep != NULL) {
        freeReplyObject(rep);
    }
    pc_exec_follow_free(&fo);
    cli_redis_destroy(f.r);
    return status;
}
