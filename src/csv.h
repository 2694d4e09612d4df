/*
 * csv.h — a streaming reader of RFC 4180 records (and of plain lines, for
 * JSON lines) from a regular file, in bounded memory.
 *
 * Memory: one fixed read buffer (CSV_BUF bytes) plus the current record,
 * which never grows past max_row bytes or max_fields fields: a longer record
 * is still read to its end (so the next one starts in the right place) but
 * its content is dropped and it comes back marked bad ("longer than ...").
 * Nothing else grows with the file.
 *
 * CSV as read here (RFC 4180 plus what spreadsheets write):
 *   - fields are separated by the delimiter (',' unless told otherwise);
 *   - a record ends at LF, CRLF or a lone CR, or at the end of the file (the
 *     last line may lack its newline);
 *   - a field that starts with '"' is quoted: it may hold delimiters, CR, LF
 *     and doubled quotes ("" is one "); after the closing quote only the
 *     delimiter, a line end or the end of the file may follow;
 *   - a '"' inside a field that does not start with one is an error;
 *   - an empty line is a record of one empty field (the caller skips it).
 * Bytes are passed through as they are: no transcoding, no trimming (the
 * caller validates UTF-8; a NUL byte is flagged in csv_row.nul).
 *
 * Recovery from a malformed record: the record comes back with bad set and
 * reading goes on. When the error was noticed on the record's first physical
 * line, reading resumes after that line. When a quoted field had already run
 * over one or more line ends (a stray quote swallows the lines after it),
 * reading resumes at the record's SECOND physical line, so one stray quote
 * costs one row, not the rest of the file. A stray quote that a later stray
 * quote closes cleanly still joins the lines between them into one record;
 * row.line and row.last_line show the span.
 *
 * The file is read with pread at explicit offsets (the recovery above seeks
 * back), so it must be a regular file, not a pipe.
 */
#ifndef ATSRECON_CSV_H
#define ATSRECON_CSV_H

#include <stddef.h>
#include <stdint.h>

#define CSV_BUF (64 * 1024)	/* read buffer */

struct csv {
	int fd;			/* borrowed: the caller opens and closes it */
	char delim;
	size_t max_row;		/* bytes of field content per record */
	size_t max_fields;
	char *buf;		/* CSV_BUF bytes */
	size_t len, pos;	/* valid bytes in buf, next byte */
	int64_t off;		/* file offset of buf[0] */
	int eof;
	int err;		/* errno of a failed read, else 0 */
	long line;		/* physical line (1-based) of the next byte */
};

/* One record: field i is the NUL-terminated text at data + start[i] (the
 * field may also contain NUL bytes: then nul is set and the text is cut). */
struct csv_row {
	char *data;
	size_t len, cap;
	size_t *start;
	size_t nf, fcap;
	long line;		/* physical line where the record starts */
	long last_line;		/* physical line where it ends */
	const char *bad;	/* NULL, or why it is malformed (static text) */
	int nul;		/* a NUL byte was read inside it */
};

/*
 * Starts reading fd at offset 0, line 1. Returns 0, or -1 with errno when the
 * first read fails. *bom is set to 1 when the file starts with a UTF-8 byte
 * order mark (skipped), 2 when it starts with a UTF-16 or UTF-32 one (not
 * skipped: the caller refuses the file), else 0.
 */
int csv_init(struct csv *, int fd, char delim, size_t max_row, size_t max_fields, int *bom);
void csv_free(struct csv *);
/* Goes back to just after the byte order mark (e.g. to read the header again
 * with another delimiter). */
void csv_restart(struct csv *, int bom);

/* Reads the next record into row: 1 read (check row->bad), 0 end of file,
 * -1 read error (c->err). */
int csv_next(struct csv *, struct csv_row *);
/* Reads the next physical line (LF or CRLF; the line end is not kept) as a
 * record of one field, with the same bounds, nul flag and return values. */
int csv_line(struct csv *, struct csv_row *);

/* Field i (NULL when i >= nf) and its length in bytes. */
const char *csv_field(const struct csv_row *, size_t i, size_t *len);
void csv_row_free(struct csv_row *);

#endif
