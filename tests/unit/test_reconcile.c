/*
 * Unit tests: reconcile.c — the decision for one candidate, table-driven:
 * candidate + contacts + lifecycle + base → drift rows, ops and what to
 * record. Every drift kind the engine builds, every owner, every lifecycle
 * policy. No state, no network: runs in milliseconds.
 *
 * Expected rows: "kind[:field][+]" ('+': planned, a repair), space-separated.
 * Expected ops:  "op_kind[:tag][!][reason,...]" ('!': archive), space-separated.
 * Expected flags: any of "link unlink forget agreed stamp", space-separated.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "keap.h"
#include "log.h"
#include "reconcile.h"
#include "rules.h"
#include "t.h"

/* A contact in agreement with the default candidate, with field overrides. */
#define CONTACT(first, last, email, phone, title, src, pref) \
	"{\"id\":\"501\",\"given_name\":\"" first "\",\"family_name\":\"" last "\"," \
	"\"preferred_name\":\"" pref "\",\"job_title\":\"" title "\"," \
	"\"email_addresses\":[{\"email\":\"" email "\",\"field\":\"EMAIL1\"}]," \
	"\"phone_numbers\":[{\"number\":\"" phone "\",\"field\":\"PHONE1\"}]," \
	"\"custom_fields\":[{\"id\":\"13\",\"content\":\"" src "\"}]}"
#define AGREE CONTACT("Jane", "Doe", "jane@x.com", "+14155550100", "Engineer", "LinkedIn", "Acme")

enum cand_kind { C_PLAIN, C_NO_POINTS, C_BAD_SOURCE, C_NEW_EMAIL, C_ANON };

struct tcase {
	const char *name;
	enum cand_kind cand;
	const char *contact;		/* JSON of contacts[0], or NULL: no contact */
	const char *tags;		/* its tag names, comma-separated ("" none) */
	const char *stage;		/* its stage tag names, comma-separated */
	int ndups;			/* more contacts (ids 601, 602…) */
	const char *dup_tags;		/* the duplicates' tag names */
	const char *how;
	enum rec_life life;
	int survivor_takes;
	int linked_gone;
	int has_ext;
	const char *base;		/* JSON, or NULL */
	const char *deletes;		/* lifecycle.deletes (NULL: "tag") */
	const char *want_rows, *want_ops, *want_flags;
};

static const struct tcase cases[] = {
	{ "in agreement, new base", C_PLAIN, AGREE, "", "ATS: Screen", 0, "", "link", REC_LIVE, 0, 0, 1,
	  NULL, NULL, "", "", "agreed stamp" },
	{ "in agreement, found by email: linked", C_PLAIN, AGREE, "", "ATS: Screen", 0, "", "email",
	  REC_LIVE, 0, 0, 1, NULL, NULL, "", "", "link agreed stamp" },
	{ "external id missing: written (link)", C_PLAIN, AGREE, "", "ATS: Screen", 0, "", "link",
	  REC_LIVE, 0, 0, 0, NULL, NULL, "", "patch_contact[link:external_id]", "agreed stamp" },
	{ "missing_contact: create", C_PLAIN, NULL, "", "", 0, "", NULL, REC_LIVE, 0, 0, 0, NULL, NULL,
	  "missing_contact+ stage_tag_wrong:stage_tag+",
	  "upsert_contact[missing_contact] apply_tag:ATS: Screen[stage_tag]", "" },
	{ "no email, no phone: invalid, nothing created", C_NO_POINTS, NULL, "", "", 0, "", NULL,
	  REC_LIVE, 0, 0, 0, NULL, NULL, "invalid_value:email missing_contact+ stage_tag_wrong:stage_tag+",
	  "apply_tag:ATS: Screen[stage_tag]", "" },
	{ "owner ats: field_mismatch repaired", C_PLAIN,
	  CONTACT("Janet", "Doe", "jane@x.com", "+14155550100", "Engineer", "LinkedIn", "Acme"), "",
	  "ATS: Screen", 0, "", "link", REC_LIVE, 0, 0, 1, NULL, NULL, "field_mismatch:given_name+",
	  "patch_contact[field_mismatch:given_name]", "" },
	{ "owner keap: reported only", C_PLAIN,
	  CONTACT("Jane", "Smith", "jane@x.com", "+14155550100", "Engineer", "LinkedIn", "Acme"), "",
	  "ATS: Screen", 0, "", "link", REC_LIVE, 0, 0, 1, NULL, NULL, "field_mismatch:family_name",
	  "", "" },
	{ "owner fill, Keap empty: written", C_PLAIN,
	  CONTACT("Jane", "Doe", "jane@x.com", "+14155550100", "", "LinkedIn", "Acme"), "",
	  "ATS: Screen", 0, "", "link", REC_LIVE, 0, 0, 1, NULL, NULL, "field_mismatch:job_title+",
	  "patch_contact[field_mismatch:job_title]", "" },
	{ "owner fill, Keap has a value: reported", C_PLAIN,
	  CONTACT("Jane", "Doe", "jane@x.com", "+14155550100", "Manager", "LinkedIn", "Acme"), "",
	  "ATS: Screen", 0, "", "link", REC_LIVE, 0, 0, 1, NULL, NULL, "field_mismatch:job_title", "",
	  "" },
	{ "owner create: reported on an existing contact", C_PLAIN,
	  CONTACT("Jane", "Doe", "jane@x.com", "+14155550100", "Engineer", "LinkedIn", "Other"), "",
	  "ATS: Screen", 0, "", "link", REC_LIVE, 0, 0, 1, NULL, NULL, "field_mismatch:preferred_name",
	  "", "" },
	{ "invalid_value: never written", C_BAD_SOURCE, AGREE, "", "ATS: Screen", 0, "", "link",
	  REC_LIVE, 0, 0, 1, NULL, NULL, "invalid_value:custom:ATS Source", "", "" },
	{ "stage_tag_wrong", C_PLAIN, AGREE, "ATS: Onsite", "ATS: Onsite", 0, "", "link", REC_LIVE, 0,
	  0, 1, NULL, NULL, "stage_tag_wrong:stage_tag+",
	  "apply_tag:ATS: Screen[stage_tag] remove_tag:ATS: Onsite[stage_tag]", "" },
	{ "stage_tag_multiple", C_PLAIN, AGREE, "ATS: Screen,ATS: Onsite", "ATS: Screen,ATS: Onsite", 0,
	  "", "link", REC_LIVE, 0, 0, 1, NULL, NULL, "stage_tag_multiple:stage_tag+",
	  "remove_tag:ATS: Onsite[stage_tag]", "" },
	{ "email_changed (found by link, base had the old address)", C_NEW_EMAIL, AGREE, "",
	  "ATS: Screen", 0, "", "link", REC_LIVE, 0, 0, 1, "{\"email:EMAIL1\":\"jane@x.com\"}", NULL,
	  "email_changed:email:EMAIL1+", "patch_contact[email_changed:email:EMAIL1]", "" },
	{ "duplicate_contacts: the others tagged", C_PLAIN, AGREE, "", "ATS: Screen", 2, "", "link",
	  REC_LIVE, 0, 0, 1, NULL, NULL, "duplicate_contacts duplicate_contacts+ duplicate_contacts+",
	  "apply_tag:Dup[duplicate_contacts] apply_tag:Dup[duplicate_contacts]", "agreed" },
	{ "duplicate_contacts: tagged already", C_PLAIN, AGREE, "", "ATS: Screen", 1, "Dup", "link",
	  REC_LIVE, 0, 0, 1, NULL, NULL, "duplicate_contacts", "", "agreed" },
	{ "anonymized: tagged, nothing copied", C_ANON, AGREE, "", "ATS: Screen", 0, "", "link",
	  REC_LIVE, 0, 0, 1, NULL, NULL, "anonymized+", "apply_tag:Anon[anonymized]", "" },
	{ "anonymized, tagged already", C_ANON, AGREE, "Anon", "ATS: Screen", 0, "", "link", REC_LIVE, 0,
	  0, 1, NULL, NULL, "", "", "" },
	{ "anonymized without a contact: reported", C_ANON, NULL, "", "", 0, "", NULL, REC_LIVE, 0, 0, 0,
	  NULL, NULL, "anonymized", "", "" },
	{ "contact_deleted_in_keap: reported, not recreated", C_PLAIN, NULL, "", "", 0, "", NULL,
	  REC_LIVE, 0, 1, 0, NULL, NULL, "contact_deleted_in_keap", "", "" },
	{ "deleted_in_ats, policy tag: archived", C_PLAIN, AGREE, "", "", 0, "", "link", REC_DELETED, 0,
	  0, 1, NULL, "tag", "deleted_in_ats+", "apply_tag:Gone![deleted_in_ats]", "" },
	{ "deleted_in_ats, archived already: forgotten", C_PLAIN, AGREE, "Gone", "", 0, "", "link",
	  REC_DELETED, 0, 0, 1, NULL, "tag", "", "", "forget" },
	{ "deleted_in_ats, no contact: forgotten", C_PLAIN, NULL, "", "", 0, "", NULL, REC_DELETED, 0, 0,
	  0, NULL, "tag", "", "", "forget" },
	{ "deleted_in_ats, policy delete", C_PLAIN, AGREE, "", "", 0, "", "link", REC_DELETED, 0, 0, 1,
	  NULL, "delete", "deleted_in_ats", "delete_contact[deleted_in_ats]", "" },
	{ "deleted_in_ats, policy report", C_PLAIN, AGREE, "", "", 0, "", "link", REC_DELETED, 0, 0, 1,
	  NULL, "report", "deleted_in_ats", "", "" },
	{ "merged_in_ats, survivor has its own contact: archived", C_PLAIN, AGREE, "", "", 0, "", "link",
	  REC_MERGED, 0, 0, 1, NULL, NULL, "merged_in_ats+", "apply_tag:Gone![merged_in_ats]", "" },
	{ "merged_in_ats, archived already", C_PLAIN, AGREE, "Gone", "", 0, "", "link", REC_MERGED, 0, 0,
	  1, NULL, NULL, "", "", "unlink forget" },
	{ "merged_in_ats, the contact follows the survivor", C_PLAIN, AGREE, "", "", 0, "", "link",
	  REC_MERGED, 1, 0, 1, NULL, NULL, "merged_in_ats", "", "unlink forget" },
};

static struct mapping m;

static void
make_candidate(struct candidate *c, enum cand_kind k)
{
	const char *e[] = { k == C_NEW_EMAIL ? "jane.new@x.com" : "jane@x.com" };

	memset(c, 0, sizeof(*c));
	c->ats = xstrdup("greenhouse");
	c->id = xstrdup("7");
	c->first_name = xstrdup("Jane");
	c->last_name = xstrdup("Doe");
	if (k != C_NO_POINTS) {
		candidate_set_emails(c, e, 1, 0);
		candidate_add_phone(c, "415.555.0100", "US");
	}
	c->title = xstrdup("Engineer");
	c->source = xstrdup(k == C_BAD_SOURCE ? "Billboard" : "LinkedIn");
	c->company = xstrdup("Acme");
	c->status = xstrdup("active");
	c->stage_name = xstrdup("Screen");
	c->anonymized = k == C_ANON;
}

/* "a,b" → a NULL-terminated array of its parts (one allocation each). */
static const char **
split(const char *s, size_t *n)
{
	const char **v = xcalloc(8, sizeof(char *));
	const char *p = s;

	*n = 0;
	while (p != NULL && *p != '\0' && *n < 7) {
		size_t len = strcspn(p, ",");
		v[(*n)++] = xstrndup(p, len);
		p += len;
		if (*p == ',')
			p++;
	}
	return v;
}

static void
free_split(const char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free((void *)v[i]);
	free(v);
}

static void
describe(const struct rec_result *res, struct buf *rows, struct buf *ops, struct buf *flags)
{
	size_t i, j;

	for (i = 0; i < res->nrows; i++) {
		const struct drift *d = &res->rows[i].d;
		buf_addf(rows, "%s%s%s%s%s", i ? " " : "", drift_kind_str(d->kind), d->field ? ":" : "",
		    d->field ? d->field : "", d->repair ? "+" : "");
	}
	for (i = 0; i < res->nops; i++) {
		const struct rec_op *o = &res->ops[i];
		buf_addf(ops, "%s%s%s%s%s[", i ? " " : "", op_kind_str(o->kind), o->tag ? ":" : "",
		    o->tag ? o->tag : "", o->archive ? "!" : "");
		for (j = 0; j < o->nreasons; j++)
			buf_addf(ops, "%s%s%s%s", j ? "," : "", o->reasons[j].kind,
			    o->reasons[j].field ? ":" : "", o->reasons[j].field ? o->reasons[j].field : "");
		buf_adds(ops, "]");
	}
	buf_addf(flags, "%s%s%s%s%s", res->link ? "link " : "", res->unlink ? "unlink " : "",
	    res->forget ? "forget " : "", res->agreed ? "agreed " : "", res->stamp ? "stamp " : "");
	if (flags->len > 0)
		flags->p[--flags->len] = '\0';
}

static void
run_case(const struct tcase *t)
{
	struct rec_rules ru;
	struct rec_input in;
	struct rec_contact ks[4];
	struct rec_result res;
	struct candidate c;
	struct buf rows = BUF_INIT, ops = BUF_INIT, flags = BUF_INIT;
	struct contact *contact = ct_new(t->contact), *dups[3];
	struct strpairs base = { NULL, NULL, 0 };
	const char **tags, **stage, **dtags;
	size_t ntags, nstage, ndtags, n = 0, i;
	static const char *const dup_ids[] = { "601", "602", "603" };

	memset(&ru, 0, sizeof(ru));
	ru.map = &m;
	ru.deletes = t->deletes ? t->deletes : "tag";
	ru.deleted_tag = "Gone";
	ru.anonymized_tag = "Anon";
	ru.duplicate_tag = "Dup";
	ru.ext_field_id = "11";
	make_candidate(&c, t->cand);
	tags = split(t->tags, &ntags);
	stage = split(t->stage, &nstage);
	dtags = split(t->dup_tags, &ndtags);
	memset(ks, 0, sizeof(ks));
	if (contact != NULL) {
		ks[0].id = "501";
		ks[0].ct = contact;
		ks[0].tags = tags;
		ks[0].ntags = ntags;
		ks[0].stage = stage;
		ks[0].nstage = nstage;
		n = 1;
	}
	for (i = 0; i < (size_t)t->ndups && i < 3; i++) {
		dups[i] = ct_new("{\"id\":\"60\",\"given_name\":\"Jane\"}");
		ks[n].id = dup_ids[i];
		ks[n].ct = dups[i];
		ks[n].tags = dtags;
		ks[n++].ntags = ndtags;
	}
	if (t->base != NULL) {
		struct buf bt = BUF_INIT;
		buf_adds(&bt, t->base);
		json_strpairs_parse(&bt, &base);
		buf_free(&bt);
	}
	memset(&in, 0, sizeof(in));
	in.c = &c;
	in.contacts = ks;
	in.n = n;
	in.how = t->how;
	in.life = t->life;
	in.survivor = "greenhouse:8";
	in.survivor_takes = t->survivor_takes;
	in.linked_gone = t->linked_gone;
	in.ext_value = "greenhouse:7";
	in.has_ext = t->has_ext;
	in.base = t->base != NULL ? &base : NULL;
	reconcile(&ru, &in, &res);
	describe(&res, &rows, &ops, &flags);
	{
		const char *gr = rows.p ? rows.p : "", *go = ops.p ? ops.p : "";
		const char *gf = flags.p ? flags.p : "";
		CHECK_STR(gr, t->want_rows);
		CHECK_STR(go, t->want_ops);
		CHECK_STR(gf, t->want_flags);
		if (strcmp(gr, t->want_rows) != 0 || strcmp(go, t->want_ops) != 0 ||
		    strcmp(gf, t->want_flags) != 0)
			printf("  (case: %s)\n", t->name);
	}
	/* a create carries the external id; so does a patch that links */
	for (i = 0; i < res.nops; i++)
		if (res.ops[i].kind == OP_UPSERT_CONTACT ||
		    (res.ops[i].kind == OP_PATCH_CONTACT && !t->has_ext)) {
			char *b = res.ops[i].kind == OP_UPSERT_CONTACT ? keap_create_body(&res.ops[i].change) :
			    keap_patch_body(contact, &res.ops[i].change);
			CHECK_STR(chg(&res.ops[i].change, CW_CUSTOM, "11"), "greenhouse:7");
			CHECK_CONTAINS(b ? b : "", "{\"id\":\"11\",\"content\":\"greenhouse:7\"}");
			free(b);
		}
	rec_result_free(&res);
	for (i = 0; i < (size_t)t->ndups && i < 3; i++)
		ct_del(dups[i]);
	ct_del(contact);
	strpairs_free(&base);
	free_split(tags, ntags);
	free_split(stage, nstage);
	free_split(dtags, ndtags);
	candidate_free(&c);
	buf_free(&rows);
	buf_free(&ops);
	buf_free(&flags);
}

/* The base written after agreement is what the next comparison starts from:
 * given back, nothing changes (no new base), and a merged row names the survivor. */
static void
base_round_trip(void)
{
	struct rec_rules ru = { &m, "tag", "Gone", "Anon", "Dup", "11" };
	struct rec_contact k;
	struct rec_input in;
	struct rec_result res;
	struct candidate c;
	struct contact *contact = ct_new(AGREE);
	struct strpairs *agreed;
	const char *screen[] = { "ATS: Screen" };

	make_candidate(&c, C_PLAIN);
	memset(&k, 0, sizeof(k));
	k.id = "501";
	k.ct = contact;
	k.stage = screen;
	k.nstage = 1;
	memset(&in, 0, sizeof(in));
	in.c = &c;
	in.contacts = &k;
	in.n = 1;
	in.how = "link";
	in.has_ext = 1;
	in.ext_value = "greenhouse:7";
	reconcile(&ru, &in, &res);
	CHECK(res.agreed != NULL && str_eq(strpairs_get(res.agreed, "given_name"), "Jane"));
	agreed = res.agreed;
	res.agreed = NULL;
	rec_result_free(&res);
	in.base = agreed;
	reconcile(&ru, &in, &res);
	CHECK(res.agreed == NULL && res.stamp && res.nrows == 0 && res.nops == 0);
	rec_result_free(&res);
	strpairs_free(agreed);
	free(agreed);

	in.life = REC_MERGED;
	in.survivor = "greenhouse:8";
	reconcile(&ru, &in, &res);
	CHECK(res.nrows == 1 && str_eq(res.rows[0].d.desired, "greenhouse:8") &&
	    res.rows[0].d.why != NULL);
	CHECK(res.nops == 1 && res.ops[0].archive && str_eq(res.ops[0].contact, "501"));
	rec_result_free(&res);
	ct_del(contact);
	candidate_free(&c);
}

int
main(void)
{
	struct config cfg;
	struct timespec t0, t1;
	int seen[DRIFT__MAX] = { 0 };
	size_t i;
	double ms;

	json_init();
	log_init(LOG_ERROR, LOG_FMT_TEXT);
	rules_load(&cfg, &m);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *p;
		run_case(&cases[i]);
		for (p = cases[i].want_rows; *p != '\0'; p += strcspn(p, " "), p += *p == ' ') {
			int k;
			for (k = 0; k < DRIFT__MAX; k++)
				if (strncmp(p, drift_kind_str((enum drift_kind)k), strlen(drift_kind_str(
				    (enum drift_kind)k))) == 0)
					seen[k] = 1;
		}
	}
	base_round_trip();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("# %zu cases in %.1f ms\n", sizeof(cases) / sizeof(cases[0]), ms);
	CHECK(ms < 1000.0);
	/* every drift kind appears in the table: each is built by diff or reconcile */
	for (i = 0; i < DRIFT__MAX; i++)
		if (!seen[i]) {
			printf("not ok - no case for drift kind %s\n", drift_kind_str((enum drift_kind)i));
			t_fail++;
		}
	mapping_free(&m);
	config_free(&cfg);
	return t_done("test_reconcile");
}
