/*
 * spill.c — records grouped by key on disk (spill.h).
 *
 * A record in the file: u32 length of the rest (host order: the file lives
 * only as long as the pull), the key and a NUL, a flag byte (0; 1 a mark for
 * a payload too long to keep), then the payload.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "spill.h"
#include "util.h"

#define SPILL_ARENA (4u << 20)
#define SPILL_RBUF (16u << 10)	/* a run's read buffer; grown for a longer record */
#define SPILL_LEN_MAX (SPILL_REC_MAX + SPILL_KEY_MAX + 2)

struct run_rdr {
	off_t start, pos, end;	/* the run in the file; pos: the next byte to read */
	char *buf;
	size_t cap, len, at;	/* buf's size, bytes in it, start of the current record */
};

struct spill {
	int fd;
	char *what;
	char *arena;
	size_t used;
	size_t *recs;		/* offsets of the arena's records */
	size_t nrecs, caprecs;
	off_t end;		/* bytes written */
	struct run_rdr *runs;
	size_t nruns;
	int failed;
	long records;
};

int
spill_key_cmp(const char *a, const char *b)
{
	size_t la = strspn(a, "0123456789"), lb = strspn(b, "0123456789");
	int na = la > 0 && a[la] == '\0' && (a[0] != '0' || la == 1);
	int nb = lb > 0 && b[lb] == '\0' && (b[0] != '0' || lb == 1);

	if (na && nb) {
		if (la != lb)
			return la < lb ? -1 : 1;
		return memcmp(a, b, la);
	}
	if (na != nb)
		return na ? -1 : 1;
	return strcmp(a, b);
}

struct spill *
spill_new(const char *dir, const char *what)
{
	struct spill *sp;
	struct stat st;
	char *path;
	int fd;

	if (dir == NULL || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		dir = getenv("TMPDIR");
		if (dir == NULL || *dir == '\0')
			dir = "/tmp";
	}
	path = xasprintf("%s/.atsrecon-spill-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0) {
		log_warn("spill", "%s: cannot make a temporary file in %s: %s", what, dir, strerror(errno));
		free(path);
		return NULL;
	}
	unlink(path);	/* gone with the process, whatever happens */
	free(path);
	sp = xcalloc(1, sizeof(*sp));
	sp->fd = fd;
	sp->what = xstrdup(what);
	sp->arena = xmalloc(SPILL_ARENA);
	return sp;
}

static void
drop_runs(struct spill *sp)
{
	size_t i;

	for (i = 0; i < sp->nruns; i++)
		free(sp->runs[i].buf);
	free(sp->runs);
	sp->runs = NULL;
	sp->nruns = 0;
}

void
spill_free(struct spill *sp)
{
	if (sp == NULL)
		return;
	close(sp->fd);
	drop_runs(sp);
	free(sp->arena);
	free(sp->recs);
	free(sp->what);
	free(sp);
}

static void
fail(struct spill *sp, const char *doing)
{
	if (!sp->failed)
		log_warn("spill", "%s: %s the temporary file: %s", sp->what, doing,
		    errno ? strerror(errno) : "unexpected contents");
	sp->failed = 1;
}

static const char *sort_base;

static int
rec_desc(const void *x, const void *y)
{
	return spill_key_cmp(sort_base + *(const size_t *)y + 4, sort_base + *(const size_t *)x + 4);
}

static int
write_all(int fd, const char *p, size_t n, off_t at)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, at);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
		at += w;
	}
	return 0;
}

/* The arena, sorted, as one more run. */
static void
flush(struct spill *sp)
{
	struct buf out = BUF_INIT;
	off_t start = sp->end;
	size_t i;

	if (sp->nrecs == 0 || sp->failed) {
		sp->nrecs = sp->used = 0;
		return;
	}
	sort_base = sp->arena;
	qsort(sp->recs, sp->nrecs, sizeof(*sp->recs), rec_desc);
	for (i = 0; i < sp->nrecs && !sp->failed; i++) {
		uint32_t len;
		memcpy(&len, sp->arena + sp->recs[i], 4);
		buf_add(&out, sp->arena + sp->recs[i], 4 + (size_t)len);
		if (out.len >= (256u << 10) || i + 1 == sp->nrecs) {
			errno = 0;
			if (write_all(sp->fd, out.p, out.len, sp->end) != 0)
				fail(sp, "writing");
			sp->end += (off_t)out.len;
			out.len = 0;
		}
	}
	buf_free(&out);
	sp->runs = xrealloc(sp->runs, (sp->nruns + 1) * sizeof(*sp->runs));
	memset(&sp->runs[sp->nruns], 0, sizeof(sp->runs[0]));
	sp->runs[sp->nruns].start = sp->runs[sp->nruns].pos = start;
	sp->runs[sp->nruns].end = sp->end;
	sp->nruns++;
	sp->nrecs = sp->used = 0;
}

int
spill_add(struct spill *sp, const char *key, const void *payload, size_t len)
{
	size_t kl = strlen(key), total;
	int mark = len > SPILL_REC_MAX;
	uint32_t rl;
	char *p;

	if (sp->failed || kl > SPILL_KEY_MAX)
		return 0;
	if (mark)
		len = 0;
	total = 4 + kl + 2 + len;
	if (sp->used + total > SPILL_ARENA)
		flush(sp);
	if (sp->nrecs == sp->caprecs) {
		sp->caprecs = sp->caprecs ? sp->caprecs * 2 : 4096;
		sp->recs = xrealloc(sp->recs, sp->caprecs * sizeof(*sp->recs));
	}
	p = sp->arena + sp->used;
	rl = (uint32_t)(total - 4);
	memcpy(p, &rl, 4);
	memcpy(p + 4, key, kl + 1);
	p[4 + kl + 1] = (char)mark;
	if (len > 0)
		memcpy(p + 4 + kl + 2, payload, len);
	sp->recs[sp->nrecs++] = sp->used;
	sp->used += total;
	sp->records++;
	return 1;
}

int
spill_finish(struct spill *sp)
{
	flush(sp);
	return sp->failed ? -1 : 0;
}

void
spill_reset(struct spill *sp)
{
	drop_runs(sp);
	sp->nrecs = sp->used = 0;
	sp->end = 0;
	sp->records = 0;
	errno = 0;
	if (ftruncate(sp->fd, 0) != 0)
		fail(sp, "emptying");
}

void
spill_rewind(struct spill *sp)
{
	size_t i;

	for (i = 0; i < sp->nruns; i++) {
		sp->runs[i].pos = sp->runs[i].start;
		sp->runs[i].len = sp->runs[i].at = 0;
	}
}

int
spill_failed(const struct spill *sp)
{
	return sp->failed;
}

long
spill_records(const struct spill *sp)
{
	return sp->records;
}

size_t
spill_runs(const struct spill *sp)
{
	return sp->nruns;
}

/* The current record of run r (at its length word), or NULL at its end. */
static const char *
head(struct spill *sp, struct run_rdr *r)
{
	uint32_t len = 0;

	if (r->buf == NULL) {
		r->cap = SPILL_RBUF;
		r->buf = xmalloc(r->cap);
	}
	for (;;) {
		size_t have = r->len - r->at, want;
		ssize_t got;
		if (have >= 4) {
			memcpy(&len, r->buf + r->at, 4);
			if (len < 3 || len > SPILL_LEN_MAX) {
				errno = 0;
				fail(sp, "reading");
				return NULL;
			}
			if (have >= 4 + (size_t)len) {
				const char *rec = r->buf + r->at, *z = memchr(rec + 4, '\0', len);
				if (z == NULL || (size_t)(z - (rec + 4)) > (size_t)len - 2) {
					errno = 0;
					fail(sp, "reading");
					return NULL;
				}
				return rec;
			}
		}
		if (r->pos >= r->end) {
			if (have > 0) {
				errno = 0;
				fail(sp, "reading");	/* a cut record */
			}
			return NULL;
		}
		memmove(r->buf, r->buf + r->at, have);
		r->len = have;
		r->at = 0;
		if (have >= 4 && 4 + (size_t)len > r->cap) {
			r->cap = 4 + (size_t)len;	/* at most SPILL_LEN_MAX + 4 */
			r->buf = xrealloc(r->buf, r->cap);
		}
		want = r->cap - have;
		if ((off_t)want > r->end - r->pos)
			want = (size_t)(r->end - r->pos);
		got = pread(sp->fd, r->buf + have, want, r->pos);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			fail(sp, "reading");
			return NULL;
		}
		r->len += (size_t)got;
		r->pos += got;
	}
}

int
spill_take(struct spill *sp, const char *key, spill_rec_fn fn, void *arg)
{
	size_t i;
	int bits = 0;

	for (i = 0; i < sp->nruns && !sp->failed; i++) {
		struct run_rdr *r = &sp->runs[i];
		const char *rec;
		int c;
		while ((rec = head(sp, r)) != NULL && (c = spill_key_cmp(rec + 4, key)) >= 0) {
			uint32_t len;
			size_t kl = strlen(rec + 4);
			memcpy(&len, rec, 4);
			if (c == 0) {
				bits |= SPILL_SEEN;
				if (rec[4 + kl + 1] != 0)
					bits |= SPILL_LONG;
				else if (fn != NULL)
					fn(arg, rec + 4 + kl + 2, (size_t)len - kl - 2);
			}
			r->at += 4 + (size_t)len;
		}
	}
	return bits;
}

int
spill_next_key(struct spill *sp, char *key)
{
	const char *best = NULL;
	size_t i;

	for (i = 0; i < sp->nruns && !sp->failed; i++) {
		const char *rec = head(sp, &sp->runs[i]);
		if (rec != NULL && (best == NULL || spill_key_cmp(rec + 4, best) > 0))
			best = rec + 4;
	}
	if (best == NULL)
		return 0;
	snprintf(key, SPILL_KEY_MAX + 1, "%s", best);
	return 1;
}
