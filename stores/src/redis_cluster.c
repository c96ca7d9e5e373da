/*
 * redis_cluster.c - the pure decisions of the Redis Cluster client: key
 * slots, routing keys, CLUSTER SLOTS parsing, redirect classification.
 */
#include "peace/redis_cluster.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* CRC16-XMODEM (polynomial 0x1021, initial 0), computed bit by bit once
 * per byte: keys are short, a table buys nothing measurable here. */
uint16_t pc_cluster_crc16(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint16_t crc = 0;

    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)((unsigned)b[i] << 8);
        for (int k = 0; k < 8; k++) {
            crc = (crc & 0x8000u) != 0 ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
        }
    }
    return crc;
}

unsigned pc_cluster_key_slot(const void *key, size_t n)
{
    const char *k = key;
    const char *open = n > 0 ? memchr(k, '{', n) : NULL;

    if (open != NULL) {
        size_t from = (size_t)(open - k) + 1;
        const char *close = from < n ? memchr(k + from, '}', n - from) : NULL;

        if (close != NULL && close > k + from) {
            return pc_cluster_crc16(k + from, (size_t)(close - (k + from))) & 16383u;
        }
    }
    return pc_cluster_crc16(k, n) & 16383u;
}

static bool arg_is(const char *a, size_t n, const char *word)
{
    size_t wn = strlen(word);

    return n == wn && strncasecmp(a, word, n) == 0;
}

/* Commands any node serves (no key, or not routed by one). */
static const char *const keyless[] = {
    "PING",     "PUBLISH",   "SUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SCRIPT",
    "CLUSTER",  "ASKING",    "AUTH",      "SELECT",     "CLIENT",      "INFO",         "TIME",
    "DBSIZE",   "FLUSHALL",  "FLUSHDB",   "CONFIG",     "COMMAND",     "ECHO",         "HELLO",
    "READONLY", "READWRITE", "WAIT",      "SCAN",       "KEYS",        "RANDOMKEY",    "MULTI",
    "EXEC",     "DISCARD",   "FUNCTION",  "SLOWLOG",    "LATENCY",     "MONITOR",      "QUIT",
    "RESET",    "SHUTDOWN",  "LASTSAVE",  "BGSAVE",     "SAVE",        "DEBUG",        "ACL",
};

int pc_cluster_cmd_key(int argc, const char *const *argv, const size_t *lens)
{
    if (argc < 1 || argv == NULL || lens == NULL) {
        return -1;
    }
    for (size_t i = 0; i < sizeof(keyless) / sizeof(keyless[0]); i++) {
        if (arg_is(argv[0], lens[0], keyless[i])) {
            return -1;
        }
    }
    if (arg_is(argv[0], lens[0], "EVAL") || arg_is(argv[0], lens[0], "EVALSHA") ||
        arg_is(argv[0], lens[0], "EVAL_RO") || arg_is(argv[0], lens[0], "EVALSHA_RO") ||
        arg_is(argv[0], lens[0], "FCALL") || arg_is(argv[0], lens[0], "FCALL_RO")) {
        /* EVAL script numkeys key...: no key, no routing. */
        if (argc < 4 || lens[2] == 0 || (lens[2] == 1 && argv[2][0] == '0')) {
            return -1;
        }
        return 3;
    }
    if (arg_is(argv[0], lens[0], "XREAD") || arg_is(argv[0], lens[0], "XREADGROUP")) {
        for (int i = 1; i + 1 < argc; i++) {
            if (arg_is(argv[i], lens[i], "STREAMS")) {
                return i + 1;
            }
        }
        return -1;
    }
    if (arg_is(argv[0], lens[0], "XGROUP") || arg_is(argv[0], lens[0], "XINFO") ||
        arg_is(argv[0], lens[0], "OBJECT") || arg_is(argv[0], lens[0], "MEMORY")) {
        if (argc >= 2 && (arg_is(argv[1], lens[1], "HELP") || arg_is(argv[1], lens[1], "STATS") ||
                          arg_is(argv[1], lens[1], "DOCTOR"))) {
            return -1;
        }
        return argc >= 3 ? 2 : -1;
    }
    return argc >= 2 ? 1 : -1;
}

/* ------------------------------------------------------------------------ */
/* CLUSTER SLOTS                                                             */

static bool reply_u64(const redisReply *r, long long min, long long max, long long *out)
{
    if (r == NULL || r->type != REDIS_REPLY_INTEGER || r->integer < min || r->integer > max) {
        return false;
    }
    *out = r->integer;
    return true;
}

/* The index of addr in topo->nodes, added when new; -1 when full. */
static int topo_node(struct pc_cluster_topo *topo, const char *host, size_t host_len, int port)
{
    for (size_t i = 0; i < topo->nnodes; i++) {
        if (topo->nodes[i].port == port && strlen(topo->nodes[i].host) == host_len &&
            memcmp(topo->nodes[i].host, host, host_len) == 0) {
            return (int)i;
        }
    }
    if (topo->nnodes == PC_CLUSTER_NODES_MAX) {
        return -1;
    }
    memcpy(topo->nodes[topo->nnodes].host, host, host_len);
    topo->nodes[topo->nnodes].host[host_len] = '\0';
    topo->nodes[topo->nnodes].port = port;
    return (int)topo->nnodes++;
}

static bool host_ok(const char *h, size_t n)
{
    if (n == 0 || n > PC_REDIS_HOST_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];

        if (c <= ' ' || c >= 0x7f) {
            return false;
        }
    }
    return true;
}

int pc_cluster_parse_slots(const redisReply *reply, const struct pc_redis_addr *asked,
                           struct pc_cluster_topo *topo, struct pc_err *err)
{
    if (reply == NULL || topo == NULL || asked == NULL) {
        return pc_err_set(err, PC_EINVAL, "CLUSTER SLOTS: missing argument");
    }
    if (reply->type != REDIS_REPLY_ARRAY) {
        return pc_err_set(err, PC_EREDIS, "CLUSTER SLOTS: the reply is not an array");
    }
    topo->nnodes = 0;
    topo->covered = 0;
    for (size_t s = 0; s < PC_CLUSTER_SLOTS; s++) {
        topo->slot_node[s] = PC_CLUSTER_NO_NODE;
    }
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *range = reply->element[i];
        const redisReply *master = NULL;
        long long start = 0;
        long long end = 0;
        long long port = 0;
        const char *host = NULL;
        size_t host_len = 0;
        int node;

        if (range == NULL || range->type != REDIS_REPLY_ARRAY || range->elements < 3 ||
            !reply_u64(range->element[0], 0, PC_CLUSTER_SLOTS - 1, &start) ||
            !reply_u64(range->element[1], start, PC_CLUSTER_SLOTS - 1, &end)) {
            return pc_err_set(err, PC_EREDIS, "CLUSTER SLOTS: range %zu is malformed", i);
        }
        master = range->element[2];
        if (master == NULL || master->type != REDIS_REPLY_ARRAY || master->elements < 2 ||
            master->element[0] == NULL || master->element[0]->type != REDIS_REPLY_STRING ||
            !reply_u64(master->element[1], 1, 65535, &port)) {
            return pc_err_set(err, PC_EREDIS, "CLUSTER SLOTS: the master of range %zu is malformed",
                              i);
        }
        host = master->element[0]->str;
        host_len = master->element[0]->len;
        if (host_len == 0 || (host_len == 1 && host[0] == '?')) {
            host = asked->host;
            host_len = strlen(asked->host);
        }
        if (!host_ok(host, host_len)) {
            return pc_err_set(err, PC_EREDIS, "CLUSTER SLOTS: bad address in range %zu", i);
        }
        node = topo_node(topo, host, host_len, (int)port);
        if (node < 0) {
            return pc_err_set(err, PC_ELIMIT, "CLUSTER SLOTS: more than %d masters",
                              PC_CLUSTER_NODES_MAX);
        }
        for (long long s = start; s <= end; s++) {
            if (topo->slot_node[s] == PC_CLUSTER_NO_NODE) {
                topo->covered++;
            }
            topo->slot_node[s] = (uint16_t)node;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Redirects                                                                 */

/* "SLOT host:port" after the MOVED/ASK word, in s[0..n). */
static bool parse_target(const char *s, size_t n, const struct pc_redis_addr *from,
                         struct pc_cluster_redirect *out)
{
    size_t i = 0;
    unsigned long slot = 0;
    size_t colon = SIZE_MAX;
    unsigned long port = 0;
    size_t host_len;

    while (i < n && s[i] >= '0' && s[i] <= '9' && slot < PC_CLUSTER_SLOTS) {
        slot = slot * 10 + (unsigned long)(s[i] - '0');
        i++;
    }
    if (i == 0 || i >= n || s[i] != ' ' || slot >= PC_CLUSTER_SLOTS) {
        return false;
    }
    s += i + 1;
    n -= i + 1;
    for (size_t k = n; k > 0; k--) {
        if (s[k - 1] == ':') {
            colon = k - 1;
            break;
        }
    }
    if (colon == SIZE_MAX || colon + 1 >= n || n - colon - 1 > 5) {
        return false;
    }
    for (size_t k = colon + 1; k < n; k++) {
        if (s[k] < '0' || s[k] > '9') {
            return false;
        }
        port = port * 10 + (unsigned long)(s[k] - '0');
    }
    if (port == 0 || port > 65535) {
        return false;
    }
    host_len = colon;
    if (host_len >= 2 && s[0] == '[' && s[host_len - 1] == ']') {
        s++;
        host_len -= 2;
    }
    if (host_len == 0) {
        memcpy(out->addr.host, from->host, sizeof(out->addr.host));
    } else if (!host_ok(s, host_len)) {
        return false;
    } else {
        memcpy(out->addr.host, s, host_len);
        out->addr.host[host_len] = '\0';
    }
    out->addr.port = (int)port;
    out->slot = (unsigned)slot;
    return true;
}

struct pc_cluster_redirect pc_cluster_classify(const redisReply *reply,
                                               const struct pc_redis_addr *from)
{
    struct pc_cluster_redirect r;

    memset(&r, 0, sizeof(r));
    r.kind = PC_CLUSTER_REPLY;
    if (reply == NULL || reply->type != REDIS_REPLY_ERROR || reply->str == NULL) {
        return r;
    }
    if (reply->len > 6 && memcmp(reply->str, "MOVED ", 6) == 0) {
        if (parse_target(reply->str + 6, reply->len - 6, from, &r)) {
            r.kind = PC_CLUSTER_MOVED;
        }
    } else if (reply->len > 4 && memcmp(reply->str, "ASK ", 4) == 0) {
        if (parse_target(reply->str + 4, reply->len - 4, from, &r)) {
            r.kind = PC_CLUSTER_ASK;
        }
    } else if (reply->len >= 8 && memcmp(reply->str, "TRYAGAIN", 8) == 0) {
        r.kind = PC_CLUSTER_TRYAGAIN;
    } else if (reply->len >= 11 && memcmp(reply->str, "CLUSTERDOWN", 11) == 0) {
        r.kind = PC_CLUSTER_CLUSTERDOWN;
    }
    return r;
}

uint32_t pc_cluster_retry_delay_ms(unsigned attempt)
{
    uint32_t d = 25;

    for (unsigned i = 0; i < attempt && d < 1000; i++) {
        d *= 2;
    }
    return d > 1000 ? 1000 : d;
}
