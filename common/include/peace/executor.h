/*
 * executor.h - where item work runs: off the caller's event loop.
 *
 * The engine hands a task to an executor; the executor calls task->run on a
 * thread of its own (the blocking item work), then task->done on the loop
 * thread that owns the engine. Contract: submit returns 0 and both callbacks
 * run exactly once, or it returns non-zero and neither runs. done never runs
 * from inside submit (the engine relies on this to avoid re-entrance).
 */
#ifndef PEACE_EXECUTOR_H
#define PEACE_EXECUTOR_H

struct pc_task {
    void (*run)(struct pc_task *t);  /* executor thread */
    void (*done)(struct pc_task *t); /* loop thread, after run */
    struct pc_task *next;            /* executor-private link */
};

struct pc_executor_ops {
    int (*submit)(void *ctx, struct pc_task *t);
};

struct pc_executor {
    const struct pc_executor_ops *ops;
    void *ctx;
};

#endif /* PEACE_EXECUTOR_H */
