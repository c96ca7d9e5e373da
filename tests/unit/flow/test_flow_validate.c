/*
 * test_flow_validate.c - structural validation of flows built in memory
 * (as a decoder would build them), plus lookup, copy, cleanup and the id
 * index.
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

#include "peace/flow.h"
#include "peace/flow_index.h"

/*
 * Builds a flow of n items named ids[i] (type "t", empty params), with edges
 * "a>b" meaning b depends on a. Indices are resolved by name, so a test can
 * then corrupt them directly.
 */
static void build(struct pc_flow *f, const char *const *ids, size_t n, const char *const *edges,
                  size_t n_edges)
{
    memset(f, 0, sizeof(*f));
    (void)snprintf(f->app.s, sizeof(f->app.s), "app");
    (void)snprintf(f->profile.s, sizeof(f->profile.s), "dev");
    (void)snprintf(f->flow.s, sizeof(f->flow.s), "deploy");
    f->items = calloc(n > 0 ? n : 1, sizeof(*f->items));
    assert_non_null(f->items);
    f->n_items = n;
    for (size_t i = 0; i < n; i++) {
        (void)snprintf(f->items[i].id.s, sizeof(f->items[i].id.s), "%s", ids[i]);
        (void)snprintf(f->items[i].type.s, sizeof(f->items[i].type.s), "t");
        f->items[i].params = malloc(1);
        assert_non_null(f->items[i].params);
        f->items[i].params[0] = 0x80;
        f->items[i].params_len = 1;
    }
    for (size_t e = 0; e < n_edges; e++) {
        const char *gt = strchr(edges[e], '>');
        long from;
        long to;
        struct pc_flow_item *it;

        assert_non_null(gt);
        from = pc_flow_find(f, edges[e], (size_t)(gt - edges[e]));
        to = pc_flow_find(f, gt + 1, strlen(gt + 1));
        assert_true(from >= 0 && to >= 0);
        it = &f->items[to];
        it->deps = realloc(it->deps, (it->n_deps + 1) * sizeof(*it->deps));
        assert_non_null(it->deps);
        it->deps[it->n_deps++] = (size_t)from;
    }
}

/* Validates and returns the code; the message goes to msg. */
static int validate(const struct pc_flow *f, char *msg, size_t size)
{
    struct pc_err err;
    int rc;

    pc_err_clear(&err);
    rc = pc_flow_validate(f, &err);
    (void)snprintf(msg, size, "%s", err.msg);
    return rc;
}

static void test_chain_and_diamond_flows_are_valid(void **state)
{
    static const char *const ids[] = {"a", "b", "c", "d"};
    static const char *const edges[] = {"a>b", "a>c", "b>d", "c>d"};
    struct pc_flow f;
    char msg[PC_ERR_MSG_MAX];

    (void)state;
    build(&f, ids, 4, edges, 4);
    assert_int_equal(validate(&f, msg, sizeof(msg)), 0);
    pc_flow_cleanup(&f);
}

static void test_dependency_on_a_later_item_is_valid(void **state)
{
    static const char *const ids[] = {"web", "db"};
    static const char *const edges[] = {"db>web"};
    struct pc_flow f;
    char msg[PC_ERR_MSG_MAX];

    (void)state;
    build(&f, ids, 2, edges, 1);
    assert_int_equal(validate(&f, msg, sizeof(msg)), 0);
    pc_flow_cleanup(&f);
}

static void test_empty_flow_is_rejected(void **state)
{
    struct pc_flow f;
    char msg[PC_ERR_MSG_MAX];

    (void)state;
    build(&f, NULL, 0, NULL, 0);
    assert_int_equal(validate(&f, msg, sizeof(msg)), PC_EINVAL);
    assert_non_null(strstr(msg, "at least one item"));
    pc_flow_cleanup(&f);
}

static void test_bad_identifiers_are_rejected_naming_the_field(void **state)
{
    static const char *const ids[] = {"a", "b"};
    struct pc_flow f;
    char msg[PC_ERR_MSG_MAX];

    (void)state;
    build(&f, ids, 2, NULL, 0);
    (void)snprintf(f.profile.s, sizeof(f.profile.s), "prod-eu");
    assert_int_equal(validate(&f, msg, sizeof(msg)), PC_EINVAL);
    assert_non_null(strstr(msg, "profile"));
    (void)snprintf(f.profile.s, sizeof(f.profile.s), "prod");

    (void)snprintf(f.items[1].id.s, sizeof(f.items[1].id.s), "9lives");
    assert_int_equal(validate(&f, msg, sizeof(msg)), PC_EINVAL);
    assert_non_null(strstr(msg, "items[1].id"));
    f.items[1].id.s[0] = '\0';
    assert_int_equal(validate(&f, msg, sizeof(msg)), PC_EINVAL);
    (void)snprintf(f.items[1].id.s, sizeof(f.items[1].id.s), "b");

    (void)snprintf(f.items[0].type.s, sizeof(f.items[0].type.s), "no such");
    assert_int_equal(validate(&f, msg, sizeof(msg)), PC_EINVAL);
    assert_non_null(strstr(msg, "items[0].type"));
    pc_flow_cleanup(&f);
}

static void test_unterminated_id_is_rejected(void **state)
{
    static const char *const ids[] = {"a"};
    struct pc_flow f;
    char msg[PC_ERR_MSG_MAX];

    (void)state;
    build(&f, ids, 1, NULL, 0);
    memset(f.items[0].id.s, 'x', sizeof(f.items[0].id.s)); /* 65 bytes, no NUL */
    assert_int_equal(validate(&f, msg, sizeof(msg)), PC_EINVAL);
    pc_flow_cleanup(&f);
}

static void test_duplicate_ids_name_both_positions(void **state)
{
    static const char *const ids[] = {"a", "b", "c", "b"};
    struct pc_flow f;
    char msg[PC_ERR_MSG_MAX];

    (void)state;
    build(&f, ids, 4, NULL, 0);
    assert_int_equal(validate(&f, msg, sizeof(msg)), PC_EINVAL);
    assert_non_null(strstr(msg, "items[3].id"));
    assert_non_null(strstr(msg, "items[1]"));
    pc_flow_cleanup(&f);
}

static void test_dependency_index_out_of_range_is_rejected(void **state)
{
    static const char *const ids[] = {"a", "b"};
    static const char *const edges[] = {"a>b"};
    struct pc_flow f;
    char msg[PC_ERR_MSG_MAX];

    (void)state;
    build(&f, ids, 2, edges, 1);
    f.items[1].deps[0] = 2;
    assert_int_equal(validate(&f, msg, sizeof(msg)), PC_EINVAL);
    assert_non_null(strstr(msg, "items[1].deps[0]"));
    f.items[1].deps[0] = SIZE_MAX;
    assert_int_equal(validate(&f, msg, sizeof(msg)), PC_EINVAL);
    pc_flow_cleanup(&f);
}

static void test_self_dependency_is_rejected(void **state)
{
    static const char *const ids[] = {"a", "b"};
    static const char *const edges[] = {"a>b", "b>b"};
    struct pc_flow f;
    char msg[PC_ERR_MSG_MAX];

    (void)state;
    build(&f, ids, 2, edges, 2);
    assert_int_equal(validate(&f, msg, sizeof(msg)), PC_EINVAL);
    assert_non_null(strstr(msg, "items[1].deps[1]"));
    assert_non_null(strstr(msg, "depends on itself"));
    pc_flow_cleanup(&f);
}

static void test_duplicate_dependency_is_rejected(void **state)
{
    static const char *const ids[] = {"a", "b"};
    static const char *const edges[] = {"a>b", "a>b"};
    struct pc_flow f;
    char msg[PC_ERR_MSG_MAX];

    (void)state;
    build(&f, ids, 2, edges, 2);
    assert_int_equal(validate(&f, msg, sizeof(msg)), PC_EINVAL);
    assert_non_null(strstr(msg, "items[1].deps[1]"));
    assert_non_null(strstr(msg, "twice"));
    pc_flow_cleanup(&f);
}

static void test_two_cycle_is_rejected_and_spelled_out(void **state)
{
    static const char *const ids[] = {"a", "b"};
    static const char *const edges[] = {"a>b", "b>a"};
    struct pc_flow f;
    char msg[PC_ERR_MSG_MAX];

    (void)state;
    build(&f, ids, 2, edges, 2);
    assert_int_equal(validate(&f, msg, sizeof(msg)), PC_EINVAL);
    assert_non_null(strstr(msg, "cycle"));
    assert_true(strstr(msg, "a -> b -> a") != NULL || strstr(msg, "b -> a -> b") != NULL);
    pc_flow_cleanup(&f);
}

static void test_three_cycle_behind_a_tail_names_an_item_on_the_cycle(void **state)
{
    /* root <- x <- y <- z <- x is the cycle (x, y, z); tail depends on it. */
    static const char *const ids[] = {"tail", "root", "x", "y", "z"};
    static const char *const edges[] = {"root>x", "z>x", "x>y", "y>z", "z>tail"};
    struct pc_flow f;
    char msg[PC_ERR_MSG_MAX];
    const char *named = NULL;

    (void)state;
    build(&f, ids, 5, edges, 5);
    assert_int_equal(validate(&f, msg, sizeof(msg)), PC_EINVAL);
    named = strstr(msg, "(item '");
    assert_non_null(named);
    named += strlen("(item '");
    assert_true(strncmp(named, "x'", 2) == 0 || strncmp(named, "y'", 2) == 0 ||
                strncmp(named, "z'", 2) == 0);
    assert_null(strstr(msg, "tail"));
    assert_null(strstr(msg, "root"));
    /* x depends on z, z on y, y on x. */
    assert_true(strstr(msg, "x -> z -> y -> x") != NULL ||
                strstr(msg, "z -> y -> x -> z") != NULL || strstr(msg, "y -> x -> z -> y") != NULL);
    pc_flow_cleanup(&f);
}

static void test_too_many_deps_is_a_limit_error(void **state)
{
    static const char *const ids[] = {"a", "b"};
    struct pc_flow f;
    char msg[PC_ERR_MSG_MAX];

    (void)state;
    build(&f, ids, 2, NULL, 0);
    f.items[1].deps = calloc(PC_FLOW_DEPS_MAX + 1, sizeof(size_t));
    assert_non_null(f.items[1].deps);
    f.items[1].n_deps = PC_FLOW_DEPS_MAX + 1;
    assert_int_equal(validate(&f, msg, sizeof(msg)), PC_ELIMIT);
    pc_flow_cleanup(&f);
}

static void test_oversized_or_missing_params_are_rejected(void **state)
{
    static const char *const ids[] = {"a"};
    struct pc_flow f;
    char msg[PC_ERR_MSG_MAX];

    (void)state;
    build(&f, ids, 1, NULL, 0);
    f.items[0].params_len = PC_FLOW_PARAMS_MAX + 1;
    assert_int_equal(validate(&f, msg, sizeof(msg)), PC_ELIMIT);
    free(f.items[0].params);
    f.items[0].params = NULL;
    f.items[0].params_len = 3;
    assert_int_equal(validate(&f, msg, sizeof(msg)), PC_EINVAL);
    pc_flow_cleanup(&f);
}

/* A long chain is checked in linear time and accepted; one item more is refused. */
static void test_largest_flow_validates_and_one_more_item_is_refused(void **state)
{
    struct pc_flow f;
    char msg[PC_ERR_MSG_MAX];

    (void)state;
    build(&f, NULL, 0, NULL, 0);
    free(f.items);
    f.items = calloc(PC_FLOW_ITEMS_MAX + 1, sizeof(*f.items));
    assert_non_null(f.items);
    for (size_t i = 0; i <= PC_FLOW_ITEMS_MAX; i++) {
        (void)snprintf(f.items[i].id.s, sizeof(f.items[i].id.s), "item_%zu", i);
        (void)snprintf(f.items[i].type.s, sizeof(f.items[i].type.s), "t");
        if (i > 0) {
            f.items[i].deps = malloc(sizeof(size_t));
            assert_non_null(f.items[i].deps);
            f.items[i].deps[0] = i - 1;
            f.items[i].n_deps = 1;
        }
    }
    f.n_items = PC_FLOW_ITEMS_MAX;
    assert_int_equal(validate(&f, msg, sizeof(msg)), 0);
    /* Closing the chain into one big cycle is found too. */
    f.items[0].deps = malloc(sizeof(size_t));
    assert_non_null(f.items[0].deps);
    f.items[0].deps[0] = PC_FLOW_ITEMS_MAX - 1;
    f.items[0].n_deps = 1;
    assert_int_equal(validate(&f, msg, sizeof(msg)), PC_EINVAL);
    assert_non_null(strstr(msg, "cycle"));
    f.n_items = PC_FLOW_ITEMS_MAX + 1;
    assert_int_equal(validate(&f, msg, sizeof(msg)), PC_ELIMIT);
    pc_flow_cleanup(&f);
}

static void test_validate_accepts_a_null_error_record(void **state)
{
    static const char *const ids[] = {"a", "a"};
    struct pc_flow f;

    (void)state;
    build(&f, ids, 2, NULL, 0);
    assert_int_equal(pc_flow_validate(&f, NULL), PC_EINVAL);
    pc_flow_cleanup(&f);
}

static void test_find_matches_whole_ids_only(void **state)
{
    static const char *const ids[] = {"alpha", "beta", "alphabet"};
    struct pc_flow f;

    (void)state;
    build(&f, ids, 3, NULL, 0);
    assert_int_equal(pc_flow_find(&f, "beta", 4), 1);
    assert_int_equal(pc_flow_find(&f, "alphabet", 8), 2);
    assert_int_equal(pc_flow_find(&f, "alphabet", 5), 0);
    assert_int_equal(pc_flow_find(&f, "alph", 4), -1);
    assert_int_equal(pc_flow_find(&f, "gamma", 5), -1);
    assert_int_equal(pc_flow_find(&f, NULL, 0), -1);
    pc_flow_cleanup(&f);
}

static void test_index_finds_every_item_of_a_large_flow(void **state)
{
    struct pc_flow f;
    struct pc_flow_index ix;
    char name[32];

    (void)state;
    build(&f, NULL, 0, NULL, 0);
    free(f.items);
    f.items = calloc(1000, sizeof(*f.items));
    assert_non_null(f.items);
    f.n_items = 1000;
    for (size_t i = 0; i < 1000; i++) {
        /* Reverse-sorted names, so sorted order differs from flow order. */
        (void)snprintf(f.items[i].id.s, sizeof(f.items[i].id.s), "n%04zu", 999 - i);
    }
    assert_int_equal(pc_flow_index_init(&ix, &f), 0);
    for (size_t i = 0; i < 1000; i++) {
        int len = snprintf(name, sizeof(name), "n%04zu", 999 - i);

        assert_int_equal(pc_flow_index_find(&ix, name, (size_t)len), (long)i);
    }
    assert_int_equal(pc_flow_index_find(&ix, "n1000", 5), -1);
    assert_int_equal(pc_flow_index_find(&ix, "n000", 4), -1);
    assert_int_equal(pc_flow_index_find(&ix, "n0000\0", 6), -1);
    pc_flow_index_cleanup(&ix);
    pc_flow_index_cleanup(&ix); /* twice is harmless */
    pc_flow_cleanup(&f);
}

static void test_copy_is_deep_and_independent(void **state)
{
    static const char *const ids[] = {"a", "b", "c"};
    static const char *const edges[] = {"a>b", "b>c", "a>c"};
    struct pc_flow src;
    struct pc_flow dst;

    (void)state;
    build(&src, ids, 3, edges, 3);
    src.items[2].params[0] = 0x81; /* distinct bytes to compare */
    assert_int_equal(pc_flow_copy(&dst, &src), 0);
    assert_ptr_not_equal(dst.items, src.items);
    assert_ptr_not_equal(dst.items[2].deps, src.items[2].deps);
    assert_ptr_not_equal(dst.items[2].params, src.items[2].params);
    pc_flow_cleanup(&src);
    assert_string_equal(dst.app.s, "app");
    assert_int_equal(dst.n_items, 3);
    assert_string_equal(dst.items[1].id.s, "b");
    assert_int_equal(dst.items[2].n_deps, 2);
    assert_int_equal(dst.items[2].deps[0], 1);
    assert_int_equal(dst.items[2].deps[1], 0);
    assert_int_equal(dst.items[2].params_len, 1);
    assert_int_equal(dst.items[2].params[0], 0x81);
    assert_int_equal(pc_flow_validate(&dst, NULL), 0);
    pc_flow_cleanup(&dst);
}

static void test_cleanup_zeroes_and_accepts_empty_and_null(void **state)
{
    static const char *const ids[] = {"a"};
    struct pc_flow f;

    (void)state;
    build(&f, ids, 1, NULL, 0);
    pc_flow_cleanup(&f);
    assert_null(f.items);
    assert_int_equal(f.n_items, 0);
    assert_int_equal(f.app.s[0], '\0');
    pc_flow_cleanup(&f);
    pc_flow_cleanup(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_and_diamond_flows_are_valid),
        cmocka_unit_test(test_dependency_on_a_later_item_is_valid),
        cmocka_unit_test(test_empty_flow_is_rejected),
        cmocka_unit_test(test_bad_identifiers_are_rejected_naming_the_field),
        cmocka_unit_test(test_unterminated_id_is_rejected),
        cmocka_unit_test(test_duplicate_ids_name_both_positions),
        cmocka_unit_test(test_dependency_index_out_of_range_is_rejected),
        cmocka_unit_test(test_self_dependency_is_rejected),
        cmocka_unit_test(test_duplicate_dependency_is_rejected),
        cmocka_unit_test(test_two_cycle_is_rejected_and_spelled_out),
        cmocka_unit_test(test_three_cycle_behind_a_tail_names_an_item_on_the_cycle),
        cmocka_unit_test(test_too_many_deps_is_a_limit_error),
        cmocka_unit_test(test_oversized_or_missing_params_are_rejected),
        cmocka_unit_test(test_largest_flow_validates_and_one_more_item_is_refused),
        cmocka_unit_test(test_validate_accepts_a_null_error_record),
        cmocka_unit_test(test_find_matches_whole_ids_only),
        cmocka_unit_test(test_index_finds_every_item_of_a_large_flow),
        cmocka_unit_test(test_copy_is_deep_and_independent),
        cmocka_unit_test(test_cleanup_zeroes_and_accepts_empty_and_null),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
