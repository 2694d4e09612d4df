/* Unit tests: mapping.c (rules from the config, desired vs actual, stage tags). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "config.h"
#include "json.h"
#include "kct.h"
#include "mapping.h"
#include "t.h"

static char path[] = "/tmp/atsrecon-map-XXXXXX";

static enum rc
load(const char *text, struct config *cfg, struct mapping *m, struct buf *err)
{
	FILE *f = fopen(path, "w");
	enum rc rc;

	fputs(text, f);
	fclose(f);
	config_init(cfg);
	buf_reset(err);
	if ((rc = config_load_file(cfg, path, err)) != RC_OK)
		return rc;
	return mapping_load(m, cfg, err);
}

static void
expect_error(const char *text, const char *want)
{
	struct config cfg;
	struct mapping m;
	struct buf err = BUF_INIT;

	memset(&m, 0, sizeof(m));
	CHECK(load(text, &cfg, &m, &err) == RC_CONFIG);
	CHECK_CONTAINS(err.p, want);
	config_free(&cfg);
	buf_free(&err);
}

static const char *const good =
    "{\n"
    " \"phone\": { \"default_region\": \"US\" },\n"
    " \"fields\": [\n"
    "  { \"from\": \"first_name\", \"to\": \"given_name\" },\n"
    "  { \"from\": \"email\", \"to\": \"email:EMAIL1\", \"owner\": \"ats\" },\n"
    "  { \"from\": \"phone\", \"to\": \"phone:PHONE1\" },\n"
    "  { \"from\": \"source\", \"to\": \"custom:ATS Source\", \"map\": { \"LinkedIn Recruiter\": \"LinkedIn\" } },\n"
    "  { \"from\": \"applied_at\", \"to\": \"custom:ATS Applied Date\" },\n"
    "  { \"from\": \"updated_at\", \"to\": \"custom:ATS Updated\" },\n"
    "  { \"from\": \"title\", \"to\": \"job_title\", \"owner\": \"fill\", \"null\": \"clear\" },\n"
    "  { \"constant\": \"ATS\", \"to\": \"custom:ATS Stage\", \"owner\": \"create\" }\n"
    " ],\n"
    " \"stage_tags\": { \"category\": \"ATS Stage\",\n"
    "   \"by_status\": { \"hired\": \"ATS: Hired\", \"rejected\": \"ATS: Rejected\" },\n"
    "   \"by_stage\": { \"Recruiter Screen\": \"ATS: Screen\" } }\n"
    "}\n";

static struct keap_model
model(void)
{
	static char *src_opts[] = { "LinkedIn", "Referral" };
	static struct keap_field f[] = {
		{ "13", "ATS Source", "DROPDOWN", "ATSSource", src_opts, 2 },
		{ "15", "ATS Applied Date", "DATE", "ATSAppliedDate", NULL, 0 },
		{ "17", "ATS Stage", "TEXT", "ATSStage", NULL, 0 },
		{ "19", "ATS Updated", "DATE_TIME", "ATSUpdated", NULL, 0 },
	};
	struct keap_model m = { f, 4 };
	return m;
}

static const struct map_rule *
rule(const struct mapping *m, const char *to)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->rules[i].to, to) == 0)
			return &m->rules[i];
	return NULL;
}

/* desired == actual for rule `to` between candidate c and contact json */
static int
agrees(const struct mapping *m, const char *to, const struct candidate *c, const char *contact)
{
	struct contact *j = ct_new(contact);
	struct desired d;
	char *a;
	int same;

	mapping_desired(m, rule(m, to), c, &d);
	a = mapping_actual(m, rule(m, to), j);
	same = d.opinion && !d.invalid && strcmp(d.value, a) == 0;
	desired_free(&d);
	free(a);
	ct_del(j);
	return same;
}

int
main(void)
{
	struct config cfg;
	struct mapping m;
	struct keap_model km = model();
	struct buf err = BUF_INIT;
	struct candidate c;
	struct desired d;
	int invalid;
	const char *raw_email[] = { "Jane@X.com " };

	json_init();
	log_init(LOG_ERROR, LOG_FMT_TEXT);
	CHECK(mkstemp(path) >= 0);
	CHECK(load(good, &cfg, &m, &err) == RC_OK);
	CHECK(m.n == 8);
	CHECK(rule(&m, "job_title")->owner == OWN_FILL && rule(&m, "job_title")->null_clear);
	CHECK(mapping_resolve(&m, &km, &err) == RC_OK);
	CHECK_STR(rule(&m, "custom:ATS Source")->custom_id, "13");

	memset(&c, 0, sizeof(c));
	c.id = xstrdup("42");
	c.first_name = xstrdup("  Jane ");
	candidate_set_emails(&c, raw_email, 1, 0);
	candidate_add_phone(&c, "(415) 555-0100", "US");
	c.source = xstrdup("LinkedIn Recruiter");
	c.applied_ms = 1767607200000LL;		/* 2026-01-05T10:00:00Z */
	c.status = xstrdup("active");
	c.stage_name = xstrdup("Recruiter Screen");

	/* representation-only differences are agreement */
	CHECK(agrees(&m, "given_name", &c, "{\"given_name\":\"Jane\"}"));
	CHECK(agrees(&m, "email:EMAIL1", &c,
	    "{\"email_addresses\":[{\"email\":\"JANE@x.com\",\"field\":\"EMAIL1\"}]}"));
	CHECK(agrees(&m, "phone:PHONE1", &c,
	    "{\"phone_numbers\":[{\"number\":\"+14155550100\",\"field\":\"PHONE1\"}]}"));
	CHECK(agrees(&m, "custom:ATS Source", &c,
	    "{\"custom_fields\":[{\"id\":\"13\",\"content\":\"LinkedIn\"}]}"));
	CHECK(agrees(&m, "custom:ATS Applied Date", &c,
	    "{\"custom_fields\":[{\"id\":\"15\",\"content\":\"2026-01-05\"}]}"));
	/* DATE_TIME: written with whole seconds, compared at the second (the
	 * ATS's milliseconds never cause a write) */
	c.updated_ms = 1767607200827LL;		/* 2026-01-05T10:00:00.827Z */
	{
		struct desired dt;
		mapping_desired(&m, rule(&m, "custom:ATS Updated"), &c, &dt);
		CHECK(dt.opinion && str_eq(dt.value, "2026-01-05T10:00:00Z"));
		desired_free(&dt);
	}
	CHECK(agrees(&m, "custom:ATS Updated", &c,
	    "{\"custom_fields\":[{\"id\":\"19\",\"content\":\"2026-01-05T10:00:00Z\"}]}"));
	CHECK(agrees(&m, "custom:ATS Updated", &c,
	    "{\"custom_fields\":[{\"id\":\"19\",\"content\":\"2026-01-05T10:00:00.000Z\"}]}"));
	CHECK(!agrees(&m, "custom:ATS Updated", &c,
	    "{\"custom_fields\":[{\"id\":\"19\",\"content\":\"2026-01-05T10:00:01Z\"}]}"));
	/* Keap-side spelling of phones and DATE fields is drift (DESIGN.md §4):
	 * automations read the stored text; a "format" difference */
	{
		static const char *const phones[] = { "+1 415 555 0100", "(415) 555-0100", "415.555.0100" };
		size_t i;
		for (i = 0; i < 3; i++) {
			char *j = xasprintf("{\"phone_numbers\":[{\"number\":\"%s\",\"field\":\"PHONE1\"}]}",
			    phones[i]);
			struct contact *k = ct_new(j);
			char *a = mapping_actual(&m, rule(&m, "phone:PHONE1"), k);
			CHECK(!agrees(&m, "phone:PHONE1", &c, j));
			CHECK_STR(a, phones[i]);
			CHECK(mapping_format_only(&m, rule(&m, "phone:PHONE1"), a, "+14155550100"));
			CHECK(!mapping_format_only(&m, rule(&m, "phone:PHONE1"), a, "+14155550199"));
			free(a);
			ct_del(k);
			free(j);
		}
	}
	CHECK(!agrees(&m, "custom:ATS Applied Date", &c,
	    "{\"custom_fields\":[{\"id\":\"15\",\"content\":\"01/05/2026\"}]}"));
	CHECK(mapping_format_only(&m, rule(&m, "custom:ATS Applied Date"), "01/05/2026", "2026-01-05"));
	CHECK(!mapping_format_only(&m, rule(&m, "custom:ATS Applied Date"), "01/06/2026", "2026-01-05"));
	CHECK(!mapping_format_only(&m, rule(&m, "given_name"), "Janet", "Jane"));
	/* real differences are not */
	CHECK(!agrees(&m, "given_name", &c, "{\"given_name\":\"Janet\"}"));
	CHECK(!agrees(&m, "email:EMAIL1", &c,
	    "{\"email_addresses\":[{\"email\":\"jane@x.com\",\"field\":\"EMAIL2\"}]}"));
	CHECK(!agrees(&m, "custom:ATS Applied Date", &c,
	    "{\"custom_fields\":[{\"id\":\"15\",\"content\":\"2026-01-06\"}]}"));

	/* a dropdown value that is not an option: invalid, never written */
	free(c.source);
	c.source = xstrdup("Carrier Pigeon");
	mapping_desired(&m, rule(&m, "custom:ATS Source"), &c, &d);
	CHECK(d.opinion && d.invalid && d.value == NULL && strcmp(d.raw, "Carrier Pigeon") == 0);
	desired_free(&d);
	/* empty with null = skip: no opinion; with clear: "" */
	mapping_desired(&m, rule(&m, "given_name"), &(struct candidate){ 0 }, &d);
	CHECK(!d.opinion);
	desired_free(&d);
	mapping_desired(&m, rule(&m, "job_title"), &(struct candidate){ 0 }, &d);
	CHECK(d.opinion && str_eq(d.value, ""));
	desired_free(&d);
	/* a field the source could not look up (a refused reference list) is
	 * unknown, not empty: even null = clear leaves Keap alone (issue 15) */
	{
		struct map_rule clear_ref = *rule(&m, "job_title");
		struct candidate u;
		memset(&u, 0, sizeof(u));
		clear_ref.from = "referrer";
		u.unknown = ATS_FLD_REFERRER;
		mapping_desired(&m, &clear_ref, &u, &d);
		CHECK(!d.opinion && d.value == NULL);
		desired_free(&d);
		u.unknown = 0;
		mapping_desired(&m, &clear_ref, &u, &d);
		CHECK(d.opinion && str_eq(d.value, ""));
	}
	desired_free(&d);
	/* constants */
	mapping_desired(&m, rule(&m, "custom:ATS Stage"), &c, &d);
	CHECK_STR(d.value, "ATS");
	desired_free(&d);

	/* stage tags: status first, then stage */
	CHECK_STR(mapping_stage_tag(&m, &c, &invalid), "ATS: Screen");
	free(c.status);
	c.status = xstrdup("hired");
	CHECK_STR(mapping_stage_tag(&m, &c, &invalid), "ATS: Hired");
	free(c.status);
	c.status = xstrdup("active");
	free(c.stage_name);
	c.stage_name = xstrdup("Onsite");
	CHECK(mapping_stage_tag(&m, &c, &invalid) == NULL && invalid);

	/* building a change */
	{
		struct contact_change ch = { NULL, 0, 0 };
		mapping_put(rule(&m, "given_name"), "Jane", &ch);
		mapping_put(rule(&m, "email:EMAIL1"), "jane@x.com", &ch);
		mapping_put(rule(&m, "custom:ATS Source"), "LinkedIn", &ch);
		mapping_put(rule(&m, "phone:PHONE1"), "", &ch);
		mapping_put(rule(&m, "given_name"), "Janet", &ch);	/* replaces, in place */
		CHECK(ch.n == 4);
		CHECK(ch.n == 4 && ch.v[0].where == CW_PROP && str_eq(ch.v[0].key, "given_name") &&
		    str_eq(ch.v[0].value, "Janet"));
		CHECK_STR(chg(&ch, CW_EMAIL, "EMAIL1"), "jane@x.com");
		CHECK_STR(chg(&ch, CW_CUSTOM, "13"), "LinkedIn");	/* by the field's id */
		CHECK_STR(chg(&ch, CW_PHONE, "PHONE1"), "");		/* cleared */
		change_free(&ch);
	}
	candidate_free(&c);
	mapping_free(&m);
	config_free(&cfg);

	/* a custom label Keap does not have, and a map value that is no option */
	CHECK(load("{\"fields\":[{\"from\":\"source\",\"to\":\"custom:No Such\"}]}", &cfg, &m, &err) == RC_OK);
	CHECK(mapping_resolve(&m, &km, &err) == RC_CONFIG);
	CHECK_CONTAINS(err.p, "Keap has no custom field labelled \"No Such\"");
	mapping_free(&m);
	config_free(&cfg);
	CHECK(load("{\"fields\":[{\"from\":\"source\",\"to\":\"custom:ATS Source\",\"map\":{\"a\":\"Fax\"}}]}",
	    &cfg, &m, &err) == RC_OK);
	CHECK(mapping_resolve(&m, &km, &err) == RC_CONFIG);
	CHECK_CONTAINS(err.p, "\"Fax\" is not an option");
	mapping_free(&m);
	config_free(&cfg);

	/* configuration errors name file and line */
	expect_error("{\"fields\":[\n{\"from\":\"first_name\",\"to\":\"given_name\"},\n"
	    "{\"from\":\"nickname\",\"to\":\"preferred_name\"}]}", ":3: fields[1]: \"nickname\" is not a canonical field");
	expect_error("{\"fields\":[\n{\"from\":\"email\",\"to\":\"email:EMAIL4\"}]}", ":2: fields[0]: \"email:EMAIL4\" is not a Keap target");
	expect_error("{\"fields\":[\n{\"from\":\"email\",\"to\":\"email:EMAIL1\",\"owner\":\"crm\"}]}", ":2: fields[0]: owner \"crm\"");
	expect_error("{\"fields\":[\n{\"from\":\"email\",\"to\":\"email:EMAIL1\",\"nul\":\"skip\"}]}", ":2: fields[0]: unknown key \"nul\"");
	expect_error("{\"fields\":[\n{\"from\":\"email\",\"to\":\"email:EMAIL1\"},\n{\"from\":\"email2\",\"to\":\"email:EMAIL1\"}]}",
	    ":3: fields[1]: \"email:EMAIL1\" is already the target of fields[0] (line 2)");
	expect_error("{\"fields\":[{\"to\":\"given_name\"}]}", "needs exactly one of \"from\" and \"constant\"");
	expect_error("{\"stage_tags\":{\"by_stage\":{}}}", "stage_tags: \"category\" (the Keap tag category) is required");
	expect_error("{\"stage_tags\":{\"category\":\"X\",\n\"by_status\":{\"promoted\":\"T\"}}}", ":2: stage_tags.by_status: \"promoted\" is not a status");
	unlink(path);
	buf_free(&err);
	return t_done("test_mapping");
}
