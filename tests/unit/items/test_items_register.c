/*
 * test_items_register.c - the built-in types register under their contract
 * names, with every function a registry requires, and only once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "peace/items.h"
#include "peace/plugin.h"

static void builtin_types_register_under_their_names(void **state)
{
    static const char *const names[] = {"file", "sh_cmd", "sleep", "http_download"};
    static const struct pc_item_type *const types[] = {&pc_item_file, &pc_item_sh_cmd,
                                                       &pc_item_sleep, &pc_item_http_download};
    struct pc_registry *r = NULL;
    struct pc_err err = {0};

    (void)state;
    assert_int_equal(pc_registry_create(&r, &err), 0);
    assert_int_equal(pc_items_register_builtin(r, &err), 0);
    for (size_t i = 0; i < 4; i++) {
        assert_ptr_equal(pc_registry_find(r, names[i], strlen(names[i])), types[i]);
    }
    assert_null(pc_registry_find(r, "tar_x", 5));
    /* A second registration is a duplicate. */
    assert_int_equal(pc_items_register_builtin(r, &err), PC_EINVAL);
    pc_registry_destroy(r);
}

#define V(maj, min) (((uint32_t)(maj) << 16) | (uint32_t)(min))

static void plugin_api_versions_are_checked(void **state)
{
    struct pc_err err = {0};

    (void)state;
    assert_int_equal(PC_PLUGIN_API_VERSION_MAJOR(PC_PLUGIN_API_VERSION), PC_PLUGIN_API_MAJOR);
    assert_int_equal(PC_PLUGIN_API_VERSION_MINOR(PC_PLUGIN_API_VERSION), PC_PLUGIN_API_MINOR);
    /* Same version, and an older minor of the same major: loaded. */
    assert_int_equal(pc_plugin_api_check(V(3, 2), V(3, 2), &err), 0);
    assert_int_equal(pc_plugin_api_check(V(3, 2), V(3, 0), &err), 0);
    /* Another major, older or newer: refused, naming both versions. */
    assert_int_equal(pc_plugin_api_check(V(3, 2), V(4, 0), &err), PC_EINVAL);
    assert_string_equal(err.msg, "built for plugin API 4.0, this program provides 3.2 (another "
                                 "major version): rebuild the plugin against this version's SDK");
    assert_int_equal(pc_plugin_api_check(V(3, 2), V(2, 9), &err), PC_EINVAL);
    assert_non_null(strstr(err.msg, "plugin API 2.9, this program provides 3.2"));
    /* A newer minor may use what this program lacks: refused. */
    assert_int_equal(pc_plugin_api_check(V(3, 2), V(3, 3), &err), PC_EINVAL);
    assert_non_null(strstr(err.msg, "built for plugin API 3.3, this program provides only 3.2"));
    assert_int_equal(pc_plugin_api_check(V(0, 0), V(0xffff, 0xffff), &err), PC_EINVAL);
}

/* 2.0 appended needs_replacement to the item type; 1.x plugins up to
 * 1.PC_PLUGIN_API_V1_MINOR_MAX still load (their types are adopted). */
static void plugin_api_1x_loads_in_2x(void **state)
{
    struct pc_err err = {0};

    (void)state;
    assert_int_equal(PC_PLUGIN_API_MAJOR, 2);
    assert_int_equal(pc_plugin_api_check(V(2, 0), V(1, 0), &err), 0);
    assert_int_equal(pc_plugin_api_check(V(2, 3), V(1, PC_PLUGIN_API_V1_MINOR_MAX), &err), 0);
    assert_int_equal(PC_PLUGIN_API_VERSION_MAJOR(PC_PLUGIN_API_V1_COMPAT), 1);
    /* A newer 1.x than this program knows: refused, saying what it loads. */
    assert_int_equal(pc_plugin_api_check(V(2, 0), V(1, PC_PLUGIN_API_V1_MINOR_MAX + 1), &err),
                     PC_EINVAL);
    assert_non_null(strstr(err.msg, "this program provides 2.0 and loads 1.x plugins up to 1.0"));
    /* Only 1.x has a compatibility path: 0.x and 3.x are another major. */
    assert_int_equal(pc_plugin_api_check(V(2, 0), V(0, 9), &err), PC_EINVAL);
    assert_non_null(strstr(err.msg, "another major version"));
    assert_int_equal(pc_plugin_api_check(V(2, 0), V(3, 0), &err), PC_EINVAL);
    assert_non_null(strstr(err.msg, "another major version"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builtin_types_register_under_their_names),
        cmocka_unit_test(plugin_api_versions_are_checked),
        cmocka_unit_test(plugin_api_1x_loads_in_2x),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
