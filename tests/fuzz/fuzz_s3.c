/*
 * fuzz_s3 — the S3 client's and the remote state's decoding of what S3 sends
 * (s3.c): error XML (Code), ETags, statuses of conditional writes, the lease
 * object (JSON) and the snapshot download. Answered from the input
 * (wire.h), in this order: GET of an object into memory, a conditional PUT,
 * a conditional DELETE, then a whole s3state_begin (lease read or take,
 * snapshot download) and s3state_end (lease release).
 *
 * s3state_commit is not called: it compacts the downloaded LMDB file, and a
 * hostile data file is state.c's concern (issue 16 defect 2).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json.h"
#include "s3.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config *
target_config(void)
{
	static struct config cfg;
	static char tmpl[] = "/tmp/atsrecon-fuzz-s3-XXXXXX";
	static struct buf ep = BUF_INIT, ca = BUF_INIT;
	const char *kv[6], *cafile = getenv("ATSRECON_TEST_CA");

	fuzz_quiet_logs();
	json_init();
	/* s3state_begin works (and sweeps) under $TMPDIR: a private one */
	if (mkdtemp(tmpl) == NULL)
		abort();
	setenv("TMPDIR", tmpl, 1);
	if (getenv("AWS_ACCESS_KEY_ID") == NULL) {
		setenv("AWS_ACCESS_KEY_ID", "AKIDFUZZ", 1);
		setenv("AWS_SECRET_ACCESS_KEY", "fuzz-secret-key", 1);
	}
	buf_addf(&ep, "ATSRECON_STATE_ENDPOINT=%s", fuzz_url("ATSRECON_TEST_S3", FUZZ_REPLAY_ORIGIN));
	kv[0] = "ATSRECON_STATE_URL=s3://atsrecon-test/fuzz";
	kv[1] = ep.p;
	kv[2] = "ATSRECON_STATE_REGION=us-east-1";
	kv[3] = "ATSRECON_HTTP_MAX_RETRIES=0";
	kv[4] = NULL;
	if (cafile != NULL) {	/* recording: the fakes' CA (s3.c has its own struct http) */
		buf_addf(&ca, "ATSRECON_HTTP_CA_FILE=%s", cafile);
		kv[4] = ca.p;
		kv[5] = NULL;
	}
	if (fuzz_config(&cfg, kv) != RC_OK)
		abort();
	return &cfg;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config *cfg;
	struct s3 *s = NULL;
	struct s3_obj o;
	struct s3_put put;
	struct buf mem = BUF_INIT;
	struct s3state *st = NULL;
	char *dir = NULL, etag[S3_ETAG_MAX];

	if (cfg == NULL)
		cfg = target_config();
	wire_load(data, size);
	if (s3_open(cfg, &s) == RC_OK) {
		memset(&o, 0, sizeof(o));
		s3_get(s, "fuzz/lease", NULL, &mem, NULL, &o);
		if (strlen(o.etag) >= sizeof(o.etag) || strlen(o.code) >= sizeof(o.code))
			abort();
		memset(&put, 0, sizeof(put));
		put.data = "{\"fuzz\":1}";
		put.len = strlen(put.data);
		put.if_none_match = 1;
		put.content_type = "application/json";
		memset(&o, 0, sizeof(o));
		s3_put(s, "fuzz/object", &put, &o);
		str_copy(etag, sizeof(etag), o.etag);
		memset(&o, 0, sizeof(o));
		s3_delete(s, "fuzz/object", etag[0] ? etag : NULL, &o);
		s3_close(s);
	}
	if (s3state_begin(cfg, &dir, &st) == RC_OK) {
		s3state_end(st);
		free(dir);
	}
	if (getenv("FUZZ_LOG") != NULL)
		fprintf(stderr, "fuzz s3: %zu requests\n", wire_requests());
	buf_free(&mem);
	wire_reset();
	return 0;
}
