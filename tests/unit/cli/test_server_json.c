/*
 * test_server_json.c - what the CLI reads back from the scheduler's JSON:
 * events framed by the scheduler itself (sched_sse_frame) come out of the
 * SSE parser and cli_event_from_json as the msg_event that went in; reports
 * of every outcome survive pc_outcome_format_json -> cli_outcome_from_json
 * unchanged; states re-rendered by cli_json_append are byte for byte what
 * pc_state_to_json writes; and malformed documents are clear errors that
 * leak nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/msg.h"
#include "peace/outcome.h"
#include "peace/state.h"
#include "sched_json.h"
#include "server_json.h"
#include "server_sse.h"

static json_t *parse_text(const char *text)
{
    json_t *doc = NULL;
    struct pc_err err;

    pc_err_clear(&err);
    if (cli_json_parse(text, strlen(text), "test", &doc, &err) != 0) {
        fail_msg("not JSON: %s (%s)", text, err.msg);
    }
    return doc;
}

/* ------------------------------------------------------------------------ */
/* Events                                                                    */

struct one_event {
    int calls;
    int rc;
    struct msg_event ev;
    struct pc_err err;
    struct pc_buf *keep; /* an interrupt's items */
};

static int decode_event(void *arg, const struct cli_sse_event *sse)
{
    struct one_event *o = arg;

    o->calls++;
    pc_err_clear(&o->err);
    o->rc = cli_event_from_json(sse->data, sse->data_len, &o->ev, o->keep, &o->err);
    return 0;
}

/* ev -> stream fields -> the scheduler's SSE frame -> our parser -> out
 * (an interrupt's items copied into keep, which may be NULL). */
static void through_the_scheduler_keep(const struct msg_event *ev, struct msg_event *out,
                                       struct pc_buf *keep)
{
    struct msg_event_fields fields;
    struct sched_str kv[MSG_EVENT_FIELDS_MAX];
    struct one_event got;
    struct cli_sse p;
    struct pc_buf frame;

    memset(&got, 0, sizeof(got));
    got.keep = keep;
    assert_int_equal(msg_event_to_fields(ev, &fields, NULL), 0);
    for (size_t i = 0; i < fields.n; i++) {
        kv[i].p = fields.argv[i];
        kv[i].n = fields.argvlen[i];
    }
    pc_buf_init(&frame, 1u << 16);
    assert_int_equal(sched_sse_frame(&frame, "1700000000000-7", kv, fields.n, NULL), 0);
    cli_sse_init(&p, 1u << 16, 1u << 16, decode_event, &got);
    assert_int_equal(cli_sse_feed(&p, pc_buf_str(&frame), frame.len, NULL), 0);
    assert_int_equal(got.calls, 1);
    if (got.rc != 0) {
        fail_msg("cli_event_from_json: %s (frame %s)", got.err.msg, pc_buf_str(&frame));
    }
    assert_string_equal(cli_sse_last_id(&p), "1700000000000-7");
    *out = got.ev;
    cli_sse_cleanup(&p);
    pc_buf_cleanup(&frame);
}

static void through_the_scheduler(const struct msg_event *ev, struct msg_event *out)
{
    through_the_scheduler_keep(ev, out, NULL);
}

static void every_event_kind_survives_the_scheduler_frame(void **state)
{
    struct msg_event ev;
    struct msg_event out;

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_BLOCK_START;
    ev.block = PC_BLOCK_APPLY_ENSURE;
    ev.block_index = 4;
    through_the_scheduler(&ev, &out);
    assert_int_equal(out.kind, MSG_EVENT_BLOCK_START);
    assert_int_equal(out.block, PC_BLOCK_APPLY_ENSURE);
    assert_int_equal(out.block_index, 4);

    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_PROGRESS;
    (void)snprintf(ev.item.s, sizeof(ev.item.s), "warmup");
    ev.status = PC_PROGRESS_RUNNING;
    ev.done = 12345678901ull;
    ev.limit.kind = PC_LIMIT_BYTES;
    ev.limit.n = 98765432109ull;
    (void)snprintf(ev.msg, sizeof(ev.msg), "a \"quoted\"\tmessage \xC3\xA9\n");
    through_the_scheduler(&ev, &out);
    assert_int_equal(out.kind, MSG_EVENT_PROGRESS);
    assert_string_equal(out.item.s, "warmup");
    assert_int_equal(out.status, PC_PROGRESS_RUNNING);
    assert_int_equal(out.done, 12345678901ull);
    assert_int_equal(out.limit.kind, PC_LIMIT_BYTES);
    assert_int_equal(out.limit.n, 98765432109ull);
    assert_string_equal(out.msg, ev.msg);

    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_INTERRUPT;
    (void)snprintf(ev.reason, sizeof(ev.reason), "Ctrl-C in the peace CLI");
    through_the_scheduler(&ev, &out);
    assert_int_equal(out.kind, MSG_EVENT_INTERRUPT);
    assert_string_equal(out.reason, "Ctrl-C in the peace CLI");
    assert_int_equal(out.items_len, 0);

    /* The items an interrupt stopped: kept in the caller's buffer (the JSON
     * document is gone once the call returns), or left out without one. */
    {
        struct pc_buf keep;
        static const char list[] = "s3,s4,last_one";

        pc_buf_init(&keep, MSG_EVENT_ITEMS_MAX);
        ev.items = list;
        ev.items_len = sizeof(list) - 1;
        through_the_scheduler_keep(&ev, &out, &keep);
        assert_int_equal(out.items_len, sizeof(list) - 1);
        assert_ptr_equal(out.items, keep.data);
        assert_memory_equal(out.items, list, out.items_len);
        through_the_scheduler(&ev, &out);
        assert_int_equal(out.items_len, 0);
        assert_null(out.items);
        pc_buf_cleanup(&keep);
    }

    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_OUTCOME;
    ev.outcome = PC_OUTCOME_BLOCK_INTERRUPTED;
    through_the_scheduler(&ev, &out);
    assert_int_equal(out.kind, MSG_EVENT_OUTCOME);
    assert_int_equal(out.outcome, PC_OUTCOME_BLOCK_INTERRUPTED);
}

static void malformed_event_data_is_refused(void **state)
{
    static const char *const bad[] = {
        "",
        "not json",
        "[\"kind\",\"outcome\"]",
        "\"outcome\"",
        "{}",
        "{\"kind\":\"explode\"}",
        "{\"kind\":\"outcome\"}",
        "{\"kind\":\"outcome\",\"outcome\":\"won\"}",
        "{\"kind\":\"block_start\",\"block\":\"apply_ensure\",\"index\":-1}",
        "{\"kind\":\"block_start\",\"block\":\"no_such_block\",\"index\":1}",
        "{\"kind\":\"progress\",\"item\":\"1bad\",\"status\":\"running\",\"done\":0,"
        "\"limit\":\"unknown\",\"msg\":\"\"}",
        "{\"kind\":\"progress\",\"item\":\"a\",\"status\":\"running\",\"done\":\"x\","
        "\"limit\":\"unknown\",\"msg\":\"\"}",
        "{\"kind\":\"outcome\",\"outcome\":\"complete\",\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,"
        "\"f\":6,\"g\":7,\"h\":8,\"i\":9,\"j\":10,\"k\":11,\"l\":12,\"m\":13,\"n\":14,\"o\":15,"
        "\"p\":16,\"q\":17,\"r\":18,\"s\":19,\"t\":20,\"u\":21,\"v\":22,\"w\":23,\"x\":24,"
        "\"y\":25,\"z\":26,\"aa\":27,\"bb\":28,\"cc\":29,\"dd\":30,\"ee\":31}",
    };
    struct msg_event ev;
    struct pc_err err;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pc_err_clear(&err);
        if (cli_event_from_json(bad[i], strlen(bad[i]), &ev, NULL, &err) == 0) {
            fail_msg("accepted: %s", bad[i]);
        }
        assert_true(err.msg[0] != '\0');
    }
    /* Fields of other types and unknown fields are passed over, not fatal. */
    pc_err_clear(&err);
    {
        static const char ok[] =
            "{\"kind\":\"outcome\",\"outcome\":\"complete\",\"extra\":[1],\"more\":null}";

        assert_int_equal(cli_event_from_json(ok, sizeof(ok) - 1, &ev, NULL, &err), 0);
    }
    assert_int_equal(ev.outcome, PC_OUTCOME_COMPLETE);
}

/* ------------------------------------------------------------------------ */
/* Reports                                                                   */

static void assert_round_trip(const struct pc_outcome *o)
{
    struct pc_outcome back;
    struct pc_buf first;
    struct pc_buf second;
    struct pc_err err;
    json_t *doc;

    pc_buf_init(&first, 1u << 20);
    pc_buf_init(&second, 1u << 20);
    assert_int_equal(pc_outcome_format_json(o, &first), 0);
    doc = parse_text(pc_buf_str(&first));
    pc_err_clear(&err);
    if (cli_outcome_from_json(doc, &back, &err) != 0) {
        fail_msg("%s: %s", pc_buf_str(&first), err.msg);
    }
    assert_int_equal(pc_outcome_format_json(&back, &second), 0);
    assert_string_equal(pc_buf_str(&first), pc_buf_str(&second));
    pc_buf_reset(&first);
    pc_buf_reset(&second);
    assert_int_equal(pc_outcome_format_text(o, &first), 0);
    assert_int_equal(pc_outcome_format_text(&back, &second), 0);
    assert_string_equal(pc_buf_str(&first), pc_buf_str(&second));
    pc_outcome_cleanup(&back);
    json_decref(doc);
    pc_buf_cleanup(&first);
    pc_buf_cleanup(&second);
}

static void add_ids(struct pc_id **ids, size_t *n, const char *const *names, size_t count)
{
    *ids = calloc(count, sizeof(**ids));
    assert_non_null(*ids);
    for (size_t i = 0; i < count; i++) {
        (void)snprintf((*ids)[i].s, sizeof((*ids)[i].s), "%s", names[i]);
    }
    *n = count;
}

static void reports_of_every_outcome_read_back_unchanged(void **state)
{
    static const char *const done[] = {"one", "two"};
    static const char *const left[] = {"three", "four", "five"};
    enum pc_block_kind blocks[PC_BLOCKS_MAX];
    struct pc_outcome o;
    struct pc_id bad_item;
    size_t n_blocks = pc_cmd_blocks(PC_CMD_ENSURE, PC_SYNC_BOTH, blocks);

    (void)state;
    for (int kind = PC_OUTCOME_COMPLETE; kind <= PC_OUTCOME_REJECTED; kind++) {
        pc_outcome_init(&o);
        o.kind = (enum pc_outcome_kind)kind;
        memcpy(o.blocks, blocks, sizeof(blocks));
        o.n_blocks = n_blocks;
        o.n_blocks_processed = kind == PC_OUTCOME_COMPLETE ? n_blocks : 3;
        if (kind == PC_OUTCOME_BLOCK_INTERRUPTED || kind == PC_OUTCOME_ITEM_ERROR) {
            add_ids(&o.items_processed, &o.n_items_processed, done, 2);
            add_ids(&o.items_not_processed, &o.n_items_not_processed, left, 3);
        }
        if (kind == PC_OUTCOME_ITEM_ERROR) {
            (void)snprintf(bad_item.s, sizeof(bad_item.s), "two");
            assert_int_equal(pc_outcome_add_error(&o, &bad_item, "exit 3:\n\"no\" \\ way"), 0);
            assert_int_equal(pc_outcome_add_error(&o, &bad_item, "again"), 0);
        }
        if (kind == PC_OUTCOME_BLOCK_ERROR || kind == PC_OUTCOME_REJECTED) {
            assert_int_equal(pc_outcome_set_error(&o, "stored states differ\tfrom discovered"), 0);
        }
        assert_round_trip(&o);
        pc_outcome_cleanup(&o);
    }
}

/* A report v2 (times, blocks, entries of every kind) reads back to the same JSON. */
static void reports_with_blocks_read_back_unchanged(void **state)
{
    static const char text[] =
        "{\"outcome\":\"item_error\",\"blocks_processed\":[\"read_current\",\"read_goal\","
        "\"discover\",\"sync_check\"],\"blocks_not_processed\":[\"apply_ensure\"],"
        "\"items_processed\":[\"a\",\"b\"],\"items_not_processed\":[\"c\"],"
        "\"errors\":[{\"item\":\"a\",\"error\":\"boom\"}],\"created_ms\":10,\"started_ms\":20,"
        "\"finished_ms\":90,\"interrupted_ms\":50,\"partial\":true,\"blocks\":["
        "{\"block\":\"read_current\",\"start_ms\":20,\"duration_ms\":1,\"items\":["
        "{\"item\":\"a\",\"current\":{\"exists\":false,\"n\":-3,\"r\":1.5,\"l\":[1,\"x\"]}},"
        "{\"item\":\"b\",\"current\":null}]},"
        "{\"block\":\"sync_check\",\"start_ms\":30,\"duration_ms\":0,\"items\":["
        "{\"item\":\"b\",\"stale\":\"goal\"}]},"
        "{\"block\":\"apply_ensure\",\"start_ms\":40,\"duration_ms\":45,\"items\":["
        "{\"item\":\"a\",\"start_ms\":41,\"duration_ms\":3,\"changed\":true,"
        "\"state\":{\"exists\":true},\"error\":\"boom\"},"
        "{\"item\":\"b\",\"start_ms\":41,\"duration_ms\":0,\"changed\":false,"
        "\"truncated\":{\"state\":{\"size\":9000,\"sha256\":"
        "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}}]}]}";
    json_t *doc = parse_text(text);
    struct pc_outcome o;
    struct pc_buf b;

    (void)state;
    assert_int_equal(cli_outcome_from_json(doc, &o, NULL), 0);
    assert_int_equal(o.n_run, 3);
    assert_int_equal(o.run[2].items[1].apply, PC_APPLY_UNCHANGED);
    assert_true(o.run[2].items[1].values[PC_RV_STATE].truncated);
    pc_buf_init(&b, 1u << 20);
    assert_int_equal(pc_outcome_format_json(&o, &b), 0);
    assert_string_equal(pc_buf_str(&b), text);
    assert_round_trip(&o);
    pc_buf_cleanup(&b);
    pc_outcome_cleanup(&o);
    json_decref(doc);
}

static void malformed_reports_are_refused_without_leaks(void **state)
{
    static const char *const bad[] = {
        "null",
        "[]",
        "{}",
        "{\"outcome\":7}",
        "{\"outcome\":\"won\"}",
        "{\"outcome\":\"complete\",\"blocks_processed\":\"discover\"}",
        "{\"outcome\":\"complete\",\"blocks_processed\":[\"no_such_block\"]}",
        "{\"outcome\":\"complete\",\"blocks_processed\":[1]}",
        "{\"outcome\":\"complete\",\"blocks_processed\":[\"diff\",\"diff\",\"diff\",\"diff\","
        "\"diff\"],\"blocks_not_processed\":[\"diff\",\"diff\",\"diff\",\"diff\"]}",
        "{\"outcome\":\"block_interrupted\",\"items_processed\":[\"ok\",\"9bad\"]}",
        "{\"outcome\":\"block_interrupted\",\"items_processed\":[\"ok\"],"
        "\"items_not_processed\":{}}",
        "{\"outcome\":\"item_error\",\"items_processed\":[\"a\"],\"errors\":[{\"item\":\"a\"}]}",
        "{\"outcome\":\"item_error\",\"items_processed\":[\"a\"],\"errors\":[{\"item\":\"a\","
        "\"error\":\"x\"},{\"item\":\"\",\"error\":\"y\"}]}",
        "{\"outcome\":\"item_error\",\"errors\":{}}",
        "{\"outcome\":\"rejected\",\"error\":5}",
        "{\"outcome\":\"complete\",\"started_ms\":-1}",
        "{\"outcome\":\"complete\",\"partial\":1}",
        "{\"outcome\":\"complete\",\"blocks\":{}}",
        "{\"outcome\":\"complete\",\"blocks\":[{\"block\":\"diff\",\"items\":{}}]}",
        "{\"outcome\":\"complete\",\"blocks\":[{\"block\":\"diff\",\"items\":[5]}]}",
        "{\"outcome\":\"complete\",\"blocks\":[{\"block\":\"nope\"}]}",
        "{\"outcome\":\"complete\",\"blocks\":[{\"block\":\"diff\",\"items\":[{}]}]}",
        "{\"outcome\":\"complete\",\"blocks\":[{\"block\":\"diff\",\"items\":[{\"item\":\"a\","
        "\"changed\":\"yes\"}]}]}",
        "{\"outcome\":\"complete\",\"blocks\":[{\"block\":\"diff\",\"items\":[{\"item\":\"a\","
        "\"stale\":\"both\"}]}]}",
        "{\"outcome\":\"complete\",\"blocks\":[{\"block\":\"diff\",\"items\":[{\"item\":\"a\","
        "\"truncated\":{\"state\":{\"size\":1,\"sha256\":\"short\"}}}]}]}",
        "{\"outcome\":\"complete\",\"blocks\":[{\"block\":\"diff\",\"items\":[{\"item\":\"a\","
        "\"truncated\":{\"nope\":{}}}]}]}",
        "{\"outcome\":\"complete\",\"blocks\":[{\"block\":\"diff\",\"start_ms\":\"0\"}]}",
    };
    struct pc_outcome o;
    struct pc_err err;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *doc = parse_text(bad[i]);

        pc_err_clear(&err);
        if (cli_outcome_from_json(doc, &o, &err) == 0) {
            fail_msg("accepted: %s", bad[i]);
        }
        assert_true(err.msg[0] != '\0');
        json_decref(doc);
    }
    /* A null error is the same as none. */
    {
        json_t *doc = parse_text("{\"outcome\":\"rejected\",\"error\":null}");

        assert_int_equal(cli_outcome_from_json(doc, &o, NULL), 0);
        assert_int_equal(o.kind, PC_OUTCOME_REJECTED);
        assert_null(o.error);
        pc_outcome_cleanup(&o);
        json_decref(doc);
    }
}

/* ------------------------------------------------------------------------ */
/* States                                                                    */

static void pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    assert_int_equal(msgpack_pack_str(pk, n), 0);
    assert_int_equal(msgpack_pack_str_body(pk, s, n), 0);
}

static void states_print_as_pc_state_to_json_writes_them(void **state)
{
    static const char odd[] = "quote \" backslash \\ nl \n tab \t cr \r bell \x07 del \x7f "
                              "\xC3\xA9 \xF0\x9F\x98\x80 slash /";
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct pc_state st;
    struct pc_buf want;
    struct pc_buf got;
    json_t *doc;

    (void)state;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_map(&pk, 9), 0);
    pack_str(&pk, "stdout", 6);
    pack_str(&pk, odd, sizeof(odd) - 1);
    pack_str(&pk, "exit_code", 9);
    assert_int_equal(msgpack_pack_int64(&pk, -3), 0);
    pack_str(&pk, "size", 4);
    assert_int_equal(msgpack_pack_uint64(&pk, 9007199254740993ull), 0);
    pack_str(&pk, "ratio", 5);
    assert_int_equal(msgpack_pack_double(&pk, 0.1), 0);
    pack_str(&pk, "whole", 5);
    assert_int_equal(msgpack_pack_double(&pk, 2.0), 0);
    pack_str(&pk, "exists", 6);
    assert_int_equal(msgpack_pack_true(&pk), 0);
    pack_str(&pk, "nothing", 7);
    assert_int_equal(msgpack_pack_nil(&pk), 0);
    pack_str(&pk, "list", 4);
    assert_int_equal(msgpack_pack_array(&pk, 3), 0);
    assert_int_equal(msgpack_pack_false(&pk), 0);
    assert_int_equal(msgpack_pack_array(&pk, 0), 0);
    assert_int_equal(msgpack_pack_map(&pk, 0), 0);
    pack_str(&pk, "nested", 6);
    assert_int_equal(msgpack_pack_map(&pk, 1), 0);
    pack_str(&pk, "k", 1);
    pack_str(&pk, "", 0);

    st.data = (uint8_t *)sb.data;
    st.len = sb.size;
    pc_buf_init(&want, 1u << 16);
    pc_buf_init(&got, 1u << 16);
    assert_int_equal(pc_state_to_json(&st, &want), 0);
    doc = parse_text(pc_buf_str(&want));
    assert_int_equal(cli_json_append(&got, doc), 0);
    assert_string_equal(pc_buf_str(&got), pc_buf_str(&want));
    json_decref(doc);
    pc_buf_cleanup(&want);
    pc_buf_cleanup(&got);
    msgpack_sbuffer_destroy(&sb);
}

static void rendering_is_bounded_in_depth_and_size(void **state)
{
    char deep[2 * (CLI_JSON_DEPTH_MAX + 2) + 1];
    struct pc_buf b;
    json_t *doc;
    size_t n = CLI_JSON_DEPTH_MAX + 2;

    (void)state;
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = '\0';
    doc = parse_text(deep);
    pc_buf_init(&b, 1u << 16);
    assert_int_equal(pc_buf_puts(&b, "kept"), 0);
    assert_int_equal(cli_json_append(&b, doc), PC_ELIMIT);
    assert_string_equal(pc_buf_str(&b), "kept"); /* nothing half-written */
    json_decref(doc);
    pc_buf_cleanup(&b);

    doc = parse_text("{\"a\":\"0123456789\"}");
    pc_buf_init(&b, 8);
    assert_int_equal(cli_json_append(&b, doc), PC_ELIMIT);
    assert_int_equal(b.len, 0);
    json_decref(doc);
    pc_buf_cleanup(&b);
}

static void scalars_become_the_text_a_meta_hash_holds(void **state)
{
    static const struct {
        const char *json;
        const char *text;
    } cases[] = {
        {"\"finished\"", "finished"},
        {"1795309599192", "1795309599192"},
        {"-4", "-4"},
        {"0.5", "0.5"},
        {"true", "true"},
        {"false", "false"},
        {"null", ""},
        {"[1]", ""},
        {"{}", ""},
        {"\"a\\u0000b\"", ""},
    };
    char out[64];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *v = parse_text(cases[i].json);

        cli_json_scalar_text(v, out, sizeof(out));
        assert_string_equal(out, cases[i].text);
        json_decref(v);
    }
    {
        json_t *v = parse_text("\"0123456789\"");

        cli_json_scalar_text(v, out, 5);
        assert_string_equal(out, "0123"); /* cut to fit */
        json_decref(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_event_kind_survives_the_scheduler_frame),
        cmocka_unit_test(malformed_event_data_is_refused),
        cmocka_unit_test(reports_of_every_outcome_read_back_unchanged),
        cmocka_unit_test(reports_with_blocks_read_back_unchanged),
        cmocka_unit_test(malformed_reports_are_refused_without_leaks),
        cmocka_unit_test(states_print_as_pc_state_to_json_writes_them),
        cmocka_unit_test(rendering_is_bounded_in_depth_and_size),
        cmocka_unit_test(scalars_become_the_text_a_meta_hash_holds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
