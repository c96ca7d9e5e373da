/*
 * test_worker_policy.c - what a worker may run (worker/policy.h):
 * --item-types parsing against a registry, the type check naming the item,
 * and --file-root applied to the path params of file and http_download
 * (a real scratch directory: the check resolves symlinks).
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

#include "peace/flow.h"
#include "peace/items.h"
#include "worker/policy.h"

static struct pc_registry *builtin_registry(void)
{
    struct pc_registry *r = NULL;
    struct pc_err err = {0};

    assert_int_equal(pc_registry_create(&r, &err), 0);
    assert_int_equal(pc_items_register_builtin(r, &err), 0);
    return r;
}

static void flow_of(struct pc_flow *f, const char *items_json)
{
    char text[2048];
    struct pc_err err = {0};

    snprintf(text, sizeof(text), "{\"app\":\"a\",\"profile\":\"p\",\"flow\":\"f\",\"items\":%s}",
             items_json);
    if (pc_flow_parse_json(text, strlen(text), "test", f, &err) != 0) {
        fail_msg("flow: %s", err.msg);
    }
}

static void item_types_are_checked_against_the_registry(void **state)
{
    struct pc_registry *r = builtin_registry();
    struct wk_policy *p = calloc(1, sizeof(*p));
    struct pc_err err = {0};

    (void)state;
    assert_non_null(p);
    assert_int_equal(wk_policy_init(p, NULL, NULL, r, &err), 0);
    assert_true(p->all_types);
    assert_true(wk_policy_type_allowed(p, "sh_cmd", 6));
    assert_int_equal(wk_policy_init(p, "file,sleep,file", NULL, r, &err), 0);
    assert_false(p->all_types);
    assert_int_equal(p->n_types, 2);
    assert_true(wk_policy_type_allowed(p, "sleep", 5));
    assert_false(wk_policy_type_allowed(p, "sh_cmd", 6));
    assert_false(wk_policy_type_allowed(p, "fil", 3));
    assert_int_equal(wk_policy_init(p, "file,nope", NULL, r, &err), PC_EINVAL);
    assert_non_null(strstr(err.msg, "\"nope\""));
    assert_int_equal(wk_policy_init(p, "", NULL, r, &err), PC_EINVAL);
    assert_int_equal(wk_policy_init(p, "file,", NULL, r, &err), PC_EINVAL);
    assert_int_equal(wk_policy_init(p, "file,,sleep", NULL, r, &err), PC_EINVAL);
    assert_int_equal(wk_policy_init(p, "fi le", NULL, r, &err), PC_EINVAL);
    assert_int_equal(wk_policy_init(p, NULL, "", r, &err), PC_EINVAL);
    assert_int_equal(wk_policy_init(p, NULL, "/nonexistent-peace-root", r, &err), PC_EINVAL);
    assert_non_null(strstr(err.msg, "--file-root"));
    assert_int_equal(wk_policy_init(p, NULL, "/etc/hostname", r, &err), PC_EINVAL);
    assert_non_null(strstr(err.msg, "not a directory"));
    free(p);
    pc_registry_destroy(r);
}

static void a_refused_type_names_the_item(void **state)
{
    struct pc_registry *r = builtin_registry();
    struct wk_policy *p = calloc(1, sizeof(*p));
    struct pc_err err = {0};
    struct pc_flow f;
    char reason[512];

    (void)state;
    assert_non_null(p);
    assert_int_equal(wk_policy_init(p, "file,sleep", NULL, r, &err), 0);
    flow_of(&f, "[{\"id\":\"s\",\"type\":\"sleep\",\"params\":{\"steps\":1,\"step_ms\":0,"
                "\"marker\":\"m\"}},{\"id\":\"run\",\"type\":\"sh_cmd\",\"params\":{}}]");
    assert_int_equal(wk_policy_check(p, &f, reason, sizeof(reason)), PC_EINVAL);
    assert_string_equal(reason, "item run: type sh_cmd is not allowed on this worker "
                                "(--item-types file,sleep)");
    pc_flow_cleanup(&f);
    free(p);
    pc_registry_destroy(r);
}

static void file_root_confines_the_path_params(void **state)
{
    struct pc_registry *r = builtin_registry();
    struct wk_policy *p = calloc(1, sizeof(*p));
    struct pc_err err = {0};
    char dir[] = "/tmp/peace-policy-XXXXXX";
    char items[1024];
    char reason[512];
    char link[PATH_MAX];
    struct pc_flow f;

    (void)state;
    assert_non_null(p);
    assert_non_null(mkdtemp(dir));
    snprintf(link, sizeof(link), "%s/esc", dir);
    assert_int_equal(symlink("/etc", link), 0);
    assert_int_equal(wk_policy_init(p, NULL, dir, r, &err), 0);

    snprintf(items, sizeof(items),
             "[{\"id\":\"ok\",\"type\":\"file\",\"params\":{\"path\":\"%s/a/b\",\"content\":\"\"}},"
             "{\"id\":\"cmd\",\"type\":\"sh_cmd\",\"params\":{\"path\":\"/etc/x\"}}]",
             dir);
    flow_of(&f, items);
    assert_int_equal(wk_policy_check(p, &f, reason, sizeof(reason)), 0); /* sh_cmd: no path */
    pc_flow_cleanup(&f);

    snprintf(items, sizeof(items),
             "[{\"id\":\"dl\",\"type\":\"http_download\",\"params\":{\"url\":\"http://h/\","
             "\"path\":\"%s/esc/passwd\"}}]",
             dir);
    flow_of(&f, items);
    assert_int_equal(wk_policy_check(p, &f, reason, sizeof(reason)), PC_EINVAL);
    assert_non_null(strstr(reason, "item dl: params.path refused: "));
    assert_non_null(strstr(reason, "resolves to /etc"));
    pc_flow_cleanup(&f);

    flow_of(&f, "[{\"id\":\"f\",\"type\":\"file\",\"params\":{\"path\":7,\"content\":\"\"}}]");
    assert_int_equal(wk_policy_check(p, &f, reason, sizeof(reason)), PC_EINVAL);
    assert_non_null(strstr(reason, "item f: params.path must be a path"));
    pc_flow_cleanup(&f);

    assert_int_equal(unlink(link), 0);
    assert_int_equal(rmdir(dir), 0);
    free(p);
    pc_registry_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(item_types_are_checked_against_the_registry),
        cmocka_unit_test(a_refused_type_names_the_item),
        cmocka_unit_test(file_root_confines_the_path_params),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
