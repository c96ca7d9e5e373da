/*
 * web_server.h - the HTTP layer of peace-scheduler and of `peace run
 * --local --listen`: evhttp on one libevent loop, the route table and the
 * guard (sched_http.h, sched_guard.h), the JSON answers, the event streams,
 * the dashboard page and /metrics, over a backend that holds the executions
 * (a small ops table: web_backend.h).
 *
 * The layer owns every request from arrival to its answer. It checks the
 * request (guard, body size, query and body syntax) before the backend sees
 * it, hands the backend the parsed parameters and a `struct web_call`, and
 * the backend answers it exactly once, now or later, with one of the
 * web_answer_* or web_reply_* functions (web_backend.h).
 *
 * Life cycle: web_server_create, web_server_listen, event_base_dispatch by
 * the caller, web_server_stop (stops listening, ends the event streams, and
 * makes the loop return shortly after), web_server_close_streams, then the
 * backend's own clean-up (which may still answer calls in flight), then
 * web_server_destroy. Everything runs on the loop's thread.
 */
#ifndef WEB_SERVER_H
#define WEB_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "peace/err.h"
#include "sched_guard.h"

struct web_server;
struct web_backend_ops;

struct web_server_opts {
    struct event_base *base;           /* borrowed */
    struct sched_guard guard;          /* copied; its strings are borrowed */
    const char *listen_host;           /* borrowed */
    uint16_t listen_port;              /* 0 = any free port */
    size_t max_body;                   /* largest request body served */
    unsigned read_timeout_s;           /* a connection silent this long is closed */
    unsigned request_timeout_s;        /* a request not fully read by then: closed; 0 = 30 */
    unsigned max_connections;          /* client connections open at once; 0 = 1024 */
    unsigned max_sse;                  /* event streams at most */
    bool log_requests;                 /* one log line per answer */
    const char *backend_name;          /* "fleet" or "local": the X-Peace-Backend header */
    const struct web_backend_ops *ops; /* borrowed, static storage */
    void *backend;                     /* borrowed: the ops' first argument */
};

/* Returns owned: a server that does not listen yet. */
int web_server_create(const struct web_server_opts *opts, struct web_server **out,
                      struct pc_err *err) PC_NODISCARD;

/* Binds the listen address (one-line errors: a bad host, a port in use). */
int web_server_listen(struct web_server *ws, struct pc_err *err) PC_NODISCARD;

/* The port listened on (useful with port 0); 0 before web_server_listen. */
uint16_t web_server_port(const struct web_server *ws);

/* Stops listening and ends every event stream; the loop returns after a
 * short grace for answers in flight when exit_loop. Idempotent. */
void web_server_stop(struct web_server *ws, bool exit_loop);

/* True once web_server_stop ran. */
bool web_server_stopping(const struct web_server *ws);

/* Frees every event stream now (their sources' close runs). */
void web_server_close_streams(struct web_server *ws);

/* Frees everything (answers nothing more). Accepts NULL. */
void web_server_destroy(struct web_server *ws);

/* Defaults of web_server_opts. */
#define WEB_REQUEST_TIMEOUT_S 30u
#define WEB_MAX_CONNECTIONS   1024u

/* Random bytes of a generated token (its text is twice as long, hex). */
#define WEB_TOKEN_RANDOM_BYTES 24

/* A fresh random token (hex) into out (at least 49 bytes), its length in
 * *len: a server with no token configured makes one at start. */
int web_token_generate(char *out, size_t out_size, size_t *len, struct pc_err *err) PC_NODISCARD;

/* The dashboard's URL of a server listening on host:port ("0.0.0.0" and
 * "::" become loopback), with "#token=TOKEN" when token is not NULL or
 * empty: a fragment, which browsers never send, so it reaches no log. */
void web_url_format(const char *host, uint16_t port, const char *token, char *out, size_t out_size);

/* Monotonic and wall-clock milliseconds. */
uint64_t web_mono_ms(void);
uint64_t web_unix_ms(void);

#endif /* WEB_SERVER_H */
