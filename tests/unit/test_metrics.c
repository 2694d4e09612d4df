/*
 * Unit tests: metrics.c — the exact exposition text of a built report, label
 * escaping of hostile values, the atomic textfile, the Pushgateway URL, and a
 * push that cannot reach anything staying bounded.
 *
 * Also the driver of tests/integration/metrics.sh (which checks the output
 * with the real promtool and a real Pushgateway): with
 * $ATSRECON_TEST_METRICS_OUT set, a textfile of a report with hostile labels
 * is written there; with $ATSRECON_TEST_PUSHGATEWAY (and optionally
 * $ATSRECON_TEST_METRICS_INSTANCE), the same metrics are pushed there;
 * $ATSRECON_TEST_METRICS_FIELD adds one more field label to both.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "t.h"

static char tmpdir[] = "/tmp/atsrecon-metrics-XXXXXX";

static void
add_rows(struct report *r, const char *kind, const char *action, int n)
{
	while (n-- > 0) {
		size_t w = report_add_row(r, kind, NULL, NULL, "greenhouse:1", NULL);
		report_row_set_action(r, w, action);
	}
}

/* The report of a plausible run: 500 candidates, some drift, one Keap endpoint. */
static void
build_report(struct report *r)
{
	int i;

	report_init(r, "incremental");
	r->started_ms = 1767607200000LL;	/* 2026-01-05T10:00:00Z */
	r->finished_ms = 1767607212345LL;
	r->exit_status = 1;
	r->candidates = 500;
	r->linked = 480;
	r->in_sync = 470;
	r->drifted = 10;
	r->repaired = 8;
	r->failed = 2;
	r->before_pct = 97.5;
	r->after_pct = 99.25;
	for (i = 0; i < 480; i++) {
		report_field_count(r, "email:EMAIL1", i >= 2);
		report_field_count(r, "custom:ATS Source", 1);
		report_field_count(r, "stage_tag", i != 7);
	}
	add_rows(r, "field_mismatch", "repaired", 2);
	add_rows(r, "field_mismatch", "failed", 1);
	add_rows(r, "missing_contact", "repaired", 1);
	add_rows(r, "write_failed", "failed", 1);
	r->api = xcalloc(1, sizeof(*r->api));
	r->api[0].endpoint = xstrdup("PATCH /v2/contacts/{id}");
	r->api[0].calls = 12;
	r->api[0].ok = 9;
	r->api[0].client_errors = 1;
	r->api[0].status_429 = 1;
	r->napi = 1;
	r->retries = 2;
	r->s429 = 1;
	r->quota_left = 24990;
}

static const char expected[] =
    "# HELP atsrecon_build_info The atsrecon version that made these metrics (always 1).\n"
    "# TYPE atsrecon_build_info gauge\n"
    "atsrecon_build_info{version=\"" ATSRECON_VERSION "\"} 1\n"
    "# HELP atsrecon_last_run_info The last run's mode (always 1).\n"
    "# TYPE atsrecon_last_run_info gauge\n"
    "atsrecon_last_run_info{mode=\"incremental\"} 1\n"
    "# HELP atsrecon_last_run_timestamp_seconds When the last run finished, successful or not (Unix time).\n"
    "# TYPE atsrecon_last_run_timestamp_seconds gauge\n"
    "atsrecon_last_run_timestamp_seconds 1767607212.345\n"
    "# HELP atsrecon_last_run_duration_seconds How long the last run took.\n"
    "# TYPE atsrecon_last_run_duration_seconds gauge\n"
    "atsrecon_last_run_duration_seconds 12.345\n"
    "# HELP atsrecon_last_run_exit_status The last run's exit status (0 in sync, 1 record failures; see atsrecon(1)).\n"
    "# TYPE atsrecon_last_run_exit_status gauge\n"
    "atsrecon_last_run_exit_status 1\n"
    "# HELP atsrecon_last_success_timestamp_seconds When a run last ended with exit status 0 or 1 (Unix time; 0 if never).\n"
    "# TYPE atsrecon_last_success_timestamp_seconds gauge\n"
    "atsrecon_last_success_timestamp_seconds 1767607212.345\n"
    "# HELP atsrecon_last_run_guard_tripped 1 if a guard stopped the last run before any write, else 0.\n"
    "# TYPE atsrecon_last_run_guard_tripped gauge\n"
    "atsrecon_last_run_guard_tripped 0\n"
    "# HELP atsrecon_last_run_candidates Candidates of the last run by state; the states overlap (repaired and failed candidates are drifted ones), do not sum them.\n"
    "# TYPE atsrecon_last_run_candidates gauge\n"
    "atsrecon_last_run_candidates{state=\"in_sync\"} 470\n"
    "atsrecon_last_run_candidates{state=\"drifted\"} 10\n"
    "atsrecon_last_run_candidates{state=\"repaired\"} 8\n"
    "atsrecon_last_run_candidates{state=\"failed\"} 2\n"
    "atsrecon_last_run_candidates{state=\"deferred\"} 0\n"
    "# HELP atsrecon_last_run_candidates_seen Candidates in the snapshot that the last run's accuracy looked at.\n"
    "# TYPE atsrecon_last_run_candidates_seen gauge\n"
    "atsrecon_last_run_candidates_seen 500\n"
    "# HELP atsrecon_last_run_candidates_linked Candidates linked to a Keap contact in the last run.\n"
    "# TYPE atsrecon_last_run_candidates_linked gauge\n"
    "atsrecon_last_run_candidates_linked 480\n"
    "# HELP atsrecon_last_run_accuracy_ratio Share of mapped values that agree between the ATS and Keap over the candidates in scope, before and after the last run's writes.\n"
    "# TYPE atsrecon_last_run_accuracy_ratio gauge\n"
    "atsrecon_last_run_accuracy_ratio{phase=\"before\"} 0.975\n"
    "atsrecon_last_run_accuracy_ratio{phase=\"after\"} 0.9925\n"
    "# HELP atsrecon_last_run_field_accuracy_ratio Share of candidates in scope whose Keap value of this field agrees with the ATS, after the last run's writes.\n"
    "# TYPE atsrecon_last_run_field_accuracy_ratio gauge\n"
    "atsrecon_last_run_field_accuracy_ratio{field=\"email:EMAIL1\"} 0.995833\n"
    "atsrecon_last_run_field_accuracy_ratio{field=\"custom:ATS Source\"} 1\n"
    "atsrecon_last_run_field_accuracy_ratio{field=\"stage_tag\"} 0.997917\n"
    "# HELP atsrecon_last_run_drift_rows Drift the last run found, by kind.\n"
    "# TYPE atsrecon_last_run_drift_rows gauge\n"
    "atsrecon_last_run_drift_rows{kind=\"missing_contact\"} 1\n"
    "atsrecon_last_run_drift_rows{kind=\"field_mismatch\"} 3\n"
    "atsrecon_last_run_drift_rows{kind=\"stage_tag_wrong\"} 0\n"
    "atsrecon_last_run_drift_rows{kind=\"stage_tag_multiple\"} 0\n"
    "atsrecon_last_run_drift_rows{kind=\"invalid_value\"} 0\n"
    "atsrecon_last_run_drift_rows{kind=\"duplicate_contacts\"} 0\n"
    "atsrecon_last_run_drift_rows{kind=\"deleted_in_ats\"} 0\n"
    "atsrecon_last_run_drift_rows{kind=\"anonymized\"} 0\n"
    "atsrecon_last_run_drift_rows{kind=\"merged_in_ats\"} 0\n"
    "atsrecon_last_run_drift_rows{kind=\"email_changed\"} 0\n"
    "atsrecon_last_run_drift_rows{kind=\"contact_deleted_in_keap\"} 0\n"
    "atsrecon_last_run_drift_rows{kind=\"write_failed\"} 1\n"
    "# HELP atsrecon_last_run_drift_actions What the last run did with the drift it found, by action.\n"
    "# TYPE atsrecon_last_run_drift_actions gauge\n"
    "atsrecon_last_run_drift_actions{action=\"repaired\"} 3\n"
    "atsrecon_last_run_drift_actions{action=\"failed\"} 2\n"
    "atsrecon_last_run_drift_actions{action=\"reported\"} 0\n"
    "atsrecon_last_run_drift_actions{action=\"planned\"} 0\n"
    "atsrecon_last_run_drift_actions{action=\"deferred\"} 0\n"
    "atsrecon_last_run_drift_actions{action=\"skipped\"} 0\n"
    "# HELP atsrecon_last_run_api_requests Keap API requests of the last run, by endpoint and status class.\n"
    "# TYPE atsrecon_last_run_api_requests gauge\n"
    "atsrecon_last_run_api_requests{endpoint=\"PATCH /v2/contacts/{id}\",class=\"2xx\"} 9\n"
    "atsrecon_last_run_api_requests{endpoint=\"PATCH /v2/contacts/{id}\",class=\"4xx\"} 1\n"
    "atsrecon_last_run_api_requests{endpoint=\"PATCH /v2/contacts/{id}\",class=\"429\"} 1\n"
    "atsrecon_last_run_api_requests{endpoint=\"PATCH /v2/contacts/{id}\",class=\"5xx\"} 0\n"
    "atsrecon_last_run_api_requests{endpoint=\"PATCH /v2/contacts/{id}\",class=\"transport\"} 0\n"
    "atsrecon_last_run_api_requests{endpoint=\"PATCH /v2/contacts/{id}\",class=\"other\"} 1\n"
    "# HELP atsrecon_last_run_http_retries Requests the last run sent again after a retryable failure.\n"
    "# TYPE atsrecon_last_run_http_retries gauge\n"
    "atsrecon_last_run_http_retries 2\n"
    "# HELP atsrecon_last_run_http_throttled_responses HTTP 429 (rate limited) answers the last run received.\n"
    "# TYPE atsrecon_last_run_http_throttled_responses gauge\n"
    "atsrecon_last_run_http_throttled_responses 1\n"
    "# HELP atsrecon_last_run_http_attempts HTTP request attempts the last run sent, retries included.\n"
    "# TYPE atsrecon_last_run_http_attempts gauge\n"
    "atsrecon_last_run_http_attempts 15\n"
    "# HELP atsrecon_last_run_http_wait_seconds Time the last run spent waiting in backoff and pacing.\n"
    "# TYPE atsrecon_last_run_http_wait_seconds gauge\n"
    "atsrecon_last_run_http_wait_seconds 1.500\n"
    "# HELP atsrecon_keap_quota_remaining Keap API requests left in the current quota at the end of the last run.\n"
    "# TYPE atsrecon_keap_quota_remaining gauge\n"
    "atsrecon_keap_quota_remaining 24990\n"
    "# HELP atsrecon_keap_refresh_token_expiry_timestamp_seconds When the stored Keap refresh token expires (Unix time).\n"
    "# TYPE atsrecon_keap_refresh_token_expiry_timestamp_seconds gauge\n"
    "atsrecon_keap_refresh_token_expiry_timestamp_seconds 1771495200.000\n";

static void
extra_of(struct metrics_extra *x, struct http_stats *hs)
{
	memset(hs, 0, sizeof(*hs));
	hs->requests = 15;
	hs->retries = 2;
	hs->waited_ms = 1500;
	memset(x, 0, sizeof(*x));
	x->exit_status = -1;
	x->duration_s = -1;
	x->quota_left = -1;
	x->last_success_ms = 1767607212345LL;
	x->token_expires_ms = 1771495200000LL;	/* 2026-02-19T10:00:00Z */
	x->http = hs;
}

/* The first line where a and b differ, for a readable failure. */
static void
show_diff(const char *got, const char *want)
{
	int line = 1;
	const char *g = got, *w = want;

	while (*g && *g == *w) {
		if (*g == '\n')
			line++;
		g++;
		w++;
	}
	if (*g == *w)
		return;
	while (g > got && g[-1] != '\n')
		g--;
	while (w > want && w[-1] != '\n')
		w--;
	printf("# line %d differs:\n#  got:  %.*s\n#  want: %.*s\n", line, (int)strcspn(g, "\n"), g,
	    (int)strcspn(w, "\n"), w);
}

static void
test_exact(void)
{
	struct report r;
	struct metrics_extra x;
	struct http_stats hs;
	struct buf b = BUF_INIT;

	build_report(&r);
	extra_of(&x, &hs);
	metrics_render(&r, &x, &b);
	CHECK(b.p != NULL && strcmp(b.p, expected) == 0);
	if (b.p != NULL)
		show_diff(b.p, expected);
	CHECK(b.len > 0 && b.p[b.len - 1] == '\n');	/* the last line ends with a line feed */

	/* without extras: what the report alone says; unknowns are left out */
	buf_reset(&b);
	r.quota_left = -1;
	r.exit_status = 6;
	metrics_render(&r, NULL, &b);
	CHECK_CONTAINS(b.p, "\natsrecon_last_run_exit_status 6\n");
	CHECK_CONTAINS(b.p, "\natsrecon_last_run_guard_tripped 1\n");	/* exit 6 is a guard */
	CHECK_CONTAINS(b.p, "\natsrecon_last_success_timestamp_seconds 0.000\n");
	CHECK_CONTAINS(b.p, "\natsrecon_last_run_duration_seconds 12.345\n");	/* from the report */
	CHECK(strstr(b.p, "atsrecon_keap_quota_remaining") == NULL);
	CHECK(strstr(b.p, "atsrecon_keap_refresh_token") == NULL);
	CHECK(strstr(b.p, "atsrecon_last_run_http_attempts") == NULL);

	/* extras override the report; a quota the report lacks comes from them */
	buf_reset(&b);
	x.exit_status = 5;
	x.duration_s = 0.25;
	x.quota_left = 7;
	x.guard_tripped = 0;
	metrics_render(&r, &x, &b);
	CHECK_CONTAINS(b.p, "\natsrecon_last_run_exit_status 5\n");
	CHECK_CONTAINS(b.p, "\natsrecon_last_run_duration_seconds 0.250\n");
	CHECK_CONTAINS(b.p, "\natsrecon_keap_quota_remaining 7\n");
	CHECK_CONTAINS(b.p, "\natsrecon_last_run_guard_tripped 0\n");
	/* an empty run: no per-field or per-endpoint family at all (no HELP without samples) */
	report_free(&r);
	report_init(&r, "dry-run");
	buf_reset(&b);
	metrics_render(&r, NULL, &b);
	CHECK(strstr(b.p, "field_accuracy") == NULL);
	CHECK(strstr(b.p, "api_requests") == NULL);
	CHECK_CONTAINS(b.p, "atsrecon_last_run_drift_rows{kind=\"missing_contact\"} 0\n");
	CHECK_CONTAINS(b.p, "atsrecon_last_run_candidates{state=\"deferred\"} 0\n");
	report_free(&r);
	buf_free(&b);
}

static void
test_escaping(void)
{
	struct buf b = BUF_INIT;
	struct report r;

	metrics_escape_label(&b, "plain");
	CHECK_STR(b.p, "plain");
	buf_reset(&b);
	metrics_escape_label(&b, "a\"b\\c\nd");
	CHECK_STR(b.p, "a\\\"b\\\\c\\nd");
	buf_reset(&b);
	metrics_escape_label(&b, "\\\"");	/* an escape that must not merge with the quote */
	CHECK_STR(b.p, "\\\\\\\"");
	buf_reset(&b);
	metrics_escape_label(&b, "caf\xc3\xa9 \xff\xfe end");	/* UTF-8 kept, junk replaced */
	CHECK_STR(b.p, "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd end");
	buf_reset(&b);
	metrics_escape_label(&b, "tab\there");	/* only \\ \" \n are escaped by the format */
	CHECK_STR(b.p, "tab\there");

	/* in context: a hostile field name, mode and endpoint cannot break a line */
	report_init(&r, "x\"} 1\nevil_metric 666\n#");
	report_field_count(&r, "custom:Quote\" and \\ and\nnewline", 1);
	r.api = xcalloc(1, sizeof(*r.api));
	r.api[0].endpoint = xstrdup("GET /a\"b");
	r.api[0].calls = r.api[0].ok = 1;
	r.napi = 1;
	buf_reset(&b);
	metrics_render(&r, NULL, &b);
	CHECK_CONTAINS(b.p, "atsrecon_last_run_info{mode=\"x\\\"} 1\\nevil_metric 666\\n#\"} 1\n");
	CHECK_CONTAINS(b.p, "{field=\"custom:Quote\\\" and \\\\ and\\nnewline\"} 1\n");
	CHECK_CONTAINS(b.p, "{endpoint=\"GET /a\\\"b\",class=\"2xx\"} 1\n");
	CHECK(strstr(b.p, "\nevil_metric") == NULL);
	{
		/* every line is a comment or starts with the prefix */
		const char *p = b.p;
		int bad = 0;
		while (p != NULL && *p) {
			if (*p != '#' && strncmp(p, "atsrecon_", 9) != 0)
				bad++;
			p = strchr(p, '\n');
			if (p != NULL)
				p++;
		}
		CHECK(bad == 0);
	}
	report_free(&r);
	buf_free(&b);
}

static void
test_urls(void)
{
	char *u;

	u = metrics_push_url("http://127.0.0.1:9091", "acme-prod_1.eu");
	CHECK_STR(u, "http://127.0.0.1:9091/metrics/job/atsrecon/instance/acme-prod_1.eu");
	free(u);
	u = metrics_push_url("https://pg.example/base//", "a/b c");	/* base64url, "YS9iIGM=" */
	CHECK_STR(u, "https://pg.example/base/metrics/job/atsrecon/instance@base64/YS9iIGM=");
	free(u);
	u = metrics_push_url("https://pg.example", "?\?>");	/* "Pz8+": + becomes - in base64url */
	CHECK_STR(u, "https://pg.example/metrics/job/atsrecon/instance@base64/Pz8-");
	free(u);
	u = metrics_push_url("https://pg.example", "");
	CHECK_STR(u, "https://pg.example/metrics/job/atsrecon/instance@base64/=");
	free(u);
	u = metrics_push_url("https://pg.example", "..");
	CHECK_STR(u, "https://pg.example/metrics/job/atsrecon/instance@base64/Li4=");
	free(u);
}

static enum rc
env_config(struct config *c, const char *const *vars)
{
	struct buf err = BUF_INIT;
	enum rc rc;

	config_init(c);
	rc = config_apply_env(c, (char *const *)vars, &err);
	if (rc != RC_OK)
		printf("# config: %s\n", err.p);
	buf_free(&err);
	return rc;
}

static void
test_instance(void)
{
	struct config c;
	char *s;
	const char *v1[] = { "ATSRECON_STATE_DIR=/var/lib/atsrecon/acme/", NULL };
	const char *v2[] = { "ATSRECON_STATE_DIR=/srv/x", "ATSRECON_METRICS_INSTANCE=tenant-7", NULL };

	CHECK(env_config(&c, v1) == RC_OK);
	s = metrics_instance(&c);
	CHECK_STR(s, "acme");
	free(s);
	config_free(&c);
	CHECK(env_config(&c, v2) == RC_OK);
	s = metrics_instance(&c);
	CHECK_STR(s, "tenant-7");
	free(s);
	config_free(&c);
	config_init(&c);
	s = metrics_instance(&c);	/* default state dir /var/lib/atsrecon */
	CHECK_STR(s, "atsrecon");
	free(s);
	config_free(&c);
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void
test_textfile(void)
{
	struct config c;
	struct report r;
	struct metrics_extra x;
	struct http_stats hs;
	struct buf file = BUF_INIT;
	struct stat st;
	char *path = xasprintf("%s/prom/atsrecon.prom", tmpdir);
	char *dir = xasprintf("%s/prom", tmpdir);
	char *var = xasprintf("ATSRECON_METRICS_TEXTFILE=%s", path);
	const char *vars[] = { var, NULL };
	const char *none[] = { NULL };

	mkdir(dir, 0755);
	build_report(&r);
	extra_of(&x, &hs);
	/* nothing configured: nothing written, RC_OK */
	CHECK(env_config(&c, none) == RC_OK);
	CHECK(metrics_emit(&c, &r, &x) == RC_OK);
	CHECK(count_entries(dir) == 0);
	config_free(&c);

	CHECK(env_config(&c, vars) == RC_OK);
	/* an old file is replaced whole */
	{
		FILE *f = fopen(path, "w");
		fputs("stale_metric 1\nstale_metric 2\nstale_metric 3\nstale_metric 4\n", f);
		fclose(f);
	}
	CHECK(metrics_emit(&c, &r, &x) == RC_OK);
	CHECK(read_file(path, 1 << 20, &file) == 0);
	CHECK(file.p != NULL && strcmp(file.p, expected) == 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);	/* node_exporter reads it */
	CHECK(count_entries(dir) == 1);	/* no temporary file left behind */
	config_free(&c);

	/* a directory that does not exist: an error the caller only logs */
	free(var);
	var = xasprintf("ATSRECON_METRICS_TEXTFILE=%s/missing/dir/atsrecon.prom", tmpdir);
	vars[0] = var;
	CHECK(env_config(&c, vars) == RC_OK);
	CHECK(metrics_emit(&c, &r, &x) == RC_STATE);
	config_free(&c);

	report_free(&r);
	buf_free(&file);
	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
	free(var);
}

/* A Pushgateway that is not there: RC_REMOTE, quickly, and the text file
 * configured next to it is still written. */
static void
test_push_unreachable(void)
{
	struct config c;
	struct report r;
	struct metrics_extra x;
	struct http_stats hs;
	char *path = xasprintf("%s/both.prom", tmpdir);
	char *var = xasprintf("ATSRECON_METRICS_TEXTFILE=%s", path);
	const char *vars[] = { "ATSRECON_METRICS_PUSHGATEWAY_URL=http://127.0.0.1:1", var, NULL };
	const char *bad[] = { "ATSRECON_METRICS_PUSHGATEWAY_URL=http://pushgateway.example:9091", NULL };
	struct stat st;
	int64_t t0;
	struct buf err = BUF_INIT;

	build_report(&r);
	extra_of(&x, &hs);
	CHECK(env_config(&c, vars) == RC_OK);
	t0 = mono_ms();
	CHECK(metrics_emit(&c, &r, &x) == RC_REMOTE);
	CHECK(mono_ms() - t0 < METRICS_PUSH_BUDGET_MS + 1000);
	CHECK(stat(path, &st) == 0 && st.st_size > 0);
	config_free(&c);
	/* plain http to a remote host is refused by the option itself */
	config_init(&c);
	CHECK(config_apply_env(&c, (char *const *)bad, &err) == RC_CONFIG);
	config_free(&c);
	buf_free(&err);
	report_free(&r);
	unlink(path);
	free(path);
	free(var);
}

/* tests/integration/metrics.sh: a textfile with hostile labels, and a push. */
static void
driver(void)
{
	const char *out = getenv("ATSRECON_TEST_METRICS_OUT");
	const char *pg = getenv("ATSRECON_TEST_PUSHGATEWAY");
	const char *inst = getenv("ATSRECON_TEST_METRICS_INSTANCE");
	const char *field = getenv("ATSRECON_TEST_METRICS_FIELD");
	struct config c;
	struct report r;
	struct metrics_extra x;
	struct http_stats hs;
	const char *vars[4] = { NULL, NULL, NULL, NULL };
	char *v1 = NULL, *v2 = NULL, *v3 = NULL;
	size_t n = 0;

	if (out == NULL && pg == NULL)
		return;
	if (out != NULL)
		vars[n++] = v1 = xasprintf("ATSRECON_METRICS_TEXTFILE=%s", out);
	if (pg != NULL)
		vars[n++] = v2 = xasprintf("ATSRECON_METRICS_PUSHGATEWAY_URL=%s", pg);
	if (inst != NULL)
		vars[n++] = v3 = xasprintf("ATSRECON_METRICS_INSTANCE=%s", inst);
	build_report(&r);
	report_field_count(&r, "custom:Quote\" back\\slash\nnew line \xff", 0);
	if (field != NULL)
		report_field_count(&r, field, 1);
	extra_of(&x, &hs);
	CHECK(env_config(&c, vars) == RC_OK);
	CHECK(metrics_emit(&c, &r, &x) == RC_OK);
	printf("# driver: metrics emitted (textfile %s, pushgateway %s)\n", out ? out : "-",
	    pg ? pg : "-");
	config_free(&c);
	report_free(&r);
	free(v1);
	free(v2);
	free(v3);
}

int
main(void)
{
	log_init(LOG_WARN, LOG_FMT_TEXT);
	if (mkdtemp(tmpdir) == NULL)
		return 2;
	test_exact();
	test_escaping();
	test_urls();
	test_instance();
	test_textfile();
	test_push_unreachable();
	driver();
	rmdir(tmpdir);
	return t_done("metrics");
}
