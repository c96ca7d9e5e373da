/*
 * worker.h - the peace-worker daemon (docs/fleet.md): pops execution jobs
 * from a Redis queue stream, runs them with the engine and records them.
 *
 * One event_base runs everything: three Redis connections (commands,
 * blocking reads, pub/sub), the timers (lease renewal, takeover, parked
 * retries, drain) and the completions of the item thread pool. No global
 * state: everything lives in struct wk_worker.
 */
#ifndef WORKER_WORKER_H
#define WORKER_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "peace/err.h"
#include "worker/config.h"
#include "worker/log.h"

struct wk_worker;

/* Unix time in milliseconds (injectable for tests). */
struct wk_clock {
    uint64_t (*now_ms)(void *ctx);
    void *ctx;
};

struct wk_worker_opts {
    const struct wk_config *cfg; /* borrowed for the worker's life */
    const struct wk_log *log;    /* borrowed */
    struct event_base *base;     /* borrowed */
    struct wk_clock clock;       /* now_ms NULL = CLOCK_REALTIME */
    const char *consumer;        /* NULL = "<host>:<pid>:<random>" */
    bool handle_signals;         /* SIGTERM/SIGINT drain (the daemon), off in tests */
    const char *version;         /* the program's version, for heartbeats and metrics */
};

/*
 * Returns owned: loads the item types (built-in and plugins), starts the
 * thread pool and the three connections. A bad plugin fails here.
 */
int wk_worker_create(const struct wk_worker_opts *opts, struct wk_worker **out,
                     struct pc_err *err) PC_NODISCARD;

/*
 * Runs the loop until the worker stops: after a drain (SIGTERM, or
 * wk_worker_stop) or when Redis cannot be reached at start-up. Returns the
 * process exit status: 0 after a drain, 1 when start-up failed (err says
 * why).
 */
int wk_worker_run(struct wk_worker *w, struct pc_err *err);

/* Starts a drain, as SIGTERM does: no new work, running executions finish
 * (up to the grace period), the rest stays queued for other workers. */
void wk_worker_stop(struct wk_worker *w);

/* True while an engine still runs (the grace period ran out): the process
 * must leave without destroying the worker (item threads still use it). */
bool wk_worker_busy(const struct wk_worker *w);

/* Accepts NULL. Only when !wk_worker_busy(w) and outside the loop. */
void wk_worker_destroy(struct wk_worker *w);

#endif /* WORKER_WORKER_H */
