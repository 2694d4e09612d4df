/* plan.c — see plan.h. */
#define _POSIX_C_SOURCE 200809L
#include "plan.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

static const char *const kind_names[OP__MAX] = {
	"upsert_contact", "patch_contact", "apply_tag", "remove_tag", "delete_contact",
};

const char *
op_kind_str(enum op_kind k)
{
	return (size_t)k < OP__MAX ? kind_names[k] : "?";
}

int
op_kind_parse(const char *s, enum op_kind *out)
{
	size_t i;

	for (i = 0; i < OP__MAX; i++)
		if (strcmp(s, kind_names[i]) == 0) {
			*out = (enum op_kind)i;
			return 0;
		}
	return -1;
}

/* The packed op (plan.h: struct op is its view). */
struct op_rec {
	uint64_t precondition;
	uint32_t ats_id, contact_id, tag, body;	/* handles in the text store */
	uint32_t row_lo, row_hi;
	uint32_t reason0;	/* plan->reasons[reason0 .. + nreasons); one reason:
				 * the word itself */
	uint16_t nreasons;
	unsigned char kind, archive;
};	/* (40 bytes: the id is computed from the content when an op is viewed) */

#define MAX_REASONS 65535	/* of one op (a plan file's line may not have more) */

static struct textpool *
texts(struct plan *p)
{
	return p->texts != NULL ? p->texts : &p->own;
}

static const struct textpool *
ctexts(const struct plan *p)
{
	return p->texts != NULL ? p->texts : &p->own;
}

static struct op_rec *
rec(const struct plan *p, size_t i)
{
	return recs_at(&p->ops, i);
}

/* The id: the hash of kind, candidate, contact, tag and body, a line each. */
static void
op_make_id(struct op *v)
{
	const char *f[5];
	uint64_t h = CODEC_FNV_START;
	size_t i;

	f[0] = op_kind_str(v->kind);
	f[1] = v->ats_id;
	f[2] = v->contact_id;
	f[3] = v->tag;
	f[4] = v->body;
	for (i = 0; i < ARRAY_LEN(f); i++) {
		if (i > 0)
			h = codec_fnv1a_more(h, "\n", 1);
		if (f[i] != NULL)
			h = codec_fnv1a_more(h, f[i], strlen(f[i]));
	}
	snprintf(v->id, sizeof(v->id), "%016" PRIx64, h);
}

size_t
plan_add(struct plan *p, enum op_kind kind, const char *ats_id, const char *contact_id,
    const char *tag, char *body, uint64_t precondition)
{
	struct textpool *tp = texts(p);
	struct op_rec *o;

	if (p->ops.size == 0)
		p->ops.size = sizeof(struct op_rec);
	o = recs_push(&p->ops);
	o->kind = (unsigned char)kind;
	o->ats_id = tp_add(tp, ats_id);
	o->contact_id = tp_add(tp, contact_id);
	o->tag = tp_add(tp, tag);
	o->body = tp_add(tp, body);
	o->precondition = precondition;
	free(body);
	return p->n++;
}

/* The plan's one copy of "kind:field" (a word). An op's one reason is kept
 * in its record; two or more one after another in plan->reasons, so one
 * added to an op that is not the last moves its reasons to the end. */
void
op_add_reason(struct plan *p, size_t i, const char *kind, const char *field)
{
	char *w = field ? xasprintf("%s:%s", kind, field) : xstrdup(kind);
	struct op_rec *o = rec(p, i);
	uint32_t word = wt_intern(&p->words, w);
	size_t k;

	free(w);
	if (o->nreasons >= MAX_REASONS)
		return;	/* (a plan file's line with more: its seal does not match) */
	if (o->nreasons == 0) {
		o->reason0 = word;
		o->nreasons = 1;
		return;
	}
	if (p->nreasons + o->nreasons + 1 > p->capreasons) {
		p->capreasons = p->capreasons ? p->capreasons + p->capreasons / 2 : 64;
		p->capreasons += o->nreasons + 1;
		p->reasons = xrealloc(p->reasons, p->capreasons * sizeof(*p->reasons));
	}
	if (o->nreasons == 1) {
		p->reasons[p->nreasons] = o->reason0;
		o->reason0 = (uint32_t)p->nreasons++;
	} else if (o->reason0 + o->nreasons != p->nreasons) {
		for (k = 0; k < o->nreasons; k++)
			p->reasons[p->nreasons + k] = p->reasons[o->reason0 + k];
		o->reason0 = (uint32_t)p->nreasons;
		p->nreasons += o->nreasons;
	}
	p->reasons[p->nreasons++] = word;
	o->nreasons++;
}

const struct op *
plan_get(const struct plan *p, size_t i, struct op *v)
{
	const struct op_rec *o = rec(p, i);
	const struct textpool *tp = ctexts(p);

	v->archive = o->archive;
	v->kind = (enum op_kind)o->kind;
	v->ats_id = tp_str(tp, o->ats_id);
	v->contact_id = tp_str(tp, o->contact_id);
	v->tag = tp_str(tp, o->tag);
	v->body = tp_str(tp, o->body);
	v->precondition = o->precondition;
	v->nreasons = o->nreasons;
	v->reason0 = o->reason0;
	v->row_lo = o->row_lo;
	v->row_hi = o->row_hi;
	v->index = i;
	op_make_id(v);
	return v;
}

const char *
op_reason(const struct plan *p, const struct op *o, size_t k)
{
	if (k >= o->nreasons)
		return NULL;
	return wt_str(&p->words, o->nreasons == 1 ? o->reason0 : p->reasons[o->reason0 + k]);
}

void
plan_set_archive(struct plan *p, size_t i, int archive)
{
	rec(p, i)->archive = archive != 0;
}

void
plan_set_rows(struct plan *p, size_t i, size_t lo, size_t hi)
{
	struct op_rec *o = rec(p, i);

	if (hi > UINT32_MAX)	/* (unknown: every row is looked at) */
		lo = hi = 0;
	o->row_lo = (uint32_t)lo;
	o->row_hi = (uint32_t)hi;
}

void
plan_set_contact(struct plan *p, size_t i, const char *contact_id)
{
	rec(p, i)->contact_id = tp_add(texts(p), contact_id);
}

void
plan_drop_tag(struct plan *p, size_t i)
{
	rec(p, i)->tag = 0;
}

void
plan_free(struct plan *p)
{
	recs_free(&p->ops);
	wt_free(&p->words);
	free(p->reasons);
	tp_free(&p->own);
	{	/* a shared text store is its owner's: it stays set */
		struct textpool *tp = p->texts;
		memset(p, 0, sizeof(*p));
		p->texts = tp;
	}
}

/* Counts by sorting the linked contacts once: O(n log n), not a scan of the
 * earlier ops per op (200,000 ops took minutes that way). The contacts are
 * told apart by their ids' 64-bit hashes, sorted in place: 8 bytes an op. */
void
plan_count(const struct plan *p, struct plan_counts *c)
{
	uint64_t *ids = xcalloc(p->n ? p->n : 1, sizeof(*ids));
	const struct textpool *tp = ctexts(p);
	size_t i, n = 0;

	memset(c, 0, sizeof(*c));
	c->ops = p->n;
	for (i = 0; i < p->n; i++) {
		const struct op_rec *o = rec(p, i);
		const char *cid = tp_str(tp, o->contact_id);
		if (o->kind == OP_UPSERT_CONTACT)
			c->creates++;
		else if (cid != NULL)	/* patches, tag changes, deletes */
			ids[n++] = codec_fnv1a(cid, strlen(cid));
		if (o->kind == OP_DELETE_CONTACT)
			c->deletes++;
		c->archives += o->archive;
	}
	u64_sort(ids, n);
	for (i = 0; i < n; i++)
		if (i == 0 || ids[i - 1] != ids[i])
			c->changed++;	/* each linked contact once */
	free(ids);
}

enum rc
plan_check_guards(const struct plan *p, const struct guards *g, struct buf *why)
{
	struct plan_counts c;
	long pct_ceiling, arch = g->max_archives, creates = g->max_creates;
	size_t allowed_changes;
	enum rc rc = RC_OK;

	plan_count(p, &c);
	pct_ceiling = g->max_change_percent;
	allowed_changes = (size_t)((double)p->linked * (double)pct_ceiling / 100.0);
	if (g->approve > 0) {
		if ((long)allowed_changes < g->approve)
			allowed_changes = (size_t)g->approve;
		if (arch < g->approve)
			arch = g->approve;
		if (creates < g->approve)
			creates = g->approve;
	}
	/* 100 % or more: the percentage guard is off */
	if (pct_ceiling < 100 && c.changed > allowed_changes && c.changed > 0) {
		buf_addf(why, "%sguard max_change_percent: %zu of %zu linked contacts would change "
		    "(%.1f %%), the ceiling is %zu (%ld %%%s)", why->len ? "; " : "", c.changed, p->linked,
		    p->linked ? 100.0 * (double)c.changed / (double)p->linked : 100.0, allowed_changes,
		    pct_ceiling, g->approve > 0 ? ", raised by --approve" : "");
		rc = RC_GUARD;
	}
	if ((long)c.archives > arch) {
		buf_addf(why, "%sguard max_archives: %zu contacts would be archived, the ceiling is %ld",
		    why->len ? "; " : "", c.archives, arch);
		rc = RC_GUARD;
	}
	if ((long)c.creates > creates) {
		buf_addf(why, "%sguard max_creates: %zu contacts would be created, the ceiling is %ld",
		    why->len ? "; " : "", c.creates, creates);
		rc = RC_GUARD;
	}
	return rc;
}
