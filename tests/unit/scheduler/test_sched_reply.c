/*
 * test_sched_reply.c - the hiredis reply adapter: every reply type becomes
 * the right owned flat value (no reply, error, nil, integer, string, arrays
 * with nil and nested elements), errors that mean "Redis cannot serve now",
 * live consumers from an XINFO CONSUMERS reply, and decimal parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "sched_reply.h"

static redisReply str_reply(int type, const char *s)
{
    redisReply r;

    memset(&r, 0, sizeof(r));
    r.type = type;
    r.str = (char *)s;
    r.len = strlen(s);
    return r;
}

static redisReply int_reply(long long v)
{
    redisReply r;

    memset(&r, 0, sizeof(r));
    r.type = REDIS_REPLY_INTEGER;
    r.integer = v;
    return r;
}

static redisReply array_reply(redisReply **elems, size_t n)
{
    redisReply r;

    memset(&r, 0, sizeof(r));
    r.type = REDIS_REPLY_ARRAY;
    r.element = elems;
    r.elements = n;
    return r;
}

static void scalars_are_copied_with_their_kind(void **state)
{
    redisReply s = str_reply(REDIS_REPLY_STRING, "hello");
    redisReply st = str_reply(REDIS_REPLY_STATUS, "OK");
    redisReply e = str_reply(REDIS_REPLY_ERROR, "WRONGTYPE nope");
    redisReply i = int_reply(-42);
    redisReply nil;
    struct sched_flat f;

    (void)state;
    memset(&nil, 0, sizeof(nil));
    nil.type = REDIS_REPLY_NIL;
    assert_int_equal(sched_flat_from_reply(NULL, &f), 0);
    assert_int_equal(f.kind, SCHED_FLAT_NONE);
    sched_flat_cleanup(&f);
    assert_int_equal(sched_flat_from_reply(&nil, &f), 0);
    assert_int_equal(f.kind, SCHED_FLAT_NIL);
    sched_flat_cleanup(&f);
    assert_int_equal(sched_flat_from_reply(&s, &f), 0);
    assert_int_equal(f.kind, SCHED_FLAT_STR);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.v[0].n, 5);
    assert_memory_equal(f.v[0].p, "hello", 5);
    assert_ptr_not_equal(f.v[0].p, s.str); /* a copy */
    sched_flat_cleanup(&f);
    assert_int_equal(sched_flat_from_reply(&st, &f), 0);
    assert_int_equal(f.kind, SCHED_FLAT_STR);
    sched_flat_cleanup(&f);
    assert_int_equal(sched_flat_from_reply(&e, &f), 0);
    assert_int_equal(f.kind, SCHED_FLAT_ERROR);
    assert_string_equal(f.v[0].p, "WRONGTYPE nope");
    sched_flat_cleanup(&f);
    assert_int_equal(sched_flat_from_reply(&i, &f), 0);
    assert_int_equal(f.kind, SCHED_FLAT_INT);
    assert_int_equal(f.integer, -42);
    assert_string_equal(f.v[0].p, "-42");
    sched_flat_cleanup(&f);
    sched_flat_cleanup(NULL);
}

static void arrays_keep_positions_with_nil_and_nested_elements_absent(void **state)
{
    redisReply a = str_reply(REDIS_REPLY_STRING, "a");
    redisReply nil;
    redisReply bin;
    redisReply seven = int_reply(7);
    redisReply *inner_elems[1] = {&a};
    redisReply inner = array_reply(inner_elems, 1);
    redisReply *elems[5] = {&a, &nil, &inner, &seven, &bin};
    redisReply arr = array_reply(elems, 5);
    redisReply empty = array_reply(NULL, 0);
    struct sched_flat f;

    (void)state;
    memset(&nil, 0, sizeof(nil));
    nil.type = REDIS_REPLY_NIL;
    memset(&bin, 0, sizeof(bin));
    bin.type = REDIS_REPLY_STRING;
    bin.str = (char *)"x\0y";
    bin.len = 3;
    assert_int_equal(sched_flat_from_reply(&arr, &f), 0);
    assert_int_equal(f.kind, SCHED_FLAT_ARRAY);
    assert_int_equal(f.n, 5);
    assert_memory_equal(f.v[0].p, "a", 1);
    assert_null(f.v[1].p);
    assert_null(f.v[2].p);
    assert_string_equal(f.v[3].p, "7");
    assert_int_equal(f.v[4].n, 3);
    assert_memory_equal(f.v[4].p, "x\0y", 3);
    sched_flat_cleanup(&f);
    assert_int_equal(sched_flat_from_reply(&empty, &f), 0);
    assert_int_equal(f.kind, SCHED_FLAT_ARRAY);
    assert_int_equal(f.n, 0);
    sched_flat_cleanup(&f);
}

static void transient_errors_mean_unavailable(void **state)
{
    (void)state;
    assert_true(sched_error_is_unavailable("LOADING Redis is loading", 24));
    assert_true(sched_error_is_unavailable("BUSY script", 11));
    assert_true(sched_error_is_unavailable("MASTERDOWN", 10));
    assert_true(sched_error_is_unavailable("NOAUTH Authentication required.", 31));
    assert_false(sched_error_is_unavailable("BUSYGROUP exists", 16));
    assert_false(sched_error_is_unavailable("WRONGTYPE Operation", 19));
    assert_false(sched_error_is_unavailable("ERR syntax", 10));
    assert_false(sched_error_is_unavailable(NULL, 0));
}

static void decimal_texts(void **state)
{
    struct sched_str ok = {"18446744073709551615", 20};
    struct sched_str over = {"18446744073709551616", 20};
    struct sched_str neg = {"-1", 2};
    struct sched_str none = {NULL, 0};
    uint64_t v = 0;

    (void)state;
    assert_true(sched_str_u64(&ok, &v));
    assert_true(v == UINT64_MAX);
    assert_false(sched_str_u64(&over, &v));
    assert_false(sched_str_u64(&neg, &v));
    assert_false(sched_str_u64(&none, &v));
    assert_false(sched_str_u64(NULL, &v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scalars_are_copied_with_their_kind),
        cmocka_unit_test(arrays_keep_positions_with_nil_and_nested_elements_absent),
        cmocka_unit_test(transient_errors_mean_unavailable),
        cmocka_unit_test(decimal_texts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
