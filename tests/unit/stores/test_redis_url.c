/*
 * test_redis_url.c - Redis URLs of CONTRACT §1: every accepted form with its
 * defaults, percent-encoded credentials, and malformed URLs each refused with
 * a clear message that never repeats the password, leaving the output as it
 * was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "peace/redis_url.h"

static struct pc_redis_url parse_ok(const char *url)
{
    struct pc_redis_url u;
    struct pc_err err;

    pc_err_clear(&err);
    if (pc_redis_url_parse(url, &u, &err) != 0) {
        fail_msg("%s: %s", url, err.msg);
    }
    return u;
}

static void host_and_port_default_to_nothing_else(void **state)
{
    struct pc_redis_url u = parse_ok("redis://127.0.0.1:6380");

    (void)state;
    assert_false(u.unix_socket);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 6380);
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "");
    assert_int_equal(u.db, 0);
    u = parse_ok("redis://cache.example");
    assert_string_equal(u.host, "cache.example");
    assert_int_equal(u.port, 6379);
    u = parse_ok("redis://h/");
    assert_int_equal(u.db, 0);
}

static void credentials_and_db_are_read(void **state)
{
    struct pc_redis_url u = parse_ok("redis://alice:s3cret@h:1/5");

    (void)state;
    assert_string_equal(u.user, "alice");
    assert_string_equal(u.password, "s3cret");
    assert_string_equal(u.host, "h");
    assert_int_equal(u.port, 1);
    assert_int_equal(u.db, 5);
    /* No ':' in the userinfo: the whole of it is the password (redis-cli's reading). */
    u = parse_ok("redis://onlypass@h");
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "onlypass");
    u = parse_ok("redis://:pw@h");
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "pw");
}

static void percent_escapes_and_a_raw_at_sign_in_the_password(void **state)
{
    struct pc_redis_url u = parse_ok("redis://u%3Ax:p%40ss%2fw@h:7");

    (void)state;
    assert_string_equal(u.user, "u:x");
    assert_string_equal(u.password, "p@ss/w");
    /* The last '@' ends the userinfo. */
    u = parse_ok("redis://u:a@b@h:7");
    assert_string_equal(u.password, "a@b");
    assert_string_equal(u.host, "h");
}

static void ipv6_hosts_are_bracketed(void **state)
{
    struct pc_redis_url u = parse_ok("redis://[::1]:6390/2");
    char d[64];

    (void)state;
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 6390);
    assert_int_equal(u.db, 2);
    assert_int_equal(pc_redis_url_describe(&u, d, sizeof(d)), (int)strlen("[::1]:6390"));
    assert_string_equal(d, "[::1]:6390");
    u = parse_ok("redis://[fe80::2]");
    assert_int_equal(u.port, 6379);
}

static void unix_sockets_take_a_path_and_an_optional_db(void **state)
{
    struct pc_redis_url u = parse_ok("unix:///run/redis.sock");
    char d[64];

    (void)state;
    assert_true(u.unix_socket);
    assert_string_equal(u.path, "/run/redis.sock");
    assert_int_equal(u.db, 0);
    u = parse_ok("unix:///tmp/r.sock?db=3");
    assert_string_equal(u.path, "/tmp/r.sock");
    assert_int_equal(u.db, 3);
    assert_true(pc_redis_url_describe(&u, d, sizeof(d)) > 0);
    assert_string_equal(d, "unix:/tmp/r.sock");
}

static void describe_has_no_credentials_and_refuses_to_truncate(void **state)
{
    struct pc_redis_url u = parse_ok("redis://bob:hunter2@db.internal:6379/1");
    char d[64];
    char small[5];

    (void)state;
    assert_true(pc_redis_url_describe(&u, d, sizeof(d)) > 0);
    assert_string_equal(d, "db.internal:6379");
    assert_int_equal(pc_redis_url_describe(&u, small, sizeof(small)), PC_ELIMIT);
    assert_string_equal(small, "");
}

static void malformed_urls_are_refused_without_echoing_the_password(void **state)
{
    static const char *const bad[] = {
        "",
        "http://h:1",
        "rediss://h",
        "redis://",
        "redis://:pw@",
        "redis://h:",
        "redis://h:0",
        "redis://h:65536",
        "redis://h:12ab",
        "redis://h:99999999999999999999",
        "redis://h/x",
        "redis://h/-1",
        "redis://h/1/2",
        "redis://h?db=1",
        "redis://h#frag",
        "redis://[::1",
        "redis://[::1]x",
        "redis://u:pw%4@h",
        "redis://u:pw%zz@h",
        "redis://u:pw%00@h",
        "redis://ho st",
        "unix://",
        "unix://?db=1",
        "unix:///s?db=",
        "unix:///s?x=1",
        "unix:///s?db=9999999",
        "redis+cluster://",
        "redis+cluster://u:pw@",
        "redis+cluster://h:1,",
        "redis+cluster://,h:1",
        "redis+cluster://h:1,,h:2",
        "redis+cluster://h:1,h:0",
        "redis+cluster://h:1/3",
        "redis+cluster://h:1?x",
        "redis+cluster://h:1,h:2,h:3,h:4,h:5,h:6,h:7,h:8,h:9,h:10,h:11,h:12,h:13,h:14,h:15,h:16,"
        "h:17",
        "rediss+cluster://h",
    };
    struct pc_redis_url u;
    struct pc_redis_url before;
    struct pc_err err;

    (void)state;
    memset(&u, 0x5a, sizeof(u));
    before = u;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pc_err_clear(&err);
        if (pc_redis_url_parse(bad[i], &u, &err) == 0) {
            fail_msg("accepted %s", bad[i]);
        }
        assert_true(err.code == PC_EINVAL || err.code == PC_ELIMIT);
        assert_true(strlen(err.msg) > 0);
        assert_null(strstr(err.msg, "pw"));
        assert_memory_equal(&u, &before, sizeof(u));
    }
    assert_int_not_equal(pc_redis_url_parse(NULL, &u, NULL), 0);
}

static void cluster_urls_list_seed_nodes(void **state)
{
    struct pc_redis_url u = parse_ok("redis+cluster://alice:s3cret@10.0.0.1:7000,[::1]:7001,h3");
    char text[128];

    (void)state;
    assert_true(u.cluster);
    assert_int_equal(u.nseeds, 3);
    assert_string_equal(u.seeds[0].host, "10.0.0.1");
    assert_int_equal(u.seeds[0].port, 7000);
    assert_string_equal(u.seeds[1].host, "::1");
    assert_int_equal(u.seeds[1].port, 7001);
    assert_string_equal(u.seeds[2].host, "h3");
    assert_int_equal(u.seeds[2].port, 6379);
    /* host:port name the first seed; credentials apply to every node. */
    assert_string_equal(u.host, "10.0.0.1");
    assert_int_equal(u.port, 7000);
    assert_string_equal(u.user, "alice");
    assert_string_equal(u.password, "s3cret");
    assert_int_equal(u.db, 0);
    assert_true(pc_redis_url_describe(&u, text, sizeof(text)) > 0);
    assert_string_equal(text, "cluster 10.0.0.1:7000,...");
    u = parse_ok("redis+cluster://127.0.0.1:7000/");
    assert_true(u.cluster);
    assert_int_equal(u.nseeds, 1);
    u = parse_ok("redis+cluster://127.0.0.1:7000/0");
    assert_int_equal(u.db, 0);
    /* A plain URL is one seed, not a cluster. */
    u = parse_ok("redis://h:5");
    assert_false(u.cluster);
    assert_int_equal(u.nseeds, 1);
    assert_string_equal(u.seeds[0].host, "h");
    assert_int_equal(u.seeds[0].port, 5);
}

static void oversize_parts_are_limits(void **state)
{
    char url[600];
    char host[300];
    struct pc_redis_url u;
    struct pc_err err;
    int n;

    (void)state;
    memset(host, 'h', sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    n = snprintf(url, sizeof(url), "redis://%s:1", host);
    assert_true(n > 0 && (size_t)n < sizeof(url));
    assert_int_equal(pc_redis_url_parse(url, &u, &err), PC_ELIMIT);
    n = snprintf(url, sizeof(url), "unix:///%s", host);
    assert_true(n > 0 && (size_t)n < sizeof(url));
    assert_int_equal(pc_redis_url_parse(url, &u, &err), PC_ELIMIT);
    n = snprintf(url, sizeof(url), "redis://u:%s@h", host);
    assert_true(n > 0 && (size_t)n < sizeof(url));
    assert_int_equal(pc_redis_url_parse(url, &u, &err), PC_ELIMIT);
    assert_null(strstr(err.msg, "hhhh"));
    /* Exactly the maximum fits. */
    host[PC_REDIS_HOST_MAX] = '\0';
    n = snprintf(url, sizeof(url), "redis://%s", host);
    assert_true(n > 0 && (size_t)n < sizeof(url));
    assert_int_equal(pc_redis_url_parse(url, &u, &err), 0);
    assert_int_equal(strlen(u.host), PC_REDIS_HOST_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(host_and_port_default_to_nothing_else),
        cmocka_unit_test(credentials_and_db_are_read),
        cmocka_unit_test(percent_escapes_and_a_raw_at_sign_in_the_password),
        cmocka_unit_test(ipv6_hosts_are_bracketed),
        cmocka_unit_test(unix_sockets_take_a_path_and_an_optional_db),
        cmocka_unit_test(describe_has_no_credentials_and_refuses_to_truncate),
        cmocka_unit_test(malformed_urls_are_refused_without_echoing_the_password),
        cmocka_unit_test(cluster_urls_list_seed_nodes),
        cmocka_unit_test(oversize_parts_are_limits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
