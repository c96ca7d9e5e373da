/*
 * redis_cluster.h - the decisions of the Redis Cluster client as pure
 * functions (no I/O): which slot a key hashes to, which argument of a
 * command is its routing key, the slot table from a CLUSTER SLOTS reply, and
 * what an error reply asks for (MOVED, ASK, TRYAGAIN, CLUSTERDOWN).
 *
 * redis_conn.c routes commands with these; the unit tests check them
 * against Redis Cluster's specification without a server.
 */
#ifndef PEACE_REDIS_CLUSTER_H
#define PEACE_REDIS_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "peace/err.h"
#include "peace/redis_url.h"

#define PC_CLUSTER_SLOTS 16384
/* At most this many masters are read from a topology (far above real clusters). */
#define PC_CLUSTER_NODES_MAX 512

/* CRC16-XMODEM of p[0..n) (the checksum of the Redis Cluster specification). */
uint16_t pc_cluster_crc16(const void *p, size_t n);

/*
 * The slot of a key: CRC16 of the hash tag (the bytes between the first '{'
 * and the next '}', when that is not empty) or of the whole key, mod 16384.
 */
unsigned pc_cluster_key_slot(const void *key, size_t n);

/*
 * The argument that routes argv[0..argc): its index, or -1 when the command
 * has no key (PING, PUBLISH, SCRIPT, CLUSTER, EVAL with 0 keys...: any node
 * serves it). EVAL/EVALSHA: the first key; XREAD/XREADGROUP: the first
 * stream after STREAMS; XGROUP/XINFO/OBJECT/MEMORY: the key after the
 * subcommand; every other command: argv[1].
 */
int pc_cluster_cmd_key(int argc, const char *const *argv, const size_t *lens);

/* One master and the slots it serves, from CLUSTER SLOTS. */
struct pc_cluster_topo {
    size_t nnodes;
    struct pc_redis_addr nodes[PC_CLUSTER_NODES_MAX]; /* masters, each once */
    uint16_t slot_node[PC_CLUSTER_SLOTS];             /* index into nodes */
    size_t covered;                                   /* slots with a master */
};
#define PC_CLUSTER_NO_NODE UINT16_MAX

/*
 * Parses a CLUSTER SLOTS reply into topo (every slot without a master is
 * PC_CLUSTER_NO_NODE). Each range is [start, end, [ip, port, id, (7.0+:
 * metadata)], replicas...]; elements after the master's port are ignored, so
 * the 7.0 metadata element and replicas cost nothing. An empty ip ("" or
 * "?": the node does not know its own address) means `asked`, the node
 * that answered. PC_EREDIS on a malformed reply (err says what).
 */
int pc_cluster_parse_slots(const redisReply *reply, const struct pc_redis_addr *asked,
                           struct pc_cluster_topo *topo, struct pc_err *err) PC_NODISCARD;

enum pc_cluster_redirect_kind {
    PC_CLUSTER_REPLY,       /* a final reply: hand it to the caller */
    PC_CLUSTER_MOVED,       /* the slot lives at addr now: patch, resend */
    PC_CLUSTER_ASK,         /* ASKING + resend at addr, table unchanged */
    PC_CLUSTER_TRYAGAIN,    /* slot migrating: retry after a delay */
    PC_CLUSTER_CLUSTERDOWN, /* cluster unavailable: retry after a delay, refresh */
};

struct pc_cluster_redirect {
    enum pc_cluster_redirect_kind kind;
    unsigned slot;             /* MOVED/ASK */
    struct pc_redis_addr addr; /* MOVED/ASK */
};

/*
 * Classifies a reply. "MOVED 3999 127.0.0.1:6381" and "ASK ..." give the
 * slot and the address ("MOVED 3999 :6381", an empty host, means `from`,
 * the node that answered); a malformed MOVED/ASK is a final reply (the
 * caller sees the error).
 */
struct pc_cluster_redirect pc_cluster_classify(const redisReply *reply,
                                               const struct pc_redis_addr *from);

/* Delay before retry `attempt` (0-based) of a TRYAGAIN/CLUSTERDOWN: 25 ms
 * doubling, capped at 1000 ms. */
uint32_t pc_cluster_retry_delay_ms(unsigned attempt);

#endif /* PEACE_REDIS_CLUSTER_H */
