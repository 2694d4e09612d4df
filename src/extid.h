/*
 * extid.h — the spellings of the external id (DESIGN.md §4). Pure: no I/O.
 *
 * The Keap custom field match.external_id_field names the candidate a
 * contact belongs to. It is written as match.external_id_format says
 * ("{id}" by default: the ATS's own id, as a previous integration left it;
 * "{ats}:{id}" where several sources feed one Keap). When reading, three
 * spellings name the same candidate and are all in sync (never rewritten):
 * the bare id, "<ats>:<id>", and the configured format. A value with another
 * known source's prefix ("lever:..." read by a Greenhouse run) names no
 * candidate of this source.
 *
 *   fmt "{id}", ats "greenhouse", id "10000123":
 *     written  "10000123"
 *     accepted "10000123", "greenhouse:10000123"
 */
#ifndef ATSRECON_EXTID_H
#define ATSRECON_EXTID_H

#include <stddef.h>

#include "util.h"

/* The value to write for the candidate <ats>:<id>. */
void extid_format(const char *fmt, const char *ats, const char *id, struct buf *out);

/* The distinct accepted spellings of <ats>:<id> (at most EXTID_MAX; caller
 * frees each). */
#define EXTID_MAX 3
size_t extid_spellings(const char *fmt, const char *ats, const char *id, char *out[EXTID_MAX]);

/* 1 when value (surrounding whitespace ignored) names the candidate <ats>:<id>. */
int extid_names(const char *fmt, const char *ats, const char *id, const char *value);

/* The id of this source that value names, into id_out: 1, or 0 when it names
 * none (empty, another source's prefix, a format that does not fit). */
int extid_parse(const char *fmt, const char *ats, const char *value, struct buf *id_out);

#endif
