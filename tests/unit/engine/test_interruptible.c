/*
 * test_interruptible.c - the interrupt latch against the interruptible crate
 * 0.2.4's own tests (src/interruptibility_state.rs and
 * src/interruptible_stream_ext.rs), each test named after its upstream test.
 *
 * The stream tests drive the latch the way exec.c's ready queue does (and
 * the crate's InterruptibleStream does): one counting poll when the stream
 * is asked for its next element; when the element is not there yet
 * ("pending") a waiting poll when it arrives; an element taken at a poll that
 * says interrupted is dropped. The engine-level equivalents (the poll points
 * inside real blocks) are the peace workspace_tests ports in test_exec.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "peace/interrupt.h"

enum next_kind {
    NEXT_ITEM,        /* PollOutcome::NoInterrupt(elem) */
    NEXT_INTERRUPTED, /* PollOutcome::Interrupted(..): the element, if any, is dropped */
    NEXT_END,         /* None */
};

struct stream_sim {
    struct pc_latch latch;
    bool notified; /* interrupted once: the stream is over */
    int n_elems;   /* the underlying stream yields 0..n_elems-1 */
    int next_elem;
    uint64_t activations;
};

static void sim_init(struct stream_sim *s, enum pc_strategy_kind kind, uint64_t n, int n_elems)
{
    struct pc_strategy st = {kind, n};

    memset(s, 0, sizeof(*s));
    pc_latch_init(&s->latch, &st);
    s->n_elems = n_elems;
}

static bool sim_poll(struct stream_sim *s, bool counting)
{
    bool first = false;
    bool r = counting ? pc_latch_poll(&s->latch, &first) : pc_latch_poll_waiting(&s->latch, &first);

    if (first) {
        s->activations++;
    }
    return r;
}

/*
 * One next(). signal_while_pending: the underlying element is not ready at
 * the first poll, and the signal arrives before it is.
 */
static enum next_kind sim_next(struct stream_sim *s, bool signal_while_pending, int *elem)
{
    bool interrupted;

    if (s->notified) {
        return NEXT_END;
    }
    interrupted = sim_poll(s, true);
    if (!interrupted && signal_while_pending) {
        pc_latch_signal(&s->latch);
        interrupted = sim_poll(s, false);
    }
    if (interrupted) {
        s->notified = true;
        if (signal_while_pending && s->next_elem < s->n_elems) {
            s->next_elem++; /* Interrupted(Some(elem)): taken from the stream, dropped */
        }
        return NEXT_INTERRUPTED;
    }
    if (s->next_elem >= s->n_elems) {
        return NEXT_END;
    }
    *elem = s->next_elem++;
    return NEXT_ITEM;
}

static void expect_items(struct stream_sim *s, int from, int to)
{
    for (int i = from; i < to; i++) {
        int elem = -1;

        assert_int_equal(sim_next(s, false, &elem), NEXT_ITEM);
        assert_int_equal(elem, i);
    }
}

/* ---- interruptibility_state.rs ----------------------------------------- */

static void is_interrupted_returns_false_when_not_interrupted(void **state)
{
    static const enum pc_strategy_kind kinds[] = {PC_STRATEGY_IGNORE, PC_STRATEGY_FINISH_CURRENT,
                                                  PC_STRATEGY_POLL_NEXT_N};
    (void)state;
    for (size_t k = 0; k < 3; k++) {
        struct pc_strategy st = {kinds[k], 2};
        struct pc_latch l;

        pc_latch_init(&l, &st);
        assert_false(pc_latch_poll(&l, NULL));
        assert_false(pc_latch_poll_waiting(&l, NULL));
        assert_false(l.signal_latched);
    }
}

static void is_interrupted_returns_true_when_interrupt_activated(void **state)
{
    struct pc_strategy ignore = {PC_STRATEGY_IGNORE, 0};
    struct pc_strategy finish = {PC_STRATEGY_FINISH_CURRENT, 0};
    struct pc_strategy next2 = {PC_STRATEGY_POLL_NEXT_N, 2};
    struct pc_latch l;

    (void)state;
    pc_latch_init(&l, &ignore);
    pc_latch_signal(&l);
    assert_false(pc_latch_poll(&l, NULL));

    pc_latch_init(&l, &finish);
    pc_latch_signal(&l);
    assert_true(pc_latch_poll(&l, NULL));

    /* The first poll is not counted, since poll_next_n wants n more items. */
    pc_latch_init(&l, &next2);
    pc_latch_signal(&l);
    assert_false(pc_latch_poll(&l, NULL));
    assert_false(pc_latch_poll(&l, NULL));
    assert_true(pc_latch_poll(&l, NULL));

    /* Waiting polls never count. */
    pc_latch_init(&l, &next2);
    pc_latch_signal(&l);
    assert_false(pc_latch_poll(&l, NULL));
    assert_false(pc_latch_poll_waiting(&l, NULL));
    assert_false(pc_latch_poll_waiting(&l, NULL));
    assert_false(pc_latch_poll(&l, NULL));
    assert_true(pc_latch_poll(&l, NULL));
}

static void set_fn_interrupt_activate_runs_when_interrupt_activated(void **state)
{
    struct pc_strategy ignore = {PC_STRATEGY_IGNORE, 0};
    struct pc_strategy finish = {PC_STRATEGY_FINISH_CURRENT, 0};
    struct pc_strategy next2 = {PC_STRATEGY_POLL_NEXT_N, 2};
    struct pc_latch l;
    bool first = false;

    (void)state;
    pc_latch_init(&l, &ignore);
    pc_latch_signal(&l);
    assert_false(pc_latch_poll(&l, &first));
    assert_false(first);

    pc_latch_init(&l, &finish);
    pc_latch_signal(&l);
    assert_true(pc_latch_poll(&l, &first));
    assert_true(first);

    pc_latch_init(&l, &next2);
    pc_latch_signal(&l);
    assert_false(pc_latch_poll(&l, &first));
    assert_false(pc_latch_poll(&l, &first));
    assert_false(first);
    assert_true(pc_latch_poll(&l, &first));
    assert_true(first);

    pc_latch_init(&l, &next2);
    pc_latch_signal(&l);
    assert_false(pc_latch_poll(&l, &first));
    assert_false(first);
    assert_false(pc_latch_poll_waiting(&l, &first));
    assert_false(first);
    assert_false(pc_latch_poll(&l, &first));
    assert_false(first);
    assert_false(pc_latch_poll_waiting(&l, &first));
    assert_false(first);
    assert_true(pc_latch_poll(&l, &first));
    assert_true(first);
    /* Activation is reported once; later polls still say interrupted. */
    assert_true(pc_latch_poll(&l, &first));
    assert_false(first);
}

/* ---- interruptible_stream_ext.rs --------------------------------------- */

static void interrupt_during_future_overrides_stream_return_value(void **state)
{
    struct stream_sim s;
    int elem = -1;

    (void)state;
    /* `.interruptible(rx)` uses the default strategy, FinishCurrent. */
    sim_init(&s, PC_STRATEGY_FINISH_CURRENT, 0, 3);
    assert_int_equal(sim_next(&s, true, &elem), NEXT_INTERRUPTED);
    assert_int_equal(s.next_elem, 1); /* Interrupted(Some(0)) */
    assert_int_equal(sim_next(&s, false, &elem), NEXT_END);
}

static void interrupt_with_finish_current_before_start_returns_interrupt_before_poll(void **state)
{
    struct stream_sim s;
    int elem = -1;

    (void)state;
    sim_init(&s, PC_STRATEGY_FINISH_CURRENT, 0, 3);
    pc_latch_signal(&s.latch);
    assert_int_equal(sim_next(&s, false, &elem), NEXT_INTERRUPTED);
    assert_int_equal(s.next_elem, 0); /* Interrupted(None) */
    assert_int_equal(sim_next(&s, false, &elem), NEXT_END);
}

static void interrupt_with_finish_current_during_future_overrides_stream_return_value(void **state)
{
    struct stream_sim s;
    int elem = -1;

    (void)state;
    sim_init(&s, PC_STRATEGY_FINISH_CURRENT, 0, 3);
    assert_int_equal(sim_next(&s, true, &elem), NEXT_INTERRUPTED);
    assert_int_equal(s.next_elem, 1);
    assert_int_equal(s.activations, 1);
}

static void poll_next_n_before(uint64_t n, int n_elems, int expect)
{
    struct stream_sim s;
    int elem = -1;

    sim_init(&s, PC_STRATEGY_POLL_NEXT_N, n, n_elems);
    pc_latch_signal(&s.latch);
    expect_items(&s, 0, expect);
    assert_int_equal(sim_next(&s, false, &elem), NEXT_INTERRUPTED);
    assert_int_equal(sim_next(&s, false, &elem), NEXT_END);
}

static void interrupt_with_poll_next_n_before_start_returns_n_items(void **state)
{
    (void)state;
    poll_next_n_before(2, 3, 2);
}

static void interrupt_with_poll_next_n_returns_n_items_variant_interrupt_before_0(void **state)
{
    (void)state;
    poll_next_n_before(0, 3, 0);
}

static void interrupt_with_poll_next_n_returns_n_items_variant_interrupt_before_1(void **state)
{
    (void)state;
    poll_next_n_before(1, 3, 1);
}

static void interrupt_with_poll_next_n_returns_n_items_variant_interrupt_before_2(void **state)
{
    (void)state;
    poll_next_n_before(2, 10, 2);
}

static void interrupt_with_poll_next_n_returns_n_items_variant_interrupt_before_2b(void **state)
{
    struct stream_sim s;
    int elem = -1;

    (void)state;
    /* Upstream: the first two elements yield a few times before they are
     * ready; a slot's count is taken once, at its first poll, so the result
     * is the same as variant 2. */
    sim_init(&s, PC_STRATEGY_POLL_NEXT_N, 2, 10);
    pc_latch_signal(&s.latch);
    for (int i = 0; i < 2; i++) {
        assert_false(sim_poll(&s, true)); /* the slot's first (counting) poll */
        assert_false(sim_poll(&s, false));
        assert_false(sim_poll(&s, false));
        s.next_elem++;
    }
    assert_int_equal(sim_next(&s, false, &elem), NEXT_INTERRUPTED);
    assert_int_equal(sim_next(&s, false, &elem), NEXT_END);
}

static void interrupt_with_poll_next_n_returns_n_items_variant_interrupt_before_3(void **state)
{
    (void)state;
    poll_next_n_before(3, 10, 3);
}

static void interrupt_with_poll_next_n_returns_n_items_variant_interrupt_before_6(void **state)
{
    (void)state;
    poll_next_n_before(6, 10, 6);
}

static void interrupt_with_poll_next_n_returns_n_items_variant_interrupt_between_0(void **state)
{
    struct stream_sim s;
    int elem = -1;

    (void)state;
    sim_init(&s, PC_STRATEGY_POLL_NEXT_N, 0, 3);
    /* The signal arrives while element 0 is pending: Interrupted(Some(0)). */
    assert_int_equal(sim_next(&s, true, &elem), NEXT_INTERRUPTED);
    assert_int_equal(s.next_elem, 1);
    assert_int_equal(sim_next(&s, false, &elem), NEXT_END);
}

static void interrupt_with_poll_next_n_returns_n_items_variant_interrupt_between_1(void **state)
{
    struct stream_sim s;
    int elem = -1;

    (void)state;
    sim_init(&s, PC_STRATEGY_POLL_NEXT_N, 1, 3);
    expect_items(&s, 0, 1);
    /* The signal arrives while element 1 is pending: the waiting poll that
     * observes it does not count, so element 1 is still yielded. */
    assert_int_equal(sim_next(&s, true, &elem), NEXT_ITEM);
    assert_int_equal(elem, 1);
    assert_int_equal(sim_next(&s, false, &elem), NEXT_INTERRUPTED);
    assert_int_equal(sim_next(&s, false, &elem), NEXT_END);
}

static void interrupt_with_poll_next_n_returns_n_items_variant_interrupt_between_2(void **state)
{
    struct stream_sim s;
    int elem = -1;

    (void)state;
    sim_init(&s, PC_STRATEGY_POLL_NEXT_N, 2, 10);
    expect_items(&s, 0, 2);
    assert_int_equal(sim_next(&s, true, &elem), NEXT_ITEM);
    assert_int_equal(elem, 2);
    expect_items(&s, 3, 4); /* uses 1 of PollNextN(2) */
    assert_int_equal(sim_next(&s, false, &elem), NEXT_INTERRUPTED);
    assert_int_equal(sim_next(&s, false, &elem), NEXT_END);
}

static void interrupt_with_poll_next_n_returns_no_interrupt_when_not_interrupted(void **state)
{
    struct stream_sim s;
    int elem = -1;

    (void)state;
    sim_init(&s, PC_STRATEGY_POLL_NEXT_N, 1, 3);
    expect_items(&s, 0, 3);
    assert_int_equal(sim_next(&s, false, &elem), NEXT_END);
    assert_int_equal(s.activations, 0);
}

static void interrupt_after_stream_completes_does_not_override_value(void **state)
{
    struct stream_sim s;
    int elem = -1;

    (void)state;
    sim_init(&s, PC_STRATEGY_FINISH_CURRENT, 0, 3);
    assert_int_equal(sim_next(&s, false, &elem), NEXT_ITEM);
    pc_latch_signal(&s.latch);
    assert_int_equal(elem, 0);
    assert_int_equal(s.activations, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(is_interrupted_returns_false_when_not_interrupted),
        cmocka_unit_test(is_interrupted_returns_true_when_interrupt_activated),
        cmocka_unit_test(set_fn_interrupt_activate_runs_when_interrupt_activated),
        cmocka_unit_test(interrupt_during_future_overrides_stream_return_value),
        cmocka_unit_test(interrupt_with_finish_current_before_start_returns_interrupt_before_poll),
        cmocka_unit_test(interrupt_with_finish_current_during_future_overrides_stream_return_value),
        cmocka_unit_test(interrupt_with_poll_next_n_before_start_returns_n_items),
        cmocka_unit_test(interrupt_with_poll_next_n_returns_n_items_variant_interrupt_before_0),
        cmocka_unit_test(interrupt_with_poll_next_n_returns_n_items_variant_interrupt_before_1),
        cmocka_unit_test(interrupt_with_poll_next_n_returns_n_items_variant_interrupt_before_2),
        cmocka_unit_test(interrupt_with_poll_next_n_returns_n_items_variant_interrupt_before_2b),
        cmocka_unit_test(interrupt_with_poll_next_n_returns_n_items_variant_interrupt_before_3),
        cmocka_unit_test(interrupt_with_poll_next_n_returns_n_items_variant_interrupt_before_6),
        cmocka_unit_test(interrupt_with_poll_next_n_returns_n_items_variant_interrupt_between_0),
        cmocka_unit_test(interrupt_with_poll_next_n_returns_n_items_variant_interrupt_between_1),
        cmocka_unit_test(interrupt_with_poll_next_n_returns_n_items_variant_interrupt_between_2),
        cmocka_unit_test(interrupt_with_poll_next_n_returns_no_interrupt_when_not_interrupted),
        cmocka_unit_test(interrupt_after_stream_completes_does_not_override_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
