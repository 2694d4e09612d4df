/* pack.c — see pack.h. */
#define _POSIX_C_SOURCE 200809L
#include "pack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "util.h"

#define TP_BLOCK 65536u
#define TP_LONG (TP_BLOCK / 4)
#define TP_MAXBLOCKS 65535u

static uint32_t
tp_block(struct textpool *tp, size_t size)
{
	if (tp->nblocks >= TP_MAXBLOCKS) {
		/* 4 GB of ids and values: far beyond any run's bounds */
		fputs("atsrecon: text store full (4 GB); aborting\n", stderr);
		abort();
	}
	tp->blocks = xrealloc(tp->blocks, (tp->nblocks + 1) * sizeof(*tp->blocks));
	tp->blocks[tp->nblocks] = xmalloc(size);
	return ++tp->nblocks;
}

uint32_t
tp_addn(struct textpool *tp, const char *s, size_t n)
{
	uint32_t h, k;
	char *at;

	if (s == NULL)
		return 0;
	for (k = 0; k < TP_RECENT; k++)
		if (tp->recent[k] != 0 && tp->recent_len[k] == n &&
		    memcmp(tp_str(tp, tp->recent[k]), s, n) == 0)
			return tp->recent[k];
	if (n + 1 > TP_LONG)
		h = tp_block(tp, n + 1) << 16;	/* its own block; cur stays */
	else {
		if (tp->cur == 0 || tp->used + n + 1 > TP_BLOCK) {
			tp->cur = tp_block(tp, TP_BLOCK);
			tp->used = 0;
		}
		h = tp->cur << 16 | tp->used;
		tp->used += (uint32_t)n + 1;
	}
	at = (char *)tp_str(tp, h);
	memcpy(at, s, n);
	at[n] = '\0';
	tp->recent[tp->next] = h;
	tp->recent_len[tp->next] = (uint32_t)n;
	tp->next = (tp->next + 1) % TP_RECENT;
	return h;
}

uint32_t
tp_add(struct textpool *tp, const char *s)
{
	return s == NULL ? 0 : tp_addn(tp, s, strlen(s));
}

void
tp_free(struct textpool *tp)
{
	uint32_t i;

	for (i = 0; i < tp->nblocks; i++)
		free(tp->blocks[i]);
	free(tp->blocks);
	memset(tp, 0, sizeof(*tp));
}

/* ------------------------------------------------------------- words */

static void
wt_place(struct wordtab *wt, uint32_t i)
{
	uint32_t m = wt->nslot - 1;
	uint32_t at = (uint32_t)codec_fnv1a(wt->v[i], strlen(wt->v[i])) & m;

	while (wt->slot[at] != 0)
		at = (at + 1) & m;
	wt->slot[at] = i + 1;
}

/* s's index + 1, or 0 */
static uint32_t
wt_find(const struct wordtab *wt, const char *s)
{
	uint32_t at, m;

	if (wt->nslot == 0)
		return 0;
	m = wt->nslot - 1;
	for (at = (uint32_t)codec_fnv1a(s, strlen(s)) & m; wt->slot[at] != 0; at = (at + 1) & m)
		if (strcmp(wt->v[wt->slot[at] - 1], s) == 0)
			return wt->slot[at];
	return 0;
}

int
wt_has(const struct wordtab *wt, const char *s)
{
	return wt_find(wt, s) != 0;
}

uint32_t
wt_intern(struct wordtab *wt, const char *s)
{
	uint32_t i = wt_find(wt, s);

	if (i != 0)
		return i - 1;
	if (wt->n >= UINT32_MAX / 2) {
		fputs("atsrecon: word table full; aborting\n", stderr);
		abort();
	}
	if ((wt->n + 1) * 2 > wt->nslot) {
		wt->nslot = wt->nslot ? wt->nslot * 2 : 64;
		free(wt->slot);
		wt->slot = xcalloc(wt->nslot, sizeof(*wt->slot));
		for (i = 0; i < wt->n; i++)
			wt_place(wt, i);
	}
	if ((wt->n & (wt->n - 1)) == 0)	/* room by doubling: at 0, 1, 2, 4, ... */
		wt->v = xrealloc(wt->v, (wt->n ? wt->n * 2 : 1) * sizeof(*wt->v));
	wt->v[wt->n] = xstrdup(s);
	wt_place(wt, (uint32_t)wt->n);
	return (uint32_t)wt->n++;
}

void
wt_free(struct wordtab *wt)
{
	strv_free(wt->v, wt->n);
	free(wt->slot);
	memset(wt, 0, sizeof(*wt));
}

/* ------------------------------------------------------------- records */

void *
recs_push(struct recs *rs)
{
	void *at;

	if ((rs->n >> RECS_SHIFT) == rs->nchunk) {
		rs->chunk = xrealloc(rs->chunk, (rs->nchunk + 1) * sizeof(*rs->chunk));
		rs->chunk[rs->nchunk++] = xmalloc(rs->size << RECS_SHIFT);
	}
	at = recs_at(rs, rs->n++);
	memset(at, 0, rs->size);
	return at;
}

void
recs_free(struct recs *rs)
{
	size_t i, size = rs->size;

	for (i = 0; i < rs->nchunk; i++)
		free(rs->chunk[i]);
	free(rs->chunk);
	memset(rs, 0, sizeof(*rs));
	rs->size = size;
}
