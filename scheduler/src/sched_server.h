/*
 * sched_server.h - peace-scheduler's HTTP service: evhttp on one libevent
 * loop, Redis through reconnecting asynchronous connections (one shared for
 * requests, one per event stream).
 *
 * Life cycle: sched_server_create, sched_server_start (waits for Redis,
 * then listens), event_base_dispatch by the caller, sched_server_stop (from
 * a signal event: stops listening, ends the event streams and lets the loop
 * end), sched_server_destroy. Everything runs on the loop's thread.
 */
#ifndef SCHED_SERVER_H
#define SCHED_SERVER_H

#include <stdint.h>

#include <event2/event.h>

#include "peace/err.h"
#include "peace/item.h"
#include "sched_config.h"

struct sched_server;

/*
 * Returns owned: a server that is not listening yet and has started to
 * connect to Redis. base, cfg and reg are borrowed and must outlive it.
 */
int sched_server_create(struct event_base *base, const struct sched_config *cfg,
                        const struct pc_registry *reg, struct sched_server **out,
                        struct pc_err *err) PC_NODISCARD;

/*
 * Runs the loop until the first connection to Redis succeeds or fails
 * (PC_EREDIS, err names the server and the cause), then binds the listen
 * address (-errno on failure). Logs the address it listens on.
 */
int sched_server_start(struct sched_server *s, struct pc_err *err) PC_NODISCARD;

/* The port the server listens on (useful with port 0); 0 before start. */
uint16_t sched_server_port(const struct sched_server *s);

/* Stops listening, ends every event stream and makes the loop return
 * shortly after (answers in flight get a moment to go out). Idempotent. */
void sched_server_stop(struct sched_server *s);

/* Frees everything; call after the loop returned. Accepts NULL. */
void sched_server_destroy(struct sched_server *s);

#endif /* SCHED_SERVER_H */
