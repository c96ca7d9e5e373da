/*
 * redis_url.c - Redis connection settings from a URL (CONTRACT §1).
 *
 * Accepted forms:
 *   redis://[[user]:password@]host[:port][/db]
 *   unix://path[?db=N]
 *   redis+cluster://[[user]:password@]host[:port][,host[:port]...][/]
 * A cluster URL lists seed nodes (any nodes of the cluster; the topology is
 * read from them) and has no db: a Redis Cluster has database 0 only.
 * The host may be a name, an IPv4 address or a bracketed IPv6 address
 * ("[::1]"). A userinfo without ':' is the password alone, as redis-cli
 * reads it. User and password may be percent-encoded (%XX), so they can hold
 * '@', ':' or '/'. Everything is parsed into a local copy first and copied
 * to the caller only when the whole URL is valid. Error messages name the
 * part that is wrong but never repeat the credentials.
 */
#include "peace/redis_url.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "peace/pct.h"

#define REDIS_DEFAULT_PORT 6379
#define REDIS_DB_MAX       1000000 /* far above any real server's `databases` */
#define REDIS_URL_MAX      4096

/* Percent-decodes s[0..len) into out (out_size bytes incl. NUL). */
static int decode_credential(const char *s, size_t len, char *out, size_t out_size,
                             const char *what, struct pc_err *err)
{
    size_t n = 0;
    int rc = pc_pct_decode(s, len, false, out, out_size, &n);

    if (rc == PC_ELIMIT) {
        return pc_err_set(err, PC_ELIMIT, "Redis URL: the %s is longer than %zu bytes", what,
                          out_size - 1);
    }
    if (rc != 0) {
        return pc_err_set(err, PC_EINVAL, "Redis URL: bad %%-escape in the %s", what);
    }
    return 0;
}

/* Parses decimal digits s[0..len) into [min, max]. */
static int parse_number(const char *s, size_t len, unsigned long min, unsigned long max,
                        unsigned long *out)
{
    unsigned long v = 0;

    if (len == 0 || len > 10) {
        return PC_EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return PC_EINVAL;
        }
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v < min || v > max) {
        return PC_EINVAL;
    }
    *out = v;
    return 0;
}

static int parse_unix(const char *rest, struct pc_redis_url *u, struct pc_err *err)
{
    const char *query = strchr(rest, '?');
    size_t path_len = query != NULL ? (size_t)(query - rest) : strlen(rest);
    unsigned long db = 0;

    u->unix_socket = true;
    if (path_len == 0) {
        return pc_err_set(err, PC_EINVAL, "Redis URL: unix:// needs a socket path");
    }
    if (path_len > PC_REDIS_PATH_MAX) {
        return pc_err_set(err, PC_ELIMIT, "Redis URL: socket path is longer than %d bytes",
                          PC_REDIS_PATH_MAX);
    }
    (void)snprintf(u->path, sizeof(u->path), "%.*s", (int)path_len, rest);
    if (query != NULL) {
        const char *q = query + 1;

        if (strncmp(q, "db=", 3) != 0) {
            return pc_err_set(err, PC_EINVAL, "Redis URL: unix:// only takes ?db=N");
        }
        if (parse_number(q + 3, strlen(q + 3), 0, REDIS_DB_MAX, &db) != 0) {
            return pc_err_set(err, PC_EINVAL, "Redis URL: db must be a number 0..%d", REDIS_DB_MAX);
        }
    }
    u->db = (int)db;
    return 0;
}

static int parse_userinfo(const char *s, size_t len, struct pc_redis_url *u, struct pc_err *err)
{
    const char *colon = memchr(s, ':', len);
    int rc;

    if (colon == NULL) {
        return decode_credential(s, len, u->password, sizeof(u->password), "password", err);
    }
    rc = decode_credential(s, (size_t)(colon - s), u->user, sizeof(u->user), "user", err);
    if (rc != 0) {
        return rc;
    }
    return decode_credential(colon + 1, len - (size_t)(colon - s) - 1, u->password,
                             sizeof(u->password), "password", err);
}

/* host[:port] or [v6][:port] in s[0..len). */
static int parse_hostport(const char *s, size_t len, struct pc_redis_url *u, struct pc_err *err)
{
    const char *host = s;
    size_t host_len;
    const char *port = NULL;
    size_t port_len = 0;
    unsigned long port_value = REDIS_DEFAULT_PORT;

    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);

        if (close == NULL) {
            return pc_err_set(err, PC_EINVAL, "Redis URL: unclosed '[' in the host");
        }
        host = s + 1;
        host_len = (size_t)(close - host);
        if (close + 1 < s + len) {
            if (close[1] != ':') {
                return pc_err_set(err, PC_EINVAL, "Redis URL: junk after the IPv6 host");
            }
            port = close + 2;
            port_len = len - (size_t)(port - s);
        }
    } else {
        const char *colon = memchr(s, ':', len);

        host_len = colon != NULL ? (size_t)(colon - s) : len;
        if (colon != NULL) {
            port = colon + 1;
            port_len = len - host_len - 1;
        }
    }
    if (host_len == 0) {
        return pc_err_set(err, PC_EINVAL, "Redis URL: no host");
    }
    if (host_len > PC_REDIS_HOST_MAX) {
        return pc_err_set(err, PC_ELIMIT, "Redis URL: host is longer than %d bytes",
                          PC_REDIS_HOST_MAX);
    }
    for (size_t i = 0; i < host_len; i++) {
        unsigned char c = (unsigned char)host[i];

        if (c <= ' ' || c >= 0x7f || c == '[' || c == ']' || c == '@' || c == '?' || c == '#') {
            return pc_err_set(err, PC_EINVAL, "Redis URL: bad character in the host");
        }
    }
    if (port != NULL && parse_number(port, port_len, 1, 65535, &port_value) != 0) {
        return pc_err_set(err, PC_EINVAL, "Redis URL: port must be a number 1..65535");
    }
    memcpy(u->host, host, host_len);
    u->host[host_len] = '\0';
    u->port = (int)port_value;
    return 0;
}

/* host[:port] list separated by ',' (cluster seeds) in s[0..len). */
static int parse_seeds(const char *s, size_t len, struct pc_redis_url *u, struct pc_err *err)
{
    size_t start = 0;
    int rc;

    u->nseeds = 0;
    while (start <= len) {
        const char *comma = memchr(s + start, ',', len - start);
        size_t n = comma != NULL ? (size_t)(comma - (s + start)) : len - start;

        if (u->nseeds == PC_REDIS_SEEDS_MAX) {
            return pc_err_set(err, PC_ELIMIT, "Redis URL: more than %d cluster nodes",
                              PC_REDIS_SEEDS_MAX);
        }
        rc = parse_hostport(s + start, n, u, err);
        if (rc != 0) {
            return rc;
        }
        memcpy(u->seeds[u->nseeds].host, u->host, sizeof(u->host));
        u->seeds[u->nseeds].port = u->port;
        u->nseeds++;
        if (comma == NULL) {
            break;
        }
        start += n + 1;
    }
    /* host/port name the first seed. */
    memcpy(u->host, u->seeds[0].host, sizeof(u->host));
    u->port = u->seeds[0].port;
    return 0;
}

static int parse_tcp(const char *rest, struct pc_redis_url *u, struct pc_err *err)
{
    size_t authority_len = strcspn(rest, "/?#");
    const char *at = NULL;
    const char *hostport = rest;
    size_t hostport_len = authority_len;
    unsigned long db = 0;
    int rc;

    /* The last '@' ends the userinfo: an unencoded '@' in a password still parses. */
    for (size_t i = authority_len; i > 0; i--) {
        if (rest[i - 1] == '@') {
            at = rest + i - 1;
            break;
        }
    }
    if (at != NULL) {
        rc = parse_userinfo(rest, (size_t)(at - rest), u, err);
        if (rc != 0) {
            return rc;
        }
        hostport = at + 1;
        hostport_len = authority_len - (size_t)(hostport - rest);
    }
    rc = u->cluster ? parse_seeds(hostport, hostport_len, u, err)
                    : parse_hostport(hostport, hostport_len, u, err);
    if (rc != 0) {
        return rc;
    }
    rest += authority_len;
    if (rest[0] == '/') {
        size_t db_len = strlen(rest + 1);

        if (db_len > 0 && parse_number(rest + 1, db_len, 0, REDIS_DB_MAX, &db) != 0) {
            return pc_err_set(err, PC_EINVAL, "Redis URL: db must be a number 0..%d", REDIS_DB_MAX);
        }
        if (u->cluster && db != 0) {
            return pc_err_set(err, PC_EINVAL,
                              "Redis URL: a Redis Cluster has database 0 only (no /db)");
        }
    } else if (rest[0] != '\0') {
        return pc_err_set(err, PC_EINVAL, "Redis URL: unexpected '%c' after the host", rest[0]);
    }
    u->db = (int)db;
    if (!u->cluster) {
        memcpy(u->seeds[0].host, u->host, sizeof(u->host));
        u->seeds[0].port = u->port;
        u->nseeds = 1;
    }
    return 0;
}

int pc_redis_url_parse(const char *url, struct pc_redis_url *out, struct pc_err *err)
{
    static const char redis_scheme[] = "redis://";
    static const char unix_scheme[] = "unix://";
    static const char cluster_scheme[] = "redis+cluster://";
    struct pc_redis_url u;
    size_t len;
    int rc;

    if (url == NULL || out == NULL) {
        return pc_err_set(err, PC_EINVAL, "Redis URL: missing");
    }
    len = strnlen(url, REDIS_URL_MAX + 1);
    if (len > REDIS_URL_MAX) {
        return pc_err_set(err, PC_ELIMIT, "Redis URL: longer than %d bytes", REDIS_URL_MAX);
    }
    memset(&u, 0, sizeof(u));
    u.port = REDIS_DEFAULT_PORT;
    if (strncmp(url, redis_scheme, sizeof(redis_scheme) - 1) == 0) {
        rc = parse_tcp(url + sizeof(redis_scheme) - 1, &u, err);
    } else if (strncmp(url, cluster_scheme, sizeof(cluster_scheme) - 1) == 0) {
        u.cluster = true;
        rc = parse_tcp(url + sizeof(cluster_scheme) - 1, &u, err);
    } else if (strncmp(url, unix_scheme, sizeof(unix_scheme) - 1) == 0) {
        rc = parse_unix(url + sizeof(unix_scheme) - 1, &u, err);
    } else {
        return pc_err_set(err, PC_EINVAL,
                          "Redis URL must start with redis://, redis+cluster:// or unix:// "
                          "(rediss:// is not supported)");
    }
    if (rc != 0) {
        return rc;
    }
    *out = u;
    return 0;
}

int pc_redis_url_describe(const struct pc_redis_url *u, char *out, size_t out_size)
{
    int n;

    if (u == NULL || out == NULL || out_size == 0) {
        return PC_EINVAL;
    }
    if (u->unix_socket) {
        n = snprintf(out, out_size, "unix:%s", u->path);
    } else if (u->cluster) {
        n = snprintf(out, out_size,
                     strchr(u->host, ':') != NULL ? "cluster [%s]:%d%s" : "cluster %s:%d%s",
                     u->host, u->port, u->nseeds > 1 ? ",..." : "");
    } else if (strchr(u->host, ':') != NULL) {
        n = snprintf(out, out_size, "[%s]:%d", u->host, u->port);
    } else {
        n = snprintf(out, out_size, "%s:%d", u->host, u->port);
    }
    if (n < 0 || (size_t)n >= out_size) {
        out[0] = '\0';
        return PC_ELIMIT;
    }
    return n;
}
