/*
 * reconcile.h — the decision for one candidate (DESIGN.md §2, §5): the
 * candidate, the contacts matched to it, its lifecycle in the ATS and the
 * values last agreed → the drift rows to report, the ops that repair them and
 * what the snapshot must record. Every drift kind is built here or in diff.c
 * (enum drift_kind), lifecycle ones included.
 *
 * Pure: no I/O. compare.c gathers the inputs from the snapshot, calls
 * reconcile() and records the result (plan ops, report rows, links, base).
 */
#ifndef ATSRECON_RECONCILE_H
#define ATSRECON_RECONCILE_H

#include <stddef.h>

#include "ats.h"
#include "diff.h"
#include "contact.h"
#include "mapping.h"
#include "plan.h"

/* The rules besides the mapping: the lifecycle configuration. */
struct rec_rules {
	const struct mapping *map;
	const char *deletes;		/* lifecycle.deletes: "tag", "delete" or "report" */
	const char *deleted_tag;	/* lifecycle.deleted_tag (the archive tag) */
	const char *anonymized_tag;
	const char *duplicate_tag;
	const char *ext_field_id;	/* the external-id custom field's id */
};

/* A matched contact, as the snapshot holds it. */
struct rec_contact {
	const char *id;
	const struct contact *ct;	/* NULL: not in the snapshot */
	const char *const *tags;	/* names of all its tags */
	size_t ntags;
	const char *const *stage;	/* names of its tags in the stage category */
	size_t nstage;
};

enum rec_life {
	REC_LIVE,	/* the ATS has the person */
	REC_DELETED,	/* confirmed deleted in the ATS */
	REC_MERGED	/* deleted, merged into another person (survivor) */
};

struct rec_input {
	const struct candidate *c;
	const struct rec_contact *contacts;	/* the first is the one to use; n == 0: none */
	size_t n;
	const char *how;	/* how contacts[0] was found: "link", "external_id", "email" */
	enum rec_life life;
	const char *survivor;	/* REC_MERGED: the survivor's ATS key */
	int survivor_takes;	/* REC_MERGED: the survivor has no contact of its own */
	int linked_gone;	/* n == 0, yet the candidate was linked: deleted in Keap */
	const char *ext_value;	/* the external id as written for this candidate */
	int has_ext;		/* contacts[0]'s external-id field names it already */
	const struct strpairs *base;	/* values last agreed: target → value (NULL: none) */
};

struct rec_reason {
	const char *kind;	/* a drift kind, "stage_tag" or "link" */
	const char *field;	/* or NULL */
};

struct rec_op {
	enum op_kind kind;
	const char *contact;	/* borrowed from the input; NULL: a create */
	const char *tag;	/* tag ops: the tag's name (owned when owned_tag) */
	int owned_tag;
	struct contact_change change;	/* owned: what a create or patch writes (the
				 * caller makes Keap's body from it and the contact) */
	int archive;		/* applies the archive tag */
	struct rec_reason *reasons;
	size_t nreasons;
};

struct rec_row {
	struct drift d;		/* desired, actual owned; action "planned" when d.repair */
	const char *contact;	/* borrowed from the input, or NULL */
};

struct rec_result {
	struct rec_row *rows;
	size_t nrows;
	struct rec_op *ops;
	size_t nops;
	int link;		/* record the link to contacts[0] (found other than by it) */
	int unlink;		/* drop the candidate's link */
	int forget;		/* drop the candidate from the snapshot (archived, moved) */
	struct strpairs *agreed;	/* in agreement and the agreed values changed: the new base */
	int stamp;		/* in agreement with its one contact: may be stamped */
};

void reconcile(const struct rec_rules *, const struct rec_input *, struct rec_result *);
void rec_result_free(struct rec_result *);

/* The values both sides hold (the base of the next 3-way diff): every rule
 * whose desired value the contact now has, into *out (caller frees). */
void reconcile_agreed(const struct mapping *, const struct candidate *, const struct contact *,
    struct strpairs *out);

#endif
