/* Unit tests: state.c (create, lock across processes, schema check, read-only). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "state.h"
#include "t.h"

/* In a child process: opens dir read-only and looks up key in DB_ATS/DB_META.
 * Returns 1 when found (with value want, if given), 0 when absent, -1 on error;
 * also checks that the reader cannot write. */
static int
reader_sees(const char *dir, const char *key, const char *want)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct state *r = NULL;
		struct buf b = BUF_INIT;
		enum rc rc;
		if (state_open(dir, STATE_RO, &r) != RC_OK)
			_exit(3);
		if (state_put(r, DB_META, "x", "y", 1) != RC_BUG)
			_exit(4);
		rc = state_get(r, strchr(key, ':') ? DB_ATS : DB_META, key, &b);
		if (rc == RC_RECORD)
			_exit(0);
		if (rc != RC_OK || (want != NULL && (b.len != strlen(want) || memcmp(b.p, want, b.len) != 0)))
			_exit(5);
		_exit(1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status) <= 1 ? WEXITSTATUS(status) : -1;
}

struct visit {
	int n;
	char last[64];
};

static enum rc
each_visit(void *arg, const char *key, size_t klen, const void *val, size_t vlen)
{
	struct visit *v = arg;

	(void)klen;
	(void)val;
	(void)vlen;
	v->n++;
	str_copy(v->last, sizeof(v->last), key);
	return RC_OK;
}

/* Appends each key and a newline to the buf in arg. */
static enum rc
collect(void *arg, const char *key, size_t klen, const void *val, size_t vlen)
{
	(void)val;
	(void)vlen;
	buf_add(arg, key, klen);
	buf_addc(arg, '\n');
	return RC_OK;
}

/* In a child process: opens dir (mode) with the log in logpath. Returns the
 * rc, or 100 + the signal that killed it (SIGBUS: a truncated map). */
static int
open_in_child(const char *dir, enum state_mode mode, const char *logpath)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct state *c = NULL;
		enum rc rc;
		int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		log_init(LOG_ERROR, LOG_FMT_TEXT);
		log_set_fd(fd);
		rc = state_open(dir, mode, &c);
		if (rc == RC_OK) {
			struct visit vis;
			memset(&vis, 0, sizeof(vis));
			/* touch every page: a map past the end of the file shows here */
			rc = state_each(c, DB_ATS, NULL, each_visit, &vis);
			state_close(c);
		}
		_exit((int)rc);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 100 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Flips one byte of path at off. */
static void
flip_byte(const char *path, off_t off)
{
	int fd = open(path, O_RDWR);
	unsigned char c = 0;

	CHECK(fd >= 0 && pread(fd, &c, 1, off) == 1);
	c ^= 0x40;
	CHECK(pwrite(fd, &c, 1, off) == 1);
	close(fd);
}

/* Issue 16 defect 2: a truncated or corrupt data.mdb is refused with RC_STATE
 * (exit 9) and a message naming the file and the fix, never a SIGBUS. */
static void
test_defect2_lmdb_truncated(const char *top)
{
	char *good = xasprintf("%s/good", top), *bad = xasprintf("%s/bad", top);
	char *data = xasprintf("%s/data.mdb", bad), *logp = xasprintf("%s/log", top);
	char *cmd = xasprintf("rm -rf %s && cp -r %s %s", bad, good, bad);
	struct state *st = NULL;
	struct buf v = BUF_INIT, lg = BUF_INIT;
	char key[32], val[600];
	int i;

	CHECK(state_open(good, STATE_RW, &st) == RC_OK);
	memset(val, 'x', sizeof(val));
	for (i = 0; i < 400; i++) {	/* ~60 pages */
		snprintf(key, sizeof(key), "gh:%04d", i);
		CHECK(state_put(st, DB_ATS, key, val, sizeof(val)) == RC_OK);
	}
	state_close(st);

	/* intact: opens */
	CHECK(system(cmd) == 0);
	CHECK(open_in_child(bad, STATE_RO, logp) == RC_OK);

	/* truncate -s 12288 data.mdb (three pages: metas intact, the tree cut) */
	CHECK(truncate(data, 12288) == 0);
	CHECK(open_in_child(bad, STATE_RO, logp) == RC_STATE);	/* defect2_lmdb_truncated */
	CHECK(open_in_child(bad, STATE_RW, logp) == RC_STATE);	/* defect2_lmdb_truncated */
	buf_reset(&lg);
	CHECK(read_file(logp, 1 << 16, &lg) == 0);
	CHECK_CONTAINS(lg.p, data);	/* names the file */
	CHECK_CONTAINS(lg.p, "restore it from a backup or move it away");
	CHECK_CONTAINS(lg.p, "full sweep");

	/* not a whole number of pages */
	CHECK(system(cmd) == 0);
	CHECK(truncate(data, 4096 * 20 + 100) == 0);
	CHECK(open_in_child(bad, STATE_RW, logp) == RC_STATE);	/* defect2_lmdb_truncated */

	/* shorter than the two meta pages; empty */
	CHECK(system(cmd) == 0);
	CHECK(truncate(data, 4096) == 0);
	CHECK(open_in_child(bad, STATE_RW, logp) == RC_STATE);	/* defect2_lmdb_truncated */
	CHECK(truncate(data, 0) == 0);
	CHECK(open_in_child(bad, STATE_RO, logp) == RC_STATE);	/* defect2_lmdb_truncated */

	/* a flipped byte in meta page 0's magic, in meta page 1's version */
	CHECK(system(cmd) == 0);
	flip_byte(data, 16 + 1);
	CHECK(open_in_child(bad, STATE_RW, logp) == RC_STATE);	/* defect2_lmdb_meta_flipped */
	CHECK(system(cmd) == 0);
	flip_byte(data, 4096 + 16 + 4);
	CHECK(open_in_child(bad, STATE_RO, logp) == RC_STATE);	/* defect2_lmdb_meta_flipped */
	buf_reset(&lg);
	CHECK(read_file(logp, 1 << 16, &lg) == 0);
	CHECK_CONTAINS(lg.p, "meta page");
	/* a flipped high byte in both metas' last page number: past the end */
	CHECK(system(cmd) == 0);
	flip_byte(data, 16 + 120 + 3);
	flip_byte(data, 4096 + 16 + 120 + 3);
	CHECK(open_in_child(bad, STATE_RW, logp) == RC_STATE);	/* defect2_lmdb_meta_flipped */
	/* and in both metas' main-tree root page */
	CHECK(system(cmd) == 0);
	flip_byte(data, 16 + 112 + 2);
	flip_byte(data, 4096 + 16 + 112 + 2);
	CHECK(open_in_child(bad, STATE_RW, logp) == RC_STATE);	/* defect2_lmdb_meta_flipped */

	/* the good copy still opens */
	CHECK(open_in_child(good, STATE_RW, logp) == RC_OK);
	buf_free(&v);
	buf_free(&lg);
	free(good);
	free(bad);
	free(data);
	free(logp);
	free(cmd);
}

int
main(void)
{
	char dir[] = "/tmp/atsrecon-state-XXXXXX";
	char *sub;
	struct state *st = NULL, *st2 = NULL;
	struct buf v = BUF_INIT;
	int pipefd[2];
	pid_t pid;
	char c;

	log_init(LOG_OFF, LOG_FMT_TEXT);
	CHECK(mkdtemp(dir) != NULL);
	sub = xasprintf("%s/a/b", dir);

	/* read-only open of nothing: "no state" */
	CHECK(state_open(sub, STATE_RO, &st) == RC_RECORD);
	CHECK(state_open(sub, STATE_RW, &st) == RC_OK);
	CHECK(state_put(st, DB_META, "k", "v1", 2) == RC_OK);
	CHECK(state_get(st, DB_META, "k", &v) == RC_OK && strcmp(v.p, "v1") == 0);
	CHECK(state_get(st, DB_META, "missing", &v) == RC_RECORD);
	CHECK(state_del(st, DB_META, "k") == RC_OK);
	CHECK(state_get(st, DB_META, "k", &v) == RC_RECORD);
	CHECK(state_put(st, DB_META, "k", "v2", 2) == RC_OK);

	/* the reused read view: a read after each kind of write sees that write */
	CHECK(state_get(st, DB_META, "k", &v) == RC_OK && strcmp(v.p, "v2") == 0);
	CHECK(state_put(st, DB_META, "k", "v3", 2) == RC_OK);
	CHECK(state_get(st, DB_META, "k", &v) == RC_OK && strcmp(v.p, "v3") == 0);
	CHECK(state_batch_begin(st) == RC_OK && state_put(st, DB_META, "k", "v4", 2) == RC_OK &&
	    state_batch_commit(st) == RC_OK);
	CHECK(state_get(st, DB_META, "k", &v) == RC_OK && strcmp(v.p, "v4") == 0);
	CHECK(state_count(st, DB_META) >= 2);
	CHECK(state_del(st, DB_META, "k") == RC_OK && state_get(st, DB_META, "k", &v) == RC_RECORD);
	CHECK(state_put(st, DB_META, "k", "v2", 2) == RC_OK);
	/* a head read: the first bytes and the whole length */
	{
		char head[4];
		size_t len = 0;
		CHECK(state_put(st, DB_ATS, "h", "0123456789", 10) == RC_OK);
		CHECK(state_get_head(st, DB_ATS, "h", head, sizeof(head), &len) == RC_OK && len == 10 &&
		    memcmp(head, "0123", 4) == 0);
		CHECK(state_get_head(st, DB_ATS, "nope", head, sizeof(head), &len) == RC_RECORD);
		CHECK(state_del(st, DB_ATS, "h") == RC_OK);
	}
	/* keys come back in LMDB's byte order (state.c compares 8 bytes at a time):
	 * shared prefixes of 8 and more bytes, a byte over 0x7f, a prefix of another */
	{
		static const char *const want[] = { "k:", "k:abcdefg", "k:abcdefgh", "k:abcdefgh0",
			"k:abcdefghA", "k:abcdefgh\x7f", "k:abcdefgh\x80", "k:abcdefgi", "k:b" };
		static const int order[] = { 6, 2, 8, 0, 4, 1, 7, 3, 5 };
		struct buf all = BUF_INIT;
		size_t i;
		for (i = 0; i < ARRAY_LEN(order); i++)
			CHECK(state_put(st, DB_EMAIL, want[order[i]], "x", 1) == RC_OK);
		CHECK(state_each(st, DB_EMAIL, "k:", collect, &all) == RC_OK);
		buf_reset(&v);
		for (i = 0; i < ARRAY_LEN(want); i++) {
			buf_adds(&v, want[i]);
			buf_addc(&v, '\n');
		}
		CHECK(all.p != NULL && strcmp(all.p, v.p) == 0);
		if (all.p != NULL && strcmp(all.p, v.p) != 0)
			printf("got:\n%s\nwant:\n%s", all.p, v.p);
		buf_reset(&v);
		buf_free(&all);
		for (i = 0; i < ARRAY_LEN(want); i++) {
			CHECK(state_get(st, DB_EMAIL, want[i], &v) == RC_OK);
			CHECK(state_del(st, DB_EMAIL, want[i]) == RC_OK);
		}
	}

	/* lookups reuse one cursor per DB: inside a batch that splits and merges
	 * pages under it, and after it, every key reads what was last written */
	{
		char key[32], val[32];
		int i, bad = 0;
		CHECK(state_batch_begin(st) == RC_OK);
		for (i = 0; i < 3000; i++) {
			snprintf(key, sizeof(key), "greenhouse:%07d", (i * 7919) % 3000);
			snprintf(val, sizeof(val), "v%d", (i * 7919) % 3000);
			bad |= state_put(st, DB_ATS, key, val, strlen(val) + 1) != RC_OK;
			snprintf(key, sizeof(key), "greenhouse:%07d", (i * 7919) % 3000 / 2);
			bad |= state_get(st, DB_ATS, key, &v) == RC_STATE;
		}
		for (i = 0; i < 3000; i += 3) {
			snprintf(key, sizeof(key), "greenhouse:%07d", i);
			bad |= state_del(st, DB_ATS, key) != RC_OK;
			bad |= state_get(st, DB_ATS, key, &v) != RC_RECORD;
		}
		CHECK(!bad);
		CHECK(state_batch_commit(st) == RC_OK);
		for (i = 0; i < 3000; i++) {
			snprintf(key, sizeof(key), "greenhouse:%07d", i);
			snprintf(val, sizeof(val), "v%d", i);
			if (i % 3 == 0)
				bad |= state_get(st, DB_ATS, key, &v) != RC_RECORD;
			else
				bad |= state_get(st, DB_ATS, key, &v) != RC_OK || strcmp(v.p, val) != 0;
		}
		CHECK(!bad);
		for (i = 0; i < 3000; i++) {
			if (i == 200)	/* the first ones each in its own commit, the rest batched */
				bad |= state_batch_begin(st) != RC_OK;
			snprintf(key, sizeof(key), "greenhouse:%07d", i);
			bad |= state_del(st, DB_ATS, key) != RC_OK;
			bad |= state_get(st, DB_ATS, key, &v) != RC_RECORD;
		}
		CHECK(state_batch_commit(st) == RC_OK);
		CHECK(!bad && state_count(st, DB_ATS) == 0);
	}

	/* a second writer in this process: flock is per open file, so it is refused */
	CHECK(state_open(sub, STATE_RW, &st2) == RC_LOCKED);
	/* a reader (another process: LMDB forbids opening one environment twice in a
	 * process) is never blocked by the writer, and cannot write */
	CHECK(reader_sees(sub, "k", "v2") == 1);
	state_close(st);

	/* another process holds the lock: we get RC_LOCKED at once */
	CHECK(pipe(pipefd) == 0);
	pid = fork();
	if (pid == 0) {
		struct state *cs = NULL;
		if (state_open(sub, STATE_RW, &cs) != RC_OK)
			_exit(1);
		if (write(pipefd[1], "L", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	CHECK(read(pipefd[0], &c, 1) == 1);
	CHECK(state_open(sub, STATE_RW, &st) == RC_LOCKED);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* the holder died: the lock went with it */
	CHECK(state_open(sub, STATE_RW, &st) == RC_OK);

	/* version 1 (contacts as JSON) opens and becomes the current version */
	CHECK(state_put(st, DB_META, "schema_version", "1", 1) == RC_OK);
	state_close(st);
	CHECK(state_open(sub, STATE_RO, &st) == RC_OK);	/* read only: left as it is */
	{
		struct buf sv = BUF_INIT;
		CHECK(state_get(st, DB_META, "schema_version", &sv) == RC_OK && str_eq(sv.p, "1"));
		state_close(st);
		CHECK(state_open(sub, STATE_RW, &st) == RC_OK);
		buf_reset(&sv);
		CHECK(state_get(st, DB_META, "schema_version", &sv) == RC_OK && str_eq(sv.p, "2"));
		buf_free(&sv);
	}
	/* another schema version: refused, never misread */
	CHECK(state_put(st, DB_META, "schema_version", "999", 3) == RC_OK);
	state_close(st);
	CHECK(state_open(sub, STATE_RW, &st) == RC_STATE);
	CHECK(state_open(sub, STATE_RO, &st) == RC_STATE);

	CHECK(strncmp(state_lib_version(), "LMDB 0.9.31", 11) == 0);

	/* batches: invisible until committed, dropped on abort; iteration by prefix */
	{
		char *d2 = xasprintf("%s/batch", dir);
		struct state *s2 = NULL;
		struct visit vis;
		CHECK(state_open(d2, STATE_RW, &s2) == RC_OK);
		CHECK(state_batch_begin(s2) == RC_OK);
		CHECK(state_batch_begin(s2) == RC_BUG);	/* one at a time */
		CHECK(state_put(s2, DB_ATS, "gh:1", "a", 1) == RC_OK);
		CHECK(state_put(s2, DB_ATS, "gh:2", "b", 1) == RC_OK);
		CHECK(state_put(s2, DB_ATS, "lv:1", "c", 1) == RC_OK);
		CHECK(state_get(s2, DB_ATS, "gh:2", &v) == RC_OK && v.p[0] == 'b');	/* sees its writes */
		CHECK(reader_sees(d2, "gh:1", NULL) == 0);	/* not yet visible to others */
		CHECK(state_batch_commit(s2) == RC_OK);
		CHECK(reader_sees(d2, "gh:1", "a") == 1);
		CHECK(state_batch_begin(s2) == RC_OK);
		CHECK(state_del(s2, DB_ATS, "gh:1") == RC_OK);
		state_batch_abort(s2);
		CHECK(state_get(s2, DB_ATS, "gh:1", &v) == RC_OK);	/* the abort dropped the delete */
		CHECK(state_count(s2, DB_ATS) == 3);
		memset(&vis, 0, sizeof(vis));
		CHECK(state_each(s2, DB_ATS, "gh:", each_visit, &vis) == RC_OK);
		CHECK(vis.n == 2 && strcmp(vis.last, "gh:2") == 0);
		memset(&vis, 0, sizeof(vis));
		CHECK(state_each(s2, DB_ATS, NULL, each_visit, &vis) == RC_OK && vis.n == 3);
		state_close(s2);
		free(d2);
	}
	test_defect2_lmdb_truncated(dir);
	buf_free(&v);
	{
		char *cmd = xasprintf("rm -rf %s", dir);
		CHECK(system(cmd) == 0);
		free(cmd);
	}
	free(sub);
	return t_done("test_state");
}
