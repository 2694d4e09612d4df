/* Unit tests: state.c (create, lock across processes, schema check, read-only). */
#define _POSIX_C_SOURCE 200809L
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
	buf_free(&v);
	{
		char *cmd = xasprintf("rm -rf %s", dir);
		CHECK(system(cmd) == 0);
		free(cmd);
	}
	free(sub);
	return t_done("test_state");
}
