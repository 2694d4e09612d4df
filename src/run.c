/* run.c — see run.h. */
#define _POSIX_C_SOURCE 200809L
#include "run.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session.h"
#include "ats.h"
#include "auth.h"
#include "codec.h"
#include "diff.h"
#include "extid.h"
#include "http.h"
#include "keap.h"
#include "log.h"
#include "mapping.h"
#include "pace.h"
#include "alert.h"
#include "metrics.h"
#include "norm.h"
#include "plan.h"
#include "progress.h"
#include "period.h"
#include "report.h"
#include "s3.h"
#include "snap.h"
#include "state.h"

#define OVERLAP_MS (5 * 60 * 1000)	/* windows overlap the last run by 5 minutes */
#define BATCH_RECORDS 500		/* snapshot writes per LMDB transaction */

struct strset {
	char **v;
	size_t n, cap;
	int sorted;
};

struct run {
	const struct config *cfg;
	const char *state_dir;		/* state.dir, or the S3 state's local copy */
	struct run_opts o;
	struct state *st;
	struct http *http;
	struct auth *auth;
	struct pace *kpace;
	struct keap *keap;
	struct ats *ats;
	struct session *sess;		/* owns st, http, auth, kpace, keap, ats (borrowed above) */
	struct mapping map;
	struct keap_model model;
	struct keap_tags tags;
	const char *ext_field_id;	/* the external-id custom field (borrowed from model) */
	const char *ext_fmt;		/* match.external_id_format */
	int have_mapping, have_model, have_tags;
	int64_t start_ms, deadline;
	int full;
	int in_batch;
	size_t batch_n;
	struct strset touched;		/* ats keys to reconcile */
	struct strset seen_contacts;	/* full Keap sweep: ids listed */
	struct strset gone;		/* ats keys confirmed deleted in the ATS */
	struct strset merged;		/* of those, merged into another person: key \t survivor key */
	struct strset feed;		/* ats ids the delete feed named (to confirm) */
	struct strset retry;		/* not in sync last time: reconciled again */
	struct strset gaveup;		/* failed run.max_attempts times, unchanged: left alone */
	uint64_t *listed;		/* full sweep: hashes of the ATS keys listed */
	size_t nlisted, caplisted;
	struct buf sync_tok;		/* the ATS sync token read at the start */
	struct report rep;
	struct plan plan;
	int record_errors;		/* invalid values, failed writes: exit 1 */
	int ats_skipped;		/* ATS records that could not be read this run */
	/* A listing that stopped at a page still unreadable after its retries
	 * (what was not read; NULL: all read). The rest is reconciled; that
	 * source's window and sync token stay, delete detection is skipped,
	 * and the run exits 5 (issue 16). */
	char *unread_ats, *unread_keap;
	uint64_t env_hash;		/* what agreement depends on besides the two records */
	struct progress prog;		/* the terminal's progress line */
	size_t pulled, kpulled, compared, writes_done, writes_planned;
	size_t fast;			/* candidates found in agreement by their stamp */
};

/* ----------------------------------------------------------- small sets */

static void
set_add(struct strset *s, const char *v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->v = xrealloc(s->v, s->cap * sizeof(char *));
	}
	s->v[s->n++] = xstrdup(v);
	s->sorted = 0;
}

static int
cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts and removes duplicates. */
static void
set_finish(struct strset *s)
{
	size_t i, j = 0;

	s->sorted = 1;
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
	s->sorted = 1;
}

static int
set_has(const struct strset *s, const char *v)
{
	return s->sorted && s->n > 0 && bsearch(&v, s->v, s->n, sizeof(char *), cmp_strp) != NULL;
}

static void
set_free(struct strset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------- plumbing */

/* "greenhouse:123" → "greenhouse" and "123" */
static char *
key_source(const char *key)
{
	const char *colon = strchr(key, ':');

	return colon != NULL ? xstrndup(key, (size_t)(colon - key)) : xstrdup("");
}

static const char *
key_id(const char *key)
{
	const char *colon = strchr(key, ':');

	return colon != NULL ? colon + 1 : key;
}

/* 1 when the ATS key is a person the snapshot holds and the ATS has not deleted. */
static int
is_live(struct run *r, const char *key)
{
	struct buf v = BUF_INIT;
	int live = state_get(r->st, DB_ATS, key, &v) == RC_OK && !set_has(&r->gone, key);

	buf_free(&v);
	return live;
}

static int has_tag_named(const struct run *, const cJSON *, const char *);


static enum rc
batch_tick(struct run *r)
{
	enum rc rc = RC_OK;

	if (!r->in_batch) {
		if ((rc = state_batch_begin(r->st)) != RC_OK)
			return rc;
		r->in_batch = 1;
		r->batch_n = 0;
	}
	if (++r->batch_n >= BATCH_RECORDS) {
		rc = state_batch_commit(r->st);
		r->in_batch = 0;
	}
	return rc;
}

static enum rc
batch_end(struct run *r)
{
	enum rc rc = RC_OK;

	if (r->in_batch)
		rc = state_batch_commit(r->st);
	r->in_batch = 0;
	return rc;
}

/* The deadline (run.max_runtime, a platform's) passed, or a stop was asked for. */
static int
past_deadline(const struct run *r)
{
	return (r->deadline > 0 && mono_ms() >= r->deadline) || stop_requested();
}

static int64_t
meta_int(struct run *r, const char *key)
{
	struct buf v = BUF_INIT;
	int64_t n = 0;

	if (state_get(r->st, DB_META, key, &v) == RC_OK && parse_i64(v.p, &n) != 0)
		n = 0;
	buf_free(&v);
	return n;
}

static enum rc
meta_put_int(struct run *r, const char *key, int64_t n)
{
	char v[32];

	snprintf(v, sizeof(v), "%lld", (long long)n);
	return state_put(r->st, DB_META, key, v, strlen(v));
}

static const char *
id_of(const cJSON *o, char *buf, size_t size)
{
	return json_idstr(json_get(o, "id"), buf, size);
}

/* --------------------------------------------------------------- set-up */

static enum rc
setup(struct run *r)
{
	const struct config *cfg = r->cfg;
	struct keap_err kerr;
	struct buf err = BUF_INIT;
	const struct keap_field *ext;
	enum rc rc;

	if ((rc = mapping_load(&r->map, cfg, &err)) != RC_OK) {
		log_error("run", "%s", err.p);
		goto out;
	}
	r->have_mapping = 1;
	r->ext_fmt = cfg_str(cfg, OPT_MATCH_EXTERNAL_ID_FORMAT);
	/* the session (session.h): the state where run_main put it (state.dir or
	 * the S3 copy, whose lease run_main holds), then HTTP, auth, pacer, Keap */
	r->sess = xcalloc(1, sizeof(*r->sess));
	session_init(r->sess, cfg, r->deadline);
	r->sess->state_dir = r->state_dir;
	rc = session_open(r->sess, SESSION_STATE | SESSION_LOCAL | (r->o.offline == NULL ? SESSION_KEAP : 0));
	r->st = r->sess->st;
	r->http = r->sess->http;
	r->auth = r->sess->auth;
	r->kpace = r->sess->kpace;
	r->keap = r->sess->keap;
	if (rc != RC_OK)
		goto out;
	if (r->o.offline != NULL) {
		const struct keap_field *xf;
		r->model = *r->o.offline->model;	/* borrowed: have_model stays 0 */
		r->tags = *r->o.offline->tags;
		if ((rc = mapping_resolve(&r->map, &r->model, &err)) != RC_OK) {
			log_error("run", "%s", err.p);
			goto out;
		}
		xf = keap_model_field(&r->model, cfg_str(cfg, OPT_MATCH_EXTERNAL_ID_FIELD));
		r->ext_field_id = xf != NULL ? xf->id : "";
		r->ats = xcalloc(1, sizeof(*r->ats));
		r->ats->drv = r->o.offline->driver;
		r->ats->cfg = cfg;
		r->ats->deadline_ms = r->deadline;
		goto out;
	}
	if ((rc = keap_load_model(r->keap, &r->model, &kerr)) != RC_OK)
		goto out;
	r->have_model = 1;
	buf_reset(&err);
	if ((rc = mapping_resolve(&r->map, &r->model, &err)) != RC_OK) {
		log_error("run", "%s", err.p);
		goto out;
	}
	ext = keap_model_field(&r->model, cfg_str(cfg, OPT_MATCH_EXTERNAL_ID_FIELD));
	if (ext == NULL) {
		log_error("run", "Keap has no custom field labelled \"%s\" (match.external_id_field): "
		    "create a text field with that label in Keap", cfg_str(cfg, OPT_MATCH_EXTERNAL_ID_FIELD));
		rc = RC_CONFIG;
		goto out;
	}
	r->ext_field_id = ext->id;
	if ((rc = keap_load_tags(r->keap, &r->tags, &kerr)) != RC_OK)
		goto out;
	r->have_tags = 1;
	if (r->o.mode != RUN_APPLY) {
		if ((rc = session_ats(r->sess)) != RC_OK)
			goto out;
		r->ats = r->sess->ats;
	}
out:
	buf_free(&err);
	return rc;
}

/* The hash of everything a comparison depends on besides the candidate and
 * the contact: the configuration, Keap's custom fields and options, its tags. */
static void
env_hash(struct run *r)
{
	struct buf b = BUF_INIT;
	size_t i, j;

	config_dump(r->cfg, &b);
	/* the comparison rules themselves (DESIGN.md §4): a stamp made under older
	 * rules (phones compared after normalisation) is not trusted */
	buf_adds(&b, "\nrules:2");
	for (i = 0; i < r->model.n; i++) {
		const struct keap_field *f = &r->model.fields[i];
		buf_addf(&b, "\nF%s|%s|%s", f->id, f->label ? f->label : "", f->type ? f->type : "");
		for (j = 0; j < f->noptions; j++)
			buf_addf(&b, "|%s", f->options[j]);
	}
	for (i = 0; i < r->tags.n; i++)
		buf_addf(&b, "\nT%s|%s|%s", r->tags.v[i].id, r->tags.v[i].name,
		    r->tags.v[i].category_id ? r->tags.v[i].category_id : "");
	for (i = 0; i < r->tags.ncats; i++)
		buf_addf(&b, "\nC%s|%s", r->tags.cats[i].id, r->tags.cats[i].name);
	r->env_hash = codec_fnv1a(b.p, b.len);
	buf_free(&b);
}

/* The stamp of a candidate found in agreement with its contact (see snap.h). */
static void
stamp_agreement(struct run *r, const char *key, const struct candidate *c, const cJSON *contact)
{
	struct snap_stamp sp;
	struct buf cid = BUF_INIT;
	size_t i;

	memset(&sp, 0, sizeof(sp));
	if (snap_candidate_hash(r->st, key, &sp.cand) != RC_OK || snap_linked(r->st, key, &cid) != RC_OK ||
	    snap_contact_hash(r->st, cid.p, &sp.contact) != RC_OK)
		goto out;
	(void)contact;
	sp.env = r->env_hash;
	for (i = 0; i < r->map.n && i < 64; i++) {
		struct desired d;
		mapping_desired(&r->map, &r->map.rules[i], c, &d);
		if (d.opinion)
			sp.opinions |= (uint64_t)1 << i;
		desired_free(&d);
	}
	if (r->map.n > 64)
		goto out;	/* more rules than the stamp can say: always compare */
	str_copy(sp.stage, sizeof(sp.stage), c->stage_name ? c->stage_name : c->status ? c->status : "");
	str_copy(sp.job, sizeof(sp.job), c->job ? c->job : "");
	for (i = 0; i < c->nemails; i++) {
		size_t have = strlen(sp.emails);
		if (have + strlen(c->emails[i]) + 2 > sizeof(sp.emails))
			goto out;	/* too many to check cheaply: no stamp */
		snprintf(sp.emails + have, sizeof(sp.emails) - have, "%s%s", have ? "\n" : "", c->emails[i]);
	}
	snap_put_stamp(r->st, key, &sp);
out:
	buf_free(&cid);
}

static void
teardown(struct run *r)
{
	if (r->st != NULL && r->in_batch)
		state_batch_abort(r->st);
	if (r->o.offline != NULL)
		ats_close(r->ats);	/* the offline driver's instance is the run's own */
	if (r->have_tags)
		keap_tags_free(&r->tags);
	if (r->have_model)
		keap_model_free(&r->model);
	if (r->have_mapping)
		mapping_free(&r->map);
	if (r->sess != NULL)
		(void)session_close(r->sess);	/* local: nothing to put back */
	free(r->sess);
	set_free(&r->touched);
	set_free(&r->seen_contacts);
	set_free(&r->gone);
	free(r->unread_ats);
	free(r->unread_keap);
	set_free(&r->merged);
	set_free(&r->feed);
	set_free(&r->retry);
	set_free(&r->gaveup);
	free(r->listed);
	buf_free(&r->sync_tok);
	plan_free(&r->plan);
}

/* ---------------------------------------------------------------- pulls */

/*
 * A candidate that must be looked at is marked in DB "failed" in the same
 * transaction as the snapshot change that made it so; the accuracy pass after
 * the writes clears the mark once it is in sync. A run killed anywhere in
 * between therefore leaves the mark, and the next run looks again.
 */
static enum rc
mark_pending(struct run *r, const char *key)
{
	struct buf v = BUF_INIT;
	enum rc rc = state_get(r->st, DB_FAILED, key, &v);

	if (rc == RC_RECORD)
		rc = state_put(r->st, DB_FAILED, key, "{\"attempts\":0}", 14);
	buf_free(&v);
	return rc;
}

static enum rc
on_candidate(void *arg, const struct candidate *c)
{
	struct run *r = arg;
	struct buf key = BUF_INIT;
	int changed = 0;
	enum rc rc;

	if (past_deadline(r))
		return RC_REMOTE;
	if ((rc = batch_tick(r)) != RC_OK)
		return rc;
	progress_update(&r->prog, "reading the ATS: people", ++r->pulled, 0);
	snap_ats_key(c, &key);
	if (r->full) {
		if (r->nlisted == r->caplisted) {
			r->caplisted = r->caplisted ? r->caplisted * 2 : 4096;
			r->listed = xrealloc(r->listed, r->caplisted * sizeof(*r->listed));
		}
		r->listed[r->nlisted++] = codec_fnv1a(key.p, key.len);
	}
	rc = snap_put_candidate(r->st, c, &changed);
	if (rc == RC_OK && changed)
		set_add(&r->touched, key.p);	/* (a full sweep reconciles all; this says "changed") */
	if (rc == RC_OK && changed)
		rc = mark_pending(r, key.p);
	buf_free(&key);
	return rc;
}

/*
 * A contact new or changed in Keap and linked to nobody: the linked candidates
 * that share one of its emails need a look (it may be a duplicate a person or
 * a form just created), on an incremental run too (DESIGN.md §5).
 */
static enum rc
touch_by_email(struct run *r, const cJSON *contact, const char *id)
{
	const cJSON *e;
	struct buf norm = BUF_INIT, ids = BUF_INIT, ak = BUF_INIT;
	enum rc rc = RC_OK;

	cJSON_ArrayForEach(e, json_get(contact, "email_addresses")) {
		const char *p;

		if (json_str(e, "email") == NULL || norm_email(json_str(e, "email"), &norm) != NORM_OK ||
		    state_get(r->st, DB_EMAIL, norm.p, &ids) != RC_OK)
			continue;
		for (p = ids.p; *p != '\0' && rc == RC_OK; ) {
			size_t len = strcspn(p, ",");
			char *other = xstrndup(p, len), *ck = xasprintf("c:%s", other);
			if (strcmp(other, id) != 0 && state_get(r->st, DB_LINK, ck, &ak) == RC_OK) {
				set_add(&r->touched, ak.p);
				rc = mark_pending(r, ak.p);
			}
			free(other);
			free(ck);
			p += len;
			if (*p == ',')
				p++;
		}
	}
	buf_free(&norm);
	buf_free(&ids);
	buf_free(&ak);
	return rc;
}

static enum rc
on_contacts(void *arg, const cJSON *contacts, int page)
{
	struct run *r = arg;
	const cJSON *c;
	char num[32];
	enum rc rc;

	(void)page;
	cJSON_ArrayForEach(c, contacts) {
		int changed = 0;
		const char *id = id_of(c, num, sizeof(num));

		if (past_deadline(r))
			return RC_REMOTE;
		if (id == NULL)
			continue;
		if ((rc = batch_tick(r)) != RC_OK)
			return rc;
		progress_update(&r->prog, "reading Keap: contacts", ++r->kpulled, 0);
		rc = snap_put_contact(r->st, c, r->ext_field_id, &changed, NULL);
		if (rc != RC_OK && rc != RC_RECORD)
			return rc;
		if (r->full)
			set_add(&r->seen_contacts, id);
		if (changed) {
			/* a Keap-side edit: the linked candidate needs a look */
			struct buf ak = BUF_INIT;
			char *ck = xasprintf("c:%s", id);
			rc = RC_OK;
			if (state_get(r->st, DB_LINK, ck, &ak) == RC_OK) {
				set_add(&r->touched, ak.p);
				rc = mark_pending(r, ak.p);
			} else if (!r->full)
				rc = touch_by_email(r, c, id);
			free(ck);
			buf_free(&ak);
			if (rc != RC_OK)
				return rc;
		}
	}
	return RC_OK;
}

static enum rc
count_key(void *arg, const char *key, size_t klen, const void *val, size_t vlen)
{
	(void)key;
	(void)klen;
	(void)val;
	(void)vlen;
	++*(size_t *)arg;
	return RC_OK;
}

static enum rc
collect_key(void *arg, const char *key, size_t klen, const void *val, size_t vlen)
{
	(void)klen;
	(void)val;
	(void)vlen;
	set_add(arg, key);
	return RC_OK;
}

/*
 * The confirmed deletes: a person whose emails now belong to another person
 * in the ATS was merged into that one (merged_in_ats: the Keap contact moves
 * over to the survivor instead of being archived). Every one is reconciled.
 */
/* The survivor a deleted key was merged into, or NULL. */
static const char *
merged_into(const struct run *r, const char *key)
{
	size_t i, n = strlen(key);

	for (i = 0; i < r->merged.n; i++)
		if (strncmp(r->merged.v[i], key, n) == 0 && r->merged.v[i][n] == '\t')
			return r->merged.v[i] + n + 1;
	return NULL;
}

struct merge_scan {
	struct run *r;
	struct strset emails;	/* "<email>\t<gone key>" of every gone person */
};

static enum rc
merge_scan_one(void *arg, const char *key, size_t klen, const void *val, size_t vlen)
{
	struct merge_scan *ms = arg;
	struct candidate c;
	size_t j, k;

	(void)klen;
	if (set_has(&ms->r->gone, key) || codec_candidate_decode(val, vlen, &c) != 0)
		return RC_OK;
	for (j = 0; j < c.nemails; j++) {
		size_t n = strlen(c.emails[j]);
		for (k = 0; k < ms->emails.n; k++)
			if (strncmp(ms->emails.v[k], c.emails[j], n) == 0 && ms->emails.v[k][n] == '\t' &&
			    merged_into(ms->r, ms->emails.v[k] + n + 1) == NULL) {
				char *m = xasprintf("%s\t%s", ms->emails.v[k] + n + 1, key);
				set_add(&ms->r->merged, m);
				set_add(&ms->r->touched, key);
				free(m);
			}
	}
	candidate_free(&c);
	return RC_OK;
}

/*
 * The confirmed deletes: a person whose email now belongs to another person in
 * the ATS was merged into that one (merged_in_ats: the Keap contact moves over
 * to the survivor instead of being archived). Every one is reconciled.
 */
static enum rc
gone_finish(struct run *r)
{
	struct merge_scan ms;
	size_t i, j;
	enum rc rc = RC_OK;

	memset(&ms, 0, sizeof(ms));
	ms.r = r;
	set_finish(&r->gone);
	for (i = 0; i < r->gone.n; i++) {
		struct candidate c;

		set_add(&r->touched, r->gone.v[i]);
		if (snap_get_candidate(r->st, r->gone.v[i], &c) != RC_OK)
			continue;
		for (j = 0; j < c.nemails; j++) {
			char *e = xasprintf("%s\t%s", c.emails[j], r->gone.v[i]);
			set_add(&ms.emails, e);
			free(e);
		}
		candidate_free(&c);
	}
	/* one pass over the snapshot, only when something was deleted */
	if (ms.emails.n > 0)
		rc = state_each(r->st, DB_ATS, NULL, merge_scan_one, &ms);
	set_free(&ms.emails);
	set_finish(&r->merged);
	return rc;
}

static enum rc
on_deleted_id(void *arg, const char *id)
{
	struct run *r = arg;
	char *key = xasprintf("%s:%s", r->ats->drv->name, id);

	set_add(&r->feed, key);
	free(key);
	return RC_OK;
}

/* Incremental run with a delete feed: each id it names is confirmed with get(). */
static enum rc
confirm_feed(struct run *r)
{
	struct ats_pull ap;
	int64_t hwm = meta_int(r, "hwm_ats_ms");
	size_t i;
	enum rc rc;

	memset(&ap, 0, sizeof(ap));
	rc = r->ats->drv->pull_deleted(r->ats, hwm - OVERLAP_MS, r->start_ms, on_deleted_id, r, &ap);
	if (rc != RC_OK || !ap.complete) {
		log_error("run", "the ATS delete feed did not complete (%d pages)", ap.pages);
		return rc != RC_OK ? rc : RC_REMOTE;
	}
	set_finish(&r->feed);
	for (i = 0; i < r->feed.n && rc == RC_OK; i++) {
		struct candidate *one = NULL;
		struct buf v = BUF_INIT;
		const char *key = r->feed.v[i];

		if (state_get(r->st, DB_ATS, key, &v) != RC_OK) {
			buf_free(&v);
			continue;	/* never seen: nothing to archive */
		}
		buf_free(&v);
		if (past_deadline(r))
			return RC_REMOTE;
		rc = r->ats->drv->get(r->ats, strchr(key, ':') + 1, &one);
		if (rc == RC_RECORD) {
			set_add(&r->gone, key);
			rc = RC_OK;
		} else if (one != NULL) {
			candidate_free(one);
			free(one);
		}
	}
	log_info("run", "ATS delete feed: %zu ids, %zu confirmed deleted", r->feed.n, r->gone.n);
	return rc;
}

static enum rc
collect_failed(void *arg, const char *key, size_t klen, const void *val, size_t vlen)
{
	struct run *r = arg;
	struct buf err = BUF_INIT;
	cJSON *j = json_parse(val, vlen, &err);
	int64_t attempts = 0;

	(void)klen;
	json_int(j, "attempts", &attempts);
	if (set_has(&r->touched, key))
		;	/* changed since: tried again anyway */
	else if (attempts >= cfg_int(r->cfg, OPT_RUN_MAX_ATTEMPTS)) {
		struct report_row *w = report_add_row(&r->rep, "write_failed", NULL, NULL, key, NULL);
		free(w->action);
		w->action = xstrdup("failed");
		w->error = xasprintf("gave up after %lld attempts (run.max_attempts); retried when the "
		    "candidate changes; last error: %s", (long long)attempts,
		    json_str(j, "last_error") ? json_str(j, "last_error") : "?");
		r->record_errors++;
		set_add(&r->gaveup, key);
	} else
		set_add(&r->retry, key);
	cJSON_Delete(j);
	buf_free(&err);
	return RC_OK;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Was this key in the full sweep's listing? (sorted before the first call) */
static int
was_listed(const struct run *r, const char *key)
{
	uint64_t h = codec_fnv1a(key, strlen(key));

	return r->nlisted > 0 && bsearch(&h, r->listed, r->nlisted, sizeof(h), cmp_u64) != NULL;
}

struct unlisted {
	struct run *r;
	struct strset *out;
};

static enum rc
collect_unlisted(void *arg, const char *key, size_t klen, const void *val, size_t vlen)
{
	struct unlisted *u = arg;

	(void)klen;
	(void)val;
	(void)vlen;
	if (!was_listed(u->r, key))
		set_add(u->out, key);
	return RC_OK;
}

/* Full sweep: ATS ids that vanished are confirmed one by one (404 = deleted). */
static enum rc
confirm_vanished(struct run *r)
{
	struct strset all = { 0 };
	size_t i;
	enum rc rc;

	qsort(r->listed, r->nlisted, sizeof(*r->listed), cmp_u64);
	{
		struct unlisted ul = { r, &all };
		if ((rc = state_each(r->st, DB_ATS, NULL, collect_unlisted, &ul)) != RC_OK)
			return rc;
	}
	for (i = 0; i < all.n && rc == RC_OK; i++) {
		const char *key = all.v[i], *id = strchr(key, ':');
		struct candidate *one = NULL;

		if (id == NULL)
			continue;
		if (r->ats->drv->flags & ATS_F_FULL_ONLY) {
			/* the listing is the whole truth (an export file): absent = gone,
			 * unless rows could not be read (the person may be one of them) */
			if (r->ats_skipped == 0)
				set_add(&r->gone, key);
			continue;
		}
		if (past_deadline(r)) {
			rc = RC_REMOTE;
			break;
		}
		rc = r->ats->drv->get(r->ats, id + 1, &one);
		if (rc == RC_RECORD) {
			set_add(&r->gone, key);
			rc = RC_OK;
		} else if (rc == RC_OK && one == NULL) {
			/* the ATS answered with an error for this one: not gone, kept */
			log_warn("run", "%s: not listed, and the ATS did not say it is gone: kept", key);
			r->record_errors++;
		} else if (rc == RC_OK) {
			/* listed nowhere but still there (e.g. private and hidden): keep it */
			int changed;
			rc = snap_put_candidate(r->st, one, &changed);
			candidate_free(one);
			free(one);
		}
	}
	set_free(&all);
	return rc;
}

/* The shape of an id, to tell an id of this source from other text a person
 * left in the external-id field: "u" for a UUID, else the id's character
 * classes with runs folded ("10000123" → "9", "C-0001" → "a-9", "n/a" →
 * "a/a"). Written into out (size >= 2). */
static void
id_shape(const char *id, char *out, size_t size)
{
	size_t i, n = strlen(id), k = 0;
	int uuid = n == 36;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)id[i];
		if (i == 8 || i == 13 || i == 18 || i == 23)
			uuid &= ch == '-';
		else
			uuid &= (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
	}
	if (uuid) {
		str_copy(out, size, "u");
		return;
	}
	for (i = 0; i < n && k + 1 < size; i++) {
		unsigned char ch = (unsigned char)id[i];
		char cls = ch >= '0' && ch <= '9' ? '9' : (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    ch >= 0x80 ? 'a' : (char)ch;
		if (k == 0 || out[k - 1] != cls)
			out[k++] = cls;
	}
	out[k] = '\0';
}

struct orphans {
	struct run *r;
	const char *src;
	char shape[32];		/* of this source's ids, from the snapshot ("" unknown) */
	struct strset found;	/* "<ats key>\t<contact id>" */
};

static enum rc
first_key(void *arg, const char *key, size_t klen, const void *val, size_t vlen)
{
	struct orphans *o = arg;

	(void)klen;
	(void)val;
	(void)vlen;
	if (o->shape[0] == '\0' && str_has_prefix(key, o->src) && key[strlen(o->src)] == ':')
		id_shape(key_id(key), o->shape, sizeof(o->shape));
	return RC_OK;
}

static enum rc
orphan_one(void *arg, const char *key, size_t klen, const void *val, size_t vlen)
{
	struct orphans *o = arg;
	struct run *r = o->r;
	struct buf id = BUF_INIT, have = BUF_INIT, owner = BUF_INIT;
	char *cid = xstrndup(val, vlen), *akey = NULL, *ckey = NULL, shape[32];
	cJSON *ct = NULL;

	(void)klen;
	if (!extid_parse(r->ext_fmt, o->src, key + 2, &id))
		goto out;
	id_shape(id.p, shape, sizeof(shape));
	if (strcmp(shape, o->shape) != 0)
		goto out;	/* not an id of this source: someone's other text */
	akey = xasprintf("%s:%s", o->src, id.p);
	if (state_get(r->st, DB_ATS, akey, &have) == RC_OK)
		goto out;	/* a person the snapshot holds: reconciled as such */
	ckey = xasprintf("c:%s", cid);
	if (state_get(r->st, DB_LINK, ckey, &owner) == RC_OK && is_live(r, owner.p))
		goto out;	/* the contact follows someone else now */
	if (snap_get_contact(r->st, cid, &ct, NULL) != RC_OK || ct == NULL ||
	    has_tag_named(r, ct, cfg_str(r->cfg, OPT_LIFE_DELETED_TAG)) ||
	    has_tag_named(r, ct, cfg_str(r->cfg, OPT_LIFE_ANONYMIZED_TAG)))
		goto out;	/* archived or erased already: nothing left to do */
	{
		char *e = xasprintf("%s\t%s", akey, cid);
		set_add(&o->found, e);
		free(e);
	}
out:
	cJSON_Delete(ct);
	free(cid);
	free(akey);
	free(ckey);
	buf_free(&id);
	buf_free(&have);
	buf_free(&owner);
	return RC_OK;
}

/* A stub of a person the ATS no longer has: the id, and the emails of the
 * contact that names it (for the merge check), linked to that contact. */
static enum rc
put_stub(struct run *r, const char *src, const char *akey, const char *cid)
{
	struct candidate c;
	cJSON *ct = NULL;
	const cJSON *e;
	const char **raw = NULL;
	size_t n = 0;
	int changed;
	enum rc rc;

	memset(&c, 0, sizeof(c));
	c.ats = xstrdup(src);
	c.id = xstrdup(key_id(akey));
	if (snap_get_contact(r->st, cid, &ct, NULL) == RC_OK)
		cJSON_ArrayForEach(e, json_get(ct, "email_addresses"))
			if (json_str(e, "email") != NULL) {
				raw = xrealloc(raw, (n + 1) * sizeof(*raw));
				raw[n++] = json_str(e, "email");
			}
	candidate_set_emails(&c, raw, n, 0);
	rc = snap_put_candidate(r->st, &c, &changed);
	if (rc == RC_OK)
		rc = snap_link(r->st, akey, cid);
	free(raw);
	cJSON_Delete(ct);
	candidate_free(&c);
	return rc;
}

/*
 * Full sweep, after both pulls: Keap contacts whose external id names a
 * person of this source that the snapshot does not hold (a Keap another tool
 * filled, or a person deleted before the first run). Each is confirmed with
 * get() (an export file: absent from a file read whole); a deleted one becomes
 * a stub linked to its contact, so the lifecycle policy archives it, or a
 * merge moves it, like any other delete. One that still exists (unlisted, e.g.
 * private) is stored as it is.
 */
static enum rc
find_orphans(struct run *r)
{
	struct orphans o;
	size_t i;
	enum rc rc;

	memset(&o, 0, sizeof(o));
	o.r = r;
	o.src = r->ats->drv->name;
	if ((rc = state_each_page(r->st, DB_ATS, NULL, 1, first_key, &o, &i)) != RC_OK ||
	    o.shape[0] == '\0')
		return rc;
	if ((rc = state_each(r->st, DB_LINK, "x:", orphan_one, &o)) != RC_OK)
		goto out;
	set_finish(&o.found);
	for (i = 0; i < o.found.n && rc == RC_OK; i++) {
		char *akey = xstrdup(o.found.v[i]), *cid = strchr(akey, '\t');
		struct candidate *one = NULL;

		*cid++ = '\0';
		if (r->ats->drv->flags & ATS_F_FULL_ONLY) {
			if (r->ats_skipped == 0 && (rc = put_stub(r, o.src, akey, cid)) == RC_OK)
				set_add(&r->gone, akey);
		} else if (past_deadline(r))
			rc = RC_REMOTE;
		else if ((rc = r->ats->drv->get(r->ats, key_id(akey), &one)) == RC_RECORD) {
			if ((rc = put_stub(r, o.src, akey, cid)) == RC_OK)
				set_add(&r->gone, akey);
		} else if (rc == RC_OK && one != NULL) {
			int changed;
			rc = snap_put_candidate(r->st, one, &changed);
			set_add(&r->touched, akey);
		}
		if (one != NULL) {
			candidate_free(one);
			free(one);
		}
		free(akey);
	}
	log_info("run", "Keap: %zu contacts name a person the ATS did not list", o.found.n);
out:
	set_free(&o.found);
	return rc;
}

/* Full Keap sweep: contacts that were not listed are gone from Keap. */
static enum rc
drop_vanished_contacts(struct run *r)
{
	struct strset all = { 0 };
	size_t i;
	enum rc rc;

	set_finish(&r->seen_contacts);
	if ((rc = state_each(r->st, DB_KEAP, NULL, collect_key, &all)) != RC_OK)
		return rc;
	for (i = 0; i < all.n && rc == RC_OK; i++) {
		struct buf ak = BUF_INIT;
		char *ck;

		if (set_has(&r->seen_contacts, all.v[i]))
			continue;
		ck = xasprintf("c:%s", all.v[i]);
		if (state_get(r->st, DB_LINK, ck, &ak) == RC_OK)
			set_add(&r->touched, ak.p);
		free(ck);
		buf_free(&ak);
		rc = snap_del_contact(r->st, all.v[i], r->ext_field_id);
	}
	set_free(&all);
	return rc;
}

/* A listing that ended with rc (or incomplete): may the run go on with what
 * it read? Only for a remote failure that outlived its retries, not for a
 * deadline, a signal, a quota, credentials or the state. */
static int
partial_ok(struct run *r, enum rc rc)
{
	return (rc == RC_OK || rc == RC_REMOTE) && !past_deadline(r) && !stop_requested() &&
	    r->o.mode != RUN_APPLY;
}

/* Keap's contacts changed since the last run (all of them on a full run) into the snapshot. */
static enum rc
pull_keap(struct run *r, int64_t hwm_keap)
{
	struct keap_err kerr;
	char since[32];
	int pages = 0, complete = 0;
	enum rc rc;

	if (!r->full)
		fmt_rfc3339_ms(hwm_keap - OVERLAP_MS, since, sizeof(since));
	rc = keap_list_contacts(r->keap, r->full ? NULL : since, on_contacts, r, &pages, &complete, &kerr);
	if (rc == RC_OK)
		rc = batch_end(r);
	if ((rc != RC_OK || !complete) && partial_ok(r, rc) && hwm_keap > 0 &&
	    (rc = batch_end(r)) == RC_OK) {
		/* the snapshot keeps the unread contacts as they were (a first
		 * listing must be whole: an unread contact would look missing) */
		r->unread_keap = xasprintf("the Keap contact listing (a page after page %d could not "
		    "be read after its retries)", pages);
		log_error("run", "not read: %s; what was read is reconciled, no contact is treated "
		    "as deleted and the Keap window stays for the next run", r->unread_keap);
		return RC_OK;
	}
	if (rc != RC_OK || !complete) {
		log_error("run", "the Keap listing did not complete (%d pages)", pages);
		return rc != RC_OK ? rc : RC_REMOTE;
	}
	if (r->full && (rc = drop_vanished_contacts(r)) != RC_OK)
		return rc;
	log_info("run", "Keap: %d pages", pages);
	return RC_OK;
}

static enum rc
pull(struct run *r)
{
	struct ats_pull ap;
	int64_t hwm_ats = meta_int(r, "hwm_ats_ms"), hwm_keap = meta_int(r, "hwm_keap_ms");
	int64_t every = cfg_int(r->cfg, OPT_RUN_FULL_SWEEP_EVERY), since_full = meta_int(r, "runs_since_full");
	size_t i;
	enum rc rc, e;

	r->full = r->o.full || (r->ats->drv->flags & ATS_F_FULL_ONLY) || hwm_ats == 0 || hwm_keap == 0 ||
	    since_full + 1 >= every;
	r->rep.mode = r->o.mode == RUN_PLAN || r->o.dry_run ? (r->full ? "dry-run full" : "dry-run") :
	    (r->full ? "full" : "incremental");
	log_info("run", "%s run (%s)", r->full ? "full" : "incremental", r->o.full ? "--full" :
	    hwm_ats == 0 ? "first run" : r->full ? "full_sweep_every" : "changes since the last run");
	memset(&ap, 0, sizeof(ap));
	if (state_get(r->st, DB_META, "ats_sync", &r->sync_tok) == RC_OK && r->sync_tok.len > 0)
		r->ats->sync_in = r->sync_tok.p;
	if (r->full)
		rc = r->ats->drv->pull_all(r->ats, on_candidate, r, &ap);
	else
		rc = r->ats->drv->pull_window(r->ats, hwm_ats - OVERLAP_MS, r->start_ms, on_candidate, r, &ap);
	if (rc == RC_OK)
		rc = batch_end(r);
	else if (partial_ok(r, rc) && (e = batch_end(r)) != RC_OK)
		rc = e;	/* what was read could not be kept */
	if ((rc != RC_OK || !ap.complete) && partial_ok(r, rc)) {
		r->unread_ats = xasprintf("the %s listing (a page after page %d could not be read "
		    "after its retries)", r->ats->drv->name, ap.pages);
		log_error("run", "not read: %s; the %ld people read are reconciled, nobody is treated "
		    "as deleted and the ATS window stays for the next run", r->unread_ats, ap.records);
		if (r->full)	/* only who was listed is reconciled (was_listed) */
			qsort(r->listed, r->nlisted, sizeof(*r->listed), cmp_u64);
	} else if (rc != RC_OK || !ap.complete) {
		log_error("run", "the ATS listing did not complete (%d pages); nothing unread is treated "
		    "as in sync", ap.pages);
		return rc != RC_OK ? rc : RC_REMOTE;
	}
	log_info("run", "ATS: %ld candidates in %d pages", ap.records, ap.pages);
	r->ats_skipped = ap.skipped;
	r->record_errors += ap.skipped;
	if (ap.skipped > 0) {
		log_warn("run", "ATS: %d records could not be read and were skipped%s", ap.skipped,
		    (r->ats->drv->flags & ATS_F_FULL_ONLY) ? "; nobody is treated as deleted this run" : "");
		report_add_note(&r->rep, "%d ATS records could not be read (see the log)%s", ap.skipped,
		    (r->ats->drv->flags & ATS_F_FULL_ONLY) ? "; no deletes this run" : "");
	}
	if (r->ats->sync_reset != NULL) {
		log_warn("run", "ATS sync token dropped (%s): a full listing was read instead",
		    r->ats->sync_reset);
		report_add_note(&r->rep, "ATS sync token dropped (%s): a full listing was read instead",
		    r->ats->sync_reset);
	}
	/* not in sync after the last run (failed, deferred, guarded, invalid): again,
	 * up to run.max_attempts failed writes; then only when it changes */
	set_finish(&r->touched);
	if ((rc = state_each(r->st, DB_FAILED, NULL, collect_failed, r)) != RC_OK)
		return rc;
	for (i = 0; i < r->retry.n; i++)
		set_add(&r->touched, r->retry.v[i]);
	set_finish(&r->gaveup);
	set_finish(&r->touched);
	if (r->unread_ats == NULL && r->full && (rc = confirm_vanished(r)) != RC_OK)
		return rc;
	if (r->unread_ats == NULL && !r->full && r->ats->drv->pull_deleted != NULL &&
	    (rc = confirm_feed(r)) != RC_OK)
		return rc;
	if (r->o.offline == NULL && (rc = pull_keap(r, hwm_keap)) != RC_OK)
		return rc;
	if (r->full && r->o.offline == NULL && (rc = find_orphans(r)) != RC_OK)
		return rc;
	if ((r->full || r->ats->drv->pull_deleted != NULL) && (rc = gone_finish(r)) != RC_OK)
		return rc;
	set_finish(&r->touched);
	log_info("run", "%zu candidates to reconcile", r->touched.n);
	return RC_OK;
}

/* ------------------------------------------------------------ reconcile */

/*
 * The candidate's contacts: snap_match (the link, any accepted spelling of the
 * external id, then email), less the contacts found by email alone whose
 * external id names someone else (DESIGN.md §4-5):
 *   another source's candidate, or a live candidate of this source → theirs,
 *     never this candidate's (nor a duplicate of it);
 *   a candidate deleted or merged away → a former person's contact: not a
 *     duplicate; taken over (linked, its external id rewritten) only when the
 *     candidate has no contact of its own (a merge: the contact follows the
 *     survivor).
 */
static enum rc
match_contacts(struct run *r, const char *key, const struct candidate *c, char ***ids, size_t *n,
    const char **how)
{
	char *sp[EXTID_MAX], *src = key_source(key), *former = NULL;
	const char *id = key_id(key);
	size_t nsp, nbyid = 0, i, kept;
	enum rc rc;

	nsp = extid_spellings(r->ext_fmt, src, id, sp);
	rc = snap_match(r->st, key, sp, nsp, c, cfg_bool(r->cfg, OPT_MATCH_BY_EMAIL), ids, n, &nbyid,
	    how);
	for (i = 0; i < nsp; i++)
		free(sp[i]);
	kept = nbyid;
	for (i = nbyid; rc == RC_OK && i < *n; i++) {
		struct buf ext = BUF_INIT, other = BUF_INIT;
		int mine = 1;

		if (snap_contact_extid(r->st, (*ids)[i], r->ext_field_id, &ext) == RC_OK && ext.len > 0 &&
		    !extid_names(r->ext_fmt, src, id, ext.p)) {
			if (!extid_parse(r->ext_fmt, src, ext.p, &other))
				mine = 0;	/* another source's person */
			else {
				char *okey = xasprintf("%s:%s", src, other.p);
				if (is_live(r, okey))
					mine = 0;	/* another person's contact */
				else {
					mine = 0;	/* a former person's contact */
					if (former == NULL)
						former = xstrdup((*ids)[i]);
				}
				free(okey);
			}
		}
		if (mine)
			(*ids)[kept++] = (*ids)[i];
		else
			free((*ids)[i]);
		buf_free(&ext);
		buf_free(&other);
	}
	if (rc == RC_OK) {
		*n = kept;
		if (kept == 0 && former != NULL) {
			*ids = xrealloc(*ids, sizeof(char *));
			(*ids)[0] = former;
			*n = 1;
			*how = "email";
			former = NULL;
		} else if (kept == 0)
			*how = NULL;
	}
	free(former);
	free(src);
	return rc;
}

/* 1 when the survivor of a merge takes over the contact cid (it has no
 * contact of its own), 0 when it has one (cid is then archived). */
static int
survivor_takes(struct run *r, const char *survivor, const char *cid)
{
	struct candidate sc;
	char **ids = NULL;
	size_t n = 0;
	const char *how;
	int takes = 0;

	if (snap_get_candidate(r->st, survivor, &sc) != RC_OK)
		return 1;
	if (match_contacts(r, survivor, &sc, &ids, &n, &how) == RC_OK)
		takes = n == 0 || strcmp(ids[0], cid) == 0;
	snap_ids_free(ids, n);
	candidate_free(&sc);
	return takes;
}

/* The names of the contact's tags in the stage category. */
static void
stage_tags_of(const struct run *r, const cJSON *contact, const char ***names, size_t *n)
{
	const char *cat = NULL;
	const cJSON *t;
	size_t i;

	*names = NULL;
	*n = 0;
	for (i = 0; r->map.tag_category != NULL && i < r->tags.ncats; i++)
		if (strcmp(r->tags.cats[i].name, r->map.tag_category) == 0)
			cat = r->tags.cats[i].id;
	if (cat == NULL)
		return;
	cJSON_ArrayForEach(t, json_get(contact, "tag_ids")) {
		char num[32];
		const char *id = json_idstr(t, num, sizeof(num));
		for (i = 0; id != NULL && i < r->tags.n; i++)
			if (strcmp(r->tags.v[i].id, id) == 0 && str_eq(r->tags.v[i].category_id, cat)) {
				*names = xrealloc(*names, (*n + 1) * sizeof(char *));
				(*names)[(*n)++] = r->tags.v[i].name;
			}
	}
}

static int
has_tag_named(const struct run *r, const cJSON *contact, const char *name)
{
	const cJSON *t;
	size_t i;

	cJSON_ArrayForEach(t, json_get(contact, "tag_ids")) {
		char num[32];
		const char *id = json_idstr(t, num, sizeof(num));
		for (i = 0; id != NULL && i < r->tags.n; i++)
			if (strcmp(r->tags.v[i].id, id) == 0 && strcmp(r->tags.v[i].name, name) == 0)
				return 1;
	}
	return 0;
}

/* The values both sides hold (the base of the next 3-way diff): every rule
 * whose desired value the contact now has. */
static cJSON *
agreed_values(const struct mapping *m, const struct candidate *c, const cJSON *contact)
{
	cJSON *b = cJSON_CreateObject();
	size_t i;

	for (i = 0; i < m->n; i++) {
		struct desired d;
		char *actual;

		mapping_desired(m, &m->rules[i], c, &d);
		if (d.opinion && !d.invalid) {
			actual = mapping_actual(m, &m->rules[i], contact);
			if (strcmp(actual, d.value) == 0)
				cJSON_AddStringToObject(b, m->rules[i].to, d.value);
			free(actual);
		}
		desired_free(&d);
	}
	return b;
}

static void
row_from_drift(struct run *r, const struct drift *d, const char *key, const char *contact,
    const char *action)
{
	struct report_row *w = report_add_row(&r->rep, drift_kind_str(d->kind), d->field,
	    drift_side_str(d->side), key, contact);

	w->desired = d->desired ? xstrdup(d->desired) : NULL;
	w->actual = d->actual ? xstrdup(d->actual) : NULL;
	free(w->action);
	w->action = xstrdup(action);
	w->error = d->why ? xstrdup(d->why) : NULL;
	if (d->kind == DRIFT_INVALID_VALUE)
		r->record_errors++;
}

/* Adds a lifecycle tag op unless the contact has the tag. */
static void
lifecycle_tag(struct run *r, const char *key, const char *contact_id, const cJSON *contact,
    const char *tag, const char *kind, int archive)
{
	struct op *o;

	if (contact != NULL && has_tag_named(r, contact, tag))
		return;
	o = plan_add(&r->plan, OP_APPLY_TAG, key, contact_id, tag, NULL, 0);
	o->archive = archive;
	op_add_reason(o, kind, NULL);
	report_add_row(&r->rep, kind, NULL, NULL, key, contact_id);
	free(r->rep.rows[r->rep.nrows - 1].action);
	r->rep.rows[r->rep.nrows - 1].action = xstrdup("planned");
}

static enum rc
reconcile_one(struct run *r, const char *key)
{
	struct candidate c;
	char **ids = NULL;
	size_t n = 0, i;
	const char *how = NULL;
	cJSON *contact = NULL, *basej = NULL;
	uint64_t hash = 0;
	struct diff_result dr;
	struct diff_base base = { NULL, NULL, 0, 0 };
	struct diff_tags tags = { NULL, 0 };
	const char **tagnames = NULL;
	int linked_gone = 0;
	enum rc rc;

	memset(&dr, 0, sizeof(dr));
	if (!set_has(&r->touched, key) && !set_has(&r->gone, key)) {
		struct snap_stamp sp;
		uint64_t h;
		if (snap_candidate_hash(r->st, key, &h) == RC_OK &&
		    snap_stamp_holds(r->st, key, h, r->env_hash, &sp)) {
			r->fast++;
			return RC_OK;	/* nothing changed since they last agreed */
		}
	}
	if ((rc = snap_get_candidate(r->st, key, &c)) != RC_OK)
		return rc == RC_RECORD ? RC_OK : rc;
	if (c.is_private && !cfg_bool(r->cfg, OPT_ATS_PRIVATE_CANDIDATES))
		goto done;	/* out of scope: never flows to Keap */
	if ((rc = match_contacts(r, key, &c, &ids, &n, &how)) != RC_OK)
		goto done;
	if (set_has(&r->gone, key) && merged_into(r, key) != NULL) {
		const char *survivor = merged_into(r, key);
		const char *tag = cfg_str(r->cfg, OPT_LIFE_DELETED_TAG);

		if (n > 0 && !survivor_takes(r, survivor, ids[0])) {
			/* the survivor has a contact of its own: this one is archived
			 * (DESIGN.md §5), never tagged as a duplicate */
			snap_get_contact(r->st, ids[0], &contact, &hash);
			if (contact != NULL && has_tag_named(r, contact, tag)) {
				if ((rc = snap_unlink(r->st, key)) == RC_OK)
					rc = state_del(r->st, DB_ATS, key);	/* archived already */
			} else {
				lifecycle_tag(r, key, ids[0], contact, tag, "merged_in_ats", 1);
				r->rep.rows[r->rep.nrows - 1].desired = xstrdup(survivor);
				r->rep.rows[r->rep.nrows - 1].error = xstrdup("merged in the ATS into a "
				    "candidate with a contact of its own: the archive tag goes on this contact");
			}
			goto done;
		}
		/* the survivor has no contact: this one follows it (the survivor's own
		 * reconcile links it and rewrites its external id) */
		{
			struct report_row *w = report_add_row(&r->rep, "merged_in_ats", NULL, NULL, key,
			    n > 0 ? ids[0] : NULL);
			w->desired = xstrdup(survivor);
			w->error = xstrdup("merged in the ATS: the contact now follows the surviving "
			    "candidate; no archive tag");
		}
		if ((rc = snap_unlink(r->st, key)) == RC_OK)
			rc = state_del(r->st, DB_ATS, key);
		goto done;
	}
	if (set_has(&r->gone, key)) {
		/* deleted in the ATS: the archive tag, nothing else (or a delete by policy) */
		const char *policy = cfg_str(r->cfg, OPT_LIFE_DELETES);
		if (n > 0 && strcmp(policy, "tag") == 0) {
			const char *tag = cfg_str(r->cfg, OPT_LIFE_DELETED_TAG);
			snap_get_contact(r->st, ids[0], &contact, &hash);
			if (contact != NULL && has_tag_named(r, contact, tag))
				state_del(r->st, DB_ATS, key);	/* archived already: done with it */
			else
				lifecycle_tag(r, key, ids[0], contact, tag, "deleted_in_ats", 1);
		} else if (n == 0)
			state_del(r->st, DB_ATS, key);	/* nothing in Keap to archive */ else if (n > 0 && strcmp(policy, "delete") == 0) {
			struct op *o = plan_add(&r->plan, OP_DELETE_CONTACT, key, ids[0], NULL, NULL, 0);
			op_add_reason(o, "deleted_in_ats", NULL);
			report_add_row(&r->rep, "deleted_in_ats", NULL, NULL, key, ids[0]);
		} else
			report_add_row(&r->rep, "deleted_in_ats", NULL, NULL, key, n > 0 ? ids[0] : NULL);
		goto done;
	}
	if (n == 0) {
		struct buf ck = BUF_INIT;
		linked_gone = snap_linked(r->st, key, &ck) == RC_OK;
		buf_free(&ck);
	}
	if (n > 0) {
		if ((rc = snap_get_contact(r->st, ids[0], &contact, &hash)) != RC_OK)
			goto done;
		stage_tags_of(r, contact, &tagnames, &tags.nstage);
		tags.stage = tagnames;
		if (n > 1) {
			size_t row = r->rep.nrows;	/* an index: more rows are added below */
			struct buf others = BUF_INIT;

			report_add_row(&r->rep, "duplicate_contacts", NULL, NULL, key, ids[0]);
			for (i = 1; i < n; i++) {
				cJSON *dup = NULL;
				buf_addf(&others, "%s%s", i > 1 ? "," : "", ids[i]);
				snap_get_contact(r->st, ids[i], &dup, NULL);
				lifecycle_tag(r, key, ids[i], dup, cfg_str(r->cfg, OPT_LIFE_DUPLICATE_TAG),
				    "duplicate_contacts", 0);
				cJSON_Delete(dup);
			}
			r->rep.rows[row].actual = buf_take(&others);
			r->rep.rows[row].error = xstrdup("the linked contact is repaired; the others are "
			    "tagged, never merged or deleted");
		}
		if (how != NULL && strcmp(how, "link") != 0)
			snap_link(r->st, key, ids[0]);
	}
	if (c.anonymized) {
		if (n > 0)
			lifecycle_tag(r, key, ids[0], contact, cfg_str(r->cfg, OPT_LIFE_ANONYMIZED_TAG),
			    "anonymized", 0);
		else
			report_add_row(&r->rep, "anonymized", NULL, NULL, key, NULL);
		goto done;
	}
	if (linked_gone) {
		struct report_row *w = report_add_row(&r->rep, "contact_deleted_in_keap", NULL, NULL, key,
		    NULL);
		w->error = xstrdup("the linked contact was deleted in Keap; reported, not recreated");
		goto done;
	}
	basej = snap_get_base(r->st, key);
	base.by_id = how != NULL && (strcmp(how, "link") == 0 || strcmp(how, "external_id") == 0);
	{
		const cJSON *it;
		size_t nb = (size_t)cJSON_GetArraySize(basej), k = 0;
		base.key = xcalloc(nb + 1, sizeof(char *));
		base.val = xcalloc(nb + 1, sizeof(char *));
		cJSON_ArrayForEach(it, basej)
			if (cJSON_IsString(it)) {
				((const char **)base.key)[k] = it->string;
				((const char **)base.val)[k] = it->valuestring;
				k++;
			}
		base.n = k;
	}
	diff_candidate(&r->map, &c, contact, &base, &tags, &dr);
	if (contact == NULL) {
		/* a new contact: upsert, carrying the external id so a replay finds it */
		cJSON *body = dr.changes;
		cJSON *cf;
		struct op *o;

		dr.changes = NULL;
		if (body == NULL)
			body = cJSON_CreateObject();
		if (json_get(body, "email_addresses") == NULL && json_get(body, "phone_numbers") == NULL) {
			struct report_row *w = report_add_row(&r->rep, "invalid_value", "email", NULL, key, NULL);
			w->error = xstrdup("no valid email or phone: Keap cannot create this contact");
			r->record_errors++;
			cJSON_Delete(body);
		} else {
			cf = cJSON_GetObjectItemCaseSensitive(body, "custom_fields");
			if (cf == NULL)
				cf = cJSON_AddArrayToObject(body, "custom_fields");
			{
				cJSON *item = cJSON_CreateObject();
				struct buf xv = BUF_INIT;
				char *src = key_source(key);
				extid_format(r->ext_fmt, src, key_id(key), &xv);
				cJSON_AddStringToObject(item, "id", r->ext_field_id);
				cJSON_AddStringToObject(item, "content", xv.p);
				cJSON_AddItemToArray(cf, item);
				buf_free(&xv);
				free(src);
			}
			o = plan_add(&r->plan, OP_UPSERT_CONTACT, key, NULL, NULL, body, 0);
			op_add_reason(o, "missing_contact", NULL);
		}
	} else {
		/* link the contact to the candidate in Keap too (the external-id field) */
		struct buf xv = BUF_INIT;
		char *src = key_source(key);
		int has_ext;

		/* any accepted spelling of the id is in sync, never rewritten (extid.h) */
		has_ext = snap_contact_extid(r->st, ids[0], r->ext_field_id, &xv) == RC_OK &&
		    extid_names(r->ext_fmt, src, key_id(key), xv.p);
		buf_reset(&xv);
		extid_format(r->ext_fmt, src, key_id(key), &xv);
		free(src);
		if (!has_ext) {
			cJSON *item = cJSON_CreateObject(), *cf;
			if (dr.changes == NULL)
				dr.changes = cJSON_CreateObject();
			cf = cJSON_GetObjectItemCaseSensitive(dr.changes, "custom_fields");
			if (cf == NULL)
				cf = cJSON_AddArrayToObject(dr.changes, "custom_fields");
			cJSON_AddStringToObject(item, "id", r->ext_field_id);
			cJSON_AddStringToObject(item, "content", xv.p);
			cJSON_AddItemToArray(cf, item);
		}
		buf_free(&xv);
		if (dr.changes != NULL) {
			struct op *o = plan_add(&r->plan, OP_PATCH_CONTACT, key, ids[0], NULL,
			    keap_patch_body(contact, dr.changes), hash);
			for (i = 0; i < dr.n; i++)
				if (dr.v[i].repair && (dr.v[i].kind == DRIFT_FIELD_MISMATCH ||
				    dr.v[i].kind == DRIFT_EMAIL_CHANGED))
					op_add_reason(o, drift_kind_str(dr.v[i].kind), dr.v[i].field);
			if (!has_ext)
				op_add_reason(o, "link", "external_id");
		}
	}
	if (dr.tag_add != NULL) {
		struct op *o = plan_add(&r->plan, OP_APPLY_TAG, key, n > 0 ? ids[0] : NULL, dr.tag_add,
		    NULL, 0);
		op_add_reason(o, "stage_tag", NULL);
	}
	for (i = 0; i < dr.ntag_remove; i++) {
		struct op *o = plan_add(&r->plan, OP_REMOVE_TAG, key, ids[0], dr.tag_remove[i], NULL, 0);
		op_add_reason(o, "stage_tag", NULL);
	}
	for (i = 0; i < dr.n; i++)
		row_from_drift(r, &dr.v[i], key, n > 0 ? ids[0] : NULL,
		    dr.v[i].repair ? "planned" : "reported");
	if (dr.n == 0 && contact != NULL) {
		/* in agreement: what is agreed now is the base of the next diff */
		cJSON *agreed = agreed_values(&r->map, &c, contact);
		char *a = json_print(agreed), *b = json_print(basej);
		if (strcmp(a, b) != 0)
			snap_put_base(r->st, key, agreed);
		free(a);
		free(b);
		cJSON_Delete(agreed);
		if (n == 1 && !linked_gone)
			stamp_agreement(r, key, &c, contact);
	}
done:
	diff_result_free(&dr);
	free((void *)base.key);
	free((void *)base.val);
	free(tagnames);
	cJSON_Delete(basej);
	cJSON_Delete(contact);
	snap_ids_free(ids, n);
	candidate_free(&c);
	return rc;
}

#define RECONCILE_CHUNK 1000

static enum rc
reconcile_keys(struct run *r, char *const *keys, size_t n)
{
	size_t i, j, op0, row0;
	enum rc rc = RC_OK;

	for (i = 0; i < n && rc == RC_OK; i++) {
		if (past_deadline(r))
			return RC_REMOTE;
		if (r->gaveup.n > 0 && set_has(&r->gaveup, keys[i]))
			continue;	/* reported as write_failed; tried again when it changes */
		if (r->unread_ats != NULL && r->full && !was_listed(r, keys[i]))
			continue;	/* maybe on the unread page: as it was, until read */
		if ((rc = batch_tick(r)) != RC_OK)
			break;
		progress_update(&r->prog, "comparing", ++r->compared, r->full ? 0 : r->touched.n);
		op0 = r->plan.n;
		row0 = r->rep.nrows;
		rc = reconcile_one(r, keys[i]);
		for (j = op0; j < r->plan.n; j++) {
			/* where mark_rows finds the op's rows: O(1) per op, not a scan */
			r->plan.v[j].row_lo = row0;
			r->plan.v[j].row_hi = r->rep.nrows;
		}
	}
	return rc;
}

/* The touched candidates; on a full sweep every candidate in the snapshot,
 * walked in chunks so memory does not grow with the ATS. */
static enum rc
reconcile(struct run *r)
{
	enum rc rc = RC_OK;

	if (!r->full)
		rc = reconcile_keys(r, r->touched.v, r->touched.n);
	else {
		struct buf after = BUF_INIT;
		size_t nv = RECONCILE_CHUNK;

		while (rc == RC_OK && nv == RECONCILE_CHUNK) {
			struct strset chunk = { 0 };
			rc = state_each_page(r->st, DB_ATS, after.len ? after.p : NULL, RECONCILE_CHUNK,
			    collect_key, &chunk, &nv);
			if (rc == RC_OK && chunk.n > 0) {
				buf_reset(&after);
				buf_adds(&after, chunk.v[chunk.n - 1]);
				rc = reconcile_keys(r, chunk.v, chunk.n);
			}
			set_free(&chunk);
		}
		buf_free(&after);
	}
	if (rc == RC_OK)
		rc = batch_end(r);
	return rc;
}

/* -------------------------------------------------------------- accuracy */

struct acc {
	struct run *r;
	size_t agree, total, linked, in_sync, candidates;
	int count_fields;		/* the pass after the writes */
	struct strset ok, pending;	/* in sync / not, after the writes */
};

/* Remembers the DB "failed" changes the accuracy pass implies: only the keys
 * whose record must change (memory follows the changes, not the ATS). */
static void
failed_mark(struct acc *a, const char *key, int in_sync)
{
	struct buf v = BUF_INIT;
	int present = state_get(a->r->st, DB_FAILED, key, &v) == RC_OK;

	if (in_sync && present)
		set_add(&a->ok, key);
	else if (!in_sync && !present)
		set_add(&a->pending, key);
	buf_free(&v);
}

static enum rc
acc_one(void *arg, const char *key, size_t klen, const void *val, size_t vlen)
{
	struct acc *a = arg;
	struct run *r = a->r;
	struct candidate c;
	struct buf cid = BUF_INIT;
	cJSON *contact = NULL;
	struct diff_result dr;
	struct diff_tags tags = { NULL, 0 };
	const char **names = NULL;
	size_t i;

	(void)klen;
	if (!set_has(&r->gone, key)) {
		struct snap_stamp sp;
		if (snap_stamp_holds(r->st, key, codec_record_hash(val, vlen), r->env_hash, &sp)) {
			size_t nop = 0;
			a->candidates++;
			a->linked++;
			a->in_sync++;
			for (i = 0; i < r->map.n; i++)
				if (sp.opinions & ((uint64_t)1 << i)) {
					nop++;
					if (a->count_fields)
						report_field_count(&r->rep, r->map.rules[i].to, 1);
				}
			a->agree += nop + 1;
			a->total += nop + 1;
			if (a->count_fields) {
				if (r->map.tag_category != NULL)
					report_field_count(&r->rep, "stage_tag", 1);
				report_group_count(&r->rep, RG_STAGE, sp.stage, 1);
				report_group_count(&r->rep, RG_JOB, sp.job, 1);
				failed_mark(a, key, 1);
			}
			return RC_OK;
		}
	}
	if (codec_candidate_decode(val, vlen, &c) != 0)
		return RC_OK;
	a->candidates++;
	if (c.anonymized || (c.is_private && !cfg_bool(r->cfg, OPT_ATS_PRIVATE_CANDIDATES)) ||
	    set_has(&r->gone, key)) {
		candidate_free(&c);
		return RC_OK;	/* out of scope */
	}
	if (snap_linked(r->st, key, &cid) != RC_OK || snap_get_contact(r->st, cid.p, &contact, NULL) != RC_OK) {
		/* in scope but no contact: every field disagrees */
		diff_candidate(&r->map, &c, NULL, NULL, NULL, &dr);
		for (i = 0; i < r->map.n; i++) {
			struct desired want;
			mapping_desired(&r->map, &r->map.rules[i], &c, &want);
			if (want.opinion) {
				a->total++;
				if (a->count_fields)
					report_field_count(&r->rep, r->map.rules[i].to, 0);
			}
			desired_free(&want);
		}
		diff_result_free(&dr);
		if (a->count_fields) {
			failed_mark(a, key, 0);
			report_group_count(&r->rep, RG_STAGE, c.stage_name ? c.stage_name : c.status, 0);
			report_group_count(&r->rep, RG_JOB, c.job, 0);
		}
		candidate_free(&c);
		buf_free(&cid);
		return RC_OK;
	}
	a->linked++;
	stage_tags_of(r, contact, &names, &tags.nstage);
	tags.stage = names;
	diff_candidate(&r->map, &c, contact, NULL, &tags, &dr);
	a->agree += dr.fields_agree + (dr.stage_ok ? 1 : 0);
	a->total += dr.fields_total + 1;
	if (dr.fields_agree == dr.fields_total && dr.stage_ok) {
		a->in_sync++;
		if (a->count_fields)
			failed_mark(a, key, 1);
	} else if (a->count_fields)
		failed_mark(a, key, 0);
	if (a->count_fields) {
		int ok = dr.fields_agree == dr.fields_total && dr.stage_ok;
		report_group_count(&r->rep, RG_STAGE, c.stage_name ? c.stage_name : c.status, ok);
		report_group_count(&r->rep, RG_JOB, c.job, ok);
		/* per field: every rule with an opinion counts */
		for (i = 0; i < r->map.n; i++) {
			size_t d;
			int bad = 0;
			struct desired want;
			mapping_desired(&r->map, &r->map.rules[i], &c, &want);
			if (want.opinion) {
				for (d = 0; d < dr.n; d++)
					bad |= str_eq(dr.v[d].field, r->map.rules[i].to) &&
					    !(dr.v[d].kind == DRIFT_FIELD_MISMATCH && !dr.v[d].repair);
				report_field_count(&r->rep, r->map.rules[i].to, !bad);
			}
			desired_free(&want);
		}
		if (r->map.tag_category != NULL)
			report_field_count(&r->rep, "stage_tag", dr.stage_ok);
	}
	diff_result_free(&dr);
	free(names);
	cJSON_Delete(contact);
	candidate_free(&c);
	buf_free(&cid);
	return RC_OK;
}

static double
accuracy(struct run *r, int count_fields)
{
	struct acc a;

	memset(&a, 0, sizeof(a));
	a.r = r;
	a.count_fields = count_fields;
	state_each(r->st, DB_ATS, NULL, acc_one, &a);
	r->rep.candidates = a.candidates;
	r->rep.linked = a.linked;
	r->rep.in_sync = a.in_sync;
	if (count_fields && r->st != NULL) {
		/* what is not in sync after this run is looked at again by the next one,
		 * changed or not (DB failed: attempts and the last error, if any) */
		size_t i;
		/* in batches: one commit (and one fsync) per BATCH_RECORDS, not per key */
		for (i = 0; i < a.ok.n; i++)
			if (batch_tick(r) == RC_OK)
				state_del(r->st, DB_FAILED, a.ok.v[i]);
		for (i = 0; i < a.pending.n; i++)
			if (batch_tick(r) == RC_OK)
				state_put(r->st, DB_FAILED, a.pending.v[i], "{\"attempts\":0}", 14);
		batch_end(r);
	}
	set_free(&a.ok);
	set_free(&a.pending);
	return a.total ? 100.0 * (double)a.agree / (double)a.total : 100.0;
}

/* ----------------------------------------------------------------- apply */

static void
op_json_line(const struct op *o, struct buf *out)
{
	struct plan one;
	char path[] = "/dev/null";

	(void)path;
	memset(&one, 0, sizeof(one));
	buf_reset(out);
	buf_addf(out, "{\"id\":\"%s\",\"kind\":\"%s\"", o->id, op_kind_str(o->kind));
	if (o->ats_id != NULL) {
		buf_adds(out, ",\"ats_id\":");
		json_escape(out, o->ats_id, strlen(o->ats_id));
	}
	if (o->contact_id != NULL) {
		buf_adds(out, ",\"contact\":");
		json_escape(out, o->contact_id, strlen(o->contact_id));
	}
	if (o->tag != NULL) {
		buf_adds(out, ",\"tag\":");
		json_escape(out, o->tag, strlen(o->tag));
	}
	if (o->body != NULL) {
		char *b = json_print(o->body);
		buf_addf(out, ",\"body\":%s", b);
		free(b);
	}
	buf_adds(out, "}");
}

/* The row of the report for this op's candidate and kind, to record the outcome. */
static void
mark_rows(struct run *r, const struct op *o, const char *action, const char *error)
{
	size_t i, lo = 0, hi = r->rep.nrows;

	if (o->row_hi > o->row_lo && o->row_hi <= r->rep.nrows) {
		lo = o->row_lo;
		hi = o->row_hi;
	}
	for (i = lo; i < hi; i++) {
		struct report_row *w = &r->rep.rows[i];
		int match = str_eq(w->candidate, o->ats_id) && strcmp(w->action, "planned") == 0;
		if (!match)
			continue;
		if (o->kind == OP_APPLY_TAG || o->kind == OP_REMOVE_TAG) {
			if (strstr(w->kind, "tag") == NULL && strcmp(w->kind, "deleted_in_ats") != 0 &&
			    strcmp(w->kind, "anonymized") != 0 && strcmp(w->kind, "duplicate_contacts") != 0)
				continue;
		} else if (strstr(w->kind, "tag") != NULL)
			continue;
		free(w->action);
		w->action = xstrdup(action);
		if (error != NULL) {
			free(w->error);
			w->error = xstrdup(error);
		}
	}
}

static void
record_failure(struct run *r, const struct op *o, const struct keap_err *e, enum rc rc)
{
	char why[320];

	snprintf(why, sizeof(why), "%s%s%s%s", e->status ? "HTTP " : "", "", e->msg[0] ? e->msg :
	    rc_str(rc), "");
	if (e->status)
		snprintf(why, sizeof(why), "HTTP %ld %s", e->status, e->msg);
	mark_rows(r, o, rc == RC_REMOTE || rc == RC_QUOTA ? "deferred" : "failed", why);
	if (o->ats_id != NULL) {
		struct buf v = BUF_INIT;
		int64_t attempts = 0;
		if (state_get(r->st, DB_FAILED, o->ats_id, &v) == RC_OK)
			attempts = json_record_int(&v, "attempts");
		buf_reset(&v);
		buf_addf(&v, "{\"attempts\":%lld,\"last_error\":", (long long)attempts + 1);
		json_escape(&v, why, strlen(why));
		buf_adds(&v, "}");
		state_put(r->st, DB_FAILED, o->ats_id, v.p, v.len);
		buf_free(&v);
	}
	if (rc == RC_REMOTE || rc == RC_QUOTA)
		r->rep.deferred++;
	else
		r->record_errors++;
}

/* After a successful write for a candidate: the agreed values become its base. */
static void
settle(struct run *r, const struct op *o, const cJSON *contact)
{
	struct candidate c;

	if (o->ats_id == NULL || snap_get_candidate(r->st, o->ats_id, &c) != RC_OK)
		return;
	{
		cJSON *agreed = agreed_values(&r->map, &c, contact);
		snap_put_base(r->st, o->ats_id, agreed);
		cJSON_Delete(agreed);
	}
	candidate_free(&c);
}

/* Writes are journalled, sent and confirmed in chunks of 4 × keap.concurrency
 * (at most 64): enough to keep every connection busy, small enough for the
 * progress line and a stop request to see them land. */
#define WRITE_CHUNK 64

/* Sends kops[0..n) and settles each answer; the journal entries go after. */
static enum rc
write_chunk(struct run *r, struct keap_op *kops, const size_t *which, size_t n)
{
	enum rc worst = RC_OK;
	size_t i;

	keap_write_batch(r->keap, kops, n);
	for (i = 0; i < n; i++) {
		struct op *o = &r->plan.v[which[i]];
		struct keap_op *k = &kops[i];
		/* what one write changes in the state (the contact, the link, the
		 * base, the failed record, the journal entry) is one transaction:
		 * one fsync per write, not one per record (DESIGN.md §6) */
		int txn = !r->in_batch && state_batch_begin(r->st) == RC_OK;

		if (k->rc == RC_OK) {
			int changed;
			char num[32];
			const char *cid = id_of(k->result, num, sizeof(num));
			snap_put_contact(r->st, k->result, r->ext_field_id, &changed, NULL);
			if (cid != NULL && o->ats_id != NULL) {
				snap_link(r->st, o->ats_id, cid);
				if (o->contact_id == NULL)
					o->contact_id = xstrdup(cid);
			}
			settle(r, o, k->result);
			mark_rows(r, o, "repaired", NULL);
		} else {
			record_failure(r, o, &k->err, k->rc);
			if (worst == RC_OK && (k->rc == RC_AUTH || k->rc == RC_QUOTA || k->rc == RC_CONFIG))
				worst = k->rc;
		}
		state_del(r->st, DB_JOURNAL, o->id);
		if (txn && state_batch_commit(r->st) != RC_OK && worst == RC_OK)
			worst = RC_STATE;
		test_hook("write");
		cJSON_Delete(k->result);
		k->result = NULL;
	}
	r->writes_done += n;
	if (r->kpace != NULL) {
		struct pace_info pi;
		pace_get(r->kpace, &pi);
		progress_quota(&r->prog, pi.quota_left);
	}
	progress_update(&r->prog, "writing contacts", r->writes_done, r->writes_planned);
	return worst;
}

static enum rc
apply_writes(struct run *r)
{
	struct keap_op kops[WRITE_CHUNK];
	size_t which[WRITE_CHUNK], n = 0, i;
	struct buf line = BUF_INIT;
	enum rc worst = RC_OK;

	for (i = 0; i < r->plan.n; i++)
		r->writes_planned += r->plan.v[i].kind == OP_UPSERT_CONTACT ||
		    r->plan.v[i].kind == OP_PATCH_CONTACT;
	if (r->writes_planned > 0)
		log_info("run", "writing %zu contacts", r->writes_planned);
	for (i = 0; i < r->plan.n && worst == RC_OK; i++) {
		struct op *o = &r->plan.v[i];
		cJSON *cur = NULL;
		uint64_t h = 0;

		if (o->kind != OP_UPSERT_CONTACT && o->kind != OP_PATCH_CONTACT)
			continue;
		if (o->kind == OP_PATCH_CONTACT && o->precondition != 0) {
			if (snap_get_contact(r->st, o->contact_id, &cur, &h) != RC_OK || h != o->precondition) {
				cJSON_Delete(cur);
				mark_rows(r, o, "skipped", "the contact changed since this was planned");
				log_warn("run", "op %s skipped: contact %s changed since it was planned", o->id,
				    o->contact_id);
				continue;
			}
			cJSON_Delete(cur);
		}
		/* intent first: committed before the write is sent */
		op_json_line(o, &line);
		if (state_put(r->st, DB_JOURNAL, o->id, line.p, line.len) != RC_OK) {
			worst = RC_STATE;
			break;
		}
		memset(&kops[n], 0, sizeof(kops[n]));
		kops[n].kind = o->kind == OP_UPSERT_CONTACT ? KEAP_OP_UPSERT : KEAP_OP_PATCH;
		kops[n].id = o->contact_id;
		kops[n].body = o->body;
		kops[n].current = NULL;		/* the body already holds the merged lists */
		kops[n].changes = o->body;
		which[n++] = i;
		if (n == WRITE_CHUNK || (long)n >= 4 * cfg_int(r->cfg, OPT_KEAP_CONCURRENCY)) {
			worst = write_chunk(r, kops, which, n);
			n = 0;
		}
	}
	if (worst == RC_OK && n > 0)
		worst = write_chunk(r, kops, which, n);
	buf_free(&line);
	return worst;
}

/* Keeps the snapshot's tag_ids in step with a tag change Keap confirmed. */
static void
snap_contact_tag(struct run *r, const char *contact_id, const char *tag_id, int apply)
{
	cJSON *c = NULL, *ids, *t, *next;
	int changed;

	if (snap_get_contact(r->st, contact_id, &c, NULL) != RC_OK)
		return;
	ids = cJSON_GetObjectItemCaseSensitive(c, "tag_ids");
	if (ids == NULL)
		ids = cJSON_AddArrayToObject(c, "tag_ids");
	for (t = ids->child; t != NULL; t = next) {
		char num[32];
		const char *id = json_idstr(t, num, sizeof(num));
		next = t->next;
		if (id != NULL && strcmp(id, tag_id) == 0)
			cJSON_Delete(cJSON_DetachItemViaPointer(ids, t));
	}
	if (apply)
		cJSON_AddItemToArray(ids, cJSON_CreateString(tag_id));
	snap_put_contact(r->st, c, r->ext_field_id, &changed, NULL);
	cJSON_Delete(c);
}

/* Tag ops, grouped by tag and direction: at most 100 contacts per call. */
static enum rc
apply_tags(struct run *r)
{
	size_t i, j;
	enum rc worst = RC_OK;
	const char *cat = r->map.tag_category;

	for (i = 0; i < r->plan.n && worst == RC_OK; i++) {
		struct op *o = &r->plan.v[i];
		const char **ids;
		struct op **ops;
		struct keap_tag_result *res;
		const char *tag_id = NULL;
		char *tagname;
		struct keap_err err;
		size_t n = 0;
		int apply;
		enum rc rc;
		struct buf line = BUF_INIT;

		if ((o->kind != OP_APPLY_TAG && o->kind != OP_REMOVE_TAG) || o->tag == NULL)
			continue;
		apply = o->kind == OP_APPLY_TAG;
		/* the tag's category: the stage category for stage tags, none for lifecycle tags */
		{
			int stage = 0;
			for (j = 0; j < r->map.nby_status; j++)
				stage |= strcmp(r->map.by_status[j].v, o->tag) == 0;
			for (j = 0; j < r->map.nby_stage; j++)
				stage |= strcmp(r->map.by_stage[j].v, o->tag) == 0;
			rc = keap_ensure_tag(r->keap, &r->tags, o->tag, stage ? cat : NULL, &tag_id, &err);
		}
		if (rc != RC_OK) {
			record_failure(r, o, &err, rc);
			free(o->tag);
			o->tag = NULL;
			if (rc == RC_AUTH || rc == RC_QUOTA)
				worst = rc;
			continue;
		}
		ids = xcalloc(r->plan.n + 1, sizeof(*ids));
		ops = xcalloc(r->plan.n + 1, sizeof(*ops));
		/* the group's tag: o's own is cleared below when o has no contact
		 * (its create failed or was deferred), and the group goes on without it */
		tagname = xstrdup(o->tag);
		for (j = i; j < r->plan.n; j++) {
			struct op *p = &r->plan.v[j];
			if (p->kind != o->kind || p->tag == NULL || strcmp(p->tag, tagname) != 0)
				continue;
			if (p->contact_id == NULL && p->ats_id != NULL) {
				/* created in this run: the link has its id now */
				struct buf cid = BUF_INIT;
				if (snap_linked(r->st, p->ats_id, &cid) == RC_OK)
					p->contact_id = buf_take(&cid);
				buf_free(&cid);
			}
			if (p->contact_id == NULL) {
				free(p->tag);
				p->tag = NULL;
				continue;	/* its create failed: reported there */
			}
			ids[n] = p->contact_id;
			ops[n++] = p;
		}
		res = xcalloc(n + 1, sizeof(*res));
		buf_addf(&line, "{\"id\":\"tag-%s\",\"kind\":\"%s\",\"tag\":", o->id, op_kind_str(o->kind));
		json_escape(&line, tagname, strlen(tagname));
		buf_addf(&line, ",\"contacts\":%zu}", n);
		state_put(r->st, DB_JOURNAL, o->id, line.p, line.len);
		rc = n > 0 ? keap_tag_contacts(r->keap, tag_id, apply, ids, n, res, &err) : RC_OK;
		for (j = 0; j < n; j++) {
			if (res[j].ok) {
				mark_rows(r, ops[j], "repaired", NULL);
				snap_contact_tag(r, ids[j], tag_id, apply);
			}
			else {
				struct keap_err e2 = err;
				if (rc == RC_OK) {
					memset(&e2, 0, sizeof(e2));
					snprintf(e2.msg, sizeof(e2.msg), "Keap answered %s for this contact",
					    res[j].status);
				}
				record_failure(r, ops[j], &e2, rc == RC_OK ? RC_RECORD : rc);
			}
		}
		state_del(r->st, DB_JOURNAL, o->id);
		test_hook("write");
		if (rc == RC_AUTH || rc == RC_QUOTA)
			worst = rc;
		/* done: clear the tag so the group is not sent twice */
		for (j = 0; j < n; j++)
			if (ops[j] != o) {
				free(ops[j]->tag);
				ops[j]->tag = NULL;
			}
		free(o->tag);
		o->tag = NULL;
		free(tagname);
		free(ids);
		free(ops);
		free(res);
		buf_free(&line);
	}
	return worst;
}

/* Deletes (lifecycle.deletes = "delete" only: keap.c refuses otherwise). */
static enum rc
apply_deletes(struct run *r)
{
	size_t i;

	for (i = 0; i < r->plan.n; i++) {
		struct op *o = &r->plan.v[i];
		struct keap_err err;
		enum rc rc;

		if (o->kind != OP_DELETE_CONTACT)
			continue;
		rc = keap_delete_contact(r->keap, o->contact_id, &err);
		if (rc == RC_OK) {
			snap_del_contact(r->st, o->contact_id, r->ext_field_id);
			mark_rows(r, o, "repaired", NULL);
		} else
			record_failure(r, o, &err, rc);
	}
	return RC_OK;
}

/* A killed run left intents in the journal: the writes are idempotent
 * (upserts match by email and carry the external id; patches and tags set
 * values), so they are simply done again. */
static enum rc
replay_journal(struct run *r)
{
	struct strset keys = { 0 };
	size_t i;
	enum rc rc = state_each(r->st, DB_JOURNAL, NULL, collect_key, &keys);

	if (rc != RC_OK || keys.n == 0) {
		set_free(&keys);
		return rc;
	}
	log_warn("run", "%zu writes of an interrupted run are in the journal; they are redone by "
	    "this run's plan and cleared", keys.n);
	/* The plan of this run re-derives every repair from the snapshot, and the
	 * writes are idempotent: the intents only need to be cleared once this
	 * run has planned (a killed create is found by its external id or email). */
	for (i = 0; i < keys.n && rc == RC_OK; i++)
		rc = state_del(r->st, DB_JOURNAL, keys.v[i]);
	set_free(&keys);
	return rc;
}

/* ---------------------------------------------------------------- report */

/* Each run record adds a point to the trend; only the last report.trend_runs
 * are kept, so memory stays bounded however many runs the table holds. */
static enum rc
trend_one(void *arg, const char *key, size_t klen, const void *val, size_t vlen)
{
	struct run *r = arg;
	size_t keep = (size_t)cfg_int(r->cfg, OPT_REPORT_TREND_RUNS);

	(void)key;
	(void)klen;
	if (report_trend_add(&r->rep, val, vlen) == 0 && r->rep.ntrend > 2 * keep)
		report_trend_keep(&r->rep, keep);
	return RC_OK;
}

static void
finish_report(struct run *r, enum rc rc)
{
	const struct keap_endpoint *ep;
	const struct http_stats *hs;
	struct pace_info pi;
	size_t n = 0, i;
	struct buf rec = BUF_INIT;
	const char *dir = cfg_str(r->cfg, OPT_REPORT_DIR);
	char *defdir = NULL;

	r->rep.finished_ms = now_ms();
	r->rep.exit_status = rc_exit_status(rc);
	if (r->keap != NULL) {
		ep = keap_endpoints(r->keap, &n);
		r->rep.api = xcalloc(n + 1, sizeof(*r->rep.api));
		for (i = 0; i < n; i++) {
			r->rep.api[i].endpoint = xstrdup(ep[i].name);
			r->rep.api[i].calls = ep[i].calls;
			r->rep.api[i].ok = ep[i].ok;
			r->rep.api[i].client_errors = ep[i].client_errors;
			r->rep.api[i].server_errors = ep[i].server_errors;
			r->rep.api[i].status_429 = ep[i].status_429;
			r->rep.api[i].transport_errors = ep[i].transport_errors;
		}
		r->rep.napi = n;
	}
	if (r->http != NULL) {
		hs = http_get_stats(r->http);
		r->rep.retries = hs->retries;
		r->rep.s429 = hs->status_429;
	}
	if (r->kpace != NULL) {
		pace_get(r->kpace, &pi);
		r->rep.quota_left = pi.quota_left;
	}
	if (r->st == NULL)
		return;
	/* the run record (trend and period report source), then the trend of the last N runs */
	r->rep.full = r->full;
	r->rep.url = cfg_str(r->cfg, OPT_REPORT_URL);
	report_run_record(&r->rep, &rec);
	if (rc != RC_LOCKED)
		state_put(r->st, DB_RUNS, r->rep.run_id, rec.p, rec.len);
	buf_free(&rec);
	state_each(r->st, DB_RUNS, NULL, trend_one, r);
	report_trend_keep(&r->rep, (size_t)cfg_int(r->cfg, OPT_REPORT_TREND_RUNS));
	if (dir == NULL)
		dir = defdir = xasprintf("%s/reports", r->state_dir);
	report_write(&r->rep, dir, cfg_bool(r->cfg, OPT_REPORT_MASK_PII));
	free(defdir);
}

/* ------------------------------------------------------------------ main */

static enum rc run_once(const struct config *, const struct run_opts *, const char *state_dir);

static enum rc
s3_rotation(void *arg)
{
	return s3state_commit(arg);
}

/* The run's totals as JSON: what Lambda's response carries. */
static void
summary_json(const struct report *rep, struct buf *out)
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

/*
 * One run. With state.url (s3://bucket/prefix) the state lives in S3: the run
 * takes the lease (RC_LOCKED while another run holds it), works on a local
 * copy, hands every rotated Keap refresh token to S3 before the new access
 * token is used, and puts the state back at the end (If-Match on the ETag it
 * read: two writers never silently overwrite each other).
 */
enum rc
run_main(const struct config *cfg, const struct run_opts *o)
{
	struct s3state *s3 = NULL;
	char *dir = NULL;
	enum rc rc, e;

	if (o->offline == NULL) {
		/* nothing is created (state directory, S3 copy) before the configuration holds */
		struct buf err = BUF_INIT;
		struct mapping m;
		rc = config_check_run(cfg, &err);
		if (rc == RC_OK && (rc = mapping_load(&m, cfg, &err)) == RC_OK)
			mapping_free(&m);
		if (rc != RC_OK)
			log_error("run", "%s", err.p);
		buf_free(&err);
		if (rc != RC_OK)
			return rc;
	}
	stop_install(cfg_int(cfg, OPT_RUN_GRACE) * 1000);
	if (o->mode == RUN_RUN && cfg_int(cfg, OPT_RUN_JITTER) > 0 && o->offline == NULL) {
		/* many tenants scheduled at the same minute must not reach Keap together;
		 * sleep before taking the lock or the S3 lease, so a sleeping run blocks
		 * nobody and its lease is not spent asleep */
		uint64_t x = (uint64_t)now_ms() * 6364136223846793005ULL ^ (uint64_t)getpid() << 17;
		long ms = (long)(x % (uint64_t)(cfg_int(cfg, OPT_RUN_JITTER) * 1000 + 1));
		log_info("run", "jitter: starting in %.1f s", (double)ms / 1000.0);
		if (sleep_unless_stopped(ms)) {
			log_warn("run", "stopped by signal %d before starting", stop_signal());
			return RC_REMOTE;
		}
	}
	if (cfg_str(cfg, OPT_STATE_URL) == NULL || o->offline != NULL)
		return run_once(cfg, o, cfg_str(cfg, OPT_STATE_DIR));
	{
		struct buf w = BUF_INIT;
		if (s3_check_lease_ttl(cfg, &w) != RC_OK)	/* `check` refuses it */
			log_warn("run", "%s (the lease heartbeat keeps it meanwhile)", w.p);
		buf_free(&w);
	}
	if ((rc = s3state_begin(cfg, &dir, &s3)) != RC_OK)
		return rc;
	auth_set_rotation_hook(s3_rotation, s3);
	rc = run_once(cfg, o, dir);
	auth_set_rotation_hook(NULL, NULL);
	if ((e = s3state_commit(s3)) != RC_OK) {
		log_error("run", "the state could not be put back in S3 (%s): the next run starts from "
		    "the last copy there", rc_str(e));
		if (rc == RC_OK || rc == RC_RECORD)
			rc = e;
	}
	s3state_end(s3);
	free(dir);
	return rc;
}

static enum rc
run_once(const struct config *cfg, const struct run_opts *o, const char *state_dir)
{
	struct run r;
	struct buf why = BUF_INIT;
	struct guards g;
	enum rc rc;

	memset(&r, 0, sizeof(r));
	r.cfg = cfg;
	r.o = *o;
	r.state_dir = state_dir;
	stop_install(cfg_int(cfg, OPT_RUN_GRACE) * 1000);
	progress_init(&r.prog, progress_want(cfg_bool(cfg, OPT_QUIET)));
	r.start_ms = now_ms();
	r.deadline = mono_ms() + cfg_int(cfg, OPT_RUN_MAX_RUNTIME) * 1000;
	if (o->deadline_ms > 0 && o->deadline_ms < r.deadline)
		r.deadline = o->deadline_ms;	/* the platform's (Lambda), less its margin */
	report_init(&r.rep, o->mode == RUN_APPLY ? "apply" : o->mode == RUN_PLAN ? "plan" : "run");
	if ((rc = setup(&r)) != RC_OK)
		goto out;
	env_hash(&r);
	if ((rc = replay_journal(&r)) != RC_OK)
		goto out;
	if (o->mode == RUN_APPLY && o->offline == NULL) {
		struct buf err = BUF_INIT;
		plan_free(&r.plan);
		if ((rc = plan_read(&r.plan, o->plan_in, &err)) != RC_OK) {
			log_error("run", "%s", err.p);
			buf_free(&err);
			goto out;
		}
		buf_free(&err);
		/* what Keap says now: an op planned against a contact edited since is skipped */
		r.full = meta_int(&r, "hwm_keap_ms") == 0;
		if ((rc = pull_keap(&r, meta_int(&r, "hwm_keap_ms"))) != RC_OK)
			goto out;
		{
			size_t i;
			for (i = 0; i < r.plan.n; i++) {
				struct report_row *w = report_add_row(&r.rep, op_kind_str(r.plan.v[i].kind), NULL,
				    NULL, r.plan.v[i].ats_id, r.plan.v[i].contact_id);
				free(w->action);
				w->action = xstrdup("planned");
				free(w->kind);
				w->kind = xstrdup(r.plan.v[i].kind == OP_APPLY_TAG ||
				    r.plan.v[i].kind == OP_REMOVE_TAG ? "stage_tag" : "field_mismatch");
				r.plan.v[i].row_lo = r.rep.nrows - 1;
				r.plan.v[i].row_hi = r.rep.nrows;
			}
		}
	} else {
		if ((rc = pull(&r)) != RC_OK)
			goto out;
		if ((rc = reconcile(&r)) != RC_OK)
			goto out;
	}
	/* a run that writes nothing measures once: after = before */
	r.rep.before_pct = accuracy(&r, o->mode == RUN_PLAN || o->dry_run || o->offline != NULL);
	{
		size_t i, nd = 0;
		struct strset cands = { 0 };
		for (i = 0; i < r.rep.nrows; i++)
			if (r.rep.rows[i].candidate != NULL)
				set_add(&cands, r.rep.rows[i].candidate);
		set_finish(&cands);
		nd = cands.n;
		r.rep.drifted = nd;
		set_free(&cands);
	}
	/* the guard's base: every linked contact, including those of people who
	 * are out of the accuracy's scope (anonymised, deleted) */
	{
		size_t nl = 0;
		state_each(r.st, DB_LINK, "a:", count_key, &nl);
		r.plan.linked = nl > r.rep.linked ? nl : r.rep.linked;
	}
	memset(&g, 0, sizeof(g));
	g.max_change_percent = cfg_int(cfg, OPT_GUARDS_MAX_CHANGE_PCT);
	g.max_archives = cfg_int(cfg, OPT_GUARDS_MAX_ARCHIVES);
	g.max_creates = cfg_int(cfg, OPT_GUARDS_MAX_CREATES);
	g.approve = o->approve;
	if (meta_int(&r, "last_good_run_ms") == 0 && g.max_change_percent < 100) {
		/* a first run links and repairs everything it finds: a percentage of
		 * "linked contacts" means nothing yet; max_creates still applies */
		log_info("run", "first run: the max_change_percent guard starts with the next run");
		g.max_change_percent = 100;
		r.plan.linked = r.plan.n;
	}
	if (o->plan_out != NULL && (rc = plan_write(&r.plan, o->plan_out)) != RC_OK)
		goto out;
	if (plan_check_guards(&r.plan, &g, &why) != RC_OK && o->mode != RUN_PLAN && !o->dry_run) {
		log_error("run", "nothing applied: %s (use --approve N to allow it once)", why.p);
		r.rep.message = xstrdup(why.p);
		rc = RC_GUARD;
		goto out;
	}
	if (o->mode == RUN_PLAN || o->dry_run || o->offline != NULL) {
		log_info("run", "%s: %zu ops planned, nothing written", o->dry_run ? "dry run" : "plan",
		    r.plan.n);
		r.rep.after_pct = r.rep.before_pct;
		rc = r.record_errors ? RC_RECORD : RC_OK;
		goto out;
	}
	if ((rc = apply_writes(&r)) == RC_OK)
		rc = apply_tags(&r);
	if (rc == RC_OK)
		rc = apply_deletes(&r);
	{
		struct strset ok = { 0 }, bad = { 0 };
		size_t i;
		for (i = 0; i < r.rep.nrows; i++) {
			const struct report_row *w = &r.rep.rows[i];
			if (w->candidate == NULL)
				continue;
			if (strcmp(w->action, "repaired") == 0)
				set_add(&ok, w->candidate);
			else if (strcmp(w->action, "failed") == 0)
				set_add(&bad, w->candidate);
		}
		set_finish(&ok);
		set_finish(&bad);
		for (i = 0; i < ok.n; i++)
			r.rep.repaired += !set_has(&bad, ok.v[i]);
		r.rep.failed = bad.n;
		set_free(&ok);
		set_free(&bad);
	}
	if (r.o.mode != RUN_APPLY) {
		/* refresh what Keap says after our writes for the "after" accuracy:
		 * the snapshot already holds every contact our writes returned */
	}
	r.rep.after_pct = accuracy(&r, 1);
	if (rc == RC_OK && r.rep.deferred > 0)
		rc = RC_REMOTE;
	if (rc == RC_OK && r.record_errors > 0)
		rc = RC_RECORD;
	if ((rc == RC_OK || rc == RC_RECORD) && r.o.mode == RUN_RUN) {
		/* a source with an unread page keeps its window (and sync token) */
		if (r.unread_ats == NULL)
			meta_put_int(&r, "hwm_ats_ms", r.start_ms);
		if (r.unread_keap == NULL)
			meta_put_int(&r, "hwm_keap_ms", r.start_ms);
		if (r.unread_ats == NULL && r.unread_keap == NULL) {
			meta_put_int(&r, "runs_since_full", r.full ? 0 :
			    meta_int(&r, "runs_since_full") + 1);
			meta_put_int(&r, "last_good_run_ms", now_ms());
		}
		if (r.unread_ats == NULL && r.ats != NULL && r.ats->sync_out != NULL)
			state_put(r.st, DB_META, "ats_sync", r.ats->sync_out, strlen(r.ats->sync_out));
	}
out:
	if ((rc == RC_OK || rc == RC_RECORD) && (r.unread_ats != NULL || r.unread_keap != NULL)) {
		rc = RC_REMOTE;
		free(r.rep.message);
		r.rep.message = xasprintf("not read: %s%s%s; what was read was reconciled, nothing "
		    "unread was treated as deleted, the next run reads it again", r.unread_ats ? r.unread_ats : "",
		    r.unread_ats && r.unread_keap ? "; " : "", r.unread_keap ? r.unread_keap : "");
		log_error("run", "%s", r.rep.message);
	}
	if (rc == RC_REMOTE && stop_reason() != NULL && r.rep.message == NULL)
		r.rep.message = xstrdup(stop_reason());	/* the S3 lease was lost */
	if (rc == RC_REMOTE && stop_requested() && r.rep.message == NULL)
		r.rep.message = xasprintf("stopped by signal %d: writes in flight finished (or were "
		    "abandoned after run.grace), the rest waits for the next run", stop_signal());
	if (rc == RC_REMOTE && past_deadline(&r) && r.rep.message == NULL)
		r.rep.message = xstrdup("deadline reached (run.max_runtime): the rest waits for the next run");
	progress_end(&r.prog);
	finish_report(&r, rc);
	if (o->summary != NULL)
		summary_json(&r.rep, o->summary);
	if (o->offline == NULL && r.st != NULL && rc != RC_LOCKED) {
		/* metrics and alerts: bounded, and never change the run's outcome */
		struct metrics_extra mx;
		struct alert_facts af;
		enum rc e;

		memset(&mx, 0, sizeof(mx));
		mx.exit_status = -1;
		mx.duration_s = -1;
		mx.quota_left = -1;
		mx.last_success_ms = meta_int(&r, "last_good_run_ms");
		if (r.auth != NULL) {
			struct auth_status as;
			auth_get_status(r.auth, &as);
			if (as.refresh_issued_at > 0)	/* research/keap-api.md: refresh tokens live 45 days */
				mx.token_expires_ms = (as.refresh_issued_at + 45LL * 86400) * 1000;
		}
		mx.guard_tripped = rc == RC_GUARD;
		mx.guard_text = r.rep.message;
		mx.http = r.http != NULL ? http_get_stats(r.http) : NULL;
		if ((e = metrics_emit(cfg, &r.rep, &mx)) != RC_OK)
			log_warn("run", "metrics were not delivered (%s)", rc_str(e));
		memset(&af, 0, sizeof(af));
		af.run = mx;
		if ((e = alert_maybe_send(cfg, &r.rep, &af)) != RC_OK)
			log_warn("run", "the alert was not delivered (%s)", rc_str(e));
	}
	{
		struct buf md = BUF_INIT;
		if (!cfg_bool(cfg, OPT_QUIET) && r.st != NULL) {
			report_markdown(&r.rep, cfg_bool(cfg, OPT_REPORT_MASK_PII), &md);
			fputs(md.p ? md.p : "", stdout);
		}
		buf_free(&md);
	}
	report_free(&r.rep);
	buf_free(&why);
	teardown(&r);
	return rc;
}

enum rc
run_lambda(const struct config *cfg, int64_t deadline_ms, struct buf *summary)
{
	struct run_opts o;

	memset(&o, 0, sizeof(o));
	o.mode = RUN_RUN;
	o.deadline_ms = deadline_ms;
	o.summary = summary;
	return run_main(cfg, &o);
}

enum rc
run_report(const struct config *cfg, const char *format, const char *output)
{
	const char *dir = cfg_str(cfg, OPT_REPORT_DIR);
	char *defdir = NULL, *path;
	const char *file = strcmp(format, "json") == 0 ? "report.json" : strcmp(format, "html") == 0 ?
	    "report.html" : strcmp(format, "csv") == 0 ? "drift.csv" : "report.md";
	struct buf b = BUF_INIT;
	enum rc rc = RC_OK;

	if (cfg_str(cfg, OPT_SINCE) != NULL || cfg_str(cfg, OPT_FROM) != NULL || cfg_str(cfg, OPT_TO) != NULL)
		return report_period(cfg, format, output);
	if (dir == NULL)
		dir = defdir = xasprintf("%s/reports", cfg_str(cfg, OPT_STATE_DIR));
	path = xasprintf("%s/%s", dir, file);
	if (read_file(path, 256u * 1024 * 1024, &b) != 0) {
		log_error("report", "no report at %s (has a run finished yet?)", path);
		rc = RC_STATE;
	} else if (output != NULL) {
		if (atomic_write(output, b.p, b.len, 0600) != 0) {
			log_error("report", "cannot write %s", output);
			rc = RC_STATE;
		}
	} else
		fwrite(b.p, 1, b.len, stdout);
	free(path);
	free(defdir);
	buf_free(&b);
	return rc;
}
