/* Unit tests: report.c (masking by field kind, CSV formula defence, causes,
 * hostile values in every format, the run record) and period.c (the report
 * over a period, read from a runs table with 40 runs over 40 days). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "jtree.h"
#include "log.h"
#include "period.h"
#include "report.h"
#include "state.h"
#include "t.h"

static char tmp[] = "/tmp/atsrecon-report-XXXXXX";

/* The four files of r, mask on, concatenated per format. */
struct out {
	char *json, *md, *csv, *html;
};

static char *
slurp(const char *dir, const char *name)
{
	struct buf b = BUF_INIT, p = BUF_INIT;

	buf_addf(&p, "%s/%s", dir, name);
	if (read_file(p.p, 64u << 20, &b) != 0)
		buf_adds(&b, "");
	buf_free(&p);
	return buf_take(&b);
}

static void
render(const struct report *r, const char *sub, struct out *o)
{
	struct buf d = BUF_INIT;

	buf_addf(&d, "%s/%s", tmp, sub);
	CHECK(report_write(r, d.p, 1) == RC_OK);
	o->json = slurp(d.p, "report.json");
	o->md = slurp(d.p, "report.md");
	o->csv = slurp(d.p, "drift.csv");
	o->html = slurp(d.p, "report.html");
	buf_free(&d);
}

static void
out_free(struct out *o)
{
	free(o->json);
	free(o->md);
	free(o->csv);
	free(o->html);
}

static int
in_any(const struct out *o, const char *s)
{
	return strstr(o->json, s) || strstr(o->md, s) || strstr(o->csv, s) || strstr(o->html, s);
}

static size_t
row(struct report *r, const char *kind, const char *field, const char *cand, const char *desired,
    const char *action, const char *error)
{
	size_t w = report_add_row(r, kind, field, "ats_changed", cand, "70001");

	report_row_set_values(r, w, desired, NULL);
	report_row_set_action(r, w, action);
	report_row_set_error(r, w, error);
	return w;
}

/* defect 7: emails and phones are masked by the field's kind, whatever they look like */
static void
defect7_mask_by_kind(void)
{
	struct report r;
	struct out o;
	size_t w;

	report_init(&r, "run");
	w = row(&r, "invalid_value", "email:EMAIL1", "greenhouse:1", "jane.doe at gmail.com", "reported",
	    "not a valid email address");
	report_row_set_values(&r, w, "jane.doe at gmail.com", "jane.doe@gmail.com");
	row(&r, "invalid_value", "phone:PHONE1", "greenhouse:2", "(415) 555-0100 mobile", "reported",
	    "not a phone number (E.164 impossible)");
	row(&r, "field_mismatch", "phone:PHONE1", "greenhouse:3", "4155550199", "repaired", NULL);
	/* an export file keyed by email: the candidate's identity is an email */
	row(&r, "field_mismatch", "given_name", "file:ann.smith@example.org", "Ann", "repaired", NULL);
	row(&r, "field_mismatch", "given_name", "file:+1 (415) 555-0123", "Bo", "repaired", NULL);
	r.finished_ms = now_ms();
	render(&r, "d7", &o);
	CHECK(!in_any(&o, "jane.doe at gmail.com"));
	CHECK(!in_any(&o, "jane.doe@gmail.com"));
	CHECK(!in_any(&o, "555-0100"));
	CHECK(!in_any(&o, "4155550199"));
	CHECK(!in_any(&o, "ann.smith"));
	CHECK(!in_any(&o, "555-0123"));
	CHECK_CONTAINS(o.csv, "j***@gmail.com");
	CHECK_CONTAINS(o.json, "file:a***@example.org");
	/* other fields stay readable */
	CHECK_CONTAINS(o.csv, "\"Ann\"");
	out_free(&o);
	{
		struct buf b = BUF_INIT;
		report_mask("(415) 555-0100 mobile", &b);
		CHECK(strstr(b.p, "555") == NULL && strstr(b.p, "***") != NULL);
		buf_reset(&b);
		report_mask("+14155550100", &b);
		CHECK_STR(b.p, "+1415***0100");
		buf_free(&b);
	}
	report_free(&r);
}

/* defect 8: a leading TAB or CR (and full-width = + - @) is a formula too */
static void
defect8_csv_formula(void)
{
	static const char *const bad[] = { "\t=HYPERLINK(\"http://x\",\"a\")", "\r=1+1", "=1+1", "+1",
		"-1", "@SUM(A1)", "\xef\xbc\x9d" "1+1", "\xef\xbc\x8b" "1", "\xef\xbc\x8d" "1",
		"\xef\xbc\xa0" "SUM(A1)" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(bad); i++) {
		struct buf b = BUF_INIT;
		report_csv_cell(&b, bad[i], 0);
		CHECK(b.len > 2 && b.p[0] == '"' && b.p[1] == '\'');
		buf_free(&b);
	}
	{
		struct buf b = BUF_INIT;
		report_csv_cell(&b, "Meetups", 0);
		CHECK_STR(b.p, "\"Meetups\"");
		buf_free(&b);
	}
}

/* one unknown dropdown value on N candidates is ONE cause of N */
static void
causes(void)
{
	struct report r;
	struct report_cause *c;
	char key[32];
	size_t n, i;
	struct out o;

	report_init(&r, "run");
	for (i = 0; i < 104; i++) {
		snprintf(key, sizeof(key), "greenhouse:%zu", 100 + i);
		row(&r, "invalid_value", "custom:ATS Source", key, "Meetups", "reported",
		    "not one of the Keap field's options");
		report_field_count(&r, "custom:ATS Source", 0);
		report_field_count(&r, "given_name", 1);
	}
	for (i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "greenhouse:%zu", 500 + i);
		row(&r, "invalid_value", "stage_tag", key, "Offer", "reported",
		    "no tag is configured for this stage or status (stage_tags)");
	}
	for (i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "greenhouse:%zu", 600 + i);
		row(&r, "field_mismatch", "given_name", key, "X", "repaired", NULL);
	}
	row(&r, "field_mismatch", "job_title", "greenhouse:700", "CTO", "failed", "HTTP 503 unavailable");
	n = report_causes(&r, &c);
	CHECK(n == 3);
	CHECK(n > 0 && c[0].count == 104 && c[0].candidates == 104 && str_eq(c[0].value, "Meetups"));
	CHECK(n > 0 && c[0].who == CAUSE_PERSON && fabs(c[0].recover_pct - 50.0) < 0.01);
	CHECK(n > 0 && strstr(c[0].change, "\"map\": { \"Meetups\"") != NULL);
	CHECK(n > 1 && c[1].count == 3 && strstr(c[1].change, "by_stage") != NULL);
	CHECK(n > 2 && c[2].who == CAUSE_RETRY);
	report_causes_free(c, n);
	CHECK(!report_only_people_left(&r));	/* the 503 is retried */
	r.finished_ms = now_ms();
	render(&r, "causes", &o);
	CHECK_CONTAINS(o.html, "data-count=\"104\"");
	CHECK_CONTAINS(o.html, "<details>");
	CHECK_CONTAINS(o.md, "not an option of the Keap field");
	CHECK_CONTAINS(o.json, "\"recover_pct\":");
	out_free(&o);
	/* without the transient failure, only people are left */
	r.nrows--;
	r.rows.n--;	/* (its strings stay in the report's stores until report_free) */
	CHECK(report_only_people_left(&r));
	render(&r, "people", &o);
	CHECK_CONTAINS(o.md, "Everything atsrecon can repair is repaired");
	CHECK_CONTAINS(o.html, "id=\"only-people\"");
	out_free(&o);
	report_free(&r);
}

/* a report with one hostile value, in every format */
static void
hostile(const char *name, const char *value, const char *const *never, const char *csv_want,
    const char *md_want)
{
	struct report r;
	struct out o;
	size_t i;

	report_init(&r, "run");
	/* as a candidate name (given_name), a dropdown value (a cause title) and an error */
	row(&r, "field_mismatch", "given_name", "greenhouse:1", value, "reported", "owner keap: reported, "
	    "never written after create");
	row(&r, "invalid_value", "custom:ATS Source", "greenhouse:2", value, "reported",
	    "not one of the Keap field's options");
	row(&r, "field_mismatch", "given_name", "greenhouse:3", "x", "failed", value);
	report_add_note(&r, "%s", value);
	r.finished_ms = now_ms();
	render(&r, name, &o);
	for (i = 0; never[i] != NULL; i++) {
		if (strstr(o.html, never[i]) != NULL)
			printf("# %s: html holds %s\n", name, never[i]);
		CHECK(strstr(o.html, never[i]) == NULL);
		CHECK(strstr(o.md, never[i]) == NULL);
	}
	if (csv_want != NULL)
		CHECK_CONTAINS(o.csv, csv_want);
	if (md_want != NULL)
		CHECK_CONTAINS(o.md, md_want);
	{
		struct buf err = BUF_INIT;
		cJSON *j = json_parse(o.json, strlen(o.json), &err);
		CHECK(j != NULL);	/* valid JSON whatever the value */
		CHECK_STR(json_str(cJSON_GetArrayItem(json_get(j, "drift"), 0), "desired"), value);
		cJSON_Delete(j);
		buf_free(&err);
	}
	out_free(&o);
	report_free(&r);
}

static void
hostile_values(void)
{
	static const char *const script[] = { "<script>", "<img", NULL };
	static const char *const formula[] = { NULL };
	static const char *const pipes[] = { NULL };
	static const char *const ctl[] = { "\x1b", "\x07", "\x08", NULL };

	hostile("script", "<script>alert(1)</script><img src=x onerror=alert(2)>", script, NULL, "&lt;script&gt;");
	hostile("formula", "=HYPERLINK(\"http://evil.example/\",\"click\")", formula,
	    "\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"click\"\")\"", NULL);
	hostile("pipes", "a|b|c", pipes, NULL, "a\\|b\\|c");
	{
		/* no raw pipe from the value reaches a Markdown table cell */
		struct buf b = BUF_INIT;
		report_md_text(&b, "a|b|c", 0);
		CHECK(strstr(b.p, "a|b") == NULL);
		buf_free(&b);
	}
	hostile("control", "bad\x1b[31mred\x07\x08 name\r\nnext", ctl, NULL, NULL);
	{
		/* in the CSV: escape and bell are gone, the cell stays one cell */
		struct buf b = BUF_INIT;
		report_csv_cell(&b, "bad\x1b[31mred\x07", 0);
		CHECK(strchr(b.p, '\x1b') == NULL && strchr(b.p, '\x07') == NULL);
		buf_free(&b);
	}
}

/* the run record: old records load; new ones carry the trend's details */
static void
run_record(void)
{
	struct report r, t;
	struct buf rec = BUF_INIT;
	static const char old[] = "{\"finished_ms\":1700000000000,\"after_pct\":97.5,\"exit\":1,\"mode\":\"full\"}";

	report_init(&r, "run");
	r.before_pct = 90;
	r.after_pct = 95;
	r.full = 1;
	r.finished_ms = 1700000100000;
	report_field_count(&r, "custom:ATS Source", 0);
	report_field_count(&r, "custom:ATS Source", 1);
	report_run_record(&r, &rec);
	report_init(&t, "run");
	CHECK(report_trend_add(&t, old, strlen(old)) == 0);
	CHECK(report_trend_add(&t, rec.p, rec.len) == 0);
	CHECK(report_trend_add(&t, "{}", 2) == -1);
	CHECK(t.ntrend == 2);
	CHECK(t.ntrend == 2 && isnan(t.trend[0].before) && t.trend[0].full && t.trend[0].exit == 1);
	CHECK(t.ntrend == 2 && t.trend[1].before == 90 && t.trend[1].full);
	CHECK(t.nftrend == 1 && isnan(t.ftrend[0].pct[0]) && t.ftrend[0].pct[1] == 50);
	report_trend_keep(&t, 1);
	CHECK(t.ntrend == 1 && t.trend[0].pct == 95 && t.ftrend[0].pct[0] == 50);
	report_free(&t);
	report_free(&r);
	buf_free(&rec);
}

/* A run id of that time (the runs table's keys, as report_init makes them). */
static void
run_key(int64_t ms, char *key, size_t size)
{
	char ts[32];

	fmt_rfc3339_ms(ms, ts, sizeof(ts));
	snprintf(key, size, "%.4s%.2s%.2sT%.2s%.2s%.2s%.3sZ-0000", ts, ts + 5, ts + 8, ts + 11, ts + 14,
	    ts + 17, ts + 20);
}

/* 40 runs over 40 days; report --since 30d in the four formats */
static void
period(void)
{
	struct state *st = NULL;
	struct config cfg;
	struct buf dir = BUF_INIT, err = BUF_INIT;
	int64_t now = now_ms();
	static const char *const fmt[] = { "json", "md", "csv", "html" };
	size_t i, k;

	buf_addf(&dir, "%s/state", tmp);
	CHECK(state_open(dir.p, STATE_RW, &st) == RC_OK);
	for (i = 0; i < 40; i++) {
		struct report r;
		struct buf rec = BUF_INIT;
		char key[64];
		size_t c;
		report_init(&r, i % 7 == 0 ? "full" : "incremental");
		r.full = i % 7 == 0;
		r.started_ms = now - (int64_t)(40 - i) * 86400 * 1000;
		r.finished_ms = r.started_ms + 60000;
		r.exit_status = i == 33 ? 5 : 1;
		r.before_pct = 90 + (double)i / 8;
		r.after_pct = r.before_pct + 2;
		report_field_count(&r, "custom:ATS Source", i < 30);
		/* the dropdown cause disappears at day 30 (someone added the option) */
		if (i < 30)
			for (c = 0; c < 12; c++) {
				char ck[32];
				snprintf(ck, sizeof(ck), "greenhouse:%zu", 100 + c);
				row(&r, "invalid_value", "custom:ATS Source", ck, "Meetups", "reported",
				    "not one of the Keap field's options");
			}
		/* a stage without a tag, still open */
		row(&r, "invalid_value", "stage_tag", "greenhouse:9", "Offer | <b>", "reported",
		    "no tag is configured for this stage or status (stage_tags)");
		/* the same phone overwritten in Keap every day: recurring */
		row(&r, "field_mismatch", "phone:PHONE1", "greenhouse:77", "+14155550100", "repaired", NULL);
		report_row_set_side(&r, r.nrows - 1, "keap_edited");
		row(&r, "field_mismatch", "given_name", "greenhouse:1000", "A", "repaired", NULL);
		r.repaired = 2;
		report_run_record(&r, &rec);
		run_key(r.finished_ms, key, sizeof(key));
		CHECK(state_put(st, DB_RUNS, key, rec.p, rec.len) == RC_OK);
		buf_free(&rec);
		report_free(&r);
	}
	/* an old record (before v2) inside the period */
	{
		char old[160], key[40];
		snprintf(old, sizeof(old), "{\"finished_ms\":%lld,\"after_pct\":91,\"exit\":0,\"mode\":\"incremental\"}",
		    (long long)(now - 20LL * 86400 * 1000 + 5000));
		run_key(now - 20LL * 86400 * 1000 + 5000, key, sizeof(key));
		CHECK(state_put(st, DB_RUNS, key, old, strlen(old)) == RC_OK);
	}
	state_close(st);
	config_init(&cfg);
	CHECK(config_set_cli(&cfg, OPT_STATE_DIR, dir.p, &err) == RC_OK);
	CHECK(config_set_cli(&cfg, OPT_SINCE, "30d", &err) == RC_OK);
	for (k = 0; k < ARRAY_LEN(fmt); k++) {
		struct buf path = BUF_INIT;
		char *text;
		buf_addf(&path, "%s/period.%s", tmp, fmt[k]);
		CHECK(report_period(&cfg, fmt[k], path.p) == RC_OK);
		text = slurp(tmp, path.p + strlen(tmp) + 1);
		CHECK(text != NULL && strlen(text) > 100);
		if (strcmp(fmt[k], "json") == 0) {
			cJSON *j = json_parse(text, strlen(text), &err);
			const cJSON *ca = json_get(j, "causes"), *c;
			int64_t runs = 0;
			int open_stage = 0, fixed_meetups = 0;
			json_int(json_get(j, "period"), "runs", &runs);
			CHECK(runs == 31);	/* 30 new ones in the last 30 days, and the old one */
			CHECK(cJSON_GetArraySize(json_get(j, "weeks")) == 5);
			cJSON_ArrayForEach(c, ca) {
				if (str_eq(json_str(c, "value"), "Offer | <b>") && cJSON_IsTrue(json_get(c, "open")))
					open_stage = 1;
				if (str_eq(json_str(c, "value"), "Meetups") && !cJSON_IsTrue(json_get(c, "open")) &&
				    cJSON_IsNumber(json_get(c, "hours_to_repair")))
					fixed_meetups = 1;
			}
			CHECK(open_stage);
			CHECK(fixed_meetups);
			CHECK(cJSON_GetArraySize(json_get(json_get(j, "recurring"), "by_field")) >= 1);
			{
				const cJSON *by = json_get(json_get(j, "recurring"), "by_field"), *e;
				int phone_k = 0;
				cJSON_ArrayForEach(e, by)
					phone_k |= str_eq(json_str(e, "field"), "phone:PHONE1") &&
					    str_eq(json_str(e, "side"), "k");
				CHECK(phone_k);	/* overwritten in Keap, named as such */
			}
			cJSON_Delete(j);
		} else if (strcmp(fmt[k], "md") == 0) {
			CHECK_CONTAINS(text, "Still needs a person");
			CHECK_CONTAINS(text, "Offer \\| &lt;b&gt;");
			CHECK_CONTAINS(text, "process problem");
			CHECK_CONTAINS(text, "keeps overwriting it");
		} else if (strcmp(fmt[k], "csv") == 0) {
			size_t lines = 0;
			const char *s;
			for (s = text; *s; s++)
				lines += *s == '\n';
			CHECK(lines == 32);
		} else {
			CHECK_CONTAINS(text, "class=\"date\"");
			CHECK_CONTAINS(text, "id=\"causes\"");
			CHECK_CONTAINS(text, "Offer | &lt;b&gt;");
			CHECK(strstr(text, "<b>\"") == NULL);
			CHECK_CONTAINS(text, "class=\"failed-run\"");
			CHECK_CONTAINS(text, "class=\"full\"");
		}
		free(text);
		buf_free(&path);
	}
	/* a bad period is a usage error */
	config_set_cli(&cfg, OPT_FROM, "2026-13-01", &err);
	CHECK(report_period(&cfg, "md", NULL) == RC_USAGE);
	config_free(&cfg);
	buf_free(&dir);
	buf_free(&err);
}

/* Many rows: report.json and drift.csv are written in pieces (64 kB at a
 * time); each is whole, in order, and report_json gives the same text. */
static void
streamed(void)
{
	struct report r;
	struct out o;
	struct buf err = BUF_INIT;
	cJSON *j;
	char *text;
	const cJSON *d;
	size_t i, n = 0, lines = 0;
	int ordered = 1;

	report_init(&r, "run");
	for (i = 0; i < 3000; i++) {
		char cand[32], val[48];
		snprintf(cand, sizeof(cand), "greenhouse:%zu", i);
		snprintf(val, sizeof(val), "Surname%zu \"x\"\n", i);
		row(&r, "field_mismatch", "family_name", cand, val, "planned", NULL);
	}
	r.finished_ms = now_ms();
	render(&r, "streamed", &o);
	j = json_parse(o.json, strlen(o.json), &err);
	CHECK(j != NULL);
	cJSON_ArrayForEach(d, json_get(j, "drift")) {
		char want[32];
		snprintf(want, sizeof(want), "greenhouse:%zu", n);
		ordered &= str_eq(json_str(d, "candidate"), want);
		n++;
	}
	CHECK(n == 3000 && ordered);
	CHECK(strlen(o.json) > 3 * 65536);
	for (i = 0; o.csv[i] != '\0'; i++)
		lines += o.csv[i] == '\r' && o.csv[i + 1] == '\n';	/* rows end in CRLF */
	CHECK(lines == 3001 && strlen(o.csv) > 65536);
	CHECK_CONTAINS(o.csv, "greenhouse:2999");
	text = report_json(&r, 1);
	CHECK(strcmp(text, o.json) == 0);
	free(text);
	cJSON_Delete(j);
	buf_free(&err);
	out_free(&o);
	report_free(&r);
}

/* The rows' candidates and contacts are packed in the report's blocks: many
 * rows across block ends, and one candidate longer than a block's quarter,
 * read back intact (ASan: no write past a block). */
static void
row_texts(void)
{
	struct report r;
	char cand[40], *big = xmalloc(20001);
	size_t i, bad = 0;
	struct report_row view;

	report_init(&r, "run");
	memset(big, 'x', 20000);
	big[20000] = '\0';
	for (i = 0; i < 6000; i++) {
		snprintf(cand, sizeof(cand), "greenhouse:%zu", i);
		report_add_row(&r, "field_mismatch", "given_name", "ats_changed",
		    i == 3000 ? big : cand, i % 2 ? "7001" : NULL);
	}
	for (i = 0; i < 6000; i++) {
		snprintf(cand, sizeof(cand), "greenhouse:%zu", i);
		bad += strcmp(report_row(&r, i, &view)->candidate, i == 3000 ? big : cand) != 0;
		bad += i % 2 ? !str_eq(view.contact, "7001") : view.contact != NULL;
		bad += !str_eq(view.kind, "field_mismatch") || !str_eq(view.field, "given_name") ||
		    !str_eq(view.action, "reported") || view.desired != NULL || view.error != NULL;
	}
	CHECK(bad == 0);
	CHECK(r.own.nblocks == 3);	/* (6,000 ids of ~16 bytes: two blocks, and the long one) */
	CHECK(r.words.n == 4 && r.rows.nchunk == 6);	/* kind, field, side, action: once */
	report_free(&r);
	free(big);
}

int
main(void)
{
	json_init();
	log_init(LOG_OFF, LOG_FMT_TEXT);
	if (mkdtemp(tmp) == NULL)
		return 1;
	printf("# row_texts\n");
	row_texts();
	printf("# defect7_mask_by_kind\n");
	defect7_mask_by_kind();
	printf("# defect8_csv_formula\n");
	defect8_csv_formula();
	printf("# causes\n");
	causes();
	printf("# hostile_values\n");
	hostile_values();
	printf("# run_record\n");
	run_record();
	printf("# period\n");
	period();
	printf("# streamed\n");
	streamed();
	if (getenv("KEEP") == NULL) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
		if (system(cmd) != 0)
			return 1;
	} else
		printf("# kept %s\n", tmp);
	return t_done("report");
}
