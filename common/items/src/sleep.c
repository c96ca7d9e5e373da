/*
 * sleep.c - the `sleep` item type: a slow, observable unit of work, used to
 * exercise progress and interruption end to end.
 *
 * params  {steps: 1..1000000, step_ms: 0..3600000, marker: path,
 *          fail_at_step?: 1..steps}
 * state   {done: bool}  - whether the marker file exists
 * goal    {done: true}   clean {done: false}
 * diff    {change: "none"|"complete"|"reset"}
 *
 * Apply towards done spends steps x step_ms, one progress unit per step
 * (limit steps:N), then writes the marker; with fail_at_step it fails when
 * that step would start, after fail_at_step - 1 units, leaving no marker.
 * A cancel or kill (the item's cancel token) stops the apply at once, during
 * a step or between two, with PC_ECANCELED and no marker written.
 * Apply towards not done removes the marker (limit steps:1). The state holds
 * one boolean in a fixed encoding, so byte equality is the right equality.
 */
#include "peace/items.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "items_internal.h"
#include "peace/params.h"

#define SLEEP_STEPS_MAX   1000000u
#define SLEEP_STEP_MS_MAX 3600000u

struct sleep_params {
    uint64_t steps;
    uint64_t step_ms;
    uint64_t fail_at_step; /* 0 = never */
    char *marker;
};

static void sleep_params_destroy(void *p)
{
    struct sleep_params *sp = p;

    if (sp == NULL) {
        return;
    }
    free(sp->marker);
    free(sp);
}

static int sleep_params_check(const struct sleep_params *sp, struct pc_err *err)
{
    if (sp->steps < 1 || sp->steps > SLEEP_STEPS_MAX) {
        return pc_err_set(err, PC_EINVAL, "params.steps: must be between 1 and %u",
                          SLEEP_STEPS_MAX);
    }
    if (sp->step_ms > SLEEP_STEP_MS_MAX) {
        return pc_err_set(err, PC_EINVAL, "params.step_ms: must be at most %u (one hour)",
                          SLEEP_STEP_MS_MAX);
    }
    if (sp->fail_at_step > sp->steps) {
        return pc_err_set(err, PC_EINVAL, "params.fail_at_step: must be between 1 and steps (%llu)",
                          (unsigned long long)sp->steps);
    }
    if (sp->marker[0] == '\0') {
        return pc_err_set(err, PC_EINVAL, "params.marker: empty path");
    }
    return 0;
}

static int sleep_params_create(const msgpack_object *params, void **out, struct pc_err *err)
{
    struct sleep_params *sp = calloc(1, sizeof(*sp));
    const msgpack_object *fail_at = NULL;
    int rc = 0;

    if (sp == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    rc = pc_params_u64(params, "steps", true, &sp->steps, err);
    if (rc == 0) {
        rc = pc_params_u64(params, "step_ms", true, &sp->step_ms, err);
    }
    if (rc == 0) {
        rc = pc_params_strdup(params, "marker", true, PC_ITEMS_PATH_MAX, &sp->marker, err);
    }
    if (rc == 0) {
        rc = pc_params_u64(params, "fail_at_step", false, &sp->fail_at_step, err);
        fail_at = pc_msgpack_map_get(params, "fail_at_step");
    }
    if (rc == 0 && fail_at != NULL && fail_at->type != MSGPACK_OBJECT_NIL &&
        sp->fail_at_step == 0) {
        rc = pc_err_set(err, PC_EINVAL, "params.fail_at_step: must be between 1 and steps (%llu)",
                        (unsigned long long)sp->steps);
    }
    if (rc == 0) {
        rc = sleep_params_check(sp, err);
    }
    if (rc < 0) {
        sleep_params_destroy(sp);
        return rc;
    }
    *out = sp;
    return 0;
}

static int sleep_state_pack(bool done, struct pc_state *out, struct pc_err *err)
{
    struct pc__mpw w;

    pc__mpw_init(&w);
    pc__mpw_map(&w, 1);
    pc__mpw_cstr(&w, "done");
    pc__mpw_bool(&w, done);
    return pc__mpw_finish(&w, out, err);
}

static int sleep_state_decode(const struct pc_state *s, const char *what, bool *done,
                              struct pc_err *err)
{
    struct pc__mpr r;
    int rc = pc__mpr_open(&r, s, what, err);

    if (rc < 0) {
        return rc;
    }
    rc = pc__mpr_bool(&r, "done", done, err);
    pc__mpr_close(&r);
    return rc;
}

static int sleep_discover(const struct sleep_params *sp, struct pc_state *out, struct pc_err *err)
{
    struct stat st;

    if (lstat(sp->marker, &st) == 0) {
        return sleep_state_pack(true, out, err);
    }
    if (errno == ENOENT || errno == ENOTDIR) {
        return sleep_state_pack(false, out, err);
    }
    return pc__err_sys(err, -errno, "cannot stat marker %s", sp->marker);
}

static int sleep_state_current(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                               struct pc_err *err)
{
    (void)ctx;
    return sleep_discover(params, out, err);
}

static int sleep_state_goal(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                            struct pc_err *err)
{
    (void)ctx;
    (void)params;
    return sleep_state_pack(true, out, err);
}

static int sleep_state_clean(const void *params, struct pc_state *out, struct pc_err *err)
{
    (void)params;
    return sleep_state_pack(false, out, err);
}

static int sleep_state_diff(const void *params, const struct pc_state *a, const struct pc_state *b,
                            struct pc_state *out, struct pc_err *err)
{
    struct pc__mpw w;
    bool da = false;
    bool db = false;
    int rc = sleep_state_decode(a, "state a", &da, err);

    (void)params;
    if (rc == 0) {
        rc = sleep_state_decode(b, "state b", &db, err);
    }
    if (rc < 0) {
        return rc;
    }
    pc__mpw_init(&w);
    pc__mpw_map(&w, 1);
    pc__mpw_cstr(&w, "change");
    pc__mpw_cstr(&w, da == db ? "none" : db ? "complete" : "reset");
    return pc__mpw_finish(&w, out, err);
}

static int sleep_apply_check(const void *params, const struct pc_state *current,
                             const struct pc_state *target, const struct pc_state *diff,
                             struct pc_apply_check *out, struct pc_err *err)
{
    const struct sleep_params *sp = params;
    bool cur = false;
    bool tgt = false;
    int rc = sleep_state_decode(current, "current state", &cur, err);

    (void)diff;
    if (rc == 0) {
        rc = sleep_state_decode(target, "target state", &tgt, err);
    }
    if (rc < 0) {
        return rc;
    }
    out->exec_required = cur != tgt;
    out->limit.kind = PC_LIMIT_STEPS;
    out->limit.n = !out->exec_required ? 0 : tgt ? sp->steps : 1;
    return 0;
}

/* Sleeps ms milliseconds, resuming after signals. */
static void sleep_ms(uint64_t ms)
{
    struct timespec left = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (nanosleep(&left, &left) != 0 && errno == EINTR) {
    }
}

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * Sleeps ms milliseconds unless the item is cancelled first: waits on the
 * cancel fd, or (without one) in slices of SLEEP_SLICE_MS checking the
 * token. Returns true when cancelled.
 */
#define SLEEP_SLICE_MS 20u
static bool sleep_cancellable(struct pc_item_ctx *ctx, uint64_t ms)
{
    int fd = pc_item_cancel_fd(ctx);
    uint64_t end = mono_ms() + ms;

    for (;;) {
        uint64_t now = mono_ms();
        uint64_t left = now >= end ? 0 : end - now;

        if (pc_item_cancelled(ctx)) {
            return true;
        }
        if (left == 0) {
            return false;
        }
        if (fd < 0) {
            sleep_ms(left < SLEEP_SLICE_MS ? left : SLEEP_SLICE_MS);
            continue;
        }
        {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            int timeout = left > INT32_MAX ? INT32_MAX : (int)left;

            if (poll(&p, 1, timeout) > 0) {
                (void)pc_item_cancel_ack(ctx);
            }
        }
    }
}

static int write_marker(const char *marker, struct pc_err *err)
{
    static const char text[] = "done\n";
    int fd = -1;
    int rc = pc__mkdir_parents(marker, err);

    if (rc < 0) {
        return rc;
    }
    fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return pc__err_sys(err, -errno, "cannot create marker %s", marker);
    }
    rc = pc__write_all(fd, text, sizeof(text) - 1);
    if (rc < 0) {
        close(fd);
        return pc__err_sys(err, rc, "cannot write marker %s", marker);
    }
    if (close(fd) != 0) {
        return pc__err_sys(err, -errno, "cannot close marker %s", marker);
    }
    return 0;
}

static int sleep_apply(struct pc_item_ctx *ctx, const void *params, const struct pc_state *current,
                       const struct pc_state *target, const struct pc_state *diff,
                       struct pc_state *out, struct pc_err *err)
{
    const struct sleep_params *sp = params;
    bool tgt = false;
    int rc = sleep_state_decode(target, "target state", &tgt, err);

    (void)current;
    (void)diff;
    if (rc < 0) {
        return rc;
    }
    if (!tgt) {
        rc = pc__unlink_if_exists(sp->marker, err);
        if (rc < 0) {
            return rc;
        }
        pc_item_progress_inc(ctx, 1, NULL);
        return sleep_discover(sp, out, err);
    }
    for (uint64_t step = 1; step <= sp->steps; step++) {
        char msg[64];

        if (step == sp->fail_at_step) {
            return pc_err_set(err, PC_EITEM,
                              "failing at step %llu of %llu as configured (fail_at_step)",
                              (unsigned long long)step, (unsigned long long)sp->steps);
        }
        /* The cancel token is honoured between steps and during one. */
        if (sleep_cancellable(ctx, sp->step_ms)) {
            return pc_err_set(err, PC_ECANCELED, "cancelled during step %llu of %llu",
                              (unsigned long long)step, (unsigned long long)sp->steps);
        }
        snprintf(msg, sizeof(msg), "step %llu/%llu", (unsigned long long)step,
                 (unsigned long long)sp->steps);
        pc_item_progress_inc(ctx, 1, msg);
    }
    rc = write_marker(sp->marker, err);
    if (rc < 0) {
        return rc;
    }
    return sleep_discover(sp, out, err);
}

static int sleep_apply_dry(struct pc_item_ctx *ctx, const void *params,
                           const struct pc_state *current, const struct pc_state *target,
                           const struct pc_state *diff, struct pc_state *out, struct pc_err *err)
{
    int rc = 0;

    (void)ctx;
    (void)params;
    (void)current;
    (void)diff;
    rc = pc_state_copy(out, target);
    if (rc < 0) {
        return pc_err_set(err, rc, "cannot copy the target state");
    }
    return 0;
}

const struct pc_item_type pc_item_sleep = {
    .name = "sleep",
    .params_create = sleep_params_create,
    .params_destroy = sleep_params_destroy,
    .state_current = sleep_state_current,
    .state_goal = sleep_state_goal,
    .state_diff = sleep_state_diff,
    .state_clean = sleep_state_clean,
    .apply_check = sleep_apply_check,
    .apply_dry = sleep_apply_dry,
    .apply = sleep_apply,
    .state_eq = NULL,
};
