/*
 * snap.h — the snapshot records of the state (DESIGN.md §3), on top of state.c.
 *
 *   ats    "<ats>:<id>"   → candidate (codec.c: versioned, with a content hash)
 *   keap   "<contact id>" → 8-byte content hash + the contact (codec.c; older
 *                          records hold Keap's compact JSON instead: still read)
 *   link   "a:<ats key>"  → contact id;  "c:<contact id>" → ats key;
 *          "x:<external id value>" → contact id (from the external-id custom field)
 *   email  "<email>"      → contact ids, comma-separated (normalised emails)
 *   base   "<ats key>"    → JSON object {target: value last agreed}
 *
 * Candidate and contact writes report whether the record changed (by its
 * content hash), so a run knows what it must look at without decoding the rest.
 */
#ifndef ATSRECON_SNAP_H
#define ATSRECON_SNAP_H

#include <stdint.h>

#include "ats.h"
#include "contact.h"
#include "state.h"
#include "util.h"

/* "greenhouse:123" */
void snap_ats_key(const struct candidate *, struct buf *out);

/* Stores c; *changed is 1 when it is new or different. */
enum rc snap_put_candidate(struct state *, const struct candidate *, int *changed);
/* RC_RECORD when absent; RC_STATE when the record cannot be decoded. */
enum rc snap_get_candidate(struct state *, const char *ats_key, struct candidate *out);
/* Drops the candidate's record (archived or moved: nothing left to reconcile). */
enum rc snap_forget_candidate(struct state *, const char *ats_key);

/*
 * Stores a Keap contact (as listed; contact->hash is its content hash, the
 * plan's precondition) and indexes its normalised emails and the value of the
 * external-id custom field (custom_field_id; NULL: none). *changed as above.
 */
enum rc snap_put_contact(struct state *, const struct contact *, const char *custom_field_id,
    int *changed);
/* The stored contact, its hash in out->hash (caller frees with contact_free);
 * RC_RECORD when absent. */
enum rc snap_get_contact(struct state *, const char *id, struct contact *out);
/* Keeps the stored contact's tag ids in step with a tag change Keap confirmed
 * (the record is given a new hash: it is no longer what Keap last sent). */
enum rc snap_contact_tag(struct state *, const char *id, const char *tag_id, int apply,
    const char *custom_field_id);
enum rc snap_del_contact(struct state *, const char *id, const char *custom_field_id);

enum rc snap_link(struct state *, const char *ats_key, const char *contact_id);
enum rc snap_linked(struct state *, const char *ats_key, struct buf *contact_id);
/* Removes the candidate's link (and the contact's way back, if it still points here). */
enum rc snap_unlink(struct state *, const char *ats_key);

/*
 * The contacts that may be this candidate's, in the matching order: the link,
 * then the external-id field (any of the n_ext accepted spellings, extid.h),
 * then each normalised email (when by_email). ids receives the distinct
 * contact ids, the first being the one to use; *how says which rule found it
 * ("link", "external_id", "email"); *nbyid how many of the first ids were
 * found by the link or the external id (the rest by email only).
 */
enum rc snap_match(struct state *, const char *ats_key, char *const *ext_ids, size_t n_ext,
    const struct candidate *, int by_email, char ***ids, size_t *n, size_t *nbyid,
    const char **how);
/* The value of the external-id field the contact was stored with ("" none). */
enum rc snap_contact_extid(struct state *, const char *contact_id, const char *custom_field_id,
    struct buf *value);
void snap_ids_free(char **ids, size_t n);

/* Values last agreed (target → value; caller frees). Absent: none. */
void snap_get_base(struct state *, const char *ats_key, struct strpairs *out);
enum rc snap_put_base(struct state *, const char *ats_key, const struct strpairs *base);

/*
 * The agreement stamp (DB base, key "#<ats key>"): when a candidate and its
 * contact were last found in agreement, their content hashes, the hash of
 * everything else the comparison depends on (configuration, Keap's model and
 * tags), which rules had an opinion, and the stage and job (for the accuracy
 * groups). While all three hashes still hold, the pair is in agreement without
 * decoding either record: a full sweep costs a few lookups per unchanged person.
 * The email index must also still lead from each of the candidate's emails to
 * the linked contact alone.
 */
struct snap_stamp {
	uint64_t cand, contact, env;
	uint64_t opinions;	/* bit i: rule i had an opinion */
	char stage[128], job[128];
	char emails[256];	/* the candidate's emails, '\n'-separated: each must still
				 * lead to the linked contact alone (a new duplicate
				 * in Keap breaks the stamp) */
};
enum rc snap_put_stamp(struct state *, const char *ats_key, const struct snap_stamp *);
enum rc snap_del_stamp(struct state *, const char *ats_key);
/* 1 when the stamp of ats_key holds for a candidate record hashing cand_hash
 * and the environment hash env (the linked contact's hash is looked up);
 * *out receives the stamp. 0 otherwise. */
int snap_stamp_holds(struct state *, const char *ats_key, uint64_t cand_hash, uint64_t env,
    struct snap_stamp *out);
/* The stamp alone (one lookup): 1 when ats_key has one made for cand_hash
 * under env, read into *out; the link, the contact's hash and the email index
 * are not checked (the caller knows they held). */
int snap_stamp_get(struct state *, const char *ats_key, uint64_t cand_hash, uint64_t env,
    struct snap_stamp *out);
/* The content hash of a stored candidate / contact; RC_RECORD when absent. */
enum rc snap_candidate_hash(struct state *, const char *ats_key, uint64_t *hash);
enum rc snap_contact_hash(struct state *, const char *id, uint64_t *hash);

/*
 * The run's own records (DESIGN.md §3), each behind typed functions: the
 * engine never names a DB or builds a key.
 *
 *   failed  "<ats key>" → {"attempts":N,"last_error":"…"}: not in sync after a
 *           run (attempts 0: pending), looked at again by the next one
 *   meta    "<name>"    → text (integers in decimal): windows, sync token
 *   runs    "<run id>"  → the run record (report.h), the trend's source
 *   journal "<op id>"   → left by versions up to 0.x that journalled intents;
 *           never read: cleared (docs/engine.md "Killed runs")
 */
/* RC_RECORD when absent; *attempts and the last error ("" none; last_error may be NULL). */
enum rc snap_failed_get(struct state *, const char *ats_key, int64_t *attempts, struct buf *last_error);
/* last_error NULL: none (a pending record). */
enum rc snap_failed_put(struct state *, const char *ats_key, int64_t attempts, const char *last_error);
enum rc snap_failed_del(struct state *, const char *ats_key);
int snap_failed_has(struct state *, const char *ats_key);
/* Every failed record; last_error NULL when none. */
typedef enum rc (*snap_failed_fn)(void *arg, const char *ats_key, int64_t attempts,
    const char *last_error);
enum rc snap_failed_each(struct state *, snap_failed_fn, void *arg);

/* 0 when absent or not an integer. */
int64_t snap_meta_get_int(struct state *, const char *name);
enum rc snap_meta_put_int(struct state *, const char *name, int64_t);
/* RC_RECORD when absent. */
enum rc snap_meta_get(struct state *, const char *name, struct buf *value);
enum rc snap_meta_put(struct state *, const char *name, const char *value);

enum rc snap_run_put(struct state *, const char *run_id, const char *record, size_t len);
/* Every run record, in run id order. */
typedef enum rc (*snap_run_fn)(void *arg, const char *record, size_t len);
enum rc snap_run_each(struct state *, snap_run_fn, void *arg);

/* Drops what an older version's journal left; *n: how many. */
enum rc snap_journal_clear(struct state *, size_t *n);

/* One write transaction for many records (see state.h); a batch open while
 * a run is killed is dropped whole. */
enum rc snap_batch_begin(struct state *);
enum rc snap_batch_commit(struct state *);
void snap_batch_abort(struct state *);

/* Candidates (raw records: codec.h decodes them), in key order; the page form
 * visits at most max after `after` (NULL: from the first), *visited says how many. */
enum rc snap_candidates_each(struct state *, state_each_fn, void *arg);
enum rc snap_candidates_page(struct state *, const char *after, size_t max, state_each_fn,
    void *arg, size_t *visited);
int snap_has_candidate(struct state *, const char *ats_key);
/* Contact ids of the snapshot, in key order (val: the stored record). */
enum rc snap_contacts_each(struct state *, state_each_fn, void *arg);
/* The candidate a contact is linked to; RC_RECORD when none. */
enum rc snap_contact_linked(struct state *, const char *contact_id, struct buf *ats_key);
/* Number of linked candidates. */
size_t snap_count_linked(struct state *);
/* Every external-id index entry: the value and the contact holding it. */
typedef enum rc (*snap_extid_fn)(void *arg, const char *value, const char *contact_id);
enum rc snap_extid_each(struct state *, snap_extid_fn, void *arg);
/* The contact ids indexed under a normalised email (snap_ids_free); none: *n = 0. */
enum rc snap_email_contacts(struct state *, const char *email, char ***ids, size_t *n);

#endif
