/*
 * contact.c — the typed Keap contact and change (contact.h): ownership and
 * lookups. The wire form is kcontact.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "contact.h"

static const char *const prop_names[CP__MAX] = {
	"given_name", "family_name", "middle_name", "preferred_name", "job_title"
};

int
contact_prop_parse(const char *name)
{
	int i;

	for (i = 0; name != NULL && i < CP__MAX; i++)
		if (strcmp(prop_names[i], name) == 0)
			return i;
	return -1;
}

const char *
contact_prop_name(enum contact_prop p)
{
	return (unsigned)p < CP__MAX ? prop_names[p] : "?";
}

static void
list_free(struct contact_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
		free(l->v[i].keep);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void
contact_free(struct contact *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->id);
	for (i = 0; i < CP__MAX; i++)
		free(c->prop[i]);
	list_free(&c->emails);
	list_free(&c->phones);
	list_free(&c->customs);
	strv_free(c->tag_ids, c->ntags);
	free(c->rest);
	memset(c, 0, sizeof(*c));
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

void
contact_list_add(struct contact_list *l, const char *key, const char *value, const char *keep)
{
	struct contact_item *it;

	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	it = &l->v[l->n++];
	it->key = xstrdup(key != NULL ? key : "");
	it->value = xstrdup(value != NULL ? value : "");
	it->keep = dup_or_null(keep);
}

static void
list_copy(struct contact_list *dst, const struct contact_list *src)
{
	size_t i;

	memset(dst, 0, sizeof(*dst));
	for (i = 0; i < src->n; i++)
		contact_list_add(dst, src->v[i].key, src->v[i].value, src->v[i].keep);
}

void
contact_copy(struct contact *dst, const struct contact *src)
{
	size_t i;

	memset(dst, 0, sizeof(*dst));
	dst->id = dup_or_null(src->id);
	for (i = 0; i < CP__MAX; i++)
		dst->prop[i] = dup_or_null(src->prop[i]);
	list_copy(&dst->emails, &src->emails);
	list_copy(&dst->phones, &src->phones);
	list_copy(&dst->customs, &src->customs);
	if (src->ntags > 0) {
		dst->tag_ids = xcalloc(src->ntags, sizeof(char *));
		for (i = 0; i < src->ntags; i++)
			dst->tag_ids[i] = xstrdup(src->tag_ids[i]);
	}
	dst->ntags = src->ntags;
	dst->rest = dup_or_null(src->rest);
	dst->hash = src->hash;
}

const struct contact_item *
contact_item(const struct contact_list *l, const char *key)
{
	size_t i;

	for (i = 0; key != NULL && i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0)
			return &l->v[i];
	return NULL;
}

void
contact_extid(const struct contact *c, const char *custom_field_id, struct buf *out)
{
	const struct contact_item *cf =
	    custom_field_id != NULL ? contact_item(&c->customs, custom_field_id) : NULL;
	const char *v;
	size_t len = 0;

	buf_reset(out);
	v = cf != NULL && cf->value != NULL ? str_trim(cf->value, &len) : NULL;
	buf_add(out, v != NULL ? v : "", v != NULL ? len : 0);	/* (never a NULL text) */
}

int
contact_has_tag(const struct contact *c, const char *tag_id)
{
	size_t i;

	for (i = 0; tag_id != NULL && i < c->ntags; i++)
		if (strcmp(c->tag_ids[i], tag_id) == 0)
			return 1;
	return 0;
}

int
contact_set_tag(struct contact *c, const char *tag_id, int apply)
{
	size_t i, j = 0;
	int changed = 0;

	if (apply) {
		if (contact_has_tag(c, tag_id))
			return 0;
		c->tag_ids = xrealloc(c->tag_ids, (c->ntags + 1) * sizeof(char *));
		c->tag_ids[c->ntags++] = xstrdup(tag_id);
		return 1;
	}
	for (i = 0; i < c->ntags; i++) {
		if (strcmp(c->tag_ids[i], tag_id) == 0) {
			free(c->tag_ids[i]);
			changed = 1;
			continue;
		}
		c->tag_ids[j++] = c->tag_ids[i];
	}
	c->ntags = j;
	return changed;
}

void
change_set(struct contact_change *ch, enum contact_where where, const char *key, const char *value)
{
	struct contact_set *s = (struct contact_set *)change_get(ch, where, key);

	if (s != NULL) {
		free(s->value);
		s->value = xstrdup(value != NULL ? value : "");
		return;
	}
	if (ch->n == ch->cap) {
		ch->cap = ch->cap ? 2 * ch->cap : 4;
		ch->v = xrealloc(ch->v, ch->cap * sizeof(*ch->v));
	}
	s = &ch->v[ch->n++];
	s->where = where;
	s->key = xstrdup(key != NULL ? key : "");
	s->value = xstrdup(value != NULL ? value : "");
}

const struct contact_set *
change_get(const struct contact_change *ch, enum contact_where where, const char *key)
{
	size_t i;

	for (i = 0; key != NULL && i < ch->n; i++)
		if (ch->v[i].where == where && strcmp(ch->v[i].key, key) == 0)
			return &ch->v[i];
	return NULL;
}

void
change_free(struct contact_change *ch)
{
	size_t i;

	if (ch == NULL)
		return;
	for (i = 0; i < ch->n; i++) {
		free(ch->v[i].key);
		free(ch->v[i].value);
	}
	free(ch->v);
	memset(ch, 0, sizeof(*ch));
}
