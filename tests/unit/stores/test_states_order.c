/*
 * test_states_order.c - the listing order of stored states (states_order.h):
 * the flow's items in flow order whatever order the hash gave them in, then
 * the others by id; no order key: by id.
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
#include <string.h>

#include "peace/states_order.h"

/* The names of (names, n) listed with order, joined with spaces. */
static void listed(const char *order, const char *const *names, size_t n, char *out, size_t size)
{
    size_t lens[16];
    size_t perm[16];

    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) {
        lens[i] = strlen(names[i]);
    }
    assert_int_equal(
        pc_states_listing(order, order != NULL ? strlen(order) : 0, names, lens, n, perm), 0);
    out[0] = '\0';
    for (size_t i = 0, used = 0; i < n; i++) {
        int k = snprintf(out + used, size - used, "%s%s", i > 0 ? " " : "", names[perm[i]]);

        assert_true(k > 0 && (size_t)k < size - used);
        used += (size_t)k;
    }
}

/* A hash order (as HGETALL gave it: neither flow nor alphabetical order)
 * comes out in flow order. */
static void test_flow_order_wins_over_hash_order(void **state)
{
    static const char *const hash[] = {"web", "db", "zeta", "alpha", "cache"};
    char out[128];

    (void)state;
    listed("zeta,web,alpha,db,cache", hash, 5, out, sizeof(out));
    assert_string_equal(out, "zeta web alpha db cache");
}

/* Items stored but not in the flow (obsolete) come after the flow's, by id;
 * flow items with nothing stored are simply absent. */
static void test_others_follow_by_id(void **state)
{
    static const char *const hash[] = {"old_b", "web", "old_a", "db"};
    char out[128];

    (void)state;
    listed("db,new,web", hash, 4, out, sizeof(out));
    assert_string_equal(out, "db web old_a old_b");
}

/* No order key (states written before it existed): by id. */
static void test_without_order_by_id(void **state)
{
    static const char *const hash[] = {"web", "db", "a_b", "a"};
    char out[128];

    (void)state;
    listed(NULL, hash, 4, out, sizeof(out));
    assert_string_equal(out, "a a_b db web");
    listed("", hash, 4, out, sizeof(out));
    assert_string_equal(out, "a a_b db web");
}

/* Odd order values: empty parts, a repeated id (its first place counts),
 * prefixes of other ids. */
static void test_odd_order_values(void **state)
{
    static const char *const hash[] = {"ab", "a", "abc"};
    char out[128];

    (void)state;
    listed(",abc,,a,abc,ab,", hash, 3, out, sizeof(out));
    assert_string_equal(out, "abc a ab");
    listed(",,,", hash, 3, out, sizeof(out));
    assert_string_equal(out, "a ab abc");
    listed("x", hash, 0, out, sizeof(out));
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flow_order_wins_over_hash_order),
        cmocka_unit_test(test_others_follow_by_id),
        cmocka_unit_test(test_without_order_by_id),
        cmocka_unit_test(test_odd_order_values),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
