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

#include "peace/secret.h"

#include "sched_argv.h"
#include "sched_http.h"
#include "web_server.h"

static const char usage_text[] =
    "usage: peace-scheduler [options]\n"
    "\n"
    "The HTTP service of peace fleet: starts, lists, follows and interrupts\n"
    "executions, serves the dashboard page (/) and /metrics.\n"
    "\n"
    "options:\n"
    "  --listen HOST:PORT   address to serve on (PEACE_LISTEN, default " SCHED_DEFAULT_LISTEN ")\n"
    "  --token T            the token of every request but the page and /healthz:\n"
    "                       'Authorization: Bearer T' (PEACE_TOKEN)\n"
    "  --read-token T       a token for GET only: dashboards, Prometheus (PEACE_READ_TOKEN)\n"
    "  --interrupt-token T  a token for GET and interrupt (PEACE_INTERRUPT_TOKEN)\n"
    "  --token-file F, --read-token-file F, --interrupt-token-file F\n"
    "                       the same read from a file (PEACE_TOKEN_FILE, ...): flags and\n"
    "                       the environment show in ps, a file does not\n"
    "                       Without any token one is made at start and printed with the\n"
    "                       dashboard's URL.\n"
    "  --no-auth            no token at all; only on a loopback --listen address\n"
    "  --allow-host NAME    also serve requests whose Host is NAME (repeatable or\n"
    "                       comma-separated; PEACE_ALLOW_HOSTS; '*' = any). Addresses,\n"
    "                       localhost and the --listen host are always allowed\n"
    "  --allow-origin URL   also serve browser requests from this origin, e.g.\n"
    "                       https://dash.example.com (repeatable; PEACE_ALLOW_ORIGINS)\n"
    "  --redis URL          the fleet's Redis (PEACE_REDIS_URL, default " SCHED_DEFAULT_REDIS ")\n"
    "  --redis-url-file F   the Redis URL (with its password) from a file\n"
    "                       (PEACE_REDIS_URL_FILE)\n"
    "  --prefix P           key prefix (PEACE_PREFIX, default " SCHED_DEFAULT_PREFIX ")\n"
    "  --queue Q            queue of submissions that name none (PEACE_QUEUE, "
    "default " SCHED_DEFAULT_QUEUE ")\n"
    "  --partitions P       queue partitions, 1..64, as the workers'\n"
    "                       (PEACE_QUEUE_PARTITIONS, default 1)\n"
    "  --max-body BYTES     largest request body (PEACE_MAX_BODY, default 8388608)\n"
    "  --max-sse N          event streams served at once (PEACE_MAX_SSE, default 256)\n"
    "  --read-timeout-s S   close a connection that sends nothing for S seconds while\n"
    "                       its request is read, or between requests (default 10)\n"
    "  --request-timeout-s S  close a connection whose request is not fully read S\n"
    "                       seconds after it opened or got its last answer (default 30)\n"
    "  --max-connections N  client connections open at once; more are closed at once\n"
    "                       (default 1024)\n"
    "  --plugin PATH.so     load custom item types to validate flows with (repeatable;\n"
    "                       PEACE_PLUGINS, a ':'-separated list, comes first)\n"
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

enum flag_id {
    FLAG_LISTEN = 0,
    FLAG_TOKEN,
    FLAG_TOKEN_FILE,
    FLAG_READ_TOKEN,
    FLAG_READ_TOKEN_FILE,
    FLAG_INTERRUPT_TOKEN,
    FLAG_INTERRUPT_TOKEN_FILE,
    FLAG_REDIS,
    FLAG_REDIS_URL_FILE,
    FLAG_PREFIX,
    FLAG_QUEUE,
    FLAG_PARTITIONS,
    FLAG_MAX_BODY,
    FLAG_MAX_SSE,
    FLAG_READ_TIMEOUT,
    FLAG_REQUEST_TIMEOUT,
    FLAG_MAX_CONNECTIONS,
    FLAG_ALLOW_HOST,
    FLAG_ALLOW_ORIGIN,
    FLAG_PLUGIN,
    FLAG_COUNT,
};

static const char *const flag_names[FLAG_COUNT] = {
    "--listen",
    "--token",
    "--token-file",
    "--read-token",
    "--read-token-file",
    "--interrupt-token",
    "--interrupt-token-file",
    "--redis",
    "--redis-url-file",
    "--prefix",
    "--queue",
    "--partitions",
    "--max-body",
    "--max-sse",
    "--read-timeout-s",
    "--request-timeout-s",
    "--max-connections",
    "--allow-host",
    "--allow-origin",
    "--plugin",
};

/* The values given on the command line (NULL = not given). */
struct raw_flags {
    const char *v[FLAG_COUNT];
};

/* Appends item to the comma-separated list (a repeated flag). */
static int list_append(char *list, size_t size, const char *item, const char *flag,
                       struct pc_err *err)
{
    size_t have = strlen(list);
    size_t n = strlen(item);

    if (n == 0) {
        return pc_err_set(err, PC_EINVAL, "%s needs a value", flag);
    }
    if (have + (have > 0 ? 1 : 0) + n >= size) {
        return pc_err_set(err, PC_EINVAL, "%s: at most %zu bytes in all", flag, size - 1);
    }
    if (have > 0) {
        list[have++] = ',';
    }
    memcpy(list + have, item, n + 1);
    return 0;
}

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
        if (strcmp(a, "--no-auth") == 0) {
            c->no_auth = true;
            continue;
        }
        for (size_t f = 0; f < FLAG_COUNT && !matched; f++) {
            const char *v = NULL;
            int r = sched_argv_value(argc, argv, &i, flag_names[f], &v);
            int rc = 0;

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
            } else if (f == FLAG_ALLOW_HOST) {
                rc = list_append(c->allow_hosts, sizeof(c->allow_hosts), v, flag_names[f], err);
            } else if (f == FLAG_ALLOW_ORIGIN) {
                rc = list_append(c->allow_origins, sizeof(c->allow_origins), v, flag_names[f], err);
            } else {
                raw->v[f] = v;
            }
            if (rc != 0) {
                return rc;
            }
        }
        if (!matched) {
            if (a[0] == '-') {
                /* Only the flag-like start: the rest may be a secret. */
                size_t shown = strspn(a, "-abcdefghijklmnopqrstuvwxyz0123456789");

                return pc_err_set(err, PC_EINVAL, "unknown flag %.*s",
                                  (int)(shown < 40 ? shown : 40), a);
            }
            return pc_err_set(err, PC_EINVAL, "unexpected argument \"%.64s\"", a);
        }
    }
    return 0;
}

/* A token: printable, no spaces (it travels in a header). */
static int check_token(const char *name, const char *token, size_t tn, struct pc_err *err)
{
    if (tn > SCHED_TOKEN_MAX) {
        return pc_err_set(err, PC_EINVAL, "%s: at most %d bytes", name, SCHED_TOKEN_MAX);
    }
    for (size_t i = 0; i < tn; i++) {
        if ((unsigned char)token[i] <= 0x20 || (unsigned char)token[i] >= 0x7f) {
            return pc_err_set(err, PC_EINVAL, "%s: printable ASCII only, no spaces", name);
        }
    }
    return 0;
}

/* One token of one scope, from its flag, file, variable or file variable. */
static int take_token(const struct raw_flags *raw, enum flag_id flag, sched_getenv_fn *env,
                      void *env_ctx, const char *var, const char *file_var, char *out,
                      size_t *out_len, struct pc_err *err)
{
    struct pc_secret_src src;
    bool found = false;
    int rc;

    memset(&src, 0, sizeof(src));
    src.flag = flag_names[flag];
    src.file_flag = flag_names[flag + 1];
    src.env = var;
    src.env_file_var = file_var;
    src.value = raw->v[flag];
    src.file = raw->v[flag + 1];
    src.env_value = env_get(env, env_ctx, var);
    src.env_file = env_get(env, env_ctx, file_var);
    if (raw->v[flag] != NULL && raw->v[flag][0] == '\0') {
        return pc_err_set(err, PC_EINVAL, "%s needs a value", flag_names[flag]);
    }
    rc = pc_secret_get(&src, out, SCHED_TOKEN_MAX + 1, out_len, &found, err);
    if (rc == PC_ELIMIT) {
        return pc_err_set(err, PC_EINVAL, "%s: at most %d bytes", flag_names[flag],
                          SCHED_TOKEN_MAX);
    }
    return rc != 0 ? rc : check_token(flag_names[flag], out, *out_len, err);
}

/* Every token, their relations, and --no-auth. */
static int take_tokens(const struct raw_flags *raw, sched_getenv_fn *env, void *env_ctx,
                       struct sched_config *c, struct pc_err *err)
{
    int rc = take_token(raw, FLAG_TOKEN, env, env_ctx, "PEACE_TOKEN", "PEACE_TOKEN_FILE", c->token,
                        &c->token_len, err);

    if (rc == 0) {
        rc = take_token(raw, FLAG_READ_TOKEN, env, env_ctx, "PEACE_READ_TOKEN",
                        "PEACE_READ_TOKEN_FILE", c->read_token, &c->read_token_len, err);
    }
    if (rc == 0) {
        rc = take_token(raw, FLAG_INTERRUPT_TOKEN, env, env_ctx, "PEACE_INTERRUPT_TOKEN",
                        "PEACE_INTERRUPT_TOKEN_FILE", c->interrupt_token, &c->interrupt_token_len,
                        err);
    }
    if (rc != 0) {
        return rc;
    }
    /* One token, one scope: the same text for two would be ambiguous. */
    if ((c->token_len > 0 &&
         ((c->read_token_len > 0 && strcmp(c->token, c->read_token) == 0) ||
          (c->interrupt_token_len > 0 && strcmp(c->token, c->interrupt_token) == 0))) ||
        (c->read_token_len > 0 && c->interrupt_token_len > 0 &&
         strcmp(c->read_token, c->interrupt_token) == 0)) {
        return pc_err_set(err, PC_EINVAL, "each token scope needs its own token");
    }
    if (c->no_auth) {
        if (c->token_len > 0 || c->read_token_len > 0 || c->interrupt_token_len > 0) {
            return pc_err_set(err, PC_EINVAL, "--no-auth and a token: choose one");
        }
        if (!sched_host_is_loopback(c->listen_host)) {
            return pc_err_set(err, PC_EINVAL,
                              "--no-auth is only allowed on a loopback --listen address "
                              "(127.0.0.1, ::1, localhost), not %.64s",
                              c->listen_host);
        }
    }
    return 0;
}

/* The allow-lists, checked entry by entry. */
static int take_allow_lists(sched_getenv_fn *env, void *env_ctx, struct sched_config *c,
                            struct pc_err *err)
{
    const char *hosts = env_get(env, env_ctx, "PEACE_ALLOW_HOSTS");
    const char *origins = env_get(env, env_ctx, "PEACE_ALLOW_ORIGINS");

    if (c->allow_hosts[0] == '\0' && hosts != NULL &&
        list_append(c->allow_hosts, sizeof(c->allow_hosts), hosts, "PEACE_ALLOW_HOSTS", err) != 0) {
        return PC_EINVAL;
    }
    if (c->allow_origins[0] == '\0' && origins != NULL &&
        list_append(c->allow_origins, sizeof(c->allow_origins), origins, "PEACE_ALLOW_ORIGINS",
                    err) != 0) {
        return PC_EINVAL;
    }
    for (const char *p = c->allow_hosts; *p != '\0';) {
        size_t n = strcspn(p, ",");
        bool ok = n > 0 && n <= SCHED_HOST_MAX;

        for (size_t i = 0; ok && i < n; i++) {
            char ch = p[i];

            ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                 ch == '.' || ch == '-' || ch == '_' || (n == 1 && ch == '*');
        }
        if (!ok) {
            return pc_err_set(err, PC_EINVAL,
                              "--allow-host: \"%.*s\" is not a host name (no port; '*' for any)",
                              (int)(n < 64 ? n : 64), p);
        }
        p += n + (p[n] == ',' ? 1 : 0);
    }
    for (const char *p = c->allow_origins; *p != '\0';) {
        size_t n = strcspn(p, ",");
        size_t scheme = strncmp(p, "http://", 7) == 0 ? 7 : strncmp(p, "https://", 8) == 0 ? 8 : 0;
        bool ok = scheme > 0 && n > scheme && n <= SCHED_HOST_MAX + 16;

        for (size_t i = scheme; ok && i < n; i++) {
            char ch = p[i];

            ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                 ch == '.' || ch == '-' || ch == '_' || ch == ':' || ch == '[' || ch == ']';
        }
        if (!ok) {
            return pc_err_set(err, PC_EINVAL,
                              "--allow-origin: \"%.*s\" is not an origin "
                              "(http://HOST[:PORT] or https://..., no path)",
                              (int)(n < 64 ? n : 64), p);
        }
        p += n + (p[n] == ',' ? 1 : 0);
    }
    return 0;
}

/* --read-timeout-s, --request-timeout-s and --max-connections, with their defaults. */
static int take_timeouts(const struct raw_flags *raw, struct sched_config *c, struct pc_err *err)
{
    unsigned long long n = 0;

    c->read_timeout_s = SCHED_READ_TIMEOUT_S;
    if (raw->v[FLAG_READ_TIMEOUT] != NULL) {
        if (sched_parse_count(raw->v[FLAG_READ_TIMEOUT], 1, SCHED_TIMEOUT_S_LIMIT, &n) != 0) {
            return pc_err_set(err, PC_EINVAL, "--read-timeout-s: a number of seconds in 1..%u",
                              SCHED_TIMEOUT_S_LIMIT);
        }
        c->read_timeout_s = (unsigned)n;
    }
    c->request_timeout_s = SCHED_REQUEST_TIMEOUT_S;
    if (raw->v[FLAG_REQUEST_TIMEOUT] != NULL) {
        if (sched_parse_count(raw->v[FLAG_REQUEST_TIMEOUT], 1, SCHED_TIMEOUT_S_LIMIT, &n) != 0) {
            return pc_err_set(err, PC_EINVAL, "--request-timeout-s: a number of seconds in 1..%u",
                              SCHED_TIMEOUT_S_LIMIT);
        }
        c->request_timeout_s = (unsigned)n;
    }
    c->max_connections = SCHED_MAX_CONNECTIONS;
    if (raw->v[FLAG_MAX_CONNECTIONS] != NULL) {
        if (sched_parse_count(raw->v[FLAG_MAX_CONNECTIONS], 1, 100000, &n) != 0) {
            return pc_err_set(err, PC_EINVAL, "--max-connections: a number in 1..100000");
        }
        c->max_connections = (unsigned)n;
    }
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

/* The Redis URL from --redis, --redis-url-file, PEACE_REDIS_URL or
 * PEACE_REDIS_URL_FILE; it is never echoed (it may hold a password). */
static int take_redis(const struct raw_flags *raw, sched_getenv_fn *env, void *env_ctx,
                      struct sched_config *c, struct pc_err *err)
{
    struct pc_secret_src src;
    char *url = calloc(1, PC_SECRET_FILE_MAX + 1);
    bool found = false;
    int rc;

    if (url == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    memset(&src, 0, sizeof(src));
    src.flag = "--redis";
    src.file_flag = "--redis-url-file";
    src.env = "PEACE_REDIS_URL";
    src.env_file_var = "PEACE_REDIS_URL_FILE";
    src.value = raw->v[FLAG_REDIS];
    src.file = raw->v[FLAG_REDIS_URL_FILE];
    src.env_value = env_get(env, env_ctx, "PEACE_REDIS_URL");
    src.env_file = env_get(env, env_ctx, "PEACE_REDIS_URL_FILE");
    rc = pc_secret_get(&src, url, PC_SECRET_FILE_MAX + 1, NULL, &found, err);
    if (rc == 0 && pc_redis_url_parse(found ? url : SCHED_DEFAULT_REDIS, &c->redis, err) != 0) {
        pc_err_prefix(err, "%s",
                      raw->v[FLAG_REDIS_URL_FILE] != NULL ? "--redis-url-file"
                      : raw->v[FLAG_REDIS] != NULL        ? "--redis"
                      : src.env_file != NULL              ? "PEACE_REDIS_URL_FILE"
                                                          : "--redis");
        rc = PC_EINVAL;
    }
    free(url);
    return rc;
}

/* Everything but the flag scan: values, validated, into c. */
static int take_settings(const struct raw_flags *raw, sched_getenv_fn *env, void *env_ctx,
                         struct sched_config *c, struct pc_err *err)
{
    const char *listen = setting(raw, FLAG_LISTEN, env, env_ctx, "PEACE_LISTEN");
    const char *prefix = setting(raw, FLAG_PREFIX, env, env_ctx, "PEACE_PREFIX");
    const char *queue = setting(raw, FLAG_QUEUE, env, env_ctx, "PEACE_QUEUE");
    const char *parts = setting(raw, FLAG_PARTITIONS, env, env_ctx, "PEACE_QUEUE_PARTITIONS");
    int rc;

    rc = sched_listen_parse(listen != NULL ? listen : SCHED_DEFAULT_LISTEN, c->listen_host,
                            sizeof(c->listen_host), &c->listen_port, err);
    rc = rc == 0 ? take_tokens(raw, env, env_ctx, c, err) : rc;
    rc = rc == 0 ? take_allow_lists(env, env_ctx, c, err) : rc;
    rc = rc == 0 ? take_redis(raw, env, env_ctx, c, err) : rc;
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
    c->partitions = 1;
    if (rc == 0 && parts != NULL && pc_partitions_parse(parts, &c->partitions, err) != 0) {
        pc_err_prefix(err, "--partitions");
        rc = PC_EINVAL;
    }
    rc = rc == 0 ? take_timeouts(raw, c, err) : rc;
    return rc == 0 ? take_limits(raw, env, env_ctx, c, err) : rc;
}

/* PEACE_PLUGINS: its paths (':'-separated, empty parts skipped) go before
 * those of --plugin. Split in c->plugins_env, so call it on the final copy. */
static int take_env_plugins(sched_getenv_fn *env, void *env_ctx, struct sched_config *c,
                            struct pc_err *err)
{
    const char *v = env_get(env, env_ctx, "PEACE_PLUGINS");
    const char *flags[SCHED_PLUGINS_MAX];
    size_t n_flags = c->n_plugins;
    char *p = NULL;

    if (v == NULL) {
        return 0;
    }
    if (strlen(v) > SCHED_PLUGINS_ENV_MAX) {
        return pc_err_set(err, PC_EINVAL, "PEACE_PLUGINS: longer than %d bytes",
                          SCHED_PLUGINS_ENV_MAX);
    }
    memcpy(flags, c->plugins, n_flags * sizeof(flags[0]));
    memcpy(c->plugins_env, v, strlen(v) + 1);
    c->n_plugins = 0;
    p = c->plugins_env;
    while (p != NULL) {
        char *colon = strchr(p, ':');

        if (colon != NULL) {
            *colon = '\0';
        }
        if (p[0] != '\0') {
            if (c->n_plugins == SCHED_PLUGINS_MAX) {
                return pc_err_set(err, PC_EINVAL, "at most %d plugins (PEACE_PLUGINS and --plugin)",
                                  SCHED_PLUGINS_MAX);
            }
            c->plugins[c->n_plugins++] = p;
        }
        p = colon != NULL ? colon + 1 : NULL;
    }
    if (c->n_plugins + n_flags > SCHED_PLUGINS_MAX) {
        return pc_err_set(err, PC_EINVAL, "at most %d plugins (PEACE_PLUGINS and --plugin)",
                          SCHED_PLUGINS_MAX);
    }
    memcpy(c->plugins + c->n_plugins, flags, n_flags * sizeof(flags[0]));
    c->n_plugins += n_flags;
    return 0;
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
        /* Pointers into plugins_env must point into the caller's copy. */
        if (!out->help && !out->version) {
            rc = take_env_plugins(env, env_ctx, out, err);
        }
    }
    free(c);
    return rc;
}

int sched_config_generate_token(struct sched_config *cfg, struct pc_err *err)
{
    int rc;

    if (cfg->no_auth || cfg->token_len > 0 || cfg->read_token_len > 0 ||
        cfg->interrupt_token_len > 0) {
        return 0;
    }
    rc = web_token_generate(cfg->token, sizeof(cfg->token), &cfg->token_len, err);
    cfg->token_generated = rc == 0;
    return rc;
}

void sched_dashboard_url(const struct sched_config *cfg, uint16_t port, bool with_token, char *out,
                         size_t out_size)
{
    web_url_format(cfg->listen_host, port, with_token ? cfg->token : NULL, out, out_size);
}

void sched_guard_from_config(const struct sched_config *cfg, struct sched_guard *g)
{
    memset(g, 0, sizeof(*g));
    g->tokens[SCHED_SCOPE_ALL].p = cfg->token;
    g->tokens[SCHED_SCOPE_ALL].n = cfg->token_len;
    g->tokens[SCHED_SCOPE_READ].p = cfg->read_token;
    g->tokens[SCHED_SCOPE_READ].n = cfg->read_token_len;
    g->tokens[SCHED_SCOPE_INTERRUPT].p = cfg->interrupt_token;
    g->tokens[SCHED_SCOPE_INTERRUPT].n = cfg->interrupt_token_len;
    g->no_auth = cfg->no_auth;
    g->listen_host = cfg->listen_host;
    g->allow_hosts = cfg->allow_hosts;
    g->allow_origins = cfg->allow_origins;
}
