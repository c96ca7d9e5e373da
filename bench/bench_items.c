/*
 * bench_items.c - item types for the fleet benchmarks, loaded into
 * peace-worker (and peace-scheduler, to validate flows) with --plugin.
 *
 * Design. The benchmarks measure the fleet (Redis round trips, the worker's
 * loop, the recorder), so the items do as little as possible and do it
 * predictably:
 *
 *   bench_noop  {}                 discovers a one-byte state at once;
 *   bench_sleep {"us": N}          sleeps N microseconds, then the same;
 *   bench_spin  {"calls": N}       calls pc_item_progress_inc N times as fast
 *                                  as it can; its discovered state reports
 *                                  what the item saw (see below).
 *
 * bench_spin's state is a msgpack map {"calls": N, "ns": elapsed, "t0_us":
 * start, "reached_us": [100 realtime microsecond stamps]}: stamp k is when
 * the item had done k/100 of its calls. The benchmark driver reads it from
 * the states hash and compares it with when a reader of the execution's
 * events saw that much done: that difference is the dashboard staleness.
 * Realtime clocks are comparable because everything runs on one host.
 *
 * Every function is reentrant: the params object is read-only, and all
 * per-run data lives on the item thread's stack.
 */
#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "peace/item.h"
#include "peace/params.h"
#include "peace/plugin.h"

#define MILESTONES   100
#define SLEEP_US_MAX (UINT64_C(3600) * 1000000u)
#define CALLS_MAX    (UINT64_C(1) << 40)

PEACE_PLUGIN_API_DEFINE;

struct bench_params {
    uint64_t us;
    uint64_t calls;
};

static int params_with(const msgpack_object *params, const char *key, uint64_t max, void **out,
                       struct pc_err *err)
{
    struct bench_params *p = calloc(1, sizeof(*p));
    uint64_t v = 0;
    int rc = 0;

    if (p == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    if (key != NULL) {
        rc = pc_params_u64(params, key, true, &v, err);
        if (rc == 0 && v > max) {
            rc = pc_err_set(err, PC_EINVAL, "params: \"%s\" above %llu", key,
                            (unsigned long long)max);
        }
    }
    if (rc != 0) {
        free(p);
        return rc;
    }
    p->us = v;
    p->calls = v;
    *out = p;
    return 0;
}

static int noop_params(const msgpack_object *params, void **out, struct pc_err *err)
{
    return params_with(params, NULL, 0, out, err);
}

static int sleep_params(const msgpack_object *params, void **out, struct pc_err *err)
{
    return params_with(params, "us", SLEEP_US_MAX, out, err);
}

static int spin_params(const msgpack_object *params, void **out, struct pc_err *err)
{
    int rc = params_with(params, "calls", CALLS_MAX, out, err);

    if (rc == 0 && ((struct bench_params *)*out)->calls < MILESTONES) {
        free(*out);
        *out = NULL;
        return pc_err_set(err, PC_EINVAL, "params: \"calls\" below %d", MILESTONES);
    }
    return rc;
}

static void params_destroy(void *params)
{
    free(params);
}

static int one_byte(struct pc_state *out, uint8_t v)
{
    uint8_t byte = v & 0x7f; /* a msgpack positive fixint */

    return pc_state_set(out, &byte, 1);
}

static uint64_t realtime_us(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int noop_current(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                        struct pc_err *err)
{
    (void)ctx;
    (void)params;
    (void)err;
    return one_byte(out, 0);
}

static int noop_goal(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                     struct pc_err *err)
{
    (void)ctx;
    (void)params;
    (void)err;
    return one_byte(out, 1);
}

static int sleep_current(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                         struct pc_err *err)
{
    const struct bench_params *p = params;
    struct timespec ts = {(time_t)(p->us / 1000000u), (long)(p->us % 1000000u) * 1000L};

    (void)ctx;
    (void)err;
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) != 0) {
        /* EINTR: sleep the rest */
    }
    return one_byte(out, 0);
}

/* {"calls": N, "ns": elapsed, "t0_us": start, "reached_us": [stamps]} */
static int spin_state(struct pc_state *out, uint64_t calls, uint64_t ns, uint64_t t0_us,
                      const uint64_t *reached)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    int rc;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    rc = msgpack_pack_map(&pk, 4);
    rc |= msgpack_pack_str_with_body(&pk, "calls", 5);
    rc |= msgpack_pack_uint64(&pk, calls);
    rc |= msgpack_pack_str_with_body(&pk, "ns", 2);
    rc |= msgpack_pack_uint64(&pk, ns);
    rc |= msgpack_pack_str_with_body(&pk, "t0_us", 5);
    rc |= msgpack_pack_uint64(&pk, t0_us);
    rc |= msgpack_pack_str_with_body(&pk, "reached_us", 10);
    rc |= msgpack_pack_array(&pk, MILESTONES);
    for (size_t k = 0; k < MILESTONES; k++) {
        rc |= msgpack_pack_uint64(&pk, reached[k]);
    }
    if (rc != 0 || sb.data == NULL) {
        msgpack_sbuffer_destroy(&sb);
        return PC_ENOMEM;
    }
    rc = pc_state_set(out, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static int spin_current(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                        struct pc_err *err)
{
    const struct bench_params *p = params;
    uint64_t reached[MILESTONES];
    uint64_t step = p->calls / MILESTONES;
    uint64_t next = step;
    size_t k = 0;
    uint64_t t0_us = realtime_us();
    uint64_t t0 = mono_ns();
    uint64_t ns;
    int rc;

    for (uint64_t i = 1; i <= p->calls; i++) {
        pc_item_progress_inc(ctx, 1, NULL);
        if (i == next) {
            /* 100 clock reads in the whole loop: noise, not cost. */
            reached[k++] = realtime_us();
            next = k < MILESTONES ? next + step : 0;
        }
    }
    ns = mono_ns() - t0;
    rc = spin_state(out, p->calls, ns, t0_us, reached);
    if (rc != 0) {
        return pc_err_set(err, rc, "out of memory");
    }
    return 0;
}

static int same_diff(const void *params, const struct pc_state *a, const struct pc_state *b,
                     struct pc_state *out, struct pc_err *err)
{
    (void)params;
    (void)a;
    (void)b;
    (void)err;
    return one_byte(out, 1);
}

static int clean(const void *params, struct pc_state *out, struct pc_err *err)
{
    (void)params;
    (void)err;
    return one_byte(out, 0);
}

static int check(const void *params, const struct pc_state *current, const struct pc_state *target,
                 const struct pc_state *diff, struct pc_apply_check *out, struct pc_err *err)
{
    (void)params;
    (void)diff;
    (void)err;
    memset(out, 0, sizeof(*out));
    out->exec_required = !pc_state_bytes_eq(current, target);
    out->limit.kind = PC_LIMIT_UNKNOWN;
    return 0;
}

static int apply(struct pc_item_ctx *ctx, const void *params, const struct pc_state *current,
                 const struct pc_state *target, const struct pc_state *diff, struct pc_state *out,
                 struct pc_err *err)
{
    (void)ctx;
    (void)params;
    (void)current;
    (void)diff;
    (void)err;
    return pc_state_copy(out, target);
}

static const struct pc_item_type noop_type = {
    .name = "bench_noop",
    .params_create = noop_params,
    .params_destroy = params_destroy,
    .state_current = noop_current,
    .state_goal = noop_goal,
    .state_diff = same_diff,
    .state_clean = clean,
    .apply_check = check,
    .apply_dry = apply,
    .apply = apply,
};

static const struct pc_item_type sleep_type = {
    .name = "bench_sleep",
    .params_create = sleep_params,
    .params_destroy = params_destroy,
    .state_current = sleep_current,
    .state_goal = noop_goal,
    .state_diff = same_diff,
    .state_clean = clean,
    .apply_check = check,
    .apply_dry = apply,
    .apply = apply,
};

static const struct pc_item_type spin_type = {
    .name = "bench_spin",
    .params_create = spin_params,
    .params_destroy = params_destroy,
    .state_current = spin_current,
    .state_goal = noop_goal,
    .state_diff = same_diff,
    .state_clean = clean,
    .apply_check = check,
    .apply_dry = apply,
    .apply = apply,
};

int peace_plugin_register(uint32_t api_version, struct pc_registry *r, struct pc_err *err)
{
    int rc = pc_registry_add(r, &noop_type, err);

    (void)api_version;
    if (rc == 0) {
        rc = pc_registry_add(r, &sleep_type, err);
    }
    if (rc == 0) {
        rc = pc_registry_add(r, &spin_type, err);
    }
    return rc;
}
