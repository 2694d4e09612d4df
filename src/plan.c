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

static void
op_make_id(struct op *o)
{
	struct buf b = BUF_INIT;
	const char *body = o->body;

	buf_addf(&b, "%s\n%s\n%s\n%s\n%s", op_kind_str(o->kind), o->ats_id ? o->ats_id : "",
	    o->contact_id ? o->contact_id : "", o->tag ? o->tag : "", body ? body : "");
	snprintf(o->id, sizeof(o->id), "%016" PRIx64, codec_fnv1a(b.p, b.len));
	buf_free(&b);
}

struct op *
plan_add(struct plan *p, enum op_kind kind, const char *ats_id, const char *contact_id,
    const char *tag, char *body, uint64_t precondition)
{
	struct op *o;

	if (p->n == p->cap) {	/* by half again: appending n ops costs O(n), and
				 * the room not yet used is at most a third */
		p->cap = p->cap ? p->cap + p->cap / 2 : 64;
		p->v = xrealloc(p->v, p->cap * sizeof(*p->v));
	}
	o = &p->v[p->n++];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->ats_id = ats_id ? xstrdup(ats_id) : NULL;
	o->contact_id = contact_id ? xstrdup(contact_id) : NULL;
	o->tag = tag ? xstrdup(tag) : NULL;
	o->body = body;
	o->precondition = precondition;
	op_make_id(o);
	return o;
}

/* The plan's one copy of "kind:field": the last 64 words are looked at (a
 * plan has a few dozen; a plan file with more costs a copy each, not a scan). */
void
op_add_reason(struct plan *p, struct op *o, const char *kind, const char *field)
{
	char *w = field ? xasprintf("%s:%s", kind, field) : xstrdup(kind);
	size_t i, lo = p->nwords > 64 ? p->nwords - 64 : 0;

	for (i = p->nwords; i-- > lo; )
		if (strcmp(p->words[i], w) == 0)
			break;
	if (i == (size_t)-1 || i < lo) {
		p->words = xrealloc(p->words, (p->nwords + 1) * sizeof(*p->words));
		p->words[p->nwords] = w;
		i = p->nwords++;
	} else
		free(w);
	o->reasons = xrealloc(o->reasons, (o->nreasons + 1) * sizeof(*o->reasons));
	o->reasons[o->nreasons++] = p->words[i];
}

static void
op_free(struct op *o)
{
	free(o->ats_id);
	free(o->contact_id);
	free(o->tag);
	free(o->body);
	free(o->reasons);
}

void
plan_free(struct plan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		op_free(&p->v[i]);
	free(p->v);
	strv_free(p->words, p->nwords);
	memset(p, 0, sizeof(*p));
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Counts by sorting the linked contacts once: O(n log n), not a scan of the
 * earlier ops per op (200,000 ops took minutes that way). */
void
plan_count(const struct plan *p, struct plan_counts *c)
{
	const char **ids = xcalloc(p->n ? p->n : 1, sizeof(*ids));
	size_t i, n = 0;

	memset(c, 0, sizeof(*c));
	c->ops = p->n;
	for (i = 0; i < p->n; i++) {
		const struct op *o = &p->v[i];
		if (o->kind == OP_UPSERT_CONTACT)
			c->creates++;
		else if (o->contact_id != NULL)
			ids[n++] = o->contact_id;	/* patches, tag changes, deletes */
		if (o->kind == OP_DELETE_CONTACT)
			c->deletes++;
		c->archives += o->archive;
	}
	qsort(ids, n, sizeof(*ids), cmp_str);
	for (i = 0; i < n; i++)
		if (i == 0 || strcmp(ids[i - 1], ids[i]) != 0)
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
