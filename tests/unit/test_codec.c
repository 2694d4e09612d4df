/* Unit tests: codec.c (candidate records) and ats.c (the current-application rule). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>

#include "ats.h"
#include "codec.h"
#include "t.h"

static void
fill(struct candidate *c)
{
	memset(c, 0, sizeof(*c));
	c->ats = xstrdup("greenhouse");
	c->id = xstrdup("1001");
	c->first_name = xstrdup("J\xc3\xbcrgen");
	c->last_name = xstrdup("");
	c->emails = xcalloc(2, sizeof(char *));
	c->emails[0] = xstrdup("j@x.com");
	c->emails[1] = xstrdup("j2@y.org");
	c->nemails = 2;
	c->phones = xcalloc(1, sizeof(char *));
	c->phone_exts = xcalloc(1, sizeof(char *));
	c->phones[0] = xstrdup("+14155550100");
	c->phone_exts[0] = xstrdup("22");
	c->nphones = 1;
	c->created_ms = 1767607200000LL;
	c->updated_ms = -5;	/* negative values survive zig-zag */
	c->anonymized = 1;
	candidate_add_custom(c, "salary_band", "B2");
	c->status = xstrdup("active");
	c->applied_ms = 1767607200123LL;
	candidate_add_invalid(c, "phone", "call me", "not a phone number");
}

int
main(void)
{
	struct candidate a, b;
	struct buf enc = BUF_INIT, enc2 = BUF_INIT;
	size_t cut, bad = 0, i;

	fill(&a);
	codec_candidate_encode(&a, &enc);
	CHECK(codec_candidate_decode(enc.p, enc.len, &b) == 0);
	CHECK_STR(b.id, "1001");
	CHECK_STR(b.first_name, "J\xc3\xbcrgen");
	CHECK_STR(b.last_name, "");
	CHECK(b.preferred_name == NULL);	/* absent stays absent, "" stays "" */
	CHECK(b.nemails == 2 && str_eq(b.emails[1], "j2@y.org"));
	CHECK(b.nphones == 1 && str_eq(b.phone_exts[0], "22"));
	CHECK(b.updated_ms == -5 && b.created_ms == 1767607200000LL && b.applied_ms == 1767607200123LL);
	CHECK(b.anonymized == 1 && b.is_private == 0);
	CHECK(b.ncustom == 1 && str_eq(b.custom[0].value, "B2"));
	CHECK(b.ninvalid == 1 && str_eq(b.invalid[0].why, "not a phone number"));
	/* re-encoding gives the same bytes, and the same hash */
	codec_candidate_encode(&b, &enc2);
	CHECK(enc2.len == enc.len && memcmp(enc.p, enc2.p, enc.len) == 0);
	CHECK(codec_record_hash(enc.p, enc.len) == codec_record_hash(enc2.p, enc2.len));
	candidate_free(&b);

	/* every truncation is refused, without a crash */
	for (cut = 0; cut < enc.len; cut++)
		if (codec_candidate_decode(enc.p, cut, &b) == 0) {
			bad++;
			candidate_free(&b);
		}
	CHECK(bad == 0);
	/* every single-bit flip is refused (the hash, or the structure) */
	for (i = 0, bad = 0; i < enc.len * 8; i++) {
		enc.p[i / 8] ^= (char)(1 << (i % 8));
		if (codec_candidate_decode(enc.p, enc.len, &b) == 0) {
			bad++;
			candidate_free(&b);
		}
		enc.p[i / 8] ^= (char)(1 << (i % 8));
	}
	CHECK(bad == 0);
	/* another version of the layout: refused, never misread */
	enc.p[1] = CODEC_CANDIDATE_VERSION + 1;
	CHECK(codec_candidate_decode(enc.p, enc.len, &b) == -1);
	/* a hostile count cannot make it allocate the world */
	{
		unsigned char hostile[CODEC_HEADER + 20];
		uint64_t h;
		memset(hostile, 0, sizeof(hostile));
		hostile[0] = CODEC_CANDIDATE;
		hostile[1] = CODEC_CANDIDATE_VERSION;
		memset(hostile + CODEC_HEADER, 0, 6);
		memset(hostile + CODEC_HEADER + 6, 0xff, 9);
		hostile[CODEC_HEADER + 15] = 0x01;
		h = codec_fnv1a(hostile + CODEC_HEADER, 20);
		for (i = 0; i < 8; i++)
			hostile[2 + i] = (unsigned char)(h >> (8 * i));
		CHECK(codec_candidate_decode(hostile, sizeof(hostile), &b) == -1);
	}
	candidate_free(&a);
	buf_free(&enc);
	buf_free(&enc2);

	/* the current-application rule */
	{
		struct ats_app apps[] = {
			{ "10", 0, 5000 },	/* rejected, newest */
			{ "7", 1, 3000 },	/* active */
			{ "9", 1, 3000 },	/* active, same time, greater id */
			{ "8", 1, 1000 },
		};
		struct ats_app closed[] = { { "3", 0, 10 }, { "12", 0, 10 }, { "4", 0, 9 } };
		struct ats_app mixed[] = { { "b7", 1, 1 }, { "a9", 1, 1 } };
		struct ats_app tie[] = { { "9", 1, 3000 }, { "10", 0, 3000 } };
		CHECK(ats_pick_application(apps, 4, ATS_APP_ACTIVE_FIRST) == 2);	/* active beats newer inactive */
		CHECK(ats_pick_application(closed, 3, ATS_APP_ACTIVE_FIRST) == 1);	/* 12 > 3 numerically */
		CHECK(ats_pick_application(mixed, 2, ATS_APP_ACTIVE_FIRST) == 0);	/* "b7" > "a9" as strings */
		CHECK(ats_pick_application(apps, 0, ATS_APP_ACTIVE_FIRST) == -1);
		/* latest_updated: the newest whatever its status; ties to the greatest id */
		CHECK(ats_pick_application(apps, 4, ATS_APP_LATEST_UPDATED) == 0);
		CHECK(ats_pick_application(closed, 3, ATS_APP_LATEST_UPDATED) == 1);
		CHECK(ats_pick_application(tie, 2, ATS_APP_LATEST_UPDATED) == 1);	/* 10 > 9, status ignored */
		CHECK(ats_pick_application(tie, 2, ATS_APP_ACTIVE_FIRST) == 0);
		CHECK(ats_pick_application(apps, 0, ATS_APP_LATEST_UPDATED) == -1);
		CHECK(ats_app_better(&apps[2], &apps[0], ATS_APP_LATEST_UPDATED));
		CHECK(!ats_app_better(&apps[2], &apps[0], ATS_APP_ACTIVE_FIRST));
	}
	return t_done("test_codec");
}
