/*
 * test_sched_http.c - the pure HTTP rules of peace-scheduler: every error
 * code's status, every route and its methods, refusals of bad paths, ids and
 * encodings, query look-ups, stream ids and the bearer token check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "peace/pct.h"
#include "sched_http.h"

#define ID "01HZX3J8K2Q4M5N6P7R8S9T0VW"

static void every_code_has_its_documented_name_and_status(void **state)
{
    static const struct {
        const char *name;
        enum sched_code code;
        int status;
    } want[] = {
        {"invalid_json", SCHED_INVALID_JSON, 400},
        {"bad_request", SCHED_BAD_REQUEST, 400},
        {"invalid_flow", SCHED_INVALID_FLOW, 400},
        {"unknown_item_type", SCHED_UNKNOWN_ITEM_TYPE, 400},
        {"body_too_large", SCHED_BODY_TOO_LARGE, 413},
        {"unauthorized", SCHED_UNAUTHORIZED, 401},
        {"forbidden", SCHED_FORBIDDEN, 403},
        {"host_not_allowed", SCHED_HOST_NOT_ALLOWED, 403},
        {"origin_not_allowed", SCHED_ORIGIN_NOT_ALLOWED, 403},
        {"unsupported_media_type", SCHED_UNSUPPORTED_MEDIA, 415},
        {"execution_not_found", SCHED_EXECUTION_NOT_FOUND, 404},
        {"not_found", SCHED_NOT_FOUND, 404},
        {"method_not_allowed", SCHED_METHOD_NOT_ALLOWED, 405},
        {"redis_unavailable", SCHED_REDIS_UNAVAILABLE, 503},
        {"too_many_streams", SCHED_TOO_MANY_STREAMS, 503},
        {"dead_letter_not_found", SCHED_DEAD_LETTER_NOT_FOUND, 404},
        {"cannot_requeue", SCHED_CANNOT_REQUEUE, 409},
        {"internal", SCHED_INTERNAL, 500},
    };

    (void)state;
    assert_int_equal(sizeof(want) / sizeof(want[0]), SCHED_CODE_COUNT);
    for (size_t i = 0; i < SCHED_CODE_COUNT; i++) {
        assert_string_equal(sched_code_name(want[i].code), want[i].name);
        assert_int_equal(sched_code_status(want[i].code), want[i].status);
    }
    assert_string_equal(sched_code_name((enum sched_code)99), "internal");
    assert_int_equal(sched_code_status((enum sched_code)99), 500);
}

static void a_fail_message_never_holds_a_line_break(void **state)
{
    struct sched_fail f;

    (void)state;
    assert_int_equal(sched_fail_set(&f, SCHED_BAD_REQUEST, "a\r\nb %s", "c\nd"), PC_EINVAL);
    assert_int_equal(f.code, SCHED_BAD_REQUEST);
    assert_string_equal(f.msg, "a  b c d");
    assert_int_equal(sched_fail_set(NULL, SCHED_INTERNAL, "x"), PC_EINVAL);
}

static void route(enum sched_method m, const char *path, struct sched_route *r)
{
    struct sched_fail f;

    memset(&f, 0, sizeof(f));
    if (sched_route_match(m, path, r, &f) != 0) {
        fail_msg("%s: %s", path, f.msg);
    }
}

static enum sched_code route_fails(enum sched_method m, const char *path)
{
    struct sched_route r;
    struct sched_fail f;

    memset(&r, 0x5a, sizeof(r));
    assert_int_not_equal(sched_route_match(m, path, &r, &f), 0);
    return f.code;
}

static void every_endpoint_routes_with_its_parameters(void **state)
{
    struct sched_route r;

    (void)state;
    route(SCHED_METHOD_GET, "/", &r);
    assert_int_equal(r.kind, SCHED_ROUTE_PAGE);
    route(SCHED_METHOD_HEAD, "/", &r);
    assert_int_equal(r.kind, SCHED_ROUTE_PAGE);
    route(SCHED_METHOD_GET, "/healthz", &r);
    assert_int_equal(r.kind, SCHED_ROUTE_HEALTHZ);
    route(SCHED_METHOD_GET, "/metrics", &r);
    assert_int_equal(r.kind, SCHED_ROUTE_METRICS);
    route(SCHED_METHOD_POST, "/v1/executions", &r);
    assert_int_equal(r.kind, SCHED_ROUTE_SUBMIT);
    route(SCHED_METHOD_GET, "/v1/executions", &r);
    assert_int_equal(r.kind, SCHED_ROUTE_LIST);
    route(SCHED_METHOD_GET, "/v1/executions/" ID, &r);
    assert_int_equal(r.kind, SCHED_ROUTE_GET);
    assert_string_equal(r.id, ID);
    route(SCHED_METHOD_GET, "/v1/executions/" ID "/events", &r);
    assert_int_equal(r.kind, SCHED_ROUTE_EVENTS);
    assert_string_equal(r.id, ID);
    route(SCHED_METHOD_POST, "/v1/executions/" ID "/interrupt", &r);
    assert_int_equal(r.kind, SCHED_ROUTE_INTERRUPT);
    assert_string_equal(r.id, ID);
    route(SCHED_METHOD_GET, "/v1/states/app_1/prod/web", &r);
    assert_int_equal(r.kind, SCHED_ROUTE_STATES);
    assert_string_equal(r.app.s, "app_1");
    assert_string_equal(r.profile.s, "prod");
    assert_string_equal(r.flow.s, "web");
    /* A UUID-style id and a percent-encoded identifier. */
    route(SCHED_METHOD_GET, "/v1/executions/0190f8c2-7b1e-7000-8000-000000000001", &r);
    assert_string_equal(r.id, "0190f8c2-7b1e-7000-8000-000000000001");
    route(SCHED_METHOD_GET, "/v1/states/%61pp/prod/web", &r);
    assert_string_equal(r.app.s, "app");
}

static void a_known_path_with_the_wrong_method_is_405(void **state)
{
    (void)state;
    assert_int_equal(route_fails(SCHED_METHOD_POST, "/"), SCHED_METHOD_NOT_ALLOWED);
    assert_int_equal(route_fails(SCHED_METHOD_OTHER, "/v1/executions"), SCHED_METHOD_NOT_ALLOWED);
    assert_int_equal(route_fails(SCHED_METHOD_POST, "/v1/executions/" ID),
                     SCHED_METHOD_NOT_ALLOWED);
    assert_int_equal(route_fails(SCHED_METHOD_GET, "/v1/executions/" ID "/interrupt"),
                     SCHED_METHOD_NOT_ALLOWED);
    assert_int_equal(route_fails(SCHED_METHOD_POST, "/v1/executions/" ID "/events"),
                     SCHED_METHOD_NOT_ALLOWED);
    /* No HEAD on an event stream. */
    assert_int_equal(route_fails(SCHED_METHOD_HEAD, "/v1/executions/" ID "/events"),
                     SCHED_METHOD_NOT_ALLOWED);
    assert_int_equal(route_fails(SCHED_METHOD_POST, "/v1/states/a/b/c"), SCHED_METHOD_NOT_ALLOWED);
}

static void unknown_paths_are_404_not_found(void **state)
{
    static const char *const paths[] = {
        "",
        "healthz",
        "/healthz/",
        "//",
        "/v1",
        "/v1/",
        "/v1/executions/",
        "/v1/executions//events",
        /* NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one path */
        "/v1/executions/" ID "/nope",
        "/v1/executions/" ID "/events/more",
        "/v1/states/a/b",
        "/v1/states/a/b/c/d",
        "/V1/executions",
        "/a/b/c/d/e/f/g/h",
        "/v1/executions%2F" ID,
    };

    (void)state;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        assert_int_equal(route_fails(SCHED_METHOD_GET, paths[i]), SCHED_NOT_FOUND);
    }
}

static void a_too_long_path_is_404_without_decoding_it(void **state)
{
    char *path = malloc(SCHED_PATH_MAX + 16);

    (void)state;
    assert_non_null(path);
    memcpy(path, "/v1/executions/", 15);
    memset(path + 15, 'A', SCHED_PATH_MAX);
    path[SCHED_PATH_MAX + 15] = '\0';
    assert_int_equal(route_fails(SCHED_METHOD_GET, path), SCHED_NOT_FOUND);
    free(path);
}

static void bad_ids_identifiers_and_encodings_are_400(void **state)
{
    static const char *const paths[] = {
        "/v1/executions/bad%20id",
        "/v1/executions/a.b",
        "/v1/executions/%",
        "/v1/executions/%4",
        "/v1/executions/%zz",
        "/v1/executions/ab%00cd",
        /* NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one path */
        "/v1/executions/"
        "01234567890123456789012345678901234567890123456789012345678901234",
        "/v1/executions/%2F/events",
        "/v1/states/1app/prod/web",
        "/v1/states/app/pr-od/web",
        "/v1/states/app/prod/%",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        assert_int_equal(route_fails(SCHED_METHOD_GET, paths[i]), SCHED_BAD_REQUEST);
    }
}

static void random_paths_and_queries_never_crash_the_router(void **state)
{
    static const char alphabet[] = "/%%%0123456789abcdefABCDEFv1executionsstateeventsinterrupt"
                                   "?&=+-_.\x01\x7f\xff";
    uint32_t x = 0x12345678u;
    char path[96];
    char value[16];

    (void)state;
    for (int round = 0; round < 200000; round++) {
        struct sched_route r;
        struct sched_fail f;
        size_t n;
        bool found;

        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        n = x % (sizeof(path) - 1);
        path[0] = '/';
        for (size_t i = 1; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            path[i] = alphabet[x % (sizeof(alphabet) - 1)];
        }
        path[n > 0 ? n : 1] = '\0';
        memset(&f, 0, sizeof(f));
        if (sched_route_match((enum sched_method)(x % 4), path, &r, &f) != 0) {
            assert_true(f.code == SCHED_NOT_FOUND || f.code == SCHED_BAD_REQUEST ||
                        f.code == SCHED_METHOD_NOT_ALLOWED);
            assert_non_null(memchr(f.msg, '\0', sizeof(f.msg)));
        } else if (r.kind == SCHED_ROUTE_GET || r.kind == SCHED_ROUTE_EVENTS ||
                   r.kind == SCHED_ROUTE_INTERRUPT) {
            assert_true(pc_exec_id_valid(r.id, strlen(r.id)));
        }
        if (sched_query_get(path, "limit", value, sizeof(value), &found) == 0 && found) {
            assert_true(strlen(value) < sizeof(value));
        }
        (void)sched_stream_id_valid(path + 1);
    }
}

static void percent_decoding_is_strict(void **state)
{
    char out[16];
    size_t n = 99;

    (void)state;
    assert_int_equal(pc_pct_decode("a%20b+c", 7, false, out, sizeof(out), &n), 0);
    assert_string_equal(out, "a b+c");
    assert_int_equal(n, 5);
    assert_int_equal(pc_pct_decode("a%20b+c", 7, true, out, sizeof(out), &n), 0);
    assert_string_equal(out, "a b c");
    assert_int_equal(pc_pct_decode("%C3%a9", 6, false, out, sizeof(out), &n), 0);
    assert_string_equal(out, "\xC3\xA9");
    assert_int_equal(pc_pct_decode("", 0, false, out, sizeof(out), &n), 0);
    assert_int_equal(n, 0);
    assert_string_equal(out, "");
    assert_int_equal(pc_pct_decode("%", 1, false, out, sizeof(out), &n), PC_EINVAL);
    assert_int_equal(pc_pct_decode("%2", 2, false, out, sizeof(out), &n), PC_EINVAL);
    assert_int_equal(pc_pct_decode("%g0", 3, false, out, sizeof(out), &n), PC_EINVAL);
    assert_int_equal(pc_pct_decode("x%00", 4, false, out, sizeof(out), &n), PC_EINVAL);
    /* The length bounds the read: "%41" cut to "%4" is incomplete. */
    assert_int_equal(pc_pct_decode("%41", 2, false, out, sizeof(out), &n), PC_EINVAL);
    assert_int_equal(pc_pct_decode("0123456789abcdef", 16, false, out, sizeof(out), &n), PC_ELIMIT);
    assert_int_equal(pc_pct_decode("abc", 3, false, out, 0, &n), PC_ELIMIT);
}

static void query_lookups_decode_and_refuse_bad_queries(void **state)
{
    char v[8];
    bool found = true;

    (void)state;
    assert_int_equal(sched_query_get(NULL, "limit", v, sizeof(v), &found), 0);
    assert_false(found);
    assert_int_equal(sched_query_get("a=1&limit=20&limit=30", "limit", v, sizeof(v), &found), 0);
    assert_true(found);
    assert_string_equal(v, "20");
    assert_int_equal(sched_query_get("li%6Dit=1+2", "limit", v, sizeof(v), &found), 0);
    assert_true(found);
    assert_string_equal(v, "1 2");
    assert_int_equal(sched_query_get("limit", "limit", v, sizeof(v), &found), 0);
    assert_true(found);
    assert_string_equal(v, "");
    assert_int_equal(sched_query_get("&&x=&limitx=3", "limit", v, sizeof(v), &found), 0);
    assert_false(found);
    /* A bad escape anywhere refuses the whole query. */
    assert_int_equal(sched_query_get("x=%zz&limit=1", "limit", v, sizeof(v), &found), PC_EINVAL);
    assert_int_equal(sched_query_get("limit=1&x=%", "limit", v, sizeof(v), &found), PC_EINVAL);
    assert_int_equal(sched_query_get("limit=123456789", "limit", v, sizeof(v), &found), PC_ELIMIT);
}

static void execution_ids_have_one_form(void **state)
{
    (void)state;
    assert_true(pc_exec_id_valid(ID, strlen(ID)));
    assert_true(pc_exec_id_valid("a-b-C-9", 7));
    assert_false(pc_exec_id_valid("", 0));
    assert_false(pc_exec_id_valid("a_b", 3));
    assert_false(pc_exec_id_valid("a b", 3));
    assert_false(pc_exec_id_valid("a\0b", 3));
    assert_true(
        pc_exec_id_valid("0123456789012345678901234567890123456789012345678901234567890123", 64));
    assert_false(
        pc_exec_id_valid("01234567890123456789012345678901234567890123456789012345678901234", 65));
}

static void stream_ids_are_checked_like_redis_does(void **state)
{
    (void)state;
    assert_true(sched_stream_id_valid("0"));
    assert_true(sched_stream_id_valid("0-0"));
    assert_true(sched_stream_id_valid("1795308368113-12"));
    assert_true(sched_stream_id_valid("18446744073709551615-18446744073709551615"));
    assert_false(sched_stream_id_valid("18446744073709551616-0"));
    assert_false(sched_stream_id_valid(""));
    assert_false(sched_stream_id_valid(NULL));
    assert_false(sched_stream_id_valid("-1"));
    assert_false(sched_stream_id_valid("1-"));
    assert_false(sched_stream_id_valid("1-2-3"));
    assert_false(sched_stream_id_valid("$"));
    assert_false(sched_stream_id_valid("1 2"));
    assert_false(sched_stream_id_valid("+1"));
}

static void counts_are_plain_decimals_in_range(void **state)
{
    unsigned long long v = 0;

    (void)state;
    assert_int_equal(sched_parse_count("50", 1, 1000, &v), 0);
    assert_int_equal(v, 50);
    assert_int_equal(sched_parse_count("0", 1, 1000, &v), PC_EINVAL);
    assert_int_equal(sched_parse_count("1001", 1, 1000, &v), PC_EINVAL);
    assert_int_equal(sched_parse_count("-1", 0, 1000, &v), PC_EINVAL);
    assert_int_equal(sched_parse_count("+1", 0, 1000, &v), PC_EINVAL);
    assert_int_equal(sched_parse_count("1x", 0, 1000, &v), PC_EINVAL);
    assert_int_equal(sched_parse_count("", 0, 1000, &v), PC_EINVAL);
    assert_int_equal(sched_parse_count("99999999999999999999999", 0, 1000, &v), PC_EINVAL);
    assert_int_equal(v, 50);
}

static void only_the_exact_bearer_token_passes(void **state)
{
    static const char tok[] = "s3cret-token";
    size_t n = sizeof(tok) - 1;

    (void)state;
    assert_true(sched_auth_ok("Bearer s3cret-token", tok, n));
    assert_true(sched_auth_ok("bearer  s3cret-token ", tok, n));
    assert_true(sched_auth_ok("BEARER\ts3cret-token", tok, n));
    assert_false(sched_auth_ok(NULL, tok, n));
    assert_false(sched_auth_ok("", tok, n));
    assert_false(sched_auth_ok("Bearer", tok, n));
    assert_false(sched_auth_ok("Bearer ", tok, n));
    assert_false(sched_auth_ok("s3cret-token", tok, n));
    assert_false(sched_auth_ok("Basic s3cret-token", tok, n));
    assert_false(sched_auth_ok("Bearers3cret-token", tok, n));
    assert_false(sched_auth_ok("Bearer s3cret-toke", tok, n));
    assert_false(sched_auth_ok("Bearer s3cret-tokenX", tok, n));
    assert_false(sched_auth_ok("Bearer S3cret-token", tok, n));
    assert_false(sched_auth_ok("Bearer s3cret token", tok, n));
    /* No configured token means nothing can match (the caller skips the check). */
    assert_false(sched_auth_ok("Bearer x", "", 0));
}

static void token_comparison_is_exact(void **state)
{
    (void)state;
    assert_true(sched_token_eq("abc", 3, "abc", 3));
    assert_false(sched_token_eq("abd", 3, "abc", 3));
    assert_false(sched_token_eq("ab", 2, "abc", 3));
    assert_false(sched_token_eq("abcd", 4, "abc", 3));
    assert_false(sched_token_eq("", 0, "abc", 3));
    assert_false(sched_token_eq("", 0, "", 0));
    assert_false(sched_token_eq(NULL, 0, "abc", 3));
}

static void log_targets_are_printable_bounded_and_hide_tokens(void **state)
{
    char out[48];
    char tiny[8];

    (void)state;
    sched_log_target("/v1/executions?limit=5", out, sizeof(out));
    assert_string_equal(out, "/v1/executions?limit=5");
    sched_log_target("/v1/x/events?access_token=s3cret&last_event_id=1-0", out, sizeof(out));
    assert_string_equal(out, "/v1/x/events?***&last_event_id=1-0");
    sched_log_target("/e?a=1&access_token=s3cret", out, sizeof(out));
    assert_string_equal(out, "/e?a=***&***");
    sched_log_target("/e?access_token=", out, sizeof(out));
    assert_string_equal(out, "/e?***");
    /* Wherever it appears, however it is spelled. */
    {
        static const char *const hidden[] = {
            "/e?%61ccess_token=s3cret",
            "/e?ACCESS_TOKEN=s3cret",
            "/e?x=access_token=s3cret",
            "/e?a&&access_token=s3cret",
            "/e?s3cret",
            "/e?access%5ftoken=s3cret",
            "/e?a=1&access%5Ftoken=s3cret", /* found by fuzzing */
            "/e?x=1#access_token=s3cret",
            "/e?limit=1&my_token=s3cret",
            "/e?last_event_id=1&access+token=s3cret",
        };

        for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
            sched_log_target(hidden[i], out, sizeof(out));
            if (strstr(out, "s3") != NULL) {
                fail_msg("%s logged as %s", hidden[i], out);
            }
        }
    }
    /* The path is shown as it is. */
    sched_log_target("/access_token=x?limit=2", out, sizeof(out));
    assert_string_equal(out, "/access_token=x?limit=2");
    sched_log_target("/a\x01"
                     "b\x7f c",
                     out, sizeof(out));
    assert_string_equal(out, "/a?b??c");
    sched_log_target("/0123456789", tiny, sizeof(tiny));
    assert_string_equal(tiny, "/012...");
    sched_log_target("/?access_token=s3cret", tiny, sizeof(tiny));
    assert_null(strstr(tiny, "s3"));
    sched_log_target(NULL, out, sizeof(out));
    assert_string_equal(out, "");
}

static void every_route_has_its_permission_in_the_table(void **state)
{
    static const struct {
        enum sched_method method;
        const char *path;
        enum sched_perm perm;
    } want[] = {
        {SCHED_METHOD_GET, "/", SCHED_PERM_PUBLIC},
        {SCHED_METHOD_HEAD, "/", SCHED_PERM_PUBLIC},
        {SCHED_METHOD_GET, "/healthz", SCHED_PERM_PUBLIC},
        {SCHED_METHOD_GET, "/metrics", SCHED_PERM_READ},
        {SCHED_METHOD_GET, "/v1/executions", SCHED_PERM_READ},
        {SCHED_METHOD_POST, "/v1/executions", SCHED_PERM_ADMIN},
        {SCHED_METHOD_GET, "/v1/executions/X", SCHED_PERM_READ},
        {SCHED_METHOD_GET, "/v1/executions/X/events", SCHED_PERM_READ},
        {SCHED_METHOD_POST, "/v1/executions/X/interrupt", SCHED_PERM_INTERRUPT},
        {SCHED_METHOD_GET, "/v1/states/a/b/c", SCHED_PERM_READ},
        {SCHED_METHOD_GET, "/v1/workers", SCHED_PERM_READ},
        {SCHED_METHOD_GET, "/v1/queues", SCHED_PERM_READ},
        {SCHED_METHOD_GET, "/v1/dead", SCHED_PERM_READ},
        {SCHED_METHOD_POST, "/v1/dead/1-0/retry", SCHED_PERM_ADMIN},
        {SCHED_METHOD_POST, "/v1/executions/X/rerun", SCHED_PERM_ADMIN},
        {SCHED_METHOD_GET, "/openapi.json", SCHED_PERM_READ},
    };
    size_t n = 0;
    const struct sched_route_def *t = sched_routes(&n);

    (void)state;
    assert_int_equal(n, 15);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        struct sched_route r;
        enum sched_perm p = SCHED_PERM_PUBLIC;
        struct sched_fail f;

        assert_int_equal(sched_route_find(want[i].method, want[i].path, &r, &p, &f), 0);
        assert_int_equal(p, want[i].perm);
        assert_int_equal(r.perm, want[i].perm);
    }
    /* Only the page and the liveness check are public. */
    for (size_t i = 0; i < n; i++) {
        assert_true(t[i].perm != SCHED_PERM_PUBLIC || t[i].kind == SCHED_ROUTE_PAGE ||
                    t[i].kind == SCHED_ROUTE_HEALTHZ);
        assert_true(t[i].method == SCHED_METHOD_GET || t[i].perm >= SCHED_PERM_INTERRUPT);
    }
    assert_string_equal(sched_perm_name(SCHED_PERM_INTERRUPT), "interrupt");
    assert_string_equal(sched_perm_name((enum sched_perm)9), "?");
}

static void the_path_is_the_target_as_sent(void **state)
{
    char out[SCHED_PATH_MAX + 2];
    char *longer = malloc(SCHED_PATH_MAX + 100);

    (void)state;
    assert_non_null(longer);
    sched_request_path("//metrics", "", out, sizeof(out));
    assert_string_equal(out, "//metrics");
    sched_request_path("/v1/executions?limit=1#x", "/v1/executions", out, sizeof(out));
    assert_string_equal(out, "/v1/executions");
    sched_request_path("/a#b?c", NULL, out, sizeof(out));
    assert_string_equal(out, "/a");
    sched_request_path("http://h/v1/executions?x", "/v1/executions", out, sizeof(out));
    assert_string_equal(out, "/v1/executions");
    sched_request_path("*", NULL, out, sizeof(out));
    assert_string_equal(out, "");
    sched_request_path(NULL, NULL, out, sizeof(out));
    assert_string_equal(out, "");
    memset(longer, 'a', SCHED_PATH_MAX + 99);
    longer[0] = '/';
    longer[SCHED_PATH_MAX + 99] = '\0';
    sched_request_path(longer, NULL, out, sizeof(out));
    assert_int_equal(strlen(out), SCHED_PATH_MAX + 1);
    {
        struct sched_route r;
        struct sched_fail f;

        assert_int_not_equal(sched_route_match(SCHED_METHOD_GET, out, &r, &f), 0);
        assert_int_equal(f.code, SCHED_NOT_FOUND);
    }
    free(longer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_code_has_its_documented_name_and_status),
        cmocka_unit_test(a_fail_message_never_holds_a_line_break),
        cmocka_unit_test(every_endpoint_routes_with_its_parameters),
        cmocka_unit_test(a_known_path_with_the_wrong_method_is_405),
        cmocka_unit_test(unknown_paths_are_404_not_found),
        cmocka_unit_test(a_too_long_path_is_404_without_decoding_it),
        cmocka_unit_test(bad_ids_identifiers_and_encodings_are_400),
        cmocka_unit_test(random_paths_and_queries_never_crash_the_router),
        cmocka_unit_test(percent_decoding_is_strict),
        cmocka_unit_test(query_lookups_decode_and_refuse_bad_queries),
        cmocka_unit_test(execution_ids_have_one_form),
        cmocka_unit_test(stream_ids_are_checked_like_redis_does),
        cmocka_unit_test(counts_are_plain_decimals_in_range),
        cmocka_unit_test(only_the_exact_bearer_token_passes),
        cmocka_unit_test(token_comparison_is_exact),
        cmocka_unit_test(log_targets_are_printable_bounded_and_hide_tokens),
        cmocka_unit_test(every_route_has_its_permission_in_the_table),
        cmocka_unit_test(the_path_is_the_target_as_sent),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
