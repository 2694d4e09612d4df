/* report.c — see report.h. */
#define _POSIX_C_SOURCE 200809L
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"
#include "log.h"

void
report_init(struct report *r, const char *mode)
{
	char ts[32];
	int64_t now = now_ms();

	memset(r, 0, sizeof(*r));
	r->mode = mode;
	r->started_ms = now;
	r->quota_left = -1;
	fmt_rfc3339_ms(now, ts, sizeof(ts));
	/* time-ordered and unique enough for one tenant's runs */
	snprintf(r->run_id, sizeof(r->run_id), "%.4s%.2s%.2sT%.2s%.2s%.2s%.3sZ-%04x", ts, ts + 5,
	    ts + 8, ts + 11, ts + 14, ts + 17, ts + 20, (unsigned)(now & 0xffff));
}

void
report_free(struct report *r)
{
	size_t i;

	for (i = 0; i < r->nrows; i++) {
		struct report_row *w = &r->rows[i];
		free(w->kind);
		free(w->field);
		free(w->side);
		free(w->candidate);
		free(w->contact);
		free(w->desired);
		free(w->actual);
		free(w->action);
		free(w->error);
	}
	free(r->rows);
	for (i = 0; i < r->nfields; i++)
		free(r->fields[i].field);
	free(r->fields);
	{
		int g;
		for (g = 0; g < RG__MAX; g++) {
			for (i = 0; i < r->ngroups[g]; i++)
				free(r->groups[g][i].field);
			free(r->groups[g]);
		}
	}
	strv_free(r->notes, r->nnotes);
	for (i = 0; i < r->napi; i++)
		free(r->api[i].endpoint);
	free(r->api);
	free(r->trend);
	free(r->message);
	memset(r, 0, sizeof(*r));
}

static char *
dupn(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

struct report_row *
report_add_row(struct report *r, const char *kind, const char *field, const char *side,
    const char *candidate, const char *contact)
{
	struct report_row *w;

	r->rows = xrealloc(r->rows, (r->nrows + 1) * sizeof(*r->rows));
	w = &r->rows[r->nrows++];
	memset(w, 0, sizeof(*w));
	w->kind = xstrdup(kind);
	w->field = dupn(field);
	w->side = xstrdup(side ? side : "");
	w->candidate = dupn(candidate);
	w->contact = dupn(contact);
	w->action = xstrdup("reported");
	w->pii = field != NULL && (strncmp(field, "email", 5) == 0 || strncmp(field, "phone", 5) == 0);
	return w;
}

static void
count_in(struct report_field **v, size_t *n, const char *name, int agree)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i].field, name) == 0)
			break;
	if (i == *n) {
		*v = xrealloc(*v, (*n + 1) * sizeof(**v));
		(*v)[i].field = xstrdup(name);
		(*v)[i].agree = (*v)[i].total = 0;
		(*n)++;
	}
	(*v)[i].total++;
	(*v)[i].agree += agree != 0;
}

void
report_field_count(struct report *r, const char *field, int agree)
{
	count_in(&r->fields, &r->nfields, field, agree);
}

void
report_group_count(struct report *r, enum report_group g, const char *name, int agree)
{
	if (g == RG_FIELD)
		count_in(&r->fields, &r->nfields, name, agree);
	else
		count_in(&r->groups[g], &r->ngroups[g], name != NULL && *name ? name : "(none)", agree);
}

void
report_add_note(struct report *r, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	r->notes = xrealloc(r->notes, (r->nnotes + 1) * sizeof(char *));
	r->notes[r->nnotes++] = buf_take(&b);
}

void
report_mask(const char *v, struct buf *out)
{
	const char *at;
	size_t n;

	if (v == NULL)
		return;
	n = strlen(v);
	if ((at = strchr(v, '@')) != NULL && at > v) {
		buf_add(out, v, 1);
		buf_adds(out, "***");
		buf_adds(out, at);
		return;
	}
	if (v[0] == '+' && n > 8) {
		buf_add(out, v, 5);
		buf_adds(out, "***");
		buf_adds(out, v + n - 4);
		return;
	}
	buf_adds(out, v);
}

static void
add_value(cJSON *o, const char *key, const char *v, int mask)
{
	struct buf b = BUF_INIT;

	if (v == NULL) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	if (mask)
		report_mask(v, &b);
	else
		buf_adds(&b, v);
	cJSON_AddStringToObject(o, key, b.p ? b.p : "");
	buf_free(&b);
}

static double
pct(size_t a, size_t t)
{
	return t ? 100.0 * (double)a / (double)t : 100.0;
}

char *
report_json(const struct report *r, int mask_pii)
{
	cJSON *j = cJSON_CreateObject(), *run, *tot, *acc, *pf, *drift, *api, *by, *trend;
	char ts[32];
	char *out;
	size_t i;

	run = cJSON_AddObjectToObject(j, "run");
	cJSON_AddStringToObject(run, "id", r->run_id);
	fmt_rfc3339_ms(r->started_ms, ts, sizeof(ts));
	cJSON_AddStringToObject(run, "started", ts);
	fmt_rfc3339_ms(r->finished_ms, ts, sizeof(ts));
	cJSON_AddStringToObject(run, "finished", ts);
	cJSON_AddStringToObject(run, "mode", r->mode);
	cJSON_AddNumberToObject(run, "exit", r->exit_status);
	if (r->message != NULL)
		cJSON_AddStringToObject(run, "message", r->message);
	tot = cJSON_AddObjectToObject(j, "totals");
	cJSON_AddNumberToObject(tot, "candidates", (double)r->candidates);
	cJSON_AddNumberToObject(tot, "linked", (double)r->linked);
	cJSON_AddNumberToObject(tot, "in_sync", (double)r->in_sync);
	cJSON_AddNumberToObject(tot, "drifted", (double)r->drifted);
	cJSON_AddNumberToObject(tot, "repaired", (double)r->repaired);
	cJSON_AddNumberToObject(tot, "failed", (double)r->failed);
	cJSON_AddNumberToObject(tot, "deferred", (double)r->deferred);
	acc = cJSON_AddObjectToObject(j, "accuracy");
	cJSON_AddNumberToObject(acc, "before_pct", r->before_pct);
	cJSON_AddNumberToObject(acc, "after_pct", r->after_pct);
	pf = cJSON_AddArrayToObject(acc, "per_field");
	for (i = 0; i < r->nfields; i++) {
		cJSON *f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "field", r->fields[i].field);
		cJSON_AddNumberToObject(f, "agree", (double)r->fields[i].agree);
		cJSON_AddNumberToObject(f, "total", (double)r->fields[i].total);
		cJSON_AddNumberToObject(f, "pct", pct(r->fields[i].agree, r->fields[i].total));
		cJSON_AddItemToArray(pf, f);
	}
	{
		static const char *const gname[RG__MAX] = { NULL, "per_stage", "per_job" };
		static const char *const gkey[RG__MAX] = { NULL, "stage", "job" };
		int g;
		for (g = RG_STAGE; g < RG__MAX; g++) {
			cJSON *ga = cJSON_AddArrayToObject(acc, gname[g]);
			for (i = 0; i < r->ngroups[g]; i++) {
				const struct report_field *x = &r->groups[g][i];
				cJSON *f = cJSON_CreateObject();
				cJSON_AddStringToObject(f, gkey[g], x->field);
				cJSON_AddNumberToObject(f, "in_sync", (double)x->agree);
				cJSON_AddNumberToObject(f, "total", (double)x->total);
				cJSON_AddNumberToObject(f, "pct", pct(x->agree, x->total));
				cJSON_AddItemToArray(ga, f);
			}
		}
	}
	if (r->nnotes > 0) {
		cJSON *na = cJSON_AddArrayToObject(run, "notes");
		for (i = 0; i < r->nnotes; i++)
			cJSON_AddItemToArray(na, cJSON_CreateString(r->notes[i]));
	}
	drift = cJSON_AddArrayToObject(j, "drift");
	for (i = 0; i < r->nrows; i++) {
		const struct report_row *w = &r->rows[i];
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "kind", w->kind);
		add_value(d, "field", w->field, 0);
		cJSON_AddStringToObject(d, "side", w->side);
		add_value(d, "candidate", w->candidate, 0);
		add_value(d, "contact", w->contact, 0);
		add_value(d, "desired", w->desired, mask_pii && w->pii);
		add_value(d, "actual", w->actual, mask_pii && w->pii);
		cJSON_AddStringToObject(d, "action", w->action);
		add_value(d, "error", w->error, 0);
		cJSON_AddItemToArray(drift, d);
	}
	api = cJSON_AddObjectToObject(j, "api");
	by = cJSON_AddArrayToObject(api, "calls");
	for (i = 0; i < r->napi; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "endpoint", r->api[i].endpoint);
		cJSON_AddNumberToObject(e, "calls", (double)r->api[i].calls);
		cJSON_AddNumberToObject(e, "ok", (double)r->api[i].ok);
		cJSON_AddNumberToObject(e, "client_errors", (double)r->api[i].client_errors);
		cJSON_AddNumberToObject(e, "server_errors", (double)r->api[i].server_errors);
		cJSON_AddNumberToObject(e, "status_429", (double)r->api[i].status_429);
		cJSON_AddItemToArray(by, e);
	}
	cJSON_AddNumberToObject(api, "retries", (double)r->retries);
	cJSON_AddNumberToObject(api, "status_429", (double)r->s429);
	if (r->quota_left >= 0)
		cJSON_AddNumberToObject(api, "quota_left", (double)r->quota_left);
	else
		cJSON_AddNullToObject(api, "quota_left");
	trend = cJSON_AddArrayToObject(j, "trend");
	for (i = 0; i < r->ntrend; i++) {
		cJSON *t = cJSON_CreateObject();
		fmt_rfc3339_ms(r->trend[i].ts_ms, ts, sizeof(ts));
		cJSON_AddStringToObject(t, "at", ts);
		cJSON_AddNumberToObject(t, "after_pct", r->trend[i].pct);
		cJSON_AddItemToArray(trend, t);
	}
	out = cJSON_Print(j);
	cJSON_Delete(j);
	{
		/* cJSON_Print used its own allocator (ours): move into a plain string */
		char *copy = xstrdup(out);
		cJSON_free(out);
		out = copy;
	}
	return out;
}

/* Counts rows by kind, in the order kinds first appear. */
struct kind_count {
	const char *kind;
	size_t n, repaired, failed;
};

static size_t
count_kinds(const struct report *r, struct kind_count *kc, size_t max)
{
	size_t i, k, n = 0;

	for (i = 0; i < r->nrows; i++) {
		for (k = 0; k < n; k++)
			if (strcmp(kc[k].kind, r->rows[i].kind) == 0)
				break;
		if (k == n) {
			if (n == max)
				continue;
			kc[n].kind = r->rows[i].kind;
			kc[n].n = kc[n].repaired = kc[n].failed = 0;
			n++;
		}
		kc[k].n++;
		kc[k].repaired += strcmp(r->rows[i].action, "repaired") == 0;
		kc[k].failed += strcmp(r->rows[i].action, "failed") == 0;
	}
	return n;
}

void
report_markdown(const struct report *r, int mask_pii, struct buf *out)
{
	struct kind_count kc[32];
	size_t n, i, shown = 0;

	buf_addf(out, "### atsrecon run %s (%s) — exit %d\n\n", r->run_id, r->mode, r->exit_status);
	if (r->message != NULL) {
		buf_adds(out, "> ");
		text_escape(out, r->message, strlen(r->message));
		buf_adds(out, "\n\n");
	}
	for (i = 0; i < r->nnotes; i++) {
		buf_adds(out, "> note: ");
		text_escape(out, r->notes[i], strlen(r->notes[i]));
		buf_adds(out, "\n\n");
	}
	buf_addf(out, "**Accuracy:** %.1f %% before, **%.1f %%** after, over %zu linked candidates.\n\n",
	    r->before_pct, r->after_pct, r->linked);
	buf_addf(out, "| candidates | linked | in sync | drifted | repaired | failed | deferred |\n"
	    "|---:|---:|---:|---:|---:|---:|---:|\n| %zu | %zu | %zu | %zu | %zu | %zu | %zu |\n\n",
	    r->candidates, r->linked, r->in_sync, r->drifted, r->repaired, r->failed, r->deferred);
	n = count_kinds(r, kc, ARRAY_LEN(kc));
	if (n > 0) {
		buf_adds(out, "| drift | count | repaired | failed |\n|---|---:|---:|---:|\n");
		for (i = 0; i < n; i++)
			buf_addf(out, "| %s | %zu | %zu | %zu |\n", kc[i].kind, kc[i].n, kc[i].repaired,
			    kc[i].failed);
		buf_adds(out, "\n");
	}
	for (i = 0; i < r->nrows && shown < 10; i++) {
		const struct report_row *w = &r->rows[i];
		struct buf v = BUF_INIT;
		if (strcmp(w->action, "failed") != 0)
			continue;
		if (shown++ == 0)
			buf_adds(out, "Failed (retried next run):\n\n");
		buf_addf(out, "- %s %s %s: ", w->candidate ? w->candidate : "", w->kind,
		    w->field ? w->field : "");
		text_escape(&v, w->error ? w->error : "", strlen(w->error ? w->error : ""));
		buf_adds(out, v.p ? v.p : "");
		buf_adds(out, "\n");
		buf_free(&v);
	}
	(void)mask_pii;
	buf_addf(out, "\nAPI: %ld retries, %ld × 429%s\n", r->retries, r->s429,
	    r->quota_left >= 0 ? "" : "");
}

/* CSV cell: RFC 4180 quoting; a leading = + - @ is defused (spreadsheet formulas). */
static void
csv_cell(struct buf *b, const char *v, int mask)
{
	struct buf m = BUF_INIT;
	const char *s;

	if (v == NULL)
		v = "";
	if (mask) {
		report_mask(v, &m);
		v = m.p ? m.p : "";
	}
	buf_addc(b, '"');
	if (*v == '=' || *v == '+' || *v == '-' || *v == '@')
		buf_addc(b, '\'');
	for (s = v; *s != '\0'; s++) {
		if (*s == '"')
			buf_addc(b, '"');
		buf_addc(b, *s);
	}
	buf_addc(b, '"');
	buf_free(&m);
}

static void
csv(const struct report *r, int mask_pii, struct buf *out)
{
	size_t i;

	buf_adds(out, "kind,field,side,candidate,contact,desired,actual,action,error\r\n");
	for (i = 0; i < r->nrows; i++) {
		const struct report_row *w = &r->rows[i];
		csv_cell(out, w->kind, 0);
		buf_addc(out, ',');
		csv_cell(out, w->field, 0);
		buf_addc(out, ',');
		csv_cell(out, w->side, 0);
		buf_addc(out, ',');
		csv_cell(out, w->candidate, 0);
		buf_addc(out, ',');
		csv_cell(out, w->contact, 0);
		buf_addc(out, ',');
		csv_cell(out, w->desired, mask_pii && w->pii);
		buf_addc(out, ',');
		csv_cell(out, w->actual, mask_pii && w->pii);
		buf_addc(out, ',');
		csv_cell(out, w->action, 0);
		buf_addc(out, ',');
		csv_cell(out, w->error, 0);
		buf_adds(out, "\r\n");
	}
}

static void
html_text(struct buf *b, const char *s, int mask)
{
	struct buf m = BUF_INIT;

	if (s == NULL)
		return;
	if (mask) {
		report_mask(s, &m);
		s = m.p ? m.p : "";
	}
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '&': buf_adds(b, "&amp;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		case '\'': buf_adds(b, "&#39;"); break;
		default:
			if ((unsigned char)*s < 0x20)
				buf_addc(b, ' ');
			else
				buf_addc(b, *s);
		}
	}
	buf_free(&m);
}

static void
html(const struct report *r, int mask_pii, struct buf *out)
{
	struct kind_count kc[32];
	size_t n, i, k;
	const double w = 640, h = 160, pad = 30;

	buf_adds(out, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<title>atsrecon report</title>\n<style>\n"
	    "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}"
	    "h1{font-size:1.4em}table{border-collapse:collapse;margin:1em 0}"
	    "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}"
	    "th{background:#f3f3f3}.num{text-align:right}.failed{color:#b00}.repaired{color:#070}"
	    "svg{background:#fafafa;border:1px solid #ddd}\n</style></head><body>\n");
	buf_addf(out, "<h1>atsrecon run <code>%s</code></h1>\n<p>mode %s, exit %d", r->run_id, r->mode,
	    r->exit_status);
	if (r->message != NULL) {
		buf_adds(out, " — ");
		html_text(out, r->message, 0);
	}
	for (i = 0; i < r->nnotes; i++) {
		buf_adds(out, "</p>\n<p class=\"note\">note: ");
		html_text(out, r->notes[i], 0);
	}
	buf_addf(out, "</p>\n<p>Accuracy <b>%.1f %%</b> after the run (%.1f %% before) over %zu linked "
	    "candidates.</p>\n", r->after_pct, r->before_pct, r->linked);
	/* trend chart */
	buf_addf(out, "<h2>Agreement over the last %zu runs</h2>\n<svg id=\"trend\" xmlns=\"http://www.w3.org/2000/svg\" "
	    "width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-label=\"agreement trend\">\n", r->ntrend, w, h);
	buf_addf(out, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#999\"/>\n", pad,
	    h - pad, w - 10, h - pad);
	buf_addf(out, "<text x=\"2\" y=\"%.0f\" font-size=\"10\">100%%</text><text x=\"2\" y=\"%.0f\" "
	    "font-size=\"10\">0%%</text>\n", 14.0, h - pad);
	if (r->ntrend > 0) {
		buf_adds(out, "<polyline fill=\"none\" stroke=\"#2a6\" stroke-width=\"2\" points=\"");
		for (i = 0; i < r->ntrend; i++) {
			double x = pad + (r->ntrend > 1 ? (w - pad - 10) * (double)i / (double)(r->ntrend - 1) : 0);
			double y = (h - pad) - (h - pad - 10) * r->trend[i].pct / 100.0;
			buf_addf(out, "%.1f,%.1f ", x, y);
		}
		buf_adds(out, "\"/>\n");
	}
	buf_adds(out, "</svg>\n");
	/* totals */
	buf_addf(out, "<table id=\"totals\"><tr><th>candidates</th><th>linked</th><th>in sync</th>"
	    "<th>drifted</th><th>repaired</th><th>failed</th><th>deferred</th></tr>\n<tr><td class=\"num\">%zu"
	    "</td><td class=\"num\">%zu</td><td class=\"num\">%zu</td><td class=\"num\">%zu</td><td class=\"num\">%zu"
	    "</td><td class=\"num\">%zu</td><td class=\"num\">%zu</td></tr></table>\n", r->candidates,
	    r->linked, r->in_sync, r->drifted, r->repaired, r->failed, r->deferred);
	/* per field */
	buf_adds(out, "<h2>Agreement per field</h2>\n<table id=\"fields\"><tr><th>field</th><th>agree</th>"
	    "<th>total</th><th>%</th></tr>\n");
	for (i = 0; i < r->nfields; i++) {
		buf_adds(out, "<tr><td>");
		html_text(out, r->fields[i].field, 0);
		buf_addf(out, "</td><td class=\"num\">%zu</td><td class=\"num\">%zu</td><td class=\"num\">%.1f"
		    "</td></tr>\n", r->fields[i].agree, r->fields[i].total,
		    pct(r->fields[i].agree, r->fields[i].total));
	}
	buf_adds(out, "</table>\n");
	{
		static const char *const title[RG__MAX] = { NULL, "stage", "job" };
		int g;
		for (g = RG_STAGE; g < RG__MAX; g++) {
			buf_addf(out, "<h2>Candidates in sync per %s</h2>\n<table id=\"per-%s\"><tr><th>%s</th>"
			    "<th>in sync</th><th>total</th><th>%%</th></tr>\n", title[g], title[g], title[g]);
			for (i = 0; i < r->ngroups[g]; i++) {
				const struct report_field *x = &r->groups[g][i];
				buf_adds(out, "<tr><td>");
				html_text(out, x->field, 0);
				buf_addf(out, "</td><td class=\"num\">%zu</td><td class=\"num\">%zu</td><td "
				    "class=\"num\">%.1f</td></tr>\n", x->agree, x->total, pct(x->agree, x->total));
			}
			buf_adds(out, "</table>\n");
		}
	}
	buf_adds(out, "<h2>Drift</h2>\n<table id=\"drift\"><tr><th>kind</th><th>field</th>"
	    "<th>side</th><th>candidate</th><th>contact</th><th>ATS</th><th>Keap</th><th>action</th>"
	    "<th>error</th></tr>\n");
	/* grouped by kind */
	n = count_kinds(r, kc, ARRAY_LEN(kc));
	for (k = 0; k < n; k++)
		for (i = 0; i < r->nrows; i++) {
			const struct report_row *x = &r->rows[i];
			if (strcmp(x->kind, kc[k].kind) != 0)
				continue;
			buf_adds(out, "<tr><td>");
			html_text(out, x->kind, 0);
			buf_adds(out, "</td><td>");
			html_text(out, x->field, 0);
			buf_adds(out, "</td><td>");
			html_text(out, x->side, 0);
			buf_adds(out, "</td><td>");
			html_text(out, x->candidate, 0);
			buf_adds(out, "</td><td>");
			html_text(out, x->contact, 0);
			buf_adds(out, "</td><td>");
			html_text(out, x->desired, mask_pii && x->pii);
			buf_adds(out, "</td><td>");
			html_text(out, x->actual, mask_pii && x->pii);
			buf_addf(out, "</td><td class=\"%s\">", x->action);
			html_text(out, x->action, 0);
			buf_adds(out, "</td><td>");
			html_text(out, x->error, 0);
			buf_adds(out, "</td></tr>\n");
		}
	buf_adds(out, "</table>\n</body></html>\n");
}

enum rc
report_write(const struct report *r, const char *dir, int mask_pii)
{
	struct buf b = BUF_INIT, path = BUF_INIT;
	char *js;
	enum rc rc = RC_OK;
	int e = 0;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_error("report", "cannot create %s: %s", dir, strerror(errno));
		return RC_STATE;
	}
	js = report_json(r, mask_pii);
	buf_addf(&path, "%s/report.json", dir);
	e |= atomic_write(path.p, js, strlen(js), 0600);
	free(js);
	report_markdown(r, mask_pii, &b);
	buf_reset(&path);
	buf_addf(&path, "%s/report.md", dir);
	e |= atomic_write(path.p, b.p, b.len, 0600);
	buf_reset(&b);
	csv(r, mask_pii, &b);
	buf_reset(&path);
	buf_addf(&path, "%s/drift.csv", dir);
	e |= atomic_write(path.p, b.p, b.len, 0600);
	buf_reset(&b);
	html(r, mask_pii, &b);
	buf_reset(&path);
	buf_addf(&path, "%s/report.html", dir);
	e |= atomic_write(path.p, b.p, b.len, 0600);
	if (e != 0) {
		log_error("report", "cannot write the report into %s: %s", dir, strerror(errno));
		rc = RC_STATE;
	}
	buf_free(&b);
	buf_free(&path);
	return rc;
}
