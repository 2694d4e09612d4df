/* Unit tests: diff.c (3-way compare, owners, sides, stage tags, lifecycle). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "diff.h"
#include "log.h"
#include "rules.h"
#include "t.h"

static struct mapping m;

static void
cand(struct candidate *c, const char *first, const char *email, const char *stage)
{
	const char *e[] = { email };

	memset(c, 0, sizeof(*c));
	c->id = xstrdup("7");
	c->first_name = xstrdup(first);
	c->last_name = xstrdup("Doe");
	candidate_set_emails(c, e, 1, 0);
	candidate_add_phone(c, "415.555.0100", "US");
	c->title = xstrdup("Engineer");
	c->source = xstrdup("LinkedIn");
	c->company = xstrdup("Acme");
	c->status = xstrdup("active");
	c->stage_name = xstrdup(stage);
}

static const struct drift *
find(const struct diff_result *r, enum drift_kind k, const char *field)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->v[i].kind == k && str_eq(r->v[i].field, field))
			return &r->v[i];
	return NULL;
}

#define CONTACT(first, last, email, phone, title, src, pref) \
	"{\"given_name\":\"" first "\",\"family_name\":\"" last "\",\"preferred_name\":\"" pref "\"," \
	"\"job_title\":\"" title "\",\"email_addresses\":[{\"email\":\"" email "\",\"field\":\"EMAIL1\"}]," \
	"\"phone_numbers\":[{\"number\":\"" phone "\",\"field\":\"PHONE1\"}]," \
	"\"custom_fields\":[{\"id\":\"13\",\"content\":\"" src "\"}]}"

int
main(void)
{
	struct config cfg;
	struct candidate c;
	struct diff_result r;
	const struct drift *d;
	struct contact *k;
	const char *screen[] = { "ATS: Screen" }, *two[] = { "ATS: Screen", "ATS: Onsite" };
	const char *onsite[] = { "ATS: Onsite" };
	struct diff_tags tags_ok = { screen, 1 }, tags_two = { two, 2 }, tags_wrong = { onsite, 1 };
	const char *bk[] = { "given_name" }, *bv_old[] = { "Jane" }, *bv_new[] = { "Janet" };
	struct diff_base base_old = { bk, bv_old, 1, 0 }, base_new = { bk, bv_new, 1, 0 };

	json_init();
	log_init(LOG_ERROR, LOG_FMT_TEXT);
	rules_load(&cfg, &m);

	/* in sync, with noise only (email case and spacing in Keap, the ATS's
	 * phone spelling "415.555.0100"): nothing to do */
	cand(&c, "Jane", "jane@x.com", "Screen");
	k = ct_new(CONTACT("Jane ", "Doe", "JANE@X.COM", "+14155550100", "Engineer", "LinkedIn", "Acme"));
	diff_candidate(&m, &c, k, NULL, &tags_ok, &r);
	CHECK(r.n == 0 && r.changes.n == 0 && r.tag_add == NULL && r.ntag_remove == 0);
	CHECK(r.fields_total == 7 && r.fields_agree == 7 && r.stage_ok);
	CHECK(r.opinions == 0x7f);	/* every rule had an opinion (the accuracy counts read it) */
	diff_result_free(&r);
	/* a phone typed the local way in Keap: drift on the Keap side, reason
	 * format, rewritten in E.164 (SMS automations read the stored text) */
	{
		struct contact *k2 = ct_new(CONTACT("Jane", "Doe", "jane@x.com", "(415) 555-0100", "Engineer",
		    "LinkedIn", "Acme"));
		diff_candidate(&m, &c, k2, NULL, &tags_ok, &r);
		d = find(&r, DRIFT_FIELD_MISMATCH, "phone:PHONE1");
		CHECK(r.n == 1 && d != NULL && d->side == SIDE_KEAP_EDITED && d->repair);
		CHECK(d != NULL && d->why != NULL && strncmp(d->why, "format", 6) == 0);
		CHECK_STR(chg(&r.changes, CW_PHONE, "PHONE1"), "+14155550100");
		CHECK(r.fields_agree == 6);
		diff_result_free(&r);
		ct_del(k2);
	}
	/* a difference the rule's owner keeps (preferred_name: owner create) is
	 * reported, never written, and counts as agreement: Keap's value is the
	 * agreed one */
	{
		struct contact *k4 = ct_new(CONTACT("Jane", "Doe", "jane@x.com", "+14155550100", "Engineer",
		    "LinkedIn", "Someone Else Inc"));
		diff_candidate(&m, &c, k4, NULL, &tags_ok, &r);
		d = find(&r, DRIFT_FIELD_MISMATCH, "preferred_name");
		CHECK(d != NULL && !d->repair && r.changes.n == 0);
		CHECK(r.fields_total == 7 && r.fields_agree == 7);
		diff_result_free(&r);
		ct_del(k4);
	}
	/* matched by the external id with another email: the ATS changed the
	 * address (email_changed), even without a base (a Keap another tool filled) */
	{
		struct contact *k3 = ct_new(CONTACT("Jane", "Doe", "jane.old@x.com", "+14155550100", "Engineer",
		    "LinkedIn", "Acme"));
		struct diff_base byid = { NULL, NULL, 0, 1 };
		diff_candidate(&m, &c, k3, &byid, &tags_ok, &r);
		d = find(&r, DRIFT_EMAIL_CHANGED, "email:EMAIL1");
		CHECK(d != NULL && d->repair && str_eq(d->desired, "jane@x.com"));
		diff_result_free(&r);
		diff_candidate(&m, &c, k3, NULL, &tags_ok, &r);	/* found by email: a mismatch */
		CHECK(find(&r, DRIFT_EMAIL_CHANGED, "email:EMAIL1") == NULL &&
		    find(&r, DRIFT_FIELD_MISMATCH, "email:EMAIL1") != NULL);
		diff_result_free(&r);
		ct_del(k3);
	}

	/* the ATS changed the first name (Keap still holds the agreed value) */
	free(c.first_name);
	c.first_name = xstrdup("Janet");
	diff_candidate(&m, &c, k, &base_old, &tags_ok, &r);
	d = find(&r, DRIFT_FIELD_MISMATCH, "given_name");
	CHECK(d != NULL && d->side == SIDE_ATS_CHANGED && d->repair);
	CHECK(r.changes.n > 0 && str_eq(chg(&r.changes, CW_PROP, "given_name"), "Janet"));
	CHECK(r.fields_agree == 6);
	diff_result_free(&r);
	/* someone edited Keap (the ATS still holds the agreed value) */
	diff_candidate(&m, &c, k, &base_new, &tags_ok, &r);
	d = find(&r, DRIFT_FIELD_MISMATCH, "given_name");
	CHECK(d != NULL && d->side == SIDE_KEAP_EDITED && d->repair);
	diff_result_free(&r);
	/* both moved */
	{
		const char *bv[] = { "Joan" };
		struct diff_base b3 = { bk, bv, 1, 0 };
		diff_candidate(&m, &c, k, &b3, &tags_ok, &r);
		d = find(&r, DRIFT_FIELD_MISMATCH, "given_name");
		CHECK(d != NULL && d->side == SIDE_BOTH);
		diff_result_free(&r);
	}
	ct_del(k);

	/* owners: keap reported only; fill written only into an empty field; create never */
	k = ct_new(CONTACT("Janet", "Smith", "jane@x.com", "+14155550100", "Boss", "LinkedIn", "Other"));
	diff_candidate(&m, &c, k, NULL, &tags_ok, &r);
	d = find(&r, DRIFT_FIELD_MISMATCH, "family_name");
	CHECK(d != NULL && !d->repair);
	d = find(&r, DRIFT_FIELD_MISMATCH, "job_title");
	CHECK(d != NULL && !d->repair);
	d = find(&r, DRIFT_FIELD_MISMATCH, "preferred_name");
	CHECK(d != NULL && !d->repair);
	CHECK(r.changes.n == 0);	/* nothing to write */
	diff_result_free(&r);
	ct_del(k);
	k = ct_new(CONTACT("Janet", "Doe", "jane@x.com", "+14155550100", "", "LinkedIn", "Acme"));
	diff_candidate(&m, &c, k, NULL, &tags_ok, &r);
	d = find(&r, DRIFT_FIELD_MISMATCH, "job_title");
	CHECK(d != NULL && d->repair && str_eq(chg(&r.changes, CW_PROP, "job_title"), "Engineer"));
	diff_result_free(&r);

	/* an invalid ATS value: reported, never written */
	free(c.source);
	c.source = xstrdup("Carrier Pigeon");
	diff_candidate(&m, &c, k, NULL, &tags_ok, &r);
	d = find(&r, DRIFT_INVALID_VALUE, "custom:ATS Source");
	CHECK(d != NULL && !d->repair && str_eq(d->desired, "Carrier Pigeon"));
	CHECK(!chg_has(&r.changes, CW_CUSTOM));
	diff_result_free(&r);
	free(c.source);
	c.source = xstrdup("LinkedIn");

	/* stage tags: wrong, two of the category, no tag configured */
	diff_candidate(&m, &c, k, NULL, &tags_wrong, &r);
	d = find(&r, DRIFT_STAGE_TAG_WRONG, "stage_tag");
	CHECK(d != NULL && d->repair && str_eq(r.tag_add, "ATS: Screen") && r.ntag_remove == 1 &&
	    str_eq(r.tag_remove[0], "ATS: Onsite") && !r.stage_ok);
	diff_result_free(&r);
	diff_candidate(&m, &c, k, NULL, &tags_two, &r);
	CHECK(find(&r, DRIFT_STAGE_TAG_MULTIPLE, "stage_tag") != NULL && r.tag_add == NULL &&
	    r.ntag_remove == 1 && str_eq(r.tag_remove[0], "ATS: Onsite"));
	diff_result_free(&r);
	free(c.stage_name);
	c.stage_name = xstrdup("Reference Check");
	diff_candidate(&m, &c, k, NULL, &tags_wrong, &r);
	d = find(&r, DRIFT_INVALID_VALUE, "stage_tag");
	CHECK(d != NULL && !d->repair && r.tag_add == NULL && r.ntag_remove == 0);	/* old tag left alone */
	diff_result_free(&r);
	free(c.status);
	c.status = xstrdup("hired");
	diff_candidate(&m, &c, k, NULL, &tags_wrong, &r);
	CHECK(str_eq(r.tag_add, "ATS: Hired"));		/* status before stage */
	diff_result_free(&r);
	ct_del(k);

	/* no contact: a create body with every value */
	diff_candidate(&m, &c, NULL, NULL, NULL, &r);
	CHECK(find(&r, DRIFT_MISSING_CONTACT, NULL) != NULL);
	CHECK(str_eq(chg(&r.changes, CW_PROP, "given_name"), "Janet") && str_eq(chg(&r.changes, CW_PROP, "preferred_name"), "Acme"));
	CHECK(chg_has(&r.changes, CW_EMAIL) && str_eq(r.tag_add, "ATS: Hired"));
	diff_result_free(&r);

	/* anonymised: nothing is copied */
	c.anonymized = 1;
	diff_candidate(&m, &c, NULL, NULL, NULL, &r);
	CHECK(r.n == 1 && r.v[0].kind == DRIFT_ANONYMIZED && r.changes.n == 0 && r.tag_add == NULL);
	diff_result_free(&r);
	CHECK(str_eq(drift_kind_str(DRIFT_CONTACT_DELETED_IN_KEAP), "contact_deleted_in_keap"));
	CHECK(str_eq(drift_side_str(SIDE_KEAP_EDITED), "keap_edited"));

	candidate_free(&c);
	mapping_free(&m);
	config_free(&cfg);
	return t_done("test_diff");
}
