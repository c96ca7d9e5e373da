/*
 * sched_metrics.c - Prometheus text exposition of the fleet's numbers.
 *
 * Design. Every family gets its HELP and TYPE lines even when it has no
 * sample, so dashboards see a stable set of names. Label values are
 * identifiers or fixed words (queue names are [A-Za-z_][A-Za-z0-9_]*), so no
 * escaping is needed beyond what the types guarantee. The interrupt latency
 * is a summary over the sampled executions (nearest-rank quantiles), not a
 * histogram: the scheduler is stateless and recomputes it on every scrape.
 */
#include "sched_metrics.h"

#include "sched_http.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const status_names[SCHED_STATUS_COUNT] = {"queued", "running", "finished"};

const char *sched_exec_status_name(enum sched_exec_status s)
{
    return (unsigned)s < SCHED_STATUS_COUNT ? status_names[s] : NULL;
}

void sched_http_count(struct sched_http_counts *c, int status)
{
    if (status >= SCHED_HTTP_STATUS_MIN && status <= SCHED_HTTP_STATUS_MAX) {
        c->by_status[status - SCHED_HTTP_STATUS_MIN]++;
    }
}

static int double_cmp(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return x < y ? -1 : x > y;
}

double sched_quantile(const double *sorted, size_t n, double q)
{
    size_t rank;

    if (n == 0) {
        return 0.0;
    }
    if (q <= 0.0) {
        return sorted[0];
    }
    if (q >= 1.0) {
        return sorted[n - 1];
    }
    /* Nearest rank: the smallest value with at least q*n values at or below it. */
    rank = (size_t)(q * (double)n);
    if ((double)rank < q * (double)n) {
        rank++;
    }
    return sorted[rank == 0 ? 0 : rank - 1];
}

static int family(struct pc_buf *b, const char *name, const char *type, const char *help)
{
    return pc_buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const double buckets[SCHED_BUCKETS_COUNT] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                    1,     2.5,  5,     10,   30,  60,   300};

static int timing_cmp(const void *a, const void *b)
{
    const struct sched_timing *x = a;
    const struct sched_timing *y = b;

    if (x->cmd != y->cmd) {
        return x->cmd < y->cmd ? -1 : 1;
    }
    if (x->label != y->label) {
        return x->label < y->label ? -1 : 1;
    }
    return x->s < y->s ? -1 : x->s > y->s;
}

/* The bucket lines, _sum and _count of one label set ("cmd=\"x\",block=\"y\"" or ""). */
static int series(struct pc_buf *out, const char *name, const char *labels, const double *s,
                  size_t stride, size_t n)
{
    const char *sep = labels[0] != '\0' ? "," : "";
    double sum = 0.0;
    size_t k = 0;
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        sum += *(const double *)(const void *)((const char *)s + i * stride);
    }
    for (size_t bkt = 0; rc == 0 && bkt < SCHED_BUCKETS_COUNT; bkt++) {
        while (k < n &&
               *(const double *)(const void *)((const char *)s + k * stride) <= buckets[bkt]) {
            k++;
        }
        rc = pc_buf_appendf(out, "%s_bucket{%s%sle=\"%g\"} %zu\n", name, labels, sep, buckets[bkt],
                            k);
    }
    rc = rc != 0 ? rc
                 : pc_buf_appendf(out, "%s_bucket{%s%sle=\"+Inf\"} %zu\n", name, labels, sep, n);
    if (labels[0] != '\0') {
        rc = rc != 0 ? rc
                     : pc_buf_appendf(out, "%s_sum{%s} %.3f\n%s_count{%s} %zu\n", name, labels, sum,
                                      name, labels, n);
    } else {
        rc = rc != 0 ? rc : pc_buf_appendf(out, "%s_sum %.3f\n%s_count %zu\n", name, sum, name, n);
    }
    return rc;
}

/* One histogram per (command, label) present in t (sorted here). */
static int histograms(struct pc_buf *out, const char *name, const char *label,
                      struct sched_timing *t, size_t n, bool blocks)
{
    char labels[128];
    size_t i = 0;
    int rc = 0;

    if (n > 0) {
        qsort(t, n, sizeof(*t), timing_cmp);
    }
    while (rc == 0 && i < n) {
        size_t j = i;

        while (j < n && t[j].cmd == t[i].cmd && t[j].label == t[i].label) {
            j++;
        }
        (void)snprintf(labels, sizeof(labels), "cmd=\"%s\",%s=\"%s\"",
                       pc_cmd_name((enum pc_cmd)t[i].cmd), label,
                       blocks ? pc_block_name((enum pc_block_kind)t[i].label)
                              : pc_outcome_kind_name((enum pc_outcome_kind)t[i].label));
        rc = series(out, name, labels, &t[i].s, sizeof(*t), j - i);
        i = j;
    }
    return rc;
}

static int timings(struct sched_metrics *m, struct pc_buf *out)
{
    int rc = family(out, "peace_execution_duration_seconds", "histogram",
                    "Finished executions' run time (started to finished) by command and outcome, "
                    "over the sampled executions.");

    rc = rc != 0 ? rc
                 : histograms(out, "peace_execution_duration_seconds", "outcome", m->exec_t,
                              m->n_exec, false);
    rc = rc != 0 ? rc
                 : family(out, "peace_block_duration_seconds", "histogram",
                          "Blocks' run time by command and block, over the sampled finished "
                          "executions.");
    rc = rc != 0 ? rc
                 : histograms(out, "peace_block_duration_seconds", "block", m->block_t, m->n_block,
                              true);
    rc = rc != 0 ? rc
                 : family(out, "peace_queue_wait_seconds", "histogram",
                          "Time from creation to start (waiting in the queue), over the sampled "
                          "started executions.");
    if (rc == 0 && m->n_wait > 0) {
        qsort(m->wait_s, m->n_wait, sizeof(*m->wait_s), double_cmp);
    }
    return rc != 0
               ? rc
               : series(out, "peace_queue_wait_seconds", "", m->wait_s, sizeof(double), m->n_wait);
}

/* This scheduler's counters: executions it queued (by how), refused
 * submissions (by code: every code a submission can get, so the series
 * exist from the start), interrupts requested (by mode). */
static int counters(const struct sched_metrics *m, struct pc_buf *out)
{
    static const char *const via[SCHED_VIA_COUNT] = {"submit", "rerun", "retry"};
    static const enum sched_code refusals[] = {
        SCHED_INVALID_JSON,      SCHED_BAD_REQUEST,       SCHED_INVALID_FLOW,
        SCHED_UNKNOWN_ITEM_TYPE, SCHED_BODY_TOO_LARGE,    SCHED_UNAUTHORIZED,
        SCHED_FORBIDDEN,         SCHED_HOST_NOT_ALLOWED,  SCHED_ORIGIN_NOT_ALLOWED,
        SCHED_UNSUPPORTED_MEDIA, SCHED_REDIS_UNAVAILABLE, SCHED_INTERNAL};
    static const struct sched_http_counts none;
    const struct sched_http_counts *h = m->http != NULL ? m->http : &none;
    int rc = family(out, "peace_scheduler_executions_submitted_total", "counter",
                    "Executions this scheduler queued, by how (submit, rerun, retry).");

    for (size_t v = 0; rc == 0 && v < SCHED_VIA_COUNT; v++) {
        rc = pc_buf_appendf(out, "peace_scheduler_executions_submitted_total{via=\"%s\"} %llu\n",
                            via[v], (unsigned long long)h->submitted[v]);
    }
    rc = rc == 0
             ? family(out, "peace_scheduler_submissions_rejected_total", "counter",
                      "Submissions (POST /v1/executions) this scheduler refused, by error code.")
             : rc;
    for (size_t i = 0; rc == 0 && i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        rc = pc_buf_appendf(out, "peace_scheduler_submissions_rejected_total{reason=\"%s\"} %llu\n",
                            sched_code_name(refusals[i]),
                            (unsigned long long)h->rejected[refusals[i]]);
    }
    rc = rc == 0 ? family(out, "peace_scheduler_interrupts_requested_total", "counter",
                          "Interrupts this scheduler recorded and published, by mode.")
                 : rc;
    for (size_t k = 0; rc == 0 && k < SCHED_MODE_COUNT; k++) {
        rc = pc_buf_appendf(out, "peace_scheduler_interrupts_requested_total{mode=\"%s\"} %llu\n",
                            pc_interrupt_mode_name((enum pc_interrupt_mode)k),
                            (unsigned long long)h->interrupts[k]);
    }
    return rc;
}

/* The connection limits of the HTTP layer (docs/http-api.md, "Connections"). */
static int connections(const struct sched_metrics *m, struct pc_buf *out)
{
    int rc = family(out, "peace_scheduler_http_connections_open", "gauge",
                    "Client connections open now (this scrape's own included).");

    rc = rc == 0 ? pc_buf_appendf(out, "peace_scheduler_http_connections_open %llu\n",
                                  (unsigned long long)m->conns_open)
                 : rc;
    rc = rc == 0 ? family(out, "peace_scheduler_http_connections_max", "gauge",
                          "Client connections open at once at most (--max-connections).")
                 : rc;
    rc = rc == 0 ? pc_buf_appendf(out, "peace_scheduler_http_connections_max %llu\n",
                                  (unsigned long long)m->conns_max)
                 : rc;
    rc = rc == 0 ? family(out, "peace_scheduler_http_connections_refused_total", "counter",
                          "Client connections closed at once, without an answer, because "
                          "--max-connections were open.")
                 : rc;
    rc = rc == 0 ? pc_buf_appendf(out, "peace_scheduler_http_connections_refused_total %llu\n",
                                  (unsigned long long)m->conns_refused)
                 : rc;
    rc = rc == 0 ? family(out, "peace_scheduler_http_requests_expired_total", "counter",
                          "Client connections closed without an answer because their request "
                          "was not fully read within --request-timeout-s.")
                 : rc;
    rc = rc == 0 ? pc_buf_appendf(out, "peace_scheduler_http_requests_expired_total %llu\n",
                                  (unsigned long long)m->requests_expired)
                 : rc;
    return rc;
}

int sched_metrics_render(struct sched_metrics *m, struct pc_buf *out)
{
    static const double quantiles[] = {0.5, 0.9, 0.99};
    double sum = 0.0;
    int rc;

    rc = family(out, "peace_executions", "gauge",
                "Executions by status, among the newest sampled executions.");
    for (size_t s = 0; rc == 0 && s < SCHED_STATUS_COUNT; s++) {
        rc = pc_buf_appendf(out, "peace_executions{status=\"%s\"} %llu\n", status_names[s],
                            (unsigned long long)m->by_status[s]);
    }
    rc = rc == 0 ? family(out, "peace_executions_sampled", "gauge",
                          "Executions the per-status and interrupt figures are computed over.")
                 : rc;
    rc = rc == 0 ? pc_buf_appendf(out, "peace_executions_sampled %zu\n", m->sampled) : rc;
    rc = rc == 0 ? family(out, "peace_executions_finished", "gauge",
                          "Finished executions by outcome, among the sampled executions.")
                 : rc;
    for (size_t k = 0; rc == 0 && k < SCHED_OUTCOME_COUNT; k++) {
        rc = pc_buf_appendf(out, "peace_executions_finished{outcome=\"%s\"} %llu\n",
                            pc_outcome_kind_name((enum pc_outcome_kind)k),
                            (unsigned long long)m->by_outcome[k]);
    }
    rc = rc == 0 ? family(out, "peace_queue_length", "gauge",
                          "Entries in the queue stream (queued and in flight).")
                 : rc;
    for (size_t q = 0; rc == 0 && q < m->n_queues; q++) {
        rc = pc_buf_appendf(out, "peace_queue_length{queue=\"%s\"} %llu\n", m->queues[q].name.s,
                            (unsigned long long)m->queues[q].length);
    }
    rc = rc == 0 ? family(out, "peace_queue_pending", "gauge",
                          "Queue entries delivered to a worker and not acknowledged yet.")
                 : rc;
    for (size_t q = 0; rc == 0 && q < m->n_queues; q++) {
        rc = pc_buf_appendf(out, "peace_queue_pending{queue=\"%s\"} %llu\n", m->queues[q].name.s,
                            (unsigned long long)m->queues[q].pending);
    }
    rc = rc == 0
             ? family(
                   out, "peace_workers_live", "gauge",
                   "Workers of the queue whose heartbeat has not expired (a beat lives one lease).")
             : rc;
    for (size_t q = 0; rc == 0 && q < m->n_queues; q++) {
        rc = pc_buf_appendf(out, "peace_workers_live{queue=\"%s\"} %llu\n", m->queues[q].name.s,
                            (unsigned long long)m->queues[q].workers_live);
    }
    if (m->n_interrupt > 0) {
        qsort(m->interrupt_s, m->n_interrupt, sizeof(*m->interrupt_s), double_cmp);
    }
    rc = rc == 0 ? family(out, "peace_interrupt_to_outcome_seconds", "summary",
                          "Time from an interrupt request to the outcome, over the sampled "
                          "interrupted executions.")
                 : rc;
    for (size_t i = 0; rc == 0 && i < sizeof(quantiles) / sizeof(quantiles[0]); i++) {
        rc = pc_buf_appendf(out, "peace_interrupt_to_outcome_seconds{quantile=\"%g\"} %.3f\n",
                            quantiles[i],
                            sched_quantile(m->interrupt_s, m->n_interrupt, quantiles[i]));
    }
    for (size_t i = 0; i < m->n_interrupt; i++) {
        sum += m->interrupt_s[i];
    }
    rc = rc == 0 ? pc_buf_appendf(out, "peace_interrupt_to_outcome_seconds_sum %.3f\n", sum) : rc;
    rc = rc == 0
             ? pc_buf_appendf(out, "peace_interrupt_to_outcome_seconds_count %zu\n", m->n_interrupt)
             : rc;
    rc = rc == 0 ? timings(m, out) : rc;
    rc = rc == 0 ? family(out, "peace_scheduler_http_requests_total", "counter",
                          "Requests this scheduler answered, by HTTP status.")
                 : rc;
    for (size_t s = 0; rc == 0 && m->http != NULL &&
                       s < sizeof(m->http->by_status) / sizeof(m->http->by_status[0]);
         s++) {
        if (m->http->by_status[s] > 0) {
            rc = pc_buf_appendf(out, "peace_scheduler_http_requests_total{code=\"%zu\"} %llu\n",
                                s + SCHED_HTTP_STATUS_MIN,
                                (unsigned long long)m->http->by_status[s]);
        }
    }
    rc = rc == 0 ? family(out, "peace_scheduler_sse_streams", "gauge",
                          "Event streams this scheduler serves now.")
                 : rc;
    rc = rc == 0 ? pc_buf_appendf(out, "peace_scheduler_sse_streams %llu\n",
                                  (unsigned long long)m->sse_streams)
                 : rc;
    rc = rc == 0 ? connections(m, out) : rc;
    rc = rc == 0 ? counters(m, out) : rc;
    if (rc == 0 && m->extra != NULL && m->extra_len > 0) {
        rc = pc_buf_append(out, m->extra, m->extra_len);
    }
    return rc;
}
