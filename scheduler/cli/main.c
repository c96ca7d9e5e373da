/*
 * main.c - `peace`: runs a flow with live progress bars and reports outcomes.
 *
 * This file parses flags (every flag has an environment fallback where
 * CONTRACT §1 names one) and dispatches to a subcommand. Bad flags exit 1
 * with a one-line reason.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "local_history.h"
#include "peace/err.h"
#include "peace/flow.h"
#include "peace/keys.h"
#include "peace/secret.h"
#include "sched_argv.h"

#define PEACE_VERSION "0.1.0"

/* The options of `peace run`, in `peace --help` and `peace run --help`. */
#define RUN_OPTIONS                                                                                \
    "  --local              run in this process; states under "                                    \
    "<workdir>/.peace/<app>/<profile>/<flow>/\n"                                                   \
    "  --cmd C              discover, discover_current, discover_goal, read_current, read_goal,\n" \
    "                       diff, ensure (default), ensure_dry, clean, clean_dry\n"                \
    "  --strategy S         finish_current (default), poll_next_n:N, ignore\n"                     \
    "  --sync X             apply_stored_state_sync: both (default), current, goal, none\n"        \
    "  --keep-obsolete      leave items removed from the flow (stored, no longer in it)\n"         \
    "                       instead of cleaning them (ensure, clean)\n"                            \
    "  --current X, --goal X  diff: each side stored (default) or discovered (not saved)\n"        \
    "  --no-save            discover without saving the discovered states\n"                       \
    "  --workdir DIR        working directory of a local run (default: current directory)\n"       \
    "  --plugin PATH.so     load custom item types (repeatable)\n"                                 \
    "  --json               print the outcome report as JSON\n"                                    \
    "  --no-progress        no progress bars\n"                                                    \
    "  --redis URL          the fleet's Redis (PEACE_REDIS_URL, default redis://127.0.0.1:6379)\n" \
    "  --prefix P           key prefix (PEACE_PREFIX, default peace)\n"                            \
    "  --queue Q            queue (PEACE_QUEUE, default default)\n"                                \
    "  --partitions P       the queue's partitions, 1..64, as the workers'\n"                      \
    "                       (PEACE_QUEUE_PARTITIONS, default 1)\n"                                 \
    "  --detach             print the execution id and exit once it is queued\n"                   \
    "  --server URL         talk to peace-scheduler at http://HOST:PORT instead of Redis\n"        \
    "                       (PEACE_SERVER_URL)\n"                                                  \
    "  --token T            the scheduler's bearer token (PEACE_TOKEN)\n"                          \
    "  --token-file F       the token from a file (PEACE_TOKEN_FILE): flags show in ps\n"          \
    "  --redis-url-file F   the Redis URL (with its password) from a file\n"                       \
    "                       (PEACE_REDIS_URL_FILE)\n"                                              \
    "  --listen HOST:PORT   with --local: serve this run's dashboard and HTTP API (read,\n"        \
    "                       events, interrupt) there; prints the URL; keeps serving after\n"       \
    "                       the outcome until Ctrl-C (or --exit-after-s)\n"                        \
    "  --token T            with --listen: the token of every scope (PEACE_TOKEN); none\n"         \
    "                       given: one is generated and printed in the URL (#token=)\n"            \
    "  --read-token T       with --listen: a token for GET only (PEACE_READ_TOKEN)\n"              \
    "  --interrupt-token T  with --listen: GET and interrupt (PEACE_INTERRUPT_TOKEN)\n"            \
    "  --no-auth            with --listen on a loopback address: no token at all\n"                \
    "  --exit-after-s N     with --listen: exit N seconds after the outcome\n"

static const char run_usage[] =
    "usage: peace run FLOW.json [options]\n"
    "\n"
    "Runs a flow's command (on the fleet, or in this process with --local) and follows it\n"
    "with one progress bar per item (status, units, message, elapsed), then prints the\n"
    "outcome report. Ctrl-C interrupts it.\n"
    "\n"
    "options:\n" RUN_OPTIONS "\n"
    "The bars fit the terminal's width (messages are cut, never wrapped). With TERM=dumb or\n"
    "when stdout is not a terminal, one line per status change instead. NO_COLOR turns\n"
    "colour off; a locale that is not UTF-8 (LC_ALL, LC_CTYPE, LANG) gets ASCII only.\n"
    "\n"
    "exit status: 0 complete, 2 interrupted, 1 otherwise\n";

static const char usage[] =
    "usage: peace <command> [options]\n"
    "\n"
    "commands:\n"
    "  run FLOW.json        run a flow with live progress; Ctrl-C interrupts it\n"
    "  status ID            an execution's meta, per-item progress and report\n"
    "  watch ID             follow an execution from its start, to its outcome\n"
    "  events ID            the events so far, as a follower reads them (--redis)\n"
    "  interrupt ID         interrupt an execution (--reason R, --mode finish|cancel|kill,\n"
    "                       --deadline-ms N: a cancel becomes a kill after N ms, default\n"
    "                       10000; --wait: wait for the outcome and print the receipt)\n"
    "  list                 executions, newest first (--limit N, default 20)\n"
    "  states APP PROFILE FLOW  stored current and goal states\n"
    "  report ID            the outcome report of a finished execution\n"
    "  list --local, report ID --local, status ID --local\n"
    "                       the reports local runs kept under .peace/\n"
    "  workers              live workers: host, pid, version, executions running, last seen\n"
    "  queues               queues: length, pending, live workers, oldest job; dead letters\n"
    "  dead                 dead-lettered jobs, newest first (--limit N, --cursor C)\n"
    "  dead retry ENTRY     queue a dead letter's job again, as a new execution (once)\n"
    "  rerun ID             queue an execution's command and flow again, as a new one\n"
    "  --help, --version\n"
    "\n"
    "run options:\n" RUN_OPTIONS "\n"
    "Without --local, run and the other commands talk to the fleet's Redis, or\n"
    "to a scheduler with --server;\n"
    "--json gives machine-readable output for each.\n"
    "\n"
    "exit status: 0 complete, 2 interrupted, 1 otherwise\n";

static int bad(const char *fmt, const char *a) PC_PRINTF(1, 0);

/* One line on stderr and exit status 1, for any bad flag or argument. */
static int bad(const char *fmt, const char *a)
{
    char line[512];

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    (void)snprintf(line, sizeof(line), fmt, a);
#pragma GCC diagnostic pop
    (void)fprintf(stderr, "peace: %s (see peace --help)\n", line);
    return 1;
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);

    return v != NULL && v[0] != '\0' ? v : fallback;
}

static int parse_flag(int argc, char **argv, int *i, struct cli_opts *o)
{
    static const char *const value_flags[] = {
        "--cmd",          "--strategy",  "--sync",    "--workdir",    "--redis",
        "--server",       "--prefix",    "--queue",   "--token",      "--reason",
        "--plugin",       "--limit",     "--current", "--goal",       "--mode",
        "--deadline-ms",  "--cursor",    "--listen",  "--read-token", "--interrupt-token",
        "--exit-after-s", "--partitions"};
    const char *a = argv[*i];
    const char *v = NULL;
    struct pc_err err;

    /* The secrets' files (resolved with the values in resolve_secrets). */
    for (int k = 0; k < 2; k++) {
        static const char *const file_flags[2] = {"--token-file", "--redis-url-file"};
        int r = sched_argv_value(argc, argv, i, file_flags[k], &v);

        if (r < 0) {
            return bad("%s needs a value", file_flags[k]);
        }
        if (r > 0) {
            *(k == 0 ? &o->token_file : &o->redis_url_file) = v;
            return 0;
        }
    }
    if (strcmp(a, "--local") == 0) {
        o->local = true;
        return 0;
    }
    if (strcmp(a, "--json") == 0) {
        o->json = true;
        return 0;
    }
    if (strcmp(a, "--detach") == 0) {
        o->detach = true;
        return 0;
    }
    if (strcmp(a, "--no-progress") == 0) {
        o->progress = false;
        return 0;
    }
    if (strcmp(a, "--keep-obsolete") == 0) {
        o->keep_obsolete = true;
        return 0;
    }
    if (strcmp(a, "--no-save") == 0) {
        o->no_save = true;
        return 0;
    }
    if (strcmp(a, "--wait") == 0) {
        o->wait = true;
        return 0;
    }
    if (strcmp(a, "--no-auth") == 0) {
        o->no_auth = true;
        return 0;
    }
    for (size_t k = 0; k < sizeof(value_flags) / sizeof(value_flags[0]); k++) {
        int r = sched_argv_value(argc, argv, i, value_flags[k], &v);

        if (r < 0) {
            return bad("%s needs a value", value_flags[k]);
        }
        if (r == 0) {
            continue;
        }
        switch (k) {
        case 0:
            if (pc_cmd_parse(v, strlen(v), &o->cmd, &err) != 0) {
                return bad("%s", err.msg);
            }
            return 0;
        case 1:
            if (pc_strategy_parse(v, strlen(v), &o->strategy, &err) != 0) {
                return bad("%s", err.msg);
            }
            return 0;
        case 2:
            if (pc_sync_parse(v, strlen(v), &o->sync, &err) != 0) {
                return bad("%s", err.msg);
            }
            return 0;
        case 3:
            o->workdir = v;
            return 0;
        case 4:
            o->redis_url = v;
            return 0;
        case 5:
            o->server_url = v;
            return 0;
        case 6:
            o->prefix = v;
            return 0;
        case 7:
            o->queue = v;
            return 0;
        case 8:
            o->token = v;
            return 0;
        case 9:
            o->reason = v;
            return 0;
        case 14:
            if (pc_interrupt_mode_parse(v, strlen(v), &o->mode, &err) != 0) {
                return bad("--mode: %s", err.msg);
            }
            return 0;
        case 15: {
            char *end = NULL;
            unsigned long long n = strtoull(v, &end, 10);

            if (v[0] < '0' || v[0] > '9' || end == NULL || *end != '\0' ||
                n > PC_INTERRUPT_DEADLINE_MAX_MS) {
                return bad("--deadline-ms %s: give milliseconds 0..86400000", v);
            }
            o->has_deadline = true;
            o->deadline_ms = n;
            return 0;
        }
        case 21:
            if (pc_partitions_parse(v, &o->partitions, &err) != 0) {
                return bad("--partitions: %s", err.msg);
            }
            return 0;
        case 11: {
            char *end = NULL;
            unsigned long long n = strtoull(v, &end, 10);

            if (v[0] < '0' || v[0] > '9' || end == NULL || *end != '\0' || n == 0 || n > 10000) {
                return bad("--limit %s: give a number 1..10000", v);
            }
            o->limit = (size_t)n;
            return 0;
        }
        case 12:
        case 13: {
            bool discovered = strcmp(v, "discovered") == 0;

            if (!discovered && strcmp(v, "stored") != 0) {
                return bad(k == 12 ? "--current %s: give stored or discovered"
                                   : "--goal %s: give stored or discovered",
                           v);
            }
            if (k == 12) {
                o->diff_current_discovered = discovered;
            } else {
                o->diff_goal_discovered = discovered;
            }
            return 0;
        }
        case 16:
            o->cursor = v;
            return 0;
        case 17:
            o->listen = v;
            return 0;
        case 18:
            o->read_token = v;
            return 0;
        case 19:
            o->interrupt_token = v;
            return 0;
        case 20: {
            char *end = NULL;
            unsigned long long n = strtoull(v, &end, 10);

            if (v[0] < '0' || v[0] > '9' || end == NULL || *end != '\0' || n > 86400) {
                return bad("--exit-after-s %s: give seconds 0..86400", v);
            }
            o->has_exit_after = true;
            o->exit_after_s = (unsigned)n;
            return 0;
        }
        case 10:
            if (o->n_plugins == CLI_PLUGINS_MAX) {
                return bad("%s", "too many --plugin flags");
            }
            o->plugins[o->n_plugins++] = v;
            return 0;
        }
    }
    return bad("unknown option %s", a);
}

/* The fleet subcommands, through Redis or through a scheduler (--server). */
static int dispatch_fleet(const struct cli_opts *o)
{
    static const struct {
        const char *name;
        int (*redis)(const struct cli_opts *o);
        int (*server)(const struct cli_opts *o);
    } cmds[] = {
        {"run", cli_redis_run, cli_server_run},
        {"watch", cli_redis_watch, cli_server_watch},
        {"events", cli_redis_events, cli_server_events},
        {"status", cli_redis_status, cli_server_status},
        {"interrupt", cli_redis_interrupt, cli_server_interrupt},
        {"list", cli_redis_list, cli_server_list},
        {"states", cli_redis_states, cli_server_states},
        {"report", cli_redis_report, cli_server_report},
        {"workers", cli_ops_workers, cli_ops_workers},
        {"queues", cli_ops_queues, cli_ops_queues},
        {"dead", cli_ops_dead, cli_ops_dead},
        {"rerun", cli_ops_rerun, cli_ops_rerun},
    };

    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        if (strcmp(o->subcommand, cmds[i].name) == 0) {
            return o->server_url != NULL ? cmds[i].server(o) : cmds[i].redis(o);
        }
    }
    return bad("unknown command %s", o->subcommand);
}

/*
 * The token and the Redis URL: flag, flag file, variable, variable file
 * (peace/secret.h). The values land in the caller's buffers.
 */
static int resolve_secrets(struct cli_opts *o, char *token, size_t token_size, char *url,
                           size_t url_size)
{
    struct pc_secret_src src;
    struct pc_err err;
    bool found = false;

    memset(&src, 0, sizeof(src));
    src.flag = "--token";
    src.file_flag = "--token-file";
    src.env = "PEACE_TOKEN";
    src.env_file_var = "PEACE_TOKEN_FILE";
    src.value = o->token;
    src.file = o->token_file;
    src.env_value = getenv("PEACE_TOKEN");
    src.env_file = getenv("PEACE_TOKEN_FILE");
    pc_err_clear(&err);
    if (pc_secret_get(&src, token, token_size, NULL, &found, &err) != 0) {
        return bad("%s", err.msg);
    }
    o->token = found ? token : NULL;
    memset(&src, 0, sizeof(src));
    src.flag = "--redis";
    src.file_flag = "--redis-url-file";
    src.env = "PEACE_REDIS_URL";
    src.env_file_var = "PEACE_REDIS_URL_FILE";
    src.value = o->redis_url;
    src.file = o->redis_url_file;
    src.env_value = getenv("PEACE_REDIS_URL");
    src.env_file = getenv("PEACE_REDIS_URL_FILE");
    if (pc_secret_get(&src, url, url_size, NULL, &found, &err) != 0) {
        return bad("%s", err.msg);
    }
    o->redis_url = found ? url : "redis://127.0.0.1:6379";
    return 0;
}

int main(int argc, char **argv)
{
    static char token[PC_SECRET_FILE_MAX + 1];
    static char redis_url[PC_SECRET_FILE_MAX + 1];
    struct cli_opts o;

    pc_json_abort_on_oom(); /* see flow.h */
    /* A peer closing a socket (http_download) must be an error, not death. */
    (void)signal(SIGPIPE, SIG_IGN);
    memset(&o, 0, sizeof(o));
    o.cmd = PC_CMD_ENSURE;
    o.sync = PC_SYNC_BOTH;
    o.strategy.kind = PC_STRATEGY_FINISH_CURRENT;
    o.progress = true;
    o.redis_url = NULL;
    o.prefix = env_or("PEACE_PREFIX", "peace");
    o.queue = env_or("PEACE_QUEUE", "default");
    o.partitions = 1;
    if (env_or("PEACE_QUEUE_PARTITIONS", NULL) != NULL) {
        struct pc_err err;

        if (pc_partitions_parse(getenv("PEACE_QUEUE_PARTITIONS"), &o.partitions, &err) != 0) {
            return bad("PEACE_QUEUE_PARTITIONS: %s", err.msg);
        }
    }
    o.token = NULL;
    o.server_url = env_or("PEACE_SERVER_URL", NULL);

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            /* `peace run --help` is the run command's help. */
            bool run = o.subcommand != NULL && strcmp(o.subcommand, "run") == 0;

            (void)fputs(run ? run_usage : usage, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            (void)printf("peace %s\n", PEACE_VERSION);
            return 0;
        }
        if (strncmp(argv[i], "--", 2) == 0) {
            if (parse_flag(argc, argv, &i, &o) != 0) {
                return 1;
            }
        } else if (o.subcommand == NULL) {
            o.subcommand = argv[i];
        } else if (o.n_args < sizeof(o.args) / sizeof(o.args[0])) {
            o.args[o.n_args++] = argv[i];
        } else {
            return bad("too many arguments at %s", argv[i]);
        }
    }
    if (o.subcommand == NULL) {
        (void)fputs(usage, stderr);
        return 1;
    }
    if (resolve_secrets(&o, token, sizeof(token), redis_url, sizeof(redis_url)) != 0) {
        return 1;
    }
    if (strcmp(o.subcommand, "run") == 0) {
        if (o.n_args != 1) {
            return bad("%s", "run needs exactly one FLOW.json");
        }
        if (o.local) {
            return cli_local_run(&o);
        }
        if (o.listen != NULL || o.has_exit_after || o.no_auth || o.read_token != NULL ||
            o.interrupt_token != NULL) {
            return bad("%s", "--listen, --read-token, --interrupt-token, --no-auth and "
                             "--exit-after-s need --local");
        }
    } else if (o.local && strcmp(o.subcommand, "list") == 0) {
        return o.n_args == 0 ? cli_history_list(o.json, o.limit)
                             : bad("%s", "list takes no arguments");
    } else if (o.local && strcmp(o.subcommand, "report") == 0) {
        return o.n_args == 1 ? cli_history_report(o.args[0], o.json)
                             : bad("%s", "report needs exactly one execution id");
    } else if (o.local && strcmp(o.subcommand, "status") == 0) {
        return o.n_args == 1 ? cli_history_status(o.args[0], o.json)
                             : bad("%s", "status needs exactly one execution id");
    } else if (o.local) {
        return bad("--local only applies to run, list, report and status, not to %s", o.subcommand);
    }
    return dispatch_fleet(&o);
}
