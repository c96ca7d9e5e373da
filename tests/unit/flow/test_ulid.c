/*
 * test_ulid.c - execution ids: format, time encoding, monotonic order within
 * a millisecond and across clock changes, injected clock and randomness.
 * Expected texts come from the ULID specification's example and from an
 * independent base32 computation, not from this implementation.
 */
/* cmocka needs these four headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <string.h>
#include <time.h>

#include "peace/ulid.h"

struct fake_clock {
    uint64_t now;
};

static uint64_t fake_now(void *ctx)
{
    return ((struct fake_clock *)ctx)->now;
}

/* Randomness that returns a fixed pattern, counts calls, or fails. */
struct fake_random {
    uint8_t bytes[PC_ULID_RANDOM_BYTES];
    int calls;
    int fail_with;
};

static int fake_rand(void *ctx, void *buf, size_t n)
{
    struct fake_random *r = ctx;

    r->calls++;
    if (r->fail_with != 0) {
        return r->fail_with;
    }
    assert_int_equal(n, PC_ULID_RANDOM_BYTES);
    memcpy(buf, r->bytes, n);
    return 0;
}

static void test_spec_example_timestamp_encodes_as_in_the_spec(void **state)
{
    struct fake_clock clock = {1469922850259u};
    struct fake_random rnd;
    struct pc_ulid_gen g;
    char id[PC_ULID_LEN + 1];

    (void)state;
    memset(&rnd, 0, sizeof(rnd));
    pc_ulid_gen_init(&g, fake_now, &clock, fake_rand, &rnd);
    assert_int_equal(pc_ulid_next(&g, id, NULL), 0);
    /* The specification's example id starts with 01ARZ3NDEK for this time. */
    assert_string_equal(id, "01ARZ3NDEK0000000000000000");
    assert_true(pc_ulid_valid(id, strlen(id)));
    assert_int_equal(pc_ulid_time_ms(id, strlen(id)), 1469922850259u);
    assert_int_equal(pc_ulid_time_ms("01ARZ3NDEKTSV4RRFFQ69G5FAV", 26), 1469922850259u);
}

static void test_random_part_is_encoded_big_endian(void **state)
{
    struct fake_clock clock = {0x0123456789abu};
    struct fake_random rnd = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0, 0};
    struct pc_ulid_gen g;
    char id[PC_ULID_LEN + 1];

    (void)state;
    pc_ulid_gen_init(&g, fake_now, &clock, fake_rand, &rnd);
    assert_int_equal(pc_ulid_next(&g, id, NULL), 0);
    assert_string_equal(id, "014D2PF2DB041061050R3GG28A");
    assert_int_equal(rnd.calls, 1);
}

static void test_ids_in_one_millisecond_increase_above_the_suffix(void **state)
{
    struct fake_clock clock = {1700000000000u};
    struct fake_random rnd;
    struct pc_ulid_gen g;
    char prev[PC_ULID_LEN + 1];
    char id[PC_ULID_LEN + 1];

    (void)state;
    memset(&rnd, 0, sizeof(rnd));
    rnd.bytes[7] = 0xe0; /* the third id carries out of the suffix's byte */
    rnd.bytes[9] = 0xfe; /* the suffix (low 20 bits) is left alone */
    pc_ulid_gen_init(&g, fake_now, &clock, fake_rand, &rnd);
    assert_int_equal(pc_ulid_next(&g, prev, NULL), 0);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(pc_ulid_next(&g, id, NULL), 0);
        assert_true(strcmp(prev, id) < 0);
        assert_memory_equal(prev, id, 10); /* same time part */
        assert_int_equal(pc_ulid_time_ms(id, PC_ULID_LEN), clock.now);
        memcpy(prev, id, sizeof(id));
    }
    /* One draw only: the others were increments of the 60 bits above the last 4 digits:
     * 0xe + 1000 = 1014 = 31*32 + 22 ("ZP"); the suffix stays 0x000fe = 7*32 + 30 ("007Y"). */
    assert_int_equal(rnd.calls, 1);
    assert_string_equal(id + 10, "0000000000ZP007Y");
}

static void test_ids_follow_the_clock_and_draw_new_randomness(void **state)
{
    struct fake_clock clock = {1000};
    struct fake_random rnd;
    struct pc_ulid_gen g;
    char a[PC_ULID_LEN + 1];
    char b[PC_ULID_LEN + 1];

    (void)state;
    memset(&rnd, 0, sizeof(rnd));
    memset(rnd.bytes, 0xff, sizeof(rnd.bytes)); /* the earlier id has the larger random part */
    pc_ulid_gen_init(&g, fake_now, &clock, fake_rand, &rnd);
    assert_int_equal(pc_ulid_next(&g, a, NULL), 0);
    clock.now = 1001;
    memset(rnd.bytes, 0, sizeof(rnd.bytes));
    assert_int_equal(pc_ulid_next(&g, b, NULL), 0);
    assert_true(strcmp(a, b) < 0);
    assert_int_equal(pc_ulid_time_ms(b, PC_ULID_LEN), 1001);
    assert_int_equal(rnd.calls, 2);
}

static void test_clock_stepping_back_keeps_ids_increasing(void **state)
{
    struct fake_clock clock = {5000};
    struct fake_random rnd;
    struct pc_ulid_gen g;
    char a[PC_ULID_LEN + 1];
    char b[PC_ULID_LEN + 1];

    (void)state;
    memset(&rnd, 0, sizeof(rnd));
    pc_ulid_gen_init(&g, fake_now, &clock, fake_rand, &rnd);
    assert_int_equal(pc_ulid_next(&g, a, NULL), 0);
    clock.now = 4000;
    assert_int_equal(pc_ulid_next(&g, b, NULL), 0);
    assert_true(strcmp(a, b) < 0);
    assert_int_equal(pc_ulid_time_ms(b, PC_ULID_LEN), 5000);
}

static void test_random_overflow_moves_to_the_next_millisecond(void **state)
{
    struct fake_clock clock = {7000};
    struct fake_random rnd;
    struct pc_ulid_gen g;
    char a[PC_ULID_LEN + 1];
    char b[PC_ULID_LEN + 1];

    (void)state;
    memset(&rnd, 0, sizeof(rnd));
    memset(rnd.bytes, 0xff, sizeof(rnd.bytes));
    pc_ulid_gen_init(&g, fake_now, &clock, fake_rand, &rnd);
    assert_int_equal(pc_ulid_next(&g, a, NULL), 0);
    assert_int_equal(pc_ulid_next(&g, b, NULL), 0);
    assert_true(strcmp(a, b) < 0);
    assert_int_equal(pc_ulid_time_ms(b, PC_ULID_LEN), 7001);
    assert_int_equal(rnd.calls, 2);
}

static void test_random_failure_is_reported_and_changes_nothing(void **state)
{
    struct fake_clock clock = {9000};
    struct fake_random rnd;
    struct pc_ulid_gen g;
    struct pc_ulid_gen before;
    struct pc_err err;
    char id[PC_ULID_LEN + 1] = "untouched";

    (void)state;
    memset(&rnd, 0, sizeof(rnd));
    rnd.fail_with = -EAGAIN;
    pc_ulid_gen_init(&g, fake_now, &clock, fake_rand, &rnd);
    before = g;
    assert_int_equal(pc_ulid_next(&g, id, &err), -EAGAIN);
    assert_int_equal(err.code, -EAGAIN);
    assert_string_equal(id, "untouched");
    assert_memory_equal(&g, &before, sizeof(g));
}

static void test_time_beyond_48_bits_is_refused(void **state)
{
    struct fake_clock clock = {PC_ULID_TIME_MAX};
    struct fake_random rnd;
    struct pc_ulid_gen g;
    char id[PC_ULID_LEN + 1];

    (void)state;
    memset(&rnd, 0, sizeof(rnd));
    memset(rnd.bytes, 0xff, sizeof(rnd.bytes));
    pc_ulid_gen_init(&g, fake_now, &clock, fake_rand, &rnd);
    assert_int_equal(pc_ulid_next(&g, id, NULL), 0);
    assert_string_equal(id, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
    /* The next id would need millisecond 2^48. */
    assert_int_equal(pc_ulid_next(&g, id, NULL), PC_ELIMIT);
    clock.now = PC_ULID_TIME_MAX + 1;
    pc_ulid_gen_init(&g, fake_now, &clock, fake_rand, &rnd);
    assert_int_equal(pc_ulid_next(&g, id, NULL), PC_ELIMIT);
}

static void test_validation_accepts_only_canonical_text(void **state)
{
    (void)state;
    assert_true(pc_ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FAV", 26));
    assert_true(pc_ulid_valid("7ZZZZZZZZZZZZZZZZZZZZZZZZZ", 26));
    assert_false(pc_ulid_valid("8ZZZZZZZZZZZZZZZZZZZZZZZZZ", 26)); /* over 128 bits */
    assert_false(pc_ulid_valid("01arz3ndektsv4rrffq69g5fav", 26)); /* lower case */
    assert_false(pc_ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FAI", 26)); /* I is not a digit */
    assert_false(pc_ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FAL", 26));
    assert_false(pc_ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FAO", 26));
    assert_false(pc_ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FAU", 26));
    assert_false(pc_ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FA", 25));
    assert_false(pc_ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FAVV", 27));
    assert_false(pc_ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FA\0", 26));
    assert_false(pc_ulid_valid(NULL, 26));
    assert_int_equal(pc_ulid_time_ms("not an id", 9), 0);
}

static void test_default_sources_give_distinct_ids_near_now(void **state)
{
    struct pc_ulid_gen g1;
    struct pc_ulid_gen g2;
    char a[PC_ULID_LEN + 1];
    char b[PC_ULID_LEN + 1];
    struct timespec ts;
    uint64_t now;

    (void)state;
    pc_ulid_gen_init(&g1, NULL, NULL, NULL, NULL);
    pc_ulid_gen_init(&g2, NULL, NULL, NULL, NULL);
    assert_int_equal(pc_ulid_next(&g1, a, NULL), 0);
    assert_int_equal(pc_ulid_next(&g2, b, NULL), 0);
    assert_true(pc_ulid_valid(a, strlen(a)));
    /* Two generators share no state: only the 80 random bits tell them apart. */
    assert_string_not_equal(a, b);
    assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
    now = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    assert_true(pc_ulid_time_ms(a, PC_ULID_LEN) <= now);
    assert_true(pc_ulid_time_ms(a, PC_ULID_LEN) + 60000 > now);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_example_timestamp_encodes_as_in_the_spec),
        cmocka_unit_test(test_random_part_is_encoded_big_endian),
        cmocka_unit_test(test_ids_in_one_millisecond_increase_above_the_suffix),
        cmocka_unit_test(test_ids_follow_the_clock_and_draw_new_randomness),
        cmocka_unit_test(test_clock_stepping_back_keeps_ids_increasing),
        cmocka_unit_test(test_random_overflow_moves_to_the_next_millisecond),
        cmocka_unit_test(test_random_failure_is_reported_and_changes_nothing),
        cmocka_unit_test(test_time_beyond_48_bits_is_refused),
        cmocka_unit_test(test_validation_accepts_only_canonical_text),
        cmocka_unit_test(test_default_sources_give_distinct_ids_near_now),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
