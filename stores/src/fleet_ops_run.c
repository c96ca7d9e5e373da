/*
 * fleet_ops_run.c - the loops that send an operation's rounds
 * (peace/fleet_ops.h): on a blocking client, and on an asynchronous
 * connection (every reply is copied, as hiredis lends it only to its
 * callback, and the round is fed when the last one arrived).
 */
#include <stdlib.h>
#include <string.h>

#include "fleet_ops_int.h"
#include "peace/submit.h"

#define ARGV_MAX 64

int pc_fop_run_sync(struct pc_redis_sync *s, struct pc_fop *op, struct pc_err *err)
{
    for (;;) {
        const struct pc_redis_args *cmds = NULL;
        redisReply **replies = NULL;
        size_t n = 0;
        int rc = 0;

        pc_fop_round(op, &cmds, &n);
        if (n == 0) {
            return 0;
        }
        replies = calloc(n, sizeof(*replies));
        if (replies == NULL) {
            return pc_err_set(err, PC_ENOMEM, "out of memory");
        }
        for (size_t i = 0; rc == 0 && i < n; i++) {
            const char *argv[ARGV_MAX];

            if (cmds[i].n > ARGV_MAX) {
                rc = pc_err_set(err, PC_EINTERNAL, "a command of %zu arguments", cmds[i].n);
                break;
            }
            pc_redis_args_argv(&cmds[i], argv);
            rc = pc_redis_sync_append(s, (int)cmds[i].n, argv, cmds[i].lens, err);
        }
        for (size_t i = 0; rc == 0 && i < n; i++) {
            rc = pc_redis_sync_get_reply(s, &replies[i], err);
        }
        if (rc != 0) {
            for (size_t i = 0; i < n; i++) {
                if (replies[i] != NULL) {
                    freeReplyObject(replies[i]);
                }
            }
            free(replies);
            return rc;
        }
        rc = pc_fop_feed(op, replies, n, err);
        free(replies);
        if (rc != 0) {
            return rc;
        }
    }
}

struct runner;

struct slot {
    struct runner *r;
    size_t i;
};

struct runner {
    struct pc_redis_conn *c;
    struct pc_fop *op;
    pc_fop_done_cb *done;
    void *arg;
    redisReply **replies;
    struct slot *slots;
    size_t n;
    size_t pending;
};

static void runner_send(struct runner *r);

static void runner_finish(struct runner *r, int rc, const struct pc_err *err)
{
    r->done(r->arg, r->op, rc, err);
    free(r->replies);
    free(r->slots);
    free(r);
}

static void runner_settle(struct runner *r)
{
    struct pc_err err;
    int rc;

    if (--r->pending > 0) {
        return;
    }
    pc_err_clear(&err);
    rc = pc_fop_feed(r->op, r->replies, r->n, &err);
    free(r->replies);
    free(r->slots);
    r->replies = NULL;
    r->slots = NULL;
    if (rc != 0) {
        runner_finish(r, rc, &err);
        return;
    }
    runner_send(r);
}

static void on_reply(void *arg, const redisReply *reply)
{
    struct slot *s = arg;

    s->r->replies[s->i] = reply != NULL ? pc_redis_reply_dup(reply) : NULL;
    runner_settle(s->r);
}

static void runner_send(struct runner *r)
{
    const struct pc_redis_args *cmds = NULL;
    struct pc_err err;
    size_t n = 0;

    pc_fop_round(r->op, &cmds, &n);
    if (n == 0) {
        pc_err_clear(&err);
        runner_finish(r, 0, &err);
        return;
    }
    r->replies = calloc(n, sizeof(*r->replies));
    r->slots = calloc(n, sizeof(*r->slots));
    if (r->replies == NULL || r->slots == NULL) {
        pc_err_clear(&err);
        (void)pc_err_set(&err, PC_ENOMEM, "out of memory");
        runner_finish(r, PC_ENOMEM, &err);
        return;
    }
    r->n = n;
    r->pending = n + 1; /* one more until every command is sent */
    for (size_t i = 0; i < n; i++) {
        r->slots[i].r = r;
        r->slots[i].i = i;
        if (pc_redis_cmd_args(r->c, &cmds[i], 0, on_reply, &r->slots[i]) != 0) {
            r->pending--; /* not sent: its reply stays NULL */
        }
    }
    runner_settle(r);
}

int pc_fop_run_async(struct pc_redis_conn *c, struct pc_fop *op, pc_fop_done_cb *done, void *arg)
{
    struct runner *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        return PC_ENOMEM;
    }
    r->c = c;
    r->op = op;
    r->done = done;
    r->arg = arg;
    runner_send(r);
    return 0;
}
