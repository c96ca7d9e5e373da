/*
 * test_ensure_cmd.c - peace 0.0.15's workspace_tests/src/rt/cmds/ensure_cmd.rs
 * ported as engine tests, each named after its upstream test, with the same
 * expected outcome (outcome kind, blocks processed, items processed, item
 * errors, states written or not). Upstream's two items are VecCopyItem
 * ("vec_copy") and MockItem ("mock"); here both are fake items whose world is
 * an integer (current 0, goal 1 unless a test says otherwise).
 *
 * Block names: upstream StatesCurrentReadCmdBlock, StatesGoalReadCmdBlock,
 * StatesDiscoverCmdBlock, ApplyStateSyncCheckCmdBlock, ApplyExecCmdBlock are
 * read_current, read_goal, discover, sync_check, apply_ensure here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "exec_fixture.h"

static const char *const ids2[] = {"vec_copy", "mock"};
static const char *const edge_vm[] = {"vec_copy>mock"};

/* Two independent items, current 0 / goal 1, discovered and stored. */
static void two_items_discovered(struct fixture *f, bool edge)
{
    make_flow(f, ids2, 2, edge ? edge_vm : NULL, edge ? 1 : 0);
    for (size_t i = 0; i < 2; i++) {
        f->world.items[i].value = 0;
        f->world.items[i].goal = 1;
    }
    run_cmd(f, PC_CMD_DISCOVER, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
}

static void snapshot_writes(const struct fixture *f, size_t out[2])
{
    out[0] = writes(f, PC_STATES_CURRENT);
    out[1] = writes(f, PC_STATES_GOAL);
}

static void assert_no_new_writes(const struct fixture *f, const size_t before[2])
{
    assert_int_equal(writes(f, PC_STATES_CURRENT), before[0]);
    assert_int_equal(writes(f, PC_STATES_GOAL), before[1]);
}

static int64_t map_int(const struct fixture *f, enum pc_exec_map m, size_t i)
{
    int64_t v = -99;

    assert_true(fake_state_get_int(&pc_exec_map(f->exec, m)->v[i], &v));
    return v;
}

/* ------------------------------------------------------------------------ */

static void resources_ensured_dry_does_not_alter_state(void **state)
{
    struct fixture *f = *state;
    size_t w[2];

    two_items_discovered(f, false);
    snapshot_writes(f, w);
    run_cmd(f, PC_CMD_ENSURE_DRY, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    /* The dry value is what ensure would produce ... */
    assert_int_equal(map_int(f, PC_MAP_APPLIED, 0), 1);
    assert_int_equal(map_int(f, PC_MAP_APPLIED, 1), 1);
    /* ... and nothing changed or was written. */
    assert_int_equal(f->world.items[0].value, 0);
    assert_int_equal(f->world.items[1].value, 0);
    assert_int_equal(fake_log_count_prefix(&f->world, "apply:"), 0);
    assert_no_new_writes(f, w);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 0), 0);
}

static void
resources_ensured_contains_state_ensured_for_each_item_when_state_not_yet_ensured(void **state)
{
    struct fixture *f = *state;

    two_items_discovered(f, false);
    run_cmd(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(map_int(f, PC_MAP_APPLIED, 0), 1);
    assert_int_equal(map_int(f, PC_MAP_APPLIED, 1), 1);
    /* StatesCurrentReadCmd after ensure reads the ensured states. */
    run_cmd(f, PC_CMD_READ_CURRENT, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(map_int(f, PC_MAP_STORED_CURRENT, 0), 1);
    assert_int_equal(map_int(f, PC_MAP_STORED_CURRENT, 1), 1);
}

static void
resources_ensured_contains_state_ensured_for_each_item_when_state_already_ensured(void **state)
{
    struct fixture *f = *state;
    size_t w[2];

    two_items_discovered(f, false);
    run_cmd(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    /* New params: the goal moves on; discover, then a dry ensure shows it. */
    f->world.items[0].goal = 2;
    f->world.items[1].goal = 0;
    run_cmd(f, PC_CMD_DISCOVER_GOAL, PC_SYNC_BOTH, "finish_current", false);
    snapshot_writes(f, w);
    run_cmd(f, PC_CMD_ENSURE_DRY, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(map_int(f, PC_MAP_APPLIED, 0), 2);
    assert_int_equal(map_int(f, PC_MAP_APPLIED, 1), 0);
    assert_no_new_writes(f, w);
    /* Stored current still shows the first ensure. */
    run_cmd(f, PC_CMD_READ_CURRENT, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(map_int(f, PC_MAP_STORED_CURRENT, 0), 1);
    assert_int_equal(map_int(f, PC_MAP_STORED_CURRENT, 1), 1);
}

static void sync_error_case(struct fixture *f, enum pc_cmd cmd, enum pc_sync sync, bool current)
{
    size_t w[2];
    size_t total = 5;

    two_items_discovered(f, false);
    run_cmd(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    if (current) {
        f->world.items[0].value = 5; /* the world moved since it was stored */
    } else {
        f->world.items[0].goal = 2; /* new params: another goal */
    }
    snapshot_writes(f, w);
    run_cmd(f, cmd, sync, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_ERROR);
    assert_blocks(&f->obs.outcome, 3, total);
    assert_non_null(strstr(f->obs.outcome.error, current ? "stored current states are out of sync"
                                                         : "stored goal states are out of sync"));
    assert_non_null(strstr(f->obs.outcome.error, "vec_copy"));
    assert_int_equal(fake_log_count_prefix(&f->world, "apply"), 2);
    assert_no_new_writes(f, w);
}

static void exec_dry_returns_sync_error_when_current_state_out_of_sync(void **state)
{
    sync_error_case(*state, PC_CMD_ENSURE_DRY, PC_SYNC_CURRENT, true);
}

static void exec_dry_returns_sync_error_when_goal_state_out_of_sync(void **state)
{
    sync_error_case(*state, PC_CMD_ENSURE_DRY, PC_SYNC_GOAL, false);
}

static void exec_returns_sync_error_when_current_state_out_of_sync(void **state)
{
    sync_error_case(*state, PC_CMD_ENSURE, PC_SYNC_CURRENT, true);
}

static void exec_returns_sync_error_when_goal_state_out_of_sync(void **state)
{
    sync_error_case(*state, PC_CMD_ENSURE, PC_SYNC_GOAL, false);
}

/* Runs cmd on the discovered pair after `tweak`; expects an item error of
 * mock, raised in block `block` of 5. */
static void item_error_case(struct fixture *f, enum pc_cmd cmd, bool *flag, size_t block,
                            const char *text)
{
    size_t w[2];

    two_items_discovered(f, false);
    *flag = true;
    snapshot_writes(f, w);
    run_cmd(f, cmd, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_ITEM_ERROR);
    assert_blocks(&f->obs.outcome, block, 5);
    assert_int_equal(f->obs.outcome.n_errors, 1);
    assert_string_equal(f->obs.outcome.errors[0].item.s, "mock");
    assert_string_equal(f->obs.outcome.errors[0].text, text);
    assert_int_equal(f->world.items[1].value, 0);
    if (cmd == PC_CMD_ENSURE_DRY || block < 4) {
        assert_no_new_writes(f, w);
    }
}

static void exec_dry_returns_item_error_when_item_discover_current_returns_error(void **state)
{
    struct fixture *f = *state;

    item_error_case(f, PC_CMD_ENSURE_DRY, &f->world.items[1].fail_current, 2,
                    "current of mock failed");
}

static void exec_dry_returns_item_error_when_item_discover_goal_returns_error(void **state)
{
    struct fixture *f = *state;

    item_error_case(f, PC_CMD_ENSURE_DRY, &f->world.items[1].fail_goal, 2, "goal of mock failed");
}

static void exec_dry_returns_item_error_when_item_apply_check_returns_error(void **state)
{
    struct fixture *f = *state;

    item_error_case(f, PC_CMD_ENSURE_DRY, &f->world.items[1].fail_check, 4,
                    "apply_check of mock failed");
    assert_int_equal(fake_log_find(&f->world, "apply_dry:mock"), -1);
}

static void exec_dry_returns_item_error_when_item_apply_dry_returns_error(void **state)
{
    struct fixture *f = *state;

    item_error_case(f, PC_CMD_ENSURE_DRY, &f->world.items[1].fail_apply_dry, 4,
                    "apply_dry of mock failed");
    assert_int_equal(f->world.items[0].value, 0);
}

static void exec_returns_item_error_when_item_apply_returns_error(void **state)
{
    struct fixture *f = *state;

    item_error_case(f, PC_CMD_ENSURE, &f->world.items[1].fail_apply, 4, "apply of mock failed");
    /* vec_copy was applied and its state written; mock keeps its current. */
    assert_int_equal(f->world.items[0].value, 1);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 0), 1);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 1), 0);
}

/* Stored current written "by hand" (vec_copy 3, mock 123), goal discovered. */
static void custom_current(struct fixture *f, bool edge)
{
    int64_t cur[2] = {3, 123};

    make_flow(f, ids2, 2, edge ? edge_vm : NULL, edge ? 1 : 0);
    for (size_t i = 0; i < 2; i++) {
        f->world.items[i].value = 0;
        f->world.items[i].goal = 1;
    }
    run_cmd(f, PC_CMD_DISCOVER_GOAL, PC_SYNC_BOTH, "finish_current", false);
    fake_store_seed(&f->store, PC_STATES_CURRENT, cur, 2);
}

static void assert_custom_current_kept(const struct fixture *f)
{
    assert_int_equal(stored(f, PC_STATES_CURRENT, 0), 3);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 1), 123);
}

static void states_current_not_serialized_on_states_current_read_cmd_block_interrupt(void **state)
{
    struct fixture *f = *state;
    size_t w[2];

    custom_current(f, false);
    snapshot_writes(f, w);
    run_cmd(f, PC_CMD_ENSURE, PC_SYNC_NONE, "finish_current", true);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_EXECUTION_INTERRUPTED);
    /* read_current, read_goal, discover, apply_ensure: none processed. */
    assert_blocks(&f->obs.outcome, 0, 4);
    assert_int_equal(f->obs.outcome.blocks[3], PC_BLOCK_APPLY_ENSURE);
    assert_no_new_writes(f, w);
    assert_custom_current_kept(f);
}

static void states_current_not_serialized_on_states_goal_read_cmd_block_interrupt(void **state)
{
    struct fixture *f = *state;
    const enum pc_block_kind done[] = {PC_BLOCK_READ_CURRENT, PC_BLOCK_READ_GOAL};
    size_t w[2];

    custom_current(f, false);
    snapshot_writes(f, w);
    /* The poll before read_current observes the signal (not counted), the one
     * before read_goal is 1, the one before discover is 2: stop there. */
    run_cmd(f, PC_CMD_ENSURE, PC_SYNC_NONE, "poll_next_n:2", true);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_EXECUTION_INTERRUPTED);
    assert_blocks(&f->obs.outcome, 2, 4);
    assert_blocks_processed(&f->obs.outcome, done, 2);
    assert_int_equal(fake_log_count_prefix(&f->world, "current:"), 0);
    assert_no_new_writes(f, w);
    assert_custom_current_kept(f);
}

static void states_current_not_serialized_on_states_discover_cmd_block_fail(void **state)
{
    struct fixture *f = *state;
    const enum pc_block_kind done[] = {PC_BLOCK_READ_CURRENT, PC_BLOCK_READ_GOAL};
    size_t w[2];

    custom_current(f, true);
    f->world.items[1].fail_current = true;
    snapshot_writes(f, w);
    run_cmd(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_ITEM_ERROR);
    assert_blocks(&f->obs.outcome, 2, 5);
    assert_blocks_processed(&f->obs.outcome, done, 2);
    assert_int_equal(f->obs.outcome.n_errors, 1);
    assert_string_equal(f->obs.outcome.errors[0].item.s, "mock");
    assert_string_equal(f->obs.outcome.errors[0].text, "current of mock failed");
    assert_no_new_writes(f, w);
    assert_custom_current_kept(f);
}

static void
states_current_not_serialized_on_apply_state_sync_check_cmd_block_interrupt(void **state)
{
    struct fixture *f = *state;
    size_t w[2];

    /* Stored current 0 / goal 1 match the world, so the guard passes. */
    make_flow(f, ids2, 2, NULL, 0);
    seed_in_sync(f, 2);
    snapshot_writes(f, w);
    /* Polls: read_current observes; read_goal 1; discover 2; its stream:
     * vec_copy 3, mock 4, end 5; sync_check 6; apply_ensure 7: stop. */
    run_cmd(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "poll_next_n:7", true);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_EXECUTION_INTERRUPTED);
    assert_blocks(&f->obs.outcome, 4, 5);
    assert_int_equal(f->obs.outcome.blocks[3], PC_BLOCK_SYNC_CHECK);
    assert_int_equal(fake_log_count_prefix(&f->world, "apply:"), 0);
    assert_no_new_writes(f, w);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 0), 0);
    assert_int_equal(stored(f, PC_STATES_GOAL, 0), 1);
}

static void states_current_is_serialized_on_apply_exec_cmd_block_interrupt(void **state)
{
    struct fixture *f = *state;
    const char *processed[] = {"vec_copy"};
    const char *not_processed[] = {"mock"};

    make_flow(f, ids2, 2, edge_vm, 1);
    seed_in_sync(f, 2);
    run_cmd(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "poll_next_n:9", true);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_INTERRUPTED);
    assert_blocks(&f->obs.outcome, 4, 5);
    assert_ids(f->obs.outcome.items_processed, f->obs.outcome.n_items_processed, processed, 1);
    assert_ids(f->obs.outcome.items_not_processed, f->obs.outcome.n_items_not_processed,
               not_processed, 1);
    /* Interrupted between vec_copy and mock: both maps re-serialized. */
    assert_int_equal(map_int(f, PC_MAP_APPLIED, 0), 1);
    assert_int_equal(map_int(f, PC_MAP_APPLIED, 1), 0);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 0), 1);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 1), 0);
    assert_int_equal(stored(f, PC_STATES_GOAL, 0), 1);
    assert_int_equal(stored(f, PC_STATES_GOAL, 1), 1);
}

/* Engine paths upstream has no test for --------------------------------- */

static void ensure_prepare_item_error_stops_the_apply_block(void **state)
{
    struct fixture *f = *state;
    const char *processed[] = {"vec_copy"};
    const char *not_processed[] = {"mock"};

    make_flow(f, ids2, 2, edge_vm, 1);
    seed_in_sync(f, 2);
    make_exec(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    run_until_block(f, 4);
    /* Discovery succeeded; the prepare of vec_copy (its fresh state_current) fails. */
    f->world.items[0].fail_current = true;
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_ITEM_ERROR);
    assert_blocks(&f->obs.outcome, 4, 5);
    assert_ids(f->obs.outcome.items_processed, f->obs.outcome.n_items_processed, processed, 1);
    assert_ids(f->obs.outcome.items_not_processed, f->obs.outcome.n_items_not_processed,
               not_processed, 1);
    assert_string_equal(f->obs.outcome.errors[0].text, "current of vec_copy failed");
    assert_int_equal(fake_log_count_prefix(&f->world, "apply:"), 0);
    assert_int_equal(pc_exec_tracker(f->exec, 0)->status, PC_PROGRESS_FAIL);
    /* The partial apply block still writes its maps: unchanged values. */
    assert_int_equal(stored(f, PC_STATES_CURRENT, 0), 0);
}

static void ensure_prepare_goal_error_keeps_discovered_goal(void **state)
{
    struct fixture *f = *state;

    make_flow(f, ids2, 2, NULL, 0);
    seed_in_sync(f, 2);
    make_exec(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    run_until_block(f, 4);
    f->world.items[1].fail_goal = true;
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_ITEM_ERROR);
    assert_string_equal(f->obs.outcome.errors[0].text, "goal of mock failed");
    assert_int_equal(stored(f, PC_STATES_GOAL, 1), 1);
    assert_int_equal(f->world.items[1].value, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(resources_ensured_dry_does_not_alter_state),
        T(resources_ensured_contains_state_ensured_for_each_item_when_state_not_yet_ensured),
        T(resources_ensured_contains_state_ensured_for_each_item_when_state_already_ensured),
        T(exec_dry_returns_sync_error_when_current_state_out_of_sync),
        T(exec_dry_returns_sync_error_when_goal_state_out_of_sync),
        T(exec_returns_sync_error_when_current_state_out_of_sync),
        T(exec_returns_sync_error_when_goal_state_out_of_sync),
        T(exec_dry_returns_item_error_when_item_discover_current_returns_error),
        T(exec_dry_returns_item_error_when_item_discover_goal_returns_error),
        T(exec_dry_returns_item_error_when_item_apply_check_returns_error),
        T(exec_dry_returns_item_error_when_item_apply_dry_returns_error),
        T(exec_returns_item_error_when_item_apply_returns_error),
        T(states_current_not_serialized_on_states_current_read_cmd_block_interrupt),
        T(states_current_not_serialized_on_states_goal_read_cmd_block_interrupt),
        T(states_current_not_serialized_on_states_discover_cmd_block_fail),
        T(states_current_not_serialized_on_apply_state_sync_check_cmd_block_interrupt),
        T(states_current_is_serialized_on_apply_exec_cmd_block_interrupt),
        T(ensure_prepare_item_error_stops_the_apply_block),
        T(ensure_prepare_goal_error_keeps_discovered_goal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
