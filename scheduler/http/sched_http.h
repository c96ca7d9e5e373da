/*
 * sched_http.h - the pure HTTP logic of peace-scheduler: stable error codes
 * (docs/http-api.md "Errors"), routing of a request line to an endpoint,
 * bearer-token checks, strict percent-decoding and query-string look-ups.
 *
 * Nothing here touches libevent or Redis, so every rule is unit-tested with
 * plain strings. All functions are reentrant and keep no state.
 */
#ifndef SCHED_HTTP_H
#define SCHED_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peace/err.h"
#include "peace/ident.h"

/* Longest execution id accepted in a path (ULID text is 26, UUID text 36). */
#define SCHED_EXEC_ID_MAX PC_EXEC_ID_MAX
/* Longest path (before decoding) the router looks at. */
#define SCHED_PATH_MAX 2048
/* Longest bearer token accepted (it travels in a header or a query). */
#define SCHED_TOKEN_MAX 4096
/* Longest stream entry id ("<ms>-<seq>", two 20-digit numbers). */
#define SCHED_STREAM_ID_MAX 41

/* The stable error codes of the API, each with one HTTP status. */
enum sched_code {
    SCHED_INVALID_JSON = 0,      /* 400 */
    SCHED_BAD_REQUEST,           /* 400 */
    SCHED_INVALID_FLOW,          /* 400 */
    SCHED_UNKNOWN_ITEM_TYPE,     /* 400 */
    SCHED_BODY_TOO_LARGE,        /* 413 */
    SCHED_UNAUTHORIZED,          /* 401 */
    SCHED_FORBIDDEN,             /* 403: the token's scope does not cover the route */
    SCHED_HOST_NOT_ALLOWED,      /* 403: the Host header is not an allowed name */
    SCHED_ORIGIN_NOT_ALLOWED,    /* 403: the Origin header is not an allowed origin */
    SCHED_UNSUPPORTED_MEDIA,     /* 415: a request that changes something is not JSON */
    SCHED_EXECUTION_NOT_FOUND,   /* 404 */
    SCHED_NOT_FOUND,             /* 404 */
    SCHED_METHOD_NOT_ALLOWED,    /* 405 */
    SCHED_REDIS_UNAVAILABLE,     /* 503 */
    SCHED_TOO_MANY_STREAMS,      /* 503: the --max-sse event streams are all in use */
    SCHED_DEAD_LETTER_NOT_FOUND, /* 404 */
    SCHED_CANNOT_REQUEUE,        /* 409: a job that cannot be queued again (retry, rerun) */
    SCHED_INTERNAL,              /* 500 */
};
#define SCHED_CODE_COUNT 18

/* The code's text ("invalid_json"); "internal" for a value out of range. */
const char *sched_code_name(enum sched_code c);

/* The code's HTTP status; 500 for a value out of range. */
int sched_code_status(enum sched_code c);

/* A failure to report to the client: a stable code and a one-line message. */
struct sched_fail {
    enum sched_code code;
    char msg[PC_ERR_MSG_MAX];
};

/*
 * Records code and a printf-formatted message (CR/LF replaced) into f (may be
 * NULL). Returns PC_EINVAL, so callers can `return sched_fail_set(...)`.
 */
int sched_fail_set(struct sched_fail *f, enum sched_code code, const char *fmt, ...)
    PC_PRINTF(3, 4);

enum sched_method {
    SCHED_METHOD_GET = 0,
    SCHED_METHOD_HEAD,
    SCHED_METHOD_POST,
    SCHED_METHOD_OTHER,
};

enum sched_route_kind {
    SCHED_ROUTE_PAGE = 0,  /* GET / */
    SCHED_ROUTE_HEALTHZ,   /* GET /healthz */
    SCHED_ROUTE_METRICS,   /* GET /metrics */
    SCHED_ROUTE_SUBMIT,    /* POST /v1/executions */
    SCHED_ROUTE_LIST,      /* GET /v1/executions */
    SCHED_ROUTE_GET,       /* GET /v1/executions/{id} */
    SCHED_ROUTE_EVENTS,    /* GET /v1/executions/{id}/events */
    SCHED_ROUTE_INTERRUPT, /* POST /v1/executions/{id}/interrupt */
    SCHED_ROUTE_STATES,    /* GET /v1/states/{app}/{profile}/{flow} */
    SCHED_ROUTE_WORKERS,   /* GET /v1/workers */
    SCHED_ROUTE_QUEUES,    /* GET /v1/queues */
    SCHED_ROUTE_DEAD,      /* GET /v1/dead */
    SCHED_ROUTE_RETRY,     /* POST /v1/dead/{id}/retry (id: the dead letter's entry id) */
    SCHED_ROUTE_RERUN,     /* POST /v1/executions/{id}/rerun */
    SCHED_ROUTE_OPENAPI,   /* GET /openapi.json */
};

/*
 * What a route needs, in increasing order: a token whose scope is at least
 * this (enum sched_scope in sched_guard.h) passes.
 */
enum sched_perm {
    SCHED_PERM_PUBLIC = 0, /* no token: the page and the liveness check */
    SCHED_PERM_READ,       /* reading: every GET of the API and /metrics */
    SCHED_PERM_INTERRUPT,  /* interrupting an execution */
    SCHED_PERM_ADMIN,      /* everything else that changes something: starting executions */
};

/* "public", "read", "interrupt", "admin"; "?" out of range. */
const char *sched_perm_name(enum sched_perm p);

/*
 * One row of the route table: method and path pattern -> route and
 * permission. A pattern is literal segments and placeholders: {id} (an
 * execution id), {app}, {profile}, {flow} (identifiers). A GET row also
 * serves HEAD unless no_head.
 */
struct sched_route_def {
    enum sched_method method; /* GET or POST */
    const char *pattern;
    enum sched_route_kind kind;
    enum sched_perm perm;
    bool no_head;
};

/* The route table (static storage): every route the scheduler serves, with
 * its permission. *n is its length. */
const struct sched_route_def *sched_routes(size_t *n);

/* A matched route: a plain value. Only the parameters of kind are set. */
struct sched_route {
    enum sched_route_kind kind;
    enum sched_perm perm;
    char id[SCHED_EXEC_ID_MAX + 1]; /* GET, EVENTS, INTERRUPT */
    struct pc_id app;               /* STATES */
    struct pc_id profile;
    struct pc_id flow;
};

/*
 * Finds the route of method and the raw (percent-encoded, query-less)
 * path in the route table and checks its parameters. The path is split on
 * '/' and each segment is percent-decoded on its own; decoded segments are
 * compared with the pattern exactly (no case folding, no removal of dot or
 * empty segments), so every spelling of a route reaches that route and its
 * permission, and no other. On success out gets kind, perm and parameters.
 * Failures (fail->code): not_found (no such route), method_not_allowed (the
 * route exists, the method does not), bad_request (bad percent-encoding, an
 * execution id or identifier of the wrong form). When the pattern matched,
 * *perm (may be NULL) is the route's permission whatever happened after
 * (a 405 gets the strictest permission of the path); else SCHED_PERM_ADMIN.
 * HEAD matches wherever GET does, except the event stream.
 * Returns 0 or PC_EINVAL.
 */
int sched_route_find(enum sched_method method, const char *path, struct sched_route *out,
                     enum sched_perm *perm, struct sched_fail *fail) PC_NODISCARD;

/* sched_route_find without the permission of a failure. */
int sched_route_match(enum sched_method method, const char *path, struct sched_route *out,
                      struct sched_fail *fail) PC_NODISCARD;

/*
 * The raw path of a request target into out: for the origin form
 * ("/a/b?q") everything before '?' or '#', exactly as sent (so "//x" is the
 * path "//x", not a host "x"); for any other form (absolute "http://h/p",
 * "*") parsed_path (the URI parser's path; may be NULL). A path longer than
 * SCHED_PATH_MAX is cut to SCHED_PATH_MAX + 1 bytes, which the router
 * refuses. out_size must be at least SCHED_PATH_MAX + 2.
 */
void sched_request_path(const char *target, const char *parsed_path, char *out, size_t out_size);

/*
 * Looks up name in a raw query string ("a=1&b=2"; may be NULL) and decodes
 * its first value into out. *found says whether the name occurs. Returns 0,
 * PC_EINVAL (bad encoding anywhere in the query) or PC_ELIMIT (the value does
 * not fit out).
 */
int sched_query_get(const char *query, const char *name, char *out, size_t out_size,
                    bool *found) PC_NODISCARD;

/* True when s is a stream entry id Redis accepts: "<ms>" or "<ms>-<seq>",
 * each a decimal number that fits 64 bits. */
bool sched_stream_id_valid(const char *s);

/*
 * True when the Authorization header value (may be NULL) is "Bearer <token>"
 * (scheme case-insensitive) with exactly token (token_len bytes). The token
 * comparison takes the same time whatever the supplied value.
 */
bool sched_auth_ok(const char *header, const char *token, size_t token_len);

/* Compares a supplied token with the configured one in time that depends
 * only on token_len. False when token_len is 0. */
bool sched_token_eq(const char *given, size_t given_len, const char *token, size_t token_len);

/*
 * Writes the request target for a log line into out: printable ASCII only;
 * in the query only the values of limit and last_event_id are shown, every
 * other value is "***", and a parameter without '=' or whose key is not a
 * plain name of at most 32 characters or that names a token once decoded (access_token,
 * %61ccess_token, ...) is "***" whole; a fragment is "#***". Cut to
 * out_size - 1 bytes (ending in "..." when cut).
 */
void sched_log_target(const char *uri, char *out, size_t out_size);

/* Parses a decimal count (digits only, no sign) in [min, max]. Returns 0 or PC_EINVAL. */
int sched_parse_count(const char *s, unsigned long long min, unsigned long long max,
                      unsigned long long *out) PC_NODISCARD;

/* Parses a --listen value: "host:port", "[v6]:port" or ":port" (host
 * 0.0.0.0). Returns 0 or PC_EINVAL with a one-line reason. */
int sched_listen_parse(const char *text, char *host, size_t host_size, uint16_t *port,
                       struct pc_err *err) PC_NODISCARD;

#endif /* SCHED_HTTP_H */
