/*
 * items_internal.h - helpers shared by the built-in item types (private to
 * peace_items): building and reading msgpack state maps, SHA-256, base64,
 * and the file-system steps of atomic writes.
 *
 * Nothing here keeps state between calls; every function is safe to call
 * from several executor threads at once.
 */
#ifndef PEACE_ITEMS_INTERNAL_H
#define PEACE_ITEMS_INTERNAL_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "peace/err.h"
#include "peace/item.h"
#include "peace/items.h"
#include "peace/sha256.h"
#include "peace/state.h"

/* PC_ITEMS_PATH_MAX: peace/items.h. */

/* ------------------------------------------------------------------------ */
/* Writing state maps                                                        */

/*
 * A msgpack writer into a growable heap buffer. Pack errors are sticky: the
 * first failure is kept in rc and reported by pc__mpw_finish, so builders can
 * pack a whole map and check once.
 */
struct pc__mpw {
    msgpack_sbuffer sbuf;
    msgpack_packer pk;
    int rc;
};

void pc__mpw_init(struct pc__mpw *w);
/* Releases the buffer (after an error, or when finish was not reached). */
void pc__mpw_cleanup(struct pc__mpw *w);
void pc__mpw_map(struct pc__mpw *w, uint32_t n);
/* Packs a NUL-terminated string (map keys and fixed texts). */
void pc__mpw_cstr(struct pc__mpw *w, const char *s);
/* Packs (p, n) as a msgpack str; p may be NULL when n == 0. */
void pc__mpw_str(struct pc__mpw *w, const void *p, size_t n);
void pc__mpw_bool(struct pc__mpw *w, bool v);
void pc__mpw_u64(struct pc__mpw *w, uint64_t v);
void pc__mpw_i64(struct pc__mpw *w, int64_t v);
void pc__mpw_nil(struct pc__mpw *w);

/*
 * Hands the packed bytes to out (pc_state_take) and resets w. Returns 0,
 * PC_ENOMEM (a pack failed) or PC_ELIMIT (larger than PC_STATE_MAX). w is
 * cleaned up on every path.
 */
int pc__mpw_finish(struct pc__mpw *w, struct pc_state *out, struct pc_err *err) PC_NODISCARD;

/* ------------------------------------------------------------------------ */
/* Reading state maps                                                        */

/*
 * A decoded state map. `what` names the state in errors ("current state").
 * Borrowed pointers returned by the getters live until pc__mpr_close.
 */
struct pc__mpr {
    msgpack_unpacked u;
    const msgpack_object *map;
    const char *what;
};

/*
 * Decodes s, which must be present and hold exactly one msgpack map.
 * Returns 0 or PC_ESCHEMA (PC_EINVAL for an absent/nil state). On error r
 * needs no close.
 */
int pc__mpr_open(struct pc__mpr *r, const struct pc_state *s, const char *what,
                 struct pc_err *err) PC_NODISCARD;
void pc__mpr_close(struct pc__mpr *r);

int pc__mpr_bool(const struct pc__mpr *r, const char *key, bool *out,
                 struct pc_err *err) PC_NODISCARD;
int pc__mpr_u64(const struct pc__mpr *r, const char *key, uint64_t *out,
                struct pc_err *err) PC_NODISCARD;
/* An integer (either sign) or nil: *is_nil tells which. */
int pc__mpr_i64_or_nil(const struct pc__mpr *r, const char *key, int64_t *out, bool *is_nil,
                       struct pc_err *err) PC_NODISCARD;
/* A string (borrowed (p, n)); with allow_nil, nil gives *p = NULL, *n = 0. */
int pc__mpr_str(const struct pc__mpr *r, const char *key, bool allow_nil, const char **p, size_t *n,
                struct pc_err *err) PC_NODISCARD;

/* True when (ap, an) and (bp, bn) hold the same bytes; NULL equals only NULL. */
bool pc__bytes_eq_opt(const char *ap, size_t an, const char *bp, size_t bn);

/* ------------------------------------------------------------------------ */
/* base64 (RFC 4648, standard alphabet, padding required)                    */

/*
 * Decodes (in, n) into a new heap buffer (*out owned by the caller, *out_len
 * bytes; a 1-byte allocation for empty input). ASCII whitespace is skipped.
 * Returns 0, PC_EINVAL (err names the offset of the first bad character)
 * or PC_ENOMEM.
 */
int pc__base64_decode(const char *in, size_t n, uint8_t **out, size_t *out_len,
                      struct pc_err *err) PC_NODISCARD;

/* ------------------------------------------------------------------------ */
/* System errors                                                             */

/*
 * Records a system failure: the printf-formatted text, ": ", and the errno
 * text of -code (code is a negative errno). Returns code.
 */
int pc__err_sys(struct pc_err *err, int code, const char *fmt, ...) PC_PRINTF(3, 4);

/* ------------------------------------------------------------------------ */
/* Files                                                                     */

/* Creates every missing parent directory of path (mode 0755 before umask). */
int pc__mkdir_parents(const char *path, struct pc_err *err) PC_NODISCARD;

/*
 * Opens a new temporary file next to path (same directory, so rename is
 * atomic), creating the parent directories first. *tmp_path is owned by the
 * caller; *fd is open for writing with mode 0600. Returns 0 or -errno.
 */
int pc__tmp_open(const char *path, char **tmp_path, int *fd, struct pc_err *err) PC_NODISCARD;

/*
 * Completes an atomic replace: fchmod(fd, mode), fsync, close, rename onto
 * path, fsync of the directory. fd is closed and, on failure, tmp_path is
 * unlinked: nothing stays behind on any path. Returns 0 or -errno.
 */
int pc__tmp_commit(int fd, const char *tmp_path, const char *path, unsigned mode,
                   struct pc_err *err) PC_NODISCARD;

/* Closes fd and unlinks tmp_path (abandoning a temp file; ignores errors). */
void pc__tmp_abandon(int fd, const char *tmp_path);

/* Writes all n bytes to fd, retrying on EINTR and short writes. Returns 0 or -errno. */
int pc__write_all(int fd, const void *p, size_t n) PC_NODISCARD;

/* Removes path; a missing file is success. Returns 0 or -errno. */
int pc__unlink_if_exists(const char *path, struct pc_err *err) PC_NODISCARD;

/* ------------------------------------------------------------------------ */
/* Confinement (confine.c)                                                   */

/*
 * Where an item's operations on its path go. Not confined (root NULL): path
 * itself. Confined: "/proc/self/fd/N/NAME", N being the path's parent
 * directory, opened and checked to be inside the root, and held open until
 * pc__where_close (a later symlink swap cannot redirect the operation).
 */
struct pc__where {
    int dirfd;   /* the held parent directory; -1 when not confined */
    bool absent; /* confined, and the parent directory does not exist */
    char path[PC_ITEMS_PATH_MAX + 64];
};

/*
 * Opens w for path. root: the canonical file root, or NULL (no
 * confinement). create_parents: create missing parent directories first (an
 * apply); otherwise a missing parent sets w->absent. Returns 0 or a negative
 * code with the reason (outside the root, "..", a symlink escape) in err.
 * Close w on success (pc__where_close); nothing to close on failure.
 */
int pc__where_open(const char *root, const char *path, bool create_parents, struct pc__where *w,
                   struct pc_err *err) PC_NODISCARD;
void pc__where_close(struct pc__where *w);

/* ------------------------------------------------------------------------ */
/* Processes                                                                 */

/*
 * Starts argv (argv[0] looked up in PATH as execvp does) under a guard
 * process (spawn_guard.c) that leads a new process group: stdin /dev/null,
 * stdout and stderr to out_fd and err_fd. The guard dies with the calling
 * thread (PR_SET_PDEATHSIG) and then kills its whole group, so no program
 * outlives a killed worker; it exits as the program did. *pid is the
 * guard's, which is also the group's id. Returns 0 or -errno (a failed
 * exec's errno).
 */
int pc__spawn_guarded(char *const *argv, int out_fd, int err_fd, pid_t *pid) PC_NODISCARD;

#endif /* PEACE_ITEMS_INTERNAL_H */
