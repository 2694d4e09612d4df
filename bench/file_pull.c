/*
 * bench/file_pull — stream an export file through the file source's pull_all
 * (ats_file.c): wall time (median of 3 pulls), rows per second, and memory
 * (target: peak RSS under 32 MB, flat in the number of rows apart from the
 * duplicate-id set, 8 bytes per row in a table at most 3/4 full).
 *
 * Usage: file_pull CONFIG     (a config whose ats section names the file)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "ats.h"
#include "config.h"
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

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct ats *a = NULL;
	struct ats_pull pull;
	struct buf err = BUF_INIT;
	struct stat st;
	int64_t t[3];
	long hwm_open;
	enum rc rc = RC_OK;
	int i;

	if (argc != 2)
		return 2;
	json_init();
	log_init(LOG_WARN, LOG_FMT_TEXT);
	config_init(&cfg);
	if (config_load_file(&cfg, argv[1], &err) != RC_OK) {
		fprintf(stderr, "%s\n", err.p);
		return 1;
	}
	rss_sample();
	if (ats_open(&cfg, NULL, &a) != RC_OK)
		return 1;
	hwm_open = rss_status_kb("VmHWM");
	for (i = 0; i < 3 && rc == RC_OK; i++) {
		int64_t t0 = mono_ms();
		delivered = 0;
		rc = a->drv->pull_all(a, count, NULL, &pull);
		t[i] = mono_ms() - t0;
		rss_sample();
	}
	qsort(t, 3, sizeof(t[0]), cmp_i64);
	stat(cfg_str(&cfg, OPT_ATS_FILE), &st);
	printf("file_pull: rc %d, %ld candidates, %d skipped, complete %d, file %.1f MB\n", rc,
	    delivered, pull.skipped, pull.complete, (double)st.st_size / 1e6);
	printf("  wall time              %.2f s (median of 3 pulls; %.2f .. %.2f)\n",
	    (double)t[1] / 1000.0, (double)t[0] / 1000.0, (double)t[2] / 1000.0);
	printf("  throughput             %.0f rows/s, %.1f MB/s\n",
	    (double)delivered / ((double)t[1] / 1000.0),
	    (double)st.st_size / 1e6 / ((double)t[1] / 1000.0));
	calls_report(0, delivered, 0, "0 (the export file is read locally)");
	printf("  peak anonymous memory  %ld kB (RssAnon, sampled every 1,000 rows)\n",
	    rss_anon_peak_kb);
	printf("  peak RSS               %ld kB (VmHWM; %ld kB after open)   target: < 32768 kB\n",
	    rss_status_kb("VmHWM"), hwm_open);
	ats_close(a);
	config_free(&cfg);
	buf_free(&err);
	return rc == RC_OK ? 0 : 1;
}
