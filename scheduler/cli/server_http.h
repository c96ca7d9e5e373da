/*
 * server_http.h - the CLI's HTTP client of peace-scheduler: libevent's
 * evhttp on the CLI's own event loop, http:// only.
 *
 * The only file that speaks evhttp's error model: a request that got no
 * response (refused, reset, timed out, a response too large or malformed)
 * comes back as PC_EIO with one line naming the server; any response, 2xx or
 * not, comes back as 0 with its status and body, and the caller reads the
 * {"error","code"} body of a failure with cli_http_error_line.
 *
 * Two connections: one for calls (each a request and its whole response),
 * one for the event stream (a long response read as it arrives), so a call
 * such as an interrupt can be made while the stream is being followed.
 */
#ifndef PEACE_CLI_SERVER_HTTP_H
#define PEACE_CLI_SERVER_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>
#include <event2/http.h>

#include "peace/buf.h"
#include "peace/err.h"

/* Longest response body of a call (a list of 1000 executions is far less). */
#define CLI_HTTP_BODY_MAX (64u << 20)
/* A call that gets no answer within this is abandoned. */
#define CLI_HTTP_TIMEOUT_S 30
/* The event stream sends a keepalive every 15 s: silence this long means it is dead. */
#define CLI_HTTP_STREAM_TIMEOUT_S 45
/* Longest bearer token sent (the scheduler's own limit is lower). */
#define CLI_HTTP_TOKEN_MAX 4096

struct cli_http;

/* A response: status 100..599, body owned (pc_buf_cleanup via cli_http_response_cleanup). */
struct cli_http_response {
    int status;
    struct pc_buf body;
};

void cli_http_response_init(struct cli_http_response *r);
void cli_http_response_cleanup(struct cli_http_response *r);

/*
 * Parses url ("http://host[:port][/base/path]"; https and anything but
 * http are refused with a clear reason, as are user info, queries and
 * fragments) and makes a client on a new event loop. token (may be NULL) is
 * copied and sent as "Authorization: Bearer <token>". Nothing is connected
 * yet. Returns owned *out.
 */
int cli_http_create(const char *url, const char *token, struct cli_http **out,
                    struct pc_err *err) PC_NODISCARD;

/* Frees the loop, both connections and any request still in flight (their
 * callbacks are not called). Accepts NULL. Never call it from a callback. */
void cli_http_destroy(struct cli_http *h);

/* The client's event loop (borrowed), for timers and signals of the caller. */
struct event_base *cli_http_base(struct cli_http *h);

/* "http://host:port" as given, for messages (borrowed). */
const char *cli_http_origin(const struct cli_http *h);

/*
 * One call, waiting for it: runs the loop until the response arrives (other
 * events of the loop run meanwhile). path starts with '/' (the URL's base
 * path is put before it); body (may be NULL) is sent as application/json.
 * resp is initialised here; on 0 the caller cleans it up.
 */
int cli_http_call(struct cli_http *h, enum evhttp_cmd_type method, const char *path,
                  const char *body, size_t body_len, struct cli_http_response *resp,
                  struct pc_err *err) PC_NODISCARD;

/*
 * The same without waiting: done is called from the loop with rc (0 or
 * PC_EIO), the response (borrowed for the call) and the error (borrowed).
 */
typedef void cli_http_done_cb(void *arg, int rc, const struct cli_http_response *resp,
                              const struct pc_err *err);
int cli_http_call_start(struct cli_http *h, enum evhttp_cmd_type method, const char *path,
                        const char *body, size_t body_len, cli_http_done_cb *done, void *arg,
                        struct pc_err *err) PC_NODISCARD;

/*
 * The event stream. GET path with "Accept: text/event-stream" and, when
 * last_event_id is not empty, "Last-Event-ID". While the status is 200,
 * data gets each piece of the body as it arrives (a non-zero return makes
 * the client ignore the rest: stop it with cli_http_stream_stop). Any other
 * status keeps the body (bounded) for end. end is called once, when the
 * response is complete (rc 0, its status, the body of a non-200) or the
 * request failed (rc PC_EIO, status 0). One stream at a time.
 */
typedef int cli_http_data_cb(void *arg, const char *p, size_t n);
typedef void cli_http_end_cb(void *arg, int rc, const struct cli_http_response *resp,
                             const struct pc_err *err);
int cli_http_stream_start(struct cli_http *h, const char *path, const char *last_event_id,
                          cli_http_data_cb *data, cli_http_end_cb *end, void *arg,
                          struct pc_err *err) PC_NODISCARD;

/* Abandons the stream (end is not called). A no-op without one. Never from a callback. */
void cli_http_stream_stop(struct cli_http *h);

/*
 * The one-line reason of a failed response: "<error> (<code>)" from its
 * {"error","code"} body, else "HTTP <status>" and the start of the body.
 */
void cli_http_error_line(const struct cli_http_response *resp, char *out, size_t out_size);

/* The `code` of a {"error","code"} body into out ("" when there is none). */
void cli_http_error_code(const struct cli_http_response *resp, char *out, size_t out_size);

#endif /* PEACE_CLI_SERVER_HTTP_H */
