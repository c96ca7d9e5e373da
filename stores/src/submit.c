/*
 * submit.c - the commands that queue one execution (peace/submit.h).
 */
#include "peace/submit.h"

#include <string.h>

#include "peace/keys.h"

int pc_submit_args(const char *prefix, unsigned partitions, const struct msg_job *job,
                   const void *job_bytes, size_t job_len, size_t blocks_total,
                   struct pc_redis_args a[PC_SUBMIT_CMDS])
{
    char key[PC_KEY_MAX];
    int rc = 0;

    for (size_t i = 0; i < PC_SUBMIT_CMDS; i++) {
        pc_redis_args_init(&a[i]);
    }
    pc_redis_args_addz(&a[0], "HSET");
    rc = pc_key_exec(key, sizeof(key), prefix, job->id) < 0 ? PC_ELIMIT : rc;
    pc_redis_args_addz(&a[0], key);
    pc_redis_args_addz(&a[0], "id");
    pc_redis_args_addz(&a[0], job->id);
    pc_redis_args_addz(&a[0], "cmd");
    pc_redis_args_addz(&a[0], pc_cmd_name(job->cmd));
    pc_redis_args_addz(&a[0], "app");
    pc_redis_args_addz(&a[0], job->flow.app.s);
    pc_redis_args_addz(&a[0], "profile");
    pc_redis_args_addz(&a[0], job->flow.profile.s);
    pc_redis_args_addz(&a[0], "flow");
    pc_redis_args_addz(&a[0], job->flow.flow.s);
    pc_redis_args_addz(&a[0], "queue");
    pc_redis_args_addz(&a[0], job->queue.s);
    pc_redis_args_addz(&a[0], "status");
    pc_redis_args_addz(&a[0], "queued");
    pc_redis_args_addz(&a[0], "created_ms");
    pc_redis_args_addu64(&a[0], job->created_ms);
    pc_redis_args_addz(&a[0], "attempt");
    pc_redis_args_addz(&a[0], "0");
    pc_redis_args_addz(&a[0], "blocks_total");
    pc_redis_args_addu64(&a[0], blocks_total);
    pc_redis_args_addz(&a[0], "items_total");
    pc_redis_args_addu64(&a[0], job->flow.n_items);
    pc_redis_args_addz(&a[0], "items_done");
    pc_redis_args_addz(&a[0], "0");
    /* The item ids in flow order: listings of this execution follow it. */
    pc_redis_args_addz(&a[0], "items");
    {
        struct pc_redis_args csv;

        pc_redis_args_init(&csv);
        for (size_t i = 0; i < job->flow.n_items; i++) {
            pc_redis_args_addf(&csv, "%s%s", i > 0 ? "," : "", job->flow.items[i].id.s);
        }
        /* One argument holding the concatenation: the pieces are contiguous in csv.data. */
        pc_redis_args_add(&a[0], csv.data != NULL ? csv.data : "", csv.len);
        rc = rc != 0 ? rc : pc_redis_args_error(&csv);
        pc_redis_args_cleanup(&csv);
    }
    pc_redis_args_addz(&a[1], "ZADD");
    rc = pc_key_execs(key, sizeof(key), prefix) < 0 ? PC_ELIMIT : rc;
    pc_redis_args_addz(&a[1], key);
    pc_redis_args_addu64(&a[1], job->created_ms);
    pc_redis_args_addz(&a[1], job->id);
    pc_redis_args_addz(&a[2], "XADD");
    rc = pc_key_queue_part(key, sizeof(key), prefix, job->queue.s,
                           pc_queue_partition_of(job->id, partitions), partitions) < 0
             ? PC_ELIMIT
             : rc;
    pc_redis_args_addz(&a[2], key);
    pc_redis_args_addz(&a[2], "*");
    pc_redis_args_addz(&a[2], "exec");
    pc_redis_args_addz(&a[2], job->id);
    pc_redis_args_addz(&a[2], "job");
    pc_redis_args_add(&a[2], job_bytes, job_len);
    /* The job as submitted, for a rerun (peace/fleet_ops.h). */
    pc_redis_args_addz(&a[3], "SET");
    rc = pc_key_job(key, sizeof(key), prefix, job->id) < 0 ? PC_ELIMIT : rc;
    pc_redis_args_addz(&a[3], key);
    pc_redis_args_add(&a[3], job_bytes, job_len);
    pc_redis_args_addz(&a[3], "EX");
    pc_redis_args_addu64(&a[3], PC_JOB_KEEP_S);
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
