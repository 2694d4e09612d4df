/* reconcile.c — see reconcile.h. */
#define _POSIX_C_SOURCE 200809L
#include "reconcile.h"

#include <stdlib.h>
#include <string.h>

static struct rec_row *
add_row(struct rec_result *out, enum drift_kind kind, const char *contact)
{
	struct rec_row *w;

	out->rows = xrealloc(out->rows, (out->nrows + 1) * sizeof(*out->rows));
	w = &out->rows[out->nrows++];
	memset(w, 0, sizeof(*w));
	w->d.kind = kind;
	w->contact = contact;
	return w;
}

static struct rec_op *
add_op(struct rec_result *out, enum op_kind kind, const char *contact, const char *tag,
    struct contact_change *change)
{
	struct rec_op *o;

	out->ops = xrealloc(out->ops, (out->nops + 1) * sizeof(*out->ops));
	o = &out->ops[out->nops++];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->contact = contact;
	o->tag = tag;
	if (change != NULL) {
		o->change = *change;	/* taken */
		memset(change, 0, sizeof(*change));
	}
	return o;
}

static void
add_reason(struct rec_op *o, const char *kind, const char *field)
{
	o->reasons = xrealloc(o->reasons, (o->nreasons + 1) * sizeof(*o->reasons));
	o->reasons[o->nreasons].kind = kind;
	o->reasons[o->nreasons++].field = field;
}

static int
has_tag(const struct rec_contact *k, const char *name)
{
	size_t i;

	for (i = 0; k != NULL && name != NULL && i < k->ntags; i++)
		if (strcmp(k->tags[i], name) == 0)
			return 1;
	return 0;
}

/* A lifecycle tag on contact k (op and planned row) unless it has the tag. */
static struct rec_row *
life_tag(struct rec_result *out, const struct rec_contact *k, const char *tag,
    enum drift_kind kind, int archive)
{
	struct rec_op *o;
	struct rec_row *w;

	if (has_tag(k, tag))
		return NULL;
	o = add_op(out, OP_APPLY_TAG, k->id, tag, NULL);
	o->archive = archive;
	add_reason(o, drift_kind_str(kind), NULL);
	w = add_row(out, kind, k->id);
	w->d.repair = 1;
	return w;
}

/* Deleted in the ATS and merged into the survivor (DESIGN.md §5). */
static void
merged(const struct rec_rules *ru, const struct rec_input *in, struct rec_result *out)
{
	struct rec_row *w;

	if (in->n > 0 && !in->survivor_takes) {
		/* the survivor has a contact of its own: this one is archived,
		 * never tagged as a duplicate */
		if (has_tag(&in->contacts[0], ru->deleted_tag)) {
			out->unlink = out->forget = 1;	/* archived already */
			return;
		}
		if ((w = life_tag(out, &in->contacts[0], ru->deleted_tag, DRIFT_MERGED_IN_ATS, 1)) == NULL)
			return;
		w->d.desired = xstrdup(in->survivor);
		w->d.why = "merged in the ATS into a candidate with a contact of its own: the archive "
		    "tag goes on this contact";
		return;
	}
	/* the survivor has no contact: this one follows it (the survivor's own
	 * reconcile links it and rewrites its external id) */
	w = add_row(out, DRIFT_MERGED_IN_ATS, in->n > 0 ? in->contacts[0].id : NULL);
	w->d.desired = xstrdup(in->survivor);
	w->d.why = "merged in the ATS: the contact now follows the surviving candidate; no archive tag";
	out->unlink = out->forget = 1;
}

/* Deleted in the ATS: the archive tag, nothing else (or a delete by policy). */
static void
deleted(const struct rec_rules *ru, const struct rec_input *in, struct rec_result *out)
{
	const struct rec_contact *k = in->n > 0 ? &in->contacts[0] : NULL;

	if (k != NULL && strcmp(ru->deletes, "tag") == 0) {
		if (has_tag(k, ru->deleted_tag))
			out->forget = 1;	/* archived already: done with it */
		else
			life_tag(out, k, ru->deleted_tag, DRIFT_DELETED_IN_ATS, 1);
	} else if (k == NULL)
		out->forget = 1;	/* nothing in Keap to archive */
	else if (strcmp(ru->deletes, "delete") == 0) {
		struct rec_op *o = add_op(out, OP_DELETE_CONTACT, k->id, NULL, NULL);
		add_reason(o, drift_kind_str(DRIFT_DELETED_IN_ATS), NULL);
		add_row(out, DRIFT_DELETED_IN_ATS, k->id);
	} else
		add_row(out, DRIFT_DELETED_IN_ATS, k->id);
}

/* More than one contact: the first is repaired, the others tagged. */
static void
duplicates(const struct rec_rules *ru, const struct rec_input *in, struct rec_result *out)
{
	size_t row = out->nrows, i;	/* an index: more rows are added below */
	struct buf others = BUF_INIT;

	add_row(out, DRIFT_DUPLICATE_CONTACTS, in->contacts[0].id);
	for (i = 1; i < in->n; i++) {
		buf_addf(&others, "%s%s", i > 1 ? "," : "", in->contacts[i].id);
		life_tag(out, &in->contacts[i], ru->duplicate_tag, DRIFT_DUPLICATE_CONTACTS, 0);
	}
	out->rows[row].d.actual = buf_take(&others);
	out->rows[row].d.why = "the linked contact is repaired; the others are tagged, never merged "
	    "or deleted";
}

/* A value for an email or a phone: Keap creates no contact without one. */
static int
has_address(const struct contact_change *ch)
{
	size_t i;

	for (i = 0; i < ch->n; i++)
		if ((ch->v[i].where == CW_EMAIL || ch->v[i].where == CW_PHONE) && ch->v[i].value[0] != '\0')
			return 1;
	return 0;
}

/* No contact: a create (upsert), carrying the external id so a replay finds it. */
static void
create(const struct rec_rules *ru, const struct rec_input *in, struct diff_result *dr,
    struct rec_result *out)
{
	if (!has_address(&dr->changes)) {
		struct rec_row *w = add_row(out, DRIFT_INVALID_VALUE, NULL);
		w->d.field = "email";
		w->d.why = "no valid email or phone: Keap cannot create this contact";
		return;
	}
	change_set(&dr->changes, CW_CUSTOM, ru->ext_field_id, in->ext_value);
	add_reason(add_op(out, OP_UPSERT_CONTACT, NULL, NULL, &dr->changes),
	    drift_kind_str(DRIFT_MISSING_CONTACT), NULL);
}

/* A contact: the changes (and the external id, linking it in Keap too). */
static void
patch(const struct rec_rules *ru, const struct rec_input *in, struct diff_result *dr,
    struct rec_result *out)
{
	struct rec_op *o;
	size_t i;

	if (!in->has_ext)	/* any accepted spelling of the id is in sync, never rewritten (extid.h) */
		change_set(&dr->changes, CW_CUSTOM, ru->ext_field_id, in->ext_value);
	if (dr->changes.n == 0)
		return;
	o = add_op(out, OP_PATCH_CONTACT, in->contacts[0].id, NULL, &dr->changes);
	for (i = 0; i < dr->n; i++)
		if (dr->v[i].repair && (dr->v[i].kind == DRIFT_FIELD_MISMATCH ||
		    dr->v[i].kind == DRIFT_EMAIL_CHANGED))
			add_reason(o, drift_kind_str(dr->v[i].kind), dr->v[i].field);
	if (!in->has_ext)
		add_reason(o, "link", "external_id");
}

/* Stage tag ops, the drift rows, and what agreement leaves to record. */
static void
finish(const struct rec_rules *ru, const struct rec_input *in, struct diff_result *dr,
    struct rec_result *out)
{
	const struct rec_contact *k = in->n > 0 ? &in->contacts[0] : NULL;
	size_t i;

	if (dr->tag_add != NULL)
		add_reason(add_op(out, OP_APPLY_TAG, k ? k->id : NULL, dr->tag_add, NULL), "stage_tag", NULL);
	for (i = 0; i < dr->ntag_remove; i++) {
		/* the name outlives dr: it is one of the mapping's stage tags or the contact's */
		struct rec_op *o = add_op(out, OP_REMOVE_TAG, k ? k->id : NULL, NULL, NULL);
		o->tag = dr->tag_remove[i];
		o->owned_tag = 1;
		dr->tag_remove[i] = NULL;
		add_reason(o, "stage_tag", NULL);
	}
	for (i = 0; i < dr->n; i++) {
		struct rec_row *w = add_row(out, dr->v[i].kind, k ? k->id : NULL);
		w->d = dr->v[i];
		w->d.base = NULL;	/* freed with dr */
		dr->v[i].desired = dr->v[i].actual = NULL;
	}
	if (dr->n == 0 && k != NULL && k->ct != NULL) {
		/* in agreement: what is agreed now is the base of the next diff */
		struct strpairs agreed = { NULL, NULL, 0 };
		reconcile_agreed(ru->map, in->c, k->ct, &agreed);
		if (!strpairs_equal(&agreed, in->base)) {
			out->agreed = xmalloc(sizeof(*out->agreed));
			*out->agreed = agreed;
		} else
			strpairs_free(&agreed);
		out->stamp = in->n == 1;
	}
}

/* The ATS has the person: compare, and repair what its owners allow. */
static void
live(const struct rec_rules *ru, const struct rec_input *in, struct rec_result *out)
{
	const struct rec_contact *k = in->n > 0 ? &in->contacts[0] : NULL;
	struct diff_base base = { NULL, NULL, 0, 0 };
	struct diff_tags tags = { NULL, 0 };
	struct diff_result dr;
	if (in->n > 1)
		duplicates(ru, in, out);
	out->link = k != NULL && in->how != NULL && strcmp(in->how, "link") != 0;
	if (in->c->anonymized) {
		if (k != NULL)
			life_tag(out, k, ru->anonymized_tag, DRIFT_ANONYMIZED, 0);
		else
			add_row(out, DRIFT_ANONYMIZED, NULL);
		return;
	}
	if (in->linked_gone) {
		add_row(out, DRIFT_CONTACT_DELETED_IN_KEAP, NULL)->d.why = "the linked contact was "
		    "deleted in Keap; reported, not recreated";
		return;
	}
	base.by_id = in->how != NULL && (strcmp(in->how, "link") == 0 ||
	    strcmp(in->how, "external_id") == 0);
	if (in->base != NULL) {
		base.key = (const char *const *)in->base->k;
		base.val = (const char *const *)in->base->v;
		base.n = in->base->n;
	}
	if (k != NULL) {
		tags.stage = k->stage;
		tags.nstage = k->nstage;
	}
	memset(&dr, 0, sizeof(dr));
	diff_candidate(ru->map, in->c, k ? k->ct : NULL, &base, &tags, &dr);
	if (k == NULL || k->ct == NULL)
		create(ru, in, &dr, out);
	else
		patch(ru, in, &dr, out);
	finish(ru, in, &dr, out);
	diff_result_free(&dr);
}

void
reconcile(const struct rec_rules *ru, const struct rec_input *in, struct rec_result *out)
{
	memset(out, 0, sizeof(*out));
	if (in->life == REC_MERGED)
		merged(ru, in, out);
	else if (in->life == REC_DELETED)
		deleted(ru, in, out);
	else
		live(ru, in, out);
}

void
rec_result_free(struct rec_result *r)
{
	size_t i;

	for (i = 0; i < r->nrows; i++) {
		free(r->rows[i].d.desired);
		free(r->rows[i].d.actual);
	}
	free(r->rows);
	for (i = 0; i < r->nops; i++) {
		change_free(&r->ops[i].change);
		if (r->ops[i].owned_tag)
			free((void *)r->ops[i].tag);
		free(r->ops[i].reasons);
	}
	free(r->ops);
	if (r->agreed != NULL) {
		strpairs_free(r->agreed);
		free(r->agreed);
	}
	memset(r, 0, sizeof(*r));
}

void
reconcile_agreed(const struct mapping *m, const struct candidate *c, const struct contact *contact,
    struct strpairs *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < m->n; i++) {
		struct desired d;
		char *actual;

		mapping_desired(m, &m->rules[i], c, &d);
		if (d.opinion && !d.invalid) {
			actual = mapping_actual(m, &m->rules[i], contact);
			if (strcmp(actual, d.value) == 0)
				strpairs_add(out, m->rules[i].to, d.value);
			free(actual);
		}
		desired_free(&d);
	}
}
