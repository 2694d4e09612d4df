/*
 * snap.h — the snapshot records of the state (DESIGN.md §3), on top of state.c.
 *
 *   ats    "<ats>:<id>"   → candidate (codec.c: versioned, with a content hash)
 *   keap   "<contact id>" → 8-byte content hash + the contact's compact JSON
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
#include "json.h"
#include "state.h"
#include "util.h"

/* "greenhouse:123" */
void snap_ats_key(const struct candidate *, struct buf *out);

/* Stores c; *changed is 1 when it is new or different. */
enum rc snap_put_candidate(struct state *, const struct candidate *, int *changed);
/* RC_RECORD when absent; RC_STATE when the record cannot be decoded. */
enum rc snap_get_candidate(struct state *, const char *ats_key, struct candidate *out);

/*
 * Stores a Keap contact (as listed) and indexes its normalised emails and the
 * value of the external-id custom field (custom_field_id; NULL: none).
 * *changed as above; *hash receives the content hash (the plan's precondition).
 */
enum rc snap_put_contact(struct state *, const cJSON *contact, const char *custom_field_id,
    int *changed, uint64_t *hash);
/* The stored contact (caller deletes) and its hash; RC_RECORD when absent. */
enum rc snap_get_contact(struct state *, const char *id, cJSON **out, uint64_t *hash);
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

/* Values last agreed (a JSON object; caller deletes). Absent: an empty object. */
cJSON *snap_get_base(struct state *, const char *ats_key);
enum rc snap_put_base(struct state *, const char *ats_key, const cJSON *base);

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
/* The content hash of a stored candidate / contact; RC_RECORD when absent. */
enum rc snap_candidate_hash(struct state *, const char *ats_key, uint64_t *hash);
enum rc snap_contact_hash(struct state *, const char *id, uint64_t *hash);

#endif
