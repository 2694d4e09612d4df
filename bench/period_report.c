/*
 * bench/period_report — `report --since` over a big runs table: builds a
 * state with N run records (one an hour, each with 200 repairs of new
 * candidates, 20 causes and 10 fields: the largest record a run writes), then
 * renders the period report in the four formats, sampling the anonymous
 * memory every 2 ms. Target: the anonymous peak stays flat as N grows (the
 * records are streamed; the trend, the cause list and the recurring-pair table
 * are capped), under 32 MB for any N.
 *
 * Usage: period_report DIR N
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "config.h"
#include "json.h"
#include "log.h"
#include "period.h"
#include "report.h"
#include "state.h"
#include "rss.h"

static volatile int sampling = 1;

static void *
sampler(void *arg)
{
	struct timespec ts = { 0, 2000000 };

	(void)arg;
	while (sampling) {
		rss_sample();
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct state *st = NULL;
	struct config cfg;
	struct buf err = BUF_INIT, since = BUF_INIT;
	static const char *const fmt[] = { "json", "md", "csv", "html" };
	int64_t now = now_ms(), t0;
	long n, i;
	size_t k, c;
	pthread_t th;

	if (argc != 3 || (n = strtol(argv[2], NULL, 10)) <= 0)
		return 2;
	json_init();
	log_init(LOG_WARN, LOG_FMT_TEXT);
	if (state_open(argv[1], STATE_RW, &st) != RC_OK)
		return 1;
	if (state_count(st, DB_RUNS) < (size_t)n) {
		state_batch_begin(st);
		for (i = 0; i < n; i++) {
			struct report r;
			struct buf rec = BUF_INIT;
			char key[64], cand[32], field[32];
			report_init(&r, "incremental");
			r.finished_ms = now - (n - i) * 3600000LL;
			r.started_ms = r.finished_ms - 90000;
			r.exit_status = 1;
			r.before_pct = 95;
			r.after_pct = 97;
			for (k = 0; k < 10; k++) {
				snprintf(field, sizeof(field), "custom:Field %zu", k);
				report_field_count(&r, field, 1);
			}
			for (k = 0; k < 200; k++) {
				size_t w;
				snprintf(cand, sizeof(cand), "greenhouse:%ld", i * 200 + (long)k);
				w = report_add_row(&r, "field_mismatch", "phone:PHONE1", "keap_edited", cand, "1");
				report_row_set_action(&r, w, "repaired");
			}
			for (c = 0; c < 20; c++) {
				size_t w;
				snprintf(field, sizeof(field), "Value %zu", (size_t)(i % 300) + c);
				w = report_add_row(&r, "invalid_value", "custom:ATS Source", "", "greenhouse:1", "1");
				report_row_set_values(&r, w, field, NULL);
				report_row_set_error(&r, w, "not one of the Keap field's options");
			}
			report_run_record(&r, &rec);
			snprintf(key, sizeof(key), "%s-%08ld", r.run_id, i);
			state_put(st, DB_RUNS, key, rec.p, rec.len);
			buf_free(&rec);
			report_free(&r);
			if (i % 500 == 499) {
				state_batch_commit(st);
				state_batch_begin(st);
			}
		}
		state_batch_commit(st);
	}
	printf("runs table: %zu records\n", state_count(st, DB_RUNS));
	state_close(st);
	config_init(&cfg);
	config_set_cli(&cfg, OPT_STATE_DIR, argv[1], &err);
	buf_addf(&since, "%ldh", n + 1);
	config_set_cli(&cfg, OPT_SINCE, since.p, &err);
	rss_anon_peak_kb = 0;
	pthread_create(&th, NULL, sampler, NULL);
	for (k = 0; k < 4; k++) {
		char out[64];
		t0 = mono_ms();
		snprintf(out, sizeof(out), "/tmp/atsrecon-bench-period.%s", fmt[k]);
		if (report_period(&cfg, fmt[k], out) != RC_OK)
			return 1;
		printf("  %-4s %6lld ms\n", fmt[k], (long long)(mono_ms() - t0));
	}
	sampling = 0;
	pthread_join(th, NULL);
	printf("N=%ld runs: anonymous memory peak %ld kB (target < 32768 kB), peak RSS %ld kB\n", n,
	    rss_anon_peak_kb, rss_status_kb("VmHWM"));
	config_free(&cfg);
	buf_free(&err);
	buf_free(&since);
	return 0;
}
