/*
 * backlog.c - peace-backlog: queues a backlog of N one-item executions for the
 * fleet benchmarks, each of its own profile (so its own slots), through the
 * one submit (pc_submit_args) on the Redis layer every program uses
 * (redis_sync.h): any URL, redis:// or redis+cluster://, and a queue of P
 * partitions. One pipelined connection, so a backlog of thousands is queued
 * in a fraction of a second instead of one `peace run --detach` process per
 * execution.
 *
 *   peace-backlog --redis URL [--prefix P] [--queue Q] [--partitions P] [--marker-dir DIR] N
 *
 * Item: `sleep` with steps=1, step_ms=0 and a marker file DIR/bN.done.
 * Prints "queued=N partitions=P" and, per partition, "partition=I entries=K".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/buf.h"
#include "peace/cmd.h"
#include "peace/flow.h"
#include "peace/keys.h"
#include "peace/msg.h"
#include "peace/redis_sync.h"
#include "peace/redis_url.h"
#include "peace/submit.h"
#include "peace/ulid.h"

#define BACKLOG_MAX   1000000ul
#define PIPELINE_MAX  500u /* submissions in flight before their replies are read */
#define ARGV_MAX      32
#define BACKLOG_QUEUE "default"

static int usage(void)
{
    (void)fprintf(stderr,
                  "usage: peace-backlog --redis URL [--prefix P] [--queue Q] [--partitions P] "
                  "[--marker-dir DIR] N\n");
    return 2;
}

/* Reads the replies of `pending` commands; counts error replies. */
static int drain(struct pc_redis_sync *s, size_t pending, size_t *errors)
{
    struct pc_err err;

    for (size_t i = 0; i < pending; i++) {
        redisReply *r = NULL;

        if (pc_redis_sync_get_reply(s, &r, &err) != 0) {
            (void)fprintf(stderr, "peace-backlog: %s\n", err.msg);
            return -1;
        }
        if (r->type == REDIS_REPLY_ERROR && (*errors)++ == 0) {
            (void)fprintf(stderr, "peace-backlog: %.*s\n", (int)(r->len < 200 ? r->len : 200),
                          r->str);
        }
        freeReplyObject(r);
    }
    return 0;
}

/* Queues one execution of a one-item flow of profile p<i>. */
static int submit_one(struct pc_redis_sync *s, struct pc_ulid_gen *gen, const char *prefix,
                      const char *queue, unsigned parts, const char *marker_dir, unsigned long i,
                      unsigned long *per_part)
{
    char json[1024];
    struct msg_job job;
    struct pc_buf bytes;
    struct pc_redis_args a[PC_SUBMIT_CMDS];
    enum pc_block_kind blocks[PC_BLOCKS_MAX];
    struct pc_err err;
    int n;
    int rc;

    memset(&job, 0, sizeof(job));
    pc_buf_init(&bytes, MSG_JOB_MAX);
    n = snprintf(json, sizeof(json),
                 "{\"app\":\"bench\",\"profile\":\"p%lu\",\"flow\":\"f\",\"items\":[{\"id\":\"a\","
                 "\"type\":\"sleep\",\"params\":{\"steps\":1,\"step_ms\":0,\"marker\":\"%s/"
                 "b%lu.done\"}}]}",
                 i, marker_dir, i);
    rc = n < 0 || (size_t)n >= sizeof(json) ? PC_ELIMIT : 0;
    rc = rc == 0 ? pc_flow_parse_json(json, (size_t)n, "backlog", &job.flow, &err) : rc;
    rc = rc == 0 ? pc_ulid_next(gen, job.id, &err) : rc;
    rc = rc == 0 ? pc_id_set(&job.queue, queue, strlen(queue), "queue", &err) : rc;
    if (rc == 0) {
        job.cmd = PC_CMD_DISCOVER;
        job.sync = PC_SYNC_BOTH;
        job.strategy.kind = PC_STRATEGY_FINISH_CURRENT;
        job.created_ms = pc_ulid_time_ms(job.id, PC_ULID_LEN);
        pc_submit_colocate_id(job.id, job.flow.app.s, job.flow.profile.s);
        rc = msg_job_encode(&job, &bytes, &err);
    }
    if (rc == 0) {
        rc = pc_submit_args(prefix, parts, &job, bytes.data, bytes.len,
                            pc_cmd_blocks(job.cmd, job.sync, blocks), a);
        for (size_t k = 0; rc == 0 && k < PC_SUBMIT_CMDS; k++) {
            const char *argv[ARGV_MAX];

            rc = a[k].n <= ARGV_MAX ? 0 : PC_ELIMIT;
            if (rc == 0) {
                pc_redis_args_argv(&a[k], argv);
                rc = pc_redis_sync_append(s, (int)a[k].n, argv, a[k].lens, &err);
            }
        }
        for (size_t k = 0; k < PC_SUBMIT_CMDS; k++) {
            pc_redis_args_cleanup(&a[k]);
        }
        per_part[pc_queue_partition_of(job.id, parts)]++;
    }
    if (rc != 0) {
        (void)fprintf(stderr, "peace-backlog: execution %lu: %s\n", i,
                      err.msg[0] != '\0' ? err.msg : "cannot build the submit");
    }
    pc_buf_cleanup(&bytes);
    msg_job_cleanup(&job);
    return rc;
}

int main(int argc, char **argv)
{
    const char *url_text = NULL;
    const char *queue = BACKLOG_QUEUE;
    const char *prefix = "peace";
    const char *marker_dir = "/tmp";
    unsigned parts = 1;
    unsigned long n = 0;
    unsigned long per_part[PC_PARTITIONS_MAX] = {0};
    struct pc_redis_url url;
    struct pc_redis_sync *s = NULL;
    struct pc_ulid_gen gen;
    struct pc_err err;
    size_t pending = 0;
    size_t errors = 0;
    int rc = 0;

    pc_err_clear(&err);
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;

        if (strcmp(argv[i], "--redis") == 0 && v != NULL) {
            url_text = argv[++i];
        } else if (strcmp(argv[i], "--prefix") == 0 && v != NULL) {
            prefix = argv[++i];
        } else if (strcmp(argv[i], "--queue") == 0 && v != NULL) {
            queue = argv[++i];
        } else if (strcmp(argv[i], "--marker-dir") == 0 && v != NULL) {
            marker_dir = argv[++i];
        } else if (strcmp(argv[i], "--partitions") == 0 && v != NULL) {
            if (pc_partitions_parse(argv[++i], &parts, &err) != 0) {
                (void)fprintf(stderr, "peace-backlog: --partitions: %s\n", err.msg);
                return 2;
            }
        } else if (argv[i][0] != '-' && n == 0) {
            n = strtoul(argv[i], &end, 10);
            if (end == NULL || *end != '\0' || n == 0 || n > BACKLOG_MAX) {
                return usage();
            }
        } else {
            return usage();
        }
    }
    if (url_text == NULL || n == 0) {
        return usage();
    }
    if (pc_redis_url_parse(url_text, &url, &err) != 0 ||
        pc_redis_sync_connect(&url, 5000, 30000, &s, &err) != 0) {
        (void)fprintf(stderr, "peace-backlog: %s\n", err.msg);
        return 1;
    }
    pc_ulid_gen_init(&gen, NULL, NULL, NULL, NULL);
    for (unsigned long i = 1; rc == 0 && i <= n; i++) {
        rc = submit_one(s, &gen, prefix, queue, parts, marker_dir, i, per_part);
        pending += PC_SUBMIT_CMDS;
        if (rc == 0 && pending >= (size_t)PC_SUBMIT_CMDS * PIPELINE_MAX) {
            rc = drain(s, pending, &errors);
            pending = 0;
        }
    }
    if (rc == 0) {
        rc = drain(s, pending, &errors);
    }
    pc_redis_sync_destroy(s);
    if (rc != 0 || errors > 0) {
        (void)fprintf(stderr, "peace-backlog: %zu error replies\n", errors);
        return 1;
    }
    (void)printf("queued=%lu partitions=%u\n", n, parts);
    for (unsigned p = 0; p < parts; p++) {
        (void)printf("partition=%u entries=%lu\n", p, per_part[p]);
    }
    return 0;
}
