/*
 * submit.h - queueing one execution (docs/fleet.md "Submitting"): the one
 * implementation every submitter uses (the CLI, the scheduler, the bench),
 * so the meta hash they create is the same, `items` included.
 *
 * The commands are built, not sent: each caller sends them on its own
 * connection (synchronous hiredis, or the scheduler's event loop), in order.
 * Kept apart from redis_conn.c so a connection layer can change under it.
 */
#ifndef PEACE_SUBMIT_H
#define PEACE_SUBMIT_H

#include <stddef.h>

#include "peace/keys.h"
#include "peace/msg.h"
#include "peace/redis_conn.h"
#include "peace/ulid.h"

/* The commands of one submission, in the order they must be sent. */
#define PC_SUBMIT_CMDS 4
/* Which of them sets the kept job copy, which the meta hash (HSET). */
#define PC_SUBMIT_COPY 0
#define PC_SUBMIT_META 1

/* How long the job of an execution is kept for a rerun (seconds): the
 * default retention of a finished execution. */
#define PC_JOB_KEEP_S (7u * 24u * 3600u)

/*
 * Builds into a[0..PC_SUBMIT_CMDS) (uninitialised; the caller cleans them
 * up, whatever the result), in this order: SET peace:jobs:{DIGEST} COPY EX
 * PC_JOB_KEEP_S (the job kept for a rerun, shared by every submit of the
 * same content: pc_submit_job_copy; first, so the meta never names a copy
 * that is not there), HSET peace:exec:{ID} (id, cmd, app, profile, flow,
 * queue, status=queued, created_ms, attempt=0, blocks_total, items_total,
 * items_done=0, job = DIGEST, items = the item ids in flow order,
 * comma-separated), ZADD peace:execs created_ms ID, XADD peace:queue:{Q}
 * exec ID job JOB (job_bytes: msg_job_encode of job), or with partitions
 * P > 1 XADD to partition pc_queue_partition_of(ID, P), peace:queue:{Q:N}
 * (peace/keys.h). Returns 0, or PC_ELIMIT / PC_EINVAL / PC_ENOMEM (a key or
 * an argument could not be built, job cannot be encoded, partitions out of
 * 1..PC_PARTITIONS_MAX).
 */
int pc_submit_args(const char *prefix, unsigned partitions, const struct msg_job *job,
                   const void *job_bytes, size_t job_len, size_t blocks_total,
                   struct pc_redis_args a[PC_SUBMIT_CMDS]) PC_NODISCARD;

/*
 * The job kept for a rerun, shared by every execution of the same content:
 * job encoded (msg_job_encode into out, which the caller cleans up) with
 * its id and created_ms blanked (the all-zero ULID, 0), and the SHA-256 of
 * those bytes as lowercase hex. Returns 0 or msg_job_encode's error.
 */
int pc_submit_job_copy(const struct msg_job *job, struct pc_buf *out,
                       char digest[PC_JOB_DIGEST_LEN + 1], struct pc_err *err) PC_NODISCARD;

/*
 * Places id, a fresh ULID from pc_ulid_next, in the key slot of its profile
 * {APP:PROFILE} (pc_ulid_set_slot): the execution's keys then share the
 * profile's slot, and a worker writes its start + lock and its finish +
 * States + release in one script call each, on a Redis Cluster too
 * (docs/fleet.md "Co-located execution ids"). Every submitter calls it
 * before it encodes the job; ids that are not placed still run (separate
 * calls on a cluster).
 */
void pc_submit_colocate_id(char id[PC_ULID_LEN + 1], const char *app, const char *profile);

/* Pointers to a's arguments (argv must hold a->n): valid while a lives unchanged. */
void pc_redis_args_argv(const struct pc_redis_args *a, const char **argv);

#endif /* PEACE_SUBMIT_H */
