/*
 * exec_task.c - the engine's item tasks: what runs on executor threads for
 * one item in one block (discovery, prepare, apply), and nothing else.
 */
#include "exec_internal.h"

#include <stddef.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Item tasks (executor threads)                                             */

const struct pc_state *pc_exec__stored_current(struct pc_exec *e, size_t i)
{
    const struct pc_state *s = &e->maps[PC_MAP_STORED_CURRENT].v[i];

    return pc_state_present(s) ? s : NULL;
}

static int require_state(const struct pc_state *s, const char *fn, struct pc_err *err)
{
    if (s->data == NULL) {
        return pc_err_set(err, PC_EITEM, "%s returned no state", fn);
    }
    return 0;
}

static void run_prepare_ensure(struct item_task *t, struct item_rt *it)
{
    const struct pc_item_type *ty = it->type;

    t->rc = ty->state_current(&it->ctx, it->params, &t->current, &t->err);
    if (t->rc == 0) {
        t->rc = require_state(&t->current, "state_current", &t->err);
    }
    if (t->rc != 0) {
        return;
    }
    t->rc_goal = ty->state_goal(&it->ctx, it->params, &t->goal, &t->err_goal);
    if (t->rc_goal == 0) {
        t->rc_goal = require_state(&t->goal, "state_goal", &t->err_goal);
    }
    if (t->rc_goal != 0) {
        t->rc = t->rc_goal;
        t->err = t->err_goal;
        pc_state_clear(&t->goal);
        return;
    }
    t->rc = ty->state_diff(it->params, &t->current, &t->goal, &t->diff, &t->err);
    if (t->rc == 0) {
        t->rc = ty->apply_check(it->params, &t->current, &t->goal, &t->diff, &t->check, &t->err);
    }
}

static void run_prepare_clean(struct item_task *t, struct item_rt *it)
{
    const struct pc_item_type *ty = it->type;

    /* Obsolete items cleaned by ensure had no clean_insertion block. */
    if (t->goal.data == NULL) {
        t->rc = ty->state_clean(it->params, &t->goal, &t->err);
        if (t->rc == 0) {
            t->rc = require_state(&t->goal, "state_clean", &t->err);
        }
        if (t->rc != 0) {
            return;
        }
    }
    /* No state discovered: the item is treated as already clean (peace's
     * clean_prepare substitutes state_clean, so diff is clean -> clean). */
    if (t->current.data == NULL) {
        t->rc = pc_state_copy(&t->current, &t->goal);
        if (t->rc != 0) {
            (void)pc_err_set(&t->err, t->rc, "out of memory");
            return;
        }
    }
    t->rc = ty->state_diff(it->params, &t->current, &t->goal, &t->diff, &t->err);
    if (t->rc == 0) {
        t->rc = ty->apply_check(it->params, &t->current, &t->goal, &t->diff, &t->check, &t->err);
    }
}

/*
 * After a cut apply the world is unknown: the current state is discovered
 * again (into t->out, result in rc_goal/err_goal) so the truth is stored.
 * This call has no cancel token: the cut is over, and discovery is meant to
 * be short.
 */
static void rediscover(struct item_task *t, struct item_rt *it)
{
    struct pc_item_ctx ctx = it->ctx;

    ctx.cancel = NULL;
    pc_state_clear(&t->out);
    pc_err_clear(&t->err_goal);
    t->rc_goal = it->type->state_current(&ctx, it->params, &t->out, &t->err_goal);
    if (t->rc_goal == 0 && t->out.data == NULL) {
        t->rc_goal = pc_err_set(&t->err_goal, PC_EITEM, "state_current returned no state");
    }
    if (t->rc_goal != 0 && t->err_goal.msg[0] == '\0') {
        (void)pc_err_set(&t->err_goal, t->rc_goal < 0 ? t->rc_goal : PC_EITEM, "failed (%s)",
                         pc_strerror(t->rc_goal < 0 ? t->rc_goal : PC_EITEM));
    }
}

static void task_run(struct pc_task *base)
{
    struct item_task *t =
        (struct item_task *)(void *)((char *)base - offsetof(struct item_task, base));
    struct pc_exec *e = t->e;
    struct item_rt *it = &e->items[t->item];
    const struct pc_item_type *ty = it->type;

    switch (t->kind) {
    case TASK_DISCOVER_CURRENT:
        t->rc = ty->state_current(&it->ctx, it->params, &t->current, &t->err);
        break;
    case TASK_DISCOVER_GOAL:
        t->rc = ty->state_goal(&it->ctx, it->params, &t->goal, &t->err);
        break;
    case TASK_DISCOVER_BOTH:
        t->rc = ty->state_current(&it->ctx, it->params, &t->current, &t->err);
        t->rc_goal = ty->state_goal(&it->ctx, it->params, &t->goal, &t->err_goal);
        break;
    case TASK_CLEAN_INSERTION:
        t->rc = ty->state_clean(it->params, &t->out, &t->err);
        break;
    case TASK_DIFF:
        if (pc_state_is_unknown(&t->current) || pc_state_is_unknown(&t->goal)) {
            t->rc = pc_err_set(&t->err, PC_EITEM,
                               "the stored state is unknown (an apply was cut short and its "
                               "state could not be discovered): run discover, or diff "
                               "--current discovered");
            break;
        }
        t->rc = ty->state_diff(it->params, &t->current, &t->goal, &t->out, &t->err);
        break;
    case TASK_PREPARE_ENSURE:
        run_prepare_ensure(t, it);
        break;
    case TASK_PREPARE_CLEAN:
        run_prepare_clean(t, it);
        break;
    case TASK_APPLY:
        t->rc = ty->apply(&it->ctx, it->params, &t->current, &t->goal, &t->diff, &t->out, &t->err);
        break;
    case TASK_APPLY_DRY:
        t->rc =
            ty->apply_dry(&it->ctx, it->params, &t->current, &t->goal, &t->diff, &t->out, &t->err);
        break;
    default:
        t->rc = pc_err_set(&t->err, PC_EINTERNAL, "unknown task kind");
        break;
    }
    if (t->rc > 0) {
        /* Item code must return negative codes; never let a positive one pass as success. */
        t->rc = PC_EITEM;
    }
    if (t->rc != 0 && t->err.msg[0] == '\0') {
        (void)pc_err_set(&t->err, t->rc, "failed (%s)", pc_strerror(t->rc));
    }
    if (t->rc != 0 && pc_cancel_level(&it->cancel) != PC_MODE_FINISH) {
        t->cut = true;
        if (t->kind == TASK_APPLY) {
            rediscover(t, it);
        }
    }
}

void pc_exec__task_reset(struct item_task *t, enum task_kind kind)
{
    t->kind = kind;
    t->rc = 0;
    t->rc_goal = 0;
    pc_err_clear(&t->err);
    pc_err_clear(&t->err_goal);
    t->check.exec_required = false;
    t->check.limit.kind = PC_LIMIT_UNKNOWN;
    t->check.limit.n = 0;
    t->skip = false;
    t->cut = false;
    t->base.run = task_run;
    t->base.done = pc_exec__task_done;
    t->base.next = NULL;
}
