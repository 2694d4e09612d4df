/* codec.c — see codec.h. */
#include "codec.h"

#include <stdlib.h>
#include <string.h>

uint64_t
codec_fnv1a_more(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t
codec_fnv1a(const void *data, size_t len)
{
	return codec_fnv1a_more(CODEC_FNV_START, data, len);
}

static void
put_varint(struct buf *b, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;

	do {
		tmp[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			tmp[n] |= 0x80;
		n++;
	} while (v != 0);
	buf_add(b, tmp, n);
}

static void
put_i64(struct buf *b, int64_t v)
{
	put_varint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));	/* zig-zag */
}

/* A string: varint (len + 1), 0 meaning NULL. */
static void
put_str(struct buf *b, const char *s)
{
	size_t n;

	if (s == NULL) {
		put_varint(b, 0);
		return;
	}
	n = strlen(s);
	put_varint(b, (uint64_t)n + 1);
	buf_add(b, s, n);
}

static void
put_strv(struct buf *b, char *const *v, size_t n)
{
	size_t i;

	put_varint(b, n);
	for (i = 0; i < n; i++)
		put_str(b, v[i]);
}

/* Fills in the header of the record that starts at out->p + at. */
static void
seal_record(struct buf *out, size_t at, enum codec_kind kind, int version)
{
	unsigned char hdr[CODEC_HEADER];
	uint64_t h = codec_fnv1a(out->p + at + CODEC_HEADER, out->len - at - CODEC_HEADER);
	size_t i;

	hdr[0] = (unsigned char)kind;
	hdr[1] = (unsigned char)version;
	for (i = 0; i < 8; i++)
		hdr[2 + i] = (unsigned char)(h >> (8 * i));
	memcpy(out->p + at, hdr, sizeof(hdr));
}

void
codec_candidate_encode(const struct candidate *c, struct buf *out)
{
	unsigned char hdr[CODEC_HEADER];
	size_t i, at = out->len;

	/* written in place after a header filled in at the end: no second buffer,
	 * and room for a usual record at once (not grown a few bytes at a time) */
	buf_reserve(out, 256);
	memset(hdr, 0, sizeof(hdr));
	buf_add(out, hdr, sizeof(hdr));
	put_str(out, c->ats);
	put_str(out, c->id);
	put_str(out, c->first_name);
	put_str(out, c->last_name);
	put_str(out, c->preferred_name);
	put_str(out, c->full_name);
	put_strv(out, c->emails, c->nemails);
	put_strv(out, c->phones, c->nphones);
	put_strv(out, c->phone_exts, c->nphones);
	put_str(out, c->company);
	put_str(out, c->title);
	put_i64(out, c->created_ms);
	put_i64(out, c->updated_ms);
	put_varint(out, (uint64_t)((c->anonymized ? 1 : 0) | (c->is_private ? 2 : 0)));
	put_varint(out, c->ncustom);
	for (i = 0; i < c->ncustom; i++) {
		put_str(out, c->custom[i].key);
		put_str(out, c->custom[i].value);
	}
	put_str(out, c->app_id);
	put_str(out, c->stage_id);
	put_str(out, c->stage_name);
	put_str(out, c->status);
	put_str(out, c->job);
	put_str(out, c->source);
	put_str(out, c->referrer);
	put_i64(out, c->applied_ms);
	put_varint(out, c->ninvalid);
	for (i = 0; i < c->ninvalid; i++) {
		put_str(out, c->invalid[i].field);
		put_str(out, c->invalid[i].value);
		put_str(out, c->invalid[i].why);
	}
	seal_record(out, at, CODEC_CANDIDATE, CODEC_CANDIDATE_VERSION);
}

static void
put_items(struct buf *b, const struct contact_list *l)
{
	size_t i;

	put_varint(b, l->n);
	for (i = 0; i < l->n; i++) {
		put_str(b, l->v[i].key);
		put_str(b, l->v[i].value);
		put_str(b, l->v[i].keep);
	}
}

void
codec_contact_encode(const struct contact *c, struct buf *out)
{
	unsigned char hdr[CODEC_HEADER];
	size_t i, at = out->len;

	buf_reserve(out, 256);
	memset(hdr, 0, sizeof(hdr));
	buf_add(out, hdr, sizeof(hdr));
	put_varint(out, c->hash);
	put_str(out, c->id);
	put_varint(out, CP__MAX);
	for (i = 0; i < CP__MAX; i++)
		put_str(out, c->prop[i]);
	put_items(out, &c->emails);
	put_items(out, &c->phones);
	put_items(out, &c->customs);
	put_strv(out, c->tag_ids, c->ntags);
	put_str(out, c->rest);
	seal_record(out, at, CODEC_CONTACT, CODEC_CONTACT_VERSION);
}

uint64_t
codec_record_hash(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0;
	int i;

	if (len < CODEC_HEADER)
		return 0;
	for (i = 7; i >= 0; i--)
		h = (h << 8) | p[2 + i];
	return h;
}

/* --- decoding, bounds-checked --- */

struct rd {
	const unsigned char *p, *end;
	int bad;
};

static uint64_t
get_varint(struct rd *r)
{
	uint64_t v = 0;
	int shift = 0;

	while (!r->bad) {
		unsigned char c;
		if (r->p >= r->end || shift > 63) {
			r->bad = 1;
			break;
		}
		c = *r->p++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
		shift += 7;
	}
	return 0;
}

static int64_t
get_i64(struct rd *r)
{
	uint64_t z = get_varint(r);

	return (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
}

static char *
get_str(struct rd *r)
{
	uint64_t n = get_varint(r);
	char *s;

	if (r->bad || n == 0)
		return NULL;
	n--;
	if (n > (uint64_t)(r->end - r->p) || memchr(r->p, '\0', (size_t)n) != NULL) {
		r->bad = 1;
		return NULL;
	}
	s = xstrndup((const char *)r->p, (size_t)n);
	r->p += n;
	return s;
}

/* A count of items each at least min_bytes long: refuses counts the record cannot hold. */
static size_t
get_count(struct rd *r, size_t min_bytes)
{
	uint64_t n = get_varint(r);

	if (r->bad || n > (uint64_t)(r->end - r->p) / (min_bytes ? min_bytes : 1)) {
		r->bad = 1;
		return 0;
	}
	return (size_t)n;
}

static char **
get_strv(struct rd *r, size_t n)
{
	char **v = xcalloc(n + 1, sizeof(*v));
	size_t i;

	for (i = 0; i < n && !r->bad; i++) {
		v[i] = get_str(r);
		if (v[i] == NULL)
			v[i] = xstrdup("");
	}
	return v;
}

int
codec_candidate_decode(const void *data, size_t len, struct candidate *c)
{
	struct rd r;
	const unsigned char *p = data;
	size_t i, n;
	uint64_t flags;

	memset(c, 0, sizeof(*c));
	if (len < CODEC_HEADER || p[0] != CODEC_CANDIDATE || p[1] != CODEC_CANDIDATE_VERSION ||
	    codec_fnv1a(p + CODEC_HEADER, len - CODEC_HEADER) != codec_record_hash(data, len))
		return -1;
	r.p = p + CODEC_HEADER;
	r.end = p + len;
	r.bad = 0;
	c->ats = get_str(&r);
	c->id = get_str(&r);
	c->first_name = get_str(&r);
	c->last_name = get_str(&r);
	c->preferred_name = get_str(&r);
	c->full_name = get_str(&r);
	n = get_count(&r, 1);
	c->emails = get_strv(&r, n);
	c->nemails = n;
	n = get_count(&r, 1);
	c->phones = get_strv(&r, n);
	c->nphones = n;
	if (get_count(&r, 1) != n)
		r.bad = 1;
	c->phone_exts = get_strv(&r, n);
	c->company = get_str(&r);
	c->title = get_str(&r);
	c->created_ms = get_i64(&r);
	c->updated_ms = get_i64(&r);
	flags = get_varint(&r);
	c->anonymized = (flags & 1) != 0;
	c->is_private = (flags & 2) != 0;
	n = get_count(&r, 2);
	c->custom = xcalloc(n + 1, sizeof(*c->custom));
	for (i = 0; i < n && !r.bad; i++) {
		c->custom[i].key = get_str(&r);
		c->custom[i].value = get_str(&r);
		c->ncustom++;
		if (c->custom[i].key == NULL)
			r.bad = 1;
	}
	c->app_id = get_str(&r);
	c->stage_id = get_str(&r);
	c->stage_name = get_str(&r);
	c->status = get_str(&r);
	c->job = get_str(&r);
	c->source = get_str(&r);
	c->referrer = get_str(&r);
	c->applied_ms = get_i64(&r);
	n = get_count(&r, 3);
	c->invalid = xcalloc(n + 1, sizeof(*c->invalid));
	for (i = 0; i < n && !r.bad; i++) {
		c->invalid[i].field = get_str(&r);
		c->invalid[i].value = get_str(&r);
		c->invalid[i].why = get_str(&r);
		c->ninvalid++;
		if (c->invalid[i].field == NULL || c->invalid[i].why == NULL)
			r.bad = 1;
	}
	if (r.bad || r.p != r.end) {
		candidate_free(c);
		return -1;
	}
	return 0;
}

static void
get_items(struct rd *r, struct contact_list *l)
{
	size_t n = get_count(r, 3), i;

	for (i = 0; i < n && !r->bad; i++) {
		char *k = get_str(r), *v = get_str(r), *keep = get_str(r);
		if (k == NULL || v == NULL)
			r->bad = 1;
		else
			contact_list_add(l, k, v, keep);
		free(k);
		free(v);
		free(keep);
	}
}

int
codec_contact_decode(const void *data, size_t len, struct contact *c)
{
	struct rd r;
	const unsigned char *p = data;
	size_t i, n;

	memset(c, 0, sizeof(*c));
	if (len < CODEC_HEADER || p[0] != CODEC_CONTACT || p[1] != CODEC_CONTACT_VERSION ||
	    codec_fnv1a(p + CODEC_HEADER, len - CODEC_HEADER) != codec_record_hash(data, len))
		return -1;
	r.p = p + CODEC_HEADER;
	r.end = p + len;
	r.bad = 0;
	c->hash = get_varint(&r);
	c->id = get_str(&r);
	if (get_varint(&r) != CP__MAX)
		r.bad = 1;
	for (i = 0; i < CP__MAX && !r.bad; i++)
		c->prop[i] = get_str(&r);
	get_items(&r, &c->emails);
	get_items(&r, &c->phones);
	get_items(&r, &c->customs);
	n = get_count(&r, 1);
	c->tag_ids = get_strv(&r, n);
	c->ntags = n;
	c->rest = get_str(&r);
	if (r.bad || r.p != r.end || c->id == NULL) {
		contact_free(c);
		return -1;
	}
	return 0;
}
