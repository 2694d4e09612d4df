/*
 * util.h — allocation, growable buffers, atomic files, time, bounded strings.
 *
 * Out-of-memory policy: the x*alloc functions never return NULL. On allocation
 * failure they print one line to stderr and abort(): a run that cannot allocate
 * a few kilobytes cannot do anything correct, and the next run's diff completes
 * whatever this one was doing (docs/engine.md "Killed runs").
 */
#ifndef ATSRECON_UTIL_H
#define ATSRECON_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* One error type for the whole program, graded by scope. main.c alone maps it
 * to an exit status (DESIGN.md §7); rc_str names it for logs. */
enum rc {
	RC_OK = 0,
	RC_RECORD,	/* run complete, some records failed (retried next run) */
	RC_USAGE,	/* bad command line */
	RC_CONFIG,	/* bad configuration */
	RC_AUTH,	/* a person must act: invalid grant, 401 after refresh, 403 */
	RC_REMOTE,	/* remote unavailable, or deadline reached with work left */
	RC_GUARD,	/* a guard tripped; nothing applied */
	RC_QUOTA,	/* API quota exhausted; remainder deferred */
	RC_STALE,	/* last good run is too old (status) */
	RC_STATE,	/* state corrupt, wrong schema, not writable */
	RC_LOCKED,	/* another run holds the lock */
	RC_BUG		/* internal error */
};
const char *rc_str(enum rc);
int rc_exit_status(enum rc);

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define NORETURN __attribute__((noreturn))
#else
#define PRINTF_LIKE(f, a)
#define NORETURN
/*
 * Test-only crash points. When $ATSRECON_TEST_KILL_AT names this point
 * ("token-committed", or "write:3" for the third time "write" is reached), the
 * process kills itself with SIGKILL right there, as a scheduler or the OOM
 * killer would. The scenario tests use it to prove that a resumed run loses
 * and duplicates nothing. Unset, it costs one getenv.
 */
void test_hook(const char *point);

#endif

void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xrealloc(void *, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
char *xasprintf(const char *, ...) PRINTF_LIKE(1, 2);

/* A growable byte buffer, always NUL-terminated when p != NULL. */
struct buf {
	char *p;
	size_t len;
	size_t cap;
	int borrowed;	/* p is the caller's array (buf_on): never freed or grown in place */
};
#define BUF_INIT { NULL, 0, 0, 0 }
/* A buf that starts in the caller's array arr[size] (size >= 1): no
 * allocation while the text fits, moved to the heap when it grows past it.
 * buf_free frees only what was allocated; buf_take returns heap memory. */
void buf_on(struct buf *, char *arr, size_t size);
/* Appends len bytes (and keeps a NUL after them). Inline while there is room:
 * the encoders call it for every field of every record (codec.c). */
void buf_add_grow(struct buf *, const void *, size_t);
static inline void
buf_add(struct buf *b, const void *data, size_t len)
{
	if (b->cap - b->len > len) {	/* room for len and the NUL (cap 0: never) */
		if (len > 0)
			memcpy(b->p + b->len, data, len);
		b->len += len;
		b->p[b->len] = '\0';
	} else
		buf_add_grow(b, data, len);
}
/* Makes room for extra more bytes (and the NUL) without adding any. */
void buf_reserve(struct buf *, size_t extra);
void buf_adds(struct buf *, const char *);
void buf_addc(struct buf *, char);
void buf_addf(struct buf *, const char *, ...) PRINTF_LIKE(2, 3);
void buf_vaddf(struct buf *, const char *, va_list) PRINTF_LIKE(2, 0);
void buf_reset(struct buf *);
void buf_free(struct buf *);
/* Hands the storage to the caller (never NULL; "" for an empty buffer). */
char *buf_take(struct buf *);

/* Frees n strings and the array holding them (NULL-safe). */
void strv_free(char **v, size_t n);

/* Owned string pairs in the order they were added (e.g. the values last
 * agreed: target → value). */
struct strpairs {
	char **k, **v;
	size_t n;
};
void strpairs_add(struct strpairs *, const char *k, const char *v);
const char *strpairs_get(const struct strpairs *, const char *k);	/* NULL: absent */
int strpairs_equal(const struct strpairs *, const struct strpairs *);	/* same pairs, same order */
void strpairs_free(struct strpairs *);

/* 64-bit hashes in a plain array: sorted in place ascending (no comparator
 * calls: a million in a few tens of ms), and looked up by binary search. */
void u64_sort(uint64_t *v, size_t n);
int u64_has(const uint64_t *v, size_t n, uint64_t x);

/* Copies at most size-1 bytes and always terminates; returns strlen(src). */
size_t str_copy(char *dst, size_t size, const char *src);
int str_eq(const char *, const char *);		/* NULL-safe */
int str_has_prefix(const char *, const char *);
/* s without surrounding ASCII blanks (space, tab, CR, LF): the start, and its
 * length in *len. */
const char *str_trim(const char *s, size_t *len);
/* The value of a hexadecimal digit, or -1. */
int hex_digit(int c);

/* Strict number parsing: the whole string, in range, no sign surprises. */
int parse_i64(const char *, int64_t *);
/* "90", "90s", "15m", "36h", "7d", "1h30m" → seconds. */
int parse_duration(const char *, int64_t *seconds);

/*
 * Writes data to path atomically: a temporary file in the same directory,
 * fsync, rename over path, fsync of the directory. mode is the new file's
 * mode. Returns 0, or -1 with errno set (the temporary file is removed).
 */
int atomic_write(const char *path, const void *data, size_t len, unsigned mode);
/* The same, written in pieces (a large file that is never whole in memory):
 * atomic_open makes the temporary file, atomic_add appends (a failure is
 * remembered), atomic_commit syncs and renames it over path (0, or -1 with
 * errno; the temporary is removed), atomic_abort drops it. */
struct atomic_file {
	int fd, failed, saved_errno;
	struct buf tmp;
};
int atomic_open(struct atomic_file *, const char *path, unsigned mode);
void atomic_add(struct atomic_file *, const void *data, size_t len);
int atomic_commit(struct atomic_file *, const char *path);
void atomic_abort(struct atomic_file *);

/* Reads a whole regular file, at most max bytes; -1 with errno (EFBIG when larger). */
int read_file(const char *path, size_t max, struct buf *out);

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
size_t utf8_seq(const unsigned char *s, size_t n);
int utf8_valid(const char *s, size_t n);

/* Base URL policy (DESIGN.md §1): https://, or http:// only to a loopback
 * host (localhost, 127.0.0.0/8, [::1]); never credentials in the URL. */
int url_allowed(const char *url);

int64_t now_ms(void);		/* wall clock, ms since the epoch */
int64_t mono_ms(void);		/* monotonic clock, ms */
void sleep_ms(long ms);		/* sleeps the whole time, through EINTR */

/*
 * Stopping on request (SIGTERM, SIGINT: cron, systemd, Kubernetes and Lambda
 * all send one before killing). stop_install() installs the handlers; after
 * the first signal stop_requested() is true: no new request starts, requests
 * in flight get stop_grace_ms() to finish (then they are abandoned), and the
 * run checkpoints, writes its report and exits 5. A second signal ends the
 * process at once with the default action; the next run still converges
 * (docs/engine.md "Killed runs").
 */
void stop_install(long grace_ms);
int stop_requested(void);
int64_t stop_requested_at(void);	/* mono_ms() of the first signal; 0 none */
long stop_grace_ms(void);
int stop_signal(void);			/* the signal that asked (0 none) */
/*
 * A stop the program itself asks for, not a signal (s3.c: the state lease was
 * lost): the same effect as the first signal; why is kept for messages. And a
 * moment (mono_ms) at which stop_requested() turns true by itself with
 * why_then (the lease's end, moved on by every renewal; 0: none). Both may be
 * called from another thread. stop_clear_internal() forgets both (a warm
 * Lambda runtime's next invocation starts clean); a signal stays.
 */
void stop_request(const char *why);
void stop_set_deadline(int64_t at_mono_ms, const char *why_then);
void stop_clear_internal(void);
const char *stop_reason(void);		/* the why of an internal stop; NULL none */
/* Sleeps up to ms, returning early (1) when a stop is requested. */
int sleep_unless_stopped(long ms);
/* RFC 3339 UTC with milliseconds: 2026-01-05T10:00:00.000Z (out >= 25 bytes). */
void fmt_rfc3339_ms(int64_t ms, char *out, size_t size);

/*
 * Test-only crash points. When $ATSRECON_TEST_KILL_AT names this point
 * ("token-committed", or "write:3" for the third time "write" is reached), the
 * process kills itself with SIGKILL right there, as a scheduler or the OOM
 * killer would. The scenario tests use it to prove that a resumed run loses
 * and duplicates nothing. Unset, it costs one getenv.
 */
void test_hook(const char *point);

#endif
