/*
 * kit.h - what the fleet benchmark driver (peace_bench.c) needs around the
 * fleet: a synchronous Redis connection, workers it starts and stops, jobs
 * submitted exactly as `peace run --redis` submits them, and small
 * statistics. Benchmark code, not a library: errors are reported on stderr
 * and turn into a non-zero exit of the scenario.
 */
#ifndef PEACE_BENCH_KIT_H
#define PEACE_BENCH_KIT_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "peace/cmd.h"
#include "peace/flow.h"
#include "peace/ulid.h"

#define KIT_WORKERS_MAX    8
#define KIT_EXTRA_ARGS_MAX 16
#define KIT_PATH_MAX       1024
#define KIT_ID_MAX         (PC_ULID_LEN + 1)

struct kit_opts {
    char host[256];
    int port;
    const char *worker;                    /* peace-worker binary */
    const char *plugin;                    /* bench_items.so */
    const char *dir;                       /* scratch directory: worker logs */
    const char *sched;                     /* peace-scheduler HOST:PORT, or NULL */
    const char *extra[KIT_EXTRA_ARGS_MAX]; /* more worker flags */
    size_t n_extra;
};

/* Workers started by one scenario. */
struct kit_fleet {
    const struct kit_opts *o;
    const char *label;
    pid_t pid[KIT_WORKERS_MAX];
    char log[KIT_WORKERS_MAX][KIT_PATH_MAX];
    size_t n;
};

/* Realtime (Unix) microseconds: comparable across processes of one host. */
uint64_t kit_now_us(void);
void kit_sleep_us(uint64_t us);

/* ---- Redis ------------------------------------------------------------ */

redisContext *kit_connect(const struct kit_opts *o);
/* redisCommand with a check: NULL (and a message) on a lost connection. */
redisReply *kit_cmd(redisContext *c, const char *fmt, ...);
/* FLUSHALL, so a scenario starts from an empty server. */
int kit_flush(redisContext *c);
/* INFO memory's used_memory. */
int kit_used_memory(redisContext *c, uint64_t *out);
/* The first value of a flat field/value reply array named field, or NULL. */
const redisReply *kit_field(const redisReply *arr, const char *field);

/* ---- Jobs --------------------------------------------------------------- */

/*
 * A flow of n items of one type (bench_noop, bench_sleep, ...); params is a
 * JSON object text; chain makes item i depend on item i-1.
 */
int kit_flow(struct pc_flow *out, const char *profile, size_t n, const char *type,
             const char *params, bool chain);

struct kit_submitter {
    redisContext *c;
    struct pc_ulid_gen gen;
    size_t pending; /* replies still to read (pipelined) */
    char last_entry[64];
};

void kit_submitter_init(struct kit_submitter *s, redisContext *c);
/*
 * Appends the submission of one execution (HSET meta, ZADD index, XADD job:
 * the CLI's sequence) to the pipeline; id receives the execution id.
 * kit_submit_sync reads every pending reply (and the XADD ids).
 */
int kit_submit(struct kit_submitter *s, const struct pc_flow *flow, enum pc_cmd cmd,
               char id[KIT_ID_MAX]);
int kit_submit_sync(struct kit_submitter *s);
/* XGROUP CREATE queue workers 0 MKSTREAM (BUSYGROUP is fine). */
int kit_group(redisContext *c);

/*
 * Follows execution id's events the way a dashboard does (registers with
 * exec_follow, events_fold.h, then XREAD BLOCK from after *last; "" = from
 * the start; a finished execution without a stream gives its synthesised
 * events), passing each entry to cb
 * with the time it was read; stops with 0 when cb returns 1, -1 on a
 * timeout or a lost connection.
 */
typedef int kit_event_cb(void *ctx, uint64_t t_us, const redisReply *fields);
int kit_follow(redisContext *c, const char *id, char *last, size_t last_size, uint64_t timeout_us,
               kit_event_cb *cb, void *ctx);
/* kit_follow until the outcome event; outcome receives its value. */
int kit_wait_outcome(redisContext *c, const char *id, char *last, size_t last_size,
                     uint64_t timeout_us, char *outcome, size_t outcome_size);
/* True when the entry's field equals value. */
bool kit_field_is(const redisReply *fields, const char *field, const char *value);

/* Waits until every entry of the queue was delivered and acknowledged,
 * looking every poll_us. */
int kit_wait_drained(redisContext *c, const char *last_entry, uint64_t timeout_us,
                     uint64_t poll_us);

/* ---- Workers ------------------------------------------------------------- */

void kit_fleet_init(struct kit_fleet *f, const struct kit_opts *o, const char *label);
/* Starts a worker with --concurrency and optional --lease-ms (0 = default). */
int kit_fleet_start(struct kit_fleet *f, unsigned concurrency, unsigned lease_ms);
/* Waits until every started worker is a consumer of the group. */
int kit_fleet_ready(struct kit_fleet *f, redisContext *c);
/* SIGTERM (then SIGKILL after a while) for every worker; kill9 = at once. */
void kit_fleet_stop(struct kit_fleet *f, bool kill9);
/* Kills one worker (SIGKILL) and reaps it; it stays in the table as pid 0. */
void kit_fleet_kill(struct kit_fleet *f, size_t i);
/* Index of the worker whose consumer name is consumer (holds its pid), or -1. */
long kit_fleet_find(const struct kit_fleet *f, const char *consumer, size_t len);
/* CPU seconds (user + system) the started workers used so far, from /proc. */
double kit_fleet_cpu_s(const struct kit_fleet *f);
/* used_cpu_user + used_cpu_sys of the Redis server (INFO cpu), seconds. */
int kit_redis_cpu_s(redisContext *c, double *out);

/* INFO commandstats: calls and microseconds per command, cumulative. */
#define KIT_CMDSTATS_MAX 128
struct kit_cmdstat {
    char name[48];
    uint64_t calls;
    uint64_t usec;
};
struct kit_cmdstats {
    size_t n;
    struct kit_cmdstat e[KIT_CMDSTATS_MAX];
};
int kit_cmdstats(redisContext *c, struct kit_cmdstats *out);
/* Prints one line `bench=commandstats LABEL executions=N calls_per_execution=
 * us_per_execution= CMD=CALLS/US ...`: what happened between the two
 * snapshots, per execution, commands by time spent (descending). Commands run
 * inside a script count both on their own and in the EVALSHA's time; the
 * totals count top-level commands only (EVALSHA and the rest, not what runs
 * inside). The driver's own polling (INFO, XINFO) is listed but not in the
 * totals. */
void kit_cmdstats_print(const char *label, const struct kit_cmdstats *before,
                        const struct kit_cmdstats *after, size_t executions);
/* Resident set (kB) and thread count of a worker, from /proc. */
int kit_proc_status(pid_t pid, uint64_t *rss_kb, uint64_t *hwm_kb, uint64_t *threads);

/* ---- Statistics -------------------------------------------------------------- */

/* Sorts v in place and returns the p-quantile (nearest rank, as the peer kit does). */
double kit_pct(double *v, size_t n, double p);

#endif /* PEACE_BENCH_KIT_H */
