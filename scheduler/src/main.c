/*
 * main.c - peace-scheduler: flags, item types, signals, then the server's
 * loop. All the logic lives in scheduler_core; this file only wires it.
 *
 * Exit status: 0 after SIGTERM/SIGINT, 1 with a one-line reason on a bad
 * flag, a plugin that does not load, an unreachable Redis or an address
 * that cannot be bound.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "peace/flow.h"
#include "peace/item.h"
#include "peace/items.h"
#include "sched_config.h"
#include "sched_server.h"

static const char *real_getenv(void *ctx, const char *name)
{
    (void)ctx;
    return getenv(name);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    sched_server_stop(arg);
}

static int load_registry(const struct sched_config *cfg, struct pc_registry **out,
                         struct pc_err *err)
{
    struct pc_registry *reg = NULL;
    int rc = pc_registry_create(&reg, err);

    rc = rc == 0 ? pc_items_register_builtin(reg, err) : rc;
    for (size_t i = 0; rc == 0 && i < cfg->n_plugins; i++) {
        rc = pc_registry_load_plugin(reg, cfg->plugins[i], err);
    }
    if (rc != 0) {
        pc_registry_destroy(reg);
        return rc;
    }
    *out = reg;
    return 0;
}

/*
 * The dashboard's URL on stdout (the log is stderr). A generated token is
 * printed here, once, with the URL that carries it (as a fragment, which
 * browsers never send, so it reaches no log).
 */
static void print_dashboard(const struct sched_config *cfg, uint16_t port)
{
    char url[SCHED_TOKEN_MAX + 128];

    sched_dashboard_url(cfg, port, cfg->token_generated, url, sizeof(url));
    if (cfg->token_generated) {
        (void)printf("peace-scheduler: no token configured: generated one for this run: %s\n"
                     "peace-scheduler: (set --token-file or PEACE_TOKEN to choose it; "
                     "--no-auth to run without one on a loopback address)\n",
                     cfg->token);
    }
    (void)printf("peace-scheduler: dashboard: %s\n", url);
    (void)fflush(stdout);
}

int main(int argc, char **argv)
{
    struct sched_config cfg;
    struct pc_registry *reg = NULL;
    struct event_base *base = NULL;
    struct sched_server *srv = NULL;
    struct event *sigterm = NULL;
    struct event *sigint = NULL;
    struct pc_err err;
    int status = 1;

    pc_json_abort_on_oom(); /* see flow.h */
    pc_err_clear(&err);
    if (sched_config_parse(argc, argv, real_getenv, NULL, &cfg, &err) != 0) {
        (void)fprintf(stderr, "peace-scheduler: %s (see peace-scheduler --help)\n", err.msg);
        return 1;
    }
    if (cfg.help) {
        (void)fputs(sched_usage(), stdout);
        return 0;
    }
    if (cfg.version) {
        (void)printf("peace-scheduler %s\n", SCHED_VERSION);
        return 0;
    }
    if (sched_config_generate_token(&cfg, &err) != 0) {
        (void)fprintf(stderr, "peace-scheduler: %s\n", err.msg);
        return 1;
    }
    /* A client that goes away mid-answer must not kill the server. */
    (void)signal(SIGPIPE, SIG_IGN);
    if (load_registry(&cfg, &reg, &err) != 0) {
        (void)fprintf(stderr, "peace-scheduler: %s\n", err.msg);
        return 1;
    }
    base = event_base_new();
    if (base == NULL) {
        (void)fprintf(stderr, "peace-scheduler: cannot create the event loop\n");
        goto out;
    }
    if (sched_server_create(base, &cfg, reg, &srv, &err) != 0 ||
        sched_server_start(srv, &err) != 0) {
        (void)fprintf(stderr, "peace-scheduler: %s\n", err.msg);
        goto out;
    }
    print_dashboard(&cfg, sched_server_port(srv));
    sigterm = evsignal_new(base, SIGTERM, on_signal, srv);
    sigint = evsignal_new(base, SIGINT, on_signal, srv);
    if (sigterm == NULL || sigint == NULL || event_add(sigterm, NULL) != 0 ||
        event_add(sigint, NULL) != 0) {
        (void)fprintf(stderr, "peace-scheduler: cannot install the signal handlers\n");
        goto out;
    }
    if (event_base_dispatch(base) < 0) {
        (void)fprintf(stderr, "peace-scheduler: the event loop failed\n");
        goto out;
    }
    status = 0;
out:
    if (sigterm != NULL) {
        event_free(sigterm);
    }
    if (sigint != NULL) {
        event_free(sigint);
    }
    sched_server_destroy(srv);
    if (base != NULL) {
        event_base_free(base);
    }
    pc_registry_destroy(reg);
    return status;
}
