/*
 * test_discover_diff_read_cmd.c - peace 0.0.15's workspace_tests for
 * states_discover_cmd.rs, diff_cmd.rs and the read commands
 * (states_current_read_cmd.rs, states_goal_read_cmd.rs and their display
 * variants) ported as engine tests, each named after its upstream test
 * (prefixed with the upstream file where two files share a name). Items
 * "vec_copy" and "mock" are fake items (current 0, goal 1).
 *
 * Not ported: diff_cmd.rs's multi-profile cases (diff_stored_with_multiple_
 * profiles, ..._missing_profile_0/1, ..._profile_0/1_missing_states_current):
 * peace's DiffCmd::diff_current_stored across two profiles has no command
 * here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "exec_fixture.h"

static const char *const ids2[] = {"vec_copy", "mock"};

static void two(struct fixture *f)
{
    make_flow(f, ids2, 2, NULL, 0);
    for (size_t i = 0; i < 2; i++) {
        f->world.items[i].value = 0;
        f->world.items[i].goal = 1;
    }
}

static int64_t map_int(const struct fixture *f, enum pc_exec_map m, size_t i)
{
    int64_t v = -99;

    assert_true(fake_state_get_int(&pc_exec_map(f->exec, m)->v[i], &v));
    return v;
}

static bool map_has(const struct fixture *f, enum pc_exec_map m, size_t i)
{
    return pc_state_present(&pc_exec_map(f->exec, m)->v[i]);
}

/* ---- states_discover_cmd.rs ---------------------------------------------- */

static void current_and_goal_discovers_both_states_current_and_goal(void **state)
{
    struct fixture *f = *state;

    two(f);
    run_cmd(f, PC_CMD_DISCOVER, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(map_int(f, PC_MAP_CURRENT, 0), 0);
    assert_int_equal(map_int(f, PC_MAP_GOAL, 1), 1);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 1), 0);
    assert_int_equal(stored(f, PC_STATES_GOAL, 0), 1);
}

static void current_runs_state_current_for_each_item(void **state)
{
    struct fixture *f = *state;

    two(f);
    run_cmd(f, PC_CMD_DISCOVER_CURRENT, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(fake_log_count_prefix(&f->world, "current:"), 2);
    assert_int_equal(fake_log_count_prefix(&f->world, "goal:"), 0);
    assert_int_equal(writes(f, PC_STATES_GOAL), 0);
}

static void current_inserts_states_current_stored_from_states_current_file(void **state)
{
    struct fixture *f = *state;

    two(f);
    run_cmd(f, PC_CMD_DISCOVER_CURRENT, PC_SYNC_BOTH, "finish_current", false);
    f->world.items[0].value = 4;
    run_cmd(f, PC_CMD_READ_CURRENT, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(map_int(f, PC_MAP_STORED_CURRENT, 0), 0);
}

static void discover_error_case(struct fixture *f, enum pc_cmd cmd, bool cur, bool goal,
                                const char *text)
{
    two(f);
    f->world.items[1].fail_current = cur;
    f->world.items[1].fail_goal = goal;
    run_cmd(f, cmd, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_ITEM_ERROR);
    assert_blocks(&f->obs.outcome, 0, 1);
    assert_int_equal(f->obs.outcome.n_errors, 1);
    assert_string_equal(f->obs.outcome.errors[0].item.s, "mock");
    assert_string_equal(f->obs.outcome.errors[0].text, text);
    /* The partial map is written: vec_copy's state, mock without one. */
    if (cmd != PC_CMD_DISCOVER_GOAL) {
        assert_int_equal(stored(f, PC_STATES_CURRENT, 0), 0);
        assert_int_equal(stored_present(f, PC_STATES_CURRENT, 1), !cur);
    }
    if (cmd != PC_CMD_DISCOVER_CURRENT) {
        assert_int_equal(stored(f, PC_STATES_GOAL, 0), 1);
        assert_int_equal(stored_present(f, PC_STATES_GOAL, 1), !goal);
    }
}

static void current_returns_error_when_try_state_current_returns_error(void **state)
{
    discover_error_case(*state, PC_CMD_DISCOVER_CURRENT, true, false, "current of mock failed");
}

static void goal_returns_error_when_try_state_goal_returns_error(void **state)
{
    discover_error_case(*state, PC_CMD_DISCOVER_GOAL, false, true, "goal of mock failed");
}

static void current_and_goal_returns_error_when_try_state_current_returns_error(void **state)
{
    discover_error_case(*state, PC_CMD_DISCOVER, true, false, "current of mock failed");
}

static void current_and_goal_returns_error_when_try_state_goal_returns_error(void **state)
{
    discover_error_case(*state, PC_CMD_DISCOVER, false, true, "goal of mock failed");
}

static void
current_and_goal_returns_current_error_when_both_try_state_current_and_try_state_goal_return_error(
    void **state)
{
    discover_error_case(*state, PC_CMD_DISCOVER, true, true, "current of mock failed");
}

static void goal_runs_state_goal_for_each_item(void **state)
{
    struct fixture *f = *state;

    two(f);
    run_cmd(f, PC_CMD_DISCOVER_GOAL, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(fake_log_count_prefix(&f->world, "goal:"), 2);
    assert_int_equal(fake_log_count_prefix(&f->world, "current:"), 0);
    assert_int_equal(writes(f, PC_STATES_CURRENT), 0);
}

static void no_save_case(struct fixture *f, enum pc_cmd cmd)
{
    struct pc_exec_opts o;

    two(f);
    memset(&o, 0, sizeof(o));
    o.cmd = cmd;
    o.no_save = true;
    run_opts(f, &o, false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(writes(f, PC_STATES_CURRENT) + writes(f, PC_STATES_GOAL), 0);
}

static void current_with_does_not_serialize_states_when_told_not_to(void **state)
{
    struct fixture *f = *state;

    no_save_case(f, PC_CMD_DISCOVER_CURRENT);
    assert_int_equal(map_int(f, PC_MAP_CURRENT, 1), 0);
}

static void goal_with_does_not_serialize_states_when_told_not_to(void **state)
{
    struct fixture *f = *state;

    no_save_case(f, PC_CMD_DISCOVER_GOAL);
    assert_int_equal(map_int(f, PC_MAP_GOAL, 1), 1);
}

static void progress_case(struct fixture *f, enum pc_cmd cmd)
{
    two(f);
    run_cmd(f, cmd, PC_SYNC_BOTH, "finish_current", false);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(pc_exec_tracker(f->exec, i)->status, PC_PROGRESS_SUCCESS);
    }
}

static void current_with_sets_progress_complete_for_successful_items(void **state)
{
    progress_case(*state, PC_CMD_DISCOVER_CURRENT);
}

static void goal_with_sets_progress_complete_for_successful_items(void **state)
{
    progress_case(*state, PC_CMD_DISCOVER_GOAL);
}

static void current_and_goal_with_sets_progress_complete_for_successful_items(void **state)
{
    progress_case(*state, PC_CMD_DISCOVER);
}

/* ---- diff_cmd.rs ----------------------------------------------------------- */

static void diff_case(struct fixture *f, bool cur_disc, bool goal_disc, bool stored_first)
{
    struct pc_exec_opts o;
    size_t w = 0;

    two(f);
    if (stored_first) {
        run_cmd(f, PC_CMD_DISCOVER, PC_SYNC_BOTH, "finish_current", false);
    }
    /* The world moves on: what is stored and what is discovered differ. */
    f->world.items[0].value = 3;
    f->world.items[1].goal = 5;
    w = writes(f, PC_STATES_CURRENT) + writes(f, PC_STATES_GOAL);
    memset(&o, 0, sizeof(o));
    o.cmd = PC_CMD_DIFF;
    o.diff_current_discovered = cur_disc;
    o.diff_goal_discovered = goal_disc;
    run_opts(f, &o, false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(f->obs.outcome.blocks[0],
                     cur_disc ? PC_BLOCK_DISCOVER_CURRENT : PC_BLOCK_READ_CURRENT);
    assert_int_equal(f->obs.outcome.blocks[1],
                     goal_disc ? PC_BLOCK_DISCOVER_GOAL : PC_BLOCK_READ_GOAL);
    /* diff = goal - current, each side as asked. */
    assert_int_equal(map_int(f, PC_MAP_DIFF, 0), 1 - (cur_disc ? 3 : 0));
    assert_int_equal(map_int(f, PC_MAP_DIFF, 1), (goal_disc ? 5 : 1) - 0);
    /* Discovered states are never saved by diff. */
    assert_int_equal(writes(f, PC_STATES_CURRENT) + writes(f, PC_STATES_GOAL), w);
}

static void diff_stored_contains_state_diff_for_each_item(void **state)
{
    diff_case(*state, false, false, true);
}

static void diff_discover_current_on_demand(void **state)
{
    diff_case(*state, true, false, true);
}

static void diff_discover_goal_on_demand(void **state)
{
    diff_case(*state, false, true, true);
}

static void diff_discover_current_and_goal_on_demand(void **state)
{
    struct fixture *f = *state;

    /* Nothing stored at all (a new profile): both sides discovered. */
    diff_case(f, true, true, false);
    assert_false(f->store.has[PC_STATES_CURRENT]);
    assert_false(f->store.has[PC_STATES_GOAL]);
}

static void diff_with_multiple_changes(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"a", "b", "c"};

    make_flow(f, ids, 3, NULL, 0);
    for (size_t i = 0; i < 3; i++) {
        f->world.items[i].value = (int64_t)i;
        f->world.items[i].goal = 10;
    }
    run_cmd(f, PC_CMD_DISCOVER, PC_SYNC_BOTH, "finish_current", false);
    run_cmd(f, PC_CMD_DIFF, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(map_int(f, PC_MAP_DIFF, i), 10 - (int64_t)i);
    }
}

/* Engine path: a side absent (e.g. a predecessor not there yet) is no diff. */
static void diff_skips_an_item_with_a_side_absent(void **state)
{
    struct fixture *f = *state;

    two(f);
    f->world.items[1].unknown_current = true;
    run_cmd(f, PC_CMD_DISCOVER, PC_SYNC_BOTH, "finish_current", false);
    run_cmd(f, PC_CMD_DIFF, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_true(map_has(f, PC_MAP_DIFF, 0));
    assert_false(map_has(f, PC_MAP_DIFF, 1));
}

/* ---- read commands ----------------------------------------------------------- */

static void read_case(struct fixture *f, enum pc_cmd cmd, bool stored_first)
{
    two(f);
    if (stored_first) {
        run_cmd(f, PC_CMD_DISCOVER, PC_SYNC_BOTH, "finish_current", false);
    }
    run_cmd(f, cmd, PC_SYNC_BOTH, "finish_current", false);
    if (!stored_first) {
        assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_ERROR);
        assert_non_null(strstr(f->obs.outcome.error, "have not been discovered"));
        return;
    }
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    if (cmd == PC_CMD_READ_CURRENT) {
        assert_int_equal(map_int(f, PC_MAP_STORED_CURRENT, 0), 0);
    } else {
        assert_int_equal(map_int(f, PC_MAP_STORED_GOAL, 0), 1);
    }
    /* Reading never writes. */
    assert_int_equal(f->store.all_writes[0], 1);
    assert_int_equal(f->store.all_writes[1], 1);
}

static void states_current_read_cmd_reads_states_current_stored_from_disk_when_present(void **state)
{
    read_case(*state, PC_CMD_READ_CURRENT, true);
}

static void states_current_read_cmd_returns_error_when_states_not_on_disk(void **state)
{
    read_case(*state, PC_CMD_READ_CURRENT, false);
}

static void
states_current_stored_display_cmd_reads_states_current_stored_from_disk_when_present(void **state)
{
    read_case(*state, PC_CMD_READ_CURRENT, true);
    assert_int_equal(map_int(*state, PC_MAP_STORED_CURRENT, 1), 0);
}

static void states_current_stored_display_cmd_returns_error_when_states_not_on_disk(void **state)
{
    read_case(*state, PC_CMD_READ_CURRENT, false);
}

static void states_goal_read_cmd_reads_states_goal_from_disk_when_present(void **state)
{
    read_case(*state, PC_CMD_READ_GOAL, true);
}

static void states_goal_read_cmd_returns_error_when_states_not_on_disk(void **state)
{
    read_case(*state, PC_CMD_READ_GOAL, false);
}

static void states_goal_display_cmd_reads_states_goal_from_disk_when_present(void **state)
{
    read_case(*state, PC_CMD_READ_GOAL, true);
    assert_int_equal(map_int(*state, PC_MAP_STORED_GOAL, 1), 1);
}

static void states_goal_display_cmd_returns_error_when_states_not_on_disk(void **state)
{
    read_case(*state, PC_CMD_READ_GOAL, false);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(current_and_goal_discovers_both_states_current_and_goal),
        T(current_runs_state_current_for_each_item),
        T(current_inserts_states_current_stored_from_states_current_file),
        T(current_returns_error_when_try_state_current_returns_error),
        T(goal_returns_error_when_try_state_goal_returns_error),
        T(current_and_goal_returns_error_when_try_state_current_returns_error),
        T(current_and_goal_returns_error_when_try_state_goal_returns_error),
        T(current_and_goal_returns_current_error_when_both_try_state_current_and_try_state_goal_return_error),
        T(goal_runs_state_goal_for_each_item),
        T(current_with_does_not_serialize_states_when_told_not_to),
        T(goal_with_does_not_serialize_states_when_told_not_to),
        T(current_with_sets_progress_complete_for_successful_items),
        T(goal_with_sets_progress_complete_for_successful_items),
        T(current_and_goal_with_sets_progress_complete_for_successful_items),
        T(diff_stored_contains_state_diff_for_each_item),
        T(diff_discover_current_on_demand),
        T(diff_discover_goal_on_demand),
        T(diff_discover_current_and_goal_on_demand),
        T(diff_with_multiple_changes),
        T(diff_skips_an_item_with_a_side_absent),
        T(states_current_read_cmd_reads_states_current_stored_from_disk_when_present),
        T(states_current_read_cmd_returns_error_when_states_not_on_disk),
        T(states_current_stored_display_cmd_reads_states_current_stored_from_disk_when_present),
        T(states_current_stored_display_cmd_returns_error_when_states_not_on_disk),
        T(states_goal_read_cmd_reads_states_goal_from_disk_when_present),
        T(states_goal_read_cmd_returns_error_when_states_not_on_disk),
        T(states_goal_display_cmd_reads_states_goal_from_disk_when_present),
        T(states_goal_display_cmd_returns_error_when_states_not_on_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
