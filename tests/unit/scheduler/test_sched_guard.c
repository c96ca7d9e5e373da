/*
 * test_sched_guard.c - the access decision of peace-scheduler
 * (sched_guard.h): the bypass table (every protected route, spelled every
 * way a client can spell it, with every method, is 401 without a valid
 * token), token scopes, Host, Origin and media type.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sched_guard.h"

#define TOKEN       "all-scope-token"
#define READ_TOK    "read-scope-token"
#define INTR_TOK    "intr-scope-token"
#define EXEC_ID     "01ARZ3NDEKTSV4RRFFQ69G5FAV"
#define VARIANT_MAX 512
#define VARIANTS    4096

static struct sched_guard guard_with(bool tokens, bool no_auth)
{
    struct sched_guard g;

    memset(&g, 0, sizeof(g));
    if (tokens) {
        g.tokens[SCHED_SCOPE_ALL] = (struct sched_token){TOKEN, strlen(TOKEN)};
        g.tokens[SCHED_SCOPE_READ] = (struct sched_token){READ_TOK, strlen(READ_TOK)};
        g.tokens[SCHED_SCOPE_INTERRUPT] = (struct sched_token){INTR_TOK, strlen(INTR_TOK)};
    }
    g.no_auth = no_auth;
    g.listen_host = "127.0.0.1";
    g.allow_hosts = "other.lan,peace.internal";
    g.allow_origins = "https://dash.example.com,http://x.lan:81";
    return g;
}

/* A request as a same-host JSON client sends it. */
static struct sched_request request(enum sched_method m, const char *path, const char *auth)
{
    struct sched_request rq;

    memset(&rq, 0, sizeof(rq));
    rq.method = m;
    rq.path = path;
    rq.authorization = auth;
    rq.host = "127.0.0.1:7117";
    rq.content_type = m == SCHED_METHOD_POST ? "application/json" : NULL;
    return rq;
}

/* The decision's code, or -1 when the request is served. */
static int decide(const struct sched_guard *g, const struct sched_request *rq)
{
    struct sched_route r;
    struct sched_fail f;

    memset(&f, 0, sizeof(f));
    if (sched_guard_decide(g, rq, &r, NULL, &f) == 0) {
        return -1;
    }
    assert_null(strstr(f.msg, TOKEN));
    return (int)f.code;
}

/* ------------------------------------------------------------------------ */
/* Variants of a path                                                        */

struct variants {
    char v[VARIANTS][VARIANT_MAX];
    size_t n;
};

static void add(struct variants *vs, const char *s)
{
    if (vs->n < VARIANTS && strlen(s) < VARIANT_MAX) {
        (void)snprintf(vs->v[vs->n++], VARIANT_MAX, "%s", s);
    }
}

/* The path with byte i (not a '/') percent-encoded; upper or lower hex. */
static void encode_one(const char *p, size_t i, bool lower, char *out)
{
    (void)snprintf(out, VARIANT_MAX, "%.*s%%%02X%s", (int)i, p, (unsigned char)p[i], p + i + 1);
    if (lower) {
        out[i + 1] = (char)(out[i + 1] >= 'A' && out[i + 1] <= 'F' ? out[i + 1] + 32 : out[i + 1]);
        out[i + 2] = (char)(out[i + 2] >= 'A' && out[i + 2] <= 'F' ? out[i + 2] + 32 : out[i + 2]);
    }
}

/* Every byte but the slashes encoded: hex digits upper or lower, and
 * with twice the '%' encoded ("%2576"). */
static void encode_all(const char *p, bool lower, bool twice, char *out)
{
    const char *hex = lower ? "0123456789abcdef" : "0123456789ABCDEF";
    size_t n = 0;

    for (size_t i = 0; p[i] != '\0' && n + 6 < VARIANT_MAX; i++) {
        unsigned char c = (unsigned char)p[i];

        if (c == '/') {
            out[n++] = '/';
            continue;
        }
        out[n++] = '%';
        if (twice) {
            out[n++] = '2';
            out[n++] = '5';
        }
        out[n++] = hex[c >> 4];
        out[n++] = hex[c & 15];
    }
    out[n] = '\0';
}

/* The path with s inserted at position i. */
static void insert_at(const char *p, size_t i, const char *s, char *out)
{
    (void)snprintf(out, VARIANT_MAX, "%.*s%s%s", (int)i, p, s, p + i);
}

/* The path with c in place of byte i. */
static void replace_at(const char *p, size_t i, const char *c, char *out)
{
    (void)snprintf(out, VARIANT_MAX, "%.*s%s%s", (int)i, p, c, p + i + 1);
}

static void make_variants(const char *p, struct variants *vs)
{
    static const char *const inserts[] = {"/.",   "/%2e", "/%2E", "/x/..", "/x/%2e%2e", "/",
                                          "/../", "/./",  ";x",   "%20",   "%09",       "+"};
    static const char *const suffixes[] = {"/", "//", "/.", "/..", "%2F", "%2f", "%00",
                                           "%", "#",  "?",  ";",   "%3B", "%5C", "\\"};
    char buf[VARIANT_MAX];
    size_t len = strlen(p);

    vs->n = 0;
    add(vs, p);
    encode_all(p, false, false, buf);
    add(vs, buf);
    encode_all(p, true, false, buf);
    add(vs, buf);
    encode_all(p, false, true, buf);
    add(vs, buf);
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '/') {
            insert_at(p, i, "/", buf); /* doubled slash */
            add(vs, buf);
            replace_at(p, i, "\\", buf);
            add(vs, buf);
            if (i > 0) {
                replace_at(p, i, "%2F", buf);
                add(vs, buf);
                replace_at(p, i, "%2f", buf);
                add(vs, buf);
            }
            for (size_t k = 0; k < sizeof(inserts) / sizeof(inserts[0]); k++) {
                insert_at(p, i, inserts[k], buf);
                add(vs, buf);
            }
            continue;
        }
        encode_one(p, i, false, buf);
        add(vs, buf);
        encode_one(p, i, true, buf);
        add(vs, buf);
        if (p[i] >= 'a' && p[i] <= 'z') {
            char up[2] = {(char)(p[i] - 32), '\0'};

            replace_at(p, i, up, buf);
            add(vs, buf);
        }
    }
    for (size_t k = 0; k < sizeof(suffixes) / sizeof(suffixes[0]); k++) {
        (void)snprintf(buf, sizeof(buf), "%s%s", p, suffixes[k]);
        add(vs, buf);
    }
    (void)snprintf(buf, sizeof(buf), "%s", p);
    for (size_t i = 0; buf[i] != '\0'; i++) {
        buf[i] = (char)(buf[i] >= 'a' && buf[i] <= 'z' ? buf[i] - 32 : buf[i]);
    }
    add(vs, buf);
    (void)snprintf(buf, sizeof(buf), "http://127.0.0.1%s", p);
    add(vs, buf);
    (void)snprintf(buf, sizeof(buf), "%s", p + 1); /* no leading slash */
    add(vs, buf);
}

/* A concrete path of a pattern: the placeholders filled with valid values. */
static void concrete(const char *pattern, char *out, size_t size)
{
    size_t n = 0;

    for (const char *p = pattern; *p != '\0' && n + 1 < size;) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            const char *v = strncmp(p, "{id}", 4) == 0 ? EXEC_ID : "a_b";

            n += (size_t)snprintf(out + n, size - n, "%s", v);
            p = close + 1;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
}

static const enum sched_method methods[] = {SCHED_METHOD_GET, SCHED_METHOD_HEAD, SCHED_METHOD_POST,
                                            SCHED_METHOD_OTHER};

/* Credentials that are not a valid token. */
static const char *const wrong_auth[] = {
    NULL,
    "",
    "Bearer",
    "Bearer ",
    "Bearer wrong",
    "Bearer " TOKEN "x",
    "Bearer all-scope-toke",
    "Bearer  " TOKEN " extra",
    "Basic " TOKEN,
    "Bearer%20" TOKEN,
    "Token " TOKEN,
    TOKEN,
    "Bearer " READ_TOK "\t" TOKEN,
};

/* ------------------------------------------------------------------------ */
/* The bypass table                                                          */

static void every_spelling_of_every_protected_route_is_401_without_a_token(void **state)
{
    struct variants *vs = calloc(1, sizeof(*vs));
    size_t n_routes = 0;
    const struct sched_route_def *routes = sched_routes(&n_routes);
    const struct sched_guard g = guard_with(true, false);
    size_t tried = 0;

    (void)state;
    assert_non_null(vs);
    for (size_t r = 0; r < n_routes; r++) {
        char path[VARIANT_MAX];

        if (routes[r].perm == SCHED_PERM_PUBLIC) {
            continue;
        }
        concrete(routes[r].pattern, path, sizeof(path));
        make_variants(path, vs);
        assert_true(vs->n > 40);
        for (size_t v = 0; v < vs->n; v++) {
            for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
                for (size_t a = 0; a < sizeof(wrong_auth) / sizeof(wrong_auth[0]); a++) {
                    struct sched_request rq = request(methods[m], vs->v[v], wrong_auth[a]);
                    int code;

                    /* A token in the query counts only on the event stream. */
                    rq.query = "access_token=" TOKEN;
                    if (routes[r].kind == SCHED_ROUTE_EVENTS) {
                        rq.query = "access_token=wrong";
                    }
                    code = decide(&g, &rq);
                    if (code != SCHED_UNAUTHORIZED) {
                        print_error("%s %s (auth \"%s\"): code %d, expected 401\n",
                                    methods[m] == SCHED_METHOD_POST ? "POST" : "GET/HEAD/OTHER",
                                    vs->v[v], wrong_auth[a] != NULL ? wrong_auth[a] : "(none)",
                                    code);
                        fail();
                    }
                    tried++;
                }
            }
        }
    }
    assert_true(tried > 10000);
    free(vs);
}

static void the_same_spellings_with_the_token_reach_the_route_or_are_refused(void **state)
{
    struct variants *vs = calloc(1, sizeof(*vs));
    size_t n_routes = 0;
    const struct sched_route_def *routes = sched_routes(&n_routes);
    const struct sched_guard g = guard_with(true, false);

    (void)state;
    assert_non_null(vs);
    for (size_t r = 0; r < n_routes; r++) {
        char path[VARIANT_MAX];

        concrete(routes[r].pattern, path, sizeof(path));
        make_variants(path, vs);
        for (size_t v = 0; v < vs->n; v++) {
            struct sched_request rq = request(routes[r].method, vs->v[v], "Bearer " TOKEN);
            struct sched_route got;
            struct sched_fail f;

            /* Served only as the route it names (decoding is the only
             * equivalence); otherwise a routing error, never another route. */
            if (sched_guard_decide(&g, &rq, &got, NULL, &f) == 0) {
                assert_int_equal(got.kind, routes[r].kind);
            } else {
                assert_true(f.code == SCHED_NOT_FOUND || f.code == SCHED_BAD_REQUEST ||
                            f.code == SCHED_METHOD_NOT_ALLOWED);
            }
        }
        /* The plain spelling is served. */
        {
            struct sched_request rq = request(routes[r].method, path, "Bearer " TOKEN);

            assert_int_equal(decide(&g, &rq), -1);
        }
    }
    free(vs);
}

static void encoded_spellings_reach_the_route_they_decode_to(void **state)
{
    static const struct {
        enum sched_method m;
        const char *path;
        enum sched_route_kind kind;
    } cases[] = {
        {SCHED_METHOD_GET, "/%76%31/executions", SCHED_ROUTE_LIST},
        {SCHED_METHOD_POST, "/%76%31/executions", SCHED_ROUTE_SUBMIT},
        {SCHED_METHOD_GET, "/v%31/executions", SCHED_ROUTE_LIST},
        {SCHED_METHOD_GET, "/%6detrics", SCHED_ROUTE_METRICS},
        {SCHED_METHOD_GET, "/%76%31/states/a/b/c", SCHED_ROUTE_STATES},
        {SCHED_METHOD_POST, "/v1/executions/" EXEC_ID "/%69nterrupt", SCHED_ROUTE_INTERRUPT},
        {SCHED_METHOD_GET, "/%76%31/workers", SCHED_ROUTE_WORKERS},
        {SCHED_METHOD_GET, "/v1/%71ueues", SCHED_ROUTE_QUEUES},
        {SCHED_METHOD_GET, "/v1/dea%64", SCHED_ROUTE_DEAD},
        {SCHED_METHOD_POST, "/v1/dead/1-0/%72etry", SCHED_ROUTE_RETRY},
        {SCHED_METHOD_POST, "/v1/executions/" EXEC_ID "/r%65run", SCHED_ROUTE_RERUN},
        {SCHED_METHOD_GET, "/openapi%2Ejson", SCHED_ROUTE_OPENAPI},
    };
    const struct sched_guard g = guard_with(true, false);

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sched_request rq = request(cases[i].m, cases[i].path, NULL);
        struct sched_route r;

        assert_int_equal(decide(&g, &rq), SCHED_UNAUTHORIZED);
        rq.authorization = "Bearer " TOKEN;
        assert_int_equal(sched_guard_decide(&g, &rq, &r, NULL, NULL), 0);
        assert_int_equal(r.kind, cases[i].kind);
    }
}

static void public_routes_need_no_token_and_unknown_routes_need_one(void **state)
{
    const struct sched_guard g = guard_with(true, false);
    struct sched_request rq = request(SCHED_METHOD_GET, "/", NULL);

    (void)state;
    assert_int_equal(decide(&g, &rq), -1);
    rq.path = "/healthz";
    assert_int_equal(decide(&g, &rq), -1);
    rq.method = SCHED_METHOD_HEAD;
    assert_int_equal(decide(&g, &rq), -1);
    rq.method = SCHED_METHOD_POST;
    rq.content_type = "application/json";
    assert_int_equal(decide(&g, &rq), SCHED_METHOD_NOT_ALLOWED);
    rq = request(SCHED_METHOD_GET, "/nope", NULL);
    assert_int_equal(decide(&g, &rq), SCHED_UNAUTHORIZED);
    rq.authorization = "Bearer " READ_TOK;
    assert_int_equal(decide(&g, &rq), SCHED_NOT_FOUND);
    rq.path = "/v1/executions/a.b";
    assert_int_equal(decide(&g, &rq), SCHED_BAD_REQUEST);
    rq.authorization = NULL;
    assert_int_equal(decide(&g, &rq), SCHED_UNAUTHORIZED);
    rq.path = "/v1/executions/%zz";
    assert_int_equal(decide(&g, &rq), SCHED_UNAUTHORIZED);
}

static void without_any_token_configured_nothing_protected_is_served(void **state)
{
    const struct sched_guard g = guard_with(false, false);
    struct sched_request rq = request(SCHED_METHOD_GET, "/v1/executions", "Bearer ");

    (void)state;
    assert_int_equal(decide(&g, &rq), SCHED_UNAUTHORIZED);
    rq.authorization = NULL;
    assert_int_equal(decide(&g, &rq), SCHED_UNAUTHORIZED);
    rq.path = "/";
    assert_int_equal(decide(&g, &rq), -1);
}

/* ------------------------------------------------------------------------ */
/* Scopes                                                                    */

static void each_scope_allows_exactly_its_routes(void **state)
{
    static const struct {
        const char *auth;
        int get, submit, interrupt;
    } cases[] = {
        {"Bearer " READ_TOK, -1, SCHED_FORBIDDEN, SCHED_FORBIDDEN},
        {"Bearer " INTR_TOK, -1, SCHED_FORBIDDEN, -1},
        {"Bearer " TOKEN, -1, -1, -1},
        {"bearer " TOKEN, -1, -1, -1},
        {"  BEARER\t" INTR_TOK "  ", -1, SCHED_FORBIDDEN, -1},
    };
    const struct sched_guard g = guard_with(true, false);

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sched_request rq = request(SCHED_METHOD_GET, "/v1/executions", cases[i].auth);
        enum sched_scope scope = SCHED_SCOPE_NONE;
        struct sched_route r;

        assert_int_equal(decide(&g, &rq), cases[i].get);
        rq.path = "/metrics";
        assert_int_equal(decide(&g, &rq), cases[i].get);
        rq.path = "/v1/states/a/b/c";
        assert_int_equal(decide(&g, &rq), cases[i].get);
        rq.path = "/v1/executions/" EXEC_ID "/events";
        assert_int_equal(decide(&g, &rq), cases[i].get);
        /* The operations views are reads; the API's description too. */
        for (size_t k = 0; k < 4; k++) {
            static const char *const reads[] = {"/v1/workers", "/v1/queues", "/v1/dead",
                                                "/openapi.json"};

            rq.path = reads[k];
            assert_int_equal(decide(&g, &rq), cases[i].get);
        }
        rq = request(SCHED_METHOD_POST, "/v1/executions", cases[i].auth);
        assert_int_equal(decide(&g, &rq), cases[i].submit);
        /* A retry and a rerun start executions: the submit scope, also encoded. */
        rq.path = "/v1/dead/1700000000000-0/retry";
        assert_int_equal(decide(&g, &rq), cases[i].submit);
        rq.path = "/v1/dead/1700000000000-0/%72etry";
        assert_int_equal(decide(&g, &rq), cases[i].submit);
        rq.path = "/v1/executions/" EXEC_ID "/rerun";
        assert_int_equal(decide(&g, &rq), cases[i].submit);
        rq.path = "/%76%31/executions/" EXEC_ID "/rerun";
        assert_int_equal(decide(&g, &rq), cases[i].submit);
        rq.path = "/%76%31/executions";
        assert_int_equal(decide(&g, &rq), cases[i].submit);
        rq.path = "/v1/executions/" EXEC_ID "/interrupt";
        assert_int_equal(decide(&g, &rq), cases[i].interrupt);
        if (cases[i].interrupt == -1) {
            assert_int_equal(sched_guard_decide(&g, &rq, &r, &scope, NULL), 0);
            assert_true(scope >= SCHED_SCOPE_INTERRUPT);
        }
    }
    assert_string_equal(sched_scope_name(SCHED_SCOPE_READ), "read");
    assert_string_equal(sched_scope_name((enum sched_scope)7), "?");
}

static void the_query_token_counts_only_on_the_event_stream(void **state)
{
    const struct sched_guard g = guard_with(true, false);
    struct sched_request rq = request(SCHED_METHOD_GET, "/v1/executions/" EXEC_ID "/events", NULL);
    enum sched_scope scope = SCHED_SCOPE_NONE;
    struct sched_route r;

    (void)state;
    rq.query = "access_token=" READ_TOK;
    assert_int_equal(sched_guard_decide(&g, &rq, &r, &scope, NULL), 0);
    assert_int_equal(scope, SCHED_SCOPE_READ);
    rq.query = "x=1&access_token=" TOKEN "&y=2";
    assert_int_equal(decide(&g, &rq), -1);
    rq.query = "access_token=wrong";
    assert_int_equal(decide(&g, &rq), SCHED_UNAUTHORIZED);
    rq.query = "access_token=%zz";
    assert_int_equal(decide(&g, &rq), SCHED_UNAUTHORIZED);
    rq.query = "access_token=" TOKEN;
    rq.path = "/v1/executions";
    assert_int_equal(decide(&g, &rq), SCHED_UNAUTHORIZED);
    rq.path = "/v1/executions/" EXEC_ID;
    assert_int_equal(decide(&g, &rq), SCHED_UNAUTHORIZED);
    rq = request(SCHED_METHOD_POST, "/v1/executions", NULL);
    rq.query = "access_token=" TOKEN;
    assert_int_equal(decide(&g, &rq), SCHED_UNAUTHORIZED);
}

static void no_auth_serves_everything_but_still_refuses_cross_site_requests(void **state)
{
    const struct sched_guard g = guard_with(false, true);
    struct sched_request rq = request(SCHED_METHOD_POST, "/v1/executions", NULL);

    (void)state;
    assert_int_equal(decide(&g, &rq), -1);
    rq.content_type = "text/plain";
    assert_int_equal(decide(&g, &rq), SCHED_UNSUPPORTED_MEDIA);
    rq.content_type = "application/json";
    rq.origin = "http://evil.example";
    assert_int_equal(decide(&g, &rq), SCHED_ORIGIN_NOT_ALLOWED);
    rq.origin = NULL;
    rq.host = "evil.example:7117";
    assert_int_equal(decide(&g, &rq), SCHED_HOST_NOT_ALLOWED);
}

/* ------------------------------------------------------------------------ */
/* Media type, Host, Origin                                                  */

static void a_post_must_be_json(void **state)
{
    static const struct {
        const char *ct;
        bool ok;
    } cases[] = {
        {"application/json", true},
        {"Application/JSON", true},
        {"application/json; charset=utf-8", true},
        {"  application/json ;charset=UTF-8", true},
        {NULL, false},
        {"", false},
        {"text/plain", false},
        {"text/plain; charset=application/json", false},
        {"text/plain;application/json", false},
        {"application/x-www-form-urlencoded", false},
        {"multipart/form-data; boundary=x", false},
        {"application/jsonp", false},
        {"application/json-seq", false},
        {"application/json,text/plain", false},
        {"application/ json", false},
    };
    const struct sched_guard g = guard_with(true, false);

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sched_request rq = request(SCHED_METHOD_POST, "/v1/executions", "Bearer " TOKEN);

        assert_int_equal(sched_content_type_is_json(cases[i].ct), cases[i].ok);
        rq.content_type = cases[i].ct;
        assert_int_equal(decide(&g, &rq), cases[i].ok ? -1 : SCHED_UNSUPPORTED_MEDIA);
        rq.path = "/v1/executions/" EXEC_ID "/interrupt";
        assert_int_equal(decide(&g, &rq), cases[i].ok ? -1 : SCHED_UNSUPPORTED_MEDIA);
    }
    /* A GET needs none. */
    {
        struct sched_request rq = request(SCHED_METHOD_GET, "/v1/executions", "Bearer " TOKEN);

        rq.content_type = "text/plain";
        assert_int_equal(decide(&g, &rq), -1);
    }
}

static void only_addresses_localhost_and_allowed_names_are_served(void **state)
{
    static const struct {
        const char *host;
        bool ok;
    } cases[] = {
        {NULL, true},
        {"127.0.0.1:7117", true},
        {"127.0.0.1", true},
        {"10.1.2.3:80", true},
        {"[::1]:7117", true},
        {"[::1]", true},
        {"localhost:7117", true},
        {"LocalHost", true},
        {"peace.internal:8080", true},
        {"PEACE.internal", true},
        {"evil.example:7117", false},
        {"evil.example", false},
        {"127.0.0.1.evil.example", false},
        {"localhost.evil.example", false},
        {"evil.example@127.0.0.1", false},
        {"", false},
        {":7117", false},
        {"127.0.0.1:", false},
        {"127.0.0.1:123456", false},
        {"127.0.0.1:80x", false},
        {"[::1", false},
        {"[zz]:1", false},
        {"[]", false},
        {"::1", false},
        {"0x7f.1", false},
        {"local host", false},
        {"localhost\r\nX: y", false},
        {"peace.internal.evil", false},
    };
    const struct sched_guard g = guard_with(true, false);
    struct sched_guard any = g;

    (void)state;
    any.allow_hosts = "x.lan,*";
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sched_request rq = request(SCHED_METHOD_GET, "/", NULL);

        if (sched_guard_host_ok(&g, cases[i].host) != cases[i].ok) {
            print_error("Host \"%s\": expected %d\n", cases[i].host != NULL ? cases[i].host : "-",
                        cases[i].ok);
            fail();
        }
        rq.host = cases[i].host;
        assert_int_equal(decide(&g, &rq), cases[i].ok ? -1 : SCHED_HOST_NOT_ALLOWED);
        /* Even with the token: a rebound name gets nothing. */
        rq.path = "/v1/executions";
        rq.authorization = "Bearer " TOKEN;
        assert_int_equal(decide(&g, &rq), cases[i].ok ? -1 : SCHED_HOST_NOT_ALLOWED);
        assert_true(sched_guard_host_ok(&any, cases[i].host));
    }
    /* The listen host is a name when it is one. */
    any = g;
    any.listen_host = "sched.lan";
    assert_true(sched_guard_host_ok(&any, "sched.lan:7117"));
    assert_false(sched_guard_host_ok(&g, "sched.lan:7117"));
}

static void only_the_same_origin_and_allowed_origins_are_served(void **state)
{
    static const struct {
        const char *origin;
        const char *host;
        bool ok;
    } cases[] = {
        {NULL, "127.0.0.1:7117", true},
        {"http://127.0.0.1:7117", "127.0.0.1:7117", true},
        {"HTTP://LOCALHOST:7117", "localhost:7117", true},
        {"https://dash.example.com", "127.0.0.1:7117", true},
        {"http://evil.example", "127.0.0.1:7117", false},
        {"http://127.0.0.1:7118", "127.0.0.1:7117", false},
        {"http://127.0.0.1:7117", NULL, false},
        {"null", "127.0.0.1:7117", false},
        {"", "127.0.0.1:7117", false},
        {"http://", "", false},
        {"file://", "127.0.0.1:7117", false},
        {"127.0.0.1:7117", "127.0.0.1:7117", false},
        {"https://dash.example.com.evil", "127.0.0.1:7117", false},
        {"http://dash.example.com", "127.0.0.1:7117", false},
        {"http://x.lan:81", "127.0.0.1:7117", true},
        {"http://x.lan:8", "127.0.0.1:7117", false},
        {"https://dash.example.com,http://x.lan:81", "127.0.0.1:7117", false},
        {"*", "127.0.0.1:7117", false},
    };
    const struct sched_guard g = guard_with(true, false);

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sched_request rq = request(SCHED_METHOD_POST, "/v1/executions", "Bearer " TOKEN);

        assert_int_equal(sched_guard_origin_ok(&g, cases[i].origin, cases[i].host), cases[i].ok);
        rq.origin = cases[i].origin;
        rq.host = cases[i].host;
        if (cases[i].host != NULL && cases[i].host[0] != '\0') {
            assert_int_equal(decide(&g, &rq), cases[i].ok ? -1 : SCHED_ORIGIN_NOT_ALLOWED);
        }
    }
}

static void a_cross_site_text_plain_post_is_refused(void **state)
{
    const struct sched_guard g = guard_with(true, false);
    struct sched_request rq = request(SCHED_METHOD_POST, "/v1/executions", "Bearer " TOKEN);

    (void)state;
    /* What a form or fetch(no-cors) of another site sends. */
    rq.content_type = "text/plain";
    rq.origin = "http://evil.example";
    assert_int_equal(decide(&g, &rq), SCHED_ORIGIN_NOT_ALLOWED);
    rq.origin = NULL; /* an old browser that sends no Origin */
    assert_int_equal(decide(&g, &rq), SCHED_UNSUPPORTED_MEDIA);
    rq.content_type = "application/x-www-form-urlencoded";
    assert_int_equal(decide(&g, &rq), SCHED_UNSUPPORTED_MEDIA);
}

static void loopback_addresses_are_recognised(void **state)
{
    (void)state;
    assert_true(sched_host_is_loopback("127.0.0.1"));
    assert_true(sched_host_is_loopback("127.1.2.3"));
    assert_true(sched_host_is_loopback("::1"));
    assert_true(sched_host_is_loopback("localhost"));
    assert_false(sched_host_is_loopback("0.0.0.0"));
    assert_false(sched_host_is_loopback("::"));
    assert_false(sched_host_is_loopback("10.0.0.1"));
    assert_false(sched_host_is_loopback("localhost.example"));
    assert_false(sched_host_is_loopback(""));
    assert_false(sched_host_is_loopback(NULL));
}

static void random_requests_never_crash_the_guard(void **state)
{
    const struct sched_guard g = guard_with(true, false);
    uint32_t x = 12345;
    char path[64];
    char host[32];
    char auth[40];

    (void)state;
    for (int round = 0; round < 20000; round++) {
        struct sched_request rq;
        char *bufs[3] = {path, host, auth};
        size_t sizes[3] = {sizeof(path), sizeof(host), sizeof(auth)};
        struct sched_route r;

        for (size_t b = 0; b < 3; b++) {
            size_t n;

            x = x * 1103515245u + 12345u;
            n = (x >> 16) % sizes[b];
            for (size_t i = 0; i < n; i++) {
                x = x * 1103515245u + 12345u;
                bufs[b][i] = "/%v1ex2Fa.B:[]@ 7"[(x >> 16) % 17];
            }
            bufs[b][n] = '\0';
        }
        rq = request((enum sched_method)(x % 4), path, auth);
        rq.host = host;
        rq.origin = (x & 8) != 0 ? host : NULL;
        if (sched_guard_decide(&g, &rq, &r, NULL, NULL) == 0) {
            /* Served without a token: only the public routes. */
            assert_int_equal(r.perm, SCHED_PERM_PUBLIC);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_spelling_of_every_protected_route_is_401_without_a_token),
        cmocka_unit_test(the_same_spellings_with_the_token_reach_the_route_or_are_refused),
        cmocka_unit_test(encoded_spellings_reach_the_route_they_decode_to),
        cmocka_unit_test(public_routes_need_no_token_and_unknown_routes_need_one),
        cmocka_unit_test(without_any_token_configured_nothing_protected_is_served),
        cmocka_unit_test(each_scope_allows_exactly_its_routes),
        cmocka_unit_test(the_query_token_counts_only_on_the_event_stream),
        cmocka_unit_test(no_auth_serves_everything_but_still_refuses_cross_site_requests),
        cmocka_unit_test(a_post_must_be_json),
        cmocka_unit_test(only_addresses_localhost_and_allowed_names_are_served),
        cmocka_unit_test(only_the_same_origin_and_allowed_origins_are_served),
        cmocka_unit_test(a_cross_site_text_plain_post_is_refused),
        cmocka_unit_test(loopback_addresses_are_recognised),
        cmocka_unit_test(random_requests_never_crash_the_guard),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
