/*
 * sdk_version_plugin.c - a plugin that claims another plugin API version, for
 * the SDK test: built against the installed SDK with
 * -DPLUGIN_API_VERSION=... (e.g. the next major). A loader that called
 * peace_plugin_register anyway would print the line below; the test checks
 * it never appears.
 */
#include <stdio.h>

#include "peace/plugin.h"

const uint32_t peace_plugin_api_version = PLUGIN_API_VERSION;

int peace_plugin_register(uint32_t api_version, struct pc_registry *r, struct pc_err *err)
{
    (void)r;
    (void)fprintf(stderr, "sdk_version_plugin: register called by API %u.%u\n",
                  PC_PLUGIN_API_VERSION_MAJOR(api_version),
                  PC_PLUGIN_API_VERSION_MINOR(api_version));
    return pc_err_set(err, PC_EINVAL, "must not be registered");
}
