/*
 * gate.c - the worker's per-execution executor gate (worker/gate.h).
 *
 * Each submitted task is wrapped (one small allocation): the wrapper runs
 * the task on the inner executor and, on completion, either hands it on or
 * parks it in the held list. The wrapper is freed before the task's own
 * completion runs, which may submit again.
 */
#include "worker/gate.h"

#include <stdlib.h>

enum gate_mode {
    GATE_OPEN,
    GATE_CLOSED,
    GATE_REFUSING,
};

struct gate_task {
    struct pc_task base; /* first: the inner executor sees this */
    struct pc_task *task;
    struct wk_gate *g;
    struct gate_task *next; /* held list */
};

struct wk_gate {
    struct pc_executor inner;
    enum gate_mode mode;
    struct gate_task *held_head;
    struct gate_task *held_tail;
    size_t n_held;
    size_t in_flight;
    bool delivering;
};

static void deliver(struct gate_task *gt)
{
    struct pc_task *t = gt->task;

    gt->g->in_flight--;
    free(gt);
    t->done(t);
}

static void gate_run(struct pc_task *base)
{
    struct gate_task *gt = (struct gate_task *)(void *)base;

    gt->task->run(gt->task);
}

static void gate_done(struct pc_task *base)
{
    struct gate_task *gt = (struct gate_task *)(void *)base;
    struct wk_gate *g = gt->g;

    if (g->mode == GATE_CLOSED || g->n_held > 0) {
        /* Behind earlier held ones too: completions keep their order. */
        gt->next = NULL;
        if (g->held_tail != NULL) {
            g->held_tail->next = gt;
        } else {
            g->held_head = gt;
        }
        g->held_tail = gt;
        g->n_held++;
        return;
    }
    deliver(gt);
}

static int gate_submit(void *ctx, struct pc_task *t)
{
    struct wk_gate *g = ctx;
    struct gate_task *gt = NULL;
    int rc;

    if (g->mode == GATE_REFUSING) {
        return PC_EREDIS;
    }
    gt = calloc(1, sizeof(*gt));
    if (gt == NULL) {
        return PC_ENOMEM;
    }
    gt->base.run = gate_run;
    gt->base.done = gate_done;
    gt->task = t;
    gt->g = g;
    rc = g->inner.ops->submit(g->inner.ctx, &gt->base);
    if (rc != 0) {
        free(gt);
        return rc;
    }
    g->in_flight++;
    return 0;
}

static const struct pc_executor_ops gate_ops = {
    .submit = gate_submit,
};

int wk_gate_create(struct pc_executor inner, struct wk_gate **out)
{
    struct wk_gate *g = calloc(1, sizeof(*g));

    if (g == NULL) {
        return PC_ENOMEM;
    }
    g->inner = inner;
    g->mode = GATE_OPEN;
    *out = g;
    return 0;
}

struct pc_executor wk_gate_executor(struct wk_gate *g)
{
    struct pc_executor e = {&gate_ops, g};

    return e;
}

void wk_gate_release(struct wk_gate *g)
{
    if (g->delivering) {
        return; /* the outer call goes on */
    }
    g->delivering = true;
    while (g->held_head != NULL && g->mode != GATE_CLOSED) {
        struct gate_task *gt = g->held_head;

        g->held_head = gt->next;
        if (g->held_head == NULL) {
            g->held_tail = NULL;
        }
        g->n_held--;
        deliver(gt);
    }
    g->delivering = false;
}

void wk_gate_close(struct wk_gate *g)
{
    if (g->mode == GATE_OPEN) {
        g->mode = GATE_CLOSED;
    }
}

void wk_gate_open(struct wk_gate *g)
{
    if (g->mode == GATE_CLOSED) {
        g->mode = GATE_OPEN;
    }
}

void wk_gate_refuse(struct wk_gate *g)
{
    g->mode = GATE_REFUSING;
}

bool wk_gate_refusing(const struct wk_gate *g)
{
    return g->mode == GATE_REFUSING;
}

size_t wk_gate_held(const struct wk_gate *g)
{
    return g->n_held;
}

size_t wk_gate_in_flight(const struct wk_gate *g)
{
    return g->in_flight;
}

void wk_gate_destroy(struct wk_gate *g)
{
    free(g);
}
