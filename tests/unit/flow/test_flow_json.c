/*
 * test_flow_json.c - flow files (CONTRACT §6): a valid file and every kind of
 * malformed one, each a clean error that names the source, the JSON path and
 * the item, with nothing written to the output.
 */
/* cmocka needs these four headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peace/buf.h"
#include "peace/flow.h"

/* Parses text as "test.json"; on failure checks out was not written. */
static int parse(const char *text, struct pc_flow *out, struct pc_err *err)
{
    struct pc_flow sentinel;
    int rc;

    memset(&sentinel, 0xa5, sizeof(sentinel));
    memcpy(out, &sentinel, sizeof(*out));
    pc_err_clear(err);
    rc = pc_flow_parse_json(text, strlen(text), "test.json", out, err);
    if (rc != 0) {
        assert_memory_equal(out, &sentinel, sizeof(*out));
        assert_int_equal(err->code, rc);
        assert_true(strncmp(err->msg, "test.json", 9) == 0);
    }
    return rc;
}

/* Expects parse to fail with code and a message holding every needle. */
static void expect_error(const char *text, int code, const char *needle1, const char *needle2)
{
    struct pc_flow f;
    struct pc_err err;
    int rc = parse(text, &f, &err);

    if (rc != code) {
        fail_msg("expected %d, got %d (%s) for %s", code, rc, err.msg, text);
    }
    if (needle1 != NULL && strstr(err.msg, needle1) == NULL) {
        fail_msg("\"%s\" not in \"%s\"", needle1, err.msg);
    }
    if (needle2 != NULL && strstr(err.msg, needle2) == NULL) {
        fail_msg("\"%s\" not in \"%s\"", needle2, err.msg);
    }
}

static const char valid_flow[] =
    "{\n"
    "  \"app\": \"shop\", \"profile\": \"dev_1\", \"flow\": \"deploy\",\n"
    "  \"items\": [\n"
    "    {\"id\": \"web\", \"type\": \"file\", \"deps\": [\"db\", \"dir\"],\n"
    "     \"params\": {\"path\": \"/tmp/x\", \"n\": 42, \"neg\": -7, \"pi\": 1.5, \"on\": true,\n"
    "                \"off\": false, \"none\": null, \"list\": [1, \"a\"], \"sub\": {\"k\": "
    "\"v\"}}},\n"
    "    {\"id\": \"dir\", \"type\": \"sh_cmd\"},\n"
    "    {\"id\": \"db\", \"type\": \"sleep\", \"deps\": [\"dir\"], \"params\": {}}\n"
    "  ]\n"
    "}\n";

static const msgpack_object *map_get(const msgpack_object *map, const char *key)
{
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];

        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen(key) &&
            memcmp(kv->key.via.str.ptr, key, strlen(key)) == 0) {
            return &kv->val;
        }
    }
    return NULL;
}

static void test_valid_flow_parses_with_deps_resolved_in_flow_order(void **state)
{
    struct pc_flow f;
    struct pc_err err;

    (void)state;
    assert_int_equal(parse(valid_flow, &f, &err), 0);
    assert_string_equal(f.app.s, "shop");
    assert_string_equal(f.profile.s, "dev_1");
    assert_string_equal(f.flow.s, "deploy");
    assert_int_equal(f.n_items, 3);
    assert_string_equal(f.items[0].id.s, "web");
    assert_string_equal(f.items[0].type.s, "file");
    assert_string_equal(f.items[1].id.s, "dir");
    assert_string_equal(f.items[2].id.s, "db");
    assert_int_equal(f.items[0].n_deps, 2);
    assert_int_equal(f.items[0].deps[0], 2);
    assert_int_equal(f.items[0].deps[1], 1);
    assert_int_equal(f.items[1].n_deps, 0);
    assert_int_equal(f.items[2].n_deps, 1);
    assert_int_equal(f.items[2].deps[0], 1);
    pc_flow_cleanup(&f);
}

static void test_params_become_a_msgpack_map_of_the_same_values(void **state)
{
    struct pc_flow f;
    struct pc_err err;
    msgpack_unpacked u;
    size_t off = 0;
    const msgpack_object *m = NULL;
    const msgpack_object *v = NULL;

    (void)state;
    assert_int_equal(parse(valid_flow, &f, &err), 0);
    msgpack_unpacked_init(&u);
    assert_int_equal(
        msgpack_unpack_next(&u, (const char *)f.items[0].params, f.items[0].params_len, &off),
        MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, f.items[0].params_len);
    m = &u.data;
    assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(m->via.map.size, 9);
    /* Keys keep the order of the file. */
    assert_memory_equal(m->via.map.ptr[0].key.via.str.ptr, "path", 4);
    assert_memory_equal(m->via.map.ptr[8].key.via.str.ptr, "sub", 3);
    v = map_get(m, "path");
    assert_int_equal(v->type, MSGPACK_OBJECT_STR);
    assert_int_equal(v->via.str.size, 6);
    assert_memory_equal(v->via.str.ptr, "/tmp/x", 6);
    v = map_get(m, "n");
    assert_int_equal(v->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_int_equal(v->via.u64, 42);
    v = map_get(m, "neg");
    assert_int_equal(v->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
    assert_int_equal(v->via.i64, -7);
    v = map_get(m, "pi");
    assert_int_equal(v->type, MSGPACK_OBJECT_FLOAT64);
    assert_true(v->via.f64 == 1.5);
    assert_int_equal(map_get(m, "on")->type, MSGPACK_OBJECT_BOOLEAN);
    assert_true(map_get(m, "on")->via.boolean);
    assert_false(map_get(m, "off")->via.boolean);
    assert_int_equal(map_get(m, "none")->type, MSGPACK_OBJECT_NIL);
    v = map_get(m, "list");
    assert_int_equal(v->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(v->via.array.size, 2);
    assert_int_equal(v->via.array.ptr[1].type, MSGPACK_OBJECT_STR);
    v = map_get(map_get(m, "sub"), "k");
    assert_non_null(v);
    assert_int_equal(v->type, MSGPACK_OBJECT_STR);
    msgpack_unpacked_destroy(&u);
    pc_flow_cleanup(&f);
}

static void test_missing_or_empty_params_become_the_empty_map(void **state)
{
    struct pc_flow f;
    struct pc_err err;

    (void)state;
    assert_int_equal(parse(valid_flow, &f, &err), 0);
    assert_int_equal(f.items[1].params_len, 1);
    assert_int_equal(f.items[1].params[0], 0x80);
    assert_int_equal(f.items[2].params_len, 1);
    assert_int_equal(f.items[2].params[0], 0x80);
    pc_flow_cleanup(&f);
}

static void test_syntax_error_gives_line_and_column(void **state)
{
    (void)state;
    /* Line 3 misses the colon after "profile". */
    expect_error("{\n  \"app\": \"a\",\n  \"profile\" \"p\"\n}", PC_EINVAL,
                 "test.json:3:", "invalid JSON");
    expect_error("", PC_EINVAL, "test.json:", "invalid JSON");
    expect_error("{\"app\": \"a\"} trailing", PC_EINVAL, "test.json:1:", NULL);
}

static void test_syntax_error_column_points_at_the_fault(void **state)
{
    struct pc_flow f;
    struct pc_err err;
    const char *text = "{\"app\": \"a\",\n \"flow\": tru}";
    char expect[64];

    (void)state;
    assert_int_equal(parse(text, &f, &err), PC_EINVAL);
    /* The bad token spans columns 10-12 of line 2; jansson reports where it stopped reading. */
    (void)snprintf(expect, sizeof(expect), "test.json:2:12:");
    assert_non_null(strstr(err.msg, expect));
    assert_non_null(strstr(err.msg, "tru"));
}

static void test_duplicate_object_keys_are_rejected(void **state)
{
    (void)state;
    expect_error(
        "{\"app\": \"a\", \"app\": \"b\", \"profile\": \"p\", \"flow\": \"f\", \"items\": []}",
        PC_EINVAL, "duplicate", "test.json:1:");
    expect_error("{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": "
                 "[{\"id\": \"x\", \"type\": \"t\", \"params\": {\"k\": 1, \"k\": 2}}]}",
                 PC_EINVAL, "duplicate", NULL);
}

static void test_wrong_types_name_the_path(void **state)
{
    (void)state;
    expect_error("[1, 2]", PC_EINVAL, "JSON object", NULL);
    expect_error("{\"app\": 1, \"profile\": \"p\", \"flow\": \"f\", \"items\": []}", PC_EINVAL,
                 "app: expected a string", NULL);
    expect_error("{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": {}}", PC_EINVAL,
                 "items: expected an array", NULL);
    expect_error("{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": [\"x\"]}",
                 PC_EINVAL, "items[0]: expected an object", NULL);
    expect_error("{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": [{\"id\": 3, "
                 "\"type\": \"t\"}]}",
                 PC_EINVAL, "items[0].id: expected a string", NULL);
    expect_error(
        "{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": [{\"id\": \"x\", "
        "\"type\": \"t\", \"deps\": \"y\"}]}",
        PC_EINVAL, "items[0].deps (item 'x')", "expected an array");
    expect_error(
        "{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": [{\"id\": \"y\", "
        "\"type\": \"t\"}, {\"id\": \"x\", \"type\": \"t\", \"deps\": [\"y\", 5]}]}",
        PC_EINVAL, "items[1].deps[1] (item 'x')", NULL);
    expect_error(
        "{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": [{\"id\": \"x\", "
        "\"type\": \"t\", \"params\": [1]}]}",
        PC_EINVAL, "items[0].params (item 'x')", "expected an object");
    expect_error(
        "{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": [{\"id\": \"x\", "
        "\"type\": null}]}",
        PC_EINVAL, "items[0].type (item 'x')", NULL);
}

static void test_bad_identifiers_are_rejected(void **state)
{
    (void)state;
    expect_error("{\"app\": \"my-app\", \"profile\": \"p\", \"flow\": \"f\", \"items\": []}",
                 PC_EINVAL, "app", "not an identifier");
    expect_error("{\"app\": \"a\", \"profile\": \"\", \"flow\": \"f\", \"items\": []}", PC_EINVAL,
                 "profile", "not an identifier");
    expect_error(
        "{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": [{\"id\": \"1x\", "
        "\"type\": \"t\"}]}",
        PC_EINVAL, "items[0].id", "not an identifier");
    expect_error(
        "{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": [{\"id\": \"x\", "
        "\"type\": \"no way\"}]}",
        PC_EINVAL, "items[0].type", "not an identifier");
}

/* Builds a flow text with one item whose id has n characters. */
static char *flow_with_id_of_length(size_t n)
{
    struct pc_buf b;
    char *id = malloc(n + 1);

    assert_non_null(id);
    memset(id, 'i', n);
    id[n] = '\0';
    pc_buf_init(&b, 4096);
    assert_int_equal(pc_buf_appendf(&b,
                                    "{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", "
                                    "\"items\": [{\"id\": \"%s\", \"type\": \"t\"}]}",
                                    id),
                     0);
    free(id);
    return b.data;
}

static void test_ids_of_64_bytes_pass_and_65_are_rejected(void **state)
{
    struct pc_flow f;
    struct pc_err err;
    char *text = flow_with_id_of_length(PC_ID_MAX);

    (void)state;
    assert_int_equal(parse(text, &f, &err), 0);
    assert_int_equal(strlen(f.items[0].id.s), PC_ID_MAX);
    pc_flow_cleanup(&f);
    free(text);
    text = flow_with_id_of_length(PC_ID_MAX + 1);
    expect_error(text, PC_EINVAL, "items[0].id", "longer than 64");
    free(text);
}

static void test_duplicate_ids_are_rejected(void **state)
{
    (void)state;
    expect_error(
        "{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": [{\"id\": \"x\", "
        "\"type\": \"t\"}, {\"id\": \"y\", \"type\": \"t\", \"deps\": [\"x\"]}, "
        "{\"id\": \"x\", \"type\": \"t\", \"deps\": [\"x\"]}]}",
        PC_EINVAL, "items[2].id", "items[0]");
}

static void test_unknown_dependency_is_rejected_with_its_position(void **state)
{
    (void)state;
    expect_error(
        "{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": [{\"id\": \"x\", "
        "\"type\": \"t\"}, {\"id\": \"y\", \"type\": \"t\", \"deps\": [\"x\", \"nope\"]}]}",
        PC_EINVAL, "items[1].deps[1] (item 'y')", "unknown item \"nope\"");
}

static void test_self_dependency_is_rejected(void **state)
{
    (void)state;
    expect_error(
        "{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": [{\"id\": \"x\", "
        "\"type\": \"t\", \"deps\": [\"x\"]}]}",
        PC_EINVAL, "items[0].deps[0] (item 'x')", "itself");
}

static void test_two_and_three_cycles_are_rejected(void **state)
{
    (void)state;
    expect_error("{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": ["
                 "{\"id\": \"x\", \"type\": \"t\", \"deps\": [\"y\"]},"
                 "{\"id\": \"y\", \"type\": \"t\", \"deps\": [\"x\"]}]}",
                 PC_EINVAL, "dependency cycle", "x -> y -> x");
    expect_error("{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": ["
                 "{\"id\": \"x\", \"type\": \"t\", \"deps\": [\"z\"]},"
                 "{\"id\": \"y\", \"type\": \"t\", \"deps\": [\"x\"]},"
                 "{\"id\": \"z\", \"type\": \"t\", \"deps\": [\"y\"]}]}",
                 PC_EINVAL, "dependency cycle", "x -> z -> y -> x");
}

/* Exactly PC_FLOW_JSON_DEPTH_MAX nested arrays in params is accepted; one more is not. */
static void test_params_depth_limit_is_exact(void **state)
{
    struct pc_buf b;
    struct pc_flow f;
    struct pc_err err;

    (void)state;
    for (int extra = 0; extra <= 1; extra++) {
        size_t arrays = PC_FLOW_JSON_DEPTH_MAX - 1 + (size_t)extra; /* plus the params object */

        pc_buf_init(&b, 1u << 16);
        assert_int_equal(
            pc_buf_puts(&b, "{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", "
                            "\"items\": [{\"id\": \"x\", \"type\": \"t\", \"params\": {\"k\": "),
            0);
        for (size_t i = 0; i < arrays; i++) {
            assert_int_equal(pc_buf_puts(&b, "["), 0);
        }
        for (size_t i = 0; i < arrays; i++) {
            assert_int_equal(pc_buf_puts(&b, "]"), 0);
        }
        assert_int_equal(pc_buf_puts(&b, "}}]}"), 0);
        if (extra == 0) {
            assert_int_equal(parse(b.data, &f, &err), 0);
            pc_flow_cleanup(&f);
        } else {
            expect_error(b.data, PC_ELIMIT, "nested deeper", NULL);
        }
        pc_buf_cleanup(&b);
    }
}

static void test_params_larger_than_the_limit_are_rejected(void **state)
{
    struct pc_buf b;
    char *big = malloc(PC_FLOW_PARAMS_MAX + 1);

    (void)state;
    assert_non_null(big);
    memset(big, 'z', PC_FLOW_PARAMS_MAX);
    big[PC_FLOW_PARAMS_MAX] = '\0';
    pc_buf_init(&b, PC_FLOW_FILE_MAX);
    assert_int_equal(pc_buf_appendf(&b,
                                    "{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", "
                                    "\"items\": [{\"id\": \"x\", \"type\": \"t\", \"params\": "
                                    "{\"s\": \"%s\"}}]}",
                                    big),
                     0);
    expect_error(b.data, PC_ELIMIT, "items[0].params (item 'x')", "larger than");
    pc_buf_cleanup(&b);
    free(big);
}

static void test_unknown_keys_are_rejected(void **state)
{
    (void)state;
    expect_error("{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"itmes\": []}", PC_EINVAL,
                 "unknown key \"itmes\"", NULL);
    expect_error(
        "{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": [{\"id\": \"x\", "
        "\"type\": \"t\"}, {\"id\": \"y\", \"type\": \"t\", \"dep\": [\"x\"]}]}",
        PC_EINVAL, "items[1] (item 'y')", "unknown key \"dep\"");
}

static void test_missing_fields_are_rejected(void **state)
{
    (void)state;
    expect_error("{\"profile\": \"p\", \"flow\": \"f\", \"items\": []}", PC_EINVAL,
                 "missing \"app\"", NULL);
    expect_error("{\"app\": \"a\", \"flow\": \"f\", \"items\": []}", PC_EINVAL,
                 "missing \"profile\"", NULL);
    expect_error("{\"app\": \"a\", \"profile\": \"p\", \"items\": []}", PC_EINVAL,
                 "missing \"flow\"", NULL);
    expect_error("{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\"}", PC_EINVAL,
                 "missing \"items\"", NULL);
    expect_error(
        "{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": [{\"type\": \"t\"}]}",
        PC_EINVAL, "items[0]: missing \"id\"", NULL);
    expect_error(
        "{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": [{\"id\": \"x\"}]}",
        PC_EINVAL, "items[0] (item 'x'): missing \"type\"", NULL);
}

static void test_empty_items_are_rejected(void **state)
{
    (void)state;
    expect_error("{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": []}", PC_EINVAL,
                 "at least one item", NULL);
}

static void test_too_many_items_or_deps_are_limit_errors(void **state)
{
    struct pc_buf b;

    (void)state;
    pc_buf_init(&b, PC_FLOW_FILE_MAX);
    assert_int_equal(
        pc_buf_puts(&b, "{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": ["), 0);
    for (int i = 0; i <= PC_FLOW_ITEMS_MAX; i++) {
        assert_int_equal(
            pc_buf_appendf(&b, "%s{\"id\": \"i%d\", \"type\": \"t\"}", i ? "," : "", i), 0);
    }
    assert_int_equal(pc_buf_puts(&b, "]}"), 0);
    expect_error(b.data, PC_ELIMIT, "items: 10001 items", NULL);
    pc_buf_cleanup(&b);

    pc_buf_init(&b, PC_FLOW_FILE_MAX);
    assert_int_equal(
        pc_buf_puts(&b, "{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": "
                        "[{\"id\": \"x\", \"type\": \"t\"}, {\"id\": \"y\", \"type\": \"t\", "
                        "\"deps\": ["),
        0);
    for (int i = 0; i <= PC_FLOW_DEPS_MAX; i++) {
        assert_int_equal(pc_buf_appendf(&b, "%s\"x\"", i ? "," : ""), 0);
    }
    assert_int_equal(pc_buf_puts(&b, "]}]}"), 0);
    expect_error(b.data, PC_ELIMIT, "items[1].deps (item 'y')", NULL);
    pc_buf_cleanup(&b);
}

static void test_huge_input_is_refused_before_parsing(void **state)
{
    size_t n = PC_FLOW_FILE_MAX + 1;
    char *text = malloc(n);
    struct pc_flow f;
    struct pc_err err;

    (void)state;
    assert_non_null(text);
    memset(text, ' ', n);
    assert_int_equal(pc_flow_parse_json(text, n, "big.json", &f, &err), PC_ELIMIT);
    assert_non_null(strstr(err.msg, "big.json"));
    free(text);
}

static void test_null_error_record_and_null_source_are_accepted(void **state)
{
    struct pc_flow f;
    struct pc_err err;
    const char *bad = "{\"app\": 1}";

    (void)state;
    assert_int_equal(pc_flow_parse_json(bad, strlen(bad), "x", &f, NULL), PC_EINVAL);
    assert_int_equal(pc_flow_parse_json(bad, strlen(bad), NULL, &f, &err), PC_EINVAL);
    assert_true(strncmp(err.msg, "flow", 4) == 0);
    assert_int_equal(pc_flow_parse_json(valid_flow, strlen(valid_flow), NULL, &f, NULL), 0);
    pc_flow_cleanup(&f);
}

static void test_load_file_reads_and_names_the_path(void **state)
{
    char path[] = "/tmp/peace_flow_test_XXXXXX";
    int fd = mkstemp(path);
    struct pc_flow f;
    struct pc_err err;

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, valid_flow, strlen(valid_flow)), (ssize_t)strlen(valid_flow));
    assert_int_equal(close(fd), 0);
    assert_int_equal(pc_flow_load_file(path, &f, &err), 0);
    assert_int_equal(f.n_items, 3);
    pc_flow_cleanup(&f);

    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\n\"app\": x}", 11), 11);
    assert_int_equal(close(fd), 0);
    assert_int_equal(pc_flow_load_file(path, &f, &err), PC_EINVAL);
    assert_true(strncmp(err.msg, path, strlen(path)) == 0);
    assert_non_null(strstr(err.msg, ":2:"));
    assert_int_equal(unlink(path), 0);

    assert_int_equal(pc_flow_load_file(path, &f, &err), -ENOENT);
    assert_non_null(strstr(err.msg, path));
    assert_int_equal(pc_flow_load_file("/tmp", &f, &err), -EISDIR);
}

static void test_load_file_refuses_files_over_the_limit(void **state)
{
    char path[] = "/tmp/peace_flow_big_XXXXXX";
    int fd = mkstemp(path);
    struct pc_flow f;
    struct pc_err err;

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)PC_FLOW_FILE_MAX + 1), 0);
    assert_int_equal(close(fd), 0);
    assert_int_equal(pc_flow_load_file(path, &f, &err), PC_ELIMIT);
    assert_non_null(strstr(err.msg, "limit"));
    assert_int_equal(unlink(path), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_flow_parses_with_deps_resolved_in_flow_order),
        cmocka_unit_test(test_params_become_a_msgpack_map_of_the_same_values),
        cmocka_unit_test(test_missing_or_empty_params_become_the_empty_map),
        cmocka_unit_test(test_syntax_error_gives_line_and_column),
        cmocka_unit_test(test_syntax_error_column_points_at_the_fault),
        cmocka_unit_test(test_duplicate_object_keys_are_rejected),
        cmocka_unit_test(test_wrong_types_name_the_path),
        cmocka_unit_test(test_bad_identifiers_are_rejected),
        cmocka_unit_test(test_ids_of_64_bytes_pass_and_65_are_rejected),
        cmocka_unit_test(test_duplicate_ids_are_rejected),
        cmocka_unit_test(test_unknown_dependency_is_rejected_with_its_position),
        cmocka_unit_test(test_self_dependency_is_rejected),
        cmocka_unit_test(test_two_and_three_cycles_are_rejected),
        cmocka_unit_test(test_params_depth_limit_is_exact),
        cmocka_unit_test(test_params_larger_than_the_limit_are_rejected),
        cmocka_unit_test(test_unknown_keys_are_rejected),
        cmocka_unit_test(test_missing_fields_are_rejected),
        cmocka_unit_test(test_empty_items_are_rejected),
        cmocka_unit_test(test_too_many_items_or_deps_are_limit_errors),
        cmocka_unit_test(test_huge_input_is_refused_before_parsing),
        cmocka_unit_test(test_null_error_record_and_null_source_are_accepted),
        cmocka_unit_test(test_load_file_reads_and_names_the_path),
        cmocka_unit_test(test_load_file_refuses_files_over_the_limit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
