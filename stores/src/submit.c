/*
 * submit.c - the commands that queue one execution (peace/submit.h).
 */
#include "peace/submit.h"

#include <string.h>

#include "peace/keys.h"
#include "peace/sha256.h"

/* The id a kept job copy holds in place of the execution's (a rerun gives it
 * a fresh one): any valid ULID does, so the copy decodes as a job. */
static const char copy_id[PC_ULID_LEN + 1] = "00000000000000000000000000";

int pc_submit_job_copy(const struct msg_job *job, struct pc_buf *out,
                       char digest[PC_JOB_DIGEST_LEN + 1], struct pc_err *err)
{
    struct msg_job copy = *job; /* shallow: the flow is only read */
    int rc;

    memcpy(copy.id, copy_id, sizeof(copy_id));
    copy.created_ms = 0;
    rc = msg_job_encode(&copy, out, err);
    if (rc == 0) {
        pc_sha256_hex_of(out->data, out->len, digest);
    }
    return rc;
}

int pc_submit_args(const char *prefix, unsigned partitions, const struct msg_job *job,
                   const void *job_bytes, size_t job_len, size_t blocks_total,
                   struct pc_redis_args a[PC_SUBMIT_CMDS])
{
    char key[PC_KEY_MAX];
    int rc = 0;

    struct pc_buf copy;
    struct pc_err err;
    char digest[PC_JOB_DIGEST_LEN + 1] = "";

    for (size_t i = 0; i < PC_SUBMIT_CMDS; i++) {
        pc_redis_args_init(&a[i]);
    }
    /* The job kept for a rerun (peace/fleet_ops.h), first: the meta names
     * it only once it is there. */
    memset(&copy, 0, sizeof(copy));
    pc_err_clear(&err);
    rc = pc_submit_job_copy(job, &copy, digest, &err);
    pc_redis_args_addz(&a[PC_SUBMIT_COPY], "SET");
    rc = rc == 0 && pc_key_job_copy(key, sizeof(key), prefix, digest) < 0 ? PC_ELIMIT : rc;
    pc_redis_args_addz(&a[PC_SUBMIT_COPY], key);
    pc_redis_args_add(&a[PC_SUBMIT_COPY], copy.data != NULL ? copy.data : "", copy.len);
    pc_redis_args_addz(&a[PC_SUBMIT_COPY], "EX");
    pc_redis_args_addu64(&a[PC_SUBMIT_COPY], PC_JOB_KEEP_S);
    pc_buf_cleanup(&copy);
    pc_redis_args_addz(&a[PC_SUBMIT_META], "HSET");
    rc = pc_key_exec(key, sizeof(key), prefix, job->id) < 0 ? PC_ELIMIT : rc;
    pc_redis_args_addz(&a[PC_SUBMIT_META], key);
    pc_redis_args_addz(&a[PC_SUBMIT_META], "id");
    pc_redis_args_addz(&a[PC_SUBMIT_META], job->id);
    pc_redis_args_addz(&a[PC_SUBMIT_META], "cmd");
    pc_redis_args_addz(&a[PC_SUBMIT_META], pc_cmd_name(job->cmd));
    pc_redis_args_addz(&a[PC_SUBMIT_META], "app");
    pc_redis_args_addz(&a[PC_SUBMIT_META], job->flow.app.s);
    pc_redis_args_addz(&a[PC_SUBMIT_META], "profile");
    pc_redis_args_addz(&a[PC_SUBMIT_META], job->flow.profile.s);
    pc_redis_args_addz(&a[PC_SUBMIT_META], "flow");
    pc_redis_args_addz(&a[PC_SUBMIT_META], job->flow.flow.s);
    pc_redis_args_addz(&a[PC_SUBMIT_META], "queue");
    pc_redis_args_addz(&a[PC_SUBMIT_META], job->queue.s);
    pc_redis_args_addz(&a[PC_SUBMIT_META], "status");
    pc_redis_args_addz(&a[PC_SUBMIT_META], "queued");
    pc_redis_args_addz(&a[PC_SUBMIT_META], "created_ms");
    pc_redis_args_addu64(&a[PC_SUBMIT_META], job->created_ms);
    pc_redis_args_addz(&a[PC_SUBMIT_META], "attempt");
    pc_redis_args_addz(&a[PC_SUBMIT_META], "0");
    pc_redis_args_addz(&a[PC_SUBMIT_META], "blocks_total");
    pc_redis_args_addu64(&a[PC_SUBMIT_META], blocks_total);
    pc_redis_args_addz(&a[PC_SUBMIT_META], "items_total");
    pc_redis_args_addu64(&a[PC_SUBMIT_META], job->flow.n_items);
    pc_redis_args_addz(&a[PC_SUBMIT_META], "items_done");
    pc_redis_args_addz(&a[PC_SUBMIT_META], "0");
    pc_redis_args_addz(&a[PC_SUBMIT_META], "job");
    pc_redis_args_addz(&a[PC_SUBMIT_META], digest);
    /* The item ids in flow order: listings of this execution follow it. */
    pc_redis_args_addz(&a[PC_SUBMIT_META], "items");
    {
        struct pc_redis_args csv;

        pc_redis_args_init(&csv);
        for (size_t i = 0; i < job->flow.n_items; i++) {
            pc_redis_args_addf(&csv, "%s%s", i > 0 ? "," : "", job->flow.items[i].id.s);
        }
        /* One argument holding the concatenation: the pieces are contiguous in csv.data. */
        pc_redis_args_add(&a[PC_SUBMIT_META], csv.data != NULL ? csv.data : "", csv.len);
        rc = rc != 0 ? rc : pc_redis_args_error(&csv);
        pc_redis_args_cleanup(&csv);
    }
    pc_redis_args_addz(&a[2], "ZADD");
    rc = pc_key_execs(key, sizeof(key), prefix) < 0 ? PC_ELIMIT : rc;
    pc_redis_args_addz(&a[2], key);
    pc_redis_args_addu64(&a[2], job->created_ms);
    pc_redis_args_addz(&a[2], job->id);
    pc_redis_args_addz(&a[3], "XADD");
    rc = pc_key_queue_part(key, sizeof(key), prefix, job->queue.s,
                           pc_queue_partition_of(job->id, partitions), partitions) < 0
             ? PC_ELIMIT
             : rc;
    pc_redis_args_addz(&a[3], key);
    pc_redis_args_addz(&a[3], "*");
    pc_redis_args_addz(&a[3], "exec");
    pc_redis_args_addz(&a[3], job->id);
    pc_redis_args_addz(&a[3], "job");
    pc_redis_args_add(&a[3], job_bytes, job_len);
    for (size_t i = 0; rc == 0 && i < PC_SUBMIT_CMDS; i++) {
        rc = pc_redis_args_error(&a[i]);
    }
    return rc;
}

void pc_submit_colocate_id(char id[PC_ULID_LEN + 1], const char *app, const char *profile)
{
    if (pc_ulid_valid(id, strlen(id))) {
        pc_ulid_set_slot(id, pc_profile_slot(app, profile));
    }
}

void pc_redis_args_argv(const struct pc_redis_args *a, const char **argv)
{
    for (size_t i = 0; i < a->n; i++) {
        argv[i] = a->data + a->off[i];
    }
}
