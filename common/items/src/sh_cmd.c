/*
 * sh_cmd.c - the `sh_cmd` item type: every item function is a program run
 * from an argv, as the seeds' ShCmd item.
 *
 * params  argv arrays (each a non-empty array of strings, at most 256):
 *           state_current  required; also re-run after apply_exec
 *           state_goal     required
 *           apply_exec     required; args + (current_stdout, target_stdout, diff_stdout)
 *           state_diff     optional; args + (a_stdout, b_stdout). Without it the
 *                          diff is {stdout: "", stderr: ""}
 *           apply_check    optional; args + (current_stdout, target_stdout, diff_stdout),
 *                          last stdout line "true" (apply needed, limit unknown) or
 *                          "false". Without it apply is needed when current and
 *                          target differ by state equality (below)
 *           state_clean    optional; without it clean is {stdout:"", stderr:"", exit_code:0}
 * state   {stdout: str, stderr: str, exit_code: int | nil}  (nil: killed by a signal)
 * diff    {stdout: str, stderr: str} of the state_diff script
 *
 * Programs run directly (PATH lookup as execvp), never through a shell
 * unless the argv names one (["/bin/sh", "-c", "..."]). stdin is /dev/null;
 * stdout and stderr are captured, each bounded to 64 KiB, and read together
 * with poll(2) so a child filling one pipe cannot deadlock us. A non-zero
 * exit code is not an error: it is part of the state (as in peace). Errors
 * are a program that cannot be started, output over the bound (the child's
 * process group is killed), an output that cannot be passed on as an
 * argument (NUL bytes), and a check answer other than true/false. Output
 * bytes are kept as they are, UTF-8 or not. As in peace, apply does not fail
 * on a non-zero exit of apply_exec: the re-read current state is the judge;
 * the exit code is shown as the item's progress message.
 *
 * Cancel token (item.h): a cancel sends SIGTERM to the running program's
 * process group and a kill SIGKILL; the call then fails with PC_ECANCELED
 * and whatever is left of the group is killed. A program that ignores
 * SIGTERM runs until the cancel escalates to kill at its deadline.
 *
 * No orphans: each program runs under a guard process leading its process
 * group (spawn_guard.c); when the worker dies (even kill -9) the guard
 * kills the whole group, so a takeover never runs an item beside the dead
 * worker's copy.
 *
 * State equality compares stdout, stderr and exit_code (peace compares the
 * logical stdout/stderr plus only the exit code of its execution record; this
 * state has no timestamps, so all three fields are the whole state).
 *
 * _GNU_SOURCE is defined for pipe2(O_CLOEXEC): other executor threads spawn
 * children concurrently, and a pipe end leaked into one of them would delay
 * our end-of-file until that unrelated child exits.
 */
#define _GNU_SOURCE /* NOLINT(bugprone-reserved-identifier): feature-test macro */

#include "peace/items.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "items_internal.h"
#include "peace/params.h"

#define SH_ARGS_MAX   256
#define SH_OUTPUT_MAX ((size_t)64 * 1024)
/* Longest output line shown as a progress message. */
#define SH_TICK_LINE_MAX 120

struct sh_params {
    char **state_current;
    char **state_goal;
    char **state_diff;  /* may be NULL */
    char **apply_check; /* may be NULL */
    char **apply_exec;
    char **state_clean; /* may be NULL */
};

/* One captured stream. */
struct sh_stream {
    int fd;
    char *data; /* owned, SH_OUTPUT_MAX + 1 bytes, NUL-terminated */
    size_t len;
    size_t line_start; /* start of the current, unfinished line */
    const char *name;  /* "stdout" / "stderr" */
};

/* The result of one run. */
struct sh_result {
    char *out; /* owned, NUL-terminated */
    size_t out_len;
    char *errs; /* owned, NUL-terminated */
    size_t errs_len;
    bool exited; /* false: killed by a signal */
    int exit_code;
};

/* ------------------------------------------------------------------------ */
/* Params                                                                    */

static void sh_params_destroy(void *p)
{
    struct sh_params *sp = p;

    if (sp == NULL) {
        return;
    }
    pc_argv_free(sp->state_current);
    pc_argv_free(sp->state_goal);
    pc_argv_free(sp->state_diff);
    pc_argv_free(sp->apply_check);
    pc_argv_free(sp->apply_exec);
    pc_argv_free(sp->state_clean);
    free(sp);
}

static int sh_params_create(const msgpack_object *params, void **out, struct pc_err *err)
{
    struct sh_params *sp = calloc(1, sizeof(*sp));
    int rc = 0;

    if (sp == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    rc = pc_params_argv(params, "state_current", true, SH_ARGS_MAX, &sp->state_current, err);
    if (rc == 0) {
        rc = pc_params_argv(params, "state_goal", true, SH_ARGS_MAX, &sp->state_goal, err);
    }
    if (rc == 0) {
        rc = pc_params_argv(params, "state_diff", false, SH_ARGS_MAX, &sp->state_diff, err);
    }
    if (rc == 0) {
        rc = pc_params_argv(params, "apply_check", false, SH_ARGS_MAX, &sp->apply_check, err);
    }
    if (rc == 0) {
        rc = pc_params_argv(params, "apply_exec", true, SH_ARGS_MAX, &sp->apply_exec, err);
    }
    if (rc == 0) {
        rc = pc_params_argv(params, "state_clean", false, SH_ARGS_MAX, &sp->state_clean, err);
    }
    if (rc < 0) {
        sh_params_destroy(sp);
        return rc;
    }
    *out = sp;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Running a program                                                         */

static void sh_result_cleanup(struct sh_result *r)
{
    free(r->out);
    free(r->errs);
    r->out = NULL;
    r->errs = NULL;
}

/* Reports each completed stdout line as activity, with the line as message. */
static void tick_lines(struct pc_item_ctx *ctx, struct sh_stream *s)
{
    for (size_t i = s->line_start; i < s->len; i++) {
        char line[SH_TICK_LINE_MAX + 1];
        size_t n = 0;

        if (s->data[i] != '\n') {
            continue;
        }
        n = i - s->line_start;
        if (n > SH_TICK_LINE_MAX) {
            n = SH_TICK_LINE_MAX;
        }
        memcpy(line, s->data + s->line_start, n);
        line[n] = '\0';
        pc_item_progress_tick(ctx, line);
        s->line_start = i + 1;
    }
}

/*
 * Reads what is available on s. Returns 1 while open, 0 at end of file,
 * PC_ELIMIT when the output exceeds the bound, -errno on a read error.
 */
static int drain_stream(struct sh_stream *s)
{
    char buf[4096];
    ssize_t n = read(s->fd, buf, sizeof(buf));

    if (n < 0) {
        return errno == EINTR || errno == EAGAIN ? 1 : -errno;
    }
    if (n == 0) {
        return 0;
    }
    if ((size_t)n > SH_OUTPUT_MAX - s->len) {
        return PC_ELIMIT;
    }
    memcpy(s->data + s->len, buf, (size_t)n);
    s->len += (size_t)n;
    s->data[s->len] = '\0';
    return 1;
}

/*
 * Acts on the cancel token: cancel sends SIGTERM to the child's process
 * group (once), kill sends SIGKILL. Returns the level acted on.
 */
static enum pc_interrupt_mode act_on_cancel(struct pc_item_ctx *ctx, pid_t pid,
                                            enum pc_interrupt_mode *sent)
{
    enum pc_interrupt_mode m = pc_item_cancel_mode(ctx);

    if (m == PC_MODE_KILL && *sent != PC_MODE_KILL) {
        kill(-pid, SIGKILL);
        *sent = PC_MODE_KILL;
    } else if (m == PC_MODE_CANCEL && *sent == PC_MODE_FINISH) {
        kill(-pid, SIGTERM);
        *sent = PC_MODE_CANCEL;
    }
    return m;
}

/* Without a cancel fd the token is checked this often while waiting. */
#define SH_CANCEL_POLL_MS 20

/*
 * Reads both pipes until both are at end of file; stops at the first
 * failure. A cancel sends SIGTERM to the process group and keeps reading
 * (the programs end by themselves); a kill sends SIGKILL and stops reading
 * at once (a process that left the group may still hold a pipe). Either
 * way the result is PC_ECANCELED.
 */
static int capture(struct pc_item_ctx *ctx, pid_t pid, struct sh_stream streams[2],
                   struct pc_err *err, const char *what)
{
    struct pollfd pfd[3];
    bool open_[2] = {true, true};
    int cfd = pc_item_cancel_fd(ctx);
    enum pc_interrupt_mode sent = PC_MODE_FINISH;
    int timeout = cfd < 0 && ctx != NULL && ctx->cancel != NULL ? SH_CANCEL_POLL_MS : -1;

    while (open_[0] || open_[1]) {
        for (int i = 0; i < 2; i++) {
            pfd[i].fd = open_[i] ? streams[i].fd : -1;
            pfd[i].events = POLLIN;
            pfd[i].revents = 0;
        }
        pfd[2].fd = cfd;
        pfd[2].events = POLLIN;
        pfd[2].revents = 0;
        if (pc_item_cancelled(ctx)) {
            (void)act_on_cancel(ctx, pid, &sent);
        }
        if (sent == PC_MODE_KILL) {
            break;
        }
        if (poll(pfd, 3, timeout) < 0) {
            if (errno == EINTR) {
                continue;
            }
            return pc__err_sys(err, -errno, "%s: poll", what);
        }
        if (pfd[2].revents != 0) {
            (void)pc_item_cancel_ack(ctx);
        }
        for (int i = 0; i < 2; i++) {
            int rc = 0;

            if (!open_[i] || pfd[i].revents == 0) {
                continue;
            }
            rc = drain_stream(&streams[i]);
            if (rc == PC_ELIMIT) {
                return pc_err_set(err, PC_ELIMIT, "%s: %s exceeds %zu bytes", what, streams[i].name,
                                  SH_OUTPUT_MAX);
            }
            if (rc < 0) {
                return pc__err_sys(err, rc, "%s: reading %s", what, streams[i].name);
            }
            open_[i] = rc > 0;
            if (i == 0) {
                tick_lines(ctx, &streams[0]);
            }
        }
    }
    if (sent != PC_MODE_FINISH || pc_item_cancelled(ctx)) {
        return pc_err_set(err, PC_ECANCELED, "%s: %s", what,
                          sent == PC_MODE_KILL || pc_item_cancel_mode(ctx) == PC_MODE_KILL
                              ? "killed (SIGKILL to its process group)"
                              : "cancelled (SIGTERM to its process group)");
    }
    return 0;
}

/* Builds argv + extra into a new NULL-terminated array of borrowed pointers. */
static char **join_argv(char *const *argv, const char *const *extra, size_t n_extra)
{
    size_t n = 0;
    char **all = NULL;

    while (argv[n] != NULL) {
        n++;
    }
    all = calloc(n + n_extra + 1, sizeof(*all));
    if (all == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        all[i] = argv[i];
    }
    for (size_t i = 0; i < n_extra; i++) {
        /* execve's argv is char *const[] for historical reasons; it is not written. */
        all[n + i] = (char *)(uintptr_t)extra[i];
    }
    return all;
}

static int wait_child(pid_t pid, bool kill_first, int *status)
{
    if (kill_first) {
        kill(-pid, SIGKILL);
    }
    while (waitpid(pid, status, 0) < 0) {
        if (errno != EINTR) {
            return -errno;
        }
    }
    return 0;
}

/*
 * Runs argv + extra, capturing its output into res (owned by the caller on
 * success). `what` names the script in errors ("state_current"). ctx may be
 * NULL (no progress).
 */
static int sh_run(struct pc_item_ctx *ctx, const char *what, char *const *argv,
                  const char *const *extra, size_t n_extra, struct sh_result *res,
                  struct pc_err *err)
{
    struct sh_stream streams[2] = {{.fd = -1, .name = "stdout"}, {.fd = -1, .name = "stderr"}};
    int out_pipe[2] = {-1, -1};
    int err_pipe[2] = {-1, -1};
    char **all = join_argv(argv, extra, n_extra);
    pid_t pid = -1;
    int status = 0;
    int wait_rc = 0;
    int rc = 0;

    streams[0].data = malloc(SH_OUTPUT_MAX + 1);
    streams[1].data = malloc(SH_OUTPUT_MAX + 1);
    if (all == NULL || streams[0].data == NULL || streams[1].data == NULL) {
        rc = pc_err_set(err, PC_ENOMEM, "%s: out of memory", what);
        goto out;
    }
    streams[0].data[0] = '\0';
    streams[1].data[0] = '\0';
    if (pc_item_cancelled(ctx)) {
        rc = pc_err_set(err, PC_ECANCELED, "%s: cancelled before it started", what);
        goto out;
    }
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
        rc = pc__err_sys(err, -errno, "%s: cannot create pipes", what);
        goto out;
    }
    rc = pc__spawn_guarded(all, out_pipe[1], err_pipe[1], &pid);
    if (rc != 0) {
        rc = pc__err_sys(err, rc, "%s: cannot run %s", what, all[0]);
        goto out;
    }
    /* Our copies of the write ends must go, or end of file never comes. */
    close(out_pipe[1]);
    close(err_pipe[1]);
    out_pipe[1] = -1;
    err_pipe[1] = -1;
    streams[0].fd = out_pipe[0];
    streams[1].fd = err_pipe[0];
    rc = capture(ctx, pid, streams, err, what);
    wait_rc = wait_child(pid, rc < 0, &status);
    if (wait_rc < 0 && rc == 0) {
        rc = pc__err_sys(err, wait_rc, "%s: waitpid", what);
    }
    if (rc < 0) {
        goto out;
    }
    res->exited = WIFEXITED(status);
    res->exit_code = res->exited ? WEXITSTATUS(status) : 0;
    res->out = streams[0].data;
    res->out_len = streams[0].len;
    res->errs = streams[1].data;
    res->errs_len = streams[1].len;
    streams[0].data = NULL;
    streams[1].data = NULL;
out:
    for (int i = 0; i < 2; i++) {
        if (out_pipe[i] >= 0) {
            close(out_pipe[i]);
        }
        if (err_pipe[i] >= 0) {
            close(err_pipe[i]);
        }
    }
    free(streams[0].data);
    free(streams[1].data);
    free(all);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* States                                                                    */

static int sh_state_pack(const struct sh_result *r, struct pc_state *out, struct pc_err *err)
{
    struct pc__mpw w;

    pc__mpw_init(&w);
    pc__mpw_map(&w, 3);
    pc__mpw_cstr(&w, "stdout");
    pc__mpw_str(&w, r->out, r->out_len);
    pc__mpw_cstr(&w, "stderr");
    pc__mpw_str(&w, r->errs, r->errs_len);
    pc__mpw_cstr(&w, "exit_code");
    if (r->exited) {
        pc__mpw_i64(&w, r->exit_code);
    } else {
        pc__mpw_nil(&w);
    }
    return pc__mpw_finish(&w, out, err);
}

/* Runs argv (no extra args) and packs its result as a state. */
static int run_to_state(struct pc_item_ctx *ctx, const char *what, char *const *argv,
                        struct pc_state *out, struct pc_err *err)
{
    struct sh_result r = {0};
    int rc = sh_run(ctx, what, argv, NULL, 0, &r, err);

    if (rc == 0) {
        rc = sh_state_pack(&r, out, err);
    }
    sh_result_cleanup(&r);
    return rc;
}

static int sh_state_current(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                            struct pc_err *err)
{
    const struct sh_params *sp = params;

    return run_to_state(ctx, "state_current", sp->state_current, out, err);
}

static int sh_state_goal(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                         struct pc_err *err)
{
    const struct sh_params *sp = params;

    return run_to_state(ctx, "state_goal", sp->state_goal, out, err);
}

static int sh_state_clean(const void *params, struct pc_state *out, struct pc_err *err)
{
    const struct sh_params *sp = params;
    struct sh_result empty = {.out = NULL, .errs = NULL, .exited = true, .exit_code = 0};

    if (sp->state_clean != NULL) {
        return run_to_state(NULL, "state_clean", sp->state_clean, out, err);
    }
    return sh_state_pack(&empty, out, err);
}

/*
 * Copies the stdout of state s (a state or a diff) into a new C string, to
 * pass it as an argument. An absent s (e.g. no diff) gives "".
 */
static int state_stdout_arg(const struct pc_state *s, const char *what, char **out,
                            struct pc_err *err)
{
    struct pc__mpr r;
    const char *p = "";
    size_t n = 0;
    char *copy = NULL;
    int rc = 0;

    if (pc_state_present(s)) {
        rc = pc__mpr_open(&r, s, what, err);
        if (rc < 0) {
            return rc;
        }
        rc = pc__mpr_str(&r, "stdout", false, &p, &n, err);
    }
    if (rc == 0 && memchr(p, '\0', n) != NULL) {
        rc = pc_err_set(err, PC_EINVAL,
                        "%s.stdout contains a NUL byte: cannot pass it as an argument", what);
    }
    if (rc == 0) {
        copy = malloc(n + 1);
        if (copy == NULL) {
            rc = pc_err_set(err, PC_ENOMEM, "out of memory");
        } else {
            memcpy(copy, p, n);
            copy[n] = '\0';
        }
    }
    if (pc_state_present(s)) {
        pc__mpr_close(&r);
    }
    if (rc == 0) {
        *out = copy;
    }
    return rc;
}

/* Fills args[0..n) with the stdouts of the given states; frees on failure. */
static int stdout_args(const struct pc_state *const *states, const char *const *names, size_t n,
                       char **args, struct pc_err *err)
{
    for (size_t i = 0; i < n; i++) {
        int rc = state_stdout_arg(states[i], names[i], &args[i], err);

        if (rc < 0) {
            for (size_t j = 0; j < i; j++) {
                free(args[j]);
                args[j] = NULL;
            }
            return rc;
        }
    }
    return 0;
}

static void free_args(char **args, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(args[i]);
    }
}

static int sh_state_diff(const void *params, const struct pc_state *a, const struct pc_state *b,
                         struct pc_state *out, struct pc_err *err)
{
    const struct sh_params *sp = params;
    const struct pc_state *states[2] = {a, b};
    static const char *const names[2] = {"state a", "state b"};
    char *args[2] = {NULL, NULL};
    struct sh_result r = {0};
    struct pc__mpw w;
    int rc = stdout_args(states, names, 2, args, err);

    if (rc < 0) {
        return rc;
    }
    if (sp->state_diff != NULL) {
        rc = sh_run(NULL, "state_diff", sp->state_diff, (const char *const *)args, 2, &r, err);
    }
    if (rc == 0) {
        pc__mpw_init(&w);
        pc__mpw_map(&w, 2);
        pc__mpw_cstr(&w, "stdout");
        pc__mpw_str(&w, r.out, r.out_len);
        pc__mpw_cstr(&w, "stderr");
        pc__mpw_str(&w, r.errs, r.errs_len);
        rc = pc__mpw_finish(&w, out, err);
    }
    sh_result_cleanup(&r);
    free_args(args, 2);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Equality, check, apply                                                    */

struct sh_state_view {
    const char *out;
    size_t out_len;
    const char *errs;
    size_t errs_len;
    int64_t exit_code;
    bool exit_nil;
};

static int sh_state_view(const struct pc__mpr *r, struct sh_state_view *v)
{
    int rc = pc__mpr_str(r, "stdout", false, &v->out, &v->out_len, NULL);

    if (rc == 0) {
        rc = pc__mpr_str(r, "stderr", false, &v->errs, &v->errs_len, NULL);
    }
    if (rc == 0) {
        rc = pc__mpr_i64_or_nil(r, "exit_code", &v->exit_code, &v->exit_nil, NULL);
    }
    return rc;
}

static bool sh_state_eq(const void *params, const struct pc_state *a, const struct pc_state *b)
{
    struct pc__mpr ra;
    struct pc__mpr rb;
    struct sh_state_view va;
    struct sh_state_view vb;
    bool eq = false;

    (void)params;
    if (!pc_state_present(a) || !pc_state_present(b)) {
        return pc_state_bytes_eq(a, b);
    }
    if (pc__mpr_open(&ra, a, "a", NULL) < 0) {
        return pc_state_bytes_eq(a, b);
    }
    if (pc__mpr_open(&rb, b, "b", NULL) < 0) {
        pc__mpr_close(&ra);
        return pc_state_bytes_eq(a, b);
    }
    if (sh_state_view(&ra, &va) == 0 && sh_state_view(&rb, &vb) == 0) {
        eq = pc__bytes_eq_opt(va.out, va.out_len, vb.out, vb.out_len) &&
             pc__bytes_eq_opt(va.errs, va.errs_len, vb.errs, vb.errs_len) &&
             va.exit_nil == vb.exit_nil && va.exit_code == vb.exit_code;
    } else {
        eq = pc_state_bytes_eq(a, b);
    }
    pc__mpr_close(&ra);
    pc__mpr_close(&rb);
    return eq;
}

/* Finds the last non-empty line of (p, n), trimmed of blanks and CR. */
static void last_line(const char *p, size_t n, const char **line, size_t *len)
{
    size_t end = n;
    size_t start = 0;

    while (end > 0 &&
           (p[end - 1] == '\n' || p[end - 1] == '\r' || p[end - 1] == ' ' || p[end - 1] == '\t')) {
        end--;
    }
    start = end;
    while (start > 0 && p[start - 1] != '\n') {
        start--;
    }
    while (start < end && (p[start] == ' ' || p[start] == '\t')) {
        start++;
    }
    *line = p + start;
    *len = end - start;
}

/* Interprets the check script's answer. */
static int parse_check_answer(const struct sh_result *r, bool *required, struct pc_err *err)
{
    const char *line = NULL;
    size_t len = 0;

    last_line(r->out, r->out_len, &line, &len);
    if (len == 4 && memcmp(line, "true", 4) == 0) {
        *required = true;
        return 0;
    }
    if (len == 5 && memcmp(line, "false", 5) == 0) {
        *required = false;
        return 0;
    }
    return pc_err_set(err, PC_EITEM,
                      "apply_check: last stdout line must be \"true\" or \"false\", got \"%.*s%s\" "
                      "(exit code %d)",
                      (int)(len > 80 ? 80 : len), line, len > 80 ? "..." : "",
                      r->exited ? r->exit_code : -1);
}

static int sh_apply_check(const void *params, const struct pc_state *current,
                          const struct pc_state *target, const struct pc_state *diff,
                          struct pc_apply_check *out, struct pc_err *err)
{
    const struct sh_params *sp = params;
    const struct pc_state *states[3] = {current, target, diff};
    static const char *const names[3] = {"current state", "target state", "diff"};
    char *args[3] = {NULL, NULL, NULL};
    struct sh_result r = {0};
    bool required = false;
    int rc = 0;

    if (sp->apply_check == NULL) {
        required = !sh_state_eq(params, current, target);
    } else {
        rc = stdout_args(states, names, 3, args, err);
        if (rc == 0) {
            rc =
                sh_run(NULL, "apply_check", sp->apply_check, (const char *const *)args, 3, &r, err);
        }
        if (rc == 0) {
            rc = parse_check_answer(&r, &required, err);
        }
    }
    if (rc == 0) {
        out->exec_required = required;
        out->limit.kind = PC_LIMIT_UNKNOWN;
        out->limit.n = 0;
    }
    sh_result_cleanup(&r);
    free_args(args, 3);
    return rc;
}

static int sh_apply(struct pc_item_ctx *ctx, const void *params, const struct pc_state *current,
                    const struct pc_state *target, const struct pc_state *diff,
                    struct pc_state *out, struct pc_err *err)
{
    const struct sh_params *sp = params;
    const struct pc_state *states[3] = {current, target, diff};
    static const char *const names[3] = {"current state", "target state", "diff"};
    char *args[3] = {NULL, NULL, NULL};
    struct sh_result r = {0};
    int rc = stdout_args(states, names, 3, args, err);

    if (rc == 0) {
        rc = sh_run(ctx, "apply_exec", sp->apply_exec, (const char *const *)args, 3, &r, err);
    }
    if (rc == 0 && (!r.exited || r.exit_code != 0)) {
        char msg[64];

        if (r.exited) {
            snprintf(msg, sizeof(msg), "apply_exec exited with code %d", r.exit_code);
        } else {
            snprintf(msg, sizeof(msg), "apply_exec was killed by a signal");
        }
        pc_item_progress_tick(ctx, msg);
    }
    if (rc == 0) {
        rc = run_to_state(ctx, "state_current", sp->state_current, out, err);
    }
    sh_result_cleanup(&r);
    free_args(args, 3);
    return rc;
}

static int sh_apply_dry(struct pc_item_ctx *ctx, const void *params, const struct pc_state *current,
                        const struct pc_state *target, const struct pc_state *diff,
                        struct pc_state *out, struct pc_err *err)
{
    int rc = 0;

    (void)ctx;
    (void)params;
    (void)current;
    (void)diff;
    rc = pc_state_copy(out, target);
    if (rc < 0) {
        return pc_err_set(err, rc, "cannot copy the target state");
    }
    return 0;
}

const struct pc_item_type pc_item_sh_cmd = {
    .name = "sh_cmd",
    .params_create = sh_params_create,
    .params_destroy = sh_params_destroy,
    .state_current = sh_state_current,
    .state_goal = sh_state_goal,
    .state_diff = sh_state_diff,
    .state_clean = sh_state_clean,
    .apply_check = sh_apply_check,
    .apply_dry = sh_apply_dry,
    .apply = sh_apply,
    .state_eq = sh_state_eq,
};
