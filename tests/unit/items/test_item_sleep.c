/*
 * test_item_sleep.c - the `sleep` item type: state from the marker file,
 * one progress unit per step (limit steps:N), fail_at_step stopping with a
 * clear error and no marker, clean removing the marker, and params limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "item_test_support.h"
#include "peace/items.h"

struct fx {
    struct scratch scratch;
    char marker[256];
    struct progress_rec rec;
    struct pc_item_ctx ctx;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    scratch_init(&f->scratch);
    snprintf(f->marker, sizeof(f->marker), "%s/m/done", f->scratch.dir);
    progress_rec_ctx(&f->rec, &f->ctx, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    scratch_cleanup(&f->scratch);
    free(f);
    return 0;
}

static void *sleep_params(const struct fx *f, const char *fields)
{
    struct test_params tp;
    void *p = NULL;

    test_params_json(&tp, "{\"marker\": \"%s\", %s}", f->marker, fields);
    p = params_create_ok(&pc_item_sleep, tp.obj);
    test_params_free(&tp);
    return p;
}

static void current_ok(struct fx *f, const void *p, struct pc_state *out)
{
    struct pc_err err = {0};

    if (pc_item_sleep.state_current(&f->ctx, p, out, &err) != 0) {
        fail_msg("state_current: %s", err.msg);
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void apply_spends_steps_with_one_unit_each_then_writes_the_marker(void **state)
{
    struct fx *f = *state;
    void *p = sleep_params(f, "\"steps\": 5, \"step_ms\": 10");
    struct pc_state cur = {0}, goal = {0}, diff = {0}, applied = {0}, again = {0};
    struct pc_apply_check ck = {0};
    struct pc_err err = {0};
    uint64_t start = 0;
    char *change = NULL;

    current_ok(f, p, &cur);
    assert_false(state_bool(&cur, "done"));
    assert_int_equal(pc_item_sleep.state_goal(&f->ctx, p, &goal, &err), 0);
    assert_true(state_bool(&goal, "done"));
    assert_int_equal(pc_item_sleep.state_diff(p, &cur, &goal, &diff, &err), 0);
    change = state_str(&diff, "change");
    assert_string_equal(change, "complete");
    free(change);
    assert_int_equal(pc_item_sleep.apply_check(p, &cur, &goal, &diff, &ck, &err), 0);
    assert_true(ck.exec_required);
    assert_int_equal(ck.limit.kind, PC_LIMIT_STEPS);
    assert_int_equal(ck.limit.n, 5);

    start = now_ms();
    assert_int_equal(pc_item_sleep.apply(&f->ctx, p, &cur, &goal, &diff, &applied, &err), 0);
    assert_true(now_ms() - start >= 50);
    assert_int_equal(f->rec.n_inc, 5);
    assert_int_equal(f->rec.units, 5);
    assert_string_equal(f->rec.last_msg, "step 5/5");
    assert_true(state_bool(&applied, "done"));
    assert_int_equal(access(f->marker, F_OK), 0);

    current_ok(f, p, &again);
    assert_true(pc_state_bytes_eq(&again, &goal));
    ck.exec_required = true;
    assert_int_equal(pc_item_sleep.apply_check(p, &again, &goal, &diff, &ck, &err), 0);
    assert_false(ck.exec_required);

    pc_state_clear(&cur);
    pc_state_clear(&goal);
    pc_state_clear(&diff);
    pc_state_clear(&applied);
    pc_state_clear(&again);
    pc_item_sleep.params_destroy(p);
}

static void fail_at_step_stops_with_an_error_and_no_marker(void **state)
{
    struct fx *f = *state;
    void *p = sleep_params(f, "\"steps\": 4, \"step_ms\": 1, \"fail_at_step\": 3");
    struct pc_state cur = {0}, goal = {0}, out = {0};
    struct pc_err err = {0};

    current_ok(f, p, &cur);
    assert_int_equal(pc_item_sleep.state_goal(&f->ctx, p, &goal, &err), 0);
    assert_int_equal(pc_item_sleep.apply(&f->ctx, p, &cur, &goal, NULL, &out, &err), PC_EITEM);
    assert_string_equal(err.msg, "failing at step 3 of 4 as configured (fail_at_step)");
    assert_int_equal(f->rec.units, 2);
    assert_null(out.data);
    assert_int_equal(access(f->marker, F_OK), -1);

    pc_state_clear(&cur);
    pc_state_clear(&goal);
    pc_item_sleep.params_destroy(p);
}

static void clean_removes_the_marker_in_one_step(void **state)
{
    struct fx *f = *state;
    void *p = sleep_params(f, "\"steps\": 3, \"step_ms\": 0");
    struct pc_state cur = {0}, goal = {0}, clean = {0}, done = {0}, after = {0}, diff = {0};
    struct pc_apply_check ck = {0};
    struct pc_err err = {0};
    char *change = NULL;

    current_ok(f, p, &cur);
    assert_int_equal(pc_item_sleep.state_goal(&f->ctx, p, &goal, &err), 0);
    assert_int_equal(pc_item_sleep.apply(&f->ctx, p, &cur, &goal, NULL, &done, &err), 0);
    assert_int_equal(pc_item_sleep.state_clean(p, &clean, &err), 0);
    assert_false(state_bool(&clean, "done"));

    assert_int_equal(pc_item_sleep.state_diff(p, &done, &clean, &diff, &err), 0);
    change = state_str(&diff, "change");
    assert_string_equal(change, "reset");
    free(change);
    assert_int_equal(pc_item_sleep.apply_check(p, &done, &clean, &diff, &ck, &err), 0);
    assert_true(ck.exec_required);
    assert_int_equal(ck.limit.kind, PC_LIMIT_STEPS);
    assert_int_equal(ck.limit.n, 1);
    f->rec.units = 0;
    assert_int_equal(pc_item_sleep.apply(&f->ctx, p, &done, &clean, &diff, &after, &err), 0);
    assert_int_equal(f->rec.units, 1);
    assert_true(pc_state_bytes_eq(&after, &clean));
    assert_int_equal(access(f->marker, F_OK), -1);

    pc_state_clear(&cur);
    pc_state_clear(&goal);
    pc_state_clear(&clean);
    pc_state_clear(&done);
    pc_state_clear(&after);
    pc_state_clear(&diff);
    pc_item_sleep.params_destroy(p);
}

static void apply_dry_returns_target_without_sleeping_or_writing(void **state)
{
    struct fx *f = *state;
    void *p = sleep_params(f, "\"steps\": 1000, \"step_ms\": 3600000");
    struct pc_state cur = {0}, goal = {0}, dry = {0};
    struct pc_err err = {0};

    current_ok(f, p, &cur);
    assert_int_equal(pc_item_sleep.state_goal(&f->ctx, p, &goal, &err), 0);
    assert_int_equal(pc_item_sleep.apply_dry(&f->ctx, p, &cur, &goal, NULL, &dry, &err), 0);
    assert_true(pc_state_bytes_eq(&dry, &goal));
    assert_int_equal(f->rec.units, 0);
    assert_int_equal(access(f->marker, F_OK), -1);

    pc_state_clear(&cur);
    pc_state_clear(&goal);
    pc_state_clear(&dry);
    pc_item_sleep.params_destroy(p);
}

static void bad_params_are_einval_naming_the_key(void **state)
{
    static const struct {
        const char *json;
        const char *msg;
    } cases[] = {
        {"{\"step_ms\": 1, \"marker\": \"/tmp/m\"}", "params.steps: required"},
        {"{\"steps\": 1, \"marker\": \"/tmp/m\"}", "params.step_ms: required"},
        {"{\"steps\": 1, \"step_ms\": 1}", "params.marker: required"},
        {"{\"steps\": \"3\", \"step_ms\": 1, \"marker\": \"/tmp/m\"}",
         "params.steps: expected a non-negative integer"},
        {"{\"steps\": 0, \"step_ms\": 1, \"marker\": \"/tmp/m\"}",
         "params.steps: must be between 1 and 1000000"},
        {"{\"steps\": 1000001, \"step_ms\": 1, \"marker\": \"/tmp/m\"}",
         "params.steps: must be between 1 and 1000000"},
        {"{\"steps\": 1, \"step_ms\": 3600001, \"marker\": \"/tmp/m\"}",
         "params.step_ms: must be at most 3600000 (one hour)"},
        {"{\"steps\": 1, \"step_ms\": -5, \"marker\": \"/tmp/m\"}",
         "params.step_ms: expected a non-negative integer"},
        {"{\"steps\": 2, \"step_ms\": 1, \"marker\": \"/tmp/m\", \"fail_at_step\": 3}",
         "params.fail_at_step: must be between 1 and steps (2)"},
        {"{\"steps\": 2, \"step_ms\": 1, \"marker\": \"/tmp/m\", \"fail_at_step\": 0}",
         "params.fail_at_step: must be between 1 and steps (2)"},
        {"{\"steps\": 2, \"step_ms\": 1, \"marker\": \"\"}", "params.marker: empty path"},
        {"{\"steps\": 2, \"step_ms\": 1, \"marker\": [\"/tmp/m\"]}",
         "params.marker: expected a string"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct test_params tp;

        test_params_json(&tp, "%s", cases[i].json);
        assert_string_equal(params_create_err(&pc_item_sleep, tp.obj, PC_EINVAL), cases[i].msg);
        test_params_free(&tp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            apply_spends_steps_with_one_unit_each_then_writes_the_marker, setup, teardown),
        cmocka_unit_test_setup_teardown(fail_at_step_stops_with_an_error_and_no_marker, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(clean_removes_the_marker_in_one_step, setup, teardown),
        cmocka_unit_test_setup_teardown(apply_dry_returns_target_without_sleeping_or_writing, setup,
                                        teardown),
        cmocka_unit_test(bad_params_are_einval_naming_the_key),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
