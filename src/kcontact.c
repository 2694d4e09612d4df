/*
 * kcontact.c — a Keap contact on the wire (kcontact.h): decoding what Keap
 * sends into struct contact (contact.h), and the request bodies made from a
 * struct contact_change (keap_create_body, keap_patch_body: keap.h).
 */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "jtree.h"
#include "keap.h"
#include "kcontact.h"

/* The lists the engine reads and writes: how an item is identified, where its
 * value is, and the properties a write may carry (CreateUpdateContactRequest
 * in swagger.yml), in the order a PATCH body writes them. */
static const struct wire_list {
	enum contact_where where;
	const char *name;
	const char *key;
	const char *value;
	const char *const writable[6];
} wire_lists[] = {
	{ CW_EMAIL, "email_addresses", "field", "email", { "email", "field", "opt_in_reason", NULL } },
	{ CW_PHONE, "phone_numbers", "field", "number",
		{ "number", "extension", "field", "type", "number_e164", NULL } },
	{ CW_CUSTOM, "custom_fields", "id", "content", { "id", "content", NULL } },
};

static const struct wire_list *
wire_list_named(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(wire_lists); i++)
		if (strcmp(wire_lists[i].name, name) == 0)
			return &wire_lists[i];
	return NULL;
}

static const struct wire_list *
wire_list_for(enum contact_where where)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(wire_lists); i++)
		if (wire_lists[i].where == where)
			return &wire_lists[i];
	return NULL;
}

static struct contact_list *
list_of(struct contact *c, enum contact_where where)
{
	return where == CW_EMAIL ? &c->emails : where == CW_PHONE ? &c->phones : &c->customs;
}

static const struct contact_list *
list_of_const(const struct contact *c, enum contact_where where)
{
	return where == CW_EMAIL ? &c->emails : where == CW_PHONE ? &c->phones : &c->customs;
}

/* ---------------------------------------------------------------- decoding */

/* An email's or phone's other writable properties, as an object's text. */
static char *
keep_of(const struct wire_list *wl, const cJSON *item)
{
	cJSON *keep = NULL;
	char *text;
	size_t i;

	for (i = 0; wl->writable[i] != NULL; i++) {
		const char *p = wl->writable[i];
		const cJSON *v;

		if (strcmp(p, wl->key) == 0 || strcmp(p, wl->value) == 0)
			continue;
		v = json_get(item, p);
		if (v == NULL || cJSON_IsNull(v))
			continue;
		if (keep == NULL)
			keep = cJSON_CreateObject();
		cJSON_AddItemToObject(keep, p, cJSON_Duplicate(v, 1));
	}
	if (keep == NULL)
		return NULL;
	text = json_print(keep);
	cJSON_Delete(keep);
	return text;
}

static void
decode_item(const struct wire_list *wl, const cJSON *item, struct contact_list *out)
{
	char num[32], *keep = NULL;
	const char *key, *value = "";
	const cJSON *v;

	if (!cJSON_IsObject(item))
		return;
	key = json_idstr(json_get(item, wl->key), num, sizeof(num));
	if (wl->where == CW_CUSTOM) {
		if (key == NULL || *key == '\0')
			return;	/* a value without its field: nothing can match it */
		v = json_get(item, "content");
		if (cJSON_IsString(v))
			value = v->valuestring;
		else if (v != NULL && !cJSON_IsNull(v))
			value = keep = json_print(v);	/* 42, true, ["C","Go"]: as text, and kept */
	} else {
		if (json_str(item, wl->value) != NULL)
			value = json_str(item, wl->value);
		keep = keep_of(wl, item);
	}
	contact_list_add(out, key != NULL ? key : "", value, keep);
	free(keep);
}

static void
decode_tags(const cJSON *arr, struct contact *out)
{
	const cJSON *t;
	char num[32];

	cJSON_ArrayForEach(t, arr) {
		const char *id = json_idstr(t, num, sizeof(num));

		if (id == NULL || *id == '\0')
			continue;
		out->tag_ids = xrealloc(out->tag_ids, (out->ntags + 1) * sizeof(char *));
		out->tag_ids[out->ntags++] = xstrdup(id);
	}
}

static void
fail(struct buf *err, const char *msg)
{
	if (err != NULL)
		buf_adds(err, msg);
}

enum rc
kcontact_decode(const cJSON *obj, struct contact *out, struct buf *err)
{
	const cJSON *m;
	cJSON *rest = NULL;
	const char *id;
	char num[32], *text;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(obj)) {
		fail(err, "a Keap contact that is not a JSON object");
		return RC_RECORD;
	}
	id = json_idstr(json_get(obj, "id"), num, sizeof(num));
	if (id == NULL || *id == '\0') {
		fail(err, "a Keap contact without an id");
		return RC_RECORD;
	}
	out->id = xstrdup(id);
	/* the hash snap.c always computed: stored snapshots keep matching */
	text = json_print(obj);
	out->hash = codec_fnv1a(text, strlen(text));
	free(text);
	cJSON_ArrayForEach(m, obj) {
		const struct wire_list *wl;
		int p;

		if (m->string == NULL || strcmp(m->string, "id") == 0)
			continue;
		if (cJSON_IsNull(m) && (contact_prop_parse(m->string) >= 0 ||
		    wire_list_named(m->string) != NULL || strcmp(m->string, "tag_ids") == 0))
			continue;	/* the same as absent */
		if ((p = contact_prop_parse(m->string)) >= 0) {
			if (cJSON_IsString(m) && out->prop[p] == NULL) {
				out->prop[p] = xstrdup(m->valuestring);
				continue;
			}
		} else if ((wl = wire_list_named(m->string)) != NULL) {
			if (cJSON_IsArray(m)) {
				const cJSON *it;
				cJSON_ArrayForEach(it, m)
					decode_item(wl, it, list_of(out, wl->where));
				continue;
			}
		} else if (strcmp(m->string, "tag_ids") == 0) {
			if (cJSON_IsArray(m)) {
				decode_tags(m, out);
				continue;
			}
		}
		/* what the engine does not read, or a known key in a shape it cannot */
		if (rest == NULL)
			rest = cJSON_CreateObject();
		cJSON_AddItemToObject(rest, m->string, cJSON_Duplicate(m, 1));
	}
	if (rest != NULL) {
		out->rest = json_print(rest);
		cJSON_Delete(rest);
	}
	return RC_OK;
}

enum rc
contact_from_json(const char *text, size_t len, struct contact *out, struct buf *err)
{
	struct buf perr = BUF_INIT;
	cJSON *j;
	enum rc rc;

	memset(out, 0, sizeof(*out));
	j = text != NULL ? json_parse(text, len, &perr) : NULL;
	if (j == NULL) {
		if (err != NULL)
			buf_addf(err, "not a Keap contact: %s", perr.p != NULL ? perr.p : "no text");
		buf_free(&perr);
		return RC_RECORD;
	}
	rc = kcontact_decode(j, out, err);
	cJSON_Delete(j);
	buf_free(&perr);
	return rc;
}

/* ---------------------------------------------------------------- bodies */

static cJSON *
parse_text(const char *text)
{
	struct buf perr = BUF_INIT;
	cJSON *j = text != NULL ? json_parse(text, strlen(text), &perr) : NULL;

	buf_free(&perr);
	return j;
}

/* An item of the current contact, as it goes back: its writable properties. */
static cJSON *
current_item(const struct wire_list *wl, const struct contact_item *c)
{
	cJSON *out = cJSON_CreateObject(), *keep = parse_text(c->keep);
	size_t i;

	for (i = 0; wl->writable[i] != NULL; i++) {
		const char *p = wl->writable[i];
		const cJSON *v;

		if (strcmp(p, wl->key) == 0) {
			if (c->key[0] != '\0')
				cJSON_AddStringToObject(out, p, c->key);
		} else if (strcmp(p, wl->value) == 0) {
			if (wl->where == CW_CUSTOM && keep != NULL)
				cJSON_AddItemToObject(out, p, cJSON_Duplicate(keep, 1));
			else if (c->value[0] != '\0')
				cJSON_AddStringToObject(out, p, c->value);
			else if (wl->where == CW_CUSTOM)
				cJSON_AddNullToObject(out, p);
		} else if (cJSON_IsObject(keep) && (v = json_get(keep, p)) != NULL && !cJSON_IsNull(v))
			cJSON_AddItemToObject(out, p, cJSON_Duplicate(v, 1));
	}
	cJSON_Delete(keep);
	return out;
}

/* A changed item (cur: the item it replaces, or NULL). Like the old
 * writable_item of {"field":..,"email":..}: the slot's other properties are
 * not carried over (they belonged to the value being replaced, e.g. an
 * extension or the number in E.164). */
static cJSON *
changed_item(const struct wire_list *wl, const struct contact_set *s, const struct contact_item *cur)
{
	cJSON *out = cJSON_CreateObject(), *keep;

	if (wl->where != CW_CUSTOM) {
		cJSON_AddStringToObject(out, wl->value, s->value);
		cJSON_AddStringToObject(out, wl->key, s->key);
		return out;
	}
	cJSON_AddStringToObject(out, "id", s->key);
	if (cur != NULL && cur->keep != NULL && strcmp(cur->value, s->value) == 0 &&
	    (keep = parse_text(cur->keep)) != NULL)
		cJSON_AddItemToObject(out, "content", keep);	/* unchanged: its own JSON type */
	else if (s->value[0] != '\0')
		cJSON_AddStringToObject(out, "content", s->value);
	else
		cJSON_AddNullToObject(out, "content");	/* clearing a custom field */
	return out;
}

static int
is_removal(const struct wire_list *wl, const struct contact_set *s)
{
	return wl->where != CW_CUSTOM && s->value[0] == '\0';
}

/* The full list a PATCH sends: every current item (replaced by its change, or
 * gone when the change removes its slot), then the changed items for slots the
 * contact did not have. */
static cJSON *
merge_list(const struct wire_list *wl, const struct contact_list *cur,
    const struct contact_change *ch)
{
	cJSON *out = cJSON_CreateArray();
	size_t i;

	for (i = 0; cur != NULL && i < cur->n; i++) {
		const struct contact_item *c = &cur->v[i];
		const struct contact_set *s = c->key[0] != '\0' ? change_get(ch, wl->where, c->key) : NULL;

		if (s != NULL && is_removal(wl, s))
			continue;
		cJSON_AddItemToArray(out, s != NULL ? changed_item(wl, s, c) : current_item(wl, c));
	}
	for (i = 0; i < ch->n; i++) {
		const struct contact_set *s = &ch->v[i];

		if (s->where != wl->where)
			continue;
		if (cur != NULL && s->key[0] != '\0' && contact_item(cur, s->key) != NULL)
			continue;	/* merged above */
		if (is_removal(wl, s))
			continue;	/* removing a slot the contact does not have */
		cJSON_AddItemToArray(out, changed_item(wl, s, NULL));
	}
	return out;
}

/* A property into a body, once (the first change of a key wins); "" for no key is skipped. */
static void
put_prop(cJSON *body, const struct contact_set *s)
{
	if (s->key[0] != '\0' && json_get(body, s->key) == NULL)
		cJSON_AddStringToObject(body, s->key, s->value);
}

/* The body's compact text; the tree is freed. */
static char *
body_text(cJSON *body)
{
	char *text = json_print(body);

	cJSON_Delete(body);
	return text;
}

char *
keap_patch_body(const struct contact *current, const struct contact_change *ch)
{
	cJSON *body;
	size_t i;

	if (ch == NULL || ch->n == 0)
		return NULL;
	body = cJSON_CreateObject();
	for (i = 0; i < ch->n; i++) {
		const struct contact_set *s = &ch->v[i];
		const struct wire_list *wl;

		if (s->where == CW_PROP) {
			put_prop(body, s);
			continue;
		}
		if ((wl = wire_list_for(s->where)) == NULL || json_get(body, wl->name) != NULL)
			continue;
		cJSON_AddItemToObject(body, wl->name, merge_list(wl,
		    current != NULL ? list_of_const(current, wl->where) : NULL, ch));
	}
	return body_text(body);
}

char *
keap_create_body(const struct contact_change *ch)
{
	cJSON *body, *arr, *item;
	size_t i;

	if (ch == NULL || ch->n == 0)
		return NULL;
	body = cJSON_CreateObject();
	for (i = 0; i < ch->n; i++) {
		const struct contact_set *s = &ch->v[i];
		const struct wire_list *wl;

		if (s->value[0] == '\0')
			continue;	/* nothing to clear in a new contact */
		if (s->where == CW_PROP) {
			put_prop(body, s);
			continue;
		}
		if ((wl = wire_list_for(s->where)) == NULL)
			continue;
		arr = (cJSON *)json_get(body, wl->name);
		if (arr == NULL)
			arr = cJSON_AddArrayToObject(body, wl->name);
		item = cJSON_CreateObject();
		cJSON_AddStringToObject(item, wl->key, s->key);
		cJSON_AddStringToObject(item, wl->value, s->value);
		cJSON_AddItemToArray(arr, item);
	}
	return body_text(body);
}
