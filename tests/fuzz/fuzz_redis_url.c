/*
 * fuzz_redis_url.c - the Redis URL parser (pc_redis_url_parse: --redis-url
 * and PEACE_REDIS_URL of every program).
 *
 * Properties: a parsed URL has a host and a port in 1..65535 (tcp) or a
 * socket path (unix), a database >= 0, NUL-terminated fields, and describes
 * itself without its password; a failure leaves out untouched and says why.
 */
#include <string.h>

#include "fuzz.h"
#include "peace/redis_url.h"

static bool terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    struct pc_redis_url u;
    struct pc_redis_url before;
    struct pc_err err;
    char desc[512];

    FUZZ_CHECK(url != NULL);
    memcpy(url, data, size);
    url[size] = '\0';
    memset(&u, 0xa5, sizeof(u));
    memcpy(&before, &u, sizeof(u)); /* padding included: compared with memcmp */
    if (pc_redis_url_parse(url, &u, &err) != 0) {
        FUZZ_CHECK(memcmp(&u, &before, sizeof(u)) == 0);
        FUZZ_CHECK(err.code != 0 && err.msg[0] != '\0');
        free(url);
        return 0;
    }
    FUZZ_CHECK(terminated(u.host, sizeof(u.host)) && terminated(u.path, sizeof(u.path)) &&
               terminated(u.user, sizeof(u.user)) && terminated(u.password, sizeof(u.password)));
    FUZZ_CHECK(u.db >= 0);
    if (u.unix_socket) {
        FUZZ_CHECK(u.path[0] != '\0');
    } else {
        FUZZ_CHECK(u.host[0] != '\0' && u.port >= 1 && u.port <= 65535);
    }
    FUZZ_CHECK(pc_redis_url_describe(&u, desc, sizeof(desc)) >= 0);
    FUZZ_CHECK(terminated(desc, sizeof(desc)));
    free(url);
    return 0;
}
