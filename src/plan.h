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

#include "pack.h"
#include "util.h"

enum op_kind { OP_UPSERT_CONTACT, OP_PATCH_CONTACT, OP_APPLY_TAG, OP_REMOVE_TAG, OP_DELETE_CONTACT,
	OP__MAX };

const char *op_kind_str(enum op_kind);
int op_kind_parse(const char *, enum op_kind *);

/* An op as its users see it (plan_get): the strings are the plan's, valid
 * until plan_free. The plan keeps each op as a 40-byte record and its strings
 * in a text store (pack.h): a planned op costs its own bytes, no more. */
struct op {
	char id[17];		/* 16 hex digits */
	unsigned char archive;	/* applies the archive tag (counted by the guard) */
	enum op_kind kind;
	const char *ats_id;	/* the candidate (NULL for none) */
	const char *contact_id;	/* the target contact (NULL for a create) */
	const char *tag;	/* tag ops: the tag's name (NULL once applied) */
	const char *body;	/* upsert: the contact; patch: the fields, lists merged
				 * (compact JSON text, keap.h; NULL: none) */
	uint64_t precondition;	/* hash of the contact planned against; 0: none */
	size_t nreasons;	/* op_reason(plan, op, 0 .. nreasons - 1) */
	size_t row_lo, row_hi;	/* the report rows of its candidate (in memory only;
				 * row_hi == 0: unknown, every row is looked at) */
	size_t index;		/* its place in the plan */
	uint32_t reason0;	/* (the plan's: where its reasons start) */
};

struct plan {
	struct recs ops;	/* the ops' records (plan.c) */
	size_t n;		/* ops */
	struct wordtab words;	/* the reasons' text ("kind:field"), each kept once */
	uint32_t *reasons;	/* the ops' reasons, as words, op after op */
	size_t nreasons, capreasons;
	struct textpool *texts;	/* where ids, tags and bodies go: a store shared
				 * with the report (the run's), or NULL: own */
	struct textpool own;
	size_t linked;		/* linked contacts in the snapshot (the % guard's base) */
};

/* Adds an op (takes body, compact JSON text, and frees it once copied);
 * computes its id; gives its index. */
size_t plan_add(struct plan *, enum op_kind, const char *ats_id, const char *contact_id,
    const char *tag, char *body, uint64_t precondition);
void op_add_reason(struct plan *, size_t op, const char *kind, const char *field);
/* Op i as a view (filled in *view, which is returned). */
const struct op *plan_get(const struct plan *, size_t i, struct op *view);
const char *op_reason(const struct plan *, const struct op *, size_t k);
void plan_set_archive(struct plan *, size_t op, int archive);
void plan_set_rows(struct plan *, size_t op, size_t lo, size_t hi);
void plan_set_contact(struct plan *, size_t op, const char *contact_id);	/* a create's */
void plan_drop_tag(struct plan *, size_t op);	/* applied (or given up): tag NULL */
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
