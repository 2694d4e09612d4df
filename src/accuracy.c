/* accuracy.c — agreement over every candidate of the snapshot (DESIGN.md §7):
 * the "before" and "after" figures of the report, per field and per group,
 * and the failed records that bring a candidate not in sync back next run. */
#define _POSIX_C_SOURCE 200809L
#include "run_p.h"

#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "diff.h"
#include "log.h"
#include "snap.h"

/* -------------------------------------------------------------- accuracy */

struct acc {
	struct run *r;
	size_t agree, total, linked, in_sync, candidates;
	int count_fields;		/* the pass after the writes */
	size_t pos;			/* candidates walked (r->walkbits) */
	size_t nknown;			/* of them found in agreement by compare, */
	uint64_t knownsum;		/* and the sum of their keys' FNV-1a */
	/* stamped pairs' per-field counts (rules 0-63, then the stage tag): the
	 * first goes to the report at once (the fields keep their order there),
	 * the rest are added up and given to it at the end */
	unsigned char seen[65];
	size_t more[65];
	struct strset ok, pending;	/* in sync / not, after the writes */
};

/* Remembers the DB "failed" changes the accuracy pass implies: only the keys
 * whose record must change (memory follows the changes, not the ATS). */
static void
failed_mark(struct acc *a, const char *key, int in_sync)
{
	int present = snap_failed_has(a->r->st, key);

	if (in_sync && present)
		set_add(&a->ok, key);
	else if (!in_sync && !present)
		set_add(&a->pending, key);
}

/* One agreeing value of field (slot: its rule, 64 the stage tag) of a stamped pair. */
static void
stamped_field(struct acc *a, size_t slot, const char *field)
{
	if (!a->seen[slot]) {
		report_field_count(&a->r->rep, field, 1);
		a->seen[slot] = 1;
	} else
		a->more[slot]++;
}

/*
 * A pair whose stamp holds: in sync, counted from the stamp without decoding.
 * A candidate compare_all found by its stamp just before (its bit in
 * r->walkbits) has only its stamp read: nothing written since can break it
 * (compare writes only the compared candidate's link, base and stamp; no
 * write to Keap happened yet), and it has no DB failed record (pull marks
 * only changed candidates, which are compared in full; every other record's
 * candidate was compared in full or given up).
 */
static int
acc_stamped(struct acc *a, const char *key, const void *val, size_t vlen)
{
	struct run *r = a->r;
	struct snap_stamp sp;
	uint64_t h = codec_record_hash(val, vlen);
	size_t i, nop = 0;
	int known = a->pos < r->nwalk && (r->walkbits[a->pos / 8] >> (a->pos % 8) & 1);

	a->pos++;
	if (known) {
		a->nknown++;
		a->knownsum += codec_fnv1a(key, strlen(key));
	}
	if (known ? !snap_stamp_get(r->st, key, h, r->env_hash, &sp) :
	    set_has(&r->gone, key) || !snap_stamp_holds(r->st, key, h, r->env_hash, &sp))
		return 0;
	a->candidates++;
	a->linked++;
	a->in_sync++;
	for (i = 0; i < r->map.n && i < 64; i++)	/* (a stamp is made for 64 rules at most) */
		if (sp.opinions & ((uint64_t)1 << i)) {
			nop++;
			if (a->count_fields)
				stamped_field(a, i, r->map.rules[i].to);
		}
	a->agree += nop + 1;
	a->total += nop + 1;
	if (a->count_fields) {
		if (r->map.tag_category != NULL)
			stamped_field(a, 64, "stage_tag");
		report_group_count(&r->rep, RG_STAGE, sp.stage, 1);
		report_group_count(&r->rep, RG_JOB, sp.job, 1);
		if (!known)
			failed_mark(a, key, 1);
	}
	return 1;
}

/* Did rule i have an opinion on c? (diff_candidate said, for the first 64) */
static int
has_opinion(const struct run *r, size_t i, const struct candidate *c, const struct diff_result *dr)
{
	struct desired want;
	int yes;

	if (i < 64)
		return (dr->opinions >> i) & 1;
	mapping_desired(&r->map, &r->map.rules[i], c, &want);
	yes = want.opinion;
	desired_free(&want);
	return yes;
}

/* In scope but no contact: every field disagrees. */
static void
acc_no_contact(struct acc *a, const char *key, const struct candidate *c)
{
	struct run *r = a->r;
	struct diff_result dr;
	size_t i;

	diff_candidate(&r->map, c, NULL, NULL, NULL, &dr);
	for (i = 0; i < r->map.n; i++)
		if (has_opinion(r, i, c, &dr)) {
			a->total++;
			if (a->count_fields)
				report_field_count(&r->rep, r->map.rules[i].to, 0);
		}
	diff_result_free(&dr);
	if (a->count_fields) {
		failed_mark(a, key, 0);
		report_group_count(&r->rep, RG_STAGE, c->stage_name ? c->stage_name : c->status, 0);
		report_group_count(&r->rep, RG_JOB, c->job, 0);
	}
}

/* The per-field and per-group counts of a compared pair (the pass after the writes). */
static void
acc_count(struct acc *a, const struct candidate *c, const struct diff_result *dr)
{
	struct run *r = a->r;
	int ok = dr->fields_agree == dr->fields_total && dr->stage_ok;
	size_t i, d;

	report_group_count(&r->rep, RG_STAGE, c->stage_name ? c->stage_name : c->status, ok);
	report_group_count(&r->rep, RG_JOB, c->job, ok);
	/* per field: every rule with an opinion counts */
	for (i = 0; i < r->map.n; i++) {
		int bad = 0;
		if (!has_opinion(r, i, c, dr))
			continue;
		for (d = 0; d < dr->n; d++)
			bad |= str_eq(dr->v[d].field, r->map.rules[i].to) &&
			    !(dr->v[d].kind == DRIFT_FIELD_MISMATCH && !dr->v[d].repair);
		report_field_count(&r->rep, r->map.rules[i].to, !bad);
	}
	if (r->map.tag_category != NULL)
		report_field_count(&r->rep, "stage_tag", dr->stage_ok);
}

static enum rc
acc_one(void *arg, const char *key, size_t klen, const void *val, size_t vlen)
{
	struct acc *a = arg;
	struct run *r = a->r;
	struct candidate c;
	struct buf cid = BUF_INIT;
	struct contact contact;
	struct diff_result dr;
	struct diff_tags tags = { NULL, 0 };
	const char **names = NULL;

	(void)klen;
	if (acc_stamped(a, key, val, vlen) || codec_candidate_decode(val, vlen, &c) != 0)
		return RC_OK;
	a->candidates++;
	if (c.anonymized || (c.is_private && !cfg_bool(r->cfg, OPT_ATS_PRIVATE_CANDIDATES)) ||
	    set_has(&r->gone, key)) {
		candidate_free(&c);
		return RC_OK;	/* out of scope */
	}
	if (snap_linked(r->st, key, &cid) != RC_OK || snap_get_contact(r->st, cid.p, &contact) != RC_OK) {
		acc_no_contact(a, key, &c);
		candidate_free(&c);
		buf_free(&cid);
		return RC_OK;
	}
	a->linked++;
	stage_tags_of(r, &contact, &names, &tags.nstage);
	tags.stage = names;
	diff_candidate(&r->map, &c, &contact, NULL, &tags, &dr);
	a->agree += dr.fields_agree + (dr.stage_ok ? 1 : 0);
	a->total += dr.fields_total + 1;
	if (dr.fields_agree == dr.fields_total && dr.stage_ok) {
		a->in_sync++;
		if (a->count_fields)
			failed_mark(a, key, 1);
	} else if (a->count_fields)
		failed_mark(a, key, 0);
	if (a->count_fields)
		acc_count(a, &c, &dr);
	diff_result_free(&dr);
	free(names);
	contact_free(&contact);
	candidate_free(&c);
	buf_free(&cid);
	return RC_OK;
}

/* The sweep's bits, used once: a later pass follows writes, which can break a stamp. */
static void
walk_free(struct run *r)
{
	free(r->walkbits);
	r->walkbits = NULL;
	r->nwalk = r->capwalk = r->nfast = 0;
	r->fastsum = 0;
}

double
accuracy(struct run *r, int count_fields)
{
	struct acc a;
	size_t i;

	memset(&a, 0, sizeof(a));
	a.r = r;
	a.count_fields = count_fields;
	snap_candidates_each(r->st, acc_one, &a);
	if (r->nwalk > 0 && (a.nknown != r->nfast || a.knownsum != r->fastsum)) {
		/* cannot happen (compare walks the same candidates and marks the one it
		 * forgets): the walks differ, so the bits named other candidates */
		log_warn("run", "accuracy: the candidates compare found in sync (%zu) are not the ones "
		    "met (%zu)%s", r->nfast, a.nknown, count_fields ? "; the per-field figures may "
		    "count some as in sync from their stamps" : "; counted again in full");
		walk_free(r);
		if (!count_fields) {	/* (this pass writes nothing but a: again) */
			set_free(&a.ok);
			set_free(&a.pending);
			return accuracy(r, 0);
		}
	}
	for (i = 0; i < 65; i++)
		if (a.more[i] > 0)
			report_field_add(&r->rep, i < 64 ? r->map.rules[i].to : "stage_tag", a.more[i],
			    a.more[i]);
	walk_free(r);
	r->rep.candidates = a.candidates;
	r->rep.linked = a.linked;
	r->rep.in_sync = a.in_sync;
	if (count_fields && r->st != NULL) {
		/* what is not in sync after this run is looked at again by the next one,
		 * changed or not (DB failed: attempts and the last error, if any) */
		/* in batches: one commit (and one fsync) per BATCH_RECORDS, not per key */
		for (i = 0; i < a.ok.n; i++)
			if (batch_tick(r) == RC_OK)
				snap_failed_del(r->st, a.ok.v[i]);
		for (i = 0; i < a.pending.n; i++)
			if (batch_tick(r) == RC_OK)
				snap_failed_put(r->st, a.pending.v[i], 0, NULL);
		batch_end(r);
	}
	set_free(&a.ok);
	set_free(&a.pending);
	return a.total ? 100.0 * (double)a.agree / (double)a.total : 100.0;
}
