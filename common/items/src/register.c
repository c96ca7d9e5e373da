/*
 * register.c - adds the built-in item types to a registry, in the order of
 * CONTRACT §6.
 */
#include "peace/items.h"

int pc_items_register_builtin(struct pc_registry *r, struct pc_err *err)
{
    static const struct pc_item_type *const builtin[] = {
        &pc_item_file,
        &pc_item_sh_cmd,
        &pc_item_sleep,
        &pc_item_http_download,
    };

    for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
        int rc = pc_registry_add(r, builtin[i], err);

        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}
