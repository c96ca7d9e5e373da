/*
 * test_exec_report.c - the report the engine records (outcome.h, report v2):
 * per-block times from the injected clock, values per block kind, apply
 * entries (changed / already in the goal, resulting or would-be state, time,
 * error), stale items of the sync check, flow order, interrupt time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "exec_fixture.h"
#include "fake_engine.h"
#include "peace/exec.h"

/* The fixture with its clock at 1000000 ms (every reading advances it by 10). */
static int setup(void **state)
{
    int rc = fixture_setup(state);

    ((struct fixture *)*state)->now = 1000000;
    return rc;
}

static void start(struct fixture *f, enum pc_cmd cmd, size_t n_items, const char *const *edges,
                  size_t n_edges)
{
    static const char *const ids[] = {"a", "b", "c", "d"};
    struct pc_exec_opts o;
    struct pc_err err;

    make_flow(f, ids, n_items, edges, n_edges);
    memset(&o, 0, sizeof(o));
    o.cmd = cmd;
    o.sync = PC_SYNC_BOTH;
    assert_int_equal(pc_strategy_parse("finish_current", 14, &o.strategy, &err), 0);
    o.now_ms = fixture_clock;
    o.clock_ctx = f;
    o.created_ms = 999000;
    create_opts(f, &o);
    pc_exec_start(f->exec);
}

static int64_t value_int(const struct pc_rvalue *v)
{
    int64_t n = -99;

    assert_true(v->set);
    assert_false(v->truncated);
    assert_true(fake_state_get_int(&v->state, &n));
    return n;
}

static const struct pc_report_block *block(const struct pc_outcome *o, size_t i,
                                           enum pc_block_kind kind)
{
    assert_true(i < o->n_run);
    assert_int_equal(o->run[i].kind, kind);
    return &o->run[i];
}

static void test_sync_check_lists_the_stale_item(void **state)
{
    struct fixture *f = *state;
    const struct pc_outcome *o = NULL;
    const struct pc_report_block *b = NULL;

    seed_in_sync(f, 3);
    start(f, PC_CMD_ENSURE, 3, NULL, 0);
    f->world.items[1].value = 1; /* b is already in its goal state ... */
    fake_executor_drain(&f->fx);
    o = &f->obs.outcome;
    /* ... which the sync check sees as a stale stored current. */
    assert_int_equal(o->kind, PC_OUTCOME_BLOCK_ERROR);
    b = block(o, 3, PC_BLOCK_SYNC_CHECK);
    assert_int_equal(b->n_items, 1);
    assert_string_equal(b->items[0].item.s, "b");
    assert_int_equal(b->items[0].stale, PC_STALE_CURRENT);
    assert_int_equal(o->n_run, 4); /* apply never ran */
}

static void test_ensure_apply_entries_in_flow_order(void **state)
{
    struct fixture *f = *state;
    const struct pc_outcome *o = NULL;
    const struct pc_report_block *b = NULL;
    const char *edges[] = {"b>a"}; /* a depends on b: b starts first */
    int64_t cur[3] = {0, 1, 0};
    int64_t goal[3] = {1, 1, 1};

    f->world.items[0].goal = 1;
    f->world.items[1].value = 1;
    f->world.items[1].goal = 1;
    f->world.items[2].goal = 1;
    fake_store_seed(&f->store, PC_STATES_CURRENT, cur, 3);
    fake_store_seed(&f->store, PC_STATES_GOAL, goal, 3);
    start(f, PC_CMD_ENSURE, 3, edges, 1);
    fake_executor_drain(&f->fx);
    o = &f->obs.outcome;
    assert_int_equal(o->kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(o->created_ms, 999000);
    assert_true(o->started_ms > 1000000);
    assert_true(o->finished_ms > o->started_ms);
    assert_int_equal(o->interrupted_ms, 0);
    assert_int_equal(o->n_run, 5);
    /* Blocks in order, each within the execution, back to back. */
    for (size_t i = 0; i < o->n_run; i++) {
        assert_int_equal(o->run[i].kind, o->blocks[i]);
        assert_true(o->run[i].start_ms >= o->started_ms);
        assert_true(o->run[i].start_ms + o->run[i].duration_ms <= o->finished_ms);
        if (i > 0) {
            assert_true(o->run[i].start_ms >= o->run[i - 1].start_ms + o->run[i - 1].duration_ms);
        }
    }
    /* read blocks: every item's stored state. */
    b = block(o, 0, PC_BLOCK_READ_CURRENT);
    assert_int_equal(b->n_items, 3);
    assert_int_equal(value_int(&b->items[1].values[PC_RV_CURRENT]), 1);
    assert_false(b->items[1].values[PC_RV_GOAL].set);
    b = block(o, 1, PC_BLOCK_READ_GOAL);
    assert_int_equal(value_int(&b->items[2].values[PC_RV_GOAL]), 1);
    /* discover: current and goal, timed. */
    b = block(o, 2, PC_BLOCK_DISCOVER);
    assert_int_equal(b->n_items, 3);
    assert_true(b->items[0].timed);
    assert_int_equal(value_int(&b->items[0].values[PC_RV_CURRENT]), 0);
    assert_int_equal(value_int(&b->items[0].values[PC_RV_GOAL]), 1);
    /* the sync check lists no item when nothing is stale. */
    assert_int_equal(block(o, 3, PC_BLOCK_SYNC_CHECK)->n_items, 0);
    /* apply: flow order (a, b, c) although b started first; a and c changed, b did not. */
    b = block(o, 4, PC_BLOCK_APPLY_ENSURE);
    assert_int_equal(b->n_items, 3);
    assert_string_equal(b->items[0].item.s, "a");
    assert_string_equal(b->items[1].item.s, "b");
    assert_string_equal(b->items[2].item.s, "c");
    assert_true(b->items[1].start_ms < b->items[0].start_ms);
    assert_int_equal(b->items[0].apply, PC_APPLY_CHANGED);
    assert_int_equal(b->items[1].apply, PC_APPLY_UNCHANGED);
    assert_int_equal(b->items[2].apply, PC_APPLY_CHANGED);
    for (size_t i = 0; i < 3; i++) {
        assert_true(b->items[i].timed);
        assert_true(b->items[i].duration_ms > 0);
        assert_true(b->items[i].start_ms >= b->start_ms);
        assert_int_equal(value_int(&b->items[i].values[PC_RV_STATE]), 1);
        assert_null(b->items[i].error);
    }
}

static void test_ensure_dry_report_shows_would_be_states(void **state)
{
    struct fixture *f = *state;
    const struct pc_report_block *b = NULL;

    seed_in_sync(f, 2);
    start(f, PC_CMD_ENSURE_DRY, 2, NULL, 0);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    b = block(&f->obs.outcome, 4, PC_BLOCK_APPLY_ENSURE_DRY);
    assert_int_equal(b->n_items, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(b->items[i].apply, PC_APPLY_CHANGED);
        assert_int_equal(value_int(&b->items[i].values[PC_RV_STATE]), 1); /* would-be */
        assert_int_equal(f->world.items[i].value, 0);                     /* nothing changed */
    }
}

static void test_item_error_is_on_the_apply_entry(void **state)
{
    struct fixture *f = *state;
    const struct pc_report_block *b = NULL;

    seed_in_sync(f, 2);
    f->world.items[0].fail_apply = true;
    start(f, PC_CMD_ENSURE, 2, NULL, 0);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_ITEM_ERROR);
    b = block(&f->obs.outcome, 4, PC_BLOCK_APPLY_ENSURE);
    assert_string_equal(b->items[0].item.s, "a");
    assert_string_equal(b->items[0].error, "apply of a failed");
    assert_int_equal(b->items[0].apply, PC_APPLY_CHANGED);
    assert_true(b->items[0].timed);
    assert_null(b->items[1].error);
}

static void test_diff_report_has_each_items_diff(void **state)
{
    struct fixture *f = *state;
    const struct pc_report_block *b = NULL;

    seed_in_sync(f, 2);
    start(f, PC_CMD_DIFF, 2, NULL, 0);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    b = block(&f->obs.outcome, 2, PC_BLOCK_DIFF);
    assert_int_equal(b->n_items, 2);
    assert_int_equal(value_int(&b->items[1].values[PC_RV_DIFF]), 1);
}

static void test_interrupted_apply_times_the_in_flight_item(void **state)
{
    struct fixture *f = *state;
    const struct pc_outcome *o = NULL;
    const struct pc_report_block *b = NULL;
    const char *edges[] = {"a>b"};

    seed_in_sync(f, 2);
    start(f, PC_CMD_ENSURE, 2, edges, 1);
    while (pc_exec_block_index(f->exec) < 4) {
        assert_true(fake_executor_run_at(&f->fx, 0));
    }
    assert_true(fake_executor_run_at(&f->fx, 0)); /* prepare a -> apply a in flight */
    pc_exec_signal_interrupt(f->exec);
    fake_executor_drain(&f->fx);
    o = &f->obs.outcome;
    assert_int_equal(o->kind, PC_OUTCOME_BLOCK_INTERRUPTED);
    assert_true(o->interrupted_ms >= o->run[4].start_ms);
    assert_true(o->interrupted_ms <= o->finished_ms);
    b = block(o, 4, PC_BLOCK_APPLY_ENSURE);
    assert_int_equal(b->n_items, 1); /* b never started */
    assert_string_equal(b->items[0].item.s, "a");
    assert_true(b->items[0].timed);
    assert_true(b->items[0].duration_ms > 0);
    assert_true(b->items[0].start_ms + b->items[0].duration_ms <= b->start_ms + b->duration_ms);
}

static void test_big_state_is_truncated_to_size_and_digest(void **state)
{
    struct pc_state s = {NULL, 0};
    struct pc_rvalue v;
    uint8_t *big = malloc(PC_REPORT_VALUE_MAX + 10);
    size_t budget = 0;

    (void)state;
    assert_non_null(big);
    memset(&v, 0, sizeof(v));
    /* msgpack bin 16 of PC_REPORT_VALUE_MAX + 7 bytes */
    big[0] = 0xc5;
    big[1] = (uint8_t)((PC_REPORT_VALUE_MAX + 7) >> 8);
    big[2] = (uint8_t)((PC_REPORT_VALUE_MAX + 7) & 0xff);
    memset(big + 3, 'x', PC_REPORT_VALUE_MAX + 7);
    assert_int_equal(pc_state_set(&s, big, PC_REPORT_VALUE_MAX + 10), 0);
    assert_int_equal(pc_rvalue_set(&v, &s, &budget), 0);
    assert_true(v.set);
    assert_true(v.truncated);
    assert_null(v.state.data);
    assert_int_equal(v.size, PC_REPORT_VALUE_MAX + 10);
    assert_int_equal(strlen(v.sha256), 64);
    assert_int_equal(budget, 0);
    /* A small state is kept, and counted against the budget... */
    assert_int_equal(pc_state_set(&s, big, 3), 0);
    assert_int_equal(pc_rvalue_set(&v, &s, &budget), 0);
    assert_false(v.truncated);
    assert_int_equal(budget, 3);
    /* ...until the budget is spent. */
    budget = PC_REPORT_VALUES_BUDGET - 2;
    assert_int_equal(pc_rvalue_set(&v, &s, &budget), 0);
    assert_true(v.truncated);
    assert_int_equal(v.size, 3);
    pc_state_clear(&v.state);
    pc_state_clear(&s);
    free(big);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_sync_check_lists_the_stale_item),
        T(test_ensure_apply_entries_in_flow_order),
        T(test_ensure_dry_report_shows_would_be_states),
        T(test_item_error_is_on_the_apply_entry),
        T(test_diff_report_has_each_items_diff),
        T(test_interrupted_apply_times_the_in_flight_item),
        cmocka_unit_test(test_big_state_is_truncated_to_size_and_digest),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
