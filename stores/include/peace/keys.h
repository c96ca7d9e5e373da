/*
 * keys.h - the Redis key and channel names of CONTRACT §3, built from a
 * prefix (PEACE_PREFIX, default "peace"). Every function writes a
 * NUL-terminated name into out (out_size bytes) and returns its length, or
 * PC_ELIMIT when it does not fit (never a truncated name), or PC_EINVAL for
 * a NULL or empty component or one holding a brace (it would move the hash
 * tag, and so the slot).
 */
#ifndef PEACE_KEYS_H
#define PEACE_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "peace/err.h"
#include "peace/store.h"

#define PC_PREFIX_MAX 64
#define PC_KEY_MAX    512

int pc_key_queue(char *out, size_t out_size, const char *prefix, const char *queue);

/*
 * Queue partitions (docs/fleet.md "Queue partitions"): a queue of P > 1
 * partitions is the streams PREFIX:queue:{Q:0} ... {Q:P-1}, each with its own
 * hash tag (so its own slot); P = 1 is the single stream PREFIX:queue:{Q} of
 * pc_key_queue, unchanged. P is a deployment setting (--partitions,
 * PEACE_QUEUE_PARTITIONS), the same for every program of a fleet.
 */
#define PC_PARTITIONS_MAX 64
/* The stream of partition `part` of a queue of `partitions` (1..
 * PC_PARTITIONS_MAX; part < partitions, else PC_EINVAL). */
int pc_key_queue_part(char *out, size_t out_size, const char *prefix, const char *queue,
                      unsigned part, unsigned partitions);
/*
 * The partition an execution's job goes to: FNV-1a of its id mod partitions
 * (0 when partitions <= 1). A function of the id alone, so every submitter
 * spreads its executions evenly without shared state (ids are ULIDs: their
 * random half mixes well), and anyone can find an execution's entry again.
 */
unsigned pc_queue_partition_of(const char *exec_id, unsigned partitions);
/* Key slot (Redis Cluster) of a profile's hash tag {APP:PROFILE}: its lock's
 * and its States' slot. app, profile: NUL-terminated (NULL reads as ""). */
unsigned pc_profile_slot(const char *app, const char *profile);
/*
 * True when the keys of execution exec_id ({ID}) are in the slot of its
 * profile's ({APP:PROFILE}): one script can then touch both (the worker's
 * fused start + lock and finish + States + release on a cluster; docs/fleet.md
 * "Co-located execution ids"). Ids made by pc_submit_colocate_id are.
 */
bool pc_exec_colocated(const char *exec_id, const char *app, const char *profile);
/* Parses a partition count ("1".."64"); 0, or PC_EINVAL with err set. */
int pc_partitions_parse(const char *text, unsigned *out, struct pc_err *err) PC_NODISCARD;
int pc_key_exec(char *out, size_t out_size, const char *prefix, const char *exec_id);
int pc_key_progress(char *out, size_t out_size, const char *prefix, const char *exec_id);
int pc_key_events(char *out, size_t out_size, const char *prefix, const char *exec_id);
/* The full report of an execution (a string; schemas/README.md "outcome report"). */
int pc_key_report(char *out, size_t out_size, const char *prefix, const char *exec_id);
int pc_key_interrupt_channel(char *out, size_t out_size, const char *prefix, const char *exec_id);
/* Channel on which a worker announces that it latched an interrupt or its
 * mode rose (payload: the execution id): PREFIX:interrupts:latched. */
int pc_key_interrupts_latched(char *out, size_t out_size, const char *prefix);
/* Pattern matching every execution's interrupt channel (PSUBSCRIBE). */
int pc_key_interrupt_pattern(char *out, size_t out_size, const char *prefix);
int pc_key_states(char *out, size_t out_size, const char *prefix, const char *app,
                  const char *profile, const char *flow, enum pc_states_kind kind);
/* The flow's item ids in flow order, comma-separated (a string written with
 * the states: PREFIX:states:{APP:PROFILE}:FLOW:order), which orders every
 * listing of the states hashes (states_order.h). */
int pc_key_states_order(char *out, size_t out_size, const char *prefix, const char *app,
                        const char *profile, const char *flow);
int pc_key_lock(char *out, size_t out_size, const char *prefix, const char *app,
                const char *profile);
/* Channel on which a released profile lock is announced (payload "APP:PROFILE"). */
int pc_key_profiles_released(char *out, size_t out_size, const char *prefix);
int pc_key_execs(char *out, size_t out_size, const char *prefix);
int pc_key_dead(char *out, size_t out_size, const char *prefix);
/* A worker's heartbeat (a hash with expiry, docs/fleet.md): PREFIX:worker:{CONSUMER}. */
int pc_key_worker(char *out, size_t out_size, const char *prefix, const char *consumer);
/* The live workers of a queue: a sorted set of consumers scored by heartbeat
 * expiry (ms): PREFIX:workers:{Q}, in the queue's slot. */
int pc_key_workers(char *out, size_t out_size, const char *prefix, const char *queue);

/* The job of an execution as submitted (a string, kept for a rerun, with its
 * own expiry): PREFIX:exec:{ID}:job, in the execution's slot. */
int pc_key_job(char *out, size_t out_size, const char *prefix, const char *exec_id);

/* The length of a kept job's digest: SHA-256, lowercase hex. */
#define PC_JOB_DIGEST_LEN 64

/* A job kept for a rerun, shared by every execution submitted with the same
 * content (peace/submit.h): PREFIX:jobs:{DIGEST}, in its own slot. digest:
 * PC_JOB_DIGEST_LEN lowercase hex digits, else PC_EINVAL. */
int pc_key_job_copy(char *out, size_t out_size, const char *prefix, const char *digest);
/* The queues workers have read (a sorted set: queue name scored by the last
 * heartbeat that named it, Unix ms): PREFIX:queues. */
int pc_key_queues(char *out, size_t out_size, const char *prefix);
/* The marker of a retried dead-letter entry (a string holding the id of the
 * execution the retry queued, with expiry): PREFIX:dead:retried:{ENTRY}. */
int pc_key_dead_retried(char *out, size_t out_size, const char *prefix, const char *entry_id);
/* Who is queueing that retry now (a string holding the new id, a short
 * expiry): PREFIX:dead:retried:{ENTRY}:claim, in the marker's slot. */
int pc_key_dead_retry_claim(char *out, size_t out_size, const char *prefix, const char *entry_id);

/* Extracts the execution id from an interrupt channel name; 0 or PC_EINVAL. */
int pc_key_parse_interrupt_channel(const char *channel, size_t len, const char *prefix,
                                   char *id_out, size_t id_out_size);

/* Validates a prefix: 1..PC_PREFIX_MAX bytes of [A-Za-z0-9_.-]. */
int pc_prefix_check(const char *prefix, struct pc_err *err) PC_NODISCARD;

#endif
