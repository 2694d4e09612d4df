/* csv.c — streaming RFC 4180 records and bounded lines. See csv.h. */
#define _POSIX_C_SOURCE 200809L
#include "csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define CSV_EOF (-1)

/* ------------------------------------------------------------ byte source */

static int
fill(struct csv *c)
{
	ssize_t n;

	c->off += (int64_t)c->len;
	c->len = c->pos = 0;
	if (c->eof || c->err)
		return 0;
	do
		n = pread(c->fd, c->buf, CSV_BUF, (off_t)c->off);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		c->err = errno;
		return 0;
	}
	if (n == 0) {
		c->eof = 1;
		return 0;
	}
	c->len = (size_t)n;
	return 1;
}

static inline int
get(struct csv *c)
{
	if (c->pos < c->len || fill(c))
		return (unsigned char)c->buf[c->pos++];
	return CSV_EOF;
}

static inline int
peek(struct csv *c)
{
	if (c->pos < c->len || fill(c))
		return (unsigned char)c->buf[c->pos];
	return CSV_EOF;
}

static int64_t
tell(const struct csv *c)
{
	return c->off + (int64_t)c->pos;
}

static void
seek(struct csv *c, int64_t o)
{
	if (o >= c->off && o <= c->off + (int64_t)c->len) {
		c->pos = (size_t)(o - c->off);
		return;
	}
	c->off = o;
	c->len = c->pos = 0;
	c->eof = 0;
}

int
csv_init(struct csv *c, int fd, char delim, size_t max_row, size_t max_fields, int *bom)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->delim = delim;
	c->max_row = max_row;
	c->max_fields = max_fields;
	c->buf = xmalloc(CSV_BUF);
	c->line = 1;
	*bom = 0;
	if (!fill(c) && c->err) {
		errno = c->err;
		return -1;
	}
	if (c->len >= 3 && memcmp(c->buf, "\xef\xbb\xbf", 3) == 0) {
		*bom = 1;
		c->pos = 3;
	} else if (c->len >= 2 && (memcmp(c->buf, "\xff\xfe", 2) == 0 ||
	    memcmp(c->buf, "\xfe\xff", 2) == 0))
		*bom = 2;
	else if (c->len >= 4 && memcmp(c->buf, "\x00\x00\xfe\xff", 4) == 0)
		*bom = 2;
	return 0;
}

void
csv_restart(struct csv *c, int bom)
{
	seek(c, bom == 1 ? 3 : 0);
	c->line = 1;
}

void
csv_free(struct csv *c)
{
	free(c->buf);
	c->buf = NULL;
}

/* ----------------------------------------------------------------- records */

static void
row_reset(struct csv *c, struct csv_row *r)
{
	r->len = 0;
	r->nf = 0;
	r->bad = NULL;
	r->nul = 0;
	r->line = r->last_line = c->line;
	if (r->data == NULL) {
		r->cap = 256;
		r->data = xmalloc(r->cap);
	}
	if (r->start == NULL) {
		r->fcap = 16;
		r->start = xmalloc(r->fcap * sizeof(*r->start));
	}
}

/* Appends one byte of field content (dropped once the record is too long). */
static inline void
add(struct csv *c, struct csv_row *r, int ch)
{
	if (ch == 0)
		r->nul = 1;
	if (r->len + 1 >= c->max_row) {	/* keep room for the field's NUL */
		if (r->bad == NULL)
			r->bad = "the row is longer than the limit (1 MiB)";
		return;
	}
	if (r->len + 2 > r->cap) {
		r->cap *= 2;
		if (r->cap > c->max_row + 1)
			r->cap = c->max_row + 1;
		r->data = xrealloc(r->data, r->cap);
	}
	r->data[r->len++] = (char)ch;
}

static void
field_begin(struct csv *c, struct csv_row *r)
{
	if (r->nf >= c->max_fields) {
		if (r->bad == NULL)
			r->bad = "the row has more fields than the limit";
		return;
	}
	if (r->nf == r->fcap) {
		r->fcap *= 2;
		r->start = xrealloc(r->start, r->fcap * sizeof(*r->start));
	}
	r->start[r->nf] = r->len;
}

static void
field_end(struct csv *c, struct csv_row *r)
{
	if (r->nf >= c->max_fields)
		return;
	if (r->len + 1 > r->cap) {
		r->cap = r->len + 1;
		r->data = xrealloc(r->data, r->cap);
	}
	r->data[r->len++] = '\0';	/* max_row keeps one byte for this */
	r->nf++;
}

/* ch ended a line: counts it (CRLF is one line end). */
static void
line_end(struct csv *c, int ch)
{
	if (ch == '\r' && peek(c) == '\n')
		(void)get(c);
	if (ch == '\n' || ch == '\r')
		c->line++;
}

int
csv_next(struct csv *c, struct csv_row *r)
{
	int64_t line2 = -1;	/* offset of the record's second physical line */
	int ch;

	row_reset(c, r);
	ch = get(c);
	if (ch == CSV_EOF)
		return c->err ? -1 : 0;
	field_begin(c, r);
	for (;;) {
		if (ch == '"') {
			for (;;) {
				int prev = ch;

				ch = get(c);
				if (ch == CSV_EOF) {
					r->bad = "a quoted field never closes";
					if (prev == '\n')
						c->line--;	/* the file's last line end */
					goto recover;
				}
				if (ch == '"') {
					ch = get(c);
					if (ch == '"') {
						add(c, r, '"');
						continue;
					}
					break;
				}
				if (ch == '\n') {
					c->line++;
					if (line2 < 0)
						line2 = tell(c);
				}
				add(c, r, ch);
			}
			if (ch != c->delim && ch != '\n' && ch != '\r' && ch != CSV_EOF) {
				r->bad = "text after a closing quote (a quote inside a field must be doubled)";
				goto recover;
			}
		} else {
			while (ch != c->delim && ch != '\n' && ch != '\r' && ch != CSV_EOF) {
				if (ch == '"') {
					r->bad = "a quote inside a field that does not start with one";
					goto recover;
				}
				add(c, r, ch);
				ch = get(c);
			}
		}
		field_end(c, r);
		if (ch != c->delim)
			break;
		ch = get(c);
		field_begin(c, r);
	}
	r->last_line = c->line;
	line_end(c, ch);
	return c->err ? -1 : 1;

recover:
	if (line2 >= 0) {
		/* A quoted field ran over line ends: start again on the second line. */
		r->last_line = c->line;
		seek(c, line2);
		c->line = r->line + 1;
	} else {
		while (ch != '\n' && ch != '\r' && ch != CSV_EOF)
			ch = get(c);
		r->last_line = c->line;
		line_end(c, ch);
	}
	return c->err ? -1 : 1;
}

int
csv_line(struct csv *c, struct csv_row *r)
{
	int ch;

	row_reset(c, r);
	ch = get(c);
	if (ch == CSV_EOF)
		return c->err ? -1 : 0;
	field_begin(c, r);
	while (ch != '\n' && ch != CSV_EOF) {
		add(c, r, ch);
		ch = get(c);
	}
	if (r->len > 0 && r->data[r->len - 1] == '\r' && r->bad == NULL)
		r->len--;
	field_end(c, r);
	if (ch == '\n')
		c->line++;
	return c->err ? -1 : 1;
}

const char *
csv_field(const struct csv_row *r, size_t i, size_t *len)
{
	if (i >= r->nf)
		return NULL;
	if (len != NULL)
		*len = (i + 1 < r->nf ? r->start[i + 1] : r->len) - r->start[i] - 1;
	return r->data + r->start[i];
}

void
csv_row_free(struct csv_row *r)
{
	free(r->data);
	free(r->start);
	memset(r, 0, sizeof(*r));
}
