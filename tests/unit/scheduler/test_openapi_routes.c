/*
 * test_openapi_routes.c - the OpenAPI document the scheduler serves
 * (docs/openapi.json, compiled in) and its route table cannot drift: every
 * row of the table (method and pattern) is an operation of the document,
 * every operation of the document is a row, and every protected operation
 * declares the bearer scheme while public ones declare none. Placeholders
 * compare by position ({id} and {entry} are both one segment).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "sched_http.h"
#include "sched_openapi.h"

/* The pattern with every {name} replaced by {} (into out). */
static void normalise(const char *p, char *out, size_t size)
{
    size_t n = 0;

    for (; *p != '\0' && n + 3 < size; p++) {
        if (*p == '{') {
            out[n++] = '{';
            out[n++] = '}';
            p = strchr(p, '}');
            assert_non_null(p);
            continue;
        }
        out[n++] = *p;
    }
    out[n] = '\0';
}

static json_t *load(void)
{
    json_error_t e;
    json_t *doc = json_loadb((const char *)sched_openapi_json, sched_openapi_json_len, 0, &e);

    if (doc == NULL) {
        fail_msg("docs/openapi.json: line %d: %s", e.line, e.text);
    }
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    return doc;
}

/* The document's operation for (method, normalised pattern), or NULL. */
static json_t *find(json_t *paths, const char *method, const char *norm)
{
    const char *path;
    json_t *item;

    json_object_foreach(paths, path, item)
    {
        char n[512];

        normalise(path, n, sizeof(n));
        if (strcmp(n, norm) == 0) {
            return json_object_get(item, method);
        }
    }
    return NULL;
}

static void every_route_is_documented(void **state)
{
    json_t *doc = load();
    json_t *paths = json_object_get(doc, "paths");
    size_t n = 0;
    const struct sched_route_def *t = sched_routes(&n);

    (void)state;
    for (size_t i = 0; i < n; i++) {
        const char *method = t[i].method == SCHED_METHOD_POST ? "post" : "get";
        char norm[512];
        json_t *op;
        json_t *security;

        normalise(t[i].pattern, norm, sizeof(norm));
        op = find(paths, method, norm);
        if (op == NULL) {
            fail_msg("%s %s is in the route table, not in docs/openapi.json", method, t[i].pattern);
        }
        security = json_object_get(op, "security");
        assert_true(json_is_array(security));
        /* Public routes need no token; every other one the bearer scheme. */
        assert_int_equal(json_array_size(security) == 0, t[i].perm == SCHED_PERM_PUBLIC);
        assert_true(json_is_object(json_object_get(op, "responses")));
    }
    json_decref(doc);
}

static void every_operation_is_a_route(void **state)
{
    json_t *doc = load();
    json_t *paths = json_object_get(doc, "paths");
    size_t n = 0;
    const struct sched_route_def *t = sched_routes(&n);
    const char *path;
    json_t *item;
    size_t ops = 0;

    (void)state;
    json_object_foreach(paths, path, item)
    {
        const char *method;
        json_t *op;
        char norm[512];

        normalise(path, norm, sizeof(norm));
        json_object_foreach(item, method, op)
        {
            bool found = false;

            if (strcmp(method, "parameters") == 0) {
                continue;
            }
            for (size_t i = 0; i < n && !found; i++) {
                char rn[512];

                normalise(t[i].pattern, rn, sizeof(rn));
                found = strcmp(rn, norm) == 0 &&
                        strcmp(method, t[i].method == SCHED_METHOD_POST ? "post" : "get") == 0;
            }
            if (!found) {
                fail_msg("%s %s is in docs/openapi.json, not in the route table", method, path);
            }
            ops++;
        }
    }
    assert_int_equal(ops, n);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_route_is_documented),
        cmocka_unit_test(every_operation_is_a_route),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
