/*
 * test_sched_json.c - the JSON documents of the API: string escaping and
 * UTF-8 repair, error bodies, executions (numbers vs strings, field order),
 * items in flow order with defaults, reports (full, fallback, none), stored
 * states, and the Server-Sent Event framing. Every document produced is
 * parsed back with jansson, so "valid JSON" is checked, not assumed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "peace/msg.h"
#include "peace/outcome.h"
#include "sched_json.h"

#define S(lit)                                                                                     \
    {                                                                                              \
        lit, sizeof(lit) - 1                                                                       \
    }

/* Parses b as JSON (the test fails otherwise); owned result. */
static json_t *parse(const struct pc_buf *b)
{
    json_error_t e;
    json_t *j = json_loadb(pc_buf_str(b), b->len,
                           JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY, &e);

    if (j == NULL) {
        fail_msg("not JSON (%s): %s", e.text, pc_buf_str(b));
    }
    return j;
}

static void strings_are_escaped_and_invalid_utf8_is_replaced(void **state)
{
    static const char in[] = "a\"b\\c\n\r\t\x01\x7f"
                             "\xC3\xA9"         /* é: valid */
                             "\xFF"             /* never valid */
                             "\xC3"             /* truncated sequence */
                             "x\xE0\x80\x80"    /* overlong */
                             "\xED\xA0\x80"     /* surrogate */
                             "\xF0\x9F\x98\x80" /* emoji: valid */
                             "\xF4\x90\x80\x80" /* above U+10FFFF */
                             "\0z";
    struct pc_buf b;
    json_t *j;

    (void)state;
    pc_buf_init(&b, 1024);
    assert_int_equal(pc_buf_append_json_str(&b, in, sizeof(in) - 1), 0);
    j = parse(&b);
    assert_true(json_is_string(j));
    assert_memory_equal(json_string_value(j), "a\"b\\c\n\r\t\x01\x7f\xC3\xA9", 12);
    assert_non_null(strstr(pc_buf_str(&b), "\\u0001"));
    assert_non_null(strstr(pc_buf_str(&b), "\\u007f"));
    assert_non_null(strstr(json_string_value(j), "\xEF\xBF\xBD\xEF\xBF\xBDx"));
    assert_non_null(strstr(json_string_value(j), "\xF0\x9F\x98\x80"));
    assert_int_equal(json_string_length(j) > 0, 1);
    /* The NUL byte is escaped, not a terminator. */
    assert_non_null(strstr(pc_buf_str(&b), "\\u0000z\""));
    json_decref(j);
    pc_buf_cleanup(&b);
}

static void a_string_that_does_not_fit_leaves_nothing_behind(void **state)
{
    struct pc_buf b;

    (void)state;
    pc_buf_init(&b, 8);
    assert_int_equal(pc_buf_puts(&b, "ab"), 0);
    assert_int_equal(pc_buf_append_json_str(&b, "0123456789", 10), PC_ELIMIT);
    assert_string_equal(pc_buf_str(&b), "ab");
    pc_buf_cleanup(&b);
}

static void an_error_body_has_the_message_and_the_code(void **state)
{
    struct pc_buf b;
    json_t *j;

    (void)state;
    pc_buf_init(&b, 1024);
    assert_int_equal(sched_json_error(&b, SCHED_EXECUTION_NOT_FOUND, "execution \"X\" not found"),
                     0);
    j = parse(&b);
    assert_string_equal(json_string_value(json_object_get(j, "error")),
                        "execution \"X\" not found");
    assert_string_equal(json_string_value(json_object_get(j, "code")), "execution_not_found");
    assert_int_equal(json_object_size(j), 2);
    json_decref(j);
    pc_buf_cleanup(&b);
}

static void an_execution_shows_contract_fields_with_counters_as_numbers(void **state)
{
    static const struct sched_str kv[] = {
        S("status"),      S("running"),
        S("id"),          S("01J"),
        S("lease_epoch"), S("3"),
        S("created_ms"),  S("1700000000000"),
        S("attempt"),     S("2"),
        S("items_done"),  S("x7"),
        S("block_index"), S("007"),
        S("report"),      S("\x81\xa1v\x01"),
        S("worker"),      S("host:1:ab"),
        S("items"),       S("a,b"),
        S("finished_ms"), S("99999999999999999999"),
    };
    struct sched_meta m;
    struct pc_buf b;
    json_t *j;

    (void)state;
    sched_meta_from_kv(kv, sizeof(kv) / sizeof(kv[0]), &m);
    pc_buf_init(&b, 4096);
    assert_int_equal(sched_json_execution(&b, &m), 0);
    j = parse(&b);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "01J");
    assert_string_equal(json_string_value(json_object_get(j, "status")), "running");
    assert_true(json_is_integer(json_object_get(j, "created_ms")));
    assert_int_equal(json_integer_value(json_object_get(j, "created_ms")), 1700000000000LL);
    assert_int_equal(json_integer_value(json_object_get(j, "attempt")), 2);
    /* Not numbers: they stay strings rather than becoming bad JSON. */
    assert_string_equal(json_string_value(json_object_get(j, "items_done")), "x7");
    assert_string_equal(json_string_value(json_object_get(j, "block_index")), "007");
    assert_string_equal(json_string_value(json_object_get(j, "finished_ms")),
                        "99999999999999999999");
    /* Private fields, the report and the items list are not shown. */
    assert_null(json_object_get(j, "lease_epoch"));
    assert_null(json_object_get(j, "report"));
    assert_null(json_object_get(j, "items"));
    assert_null(json_object_get(j, "outcome"));
    /* Documented order: id before status before created_ms. */
    assert_true(strstr(pc_buf_str(&b), "\"id\"") < strstr(pc_buf_str(&b), "\"status\""));
    assert_true(strstr(pc_buf_str(&b), "\"status\"") < strstr(pc_buf_str(&b), "\"created_ms\""));
    json_decref(j);
    pc_buf_cleanup(&b);
}

static void items_follow_flow_order_with_fresh_tracker_defaults(void **state)
{
    static const struct sched_str csv = S("c,a,bad-id,,b");
    static const struct sched_str prog[] = {
        S("a.status"),  S("running"), S("b.done"),   S("12"),      S("a.done"),
        S("5"),         S("a.limit"), S("steps:10"), S("a.msg"),   S("half"),
        S("zz.status"), S("success"), S("a.other"),  S("ignored"), S("b.done"),
        S("13"),        S("nodot"),   S("x"),        S("c.done"),  S("-1"),
    };
    struct pc_buf b;
    json_t *j;
    json_t *e;

    (void)state;
    pc_buf_init(&b, 4096);
    assert_int_equal(sched_json_items(&b, &csv, prog, sizeof(prog) / sizeof(prog[0])), 0);
    j = parse(&b);
    assert_int_equal(json_array_size(j), 3);
    e = json_array_get(j, 0);
    assert_string_equal(json_string_value(json_object_get(e, "id")), "c");
    assert_string_equal(json_string_value(json_object_get(e, "status")), "initialized");
    assert_string_equal(json_string_value(json_object_get(e, "limit")), "unknown");
    assert_int_equal(json_integer_value(json_object_get(e, "done")), 0); /* "-1" is no count */
    assert_string_equal(json_string_value(json_object_get(e, "msg")), "");
    e = json_array_get(j, 1);
    assert_string_equal(json_string_value(json_object_get(e, "id")), "a");
    assert_string_equal(json_string_value(json_object_get(e, "status")), "running");
    assert_string_equal(json_string_value(json_object_get(e, "limit")), "steps:10");
    assert_int_equal(json_integer_value(json_object_get(e, "done")), 5);
    assert_string_equal(json_string_value(json_object_get(e, "msg")), "half");
    e = json_array_get(j, 2);
    assert_string_equal(json_string_value(json_object_get(e, "id")), "b");
    assert_int_equal(json_integer_value(json_object_get(e, "done")), 13); /* the last one */
    assert_int_equal(json_object_size(e), 5);
    json_decref(j);
    pc_buf_cleanup(&b);
}

static void without_an_items_field_the_progress_hash_gives_the_order(void **state)
{
    static const struct sched_str prog[] = {
        S("zeta.status"), S("success"), S("alpha.status"), S("queued"), S("zeta.done"), S("3"),
        S("mid.msg"),     S("m"),       S("bad-id.msg"),   S("x"),
    };
    struct pc_buf b;
    json_t *j;

    (void)state;
    pc_buf_init(&b, 4096);
    assert_int_equal(sched_json_items(&b, NULL, prog, sizeof(prog) / sizeof(prog[0])), 0);
    j = parse(&b);
    assert_int_equal(json_array_size(j), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "id")), "zeta");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 0), "done")), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 1), "id")), "alpha");
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 2), "id")), "mid");
    json_decref(j);
    pc_buf_reset(&b);
    assert_int_equal(sched_json_items(&b, NULL, NULL, 0), 0);
    assert_string_equal(pc_buf_str(&b), "[]");
    pc_buf_cleanup(&b);
}

static void many_items_are_listed_in_order(void **state)
{
    const size_t N = 5000;
    struct pc_buf csv;
    struct pc_buf names;
    struct sched_str *prog = calloc(2 * N, sizeof(*prog));
    size_t *offs = calloc(N, sizeof(*offs));
    struct sched_str c;
    struct pc_buf b;
    json_t *j;

    (void)state;
    assert_non_null(prog);
    assert_non_null(offs);
    pc_buf_init(&csv, 1u << 20);
    pc_buf_init(&names, 1u << 20);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(pc_buf_appendf(&csv, "%si%zu", i > 0 ? "," : "", N - i), 0);
        offs[i] = names.len;
        assert_int_equal(pc_buf_appendf(&names, "i%zu.done", i + 1), 0);
        assert_int_equal(pc_buf_append(&names, "", 1), 0); /* keep the NUL as a separator */
    }
    for (size_t i = 0; i < N; i++) {
        prog[2 * i].p = names.data + offs[i];
        prog[2 * i].n = strlen(names.data + offs[i]);
        prog[2 * i + 1].p = prog[2 * i].p + 1; /* the digits of the name: i+1 */
        prog[2 * i + 1].n = prog[2 * i].n - 6;
    }
    c.p = csv.data;
    c.n = csv.len;
    pc_buf_init(&b, 4u << 20);
    assert_int_equal(sched_json_items(&b, &c, prog, 2 * N), 0);
    j = parse(&b);
    assert_int_equal(json_array_size(j), N);
    for (size_t i = 0; i < N; i++) {
        json_t *e = json_array_get(j, i);

        assert_int_equal(json_integer_value(json_object_get(e, "done")), N - i);
    }
    json_decref(j);
    pc_buf_cleanup(&b);
    pc_buf_cleanup(&csv);
    pc_buf_cleanup(&names);
    free(prog);
    free(offs);
}

static void a_report_is_the_outcome_json_or_a_fallback_or_null(void **state)
{
    struct pc_outcome o;
    struct pc_id item;
    struct pc_buf enc;
    struct pc_buf want;
    struct pc_buf b;
    struct sched_str report;
    static const struct sched_str rejected = S("rejected");
    static const struct sched_str why = S("bad job: \"x\"");
    static const struct sched_str unknown = S("exploded");
    static const struct sched_str garbage = S("\xc1\xc1");
    json_t *j;

    (void)state;
    pc_outcome_init(&o);
    o.kind = PC_OUTCOME_ITEM_ERROR;
    o.n_blocks = pc_cmd_blocks(PC_CMD_ENSURE, PC_SYNC_BOTH, o.blocks);
    o.n_blocks_processed = 2;
    memcpy(item.s, "a", 2);
    assert_int_equal(pc_outcome_add_error(&o, &item, "boom"), 0);
    assert_int_equal(msg_report_encode(&o, &enc, NULL), 0);
    pc_buf_init(&want, 1u << 20);
    assert_int_equal(pc_outcome_format_json(&o, &want), 0);
    report.p = enc.data;
    report.n = enc.len;
    pc_buf_init(&b, 1u << 20);
    /* The full report wins over the plain fields. */
    assert_int_equal(sched_json_report(&b, &report, &rejected, &why), 0);
    assert_string_equal(pc_buf_str(&b), pc_buf_str(&want));
    /* No report: outcome and error. */
    pc_buf_reset(&b);
    assert_int_equal(sched_json_report(&b, NULL, &rejected, &why), 0);
    j = parse(&b);
    assert_string_equal(json_string_value(json_object_get(j, "outcome")), "rejected");
    assert_string_equal(json_string_value(json_object_get(j, "error")), "bad job: \"x\"");
    json_decref(j);
    /* An undecodable report falls back too. */
    pc_buf_reset(&b);
    assert_int_equal(sched_json_report(&b, &garbage, &rejected, NULL), 0);
    j = parse(&b);
    assert_string_equal(json_string_value(json_object_get(j, "outcome")), "rejected");
    json_decref(j);
    /* Nothing usable: null. */
    pc_buf_reset(&b);
    assert_int_equal(sched_json_report(&b, NULL, NULL, NULL), 0);
    assert_string_equal(pc_buf_str(&b), "null");
    pc_buf_reset(&b);
    assert_int_equal(sched_json_report(&b, &garbage, &unknown, &why), 0);
    assert_string_equal(pc_buf_str(&b), "null");
    pc_buf_cleanup(&b);
    pc_buf_cleanup(&want);
    pc_buf_cleanup(&enc);
    pc_outcome_cleanup(&o);
}

static void stored_states_render_as_json_and_bad_values_are_named(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct sched_str kv[6];
    struct pc_buf b;
    struct pc_err err;
    json_t *j;

    (void)state;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_map(&pk, 1), 0);
    assert_int_equal(msgpack_pack_str_with_body(&pk, "done", 4), 0);
    assert_int_equal(msgpack_pack_true(&pk), 0);
    assert_int_equal(msgpack_pack_nil(&pk), 0);
    kv[0] = (struct sched_str)S("one");
    kv[1].p = sb.data;
    kv[1].n = sb.size - 1;
    kv[2] = (struct sched_str)S("two");
    kv[3].p = sb.data + sb.size - 1;
    kv[3].n = 1;
    pc_buf_init(&b, 4096);
    assert_int_equal(sched_json_states(&b, kv, 4, &err), 0);
    j = parse(&b);
    assert_true(json_is_true(json_object_get(json_object_get(j, "one"), "done")));
    assert_true(json_is_null(json_object_get(j, "two")));
    json_decref(j);
    pc_buf_reset(&b);
    assert_int_equal(sched_json_states(&b, kv, 0, &err), 0);
    assert_string_equal(pc_buf_str(&b), "{}");
    /* Two values in one field is not a state. */
    kv[4] = (struct sched_str)S("three");
    kv[5].p = sb.data;
    kv[5].n = sb.size;
    pc_buf_reset(&b);
    pc_err_clear(&err);
    assert_int_equal(sched_json_states(&b, kv, 6, &err), PC_ESCHEMA);
    assert_non_null(strstr(err.msg, "three"));
    pc_buf_cleanup(&b);
    msgpack_sbuffer_destroy(&sb);
}

static void an_event_is_framed_with_its_id_kind_and_data(void **state)
{
    static const struct sched_str kv[] = {
        S("kind"), S("progress"), S("item"),  S("a"),         S("status"), S("running"),
        S("done"), S("42"),       S("limit"), S("steps:100"), S("msg"),    S("line1\nline2\r\n"),
    };
    struct pc_buf b;
    bool outcome = true;
    const char *data;
    json_t *j;

    (void)state;
    pc_buf_init(&b, 4096);
    assert_int_equal(
        sched_sse_frame(&b, "1700000000000-3", kv, sizeof(kv) / sizeof(kv[0]), &outcome), 0);
    assert_false(outcome);
    assert_memory_equal(pc_buf_str(&b), "id: 1700000000000-3\nevent: progress\ndata: {", 43);
    /* Exactly one data line, then the blank line that ends the event. */
    data = strstr(pc_buf_str(&b), "data: ") + 6;
    assert_non_null(strstr(data, "}\n\n"));
    assert_int_equal((size_t)(strchr(data, '\n') - pc_buf_str(&b)) + 2, b.len);
    {
        struct pc_buf d;

        pc_buf_init(&d, 4096);
        assert_int_equal(pc_buf_append(&d, data, b.len - (size_t)(data - pc_buf_str(&b)) - 2), 0);
        j = parse(&d);
        pc_buf_cleanup(&d);
    }
    assert_int_equal(json_integer_value(json_object_get(j, "done")), 42);
    assert_string_equal(json_string_value(json_object_get(j, "msg")), "line1\nline2\r\n");
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "progress");
    json_decref(j);
    pc_buf_cleanup(&b);
}

static void the_outcome_event_is_recognised_and_odd_kinds_are_neutralised(void **state)
{
    static const struct sched_str outcome_kv[] = {S("kind"), S("outcome"), S("outcome"),
                                                  S("complete")};
    static const struct sched_str odd_kv[] = {S("kind"), S("x\nevent: outcome"), S("a"), S("b")};
    static const struct sched_str none_kv[] = {S("a"), S("b")};
    struct pc_buf b;
    bool outcome = false;

    (void)state;
    pc_buf_init(&b, 4096);
    assert_int_equal(sched_sse_frame(&b, "1-0", outcome_kv, 4, &outcome), 0);
    assert_true(outcome);
    assert_non_null(strstr(pc_buf_str(&b), "event: outcome\n"));
    pc_buf_reset(&b);
    assert_int_equal(sched_sse_frame(&b, "2-0", odd_kv, 4, &outcome), 0);
    assert_false(outcome);
    assert_non_null(strstr(pc_buf_str(&b), "event: message\n"));
    assert_null(strstr(pc_buf_str(&b), "\nevent: outcome"));
    pc_buf_reset(&b);
    assert_int_equal(sched_sse_frame(&b, "3-0", none_kv, 2, NULL), 0);
    assert_string_equal(pc_buf_str(&b), "id: 3-0\nevent: message\ndata: {\"a\":\"b\"}\n\n");
    pc_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strings_are_escaped_and_invalid_utf8_is_replaced),
        cmocka_unit_test(a_string_that_does_not_fit_leaves_nothing_behind),
        cmocka_unit_test(an_error_body_has_the_message_and_the_code),
        cmocka_unit_test(an_execution_shows_contract_fields_with_counters_as_numbers),
        cmocka_unit_test(items_follow_flow_order_with_fresh_tracker_defaults),
        cmocka_unit_test(without_an_items_field_the_progress_hash_gives_the_order),
        cmocka_unit_test(many_items_are_listed_in_order),
        cmocka_unit_test(a_report_is_the_outcome_json_or_a_fallback_or_null),
        cmocka_unit_test(stored_states_render_as_json_and_bad_values_are_named),
        cmocka_unit_test(an_event_is_framed_with_its_id_kind_and_data),
        cmocka_unit_test(the_outcome_event_is_recognised_and_odd_kinds_are_neutralised),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
