/*
 * web_answer.c - the documents of the HTTP API (docs/http-api.md), built
 * once for every backend from the contract's plain values (CONTRACT §3):
 * meta and progress hashes as field/value lists, reports and states as
 * msgpack. A backend that keeps its executions elsewhere presents them in
 * the same form, so both answer the same JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "sched_json.h"
#include "web_internal.h"

#define RESPONSE_MAX (64u << 20)

void web_answer_list(struct web_call *c, const struct sched_meta *metas, size_t n)
{
    web_answer_page(c, metas, n, NULL);
}

void web_answer_page(struct web_call *c, const struct sched_meta *metas, size_t n,
                     const char *next_cursor)
{
    struct pc_buf b;
    int rc;

    pc_buf_init(&b, RESPONSE_MAX);
    rc = pc_buf_puts(&b, "{\"executions\":[");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = i == 0 ? 0 : pc_buf_puts(&b, ",");
        rc = rc == 0 ? sched_json_execution(&b, &metas[i]) : rc;
    }
    rc = rc == 0 ? pc_buf_puts(&b, "],\"next_cursor\":") : rc;
    if (rc == 0) {
        rc = next_cursor != NULL ? pc_buf_append_json_str(&b, next_cursor, strlen(next_cursor))
                                 : pc_buf_puts(&b, "null");
    }
    rc = rc == 0 ? pc_buf_puts(&b, "}") : rc;
    web_reply_built(c, 200, rc, &b);
    pc_buf_cleanup(&b);
}

void web_answer_get(struct web_call *c, const struct sched_str *meta_kv, size_t n_meta,
                    const struct sched_str *progress_kv, size_t n_progress,
                    const struct sched_str *report)
{
    struct sched_meta m;
    struct pc_buf b;
    int rc;

    sched_meta_from_kv(meta_kv, n_meta, &m);
    pc_buf_init(&b, RESPONSE_MAX);
    rc = pc_buf_puts(&b, "{\"execution\":");
    rc = rc == 0 ? sched_json_execution(&b, &m) : rc;
    rc = rc == 0 ? pc_buf_puts(&b, ",\"items\":") : rc;
    if (rc == 0) {
        rc = sched_json_items(&b, sched_kv_find(meta_kv, n_meta, "items"), progress_kv,
                              progress_kv != NULL ? n_progress : 0);
    }
    rc = rc == 0 ? pc_buf_puts(&b, ",\"report\":") : rc;
    /* The full report when there is one, else the meta hash's summary. */
    if (report == NULL || report->p == NULL || report->n == 0) {
        report = sched_kv_find(meta_kv, n_meta, "report");
    }
    if (rc == 0) {
        rc = sched_json_report(&b, report, sched_kv_find(meta_kv, n_meta, "outcome"),
                               sched_kv_find(meta_kv, n_meta, "error"));
    }
    rc = rc == 0 ? pc_buf_puts(&b, "}") : rc;
    web_reply_built(c, 200, rc, &b);
    pc_buf_cleanup(&b);
}

/* ,"name":N, or ,"name":null for 0. */
static int number_or_null(struct pc_buf *b, const char *name, uint64_t v)
{
    return v > 0 ? pc_buf_appendf(b, ",\"%s\":%llu", name, (unsigned long long)v)
                 : pc_buf_appendf(b, ",\"%s\":null", name);
}

void web_answer_interrupt(struct web_call *c, const char *status, bool requested,
                          const struct pc_interrupt_req *r, uint64_t requested_ms,
                          const struct web_interrupt_seen *seen)
{
    struct pc_buf b;
    int rc;

    if (requested && r != NULL && (unsigned)r->mode < SCHED_MODE_COUNT) {
        c->srv->http_counts.interrupts[r->mode]++;
    }
    pc_buf_init(&b, 4096);
    rc = pc_buf_appendf(&b, "{\"id\":\"%s\",\"status\":", c->route.id);
    rc = rc == 0 ? pc_buf_append_json_str(&b, status, strlen(status)) : rc;
    rc = rc == 0 ? pc_buf_appendf(&b, ",\"requested\":%s", requested ? "true" : "false") : rc;
    /* The receipt: what was asked and when; the executor records when it
     * latched it (interrupt_latched_ms) and the outcome on the execution. */
    if (rc == 0 && requested) {
        rc =
            pc_buf_appendf(&b, ",\"mode\":\"%s\",\"deadline_ms\":%llu,\"requested_ms\":%llu",
                           pc_interrupt_mode_name(r->mode),
                           (unsigned long long)(r->has_deadline ? r->deadline_ms
                                                                : PC_INTERRUPT_DEADLINE_DEFAULT_MS),
                           (unsigned long long)requested_ms);
    }
    /* What the executor made of it, as read back before answering. */
    if (rc == 0 && seen != NULL) {
        rc = number_or_null(&b, "latched_ms", seen->latched_ms);
        rc = rc == 0 ? pc_buf_appendf(&b, ",\"escalations\":%llu",
                                      (unsigned long long)seen->escalations)
                     : rc;
        if (rc == 0 && seen->mode[0] != '\0') {
            rc = pc_buf_puts(&b, ",\"mode_in_effect\":");
            rc = rc == 0 ? pc_buf_append_json_str(&b, seen->mode, strlen(seen->mode)) : rc;
        }
        if (rc == 0 && seen->waited) {
            if (seen->outcome[0] != '\0') {
                rc = pc_buf_puts(&b, ",\"outcome\":");
                rc =
                    rc == 0 ? pc_buf_append_json_str(&b, seen->outcome, strlen(seen->outcome)) : rc;
            } else {
                rc = pc_buf_puts(&b, ",\"outcome\":null");
            }
            rc = rc == 0 ? number_or_null(&b, "finished_ms", seen->finished_ms) : rc;
        }
    }
    rc = rc == 0 ? pc_buf_puts(&b, "}") : rc;
    web_reply_built(c, 202, rc, &b);
    pc_buf_cleanup(&b);
}

void web_answer_states(struct web_call *c, const struct sched_str *current, size_t n_current,
                       const struct sched_str *goal, size_t n_goal)
{
    const struct sched_route *r = &c->route;
    const struct sched_str *kv[2] = {current, goal};
    size_t n[2] = {n_current, n_goal};
    struct pc_buf b;
    struct pc_err err;
    int rc;

    pc_err_clear(&err);
    pc_buf_init(&b, RESPONSE_MAX);
    rc = pc_buf_appendf(&b,
                        "{\"app\":\"%s\",\"profile\":\"%s\",\"flow\":\"%s\",\"current\":", r->app.s,
                        r->profile.s, r->flow.s);
    for (size_t k = 0; rc == 0 && k < 2; k++) {
        rc = k == 1 ? pc_buf_puts(&b, ",\"goal\":") : 0;
        if (rc == 0) {
            rc = kv[k] != NULL ? sched_json_states(&b, kv[k], n[k], &err) : pc_buf_puts(&b, "{}");
        }
    }
    rc = rc == 0 ? pc_buf_puts(&b, "}") : rc;
    if (rc == PC_ESCHEMA) {
        web_reply_code(c, SCHED_INTERNAL, "%s", err.msg);
    } else {
        web_reply_built(c, 200, rc, &b);
    }
    pc_buf_cleanup(&b);
}

void web_answer_submitted(struct web_call *c, const char *id)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
    char location[128];
    struct pc_buf b;
    int rc;

    (void)snprintf(location, sizeof(location), "/v1/executions/%s", id);
    (void)evhttp_add_header(h, "Location", location);
    pc_buf_init(&b, 4096);
    rc = pc_buf_appendf(&b, "{\"id\":\"%s\",\"status\":\"queued\"}", id);
    web_reply_built(c, 202, rc, &b);
    pc_buf_cleanup(&b);
}

void web_answer_health(struct web_call *c, const char *why)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    struct pc_buf b;
    int rc;

    if (why == NULL) {
        web_reply_raw(c, 200, "application/json", ok, sizeof(ok) - 1);
        return;
    }
    pc_buf_init(&b, 4096);
    rc = pc_buf_puts(&b, "{\"status\":\"unavailable\",\"error\":");
    rc = rc == 0 ? pc_buf_append_json_str(&b, why, strlen(why)) : rc;
    rc = rc == 0 ? pc_buf_puts(&b, "}") : rc;
    if (rc == 0) {
        web_reply_json(c, 503, &b);
    } else {
        web_reply_code(c, SCHED_INTERNAL, "cannot build the answer");
    }
    pc_buf_cleanup(&b);
}

void web_answer_metrics(struct web_call *c, struct sched_metrics *m)
{
    struct pc_buf b;
    int rc;

    m->http = &c->srv->http_counts;
    m->sse_streams = c->srv->n_streams;
    m->conns_open = c->srv->n_conns;
    m->conns_max = c->srv->o.max_connections;
    m->conns_refused = c->srv->conns_refused;
    m->requests_expired = c->srv->conns_expired;
    pc_buf_init(&b, RESPONSE_MAX);
    rc = sched_metrics_render(m, &b);
    if (rc != 0) {
        web_reply_code(c, SCHED_INTERNAL, "cannot build the metrics (%s)", pc_strerror(rc));
    } else {
        web_reply_raw(c, 200, "text/plain; version=0.0.4; charset=utf-8", pc_buf_str(&b), b.len);
    }
    pc_buf_cleanup(&b);
}
