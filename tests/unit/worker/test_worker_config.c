/*
 * test_worker_config.c - peace-worker flags and environment: defaults,
 * precedence (flag > environment > default), both flag spellings, every
 * bad value as a one-line error that names the flag and never repeats a
 * password.
 */
/* cmocka needs these four headers first, in this order. */
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
#include <unistd.h>

#include "worker/config.h"

/* A fixed environment: name=value pairs, NULL-terminated. */
static const char *table_env(void *ctx, const char *name)
{
    const char *const *env = ctx;

    for (size_t i = 0; env != NULL && env[i] != NULL; i += 2) {
        if (strcmp(env[i], name) == 0) {
            return env[i + 1];
        }
    }
    return NULL;
}

static int parse(const char *const *args, const char *const *env, struct wk_config *c,
                 struct pc_err *err)
{
    char *argv[32];
    int argc = 0;

    argv[argc++] = (char *)"peace-worker";
    for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
        argv[argc++] = (char *)args[i];
    }
    argv[argc] = NULL;
    pc_err_clear(err);
    return wk_config_parse(argc, argv, table_env, (void *)env, c, err);
}

static void defaults_without_flags_or_environment(void **state)
{
    struct wk_config c;
    struct pc_err err;

    (void)state;
    assert_int_equal(parse(NULL, NULL, &c, &err), 0);
    assert_string_equal(c.redis.host, "127.0.0.1");
    assert_int_equal(c.redis.port, 6379);
    assert_string_equal(c.prefix, "peace");
    assert_string_equal(c.queue, "default");
    assert_int_equal(c.concurrency, 4);
    assert_int_equal(c.threads, 32);
    assert_int_equal(c.lease_ms, 10000);
    assert_int_equal(c.max_attempts, 3);
    assert_int_equal(c.retention_s, 604800);
    assert_int_equal(c.progress_flush_ms, 40);
    assert_int_equal(c.n_plugins, 0);
    assert_int_equal(c.log_level, WK_LOG_INFO);
}

static void environment_is_used_and_flags_win(void **state)
{
    const char *env[] = {"PEACE_REDIS_URL",
                         "redis://envhost:7000/2",
                         "PEACE_PREFIX",
                         "envp",
                         "PEACE_QUEUE",
                         "envq",
                         NULL};
    const char *args[] = {"--queue", "flagq", NULL};
    struct wk_config c;
    struct pc_err err;

    (void)state;
    assert_int_equal(parse(args, env, &c, &err), 0);
    assert_string_equal(c.redis.host, "envhost");
    assert_int_equal(c.redis.port, 7000);
    assert_int_equal(c.redis.db, 2);
    assert_string_equal(c.prefix, "envp");
    assert_string_equal(c.queue, "flagq");
}

static void both_flag_spellings_and_repeated_plugins(void **state)
{
    const char *args[] = {"--concurrency=3",
                          "--lease-ms",
                          "2500",
                          "--plugin",
                          "/a.so",
                          "--plugin=/b.so",
                          "--grace-ms=0",
                          "--max-attempts",
                          "5",
                          "--retention-s=0",
                          "--threads",
                          "7",
                          "--log-level=debug",
                          "--progress-flush-ms",
                          "25",
                          NULL};
    struct wk_config c;
    struct pc_err err;

    (void)state;
    assert_int_equal(parse(args, NULL, &c, &err), 0);
    assert_int_equal(c.concurrency, 3);
    assert_int_equal(c.lease_ms, 2500);
    assert_int_equal(c.n_plugins, 2);
    assert_string_equal(c.plugins[0], "/a.so");
    assert_string_equal(c.plugins[1], "/b.so");
    assert_int_equal(c.grace_ms, 0);
    assert_int_equal(c.max_attempts, 5);
    assert_int_equal(c.retention_s, 0);
    assert_int_equal(c.threads, 7);
    assert_int_equal(c.log_level, WK_LOG_DEBUG);
    assert_int_equal(c.progress_flush_ms, 25);
}

static void help_and_version_skip_validation(void **state)
{
    const char *help[] = {"--help", NULL};
    const char *version[] = {"--version", NULL};
    const char *env[] = {"PEACE_REDIS_URL", "bogus://", NULL};
    struct wk_config c;
    struct pc_err err;

    (void)state;
    assert_int_equal(parse(help, env, &c, &err), 0);
    assert_true(c.help);
    assert_int_equal(parse(version, env, &c, &err), 0);
    assert_true(c.version);
    assert_non_null(strstr(wk_config_usage(), "--lease-ms"));
}

struct bad_case {
    const char *args[4];
    const char *names; /* text the error must contain */
};

static void bad_values_are_one_line_errors_naming_the_flag(void **state)
{
    static const struct bad_case cases[] = {
        {{"--concurrency", "0", NULL}, "--concurrency"},
        {{"--concurrency", "257", NULL}, "--concurrency"},
        {{"--concurrency", "-1", NULL}, "--concurrency"},
        {{"--concurrency", "2x", NULL}, "--concurrency"},
        {{"--lease-ms", "10", NULL}, "--lease-ms"},
        {{"--lease-ms", "", NULL}, "--lease-ms"},
        {{"--max-attempts", "0", NULL}, "--max-attempts"},
        {{"--threads", "99999999999999999999999", NULL}, "--threads"},
        {{"--queue", "has space", NULL}, "--queue"},
        {{"--queue", "a{b}", NULL}, "--queue"},
        {{"--prefix", "pre{fix", NULL}, "--prefix"},
        {{"--redis", "http://x", NULL}, "--redis"},
        {{"--log-level", "loud", NULL}, "--log-level"},
        {{"--plugin", "", NULL}, "--plugin"},
        {{"--progress-flush-ms", "4", NULL}, "--progress-flush-ms"},
        {{"--progress-flush-ms", "10001", NULL}, "--progress-flush-ms"},
        {{"--lease-ms", NULL}, "--lease-ms needs a value"},
        {{"--bogus", NULL}, "unknown option --bogus"},
        {{"positional", NULL}, "unknown option"},
    };
    struct wk_config c;
    struct pc_err err;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&c, 0x5a, sizeof(c));
        assert_int_equal(parse(cases[i].args, NULL, &c, &err), PC_EINVAL);
        if (strstr(err.msg, cases[i].names) == NULL) {
            fail_msg("case %zu: \"%s\" does not name \"%s\"", i, err.msg, cases[i].names);
        }
        assert_null(strchr(err.msg, '\n'));
    }
}

static void password_never_appears_in_errors(void **state)
{
    const char *args1[] = {"--redis", "redis://user:s3cret@host:notaport", NULL};
    const char *args2[] = {"--redis=redis://:s3cret@[::1", NULL};
    const char *args3[] = {"--redis:s3cret", NULL};
    struct wk_config c;
    struct pc_err err;

    (void)state;
    assert_int_not_equal(parse(args1, NULL, &c, &err), 0);
    assert_null(strstr(err.msg, "s3cret"));
    assert_int_not_equal(parse(args2, NULL, &c, &err), 0);
    assert_null(strstr(err.msg, "s3cret"));
    assert_int_not_equal(parse(args3, NULL, &c, &err), 0);
    assert_null(strstr(err.msg, "s3cret"));
}

static void the_redis_url_may_come_from_a_file(void **state)
{
    char dir[] = "/tmp/peace-wk-config.XXXXXX";
    char path[64];
    char missing[64];
    FILE *f;
    struct wk_config c;
    struct pc_err err;

    (void)state;
    assert_non_null(mkdtemp(dir));
    (void)snprintf(path, sizeof(path), "%s/url", dir);
    (void)snprintf(missing, sizeof(missing), "%s/missing", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    (void)fputs("redis://:s3cret@10.9.8.7:6400/3\n", f);
    (void)fclose(f);
    {
        const char *args[] = {"--redis-url-file", path, NULL};
        const char *env[] = {"PEACE_REDIS_URL", "redis://127.0.0.1:1", NULL};

        assert_int_equal(parse(args, env, &c, &err), 0);
        assert_string_equal(c.redis.host, "10.9.8.7");
        assert_int_equal(c.redis.port, 6400);
    }
    {
        const char *env[] = {"PEACE_REDIS_URL_FILE", path, NULL};

        assert_int_equal(parse(NULL, env, &c, &err), 0);
        assert_string_equal(c.redis.host, "10.9.8.7");
    }
    {
        const char *args[] = {"--redis-url-file", missing, NULL};
        const char *both[] = {"--redis", "redis://h:1", "--redis-url-file", path, NULL};

        assert_int_not_equal(parse(args, NULL, &c, &err), 0);
        assert_non_null(strstr(err.msg, "--redis-url-file"));
        assert_int_not_equal(parse(both, NULL, &c, &err), 0);
        assert_non_null(strstr(err.msg, "not both"));
    }
    f = fopen(path, "w");
    assert_non_null(f);
    (void)fputs("redis://:s3cret@host:notaport\n", f);
    (void)fclose(f);
    {
        const char *args[] = {"--redis-url-file", path, NULL};

        assert_int_not_equal(parse(args, NULL, &c, &err), 0);
        assert_null(strstr(err.msg, "s3cret"));
        assert_non_null(strstr(err.msg, "--redis-url-file"));
    }
    (void)remove(path);
    (void)rmdir(dir);
}

static void item_types_and_file_root_from_flags_or_environment(void **state)
{
    static const char *const flags[] = {"--item-types", "file,sleep", "--file-root=/srv", NULL};
    static const char *const env[] = {"PEACE_ITEM_TYPES", "sh_cmd", "PEACE_FILE_ROOT", "/e", NULL};
    struct wk_config c;
    struct pc_err err;

    (void)state;
    assert_int_equal(parse(NULL, NULL, &c, &err), 0);
    assert_null(c.item_types);
    assert_null(c.file_root);
    assert_int_equal(parse(flags, env, &c, &err), 0);
    assert_string_equal(c.item_types, "file,sleep");
    assert_string_equal(c.file_root, "/srv");
    assert_int_equal(parse(NULL, env, &c, &err), 0);
    assert_string_equal(c.item_types, "sh_cmd");
    assert_string_equal(c.file_root, "/e");
}

static void every_flag_has_an_environment_variable(void **state)
{
    const char *env[] = {"PEACE_CONCURRENCY",
                         "7",
                         "PEACE_THREADS",
                         "9",
                         "PEACE_LEASE_MS",
                         "2500",
                         "PEACE_GRACE_MS",
                         "100",
                         "PEACE_MAX_ATTEMPTS",
                         "5",
                         "PEACE_RETENTION_S",
                         "60",
                         "PEACE_PROGRESS_FLUSH_MS",
                         "20",
                         "PEACE_PLUGINS",
                         "/a.so::/b.so",
                         "PEACE_METRICS_LISTEN",
                         "0.0.0.0:9464",
                         NULL};
    const char *args[] = {"--lease-ms", "3000", "--plugin", "/c.so", NULL};
    const char *bad[] = {"PEACE_CONCURRENCY", "lots", NULL};
    struct wk_config c;
    struct pc_err err;

    (void)state;
    assert_int_equal(parse(args, env, &c, &err), 0);
    assert_int_equal(c.concurrency, 7);
    assert_int_equal(c.threads, 9);
    assert_int_equal(c.lease_ms, 3000); /* the flag wins */
    assert_int_equal(c.grace_ms, 100);
    assert_int_equal(c.max_attempts, 5);
    assert_int_equal(c.retention_s, 60);
    assert_int_equal(c.progress_flush_ms, 20);
    assert_string_equal(c.metrics_listen, "0.0.0.0:9464");
    /* PEACE_PLUGINS (empty entries skipped), then the flags. */
    assert_int_equal(c.n_plugins, 3);
    assert_string_equal(c.plugins[0], "/a.so");
    assert_string_equal(c.plugins[1], "/b.so");
    assert_string_equal(c.plugins[2], "/c.so");
    assert_ptr_equal(c.plugins[0], c.plugins_env); /* into the returned copy */
    /* A bad value names the variable and the flag. */
    assert_int_equal(parse(NULL, bad, &c, &err), PC_EINVAL);
    assert_non_null(strstr(err.msg, "PEACE_CONCURRENCY: --concurrency: expected a whole number"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_without_flags_or_environment),
        cmocka_unit_test(environment_is_used_and_flags_win),
        cmocka_unit_test(every_flag_has_an_environment_variable),
        cmocka_unit_test(both_flag_spellings_and_repeated_plugins),
        cmocka_unit_test(help_and_version_skip_validation),
        cmocka_unit_test(bad_values_are_one_line_errors_naming_the_flag),
        cmocka_unit_test(password_never_appears_in_errors),
        cmocka_unit_test(item_types_and_file_root_from_flags_or_environment),
        cmocka_unit_test(the_redis_url_may_come_from_a_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
