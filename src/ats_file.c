/*
 * ats_file.c — an export file as the ATS (ats.kind "file"), for sources with
 * no usable API: BambooHR's and JazzHR's candidate exports, a spreadsheet kept
 * by hand (research/ats-apis.md §4: neither has a change feed or webhooks that
 * we could use; §9: deletes are found by a full sweep).
 *
 * Configuration:
 *   ats.file     the export (a regular file; read again on every run)
 *   ats.format   auto | csv | jsonl; auto goes by the extension: .csv is CSV,
 *                .jsonl and .ndjson are JSON lines (any case); anything else
 *                must say ats.format
 *   ats.columns  canonical field -> column name (the CSV header cell, or the
 *                JSON key), e.g.
 *                  { "id": "Candidate ID", "email": ["Email", "Work Email"],
 *                    "name": "Full Name", "phone": "Mobile", "stage": "Stage",
 *                    "status": "Status", "applied_at": "Applied",
 *                    "custom:shirt_size": "T-Shirt", "date_order": "mdy" }
 *   phone.default_region  for national phone numbers, as for every source
 *
 * Fields: id (required), email and phone (a column name or an array of
 * them), first_name, last_name, name, title, company, stage, status, job,
 * source, referrer, applied_at, updated_at, created_at, anonymized, private,
 * application_id, and "custom:<key>" (a custom value under <key>). One extra key is not a
 * field: "date_order" (iso, the default | mdy | dmy) says how dates written
 * with slashes read (01/05/2026); ISO 8601 and epoch seconds/milliseconds
 * are always accepted. (It lives here because no option says it; if the
 * option table grows an ats.date_order, this key should move there.)
 *
 * Values (NOT FOUND in any vendor's export documentation; chosen here):
 *   - every value is trimmed of surrounding spaces and tabs; an empty value is
 *     absent; column names and JSON keys match exactly (case-sensitive;
 *     header cells are trimmed too);
 *   - email and phone cells may hold several values separated by ',' or ';'
 *     (neither can occur in a valid address or number); the first address of
 *     the first email column is the primary one; all go through
 *     candidate_set_emails / candidate_add_phone (E.164 with
 *     phone.default_region); bad ones become invalid_value entries;
 *   - name: split by norm_split_name (first token / the rest) when neither
 *     first_name nor last_name is mapped; the original is kept as full_name;
 *   - status through candidate_set_status (active, in process, rejected,
 *     hired, withdrawn, archived...); stage is the stage NAME (no stage id);
 *   - dates through norm_time into applied_ms, updated_ms, created_ms;
 *   - anonymized, private: true/false, yes/no, y/n, 1/0 (any case);
 *   - JSON lines: strings, numbers (integers as digits), booleans; null is
 *     absent; an array gives several values: for email and phone each is
 *     used; for a custom field they are joined with ", "; for any other
 *     field more than one value is an invalid_value entry, never a guess. A
 *     nested object or list is kept as its JSON text for a custom field and
 *     is an invalid_value entry elsewhere; a numeric id must be an exact
 *     integer (beyond 2^53, write it as a string).
 *   - candidate.ats is "file" (snapshot keys are "file:<id>"): the export
 *     says nothing reliable about which product wrote it, and a neutral name
 *     keeps the snapshot valid when the same team changes exporters.
 *
 * The file: UTF-8 (a byte order mark is skipped; UTF-16/32, NUL bytes or any
 * invalid UTF-8 are a configuration error naming the line: the export must
 * be saved as UTF-8). CSV as csv.h reads it (RFC 4180: quoted fields with
 * commas, doubled quotes and line breaks; CRLF or LF; the last line may lack
 * its newline); the first non-empty line is the header; when that header has
 * no comma but a ';' or a tab, that is the delimiter (spreadsheets in many
 * European locales write ';'). Empty lines and rows whose cells are all
 * empty are skipped silently. JSON lines: one JSON object per line; empty
 * lines are skipped.
 *
 * Every run reads the whole file (flags ATS_F_FULL_ONLY): pull_all streams
 * it in bounded memory (csv.h: a 64 KiB read buffer plus one row of at most
 * FILE_ROW_MAX bytes), and the engine diffs it against the snapshot; a
 * person missing from the file is deleted_in_ats (the engine's guards
 * apply). The one thing that grows with the file is the set of ids already
 * seen (the census pass, below): 64-bit hashes in tables 3/8 to 3/4 full, 11 to
 * 21 bytes per row (16 MB of tables for 1,000,000 rows; bench/file_pull.sh
 * measured a 22 MB peak RSS there, 3 MB at 100,000 rows). It holds hashes,
 * not the ids: two different ids with the same hash (odds about n^2 / 2^65,
 * 3e-8 for a million rows) would make the second reported as a duplicate.
 * pull_window calls pull_all (the engine never calls it for a FULL_ONLY
 * driver). get(id) scans the file once and returns the current well-formed
 * row with that id, or RC_RECORD when there is none: correct, but a scan per
 * call, so the engine must not call it per vanished id for FULL_ONLY sources.
 *
 * Rows that are skipped, each reported as `file:line: message` (log_warn,
 * values escaped and cut), while the pull goes on and still completes: bad
 * quoting, a field count that differs from the header's, a row over
 * FILE_ROW_MAX bytes, a line that is not a JSON object, a missing or
 * unusable id (empty, over FILE_ID_MAX bytes, control characters, a list) —
 * these are counted in ats_pull.skipped: their person may be missing from
 * the pull, so for the engine they would look deleted, and it must not
 * archive anyone after a pull with skipped > 0.
 *
 * Several rows with one id are one person's applications (an export with a
 * row per application; they need not be adjacent): the person is delivered
 * once, built from the row of the current application (ats_app_better with
 * ats.current_application: active from the status column, the update time
 * from updated_at, the id from application_id, else the row's number, so the
 * later row is the greater id). pull_all reads the file in passes: a census
 * of the ids (which have several rows), then, only if some do, the pick of
 * each such id's current row (a table of those ids only), then the delivery;
 * the file must be the same one (device, inode, size, mtime) in every pass,
 * else the pull fails (RC_REMOTE) and nothing is used. get() reads every row
 * with the id and keeps the current one the same way.
 *
 * Configuration errors (RC_CONFIG, `file:line: message`): the file cannot be
 * opened or read (path and strerror) or is not a regular file; not UTF-8; a
 * mapped column missing from the CSV header or present twice; the header
 * itself malformed; for JSON lines, a mapped key that no line of the file
 * has (known only at the end: the pull then fails instead of completing, so
 * a misspelt key never clears a field for everyone).
 *
 * What an export cannot tell (documented for users): deletes are only
 * "absent from this file"; merges look like a delete plus another id;
 * anonymisation and privacy only if a column says so; no stage ids; no change
 * times unless mapped; and the file is only as fresh as its last export (write it
 * atomically: a file caught half-written loses its tail, which the engine's
 * archive guard must catch).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ats.h"
#include "config.h"
#include "csv.h"
#include "jtree.h"
#include "log.h"
#include "norm.h"

#define FILE_ROW_MAX (1024 * 1024)	/* bytes of one row (CSV record or JSON line) */
#define FILE_FIELDS_MAX 4096		/* fields of one CSV record */
#define FILE_ID_MAX 256			/* bytes of an id */
#define FILE_SHOW_MAX 80		/* bytes of a value shown in a message */
#define FILE_DEADLINE_EVERY 1024	/* rows between deadline checks */

enum ffield {
	FF_ID, FF_EMAIL, FF_FIRST, FF_LAST, FF_NAME, FF_PHONE, FF_TITLE, FF_COMPANY, FF_STAGE,
	FF_STATUS, FF_JOB, FF_SOURCE, FF_REFERRER, FF_APPLIED, FF_UPDATED, FF_CREATED, FF_ANON,
	FF_PRIVATE, FF_APP_ID, FF_CUSTOM, FF__MAX
};

static const char *const ffield_name[FF__MAX] = {
	"id", "email", "first_name", "last_name", "name", "phone", "title", "company", "stage",
	"status", "job", "source", "referrer", "applied_at", "updated_at", "created_at",
	"anonymized", "private", "application_id", "custom:<key>"
};

/* One mapped column. */
struct col {
	enum ffield f;
	char *name;		/* CSV header cell / JSON key */
	char *key;		/* FF_CUSTOM: the custom key */
	char *cfg;		/* for messages: "email", "email[1]", "custom:x" */
	size_t idx;		/* CSV: index in the header */
	int seen;		/* JSON lines: some line has the key */
};

struct fsrc {
	struct api_err *err;	/* the instance's (struct ats err) */
	char *path;
	int jsonl;
	const char *region;
	enum norm_date_order order;
	struct col *cols;
	size_t ncols;
	long single[FF__MAX];	/* index in cols of a single-valued field, -1 */
	int split_name;		/* name mapped, first_name and last_name not */
};

/* ---------------------------------------------------------------- id set */

/*
 * 64-bit hashes of the ids delivered so far, in IDSET_SHARDS open-addressing
 * tables chosen by the hash's top byte; 0 marks an empty slot. Each table
 * doubles on its own when 3/4 full, so growing never holds two copies of
 * the whole set (a single table would need 24 MB for a moment at a million
 * rows, to end at 16 MB).
 */
#define IDSET_SHARDS 256

struct idset {
	struct idshard {
		uint64_t *v;
		size_t cap, n;
	} sh[IDSET_SHARDS];
};

static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t
hash_id(const char *s, size_t n)
{
	uint64_t h = 0x243f6a8885a308d3ULL ^ (uint64_t)n, w;

	while (n >= 8) {
		memcpy(&w, s, 8);
		h = mix64(h ^ w) * 0x9e3779b97f4a7c15ULL;
		s += 8;
		n -= 8;
	}
	w = 0;
	memcpy(&w, s, n);
	h = mix64(h ^ w ^ 0x80);
	return h != 0 ? h : 1;
}

static void
idset_put(uint64_t *v, size_t cap, uint64_t h)
{
	size_t i = (size_t)h & (cap - 1);

	while (v[i] != 0)
		i = (i + 1) & (cap - 1);
	v[i] = h;
}

/* 1 when h was added, 0 when it was there already. */
static int
idset_add(struct idset *set, uint64_t h)
{
	struct idshard *s = &set->sh[h >> 56];
	size_t i;

	if (s->cap == 0 || (s->n + 1) * 4 > s->cap * 3) {
		size_t ncap = s->cap ? s->cap * 2 : 16;
		uint64_t *nv = xcalloc(ncap, sizeof(*nv));
		for (i = 0; i < s->cap; i++)
			if (s->v[i] != 0)
				idset_put(nv, ncap, s->v[i]);
		free(s->v);
		s->v = nv;
		s->cap = ncap;
	}
	for (i = (size_t)h & (s->cap - 1); s->v[i] != 0; i = (i + 1) & (s->cap - 1))
		if (s->v[i] == h)
			return 0;
	s->v[i] = h;
	s->n++;
	return 1;
}

/* 1 when h is in the set. */
static int
idset_has(const struct idset *set, uint64_t h)
{
	const struct idshard *s = &set->sh[h >> 56];
	size_t i;

	if (s->cap == 0)
		return 0;
	for (i = (size_t)h & (s->cap - 1); s->v[i] != 0; i = (i + 1) & (s->cap - 1))
		if (s->v[i] == h)
			return 1;
	return 0;
}

static void
idset_free(struct idset *set)
{
	size_t i;

	for (i = 0; i < IDSET_SHARDS; i++)
		free(set->sh[i].v);
	memset(set, 0, sizeof(*set));
}

/*
 * Several rows with one id are one person's applications (an export with a
 * row per application). The person is the row of the CURRENT application
 * (ats_pick_application's rule, ats.current_application): active from the
 * status column, updated from updated_at, the id from application_id, else
 * the row's number (the later row is the greater id). A pull reads the file
 * up to three times: a census of the ids (8 bytes each, as for duplicates),
 * then, only when some id has several rows, the pick of each such id's
 * current row (a table of those ids only), then the delivery.
 */
struct rowapp {
	long row;		/* the row's number among the rows with fields */
	int active;
	int64_t updated_ms;
	char *app_id;		/* the application_id value, or NULL */
};

struct pickmap {
	struct pickent {
		uint64_t h;	/* 0: empty */
		struct rowapp app;
	} *v;
	size_t cap, n;
};

static struct rowapp *
pickmap_get(struct pickmap *m, uint64_t h, int add)
{
	size_t i;

	if (add && (m->cap == 0 || (m->n + 1) * 4 > m->cap * 3)) {
		size_t ncap = m->cap ? m->cap * 2 : 64, j;
		struct pickent *nv = xcalloc(ncap, sizeof(*nv));
		for (j = 0; j < m->cap; j++) {
			if (m->v[j].h == 0)
				continue;
			for (i = (size_t)m->v[j].h & (ncap - 1); nv[i].h != 0; i = (i + 1) & (ncap - 1))
				;
			nv[i] = m->v[j];
		}
		free(m->v);
		m->v = nv;
		m->cap = ncap;
	}
	if (m->cap == 0)
		return NULL;
	for (i = (size_t)h & (m->cap - 1); m->v[i].h != 0; i = (i + 1) & (m->cap - 1))
		if (m->v[i].h == h)
			return &m->v[i].app;
	if (!add)
		return NULL;
	m->v[i].h = h;
	m->v[i].app.row = -1;
	m->n++;
	return &m->v[i].app;
}

static void
pickmap_free(struct pickmap *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		free(m->v[i].app.app_id);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* 1 when application b is to be preferred over a (b->row >= 0). */
static int
rowapp_better(const struct rowapp *a, const struct rowapp *b, enum ats_app_policy pol)
{
	struct ats_app x, y;
	char ra[24], rb[24];

	if (a->row < 0)
		return 1;
	snprintf(ra, sizeof(ra), "%ld", a->row);
	snprintf(rb, sizeof(rb), "%ld", b->row);
	x.id = a->app_id ? a->app_id : ra;
	x.active = a->active;
	x.updated_ms = a->updated_ms;
	y.id = b->app_id ? b->app_id : rb;
	y.active = b->active;
	y.updated_ms = b->updated_ms;
	return ats_app_better(&x, &y, pol);
}

/* ---------------------------------------------------------------- helpers */

/* Appends s, escaped and cut to FILE_SHOW_MAX bytes, in double quotes. */
static void
show(struct buf *b, const char *s)
{
	size_t n = strlen(s), k = n;

	if (k > FILE_SHOW_MAX) {
		k = FILE_SHOW_MAX;
		while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
			k--;	/* not inside a UTF-8 sequence */
	}
	buf_addc(b, '"');
	text_escape(b, s, k);
	if (k < n)
		buf_adds(b, "...");
	buf_addc(b, '"');
}

static int
is_blank(int ch)
{
	return ch == ' ' || ch == '\t';
}

/* s[0..*n) without surrounding spaces and tabs. */
static const char *
trim(const char *s, size_t *n)
{
	while (*n > 0 && is_blank(s[0])) {
		s++;
		(*n)--;
	}
	while (*n > 0 && is_blank(s[*n - 1]))
		(*n)--;
	return s;
}

static int
parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "true", "yes", "y", "1" };
	static const char *const no[] = { "false", "no", "n", "0" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* ------------------------------------------------------------ the mapping */

static void
cols_free(struct fsrc *fs)
{
	size_t i;

	for (i = 0; i < fs->ncols; i++) {
		free(fs->cols[i].name);
		free(fs->cols[i].key);
		free(fs->cols[i].cfg);
	}
	free(fs->cols);
	fs->cols = NULL;
	fs->ncols = 0;
}

static void
col_add(struct fsrc *fs, enum ffield f, const char *name, const char *key, const char *cfg)
{
	struct col *c;

	fs->cols = xrealloc(fs->cols, (fs->ncols + 1) * sizeof(*fs->cols));
	c = &fs->cols[fs->ncols++];
	memset(c, 0, sizeof(*c));
	c->f = f;
	c->name = xstrdup(name);
	c->key = key != NULL ? xstrdup(key) : NULL;
	c->cfg = xstrdup(cfg);
}

/* Reads ats.columns (the option keeps it as compact JSON text). */
static enum rc
parse_columns(struct ats *a, struct fsrc *fs)
{
	const char *text = cfg_str(a->cfg, OPT_ATS_COLUMNS);
	struct buf err = BUF_INIT, where = BUF_INIT, msg = BUF_INIT;
	const cJSON *it;
	cJSON *root = NULL;
	enum rc rc = RC_CONFIG;
	size_t i;
	int f;

	for (f = 0; f < FF__MAX; f++)
		fs->single[f] = -1;
	cfg_origin(a->cfg, OPT_ATS_COLUMNS, &where);
	if (text == NULL) {
		api_fail(&a->err, "file", 0, NULL,
		    "ats.columns is required with ats.kind \"file\": an object from "
		    "canonical field to column name, at least {\"id\": \"<id column>\"}");
		goto out;
	}
	root = json_parse(text, strlen(text), &err);
	if (root == NULL || !cJSON_IsObject(root)) {
		api_fail(&a->err, "file", 0, NULL,
		    "%s: ats.columns: expected a JSON object%s%s", where.p,
		    err.len ? ": " : "", err.len ? err.p : "");
		goto out;
	}
	cJSON_ArrayForEach(it, root) {
		const char *k = it->string;
		enum ffield ff = FF__MAX;

		buf_reset(&msg);
		show(&msg, k);
		if (strcmp(k, "date_order") == 0) {
			const char *v = cJSON_IsString(it) ? it->valuestring : "";
			if (strcmp(v, "iso") == 0)
				fs->order = NORM_DATE_ISO;
			else if (strcmp(v, "mdy") == 0)
				fs->order = NORM_DATE_MDY;
			else if (strcmp(v, "dmy") == 0)
				fs->order = NORM_DATE_DMY;
			else {
				api_fail(&a->err, "file", 0, NULL,
				    "%s: ats.columns.date_order: expected \"iso\", \"mdy\" "
				    "or \"dmy\"", where.p);
				goto out;
			}
			continue;
		}
		if (strncmp(k, "custom:", 7) == 0 && k[7] != '\0')
			ff = FF_CUSTOM;
		for (f = 0; f < FF_CUSTOM && ff == FF__MAX; f++)
			if (strcmp(k, ffield_name[f]) == 0)
				ff = (enum ffield)f;
		if (ff == FF__MAX) {
			struct buf known = BUF_INIT;
			for (f = 0; f < FF__MAX; f++)
				buf_addf(&known, "%s%s", f ? ", " : "", ffield_name[f]);
			api_fail(&a->err, "file", 0, NULL,
			    "%s: ats.columns: unknown field %s (known: %s, date_order)",
			    where.p, msg.p, known.p);
			buf_free(&known);
			goto out;
		}
		if (cJSON_IsString(it) && *it->valuestring != '\0') {
			if (ff != FF_EMAIL && ff != FF_PHONE && ff != FF_CUSTOM)
				fs->single[ff] = (long)fs->ncols;
			col_add(fs, ff, it->valuestring, ff == FF_CUSTOM ? k + 7 : NULL, k);
			continue;
		}
		if (cJSON_IsArray(it) && cJSON_GetArraySize(it) > 0 && (ff == FF_EMAIL ||
		    ff == FF_PHONE)) {
			const cJSON *e;
			int n = 0;
			cJSON_ArrayForEach(e, it)
				if (!cJSON_IsString(e) || *e->valuestring == '\0')
					break;
			if (e == NULL) {
				cJSON_ArrayForEach(e, it) {
					char cfgname[32];
					snprintf(cfgname, sizeof(cfgname), "%s[%d]", k, n++);
					col_add(fs, ff, e->valuestring, NULL, cfgname);
				}
				continue;
			}
		}
		api_fail(&a->err, "file", 0, NULL,
		    "%s: ats.columns.%s: expected a column name%s", where.p, k,
		    ff == FF_EMAIL || ff == FF_PHONE ? " or a non-empty array of column names" : "");
		goto out;
	}
	if (fs->single[FF_ID] < 0) {
		api_fail(&a->err, "file", 0, NULL,
		    "%s: ats.columns: \"id\" is required (the column that holds each "
		    "person's stable id)", where.p);
		goto out;
	}
	fs->split_name = fs->single[FF_NAME] >= 0 && fs->single[FF_FIRST] < 0 &&
	    fs->single[FF_LAST] < 0;
	for (i = 0; i < fs->ncols; i++)
		fs->cols[i].idx = (size_t)-1;
	rc = RC_OK;
out:
	cJSON_Delete(root);
	buf_free(&err);
	buf_free(&where);
	buf_free(&msg);
	return rc;
}

/* ------------------------------------------------------------- one scan */

struct scan {
	struct ats *a;
	struct fsrc *fs;
	int fd;
	struct csv rd;
	int rd_open;
	struct csv_row row;
	size_t nheader;
	long data_rows;		/* rows with fields (JSON: objects) */
	long nrec;		/* records read, for the deadline check */
	/* the current row's values: column k has values first[k] .. first[k]+count[k]-1 */
	struct buf text;	/* values back to back, NUL-terminated */
	size_t *off, nv, vcap;
	const char **why;	/* per value: NULL, or why it has the wrong shape */
	size_t *first, *count;
	/* pull */
	ats_cand_fn fn;
	void *arg;
	struct ats_pull *pull;
	struct idset ids;
	long dups;		/* rows whose id was delivered already */
	/* several rows per person (one per application): see pick_row */
	enum { SCAN_PULL, SCAN_CENSUS, SCAN_PICK } mode;
	struct idset multi;	/* census: ids seen on more than one row */
	long nmulti;
	struct pickmap picks;	/* pick: the current row of each id in multi */
	/* get */
	const char *want;
	struct candidate *found;
	struct rowapp found_app;
	/* the file read by the first pass: later passes must read the same one */
	int have_ident;
	struct stat ident;
};

/* Closes the file (for another pass: the sets and tables stay). */
static void
scan_close(struct scan *s)
{
	if (s->rd_open)
		csv_free(&s->rd);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->rd_open = 0;
	s->nheader = 0;
	s->data_rows = 0;
	s->nrec = 0;
}

static void
scan_free(struct scan *s)
{
	scan_close(s);
	csv_row_free(&s->row);
	buf_free(&s->text);
	free(s->off);
	free(s->first);
	free(s->count);
	free(s->why);
	idset_free(&s->ids);
	idset_free(&s->multi);
	pickmap_free(&s->picks);
	free(s->found_app.app_id);
	s->found_app.app_id = NULL;
}

/* A malformed row: reported (get: only at debug level) and, unless it
 * repeats an id that was delivered, counted as skipped. */
static void
skip_row(struct scan *s, const char *why, const char *id, int dup)
{
	struct buf m = BUF_INIT;

	buf_adds(&m, why);
	if (id != NULL) {
		buf_adds(&m, " ");
		show(&m, id);
	}
	if (s->row.last_line > s->row.line)
		buf_addf(&m, " (the row runs to line %ld)", s->row.last_line);
	if (s->want != NULL || s->mode != SCAN_PULL)
		log_debug("file", "%s:%ld: %s; row skipped", s->fs->path, s->row.line, m.p);
	else {
		log_warn("file", "%s:%ld: %s; row skipped", s->fs->path, s->row.line, m.p);
		if (dup)
			s->dups++;
		else if (s->pull != NULL)
			s->pull->skipped++;
	}
	buf_free(&m);
}

static void
vals_reset(struct scan *s)
{
	size_t n = s->fs->ncols;

	if (s->first == NULL) {
		s->first = xcalloc(n + 1, sizeof(*s->first));
		s->count = xcalloc(n + 1, sizeof(*s->count));
	}
	buf_reset(&s->text);
	s->nv = 0;
	memset(s->count, 0, n * sizeof(*s->count));
}

/* Column k receives one more value (trimmed; empty ones are dropped); why is
 * NULL, or why the value cannot be used as it is. Columns are filled in
 * order, so each one's values are contiguous. */
static void
vals_add(struct scan *s, size_t k, const char *p, size_t n, const char *why)
{
	p = trim(p, &n);
	if (s->count[k] == 0)
		s->first[k] = s->nv;
	if (n == 0)
		return;
	if (s->nv == s->vcap) {
		s->vcap = s->vcap ? s->vcap * 2 : 16;
		s->off = xrealloc(s->off, s->vcap * sizeof(*s->off));
		s->why = xrealloc(s->why, s->vcap * sizeof(*s->why));
	}
	s->why[s->nv] = why;
	s->off[s->nv++] = s->text.len;
	buf_add(&s->text, p, n);
	buf_addc(&s->text, '\0');
	s->count[k]++;
}

static const char *
val(const struct scan *s, size_t k, size_t i)
{
	return s->text.p + s->off[s->first[k] + i];
}

static const char *
val_why(const struct scan *s, size_t k, size_t i)
{
	return s->why[s->first[k] + i];
}

/* The row's values from a CSV record. */
static void
vals_csv(struct scan *s)
{
	size_t k, n;

	vals_reset(s);
	for (k = 0; k < s->fs->ncols; k++) {
		const char *p = csv_field(&s->row, s->fs->cols[k].idx, &n);
		vals_add(s, k, p, n, NULL);
	}
}

/* A JSON value as text into s (column k). */
static void
json_val(struct scan *s, size_t k, const cJSON *v, int top)
{
	char num[32];
	int64_t i;

	if (cJSON_IsNull(v))
		return;
	if (cJSON_IsString(v)) {
		vals_add(s, k, v->valuestring, strlen(v->valuestring), NULL);
	} else if (cJSON_IsBool(v)) {
		vals_add(s, k, cJSON_IsTrue(v) ? "true" : "false", cJSON_IsTrue(v) ? 4 : 5, NULL);
	} else if (json_is_integer(v, &i)) {
		snprintf(num, sizeof(num), "%lld", (long long)i);
		vals_add(s, k, num, strlen(num), NULL);
	} else if (cJSON_IsArray(v) && top) {
		const cJSON *e;
		cJSON_ArrayForEach(e, v)
			json_val(s, k, e, 0);
	} else {
		/* kept as JSON text: a custom value takes it as it is */
		char *t = json_print(v);
		size_t n = strlen(t);
		const char *why = NULL;

		if (cJSON_IsNumber(v))
			why = s->fs->cols[k].f == FF_ID ? "a number that is not an exact integer" : NULL;
		else
			why = cJSON_IsArray(v) ? "a nested list" : "a JSON object where a value is "
			    "expected";
		if (n > 200) {
			n = 200;
			while (n > 0 && ((unsigned char)t[n] & 0xc0) == 0x80)
				n--;
		}
		vals_add(s, k, t, n, why);
		free(t);
	}
}

static void
vals_json(struct scan *s, const cJSON *obj)
{
	size_t k;

	vals_reset(s);
	for (k = 0; k < s->fs->ncols; k++) {
		const cJSON *v = json_get(obj, s->fs->cols[k].name);
		if (s->count[k] == 0)
			s->first[k] = s->nv;
		if (v == NULL)
			continue;
		s->fs->cols[k].seen = 1;
		json_val(s, k, v, 1);
	}
}

/* The row's id, or NULL with *why set. */
static const char *
row_id(struct scan *s, const char **why)
{
	size_t k = (size_t)s->fs->single[FF_ID];
	const char *id;
	size_t i, n;

	if (s->count[k] == 0) {
		*why = "no id";
		return NULL;
	}
	if (s->count[k] > 1) {
		*why = "the id is a list";
		return NULL;
	}
	if (val_why(s, k, 0) != NULL) {
		*why = "the id is not usable:";
		return NULL;
	}
	id = val(s, k, 0);
	n = strlen(id);
	if (n > FILE_ID_MAX) {
		*why = "the id is longer than 256 bytes:";
		return NULL;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f) {
			*why = "the id contains control characters:";
			return NULL;
		}
	return id;
}

/* A single-valued field: its value, or NULL (absent, or reported invalid). */
static const char *
one(struct scan *s, struct candidate *c, enum ffield f)
{
	long k = s->fs->single[f];

	if (k < 0 || s->count[k] == 0)
		return NULL;
	if (s->count[k] > 1 || val_why(s, (size_t)k, 0) != NULL) {
		candidate_add_invalid(c, ffield_name[f], val(s, (size_t)k, 0), s->count[k] > 1 ?
		    "several values where one is expected" : val_why(s, (size_t)k, 0));
		return NULL;
	}
	return val(s, (size_t)k, 0);
}

static char *
one_dup(struct scan *s, struct candidate *c, enum ffield f)
{
	const char *v = one(s, c, f);

	return v != NULL ? xstrdup(v) : NULL;
}

static int64_t
one_time(struct scan *s, struct candidate *c, enum ffield f)
{
	const char *v = one(s, c, f);
	int64_t ms = 0;

	if (v != NULL && norm_time(v, s->fs->order, &ms, NULL) != NORM_OK) {
		candidate_add_invalid(c, ffield_name[f], v, s->fs->order == NORM_DATE_ISO ?
		    "not a date (ISO 8601 or epoch; set ats.columns.date_order for 01/05/2026)" :
		    "not a date");
		ms = 0;
	}
	return ms;
}

static int
one_bool(struct scan *s, struct candidate *c, enum ffield f)
{
	const char *v = one(s, c, f);
	int b = 0;

	if (v != NULL && parse_bool(v, &b) != 0) {
		candidate_add_invalid(c, ffield_name[f], v, "not a yes/no value");
		b = 0;
	}
	return b;
}

/* The values of every column of field f, each split at ',' and ';', into
 * parts (pointers into scratch, which the caller frees). */
static size_t
split_all(struct scan *s, struct candidate *c, enum ffield f, struct buf *scratch,
    const char ***parts)
{
	size_t k, i, n = 0, cap = 0, *offs = NULL;
	const char *p;

	buf_reset(scratch);
	for (k = 0; k < s->fs->ncols; k++) {
		if (s->fs->cols[k].f != f)
			continue;
		for (i = 0; i < s->count[k]; i++) {
			if (val_why(s, k, i) != NULL) {
				candidate_add_invalid(c, ffield_name[f], val(s, k, i), val_why(s, k, i));
				continue;
			}
			for (p = val(s, k, i); *p != '\0';) {
				size_t len = strcspn(p, ",;"), tl = len;
				const char *t = trim(p, &tl);
				if (tl > 0) {
					if (n == cap) {
						cap = cap ? cap * 2 : 8;
						offs = xrealloc(offs, cap * sizeof(*offs));
					}
					offs[n++] = scratch->len;
					buf_add(scratch, t, tl);
					buf_addc(scratch, '\0');
				}
				p += len;
				if (*p != '\0')
					p++;
			}
		}
	}
	*parts = xcalloc(n + 1, sizeof(**parts));
	for (i = 0; i < n; i++)
		(*parts)[i] = scratch->p + offs[i];
	free(offs);
	return n;
}

/* The candidate of the current row (id already checked). */
static void
build(struct scan *s, const char *id, struct candidate *c)
{
	struct fsrc *fs = s->fs;
	struct buf scratch = BUF_INIT;
	const char **parts;
	size_t n, i, k;

	memset(c, 0, sizeof(*c));
	c->ats = xstrdup("file");
	c->id = xstrdup(id);
	n = split_all(s, c, FF_EMAIL, &scratch, &parts);
	candidate_set_emails(c, parts, n, 0);
	free(parts);
	n = split_all(s, c, FF_PHONE, &scratch, &parts);
	for (i = 0; i < n; i++)
		candidate_add_phone(c, parts[i], fs->region);
	free(parts);
	buf_free(&scratch);

	c->first_name = one_dup(s, c, FF_FIRST);
	c->last_name = one_dup(s, c, FF_LAST);
	c->full_name = one_dup(s, c, FF_NAME);
	if (fs->split_name && c->full_name != NULL) {
		struct buf first = BUF_INIT, last = BUF_INIT;
		enum norm_res r = norm_split_name(c->full_name, &first, &last);
		if (r == NORM_OK) {
			c->first_name = buf_take(&first);
			if (last.len > 0)
				c->last_name = buf_take(&last);
		} else if (r == NORM_INVALID)
			candidate_add_invalid(c, "name", c->full_name, "not a name (control "
			    "characters, or too long)");
		buf_free(&first);
		buf_free(&last);
	}
	c->title = one_dup(s, c, FF_TITLE);
	c->company = one_dup(s, c, FF_COMPANY);
	c->stage_name = one_dup(s, c, FF_STAGE);
	candidate_set_status(c, one(s, c, FF_STATUS));
	c->job = one_dup(s, c, FF_JOB);
	c->source = one_dup(s, c, FF_SOURCE);
	c->referrer = one_dup(s, c, FF_REFERRER);
	c->app_id = one_dup(s, c, FF_APP_ID);
	c->applied_ms = one_time(s, c, FF_APPLIED);
	c->updated_ms = one_time(s, c, FF_UPDATED);
	c->created_ms = one_time(s, c, FF_CREATED);
	c->anonymized = one_bool(s, c, FF_ANON);
	c->is_private = one_bool(s, c, FF_PRIVATE);
	for (k = 0; k < fs->ncols; k++) {
		if (fs->cols[k].f != FF_CUSTOM || s->count[k] == 0)
			continue;
		if (s->count[k] > 1) {
			/* a list (JSON lines): its values joined with ", " */
			struct buf t = BUF_INIT;
			for (i = 0; i < s->count[k]; i++)
				buf_addf(&t, "%s%s", i ? ", " : "", val(s, k, i));
			candidate_add_custom(c, fs->cols[k].key, t.p);
			buf_free(&t);
		} else
			candidate_add_custom(c, fs->cols[k].key, val(s, k, 0));
	}
}

/* The application attributes of the current row, for the pick. */
static void
row_app(struct scan *s, struct rowapp *ra)
{
	struct candidate tmp;
	const char *st;
	enum norm_status ns;

	memset(&tmp, 0, sizeof(tmp));
	ra->row = s->data_rows;
	st = one(s, &tmp, FF_STATUS);
	ra->active = st != NULL && norm_status(st, &ns) == 0 && ns == NORM_STATUS_ACTIVE;
	ra->updated_ms = one_time(s, &tmp, FF_UPDATED);
	ra->app_id = one_dup(s, &tmp, FF_APP_ID);
	candidate_free(&tmp);
}

/* ------------------------------------------------------------ the file */

static enum rc
read_error(struct scan *s)
{
	api_fail(s->fs->err, "file", 0, NULL,
	    "%s:%ld: %s", s->fs->path, s->rd.line, strerror(s->rd.err ?
	    s->rd.err : EIO));
	return RC_CONFIG;
}

static enum rc
not_utf8(struct scan *s)
{
	api_fail(s->fs->err, "file", 0, NULL,
	    "%s:%ld: the file is not UTF-8 text%s; save the export as UTF-8 "
	    "(\"CSV UTF-8\" in spreadsheets)", s->fs->path, s->row.line,
	    s->row.nul ? " (a NUL byte: UTF-16?)" : "");
	return RC_CONFIG;
}

/* A record that is only empty fields (a blank line, or ",,," from a
 * spreadsheet's empty row). */
static int
row_blank(const struct csv_row *r)
{
	size_t i;

	for (i = 0; i < r->len; i++)
		if (r->data[i] != '\0' && !is_blank(r->data[i]))
			return 0;
	return 1;
}

/* Reads the CSV header and finds every mapped column in it. */
static enum rc
read_header(struct scan *s, int bom)
{
	struct fsrc *fs = s->fs;
	size_t i, k, n;
	int r, tried = 0;

	for (;;) {
		r = csv_next(&s->rd, &s->row);
		if (r < 0)
			return read_error(s);
		if (r == 0) {
			api_fail(s->fs->err, "file", 0, NULL,
			    "%s:%ld: the file is empty (a header line is needed)", fs->path,
			    s->rd.line);
			return RC_CONFIG;
		}
		if (s->row.nul || (s->row.bad == NULL && !utf8_valid(s->row.data, s->row.len)))
			return not_utf8(s);
		if (s->row.bad != NULL) {
			api_fail(s->fs->err, "file", 0, NULL,
			    "%s:%ld: the header: %s", fs->path, s->row.line, s->row.bad);
			return RC_CONFIG;
		}
		if (row_blank(&s->row))
			continue;
		if (s->row.nf == 1 && !tried && (strchr(s->row.data, ';') != NULL ||
		    strchr(s->row.data, '\t') != NULL)) {
			/* no comma in the header: the delimiter is ';' or a tab */
			s->rd.delim = strchr(s->row.data, ';') != NULL ? ';' : '\t';
			csv_restart(&s->rd, bom);
			tried = 1;
			continue;
		}
		break;
	}
	s->nheader = s->row.nf;
	for (k = 0; k < fs->ncols; k++) {
		struct col *c = &fs->cols[k];
		struct buf m = BUF_INIT;
		int found = 0;

		for (i = 0; i < s->row.nf; i++) {
			const char *h = csv_field(&s->row, i, &n);
			h = trim(h, &n);
			if (n == strlen(c->name) && memcmp(h, c->name, n) == 0) {
				if (found++ == 0)
					c->idx = i;
			}
		}
		if (found == 1)
			continue;
		show(&m, c->name);
		api_fail(s->fs->err, "file", 0, NULL,
		    "%s:%ld: column %s (ats.columns.%s) %s", fs->path, s->row.line, m.p,
		    c->cfg, found ? "appears more than once in the header" : "is not in the header");
		buf_free(&m);
		return RC_CONFIG;
	}
	return RC_OK;
}

static enum rc
scan_open(struct scan *s)
{
	struct fsrc *fs = s->fs;
	struct stat st;
	int bom;

	s->fd = open(fs->path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		api_fail(s->fs->err, "file", 0, NULL,
		    "%s: %s (ats.file)", fs->path, strerror(errno));
		return RC_CONFIG;
	}
	if (fstat(s->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		api_fail(s->fs->err, "file", 0, NULL,
		    "%s: not a regular file (ats.file)", fs->path);
		return RC_CONFIG;
	}
	if (s->have_ident && (st.st_dev != s->ident.st_dev || st.st_ino != s->ident.st_ino ||
	    st.st_size != s->ident.st_size || st.st_mtim.tv_sec != s->ident.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != s->ident.st_mtim.tv_nsec)) {
		api_fail(s->fs->err, "file", 0, NULL,
		    "%s: the file changed while it was being read; nothing of this "
		    "read is used (write the export to another name, then rename it)", fs->path);
		return RC_REMOTE;
	}
	s->ident = st;
	s->have_ident = 1;
	if (csv_init(&s->rd, s->fd, ',', FILE_ROW_MAX, FILE_FIELDS_MAX, &bom) != 0) {
		csv_free(&s->rd);
		api_fail(s->fs->err, "file", 0, NULL, "%s: %s", fs->path, strerror(errno));
		return RC_CONFIG;
	}
	s->rd_open = 1;
	if (bom == 2) {
		api_fail(s->fs->err, "file", 0, NULL,
		    "%s:1: the file is UTF-16 or UTF-32; save the export as UTF-8",
		    fs->path);
		return RC_CONFIG;
	}
	return fs->jsonl ? RC_OK : read_header(s, bom);
}

static int
past_deadline(const struct ats *a)
{
	return a->deadline_ms != 0 && mono_ms() > a->deadline_ms;
}

/* Reads the values of the current (good, non-blank) row. Returns 0 when the
 * row was skipped: a JSONL line that is not an object, a CSV row whose fields
 * do not match the header. */
static int
row_values(struct scan *s)
{
	struct buf err = BUF_INIT;
	const char *line;
	cJSON *obj;
	size_t n;

	if (!s->fs->jsonl) {
		if (s->row.nf != s->nheader) {
			char m[96];
			snprintf(m, sizeof(m), "%zu fields where the header has %zu", s->row.nf,
			    s->nheader);
			skip_row(s, m, NULL, 0);
			return 0;
		}
		vals_csv(s);
		return 1;
	}
	line = csv_field(&s->row, 0, &n);
	obj = json_parse(line, n, &err);
	if (obj == NULL || !cJSON_IsObject(obj)) {
		struct buf m = BUF_INIT;
		buf_addf(&m, "not a JSON object%s%s", err.len ? ": " : "",
		    err.len ? err.p : "");
		skip_row(s, m.p, NULL, 0);
		buf_free(&m);
		buf_free(&err);
		cJSON_Delete(obj);
		return 0;
	}
	buf_free(&err);
	vals_json(s, obj);
	cJSON_Delete(obj);
	return 1;
}

/* Get: keeps the row when it has the wanted id and its application is the
 * better one (every row with the id: the current application's wins). */
static void
keep_wanted(struct scan *s, const char *id)
{
	struct rowapp ra;

	if (strcmp(id, s->want) != 0)
		return;
	row_app(s, &ra);
	if (s->found != NULL && !rowapp_better(&s->found_app, &ra, s->a->app_policy)) {
		free(ra.app_id);
		return;
	}
	if (s->found != NULL)
		candidate_free(s->found);
	else
		s->found = xcalloc(1, sizeof(*s->found));
	build(s, id, s->found);
	free(s->found_app.app_id);
	s->found_app = ra;
}

/* Pull: counts the row's id (census), keeps its application when it is the
 * person's best (pick), or delivers the row as a candidate when it is the one
 * to deliver. */
static enum rc
take_row(struct scan *s, const char *id)
{
	uint64_t h = hash_id(id, strlen(id));
	struct candidate c;
	enum rc rc;

	if (s->mode == SCAN_CENSUS) {
		if (!idset_add(&s->ids, h) && idset_add(&s->multi, h))
			s->nmulti++;
		return RC_OK;
	}
	if (s->mode == SCAN_PICK) {
		struct rowapp ra, *best;
		if (!idset_has(&s->multi, h))
			return RC_OK;
		row_app(s, &ra);
		best = pickmap_get(&s->picks, h, 1);
		if (rowapp_better(best, &ra, s->a->app_policy)) {
			free(best->app_id);
			*best = ra;
		} else
			free(ra.app_id);
		return RC_OK;
	}
	if (s->nmulti > 0 && idset_has(&s->multi, h)) {
		const struct rowapp *best = pickmap_get(&s->picks, h, 0);
		if (best == NULL || best->row != s->data_rows)
			return RC_OK;	/* another application of this person is current */
	}
	if (!idset_add(&s->ids, h)) {
		skip_row(s, "duplicate id (the first row with it was kept):", id, 1);
		return RC_OK;
	}
	build(s, id, &c);
	rc = s->fn(s->arg, &c);
	s->pull->records++;
	candidate_free(&c);
	return rc;
}

/* A JSONL pull: a configured key that no line had is a misspelling. */
static enum rc
check_keys_seen(struct scan *s)
{
	struct fsrc *fs = s->fs;
	size_t k;

	if (!fs->jsonl || s->want != NULL || s->data_rows == 0)
		return RC_OK;
	for (k = 0; k < fs->ncols; k++) {
		struct buf m = BUF_INIT;
		if (fs->cols[k].seen)
			continue;
		show(&m, fs->cols[k].name);
		api_fail(s->fs->err, "file", 0, NULL,
		    "%s: key %s (ats.columns.%s) is in none of the %ld lines; check "
		    "its spelling (if the export leaves out empty values, remove it from "
		    "ats.columns)", fs->path, m.p, fs->cols[k].cfg, s->data_rows);
		buf_free(&m);
		return RC_CONFIG;
	}
	return RC_OK;
}

/*
 * Reads the whole file. Pull (s->fn): delivers each good row. Get (s->want):
 * stops at the first good row with that id (s->found). RC_OK at the end of
 * the file; anything else stops the scan.
 */
static enum rc
scan(struct scan *s)
{
	struct fsrc *fs = s->fs;
	enum rc rc;

	if ((rc = scan_open(s)) != RC_OK)
		return rc;
	for (;;) {
		const char *id, *why = NULL;
		int r = fs->jsonl ? csv_line(&s->rd, &s->row) : csv_next(&s->rd, &s->row);

		if (r < 0)
			return read_error(s);
		if (r == 0)
			break;
		if (++s->nrec % FILE_DEADLINE_EVERY == 0 && past_deadline(s->a)) {
			api_fail(s->fs->err, "file", 0, NULL,
			    "%s:%ld: the run's deadline came before the end of the file",
			    fs->path, s->row.line);
			return RC_REMOTE;
		}
		if (s->row.nul || (s->row.bad == NULL && !utf8_valid(s->row.data, s->row.len)))
			return not_utf8(s);
		if (s->row.bad != NULL) {
			skip_row(s, s->row.bad, NULL, 0);
			continue;
		}
		if (row_blank(&s->row) || !row_values(s))
			continue;
		s->data_rows++;
		if ((id = row_id(s, &why)) == NULL) {
			size_t k = (size_t)fs->single[FF_ID];
			skip_row(s, why, why[strlen(why) - 1] == ':' ? val(s, k, 0) : NULL, 0);
			continue;
		}
		if (s->want != NULL)
			keep_wanted(s, id);
		else if ((rc = take_row(s, id)) != RC_OK)
			return rc;
	}
	return check_keys_seen(s);
}

/* --------------------------------------------------------------- driver */

static enum rc
file_pull_all(struct ats *a, ats_cand_fn fn, void *arg, struct ats_pull *pull)
{
	struct fsrc *fs = a->priv;
	struct scan s;
	enum rc rc;
	size_t k;

	memset(pull, 0, sizeof(*pull));
	memset(&s, 0, sizeof(s));
	s.fd = -1;
	s.a = a;
	s.fs = fs;
	s.fn = fn;
	s.arg = arg;
	s.pull = pull;
	for (k = 0; k < fs->ncols; k++)
		fs->cols[k].seen = 0;
	/* the census: which ids have several rows (one per application) */
	s.mode = SCAN_CENSUS;
	rc = scan(&s);
	scan_close(&s);
	idset_free(&s.ids);
	if (rc == RC_OK && s.nmulti > 0) {
		s.mode = SCAN_PICK;
		rc = scan(&s);
		scan_close(&s);
		log_info("file", "%s: %ld people have several rows (one per application); each is "
		    "read from the row of its current application (ats.current_application %s)",
		    fs->path, s.nmulti, a->app_policy == ATS_APP_LATEST_UPDATED ? "latest_updated" :
		    "active_first");
	}
	if (rc == RC_OK) {
		s.mode = SCAN_PULL;
		rc = scan(&s);
	}
	pull->pages = 1;
	pull->complete = rc == RC_OK;
	if (rc == RC_OK && (pull->skipped > 0 || s.dups > 0))
		log_warn("file", "%s: %ld candidates read; skipped: %d malformed rows, %ld duplicate "
		    "ids (listed above)", fs->path, pull->records, pull->skipped, s.dups);
	scan_free(&s);
	return rc;
}

/* The file has no change times to filter on: a window is the whole file. */
static enum rc
file_pull_window(struct ats *a, int64_t from_ms, int64_t to_ms, ats_cand_fn fn, void *arg,
    struct ats_pull *pull)
{
	(void)from_ms;
	(void)to_ms;
	return file_pull_all(a, fn, arg, pull);
}

static enum rc
file_get(struct ats *a, const char *id, struct candidate **out)
{
	struct scan s;
	enum rc rc;

	memset(&s, 0, sizeof(s));
	s.fd = -1;
	s.a = a;
	s.fs = a->priv;
	s.want = id;
	rc = scan(&s);
	if (rc == RC_OK && s.found == NULL)
		rc = RC_RECORD;	/* not in the file: gone */
	if (rc == RC_OK)
		*out = s.found;
	else if (s.found != NULL) {
		candidate_free(s.found);
		free(s.found);
	}
	scan_free(&s);
	return rc;
}

static enum rc
file_open(struct ats *a)
{
	struct fsrc *fs = xcalloc(1, sizeof(*fs));
	const char *path = cfg_str(a->cfg, OPT_ATS_FILE), *fmt = cfg_str(a->cfg, OPT_ATS_FORMAT);
	const char *dot;
	struct scan s;
	enum rc rc;

	a->priv = fs;
	fs->err = &a->err;
	if (path == NULL || *path == '\0') {
		api_fail(&a->err, "file", 0, NULL,
		    "ats.file is required with ats.kind \"file\" (the export to read)");
		return RC_CONFIG;
	}
	fs->path = xstrdup(path);
	fs->region = cfg_str(a->cfg, OPT_PHONE_DEFAULT_REGION);
	dot = strrchr(path, '.');
	if (dot != NULL && strchr(dot, '/') != NULL)
		dot = NULL;
	if (fmt != NULL && strcmp(fmt, "csv") == 0)
		fs->jsonl = 0;
	else if (fmt != NULL && strcmp(fmt, "jsonl") == 0)
		fs->jsonl = 1;
	else if (dot != NULL && strcasecmp(dot, ".csv") == 0)
		fs->jsonl = 0;
	else if (dot != NULL && (strcasecmp(dot, ".jsonl") == 0 || strcasecmp(dot, ".ndjson") == 0))
		fs->jsonl = 1;
	else {
		api_fail(&a->err, "file", 0, NULL,
		    "%s: cannot tell the format from the name (.csv, .jsonl or "
		    ".ndjson); set ats.format to \"csv\" or \"jsonl\"", path);
		return RC_CONFIG;
	}
	if ((rc = parse_columns(a, fs)) != RC_OK)
		return rc;
	/* Check now that the file opens and (CSV) that its header has every
	 * mapped column: configuration errors surface before any work. */
	memset(&s, 0, sizeof(s));
	s.fd = -1;
	s.a = a;
	s.fs = fs;
	rc = scan_open(&s);
	scan_free(&s);
	return rc;
}

static void
file_close(struct ats *a)
{
	struct fsrc *fs = a->priv;

	if (fs != NULL) {
		cols_free(fs);
		free(fs->path);
		free(fs);
	}
	a->priv = NULL;
}

const struct ats_driver ats_file = {
	.name = "file",
	.fix = "check ats.file, ats.format and ats.columns",
	.flags = ATS_F_FULL_ONLY,
	.open = file_open,
	.pull_window = file_pull_window,
	.pull_all = file_pull_all,
	.get = file_get,
	.pull_deleted = NULL,
	.close = file_close,
};
