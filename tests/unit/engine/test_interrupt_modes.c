/*
 * test_interrupt_modes.c - interrupt modes: the channel payload parser
 * (every form, and hostile input: it is total, so nothing published can
 * break it), its formatter (round trip), the escalation state machine and
 * which strategies honour which mode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/interrupt.h"

static struct pc_interrupt_req parse(const char *s)
{
    struct pc_interrupt_req r;

    pc_interrupt_payload_parse(s, strlen(s), &r);
    return r;
}

static void assert_reason(const struct pc_interrupt_req *r, const char *want)
{
    assert_int_equal(r->reason_len, strlen(want));
    if (r->reason_len > 0) {
        assert_memory_equal(r->reason, want, r->reason_len);
    }
}

static void test_every_contract_form(void **state)
{
    struct pc_interrupt_req r;

    (void)state;
    r = parse("!cancel");
    assert_int_equal(r.mode, PC_MODE_CANCEL);
    assert_false(r.has_deadline);
    assert_reason(&r, "");
    r = parse("!kill");
    assert_int_equal(r.mode, PC_MODE_KILL);
    r = parse("!finish");
    assert_int_equal(r.mode, PC_MODE_FINISH);
    r = parse("!cancel 2500");
    assert_int_equal(r.mode, PC_MODE_CANCEL);
    assert_true(r.has_deadline);
    assert_int_equal(r.deadline_ms, 2500);
    assert_reason(&r, "");
    r = parse("!cancel 2500 operator asked");
    assert_int_equal(r.deadline_ms, 2500);
    assert_reason(&r, "operator asked");
    r = parse("!cancel operator asked");
    assert_false(r.has_deadline);
    assert_reason(&r, "operator asked");
    r = parse("!kill 0");
    assert_true(r.has_deadline);
    assert_int_equal(r.deadline_ms, 0);
    r = parse("!cancel\t100\tx");
    assert_int_equal(r.deadline_ms, 100);
    assert_reason(&r, "x");
}

/* Every payload that worked before modes stays a finish reason, whole. */
static void test_everything_else_is_a_finish_reason(void **state)
{
    static const char *const same[] = {
        "",
        "deploy window closed",
        "!",
        "!!cancel",
        "!CANCEL",
        "! cancel",
        "!cancelx",
        "!cancel-now",
        "!kil",
        "!killer 10",
        "cancel",
        " !cancel",
        "!finish_current",
        "!\xff\xfe",
        "!cancel\n",
        "!kill\r\n",
        "!cancel\x01",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        struct pc_interrupt_req r = parse(same[i]);

        assert_int_equal(r.mode, PC_MODE_FINISH);
        assert_false(r.has_deadline);
        assert_reason(&r, same[i]);
    }
}

static void test_hostile_deadlines(void **state)
{
    struct pc_interrupt_req r;

    (void)state;
    r = parse("!cancel 99999999999999999999999999999999 x");
    assert_true(r.has_deadline);
    assert_int_equal(r.deadline_ms, PC_INTERRUPT_DEADLINE_MAX_MS); /* clamped, no overflow */
    assert_reason(&r, "x");
    r = parse("!cancel -5");
    assert_false(r.has_deadline);
    assert_reason(&r, "-5");
    r = parse("!cancel +5");
    assert_false(r.has_deadline);
    r = parse("!cancel 12abc");
    assert_false(r.has_deadline);
    assert_reason(&r, "12abc");
    r = parse("!cancel 0x10");
    assert_false(r.has_deadline);
    r = parse("!cancel  5"); /* two spaces: the reason is " 5" */
    assert_false(r.has_deadline);
    assert_reason(&r, " 5");
    r = parse("!cancel ");
    assert_int_equal(r.mode, PC_MODE_CANCEL);
    assert_reason(&r, "");
}

static void test_embedded_nul_and_null_input(void **state)
{
    static const char nul[] = {'!', 'k', 'i', 'l', 'l', ' ', 'a', '\0', 'b'};
    static const char nul_mode[] = {'!', 'k', 'i', 'l', 'l', '\0', 'x'};
    struct pc_interrupt_req r;

    (void)state;
    pc_interrupt_payload_parse(nul, sizeof(nul), &r);
    assert_int_equal(r.mode, PC_MODE_KILL);
    assert_int_equal(r.reason_len, 3); /* bytes as they are; consumers bound and clean them */
    pc_interrupt_payload_parse(nul_mode, sizeof(nul_mode), &r);
    assert_int_equal(r.mode, PC_MODE_FINISH);
    assert_int_equal(r.reason_len, sizeof(nul_mode));
    pc_interrupt_payload_parse(NULL, 0, &r);
    assert_int_equal(r.mode, PC_MODE_FINISH);
    assert_int_equal(r.reason_len, 0);
}

/* Every byte string of length <= 3 over a small alphabet parses without
 * reading outside it (run under ASan in CI), and the reason lies inside. */
static void test_exhaustive_short_inputs(void **state)
{
    static const char alpha[] = {'!', 'k', 'c', '0', '9', ' ', '\t', '\0', 'x'};
    const size_t na = sizeof(alpha);
    char buf[4];

    (void)state;
    for (size_t len = 0; len <= 3; len++) {
        size_t total = 1;

        for (size_t k = 0; k < len; k++) {
            total *= na;
        }
        for (size_t code = 0; code < total; code++) {
            struct pc_interrupt_req r;
            size_t c = code;
            char *heap = NULL;

            for (size_t k = 0; k < len; k++) {
                buf[k] = alpha[c % na];
                c /= na;
            }
            heap = malloc(len + 1);
            assert_non_null(heap);
            memcpy(heap, buf, len);
            pc_interrupt_payload_parse(len > 0 ? heap : NULL, len, &r);
            if (r.reason_len > 0) {
                assert_true(r.reason >= heap && r.reason + r.reason_len <= heap + len);
            }
            free(heap);
        }
    }
}

static void test_format_round_trips(void **state)
{
    static const struct {
        enum pc_interrupt_mode mode;
        bool has_deadline;
        uint64_t deadline;
        const char *reason;
        const char *want;
    } cases[] = {
        {PC_MODE_FINISH, false, 0, "maintenance", "maintenance"},
        {PC_MODE_FINISH, false, 0, "", "!finish"},
        {PC_MODE_FINISH, false, 0, "!bang", "!finish !bang"},
        {PC_MODE_CANCEL, false, 0, "", "!cancel"},
        {PC_MODE_CANCEL, true, 2000, "", "!cancel 2000"},
        {PC_MODE_CANCEL, true, 2000, "stop it", "!cancel 2000 stop it"},
        {PC_MODE_CANCEL, false, 0, "stop it", "!cancel stop it"},
        {PC_MODE_KILL, false, 0, "42", "!kill 10000 42"},
    };
    char out[128];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pc_interrupt_req r = {.mode = cases[i].mode,
                                     .has_deadline = cases[i].has_deadline,
                                     .deadline_ms = cases[i].deadline,
                                     .reason = cases[i].reason,
                                     .reason_len = strlen(cases[i].reason)};
        struct pc_interrupt_req back;

        pc_interrupt_payload_format(&r, out, sizeof(out));
        assert_string_equal(out, cases[i].want);
        back = parse(out);
        assert_int_equal(back.mode, r.mode);
        assert_reason(&back, cases[i].reason);
        if (r.has_deadline) {
            assert_int_equal(back.deadline_ms, r.deadline_ms);
        }
    }
}

static void test_mode_names_parse(void **state)
{
    enum pc_interrupt_mode m;

    (void)state;
    assert_int_equal(pc_interrupt_mode_parse("cancel", 6, &m, NULL), 0);
    assert_int_equal(m, PC_MODE_CANCEL);
    assert_int_equal(pc_interrupt_mode_parse("kill", 4, &m, NULL), 0);
    assert_int_equal(pc_interrupt_mode_parse("Kill", 4, &m, NULL), PC_EINVAL);
    assert_int_equal(pc_interrupt_mode_parse("", 0, &m, NULL), PC_EINVAL);
    assert_int_equal(pc_interrupt_mode_parse(NULL, 0, &m, NULL), PC_EINVAL);
    assert_string_equal(pc_interrupt_mode_name(PC_MODE_FINISH), "finish");
    assert_string_equal(pc_interrupt_mode_name((enum pc_interrupt_mode)99), "finish");
}

static void test_escalation_by_requests(void **state)
{
    struct pc_escalation s;
    struct pc_interrupt_req r = {.mode = PC_MODE_FINISH};

    (void)state;
    pc_escalation_init(&s);
    assert_true(pc_escalation_request(&s, &r, 1000));
    assert_int_equal(s.mode, PC_MODE_FINISH);
    assert_int_equal(s.latched_ms, 1000);
    assert_int_equal(s.escalations, 0);
    assert_false(pc_escalation_due(&s, UINT64_MAX));  /* finish never escalates by time */
    assert_true(pc_escalation_request(&s, &r, 2000)); /* a second request: one step */
    assert_int_equal(s.mode, PC_MODE_CANCEL);
    assert_int_equal(s.kill_at_ms, 2000 + PC_INTERRUPT_DEADLINE_DEFAULT_MS);
    assert_true(pc_escalation_request(&s, &r, 3000));
    assert_int_equal(s.mode, PC_MODE_KILL);
    assert_int_equal(s.escalations, 2);
    assert_false(pc_escalation_request(&s, &r, 4000)); /* kill is the top */
    assert_int_equal(s.requests, 4);
    assert_int_equal(s.latched_ms, 1000);
}

static void test_escalation_jumps_to_a_higher_request(void **state)
{
    struct pc_escalation s;
    struct pc_interrupt_req fin = {.mode = PC_MODE_FINISH};
    struct pc_interrupt_req kill = {.mode = PC_MODE_KILL};

    (void)state;
    pc_escalation_init(&s);
    (void)pc_escalation_request(&s, &fin, 10);
    assert_true(pc_escalation_request(&s, &kill, 20));
    assert_int_equal(s.mode, PC_MODE_KILL);
    assert_int_equal(s.escalations, 1);
}

static void test_escalation_by_deadline(void **state)
{
    struct pc_escalation s;
    struct pc_interrupt_req r = {.mode = PC_MODE_CANCEL, .has_deadline = true, .deadline_ms = 250};

    (void)state;
    pc_escalation_init(&s);
    (void)pc_escalation_request(&s, &r, 1000);
    assert_false(pc_escalation_due(&s, 1249));
    assert_true(pc_escalation_due(&s, 1250));
    pc_escalation_deadline(&s);
    assert_int_equal(s.mode, PC_MODE_KILL);
    assert_int_equal(s.escalations, 1);
    assert_false(pc_escalation_due(&s, 99999));
    /* A huge deadline near the clock's end does not wrap. */
    pc_escalation_init(&s);
    r.deadline_ms = UINT64_MAX;
    (void)pc_escalation_request(&s, &r, UINT64_MAX - 5);
    assert_int_equal(s.kill_at_ms, UINT64_MAX);
}

static void test_marker_raises_without_counting(void **state)
{
    struct pc_escalation s;
    struct pc_interrupt_req r = {.mode = PC_MODE_FINISH};

    (void)state;
    pc_escalation_init(&s);
    assert_true(pc_escalation_at_least(&s, PC_MODE_CANCEL, true, 500, 100));
    assert_int_equal(s.mode, PC_MODE_CANCEL);
    assert_int_equal(s.kill_at_ms, 600);
    assert_false(pc_escalation_at_least(&s, PC_MODE_CANCEL, false, 0, 200)); /* re-read */
    assert_false(pc_escalation_at_least(&s, PC_MODE_FINISH, false, 0, 300));
    assert_int_equal(s.requests, 1);
    assert_int_equal(s.escalations, 0);
    (void)pc_escalation_request(&s, &r, 400); /* a real second request escalates */
    assert_int_equal(s.mode, PC_MODE_KILL);
}

static void test_strategies_honour(void **state)
{
    struct pc_strategy fc = {.kind = PC_STRATEGY_FINISH_CURRENT};
    struct pc_strategy ig = {.kind = PC_STRATEGY_IGNORE};
    struct pc_strategy pn = {.kind = PC_STRATEGY_POLL_NEXT_N, .n = 3};

    (void)state;
    assert_true(pc_interrupt_honoured(&fc, PC_MODE_CANCEL));
    assert_true(pc_interrupt_honoured(&pn, PC_MODE_CANCEL));
    assert_false(pc_interrupt_honoured(&ig, PC_MODE_FINISH));
    assert_false(pc_interrupt_honoured(&ig, PC_MODE_CANCEL));
    assert_true(pc_interrupt_honoured(&ig, PC_MODE_KILL));
}

static void test_forced_latch_stops_ignore_and_poll_next_n(void **state)
{
    struct pc_strategy ig = {.kind = PC_STRATEGY_IGNORE};
    struct pc_strategy pn = {.kind = PC_STRATEGY_POLL_NEXT_N, .n = 100};
    struct pc_latch l;
    bool first = false;

    (void)state;
    pc_latch_init(&l, &ig);
    pc_latch_signal(&l);
    assert_false(pc_latch_poll(&l, &first));
    pc_latch_force(&l);
    assert_true(pc_latch_poll(&l, &first));
    assert_true(first);
    pc_latch_init(&l, &pn);
    pc_latch_force(&l);
    assert_true(pc_latch_poll(&l, &first));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_contract_form),
        cmocka_unit_test(test_everything_else_is_a_finish_reason),
        cmocka_unit_test(test_hostile_deadlines),
        cmocka_unit_test(test_embedded_nul_and_null_input),
        cmocka_unit_test(test_exhaustive_short_inputs),
        cmocka_unit_test(test_format_round_trips),
        cmocka_unit_test(test_mode_names_parse),
        cmocka_unit_test(test_escalation_by_requests),
        cmocka_unit_test(test_escalation_jumps_to_a_higher_request),
        cmocka_unit_test(test_escalation_by_deadline),
        cmocka_unit_test(test_marker_raises_without_counting),
        cmocka_unit_test(test_strategies_honour),
        cmocka_unit_test(test_forced_latch_stops_ignore_and_poll_next_n),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
