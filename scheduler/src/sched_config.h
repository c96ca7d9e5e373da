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

#define SCHED_DEFAULT_LISTEN    "127.0.0.1:7117"
#define SCHED_DEFAULT_REDIS     "redis://127.0.0.1:6379"
#define SCHED_DEFAULT_PREFIX    "peace"
#define SCHED_DEFAULT_QUEUE     "default"
#define SCHED_DEFAULT_MAX_BODY  (8u << 20)
#define SCHED_DEFAULT_MAX_SSE   256u
#define SCHED_MAX_BODY_LIMIT    (64u << 20)
#define SCHED_MAX_SSE_LIMIT     65536u
#define SCHED_PLUGINS_MAX       32
#define SCHED_PLUGINS_ENV_MAX   4096
#define SCHED_HOST_MAX          255
#define SCHED_ALLOW_MAX         2048  /* bytes of each allow-list */
#define SCHED_READ_TIMEOUT_S    10u   /* default --read-timeout-s */
#define SCHED_REQUEST_TIMEOUT_S 30u   /* default --request-timeout-s */
#define SCHED_MAX_CONNECTIONS   1024u /* default --max-connections */
#define SCHED_TIMEOUT_S_LIMIT   3600u

struct sched_config {
    char listen_host[SCHED_HOST_MAX + 1]; /* an address evhttp can bind */
    uint16_t listen_port;                 /* 0 = any free port */
    char token[SCHED_TOKEN_MAX + 1];      /* --token: every scope; "" = none */
    size_t token_len;
    char read_token[SCHED_TOKEN_MAX + 1]; /* --read-token: GET only */
    size_t read_token_len;
    char interrupt_token[SCHED_TOKEN_MAX + 1]; /* --interrupt-token: GET and interrupt */
    size_t interrupt_token_len;
    bool token_generated; /* token was made at start (sched_config_generate_token) */
    bool no_auth;         /* --no-auth: no token at all (loopback addresses only) */
    char allow_hosts[SCHED_ALLOW_MAX + 1];   /* comma-separated names (--allow-host) */
    char allow_origins[SCHED_ALLOW_MAX + 1]; /* comma-separated origins (--allow-origin) */
    unsigned read_timeout_s;    /* a connection silent this long while read is closed */
    unsigned request_timeout_s; /* a request not fully read this long after: closed */
    unsigned max_connections;   /* client connections open at once */
    struct pc_redis_url redis;
    char prefix[PC_PREFIX_MAX + 1];
    struct pc_id queue;  /* queue of submissions that name none; reported by /metrics */
    unsigned partitions; /* every queue's partitions (peace/keys.h); default 1 */
    size_t max_body;     /* bytes */
    unsigned max_sse;    /* event streams at once */
    /* PEACE_PLUGINS (':'-separated) first, then --plugin flags: borrowed from
     * plugins_env and argv. */
    const char *plugins[SCHED_PLUGINS_MAX];
    size_t n_plugins;
    char plugins_env[SCHED_PLUGINS_ENV_MAX + 1]; /* PEACE_PLUGINS, split in place */
    bool help;                                   /* --help: print usage, exit 0 */
    bool version;                                /* --version */
};

/* Looks up an environment variable (getenv in production); NULL = unset. */
typedef const char *sched_getenv_fn(void *ctx, const char *name);

/*
 * Parses argv (argv[0] is the program) with env as fallback for the
 * variables of CONTRACT §1: PEACE_LISTEN, PEACE_TOKEN, PEACE_READ_TOKEN,
 * PEACE_INTERRUPT_TOKEN, PEACE_REDIS_URL (each secret also as a file:
 * --token-file, PEACE_TOKEN_FILE, ..., --redis-url-file,
 * PEACE_REDIS_URL_FILE), PEACE_PREFIX, PEACE_QUEUE, PEACE_ALLOW_HOSTS,
 * PEACE_ALLOW_ORIGINS, PEACE_PLUGINS (':'-separated paths, before those of
 * --plugin). Flags take "--name value" or "--name=value".
 * Unknown flags, positional arguments, missing or bad values, unreadable
 * secret files, --no-auth with a token or on an address that is not
 * loopback fail with PC_EINVAL (or the file's error) and a one-line reason
 * in err that never holds a secret. argv strings are borrowed (the plugin
 * paths stay referenced). out is written only on success.
 */
int sched_config_parse(int argc, char **argv, sched_getenv_fn *env, void *env_ctx,
                       struct sched_config *out, struct pc_err *err) PC_NODISCARD;

/*
 * When no token of any scope is configured and not no_auth: makes a random
 * token (24 bytes of getrandom, as 48 hex digits) for every scope and sets
 * token_generated. Otherwise does nothing. Returns 0 or -errno.
 */
int sched_config_generate_token(struct sched_config *cfg, struct pc_err *err) PC_NODISCARD;

/*
 * The dashboard's URL for a server of cfg listening on port:
 * "http://HOST:PORT/" (a wildcard listen address shown as the loopback one),
 * with "#token=TOKEN" when the token was generated (the page takes it from
 * there; a fragment is never sent to a server, so never logged).
 */
void sched_dashboard_url(const struct sched_config *cfg, uint16_t port, bool with_token, char *out,
                         size_t out_size);

/* The guard's view of cfg (sched_guard.h): g borrows from cfg. */
void sched_guard_from_config(const struct sched_config *cfg, struct sched_guard *g);

/* The --help text. */
const char *sched_usage(void);

#endif /* SCHED_CONFIG_H */
