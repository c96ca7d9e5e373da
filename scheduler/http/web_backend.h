/*
 * web_backend.h - what a backend of the HTTP layer (web_server.h) provides
 * and what it may call.
 *
 * A backend is an ops table and a context. The layer calls an op once per
 * request that passed every check (guard, body size, parameters), with the
 * request as a `struct web_call`; the backend answers that call exactly
 * once, at once or from a later callback on the loop, with one web_answer_*
 * (the API's documents, built here so every backend answers the same JSON)
 * or web_reply_* function. The call is freed by its answer: it must not be
 * used after. A call still unanswered when the server is destroyed is the
 * backend's bug.
 *
 * Two backends exist: the Redis one of peace-scheduler (scheduler/src) and
 * the in-process one of `peace run --local --listen` (scheduler/cli).
 *
 * Adding a route: a row in the route table (sched_http.c) with a new
 * enum sched_route_kind, and a handler in a new file of the backend that
 * serves it, called from the backend's `route` op. Routes the layer does not
 * know are handed to `route`; a backend without it answers 404.
 */
#ifndef WEB_BACKEND_H
#define WEB_BACKEND_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/http.h>

#include "peace/buf.h"
#include "peace/interrupt.h"
#include "sched_http.h"
#include "sched_json.h"
#include "sched_metrics.h"

struct web_call;
struct web_stream;

/* POST /v1/executions/{id}/interrupt, parsed: mode, deadline and reason. */
struct web_interrupt {
    struct pc_interrupt_req req; /* reason fields unused: see reason */
    const char *reason;          /* never empty (a default is filled in) */
    /* ?wait=MS: answer once the execution finished, or after MS
     * (1..WEB_INTERRUPT_WAIT_MAX_MS); 0 = answer once the request is latched
     * (at most WEB_INTERRUPT_LATCH_WAIT_MS after publishing it). */
    uint32_t wait_ms;
};

#define WEB_INTERRUPT_WAIT_MAX_MS   300000u
#define WEB_INTERRUPT_LATCH_WAIT_MS 500u

/* What the executor made of an interrupt, read back before answering. */
struct web_interrupt_seen {
    uint64_t latched_ms;  /* 0: not latched (yet) */
    uint64_t escalations; /* steps up since the first request */
    const char *mode;     /* the mode in effect; "" = not known */
    const char *outcome;  /* "" = not finished */
    uint64_t finished_ms; /* 0 = not finished */
    bool waited;          /* ?wait was given: the outcome fields are answered */
};

struct web_backend_ops {
    /* GET /healthz: web_answer_health. */
    void (*healthz)(void *be, struct web_call *c);
    /* GET /metrics: fill a struct sched_metrics, then web_answer_metrics. */
    void (*metrics)(void *be, struct web_call *c);
    /* GET /v1/executions?limit=: the limit newest, web_answer_list. */
    void (*list)(void *be, struct web_call *c, size_t limit);
    /* GET /v1/executions/{id}: web_answer_get, or 404 execution_not_found. */
    void (*get)(void *be, struct web_call *c, const char *id);
    /* GET /v1/executions/{id}/events from after last_id ("0-0" = the
     * start): web_stream_open, or 404 execution_not_found. */
    void (*follow)(void *be, struct web_call *c, const char *id, const char *last_id);
    /* POST /v1/executions/{id}/interrupt: web_answer_interrupt. */
    void (*interrupt)(void *be, struct web_call *c, const char *id, const struct web_interrupt *ir);
    /* GET /v1/states/{app}/{profile}/{flow}: web_answer_states. */
    void (*states)(void *be, struct web_call *c, const struct sched_route *r);
    /* POST /v1/executions with the body (p, n): web_answer_submitted. NULL:
     * this backend cannot start executions (405 with submit_why). */
    void (*submit)(void *be, struct web_call *c, const char *body, size_t n);
    /* Any other route of the table. NULL: 404. */
    void (*route)(void *be, struct web_call *c);
    /* Why submit is NULL, for the 405 message. */
    const char *submit_why;
};

/* ------------------------------------------------------------------------ */
/* The call                                                                  */

/* The matched route and its parameters. */
const struct sched_route *web_call_route(const struct web_call *c);

/* The request (for a `route` op reading headers or the body). */
struct evhttp_request *web_call_request(const struct web_call *c);

/* The raw query string (may be NULL). */
const char *web_call_query(const struct web_call *c);

/* Sends status with body (p, n) of content type ctype; frees c. */
void web_reply_raw(struct web_call *c, int status, const char *ctype, const void *p, size_t n);

/* A JSON document; frees c. */
void web_reply_json(struct web_call *c, int status, const struct pc_buf *b);

/* The JSON error of f; frees c. */
void web_reply_fail(struct web_call *c, const struct sched_fail *f);

/* The JSON error code with a printf-formatted message; frees c. */
void web_reply_code(struct web_call *c, enum sched_code code, const char *fmt, ...) PC_PRINTF(3, 4);

/* web_reply_code with a va_list (for a backend's own variadic wrappers). */
void web_reply_vcode(struct web_call *c, enum sched_code code, const char *fmt, va_list ap)
    PC_PRINTF(3, 0);

/* b as JSON with status when rc == 0, else 500; frees c. */
void web_reply_built(struct web_call *c, int status, int rc, const struct pc_buf *b);

/* ------------------------------------------------------------------------ */
/* The documents (docs/http-api.md), each answering and freeing c            */

/* {"executions":[...],"next_cursor":null}: metas[0..n) (absent ids already skipped). */
void web_answer_list(struct web_call *c, const struct sched_meta *metas, size_t n);

/* The same with the cursor of the next page (NULL: the last page). */
void web_answer_page(struct web_call *c, const struct sched_meta *metas, size_t n,
                     const char *next_cursor);

/*
 * {"execution", "items", "report"} from the meta hash (a flat field/value
 * list), the progress hash (may be NULL) and the full msgpack report (may be
 * NULL or empty: the meta's summary is used).
 */
void web_answer_get(struct web_call *c, const struct sched_str *meta_kv, size_t n_meta,
                    const struct sched_str *progress_kv, size_t n_progress,
                    const struct sched_str *report);

/*
 * The interrupt's receipt: 202 {"id","status","requested"[,"mode","deadline_ms",
 * "requested_ms"],"latched_ms","escalations","mode_in_effect"[,"outcome","finished_ms"]}
 * (docs/http-api.md); seen may be NULL (nothing read back).
 */
void web_answer_interrupt(struct web_call *c, const char *status, bool requested,
                          const struct pc_interrupt_req *r, uint64_t requested_ms,
                          const struct web_interrupt_seen *seen);

/* {"app","profile","flow","current","goal"}: the two states hashes as flat
 * field/msgpack-value lists; NULL for none ({}). */
void web_answer_states(struct web_call *c, const struct sched_str *current, size_t n_current,
                       const struct sched_str *goal, size_t n_goal);

/* 202 {"id","status":"queued"} with its Location. */
void web_answer_submitted(struct web_call *c, const char *id);

/* 200 {"status":"ok"} when why is NULL, else 503 {"status":"unavailable","error":why}. */
void web_answer_health(struct web_call *c, const char *why);

/* The metrics text: m's counts plus the layer's own (answers, streams). */
void web_answer_metrics(struct web_call *c, struct sched_metrics *m);

/* ------------------------------------------------------------------------ */
/* Event streams                                                             */

/* What feeds a stream. close runs once, when the stream goes away (the
 * client left, the stream ended, the server stops): the source frees
 * itself there and never touches the stream again. */
struct web_source_ops {
    void (*close)(void *src);
};

/*
 * Turns the call into an event stream fed by src. On success the call is
 * gone (the stream answers the request from here on) and *out is the
 * stream; on failure (too many streams, shutting down, out of memory) fail
 * is set and the caller still owns c and src.
 */
int web_stream_open(struct web_call *c, const struct web_source_ops *ops, void *src,
                    struct web_stream **out, struct sched_fail *fail) PC_NODISCARD;

/*
 * True while the client resumes (it sent a last event id): nothing is sent
 * until the source either sends an event (the 200 stream starts) or calls
 * web_stream_no_content (the execution is over and nothing follows).
 */
bool web_stream_probing(const struct web_stream *st);

/* Starts the 200 response if not yet (a probe that found the run going on). */
void web_stream_start(struct web_stream *st);

/* Frames one stream entry (sched_sse_frame) and sends it; *outcome says
 * whether it was the `outcome` event. Returns 0 or an error (the stream
 * is then ended). */
int web_stream_event(struct web_stream *st, const char *id, const struct sched_str *kv, size_t n,
                     bool *outcome) PC_NODISCARD;

/* Sends (p, n) of already framed events. */
void web_stream_send(struct web_stream *st, const char *p, size_t n);

/* Ends the stream (why is logged unless NULL); the source's close follows. */
void web_stream_end(struct web_stream *st, const char *why);

/* A resuming client whose execution is over: 204; the source's close follows. */
void web_stream_no_content(struct web_stream *st);

/*
 * May more be sent now? 1: yes; 0: the client reads slowly, try again in
 * about 100 ms; -1: the stream ended (the client stopped reading for a
 * minute).
 */
int web_stream_writable(struct web_stream *st);

/* True once the stream ended (nothing more is sent). */
bool web_stream_over(const struct web_stream *st);

#endif /* WEB_BACKEND_H */
