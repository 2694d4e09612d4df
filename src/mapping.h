/*
 * mapping.h — candidate → desired Keap state (pure: no I/O).
 *
 * The "fields" section of the configuration is a list of rules, each a
 * canonical field (or a constant), a Keap target, an owner, an optional enum
 * map and a null rule:
 *
 *   { "from": "source", "to": "custom:ATS Source", "owner": "ats",
 *     "map": { "LinkedIn Recruiter": "LinkedIn" }, "null": "skip" }
 *
 * from:  first_name last_name preferred_name email email2 email3 phone phone2
 *        phone3 company title stage status job source referrer applied_at
 *        created_at updated_at id, or custom:<key> (the source's custom field)
 * to:    given_name family_name middle_name preferred_name job_title,
 *        email:EMAIL1..3, phone:PHONE1..5, custom:<Keap field label>
 * owner: ats (the ATS wins; Keap edits are drift and are overwritten), keap
 *        (never written after create; differences only reported), fill (written
 *        only while Keap is empty), create (set on create only). Default ats.
 * null:  skip (default: an empty ATS value leaves Keap alone) or clear.
 * confirm: ["LinkedIn (Prospecting)", ...]: map keys whose value `atsrecon
 *        init` guessed; they work as mapped, and doctor warns, naming them,
 *        until a person checks them and removes the list.
 *
 * Values are written in one canonical form per target: emails lowercased,
 * phones E.164, names and text trimmed with whitespace collapsed, Keap DATE
 * fields YYYY-MM-DD and DATE_TIME fields whole-second RFC 3339 UTC, choice
 * fields (DROPDOWN, RADIO) one of the field's options. A value that cannot
 * take that form is invalid: reported, never written. Keap's side is compared
 * as Keap's automations read it (DESIGN.md §4): phones and DATE fields must
 * be stored exactly in that form (another spelling is drift), emails compare
 * without case, names after whitespace folding, DATE_TIME at the second.
 *
 * "stage_tags": { "category": "ATS Stage", "by_status": {"hired": "..."},
 * "by_stage": {"Recruiter Screen": "..."} } picks exactly one tag of the
 * category per candidate: first by status, then by stage name; a stage with no
 * tag is invalid (reported; the contact's old tag is left alone).
 */
#ifndef ATSRECON_MAPPING_H
#define ATSRECON_MAPPING_H

#include <stddef.h>

#include "ats.h"
#include "contact.h"
#include "model.h"
#include "util.h"

struct config;

enum map_owner { OWN_ATS, OWN_KEAP, OWN_FILL, OWN_CREATE };
enum map_target { TGT_TEXT, TGT_EMAIL, TGT_PHONE, TGT_CUSTOM };

struct map_rule {
	char *from;		/* canonical field; NULL when constant */
	char *constant;
	char *to;		/* as configured */
	enum map_target tgt;
	char *key;		/* Keap property, slot (EMAIL1, PHONE2) or custom label */
	enum map_owner owner;
	int null_clear;
	char **map_from, **map_to;
	size_t nmap;
	char **confirm;		/* map keys a person must still confirm (written by init) */
	size_t nconfirm;
	int line;		/* in the config file */
	/* resolved against Keap's model (TGT_CUSTOM) */
	char *custom_id;
	char *custom_type;	/* TEXT, DATE, DATE_TIME, DROPDOWN, ... */
	char **options;
	size_t noptions;
};

struct map_kv {
	char *k, *v;
};

struct mapping {
	struct map_rule *rules;
	size_t n;
	char *tag_category;		/* NULL: no stage tags */
	struct map_kv *by_status, *by_stage;
	size_t nby_status, nby_stage;
	const char *region;		/* phone.default_region (borrowed from the config) */
};

/* Reads "fields" and "stage_tags" (mapcfg.c, the configuration's side); errors are
 * "file:line: fields[i].key: ...". */
enum rc mapping_load(struct mapping *, const struct config *, struct buf *err);
/* Resolves custom-field labels to ids, types and options; a label Keap does not
 * have, or a map value that is not one of a choice field's options, is an error. */
enum rc mapping_resolve(struct mapping *, const struct keap_model *, struct buf *err);
void mapping_free(struct mapping *);

/* What the ATS says a field should be. */
struct desired {
	int opinion;		/* 0: nothing to say (empty and null = skip) */
	char *value;		/* canonical; "" = clear */
	int invalid;		/* the ATS value cannot be written */
	char *raw;		/* the value before the transform (for reports) */
	const char *why;
};
void mapping_desired(const struct mapping *, const struct map_rule *, const struct candidate *,
    struct desired *);
void desired_free(struct desired *);

/* The contact's current value of the rule's target, in the same canonical form
 * ("" when empty; an unreadable Keap value is returned as it is). Caller frees. */
char *mapping_actual(const struct mapping *, const struct map_rule *, const struct contact *contact);

/* 1 when the contact's stored value (as mapping_actual returns it) differs
 * from desired only in its spelling: "(415) 555-0100" for "+14155550100",
 * "01/27/2025" for "2025-01-27" (a "format" drift: Keap holds the right value
 * in a form its automations cannot use). */
int mapping_format_only(const struct mapping *, const struct map_rule *, const char *actual,
    const char *desired);

/* Sets the rule's target to "value" in a change ("" clears it; keap.c makes
 * the request body, merging lists). */
void mapping_put(const struct map_rule *, const char *value, struct contact_change *);

/* The stage tag the candidate should carry; NULL when none. *invalid is set
 * when the candidate has a stage or status that no tag is configured for. */
const char *mapping_stage_tag(const struct mapping *, const struct candidate *, int *invalid);

#endif
