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
    "  --queue Q            queue of submissions that name none (PEACE_QUEUE, default "
    SCHED_DEFAULT_QUEUE ")\n"
    "  --max-body BYTES     largest request body (default 8388608)\n"
    "  --max-sse N          event streams served at once (default 256)\n"
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

/* Matches "--name VALUE" and "--name=VALUE": 1 taken, 0 not this flag, -1 no value. */
static int take_value(int argc, char **argv, int *i, const char *name, const char **out)
{
    size_t n = strlen(name);
    const char *a = argv[*i];

    if (strncmp(a, name, n) != 0) {
        return 0;
    }
    if (a[n] == '=') {
        *out = a + n + 1;
        return 1;
    }
    if (a[n] != '\0') {
        return 0;
    }
    if (*i + 1 >= argc) {
        return -1;
    }
    *i += 1;
    *out = argv[*i];
    return 1;
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
            int r = take_value(argc, argv, &i, flag_names[f], &v);

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

int sched_config_parse(int argc, char **argv, sched_getenv_fn *env, void *env_ctx,
                       struct sched_config *out, struct pc_err *err)
{
    struct sched_config *c = calloc(1, sizeof(*c));
    struct raw_flags raw;
    const char *listen = NULL;
    const char *token = NULL;
    const char *url = NULL;
    const char *prefix = NULL;
    const char *queue = NULL;
    unsigned long long n = 0;
    int rc;

    if (c == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    memset(&raw, 0, sizeof(raw));
    rc = scan_argv(argc, argv, &raw, c, err);
    if (rc != 0 || c->help || c->version) {
        goto out;
    }
    listen = raw.v[FLAG_LISTEN] != NULL ? raw.v[FLAG_LISTEN] : env_get(env, env_ctx, "PEACE_LISTEN");
    token = raw.v[FLAG_TOKEN] != NULL ? raw.v[FLAG_TOKEN] : env_get(env, env_ctx, "PEACE_TOKEN");
    url = raw.v[FLAG_REDIS] != NULL ? raw.v[FLAG_REDIS] : env_get(env, env_ctx, "PEACE_REDIS_URL");
    prefix = raw.v[FLAG_PREFIX] != NULL ? raw.v[FLAG_PREFIX] : env_get(env, env_ctx, "PEACE_PREFIX");
    queue = raw.v[FLAG_QUEUE] != NULL ? raw.v[FLAG_QUEUE] : env_get(env, env_ctx, "PEACE_QUEUE");

    rc = sched_listen_parse(listen != NULL ? listen : SCHED_DEFAULT_LISTEN, c->listen_host,
                            sizeof(c->listen_host), &c->listen_port, err);
    if (rc != 0) {
        goto out;
    }
    if (token != NULL) {
        size_t tn = strlen(token);

        if (tn > SCHED_TOKEN_MAX) {
            rc = pc_err_set(err, PC_EINVAL, "--token: at most %d bytes", SCHED_TOKEN_MAX);
            goto out;
        }
        for (size_t i = 0; i < tn; i++) {
            if ((unsigned char)token[i] <= 0x20 || (unsigned char)token[i] == 0x7f) {
                rc = pc_err_set(err, PC_EINVAL, "--token: no spaces or control characters");
                goto out;
            }
        }
        memcpy(c->token, token, tn + 1);
        c->token_len = tn;
    }
    rc = pc_redis_url_parse(url != NULL ? url : SCHED_DEFAULT_REDIS, &c->redis, err);
    if (rc != 0) {
        pc_err_prefix(err, "--redis");
        goto out;
    }
    prefix = prefix != NULL ? prefix : SCHED_DEFAULT_PREFIX;
    rc = pc_prefix_check(prefix, err);
    if (rc != 0) {
        pc_err_prefix(err, "--prefix");
        goto out;
    }
    memcpy(c->prefix, prefix, strlen(prefix) + 1);
    queue = queue != NULL ? queue : SCHED_DEFAULT_QUEUE;
    rc = pc_id_set(&c->queue, queue, strlen(queue), "queue", err);
    if (rc != 0) {
        pc_err_prefix(err, "--queue");
        goto out;
    }
    c->max_body = SCHED_DEFAULT_MAX_BODY;
    if (raw.v[FLAG_MAX_BODY] != NULL) {
        rc = sched_parse_count(raw.v[FLAG_MAX_BODY], 1024, SCHED_MAX_BODY_LIMIT, &n);
        if (rc != 0) {
            rc = pc_err_set(err, PC_EINVAL, "--max-body: a number of bytes in 1024..%u",
                            SCHED_MAX_BODY_LIMIT);
            goto out;
        }
        c->max_body = (size_t)n;
    }
    c->max_sse = SCHED_DEFAULT_MAX_SSE;
    if (raw.v[FLAG_MAX_SSE] != NULL) {
        rc = sched_parse_count(raw.v[FLAG_MAX_SSE], 0, SCHED_MAX_SSE_LIMIT, &n);
        if (rc != 0) {
            rc = pc_err_set(err, PC_EINVAL, "--max-sse: a number in 0..%u", SCHED_MAX_SSE_LIMIT);
            goto out;
        }
        c->max_sse = (unsigned)n;
    }
out:
    if (rc == 0) {
        *out = *c;
    }
    free(c);
    return rc;
}
