/*
 * redis_client.c - the CLI's synchronous hiredis connection and the one place
 * where hiredis's error model becomes ours.
 *
 * A NULL reply or REDIS_ERR means the connection is unusable (c->err and
 * c->errstr say why): PC_EREDIS, and the context is kept so that
 * cli_redis_reconnect can dial again with the same settings. An error reply
 * is PC_EREDIS too, with the server's text; the connection stays usable.
 * Commands time out after CLI_REDIS_TIMEOUT_MS, so a hung server cannot hang
 * the CLI (the blocking reads of a follower use much shorter BLOCK times).
 */
#include "redis_client.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "peace/keys.h"
#include "peace/redis_url.h"

#define CLI_REDIS_CONNECT_TIMEOUT_MS 3000
#define CLI_REDIS_TIMEOUT_MS         10000
#define CLI_REDIS_ARGS_MAX           32

struct cli_redis {
    redisContext *ctx; /* owned */
    struct pc_redis_url url;
    char where[PC_REDIS_HOST_MAX + 16]; /* "host:port" for messages */
    char prefix[PC_PREFIX_MAX + 1];
};

static struct timeval ms_to_tv(long ms)
{
    struct timeval tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}

/* Records the failure of a context-level call and returns PC_EREDIS. */
static int context_error(struct cli_redis *r, const char *what, struct pc_err *err)
{
    const char *reason = r->ctx != NULL && r->ctx->err != 0 ? r->ctx->errstr : "no reply";

    if (r->ctx != NULL && r->ctx->err == 0) {
        /* Make cli_redis_broken() true: the reply stream is out of step now. */
        r->ctx->err = REDIS_ERR_OTHER;
    }
    return pc_err_set(err, PC_EREDIS, "Redis at %s: %s: %s", r->where, what, reason);
}

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
    struct timeval connect_tv = ms_to_tv(CLI_REDIS_CONNECT_TIMEOUT_MS);
    redisReply *rep = NULL;
    char db_text[16];
    int rc;

    if (r->ctx != NULL) {
        redisFree(r->ctx);
        r->ctx = NULL;
    }
    r->ctx = r->url.unix_socket ? redisConnectUnixWithTimeout(r->url.path, connect_tv)
                                : redisConnectWithTimeout(r->url.host, r->url.port, connect_tv);
    if (r->ctx == NULL) {
        return pc_err_set(err, PC_ENOMEM, "Redis at %s: cannot allocate a connection", r->where);
    }
    if (r->ctx->err != 0) {
        return pc_err_set(err, PC_EREDIS, "cannot connect to Redis at %s: %s", r->where,
                          r->ctx->errstr);
    }
    if (redisSetTimeout(r->ctx, ms_to_tv(CLI_REDIS_TIMEOUT_MS)) != REDIS_OK) {
        return context_error(r, "setting the timeout", err);
    }
    if (r->url.password[0] != '\0') {
        if (r->url.user[0] != '\0') {
            rc = cli_redis_cmd(r, &rep, err, "AUTH", r->url.user, r->url.password, (char *)NULL);
        } else {
            rc = cli_redis_cmd(r, &rep, err, "AUTH", r->url.password, (char *)NULL);
        }
        if (rc != 0) {
            /* The server's text never holds the password; ours says what failed. */
            return rc;
        }
        freeReplyObject(rep);
    }
    if (r->url.db != 0) {
        (void)snprintf(db_text, sizeof(db_text), "%d", r->url.db);
        rc = cli_redis_cmd(r, &rep, err, "SELECT", db_text, (char *)NULL);
        if (rc != 0) {
            return rc;
        }
        freeReplyObject(rep);
    }
    return 0;
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
    if (r->ctx != NULL) {
        redisFree(r->ctx);
    }
    /* The password does not outlive the connection in our memory. */
    memset(&r->url, 0, sizeof(r->url));
    free(r);
}

const char *cli_redis_prefix(const struct cli_redis *r)
{
    return r->prefix;
}

bool cli_redis_broken(const struct cli_redis *r)
{
    return r->ctx == NULL || r->ctx->err != 0;
}

int cli_redis_reconnect(struct cli_redis *r, struct pc_err *err)
{
    return dial(r, err);
}

int cli_redis_command(struct cli_redis *r, int argc, const char **argv, const size_t *lens,
                      redisReply **reply, struct pc_err *err)
{
    redisReply *rep;

    if (cli_redis_broken(r)) {
        return pc_err_set(err, PC_EREDIS, "Redis at %s: not connected", r->where);
    }
    rep = redisCommandArgv(r->ctx, argc, argv, lens);
    if (rep == NULL) {
        return context_error(r, argv[0], err);
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
    if (redisAppendCommandArgv(r->ctx, argc, argv, lens) != REDIS_OK) {
        return context_error(r, argv[0], err);
    }
    return 0;
}

int cli_redis_get_reply(struct cli_redis *r, redisReply **reply, struct pc_err *err)
{
    void *rep = NULL;

    if (cli_redis_broken(r)) {
        return pc_err_set(err, PC_EREDIS, "Redis at %s: not connected", r->where);
    }
    if (redisGetReply(r->ctx, &rep) != REDIS_OK || rep == NULL) {
        return context_error(r, "reading a reply", err);
    }
    *reply = rep;
    return 0;
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
