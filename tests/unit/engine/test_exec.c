/*
 * test_exec.c - the execution engine against reference/peace-semantics.md:
 * every row of the decision matrix (§4.3) and of the serialization matrix
 * (§4.4), interrupt poll points and strategies (§5), ordering (§1.7, §7).
 *
 * The fake executor runs an item task only when a test says so, which makes
 * "interrupt while item a is in flight" an exact, repeatable point.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "exec_fixture.h"

/* ------------------------------------------------------------------------ */

static void test_ensure_complete_applies_every_item_and_writes_both_maps(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"a", "b", "c"};
    const char *edges[] = {"a>b"};

    make_flow(f, ids, 3, edges, 1);
    seed_in_sync(f, 3);
    make_exec(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    fake_executor_drain(&f->fx);
    assert_true(f->obs.finished);
    assert_int_equal(f->obs.finished_calls, 1);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_blocks(&f->obs.outcome, 5, 5);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(f->world.items[i].value, 1);
        assert_int_equal(stored(f, PC_STATES_CURRENT, i), 1);
        assert_int_equal(stored(f, PC_STATES_GOAL, i), 1);
        assert_int_equal(pc_exec_tracker(f->exec, i)->status, PC_PROGRESS_SUCCESS);
        assert_string_equal(pc_exec_tracker(f->exec, i)->msg, "done!");
    }
    /* b depends on a: a is applied first. */
    assert_true(fake_log_find(&f->world, "apply:a") < fake_log_find(&f->world, "apply:b"));
    /* Each applied item was written as soon as it finished. */
    assert_int_equal(f->store.item_writes[PC_STATES_CURRENT], 3);
    assert_int_equal(f->store.item_writes[PC_STATES_GOAL], 3);
}

static void test_ensure_second_run_has_nothing_to_do(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"a", "b"};

    make_flow(f, ids, 2, NULL, 0);
    seed_in_sync(f, 2);
    make_exec(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(fake_log_count_prefix(&f->world, "apply:"), 2);

    make_exec(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(fake_log_count_prefix(&f->world, "apply:"), 2);
    assert_string_equal(pc_exec_tracker(f->exec, 0)->msg, "nothing to do!");
    assert_string_equal(pc_exec_tracker(f->exec, 1)->msg, "nothing to do!");
}

static void
test_interrupt_before_execution_ends_execution_interrupted_with_nothing_processed(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"a", "b"};

    make_flow(f, ids, 2, NULL, 0);
    seed_in_sync(f, 2);
    make_exec(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_signal_interrupt(f->exec);
    pc_exec_start(f->exec);
    assert_true(f->obs.finished);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_EXECUTION_INTERRUPTED);
    assert_blocks(&f->obs.outcome, 0, 5);
    assert_int_equal(f->fx.submitted, 0);
    assert_int_equal(f->world.n_log, 0);
    assert_int_equal(f->obs.block_starts, 0);
    assert_true(f->obs.interrupted);
    assert_int_equal(f->store.item_writes[0] + f->store.all_writes[0], 0);
    assert_int_equal(pc_exec_tracker(f->exec, 0)->status, PC_PROGRESS_INTERRUPTED);
    assert_int_equal(pc_outcome_exit_status(f->obs.outcome.kind), 2);
}

static void test_interrupt_between_blocks_lists_blocks_processed(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"a", "b"};

    make_flow(f, ids, 2, NULL, 0);
    seed_in_sync(f, 2);
    make_exec(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    /* Both discover tasks are in flight: no poll remains in this block. */
    assert_int_equal(f->fx.n, 2);
    pc_exec_signal_interrupt(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_EXECUTION_INTERRUPTED);
    assert_blocks(&f->obs.outcome, 3, 5);
    assert_int_equal(f->obs.outcome.blocks[3], PC_BLOCK_SYNC_CHECK);
    assert_int_equal(fake_log_count_prefix(&f->world, "apply:"), 0);
    /* Ensure interrupted before its apply block writes nothing. */
    assert_int_equal(f->store.item_writes[0] + f->store.all_writes[0], 0);
}

static void test_interrupt_inside_apply_finishes_in_flight_and_drops_dequeued_item(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"a", "b", "c"};
    const char *edges[] = {"a>b", "b>c"};
    const char *processed[] = {"a"};
    const char *not_processed[] = {"b", "c"};

    make_flow(f, ids, 3, edges, 2);
    seed_in_sync(f, 3);
    make_exec(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    /* Discover: a, then b, then c (each ready after its predecessor). */
    run_until_block(f, 4);
    assert_false(f->obs.finished);
    /* Apply of a: the prepare task is queued. */
    assert_int_equal(f->fx.n, 1);
    assert_true(fake_executor_run_at(&f->fx, 0)); /* prepare a -> apply a queued */
    assert_int_equal(f->fx.n, 1);
    pc_exec_signal_interrupt(f->exec);
    assert_int_equal(pc_exec_tracker(f->exec, 1)->status, PC_PROGRESS_EXEC_PENDING);
    fake_executor_drain(&f->fx); /* apply a runs to completion */
    assert_true(f->obs.finished);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_INTERRUPTED);
    assert_blocks(&f->obs.outcome, 4, 5);
    assert_ids(f->obs.outcome.items_processed, f->obs.outcome.n_items_processed, processed, 1);
    assert_ids(f->obs.outcome.items_not_processed, f->obs.outcome.n_items_not_processed,
               not_processed, 2);
    assert_int_equal(f->world.items[0].value, 1);
    assert_int_equal(f->world.items[1].value, 0);
    assert_int_equal(fake_log_find(&f->world, "apply:b"), -1);
    /* Partial states: a applied, b and c keep the discovered current. */
    assert_int_equal(stored(f, PC_STATES_CURRENT, 0), 1);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 1), 0);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 2), 0);
    assert_int_equal(stored(f, PC_STATES_GOAL, 0), 1);
    /* Progress: the finished item succeeded; the waiting ones show interrupted. */
    assert_int_equal(pc_exec_tracker(f->exec, 0)->status, PC_PROGRESS_SUCCESS);
    assert_int_equal(pc_exec_tracker(f->exec, 1)->status, PC_PROGRESS_INTERRUPTED);
    assert_int_equal(pc_exec_tracker(f->exec, 2)->status, PC_PROGRESS_INTERRUPTED);
}

static void test_interrupt_drops_item_already_in_ready_queue(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"a", "b"};
    const char *processed[] = {"a"};
    const char *not_processed[] = {"b"};

    make_flow(f, ids, 2, NULL, 0);
    seed_in_sync(f, 2);
    /* Concurrency 1: b waits in the ready queue while a runs. */
    make_exec(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", 1);
    pc_exec_start(f->exec);
    run_until_block(f, 4);                        /* discover a, b */
    assert_true(fake_executor_run_at(&f->fx, 0)); /* prepare a */
    pc_exec_signal_interrupt(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_INTERRUPTED);
    assert_ids(f->obs.outcome.items_processed, f->obs.outcome.n_items_processed, processed, 1);
    assert_ids(f->obs.outcome.items_not_processed, f->obs.outcome.n_items_not_processed,
               not_processed, 1);
    assert_int_equal(fake_log_find(&f->world, "current:b") >= 0, 1);
    assert_int_equal(fake_log_count_prefix(&f->world, "apply:"), 1);
}

static void test_interrupt_while_last_item_runs_completes(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"a", "b"};
    const char *edges[] = {"a>b"};

    make_flow(f, ids, 2, edges, 1);
    seed_in_sync(f, 2);
    make_exec(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    run_until_block(f, 4);                        /* discover */
    assert_true(fake_executor_run_at(&f->fx, 0)); /* prepare a */
    assert_true(fake_executor_run_at(&f->fx, 0)); /* apply a */
    assert_true(fake_executor_run_at(&f->fx, 0)); /* prepare b */
    pc_exec_signal_interrupt(f->exec);            /* b's apply is in flight, nothing left */
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(f->world.items[1].value, 1);
    assert_false(f->obs.interrupted);
}

static void test_poll_next_n_counts_across_blocks(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"vec_copy", "mock"};
    const char *edges[] = {"vec_copy>mock"};
    const char *processed[] = {"vec_copy"};
    const char *not_processed[] = {"mock"};

    /* peace's own test (ported as states_current_is_serialized_on_apply_exec_
     * cmd_block_interrupt): PollNextN(9), signal sent before ensure, two
     * dependent items. The poll before read_current observes the signal (not
     * counted); read_goal 1, discover 2; discover's stream: vec_copy 3, mock 4,
     * end 5; sync_check 6, apply 7; apply's stream: vec_copy 8, mock 9. */
    make_flow(f, ids, 2, edges, 1);
    seed_in_sync(f, 2);
    make_exec(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "poll_next_n:9", 0);
    pc_exec_signal_interrupt(f->exec);
    pc_exec_start(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_INTERRUPTED);
    assert_blocks(&f->obs.outcome, 4, 5);
    assert_ids(f->obs.outcome.items_processed, f->obs.outcome.n_items_processed, processed, 1);
    assert_ids(f->obs.outcome.items_not_processed, f->obs.outcome.n_items_not_processed,
               not_processed, 1);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 0), 1);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 1), 0);
    assert_int_equal(stored(f, PC_STATES_GOAL, 1), 1);
}

static void test_ignore_strategy_completes_despite_interrupt(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"a", "b"};

    make_flow(f, ids, 2, NULL, 0);
    seed_in_sync(f, 2);
    make_exec(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "ignore", 0);
    pc_exec_signal_interrupt(f->exec);
    pc_exec_start(f->exec);
    pc_exec_signal_interrupt(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_false(f->obs.interrupted);
    assert_int_equal(fake_log_count_prefix(&f->world, "apply:"), 2);
}

static void test_discover_item_error_lets_other_items_run(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"a", "b", "c"};
    const char *edges[] = {"a>c"};
    const char *processed[] = {"a", "b", "c"};

    make_flow(f, ids, 3, edges, 1);
    seed_in_sync(f, 3);
    f->world.items[0].fail_current = true;
    make_exec(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_ITEM_ERROR);
    assert_blocks(&f->obs.outcome, 2, 5);
    /* c depends on a, and still runs: discovery continues past failures. */
    assert_ids(f->obs.outcome.items_processed, f->obs.outcome.n_items_processed, processed, 3);
    assert_int_equal(f->obs.outcome.n_items_not_processed, 0);
    assert_int_equal(f->obs.outcome.n_errors, 1);
    assert_string_equal(f->obs.outcome.errors[0].item.s, "a");
    assert_string_equal(f->obs.outcome.errors[0].text, "current of a failed");
    assert_int_equal(pc_exec_tracker(f->exec, 0)->status, PC_PROGRESS_FAIL);
    assert_int_equal(fake_log_count_prefix(&f->world, "apply:"), 0);
    /* Failed earlier than the apply block: ensure writes nothing. */
    assert_int_equal(f->store.all_writes[0] + f->store.item_writes[0], 0);
}

static void test_apply_item_error_starts_no_new_item_and_in_flight_finish(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"a", "b", "c", "d"};
    const char *edges[] = {"a>c", "b>d"};
    const char *processed[] = {"a", "b"};
    const char *not_processed[] = {"c", "d"};

    make_flow(f, ids, 4, edges, 2);
    seed_in_sync(f, 4);
    f->world.items[0].fail_apply = true;
    make_exec(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    run_until_block(f, 4); /* discover */
    /* Apply: roots a and b are both in flight (prepare tasks). */
    assert_int_equal(f->fx.n, 2);
    assert_true(fake_executor_run_at(&f->fx, 0)); /* prepare a -> apply a */
    assert_true(fake_executor_run_at(&f->fx, 1)); /* apply a fails */
    assert_false(f->obs.finished);                /* b is still in flight */
    fake_executor_drain(&f->fx);                  /* b finishes; d is never made ready */
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_ITEM_ERROR);
    assert_blocks(&f->obs.outcome, 4, 5);
    assert_ids(f->obs.outcome.items_processed, f->obs.outcome.n_items_processed, processed, 2);
    assert_ids(f->obs.outcome.items_not_processed, f->obs.outcome.n_items_not_processed,
               not_processed, 2);
    assert_int_equal(f->obs.outcome.n_errors, 1);
    assert_string_equal(f->obs.outcome.errors[0].text, "apply of a failed");
    assert_int_equal(f->world.items[1].value, 1);
    assert_int_equal(fake_log_find(&f->world, "apply:d"), -1);
    /* Partial states: b applied and written, a keeps its discovered current. */
    assert_int_equal(stored(f, PC_STATES_CURRENT, 1), 1);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 0), 0);
    assert_string_equal(pc_exec_tracker(f->exec, 0)->msg, "apply of a failed");
    assert_int_equal(pc_outcome_exit_status(f->obs.outcome.kind), 1);
}

static void test_diff_error_is_block_error(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"a", "b"};

    make_flow(f, ids, 2, NULL, 0);
    seed_in_sync(f, 2);
    f->world.items[0].fail_diff = true;
    make_exec(f, PC_CMD_DIFF, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_ERROR);
    assert_blocks(&f->obs.outcome, 2, 3);
    assert_non_null(strstr(f->obs.outcome.error, "diff of a failed"));
    /* The diff block is a sequential try-fold: b was never diffed. */
    assert_int_equal(fake_log_find(&f->world, "diff:b"), -1);
}

static void test_diff_command_computes_diffs_of_stored_states(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"a", "b"};
    int64_t v = 0;

    make_flow(f, ids, 2, NULL, 0);
    seed_in_sync(f, 2);
    make_exec(f, PC_CMD_DIFF, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_true(fake_state_get_int(&pc_exec_map(f->exec, PC_MAP_DIFF)->v[1], &v));
    assert_int_equal(v, 1);
    assert_int_equal(f->store.all_writes[0] + f->store.item_writes[0], 0);
}

static void run_guard_case(struct fixture *f, void (*tweak)(struct fixture *f), const char *needle)
{
    const char *ids[] = {"a", "b"};

    make_flow(f, ids, 2, NULL, 0);
    seed_in_sync(f, 2);
    tweak(f);
    make_exec(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_ERROR);
    assert_blocks(&f->obs.outcome, 3, 5);
    assert_non_null(strstr(f->obs.outcome.error, needle));
    assert_int_equal(fake_log_count_prefix(&f->world, "apply:"), 0);
    assert_int_equal(pc_exec_tracker(f->exec, 0)->status, PC_PROGRESS_FAIL);
    assert_int_equal(pc_exec_tracker(f->exec, 1)->status, PC_PROGRESS_RUNNING);
}

static void tweak_values_differ(struct fixture *f)
{
    f->world.items[0].value = 7; /* changed behind our back */
}

static void tweak_only_discovered(struct fixture *f)
{
    pc_state_clear(&f->store.maps[PC_STATES_CURRENT].v[0]);
}

static void tweak_only_stored(struct fixture *f)
{
    f->world.items[0].unknown_current = true;
}

static void test_stale_guard_values_differ_is_block_error(void **state)
{
    run_guard_case(*state, tweak_values_differ, "a: stored 0 discovered 7");
}

static void test_stale_guard_only_discovered_is_block_error(void **state)
{
    run_guard_case(*state, tweak_only_discovered, "a: stored (none) discovered 0");
}

static void test_stale_guard_only_stored_is_block_error(void **state)
{
    run_guard_case(*state, tweak_only_stored, "a: stored 0 discovered (none)");
}

static void test_stale_goal_is_checked_after_current(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"a"};

    make_flow(f, ids, 1, NULL, 0);
    seed_in_sync(f, 1);
    f->world.items[0].goal = 5;
    make_exec(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_ERROR);
    assert_non_null(strstr(f->obs.outcome.error, "stored goal states"));

    /* With apply_stored_state_sync none there is no guard block at all. */
    make_exec(f, PC_CMD_ENSURE, PC_SYNC_NONE, "finish_current", 0);
    pc_exec_start(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_blocks(&f->obs.outcome, 4, 4);
    assert_int_equal(f->world.items[0].value, 5);
}

static void test_clean_runs_in_reverse_dependency_order(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"a", "b", "c"};
    const char *edges[] = {"a>b", "b>c"};
    int64_t cur[] = {1, 1, 1};
    int64_t goal[] = {1, 1, 1};

    make_flow(f, ids, 3, edges, 2);
    for (size_t i = 0; i < 3; i++) {
        f->world.items[i].value = 1;
        f->world.items[i].goal = 1;
    }
    fake_store_seed(&f->store, PC_STATES_CURRENT, cur, 3);
    fake_store_seed(&f->store, PC_STATES_GOAL, goal, 3);
    make_exec(f, PC_CMD_CLEAN, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_blocks(&f->obs.outcome, 5, 5);
    assert_true(fake_log_find(&f->world, "apply:c") < fake_log_find(&f->world, "apply:b"));
    assert_true(fake_log_find(&f->world, "apply:b") < fake_log_find(&f->world, "apply:a"));
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(f->world.items[i].value, 0);
        assert_int_equal(stored(f, PC_STATES_CURRENT, i), 0);
    }
    /* Clean writes current only. */
    assert_int_equal(f->store.item_writes[PC_STATES_GOAL], 0);
    assert_int_equal(f->store.all_writes[PC_STATES_GOAL], 0);

    /* Interrupting the clean after c lists c as processed, b and a not. */
    for (size_t i = 0; i < 3; i++) {
        f->world.items[i].value = 1;
    }
    fake_store_seed(&f->store, PC_STATES_CURRENT, cur, 3);
    f->world.n_log = 0;
    make_exec(f, PC_CMD_CLEAN, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    /* Run until c's prepare (which diffs) is done and its apply is queued. */
    while (fake_log_find(&f->world, "diff:c") < 0) {
        assert_true(fake_executor_run_at(&f->fx, 0));
    }
    assert_int_equal(f->fx.n, 1);
    pc_exec_signal_interrupt(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_INTERRUPTED);
    assert_int_equal(f->obs.outcome.n_items_processed, 1);
    assert_string_equal(f->obs.outcome.items_processed[0].s, "c");
    assert_int_equal(f->obs.outcome.n_items_not_processed, 2);
    assert_string_equal(f->obs.outcome.items_not_processed[0].s, "a");
    assert_int_equal(stored(f, PC_STATES_CURRENT, 2), 0);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 0), 1);
}

static void test_dry_runs_write_nothing_and_change_nothing(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"a", "b"};

    make_flow(f, ids, 2, NULL, 0);
    seed_in_sync(f, 2);
    make_exec(f, PC_CMD_ENSURE_DRY, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(fake_log_count_prefix(&f->world, "apply_dry:"), 2);
    assert_int_equal(fake_log_count_prefix(&f->world, "apply:"), 0);
    assert_int_equal(f->world.items[0].value, 0);

    make_exec(f, PC_CMD_CLEAN_DRY, PC_SYNC_BOTH, "finish_current", 0);
    f->world.items[0].value = 0;
    pc_exec_start(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(f->store.item_writes[k], 0);
        assert_int_equal(f->store.all_writes[k], 0);
    }
}

static void test_discover_writes_partial_map_on_item_error(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"a", "b"};
    int64_t v = 0;

    make_flow(f, ids, 2, NULL, 0);
    f->world.items[0].value = 3;
    f->world.items[1].value = 4;
    f->world.items[1].goal = 9;
    f->world.items[0].fail_goal = true;
    make_exec(f, PC_CMD_DISCOVER, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_ITEM_ERROR);
    assert_blocks(&f->obs.outcome, 0, 1);
    /* The current state of a was obtained and is kept; its goal is nil. */
    assert_int_equal(stored(f, PC_STATES_CURRENT, 0), 3);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 1), 4);
    assert_false(fake_store_int(&f->store, PC_STATES_GOAL, 0, &v));
    assert_int_equal(stored(f, PC_STATES_GOAL, 1), 9);
}

static void test_discover_complete_marks_items_success(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"a"};

    make_flow(f, ids, 1, NULL, 0);
    make_exec(f, PC_CMD_DISCOVER_CURRENT, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(pc_exec_tracker(f->exec, 0)->status, PC_PROGRESS_SUCCESS);
    assert_true(f->store.has[PC_STATES_CURRENT]);
    assert_false(f->store.has[PC_STATES_GOAL]);
}

static void test_missing_stored_states_is_block_error(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"a"};

    make_flow(f, ids, 1, NULL, 0);
    make_exec(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    assert_true(f->obs.finished);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_ERROR);
    assert_blocks(&f->obs.outcome, 0, 5);
    assert_non_null(strstr(f->obs.outcome.error, "current states have not been discovered"));
}

static void test_store_write_failure_is_block_error(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"a", "b"};
    const char *edges[] = {"a>b"};

    make_flow(f, ids, 2, edges, 1);
    seed_in_sync(f, 2);
    f->store.fail_writes = PC_EFENCED;
    make_exec(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_ERROR);
    assert_non_null(strstr(f->obs.outcome.error, "states write failed"));
    /* Nothing new starts once a write failed. */
    assert_int_equal(fake_log_find(&f->world, "apply:b"), -1);
}

static void test_concurrency_limit_bounds_items_in_flight(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"a", "b", "c", "d", "e"};

    make_flow(f, ids, 5, NULL, 0);
    make_exec(f, PC_CMD_DISCOVER, PC_SYNC_BOTH, "finish_current", 2);
    pc_exec_start(f->exec);
    assert_int_equal(f->fx.n, 2);
    assert_true(fake_executor_run_at(&f->fx, 0));
    assert_int_equal(f->fx.n, 2);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(f->fx.submitted, 5);
}

static void test_unknown_item_type_is_refused_at_create(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"a"};
    struct pc_exec_opts o;
    struct pc_err err;
    struct pc_exec *e = NULL;

    make_flow(f, ids, 1, NULL, 0);
    memcpy(f->flow.items[0].type.s, "nope", 5);
    memset(&o, 0, sizeof(o));
    o.flow = &f->flow;
    o.registry = f->reg;
    o.store = fake_store_get(&f->store);
    o.executor = fake_executor_get(&f->fx);
    assert_int_equal(pc_exec_create(&o, &e, &err), PC_EINVAL);
    assert_null(e);
    assert_non_null(strstr(err.msg, "item a"));
}

static void test_interrupt_after_finish_has_no_effect(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"a"};

    make_flow(f, ids, 1, NULL, 0);
    make_exec(f, PC_CMD_DISCOVER, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    fake_executor_drain(&f->fx);
    pc_exec_signal_interrupt(f->exec);
    assert_int_equal(f->obs.finished_calls, 1);
    assert_int_equal(pc_exec_outcome(f->exec)->kind, PC_OUTCOME_COMPLETE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
        T(test_ensure_complete_applies_every_item_and_writes_both_maps),
        T(test_ensure_second_run_has_nothing_to_do),
        T(test_interrupt_before_execution_ends_execution_interrupted_with_nothing_processed),
        T(test_interrupt_between_blocks_lists_blocks_processed),
        T(test_interrupt_inside_apply_finishes_in_flight_and_drops_dequeued_item),
        T(test_interrupt_drops_item_already_in_ready_queue),
        T(test_interrupt_while_last_item_runs_completes),
        T(test_poll_next_n_counts_across_blocks),
        T(test_ignore_strategy_completes_despite_interrupt),
        T(test_discover_item_error_lets_other_items_run),
        T(test_apply_item_error_starts_no_new_item_and_in_flight_finish),
        T(test_diff_error_is_block_error),
        T(test_diff_command_computes_diffs_of_stored_states),
        T(test_stale_guard_values_differ_is_block_error),
        T(test_stale_guard_only_discovered_is_block_error),
        T(test_stale_guard_only_stored_is_block_error),
        T(test_stale_goal_is_checked_after_current),
        T(test_clean_runs_in_reverse_dependency_order),
        T(test_dry_runs_write_nothing_and_change_nothing),
        T(test_discover_writes_partial_map_on_item_error),
        T(test_discover_complete_marks_items_success),
        T(test_missing_stored_states_is_block_error),
        T(test_store_write_failure_is_block_error),
        T(test_concurrency_limit_bounds_items_in_flight),
        T(test_unknown_item_type_is_refused_at_create),
        T(test_interrupt_after_finish_has_no_effect),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
