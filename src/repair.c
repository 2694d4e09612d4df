/* repair.c — the plan applied through keap.c: contact writes in chunks, tag
 * ops grouped by tag, deletes; each answer settled into the snapshot (contact,
 * link, base) or recorded as a failure (the failed records, retried up to
 * run.max_attempts). */
#define _POSIX_C_SOURCE 200809L
#include "run_p.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pace.h"
#include "reconcile.h"
#include "snap.h"
#include "state.h"

/* ----------------------------------------------------------------- apply */

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
		struct report_row view;
		const struct report_row *w = report_row(&r->rep, i, &view);
		int match = str_eq(w->candidate, o->ats_id) && strcmp(w->action, "planned") == 0;
		if (!match)
			continue;
		if (o->kind == OP_APPLY_TAG || o->kind == OP_REMOVE_TAG) {
			if (strstr(w->kind, "tag") == NULL && strcmp(w->kind, "deleted_in_ats") != 0 &&
			    strcmp(w->kind, "anonymized") != 0 && strcmp(w->kind, "duplicate_contacts") != 0)
				continue;
		} else if (strstr(w->kind, "tag") != NULL)
			continue;
		report_row_set_action(&r->rep, i, action);
		if (error != NULL)
			report_row_set_error(&r->rep, i, error);
	}
}

static void
record_failure(struct run *r, const struct op *o, const struct api_err *e, enum rc rc)
{
	char why[320];
	int later = rc == RC_REMOTE || rc == RC_QUOTA;

	if (e->status)
		snprintf(why, sizeof(why), "HTTP %ld %s", e->status, e->msg);
	else
		snprintf(why, sizeof(why), "%s", e->msg[0] ? e->msg : rc_str(rc));
	/* one line per write that did not land: a deferred write is retried by
	 * the next run, but it must not pass unseen (the report counts it too) */
	log_warn("run", "write for %s (contact %s) %s: %s", o->ats_id ? o->ats_id : "-",
	    o->contact_id ? o->contact_id : "new", later ? "deferred to the next run" : "failed", why);
	mark_rows(r, o, later ? "deferred" : "failed", why);
	if (o->ats_id != NULL) {
		int64_t attempts = 0;
		snap_failed_get(r->st, o->ats_id, &attempts, NULL);
		snap_failed_put(r->st, o->ats_id, attempts + 1, why);
	}
	if (later)
		r->rep.deferred++;
	else
		r->record_errors++;
}

/* After a successful write for a candidate: the agreed values become its base. */
static void
settle(struct run *r, const struct op *o, const struct contact *contact)
{
	struct candidate c;
	struct strpairs agreed;

	if (o->ats_id == NULL || snap_get_candidate(r->st, o->ats_id, &c) != RC_OK)
		return;
	reconcile_agreed(&r->map, &c, contact, &agreed);
	snap_put_base(r->st, o->ats_id, &agreed);
	strpairs_free(&agreed);
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
		struct op view;
		const struct op *o = plan_get(&r->plan, which[i], &view);
		struct keap_op *k = &kops[i];
		/* what one write changes in the state (the contact, the link, the
		 * base, the failed record) is one transaction: one fsync per write,
		 * not one per record (DESIGN.md §6) */
		int txn = !r->in_batch && snap_batch_begin(r->st) == RC_OK;

		if (k->rc == RC_OK && k->has_result) {
			int changed;
			const char *cid = k->result.id;
			snap_put_contact(r->st, &k->result, r->ext_field_id, &changed);
			if (cid != NULL && o->ats_id != NULL) {
				snap_link(r->st, o->ats_id, cid);
				if (o->contact_id == NULL) {
					plan_set_contact(&r->plan, which[i], cid);
					o = plan_get(&r->plan, which[i], &view);
				}
			}
			settle(r, o, &k->result);
			mark_rows(r, o, "repaired", NULL);
		} else {
			record_failure(r, o, &k->err, k->rc);
			if (worst == RC_OK && (k->rc == RC_AUTH || k->rc == RC_QUOTA || k->rc == RC_CONFIG))
				worst = k->rc;
		}
		if (txn && snap_batch_commit(r->st) != RC_OK && worst == RC_OK)
			worst = RC_STATE;
		test_hook("write");
		contact_free(&k->result);
		k->has_result = 0;
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

enum rc
apply_writes(struct run *r)
{
	struct keap_op kops[WRITE_CHUNK];
	size_t which[WRITE_CHUNK], n = 0, i;
	enum rc worst = RC_OK;

	for (i = 0; i < r->plan.n; i++) {
		struct op view;
		r->writes_planned += plan_get(&r->plan, i, &view)->kind == OP_UPSERT_CONTACT ||
		    view.kind == OP_PATCH_CONTACT;
	}
	if (r->writes_planned > 0)
		log_info("run", "writing %zu contacts", r->writes_planned);
	for (i = 0; i < r->plan.n && worst == RC_OK; i++) {
		struct op view;
		const struct op *o = plan_get(&r->plan, i, &view);
		uint64_t h = 0;

		if (o->kind != OP_UPSERT_CONTACT && o->kind != OP_PATCH_CONTACT)
			continue;
		if (o->kind == OP_PATCH_CONTACT && o->precondition != 0) {
			if (snap_contact_hash(r->st, o->contact_id, &h) != RC_OK || h != o->precondition) {
				mark_rows(r, o, "skipped", "the contact changed since this was planned");
				log_warn("run", "op %s skipped: contact %s changed since it was planned", o->id,
				    o->contact_id);
				continue;
			}
		}
		memset(&kops[n], 0, sizeof(kops[n]));
		kops[n].kind = o->kind == OP_UPSERT_CONTACT ? KEAP_OP_UPSERT : KEAP_OP_PATCH;
		kops[n].id = o->contact_id;
		kops[n].body = o->body;		/* a patch's already holds the merged lists */
		which[n++] = i;
		if (n == WRITE_CHUNK || (long)n >= 4 * cfg_int(r->cfg, OPT_KEAP_CONCURRENCY)) {
			worst = write_chunk(r, kops, which, n);
			n = 0;
		}
	}
	if (worst == RC_OK && n > 0)
		worst = write_chunk(r, kops, which, n);
	return worst;
}

/* The tag's category: the stage category for stage tags, none for lifecycle tags. */
static enum rc
ensure_tag(struct run *r, const char *tag, const char **tag_id, struct api_err *err)
{
	int stage = 0;
	size_t j;

	for (j = 0; j < r->map.nby_status; j++)
		stage |= strcmp(r->map.by_status[j].v, tag) == 0;
	for (j = 0; j < r->map.nby_stage; j++)
		stage |= strcmp(r->map.by_stage[j].v, tag) == 0;
	return keap_ensure_tag(r->keap, &r->tags, tag, stage ? r->map.tag_category : NULL, tag_id,
	    err);
}

/* The ops from i on with o's kind and tag whose contact is known (a create's
 * from its link); one whose create failed is dropped (reported there). */
static size_t
tag_group(struct run *r, size_t i, const struct op *o, const char **ids, size_t *ops)
{
	size_t j, n = 0;

	for (j = i; j < r->plan.n; j++) {
		struct op view;
		const struct op *p = plan_get(&r->plan, j, &view);
		if (p->kind != o->kind || p->tag == NULL || strcmp(p->tag, o->tag) != 0)
			continue;
		if (p->contact_id == NULL && p->ats_id != NULL) {
			/* created in this run: the link has its id now */
			struct buf cid = BUF_INIT;
			if (snap_linked(r->st, p->ats_id, &cid) == RC_OK)
				plan_set_contact(&r->plan, j, cid.p);
			buf_free(&cid);
			p = plan_get(&r->plan, j, &view);
		}
		if (p->contact_id == NULL) {
			plan_drop_tag(&r->plan, j);	/* (its view keeps the text) */
			continue;
		}
		ids[n] = p->contact_id;
		ops[n++] = j;
	}
	return n;
}

/* Tag ops, grouped by tag and direction: at most 100 contacts per call. */
enum rc
apply_tags(struct run *r)
{
	size_t i, j;
	enum rc worst = RC_OK;

	for (i = 0; i < r->plan.n && worst == RC_OK; i++) {
		struct op view, pv;
		const struct op *o = plan_get(&r->plan, i, &view);
		const char **ids;
		size_t *ops;
		struct keap_tag_result *res;
		const char *tag_id = NULL;
		struct api_err err;
		size_t n;
		int apply;
		enum rc rc;

		if ((o->kind != OP_APPLY_TAG && o->kind != OP_REMOVE_TAG) || o->tag == NULL)
			continue;
		apply = o->kind == OP_APPLY_TAG;
		rc = ensure_tag(r, o->tag, &tag_id, &err);
		if (rc != RC_OK) {
			record_failure(r, o, &err, rc);
			plan_drop_tag(&r->plan, i);
			if (rc == RC_AUTH || rc == RC_QUOTA)
				worst = rc;
			continue;
		}
		ids = xcalloc(r->plan.n + 1, sizeof(*ids));
		ops = xcalloc(r->plan.n + 1, sizeof(*ops));
		/* the group's tag is o's (its string stays the plan's when o is
		 * dropped: o without a contact goes on without it) */
		n = tag_group(r, i, o, ids, ops);
		res = xcalloc(n + 1, sizeof(*res));
		rc = n > 0 ? keap_tag_contacts(r->keap, tag_id, apply, ids, n, res, &err) : RC_OK;
		for (j = 0; j < n; j++) {
			const struct op *p = plan_get(&r->plan, ops[j], &pv);
			if (res[j].ok) {
				mark_rows(r, p, "repaired", NULL);
				(void)snap_contact_tag(r->st, ids[j], tag_id, apply, r->ext_field_id);
			}
			else {
				struct api_err e2 = err;
				if (rc == RC_OK) {
					memset(&e2, 0, sizeof(e2));
					snprintf(e2.msg, sizeof(e2.msg), "Keap answered %s for this contact",
					    res[j].status);
				}
				record_failure(r, p, &e2, rc == RC_OK ? RC_RECORD : rc);
			}
		}
		test_hook("write");
		if (rc == RC_AUTH || rc == RC_QUOTA)
			worst = rc;
		/* done: clear the tags so the group is not sent twice */
		for (j = 0; j < n; j++)
			plan_drop_tag(&r->plan, ops[j]);
		plan_drop_tag(&r->plan, i);
		free(ids);
		free(ops);
		free(res);
	}
	return worst;
}

/* Deletes (lifecycle.deletes = "delete" only: keap.c refuses otherwise). */
enum rc
apply_deletes(struct run *r)
{
	size_t i;

	for (i = 0; i < r->plan.n; i++) {
		struct op view;
		const struct op *o = plan_get(&r->plan, i, &view);
		struct api_err err;
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

/* Versions that journalled their writes may have left intents in the state:
 * never read (a killed run is made good by the next run's plan: the writes
 * carry preconditions and are idempotent, docs/engine.md "Killed runs"),
 * cleared so they do not linger. */
enum rc
clear_old_journal(struct run *r)
{
	size_t n = 0;
	enum rc rc = snap_journal_clear(r->st, &n);

	if (rc == RC_OK && n > 0)
		log_warn("run", "%zu write intents of an interrupted older run were left in the state; "
		    "this run's plan redoes what is still needed", n);
	return rc;
}
