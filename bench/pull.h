/*
 * bench/pull.h — the pull benchmarks of the API sources (greenhouse_pull,
 * lever_pull, ashby_pull): open the driver on a fake, pull everything while
 * counting and sampling memory, print the figures.
 */
#ifndef ATSRECON_BENCH_PULL_H
#define ATSRECON_BENCH_PULL_H

#include <stdio.h>
#include <stdlib.h>

#include "ats.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "calls.h"
#include "rss.h"

static long delivered, with_stage;

static enum rc
count(void *arg, const struct candidate *c)
{
	(void)arg;
	with_stage += c->stage_name != NULL;
	if (++delivered % 1000 == 0)
		rss_sample();
	return RC_OK;
}

struct pull_bench {
	struct config cfg;
	struct http *h;
	struct ats *a;
	struct ats_pull pull;
	int64_t ms;	/* the pull's wall time */
	enum rc rc;	/* the pull's */
};

/* Opens the driver with the settings v (NULL-terminated "ATSRECON_..=.."
 * strings, freed here) and HTTP on the CA file ca, and pulls everything.
 * Returns 1 when the configuration or the driver refused to open. */
static int
pull_run(struct pull_bench *b, char **v, const char *ca)
{
	struct http_cfg hc = { 0 };
	struct buf err = BUF_INIT;
	int64_t t0;
	int i, bad;

	json_init();
	log_init(LOG_WARN, LOG_FMT_TEXT);
	config_init(&b->cfg);
	bad = config_apply_env(&b->cfg, v, &err) != RC_OK;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	buf_free(&err);
	if (bad)
		return 1;
	hc.ca_file = ca;
	http_new(&hc, &b->h);
	rss_sample();
	t0 = mono_ms();
	if (ats_open(&b->cfg, b->h, &b->a) != RC_OK)
		return 1;
	b->rc = b->a->drv->pull_all(b->a, count, NULL, &b->pull);
	b->ms = mono_ms() - t0;
	rss_sample();
	return 0;
}

/* Prints the wall time, the ATS calls against the listing minimum (minimum
 * calls, made up as how says), the memory (sampled every 1,000 of unit), with
 * the target line. Returns the exit status and closes everything. */
static int
pull_report(struct pull_bench *b, long minimum, const char *how, const char *unit,
    const char *target)
{
	printf("  wall time              %.2f s\n", (double)b->ms / 1000.0);
	calls_report(http_get_stats(b->h)->requests, delivered, minimum, how);
	printf("  peak anonymous memory  %ld kB (RssAnon, sampled every 1,000 %s)\n",
	    rss_anon_peak_kb, unit);
	printf("  peak RSS               %ld kB (VmHWM)   %s\n", rss_status_kb("VmHWM"), target);
	ats_close(b->a);
	http_free(b->h);
	config_free(&b->cfg);
	return b->rc == RC_OK ? 0 : 1;
}

#endif
