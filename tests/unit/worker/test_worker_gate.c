/*
 * test_worker_gate.c - the per-execution executor gate (worker/gate.h) over
 * a fake executor that runs tasks when the test says so: completions pass
 * while open, are held (in order) while closed, are delivered on open or
 * refuse; a refusing gate refuses every later submit, also those made from
 * a delivered completion; an inner refusal is passed on.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <string.h>

#include "worker/gate.h"

/* The fake inner executor: keeps submitted tasks until fake_finish. */
struct fake {
    struct pc_task *q[16];
    size_t n;
    int refuse; /* submit's return value when non-zero */
};

static int fake_submit(void *ctx, struct pc_task *t)
{
    struct fake *f = ctx;

    if (f->refuse != 0) {
        return f->refuse;
    }
    assert_true(f->n < 16);
    f->q[f->n++] = t;
    return 0;
}

static const struct pc_executor_ops fake_ops = {.submit = fake_submit};

/* Runs and completes the oldest queued task. */
static void fake_finish(struct fake *f)
{
    struct pc_task *t = NULL;

    assert_true(f->n > 0);
    t = f->q[0];
    memmove(f->q, f->q + 1, (f->n - 1) * sizeof(f->q[0]));
    f->n--;
    t->run(t);
    t->done(t);
}

/* A task of the engine: records its run and completion. */
struct rec_task {
    struct pc_task base;
    int id;
    bool ran;
    int *order; /* completion order */
    size_t *n_order;
    struct wk_gate *g;
    int submit_on_done; /* what a completion's re-submit returned (-1 = none) */
    struct rec_task *resubmit;
};

static void rec_run(struct pc_task *t)
{
    ((struct rec_task *)(void *)t)->ran = true;
}

static void rec_done(struct pc_task *t)
{
    struct rec_task *r = (struct rec_task *)(void *)t;

    r->order[(*r->n_order)++] = r->id;
    if (r->resubmit != NULL) {
        struct pc_executor e = wk_gate_executor(r->g);

        r->submit_on_done = e.ops->submit(e.ctx, &r->resubmit->base);
    }
}

static void rec_init(struct rec_task *r, int id, int *order, size_t *n, struct wk_gate *g)
{
    memset(r, 0, sizeof(*r));
    r->base.run = rec_run;
    r->base.done = rec_done;
    r->id = id;
    r->order = order;
    r->n_order = n;
    r->g = g;
    r->submit_on_done = -1;
}

static struct wk_gate *make_gate(struct fake *f)
{
    struct pc_executor inner = {&fake_ops, f};
    struct wk_gate *g = NULL;

    memset(f, 0, sizeof(*f));
    assert_int_equal(wk_gate_create(inner, &g), 0);
    return g;
}

static int submit(struct wk_gate *g, struct rec_task *r)
{
    struct pc_executor e = wk_gate_executor(g);

    return e.ops->submit(e.ctx, &r->base);
}

static void open_gate_passes_completions_through(void **state)
{
    struct fake f;
    struct wk_gate *g = make_gate(&f);
    struct rec_task a;
    int order[4];
    size_t n = 0;

    (void)state;
    rec_init(&a, 1, order, &n, g);
    assert_int_equal(submit(g, &a), 0);
    assert_int_equal(wk_gate_in_flight(g), 1);
    fake_finish(&f);
    assert_true(a.ran);
    assert_int_equal(n, 1);
    assert_int_equal(wk_gate_in_flight(g), 0);
    wk_gate_destroy(g);
}

static void closed_gate_holds_completions_in_order_until_open(void **state)
{
    struct fake f;
    struct wk_gate *g = make_gate(&f);
    struct rec_task a, b, c;
    int order[4];
    size_t n = 0;

    (void)state;
    rec_init(&a, 1, order, &n, g);
    rec_init(&b, 2, order, &n, g);
    rec_init(&c, 3, order, &n, g);
    wk_gate_close(g);
    assert_int_equal(submit(g, &a), 0);
    assert_int_equal(submit(g, &b), 0);
    fake_finish(&f);
    fake_finish(&f);
    assert_true(a.ran && b.ran); /* tasks run: only completions wait */
    assert_int_equal(n, 0);
    assert_int_equal(wk_gate_held(g), 2);
    assert_int_equal(wk_gate_in_flight(g), 2);
    wk_gate_open(g);
    assert_int_equal(n, 0); /* delivered by release, from the loop */
    wk_gate_release(g);
    assert_int_equal(n, 2);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    assert_int_equal(wk_gate_held(g), 0);
    assert_int_equal(submit(g, &c), 0);
    fake_finish(&f);
    assert_int_equal(n, 3);
    assert_int_equal(wk_gate_in_flight(g), 0);
    wk_gate_destroy(g);
}

static void refusing_delivers_held_and_refuses_later_submits(void **state)
{
    struct fake f;
    struct wk_gate *g = make_gate(&f);
    struct rec_task prepare, apply, other;
    int order[4];
    size_t n = 0;

    (void)state;
    rec_init(&prepare, 1, order, &n, g);
    rec_init(&apply, 2, order, &n, g);
    rec_init(&other, 3, order, &n, g);
    prepare.resubmit = &apply; /* the apply is submitted from the check's completion */
    wk_gate_close(g);
    assert_int_equal(submit(g, &prepare), 0);
    fake_finish(&f);
    assert_int_equal(n, 0);
    wk_gate_refuse(g);
    assert_true(wk_gate_refusing(g));
    assert_int_equal(n, 0);
    wk_gate_release(g);
    assert_int_equal(n, 1);
    assert_int_equal(prepare.submit_on_done, PC_EREDIS);
    assert_false(apply.ran);
    assert_int_equal(f.n, 0);
    assert_int_equal(submit(g, &other), PC_EREDIS);
    wk_gate_open(g); /* final: stays refusing */
    assert_true(wk_gate_refusing(g));
    assert_int_equal(wk_gate_in_flight(g), 0);
    wk_gate_destroy(g);
}

static void completion_resubmitting_through_an_open_gate_runs(void **state)
{
    struct fake f;
    struct wk_gate *g = make_gate(&f);
    struct rec_task prepare, apply;
    int order[4];
    size_t n = 0;

    (void)state;
    rec_init(&prepare, 1, order, &n, g);
    rec_init(&apply, 2, order, &n, g);
    prepare.resubmit = &apply;
    wk_gate_close(g);
    assert_int_equal(submit(g, &prepare), 0);
    fake_finish(&f);
    wk_gate_open(g);
    wk_gate_release(g);
    assert_int_equal(prepare.submit_on_done, 0);
    fake_finish(&f);
    assert_true(apply.ran);
    assert_int_equal(n, 2);
    wk_gate_destroy(g);
}

static void inner_refusal_is_passed_on(void **state)
{
    struct fake f;
    struct wk_gate *g = make_gate(&f);
    struct rec_task a;
    int order[2];
    size_t n = 0;

    (void)state;
    rec_init(&a, 1, order, &n, g);
    f.refuse = PC_EINTERNAL;
    assert_int_equal(submit(g, &a), PC_EINTERNAL);
    assert_int_equal(wk_gate_in_flight(g), 0);
    wk_gate_destroy(g);
    wk_gate_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_gate_passes_completions_through),
        cmocka_unit_test(closed_gate_holds_completions_in_order_until_open),
        cmocka_unit_test(refusing_delivers_held_and_refuses_later_submits),
        cmocka_unit_test(completion_resubmitting_through_an_open_gate_runs),
        cmocka_unit_test(inner_refusal_is_passed_on),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
