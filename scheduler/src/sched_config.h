/*
 * sched_config.h - peace-scheduler's settings (CONTRACT §1): flags, with the
 * environment as fallback, parsed once into an immutable value.
 */
#ifndef SCHED_CONFIG_H
#define SCHED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peace/err.h"
#include "peace/ident.h"
#include "peace/keys.h"
#include "peace/redis_url.h"
#include "sched_guard.h"
#include "sched_http.h"

#define SCHED_VERSION "0.1.0"

#define SCHED_DEFAULT_LISTEN   "127.0.0.1:7117"
#define SCHED_DEFAULT_REDIS    "redis://127.0.0.1:6379"
#define SCHED_DEFAULT_PREFIX   "peace"
#define SCHED_DEFAULT_QUEUE    "default"
#define SCHED_DEFAULT_MAX_BODY (8u << 20)
#define SCHED_DEFAULT_MAX_SSE  256u
#define SCHED_MAX_BODY_LIMIT   (64u << 20)
#define SCHED_MAX_SSE_LIMIT    65536u
#define SCHED_PLUGINS_MAX      32
#define SCHED_HOST_MAX         255

struct sched_config {
    char listen_host[SCHED_HOST_MAX + 1]; /* an address evhttp can bind */
    uint16_t listen_port;                 /* 0 = any free port */
    char token[SCHED_TOKEN_MAX + 1];      /* "" = no authentication */
    size_t token_len;
    struct pc_redis_url redis;
    char prefix[PC_PREFIX_MAX + 1];
    struct pc_id queue; /* queue of submissions that name none; reported by /metrics */
    size_t max_body;    /* bytes */
    unsigned max_sse;   /* event streams at once */
    const char *plugins[SCHED_PLUGINS_MAX]; /* borrowed from argv */
    size_t n_plugins;
    bool help;    /* --help: print usage, exit 0 */
    bool version; /* --version */
};

/* Looks up an environment variable (getenv in production); NULL = unset. */
typedef const char *sched_getenv_fn(void *ctx, const char *name);

/*
 * Parses argv (argv[0] is the program) with env as fallback for the
 * variables of CONTRACT §1: PEACE_LISTEN, PEACE_TOKEN, PEACE_REDIS_URL,
 * PEACE_PREFIX, PEACE_QUEUE. Flags take "--name value" or "--name=value".
 * Unknown flags, positional arguments, missing or bad values fail with
 * PC_EINVAL and a one-line reason in err. argv strings are borrowed (the
 * plugin paths stay referenced). out is written only on success.
 */
int sched_config_parse(int argc, char **argv, sched_getenv_fn *env, void *env_ctx,
                       struct sched_config *out, struct pc_err *err) PC_NODISCARD;

/* Parses "host:port", "[v6]:port" or ":port" (host 0.0.0.0). Returns 0 or PC_EINVAL. */
int sched_listen_parse(const char *text, char *host, size_t host_size, uint16_t *port,
                       struct pc_err *err) PC_NODISCARD;

/* The guard's view of cfg (sched_guard.h): g borrows from cfg. */
void sched_guard_from_config(const struct sched_config *cfg, struct sched_guard *g);

/* The --help text. */
const char *sched_usage(void);

#endif /* SCHED_CONFIG_H */
