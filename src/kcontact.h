/*
 * kcontact.h — the wire form of a Keap contact (contact.h), private to keap.c
 * and kcontact.c: a contact object Keap sent → struct contact, and a change →
 * a request body (keap_create_body, keap_patch_body in keap.h are defined in
 * kcontact.c).
 *
 * The two strings of struct contact that are kcontact.c's own, as it writes
 * them (and reads them back, whoever stored them in between):
 *
 *   contact_item.keep, email and phone items: a compact JSON object of the
 *     item's other writable properties as Keap sent them, null ones left out
 *     (email: opt_in_reason; phone: extension, type, number_e164), e.g.
 *     {"extension":"12","type":"Mobile"}; NULL when there are none.
 *   contact_item.keep, custom fields: the compact JSON of a content that is
 *     not a string or null (a number, a bool, a list, an object), e.g. 42,
 *     true, ["C","Go"]; the item's value is the same text. NULL for text.
 *   contact.rest: a compact JSON object of every member of the contact the
 *     struct has no place for (addresses, company, create_time, update_time,
 *     unknown keys, and a known key holding an unexpected type, e.g. a number
 *     given_name), in Keap's order; NULL when there is none.
 *
 * Text that does not parse where kcontact.c expects JSON (a damaged store) is
 * ignored: an item is written from its key and value alone.
 */
#ifndef ATSRECON_KCONTACT_H
#define ATSRECON_KCONTACT_H

#include "contact.h"
#include "json.h"

/* One contact object as Keap sent it into *out (zeroed first; contact_free).
 * RC_RECORD, with a message in err (optional), when obj is not an object or
 * has no usable id (a non-empty string, or an integer). */
enum rc kcontact_decode(const struct cJSON *obj, struct contact *out, struct buf *err);

#endif
