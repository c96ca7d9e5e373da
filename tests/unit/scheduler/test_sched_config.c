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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    {
        static const char *const env[] = {"PEACE_PLUGINS", "x.so::y.so:", NULL};
        char big[SCHED_PLUGINS_ENV_MAX + 2];
        const char *env_big[] = {"PEACE_PLUGINS", big, NULL};
        char many[40 * 3 + 1] = "";
        const char *env_many[] = {"PEACE_PLUGINS", many, NULL};

        /* PEACE_PLUGINS first, then the flags; empty parts skipped. */
        assert_int_equal(parse(flags, env, &c, &err), 0);
        assert_int_equal(c.n_plugins, 4);
        assert_string_equal(c.plugins[0], "x.so");
        assert_string_equal(c.plugins[1], "y.so");
        assert_string_equal(c.plugins[2], "a.so");
        assert_string_equal(c.plugins[3], "b.so");
        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(parse(NULL, env_big, &c, &err), PC_EINVAL);
        assert_non_null(strstr(err.msg, "PEACE_PLUGINS"));
        for (size_t i = 0; i < 40; i++) {
            memcpy(many + 2 * i, "p:", 3);
        }
        assert_int_equal(parse(NULL, env_many, &c, &err), PC_EINVAL);
    }
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
        {{"--token=", NULL}, "--token needs a value"},
        {{"--token=a", "--token-file=/x", NULL}, "not both"},
        {{"--read-token=t\x01", NULL}, "--read-token"},
        {{"--token=same", "--read-token=same", NULL}, "own token"},
        {{"--read-token=same", "--interrupt-token=same", NULL}, "own token"},
        {{"--no-auth", "--token=t", NULL}, "choose one"},
        {{"--no-auth", "--listen=0.0.0.0:1", NULL}, "loopback"},
        {{"--no-auth", "--listen=:1", NULL}, "loopback"},
        {{"--no-auth", "--listen=10.0.0.1:1", NULL}, "loopback"},
        {{"--allow-host=a.lan:80", NULL}, "--allow-host"},
        {{"--allow-host=a,,b", NULL}, "--allow-host"},
        {{"--allow-host=", NULL}, "--allow-host"},
        {{"--allow-origin=*", NULL}, "--allow-origin"},
        {{"--allow-origin=http://x.lan/", NULL}, "--allow-origin"},
        {{"--allow-origin=ftp://x.lan", NULL}, "--allow-origin"},
        {{"--allow-origin=http://", NULL}, "--allow-origin"},
        {{"--read-timeout-s=0", NULL}, "--read-timeout-s"},
        {{"--read-timeout-s=99999", NULL}, "--read-timeout-s"},
        {{"--secret-thing=hunter2", NULL}, "unknown flag --secret-thing"},
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

static void token_scopes_files_and_lists(void **state)
{
    char dir[] = "/tmp/peace-sched-config.XXXXXX";
    char tfile[64];
    char ufile[64];
    char bad[64];
    FILE *f;
    struct sched_config c;
    struct pc_err err;

    (void)state;
    assert_non_null(mkdtemp(dir));
    (void)snprintf(tfile, sizeof(tfile), "%s/token", dir);
    (void)snprintf(ufile, sizeof(ufile), "%s/url", dir);
    (void)snprintf(bad, sizeof(bad), "%s/missing", dir);
    f = fopen(tfile, "w");
    assert_non_null(f);
    (void)fputs("file-token\n", f);
    (void)fclose(f);
    f = fopen(ufile, "w");
    assert_non_null(f);
    (void)fputs("redis://user:pw@10.1.2.3:6390/2\n", f);
    (void)fclose(f);
    {
        const char *const args[] = {"--read-token-file",
                                    tfile,
                                    "--interrupt-token=it",
                                    "--redis-url-file",
                                    ufile,
                                    "--allow-host=a.lan",
                                    "--allow-host=B.lan",
                                    "--allow-origin=https://d.lan:8443",
                                    NULL};
        const char *const env[] = {"PEACE_TOKEN", "env-token", "PEACE_ALLOW_HOSTS", "ignored",
                                   NULL};

        assert_int_equal(parse(args, env, &c, &err), 0);
        assert_string_equal(c.token, "env-token");
        assert_string_equal(c.read_token, "file-token");
        assert_int_equal(c.read_token_len, 10);
        assert_string_equal(c.interrupt_token, "it");
        assert_string_equal(c.redis.host, "10.1.2.3");
        assert_int_equal(c.redis.port, 6390);
        assert_string_equal(c.allow_hosts, "a.lan,B.lan");
        assert_string_equal(c.allow_origins, "https://d.lan:8443");
        assert_int_equal(c.read_timeout_s, 10);
        assert_false(c.no_auth);
    }
    {
        const char *const env[] = {"PEACE_TOKEN_FILE",
                                   tfile,
                                   "PEACE_REDIS_URL_FILE",
                                   ufile,
                                   "PEACE_ALLOW_HOSTS",
                                   "x.lan,y.lan",
                                   "PEACE_ALLOW_ORIGINS",
                                   "http://x.lan:81",
                                   NULL};
        struct sched_guard g;

        assert_int_equal(parse(NULL, env, &c, &err), 0);
        assert_string_equal(c.token, "file-token");
        assert_string_equal(c.redis.host, "10.1.2.3");
        assert_string_equal(c.allow_hosts, "x.lan,y.lan");
        sched_guard_from_config(&c, &g);
        assert_true(sched_guard_host_ok(&g, "y.lan:7117"));
        assert_false(sched_guard_host_ok(&g, "z.lan:7117"));
        assert_true(sched_guard_origin_ok(&g, "http://x.lan:81", "127.0.0.1:7117"));
        assert_int_equal(g.tokens[SCHED_SCOPE_ALL].n, 10);
    }
    {
        const char *const args[] = {"--token-file", bad, NULL};
        const char *const both[] = {"PEACE_TOKEN", "a", "PEACE_TOKEN_FILE", tfile, NULL};
        const char *const url_args[] = {"--redis-url-file", tfile, NULL};

        assert_true(parse(args, NULL, &c, &err) != 0);
        assert_non_null(strstr(err.msg, "--token-file"));
        assert_non_null(strstr(err.msg, "missing"));
        assert_true(parse(NULL, both, &c, &err) != 0);
        assert_non_null(strstr(err.msg, "not both"));
        /* A file that is not a URL: refused, and its content is not echoed. */
        assert_true(parse(url_args, NULL, &c, &err) != 0);
        assert_non_null(strstr(err.msg, "--redis-url-file"));
        assert_null(strstr(err.msg, "file-token"));
    }
    {
        const char *const args[] = {"--redis", "redis://u:hunter2@h:1/99999999999", NULL};

        assert_true(parse(args, NULL, &c, &err) != 0);
        assert_null(strstr(err.msg, "hunter2"));
    }
    {
        const char *const args[] = {"--no-auth", "--listen=[::1]:0", "--read-timeout-s=3", NULL};

        assert_int_equal(parse(args, NULL, &c, &err), 0);
        assert_true(c.no_auth);
        assert_int_equal(c.read_timeout_s, 3);
    }
    (void)remove(tfile);
    (void)remove(ufile);
    (void)rmdir(dir);
}

static void a_token_is_made_when_none_is_configured(void **state)
{
    struct sched_config c;
    struct pc_err err;
    char first[SCHED_TOKEN_MAX + 1];
    char url[SCHED_TOKEN_MAX + 128];

    (void)state;
    assert_int_equal(parse(NULL, NULL, &c, &err), 0);
    assert_int_equal(sched_config_generate_token(&c, &err), 0);
    assert_true(c.token_generated);
    assert_int_equal(c.token_len, 48);
    assert_int_equal(strspn(c.token, "0123456789abcdef"), 48);
    memcpy(first, c.token, c.token_len + 1);
    sched_dashboard_url(&c, 7117, true, url, sizeof(url));
    assert_true(strncmp(url, "http://127.0.0.1:7117/#token=", 29) == 0);
    assert_string_equal(url + 29, first);
    sched_dashboard_url(&c, 7117, false, url, sizeof(url));
    assert_string_equal(url, "http://127.0.0.1:7117/");
    assert_int_equal(parse(NULL, NULL, &c, &err), 0);
    assert_int_equal(sched_config_generate_token(&c, &err), 0);
    assert_string_not_equal(c.token, first);
    {
        const char *const args[] = {"--read-token=r", "--listen=[::]:80", NULL};

        assert_int_equal(parse(args, NULL, &c, &err), 0);
        assert_int_equal(sched_config_generate_token(&c, &err), 0);
        assert_false(c.token_generated);
        assert_int_equal(c.token_len, 0);
        sched_dashboard_url(&c, 80, true, url, sizeof(url));
        assert_string_equal(url, "http://[::1]:80/");
    }
    {
        const char *const args[] = {"--no-auth", NULL};

        assert_int_equal(parse(args, NULL, &c, &err), 0);
        assert_int_equal(sched_config_generate_token(&c, &err), 0);
        assert_false(c.token_generated);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_match_the_contract),
        cmocka_unit_test(the_environment_is_used_and_flags_win),
        cmocka_unit_test(limits_plugins_help_and_version),
        cmocka_unit_test(every_bad_setting_is_one_clear_line),
        cmocka_unit_test(listen_forms),
        cmocka_unit_test(token_scopes_files_and_lists),
        cmocka_unit_test(a_token_is_made_when_none_is_configured),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
