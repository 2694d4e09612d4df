/* Unit tests: pack.c (the text store, the word table, records in chunks). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pack.h"
#include "util.h"
#include "t.h"

static void
test_textpool(void)
{
	struct textpool tp;
	uint32_t *h = xcalloc(20000, sizeof(*h)), a, b, longh;
	char s[64], *big = xmalloc(40001);
	size_t i, bad = 0;

	memset(&tp, 0, sizeof(tp));
	CHECK(tp_add(&tp, NULL) == 0 && tp_str(&tp, 0) == NULL && tp.nblocks == 0);
	a = tp_add(&tp, "");
	CHECK(a != 0 && str_eq(tp_str(&tp, a), ""));
	/* 20,000 distinct ids: several blocks, each string whole and where it was */
	for (i = 0; i < 20000; i++) {
		snprintf(s, sizeof(s), "greenhouse:%zu-%s", i * 7919, i % 3 ? "x" : "a longer suffix");
		h[i] = tp_add(&tp, s);
	}
	for (i = 0; i < 20000; i++) {
		snprintf(s, sizeof(s), "greenhouse:%zu-%s", i * 7919, i % 3 ? "x" : "a longer suffix");
		bad += !str_eq(tp_str(&tp, h[i]), s);
	}
	CHECK(bad == 0);
	CHECK(tp.nblocks >= 6 && tp.nblocks <= 9);	/* ~460 kB in 64 kB blocks, packed */
	/* the last few are kept once; an older one is copied again */
	a = tp_add(&tp, "gh:1");
	tp_add(&tp, "7001");
	b = tp_add(&tp, "gh:1");
	CHECK(a == b);
	tp_add(&tp, "w");
	tp_add(&tp, "x");
	tp_add(&tp, "y");
	tp_add(&tp, "z");
	CHECK(tp_add(&tp, "gh:1") != a);
	/* a long one has its own block; the block being filled goes on after it */
	memset(big, 'q', 40000);
	big[40000] = '\0';
	a = tp_add(&tp, "before");
	longh = tp_add(&tp, big);
	b = tp_add(&tp, "after");
	CHECK((longh & 0xffff) == 0 && strlen(tp_str(&tp, longh)) == 40000);
	CHECK((a >> 16) == (b >> 16) && str_eq(tp_str(&tp, b), "after"));
	/* n bytes of a longer text, NUL added */
	a = tp_addn(&tp, "abcdef", 3);
	CHECK(str_eq(tp_str(&tp, a), "abc"));
	tp_free(&tp);
	CHECK(tp.nblocks == 0 && tp.blocks == NULL);
	free(h);
	free(big);
}

static void
test_wordtab(void)
{
	struct wordtab wt;
	char s[32];
	size_t i, bad = 0;

	memset(&wt, 0, sizeof(wt));
	CHECK(wt_intern(&wt, "field_mismatch") == 0);
	CHECK(wt_intern(&wt, "reported") == 1);
	CHECK(wt_intern(&wt, "field_mismatch") == 0 && wt.n == 2);
	CHECK(wt_intern(&wt, "") == 2 && str_eq(wt_str(&wt, 2), ""));
	CHECK(wt_has(&wt, "reported") && !wt_has(&wt, "Reported") && wt.n == 3);
	/* past many growths every word keeps its index (a last-64 scan would copy them) */
	for (i = 0; i < 5000; i++) {
		snprintf(s, sizeof(s), "custom:%zu", i);
		bad += wt_intern(&wt, s) != i + 3;
	}
	for (i = 0; i < 5000; i++) {
		snprintf(s, sizeof(s), "custom:%zu", i);
		bad += wt_intern(&wt, s) != i + 3 || !str_eq(wt_str(&wt, (uint32_t)(i + 3)), s);
	}
	CHECK(bad == 0 && wt.n == 5003 && wt.nslot >= 2 * wt.n);
	wt_free(&wt);
	CHECK(wt.n == 0 && wt.v == NULL);
}

struct three { uint64_t a; uint32_t b, c; };

static void
test_recs(void)
{
	struct recs rs;
	struct three *t, *first;
	size_t i, bad = 0;

	memset(&rs, 0, sizeof(rs));
	rs.size = sizeof(struct three);
	first = recs_push(&rs);
	first->a = 42;
	for (i = 1; i < 5000; i++) {
		t = recs_push(&rs);
		bad += t->a != 0 || t->b != 0;	/* zeroed */
		t->a = i;
		t->b = (uint32_t)(i * 3);
	}
	for (i = 1; i < 5000; i++) {
		t = recs_at(&rs, i);
		bad += t->a != i || t->b != i * 3;
	}
	CHECK(bad == 0 && rs.n == 5000 && rs.nchunk == 5);
	CHECK(recs_at(&rs, 0) == (void *)first && first->a == 42);	/* never moved */
	recs_free(&rs);
	CHECK(rs.n == 0 && rs.chunk == NULL && rs.size == sizeof(struct three));
}

int
main(void)
{
	test_textpool();
	test_wordtab();
	test_recs();
	return t_done("test_pack");
}
