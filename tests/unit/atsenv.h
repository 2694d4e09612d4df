/*
 * atsenv.h — a driver on a fake ATS, for the driver tests (after t.h):
 * configured through the same layers as the binary (ATSRECON_* settings, a
 * configuration document), with an HTTP client on the test CA; and deep copies
 * of the candidates a pull delivers.
 */
#ifndef ATSRECON_ATSENV_H
#define ATSRECON_ATSENV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ats.h"
#include "config.h"
#include "http.h"
#include "jdoc.h"
#include "json.h"

struct env {
	struct config cfg;
	struct http *h;
	struct ats *a;
};

/* Opens the driver: v[0..n-1] ("ATSRECON_..=.." strings, freed here; v has
 * room for a NULL after them) as the environment, the document fields (NULL:
 * none) as the configuration file, HTTP with the CA file ca and responses of
 * max_body bytes at most. */
static inline enum rc
env_start(struct env *e, char **v, int n, const char *fields, const char *ca, size_t max_body)
{
	struct http_cfg hc = { 0 };
	struct buf err = BUF_INIT;

	memset(e, 0, sizeof(*e));
	config_init(&e->cfg);
	v[n] = NULL;
	CHECK(config_apply_env(&e->cfg, v, &err) == RC_OK);
	if (err.len)
		printf("# config: %s\n", err.p);
	if (fields != NULL) {
		e->cfg.root = jn_parse(fields, strlen(fields), &err);
		CHECK(e->cfg.root != NULL);
	}
	while (n-- > 0)
		free(v[n]);
	buf_free(&err);
	hc.ca_file = ca;
	hc.max_body = max_body;
	hc.timeout_ms = 10000;
	http_new(&hc, &e->h);
	return ats_open(&e->cfg, e->h, &e->a);
}

static inline void
env_close(struct env *e)
{
	ats_close(e->a);
	http_free(e->h);
	config_free(&e->cfg);
}

/* A deep copy of what the checks look at. */
static inline void
cand_copy(struct candidate *d, const struct candidate *c)
{
	size_t i;

#define S(f) d->f = c->f ? xstrdup(c->f) : NULL
	memset(d, 0, sizeof(*d));
	S(ats); S(id); S(first_name); S(last_name); S(full_name); S(company); S(title);
	S(app_id); S(stage_id); S(stage_name); S(status); S(job); S(source); S(referrer);
#undef S
	d->emails = xcalloc(c->nemails + 1, sizeof(char *));
	for (i = 0; i < c->nemails; i++)
		d->emails[i] = xstrdup(c->emails[i]);
	d->nemails = c->nemails;
	d->phones = xcalloc(c->nphones + 1, sizeof(char *));
	d->phone_exts = xcalloc(c->nphones + 1, sizeof(char *));
	for (i = 0; i < c->nphones; i++) {
		d->phones[i] = xstrdup(c->phones[i]);
		d->phone_exts[i] = xstrdup(c->phone_exts[i]);
	}
	d->nphones = c->nphones;
	for (i = 0; i < c->ninvalid; i++)
		candidate_add_invalid(d, c->invalid[i].field, c->invalid[i].value, c->invalid[i].why);
	for (i = 0; i < c->ncustom; i++)
		candidate_add_custom(d, c->custom[i].key, c->custom[i].value);
	d->unknown = c->unknown;
	d->anonymized = c->anonymized;
	d->is_private = c->is_private;
	d->created_ms = c->created_ms;
	d->updated_ms = c->updated_ms;
	d->applied_ms = c->applied_ms;
}

/* The candidate with the id among v[0..n-1], or NULL. */
static inline const struct candidate *
cands_find(const struct candidate *v, size_t n, const char *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (str_eq(v[i].id, id))
			return &v[i];
	return NULL;
}

/* How many different ids v[0..n-1] has. */
static inline size_t
cands_distinct(const struct candidate *v, size_t n)
{
	size_t i, j, d = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (str_eq(v[i].id, v[j].id))
				break;
		d += j == i;
	}
	return d;
}

/* Frees the copies v[0..n-1] and v. */
static inline void
cands_free(struct candidate *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		candidate_free(&v[i]);
	free(v);
}

#endif
