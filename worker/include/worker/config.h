/*
 * config.h - peace-worker settings from flags and the environment
 * (CONTRACT §1). A flag wins over its environment variable, which wins over
 * the default.
 */
#ifndef WORKER_CONFIG_H
#define WORKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peace/err.h"
#include "peace/ident.h"
#include "peace/keys.h"
#include "peace/redis_url.h"
#include "worker/log.h"

#define WK_PLUGINS_MAX     64
#define WK_PLUGINS_ENV_MAX 4096
#define WK_URL_MAX         4096
#define WK_CONCURRENCY_MAX 256
#define WK_THREADS_MAX     1024

struct wk_config {
    char redis_text[WK_URL_MAX + 1]; /* as given (for --help/errors only; may hold a password) */
    struct pc_redis_url redis;
    char prefix[PC_PREFIX_MAX + 1];
    char queue[PC_ID_MAX + 1];
    unsigned partitions;        /* the queue's partitions (peace/keys.h); default 1 */
    unsigned concurrency;       /* executions at once; default 4 */
    unsigned threads;           /* item threads; default 8 x concurrency, at most 256 */
    uint32_t lease_ms;          /* default 10000 */
    uint32_t grace_ms;          /* SIGTERM drain; default 30000 */
    unsigned max_attempts;      /* default 3 */
    uint64_t retention_s;       /* finished keys' expiry; default 7 days; 0 = never */
    uint32_t progress_flush_ms; /* progress written at most this often; default 40 */
    unsigned events_layout;     /* 2: events stream on demand (default); 1: always */
    const char *item_types;     /* --item-types T,... (NULL = every registered type); borrowed */
    const char *file_root;      /* --file-root DIR (NULL = none); borrowed */
    const char *metrics_listen; /* --metrics-listen HOST:PORT (NULL = none); borrowed */
    const char *plugins[WK_PLUGINS_MAX];      /* borrowed from argv, or in plugins_env */
    char plugins_env[WK_PLUGINS_ENV_MAX + 1]; /* PEACE_PLUGINS, split at ':' */
    size_t n_plugins;
    enum wk_log_level log_level; /* default info */
    bool help;
    bool version;
};

/* Looks up an environment variable (getenv, or a table in tests). */
typedef const char *wk_getenv_fn(void *ctx, const char *name);

/*
 * Parses argv (argv[0] is the program) and the environment into out
 * (written only on success). A bad flag or value is PC_EINVAL with a
 * one-line reason in err that never repeats a password.
 */
int wk_config_parse(int argc, char **argv, wk_getenv_fn *getenv_fn, void *env_ctx,
                    struct wk_config *out, struct pc_err *err) PC_NODISCARD;

/* The --help text. */
const char *wk_config_usage(void);

#endif /* WORKER_CONFIG_H */
