/*
 * test_pool.c - the thread pool executor: every task runs once on a pool
 * thread and completes once on the loop thread, in completion order; done
 * callbacks may submit more work; destroy drops queued work; a burst of
 * blocking tasks gets a thread each, however the pool woke its threads before.
 *
 * The loop runs on the test's own thread with event_base_dispatch, which
 * returns once nothing is pending (the pool's wake event is only added while
 * tasks are in flight). Waits between threads use deadlines that fail the
 * test, never sleeps.
 *
 * pthread_join is wrapped (-Wl,--wrap): pc_pool_destroy joins its threads
 * only after it has told them to stop, so the wrapper is the one moment at
 * which a test can release a running task knowing that the queued ones must
 * not start any more.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "peace/pool.h"

#define WAIT_DEADLINE_S 30

/* ---- a gate: a latch threads wait on, with a deadline that fails the test */

struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned count; /* arrivals */
    bool open;
};

static void gate_init(struct gate *g)
{
    memset(g, 0, sizeof(*g));
    assert_int_equal(pthread_mutex_init(&g->lock, NULL), 0);
    assert_int_equal(pthread_cond_init(&g->cond, NULL), 0);
}

static void gate_cleanup(struct gate *g)
{
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->lock);
}

static struct timespec deadline(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += WAIT_DEADLINE_S;
    return ts;
}

/* Counts one arrival and wakes waiters. */
static void gate_arrive(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->count++;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

/* Waits until count >= n; false on the deadline. Safe on any thread. */
static bool gate_wait_count(struct gate *g, unsigned n)
{
    struct timespec until = deadline();
    int rc = 0;

    pthread_mutex_lock(&g->lock);
    while (g->count < n && rc != ETIMEDOUT) {
        rc = pthread_cond_timedwait(&g->cond, &g->lock, &until);
    }
    bool reached = g->count >= n;
    pthread_mutex_unlock(&g->lock);
    return reached;
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = true;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

static bool gate_wait_open(struct gate *g)
{
    struct timespec until = deadline();
    int rc = 0;

    pthread_mutex_lock(&g->lock);
    while (!g->open && rc != ETIMEDOUT) {
        rc = pthread_cond_timedwait(&g->cond, &g->lock, &until);
    }
    bool opened = g->open;
    pthread_mutex_unlock(&g->lock);
    return opened;
}

/* ---- the pthread_join wrapper (see the file comment) */

/* The linker's --wrap names are reserved identifiers by necessity. */
int __real_pthread_join(pthread_t thread, void **retval); /* NOLINT(bugprone-reserved-identifier) */
int __wrap_pthread_join(pthread_t thread, void **retval); /* NOLINT(bugprone-reserved-identifier) */

/* The gate to open when the pool joins its threads. Test-only global: a
 * linker wrapper has no other way to reach the test. */
static struct gate *open_on_join;

int __wrap_pthread_join(pthread_t thread, void **retval)
{
    if (open_on_join != NULL) {
        gate_open(open_on_join);
    }
    return __real_pthread_join(thread, retval);
}

/* ---- a test task and its fixture */

struct fixture;

struct test_task {
    struct pc_task task; /* first: the pool hands back this pointer */
    struct fixture *fx;
    size_t index;
    atomic_uint runs;
    unsigned dones;
    bool run_on_loop_thread;
    bool done_off_loop_thread;
};

struct fixture {
    struct event_base *base;
    struct pc_pool *pool;
    struct pc_executor ex;
    pthread_t loop_thread;

    struct test_task *tasks;
    size_t n_tasks;

    size_t *done_order; /* indices in done order */
    size_t n_done;

    /* Optional behaviour of the tasks. */
    struct gate *run_gate;      /* run arrives, then waits until open */
    unsigned resubmit_until;    /* done resubmits until dones reaches it */
    bool destroy_in_first_done; /* done destroys the pool, then submits */
    int submit_after_destroy_rc;
    unsigned long pending_seen_in_done[64];
};

static void task_run(struct pc_task *t)
{
    struct test_task *tt = (struct test_task *)t;

    if (pthread_equal(pthread_self(), tt->fx->loop_thread)) {
        tt->run_on_loop_thread = true;
    }
    atomic_fetch_add(&tt->runs, 1);
    if (tt->fx->run_gate != NULL) {
        gate_arrive(tt->fx->run_gate);
        (void)gate_wait_open(tt->fx->run_gate);
    }
}

static void task_done(struct pc_task *t)
{
    struct test_task *tt = (struct test_task *)t;
    struct fixture *fx = tt->fx;

    if (!pthread_equal(pthread_self(), fx->loop_thread)) {
        tt->done_off_loop_thread = true;
    }
    tt->dones++;
    if (fx->n_done < 64) {
        fx->pending_seen_in_done[fx->n_done] = pc_pool_pending(fx->pool);
    }
    fx->done_order[fx->n_done++] = tt->index;

    if (fx->destroy_in_first_done) {
        fx->destroy_in_first_done = false;
        pc_pool_destroy(fx->pool);
        fx->submit_after_destroy_rc = fx->ex.ops->submit(fx->ex.ctx, &fx->tasks[1].task);
        fx->pool = NULL;
        return;
    }
    if (tt->dones < fx->resubmit_until) {
        assert_int_equal(fx->ex.ops->submit(fx->ex.ctx, t), 0);
    }
}

static void fixture_init(struct fixture *fx, unsigned nthreads, size_t n_tasks, size_t max_dones)
{
    memset(fx, 0, sizeof(*fx));
    fx->base = event_base_new();
    assert_non_null(fx->base);
    assert_int_equal(pc_pool_create(fx->base, nthreads, &fx->pool, NULL), 0);
    fx->ex = pc_pool_executor(fx->pool);
    fx->loop_thread = pthread_self();
    fx->tasks = calloc(n_tasks, sizeof(*fx->tasks));
    fx->done_order = calloc(max_dones, sizeof(*fx->done_order));
    assert_non_null(fx->tasks);
    assert_non_null(fx->done_order);
    fx->n_tasks = n_tasks;
    for (size_t i = 0; i < n_tasks; i++) {
        fx->tasks[i].task.run = task_run;
        fx->tasks[i].task.done = task_done;
        fx->tasks[i].fx = fx;
        fx->tasks[i].index = i;
        atomic_init(&fx->tasks[i].runs, 0);
    }
}

static void fixture_cleanup(struct fixture *fx)
{
    pc_pool_destroy(fx->pool);
    event_base_free(fx->base);
    free(fx->tasks);
    free(fx->done_order);
}

static void submit_all(struct fixture *fx)
{
    for (size_t i = 0; i < fx->n_tasks; i++) {
        assert_int_equal(fx->ex.ops->submit(fx->ex.ctx, &fx->tasks[i].task), 0);
    }
}

/* Runs the loop until nothing is pending (1: no events left). */
static void run_loop(struct fixture *fx)
{
    assert_int_equal(event_base_dispatch(fx->base), 1);
}

/* ---- tests */

static void test_many_tasks_each_run_once_off_loop_and_complete_once_on_loop(void **state)
{
    struct fixture fx;
    const size_t n = 2000;

    (void)state;
    fixture_init(&fx, 4, n, n);
    submit_all(&fx);
    assert_int_equal(pc_pool_pending(fx.pool), n);

    run_loop(&fx);

    assert_int_equal(fx.n_done, n);
    assert_int_equal(pc_pool_pending(fx.pool), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(atomic_load(&fx.tasks[i].runs), 1);
        assert_int_equal(fx.tasks[i].dones, 1);
        assert_false(fx.tasks[i].run_on_loop_thread);
        assert_false(fx.tasks[i].done_off_loop_thread);
    }
    fixture_cleanup(&fx);
}

static void test_tasks_run_in_parallel_on_every_thread(void **state)
{
    struct fixture fx;
    struct gate all_running;
    const unsigned nthreads = 4;

    (void)state;
    gate_init(&all_running);
    fixture_init(&fx, nthreads, nthreads, nthreads);
    fx.run_gate = &all_running;
    submit_all(&fx);

    /* Each run blocks until the gate opens: all of them arriving proves
     * nthreads tasks are running at once. */
    assert_true(gate_wait_count(&all_running, nthreads));
    gate_open(&all_running);
    run_loop(&fx);
    assert_int_equal(fx.n_done, nthreads);

    fixture_cleanup(&fx);
    gate_cleanup(&all_running);
}

static void test_blocking_tasks_get_every_thread_after_a_burst_of_short_ones(void **state)
{
    struct fixture fx;
    struct gate all_running;
    const unsigned nthreads = 8;
    const size_t n_short = 500;

    (void)state;
    gate_init(&all_running);
    fixture_init(&fx, nthreads, n_short, n_short + nthreads);
    submit_all(&fx);
    run_loop(&fx);
    assert_int_equal(fx.n_done, n_short);

    /* Then blocking tasks in two bursts, the second while the first runs:
     * every one must still get a thread of its own. */
    fx.run_gate = &all_running;
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(fx.ex.ops->submit(fx.ex.ctx, &fx.tasks[i].task), 0);
    }
    assert_true(gate_wait_count(&all_running, 2));
    for (size_t i = 2; i < nthreads; i++) {
        assert_int_equal(fx.ex.ops->submit(fx.ex.ctx, &fx.tasks[i].task), 0);
    }
    assert_true(gate_wait_count(&all_running, nthreads));
    gate_open(&all_running);
    run_loop(&fx);
    assert_int_equal(fx.n_done, n_short + nthreads);

    fixture_cleanup(&fx);
    gate_cleanup(&all_running);
}

static void test_one_thread_completes_in_submission_order(void **state)
{
    struct fixture fx;
    const size_t n = 50;

    (void)state;
    fixture_init(&fx, 1, n, n);
    submit_all(&fx);
    run_loop(&fx);

    assert_int_equal(fx.n_done, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(fx.done_order[i], i);
    }
    fixture_cleanup(&fx);
}

static void test_done_callback_can_submit_more_work(void **state)
{
    struct fixture fx;
    const unsigned rounds = 100;

    (void)state;
    fixture_init(&fx, 2, 3, (size_t)3 * rounds);
    fx.resubmit_until = rounds;
    submit_all(&fx);
    run_loop(&fx);

    assert_int_equal(fx.n_done, 3 * rounds);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(atomic_load(&fx.tasks[i].runs), rounds);
        assert_int_equal(fx.tasks[i].dones, rounds);
    }
    assert_int_equal(pc_pool_pending(fx.pool), 0);
    fixture_cleanup(&fx);
}

static void test_pending_counts_tasks_until_their_done_runs(void **state)
{
    struct fixture fx;
    const size_t n = 5;

    (void)state;
    fixture_init(&fx, 1, n, n);
    assert_int_equal(pc_pool_pending(fx.pool), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(fx.ex.ops->submit(fx.ex.ctx, &fx.tasks[i].task), 0);
        assert_int_equal(pc_pool_pending(fx.pool), i + 1);
    }
    run_loop(&fx);

    /* Inside the k-th done, that task no longer counts. */
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(fx.pending_seen_in_done[k], n - 1 - k);
    }
    assert_int_equal(pc_pool_pending(fx.pool), 0);
    fixture_cleanup(&fx);
}

static void test_destroy_with_work_queued_finishes_running_and_drops_queued(void **state)
{
    struct fixture fx;
    struct gate running;
    const size_t n = 10;

    (void)state;
    gate_init(&running);
    fixture_init(&fx, 1, n, n);
    fx.run_gate = &running;
    submit_all(&fx);
    assert_true(gate_wait_count(&running, 1));
    assert_int_equal(pc_pool_pending(fx.pool), n);

    /* The running task is released only once destroy joins, i.e. after it
     * told the thread to stop: none of the queued tasks may start. */
    open_on_join = &running;
    pc_pool_destroy(fx.pool);
    open_on_join = NULL;
    fx.pool = NULL;

    assert_int_equal(atomic_load(&fx.tasks[0].runs), 1);
    for (size_t i = 1; i < n; i++) {
        assert_int_equal(atomic_load(&fx.tasks[i].runs), 0);
    }
    /* Nothing completes after destroy, and the loop has nothing left. */
    run_loop(&fx);
    assert_int_equal(fx.n_done, 0);

    fixture_cleanup(&fx);
    gate_cleanup(&running);
}

static void test_destroy_inside_done_is_deferred_and_refuses_new_work(void **state)
{
    struct fixture fx;

    (void)state;
    fixture_init(&fx, 1, 2, 2);
    fx.destroy_in_first_done = true;
    assert_int_equal(fx.ex.ops->submit(fx.ex.ctx, &fx.tasks[0].task), 0);
    run_loop(&fx);

    assert_int_equal(fx.n_done, 1);
    assert_int_equal(fx.submit_after_destroy_rc, -ECANCELED);
    assert_int_equal(atomic_load(&fx.tasks[1].runs), 0);
    /* fx.pool is NULL: the pool freed itself after the callback (ASan
     * reports a leak or a use after free otherwise). */
    fixture_cleanup(&fx);
}

static void noop_task(struct pc_task *t)
{
    (void)t;
}

static void test_submit_rejects_incomplete_task_without_counting_it(void **state)
{
    struct event_base *base = event_base_new();
    struct pc_pool *pool = NULL;
    struct pc_task no_run = {.run = NULL, .done = noop_task};
    struct pc_task no_done = {.run = noop_task, .done = NULL};

    (void)state;
    assert_non_null(base);
    assert_int_equal(pc_pool_create(base, 1, &pool, NULL), 0);
    struct pc_executor ex = pc_pool_executor(pool);
    assert_int_equal(ex.ops->submit(ex.ctx, NULL), PC_EINVAL);
    assert_int_equal(ex.ops->submit(ex.ctx, &no_run), PC_EINVAL);
    assert_int_equal(ex.ops->submit(ex.ctx, &no_done), PC_EINVAL);
    assert_int_equal(pc_pool_pending(pool), 0);
    /* Nothing in flight: the loop has nothing to wait for. */
    assert_int_equal(event_base_dispatch(base), 1);
    pc_pool_destroy(pool);
    event_base_free(base);
}

static void test_create_rejects_zero_threads_and_destroy_accepts_null(void **state)
{
    struct event_base *base = event_base_new();
    struct pc_pool *pool = NULL;
    struct pc_err err = {0};

    (void)state;
    assert_non_null(base);
    assert_int_equal(pc_pool_create(base, 0, &pool, &err), PC_EINVAL);
    assert_int_equal(err.code, PC_EINVAL);
    assert_null(pool);
    assert_int_equal(pc_pool_create(NULL, 1, &pool, NULL), PC_EINVAL);
    assert_null(pool);
    pc_pool_destroy(NULL);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_tasks_each_run_once_off_loop_and_complete_once_on_loop),
        cmocka_unit_test(test_tasks_run_in_parallel_on_every_thread),
        cmocka_unit_test(test_blocking_tasks_get_every_thread_after_a_burst_of_short_ones),
        cmocka_unit_test(test_one_thread_completes_in_submission_order),
        cmocka_unit_test(test_done_callback_can_submit_more_work),
        cmocka_unit_test(test_pending_counts_tasks_until_their_done_runs),
        cmocka_unit_test(test_destroy_with_work_queued_finishes_running_and_drops_queued),
        cmocka_unit_test(test_destroy_inside_done_is_deferred_and_refuses_new_work),
        cmocka_unit_test(test_submit_rejects_incomplete_task_without_counting_it),
        cmocka_unit_test(test_create_rejects_zero_threads_and_destroy_accepts_null),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
