/*
 * test_clean_cmd.c - peace 0.0.15's workspace_tests/src/rt/cmds/clean_cmd.rs
 * ported as engine tests, each named after its upstream test (items
 * "vec_copy" and "mock" are fake items: current 0, goal 1, clean 0), plus
 * the clean paths upstream has no test for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "exec_fixture.h"

static const char *const ids2[] = {"vec_copy", "mock"};

static void discovered(struct fixture *f)
{
    make_flow(f, ids2, 2, NULL, 0);
    for (size_t i = 0; i < 2; i++) {
        f->world.items[i].value = 0;
        f->world.items[i].goal = 1;
    }
    run_cmd(f, PC_CMD_DISCOVER, PC_SYNC_BOTH, "finish_current", false);
}

static void ensured(struct fixture *f)
{
    discovered(f);
    run_cmd(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(f->world.items[0].value, 1);
}

static int64_t applied(const struct fixture *f, size_t i)
{
    int64_t v = -99;

    assert_true(fake_state_get_int(&pc_exec_map(f->exec, PC_MAP_APPLIED)->v[i], &v));
    return v;
}

static void resources_cleaned_dry_does_not_alter_state_when_state_not_ensured(void **state)
{
    struct fixture *f = *state;
    size_t w = 0;

    discovered(f);
    w = writes(f, PC_STATES_CURRENT);
    run_cmd(f, PC_CMD_CLEAN_DRY, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(applied(f, 0), 0);
    assert_int_equal(applied(f, 1), 0);
    assert_int_equal(fake_log_count_prefix(&f->world, "apply"), 0); /* nothing to do */
    assert_int_equal(writes(f, PC_STATES_CURRENT), w);
}

static void resources_cleaned_dry_does_not_alter_state_when_state_ensured(void **state)
{
    struct fixture *f = *state;
    size_t w = 0;

    ensured(f);
    w = writes(f, PC_STATES_CURRENT);
    run_cmd(f, PC_CMD_CLEAN_DRY, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(applied(f, 0), 0); /* would be cleaned */
    assert_int_equal(f->world.items[0].value, 1);
    assert_int_equal(f->world.items[1].value, 1);
    assert_int_equal(writes(f, PC_STATES_CURRENT), w);
    run_cmd(f, PC_CMD_READ_CURRENT, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 0), 1);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 1), 1);
}

static void
resources_cleaned_contains_state_cleaned_for_each_item_when_state_not_ensured(void **state)
{
    struct fixture *f = *state;

    discovered(f);
    run_cmd(f, PC_CMD_CLEAN, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(applied(f, 0), 0);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 0), 0);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 1), 0);
}

static void resources_cleaned_contains_state_cleaned_for_each_item_when_state_ensured(void **state)
{
    struct fixture *f = *state;

    ensured(f);
    run_cmd(f, PC_CMD_CLEAN, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(f->world.items[0].value, 0);
    assert_int_equal(f->world.items[1].value, 0);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 0), 0);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 1), 0);
    /* clean writes current only: the goal stays. */
    assert_int_equal(stored(f, PC_STATES_GOAL, 0), 1);
}

static void clean_sync_case(struct fixture *f, enum pc_cmd cmd, bool current)
{
    size_t w = 0;

    ensured(f);
    if (current) {
        f->world.items[0].value = 5;
    } else {
        f->world.items[0].goal = 2;
    }
    w = writes(f, PC_STATES_CURRENT);
    run_cmd(f, cmd, current ? PC_SYNC_CURRENT : PC_SYNC_GOAL, "finish_current", false);
    if (current) {
        assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_ERROR);
        assert_non_null(strstr(f->obs.outcome.error, "stored current states are out of sync"));
        assert_int_equal(writes(f, PC_STATES_CURRENT), w);
        assert_int_equal(f->world.items[1].value, 1);
    } else {
        /* For clean, goal sync is none: no guard at all. */
        assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
        assert_blocks(&f->obs.outcome, 4, 4);
    }
}

static void exec_dry_returns_sync_error_when_current_state_out_of_sync(void **state)
{
    clean_sync_case(*state, PC_CMD_CLEAN_DRY, true);
}

static void exec_dry_does_not_return_sync_error_when_goal_state_out_of_sync(void **state)
{
    clean_sync_case(*state, PC_CMD_CLEAN_DRY, false);
}

static void exec_returns_sync_error_when_current_state_out_of_sync(void **state)
{
    clean_sync_case(*state, PC_CMD_CLEAN, true);
}

static void exec_does_not_return_sync_error_when_goal_state_out_of_sync(void **state)
{
    struct fixture *f = *state;

    clean_sync_case(f, PC_CMD_CLEAN, false);
    assert_int_equal(f->world.items[0].value, 0);
}

static void states_current_not_serialized_on_states_clean_insert_cmd_block_fail(void **state)
{
    struct fixture *f = *state;
    size_t w = 0;

    ensured(f);
    f->world.items[1].fail_clean = true;
    w = writes(f, PC_STATES_CURRENT);
    run_cmd(f, PC_CMD_CLEAN, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_ITEM_ERROR);
    assert_blocks(&f->obs.outcome, 2, 5);
    assert_int_equal(f->obs.outcome.blocks[2], PC_BLOCK_CLEAN_INSERTION);
    assert_string_equal(f->obs.outcome.errors[0].item.s, "mock");
    assert_string_equal(f->obs.outcome.errors[0].text, "clean of mock failed");
    assert_int_equal(writes(f, PC_STATES_CURRENT), w);
    assert_int_equal(f->world.items[0].value, 1);
}

static void states_current_not_serialized_on_states_discover_cmd_block_fail(void **state)
{
    struct fixture *f = *state;
    size_t w = 0;

    ensured(f);
    f->world.items[1].fail_current = true;
    w = writes(f, PC_STATES_CURRENT);
    run_cmd(f, PC_CMD_CLEAN, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_ITEM_ERROR);
    assert_blocks(&f->obs.outcome, 1, 5);
    assert_string_equal(f->obs.outcome.errors[0].text, "current of mock failed");
    assert_int_equal(writes(f, PC_STATES_CURRENT), w);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 1), 1);
}

/* Engine paths upstream has no test for --------------------------------- */

static void clean_sync_check_current_catches_an_item_changed_behind_our_back(void **state)
{
    struct fixture *f = *state;

    ensured(f);
    f->world.items[1].unknown_current = true; /* only stored */
    run_cmd(f, PC_CMD_CLEAN, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_ERROR);
    assert_int_equal(f->obs.outcome.blocks[3], PC_BLOCK_SYNC_CHECK_CURRENT);
    assert_non_null(strstr(f->obs.outcome.error, "mock: stored 1 discovered (none)"));
    assert_int_equal(fake_log_count_prefix(&f->world, "apply:"), 2); /* the ensure's only */
}

static void clean_apply_check_error_is_an_item_error(void **state)
{
    struct fixture *f = *state;

    ensured(f);
    f->world.items[0].fail_check = true;
    run_cmd(f, PC_CMD_CLEAN, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_ITEM_ERROR);
    assert_blocks(&f->obs.outcome, 4, 5);
    assert_string_equal(f->obs.outcome.errors[0].text, "apply_check of vec_copy failed");
    assert_int_equal(f->world.items[0].value, 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(resources_cleaned_dry_does_not_alter_state_when_state_not_ensured),
        T(resources_cleaned_dry_does_not_alter_state_when_state_ensured),
        T(resources_cleaned_contains_state_cleaned_for_each_item_when_state_not_ensured),
        T(resources_cleaned_contains_state_cleaned_for_each_item_when_state_ensured),
        T(exec_dry_returns_sync_error_when_current_state_out_of_sync),
        T(exec_dry_does_not_return_sync_error_when_goal_state_out_of_sync),
        T(exec_returns_sync_error_when_current_state_out_of_sync),
        T(exec_does_not_return_sync_error_when_goal_state_out_of_sync),
        T(states_current_not_serialized_on_states_clean_insert_cmd_block_fail),
        T(states_current_not_serialized_on_states_discover_cmd_block_fail),
        T(clean_sync_check_current_catches_an_item_changed_behind_our_back),
        T(clean_apply_check_error_is_an_item_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
