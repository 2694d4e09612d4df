/*
 * bench/lever_pull — a full sweep of every person from the Lever fake: each
 * person has 2 opportunities, listed once 100 per page (expanded) into the
 * spill file and delivered contact by contact from it. Figures: wall time,
 * ATS calls against the listing minimum, and memory (target: under 32 MB,
 * flat: the spill file's fixed arena and a read buffer per sorted run).
 *
 * Usage: lever_pull ROOT_URL CA_FILE [OPPORTUNITIES]
 * (OPPORTUNITIES: how many the fake holds, for the listing minimum: every
 * opportunity listed once, 100 a page, expanded)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>

#include "ats.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "calls.h"
#include "rss.h"

static long delivered;

static enum rc
count(void *arg, const struct candidate *c)
{
	(void)arg;
	(void)c;
	if (++delivered % 1000 == 0)
		rss_sample();
	return RC_OK;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct http_cfg hc = { 0 };
	struct http *h = NULL;
	struct ats *a = NULL;
	struct ats_pull pull;
	struct buf err = BUF_INIT;
	char *v[7];
	int64_t t0, t1;
	enum rc rc;
	int i;

	if (argc != 3 && argc != 4)
		return 2;
	json_init();
	log_init(LOG_WARN, LOG_FMT_TEXT);
	config_init(&cfg);
	v[0] = xstrdup("ATSRECON_ATS_KIND=lever");
	v[1] = xasprintf("ATSRECON_ATS_BASE_URL=%s/v1", argv[1]);
	v[2] = xstrdup("ATSRECON_ATS_API_KEY=lever-test-key-0001");
	v[3] = xstrdup("ATSRECON_ATS_PAGE_SIZE=100");
	v[4] = xstrdup("ATSRECON_ATS_MAX_RPS=1000");	/* the fake runs without a limit */
	v[5] = xstrdup("ATSRECON_ATS_MAX_PAGES=100000");
	v[6] = NULL;
	if (config_apply_env(&cfg, v, &err) != RC_OK)
		return 1;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	hc.ca_file = argv[2];
	http_new(&hc, &h);
	rss_sample();
	t0 = mono_ms();
	if ((rc = ats_open(&cfg, h, &a)) != RC_OK)
		return 1;
	rc = a->drv->pull_all(a, count, NULL, &pull);
	t1 = mono_ms();
	rss_sample();
	printf("lever_pull: rc %d, %ld people, %d list pages, complete %d\n", rc, delivered,
	    pull.pages, pull.complete);
	printf("  wall time              %.2f s\n", (double)(t1 - t0) / 1000.0);
	{
		long opps = argc == 4 ? strtol(argv[3], NULL, 10) : 0;
		char how[160];
		snprintf(how, sizeof(how), "%ld opportunity pages (100 a page, expanded; Basic auth: no "
		    "token call)", calls_pages(opps, 100));
		calls_report(http_get_stats(h)->requests, delivered, calls_pages(opps, 100), how);
	}
	printf("  peak anonymous memory  %ld kB (RssAnon, sampled every 1,000 people)\n",
	    rss_anon_peak_kb);
	printf("  peak RSS               %ld kB (VmHWM)   target: < 32768 kB\n",
	    rss_status_kb("VmHWM"));
	ats_close(a);
	http_free(h);
	config_free(&cfg);
	buf_free(&err);
	return rc == RC_OK ? 0 : 1;
}
