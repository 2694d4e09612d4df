/*
 * fuzz_csv — csv.c: RFC 4180 records and plain lines (JSON lines) from a file,
 * with small bounds so the "longer than" paths run too. The first byte picks
 * the delimiter, the mode and the bounds; the rest is the file.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char delims[] = ",;\t|";
	struct csv c;
	struct csv_row row;
	char path[64];
	size_t i, len, total = 0;
	int fd, bom, r, lines, restarted = 0;
	unsigned sel;

	if (size < 1)
		return 0;
	sel = data[0];
	fd = fuzz_memfile(data + 1, size - 1, path);
	if (fd < 0)
		return 0;
	lines = (sel & 4) != 0;
	if (csv_init(&c, fd, delims[sel & 3], (sel & 8) ? 64 : 1 << 20, (sel & 16) ? 4 : 1000,
	    &bom) != 0) {
		close(fd);
		return 0;
	}
	memset(&row, 0, sizeof(row));
	for (;;) {
		r = lines ? csv_line(&c, &row) : csv_next(&c, &row);
		if (r <= 0)
			break;
		for (i = 0; i < row.nf; i++) {
			const char *f = csv_field(&row, i, &len);

			if (f == NULL || strlen(f) > len)	/* a field's text is within its length */
				abort();
			total += len;
		}
		if (csv_field(&row, row.nf, &len) != NULL)
			abort();
		if (row.last_line < row.line)
			abort();
		if ((sel & 32) && row.line >= 2 && !restarted) {
			restarted = 1;
			csv_restart(&c, bom);	/* read the header again, once */
		}
		if (total > (size_t)64 << 20)
			break;
	}
	csv_row_free(&row);
	csv_free(&c);
	close(fd);
	return 0;
}
