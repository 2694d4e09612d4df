/* pull.c — both sides into the snapshot (DESIGN.md §1): the ATS (a window,
 * or everything on a full sweep), the deletes it confirms, Keap's contacts;
 * what changed, what did not agree last time and what was deleted become the
 * worklist (r->touched). */
#define _POSIX_C_SOURCE 200809L
#include "run_p.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "extid.h"
#include "log.h"
#include "norm.h"
#include "snap.h"

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
	int64_t attempts;
	enum rc rc = snap_failed_get(r->st, key, &attempts, NULL);

	if (rc == RC_RECORD)
		rc = snap_failed_put(r->st, key, 0, NULL);
	return rc;
}

static enum rc
on_candidate(void *arg, const struct candidate *c)
{
	struct run *r = arg;
	struct buf key;
	char karr[256];
	int changed = 0;
	enum rc rc;

	buf_on(&key, karr, sizeof(karr));
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
	if (rc == RC_OK && changed && r->full) {	/* (the sweep reconciles all: "changed") */
		if (r->nchanged == r->capchanged) {
			r->capchanged = r->capchanged ? r->capchanged + r->capchanged / 2 : 4096;
			r->changed = xrealloc(r->changed, r->capchanged * sizeof(*r->changed));
		}
		r->changed[r->nchanged++] = codec_fnv1a(key.p, key.len);
	} else if (rc == RC_OK && changed)
		set_add(&r->touched, key.p);
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
touch_by_email(struct run *r, const struct contact *contact, const char *id)
{
	struct buf norm = BUF_INIT, ak = BUF_INIT;
	enum rc rc = RC_OK;
	size_t e;

	for (e = 0; e < contact->emails.n; e++) {
		char **ids = NULL;
		size_t n = 0, i;

		if (norm_email(contact->emails.v[e].value, &norm) != NORM_OK ||
		    snap_email_contacts(r->st, norm.p, &ids, &n) != RC_OK)
			continue;
		for (i = 0; i < n && rc == RC_OK; i++)
			if (strcmp(ids[i], id) != 0 && snap_contact_linked(r->st, ids[i], &ak) == RC_OK) {
				set_add(&r->touched, ak.p);
				rc = mark_pending(r, ak.p);
			}
		snap_ids_free(ids, n);
	}
	buf_free(&norm);
	buf_free(&ak);
	return rc;
}

static enum rc
on_contacts(void *arg, struct contact *contacts, size_t nc, int page)
{
	struct run *r = arg;
	size_t k;
	enum rc rc;

	(void)page;
	for (k = 0; k < nc; k++) {
		const struct contact *c = &contacts[k];
		int changed = 0;
		const char *id = c->id;

		if (past_deadline(r))
			return RC_REMOTE;
		if (id == NULL)
			continue;
		if ((rc = batch_tick(r)) != RC_OK)
			return rc;
		progress_update(&r->prog, "reading Keap: contacts", ++r->kpulled, 0);
		rc = snap_put_contact(r->st, c, r->ext_field_id, &changed);
		if (rc != RC_OK && rc != RC_RECORD)
			return rc;
		if (r->full)
			set_add(&r->seen_contacts, id);
		if (changed) {
			/* a Keap-side edit: the linked candidate needs a look */
			struct buf ak = BUF_INIT;
			rc = RC_OK;
			if (snap_contact_linked(r->st, id, &ak) == RC_OK) {
				set_add(&r->touched, ak.p);
				rc = mark_pending(r, ak.p);
			} else if (!r->full)
				rc = touch_by_email(r, c, id);
			buf_free(&ak);
			if (rc != RC_OK)
				return rc;
		}
	}
	return RC_OK;
}


/*
 * The confirmed deletes: a person whose emails now belong to another person
 * in the ATS was merged into that one (merged_in_ats: the Keap contact moves
 * over to the survivor instead of being archived). Every one is reconciled.
 */
/* The survivor a deleted key was merged into, or NULL. */
const char *
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
		rc = snap_candidates_each(r->st, merge_scan_one, &ms);
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
		const char *key = r->feed.v[i];

		if (!snap_has_candidate(r->st, key))
			continue;	/* never seen: nothing to archive */
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
collect_failed(void *arg, const char *key, int64_t attempts, const char *last_error)
{
	struct run *r = arg;

	if (was_touched(r, key))
		;	/* changed since: tried again anyway */
	else if (attempts >= cfg_int(r->cfg, OPT_RUN_MAX_ATTEMPTS)) {
		size_t w = report_add_row(&r->rep, "write_failed", NULL, NULL, key, NULL);
		char *why = xasprintf("gave up after %lld attempts (run.max_attempts); retried when "
		    "the candidate changes; last error: %s", (long long)attempts,
		    last_error ? last_error : "?");
		report_row_set_action(&r->rep, w, "failed");
		report_row_set_error(&r->rep, w, why);
		free(why);
		r->record_errors++;
		set_add(&r->gaveup, key);
	} else
		set_add(&r->retry, key);
	return RC_OK;
}

/* Sorts the listed hashes for was_listed. */
static void
sort_listed(struct run *r)
{
	u64_sort(r->listed, r->nlisted);
}

/* Was this key in the full sweep's listing? (sorted before the first call) */
int
was_listed(const struct run *r, const char *key)
{
	uint64_t h = codec_fnv1a(key, strlen(key));

	return u64_has(r->listed, r->nlisted, h);
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

	sort_listed(r);
	{
		struct unlisted ul = { r, &all };
		if ((rc = snap_candidates_each(r->st, collect_unlisted, &ul)) != RC_OK)
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
orphan_one(void *arg, const char *value, const char *cid)
{
	struct orphans *o = arg;
	struct run *r = o->r;
	struct buf id = BUF_INIT, owner = BUF_INIT;
	char *akey = NULL, shape[32];
	struct contact ct;

	memset(&ct, 0, sizeof(ct));
	if (!extid_parse(r->ext_fmt, o->src, value, &id))
		goto out;
	id_shape(id.p, shape, sizeof(shape));
	if (strcmp(shape, o->shape) != 0)
		goto out;	/* not an id of this source: someone's other text */
	akey = xasprintf("%s:%s", o->src, id.p);
	if (snap_has_candidate(r->st, akey))
		goto out;	/* a person the snapshot holds: reconciled as such */
	if (snap_contact_linked(r->st, cid, &owner) == RC_OK && is_live(r, owner.p))
		goto out;	/* the contact follows someone else now */
	if (snap_get_contact(r->st, cid, &ct) != RC_OK ||
	    has_tag_named(r, &ct, cfg_str(r->cfg, OPT_LIFE_DELETED_TAG)) ||
	    has_tag_named(r, &ct, cfg_str(r->cfg, OPT_LIFE_ANONYMIZED_TAG)))
		goto out;	/* archived or erased already: nothing left to do */
	{
		char *e = xasprintf("%s\t%s", akey, cid);
		set_add(&o->found, e);
		free(e);
	}
out:
	contact_free(&ct);
	free(akey);
	buf_free(&id);
	buf_free(&owner);
	return RC_OK;
}

/* A stub of a person the ATS no longer has: the id, and the emails of the
 * contact that names it (for the merge check), linked to that contact. */
static enum rc
put_stub(struct run *r, const char *src, const char *akey, const char *cid)
{
	struct candidate c;
	struct contact ct;
	const char **raw = NULL;
	size_t n = 0, e;
	int changed;
	enum rc rc;

	memset(&c, 0, sizeof(c));
	c.ats = xstrdup(src);
	c.id = xstrdup(key_id(akey));
	snap_get_contact(r->st, cid, &ct);	/* (absent: zeroed) */
	for (e = 0; e < ct.emails.n; e++) {
		raw = xrealloc(raw, (n + 1) * sizeof(*raw));
		raw[n++] = ct.emails.v[e].value;
	}
	candidate_set_emails(&c, raw, n, 0);
	rc = snap_put_candidate(r->st, &c, &changed);
	if (rc == RC_OK)
		rc = snap_link(r->st, akey, cid);
	free(raw);
	contact_free(&ct);
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
	if ((rc = snap_candidates_page(r->st, NULL, 1, first_key, &o, &i)) != RC_OK ||
	    o.shape[0] == '\0')
		return rc;
	if ((rc = snap_extid_each(r->st, orphan_one, &o)) != RC_OK)
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
	if ((rc = snap_contacts_each(r->st, collect_key, &all)) != RC_OK)
		return rc;
	for (i = 0; i < all.n && rc == RC_OK; i++) {
		struct buf ak = BUF_INIT;

		if (set_has(&r->seen_contacts, all.v[i]))
			continue;
		if (snap_contact_linked(r->st, all.v[i], &ak) == RC_OK)
			set_add(&r->touched, ak.p);
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
enum rc
pull_keap(struct run *r, int64_t hwm_keap)
{
	struct api_err kerr;
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

enum rc
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
	if (snap_meta_get(r->st, "ats_sync", &r->sync_tok) == RC_OK && r->sync_tok.len > 0)
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
			sort_listed(r);
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
	u64_sort(r->changed, r->nchanged);
	if ((rc = snap_failed_each(r->st, collect_failed, r)) != RC_OK)
		return rc;
	for (i = 0; i < r->retry.n; i++)
		set_add(&r->touched, r->retry.v[i]);
	set_finish(&r->gaveup);
	set_finish(&r->touched);
	if (r->unread_ats == NULL && r->full && (rc = confirm_vanished(r)) != RC_OK)
		return rc;
	if (r->unread_ats == NULL) {
		/* the listed hashes serve confirm_vanished, and compare_all only after
		 * an unread page: not held while compare and accuracy run */
		free(r->listed);
		r->listed = NULL;
		r->nlisted = r->caplisted = 0;
	}
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
	if (r->full)
		log_info("run", "%zu candidates changed or to look at again", r->touched.n + r->nchanged);
	else
		log_info("run", "%zu candidates to reconcile", r->touched.n);
	return RC_OK;
}
