/*
 * test_secret.c - secrets from a value or a file (peace/secret.h): the one
 * line of a file, every refusal (missing, empty, directory, FIFO, two
 * lines, NUL, too long), precedence and ambiguity of the sources, and
 * messages that name the file but never its content.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "peace/secret.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    (void)snprintf(dir, sizeof(dir), "/tmp/peace-secret.XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes (p, n) to dir/name; returns the path (static storage). */
static const char *put(const char *name, const void *p, size_t n)
{
    static char path[128];
    FILE *f;

    (void)snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    return path;
}

static void a_file_gives_its_one_line(void **state)
{
    static const struct {
        const char *content;
        size_t n;
        const char *want;
    } ok[] = {
        {"s3cret", 6, "s3cret"},          {"s3cret\n", 7, "s3cret"},
        {"s3cret\r\n", 8, "s3cret"},      {"redis://u:p@h:1/2\n", 18, "redis://u:p@h:1/2"},
        {"with space", 10, "with space"},
    };
    char out[64];
    size_t len = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        const char *path = put("ok", ok[i].content, ok[i].n);

        assert_int_equal(pc_secret_read_file(path, out, sizeof(out), &len, NULL), 0);
        assert_string_equal(out, ok[i].want);
        assert_int_equal(len, strlen(ok[i].want));
    }
}

static void bad_files_are_refused_naming_the_file_not_the_secret(void **state)
{
    static const struct {
        const char *content;
        size_t n;
        int rc;
    } bad[] = {
        {"", 0, PC_EINVAL},
        {"\n", 1, PC_EINVAL},
        {"\r\n", 2, PC_EINVAL},
        {"s3cret\n\n", 8, PC_EINVAL},
        {"s3cret\nmore", 11, PC_EINVAL},
        {"s3c\0ret", 7, PC_EINVAL},
        {"s3cret\r", 7, PC_EINVAL},
        {"s3c\tret", 7, PC_EINVAL},
        {"0123456789abcdef0123456789abcdef", 32, PC_ELIMIT},
    };
    char out[16];
    struct pc_err err;
    char *big = malloc(PC_SECRET_FILE_MAX + 10);
    char fifo[128];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *path = put("bad", bad[i].content, bad[i].n);

        pc_err_clear(&err);
        assert_int_equal(pc_secret_read_file(path, out, sizeof(out), NULL, &err), bad[i].rc);
        assert_non_null(strstr(err.msg, "/bad"));
        assert_null(strstr(err.msg, "s3c"));
        assert_null(strstr(err.msg, "0123"));
    }
    assert_non_null(big);
    memset(big, 'x', PC_SECRET_FILE_MAX + 10);
    assert_int_equal(pc_secret_read_file(put("big", big, PC_SECRET_FILE_MAX + 10), big,
                                         PC_SECRET_FILE_MAX + 10, NULL, &err),
                     PC_ELIMIT);
    free(big);
    (void)snprintf(fifo, sizeof(fifo), "%s/missing", dir);
    assert_true(pc_secret_read_file(fifo, out, sizeof(out), NULL, &err) < 0);
    assert_non_null(strstr(err.msg, "missing"));
    assert_int_equal(pc_secret_read_file(dir, out, sizeof(out), NULL, &err), PC_EINVAL);
    (void)snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    /* A FIFO with no writer must not block: refused at once. */
    assert_int_equal(pc_secret_read_file(fifo, out, sizeof(out), NULL, &err), PC_EINVAL);
    assert_int_equal(pc_secret_read_file("", out, sizeof(out), NULL, &err), PC_EINVAL);
    assert_int_equal(pc_secret_read_file(NULL, out, sizeof(out), NULL, &err), PC_EINVAL);
}

static void sources_have_a_precedence_and_ambiguity_is_refused(void **state)
{
    char path_a[128];
    char out[32];
    size_t len = 0;
    bool found = true;
    struct pc_err err;
    struct pc_secret_src src;

    (void)state;
    (void)snprintf(path_a, sizeof(path_a), "%s", put("a", "from-file\n", 10));
    memset(&src, 0, sizeof(src));
    src.flag = "--token";
    src.file_flag = "--token-file";
    src.env = "PEACE_TOKEN";
    src.env_file_var = "PEACE_TOKEN_FILE";
    assert_int_equal(pc_secret_get(&src, out, sizeof(out), &len, &found, &err), 0);
    assert_false(found);
    assert_string_equal(out, "");
    src.env_file = path_a;
    assert_int_equal(pc_secret_get(&src, out, sizeof(out), &len, &found, &err), 0);
    assert_true(found);
    assert_string_equal(out, "from-file");
    src.env_value = "from-env";
    assert_int_equal(pc_secret_get(&src, out, sizeof(out), &len, &found, &err), PC_EINVAL);
    assert_non_null(strstr(err.msg, "PEACE_TOKEN_FILE"));
    src.env_file = "";
    assert_int_equal(pc_secret_get(&src, out, sizeof(out), &len, &found, &err), 0);
    assert_string_equal(out, "from-env");
    src.file = path_a;
    assert_int_equal(pc_secret_get(&src, out, sizeof(out), &len, &found, &err), 0);
    assert_string_equal(out, "from-file");
    src.value = "from-flag";
    assert_int_equal(pc_secret_get(&src, out, sizeof(out), &len, &found, &err), PC_EINVAL);
    assert_non_null(strstr(err.msg, "--token-file"));
    src.file = NULL;
    assert_int_equal(pc_secret_get(&src, out, sizeof(out), &len, &found, &err), 0);
    assert_string_equal(out, "from-flag");
    assert_int_equal(len, 9);
    src.value = NULL;
    src.file = "/nonexistent/peace-token";
    assert_true(pc_secret_get(&src, out, sizeof(out), &len, &found, &err) < 0);
    assert_true(strncmp(err.msg, "--token-file: ", 14) == 0);
    src.file = NULL;
    src.env_value = "0123456789012345678901234567890123456789";
    assert_int_equal(pc_secret_get(&src, out, sizeof(out), &len, &found, &err), PC_ELIMIT);
    assert_null(strstr(err.msg, "0123"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_file_gives_its_one_line),
        cmocka_unit_test(bad_files_are_refused_naming_the_file_not_the_secret),
        cmocka_unit_test(sources_have_a_precedence_and_ambiguity_is_refused),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
