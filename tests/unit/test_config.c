/* Unit tests: config.c and json.c's JSONC parser (file:line errors, layers, secrets). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "jdoc.h"
#include "jtree.h"
#include "log.h"
#include "t.h"

static char tmpdir[] = "/tmp/atsrecon-cfg-XXXXXX";

static char *
write_tmp(const char *name, const char *text, unsigned mode)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

/* Loads text as a config file; returns the rc and the error message. */
static enum rc
load(const char *text, struct config *c, struct buf *err)
{
	char *path = write_tmp("c.jsonc", text, 0600);
	enum rc rc;

	config_init(c);
	buf_reset(err);
	rc = config_load_file(c, path, err);
	free(path);
	return rc;
}

static void
expect_error(const char *text, const char *want)
{
	struct config c;
	struct buf err = BUF_INIT;

	CHECK(load(text, &c, &err) == RC_CONFIG);
	CHECK_CONTAINS(err.p, want);
	config_free(&c);
	buf_free(&err);
}

static void
test_jsonc(void)
{
	struct config c;
	struct buf err = BUF_INIT;
	const char *ok =
	    "// atsrecon\n"
	    "{\n"
	    "  /* block\n comment */\n"
	    "  \"keap\": { \"max_rps\": 7, \"concurrency\": 2, }, // trailing comma\n"
	    "  \"run\": { \"max_runtime\": \"15m\" },\n"
	    "  \"report\": { \"mask_pii\": false },\n"
	    "  \"phone\": { \"default_region\": \"GB\" },\n"
	    "  \"fields\": [ { \"from\": \"email\", \"to\": \"email:EMAIL1\", \"owner\": \"ats\" } ],\n"
	    "}\n";

	CHECK(load(ok, &c, &err) == RC_OK);
	CHECK(cfg_int(&c, OPT_KEAP_MAX_RPS) == 7);
	CHECK(cfg_int(&c, OPT_KEAP_CONCURRENCY) == 2);
	CHECK(cfg_int(&c, OPT_RUN_MAX_RUNTIME) == 900);
	CHECK(cfg_bool(&c, OPT_REPORT_MASK_PII) == 0);
	CHECK_STR(cfg_str(&c, OPT_PHONE_DEFAULT_REGION), "GB");
	CHECK(cfg_int(&c, OPT_KEAP_PAGE_SIZE) == 1000);		/* default kept */
	CHECK(jn_is_array(cfg_json(&c, OPT_FIELDS)) && jn_count(cfg_json(&c, OPT_FIELDS)) > 0);
	buf_reset(&err);
	cfg_origin(&c, OPT_KEAP_MAX_RPS, &err);
	CHECK_CONTAINS(err.p, "c.jsonc:5");
	config_free(&c);
	buf_free(&err);
}

static void
test_errors(void)
{
	expect_error("{\n  \"keap\": {\n    \"max_rps\": 7\n    \"concurrency\": 2\n  }\n}\n",
	    "c.jsonc:4: expected ',' or '}'");
	expect_error("{\n \"keap\": { \"max_rps\": 500 }\n}", "c.jsonc:2: keap.max_rps: 500 is out of range");
	expect_error("{\n\n \"keap\": { \"max_rps\": \"ten\" }\n}", "c.jsonc:3: keap.max_rps: expected an integer");
	expect_error("{\n \"keap\": { \"maxrps\": 1 }\n}", "c.jsonc:2: unknown key \"keap.maxrps\"");
	expect_error("{\n \"kaep\": {}\n}", "c.jsonc:2: unknown section \"kaep\"");
	expect_error("{\n \"ats\": { \"kind\": \"workday\" }\n}", "c.jsonc:2: ats.kind: \"workday\" is not one of");
	expect_error("{\n \"keap\": { \"base_url\": \"http://api.infusionsoft.com\" }\n}",
	    "c.jsonc:2: keap.base_url: \"http://api.infusionsoft.com\" is not an https:// URL");
	expect_error("{ \"run\": { \"max_runtime\": \"5 minutes\" } }", "c.jsonc:1: run.max_runtime: expected a duration");
	expect_error("{ \"report\": { \"mask_pii\": \"no\" } }", "expected true or false");
	expect_error("{\n \"keap\": { \"max_rps\": 1, \"max_rps\": 2 }\n}", "c.jsonc:2: duplicate key \"max_rps\"");
	expect_error("{\n /* never closed\n", "c.jsonc:2: unterminated /* comment");
	expect_error("{ \"keap\": { \"client_id\": \"a\nb\" } }", "unterminated string");
	expect_error("{\n\"phone\": {\"default_region\": \"\xff\"}}", "c.jsonc:2: the file is not valid UTF-8");
	expect_error("[1, 2]", "c.jsonc:1: the configuration must be a JSON object");
	expect_error("{ \"fields\": {} }", "fields: expected an array");
	expect_error("{ \"keap\": [] }", "keap: expected an object");
	expect_error("{} trailing", "unexpected text after the end");
	expect_error("", "unexpected end of file");
}

static void
test_layers_and_secrets(void)
{
	struct config c;
	struct buf err = BUF_INIT, dump = BUF_INIT;
	char *secret = write_tmp("keap_secret", "file-secret-value\n", 0600);
	char *cfgtext = xasprintf("{ \"keap\": { \"client_id\": \"cid\", \"client_secret_file\": \"%s\","
	    " \"max_rps\": 3 }, \"ats\": { \"api_key\": \"inline-ats-key-1234\" } }", secret);
	char *env[] = { "ATSRECON_KEAP_MAX_RPS=9", "ATSRECON_RUN_MAX_RUNTIME=20m",
		"ATSRECON_ATS_CLIENT_SECRET=env-secret-5678", "PATH=/bin", NULL };
	char *badenv[] = { "ATSRECON_KEAP_CONCURRENCY=99", NULL };

	CHECK(load(cfgtext, &c, &err) == RC_OK);
	CHECK(config_finish(&c, &err) == RC_OK);
	CHECK_STR(cfg_str(&c, OPT_KEAP_CLIENT_SECRET), "file-secret-value");	/* newline stripped */
	CHECK(config_apply_env(&c, env, &err) == RC_OK);
	CHECK(cfg_int(&c, OPT_KEAP_MAX_RPS) == 9);		/* env beats file */
	CHECK(cfg_int(&c, OPT_RUN_MAX_RUNTIME) == 1200);
	CHECK(config_set_cli(&c, OPT_RUN_MAX_RUNTIME, "30m", &err) == RC_OK);
	CHECK(cfg_int(&c, OPT_RUN_MAX_RUNTIME) == 1800);	/* flag beats env */
	CHECK(config_set_cli(&c, OPT_RUN_MAX_RUNTIME, "forever", &err) == RC_USAGE);
	config_dump(&c, &dump);
	CHECK(strstr(dump.p, "file-secret-value") == NULL);
	CHECK(strstr(dump.p, "inline-ats-key-1234") == NULL);
	CHECK(strstr(dump.p, "env-secret-5678") == NULL);
	CHECK_CONTAINS(dump.p, "keap.client_secret = <redacted>");
	CHECK_CONTAINS(dump.p, "from file");
	CHECK_CONTAINS(dump.p, "keap.client_id = \"cid\"");
	CHECK_CONTAINS(dump.p, "ATSRECON_KEAP_MAX_RPS");
	buf_reset(&err);
	CHECK(config_apply_env(&c, badenv, &err) == RC_CONFIG);
	CHECK_CONTAINS(err.p, "ATSRECON_KEAP_CONCURRENCY: 99 is out of range");
	config_free(&c);
	free(cfgtext);

	/* both the value and its file in one file: refused */
	cfgtext = xasprintf("{ \"keap\": {\n \"client_secret\": \"x1234\",\n \"client_secret_file\": \"%s\" } }",
	    secret);
	CHECK(load(cfgtext, &c, &err) == RC_CONFIG);
	CHECK_CONTAINS(err.p, "c.jsonc:3: \"keap.client_secret\" is set twice");
	config_free(&c);
	free(cfgtext);

	/* a missing secret file: an error once the layers are final ... */
	CHECK(load("{ \"keap\": {\n \"client_secret_file\": \"/nonexistent/s\" } }", &c, &err) == RC_OK);
	CHECK(config_finish(&c, &err) == RC_CONFIG);
	CHECK_CONTAINS(err.p, "c.jsonc:2, from file /nonexistent/s: keap.client_secret: cannot read secret file /nonexistent/s");
	config_free(&c);
	/* ... unless a later layer set the value */
	{
		char *env2[] = { "ATSRECON_KEAP_CLIENT_SECRET=from-env-9999", NULL };
		CHECK(load("{ \"keap\": { \"client_secret_file\": \"/nonexistent/s\" } }", &c, &err) == RC_OK);
		CHECK(config_apply_env(&c, env2, &err) == RC_OK);
		CHECK(config_finish(&c, &err) == RC_OK);
		CHECK_STR(cfg_str(&c, OPT_KEAP_CLIENT_SECRET), "from-env-9999");
		config_free(&c);
	}
	unlink(secret);
	free(secret);
	log_clear_secrets();
	buf_free(&err);
	buf_free(&dump);
}

static void
test_lines(void)
{
	struct json_lines lines = { NULL, 0, 0 };
	struct buf err = BUF_INIT;
	int line = 0;
	const char *text = "{\n \"a\": 1,\n\n \"b\": [\n  true,\n  \"\\u00fc\\ud83d\\ude00\"\n ]\n}";
	cJSON *root = jsonc_parse(text, strlen(text), &lines, &line, &err);
	const cJSON *b;

	CHECK(root != NULL);
	b = json_get(root, "b");
	CHECK(json_line_of(&lines, json_get(root, "a")) == 2);
	CHECK(json_line_of(&lines, b) == 4);
	CHECK(json_line_of(&lines, cJSON_GetArrayItem(b, 1)) == 6);
	CHECK_STR(cJSON_GetArrayItem(b, 1)->valuestring, "\xc3\xbc\xf0\x9f\x98\x80");
	cJSON_Delete(root);
	json_lines_free(&lines);
	root = jsonc_parse("\"\\ud800\"", 8, &lines, &line, &err);
	CHECK(root == NULL);
	CHECK_CONTAINS(err.p, "surrogate");
	buf_free(&err);
}

int
main(void)
{
	json_init();
	log_init(LOG_ERROR, LOG_FMT_TEXT);
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	test_jsonc();
	test_errors();
	test_layers_and_secrets();
	test_lines();
	{
		char *p = xasprintf("%s/c.jsonc", tmpdir);
		unlink(p);
		free(p);
	}
	CHECK(rmdir(tmpdir) == 0);
	return t_done("test_config");
}
