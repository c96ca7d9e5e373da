/*
 * exec_progress.c - the engine's report clock, per-item progress (slots
 * written by item threads, flushed on the loop thread) and interrupt polls.
 */
#include "exec_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------------ */
/* Report clock                                                              */

uint64_t pc_exec__now_ms(const struct pc_exec *e)
{
    struct timespec ts;

    if (e->opts.now_ms != NULL) {
        return e->opts.now_ms(e->opts.clock_ctx);
    }
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ------------------------------------------------------------------------ */
/* Progress                                                                  */

void pc_exec__emit(struct pc_exec *e, size_t item, const struct pc_progress_update *u)
{
    struct item_rt *it = &e->items[item];

    if (pc_progress_apply(&it->tracker, u) && e->opts.observer != NULL &&
        e->opts.observer->progress != NULL) {
        e->opts.observer->progress(e->opts.observer_ctx, item, &it->tracker, u);
    }
}

void pc_exec__emit_kind(struct pc_exec *e, size_t item, enum pc_progress_update_kind kind,
                        enum pc_msg_update mu, const char *msg)
{
    struct pc_progress_update u = {.kind = kind, .msg_update = mu};

    if (mu == PC_MSG_SET) {
        u.msg = msg;
        u.msg_len = strlen(msg);
    }
    pc_exec__emit(e, item, &u);
}

/* Item-thread side: accumulate, never call out. */
static void slot_report(void *ctx, size_t item, uint64_t inc, bool tick, const char *msg,
                        size_t msg_len)
{
    struct pc_exec *e = ctx;
    struct progress_slot *s = NULL;

    if (item >= e->n_items) {
        return;
    }
    s = &e->items[item].slot;
    if (inc > 0) {
        atomic_fetch_add_explicit(&s->inc, inc, memory_order_relaxed);
    }
    if (tick || inc == 0) {
        atomic_fetch_add_explicit(&s->tick, 1u, memory_order_relaxed);
    }
    if (msg != NULL) {
        size_t n = msg_len < PC_PROGRESS_MSG_MAX ? msg_len : PC_PROGRESS_MSG_MAX;

        pthread_mutex_lock(&e->slot_lock);
        memcpy(s->msg, msg, n);
        s->msg[n] = '\0';
        atomic_store_explicit(&s->msg_dirty, 1, memory_order_relaxed);
        pthread_mutex_unlock(&e->slot_lock);
    }
}

const struct pc_item_progress_ops pc_exec__slot_ops = {.report = slot_report};

void pc_exec__flush_item(struct pc_exec *e, size_t item)
{
    struct progress_slot *s = &e->items[item].slot;
    uint64_t inc = atomic_exchange_explicit(&s->inc, 0, memory_order_relaxed);
    unsigned ticks = atomic_exchange_explicit(&s->tick, 0u, memory_order_relaxed);
    struct pc_progress_update u = {.kind = inc > 0 ? PC_UPDATE_INC : PC_UPDATE_TICK, .inc = inc};
    char msg[PC_PROGRESS_MSG_MAX + 1];

    if (atomic_exchange_explicit(&s->msg_dirty, 0, memory_order_relaxed) != 0) {
        pthread_mutex_lock(&e->slot_lock);
        memcpy(msg, s->msg, sizeof(msg));
        pthread_mutex_unlock(&e->slot_lock);
        u.msg_update = PC_MSG_SET;
        u.msg = msg;
        u.msg_len = strlen(msg);
    }
    if (inc == 0 && ticks == 0 && u.msg_update == PC_MSG_NO_CHANGE) {
        return;
    }
    pc_exec__emit(e, item, &u);
}

void pc_exec_progress_flush(struct pc_exec *e)
{
    for (size_t i = 0; i < e->n_running; i++) {
        pc_exec__flush_item(e, e->running[i]);
    }
}

void pc_exec__running_remove(struct pc_exec *e, size_t item)
{
    for (size_t i = 0; i < e->n_running; i++) {
        if (e->running[i] == item) {
            e->running[i] = e->running[--e->n_running];
            return;
        }
    }
}

static void interrupt_activated(struct pc_exec *e)
{
    e->outcome.interrupted_ms = pc_exec__now_ms(e);
    if (e->opts.observer != NULL && e->opts.observer->interrupted != NULL) {
        e->opts.observer->interrupted(e->opts.observer_ctx);
    }
    for (size_t i = 0; i < e->n_items; i++) {
        pc_exec__emit_kind(e, i, PC_UPDATE_INTERRUPT, PC_MSG_SET, PC_PROGRESS_INTERRUPTED_MSG);
    }
}

/* A counting poll (before a block, first poll of a stream slot), or a
 * waiting one (the slot's item became ready later). */
bool pc_exec__poll_interrupt(struct pc_exec *e, bool counting)
{
    bool first = false;
    bool interrupted =
        counting ? pc_latch_poll(&e->latch, &first) : pc_latch_poll_waiting(&e->latch, &first);

    if (first) {
        interrupt_activated(e);
    }
    return interrupted;
}
