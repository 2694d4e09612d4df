/* state.c — see state.h. The only file that includes lmdb. */
#define _GNU_SOURCE
#include "state.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <lmdb.h>

#include "log.h"

#define NFS_SUPER_MAGIC 0x6969
#define STATE_MAP_SIZE ((size_t)8 << 30)	/* address space only; the file grows as needed */

static const char *const db_names[DB__MAX] = {
	"meta", "tokens", "ats", "keap", "link", "email", "base", "journal", "failed", "runs"
};

struct state {
	char *dir;
	int lock_fd;
	MDB_env *env;
	MDB_dbi dbi[DB__MAX];
	MDB_txn *batch;		/* open write batch, or NULL */
	/* The read transaction reused by state_get and state_count outside a
	 * batch (RW only: this process is then the only writer, so its view
	 * is current until its own next write, which resets it). Beginning a
	 * transaction per read cost a reader-slot search and a meta read per
	 * key. NULL: none yet; rd_live: renewed and usable. */
	MDB_txn *rd;
	int rd_live;
	int token_written;	/* DB_TOKENS changed: its commit is flushed whole */
	/* One cursor per DB for lookups, in the read transaction (kept, renewed
	 * with it) and in the open batch (LMDB frees those when it ends). A
	 * positioned cursor finds a key on the leaf page it is on without
	 * searching from the root, and a sweep looks keys up in order. */
	MDB_cursor *rcur[DB__MAX], *bcur[DB__MAX];
	unsigned rcur_stale;	/* bit db: renew rcur[db] before use */
};

/* The transaction a read outside a batch uses: the reusable one (RW), or a
 * fresh one the caller ends with read_end (RO). */
static int
read_begin(struct state *st, MDB_txn **txn)
{
	int e;

	if (st->lock_fd < 0)
		return mdb_txn_begin(st->env, NULL, MDB_RDONLY, txn);
	if (!st->rd_live) {
		e = st->rd != NULL ? mdb_txn_renew(st->rd) : mdb_txn_begin(st->env, NULL, MDB_RDONLY, &st->rd);
		if (e != 0) {
			if (st->rd != NULL)
				mdb_txn_abort(st->rd);
			st->rd = NULL;
			return e;
		}
		st->rd_live = 1;
		st->rcur_stale = ~0u;
	}
	*txn = st->rd;
	return 0;
}

static void
read_end(struct state *st, MDB_txn *txn)
{
	if (txn != st->rd)
		mdb_txn_abort(txn);
}

/* Before a write transaction: the reusable view is stale once it commits
 * (and a reader kept open would pin the pages the write frees). */
static void
read_reset(struct state *st)
{
	if (st->rd_live)
		mdb_txn_reset(st->rd);
	st->rd_live = 0;
}

/* After a commit: one that changed DB_TOKENS is made durable now, meta page
 * included (MDB_NOMETASYNC leaves it to the next commit otherwise). */
static int
committed(struct state *st)
{
	int e = 0;

	if (st->token_written)
		e = mdb_env_sync(st->env, 1);
	st->token_written = 0;
	return e;
}

const char *
state_lib_version(void)
{
	return mdb_version(NULL, NULL, NULL);
}

const char *
state_dir(const struct state *st)
{
	return st->dir;
}

static int
mkdir_p(const char *dir)
{
	char *p = xstrdup(dir), *s;
	int rc = 0;

	for (s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			rc = -1;
		*s = '/';
	}
	if (rc == 0 && mkdir(p, 0700) != 0 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

/*
 * The data file checked against its meta pages before LMDB maps it: LMDB
 * trusts them, and a page it reads past the end of a truncated file is a
 * SIGBUS, not an error. The layout is LMDB 0.9's on a 64-bit host: a 16-byte
 * page header (flags at 10), then MDB_meta: magic, version, address, mapsize,
 * the free and main MDB_db (48 bytes each; the free one's first field holds
 * the page size, the root page number is each one's last field), the last
 * page number, the transaction id.
 */
#define LM_MAGIC 0xBEEFC0DEu
#define LM_VERSION 1u
#define LM_P_META 0x08u
#define LM_P_INVALID (~(uint64_t)0)
#define LM_META_BYTES 160	/* header + MDB_meta, rounded up */
#define LM_OFF_FLAGS 10
#define LM_OFF_MAGIC 16
#define LM_OFF_VERSION 20
#define LM_OFF_PSIZE 40
#define LM_OFF_FREE_ROOT 80
#define LM_OFF_MAIN_ROOT 128
#define LM_OFF_LAST_PG 136
#define LM_OFF_TXNID 144

static uint32_t
le32_at(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
le64_at(const unsigned char *p)
{
	return (uint64_t)le32_at(p) | (uint64_t)le32_at(p + 4) << 32;
}

/* RC_OK when dir/data.mdb is absent or consistent with its meta pages;
 * otherwise RC_STATE, logged with the file and what to do. */
static enum rc
check_data_file(const char *dir, struct api_err *e_out)
{
	struct buf path = BUF_INIT;
	unsigned char m[2][LM_META_BYTES];
	char why[160];
	struct stat sb;
	uint64_t psize = 0, npages, last, root;
	int fd, i, newest;

	why[0] = '\0';
	buf_addf(&path, "%s/data.mdb", dir);
	fd = open(path.p, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		buf_free(&path);
		return RC_OK;	/* a new state */
	}
	if (fd < 0) {
		api_fail(e_out, "state", 0, NULL, "cannot read %s: %s", path.p, strerror(errno));
		buf_free(&path);
		return RC_STATE;
	}
	/* the meta pages first, the size after: a writer (a reader runs beside
	 * one) extends the file before it writes the meta page that points there */
	memset(m, 0, sizeof(m));
	if (pread(fd, m[0], LM_META_BYTES, 0) != LM_META_BYTES) {
		snprintf(why, sizeof(why), "shorter than its two meta pages");
		goto bad;
	}
	psize = le32_at(m[0] + LM_OFF_PSIZE);
	if (psize < 512 || psize > 65536 || (psize & (psize - 1)) != 0) {
		snprintf(why, sizeof(why), "meta page 0 gives a page size of %llu",
		    (unsigned long long)psize);
		goto bad;
	}
	if (pread(fd, m[1], LM_META_BYTES, (off_t)psize) != LM_META_BYTES) {
		snprintf(why, sizeof(why), "shorter than its two meta pages");
		goto bad;
	}
	if (fstat(fd, &sb) != 0) {
		snprintf(why, sizeof(why), "fstat: %s", strerror(errno));
		goto bad;
	}
	if ((uint64_t)sb.st_size % psize != 0 || (uint64_t)sb.st_size < 2 * psize) {
		snprintf(why, sizeof(why), "%lld bytes is not a whole number of %llu-byte pages, "
		    "at least two: it was cut short", (long long)sb.st_size, (unsigned long long)psize);
		goto bad;
	}
	for (i = 0; i < 2; i++)
		if (!(m[i][LM_OFF_FLAGS] & LM_P_META) || le32_at(m[i] + LM_OFF_MAGIC) != LM_MAGIC ||
		    le32_at(m[i] + LM_OFF_VERSION) != LM_VERSION ||
		    le32_at(m[i] + LM_OFF_PSIZE) != psize) {
			snprintf(why, sizeof(why), "meta page %d is corrupt (not an LMDB 0.9 meta page "
			    "with a %llu-byte page size)", i, (unsigned long long)psize);
			goto bad;
		}
	newest = le64_at(m[1] + LM_OFF_TXNID) > le64_at(m[0] + LM_OFF_TXNID);
	npages = (uint64_t)sb.st_size / psize;
	last = le64_at(m[newest] + LM_OFF_LAST_PG);
	if (last < 1 || last >= npages) {
		snprintf(why, sizeof(why), "meta page %d says the data ends at page %llu but the file "
		    "has %llu pages: it was cut short or the meta page is corrupt", newest,
		    (unsigned long long)last, (unsigned long long)npages);
		goto bad;
	}
	for (i = 0; i < 2; i++) {
		root = le64_at(m[newest] + (i == 0 ? LM_OFF_FREE_ROOT : LM_OFF_MAIN_ROOT));
		if (root != LM_P_INVALID && (root < 2 || root > last)) {
			snprintf(why, sizeof(why), "meta page %d gives page %llu as a root, outside "
			    "pages 2 to %llu", newest, (unsigned long long)root, (unsigned long long)last);
			goto bad;
		}
	}
	close(fd);
	buf_free(&path);
	return RC_OK;
bad:
	api_fail(e_out, "state", 0, NULL,
	    "%s is corrupt (%s); restore it from a backup or move it away (the "
	    "next run then rebuilds the state from a full sweep of both sides)", path.p, why);
	close(fd);
	buf_free(&path);
	return RC_STATE;
}

/*
 * A failed write transaction, logged. A full disk is named as such: LMDB
 * reports a short write (the file system filled up part-way) as EIO, so EIO
 * with almost no space left on the state's file system is taken for ENOSPC.
 * A failed commit leaves the last committed state as it was.
 */
#define LOW_SPACE_BYTES ((uint64_t)1 << 20)

static void
write_failed(const struct state *st, const char *what, int e)
{
	struct statvfs sv;

	if (e == ENOSPC || e == EDQUOT || (e == EIO && statvfs(st->dir, &sv) == 0 &&
	    (uint64_t)sv.f_bavail * sv.f_frsize < LOW_SPACE_BYTES))
		log_error("state", "%s: no space left on device: free space on %s; the state is "
		    "unchanged", what, st->dir);
	else if (e == EFBIG)
		log_error("state", "%s: the file size limit (ulimit -f) stops %s/data.mdb from "
		    "growing; the state is unchanged", what, st->dir);
	else
		log_error("state", "%s: %s", what, mdb_strerror(e));
}

/* Writes the schema version and commits *txn (NULL after the commit). */
static int
put_schema(struct state *st, MDB_txn **txn, const char *version)
{
	MDB_val k = { 14, (void *)"schema_version" }, v = { strlen(version), (void *)version };
	int e = mdb_put(*txn, st->dbi[DB_META], &k, &v, 0);

	if (e == 0) {
		e = mdb_txn_commit(*txn);
		*txn = NULL;
	}
	return e;
}

static enum rc
check_schema(struct state *st, struct api_err *e_out)
{
	MDB_txn *txn = NULL;
	MDB_val k = { 14, (void *)"schema_version" }, v;
	char want[16], have[16];
	enum rc rc = RC_STATE;
	int e;

	snprintf(want, sizeof(want), "%d", STATE_SCHEMA_VERSION);
	if ((e = mdb_txn_begin(st->env, NULL, st->lock_fd < 0 ? MDB_RDONLY : 0, &txn)) != 0)
		goto fail;
	e = mdb_get(txn, st->dbi[DB_META], &k, &v);
	if (e == MDB_NOTFOUND && st->lock_fd < 0) {
		mdb_txn_abort(txn);
		api_fail(e_out, "state", 0, NULL,
		    "%s has no schema version; the state is corrupt", st->dir);
		return RC_STATE;
	}
	if (e == MDB_NOTFOUND) {
		if ((e = put_schema(st, &txn, want)) != 0)
			goto fail;
		log_info("state", "created state in %s (schema version %s)", st->dir, want);
		return RC_OK;
	}
	if (e != 0)
		goto fail;
	if (v.mv_size >= sizeof(have)) {
		api_fail(e_out, "state", 0, NULL,
		    "%s: unreadable schema version; the state is corrupt", st->dir);
		mdb_txn_abort(txn);
		return RC_STATE;
	}
	memcpy(have, v.mv_data, v.mv_size);
	have[v.mv_size] = '\0';
	if (strcmp(have, "1") == 0 && st->lock_fd >= 0) {
		/* version 1 differs only in how contacts are stored (Keap's JSON, not
		 * codec.c's record): its records still read, and are rewritten as
		 * contacts change. An older atsrecon refuses version 2. */
		if ((e = put_schema(st, &txn, want)) != 0)
			goto fail;
		log_info("state", "%s: state schema version 1 → %s (contacts are stored typed from "
		    "now on; older records still read)", st->dir, want);
		return RC_OK;
	}
	mdb_txn_abort(txn);
	if (strcmp(have, want) != 0 && strcmp(have, "1") != 0) {
		api_fail(e_out, "state", 0, NULL,
		    "%s has state schema version %s but this atsrecon uses version %s; "
		    "see docs/state.md (\"Schema versions and migration\")", st->dir, have, want);
		return RC_STATE;
	}
	return RC_OK;
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	api_fail(e_out, "state", 0, NULL, "%s: %s", st->dir, mdb_strerror(e));
	return rc;
}

/*
 * LMDB's own key order (bytes compared as unsigned, then the shorter first),
 * computed eight bytes at a time: every lookup makes a few dozen of these
 * comparisons on keys that share long prefixes ("greenhouse:1000…"), and
 * the C library's byte loop was a tenth of a full sweep. The order is
 * exactly LMDB's default, so files written with either read with the other.
 */
static int
key_cmp(const MDB_val *a, const MDB_val *b)
{
	const unsigned char *p = a->mv_data, *q = b->mv_data;
	size_t n = a->mv_size < b->mv_size ? a->mv_size : b->mv_size, i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x, y;
		memcpy(&x, p + i, 8);
		memcpy(&y, q + i, 8);
		if (x != y) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			x = __builtin_bswap64(x);
			y = __builtin_bswap64(y);
#endif
			return x < y ? -1 : 1;
		}
	}
	for (; i < n; i++)
		if (p[i] != q[i])
			return p[i] < q[i] ? -1 : 1;
	return a->mv_size < b->mv_size ? -1 : a->mv_size > b->mv_size ? 1 : 0;
}

enum rc
state_open_err(const char *dir, enum state_mode mode, struct state **out, struct api_err *e_out)
{
	struct state *st = xcalloc(1, sizeof(*st));
	struct statfs sfs;
	struct buf path = BUF_INIT;
	MDB_txn *txn = NULL;
	enum rc rc = RC_STATE;
	int e, i;

	st->lock_fd = -1;
	st->dir = xstrdup(dir);
	if (mode == STATE_RO) {
		buf_addf(&path, "%s/data.mdb", dir);
		if (access(path.p, F_OK) != 0) {
			rc = RC_RECORD;
			goto out;
		}
		buf_reset(&path);
	} else if (mkdir_p(dir) != 0) {
		api_fail(e_out, "state", 0, NULL,
		    "cannot create state directory %s: %s", dir, strerror(errno));
		goto out;
	}
	if (statfs(dir, &sfs) == 0 && sfs.f_type == NFS_SUPER_MAGIC) {
		api_fail(e_out, "state", 0, NULL,
		    "%s is on NFS; LMDB and its lock need a local file system", dir);
		goto out;
	}
	if (mode == STATE_RO)
		goto open_env;
	buf_addf(&path, "%s/lock", dir);
	st->lock_fd = open(path.p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (st->lock_fd < 0) {
		api_fail(e_out, "state", 0, NULL, "cannot open %s: %s", path.p, strerror(errno));
		goto out;
	}
	if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK) {
			api_fail(e_out, "state", 0, NULL,
			    "another atsrecon run holds the lock on %s", dir);
			rc = RC_LOCKED;
		} else
			api_fail(e_out, "state", 0, NULL,
			    "cannot lock %s: %s", path.p, strerror(errno));
		goto out;
	}
open_env:
	if ((rc = check_data_file(dir, e_out)) != RC_OK)
		goto out;
	rc = RC_STATE;
	if ((e = mdb_env_create(&st->env)) != 0 ||
	    (e = mdb_env_set_maxdbs(st->env, DB__MAX)) != 0 ||
	    (e = mdb_env_set_mapsize(st->env, STATE_MAP_SIZE)) != 0) {
		api_fail(e_out, "state", 0, NULL, "LMDB: %s", mdb_strerror(e));
		goto out;
	}
	/* MDB_NOTLS: transactions are not tied to threads (curl's resolver thread
	 * never touches them, but this keeps readers simple). */
	/* MDB_NOMETASYNC: a commit flushes the data pages (one fdatasync, not
	 * two); the meta page reaches the disk with the next commit's flush. A
	 * system crash (not a killed process) can therefore undo the last
	 * transaction, never corrupt the file: the state is then as if the run
	 * had been killed just before that commit, which every write point is
	 * built and tested to survive (the next run re-reads and re-diffs).
	 * The one record that must not be undone, a rotated refresh token
	 * (DESIGN.md §3), is flushed whole at its commit (committed()). */
	if ((e = mdb_env_open(st->env, dir, MDB_NOTLS | MDB_NOMETASYNC |
	    (mode == STATE_RO ? MDB_RDONLY : 0), 0600)) != 0) {
		api_fail(e_out, "state", 0, NULL,
		    "cannot open the state in %s: %s", dir, mdb_strerror(e));
		goto out;
	}
	if ((e = mdb_txn_begin(st->env, NULL, mode == STATE_RO ? MDB_RDONLY : 0, &txn)) != 0)
		goto lmdb_fail;
	for (i = 0; i < DB__MAX; i++)
		if ((e = mdb_dbi_open(txn, db_names[i], mode == STATE_RO ? 0 : MDB_CREATE,
		    &st->dbi[i])) != 0 || (e = mdb_set_compare(txn, st->dbi[i], key_cmp)) != 0)
			goto lmdb_fail;
	e = mdb_txn_commit(txn);
	txn = NULL;
	if (e != 0)
		goto lmdb_fail;
	if ((rc = check_schema(st, e_out)) != RC_OK)
		goto out;
	*out = st;
	buf_free(&path);
	return RC_OK;
lmdb_fail:
	api_fail(e_out, "state", 0, NULL, "%s: %s", dir, mdb_strerror(e));
	rc = RC_STATE;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	buf_free(&path);
	state_close(st);
	return rc;
}

enum rc
state_open(const char *dir, enum state_mode mode, struct state **out)
{
	return state_open_err(dir, mode, out, NULL);
}

void
state_close(struct state *st)
{
	int i;

	if (st == NULL)
		return;
	state_batch_abort(st);
	for (i = 0; i < DB__MAX; i++)
		if (st->rcur[i] != NULL)
			mdb_cursor_close(st->rcur[i]);
	if (st->rd != NULL)
		mdb_txn_abort(st->rd);
	st->rd = NULL;
	if (st->env != NULL)
		mdb_env_close(st->env);
	if (st->lock_fd >= 0)
		close(st->lock_fd);	/* releases the flock */
	free(st->dir);
	free(st);
}

/* Looks key up; *v is borrowed until the next write or read_end. */
static int
lookup(struct state *st, enum state_db db, const char *key, MDB_txn **txn, MDB_val *v)
{
	MDB_val k = { strlen(key), (void *)key };
	int e;

	*txn = NULL;
	if (st->batch != NULL) {	/* inside the open batch: its own writes are visible */
		if (st->bcur[db] == NULL && mdb_cursor_open(st->batch, st->dbi[db], &st->bcur[db]) != 0)
			st->bcur[db] = NULL;
		if (st->bcur[db] == NULL)
			return mdb_get(st->batch, st->dbi[db], &k, v);
		return mdb_cursor_get(st->bcur[db], &k, v, MDB_SET);
	}
	if ((e = read_begin(st, txn)) != 0) {
		*txn = NULL;
		return e;
	}
	if (*txn == st->rd) {
		MDB_cursor **c = &st->rcur[db];
		if (*c != NULL && (st->rcur_stale & (1u << db)) && mdb_cursor_renew(st->rd, *c) != 0) {
			mdb_cursor_close(*c);
			*c = NULL;
		}
		if (*c == NULL && mdb_cursor_open(st->rd, st->dbi[db], c) != 0)
			*c = NULL;
		st->rcur_stale &= ~(1u << db);
		if (*c != NULL)
			return mdb_cursor_get(*c, &k, v, MDB_SET);
	}
	return mdb_get(*txn, st->dbi[db], &k, v);
}

enum rc
state_get(struct state *st, enum state_db db, const char *key, struct buf *out)
{
	MDB_txn *txn;
	MDB_val v;
	int e = lookup(st, db, key, &txn, &v);

	if (e == 0) {
		buf_reset(out);
		buf_add(out, v.mv_data, v.mv_size);	/* copy out before the txn ends */
	}
	if (txn != NULL)
		read_end(st, txn);
	if (e == 0)
		return RC_OK;
	if (e == MDB_NOTFOUND)
		return RC_RECORD;
	log_error("state", "read %s/%s: %s", db_names[db], key, mdb_strerror(e));
	return RC_STATE;
}

enum rc
state_get_head(struct state *st, enum state_db db, const char *key, void *out, size_t max,
    size_t *len)
{
	MDB_txn *txn;
	MDB_val v;
	int e = lookup(st, db, key, &txn, &v);

	if (e == 0) {
		memcpy(out, v.mv_data, v.mv_size < max ? v.mv_size : max);
		*len = v.mv_size;
	}
	if (txn != NULL)
		read_end(st, txn);
	if (e == 0)
		return RC_OK;
	if (e == MDB_NOTFOUND)
		return RC_RECORD;
	log_error("state", "read %s/%s: %s", db_names[db], key, mdb_strerror(e));
	return RC_STATE;
}

enum rc
state_put(struct state *st, enum state_db db, const char *key, const void *val, size_t len)
{
	MDB_txn *txn = NULL;
	MDB_val k = { strlen(key), (void *)key }, v = { len, (void *)val };
	int e;

	if (st->lock_fd < 0) {
		log_error("state", "write to a read-only state (a bug)");
		return RC_BUG;
	}
	st->token_written |= db == DB_TOKENS;
	if (st->batch != NULL) {
		if ((e = mdb_put(st->batch, st->dbi[db], &k, &v, 0)) != 0) {
			log_error("state", "write %s: %s", db_names[db], mdb_strerror(e));
			return RC_STATE;
		}
		return RC_OK;
	}
	read_reset(st);
	if ((e = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		goto fail;
	if ((e = mdb_put(txn, st->dbi[db], &k, &v, 0)) != 0)
		goto fail;
	e = mdb_txn_commit(txn);
	txn = NULL;
	if (e == 0)
		e = committed(st);
	if (e != 0)
		goto fail;
	return RC_OK;
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	{
		char what[64];
		snprintf(what, sizeof(what), "write %s", db_names[db]);
		write_failed(st, what, e);
	}
	return RC_STATE;
}

enum rc
state_del(struct state *st, enum state_db db, const char *key)
{
	MDB_txn *txn = NULL;
	MDB_val k = { strlen(key), (void *)key };
	int e;

	if (st->lock_fd < 0) {
		log_error("state", "write to a read-only state (a bug)");
		return RC_BUG;
	}
	st->token_written |= db == DB_TOKENS;
	if (st->batch != NULL) {
		e = mdb_del(st->batch, st->dbi[db], &k, NULL);
		if (e != 0 && e != MDB_NOTFOUND) {
			log_error("state", "delete %s: %s", db_names[db], mdb_strerror(e));
			return RC_STATE;
		}
		return RC_OK;
	}
	read_reset(st);
	if ((e = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		goto fail;
	e = mdb_del(txn, st->dbi[db], &k, NULL);
	if (e != 0 && e != MDB_NOTFOUND)
		goto fail;
	e = mdb_txn_commit(txn);
	txn = NULL;
	if (e == 0)
		e = committed(st);
	if (e != 0)
		goto fail;
	return RC_OK;
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	{
		char what[64];
		snprintf(what, sizeof(what), "delete %s", db_names[db]);
		write_failed(st, what, e);
	}
	return RC_STATE;
}

enum rc
state_commit_now(struct state *st)
{
	enum rc rc;

	if (st->batch == NULL)
		return RC_OK;
	if ((rc = state_batch_commit(st)) != RC_OK)
		return rc;
	return state_batch_begin(st);
}

enum rc
state_batch_begin(struct state *st)
{
	int e;

	if (st->lock_fd < 0 || st->batch != NULL) {
		log_error("state", "cannot open a write batch (read-only state, or one is open: a bug)");
		return RC_BUG;
	}
	read_reset(st);
	if ((e = mdb_txn_begin(st->env, NULL, 0, &st->batch)) != 0) {
		st->batch = NULL;
		log_error("state", "begin: %s", mdb_strerror(e));
		return RC_STATE;
	}
	return RC_OK;
}

enum rc
state_batch_commit(struct state *st)
{
	int e;

	if (st->batch == NULL)
		return RC_BUG;
	e = mdb_txn_commit(st->batch);
	st->batch = NULL;
	memset(st->bcur, 0, sizeof(st->bcur));	/* freed by LMDB with the transaction */
	if (e == 0)
		e = committed(st);
	if (e != 0) {
		write_failed(st, "commit", e);
		return RC_STATE;
	}
	test_hook("state-commit");
	return RC_OK;
}

void
state_batch_abort(struct state *st)
{
	if (st->batch != NULL) {
		mdb_txn_abort(st->batch);
		st->token_written = 0;	/* what the batch wrote is gone */
	}
	st->batch = NULL;
	memset(st->bcur, 0, sizeof(st->bcur));	/* freed by LMDB with the transaction */
}

/* Walks db in key order: keys with this prefix (NULL: all), strictly after
 * `after` (NULL: from the first), at most max of them. */
static enum rc
each(struct state *st, enum state_db db, const char *prefix, const char *after, size_t max,
    state_each_fn fn, void *arg, size_t *visited)
{
	MDB_txn *txn = st->batch;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	size_t plen = prefix ? strlen(prefix) : 0, alen = after ? strlen(after) : 0;
	enum rc rc = RC_OK;
	int e, op = MDB_FIRST;

	*visited = 0;
	if (txn == NULL && (e = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0)
		goto fail;
	if ((e = mdb_cursor_open(txn, st->dbi[db], &cur)) != 0)
		goto fail;
	if (alen > 0 || plen > 0) {
		k.mv_size = alen > 0 ? alen : plen;
		k.mv_data = (void *)(alen > 0 ? after : prefix);
		op = MDB_SET_RANGE;
	}
	while (*visited < max && (e = mdb_cursor_get(cur, &k, &v, (MDB_cursor_op)op)) == 0) {
		char key[512];
		op = MDB_NEXT;
		if (alen > 0 && k.mv_size == alen && memcmp(k.mv_data, after, alen) == 0)
			continue;	/* strictly after */
		if (plen > 0 && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0))
			break;
		if (k.mv_size >= sizeof(key))
			continue;	/* our keys are short; anything else is not ours */
		memcpy(key, k.mv_data, k.mv_size);
		key[k.mv_size] = '\0';
		++*visited;
		if ((rc = fn(arg, key, k.mv_size, v.mv_data, v.mv_size)) != RC_OK)
			break;
	}
	if (e != 0 && e != MDB_NOTFOUND)
		goto fail;
	mdb_cursor_close(cur);
	if (txn != st->batch)
		mdb_txn_abort(txn);
	return rc;
fail:
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (txn != NULL && txn != st->batch)
		mdb_txn_abort(txn);
	log_error("state", "iterate %s: %s", db_names[db], mdb_strerror(e));
	return RC_STATE;
}

enum rc
state_each_page(struct state *st, enum state_db db, const char *after, size_t max, state_each_fn fn,
    void *arg, size_t *visited)
{
	return each(st, db, NULL, after, max, fn, arg, visited);
}

enum rc
state_each(struct state *st, enum state_db db, const char *prefix, state_each_fn fn, void *arg)
{
	size_t visited;

	return each(st, db, prefix, NULL, (size_t)-1, fn, arg, &visited);
}

size_t
state_count(struct state *st, enum state_db db)
{
	MDB_txn *txn = st->batch;
	MDB_stat s;
	size_t n = 0;

	if (txn == NULL && read_begin(st, &txn) != 0)
		return 0;
	if (mdb_stat(txn, st->dbi[db], &s) == 0)
		n = s.ms_entries;
	if (txn != st->batch)
		read_end(st, txn);
	return n;
}

/* ---- snapshots of a state directory (the S3 state uploads them) ----
 * Both open the environment in dir a second time, read-only and with
 * MDB_NOLOCK (no lock file: the run's own environment and its locks are
 * untouched), so they must be called between the run's write transactions. */

/* The last committed transaction id of the environment in dir: RC_OK,
 * RC_RECORD when dir has no data file yet, RC_STATE (logged). */
enum rc
state_snapshot_txnid(const char *dir, uint64_t *txnid)
{
	MDB_env *env = NULL;
	MDB_envinfo info;
	struct buf path = BUF_INIT;
	struct stat sb;
	int e;

	buf_addf(&path, "%s/data.mdb", dir);
	e = stat(path.p, &sb);
	buf_free(&path);
	if (e != 0)
		return RC_RECORD;
	if (check_data_file(dir, NULL) != RC_OK)
		return RC_STATE;
	if ((e = mdb_env_create(&env)) != 0 ||
	    (e = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS, 0600)) != 0 ||
	    (e = mdb_env_info(env, &info)) != 0) {
		log_error("state", "reading %s: %s", dir, mdb_strerror(e));
		if (env != NULL)
			mdb_env_close(env);
		return RC_STATE;
	}
	*txnid = (uint64_t)info.me_last_txnid;
	mdb_env_close(env);
	return RC_OK;
}

/* Writes a compacted copy of the environment in dir to fd (mdb_env_copyfd2,
 * MDB_CP_COMPACT) and sets *txnid to the transaction it copied or the newer
 * one read just before: RC_OK, RC_RECORD (no data file), RC_STATE (logged). */
enum rc
state_snapshot_copy(const char *dir, int fd, uint64_t *txnid)
{
	MDB_env *env = NULL;
	MDB_envinfo info;
	int e;

	if ((e = state_snapshot_txnid(dir, txnid)) != RC_OK)
		return (enum rc)e;
	if ((e = mdb_env_create(&env)) != 0 ||
	    (e = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS, 0600)) != 0 ||
	    (e = mdb_env_info(env, &info)) != 0 ||
	    (e = mdb_env_copyfd2(env, fd, MDB_CP_COMPACT)) != 0) {
		log_error("state", "compacting %s: %s", dir, mdb_strerror(e));
		if (env != NULL)
			mdb_env_close(env);
		return RC_STATE;
	}
	*txnid = (uint64_t)info.me_last_txnid;
	mdb_env_close(env);
	return RC_OK;
}
