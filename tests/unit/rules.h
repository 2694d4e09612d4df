/*
 * tests/unit/rules.h — the mapping rules the diff and reconcile tests share:
 * first/last name (last name Keap-owned), email, phone, title (fill), source
 * (a Keap dropdown: LinkedIn, Referral), company (create), and stage tags.
 */
#ifndef ATSRECON_TEST_RULES_H
#define ATSRECON_TEST_RULES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "json.h"
#include "kct.h"
#include "mapping.h"
#include "t.h"

static const char *const rules_text =
    "{\n"
    " \"fields\": [\n"
    "  { \"from\": \"first_name\", \"to\": \"given_name\" },\n"
    "  { \"from\": \"last_name\", \"to\": \"family_name\", \"owner\": \"keap\" },\n"
    "  { \"from\": \"email\", \"to\": \"email:EMAIL1\" },\n"
    "  { \"from\": \"phone\", \"to\": \"phone:PHONE1\" },\n"
    "  { \"from\": \"title\", \"to\": \"job_title\", \"owner\": \"fill\" },\n"
    "  { \"from\": \"source\", \"to\": \"custom:ATS Source\" },\n"
    "  { \"from\": \"company\", \"to\": \"preferred_name\", \"owner\": \"create\" }\n"
    " ],\n"
    " \"stage_tags\": { \"category\": \"ATS Stage\",\n"
    "   \"by_status\": { \"hired\": \"ATS: Hired\" },\n"
    "   \"by_stage\": { \"Screen\": \"ATS: Screen\", \"Onsite\": \"ATS: Onsite\" } }\n"
    "}\n";

/* Loads the rules into cfg and m, resolved against a Keap model whose one
 * custom field is the dropdown "ATS Source" (id 13). */
static void
rules_load(struct config *cfg, struct mapping *m)
{
	static char *opts[] = { "LinkedIn", "Referral" };
	static struct keap_field f[] = { { "13", "ATS Source", "DROPDOWN", "ATSSource", opts, 2 } };
	struct keap_model km = { f, 1 };
	struct buf err = BUF_INIT;
	char path[] = "/tmp/atsrecon-rules-XXXXXX";
	int fd = mkstemp(path);
	FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;

	CHECK(fp != NULL);
	if (fp == NULL)
		return;
	fputs(rules_text, fp);
	fclose(fp);
	config_init(cfg);
	CHECK(config_load_file(cfg, path, &err) == RC_OK);
	CHECK(mapping_load(m, cfg, &err) == RC_OK);
	CHECK(mapping_resolve(m, &km, &err) == RC_OK);
	unlink(path);
	buf_free(&err);
}

#endif
