/*
 * test_worker_parts.c - sharing a worker's free slots among its queue's
 * partitions (worker/parts.h): never more than the free slots in flight,
 * every partition served in turn, short blocks while some wait.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "worker/parts.h"

#define P 6

static void ready_all(struct wk_part_state *st, unsigned n)
{
    memset(st, 0, sizeof(*st) * n);
    for (unsigned i = 0; i < n; i++) {
        st[i].can_read = true;
    }
}

static unsigned sum(const unsigned *g, unsigned n)
{
    unsigned s = 0;

    for (unsigned i = 0; i < n; i++) {
        s += g[i];
    }
    return s;
}

static void enough_slots_cover_every_partition(void **state)
{
    struct wk_part_state st[P];
    unsigned grant[P];
    unsigned cursor = 0;
    bool all = false;

    (void)state;
    ready_all(st, P);
    assert_int_equal(wk_read_plan(P, st, 32, &cursor, grant, &all), P);
    assert_true(all);
    assert_int_equal(sum(grant, P), 32);
    for (unsigned i = 0; i < P; i++) {
        assert_true(grant[i] == 5 || grant[i] == 6);
    }
    assert_int_equal(wk_read_block_ms(all, 2000), 2000);
}

static void reads_in_flight_hold_their_slots(void **state)
{
    struct wk_part_state st[P];
    unsigned grant[P];
    unsigned cursor = 0;
    bool all = false;

    (void)state;
    ready_all(st, P);
    st[0].reading = true;
    st[0].held = 4;
    st[3].reading = true;
    st[3].held = 2;
    /* 8 free, 6 held: 2 left for four idle partitions. */
    assert_int_equal(wk_read_plan(P, st, 8, &cursor, grant, &all), 2);
    assert_false(all);
    assert_int_equal(grant[0], 0);
    assert_int_equal(grant[3], 0);
    assert_int_equal(sum(grant, P), 2);
    assert_int_equal(wk_read_block_ms(all, 2000), WK_READ_TURN_MS);
    /* Nothing left: nothing granted. */
    assert_int_equal(wk_read_plan(P, st, 6, &cursor, grant, &all), 0);
    assert_int_equal(sum(grant, P), 0);
    assert_int_equal(wk_read_plan(P, st, 3, &cursor, grant, &all), 0);
}

/* One free slot and six partitions: each partition gets its turn within six plans. */
static void partitions_take_turns_when_slots_are_few(void **state)
{
    struct wk_part_state st[P];
    unsigned grant[P];
    unsigned cursor = 0;
    unsigned served[P] = {0};
    bool all = true;

    (void)state;
    ready_all(st, P);
    for (unsigned round = 0; round < 2 * P; round++) {
        assert_int_equal(wk_read_plan(P, st, 1, &cursor, grant, &all), 1);
        assert_false(all);
        assert_int_equal(sum(grant, P), 1);
        for (unsigned i = 0; i < P; i++) {
            served[i] += grant[i];
        }
    }
    for (unsigned i = 0; i < P; i++) {
        assert_int_equal(served[i], 2);
    }
}

static void partitions_that_cannot_read_are_skipped(void **state)
{
    struct wk_part_state st[P];
    unsigned grant[P];
    unsigned cursor = 5;
    bool all = false;

    (void)state;
    ready_all(st, P);
    st[1].can_read = false;
    st[4].can_read = false;
    assert_int_equal(wk_read_plan(P, st, 4, &cursor, grant, &all), 4);
    assert_true(all);
    assert_int_equal(grant[1], 0);
    assert_int_equal(grant[4], 0);
    assert_int_equal(sum(grant, P), 4);
    /* One partition (the old single stream) reads with all free slots. */
    ready_all(st, 1);
    cursor = 0;
    assert_int_equal(wk_read_plan(1, st, 7, &cursor, grant, &all), 1);
    assert_int_equal(grant[0], 7);
    assert_true(all);
    assert_int_equal(wk_read_plan(1, st, 0, &cursor, grant, &all), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(enough_slots_cover_every_partition),
        cmocka_unit_test(reads_in_flight_hold_their_slots),
        cmocka_unit_test(partitions_take_turns_when_slots_are_few),
        cmocka_unit_test(partitions_that_cannot_read_are_skipped),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
