/*
 * s3.h — remote state on S3 (or an S3-compatible store): a small SigV4 client
 * for one bucket, and on top of it the state lease and the LMDB snapshot that
 * a run without a lasting disk (Lambda) works on (DESIGN.md §3).
 *
 * With state.url = "s3://BUCKET/PREFIX" the remote state is two objects:
 *
 *   PREFIX/lease      {"owner","host","pid","acquired_ms","expires_ms",...}
 *                     taken with PUT If-None-Match: * (create only); a lease
 *                     whose expires_ms has passed is taken over with PUT
 *                     If-Match on the ETag it was read with; a live one means
 *                     another run holds the state: RC_LOCKED (exit 75).
 *   PREFIX/state.mdb  the LMDB environment's data file, compacted
 *                     (mdb_env_copy2 with MDB_CP_COMPACT), written with PUT
 *                     If-Match on the ETag it was read with, or If-None-Match:
 *                     * when there was none: a 412 is another writer's change,
 *                     RC_STATE, and nothing is overwritten.
 *
 * A run calls s3state_begin (lease, download into a fresh private directory
 * it then uses as its state dir), s3state_commit whenever the state must be
 * durable (after a rotated refresh token is committed, before that token's
 * access token is used; at the end of the run), and s3state_end (lease
 * released, directory removed). s3state_end does not commit.
 *
 * Facts relied on (tests/fakes/s3.py's notes cite the sources):
 *   - libcurl (CURLOPT_AWS_SIGV4 "aws:amz:REGION:s3", http.c) signs host,
 *     x-amz-date, x-amz-content-sha256 and every header we set; it signs the
 *     URL path exactly as given, so every key byte outside A-Z a-z 0-9 - . _ ~
 *     (and "/") is sent as %XX in upper case (S3 decodes and re-encodes once).
 *   - A session token is not added by libcurl: we send x-amz-security-token.
 *   - An upload through a read callback with a known size is signed as
 *     UNSIGNED-PAYLOAD; we send Content-MD5 so S3 still checks the body.
 *   - S3 answers a failed If-Match/If-None-Match with 412, a conditional write
 *     racing another one with 409 ConditionalRequestConflict (retried here a
 *     few times), If-Match on a missing key with 404, and DELETE If-Match on
 *     a missing key with 204.
 *   - A single-part PUT's ETag is the body's MD5 in hex (not with SSE-KMS: we
 *     use it only to recognise our own write after a lost answer).
 *
 * Choices where the sources are silent (ours):
 *   - Addressing: with state.endpoint (MinIO, R2, a test server) path-style,
 *     ENDPOINT/BUCKET/KEY; without it AWS virtual-hosted style,
 *     https://BUCKET.s3.REGION.amazonaws.com/KEY (amazonaws.com.cn for cn-*
 *     regions), and path-style at https://s3.REGION.amazonaws.com when the
 *     bucket name has a dot (the wildcard certificate would not match).
 *   - Region: state.region, else $AWS_REGION, else $AWS_DEFAULT_REGION, else
 *     us-east-1. Credentials only from $AWS_ACCESS_KEY_ID,
 *     $AWS_SECRET_ACCESS_KEY and $AWS_SESSION_TOKEN (Lambda sets them); no
 *     instance profile, web identity or SSO. All three are registered with
 *     the logger's secret list and never logged.
 *   - The lease lasts state.lease_ttl (default 15m, Lambda's longest
 *     invocation) from when it was last written. From s3state_begin to
 *     s3state_end a heartbeat thread with its own client renews it every
 *     ttl/3 (If-Match); a renewal refused (412/404: taken over, removed) or
 *     none by ttl/10 before its end calls stop_request/stop_set_deadline
 *     (util.h): stop_requested() turns true, the run starts no new write and
 *     exits 5; s3state_commit then uploads only under a lease it holds (after
 *     an expiry nobody used, it renews it first) and otherwise returns
 *     RC_REMOTE. s3state_end clears that stop. Expiry is judged by the
 *     reader's wall clock against the writer's: the runners' clocks must agree
 *     to well within the TTL. A lease body that cannot be read as ours counts
 *     as expired. (docs/deploy.md: why a thread.)
 *   - The snapshot is uploaded with its SHA-256 as x-amz-meta-sha256; a
 *     download whose body does not match it is refused (RC_STATE) before LMDB
 *     opens it; one without it (an older atsrecon) is only opened as LMDB.
 *   - A commit whose snapshot has not changed since the last download or
 *     upload (the same LMDB transaction id) uploads nothing, so calling it
 *     again is cheap and idempotent.
 *   - The compact copy is read with a second read-only environment opened
 *     with MDB_NOLOCK (no lock file, so the run's own environment and its
 *     locks are untouched); it must be called between the run's write
 *     transactions, as a single-threaded run does. (Those two LMDB calls are
 *     written to move into state.c, the one file meant to include lmdb.h.)
 *   - A Lambda environment keeps /tmp across a killed runtime: s3state_begin
 *     first removes the directories of runs that died without s3state_end
 *     (marked "PID INSTANCE"; the owner is gone, or is this pid with another
 *     instance), since they hold a copy of the state, tokens included.
 *   - A PUT whose answer was lost (connection reset) is resolved by reading
 *     the object's ETag: our MD5 means it landed, the old ETag means it did
 *     not (sent once more), anything else is another writer (RC_STATE).
 */
#ifndef ATSRECON_S3_H
#define ATSRECON_S3_H

#include <stdint.h>
#include <stdio.h>

#include "apierr.h"
#include "config.h"
#include "util.h"

/* ---- remote state: what run.c calls ---------------------------------------------------- */

struct s3state;

/*
 * Takes the lease on state.url, downloads the snapshot (if any) into a fresh
 * directory under $TMPDIR (else /tmp) and returns that directory in
 * *local_dir_out (caller frees) to be used as the state dir. Returns RC_OK,
 * RC_LOCKED (a live lease: another run), RC_CONFIG (state.url, credentials,
 * region), RC_AUTH (credentials refused), RC_REMOTE, RC_STATE. Logs why.
 */
enum rc s3state_begin(const struct config *, char **local_dir_out, struct s3state **out);
/* The same; why it failed also goes to e (NULL: only logged). */
enum rc s3state_begin_err(const struct config *, char **local_dir_out, struct s3state **out,
    struct api_err *e);
/* Why the last failing s3state_commit failed (status, message). */
void s3state_error(const struct s3state *, struct api_err *e);

/*
 * Uploads the snapshot if it changed since the last download or upload.
 * RC_STATE when another writer changed the remote state since it was read
 * (nothing is overwritten; this run's changes are not saved) or the local
 * copy fails; RC_REMOTE/RC_AUTH as above. Callable any number of times.
 */
enum rc s3state_commit(struct s3state *);

/* Releases the lease (DELETE If-Match), removes the local directory, frees.
 * Does not commit. NULL-safe. */
void s3state_end(struct s3state *);

/* Uploads done so far (tests, logs). */
long s3state_uploads(const struct s3state *);
/* Lease renewals by the heartbeat so far (tests, logs). */
long s3state_renewals(const struct s3state *);
/* 1 once the lease is lost: taken over, removed, or not renewed in time. */
int s3state_lease_lost(const struct s3state *);
/* `atsrecon check`: with state.url, state.lease_ttl must be longer than
 * run.max_runtime. RC_CONFIG with "ORIGIN: state.lease_ttl: ..." in err. */
enum rc s3_check_lease_ttl(const struct config *, struct buf *err);

/* ---- the client underneath (also used by the tests) ------------------------------------ */

#define S3_ETAG_MAX 128

/* "s3://bucket/prefix" → bucket and prefix (no leading or trailing "/"; may be
 * ""). Both caller-freed. RC_CONFIG with a message in err. */
enum rc s3_parse_url(const char *url, char **bucket, char **prefix, struct buf *err);
/* Appends key with every byte outside A-Z a-z 0-9 - . _ ~ / as %XX. */
void s3_key_path(struct buf *out, const char *key);
/* Appends the URL of bucket/key (endpoint NULL: AWS, see above). */
void s3_object_url(struct buf *out, const char *endpoint, const char *region, const char *bucket,
    const char *key);

struct s3;

/* A client for the bucket of state.url, configured from cfg (state.*, http.*)
 * and the AWS_* environment. RC_CONFIG with the reason logged. */
enum rc s3_open(const struct config *, struct s3 **out);
void s3_close(struct s3 *);
const char *s3_bucket(const struct s3 *);
const char *s3_prefix(const struct s3 *);

/* What S3 answered. */
struct s3_obj {
	long status;			/* HTTP status; 0: no answer */
	char code[64];			/* S3's error code, "" when none */
	char etag[S3_ETAG_MAX];		/* the answer's ETag as sent (quoted), "" when none */
	char md5[33];			/* s3_put: the body's MD5 in hex */
	char sha256[65];		/* x-amz-meta-sha256 as sent (lower-case hex);
					 * "?" when it is not 64 hex digits; "" none */
	int64_t size;			/* s3_get: bytes received */
};

/*
 * Every call returns RC_OK for a 2xx answer; RC_RECORD, unlogged, for the
 * answers callers branch on (404 NoSuchKey, 409 ConditionalRequestConflict,
 * 412 PreconditionFailed; see obj->status); otherwise a logged RC_AUTH
 * (credentials or signature refused), RC_CONFIG (no such bucket), RC_REMOTE
 * (transport, 5xx, 429 after the retries of http.max_retries) or RC_STATE.
 */
/* GET key into the file `to` (truncated first) or, when to is NULL, into mem
 * (at most 1 MiB). range: a Range header value or NULL. */
enum rc s3_get(struct s3 *, const char *key, FILE *to, struct buf *mem, const char *range,
    struct s3_obj *);

struct s3_put {
	const void *data;		/* a body in memory (data, len), or */
	size_t len;
	FILE *file;			/* a file streamed from its start, size bytes */
	int64_t size;
	const char *if_match;		/* an ETag: write only over that version */
	int if_none_match;		/* 1: create only (If-None-Match: *) */
	const char *content_type;	/* NULL: application/octet-stream */
	const char *sha256;		/* NULL, or the body's SHA-256 in hex: sent
					 * as x-amz-meta-sha256 (user metadata) */
};
/* PUT key (Content-MD5 always sent). A conditional write answered 409 is
 * retried a few times before RC_RECORD. */
enum rc s3_put(struct s3 *, const char *key, const struct s3_put *, struct s3_obj *);
/* DELETE key, If-Match if_match when not NULL. */
enum rc s3_delete(struct s3 *, const char *key, const char *if_match, struct s3_obj *);

/* MD5 of a whole file (from its start) as hex and as base64: 0 or -1. */
int s3_md5_file(FILE *, char hex[33], char b64[25], int64_t *size);
/* The same with its SHA-256 in hex too; any of the three may be NULL. */
int s3_hash_file(FILE *, char hex[33], char b64[25], char sha256[65], int64_t *size);

#endif
