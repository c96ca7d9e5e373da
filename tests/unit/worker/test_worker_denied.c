/*
 * test_worker_denied.c - ACL denials logged once per operation
 * (worker/denied.h): a NOPERM text is one line the first time, nothing the
 * next times; other errors are not denials; a full table still logs.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/denied.h"

static size_t lines_of(FILE *f)
{
    size_t n = 0;
    int c;

    rewind(f);
    while ((c = fgetc(f)) != EOF) {
        n += c == '\n';
    }
    return n;
}

static void each_operation_is_logged_once(void **state)
{
    FILE *f = tmpfile();
    struct wk_log log = {WK_LOG_DEBUG, f, NULL};
    struct wk_denied *d = calloc(1, sizeof(*d));
    const char *noperm = "NOPERM this user has no permissions to run the 'xautoclaim' command";
    char buf[512];

    (void)state;
    assert_non_null(f);
    assert_non_null(d);
    assert_true(wk_denied_note(d, &log, "XAUTOCLAIM", noperm));
    assert_true(wk_denied_note(d, &log, "XAUTOCLAIM", noperm));
    assert_int_equal(lines_of(f), 1);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    assert_false(wk_denied_note(d, &log, "XCLAIM", "ERR no such key"));
    assert_false(wk_denied_note(d, &log, "XCLAIM", NULL));
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    assert_true(wk_denied_note(d, &log, "script exec_progress",
                               "progress write failed: NOPERM this user has no permissions"));
    assert_int_equal(lines_of(f), 2);
    rewind(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    assert_non_null(strstr(buf, "level=error event=redis_denied op=\"XAUTOCLAIM\""));
    assert_non_null(strstr(buf, "docs/acl.md"));
    assert_int_equal(fseek(f, 0, SEEK_END), 0); /* back to writing */
    for (int i = 0; i < WK_DENIED_MAX + 3; i++) {
        char what[16];

        (void)snprintf(what, sizeof(what), "op%d", i);
        assert_true(wk_denied_note(d, &log, what, "NOPERM x"));
    }
    /* Every new operation is logged, also those past the full table. */
    assert_int_equal(lines_of(f), 2 + WK_DENIED_MAX + 3);
    free(d);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_operation_is_logged_once),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
