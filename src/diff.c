/* diff.c — see diff.h. */
#define _POSIX_C_SOURCE 200809L
#include "diff.h"

#include <stdlib.h>
#include <string.h>

static const char *const kind_names[DRIFT__MAX] = {
	"missing_contact", "field_mismatch", "stage_tag_wrong", "stage_tag_multiple",
	"invalid_value", "duplicate_contacts", "deleted_in_ats", "anonymized",
	"merged_in_ats", "email_changed", "contact_deleted_in_keap",
};

const char *
drift_kind_str(enum drift_kind k)
{
	return (size_t)k < DRIFT__MAX ? kind_names[k] : "?";
}

const char *
drift_side_str(enum drift_side s)
{
	switch (s) {
	case SIDE_NONE: return "";
	case SIDE_ATS_CHANGED: return "ats_changed";
	case SIDE_KEAP_EDITED: return "keap_edited";
	case SIDE_BOTH: return "both";
	}
	return "?";
}

static struct drift *
add(struct diff_result *r, enum drift_kind kind, const char *field)
{
	struct drift *d;

	r->v = xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
	d = &r->v[r->n++];
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->field = field;
	return d;
}

static const char *
base_of(const struct diff_base *b, const char *key)
{
	size_t i;

	for (i = 0; b != NULL && i < b->n; i++)
		if (strcmp(b->key[i], key) == 0)
			return b->val[i];
	return NULL;
}

static char *
dup0(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void
want_change(struct diff_result *r, const struct map_rule *rule, const char *value)
{
	mapping_put(rule, value, &r->changes);
}

static void
diff_fields(const struct mapping *m, const struct candidate *c, const struct contact *contact,
    const struct diff_base *base, struct diff_result *r)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		const struct map_rule *rule = &m->rules[i];
		struct desired d;
		char *actual;
		const char *b;
		struct drift *dr;

		mapping_desired(m, rule, c, &d);
		if (d.opinion && i < 64)
			r->opinions |= (uint64_t)1 << i;
		if (d.invalid) {
			dr = add(r, DRIFT_INVALID_VALUE, rule->to);
			dr->desired = dup0(d.raw);
			dr->why = d.why;
			r->fields_total++;
			desired_free(&d);
			continue;
		}
		if (!d.opinion) {
			desired_free(&d);
			continue;
		}
		if (contact == NULL) {
			/* a create carries every value we have, whatever the owner */
			if (*d.value != '\0')
				want_change(r, rule, d.value);
			desired_free(&d);
			continue;
		}
		r->fields_total++;
		actual = mapping_actual(m, rule, contact);
		if (strcmp(actual, d.value) == 0) {
			r->fields_agree++;
			free(actual);
			desired_free(&d);
			continue;
		}
		b = base_of(base, rule->to);
		dr = add(r, DRIFT_FIELD_MISMATCH, rule->to);
		dr->desired = dup0(d.value);
		dr->actual = dup0(actual);
		dr->base = dup0(b);
		if (mapping_format_only(m, rule, actual, d.value)) {
			/* the right value in a spelling Keap's automations cannot use */
			dr->side = SIDE_KEAP_EDITED;
			dr->why = "format: Keap holds this value in another spelling; rewritten in "
			    "the canonical form";
		} else if (b == NULL || strcmp(actual, b) == 0)
			dr->side = SIDE_ATS_CHANGED;
		else if (strcmp(d.value, b) == 0)
			dr->side = SIDE_KEAP_EDITED;
		else
			dr->side = SIDE_BOTH;
		/* the person's address changed in the ATS: matched by the link or the
		 * external id, the contact follows (Keap's old address is replaced,
		 * never a new contact) */
		if (strncmp(rule->to, "email", 5) == 0 && *actual != '\0' &&
		    dr->side == SIDE_ATS_CHANGED && ((b != NULL && *b != '\0') ||
		    (base != NULL && base->by_id)))
			dr->kind = DRIFT_EMAIL_CHANGED;
		switch (rule->owner) {
		case OWN_ATS:
			dr->repair = 1;
			break;
		case OWN_FILL:
			dr->repair = *actual == '\0';
			if (!dr->repair)
				dr->why = "owner fill: Keap already has a value";
			break;
		case OWN_KEAP:
			dr->why = "owner keap: reported, never written after create";
			break;
		case OWN_CREATE:
			dr->why = "owner create: set on create only";
			break;
		}
		if (dr->repair)
			want_change(r, rule, d.value);
		else
			r->fields_agree++;	/* kept by its owner (keap, create, fill): Keap's value
						 * is the agreed one; reported, not a disagreement */
		free(actual);
		desired_free(&d);
	}
}

static void
diff_stage(const struct mapping *m, const struct candidate *c, const struct diff_tags *tags,
    struct diff_result *r)
{
	int invalid = 0, have = 0;
	const char *want = mapping_stage_tag(m, c, &invalid);
	size_t i;
	struct drift *dr;

	r->stage_ok = 1;
	if (m->tag_category == NULL)
		return;
	if (invalid) {
		dr = add(r, DRIFT_INVALID_VALUE, "stage_tag");
		dr->desired = dup0(c->stage_name ? c->stage_name : c->status);
		dr->why = "no tag is configured for this stage or status (stage_tags)";
		r->stage_ok = 0;
		return;		/* the old tag is left alone */
	}
	if (want == NULL)
		return;
	for (i = 0; tags != NULL && i < tags->nstage; i++)
		have += strcmp(tags->stage[i], want) == 0;
	if (have == 1 && tags->nstage == 1)
		return;
	r->stage_ok = 0;
	dr = add(r, tags != NULL && tags->nstage > 1 ? DRIFT_STAGE_TAG_MULTIPLE : DRIFT_STAGE_TAG_WRONG,
	    "stage_tag");
	dr->desired = xstrdup(want);
	dr->actual = tags != NULL && tags->nstage > 0 ? xstrdup(tags->stage[0]) : NULL;
	dr->repair = 1;
	if (!have)
		r->tag_add = want;
	for (i = 0; tags != NULL && i < tags->nstage; i++)
		if (strcmp(tags->stage[i], want) != 0) {
			r->tag_remove = xrealloc(r->tag_remove, (r->ntag_remove + 1) * sizeof(char *));
			r->tag_remove[r->ntag_remove++] = xstrdup(tags->stage[i]);
		}
}

void
diff_candidate(const struct mapping *m, const struct candidate *c, const struct contact *contact,
    const struct diff_base *base, const struct diff_tags *tags, struct diff_result *r)
{
	memset(r, 0, sizeof(*r));
	if (c->anonymized) {
		/* GDPR: the blanked values are never copied; the lifecycle policy tags it */
		struct drift *dr = add(r, DRIFT_ANONYMIZED, NULL);
		dr->why = "erased in the ATS: its blanked values are not copied";
		r->stage_ok = 1;
		return;
	}
	if (contact == NULL) {
		struct drift *dr = add(r, DRIFT_MISSING_CONTACT, NULL);
		dr->repair = 1;
	}
	diff_fields(m, c, contact, base, r);
	diff_stage(m, c, contact != NULL ? tags : NULL, r);
}

void
diff_result_free(struct diff_result *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->v[i].desired);
		free(r->v[i].actual);
		free(r->v[i].base);
	}
	free(r->v);
	change_free(&r->changes);
	for (i = 0; i < r->ntag_remove; i++)
		free(r->tag_remove[i]);
	free(r->tag_remove);
	memset(r, 0, sizeof(*r));
}
