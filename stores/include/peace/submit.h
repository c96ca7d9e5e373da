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

#include "peace/msg.h"
#include "peace/redis_conn.h"
#include "peace/ulid.h"

/* The commands of one submission, in the order they must be sent. */
#define PC_SUBMIT_CMDS 4

/* How long the job of an execution is kept for a rerun (seconds): the
 * default retention of a finished execution. */
#define PC_JOB_KEEP_S (7u * 24u * 3600u)

/*
 * Builds into a[0..PC_SUBMIT_CMDS) (uninitialised; the caller cleans them
 * up, whatever the result): HSET peace:exec:{ID} (id, cmd, app, profile,
 * flow, queue, status=queued, created_ms, attempt=0, blocks_total,
 * items_total, items_done=0, items = the item ids in flow order,
 * comma-separated), ZADD peace:execs created_ms ID, XADD peace:queue:{Q}
 * exec ID job JOB (job_bytes: msg_job_encode of job), or with partitions
 * P > 1 XADD to partition pc_queue_partition_of(ID, P), peace:queue:{Q:N}
 * (peace/keys.h), SET peace:exec:{ID}:job JOB EX PC_JOB_KEEP_S (kept for a
 * rerun). Returns 0, or PC_ELIMIT / PC_EINVAL / PC_ENOMEM (a key or an
 * argument could not be built, partitions out of 1..PC_PARTITIONS_MAX).
 */
int pc_submit_args(const char *prefix, unsigned partitions, const struct msg_job *job,
                   const void *job_bytes, size_t job_len, size_t blocks_total,
                   struct pc_redis_args a[PC_SUBMIT_CMDS]) PC_NODISCARD;

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
