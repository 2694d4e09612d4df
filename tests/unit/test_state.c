/* Unit tests: state.c (create, lock across processes, schema check, read-only). */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "state.h"
#include "t.h"

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
	/* a reader is never blocked by the writer */
	CHECK(state_open(sub, STATE_RO, &st2) == RC_OK);
	CHECK(state_get(st2, DB_META, "k", &v) == RC_OK && strcmp(v.p, "v2") == 0);
	CHECK(state_put(st2, DB_META, "k", "x", 1) == RC_BUG);
	state_close(st2);
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
	buf_free(&v);
	{
		char *cmd = xasprintf("rm -rf %s", dir);
		CHECK(system(cmd) == 0);
		free(cmd);
	}
	free(sub);
	return t_done("test_state");
}
