/*
 * bench_download.c - the cancel_download scenario (bench_download.h).
 *
 * The body comes from a thread of this process: a loopback listener that
 * answers HEAD with the headers (Content-Length 512 MiB, an ETag) and GET
 * with the same headers and then 64 KiB chunks, one per millisecond, until
 * the peer goes away or the body is complete. The pace keeps the download
 * running for seconds, so every trial cuts a transfer in progress; the disk
 * never holds more than what was sent before the cancel.
 */
#define _GNU_SOURCE /* NOLINT(bugprone-reserved-identifier): MSG_NOSIGNAL, accept4 */

#include "bench_download.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "peace/keys.h"
#include "peace/progress_line.h"

#define BODY_BYTES ((uint64_t)512 << 20)
#define CHUNK      65536
#define PACE_US    1000

struct body_server {
    int fd;
    uint16_t port;
    atomic_bool stop;
    pthread_t thread;
};

/* One connection: read the request head, answer it. Runs in its own thread. */
static void *serve_one(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char req[4096];
    size_t have = 0;
    static char chunk[CHUNK];
    char head[256];
    int n;

    while (have < sizeof(req) - 1) {
        ssize_t r = recv(fd, req + have, sizeof(req) - 1 - have, 0);

        if (r <= 0) {
            (void)close(fd);
            return NULL;
        }
        have += (size_t)r;
        req[have] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL) {
            break;
        }
    }
    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 200 OK\r\nContent-Length: %" PRIu64
                 "\r\nETag: \"bench-body\"\r\nConnection: close\r\n\r\n",
                 BODY_BYTES);
    if (n > 0 && send(fd, head, (size_t)n, MSG_NOSIGNAL) == n && strncmp(req, "GET ", 4) == 0) {
        for (uint64_t sent = 0; sent < BODY_BYTES; sent += CHUNK) {
            if (send(fd, chunk, CHUNK, MSG_NOSIGNAL) != CHUNK) {
                break; /* the client went away: the cancel */
            }
            kit_sleep_us(PACE_US);
        }
    }
    (void)close(fd);
    return NULL;
}

static void *accept_loop(void *arg)
{
    struct body_server *s = arg;

    while (!atomic_load(&s->stop)) {
        int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
        pthread_t t;

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            break; /* the listener was shut down */
        }
        if (pthread_create(&t, NULL, serve_one, (void *)(intptr_t)fd) != 0) {
            (void)close(fd);
            continue;
        }
        (void)pthread_detach(t);
    }
    return NULL;
}

static int server_start(struct body_server *s)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    atomic_store(&s->stop, false);
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s->fd, 16) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &len) != 0) {
        if (s->fd >= 0) {
            (void)close(s->fd);
        }
        return -1;
    }
    s->port = ntohs(a.sin_port);
    if (pthread_create(&s->thread, NULL, accept_loop, s) != 0) {
        (void)close(s->fd);
        return -1;
    }
    return 0;
}

static void server_stop(struct body_server *s)
{
    atomic_store(&s->stop, true);
    (void)shutdown(s->fd, SHUT_RDWR);
    (void)pthread_join(s->thread, NULL);
    (void)close(s->fd);
}

/* Bytes the item has reported so far (its progress hash), 0 when none. */
/* Units done by item i0, read from the progress hash (either layout). */
static uint64_t item_done(redisContext *c, const char *id)
{
    char key[PC_KEY_MAX];
    redisReply *r = NULL;
    struct pc_progress_kv kv[2];
    struct pc_progress_view view;
    const struct pc_progress_item *it = NULL;
    size_t n = 0;
    uint64_t v = 0;

    if (pc_key_progress(key, sizeof(key), "peace", id) < 0) {
        return 0;
    }
    r = kit_cmd(c, "HMGET %s i0 i0.done", key);
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        static const char *const names[2] = {"i0", "i0.done"};

        for (size_t i = 0; i < 2; i++) {
            if (r->element[i]->type == REDIS_REPLY_STRING) {
                kv[n++] = (struct pc_progress_kv){names[i], strlen(names[i]), r->element[i]->str,
                                                  r->element[i]->len};
            }
        }
    }
    if (pc_progress_view_build(&view, kv, n) == 0) {
        it = pc_progress_view_find(&view, "i0", 2);
        if (it != NULL && it->done.s != NULL && it->done.n < 21) {
            char digits[24];

            memcpy(digits, it->done.s, it->done.n);
            digits[it->done.n] = '\0';
            v = strtoull(digits, NULL, 10);
        }
        pc_progress_view_free(&view);
    }
    freeReplyObject(r);
    return v;
}

/* Entries of dir other than . and .. */
static size_t dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    const struct dirent *e;
    size_t n = 0;

    if (d == NULL) {
        return 0;
    }
    while ((e = readdir(d)) != NULL) {
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    (void)closedir(d);
    return n;
}

int bench_cancel_download(const struct kit_opts *o, size_t trials)
{
    struct body_server srv;
    struct kit_fleet f;
    struct kit_submitter s;
    struct pc_flow flow;
    char dldir[512];
    char params[1024];
    char last[64] = "";
    char outcome[32];
    char id[KIT_ID_MAX];
    double *to_outcome = calloc(trials + 1, sizeof(double));
    double *at_mib = calloc(trials + 1, sizeof(double));
    redisContext *c = NULL;
    size_t cut = 0;
    size_t clean = 0;
    bool started = false;
    int rc = 1;

    memset(&flow, 0, sizeof(flow));
    kit_fleet_init(&f, o, "cancel_download");
    (void)snprintf(dldir, sizeof(dldir), "%s/download", o->dir);
    if (to_outcome == NULL || at_mib == NULL || (mkdir(dldir, 0755) != 0 && errno != EEXIST) ||
        server_start(&srv) != 0) {
        (void)fprintf(stderr, "bench: cancel_download: cannot set up\n");
        free(to_outcome);
        free(at_mib);
        return 1;
    }
    started = true;
    (void)snprintf(params, sizeof(params),
                   "{\"url\":\"http://127.0.0.1:%u/body\",\"path\":\"%s/body.bin\"}",
                   (unsigned)srv.port, dldir);
    c = kit_connect(o);
    if (c == NULL || kit_flush(c) != 0 || kit_group(c) != 0 ||
        kit_flow(&flow, "dl", 1, "http_download", params, false) != 0 ||
        kit_fleet_start(&f, 4, 0) != 0 || kit_fleet_ready(&f, c) != 0) {
        goto out;
    }
    kit_submitter_init(&s, c);
    /* Stored states first: ensure compares them with what it discovers. */
    if (kit_submit(&s, &flow, PC_CMD_DISCOVER, id) != 0 || kit_submit_sync(&s) != 0 ||
        kit_wait_outcome(c, id, last, sizeof(last), 30000000u, outcome, sizeof(outcome)) != 0 ||
        strcmp(outcome, "complete") != 0) {
        (void)fprintf(stderr, "bench: cancel_download: discover did not complete (%s)\n", outcome);
        goto out;
    }
    for (size_t t = 0; t < trials; t++) {
        char channel[PC_KEY_MAX];
        uint64_t limit;
        uint64_t done = 0;
        uint64_t t_pub;
        redisReply *r = NULL;

        last[0] = '\0';
        if (kit_submit(&s, &flow, PC_CMD_ENSURE, id) != 0 || kit_submit_sync(&s) != 0 ||
            pc_key_interrupt_channel(channel, sizeof(channel), "peace", id) < 0) {
            goto out;
        }
        for (limit = kit_now_us() + 30000000u; done == 0 && kit_now_us() < limit;) {
            done = item_done(c, id);
            if (done == 0) {
                kit_sleep_us(500);
            }
        }
        if (done == 0) {
            (void)fprintf(stderr, "bench: cancel_download: the download never started\n");
            goto out;
        }
        t_pub = kit_now_us();
        r = kit_cmd(c, "PUBLISH %s %s", channel, "!cancel");
        if (r == NULL) {
            goto out;
        }
        freeReplyObject(r);
        if (kit_wait_outcome(c, id, last, sizeof(last), 30000000u, outcome, sizeof(outcome)) != 0) {
            goto out;
        }
        to_outcome[t] = (double)(kit_now_us() - t_pub) / 1000.0;
        at_mib[t] = (double)done / (1024.0 * 1024.0);
        cut += strcmp(outcome, "block_interrupted") == 0;
        clean += dir_entries(dldir) == 0;
    }
    printf("bench=cancel_download trials=%zu cut=%zu clean=%zu item=http_download_512MiB_loopback "
           "cut_at_p50_mib=%.2f outcome_p50_ms=%.3f outcome_p99_ms=%.3f outcome_max_ms=%.3f\n",
           trials, cut, clean, kit_pct(at_mib, trials, 0.5), kit_pct(to_outcome, trials, 0.5),
           kit_pct(to_outcome, trials, 0.99), kit_pct(to_outcome, trials, 1.0));
    rc = cut == trials && clean == trials ? 0 : 1;
    if (rc != 0) {
        (void)fprintf(stderr, "bench: cancel_download: %zu of %zu cut, %zu left no file\n", cut,
                      trials, clean);
    }
out:
    if (c != NULL) {
        redisFree(c);
    }
    kit_fleet_stop(&f, false);
    if (started) {
        server_stop(&srv);
    }
    pc_flow_cleanup(&flow);
    free(to_outcome);
    free(at_mib);
    return rc;
}
