/*
 * redis_metrics.c - GET /metrics of the Redis backend: the newest
 * executions of the `execs` index (counts by status and outcome, queue
 * waits, run and block times, interrupt latencies), and per reported queue
 * its length, pending entries and live workers (their heartbeats,
 * docs/fleet.md). The HTTP layer adds its own counts and renders the text
 * (web_answer_metrics).
 */
#include <stdlib.h>
#include <string.h>

#include "peace/keys.h"
#include "peace/msg.h"
#include "redis_backend_internal.h"
#include "sched_metrics.h"

/* What a /metrics request gathers; freed with its call. */
struct mdata {
    struct sched_metrics metrics;
    double *interrupt_s;
    struct sched_timing *timings; /* exec_t and block_t storage */
    double *wait_s;
};

static struct mdata *md(const struct rcall *c)
{
    return c->data;
}

static void mdata_free(void *p)
{
    struct mdata *d = p;

    if (d != NULL) {
        free(d->interrupt_s);
        free(d->timings);
        free(d->wait_s);
        free(d);
    }
}

/* ------------------------------------------------------------------------ */
/* GET /metrics                                                              */

enum {
    M_STATUS = 0,
    M_OUTCOME,
    M_QUEUE,
    M_INTERRUPT_MS,
    M_FINISHED_MS,
    M_CMD,
    M_CREATED_MS,
    M_STARTED_MS,
    M_BLOCK_MS,
    M_REPORT,
    M_NFIELDS
};

static const char *const metrics_fields[M_NFIELDS] = {
    "status",     "outcome",  "queue", "interrupt_requested_ms", "finished_ms", "cmd", "created_ms",
    "started_ms", "block_ms", "report"};

/* The timings of one sampled execution: queue wait, run time, block times. */
static void metrics_timings(struct rcall *c, const struct sched_flat *f, enum pc_outcome_kind kind,
                            bool finished)
{
    struct sched_metrics *m = &md(c)->metrics;
    const struct sched_str *bm = &f->v[M_BLOCK_MS];
    const struct sched_str *rep = &f->v[M_REPORT];
    uint64_t created = 0;
    uint64_t started = 0;
    uint64_t done = 0;
    enum pc_cmd cmd;
    struct pc_outcome o;

    if (!sched_str_u64(&f->v[M_CREATED_MS], &created) ||
        !sched_str_u64(&f->v[M_STARTED_MS], &started) || started < created) {
        return;
    }
    m->wait_s[m->n_wait++] = (double)(started - created) / 1000.0;
    if (!finished || f->v[M_CMD].p == NULL ||
        pc_cmd_parse(f->v[M_CMD].p, f->v[M_CMD].n, &cmd, NULL) != 0 ||
        !sched_str_u64(&f->v[M_FINISHED_MS], &done) || done < started) {
        return;
    }
    m->exec_t[m->n_exec++] = (struct sched_timing){
        .cmd = (uint8_t)cmd, .label = (uint8_t)kind, .s = (done - started) / 1000.0};
    /* block_ms lists the blocks run in the command's order (the summary's block list). */
    if (bm->p == NULL || bm->n == 0 || rep->p == NULL ||
        msg_report_decode(rep->p, rep->n, &o, NULL) != 0) {
        return;
    }
    for (size_t b = 0, i = 0; b < o.n_blocks && i < bm->n; b++) {
        uint64_t ms = 0;
        bool digit = false;

        while (i < bm->n && bm->p[i] >= '0' && bm->p[i] <= '9' && ms < UINT64_MAX / 20) {
            ms = ms * 10 + (uint64_t)(bm->p[i++] - '0');
            digit = true;
        }
        if (!digit || (i < bm->n && bm->p[i++] != ',')) {
            break;
        }
        m->block_t[m->n_block++] = (struct sched_timing){
            .cmd = (uint8_t)cmd, .label = (uint8_t)o.blocks[b], .s = (double)ms / 1000.0};
    }
    pc_outcome_cleanup(&o);
}

static void metrics_queues_done(struct rcall *c, struct sched_flat *slots, size_t n)
{
    struct sched_metrics *m = &md(c)->metrics;
    size_t parts = c->rb->cfg->partitions;
    size_t stride = 1 + 2 * parts; /* ZCOUNT, then XLEN and XPENDING of each partition */

    for (size_t q = 0; q < m->n_queues && stride * (q + 1) <= n; q++) {
        const struct sched_flat *live = &slots[stride * q];
        uint64_t v = 0;

        if (live->kind == SCHED_FLAT_NONE) {
            redis__reply_unavailable(c);
            return;
        }
        m->queues[q].workers_live =
            live->kind == SCHED_FLAT_INT && live->integer > 0 ? (uint64_t)live->integer : 0;
        m->queues[q].length = 0;
        m->queues[q].pending = 0;
        for (size_t p = 0; p < parts; p++) {
            const struct sched_flat *len = &slots[stride * q + 1 + 2 * p];
            const struct sched_flat *pend = &slots[stride * q + 2 + 2 * p];

            if (len->kind == SCHED_FLAT_NONE || pend->kind == SCHED_FLAT_NONE) {
                redis__reply_unavailable(c);
                return;
            }
            m->queues[q].length +=
                len->kind == SCHED_FLAT_INT && len->integer > 0 ? (uint64_t)len->integer : 0;
            /* XPENDING summary: [count, first id, last id, consumers]; an
             * error (no such group yet) is zero pending. */
            m->queues[q].pending +=
                pend->kind == SCHED_FLAT_ARRAY && pend->n > 0 && sched_str_u64(&pend->v[0], &v) ? v
                                                                                                : 0;
        }
    }
    m->interrupt_s = md(c)->interrupt_s;
    redis__fleet_metrics(c, m); /* answers */
}

/* Adds queue (p, n) to the report unless known or the table is full. */
static void metrics_add_queue(struct sched_metrics *m, const char *p, size_t n)
{
    if (m->n_queues == SCHED_METRICS_QUEUES_MAX || !pc_ident_valid(p, n)) {
        return;
    }
    for (size_t q = 0; q < m->n_queues; q++) {
        if (strlen(m->queues[q].name.s) == n && memcmp(m->queues[q].name.s, p, n) == 0) {
            return;
        }
    }
    memcpy(m->queues[m->n_queues].name.s, p, n);
    m->queues[m->n_queues].name.s[n] = '\0';
    m->n_queues++;
}

/* Counts one sampled execution (HMGET of metrics_fields). */
static void metrics_count(struct rcall *c, const struct sched_flat *f)
{
    struct sched_metrics *m = &md(c)->metrics;
    const struct sched_str *st = &f->v[M_STATUS];
    enum pc_outcome_kind kind;
    uint64_t asked = 0;
    uint64_t done = 0;

    m->sampled++;
    for (size_t s = 0; s < SCHED_STATUS_COUNT; s++) {
        const char *name = sched_exec_status_name((enum sched_exec_status)s);

        if (st->n == strlen(name) && memcmp(st->p, name, st->n) == 0) {
            m->by_status[s]++;
        }
    }
    if (f->v[M_OUTCOME].p != NULL &&
        pc_outcome_kind_parse(f->v[M_OUTCOME].p, f->v[M_OUTCOME].n, &kind) == 0 &&
        (unsigned)kind < SCHED_OUTCOME_COUNT) {
        m->by_outcome[kind]++;
        metrics_timings(c, f, kind, true);
    } else {
        metrics_timings(c, f, PC_OUTCOME_COMPLETE, false);
    }
    if (f->v[M_QUEUE].p != NULL) {
        metrics_add_queue(m, f->v[M_QUEUE].p, f->v[M_QUEUE].n);
    }
    if (sched_str_u64(&f->v[M_INTERRUPT_MS], &asked) &&
        sched_str_u64(&f->v[M_FINISHED_MS], &done) && done >= asked) {
        md(c)->interrupt_s[m->n_interrupt++] = (double)(done - asked) / 1000.0;
    }
}

/* The live workers (their heartbeats, docs/fleet.md) and XLEN and XPENDING
 * of every partition of every reported queue. */
static void metrics_send_queues(struct rcall *c)
{
    struct sched_metrics *m = &md(c)->metrics;
    unsigned parts = c->rb->cfg->partitions;
    size_t stride = 1 + 2 * (size_t)parts;
    struct redis_batch *b = redis__batch_new(c, stride * m->n_queues, metrics_queues_done);

    if (b == NULL) {
        redis__reply_code(c, SCHED_INTERNAL, "out of memory");
        return;
    }
    for (size_t q = 0; q < m->n_queues; q++) {
        const char *name = m->queues[q].name.s;

        for (size_t k = 0; k < stride; k++) {
            struct pc_redis_args a;
            char key[PC_KEY_MAX];
            bool bad = false;

            pc_redis_args_init(&a);
            if (k == 0) {
                bad = pc_key_workers(key, sizeof(key), c->rb->cfg->prefix, name) < 0;
                /* A beat's score is when it expires: those still in the future. */
                pc_redis_args_addz(&a, "ZCOUNT");
                pc_redis_args_addz(&a, key);
                pc_redis_args_addf(&a, "(%llu", (unsigned long long)web_unix_ms());
                pc_redis_args_addz(&a, "+inf");
            } else {
                bad = pc_key_queue_part(key, sizeof(key), c->rb->cfg->prefix, name,
                                        (unsigned)((k - 1) / 2), parts) < 0;
                pc_redis_args_addz(&a, k % 2 == 1 ? "XLEN" : "XPENDING");
                pc_redis_args_addz(&a, key);
                if (k % 2 == 0) {
                    pc_redis_args_addz(&a, "workers");
                }
            }
            if (bad) {
                pc_redis_args_cleanup(&a);
                redis__batch_skip(b, stride * q + k);
            } else {
                redis__batch_send(b, stride * q + k, &a);
            }
        }
    }
    redis__batch_launch(b);
}

static void metrics_metas_done(struct rcall *c, struct sched_flat *slots, size_t n)
{
    if (redis__reply_if_failed(c, slots, n)) {
        return;
    }
    md(c)->interrupt_s = calloc(n + 1, sizeof(*md(c)->interrupt_s));
    md(c)->wait_s = calloc(n + 1, sizeof(*md(c)->wait_s));
    md(c)->timings = calloc((n + 1) * (PC_BLOCKS_MAX + 1), sizeof(*md(c)->timings));
    md(c)->metrics.wait_s = md(c)->wait_s;
    md(c)->metrics.exec_t = md(c)->timings;
    md(c)->metrics.block_t = md(c)->timings != NULL ? md(c)->timings + n + 1 : NULL;
    if (md(c)->interrupt_s == NULL || md(c)->wait_s == NULL || md(c)->timings == NULL) {
        redis__reply_code(c, SCHED_INTERNAL, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (slots[i].kind == SCHED_FLAT_ARRAY && slots[i].n == M_NFIELDS &&
            slots[i].v[M_STATUS].p != NULL) {
            metrics_count(c, &slots[i]); /* else: expired since it was indexed */
        }
    }
    metrics_send_queues(c);
}

static void metrics_ids_done(struct rcall *c, struct sched_flat *slots, size_t n)
{
    (void)n;
    /* The configured queue is always reported, even when idle. */
    metrics_add_queue(&md(c)->metrics, c->rb->cfg->queue.s, strlen(c->rb->cfg->queue.s));
    redis__run_hmget_each(c, slots, metrics_fields, M_NFIELDS, metrics_metas_done);
}

void redis__metrics(void *be, struct web_call *wc)
{
    struct rcall *c = redis__call_new(be, wc);
    struct mdata *d = NULL;

    if (c == NULL) {
        return;
    }
    d = calloc(1, sizeof(*d));
    if (d == NULL) {
        redis__reply_code(c, SCHED_INTERNAL, "out of memory");
        return;
    }
    c->data = d;
    c->data_free = mdata_free;
    redis__run_newest_ids(c, SCHED_METRICS_SAMPLE, metrics_ids_done);
}
