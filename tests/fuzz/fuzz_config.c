/*
 * fuzz_config — configuration files (config.c over jsonc_parse, opts.c's
 * types and bounds) and the field mapping read from them (mapping.c): load,
 * finish, dump (secrets redacted), then the mapping is loaded, resolved
 * against a Keap model with the custom fields the example configurations
 * name, and every rule is run on one candidate and one contact.
 */
#include <stdlib.h>
#include <string.h>

#include "ats.h"
#include "config.h"
#include "json.h"
#include "keap.h"
#include "mapping.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dropdown[] = { "LinkedIn", "Referral", "Careers Site", "Other" };
static struct keap_field fields[] = {
	{ "1", "ATS Applied Date", "DATE", "ATSAppliedDate", NULL, 0 },
	{ "2", "ATS Company", "TEXT", "ATSCompany", NULL, 0 },
	{ "3", "ATS Job", "TEXT", "ATSJob", NULL, 0 },
	{ "4", "ATS Origin", "TEXT", "ATSOrigin", NULL, 0 },
	{ "5", "ATS Source", "DROPDOWN", "ATSSource", dropdown, 4 },
	{ "6", "ATS Updated", "DATE_TIME", "ATSUpdated", NULL, 0 },
	{ "7", "ATS Score", "WHOLE_NUMBER", "ATSScore", NULL, 0 },
};
static const struct keap_model model = { fields, sizeof(fields) / sizeof(fields[0]) };

static void
fill_candidate(struct candidate *c)
{
	static const char *const emails[] = { "Jane.Doe@Example.com", "jane@home.example" };

	memset(c, 0, sizeof(*c));
	c->ats = xstrdup("greenhouse");
	c->id = xstrdup("10000001");
	c->first_name = xstrdup("Jane");
	c->last_name = xstrdup("Doe");
	c->company = xstrdup("Acme");
	c->title = xstrdup("Engineer");
	candidate_set_emails(c, emails, 2, 0);
	candidate_add_phone(c, "(415) 555-0100", "US");
	candidate_add_custom(c, "score", "42");
	c->stage_name = xstrdup("Phone Screen");
	c->job = xstrdup("Backend Engineer");
	c->source = xstrdup("LinkedIn Recruiter");
	c->applied_ms = 1767571200000LL;
	c->updated_ms = 1767600000000LL;
	candidate_set_status(c, "active");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	static struct candidate cand;
	static struct contact contact;
	struct config cfg;
	struct mapping m;
	struct buf err = BUF_INIT, dump = BUF_INIT;
	struct desired d;
	size_t i;
	int invalid = 0;

	if (!inited) {
		inited = 1;
		fuzz_quiet_logs();
		json_init();
		fill_candidate(&cand);
		static const char ctext[] = "{\"id\":\"501\",\"given_name\":\"Jane\",\"family_name\":\"Doe\","
		    "\"job_title\":\"\",\"email_addresses\":[{\"email\":\"jane.doe@example.com\","
		    "\"field\":\"EMAIL1\"}],\"phone_numbers\":[{\"number\":\"(415) 555-0100\","
		    "\"field\":\"PHONE1\"}],\"custom_fields\":[{\"id\":\"5\",\"content\":\"Referral\"},"
		    "{\"id\":\"1\",\"content\":\"2026-01-05\"}]}";
		if (contact_from_json(ctext, sizeof(ctext) - 1, &contact, &err) != RC_OK)
			abort();
	}
	if (fuzz_config_text(&cfg, (const char *)data, size) == RC_OK) {
		config_dump(&cfg, &dump);
		memset(&m, 0, sizeof(m));
		if (mapping_load(&m, &cfg, &err) == RC_OK && mapping_resolve(&m, &model, &err) == RC_OK) {
			struct contact_change body = { NULL, 0, 0 };

			for (i = 0; i < m.n; i++) {
				char *actual = mapping_actual(&m, &m.rules[i], &contact);

				memset(&d, 0, sizeof(d));
				mapping_desired(&m, &m.rules[i], &cand, &d);
				if (d.opinion && !d.invalid && d.value != NULL)
					mapping_put(&m.rules[i], d.value, &body);
				desired_free(&d);
				free(actual);
			}
			(void)mapping_stage_tag(&m, &cand, &invalid);
			free(keap_patch_body(&contact, &body));	/* the body Keap would get */
			change_free(&body);
		}
		mapping_free(&m);
	}
	config_free(&cfg);
	buf_free(&err);
	buf_free(&dump);
	return 0;
}
