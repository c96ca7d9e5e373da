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
    bool progress; /* false with --no-progress */
    enum pc_cmd cmd;
    enum pc_sync sync;
    struct pc_strategy strategy;
    const char *workdir; /* --workdir (local runner): where .peace/ and relative paths live */
    const char *redis_url;
    const char *server_url;
    const char *prefix;
    const char *queue;
    const char *token;
    const char *reason;
    const char *plugins[CLI_PLUGINS_MAX];
    size_t n_plugins;
};

/* `peace run FLOW.json --local`: runs in-process; returns the exit status. */
int cli_local_run(const struct cli_opts *o);

#endif
