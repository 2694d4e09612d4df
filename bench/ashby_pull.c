/*
 * bench/ashby_pull — pull every candidate with its current application from
 * the Ashby fake (100 per page, the API's maximum): wall time, requests per
 * person, and memory (target: under 32 MB; the driver's application index
 * grows by about 90 bytes a person, everything else is flat).
 *
 * Usage: ashby_pull ROOT_URL CA_FILE [APPLICATIONS]
 * (APPLICATIONS: how many the fake holds, for the listing minimum)
 */
#define _POSIX_C_SOURCE 200809L
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

int
main(int argc, char **argv)
{
	struct config cfg;
	struct http_cfg hc = { 0 };
	struct http *h = NULL;
	struct ats *a = NULL;
	struct ats_pull pull;
	struct buf err = BUF_INIT;
	char *v[6];
	int64_t t0, t1;
	enum rc rc;

	if (argc != 3 && argc != 4)
		return 2;
	json_init();
	log_init(LOG_WARN, LOG_FMT_TEXT);
	config_init(&cfg);
	v[0] = xstrdup("ATSRECON_ATS_KIND=ashby");
	v[1] = xasprintf("ATSRECON_ATS_BASE_URL=%s", argv[1]);
	v[2] = xstrdup("ATSRECON_ATS_API_KEY=ashby-test-key");
	v[3] = xstrdup("ATSRECON_ATS_PAGE_SIZE=100");
	v[4] = xstrdup("ATSRECON_ATS_MAX_RPS=1000");	/* the fake has no limit; the default is 10 */
	v[5] = NULL;
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
	printf("ashby_pull: rc %d, %ld candidates (%ld with a stage), %d list pages, complete %d, "
	    "sync token %s\n", rc, delivered, with_stage, pull.pages, pull.complete,
	    a->sync_out != NULL ? "yes" : "no");
	printf("  wall time              %.2f s\n", (double)(t1 - t0) / 1000.0);
	{
		long apps = argc == 4 ? strtol(argv[3], NULL, 10) : 0;
		char how[160];
		snprintf(how, sizeof(how), "1 opening call + %ld candidate pages + %ld application pages "
		    "(100 a page)", calls_pages(delivered, 100), calls_pages(apps, 100));
		calls_report(http_get_stats(h)->requests, delivered,
		    1 + calls_pages(delivered, 100) + calls_pages(apps, 100), how);
	}
	printf("  peak anonymous memory  %ld kB (RssAnon, sampled every 1,000 candidates)\n",
	    rss_anon_peak_kb);
	printf("  peak RSS               %ld kB (VmHWM)   target: < 32768 kB\n",
	    rss_status_kb("VmHWM"));
	ats_close(a);
	http_free(h);
	config_free(&cfg);
	return rc == RC_OK ? 0 : 1;
}
