/*
 * fuzz_codec — the state's record codec (codec.c): a record read back from
 * LMDB (or from an S3 snapshot) may be truncated or corrupt. What decodes is
 * encoded again, and that encoding must decode to the same encoding.
 *
 * FUZZ_MAKE_SEED=FILE writes the encoding of a full candidate to FILE (the
 * seed, tests/fuzz/record.sh) and stops.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ats.h"
#include "codec.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const emails[] = { "Jane.Doe@Example.com", "jane@home.example", "bad@" };
	const char *seed = getenv("FUZZ_MAKE_SEED");
	struct candidate c;
	struct buf out = BUF_INIT;
	FILE *f;

	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	if (seed == NULL)
		return 0;
	memset(&c, 0, sizeof(c));
	c.ats = xstrdup("greenhouse");
	c.id = xstrdup("10000001");
	c.first_name = xstrdup("Jane");
	c.last_name = xstrdup("Doe");
	c.preferred_name = xstrdup("JD");
	c.company = xstrdup("Acme");
	c.title = xstrdup("Engineer");
	candidate_set_emails(&c, emails, 3, 0);
	candidate_add_phone(&c, "(415) 555-0100 x12", "US");
	candidate_add_phone(&c, "+34 612 345 678", "US");
	candidate_add_custom(&c, "score", "42");
	c.app_id = xstrdup("20000001");
	c.stage_id = xstrdup("7");
	c.stage_name = xstrdup("Phone Screen");
	c.job = xstrdup("Backend Engineer");
	c.source = xstrdup("LinkedIn (Prospecting)");
	c.referrer = xstrdup("Ann Example");
	c.created_ms = 1767225600000LL;
	c.updated_ms = 1767600000000LL;
	c.applied_ms = 1767571200000LL;
	c.is_private = 1;
	candidate_set_status(&c, "active");
	codec_candidate_encode(&c, &out);
	f = fopen(seed, "wb");
	if (f == NULL || fwrite(out.p, 1, out.len, f) != out.len || fclose(f) != 0)
		abort();
	candidate_free(&c);
	buf_free(&out);
	exit(0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct candidate c, d;
	struct buf e1 = BUF_INIT, e2 = BUF_INIT;

	(void)codec_record_hash(data, size);
	if (codec_candidate_decode(data, size, &c) != 0)
		return 0;
	codec_candidate_encode(&c, &e1);
	if (codec_candidate_decode(e1.p, e1.len, &d) != 0)
		abort();	/* what we encode decodes */
	codec_candidate_encode(&d, &e2);
	if (e1.len != e2.len || memcmp(e1.p, e2.p, e1.len) != 0)
		abort();	/* and encodes the same */
	if (codec_record_hash(e1.p, e1.len) != codec_fnv1a(e1.p + CODEC_HEADER, e1.len - CODEC_HEADER))
		abort();
	candidate_free(&c);
	candidate_free(&d);
	buf_free(&e1);
	buf_free(&e2);
	return 0;
}
