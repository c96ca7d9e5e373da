/*
 * redis_backend.h - peace-scheduler's backend of the HTTP layer
 * (web_backend.h): executions, progress, events, states and queues in Redis
 * (CONTRACT §3, docs/fleet.md), through one shared, reconnecting
 * asynchronous connection for requests and one per event stream.
 *
 * The backend holds no execution state: several schedulers can serve the
 * same Redis side by side. Everything runs on the loop's thread.
 */
#ifndef REDIS_BACKEND_H
#define REDIS_BACKEND_H

#include <event2/event.h>

#include "peace/err.h"
#include "peace/item.h"
#include "sched_config.h"
#include "web_backend.h"

struct redis_backend;

/* Returns owned: a backend that has started to connect to Redis. base, cfg
 * and reg are borrowed and must outlive it. */
int redis_backend_create(struct event_base *base, const struct sched_config *cfg,
                         const struct pc_registry *reg, struct redis_backend **out,
                         struct pc_err *err) PC_NODISCARD;

/* Runs the loop until the first connection to Redis succeeds or fails
 * (PC_EREDIS, err names the server and the cause). */
int redis_backend_wait_ready(struct redis_backend *rb, struct pc_err *err) PC_NODISCARD;

/* "host:port" of the Redis server, for messages. */
const char *redis_backend_where(const struct redis_backend *rb);

/* The ops table (static storage); the backend is their first argument. */
const struct web_backend_ops *redis_backend_ops(void);

/* Frees the backend: calls in flight are answered (503) first, so the HTTP
 * server must still exist. Accepts NULL. */
void redis_backend_destroy(struct redis_backend *rb);

#endif /* REDIS_BACKEND_H */
