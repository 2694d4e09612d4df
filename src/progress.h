/*
 * progress.h — the one-line progress display on a terminal (run, plan, apply):
 * phase, how far (pages pulled, candidates compared, writes done of planned),
 * rate, Keap quota left and ETA, redrawn at most 4 times a second on stderr
 * with "\r" and an erase-line. Only when stderr is a terminal and --quiet is
 * off; never in the logs (log lines first erase the display, then it is drawn
 * again on the next update), never in a pipe or a file.
 */
#ifndef ATSRECON_PROGRESS_H
#define ATSRECON_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

struct progress {
	int on;
	int drawn;		/* a line is on the screen */
	int64_t t_phase, t_drawn;
	const char *phase;
	size_t done, total;
	long quota_left;	/* -1 unknown */
};

/* on: the caller's decision (a TTY, not --quiet); progress_want() says. */
void progress_init(struct progress *, int on);
int progress_want(int quiet);
/* total 0: unknown (no ETA). A new phase restarts the rate. */
void progress_update(struct progress *, const char *phase, size_t done, size_t total);
void progress_quota(struct progress *, long quota_left);
/* Clears the line (before exit, and before anything else is printed). */
void progress_end(struct progress *);

#endif
