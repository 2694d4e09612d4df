/*
 * diff.h — the 3-way comparison of one candidate (desired, from the ATS), its
 * linked Keap contact (actual) and the values last agreed (base), into drift
 * records and the Keap change that repairs them. Pure: no I/O.
 *
 * Side (DESIGN.md §5): with the base, a difference is attributed to
 *   ats_changed  Keap still holds the agreed value; the ATS moved on
 *   keap_edited  the ATS still holds the agreed value; someone edited Keap
 *   both         neither holds it
 * (no base yet: ats_changed, since the ATS is the source of truth).
 *
 * Owners decide what is written: ats → write; keap → report only; fill →
 * write only while Keap is empty; create → never on an existing contact.
 * Invalid ATS values are reported and never written. Values are compared as
 * mapping.c says: ATS-side spelling noise and Keap-side email case are
 * agreement and never cause a write; a phone or DATE stored in Keap in
 * another spelling is a field_mismatch on the Keap side with why "format: ..."
 * (DESIGN.md §4).
 */
#ifndef ATSRECON_DIFF_H
#define ATSRECON_DIFF_H

#include <stddef.h>

#include "ats.h"
#include "contact.h"
#include "mapping.h"

enum drift_kind {
	DRIFT_MISSING_CONTACT, DRIFT_FIELD_MISMATCH, DRIFT_STAGE_TAG_WRONG, DRIFT_STAGE_TAG_MULTIPLE,
	DRIFT_INVALID_VALUE, DRIFT_DUPLICATE_CONTACTS, DRIFT_DELETED_IN_ATS,
	DRIFT_ANONYMIZED, DRIFT_MERGED_IN_ATS, DRIFT_EMAIL_CHANGED, DRIFT_CONTACT_DELETED_IN_KEAP,
	DRIFT__MAX
};
enum drift_side { SIDE_NONE, SIDE_ATS_CHANGED, SIDE_KEAP_EDITED, SIDE_BOTH };

const char *drift_kind_str(enum drift_kind);
const char *drift_side_str(enum drift_side);

struct drift {
	enum drift_kind kind;
	const char *field;	/* the rule's target ("email:EMAIL1"), or NULL */
	enum drift_side side;
	char *desired, *actual, *base;	/* canonical values (may be NULL) */
	const char *why;	/* for invalid values and report-only drifts */
	int repair;		/* the change below repairs it */
};

/* The stage tags of one contact, by name (the caller resolves tag ids). */
struct diff_tags {
	const char *const *stage;	/* names of the contact's tags in the stage category */
	size_t nstage;
};

/* Values last agreed for a candidate: target → canonical value; by_id: the
 * contact was found by the link or the external-id field (not by email), so
 * a different email in it is the ATS's address change (email_changed). */
struct diff_base {
	const char *const *key;
	const char *const *val;
	size_t n;
	int by_id;
};

struct diff_result {
	struct drift *v;
	size_t n;
	struct contact_change changes;	/* what to write (or the create's values); n == 0: none */
	const char *tag_add;	/* stage tag to apply, or NULL (borrowed from the mapping) */
	char **tag_remove;	/* stage tags to remove */
	size_t ntag_remove;
	/* accuracy: rules that had an opinion, and how many agreed before repair
	 * (a difference its owner keeps — keap, create, fill with a value — agrees) */
	size_t fields_total, fields_agree;
	uint64_t opinions;	/* bit i: rule i had an opinion (rules 0-63; the
				 * accuracy counts ask mapping_desired past that) */
	int stage_ok;		/* the stage tag was right (or nothing to say) */
};

/* Compares; contact NULL means no linked contact (every writable value goes
 * into changes as a create body). */
void diff_candidate(const struct mapping *, const struct candidate *, const struct contact *contact,
    const struct diff_base *, const struct diff_tags *, struct diff_result *);
void diff_result_free(struct diff_result *);

#endif
