/*
 * test_worker_setup.c - job -> execution set-up (wk_exec_setup) with fake
 * ops tables instead of Redis and the thread pool: a store that keeps maps
 * in memory and an executor that queues tasks for the test to run. Covers
 * the rejection of bad params (naming the item), a discover writing both
 * maps, and the takeover tolerance reaching the engine's guard.
 */
/* cmocka needs these four headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/items.h"
#include "peace/msg.h"
#include "worker/logic.h"

/* ------------------------------------------------------------------------ */
/* Fake store: two maps in memory; every operation completes at once.        */

struct fake_store {
    struct pc_states maps[2]; /* current, goal */
    bool stored[2];
    int writes_all;
    int writes_item;
};

static int fs_read(void *ctx, enum pc_states_kind kind, const struct pc_flow *flow,
                   struct pc_states *out, pc_store_done_cb *done, void *arg)
{
    struct fake_store *fs = ctx;
    int rc = 0;

    if (!fs->stored[kind]) {
        done(arg, PC_ENOTFOUND, NULL);
        return 0;
    }
    for (size_t i = 0; rc == 0 && i < flow->n_items; i++) {
        rc = pc_state_copy(&out->v[i], &fs->maps[kind].v[i]);
    }
    done(arg, rc, NULL);
    return 0;
}

static int fs_write_item(void *ctx, enum pc_states_kind kind, const struct pc_flow *flow,
                         size_t item, const struct pc_state *s, pc_store_done_cb *done, void *arg)
{
    struct fake_store *fs = ctx;
    int rc = pc_state_copy(&fs->maps[kind].v[item], s);

    (void)flow;
    fs->writes_item++;
    done(arg, rc, NULL);
    return 0;
}

static int fs_write_all(void *ctx, enum pc_states_kind kind, const struct pc_flow *flow,
                        const struct pc_states *m, pc_store_done_cb *done, void *arg)
{
    struct fake_store *fs = ctx;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < flow->n_items; i++) {
        rc = pc_state_copy(&fs->maps[kind].v[i], &m->v[i]);
    }
    fs->stored[kind] = true;
    fs->writes_all++;
    done(arg, rc, NULL);
    return 0;
}

static const struct pc_store_ops fake_store_ops = {
    .read = fs_read,
    .write_item = fs_write_item,
    .write_all = fs_write_all,
};

/* ------------------------------------------------------------------------ */
/* Fake executor: a FIFO the test drains (run, then done), never inline.     */

struct fake_executor {
    struct pc_task *head;
    struct pc_task *tail;
    int submitted;
};

static int fx_submit(void *ctx, struct pc_task *t)
{
    struct fake_executor *fx = ctx;

    t->next = NULL;
    if (fx->tail != NULL) {
        fx->tail->next = t;
    } else {
        fx->head = t;
    }
    fx->tail = t;
    fx->submitted++;
    return 0;
}

static const struct pc_executor_ops fake_executor_ops = {.submit = fx_submit};

static void drain(struct fake_executor *fx)
{
    while (fx->head != NULL) {
        struct pc_task *t = fx->head;

        fx->head = t->next;
        if (fx->head == NULL) {
            fx->tail = NULL;
        }
        t->run(t);
        t->done(t);
    }
}

/* ------------------------------------------------------------------------ */
/* Observer                                                                  */

struct seen {
    int block_starts;
    enum pc_block_kind first_block;
    bool finished;
    enum pc_outcome_kind outcome;
};

static void ob_block_start(void *ctx, size_t index, enum pc_block_kind kind)
{
    struct seen *s = ctx;

    if (index == 0) {
        s->first_block = kind;
    }
    s->block_starts++;
}

static void ob_finished(void *ctx, const struct pc_outcome *o)
{
    struct seen *s = ctx;

    s->finished = true;
    s->outcome = o->kind;
}

static const struct pc_exec_observer_ops observer = {
    .block_start = ob_block_start,
    .finished = ob_finished,
};

/* ------------------------------------------------------------------------ */
/* Fixture                                                                   */

struct fixture {
    struct pc_registry *reg;
    struct fake_store fs;
    struct fake_executor fx;
    struct seen seen;
    struct wk_exec_env env;
    struct msg_job job;
};

static const char files_flow[] =
    "{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": ["
    " {\"id\": \"conf\", \"type\": \"file\", \"params\": {\"path\": "
    "\"/nonexistent-peace-test/conf\", \"content\": \"x\"}},"
    " {\"id\": \"page\", \"type\": \"file\", \"deps\": [\"conf\"], \"params\": {\"path\": "
    "\"/nonexistent-peace-test/page\", \"content\": \"y\"}}]}";

static void fixture_init(struct fixture *f, const char *flow_json, enum pc_cmd cmd)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(pc_registry_create(&f->reg, NULL), 0);
    assert_int_equal(pc_items_register_builtin(f->reg, NULL), 0);
    assert_int_equal(pc_flow_parse_json(flow_json, strlen(flow_json), "t", &f->job.flow, NULL), 0);
    (void)snprintf(f->job.id, sizeof(f->job.id), "01HZX3K5T0Y8M2Q4R6S8T0V2W4");
    f->job.cmd = cmd;
    assert_int_equal(pc_states_init(&f->fs.maps[0], f->job.flow.n_items), 0);
    assert_int_equal(pc_states_init(&f->fs.maps[1], f->job.flow.n_items), 0);
    f->env.reg = f->reg;
    f->env.store.ops = &fake_store_ops;
    f->env.store.ctx = &f->fs;
    f->env.executor.ops = &fake_executor_ops;
    f->env.executor.ctx = &f->fx;
    f->env.observer = &observer;
    f->env.observer_ctx = &f->seen;
}

static void fixture_cleanup(struct fixture *f)
{
    pc_states_cleanup(&f->fs.maps[0]);
    pc_states_cleanup(&f->fs.maps[1]);
    msg_job_cleanup(&f->job);
    pc_registry_destroy(f->reg);
}

/* Runs the job's command to its end; returns the outcome kind. */
static enum pc_outcome_kind run(struct fixture *f, const bool *tolerate)
{
    struct pc_exec *e = NULL;
    char reason[WK_REASON_MAX] = "";

    memset(&f->seen, 0, sizeof(f->seen));
    assert_int_equal(wk_exec_setup(&f->job, &f->env, tolerate, &e, reason, sizeof(reason)), 0);
    pc_exec_start(e);
    drain(&f->fx);
    assert_true(f->seen.finished);
    assert_true(pc_exec_finished(e));
    pc_exec_destroy(e);
    return f->seen.outcome;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */

static void bad_params_are_a_rejection_naming_the_item(void **state)
{
    static const char json[] =
        "{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": ["
        " {\"id\": \"fine\", \"type\": \"sleep\", \"params\": {\"steps\": 1, \"step_ms\": 1,"
        "  \"marker\": \"/tmp/m\"}},"
        " {\"id\": \"broken\", \"type\": \"sleep\", \"params\": {\"steps\": \"many\"}}]}";
    struct fixture f;
    struct pc_exec *e = NULL;
    char reason[WK_REASON_MAX] = "";

    (void)state;
    fixture_init(&f, json, PC_CMD_DISCOVER);
    assert_int_equal(wk_exec_setup(&f.job, &f.env, NULL, &e, reason, sizeof(reason)), PC_EINVAL);
    assert_null(e);
    assert_non_null(strstr(reason, "broken"));
    assert_int_equal(f.fx.submitted, 0);
    fixture_cleanup(&f);
}

static void discover_runs_on_the_given_ops_and_writes_both_maps(void **state)
{
    struct fixture f;

    (void)state;
    fixture_init(&f, files_flow, PC_CMD_DISCOVER);
    assert_int_equal(run(&f, NULL), PC_OUTCOME_COMPLETE);
    assert_int_equal(f.seen.first_block, PC_BLOCK_DISCOVER);
    assert_int_equal(f.fx.submitted, 2);
    assert_int_equal(f.fs.writes_all, 2);
    assert_true(f.fs.stored[PC_STATES_CURRENT] && f.fs.stored[PC_STATES_GOAL]);
    assert_true(pc_state_present(&f.fs.maps[PC_STATES_CURRENT].v[1]));
    fixture_cleanup(&f);
}

static void tolerated_item_passes_the_guard_untolerated_fails_it(void **state)
{
    struct fixture f;
    bool tolerate[2] = {false, true};
    static const uint8_t other_state[] = {0x81, 0xa6, 'e', 'x', 'i', 's', 't', 's', 0xc3};

    (void)state;
    fixture_init(&f, files_flow, PC_CMD_DISCOVER);
    assert_int_equal(run(&f, NULL), PC_OUTCOME_COMPLETE);
    /* What a crashed attempt leaves: page changed in the world's eyes. */
    assert_int_equal(
        pc_state_set(&f.fs.maps[PC_STATES_CURRENT].v[1], other_state, sizeof(other_state)), 0);
    f.job.cmd = PC_CMD_ENSURE_DRY;
    assert_int_equal(run(&f, NULL), PC_OUTCOME_BLOCK_ERROR);
    assert_int_equal(run(&f, tolerate), PC_OUTCOME_COMPLETE);
    tolerate[1] = false;
    tolerate[0] = true; /* tolerating another item does not help */
    assert_int_equal(run(&f, tolerate), PC_OUTCOME_BLOCK_ERROR);
    fixture_cleanup(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_params_are_a_rejection_naming_the_item),
        cmocka_unit_test(discover_runs_on_the_given_ops_and_writes_both_maps),
        cmocka_unit_test(tolerated_item_passes_the_guard_untolerated_fails_it),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
