/*
 * pool.c - a fixed thread pool executor bound to a libevent loop.
 *
 * Submitted tasks wait in a FIFO guarded by a mutex and a condition variable;
 * the pool's threads pop them and call task->run. A finished task is pushed
 * on a lock-free completion stack, and the thread whose push found the stack
 * empty writes to an eventfd, which the loop watches with a persistent
 * EV_READ event; the loop callback takes the whole stack at once, reverses
 * it and calls task->done for each, in completion order. Only the queue and
 * the completion stack cross threads, so libevent needs no thread support
 * (no evthread): every libevent call happens on the loop thread.
 *
 * The hand-off is where a pool of tiny tasks spends its time (futex and
 * eventfd system calls, lock contention), hence: submit signals the
 * condition variable after unlocking, so the woken thread does not block at
 * once on the mutex the submitter still holds; completions take no lock; and
 * one eventfd write covers every completion pushed before the loop takes the
 * stack, instead of one write (and one loop wake-up) per task.
 *
 * The wake event is added only while tasks are pending, so a loop with
 * nothing else to do returns from event_base_dispatch once every done
 * callback has run. For that reason submit, like everything except
 * task->run, belongs to the loop thread (the engine calls it there).
 *
 * Wake-ups cannot be lost: the loop callback resets the eventfd before it
 * takes the stack, and a thread pushes its task before it writes the
 * eventfd. A push that finds the stack empty writes; a push that finds it
 * non-empty follows a push that found it empty after the loop's last take,
 * and that push's write comes after the take, so after the reset: the
 * eventfd is (or will be) readable while the stack holds tasks. Spurious
 * wake-ups (an empty stack) are harmless.
 *
 * Destroy stops accepting work, wakes every thread, joins each after its
 * current task and drops the rest: queued tasks never run, finished ones are
 * not completed. A destroy called from inside a done callback is deferred
 * until the dispatch returns, so the pool is never freed under its own frame.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "peace/pool.h"

/* More threads than this is a configuration mistake, not a need. */
#define POOL_THREADS_MAX 1024u

struct task_list {
    struct pc_task *head;
    struct pc_task *tail;
};

struct pc_pool {
    struct event_base *base; /* borrowed */
    struct event *wake;      /* owned; EV_READ|EV_PERSIST on wake_fd */
    int wake_fd;             /* owned eventfd */

    pthread_mutex_t lock; /* guards queued, idle, waking, stopping */
    pthread_cond_t work;  /* signalled when a thread should take work, or stop */
    struct task_list queued;
    unsigned idle; /* threads waiting on work */
    bool waking;   /* work was signalled and no waiting thread has woken since */
    bool stopping;

    /* Finished tasks, newest first, linked through task->next. */
    _Atomic(struct pc_task *) finished;

    pthread_t *threads; /* owned array of nthreads */
    unsigned nthreads;
    unsigned started; /* threads actually created (to join) */

    /* Loop thread only. */
    unsigned long pending;  /* submitted, done not yet called */
    bool wake_armed;        /* wake is added to base */
    bool dispatching;       /* inside on_wake's done calls */
    bool destroy_requested; /* destroy called from a done callback */
};

static void list_push(struct task_list *l, struct pc_task *t)
{
    t->next = NULL;
    if (l->tail != NULL) {
        l->tail->next = t;
    } else {
        l->head = t;
    }
    l->tail = t;
}

static struct pc_task *list_pop(struct task_list *l)
{
    struct pc_task *t = l->head;

    if (t != NULL) {
        l->head = t->next;
        if (l->head == NULL) {
            l->tail = NULL;
        }
        t->next = NULL;
    }
    return t;
}

/* Tells the loop that the completion stack is no longer empty. */
static void wake_loop(struct pc_pool *p)
{
    const uint64_t one = 1;
    ssize_t n;

    /* The only other failure, EAGAIN, needs 2^64-1 unread wake-ups: the
     * counter being non-zero already guarantees the loop will wake. */
    do {
        n = write(p->wake_fd, &one, sizeof(one));
    } while (n < 0 && errno == EINTR);
}

/* Pushes a finished task; wakes the loop when the stack was empty. */
static void push_finished(struct pc_pool *p, struct pc_task *t)
{
    struct pc_task *head = atomic_load_explicit(&p->finished, memory_order_relaxed);

    do {
        t->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&p->finished, &head, t, memory_order_release,
                                                    memory_order_relaxed));
    if (head == NULL) {
        wake_loop(p);
    }
}

/* Takes every finished task, oldest first. */
static struct pc_task *take_finished(struct pc_pool *p)
{
    struct pc_task *t = atomic_exchange_explicit(&p->finished, NULL, memory_order_acquire);
    struct pc_task *oldest_first = NULL;

    while (t != NULL) {
        struct pc_task *next = t->next;

        t->next = oldest_first;
        oldest_first = t;
        t = next;
    }
    return oldest_first;
}

/*
 * With p->lock held: true when a waiting thread should be woken for queued
 * work, which the caller then signals after unlocking. At most one woken
 * thread is on its way at a time; when it arrives it takes a task and wakes
 * the next one if work remains. Threads that finish a task take the next
 * without waiting, so a burst of short tasks wakes a few threads rather than
 * one per task, and a burst of long ones still gets a thread each.
 */
static bool want_wake(struct pc_pool *p)
{
    if (p->queued.head == NULL || p->idle == 0 || p->waking) {
        return false;
    }
    p->waking = true;
    return true;
}

static void *worker_main(void *arg)
{
    struct pc_pool *p = arg;

    for (;;) {
        struct pc_task *t = NULL;
        bool wake = false;

        pthread_mutex_lock(&p->lock);
        while (!p->stopping && p->queued.head == NULL) {
            p->idle++;
            pthread_cond_wait(&p->work, &p->lock);
            p->idle--;
            /* The signalled thread, or another that woke first: either way
             * one has arrived, and it checks below whether to wake another. */
            p->waking = false;
        }
        if (!p->stopping) {
            t = list_pop(&p->queued);
            wake = want_wake(p);
        }
        pthread_mutex_unlock(&p->lock);
        if (wake) {
            pthread_cond_signal(&p->work);
        }
        if (t == NULL) {
            return NULL;
        }

        t->run(t);
        push_finished(p, t);
    }
}

static void drain_wake_fd(int fd)
{
    uint64_t count;
    ssize_t n;

    /* Non-blocking: EAGAIN means another wake-up already reset it. */
    do {
        n = read(fd, &count, sizeof(count));
    } while (n < 0 && errno == EINTR);
}

static void pool_free(struct pc_pool *p);

static void disarm_when_idle(struct pc_pool *p)
{
    if (p->pending == 0 && p->wake_armed) {
        event_del(p->wake);
        p->wake_armed = false;
    }
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct pc_pool *p = arg;
    struct pc_task *t = NULL;

    (void)what;
    drain_wake_fd(fd);
    t = take_finished(p);

    p->dispatching = true;
    while (t != NULL && !p->destroy_requested) {
        /* done may free or resubmit t: read the link first. */
        struct pc_task *next = t->next;

        p->pending--;
        t->done(t);
        t = next;
    }
    p->dispatching = false;

    if (p->destroy_requested) {
        /* libevent copies the callback before calling it, so the event may
         * be freed here. */
        pool_free(p);
        return;
    }
    disarm_when_idle(p);
}

static int pool_submit(void *ctx, struct pc_task *t)
{
    struct pc_pool *p = ctx;
    bool wake = false;

    if (t == NULL || t->run == NULL || t->done == NULL) {
        return PC_EINVAL;
    }
    if (p->destroy_requested) {
        return -ECANCELED;
    }
    if (!p->wake_armed) {
        if (event_add(p->wake, NULL) != 0) {
            return PC_EINTERNAL;
        }
        p->wake_armed = true;
    }

    pthread_mutex_lock(&p->lock);
    list_push(&p->queued, t);
    wake = want_wake(p);
    pthread_mutex_unlock(&p->lock);
    /* After the unlock: a woken thread must not find the mutex still held.
     * The pool cannot go away meanwhile (destroy runs on this thread). */
    if (wake) {
        pthread_cond_signal(&p->work);
    }
    p->pending++;
    return 0;
}

static const struct pc_executor_ops pool_executor_ops = {
    .submit = pool_submit,
};

/* Creates the threads with every signal blocked: signals belong to the loop
 * thread (libevent's evsignal), never to a thread running item work. */
static int start_threads(struct pc_pool *p, struct pc_err *err)
{
    sigset_t all;
    sigset_t saved;
    int rc = 0;

    sigfillset(&all);
    rc = pthread_sigmask(SIG_SETMASK, &all, &saved);
    if (rc != 0) {
        return pc_err_set(err, -rc, "pool: pthread_sigmask failed");
    }
    while (p->started < p->nthreads) {
        rc = pthread_create(&p->threads[p->started], NULL, worker_main, p);
        if (rc != 0) {
            break;
        }
        p->started++;
    }
    (void)pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (rc != 0) {
        return pc_err_set(err, -rc, "pool: cannot start thread %u of %u", p->started + 1,
                          p->nthreads);
    }
    return 0;
}

/* Allocates the pool and its thread array; wake_fd = -1 and wake = NULL mark
 * the parts not created yet, for pool_free. */
static struct pc_pool *pool_alloc(unsigned nthreads)
{
    struct pc_pool *p = calloc(1, sizeof(*p));

    if (p == NULL) {
        return NULL;
    }
    p->threads = calloc(nthreads, sizeof(*p->threads));
    if (p->threads == NULL) {
        free(p);
        return NULL;
    }
    p->nthreads = nthreads;
    p->wake_fd = -1;
    atomic_init(&p->finished, NULL);
    return p;
}

int pc_pool_create(struct event_base *base, unsigned nthreads, struct pc_pool **out,
                   struct pc_err *err)
{
    struct pc_pool *p = NULL;
    int rc = 0;

    if (base == NULL || out == NULL || nthreads == 0) {
        return pc_err_set(err, PC_EINVAL, "pool: needs a base and at least one thread");
    }
    if (nthreads > POOL_THREADS_MAX) {
        return pc_err_set(err, PC_ELIMIT, "pool: %u threads exceed the limit of %u", nthreads,
                          POOL_THREADS_MAX);
    }
    p = pool_alloc(nthreads);
    if (p == NULL) {
        return pc_err_set(err, PC_ENOMEM, "pool: out of memory");
    }
    p->base = base;
    /* The mutex and condvar are initialised first so pool_free may always
     * destroy them; with default attributes their init cannot fail on Linux. */
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);

    p->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->wake_fd < 0) {
        rc = pc_err_set(err, -errno, "pool: eventfd failed");
        goto out;
    }
    p->wake = event_new(base, p->wake_fd, EV_READ | EV_PERSIST, on_wake, p);
    if (p->wake == NULL) {
        rc = pc_err_set(err, PC_ENOMEM, "pool: event_new failed");
        goto out;
    }
    rc = start_threads(p, err);
out:
    if (rc != 0) {
        pool_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

struct pc_executor pc_pool_executor(struct pc_pool *p)
{
    struct pc_executor ex = {.ops = &pool_executor_ops, .ctx = p};

    return ex;
}

unsigned long pc_pool_pending(const struct pc_pool *p)
{
    return p->pending;
}

static void pool_free(struct pc_pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);

    for (unsigned i = 0; i < p->started; i++) {
        pthread_join(p->threads[i], NULL);
    }
    if (p->wake != NULL) {
        event_free(p->wake);
    }
    if (p->wake_fd >= 0) {
        close(p->wake_fd);
    }
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    free(p);
}

void pc_pool_destroy(struct pc_pool *p)
{
    if (p == NULL) {
        return;
    }
    if (p->dispatching) {
        /* Freed by on_wake once the current done callback returns. */
        p->destroy_requested = true;
        return;
    }
    pool_free(p);
}
