/*
 * redis_client.c - the CLI's blocking Redis connection (pc_redis_sync: the
 * fleet's one Redis layer, standalone or Redis Cluster) and the one place
 * where its error model becomes the CLI's.
 *
 * A command that did not complete means the connection is unusable:
 * PC_EREDIS, and cli_redis_reconnect can dial again with the same settings.
 * An error reply is PC_EREDIS too, with the server's text; the connection
 * stays usable. Commands time out after CLI_REDIS_TIMEOUT_MS, so a hung
 * server cannot hang the CLI (the blocking reads of a follower use much
 * shorter BLOCK times).
 */
#include "redis_client.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/keys.h"
#include "peace/redis_sync.h"
#include "peace/redis_url.h"

#define CLI_REDIS_CONNECT_TIMEOUT_MS 3000
#define CLI_REDIS_TIMEOUT_MS         10000
#define CLI_REDIS_ARGS_MAX           32

struct cli_redis {
    struct pc_redis_sync *sync; /* owned; NULL until connected */
    struct pc_redis_url url;
    char where[PC_REDIS_HOST_MAX + 32]; /* "host:port" for messages */
    char prefix[PC_PREFIX_MAX + 1];
};

/* Turns an error reply into PC_EREDIS (the reply is freed). */
static int reply_error(struct cli_redis *r, redisReply *rep, const char *what, struct pc_err *err)
{
    int rc = pc_err_set(err, PC_EREDIS, "Redis at %s: %s: %.*s", r->where, what,
                        (int)(rep->len < 200 ? rep->len : 200), rep->str != NULL ? rep->str : "");

    freeReplyObject(rep);
    return rc;
}

static int dial(struct cli_redis *r, struct pc_err *err)
{
    if (r->sync != NULL) {
        return pc_redis_sync_reconnect(r->sync, err);
    }
    return pc_redis_sync_connect(&r->url, CLI_REDIS_CONNECT_TIMEOUT_MS, CLI_REDIS_TIMEOUT_MS,
                                 &r->sync, err);
}

int cli_redis_connect(const char *url, const char *prefix, struct cli_redis **out,
                      struct pc_err *err)
{
    struct cli_redis *r;
    int rc;

    rc = pc_prefix_check(prefix, err);
    if (rc != 0) {
        return rc;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    memcpy(r->prefix, prefix, strlen(prefix) + 1);
    rc = pc_redis_url_parse(url, &r->url, err);
    if (rc != 0) {
        goto out;
    }
    if (pc_redis_url_describe(&r->url, r->where, sizeof(r->where)) < 0) {
        memcpy(r->where, "?", 2);
    }
    rc = dial(r, err);
out:
    if (rc != 0) {
        cli_redis_destroy(r);
        return rc;
    }
    *out = r;
    return 0;
}

void cli_redis_destroy(struct cli_redis *r)
{
    if (r == NULL) {
        return;
    }
    pc_redis_sync_destroy(r->sync);
    /* The password does not outlive the connection in our memory. */
    memset(&r->url, 0, sizeof(r->url));
    free(r);
}

struct pc_redis_sync *cli_redis_sync(struct cli_redis *r)
{
    return r->sync;
}

const char *cli_redis_prefix(const struct cli_redis *r)
{
    return r->prefix;
}

bool cli_redis_broken(const struct cli_redis *r)
{
    return pc_redis_sync_broken(r->sync);
}

int cli_redis_reconnect(struct cli_redis *r, struct pc_err *err)
{
    return dial(r, err);
}

int cli_redis_command(struct cli_redis *r, int argc, const char **argv, const size_t *lens,
                      redisReply **reply, struct pc_err *err)
{
    redisReply *rep = NULL;
    int rc = cli_redis_append(r, argc, argv, lens, err);

    if (rc == 0) {
        rc = cli_redis_get_reply(r, &rep, err);
    }
    if (rc != 0) {
        return rc;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        return reply_error(r, rep, argv[0], err);
    }
    *reply = rep;
    return 0;
}

int cli_redis_cmd(struct cli_redis *r, redisReply **reply, struct pc_err *err, ...)
{
    const char *argv[CLI_REDIS_ARGS_MAX];
    size_t lens[CLI_REDIS_ARGS_MAX];
    int argc = 0;
    const char *a;
    va_list ap;

    va_start(ap, err);
    while ((a = va_arg(ap, const char *)) != NULL) {
        if (argc == CLI_REDIS_ARGS_MAX) {
            va_end(ap);
            return pc_err_set(err, PC_EINTERNAL, "too many Redis command arguments");
        }
        argv[argc] = a;
        lens[argc] = strlen(a);
        argc++;
    }
    va_end(ap);
    if (argc == 0) {
        return pc_err_set(err, PC_EINTERNAL, "empty Redis command");
    }
    return cli_redis_command(r, argc, argv, lens, reply, err);
}

int cli_redis_append(struct cli_redis *r, int argc, const char **argv, const size_t *lens,
                     struct pc_err *err)
{
    if (cli_redis_broken(r)) {
        return pc_err_set(err, PC_EREDIS, "Redis at %s: not connected", r->where);
    }
    return pc_redis_sync_append(r->sync, argc, argv, lens, err);
}

int cli_redis_get_reply(struct cli_redis *r, redisReply **reply, struct pc_err *err)
{
    if (r->sync == NULL) {
        return pc_err_set(err, PC_EREDIS, "Redis at %s: not connected", r->where);
    }
    return pc_redis_sync_get_reply(r->sync, reply, err);
}

bool cli_reply_str(const redisReply *rep, const char **p, size_t *n)
{
    if (rep == NULL || (rep->type != REDIS_REPLY_STRING && rep->type != REDIS_REPLY_STATUS)) {
        return false;
    }
    *p = rep->str;
    *n = rep->len;
    return true;
}

const redisReply *cli_reply_field(const redisReply *arr, const char *field)
{
    size_t flen = strlen(field);

    if (arr == NULL || arr->type != REDIS_REPLY_ARRAY) {
        return NULL;
    }
    for (size_t i = 0; i + 1 < arr->elements; i += 2) {
        const redisReply *k = arr->element[i];

        if (k->type == REDIS_REPLY_STRING && k->len == flen && memcmp(k->str, field, flen) == 0) {
            return arr->element[i + 1];
        }
    }
    return NULL;
}
