/*
 * test_ulid_slot.c - ULIDs placed in a Redis Cluster key slot: the CRC16
 * against its published check value and a bit-by-bit computation written
 * here, every slot reachable from one id, ids of one generator unique,
 * ordered and random outside the suffix.
 */
/* cmocka needs these four headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/ulid.h"

/* CRC16-XMODEM, bit by bit (independent of the table the library uses). */
static unsigned slow_slot(const char *p, size_t n)
{
    unsigned crc = 0;

    for (size_t i = 0; i < n; i++) {
        crc ^= (unsigned)(unsigned char)p[i] << 8;
        for (int b = 0; b < 8; b++) {
            crc = (crc & 0x8000u) != 0 ? ((crc << 1) ^ 0x1021u) & 0xffffu : (crc << 1) & 0xffffu;
        }
    }
    return crc & 16383u;
}

static uint64_t fixed_now(void *ctx)
{
    return *(uint64_t *)ctx;
}

/* xorshift64: deterministic "random" bytes for the generator. */
static int seq_random(void *ctx, void *buf, size_t n)
{
    uint64_t *s = ctx;
    unsigned char *p = buf;

    for (size_t i = 0; i < n; i++) {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        p[i] = (unsigned char)*s;
    }
    return 0;
}

static void test_crc16_matches_the_check_value_and_redis(void **state)
{
    (void)state;
    /* The XMODEM check value, and the slot Redis documents for this key. */
    assert_int_equal(pc_crc16(0, "123456789", 9), 0x31c3);
    assert_int_equal(pc_key_slot("123456789", 9), 12739);
    assert_int_equal(pc_crc16(pc_crc16(0, "1234", 4), "56789", 5), 0x31c3);
    assert_int_equal(pc_key_slot(NULL, 0), 0);
    for (int i = 0; i < 200; i++) {
        char t[40];
        int n = snprintf(t, sizeof(t), "app%d:profile_%d", i, i * 7919);

        assert_int_equal(pc_key_slot(t, (size_t)n), slow_slot(t, (size_t)n));
    }
}

static void test_every_slot_is_reachable_and_only_the_suffix_changes(void **state)
{
    const char base[] = "01HZX3NDEKTSV4RRFFQ69G5FAV";

    (void)state;
    for (unsigned slot = 0; slot < PC_KEY_SLOTS; slot++) {
        char id[PC_ULID_LEN + 1];

        memcpy(id, base, sizeof(base));
        pc_ulid_set_slot(id, slot);
        assert_int_equal(slow_slot(id, PC_ULID_LEN), slot);
        assert_true(pc_ulid_valid(id, PC_ULID_LEN));
        assert_memory_equal(id, base, PC_ULID_LEN - PC_ULID_SLOT_DIGITS);
        assert_int_equal(id[PC_ULID_LEN], '\0');
    }
    /* A slot beyond the range wraps, as the key slot does. */
    {
        char id[PC_ULID_LEN + 1];

        memcpy(id, base, sizeof(base));
        pc_ulid_set_slot(id, PC_KEY_SLOTS + 5u);
        assert_int_equal(slow_slot(id, PC_ULID_LEN), 5);
    }
}

/* Many ids of one generator in one millisecond, all placed in one slot:
 * strictly increasing (so unique), same time, in the slot. */
static void test_one_generator_one_millisecond_one_slot(void **state)
{
    uint64_t now = 1700000000000u;
    uint64_t seed = 0x9e3779b97f4a7c15u;
    struct pc_ulid_gen g;
    char prev[PC_ULID_LEN + 1];
    char id[PC_ULID_LEN + 1];

    (void)state;
    pc_ulid_gen_init(&g, fixed_now, &now, seq_random, &seed);
    assert_int_equal(pc_ulid_next(&g, prev, NULL), 0);
    pc_ulid_set_slot(prev, 4242);
    for (int i = 0; i < 20000; i++) {
        assert_int_equal(pc_ulid_next(&g, id, NULL), 0);
        pc_ulid_set_slot(id, 4242);
        assert_true(strcmp(prev, id) < 0);
        assert_int_equal(pc_ulid_time_ms(id, PC_ULID_LEN), now);
        assert_int_equal(slow_slot(id, PC_ULID_LEN), 4242);
        memcpy(prev, id, sizeof(id));
    }
}

/* The 60 random bits before the suffix are untouched: over many fresh ids
 * (new millisecond each, one slot) every one of those bits takes both values
 * about half the time, and the suffixes differ (they depend on the prefix). */
static void test_random_bits_outside_the_suffix_stay_random(void **state)
{
    uint64_t now = 1700000000000u;
    uint64_t seed = 0x0123456789abcdefu;
    struct pc_ulid_gen g;
    unsigned ones[60];
    unsigned distinct_suffix = 0;
    char first_suffix[PC_ULID_SLOT_DIGITS];
    const int n = 4000;

    (void)state;
    memset(ones, 0, sizeof(ones));
    pc_ulid_gen_init(&g, fixed_now, &now, seq_random, &seed);
    for (int i = 0; i < n; i++) {
        char id[PC_ULID_LEN + 1];
        char before[PC_ULID_LEN + 1];
        const char *alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

        now++;
        assert_int_equal(pc_ulid_next(&g, id, NULL), 0);
        memcpy(before, id, sizeof(id));
        pc_ulid_set_slot(id, 77);
        assert_memory_equal(id, before, PC_ULID_LEN - PC_ULID_SLOT_DIGITS);
        /* Digits 10..21 carry the 60 random bits before the suffix. */
        for (int d = 0; d < 12; d++) {
            unsigned v = (unsigned)(strchr(alphabet, id[10 + d]) - alphabet);

            for (int b = 0; b < 5; b++) {
                ones[d * 5 + b] += (v >> b) & 1u;
            }
        }
        if (i == 0) {
            memcpy(first_suffix, id + PC_ULID_LEN - PC_ULID_SLOT_DIGITS, sizeof(first_suffix));
        } else if (memcmp(first_suffix, id + PC_ULID_LEN - PC_ULID_SLOT_DIGITS,
                          sizeof(first_suffix)) != 0) {
            distinct_suffix++;
        }
    }
    for (int b = 0; b < 60; b++) {
        assert_in_range(ones[b], (unsigned)(n * 45 / 100), (unsigned)(n * 55 / 100));
    }
    assert_true(distinct_suffix > (unsigned)(n * 9 / 10));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc16_matches_the_check_value_and_redis),
        cmocka_unit_test(test_every_slot_is_reachable_and_only_the_suffix_changes),
        cmocka_unit_test(test_one_generator_one_millisecond_one_slot),
        cmocka_unit_test(test_random_bits_outside_the_suffix_stay_random),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
