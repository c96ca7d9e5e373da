/*
 * test_params.c - the params accessors every item type uses: typed reads by
 * key, required versus optional keys, nil as absent, and a clear PC_EINVAL
 * naming the key for each malformed value (no crash, no leak under ASan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "item_test_support.h"
#include "peace/params.h"

static void map_get_finds_exact_keys_only(void **state)
{
    struct test_params tp;
    const msgpack_object *p = test_params_json(&tp, "{\"path\": \"a\", \"pathx\": 1, \"pat\": 2}");
    const msgpack_object *v = pc_msgpack_map_get(p, "path");

    (void)state;
    assert_non_null(v);
    assert_int_equal(v->type, MSGPACK_OBJECT_STR);
    assert_null(pc_msgpack_map_get(p, "pa"));
    assert_null(pc_msgpack_map_get(p, "missing"));
    assert_null(pc_msgpack_map_get(NULL, "path"));
    /* A non-map has no keys. */
    assert_null(pc_msgpack_map_get(v, "path"));
    test_params_free(&tp);
}

static void strdup_copies_strings_and_handles_absent_keys(void **state)
{
    struct test_params tp;
    const msgpack_object *p = test_params_json(&tp, "{\"name\": \"hello\", \"gone\": null}");
    struct pc_err err = {0};
    char *s = NULL;

    (void)state;
    assert_int_equal(pc_params_strdup(p, "name", true, 16, &s, &err), 0);
    assert_string_equal(s, "hello");
    free(s);
    s = (char *)"untouched";
    assert_int_equal(pc_params_strdup(p, "other", false, 16, &s, &err), 0);
    assert_null(s);
    /* nil counts as absent. */
    assert_int_equal(pc_params_strdup(p, "gone", false, 16, &s, &err), 0);
    assert_null(s);
    assert_int_equal(pc_params_strdup(p, "gone", true, 16, &s, &err), PC_EINVAL);
    assert_string_equal(err.msg, "params.gone: required");
    test_params_free(&tp);
}

static void strdup_rejects_wrong_types_long_strings_and_nul_bytes(void **state)
{
    struct test_params tp;
    const msgpack_object *p =
        test_params_json(&tp, "{\"n\": 5, \"long\": \"abcdef\", \"nul\": \"a\\u0000b\"}");
    struct pc_err err = {0};
    char *s = NULL;

    (void)state;
    assert_int_equal(pc_params_strdup(p, "n", true, 16, &s, &err), PC_EINVAL);
    assert_string_equal(err.msg, "params.n: expected a string");
    assert_int_equal(pc_params_strdup(p, "long", true, 5, &s, &err), PC_EINVAL);
    assert_string_equal(err.msg, "params.long: longer than 5 bytes");
    assert_int_equal(pc_params_strdup(p, "nul", true, 16, &s, &err), PC_EINVAL);
    assert_string_equal(err.msg, "params.nul: contains a NUL byte");
    assert_int_equal(pc_params_strdup(p, "missing", true, 16, &s, &err), PC_EINVAL);
    assert_string_equal(err.msg, "params.missing: required");
    assert_null(s);
    test_params_free(&tp);
}

static void u64_reads_non_negative_integers_only(void **state)
{
    struct test_params tp;
    const msgpack_object *p =
        test_params_json(&tp, "{\"n\": 42, \"neg\": -1, \"real\": 1.5, \"text\": \"3\"}");
    struct pc_err err = {0};
    uint64_t v = 7;

    (void)state;
    assert_int_equal(pc_params_u64(p, "n", true, &v, &err), 0);
    assert_int_equal(v, 42);
    v = 7;
    assert_int_equal(pc_params_u64(p, "absent", false, &v, &err), 0);
    assert_int_equal(v, 7);
    assert_int_equal(pc_params_u64(p, "absent", true, &v, &err), PC_EINVAL);
    assert_string_equal(err.msg, "params.absent: required");
    assert_int_equal(pc_params_u64(p, "neg", true, &v, &err), PC_EINVAL);
    assert_string_equal(err.msg, "params.neg: expected a non-negative integer");
    assert_int_equal(pc_params_u64(p, "real", true, &v, &err), PC_EINVAL);
    assert_string_equal(err.msg, "params.real: expected a non-negative integer");
    assert_int_equal(pc_params_u64(p, "text", true, &v, &err), PC_EINVAL);
    assert_string_equal(err.msg, "params.text: expected a non-negative integer");
    assert_int_equal(v, 7);
    test_params_free(&tp);
}

static void argv_reads_string_arrays(void **state)
{
    struct test_params tp;
    const msgpack_object *p =
        test_params_json(&tp, "{\"cmd\": [\"/bin/sh\", \"-c\", \"echo hi\"]}");
    struct pc_err err = {0};
    char **argv = NULL;

    (void)state;
    assert_int_equal(pc_params_argv(p, "cmd", true, 8, &argv, &err), 0);
    assert_string_equal(argv[0], "/bin/sh");
    assert_string_equal(argv[1], "-c");
    assert_string_equal(argv[2], "echo hi");
    assert_null(argv[3]);
    pc_argv_free(argv);
    argv = (char **)&err; /* any non-NULL value: must be overwritten */
    assert_int_equal(pc_params_argv(p, "none", false, 8, &argv, &err), 0);
    assert_null(argv);
    pc_argv_free(NULL);
    test_params_free(&tp);
}

static void argv_rejects_malformed_arrays_naming_the_element(void **state)
{
    static const struct {
        const char *json;
        const char *msg;
    } cases[] = {
        {"{\"cmd\": \"echo\"}", "params.cmd: expected an array of strings (argv)"},
        {"{\"cmd\": []}", "params.cmd: empty argv (needs at least the program)"},
        {"{\"cmd\": [\"a\", 2]}", "params.cmd[1]: expected a string"},
        {"{\"cmd\": [\"a\", \"b\\u0000\"]}", "params.cmd[1]: contains a NUL byte"},
        {"{\"cmd\": [\"a\", \"b\", \"c\", \"d\"]}", "params.cmd: more than 3 arguments"},
        {"{}", "params.cmd: required"},
        {"[1]", "params: expected a map"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct test_params tp;
        const msgpack_object *p = test_params_json(&tp, "%s", cases[i].json);
        struct pc_err err = {0};
        char **argv = NULL;

        assert_int_equal(pc_params_argv(p, "cmd", true, 3, &argv, &err), PC_EINVAL);
        assert_string_equal(err.msg, cases[i].msg);
        assert_null(argv);
        test_params_free(&tp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(map_get_finds_exact_keys_only),
        cmocka_unit_test(strdup_copies_strings_and_handles_absent_keys),
        cmocka_unit_test(strdup_rejects_wrong_types_long_strings_and_nul_bytes),
        cmocka_unit_test(u64_reads_non_negative_integers_only),
        cmocka_unit_test(argv_reads_string_arrays),
        cmocka_unit_test(argv_rejects_malformed_arrays_naming_the_element),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
