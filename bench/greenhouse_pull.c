/*
 * bench/greenhouse_pull — pull every candidate with its applications from the
 * Greenhouse fake (500 per page): wall time, requests, and memory (target:
 * flat in the number of candidates, under 32 MB).
 *
 * Usage: greenhouse_pull ROOT_URL CA_FILE [APPLICATIONS]
 * (APPLICATIONS: how many the fake holds, for the listing minimum: one token,
 * candidates and applications at 500 a page)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
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

	if (argc != 3 && argc != 4)
		return 2;
	json_init();
	log_init(LOG_WARN, LOG_FMT_TEXT);
	config_init(&cfg);
	v[0] = xasprintf("ATSRECON_ATS_BASE_URL=%s/v3", argv[1]);
	v[1] = xasprintf("ATSRECON_ATS_AUTH_URL=%s/auth", argv[1]);
	v[2] = xstrdup("ATSRECON_ATS_CLIENT_ID=gh-client");
	v[3] = xstrdup("ATSRECON_ATS_CLIENT_SECRET=gh-secret");
	v[4] = xstrdup("ATSRECON_ATS_USER_ID=4711");
	v[5] = xstrdup("ATSRECON_ATS_PAGE_SIZE=500");
	v[6] = NULL;
	if (config_apply_env(&cfg, v, &err) != RC_OK)
		return 1;
	hc.ca_file = argv[2];
	http_new(&hc, &h);
	rss_sample();
	t0 = mono_ms();
	if ((rc = ats_open(&cfg, h, &a)) != RC_OK)
		return 1;
	rc = a->drv->pull_all(a, count, NULL, &pull);
	t1 = mono_ms();
	rss_sample();
	printf("greenhouse_pull: rc %d, %ld candidates, %d list pages, complete %d\n", rc, delivered,
	    pull.pages, pull.complete);
	printf("  wall time              %.2f s\n", (double)(t1 - t0) / 1000.0);
	{
		long apps = argc == 4 ? strtol(argv[3], NULL, 10) : 0;
		char how[160];
		snprintf(how, sizeof(how), "1 token + %ld candidate pages + %ld application pages (500 a page)",
		    calls_pages(delivered, 500), calls_pages(apps, 500));
		calls_report(http_get_stats(h)->requests, delivered,
		    1 + calls_pages(delivered, 500) + calls_pages(apps, 500), how);
	}
	printf("  peak anonymous memory  %ld kB (RssAnon, sampled every 1,000 candidates)\n",
	    rss_anon_peak_kb);
	printf("  peak RSS               %ld kB (VmHWM)   target: < 32768 kB, flat in candidates\n",
	    rss_status_kb("VmHWM"));
	ats_close(a);
	http_free(h);
	config_free(&cfg);
	return rc == RC_OK ? 0 : 1;
}
