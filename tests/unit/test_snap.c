/* Unit tests: snap.c (candidate and contact records, indexes, matching order, base). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>

#include "log.h"
#include "codec.h"
#include "json.h"
#include "kct.h"
#include "snap.h"
#include "t.h"

static void
cand(struct candidate *c, const char *id, const char *email)
{
	const char *e[] = { email };

	memset(c, 0, sizeof(*c));
	c->ats = xstrdup("greenhouse");
	c->id = xstrdup(id);
	c->first_name = xstrdup("Jane");
	candidate_set_emails(c, e, email ? 1 : 0, 0);
}

struct counted {
	size_t n;
	int64_t att;
	int saw_err;
};

static enum rc
count_failed(void *arg, const char *key, int64_t attempts, const char *last_error)
{
	struct counted *c = arg;

	(void)key;
	c->n++;
	if (attempts > c->att)
		c->att = attempts;
	c->saw_err += last_error != NULL;
	return RC_OK;
}

static enum rc
count_rec(void *arg, const char *key, size_t klen, const void *val, size_t vlen)
{
	(void)key;
	(void)klen;
	(void)val;
	(void)vlen;
	((struct counted *)arg)->n++;
	return RC_OK;
}

static enum rc
join_runs(void *arg, const char *rec, size_t len)
{
	buf_add(arg, rec, len);
	return RC_OK;
}

static enum rc
join_extids(void *arg, const char *value, const char *contact_id)
{
	buf_addf(arg, "%s=%s;", value, contact_id);
	return RC_OK;
}

int
main(void)
{
	char dir[] = "/tmp/atsrecon-snap-XXXXXX";
	struct state *st = NULL;
	struct candidate c, back;
	struct buf key = BUF_INIT;
	struct contact *k1, got;
	struct strpairs base;
	char **ids;
	size_t n;
	const char *how;
	int changed;
	uint64_t h1, h2, hs;

	json_init();
	log_init(LOG_ERROR, LOG_FMT_TEXT);
	CHECK(mkdtemp(dir) != NULL);
	CHECK(state_open(dir, STATE_RW, &st) == RC_OK);

	/* candidates: stored once, "changed" only when the content changes */
	cand(&c, "1", "jane@x.com");
	CHECK(snap_put_candidate(st, &c, &changed) == RC_OK && changed);
	CHECK(snap_put_candidate(st, &c, &changed) == RC_OK && !changed);
	free(c.first_name);
	c.first_name = xstrdup("Janet");
	CHECK(snap_put_candidate(st, &c, &changed) == RC_OK && changed);
	snap_ats_key(&c, &key);
	CHECK_STR(key.p, "greenhouse:1");
	CHECK(snap_get_candidate(st, key.p, &back) == RC_OK && str_eq(back.first_name, "Janet"));
	candidate_free(&back);
	CHECK(snap_get_candidate(st, "greenhouse:404", &back) == RC_RECORD);

	/* contacts: hash, email index (normalised), external id */
	k1 = ct_new("{\"id\":\"501\",\"given_name\":\"Jane\",\"email_addresses\":[{\"email\":\"Jane@X.com\","
	    "\"field\":\"EMAIL1\"}],\"custom_fields\":[{\"id\":\"11\",\"content\":\"greenhouse:1\"}]}");
	h1 = h2 = k1->hash;
	CHECK(h1 != 0);
	CHECK(snap_put_contact(st, k1, "11", &changed) == RC_OK && changed);
	CHECK(snap_put_contact(st, k1, "11", &changed) == RC_OK && !changed && h1 == h2);
	CHECK(snap_get_contact(st, "501", &got) == RC_OK && got.hash == h1 &&
	    str_eq(got.prop[CP_GIVEN_NAME], "Jane") && got.emails.n == 1 &&
	    str_eq(got.emails.v[0].value, "Jane@X.com") && str_eq(got.emails.v[0].key, "EMAIL1"));
	CHECK(snap_contact_hash(st, "501", &hs) == RC_OK && hs == h1);
	contact_free(&got);
	/* a tag Keap confirmed: kept in step, under a new hash */
	CHECK(snap_contact_tag(st, "501", "77", 1, "11") == RC_OK);
	CHECK(snap_get_contact(st, "501", &got) == RC_OK && got.ntags == 1 &&
	    str_eq(got.tag_ids[0], "77") && got.hash != h1 && str_eq(got.prop[CP_GIVEN_NAME], "Jane"));
	contact_free(&got);
	CHECK(snap_contact_tag(st, "501", "77", 0, "11") == RC_OK);
	CHECK(snap_get_contact(st, "501", &got) == RC_OK && got.ntags == 0);
	contact_free(&got);
	CHECK(snap_put_contact(st, k1, "11", &changed) == RC_OK && changed);	/* as Keap sends it */
	/* a record an older atsrecon wrote (the hash, then Keap's compact JSON) still reads */
	{
		static const char old[] = "{\"id\":\"509\",\"given_name\":\"Old\",\"tag_ids\":[5,6]}";
		struct buf rec = BUF_INIT;
		uint64_t oh = codec_fnv1a(old, sizeof(old) - 1);
		int b;
		for (b = 0; b < 8; b++)
			buf_addc(&rec, (char)(oh >> (8 * b)));
		buf_adds(&rec, old);
		CHECK(state_put(st, DB_KEAP, "509", rec.p, rec.len) == RC_OK);
		CHECK(snap_get_contact(st, "509", &got) == RC_OK && got.hash == oh &&
		    str_eq(got.prop[CP_GIVEN_NAME], "Old") && got.ntags == 2 && str_eq(got.tag_ids[1], "6"));
		contact_free(&got);
		CHECK(snap_del_contact(st, "509", "11") == RC_OK);
		buf_free(&rec);
	}

	/* matching: by external id first (no link yet), then email */
	char *ext1[] = { "greenhouse:1" };
	size_t nbyid;
	CHECK(snap_match(st, "greenhouse:1", ext1, 1, &c, 1, &ids, &n, &nbyid, &how) == RC_OK);
	CHECK(n == 1 && str_eq(ids[0], "501") && str_eq(how, "external_id"));
	snap_ids_free(ids, n);
	CHECK(snap_match(st, "greenhouse:1", NULL, 0, &c, 1, &ids, &n, &nbyid, &how) == RC_OK);
	CHECK(n == 1 && str_eq(how, "email"));
	snap_ids_free(ids, n);
	CHECK(snap_match(st, "greenhouse:1", NULL, 0, &c, 0, &ids, &n, &nbyid, &how) == RC_OK && n == 0);	/* by_email off */
	snap_ids_free(ids, n);

	/* a second contact with the same email: both found (duplicate_contacts), the link first */
	{
		struct contact *k2 = ct_new("{\"id\":\"502\",\"email_addresses\":[{\"email\":\"jane@x.com\","
		    "\"field\":\"EMAIL2\"}]}");
		CHECK(snap_put_contact(st, k2, "11", &changed) == RC_OK);
		ct_del(k2);
	}
	CHECK(snap_link(st, "greenhouse:1", "502") == RC_OK);
	CHECK(snap_match(st, "greenhouse:1", ext1, 1, &c, 1, &ids, &n, &nbyid, &how) == RC_OK);
	CHECK(n == 2 && str_eq(ids[0], "502") && str_eq(ids[1], "501") && str_eq(how, "link"));
	CHECK(nbyid == 2);	/* 502 by the link, 501 by its external id */
	snap_ids_free(ids, n);

	/* an edit that changes the email moves the index entry */
	ct_del(k1);
	k1 = ct_new("{\"id\":\"501\",\"given_name\":\"Jane\",\"email_addresses\":[{\"email\":\"new@x.com\","
	    "\"field\":\"EMAIL1\"}],\"custom_fields\":[{\"id\":\"11\",\"content\":\"greenhouse:1\"}]}");
	CHECK(snap_put_contact(st, k1, "11", &changed) == RC_OK && changed);
	{
		struct buf v = BUF_INIT;
		CHECK(state_get(st, DB_EMAIL, "jane@x.com", &v) == RC_OK && str_eq(v.p, "502"));
		CHECK(state_get(st, DB_EMAIL, "new@x.com", &v) == RC_OK && str_eq(v.p, "501"));
		buf_free(&v);
	}
	/* a contact deleted from Keap: its link no longer matches */
	CHECK(snap_del_contact(st, "502", "11") == RC_OK);
	CHECK(snap_match(st, "greenhouse:1", NULL, 0, &c, 1, &ids, &n, &nbyid, &how) == RC_OK && n == 0);
	snap_ids_free(ids, n);

	/* base */
	snap_get_base(st, "greenhouse:1", &base);
	CHECK(base.n == 0);
	strpairs_add(&base, "given_name", "Janet");
	strpairs_add(&base, "email:EMAIL1", "a\"b@x.com");
	CHECK(snap_put_base(st, "greenhouse:1", &base) == RC_OK);
	strpairs_free(&base);
	snap_get_base(st, "greenhouse:1", &base);
	CHECK(base.n == 2 && str_eq(strpairs_get(&base, "given_name"), "Janet") &&
	    str_eq(strpairs_get(&base, "email:EMAIL1"), "a\"b@x.com"));
	strpairs_free(&base);

	/* the run's own records behind typed functions */
	{
		struct buf v = BUF_INIT;
		int64_t att = -1;
		struct counted cnt = { 0, 0, 0 };

		/* failed: absent, pending, with an error; byte format kept for old states */
		CHECK(snap_failed_get(st, "greenhouse:1", &att, &v) == RC_RECORD && att == 0);
		CHECK(!snap_failed_has(st, "greenhouse:1"));
		CHECK(snap_failed_put(st, "greenhouse:1", 0, NULL) == RC_OK);
		CHECK(state_get(st, DB_FAILED, "greenhouse:1", &v) == RC_OK && str_eq(v.p, "{\"attempts\":0}"));
		CHECK(snap_failed_put(st, "greenhouse:2", 3, "HTTP 500 \"boom\"") == RC_OK);
		CHECK(snap_failed_get(st, "greenhouse:2", &att, &v) == RC_OK && att == 3 &&
		    str_eq(v.p, "HTTP 500 \"boom\""));
		CHECK(snap_failed_has(st, "greenhouse:2"));
		CHECK(snap_failed_each(st, count_failed, &cnt) == RC_OK && cnt.n == 2 && cnt.att == 3 &&
		    cnt.saw_err == 1);
		CHECK(snap_failed_del(st, "greenhouse:2") == RC_OK && !snap_failed_has(st, "greenhouse:2"));

		/* meta */
		CHECK(snap_meta_get_int(st, "hwm_ats_ms") == 0);
		CHECK(snap_meta_put_int(st, "hwm_ats_ms", 1700000000123LL) == RC_OK);
		CHECK(snap_meta_get_int(st, "hwm_ats_ms") == 1700000000123LL);
		CHECK(snap_meta_put(st, "ats_sync", "tok") == RC_OK);
		CHECK(snap_meta_get(st, "ats_sync", &v) == RC_OK && str_eq(v.p, "tok"));
		CHECK(snap_meta_put(st, "odd", "x1") == RC_OK && snap_meta_get_int(st, "odd") == 0);

		/* runs, in id order */
		CHECK(snap_run_put(st, "r2", "{\"b\":2}", 7) == RC_OK);
		CHECK(snap_run_put(st, "r1", "{\"a\":1}", 7) == RC_OK);
		buf_reset(&v);
		CHECK(snap_run_each(st, join_runs, &v) == RC_OK && str_eq(v.p, "{\"a\":1}{\"b\":2}"));

		/* an old version's journal: cleared, counted */
		CHECK(state_put(st, DB_JOURNAL, "op1", "{}", 2) == RC_OK);
		CHECK(state_put(st, DB_JOURNAL, "op2", "{}", 2) == RC_OK);
		n = 9;
		CHECK(snap_journal_clear(st, &n) == RC_OK && n == 2);
		CHECK(snap_journal_clear(st, &n) == RC_OK && n == 0);

		/* links, counted and reversed; the external-id and email indexes */
		CHECK(snap_link(st, "greenhouse:1", "501") == RC_OK);
		CHECK(snap_count_linked(st) == 1);
		CHECK(snap_contact_linked(st, "501", &v) == RC_OK && str_eq(v.p, "greenhouse:1"));
		CHECK(snap_contact_linked(st, "999", &v) == RC_RECORD);
		buf_reset(&v);
		CHECK(snap_extid_each(st, join_extids, &v) == RC_OK && str_eq(v.p, "greenhouse:1=501;"));
		CHECK(snap_email_contacts(st, "new@x.com", &ids, &n) == RC_OK && n == 1 && str_eq(ids[0], "501"));
		snap_ids_free(ids, n);
		CHECK(snap_email_contacts(st, "none@x.com", &ids, &n) == RC_OK && n == 0);
		snap_ids_free(ids, n);

		/* candidates: present, walked, paged, forgotten */
		CHECK(snap_has_candidate(st, "greenhouse:1") && !snap_has_candidate(st, "greenhouse:9"));
		cnt.n = 0;
		CHECK(snap_candidates_each(st, count_rec, &cnt) == RC_OK && cnt.n == 1);
		{
			size_t vis = 0;
			cnt.n = 0;
			CHECK(snap_candidates_page(st, "greenhouse:1", 10, count_rec, &cnt, &vis) == RC_OK &&
			    vis == 0 && cnt.n == 0);
		}
		cnt.n = 0;
		CHECK(snap_contacts_each(st, count_rec, &cnt) == RC_OK && cnt.n == 1);
		CHECK(snap_batch_begin(st) == RC_OK);
		CHECK(snap_forget_candidate(st, "greenhouse:1") == RC_OK);
		snap_batch_abort(st);	/* dropped whole */
		CHECK(snap_has_candidate(st, "greenhouse:1"));
		CHECK(snap_batch_begin(st) == RC_OK && snap_forget_candidate(st, "greenhouse:1") == RC_OK &&
		    snap_batch_commit(st) == RC_OK);
		CHECK(!snap_has_candidate(st, "greenhouse:1"));
		buf_free(&v);
	}

	ct_del(k1);
	candidate_free(&c);
	buf_free(&key);
	state_close(st);
	{
		char *cmd = xasprintf("rm -rf %s", dir);
		CHECK(system(cmd) == 0);
		free(cmd);
	}
	return t_done("test_snap");
}
