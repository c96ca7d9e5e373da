/*
 * local_web.h - `peace run FLOW.json --local --listen HOST:PORT`: the HTTP
 * layer (web_server.h) over an in-process backend that serves the one
 * execution this process runs: the same JSON documents, the same event
 * stream, the same page and the same auth rules as peace-scheduler, for
 * GET /v1/executions[/{id}[/events]], POST .../interrupt, GET /v1/states/...,
 * /healthz and /metrics. It cannot start executions (405, and the page
 * disables its form saying why).
 *
 * Threading: none of its own. The engine already runs on the CLI's libevent
 * loop (items' work on a thread pool, whose results come back to the loop),
 * so the server shares that loop: the observer callbacks that record the
 * run (local_web_block_start...) and the requests that read it run on one
 * thread, and nothing is shared with another thread.
 *
 * The record follows CONTRACT §3 as the worker writes it to Redis: the meta
 * fields, the per-item progress (ITEM.status/.limit/.done/.msg), the events
 * (block_start, progress, interrupt, outcome; ids "<ms>-<seq>"), the full
 * report once finished. At most LOCAL_WEB_EVENTS_MAX events are kept (the
 * oldest go first, as the bounded Redis stream trims them).
 */
#ifndef PEACE_CLI_LOCAL_WEB_H
#define PEACE_CLI_LOCAL_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "peace/cmd.h"
#include "peace/err.h"
#include "peace/flow.h"
#include "peace/interrupt.h"
#include "peace/outcome.h"
#include "peace/progress.h"
#include "peace/store.h"
#include "sched_guard.h"

#define LOCAL_WEB_EVENTS_MAX 10000

struct local_web;

/* An interrupt asked over HTTP, applied by the run as Ctrl-C's are (with
 * the graduated modes). Called on the loop; never re-entrantly. */
typedef void local_web_interrupt_fn(void *ctx, enum pc_interrupt_mode mode, uint64_t deadline_ms,
                                    const char *reason);

struct local_web_opts {
    struct event_base *base;    /* borrowed */
    const struct pc_flow *flow; /* borrowed for the server's life */
    enum pc_cmd cmd;
    enum pc_sync sync;
    struct pc_store store;    /* borrowed: where GET /v1/states reads */
    struct sched_guard guard; /* tokens and hosts; strings borrowed for the server's life */
    const char *listen_host;  /* borrowed for the server's life */
    uint16_t listen_port;
    local_web_interrupt_fn *on_interrupt;
    void *interrupt_ctx;
};

/* Returns owned: the server, listening (one-line errors for a bad address). */
int local_web_create(const struct local_web_opts *opts, struct local_web **out,
                     struct pc_err *err) PC_NODISCARD;

/* The execution id of the run ("local" ULID made at start). */
const char *local_web_exec_id(const struct local_web *lw);

/* The port listened on. */
uint16_t local_web_port(const struct local_web *lw);

/* The run, as the engine's observer reports it (see exec.h). */
void local_web_started(struct local_web *lw);
void local_web_block_start(struct local_web *lw, size_t index, enum pc_block_kind kind);
void local_web_progress(struct local_web *lw, size_t item, const struct pc_progress_tracker *t);
void local_web_interrupted(struct local_web *lw);
void local_web_finished(struct local_web *lw, const struct pc_outcome *o);

/* Every 50 ms: coalesced progress (units, messages) becomes events. */
void local_web_tick(struct local_web *lw);

/* An interrupt was asked (terminal or HTTP): recorded on the execution
 * (interrupt_requested_ms, interrupt_reason) once. */
void local_web_note_interrupt(struct local_web *lw, const char *reason);

/* The mode an interrupt (terminal, HTTP or the cancel's deadline) put in
 * effect: recorded as the receipt fields of the execution (interrupt_mode,
 * interrupt_deadline_ms, interrupt_latched_ms, interrupt_escalations). */
void local_web_note_mode(struct local_web *lw, enum pc_interrupt_mode mode, uint64_t deadline_ms);

/* Stops listening and ends the event streams (answers in flight go out as
 * the loop runs). */
void local_web_stop(struct local_web *lw);

/* Frees everything. Accepts NULL. */
void local_web_destroy(struct local_web *lw);

#endif /* PEACE_CLI_LOCAL_WEB_H */
