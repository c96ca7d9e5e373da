/*
 * web_token.c - the token a server makes when none is configured, and the
 * dashboard URL it prints (web_server.h). Shared by peace-scheduler and
 * `peace run --local --listen`, so both follow the same rule.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

#include "web_server.h"

int web_token_generate(char *out, size_t out_size, size_t *len, struct pc_err *err)
{
    unsigned char raw[WEB_TOKEN_RANDOM_BYTES];
    size_t got = 0;

    if (out_size < 2 * sizeof(raw) + 1) {
        return pc_err_set(err, PC_ELIMIT, "cannot make a token: no room");
    }
    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return pc_err_set(err, -errno, "cannot make a token: getrandom failed");
        }
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = "0123456789abcdef"[raw[i] >> 4];
        out[2 * i + 1] = "0123456789abcdef"[raw[i] & 15];
    }
    out[2 * sizeof(raw)] = '\0';
    *len = 2 * sizeof(raw);
    return 0;
}

void web_url_format(const char *host, uint16_t port, const char *token, char *out, size_t out_size)
{
    bool v6 = strchr(host, ':') != NULL;
    bool with_token = token != NULL && token[0] != '\0';

    if (strcmp(host, "0.0.0.0") == 0) {
        host = "127.0.0.1";
    } else if (strcmp(host, "::") == 0) {
        host = "::1";
        v6 = true;
    }
    (void)snprintf(out, out_size, "http://%s%s%s:%u/%s%s", v6 ? "[" : "", host, v6 ? "]" : "",
                   (unsigned)port, with_token ? "#token=" : "", with_token ? token : "");
}
