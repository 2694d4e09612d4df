/* compare.c — each candidate of the worklist: its inputs from the snapshot
 * (the matched contacts, its lifecycle, the values last agreed), the decision
 * of reconcile() (reconcile.c, pure), and the decision recorded: ops into the
 * plan, drift rows into the report, links, base and stamp into the snapshot. */
#define _POSIX_C_SOURCE 200809L
#include "run_p.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "extid.h"
#include "keap.h"
#include "log.h"
#include "reconcile.h"
#include "snap.h"

/* The hash of everything a comparison depends on besides the candidate and
 * the contact: the configuration, Keap's custom fields and options, its tags. */
void
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

/* The stamp of a candidate found in agreement with its contact (see snap.h):
 * cand, the candidate record's hash; contact_hash, the hash of the contact it
 * is linked to, as reconcile_one loaded them (nothing in between writes
 * either record), not looked up again. */
static void
stamp_agreement(struct run *r, const char *key, const struct candidate *c, uint64_t cand,
    uint64_t contact_hash)
{
	struct snap_stamp sp;
	size_t i;

	memset(&sp, 0, sizeof(sp));
	sp.cand = cand;
	sp.contact = contact_hash;
	sp.env = r->env_hash;
	for (i = 0; i < r->map.n && i < 64; i++) {
		struct desired d;
		mapping_desired(&r->map, &r->map.rules[i], c, &d);
		if (d.opinion)
			sp.opinions |= (uint64_t)1 << i;
		desired_free(&d);
	}
	if (r->map.n > 64)
		return;	/* more rules than the stamp can say: always compare */
	str_copy(sp.stage, sizeof(sp.stage), c->stage_name ? c->stage_name : c->status ? c->status : "");
	str_copy(sp.job, sizeof(sp.job), c->job ? c->job : "");
	for (i = 0; i < c->nemails; i++) {
		size_t have = strlen(sp.emails);
		if (have + strlen(c->emails[i]) + 2 > sizeof(sp.emails))
			return;	/* too many to check cheaply: no stamp */
		snprintf(sp.emails + have, sizeof(sp.emails) - have, "%s%s", have ? "\n" : "", c->emails[i]);
	}
	snap_put_stamp(r->st, key, &sp);
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


/* The candidate record's hash: *h when the caller had it (the sweep's walk
 * read the record), else looked up once (*have says which). */
static int
cand_hash(struct run *r, const char *key, uint64_t *h, int *have)
{
	if (!*have)
		*have = snap_candidate_hash(r->st, key, h) == RC_OK ? 1 : -1;
	return *have > 0;
}

/* Nothing changed since the candidate and its contact last agreed. */
static int
stamp_holds(struct run *r, const char *key, uint64_t *h, int *have)
{
	struct snap_stamp sp;

	return !was_touched(r, key) && !set_has(&r->gone, key) &&
	    cand_hash(r, key, h, have) && snap_stamp_holds(r->st, key, *h, r->env_hash, &sp);
}

/* The first nload matched contacts as the snapshot holds them, with their
 * tag names; *hash: the first one's. The first one's load result is returned. */
static enum rc
load_contacts(struct run *r, char **ids, size_t nload, struct rec_contact **out, uint64_t *hash)
{
	struct rec_contact *ks = xcalloc(nload + 1, sizeof(*ks));
	enum rc rc = RC_OK, e;
	size_t i;

	for (i = 0; i < nload; i++) {
		struct contact *ct = xmalloc(sizeof(*ct));
		const char **names;

		ks[i].id = ids[i];
		e = snap_get_contact(r->st, ids[i], ct);
		if (i == 0) {
			rc = e;
			*hash = ct->hash;
		}
		if (e == RC_OK)
			ks[i].ct = ct;
		else
			free(ct);
		tag_names_of(r, ks[i].ct, &names, &ks[i].ntags);
		ks[i].tags = names;
		if (i == 0) {
			stage_tags_of(r, ks[i].ct, &names, &ks[i].nstage);
			ks[i].stage = names;
		}
	}
	*out = ks;
	return rc;
}

static void
free_contacts(struct rec_contact *ks, size_t n)
{
	size_t i;

	for (i = 0; ks != NULL && i < n; i++) {
		if (ks[i].ct != NULL) {
			contact_free((struct contact *)ks[i].ct);
			free((void *)ks[i].ct);
		}
		free((void *)ks[i].tags);
		free((void *)ks[i].stage);
	}
	free(ks);
}

/* One op of the decision into the plan; its change becomes Keap's body
 * (keap.c: a patch merges the contact's lists). */
static void
plan_op(struct run *r, const char *key, const struct rec_input *in, struct rec_op *o, uint64_t hash)
{
	char *body = NULL;
	uint64_t pre = 0;
	size_t i, p;

	if (o->kind == OP_UPSERT_CONTACT)
		body = keap_create_body(&o->change);
	else if (o->kind == OP_PATCH_CONTACT) {
		body = keap_patch_body(in->contacts[0].ct, &o->change);
		pre = hash;
	}
	p = plan_add(&r->plan, o->kind, key, o->contact, o->tag, body, pre);
	plan_set_archive(&r->plan, p, o->archive);
	for (i = 0; i < o->nreasons; i++)
		op_add_reason(&r->plan, p, o->reasons[i].kind, o->reasons[i].field);
}

static void
report_drift(struct run *r, const char *key, struct rec_row *row)
{
	struct drift *d = &row->d;
	size_t w = report_add_row(&r->rep, drift_kind_str(d->kind), d->field,
	    drift_side_str(d->side), key, row->contact);

	report_row_set_values(&r->rep, w, d->desired, d->actual);
	report_row_set_action(&r->rep, w, d->repair ? "planned" : "reported");
	report_row_set_error(&r->rep, w, d->why);
	if (d->kind == DRIFT_INVALID_VALUE)
		r->record_errors++;
}

/* The decision into the plan, the report and the snapshot. */
static enum rc
record(struct run *r, const char *key, const struct candidate *c, const struct rec_input *in,
    struct rec_result *res, uint64_t hash, uint64_t *chash, int *have)
{
	enum rc rc = RC_OK, e;
	int linked = 1;
	size_t i;

	if (res->link)
		linked = snap_link(r->st, key, in->contacts[0].id) == RC_OK;
	for (i = 0; i < res->nops; i++)
		plan_op(r, key, in, &res->ops[i], hash);
	for (i = 0; i < res->nrows; i++)
		report_drift(r, key, &res->rows[i]);
	if (res->unlink)
		rc = snap_unlink(r->st, key);
	if (res->forget && rc == RC_OK) {
		e = snap_forget_candidate(r->st, key);
		r->walk_forgot = e == RC_OK;
		if (res->unlink)
			rc = e;	/* (a drop after a delete without a contact is retried next run) */
	}
	if (res->agreed != NULL)
		snap_put_base(r->st, key, res->agreed);
	/* a stamp is made for one contact, linked (how "link", or just now) */
	if (res->stamp && linked && cand_hash(r, key, chash, have))
		stamp_agreement(r, key, c, *chash, hash);
	return rc;
}

/* The inputs of reconcile() that depend on the snapshot besides the contacts. */
static void
gather(struct run *r, const char *key, size_t n, struct rec_input *in, struct buf *xv,
    struct strpairs *base)
{
	char *src = key_source(key);

	if (n == 0) {
		struct buf ck = BUF_INIT;
		in->linked_gone = snap_linked(r->st, key, &ck) == RC_OK;
		buf_free(&ck);
	}
	if (in->life == REC_LIVE) {
		snap_get_base(r->st, key, base);
		in->base = base;
		/* any accepted spelling of the id is in sync, never rewritten (extid.h) */
		if (n > 0 && in->contacts[0].ct != NULL)	/* (load_contacts read it) */
			contact_extid(in->contacts[0].ct, r->ext_field_id, xv);
		in->has_ext = n > 0 && in->contacts[0].ct != NULL &&
		    extid_names(r->ext_fmt, src, key_id(key), xv->p);
		buf_reset(xv);
		extid_format(r->ext_fmt, src, key_id(key), xv);
		in->ext_value = xv->p;
	}
	free(src);
}

/* One candidate; rec_hash: its record's hash when the caller read it, or NULL. */
static enum rc
reconcile_one(struct run *r, const char *key, const uint64_t *rec_hash)
{
	struct candidate c;
	char **ids = NULL;
	size_t n = 0, nload = 0;
	struct rec_rules ru;
	struct rec_input in;
	struct rec_contact *ks = NULL;
	struct rec_result res;
	struct buf xv = BUF_INIT;
	struct strpairs base = { NULL, NULL, 0 };
	uint64_t hash = 0, chash = rec_hash != NULL ? *rec_hash : 0;
	int have = rec_hash != NULL;
	enum rc rc;

	if (stamp_holds(r, key, &chash, &have)) {
		r->fast++;
		r->walk_fast = 1;
		return RC_OK;	/* nothing changed since they last agreed */
	}
	if ((rc = snap_get_candidate(r->st, key, &c)) != RC_OK)
		return rc == RC_RECORD ? RC_OK : rc;
	memset(&in, 0, sizeof(in));
	memset(&res, 0, sizeof(res));
	if (c.is_private && !cfg_bool(r->cfg, OPT_ATS_PRIVATE_CANDIDATES))
		goto done;	/* out of scope: never flows to Keap */
	if ((rc = match_contacts(r, key, &c, &ids, &n, &in.how)) != RC_OK)
		goto done;
	in.c = &c;
	in.n = n;
	in.survivor = merged_into(r, key);
	in.life = !set_has(&r->gone, key) ? REC_LIVE : in.survivor != NULL ? REC_MERGED : REC_DELETED;
	if (in.life == REC_MERGED && n > 0)
		in.survivor_takes = survivor_takes(r, in.survivor, ids[0]);
	nload = in.life == REC_LIVE ? n : n > 0;
	if ((rc = load_contacts(r, ids, nload, &ks, &hash)) != RC_OK && in.life == REC_LIVE && n > 0)
		goto done;
	rc = RC_OK;
	in.contacts = ks;
	gather(r, key, n, &in, &xv, &base);
	memset(&ru, 0, sizeof(ru));
	ru.map = &r->map;
	ru.deletes = cfg_str(r->cfg, OPT_LIFE_DELETES);
	ru.deleted_tag = cfg_str(r->cfg, OPT_LIFE_DELETED_TAG);
	ru.anonymized_tag = cfg_str(r->cfg, OPT_LIFE_ANONYMIZED_TAG);
	ru.duplicate_tag = cfg_str(r->cfg, OPT_LIFE_DUPLICATE_TAG);
	ru.ext_field_id = r->ext_field_id;
	reconcile(&ru, &in, &res);
	rc = record(r, key, &c, &in, &res, hash, &chash, &have);
done:
	rec_result_free(&res);
	free_contacts(ks, nload);
	strpairs_free(&base);
	buf_free(&xv);
	snap_ids_free(ids, n);
	candidate_free(&c);
	return rc;
}

#define RECONCILE_CHUNK 1000

/* The sweep's next candidate in the walk's bits (run_p.h: walkbits). */
static void
walk_mark(struct run *r, const char *key, int fast)
{
	if (r->nwalk / 8 >= r->capwalk) {
		size_t was = r->capwalk;
		r->capwalk = was ? was + was / 2 : 4096;
		r->walkbits = xrealloc(r->walkbits, r->capwalk);
		memset(r->walkbits + was, 0, r->capwalk - was);
	}
	if (fast) {
		r->walkbits[r->nwalk / 8] |= (unsigned char)(1u << (r->nwalk % 8));
		r->nfast++;
		r->fastsum += codec_fnv1a(key, strlen(key));
	}
	r->nwalk++;
}

/* keys[0..n); hashes: their records' hashes (a sweep's walk, in the
 * snapshot's order: each has its bit), or NULL */
static enum rc
reconcile_keys(struct run *r, char *const *keys, const uint64_t *hashes, size_t n)
{
	size_t i, j, op0, row0;
	enum rc rc = RC_OK;

	for (i = 0; i < n && rc == RC_OK; i++) {
		if (past_deadline(r))
			return RC_REMOTE;
		r->walk_fast = r->walk_forgot = 0;
		if ((r->gaveup.n > 0 && set_has(&r->gaveup, keys[i])) ||
		    (r->unread_ats != NULL && r->full && !was_listed(r, keys[i]))) {
			/* given up (reported as write_failed; tried again when it
			 * changes), or maybe on the unread page (as it was, until read) */
			if (hashes != NULL)
				walk_mark(r, keys[i], 0);
			continue;
		}
		if ((rc = batch_tick(r)) != RC_OK)
			break;
		progress_update(&r->prog, "comparing", ++r->compared, r->full ? 0 : r->touched.n);
		op0 = r->plan.n;
		row0 = r->rep.nrows;
		rc = reconcile_one(r, keys[i], hashes != NULL ? &hashes[i] : NULL);
		if (hashes != NULL && !r->walk_forgot)
			walk_mark(r, keys[i], rc == RC_OK && r->walk_fast);
		for (j = op0; j < r->plan.n; j++)	/* where mark_rows finds the op's
							 * rows: O(1) per op, not a scan */
			plan_set_rows(&r->plan, j, row0, r->rep.nrows);
	}
	return rc;
}

/* A chunk of the sweep: the keys (one text, reused chunk after chunk: no
 * allocation per key) and their records' hashes (RECONCILE_CHUNK). */
struct keyhashes {
	struct buf text;		/* the keys, each NUL-terminated */
	size_t n, off[RECONCILE_CHUNK];	/* where each key starts in text */
	char *keys[RECONCILE_CHUNK];
	uint64_t h[RECONCILE_CHUNK];
};

/* A state_each_fn: the key, and the hash from the record's header. */
static enum rc
collect_keyhash(void *arg, const char *key, size_t klen, const void *val, size_t vlen)
{
	struct keyhashes *kh = arg;

	if (kh->n >= RECONCILE_CHUNK)
		return RC_STATE;	/* (the page asked for at most that many) */
	kh->h[kh->n] = codec_record_hash(val, vlen < CODEC_HEADER ? vlen : CODEC_HEADER);
	kh->off[kh->n++] = kh->text.len;
	buf_add(&kh->text, key, klen);
	buf_addc(&kh->text, '\0');
	return RC_OK;
}

/* The touched candidates; on a full sweep every candidate in the snapshot,
 * walked in chunks so memory does not grow with the ATS. */
enum rc
compare_all(struct run *r)
{
	enum rc rc = RC_OK;

	if (!r->full)
		rc = reconcile_keys(r, r->touched.v, NULL, r->touched.n);
	else {
		struct buf after = BUF_INIT;
		struct keyhashes *chunk = xcalloc(1, sizeof(*chunk));
		size_t nv = RECONCILE_CHUNK, i;

		while (rc == RC_OK && nv == RECONCILE_CHUNK) {
			buf_reset(&chunk->text);
			chunk->n = 0;
			rc = snap_candidates_page(r->st, after.len ? after.p : NULL, RECONCILE_CHUNK,
			    collect_keyhash, chunk, &nv);
			if (rc == RC_OK && chunk->n > 0) {
				for (i = 0; i < chunk->n; i++)
					chunk->keys[i] = chunk->text.p + chunk->off[i];
				buf_reset(&after);
				buf_adds(&after, chunk->keys[chunk->n - 1]);
				rc = reconcile_keys(r, chunk->keys, chunk->h, chunk->n);
			}
		}
		buf_free(&chunk->text);
		free(chunk);
		buf_free(&after);
	}
	if (rc == RC_OK)
		rc = batch_end(r);
	/* "changed in the ATS" is asked by the pull's failed records and by compare
	 * only: not held beside the plan and the report after */
	free(r->changed);
	r->changed = NULL;
	r->nchanged = r->capchanged = 0;
	return rc;
}
