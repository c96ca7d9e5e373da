/*
 * exec_fixture.h - the fixture shared by the engine tests: a fake world, a
 * flow of fake items, the in-memory store, the step-by-step executor and the
 * recording observer (fake_engine.h), plus assertions on outcomes.
 */
#ifndef PEACE_TEST_EXEC_FIXTURE_H
#define PEACE_TEST_EXEC_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fake_engine.h"
#include "peace/exec.h"

struct fixture {
    struct fake_world world;
    struct pc_flow flow;
    struct fake_store store;
    struct fake_executor fx;
    struct fake_observer obs;
    struct pc_registry *reg;
    struct pc_exec *exec;
    uint64_t now; /* fixture_clock's time, Unix ms */
};

/* cmocka group setup / teardown: *state is a struct fixture. */
int fixture_setup(void **state);
int fixture_teardown(void **state);

void make_flow(struct fixture *f, const char *const *ids, size_t n, const char *const *edges,
               size_t n_edges);
void make_exec(struct fixture *f, enum pc_cmd cmd, enum pc_sync sync, const char *strategy,
               size_t concurrency);
/* make_exec, signal first when `signal`, start, run every task. */
void run_cmd(struct fixture *f, enum pc_cmd cmd, enum pc_sync sync, const char *strategy,
             bool signal);

/* A clock for pc_exec_opts.now_ms (ctx: the fixture): every reading
 * advances f->now by 10 ms and returns it. */
uint64_t fixture_clock(void *ctx);

/* Creates (does not start) an execution with the options in o; the fixture
 * fills in flow, registry, store, executor, observer (a fresh one). */
void create_opts(struct fixture *f, struct pc_exec_opts *o);

/* Runs an execution with the options in o (cmd, sync, strategy, the option
 * flags); the fixture fills in flow, registry, store, executor, observer. */
void run_opts(struct fixture *f, struct pc_exec_opts *o, bool signal);

/* World: every item at 0, goal 1; stored states match the world. */
void seed_in_sync(struct fixture *f, size_t n);
/* Runs queued tasks until the execution reaches block index `block`. */
void run_until_block(struct fixture *f, size_t block);

void assert_ids(const struct pc_id *ids, size_t n, const char *const *want, size_t n_want);
void assert_blocks(const struct pc_outcome *o, size_t processed, size_t total);
/* The outcome's processed block names are exactly want[0..n). */
void assert_blocks_processed(const struct pc_outcome *o, const enum pc_block_kind *want, size_t n);
int64_t stored(const struct fixture *f, enum pc_states_kind k, size_t i);
/* True when item i has a stored state of kind k. */
bool stored_present(const struct fixture *f, enum pc_states_kind k, size_t i);
/* Number of writes of either kind to the store. */
size_t writes(const struct fixture *f, enum pc_states_kind k);

#endif
