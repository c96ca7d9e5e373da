/*
 * main.c - peace-worker: flags, logging, the loop, the exit status.
 *
 * Exit status: 0 after a drain (SIGTERM/SIGINT), 2 for a bad flag, 1 when
 * the worker cannot start (Redis unreachable, a bad plugin). Every failure
 * is one line on stderr. When the drain's grace period runs out while items
 * still run on pool threads, the process leaves with _exit: those threads
 * use the engine, so nothing may be freed under them.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "worker/config.h"
#include "worker/log.h"
#include "worker/worker.h"

#ifndef PEACE_VERSION
#define PEACE_VERSION "0.0.0"
#endif

static const char *env_lookup(void *ctx, const char *name)
{
    (void)ctx;
    return getenv(name);
}

int main(int argc, char **argv)
{
    struct wk_config cfg;
    struct wk_log log = {WK_LOG_INFO, stderr, NULL};
    struct wk_worker_opts wo = {0};
    struct wk_worker *w = NULL;
    struct event_base *base = NULL;
    struct pc_err err;
    int status = 1;

    pc_err_clear(&err);
    if (wk_config_parse(argc, argv, env_lookup, NULL, &cfg, &err) != 0) {
        (void)fprintf(stderr, "peace-worker: %s\n", err.msg);
        return 2;
    }
    if (cfg.help) {
        (void)fputs(wk_config_usage(), stdout);
        return 0;
    }
    if (cfg.version) {
        (void)printf("peace-worker %s\n", PEACE_VERSION);
        return 0;
    }
    /* Writes to a closed Redis socket must fail with EPIPE, not kill us. */
    (void)signal(SIGPIPE, SIG_IGN);
    log.min = cfg.log_level;
    base = event_base_new();
    if (base == NULL) {
        (void)fprintf(stderr, "peace-worker: cannot create the event loop\n");
        return 1;
    }
    /* The log's lines go out once per loop turn (not one write each); if
     * that cannot be set up, each line is written at once. */
    (void)!wk_log_batch(&log, base);
    wo.cfg = &cfg;
    wo.log = &log;
    wo.base = base;
    wo.handle_signals = true;
    wo.version = PEACE_VERSION;
    if (wk_worker_create(&wo, &w, &err) != 0) {
        (void)fprintf(stderr, "peace-worker: %s\n", err.msg);
        wk_log_unbatch(&log);
        event_base_free(base);
        return 1;
    }
    status = wk_worker_run(w, &err);
    if (status != 0) {
        (void)fprintf(stderr, "peace-worker: %s\n", err.msg);
    }
    if (wk_worker_busy(w)) {
        (void)fflush(NULL);
        _exit(status);
    }
    wk_worker_destroy(w);
    wk_log_unbatch(&log);
    event_base_free(base);
    return status;
}
