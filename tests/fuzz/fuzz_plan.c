/*
 * fuzz_plan — plan files (plan.c): `atsrecon apply --plan FILE` reads a file
 * a person may have edited or truncated. A plan that reads back is counted,
 * checked against the guards, written again and read again: the second read
 * must give the same ops.
 *
 * FUZZ_MAKE_SEED=FILE writes a small plan of every op kind to FILE (the seed,
 * tests/fuzz/record.sh) and exits.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "plan.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char dir[] = "/tmp/atsrecon-fuzz-plan-XXXXXX";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seed = getenv("FUZZ_MAKE_SEED");
	struct plan p;
	size_t o;

	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	json_init();
	if (mkdtemp(dir) == NULL)
		abort();
	if (seed == NULL)
		return 0;
	memset(&p, 0, sizeof(p));
	p.linked = 100;
	o = plan_add(&p, OP_PATCH_CONTACT, "gh:1", "501", NULL,
	    xstrdup("{\"given_name\":\"Jane\",\"email_addresses\":[{\"email\":\"jane@example.com\","
	    "\"field\":\"EMAIL1\"}]}"), 0xabcULL);
	op_add_reason(&p, o, "field_mismatch", "given_name");
	plan_add(&p, OP_APPLY_TAG, "gh:1", "501", "ATS: Screen", NULL, 0);
	o = plan_add(&p, OP_UPSERT_CONTACT, "gh:2", NULL, NULL,
	    xstrdup("{\"given_name\":\"Luis\",\"family_name\":\"Garc\\u00eda L\\u00f3pez\"}"), 0);
	op_add_reason(&p, o, "missing_contact", NULL);
	o = plan_add(&p, OP_APPLY_TAG, "gh:3", "503", "ATS: Archived", NULL, 0x1234567890abcdefULL);
	plan_set_archive(&p, o, 1);
	plan_add(&p, OP_REMOVE_TAG, "gh:3", "503", "ATS: Screen", NULL, 0);
	if (plan_write(&p, seed) != RC_OK)
		abort();
	plan_free(&p);
	rmdir(dir);
	exit(0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct plan p, q;
	struct plan_counts c;
	struct guards g = { 10, 5, 100, 0 };
	struct buf err = BUF_INIT, why = BUF_INIT, out = BUF_INIT;
	char path[64];
	size_t i;
	int fd = fuzz_memfile(data, size, path);

	if (fd < 0)
		return 0;
	if (plan_read(&p, path, &err) == RC_OK) {
		p.linked = 20;
		plan_count(&p, &c);
		if (c.ops != p.n)
			abort();
		plan_check_guards(&p, &g, &why);
		g.approve = 3;
		plan_check_guards(&p, &g, &why);
		buf_addf(&out, "%s/plan.jsonl", dir);
		if (plan_write(&p, out.p) != RC_OK)
			abort();
		if (plan_read(&q, out.p, &err) != RC_OK || q.n != p.n)
			abort();	/* what we wrote reads back */
		for (i = 0; i < p.n; i++) {
			struct op a, b;
			plan_get(&p, i, &a);
			plan_get(&q, i, &b);
			if (strcmp(a.id, b.id) != 0 || a.kind != b.kind || a.precondition != b.precondition)
				abort();
		}
		plan_free(&q);
		plan_free(&p);
		unlink(out.p);
	}
	close(fd);
	buf_free(&err);
	buf_free(&why);
	buf_free(&out);
	return 0;
}
