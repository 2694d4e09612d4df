/*
 * plan.h — repair operations, the guards, and the plan file (DESIGN.md §6).
 *
 * A plan is a list of ops. Each op has a deterministic id (a hash of its kind,
 * target and body, so the same repair planned twice has the same id), the
 * candidate it is for, its target contact, and a precondition: the content
 * hash of the Keap contact it was planned against (0 for creates). `apply`
 * skips an op whose precondition no longer holds.
 *
 * The plan file (planfile.c) is JSON lines, one op per line:
 *   {"id":"…","kind":"patch_contact","ats_id":"…","contact":"…","precondition":"…",
 *    "body":{…},"reasons":["field_mismatch:email:EMAIL1"],"seal":"…"}
 * The seal hashes every field apply uses (archive and precondition included);
 * plan_read refuses an op whose id or seal does not match, a NUL byte and a
 * last line without its newline (docs/engine.md "Plan files").
 * A patch body holds the FULL merged list for any list in its mask (Keap
 * replaces lists whole), so applying it later cannot drop other items.
 */
#ifndef ATSRECON_PLAN_H
#define ATSRECON_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum op_kind { OP_UPSERT_CONTACT, OP_PATCH_CONTACT, OP_APPLY_TAG, OP_REMOVE_TAG, OP_DELETE_CONTACT,
	OP__MAX };

const char *op_kind_str(enum op_kind);
int op_kind_parse(const char *, enum op_kind *);

struct op {
	char id[17];		/* 16 hex digits */
	unsigned char archive;	/* applies the archive tag (counted by the guard) */
	enum op_kind kind;
	char *ats_id;		/* the candidate (NULL for none) */
	char *contact_id;	/* the target contact (NULL for a create) */
	char *tag;		/* tag ops: the tag's name */
	char *body;		/* upsert: the contact; patch: the fields, lists merged
				 * (compact JSON text, keap.h; NULL: none) */
	uint64_t precondition;	/* hash of the contact planned against; 0: none */
	const char **reasons;	/* "kind:field" of the drifts it repairs (the
				 * plan's words: op_add_reason) */
	size_t nreasons;
	size_t row_lo, row_hi;	/* the report rows of its candidate (in memory only;
				 * row_hi == 0: unknown, every row is looked at) */
};

struct plan {
	struct op *v;
	size_t n, cap;
	char **words;		/* the reasons' text, each kept once */
	size_t nwords;
	size_t linked;		/* linked contacts in the snapshot (the % guard's base) */
};

/* Adds an op (takes ownership of body, compact JSON text), computes its id. */
struct op *plan_add(struct plan *, enum op_kind, const char *ats_id, const char *contact_id,
    const char *tag, char *body, uint64_t precondition);
void op_add_reason(struct plan *, struct op *, const char *kind, const char *field);
void plan_free(struct plan *);

struct plan_counts {
	size_t creates;		/* upserts of new contacts */
	size_t changed;		/* distinct contacts changed (patches, tag changes) */
	size_t archives;	/* archive tags applied */
	size_t deletes;
	size_t ops;
};
void plan_count(const struct plan *, struct plan_counts *);

struct guards {
	long max_change_percent;	/* of plan->linked */
	long max_archives;
	long max_creates;
	long approve;			/* --approve N: every ceiling raised to N (0: none) */
};
/* RC_OK, or RC_GUARD with the guard and by how much in why. */
enum rc plan_check_guards(const struct plan *, const struct guards *, struct buf *why);

/* Writes the plan atomically as JSON lines. */
enum rc plan_write(const struct plan *, const char *path);
/* Reads a plan file; errors are "file:line: message" (RC_CONFIG). */
enum rc plan_read(struct plan *, const char *path, struct buf *err);

#endif
