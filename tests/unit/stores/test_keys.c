/*
 * test_keys.c - the Redis key and channel names of CONTRACT §3: exact names
 * for the default and a custom prefix, hash tags in the right places, no
 * truncated name ever, and the interrupt channel parser's refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "peace/keys.h"

#define ID "01HZX3J8K2Q4M5N6P7R8S9T0VW"

static void expect_name(int rc, const char *got, const char *want)
{
    assert_int_equal(rc, (int)strlen(want));
    assert_string_equal(got, want);
}

static void every_key_of_the_contract_has_its_exact_name(void **state)
{
    char k[PC_KEY_MAX];

    (void)state;
    expect_name(pc_key_queue(k, sizeof(k), "peace", "default"), k, "peace:queue:{default}");
    expect_name(pc_key_exec(k, sizeof(k), "peace", ID), k, "peace:exec:{" ID "}");
    expect_name(pc_key_progress(k, sizeof(k), "peace", ID), k, "peace:exec:{" ID "}:progress");
    expect_name(pc_key_events(k, sizeof(k), "peace", ID), k, "peace:exec:{" ID "}:events");
    expect_name(pc_key_interrupt_channel(k, sizeof(k), "peace", ID), k,
                "peace:exec:{" ID "}:interrupt");
    expect_name(pc_key_interrupt_pattern(k, sizeof(k), "peace"), k, "peace:exec:*:interrupt");
    expect_name(pc_key_states(k, sizeof(k), "peace", "app", "prod", "web", PC_STATES_CURRENT), k,
                "peace:states:{app:prod}:web:current");
    expect_name(pc_key_states(k, sizeof(k), "peace", "app", "prod", "web", PC_STATES_GOAL), k,
                "peace:states:{app:prod}:web:goal");
    expect_name(pc_key_lock(k, sizeof(k), "peace", "app", "prod"), k, "peace:lock:{app:prod}");
    expect_name(pc_key_profiles_released(k, sizeof(k), "peace"), k, "peace:profiles:released");
    expect_name(pc_key_execs(k, sizeof(k), "peace"), k, "peace:execs");
    expect_name(pc_key_dead(k, sizeof(k), "peace"), k, "peace:dead");
}

static void a_custom_prefix_replaces_peace_everywhere(void **state)
{
    char k[PC_KEY_MAX];

    (void)state;
    expect_name(pc_key_queue(k, sizeof(k), "t-1.x", "q"), k, "t-1.x:queue:{q}");
    expect_name(pc_key_events(k, sizeof(k), "t-1.x", ID), k, "t-1.x:exec:{" ID "}:events");
    expect_name(pc_key_lock(k, sizeof(k), "t-1.x", "a", "b"), k, "t-1.x:lock:{a:b}");
    expect_name(pc_key_dead(k, sizeof(k), "t-1.x"), k, "t-1.x:dead");
}

static void a_name_that_does_not_fit_is_refused_whole(void **state)
{
    char small[12];
    char exact[sizeof("peace:execs")];

    (void)state;
    memset(small, 'x', sizeof(small));
    assert_int_equal(pc_key_exec(small, sizeof(small), "peace", ID), PC_ELIMIT);
    assert_string_equal(small, "");
    /* Exactly enough room (name + NUL) fits; one byte less does not. */
    expect_name(pc_key_execs(exact, sizeof(exact), "peace"), exact, "peace:execs");
    assert_int_equal(pc_key_execs(exact, sizeof(exact) - 1, "peace"), PC_ELIMIT);
    assert_int_equal(pc_key_execs(exact, 0, "peace"), PC_ELIMIT);
    assert_int_equal(pc_key_execs(NULL, 10, "peace"), PC_ELIMIT);
}

static void braces_or_empty_components_are_refused(void **state)
{
    char k[PC_KEY_MAX];

    (void)state;
    /* A brace inside a component would move the hash tag and so the slot. */
    assert_int_equal(pc_key_exec(k, sizeof(k), "peace", "a}b"), PC_EINVAL);
    assert_int_equal(pc_key_exec(k, sizeof(k), "peace", ""), PC_EINVAL);
    assert_int_equal(pc_key_exec(k, sizeof(k), "peace", NULL), PC_EINVAL);
    assert_int_equal(pc_key_queue(k, sizeof(k), "pe{ace", "q"), PC_EINVAL);
    assert_int_equal(pc_key_lock(k, sizeof(k), "peace", "a{", "p"), PC_EINVAL);
    assert_int_equal(pc_key_states(k, sizeof(k), "peace", "a", "p", "", PC_STATES_GOAL), PC_EINVAL);
    assert_int_equal(pc_key_states(k, sizeof(k), "peace", "a", "p", "f", (enum pc_states_kind)7),
                     PC_EINVAL);
    assert_int_equal(pc_key_interrupt_pattern(k, sizeof(k), "pea*"), PC_EINVAL);
    assert_int_equal(pc_key_execs(k, sizeof(k), ""), PC_EINVAL);
}

static void the_interrupt_channel_parses_back_to_its_id(void **state)
{
    char ch[PC_KEY_MAX];
    char id[64];
    int n;

    (void)state;
    n = pc_key_interrupt_channel(ch, sizeof(ch), "peace", ID);
    assert_true(n > 0);
    memset(id, 'x', sizeof(id));
    assert_int_equal(pc_key_parse_interrupt_channel(ch, (size_t)n, "peace", id, sizeof(id)), 0);
    assert_string_equal(id, ID);
    /* The length argument rules, not a NUL: a channel with trailing bytes is another name. */
    assert_int_equal(pc_key_parse_interrupt_channel(ch, (size_t)n - 1, "peace", id, sizeof(id)),
                     PC_EINVAL);
}

static void malformed_interrupt_channels_are_refused(void **state)
{
    static const char *const bad[] = {
        "peace:exec:{}:interrupt",
        "peace:exec:{a}b}:interrupt",
        "peace:exec:{a}:progress",
        "other:exec:{a}:interrupt",
        "peace:exec:a:interrupt",
        "peace:exec:{a}:interrupt:x",
        "peace:exec:{",
        "",
        "peace:exec:{a{b}:interrupt",
        "peacE:exec:{a}:interrupt",
    };
    char id[64];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memcpy(id, "untouched", sizeof("untouched"));
        assert_int_equal(
            pc_key_parse_interrupt_channel(bad[i], strlen(bad[i]), "peace", id, sizeof(id)),
            PC_EINVAL);
        assert_string_equal(id, "untouched");
    }
}

static void an_id_longer_than_the_output_is_refused(void **state)
{
    const char ch[] = "peace:exec:{0123456789}:interrupt";
    char id[16];

    (void)state;
    /* Ten id bytes need eleven with the NUL. */
    assert_int_equal(pc_key_parse_interrupt_channel(ch, sizeof(ch) - 1, "peace", id, 10),
                     PC_EINVAL);
    assert_int_equal(pc_key_parse_interrupt_channel(ch, sizeof(ch) - 1, "peace", id, 11), 0);
    assert_string_equal(id, "0123456789");
}

static void prefix_check_accepts_the_allowed_set_only(void **state)
{
    char longest[PC_PREFIX_MAX + 2];
    struct pc_err err;

    (void)state;
    assert_int_equal(pc_prefix_check("peace", &err), 0);
    assert_int_equal(pc_prefix_check("A-z_0.9", &err), 0);
    assert_int_equal(pc_prefix_check("", &err), PC_EINVAL);
    assert_int_equal(pc_prefix_check(NULL, &err), PC_EINVAL);
    assert_int_equal(pc_prefix_check("pe:ace", &err), PC_EINVAL);
    assert_non_null(strstr(err.msg, "byte 2"));
    assert_int_equal(pc_prefix_check("pe{ace", NULL), PC_EINVAL);
    assert_int_equal(pc_prefix_check("pe*", NULL), PC_EINVAL);
    memset(longest, 'p', sizeof(longest));
    longest[PC_PREFIX_MAX] = '\0';
    assert_int_equal(pc_prefix_check(longest, NULL), 0);
    longest[PC_PREFIX_MAX] = 'p';
    longest[PC_PREFIX_MAX + 1] = '\0';
    assert_int_equal(pc_prefix_check(longest, &err), PC_EINVAL);
}

/* Partition streams: {Q:N} for P > 1, the old {Q} for P = 1; P and N bounded. */
static void queue_partitions_have_their_own_tags(void **state)
{
    char k[PC_KEY_MAX];
    struct pc_err err;
    unsigned p = 0;
    static const char *const bad[] = {"0", "65", "", "-1", "1x", " 2", "0006", "99999999999"};

    (void)state;
    expect_name(pc_key_queue_part(k, sizeof(k), "peace", "default", 0, 1), k,
                "peace:queue:{default}");
    expect_name(pc_key_queue_part(k, sizeof(k), "peace", "default", 0, 6), k,
                "peace:queue:{default:0}");
    expect_name(pc_key_queue_part(k, sizeof(k), "peace", "default", 5, 6), k,
                "peace:queue:{default:5}");
    assert_int_equal(pc_key_queue_part(k, sizeof(k), "peace", "default", 6, 6), PC_EINVAL);
    assert_int_equal(pc_key_queue_part(k, sizeof(k), "peace", "default", 0, 0), PC_EINVAL);
    assert_int_equal(pc_key_queue_part(k, sizeof(k), "peace", "default", 0, PC_PARTITIONS_MAX + 1),
                     PC_EINVAL);
    assert_int_equal(pc_key_queue_part(k, sizeof(k), "peace", "de{f", 0, 2), PC_EINVAL);
    assert_int_equal(pc_key_queue_part(k, 16, "peace", "default", 1, 2), PC_ELIMIT);
    /* The partition of an id: stable, in range, 0 with one partition. */
    assert_int_equal(pc_queue_partition_of("01ARZ3NDEKTSV4RRFFQ69G5FAV", 1), 0);
    assert_int_equal(pc_queue_partition_of("01ARZ3NDEKTSV4RRFFQ69G5FAV", 7),
                     pc_queue_partition_of("01ARZ3NDEKTSV4RRFFQ69G5FAV", 7));
    assert_true(pc_queue_partition_of("01ARZ3NDEKTSV4RRFFQ69G5FAV", 7) < 7);
    assert_int_equal(pc_partitions_parse("6", &p, &err), 0);
    assert_int_equal(p, 6);
    assert_int_equal(pc_partitions_parse("64", &p, &err), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(pc_partitions_parse(bad[i], &p, &err), PC_EINVAL);
    }
    assert_int_equal(pc_partitions_parse(NULL, &p, &err), PC_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_key_of_the_contract_has_its_exact_name),
        cmocka_unit_test(a_custom_prefix_replaces_peace_everywhere),
        cmocka_unit_test(a_name_that_does_not_fit_is_refused_whole),
        cmocka_unit_test(braces_or_empty_components_are_refused),
        cmocka_unit_test(the_interrupt_channel_parses_back_to_its_id),
        cmocka_unit_test(malformed_interrupt_channels_are_refused),
        cmocka_unit_test(an_id_longer_than_the_output_is_refused),
        cmocka_unit_test(prefix_check_accepts_the_allowed_set_only),
        cmocka_unit_test(queue_partitions_have_their_own_tags),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
