/*
 * Tests: spill.c — records grouped by key on disk: the key order, every
 * record back under its key across several sorted runs, keys walked in
 * descending order, marks for payloads too long to keep, reset and rewind,
 * and no file when the directory cannot hold one.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "spill.h"
#include "t.h"
#include "util.h"

#define NKEYS 3000
#define PER_KEY 80		/* 240,000 records of ~35 bytes: more than one 4 MB run */

static void
key_of(int i, char *out, size_t n)
{
	if (i % 7 == 0)
		snprintf(out, n, "k-%05d", i);	/* text keys sort above numbers */
	else
		snprintf(out, n, "%d", i * 13 + 1);
}

struct tally {
	const char *key;
	long n, bad;
	size_t last_len;
};

static void
count_rec(void *arg, const char *p, size_t len)
{
	struct tally *t = arg;
	char want[96];

	snprintf(want, sizeof(want), "payload of %s #", t->key);
	if (len < strlen(want) || memcmp(p, want, strlen(want)) != 0)
		t->bad++;
	t->n++;
	t->last_len = len;
}

static void
test_order(void)
{
	CHECK(spill_key_cmp("9", "10") < 0);
	CHECK(spill_key_cmp("100", "99") > 0);
	CHECK(spill_key_cmp("12", "12") == 0);
	CHECK(spill_key_cmp("abc", "99999999999999999999") > 0);	/* text above numbers */
	CHECK(spill_key_cmp("007", "7") > 0);	/* a leading zero is text */
	CHECK(spill_key_cmp("a", "b") < 0);
}

static void
test_groups(void)
{
	struct spill *sp = spill_new(NULL, "test");
	char key[SPILL_KEY_MAX + 1], big[SPILL_KEY_MAX + 8], *pay;
	int i, j, *order, walked = 0, desc_ok = 1, all_ok = 1, add_bad = 0;
	char prev[SPILL_KEY_MAX + 1] = "";
	struct tally t;

	CHECK(sp != NULL);
	if (sp == NULL)
		return;
	/* records arrive interleaved across keys, as a listing by another id would give them */
	order = xcalloc(NKEYS, sizeof(*order));
	for (i = 0; i < NKEYS; i++)
		order[i] = (i * 7919) % NKEYS;
	for (j = 0; j < PER_KEY; j++)
		for (i = 0; i < NKEYS; i++) {
			char p[96];
			key_of(order[i], key, sizeof(key));
			snprintf(p, sizeof(p), "payload of %s #%d", key, j);
			add_bad += spill_add(sp, key, p, strlen(p)) != 1;
		}
	CHECK(add_bad == 0);
	/* a key too long is not kept; a payload too long is kept as a mark */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(spill_add(sp, big, "p", 1) == 0);
	pay = xcalloc(1, SPILL_REC_MAX + 2);
	memset(pay, 'y', SPILL_REC_MAX + 1);
	CHECK(spill_add(sp, "k-long", pay, SPILL_REC_MAX + 1) == 1);
	CHECK(spill_add(sp, "k-long", "payload of k-long #0", 20) == 1);
	/* a payload larger than a run's first read buffer (it grows) */
	memcpy(pay, "payload of k-big #", 18);
	CHECK(spill_add(sp, "k-big", pay, 40000) == 1);
	free(pay);
	CHECK(spill_finish(sp) == 0);
	CHECK(spill_runs(sp) >= 2);
	CHECK(spill_records(sp) == (long)NKEYS * PER_KEY + 3);

	/* walk every key, greatest first: each has all its records, and only its own */
	while (spill_next_key(sp, key)) {
		int bits;
		if (prev[0] != '\0' && spill_key_cmp(key, prev) >= 0)
			desc_ok = 0;
		snprintf(prev, sizeof(prev), "%s", key);
		memset(&t, 0, sizeof(t));
		t.key = key;
		bits = spill_take(sp, key, count_rec, &t);
		if (strcmp(key, "k-big") == 0) {
			CHECK(bits == SPILL_SEEN && t.n == 1 && t.bad == 0 && t.last_len == 40000);
			continue;
		}
		if (strcmp(key, "k-long") == 0) {
			CHECK(bits == (SPILL_SEEN | SPILL_LONG) && t.n == 1 && t.bad == 0);
			continue;
		}
		if (bits != SPILL_SEEN || t.n != PER_KEY || t.bad != 0)
			all_ok = 0;
		walked++;
	}
	CHECK(desc_ok);
	CHECK(all_ok);
	CHECK(walked == NKEYS);
	CHECK(!spill_failed(sp));

	/* rewind; take some keys in descending order, skipping others; an absent key */
	spill_rewind(sp);
	key_of(NKEYS - 1, key, sizeof(key));	/* 38988: the greatest number */
	memset(&t, 0, sizeof(t));
	t.key = key;
	CHECK(spill_take(sp, key, count_rec, &t) == SPILL_SEEN && t.n == PER_KEY && t.bad == 0);
	CHECK(spill_take(sp, "38987", count_rec, &t) == 0);
	key_of(1, key, sizeof(key));	/* 14: near the end */
	memset(&t, 0, sizeof(t));
	t.key = key;
	CHECK(spill_take(sp, key, count_rec, &t) == SPILL_SEEN && t.n == PER_KEY);
	/* a key above one already passed is not found again (the caller's order) */
	CHECK(spill_take(sp, "38988", count_rec, &t) == 0);

	/* reset: empty */
	spill_reset(sp);
	CHECK(spill_records(sp) == 0);
	CHECK(spill_add(sp, "5", "payload of 5 #0", 15) == 1);
	CHECK(spill_finish(sp) == 0);
	CHECK(spill_next_key(sp, key) && strcmp(key, "5") == 0);
	memset(&t, 0, sizeof(t));
	t.key = "5";
	CHECK(spill_take(sp, "5", count_rec, &t) == SPILL_SEEN && t.n == 1 && t.bad == 0);
	CHECK(!spill_next_key(sp, key));
	free(order);
	spill_free(sp);
}

static void
test_no_dir(void)
{
	const char *old = getenv("TMPDIR");
	char *keep = old != NULL ? xstrdup(old) : NULL;

	setenv("TMPDIR", "/nonexistent-atsrecon-spill", 1);
	CHECK(spill_new("/also-nonexistent", "test") == NULL);
	if (keep != NULL)
		setenv("TMPDIR", keep, 1);
	else
		unsetenv("TMPDIR");
	free(keep);
	spill_free(NULL);
}

int
main(void)
{
	log_init(LOG_ERROR, LOG_FMT_TEXT);
	test_order();
	test_groups();
	test_no_dir();
	return t_done("test_spill");
}
