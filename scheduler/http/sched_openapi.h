/*
 * sched_openapi.h - the OpenAPI 3.1 description of the HTTP API, compiled
 * into the binary from docs/openapi.json by the build (http/embed.cmake) and
 * served at GET /openapi.json.
 */
#ifndef SCHED_OPENAPI_H
#define SCHED_OPENAPI_H

#include <stddef.h>

/* The document's bytes (a NUL follows them; it is not counted in the length). */
extern const unsigned char sched_openapi_json[];
extern const size_t sched_openapi_json_len;

#endif /* SCHED_OPENAPI_H */
