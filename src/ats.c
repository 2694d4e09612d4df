/* ats.c — the canonical candidate's helpers and the driver registry. See ats.h. */
#define _POSIX_C_SOURCE 200809L
#include "ats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "jdoc.h"
#include "log.h"
#include "norm.h"

void
candidate_free(struct candidate *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->ats);
	free(c->id);
	free(c->first_name);
	free(c->last_name);
	free(c->preferred_name);
	free(c->full_name);
	strv_free(c->emails, c->nemails);
	strv_free(c->phones, c->nphones);
	strv_free(c->phone_exts, c->nphones);
	free(c->company);
	free(c->title);
	for (i = 0; i < c->ncustom; i++) {
		free(c->custom[i].key);
		free(c->custom[i].value);
	}
	free(c->custom);
	free(c->app_id);
	free(c->stage_id);
	free(c->stage_name);
	free(c->status);
	free(c->job);
	free(c->source);
	free(c->referrer);
	for (i = 0; i < c->ninvalid; i++) {
		free(c->invalid[i].field);
		free(c->invalid[i].value);
		free(c->invalid[i].why);
	}
	free(c->invalid);
	memset(c, 0, sizeof(*c));
}

void
candidate_add_invalid(struct candidate *c, const char *field, const char *value, const char *why)
{
	struct cand_invalid *iv;

	c->invalid = xrealloc(c->invalid, (c->ninvalid + 1) * sizeof(*c->invalid));
	iv = &c->invalid[c->ninvalid++];
	iv->field = xstrdup(field);
	iv->value = xstrdup(value ? value : "");
	iv->why = xstrdup(why);
}

void
candidate_add_custom(struct candidate *c, const char *key, const char *value)
{
	c->custom = xrealloc(c->custom, (c->ncustom + 1) * sizeof(*c->custom));
	c->custom[c->ncustom].key = xstrdup(key);
	c->custom[c->ncustom].value = xstrdup(value ? value : "");
	c->ncustom++;
}

void
candidate_set_emails(struct candidate *c, const char *const *raw, size_t n, size_t primary)
{
	struct norm_email_list l = NORM_EMAIL_LIST_INIT;
	size_t i;

	norm_email_list(raw, n, primary, &l);
	for (i = 0; i < c->nemails; i++)
		free(c->emails[i]);
	free(c->emails);
	c->emails = xcalloc(l.n + 1, sizeof(char *));
	c->nemails = l.n;
	for (i = 0; i < l.n; i++)
		c->emails[i] = xstrdup(norm_email_at(&l, i));
	for (i = 0; i < l.n_invalid; i++)
		candidate_add_invalid(c, "email", norm_email_invalid_at(&l, i), "not a valid email address");
	norm_email_list_free(&l);
}

void
candidate_add_phone(struct candidate *c, const char *raw, const char *default_region)
{
	struct buf e164 = BUF_INIT, ext = BUF_INIT;
	enum norm_res r = norm_phone(raw, default_region, &e164, &ext);
	size_t i;

	if (r == NORM_INVALID)
		candidate_add_invalid(c, "phone", raw, "not a phone number (E.164 impossible)");
	if (r != NORM_OK)
		goto out;
	for (i = 0; i < c->nphones; i++)
		if (strcmp(c->phones[i], e164.p) == 0)
			goto out;
	c->phones = xrealloc(c->phones, (c->nphones + 1) * sizeof(char *));
	c->phone_exts = xrealloc(c->phone_exts, (c->nphones + 1) * sizeof(char *));
	c->phones[c->nphones] = xstrdup(e164.p);
	c->phone_exts[c->nphones] = xstrdup(ext.p ? ext.p : "");
	c->nphones++;
out:
	buf_free(&e164);
	buf_free(&ext);
}

void
candidate_set_status(struct candidate *c, const char *raw)
{
	enum norm_status st;

	free(c->status);
	c->status = NULL;
	if (raw == NULL)
		return;
	if (norm_status(raw, &st) == 0)
		c->status = xstrdup(norm_status_str(st));
	else
		candidate_add_invalid(c, "status", raw, "no mapping for this application status");
}

/* Compares ids: numerically when both are decimal numbers, else as strings. */
static int
id_cmp(const char *a, const char *b)
{
	int64_t x, y;

	if (parse_i64(a, &x) == 0 && parse_i64(b, &y) == 0)
		return x < y ? -1 : x > y;
	return strcmp(a, b);
}

int
ats_app_better(const struct ats_app *a, const struct ats_app *b, enum ats_app_policy pol)
{
	if (pol == ATS_APP_ACTIVE_FIRST && a->active != b->active)
		return b->active;
	if (a->updated_ms != b->updated_ms)
		return b->updated_ms > a->updated_ms;
	return id_cmp(b->id ? b->id : "", a->id ? a->id : "") > 0;
}

long
ats_pick_application(const struct ats_app *apps, size_t n, enum ats_app_policy pol)
{
	long best = -1;
	size_t i;

	for (i = 0; i < n; i++)
		if (best < 0 || ats_app_better(&apps[best], &apps[i], pol))
			best = (long)i;
	return best;
}

unsigned
ats_field_bit(const char *f)
{
	static const struct {
		const char *name;
		unsigned bit;
	} bits[] = {
		{ "stage", ATS_FLD_STAGE }, { "status", ATS_FLD_STATUS }, { "job", ATS_FLD_JOB },
		{ "source", ATS_FLD_SOURCE }, { "referrer", ATS_FLD_REFERRER },
	};
	size_t i;

	for (i = 0; f != NULL && i < ARRAY_LEN(bits); i++)
		if (strcmp(f, bits[i].name) == 0)
			return bits[i].bit;
	return 0;
}

int
candidate_field_unknown(const struct candidate *c, const char *from)
{
	return (c->unknown & ats_field_bit(from)) != 0;
}

unsigned
ats_fields_used(const struct config *cfg)
{
	const struct jnode *f;
	unsigned used = 0;

	JN_EACH(f, cfg_json(cfg, OPT_FIELDS))
		used |= ats_field_bit(jn_str(f, "from"));
	/* stage tags pick by status, then by stage name */
	if (cfg_json(cfg, OPT_STAGE_TAGS) != NULL)
		used |= ATS_FLD_STAGE | ATS_FLD_STATUS;
	return used;
}

enum ats_app_policy
ats_app_policy_of(const struct config *cfg)
{
	return str_eq(cfg_str(cfg, OPT_ATS_CURRENT_APPLICATION), "latest_updated") ?
	    ATS_APP_LATEST_UPDATED : ATS_APP_ACTIVE_FIRST;
}

static const char *
field_name(unsigned bit)
{
	return bit == ATS_FLD_STAGE ? "stage" : bit == ATS_FLD_STATUS ? "status" :
	    bit == ATS_FLD_JOB ? "job" : bit == ATS_FLD_SOURCE ? "source" : "referrer";
}

void
ats_degrade(struct ats *a, unsigned field, const char *what, const char *why)
{
	size_t have = strlen(a->degraded_note);

	if (a->degraded & field)
		return;
	a->degraded |= field;
	log_warn(a->drv->name, "%s: %s; the %s of every candidate is left unknown this run "
	    "(nothing is written for it)", what, why, field_name(field));
	if (have < sizeof(a->degraded_note))
		snprintf(a->degraded_note + have, sizeof(a->degraded_note) - have, "%s%s (%s: %s)",
		    have ? "; " : "", field_name(field), what, why);
}

void
ats_idmap_add(struct ats_idmap *m, const char *id, const char *name, int flag)
{
	m->v = xrealloc(m->v, (m->n + 1) * sizeof(*m->v));
	m->v[m->n].id = xstrdup(id);
	m->v[m->n].name = xstrdup(name);
	m->v[m->n].flag = flag;
	m->n++;
}

const char *
ats_idmap_get(const struct ats_idmap *m, const char *id, int *flag)
{
	size_t i;

	if (id == NULL)
		return NULL;
	for (i = 0; i < m->n; i++)
		if (strcmp(m->v[i].id, id) == 0) {
			if (flag != NULL)
				*flag = m->v[i].flag;
			return m->v[i].name;
		}
	return NULL;
}

void
ats_idmap_free(struct ats_idmap *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		free(m->v[i].id);
		free(m->v[i].name);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

const struct ats_driver *
ats_driver_of(const char *kind)
{
	static const struct ats_driver *const drivers[] = { &ats_greenhouse, &ats_lever, &ats_ashby, &ats_file };
	size_t i;

	for (i = 0; kind != NULL && i < ARRAY_LEN(drivers); i++)
		if (strcmp(drivers[i]->name, kind) == 0)
			return drivers[i];
	return NULL;
}

enum rc
ats_open_err(const struct config *cfg, struct http *http, struct ats **out, struct api_err *err)
{
	const char *kind = cfg_str(cfg, OPT_ATS_KIND);
	const struct ats_driver *drv = ats_driver_of(kind);
	struct ats *a;
	enum rc rc;

	if (err != NULL)
		api_err_clear(err);
	if (drv == NULL) {
		api_fail(err, "ats", 0, "set ats.kind to greenhouse, lever, ashby or file",
		    "ats.kind \"%s\" has no driver in this build", kind);
		return RC_CONFIG;
	}
	a = xcalloc(1, sizeof(*a));
	a->drv = drv;
	a->cfg = cfg;
	a->http = http;
	a->app_policy = ats_app_policy_of(cfg);
	a->used = ats_fields_used(cfg);
	if ((rc = a->drv->open(a)) != RC_OK) {
		if (err != NULL)
			*err = a->err;
		ats_close(a);
		return rc;
	}
	*out = a;
	return RC_OK;
}

enum rc
ats_open(const struct config *cfg, struct http *http, struct ats **out)
{
	return ats_open_err(cfg, http, out, NULL);
}

void
ats_close(struct ats *a)
{
	if (a == NULL)
		return;
	if (a->drv != NULL && a->drv->close != NULL)
		a->drv->close(a);
	free(a->sync_out);
	free(a);
}

void
ats_ref_free(struct ats_ref *r)
{
	ats_idmap_free(&r->stages);
	ats_idmap_free(&r->sources);
	ats_idmap_free(&r->reasons);
}
