/*
 * test_replace.c - replacement (blocking items), the seeds' full EnsureCmd:
 * the pure plan (pc_replace_plan: blocking items and everything depending
 * on them) and the engine running it: ensure's apply block ensures the
 * other items, clean_replaced cleans the replaced items as last applied
 * (their records) in reverse dependency order, ensure_replaced ensures them
 * again in order; the same id runs twice in one execution (old and new
 * incarnation); interrupts leave exact lists; a stored-item check (a
 * worker's policy) refuses what it may not run.
 *
 * The fake item's place in the world is its `slot`: a record whose slot
 * differs from the flow's is a replacement (as a file whose path changed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "exec_fixture.h"
#include "peace/replace.h"

/* ---- the plan (pure) ------------------------------------------------------ */

static bool blocks_from(void *ctx, size_t i)
{
    const bool *b = ctx;
    return b[i];
}

static void plan(const char *const *ids, size_t n, const char *const *edges, size_t n_edges,
                 bool *blocking_in, bool *replaced, size_t *count)
{
    struct fake_world w;
    struct pc_flow f;
    bool blocking[FAKE_ITEMS_MAX];
    struct pc_replace_ops ops = {.blocks = blocks_from};

    memset(&w, 0, sizeof(w));
    assert_int_equal(fake_flow_build(&f, &w, ids, n, edges, n_edges), 0);
    *count = pc_replace_plan(&f, &ops, blocking_in, blocking, replaced);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(blocking[i], blocking_in[i]);
    }
    fake_flow_free(&f);
}

static void test_plan_replaces_blocking_items_and_their_dependents(void **state)
{
    /* a -> b -> d, a -> c, e alone, f -> d (d also depends on f). */
    const char *ids[] = {"a", "b", "c", "d", "e", "f"};
    const char *edges[] = {"a>b", "b>d", "a>c", "f>d"};
    bool none[6] = {false};
    bool only_b[6] = {false, true, false, false, false, false};
    bool only_a[6] = {true, false, false, false, false, false};
    bool replaced[6];
    size_t n = 0;

    (void)state;
    plan(ids, 6, edges, 4, none, replaced, &n);
    assert_int_equal(n, 0);
    for (size_t i = 0; i < 6; i++) {
        assert_false(replaced[i]);
    }
    /* b blocks: b and d (transitively), not a, c, e, f. */
    plan(ids, 6, edges, 4, only_b, replaced, &n);
    assert_int_equal(n, 2);
    assert_false(replaced[0]);
    assert_true(replaced[1]);
    assert_false(replaced[2]);
    assert_true(replaced[3]);
    assert_false(replaced[4]);
    assert_false(replaced[5]);
    /* a blocks: a, b, c, d; e and f stay. */
    plan(ids, 6, edges, 4, only_a, replaced, &n);
    assert_int_equal(n, 4);
    assert_true(replaced[0] && replaced[1] && replaced[2] && replaced[3]);
    assert_false(replaced[4] || replaced[5]);
}

static void test_plan_follows_deps_to_later_items(void **state)
{
    /* d is listed first but depends on c, which depends on b (listed last). */
    const char *ids[] = {"d", "c", "a", "b"};
    const char *edges[] = {"c>d", "b>c"};
    bool only_b[4] = {false, false, false, true};
    bool replaced[4];
    size_t n = 0;

    (void)state;
    plan(ids, 4, edges, 2, only_b, replaced, &n);
    assert_int_equal(n, 3);
    assert_true(replaced[0] && replaced[1] && replaced[3]);
    assert_false(replaced[2]);
}

/* ---- the engine ----------------------------------------------------------- */

/*
 * The flow {a, b after a, c} at slots 0, 1, 2; the store holds a's record at
 * slot 3 (a was applied there: the old incarnation, value 1) and b's and
 * c's records as they are now. Stored states match the flow's discovery
 * (as after a discover): a 0, b 1, c 1, goals 1.
 */
static void setup_replace(struct fixture *f, bool a_moved)
{
    const char *old_ids[] = {"x", "b", "c", "a"};
    const char *old_edges[] = {"a>b"};
    const char *now[] = {"a", "b", "c"};
    const char *edges[] = {"a>b"};
    const char *b_deps[] = {"a"};
    struct pc_flow old;
    int64_t cur[3] = {0, 1, 1};
    int64_t goal[3] = {1, 1, 1};

    assert_int_equal(fake_flow_build(&old, &f->world, old_ids, 4, old_edges, 1), 0);
    make_flow(f, now, 3, edges, 1);
    fake_store_add_obsolete(&f->store, a_moved ? &old : &f->flow, a_moved ? 3 : 0, true, NULL, 0);
    fake_store_add_obsolete(&f->store, &old, 1, true, b_deps, 1);
    fake_store_add_obsolete(&f->store, &old, 2, true, NULL, 0);
    fake_flow_free(&old);
    for (size_t i = 0; i < 4; i++) {
        f->world.items[i].value = i == 0 ? 0 : 1;
        f->world.items[i].goal = 1;
    }
    fake_store_seed(&f->store, PC_STATES_CURRENT, cur, 3);
    fake_store_seed(&f->store, PC_STATES_GOAL, goal, 3);
}

/* Position of the n-th (0-based) log line equal to s, or -1. */
static int log_nth(const struct fake_world *w, const char *s, int n)
{
    for (size_t i = 0; i < w->n_log; i++) {
        if (strcmp(w->log[i], s) == 0 && n-- == 0) {
            return (int)i;
        }
    }
    return -1;
}

static void test_ensure_replaces_a_moved_item_and_its_dependents(void **state)
{
    struct fixture *f = *state;
    const char *replaced[] = {"a", "b"};
    const enum pc_block_kind want[] = {PC_BLOCK_READ_CURRENT,   PC_BLOCK_READ_GOAL,
                                       PC_BLOCK_DISCOVER,       PC_BLOCK_SYNC_CHECK,
                                       PC_BLOCK_APPLY_ENSURE,   PC_BLOCK_CLEAN_REPLACED,
                                       PC_BLOCK_ENSURE_REPLACED};

    setup_replace(f, true);
    run_cmd(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_blocks_processed(&f->obs.outcome, want, 7);
    assert_ids(f->obs.outcome.items_replaced, f->obs.outcome.n_items_replaced, replaced, 2);
    assert_int_equal(f->obs.outcome.n_items_obsolete, 0);
    /* The old a (slot 3) is cleaned, the new a (slot 0) made; b cleaned and
     * made again; c, already in its goal, untouched. */
    assert_int_equal(f->world.items[3].value, 0);
    assert_int_equal(f->world.items[0].value, 1);
    assert_int_equal(f->world.items[1].value, 1);
    assert_int_equal(f->world.items[2].value, 1);
    assert_int_equal(fake_log_count_prefix(&f->world, "apply:a"), 2);
    assert_int_equal(fake_log_count_prefix(&f->world, "apply:b"), 2);
    assert_int_equal(fake_log_count_prefix(&f->world, "apply:c"), 0);
    /* Clean in reverse dependency order (b, then a), then ensure in order
     * (a, then b). */
    assert_true(log_nth(&f->world, "apply:b", 0) < log_nth(&f->world, "apply:a", 0));
    assert_true(log_nth(&f->world, "apply:a", 0) < log_nth(&f->world, "apply:a", 1));
    assert_true(log_nth(&f->world, "apply:a", 1) < log_nth(&f->world, "apply:b", 1));
    /* The old a was discovered (its current, never its goal) and cleaned
     * with its stored params: the engine ran id a twice. */
    assert_int_equal(fake_log_count_prefix(&f->world, "current:a"), 3);
    /* The stored states are the new items': a 1, b 1. */
    assert_int_equal(stored(f, PC_STATES_CURRENT, 0), 1);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 1), 1);
    assert_int_equal(stored(f, PC_STATES_GOAL, 0), 1);
    assert_int_equal(f->store.n_removed, 0);
    assert_string_equal(pc_exec_flow(f->exec)->items[3].id.s, "a");
}

static void test_no_replacement_without_a_change_that_needs_one(void **state)
{
    struct fixture *f = *state;

    setup_replace(f, false); /* a's record is at its flow slot */
    run_cmd(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_blocks(&f->obs.outcome, 5, 5);
    assert_int_equal(f->obs.outcome.n_items_replaced, 0);
    assert_int_equal(f->world.items[3].value, 1); /* slot 3 is nobody's: untouched */
    assert_int_equal(fake_log_count_prefix(&f->world, "apply:b"), 0);
}

static void test_ensure_dry_and_diff_list_the_replacement_and_change_nothing(void **state)
{
    struct fixture *f = *state;
    const char *replaced[] = {"a", "b"};

    setup_replace(f, true);
    run_cmd(f, PC_CMD_ENSURE_DRY, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_blocks(&f->obs.outcome, 7, 7);
    assert_int_equal(f->obs.outcome.blocks[5], PC_BLOCK_CLEAN_REPLACED_DRY);
    assert_int_equal(f->obs.outcome.blocks[6], PC_BLOCK_ENSURE_REPLACED_DRY);
    assert_ids(f->obs.outcome.items_replaced, f->obs.outcome.n_items_replaced, replaced, 2);
    assert_int_equal(fake_log_count_prefix(&f->world, "apply:"), 0);
    assert_true(fake_log_count_prefix(&f->world, "apply_dry:a") >= 1);
    assert_int_equal(f->world.items[3].value, 1);
    assert_int_equal(f->world.items[0].value, 0);
    assert_int_equal(f->store.item_writes[PC_STATES_CURRENT], 0);

    /* diff lists them too, and runs nothing of the replacement. */
    run_cmd(f, PC_CMD_DIFF, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_blocks(&f->obs.outcome, 3, 3);
    assert_ids(f->obs.outcome.items_replaced, f->obs.outcome.n_items_replaced, replaced, 2);
    assert_int_equal(pc_exec_flow(f->exec)->n_items, 3);
    assert_int_equal(fake_log_count_prefix(&f->world, "apply:"), 0);
}

static void test_interrupt_inside_clean_replaced_lists_exactly(void **state)
{
    struct fixture *f = *state;
    const char *processed[] = {"b"};
    const char *not_processed[] = {"a"};

    setup_replace(f, true);
    make_exec(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    run_until_block(f, 5);
    /* b's clean is queued (the old a waits for it); interrupt while it runs. */
    assert_true(fake_executor_run_at(&f->fx, 0));
    pc_exec_signal_interrupt(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_INTERRUPTED);
    assert_blocks(&f->obs.outcome, 5, 7);
    assert_int_equal(f->obs.outcome.blocks[5], PC_BLOCK_CLEAN_REPLACED);
    assert_ids(f->obs.outcome.items_processed, f->obs.outcome.n_items_processed, processed, 1);
    assert_ids(f->obs.outcome.items_not_processed, f->obs.outcome.n_items_not_processed,
               not_processed, 1);
    /* b is clean and stored so; the old a is untouched, its stored entry too. */
    assert_int_equal(f->world.items[1].value, 0);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 1), 0);
    assert_int_equal(f->world.items[3].value, 1);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 0), 0);
}

static void test_interrupt_inside_ensure_replaced_lists_exactly(void **state)
{
    struct fixture *f = *state;
    const char *processed[] = {"a"};
    const char *not_processed[] = {"b"};

    setup_replace(f, true);
    make_exec(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", 0);
    pc_exec_start(f->exec);
    run_until_block(f, 6);
    assert_true(fake_executor_run_at(&f->fx, 0)); /* a's prepare */
    pc_exec_signal_interrupt(f->exec);
    fake_executor_drain(&f->fx);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_INTERRUPTED);
    assert_blocks(&f->obs.outcome, 6, 7);
    assert_ids(f->obs.outcome.items_processed, f->obs.outcome.n_items_processed, processed, 1);
    assert_ids(f->obs.outcome.items_not_processed, f->obs.outcome.n_items_not_processed,
               not_processed, 1);
    assert_int_equal(f->world.items[0].value, 1);
    assert_int_equal(f->world.items[1].value, 0); /* cleaned, not made again yet */
    assert_int_equal(stored(f, PC_STATES_CURRENT, 0), 1);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 1), 0);
}

static void test_failed_clean_of_the_old_incarnation_stops_the_replacement(void **state)
{
    struct fixture *f = *state;

    setup_replace(f, true);
    f->world.items[3].fail_apply = true; /* the old a cannot be cleaned */
    run_cmd(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_ITEM_ERROR);
    assert_blocks(&f->obs.outcome, 5, 7);
    assert_int_equal(f->obs.outcome.n_errors, 1);
    assert_string_equal(f->obs.outcome.errors[0].item.s, "a");
    assert_int_equal(f->world.items[0].value, 0); /* the new a was never made */
}

static int refuse_slot_3(void *ctx, const struct pc_flow_item *fi, char *reason, size_t n)
{
    size_t *calls = ctx;

    (*calls)++;
    (void)snprintf(reason, n, "type %s is not allowed here", fi->type.s);
    return strcmp(fi->id.s, "a") == 0 ? -1 : 0;
}

static void test_stored_item_check_refuses_before_anything_runs(void **state)
{
    struct fixture *f = *state;
    struct pc_exec_opts o;
    size_t calls = 0;

    setup_replace(f, true);
    memset(&o, 0, sizeof(o));
    o.cmd = PC_CMD_ENSURE;
    o.stored_item_check = refuse_slot_3;
    o.stored_item_check_ctx = &calls;
    run_opts(f, &o, false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_BLOCK_ERROR);
    assert_int_equal(f->obs.outcome.n_blocks_processed, 0);
    assert_non_null(strstr(f->obs.outcome.error, "replaced item a cannot run here"));
    assert_non_null(strstr(f->obs.outcome.error, "type fake is not allowed here"));
    assert_true(calls >= 1);
    assert_int_equal(fake_log_count_prefix(&f->world, "apply"), 0);
    assert_int_equal(fake_log_count_prefix(&f->world, "current:"), 0);
}

/* An id still in the flow whose record has another type is obsolete (CONTRACT
 * §2): its old incarnation (the record's type and params) is cleaned in
 * clean_obsolete, after the new one was ensured, and the id's stored entries
 * stay the new one's (nothing removed). */
static void test_an_item_of_another_type_now_is_obsolete(void **state)
{
    struct fixture *f = *state;
    static struct pc_item_type other;
    struct pc_err err;
    const char *obsolete[] = {"a"};

    setup_replace(f, true);
    other = fake_item_type;
    other.name = "fake_other";
    assert_int_equal(pc_registry_add(f->reg, &other, &err), 0);
    (void)snprintf(f->store.obsolete.v[0].type.s, sizeof(f->store.obsolete.v[0].type.s), "%s",
                   "fake_other");
    run_cmd(f, PC_CMD_ENSURE, PC_SYNC_BOTH, "finish_current", false);
    assert_int_equal(f->obs.outcome.kind, PC_OUTCOME_COMPLETE);
    assert_blocks(&f->obs.outcome, 6, 6);
    assert_int_equal(f->obs.outcome.blocks[5], PC_BLOCK_CLEAN_OBSOLETE);
    assert_ids(f->obs.outcome.items_obsolete, f->obs.outcome.n_items_obsolete, obsolete, 1);
    assert_int_equal(f->obs.outcome.n_items_replaced, 0);
    assert_int_equal(f->world.items[0].value, 1); /* the new a, made */
    assert_int_equal(f->world.items[3].value, 0); /* the old a, cleaned ... */
    assert_true(log_nth(&f->world, "apply:a", 0) < log_nth(&f->world, "apply:a", 1)); /* last */
    assert_int_equal(f->store.n_removed, 0);
    assert_int_equal(stored(f, PC_STATES_CURRENT, 0), 1);
    assert_int_equal(fake_log_count_prefix(&f->world, "apply:b"), 0); /* b is not replaced */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_replaces_blocking_items_and_their_dependents),
        cmocka_unit_test(test_plan_follows_deps_to_later_items),
        T(test_ensure_replaces_a_moved_item_and_its_dependents),
        T(test_no_replacement_without_a_change_that_needs_one),
        T(test_ensure_dry_and_diff_list_the_replacement_and_change_nothing),
        T(test_interrupt_inside_clean_replaced_lists_exactly),
        T(test_interrupt_inside_ensure_replaced_lists_exactly),
        T(test_failed_clean_of_the_old_incarnation_stops_the_replacement),
        T(test_stored_item_check_refuses_before_anything_runs),
        T(test_an_item_of_another_type_now_is_obsolete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
