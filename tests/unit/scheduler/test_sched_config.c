/*
 * test_sched_config.c - flags and environment of peace-scheduler: defaults,
 * flag over environment over default, both flag forms, every refusal with a
 * one-line reason, and nothing written on failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "sched_config.h"

/* A fake environment: NULL-terminated name/value pairs. */
static const char *fake_env(void *ctx, const char *name)
{
    const char *const *kv = ctx;

    for (size_t i = 0; kv != NULL && kv[i] != NULL; i += 2) {
        if (strcmp(kv[i], name) == 0) {
            return kv[i + 1];
        }
    }
    return NULL;
}

static int parse(const char *const *args, const char *const *env, struct sched_config *c,
                 struct pc_err *err)
{
    char *argv[32];
    int argc = 0;

    argv[argc++] = (char *)"peace-scheduler";
    for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
        argv[argc++] = (char *)args[i];
    }
    argv[argc] = NULL;
    pc_err_clear(err);
    return sched_config_parse(argc, argv, fake_env, (void *)env, c, err);
}

static void defaults_match_the_contract(void **state)
{
    struct sched_config c;
    struct pc_err err;

    (void)state;
    assert_int_equal(parse(NULL, NULL, &c, &err), 0);
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.listen_port, 7117);
    assert_int_equal(c.token_len, 0);
    assert_string_equal(c.redis.host, "127.0.0.1");
    assert_int_equal(c.redis.port, 6379);
    assert_string_equal(c.prefix, "peace");
    assert_string_equal(c.queue.s, "default");
    assert_int_equal(c.max_body, 8u << 20);
    assert_int_equal(c.max_sse, 256);
    assert_int_equal(c.n_plugins, 0);
    assert_false(c.help);
    assert_false(c.version);
}

static void the_environment_is_used_and_flags_win(void **state)
{
    static const char *const env[] = {
        "PEACE_LISTEN",      "0.0.0.0:9000", "PEACE_TOKEN",   "envtoken",    "PEACE_REDIS_URL",
        "redis://r1:7000/2", "PEACE_PREFIX", "envp",          "PEACE_QUEUE", "envq",
        "PEACE_MAX_BODY",    "4096",         "PEACE_MAX_SSE", "3",           NULL};
    static const char *const flags[] = {"--listen=[::1]:8000", "--token",     "flagtoken",
                                        "--queue=flagq",       "--max-sse=5", NULL};
    static const char *const empty_env[] = {"PEACE_PREFIX", "", NULL};
    struct sched_config c;
    struct pc_err err;

    (void)state;
    assert_int_equal(parse(NULL, env, &c, &err), 0);
    assert_string_equal(c.listen_host, "0.0.0.0");
    assert_int_equal(c.listen_port, 9000);
    assert_string_equal(c.token, "envtoken");
    assert_int_equal(c.token_len, 8);
    assert_string_equal(c.redis.host, "r1");
    assert_int_equal(c.redis.port, 7000);
    assert_int_equal(c.redis.db, 2);
    assert_string_equal(c.prefix, "envp");
    assert_string_equal(c.queue.s, "envq");
    assert_int_equal(c.max_body, 4096);
    assert_int_equal(c.max_sse, 3);
    assert_int_equal(parse(flags, env, &c, &err), 0);
    assert_int_equal(c.max_sse, 5);
    assert_string_equal(c.listen_host, "::1");
    assert_int_equal(c.listen_port, 8000);
    assert_string_equal(c.token, "flagtoken");
    assert_string_equal(c.queue.s, "flagq");
    assert_string_equal(c.prefix, "envp");
    /* An empty variable counts as unset. */
    assert_int_equal(parse(NULL, empty_env, &c, &err), 0);
    assert_string_equal(c.prefix, "peace");
}

static void limits_plugins_help_and_version(void **state)
{
    static const char *const flags[] = {"--max-body", "2048",          "--max-sse=0", "--plugin",
                                        "a.so",       "--plugin=b.so", NULL};
    static const char *const help[] = {"--help", "--nonsense-is-not-read", NULL};
    static const char *const version[] = {"--version", NULL};
    struct sched_config c;
    struct pc_err err;

    (void)state;
    assert_int_equal(parse(flags, NULL, &c, &err), 0);
    assert_int_equal(c.max_body, 2048);
    assert_int_equal(c.max_sse, 0);
    assert_int_equal(c.n_plugins, 2);
    assert_string_equal(c.plugins[0], "a.so");
    assert_string_equal(c.plugins[1], "b.so");
    assert_int_not_equal(parse(help, NULL, &c, &err), 0); /* the unknown flag still counts */
    assert_int_equal(parse(version, NULL, &c, &err), 0);
    assert_true(c.version);
    assert_non_null(strstr(sched_usage(), "--listen"));
}

static void every_bad_setting_is_one_clear_line(void **state)
{
    static const struct {
        const char *args[4];
        const char *says;
    } cases[] = {
        {{"--bogus", NULL}, "unknown flag --bogus"},
        {{"positional", NULL}, "unexpected argument"},
        {{"--listen", NULL}, "--listen needs a value"},
        {{"--listen=7117", NULL}, "HOST:PORT"},
        {{"--listen=localhost:70000", NULL}, "port"},
        {{"--listen=localhost:-1", NULL}, "port"},
        {{"--listen=::1:80", NULL}, "brackets"},
        {{"--listen=[::1]80", NULL}, "[ADDRESS]:PORT"},
        {{"--listen=bad/host:80", NULL}, "host"},
        {{"--redis=http://x", NULL}, "--redis"},
        {{"--prefix=a b", NULL}, "--prefix"},
        {{"--queue=9lives", NULL}, "--queue"},
        {{"--max-body=10", NULL}, "--max-body"},
        {{"--max-body=1e6", NULL}, "--max-body"},
        {{"--max-sse=-1", NULL}, "--max-sse"},
        {{"--token", "has space", NULL}, "--token"},
        {{"--plugin=", NULL}, "--plugin"},
    };
    struct sched_config c;
    struct pc_err err;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&c, 0x5a, sizeof(c));
        if (parse(cases[i].args, NULL, &c, &err) != PC_EINVAL ||
            strstr(err.msg, cases[i].says) == NULL || strchr(err.msg, '\n') != NULL) {
            fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err.msg, cases[i].says);
        }
        /* Nothing was written. */
        assert_int_equal(c.listen_port, 0x5a5a);
    }
}

static void listen_forms(void **state)
{
    char host[64];
    uint16_t port = 1;
    struct pc_err err;

    (void)state;
    assert_int_equal(sched_listen_parse(":0", host, sizeof(host), &port, &err), 0);
    assert_string_equal(host, "0.0.0.0");
    assert_int_equal(port, 0);
    assert_int_equal(sched_listen_parse("[fe80::1]:443", host, sizeof(host), &port, &err), 0);
    assert_string_equal(host, "fe80::1");
    assert_int_equal(port, 443);
    assert_int_equal(sched_listen_parse("my-host.example:65535", host, sizeof(host), &port, &err),
                     0);
    assert_string_equal(host, "my-host.example");
    assert_int_equal(sched_listen_parse("averyveryverylonghostname:1", host, 8, &port, &err),
                     PC_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_match_the_contract),
        cmocka_unit_test(the_environment_is_used_and_flags_win),
        cmocka_unit_test(limits_plugins_help_and_version),
        cmocka_unit_test(every_bad_setting_is_one_clear_line),
        cmocka_unit_test(listen_forms),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
