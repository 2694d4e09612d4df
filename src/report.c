/* report.c — see report.h. */
#define _POSIX_C_SOURCE 200809L
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "jtree.h"
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

	recs_free(&r->rows);
	wt_free(&r->words);
	tp_free(&r->own);
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
	for (i = 0; i < r->nftrend; i++) {
		free(r->ftrend[i].field);
		free(r->ftrend[i].pct);
	}
	free(r->ftrend);
	free(r->message);
	memset(r, 0, sizeof(*r));
}

/* The id part of "ats:id" is an email or a phone number (an export file
 * keyed by email, say): then the id is personal data and is masked. */
static int
id_is_contact_point(const char *key)
{
	const char *id = strchr(key, ':'), *s;
	size_t digits = 0;

	id = id != NULL ? id + 1 : key;
	if (strchr(id, '@') != NULL)
		return 1;
	for (s = id; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9')
			digits++;
		else if (strchr("+-(). ", *s) == NULL)
			return 0;
	}
	return digits >= 7 && (id[0] == '+' || id[0] == '(' || strpbrk(id, " -().") != NULL);
}

long
report_file_writes(const char *path)
{
	struct buf b = BUF_INIT, err = BUF_INIT;
	const cJSON *e;
	cJSON *j = NULL;
	long writes = -1;

	if (read_file(path, (size_t)64 << 20, &b) != 0 || (j = json_parse(b.p, b.len, &err)) == NULL)
		goto out;
	writes = 0;
	cJSON_ArrayForEach(e, json_get(json_get(j, "api"), "calls")) {
		const char *ep = json_str(e, "endpoint");
		int64_t calls = 0;
		if (ep != NULL && !str_has_prefix(ep, "GET ") && json_int(e, "calls", &calls) == 0 &&
		    calls > 0)
			writes += (long)calls;
	}
out:
	if (j != NULL)
		cJSON_Delete(j);
	buf_free(&b);
	buf_free(&err);
	return writes;
}

/* The packed row (report.h: struct report_row is its view). */
struct row_rec {
	uint32_t candidate, contact, desired, actual, error;	/* handles in the text store */
	uint32_t field;			/* word + 1; 0: none */
	uint16_t kind, side, action;	/* words */
	uint16_t flags;			/* ROW_PII, ROW_CAND_PII */
};
#define ROW_PII 1
#define ROW_CAND_PII 2

static struct textpool *
texts(struct report *r)
{
	return r->texts != NULL ? r->texts : &r->own;
}

static struct row_rec *
row_rec(const struct report *r, size_t i)
{
	return recs_at(&r->rows, i);
}

static uint32_t
word(struct report *r, const char *s)
{
	return wt_intern(&r->words, s);
}

/* A kind, side or action: few, named by the code (16 bits are plenty). */
static uint16_t
small_word(struct report *r, const char *s)
{
	uint32_t w = word(r, s);

	if (w > UINT16_MAX) {
		fputs("atsrecon: report: more than 65,535 kinds, sides and actions; aborting\n",
		    stderr);
		abort();
	}
	return (uint16_t)w;
}

static const char *
row_kind(const struct report *r, size_t i)
{
	return wt_str(&r->words, row_rec(r, i)->kind);
}

const char *
report_intern(struct report *r, const char *s)
{
	return s == NULL ? NULL : wt_str(&r->words, word(r, s));
}

void
report_row_set_action(struct report *r, size_t i, const char *action)
{
	row_rec(r, i)->action = small_word(r, action);
}

void
report_row_set_side(struct report *r, size_t i, const char *side)
{
	row_rec(r, i)->side = small_word(r, side ? side : "");
}

void
report_row_set_values(struct report *r, size_t i, const char *desired, const char *actual)
{
	struct row_rec *w = row_rec(r, i);

	w->desired = tp_add(texts(r), desired);
	w->actual = tp_add(texts(r), actual);
}

void
report_row_set_error(struct report *r, size_t i, const char *error)
{
	row_rec(r, i)->error = tp_add(texts(r), error);
}

const struct report_row *
report_row(const struct report *r, size_t i, struct report_row *v)
{
	const struct row_rec *w = row_rec(r, i);
	const struct textpool *tp = r->texts != NULL ? r->texts : &r->own;

	v->kind = wt_str(&r->words, w->kind);
	v->field = w->field ? wt_str(&r->words, w->field - 1) : NULL;
	v->side = wt_str(&r->words, w->side);
	v->candidate = tp_str(tp, w->candidate);
	v->contact = tp_str(tp, w->contact);
	v->desired = tp_str(tp, w->desired);
	v->actual = tp_str(tp, w->actual);
	v->action = wt_str(&r->words, w->action);
	v->error = tp_str(tp, w->error);
	v->pii = (w->flags & ROW_PII) != 0;
	v->cand_pii = (w->flags & ROW_CAND_PII) != 0;
	return v;
}

size_t
report_add_row(struct report *r, const char *kind, const char *field, const char *side,
    const char *candidate, const char *contact)
{
	struct row_rec *w;

	if (r->rows.size == 0)
		r->rows.size = sizeof(struct row_rec);
	w = recs_push(&r->rows);
	w->kind = small_word(r, kind);
	w->field = field != NULL ? word(r, field) + 1 : 0;
	w->side = small_word(r, side ? side : "");
	w->candidate = tp_add(texts(r), candidate);
	w->contact = tp_add(texts(r), contact);
	w->action = small_word(r, "reported");
	if (field != NULL && (strncmp(field, "email", 5) == 0 || strncmp(field, "phone", 5) == 0))
		w->flags |= ROW_PII;
	if (candidate != NULL && id_is_contact_point(candidate))
		w->flags |= ROW_CAND_PII;
	return r->nrows++;
}

static void
count_in_n(struct report_field **v, size_t *n, const char *name, size_t agree, size_t total)
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
	(*v)[i].total += total;
	(*v)[i].agree += agree;
}

static void
count_in(struct report_field **v, size_t *n, const char *name, int agree)
{
	count_in_n(v, n, name, agree != 0, 1);
}

void
report_field_add(struct report *r, const char *field, size_t agree, size_t total)
{
	count_in_n(&r->fields, &r->nfields, field, agree, total);
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
	size_t n, first;

	if (v == NULL)
		return;
	n = strlen(v);
	if ((at = strrchr(v, '@')) != NULL && at > v && strchr(at, ' ') == NULL) {
		buf_add(out, v, 1);
		buf_adds(out, "***");
		buf_adds(out, at);
		return;
	}
	if (v[0] == '+' && n > 8 && strspn(v + 1, "0123456789") == n - 1) {
		buf_add(out, v, 5);
		buf_adds(out, "***");
		buf_adds(out, v + n - 4);
		return;
	}
	/* anything else in an email or phone field: its look says nothing */
	if (n == 0)
		return;
	first = utf8_seq((const unsigned char *)v, n);
	if (first == 0 || n < 4)
		first = 0;
	buf_add(out, v, first);
	buf_adds(out, "***");
	if (n >= 10 && (unsigned char)v[n - 2] < 0x80 && (unsigned char)v[n - 1] < 0x80 &&
	    v[n - 2] > 0x20 && v[n - 1] > 0x20)
		buf_add(out, v + n - 2, 2);
}

void
report_candidate(struct buf *b, const char *key, int mask)
{
	const char *colon;

	if (key == NULL)
		return;
	if (!mask || !id_is_contact_point(key)) {
		buf_adds(b, key);
		return;
	}
	colon = strchr(key, ':');
	if (colon != NULL) {
		buf_add(b, key, (size_t)(colon - key) + 1);
		key = colon + 1;
	}
	report_mask(key, b);
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

/* ------------------------------------------------------------- escapers */

/* s as a report shows it: masked into m when mask is set. */
static const char *
masked(const char *s, int mask, struct buf *m)
{
	if (!mask)
		return s;
	report_mask(s, m);
	return m->p ? m->p : "";
}

void
report_html_text(struct buf *b, const char *s, int mask)
{
	struct buf m = BUF_INIT;

	if (s == NULL)
		return;
	s = masked(s, mask, &m);
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '&': buf_adds(b, "&amp;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		case '\'': buf_adds(b, "&#39;"); break;
		default:
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				buf_addc(b, ' ');
			else
				buf_addc(b, *s);
		}
	}
	buf_free(&m);
}

#define html_text report_html_text

void
report_md_text(struct buf *b, const char *s, int mask)
{
	struct buf m = BUF_INIT;

	if (s == NULL)
		return;
	s = masked(s, mask, &m);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f)
			buf_addc(b, ' ');
		else if (c == '<')
			buf_adds(b, "&lt;");
		else if (c == '>')
			buf_adds(b, "&gt;");
		else if (c == '&')
			buf_adds(b, "&amp;");
		else if (strchr("|\\`*[]", c) != NULL) {
			buf_addc(b, '\\');
			buf_addc(b, (char)c);
		} else
			buf_addc(b, (char)c);
	}
	buf_free(&m);
}

/* A cell a spreadsheet would run as a formula: = + - @, a TAB or CR before
 * one (spreadsheets strip them), and the full-width forms ＝ ＋ － ＠. */
static int
csv_formula(const char *v)
{
	static const char *const wide[] = { "\xef\xbc\x9d", "\xef\xbc\x8b", "\xef\xbc\x8d",
		"\xef\xbc\xa0" };
	size_t i;

	if (*v == '=' || *v == '+' || *v == '-' || *v == '@' || *v == '\t' || *v == '\r')
		return 1;
	for (i = 0; i < ARRAY_LEN(wide); i++)
		if (strncmp(v, wide[i], 3) == 0)
			return 1;
	return 0;
}

/* CSV cell: RFC 4180 quoting; formulas defused with a leading apostrophe;
 * control characters other than TAB, CR and LF become spaces. */
void
report_csv_cell(struct buf *b, const char *v, int mask)
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
	if (csv_formula(v))
		buf_addc(b, '\'');
	for (s = v; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"')
			buf_addc(b, '"');
		if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
			c = ' ';
		buf_addc(b, (char)c);
	}
	buf_addc(b, '"');
	buf_free(&m);
}

#define csv_cell report_csv_cell

static void
add_candidate(cJSON *o, const char *key, const char *v, int mask)
{
	struct buf b = BUF_INIT;

	if (v == NULL) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	report_candidate(&b, v, mask);
	cJSON_AddStringToObject(o, key, b.p ? b.p : "");
	buf_free(&b);
}

/* --------------------------------------------------------------- causes */

static int
row_open(const struct report_row *w)
{
	return strcmp(w->action, "repaired") != 0 && strcmp(w->action, "planned") != 0;
}

static enum cause_who
row_who(const struct report_row *w)
{
	const char *e = w->error != NULL ? w->error : "";

	if (strcmp(w->action, "failed") == 0) {
		if (strcmp(w->kind, "write_failed") == 0)
			return CAUSE_PERSON;
		if (strncmp(e, "HTTP 4", 6) == 0 && strncmp(e, "HTTP 429", 8) != 0 &&
		    strncmp(e, "HTTP 408", 8) != 0)
			return CAUSE_PERSON;
		return CAUSE_RETRY;
	}
	if (strcmp(w->action, "deferred") == 0 || strcmp(w->action, "skipped") == 0)
		return CAUSE_RETRY;
	if (strncmp(e, "owner ", 6) == 0 || strncmp(e, "erased in the ATS", 17) == 0)
		return CAUSE_POLICY;
	if (strcmp(w->kind, "merged_in_ats") == 0 || strcmp(w->kind, "anonymized") == 0 ||
	    strcmp(w->kind, "deleted_in_ats") == 0)
		return CAUSE_POLICY;
	return CAUSE_PERSON;
}

/* The offending value that names the cause: a dropdown value, a stage. */
static const char *
row_value(const struct report_row *w)
{
	if (strcmp(w->kind, "invalid_value") != 0 || w->pii)
		return NULL;
	if (str_eq(w->field, "stage_tag"))
		return w->desired;
	if (w->error != NULL && strstr(w->error, "options") != NULL)
		return w->desired;
	return NULL;
}

/* The reason that names the cause (a give-up note keeps only its last error). */
static const char *
row_why(const struct report_row *w)
{
	const char *e = w->error, *p;

	if (e != NULL && strcmp(w->kind, "write_failed") == 0 && (p = strstr(e, "last error: ")) != NULL)
		return p + 12;
	return e;
}

static const char *
field_name(const char *f)
{
	const char *c;

	if (f == NULL)
		return "";
	if (strncmp(f, "custom:", 7) == 0)
		return f + 7;
	if ((c = strchr(f, ':')) != NULL && (strncmp(f, "email", 5) == 0 || strncmp(f, "phone", 5) == 0))
		return c + 1;
	return f;
}

/* The config change, as JSON text, for a cause (values JSON-escaped). */
static void
cause_fix(struct report_cause *c)
{
	struct buf fix = BUF_INIT, ch = BUF_INIT, jv = BUF_INIT, jf = BUF_INIT;
	const char *why = c->why != NULL ? c->why : "";

	if (c->value != NULL)
		json_escape(&jv, c->value, strlen(c->value));
	if (c->field != NULL)
		json_escape(&jf, c->field, strlen(c->field));
	if (c->who == CAUSE_RETRY) {
		buf_adds(&fix, "Nothing to do: a transient failure (network, server error, quota, or the "
		    "contact changed meanwhile); the next run retries it.");
	} else if (c->who == CAUSE_POLICY && strncmp(why, "owner ", 6) == 0) {
		buf_addf(&fix, "Kept by policy (%s): Keap's value stays. To let the ATS value win, set "
		    "this field's owner to \"ats\".", why);
		buf_addf(&ch, "fields: { \"to\": %s, \"owner\": \"ats\" }", jf.p ? jf.p : "\"\"");
	} else if (c->who == CAUSE_POLICY) {
		buf_addf(&fix, "Reported by policy (%s); no action is needed unless the policy "
		    "should change (lifecycle.*).", c->kind);
	} else if (strcmp(c->kind, "invalid_value") == 0 && str_eq(c->field, "stage_tag")) {
		buf_addf(&fix, "Give this stage a tag: add it to stage_tags.by_stage (the tag is "
		    "looked up in Keap's stage tag category), or map its status in stage_tags.by_status.");
		buf_addf(&ch, "stage_tags: { \"by_stage\": { %s: \"(a tag name in Keap)\" } }",
		    jv.p ? jv.p : "\"\"");
	} else if (strcmp(c->kind, "invalid_value") == 0 && c->value != NULL) {
		buf_addf(&fix, "Add the option to the Keap dropdown field \"%s\" (Keap: Settings, "
		    "Custom fields, edit the field's options), or map the value to an existing option.",
		    field_name(c->field));
		buf_addf(&ch, "fields: { \"to\": %s, \"map\": { %s: \"(an existing option)\" } }",
		    jf.p ? jf.p : "\"\"", jv.p ? jv.p : "\"\"");
	} else if (strcmp(c->kind, "invalid_value") == 0 && strstr(why, "no valid email") != NULL) {
		buf_adds(&fix, "Add an email address or a phone number to these candidates in the ATS: "
		    "Keap needs one to create a contact.");
		buf_adds(&ch, "ATS: edit the candidates (source data)");
	} else if (strcmp(c->kind, "invalid_value") == 0 && strstr(why, "phone") != NULL) {
		buf_adds(&fix, "Correct these phone numbers in the ATS (source data). If they are "
		    "local numbers without a country code, set phone.default_region.");
		buf_adds(&ch, "ATS: edit the candidates, or phone: { \"default_region\": \"US\" }");
	} else if (strcmp(c->kind, "invalid_value") == 0) {
		buf_addf(&fix, "Correct the values in the ATS (source data): %s.", why);
		buf_adds(&ch, "ATS: edit the candidates (source data)");
	} else if (strncmp(why, "HTTP 403", 8) == 0 || strncmp(why, "HTTP 401", 8) == 0) {
		buf_adds(&fix, "Keap refused the write for lack of permission: give the Keap user who "
		    "authorised atsrecon the permission for contacts, tags and custom fields (Keap: "
		    "Admin, Users), or re-authorise with the needed scope (atsrecon auth keap).");
		buf_adds(&ch, "Keap: user permissions (contacts, tags, custom fields)");
	} else if (strncmp(why, "HTTP 4", 6) == 0) {
		buf_addf(&fix, "Keap refused the value (%s): check the Keap field's type against the "
		    "mapping, or correct the value in the ATS.", why);
		if (c->field != NULL)
			buf_addf(&ch, "fields: { \"to\": %s, ... }", jf.p);
	} else if (strcmp(c->kind, "write_failed") == 0) {
		buf_adds(&fix, "atsrecon gave up after run.max_attempts failed writes: fix the last error "
		    "shown; the candidate is retried when it changes in the ATS.");
		buf_adds(&ch, "run: { \"max_attempts\": N } or the fix for the last error");
	} else if (strcmp(c->kind, "duplicate_contacts") == 0) {
		buf_adds(&fix, "Merge the contacts in Keap (the "
		    "extra ones carry the lifecycle.duplicate_tag tag).");
		buf_adds(&ch, "Keap: merge the tagged duplicate contacts");
	} else if (strcmp(c->kind, "contact_deleted_in_keap") == 0) {
		buf_adds(&fix, "The linked contact was deleted in Keap: restore it in Keap if that was a "
		    "mistake; atsrecon never recreates it on its own.");
		buf_adds(&ch, "Keap: restore the contact");
	} else {
		buf_addf(&fix, "Look at these records: %s.", why[0] ? why : c->kind);
	}
	c->fix = buf_take(&fix);
	c->change = ch.p != NULL ? buf_take(&ch) : xstrdup("");
	buf_free(&ch);
	buf_free(&jv);
	buf_free(&jf);
}

static int
cause_cmp(const void *a, const void *b)
{
	const struct report_cause *x = a, *y = b;

	if (x->who != y->who)
		return (int)x->who - (int)y->who;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->kind, y->kind);
}

#define MAX_CAUSES 1000

size_t
report_causes(const struct report *r, struct report_cause **out)
{
	struct report_cause *v = NULL;
	const char **lastc = NULL;
	size_t n = 0, i, k, total = 0;

	for (i = 0; i < r->nfields; i++)
		total += r->fields[i].total;
	for (i = 0; i < r->nrows; i++) {
		struct report_row wv_;
		const struct report_row *w = report_row(r, i, &wv_);
		enum cause_who who;
		const char *val, *why;

		if (!row_open(w))
			continue;
		who = row_who(w);
		val = row_value(w);
		why = row_why(w);
		for (k = 0; k < n; k++)
			if (v[k].who == who && strcmp(v[k].kind, w->kind) == 0 && str_eq(v[k].field, w->field) &&
			    str_eq(v[k].value, val) && (val != NULL || str_eq(v[k].why, why)))
				break;
		if (k == n) {
			if (n == MAX_CAUSES)
				k = n - 1;	/* the long tail shares the last one */
			else {
				v = xrealloc(v, (n + 1) * sizeof(*v));
				lastc = xrealloc(lastc, (n + 1) * sizeof(*lastc));
				memset(&v[n], 0, sizeof(v[n]));
				v[n].kind = w->kind;
				v[n].field = w->field;
				v[n].value = val;
				v[n].why = why;
				v[n].who = who;
				lastc[n] = NULL;
				n++;
			}
		}
		v[k].count++;
		if (!str_eq(lastc[k], w->candidate) || w->candidate == NULL)
			v[k].candidates++;
		lastc[k] = w->candidate;
		if (v[k].nex < ARRAY_LEN(v[k].ex))
			v[k].ex[v[k].nex++] = i;
	}
	free(lastc);
	for (k = 0; k < n; k++) {
		if (v[k].field != NULL && total > 0)
			v[k].recover_pct = 100.0 * (double)v[k].count / (double)total;
		cause_fix(&v[k]);
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cause_cmp);
	*out = v;
	return n;
}

void
report_causes_free(struct report_cause *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].fix);
		free(v[i].change);
	}
	free(v);
}

static const char *
who_str(enum cause_who w)
{
	return w == CAUSE_PERSON ? "person" : w == CAUSE_POLICY ? "policy" : "retry";
}

/* The cause in one sentence, raw (each format escapes it). */
static void
cause_title(const struct report_cause *c, struct buf *b)
{
	const char *why = c->why != NULL ? c->why : "";

	if (strcmp(c->kind, "invalid_value") == 0 && str_eq(c->field, "stage_tag") && c->value)
		buf_addf(b, "Stage \"%s\" has no Keap tag configured", c->value);
	else if (strcmp(c->kind, "invalid_value") == 0 && c->value != NULL)
		buf_addf(b, "\"%s\" is not an option of the Keap field \"%s\"", c->value,
		    field_name(c->field));
	else if (strcmp(c->kind, "invalid_value") == 0)
		buf_addf(b, "Invalid %s in the ATS: %s", c->field ? field_name(c->field) : "value", why);
	else if (c->who == CAUSE_POLICY && strncmp(why, "owner ", 6) == 0)
		buf_addf(b, "\"%s\" differs, kept by policy (%s)", field_name(c->field), why);
	else if (strcmp(c->kind, "duplicate_contacts") == 0)
		buf_adds(b, "Several Keap contacts for one candidate");
	else if (strcmp(c->kind, "contact_deleted_in_keap") == 0)
		buf_adds(b, "The linked Keap contact was deleted");
	else if (strcmp(c->kind, "write_failed") == 0)
		buf_addf(b, "Writes given up after repeated failures: %s", why);
	else if (c->field != NULL)
		buf_addf(b, "%s on \"%s\": %s", c->kind, field_name(c->field), why[0] ? why : c->kind);
	else
		buf_addf(b, "%s%s%s", c->kind, why[0] ? ": " : "", why);
}

int
report_only_people_left(const struct report *r)
{
	size_t i, person = 0;

	if (r->deferred > 0)
		return 0;
	for (i = 0; i < r->nrows; i++) {
		struct report_row wv_;
		const struct report_row *w = report_row(r, i, &wv_);
		if (!row_open(w))
			continue;
		if (row_who(w) == CAUSE_RETRY)
			return 0;
		person += row_who(w) == CAUSE_PERSON;
	}
	return person > 0;
}

static size_t
rows_needing_person(const struct report *r)
{
	struct report_row wv_;
	size_t i, n = 0;

	for (i = 0; i < r->nrows; i++)
		n += row_open(report_row(r, i, &wv_)) && row_who(&wv_) == CAUSE_PERSON;
	return n;
}

void
report_causes_text(const struct report *r, int mask_pii, size_t max, struct buf *out)
{
	struct report_cause *c;
	size_t n = report_causes(r, &c), i, shown = 0, np = 0;

	(void)mask_pii;
	for (i = 0; i < n; i++)
		np += c[i].who == CAUSE_PERSON;
	if (np > 0)
		buf_addf(out, "Needs a person (%zu cause%s, by impact):\n", np, np == 1 ? "" : "s");
	for (i = 0; i < n && shown < max; i++) {
		struct buf t = BUF_INIT;
		if (c[i].who != CAUSE_PERSON)
			continue;
		shown++;
		cause_title(&c[i], &t);
		buf_addf(out, "%3zu. ", shown);
		text_escape(out, t.p, t.len);
		buf_addf(out, " — %zu candidate%s", c[i].candidates, c[i].candidates == 1 ? "" : "s");
		if (c[i].recover_pct > 0)
			buf_addf(out, ", +%.1f accuracy points", c[i].recover_pct);
		buf_adds(out, "\n     fix: ");
		text_escape(out, c[i].fix, strlen(c[i].fix));
		if (c[i].change[0]) {
			buf_adds(out, "\n     change: ");
			text_escape(out, c[i].change, strlen(c[i].change));
		}
		buf_adds(out, "\n");
		buf_free(&t);
	}
	if (np > shown)
		buf_addf(out, "     … and %zu more in the report\n", np - shown);
	report_causes_free(c, n);
}

/* ------------------------------------------------------------ run record */

#define REC_MAX_FIELDS 64
#define REC_MAX_CAUSES 20
#define REC_MAX_REPAIRS 200

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
		const char *kind = row_kind(r, i), *action = wt_str(&r->words, row_rec(r, i)->action);
		for (k = 0; k < n; k++)
			if (kc[k].kind == kind)	/* (words are kept once) */
				break;
		if (k == n) {
			if (n == max)
				continue;
			kc[n].kind = kind;
			kc[n].n = kc[n].repaired = kc[n].failed = 0;
			n++;
		}
		kc[k].n++;
		kc[k].repaired += strcmp(action, "repaired") == 0;
		kc[k].failed += strcmp(action, "failed") == 0;
	}
	return n;
}

static char *
print_plain(cJSON *j)
{
	char *out = cJSON_PrintUnformatted(j), *copy = xstrdup(out ? out : "{}");

	cJSON_free(out);
	return copy;
}

void
report_run_record(const struct report *r, struct buf *out)
{
	cJSON *j = cJSON_CreateObject(), *f, *k, *c, *rep;
	struct kind_count kc[32];
	struct report_cause *cs;
	size_t i, n, nc;
	char *txt;

	cJSON_AddNumberToObject(j, "finished_ms", (double)r->finished_ms);
	cJSON_AddNumberToObject(j, "after_pct", floor(r->after_pct * 1000 + 0.5) / 1000);
	cJSON_AddNumberToObject(j, "exit", r->exit_status);
	cJSON_AddStringToObject(j, "mode", r->mode);
	/* version 2: everything below is optional for readers */
	cJSON_AddNumberToObject(j, "v", 2);
	cJSON_AddNumberToObject(j, "started_ms", (double)r->started_ms);
	cJSON_AddNumberToObject(j, "before_pct", floor(r->before_pct * 1000 + 0.5) / 1000);
	if (r->full)
		cJSON_AddNumberToObject(j, "full", 1);
	cJSON_AddNumberToObject(j, "linked", (double)r->linked);
	cJSON_AddNumberToObject(j, "drifted", (double)r->drifted);
	cJSON_AddNumberToObject(j, "repaired", (double)r->repaired);
	cJSON_AddNumberToObject(j, "failed", (double)r->failed);
	cJSON_AddNumberToObject(j, "deferred", (double)r->deferred);
	f = cJSON_AddObjectToObject(j, "fields");
	for (i = 0; i < r->nfields && i < REC_MAX_FIELDS; i++) {
		cJSON *a = cJSON_CreateArray();
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)r->fields[i].agree));
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)r->fields[i].total));
		cJSON_AddItemToObject(f, r->fields[i].field, a);
	}
	k = cJSON_AddObjectToObject(j, "kinds");
	n = count_kinds(r, kc, ARRAY_LEN(kc));
	for (i = 0; i < n; i++) {
		cJSON *a = cJSON_CreateArray();
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)kc[i].n));
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)kc[i].repaired));
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)kc[i].failed));
		cJSON_AddItemToObject(k, kc[i].kind, a);
	}
	/* [kind, field, value, why, count, who]: the causes named in the period report */
	c = cJSON_AddArrayToObject(j, "causes");
	nc = report_causes(r, &cs);
	for (i = 0; i < nc && i < REC_MAX_CAUSES; i++) {
		cJSON *a = cJSON_CreateArray();
		struct buf t = BUF_INIT;
		cause_title(&cs[i], &t);
		cJSON_AddItemToArray(a, cJSON_CreateString(cs[i].kind));
		cJSON_AddItemToArray(a, cs[i].field ? cJSON_CreateString(cs[i].field) : cJSON_CreateNull());
		cJSON_AddItemToArray(a, cs[i].value ? cJSON_CreateString(cs[i].value) : cJSON_CreateNull());
		cJSON_AddItemToArray(a, cJSON_CreateString(t.p ? t.p : ""));
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)cs[i].candidates));
		cJSON_AddItemToArray(a, cJSON_CreateString(who_str(cs[i].who)));
		cJSON_AddItemToArray(c, a);
		buf_free(&t);
	}
	report_causes_free(cs, nc);
	/* [candidate, field, side]: what was repaired (recurring drift) */
	rep = cJSON_AddArrayToObject(j, "rep");
	for (i = 0, n = 0; i < r->nrows && n < REC_MAX_REPAIRS; i++) {
		struct report_row wv_;
		const struct report_row *w = report_row(r, i, &wv_);
		cJSON *a;
		if (strcmp(w->action, "repaired") != 0 || w->candidate == NULL)
			continue;
		a = cJSON_CreateArray();
		cJSON_AddItemToArray(a, cJSON_CreateString(w->candidate));
		cJSON_AddItemToArray(a, cJSON_CreateString(w->field ? w->field : w->kind));
		cJSON_AddItemToArray(a, cJSON_CreateString(w->side));
		cJSON_AddItemToArray(rep, a);
		n++;
	}
	txt = print_plain(j);
	buf_adds(out, txt);
	free(txt);
	cJSON_Delete(j);
}

static double
num_or(const cJSON *j, const char *key, double def)
{
	const cJSON *v = json_get(j, key);

	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

int
report_trend_add(struct report *r, const void *rec, size_t len)
{
	struct buf err = BUF_INIT;
	cJSON *j = json_parse(rec, len, &err), *f, *e;
	const cJSON *p = json_get(j, "after_pct");
	struct report_point *pt;
	int64_t ts = 0;
	size_t i;

	buf_free(&err);
	if (!cJSON_IsNumber(p) || json_int(j, "finished_ms", &ts) != 0) {
		cJSON_Delete(j);
		return -1;
	}
	r->trend = xrealloc(r->trend, (r->ntrend + 1) * sizeof(*r->trend));
	pt = &r->trend[r->ntrend];
	pt->ts_ms = ts;
	pt->pct = p->valuedouble;
	pt->before = num_or(j, "before_pct", NAN);
	pt->exit = (int)num_or(j, "exit", 0);
	pt->full = num_or(j, "full", 0) != 0 || str_eq(json_str(j, "mode"), "full");
	for (i = 0; i < r->nftrend; i++) {
		r->ftrend[i].pct = xrealloc(r->ftrend[i].pct, (r->ntrend + 1) * sizeof(double));
		r->ftrend[i].pct[r->ntrend] = NAN;
	}
	f = (cJSON *)json_get(j, "fields");
	cJSON_ArrayForEach(e, f) {
		const cJSON *a = cJSON_GetArrayItem(e, 0), *t = cJSON_GetArrayItem(e, 1);
		if (e->string == NULL || !cJSON_IsNumber(a) || !cJSON_IsNumber(t))
			continue;
		for (i = 0; i < r->nftrend; i++)
			if (strcmp(r->ftrend[i].field, e->string) == 0)
				break;
		if (i == r->nftrend) {
			size_t k;
			if (r->nftrend == REC_MAX_FIELDS)
				continue;
			r->ftrend = xrealloc(r->ftrend, (r->nftrend + 1) * sizeof(*r->ftrend));
			r->ftrend[i].field = xstrdup(e->string);
			r->ftrend[i].pct = xmalloc((r->ntrend + 1) * sizeof(double));
			for (k = 0; k <= r->ntrend; k++)
				r->ftrend[i].pct[k] = NAN;
			r->nftrend++;
		}
		r->ftrend[i].pct[r->ntrend] = t->valuedouble > 0 ? 100.0 * a->valuedouble / t->valuedouble :
		    100.0;
	}
	r->ntrend++;
	cJSON_Delete(j);
	return 0;
}

void
report_trend_keep(struct report *r, size_t n)
{
	size_t i, drop;

	if (r->ntrend <= n)
		return;
	drop = r->ntrend - n;
	memmove(r->trend, r->trend + drop, n * sizeof(*r->trend));
	for (i = 0; i < r->nftrend; i++)
		memmove(r->ftrend[i].pct, r->ftrend[i].pct + drop, n * sizeof(double));
	r->ntrend = n;
}

/* ----------------------------------------------------------------- JSON */

static void
json_trend(cJSON *j, const struct report *r)
{
	cJSON *trend = cJSON_AddArrayToObject(j, "trend"), *ft;
	char ts[32];
	size_t i, k;

	for (i = 0; i < r->ntrend; i++) {
		cJSON *t = cJSON_CreateObject();
		fmt_rfc3339_ms(r->trend[i].ts_ms, ts, sizeof(ts));
		cJSON_AddStringToObject(t, "at", ts);
		cJSON_AddNumberToObject(t, "after_pct", r->trend[i].pct);
		if (!isnan(r->trend[i].before))
			cJSON_AddNumberToObject(t, "before_pct", r->trend[i].before);
		cJSON_AddNumberToObject(t, "exit", r->trend[i].exit);
		cJSON_AddBoolToObject(t, "full", r->trend[i].full);
		cJSON_AddItemToArray(trend, t);
	}
	ft = cJSON_AddArrayToObject(j, "field_trend");
	for (k = 0; k < r->nftrend; k++) {
		cJSON *o = cJSON_CreateObject(), *a;
		cJSON_AddStringToObject(o, "field", r->ftrend[k].field);
		a = cJSON_AddArrayToObject(o, "pct");
		for (i = 0; i < r->ntrend; i++)
			cJSON_AddItemToArray(a, isnan(r->ftrend[k].pct[i]) ? cJSON_CreateNull() :
			    cJSON_CreateNumber(floor(r->ftrend[k].pct[i] * 10 + 0.5) / 10));
		cJSON_AddItemToArray(ft, o);
	}
}

static void
json_causes(cJSON *j, const struct report *r, int mask_pii)
{
	cJSON *ca = cJSON_AddArrayToObject(j, "causes");
	struct report_cause *c;
	size_t n = report_causes(r, &c), i, e;

	for (i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject(), *ex;
		struct buf t = BUF_INIT;
		cause_title(&c[i], &t);
		cJSON_AddStringToObject(o, "title", t.p ? t.p : "");
		cJSON_AddStringToObject(o, "who", who_str(c[i].who));
		cJSON_AddStringToObject(o, "kind", c[i].kind);
		add_value(o, "field", c[i].field, 0);
		add_value(o, "value", c[i].value, 0);
		add_value(o, "why", c[i].why, 0);
		cJSON_AddNumberToObject(o, "count", (double)c[i].count);
		cJSON_AddNumberToObject(o, "candidates", (double)c[i].candidates);
		cJSON_AddNumberToObject(o, "recover_pct", floor(c[i].recover_pct * 100 + 0.5) / 100);
		cJSON_AddStringToObject(o, "fix", c[i].fix);
		cJSON_AddStringToObject(o, "change", c[i].change);
		ex = cJSON_AddArrayToObject(o, "examples");
		for (e = 0; e < c[i].nex; e++) {
			struct report_row wv_;
			const struct report_row *w = report_row(r, c[i].ex[e], &wv_);
			cJSON *x = cJSON_CreateObject();
			add_candidate(x, "candidate", w->candidate, mask_pii && w->cand_pii);
			add_value(x, "ats", w->desired, mask_pii && w->pii);
			add_value(x, "keap", w->actual, mask_pii && w->pii);
			cJSON_AddItemToArray(ex, x);
		}
		cJSON_AddItemToArray(ca, o);
		buf_free(&t);
	}
	report_causes_free(c, n);
}

/*
 * report.json is written in three pieces so that its drift rows (one per
 * drifted value: 180,000 on a large first run) are never a cJSON tree nor one
 * string: the frame (everything else, printed by cJSON with a raw marker where
 * the rows go), then the rows one at a time, then the rest of the frame. The
 * text is what cJSON_Print makes of the whole tree, byte for byte.
 */
#define DRIFT_MARK "@drift-rows@"
#define DRIFT_SLOT "\"drift\":\t" DRIFT_MARK	/* a tab only the printer writes */

/* One drift row as an element of the frame's "drift" array (two levels in). */
static void
json_row(struct buf *out, const struct report_row *w, int mask_pii)
{
	cJSON *d = cJSON_CreateObject();
	char *t;
	const char *p;

	cJSON_AddStringToObject(d, "kind", w->kind);
	add_value(d, "field", w->field, 0);
	cJSON_AddStringToObject(d, "side", w->side);
	add_candidate(d, "candidate", w->candidate, mask_pii && w->cand_pii);
	add_value(d, "contact", w->contact, 0);
	add_value(d, "desired", w->desired, mask_pii && w->pii);
	add_value(d, "actual", w->actual, mask_pii && w->pii);
	cJSON_AddStringToObject(d, "action", w->action);
	add_value(d, "error", w->error, 0);
	t = cJSON_Print(d);
	cJSON_Delete(d);
	/* printed alone it is indented from column 0; in the array, two tabs in
	 * (a newline in a value is escaped, so every raw one is the printer's) */
	for (p = t; p != NULL && *p != '\0'; ) {
		size_t n = strcspn(p, "\n");
		buf_add(out, p, n);
		p += n;
		if (*p == '\n') {
			buf_adds(out, "\n\t\t");
			p++;
		}
	}
	cJSON_free(t);
}

typedef void (*json_sink)(void *arg, const void *data, size_t len);

static char *json_frame(const struct report *, int mask_pii);

/* The whole report.json, in pieces of at most about 64 kB, to sink. */
static void
json_stream(const struct report *r, int mask_pii, json_sink sink, void *arg)
{
	char *frame = json_frame(r, mask_pii);
	const char *slot = strstr(frame, DRIFT_SLOT), *rest;
	struct report_row wv_;
	struct buf b = BUF_INIT;
	size_t i;

	if (slot == NULL) {	/* cannot happen: the frame always has its slot */
		sink(arg, frame, strlen(frame));
		free(frame);
		return;
	}
	slot += strlen(DRIFT_SLOT) - strlen(DRIFT_MARK);
	rest = slot + strlen(DRIFT_MARK);
	sink(arg, frame, (size_t)(slot - frame));
	buf_addc(&b, '[');
	for (i = 0; i < r->nrows; i++) {
		if (i > 0)
			buf_adds(&b, ", ");
		json_row(&b, report_row(r, i, &wv_), mask_pii);
		if (b.len >= 65536) {
			sink(arg, b.p, b.len);
			buf_reset(&b);
		}
	}
	buf_addc(&b, ']');
	buf_adds(&b, rest);
	sink(arg, b.p, b.len);
	buf_free(&b);
	free(frame);
}

static void
sink_buf(void *arg, const void *data, size_t len)
{
	buf_add(arg, data, len);
}

static void
sink_file(void *arg, const void *data, size_t len)
{
	atomic_add(arg, data, len);
}

char *
report_json(const struct report *r, int mask_pii)
{
	struct buf b = BUF_INIT;

	json_stream(r, mask_pii, sink_buf, &b);
	return buf_take(&b);
}

static char *
json_frame(const struct report *r, int mask_pii)
{
	cJSON *j = cJSON_CreateObject(), *run, *tot, *acc, *pf, *api, *by, *rk;
	struct kind_count kc[32];
	char ts[32];
	char *out;
	size_t i, n;

	run = cJSON_AddObjectToObject(j, "run");
	cJSON_AddStringToObject(run, "id", r->run_id);
	fmt_rfc3339_ms(r->started_ms, ts, sizeof(ts));
	cJSON_AddStringToObject(run, "started", ts);
	fmt_rfc3339_ms(r->finished_ms, ts, sizeof(ts));
	cJSON_AddStringToObject(run, "finished", ts);
	cJSON_AddStringToObject(run, "mode", r->mode);
	cJSON_AddBoolToObject(run, "full", r->full);
	cJSON_AddNumberToObject(run, "exit", r->exit_status);
	if (r->message != NULL)
		cJSON_AddStringToObject(run, "message", r->message);
	cJSON_AddBoolToObject(run, "only_people_left", report_only_people_left(r));
	if (r->url != NULL)
		cJSON_AddStringToObject(run, "report_url", r->url);
	tot = cJSON_AddObjectToObject(j, "totals");
	cJSON_AddNumberToObject(tot, "candidates", (double)r->candidates);
	cJSON_AddNumberToObject(tot, "linked", (double)r->linked);
	cJSON_AddNumberToObject(tot, "in_sync", (double)r->in_sync);
	cJSON_AddNumberToObject(tot, "drifted", (double)r->drifted);
	cJSON_AddNumberToObject(tot, "repaired", (double)r->repaired);
	cJSON_AddNumberToObject(tot, "failed", (double)r->failed);
	cJSON_AddNumberToObject(tot, "deferred", (double)r->deferred);
	cJSON_AddNumberToObject(tot, "needs_person", (double)rows_needing_person(r));
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
	json_causes(j, r, mask_pii);
	rk = cJSON_AddObjectToObject(j, "by_kind");
	n = count_kinds(r, kc, ARRAY_LEN(kc));
	for (i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "count", (double)kc[i].n);
		cJSON_AddNumberToObject(o, "repaired", (double)kc[i].repaired);
		cJSON_AddNumberToObject(o, "failed", (double)kc[i].failed);
		cJSON_AddItemToObject(rk, kc[i].kind, o);
	}
	cJSON_AddRawToObject(j, "drift", DRIFT_MARK);	/* the rows: json_stream */
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
	json_trend(j, r);
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

/* ------------------------------------------------------------- Markdown */

static const char *
exit_words(int st)
{
	switch (st) {
	case 0: return "in sync";
	case 1: return "record-level problems";
	case 3: return "configuration error";
	case 4: return "authorisation needs a person";
	case 5: return "remote unavailable or deadline; retried later";
	case 6: return "guard tripped, nothing applied";
	case 7: return "API quota exhausted";
	case 9: return "state error";
	case 75: return "another run holds the lock";
	default: return "error";
	}
}

void
report_markdown(const struct report *r, int mask_pii, struct buf *out)
{
	struct kind_count kc[32];
	struct report_cause *c;
	size_t n, i, shown = 0, nc, np = 0;

	buf_addf(out, "### atsrecon run %s (%s%s) — exit %d, %s\n\n", r->run_id, r->mode,
	    r->full && strcmp(r->mode, "full") != 0 ? ", full sweep" : "", r->exit_status,
	    exit_words(r->exit_status));
	if (r->message != NULL) {
		buf_adds(out, "> ");
		report_md_text(out, r->message, 0);
		buf_adds(out, "\n\n");
	}
	for (i = 0; i < r->nnotes; i++) {
		buf_adds(out, "> note: ");
		report_md_text(out, r->notes[i], 0);
		buf_adds(out, "\n\n");
	}
	buf_addf(out, "**Accuracy:** %.1f %% before, **%.1f %%** after, over %zu linked candidates.\n\n",
	    r->before_pct, r->after_pct, r->linked);
	if (report_only_people_left(r))
		buf_addf(out, "**Everything atsrecon can repair is repaired.** The %zu remaining "
		    "difference%s need a person: the causes below say what to change.\n\n",
		    rows_needing_person(r), rows_needing_person(r) == 1 ? "" : "s");
	nc = report_causes(r, &c);
	for (i = 0; i < nc; i++)
		np += c[i].who == CAUSE_PERSON;
	if (np > 0) {
		buf_addf(out, "#### Needs a person: %zu cause%s, by impact\n\n", np, np == 1 ? "" : "s");
		for (i = 0; i < nc && shown < 10; i++) {
			struct buf t = BUF_INIT;
			if (c[i].who != CAUSE_PERSON)
				continue;
			cause_title(&c[i], &t);
			buf_addf(out, "%zu. **", ++shown);
			report_md_text(out, t.p, 0);
			buf_addf(out, "** — %zu candidate%s", c[i].candidates, c[i].candidates == 1 ? "" : "s");
			if (c[i].recover_pct > 0)
				buf_addf(out, ", +%.1f accuracy points", c[i].recover_pct);
			buf_adds(out, "  \n   Fix: ");
			report_md_text(out, c[i].fix, 0);
			if (c[i].change[0]) {
				buf_adds(out, "  \n   Change: ");
				report_md_text(out, c[i].change, 0);
			}
			if (c[i].nex > 0) {
				size_t e;
				buf_adds(out, "  \n   e.g. ");
				for (e = 0; e < c[i].nex; e++) {
					struct buf cb = BUF_INIT;
					struct report_row wv_;
					const struct report_row *w = report_row(r, c[i].ex[e], &wv_);
					report_candidate(&cb, w->candidate, mask_pii && w->cand_pii);
					buf_adds(out, e ? ", " : "");
					report_md_text(out, cb.p ? cb.p : "?", 0);
					buf_free(&cb);
				}
			}
			buf_adds(out, "\n");
			buf_free(&t);
		}
		if (np > shown)
			buf_addf(out, "\n… and %zu more causes in the report.\n", np - shown);
		buf_adds(out, "\n");
	}
	report_causes_free(c, nc);
	buf_addf(out, "| candidates | linked | in sync | drifted | repaired | failed | deferred |\n"
	    "|---:|---:|---:|---:|---:|---:|---:|\n| %zu | %zu | %zu | %zu | %zu | %zu | %zu |\n\n",
	    r->candidates, r->linked, r->in_sync, r->drifted, r->repaired, r->failed, r->deferred);
	n = count_kinds(r, kc, ARRAY_LEN(kc));
	if (n > 0) {
		buf_adds(out, "| drift | count | repaired | failed |\n|---|---:|---:|---:|\n");
		for (i = 0; i < n; i++) {
			buf_adds(out, "| ");
			report_md_text(out, kc[i].kind, 0);
			buf_addf(out, " | %zu | %zu | %zu |\n", kc[i].n, kc[i].repaired, kc[i].failed);
		}
		buf_adds(out, "\n");
	}
	shown = 0;
	for (i = 0; i < r->nrows && shown < 10; i++) {
		struct report_row wv_;
		const struct report_row *w = report_row(r, i, &wv_);
		struct buf cb = BUF_INIT;
		if (strcmp(w->action, "failed") != 0)
			continue;
		if (shown++ == 0)
			buf_adds(out, "Failed (retried next run):\n\n");
		report_candidate(&cb, w->candidate, mask_pii && w->cand_pii);
		buf_adds(out, "- ");
		report_md_text(out, cb.p ? cb.p : "", 0);
		buf_addf(out, " %s ", w->kind);
		report_md_text(out, w->field ? w->field : "", 0);
		buf_adds(out, ": ");
		report_md_text(out, w->error ? w->error : "", 0);
		buf_adds(out, "\n");
		buf_free(&cb);
	}
	buf_addf(out, "\nAPI: %ld retries, %ld × 429\n", r->retries, r->s429);
}

/* ------------------------------------------------------------------ CSV */

/* A drift row's cells in the order of drift.csv's header and the HTML table,
 * with whether each is masked (report.mask_pii); cb holds the candidate's. */
#define ROW_CELLS 9
#define ROW_ACTION 7
struct row_cells {
	const char *v[ROW_CELLS];
	int mask[ROW_CELLS];
};

static void
row_cells(const struct report_row *w, int mask_pii, struct buf *cb, struct row_cells *c)
{
	int pii = mask_pii && w->pii;

	report_candidate(cb, w->candidate, mask_pii && w->cand_pii);
	memset(c, 0, sizeof(*c));
	c->v[0] = w->kind;
	c->v[1] = w->field;
	c->v[2] = w->side;
	c->v[3] = cb->p;
	c->v[4] = w->contact;
	c->v[5] = w->desired;
	c->mask[5] = pii;
	c->v[6] = w->actual;
	c->mask[6] = pii;
	c->v[ROW_ACTION] = w->action;
	c->v[8] = w->error;
}
/* drift.csv into out; with f, flushed to f every 64 kB (never whole in memory) */
static void
csv(const struct report *r, int mask_pii, struct buf *out, struct atomic_file *f)
{
	struct report_row wv_;
	size_t i;

	buf_adds(out, "kind,field,side,candidate,contact,desired,actual,action,error\r\n");
	for (i = 0; i < r->nrows; i++) {
		struct buf cb = BUF_INIT;
		struct row_cells c;
		size_t k;
		row_cells(report_row(r, i, &wv_), mask_pii, &cb, &c);
		for (k = 0; k < ROW_CELLS; k++) {
			if (k > 0)
				buf_addc(out, ',');
			csv_cell(out, c.v[k], c.mask[k]);
		}
		buf_adds(out, "\r\n");
		buf_free(&cb);
		if (f != NULL && out->len >= 65536) {
			atomic_add(f, out->p, out->len);
			buf_reset(out);
		}
	}
}

/* ----------------------------------------------------------------- HTML */

void
report_html_head(struct buf *out, const char *title)
{
	buf_adds(out, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width\">"
	    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	    "style-src 'unsafe-inline'; img-src data:\">\n<title>");
	html_text(out, title, 0);
	buf_adds(out, "</title>\n<style>\n"
	    ":root{--ink:#1d2433;--muted:#5b6577;--line:#d9dee7;--ok:#1f7a4d;--bad:#b42318;"
	    "--warn:#b54708;--accent:#2855c7;--soft:#f5f7fb}\n"
	    "*{box-sizing:border-box}\n"
	    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;"
	    "color:var(--ink);background:#fff}\n"
	    "main{max-width:1040px;margin:0 auto;padding:28px 32px 48px}\n"
	    "header{border-bottom:3px solid var(--ink);padding-bottom:12px;margin-bottom:20px}\n"
	    "header h1{font-size:24px;margin:0 0 4px}header .sub{color:var(--muted)}\n"
	    "h2{font-size:18px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}\n"
	    ".kpis{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}\n"
	    ".kpi{flex:1 1 150px;border:1px solid var(--line);border-radius:8px;padding:10px 14px;"
	    "background:var(--soft)}\n"
	    ".kpi .v{font-size:26px;font-weight:650}.kpi .l{color:var(--muted);font-size:12px;"
	    "text-transform:uppercase;letter-spacing:.04em}\n"
	    ".kpi.good .v{color:var(--ok)}.kpi.bad .v{color:var(--bad)}\n"
	    ".callout{border-left:4px solid var(--accent);background:var(--soft);padding:10px 14px;"
	    "margin:14px 0}\n.callout.warn{border-color:var(--warn)}\n"
	    "ol.causes{list-style:none;padding:0;margin:0;counter-reset:c}\n"
	    ".cause{border:1px solid var(--line);border-radius:8px;padding:12px 16px;margin:10px 0;"
	    "break-inside:avoid;page-break-inside:avoid}\n"
	    ".cause h3{font-size:15px;margin:0 0 6px}\n"
	    ".cause h3::before{counter-increment:c;content:counter(c) \". \";color:var(--muted)}\n"
	    ".cause .meta{color:var(--muted);margin-bottom:6px}.cause .meta b{color:var(--ink)}\n"
	    ".cause .fix{margin:4px 0}.cause code,.mono{font:12.5px ui-monospace,Menlo,Consolas,monospace;"
	    "background:#eef1f6;padding:1px 5px;border-radius:4px;overflow-wrap:anywhere}\n"
	    ".cause .ex{color:var(--muted);font-size:12.5px}\n"
	    "table{border-collapse:collapse;margin:8px 0 16px;width:100%}\n"
	    "td,th{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top;"
	    "overflow-wrap:anywhere}\n"
	    "th{background:var(--soft);font-weight:600;font-size:12.5px}th.num{white-space:nowrap}\n"
	    "#recurring-table td:first-child,#fields td:first-child{overflow-wrap:normal;white-space:nowrap}\n"
	    ".num{text-align:right;font-variant-numeric:tabular-nums}\n"
	    ".failed{color:var(--bad)}.repaired{color:var(--ok)}\n"
	    "svg text{font:11px system-ui,sans-serif;fill:#5b6577}\n"
	    "svg.chart{width:100%;height:auto;max-width:960px}\n"
	    ".legend{color:var(--muted);font-size:12px}\n"
	    "details summary{cursor:pointer;color:var(--accent);margin:8px 0}\n"
	    "footer{margin-top:36px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);"
	    "padding-top:8px}\n"
	    "@media print{@page{size:A4;margin:14mm}main{max-width:none;padding:0}"
	    "body{font-size:11px}h2{break-after:avoid}section.page,#trend-section{break-before:page}"
	    "tr,.kpi,.cause,svg{break-inside:avoid;page-break-inside:avoid}thead{display:table-header-group}"
	    ".kpis{flex-wrap:nowrap}.kpi{background:none;padding:6px 10px}.kpi .v{font-size:20px}"
	    "details summary{color:var(--ink)}"
	    "a{color:inherit;text-decoration:none}}\n"
	    "</style></head><body><main>\n");
}

/* with_time: 0 "07 Dec", 1 "07 Dec 11:36", 2 "11:36:05" */
static void
fmt_day(int64_t ms, int with_time, char *out, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, size, with_time == 2 ? "%H:%M:%S" : with_time ? "%d %b %H:%M" : "%d %b", &tm);
}

/* The trend chart's geometry: the plot's size and margins, the value axis
 * from lo to 100, the time axis from t0 to t1 (x0 to x1 on the page). */
struct trend {
	double W, H, L, R, T, B;
	double lo, span, x0, x1;
	int64_t t0, t1;
	int with_time;	/* fmt_day's: 0 dates, 1 dates and times, 2 times only */
};

static double
trend_x(const struct trend *g, int64_t ts)
{
	return g->t1 > g->t0 ? g->x0 + (g->x1 - g->x0) * (double)(ts - g->t0) / (double)(g->t1 - g->t0) :
	    (g->x0 + g->x1) / 2;
}

static double
trend_y(const struct trend *g, double v)
{
	return g->T + (g->H - g->T - g->B) * (100 - v) / g->span;
}

/* Fits the axes to the n (> 0) points. */
static void
trend_scale(struct trend *g, const struct report_point *p, size_t n)
{
	double lo = 100;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i].pct < lo)
			lo = p[i].pct;
		if (!isnan(p[i].before) && p[i].before < lo)
			lo = p[i].before;
	}
	lo = floor((lo - 2) / 10) * 10;
	if (lo < 0)
		lo = 0;
	if (lo > 90)
		lo = 90;
	g->lo = lo;
	g->span = 100 - lo;
	g->t0 = g->t1 = p[0].ts_ms;	/* records come in key (time) order; a clock step must not break the axis */
	for (i = 1; i < n; i++) {
		if (p[i].ts_ms < g->t0)
			g->t0 = p[i].ts_ms;
		if (p[i].ts_ms > g->t1)
			g->t1 = p[i].ts_ms;
	}
	g->with_time = g->t1 - g->t0 >= 3LL * 86400 * 1000 ? 0 : g->t1 - g->t0 >= 3600LL * 1000 ? 1 : 2;
	g->x0 = g->L + 10;
	g->x1 = g->W - g->R - 10;
}

/* The grid with its value labels, the time axis with up to 7 date ticks,
 * evenly spaced in time (the day once, under the axis, when every run is
 * within the hour). */
static void
trend_axes(struct buf *out, const struct trend *g, size_t n)
{
	size_t i, ticks = n < 7 ? n : 7;
	char d[32];

	for (i = 0; i <= 5; i++) {
		double v = g->lo + g->span * (double)i / 5;
		buf_addf(out, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#e3e7ee\"/>"
		    "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.0f%%</text>\n", g->L, trend_y(g, v),
		    g->W - g->R, trend_y(g, v), g->L - 6, trend_y(g, v) + 4, v);
	}
	buf_addf(out, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#8a94a6\"/>\n", g->L,
	    g->H - g->B, g->W - g->R, g->H - g->B);
	if (g->with_time == 2) {
		fmt_day(g->t0, 0, d, sizeof(d));
		buf_addf(out, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">times on %s (UTC)</text>\n",
		    g->W - g->R, g->H - 4, d);
	}
	for (i = 0; i < ticks; i++) {
		int64_t ts = ticks > 1 ? g->t0 + (int64_t)((double)(g->t1 - g->t0) * (double)i /
		    (double)(ticks - 1)) : g->t0;
		double x = trend_x(g, ts);
		fmt_day(ts, g->with_time, d, sizeof(d));
		buf_addf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#8a94a6\"/>"
		    "<text class=\"date\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">%s</text>\n", x,
		    g->H - g->B, x, g->H - g->B + 4, x, g->H - g->B + 17, ticks > 1 && i == 0 ? "start" :
		    ticks > 1 && i == ticks - 1 ? "end" : "middle", d);
	}
}

/* The runs: full sweeps marked above the axis, before (dashed), after
 * (line and dots, a cross for a failed run). */
static void
trend_runs(struct buf *out, const struct trend *g, const struct report_point *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i].full)
			buf_addf(out, "<g class=\"full\"><line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.1f\" "
			    "stroke=\"#2855c7\" stroke-dasharray=\"2 3\" opacity=\".5\"/><path d=\"M%.1f %.1f l5 8 "
			    "l-10 0 z\" fill=\"#2855c7\"/></g>\n", trend_x(g, p[i].ts_ms), g->T,
			    trend_x(g, p[i].ts_ms), g->H - g->B, trend_x(g, p[i].ts_ms), g->H - g->B + 22);
	buf_adds(out, "<polyline fill=\"none\" stroke=\"#9aa4b5\" stroke-width=\"1.5\" "
	    "stroke-dasharray=\"4 3\" points=\"");
	for (i = 0; i < n; i++)
		if (!isnan(p[i].before))
			buf_addf(out, "%.1f,%.1f ", trend_x(g, p[i].ts_ms), trend_y(g, p[i].before));
	buf_adds(out, "\"/>\n");
	for (i = 0; i < n; i++)
		if (!isnan(p[i].before))
			buf_addf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.4\" fill=\"#fff\" stroke=\"#9aa4b5\"/>",
			    trend_x(g, p[i].ts_ms), trend_y(g, p[i].before));
	buf_adds(out, "\n<polyline fill=\"none\" stroke=\"#1f7a4d\" stroke-width=\"2.2\" points=\"");
	for (i = 0; i < n; i++)
		buf_addf(out, "%.1f,%.1f ", trend_x(g, p[i].ts_ms), trend_y(g, p[i].pct));
	buf_adds(out, "\"/>\n");
	for (i = 0; i < n; i++) {
		char d[32];
		double x = trend_x(g, p[i].ts_ms), y = trend_y(g, p[i].pct);
		int failed = p[i].exit >= 2;
		fmt_day(p[i].ts_ms, 1, d, sizeof(d));
		if (failed)
			buf_addf(out, "<g class=\"failed-run\"><path d=\"M%.1f %.1f l8 8 m0 -8 l-8 8\" "
			    "stroke=\"#b42318\" stroke-width=\"2.2\"/>", x - 4, y - 4);
		else
			buf_addf(out, "<g class=\"run\"><circle cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" fill=\"#1f7a4d\"/>",
			    x, y, n > 60 ? "1.8" : "3.2");
		buf_addf(out, "<title>%s: ", d);
		if (!isnan(p[i].before))
			buf_addf(out, "%.1f %% before, ", p[i].before);
		buf_addf(out, "%.1f %% after, exit %d%s</title></g>\n", p[i].pct, p[i].exit,
		    p[i].full ? ", full sweep" : "");
	}
}

/* The trend chart: after (line and dots) and before (dashed) per run, dates
 * on the axis, full sweeps and failed runs marked. */
void
report_html_trend(struct buf *out, const struct report_point *p, size_t n, const char *id)
{
	struct trend g = { .W = 960, .H = 280, .L = 48, .R = 16, .T = 14, .B = 54 };

	buf_addf(out, "<svg class=\"chart\" id=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "
	    "%.0f %.0f\" role=\"img\" aria-label=\"accuracy per run\">\n", id, g.W, g.H);
	if (n == 0) {
		buf_adds(out, "<text x=\"20\" y=\"40\">no runs recorded yet</text></svg>\n");
		return;
	}
	trend_scale(&g, p, n);
	trend_axes(out, &g, n);
	trend_runs(out, &g, p, n);
	/* legend */
	buf_addf(out, "<g transform=\"translate(%.0f %.0f)\">"
	    "<line x1=\"0\" y1=\"0\" x2=\"18\" y2=\"0\" stroke=\"#1f7a4d\" stroke-width=\"2.2\"/>"
	    "<text x=\"22\" y=\"4\">after the run</text>"
	    "<line x1=\"110\" y1=\"0\" x2=\"128\" y2=\"0\" stroke=\"#9aa4b5\" stroke-dasharray=\"4 3\"/>"
	    "<text x=\"132\" y=\"4\">before the run</text>"
	    "<path d=\"M231 -5 l5 8 l-10 0 z\" fill=\"#2855c7\"/><text x=\"240\" y=\"4\">full sweep</text>"
	    "<path d=\"M320 -4 l8 8 m0 -8 l-8 8\" stroke=\"#b42318\" stroke-width=\"2\"/>"
	    "<text x=\"332\" y=\"4\">failed run (exit 2 or more)</text></g>\n", g.L, g.H - 8);
	buf_adds(out, "</svg>\n");
}

/* A small trend of one field (NAN: not recorded that run). */
void
report_html_spark(struct buf *out, const double *v, size_t n)
{
	const double W = 160, H = 30;
	double lo = 100;
	size_t i, have = 0;

	for (i = 0; i < n; i++)
		if (!isnan(v[i])) {
			have++;
			if (v[i] < lo)
				lo = v[i];
		}
	buf_addf(out, "<svg class=\"spark\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
	    "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"trend\">", W, H, W, H);
	if (have > 0) {
		lo = floor((lo - 1) / 5) * 5;
		if (lo < 0)
			lo = 0;
		if (lo > 95)
			lo = 95;
		buf_addf(out, "<line x1=\"0\" y1=\"3\" x2=\"%.0f\" y2=\"3\" stroke=\"#e3e7ee\"/>", W);
		buf_adds(out, "<polyline fill=\"none\" stroke=\"#2855c7\" stroke-width=\"1.6\" points=\"");
		for (i = 0; i < n; i++)
			if (!isnan(v[i]))
				buf_addf(out, "%.1f,%.1f ", n > 1 ? 2 + (W - 4) * (double)i / (double)(n - 1) : W / 2,
				    3 + (H - 6) * (100 - v[i]) / (100 - lo));
		buf_adds(out, "\"/>");
		for (i = n; i-- > 0;)
			if (!isnan(v[i])) {	/* the latest value, a dot (a lone point shows too) */
				buf_addf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.2\" fill=\"#2855c7\"/>",
				    n > 1 ? 2 + (W - 4) * (double)i / (double)(n - 1) : W / 2,
				    3 + (H - 6) * (100 - v[i]) / (100 - lo));
				break;
			}
	}
	buf_adds(out, "</svg>");
}

static void
html_cause(struct buf *out, const struct report *r, const struct report_cause *c, int mask_pii)
{
	struct buf t = BUF_INIT;
	size_t e;

	cause_title(c, &t);
	buf_addf(out, "<li class=\"cause\" data-kind=\"%s\" data-count=\"%zu\" data-candidates=\"%zu\">"
	    "<h3>", c->kind, c->count, c->candidates);
	html_text(out, t.p, 0);
	buf_addf(out, "</h3>\n<div class=\"meta\"><b class=\"count\">%zu</b> candidate%s", c->candidates,
	    c->candidates == 1 ? "" : "s");
	if (c->count != c->candidates)
		buf_addf(out, " (%zu values)", c->count);
	if (c->recover_pct > 0)
		buf_addf(out, " · fixing it recovers <b>+%.1f</b> accuracy points", c->recover_pct);
	buf_adds(out, "</div>\n<div class=\"fix\"><b>Fix:</b> ");
	html_text(out, c->fix, 0);
	buf_adds(out, "</div>\n");
	if (c->change[0]) {
		buf_adds(out, "<div class=\"fix\"><b>Change:</b> <code>");
		html_text(out, c->change, 0);
		buf_adds(out, "</code></div>\n");
	}
	if (c->nex > 0) {
		buf_adds(out, "<div class=\"ex\">For example: ");
		for (e = 0; e < c->nex; e++) {
			struct report_row wv_;
			const struct report_row *w = report_row(r, c->ex[e], &wv_);
			struct buf cb = BUF_INIT;
			report_candidate(&cb, w->candidate, mask_pii && w->cand_pii);
			buf_adds(out, e ? "; " : "");
			html_text(out, cb.p ? cb.p : "?", 0);
			if (w->desired != NULL && c->value == NULL) {
				buf_adds(out, " (");
				html_text(out, w->desired, mask_pii && w->pii);
				buf_adds(out, ")");
			}
			buf_free(&cb);
		}
		buf_adds(out, "</div>\n");
	}
	buf_adds(out, "</li>\n");
	buf_free(&t);
}

/* The page's header: run, mode and exit, the run's message and notes. */
static void
html_header(const struct report *r, struct buf *out)
{
	char day[32];
	size_t i;

	fmt_day(r->finished_ms ? r->finished_ms : r->started_ms, 1, day, sizeof(day));
	report_html_head(out, "atsrecon data-quality report");
	buf_addf(out, "<header><h1>Keap ↔ ATS data quality</h1><div class=\"sub\">Run <code>%s</code> · "
	    "%s UTC · %s%s · exit %d (%s)</div></header>\n", r->run_id, day, r->mode,
	    r->full && strcmp(r->mode, "full") != 0 ? ", full sweep" : "", r->exit_status,
	    exit_words(r->exit_status));
	if (r->message != NULL) {
		buf_adds(out, "<p class=\"callout warn\">");
		html_text(out, r->message, 0);
		buf_adds(out, "</p>\n");
	}
	for (i = 0; i < r->nnotes; i++) {
		buf_adds(out, "<p class=\"note callout\">Note: ");
		html_text(out, r->notes[i], 0);
		buf_adds(out, "</p>\n");
	}
}

/* The key figures; np: the causes that need a person. */
static void
html_kpis(const struct report *r, size_t np, struct buf *out)
{
	buf_addf(out, "<div class=\"kpis\"><div class=\"kpi %s\" id=\"acc-after\"><div class=\"v\">%.1f %%"
	    "</div><div class=\"l\">accuracy after the run</div></div>"
	    "<div class=\"kpi\"><div class=\"v\">%.1f %%</div><div class=\"l\">before the run</div></div>"
	    "<div class=\"kpi\"><div class=\"v\">%zu</div><div class=\"l\">linked candidates</div></div>"
	    "<div class=\"kpi good\"><div class=\"v\">%zu</div><div class=\"l\">repaired</div></div>"
	    "<div class=\"kpi %s\"><div class=\"v\">%zu</div><div class=\"l\">causes need a person</div>"
	    "</div></div>\n", r->after_pct >= 99.5 ? "good" : r->after_pct < 90 ? "bad" : "", r->after_pct,
	    r->before_pct, r->linked, r->repaired, np > 0 ? "bad" : "good", np);
	if (report_only_people_left(r))
		buf_addf(out, "<p class=\"callout\" id=\"only-people\"><b>Everything atsrecon can repair is "
		    "repaired.</b> The %zu remaining difference%s need a person; the causes below say "
		    "what to change.</p>\n", rows_needing_person(r), rows_needing_person(r) == 1 ? "" : "s");
}

/* The causes that need a person, by impact. */
static void
html_causes(const struct report *r, const struct report_cause *c, size_t nc, size_t np, int mask_pii,
    struct buf *out)
{
	size_t i;

	buf_addf(out, "<section id=\"causes\"><h2>What needs a person</h2>\n");
	if (np == 0)
		buf_adds(out, "<p>Nothing: every difference found was repaired or is retried "
		    "automatically.</p>\n");
	else {
		buf_adds(out, "<p class=\"legend\">Grouped by cause and sorted by impact. One fix clears "
		    "every candidate of its cause; the accuracy gain counts the values that would agree.</p>\n"
		    "<ol class=\"causes\">\n");
		for (i = 0; i < nc; i++)
			if (c[i].who == CAUSE_PERSON)
				html_cause(out, r, &c[i], mask_pii);
		buf_adds(out, "</ol>\n");
	}
	buf_adds(out, "</section>\n");
}

/* Agreement per field, each with its sparkline. */
static void
html_fields(const struct report *r, struct buf *out)
{
	size_t i, k;

	buf_adds(out, "<section id=\"fields-section\"><h2>Agreement per field</h2>\n<table id=\"fields\">"
	    "<thead><tr><th>field</th><th>trend</th><th class=\"num\">agree</th><th class=\"num\">total</th>"
	    "<th class=\"num\">%</th></tr></thead><tbody>\n");
	for (i = 0; i < r->nfields; i++) {
		buf_adds(out, "<tr><td>");
		html_text(out, r->fields[i].field, 0);
		buf_adds(out, "</td><td>");
		for (k = 0; k < r->nftrend; k++)
			if (strcmp(r->ftrend[k].field, r->fields[i].field) == 0) {
				report_html_spark(out, r->ftrend[k].pct, r->ntrend);
				break;
			}
		buf_addf(out, "</td><td class=\"num\">%zu</td><td class=\"num\">%zu</td><td class=\"num\">%.1f"
		    "</td></tr>\n", r->fields[i].agree, r->fields[i].total,
		    pct(r->fields[i].agree, r->fields[i].total));
	}
	buf_adds(out, "</tbody></table></section>\n");
}

/* Drift by kind, then the causes reported by policy or retried. */
static void
html_repairs(const struct kind_count *kc, size_t n, const struct report_cause *c, size_t nc,
    size_t nother, struct buf *out)
{
	size_t i;

	buf_adds(out, "<section id=\"repairs\"><h2>Drift by kind</h2>\n<table id=\"kinds\"><thead><tr>"
	    "<th>kind</th><th class=\"num\">found</th><th class=\"num\">repaired</th><th class=\"num\">"
	    "failed</th></tr></thead><tbody>\n");
	for (i = 0; i < n; i++) {
		buf_adds(out, "<tr><td>");
		html_text(out, kc[i].kind, 0);
		buf_addf(out, "</td><td class=\"num\">%zu</td><td class=\"num repaired\">%zu</td>"
		    "<td class=\"num\">%zu</td></tr>\n", kc[i].n, kc[i].repaired, kc[i].failed);
	}
	buf_adds(out, "</tbody></table>\n");
	if (nother > 0) {
		buf_adds(out, "<h3>Reported by policy or retried automatically</h3>\n<table id=\"other-causes\">"
		    "<thead><tr><th>cause</th><th>what happens</th><th class=\"num\">candidates</th></tr>"
		    "</thead><tbody>\n");
		for (i = 0; i < nc; i++) {
			struct buf t = BUF_INIT;
			if (c[i].who == CAUSE_PERSON)
				continue;
			cause_title(&c[i], &t);
			buf_adds(out, "<tr><td>");
			html_text(out, t.p, 0);
			buf_adds(out, "</td><td>");
			html_text(out, c[i].fix, 0);
			buf_addf(out, "</td><td class=\"num\">%zu</td></tr>\n", c[i].candidates);
			buf_free(&t);
		}
		buf_adds(out, "</tbody></table>\n");
	}
	buf_adds(out, "</section>\n");
}

/* The totals, and candidates in sync per stage and per job. */
static void
html_totals(const struct report *r, struct buf *out)
{
	static const char *const title[RG__MAX] = { NULL, "stage", "job" };
	size_t i;
	int g;

	buf_addf(out, "<section id=\"totals-section\"><h2>Totals</h2><table id=\"totals\"><thead><tr>"
	    "<th class=\"num\">candidates</th><th class=\"num\">linked</th><th class=\"num\">in sync</th>"
	    "<th class=\"num\">drifted</th><th class=\"num\">repaired</th><th class=\"num\">failed</th>"
	    "<th class=\"num\">deferred</th></tr></thead><tbody>\n<tr><td class=\"num\">%zu"
	    "</td><td class=\"num\">%zu</td><td class=\"num\">%zu</td><td class=\"num\">%zu</td><td class=\"num\">%zu"
	    "</td><td class=\"num\">%zu</td><td class=\"num\">%zu</td></tr></tbody></table></section>\n",
	    r->candidates, r->linked, r->in_sync, r->drifted, r->repaired, r->failed, r->deferred);
	buf_adds(out, "<section class=\"page\" id=\"groups\">");
	for (g = RG_STAGE; g < RG__MAX; g++) {
		buf_addf(out, "<h2>Candidates in sync per %s</h2>\n<table id=\"per-%s\"><thead><tr><th>%s</th>"
		    "<th class=\"num\">in sync</th><th class=\"num\">total</th><th class=\"num\">%%</th></tr>"
		    "</thead><tbody>\n", title[g], title[g], title[g]);
		for (i = 0; i < r->ngroups[g]; i++) {
			const struct report_field *x = &r->groups[g][i];
			buf_adds(out, "<tr><td>");
			html_text(out, x->field, 0);
			buf_addf(out, "</td><td class=\"num\">%zu</td><td class=\"num\">%zu</td><td "
			    "class=\"num\">%.1f</td></tr>\n", x->agree, x->total, pct(x->agree, x->total));
		}
		buf_adds(out, "</tbody></table>\n");
	}
	buf_adds(out, "</section>\n");
}

/* One drift record as a table row. */
static void
html_drift_row(const struct report_row *x, int mask_pii, struct buf *out)
{
	struct buf cb = BUF_INIT;
	struct row_cells c;
	size_t k;

	row_cells(x, mask_pii, &cb, &c);
	buf_adds(out, "<tr>");
	for (k = 0; k < ROW_CELLS; k++) {
		if (k == ROW_ACTION) {	/* the action is also the cell's class */
			buf_adds(out, "<td class=\"");
			html_text(out, c.v[k], 0);
			buf_adds(out, "\">");
		} else
			buf_adds(out, "<td>");
		html_text(out, c.v[k], c.mask[k]);
		buf_adds(out, "</td>");
	}
	buf_adds(out, "</tr>\n");
	buf_free(&cb);
}

/* Every drift record, grouped in the order of the kinds table; with f, out
 * goes to the file every 64 kB (a million rows never sit in memory as HTML). */
static void
html_drift(const struct report *r, const struct kind_count *kc, size_t n, int mask_pii,
    struct buf *out, struct atomic_file *f)
{
	struct report_row wv_;
	size_t i, k;

	buf_addf(out, "<section id=\"all-drift\"><h2>Every drift record</h2>\n<details><summary>Show all %zu "
	    "rows (also in drift.csv)</summary>\n<table id=\"drift\"><thead><tr><th>kind</th><th>field</th>"
	    "<th>side</th><th>candidate</th><th>contact</th><th>ATS</th><th>Keap</th><th>action</th>"
	    "<th>error</th></tr></thead><tbody>\n", r->nrows);
	for (k = 0; k < n; k++)
		for (i = 0; i < r->nrows; i++)
			if (row_kind(r, i) == kc[k].kind) {
				html_drift_row(report_row(r, i, &wv_), mask_pii, out);
				if (f != NULL && out->len >= 65536) {
					atomic_add(f, out->p, out->len);
					buf_reset(out);
				}
			}
	buf_adds(out, "</tbody></table></details></section>\n");
}

/* The footer: start, API use, where it is published and whether PII is masked. */
static void
html_footer(const struct report *r, int mask_pii, struct buf *out)
{
	char started[32];

	fmt_rfc3339_ms(r->started_ms, started, sizeof(started));
	buf_addf(out, "<footer>atsrecon · run started %s · API: %ld retries, %ld × 429", started,
	    r->retries, r->s429);
	if (r->quota_left >= 0)
		buf_addf(out, ", quota left %ld", r->quota_left);
	if (r->url != NULL) {
		buf_adds(out, " · published at ");
		html_text(out, r->url, 0);
	}
	buf_adds(out, " · emails and phones ");
	buf_adds(out, mask_pii ? "masked" : "NOT masked (report.mask_pii is false)");
	buf_adds(out, "</footer>\n</main></body></html>\n");
}

/* The page into out; with f, its drift table is written to f as it grows
 * (out then holds what follows the last flush). */
static void
html(const struct report *r, int mask_pii, struct buf *out, struct atomic_file *f)
{
	struct kind_count kc[32];
	struct report_cause *c;
	size_t n, i, nc, np = 0, nother = 0;

	html_header(r, out);
	nc = report_causes(r, &c);
	for (i = 0; i < nc; i++) {
		np += c[i].who == CAUSE_PERSON;
		nother += c[i].who != CAUSE_PERSON;
	}
	html_kpis(r, np, out);
	html_causes(r, c, nc, np, mask_pii, out);
	buf_addf(out, "<section id=\"trend-section\"><h2>Accuracy over the last %zu run%s</h2>\n", r->ntrend,
	    r->ntrend == 1 ? "" : "s");
	report_html_trend(out, r->trend, r->ntrend, "trend");
	buf_adds(out, "</section>\n");
	html_fields(r, out);
	n = count_kinds(r, kc, ARRAY_LEN(kc));
	html_repairs(kc, n, c, nc, nother, out);
	report_causes_free(c, nc);
	html_totals(r, out);
	html_drift(r, kc, n, mask_pii, out, f);
	html_footer(r, mask_pii, out);
}

/* dir/name made by fn, which flushes to the file as it goes: what it leaves
 * in its buffer is the end of the file. 0, or -1 when it cannot be written. */
static int
write_streamed(const char *dir, const char *name,
    void (*fn)(const struct report *, int, struct buf *, struct atomic_file *),
    const struct report *r, int mask_pii)
{
	struct buf path = BUF_INIT, b = BUF_INIT;
	struct atomic_file f;
	int e = -1;

	buf_addf(&path, "%s/%s", dir, name);
	if (atomic_open(&f, path.p, 0600) == 0) {
		fn(r, mask_pii, &b, &f);
		atomic_add(&f, b.p, b.len);
		e = atomic_commit(&f, path.p);
	}
	buf_free(&b);
	buf_free(&path);
	return e;
}

enum rc
report_write(const struct report *r, const char *dir, int mask_pii)
{
	struct buf b = BUF_INIT, path = BUF_INIT;
	enum rc rc = RC_OK;
	int e = 0;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_error("report", "cannot create %s: %s", dir, strerror(errno));
		return RC_STATE;
	}
	buf_addf(&path, "%s/report.json", dir);
	{
		struct atomic_file f;
		if (atomic_open(&f, path.p, 0600) != 0)
			e = -1;
		else {
			json_stream(r, mask_pii, sink_file, &f);
			e |= atomic_commit(&f, path.p);
		}
	}
	report_markdown(r, mask_pii, &b);
	buf_reset(&path);
	buf_addf(&path, "%s/report.md", dir);
	e |= atomic_write(path.p, b.p, b.len, 0600);
	buf_free(&b);
	e |= write_streamed(dir, "drift.csv", csv, r, mask_pii);
	e |= write_streamed(dir, "report.html", html, r, mask_pii);
	if (e != 0) {
		log_error("report", "cannot write the report into %s: %s", dir, strerror(errno));
		rc = RC_STATE;
	}
	buf_free(&b);
	buf_free(&path);
	return rc;
}

/* The run's totals as JSON: what Lambda's response carries. */
void
report_summary_json(const struct report *rep, struct buf *out)
{
	char *j = report_json(rep, 1);
	struct buf err = BUF_INIT;
	cJSON *all = json_parse(j, strlen(j), &err), *s = cJSON_CreateObject(), *acc;
	char *txt;

	cJSON_AddItemToObject(s, "run", cJSON_DetachItemFromObject(all, "run"));
	cJSON_AddItemToObject(s, "totals", cJSON_DetachItemFromObject(all, "totals"));
	acc = cJSON_AddObjectToObject(s, "accuracy");
	cJSON_AddNumberToObject(acc, "before_pct", rep->before_pct);
	cJSON_AddNumberToObject(acc, "after_pct", rep->after_pct);
	txt = json_print(s);
	buf_adds(out, txt);
	free(txt);
	cJSON_Delete(all);
	cJSON_Delete(s);
	buf_free(&err);
	free(j);
}
