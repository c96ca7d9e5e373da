/*
 * config.c - peace-worker flags and environment (CONTRACT §1).
 *
 * Parsing is a pure function of argv and an environment lookup, so tests
 * drive it with tables. Every value is range-checked; errors are one line
 * naming the flag (or variable) and the accepted range. Flags take their
 * value as the next argument or after '=' ("--lease-ms 5000",
 * "--lease-ms=5000"). The Redis URL is never echoed (it may hold a password).
 */
#include "worker/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/secret.h"

#define DEFAULT_URL          "redis://127.0.0.1:6379"
#define DEFAULT_PREFIX       "peace"
#define DEFAULT_QUEUE        "default"
#define DEFAULT_CONCURRENCY  4u
#define DEFAULT_LEASE_MS     10000u
#define DEFAULT_GRACE_MS     30000u
#define DEFAULT_MAX_ATTEMPTS 3u
#define DEFAULT_RETENTION_S  604800u /* 7 days */
#define DEFAULT_FLUSH_MS     40u
#define FLUSH_MS_MIN         5u
#define FLUSH_MS_MAX         10000u
#define LEASE_MS_MIN         300u
#define LEASE_MS_MAX         3600000u
#define GRACE_MS_MAX         86400000u
#define ATTEMPTS_MAX         1000u
#define RETENTION_S_MAX      (10ull * 365u * 24u * 3600u)

static const char usage_text[] =
    "usage: peace-worker [options]\n"
    "Runs peace executions from a Redis queue stream (see CONTRACT §1).\n"
    "\n"
    "  --redis URL          redis://[user:password@]host:port[/db] or unix://path\n"
    "                       (env PEACE_REDIS_URL; default " DEFAULT_URL ")\n"
    "  --redis-url-file F   the Redis URL from a file, so its password is not in ps\n"
    "                       (env PEACE_REDIS_URL_FILE)\n"
    "  --prefix P           key prefix (env PEACE_PREFIX; default " DEFAULT_PREFIX ")\n"
    "  --queue Q            queue to run (env PEACE_QUEUE; default " DEFAULT_QUEUE ")\n"
    "  --partitions P       the queue's partitions, 1..64: streams {Q:0}..{Q:P-1}, or\n"
    "                       {Q} when 1 (env PEACE_QUEUE_PARTITIONS; default 1; the\n"
    "                       same P as the submitters)\n"
    "  --concurrency N      executions at once, 1..256 (env PEACE_CONCURRENCY; default 4)\n"
    "  --threads N          threads for item work, 1..1024 (env PEACE_THREADS;\n"
    "                       default 8 x concurrency, max 256)\n"
    "  --lease-ms MS        how long a silent worker keeps its executions, and its\n"
    "                       heartbeat lives (env PEACE_LEASE_MS; default 10000)\n"
    "  --grace-ms MS        on SIGTERM, wait this long for running executions\n"
    "                       (env PEACE_GRACE_MS; default 30000)\n"
    "  --max-attempts N     give up on an execution after N starts (env PEACE_MAX_ATTEMPTS;\n"
    "                       default 3)\n"
    "  --retention-s S      finished executions' keys expire after S seconds (env "
    "PEACE_RETENTION_S)\n"
    "                       (default 604800 = 7 days; 0 = never)\n"
    "  --progress-flush-ms MS  write a running execution's progress at most every MS\n"
    "                       (env PEACE_PROGRESS_FLUSH_MS),\n"
    "                       5..10000 (default 40: what a dashboard shows is at most\n"
    "                       this old; each flush is one script call per execution)\n"
    "  --events-layout 1|2  2 (default): an execution writes its events stream only\n"
    "                       once it outlives one progress flush or is followed;\n"
    "                       1: always (while followers older than that read the\n"
    "                       stream without registering; env PEACE_EVENTS_LAYOUT)\n"
    "  --plugin PATH.so     load custom item types (repeatable; env PEACE_PLUGINS, a\n"
    "                       ':'-separated list the flags add to)\n"
    "  --item-types T,...   the only item types this worker runs; a job with another\n"
    "                       type is rejected (env PEACE_ITEM_TYPES; default all registered)\n"
    "  --file-root DIR      paths of file and http_download items must stay inside DIR\n"
    "                       (no '..', no symlink escape); others are rejected\n"
    "                       (env PEACE_FILE_ROOT; default no confinement)\n"
    "  --log-level L        debug, info, warn or error (env PEACE_LOG_LEVEL; default info)\n"
    "  --metrics-listen HOST:PORT  serve Prometheus metrics at http://HOST:PORT/metrics\n"
    "                       (env PEACE_METRICS_LISTEN; default off; docs/metrics.md)\n"
    "  --help, --version\n";

const char *wk_config_usage(void)
{
    return usage_text;
}

static int parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;

    if (text == NULL || text[0] < '0' || text[0] > '9') {
        return PC_EINVAL;
    }
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max) {
        return PC_EINVAL;
    }
    *out = v;
    return 0;
}

static int set_number(const char *flag, const char *text, uint64_t min, uint64_t max, uint64_t *out,
                      struct pc_err *err)
{
    if (parse_u64(text, min, max, out) != 0) {
        return pc_err_set(err, PC_EINVAL, "%s: expected a whole number from %llu to %llu", flag,
                          (unsigned long long)min, (unsigned long long)max);
    }
    return 0;
}

static int set_text(const char *flag, const char *text, char *out, size_t size, struct pc_err *err)
{
    if (strlen(text) >= size) {
        return pc_err_set(err, PC_EINVAL, "%s: longer than %zu bytes", flag, size - 1);
    }
    (void)snprintf(out, size, "%s", text);
    return 0;
}

/* Flags that take a value. */
static const char *const value_flags[] = {
    "--redis",       "--prefix",        "--queue",          "--concurrency",
    "--threads",     "--lease-ms",      "--grace-ms",       "--max-attempts",
    "--retention-s", "--plugin",        "--log-level",      "--progress-flush-ms",
    "--item-types",  "--file-root",     "--metrics-listen", "--redis-url-file",
    "--partitions",  "--events-layout",
};

static bool takes_value(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof(value_flags) / sizeof(value_flags[0]); i++) {
        if (strlen(value_flags[i]) == n && memcmp(value_flags[i], name, n) == 0) {
            return true;
        }
    }
    return false;
}

struct parse_state {
    struct wk_config c;
    bool threads_set;
    const char *url;
    const char *url_file; /* --redis-url-file */
    const char *prefix;
    const char *queue;
    const char *log_level;
};

static int apply_flag(struct parse_state *ps, const char *flag, const char *value,
                      struct pc_err *err)
{
    struct wk_config *c = &ps->c;
    uint64_t v = 0;
    int rc = 0;

    if (strcmp(flag, "--redis") == 0) {
        ps->url = value;
    } else if (strcmp(flag, "--redis-url-file") == 0) {
        ps->url_file = value;
    } else if (strcmp(flag, "--prefix") == 0) {
        ps->prefix = value;
    } else if (strcmp(flag, "--queue") == 0) {
        ps->queue = value;
    } else if (strcmp(flag, "--log-level") == 0) {
        ps->log_level = value;
    } else if (strcmp(flag, "--concurrency") == 0) {
        rc = set_number(flag, value, 1, WK_CONCURRENCY_MAX, &v, err);
        c->concurrency = (unsigned)v;
    } else if (strcmp(flag, "--threads") == 0) {
        rc = set_number(flag, value, 1, WK_THREADS_MAX, &v, err);
        c->threads = (unsigned)v;
        ps->threads_set = true;
    } else if (strcmp(flag, "--partitions") == 0) {
        rc = set_number(flag, value, 1, PC_PARTITIONS_MAX, &v, err);
        c->partitions = (unsigned)v;
    } else if (strcmp(flag, "--lease-ms") == 0) {
        rc = set_number(flag, value, LEASE_MS_MIN, LEASE_MS_MAX, &v, err);
        c->lease_ms = (uint32_t)v;
    } else if (strcmp(flag, "--grace-ms") == 0) {
        rc = set_number(flag, value, 0, GRACE_MS_MAX, &v, err);
        c->grace_ms = (uint32_t)v;
    } else if (strcmp(flag, "--max-attempts") == 0) {
        rc = set_number(flag, value, 1, ATTEMPTS_MAX, &v, err);
        c->max_attempts = (unsigned)v;
    } else if (strcmp(flag, "--retention-s") == 0) {
        rc = set_number(flag, value, 0, RETENTION_S_MAX, &v, err);
        c->retention_s = v;
    } else if (strcmp(flag, "--progress-flush-ms") == 0) {
        rc = set_number(flag, value, FLUSH_MS_MIN, FLUSH_MS_MAX, &v, err);
        c->progress_flush_ms = (uint32_t)v;
    } else if (strcmp(flag, "--events-layout") == 0) {
        rc = set_number(flag, value, 1, 2, &v, err);
        c->events_layout = (unsigned)v;
    } else if (strcmp(flag, "--item-types") == 0) {
        c->item_types = value;
    } else if (strcmp(flag, "--file-root") == 0) {
        c->file_root = value;
    } else if (strcmp(flag, "--metrics-listen") == 0) {
        c->metrics_listen = value[0] != '\0' ? value : NULL;
    } else if (strcmp(flag, "--plugin") == 0) {
        if (c->n_plugins == WK_PLUGINS_MAX) {
            return pc_err_set(err, PC_EINVAL, "--plugin: more than %d plugins", WK_PLUGINS_MAX);
        }
        if (value[0] == '\0') {
            return pc_err_set(err, PC_EINVAL, "--plugin: empty path");
        }
        c->plugins[c->n_plugins++] = value;
    } else {
        return pc_err_set(err, PC_EINVAL, "unknown option %s (see --help)", flag);
    }
    return rc;
}

/*
 * Every flag with a value has an environment variable: PEACE_ and the flag's
 * name in capitals with '-' as '_' (PEACE_REDIS_URL, PEACE_PREFIX,
 * PEACE_QUEUE, PEACE_LOG_LEVEL, PEACE_ITEM_TYPES, PEACE_FILE_ROOT and
 * PEACE_METRICS_LISTEN are read in finish()). Values from the environment
 * are applied first, so flags win. PEACE_PLUGINS is a ':'-separated list;
 * --plugin flags add to it.
 */
static const struct {
    const char *flag;
    const char *env;
} env_flags[] = {
    {"--concurrency", "PEACE_CONCURRENCY"},     {"--threads", "PEACE_THREADS"},
    {"--lease-ms", "PEACE_LEASE_MS"},           {"--partitions", "PEACE_QUEUE_PARTITIONS"},
    {"--grace-ms", "PEACE_GRACE_MS"},           {"--max-attempts", "PEACE_MAX_ATTEMPTS"},
    {"--retention-s", "PEACE_RETENTION_S"},     {"--progress-flush-ms", "PEACE_PROGRESS_FLUSH_MS"},
    {"--events-layout", "PEACE_EVENTS_LAYOUT"},
};

static int apply_env(struct parse_state *ps, wk_getenv_fn *fn, void *ctx, struct pc_err *err)
{
    const char *v = NULL;
    char *p = NULL;

    for (size_t i = 0; fn != NULL && i < sizeof(env_flags) / sizeof(env_flags[0]); i++) {
        v = fn(ctx, env_flags[i].env);
        if (v != NULL && v[0] != '\0' && apply_flag(ps, env_flags[i].flag, v, err) != 0) {
            pc_err_prefix(err, "%s", env_flags[i].env);
            return PC_EINVAL;
        }
    }
    v = fn != NULL ? fn(ctx, "PEACE_PLUGINS") : NULL;
    if (v == NULL || v[0] == '\0') {
        return 0;
    }
    if (strlen(v) > WK_PLUGINS_ENV_MAX) {
        return pc_err_set(err, PC_EINVAL, "PEACE_PLUGINS: longer than %d bytes",
                          WK_PLUGINS_ENV_MAX);
    }
    (void)snprintf(ps->c.plugins_env, sizeof(ps->c.plugins_env), "%s", v);
    for (p = ps->c.plugins_env; p != NULL;) {
        char *colon = strchr(p, ':');

        if (colon != NULL) {
            *colon = '\0';
        }
        if (p[0] != '\0' && apply_flag(ps, "--plugin", p, err) != 0) {
            pc_err_prefix(err, "PEACE_PLUGINS");
            return PC_EINVAL;
        }
        p = colon != NULL ? colon + 1 : NULL;
    }
    return 0;
}

static int parse_args(struct parse_state *ps, int argc, char **argv, struct pc_err *err)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq = strchr(arg, '=');
        size_t name_len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
        char flag[32];
        const char *value = NULL;
        int rc;

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            ps->c.help = true;
            continue;
        }
        if (strcmp(arg, "--version") == 0) {
            ps->c.version = true;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0 || name_len >= sizeof(flag) || !takes_value(arg, name_len)) {
            /* Echo only the flag-like start of the argument: the rest could
             * be a URL with a password. */
            size_t shown =
                strspn(arg, "-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");

            return pc_err_set(err, PC_EINVAL, "unknown option %.*s (see --help)",
                              (int)(shown < 40 ? shown : 40), arg);
        }
        memcpy(flag, arg, name_len);
        flag[name_len] = '\0';
        if (eq != NULL) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return pc_err_set(err, PC_EINVAL, "%s needs a value", flag);
        }
        rc = apply_flag(ps, flag, value, err);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static const char *env_or(wk_getenv_fn *fn, void *ctx, const char *name, const char *flag_value)
{
    const char *v = NULL;

    if (flag_value != NULL) {
        return flag_value;
    }
    v = fn != NULL ? fn(ctx, name) : NULL;
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* The Redis URL: --redis, --redis-url-file, PEACE_REDIS_URL or
 * PEACE_REDIS_URL_FILE (peace/secret.h), else the default. */
static int take_redis_url(struct parse_state *ps, wk_getenv_fn *fn, void *ctx, struct pc_err *err)
{
    struct wk_config *c = &ps->c;
    struct pc_secret_src src;
    bool found = false;
    int rc;

    memset(&src, 0, sizeof(src));
    src.flag = "--redis";
    src.file_flag = "--redis-url-file";
    src.env = "PEACE_REDIS_URL";
    src.env_file_var = "PEACE_REDIS_URL_FILE";
    src.value = ps->url;
    src.file = ps->url_file;
    src.env_value = fn != NULL ? fn(ctx, "PEACE_REDIS_URL") : NULL;
    src.env_file = fn != NULL ? fn(ctx, "PEACE_REDIS_URL_FILE") : NULL;
    rc = pc_secret_get(&src, c->redis_text, sizeof(c->redis_text), NULL, &found, err);
    if (rc == 0 && !found) {
        rc = set_text("--redis", DEFAULT_URL, c->redis_text, sizeof(c->redis_text), err);
    }
    return rc == PC_ELIMIT ? PC_EINVAL : rc;
}

static int finish(struct parse_state *ps, wk_getenv_fn *fn, void *ctx, struct pc_err *err)
{
    struct wk_config *c = &ps->c;
    const char *prefix = env_or(fn, ctx, "PEACE_PREFIX", ps->prefix);
    const char *queue = env_or(fn, ctx, "PEACE_QUEUE", ps->queue);
    const char *level = env_or(fn, ctx, "PEACE_LOG_LEVEL", ps->log_level);
    struct pc_err uerr;
    int rc;

    rc = take_redis_url(ps, fn, ctx, err);
    if (rc != 0) {
        return rc;
    }
    pc_err_clear(&uerr);
    if (pc_redis_url_parse(c->redis_text, &c->redis, &uerr) != 0) {
        return pc_err_set(err, PC_EINVAL, "%s: %s",
                          ps->url_file != NULL ? "--redis-url-file" : "--redis", uerr.msg);
    }
    rc = set_text("--prefix", prefix != NULL ? prefix : DEFAULT_PREFIX, c->prefix,
                  sizeof(c->prefix), err);
    if (rc == 0 && pc_prefix_check(c->prefix, &uerr) != 0) {
        rc = pc_err_set(err, PC_EINVAL, "--prefix: %s", uerr.msg);
    }
    if (rc != 0) {
        return rc;
    }
    queue = queue != NULL ? queue : DEFAULT_QUEUE;
    if (!pc_ident_valid(queue, strlen(queue))) {
        return pc_err_set(err, PC_EINVAL,
                          "--queue: expected an identifier ([A-Za-z_][A-Za-z0-9_]*, at most %d "
                          "bytes)",
                          PC_ID_MAX);
    }
    (void)snprintf(c->queue, sizeof(c->queue), "%s", queue);
    if (level != NULL && wk_log_level_parse(level, &c->log_level) != 0) {
        return pc_err_set(err, PC_EINVAL, "--log-level: expected debug, info, warn or error");
    }
    c->item_types = env_or(fn, ctx, "PEACE_ITEM_TYPES", c->item_types);
    c->file_root = env_or(fn, ctx, "PEACE_FILE_ROOT", c->file_root);
    c->metrics_listen = env_or(fn, ctx, "PEACE_METRICS_LISTEN", c->metrics_listen);
    if (!ps->threads_set) {
        unsigned t = c->concurrency * 8u;

        c->threads = t > 256u ? 256u : t;
    }
    return 0;
}

int wk_config_parse(int argc, char **argv, wk_getenv_fn *getenv_fn, void *env_ctx,
                    struct wk_config *out, struct pc_err *err)
{
    struct parse_state *ps = calloc(1, sizeof(*ps));
    int rc;

    if (ps == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    ps->c.concurrency = DEFAULT_CONCURRENCY;
    ps->c.lease_ms = DEFAULT_LEASE_MS;
    ps->c.partitions = 1;
    ps->c.grace_ms = DEFAULT_GRACE_MS;
    ps->c.max_attempts = DEFAULT_MAX_ATTEMPTS;
    ps->c.retention_s = DEFAULT_RETENTION_S;
    ps->c.progress_flush_ms = DEFAULT_FLUSH_MS;
    ps->c.events_layout = 2;
    ps->c.log_level = WK_LOG_INFO;
    rc = apply_env(ps, getenv_fn, env_ctx, err);
    if (rc == 0) {
        rc = parse_args(ps, argc, argv, err);
    }
    if (rc == 0 && !ps->c.help && !ps->c.version) {
        rc = finish(ps, getenv_fn, env_ctx, err);
    }
    if (rc == 0) {
        *out = ps->c;
        /* Paths from PEACE_PLUGINS point into the copy now. */
        for (size_t i = 0; i < out->n_plugins; i++) {
            const char *p = ps->c.plugins[i];

            if (p >= ps->c.plugins_env && p < ps->c.plugins_env + sizeof(ps->c.plugins_env)) {
                out->plugins[i] = out->plugins_env + (p - ps->c.plugins_env);
            }
        }
    }
    free(ps);
    return rc;
}
