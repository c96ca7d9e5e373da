/*
 * test_item_file.c - the `file` item type against a real scratch directory:
 * ensure (create, content, mode, parents), idempotence, mode-only changes,
 * binary content from base64, clean, dry runs, atomic replacement with no
 * temporary file left behind (also when the rename fails), field-wise state
 * equality, and a clear PC_EINVAL naming the key for each bad param.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "item_test_support.h"
#include "peace/items.h"

/* sha256("hello\n") */
#define HELLO_SHA "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"

struct fx {
    struct scratch scratch;
    char path[256];
    struct progress_rec rec;
    struct pc_item_ctx ctx;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    scratch_init(&f->scratch);
    snprintf(f->path, sizeof(f->path), "%s/sub/dir/a.txt", f->scratch.dir);
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

static void *file_params(const char *path, const char *extra)
{
    struct test_params tp;
    void *p = NULL;

    test_params_json(&tp, "{\"path\": \"%s\"%s}", path, extra);
    p = params_create_ok(&pc_item_file, tp.obj);
    test_params_free(&tp);
    return p;
}

static void discover(struct fx *f, const void *p, struct pc_state *cur, struct pc_state *goal)
{
    struct pc_err err = {0};

    if (cur != NULL && pc_item_file.state_current(&f->ctx, p, cur, &err) != 0) {
        fail_msg("state_current: %s", err.msg);
    }
    if (goal != NULL && pc_item_file.state_goal(&f->ctx, p, goal, &err) != 0) {
        fail_msg("state_goal: %s", err.msg);
    }
}

static struct pc_apply_check check(const void *p, const struct pc_state *cur,
                                   const struct pc_state *tgt)
{
    struct pc_state diff = {0};
    struct pc_apply_check ck = {0};
    struct pc_err err = {0};

    assert_int_equal(pc_item_file.state_diff(p, cur, tgt, &diff, &err), 0);
    assert_int_equal(pc_item_file.apply_check(p, cur, tgt, &diff, &ck, &err), 0);
    pc_state_clear(&diff);
    return ck;
}

static void apply_ok(struct fx *f, const void *p, const struct pc_state *cur,
                     const struct pc_state *tgt, struct pc_state *out)
{
    struct pc_err err = {0};

    if (pc_item_file.apply(&f->ctx, p, cur, tgt, NULL, out, &err) != 0) {
        fail_msg("apply: %s", err.msg);
    }
}

static void diff_change_is(const void *p, const struct pc_state *a, const struct pc_state *b,
                           const char *change)
{
    struct pc_state diff = {0};
    struct pc_err err = {0};
    char *got = NULL;

    assert_int_equal(pc_item_file.state_diff(p, a, b, &diff, &err), 0);
    got = state_str(&diff, "change");
    assert_string_equal(got, change);
    free(got);
    pc_state_clear(&diff);
}

static void ensure_creates_the_file_with_content_mode_and_parents(void **state)
{
    struct fx *f = *state;
    void *p = file_params(f->path, ", \"content\": \"hello\\n\", \"mode\": \"0600\"");
    struct pc_state cur = {0}, goal = {0}, clean = {0}, applied = {0};
    struct pc_apply_check ck;
    struct pc_err err = {0};
    struct stat st;
    char *text = NULL;
    char *sha = NULL;
    char dir[300];

    discover(f, p, &cur, &goal);
    assert_false(state_bool(&cur, "exists"));
    /* An absent file is exactly the clean state. */
    assert_int_equal(pc_item_file.state_clean(p, &clean, &err), 0);
    assert_true(pc_state_bytes_eq(&cur, &clean));
    assert_true(state_bool(&goal, "exists"));
    assert_int_equal(state_u64(&goal, "size"), 6);
    sha = state_str(&goal, "sha256");
    assert_string_equal(sha, HELLO_SHA);
    free(sha);
    diff_change_is(p, &cur, &goal, "create");

    ck = check(p, &cur, &goal);
    assert_true(ck.exec_required);
    assert_int_equal(ck.limit.kind, PC_LIMIT_BYTES);
    assert_int_equal(ck.limit.n, 6);

    apply_ok(f, p, &cur, &goal, &applied);
    assert_true(pc_state_bytes_eq(&applied, &goal));
    assert_int_equal(f->rec.units, 6);
    text = read_file_text(f->path, NULL);
    assert_string_equal(text, "hello\n");
    free(text);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    /* The temporary file was renamed, not left next to the target. */
    snprintf(dir, sizeof(dir), "%s/sub/dir", f->scratch.dir);
    assert_int_equal(dir_entries(dir), 1);

    pc_state_clear(&cur);
    pc_state_clear(&goal);
    pc_state_clear(&clean);
    pc_state_clear(&applied);
    pc_item_file.params_destroy(p);
}

static void ensure_is_idempotent(void **state)
{
    struct fx *f = *state;
    void *p = file_params(f->path, ", \"content\": \"hello\\n\"");
    struct pc_state cur = {0}, goal = {0}, applied = {0}, again = {0};
    struct pc_apply_check ck;
    char *mode = NULL;

    discover(f, p, &cur, &goal);
    mode = state_str(&goal, "mode");
    assert_string_equal(mode, "0644");
    free(mode);
    apply_ok(f, p, &cur, &goal, &applied);

    discover(f, p, &again, NULL);
    assert_true(pc_state_bytes_eq(&again, &goal));
    assert_true(pc_item_file.state_eq(NULL, &again, &goal));
    diff_change_is(p, &again, &goal, "none");
    ck = check(p, &again, &goal);
    assert_false(ck.exec_required);

    pc_state_clear(&cur);
    pc_state_clear(&goal);
    pc_state_clear(&applied);
    pc_state_clear(&again);
    pc_item_file.params_destroy(p);
}

static void mode_only_change_chmods_in_place(void **state)
{
    struct fx *f = *state;
    void *p = NULL;
    struct pc_state cur = {0}, goal = {0}, applied = {0};
    struct pc_apply_check ck;
    struct stat before, after;
    char *mode = NULL;

    snprintf(f->path, sizeof(f->path), "%s/m.txt", f->scratch.dir);
    write_file_text(f->path, "hello\n");
    assert_int_equal(chmod(f->path, 0644), 0);
    assert_int_equal(stat(f->path, &before), 0);
    p = file_params(f->path, ", \"content\": \"hello\\n\", \"mode\": \"0640\"");

    discover(f, p, &cur, &goal);
    diff_change_is(p, &cur, &goal, "update");
    ck = check(p, &cur, &goal);
    assert_true(ck.exec_required);
    assert_int_equal(ck.limit.kind, PC_LIMIT_STEPS);
    assert_int_equal(ck.limit.n, 1);
    apply_ok(f, p, &cur, &goal, &applied);
    mode = state_str(&applied, "mode");
    assert_string_equal(mode, "0640");
    free(mode);
    assert_int_equal(stat(f->path, &after), 0);
    /* Same inode: the file was not rewritten. */
    assert_int_equal(before.st_ino, after.st_ino);
    assert_int_equal(after.st_mode & 07777, 0640);
    assert_int_equal(f->rec.units, 1);

    pc_state_clear(&cur);
    pc_state_clear(&goal);
    pc_state_clear(&applied);
    pc_item_file.params_destroy(p);
}

static void content_change_replaces_the_file_atomically(void **state)
{
    struct fx *f = *state;
    void *p = NULL;
    struct pc_state cur = {0}, goal = {0}, applied = {0};
    struct stat before, after;
    char *text = NULL;

    snprintf(f->path, sizeof(f->path), "%s/r.txt", f->scratch.dir);
    write_file_text(f->path, "old content");
    assert_int_equal(stat(f->path, &before), 0);
    p = file_params(f->path, ", \"content\": \"new\"");
    discover(f, p, &cur, &goal);
    diff_change_is(p, &cur, &goal, "update");
    apply_ok(f, p, &cur, &goal, &applied);
    text = read_file_text(f->path, NULL);
    assert_string_equal(text, "new");
    free(text);
    assert_int_equal(stat(f->path, &after), 0);
    /* A new inode renamed over the old one, never an in-place rewrite. */
    assert_true(before.st_ino != after.st_ino);
    assert_int_equal(dir_entries(f->scratch.dir), 1);

    pc_state_clear(&cur);
    pc_state_clear(&goal);
    pc_state_clear(&applied);
    pc_item_file.params_destroy(p);
}

static void content_base64_writes_binary_bytes(void **state)
{
    struct fx *f = *state;
    void *p = file_params(f->path, ", \"content_base64\": \"AAEC/w==\"");
    struct pc_state cur = {0}, goal = {0}, applied = {0};
    static const unsigned char want[] = {0x00, 0x01, 0x02, 0xff};
    char *bytes = NULL;
    size_t len = 0;

    discover(f, p, &cur, &goal);
    assert_int_equal(state_u64(&goal, "size"), 4);
    apply_ok(f, p, &cur, &goal, &applied);
    bytes = read_file_text(f->path, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(bytes, want, 4);
    free(bytes);

    pc_state_clear(&cur);
    pc_state_clear(&goal);
    pc_state_clear(&applied);
    pc_item_file.params_destroy(p);
}

static void empty_content_is_one_step(void **state)
{
    struct fx *f = *state;
    void *p = file_params(f->path, ", \"content\": \"\"");
    struct pc_state cur = {0}, goal = {0}, applied = {0};
    struct pc_apply_check ck;
    size_t len = 99;
    char *text = NULL;

    discover(f, p, &cur, &goal);
    ck = check(p, &cur, &goal);
    assert_true(ck.exec_required);
    assert_int_equal(ck.limit.kind, PC_LIMIT_STEPS);
    assert_int_equal(ck.limit.n, 1);
    apply_ok(f, p, &cur, &goal, &applied);
    assert_int_equal(f->rec.units, 1);
    text = read_file_text(f->path, &len);
    assert_non_null(text);
    assert_int_equal(len, 0);
    free(text);

    pc_state_clear(&cur);
    pc_state_clear(&goal);
    pc_state_clear(&applied);
    pc_item_file.params_destroy(p);
}

static void clean_removes_the_file_and_then_needs_nothing(void **state)
{
    struct fx *f = *state;
    void *p = file_params(f->path, ", \"content\": \"hello\\n\"");
    struct pc_state cur = {0}, goal = {0}, clean = {0}, applied = {0}, after = {0}, gone = {0};
    struct pc_apply_check ck;
    struct pc_err err = {0};
    char *sha = NULL;

    discover(f, p, &cur, &goal);
    apply_ok(f, p, &cur, &goal, &applied);
    assert_int_equal(pc_item_file.state_clean(p, &clean, &err), 0);
    assert_false(state_bool(&clean, "exists"));
    assert_int_equal(state_u64(&clean, "size"), 0);
    sha = state_str(&clean, "sha256");
    assert_string_equal(sha, "");
    free(sha);

    discover(f, p, &after, NULL);
    diff_change_is(p, &after, &clean, "delete");
    ck = check(p, &after, &clean);
    assert_true(ck.exec_required);
    assert_int_equal(ck.limit.kind, PC_LIMIT_STEPS);
    assert_int_equal(ck.limit.n, 1);
    apply_ok(f, p, &after, &clean, &gone);
    assert_true(pc_state_bytes_eq(&gone, &clean));
    assert_int_equal(access(f->path, F_OK), -1);

    pc_state_clear(&after);
    discover(f, p, &after, NULL);
    ck = check(p, &after, &clean);
    assert_false(ck.exec_required);

    pc_state_clear(&cur);
    pc_state_clear(&goal);
    pc_state_clear(&clean);
    pc_state_clear(&applied);
    pc_state_clear(&after);
    pc_state_clear(&gone);
    pc_item_file.params_destroy(p);
}

static void apply_dry_returns_target_and_touches_nothing(void **state)
{
    struct fx *f = *state;
    void *p = file_params(f->path, ", \"content\": \"hello\\n\"");
    struct pc_state cur = {0}, goal = {0}, dry = {0};
    struct pc_err err = {0};

    discover(f, p, &cur, &goal);
    assert_int_equal(pc_item_file.apply_dry(&f->ctx, p, &cur, &goal, NULL, &dry, &err), 0);
    assert_true(pc_state_bytes_eq(&dry, &goal));
    assert_int_equal(access(f->path, F_OK), -1);
    assert_int_equal(dir_entries(f->scratch.dir), 0);

    pc_state_clear(&cur);
    pc_state_clear(&goal);
    pc_state_clear(&dry);
    pc_item_file.params_destroy(p);
}

static void failed_rename_leaves_no_temporary_file(void **state)
{
    struct fx *f = *state;
    void *p = NULL;
    struct pc_state cur = {0}, goal = {0}, out = {0};
    struct pc_err err = {0};
    char inner[300];

    /* A non-empty directory where the file should go: rename must fail. */
    snprintf(f->path, sizeof(f->path), "%s/target", f->scratch.dir);
    assert_int_equal(mkdir(f->path, 0755), 0);
    snprintf(inner, sizeof(inner), "%s/keep", f->path);
    write_file_text(inner, "x");
    p = file_params(f->path, ", \"content\": \"hello\\n\"");

    assert_int_equal(pc_item_file.state_current(&f->ctx, p, &cur, &err), PC_EINVAL);
    assert_non_null(strstr(err.msg, "exists and is not a regular file"));
    discover(f, p, NULL, &goal);
    state_from_json(&cur, "{\"exists\": false, \"size\": 0, \"sha256\": \"\", \"mode\": \"\"}");
    assert_true(pc_item_file.apply(&f->ctx, p, &cur, &goal, NULL, &out, &err) < 0);
    assert_non_null(strstr(err.msg, "cannot rename the temporary file onto"));
    assert_null(out.data);
    /* Only the directory itself: the temporary file was removed. */
    assert_int_equal(dir_entries(f->scratch.dir), 1);

    pc_state_clear(&cur);
    pc_state_clear(&goal);
    pc_item_file.params_destroy(p);
}

static void symlink_at_path_is_an_error_not_followed(void **state)
{
    struct fx *f = *state;
    void *p = NULL;
    struct pc_state cur = {0};
    struct pc_err err = {0};
    char real[300];

    snprintf(real, sizeof(real), "%s/real", f->scratch.dir);
    write_file_text(real, "hello\n");
    snprintf(f->path, sizeof(f->path), "%s/link", f->scratch.dir);
    assert_int_equal(symlink(real, f->path), 0);
    p = file_params(f->path, ", \"content\": \"hello\\n\"");
    assert_int_equal(pc_item_file.state_current(&f->ctx, p, &cur, &err), PC_EINVAL);
    assert_non_null(strstr(err.msg, "is not a regular file"));
    assert_null(cur.data);
    pc_item_file.params_destroy(p);
}

static void apply_rejects_a_target_these_params_do_not_produce(void **state)
{
    struct fx *f = *state;
    void *p = file_params(f->path, ", \"content\": \"hello\\n\"");
    struct pc_state cur = {0}, stale = {0}, out = {0};
    struct pc_err err = {0};

    discover(f, p, &cur, NULL);
    state_from_json(
        &stale, "{\"exists\": true, \"size\": 3, \"sha256\": \"%064d\", \"mode\": \"0644\"}", 0);
    assert_int_equal(pc_item_file.apply(&f->ctx, p, &cur, &stale, NULL, &out, &err), PC_EINVAL);
    assert_non_null(strstr(err.msg, "not the goal of these params"));
    assert_int_equal(access(f->path, F_OK), -1);

    pc_state_clear(&cur);
    pc_state_clear(&stale);
    pc_item_file.params_destroy(p);
}

static void state_eq_compares_fields_not_encoding(void **state)
{
    struct fx *f = *state;
    void *p = file_params(f->path, ", \"content\": \"hello\\n\"");
    struct pc_state goal = {0}, reordered = {0}, other = {0};

    discover(f, p, NULL, &goal);
    state_from_json(&reordered,
                    "{\"mode\": \"0644\", \"sha256\": \"%s\", \"size\": 6, \"exists\": true}",
                    HELLO_SHA);
    state_from_json(&other,
                    "{\"mode\": \"0600\", \"sha256\": \"%s\", \"size\": 6, \"exists\": true}",
                    HELLO_SHA);
    assert_false(pc_state_bytes_eq(&goal, &reordered));
    assert_true(pc_item_file.state_eq(p, &goal, &reordered));
    assert_false(pc_item_file.state_eq(p, &goal, &other));

    pc_state_clear(&goal);
    pc_state_clear(&reordered);
    pc_state_clear(&other);
    pc_item_file.params_destroy(p);
}

static void malformed_states_are_schema_errors(void **state)
{
    struct fx *f = *state;
    void *p = file_params(f->path, ", \"content\": \"x\"");
    struct pc_state good = {0}, bad = {0}, diff = {0};
    struct pc_apply_check ck = {0};
    struct pc_err err = {0};

    discover(f, p, &good, NULL);
    state_from_json(&bad, "{\"exists\": \"yes\", \"size\": 0, \"sha256\": \"\", \"mode\": \"\"}");
    assert_int_equal(pc_item_file.state_diff(p, &good, &bad, &diff, &err), PC_ESCHEMA);
    assert_string_equal(err.msg, "state b.exists: expected a boolean");
    pc_state_clear(&bad);
    state_from_json(&bad, "[1, 2]");
    assert_int_equal(pc_item_file.apply_check(p, &bad, &good, &diff, &ck, &err), PC_ESCHEMA);
    assert_string_equal(err.msg, "current state: not a msgpack map");
    assert_null(diff.data);

    pc_state_clear(&good);
    pc_state_clear(&bad);
    pc_item_file.params_destroy(p);
}

/* Another path is another file: a replacement; content or mode alone is not. */
static void needs_replacement_only_when_the_path_changes(void **state)
{
    static const struct {
        const char *json;
        bool replace;
    } cases[] = {
        {"{\"path\": \"a/f\", \"content\": \"x\"}", false},
        {"{\"path\": \"a/f\", \"content\": \"y\", \"mode\": \"0600\"}", false},
        {"{\"path\": \"a/g\", \"content\": \"x\"}", true},
        {"{\"path\": \"b/f\", \"content\": \"x\", \"mode\": \"0600\"}", true},
    };
    struct test_params tp = {0};
    void *stored = NULL;

    (void)state;
    assert_non_null(pc_item_file.needs_replacement);
    stored = params_create_ok(&pc_item_file,
                              test_params_json(&tp, "{\"path\": \"a/f\", \"content\": \"x\"}"));
    test_params_free(&tp);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct test_params np = {0};
        void *p = params_create_ok(&pc_item_file, test_params_json(&np, "%s", cases[i].json));

        assert_int_equal(pc_item_file.needs_replacement(stored, p), cases[i].replace);
        assert_int_equal(pc_item_file.needs_replacement(p, stored), cases[i].replace);
        pc_item_file.params_destroy(p);
        test_params_free(&np);
    }
    pc_item_file.params_destroy(stored);
}

static void bad_params_are_einval_naming_the_key(void **state)
{
    static const struct {
        const char *json;
        const char *msg;
    } cases[] = {
        {"{\"content\": \"x\"}", "params.path: required"},
        {"{\"path\": 3, \"content\": \"x\"}", "params.path: expected a string"},
        {"{\"path\": \"\", \"content\": \"x\"}",
         "params.path: expected a file path (not empty, no trailing /)"},
        {"{\"path\": \"/tmp/d/\", \"content\": \"x\"}",
         "params.path: expected a file path (not empty, no trailing /)"},
        {"{\"path\": \"/tmp/x\"}", "params.content: required (or params.content_base64)"},
        {"{\"path\": \"/tmp/x\", \"content\": \"a\", \"content_base64\": \"YQ==\"}",
         "params: give either content or content_base64, not both"},
        {"{\"path\": \"/tmp/x\", \"content\": 5}", "params.content: expected a string"},
        {"{\"path\": \"/tmp/x\", \"content_base64\": \"Y*==\"}",
         "params.content_base64: invalid base64 at offset 1"},
        {"{\"path\": \"/tmp/x\", \"content\": \"a\", \"mode\": \"0999\"}",
         "params.mode: expected an octal string such as \"0644\""},
        {"{\"path\": \"/tmp/x\", \"content\": \"a\", \"mode\": 420}",
         "params.mode: expected an octal string such as \"0644\""},
        {"{\"path\": \"/tmp/x\", \"content\": \"a\", \"mode\": \"10644\"}",
         "params.mode: expected an octal string such as \"0644\""},
        {"[]", "params: expected a map"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct test_params tp;

        test_params_json(&tp, "%s", cases[i].json);
        assert_string_equal(params_create_err(&pc_item_file, tp.obj, PC_EINVAL), cases[i].msg);
        test_params_free(&tp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ensure_creates_the_file_with_content_mode_and_parents,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(ensure_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(mode_only_change_chmods_in_place, setup, teardown),
        cmocka_unit_test_setup_teardown(content_change_replaces_the_file_atomically, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(content_base64_writes_binary_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_content_is_one_step, setup, teardown),
        cmocka_unit_test_setup_teardown(clean_removes_the_file_and_then_needs_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(apply_dry_returns_target_and_touches_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(failed_rename_leaves_no_temporary_file, setup, teardown),
        cmocka_unit_test_setup_teardown(symlink_at_path_is_an_error_not_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(apply_rejects_a_target_these_params_do_not_produce, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(state_eq_compares_fields_not_encoding, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_states_are_schema_errors, setup, teardown),
        cmocka_unit_test(needs_replacement_only_when_the_path_changes),
        cmocka_unit_test(bad_params_are_einval_naming_the_key),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
