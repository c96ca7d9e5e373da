/*
 * test_obsolete.c - obsolete items in the engine: items the store holds that
 * are no longer in the flow are discovered with their stored params, checked
 * by the stored-vs-discovered guard, cleaned in a last block (clean_obsolete)
 * in reverse dependency order, and removed from the store once cleaned; the
 * dry variants and diff only list them; keep_obsolete leaves them; items
 * without a record are listed as unmanaged and never touched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "exec_fixture.h"

/* The flow {a, b}; the store also holds c (and d) from an earlier flow
 * {a, b, c, d} in which c depended on d. Stored current of c and d: 1. */
static void setup_obsolete(struct fixture *f, bool record_c, bool with_d)
{
    const char *all[] = {"a", "b", "c", "d"};
    const char *now[] = {"a", "b"};
    const char *c_deps[] = {"d"};
    struct pc_flow old;
    int64_t cur[4] = {0, 0, 1, 1};
    int64_t goal[2] = {1, 1};

    assert_int_equal(fake_flow_build(&old, &f->world, all, 4, NULL, 0), 0);
    fake_store_add_obsolete(&f->store, &old, 2, record_c, c_deps, with_d ? 1 : 0);
    if (with_d) {
        fake_store_add_obsolete(&f->store, &old, 3, true, NULL, 0);
    }
    fake_flow_free(&old);
    make_flow(f, now, 2, NULL, 0);
    for (size_t i = 0; i < 4; i++) {
        f->world.items[i].value = i < 2 ? 0 : 1;
        f->world.items[i].goal = 1;
    }
    fake_store_seed(&f->store, PC_STATES_CURRENT, cur, with_d ? 4 : 3);
    fake_store_seed(&f->store, PC_STATES_GOAL, goal, 2);
}

static void test_ensure_cleans_obsolete_items_in_a_last_block(void **state)
{
    struct fixture *f = *state;

    setup_obsolete(f, true, false);
    run_cmd(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_blocks(&f->obs.outcome, 6, 6);
    assert_int_equal(f->obs.outcome.blocks[5], PC_BLOCK_CLEAN_OBSOLETE);
    assert_int_equal(f->obs.outcome.n_items_obsolete, 1);
    assert_string_equal(f->obs.outcome.items_obsolete[0].s, "c");
    assert_false(f->obs.outcome.obsolete_kept);
    /* a and b ensured, c cleaned (its world back to the clean state 0) ... */
    assert_int_equal(f->world.items[0].value, 1);
    assert_int_equal(f->world.items[2].value, 0);
    /* ... after a and b: the obsolete block is last. */
    assert_true(fake_log_find(&f->world, "apply:c") > fake_log_find(&f->world, "apply:b"));
    /* c was discovered with its stored params, never its goal. */
    assert_true(fake_log_find(&f->world, "current:c") >= 0);
    assert_int_equal(fake_log_find(&f->world, "goal:c"), -1);
    /* Its stored state went once it was cleaned; records for a and b. */
    assert_int_equal(f->store.n_removed, 1);
    assert_string_equal(f->store.removed[0], "c");
    assert_int_equal(f->store.record_writes, 2);
    assert_string_equal(pc_exec_flow(f->exec)->items[2].id.s, "c");
}

static void test_obsolete_items_are_cleaned_in_reverse_dependency_order(void **state)
{
    struct fixture *f = *state;

    setup_obsolete(f, true, true);
    run_cmd(f, PC_CMD_CLEAN, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(f->obs.outcome.blocks[f->obs.outcome.n_blocks - 1], PC_BLOCK_CLEAN_OBSOLETE);
    assert_int_equal(f->obs.outcome.n_items_obsolete, 2);
    /* c depended on d: c is torn down first. */
    assert_true(fake_log_find(&f->world, "apply:c") < fake_log_find(&f->world, "apply:d"));
    assert_int_equal(f->world.items[2].value, 0);
    assert_int_equal(f->world.items[3].value, 0);
    assert_int_equal(f->store.n_removed, 2);
    assert_string_equal(f->store.removed[0], "c");
    assert_string_equal(f->store.removed[1], "d");
}

static void test_keep_obsolete_lists_and_leaves_them(void **state)
{
    struct fixture *f = *state;
    struct pc_exec_opts o;
    struct pc_err err;

    setup_obsolete(f, true, false);
    memset(&o, 0, sizeof(o));
    o.cmd = PC_CMD_ENSURE;
    o.flow = &f->flow;
    o.registry = f->reg;
    o.store = fake_store_get(&f->store);
    o.executor = fake_executor_get(&f->fx);
    o.observer = &fake_observer_ops;
    o.observer_ctx = &f->obs;
    o.keep_obsolete = true;
    assert_int_equal(pc_exec_create(&o, &f->exec, &err), 0);
    pc_exec_start(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_blocks(&f->obs.outcome, 5, 5);
    assert_int_equal(f->obs.outcome.n_items_obsolete, 1);
    assert_true(f->obs.outcome.obsolete_kept);
    assert_int_equal(f->world.items[2].value, 1);
    assert_int_equal(f->store.n_removed, 0);
    assert_int_equal(fake_log_find(&f->world, "current:c"), -1);
}

static void test_obsolete_item_without_record_is_listed_and_left_stored(void **state)
{
    struct fixture *f = *state;

    setup_obsolete(f, false, false);
    run_cmd(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_blocks(&f->obs.outcome, 5, 5);
    assert_int_equal(f->obs.outcome.n_items_obsolete, 0);
    assert_int_equal(f->obs.outcome.n_items_obsolete_unmanaged, 1);
    assert_string_equal(f->obs.outcome.items_obsolete_unmanaged[0].s, "c");
    assert_int_equal(f->store.n_removed, 0);
    assert_int_equal(f->world.items[2].value, 1);
}

static void test_ensure_dry_and_diff_list_obsolete_items_and_change_nothing(void **state)
{
    struct fixture *f = *state;
    size_t diffs_c = 0;

    setup_obsolete(f, true, false);
    run_cmd(f, PC_CMD_ENSURE_DRY, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_int_equal(f->obs.outcome.blocks[5], PC_BLOCK_CLEAN_OBSOLETE_DRY);
    assert_int_equal(f->obs.outcome.n_items_obsolete, 1);
    assert_true(fake_log_find(&f->world, "apply_dry:c") >= 0);
    assert_int_equal(f->world.items[2].value, 1);
    assert_int_equal(f->store.n_removed, 0);

    diffs_c = fake_log_count_prefix(&f->world, "diff:c");
    run_cmd(f, PC_CMD_DIFF, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_blocks(&f->obs.outcome, 3, 3);
    assert_int_equal(f->obs.outcome.n_items_obsolete, 1);
    assert_string_equal(f->obs.outcome.items_obsolete[0].s, "c");
    /* The diff block is for the flow's items: c is only listed. */
    assert_int_equal(fake_log_count_prefix(&f->world, "diff:c"), diffs_c);
}

static void test_obsolete_clean_failure_keeps_its_stored_state(void **state)
{
    struct fixture *f = *state;
    const char *processed[] = {"c"};

    setup_obsolete(f, true, false);
    f->world.items[2].fail_apply = true;
    run_cmd(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_ITEM_ERROR);
    assert_blocks(&f->obs.outcome, 5, 6);
    assert_ids(f->obs.outcome.items_processed, f->obs.outcome.n_items_processed, processed, 1);
    assert_int_equal(f->obs.outcome.n_items_not_processed, 0);
    assert_string_equal(f->obs.outcome.errors[0].text, "apply of c failed");
    assert_int_equal(f->store.n_removed, 0);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 2), 1);
}

static void test_stale_guard_applies_to_obsolete_items(void **state)
{
    struct fixture *f = *state;

    setup_obsolete(f, true, false);
    f->world.items[2].value = 7; /* c changed behind our back */
    run_cmd(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_ERROR);
    assert_non_null(strstr(f->obs.outcome.error, "c: stored 1 discovered 7"));
    assert_int_equal(fake_log_count_prefix(&f->world, "apply:"), 0);
}

static void test_interrupt_inside_the_obsolete_block(void **state)
{
    struct fixture *f = *state;
    const char *processed[] = {"c"};
    const char *not_processed[] = {"d"};

    setup_obsolete(f, true, true);
    make_exec(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    run_until_block(f, 5);
    /* c's prepare is queued (d waits for c); interrupt while c runs. */
    assert_true(fake_executor_run_at(&f->fx, 0));
    pc_exec_signal_interrupt(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_INTERRUPTED);
    assert_blocks(&f->obs.outcome, 5, 6);
    assert_ids(f->obs.outcome.items_processed, f->obs.outcome.n_items_processed, processed, 1);
    assert_ids(f->obs.outcome.items_not_processed, f->obs.outcome.n_items_not_processed,
               not_processed, 1);
    assert_int_equal(f->store.n_removed, 1);
    assert_string_equal(f->store.removed[0], "c");
    assert_int_equal(stored(f, PC_STATES_CURRENT, 3), 1); /* d stays stored */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_ensure_cleans_obsolete_items_in_a_last_block),
        T(test_obsolete_items_are_cleaned_in_reverse_dependency_order),
        T(test_keep_obsolete_lists_and_leaves_them),
        T(test_obsolete_item_without_record_is_listed_and_left_stored),
        T(test_ensure_dry_and_diff_list_obsolete_items_and_change_nothing),
        T(test_obsolete_clean_failure_keeps_its_stored_state),
        T(test_stale_guard_applies_to_obsolete_items),
        T(test_interrupt_inside_the_obsolete_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
