/*
 * sched_guard.c - the access decision of peace-scheduler (sched_guard.h).
 *
 * Design. The route table decides the permission, never the raw path: the
 * path is decoded and matched first, so an encoded, doubled or case-changed
 * spelling either reaches a route (and needs that route's permission) or
 * reaches none (and needs a valid token before even a 404 is given). Every
 * configured token is compared on every request, in time that depends only
 * on the tokens, so which scope a request has leaks nothing about them.
 */
#include "sched_guard.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

/* Longest host name of a Host header (DNS allows 253). */
#define HOST_NAME_MAX_LEN 253

const char *sched_scope_name(enum sched_scope s)
{
    static const char *const names[SCHED_SCOPE_COUNT] = {"none", "read", "interrupt", "all"};

    return (unsigned)s < SCHED_SCOPE_COUNT ? names[s] : "?";
}

bool sched_host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (host == NULL) {
        return false;
    }
    if (strcasecmp(host, "localhost") == 0) {
        return true;
    }
    if (inet_pton(AF_INET, host, &a4) == 1) {
        return (ntohl(a4.s_addr) >> 24) == 127;
    }
    if (inet_pton(AF_INET6, host, &a6) == 1) {
        return IN6_IS_ADDR_LOOPBACK(&a6);
    }
    return false;
}

/*
 * The name of a Host header value: "[v6]", "[v6]:port", "name" or
 * "name:port" with a decimal port of 1..5 digits. *ip says whether it is an
 * IP literal. Returns false for anything else.
 */
static bool host_name(const char *host, char *name, size_t size, bool *ip)
{
    const char *end = NULL;
    size_t n;

    *ip = false;
    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        struct in6_addr a6;

        if (close == NULL) {
            return false;
        }
        n = (size_t)(close - host - 1);
        end = close + 1;
        if (n == 0 || n >= size) {
            return false;
        }
        memcpy(name, host + 1, n);
        name[n] = '\0';
        if (inet_pton(AF_INET6, name, &a6) != 1) {
            return false;
        }
        *ip = true;
    } else {
        struct in_addr a4;

        n = strcspn(host, ":");
        end = host + n;
        if (n == 0 || n > HOST_NAME_MAX_LEN || n >= size) {
            return false;
        }
        for (size_t i = 0; i < n; i++) {
            char c = host[i];

            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '.' || c == '-' || c == '_')) {
                return false;
            }
        }
        memcpy(name, host, n);
        name[n] = '\0';
        *ip = inet_pton(AF_INET, name, &a4) == 1;
    }
    if (*end == ':') {
        size_t digits = strspn(end + 1, "0123456789");

        return digits >= 1 && digits <= 5 && end[1 + digits] == '\0';
    }
    return *end == '\0';
}

/* True when s (NUL-terminated) is an entry of the comma-separated list
 * (case-insensitive); "*" in the list matches when star_ok. */
static bool in_list(const char *list, const char *s, size_t n, bool star_ok)
{
    const char *p = list;

    while (p != NULL && *p != '\0') {
        size_t len = strcspn(p, ",");

        if ((star_ok && len == 1 && p[0] == '*') ||
            (len == n && len > 0 && strncasecmp(p, s, n) == 0)) {
            return true;
        }
        p += len;
        p += *p == ',' ? 1 : 0;
    }
    return false;
}

bool sched_guard_host_ok(const struct sched_guard *g, const char *host)
{
    char name[HOST_NAME_MAX_LEN + 1];
    bool ip = false;

    /* No Host (HTTP/1.0): no browser sends that, so no page rebinds it. */
    if (host == NULL) {
        return true;
    }
    if (in_list(g->allow_hosts, "", 0, true)) {
        return true;
    }
    if (!host_name(host, name, sizeof(name), &ip)) {
        return false;
    }
    /* An address cannot be rebound: a page that reaches this server by
     * address is of another origin than the page that made the request. */
    if (ip || strcasecmp(name, "localhost") == 0) {
        return true;
    }
    if (g->listen_host != NULL && strcasecmp(name, g->listen_host) == 0) {
        return true;
    }
    return in_list(g->allow_hosts, name, strlen(name), false);
}

bool sched_guard_origin_ok(const struct sched_guard *g, const char *origin, const char *host)
{
    const char *authority = NULL;

    if (origin == NULL) {
        return true; /* not a browser's cross-origin request */
    }
    if (in_list(g->allow_origins, origin, strlen(origin), false)) {
        return true;
    }
    if (strncasecmp(origin, "http://", 7) == 0) {
        authority = origin + 7;
    } else if (strncasecmp(origin, "https://", 8) == 0) {
        authority = origin + 8;
    } else {
        return false; /* "null" (sandboxed pages, files) and anything else */
    }
    /* The same origin: the page came from this Host. */
    return host != NULL && authority[0] != '\0' && strcasecmp(authority, host) == 0;
}

bool sched_content_type_is_json(const char *ct)
{
    static const char json[] = "application/json";
    const char *p = ct;

    if (ct == NULL) {
        return false;
    }
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (strncasecmp(p, json, sizeof(json) - 1) != 0) {
        return false;
    }
    p += sizeof(json) - 1;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    return *p == '\0' || *p == ';';
}

enum sched_scope sched_guard_scope(const struct sched_guard *g, const struct sched_request *rq,
                                   bool query_token_ok)
{
    enum sched_scope best = SCHED_SCOPE_NONE;
    char given[SCHED_TOKEN_MAX + 1];
    bool found = false;

    if (g->no_auth) {
        return SCHED_SCOPE_ALL;
    }
    for (int s = SCHED_SCOPE_READ; s < SCHED_SCOPE_COUNT; s++) {
        const struct sched_token *t = &g->tokens[s];

        if (t->n > 0 && sched_auth_ok(rq->authorization, t->p, t->n)) {
            best = (enum sched_scope)s;
        }
    }
    if (best != SCHED_SCOPE_NONE || !query_token_ok ||
        sched_query_get(rq->query, "access_token", given, sizeof(given), &found) != 0 || !found) {
        return best;
    }
    for (int s = SCHED_SCOPE_READ; s < SCHED_SCOPE_COUNT; s++) {
        const struct sched_token *t = &g->tokens[s];

        if (t->n > 0 && sched_token_eq(given, strlen(given), t->p, t->n)) {
            best = (enum sched_scope)s;
        }
    }
    return best;
}

int sched_guard_decide(const struct sched_guard *g, const struct sched_request *rq,
                       struct sched_route *route, enum sched_scope *scope, struct sched_fail *fail)
{
    struct sched_fail rfail;
    struct sched_route r;
    enum sched_perm need = SCHED_PERM_ADMIN;
    enum sched_scope have;
    int rc;

    if (!sched_guard_host_ok(g, rq->host)) {
        return sched_fail_set(fail, SCHED_HOST_NOT_ALLOWED,
                              "the Host header names a host this scheduler does not serve "
                              "(allow a name with --allow-host)");
    }
    if (!sched_guard_origin_ok(g, rq->origin, rq->host)) {
        return sched_fail_set(fail, SCHED_ORIGIN_NOT_ALLOWED,
                              "requests from another origin are refused "
                              "(allow an origin with --allow-origin)");
    }
    memset(&r, 0, sizeof(r));
    rc = sched_route_find(rq->method, rq->path, &r, &need, &rfail);
    if (rc != 0 && rfail.code == SCHED_INTERNAL) {
        *fail = rfail;
        return rc;
    }
    have = sched_guard_scope(
        g, rq, rc == 0 && r.kind == SCHED_ROUTE_EVENTS && rq->method == SCHED_METHOD_GET);
    if (need > SCHED_PERM_PUBLIC && have == SCHED_SCOPE_NONE) {
        return sched_fail_set(fail, SCHED_UNAUTHORIZED, "missing or wrong bearer token");
    }
    if (rc != 0) {
        /* A valid token (of any scope) may learn that a route does not exist. */
        *fail = rfail;
        return rc;
    }
    if ((int)have < (int)r.perm) {
        return sched_fail_set(fail, SCHED_FORBIDDEN,
                              "this token's scope (%s) does not allow this request (it needs %s)",
                              sched_scope_name(have), sched_perm_name(r.perm));
    }
    if (rq->method == SCHED_METHOD_POST && !sched_content_type_is_json(rq->content_type)) {
        return sched_fail_set(fail, SCHED_UNSUPPORTED_MEDIA,
                              "a request that changes something must be Content-Type: "
                              "application/json");
    }
    *route = r;
    if (scope != NULL) {
        *scope = have;
    }
    return 0;
}
