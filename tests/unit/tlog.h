/*
 * tlog.h — the unit tests' log capture, after t.h and with _POSIX_C_SOURCE
 * 200809L: t_log_begin() sends the log to a temporary file, t_log_end() puts
 * it back on stderr and returns what was written (t_count() counts in it).
 */
#ifndef ATSRECON_TLOG_H
#define ATSRECON_TLOG_H

#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* Sends the log, at level and in format, to a temporary file until t_log_end.
 * Returns the file (-1, a failed check: it could not be made). */
static inline int
t_log_begin(enum log_level level, enum log_format format)
{
	char path[] = "/tmp/atsrecon-test-log-XXXXXX";
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	if (fd < 0)
		return -1;
	unlink(path);
	log_init(level, format);
	log_set_fd(fd);
	return fd;
}

/* Puts the log back on stderr (LOG_ERROR, text) and returns what went to fd,
 * which it closes: "" when nothing; free it. */
static inline char *
t_log_end(int fd)
{
	struct buf b = BUF_INIT;
	char chunk[4096];
	ssize_t n;

	log_set_fd(2);
	log_init(LOG_ERROR, LOG_FMT_TEXT);
	buf_adds(&b, "");
	if (fd < 0)
		return buf_take(&b);
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(&b, chunk, (size_t)n);
	close(fd);
	return buf_take(&b);
}

#endif
