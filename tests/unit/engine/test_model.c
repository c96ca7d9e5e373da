/*
 * test_model.c - the small model pieces the engine stands on: the progress
 * state machine (semantics §6.3), the interrupt latch and strategies (§5.2),
 * command block sequences (§3.5), outcome renderings and exit statuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "peace/cmd.h"
#include "peace/interrupt.h"
#include "peace/outcome.h"
#include "peace/progress.h"
#include "peace/state.h"

static struct pc_progress_update upd(enum pc_progress_update_kind k)
{
    struct pc_progress_update u;

    memset(&u, 0, sizeof(u));
    u.kind = k;
    return u;
}

static void test_limit_sets_exec_pending_not_running(void **state)
{
    struct pc_progress_tracker t;
    struct pc_progress_update u = upd(PC_UPDATE_LIMIT);

    (void)state;
    pc_progress_tracker_init(&t);
    u.limit.kind = PC_LIMIT_STEPS;
    u.limit.n = 4;
    assert_true(pc_progress_apply(&t, &u));
    assert_int_equal(t.status, PC_PROGRESS_EXEC_PENDING);
    assert_int_equal(t.limit.n, 4);
    u = upd(PC_UPDATE_INC);
    u.inc = 3;
    assert_true(pc_progress_apply(&t, &u));
    assert_int_equal(t.status, PC_PROGRESS_RUNNING);
    assert_int_equal(t.done, 3);
}

static void test_interrupt_marks_only_waiting_items(void **state)
{
    static const enum pc_progress_status waiting[] = {
        PC_PROGRESS_INITIALIZED, PC_PROGRESS_EXEC_PENDING, PC_PROGRESS_USER_PENDING};
    static const enum pc_progress_status busy[] = {PC_PROGRESS_QUEUED, PC_PROGRESS_RUNNING,
                                                   PC_PROGRESS_SUCCESS, PC_PROGRESS_FAIL};
    struct pc_progress_tracker t;
    struct pc_progress_update u = upd(PC_UPDATE_INTERRUPT);

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        pc_progress_tracker_init(&t);
        t.status = waiting[i];
        assert_true(pc_progress_apply(&t, &u));
        assert_int_equal(t.status, PC_PROGRESS_INTERRUPTED);
    }
    for (size_t i = 0; i < 4; i++) {
        pc_progress_tracker_init(&t);
        t.status = busy[i];
        assert_false(pc_progress_apply(&t, &u));
        assert_int_equal(t.status, busy[i]);
    }
}

static void test_reset_to_pending_clears_limit_units_and_message(void **state)
{
    struct pc_progress_tracker t;
    struct pc_progress_update u = upd(PC_UPDATE_SUCCESS);

    (void)state;
    pc_progress_tracker_init(&t);
    u.msg_update = PC_MSG_SET;
    u.msg = "done!\nsecond line";
    u.msg_len = strlen(u.msg);
    t.done = 5;
    t.limit.kind = PC_LIMIT_BYTES;
    assert_true(pc_progress_apply(&t, &u));
    assert_string_equal(t.msg, "done! second line");
    u = upd(PC_UPDATE_RESET_TO_PENDING);
    assert_true(pc_progress_apply(&t, &u));
    assert_int_equal(t.status, PC_PROGRESS_EXEC_PENDING);
    assert_int_equal(t.done, 0);
    assert_int_equal(t.limit.kind, PC_LIMIT_UNKNOWN);
    assert_string_equal(t.msg, "");
    assert_false(pc_progress_apply(&t, &u));
}

static void test_status_and_limit_texts_round_trip(void **state)
{
    struct pc_limit l = {PC_LIMIT_BYTES, 1024};
    struct pc_limit back;
    char text[32];
    enum pc_progress_status s;

    (void)state;
    for (int i = PC_PROGRESS_INITIALIZED; i <= PC_PROGRESS_FAIL; i++) {
        const char *name = pc_progress_status_name((enum pc_progress_status)i);
        assert_int_equal(pc_progress_status_parse(name, strlen(name), &s), 0);
        assert_int_equal(s, i);
    }
    pc_limit_format(&l, text, sizeof(text));
    assert_string_equal(text, "bytes:1024");
    assert_int_equal(pc_limit_parse(text, strlen(text), &back), 0);
    assert_int_equal(back.kind, PC_LIMIT_BYTES);
    assert_int_equal(back.n, 1024);
    assert_int_equal(pc_limit_parse("unknown", 7, &back), 0);
    assert_int_equal(pc_limit_parse("steps:", 6, &back), PC_EINVAL);
    assert_int_equal(pc_limit_parse("steps:-1", 8, &back), PC_EINVAL);
    assert_int_equal(pc_limit_parse("steps:99999999999999999999999", 29, &back), PC_EINVAL);
}

static void test_finish_current_interrupts_from_first_observing_poll(void **state)
{
    struct pc_strategy s = {PC_STRATEGY_FINISH_CURRENT, 0};
    struct pc_latch l;
    bool first = false;

    (void)state;
    pc_latch_init(&l, &s);
    assert_false(pc_latch_poll(&l, &first));
    pc_latch_signal(&l);
    assert_true(pc_latch_poll(&l, &first));
    assert_true(first);
    assert_true(pc_latch_poll(&l, &first));
    assert_false(first);
}

static void test_poll_next_n_counts_polls_after_signal(void **state)
{
    struct pc_strategy s = {PC_STRATEGY_POLL_NEXT_N, 3};
    struct pc_latch l;
    bool first = false;

    (void)state;
    pc_latch_init(&l, &s);
    assert_false(pc_latch_poll(&l, &first)); /* before the signal: not counted */
    pc_latch_signal(&l);
    assert_false(pc_latch_poll(&l, &first));         /* observes the signal: not counted */
    assert_false(pc_latch_poll_waiting(&l, &first)); /* waiting: not counted */
    assert_false(pc_latch_poll(&l, &first));         /* 1 */
    assert_false(pc_latch_poll(&l, &first));         /* 2 */
    assert_true(pc_latch_poll(&l, &first));          /* 3 */
    assert_true(first);
    assert_true(pc_latch_poll(&l, &first));
    assert_false(first);
}

static void test_ignore_never_interrupts(void **state)
{
    struct pc_strategy s = {PC_STRATEGY_IGNORE, 0};
    struct pc_latch l;

    (void)state;
    pc_latch_init(&l, &s);
    pc_latch_signal(&l);
    for (int i = 0; i < 100; i++) {
        assert_false(pc_latch_poll(&l, NULL));
    }
}

static void test_strategy_parse_accepts_contract_forms_only(void **state)
{
    struct pc_strategy s;
    struct pc_err err;
    char text[40];
    static const char *const bad[] = {"",
                                      "finish",
                                      "poll_next_n",
                                      "poll_next_n:",
                                      "poll_next_n:x",
                                      "poll_next_n:-1",
                                      "poll_next_n:1x",
                                      "IGNORE",
                                      "poll_next_n:123456789012345678901234"};

    (void)state;
    assert_int_equal(pc_strategy_parse("poll_next_n:12", 14, &s, &err), 0);
    assert_int_equal(s.kind, PC_STRATEGY_POLL_NEXT_N);
    assert_int_equal(s.n, 12);
    pc_strategy_format(&s, text, sizeof(text));
    assert_string_equal(text, "poll_next_n:12");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(pc_strategy_parse(bad[i], strlen(bad[i]), &s, &err), PC_EINVAL);
        assert_non_null(strstr(err.msg, "interrupt strategy"));
    }
}

static void test_command_block_sequences_follow_the_contract(void **state)
{
    enum pc_block_kind b[PC_BLOCKS_MAX];

    (void)state;
    assert_int_equal(pc_cmd_blocks(PC_CMD_ENSURE, PC_SYNC_BOTH, b), 5);
    assert_int_equal(b[0], PC_BLOCK_READ_CURRENT);
    assert_int_equal(b[2], PC_BLOCK_DISCOVER);
    assert_int_equal(b[3], PC_BLOCK_SYNC_CHECK);
    assert_int_equal(b[4], PC_BLOCK_APPLY_ENSURE);
    assert_int_equal(pc_cmd_blocks(PC_CMD_ENSURE, PC_SYNC_NONE, b), 4);
    assert_int_equal(pc_cmd_blocks(PC_CMD_CLEAN, PC_SYNC_GOAL, b), 4);
    assert_int_equal(pc_cmd_blocks(PC_CMD_CLEAN, PC_SYNC_BOTH, b), 5);
    assert_int_equal(b[3], PC_BLOCK_SYNC_CHECK_CURRENT);
    assert_int_equal(b[4], PC_BLOCK_APPLY_CLEAN);
    assert_int_equal(pc_cmd_blocks(PC_CMD_DIFF, PC_SYNC_BOTH, b), 3);
    assert_int_equal(pc_cmd_blocks(PC_CMD_DISCOVER, PC_SYNC_BOTH, b), 1);
    assert_true(pc_cmd_needs_profile_lock(PC_CMD_ENSURE));
    assert_true(pc_cmd_needs_profile_lock(PC_CMD_DISCOVER));
    assert_false(pc_cmd_needs_profile_lock(PC_CMD_ENSURE_DRY));
    assert_false(pc_cmd_needs_profile_lock(PC_CMD_DIFF));
}

static void test_outcome_json_lists_what_the_kind_carries(void **state)
{
    struct pc_outcome o;
    struct pc_buf b;
    struct pc_id a = {"a"};
    struct pc_id c = {"c"};

    (void)state;
    pc_outcome_init(&o);
    pc_buf_init(&b, 4096);
    o.kind = PC_OUTCOME_ITEM_ERROR;
    o.n_blocks = pc_cmd_blocks(PC_CMD_DISCOVER, PC_SYNC_BOTH, o.blocks);
    o.items_processed = calloc(1, sizeof(struct pc_id));
    o.items_processed[0] = a;
    o.n_items_processed = 1;
    o.items_not_processed = calloc(1, sizeof(struct pc_id));
    o.items_not_processed[0] = c;
    o.n_items_not_processed = 1;
    assert_int_equal(pc_outcome_add_error(&o, &a, "boom \"quoted\""), 0);
    assert_int_equal(pc_outcome_format_json(&o, &b), 0);
    assert_string_equal(pc_buf_str(&b),
                        "{\"outcome\":\"item_error\",\"blocks_processed\":[],"
                        "\"blocks_not_processed\":[\"discover\"],\"items_processed\":[\"a\"],"
                        "\"items_not_processed\":[\"c\"],"
                        "\"errors\":[{\"item\":\"a\",\"error\":\"boom \\\"quoted\\\"\"}]}");
    assert_int_equal(pc_outcome_exit_status(PC_OUTCOME_ITEM_ERROR), 1);
    assert_int_equal(pc_outcome_exit_status(PC_OUTCOME_BLOCK_INTERRUPTED), 2);
    assert_int_equal(pc_outcome_exit_status(PC_OUTCOME_COMPLETE), 0);
    pc_buf_cleanup(&b);
    pc_outcome_cleanup(&o);
}

static void test_buffer_limit_leaves_content_intact(void **state)
{
    struct pc_buf b;

    (void)state;
    pc_buf_init(&b, 8);
    assert_int_equal(pc_buf_puts(&b, "12345"), 0);
    assert_int_equal(pc_buf_puts(&b, "6789"), PC_ELIMIT);
    assert_string_equal(pc_buf_str(&b), "12345");
    assert_int_equal(pc_buf_append_json_str(&b, "xyz", 3), PC_ELIMIT);
    assert_string_equal(pc_buf_str(&b), "12345");
    pc_buf_cleanup(&b);
}

static void test_json_strings_are_always_valid_utf8(void **state)
{
    struct pc_buf b;
    /* valid "é", "€", "😀"; then a lone continuation byte, an overlong "/",
     * a surrogate, a truncated sequence. */
    static const char in[] =
        "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\x80|\xc0\xaf|\xed\xa0\x80|\xe2\x82";

    (void)state;
    pc_buf_init(&b, 1024);
    assert_int_equal(pc_buf_append_json_str(&b, in, sizeof(in) - 1), 0);
    assert_string_equal(pc_buf_str(&b), "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\\ufffd|"
                                        "\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\"");
    pc_buf_cleanup(&b);
}

static void test_state_json_renders_msgpack(void **state)
{
    /* {"a": [1, -2, true, nil], "b": "x\n"} */
    static const uint8_t mp[] = {0x82, 0xa1, 'a', 0x94, 0x01, 0xfe, 0xc3,
                                 0xc0, 0xa1, 'b', 0xa2, 'x',  '\n'};
    struct pc_state s = {NULL, 0};
    struct pc_buf b;

    (void)state;
    pc_buf_init(&b, 1024);
    assert_int_equal(pc_state_set(&s, mp, sizeof(mp)), 0);
    assert_int_equal(pc_state_to_json(&s, &b), 0);
    assert_string_equal(pc_buf_str(&b), "{\"a\":[1,-2,true,null],\"b\":\"x\\n\"}");
    pc_buf_reset(&b);
    assert_int_equal(pc_state_set(&s, mp, 5), 0); /* truncated */
    assert_int_equal(pc_state_to_json(&s, &b), PC_ESCHEMA);

    /* {{"k": 5000 x "a"}: 1}: a map key whose JSON text is over 4 KiB is cut
     * (with "...") rather than making the whole state unrenderable. */
    {
        enum { LONG = 5000 };
        uint8_t big[3 + 2 + 3 + LONG + 1];
        struct pc_buf j;
        const char *t;

        big[0] = 0x81;
        big[1] = 0x81;
        big[2] = 0xa1;
        big[3] = 'k';
        big[4] = 0xda;
        big[5] = (uint8_t)(LONG >> 8);
        big[6] = (uint8_t)(LONG & 0xff);
        memset(big + 7, 'a', LONG);
        big[7 + LONG] = 0x01;
        pc_buf_init(&j, 1u << 20);
        assert_int_equal(pc_state_set(&s, big, 8 + LONG), 0);
        assert_int_equal(pc_state_to_json(&s, &j), 0);
        t = pc_buf_str(&j);
        /* {"{\"k\":\"aaa... : the key's own quotes are escaped. */
        assert_memory_equal(t, "{\"{\\\"k\\\":\\\"aaa", 14);
        assert_non_null(strstr(t, "a...\":1}"));
        assert_true(j.len < 4096 + 64);
        pc_buf_cleanup(&j);
    }
    assert_int_equal(pc_state_set_nil(&s), 0);
    assert_false(pc_state_present(&s));
    pc_state_clear(&s);
    pc_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_sets_exec_pending_not_running),
        cmocka_unit_test(test_interrupt_marks_only_waiting_items),
        cmocka_unit_test(test_reset_to_pending_clears_limit_units_and_message),
        cmocka_unit_test(test_status_and_limit_texts_round_trip),
        cmocka_unit_test(test_finish_current_interrupts_from_first_observing_poll),
        cmocka_unit_test(test_poll_next_n_counts_polls_after_signal),
        cmocka_unit_test(test_ignore_never_interrupts),
        cmocka_unit_test(test_strategy_parse_accepts_contract_forms_only),
        cmocka_unit_test(test_command_block_sequences_follow_the_contract),
        cmocka_unit_test(test_outcome_json_lists_what_the_kind_carries),
        cmocka_unit_test(test_buffer_limit_leaves_content_intact),
        cmocka_unit_test(test_state_json_renders_msgpack),
        cmocka_unit_test(test_json_strings_are_always_valid_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
