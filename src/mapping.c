/* mapping.c — see mapping.h. */
#define _POSIX_C_SOURCE 200809L
#include "mapping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "norm.h"

void
mapping_free(struct mapping *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		struct map_rule *r = &m->rules[i];
		free(r->from);
		free(r->constant);
		free(r->to);
		free(r->key);
		strv_free(r->map_from, r->nmap);
		strv_free(r->map_to, r->nmap);
		strv_free(r->confirm, r->nconfirm);
		free(r->custom_id);
		free(r->custom_type);
		strv_free(r->options, r->noptions);
	}
	free(m->rules);
	for (i = 0; i < m->nby_status; i++) {
		free(m->by_status[i].k);
		free(m->by_status[i].v);
	}
	free(m->by_status);
	for (i = 0; i < m->nby_stage; i++) {
		free(m->by_stage[i].k);
		free(m->by_stage[i].v);
	}
	free(m->by_stage);
	free(m->tag_category);
	memset(m, 0, sizeof(*m));
}

enum rc
mapping_resolve(struct mapping *m, const struct keap_model *model, struct buf *err)
{
	size_t i, k;

	for (i = 0; i < m->n; i++) {
		struct map_rule *r = &m->rules[i];
		const struct keap_field *f;
		int choice;

		if (r->tgt != TGT_CUSTOM)
			continue;
		f = keap_model_field(model, r->key);
		if (f == NULL) {
			buf_addf(err, "fields[%zu] (line %d): Keap has no custom field labelled \"%s\"; "
			    "create it in Keap or fix the label", i, r->line, r->key);
			return RC_CONFIG;
		}
		free(r->custom_id);
		free(r->custom_type);
		strv_free(r->options, r->noptions);
		r->custom_id = xstrdup(f->id);
		r->custom_type = xstrdup(f->type ? f->type : "TEXT");
		r->options = xcalloc(f->noptions + 1, sizeof(char *));
		for (k = 0; k < f->noptions; k++)
			r->options[k] = xstrdup(f->options[k]);
		r->noptions = f->noptions;
		choice = strcmp(r->custom_type, "DROPDOWN") == 0 || strcmp(r->custom_type, "RADIO") == 0;
		for (k = 0; choice && k < r->nmap; k++)
			if (!keap_field_has_option(f, r->map_to[k])) {
				buf_addf(err, "fields[%zu] (line %d): map value \"%s\" is not an option of "
				    "the Keap field \"%s\"", i, r->line, r->map_to[k], r->key);
				return RC_CONFIG;
			}
	}
	return RC_OK;
}

void
desired_free(struct desired *d)
{
	free(d->value);
	free(d->raw);
	memset(d, 0, sizeof(*d));
}

static char *
fmt_time(int64_t ms, int date)
{
	char out[32];

	if (ms == 0)
		return xstrdup("");
	if (date)
		norm_fmt_date(ms, out);
	else
		norm_fmt_datetime_s(ms, out);	/* whole seconds (DESIGN.md §4) */
	return xstrdup(out);
}

/* The candidate's value of a canonical field, as text ("" when absent). */
static char *
canonical(const struct map_rule *r, const struct candidate *c, int date_only)
{
	const char *f = r->from, *s = NULL;
	size_t i;

	if (r->constant != NULL)
		return xstrdup(r->constant);
	if (strcmp(f, "first_name") == 0) s = c->first_name;
	else if (strcmp(f, "last_name") == 0) s = c->last_name;
	else if (strcmp(f, "preferred_name") == 0) s = c->preferred_name;
	else if (strcmp(f, "company") == 0) s = c->company;
	else if (strcmp(f, "title") == 0) s = c->title;
	else if (strcmp(f, "stage") == 0) s = c->stage_name;
	else if (strcmp(f, "status") == 0) s = c->status;
	else if (strcmp(f, "job") == 0) s = c->job;
	else if (strcmp(f, "source") == 0) s = c->source;
	else if (strcmp(f, "referrer") == 0) s = c->referrer;
	else if (strcmp(f, "id") == 0) s = c->id;
	else if (strncmp(f, "email", 5) == 0) {
		i = f[5] ? (size_t)(f[5] - '1') : 0;
		s = i < c->nemails ? c->emails[i] : NULL;
	} else if (strncmp(f, "phone", 5) == 0) {
		i = f[5] ? (size_t)(f[5] - '1') : 0;
		s = i < c->nphones ? c->phones[i] : NULL;
	} else if (strcmp(f, "applied_at") == 0)
		return fmt_time(c->applied_ms, date_only);
	else if (strcmp(f, "created_at") == 0)
		return fmt_time(c->created_ms, date_only);
	else if (strcmp(f, "updated_at") == 0)
		return fmt_time(c->updated_ms, date_only);
	else if (strncmp(f, "custom:", 7) == 0) {
		for (i = 0; i < c->ncustom; i++)
			if (strcmp(c->custom[i].key, f + 7) == 0)
				s = c->custom[i].value;
	}
	return xstrdup(s ? s : "");
}

/* Puts v into the target's canonical form: 0 ok (out set), -1 invalid (why). */
static int
transform(const struct mapping *m, const struct map_rule *r, const char *v, char **out,
    const char **why)
{
	struct buf b = BUF_INIT;
	int64_t ms;
	int date_only;
	size_t k;
	enum norm_res nr;

	*out = NULL;
	if (*v == '\0') {
		*out = xstrdup("");
		return 0;
	}
	switch (r->tgt) {
	case TGT_EMAIL:
		nr = norm_email(v, &b);
		*why = "not a valid email address";
		break;
	case TGT_PHONE:
		nr = norm_phone(v, m->region, &b, NULL);
		*why = "not a phone number (E.164 impossible)";
		break;
	case TGT_TEXT:
		nr = norm_text(v, &b);
		*why = "not valid text";
		break;
	case TGT_CUSTOM:
	default:
		if (r->custom_type != NULL && (strcmp(r->custom_type, "DATE") == 0 ||
		    strcmp(r->custom_type, "DATE_TIME") == 0)) {
			char tmp[32];
			*why = "not a date";
			if (norm_time(v, NORM_DATE_ISO, &ms, &date_only) != NORM_OK)
				return -1;
			if (strcmp(r->custom_type, "DATE") == 0)
				norm_fmt_date(ms, tmp);
			else
				norm_fmt_datetime_s(ms, tmp);
			*out = xstrdup(tmp);
			return 0;
		}
		nr = norm_text(v, &b);
		*why = "not valid text";
		if (nr == NORM_OK && r->custom_type != NULL && (strcmp(r->custom_type, "DROPDOWN") == 0 ||
		    strcmp(r->custom_type, "RADIO") == 0)) {
			int found = 0;
			for (k = 0; k < r->noptions; k++)
				found |= strcmp(r->options[k], b.p) == 0;
			if (!found) {
				*why = "not one of the Keap field's options";
				nr = NORM_INVALID;
			}
		}
		break;
	}
	if (nr == NORM_INVALID) {
		buf_free(&b);
		return -1;
	}
	*out = buf_take(&b);
	return 0;
}

void
mapping_desired(const struct mapping *m, const struct map_rule *r, const struct candidate *c,
    struct desired *d)
{
	int date = r->custom_type != NULL && strcmp(r->custom_type, "DATE") == 0;
	char *v = canonical(r, c, date);
	size_t k;

	memset(d, 0, sizeof(*d));
	for (k = 0; k < r->nmap; k++)
		if (strcmp(r->map_from[k], v) == 0) {
			free(v);
			v = xstrdup(r->map_to[k]);
			break;
		}
	d->raw = v;
	if (*v == '\0') {
		/* a field whose lookup the source refused is unknown, not empty */
		d->opinion = r->null_clear && !(r->from != NULL && candidate_field_unknown(c, r->from));
		d->value = d->opinion ? xstrdup("") : NULL;
		return;
	}
	d->opinion = 1;
	if (transform(m, r, v, &d->value, &d->why) != 0) {
		d->invalid = 1;
		d->value = NULL;
	}
}

static int
is_type(const struct map_rule *r, const char *type)
{
	return r->custom_type != NULL && strcmp(r->custom_type, type) == 0;
}

/* Targets Keap must hold in exactly the canonical spelling (DESIGN.md §4):
 * phones in E.164 (SMS and dialer automations read the text) and DATE
 * fields as YYYY-MM-DD. Everything else compares in canonical form. */
static int
stored_exactly(const struct map_rule *r)
{
	return r->tgt == TGT_PHONE || (r->tgt == TGT_CUSTOM && is_type(r, "DATE"));
}

char *
mapping_actual(const struct mapping *m, const struct map_rule *r, const struct contact *contact)
{
	const char *v = NULL;
	const struct contact_item *item = NULL;
	char *out = NULL;
	const char *why;
	int p;

	switch (r->tgt) {
	case TGT_TEXT:
		p = contact_prop_parse(r->key);
		v = p >= 0 ? contact->prop[p] : NULL;
		break;
	case TGT_EMAIL:
		item = contact_item(&contact->emails, r->key);
		break;
	case TGT_PHONE:
		item = contact_item(&contact->phones, r->key);
		break;
	case TGT_CUSTOM:
		item = contact_item(&contact->customs, r->custom_id ? r->custom_id : "");
		break;
	}
	if (item != NULL && item->value[0] != '\0')
		v = item->value;
	if (v != NULL && stored_exactly(r)) {
		/* what Keap's automations read: the stored text itself */
		size_t len;
		v = str_trim(v, &len);
		out = xstrndup(v, len);
	} else if (v == NULL || transform(m, r, v, &out, &why) != 0)
		out = xstrdup(v ? v : "");	/* unreadable: kept as is, so it differs */
	return out;
}

int
mapping_format_only(const struct mapping *m, const struct map_rule *r, const char *actual,
    const char *desired)
{
	char *canon = NULL;
	const char *why;
	int same = 0;

	if (actual == NULL || desired == NULL || *actual == '\0' || strcmp(actual, desired) == 0)
		return 0;
	if (r->tgt == TGT_CUSTOM && is_type(r, "DATE")) {
		/* a date a person typed the local way: 01/27/2025 (or 27.01.2025) */
		int64_t ms;
		enum norm_date_order order = m->region != NULL && (strcmp(m->region, "US") == 0 ||
		    strcmp(m->region, "CA") == 0 || strcmp(m->region, "PH") == 0) ? NORM_DATE_MDY :
		    NORM_DATE_DMY;
		char tmp[11];
		if (norm_time(actual, order, &ms, NULL) == NORM_OK && norm_fmt_date(ms, tmp) == 0)
			return strcmp(tmp, desired) == 0;
		return 0;
	}
	if (transform(m, r, actual, &canon, &why) == 0)
		same = strcmp(canon, desired) == 0;
	free(canon);
	return same;
}

void
mapping_put(const struct map_rule *r, const char *value, struct contact_change *ch)
{
	static const enum contact_where where[] = { CW_PROP, CW_EMAIL, CW_PHONE, CW_CUSTOM };

	change_set(ch, where[r->tgt], r->tgt == TGT_CUSTOM ? r->custom_id : r->key, value);
}

const char *
mapping_stage_tag(const struct mapping *m, const struct candidate *c, int *invalid)
{
	size_t i;

	*invalid = 0;
	if (m->tag_category == NULL)
		return NULL;
	for (i = 0; c->status != NULL && i < m->nby_status; i++) {
		enum norm_status a, b;
		if (norm_status(m->by_status[i].k, &a) == 0 && norm_status(c->status, &b) == 0 && a == b)
			return m->by_status[i].v;
	}
	for (i = 0; c->stage_name != NULL && i < m->nby_stage; i++)
		if (strcmp(m->by_stage[i].k, c->stage_name) == 0)
			return m->by_stage[i].v;
	*invalid = c->stage_name != NULL || c->status != NULL;
	return NULL;
}
