/*
 * test_report_codec.c - the outcome report: round trips of every outcome
 * shape and malformed reports as clean errors.
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
#include "report_v1_bytes.h"
#include "report_v2_bytes.h"

static struct pc_id id_of(const char *s)
{
    struct pc_id id;

    (void)snprintf(id.s, sizeof(id.s), "%s", s);
    return id;
}

/* An item_error outcome of ensure: 3 blocks of 5 processed, lists and errors. */
static void make_item_error(struct pc_outcome *o)
{
    struct pc_id a = id_of("a");
    struct pc_id b = id_of("b");

    pc_outcome_init(o);
    o->kind = PC_OUTCOME_ITEM_ERROR;
    o->n_blocks = pc_cmd_blocks(PC_CMD_ENSURE, PC_SYNC_BOTH, o->blocks);
    assert_true(o->n_blocks >= 4);
    o->n_blocks_processed = 3;
    o->items_processed = malloc(2 * sizeof(struct pc_id));
    assert_non_null(o->items_processed);
    o->items_processed[0] = b;
    o->items_processed[1] = a;
    o->n_items_processed = 2;
    o->items_not_processed = malloc(sizeof(struct pc_id));
    assert_non_null(o->items_not_processed);
    o->items_not_processed[0] = id_of("c");
    o->n_items_not_processed = 1;
    assert_int_equal(pc_outcome_add_error(o, &a, "apply failed: permission denied"), 0);
    assert_int_equal(pc_outcome_add_error(o, &b, ""), 0);
}

static void assert_same_outcome(const struct pc_outcome *x, const struct pc_outcome *y)
{
    assert_int_equal(x->kind, y->kind);
    assert_int_equal(x->n_blocks, y->n_blocks);
    assert_int_equal(x->n_blocks_processed, y->n_blocks_processed);
    assert_memory_equal(x->blocks, y->blocks, x->n_blocks * sizeof(x->blocks[0]));
    assert_int_equal(x->n_items_processed, y->n_items_processed);
    for (size_t i = 0; i < x->n_items_processed; i++) {
        assert_string_equal(x->items_processed[i].s, y->items_processed[i].s);
    }
    assert_int_equal(x->n_items_not_processed, y->n_items_not_processed);
    for (size_t i = 0; i < x->n_items_not_processed; i++) {
        assert_string_equal(x->items_not_processed[i].s, y->items_not_processed[i].s);
    }
    assert_int_equal(x->n_errors, y->n_errors);
    for (size_t i = 0; i < x->n_errors; i++) {
        assert_string_equal(x->errors[i].item.s, y->errors[i].item.s);
        assert_string_equal(x->errors[i].text, y->errors[i].text);
    }
    if (x->error == NULL) {
        assert_null(y->error);
    } else {
        assert_string_equal(x->error, y->error);
    }
}

static int try_decode(const void *p, size_t n)
{
    struct pc_outcome out;
    struct pc_outcome sentinel;
    struct pc_err err;
    int rc;

    memset(&sentinel, 0x3c, sizeof(sentinel));
    out = sentinel;
    pc_err_clear(&err);
    rc = msg_report_decode(p, n, &out, &err);
    if (rc == 0) {
        pc_outcome_cleanup(&out);
        return 0;
    }
    assert_memory_equal(&out, &sentinel, sizeof(out));
    assert_int_equal(err.code, rc);
    assert_true(strncmp(err.msg, "report", 6) == 0);
    return rc;
}

static void round_trip(const struct pc_outcome *o)
{
    struct pc_buf enc;
    struct pc_outcome back;

    assert_int_equal(msg_report_encode(o, &enc, NULL), 0);
    assert_int_equal(msg_report_decode(enc.data, enc.len, &back, NULL), 0);
    assert_same_outcome(o, &back);
    pc_outcome_cleanup(&back);
    pc_buf_cleanup(&enc);
}

static void test_item_error_report_round_trips(void **state)
{
    struct pc_outcome o;

    (void)state;
    make_item_error(&o);
    round_trip(&o);
    pc_outcome_cleanup(&o);
}

/* A complete discover's report leaves out its empty lists and nil error:
 * {"v", "outcome", "blocks_processed"} only, within the 64 bytes that keep
 * the meta hash in Redis's compact encoding. */
static void test_complete_discover_report_is_compact(void **state)
{
    struct pc_outcome o;
    struct pc_buf enc;
    const uint8_t *b;

    (void)state;
    pc_outcome_init(&o);
    o.n_blocks = pc_cmd_blocks(PC_CMD_DISCOVER, PC_SYNC_NONE, o.blocks);
    o.n_blocks_processed = o.n_blocks;
    assert_int_equal(msg_report_encode(&o, &enc, NULL), 0);
    b = (const uint8_t *)enc.data;
    assert_int_equal(b[0], 0x83); /* fixmap of 3 keys */
    assert_true(enc.len <= 64);
    pc_buf_cleanup(&enc);
    round_trip(&o);
    pc_outcome_cleanup(&o);
}

static void test_complete_block_error_and_rejected_reports_round_trip(void **state)
{
    struct pc_outcome o;

    (void)state;
    pc_outcome_init(&o);
    o.n_blocks = pc_cmd_blocks(PC_CMD_CLEAN, PC_SYNC_NONE, o.blocks);
    o.n_blocks_processed = o.n_blocks;
    round_trip(&o);
    o.kind = PC_OUTCOME_BLOCK_ERROR;
    o.n_blocks_processed = 1;
    assert_int_equal(pc_outcome_set_error(&o, "stored current states are stale"), 0);
    round_trip(&o);
    pc_outcome_cleanup(&o);
    o.kind = PC_OUTCOME_REJECTED;
    assert_int_equal(pc_outcome_set_error(&o, "unknown item type \"x\""), 0);
    round_trip(&o);
    pc_outcome_cleanup(&o);
}

static void test_every_outcome_kind_round_trips(void **state)
{
    struct pc_outcome o;

    (void)state;
    for (int k = PC_OUTCOME_COMPLETE; k <= PC_OUTCOME_REJECTED; k++) {
        pc_outcome_init(&o);
        o.kind = (enum pc_outcome_kind)k;
        round_trip(&o);
    }
}

static void test_longest_error_text_passes(void **state)
{
    struct pc_outcome o;
    char *text = malloc(PC_OUTCOME_ERROR_TEXT_MAX + 1);

    (void)state;
    assert_non_null(text);
    memset(text, 'e', PC_OUTCOME_ERROR_TEXT_MAX);
    text[PC_OUTCOME_ERROR_TEXT_MAX] = '\0';
    pc_outcome_init(&o);
    o.kind = PC_OUTCOME_BLOCK_ERROR;
    o.error = text;
    round_trip(&o);
    pc_outcome_cleanup(&o);
}

static void test_encode_refuses_inconsistent_outcomes(void **state)
{
    struct pc_outcome o;
    struct pc_buf enc;
    char *text = NULL;

    (void)state;
    make_item_error(&o);
    o.n_blocks_processed = o.n_blocks + 1;
    assert_int_equal(msg_report_encode(&o, &enc, NULL), PC_EINVAL);
    o.n_blocks_processed = 1;
    o.blocks[0] = (enum pc_block_kind)PC_BLOCK_KIND_COUNT;
    assert_int_equal(msg_report_encode(&o, &enc, NULL), PC_EINVAL);
    o.blocks[0] = PC_BLOCK_READ_CURRENT;
    o.kind = (enum pc_outcome_kind)42;
    assert_int_equal(msg_report_encode(&o, &enc, NULL), PC_EINVAL);
    o.kind = PC_OUTCOME_ITEM_ERROR;
    o.items_processed[1].s[0] = '9';
    assert_int_equal(msg_report_encode(&o, &enc, NULL), PC_EINVAL);
    o.items_processed[1].s[0] = 'a';
    text = malloc(PC_OUTCOME_ERROR_TEXT_MAX + 2);
    assert_non_null(text);
    memset(text, 'e', PC_OUTCOME_ERROR_TEXT_MAX + 1);
    text[PC_OUTCOME_ERROR_TEXT_MAX + 1] = '\0';
    free(o.errors[1].text);
    o.errors[1].text = text;
    assert_int_equal(msg_report_encode(&o, &enc, NULL), PC_EINVAL);
    text[PC_OUTCOME_ERROR_TEXT_MAX] = '\0';
    assert_int_equal(msg_report_encode(&o, &enc, NULL), 0);
    pc_buf_cleanup(&enc);
    pc_outcome_cleanup(&o);
}

/* ------------------------------------------------------------------------ */
/* Hand-built reports                                                       */
/* ------------------------------------------------------------------------ */

static void pk_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static void pk_strs(msgpack_packer *pk, const char *const *s, size_t n)
{
    msgpack_pack_array(pk, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        pk_str(pk, s[i]);
    }
}

/* {"v":1,"outcome":outcome} plus one extra key written by extra(). */
static void pk_report(msgpack_sbuffer *sb, const char *outcome, const char *key,
                      void (*extra)(msgpack_packer *pk))
{
    msgpack_packer pk;

    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, key != NULL ? 3 : 2);
    pk_str(&pk, "v");
    msgpack_pack_uint64(&pk, 1);
    pk_str(&pk, "outcome");
    pk_str(&pk, outcome);
    if (key != NULL) {
        pk_str(&pk, key);
        extra(&pk);
    }
}

static void x_unknown_block(msgpack_packer *pk)
{
    static const char *const s[] = {"read_current", "teleport"};

    pk_strs(pk, s, 2);
}

static void x_nine_blocks(msgpack_packer *pk)
{
    static const char *const s[] = {"diff", "diff", "diff", "diff", "diff",
                                    "diff", "diff", "diff", "diff"};

    pk_strs(pk, s, 9);
}

static void x_bad_item(msgpack_packer *pk)
{
    static const char *const s[] = {"ok", "not ok"};

    pk_strs(pk, s, 2);
}

static void x_error_pair_of_one(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 1);
    pk_str(pk, "a");
}

static void x_error_text_with_nul(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 2);
    pk_str(pk, "a");
    msgpack_pack_str(pk, 3);
    msgpack_pack_str_body(pk, "a\0b", 3);
}

static void x_long_text(msgpack_packer *pk)
{
    char *text = malloc(PC_OUTCOME_ERROR_TEXT_MAX + 2);

    assert_non_null(text);
    memset(text, 't', PC_OUTCOME_ERROR_TEXT_MAX + 1);
    text[PC_OUTCOME_ERROR_TEXT_MAX + 1] = '\0';
    pk_str(pk, text);
    free(text);
}

static void x_error_number(msgpack_packer *pk)
{
    msgpack_pack_int(pk, 3);
}

static void x_items_huge_count(msgpack_packer *pk)
{
    static const char huge[] = {(char)0xdd, 0x00, 0x01, 0x00, 0x00}; /* 65536 */

    msgpack_sbuffer_write(pk->data, huge, sizeof(huge));
}

static void x_many_errors(msgpack_packer *pk)
{
    msgpack_pack_array(pk, PC_FLOW_ITEMS_MAX + 1);
    for (int i = 0; i <= PC_FLOW_ITEMS_MAX; i++) {
        msgpack_pack_nil(pk);
    }
}

struct report_case {
    const char *outcome;
    const char *key;
    void (*extra)(msgpack_packer *pk);
    int rc;
    const char *needle;
};

static void test_hand_built_reports_fail_cleanly(void **state)
{
    static const struct report_case cases[] = {
        {"complete", NULL, NULL, 0, NULL},
        {"exploded", NULL, NULL, PC_EINVAL, "unknown outcome"},
        {"complete", "blocks_processed", x_unknown_block, PC_EINVAL, "blocks_processed[1]"},
        {"complete", "blocks_not_processed", x_nine_blocks, PC_ELIMIT, "more than 8"},
        {"complete", "items_processed", x_bad_item, PC_EINVAL, "items_processed[1]"},
        {"item_error", "errors", x_error_pair_of_one, PC_ESCHEMA, "expected [item, text]"},
        {"item_error", "errors", x_error_text_with_nul, PC_ESCHEMA, "NUL"},
        {"item_error", "errors", x_many_errors, PC_ELIMIT, "more than"},
        {"block_error", "error", x_long_text, PC_ELIMIT, "report: error"},
        {"block_error", "error", x_error_number, PC_ESCHEMA, "report: error"},
        {"complete", "items_not_processed", x_items_huge_count, PC_ESCHEMA, "truncated"},
        {"complete", "outcome", x_error_number, PC_ESCHEMA, "repeated"},
        {"complete", "surprise", x_error_number, PC_ESCHEMA, "unknown key \"surprise\""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        msgpack_sbuffer sb;
        struct pc_outcome out;
        struct pc_err err;
        int rc;

        pk_report(&sb, cases[i].outcome, cases[i].key, cases[i].extra);
        pc_err_clear(&err);
        rc = msg_report_decode(sb.data, sb.size, &out, &err);
        if (rc != cases[i].rc ||
            (cases[i].needle != NULL && strstr(err.msg, cases[i].needle) == NULL)) {
            fail_msg("case %zu: expected %d \"%s\", got %d \"%s\"", i, cases[i].rc,
                     cases[i].needle ? cases[i].needle : "", rc, err.msg);
        }
        if (rc == 0) {
            pc_outcome_cleanup(&out);
        }
        assert_int_equal(try_decode(sb.data, sb.size), cases[i].rc);
        msgpack_sbuffer_destroy(&sb);
    }
}

static void test_minimal_report_has_empty_lists(void **state)
{
    msgpack_sbuffer sb;
    struct pc_outcome out;

    (void)state;
    pk_report(&sb, "execution_interrupted", NULL, NULL);
    assert_int_equal(msg_report_decode(sb.data, sb.size, &out, NULL), 0);
    assert_int_equal(out.kind, PC_OUTCOME_EXECUTION_INTERRUPTED);
    assert_int_equal(out.n_blocks, 0);
    assert_int_equal(out.n_items_processed, 0);
    assert_int_equal(out.n_errors, 0);
    assert_null(out.error);
    pc_outcome_cleanup(&out);
    msgpack_sbuffer_destroy(&sb);
}

static void test_unknown_version_is_a_schema_error(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct pc_err err;
    struct pc_outcome out;

    (void)state;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pk_str(&pk, "outcome");
    pk_str(&pk, "complete");
    pk_str(&pk, "v");
    msgpack_pack_uint64(&pk, 7);
    assert_int_equal(msg_report_decode(sb.data, sb.size, &out, &err), PC_ESCHEMA);
    assert_non_null(strstr(err.msg, "unknown version 7"));
    msgpack_sbuffer_destroy(&sb);
}

static void test_malformed_reports_never_crash_or_leak(void **state)
{
    struct pc_outcome o;
    struct pc_buf enc;
    uint8_t *big = NULL;

    (void)state;
    make_item_error(&o);
    assert_int_equal(msg_report_encode(&o, &enc, NULL), 0);
    fuzz_truncations((const uint8_t *)enc.data, enc.len, try_decode, PC_ESCHEMA);
    fuzz_mutations((const uint8_t *)enc.data, enc.len, try_decode);
    fuzz_garbage((const uint8_t *)enc.data, 4, try_decode, 4000);
    pc_buf_cleanup(&enc);
    pc_outcome_cleanup(&o);
    big = calloc(1, MSG_REPORT_MAX + 1);
    assert_non_null(big);
    assert_int_equal(try_decode(big, MSG_REPORT_MAX + 1), PC_ELIMIT);
    free(big);
}

/* ------------------------------------------------------------------------ */
/* Version 2 and version 1                                                   */

static void set_int_state(struct pc_rvalue *v, uint8_t n)
{
    v->set = true;
    assert_int_equal(pc_state_set(&v->state, &n, 1), 0); /* positive fixint */
}

/* An item_error ensure with times and every kind of entry. */
static void make_v2(struct pc_outcome *o)
{
    struct pc_report_block *b = NULL;

    make_item_error(o);
    o->n_blocks_processed = 4;
    o->created_ms = 1700000000000;
    o->started_ms = 1700000000100;
    o->finished_ms = 1700000000900;
    o->interrupted_ms = 1700000000500;
    o->partial = true;
    o->run = calloc(5, sizeof(*o->run));
    assert_non_null(o->run);
    o->n_run = 5;
    for (size_t i = 0; i < 5; i++) {
        o->run[i].kind = o->blocks[i];
        o->run[i].start_ms = o->started_ms + 10 * i;
        o->run[i].duration_ms = 5;
    }
    b = &o->run[0]; /* read_current: a value and a null */
    b->items = calloc(2, sizeof(*b->items));
    assert_non_null(b->items);
    b->n_items = 2;
    b->items[0].item = id_of("a");
    set_int_state(&b->items[0].values[PC_RV_CURRENT], 7);
    b->items[1].item = id_of("b");
    b->items[1].values[PC_RV_CURRENT].set = true;
    b = &o->run[3]; /* sync check: a stale goal */
    b->items = calloc(1, sizeof(*b->items));
    assert_non_null(b->items);
    b->n_items = 1;
    b->items[0].item = id_of("b");
    b->items[0].stale = PC_STALE_GOAL;
    b = &o->run[4]; /* apply: changed with an error, unchanged, truncated */
    b->items = calloc(3, sizeof(*b->items));
    assert_non_null(b->items);
    b->n_items = 3;
    b->items[0].item = id_of("a");
    b->items[0].timed = true;
    b->items[0].start_ms = o->started_ms + 41;
    b->items[0].duration_ms = 0;
    b->items[0].apply = PC_APPLY_CHANGED;
    b->items[0].error = malloc(8);
    assert_non_null(b->items[0].error);
    memcpy(b->items[0].error, "failed!", 8);
    set_int_state(&b->items[0].values[PC_RV_STATE], 3);
    b->items[1].item = id_of("b");
    b->items[1].apply = PC_APPLY_UNCHANGED;
    set_int_state(&b->items[1].values[PC_RV_STATE], 1);
    b->items[2].item = id_of("c");
    b->items[2].values[PC_RV_STATE].set = true;
    b->items[2].values[PC_RV_STATE].truncated = true;
    b->items[2].values[PC_RV_STATE].size = 99999;
    memset(b->items[2].values[PC_RV_STATE].sha256, 'a', 64);
}

static void json_of(const struct pc_outcome *o, struct pc_buf *b)
{
    pc_buf_init(b, 1u << 20);
    assert_int_equal(pc_outcome_format_json(o, b), 0);
}

static void test_v2_report_round_trips_with_blocks_and_times(void **state)
{
    struct pc_outcome o;
    struct pc_outcome back;
    struct pc_buf enc;
    struct pc_buf enc2;
    struct pc_buf j1;
    struct pc_buf j2;

    (void)state;
    make_v2(&o);
    assert_int_equal(msg_report_encode(&o, &enc, NULL), 0);
    assert_int_equal(((const uint8_t *)enc.data)[3], MSG_REPORT_VERSION);
    assert_int_equal(msg_report_decode(enc.data, enc.len, &back, NULL), 0);
    assert_same_outcome(&o, &back);
    assert_int_equal(back.n_run, 5);
    assert_int_equal(back.run[4].items[0].start_ms, o.started_ms + 41);
    assert_true(back.run[4].items[0].timed);
    assert_string_equal(back.run[4].items[0].error, "failed!");
    assert_true(back.run[4].items[2].values[PC_RV_STATE].truncated);
    assert_true(back.run[0].items[1].values[PC_RV_CURRENT].set);
    assert_null(back.run[0].items[1].values[PC_RV_CURRENT].state.data);
    /* Everything survives: the same bytes and the same JSON again. */
    assert_int_equal(msg_report_encode(&back, &enc2, NULL), 0);
    assert_int_equal(enc.len, enc2.len);
    assert_memory_equal(enc.data, enc2.data, enc.len);
    json_of(&o, &j1);
    json_of(&back, &j2);
    assert_string_equal(pc_buf_str(&j1), pc_buf_str(&j2));
    assert_non_null(strstr(pc_buf_str(&j1),
                           "{\"item\":\"a\",\"start_ms\":1700000000141,\"duration_ms\":0,"
                           "\"changed\":true,\"state\":3,\"error\":\"failed!\"}"));
    assert_non_null(strstr(pc_buf_str(&j1), "\"truncated\":{\"state\":{\"size\":99999,"));
    assert_non_null(strstr(pc_buf_str(&j1), "{\"item\":\"b\",\"stale\":\"goal\"}"));
    pc_buf_cleanup(&j1);
    pc_buf_cleanup(&j2);
    pc_buf_cleanup(&enc);
    pc_buf_cleanup(&enc2);
    pc_outcome_cleanup(&back);
    pc_outcome_cleanup(&o);
}

static void test_v1_reports_of_the_previous_release_still_read(void **state)
{
    struct pc_outcome o;
    struct pc_buf b;

    (void)state;
    assert_int_equal(msg_report_decode(v1_item_error, sizeof(v1_item_error), &o, NULL), 0);
    assert_int_equal(o.n_run, 0);
    assert_int_equal(o.started_ms, 0);
    pc_buf_init(&b, 1u << 16);
    assert_int_equal(pc_outcome_format_text(&o, &b), 0);
    assert_string_equal(pc_buf_str(&b),
                        "outcome: item_error\n"
                        "  blocks processed: read_current, read_goal, discover, sync_check\n"
                        "  blocks not processed: apply_ensure\n"
                        "  items processed: a\n"
                        "  items not processed: c\n"
                        "  error: a: apply failed: permission denied\n");
    pc_buf_reset(&b);
    assert_int_equal(pc_outcome_format_json(&o, &b), 0);
    assert_string_equal(pc_buf_str(&b),
                        "{\"outcome\":\"item_error\",\"blocks_processed\":[\"read_current\","
                        "\"read_goal\",\"discover\",\"sync_check\"],\"blocks_not_processed\":["
                        "\"apply_ensure\"],\"items_processed\":[\"a\"],\"items_not_processed\":["
                        "\"c\"],\"errors\":[{\"item\":\"a\",\"error\":\"apply failed: "
                        "permission denied\"}]}");
    pc_outcome_cleanup(&o);
    assert_int_equal(msg_report_decode(v1_complete_diff, sizeof(v1_complete_diff), &o, NULL), 0);
    pc_buf_reset(&b);
    assert_int_equal(pc_outcome_format_text(&o, &b), 0);
    assert_string_equal(pc_buf_str(&b), "outcome: complete\n"
                                        "  blocks processed: read_current, read_goal, diff\n"
                                        "  blocks not processed: (none)\n");
    pc_buf_cleanup(&b);
    pc_outcome_cleanup(&o);
}

static void test_malformed_v2_reports_never_crash_or_leak(void **state)
{
    struct pc_outcome o;
    struct pc_buf enc;

    (void)state;
    make_v2(&o);
    assert_int_equal(msg_report_encode(&o, &enc, NULL), 0);
    fuzz_truncations((const uint8_t *)enc.data, enc.len, try_decode, PC_ESCHEMA);
    fuzz_mutations((const uint8_t *)enc.data, enc.len, try_decode);
    pc_buf_cleanup(&enc);
    /* The encoder refuses what the decoder would: a bad id, an oversized value. */
    o.run[4].items[1].item = id_of("not an id");
    assert_int_equal(msg_report_encode(&o, &enc, NULL), PC_EINVAL);
    o.run[4].items[1].item = id_of("b");
    pc_state_clear(&o.run[4].items[1].values[PC_RV_STATE].state);
    o.run[4].items[1].values[PC_RV_STATE].state.data = calloc(1, PC_REPORT_VALUE_MAX + 1);
    assert_non_null(o.run[4].items[1].values[PC_RV_STATE].state.data);
    o.run[4].items[1].values[PC_RV_STATE].state.len = PC_REPORT_VALUE_MAX + 1;
    assert_int_equal(msg_report_encode(&o, &enc, NULL), PC_EINVAL);
    pc_outcome_cleanup(&o);
}

/* ------------------------------------------------------------------------ */
/* Version 3: the compact form                                               */

/* JSON of the report decoded from (p, n). */
static void json_of_bytes(const void *p, size_t n, struct pc_buf *b)
{
    struct pc_outcome o;

    assert_int_equal(msg_report_decode(p, n, &o, NULL), 0);
    json_of(&o, b);
    pc_outcome_cleanup(&o);
}

static void test_v2_report_of_the_previous_release_still_reads(void **state)
{
    struct pc_outcome o;
    struct pc_outcome back;
    struct pc_buf j1;
    struct pc_buf j2;
    struct pc_buf enc;

    (void)state;
    make_v2(&o);
    assert_int_equal(msg_report_decode(v2_item_error, sizeof(v2_item_error), &back, NULL), 0);
    assert_same_outcome(&o, &back);
    json_of(&o, &j1);
    json_of(&back, &j2);
    assert_string_equal(pc_buf_str(&j1), pc_buf_str(&j2));
    /* The version 2 writer still writes exactly those bytes. */
    assert_int_equal(msg_report_encode_version(&o, 2, &enc, NULL), 0);
    assert_int_equal(enc.len, sizeof(v2_item_error));
    assert_memory_equal(enc.data, v2_item_error, enc.len);
    pc_buf_cleanup(&enc);
    /* And the version 3 form of the same outcome reads to the same JSON. */
    assert_int_equal(msg_report_encode(&o, &enc, NULL), 0);
    assert_int_equal(((const uint8_t *)enc.data)[3], 3);
    assert_true(enc.len < sizeof(v2_item_error));
    pc_buf_cleanup(&j2);
    json_of_bytes(enc.data, enc.len, &j2);
    assert_string_equal(pc_buf_str(&j1), pc_buf_str(&j2));
    pc_buf_cleanup(&enc);
    fuzz_truncations(v2_item_error, sizeof(v2_item_error), try_decode, PC_ESCHEMA);
    fuzz_mutations(v2_item_error, sizeof(v2_item_error), try_decode);
    pc_buf_cleanup(&j1);
    pc_buf_cleanup(&j2);
    pc_outcome_cleanup(&back);
    pc_outcome_cleanup(&o);
}

/* Everything version 3 has to get right: an entry without a value its
 * block lists (unset), columns other than the block's usual ones, times
 * before the anchor (created before started, clock skew), untimed rows. */
static void test_v3_keeps_every_detail(void **state)
{
    struct pc_outcome o;
    struct pc_outcome back;
    struct pc_buf enc;
    struct pc_buf enc2;
    struct pc_buf j1;
    struct pc_buf j2;
    struct pc_report_block *b = NULL;
    struct pc_report_item *v = NULL;

    (void)state;
    make_v2(&o);
    o.finished_ms = 0; /* unknown */
    b = &o.run[4];
    v = realloc(b->items, 4 * sizeof(*b->items));
    assert_non_null(v);
    b->items = v;
    memset(&b->items[3], 0, sizeof(b->items[3]));
    b->items[3].item = id_of("d"); /* an error, no apply_check answer, no state */
    b->items[3].timed = true;
    b->items[3].start_ms = b->start_ms - 3; /* before its block: skew */
    b->items[3].error = malloc(4);
    assert_non_null(b->items[3].error);
    memcpy(b->items[3].error, "bad", 4);
    b->n_items = 4;
    assert_int_equal(msg_report_encode(&o, &enc, NULL), 0);
    assert_int_equal(msg_report_decode(enc.data, enc.len, &back, NULL), 0);
    assert_same_outcome(&o, &back);
    assert_false(back.run[4].items[3].values[PC_RV_STATE].set);
    assert_int_equal(back.run[4].items[3].apply, PC_APPLY_NONE);
    assert_int_equal(back.run[4].items[3].start_ms, b->start_ms - 3);
    assert_int_equal(back.finished_ms, 0);
    assert_int_equal(back.created_ms, 1700000000000);
    assert_false(back.run[0].items[0].timed);
    assert_int_equal(msg_report_encode(&back, &enc2, NULL), 0);
    assert_int_equal(enc.len, enc2.len);
    assert_memory_equal(enc.data, enc2.data, enc.len);
    json_of(&o, &j1);
    json_of(&back, &j2);
    assert_string_equal(pc_buf_str(&j1), pc_buf_str(&j2));
    assert_non_null(strstr(pc_buf_str(&j1), "{\"item\":\"d\",\"start_ms\":1700000000137,"
                                            "\"duration_ms\":0,\"error\":\"bad\"}"));
    fuzz_truncations((const uint8_t *)enc.data, enc.len, try_decode, PC_ESCHEMA);
    fuzz_mutations((const uint8_t *)enc.data, enc.len, try_decode);
    pc_buf_cleanup(&j1);
    pc_buf_cleanup(&j2);
    pc_buf_cleanup(&enc);
    pc_buf_cleanup(&enc2);
    pc_outcome_cleanup(&back);
    pc_outcome_cleanup(&o);
}

/* A complete discover of n items with one-byte states, as the worker
 * records it (the footprint benchmark's execution). */
static void make_discover(struct pc_outcome *o, size_t n)
{
    struct pc_report_block *b = NULL;

    pc_outcome_init(o);
    o->n_blocks = pc_cmd_blocks(PC_CMD_DISCOVER, PC_SYNC_NONE, o->blocks);
    o->n_blocks_processed = o->n_blocks;
    o->created_ms = 1700000000000;
    o->started_ms = 1700000000004;
    o->finished_ms = 1700000000011;
    o->run = calloc(1, sizeof(*o->run));
    assert_non_null(o->run);
    o->n_run = 1;
    b = &o->run[0];
    b->kind = PC_BLOCK_DISCOVER;
    b->start_ms = o->started_ms;
    b->duration_ms = 6;
    b->items = calloc(n, sizeof(*b->items));
    assert_non_null(b->items);
    b->n_items = n;
    for (size_t i = 0; i < n; i++) {
        char id[24];

        (void)snprintf(id, sizeof(id), "i%zu", i);
        b->items[i].item = id_of(id);
        b->items[i].timed = true;
        b->items[i].start_ms = b->start_ms;
        b->items[i].duration_ms = 6;
        set_int_state(&b->items[i].values[PC_RV_CURRENT], 0);
        set_int_state(&b->items[i].values[PC_RV_GOAL], 1);
    }
}

/* The sizes schemas/README.md gives: a complete 1-item discover in 51
 * bytes (version 2: 226), 10 items in 123 (721), 100 items in 935 (5763). */
static void test_v3_discover_is_compact(void **state)
{
    static const size_t items[] = {1, 10, 100};
    static const size_t v3_max[] = {51, 123, 935};

    (void)state;
    for (size_t k = 0; k < 3; k++) {
        struct pc_outcome o;
        struct pc_buf v2;
        struct pc_buf v3;
        struct pc_buf j2;
        struct pc_buf j3;

        make_discover(&o, items[k]);
        assert_int_equal(msg_report_encode_version(&o, 2, &v2, NULL), 0);
        assert_int_equal(msg_report_encode(&o, &v3, NULL), 0);
        print_message("discover, %zu items: version 2 %zu bytes, version 3 %zu bytes\n", items[k],
                      v2.len, v3.len);
        assert_true(v3.len <= v3_max[k]);
        json_of_bytes(v2.data, v2.len, &j2);
        json_of_bytes(v3.data, v3.len, &j3);
        assert_string_equal(pc_buf_str(&j2), pc_buf_str(&j3));
        pc_buf_cleanup(&j2);
        pc_buf_cleanup(&j3);
        pc_buf_cleanup(&v2);
        pc_buf_cleanup(&v3);
        pc_outcome_cleanup(&o);
    }
}

/* {"v": 3, "outcome": "complete", key: <what f packs>}. */
static int decode_v3_with(const char *key, void (*f)(msgpack_packer *), struct pc_err *err)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct pc_outcome out;
    int rc;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    pk_str(&pk, "v");
    msgpack_pack_uint64(&pk, 3);
    pk_str(&pk, "outcome");
    pk_str(&pk, "complete");
    pk_str(&pk, key);
    f(&pk);
    rc = try_decode(sb.data, sb.size);
    if (rc == 0) {
        assert_int_equal(msg_report_decode(sb.data, sb.size, &out, err), 0);
        pc_outcome_cleanup(&out);
    } else {
        assert_int_equal(msg_report_decode(sb.data, sb.size, &out, err), rc);
    }
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static void h_times_before_zero(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 3);
    msgpack_pack_uint64(pk, 5);
    msgpack_pack_int64(pk, -6);
    msgpack_pack_nil(pk);
}

static void h_times_short(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 2);
    msgpack_pack_uint64(pk, 5);
    msgpack_pack_int64(pk, 1);
}

static void h_time_v2(msgpack_packer *pk)
{
    msgpack_pack_uint64(pk, 5);
}

/* A discover block: [name, start, duration, <cols?>, rows, <unset?>]. */
static void pk_block_head(msgpack_packer *pk, uint32_t len)
{
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, len);
    pk_str(pk, "discover");
    msgpack_pack_int64(pk, 0);
    msgpack_pack_uint64(pk, 1);
}

static void h_row_too_short(msgpack_packer *pk)
{
    pk_block_head(pk, 4);
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 2); /* [item, current]: goal missing */
    pk_str(pk, "a");
    msgpack_pack_nil(pk);
}

static void h_cols_repeated(msgpack_packer *pk)
{
    pk_block_head(pk, 5);
    msgpack_pack_array(pk, 2);
    pk_str(pk, "goal");
    pk_str(pk, "goal");
    msgpack_pack_array(pk, 0);
}

static void h_unset_not_a_value(msgpack_packer *pk)
{
    pk_block_head(pk, 6);
    msgpack_pack_array(pk, 2);
    pk_str(pk, "error");
    pk_str(pk, "goal");
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 3);
    pk_str(pk, "a");
    msgpack_pack_nil(pk);
    msgpack_pack_nil(pk);
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 2);
    msgpack_pack_uint64(pk, 0);
    msgpack_pack_uint64(pk, 0); /* column 0 is error */
}

static void h_unset_holds_value(msgpack_packer *pk)
{
    pk_block_head(pk, 6);
    msgpack_pack_array(pk, 1);
    pk_str(pk, "goal");
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 2);
    pk_str(pk, "a");
    msgpack_pack_uint64(pk, 1);
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 2);
    msgpack_pack_uint64(pk, 0);
    msgpack_pack_uint64(pk, 0);
}

static void h_truncated_but_given(msgpack_packer *pk)
{
    pk_block_head(pk, 5);
    msgpack_pack_array(pk, 2);
    pk_str(pk, "goal");
    pk_str(pk, "truncated");
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 3);
    pk_str(pk, "a");
    msgpack_pack_uint64(pk, 1);
    msgpack_pack_map(pk, 1);
    pk_str(pk, "goal");
    msgpack_pack_map(pk, 2);
    pk_str(pk, "size");
    msgpack_pack_uint64(pk, 9);
    pk_str(pk, "sha256");
    pk_str(pk, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
}

static void h_block_time_huge(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 3);
    pk_str(pk, "discover");
    msgpack_pack_int64(pk, INT64_MAX);
    msgpack_pack_uint64(pk, 1);
}

static void test_hostile_v3_reports_fail_cleanly(void **state)
{
    static const struct {
        const char *key;
        void (*f)(msgpack_packer *);
        const char *msg;
    } cases[] = {
        {"times", h_times_before_zero, "report: times[1]: out of range"},
        {"times", h_times_short, "report: times: 2 elements"},
        {"created_ms", h_time_v2, "not of version 3"},
        {"blocks", h_row_too_short, "2 elements for 2 columns"},
        {"blocks", h_cols_repeated, "unknown or repeated \"goal\""},
        {"blocks", h_unset_not_a_value, "no such value cell"},
        {"blocks", h_unset_holds_value, "the cell holds a value"},
        {"blocks", h_truncated_but_given, "goal truncated but given"},
        {"blocks", h_block_time_huge, "time out of range"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pc_err err;

        pc_err_clear(&err);
        assert_int_equal(decode_v3_with(cases[i].key, cases[i].f, &err), PC_ESCHEMA);
        if (strstr(err.msg, cases[i].msg) == NULL) {
            fail_msg("case %zu: %s", i, err.msg);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_item_error_report_round_trips),
        cmocka_unit_test(test_complete_block_error_and_rejected_reports_round_trip),
        cmocka_unit_test(test_complete_discover_report_is_compact),
        cmocka_unit_test(test_every_outcome_kind_round_trips),
        cmocka_unit_test(test_longest_error_text_passes),
        cmocka_unit_test(test_encode_refuses_inconsistent_outcomes),
        cmocka_unit_test(test_hand_built_reports_fail_cleanly),
        cmocka_unit_test(test_minimal_report_has_empty_lists),
        cmocka_unit_test(test_unknown_version_is_a_schema_error),
        cmocka_unit_test(test_malformed_reports_never_crash_or_leak),
        cmocka_unit_test(test_v2_report_round_trips_with_blocks_and_times),
        cmocka_unit_test(test_v1_reports_of_the_previous_release_still_read),
        cmocka_unit_test(test_malformed_v2_reports_never_crash_or_leak),
        cmocka_unit_test(test_v2_report_of_the_previous_release_still_reads),
        cmocka_unit_test(test_v3_keeps_every_detail),
        cmocka_unit_test(test_v3_discover_is_compact),
        cmocka_unit_test(test_hostile_v3_reports_fail_cleanly),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
