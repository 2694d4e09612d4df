/* engine.c — what the engine's steps share (run_p.h). */
#define _POSIX_C_SOURCE 200809L
#include "run_p.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "snap.h"

/* ----------------------------------------------------------- small sets */

#define SET_IXBITS 24
#define SET_IXMASK (((uint64_t)1 << SET_IXBITS) - 1)

void
set_add(struct strset *s, const char *v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->v = xrealloc(s->v, s->cap * sizeof(char *));
	}
	s->v[s->n++] = xstrdup(v);
	s->sorted = 0;
	free(s->hx);
	s->hx = NULL;
}

static int
cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts and removes duplicates; indexes the strings by hash. */
void
set_finish(struct strset *s)
{
	size_t i, j = 0;

	s->sorted = 1;
	free(s->hx);
	s->hx = NULL;
	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof(char *), cmp_strp);
	for (i = 0; i < s->n; i++) {
		if (j > 0 && strcmp(s->v[j - 1], s->v[i]) == 0) {
			free(s->v[i]);
			continue;
		}
		s->v[j++] = s->v[i];
	}
	s->n = j;
	if (s->n > SET_IXMASK)
		return;	/* (bsearch then) */
	s->hx = xmalloc(s->n * sizeof(*s->hx));
	for (i = 0; i < s->n; i++)
		s->hx[i] = codec_fnv1a(s->v[i], strlen(s->v[i])) << SET_IXBITS | i;
	u64_sort(s->hx, s->n);
}

int
set_has(const struct strset *s, const char *v)
{
	uint64_t h;
	size_t lo = 0, hi = s->n;

	if (!s->sorted || s->n == 0)
		return 0;
	if (s->hx == NULL)
		return bsearch(&v, s->v, s->n, sizeof(char *), cmp_strp) != NULL;
	h = codec_fnv1a(v, strlen(v)) << SET_IXBITS;
	while (lo < hi) {	/* the first entry of this hash */
		size_t mid = lo + (hi - lo) / 2;
		if (s->hx[mid] < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < s->n && (s->hx[lo] & ~SET_IXMASK) == h; lo++)
		if (strcmp(s->v[s->hx[lo] & SET_IXMASK], v) == 0)
			return 1;
	return 0;
}

void
set_free(struct strset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	free(s->hx);
	memset(s, 0, sizeof(*s));
}

int
was_touched(const struct run *r, const char *key)
{
	return set_has(&r->touched, key) ||
	    (r->nchanged > 0 && u64_has(r->changed, r->nchanged, codec_fnv1a(key, strlen(key))));
}

/* ------------------------------------------------------------- plumbing */

/* "greenhouse:123" → "greenhouse" and "123" */
char *
key_source(const char *key)
{
	const char *colon = strchr(key, ':');

	return colon != NULL ? xstrndup(key, (size_t)(colon - key)) : xstrdup("");
}

const char *
key_id(const char *key)
{
	const char *colon = strchr(key, ':');

	return colon != NULL ? colon + 1 : key;
}

/* 1 when the ATS key is a person the snapshot holds and the ATS has not deleted. */
int
is_live(struct run *r, const char *key)
{
	return snap_has_candidate(r->st, key) && !set_has(&r->gone, key);
}

enum rc
batch_tick(struct run *r)
{
	enum rc rc = RC_OK;

	if (!r->in_batch) {
		if ((rc = snap_batch_begin(r->st)) != RC_OK)
			return rc;
		r->in_batch = 1;
		r->batch_n = 0;
		r->batch_t0 = mono_ms();
	}
	/* the clock is read every 64 records: cheap, and a record is quick */
	if (++r->batch_n >= BATCH_RECORDS ||
	    (r->batch_n % 64 == 0 && mono_ms() - r->batch_t0 >= BATCH_MS)) {
		rc = snap_batch_commit(r->st);
		r->in_batch = 0;
	}
	return rc;
}

enum rc
batch_end(struct run *r)
{
	enum rc rc = RC_OK;

	if (r->in_batch)
		rc = snap_batch_commit(r->st);
	r->in_batch = 0;
	return rc;
}

/* The deadline (run.max_runtime, a platform's) passed, or a stop was asked for. */
int
past_deadline(const struct run *r)
{
	return (r->deadline > 0 && mono_ms() >= r->deadline) || stop_requested();
}

int64_t
meta_int(struct run *r, const char *key)
{
	return snap_meta_get_int(r->st, key);
}

enum rc
meta_put_int(struct run *r, const char *key, int64_t n)
{
	return snap_meta_put_int(r->st, key, n);
}

enum rc
collect_key(void *arg, const char *key, size_t klen, const void *val, size_t vlen)
{
	(void)klen;
	(void)val;
	(void)vlen;
	set_add(arg, key);
	return RC_OK;
}


/* The names of the contact's tags in the stage category. */
void
stage_tags_of(const struct run *r, const struct contact *contact, const char ***names, size_t *n)
{
	const char *cat = NULL;
	size_t i, t;

	*names = NULL;
	*n = 0;
	for (i = 0; r->map.tag_category != NULL && i < r->tags.ncats; i++)
		if (strcmp(r->tags.cats[i].name, r->map.tag_category) == 0)
			cat = r->tags.cats[i].id;
	if (cat == NULL || contact == NULL)
		return;
	for (t = 0; t < contact->ntags; t++) {
		const char *id = contact->tag_ids[t];
		for (i = 0; i < r->tags.n; i++)
			if (strcmp(r->tags.v[i].id, id) == 0 && str_eq(r->tags.v[i].category_id, cat)) {
				*names = xrealloc(*names, (*n + 1) * sizeof(char *));
				(*names)[(*n)++] = r->tags.v[i].name;
			}
	}
}

/* The name of the tag with this id (NULL: not one the run knows). */
static const char *
tag_name(const struct run *r, const char *id)
{
	size_t i;

	for (i = 0; id != NULL && i < r->tags.n; i++)
		if (strcmp(r->tags.v[i].id, id) == 0)
			return r->tags.v[i].name;
	return NULL;
}

int
has_tag_named(const struct run *r, const struct contact *contact, const char *name)
{
	size_t t;

	for (t = 0; contact != NULL && t < contact->ntags; t++) {
		const char *have = tag_name(r, contact->tag_ids[t]);
		if (have != NULL && strcmp(have, name) == 0)
			return 1;
	}
	return 0;
}

void
tag_names_of(const struct run *r, const struct contact *contact, const char ***names, size_t *n)
{
	size_t t;

	*names = NULL;
	*n = 0;
	for (t = 0; contact != NULL && t < contact->ntags; t++) {
		const char *name = tag_name(r, contact->tag_ids[t]);
		if (name != NULL) {
			*names = xrealloc(*names, (*n + 1) * sizeof(char *));
			(*names)[(*n)++] = name;
		}
	}
}
