/*
 * sched_metrics.h - the /metrics document (Prometheus text format 0.0.4).
 *
 * The server gathers the numbers from Redis (the newest executions of the
 * `execs` index, the queues' streams and consumer groups) and from its own
 * request counters; this module only turns them into text, so the format is
 * unit-tested without Redis.
 */
#ifndef SCHED_METRICS_H
#define SCHED_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "peace/buf.h"
#include "peace/err.h"
#include "peace/ident.h"
#include "peace/interrupt.h"
#include "peace/outcome.h"

/* Executions looked at for the per-status counts and the interrupt summary. */
#define SCHED_METRICS_SAMPLE 1000
/* Queues reported at most (the configured one and those the sample names). */
#define SCHED_METRICS_QUEUES_MAX 16
/* HTTP statuses counted (100..599). */
#define SCHED_HTTP_STATUS_MIN 100
#define SCHED_HTTP_STATUS_MAX 599

enum sched_exec_status {
    SCHED_STATUS_QUEUED = 0,
    SCHED_STATUS_RUNNING,
    SCHED_STATUS_FINISHED,
};
#define SCHED_STATUS_COUNT  3
#define SCHED_OUTCOME_COUNT 6

struct sched_queue_stats {
    struct pc_id name;
    uint64_t length;       /* XLEN */
    uint64_t pending;      /* XPENDING: delivered, not acknowledged */
    uint64_t workers_live; /* workers whose heartbeat has not expired (docs/fleet.md) */
};

/* How this scheduler queued an execution (peace_scheduler_executions_submitted_total{via}). */
enum sched_via {
    SCHED_VIA_SUBMIT = 0, /* POST /v1/executions */
    SCHED_VIA_RERUN,      /* POST /v1/executions/{id}/rerun */
    SCHED_VIA_RETRY,      /* POST /v1/dead/{entry}/retry */
};
#define SCHED_VIA_COUNT 3
/* Error codes counted for refused submissions (enum sched_code, sched_http.h). */
#define SCHED_REJECT_CODES 32
/* Interrupt modes counted (finish, cancel, kill). */
#define SCHED_MODE_COUNT 3

/* Requests answered by this scheduler, by status; its counters. */
struct sched_http_counts {
    uint64_t by_status[SCHED_HTTP_STATUS_MAX - SCHED_HTTP_STATUS_MIN + 1];
    uint64_t submitted[SCHED_VIA_COUNT];   /* 202 answers that queued an execution */
    uint64_t rejected[SCHED_REJECT_CODES]; /* refused POST /v1/executions, by code */
    uint64_t interrupts[SCHED_MODE_COUNT]; /* interrupts requested (202, requested) by mode */
};

/* Counts one answer with status (out-of-range statuses are ignored). */
void sched_http_count(struct sched_http_counts *c, int status);

/* One timed sample of a histogram: a command, a second label, seconds. */
struct sched_timing {
    uint8_t cmd;   /* enum pc_cmd */
    uint8_t label; /* enum pc_outcome_kind (executions) or enum pc_block_kind (blocks) */
    double s;
};

/* Upper bounds (seconds) of the histograms' buckets, +Inf aside. */
#define SCHED_BUCKETS_COUNT 14

struct sched_metrics {
    size_t sampled; /* executions looked at */
    uint64_t by_status[SCHED_STATUS_COUNT];
    uint64_t by_outcome[SCHED_OUTCOME_COUNT]; /* indexed by enum pc_outcome_kind */
    struct sched_queue_stats queues[SCHED_METRICS_QUEUES_MAX];
    size_t n_queues;
    double *interrupt_s; /* borrowed: finished_ms - interrupt_requested_ms, seconds */
    size_t n_interrupt;
    const struct sched_http_counts *http; /* borrowed; may be NULL */
    uint64_t sse_streams;                 /* event streams open now */
    /* The HTTP layer's connection limits (web_conn.c): client connections
     * open now and the cap on them, those closed at once because the cap was
     * reached, and those closed because their request was not fully read
     * within the request deadline. */
    uint64_t conns_open;
    uint64_t conns_max;
    uint64_t conns_refused;
    uint64_t requests_expired;
    /* Borrowed, may be NULL: more metric families (the backend's fleet
     * figures, complete with HELP and TYPE), appended as they are. */
    const char *extra;
    size_t extra_len;
    /* Borrowed, sorted in place by render: finished executions' durations
     * (started -> finished) by command and outcome, their blocks' durations
     * by command and block, and queue waits (created -> started). */
    struct sched_timing *exec_t;
    size_t n_exec;
    struct sched_timing *block_t;
    size_t n_block;
    double *wait_s;
    size_t n_wait;
};

/* The status's text ("queued"), or NULL. */
const char *sched_exec_status_name(enum sched_exec_status s);

/*
 * The q-quantile (0 <= q <= 1) of sorted[0..n) by the nearest-rank method;
 * 0 when n == 0.
 */
double sched_quantile(const double *sorted, size_t n, double q);

/*
 * Appends the metrics text to out. m->interrupt_s is sorted in place (the
 * array is the caller's). Returns 0, PC_ELIMIT or PC_ENOMEM.
 */
int sched_metrics_render(struct sched_metrics *m, struct pc_buf *out) PC_NODISCARD;

#endif /* SCHED_METRICS_H */
