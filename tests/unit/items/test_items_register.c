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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builtin_types_register_under_their_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
