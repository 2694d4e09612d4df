/*
 * Tests: the export-file source (ats_file.c) and its streaming reader (csv.c).
 * Files are written into a fresh temporary directory (and tests/data/ holds
 * two small samples); the driver is configured through the same layers as
 * the binary (ATSRECON_* variables). Log lines are captured in a file to
 * check the `file:line: message` reports.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ats.h"
#include "config.h"
#include "csv.h"
#include "json.h"
#include "log.h"
#include "norm.h"
#include "t.h"

/* Under ASan, freed memory waits in a quarantine (256 MB by default) that
 * would hide what the driver itself keeps: keep it small for the RSS check. */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "quarantine_size_mb=1:thread_local_quarantine_size_kb=64";
}

static char dir[64];
static int logfd = -1;

/* ----------------------------------------------------------------- helpers */

static char *
path_of(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static char *
write_file(const char *name, const char *data, size_t len)
{
	char *p = path_of(name);
	FILE *f = fopen(p, "wb");

	if (f == NULL || fwrite(data, 1, len, f) != len)
		printf("cannot write %s: %s\n", p, strerror(errno));
	if (f != NULL)
		fclose(f);
	return p;
}

static char *
write_str(const char *name, const char *data)
{
	return write_file(name, data, strlen(data));
}

/* Everything logged since the last call (caller frees). */
static char *
log_take(void)
{
	struct buf b = BUF_INIT;
	char tmp[4096];
	ssize_t n;

	lseek(logfd, 0, SEEK_SET);
	while ((n = read(logfd, tmp, sizeof(tmp))) > 0)
		buf_add(&b, tmp, (size_t)n);
	if (ftruncate(logfd, 0) != 0)
		printf("ftruncate: %s\n", strerror(errno));
	lseek(logfd, 0, SEEK_SET);
	return buf_take(&b);
}

static int
count_lines_with(const char *text, const char *needle)
{
	int n = 0;
	const char *p = text;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

struct env {
	struct config cfg;
	struct ats *a;
};

/* Opens the driver on path with the columns JSON (and a format when not
 * NULL), through a config file: ats.columns is structured, so it has no
 * environment variable. */
static const char *env_policy;	/* ats.current_application for the next env_open */

static enum rc
env_open(struct env *e, const char *path, const char *columns, const char *format)
{
	struct buf err = BUF_INIT, text = BUF_INIT;
	char *cfgpath = path_of("config.jsonc");
	enum rc rc;

	memset(e, 0, sizeof(*e));
	config_init(&e->cfg);
	buf_adds(&text, "{ \"ats\": { \"kind\": \"file\"");
	if (path != NULL)
		buf_addf(&text, ", \"file\": \"%s\"", path);
	if (columns != NULL)
		buf_addf(&text, ", \"columns\": %s", columns);
	if (format != NULL)
		buf_addf(&text, ", \"format\": \"%s\"", format);
	if (env_policy != NULL)
		buf_addf(&text, ", \"current_application\": \"%s\"", env_policy);
	buf_adds(&text, " },\n  \"phone\": { \"default_region\": \"US\" } }\n");
	free(write_file("config.jsonc", text.p, text.len));
	rc = config_load_file(&e->cfg, cfgpath, &err);
	if (rc != RC_OK)
		log_error("test", "config: %s", err.p);
	free(cfgpath);
	buf_free(&text);
	buf_free(&err);
	if (rc != RC_OK)
		return rc;
	return ats_open(&e->cfg, NULL, &e->a);
}

static void
env_close(struct env *e)
{
	ats_close(e->a);
	e->a = NULL;
	config_free(&e->cfg);
}

/* One candidate as a line of text: every field that is set, in a fixed order. */
static char *
summary(const struct candidate *c)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_addf(&b, "id=%s", c->id);
#define S(f) if (c->f != NULL) buf_addf(&b, " " #f "=%s", c->f)
	S(first_name);
	S(last_name);
	S(full_name);
	if (c->nemails > 0) {
		buf_adds(&b, " emails=");
		for (i = 0; i < c->nemails; i++)
			buf_addf(&b, "%s%s", i ? "," : "", c->emails[i]);
	}
	if (c->nphones > 0) {
		buf_adds(&b, " phones=");
		for (i = 0; i < c->nphones; i++)
			buf_addf(&b, "%s%s%s%s", i ? "," : "", c->phones[i], *c->phone_exts[i] ? "x" : "",
			    c->phone_exts[i]);
	}
	S(title);
	S(company);
	S(stage_name);
	S(status);
	S(job);
	S(source);
	S(referrer);
	S(app_id);
#undef S
	if (c->applied_ms)
		buf_addf(&b, " applied=%lld", (long long)c->applied_ms);
	if (c->updated_ms)
		buf_addf(&b, " updated=%lld", (long long)c->updated_ms);
	if (c->created_ms)
		buf_addf(&b, " created=%lld", (long long)c->created_ms);
	if (c->anonymized)
		buf_adds(&b, " anonymized");
	if (c->is_private)
		buf_adds(&b, " private");
	for (i = 0; i < c->ncustom; i++)
		buf_addf(&b, " custom[%s]=%s", c->custom[i].key, c->custom[i].value);
	for (i = 0; i < c->ninvalid; i++)
		buf_addf(&b, " invalid[%s]=%s", c->invalid[i].field, c->invalid[i].value);
	if (strcmp(c->ats, "file") != 0)
		buf_addf(&b, " ats=%s", c->ats);
	return buf_take(&b);
}

struct got {
	size_t n;
	char **s;		/* summaries, in delivery order */
	enum rc stop_at_rc;	/* returned by the callback at stop_at (0: never) */
	size_t stop_at;
};

static enum rc
collect(void *arg, const struct candidate *c)
{
	struct got *g = arg;

	g->s = xrealloc(g->s, (g->n + 1) * sizeof(*g->s));
	g->s[g->n++] = summary(c);
	if (g->stop_at != 0 && g->n == g->stop_at)
		return g->stop_at_rc;
	return RC_OK;
}

static void
got_free(struct got *g)
{
	strv_free(g->s, g->n);
	memset(g, 0, sizeof(*g));
}

static const char *
got_at(const struct got *g, size_t i)
{
	return i < g->n ? g->s[i] : "(none)";
}

static enum rc
pull(struct env *e, struct got *g, struct ats_pull *p)
{
	memset(g, 0, sizeof(*g));
	return e->a->drv->pull_all(e->a, collect, g, p);
}

static int64_t
ms_of(const char *iso)
{
	int64_t ms = 0;

	norm_time(iso, NORM_DATE_ISO, &ms, NULL);
	return ms;
}

/* ------------------------------------------------------------ RFC 4180 */

static void
test_rfc4180(void)
{
	static const char csv[] =
	    "\xef\xbb\xbf" "id,first,last,email,notes\r\n"
	    "1,Jane,Doe,jane@x.com,plain\r\n"
	    "2,\"Smith, Jr.\",Bob,\"BOB@Y.COM\",x\r\n"
	    "3,\"Say \"\"hi\"\"\",Q,,\"line1\r\nline2\"\r\n"
	    "4,,,,\r\n"
	    "5,\"\",\"\",,\"\"\"\"\r\n"
	    "6,Ann\r\n"
	    ",,,,\r\n"
	    "7,Zoë,Ünal,z@x.com,end\r\n"
	    "\r\n\r\n\r\n";
	static const char cols[] = "{\"id\":\"id\",\"first_name\":\"first\",\"last_name\":\"last\","
	    "\"email\":\"email\",\"custom:notes\":\"notes\"}";
	struct env e;
	struct got g;
	struct ats_pull p;
	char *path = write_file("rfc.csv", csv, sizeof(csv) - 1), *log;

	CHECK(env_open(&e, path, cols, NULL) == RC_OK);
	CHECK(e.a != NULL && e.a->drv->flags == ATS_F_FULL_ONLY);
	CHECK(pull(&e, &g, &p) == RC_OK);
	CHECK(p.complete == 1);
	CHECK(p.records == 6);
	CHECK(p.skipped == 1);
	CHECK(g.n == 6);
	CHECK_STR(got_at(&g, 0), "id=1 first_name=Jane last_name=Doe emails=jane@x.com "
	    "custom[notes]=plain");
	CHECK_STR(got_at(&g, 1), "id=2 first_name=Smith, Jr. last_name=Bob emails=bob@y.com "
	    "custom[notes]=x");
	CHECK_STR(got_at(&g, 2), "id=3 first_name=Say \"hi\" last_name=Q custom[notes]=line1\r\nline2");
	CHECK_STR(got_at(&g, 3), "id=4");
	CHECK_STR(got_at(&g, 4), "id=5 custom[notes]=\"");
	CHECK_STR(got_at(&g, 5), "id=7 first_name=Zoë last_name=Ünal emails=z@x.com custom[notes]=end");
	log = log_take();
	/* the embedded CRLF counts: "6,Ann" is physical line 8 */
	CHECK_CONTAINS(log, "rfc.csv:8: 2 fields where the header has 5; row skipped");
	CHECK(count_lines_with(log, "row skipped") == 1);
	free(log);
	got_free(&g);
	env_close(&e);
	free(path);

	/* LF only, last line without a newline, one empty field at the end */
	path = write_str("lf.csv", "id,first,notes\n1,A,\n2,B,x\n3,C,last");
	CHECK(env_open(&e, path, "{\"id\":\"id\",\"first_name\":\"first\",\"custom:notes\":\"notes\"}",
	    NULL) == RC_OK);
	CHECK(pull(&e, &g, &p) == RC_OK && p.skipped == 0);
	CHECK(g.n == 3);
	CHECK_STR(got_at(&g, 0), "id=1 first_name=A");
	CHECK_STR(got_at(&g, 2), "id=3 first_name=C custom[notes]=last");
	got_free(&g);
	env_close(&e);
	free(path);

	/* a lone CR ends a line too (old Mac spreadsheets); a trailing comma is an empty field */
	path = write_str("cr.csv", "id,first,x\r1,A,\r2,B,\r");
	CHECK(env_open(&e, path, "{\"id\":\"id\",\"first_name\":\"first\"}", NULL) == RC_OK);
	CHECK(pull(&e, &g, &p) == RC_OK && p.skipped == 0);
	CHECK(g.n == 2);
	CHECK_STR(got_at(&g, 1), "id=2 first_name=B");
	got_free(&g);
	env_close(&e);
	free(path);
	free(log_take());
}

/* The reader alone: fields, line numbers, bounds. */
static void
test_csv_reader(void)
{
	static const char data[] = "a,\"b\nc\",d\n\"x\"\"y\",,\n\"\"\nlast";
	char *path = write_str("reader.csv", data);
	struct csv c;
	struct csv_row r;
	size_t n;
	int fd = open(path, O_RDONLY), bom;

	memset(&r, 0, sizeof(r));
	CHECK(csv_init(&c, fd, ',', 1024, 16, &bom) == 0 && bom == 0);
	CHECK(csv_next(&c, &r) == 1 && r.bad == NULL && r.nf == 3 && r.line == 1 && r.last_line == 2);
	CHECK_STR(csv_field(&r, 1, &n), "b\nc");
	CHECK(n == 3);
	CHECK(csv_field(&r, 3, NULL) == NULL);
	CHECK(csv_next(&c, &r) == 1 && r.nf == 3 && r.line == 3);
	CHECK_STR(csv_field(&r, 0, &n), "x\"y");
	CHECK_STR(csv_field(&r, 2, &n), "");
	CHECK(n == 0);
	CHECK(csv_next(&c, &r) == 1 && r.nf == 1 && r.line == 4);
	CHECK_STR(csv_field(&r, 0, NULL), "");
	CHECK(csv_next(&c, &r) == 1 && r.nf == 1 && r.line == 5);
	CHECK_STR(csv_field(&r, 0, NULL), "last");
	CHECK(csv_next(&c, &r) == 0);
	CHECK(csv_next(&c, &r) == 0);
	csv_free(&c);
	close(fd);
	free(path);

	/* more fields than the limit: read to the end, marked bad; the next row is fine */
	path = write_str("fields.csv", "1,2,3,4,5\na,b\n");
	fd = open(path, O_RDONLY);
	CHECK(csv_init(&c, fd, ',', 1024, 4, &bom) == 0);
	CHECK(csv_next(&c, &r) == 1 && r.bad != NULL && r.nf == 4);
	CHECK(csv_next(&c, &r) == 1 && r.bad == NULL && r.nf == 2 && r.line == 2);
	csv_free(&c);
	close(fd);
	free(path);

	/* lines for JSON lines: CRLF stripped, no quote handling */
	path = write_str("lines.txt", "{\"a\":\"x,\\\"y\"}\r\n\n  \nend");
	fd = open(path, O_RDONLY);
	CHECK(csv_init(&c, fd, ',', 1024, 4, &bom) == 0);
	CHECK(csv_line(&c, &r) == 1 && r.line == 1 && r.len == strlen("{\"a\":\"x,\\\"y\"}") + 1);
	CHECK_STR(csv_field(&r, 0, NULL), "{\"a\":\"x,\\\"y\"}");
	CHECK(csv_line(&c, &r) == 1 && r.line == 2 && r.len == 1);
	CHECK(csv_line(&c, &r) == 1 && r.line == 3);
	CHECK(csv_line(&c, &r) == 1 && r.line == 4);
	CHECK_STR(csv_field(&r, 0, NULL), "end");
	CHECK(csv_line(&c, &r) == 0);
	csv_free(&c);
	close(fd);
	free(path);
	csv_row_free(&r);
}

/* ----------------------------------------------------------- JSON lines */

static void
test_jsonl(void)
{
	static const char data[] =
	    "{\"id\": 17, \"name\": \"Mary Ann  Smith\", \"emails\": [\"M@X.com\", \"m2@x.com\", null],"
	    " \"phone\": null, \"score\": 4.5, \"applied\": 1767607200000, \"tags\": [\"a\", \"b\"],"
	    " \"unmapped\": {\"deep\": [1, 2]}}\n"
	    "{\"id\": \"abc\", \"name\": \"Cher\", \"emails\": \"cher@x.com\","
	    " \"phone\": \"(415) 555-0100 x22\", \"private\": true, \"anon\": \"yes\", \"score\": 3}\r\n"
	    "\n"
	    "[1, 2]\n"
	    "{\"id\": 1.5, \"name\": \"X\"}\n"
	    "{\"id\": {\"x\": 1}}\n"
	    "{\"id\": \"z\", \"name\": [\"A\", \"B\"], \"private\": \"maybe\", \"applied\": \"soon\","
	    " \"tags\": {\"k\": 1}}\n"
	    "{\"id\": \"broken\"\n"
	    "{\"id\": 99999999999999999999}\n"
	    "   \n"
	    "{\"id\": \"last\", \"emails\": [\"l@x.com\", [\"nested@x.com\"]]}";
	static const char cols[] = "{\"id\":\"id\",\"name\":\"name\",\"email\":\"emails\","
	    "\"phone\":\"phone\",\"custom:score\":\"score\",\"applied_at\":\"applied\","
	    "\"custom:tags\":\"tags\",\"private\":\"private\",\"anonymized\":\"anon\"}";
	struct env e;
	struct got g;
	struct ats_pull p;
	char *path = write_str("people.jsonl", data), *log;

	CHECK(env_open(&e, path, cols, NULL) == RC_OK);
	CHECK(pull(&e, &g, &p) == RC_OK);
	CHECK(p.complete == 1 && p.records == 4 && p.skipped == 5);
	CHECK(g.n == 4);
	CHECK_STR(got_at(&g, 0), "id=17 first_name=Mary last_name=Ann Smith full_name=Mary Ann  Smith "
	    "emails=m@x.com,m2@x.com applied=1767607200000 custom[score]=4.5 custom[tags]=a, b");
	CHECK_STR(got_at(&g, 1), "id=abc first_name=Cher full_name=Cher emails=cher@x.com "
	    "phones=+14155550100x22 anonymized private custom[score]=3");
	CHECK_STR(got_at(&g, 2), "id=z custom[tags]={\"k\":1} invalid[name]=A invalid[applied_at]=soon "
	    "invalid[private]=maybe");
	CHECK_STR(got_at(&g, 3), "id=last emails=l@x.com invalid[email]=[\"nested@x.com\"]");
	log = log_take();
	CHECK_CONTAINS(log, "people.jsonl:4: not a JSON object; row skipped");
	CHECK_CONTAINS(log, "people.jsonl:5: the id is not usable: \"1.5\"; row skipped");
	CHECK_CONTAINS(log, "people.jsonl:6: the id is not usable: \"{\"x\":1}\"; row skipped");
	CHECK_CONTAINS(log, "people.jsonl:8: not a JSON object: ");
	CHECK_CONTAINS(log, "people.jsonl:9: the id is not usable: \"1e+20\"; row skipped");
	CHECK(count_lines_with(log, "row skipped") == 5);
	free(log);
	got_free(&g);
	env_close(&e);
	free(path);

	/* a mapped key that no line has: a configuration error after the scan */
	path = write_str("typo.ndjson", "{\"id\": 1, \"mail\": \"a@x.com\"}\n{\"id\": 2}\n");
	CHECK(env_open(&e, path, "{\"id\":\"id\",\"email\":\"email\"}", NULL) == RC_OK);
	CHECK(pull(&e, &g, &p) == RC_CONFIG);
	CHECK(p.complete == 0);
	log = log_take();
	CHECK_CONTAINS(log, "typo.ndjson: key \"email\" (ats.columns.email) is in none of the 2 lines");
	free(log);
	got_free(&g);
	env_close(&e);
	free(path);
}

/* ---------------------------------------------------------- the mapping */

static void
test_mapping(void)
{
	static const char csv[] =
	    "Candidate ID,Full Name,Email,Work Email,Phone,Mobile,Title,Company,Stage,Status,Job,"
	    "Source,Referred By,Applied,Updated,Created,GDPR,Private,Shirt\n"
	    "100, Mary Ann Smith ,\"a@x.com; B@x.com\",b@x.com,(415) 555-0100,\"+44 20 7946 0958, "
	    "not a phone\",Engineer,Acme,Phone Screen,In Process,Backend,LinkedIn (Prospecting),"
	    "Joe,2026-01-05,2026-01-06T10:00:00Z,05/01/2026,no,N,XL\n"
	    "101,Cher,not-an-email,,,,,,Offer,bogus,,,,31/12/2026,1767607200,garbage,Yes,1,\n"
	    "102,,,,,,,,,Hired,,,,,,,x,,\n";
	static const char cols[] = "{\"id\":\"Candidate ID\",\"name\":\"Full Name\","
	    "\"email\":[\"Email\",\"Work Email\"],\"phone\":[\"Phone\",\"Mobile\"],\"title\":\"Title\","
	    "\"company\":\"Company\",\"stage\":\"Stage\",\"status\":\"Status\",\"job\":\"Job\","
	    "\"source\":\"Source\",\"referrer\":\"Referred By\",\"applied_at\":\"Applied\","
	    "\"updated_at\":\"Updated\",\"created_at\":\"Created\",\"anonymized\":\"GDPR\","
	    "\"private\":\"Private\",\"custom:shirt_size\":\"Shirt\",\"date_order\":\"dmy\"}";
	struct env e;
	struct got g;
	struct ats_pull p;
	char *path = write_str("map.csv", csv), *want;

	CHECK(env_open(&e, path, cols, NULL) == RC_OK);
	CHECK(pull(&e, &g, &p) == RC_OK && p.records == 3 && p.skipped == 0);
	want = xasprintf("id=100 first_name=Mary last_name=Ann Smith full_name=Mary Ann Smith "
	    "emails=a@x.com,b@x.com phones=+14155550100,+442079460958 title=Engineer company=Acme "
	    "stage_name=Phone Screen status=active job=Backend source=LinkedIn (Prospecting) "
	    "referrer=Joe applied=%lld updated=%lld created=%lld custom[shirt_size]=XL "
	    "invalid[phone]=not a phone", (long long)ms_of("2026-01-05"),
	    (long long)ms_of("2026-01-06T10:00:00Z"), (long long)ms_of("2026-01-05"));
	CHECK_STR(got_at(&g, 0), want);
	free(want);
	want = xasprintf("id=101 first_name=Cher full_name=Cher stage_name=Offer applied=%lld "
	    "updated=1767607200000 anonymized private invalid[email]=not-an-email "
	    "invalid[status]=bogus invalid[created_at]=garbage", (long long)ms_of("2026-12-31"));
	CHECK_STR(got_at(&g, 1), want);
	free(want);
	CHECK_STR(got_at(&g, 2), "id=102 status=hired invalid[anonymized]=x");
	got_free(&g);
	env_close(&e);

	/* first/last mapped: the name column is kept as full_name, not split */
	CHECK(env_open(&e, path, "{\"id\":\"Candidate ID\",\"first_name\":\"Shirt\","
	    "\"name\":\"Full Name\"}", NULL) == RC_OK);
	CHECK(pull(&e, &g, &p) == RC_OK && g.n == 3);
	CHECK_STR(got_at(&g, 0), "id=100 first_name=XL full_name=Mary Ann Smith");
	got_free(&g);
	env_close(&e);
	free(path);
	free(log_take());
}

/* ------------------------------------------------------ malformed rows */

static void
test_malformed(void)
{
	static const char csv[] =
	    "id,name,email\n"			/* 1 */
	    "1,A B,a@x.com\n"			/* 2 */
	    "2,\"C D,c@x.com\n"			/* 3: a stray quote... */
	    "3,E F,e@x.com\n"			/* 4 */
	    "4,G H,g@x.com\n"			/* 5 */
	    "5,\"I, J\",i@x.com\n"		/* 6: ...noticed here; reading resumes at 4 */
	    "6,only two\n"			/* 7 */
	    "7,Jo\"e,j@x.com\n"			/* 8 */
	    "8,\"Ann\" B,a@x.com\n"		/* 9 */
	    ",No Id,n@x.com\n"			/* 10 */
	    "1,Dup,d@x.com\n"			/* 11 */
	    "9,\"multi\nline\",m@x.com\n"	/* 12-13 */
	    "10,K L,k@x.com,extra\n"		/* 14 */
	    "11,M N,m@x.com\n"			/* 15 */
	    "12,\"never closes\n"		/* 16 */
	    "13,X Y,x@y.com\n";			/* 17 */
	struct env e;
	struct got g;
	struct ats_pull p;
	char *path = write_str("bad.csv", csv), *log;
	struct candidate *one = NULL;

	CHECK(env_open(&e, path, "{\"id\":\"id\",\"name\":\"name\",\"email\":\"email\"}", NULL) == RC_OK);
	CHECK(pull(&e, &g, &p) == RC_OK);
	CHECK(p.complete == 1);
	CHECK(p.skipped == 7);	/* a second row of 1 is not malformed: another application */
	CHECK(p.records == 7);
	CHECK(g.n == 7);
	/* the two rows of 1 are two applications without status, time or id: the
	 * later row stands for the greater id and is the current one */
	CHECK_STR(got_at(&g, 0), "id=3 first_name=E last_name=F full_name=E F emails=e@x.com");
	CHECK_STR(got_at(&g, 1), "id=4 first_name=G last_name=H full_name=G H emails=g@x.com");
	CHECK_STR(got_at(&g, 2), "id=5 first_name=I, last_name=J full_name=I, J emails=i@x.com");
	CHECK_STR(got_at(&g, 3), "id=1 first_name=Dup full_name=Dup emails=d@x.com");
	CHECK_STR(got_at(&g, 4), "id=9 first_name=multi last_name=line full_name=multi\nline "
	    "emails=m@x.com");
	CHECK_STR(got_at(&g, 5), "id=11 first_name=M last_name=N full_name=M N emails=m@x.com");
	CHECK_STR(got_at(&g, 6), "id=13 first_name=X last_name=Y full_name=X Y emails=x@y.com");
	log = log_take();
	CHECK_CONTAINS(log, "bad.csv:3: text after a closing quote (a quote inside a field must be "
	    "doubled) (the row runs to line 6); row skipped");
	CHECK_CONTAINS(log, "bad.csv:7: 2 fields where the header has 3; row skipped");
	CHECK_CONTAINS(log, "bad.csv:8: a quote inside a field that does not start with one; row skipped");
	CHECK_CONTAINS(log, "bad.csv:9: text after a closing quote");
	CHECK_CONTAINS(log, "bad.csv:10: no id; row skipped");
	CHECK(strstr(log, "bad.csv:11:") == NULL);
	CHECK_CONTAINS(log, "bad.csv: 1 people have several rows (one per application)");
	CHECK_CONTAINS(log, "bad.csv:14: 4 fields where the header has 3; row skipped");
	/* the line the unclosed quote swallowed is read again: 13 came */
	CHECK_CONTAINS(log, "bad.csv:16: a quoted field never closes (the row runs to line 17); "
	    "row skipped");
	CHECK(count_lines_with(log, "row skipped") == 7);	/* each once: not again per pass */
	CHECK_CONTAINS(log, "bad.csv: 7 candidates read; skipped: 7 malformed rows, 0 duplicate ids");
	free(log);
	got_free(&g);

	/* get: the current row of an id (as the pull), RC_RECORD when absent,
	 * malformed rows quietly */
	CHECK(e.a->drv->get(e.a, "1", &one) == RC_OK);
	if (one != NULL) {
		char *s = summary(one);
		CHECK_STR(s, "id=1 first_name=Dup full_name=Dup emails=d@x.com");
		free(s);
		candidate_free(one);
		free(one);
		one = NULL;
	}
	CHECK(e.a->drv->get(e.a, "13", &one) == RC_OK && one != NULL && strcmp(one->id, "13") == 0);
	if (one != NULL) {
		candidate_free(one);
		free(one);
		one = NULL;
	}
	CHECK(e.a->drv->get(e.a, "2", &one) == RC_RECORD && one == NULL);	/* only malformed */
	CHECK(e.a->drv->get(e.a, "nobody", &one) == RC_RECORD && one == NULL);
	log = log_take();
	CHECK(strstr(log, "WARN") == NULL);
	free(log);
	env_close(&e);
	free(path);
}

/* ------------------------------------------------- configuration errors */

static void
test_config_errors(void)
{
	static const char csv[] = "id,Name,Email,Email\n1,A,a@x.com,b@x.com\n";
	struct env e;
	char *path = write_str("cfg.csv", csv), *log, *p2;

	CHECK(env_open(&e, path, "{\"id\":\"id\",\"email\":\"E-mail\"}", NULL) == RC_CONFIG);
	log = log_take();
	CHECK_CONTAINS(log, "cfg.csv:1: column \"E-mail\" (ats.columns.email) is not in the header");
	free(log);
	env_close(&e);

	CHECK(env_open(&e, path, "{\"id\":\"id\",\"phone\":[\"Name\",\"Mobile\"]}", NULL) == RC_CONFIG);
	log = log_take();
	CHECK_CONTAINS(log, "cfg.csv:1: column \"Mobile\" (ats.columns.phone[1]) is not in the header");
	free(log);
	env_close(&e);

	CHECK(env_open(&e, path, "{\"id\":\"id\",\"email\":\"Email\"}", NULL) == RC_CONFIG);
	log = log_take();
	CHECK_CONTAINS(log, "column \"Email\" (ats.columns.email) appears more than once in the header");
	free(log);
	env_close(&e);

	/* an unmapped duplicate header is fine */
	CHECK(env_open(&e, path, "{\"id\":\"id\",\"name\":\"Name\"}", NULL) == RC_OK);
	env_close(&e);

	CHECK(env_open(&e, path, "{\"name\":\"Name\"}", NULL) == RC_CONFIG);
	env_close(&e);
	CHECK(env_open(&e, path, "{\"id\":\"id\",\"emial\":\"Email\"}", NULL) == RC_CONFIG);
	log = log_take();
	CHECK_CONTAINS(log, "\"id\" is required");
	CHECK_CONTAINS(log, "unknown field \"emial\"");
	free(log);
	env_close(&e);
	CHECK(env_open(&e, path, "{\"id\":\"id\",\"title\":[\"Name\"]}", NULL) == RC_CONFIG);
	env_close(&e);
	CHECK(env_open(&e, path, "{\"id\":\"id\",\"date_order\":\"ymd\"}", NULL) == RC_CONFIG);
	env_close(&e);
	CHECK(env_open(&e, path, "[\"id\"]", NULL) == RC_CONFIG);
	env_close(&e);
	CHECK(env_open(&e, path, NULL, NULL) == RC_CONFIG);
	env_close(&e);
	CHECK(env_open(&e, NULL, "{\"id\":\"id\"}", NULL) == RC_CONFIG);
	env_close(&e);
	free(log_take());

	/* open errors name the path and say why */
	p2 = path_of("missing.csv");
	CHECK(env_open(&e, p2, "{\"id\":\"id\"}", NULL) == RC_CONFIG);
	log = log_take();
	CHECK_CONTAINS(log, "missing.csv: No such file or directory (ats.file)");
	free(log);
	env_close(&e);
	free(p2);
	p2 = path_of("sub.csv");
	mkdir(p2, 0700);
	CHECK(env_open(&e, p2, "{\"id\":\"id\"}", NULL) == RC_CONFIG);
	log = log_take();
	CHECK_CONTAINS(log, "sub.csv: not a regular file");
	free(log);
	env_close(&e);
	rmdir(p2);
	free(p2);

	/* the format: by extension, or said */
	p2 = write_str("export.txt", csv);
	CHECK(env_open(&e, p2, "{\"id\":\"id\"}", NULL) == RC_CONFIG);
	log = log_take();
	CHECK_CONTAINS(log, "set ats.format");
	free(log);
	env_close(&e);
	CHECK(env_open(&e, p2, "{\"id\":\"id\"}", "csv") == RC_OK);
	env_close(&e);
	free(p2);

	/* an empty file has no header */
	p2 = write_str("empty.csv", "\r\n\n");
	CHECK(env_open(&e, p2, "{\"id\":\"id\"}", NULL) == RC_CONFIG);
	log = log_take();
	CHECK_CONTAINS(log, "empty.csv:3: the file is empty");
	free(log);
	env_close(&e);
	free(p2);
	free(path);
}

static void
test_encoding(void)
{
	struct env e;
	struct got g;
	struct ats_pull p;
	char *path, *log;
	static const char latin1[] = "id,name\n1,Ann\n2,Ren\xe9\n3,Bo\n";
	static const char utf16[] = "\xff\xfei\0d\0\n\0";
	static const char nul[] = "id,name\n1,A\0B\n";

	path = write_str("latin1.csv", latin1);
	CHECK(env_open(&e, path, "{\"id\":\"id\",\"name\":\"name\"}", NULL) == RC_OK);
	CHECK(pull(&e, &g, &p) == RC_CONFIG);
	CHECK(p.complete == 0 && g.n == 0);	/* the census pass finds it before any delivery */
	log = log_take();
	CHECK_CONTAINS(log, "latin1.csv:3: the file is not UTF-8 text; save the export as UTF-8");
	free(log);
	got_free(&g);
	env_close(&e);
	free(path);

	path = write_str("latin1h.csv", "id,n\xe4me\n1,A\n");
	CHECK(env_open(&e, path, "{\"id\":\"id\"}", NULL) == RC_CONFIG);
	log = log_take();
	CHECK_CONTAINS(log, "latin1h.csv:1: the file is not UTF-8 text");
	free(log);
	env_close(&e);
	free(path);

	path = write_file("utf16.csv", utf16, sizeof(utf16) - 1);
	CHECK(env_open(&e, path, "{\"id\":\"id\"}", NULL) == RC_CONFIG);
	log = log_take();
	CHECK_CONTAINS(log, "utf16.csv:1: the file is UTF-16 or UTF-32");
	free(log);
	env_close(&e);
	free(path);

	path = write_file("nul.csv", nul, sizeof(nul) - 1);
	CHECK(env_open(&e, path, "{\"id\":\"id\"}", NULL) == RC_OK);
	CHECK(pull(&e, &g, &p) == RC_CONFIG);
	log = log_take();
	CHECK_CONTAINS(log, "nul.csv:2: the file is not UTF-8 text (a NUL byte: UTF-16?)");
	free(log);
	got_free(&g);
	env_close(&e);
	free(path);

	path = write_str("latin1.jsonl", "{\"id\":\"1\"}\n{\"id\":\"Ren\xe9\"}\n");
	CHECK(env_open(&e, path, "{\"id\":\"id\"}", NULL) == RC_OK);
	CHECK(pull(&e, &g, &p) == RC_CONFIG);
	log = log_take();
	CHECK_CONTAINS(log, "latin1.jsonl:2: the file is not UTF-8 text");
	free(log);
	got_free(&g);
	env_close(&e);
	free(path);
}

/* Spreadsheets in many locales write ';' (or tabs). */
static void
test_delimiters(void)
{
	struct env e;
	struct got g;
	struct ats_pull p;
	char *path;

	path = write_str("semi.csv", "\xef\xbb\xbfid;Name;Email\r\n1;\"Doe; Jane\";j@x.com\r\n2;Bo,B;\r\n");
	CHECK(env_open(&e, path, "{\"id\":\"id\",\"name\":\"Name\",\"email\":\"Email\"}", NULL) == RC_OK);
	CHECK(pull(&e, &g, &p) == RC_OK && p.skipped == 0 && g.n == 2);
	CHECK_STR(got_at(&g, 0), "id=1 first_name=Doe; last_name=Jane full_name=Doe; Jane "
	    "emails=j@x.com");
	CHECK_STR(got_at(&g, 1), "id=2 first_name=Bo,B full_name=Bo,B");
	got_free(&g);
	env_close(&e);
	free(path);

	path = write_str("tabs.csv", "id\tName\n1\tA B\n");
	CHECK(env_open(&e, path, "{\"id\":\"id\",\"name\":\"Name\"}", NULL) == RC_OK);
	CHECK(pull(&e, &g, &p) == RC_OK && g.n == 1);
	CHECK_STR(got_at(&g, 0), "id=1 first_name=A last_name=B full_name=A B");
	got_free(&g);
	env_close(&e);
	free(path);
	free(log_take());
}

/* ------------------------------------------------------------- bounds */

static void
test_long_rows(void)
{
	struct buf b = BUF_INIT;
	struct env e;
	struct got g;
	struct ats_pull p;
	char *path, *log;
	size_t i;

	buf_adds(&b, "id,name,notes\n1,A,short\n2,B,");
	for (i = 0; i < 1536 * 1024; i++)
		buf_addc(&b, 'x');
	buf_adds(&b, "\n3,C,\"");	/* a quoted field over the limit, with line breaks */
	for (i = 0; i < 1536 * 1024; i++)
		buf_addc(&b, i % 100 == 99 ? '\n' : 'y');
	buf_adds(&b, "\"\n4,D,end\n");
	path = write_file("long.csv", b.p, b.len);
	CHECK(env_open(&e, path, "{\"id\":\"id\",\"name\":\"name\",\"custom:notes\":\"notes\"}",
	    NULL) == RC_OK);
	CHECK(pull(&e, &g, &p) == RC_OK);
	CHECK(p.complete == 1 && p.records == 2 && p.skipped == 2);
	CHECK_STR(got_at(&g, 0), "id=1 first_name=A full_name=A custom[notes]=short");
	CHECK_STR(got_at(&g, 1), "id=4 first_name=D full_name=D custom[notes]=end");
	log = log_take();
	CHECK_CONTAINS(log, "long.csv:3: the row is longer than the limit (1 MiB); row skipped");
	CHECK_CONTAINS(log, "long.csv:4: the row is longer than the limit (1 MiB) (the row runs to "
	    "line 15732); row skipped");
	free(log);
	got_free(&g);
	env_close(&e);
	free(path);

	/* the same for a JSON line */
	buf_reset(&b);
	buf_adds(&b, "{\"id\":\"1\",\"n\":\"");
	for (i = 0; i < 1100 * 1024; i++)
		buf_addc(&b, 'z');
	buf_adds(&b, "\"}\n{\"id\":\"2\",\"n\":\"ok\"}\n");
	path = write_file("long.jsonl", b.p, b.len);
	CHECK(env_open(&e, path, "{\"id\":\"id\",\"custom:n\":\"n\"}", NULL) == RC_OK);
	CHECK(pull(&e, &g, &p) == RC_OK && p.records == 1 && p.skipped == 1);
	CHECK_STR(got_at(&g, 0), "id=2 custom[n]=ok");
	log = log_take();
	CHECK_CONTAINS(log, "long.jsonl:1: the row is longer than the limit (1 MiB); row skipped");
	free(log);
	got_free(&g);
	env_close(&e);
	free(path);

	/* an id over 256 bytes */
	buf_reset(&b);
	buf_adds(&b, "id\n");
	for (i = 0; i < 300; i++)
		buf_addc(&b, '7');
	buf_adds(&b, "\n8\n");
	path = write_file("longid.csv", b.p, b.len);
	CHECK(env_open(&e, path, "{\"id\":\"id\"}", NULL) == RC_OK);
	CHECK(pull(&e, &g, &p) == RC_OK && p.records == 1 && p.skipped == 1);
	log = log_take();
	CHECK_CONTAINS(log, "longid.csv:2: the id is longer than 256 bytes: \"7777");
	CHECK_CONTAINS(log, "...\"; row skipped");
	free(log);
	got_free(&g);
	env_close(&e);
	free(path);
	buf_free(&b);
}

static long
status_kb(const char *name)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t n = strlen(name);

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static long n_big;

static long n_later;

static enum rc
count_big(void *arg, const struct candidate *c)
{
	(void)arg;
	if (c->nemails != 1 || c->nphones != 1 || c->ncustom != 1 || c->first_name == NULL)
		return RC_BUG;
	n_later += str_eq(c->first_name, "Again") || str_eq(c->first_name, "Late") ||
	    str_eq(c->first_name, "Mid");
	n_big++;
	return RC_OK;
}

/*
 * 200,000 rows, about 50 MB: peak RSS must grow far less than the file. The
 * bound leaves room for ASan's shadow memory and allocator caches; reading
 * the file whole, or keeping the rows, would pass it by far. The bench
 * measures the release build exactly.
 */
static void
test_big_file(void)
{
	char *path = path_of("big.csv");
	FILE *f = fopen(path, "w");
	struct env e;
	struct ats_pull p;
	struct stat st;
	long hwm0, hwm1, i;
	enum rc rc;
	char *log;

	if (f == NULL)
		return;
	fputs("id,first,last,email,phone,notes\n", f);
	for (i = 0; i < 200000; i++)
		fprintf(f, "%ld,First%ld,\"Last, %ld\",person%ld@example.com,+1415555%04ld,\"%0160ld\"\n",
		    i, i, i, i, i % 10000, i);
	/* second rows (applications) of early, middle and late ids, after the id
	 * set has grown: the later row is current */
	fputs("5,Again,Five,five@example.com,+14155550005,x\n199999,Late,Dup,l@example.com,"
	    "+14155550006,x\n123456,Mid,Dup,m@example.com,+14155550007,x\n", f);
	fclose(f);
	CHECK(stat(path, &st) == 0 && st.st_size > 40L * 1024 * 1024);
	CHECK(env_open(&e, path, "{\"id\":\"id\",\"first_name\":\"first\",\"last_name\":\"last\","
	    "\"email\":\"email\",\"phone\":\"phone\",\"custom:notes\":\"notes\"}", NULL) == RC_OK);
	hwm0 = status_kb("VmHWM");
	rc = e.a->drv->pull_all(e.a, count_big, NULL, &p);
	hwm1 = status_kb("VmHWM");
	CHECK(rc == RC_OK && p.complete == 1 && p.skipped == 0);
	CHECK(n_big == 200000 && p.records == 200000);
	CHECK(n_later == 3);
	printf("# 200,000 rows (%lld MB): VmHWM %ld kB -> %ld kB (+%ld kB)\n",
	    (long long)st.st_size / (1024 * 1024), hwm0, hwm1, hwm1 - hwm0);
	/* under valgrind (tests/valgrind.sh) VmHWM is valgrind's own memory */
	if (getenv("ATSRECON_TEST_VALGRIND") == NULL)
		CHECK(hwm0 > 0 && hwm1 - hwm0 < 24 * 1024);

	/* the run's deadline stops the scan: not complete */
	e.a->deadline_ms = mono_ms() - 1;
	n_big = 0;
	rc = e.a->drv->pull_all(e.a, count_big, NULL, &p);
	CHECK(rc == RC_REMOTE && p.complete == 0 && n_big < 2000);
	e.a->deadline_ms = 0;
	log = log_take();
	CHECK_CONTAINS(log, "big.csv: 3 people have several rows (one per application)");
	CHECK(strstr(log, "duplicate id") == NULL);
	CHECK_CONTAINS(log, "the run's deadline came before the end of the file");
	free(log);
	env_close(&e);
	unlink(path);
	free(path);
}

/* The callback's rc stops the pull; pull_window reads the whole file too. */
static void
test_stop_and_window(void)
{
	struct env e;
	struct got g;
	struct ats_pull p;
	char *path = write_str("stop.csv", "id\n1\n2\n3\n");

	CHECK(env_open(&e, path, "{\"id\":\"id\"}", NULL) == RC_OK);
	memset(&g, 0, sizeof(g));
	g.stop_at = 2;
	g.stop_at_rc = RC_STATE;
	CHECK(e.a->drv->pull_all(e.a, collect, &g, &p) == RC_STATE);
	CHECK(g.n == 2 && p.complete == 0);
	got_free(&g);
	CHECK(e.a->drv->pull_window(e.a, 1, 2, collect, &g, &p) == RC_OK);
	CHECK(g.n == 3 && p.complete == 1 && p.records == 3);
	got_free(&g);
	CHECK(e.a->drv->pull_deleted == NULL);
	env_close(&e);
	free(path);
}

/* The samples in tests/data/ (also the README's example). */
static void
test_samples(void)
{
	static const char cols[] = "{\"id\":\"Candidate ID\",\"name\":\"Name\","
	    "\"email\":[\"Email\",\"Other Email\"],\"phone\":\"Phone\",\"stage\":\"Stage\","
	    "\"status\":\"Status\",\"job\":\"Job\",\"source\":\"Source\",\"applied_at\":\"Applied\","
	    "\"custom:notes\":\"Notes\"}";
	struct env e;
	struct got g;
	struct ats_pull p;

	CHECK(env_open(&e, "tests/data/export_sample.csv", cols, NULL) == RC_OK);
	CHECK(pull(&e, &g, &p) == RC_OK && p.skipped == 0);
	CHECK(g.n == 4);
	CHECK_CONTAINS(got_at(&g, 1), "id=1002 first_name=Luis last_name=García López");
	CHECK_CONTAINS(got_at(&g, 1), "custom[notes]=Relocating, \"open\" to remote\nSecond line");
	got_free(&g);
	env_close(&e);
	CHECK(env_open(&e, "tests/data/export_sample.jsonl", cols, NULL) == RC_OK);
	CHECK(pull(&e, &g, &p) == RC_OK && p.skipped == 0);
	CHECK(g.n == 4);
	CHECK_CONTAINS(got_at(&g, 1), "id=1002 first_name=Luis last_name=García López");
	CHECK_CONTAINS(got_at(&g, 1), "custom[notes]=Relocating, \"open\" to remote\nSecond line");
	got_free(&g);
	env_close(&e);
	free(log_take());
}

static void
rm_dir(void)
{
	static const char *const names[] = { "rfc.csv", "lf.csv", "cr.csv", "reader.csv",
		"fields.csv", "lines.txt", "people.jsonl", "typo.ndjson", "map.csv", "bad.csv",
		"cfg.csv", "export.txt", "empty.csv", "latin1.csv", "latin1h.csv", "utf16.csv",
		"nul.csv", "latin1.jsonl", "semi.csv", "tabs.csv", "long.csv", "long.jsonl",
		"longid.csv", "stop.csv", "big.csv", "config.jsonc", "log" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(names); i++) {
		char *p = path_of(names[i]);
		unlink(p);
		free(p);
	}
	rmdir(dir);
}


/* ------------------------------------------- several rows per person */

/* Rows of one person are its applications: the current one's row is the
 * person (ats.current_application), wherever the rows are in the file. */
static void
check_rows(const char *policy)
{
	static const char csv[] =
	    "id,name,status,updated,app\n"
	    "1,Ann Old,active,2026-01-01T00:00:00Z,10\n"	/* active, older */
	    "2,Ben A,rejected,2026-01-01T00:00:00Z,12\n"
	    "3,Cy A,active,2026-01-01T00:00:00Z,5\n"
	    "1,Ann New,rejected,2026-02-01T00:00:00Z,11\n"	/* rejected, newer */
	    "4,Di Only,active,2026-01-01T00:00:00Z,1\n"
	    "2,Ben B,rejected,2026-01-01T00:00:00Z,9\n"	/* tie: 12 > 9 numerically */
	    "3,Cy B,withdrawn,2026-01-01T00:00:00Z,6\n";	/* tie, one active */
	static const char cols[] = "{\"id\":\"id\",\"name\":\"name\",\"status\":\"status\","
	    "\"updated_at\":\"updated\",\"application_id\":\"app\"}";
	int latest = strcmp(policy, "latest_updated") == 0;
	char *path = write_str("apps.csv", csv), *log;
	const char *ann = latest ? "id=1 first_name=Ann last_name=New full_name=Ann New status=rejected "
	    "app_id=11 updated=1769904000000" : "id=1 first_name=Ann last_name=Old full_name=Ann Old "
	    "status=active app_id=10 updated=1767225600000";
	const char *ben = "id=2 first_name=Ben last_name=A full_name=Ben A status=rejected app_id=12 "
	    "updated=1767225600000";
	const char *cy = latest ? "id=3 first_name=Cy last_name=B full_name=Cy B status=withdrawn app_id=6 "
	    "updated=1767225600000" : "id=3 first_name=Cy last_name=A full_name=Cy A status=active "
	    "app_id=5 updated=1767225600000";
	struct env e;
	struct got g;
	struct ats_pull p;
	struct candidate *one = NULL;
	size_t i;

	env_policy = policy;
	CHECK(env_open(&e, path, cols, NULL) == RC_OK);
	env_policy = NULL;
	memset(&g, 0, sizeof(g));
	CHECK(pull(&e, &g, &p) == RC_OK && p.complete && p.skipped == 0);
	CHECK(g.n == 4 && p.records == 4);
	for (i = 0; i < g.n; i++) {
		const char *want = g.s[i][3] == '1' ? ann : g.s[i][3] == '2' ? ben : g.s[i][3] == '3' ? cy :
		    "id=4 first_name=Di last_name=Only full_name=Di Only status=active app_id=1 "
		    "updated=1767225600000";
		CHECK_STR(g.s[i], want);
	}
	got_free(&g);
	log = log_take();
	CHECK_CONTAINS(log, "apps.csv: 3 people have several rows (one per application)");
	CHECK(strstr(log, "duplicate") == NULL);
	free(log);
	/* get reads the same row */
	CHECK(e.a->drv->get(e.a, "1", &one) == RC_OK && one != NULL);
	if (one != NULL) {
		char *s1 = summary(one);
		CHECK_STR(s1, ann);
		free(s1);
		candidate_free(one);
		free(one);
		one = NULL;
	}
	CHECK(e.a->drv->get(e.a, "3", &one) == RC_OK && one != NULL);
	if (one != NULL) {
		char *s1 = summary(one);
		CHECK_STR(s1, cy);
		free(s1);
		candidate_free(one);
		free(one);
		one = NULL;
	}
	env_close(&e);
	free(path);
}

static void
test_several_rows(void)
{
	check_rows("active_first");
	check_rows("latest_updated");
}

int
main(void)
{
	char *lp;

	json_init();
	snprintf(dir, sizeof(dir), "/tmp/atsrecon-file-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		printf("mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	lp = path_of("log");
	logfd = open(lp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0600);
	free(lp);
	log_init(LOG_INFO, LOG_FMT_TEXT);
	log_set_fd(logfd);

	test_csv_reader();
	test_rfc4180();
	test_jsonl();
	test_mapping();
	test_malformed();
	test_config_errors();
	test_encoding();
	test_delimiters();
	test_long_rows();
	test_stop_and_window();
	test_samples();
	test_several_rows();
	test_big_file();

	close(logfd);
	rm_dir();
	return t_done("file");
}
