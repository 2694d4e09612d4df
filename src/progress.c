/* progress.c — see progress.h. */
#define _POSIX_C_SOURCE 200809L
#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define REDRAW_MS 250

static struct progress *shown;	/* the display the logger must erase first */

static void
erase(void)
{
	if (shown != NULL && shown->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		shown->drawn = 0;
	}
}

int
progress_want(int quiet)
{
	return !quiet && isatty(STDERR_FILENO);
}

void
progress_init(struct progress *p, int on)
{
	memset(p, 0, sizeof(*p));
	p->on = on;
	p->quota_left = -1;
	if (on) {
		shown = p;
		log_set_before_line(erase);
	}
}

static void
draw(struct progress *p, int64_t now)
{
	char line[160];
	size_t len;
	double secs = (double)(now - p->t_phase) / 1000.0;
	double rate = secs > 0.5 ? (double)p->done / secs : 0;

	if (p->total > 0)
		len = (size_t)snprintf(line, sizeof(line), "atsrecon: %s %zu/%zu", p->phase, p->done,
		    p->total);
	else
		len = (size_t)snprintf(line, sizeof(line), "atsrecon: %s %zu", p->phase, p->done);
	if (rate > 0 && len < sizeof(line))
		len += (size_t)snprintf(line + len, sizeof(line) - len, " · %.1f/s", rate);
	if (p->quota_left >= 0 && len < sizeof(line))
		len += (size_t)snprintf(line + len, sizeof(line) - len, " · quota left %ld", p->quota_left);
	if (rate > 0 && p->total > p->done && len < sizeof(line))
		snprintf(line + len, sizeof(line) - len, " · ETA %.0f s",
		    (double)(p->total - p->done) / rate);
	fprintf(stderr, "\r\033[K%s", line);
	fflush(stderr);
	p->drawn = 1;
	p->t_drawn = now;
}

void
progress_update(struct progress *p, const char *phase, size_t done, size_t total)
{
	int64_t now;

	if (!p->on)
		return;
	now = mono_ms();
	if (p->phase == NULL || strcmp(p->phase, phase) != 0) {
		p->phase = phase;
		p->t_phase = now;
		p->t_drawn = 0;
	}
	p->done = done;
	p->total = total;
	if (now - p->t_drawn >= REDRAW_MS || (total > 0 && done == total))
		draw(p, now);
}

void
progress_quota(struct progress *p, long quota_left)
{
	p->quota_left = quota_left;
}

void
progress_end(struct progress *p)
{
	if (!p->on)
		return;
	erase();
	log_set_before_line(NULL);
	shown = NULL;
	p->on = 0;
}
