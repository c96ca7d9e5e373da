/*
 * test_sched_submit.c - request bodies: a good submission becomes the job a
 * worker decodes (same flow, command, strategy, sync, queue, id), and every
 * kind of bad body is refused with its stable code and nothing built; a
 * fuzz pass (garbage, truncations, byte flips) never crashes or leaks.
 * Interrupt bodies: empty, a reason (cut on a UTF-8 boundary), refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/items.h"
#include "peace/msg.h"
#include "sched_submit.h"

#define ID "01HZX3J8K2Q4M5N6P7R8S9T0VW"

#define FLOW                                                                                       \
    "{\"app\":\"demo\",\"profile\":\"local\",\"flow\":\"sleepers\",\"items\":["                    \
    "{\"id\":\"one\",\"type\":\"sleep\",\"params\":{\"steps\":2,\"step_ms\":10,"                   \
    "\"marker\":\"m/one\"}},"                                                                      \
    "{\"id\":\"two\",\"type\":\"sleep\",\"deps\":[\"one\"],\"params\":{\"steps\":2,"               \
    "\"step_ms\":10,\"marker\":\"m/two\"}}]}"

static int setup(void **state)
{
    struct pc_registry *reg = NULL;

    if (pc_registry_create(&reg, NULL) != 0 || pc_items_register_builtin(reg, NULL) != 0) {
        pc_registry_destroy(reg);
        return -1;
    }
    *state = reg;
    return 0;
}

static int teardown(void **state)
{
    pc_registry_destroy(*state);
    return 0;
}

/* Parses body; returns the code of the failure, or -1 on success. */
static int submit_code(void **state, const char *body, struct sched_fail *fail)
{
    struct sched_submission s;
    int rc;

    memset(&s, 0x5a, sizeof(s));
    rc = sched_submit_parse(body, strlen(body), *state, "default", ID, 1700000000000ull, &s, fail);
    if (rc == 0) {
        sched_submission_cleanup(&s);
        return -1;
    }
    return (int)fail->code;
}

static void a_good_submission_becomes_the_job_a_worker_decodes(void **state)
{
    static const char body[] =
        "{\"cmd\":\"ensure_dry\",\"flow\":" FLOW ",\"interrupt_strategy\":\"poll_next_n:3\","
        "\"apply_stored_state_sync\":\"current\",\"queue\":\"fast_lane\"}";
    struct sched_submission s;
    struct sched_fail fail;
    struct msg_job job;

    assert_int_equal(sched_submit_parse(body, sizeof(body) - 1, *state, "default", ID,
                                        1700000000000ull, &s, &fail),
                     0);
    assert_string_equal(s.job.id, ID);
    assert_int_equal(s.job.cmd, PC_CMD_ENSURE_DRY);
    assert_int_equal(s.job.strategy.kind, PC_STRATEGY_POLL_NEXT_N);
    assert_int_equal(s.job.strategy.n, 3);
    assert_int_equal(s.job.sync, PC_SYNC_CURRENT);
    assert_string_equal(s.job.queue.s, "fast_lane");
    assert_int_equal(s.job.created_ms, 1700000000000ull);
    {
        enum pc_block_kind blocks[PC_BLOCKS_MAX];

        assert_int_equal(s.blocks_total, pc_cmd_blocks(PC_CMD_ENSURE_DRY, PC_SYNC_CURRENT, blocks));
    }
    /* The bytes queued are a job the worker's decoder accepts, unchanged. */
    assert_int_equal(msg_job_decode(s.job_bytes.data, s.job_bytes.len, &job, NULL), 0);
    assert_string_equal(job.id, ID);
    assert_int_equal(job.cmd, PC_CMD_ENSURE_DRY);
    assert_string_equal(job.flow.app.s, "demo");
    assert_string_equal(job.flow.profile.s, "local");
    assert_string_equal(job.flow.flow.s, "sleepers");
    assert_int_equal(job.flow.n_items, 2);
    assert_string_equal(job.flow.items[1].id.s, "two");
    assert_int_equal(job.flow.items[1].n_deps, 1);
    assert_int_equal(job.flow.items[1].deps[0], 0);
    assert_string_equal(job.queue.s, "fast_lane");
    msg_job_cleanup(&job);
    sched_submission_cleanup(&s);
}

static void defaults_apply_when_options_are_absent(void **state)
{
    static const char body[] = "{\"flow\":" FLOW ",\"cmd\":\"ensure\"}";
    struct sched_submission s;
    struct sched_fail fail;

    assert_int_equal(
        sched_submit_parse(body, sizeof(body) - 1, *state, "q_default", ID, 1, &s, &fail), 0);
    assert_int_equal(s.job.strategy.kind, PC_STRATEGY_FINISH_CURRENT);
    assert_int_equal(s.job.sync, PC_SYNC_BOTH);
    assert_string_equal(s.job.queue.s, "q_default");
    sched_submission_cleanup(&s);
    sched_submission_cleanup(NULL);
}

static void each_bad_body_has_its_code(void **state)
{
    static const struct {
        const char *body;
        enum sched_code code;
        const char *says;
    } cases[] = {
        {"", SCHED_INVALID_JSON, "not JSON"},
        {"{", SCHED_INVALID_JSON, "line 1"},
        {"{\"cmd\":\"ensure\",\"cmd\":\"clean\"}", SCHED_INVALID_JSON, "duplicate"},
        {"{\"cmd\":\"a\\u0000b\"}", SCHED_INVALID_JSON, ""},
        {"\"just a string\"", SCHED_BAD_REQUEST, "object"},
        {"[1,2]", SCHED_BAD_REQUEST, "object"},
        {"{\"flow\":" FLOW "}", SCHED_BAD_REQUEST, "cmd"},
        {"{\"cmd\":7,\"flow\":" FLOW "}", SCHED_BAD_REQUEST, "cmd"},
        {"{\"cmd\":\"ensure_all\",\"flow\":" FLOW "}", SCHED_BAD_REQUEST, "cmd"},
        {"{\"cmd\":\"ensure\",\"flow\":" FLOW ",\"strategy\":\"ignore\"}", SCHED_BAD_REQUEST,
         "strategy"},
        {"{\"cmd\":\"ensure\",\"flow\":" FLOW ",\"interrupt_strategy\":\"poll_next_n:x\"}",
         SCHED_BAD_REQUEST, "interrupt_strategy"},
        {"{\"cmd\":\"ensure\",\"flow\":" FLOW ",\"interrupt_strategy\":1}", SCHED_BAD_REQUEST,
         "string"},
        {"{\"cmd\":\"ensure\",\"flow\":" FLOW ",\"apply_stored_state_sync\":\"all\"}",
         SCHED_BAD_REQUEST, "apply_stored_state_sync"},
        {"{\"cmd\":\"ensure\",\"flow\":" FLOW ",\"queue\":\"no spaces\"}", SCHED_BAD_REQUEST,
         "queue"},
        {"{\"cmd\":\"ensure\",\"flow\":" FLOW ",\"queue\":null}", SCHED_BAD_REQUEST, "queue"},
        {"{\"cmd\":\"ensure\"}", SCHED_BAD_REQUEST, "flow"},
        {"{\"cmd\":\"ensure\",\"flow\":[]}", SCHED_BAD_REQUEST, "flow"},
        {"{\"cmd\":\"ensure\",\"flow\":{}}", SCHED_INVALID_FLOW, ""},
        {"{\"cmd\":\"ensure\",\"flow\":{\"app\":\"a\",\"profile\":\"p\",\"flow\":\"f\","
         "\"items\":[{\"id\":\"x\",\"type\":\"sleep\",\"deps\":[\"y\"],\"params\":{}}]}}",
         SCHED_INVALID_FLOW, "y"},
        {"{\"cmd\":\"ensure\",\"flow\":{\"app\":\"a\",\"profile\":\"p\",\"flow\":\"f\","
         "\"items\":[{\"id\":\"x\",\"type\":\"sleep\",\"params\":{}},"
         "{\"id\":\"x\",\"type\":\"sleep\",\"params\":{}}]}}",
         SCHED_INVALID_FLOW, "x"},
        {"{\"cmd\":\"ensure\",\"flow\":{\"app\":\"a\",\"profile\":\"p\",\"flow\":\"f\","
         "\"items\":[{\"id\":\"x\",\"type\":\"sleep\",\"deps\":[\"z\"],\"params\":{}},"
         "{\"id\":\"z\",\"type\":\"sleep\",\"deps\":[\"x\"],\"params\":{}}]}}",
         SCHED_INVALID_FLOW, "cycle"},
        {"{\"cmd\":\"ensure\",\"flow\":{\"app\":\"a\",\"profile\":\"p\",\"flow\":\"f\","
         "\"items\":[{\"id\":\"x\",\"type\":\"teleport\",\"params\":{}}]}}",
         SCHED_UNKNOWN_ITEM_TYPE, "teleport"},
        {"{\"cmd\":\"ensure\",\"flow\":{\"app\":\"a\",\"profile\":\"p\",\"flow\":\"f\","
         "\"items\":[{\"id\":\"x\",\"type\":\"sleep\",\"params\":{\"steps\":0,\"step_ms\":1,"
         "\"marker\":\"m\"}}]}}",
         SCHED_INVALID_FLOW, "item x"},
        {"{\"cmd\":\"ensure\",\"flow\":{\"app\":\"a\",\"profile\":\"p\",\"flow\":\"f\","
         "\"items\":[{\"id\":\"x\",\"type\":\"file\",\"params\":{\"path\":\"p\"}}]}}",
         SCHED_INVALID_FLOW, "item x"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sched_fail fail;
        int code;

        memset(&fail, 0, sizeof(fail));
        code = submit_code(state, cases[i].body, &fail);
        if (code != (int)cases[i].code || strstr(fail.msg, cases[i].says) == NULL) {
            fail_msg("case %zu: code %d (want %d), message \"%s\" (want \"%s\")", i, code,
                     (int)cases[i].code, fail.msg, cases[i].says);
        }
    }
}

static void random_and_mangled_bodies_never_crash(void **state)
{
    static const char good[] =
        "{\"cmd\":\"ensure\",\"flow\":" FLOW ",\"interrupt_strategy\":\"ignore\"}";
    char body[sizeof(good) + 16];
    uint32_t x = 0x9e3779b9u;
    size_t accepted = 0;

    /* Every prefix of a good body, then bodies with a few bytes changed. */
    for (size_t n = 0; n <= sizeof(good) - 1; n++) {
        struct sched_submission s;
        struct sched_fail fail;

        memcpy(body, good, n);
        if (sched_submit_parse(body, n, *state, "default", ID, 1, &s, &fail) == 0) {
            sched_submission_cleanup(&s);
            accepted++;
        } else {
            assert_true(fail.code == SCHED_INVALID_JSON || fail.code == SCHED_BAD_REQUEST);
        }
    }
    assert_int_equal(accepted, 1); /* only the whole body */
    for (int round = 0; round < 3000; round++) {
        struct sched_submission s;
        struct sched_fail fail;
        size_t n = sizeof(good) - 1;

        memcpy(body, good, n);
        for (int k = 0; k < 1 + round % 4; k++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            body[x % n] = (char)(x >> 8);
        }
        if (sched_submit_parse(body, n, *state, "default", ID, 1, &s, &fail) == 0) {
            sched_submission_cleanup(&s);
        } else {
            assert_true(fail.code <= SCHED_INTERNAL);
            assert_true(fail.code != SCHED_INTERNAL);
            assert_non_null(memchr(fail.msg, '\0', sizeof(fail.msg)));
        }
    }
}

static void a_deep_or_huge_body_is_refused_cleanly(void **state)
{
    enum { DEPTH = 5000 };
    char *deep = malloc(2 * DEPTH + 64);
    size_t n = 0;
    struct sched_fail fail;

    assert_non_null(deep);
    n += (size_t)snprintf(deep, 64, "{\"cmd\":\"ensure\",\"flow\":");
    for (int i = 0; i < DEPTH; i++) {
        deep[n++] = '[';
    }
    for (int i = 0; i < DEPTH; i++) {
        deep[n++] = ']';
    }
    deep[n++] = '}';
    deep[n] = '\0';
    assert_int_not_equal(submit_code(state, deep, &fail), -1);
    free(deep);
}

static void interrupt_bodies_are_empty_or_a_reason(void **state)
{
    char reason[8];
    struct sched_fail fail;

    (void)state;
    memset(reason, 'x', sizeof(reason));
    assert_int_equal(sched_interrupt_parse("", 0, reason, sizeof(reason), &fail), 0);
    assert_string_equal(reason, "");
    assert_int_equal(sched_interrupt_parse(" \r\n\t", 4, reason, sizeof(reason), &fail), 0);
    assert_string_equal(reason, "");
    assert_int_equal(sched_interrupt_parse("{}", 2, reason, sizeof(reason), &fail), 0);
    assert_string_equal(reason, "");
    assert_int_equal(
        sched_interrupt_parse("{\"reason\":\"stop\"}", 17, reason, sizeof(reason), &fail), 0);
    assert_string_equal(reason, "stop");
    /* Cut to 7 bytes, never inside a character: "ab" + é é é is 8 bytes. */
    {
        static const char body[] = "{\"reason\":\"ab\xC3\xA9\xC3\xA9\xC3\xA9\"}";

        assert_int_equal(
            sched_interrupt_parse(body, sizeof(body) - 1, reason, sizeof(reason), &fail), 0);
    }
    assert_string_equal(reason, "ab\xC3\xA9\xC3\xA9");
    assert_int_equal(sched_interrupt_parse("{\"reason\":1}", 12, reason, sizeof(reason), &fail),
                     PC_EINVAL);
    assert_int_equal(fail.code, SCHED_BAD_REQUEST);
    assert_int_equal(sched_interrupt_parse("{\"why\":\"x\"}", 11, reason, sizeof(reason), &fail),
                     PC_EINVAL);
    assert_int_equal(fail.code, SCHED_BAD_REQUEST);
    assert_int_equal(sched_interrupt_parse("[]", 2, reason, sizeof(reason), &fail), PC_EINVAL);
    assert_int_equal(fail.code, SCHED_BAD_REQUEST);
    assert_int_equal(sched_interrupt_parse("{\"reason\":", 10, reason, sizeof(reason), &fail),
                     PC_EINVAL);
    assert_int_equal(fail.code, SCHED_INVALID_JSON);
    assert_int_equal(sched_interrupt_parse("\x01\xff", 2, reason, sizeof(reason), &fail),
                     PC_EINVAL);
    assert_int_equal(fail.code, SCHED_INVALID_JSON);
}

static void interrupt_bodies_carry_a_mode_and_a_deadline(void **state)
{
    static const char *const bad[] = {
        "{\"mode\":\"stop\"}",
        "{\"mode\":\"CANCEL\"}",
        "{\"mode\":1}",
        "{\"mode\":null}",
        "{\"deadline_ms\":-1}",
        "{\"deadline_ms\":1.5}",
        "{\"deadline_ms\":\"10\"}",
        "{\"deadline_ms\":86400001}",
        "{\"deadline_ms\":1e30}",
        "{\"mode\":\"cancel\",\"x\":1}",
        "{\"deadline_ms\":99999999999999999999999}",
    };
    struct pc_interrupt_req req;
    struct sched_fail fail;
    char reason[64];
    const char *good = "{\"reason\":\"r\",\"mode\":\"cancel\",\"deadline_ms\":2500}";

    (void)state;
    assert_int_equal(
        sched_interrupt_parse_mode(good, strlen(good), reason, sizeof(reason), &req, &fail), 0);
    assert_string_equal(reason, "r");
    assert_int_equal(req.mode, PC_MODE_CANCEL);
    assert_true(req.has_deadline);
    assert_int_equal(req.deadline_ms, 2500);
    assert_int_equal(
        sched_interrupt_parse_mode("{\"mode\":\"kill\"}", 15, reason, sizeof(reason), &req, &fail),
        0);
    assert_int_equal(req.mode, PC_MODE_KILL);
    assert_false(req.has_deadline);
    assert_int_equal(sched_interrupt_parse_mode("", 0, reason, sizeof(reason), &req, &fail), 0);
    assert_int_equal(req.mode, PC_MODE_FINISH);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(
            sched_interrupt_parse_mode(bad[i], strlen(bad[i]), reason, sizeof(reason), &req, &fail),
            PC_EINVAL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_good_submission_becomes_the_job_a_worker_decodes),
        cmocka_unit_test(defaults_apply_when_options_are_absent),
        cmocka_unit_test(each_bad_body_has_its_code),
        cmocka_unit_test(random_and_mangled_bodies_never_crash),
        cmocka_unit_test(a_deep_or_huge_body_is_refused_cleanly),
        cmocka_unit_test(interrupt_bodies_are_empty_or_a_reason),
        cmocka_unit_test(interrupt_bodies_carry_a_mode_and_a_deadline),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
