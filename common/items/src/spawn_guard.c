/*
 * spawn_guard.c - running a program so that it cannot outlive the worker.
 *
 * A program started with posix_spawn lives on when the worker is killed
 * (kill -9, OOM): a `sh -c` and its children keep running, and a takeover
 * may run the same item again beside them. So sh_cmd starts each program
 * under a guard: a forked copy of this process that leads a new process
 * group, asks the kernel for a signal when the spawning thread dies
 * (PR_SET_PDEATHSIG), and then kills its whole group. The guard forks the
 * program into its group, waits for it and exits as it did, so the caller
 * sees the program's own status.
 *
 * The guard runs no signal handler: it blocks the parent-death signal and
 * SIGCHLD before asking for the former, and takes both synchronously with
 * sigwaitinfo. A handler would run only when the runtime lets it (a
 * sanitizer's runtime defers handlers to its own safe points, which a
 * thread blocked in waitpid never reaches), and a blocked signal is never
 * lost between the request and the wait.
 *
 * Between fork and exec only async-signal-safe calls are made: the forked
 * copy of a multi-threaded process may hold locks of threads that no
 * longer exist in it. The guard closes every file descriptor it does not
 * need (close_range), so it holds no other item's pipe, socket or file.
 * The guard ignores SIGTERM (a cancel's SIGTERM to the group is for the
 * program); SIGKILL to the group kills it with the program.
 */
#define _GNU_SOURCE /* NOLINT(bugprone-reserved-identifier): close_range, pipe2 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "items_internal.h"

#define GUARD_DEATH_SIG SIGUSR2
#define STATUS_FD       3

/* Finds argv0 as execvp would (a name with a slash is used as is). */
static int resolve(const char *name, char *out, size_t out_size)
{
    const char *path = getenv("PATH");
    const char *p = NULL;

    if (strchr(name, '/') != NULL) {
        if (strlen(name) >= out_size) {
            return -ENAMETOOLONG;
        }
        memcpy(out, name, strlen(name) + 1);
        return 0;
    }
    if (name[0] == '\0') {
        return -ENOENT;
    }
    p = path != NULL && path[0] != '\0' ? path : "/usr/local/bin:/usr/bin:/bin";
    while (*p != '\0') {
        const char *end = strchr(p, ':');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        int n = snprintf(out, out_size, "%.*s%s%s", (int)len, len > 0 ? p : ".",
                         len > 0 && p[len - 1] == '/' ? "" : "/", name);

        if (n > 0 && (size_t)n < out_size && access(out, X_OK) == 0) {
            return 0;
        }
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    return -ENOENT;
}

/* The program, in the guard's group: default signals, then exec. */
static void program_child(const char *path, char *const *argv)
{
    sigset_t none;
    struct sigaction dfl;
    int e = 0;

    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        (void)sigaction(sig, &dfl, NULL);
    }
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
    execve(path, argv, environ);
    e = errno;
    (void)!write(STATUS_FD, &e, sizeof(e));
    _exit(127);
}

/* Waits for the program while watching for the parent's death; returns
 * the program's wait status. Both signals are blocked in the caller. */
static int guard_wait(pid_t child, const sigset_t *wake)
{
    int st = 0;

    for (;;) {
        siginfo_t info;
        pid_t r = waitpid(child, &st, WNOHANG);

        if (r == child) {
            return st;
        }
        if (r < 0 && errno != EINTR) {
            _exit(127);
        }
        if (sigwaitinfo(wake, &info) == GUARD_DEATH_SIG) {
            /* The spawning thread (or the whole worker) died. */
            kill(0, SIGKILL);
            _exit(137);
        }
    }
}

/* The guard: never returns. */
static void guard_child(pid_t parent, const char *path, char *const *argv, int out_fd, int err_fd,
                        int status_fd)
{
    struct sigaction sa;
    sigset_t wake;
    pid_t child;
    int st = 0;
    int nul;

    (void)setpgid(0, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    (void)sigaction(GUARD_DEATH_SIG, &sa, NULL);
    (void)sigaction(SIGCHLD, &sa, NULL); /* never SIG_IGN: the guard reaps */
    sa.sa_handler = SIG_IGN;
    (void)sigaction(SIGTERM, &sa, NULL);
    (void)sigaction(SIGPIPE, &sa, NULL);
    sigemptyset(&wake);
    sigaddset(&wake, GUARD_DEATH_SIG);
    sigaddset(&wake, SIGCHLD);
    (void)sigprocmask(SIG_SETMASK, &wake, NULL);
    if (prctl(PR_SET_PDEATHSIG, GUARD_DEATH_SIG) != 0 || getppid() != parent) {
        kill(0, SIGKILL); /* the parent is already gone */
        _exit(137);
    }
    /* 0 /dev/null, 1 and 2 the pipes, 3 the exec status; nothing else. */
    nul = open("/dev/null", O_RDONLY);
    if (nul < 0 || dup2(nul, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
        dup2(err_fd, STDERR_FILENO) < 0 ||
        (status_fd != STATUS_FD && dup2(status_fd, STATUS_FD) < 0) ||
        fcntl(STATUS_FD, F_SETFD, FD_CLOEXEC) < 0) {
        int e = errno;

        (void)!write(status_fd, &e, sizeof(e));
        _exit(127);
    }
    (void)close_range(STATUS_FD + 1, ~0u, 0);
    child = fork();
    if (child < 0) {
        int e = errno;

        (void)!write(STATUS_FD, &e, sizeof(e));
        _exit(127);
    }
    if (child == 0) {
        program_child(path, argv);
    }
    /* The guard holds nothing: end of file on the pipes is the program's. */
    (void)close_range(0, ~0u, 0);
    st = guard_wait(child, &wake);
    if (WIFSIGNALED(st)) {
        int sig = WTERMSIG(st);

        sa.sa_handler = SIG_DFL;
        (void)sigaction(sig, &sa, NULL);
        (void)sigprocmask(SIG_UNBLOCK, &wake, NULL);
        kill(getpid(), sig);
        _exit(128 + sig);
    }
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 127);
}

int pc__spawn_guarded(char *const *argv, int out_fd, int err_fd, pid_t *pid)
{
    char path[PC_ITEMS_PATH_MAX + 1];
    int status[2] = {-1, -1};
    pid_t parent = getpid();
    pid_t g;
    int e = 0;
    ssize_t n;
    int rc = resolve(argv[0], path, sizeof(path));

    if (rc != 0) {
        return rc;
    }
    if (pipe2(status, O_CLOEXEC) != 0) {
        return -errno;
    }
    g = fork();
    if (g < 0) {
        rc = -errno;
        close(status[0]);
        close(status[1]);
        return rc;
    }
    if (g == 0) {
        guard_child(parent, path, argv, out_fd, err_fd, status[1]);
    }
    close(status[1]);
    do {
        n = read(status[0], &e, sizeof(e));
    } while (n < 0 && errno == EINTR);
    close(status[0]);
    if (n == (ssize_t)sizeof(e)) {
        /* The exec failed: the guard exits at once; reap it. */
        while (waitpid(g, NULL, 0) < 0 && errno == EINTR) {
        }
        return e > 0 ? -e : -ENOEXEC;
    }
    *pid = g;
    return 0;
}
