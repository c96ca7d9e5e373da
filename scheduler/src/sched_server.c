/*
 * sched_server.c - peace-scheduler's service: the HTTP layer
 * (scheduler/http, web_server.h) over the Redis backend (redis_backend.h).
 * This file only wires the two and the life cycle.
 */
#include "sched_server.h"

#include <stdlib.h>
#include <string.h>

#include "redis_backend.h"
#include "sched_log.h"
#include "web_server.h"

struct sched_server {
    struct event_base *base;        /* borrowed */
    const struct sched_config *cfg; /* borrowed */
    struct redis_backend *rb;       /* owned */
    struct web_server *ws;          /* owned */
};

int sched_server_create(struct event_base *base, const struct sched_config *cfg,
                        const struct pc_registry *reg, struct sched_server **out,
                        struct pc_err *err)
{
    struct sched_server *s = calloc(1, sizeof(*s));
    struct web_server_opts wo;
    int rc;

    if (s == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    s->base = base;
    s->cfg = cfg;
    rc = redis_backend_create(base, cfg, reg, &s->rb, err);
    if (rc == 0) {
        memset(&wo, 0, sizeof(wo));
        wo.base = base;
        sched_guard_from_config(cfg, &wo.guard);
        wo.listen_host = cfg->listen_host;
        wo.listen_port = cfg->listen_port;
        wo.max_body = cfg->max_body;
        wo.read_timeout_s = (unsigned)cfg->read_timeout_s;
        wo.request_timeout_s = cfg->request_timeout_s;
        wo.max_connections = cfg->max_connections;
        wo.max_sse = cfg->max_sse;
        wo.log_requests = true;
        wo.backend_name = "fleet";
        wo.ops = redis_backend_ops();
        wo.backend = s->rb;
        rc = web_server_create(&wo, &s->ws, err);
    }
    if (rc != 0) {
        sched_server_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

int sched_server_start(struct sched_server *s, struct pc_err *err)
{
    int rc = redis_backend_wait_ready(s->rb, err);

    rc = rc == 0 ? web_server_listen(s->ws, err) : rc;
    if (rc != 0) {
        return rc;
    }
    sched_log("listening on %s:%u (redis %s, prefix %s, queue %s, %s)", s->cfg->listen_host,
              (unsigned)web_server_port(s->ws), redis_backend_where(s->rb), s->cfg->prefix,
              s->cfg->queue.s,
              s->cfg->no_auth ? "no authentication (--no-auth)" : "token required");
    return 0;
}

uint16_t sched_server_port(const struct sched_server *s)
{
    return web_server_port(s->ws);
}

void sched_server_stop(struct sched_server *s)
{
    if (web_server_stopping(s->ws)) {
        return;
    }
    sched_log("stopping");
    web_server_stop(s->ws, true);
}

void sched_server_destroy(struct sched_server *s)
{
    if (s == NULL) {
        return;
    }
    /* Streams first (they hold requests of the server), then the backend:
     * its pending callbacks answer their requests (503), which needs the
     * server alive. */
    web_server_close_streams(s->ws);
    redis_backend_destroy(s->rb);
    web_server_destroy(s->ws);
    free(s);
}
