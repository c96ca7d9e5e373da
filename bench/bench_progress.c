/*
 * bench_progress.c - item progress inside a worker: how many
 * pc_item_progress_inc calls per second one item thread can make, and how
 * stale the progress seen by the observer (what a dashboard reads) is.
 *
 * Setup: the real engine, the real thread pool and a libevent loop flushing
 * progress every FLUSH_MS, as the worker and the local runner do. K items
 * each call pc_item_progress_inc N times in apply. The item thread stamps
 * the time it reached each 1/100 of its work; the observer stamps when it
 * first saw that much done; staleness = seen - reached.
 *
 * Baseline measured in the same run: the same loop doing a relaxed atomic
 * add on a shared counter (the cheapest possible progress report), so the
 * ratio shows what the engine's bookkeeping costs on top of it.
 *
 * Output: one line per figure, `bench=... key=value ...`.
 */
#include <event2/event.h>
#include <inttypes.h>
#include <msgpack.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "peace/exec.h"
#include "peace/params.h"
#include "peace/pool.h"

#define MILESTONES 100
#define ITEMS_MAX  16

struct bench {
    uint64_t n_calls;
    size_t n_items;
    uint64_t reached_ns[ITEMS_MAX][MILESTONES + 1];
    uint64_t seen_ns[ITEMS_MAX][MILESTONES + 1];
    uint64_t apply_ns[ITEMS_MAX];
    struct event_base *base;
    struct pc_exec *exec;
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct spin_params {
    struct bench *b;
    size_t item;
};

/* Params: {"bench": <address of the struct bench, as u64>}: the bench is
 * in-process, and this keeps the item type free of globals. */
static int spin_params_create(const msgpack_object *params, void **out, struct pc_err *err)
{
    uint64_t addr = 0;
    struct spin_params *p = NULL;
    int rc = pc_params_u64(params, "bench", true, &addr, err);

    if (rc != 0) {
        return rc;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return PC_ENOMEM;
    }
    p->b = (struct bench *)(uintptr_t)addr;
    *out = p;
    return 0;
}

static void spin_params_destroy(void *p)
{
    free(p);
}

static int state_int(struct pc_state *s, int v)
{
    uint8_t byte = (uint8_t)v; /* positive fixint */

    return pc_state_set(s, &byte, 1);
}

static int spin_current(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                        struct pc_err *err)
{
    (void)ctx;
    (void)params;
    (void)err;
    return state_int(out, 0);
}

static int spin_goal(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                     struct pc_err *err)
{
    (void)ctx;
    (void)params;
    (void)err;
    return state_int(out, 1);
}

static int spin_diff(const void *params, const struct pc_state *a, const struct pc_state *b,
                     struct pc_state *out, struct pc_err *err)
{
    (void)params;
    (void)a;
    (void)b;
    (void)err;
    return state_int(out, 1);
}

static int spin_clean(const void *params, struct pc_state *out, struct pc_err *err)
{
    (void)params;
    (void)err;
    return state_int(out, 0);
}

static int spin_check(const void *params, const struct pc_state *c, const struct pc_state *t,
                      const struct pc_state *d, struct pc_apply_check *out, struct pc_err *err)
{
    (void)params;
    (void)c;
    (void)t;
    (void)d;
    (void)err;
    out->exec_required = true;
    out->limit.kind = PC_LIMIT_STEPS;
    out->limit.n = 0; /* set by the host below; unknown here */
    return 0;
}

static int spin_dry(struct pc_item_ctx *ctx, const void *params, const struct pc_state *c,
                    const struct pc_state *t, const struct pc_state *d, struct pc_state *out,
                    struct pc_err *err)
{
    (void)ctx;
    (void)params;
    (void)c;
    (void)d;
    (void)err;
    return pc_state_copy(out, t);
}

static int spin_apply(struct pc_item_ctx *ctx, const void *params, const struct pc_state *c,
                      const struct pc_state *t, const struct pc_state *d, struct pc_state *out,
                      struct pc_err *err)
{
    struct bench *b = ((const struct spin_params *)params)->b;
    uint64_t step = b->n_calls / MILESTONES;
    uint64_t t0 = now_ns();

    (void)c;
    (void)d;
    (void)err;
    for (uint64_t i = 1; i <= b->n_calls; i++) {
        pc_item_progress_inc(ctx, 1, NULL);
        if (i % step == 0) {
            b->reached_ns[ctx->item][i / step] = now_ns();
        }
    }
    b->apply_ns[ctx->item] = now_ns() - t0;
    return pc_state_copy(out, t);
}

static const struct pc_item_type spin_type = {
    .name = "spin",
    .params_create = spin_params_create,
    .params_destroy = spin_params_destroy,
    .state_current = spin_current,
    .state_goal = spin_goal,
    .state_diff = spin_diff,
    .state_clean = spin_clean,
    .apply_check = spin_check,
    .apply_dry = spin_dry,
    .apply = spin_apply,
};

/* A store that keeps nothing: the bench measures progress, not storage. */
static int null_read(void *ctx, enum pc_states_kind kind, const struct pc_flow *flow,
                     struct pc_states *out, pc_store_done_cb *done, void *arg)
{
    (void)ctx;
    (void)kind;
    for (size_t i = 0; i < flow->n_items; i++) {
        if (state_int(&out->v[i], kind == PC_STATES_CURRENT ? 0 : 1) != 0) {
            return PC_ENOMEM;
        }
    }
    done(arg, 0, NULL);
    return 0;
}

static int null_write_item(void *ctx, enum pc_states_kind kind, const struct pc_flow *flow,
                           size_t item, const struct pc_state *s, pc_store_done_cb *done, void *arg)
{
    (void)ctx;
    (void)kind;
    (void)flow;
    (void)item;
    (void)s;
    done(arg, 0, NULL);
    return 0;
}

static int null_write_all(void *ctx, enum pc_states_kind kind, const struct pc_flow *flow,
                          const struct pc_states *m, pc_store_done_cb *done, void *arg)
{
    (void)ctx;
    (void)kind;
    (void)flow;
    (void)m;
    done(arg, 0, NULL);
    return 0;
}

static const struct pc_store_ops null_store = {
    .read = null_read, .write_item = null_write_item, .write_all = null_write_all};

static void on_progress(void *ctx, size_t item, const struct pc_progress_tracker *t,
                        const struct pc_progress_update *u)
{
    struct bench *b = ctx;
    uint64_t step = b->n_calls / MILESTONES;
    uint64_t now = now_ns();

    (void)u;
    for (uint64_t m = 1; m <= MILESTONES && m * step <= t->done; m++) {
        if (b->seen_ns[item][m] == 0) {
            b->seen_ns[item][m] = now;
        }
    }
}

static void on_finished(void *ctx, const struct pc_outcome *o)
{
    struct bench *b = ctx;

    (void)o;
    (void)event_base_loopexit(b->base, NULL);
}

static const struct pc_exec_observer_ops observer = {
    .progress = on_progress,
    .finished = on_finished,
};

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    struct bench *b = arg;

    (void)fd;
    (void)what;
    pc_exec_progress_flush(b->exec);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static void baseline(uint64_t n, double *calls_per_s)
{
    _Atomic uint64_t counter = 0;
    uint64_t t0 = now_ns();

    for (uint64_t i = 0; i < n; i++) {
        atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
    }
    *calls_per_s = (double)n / ((double)(now_ns() - t0) / 1e9);
    if (atomic_load(&counter) != n) {
        *calls_per_s = 0;
    }
}

int main(int argc, char **argv)
{
    struct bench *b = calloc(1, sizeof(*b));
    struct pc_flow flow;
    struct pc_registry *reg = NULL;
    struct pc_pool *pool = NULL;
    struct pc_exec_opts o;
    struct event *flush = NULL;
    struct timeval tv = {0, 0};
    uint64_t flush_ms = argc > 3 ? strtoull(argv[3], NULL, 10) : 50;
    uint64_t stale[ITEMS_MAX * MILESTONES];
    size_t n_stale = 0;
    double base_rate = 0;
    double total_s = 0;
    uint8_t params[16];

    if (b == NULL) {
        return 1;
    }
    b->n_calls = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000000;
    b->n_items = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    if (b->n_items == 0 || b->n_items > ITEMS_MAX || b->n_calls < MILESTONES || flush_ms == 0) {
        (void)fprintf(stderr, "usage: bench_progress [CALLS] [ITEMS<=16] [FLUSH_MS]\n");
        return 1;
    }
    memset(&flow, 0, sizeof(flow));
    memcpy(flow.app.s, "bench", 6);
    memcpy(flow.profile.s, "bench", 6);
    memcpy(flow.flow.s, "progress", 9);
    flow.items = calloc(b->n_items, sizeof(*flow.items));
    if (flow.items == NULL) {
        return 1;
    }
    flow.n_items = b->n_items;
    {
        /* {"bench": uint64} by hand: fixmap(1), fixstr(5) "bench", uint64 big-endian. */
        uint64_t addr = (uint64_t)(uintptr_t)b;

        params[0] = 0x81;
        params[1] = 0xa5;
        memcpy(params + 2, "bench", 5);
        params[7] = 0xcf;
        for (int k = 0; k < 8; k++) {
            params[8 + k] = (uint8_t)(addr >> (56 - 8 * k));
        }
    }
    for (size_t i = 0; i < b->n_items; i++) {
        (void)snprintf(flow.items[i].id.s, sizeof(flow.items[i].id.s), "s%zu", i);
        memcpy(flow.items[i].type.s, "spin", 5);
        flow.items[i].params = params;
        flow.items[i].params_len = sizeof(params);
    }
    b->base = event_base_new();
    if (b->base == NULL || pc_registry_create(&reg, NULL) != 0 ||
        pc_registry_add(reg, &spin_type, NULL) != 0 ||
        pc_pool_create(b->base, (unsigned)b->n_items, &pool, NULL) != 0) {
        return 1;
    }
    memset(&o, 0, sizeof(o));
    o.cmd = PC_CMD_ENSURE;
    o.sync = PC_SYNC_NONE;
    o.flow = &flow;
    o.registry = reg;
    o.store.ops = &null_store;
    o.executor = pc_pool_executor(pool);
    o.observer = &observer;
    o.observer_ctx = b;
    if (pc_exec_create(&o, &b->exec, NULL) != 0) {
        return 1;
    }
    flush = event_new(b->base, -1, EV_PERSIST, on_flush, b);
    tv.tv_usec = (suseconds_t)(flush_ms * 1000);
    if (flush == NULL || event_add(flush, &tv) != 0) {
        return 1;
    }
    pc_exec_start(b->exec);
    (void)event_base_dispatch(b->base);
    for (size_t i = 0; i < b->n_items; i++) {
        total_s += (double)b->apply_ns[i] / 1e9;
        for (size_t m = 1; m <= MILESTONES; m++) {
            if (b->seen_ns[i][m] >= b->reached_ns[i][m]) {
                stale[n_stale++] = b->seen_ns[i][m] - b->reached_ns[i][m];
            }
        }
    }
    qsort(stale, n_stale, sizeof(stale[0]), cmp_u64);
    baseline(b->n_calls, &base_rate);
    {
        double per_item = (double)b->n_calls / (total_s / (double)b->n_items);
        printf("bench=progress_engine items=%zu calls_per_item=%" PRIu64 " flush_ms=%" PRIu64
               " calls_per_s_per_item=%.0f calls_per_s_total=%.0f\n",
               b->n_items, b->n_calls, flush_ms, per_item, per_item * (double)b->n_items);
        printf("bench=progress_engine_staleness items=%zu samples=%zu p50_ms=%.2f p99_ms=%.2f "
               "max_ms=%.2f\n",
               b->n_items, n_stale, n_stale ? (double)stale[n_stale / 2] / 1e6 : -1.0,
               n_stale ? (double)stale[(n_stale * 99) / 100] / 1e6 : -1.0,
               n_stale ? (double)stale[n_stale - 1] / 1e6 : -1.0);
        printf("bench=progress_engine_baseline api=atomic_fetch_add calls_per_s=%.0f "
               "ratio_ours_over_baseline=%.3f\n",
               base_rate, base_rate > 0 ? per_item / base_rate : 0.0);
    }
    event_free(flush);
    pc_exec_destroy(b->exec);
    pc_pool_destroy(pool);
    pc_registry_destroy(reg);
    event_base_free(b->base);
    free(flow.items);
    free(b);
    return 0;
}
