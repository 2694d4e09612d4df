/*
 * contact.h — a Keap contact and a change to one, as the engine sees them:
 * typed, no JSON (issue 17 item 2).
 *
 * keap.c (through kcontact.c) decodes each contact Keap sends once into
 * struct contact, and is the only code that turns a struct contact_change
 * into a request body: a PATCH carries the FULL merged list for any list it
 * touches (Keap replaces lists whole), so the body is made from the change and
 * the contact it was planned against (keap_patch_body).
 *
 * Values are as Keap holds them (not canonical): mapping.c reads them through
 * mapping_actual. The snapshot stores contacts with codec.c (snap.c).
 */
#ifndef ATSRECON_CONTACT_H
#define ATSRECON_CONTACT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* The single-valued properties the mapping can target (mapping.h "to"). */
enum contact_prop {
	CP_GIVEN_NAME, CP_FAMILY_NAME, CP_MIDDLE_NAME, CP_PREFERRED_NAME, CP_JOB_TITLE, CP__MAX
};
/* "given_name" → CP_GIVEN_NAME; -1 for a name that is not one. */
int contact_prop_parse(const char *name);
const char *contact_prop_name(enum contact_prop);

/* One item of a Keap list (email_addresses, phone_numbers, custom_fields). */
struct contact_item {
	char *key;		/* "EMAIL1", "PHONE2", or the custom field's id */
	char *value;		/* the email, the number, the custom content as text
				 * ("" when null or absent) */
	char *keep;		/* kcontact.c's own: the item's other writable
				 * properties (extension, type, opt_in_reason, a
				 * non-text content) as it read them; NULL: none */
};
struct contact_list {
	struct contact_item *v;
	size_t n;
};

struct contact {
	char *id;
	char *prop[CP__MAX];		/* NULL: absent */
	struct contact_list emails, phones, customs;
	char **tag_ids;
	size_t ntags;
	char *rest;		/* kcontact.c's own: what the engine does not read
				 * (addresses, company, times), kept for the snapshot */
	uint64_t hash;		/* content hash of the contact as Keap sent it
				 * (the plan's precondition; 0: unknown) */
};

void contact_free(struct contact *);
/* A deep copy. */
void contact_copy(struct contact *dst, const struct contact *src);
/* The item with this key, or NULL. */
const struct contact_item *contact_item(const struct contact_list *, const char *key);
/* The external id the contact carries in that custom field, as a person may
 * have typed it less surrounding blanks, into out ("" for none or no field). */
void contact_extid(const struct contact *, const char *custom_field_id, struct buf *out);
int contact_has_tag(const struct contact *, const char *tag_id);
/* Adds (apply) or removes one tag id; returns 1 when the list changed. */
int contact_set_tag(struct contact *, const char *tag_id, int apply);
/* Adds one item (copies key, value, keep). */
void contact_list_add(struct contact_list *, const char *key, const char *value, const char *keep);

/* Where a change writes. */
enum contact_where { CW_PROP, CW_EMAIL, CW_PHONE, CW_CUSTOM };

/* One value to write: a property (key its name, "given_name"), a list slot
 * (key "EMAIL1", "PHONE2") or a custom field (key its id); value "" clears
 * it (a list slot is removed, a property or custom field set empty/null). */
struct contact_set {
	enum contact_where where;
	char *key;
	char *value;
};
/* The fields one write sets, in the order they were set. */
struct contact_change {
	struct contact_set *v;
	size_t n, cap;
};
/* Sets where/key to value, replacing an earlier value for the same place. */
void change_set(struct contact_change *, enum contact_where, const char *key, const char *value);
const struct contact_set *change_get(const struct contact_change *, enum contact_where,
    const char *key);
void change_free(struct contact_change *);

/*
 * The wire form (kcontact.c): a contact from the JSON text Keap sends (one
 * contact object). The hash is over the contact's compact JSON, as it always
 * was (stored snapshots keep matching). RC_RECORD with a message when the text
 * is not a contact with an id.
 */
enum rc contact_from_json(const char *text, size_t len, struct contact *out, struct buf *err);

#endif
