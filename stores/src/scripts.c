/*
 * scripts.c - the fleet's Lua scripts and their runner.
 *
 * Design. The scripts are the only writers of an execution's keys and of a
 * profile's states while it runs, so every rule of docs/fleet.md that must
 * hold atomically lives here: the fence (lease epoch, lock value), the
 * attempt counter, the interrupt marker, the finish. Each script touches one
 * slot only ({ID} or {APP:PROFILE} hash tags) so it also runs on a Redis
 * Cluster.
 *
 * Long argument lists (a whole states map, the progress of many items) are
 * written in chunks of 200 values: Lua's unpack() is limited by its C stack
 * (about 8000 values), and a flow may have 10000 items.
 *
 * The runner keeps the arguments of each call until its reply, so a
 * NOSCRIPT reply (Redis restarted and lost its script cache) is answered by
 * sending the same call again with EVAL. SCRIPT LOAD replies fill the digest
 * cache; until then calls use EVAL, which caches the script server-side too.
 */
#include "peace/scripts.h"

#include "redis_conn_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHA_LEN 40

/* The Lua text is laid out as Lua, one line per string. */
/* clang-format off */

/* HSET of ARGV[from..to] (field, value pairs) in chunks. */
#define LUA_HSET_RANGE                                                                             \
    "local function hset_range(key, from, to)\n"                                                   \
    "  local i = from\n"                                                                           \
    "  while i <= to do\n"                                                                         \
    "    local j = math.min(i + 199, to)\n"                                                        \
    "    redis.call('HSET', key, unpack(ARGV, i, j))\n"                                            \
    "    i = j + 1\n"                                                                              \
    "  end\n"                                                                                      \
    "end\n"

/* The execution's keys among KEYS[1..3] (never a lock that follows them). */
#define LUA_EXPIRE3                                                                                \
    "local function expire_all(ttl)\n"                                                             \
    "  if ttl > 0 then\n"                                                                          \
    "    for k = 1, math.min(#KEYS, 3) do redis.call('EXPIRE', KEYS[k], ttl) end\n"                             \
    "  end\n"                                                                                      \
    "end\n"

/*
 * One HMGET reads everything the start decides on, one HSET writes it: each
 * redis.call costs about a microsecond, each argument a fraction of one.
 * ARGV[7..9] take the profile lock in the same call (mode, lease_ms, exec
 * id; KEYS[4] the lock): where the lock shares the call's slot (a standalone
 * Redis, or an id in its profile's slot: keys.h pc_exec_colocated). Mode "0" takes nothing, "1" takes it, "2" takes it unless
 * an interrupt is marked (strategy finish_current: such an execution runs
 * without the lock). Taken as lock_acquire takes it, with value ID:EPOCH; the
 * reply's last element says {1, ""} (held) or {0, holder}, or {} (not asked).
 * ARGV[10] counts the progress fields that follow (the layout marker and
 * every item's initial line, progress layout 2): written once the previous
 * attempt's progress was read (the whole hash, returned as is: the worker
 * reads either layout; a takeover then rewrites the hash from scratch, so
 * an execution an older worker started in layout 1 goes on in layout 2,
 * never a mix), so later
 * writes only change fields (Redis keeps a hash of up to 512 fields as a
 * listpack, where inserting is far dearer than replacing). The short form
 * ends there and is enough when the meta is complete and an attempt is left;
 * otherwise the script writes nothing and answers "more", and the caller
 * sends the long form: the report and error of an exhausted execution, then
 * the descriptive fields (set where missing).
 */
static const char exec_start_lua[] =
    LUA_EXPIRE3
    LUA_HSET_RANGE
    "local meta = KEYS[1]\n"
    "local m = redis.call('HMGET', meta, 'status', 'outcome', 'attempt', 'lease_epoch',\n"
    "  'interrupt_requested_ms', 'interrupt_reason', 'block', 'sync_tolerate', 'id', 'cmd',\n"
    "  'app', 'profile', 'flow', 'queue', 'created_ms', 'blocks_total', 'items_total')\n"
    "if m[1] == 'finished' then return {'finished', m[2] or ''} end\n"
    "local np = tonumber(ARGV[10])\n"
    "local x = 11 + np\n"
    "local attempt = (tonumber(m[3]) or 0) + 1\n"
    "local set = {'attempt', attempt}\n"
    "if #ARGV < x then\n"
    "  for k = 9, 17 do if not m[k] then return {'more'} end end\n"
    "  if attempt > tonumber(ARGV[4]) then return {'more'} end\n"
    "else\n"
    "  local names = {}\n"
    "  for i = x + 2, #ARGV - 1, 2 do names[#names + 1] = ARGV[i] end\n"
    "  if #names > 0 then\n"
    "    local have = redis.call('HMGET', meta, unpack(names))\n"
    "    for k = 1, #names do\n"
    "      if not have[k] then\n"
    "        set[#set + 1] = names[k]\n"
    "        set[#set + 1] = ARGV[x + 2 * k + 1]\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if attempt > tonumber(ARGV[4]) then\n"
    "  local n = #set\n"
    "  set[n + 1] = 'status'; set[n + 2] = 'finished'; set[n + 3] = 'outcome'\n"
    "  set[n + 4] = 'rejected'; set[n + 5] = 'finished_ms'; set[n + 6] = ARGV[2]\n"
    "  set[n + 7] = 'error'; set[n + 8] = ARGV[x + 1]; set[n + 9] = 'report'; set[n + 10] = ARGV[x]\n"
    "  redis.call('HSET', meta, unpack(set))\n"
    "  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], '*',\n"
    "             'kind', 'outcome', 'outcome', 'rejected')\n"
    "  expire_all(tonumber(ARGV[5]))\n"
    "  return {'exhausted', attempt}\n"
    "end\n"
    "local epoch = (tonumber(m[4]) or 0) + 1\n"
    "local n = #set\n"
    "set[n + 1] = 'lease_epoch'; set[n + 2] = epoch; set[n + 3] = 'status'\n"
    "set[n + 4] = 'running'; set[n + 5] = 'worker'; set[n + 6] = ARGV[1]\n"
    "set[n + 7] = 'lease_until_ms'; set[n + 8] = ARGV[3]\n"
    "redis.call('HSET', meta, unpack(set))\n"
    "local prog = {}\n"
    "if attempt > 1 then\n"
    "  prog = redis.call('HGETALL', KEYS[2])\n"
    "  if np > 0 and #prog > 0 then redis.call('DEL', KEYS[2]) end\n"
    "end\n"
    "hset_range(KEYS[2], 11, 10 + np)\n"
    "local lk = {}\n"
    "if ARGV[7] == '1' or (ARGV[7] == '2' and not m[5]) then\n"
    "  local val = ARGV[9] .. ':' .. epoch\n"
    "  local v = redis.call('SET', KEYS[4], val, 'PX', ARGV[8], 'NX', 'GET')\n"
    "  if v and string.sub(v, 1, #ARGV[9] + 1) == ARGV[9] .. ':' then\n"
    "    redis.call('SET', KEYS[4], val, 'PX', ARGV[8])\n"
    "    v = false\n"
    "  end\n"
    "  if v then lk = {0, v} else lk = {1, ''} end\n"
    "end\n"
    "return {'started', epoch, attempt, m[5] or '', m[6] or '', m[7] or '', m[8] or '', prog, lk}\n";

static const char exec_renew_lua[] =
    "local m = redis.call('HMGET', KEYS[1], 'lease_epoch', 'status',\n"
    "                     'interrupt_requested_ms', 'interrupt_reason', 'interrupt_mode',\n"
    "                     'interrupt_deadline_ms')\n"
    "if m[1] ~= ARGV[1] or m[2] == 'finished' then return {'fenced'} end\n"
    "redis.call('HSET', KEYS[1], 'lease_until_ms', ARGV[2])\n"
    "return {'ok', m[3] or '', m[4] or '', m[5] or '', m[6] or ''}\n";

/*
 * The progress section shared by exec_progress and exec_finish, from ARGV[i]:
 * np [field value]... ne [nf [field value]...]... nm [field value]...; the
 * meta pairs are appended to `meta_set` (one HSET for the caller to send);
 * the events are added to the stream when `stream` (events layout 2: a
 * short, unfollowed execution's finish writes none).
 * Returns the index after the section.
 */
#define LUA_PROGRESS_SECTION                                                                       \
    "local function progress(i, meta_set, stream)\n"                                               \
    "  local np = tonumber(ARGV[i]); i = i + 1\n"                                                  \
    "  hset_range(KEYS[2], i, i + np - 1); i = i + np\n"                                           \
    "  local ne = tonumber(ARGV[i]); i = i + 1\n"                                                  \
    "  for e = 1, ne do\n"                                                                         \
    "    local nf = tonumber(ARGV[i]); i = i + 1\n"                                                \
    "    if stream then\n"                                                                         \
    "      redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, i, i + nf - 1))\n" \
    "    end\n"                                                                                    \
    "    i = i + nf\n"                                                                             \
    "  end\n"                                                                                      \
    "  local nm = tonumber(ARGV[i]); i = i + 1\n"                                                  \
    "  for k = i, i + nm - 1 do meta_set[#meta_set + 1] = ARGV[k] end\n"                           \
    "  return i + nm\n"                                                                            \
    "end\n"

#define LUA_FENCE_EXEC                                                                             \
    "local m = redis.call('HMGET', KEYS[1], 'lease_epoch', 'status')\n"                           \
    "if m[1] ~= ARGV[1] or m[2] == 'finished' then\n"                                              \
    "  return redis.error_reply('FENCED the execution is owned by another attempt')\n"             \
    "end\n"

static const char exec_progress_lua[] =
    LUA_HSET_RANGE
    LUA_PROGRESS_SECTION
    LUA_FENCE_EXEC
    "local meta_set = {}\n"
    "progress(3, meta_set, true)\n"
    "if #meta_set > 0 then redis.call('HSET', KEYS[1], unpack(meta_set)) end\n"
    "return 'OK'\n";

static const char exec_park_lua[] =
    "local m = redis.call('HMGET', KEYS[1], 'lease_epoch', 'status')\n"
    "if m[1] ~= ARGV[1] or m[2] ~= 'running' then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'status', 'queued')\n"
    "redis.call('HDEL', KEYS[1], 'started_ms')\n"
    "return 1\n";

static const char exec_mark_interrupt_lua[] =
    "local st = redis.call('HGET', KEYS[1], 'status')\n"
    "if (not st) or st == 'finished' then return 0 end\n"
    "local rank = {finish = 0, cancel = 1, kill = 2}\n"
    "if ARGV[3] and rank[ARGV[3]] then\n"
    "  local cur = redis.call('HGET', KEYS[1], 'interrupt_mode')\n"
    "  if rank[ARGV[3]] > (rank[cur or 'finish'] or 0) or not cur then\n"
    "    redis.call('HSET', KEYS[1], 'interrupt_mode', ARGV[3], 'interrupt_deadline_ms', ARGV[4])\n"
    "  end\n"
    "end\n"
    "if ARGV[5] then\n"
    "  redis.call('HSETNX', KEYS[1], 'interrupt_latched_ms', ARGV[5])\n"
    "  redis.call('HSET', KEYS[1], 'interrupt_escalations', ARGV[6])\n"
    "  if ARGV[7] then redis.pcall('PUBLISH', ARGV[7], ARGV[8]) end\n"
    "end\n"
    "if redis.call('HSETNX', KEYS[1], 'interrupt_requested_ms', ARGV[1]) == 1 then\n"
    "  redis.call('HSET', KEYS[1], 'interrupt_reason', ARGV[2])\n"
    "  return 1\n"
    "end\n"
    "return 2\n";

/*
 * The end in one call: the last progress (as exec_progress), the outcome,
 * the outcome event, the retention. A finished execution's events stream
 * never grows again; while it is short it is copied (COPY allocates each
 * stream node at its exact size) over itself (RENAME from KEYS[4], a
 * scratch name in the same slot): Redis 7 allocates 4 KiB for every new
 * stream node, most of it unused by a short stream. The compaction is an
 * optimisation: a Redis user without COPY or RENAME (docs/acl.md) skips it
 * (redis.pcall) rather than failing every finish.
 *
 * Events layout 2 (ARGV[6] = "2"): the events (pending ones and the
 * outcome's) go to the stream only when the execution has one already (the
 * meta field `events`, set by the first progress flush that wrote events)
 * or is followed (`followed`, set by exec_follow); otherwise none is
 * written, nor compacted, nor expired: a follower synthesises them
 * (events_fold.h). Layout 1 ("1") writes them always.
 *
 * ARGV[3..5] release the profile lock in the same call (lock value, the
 * released channel, the profile tag; KEYS[6] the lock): where every key is
 * in one slot (a standalone Redis, or an id in its profile's slot).
 * ARGV[3] = "" releases nothing (lock_release follows as its own call). The release runs
 * whether or not the finish is fenced: it only gives back a lock this
 * attempt still holds, as the separate call does.
 */
static const char exec_finish_lua[] =
    LUA_HSET_RANGE
    LUA_PROGRESS_SECTION
    "local function release()\n"
    "  if ARGV[3] ~= '' and redis.call('GET', KEYS[6]) == ARGV[3] then\n"
    "    redis.call('DEL', KEYS[6])\n"
    "    redis.call('PUBLISH', ARGV[4], ARGV[5])\n"
    "  end\n"
    "end\n"
    "local m = redis.call('HMGET', KEYS[1], 'lease_epoch', 'status', 'error', 'followed',\n"
    "                     'events')\n"
    "if m[1] ~= ARGV[1] or m[2] == 'finished' then\n"
    "  release()\n"
    "  return redis.error_reply('FENCED the execution is owned by another attempt')\n"
    "end\n"
    "local stream = ARGV[6] ~= '2' or m[4] or m[5]\n"
    "local meta_set = {}\n"
    "local i = progress(7, meta_set, stream)\n"
    "local n = #meta_set\n"
    "meta_set[n + 1] = 'status'; meta_set[n + 2] = 'finished'; meta_set[n + 3] = 'outcome'\n"
    "meta_set[n + 4] = ARGV[i + 1]; meta_set[n + 5] = 'finished_ms'; meta_set[n + 6] = ARGV[i]\n"
    "meta_set[n + 7] = 'report'; meta_set[n + 8] = ARGV[i + 2]\n"
    "if ARGV[i + 3] ~= '' then\n"
    "  meta_set[n + 9] = 'error'; meta_set[n + 10] = ARGV[i + 3]\n"
    "elseif m[3] then\n"
    "  redis.call('HDEL', KEYS[1], 'error')\n"
    "end\n"
    "if ARGV[i + 6] ~= '' then\n"
    "  meta_set[#meta_set + 1] = 'block_ms'; meta_set[#meta_set + 1] = ARGV[i + 6]\n"
    "end\n"
    "redis.call('HSET', KEYS[1], unpack(meta_set))\n"
    "local ttl = tonumber(ARGV[i + 4])\n"
    "if ARGV[i + 5] ~= '' then\n"
    "  if ttl > 0 then redis.call('SET', KEYS[5], ARGV[i + 5], 'EX', ttl)\n"
    "  else redis.call('SET', KEYS[5], ARGV[i + 5]) end\n"
    "end\n"
    "if stream then\n"
    "  if #ARGV >= i + 7 then\n"
    "    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, i + 7, #ARGV))\n"
    "  end\n"
    "  if redis.call('XLEN', KEYS[3]) <= 64 and redis.pcall('COPY', KEYS[3], KEYS[4], 'REPLACE') == 1 then\n"
    "    if type(redis.pcall('RENAME', KEYS[4], KEYS[3])) == 'table' then redis.pcall('DEL', KEYS[4]) end\n"
    "  end\n"
    "end\n"
    "if ttl > 0 then\n"
    "  for k = 1, stream and 3 or 2 do redis.call('EXPIRE', KEYS[k], ttl) end\n"
    "end\n"
    "release()\n"
    "return 'OK'\n";

static const char exec_reject_lua[] =
    LUA_EXPIRE3
    "local st = redis.call('HGET', KEYS[1], 'status')\n"
    "if st == 'finished' then return 0 end\n"
    "local nd = tonumber(ARGV[6])\n"
    "for i = 7, 6 + nd - 1, 2 do redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end\n"
    "redis.call('HSET', KEYS[1], 'status', 'finished', 'outcome', 'rejected',\n"
    "           'finished_ms', ARGV[1], 'error', ARGV[2], 'report', ARGV[3])\n"
    "if #ARGV >= 7 + nd then\n"
    "  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', unpack(ARGV, 7 + nd, #ARGV))\n"
    "end\n"
    "expire_all(tonumber(ARGV[4]))\n"
    "return 1\n";

/*
 * The follower's registration (events_fold.h, docs/fleet.md "Events on
 * demand"): one call, so Redis orders it against the finish. A known,
 * unfinished execution gets `followed` (its finish then writes its events);
 * a finished one answers whether it has a stream and, when it has none,
 * what its events are synthesised from. An unknown id creates nothing.
 */
static const char exec_follow_lua[] =
    "local st = redis.call('HGET', KEYS[1], 'status')\n"
    "if not st then return {} end\n"
    "if st ~= 'finished' then\n"
    "  redis.call('HSET', KEYS[1], 'followed', '1')\n"
    "  return {st}\n"
    "end\n"
    "if redis.call('EXISTS', KEYS[3]) == 1 then return {st, 1} end\n"
    "local m = redis.call('HMGET', KEYS[1], 'outcome', 'items', 'interrupt_requested_ms',\n"
    "                     'interrupt_reason', 'report')\n"
    "return {st, 0, m, redis.call('HGETALL', KEYS[2]), redis.call('GET', KEYS[4])}\n";

/* SET NX GET takes a free lock in one call, and tells the holder otherwise. */
static const char lock_acquire_lua[] =
    "local v = redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3], 'NX', 'GET')\n"
    "if not v then return {1, ''} end\n"
    "if v == ARGV[2] or string.sub(v, 1, #ARGV[1] + 1) == ARGV[1] .. ':' then\n"
    "  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])\n"
    "  return {1, ''}\n"
    "end\n"
    "return {0, v}\n";

static const char lock_renew_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

static const char lock_release_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  redis.call('DEL', KEYS[1])\n"
    "  if ARGV[2] then redis.call('PUBLISH', ARGV[2], ARGV[3]) end\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

/* Several writes (current, goal and item records; whole maps, items or
 * removals) in one call, in the order given: one fence check for all of
 * them. A whole-map write leaves fields of other items alone: they are
 * obsolete items, removed ('del') only once cleaned. */
static const char states_write_lua[] =
    LUA_HSET_RANGE
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then\n"
    "  return redis.error_reply('FENCED the profile lock is not held by this execution')\n"
    "end\n"
    "local i = 2\n"
    "while i + 2 <= #ARGV do\n"
    "  local key = KEYS[tonumber(ARGV[i])]\n"
    "  local n = tonumber(ARGV[i + 2])\n"
    "  if ARGV[i + 1] == 'del' then\n"
    "    redis.call('HDEL', key, unpack(ARGV, i + 3, i + 2 + n))\n"
    "  elseif ARGV[i + 1] == 'order' then\n"
    "    redis.call('SET', key, ARGV[i + 3])\n"
    "  else\n"
    "    hset_range(key, i + 3, i + 2 + n)\n"
    "  end\n"
    "  i = i + 3 + n\n"
    "end\n"
    "return 'OK'\n";

/* clang-format on */

struct script_def {
    const char *name;
    const char *src;
};

static const struct script_def script_defs[PC_SCRIPT_COUNT] = {
    [PC_SCRIPT_EXEC_START] = {"exec_start", exec_start_lua},
    [PC_SCRIPT_EXEC_RENEW] = {"exec_renew", exec_renew_lua},
    [PC_SCRIPT_EXEC_PROGRESS] = {"exec_progress", exec_progress_lua},
    [PC_SCRIPT_EXEC_PARK] = {"exec_park", exec_park_lua},
    [PC_SCRIPT_EXEC_MARK_INTERRUPT] = {"exec_mark_interrupt", exec_mark_interrupt_lua},
    [PC_SCRIPT_EXEC_FINISH] = {"exec_finish", exec_finish_lua},
    [PC_SCRIPT_EXEC_REJECT] = {"exec_reject", exec_reject_lua},
    [PC_SCRIPT_LOCK_ACQUIRE] = {"lock_acquire", lock_acquire_lua},
    [PC_SCRIPT_LOCK_RENEW] = {"lock_renew", lock_renew_lua},
    [PC_SCRIPT_LOCK_RELEASE] = {"lock_release", lock_release_lua},
    [PC_SCRIPT_STATES_WRITE] = {"states_write", states_write_lua},
    [PC_SCRIPT_EXEC_FOLLOW] = {"exec_follow", exec_follow_lua},
};

struct pc_scripts {
    char sha[PC_SCRIPT_COUNT][SHA_LEN + 1]; /* "" = unknown */
};

struct script_call {
    struct pc_scripts *scripts;
    struct pc_redis_conn *conn;
    enum pc_script id;
    int nkeys;
    struct pc_redis_args args; /* keys then arguments */
    uint32_t timeout_ms;
    bool by_source; /* sent with EVAL */
    pc_redis_reply_cb *cb;
    void *arg;
};

struct load_call {
    struct pc_scripts *scripts;
    enum pc_script id;
};

const char *pc_script_name(enum pc_script id)
{
    return (unsigned)id < PC_SCRIPT_COUNT ? script_defs[id].name : "?";
}

const char *pc_script_source(enum pc_script id)
{
    return (unsigned)id < PC_SCRIPT_COUNT ? script_defs[id].src : "";
}

int pc_scripts_create(struct pc_scripts **out, struct pc_err *err)
{
    struct pc_scripts *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    *out = s;
    return 0;
}

void pc_scripts_destroy(struct pc_scripts *s)
{
    free(s);
}

static void on_load_reply(void *arg, const redisReply *reply)
{
    struct load_call *lc = arg;

    if (reply != NULL && reply->type == REDIS_REPLY_STRING && reply->len == SHA_LEN) {
        memcpy(lc->scripts->sha[lc->id], reply->str, SHA_LEN);
        lc->scripts->sha[lc->id][SHA_LEN] = '\0';
    }
    free(lc);
}

void pc_scripts_load(struct pc_scripts *s, struct pc_redis_conn *c)
{
    for (int id = 0; id < PC_SCRIPT_COUNT; id++) {
        struct load_call *lc = calloc(1, sizeof(*lc));
        const char *argv[3] = {"SCRIPT", "LOAD", script_defs[id].src};
        size_t lens[3] = {6, 4, strlen(script_defs[id].src)};

        if (lc == NULL) {
            return;
        }
        lc->scripts = s;
        lc->id = (enum pc_script)id;
        if (pc_redis_cmd(c, 3, argv, lens, 0, on_load_reply, lc) != 0) {
            free(lc);
            return;
        }
    }
}

static void call_free(struct script_call *sc)
{
    pc_redis_args_cleanup(&sc->args);
    free(sc);
}

static int call_send(struct script_call *sc);

static void on_call_reply(void *arg, const redisReply *reply)
{
    struct script_call *sc = arg;

    if (pc_redis_reply_is_error(reply, "NOSCRIPT") && !sc->by_source) {
        /* This server lacks the script (a restart, SCRIPT FLUSH, or another
         * cluster node than the one SCRIPT LOAD reached): resend this call
         * with EVAL, which caches it there. The digest stays: it is the
         * same on every server. */
        sc->by_source = true;
        if (call_send(sc) == 0) {
            return;
        }
    }
    sc->cb(sc->arg, reply);
    call_free(sc);
}

static int call_send(struct script_call *sc)
{
    const char *head[3];
    size_t lens[3];
    char nkeys[16];
    const char *sha = sc->scripts->sha[sc->id];

    if (sha[0] == '\0') {
        sc->by_source = true;
    }
    /* A script has a handful of keys: two digits are plenty. */
    if (sc->nkeys < 10) {
        nkeys[0] = (char)('0' + sc->nkeys);
        nkeys[1] = '\0';
    } else {
        (void)snprintf(nkeys, sizeof(nkeys), "%d", sc->nkeys);
    }
    head[0] = sc->by_source ? "EVAL" : "EVALSHA";
    lens[0] = sc->by_source ? 4 : 7;
    head[1] = sc->by_source ? script_defs[sc->id].src : sha;
    lens[1] = strlen(head[1]);
    head[2] = nkeys;
    lens[2] = strlen(nkeys);
    return pc_redis__cmd_head_args(sc->conn, 3, head, lens, &sc->args, sc->timeout_ms,
                                   on_call_reply, sc);
}

int pc_script_run(struct pc_scripts *s, struct pc_redis_conn *c, enum pc_script id, int nkeys,
                  struct pc_redis_args *a, uint32_t timeout_ms, pc_redis_reply_cb *cb, void *arg)
{
    struct script_call *sc = NULL;
    int rc;

    if (a->rc != 0) {
        rc = a->rc;
        pc_redis_args_cleanup(a);
        return rc;
    }
    if ((unsigned)id >= PC_SCRIPT_COUNT || nkeys < 0 || (size_t)nkeys > a->n ||
        a->n > (size_t)INT32_MAX - 3) {
        pc_redis_args_cleanup(a);
        return PC_EINVAL;
    }
    sc = calloc(1, sizeof(*sc));
    if (sc == NULL) {
        pc_redis_args_cleanup(a);
        return PC_ENOMEM;
    }
    sc->scripts = s;
    sc->conn = c;
    sc->id = id;
    sc->nkeys = nkeys;
    pc_redis_args_move(&sc->args, a);
    sc->timeout_ms = timeout_ms;
    sc->cb = cb;
    sc->arg = arg;
    rc = call_send(sc);
    if (rc != 0) {
        call_free(sc);
    }
    return rc;
}
