/*
 * test_item_cancel.c - the built-in items honour the cancel token (item.h):
 * sleep stops during a step; sh_cmd sends SIGTERM to its process group on
 * cancel and SIGKILL on kill, and leaves no process of the group behind;
 * http_download aborts a stalled transfer and leaves no partial file.
 * A canceller thread raises the token while the item blocks, as the engine
 * does from its loop thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "item_test_support.h"
#include "peace/items.h"

struct fx {
    struct scratch scratch;
    struct progress_rec rec;
    struct pc_item_ctx ctx;
    struct pc_cancel cancel;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    scratch_init(&f->scratch);
    progress_rec_ctx(&f->rec, &f->ctx, NULL);
    pc_cancel_init(&f->cancel);
    f->ctx.cancel = &f->cancel;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    pc_cancel_cleanup(&f->cancel);
    scratch_cleanup(&f->scratch);
    free(f);
    return 0;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t realtime_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Raises the token to `first`, then (when `second` is set) to `second`. */
struct canceller {
    pthread_t thread;
    struct pc_cancel *c;
    unsigned after_ms;
    enum pc_interrupt_mode first;
    unsigned then_ms;
    enum pc_interrupt_mode second;
    const char *wait_file; /* when set: first wait (up to 10 s) until it exists */
};

static void *canceller_main(void *arg)
{
    struct canceller *k = arg;

    for (int i = 0; k->wait_file != NULL && i < 1000 && access(k->wait_file, F_OK) != 0; i++) {
        sleep_ms(10);
    }
    sleep_ms(k->after_ms);
    pc_cancel_raise(k->c, k->first);
    if (k->second != PC_MODE_FINISH) {
        sleep_ms(k->then_ms);
        pc_cancel_raise(k->c, k->second);
    }
    return NULL;
}

static void canceller_start(struct canceller *k)
{
    assert_int_equal(pthread_create(&k->thread, NULL, canceller_main, k), 0);
}

/* A process is gone when it no longer exists or is a zombie. */
static bool process_gone(pid_t pid)
{
    char path[64];
    char buf[512];
    FILE *fp = NULL;
    char *p = NULL;
    bool gone = true;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fp = fopen(path, "r");
    if (fp == NULL) {
        return true;
    }
    if (fgets(buf, sizeof(buf), fp) != NULL && (p = strrchr(buf, ')')) != NULL) {
        gone = p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
    }
    fclose(fp);
    return gone;
}

/* SIGKILL takes effect asynchronously: a killed process may still be
 * closing its files for a moment. Gone within 2 s, or never. */
static bool process_gone_soon(pid_t pid)
{
    for (int i = 0; i < 200; i++) {
        if (process_gone(pid)) {
            return true;
        }
        sleep_ms(10);
    }
    return false;
}

static pid_t read_pid(const char *path)
{
    char *t = read_file_text(path, NULL);
    pid_t pid = 0;

    assert_non_null(t);
    pid = (pid_t)strtol(t, NULL, 10);
    free(t);
    assert_true(pid > 1);
    return pid;
}

/* ------------------------------------------------------------------------ */
/* sleep                                                                     */

static void sleep_stops_during_a_step(void **state)
{
    struct fx *f = *state;
    struct test_params tp;
    struct pc_state cur = {0};
    struct pc_state tgt = {0};
    struct pc_state out = {0};
    struct pc_err err;
    struct canceller k = {.c = &f->cancel, .after_ms = 100, .first = PC_MODE_CANCEL};
    char marker[256];
    void *p = NULL;
    uint64_t t0;
    int rc;

    snprintf(marker, sizeof(marker), "%s/done", f->scratch.dir);
    test_params_json(&tp, "{\"marker\": \"%s\", \"steps\": 3, \"step_ms\": 600000}", marker);
    p = params_create_ok(&pc_item_sleep, tp.obj);
    test_params_free(&tp);
    state_from_json(&cur, "{\"done\": false}");
    state_from_json(&tgt, "{\"done\": true}");
    t0 = mono_ms();
    canceller_start(&k);
    rc = pc_item_sleep.apply(&f->ctx, p, &cur, &tgt, NULL, &out, &err);
    pthread_join(k.thread, NULL);
    assert_int_equal(rc, PC_ECANCELED);
    assert_non_null(strstr(err.msg, "cancelled during step 1 of 3"));
    assert_true(mono_ms() - t0 < 5000);
    assert_null(read_file_text(marker, NULL));
    pc_state_clear(&cur);
    pc_state_clear(&tgt);
    pc_item_sleep.params_destroy(p);
}

/* ------------------------------------------------------------------------ */
/* sh_cmd                                                                    */

/* apply_exec: a shell that records its pid and its child's, then waits. */
static void *sh_params(const struct fx *f, const char *trap)
{
    struct test_params tp;
    void *p = NULL;

    test_params_json(&tp,
                     "{\"state_current\": [\"true\"], \"state_goal\": [\"true\"],"
                     " \"apply_exec\": [\"/bin/sh\", \"-c\", \"%s echo $$ > %s/sh.pid; "
                     "sleep 600 & echo $! > %s/child.pid; wait\"]}",
                     trap, f->scratch.dir, f->scratch.dir);
    p = params_create_ok(&pc_item_sh_cmd, tp.obj);
    test_params_free(&tp);
    return p;
}

static int sh_apply(struct fx *f, void *p, struct pc_err *err)
{
    struct pc_state cur = {0};
    struct pc_state tgt = {0};
    struct pc_state out = {0};
    int rc;

    state_from_json(&cur, "{\"stdout\": \"a\", \"stderr\": \"\", \"exit_code\": 0}");
    state_from_json(&tgt, "{\"stdout\": \"b\", \"stderr\": \"\", \"exit_code\": 0}");
    rc = pc_item_sh_cmd.apply(&f->ctx, p, &cur, &tgt, NULL, &out, err);
    pc_state_clear(&cur);
    pc_state_clear(&tgt);
    pc_state_clear(&out);
    return rc;
}

static void sh_pids(const struct fx *f, pid_t *sh, pid_t *child)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/sh.pid", f->scratch.dir);
    *sh = read_pid(path);
    snprintf(path, sizeof(path), "%s/child.pid", f->scratch.dir);
    *child = read_pid(path);
}

static void sh_cmd_cancel_terminates_the_whole_group(void **state)
{
    struct fx *f = *state;
    void *p = sh_params(f, "");
    struct pc_err err;
    struct canceller k = {.c = &f->cancel, .after_ms = 50, .first = PC_MODE_CANCEL};
    pid_t sh = 0;
    pid_t child = 0;
    uint64_t t0 = mono_ms();
    char ready[256];
    int rc;

    snprintf(ready, sizeof(ready), "%s/child.pid", f->scratch.dir);
    k.wait_file = ready; /* the group is complete */
    canceller_start(&k);
    rc = sh_apply(f, p, &err);
    pthread_join(k.thread, NULL);
    assert_int_equal(rc, PC_ECANCELED);
    assert_non_null(strstr(err.msg, "SIGTERM"));
    assert_true(mono_ms() - t0 < 5000);
    sh_pids(f, &sh, &child);
    assert_true(process_gone_soon(sh));
    assert_true(process_gone_soon(child));
    pc_item_sh_cmd.params_destroy(p);
}

static void sh_cmd_ignoring_sigterm_runs_until_kill(void **state)
{
    struct fx *f = *state;
    void *p = sh_params(f, "trap '' TERM;");
    struct pc_err err;
    struct canceller k = {.c = &f->cancel,
                          .after_ms = 200,
                          .first = PC_MODE_CANCEL,
                          .then_ms = 400,
                          .second = PC_MODE_KILL};
    pid_t sh = 0;
    pid_t child = 0;
    uint64_t t0 = 0;
    uint64_t took = 0;
    char ready[256];
    int rc;

    snprintf(ready, sizeof(ready), "%s/child.pid", f->scratch.dir);
    k.wait_file = ready;
    canceller_start(&k);
    rc = sh_apply(f, p, &err);
    pthread_join(k.thread, NULL);
    assert_int_equal(rc, PC_ECANCELED);
    assert_non_null(strstr(err.msg, "SIGKILL"));
    /* SIGTERM was ignored: it took the kill, 600 ms after the group was
     * complete (the pid file's time, read back through stat). */
    {
        struct stat st;

        assert_int_equal(stat(ready, &st), 0);
        t0 = (uint64_t)st.st_mtim.tv_sec * 1000u + (uint64_t)st.st_mtim.tv_nsec / 1000000u;
        took = realtime_ms() - t0;
    }
    assert_true(took >= 550);
    assert_true(took < 10000);
    sh_pids(f, &sh, &child);
    assert_true(process_gone_soon(sh));
    assert_true(process_gone_soon(child));
    pc_item_sh_cmd.params_destroy(p);
}

static void sh_cmd_cancelled_before_start_runs_nothing(void **state)
{
    struct fx *f = *state;
    void *p = sh_params(f, "");
    struct pc_err err;
    char path[256];

    pc_cancel_raise(&f->cancel, PC_MODE_CANCEL);
    assert_int_equal(sh_apply(f, p, &err), PC_ECANCELED);
    snprintf(path, sizeof(path), "%s/sh.pid", f->scratch.dir);
    assert_null(read_file_text(path, NULL));
    pc_item_sh_cmd.params_destroy(p);
}

/* ------------------------------------------------------------------------ */
/* http_download                                                             */

/* A server that sends headers for a huge body, 1 KiB of it, then stalls. */
struct stall_server {
    int lfd;
    int port;
    pthread_t thread;
    int cfd;
};

static void *stall_main(void *arg)
{
    struct stall_server *s = arg;
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n"
                               "Connection: close\r\n\r\n";
    char req[4096];
    char body[1024];

    s->cfd = accept(s->lfd, NULL, NULL);
    if (s->cfd < 0) {
        return NULL;
    }
    (void)read(s->cfd, req, sizeof(req));
    memset(body, 'x', sizeof(body));
    (void)write(s->cfd, head, sizeof(head) - 1);
    (void)write(s->cfd, body, sizeof(body));
    return NULL; /* stalls: the connection stays open */
}

static void stall_start(struct stall_server *s)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->cfd = -1;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 4), 0);
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &len), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, stall_main, s), 0);
}

static void stall_stop(struct stall_server *s)
{
    pthread_join(s->thread, NULL);
    if (s->cfd >= 0) {
        close(s->cfd);
    }
    close(s->lfd);
}

static void http_download_aborts_and_leaves_no_partial_file(void **state)
{
    struct fx *f = *state;
    struct stall_server srv;
    struct test_params tp;
    struct pc_state cur = {0};
    struct pc_state tgt = {0};
    struct pc_state out = {0};
    struct pc_err err;
    struct canceller k = {.c = &f->cancel, .after_ms = 300, .first = PC_MODE_CANCEL};
    char dir[128];
    uint64_t t0;
    void *p = NULL;
    int rc;

    stall_start(&srv);
    snprintf(dir, sizeof(dir), "%s/dl", f->scratch.dir);
    test_params_json(&tp, "{\"url\": \"http://127.0.0.1:%d/big\", \"path\": \"%s/big.bin\"}",
                     srv.port, dir);
    p = params_create_ok(&pc_item_http_download, tp.obj);
    test_params_free(&tp);
    state_from_json(&cur, "{\"exists\": false, \"size\": 0, \"etag\": null}");
    state_from_json(&tgt, "{\"exists\": true, \"size\": 1000000000, \"etag\": null}");
    t0 = mono_ms();
    canceller_start(&k);
    rc = pc_item_http_download.apply(&f->ctx, p, &cur, &tgt, NULL, &out, &err);
    pthread_join(k.thread, NULL);
    assert_int_equal(rc, PC_ECANCELED);
    assert_non_null(strstr(err.msg, "cancelled after"));
    assert_true(mono_ms() - t0 < 5000);
    assert_true(f->rec.units > 0);         /* the transfer had started */
    assert_int_equal(dir_entries(dir), 0); /* neither the file nor a temp file */
    stall_stop(&srv);
    pc_state_clear(&cur);
    pc_state_clear(&tgt);
    pc_item_http_download.params_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(sleep_stops_during_a_step, setup, teardown),
        cmocka_unit_test_setup_teardown(sh_cmd_cancel_terminates_the_whole_group, setup, teardown),
        cmocka_unit_test_setup_teardown(sh_cmd_ignoring_sigterm_runs_until_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(sh_cmd_cancelled_before_start_runs_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(http_download_aborts_and_leaves_no_partial_file, setup,
                                        teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
