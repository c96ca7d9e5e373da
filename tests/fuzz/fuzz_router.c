/*
 * fuzz_router.c - the scheduler's request decision as it runs for every
 * request: the path of the request target (sched_request_path), the route,
 * its permission, the token scope, Host, Origin and media type
 * (sched_guard_decide), and the target as written to the log
 * (sched_log_target).
 *
 * Input: one byte (bits 0-1: method GET, HEAD, POST, other; bit 2:
 * --no-auth), then lines: the request target, Authorization, Content-Type,
 * Host, Origin (a missing line is an absent header).
 *
 * Properties (the security rules of sched_guard.h, checked independently):
 * a request served has a scope covering its route's permission, the
 * permission the route table gives that route, an allowed Host and Origin,
 * JSON when it is a POST, and the route the router alone finds; without a
 * token only "/" and "/healthz" (in any spelling) are served; a query token
 * counts for the event stream only; no failure message and no log line
 * shows a token the server accepted.
 */
#include <string.h>

#include "fuzz.h"
#include "peace/pct.h"
#include "sched_guard.h"

#define FIELDS 5

static const char tok_read[] = "read-7Hq2xVw9LmPz4kRt";
static const char tok_intr[] = "intr-3Jd8sNc5QeYb1GfU";
static const char tok_all[] = "alls-6Wp0aKx2ZuTm8HvE";

static void guard_init(struct sched_guard *g, bool no_auth)
{
    memset(g, 0, sizeof(*g));
    g->tokens[SCHED_SCOPE_READ] = (struct sched_token){tok_read, sizeof(tok_read) - 1};
    g->tokens[SCHED_SCOPE_INTERRUPT] = (struct sched_token){tok_intr, sizeof(tok_intr) - 1};
    g->tokens[SCHED_SCOPE_ALL] = (struct sched_token){tok_all, sizeof(tok_all) - 1};
    g->no_auth = no_auth;
    g->listen_host = "127.0.0.1";
    g->allow_hosts = "peace.example";
    g->allow_origins = "https://dash.example";
}

/* The permission the route table gives kind for method (HEAD as GET). */
static enum sched_perm table_perm(enum sched_route_kind kind, enum sched_method method)
{
    size_t n = 0;
    const struct sched_route_def *defs = sched_routes(&n);

    for (size_t i = 0; i < n; i++) {
        if (defs[i].kind == kind &&
            defs[i].method == (method == SCHED_METHOD_HEAD ? SCHED_METHOD_GET : method)) {
            return defs[i].perm;
        }
    }
    FUZZ_CHECK(!"a served route is not in the route table");
    return SCHED_PERM_ADMIN;
}

/* True when s (may be NULL) contains any token. */
static bool shows_token(const char *s)
{
    return s != NULL && (strstr(s, tok_read) != NULL || strstr(s, tok_intr) != NULL ||
                         strstr(s, tok_all) != NULL);
}

static void check_served(const struct sched_guard *g, const struct sched_request *rq,
                         const struct sched_route *route, enum sched_scope scope)
{
    struct sched_route alone;
    enum sched_perm perm = SCHED_PERM_PUBLIC;
    struct sched_fail fail;

    FUZZ_CHECK((int)scope >= (int)route->perm);
    FUZZ_CHECK(route->perm == table_perm(route->kind, rq->method));
    FUZZ_CHECK(sched_guard_host_ok(g, rq->host) && sched_guard_origin_ok(g, rq->origin, rq->host));
    FUZZ_CHECK(rq->method != SCHED_METHOD_POST || sched_content_type_is_json(rq->content_type));
    FUZZ_CHECK(sched_route_find(rq->method, rq->path, &alone, &perm, &fail) == 0);
    FUZZ_CHECK(alone.kind == route->kind && alone.perm == route->perm && perm == route->perm);
    if (route->kind != SCHED_ROUTE_EVENTS) {
        FUZZ_CHECK(scope == sched_guard_scope(g, rq, false));
    }
    if (!g->no_auth && scope == SCHED_SCOPE_NONE) {
        char dec[SCHED_PATH_MAX + 2];
        size_t len = 0;

        FUZZ_CHECK(pc_pct_decode(rq->path, strlen(rq->path), false, dec, sizeof(dec), &len) == 0);
        FUZZ_CHECK(strcmp(dec, "/") == 0 || strcmp(dec, "/healthz") == 0);
    }
}

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;

    for (const char *at = s; (at = strstr(at, needle)) != NULL; at++) {
        n++;
    }
    return n;
}

/*
 * The span of the value of the first query parameter whose decoded name is
 * access_token (the one the server reads), as offsets into target; false
 * when there is none.
 */
static bool token_value_span(const char *target, size_t *from, size_t *to)
{
    const char *q = strchr(target, '?');
    size_t end;

    if (q == NULL) {
        return false;
    }
    end = (size_t)(q - target) + 1 + strcspn(q + 1, "#");
    for (size_t at = (size_t)(q - target) + 1; at <= end;) {
        size_t len = strcspn(target + at, "&");
        const char *eq;
        char key[128];
        size_t key_len = 0;

        len = at + len > end ? end - at : len;
        eq = memchr(target + at, '=', len);
        if (eq != NULL &&
            pc_pct_decode(target + at, (size_t)(eq - target) - at, true, key, sizeof(key),
                          &key_len) == 0 &&
            strcmp(key, "access_token") == 0) {
            *from = (size_t)(eq - target) + 1;
            *to = at + len;
            return true;
        }
        at += len + 1;
    }
    return false;
}

/* The log line of target: printable, and without a token the query carried
 * (it may show a token sent elsewhere in the target). */
static void check_log(const struct sched_guard *g, const char *target, const char *query)
{
    static const char *const tokens[SCHED_SCOPE_COUNT] = {NULL, tok_read, tok_intr, tok_all};
    struct sched_request q;
    enum sched_scope scope;
    char line[512];
    size_t from = 0;
    size_t to = 0;

    sched_log_target(target, line, sizeof(line));
    for (size_t i = 0; line[i] != '\0'; i++) {
        FUZZ_CHECK(line[i] > 0x20 && line[i] < 0x7f);
    }
    memset(&q, 0, sizeof(q));
    q.query = query;
    scope = g->no_auth ? SCHED_SCOPE_NONE : sched_guard_scope(g, &q, true);
    if (scope != SCHED_SCOPE_NONE && token_value_span(target, &from, &to)) {
        size_t n = strlen(target);
        char *rest = malloc(n + 1);

        FUZZ_CHECK(rest != NULL);
        memcpy(rest, target, from);
        memcpy(rest + from, target + to, n - to + 1);
        FUZZ_CHECK(count(line, tokens[scope]) <= count(rest, tokens[scope]));
        free(rest);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    char *field[FIELDS] = {NULL};
    char *query = NULL;
    char path[SCHED_PATH_MAX + 2];
    struct sched_guard g;
    struct sched_request rq;
    struct sched_route route;
    enum sched_scope scope = SCHED_SCOPE_NONE;
    struct sched_fail fail;
    char *p;

    if (size == 0) {
        return 0;
    }
    text = malloc(size);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    p = text;
    for (int i = 0; i < FIELDS && p != NULL; i++) {
        char *nl = strchr(p, '\n');

        field[i] = p;
        if (nl != NULL) {
            *nl = '\0';
        }
        p = nl != NULL ? nl + 1 : NULL;
    }
    guard_init(&g, (data[0] & 4) != 0);
    sched_request_path(field[0], NULL, path, sizeof(path));
    if (field[0] != NULL && (query = strchr(field[0], '?')) != NULL) {
        query = strndup(query + 1, strcspn(query + 1, "#"));
        FUZZ_CHECK(query != NULL);
    }
    memset(&rq, 0, sizeof(rq));
    rq.method = (enum sched_method)(data[0] & 3);
    rq.path = path;
    rq.query = query;
    rq.authorization = field[1];
    rq.content_type = field[2];
    rq.host = field[3];
    rq.origin = field[4];

    memset(&fail, 0, sizeof(fail));
    if (sched_guard_decide(&g, &rq, &route, &scope, &fail) == 0) {
        check_served(&g, &rq, &route, scope);
    } else {
        FUZZ_CHECK(sched_code_status(fail.code) >= 400 && fail.msg[0] != '\0');
        FUZZ_CHECK(!shows_token(fail.msg) || shows_token(field[0]) || shows_token(field[2]) ||
                   shows_token(field[3]) || shows_token(field[4]));
    }
    check_log(&g, field[0], query);
    free(query);
    free(text);
    return 0;
}
