/*
 * pool.h - a fixed thread pool executor bound to a libevent loop.
 *
 * Tasks run on the pool's threads; their done callbacks run on the thread
 * that runs `base` (woken through an eventfd). One pool may serve many
 * executions. Everything but task->run belongs to that loop thread, submit
 * included. The pool keeps an event on `base` only while tasks are pending,
 * so an otherwise idle loop returns once every done callback has run.
 */
#ifndef PEACE_POOL_H
#define PEACE_POOL_H

#include <event2/event.h>

#include "peace/err.h"
#include "peace/executor.h"

struct pc_pool;

/* Returns owned: a pool of nthreads threads delivering completions on base. */
int pc_pool_create(struct event_base *base, unsigned nthreads, struct pc_pool **out,
                   struct pc_err *err) PC_NODISCARD;

/* The executor interface (borrowed: valid while the pool lives). */
struct pc_executor pc_pool_executor(struct pc_pool *p);

/* Number of submitted tasks whose done callback has not run yet. */
unsigned long pc_pool_pending(const struct pc_pool *p);

/*
 * Stops the threads after the tasks already running finish, and frees the
 * pool. Tasks still queued are neither run nor completed. Accepts NULL.
 * Call from the loop thread, outside any done callback.
 */
void pc_pool_destroy(struct pc_pool *p);

#endif /* PEACE_POOL_H */
