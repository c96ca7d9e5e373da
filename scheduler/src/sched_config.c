/*
 * sched_config.c - flags and environment of peace-scheduler.
 *
 * Design. Precedence is flag, then environment, then the default; an empty
 * environment variable counts as unset. Everything is validated here (the
 * Redis URL, the prefix and queue, the listen address, the limits), so the
 * server starts with settings that are known good, and a mistake is one line
 * on stderr before anything is opened. The environment comes through a
 * function so tests need not touch the process environment.
 */
#include "sched_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_argv.h"
#include "sched_http.h"

static const char usage_text[] =
    "usage: peace-scheduler [options]\n"
    "\n"
    "The HTTP service of peace fleet: starts, lists, follows and interrupts\n"
    "executions, serves the dashboard page (/) and /metrics.\n"
    "\n"
    "options:\n"
    "  --listen HOST:PORT   address to serve on (PEACE_LISTEN, default " SCHED_DEFAULT_LISTEN ")\n"
    "  --token T            require 'Authorization: Bearer T' on /v1/* and /metrics\n"
    "                       (PEACE_TOKEN; prefer the environment: flags show in ps)\n"
    "  --redis URL          the fleet's Redis (PEACE_REDIS_URL, default " SCHED_DEFAULT_REDIS ")\n"
    "  --prefix P           key prefix (PEACE_PREFIX, default " SCHED_DEFAULT_PREFIX ")\n"
    "  --queue Q            queue of submissions that name none (PEACE_QUEUE, "
    "default " SCHED_DEFAULT_QUEUE ")\n"
    "  --max-body BYTES     largest request body (PEACE_MAX_BODY, default 8388608)\n"
    "  --max-sse N          event streams served at once (PEACE_MAX_SSE, default 256)\n"
    "  --plugin PATH.so     load custom item types to validate flows with (repeatable)\n"
    "  --help, --version\n";

const char *sched_usage(void)
{
    return usage_text;
}

static const char *env_get(sched_getenv_fn *env, void *ctx, const char *name)
{
    const char *v = env != NULL ? env(ctx, name) : NULL;

    return v != NULL && v[0] != '\0' ? v : NULL;
}

int sched_listen_parse(const char *text, char *host, size_t host_size, uint16_t *port,
                       struct pc_err *err)
{
    const char *colon = NULL;
    const char *h = text;
    size_t hn;
    unsigned long long p = 0;

    if (text[0] == '[') {
        const char *close = strchr(text, ']');

        if (close == NULL || close[1] != ':') {
            return pc_err_set(err, PC_EINVAL, "--listen: expected [ADDRESS]:PORT");
        }
        h = text + 1;
        hn = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL) {
            return pc_err_set(err, PC_EINVAL, "--listen: expected HOST:PORT, got \"%.64s\"", text);
        }
        hn = (size_t)(colon - text);
        if (memchr(text, ':', hn) != NULL) {
            return pc_err_set(err, PC_EINVAL, "--listen: put an IPv6 address in brackets");
        }
    }
    if (sched_parse_count(colon + 1, 0, 65535, &p) != 0) {
        return pc_err_set(err, PC_EINVAL, "--listen: the port must be 0..65535");
    }
    if (hn == 0) {
        h = "0.0.0.0";
        hn = 7;
    }
    if (hn >= host_size) {
        return pc_err_set(err, PC_EINVAL, "--listen: the host name is too long");
    }
    for (size_t i = 0; i < hn; i++) {
        char c = h[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '.' || c == '-' || c == ':' || c == '_')) {
            return pc_err_set(err, PC_EINVAL, "--listen: bad character in the host");
        }
    }
    memcpy(host, h, hn);
    host[hn] = '\0';
    *port = (uint16_t)p;
    return 0;
}

enum flag_id {
    FLAG_LISTEN = 0,
    FLAG_TOKEN,
    FLAG_REDIS,
    FLAG_PREFIX,
    FLAG_QUEUE,
    FLAG_MAX_BODY,
    FLAG_MAX_SSE,
    FLAG_PLUGIN,
    FLAG_COUNT,
};

static const char *const flag_names[FLAG_COUNT] = {
    "--listen", "--token", "--redis", "--prefix", "--queue", "--max-body", "--max-sse", "--plugin",
};

/* The values given on the command line (NULL = not given). */
struct raw_flags {
    const char *v[FLAG_COUNT];
};

static int scan_argv(int argc, char **argv, struct raw_flags *raw, struct sched_config *c,
                     struct pc_err *err)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool matched = false;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            c->help = true;
            continue;
        }
        if (strcmp(a, "--version") == 0) {
            c->version = true;
            continue;
        }
        for (size_t f = 0; f < FLAG_COUNT && !matched; f++) {
            const char *v = NULL;
            int r = sched_argv_value(argc, argv, &i, flag_names[f], &v);

            if (r < 0) {
                return pc_err_set(err, PC_EINVAL, "%s needs a value", flag_names[f]);
            }
            if (r == 0) {
                continue;
            }
            matched = true;
            if (f == FLAG_PLUGIN) {
                if (c->n_plugins == SCHED_PLUGINS_MAX) {
                    return pc_err_set(err, PC_EINVAL, "at most %d --plugin flags",
                                      SCHED_PLUGINS_MAX);
                }
                if (v[0] == '\0') {
                    return pc_err_set(err, PC_EINVAL, "--plugin needs a path");
                }
                c->plugins[c->n_plugins++] = v;
            } else {
                raw->v[f] = v;
            }
        }
        if (!matched) {
            if (a[0] == '-') {
                return pc_err_set(err, PC_EINVAL, "unknown flag %.64s", a);
            }
            return pc_err_set(err, PC_EINVAL, "unexpected argument \"%.64s\"", a);
        }
    }
    return 0;
}

/* The token: printable, no spaces (it travels in a header). */
static int take_token(const char *token, struct sched_config *c, struct pc_err *err)
{
    size_t tn = strlen(token);

    if (tn > SCHED_TOKEN_MAX) {
        return pc_err_set(err, PC_EINVAL, "--token: at most %d bytes", SCHED_TOKEN_MAX);
    }
    for (size_t i = 0; i < tn; i++) {
        if ((unsigned char)token[i] <= 0x20 || (unsigned char)token[i] == 0x7f) {
            return pc_err_set(err, PC_EINVAL, "--token: no spaces or control characters");
        }
    }
    memcpy(c->token, token, tn + 1);
    c->token_len = tn;
    return 0;
}

/* --max-body and --max-sse (PEACE_MAX_BODY, PEACE_MAX_SSE), with their defaults. */
static int take_limits(const struct raw_flags *raw, sched_getenv_fn *env, void *env_ctx,
                       struct sched_config *c, struct pc_err *err)
{
    unsigned long long n = 0;
    const char *body = raw->v[FLAG_MAX_BODY] != NULL ? raw->v[FLAG_MAX_BODY]
                                                     : env_get(env, env_ctx, "PEACE_MAX_BODY");
    const char *sse = raw->v[FLAG_MAX_SSE] != NULL ? raw->v[FLAG_MAX_SSE]
                                                   : env_get(env, env_ctx, "PEACE_MAX_SSE");

    c->max_body = SCHED_DEFAULT_MAX_BODY;
    if (body != NULL) {
        if (sched_parse_count(body, 1024, SCHED_MAX_BODY_LIMIT, &n) != 0) {
            return pc_err_set(err, PC_EINVAL, "--max-body: a number of bytes in 1024..%u",
                              SCHED_MAX_BODY_LIMIT);
        }
        c->max_body = (size_t)n;
    }
    c->max_sse = SCHED_DEFAULT_MAX_SSE;
    if (sse != NULL) {
        if (sched_parse_count(sse, 0, SCHED_MAX_SSE_LIMIT, &n) != 0) {
            return pc_err_set(err, PC_EINVAL, "--max-sse: a number in 0..%u", SCHED_MAX_SSE_LIMIT);
        }
        c->max_sse = (unsigned)n;
    }
    return 0;
}

/* The flag, else the environment variable, else NULL. */
static const char *setting(const struct raw_flags *raw, enum flag_id f, sched_getenv_fn *env,
                           void *env_ctx, const char *var)
{
    return raw->v[f] != NULL ? raw->v[f] : env_get(env, env_ctx, var);
}

/* Everything but the flag scan: values, validated, into c. */
static int take_settings(const struct raw_flags *raw, sched_getenv_fn *env, void *env_ctx,
                         struct sched_config *c, struct pc_err *err)
{
    const char *listen = setting(raw, FLAG_LISTEN, env, env_ctx, "PEACE_LISTEN");
    const char *token = setting(raw, FLAG_TOKEN, env, env_ctx, "PEACE_TOKEN");
    const char *url = setting(raw, FLAG_REDIS, env, env_ctx, "PEACE_REDIS_URL");
    const char *prefix = setting(raw, FLAG_PREFIX, env, env_ctx, "PEACE_PREFIX");
    const char *queue = setting(raw, FLAG_QUEUE, env, env_ctx, "PEACE_QUEUE");
    int rc;

    rc = sched_listen_parse(listen != NULL ? listen : SCHED_DEFAULT_LISTEN, c->listen_host,
                            sizeof(c->listen_host), &c->listen_port, err);
    if (rc == 0 && token != NULL) {
        rc = take_token(token, c, err);
    }
    if (rc == 0 &&
        pc_redis_url_parse(url != NULL ? url : SCHED_DEFAULT_REDIS, &c->redis, err) != 0) {
        pc_err_prefix(err, "--redis");
        rc = PC_EINVAL;
    }
    prefix = prefix != NULL ? prefix : SCHED_DEFAULT_PREFIX;
    if (rc == 0 && pc_prefix_check(prefix, err) != 0) {
        pc_err_prefix(err, "--prefix");
        rc = PC_EINVAL;
    }
    if (rc == 0) {
        memcpy(c->prefix, prefix, strlen(prefix) + 1);
    }
    queue = queue != NULL ? queue : SCHED_DEFAULT_QUEUE;
    if (rc == 0 && pc_id_set(&c->queue, queue, strlen(queue), "queue", err) != 0) {
        pc_err_prefix(err, "--queue");
        rc = PC_EINVAL;
    }
    return rc == 0 ? take_limits(raw, env, env_ctx, c, err) : rc;
}

int sched_config_parse(int argc, char **argv, sched_getenv_fn *env, void *env_ctx,
                       struct sched_config *out, struct pc_err *err)
{
    struct sched_config *c = calloc(1, sizeof(*c));
    struct raw_flags raw;
    int rc;

    if (c == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    memset(&raw, 0, sizeof(raw));
    rc = scan_argv(argc, argv, &raw, c, err);
    if (rc == 0 && !c->help && !c->version) {
        rc = take_settings(&raw, env, env_ctx, c, err);
    }
    if (rc == 0) {
        *out = *c;
    }
    free(c);
    return rc;
}

void sched_guard_from_config(const struct sched_config *cfg, struct sched_guard *g)
{
    memset(g, 0, sizeof(*g));
    g->tokens[SCHED_SCOPE_ALL].p = cfg->token;
    g->tokens[SCHED_SCOPE_ALL].n = cfg->token_len;
    g->no_auth = cfg->token_len == 0;
    g->listen_host = cfg->listen_host;
}
