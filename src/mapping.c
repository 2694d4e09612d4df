/* mapping.c — see mapping.h. */
#define _POSIX_C_SOURCE 200809L
#include "mapping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "jtree.h"
#include "log.h"
#include "norm.h"

static const char *const canonical_fields[] = {
	"first_name", "last_name", "preferred_name", "email", "email2", "email3", "phone", "phone2",
	"phone3", "company", "title", "stage", "status", "job", "source", "referrer", "applied_at",
	"created_at", "updated_at", "id",
};

static const char *const text_targets[] = {
	"given_name", "family_name", "middle_name", "preferred_name", "job_title",
};

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

static int
in_list(const char *s, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

/* "file:line: what: " prefix for an error about node. */
static void
where(const struct config *cfg, const cJSON *node, const char *what, struct buf *err)
{
	buf_addf(err, "%s:%d: %s: ", cfg->path ? cfg->path : "(config)",
	    json_line_of(&cfg->lines, node), what);
}

static enum rc
load_kv(const struct config *cfg, const cJSON *obj, const char *what, struct map_kv **out,
    size_t *n, struct buf *err)
{
	const cJSON *it;

	if (obj == NULL)
		return RC_OK;
	if (!cJSON_IsObject(obj)) {
		where(cfg, obj, what, err);
		buf_adds(err, "expected an object of strings");
		return RC_CONFIG;
	}
	cJSON_ArrayForEach(it, obj) {
		if (!cJSON_IsString(it) || it->valuestring[0] == '\0') {
			where(cfg, it, what, err);
			buf_addf(err, "\"%s\" must map to a non-empty string", it->string);
			return RC_CONFIG;
		}
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[*n].k = xstrdup(it->string);
		(*out)[*n].v = xstrdup(it->valuestring);
		(*n)++;
	}
	return RC_OK;
}

/* The rule's keys: only known ones, exactly one of from and constant, a
 * canonical from, a to. */
static enum rc
rule_check_keys(const struct config *cfg, const cJSON *f, const char *what, struct buf *err)
{
	const char *from = json_str(f, "from"), *constant = json_str(f, "constant");
	static const char *const keys[] = { "from", "to", "owner", "map", "null", "constant", "confirm" };
	const cJSON *it;

	cJSON_ArrayForEach(it, f)
		if (!in_list(it->string, keys, ARRAY_LEN(keys))) {
			where(cfg, it, what, err);
			buf_addf(err, "unknown key \"%s\" (from, to, owner, map, null, constant, confirm)",
			    it->string);
			did_you_mean(err, it->string, "from|to|owner|map|null|constant|confirm");
			return RC_CONFIG;
		}
	if ((from == NULL) == (constant == NULL)) {
		where(cfg, f, what, err);
		buf_adds(err, "needs exactly one of \"from\" and \"constant\"");
		return RC_CONFIG;
	}
	if (from != NULL && !in_list(from, canonical_fields, ARRAY_LEN(canonical_fields)) &&
	    !(strncmp(from, "custom:", 7) == 0 && from[7] != '\0')) {
		where(cfg, json_get(f, "from"), what, err);
		buf_addf(err, "\"%s\" is not a canonical field (first_name, email, phone, source, "
		    "applied_at, custom:<key>, ...)", from);
		did_you_mean(err, from, "first_name|last_name|preferred_name|email|email2|email3|phone|"
		    "phone2|phone3|company|title|stage|status|job|source|referrer|applied_at|created_at|"
		    "updated_at|id");
		return RC_CONFIG;
	}
	if (json_str(f, "to") == NULL) {
		where(cfg, f, what, err);
		buf_adds(err, "\"to\" is missing");
		return RC_CONFIG;
	}
	return RC_OK;
}

/* The Keap target the rule's "to" names: its kind and key. */
static enum rc
rule_target(const struct config *cfg, const cJSON *f, const char *what, struct map_rule *r,
    struct buf *err)
{
	const char *to = json_str(f, "to");

	if (in_list(to, text_targets, ARRAY_LEN(text_targets))) {
		r->tgt = TGT_TEXT;
		r->key = xstrdup(to);
	} else if (strncmp(to, "email:EMAIL", 11) == 0 && to[11] >= '1' && to[11] <= '3' && to[12] == '\0') {
		r->tgt = TGT_EMAIL;
		r->key = xstrdup(to + 6);
	} else if (strncmp(to, "phone:PHONE", 11) == 0 && to[11] >= '1' && to[11] <= '5' && to[12] == '\0') {
		r->tgt = TGT_PHONE;
		r->key = xstrdup(to + 6);
	} else if (strncmp(to, "custom:", 7) == 0 && to[7] != '\0') {
		r->tgt = TGT_CUSTOM;
		r->key = xstrdup(to + 7);
	} else {
		where(cfg, json_get(f, "to"), what, err);
		buf_addf(err, "\"%s\" is not a Keap target (given_name, family_name, job_title, "
		    "email:EMAIL1..3, phone:PHONE1..5, custom:<label>)", to);
		did_you_mean(err, to, "given_name|family_name|middle_name|preferred_name|job_title|"
		    "email:EMAIL1|email:EMAIL2|email:EMAIL3|phone:PHONE1|phone:PHONE2|phone:PHONE3");
		return RC_CONFIG;
	}
	return RC_OK;
}

/* The rule's owner (ats when left out) and its null policy. */
static enum rc
rule_owner(const struct config *cfg, const cJSON *f, const char *what, struct map_rule *r,
    struct buf *err)
{
	const char *owner = json_str(f, "owner"), *null = json_str(f, "null");

	if (owner == NULL || strcmp(owner, "ats") == 0)
		r->owner = OWN_ATS;
	else if (strcmp(owner, "keap") == 0)
		r->owner = OWN_KEAP;
	else if (strcmp(owner, "fill") == 0)
		r->owner = OWN_FILL;
	else if (strcmp(owner, "create") == 0)
		r->owner = OWN_CREATE;
	else {
		where(cfg, json_get(f, "owner"), what, err);
		buf_addf(err, "owner \"%s\" is not one of ats, keap, fill, create", owner);
		did_you_mean(err, owner, "ats|keap|fill|create");
		return RC_CONFIG;
	}
	if (json_get(f, "owner") != NULL && owner == NULL) {
		where(cfg, json_get(f, "owner"), what, err);
		buf_adds(err, "owner must be a string");
		return RC_CONFIG;
	}
	if (null != NULL && strcmp(null, "skip") != 0 && strcmp(null, "clear") != 0) {
		where(cfg, json_get(f, "null"), what, err);
		buf_addf(err, "null \"%s\" is not one of skip, clear", null);
		return RC_CONFIG;
	}
	r->null_clear = null != NULL && strcmp(null, "clear") == 0;
	return RC_OK;
}

/* The rule's value map and the keys of it to confirm. */
static enum rc
rule_map(const struct config *cfg, const cJSON *f, const char *what, struct map_rule *r,
    struct buf *err)
{
	const cJSON *map = json_get(f, "map"), *cf = json_get(f, "confirm"), *it;

	if (map != NULL) {
		struct map_kv *kv = NULL;
		size_t n = 0, k;
		if (load_kv(cfg, map, what, &kv, &n, err) != RC_OK)
			return RC_CONFIG;
		r->map_from = xcalloc(n + 1, sizeof(char *));
		r->map_to = xcalloc(n + 1, sizeof(char *));
		for (k = 0; k < n; k++) {
			r->map_from[k] = kv[k].k;
			r->map_to[k] = kv[k].v;
		}
		r->nmap = n;
		free(kv);
	}
	if (cf == NULL)
		return RC_OK;
	if (!cJSON_IsArray(cf)) {
		where(cfg, cf, what, err);
		buf_adds(err, "\"confirm\" must be a list of the map's keys");
		return RC_CONFIG;
	}
	cJSON_ArrayForEach(it, cf) {
		size_t k;
		int found = 0;
		for (k = 0; cJSON_IsString(it) && k < r->nmap; k++)
			if (strcmp(r->map_from[k], it->valuestring) == 0)
				found = 1;
		if (!found) {
			where(cfg, it, what, err);
			buf_adds(err, "\"confirm\" names ");
			if (cJSON_IsString(it)) {
				buf_addc(err, '"');
				text_escape(err, it->valuestring, strlen(it->valuestring));
				buf_adds(err, "\", which is not a key of \"map\"");
			} else
				buf_adds(err, "a value that is not a string");
			return RC_CONFIG;
		}
		r->confirm = xrealloc(r->confirm, (r->nconfirm + 1) * sizeof(char *));
		r->confirm[r->nconfirm++] = xstrdup(it->valuestring);
	}
	return RC_OK;
}

static enum rc
load_rule(const struct config *cfg, const cJSON *f, size_t i, struct map_rule *r, struct buf *err)
{
	char what[64];
	const char *from, *constant;

	snprintf(what, sizeof(what), "fields[%zu]", i);
	r->line = json_line_of(&cfg->lines, f);
	if (!cJSON_IsObject(f)) {
		where(cfg, f, what, err);
		buf_adds(err, "expected an object {from, to, owner}");
		return RC_CONFIG;
	}
	if (rule_check_keys(cfg, f, what, err) != RC_OK || rule_target(cfg, f, what, r, err) != RC_OK)
		return RC_CONFIG;
	from = json_str(f, "from");
	constant = json_str(f, "constant");
	r->to = xstrdup(json_str(f, "to"));
	r->from = from ? xstrdup(from) : NULL;
	r->constant = constant ? xstrdup(constant) : NULL;
	if (rule_owner(cfg, f, what, r, err) != RC_OK)
		return RC_CONFIG;
	return rule_map(cfg, f, what, r, err);
}

enum rc
mapping_load(struct mapping *m, const struct config *cfg, struct buf *err)
{
	const cJSON *fields = cfg_json(cfg, OPT_FIELDS), *st = cfg_json(cfg, OPT_STAGE_TAGS), *f;
	size_t i = 0, j;
	enum rc rc = RC_OK;

	memset(m, 0, sizeof(*m));
	m->region = cfg_str(cfg, OPT_PHONE_DEFAULT_REGION);
	m->rules = xcalloc((size_t)cJSON_GetArraySize(fields) + 1, sizeof(*m->rules));
	/* every rule's error at once, one line each */
	cJSON_ArrayForEach(f, fields) {
		struct buf one = BUF_INIT;
		if (load_rule(cfg, f, i, &m->rules[i], &one) != RC_OK) {
			if (err->len > 0)
				buf_addc(err, '\n');
			buf_adds(err, one.p ? one.p : "invalid rule");
			rc = RC_CONFIG;
		}
		buf_free(&one);
		i++;
	}
	m->n = i;
	if (rc != RC_OK)
		goto fail;
	/* one rule per target: two would fight over the same Keap field */
	for (i = 0; i < m->n; i++)
		for (j = i + 1; j < m->n; j++)
			if (strcmp(m->rules[i].to, m->rules[j].to) == 0) {
				buf_addf(err, "%s:%d: fields[%zu]: \"%s\" is already the target of fields[%zu] "
				    "(line %d)", cfg->path ? cfg->path : "(config)", m->rules[j].line, j,
				    m->rules[j].to, i, m->rules[i].line);
				rc = RC_CONFIG;
				goto fail;
			}
	if (st != NULL) {
		const char *cat = json_str(st, "category");
		const cJSON *it;
		cJSON_ArrayForEach(it, st)
			if (strcmp(it->string, "category") != 0 && strcmp(it->string, "by_status") != 0 &&
			    strcmp(it->string, "by_stage") != 0) {
				where(cfg, it, "stage_tags", err);
				buf_addf(err, "unknown key \"%s\" (category, by_status, by_stage)", it->string);
				did_you_mean(err, it->string, "category|by_status|by_stage");
				rc = RC_CONFIG;
				goto fail;
			}
		if (cat == NULL || *cat == '\0') {
			where(cfg, st, "stage_tags", err);
			buf_adds(err, "\"category\" (the Keap tag category) is required");
			rc = RC_CONFIG;
			goto fail;
		}
		m->tag_category = xstrdup(cat);
		if ((rc = load_kv(cfg, json_get(st, "by_status"), "stage_tags.by_status", &m->by_status,
		    &m->nby_status, err)) != RC_OK ||
		    (rc = load_kv(cfg, json_get(st, "by_stage"), "stage_tags.by_stage", &m->by_stage,
		    &m->nby_stage, err)) != RC_OK)
			goto fail;
		for (i = 0; i < m->nby_status; i++) {
			enum norm_status ns;
			if (norm_status(m->by_status[i].k, &ns) != 0) {
				where(cfg, json_get(json_get(st, "by_status"), m->by_status[i].k),
				    "stage_tags.by_status", err);
				buf_addf(err, "\"%s\" is not a status (active, rejected, hired, withdrawn, "
				    "archived)", m->by_status[i].k);
				did_you_mean(err, m->by_status[i].k, "active|rejected|hired|withdrawn|archived");
				rc = RC_CONFIG;
				goto fail;
			}
		}
	}
	return RC_OK;
fail:
	mapping_free(m);
	return rc;
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
