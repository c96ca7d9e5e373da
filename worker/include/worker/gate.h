/*
 * gate.h - an execution's executor in the worker: the pool, behind a gate
 * that keeps the execution from changing the world while Redis cannot
 * record it (docs/fleet.md "Redis away").
 *
 *  - closed (wk_gate_close, when an apply block starts): tasks still run,
 *    but their completions are held. An apply block's first task per item
 *    only checks (apply_check); the apply itself is submitted from that
 *    completion. So no item applies before the block's start is recorded.
 *  - open (wk_gate_open, once Redis acknowledged the block start): held
 *    completions are delivered (wk_gate_release), in the order they
 *    arrived, and from then on pass straight through.
 *  - refusing (wk_gate_refuse, at the first failed write or renewal): every
 *    later submit is refused (the engine fails the item without running
 *    it), and held completions are delivered (wk_gate_release). Final.
 *
 * Runs on the loop thread (the pool delivers completions there). Tested
 * with a fake executor (tests/unit/worker/test_worker_gate.c).
 */
#ifndef WORKER_GATE_H
#define WORKER_GATE_H

#include <stdbool.h>
#include <stddef.h>

#include "peace/err.h"
#include "peace/executor.h"

struct wk_gate;

/* Returns owned: an open gate in front of inner (borrowed: must outlive it). */
int wk_gate_create(struct pc_executor inner, struct wk_gate **out) PC_NODISCARD;

/* The executor to give the engine (ctx = g). */
struct pc_executor wk_gate_executor(struct wk_gate *g);

/* Mode changes only: held completions are delivered by wk_gate_release,
 * which the owner calls from its loop (never from inside an engine
 * callback: a completion re-enters the engine). */
void wk_gate_close(struct wk_gate *g);
void wk_gate_open(struct wk_gate *g);
void wk_gate_refuse(struct wk_gate *g);

/* Delivers held completions, in order, while the gate is not closed (a
 * completion may close it again: the rest then waits). */
void wk_gate_release(struct wk_gate *g);

bool wk_gate_refusing(const struct wk_gate *g);

/* Completions held now. */
size_t wk_gate_held(const struct wk_gate *g);

/* Tasks submitted whose completion was not delivered yet (held included). */
size_t wk_gate_in_flight(const struct wk_gate *g);

/* Accepts NULL. Only when wk_gate_in_flight is 0. */
void wk_gate_destroy(struct wk_gate *g);

#endif /* WORKER_GATE_H */
