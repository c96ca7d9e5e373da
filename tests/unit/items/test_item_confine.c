/*
 * test_item_confine.c - the --file-root confinement of the file-writing
 * items: pc_items_path_confined over a table of paths in a real scratch
 * directory (outside, "..", symlink escapes, symlinks that stay inside,
 * dangling links, relative paths), and the items repeating the check right
 * before they touch the disk: a directory turned into a symlink after the
 * job was accepted can neither be written through, nor cleaned, nor read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "item_test_support.h"
#include "peace/items.h"

struct fx {
    struct scratch scratch;
    char root[PATH_MAX]; /* canonical */
    char out[PATH_MAX];  /* a directory outside the root */
    struct progress_rec rec;
    struct pc_item_ctx ctx;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char path[PATH_MAX + 32];

    assert_non_null(f);
    scratch_init(&f->scratch);
    snprintf(path, sizeof(path), "%s/root", f->scratch.dir);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_non_null(realpath(path, f->root));
    snprintf(f->out, sizeof(f->out), "%s/outside", f->scratch.dir);
    assert_int_equal(mkdir(f->out, 0755), 0);
    snprintf(path, sizeof(path), "%s/in", f->root);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/esc", f->root);
    assert_int_equal(symlink(f->out, path), 0);
    snprintf(path, sizeof(path), "%s/ok", f->root);
    assert_int_equal(symlink("in", path), 0);
    snprintf(path, sizeof(path), "%s/dangling", f->root);
    assert_int_equal(symlink("/nonexistent-peace-test/x", path), 0);
    progress_rec_ctx(&f->rec, &f->ctx, NULL);
    f->ctx.file_root = f->root;
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

static int confined(const struct fx *f, const char *rel, char *msg, size_t msg_size)
{
    char path[PATH_MAX + 64];
    struct pc_err err = {0};
    int rc;

    if (rel[0] == '/') {
        snprintf(path, sizeof(path), "%s", rel);
    } else {
        snprintf(path, sizeof(path), "%s/%s", f->root, rel);
    }
    rc = pc_items_path_confined(f->root, path, &err);
    snprintf(msg, msg_size, "%s", err.msg);
    return rc;
}

static void the_path_check_over_a_table(void **state)
{
    static const struct {
        const char *path; /* relative: under the root */
        bool ok;
        const char *why;
    } cases[] = {
        {"a.txt", true, NULL},
        {"in/a.txt", true, NULL},
        {"new/deep/dirs/a.txt", true, NULL},
        {"./in/./a.txt", true, NULL},
        {"ok/a.txt", true, NULL}, /* a symlink that stays inside */
        {"in", true, NULL},       /* the path itself exists */
        {"/etc/x", false, "outside the file root"},
        {"/", false, "outside the file root"},
        {"../x", false, "'..' component"},
        {"in/../../x", false, "'..' component"},
        {"in/..", false, "'..' component"},
        {"esc/x", false, "resolves to"},
        {"esc/new/x", false, "resolves to"},
        {"esc", false, "resolves to"},
        {"dangling/x", false, "dangling"},
    };
    struct fx *f = *state;
    char msg[PC_ERR_MSG_MAX];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = confined(f, cases[i].path, msg, sizeof(msg));

        if (cases[i].ok && rc != 0) {
            fail_msg("%s: refused: %s", cases[i].path, msg);
        }
        if (!cases[i].ok && (rc == 0 || strstr(msg, cases[i].why) == NULL)) {
            fail_msg("%s: rc %d msg \"%s\", want a refusal saying \"%s\"", cases[i].path, rc, msg,
                     cases[i].why);
        }
    }
}

static void relative_paths_start_at_the_working_directory(void **state)
{
    struct fx *f = *state;
    char cwd[PATH_MAX];
    struct pc_err err = {0};

    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(f->root), 0);
    assert_int_equal(pc_items_path_confined(f->root, "in/a.txt", &err), 0);
    assert_int_equal(pc_items_path_confined(f->root, "esc/a.txt", &err), PC_EINVAL);
    assert_int_equal(chdir(f->scratch.dir), 0);
    assert_int_equal(pc_items_path_confined(f->root, "root/in/a.txt", &err), 0);
    assert_int_equal(pc_items_path_confined(f->root, "outside/a.txt", &err), PC_EINVAL);
    assert_int_equal(chdir(cwd), 0);
}

static void the_root_slash_allows_every_absolute_path(void **state)
{
    struct pc_err err = {0};

    (void)state;
    assert_int_equal(pc_items_path_confined("/", "/etc/x", &err), 0);
    assert_int_equal(pc_items_path_confined("/", "/etc/../x", &err), PC_EINVAL);
}

static void confined_params_are_the_file_writers_path(void **state)
{
    (void)state;
    assert_string_equal(pc_items_confined_param("file"), "path");
    assert_string_equal(pc_items_confined_param("http_download"), "path");
    assert_null(pc_items_confined_param("sh_cmd"));
    assert_null(pc_items_confined_param("sleep"));
    assert_null(pc_items_confined_param(NULL));
}

static void *file_params(const char *path)
{
    struct test_params tp;
    void *p = NULL;

    test_params_json(&tp, "{\"path\": \"%s\", \"content\": \"hello\\n\"}", path);
    p = params_create_ok(&pc_item_file, tp.obj);
    test_params_free(&tp);
    return p;
}

static void file_writes_inside_the_root(void **state)
{
    struct fx *f = *state;
    char path[PATH_MAX + 32];
    void *p = NULL;
    struct pc_state cur = {0}, goal = {0}, out = {0};
    struct pc_err err = {0};
    char *text = NULL;

    snprintf(path, sizeof(path), "%s/ok/sub/a.txt", f->root);
    p = file_params(path);
    assert_int_equal(pc_item_file.state_current(&f->ctx, p, &cur, &err), 0);
    assert_false(state_bool(&cur, "exists"));
    assert_int_equal(pc_item_file.state_goal(&f->ctx, p, &goal, &err), 0);
    if (pc_item_file.apply(&f->ctx, p, &cur, &goal, NULL, &out, &err) != 0) {
        fail_msg("apply: %s", err.msg);
    }
    assert_true(state_bool(&out, "exists"));
    snprintf(path, sizeof(path), "%s/in/sub/a.txt", f->root);
    text = read_file_text(path, NULL);
    assert_non_null(text);
    assert_string_equal(text, "hello\n");
    free(text);
    pc_state_clear(&cur);
    pc_state_clear(&goal);
    pc_state_clear(&out);
    pc_item_file.params_destroy(p);
}

/* The job was accepted while root/d was a directory; it is a symlink out of
 * the root by the time the item runs. */
static void file_refuses_a_directory_swapped_for_a_symlink(void **state)
{
    struct fx *f = *state;
    char path[PATH_MAX + 32];
    char dir[PATH_MAX + 32];
    char victim[PATH_MAX + 32];
    void *p = NULL;
    struct pc_state cur = {0}, goal = {0}, clean = {0}, out = {0};
    struct pc_err err = {0};

    snprintf(dir, sizeof(dir), "%s/d", f->root);
    snprintf(path, sizeof(path), "%s/d/a.txt", f->root);
    assert_int_equal(mkdir(dir, 0755), 0);
    p = file_params(path);
    assert_int_equal(pc_item_file.state_current(&f->ctx, p, &cur, &err), 0);
    assert_int_equal(pc_item_file.state_goal(&f->ctx, p, &goal, &err), 0);

    assert_int_equal(rmdir(dir), 0);
    assert_int_equal(symlink(f->out, dir), 0);
    snprintf(victim, sizeof(victim), "%s/a.txt", f->out);
    write_file_text(victim, "precious\n");

    assert_int_not_equal(pc_item_file.apply(&f->ctx, p, &cur, &goal, NULL, &out, &err), 0);
    assert_non_null(strstr(err.msg, "outside the file root"));
    assert_null(out.data);
    assert_int_not_equal(pc_item_file.state_current(&f->ctx, p, &out, &err), 0);
    assert_non_null(strstr(err.msg, "outside the file root"));
    assert_int_equal(pc_item_file.state_clean(p, &clean, &err), 0);
    assert_int_not_equal(pc_item_file.apply(&f->ctx, p, &goal, &clean, NULL, &out, &err), 0);
    {
        char *text = read_file_text(victim, NULL);

        assert_non_null(text);
        assert_string_equal(text, "precious\n"); /* neither replaced nor removed */
        free(text);
    }
    assert_int_equal(dir_entries(f->out), 1);
    pc_state_clear(&cur);
    pc_state_clear(&goal);
    pc_state_clear(&clean);
    pc_item_file.params_destroy(p);
}

static void http_download_refuses_outside_before_any_request(void **state)
{
    struct fx *f = *state;
    struct test_params tp;
    void *p = NULL;
    struct pc_state cur = {0}, goal = {0}, out = {0};
    struct pc_err err = {0};

    test_params_json(&tp, "{\"url\": \"http://127.0.0.1:9/x\", \"path\": \"%s/esc/dl\"}", f->root);
    p = params_create_ok(&pc_item_http_download, tp.obj);
    test_params_free(&tp);
    state_from_json(&cur, "{\"exists\": false, \"size\": 0, \"etag\": null}");
    state_from_json(&goal, "{\"exists\": true, \"size\": null, \"etag\": null}");
    assert_int_not_equal(pc_item_http_download.state_current(&f->ctx, p, &out, &err), 0);
    assert_non_null(strstr(err.msg, "outside the file root"));
    assert_int_not_equal(pc_item_http_download.apply(&f->ctx, p, &cur, &goal, NULL, &out, &err), 0);
    assert_non_null(strstr(err.msg, "outside the file root"));
    assert_int_equal(dir_entries(f->out), 0);
    pc_state_clear(&cur);
    pc_state_clear(&goal);
    pc_item_http_download.params_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(the_path_check_over_a_table, setup, teardown),
        cmocka_unit_test_setup_teardown(relative_paths_start_at_the_working_directory, setup,
                                        teardown),
        cmocka_unit_test(the_root_slash_allows_every_absolute_path),
        cmocka_unit_test(confined_params_are_the_file_writers_path),
        cmocka_unit_test_setup_teardown(file_writes_inside_the_root, setup, teardown),
        cmocka_unit_test_setup_teardown(file_refuses_a_directory_swapped_for_a_symlink, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(http_download_refuses_outside_before_any_request, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
