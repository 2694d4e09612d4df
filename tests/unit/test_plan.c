/* Unit tests: plan.c (ids, counts, guards, plan file round trip and errors). */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "codec.h"
#include "log.h"
#include "json.h"
#include "plan.h"
#include "t.h"

static char path[] = "/tmp/atsrecon-plan-XXXXXX";

static void
write_text(const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

int
main(void)
{
	struct plan p, q;
	struct plan_counts c;
	struct guards g = { 10, 50, 500, 0 };
	struct buf why = BUF_INIT, err = BUF_INIT;
	struct op view;
	const struct op *o;
	size_t k;
	char id1[17];
	int i;

	json_init();
	log_init(LOG_ERROR, LOG_FMT_TEXT);
	CHECK(mkstemp(path) >= 0);
	memset(&p, 0, sizeof(p));
	p.linked = 100;
	k = plan_add(&p, OP_PATCH_CONTACT, "gh:1", "501", NULL, xstrdup("{\"given_name\":\"Jane\"}"), 0xabcULL);
	op_add_reason(&p, k, "field_mismatch", "given_name");
	memcpy(id1, plan_get(&p, k, &view)->id, sizeof(id1));
	{	/* the id is the hash of the op's lines (plan files of earlier versions keep theirs) */
		const char *lines = "patch_contact\ngh:1\n501\n\n{\"given_name\":\"Jane\"}";
		char want[17];
		snprintf(want, sizeof(want), "%016" PRIx64, codec_fnv1a(lines, strlen(lines)));
		CHECK_STR(id1, want);
	}
	plan_add(&p, OP_APPLY_TAG, "gh:1", "501", "ATS: Screen", NULL, 0);
	plan_add(&p, OP_UPSERT_CONTACT, "gh:2", NULL, NULL, xstrdup("{\"given_name\":\"Bo\"}"), 0);
	k = plan_add(&p, OP_APPLY_TAG, "gh:3", "503", "ATS: Archived", NULL, 0);
	plan_set_archive(&p, k, 1);

	/* ids are deterministic: the same op planned again has the same id */
	memset(&q, 0, sizeof(q));
	o = plan_get(&q, plan_add(&q, OP_PATCH_CONTACT, "gh:1", "501", NULL,
	    xstrdup("{\"given_name\":\"Jane\"}"), 1), &view);
	CHECK(strcmp(o->id, id1) == 0);
	plan_free(&q);
	memset(&q, 0, sizeof(q));
	o = plan_get(&q, plan_add(&q, OP_PATCH_CONTACT, "gh:1", "501", NULL,
	    xstrdup("{\"given_name\":\"Janet\"}"), 0), &view);
	CHECK(strcmp(o->id, id1) != 0);
	plan_free(&q);

	plan_count(&p, &c);
	CHECK(c.ops == 4 && c.creates == 1 && c.changed == 2 && c.archives == 1);
	CHECK(plan_check_guards(&p, &g, &why) == RC_OK);

	/* guards: 12 % of linked contacts change, the ceiling is 10 % */
	for (i = 0; i < 10; i++) {
		char cid[16];
		snprintf(cid, sizeof(cid), "9%02d", i);
		plan_add(&p, OP_PATCH_CONTACT, NULL, cid, NULL, xstrdup("{\"job_title\":\"x\"}"), 0);
	}
	CHECK(plan_check_guards(&p, &g, &why) == RC_GUARD);
	CHECK_CONTAINS(why.p, "guard max_change_percent: 12 of 100 linked contacts would change (12.0 %), the ceiling is 10");
	buf_reset(&why);
	g.approve = 12;		/* --approve 12 */
	CHECK(plan_check_guards(&p, &g, &why) == RC_OK);
	g.approve = 0;
	g.max_change_percent = 100;
	g.max_archives = 0;
	g.max_creates = 0;
	buf_reset(&why);
	CHECK(plan_check_guards(&p, &g, &why) == RC_GUARD);
	CHECK_CONTAINS(why.p, "guard max_archives: 1 contacts would be archived, the ceiling is 0");
	CHECK_CONTAINS(why.p, "guard max_creates: 1 contacts would be created, the ceiling is 0");

	/* round trip through the file */
	CHECK(plan_write(&p, path) == RC_OK);
	CHECK(plan_read(&q, path, &err) == RC_OK);
	CHECK(q.n == p.n);
	o = plan_get(&q, 0, &view);
	CHECK(strcmp(o->id, id1) == 0 && o->precondition == 0xabcULL);
	CHECK(o->nreasons == 1 && str_eq(op_reason(&q, o, 0), "field_mismatch:given_name"));
	CHECK(plan_get(&q, 3, &view)->archive && str_eq(view.tag, "ATS: Archived"));
	CHECK(plan_get(&q, 2, &view)->contact_id == NULL &&
	    str_eq(view.body, "{\"given_name\":\"Bo\"}"));
	plan_free(&q);

	/* Issue 16 defect 10: every field apply uses is covered; a NUL byte or
	 * trailing garbage is an error */
	{
		static const char *const edits[][2] = {
			{ ",\"archive\":true", "" },				/* archive dropped */
			{ "\"precondition\":\"0000000000000abc\"",
			  "\"precondition\":\"0000000000000000\"" },	/* precondition zeroed */
			{ "field_mismatch:given_name", "field_mismatch:family_name" },	/* reasons */
		};
		struct buf text = BUF_INIT, t2 = BUF_INIT;
		size_t e;
		CHECK(plan_write(&p, path) == RC_OK);
		CHECK(read_file(path, 1 << 20, &text) == 0);
		for (e = 0; e < ARRAY_LEN(edits); e++) {
			char *at = strstr(text.p, edits[e][0]);
			CHECK(at != NULL);
			if (at == NULL)
				continue;
			buf_reset(&t2);
			buf_add(&t2, text.p, (size_t)(at - text.p));
			buf_adds(&t2, edits[e][1]);
			buf_adds(&t2, at + strlen(edits[e][0]));
			write_text(t2.p);
			buf_reset(&err);
			CHECK(plan_read(&q, path, &err) == RC_CONFIG);	/* defect10_plan_integrity */
			CHECK_CONTAINS(err.p, "was edited");
			plan_free(&q);
		}
		/* a NUL byte: the rest of the file must not be silently dropped */
		{
			FILE *f = fopen(path, "w");
			char *nl = strchr(text.p, '\n');
			CHECK(f != NULL && nl != NULL);
			fwrite(text.p, 1, (size_t)(nl + 1 - text.p), f);
			fputc('\0', f);
			fwrite(nl + 1, 1, text.len - (size_t)(nl + 1 - text.p), f);
			fclose(f);
			buf_reset(&err);
			CHECK(plan_read(&q, path, &err) == RC_CONFIG);	/* defect10_plan_nul */
			CHECK_CONTAINS(err.p, "NUL byte");
			plan_free(&q);
		}
		/* trailing garbage after the last op, and a cut last line */
		buf_reset(&t2);
		buf_add(&t2, text.p, text.len);
		buf_adds(&t2, "garbage");
		write_text(t2.p);
		buf_reset(&err);
		CHECK(plan_read(&q, path, &err) == RC_CONFIG);	/* defect10_plan_trailing */
		plan_free(&q);
		buf_reset(&t2);
		buf_add(&t2, text.p, text.len - 1);	/* no final newline: cut short */
		write_text(t2.p);
		buf_reset(&err);
		CHECK(plan_read(&q, path, &err) == RC_CONFIG);	/* defect10_plan_trailing */
		CHECK_CONTAINS(err.p, "cut short");
		plan_free(&q);
		/* the file as written still reads */
		write_text(text.p);
		buf_reset(&err);
		CHECK(plan_read(&q, path, &err) == RC_OK && q.n == p.n && plan_get(&q, 3, &view)->archive);
		plan_free(&q);
		buf_free(&text);
		buf_free(&t2);
	}

	/* a hand-edited op is refused, with file:line */
	{
		struct buf text = BUF_INIT;
		char *at;
		CHECK(read_file(path, 1 << 20, &text) == 0);
		at = strstr(text.p, "\"Jane\"");
		CHECK(at != NULL);
		if (at != NULL)
			memcpy(at, "\"Joan\"", 6);
		write_text(text.p);
		buf_free(&text);
	}
	buf_reset(&err);
	CHECK(plan_read(&q, path, &err) == RC_CONFIG);
	CHECK_CONTAINS(err.p, ":1: op ");
	CHECK_CONTAINS(err.p, "was edited");
	write_text("\n{\"kind\":\"patch_contact\"}\n");
	buf_reset(&err);
	CHECK(plan_read(&q, path, &err) == RC_CONFIG);
	CHECK_CONTAINS(err.p, ":2: not an op");
	write_text("{\"kind\":\"apply_tag\",\"id\":\"0000000000000000\",\"contact\":\"1\"}\n");
	buf_reset(&err);
	CHECK(plan_read(&q, path, &err) == RC_CONFIG);
	CHECK_CONTAINS(err.p, ":1: apply_tag needs a \"tag\"");
	write_text("{\"kind\": truncated");
	buf_reset(&err);
	CHECK(plan_read(&q, path, &err) == RC_CONFIG);
	CHECK_CONTAINS(err.p, ":1: ");
	write_text("");
	CHECK(plan_read(&q, path, &err) == RC_OK && q.n == 0);	/* an empty plan is a plan */
	plan_free(&q);

	/* the packed ops: a reason added to an earlier op, a create's new id, a
	 * tag given up, a text store shared with another owner */
	{
		struct textpool shared;
		memset(&shared, 0, sizeof(shared));
		memset(&q, 0, sizeof(q));
		q.texts = &shared;
		k = plan_add(&q, OP_UPSERT_CONTACT, "gh:7", NULL, NULL, xstrdup("{}"), 0);
		op_add_reason(&q, k, "missing_contact", NULL);
		plan_add(&q, OP_APPLY_TAG, "gh:7", NULL, "ATS: Screen", NULL, 0);
		op_add_reason(&q, 1, "stage_tag", "ATS: Screen");
		op_add_reason(&q, k, "field_mismatch", "email");
		o = plan_get(&q, k, &view);
		CHECK(o->nreasons == 2 && str_eq(op_reason(&q, o, 0), "missing_contact") &&
		    str_eq(op_reason(&q, o, 1), "field_mismatch:email") && op_reason(&q, o, 2) == NULL);
		CHECK(str_eq(op_reason(&q, plan_get(&q, 1, &view), 0), "stage_tag:ATS: Screen"));
		plan_set_contact(&q, k, "9001");
		plan_drop_tag(&q, 1);
		plan_set_rows(&q, 1, 4, 6);
		CHECK(str_eq(plan_get(&q, k, &view)->contact_id, "9001") && view.row_hi == 0);
		CHECK(plan_get(&q, 1, &view)->tag == NULL && view.row_lo == 4 && view.row_hi == 6);
		CHECK(q.own.nblocks == 0 && shared.nblocks == 1);	/* every string in the shared one */
		plan_free(&q);
		CHECK(q.texts == &shared && str_eq(tp_str(&shared, 1 << 16), "gh:7"));
		tp_free(&shared);
	}
	plan_free(&p);
	unlink(path);
	buf_free(&why);
	buf_free(&err);
	return t_done("test_plan");
}
