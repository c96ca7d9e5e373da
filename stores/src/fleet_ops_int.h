/*
 * fleet_ops_int.h - what the files of the operations (fleet_ops*.c) share:
 * the operation's state. Private to stores/.
 */
#ifndef PEACE_FLEET_OPS_INT_H
#define PEACE_FLEET_OPS_INT_H

#include "peace/fleet_ops.h"
#include "peace/keys.h"

struct fop_queue {
    struct pc_id name;
    uint64_t length;    /* XLEN */
    uint64_t pending;   /* delivered, not acknowledged */
    uint64_t live;      /* live workers (heartbeats) */
    uint64_t oldest_ms; /* the oldest entry's time, 0 = none */
};

struct fop_worker {
    const redisReply *member; /* the consumer name (borrowed from a kept reply) */
    uint64_t expires_ms;      /* the beat's score */
    const redisReply *hash;   /* HGETALL, NULL = gone since */
};

struct pc_fop {
    enum pc_fop_kind kind;
    char prefix[PC_PREFIX_MAX + 1];
    unsigned partitions; /* 1..PC_PARTITIONS_MAX */
    uint64_t now_ms;
    unsigned step; /* rounds answered */
    bool failed;
    /* the round to send */
    struct pc_redis_args *cmds;
    size_t n_cmds;
    size_t cap_cmds;
    /* every reply fed, freed at the end (results borrow from them) */
    redisReply **kept;
    size_t n_kept;
    size_t cap_kept;
    /* workers, queues */
    struct fop_queue queues[PC_FOP_QUEUES_MAX];
    size_t n_queues;
    struct fop_worker *workers;
    size_t n_workers;
    uint64_t dead_len;
    /* dead */
    size_t limit;
    char in_cursor[PC_FOP_CURSOR_MAX];
    char out_cursor[PC_FOP_CURSOR_MAX];
    const redisReply **dead;
    size_t n_dead;
    /* retry, rerun */
    char target[PC_EXEC_ID_MAX + 1];
    char new_id[PC_EXEC_ID_MAX + 1];
    const redisReply *job;
    bool lost_race;
    bool finishing; /* retry: the marker's id is being queued by this retry */
    bool job_copy;  /* rerun: the shared job copy is being read */
    enum pc_fop_result result;
    char message[PC_ERR_MSG_MAX + 64];
    /* execs */
    struct pc_exec_filter filter;
    char **fields; /* the caller's, then the filter fields */
    size_t n_fields;
    size_t n_all_fields;
    bool has_cursor;
    uint64_t c_score;
    char c_id[PC_EXEC_ID_MAX + 1];
    bool has_pos;
    uint64_t pos_score;
    size_t pos_count;
    size_t round_count;
    bool index_full;
    size_t scanned;
    const redisReply *index;
    const redisReply **rows;
    size_t n_rows;
};

/* Adds a queue name (an identifier) unless known or the table is full. */
void fop_add_queue(struct pc_fop *op, const char *p, size_t n);

/* The value of field name in a flat [field, value, ...] array, or NULL. */
const redisReply *fop_field(const redisReply *kv, const char *name);

/* The filter fields appended to the caller's, in this order. */
#define FOP_META_EXTRA 7
/* How long a retry's claim on queueing the marker's id lives (ms). */
#define FOP_RETRY_CLAIM_MS 30000u

/* A new command of the round (initialised), or NULL when out of memory. */
struct pc_redis_args *fop_add_cmd(struct pc_fop *op);
/* Adds key, or records PC_ELIMIT in a when key_rc (a pc_key_* result) failed. */
void fop_add_key_cmd(struct pc_redis_args *a, int key_rc, const char *key);
/* A string or status reply. */
bool fop_is_str(const redisReply *r);

/* executions (fleet_ops_execs.c): "c<SCORE>.<ID>" -> (score, id). */
bool fop_cursor_parse(const char *s, uint64_t *score, char *id, size_t id_size);
int fop_execs_index_round(struct pc_fop *op);
int fop_execs_step(struct pc_fop *op, redisReply **r, size_t n);

#endif /* PEACE_FLEET_OPS_INT_H */
