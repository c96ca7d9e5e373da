/*
 * cli.h - the `peace` command-line tool: options shared by its subcommands.
 */
#ifndef PEACE_CLI_H
#define PEACE_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "peace/cmd.h"
#include "peace/interrupt.h"

#define CLI_PLUGINS_MAX 16

struct cli_opts {
    const char *subcommand;
    const char *args[8]; /* positional arguments after the subcommand */
    size_t n_args;
    bool local;
    bool json;
    bool detach;
    bool progress;                /* false with --no-progress */
    bool keep_obsolete;           /* --keep-obsolete: leave items removed from the flow */
    bool diff_current_discovered; /* --current discovered */
    bool diff_goal_discovered;    /* --goal discovered */
    bool no_save;                 /* --no-save (discover) */
    enum pc_cmd cmd;
    enum pc_sync sync;
    struct pc_strategy strategy;
    const char *workdir; /* --workdir (local runner): where .peace/ and relative paths live */
    const char *redis_url;
    const char *server_url;
    const char *prefix;
    const char *queue;
    unsigned partitions; /* --partitions (peace/keys.h); default 1 */
    const char *token;
    const char *token_file;     /* --token-file */
    const char *redis_url_file; /* --redis-url-file */
    const char *reason;
    enum pc_interrupt_mode mode; /* interrupt --mode (default finish) */
    bool has_deadline;           /* interrupt --deadline-ms given */
    uint64_t deadline_ms;
    bool wait; /* interrupt --wait: until the outcome, then the receipt */
    const char *plugins[CLI_PLUGINS_MAX];
    size_t n_plugins;
    size_t limit; /* --limit of `list`, `dead`; 0 = the default */
    /* run --local --listen HOST:PORT: serve the dashboard and the API of this run */
    const char *listen;
    const char *read_token;      /* --read-token (PEACE_READ_TOKEN): GET only */
    const char *interrupt_token; /* --interrupt-token (PEACE_INTERRUPT_TOKEN): GET + interrupt */
    bool no_auth;                /* --no-auth: no token (loopback --listen only) */
    bool has_exit_after;         /* --exit-after-s given */
    unsigned exit_after_s;       /* stop serving this long after the outcome */
    const char *cursor;          /* --cursor of `dead`: the next_cursor of a previous page */
};

/* `peace run FLOW.json --local`: runs in-process; returns the exit status. */
int cli_local_run(const struct cli_opts *o);

/*
 * The fleet through Redis (--redis URL, the default when neither --local nor
 * --server is given). Each returns the exit status and prints a one-line
 * reason on stderr when it fails.
 */
/* `peace run FLOW.json`: validate, submit, follow to the outcome (or --detach). */
int cli_redis_run(const struct cli_opts *o);
/* `peace watch ID`: follow an execution from the start of its events. */
int cli_redis_watch(const struct cli_opts *o);
/* peace events ID: the events as a follower reads them (events_fold.h). */
int cli_redis_events(const struct cli_opts *o);
/* `peace status ID`: meta, per-item progress and the report when finished. */
int cli_redis_status(const struct cli_opts *o);
/* `peace interrupt ID [--reason R] [--mode M] [--deadline-ms N] [--wait]`: exit
 * 1 for an unknown id; with --wait, the outcome's exit status (CONTRACT §7). */
int cli_redis_interrupt(const struct cli_opts *o);
/* `peace list [--limit N]`: newest first. */
int cli_redis_list(const struct cli_opts *o);
/* `peace states APP PROFILE FLOW`: stored current and goal states. */
int cli_redis_states(const struct cli_opts *o);
/* `peace report ID`: the outcome report of a finished execution. */
int cli_redis_report(const struct cli_opts *o);

/*
 * The same subcommands as a REST client of peace-scheduler (--server URL /
 * PEACE_SERVER_URL, --token / PEACE_TOKEN), with the same output and exit
 * statuses as their Redis counterparts.
 */
int cli_server_run(const struct cli_opts *o);
int cli_server_watch(const struct cli_opts *o);
int cli_server_events(const struct cli_opts *o);
int cli_server_status(const struct cli_opts *o);
int cli_server_interrupt(const struct cli_opts *o);
int cli_server_list(const struct cli_opts *o);
int cli_server_states(const struct cli_opts *o);
int cli_server_report(const struct cli_opts *o);

/*
 * The operations views (peace/fleet_ops.h), through Redis or a scheduler:
 * `peace workers`, `peace queues`, `peace dead [--limit N] [--cursor C]`,
 * `peace dead retry ENTRY`, `peace rerun ID`. A table, or with --json the
 * API's JSON. Exit 0, or 1 with a one-line reason.
 */
int cli_ops_workers(const struct cli_opts *o);
int cli_ops_queues(const struct cli_opts *o);
int cli_ops_dead(const struct cli_opts *o);
int cli_ops_rerun(const struct cli_opts *o);

#endif
