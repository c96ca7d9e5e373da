/*
 * redis_url.h - Redis connection settings from a URL (CONTRACT §1):
 * `redis://[user:password@]host:port[/db]`, `unix://path[?db=N]` and, for a
 * Redis Cluster, `redis+cluster://[user:password@]host:port[,host:port...]`
 * (seed nodes: any nodes of the cluster, the topology is read from them).
 */
#ifndef PEACE_REDIS_URL_H
#define PEACE_REDIS_URL_H

#include <stdbool.h>

#include "peace/err.h"

#define PC_REDIS_HOST_MAX  255
#define PC_REDIS_PATH_MAX  107 /* sun_path */
#define PC_REDIS_AUTH_MAX  255
#define PC_REDIS_SEEDS_MAX 16

/* One TCP address. */
struct pc_redis_addr {
    char host[PC_REDIS_HOST_MAX + 1];
    int port;
};

struct pc_redis_url {
    bool unix_socket;
    char host[PC_REDIS_HOST_MAX + 1];     /* tcp */
    int port;                             /* tcp; default 6379 */
    char path[PC_REDIS_PATH_MAX + 1];     /* unix */
    char user[PC_REDIS_AUTH_MAX + 1];     /* "" = none (AUTH password only) */
    char password[PC_REDIS_AUTH_MAX + 1]; /* "" = no AUTH */
    int db;                               /* 0 = no SELECT */
    bool cluster;                         /* redis+cluster:// (db is 0) */
    int nseeds;                           /* tcp: 1..PC_REDIS_SEEDS_MAX; seeds[0] = host:port */
    struct pc_redis_addr seeds[PC_REDIS_SEEDS_MAX];
};

/* Parses url; out is written only on success. Errors name the problem (never echo the password). */
int pc_redis_url_parse(const char *url, struct pc_redis_url *out, struct pc_err *err) PC_NODISCARD;

/* "host:port", "unix:path" or "cluster host:port,..." for log lines (no
 * credentials). */
int pc_redis_url_describe(const struct pc_redis_url *u, char *out, size_t out_size);

#endif
