/*
 * test_item_sh_cmd.c - the `sh_cmd` item type with real processes: output
 * and exit code capture, no implicit shell, signals, spawn failures, the
 * output bound (the child is killed), stdouts passed on as arguments, the
 * check script's true/false/garbage answers, apply re-reading the current
 * state, clean, equality and params errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "item_test_support.h"
#include "peace/items.h"

struct fx {
    struct scratch scratch;
    struct progress_rec rec;
    struct pc_item_ctx ctx;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    scratch_init(&f->scratch);
    progress_rec_ctx(&f->rec, &f->ctx, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    scratch_cleanup(&f->scratch);
    free(f);
    return 0;
}

/* Params whose required scripts are trivial unless given in `fields`. */
static void *sh_params(const char *fields)
{
    struct test_params tp;
    void *p = NULL;

    test_params_json(&tp,
                     "{\"state_current\": [\"true\"], \"state_goal\": [\"true\"], "
                     "\"apply_exec\": [\"true\"], %s}",
                     fields);
    p = params_create_ok(&pc_item_sh_cmd, tp.obj);
    test_params_free(&tp);
    return p;
}

/* Runs state_current and expects success. */
static void current_ok(struct fx *f, const void *p, struct pc_state *out)
{
    struct pc_err err = {0};

    if (pc_item_sh_cmd.state_current(&f->ctx, p, out, &err) != 0) {
        fail_msg("state_current: %s", err.msg);
    }
}

static void expect_str(const struct pc_state *s, const char *key, const char *want)
{
    char *got = state_str(s, key);

    assert_string_equal(got, want);
    free(got);
}

/* An sh_cmd state with the given stdout (stderr empty, exit 0). */
static void state_with_stdout(struct pc_state *out, const char *stdout_json)
{
    state_from_json(out, "{\"stdout\": \"%s\", \"stderr\": \"\", \"exit_code\": 0}", stdout_json);
}

static void current_captures_stdout_stderr_and_exit_code(void **state)
{
    struct fx *f = *state;
    void *p = NULL;
    struct pc_state cur = {0};

    p = sh_params("\"state_current\": [\"/bin/sh\", \"-c\", \"echo out; echo err >&2; exit 3\"]");
    current_ok(f, p, &cur);
    expect_str(&cur, "stdout", "out\n");
    expect_str(&cur, "stderr", "err\n");
    assert_int_equal(state_i64(&cur, "exit_code"), 3);
    /* One tick per stdout line, carrying the line. */
    assert_int_equal(f->rec.n_tick, 1);
    assert_string_equal(f->rec.last_msg, "out");
    pc_state_clear(&cur);
    pc_item_sh_cmd.params_destroy(p);
}

static void programs_run_without_a_shell(void **state)
{
    struct fx *f = *state;
    void *p = sh_params("\"state_current\": [\"printf\", \"%s|\", \"a b\", \"$HOME\", \"*\"]");
    struct pc_state cur = {0};

    current_ok(f, p, &cur);
    /* No word splitting, no expansion, no globbing. */
    expect_str(&cur, "stdout", "a b|$HOME|*|");
    assert_int_equal(state_i64(&cur, "exit_code"), 0);
    pc_state_clear(&cur);
    pc_item_sh_cmd.params_destroy(p);
}

static void stdin_is_empty(void **state)
{
    struct fx *f = *state;
    void *p = sh_params("\"state_current\": [\"wc\", \"-c\"]");
    struct pc_state cur = {0};
    char *out = NULL;

    current_ok(f, p, &cur);
    out = state_str(&cur, "stdout");
    assert_int_equal(strtol(out, NULL, 10), 0);
    free(out);
    pc_state_clear(&cur);
    pc_item_sh_cmd.params_destroy(p);
}

static void death_by_signal_records_a_nil_exit_code(void **state)
{
    struct fx *f = *state;
    void *p = sh_params("\"state_current\": [\"/bin/sh\", \"-c\", \"echo before; kill -9 $$\"]");
    struct pc_state cur = {0};

    current_ok(f, p, &cur);
    expect_str(&cur, "stdout", "before\n");
    assert_true(state_is_nil(&cur, "exit_code"));
    pc_state_clear(&cur);
    pc_item_sh_cmd.params_destroy(p);
}

static void a_program_that_cannot_start_is_an_error(void **state)
{
    struct fx *f = *state;
    void *p = sh_params("\"state_current\": [\"/nonexistent/prog\", \"x\"]");
    struct pc_state cur = {0};
    struct pc_err err = {0};

    assert_true(pc_item_sh_cmd.state_current(&f->ctx, p, &cur, &err) < 0);
    assert_string_equal(err.msg,
                        "state_current: cannot run /nonexistent/prog: No such file or directory");
    assert_null(cur.data);
    pc_item_sh_cmd.params_destroy(p);
}

static void large_output_is_captured_on_both_streams(void **state)
{
    struct fx *f = *state;
    /* 60000 bytes on stderr, then 1000 lines on stdout, then more stderr. */
    void *p = sh_params("\"state_current\": [\"/bin/sh\", \"-c\", "
                        "\"head -c 60000 /dev/zero | tr '\\\\0' e >&2; "
                        "i=0; while [ $i -lt 1000 ]; do echo line$i; i=$((i+1)); done; "
                        "head -c 5000 /dev/zero | tr '\\\\0' f >&2\"]");
    struct pc_state cur = {0};
    char *out = NULL;
    char *errs = NULL;

    current_ok(f, p, &cur);
    out = state_str(&cur, "stdout");
    errs = state_str(&cur, "stderr");
    assert_int_equal(strlen(errs), 65000);
    assert_true(errs[0] == 'e' && errs[59999] == 'e' && errs[60000] == 'f');
    assert_int_equal(strncmp(out, "line0\nline1\n", 12), 0);
    assert_non_null(strstr(out, "line999\n"));
    assert_int_equal(f->rec.n_tick, 1000);
    assert_string_equal(f->rec.last_msg, "line999");
    free(out);
    free(errs);
    pc_state_clear(&cur);
    pc_item_sh_cmd.params_destroy(p);
}

static void output_over_the_bound_is_an_error_and_the_child_is_killed(void **state)
{
    struct fx *f = *state;
    /* `yes` never ends on its own: only the kill lets this test finish. */
    void *p = sh_params("\"state_current\": [\"yes\"]");
    struct pc_state cur = {0};
    struct pc_err err = {0};

    assert_int_equal(pc_item_sh_cmd.state_current(&f->ctx, p, &cur, &err), PC_ELIMIT);
    assert_string_equal(err.msg, "state_current: stdout exceeds 65536 bytes");
    assert_null(cur.data);
    pc_item_sh_cmd.params_destroy(p);
}

static void diff_passes_both_stdouts_as_arguments(void **state)
{
    struct fx *f = *state;
    void *p = sh_params("\"state_diff\": [\"/bin/sh\", \"-c\", "
                        "\"printf '%s->%s' \\\"$1\\\" \\\"$2\\\"; echo warn >&2\", \"sh\"]");
    void *plain = sh_params("\"state_goal\": [\"echo\", \"x\"]");
    struct pc_state a = {0}, b = {0}, diff = {0};
    struct pc_err err = {0};

    (void)f;
    state_with_stdout(&a, "old value");
    state_with_stdout(&b, "new value");
    assert_int_equal(pc_item_sh_cmd.state_diff(p, &a, &b, &diff, &err), 0);
    expect_str(&diff, "stdout", "old value->new value");
    expect_str(&diff, "stderr", "warn\n");
    pc_state_clear(&diff);
    /* Without a diff script the diff is empty. */
    assert_int_equal(pc_item_sh_cmd.state_diff(plain, &a, &b, &diff, &err), 0);
    expect_str(&diff, "stdout", "");
    expect_str(&diff, "stderr", "");
    pc_state_clear(&a);
    pc_state_clear(&b);
    pc_state_clear(&diff);
    pc_item_sh_cmd.params_destroy(p);
    pc_item_sh_cmd.params_destroy(plain);
}

/* Runs apply_check with the given check script body. */
static int run_check(const char *script, bool *required, struct pc_limit *limit, struct pc_err *err)
{
    char fields[512];
    void *p = NULL;
    struct pc_state cur = {0}, tgt = {0}, diff = {0};
    struct pc_apply_check ck = {.exec_required = !*required};
    int rc = 0;

    snprintf(fields, sizeof(fields), "\"apply_check\": [\"/bin/sh\", \"-c\", \"%s\", \"sh\"]",
             script);
    p = sh_params(fields);
    state_with_stdout(&cur, "cur");
    state_with_stdout(&tgt, "tgt");
    state_from_json(&diff, "{\"stdout\": \"d\", \"stderr\": \"\"}");
    rc = pc_item_sh_cmd.apply_check(p, &cur, &tgt, &diff, &ck, err);
    if (rc == 0) {
        *required = ck.exec_required;
        *limit = ck.limit;
    }
    pc_state_clear(&cur);
    pc_state_clear(&tgt);
    pc_state_clear(&diff);
    pc_item_sh_cmd.params_destroy(p);
    return rc;
}

static void check_answers_true_or_false_from_its_last_line(void **state)
{
    struct pc_limit limit = {0};
    struct pc_err err = {0};
    bool required = false;

    (void)state;
    /* The three states' stdouts arrive as $1 $2 $3. */
    assert_int_equal(
        run_check("echo checking; [ \\\"$1/$2/$3\\\" = cur/tgt/d ] && echo true || echo "
                  "false",
                  &required, &limit, &err),
        0);
    assert_true(required);
    assert_int_equal(limit.kind, PC_LIMIT_UNKNOWN);
    required = true;
    assert_int_equal(run_check("echo false", &required, &limit, &err), 0);
    assert_false(required);
    /* Trailing blank lines and spaces do not count. */
    required = false;
    assert_int_equal(run_check("printf 'x\\\\n  true \\\\n\\\\n'", &required, &limit, &err), 0);
    assert_true(required);
    /* The exit code does not matter, only the answer. */
    required = false;
    assert_int_equal(run_check("echo true; exit 4", &required, &limit, &err), 0);
    assert_true(required);
}

static void check_garbage_is_an_error_naming_the_output(void **state)
{
    struct pc_limit limit = {0};
    struct pc_err err = {0};
    bool required = false;

    (void)state;
    assert_int_equal(run_check("echo true; echo maybe; exit 2", &required, &limit, &err), PC_EITEM);
    assert_string_equal(err.msg, "apply_check: last stdout line must be \"true\" or \"false\", got "
                                 "\"maybe\" (exit code 2)");
    assert_int_equal(run_check("true", &required, &limit, &err), PC_EITEM);
    assert_string_equal(err.msg, "apply_check: last stdout line must be \"true\" or \"false\", got "
                                 "\"\" (exit code 0)");
    assert_int_equal(run_check("echo TRUE", &required, &limit, &err), PC_EITEM);
}

static void without_a_check_script_apply_is_needed_when_states_differ(void **state)
{
    void *p = sh_params("\"state_goal\": [\"echo\", \"x\"]");
    struct pc_state a = {0}, b = {0};
    struct pc_apply_check ck = {0};
    struct pc_err err = {0};

    (void)state;
    state_with_stdout(&a, "same");
    state_with_stdout(&b, "same");
    ck.exec_required = true;
    assert_int_equal(pc_item_sh_cmd.apply_check(p, &a, &b, NULL, &ck, &err), 0);
    assert_false(ck.exec_required);
    pc_state_clear(&b);
    state_with_stdout(&b, "other");
    assert_int_equal(pc_item_sh_cmd.apply_check(p, &a, &b, NULL, &ck, &err), 0);
    assert_true(ck.exec_required);
    assert_int_equal(ck.limit.kind, PC_LIMIT_UNKNOWN);
    pc_state_clear(&a);
    pc_state_clear(&b);
    pc_item_sh_cmd.params_destroy(p);
}

static void apply_runs_exec_then_returns_the_reread_current_state(void **state)
{
    struct fx *f = *state;
    char fields[1024];
    void *p = NULL;
    struct pc_state cur = {0}, goal = {0}, diff = {0}, applied = {0};
    struct pc_err err = {0};

    snprintf(
        fields, sizeof(fields),
        "\"state_current\": [\"/bin/sh\", \"-c\", \"cat %s/v 2>/dev/null || echo none\"], "
        "\"state_goal\": [\"echo\", \"v2\"], "
        "\"apply_exec\": [\"/bin/sh\", \"-c\", \"echo applying; printf '%%s' \\\"$2\\\" > %s/v\", "
        "\"sh\"]",
        f->scratch.dir, f->scratch.dir);
    p = sh_params(fields);
    current_ok(f, p, &cur);
    expect_str(&cur, "stdout", "none\n");
    assert_int_equal(pc_item_sh_cmd.state_goal(&f->ctx, p, &goal, &err), 0);
    assert_int_equal(pc_item_sh_cmd.state_diff(p, &cur, &goal, &diff, &err), 0);
    assert_int_equal(pc_item_sh_cmd.apply(&f->ctx, p, &cur, &goal, &diff, &applied, &err), 0);
    expect_str(&applied, "stdout", "v2\n");
    assert_true(pc_item_sh_cmd.state_eq(p, &applied, &goal));
    /* apply_exec's "applying" and state_current's "v2" lines. */
    assert_string_equal(f->rec.last_msg, "v2");

    pc_state_clear(&cur);
    pc_state_clear(&goal);
    pc_state_clear(&diff);
    pc_state_clear(&applied);
    pc_item_sh_cmd.params_destroy(p);
}

static void apply_exec_failing_is_reported_not_an_error(void **state)
{
    struct fx *f = *state;
    void *p = sh_params("\"state_current\": [\"echo\", \"unchanged\"], "
                        "\"apply_exec\": [\"/bin/sh\", \"-c\", \"exit 7\"]");
    struct pc_state cur = {0}, tgt = {0}, applied = {0};
    struct pc_err err = {0};

    current_ok(f, p, &cur);
    state_with_stdout(&tgt, "wanted\\n");
    f->rec.n_tick = 0;
    assert_int_equal(pc_item_sh_cmd.apply(&f->ctx, p, &cur, &tgt, NULL, &applied, &err), 0);
    /* The re-read state shows that nothing changed. */
    expect_str(&applied, "stdout", "unchanged\n");
    assert_false(pc_item_sh_cmd.state_eq(p, &applied, &tgt));
    assert_true(f->rec.n_tick >= 1);
    pc_state_clear(&cur);
    pc_state_clear(&tgt);
    pc_state_clear(&applied);
    pc_item_sh_cmd.params_destroy(p);
}

static void a_stdout_with_nul_cannot_be_passed_as_an_argument(void **state)
{
    struct fx *f = *state;
    void *p = sh_params("\"apply_exec\": [\"true\"]");
    struct pc_state cur = {0}, tgt = {0}, out = {0};
    struct pc_err err = {0};

    state_with_stdout(&cur, "a\\u0000b");
    state_with_stdout(&tgt, "x");
    assert_int_equal(pc_item_sh_cmd.apply(&f->ctx, p, &cur, &tgt, NULL, &out, &err), PC_EINVAL);
    assert_string_equal(err.msg,
                        "current state.stdout contains a NUL byte: cannot pass it as an argument");
    assert_null(out.data);
    pc_state_clear(&cur);
    pc_state_clear(&tgt);
    pc_item_sh_cmd.params_destroy(p);
}

static void clean_state_is_empty_or_from_its_script(void **state)
{
    void *plain = sh_params("\"state_goal\": [\"true\"]");
    void *scripted = sh_params("\"state_clean\": [\"/bin/sh\", \"-c\", \"echo gone; exit 1\"]");
    struct pc_state clean = {0};
    struct pc_err err = {0};

    (void)state;
    assert_int_equal(pc_item_sh_cmd.state_clean(plain, &clean, &err), 0);
    expect_str(&clean, "stdout", "");
    expect_str(&clean, "stderr", "");
    assert_int_equal(state_i64(&clean, "exit_code"), 0);
    pc_state_clear(&clean);
    assert_int_equal(pc_item_sh_cmd.state_clean(scripted, &clean, &err), 0);
    expect_str(&clean, "stdout", "gone\n");
    assert_int_equal(state_i64(&clean, "exit_code"), 1);
    pc_state_clear(&clean);
    pc_item_sh_cmd.params_destroy(plain);
    pc_item_sh_cmd.params_destroy(scripted);
}

static void apply_dry_returns_target_without_running_anything(void **state)
{
    struct fx *f = *state;
    char fields[512];
    char marker[300];
    void *p = NULL;
    struct pc_state cur = {0}, tgt = {0}, dry = {0};
    struct pc_err err = {0};

    snprintf(marker, sizeof(marker), "%s/ran", f->scratch.dir);
    snprintf(fields, sizeof(fields), "\"apply_exec\": [\"touch\", \"%s\"]", marker);
    p = sh_params(fields);
    state_with_stdout(&cur, "a");
    state_with_stdout(&tgt, "b");
    assert_int_equal(pc_item_sh_cmd.apply_dry(&f->ctx, p, &cur, &tgt, NULL, &dry, &err), 0);
    assert_true(pc_state_bytes_eq(&dry, &tgt));
    assert_int_equal(access(marker, F_OK), -1);
    pc_state_clear(&cur);
    pc_state_clear(&tgt);
    pc_state_clear(&dry);
    pc_item_sh_cmd.params_destroy(p);
}

static void state_eq_compares_stdout_stderr_and_exit_code(void **state)
{
    struct pc_state a = {0}, b = {0};

    (void)state;
    state_from_json(&a, "{\"stdout\": \"x\", \"stderr\": \"e\", \"exit_code\": 0}");
    state_from_json(&b, "{\"exit_code\": 0, \"stderr\": \"e\", \"stdout\": \"x\"}");
    assert_true(pc_item_sh_cmd.state_eq(NULL, &a, &b));
    pc_state_clear(&b);
    state_from_json(&b, "{\"stdout\": \"x\", \"stderr\": \"other\", \"exit_code\": 0}");
    assert_false(pc_item_sh_cmd.state_eq(NULL, &a, &b));
    pc_state_clear(&b);
    state_from_json(&b, "{\"stdout\": \"x\", \"stderr\": \"e\", \"exit_code\": 1}");
    assert_false(pc_item_sh_cmd.state_eq(NULL, &a, &b));
    pc_state_clear(&b);
    state_from_json(&b, "{\"stdout\": \"x\", \"stderr\": \"e\", \"exit_code\": null}");
    assert_false(pc_item_sh_cmd.state_eq(NULL, &a, &b));
    pc_state_clear(&a);
    pc_state_clear(&b);
}

static void bad_params_are_einval_naming_the_key(void **state)
{
    static const struct {
        const char *json;
        const char *msg;
    } cases[] = {
        {"{\"state_goal\": [\"a\"], \"apply_exec\": [\"a\"]}", "params.state_current: required"},
        {"{\"state_current\": [\"a\"], \"apply_exec\": [\"a\"]}", "params.state_goal: required"},
        {"{\"state_current\": [\"a\"], \"state_goal\": [\"a\"]}", "params.apply_exec: required"},
        {"{\"state_current\": \"echo hi\", \"state_goal\": [\"a\"], \"apply_exec\": [\"a\"]}",
         "params.state_current: expected an array of strings (argv)"},
        {"{\"state_current\": [\"a\"], \"state_goal\": [], \"apply_exec\": [\"a\"]}",
         "params.state_goal: empty argv (needs at least the program)"},
        {"{\"state_current\": [\"a\"], \"state_goal\": [\"a\"], \"apply_exec\": [\"a\"], "
         "\"state_diff\": [\"a\", true]}",
         "params.state_diff[1]: expected a string"},
        {"{\"state_current\": [\"a\"], \"state_goal\": [\"a\"], \"apply_exec\": [\"a\"], "
         "\"apply_check\": {}}",
         "params.apply_check: expected an array of strings (argv)"},
        {"{\"state_current\": [\"a\"], \"state_goal\": [\"a\"], \"apply_exec\": [\"a\"], "
         "\"state_clean\": [1]}",
         "params.state_clean[0]: expected a string"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct test_params tp;

        test_params_json(&tp, "%s", cases[i].json);
        assert_string_equal(params_create_err(&pc_item_sh_cmd, tp.obj, PC_EINVAL), cases[i].msg);
        test_params_free(&tp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(current_captures_stdout_stderr_and_exit_code, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(programs_run_without_a_shell, setup, teardown),
        cmocka_unit_test_setup_teardown(stdin_is_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(death_by_signal_records_a_nil_exit_code, setup, teardown),
        cmocka_unit_test_setup_teardown(a_program_that_cannot_start_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(large_output_is_captured_on_both_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(output_over_the_bound_is_an_error_and_the_child_is_killed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(diff_passes_both_stdouts_as_arguments, setup, teardown),
        cmocka_unit_test(check_answers_true_or_false_from_its_last_line),
        cmocka_unit_test(check_garbage_is_an_error_naming_the_output),
        cmocka_unit_test(without_a_check_script_apply_is_needed_when_states_differ),
        cmocka_unit_test_setup_teardown(apply_runs_exec_then_returns_the_reread_current_state,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(apply_exec_failing_is_reported_not_an_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_stdout_with_nul_cannot_be_passed_as_an_argument, setup,
                                        teardown),
        cmocka_unit_test(clean_state_is_empty_or_from_its_script),
        cmocka_unit_test_setup_teardown(apply_dry_returns_target_without_running_anything, setup,
                                        teardown),
        cmocka_unit_test(state_eq_compares_stdout_stderr_and_exit_code),
        cmocka_unit_test(bad_params_are_einval_naming_the_key),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
