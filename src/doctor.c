/*
 * doctor.c — `atsrecon doctor`, the read-only preflight (see doctor.h).
 *
 * The checks, in the order they print:
 *
 *   config            the file was validated by main before this runs; the
 *                     field mapping and stage tags (not validated by load) are
 *                     loaded here with mapping_load.
 *   state.dir         exists (or its nearest existing parent lets the first run
 *                     create it), is writable (a temporary file is created and
 *                     removed: access(2) would lie for read-only mounts; a
 *                     missing one is judged by access(2) on its parent), and
 *                     is on a local file system (statfs f_type). NFS fails, as
 *                     state_open refuses it (LMDB and flock need a local file
 *                     system). Other network file systems (CIFS, SMB, SMB2,
 *                     9p, Ceph, AFS, Lustre, GPFS) warn: state_open accepts
 *                     them, LMDB's documentation says not to. FUSE warns (it
 *                     may be local, or sshfs/gcsfuse/s3fs). tmpfs and ramfs
 *                     warn: the state, and with it the Keap refresh token, is
 *                     lost at reboot. TEST ONLY: $ATSRECON_TEST_FSTYPE (a
 *                     number, 0x... accepted) replaces the f_type statfs
 *                     reports, because the tests cannot mount NFS.
 *   report.dir        the same writability test (report.dir, default
 *                     <state dir>/reports).
 *                     With state.url (the state in S3, s3.h) both are skipped:
 *                     the state check takes the lease and downloads the copy
 *                     as a run does (s3state_begin), sets the auth rotation
 *                     hook so a rotated refresh token is uploaded before its
 *                     access token is used, and at the end puts back what
 *                     changed (s3state_commit; a failure is a "state.upload"
 *                     line) and releases the lease.
 *   state             when the state exists, it is opened read-write exactly as
 *                     a run opens it: the lock (another run holding it fails,
 *                     exit 75, for OAuth; the token check needs the lock) and
 *                     the schema version. A missing state is fine here; OAuth
 *                     then fails at keap.credentials (no tokens).
 *   tls.*             one GET without credentials to keap.base_url,
 *                     keap.token_url (OAuth only), ats.base_url and
 *                     ats.auth_url (Greenhouse): any HTTP answer proves name
 *                     resolution, TCP connect, certificate and host-name
 *                     verification; the TLS version is what http.c reports
 *                     (resp.tls_version). http.c does not expose the
 *                     certificate's expiry or the peer address, so neither is
 *                     reported. A URL whose origin was already probed is not
 *                     probed again. The ATS defaults are the driver's own
 *                     (struct ats_driver base_url and auth_url).
 *   clock             the Date header of those answers against the local clock
 *                     at the middle of the request (+0.5 s for the header's
 *                     whole seconds): above 60 s warns, above 5 min fails
 *                     (RC_CONFIG: the host's clock is set up wrong), because
 *                     token expiry is computed locally.
 *   keap.client       (OAuth) keap.client_id and keap.client_secret, proved
 *                     without touching the real refresh token: a refresh with a
 *                     made-up token must be refused as 400 invalid_grant (the
 *                     client passed), not 401 invalid_client. That order is
 *                     RFC 6749 §5.2's; Keap's answer to a wrong client is NOT
 *                     FOUND in the research, so any other answer only warns.
 *   keap.credentials  the real auth module, as a run uses it: the state is open
 *                     read-write (locked), auth_credentials refreshes only when
 *                     due and commits the rotated pair before using it, and a
 *                     401 on the reads below refreshes once more (keap.c). So
 *                     the rotation is never burnt, and a revoked refresh token
 *                     shows only when a refresh is due (or the access token is
 *                     refused): nothing else can tell without using it. The
 *                     refresh token's age counts from when atsrecon received or
 *                     stored it (auth.c's issued_at); Keap refresh tokens live
 *                     45 days (research/keap-api.md §6.1), a run renews it
 *                     after 30.
 *   keap.contacts     GET /v2/contacts?page_size=1 (one page, keap.h).
 *   keap.fields       GET /v2/contacts/model: every custom field the mapping
 *                     names exists, has a type atsrecon writes (text kinds,
 *                     DATE, DATE_TIME, DROPDOWN, RADIO; numbers warn: values go
 *                     as text; YES_NO, LIST_BOX, USER... fail), every map value
 *                     of a choice field is an option; mapping_resolve gives the
 *                     verdict a run would.
 *   keap.external_id  the match.external_id_field custom field exists (a run
 *                     stops without it), text-typed (else a warning).
 *   keap.tags         GET /v2/tags and /v2/tags/categories (every page).
 *   keap.stage_tags   the stage category and every stage tag in it; missing
 *                     ones warn: the first run creates them (that needs the
 *                     permission to create tags, which a read-only check cannot
 *                     prove).
 *   keap.lifecycle_tags  the deleted (lifecycle.deletes = tag), anonymised and
 *                     duplicate tags, by name; missing ones warn the same way.
 *   keap.quota        x-keap-product-quota-available as pace.c read it from the
 *                     answers above, against an estimate of a full sweep: the
 *                     contact pages of the snapshot's contacts at keap.page_size,
 *                     the model, tag and category pages, and the writes (every
 *                     non-GET call) of the last report.json; more than is left
 *                     warns. No quota headers: skipped.
 *   ats.credentials   ats_open (Greenhouse mints a token; Lever and Ashby keys
 *                     are proved by the read).
 *   ats.read          one small read through the driver with ats.page_size 1:
 *                     pull_window over the last 7 days (pull_all for full-only
 *                     sources), stopped after the first candidate. Seven days
 *                     rather than a minute: a window with a candidate in it
 *                     also exercises the per-candidate endpoints (Greenhouse:
 *                     applications, jobs, sources, referrers), and page size
 *                     1 keeps that to a handful of calls. Then
 *                     pull_deleted over the same window when the driver has
 *                     it, and get() of the candidate seen. RC_AUTH is
 *                     credentials or permission, RC_REMOTE unreachable. The
 *                     sync token a driver may hand back is dropped.
 *   ats.lookups       the reference lists the mapping uses (Greenhouse jobs,
 *                     sources, referrers; Lever archive reasons, postings),
 *                     read through the driver's lookups(): one the source
 *                     refuses (403/404) warns, naming it (runs leave that
 *                     field unknown); no line for sources without such lists.
 *
 * A check whose prerequisite failed prints "skip" (not checked, and why) rather
 * than a second failure for the same cause: Keap's API checks need tls.keap,
 * the OAuth ones a usable, unlocked state; the ATS checks need tls.ats.
 *
 * Why a check failed is the error value the module that failed filled
 * (apierr.h: status, the vendor's message, a hint; keap.c, auth.c, the ATS
 * drivers, state_open_err, s3state_begin_err), read from the session
 * (session.h) that doctor builds step by step as a run builds it at once.
 * The modules' own log lines reach stderr only at --log-level debug: the
 * report is doctor's output. Remote text is escaped, and the whole output
 * goes through the logger's redaction of registered secrets.
 *
 * Side effects, all of them what a run would do too: an existing state is
 * opened read-write (schema version written only if absent), a due Keap
 * refresh is done and committed, Greenhouse mints a token; and a temporary
 * file is created and removed in state.dir and report.dir. No write to Keap
 * or the ATS; no state is created. Holding the lock, doctor makes a run that
 * starts meanwhile exit 75 (locked), as two runs would.
 */
#define _GNU_SOURCE
#include "doctor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "session.h"
#include "ats.h"
#include "auth.h"
#include "http.h"
#include "json.h"
#include "keap.h"
#include "log.h"
#include "mapping.h"
#include "pace.h"
#include "report.h"
#include "s3.h"
#include "state.h"

#define KEAP_REFRESH_LIFETIME_S (45 * 86400)	/* research/keap-api.md §6.1 */
#define CLOCK_WARN_MS (60 * 1000)
#define CLOCK_FAIL_MS (300 * 1000)
#define ATS_WINDOW_MS ((int64_t)7 * 86400 * 1000)
#define MAX_PROBES 4

enum dstatus { D_OK, D_WARN, D_FAIL, D_SKIP };
static const char *const status_names[] = { "ok", "warn", "fail", "skip" };

struct dline {
	char *check;
	enum dstatus st;
	enum rc rc;		/* what a failure means for the exit status */
	char *detail;
	char *fix;		/* NULL: none */
};

struct probe {
	const char *check;	/* "tls.keap" */
	const char *key;	/* the config key the URL comes from */
	char *url;
	char *origin;		/* scheme://host[:port], lower case */
	int same_as;		/* an earlier probe of the same origin, or -1 */
	int ok;
	int have_date;
	int64_t skew_ms;	/* server's clock minus ours */
};

struct doctor {
	struct config *cfg;
	struct dline *v;
	size_t n;
	enum log_level log_level;
	enum log_format log_format;
	int64_t now_ms;
	struct session s;	/* HTTP, the state (or its S3 lease), auth, pacer, Keap */
	struct probe probes[MAX_PROBES];
	size_t nprobes;
	const char *state_url;	/* state.url: the state lives in S3 */
	int state_dir_bad;	/* state.dir failed: the state is not opened */
	int state_locked;
	struct mapping map;
	int have_map;
	int oauth;
	struct keap_model model;
	int have_model;
	struct keap_tags tags;
	int have_tags;
};

/* ------------------------------------------------------------- results */

static struct dline *
add(struct doctor *d, const char *check, enum dstatus st, enum rc rc, const char *fix,
    const char *fmt, ...) PRINTF_LIKE(6, 7);

static struct dline *
add(struct doctor *d, const char *check, enum dstatus st, enum rc rc, const char *fix,
    const char *fmt, ...)
{
	struct dline *l;
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	d->v = xrealloc(d->v, (d->n + 1) * sizeof(*d->v));
	l = &d->v[d->n++];
	l->check = xstrdup(check);
	l->st = st;
	l->rc = st == D_FAIL ? rc : RC_OK;
	l->detail = buf_take(&b);
	l->fix = fix != NULL ? xstrdup(fix) : NULL;
	return l;
}

static void
skip(struct doctor *d, const char *check, const char *why)
{
	add(d, check, D_SKIP, RC_OK, NULL, "not checked: %s", why);
}

/* The rc of the most serious failure (doctor.h gives the order). */
static enum rc
worst(const struct doctor *d)
{
	static const enum rc order[] = { RC_AUTH, RC_CONFIG, RC_STATE, RC_LOCKED, RC_QUOTA,
	    RC_REMOTE, RC_BUG };
	size_t i, k;

	for (k = 0; k < ARRAY_LEN(order); k++)
		for (i = 0; i < d->n; i++)
			if (d->v[i].st == D_FAIL && d->v[i].rc == order[k])
				return order[k];
	for (i = 0; i < d->n; i++)
		if (d->v[i].st == D_FAIL)
			return d->v[i].rc != RC_OK ? d->v[i].rc : RC_BUG;
	return RC_OK;
}

static void
print_results(const struct doctor *d, int json)
{
	struct buf out = BUF_INIT;
	size_t i, count[4] = { 0, 0, 0, 0 };

	if (json)
		buf_adds(&out, "[\n");
	for (i = 0; i < d->n; i++) {
		const struct dline *l = &d->v[i];

		count[l->st]++;
		if (json) {
			buf_adds(&out, "  {\"check\":");
			json_escape(&out, l->check, strlen(l->check));
			buf_addf(&out, ",\"status\":\"%s\",\"detail\":", status_names[l->st]);
			json_escape(&out, l->detail, strlen(l->detail));
			buf_adds(&out, ",\"fix\":");
			if (l->fix != NULL)
				json_escape(&out, l->fix, strlen(l->fix));
			else
				buf_adds(&out, "null");
			buf_adds(&out, i + 1 < d->n ? "},\n" : "}\n");
			continue;
		}
		buf_addf(&out, "%-4s  %-20s ", status_names[l->st], l->check);
		text_escape(&out, l->detail, strlen(l->detail));
		if (l->fix != NULL) {
			buf_adds(&out, " | fix: ");
			text_escape(&out, l->fix, strlen(l->fix));
		}
		buf_addc(&out, '\n');
	}
	if (json)
		buf_adds(&out, "]\n");
	else
		buf_addf(&out, "doctor: %zu ok, %zu warn, %zu fail, %zu skipped\n", count[D_OK],
		    count[D_WARN], count[D_FAIL], count[D_SKIP]);
	redact_secrets(&out);
	fputs(out.p, stdout);
	fflush(stdout);
	buf_free(&out);
}

/* ------------------------------------------------------------- helpers */

static int64_t
phase_deadline(const struct doctor *d)
{
	int64_t t = cfg_int(d->cfg, OPT_HTTP_TIMEOUT) * 2;

	return mono_ms() + (t > 120 ? t : 120) * 1000;
}

/* "2 h", "3 days": a rough, readable duration. */
static void
fmt_age(struct buf *b, int64_t s)
{
	if (s < 0)
		s = -s;
	if (s < 120)
		buf_addf(b, "%lld s", (long long)s);
	else if (s < 7200)
		buf_addf(b, "%lld min", (long long)(s / 60));
	else if (s < 2 * 86400)
		buf_addf(b, "%lld h", (long long)(s / 3600));
	else
		buf_addf(b, "%lld days", (long long)(s / 86400));
}

/* Reads a number of 1..max digits at *p into *out, then the separator sep
 * (0: none). */
static int
take_num(const char **p, int max, char sep, int *out)
{
	int n = 0, v = 0;

	while (n < max && **p >= '0' && **p <= '9') {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	if (n == 0 || (sep != 0 && *(*p)++ != sep))
		return -1;
	*out = v;
	return 0;
}

/* IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") to epoch ms; -1 if not one. */
static int
parse_http_date(const char *s, int64_t *ms)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const char *m, *p;
	struct tm tm;
	int day, year, hh, mm, ss, mon;
	time_t t;

	if (s == NULL || (p = strchr(s, ',')) == NULL)
		return -1;
	for (p++; *p == ' '; p++)
		;
	if (take_num(&p, 2, ' ', &day) != 0 || strlen(p) < 4 || p[3] != ' ')
		return -1;
	for (m = months, mon = 0; *m != '\0' && strncmp(m, p, 3) != 0; m += 3)
		mon++;
	if (*m == '\0')
		return -1;
	p += 4;
	if (take_num(&p, 4, ' ', &year) != 0 || take_num(&p, 2, ':', &hh) != 0 ||
	    take_num(&p, 2, ':', &mm) != 0 || take_num(&p, 2, 0, &ss) != 0 ||
	    strcmp(p, " GMT") != 0 || day < 1 || day > 31 || year < 1970 || hh > 23 || mm > 59 ||
	    ss > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*ms = (int64_t)t * 1000;
	return 0;
}

static char *
origin_of(const char *url)
{
	const char *p = strstr(url, "://");
	char *o, *s;

	if (p == NULL)
		return xstrdup(url);
	p += 3;
	o = xstrndup(url, (size_t)(p - url) + strcspn(p, "/?#"));
	for (s = o; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
	return o;
}

/* ------------------------------------------------------------- config */

static void
check_config(struct doctor *d)
{
	struct buf err = BUF_INIT;
	const char *path = d->cfg->path != NULL ? d->cfg->path : "(no file: defaults and environment)";
	size_t i, custom = 0;

	if (mapping_load(&d->map, d->cfg, &err) != RC_OK) {
		add(d, "config", D_FAIL, RC_CONFIG, "correct the fields / stage_tags entry the message "
		    "names (atsrecon check shows the effective configuration)", "%s: %s", path, err.p);
		buf_free(&err);
		return;
	}
	d->have_map = 1;
	for (i = 0; i < d->map.n; i++)
		custom += d->map.rules[i].tgt == TGT_CUSTOM;
	if (d->map.tag_category != NULL)
		add(d, "config", D_OK, RC_OK, NULL, "%s: valid; %zu field rules (%zu to Keap custom "
		    "fields), stage tags in category \"%s\"", path, d->map.n, custom, d->map.tag_category);
	else
		add(d, "config", D_OK, RC_OK, NULL, "%s: valid; %zu field rules (%zu to Keap custom "
		    "fields), no stage tags", path, d->map.n, custom);
	buf_free(&err);
}

/* ------------------------------------------------------------- file systems */

enum fs_kind { FS_LOCAL, FS_NFS, FS_NETWORK, FS_FUSE, FS_VOLATILE };

static const struct fstype {
	unsigned long magic;
	const char *name;
	enum fs_kind kind;
} fstypes[] = {
	{ 0xEF53UL, "ext2/3/4", FS_LOCAL }, { 0x58465342UL, "xfs", FS_LOCAL },
	{ 0x9123683EUL, "btrfs", FS_LOCAL }, { 0x2FC12FC1UL, "zfs", FS_LOCAL },
	{ 0xF2F52010UL, "f2fs", FS_LOCAL }, { 0x794C7630UL, "overlayfs", FS_LOCAL },
	{ 0x3153464AUL, "jfs", FS_LOCAL }, { 0x52654973UL, "reiserfs", FS_LOCAL },
	{ 0x4D44UL, "vfat", FS_LOCAL }, { 0x5346544EUL, "ntfs", FS_LOCAL },
	{ 0x01021994UL, "tmpfs", FS_VOLATILE }, { 0x858458F6UL, "ramfs", FS_VOLATILE },
	{ 0x6969UL, "NFS", FS_NFS },
	{ 0xFF534D42UL, "CIFS", FS_NETWORK }, { 0xFE534D42UL, "SMB2", FS_NETWORK },
	{ 0x517BUL, "SMB", FS_NETWORK }, { 0x01021997UL, "9p", FS_NETWORK },
	{ 0x00C36400UL, "Ceph", FS_NETWORK }, { 0x5346414FUL, "AFS", FS_NETWORK },
	{ 0x6B414653UL, "AFS", FS_NETWORK }, { 0x0BD00BD0UL, "Lustre", FS_NETWORK },
	{ 0x47504653UL, "GPFS", FS_NETWORK }, { 0x65735546UL, "FUSE", FS_FUSE },
};

/* The file system type of path (statfs), or the test override. */
static int
fs_type(const char *path, unsigned long *magic)
{
	struct statfs sfs;
	const char *t = getenv("ATSRECON_TEST_FSTYPE");	/* test only: see the header */

	if (t != NULL && *t != '\0') {
		char *end;
		errno = 0;
		*magic = strtoul(t, &end, 0);
		if (errno == 0 && *end == '\0')
			return 0;
	}
	if (statfs(path, &sfs) != 0)
		return -1;
	*magic = (unsigned long)sfs.f_type & 0xFFFFFFFFUL;
	return 0;
}

static const struct fstype *
fs_lookup(unsigned long magic)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(fstypes); i++)
		if (fstypes[i].magic == magic)
			return &fstypes[i];
	return NULL;
}

/* Is dir writable? Creates and removes a temporary file in it. */
static int
dir_writable(const char *dir, int *err)
{
	char *tmpl = xasprintf("%s/.atsrecon-doctor-XXXXXX", dir);
	int fd = mkstemp(tmpl);

	if (fd < 0) {
		*err = errno;
		free(tmpl);
		return 0;
	}
	close(fd);
	unlink(tmpl);
	free(tmpl);
	return 1;
}

/* The nearest existing ancestor of a missing path (caller frees), or NULL. */
static char *
existing_parent(const char *path)
{
	char *p = xstrdup(path), *slash;
	struct stat sb;

	for (;;) {
		slash = strrchr(p, '/');
		if (slash == NULL) {
			free(p);
			return xstrdup(".");
		}
		if (slash == p) {
			p[1] = '\0';
			return p;
		}
		*slash = '\0';
		if (stat(p, &sb) == 0)
			return p;
		if (errno != ENOENT) {
			free(p);
			return NULL;
		}
	}
}

/*
 * A directory atsrecon writes into: exists and writable, or creatable. On
 * success *where receives the directory whose file system counts (the
 * directory, or its nearest existing parent) and *missing is set when it does
 * not exist yet. Failures are added as a line.
 */
static int
check_writable_dir(struct doctor *d, const char *check, const char *dir, const char *key,
    enum rc fail_rc, char **where, int *missing)
{
	struct stat sb;
	int e = 0;
	char *parent, *fix = xasprintf("set %s to a writable directory on a local disk", key);

	*where = NULL;
	*missing = 0;
	if (stat(dir, &sb) == 0) {
		if (!S_ISDIR(sb.st_mode)) {
			add(d, check, D_FAIL, fail_rc, fix, "%s exists and is not a directory", dir);
			free(fix);
			return 0;
		}
		if (!dir_writable(dir, &e)) {
			add(d, check, D_FAIL, fail_rc, fix, "%s is not writable: %s", dir, strerror(e));
			free(fix);
			return 0;
		}
		*where = xstrdup(dir);
		free(fix);
		return 1;
	}
	if (errno == ENOTDIR) {
		add(d, check, D_FAIL, fail_rc, fix, "%s cannot be created: part of its path is a file, "
		    "not a directory", dir);
		free(fix);
		return 0;
	}
	if (errno != ENOENT) {
		add(d, check, D_FAIL, fail_rc, fix, "%s: %s", dir, strerror(errno));
		free(fix);
		return 0;
	}
	parent = existing_parent(dir);
	if (parent == NULL || stat(parent, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
	    access(parent, W_OK | X_OK) != 0) {
		add(d, check, D_FAIL, fail_rc, fix, "%s does not exist and cannot be created: %s %s",
		    dir, parent ? parent : "its parent", parent && stat(parent, &sb) == 0 &&
		    !S_ISDIR(sb.st_mode) ? "is not a directory" : "is not writable");
		free(parent);
		free(fix);
		return 0;
	}
	*where = parent;
	*missing = 1;
	free(fix);
	return 1;
}

static void
check_state_dir(struct doctor *d)
{
	const char *dir = cfg_str(d->cfg, OPT_STATE_DIR);
	const struct fstype *ft;
	unsigned long magic = 0;
	char *where = NULL, *fix, name[32];
	int missing;
	struct buf what = BUF_INIT;

	if (d->state_url != NULL) {
		skip(d, "state.dir", "state.url is set: the state lives in S3 and runs work on a copy "
		    "in $TMPDIR (see state)");
		return;
	}
	if (!check_writable_dir(d, "state.dir", dir, "state.dir", RC_STATE, &where, &missing)) {
		d->state_dir_bad = 1;
		return;
	}
	if (missing)
		buf_addf(&what, "%s does not exist yet; the first run (or atsrecon auth keap) creates "
		    "it in %s", dir, where);
	else
		buf_addf(&what, "%s is writable", dir);
	if (fs_type(where, &magic) != 0) {
		add(d, "state.dir", D_WARN, RC_OK, "make sure state.dir is on a local disk",
		    "%s; its file system type is unknown (statfs: %s)", what.p, strerror(errno));
		goto out;
	}
	ft = fs_lookup(magic);
	if (ft != NULL)
		str_copy(name, sizeof(name), ft->name);
	else
		snprintf(name, sizeof(name), "type 0x%lx", magic);
	fix = xasprintf("set state.dir to a directory on a local disk%s",
	    ft != NULL && ft->kind == FS_VOLATILE ? " that survives a reboot" : "");
	switch (ft != NULL ? ft->kind : FS_LOCAL) {
	case FS_NFS:
		d->state_dir_bad = 1;
		add(d, "state.dir", D_FAIL, RC_STATE, fix, "%s, but on NFS: LMDB and its lock need a "
		    "local file system (a run refuses it)", what.p);
		break;
	case FS_NETWORK:
		add(d, "state.dir", D_WARN, RC_OK, fix, "%s, but on a network file system (%s): LMDB's "
		    "locking is not reliable there", what.p, name);
		break;
	case FS_FUSE:
		add(d, "state.dir", D_WARN, RC_OK, fix, "%s, on a FUSE file system: fine if it is "
		    "local, not if it is network-backed (sshfs, gcsfuse, s3fs)", what.p);
		break;
	case FS_VOLATILE:
		add(d, "state.dir", D_WARN, RC_OK, fix, "%s, but on %s: the state, and with it the "
		    "Keap refresh token, is lost at reboot", what.p, name);
		break;
	case FS_LOCAL:
	default:
		add(d, "state.dir", D_OK, RC_OK, NULL, "%s; local file system (%s)", what.p, name);
		break;
	}
	free(fix);
out:
	free(where);
	buf_free(&what);
}

static void
check_report_dir(struct doctor *d)
{
	const char *dir = cfg_str(d->cfg, OPT_REPORT_DIR);
	char *def = NULL, *where = NULL;
	int missing;

	if (dir == NULL && d->state_url != NULL) {
		skip(d, "report.dir", "report.dir is not set: with state.url, reports go into the run's "
		    "temporary copy of the state");
		return;
	}
	if (dir == NULL && d->state_dir_bad) {
		skip(d, "report.dir", "the default report directory is inside the state directory (see "
		    "state.dir)");
		return;
	}
	if (dir == NULL)
		dir = def = xasprintf("%s/reports", cfg_str(d->cfg, OPT_STATE_DIR));
	if (check_writable_dir(d, "report.dir", dir, "report.dir", RC_CONFIG, &where, &missing)) {
		if (missing)
			add(d, "report.dir", D_OK, RC_OK, NULL, "%s does not exist yet; the first run "
			    "creates it", dir);
		else
			add(d, "report.dir", D_OK, RC_OK, NULL, "%s is writable", dir);
	}
	free(where);
	free(def);
}

/* ------------------------------------------------------------- state */

/* state.url: takes the lease and downloads the state as a run does; every
 * rotated refresh token is uploaded before its access token is used (the
 * rotation hook), the rest at the end (finish_state). 1 when the copy is
 * there. */
static int
open_s3_state(struct doctor *d)
{
	struct buf why = BUF_INIT;
	enum rc rc;

	rc = session_lease(&d->s);
	buf_adds(&why, d->s.err.msg);
	switch (rc) {
	case RC_OK:
		break;
	case RC_LOCKED:
		d->state_locked = 1;
		if (d->oauth)
			add(d, "state", D_FAIL, RC_LOCKED, "run atsrecon doctor again when the run has "
			    "finished (the Keap token check needs the state, as a run does)", "%s: %s",
			    d->state_url, why.p);
		else
			add(d, "state", D_WARN, RC_OK, "none (a run is in progress)", "%s: %s",
			    d->state_url, why.p);
		break;
	case RC_AUTH:
		add(d, "state", D_FAIL, RC_AUTH, "check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY "
		    "(and AWS_SESSION_TOKEN) and that they may get, put and delete objects under "
		    "state.url", "%s: S3 refused the credentials: %s", d->state_url, why.p);
		break;
	case RC_CONFIG:
		add(d, "state", D_FAIL, RC_CONFIG, "check state.url, state.endpoint, state.region and "
		    "the AWS_* variables", "%s: %s", d->state_url, why.p);
		break;
	case RC_REMOTE:
		add(d, "state", D_FAIL, RC_REMOTE, "retry later; check state.endpoint and the network "
		    "path to S3", "%s: S3 did not answer: %s", d->state_url, why.p);
		break;
	default:
		add(d, "state", D_FAIL, RC_STATE, "see docs/state.md", "%s: %s", d->state_url,
		    why.len ? why.p : rc_str(rc));
		d->state_dir_bad = 1;
		break;
	}
	if (rc != RC_OK && rc != RC_LOCKED)
		d->state_dir_bad = 1;	/* the OAuth checks have no state to use */
	buf_free(&why);
	return rc == RC_OK;
}

/* Closes the session: the Keap client, auth, HTTP and the state; with
 * state.url, puts back what changed (a refreshed token) and releases the
 * lease. */
static void
finish_state(struct doctor *d)
{
	struct buf why = BUF_INIT;
	int had_lease = d->s.s3 != NULL;
	enum rc rc;

	rc = session_close(&d->s);
	buf_adds(&why, d->s.err.msg);
	if (had_lease && rc != RC_OK)
		add(d, "state.upload", D_FAIL, rc == RC_AUTH ? RC_AUTH : rc == RC_REMOTE ? RC_REMOTE :
		    RC_STATE, "run atsrecon doctor again; if a Keap token was refreshed and this keeps "
		    "failing, authorise again with atsrecon auth keap", "%s: the state could not be put "
		    "back: %s", d->state_url, why.len ? why.p : rc_str(rc));
	buf_free(&why);
}

static void
check_state(struct doctor *d)
{
	const char *dir = cfg_str(d->cfg, OPT_STATE_DIR);
	char *data = NULL;
	struct buf why = BUF_INIT, v = BUF_INIT, ago = BUF_INIT;
	int64_t last = 0;
	char ts[32];
	enum rc rc;

	if (d->state_dir_bad) {
		skip(d, "state", "the state directory is not usable (see state.dir)");
		goto out;
	}
	if (d->state_url != NULL) {
		if (!open_s3_state(d))
			goto out;
		dir = d->s.state_dir;
	}
	data = xasprintf("%s/data.mdb", dir);
	if (access(data, F_OK) != 0) {
		add(d, "state", D_OK, RC_OK, NULL, "no state in %s yet (a new tenant: the first run "
		    "starts it)", d->state_url != NULL ? d->state_url : dir);
		goto out;
	}
	rc = session_state(&d->s);
	buf_adds(&why, d->s.err.msg);
	if (rc == RC_LOCKED) {
		d->state_locked = 1;
		if (d->oauth)
			add(d, "state", D_FAIL, RC_LOCKED, "run atsrecon doctor again when the run has "
			    "finished (the Keap token check needs the lock, as a run does)", "%s",
			    why.p);
		else
			add(d, "state", D_WARN, RC_OK, "none (a run is in progress)", "%s", why.p);
		goto out;
	}
	if (rc != RC_OK) {
		add(d, "state", D_FAIL, RC_STATE, "see docs/state.md; restore the state directory "
		    "from a backup, or move it away (the first run starts a new one; OAuth tokens "
		    "must then be stored again with atsrecon auth keap)", "%s: %s", dir,
		    why.len ? why.p : rc_str(rc));
		goto out;
	}
	if (state_get(d->s.st, DB_META, "last_good_run_ms", &v) == RC_OK && parse_i64(v.p, &last) == 0 &&
	    last > 0) {
		fmt_rfc3339_ms(last, ts, sizeof(ts));
		fmt_age(&ago, (d->now_ms - last) / 1000);
		add(d, "state", D_OK, RC_OK, NULL, "%s%sschema version %d, lock free; %zu candidates, "
		    "%zu contacts; last good run %s (%s ago)", d->state_url ? d->state_url : "",
		    d->state_url ? " (lease taken, copy downloaded): " : "", STATE_SCHEMA_VERSION,
		    state_count(d->s.st, DB_ATS), state_count(d->s.st, DB_KEAP), ts, ago.p);
	} else
		add(d, "state", D_OK, RC_OK, NULL, "%s%sschema version %d, lock free; %zu candidates, "
		    "%zu contacts; no good run recorded yet", d->state_url ? d->state_url : "",
		    d->state_url ? " (lease taken, copy downloaded): " : "", STATE_SCHEMA_VERSION,
		    state_count(d->s.st, DB_ATS), state_count(d->s.st, DB_KEAP));
out:
	free(data);
	buf_free(&why);
	buf_free(&v);
	buf_free(&ago);
}

/* ------------------------------------------------------------- TLS and clock */

static void
add_probe(struct doctor *d, const char *check, const char *key, const char *url)
{
	struct probe *p;
	size_t i;

	if (url == NULL || d->nprobes == MAX_PROBES)
		return;
	p = &d->probes[d->nprobes];
	memset(p, 0, sizeof(*p));
	p->check = check;
	p->key = key;
	p->url = xstrdup(url);
	p->origin = origin_of(url);
	p->same_as = -1;
	for (i = 0; i < d->nprobes; i++)
		if (strcmp(d->probes[i].origin, p->origin) == 0) {
			p->same_as = (int)i;
			break;
		}
	d->nprobes++;
}

static void
probe_one(struct doctor *d, struct probe *p)
{
	struct http_req req;
	struct http_resp resp;
	const char *host = strstr(p->origin, "://");
	int64_t t0, date_ms;
	char *fix = NULL;
	enum rc rc;

	host = host != NULL ? host + 3 : p->origin;
	if (p->same_as >= 0) {
		const struct probe *q = &d->probes[p->same_as];
		p->ok = q->ok;
		if (q->ok)
			add(d, p->check, D_OK, RC_OK, NULL, "%s: same host as %s (checked above)", host,
			    q->key);
		else
			skip(d, p->check, "same host as the failed check above");
		return;
	}
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = p->url;
	req.deadline_ms = phase_deadline(d);
	t0 = now_ms();
	rc = http_do(d->s.http, &req, &resp);
	if (rc == RC_OK) {
		p->ok = 1;
		if (parse_http_date(http_header(&resp, "date"), &date_ms) == 0) {
			p->have_date = 1;
			p->skew_ms = date_ms + 500 - (t0 + (now_ms() - t0) / 2);
		}
		if (resp.tls_version[0] != '\0')
			add(d, p->check, D_OK, RC_OK, NULL, "%s: name resolved, connected, certificate "
			    "verified, %s (HTTP %ld in %ld ms)", host, resp.tls_version, resp.status,
			    resp.elapsed_ms);
		else
			add(d, p->check, D_OK, RC_OK, NULL, "%s: plain HTTP to a loopback host, no TLS "
			    "(HTTP %ld in %ld ms)", host, resp.status, resp.elapsed_ms);
		goto out;
	}
	switch (resp.fail) {
	case HTTP_ERR_URL:
		fix = xasprintf("use an https:// URL in %s (http:// only to a loopback host)", p->key);
		add(d, p->check, D_FAIL, RC_CONFIG, fix, "%s: %s", p->url, resp.err);
		goto out;
	case HTTP_ERR_RESOLVE:
		fix = xasprintf("check the host name in %s, and the DNS resolver (/etc/resolv.conf)",
		    p->key);
		add(d, p->check, D_FAIL, RC_REMOTE, fix, "%s: the name does not resolve: %s", host,
		    resp.err);
		goto out;
	case HTTP_ERR_CONNECT:
		fix = xasprintf("check that %s is reachable from here: firewall rules, or a proxy "
		    "(HTTPS_PROXY); and the port in %s", host, p->key);
		add(d, p->check, D_FAIL, RC_REMOTE, fix, "%s: name resolved, TCP connect failed: %s",
		    host, resp.err);
		goto out;
	case HTTP_ERR_TLS:
		fix = xasprintf("if a proxy intercepts TLS, put its CA in http.ca_file; otherwise "
		    "check %s's certificate (atsrecon probe %s)", host, p->url);
		add(d, p->check, D_FAIL, RC_REMOTE, fix, "%s: connected, but the TLS handshake or the "
		    "certificate verification failed: %s", host, resp.err);
		goto out;
	case HTTP_ERR_TIMEOUT:
		add(d, p->check, D_FAIL, RC_REMOTE, "check the network path; raise "
		    "http.connect_timeout for a slow link", "%s: timed out: %s", host, resp.err);
		goto out;
	default:
		break;
	}
	if (rc == RC_CONFIG)
		add(d, p->check, D_FAIL, RC_CONFIG, "http.ca_file must name a readable PEM CA bundle",
		    "%s: %s", host, resp.err);
	else
		add(d, p->check, D_FAIL, RC_REMOTE, "retry later; atsrecon probe URL shows the "
		    "details", "%s: %s: %s", host, http_fail_str(resp.fail), resp.err);
out:
	free(fix);
	http_resp_free(&resp);
}

static void
check_tls(struct doctor *d)
{
	const char *kind = cfg_str(d->cfg, OPT_ATS_KIND), *ab = cfg_str(d->cfg, OPT_ATS_BASE_URL);
	const struct ats_driver *drv = ats_driver_of(kind);
	char *token_url = NULL;
	size_t i;

	add_probe(d, "tls.keap", "keap.base_url", cfg_str(d->cfg, OPT_KEAP_BASE_URL));
	if (d->oauth)
		add_probe(d, "tls.keap_token", "keap.token_url", cfg_str(d->cfg, OPT_KEAP_TOKEN_URL));
	if (drv != NULL && drv->base_url != NULL) {	/* a source on the network */
		add_probe(d, "tls.ats", "ats.base_url", ab != NULL ? ab : drv->base_url);
		if (drv->auth_url != NULL) {	/* a token endpoint of its own */
			const char *au = cfg_str(d->cfg, OPT_ATS_AUTH_URL);
			token_url = xasprintf("%s/token", au != NULL ? au : drv->auth_url);
			add_probe(d, "tls.ats_auth", "ats.auth_url", token_url);
		}
	}
	free(token_url);
	for (i = 0; i < d->nprobes; i++)
		probe_one(d, &d->probes[i]);
}

static void
check_clock(struct doctor *d)
{
	const struct probe *far = NULL;
	struct buf what = BUF_INIT;
	const char *host;
	int64_t a;
	size_t i;

	for (i = 0; i < d->nprobes; i++)
		if (d->probes[i].have_date && (far == NULL || llabs(d->probes[i].skew_ms) >
		    llabs(far->skew_ms)))
			far = &d->probes[i];
	if (far == NULL) {
		skip(d, "clock", "no server answered with a Date header");
		return;
	}
	host = strstr(far->origin, "://") + 3;
	a = llabs(far->skew_ms);
	if (a < 1000)
		buf_addf(&what, "the local clock agrees with %s's Date header (within 1 s)", host);
	else
		buf_addf(&what, "the local clock is %lld s %s %s's (Date header)",
		    (long long)((a + 500) / 1000), far->skew_ms > 0 ? "behind" : "ahead of", host);
	if (a > CLOCK_FAIL_MS)
		add(d, "clock", D_FAIL, RC_CONFIG, "synchronise the clock (NTP: timedatectl set-ntp "
		    "true, chronyd or systemd-timesyncd)", "%s: more than 5 min, token expiry is "
		    "computed on this clock", what.p);
	else if (a > CLOCK_WARN_MS)
		add(d, "clock", D_WARN, RC_OK, "synchronise the clock (NTP: timedatectl set-ntp true, "
		    "chronyd or systemd-timesyncd)", "%s: more than 60 s", what.p);
	else
		add(d, "clock", D_OK, RC_OK, NULL, "%s", what.p);
	buf_free(&what);
}

static int
probes_ok(const struct doctor *d, const char *prefix)
{
	size_t i;

	for (i = 0; i < d->nprobes; i++)
		if (str_has_prefix(d->probes[i].check, prefix) && !d->probes[i].ok)
			return 0;
	return 1;
}

/* ------------------------------------------------------------- Keap */

static const char *const keap_checks[] = { "keap.client", "keap.credentials", "keap.contacts", "keap.fields",
	"keap.external_id", "keap.tags", "keap.stage_tags", "keap.lifecycle_tags", "keap.quota" };

static void
skip_keap_from(struct doctor *d, size_t first, const char *why)
{
	size_t i;

	for (i = first; i < ARRAY_LEN(keap_checks); i++)
		skip(d, keap_checks[i], why);
}

static const char *
reauth_fix(const struct doctor *d)
{
	return d->oauth ? "authorise again: atsrecon auth keap --login (or "
	    "--refresh-token-file FILE)" : "check keap.api_key (a valid personal access token or "
	    "service account key)";
}

/* A failed Keap read: a line for check, with the permission it needs. */
static void
keap_read_failed(struct doctor *d, const char *check, enum rc rc, const struct api_err *err,
    const char *why, const char *permission)
{
	char *fix;

	if (rc == RC_AUTH && err->status == 403) {
		fix = xasprintf("give the Keap user whose credentials atsrecon uses the permission to "
		    "%s (or authorise atsrecon as a user who has it)", permission);
		add(d, check, D_FAIL, RC_AUTH, fix, "the API user lacks the permission to %s (Keap "
		    "answered 403%s%s)", permission, err->msg[0] ? ": " : "", err->msg);
		free(fix);
	} else if (rc == RC_AUTH)
		add(d, check, D_FAIL, RC_AUTH, reauth_fix(d), "Keap refused the credentials: %s", why);
	else if (rc == RC_QUOTA)
		add(d, check, D_FAIL, RC_QUOTA, "wait for the daily quota to reset (00:00 UTC), or ask "
		    "Keap for a higher one", "%s", why);
	else
		add(d, check, D_FAIL, RC_REMOTE, "retry later; if it persists, check Keap's status "
		    "page", "Keap did not answer usably (%s): %s", rc_str(rc), why);
}

/*
 * keap.client_id and keap.client_secret, without touching the real refresh
 * token: a refresh with a made-up token. RFC 6749 §5.2 has the server
 * authenticate the client first (401 invalid_client), then judge the grant
 * (400 invalid_grant); Keap's answer to a wrong client is NOT FOUND in the
 * research, so any other answer is a warning, not a failure.
 */
static void
check_keap_client(struct doctor *d)
{
	const char *cid = cfg_str(d->cfg, OPT_KEAP_CLIENT_ID), *sec = cfg_str(d->cfg, OPT_KEAP_CLIENT_SECRET);
	const char *fix = "check keap.client_id and keap.client_secret (the Keap developer app's key "
	    "and secret)";
	static const char form[] = "grant_type=refresh_token&refresh_token=atsrecon-doctor-not-a-token";
	struct http_job job;
	struct http_policy pol;
	struct buf e = BUF_INIT;
	enum rc rc;

	if (!d->oauth) {
		skip(d, "keap.client", "keap.auth is not oauth");
		return;
	}
	if (cid == NULL || sec == NULL) {
		add(d, "keap.client", D_FAIL, RC_CONFIG, fix, "keap.auth is oauth, but keap.client_id "
		    "or keap.client_secret is not set");
		return;
	}
	if (!probes_ok(d, "tls.keap_token")) {
		skip(d, "keap.client", "the token endpoint is unreachable (see tls.keap_token)");
		return;
	}
	memset(&job, 0, sizeof(job));
	memset(&pol, 0, sizeof(pol));
	job.req.method = "POST";
	job.req.url = cfg_str(d->cfg, OPT_KEAP_TOKEN_URL);
	job.req.credential = 1;
	job.req.body = form;
	job.req.body_len = sizeof(form) - 1;
	job.req.content_type = "application/x-www-form-urlencoded";
	job.req.basic_user = cid;
	job.req.basic_pass = sec;
	job.idempotent = 1;	/* nothing to consume: the token is made up */
	pol.concurrency = 1;
	pol.max_retries = (int)cfg_int(d->cfg, OPT_HTTP_MAX_RETRIES);
	pol.deadline_ms = phase_deadline(d);
	rc = http_call(d->s.http, &job, &pol);
	if (rc != RC_OK) {
		add(d, "keap.client", D_FAIL, RC_REMOTE, "retry later", "the token endpoint did not "
		    "answer: %s: %s", http_fail_str(job.resp.fail), job.resp.err);
		goto out;
	}
	/* the OAuth error code of the answer ("" for none) */
	if (json_record_str(&job.resp.body, "error", &e) != 0)
		buf_reset(&e);
	buf_adds(&e, "");
	if (e.len > 63) {	/* (a code, not a story) */
		e.len = 63;
		e.p[63] = '\0';
	}
	if (job.resp.status == 400 && strcmp(e.p, "invalid_grant") == 0)
		add(d, "keap.client", D_OK, RC_OK, NULL, "the token endpoint accepts keap.client_id and "
		    "keap.client_secret (a made-up refresh token was refused as invalid_grant; nothing "
		    "was refreshed)");
	else if (job.resp.status == 401 || strcmp(e.p, "invalid_client") == 0)
		add(d, "keap.client", D_FAIL, RC_AUTH, fix, "the token endpoint refused keap.client_id "
		    "and keap.client_secret (HTTP %ld, %s): the next token refresh will fail",
		    job.resp.status, e.len ? e.p : "no error code");
	else
		add(d, "keap.client", D_WARN, RC_OK, fix, "could not tell: the token endpoint answered "
		    "a made-up refresh token with HTTP %ld (%s)", job.resp.status,
		    e.len ? e.p : "no error code");
out:
	buf_free(&e);
	http_resp_free(&job.resp);
}

struct count_arg {
	long contacts;
};

static enum rc
count_page(void *arg, struct contact *contacts, size_t n, int page)
{
	struct count_arg *c = arg;

	(void)page;
	(void)contacts;
	c->contacts += (long)n;
	return RC_OK;
}

/* OAuth needs the state (the tokens live there): 1 when it is usable, else
 * the Keap lines that cannot run are written. */
static int
keap_state_ready(struct doctor *d)
{
	if (!d->oauth || d->s.st != NULL)
		return 1;
	if (d->state_locked)
		skip_keap_from(d, 1, "the state is locked by a run (see state)");
	else if (d->state_dir_bad)
		skip_keap_from(d, 1, "the OAuth tokens live in the state, which is not usable (see "
		    "state.dir and state)");
	else {
		add(d, "keap.credentials", D_FAIL, RC_AUTH, "atsrecon auth keap --login (or "
		    "--refresh-token-file FILE) stores the first tokens",
		    "keap.auth is oauth, and there is no state with Keap tokens in %s",
		    d->state_url != NULL ? d->state_url : cfg_str(d->cfg, OPT_STATE_DIR));
		skip_keap_from(d, 2, "no Keap credentials (see keap.credentials)");
	}
	return 0;
}

/* The session's auth, pacer and Keap client, and k1: one page of one
 * contact. 1 when they are there. */
static int
keap_clients(struct doctor *d, int64_t dl, struct keap **k1)
{
	struct keap_cfg kc;
	enum rc rc;

	d->s.deadline_ms = dl;
	d->s.keap_concurrency = 1;
	if ((rc = session_auth(&d->s)) != RC_OK) {
		add(d, "keap.credentials", D_FAIL, RC_CONFIG, d->s.err.hint[0] ? d->s.err.hint :
		    d->oauth ? "set keap.client_id and keap.client_secret (the Keap developer app's key "
		    "and secret)" : "set keap.api_key", "%s", d->s.err.msg[0] ? d->s.err.msg : rc_str(rc));
		skip_keap_from(d, 2, "no Keap credentials (see keap.credentials)");
		return 0;
	}
	if (session_keap(&d->s) != RC_OK)
		return 0;	/* the URL was validated by config: not reached */
	session_keap_cfg(d->cfg, &kc);
	kc.concurrency = 1;
	kc.page_size = 1;
	kc.max_pages = 1;
	if (keap_new(&kc, d->s.http, d->s.auth, d->s.kpace, k1) != RC_OK)
		return 0;
	keap_set_deadline(*k1, dl);
	return 1;
}

/* auth_credentials as a run calls it (a due refresh is done and stored). 1
 * when it gave a credential. */
static int
keap_token(struct doctor *d, int64_t dl)
{
	const struct api_err *e;
	const char *bearer, *header, *fix;
	enum rc rc;

	if ((rc = auth_credentials(d->s.auth, dl, &bearer, &header)) == RC_OK)
		return 1;
	e = auth_error(d->s.auth);
	fix = rc == RC_REMOTE ? "the token endpoint (keap.token_url) did not answer; retry later" :
	    strstr(e->msg, "client_id") != NULL ? "check keap.client_id and keap.client_secret (the "
	    "Keap developer app's key and secret)" : reauth_fix(d);
	add(d, "keap.credentials", D_FAIL, rc == RC_STATE ? RC_STATE : rc == RC_REMOTE ? RC_REMOTE :
	    RC_AUTH, fix, "%s", e->msg[0] ? e->msg : rc_str(rc));
	skip_keap_from(d, 2, "no usable Keap credentials (see keap.credentials)");
	return 0;
}

/* The keap.credentials line once the credentials worked: the OAuth tokens'
 * ages (as0: before the checks, as: after), or the key accepted. */
static void
keap_credentials_ok(struct doctor *d, const struct auth_status *as0, const struct auth_status *as)
{
	int64_t now = d->now_ms / 1000, age = now - as->refresh_issued_at;
	int64_t left = KEAP_REFRESH_LIFETIME_S - age;
	struct buf det = BUF_INIT, a1 = BUF_INIT, a2 = BUF_INIT, a3 = BUF_INIT;

	if (!d->oauth) {
		add(d, "keap.credentials", D_OK, RC_OK, NULL, "API key (keap.auth = %s) accepted",
		    cfg_str(d->cfg, OPT_KEAP_AUTH));
		return;
	}
	fmt_age(&a1, as->access_expires_at - now);
	fmt_age(&a2, age);
	fmt_age(&a3, left);
	buf_addf(&det, "OAuth: access token valid for %s; refresh token %s old, %s left of "
	    "Keap's 45 days (a run renews it after 30)", a1.p, a2.p, a3.p);
	if (as->refreshes > as0->refreshes)
		buf_adds(&det, "; Keap refused the stored access token, so it was refreshed "
		    "and the new pair is stored in the state");
	else if (as0->refreshes > 0)
		buf_adds(&det, "; the refresh was due: done, and the new pair is stored in the "
		    "state");
	if (left < 7 * 86400)
		add(d, "keap.credentials", D_WARN, RC_OK, "run atsrecon run (it renews the "
		    "refresh token) or authorise again with atsrecon auth keap", "%s", det.p);
	else
		add(d, "keap.credentials", D_OK, RC_OK, NULL, "%s", det.p);
	buf_free(&det);
	buf_free(&a1);
	buf_free(&a2);
	buf_free(&a3);
}

/* Why a Keap call failed: Keap's answer, and what the auth module said when
 * the credentials were the problem. */
static void
keap_why(const struct doctor *d, enum rc rc, const struct api_err *kerr, struct buf *why)
{
	const struct api_err *ae = d->s.auth != NULL ? auth_error(d->s.auth) : NULL;

	buf_reset(why);
	if (rc == RC_AUTH && kerr->status != 403 && ae != NULL && ae->msg[0] != '\0')
		buf_addf(why, "%s; ", ae->msg);
	api_err_text(kerr, why);
	if (why->len == 0)
		buf_adds(why, "no answer");
}

/* Sets up the Keap client and checks the credentials and the contact read.
 * Returns 1 when the later Keap checks can run. */
static int
check_keap_access(struct doctor *d)
{
	struct keap *k1 = NULL;
	struct api_err kerr;
	struct auth_status as0, as;
	struct buf why = BUF_INIT;
	struct count_arg cnt = { 0 };
	int64_t dl = phase_deadline(d);
	int pages = 0, complete = 0, ok = 0;
	enum rc rc;

	if (!keap_state_ready(d) || !keap_clients(d, dl, &k1))
		goto out;
	if (!keap_token(d, dl))
		goto out;
	auth_get_status(d->s.auth, &as0);
	api_err_clear(&kerr);
	rc = keap_list_contacts(k1, NULL, count_page, &cnt, &pages, &complete, &kerr);
	keap_why(d, rc, &kerr, &why);
	auth_get_status(d->s.auth, &as);
	if (rc == RC_AUTH && kerr.status != 403) {
		add(d, "keap.credentials", D_FAIL, RC_AUTH, reauth_fix(d), "Keap refused the %s: %s",
		    d->oauth ? "access token, and a refresh did not help" : "API key", why.p);
		skip_keap_from(d, 2, "no usable Keap credentials (see keap.credentials)");
		goto out;
	}
	/* the credentials worked (a 403 is a permission, not a credential) */
	keap_credentials_ok(d, &as0, &as);
	if (rc != RC_OK) {
		keap_read_failed(d, "keap.contacts", rc, &kerr, why.p, "read contacts");
		if (rc == RC_AUTH)
			ok = 1;	/* a missing permission: the other reads still tell something */
		else
			skip_keap_from(d, 3, "Keap did not answer (see keap.contacts)");
		goto out;
	}
	add(d, "keap.contacts", D_OK, RC_OK, NULL, "the API user can read contacts (GET /v2/contacts: "
	    "%ld on the first page of one)", cnt.contacts);
	ok = 1;
out:
	keap_free(k1);
	buf_free(&why);
	return ok;
}

/* Types whose values the mapping writes as they are: text kinds. */
static int
text_type(const char *t)
{
	static const char *const v[] = { "TEXT", "TEXT_AREA", "EMAIL", "WEBSITE", "PHONE_NUMBER",
	    "NAME", "STATE" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(v); i++)
		if (strcmp(t, v[i]) == 0)
			return 1;
	return 0;
}

static int
number_type(const char *t)
{
	static const char *const v[] = { "WHOLE_NUMBER", "DECIMAL_NUMBER", "CURRENCY", "PERCENT",
	    "YEAR", "MONTH", "DAY_OF_WEEK" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(v); i++)
		if (strcmp(t, v[i]) == 0)
			return 1;
	return 0;
}

static void
check_fields(struct doctor *d)
{
	struct buf bad = BUF_INIT, warn = BUF_INIT, err = BUF_INIT;
	size_t i, k, nfields = 0, nmapped = 0;
	int missing = 0;
	const struct keap_field *f;
	const char *xlabel = cfg_str(d->cfg, OPT_MATCH_EXTERNAL_ID_FIELD);
	char *fix;

	for (i = 0; i < d->map.n; i++) {
		const struct map_rule *r = &d->map.rules[i];
		const char *t;
		int choice;

		if (r->tgt != TGT_CUSTOM)
			continue;
		nfields++;
		f = keap_model_field(&d->model, r->key);
		if (f == NULL) {
			buf_addf(&bad, "%sline %d: Keap has no custom field labelled \"%s\"",
			    bad.len ? "; " : "", r->line, r->key);
			missing = 1;
			continue;
		}
		t = f->type != NULL ? f->type : "TEXT";
		choice = strcmp(t, "DROPDOWN") == 0 || strcmp(t, "RADIO") == 0;
		if (!choice && !text_type(t) && strcmp(t, "DATE") != 0 && strcmp(t, "DATE_TIME") != 0) {
			if (number_type(t))
				buf_addf(&warn, "%s\"%s\" is %s: values are sent as text, so only numbers "
				    "from the ATS will be accepted", warn.len ? "; " : "", r->key, t);
			else
				buf_addf(&bad, "%sline %d: \"%s\" is a %s field, which atsrecon cannot "
				    "write (it writes text, dates and dropdown/radio options)",
				    bad.len ? "; " : "", r->line, r->key, t);
		}
		for (k = 0; choice && k < r->nmap; k++) {
			nmapped++;
			if (!keap_field_has_option(f, r->map_to[k])) {
				size_t o;
				buf_addf(&bad, "%sline %d: map value \"%s\" is not an option of \"%s\" "
				    "(options:", bad.len ? "; " : "", r->line, r->map_to[k], r->key);
				for (o = 0; o < f->noptions; o++)
					buf_addf(&bad, "%s \"%s\"", o ? "," : "", f->options[o]);
				buf_adds(&bad, f->noptions ? ")" : " none)");
			}
		}
	}
	/* the verdict a run would reach (it stops at the first problem) */
	if (mapping_resolve(&d->map, &d->model, &err) != RC_OK && bad.len == 0)
		buf_addf(&bad, "%s", err.p);
	if (bad.len > 0) {
		fix = xasprintf("%s; or change the fields entries of %s at the lines named",
		    missing ? "create the missing custom fields in Keap (Settings > Custom fields), "
		    "with the options the map values name" : "add the options in Keap (Settings > "
		    "Custom fields), or use a text/date/dropdown field", d->cfg->path ? d->cfg->path :
		    "the configuration");
		add(d, "keap.fields", D_FAIL, RC_CONFIG, fix, "%s", bad.p);
		free(fix);
	} else if (warn.len > 0)
		add(d, "keap.fields", D_WARN, RC_OK, "map to a text field, or make sure the ATS value "
		    "is a number", "%s", warn.p);
	else
		add(d, "keap.fields", D_OK, RC_OK, NULL, "%zu mapped custom fields exist with usable "
		    "types; %zu dropdown map values are options (%zu custom fields in Keap)", nfields,
		    nmapped, d->model.n);
	{
		/* map entries `atsrecon init` guessed, listed in "confirm" */
		struct buf g = BUF_INIT;
		for (i = 0; i < d->map.n; i++) {
			const struct map_rule *r = &d->map.rules[i];
			for (k = 0; k < r->nconfirm; k++) {
				size_t m;
				for (m = 0; m < r->nmap; m++)
					if (strcmp(r->map_from[m], r->confirm[k]) == 0)
						break;
				buf_addf(&g, "%sline %d: \"%s\" -> \"%s\"", g.len ? "; " : "", r->line,
				    r->confirm[k], m < r->nmap ? r->map_to[m] : "?");
			}
		}
		if (g.len > 0) {
			redact_secrets(&g);
			add(d, "keap.confirm", D_WARN, RC_OK, "check each mapping (or add the ATS value "
			    "as an option in Keap and drop its map entry), then remove \"confirm\" from "
			    "the fields entry", "ATS values that are not options of the Keap field, mapped "
			    "by a guess of atsrecon init: %s", g.p);
		}
		buf_free(&g);
	}
	f = keap_model_field(&d->model, xlabel);
	fix = xasprintf("create a text custom field labelled \"%s\" in Keap, or set "
	    "match.external_id_field to the label of one", xlabel);
	if (f == NULL)
		add(d, "keap.external_id", D_FAIL, RC_CONFIG, fix, "Keap has no custom field labelled "
		    "\"%s\" (match.external_id_field): a run stops without it", xlabel);
	else if (f->type != NULL && strcmp(f->type, "TEXT") != 0 && strcmp(f->type, "TEXT_AREA") != 0)
		add(d, "keap.external_id", D_WARN, RC_OK, fix, "\"%s\" is a %s field; the external id "
		    "(<ats>:<id>) needs text", xlabel, f->type);
	else
		add(d, "keap.external_id", D_OK, RC_OK, NULL, "\"%s\" exists (id %s, %s)", xlabel, f->id,
		    f->type != NULL ? f->type : "TEXT");
	free(fix);
	buf_free(&bad);
	buf_free(&warn);
	buf_free(&err);
}

static const struct keap_tag *
find_tag(const struct keap_tags *t, const char *name, const char *cat_id, int any_category)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0 && (any_category ||
		    (cat_id != NULL && str_eq(t->v[i].category_id, cat_id))))
			return &t->v[i];
	return NULL;
}

static void
check_stage_tags(struct doctor *d)
{
	const struct mapping *m = &d->map;
	const char *cat_id = NULL;
	struct buf missing = BUF_INIT, elsewhere = BUF_INIT;
	const char **names;
	size_t i, j, n = 0, nmissing = 0;

	if (m->tag_category == NULL) {
		add(d, "keap.stage_tags", D_OK, RC_OK, NULL, "no stage tags configured (stage_tags)");
		return;
	}
	for (i = 0; i < d->tags.ncats; i++)
		if (strcmp(d->tags.cats[i].name, m->tag_category) == 0)
			cat_id = d->tags.cats[i].id;
	names = xcalloc(m->nby_status + m->nby_stage + 1, sizeof(*names));
	for (i = 0; i < m->nby_status + m->nby_stage; i++) {
		const char *t = i < m->nby_status ? m->by_status[i].v : m->by_stage[i - m->nby_status].v;
		int dup = 0;
		for (j = 0; j < n; j++)
			dup |= strcmp(names[j], t) == 0;
		if (!dup)
			names[n++] = t;
	}
	for (i = 0; i < n; i++) {
		if (find_tag(&d->tags, names[i], cat_id, 0) != NULL)
			continue;
		nmissing++;
		buf_addf(&missing, "%s\"%s\"", missing.len ? ", " : "", names[i]);
		if (find_tag(&d->tags, names[i], NULL, 1) != NULL)
			buf_addf(&elsewhere, "%s\"%s\"", elsewhere.len ? ", " : "", names[i]);
	}
	if (cat_id == NULL || nmissing > 0) {
		struct buf det = BUF_INIT;
		if (cat_id == NULL)
			buf_addf(&det, "the tag category \"%s\" and ", m->tag_category);
		buf_addf(&det, "%zu of %zu stage tags (%s) are missing: they will be created on the first "
		    "run", nmissing, n, missing.len ? missing.p : "none");
		if (elsewhere.len > 0)
			buf_addf(&det, "; %s exist outside the category, a new tag is created in it",
			    elsewhere.p);
		add(d, "keap.stage_tags", D_WARN, RC_OK, "nothing, if the Keap user may create tags; "
		    "else create them in Keap (or change stage_tags)", "%s", det.p);
		buf_free(&det);
	} else
		add(d, "keap.stage_tags", D_OK, RC_OK, NULL, "category \"%s\" and its %zu stage tags "
		    "exist", m->tag_category, n);
	free(names);
	buf_free(&missing);
	buf_free(&elsewhere);
}

static void
check_lifecycle_tags(struct doctor *d)
{
	struct buf missing = BUF_INIT;
	const char *names[3];
	size_t i, n = 0, nmissing = 0;

	if (strcmp(cfg_str(d->cfg, OPT_LIFE_DELETES), "tag") == 0)
		names[n++] = cfg_str(d->cfg, OPT_LIFE_DELETED_TAG);
	names[n++] = cfg_str(d->cfg, OPT_LIFE_ANONYMIZED_TAG);
	names[n++] = cfg_str(d->cfg, OPT_LIFE_DUPLICATE_TAG);
	for (i = 0; i < n; i++)
		if (find_tag(&d->tags, names[i], NULL, 1) == NULL) {
			nmissing++;
			buf_addf(&missing, "%s\"%s\"", missing.len ? ", " : "", names[i]);
		}
	if (nmissing > 0)
		add(d, "keap.lifecycle_tags", D_WARN, RC_OK, "nothing, if the Keap user may create "
		    "tags; else create them in Keap (or change the lifecycle.*_tag keys)", "%zu of %zu "
		    "lifecycle tags (%s) are missing: each is created when first needed", nmissing, n,
		    missing.p);
	else
		add(d, "keap.lifecycle_tags", D_OK, RC_OK, NULL, "the %zu lifecycle tags exist", n);
	buf_free(&missing);
}

/* Writes (non-GET calls) of the last run, from its report.json; -1 when none. */
static long
last_run_writes(const struct doctor *d)
{
	const char *dir = cfg_str(d->cfg, OPT_REPORT_DIR);
	char *path = dir != NULL ? xasprintf("%s/report.json", dir) :
	    xasprintf("%s/reports/report.json", cfg_str(d->cfg, OPT_STATE_DIR));
	long writes = report_file_writes(path);

	free(path);
	return writes;
}

static void
check_quota(struct doctor *d)
{
	struct pace_info pi;
	struct buf det = BUF_INIT, reset = BUF_INIT;
	long page = (long)cfg_int(d->cfg, OPT_KEAP_PAGE_SIZE), contacts, pages, reads, writes, need;
	char ts[32];

	pace_get(d->s.kpace, &pi);
	if (pi.quota_left < 0) {
		skip(d, "keap.quota", "Keap sent no quota headers (x-keap-product-quota-available)");
		return;
	}
	contacts = d->s.st != NULL ? (long)state_count(d->s.st, DB_KEAP) : 0;
	pages = contacts / page + 1;
	reads = pages + 1 + ((long)d->tags.n / 1000 + 1) + ((long)d->tags.ncats / 1000 + 1);
	writes = last_run_writes(d);
	need = reads + (writes > 0 ? writes : 0);
	if (pi.quota_reset_ms > 0) {
		fmt_rfc3339_ms(pi.quota_reset_ms, ts, sizeof(ts));
		buf_addf(&reset, ", resets %s", ts);
	}
	buf_addf(&det, "%ld calls left today%s; a full sweep needs about %ld (%ld contact pages for "
	    "%ld contacts, %ld for model and tags, ", pi.quota_left, reset.p ? reset.p : "", need,
	    pages, contacts, reads - pages);
	if (writes >= 0)
		buf_addf(&det, "%ld writes as in the last run)", writes);
	else
		buf_adds(&det, "no earlier report to count writes)");
	if (pi.exhausted || pi.quota_left == 0)
		add(d, "keap.quota", D_FAIL, RC_QUOTA, "wait for the reset, or ask Keap for a higher "
		    "daily quota", "%s: the daily quota is used up", det.p);
	else if (need > pi.quota_left)
		add(d, "keap.quota", D_WARN, RC_OK, "run after the reset, or ask Keap for a higher daily "
		    "quota (keap.max_pages bounds a run's reads; the rest waits for the next run)",
		    "%s: more than is left", det.p);
	else
		add(d, "keap.quota", D_OK, RC_OK, NULL, "%s", det.p);
	buf_free(&det);
	buf_free(&reset);
}

static void
check_keap(struct doctor *d)
{
	struct api_err kerr;
	struct buf why = BUF_INIT;
	enum rc rc;

	if (!probes_ok(d, "tls.keap")) {
		skip_keap_from(d, 0, "Keap is unreachable (see tls.keap)");
		return;
	}
	check_keap_client(d);
	if (!check_keap_access(d))
		return;
	api_err_clear(&kerr);
	rc = keap_load_model(d->s.keap, &d->model, &kerr);
	keap_why(d, rc, &kerr, &why);
	if (rc == RC_OK) {
		d->have_model = 1;
		if (d->have_map)
			check_fields(d);
		else {
			skip(d, "keap.fields", "the mapping did not load (see config)");
			skip(d, "keap.external_id", "the mapping did not load (see config)");
		}
	} else {
		keap_read_failed(d, "keap.fields", rc, &kerr, why.p, "read the contact model "
		    "(custom fields)");
		skip(d, "keap.external_id", "the contact model could not be read (see keap.fields)");
	}
	api_err_clear(&kerr);
	rc = keap_load_tags(d->s.keap, &d->tags, &kerr);
	keap_why(d, rc, &kerr, &why);
	if (rc == RC_OK) {
		d->have_tags = 1;
		add(d, "keap.tags", D_OK, RC_OK, NULL, "the API user can read tags: %zu tags in %zu "
		    "categories", d->tags.n, d->tags.ncats);
		if (d->have_map)
			check_stage_tags(d);
		else
			skip(d, "keap.stage_tags", "the mapping did not load (see config)");
		check_lifecycle_tags(d);
	} else {
		keap_read_failed(d, "keap.tags", rc, &kerr, why.p, "read tags and tag categories");
		skip(d, "keap.stage_tags", "tags could not be read (see keap.tags)");
		skip(d, "keap.lifecycle_tags", "tags could not be read (see keap.tags)");
	}
	check_quota(d);
	buf_free(&why);
}

/* ------------------------------------------------------------- the ATS */

struct first_arg {
	char *id;
	long seen;
};

#define STOP RC_GUARD	/* the callback's "enough": not an error here */

static enum rc
first_cand(void *arg, const struct candidate *c)
{
	struct first_arg *f = arg;

	f->seen++;
	if (f->id == NULL && c->id != NULL)
		f->id = xstrdup(c->id);
	return STOP;
}

static enum rc
first_id(void *arg, const char *id)
{
	(void)arg;
	(void)id;
	return STOP;
}

/* What to check when the source refuses: the driver's own words. */
static const char *
ats_fix(const char *kind)
{
	const struct ats_driver *drv = ats_driver_of(kind);

	return drv != NULL && drv->fix != NULL ? drv->fix : "check ats.kind and the ats.* settings";
}

/* Why the driver's last call failed (its error value). */
static const char *
ats_why(const struct api_err *e, struct buf *why, enum rc rc)
{
	buf_reset(why);
	if (e->msg[0] != '\0')
		buf_adds(why, e->msg);
	else
		buf_adds(why, rc_str(rc));
	return why->p;
}

static void
ats_failed(struct doctor *d, const char *check, enum rc rc, const char *why)
{
	const char *kind = cfg_str(d->cfg, OPT_ATS_KIND);

	switch (rc) {
	case RC_AUTH:
		add(d, check, D_FAIL, RC_AUTH, ats_fix(kind), "%s refused the credentials or a "
		    "permission: %s", kind, why);
		break;
	case RC_CONFIG:
		add(d, check, D_FAIL, RC_CONFIG, ats_fix(kind), "%s", why);
		break;
	case RC_QUOTA:
		add(d, check, D_FAIL, RC_QUOTA, "retry when the ATS's rate limit resets", "%s", why);
		break;
	default:
		add(d, check, D_FAIL, RC_REMOTE, "retry later; atsrecon probe URL shows the details",
		    "%s did not answer usably (%s): %s", kind, rc_str(rc), why);
		break;
	}
}

/*
 * ats.lookups: the reference lists (job, source, referrer names...) that the
 * mapping uses. A list the source refuses (403/404) degrades its field: the
 * runs go on with that field unknown (never written), so this warns, naming
 * the list and what it needs. Sources without such lists get no line.
 */
static void
check_lookups(struct doctor *d, struct ats *a, int read_ok)
{
	const char *kind = cfg_str(d->cfg, OPT_ATS_KIND);
	struct buf why = BUF_INIT;
	enum rc rc = RC_OK;

	if (a->drv->lookups == NULL && a->degraded == 0)
		return;
	if (!read_ok && a->degraded == 0) {
		skip(d, "ats.lookups", "the source did not read (see ats.read)");
		return;
	}
	if (a->drv->lookups != NULL) {
		api_err_clear(&a->err);
		rc = a->drv->lookups(a);
	}
	if (rc != RC_OK)
		ats_failed(d, "ats.lookups", rc, ats_why(&a->err, &why, rc));
	else if (a->degraded != 0)
		add(d, "ats.lookups", D_WARN, RC_OK, "grant what is named, or remove the fields rules "
		    "(and stage_tags) that use these fields; until then runs leave them unknown and "
		    "write nothing for them", "%s: refused: %s", kind, a->degraded_note);
	else if ((a->used & ATS_FLD_ALL) == 0)
		add(d, "ats.lookups", D_OK, RC_OK, NULL, "%s: the mapping uses no field that needs a "
		    "reference list (none is read)", kind);
	else
		add(d, "ats.lookups", D_OK, RC_OK, NULL, "%s: the reference lists the mapping uses "
		    "answered", kind);
	buf_free(&why);
}

static void
check_ats(struct doctor *d)
{
	const char *kind = cfg_str(d->cfg, OPT_ATS_KIND);
	struct ats *a = NULL;
	struct ats_pull pull;
	struct first_arg fa = { NULL, 0 };
	struct buf why = BUF_INIT, det = BUF_INIT;
	int64_t to = d->now_ms;
	enum rc rc;

	if (strcmp(kind, "file") != 0 && !probes_ok(d, "tls.ats")) {
		skip(d, "ats.credentials", "the ATS is unreachable (see tls.ats)");
		skip(d, "ats.read", "the ATS is unreachable (see tls.ats)");
		return;
	}
	d->s.deadline_ms = phase_deadline(d);
	rc = session_ats(&d->s);
	a = d->s.ats;
	if (rc != RC_OK) {
		ats_failed(d, "ats.credentials", rc, ats_why(&d->s.err, &why, rc));
		skip(d, "ats.read", "the source did not open (see ats.credentials)");
		goto out;
	}
	if (strcmp(kind, "greenhouse") == 0)
		add(d, "ats.credentials", D_OK, RC_OK, NULL, "greenhouse: a token was minted for user %s",
		    cfg_str(d->cfg, OPT_ATS_USER_ID));
	else if (strcmp(kind, "file") == 0)
		add(d, "ats.credentials", D_OK, RC_OK, NULL, "file: %s opened", cfg_str(d->cfg, OPT_ATS_FILE));
	else
		add(d, "ats.credentials", D_OK, RC_OK, NULL, "%s: the API key is set (the read below "
		    "proves it)", kind);
	a->deadline_ms = phase_deadline(d);
	memset(&pull, 0, sizeof(pull));
	api_err_clear(&a->err);
	if (a->drv->flags & ATS_F_FULL_ONLY) {
		rc = a->drv->pull_all(a, first_cand, &fa, &pull);
		buf_adds(&det, "read the first record of the export");
	} else {
		rc = a->drv->pull_window(a, to - ATS_WINDOW_MS, to, first_cand, &fa, &pull);
		buf_adds(&det, "listed the changes of the last 7 days");
	}
	if (rc == STOP || rc == RC_OK) {
		buf_addf(&det, " (%s)", fa.seen ? "stopped at the first candidate" : "none");
		rc = RC_OK;
		if (a->drv->pull_deleted != NULL) {
			memset(&pull, 0, sizeof(pull));
			rc = a->drv->pull_deleted(a, to - ATS_WINDOW_MS, to, first_id, NULL, &pull);
			if (rc == STOP)
				rc = RC_OK;
			buf_adds(&det, ", the deletions");
		}
	}
	if (rc == RC_OK && fa.id != NULL) {
		struct candidate *c = NULL;
		rc = a->drv->get(a, fa.id, &c);
		if (rc == RC_RECORD)
			rc = RC_OK;	/* gone since: the endpoint answered */
		if (c != NULL) {
			candidate_free(c);
			free(c);
		}
		buf_adds(&det, ", and read that candidate by id");
	}
	if (rc != RC_OK)
		ats_failed(d, "ats.read", rc, ats_why(&a->err, &why, rc));
	else
		add(d, "ats.read", D_OK, RC_OK, NULL, "%s: %s", kind, det.p);
	check_lookups(d, a, rc == RC_OK);
out:
	free(fa.id);
	buf_free(&why);
	buf_free(&det);
}

/* ------------------------------------------------------------- main */

enum rc
doctor_main(struct config *cfg, int json)
{
	struct doctor d;
	struct buf err = BUF_INIT;
	enum rc rc;
	size_t i;

	memset(&d, 0, sizeof(d));
	d.cfg = cfg;
	d.now_ms = now_ms();
	d.log_level = log_get_level();
	if (log_parse_format(cfg_str(cfg, OPT_LOG_FORMAT), &d.log_format) != 0)
		d.log_format = LOG_FMT_AUTO;
	d.oauth = strcmp(cfg_str(cfg, OPT_KEAP_AUTH), "oauth") == 0;
	d.state_url = cfg_str(cfg, OPT_STATE_URL);
	session_init(&d.s, cfg, 0);
	/* the one-record read of the ATS check: one record per page */
	config_set_cli(cfg, OPT_ATS_PAGE_SIZE, "1", &err);

	if (d.log_level != LOG_DEBUG)
		log_init(LOG_OFF, d.log_format);	/* the report says why; the log only at debug */
	check_config(&d);
	check_state_dir(&d);
	check_report_dir(&d);
	check_state(&d);
	if ((rc = session_http(&d.s)) != RC_OK) {
		add(&d, "http", D_FAIL, rc == RC_CONFIG ? RC_CONFIG : RC_BUG, d.s.err.hint, "%s",
		    d.s.err.msg);
		skip(&d, "tls", "no HTTP client (see http)");
		skip_keap_from(&d, 0, "no HTTP client (see http)");
		skip(&d, "ats", "no HTTP client (see http)");
	} else {
		check_tls(&d);
		check_clock(&d);
		check_keap(&d);
		check_ats(&d);
	}
	finish_state(&d);	/* the session: auth before the state it uses */
	log_init(d.log_level, d.log_format);
	print_results(&d, json);
	rc = worst(&d);

	for (i = 0; i < d.n; i++) {
		free(d.v[i].check);
		free(d.v[i].detail);
		free(d.v[i].fix);
	}
	free(d.v);
	for (i = 0; i < d.nprobes; i++) {
		free(d.probes[i].url);
		free(d.probes[i].origin);
	}
	if (d.have_model)
		keap_model_free(&d.model);
	if (d.have_tags || d.tags.v != NULL || d.tags.cats != NULL)
		keap_tags_free(&d.tags);
	if (d.have_map)
		mapping_free(&d.map);
	buf_free(&err);
	return rc;
}
