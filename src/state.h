/*
 * state.h — the state directory: an exclusive lock and one LMDB environment.
 *
 * The only file that includes lmdb.h. Opening the state takes an exclusive,
 * non-blocking flock(2) on <dir>/lock that lives as long as the struct state:
 * a second run is refused with RC_LOCKED at once (exit 75). The environment holds the
 * named databases of DESIGN.md §3; "meta" carries the schema version, and a
 * state written by another schema version is refused (RC_STATE) with a
 * message that names both versions, never silently misread.
 *
 * The state must not live on NFS (LMDB's and flock's rule): that is refused.
 */
#ifndef ATSRECON_STATE_H
#define ATSRECON_STATE_H

#include <stddef.h>

#include "apierr.h"
#include "util.h"

#define STATE_SCHEMA_VERSION 2	/* 1 still opens (and becomes 2 when opened to write) */

struct state;

enum state_db { DB_META, DB_TOKENS, DB_ATS, DB_KEAP, DB_LINK, DB_EMAIL, DB_BASE, DB_JOURNAL,
	DB_FAILED, DB_RUNS, DB__MAX };

enum state_mode {
	STATE_RW,	/* create if missing, take the exclusive lock */
	STATE_RO	/* read only, no lock (LMDB readers never block the writer) */
};

/* Opens the state directory. STATE_RW creates dir (0700) if missing, locks
 * it and opens or creates the environment. Errors are logged; returns
 * RC_LOCKED, RC_STATE (RC_RECORD: STATE_RO and there is no state) or RC_OK. */
enum rc state_open(const char *dir, enum state_mode, struct state **out);
/* The same; why it failed also goes to e (NULL: only logged). */
enum rc state_open_err(const char *dir, enum state_mode, struct state **out, struct api_err *e);
void state_close(struct state *);

/* One-key reads and writes, each in its own transaction (committed on return).
 * state_get: RC_OK and a copy in *out (caller frees), RC_RECORD when absent. */
enum rc state_get(struct state *, enum state_db, const char *key, struct buf *out);
enum rc state_put(struct state *, enum state_db, const char *key, const void *val, size_t len);
enum rc state_del(struct state *, enum state_db, const char *key);
/* The first max bytes of key's value copied to out, and its whole length in
 * *len (a header or hash read without copying the record): RC_OK, RC_RECORD
 * when absent, RC_STATE (logged). */
enum rc state_get_head(struct state *, enum state_db, const char *key, void *out, size_t max,
    size_t *len);

/*
 * A write batch: one LMDB write transaction for many puts and deletes (the
 * snapshot step), committed at once by state_batch_commit or dropped by
 * state_batch_abort (also on state_close). While a batch is open, state_get,
 * state_put and state_del work inside it (they see its writes).
 */
enum rc state_batch_begin(struct state *);
enum rc state_batch_commit(struct state *);
/* Makes everything written so far durable now: inside a batch, commits it and
 * opens the next one (callers between two records only); otherwise nothing
 * to do (each write outside a batch is its own transaction). */
enum rc state_commit_now(struct state *);
void state_batch_abort(struct state *);

/* Visits every record of a DB in key order, or those whose key starts with
 * prefix (NULL: all). key and val are borrowed for the call only; fn must not
 * write to the state. A non-OK return from fn stops and is returned. */
typedef enum rc (*state_each_fn)(void *arg, const char *key, size_t klen, const void *val,
    size_t vlen);
enum rc state_each(struct state *, enum state_db, const char *prefix, state_each_fn, void *arg);
/* At most max records with keys strictly after `after` (NULL: from the first),
 * in key order; *visited says how many (fewer than max: the end was reached).
 * For walking a large DB in bounded chunks while writing between them. */
enum rc state_each_page(struct state *, enum state_db, const char *after, size_t max,
    state_each_fn, void *arg, size_t *visited);
/* Number of records in a DB. */
size_t state_count(struct state *, enum state_db);

const char *state_dir(const struct state *);
/* "LMDB 0.9.31: (July 10, 2023)" */
const char *state_lib_version(void);

/* The last committed transaction id of the environment in dir: RC_OK, RC_RECORD
 * when dir has no data file yet, RC_STATE (logged). */
enum rc state_snapshot_txnid(const char *dir, uint64_t *txnid);
/* A compacted copy of the environment in dir written to fd; *txnid is the
 * transaction copied: RC_OK, RC_RECORD (no data file), RC_STATE (logged). */
enum rc state_snapshot_copy(const char *dir, int fd, uint64_t *txnid);

#endif
