/*
 * pack.h — compact stores for the records a run keeps by the thousand (the
 * plan's ops, the report's rows): short strings packed in blocks and named by
 * 32-bit handles, few distinct words kept once and named by their index, and
 * fixed-size records in chunks (no copy when they grow, no room left unused
 * beyond the last chunk). docs/perf-notes.md "Packed ops and rows".
 */
#ifndef ATSRECON_PACK_H
#define ATSRECON_PACK_H

#include <stddef.h>
#include <stdint.h>

/*
 * Strings in 64 kB blocks (one longer than 16 kB has a block of its own),
 * freed all at once. A handle is (block + 1) << 16 | offset; 0 is NULL. The
 * last few strings added are remembered: adding one of them again gives the
 * same handle (an op and its report rows name one candidate: it is kept once).
 */
#define TP_RECENT 4
struct textpool {
	char **blocks;
	uint32_t nblocks;
	uint32_t cur;		/* the block being filled, + 1 (0: none yet) */
	uint32_t used;		/* bytes used in it */
	uint32_t recent[TP_RECENT], recent_len[TP_RECENT];
	unsigned next;		/* the slot of recent[] to overwrite next */
};

uint32_t tp_add(struct textpool *, const char *s);	/* s NULL: 0 */
uint32_t tp_addn(struct textpool *, const char *s, size_t n);	/* n bytes, NUL added */
static inline const char *
tp_str(const struct textpool *tp, uint32_t h)
{
	return h == 0 ? (const char *)0 : tp->blocks[(h >> 16) - 1] + (h & 0xffff);
}
void tp_free(struct textpool *);

/* Distinct words, each kept once, by index (a hash table: O(1) a lookup). */
struct wordtab {
	char **v;		/* in first-seen order */
	size_t n;
	uint32_t *slot;		/* open addressing: index + 1, 0 empty */
	uint32_t nslot;		/* a power of two, at least twice n */
};

uint32_t wt_intern(struct wordtab *, const char *s);
int wt_has(const struct wordtab *, const char *s);
static inline const char *
wt_str(const struct wordtab *wt, uint32_t i)
{
	return wt->v[i];
}
void wt_free(struct wordtab *);

/* Records of one size in chunks of 1,024: a record's address never changes. */
#define RECS_SHIFT 10
struct recs {
	char **chunk;
	size_t n, nchunk;
	size_t size;		/* bytes a record (set before the first recs_push) */
};

void *recs_push(struct recs *);		/* a zeroed record at the end */
static inline void *
recs_at(const struct recs *rs, size_t i)
{
	return rs->chunk[i >> RECS_SHIFT] + (i & ((1u << RECS_SHIFT) - 1)) * rs->size;
}
void recs_free(struct recs *);

#endif
