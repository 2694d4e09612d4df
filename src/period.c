/*
 * period.c — `atsrecon report --since 30d` (or --from/--to): the monthly
 * data-quality audit, built from the runs table alone (report.h's run
 * record). The records are streamed in time order; memory is bounded by the
 * caps below, not by the number of runs:
 *   - the trend keeps at most PERIOD_POINTS points (halved by dropping every
 *     other one when full: the chart keeps the period's shape);
 *   - weeks: one bucket per 7 days of the period (at most PERIOD_WEEKS);
 *   - causes: the PERIOD_CAUSES first distinct ones (kind + field + value);
 *   - recurring drift: a table of (candidate, field) pairs, at most
 *     PERIOD_PAIRS (further pairs are counted as "not tracked");
 *   - the CSV has one row per run, written as the records stream.
 * Records written before the run record grew (finished_ms, after_pct, exit,
 * mode only) count in the trend and the run counts; the rest needs v2.
 */
#define _POSIX_C_SOURCE 200809L
#include "period.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jtree.h"
#include "log.h"
#include "report.h"
#include "state.h"

#define PERIOD_POINTS 400
#define PERIOD_WEEKS 530
#define PERIOD_CAUSES 200
#define PERIOD_PAIRS 50000
#define PERIOD_KINDS 16
#define RECURRING_MIN 3		/* repaired in this many runs: a process problem */

struct pcause {
	char *kind, *field, *value, *title, *who;
	int64_t first_ms, last_ms, resolved_ms;
	size_t runs, last_count, max_count, reopened;
};

struct pair {
	char *key;		/* candidate \x1f field */
	unsigned runs;
	char side;		/* a: ATS changed, k: Keap edited, b: both */
};

struct week {
	size_t runs, failed_runs;
	double last_after;
	size_t by_kind[PERIOD_KINDS];
	size_t repaired;
};

struct period {
	int64_t from_ms, to_ms;
	size_t runs, v2, failed_runs, full_runs, record_failures;
	double start_pct, end_pct;
	int have_start;
	int64_t first_ms, last_ms, last_v2_ms;
	double dur_sum;
	size_t ndur;
	struct report tr;			/* trend and per-field trend only */
	size_t stride, skip;			/* trend thinning */
	struct week *weeks;
	size_t nweeks;
	char *kinds[PERIOD_KINDS];
	size_t nkinds;
	struct pcause *causes;
	size_t ncauses;
	struct pair *pairs;			/* open addressing, cap 2 * PERIOD_PAIRS slots */
	size_t npairs, pair_cap, untracked;
	size_t repaired_total;
	struct buf csv;
	int mask;
};

static uint64_t
fnv(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct pair *
pair_get(struct period *p, const char *key)
{
	size_t i;

	if (p->pairs == NULL) {
		p->pair_cap = 1024;
		p->pairs = xcalloc(p->pair_cap, sizeof(*p->pairs));
	}
	for (i = fnv(key) & (p->pair_cap - 1); p->pairs[i].key != NULL; i = (i + 1) & (p->pair_cap - 1))
		if (strcmp(p->pairs[i].key, key) == 0)
			return &p->pairs[i];
	if (p->npairs >= PERIOD_PAIRS)
		return NULL;
	if (2 * (p->npairs + 1) > p->pair_cap) {
		struct pair *old = p->pairs;
		size_t oc = p->pair_cap, k;
		p->pair_cap *= 2;
		p->pairs = xcalloc(p->pair_cap, sizeof(*p->pairs));
		for (k = 0; k < oc; k++) {
			if (old[k].key == NULL)
				continue;
			for (i = fnv(old[k].key) & (p->pair_cap - 1); p->pairs[i].key != NULL;
			    i = (i + 1) & (p->pair_cap - 1))
				;
			p->pairs[i] = old[k];
		}
		free(old);
		for (i = fnv(key) & (p->pair_cap - 1); p->pairs[i].key != NULL; i = (i + 1) & (p->pair_cap - 1))
			;
	}
	p->pairs[i].key = xstrdup(key);
	p->pairs[i].runs = 0;
	p->pairs[i].side = 0;
	p->npairs++;
	return &p->pairs[i];
}

static const char *
jstr(const cJSON *a, int i)
{
	const cJSON *v = cJSON_GetArrayItem(a, i);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double
jnum(const cJSON *o, const char *k, double def)
{
	const cJSON *v = json_get(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static size_t
kind_index(struct period *p, const char *kind)
{
	size_t i;

	for (i = 0; i < p->nkinds; i++)
		if (strcmp(p->kinds[i], kind) == 0)
			return i;
	if (p->nkinds == PERIOD_KINDS)
		return PERIOD_KINDS - 1;	/* the rest share the last column */
	p->kinds[p->nkinds] = xstrdup(kind);
	return p->nkinds++;
}

static void
csv_row(struct period *p, const cJSON *j, int64_t ts, double after, int ex)
{
	char d[32];
	const cJSON *m = json_get(j, "mode");

	fmt_rfc3339_ms(ts, d, sizeof(d));
	buf_addf(&p->csv, "%s,", d);
	report_csv_cell(&p->csv, cJSON_IsString(m) ? m->valuestring : "", 0);
	buf_addf(&p->csv, ",%s,%d,", jnum(j, "full", 0) != 0 || str_eq(json_str(j, "mode"), "full") ?
	    "yes" : "no", ex);
	if (isnan(jnum(j, "before_pct", NAN)))
		buf_adds(&p->csv, ",");
	else
		buf_addf(&p->csv, "%.1f,", jnum(j, "before_pct", 0));
	buf_addf(&p->csv, "%.1f,", after);
	if (json_get(j, "v") == NULL)
		buf_adds(&p->csv, ",,,\r\n");
	else
		buf_addf(&p->csv, "%.0f,%.0f,%.0f,%.0f\r\n", jnum(j, "drifted", 0), jnum(j, "repaired", 0),
		    jnum(j, "failed", 0), jnum(j, "deferred", 0));
}

static void
add_causes(struct period *p, const cJSON *causes, int64_t ts)
{
	const cJSON *c;
	size_t i;

	cJSON_ArrayForEach(c, causes) {
		const char *kind = jstr(c, 0), *field = jstr(c, 1), *value = jstr(c, 2), *title = jstr(c, 3);
		const char *who = jstr(c, 5);
		const cJSON *n = cJSON_GetArrayItem(c, 4);
		struct pcause *pc = NULL;

		if (kind == NULL || title == NULL || who == NULL || !cJSON_IsNumber(n))
			continue;
		for (i = 0; i < p->ncauses; i++)
			if (strcmp(p->causes[i].kind, kind) == 0 && str_eq(p->causes[i].field, field) &&
			    str_eq(p->causes[i].value, value) && strcmp(p->causes[i].title, title) == 0)
				pc = &p->causes[i];
		if (pc == NULL) {
			if (p->ncauses == PERIOD_CAUSES)
				continue;
			p->causes = xrealloc(p->causes, (p->ncauses + 1) * sizeof(*p->causes));
			pc = &p->causes[p->ncauses++];
			memset(pc, 0, sizeof(*pc));
			pc->kind = xstrdup(kind);
			pc->field = field ? xstrdup(field) : NULL;
			pc->value = value ? xstrdup(value) : NULL;
			pc->title = xstrdup(title);
			pc->who = xstrdup(who);
			pc->first_ms = ts;
		}
		if (pc->resolved_ms != 0) {
			pc->reopened++;		/* came back after it was gone */
			pc->resolved_ms = 0;
		}
		pc->last_ms = ts;
		pc->runs++;
		pc->last_count = (size_t)n->valuedouble;
		if (pc->last_count > pc->max_count)
			pc->max_count = pc->last_count;
	}
	/* a cause absent from a complete run is resolved at that run */
	for (i = 0; i < p->ncauses; i++)
		if (p->causes[i].last_ms < ts && p->causes[i].resolved_ms == 0)
			p->causes[i].resolved_ms = ts;
}

static enum rc
period_one(void *arg, const char *key, size_t klen, const void *val, size_t vlen)
{
	struct period *p = arg;
	struct buf err = BUF_INIT;
	cJSON *j;
	int64_t ts = 0;
	double after;
	int ex;

	(void)key;
	(void)klen;
	j = json_parse(val, vlen, &err);
	buf_free(&err);
	if (j == NULL || json_int(j, "finished_ms", &ts) != 0 || !cJSON_IsNumber(json_get(j, "after_pct")) ||
	    ts < p->from_ms || ts >= p->to_ms) {
		cJSON_Delete(j);
		return RC_OK;
	}
	after = jnum(j, "after_pct", 0);
	ex = (int)jnum(j, "exit", 0);
	p->runs++;
	if (p->runs == 1)
		p->first_ms = ts;
	p->last_ms = ts;
	if (ex >= 2)
		p->failed_runs++;
	else if (ex == 1)
		p->record_failures++;
	if (jnum(j, "full", 0) != 0 || str_eq(json_str(j, "mode"), "full"))
		p->full_runs++;
	if (!p->have_start && ex < 2) {
		p->start_pct = isnan(jnum(j, "before_pct", NAN)) ? after : jnum(j, "before_pct", 0);
		p->have_start = 1;
	}
	if (ex < 2)
		p->end_pct = after;
	/* the trend: every stride-th run; when full, halve it */
	if (p->skip++ % p->stride == 0) {
		report_trend_add(&p->tr, val, vlen);
		if (p->tr.ntrend >= PERIOD_POINTS) {
			size_t i, k, o = 0;
			for (i = 0; i < p->tr.ntrend; i += 2, o++) {
				p->tr.trend[o] = p->tr.trend[i];
				for (k = 0; k < p->tr.nftrend; k++)
					p->tr.ftrend[k].pct[o] = p->tr.ftrend[k].pct[i];
			}
			p->tr.ntrend = o;
			p->stride *= 2;
		}
	}
	{
		size_t w = (size_t)((ts - p->from_ms) / (7LL * 86400 * 1000));
		if (w < p->nweeks) {
			struct week *wk = &p->weeks[w];
			const cJSON *kinds = json_get(j, "kinds"), *e;
			wk->runs++;
			wk->failed_runs += ex >= 2;
			if (ex < 2)
				wk->last_after = after;
			cJSON_ArrayForEach(e, kinds) {
				const cJSON *rep = cJSON_GetArrayItem(e, 1);
				if (e->string != NULL && cJSON_IsNumber(rep) && rep->valuedouble > 0) {
					wk->by_kind[kind_index(p, e->string)] += (size_t)rep->valuedouble;
					wk->repaired += (size_t)rep->valuedouble;
					p->repaired_total += (size_t)rep->valuedouble;
				}
			}
		}
	}
	if (json_get(j, "v") != NULL) {
		const cJSON *rep = json_get(j, "rep"), *e;
		double started = jnum(j, "started_ms", 0);
		p->v2++;
		if (started > 0 && (double)ts >= started) {
			p->dur_sum += ((double)ts - started) / 1000.0;
			p->ndur++;
		}
		if (ex < 2) {
			add_causes(p, json_get(j, "causes"), ts);
			p->last_v2_ms = ts;
		}
		cJSON_ArrayForEach(e, rep) {
			const char *cand = jstr(e, 0), *field = jstr(e, 1), *side = jstr(e, 2);
			struct buf k = BUF_INIT;
			struct pair *pr;
			if (cand == NULL || field == NULL)
				continue;
			buf_addf(&k, "%s\x1f%s", cand, field);
			if ((pr = pair_get(p, k.p)) != NULL) {
				char s = side == NULL ? 0 : strcmp(side, "keap_edited") == 0 ? 'k' :
				    strcmp(side, "ats_changed") == 0 ? 'a' : strcmp(side, "both") == 0 ? 'b' : 0;
				pr->runs++;
				if (s != 0)
					pr->side = pr->side == 0 || pr->side == s ? s : 'b';
			} else
				p->untracked++;
			buf_free(&k);
		}
	}
	csv_row(p, j, ts, after, ex);
	cJSON_Delete(j);
	return RC_OK;
}

/* Recurring drift, summarised per field and side. */
struct recur {
	char field[128];
	char side;
	size_t candidates, repairs;
	const char *example;
};

static size_t
recurring(const struct period *p, struct recur *v, size_t max, size_t *npairs)
{
	size_t i, k, n = 0;

	*npairs = 0;
	for (i = 0; i < p->pair_cap; i++) {
		const struct pair *pr = &p->pairs[i];
		const char *sep;
		if (pr->key == NULL || pr->runs < RECURRING_MIN || (sep = strchr(pr->key, '\x1f')) == NULL)
			continue;
		(*npairs)++;
		for (k = 0; k < n; k++)
			if (strcmp(v[k].field, sep + 1) == 0 && v[k].side == pr->side)
				break;
		if (k == n) {
			if (n == max)
				continue;
			memset(&v[n], 0, sizeof(v[n]));
			str_copy(v[n].field, sizeof(v[n].field), sep + 1);
			v[n].side = pr->side;
			v[n].example = pr->key;
			n++;
		}
		v[k].candidates++;
		v[k].repairs += pr->runs;
	}
	return n;
}

static const char *
side_words(char s)
{
	switch (s) {
	case 'k': return "edited in Keap after every repair: a person, an import or an automation in Keap "
	    "keeps overwriting it";
	case 'a': return "changed in the ATS again and again: the source data keeps flipping (an "
	    "integration or a duplicate record upstream)";
	case 'b': return "changed on both sides: two processes own this field";
	default: return "drifts again after every repair";
	}
}

static void
fmt_dur(double s, char *out, size_t size)
{
	if (s < 120)
		snprintf(out, size, "%.0f s", s);
	else if (s < 7200)
		snprintf(out, size, "%.0f min", s / 60);
	else if (s < 2 * 86400)
		snprintf(out, size, "%.1f h", s / 3600);
	else
		snprintf(out, size, "%.1f days", s / 86400);
}

static void
day(int64_t ms, char *out, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%d", &tm);
}

static int
cause_cmp(const void *a, const void *b)
{
	const struct pcause *x = a, *y = b;
	int xo = x->resolved_ms == 0, yo = y->resolved_ms == 0;

	if (xo != yo)
		return yo - xo;
	if (x->last_count != y->last_count)
		return x->last_count < y->last_count ? 1 : -1;
	return strcmp(x->title, y->title);
}

/* ------------------------------------------------------------- writers */

static void
candidate_of(const struct period *p, const char *pairkey, struct buf *out)
{
	const char *sep = strchr(pairkey, '\x1f');
	char *c = xstrndup(pairkey, sep ? (size_t)(sep - pairkey) : strlen(pairkey));

	report_candidate(out, c, p->mask);
	free(c);
}

static void
write_json(struct period *p, struct buf *out)
{
	cJSON *j = cJSON_CreateObject(), *per, *acc, *wk, *ca, *rc, *tr;
	struct recur rv[64];
	size_t nr, npairs, i, k;
	char d[32];
	char *txt;

	per = cJSON_AddObjectToObject(j, "period");
	fmt_rfc3339_ms(p->from_ms, d, sizeof(d));
	cJSON_AddStringToObject(per, "from", d);
	fmt_rfc3339_ms(p->to_ms, d, sizeof(d));
	cJSON_AddStringToObject(per, "to", d);
	cJSON_AddNumberToObject(per, "runs", (double)p->runs);
	cJSON_AddNumberToObject(per, "runs_detailed", (double)p->v2);
	cJSON_AddNumberToObject(per, "full_sweeps", (double)p->full_runs);
	cJSON_AddNumberToObject(per, "failed_runs", (double)p->failed_runs);
	cJSON_AddNumberToObject(per, "runs_with_record_failures", (double)p->record_failures);
	acc = cJSON_AddObjectToObject(j, "accuracy");
	if (p->have_start) {
		cJSON_AddNumberToObject(acc, "start_pct", p->start_pct);
		cJSON_AddNumberToObject(acc, "end_pct", p->end_pct);
	} else {
		cJSON_AddNullToObject(acc, "start_pct");
		cJSON_AddNullToObject(acc, "end_pct");
	}
	cJSON_AddNumberToObject(j, "repaired", (double)p->repaired_total);
	wk = cJSON_AddArrayToObject(j, "weeks");
	for (i = 0; i < p->nweeks; i++) {
		cJSON *o = cJSON_CreateObject(), *bk;
		fmt_rfc3339_ms(p->from_ms + (int64_t)i * 7 * 86400 * 1000, d, sizeof(d));
		cJSON_AddStringToObject(o, "from", d);
		cJSON_AddNumberToObject(o, "runs", (double)p->weeks[i].runs);
		cJSON_AddNumberToObject(o, "failed_runs", (double)p->weeks[i].failed_runs);
		cJSON_AddNumberToObject(o, "repaired", (double)p->weeks[i].repaired);
		bk = cJSON_AddObjectToObject(o, "repaired_by_kind");
		for (k = 0; k < p->nkinds; k++)
			if (p->weeks[i].by_kind[k] > 0)
				cJSON_AddNumberToObject(bk, p->kinds[k], (double)p->weeks[i].by_kind[k]);
		cJSON_AddItemToArray(wk, o);
	}
	ca = cJSON_AddArrayToObject(j, "causes");
	for (i = 0; i < p->ncauses; i++) {
		const struct pcause *c = &p->causes[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "title", c->title);
		cJSON_AddStringToObject(o, "who", c->who);
		cJSON_AddStringToObject(o, "kind", c->kind);
		if (c->field)
			cJSON_AddStringToObject(o, "field", c->field);
		if (c->value)
			cJSON_AddStringToObject(o, "value", c->value);
		fmt_rfc3339_ms(c->first_ms, d, sizeof(d));
		cJSON_AddStringToObject(o, "first_seen", d);
		fmt_rfc3339_ms(c->last_ms, d, sizeof(d));
		cJSON_AddStringToObject(o, "last_seen", d);
		cJSON_AddBoolToObject(o, "open", c->resolved_ms == 0);
		if (c->resolved_ms != 0)
			cJSON_AddNumberToObject(o, "hours_to_repair", (double)(c->resolved_ms - c->first_ms) / 3.6e6);
		cJSON_AddNumberToObject(o, "runs", (double)c->runs);
		cJSON_AddNumberToObject(o, "candidates", (double)c->last_count);
		cJSON_AddNumberToObject(o, "reopened", (double)c->reopened);
		cJSON_AddItemToArray(ca, o);
	}
	rc = cJSON_AddObjectToObject(j, "recurring");
	nr = recurring(p, rv, ARRAY_LEN(rv), &npairs);
	cJSON_AddNumberToObject(rc, "min_runs", RECURRING_MIN);
	cJSON_AddNumberToObject(rc, "pairs", (double)npairs);
	cJSON_AddNumberToObject(rc, "untracked", (double)p->untracked);
	{
		cJSON *by = cJSON_AddArrayToObject(rc, "by_field");
		for (i = 0; i < nr; i++) {
			cJSON *o = cJSON_CreateObject();
			struct buf cb = BUF_INIT;
			char s[2] = { rv[i].side ? rv[i].side : '-', 0 };
			candidate_of(p, rv[i].example, &cb);
			cJSON_AddStringToObject(o, "field", rv[i].field);
			cJSON_AddStringToObject(o, "side", s);
			cJSON_AddNumberToObject(o, "candidates", (double)rv[i].candidates);
			cJSON_AddNumberToObject(o, "repairs", (double)rv[i].repairs);
			cJSON_AddStringToObject(o, "example", cb.p ? cb.p : "");
			cJSON_AddStringToObject(o, "meaning", side_words(rv[i].side));
			cJSON_AddItemToArray(by, o);
			buf_free(&cb);
		}
	}
	if (p->ndur > 0)
		cJSON_AddNumberToObject(j, "mean_run_seconds", p->dur_sum / (double)p->ndur);
	tr = cJSON_AddArrayToObject(j, "trend");
	for (i = 0; i < p->tr.ntrend; i++) {
		cJSON *o = cJSON_CreateObject();
		fmt_rfc3339_ms(p->tr.trend[i].ts_ms, d, sizeof(d));
		cJSON_AddStringToObject(o, "at", d);
		cJSON_AddNumberToObject(o, "after_pct", p->tr.trend[i].pct);
		if (!isnan(p->tr.trend[i].before))
			cJSON_AddNumberToObject(o, "before_pct", p->tr.trend[i].before);
		cJSON_AddNumberToObject(o, "exit", p->tr.trend[i].exit);
		cJSON_AddBoolToObject(o, "full", p->tr.trend[i].full);
		cJSON_AddItemToArray(tr, o);
	}
	txt = json_print(j);
	buf_adds(out, txt);
	buf_addc(out, '\n');
	free(txt);
	cJSON_Delete(j);
}

static double
delta(const struct period *p)
{
	double d = p->end_pct - p->start_pct;

	return fabs(d) < 0.05 ? 0.0 : d;
}

/* How the table of repairs per week is spelled: in Markdown or in HTML. */
struct weeks_style {
	const char *head;	/* up to the kinds' headings */
	const char *kind_open, *kind_close;
	const char *head_close;
	const char *kind_rule;	/* once a kind after head_close (Markdown's alignment row) */
	const char *head_end;
	const char *row_open, *date_close;
	const char *num_open, *num_close;
	const char *row_close;
	const char *end;
	void (*text)(struct buf *, const char *, int mask);
};

static const struct weeks_style weeks_md = {
	"| week from | runs | failed | repaired |", " ", " |", "\n|---|---:|---:|---:|", "---:|", "\n",
	"| ", " |", " ", " |", "\n", "", report_md_text
};

static const struct weeks_style weeks_html = {
	"<section id=\"weeks-section\"><h2>Repairs per week, by kind</h2><table id=\"weeks\">"
	"<thead><tr><th>week from</th><th class=\"num\">runs</th><th class=\"num\">failed</th>"
	"<th class=\"num\">repaired</th>", "<th class=\"num\">", "</th>", "</tr></thead><tbody>\n", "", "",
	"<tr><td>", "</td>", "<td class=\"num\">", "</td>", "</tr>\n", "</tbody></table></section>\n",
	report_html_text
};

static void
weeks_num(struct buf *out, const struct weeks_style *st, size_t v)
{
	buf_adds(out, st->num_open);
	buf_addf(out, "%zu", v);
	buf_adds(out, st->num_close);
}

/* The table of runs, failed runs and repairs per week, by kind. */
static void
write_weeks(const struct period *p, const struct weeks_style *st, struct buf *out)
{
	char a[32];
	size_t i, k;

	buf_adds(out, st->head);
	for (k = 0; k < p->nkinds; k++) {
		buf_adds(out, st->kind_open);
		st->text(out, p->kinds[k], 0);
		buf_adds(out, st->kind_close);
	}
	buf_adds(out, st->head_close);
	for (k = 0; k < p->nkinds; k++)
		buf_adds(out, st->kind_rule);
	buf_adds(out, st->head_end);
	for (i = 0; i < p->nweeks; i++) {
		day(p->from_ms + (int64_t)i * 7 * 86400 * 1000, a, sizeof(a));
		buf_adds(out, st->row_open);
		buf_adds(out, a);
		buf_adds(out, st->date_close);
		weeks_num(out, st, p->weeks[i].runs);
		weeks_num(out, st, p->weeks[i].failed_runs);
		weeks_num(out, st, p->weeks[i].repaired);
		for (k = 0; k < p->nkinds; k++)
			weeks_num(out, st, p->weeks[i].by_kind[k]);
		buf_adds(out, st->row_close);
	}
	buf_adds(out, st->end);
}

static void
write_md(struct period *p, struct buf *out)
{
	char a[32], b[32], dur[32];
	struct recur rv[64];
	size_t nr, npairs, i, k, open = 0;

	day(p->from_ms, a, sizeof(a));
	day(p->to_ms - 1, b, sizeof(b));
	buf_addf(out, "### atsrecon data-quality audit, %s to %s\n\n", a, b);
	if (p->runs == 0) {
		buf_adds(out, "No run recorded in this period.\n");
		return;
	}
	buf_addf(out, "**Accuracy:** %.1f %% at the start, **%.1f %%** at the end (%+.1f points), over %zu "
	    "runs (%zu full sweeps, %zu failed).\n\n", p->start_pct, p->end_pct, delta(p),
	    p->runs, p->full_runs, p->failed_runs);
	buf_addf(out, "**Repaired:** %zu values and tags.\n\n", p->repaired_total);
	write_weeks(p, &weeks_md, out);
	buf_adds(out, "\n#### Still needs a person\n\n");
	for (i = 0; i < p->ncauses; i++) {
		const struct pcause *c = &p->causes[i];
		if (c->resolved_ms != 0 || strcmp(c->who, "person") != 0)
			continue;
		open++;
		day(c->first_ms, a, sizeof(a));
		buf_adds(out, "- **");
		report_md_text(out, c->title, 0);
		buf_addf(out, "** — %zu candidate%s, open since %s (%zu runs)\n", c->last_count,
		    c->last_count == 1 ? "" : "s", a, c->runs);
	}
	if (open == 0)
		buf_adds(out, "Nothing.\n");
	buf_adds(out, "\n#### Fixed in the period (time from detection to repair)\n\n");
	for (i = 0, k = 0; i < p->ncauses; i++) {
		const struct pcause *c = &p->causes[i];
		if (c->resolved_ms == 0 || strcmp(c->who, "person") != 0)
			continue;
		k++;
		fmt_dur((double)(c->resolved_ms - c->first_ms) / 1000.0, dur, sizeof(dur));
		buf_adds(out, "- ");
		report_md_text(out, c->title, 0);
		buf_addf(out, ": %s\n", dur);
	}
	if (k == 0)
		buf_adds(out, "None.\n");
	if (p->ndur > 0) {
		fmt_dur(p->dur_sum / (double)p->ndur, dur, sizeof(dur));
		buf_addf(out, "\nAutomatic repairs land in the run that finds them (mean run time %s).\n", dur);
	}
	nr = recurring(p, rv, ARRAY_LEN(rv), &npairs);
	buf_addf(out, "\n#### Recurring drift: a process problem upstream\n\n");
	if (nr == 0)
		buf_addf(out, "None: no candidate's field was repaired in %d or more runs.\n", RECURRING_MIN);
	for (i = 0; i < nr; i++) {
		struct buf cb = BUF_INIT;
		candidate_of(p, rv[i].example, &cb);
		buf_adds(out, "- **");
		report_md_text(out, rv[i].field, 0);
		buf_addf(out, "**: %zu candidates repaired %zu times in all — ", rv[i].candidates, rv[i].repairs);
		report_md_text(out, side_words(rv[i].side), 0);
		buf_adds(out, " (e.g. ");
		report_md_text(out, cb.p ? cb.p : "", 0);
		buf_adds(out, ")\n");
		buf_free(&cb);
	}
}

/* The key figures; open: the causes that still need a person. */
static void
html_kpis(const struct period *p, size_t open, struct buf *out)
{
	buf_addf(out, "<div class=\"kpis\"><div class=\"kpi\" id=\"acc-start\"><div class=\"v\">%.1f %%</div>"
	    "<div class=\"l\">accuracy at the start</div></div><div class=\"kpi %s\" id=\"acc-end\">"
	    "<div class=\"v\">%.1f %%</div><div class=\"l\">at the end (%+.1f points)</div></div>"
	    "<div class=\"kpi good\"><div class=\"v\">%zu</div><div class=\"l\">repaired</div></div>"
	    "<div class=\"kpi %s\"><div class=\"v\">%zu</div><div class=\"l\">causes still need a "
	    "person</div></div></div>\n", p->start_pct, p->end_pct >= p->start_pct ? "good" : "bad",
	    p->end_pct, delta(p), p->repaired_total, open ? "bad" : "good", open);
}

/* The causes that still need a person. */
static void
html_open_causes(const struct period *p, size_t open, struct buf *out)
{
	char a[32];
	size_t i;

	buf_adds(out, "<section id=\"causes\"><h2>Still needs a person</h2>\n");
	if (open == 0)
		buf_adds(out, "<p>Nothing is waiting for a person.</p>\n");
	else
		buf_adds(out, "<ol class=\"causes\">\n");
	for (i = 0; i < p->ncauses; i++) {
		const struct pcause *c = &p->causes[i];
		if (c->resolved_ms != 0 || strcmp(c->who, "person") != 0)
			continue;
		day(c->first_ms, a, sizeof(a));
		buf_addf(out, "<li class=\"cause\" data-count=\"%zu\"><h3>", c->last_count);
		report_html_text(out, c->title, 0);
		buf_addf(out, "</h3><div class=\"meta\"><b class=\"count\">%zu</b> candidate%s · open since %s · "
		    "seen in %zu runs%s</div></li>\n", c->last_count, c->last_count == 1 ? "" : "s", a, c->runs,
		    c->reopened ? " · came back after a fix" : "");
	}
	if (open > 0)
		buf_adds(out, "</ol>\n<p class=\"legend\">The fix for each is in the latest run's report "
		    "(report.html).</p>\n");
	buf_adds(out, "</section>\n");
}

/* Agreement per field: its sparkline and its last recorded value. */
static void
html_fields(const struct period *p, struct buf *out)
{
	size_t i, k;

	if (p->tr.nftrend == 0)
		return;
	buf_adds(out, "<section><h2>Agreement per field</h2><table id=\"fields\"><thead><tr><th>field</th>"
	    "<th>trend</th><th class=\"num\">at the end</th></tr></thead><tbody>\n");
	for (k = 0; k < p->tr.nftrend; k++) {
		double last = NAN;
		for (i = 0; i < p->tr.ntrend; i++)
			if (!isnan(p->tr.ftrend[k].pct[i]))
				last = p->tr.ftrend[k].pct[i];
		buf_adds(out, "<tr><td>");
		report_html_text(out, p->tr.ftrend[k].field, 0);
		buf_adds(out, "</td><td>");
		report_html_spark(out, p->tr.ftrend[k].pct, p->tr.ntrend);
		buf_addf(out, "</td><td class=\"num\">%.1f</td></tr>\n", last);
	}
	buf_adds(out, "</tbody></table></section>\n");
}

/* The fields repaired again and again for the same candidate. */
static void
html_recurring(const struct period *p, struct buf *out)
{
	struct recur rv[64];
	size_t nr, npairs, i;

	nr = recurring(p, rv, ARRAY_LEN(rv), &npairs);
	buf_addf(out, "<section id=\"recurring\"><h2>Recurring drift: a process problem upstream</h2>\n"
	    "<p class=\"legend\">The same candidate's field repaired in %d or more runs of the period. "
	    "atsrecon repairs it each time, but something upstream keeps undoing it: fix the process, "
	    "not the record.</p>\n", RECURRING_MIN);
	if (nr == 0) {
		buf_adds(out, "<p>None.</p>\n</section>\n");
		return;
	}
	buf_adds(out, "<table id=\"recurring-table\"><thead><tr><th>field</th><th class=\"num\">"
	    "candidates</th><th class=\"num\">repairs</th><th>what it means</th><th>example</th></tr>"
	    "</thead><tbody>\n");
	for (i = 0; i < nr; i++) {
		struct buf cb = BUF_INIT;
		candidate_of(p, rv[i].example, &cb);
		buf_adds(out, "<tr><td>");
		report_html_text(out, rv[i].field, 0);
		buf_addf(out, "</td><td class=\"num\">%zu</td><td class=\"num\">%zu</td><td>",
		    rv[i].candidates, rv[i].repairs);
		report_html_text(out, side_words(rv[i].side), 0);
		buf_adds(out, "</td><td>");
		report_html_text(out, cb.p, 0);
		buf_adds(out, "</td></tr>\n");
		buf_free(&cb);
	}
	buf_adds(out, "</tbody></table>\n</section>\n");
}

/* Time from detection to repair: the mean run, and each cause a person fixed. */
static void
html_repair_time(const struct period *p, struct buf *out)
{
	char a[32], b[32], dur[32];
	size_t i;

	buf_adds(out, "<section id=\"repair-time\"><h2>Time from detection to repair</h2>\n");
	if (p->ndur > 0) {
		fmt_dur(p->dur_sum / (double)p->ndur, dur, sizeof(dur));
		buf_addf(out, "<p>Automatic repairs land in the run that finds them: mean run time %s.</p>\n", dur);
	}
	buf_adds(out, "<table id=\"fixed\"><thead><tr><th>cause fixed by a person</th><th>found</th>"
	    "<th>gone</th><th class=\"num\">time</th></tr></thead><tbody>\n");
	for (i = 0; i < p->ncauses; i++) {
		const struct pcause *c = &p->causes[i];
		if (c->resolved_ms == 0 || strcmp(c->who, "person") != 0)
			continue;
		day(c->first_ms, a, sizeof(a));
		day(c->resolved_ms, b, sizeof(b));
		fmt_dur((double)(c->resolved_ms - c->first_ms) / 1000.0, dur, sizeof(dur));
		buf_adds(out, "<tr><td>");
		report_html_text(out, c->title, 0);
		buf_addf(out, "</td><td>%s</td><td>%s</td><td class=\"num\">%s</td></tr>\n", a, b, dur);
	}
	buf_adds(out, "</tbody></table></section>\n");
}

static void
write_html(struct period *p, struct buf *out)
{
	char a[32], b[32];
	size_t i, open = 0;

	day(p->from_ms, a, sizeof(a));
	day(p->to_ms - 1, b, sizeof(b));
	report_html_head(out, "atsrecon data-quality audit");
	buf_addf(out, "<header><h1>Keap ↔ ATS data-quality audit</h1><div class=\"sub\">%s to %s · %zu "
	    "runs (%zu full sweeps, %zu failed)</div></header>\n", a, b, p->runs, p->full_runs,
	    p->failed_runs);
	if (p->runs == 0) {
		buf_adds(out, "<p class=\"callout\">No run recorded in this period.</p></main></body></html>\n");
		return;
	}
	for (i = 0; i < p->ncauses; i++)
		open += p->causes[i].resolved_ms == 0 && strcmp(p->causes[i].who, "person") == 0;
	html_kpis(p, open, out);
	html_open_causes(p, open, out);
	buf_adds(out, "<section id=\"trend-section\"><h2>Accuracy over the period</h2>\n");
	report_html_trend(out, p->tr.trend, p->tr.ntrend, "trend");
	buf_adds(out, "</section>\n");
	html_fields(p, out);
	write_weeks(p, &weeks_html, out);
	html_recurring(p, out);
	html_repair_time(p, out);
	buf_addf(out, "<footer>atsrecon · %zu runs read from the runs table (%zu with details) · emails and "
	    "phones %s</footer>\n</main></body></html>\n", p->runs, p->v2, p->mask ? "masked" :
	    "NOT masked (report.mask_pii is false)");
}

static int
digits(const char *s, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "YYYY-MM-DD" → ms at 00:00 UTC; -1 when not a date. */
static int64_t
parse_day(const char *s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d;
	int64_t days;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	y = digits(s, 4);
	m = digits(s + 5, 2);
	d = digits(s + 8, 2);
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] ||
	    (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)))
		return -1;
	/* days from civil (H. Hinnant's algorithm) */
	y -= m <= 2;
	{
		int64_t era = y / 400, yoe = y - era * 400;
		int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
		int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
		days = era * 146097 + doe - 719468;
	}
	return days * 86400 * 1000;
}

enum rc
report_period(const struct config *cfg, const char *format, const char *output)
{
	struct period p;
	struct state *st = NULL;
	struct buf out = BUF_INIT;
	const char *from = cfg_str(cfg, OPT_FROM), *to = cfg_str(cfg, OPT_TO);
	const char *since = cfg_str(cfg, OPT_SINCE);
	int64_t now = now_ms();
	enum rc rc;
	size_t i;

	memset(&p, 0, sizeof(p));
	p.mask = cfg_bool(cfg, OPT_REPORT_MASK_PII);
	p.stride = 1;
	p.to_ms = now + 1;
	if (to != NULL) {
		if ((p.to_ms = parse_day(to)) < 0) {
			log_error("report", "--to: expected a day like 2026-01-31, got \"%s\"", to);
			return RC_USAGE;
		}
		p.to_ms += 86400 * 1000;	/* the whole day */
	}
	if (since != NULL && from != NULL) {
		log_error("report", "--since and --from both give the start of the period: use one");
		return RC_USAGE;
	}
	if (since != NULL)
		p.from_ms = p.to_ms - cfg_int(cfg, OPT_SINCE) * 1000;
	else if (from == NULL)
		p.from_ms = p.to_ms - 30LL * 86400 * 1000;	/* --to alone: the 30 days before */
	else if ((p.from_ms = parse_day(from)) < 0) {
		log_error("report", "--from: expected a day like 2026-01-01, got \"%s\"", from);
		return RC_USAGE;
	}
	if (p.from_ms >= p.to_ms) {
		log_error("report", "the period is empty: --from is not before --to");
		return RC_USAGE;
	}
	p.nweeks = (size_t)((p.to_ms - p.from_ms + 7LL * 86400 * 1000 - 1) / (7LL * 86400 * 1000));
	if (p.nweeks > PERIOD_WEEKS) {
		log_error("report", "the period is longer than %d weeks: choose a shorter one", PERIOD_WEEKS);
		return RC_USAGE;
	}
	if (cfg_str(cfg, OPT_STATE_URL) != NULL && cfg_str(cfg, OPT_STATE_DIR) == NULL) {
		log_error("report", "--since reads the runs table from a local state (state.dir); with "
		    "state.url, copy the state down first or run it where the state lives");
		return RC_CONFIG;
	}
	if ((rc = state_open(cfg_str(cfg, OPT_STATE_DIR), STATE_RO, &st)) != RC_OK) {
		log_error("report", "cannot open the state in %s (%s): no runs to report on",
		    cfg_str(cfg, OPT_STATE_DIR), rc_str(rc));
		return rc == RC_RECORD ? RC_STATE : rc;
	}
	p.weeks = xcalloc(p.nweeks, sizeof(*p.weeks));
	report_init(&p.tr, "period");
	buf_adds(&p.csv, "finished,mode,full,exit,before_pct,after_pct,drifted,repaired,failed,deferred\r\n");
	rc = state_each(st, DB_RUNS, NULL, period_one, &p);
	state_close(st);
	if (rc == RC_OK) {
		if (p.ncauses > 1)
			qsort(p.causes, p.ncauses, sizeof(*p.causes), cause_cmp);
		if (strcmp(format, "json") == 0)
			write_json(&p, &out);
		else if (strcmp(format, "html") == 0)
			write_html(&p, &out);
		else if (strcmp(format, "csv") == 0) {
			out = p.csv;
			memset(&p.csv, 0, sizeof(p.csv));
		} else
			write_md(&p, &out);
		if (output != NULL) {
			if (atomic_write(output, out.p ? out.p : "", out.len, 0600) != 0) {
				log_error("report", "cannot write %s", output);
				rc = RC_STATE;
			}
		} else if (out.len > 0)
			fwrite(out.p, 1, out.len, stdout);
		log_info("report", "period report: %zu runs", p.runs);
	}
	buf_free(&out);
	buf_free(&p.csv);
	report_free(&p.tr);
	free(p.weeks);
	for (i = 0; i < p.nkinds; i++)
		free(p.kinds[i]);
	for (i = 0; i < p.ncauses; i++) {
		free(p.causes[i].kind);
		free(p.causes[i].field);
		free(p.causes[i].value);
		free(p.causes[i].title);
		free(p.causes[i].who);
	}
	free(p.causes);
	for (i = 0; i < p.pair_cap; i++)
		free(p.pairs[i].key);
	free(p.pairs);
	return rc;
}
