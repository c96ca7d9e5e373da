/*
 * test_exec_cancel.c - interrupt modes in the engine: each mode (finish,
 * cancel, kill) before the start, between blocks, inside a block and after
 * the end; the cancel token reaching running items; a cut item listed as
 * interrupted with its current state discovered again and stored; the
 * strategies' say (ignore ignores cancel, not kill).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec_fixture.h"
#include "fake_engine.h"
#include "peace/exec.h"

/* Two independent items a, b (concurrency 1 so b waits while a runs), in
 * sync, goal 1; a honours the token and is left at 7 when cut. */
static void make(struct fixture *f, const char *strategy)
{
    const char *const ids[] = {"a", "b"};
    struct pc_exec_opts o;
    struct pc_err err;

    make_flow(f, ids, 2, NULL, 0);
    seed_in_sync(f, 2);
    for (size_t i = 0; i < 2; i++) {
        f->world.items[i].honour_cancel = true;
        f->world.items[i].cut_value = 7;
    }
    memset(&o, 0, sizeof(o));
    o.cmd = PC_CMD_ENSURE;
    o.sync = PC_SYNC_BOTH;
    assert_int_equal(pc_strategy_parse(strategy, strlen(strategy), &o.strategy, &err), 0);
    o.concurrency_max = 1;
    create_opts(f, &o);
}

/* Runs until a's apply task is queued (a is running in the apply block). */
static void run_to_apply_of_a(struct fixture *f)
{
    pc_exec_start(f->exec);
    while (pc_exec_block_index(f->exec) < 4) {
        assert_true(fake_executor_run_at(&f->fx, 0));
    }
    assert_true(fake_executor_run_at(&f->fx, 0)); /* prepare a -> apply a queued */
    assert_int_equal(f->fx.n, 1);
    assert_int_equal(pc_exec_running(f->exec), 1);
}

static void assert_one_id(const struct pc_id *ids, size_t n, const char *want)
{
    assert_int_equal(n, 1);
    assert_string_equal(ids[0].s, want);
}

/* ------------------------------------------------------------------------ */
/* Before the start                                                          */

static void before_start(void **state, enum pc_interrupt_mode m)
{
    struct fixture *f = *state;

    make(f, "finish_current");
    pc_exec_interrupt(f->exec, m);
    pc_exec_start(f->exec);
    assert_true(f->obs.finished);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_EXECUTION_INTERRUPTED);
    assert_int_equal(f->obs.outcome.n_blocks_processed, 0);
    assert_int_equal(f->obs.outcome.n_items_interrupted, 0);
    assert_int_equal(f->fx.submitted, 0);
}

static void test_finish_before_start(void **state)
{
    before_start(state, PC_MODE_FINISH);
}

static void test_cancel_before_start(void **state)
{
    before_start(state, PC_MODE_CANCEL);
}

static void test_kill_before_start(void **state)
{
    before_start(state, PC_MODE_KILL);
}

/* ------------------------------------------------------------------------ */
/* Between blocks: the last discover task is in flight and finishes anyway
 * (this discovery ignores the token, as a short one may) */

static void between_blocks(void **state, enum pc_interrupt_mode m)
{
    struct fixture *f = *state;

    make(f, "finish_current");
    f->world.items[0].honour_cancel = false; /* discovery that finishes anyway */
    f->world.items[1].honour_cancel = false;
    pc_exec_start(f->exec);
    assert_int_equal(f->fx.n, 1); /* concurrency 1: discover a in flight */
    assert_true(fake_executor_run_at(&f->fx, 0));
    /* Discover b is in flight, the last item of the block: no poll is left
     * in this block, so the interrupt is seen before the next one. */
    assert_int_equal(pc_exec_running(f->exec), 1);
    pc_exec_interrupt(f->exec, m);
    fake_executor_drain(&f->fx);
    assert_true(f->obs.finished);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_EXECUTION_INTERRUPTED);
    assert_int_equal(f->obs.outcome.n_blocks_processed, 3);
    assert_int_equal(f->obs.outcome.n_items_interrupted, 0);
    assert_int_equal(fake_log_count_prefix(&f->world, "apply:"), 0);
    assert_int_equal(f->store.item_writes[0] + f->store.all_writes[0], 0);
}

static void test_finish_between_blocks(void **state)
{
    between_blocks(state, PC_MODE_FINISH);
}

static void test_cancel_between_blocks(void **state)
{
    between_blocks(state, PC_MODE_CANCEL);
}

static void test_kill_between_blocks(void **state)
{
    between_blocks(state, PC_MODE_KILL);
}

/* ------------------------------------------------------------------------ */
/* Inside a block                                                            */

static void test_finish_inside_apply_lets_the_item_finish(void **state)
{
    struct fixture *f = *state;

    make(f, "finish_current");
    run_to_apply_of_a(f);
    pc_exec_interrupt(f->exec, PC_MODE_FINISH);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_INTERRUPTED);
    assert_int_equal(f->world.items[0].value, 1);
    assert_int_equal(f->obs.outcome.n_items_interrupted, 0);
    assert_int_equal(pc_exec_tracker(f->exec, 0)->status, PC_PROGRESS_SUCCESS);
}

static void cut_inside_apply(void **state, enum pc_interrupt_mode m, const char *strategy)
{
    struct fixture *f = *state;

    make(f, strategy);
    run_to_apply_of_a(f);
    pc_exec_interrupt(f->exec, m);
    fake_executor_drain(&f->fx);
    assert_true(f->obs.finished);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_INTERRUPTED);
    assert_one_id(f->obs.outcome.items_processed, f->obs.outcome.n_items_processed, "a");
    assert_one_id(f->obs.outcome.items_interrupted, f->obs.outcome.n_items_interrupted, "a");
    assert_one_id(f->obs.outcome.items_not_processed, f->obs.outcome.n_items_not_processed, "b");
    assert_int_equal(f->obs.outcome.n_errors, 0);
    assert_true(f->obs.interrupted);
    /* The cut left a at 7: discovered again and stored, so the next
     * ensure's stale-state guard sees the truth. */
    assert_int_equal(f->world.items[0].value, 7);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 0), 7);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 1), 0);
    assert_int_equal(pc_exec_tracker(f->exec, 0)->status, PC_PROGRESS_INTERRUPTED);
    assert_int_equal(pc_exec_tracker(f->exec, 1)->status, PC_PROGRESS_INTERRUPTED);
    assert_int_equal(fake_log_find(&f->world, "apply:b"), -1);
    assert_int_equal(pc_outcome_exit_status(f->obs.outcome.kind), 2);
}

static void test_cancel_inside_apply_cuts_the_item_and_stores_its_truth(void **state)
{
    cut_inside_apply(state, PC_MODE_CANCEL, "finish_current");
}

static void test_kill_inside_apply_cuts_the_item(void **state)
{
    cut_inside_apply(state, PC_MODE_KILL, "finish_current");
}

static void test_kill_overrides_ignore(void **state)
{
    cut_inside_apply(state, PC_MODE_KILL, "ignore");
}

static void test_escalation_finish_then_cancel_cuts(void **state)
{
    struct fixture *f = *state;

    make(f, "finish_current");
    run_to_apply_of_a(f);
    pc_exec_interrupt(f->exec, PC_MODE_FINISH);
    pc_exec_interrupt(f->exec, PC_MODE_CANCEL);
    fake_executor_drain(&f->fx);
    assert_one_id(f->obs.outcome.items_interrupted, f->obs.outcome.n_items_interrupted, "a");
}

static void test_ignore_ignores_cancel(void **state)
{
    struct fixture *f = *state;

    make(f, "ignore");
    run_to_apply_of_a(f);
    pc_exec_interrupt(f->exec, PC_MODE_CANCEL);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(f->world.items[0].value, 1);
    assert_int_equal(f->world.items[1].value, 1);
}

static void test_cancel_under_poll_next_n_cuts_running_item_only(void **state)
{
    struct fixture *f = *state;

    /* A large allowance: b still starts (with a fresh token) and applies. */
    make(f, "poll_next_n:100");
    run_to_apply_of_a(f);
    pc_exec_interrupt(f->exec, PC_MODE_CANCEL);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_INTERRUPTED);
    assert_one_id(f->obs.outcome.items_interrupted, f->obs.outcome.n_items_interrupted, "a");
    assert_int_equal(f->world.items[0].value, 7);
    assert_int_equal(f->world.items[1].value, 1);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 1), 1);
}

static void test_cancel_inside_discover_cuts_without_state(void **state)
{
    struct fixture *f = *state;

    make(f, "finish_current");
    pc_exec_start(f->exec);
    while (pc_exec_block_index(f->exec) < 2) {
        assert_true(fake_executor_run_at(&f->fx, 0));
    }
    assert_int_equal(pc_exec_running(f->exec), 1); /* discover of a */
    pc_exec_interrupt(f->exec, PC_MODE_CANCEL);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_INTERRUPTED);
    assert_one_id(f->obs.outcome.items_interrupted, f->obs.outcome.n_items_interrupted, "a");
    assert_int_equal(f->obs.outcome.n_blocks_processed, 2);
    /* Discovery changes nothing: the stored states stay as they were. */
    assert_int_equal(stored(f, PC_STATES_CURRENT, 0), 0);
}

/*
 * A cut apply whose re-discovery fails: the item's stored current state is
 * marked unknown (not left at the stale pre-apply value), the failure is an
 * item error, and the next ensure uses what it discovers and completes.
 */
static void test_cut_with_failing_rediscovery_marks_the_stored_state_unknown(void **state)
{
    struct fixture *f = *state;
    const struct pc_state *st;
    struct pc_exec_opts o;
    struct pc_err err;

    make(f, "finish_current");
    run_to_apply_of_a(f);
    f->world.items[0].fail_current = true; /* the world cannot be read after the cut */
    pc_exec_interrupt(f->exec, PC_MODE_CANCEL);
    fake_executor_drain(&f->fx);
    assert_true(f->obs.finished);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_ITEM_ERROR);
    assert_one_id(f->obs.outcome.items_interrupted, f->obs.outcome.n_items_interrupted, "a");
    assert_int_equal(f->obs.outcome.n_errors, 1);
    assert_non_null(strstr(f->obs.outcome.errors[0].text, "marked unknown"));
    assert_int_equal(f->world.items[0].value, 7);
    st = &f->store.maps[PC_STATES_CURRENT].v[0];
    assert_true(pc_state_is_unknown(st));
    assert_int_equal(stored(f, PC_STATES_CURRENT, 1), 0); /* b never ran: untouched */

    /* The next ensure, the world readable again: its guard does not hold
     * the mark against the discovered 7, and it completes. */
    f->world.items[0].fail_current = false;
    pc_exec_destroy(f->exec);
    fake_observer_cleanup(&f->obs);
    fake_observer_init(&f->obs);
    memset(&o, 0, sizeof(o));
    o.cmd = PC_CMD_ENSURE;
    o.sync = PC_SYNC_BOTH;
    assert_int_equal(pc_strategy_parse("finish_current", 14, &o.strategy, &err), 0);
    o.flow = &f->flow;
    o.registry = f->reg;
    o.store = fake_store_get(&f->store);
    o.executor = fake_executor_get(&f->fx);
    o.observer = &fake_observer_ops;
    o.observer_ctx = &f->obs;
    o.concurrency_max = 1;
    assert_int_equal(pc_exec_create(&o, &f->exec, &err), 0);
    pc_exec_start(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(f->world.items[0].value, 1);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 0), 1);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 1), 1);
}

/* Without the mark the same stale state fails the guard: the mark is what
 * lets the next ensure through (the check is not blind). */
static void test_a_stale_stored_state_still_fails_the_guard(void **state)
{
    struct fixture *f = *state;

    make(f, "finish_current");
    f->world.items[0].value = 7; /* changed behind the stored 0, not marked */
    pc_exec_start(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_ERROR);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 0), 0);
}

/* ------------------------------------------------------------------------ */
/* After the end                                                             */

static void test_every_mode_after_the_end_changes_nothing(void **state)
{
    struct fixture *f = *state;

    make(f, "finish_current");
    pc_exec_start(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    pc_exec_interrupt(f->exec, PC_MODE_FINISH);
    pc_exec_interrupt(f->exec, PC_MODE_CANCEL);
    pc_exec_interrupt(f->exec, PC_MODE_KILL);
    assert_int_equal(pc_exec_outcome(f->exec)->kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(f->obs.finished_calls, 1);
    assert_int_equal(pc_exec_running(f->exec), 0);
}

/* The token the item sees: level, fd readable when it rises, reset between tasks. */
static void test_cancel_token_levels_and_fd(void **state)
{
    struct pc_cancel c;
    struct pc_item_ctx ctx;
    int fd;
    uint64_t v = 0;

    (void)state;
    memset(&ctx, 0, sizeof(ctx));
    assert_false(pc_item_cancelled(&ctx)); /* no token: never cancelled */
    assert_true(pc_item_cancel_fd(&ctx) < 0);
    pc_cancel_init(&c);
    ctx.cancel = &c;
    assert_false(pc_item_cancelled(&ctx));
    fd = pc_item_cancel_fd(&ctx);
    assert_true(fd >= 0);
    assert_true(read(fd, &v, sizeof(v)) < 0); /* not readable yet */
    pc_cancel_raise(&c, PC_MODE_CANCEL);
    assert_true(pc_item_cancelled(&ctx));
    assert_int_equal(pc_item_cancel_ack(&ctx), PC_MODE_CANCEL);
    assert_true(read(fd, &v, sizeof(v)) < 0); /* ack cleared it */
    pc_cancel_raise(&c, PC_MODE_FINISH);      /* never lowers */
    assert_int_equal(pc_item_cancel_mode(&ctx), PC_MODE_CANCEL);
    pc_cancel_raise(&c, PC_MODE_KILL);
    assert_int_equal(read(fd, &v, sizeof(v)), (ssize_t)sizeof(v));
    assert_int_equal(pc_item_cancel_mode(&ctx), PC_MODE_KILL);
    pc_cancel_reset(&c);
    assert_false(pc_item_cancelled(&ctx));
    pc_cancel_cleanup(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_finish_before_start, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cancel_before_start, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_kill_before_start, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_finish_between_blocks, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cancel_between_blocks, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_kill_between_blocks, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_finish_inside_apply_lets_the_item_finish,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cancel_inside_apply_cuts_the_item_and_stores_its_truth,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_kill_inside_apply_cuts_the_item, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_kill_overrides_ignore, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_escalation_finish_then_cancel_cuts, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_ignore_ignores_cancel, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cancel_under_poll_next_n_cuts_running_item_only,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cancel_inside_discover_cuts_without_state,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_cut_with_failing_rediscovery_marks_the_stored_state_unknown, fixture_setup,
            fixture_teardown),
        cmocka_unit_test_setup_teardown(test_a_stale_stored_state_still_fails_the_guard,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_every_mode_after_the_end_changes_nothing,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test(test_cancel_token_levels_and_fd),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
