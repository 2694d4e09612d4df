/* util.c — see util.h. */
#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const struct {
	const char *name;
	int status;
} rc_table[] = {
	[RC_OK] = { "ok", 0 },
	[RC_RECORD] = { "record failures", 1 },
	[RC_USAGE] = { "usage error", 2 },
	[RC_CONFIG] = { "configuration error", 3 },
	[RC_AUTH] = { "authorisation needs a person", 4 },
	[RC_REMOTE] = { "remote unavailable or deadline reached", 5 },
	[RC_GUARD] = { "guard tripped", 6 },
	[RC_QUOTA] = { "API quota exhausted", 7 },
	[RC_STALE] = { "stale", 8 },
	[RC_STATE] = { "state error", 9 },
	[RC_LOCKED] = { "locked by another run", 75 },
	[RC_BUG] = { "internal error", 70 },
};

const char *
rc_str(enum rc rc)
{
	if ((size_t)rc >= ARRAY_LEN(rc_table))
		return "internal error";
	return rc_table[rc].name;
}

int
rc_exit_status(enum rc rc)
{
	if ((size_t)rc >= ARRAY_LEN(rc_table))
		return 70;
	return rc_table[rc].status;
}

static void NORETURN
oom(size_t n)
{
	/* No allocation here: the message is static and write(2) is enough. */
	char msg[96];
	int len = snprintf(msg, sizeof(msg), "atsrecon: out of memory (%zu bytes); aborting\n", n);

	if (len > 0 && write(STDERR_FILENO, msg, (size_t)len) < 0)
		abort();
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom(n * size);
	return p;
}

void *
xrealloc(void *old, size_t n)
{
	void *p = realloc(old, n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	return buf_take(&b);
}

static void
buf_grow(struct buf *b, size_t extra)
{
	size_t need, cap;

	if (extra > SIZE_MAX - b->len - 1)
		oom(SIZE_MAX);
	need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	cap = b->cap == 0 ? 64 : b->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (b->borrowed) {	/* out of the caller's array, onto the heap */
		char *p = xmalloc(cap);
		memcpy(p, b->p, b->len + 1);
		b->p = p;
		b->borrowed = 0;
	} else
		b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

void
buf_reserve(struct buf *b, size_t extra)
{
	buf_grow(b, extra);
	b->p[b->len] = '\0';
}

void
buf_add_grow(struct buf *b, const void *data, size_t len)
{
	buf_grow(b, len);
	if (len > 0)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void
buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	size_t room = b->cap > b->len + 1 ? b->cap - b->len : 0;
	int n;

	/* formatted once into the room there is; a second time only when it did not fit */
	va_copy(ap2, ap);
	n = room > 0 ? vsnprintf(b->p + b->len, room, fmt, ap2) : vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		if (b->p != NULL)
			b->p[b->len] = '\0';
		return;
	}
	if ((size_t)n >= room) {
		buf_grow(b, (size_t)n);
		vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	}
	b->len += (size_t)n;
}

void
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

void
buf_on(struct buf *b, char *arr, size_t size)
{
	b->p = arr;
	b->p[0] = '\0';
	b->len = 0;
	b->cap = size;
	b->borrowed = 1;
}

void
buf_free(struct buf *b)
{
	if (!b->borrowed)
		free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->borrowed = 0;
}

char *
buf_take(struct buf *b)
{
	char *p = b->p;

	if (p == NULL || b->borrowed)
		p = xstrdup(p != NULL ? p : "");
	b->p = NULL;
	b->len = b->cap = 0;
	b->borrowed = 0;
	return p;
}

size_t
str_copy(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

int
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

const char *
str_trim(const char *s, size_t *len)
{
	size_t n;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	*len = n;
	return s;
}

int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int
parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = (int64_t)v;
	return 0;
}

int
parse_duration(const char *s, int64_t *seconds)
{
	int64_t total = 0;
	int any = 0;

	if (s == NULL || *s == '\0')
		return -1;
	while (*s != '\0') {
		int64_t v = 0, mult;

		if (*s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9') {
			if (v > (INT64_MAX - 9) / 10)
				return -1;
			v = v * 10 + (*s++ - '0');
		}
		switch (*s) {
		case '\0':
			if (any)
				return -1;	/* "1h30" is ambiguous */
			mult = 1;
			break;
		case 's': mult = 1; s++; break;
		case 'm': mult = 60; s++; break;
		case 'h': mult = 3600; s++; break;
		case 'd': mult = 86400; s++; break;
		default: return -1;
		}
		if (v > (INT64_MAX - total) / mult)
			return -1;
		total += v * mult;
		any = 1;
	}
	*seconds = total;
	return 0;
}

static int
fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, rc;

	if (slash == NULL)
		str_copy(dir, sizeof(dir), ".");
	else if (slash == path)
		str_copy(dir, sizeof(dir), "/");
	else {
		size_t n = (size_t)(slash - path);
		if (n >= sizeof(dir)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
atomic_open(struct atomic_file *f, const char *path, unsigned mode)
{
	memset(f, 0, sizeof(*f));
	buf_addf(&f->tmp, "%s.tmp.XXXXXX", path);
	f->fd = mkstemp(f->tmp.p);
	if (f->fd >= 0 && fchmod(f->fd, (mode_t)mode) == 0)
		return 0;
	atomic_abort(f);
	return -1;
}

void
atomic_add(struct atomic_file *f, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0 && !f->failed) {
		ssize_t n = write(f->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			f->failed = 1;
			f->saved_errno = n < 0 ? errno : EIO;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
}

void
atomic_abort(struct atomic_file *f)
{
	int saved = errno;

	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->tmp.p != NULL)
		unlink(f->tmp.p);
	buf_free(&f->tmp);
	errno = saved;
}

int
atomic_commit(struct atomic_file *f, const char *path)
{
	int rc = -1, fd = f->fd;

	f->fd = -1;
	if (f->failed) {
		close(fd);
		errno = f->saved_errno;
		goto out;
	}
	if (fsync(fd) != 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		goto out;
	}
	if (close(fd) != 0 || rename(f->tmp.p, path) != 0)
		goto out;
	rc = fsync_dir_of(path);
out:
	if (rc != 0)
		atomic_abort(f);
	buf_free(&f->tmp);
	return rc;
}

int
atomic_write(const char *path, const void *data, size_t len, unsigned mode)
{
	struct atomic_file f;

	if (atomic_open(&f, path, mode) != 0)
		return -1;
	atomic_add(&f, data, len);
	return atomic_commit(&f, path);
}

int
read_file(const char *path, size_t max, struct buf *out)
{
	char chunk[8192];
	int fd, rc = -1, saved;
	struct stat st;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		if (out->len + (size_t)n > max) {
			errno = EFBIG;
			goto out;
		}
		buf_add(out, chunk, (size_t)n);
	}
	if (out->p == NULL)
		buf_add(out, "", 0);
	rc = 0;
out:
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
fmt_rfc3339_ms(int64_t ms, char *out, size_t size)
{
	time_t secs = (time_t)(ms / 1000);
	int frac = (int)(ms % 1000);
	struct tm tm;

	if (frac < 0) {
		frac += 1000;
		secs -= 1;
	}
	gmtime_r(&secs, &tm);
	snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if invalid. */
size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int
utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		size_t k = utf8_seq(p + i, n - i);
		if (k == 0)
			return 0;
		i += k;
	}
	return 1;
}

int
url_allowed(const char *url)
{
	const char *auth;
	size_t alen, n, i, dots = 0;

	if (strncmp(url, "https://", 8) == 0)
		auth = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		auth = url + 7;
	else
		return 0;
	alen = strcspn(auth, "/?#");
	if (alen == 0 || memchr(auth, '@', alen) != NULL)
		return 0;	/* no host, or credentials in the URL */
	for (i = 0; i < alen; i++)
		if ((unsigned char)auth[i] <= ' ' || auth[i] == '\\')
			return 0;
	if (auth == url + 8)
		return 1;
	/* plain http: loopback only */
	if (auth[0] == '[')
		return alen >= 5 && strncmp(auth, "[::1]", 5) == 0 && (alen == 5 || auth[5] == ':');
	n = strcspn(auth, ":/?#");
	if (n == 9 && strncmp(auth, "localhost", 9) == 0)
		return 1;
	if (n < 7 || strncmp(auth, "127.", 4) != 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (auth[i] == '.')
			dots++;
		else if (auth[i] < '0' || auth[i] > '9')
			return 0;
	}
	return dots == 3;
}

void
test_hook(const char *point)
{
	static unsigned long seen;
	const char *want = getenv("ATSRECON_TEST_KILL_AT");
	size_t n;
	int64_t nth = 1;

	if (want == NULL)
		return;
	n = strcspn(want, ":");
	if (strlen(point) != n || strncmp(want, point, n) != 0)
		return;
	if (want[n] == ':' && (parse_i64(want + n + 1, &nth) != 0 || nth < 1))
		return;
	if ((int64_t)++seen >= nth)
		raise(SIGKILL);
}

static volatile sig_atomic_t stop_sig;
/* first noticed (the grace counts from here); atomics: s3.c's lease heartbeat
 * thread asks too */
static _Atomic int64_t stop_at;
static _Atomic long stop_grace = 10000;	/* set again by each run; read by the heartbeat too */
static _Atomic int stop_internal;		/* stop_request() or the deadline passed */
static _Atomic int64_t stop_deadline;		/* stop_set_deadline; 0 none */
static pthread_mutex_t stop_mu = PTHREAD_MUTEX_INITIALIZER;
static char stop_why[512], stop_why_then[512];

static void
on_stop_signal(int sig)
{
	if (stop_sig != 0) {
		/* the second one: now */
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	stop_sig = sig;
}

void
stop_install(long grace_ms)
{
	struct sigaction sa;

	if (grace_ms >= 0)
		stop_grace = grace_ms;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

void
stop_request(const char *why)
{
	pthread_mutex_lock(&stop_mu);
	if (!atomic_load(&stop_internal))
		str_copy(stop_why, sizeof(stop_why), why != NULL ? why : "stop requested");
	atomic_store(&stop_internal, 1);
	pthread_mutex_unlock(&stop_mu);
}

void
stop_set_deadline(int64_t at, const char *why_then)
{
	pthread_mutex_lock(&stop_mu);
	if (why_then != NULL)
		str_copy(stop_why_then, sizeof(stop_why_then), why_then);
	atomic_store(&stop_deadline, at);
	pthread_mutex_unlock(&stop_mu);
}

void
stop_clear_internal(void)
{
	pthread_mutex_lock(&stop_mu);
	atomic_store(&stop_internal, 0);
	atomic_store(&stop_deadline, 0);
	stop_why[0] = '\0';
	if (stop_sig == 0)
		atomic_store(&stop_at, 0);
	pthread_mutex_unlock(&stop_mu);
}

const char *
stop_reason(void)
{
	/* written once before stop_internal is set, then left alone until
	 * stop_clear_internal (between runs) */
	return stop_requested() && atomic_load(&stop_internal) ? stop_why : NULL;
}

int
stop_requested(void)
{
	int64_t dl, zero = 0;
	int on = stop_sig != 0 || atomic_load(&stop_internal);

	if (!on && (dl = atomic_load(&stop_deadline)) > 0 && mono_ms() >= dl) {
		pthread_mutex_lock(&stop_mu);
		if (atomic_load(&stop_deadline) > 0 && mono_ms() >= atomic_load(&stop_deadline) &&
		    !atomic_load(&stop_internal)) {
			str_copy(stop_why, sizeof(stop_why), stop_why_then);
			atomic_store(&stop_internal, 1);
		}
		pthread_mutex_unlock(&stop_mu);
		on = atomic_load(&stop_internal);
	}
	if (on)	/* first noticed: the grace counts from here */
		atomic_compare_exchange_strong(&stop_at, &zero, mono_ms());
	return on;
}

int64_t
stop_requested_at(void)
{
	return stop_requested() ? atomic_load(&stop_at) : 0;
}

long
stop_grace_ms(void)
{
	return stop_grace;
}

int
stop_signal(void)
{
	return (int)stop_sig;
}

int
sleep_unless_stopped(long ms)
{
	int64_t end = mono_ms() + ms;

	while (!stop_requested()) {
		int64_t left = end - mono_ms();
		if (left <= 0)
			return 0;
		sleep_ms(left > 100 ? 100 : (long)left);
	}
	return 1;
}

void
sleep_ms(long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void
strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
strpairs_add(struct strpairs *p, const char *k, const char *v)
{
	p->k = xrealloc(p->k, (p->n + 1) * sizeof(char *));
	p->v = xrealloc(p->v, (p->n + 1) * sizeof(char *));
	p->k[p->n] = xstrdup(k != NULL ? k : "");
	p->v[p->n++] = xstrdup(v != NULL ? v : "");
}

const char *
strpairs_get(const struct strpairs *p, const char *k)
{
	size_t i;

	for (i = 0; p != NULL && k != NULL && i < p->n; i++)
		if (strcmp(p->k[i], k) == 0)
			return p->v[i];
	return NULL;
}

int
strpairs_equal(const struct strpairs *a, const struct strpairs *b)
{
	size_t i, na = a != NULL ? a->n : 0, nb = b != NULL ? b->n : 0;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (strcmp(a->k[i], b->k[i]) != 0 || strcmp(a->v[i], b->v[i]) != 0)
			return 0;
	return 1;
}

void
strpairs_free(struct strpairs *p)
{
	if (p == NULL)
		return;
	strv_free(p->k, p->n);
	strv_free(p->v, p->n);
	p->k = p->v = NULL;
	p->n = 0;
}

/* ---------------------------------------------------------- u64 arrays */

static void
u64_insertion(uint64_t *v, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		uint64_t x = v[i];
		for (j = i; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static int
cmp_u64_qsort(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Quicksort (median of three, the smaller side recursed) down to short runs
 * for insertion sort; past a depth of 2 log2 n, qsort finishes the range, so
 * no input makes it quadratic. */
static void
u64_quick(uint64_t *v, size_t n, int depth)
{
	while (n > 16) {
		uint64_t a = v[0], b = v[n / 2], c = v[n - 1], p, t;
		size_t i = 0, j = n - 1;

		if (depth-- <= 0) {
			qsort(v, n, sizeof(*v), cmp_u64_qsort);
			return;
		}
		p = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
		for (;;) {	/* Hoare: v[0..j] <= p <= v[j+1..n) */
			while (v[i] < p)
				i++;
			while (v[j] > p)
				j--;
			if (i >= j)
				break;
			t = v[i];
			v[i++] = v[j];
			v[j--] = t;
		}
		if (j + 1 < n - j - 1) {
			u64_quick(v, j + 1, depth);
			v += j + 1;
			n -= j + 1;
		} else {
			u64_quick(v + j + 1, n - j - 1, depth);
			n = j + 1;
		}
	}
	u64_insertion(v, n);
}

void
u64_sort(uint64_t *v, size_t n)
{
	int depth = 0;
	size_t m;

	for (m = n; m > 1; m >>= 1)
		depth += 2;
	if (n > 1)
		u64_quick(v, n, depth);
}

int
u64_has(const uint64_t *v, size_t n, uint64_t x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo] == x;
}
