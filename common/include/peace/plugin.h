/*
 * plugin.h - the plugin API: what a shared object loaded with
 * `--plugin PATH.so` (peace-worker, peace-scheduler, peace run --local)
 * defines, and the API version the loader checks before calling it.
 *
 * A plugin is built against the installed SDK (`find_package(peace)` or
 * `pkg-config peace`), links libpeace (the functions of the public headers:
 * err.h, buf.h, ident.h, flow.h, progress.h, state.h, params.h, item.h) and
 * defines exactly two things:
 *
 *   PEACE_PLUGIN_API_DEFINE;
 *   int peace_plugin_register(uint32_t api_version, struct pc_registry *r,
 *                             struct pc_err *err) { ... pc_registry_add ... }
 *
 * The version: this header is the only place it is kept. MAJOR changes with
 * any change a built plugin would notice: the layout of struct pc_item_type,
 * struct pc_item_ctx or struct pc_state, a removed function or a changed
 * signature. MINOR changes with additions a plugin may use (a new function,
 * a field appended to struct pc_item_ctx). The loader refuses a plugin built
 * for another MAJOR, or for a newer MINOR than the program provides, with a
 * message naming both versions; it never calls into such a plugin.
 *
 * 2.0 appended needs_replacement to struct pc_item_type. Plugins built for
 * 1.x (up to 1.PC_PLUGIN_API_V1_MINOR_MAX) still load: their register is
 * called with PC_PLUGIN_API_V1_COMPAT and the types they add are copied
 * into 2.0's layout, the new members NULL (such a type never asks for a
 * replacement).
 */
#ifndef PEACE_PLUGIN_H
#define PEACE_PLUGIN_H

#include <stdint.h>

#include "peace/err.h"
#include "peace/item.h"

#define PC_PLUGIN_API_MAJOR 2
#define PC_PLUGIN_API_MINOR 0

/* The 1.x plugins this version loads (see above), and the api_version their
 * register receives. */
#define PC_PLUGIN_API_V1_MINOR_MAX 0
#define PC_PLUGIN_API_V1_COMPAT    ((uint32_t)((1u << 16) | PC_PLUGIN_API_V1_MINOR_MAX))

/* MAJOR in the high 16 bits, MINOR in the low 16 bits. */
#define PC_PLUGIN_API_VERSION                                                                      \
    ((uint32_t)(((uint32_t)PC_PLUGIN_API_MAJOR << 16) | (uint32_t)PC_PLUGIN_API_MINOR))
#define PC_PLUGIN_API_VERSION_MAJOR(v) ((unsigned)((uint32_t)(v) >> 16))
#define PC_PLUGIN_API_VERSION_MINOR(v) ((unsigned)((uint32_t)(v)&0xffffu))

/* The symbols a plugin exports (declared here so definitions are checked). */
extern const uint32_t peace_plugin_api_version;

/*
 * Called once, after the version check, on the loading thread. api_version is
 * the loading program's PC_PLUGIN_API_VERSION (same MAJOR, MINOR >= the
 * plugin's), or PC_PLUGIN_API_V1_COMPAT for a 1.x plugin. Adds the plugin's types with
 * pc_registry_add (the types are borrowed: static storage). Returns 0, or a negative code with err
 * set.
 */
int peace_plugin_register(uint32_t api_version, struct pc_registry *r, struct pc_err *err);

/* Defines peace_plugin_api_version as the version this plugin is built against. */
#define PEACE_PLUGIN_API_DEFINE const uint32_t peace_plugin_api_version = PC_PLUGIN_API_VERSION

/*
 * The loader's check, a pure function: 0 when a plugin built for
 * plugin_version may be loaded by a program providing host_version, else
 * PC_EINVAL with err saying which versions and what to do.
 */
int pc_plugin_api_check(uint32_t host_version, uint32_t plugin_version,
                        struct pc_err *err) PC_NODISCARD;

#endif /* PEACE_PLUGIN_H */
