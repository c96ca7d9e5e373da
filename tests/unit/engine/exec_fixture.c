/*
 * exec_fixture.c - see exec_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "exec_fixture.h"

int fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    fake_store_init(&f->store);
    fake_observer_init(&f->obs);
    assert_int_equal(pc_registry_create(&f->reg, NULL), 0);
    assert_int_equal(pc_registry_add(f->reg, &fake_item_type, NULL), 0);
    *state = f;
    return 0;
}

int fixture_teardown(void **state)
{
    struct fixture *f = *state;

    pc_exec_destroy(f->exec);
    fake_flow_free(&f->flow);
    fake_store_cleanup(&f->store);
    fake_observer_cleanup(&f->obs);
    pc_registry_destroy(f->reg);
    free(f);
    return 0;
}

void make_flow(struct fixture *f, const char *const *ids, size_t n, const char *const *edges,
               size_t n_edges)
{
    fake_flow_free(&f->flow);
    assert_int_equal(fake_flow_build(&f->flow, &f->world, ids, n, edges, n_edges), 0);
}

void make_exec(struct fixture *f, enum pc_cmd cmd, enum pc_sync sync, const char *strategy,
               size_t concurrency)
{
    struct pc_exec_opts o;
    struct pc_err err;

    memset(&o, 0, sizeof(o));
    o.cmd = cmd;
    o.sync = sync;
    assert_int_equal(pc_strategy_parse(strategy, strlen(strategy), &o.strategy, &err), 0);
    o.flow = &f->flow;
    o.registry = f->reg;
    o.store = fake_store_get(&f->store);
    o.executor = fake_executor_get(&f->fx);
    o.observer = &fake_observer_ops;
    o.observer_ctx = &f->obs;
    o.concurrency_max = concurrency;
    pc_exec_destroy(f->exec);
    f->exec = NULL;
    fake_observer_cleanup(&f->obs);
    fake_observer_init(&f->obs);
    assert_int_equal(pc_exec_create(&o, &f->exec, &err), 0);
}

void run_cmd(struct fixture *f, enum pc_cmd cmd, enum pc_sync sync, const char *strategy,
             bool signal)
{
    make_exec(f, cmd, sync, strategy, 0);
    if (signal) {
        pc_exec_signal_interrupt(f->exec);
    }
    pc_exec_start(f->exec);
    fake_executor_drain(&f->fx);
    assert_true(f->obs.finished);
    assert_int_equal(f->obs.finished_calls, 1);
}

uint64_t fixture_clock(void *ctx)
{
    struct fixture *f = ctx;

    f->now += 10;
    return f->now;
}

void create_opts(struct fixture *f, struct pc_exec_opts *o)
{
    struct pc_err err;

    o->flow = &f->flow;
    o->registry = f->reg;
    o->store = fake_store_get(&f->store);
    o->executor = fake_executor_get(&f->fx);
    o->observer = &fake_observer_ops;
    o->observer_ctx = &f->obs;
    pc_exec_destroy(f->exec);
    f->exec = NULL;
    fake_observer_cleanup(&f->obs);
    fake_observer_init(&f->obs);
    assert_int_equal(pc_exec_create(o, &f->exec, &err), 0);
}

void run_opts(struct fixture *f, struct pc_exec_opts *o, bool signal)
{
    create_opts(f, o);
    if (signal) {
        pc_exec_signal_interrupt(f->exec);
    }
    pc_exec_start(f->exec);
    fake_executor_drain(&f->fx);
    assert_true(f->obs.finished);
}

void seed_in_sync(struct fixture *f, size_t n)
{
    int64_t cur[FAKE_ITEMS_MAX];
    int64_t goal[FAKE_ITEMS_MAX];

    for (size_t i = 0; i < n; i++) {
        f->world.items[i].value = 0;
        f->world.items[i].goal = 1;
        cur[i] = 0;
        goal[i] = 1;
    }
    fake_store_seed(&f->store, PC_STATES_CURRENT, cur, n);
    fake_store_seed(&f->store, PC_STATES_GOAL, goal, n);
}

void run_until_block(struct fixture *f, size_t block)
{
    while (pc_exec_block_index(f->exec) < block) {
        assert_true(fake_executor_run_at(&f->fx, 0));
    }
}

void assert_ids(const struct pc_id *ids, size_t n, const char *const *want, size_t n_want)
{
    assert_int_equal(n, n_want);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(ids[i].s, want[i]);
    }
}

void assert_blocks(const struct pc_outcome *o, size_t processed, size_t total)
{
    assert_int_equal(o->n_blocks, total);
    assert_int_equal(o->n_blocks_processed, processed);
}

void assert_blocks_processed(const struct pc_outcome *o, const enum pc_block_kind *want, size_t n)
{
    assert_int_equal(o->n_blocks_processed, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(pc_block_name(o->blocks[i]), pc_block_name(want[i]));
    }
}

int64_t stored(const struct fixture *f, enum pc_states_kind k, size_t i)
{
    int64_t v = -99;

    assert_true(fake_store_int(&f->store, k, i, &v));
    return v;
}

bool stored_present(const struct fixture *f, enum pc_states_kind k, size_t i)
{
    int64_t v = 0;

    return fake_store_int(&f->store, k, i, &v);
}

size_t writes(const struct fixture *f, enum pc_states_kind k)
{
    return f->store.item_writes[k] + f->store.all_writes[k];
}
