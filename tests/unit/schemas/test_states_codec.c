/*
 * test_states_codec.c - the states envelope of local states files and the
 * single-state check used for Redis hash values.
 */
/* cmocka needs these four headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_fuzz.h"
#include "peace/msg.h"

static const char flow_json[] =
    "{\"app\": \"shop\", \"profile\": \"dev\", \"flow\": \"deploy\", \"items\": ["
    " {\"id\": \"a\", \"type\": \"t\"}, {\"id\": \"b\", \"type\": \"t\"},"
    " {\"id\": \"c\", \"type\": \"t\"}, {\"id\": \"d\", \"type\": \"t\"}]}";

/* {"exists": true, "size": 3} */
static const uint8_t state_a[] = {0x82, 0xa6, 'e', 'x', 'i', 's', 't', 's',
                                  0xc3, 0xa4, 's', 'i', 'z', 'e', 0x03};
static const uint8_t state_nil[] = {0xc0};
static const uint8_t state_d[] = {0xa2, 'o', 'k'};

/* The flow used by most tests; the file of a test may be written for another. */
static struct pc_flow test_flow;

static int setup(void **state)
{
    (void)state;
    return pc_flow_parse_json(flow_json, strlen(flow_json), "t", &test_flow, NULL);
}

static int teardown(void **state)
{
    (void)state;
    pc_flow_cleanup(&test_flow);
    return 0;
}

/* a present, b absent, c nil ("no state"), d present. */
static void make_states(struct pc_states *m)
{
    assert_int_equal(pc_states_init(m, 4), 0);
    assert_int_equal(pc_state_set(&m->v[0], state_a, sizeof(state_a)), 0);
    assert_int_equal(pc_state_set(&m->v[2], state_nil, sizeof(state_nil)), 0);
    assert_int_equal(pc_state_set(&m->v[3], state_d, sizeof(state_d)), 0);
}

static void encode_valid(struct pc_buf *out)
{
    struct pc_states m;

    make_states(&m);
    assert_int_equal(msg_states_encode(&test_flow, PC_STATES_GOAL, &m, out, NULL), 0);
    pc_states_cleanup(&m);
}

/* Decodes into fresh absent slots and checks the failure contract. */
static int try_decode(const void *p, size_t n)
{
    struct pc_states out;
    struct pc_err err;
    int rc;

    assert_int_equal(pc_states_init(&out, test_flow.n_items), 0);
    pc_err_clear(&err);
    rc = msg_states_decode(p, n, &test_flow, &out, &err);
    if (rc != 0) {
        for (size_t i = 0; i < out.n; i++) {
            assert_null(out.v[i].data);
        }
        assert_int_equal(err.code, rc);
        assert_true(strncmp(err.msg, "states", 6) == 0);
    }
    pc_states_cleanup(&out);
    return rc;
}

static void test_states_round_trip_with_absent_and_nil_as_absent(void **state)
{
    struct pc_buf enc;
    struct pc_states back;

    (void)state;
    encode_valid(&enc);
    assert_int_equal(pc_states_init(&back, 4), 0);
    assert_int_equal(msg_states_decode(enc.data, enc.len, &test_flow, &back, NULL), 0);
    assert_int_equal(back.v[0].len, sizeof(state_a));
    assert_memory_equal(back.v[0].data, state_a, sizeof(state_a));
    assert_null(back.v[1].data);
    assert_null(back.v[2].data);
    assert_int_equal(back.v[3].len, sizeof(state_d));
    assert_memory_equal(back.v[3].data, state_d, sizeof(state_d));
    pc_states_cleanup(&back);
    pc_buf_cleanup(&enc);
}

/* Reads the envelope with msgpack-c, independently of the codec. */
static void test_envelope_lists_every_item_in_flow_order(void **state)
{
    struct pc_buf enc;
    msgpack_unpacked u;
    size_t off = 0;
    const msgpack_object *states = NULL;
    static const char *const ids = "abcd";

    (void)state;
    encode_valid(&enc);
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, enc.data, enc.len, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(u.data.type, MSGPACK_OBJECT_MAP);
    assert_int_equal(u.data.via.map.size, 6);
    for (uint32_t i = 0; i < u.data.via.map.size; i++) {
        const msgpack_object_kv *kv = &u.data.via.map.ptr[i];

        if (kv->key.via.str.size == 4 && memcmp(kv->key.via.str.ptr, "kind", 4) == 0) {
            assert_int_equal(kv->val.via.str.size, 4);
            assert_memory_equal(kv->val.via.str.ptr, "goal", 4);
        }
        if (kv->key.via.str.size == 1 && kv->key.via.str.ptr[0] == 'v') {
            assert_int_equal(kv->val.via.u64, 1);
        }
        if (kv->key.via.str.size == 6 && memcmp(kv->key.via.str.ptr, "states", 6) == 0) {
            states = &kv->val;
        }
    }
    if (states == NULL) {
        fail_msg("no \"states\" key");
        return;
    }
    assert_int_equal(states->via.array.size, 4);
    for (uint32_t i = 0; i < 4; i++) {
        const msgpack_object *pair = &states->via.array.ptr[i];

        assert_int_equal(pair->via.array.size, 2);
        assert_int_equal(pair->via.array.ptr[0].via.str.ptr[0], ids[i]);
    }
    assert_int_equal(states->via.array.ptr[1].via.array.ptr[1].type, MSGPACK_OBJECT_NIL);
    msgpack_unpacked_destroy(&u);
    pc_buf_cleanup(&enc);
}

static void test_entries_not_in_the_flow_are_ignored_and_new_items_stay_absent(void **state)
{
    static const char other_json[] =
        "{\"app\": \"shop\", \"profile\": \"dev\", \"flow\": \"deploy\", \"items\": ["
        " {\"id\": \"new\", \"type\": \"t\"}, {\"id\": \"d\", \"type\": \"t\"}]}";
    struct pc_flow other;
    struct pc_buf enc;
    struct pc_states back;

    (void)state;
    assert_int_equal(pc_flow_parse_json(other_json, strlen(other_json), "t", &other, NULL), 0);
    encode_valid(&enc); /* written for a, b, c, d */
    assert_int_equal(pc_states_init(&back, 2), 0);
    assert_int_equal(msg_states_decode(enc.data, enc.len, &other, &back, NULL), 0);
    assert_null(back.v[0].data);
    assert_memory_equal(back.v[1].data, state_d, sizeof(state_d));
    pc_states_cleanup(&back);
    pc_buf_cleanup(&enc);
    pc_flow_cleanup(&other);
}

static void test_decode_replaces_every_slot(void **state)
{
    struct pc_buf enc;
    struct pc_states back;

    (void)state;
    encode_valid(&enc);
    assert_int_equal(pc_states_init(&back, 4), 0);
    assert_int_equal(pc_state_set(&back.v[1], state_d, sizeof(state_d)), 0); /* stale */
    assert_int_equal(msg_states_decode(enc.data, enc.len, &test_flow, &back, NULL), 0);
    assert_null(back.v[1].data);
    pc_states_cleanup(&back);
    pc_buf_cleanup(&enc);
}

static void test_envelope_of_another_profile_is_refused(void **state)
{
    static const char other_json[] =
        "{\"app\": \"shop\", \"profile\": \"prod\", \"flow\": \"deploy\", \"items\": ["
        " {\"id\": \"a\", \"type\": \"t\"}, {\"id\": \"b\", \"type\": \"t\"},"
        " {\"id\": \"c\", \"type\": \"t\"}, {\"id\": \"d\", \"type\": \"t\"}]}";
    struct pc_flow other;
    struct pc_buf enc;
    struct pc_states back;
    struct pc_err err;

    (void)state;
    assert_int_equal(pc_flow_parse_json(other_json, strlen(other_json), "t", &other, NULL), 0);
    encode_valid(&enc);
    assert_int_equal(pc_states_init(&back, 4), 0);
    assert_int_equal(msg_states_decode(enc.data, enc.len, &other, &back, &err), PC_EINVAL);
    assert_non_null(strstr(err.msg, "profile"));
    assert_null(back.v[0].data);
    pc_states_cleanup(&back);
    pc_buf_cleanup(&enc);
    pc_flow_cleanup(&other);
}

static void pk_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* An envelope with a custom states array written by fill(). */
static void pk_envelope(msgpack_sbuffer *sb, uint64_t v, const char *kind,
                        void (*fill)(msgpack_packer *pk))
{
    msgpack_packer pk;

    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    pk_str(&pk, "v");
    msgpack_pack_uint64(&pk, v);
    pk_str(&pk, "app");
    pk_str(&pk, "shop");
    pk_str(&pk, "profile");
    pk_str(&pk, "dev");
    pk_str(&pk, "flow");
    pk_str(&pk, "deploy");
    pk_str(&pk, "kind");
    pk_str(&pk, kind);
    pk_str(&pk, "states");
    fill(&pk);
}

static void fill_ok(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 2);
    pk_str(pk, "a");
    msgpack_pack_true(pk);
}

static void fill_repeated(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 2);
    for (int i = 0; i < 2; i++) {
        msgpack_pack_array(pk, 2);
        pk_str(pk, "b");
        msgpack_pack_int(pk, i);
    }
}

static void fill_triple(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 3);
    pk_str(pk, "a");
    msgpack_pack_nil(pk);
    msgpack_pack_nil(pk);
}

static void fill_id_number(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 2);
    msgpack_pack_int(pk, 1);
    msgpack_pack_nil(pk);
}

static void fill_huge_state(msgpack_packer *pk)
{
    size_t n = PC_STATE_MAX; /* the bin header makes the value larger than the limit */
    char *blob = calloc(1, n);

    assert_non_null(blob);
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 2);
    pk_str(pk, "a");
    msgpack_pack_bin(pk, n);
    msgpack_pack_bin_body(pk, blob, n);
    free(blob);
}

static void fill_deep_state(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 2);
    pk_str(pk, "a");
    for (int i = 0; i < MSG_DEPTH_MAX + 1; i++) {
        msgpack_pack_array(pk, 1);
    }
    msgpack_pack_nil(pk);
}

static void fill_too_many(msgpack_packer *pk)
{
    msgpack_pack_array(pk, PC_FLOW_ITEMS_MAX + 1);
    for (int i = 0; i <= PC_FLOW_ITEMS_MAX; i++) {
        msgpack_pack_array(pk, 2);
        pk_str(pk, "zz");
        msgpack_pack_nil(pk);
    }
}

struct envelope_case {
    uint64_t v;
    const char *kind;
    void (*fill)(msgpack_packer *pk);
    int rc;
    const char *needle;
};

static void test_hand_built_envelopes_fail_cleanly(void **state)
{
    static const struct envelope_case cases[] = {
        {1, "current", fill_ok, 0, NULL},
        {2, "current", fill_ok, PC_ESCHEMA, "unknown version 2"},
        {1, "desired", fill_ok, PC_ESCHEMA, "unknown kind"},
        {1, "goal", fill_repeated, PC_ESCHEMA, "item 'b' repeated"},
        {1, "goal", fill_triple, PC_ESCHEMA, "expected [id, state]"},
        {1, "goal", fill_id_number, PC_ESCHEMA, "states[0]"},
        {1, "goal", fill_huge_state, PC_ELIMIT, "more than"},
        {1, "goal", fill_deep_state, PC_ELIMIT, "nested too deep"},
        {1, "goal", fill_too_many, PC_ELIMIT, "entries"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        msgpack_sbuffer sb;
        struct pc_states out;
        struct pc_err err;
        int rc;

        pk_envelope(&sb, cases[i].v, cases[i].kind, cases[i].fill);
        assert_int_equal(pc_states_init(&out, 4), 0);
        pc_err_clear(&err);
        rc = msg_states_decode(sb.data, sb.size, &test_flow, &out, &err);
        if (rc != cases[i].rc ||
            (cases[i].needle != NULL && strstr(err.msg, cases[i].needle) == NULL)) {
            fail_msg("case %zu: expected %d \"%s\", got %d \"%s\"", i, cases[i].rc,
                     cases[i].needle ? cases[i].needle : "", rc, err.msg);
        }
        assert_int_equal(try_decode(sb.data, sb.size), cases[i].rc);
        pc_states_cleanup(&out);
        msgpack_sbuffer_destroy(&sb);
    }
}

static void test_wrong_slot_count_is_refused(void **state)
{
    struct pc_buf enc;
    struct pc_states m;

    (void)state;
    assert_int_equal(pc_states_init(&m, 3), 0);
    assert_int_equal(msg_states_encode(&test_flow, PC_STATES_CURRENT, &m, &enc, NULL), PC_EINVAL);
    encode_valid(&enc);
    assert_int_equal(msg_states_decode(enc.data, enc.len, &test_flow, &m, NULL), PC_EINVAL);
    pc_buf_cleanup(&enc);
    pc_states_cleanup(&m);
}

static void test_encode_refuses_bad_state_bytes_and_kinds(void **state)
{
    static const uint8_t two_values[] = {0x01, 0x02};
    static const uint8_t cut_str[] = {0xa5, 'a'};
    struct pc_buf enc;
    struct pc_states m;
    struct pc_err err;

    (void)state;
    make_states(&m);
    assert_int_equal(msg_states_encode(&test_flow, (enum pc_states_kind)5, &m, &enc, &err),
                     PC_EINVAL);
    assert_int_equal(pc_state_set(&m.v[1], two_values, sizeof(two_values)), 0);
    assert_int_equal(msg_states_encode(&test_flow, PC_STATES_CURRENT, &m, &enc, &err), PC_ESCHEMA);
    assert_non_null(strstr(err.msg, "item 'b'"));
    assert_int_equal(pc_state_set(&m.v[1], cut_str, sizeof(cut_str)), 0);
    assert_int_equal(msg_states_encode(&test_flow, PC_STATES_CURRENT, &m, &enc, &err), PC_ESCHEMA);
    pc_states_cleanup(&m);
    assert_string_equal(msg_states_kind_name(PC_STATES_CURRENT), "current");
    assert_string_equal(msg_states_kind_name(PC_STATES_GOAL), "goal");
    assert_string_equal(msg_states_kind_name(PC_STATES_RECORDS), "items");
    assert_null(msg_states_kind_name((enum pc_states_kind)3));
}

static void test_state_check_accepts_exactly_one_bounded_value(void **state)
{
    static const uint8_t one[] = {0x92, 0x01, 0xa1, 'x'};
    static const uint8_t two[] = {0x01, 0x01};
    static const uint8_t cut[] = {0x92, 0x01};
    static const uint8_t reserved[] = {0xc1};
    static const uint8_t fixext[] = {0xd4, 0x01, 0x02};
    static const uint8_t f32[] = {0xca, 0, 0, 0};
    uint8_t nest[MSG_DEPTH_MAX + 2];
    struct pc_err err;

    (void)state;
    assert_int_equal(msg_state_check(one, sizeof(one), NULL), 0);
    assert_int_equal(msg_state_check(state_nil, 1, NULL), 0);
    assert_int_equal(msg_state_check(two, sizeof(two), &err), PC_ESCHEMA);
    assert_non_null(strstr(err.msg, "after the value"));
    assert_int_equal(msg_state_check(cut, sizeof(cut), &err), PC_ESCHEMA);
    assert_non_null(strstr(err.msg, "truncated"));
    assert_int_equal(msg_state_check(reserved, 1, NULL), PC_ESCHEMA);
    assert_int_equal(msg_state_check(fixext, sizeof(fixext), NULL), 0);
    assert_int_equal(msg_state_check(f32, sizeof(f32), NULL), PC_ESCHEMA);
    assert_int_equal(msg_state_check("", 0, NULL), PC_ESCHEMA);
    assert_int_equal(msg_state_check(NULL, 0, NULL), PC_ESCHEMA);
    /* MSG_DEPTH_MAX nested arrays pass, one more does not. */
    memset(nest, 0x91, sizeof(nest));
    nest[MSG_DEPTH_MAX] = 0xc0;
    assert_int_equal(msg_state_check(nest, MSG_DEPTH_MAX + 1, NULL), 0);
    nest[MSG_DEPTH_MAX] = 0x91;
    nest[MSG_DEPTH_MAX + 1] = 0xc0;
    assert_int_equal(msg_state_check(nest, MSG_DEPTH_MAX + 2, &err), PC_ELIMIT);
}

/* The depth the codecs accept must also be readable by msgpack-c, which item types use. */
static void test_msgpack_c_reads_values_at_the_depth_limit(void **state)
{
    uint8_t nest[MSG_DEPTH_MAX + 1];
    msgpack_unpacked u;
    size_t off = 0;

    (void)state;
    memset(nest, 0x91, sizeof(nest));
    nest[MSG_DEPTH_MAX] = 0xc0;
    assert_int_equal(msg_state_check(nest, sizeof(nest), NULL), 0);
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, (const char *)nest, sizeof(nest), &off),
                     MSGPACK_UNPACK_SUCCESS);
    msgpack_unpacked_destroy(&u);
}

static void test_state_check_refuses_oversized_values(void **state)
{
    uint8_t *big = calloc(1, PC_STATE_MAX + 1);

    (void)state;
    assert_non_null(big);
    assert_int_equal(msg_state_check(big, PC_STATE_MAX + 1, NULL), PC_ELIMIT);
    free(big);
}

static void test_every_truncation_of_an_envelope_is_a_schema_error(void **state)
{
    struct pc_buf enc;

    (void)state;
    encode_valid(&enc);
    fuzz_truncations((const uint8_t *)enc.data, enc.len, try_decode, PC_ESCHEMA);
    pc_buf_cleanup(&enc);
}

static void test_mutated_and_garbage_envelopes_never_crash_or_leak(void **state)
{
    struct pc_buf enc;
    uint8_t *deep = deep_arrays(100000);

    (void)state;
    encode_valid(&enc);
    fuzz_mutations((const uint8_t *)enc.data, enc.len, try_decode);
    fuzz_garbage((const uint8_t *)enc.data, 4, try_decode, 4000);
    assert_int_equal(try_decode(deep, 100001), PC_ESCHEMA);
    assert_int_equal(msg_state_check(deep, 100001, NULL), PC_ELIMIT);
    free(deep);
    pc_buf_cleanup(&enc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_states_round_trip_with_absent_and_nil_as_absent),
        cmocka_unit_test(test_envelope_lists_every_item_in_flow_order),
        cmocka_unit_test(test_entries_not_in_the_flow_are_ignored_and_new_items_stay_absent),
        cmocka_unit_test(test_decode_replaces_every_slot),
        cmocka_unit_test(test_envelope_of_another_profile_is_refused),
        cmocka_unit_test(test_hand_built_envelopes_fail_cleanly),
        cmocka_unit_test(test_wrong_slot_count_is_refused),
        cmocka_unit_test(test_encode_refuses_bad_state_bytes_and_kinds),
        cmocka_unit_test(test_state_check_accepts_exactly_one_bounded_value),
        cmocka_unit_test(test_msgpack_c_reads_values_at_the_depth_limit),
        cmocka_unit_test(test_state_check_refuses_oversized_values),
        cmocka_unit_test(test_every_truncation_of_an_envelope_is_a_schema_error),
        cmocka_unit_test(test_mutated_and_garbage_envelopes_never_crash_or_leak),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
