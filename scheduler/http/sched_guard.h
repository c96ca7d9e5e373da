/*
 * sched_guard.h - who may do what on peace-scheduler: the one decision,
 * for every request, of route, permission, token scope, Host, Origin and
 * media type. A pure function of plain strings (no libevent, no Redis, no
 * clock), so it is unit-tested with tables and fuzzed as it runs.
 *
 * Order of the checks (the first that fails answers):
 *   1. Host: absent, an IP literal, "localhost", the listen host or an
 *      allowed name (--allow-host); else 403 host_not_allowed (a
 *      DNS-rebinding page never gets an answer, not even the dashboard).
 *   2. Origin: absent, the request's own origin (same Host) or an allowed
 *      origin (--allow-origin); else 403 origin_not_allowed.
 *   3. Route: the route table (sched_http.h) gives the route and its
 *      permission. A request that matches no route is treated as needing
 *      the strictest permission: without a valid token it is 401 like any
 *      other protected request, so no spelling of a path is ever served
 *      without the permission of the route it reaches.
 *   4. Token: the scope of the bearer token (or, for the event stream,
 *      ?access_token=, since a browser's EventSource cannot send headers)
 *      must cover the route's permission: none is 401 unauthorized, too
 *      small is 403 forbidden. With no_auth every request has every scope.
 *   5. A POST must be Content-Type application/json (415 otherwise): a
 *      cross-site page can send text/plain or a form without asking, but
 *      not JSON.
 *   6. The route's parameters (an execution id, identifiers): 400.
 * Only then is the request served.
 */
#ifndef SCHED_GUARD_H
#define SCHED_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "sched_http.h"

/* What a token lets its holder do (ordered: a scope covers every
 * permission up to its own value). */
enum sched_scope {
    SCHED_SCOPE_NONE = 0,  /* no token or a wrong one: public routes only */
    SCHED_SCOPE_READ,      /* --read-token: GET */
    SCHED_SCOPE_INTERRUPT, /* --interrupt-token: GET and interrupt */
    SCHED_SCOPE_ALL,       /* --token: everything */
};
#define SCHED_SCOPE_COUNT 4

/* "none", "read", "interrupt", "all"; "?" out of range. */
const char *sched_scope_name(enum sched_scope s);

/* A token: (p, n) borrowed; n == 0 means none is configured. */
struct sched_token {
    const char *p;
    size_t n;
};

/* The settings the decision needs. Every pointer is borrowed. */
struct sched_guard {
    struct sched_token tokens[SCHED_SCOPE_COUNT]; /* [READ], [INTERRUPT], [ALL]; [NONE] unused */
    bool no_auth;                                 /* every request has scope ALL */
    const char *listen_host;   /* as configured; a wildcard (0.0.0.0, ::) adds no name */
    const char *allow_hosts;   /* comma-separated host names; "*" = any Host; NULL = none */
    const char *allow_origins; /* comma-separated "scheme://host[:port]"; NULL = none */
};

/* One request as the guard sees it. Every string may be NULL (absent). */
struct sched_request {
    enum sched_method method;
    const char *path;          /* raw, percent-encoded, without the query */
    const char *query;         /* raw query, without '?' */
    const char *authorization; /* the Authorization header */
    const char *content_type;  /* the Content-Type header */
    const char *host;          /* the Host header */
    const char *origin;        /* the Origin header */
};

/*
 * The decision (order above). On 0 the request may be served: *route is
 * the matched route with its parameters and *scope (may be NULL) the
 * caller's scope. Otherwise fail holds the answer (code and a one-line
 * message that never echoes a token) and PC_EINVAL is returned.
 */
int sched_guard_decide(const struct sched_guard *g, const struct sched_request *rq,
                       struct sched_route *route, enum sched_scope *scope,
                       struct sched_fail *fail) PC_NODISCARD;

/* The scope of the credentials of rq (the header, then ?access_token= when
 * query_token_ok). Compares with every configured token, each in time that
 * depends only on that token's length. */
enum sched_scope sched_guard_scope(const struct sched_guard *g, const struct sched_request *rq,
                                   bool query_token_ok);

/* Step 1 alone: true when the Host header value (NULL = absent) is allowed. */
bool sched_guard_host_ok(const struct sched_guard *g, const char *host);

/* Step 2 alone: true when the Origin header value (NULL = absent) is allowed
 * for a request with this Host header. */
bool sched_guard_origin_ok(const struct sched_guard *g, const char *origin, const char *host);

/* True when the media type of a Content-Type value is application/json
 * (case-insensitive, parameters such as charset allowed). */
bool sched_content_type_is_json(const char *content_type);

/* True when host (an address or name, IPv6 without brackets) is a loopback
 * address: 127.0.0.0/8, ::1 or "localhost". */
bool sched_host_is_loopback(const char *host);

#endif /* SCHED_GUARD_H */
