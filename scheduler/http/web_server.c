/*
 * web_server.c - the HTTP layer's server: evhttp set-up, the checks every
 * request goes through, the dispatch of a route to the backend, the
 * replies, and the life cycle.
 *
 * Order of checks for every request: the guard (sched_guard.h: Host,
 * Origin, route and method, token scope, media type, parameters), body
 * size, then the route's own query or body syntax; the backend sees only
 * requests that passed all of them.
 */
#include "web_server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "sched_json.h"
#include "sched_log.h"
#include "sched_openapi.h"
#include "sched_page.h"
#include "sched_submit.h"
#include "web_internal.h"

#define HEADERS_MAX     ((ev_ssize_t)64 * 1024)
#define LIST_DEFAULT    50
#define LIST_MAX        1000
#define STOP_GRACE_MS   200
#define DEFAULT_REASON  "requested with the HTTP API"
#define QUERY_VALUE_MAX 64

/* ------------------------------------------------------------------------ */
/* Time, logging                                                             */

uint64_t web_mono_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t web_unix_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void web__request_done(struct web_server *s, const char *method, const char *path, int status,
                       uint64_t t0_ms)
{
    sched_http_count(&s->http_counts, status);
    if (s->o.log_requests) {
        sched_log("%s %s %d %llums", method, path, status,
                  (unsigned long long)(web_mono_ms() - t0_ms));
    }
}

static const char *method_text(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    default:
        return "?";
    }
}

static enum sched_method method_kind(enum evhttp_cmd_type t)
{
    return t == EVHTTP_REQ_GET    ? SCHED_METHOD_GET
           : t == EVHTTP_REQ_HEAD ? SCHED_METHOD_HEAD
           : t == EVHTTP_REQ_POST ? SCHED_METHOD_POST
                                  : SCHED_METHOD_OTHER;
}

/* ------------------------------------------------------------------------ */
/* The call and its replies                                                  */

const struct sched_route *web_call_route(const struct web_call *c)
{
    return &c->route;
}

struct evhttp_request *web_call_request(const struct web_call *c)
{
    return c->req;
}

const char *web_call_query(const struct web_call *c)
{
    return c->query;
}

void web__call_free(struct web_call *c)
{
    free(c);
}

void web_reply_raw(struct web_call *c, int status, const char *ctype, const void *p, size_t n)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
    struct evbuffer *body = evbuffer_new();

    /* A 202 of these routes queued an execution. */
    if (status == 202) {
        struct sched_http_counts *k = &c->srv->http_counts;

        k->submitted[SCHED_VIA_SUBMIT] += c->route.kind == SCHED_ROUTE_SUBMIT ? 1u : 0u;
        k->submitted[SCHED_VIA_RERUN] += c->route.kind == SCHED_ROUTE_RERUN ? 1u : 0u;
        k->submitted[SCHED_VIA_RETRY] += c->route.kind == SCHED_ROUTE_RETRY ? 1u : 0u;
    }

    (void)evhttp_add_header(h, "Content-Type", ctype);
    (void)evhttp_add_header(h, "Cache-Control", "no-store");
    (void)evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    if (c->srv->o.backend_name != NULL) {
        (void)evhttp_add_header(h, "X-Peace-Backend", c->srv->o.backend_name);
    }
    if (status == 401) {
        (void)evhttp_add_header(h, "WWW-Authenticate", "Bearer realm=\"peace\"");
    }
    web__conn_answering(c->srv, c->req);
    if (body == NULL || (n > 0 && evbuffer_add(body, p, n) != 0)) {
        /* No memory for the body: an empty answer is still an answer. */
        if (body != NULL) {
            evbuffer_free(body);
        }
        body = NULL;
        status = 500;
    }
    evhttp_send_reply(c->req, status, NULL, body);
    if (body != NULL) {
        evbuffer_free(body);
    }
    web__request_done(c->srv, c->method, c->log_path, status, c->t0);
    web__call_free(c);
}

void web_reply_json(struct web_call *c, int status, const struct pc_buf *b)
{
    web_reply_raw(c, status, "application/json", pc_buf_str(b), b->len);
}

void web_reply_fail(struct web_call *c, const struct sched_fail *f)
{
    struct pc_buf b;
    int status = sched_code_status(f->code);

    if (c->route.kind == SCHED_ROUTE_SUBMIT && (unsigned)f->code < SCHED_REJECT_CODES) {
        c->srv->http_counts.rejected[f->code]++;
    }
    pc_buf_init(&b, 4096);
    if (f->code == SCHED_INTERNAL) {
        sched_log("%s %s: internal error: %s", c->method, c->log_path, f->msg);
    }
    if (sched_json_error(&b, f->code, f->msg) != 0) {
        static const char fallback[] = "{\"error\":\"internal error\",\"code\":\"internal\"}";

        pc_buf_cleanup(&b);
        web_reply_raw(c, 500, "application/json", fallback, sizeof(fallback) - 1);
        return;
    }
    web_reply_json(c, status, &b);
    pc_buf_cleanup(&b);
}

void web_reply_vcode(struct web_call *c, enum sched_code code, const char *fmt, va_list ap)
{
    struct sched_fail f;

    f.code = code;
    (void)vsnprintf(f.msg, sizeof(f.msg), fmt, ap);
    web_reply_fail(c, &f);
}

void web_reply_code(struct web_call *c, enum sched_code code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    web_reply_vcode(c, code, fmt, ap);
    va_end(ap);
}

void web_reply_built(struct web_call *c, int status, int rc, const struct pc_buf *b)
{
    if (rc != 0) {
        web_reply_code(c, SCHED_INTERNAL, "cannot build the answer (%s)", pc_strerror(rc));
        return;
    }
    web_reply_json(c, status, b);
}

/* ------------------------------------------------------------------------ */
/* Routes the layer parses before the backend                                */

/* The body (may be empty), or NULL when out of memory (answered). */
static const char *call_body(struct web_call *c, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
    const char *body = NULL;

    *len = evbuffer_get_length(in);
    body = *len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
    if (body == NULL) {
        web_reply_code(c, SCHED_INTERNAL, "out of memory");
    }
    return body;
}

static void handle_list(struct web_call *c)
{
    const struct web_backend_ops *ops = c->srv->o.ops;
    char value[QUERY_VALUE_MAX];
    unsigned long long limit = LIST_DEFAULT;
    bool found = false;

    if (sched_query_get(c->query, "limit", value, sizeof(value), &found) != 0 ||
        (found && sched_parse_count(value, 1, LIST_MAX, &limit) != 0)) {
        web_reply_code(c, SCHED_BAD_REQUEST, "limit must be a number in 1..%d", LIST_MAX);
        return;
    }
    ops->list(c->srv->o.backend, c, (size_t)limit);
}

static void handle_events(struct web_call *c)
{
    struct web_server *s = c->srv;
    const char *header =
        evhttp_find_header(evhttp_request_get_input_headers(c->req), "Last-Event-ID");
    bool found = false;

    if (header != NULL && header[0] != '\0') {
        if (strlen(header) > SCHED_STREAM_ID_MAX || !sched_stream_id_valid(header)) {
            web_reply_code(c, SCHED_BAD_REQUEST, "Last-Event-ID is not a stream entry id");
            return;
        }
        memcpy(c->last_id, header, strlen(header) + 1);
    } else if (sched_query_get(c->query, "last_event_id", c->last_id, sizeof(c->last_id), &found) !=
                   0 ||
               (found && c->last_id[0] != '\0' && !sched_stream_id_valid(c->last_id))) {
        web_reply_code(c, SCHED_BAD_REQUEST, "last_event_id is not a stream entry id");
        return;
    }
    if (c->last_id[0] == '\0') {
        memcpy(c->last_id, "0-0", 4);
    }
    if (s->stopping || s->n_streams >= s->o.max_sse) {
        web_reply_code(c, SCHED_TOO_MANY_STREAMS, "%s",
                       s->stopping ? "the server is shutting down"
                                   : "every event stream is in use; retry later");
        return;
    }
    s->o.ops->follow(s->o.backend, c, c->route.id, c->last_id);
}

static void handle_interrupt(struct web_call *c)
{
    char reason[MSG_EVENT_REASON_MAX + 1];
    struct web_interrupt ir;
    struct sched_fail fail;
    size_t len = 0;
    const char *body = call_body(c, &len);

    if (body == NULL) {
        return;
    }
    memset(&ir, 0, sizeof(ir));
    if (sched_interrupt_parse_mode(body, len, reason, sizeof(reason), &ir.req, &fail) != 0) {
        web_reply_fail(c, &fail);
        return;
    }
    if (reason[0] == '\0') {
        memcpy(reason, DEFAULT_REASON, sizeof(DEFAULT_REASON));
    }
    ir.reason = reason;
    {
        char value[32];
        unsigned long long wait = 0;
        bool found = false;

        if (sched_query_get(c->query, "wait", value, sizeof(value), &found) != 0 ||
            (found && sched_parse_count(value, 1, WEB_INTERRUPT_WAIT_MAX_MS, &wait) != 0)) {
            web_reply_code(c, SCHED_BAD_REQUEST, "wait must be a number of ms in 1..%u",
                           WEB_INTERRUPT_WAIT_MAX_MS);
            return;
        }
        ir.wait_ms = (uint32_t)wait;
    }
    c->srv->o.ops->interrupt(c->srv->o.backend, c, c->route.id, &ir);
}

static void handle_submit(struct web_call *c)
{
    const struct web_backend_ops *ops = c->srv->o.ops;
    size_t len = 0;
    const char *body = NULL;

    if (ops->submit == NULL) {
        web_reply_code(c, SCHED_METHOD_NOT_ALLOWED, "%s",
                       ops->submit_why != NULL ? ops->submit_why
                                               : "this server cannot start executions");
        return;
    }
    body = call_body(c, &len);
    if (body != NULL) {
        ops->submit(c->srv->o.backend, c, body, len);
    }
}

static void dispatch(struct web_call *c)
{
    struct web_server *s = c->srv;
    const struct web_backend_ops *ops = s->o.ops;
    void *be = s->o.backend;

    switch (c->route.kind) {
    case SCHED_ROUTE_PAGE:
        web_reply_raw(c, 200, "text/html; charset=utf-8", sched_page_html, sched_page_html_len);
        return;
    case SCHED_ROUTE_HEALTHZ:
        ops->healthz(be, c);
        return;
    case SCHED_ROUTE_METRICS:
        ops->metrics(be, c);
        return;
    case SCHED_ROUTE_SUBMIT:
        handle_submit(c);
        return;
    case SCHED_ROUTE_LIST:
        handle_list(c);
        return;
    case SCHED_ROUTE_GET:
        ops->get(be, c, c->route.id);
        return;
    case SCHED_ROUTE_EVENTS:
        handle_events(c);
        return;
    case SCHED_ROUTE_INTERRUPT:
        handle_interrupt(c);
        return;
    case SCHED_ROUTE_STATES:
        ops->states(be, c, &c->route);
        return;
    case SCHED_ROUTE_OPENAPI:
        web_reply_raw(c, 200, "application/json", sched_openapi_json, sched_openapi_json_len);
        return;
    default:
        break;
    }
    if (ops->route != NULL) {
        ops->route(be, c);
        return;
    }
    web_reply_code(c, SCHED_NOT_FOUND, "no such route on this server");
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct web_server *s = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    char path[SCHED_PATH_MAX + 2];
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    struct web_call *c = calloc(1, sizeof(*c));
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct sched_request rq;
    struct sched_fail fail;
    size_t body_len;

    if (!web__conn_request_read(s, req)) {
        free(c); /* over the connection cap: the socket is being shut */
        evhttp_send_error(req, 503, NULL);
        return;
    }
    if (c == NULL) {
        evhttp_send_error(req, 500, NULL);
        web__request_done(s, method_text(cmd), "?", 500, web_mono_ms());
        return;
    }
    c->srv = s;
    c->req = req;
    c->t0 = web_mono_ms();
    c->query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
    (void)snprintf(c->method, sizeof(c->method), "%s", method_text(cmd));
    sched_log_target(evhttp_request_get_uri(req), c->log_path, sizeof(c->log_path));
    /* The path as sent: the URI parser reads "//x" as a host. */
    sched_request_path(evhttp_request_get_uri(req), uri != NULL ? evhttp_uri_get_path(uri) : NULL,
                       path, sizeof(path));
    memset(&rq, 0, sizeof(rq));
    rq.method = method_kind(cmd);
    rq.path = path;
    rq.query = c->query;
    rq.authorization = evhttp_find_header(in, "Authorization");
    rq.content_type = evhttp_find_header(in, "Content-Type");
    rq.host = evhttp_find_header(in, "Host");
    rq.origin = evhttp_find_header(in, "Origin");
    /* Route, permission, token, Host, Origin and media type: one decision. */
    if (sched_guard_decide(&s->o.guard, &rq, &c->route, NULL, &fail) != 0) {
        struct sched_route r;

        /* The refused request's route (when it names one), for the counters. */
        c->route.kind =
            sched_route_find(rq.method, path, &r, NULL, NULL) == 0 ? r.kind : SCHED_ROUTE_PAGE;
        web_reply_fail(c, &fail);
        return;
    }
    /* evhttp refused far larger bodies itself (see web_server_create). */
    body_len = evbuffer_get_length(evhttp_request_get_input_buffer(req));
    if (body_len > s->o.max_body) {
        web_reply_code(c, SCHED_BODY_TOO_LARGE, "the body is over %zu bytes", s->o.max_body);
        return;
    }
    dispatch(c);
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */

static void on_libevent_log(int severity, const char *msg)
{
    if (severity >= EVENT_LOG_WARN) {
        sched_log("libevent: %s", msg);
    }
}

static void on_stop_timer(evutil_socket_t fd, short what, void *arg)
{
    struct web_server *s = arg;

    (void)fd;
    (void)what;
    (void)event_base_loopexit(s->o.base, NULL);
}

int web_server_create(const struct web_server_opts *opts, struct web_server **out,
                      struct pc_err *err)
{
    struct web_server *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    s->o = *opts;
    event_set_log_callback(on_libevent_log);
    s->http = evhttp_new(s->o.base);
    s->stop_timer = evtimer_new(s->o.base, on_stop_timer, s);
    if (s->http == NULL || s->stop_timer == NULL) {
        web_server_destroy(s);
        return pc_err_set(err, PC_ENOMEM, "cannot create the HTTP server");
    }
    /* Two tiers: evhttp stops reading a body a quarter over the limit (its
     * 413 has an HTML body: it answers before any callback of ours); a
     * body between the limit and that is read and refused here, in JSON
     * with the code body_too_large. */
    evhttp_set_max_body_size(s->http, (ev_ssize_t)(s->o.max_body + s->o.max_body / 4));
    evhttp_set_max_headers_size(s->http, HEADERS_MAX);
    /* A connection that sends nothing for this long while a request is
     * read (or between requests) is closed: half-sent requests end. */
    evhttp_set_timeout(s->http, (int)s->o.read_timeout_s);
    /* Every method reaches the router, which answers 405 in JSON. */
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(s->http, on_request, s);
    if (web__conn_setup(s) != 0) {
        web_server_destroy(s);
        return pc_err_set(err, PC_ENOMEM, "cannot create the HTTP server");
    }
    *out = s;
    return 0;
}

/* The listen host resolves to an address (one line, not libevent's). */
static int listen_host_check(const char *host, struct pc_err *err)
{
    struct addrinfo hints;
    struct addrinfo *ai = NULL;
    int g;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    g = getaddrinfo(host, NULL, &hints, &ai);
    if (g != 0) {
        return pc_err_set(err, PC_EINVAL,
                          "cannot listen on %s: not an address or a known host (%s)", host,
                          gai_strerror(g));
    }
    freeaddrinfo(ai);
    return 0;
}

int web_server_listen(struct web_server *s, struct pc_err *err)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int rc = listen_host_check(s->o.listen_host, err);

    if (rc != 0) {
        return rc;
    }
    errno = 0;
    s->bound = evhttp_bind_socket_with_handle(s->http, s->o.listen_host, s->o.listen_port);
    if (s->bound == NULL) {
        int e = errno;
        char why[128];

        /* The XSI strerror_r: thread-safe, unlike strerror. */
        if (e == 0 || strerror_r(e, why, sizeof(why)) != 0) {
            (void)snprintf(why, sizeof(why), "bind failed");
        }
        return pc_err_set(err, e != 0 ? -e : PC_EIO, "cannot listen on %s:%u: %s", s->o.listen_host,
                          (unsigned)s->o.listen_port, why);
    }
    memset(&ss, 0, sizeof(ss));
    if (getsockname(evhttp_bound_socket_get_fd(s->bound), (struct sockaddr *)&ss, &len) == 0) {
        s->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                           : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    return 0;
}

uint16_t web_server_port(const struct web_server *s)
{
    return s->port;
}

bool web_server_stopping(const struct web_server *s)
{
    return s->stopping;
}

void web_server_stop(struct web_server *s, bool exit_loop)
{
    struct timeval grace = {0, (suseconds_t)STOP_GRACE_MS * 1000};

    if (s->stopping) {
        return;
    }
    s->stopping = true;
    if (s->bound != NULL) {
        evhttp_del_accept_socket(s->http, s->bound);
        s->bound = NULL;
    }
    web__sse_end_all(s);
    /* A moment for answers in flight. */
    if (exit_loop) {
        (void)evtimer_add(s->stop_timer, &grace);
    }
}

void web_server_close_streams(struct web_server *s)
{
    if (s != NULL) {
        web__sse_destroy_all(s);
    }
}

void web_server_destroy(struct web_server *s)
{
    if (s == NULL) {
        return;
    }
    web__sse_destroy_all(s);
    if (s->http != NULL) {
        evhttp_free(s->http);
    }
    web__conn_destroy_all(s);
    if (s->stop_timer != NULL) {
        event_free(s->stop_timer);
    }
    free(s);
}
