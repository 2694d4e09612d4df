/* Unit tests: extid.c (the spellings of the external id, DESIGN.md §4). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>

#include "extid.h"
#include "t.h"

static void
written(const char *fmt, const char *ats, const char *id, const char *want)
{
	struct buf b = BUF_INIT;

	extid_format(fmt, ats, id, &b);
	CHECK_STR(b.p, want);
	buf_free(&b);
}

static void
parses(const char *fmt, const char *ats, const char *value, const char *want)
{
	struct buf b = BUF_INIT;
	int ok = extid_parse(fmt, ats, value, &b);

	if (want == NULL)
		CHECK(!ok);
	else {
		CHECK(ok);
		CHECK_STR(b.p, want);
	}
	buf_free(&b);
}

int
main(void)
{
	char *sp[EXTID_MAX];
	size_t n, i;

	/* written: the ATS's own id by default, as a previous integration left it */
	written("{id}", "greenhouse", "10000123", "10000123");
	written("{ats}:{id}", "greenhouse", "10000123", "greenhouse:10000123");
	written("GH-{id}", "greenhouse", "7", "GH-7");
	written("", "lever", "a1b2", "a1b2");

	/* read: the bare id and <ats>:<id> always name the candidate */
	parses("{id}", "greenhouse", "10000123", "10000123");
	parses("{id}", "greenhouse", " 10000123 ", "10000123");
	parses("{id}", "greenhouse", "greenhouse:10000123", "10000123");
	parses("{ats}:{id}", "greenhouse", "10000123", "10000123");
	parses("GH-{id}", "greenhouse", "GH-7", "7");
	parses("GH-{id}", "greenhouse", "greenhouse:7", "7");
	/* another source's candidate, or nothing */
	parses("{id}", "greenhouse", "lever:a1b2", NULL);
	parses("{id}", "greenhouse", "   ", NULL);
	parses("{id}", "greenhouse", "", NULL);
	parses("{id}", "greenhouse", NULL, NULL);
	/* a Lever uuid, bare */
	parses("{id}", "lever", "250d8f03-738a-4bba-a671-8a3d73477145",
	    "250d8f03-738a-4bba-a671-8a3d73477145");

	CHECK(extid_names("{id}", "greenhouse", "10000123", "greenhouse:10000123"));
	CHECK(extid_names("{id}", "greenhouse", "10000123", "10000123"));
	CHECK(!extid_names("{id}", "greenhouse", "10000123", "10000124"));
	CHECK(!extid_names("{id}", "greenhouse", "10000123", "lever:10000123"));
	CHECK(!extid_names("{id}", "greenhouse", "1", "10000123"));

	/* the spellings looked up in the snapshot's index, without repeats */
	n = extid_spellings("{id}", "greenhouse", "5", sp);
	CHECK(n == 2);
	CHECK_STR(sp[0], "5");
	CHECK_STR(sp[1], "greenhouse:5");
	for (i = 0; i < n; i++)
		free(sp[i]);
	n = extid_spellings("GH-{id}", "greenhouse", "5", sp);
	CHECK(n == 3);
	CHECK_STR(sp[0], "GH-5");
	for (i = 0; i < n; i++)
		free(sp[i]);
	return t_done("test_extid");
}
