"""S3 fake: GetObject, HeadObject, PutObject (with conditional writes), DeleteObject and
ListObjectsV2 behind AWS Signature Version 4, for atsrecon's remote state (s3.c, Lambda mode).

Run: python3 tests/fakes/s3.py --port-file /tmp/port [--access-key-id AKID --secret-access-key
SECRET [--session-token TOKEN]] [--region us-east-1] [--bucket NAME ...]; see --help and
common.py (TLS with the throwaway CA, --idle-timeout, --max-lifetime, --latency-ms, faults).

Addressing: PATH-STYLE only. https://localhost:PORT/BUCKET/KEY is the object KEY (which may
contain "/") in BUCKET; https://localhost:PORT/BUCKET?list-type=2&prefix=P lists; "/" lists the
buckets. Virtual-host style (BUCKET.s3.REGION.amazonaws.com) is not modelled: the Host header is
only signed, never parsed. Buckets exist from the start (--bucket, default "atsrecon-test") or
through the admin API; there is no CreateBucket.

Sources: the AWS SigV4 specification as AWS publishes it ("Create a canonical request" /
"Signature Version 4 signing process" in the IAM user guide; "Authenticating Requests: Using
the Authorization Header (AWS Signature Version 4)" in the S3 API reference, whose four worked
examples with key AKIAIOSFODNN7EXAMPLE (GET /test.txt f0e8bdb8..., PUT /test$file.text
98ad7217..., GET ?lifecycle fea454ca..., GET ?max-keys=2&prefix=J 34b48302...) test_s3_fake.py
replays against this file's signer and its own); the S3 user guide pages "How to prevent
object overwrites with conditional writes" (conditional-writes.html, read in its es/it/pt/zh
copies) and "Add preconditions to S3 operations with conditional requests"
(conditional-requests.md), and the S3 API reference text
for PutObject/GetObject/HeadObject/DeleteObject If-Match/If-None-Match (read through the AWS
SDK for Kotlin reference, which copies it: 412, 409 ConditionalRequestConflict, GET
precedence, DELETE If-Match on a missing key 204); curl 8.14.1 lib/http_aws_sigv4.c (the
libcurl the binary links, read in build/deps/*-src/curl) for what a CURLOPT_AWS_SIGV4 client
sends. Error codes and messages are S3's well-known ones (AWS "Error responses" list) as far as
recalled; the choices list below says where that is a guess.

Protocol note for the C client (s3.c)
-------------------------------------
libcurl 8.14.1 with CURLOPT_AWS_SIGV4 "aws:amz:REGION:s3" and CURLOPT_USERPWD "AKID:SECRET":
  * signs host (from the Host header it sends, "localhost:PORT" here), x-amz-date (it adds
    X-Amz-Date itself), x-amz-content-sha256, and EVERY header set with CURLOPT_HTTPHEADER
    (If-Match, If-None-Match, Content-Type, x-amz-security-token...). Headers curl adds by
    itself (Content-Type of a POST, Content-Length, Expect, User-Agent) are not signed, which
    is fine: S3 requires only host, x-amz-date, x-amz-content-sha256 and every x-amz-* header
    present to be signed.
  * x-amz-content-sha256 (service "s3", provider "aws" only): GET/HEAD and uploads of 0 bytes
    get the SHA-256 of the empty string; a POST with CURLOPT_POSTFIELDS (also with
    CURLOPT_CUSTOMREQUEST "PUT") gets the real hash of the fields; an upload through
    CURLOPT_UPLOAD/CURLOPT_READFUNCTION with CURLOPT_INFILESIZE_LARGE > 0 gets
    "UNSIGNED-PAYLOAD". If the caller sets "x-amz-content-sha256: <hex>" itself, curl puts that
    value in the canonical request: the way to sign a streamed 64 MB upload's body.
  * A session token (Lambda's AWS_SESSION_TOKEN) is NOT added by curl: set the header
    "x-amz-security-token: TOKEN" with CURLOPT_HTTPHEADER; curl then signs it.
  * Give the upload size (CURLOPT_INFILESIZE_LARGE): a chunked PUT is a 501 here, as on S3.
  * DELETE (CURLOPT_CUSTOMREQUEST "DELETE") and HEAD (CURLOPT_NOBODY) hash the empty payload.
  * curl signs the URL path EXACTLY as given (for s3 it does not re-encode), while S3 (and
    this fake) decode each segment and re-encode it once. So build object URLs with every
    key byte outside A-Z a-z 0-9 - . _ ~ (and "/" between segments) as %XX in UPPER case:
    "a b+c" must be "a%20b%2Bc"; a raw "+", lower-case hex, or an encoded unreserved
    character makes the signature fail. The query is decoded, re-encoded and sorted by curl
    8.14.1 itself, so "?prefix=p/&list-type=2" is fine.
Checked on this machine with a throwaway program linked against build/deps/glibc's libcurl
8.14.1 (mbedTLS 3.6.6): PUT by CURLOPT_UPLOAD (UNSIGNED-PAYLOAD) with If-None-Match, PUT by
POSTFIELDS + CUSTOMREQUEST with If-Match and Content-Type, PUT with its own (right and
wrong) x-amz-content-sha256, GET, HEAD, DELETE, ListObjectsV2 with an unsorted query, a
session key with and without x-amz-security-token, a wrong secret: all answered as above.
The installed curl CLI is 7.88.1, whose SigV4 code predates x-amz-content-sha256 and signs
the query string as given (unsorted, "/" unencoded): from the command line pass that header
yourself and write the query sorted and encoded (test_s3_fake.py does).

Authentication (every request; checks in this order, first failure answers; an error is the
S3 XML <Error><Code/><Message/>...<RequestId/><HostId/></Error>, Content-Type
application/xml; HEAD answers carry no body):
  query X-Amz-Algorithm/X-Amz-Signature (presigned URL)   403 AccessDenied   (not modelled)
  no Authorization header                                 403 AccessDenied
  "AWS AKID:..." (SigV2)                                  400 InvalidRequest (use AWS4-HMAC-SHA256)
  another scheme                                          400 InvalidArgument
  Credential/SignedHeaders/Signature missing or garbled   400 AuthorizationHeaderMalformed
  unknown access key id                                   403 InvalidAccessKeyId
  session key without x-amz-security-token                403 InvalidAccessKeyId (S3 knows a
                                                          temporary key only with its token)
  token for a key that has none, or the wrong token       400 InvalidToken
  the session's expires_ms has passed                     400 ExpiredToken
  x-amz-date missing or not YYYYMMDDTHHMMSSZ              403 AccessDenied
  x-amz-date more than max_skew_s (900) from the clock     403 RequestTimeTooSkewed
  credential date != the date of x-amz-date               400 AuthorizationHeaderMalformed
  credential region != the fake's region                  400 AuthorizationHeaderMalformed with
                                                          <Region>expected</Region>
  credential service != s3, terminator != aws4_request    400 AuthorizationHeaderMalformed
  x-amz-content-sha256 missing                            400 InvalidRequest
  x-amz-content-sha256 not UNSIGNED-PAYLOAD or 64 lowercase hex (STREAMING-* included: the
  aws-chunked encoding is not modelled)                   400 InvalidArgument
  an x-amz-* header present but not signed                403 AccessDenied <HeadersNotSigned>
  SignedHeaders not lowercase/sorted/unique, host not signed, a signed header absent, or the
  signature differs                                       403 SignatureDoesNotMatch with
                  <AWSAccessKeyId>, <StringToSign>, <SignatureProvided>, <CanonicalRequest>
                  (and their *Bytes forms), as S3 sends them: print them when debugging s3.c
  a hex x-amz-content-sha256 that is not the body's hash  400 XAmzContentSHA256Mismatch
The canonical request is built independently of any client: method; canonical URI = the raw
request path split on "/", each segment percent-decoded and re-encoded once (RFC 3986
unreserved characters kept, everything else %XX upper case; S3 does NOT double-encode and does
not normalise "." or "//"); canonical query = every parameter decoded ("+" is a space) and
re-encoded the same way, sorted by name then value, "name=" for a valueless one; canonical
headers = each signed header's values (all occurrences joined by ","), trimmed, inner runs of
blanks as one space; signed headers; the payload hash exactly as sent in x-amz-content-sha256.
String to sign: AWS4-HMAC-SHA256, x-amz-date, DATE/REGION/s3/aws4_request, hex SHA-256 of the
canonical request. Key: HMAC chain "AWS4"+secret -> date -> region -> "s3" -> "aws4_request".
UNSIGNED-PAYLOAD is accepted (S3 accepts it); then the body is not checked.

Objects:
  PUT    /B/K   body up to max_object_bytes (default 1 GiB; --max-object-bytes): 200, empty
                body, ETag "<md5 hex>" (quoted). Content-Type stored (default
                binary/octet-stream). Content-MD5 checked (400 InvalidDigest / BadDigest).
                No Content-Length: 411 MissingContentLength; Transfer-Encoding chunked: 501
                NotImplemented; larger than the maximum: 400 EntityTooLarge, answered without
                reading the body (no "100 Continue"), connection closed.
  GET    /B/K   200 body, ETag, Last-Modified (RFC 1123, whole seconds), Content-Type,
                Content-Length, Accept-Ranges; one "Range: bytes=a-b|a-|-n" -> 206 with
                Content-Range, unsatisfiable -> 416 InvalidRange.
  HEAD   /B/K   the same headers, no body; 404 without a body when missing.
  DELETE /B/K   204, also when the key does not exist (S3 does the same).
  User-defined metadata (S3 user guide, "Working with object metadata"): every request
  header "x-amz-meta-NAME: value" of a PUT is stored with the object (names lower-cased)
  and sent back unchanged with GET and HEAD (also with a 206); more than 2 KB of it (the
  UTF-8 bytes of each NAME and value, summed) is 400 MetadataTooLarge. A PUT replaces the
  object's metadata with its own (none: none). Like every x-amz-* header it must be signed.
  Missing key 404 NoSuchKey; missing bucket 404 NoSuchBucket. Query parameters on object
  operations other than x-id are 501 NotImplemented (no versions, ACLs, multipart, tagging).
  GET /B?list-type=2 with prefix, delimiter (CommonPrefixes), max-keys (0..1000, default
  1000), start-after, continuation-token (opaque; from NextContinuationToken),
  encoding-type=url: ListBucketResult XML, keys in UTF-8 byte order. GET /B without
  list-type=2 (ListObjects v1) and other bucket sub-resources: 501 NotImplemented.
  GET / : ListAllMyBucketsResult. Other methods: 405 MethodNotAllowed.

Conditional requests (S3 user guide, conditional writes; API reference):
  PUT If-None-Match: *      object exists -> 412 PreconditionFailed (<Condition>If-None-Match)
  PUT If-Match: "etag"      ETag differs -> 412 PreconditionFailed (<Condition>If-Match);
                            no such key -> 404 NoSuchKey (what Elastic's S3 test fixture,
                            modelled on AWS, answers: elastic/elasticsearch PR 138542; the
                            English user-guide text was not available here, so this is the
                            best evidence, not a quote). "*" matches any existing object.
  409 ConditionalRequestConflict when another conditional write (PUT If-Match/If-None-Match or
  DELETE If-Match) to the same key is in progress ("If a conflicting operation occurs during
  the upload S3 returns a 409 ConditionalRequestConflict"). Deterministic triggers: POST
  /_admin/conflict {bucket, key, times} makes the next N conditional writes to that key 409;
  or set write_delay_ms: a conditional PUT then holds the key "in progress" that long after
  its body arrived, and a second conditional write to it meanwhile gets 409. The precondition
  is evaluated when the write commits (after the delay), so of two racing If-None-Match: *
  PUTs exactly one wins.
  DELETE If-Match: "etag"   differs -> 412; missing key -> 204 (API reference text).
  GET/HEAD If-Match (differs -> 412), If-None-Match (matches -> 304 with ETag and
  Last-Modified, no body), If-Modified-Since (not modified -> 304), If-Unmodified-Since
  (modified -> 412), with S3's documented precedence: If-Match true wins over a false
  If-Unmodified-Since; If-None-Match false wins over If-Modified-Since. An ETag header value
  may be quoted or not, a comma list, or W/"..."; unparsable dates are ignored (RFC 9110).
Choices where AWS is silent or its answer was not found (guesses, not S3 facts):
  * PUT If-None-Match with anything but "*", PUT with both If-Match and If-None-Match, and PUT
    If-Modified-Since/If-Unmodified-Since: 501 NotImplemented <Header>...</Header>.
  * The order of the authentication checks above and the exact error messages (the codes
    are S3's); SignedHeaders problems and absent signed headers as SignatureDoesNotMatch.
  * A missing session token as InvalidAccessKeyId (403), a wrong one as InvalidToken (400).
  * GET If-Match on a missing key: 404 NoSuchKey (existence is checked first).

Admin (JSON; besides common.py's /_admin/state|faults|requests|reset-log|shutdown and
StatefulFake's /_admin/stats|settings|limits|clock):
  GET  /_admin/state                 {buckets: {B: {K: {etag, size, md5, sha256,
                                     content_type, last_modified_ms}}}, credentials: [...],
                                     settings, inflight: [[B, K], ...]}   (no bodies)
  POST /_admin/state                 {buckets: {B: {K: {text | body_b64, content_type?}}}}
                                     replaces every bucket and object
  GET  /_admin/object?bucket=B&key=K {etag, size, md5, sha256, content_type,
                                     last_modified_ms, body_b64}; 404 if missing
  POST /_admin/object                {bucket, key, text | body_b64, content_type?,
                                     metadata?: {NAME: value}} -> {etag, ...}
                                     (metadata: the x-amz-meta-NAME headers the object
                                     carries, e.g. to damage a body and keep its checksum)
  POST /_admin/delete-object         {bucket, key} -> {deleted: bool}
  POST /_admin/buckets               {name} creates a bucket -> {buckets: [...]}
  GET  /_admin/credentials           [{access_key_id, session, expires_ms}] (no secrets)
  POST /_admin/credentials           {access_key_id, secret_access_key, session_token?,
                                     expires_ms?, replace?: bool (default false: add)}
  POST /_admin/settings              {region, max_object_bytes, write_delay_ms, max_skew_s}
  POST /_admin/latency               {ms}: added to every API request (common latency)
  POST /_admin/conflict              {bucket, key, times (default 1)}: forced 409s
  POST /_admin/s3-error              {status (default 503), code (default SlowDown),
                                     message?, match?: {method, path}, times?, every?,
                                     after?, retry_after?}: appends a common "status" fault
                                     rule whose body is S3's XML error (e.g. 503 SlowDown
                                     "Please reduce your request rate.", 500 InternalError)
  GET  /_admin/s3log?since=N         {next, entries: [{seq, ts_ms, method, op, bucket, key,
                                     if_match, if_none_match, status, code, etag, size,
                                     conditional, overwrote, access_key_id}]}: every API
                                     request after routing (auth failures too: op "auth").
                                     overwrote = a PUT replaced an existing object;
                                     "no unconditional overwrite ever happened" is: no entry
                                     with op PutObject, status 200, overwrote and not
                                     conditional (GET /_admin/stats counts them too).
  POST /_admin/s3log/reset
  GET  /_admin/stats                 {requests, by_op, by_code, auth_failures,
                                     conditional_writes, unconditional_overwrites,
                                     precondition_failed, conflicts, bytes_in, bytes_out}
Fault injection (common.py) applies to API requests before they reach S3 logic, so a "reset"
or "status" fault never stores anything (unless "process": true).
Default credentials (AWS's documented example pair, not a secret): AKIAIOSFODNN7EXAMPLE /
wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, region us-east-1.
"""

import base64
import binascii
import datetime
import email.utils
import hashlib
import hmac
import re
import secrets
import time
import urllib.parse
from xml.sax.saxutils import escape as _xml_escape

import common
from common import HttpError, StatefulFake, admin_route, route

DEFAULT_ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
DEFAULT_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DEFAULT_REGION = "us-east-1"
DEFAULT_BUCKET = "atsrecon-test"
ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
DEFAULT_CONTENT_TYPE = "binary/octet-stream"
MAX_KEYS = 1000
MAX_KEY_BYTES = 1024

DEFAULT_SETTINGS = {
    "region": DEFAULT_REGION,
    "max_object_bytes": 1024 * 1024 * 1024,
    "write_delay_ms": 0,
    "max_skew_s": 900,
}

_HEX64 = re.compile(r"[0-9a-f]{64}")
_AMZ_DATE = re.compile(r"(\d{8})T\d{6}Z")


# ---------------------------------------------------------------------------------------------
# SigV4, written from the AWS specification (no client library)

def uri_encode(data):
    """RFC 3986 percent-encoding of bytes or str: unreserved characters (A-Z a-z 0-9 - . _ ~)
    kept, every other byte as %XX in upper case. "/" is encoded too."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return urllib.parse.quote_from_bytes(data, safe="")


def canonical_uri(raw_path):
    """The S3 canonical URI of a raw (percent-encoded) request path: each "/"-separated
    segment decoded and encoded once. No "."/"//" normalisation (S3 keys may hold them)."""
    if not raw_path:
        return "/"
    return "/".join(uri_encode(urllib.parse.unquote_to_bytes(seg))
                    for seg in raw_path.split("/"))


def canonical_query(pairs):
    """Decoded (name, value) pairs -> the canonical query string (sorted, encoded)."""
    enc = sorted((uri_encode(k), uri_encode(v)) for k, v in pairs)
    return "&".join("%s=%s" % kv for kv in enc)


def trim_value(v):
    """SigV4 Trimall: leading and trailing blanks off, inner runs of blanks as one space."""
    return re.sub(r"[ \t]+", " ", v.strip(" \t"))


def signing_key(secret, date, region, service="s3"):
    k = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def sign(secret, method, raw_path, query_pairs, header_values, signed, payload_hash,
         amz_date, region, service="s3"):
    """The SigV4 signature of a request -> (signature hex, canonical request, string to sign).

    header_values: {lower-case name: [value, ...]} for at least every name in `signed` (the
    SignedHeaders list, already lower case and sorted)."""
    creq = "\n".join([
        method,
        canonical_uri(raw_path),
        canonical_query(query_pairs),
        "".join("%s:%s\n" % (h, ",".join(trim_value(v) for v in header_values[h]))
                for h in signed),
        ";".join(signed),
        payload_hash,
    ])
    scope = "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)
    sts = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    sig = hmac.new(signing_key(secret, amz_date[:8], region, service), sts.encode(),
                   hashlib.sha256).hexdigest()
    return sig, creq, sts


# ---------------------------------------------------------------------------------------------
# Errors and helpers

class S3Error(Exception):
    """An S3 error answer: status, Code, Message and extra XML elements (name, value)."""

    def __init__(self, status, code, message, *extra, headers=None):
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.extra = list(extra)
        self.headers = headers or {}


def xml_escape(s):
    return _xml_escape(str(s), {'"': "&quot;"})


def error_xml(code, message, extra, request_id, host_id):
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>', xml_escape(code),
             "</Code><Message>", xml_escape(message), "</Message>"]
    for name, value in extra:
        parts.append("<%s>%s</%s>" % (name, xml_escape(value), name))
    parts.append("<RequestId>%s</RequestId><HostId>%s</HostId></Error>"
                 % (request_id, host_id))
    return "".join(parts).encode()


def http_date(ms):
    return email.utils.formatdate(ms // 1000, usegmt=True)


def iso_list_date(ms):
    """ListObjectsV2's LastModified: 2009-10-12T17:50:30.000Z (whole seconds, like S3)."""
    d = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def parse_http_date(v):
    """-> epoch seconds, or None if v is not an HTTP date (then the condition is ignored)."""
    try:
        d = email.utils.parsedate_to_datetime(v)
    except (TypeError, ValueError, IndexError):
        return None
    if d is None:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp())


def etag_matches(header, md5hex):
    """True if an If-Match/If-None-Match value names md5hex ("*" matches any object)."""
    for part in header.split(","):
        p = part.strip()
        if p == "*":
            return True
        if p.startswith("W/"):
            p = p[2:]
        if p.strip('"') == md5hex:
            return True
    return False


class TooLarge(bytes):
    """The body stand-in for a request over max_object_bytes (never read)."""
    declared = 0


def _declared_length(headers):
    try:
        return int(headers.get("Content-Length", ""))
    except ValueError:
        return None


class _S3Handler(common._Handler):
    """common.py's handler plus HEAD, S3's Server header, and a bounded PUT body."""
    server_version = "AmazonS3"

    def do_HEAD(self):
        self._serve()

    def _too_large(self):
        n = _declared_length(self.headers)
        return self.command in ("PUT", "POST") and n is not None and \
            n > self.server.max_object_bytes() and not self.path.startswith("/_admin/")

    def handle_expect_100(self):
        if self._too_large():
            return True  # no "100 Continue": the final 400 goes out before any body
        return super().handle_expect_100()

    def _read_body(self):
        if self._too_large():
            self.close_connection = True  # the unread body would be taken for a request
            body = TooLarge(b"")
            body.declared = _declared_length(self.headers)
            return body
        return super()._read_body()

    def _send(self, status, headers, body, truncate=False, keep=None, **kw):
        if self.command != "HEAD":
            return super()._send(status, headers, body, truncate=truncate, keep=keep, **kw)
        length = headers.pop("X-Fake-Content-Length", None)
        headers = {k: v for k, v in headers.items()
                   if k.lower() not in ("content-length", "connection")}
        if length is None:
            length = len(common.encode_body(body, headers)) if body is not None else 0
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, str(v))
        if status not in common.NO_BODY_STATUSES:
            self.send_header("Content-Length", str(length))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        return 0


# ---------------------------------------------------------------------------------------------
# The fake

class S3Fake(StatefulFake):
    """S3 fake (path-style, SigV4, conditional writes) for atsrecon's remote state."""

    default_settings = DEFAULT_SETTINGS
    clock_now_ms = True

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.RequestHandlerClass = _S3Handler
        self.use_gzip = False  # S3 sends objects as stored
        self.host_id = base64.b64encode(secrets.token_bytes(48)).decode()
        self.cli = None
        self.reset_world()

    def reset_world(self):
        super().reset_world()
        self.creds = {DEFAULT_ACCESS_KEY: {"secret": DEFAULT_SECRET, "token": None,
                                           "expires_ms": None}}
        self.buckets = {DEFAULT_BUCKET: {}}
        self.bucket_created = {DEFAULT_BUCKET: self.now_ms()}
        self.inflight = {}   # (bucket, key) -> number of conditional writes in progress
        self.conflicts = {}  # (bucket, key) -> forced 409s left
        self.s3log = []
        self.s3seq = 0
        self.apply_cli()

    @staticmethod
    def new_stats():
        return {"requests": 0, "by_op": {}, "by_code": {}, "auth_failures": 0,
                "conditional_writes": 0, "unconditional_overwrites": 0,
                "precondition_failed": 0, "conflicts": 0, "bytes_in": 0, "bytes_out": 0}

    def max_object_bytes(self):
        return self.settings["max_object_bytes"]

    # --- CLI ---------------------------------------------------------------------------------

    @classmethod
    def add_arguments(cls, p):
        g = p.add_argument_group("s3")
        g.add_argument("--access-key-id", default=DEFAULT_ACCESS_KEY)
        g.add_argument("--secret-access-key", default=DEFAULT_SECRET)
        g.add_argument("--session-token", default=None,
                       help="the access key is a session key needing this token")
        g.add_argument("--region", default=DEFAULT_REGION, help="(%(default)s)")
        g.add_argument("--bucket", action="append", default=[], metavar="NAME",
                       help="a bucket that exists (repeatable; default %s)" % DEFAULT_BUCKET)
        g.add_argument("--max-object-bytes", type=int,
                       default=DEFAULT_SETTINGS["max_object_bytes"], help="(%(default)s)")
        g.add_argument("--write-delay-ms", type=int, default=0,
                       help="a conditional PUT stays in progress this long (409 window)")
        g.add_argument("--max-skew-s", type=int, default=DEFAULT_SETTINGS["max_skew_s"],
                       help="allowed x-amz-date skew (%(default)s)")

    def configure(self, a):
        with self.lock:
            self.cli = {
                "creds": {a.access_key_id: {"secret": a.secret_access_key,
                                            "token": a.session_token, "expires_ms": None}},
                "buckets": list(a.bucket) or [DEFAULT_BUCKET],
                "settings": {"region": a.region, "max_object_bytes": a.max_object_bytes,
                             "write_delay_ms": a.write_delay_ms, "max_skew_s": a.max_skew_s},
            }
            self.apply_cli()

    def apply_cli(self):
        if not self.cli:
            return
        self.check_settings(self.cli["settings"])
        self.settings.update(self.cli["settings"])
        self.creds = {k: dict(v) for k, v in self.cli["creds"].items()}
        now = self.now_ms()
        self.buckets = {b: {} for b in self.cli["buckets"]}
        self.bucket_created = {b: now for b in self.cli["buckets"]}

    @staticmethod
    def check_settings(s):
        for k, v in s.items():
            if k == "region":
                if not isinstance(v, str) or not re.fullmatch(r"[a-z0-9-]{1,64}", v):
                    raise ValueError("region must be like us-east-1")
            elif not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError("%s must be an integer >= 0" % k)

    # --- routes ------------------------------------------------------------------------------

    @route("GET", r"^/", lock=False)
    @route("HEAD", r"^/", lock=False)
    @route("PUT", r"^/", lock=False)
    @route("DELETE", r"^/", lock=False)
    @route("POST", r"^/", lock=False)
    @route("PATCH", r"^/", lock=False)
    def s3(self, req):
        rid = secrets.token_hex(8).upper()
        entry = {"method": req.method, "op": "auth", "bucket": None, "key": None,
                 "if_match": req.headers.get("If-Match"),
                 "if_none_match": req.headers.get("If-None-Match"),
                 "status": None, "code": None, "etag": None, "size": None,
                 "conditional": False, "overwrote": False, "access_key_id": None}
        try:
            with self.lock:
                entry["access_key_id"] = self.authenticate(req)
            status, headers, body = self.operate(req, entry)
        except S3Error as e:
            if entry["op"] == "auth":
                with self.lock:
                    self.stats["auth_failures"] += 1
            status, headers = e.status, dict(e.headers)
            headers["Content-Type"] = "application/xml"
            body = error_xml(e.code, e.message, e.extra, rid, self.host_id)
            entry["code"] = e.code
        headers["x-amz-request-id"] = rid
        headers["x-amz-id-2"] = self.host_id
        entry["status"] = status
        with self.lock:
            self.record(entry, req, body)
        return status, headers, body

    def record(self, entry, req, body):
        st = self.stats
        st["requests"] += 1
        st["by_op"][entry["op"]] = st["by_op"].get(entry["op"], 0) + 1
        code = entry["code"] or str(entry["status"])
        st["by_code"][code] = st["by_code"].get(code, 0) + 1
        if not isinstance(req.body, TooLarge):
            st["bytes_in"] += len(req.body)
        if req.method != "HEAD" and isinstance(body, (bytes, bytearray)):
            st["bytes_out"] += len(body)
        if entry["op"] == "PutObject" and entry["status"] == 200:
            if entry["conditional"]:
                st["conditional_writes"] += 1
            elif entry["overwrote"]:
                st["unconditional_overwrites"] += 1
        if entry["code"] == "PreconditionFailed":
            st["precondition_failed"] += 1
        if entry["code"] == "ConditionalRequestConflict":
            st["conflicts"] += 1
        entry["seq"] = self.s3seq
        entry["ts_ms"] = self.now_ms()
        self.s3seq += 1
        self.s3log.append(entry)

    # --- authentication ----------------------------------------------------------------------

    def authenticate(self, req):
        """Verifies the request's SigV4 signature; -> the access key id, or raises S3Error."""
        if "X-Amz-Signature" in req.query or "X-Amz-Algorithm" in req.query:
            raise S3Error(403, "AccessDenied",
                          "Query-string (presigned) authentication is not supported by "
                          "this fake; use the Authorization header")
        auth = req.headers.get("Authorization")
        if auth is None:
            raise S3Error(403, "AccessDenied", "Access Denied")
        if auth.startswith("AWS "):
            raise S3Error(400, "InvalidRequest", "The authorization mechanism you have "
                          "provided is not supported. Please use AWS4-HMAC-SHA256.")
        if not auth.startswith(ALGORITHM + " "):
            raise S3Error(400, "InvalidArgument", "Unsupported Authorization Type",
                          ("ArgumentName", "Authorization"), ("ArgumentValue", auth[:40]))
        fields = {}
        for part in auth[len(ALGORITHM) + 1:].split(","):
            k, eq, v = part.strip().partition("=")
            if not eq or k in fields:
                fields = None
                break
            fields[k] = v
        if fields is None or set(fields) != {"Credential", "SignedHeaders", "Signature"}:
            raise S3Error(400, "AuthorizationHeaderMalformed", "The authorization header is "
                          "malformed; it must hold exactly Credential=, SignedHeaders= and "
                          "Signature=, comma-separated.")
        cred = fields["Credential"].split("/")
        if len(cred) != 5 or not all(cred):
            raise S3Error(400, "AuthorizationHeaderMalformed", "The authorization header is "
                          "malformed; the Credential is mal-formed; expecting "
                          '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".')
        akid, cdate, cregion, cservice, term = cred
        c = self.creds.get(akid)
        token = req.headers.get("x-amz-security-token")
        if c is None or (c["token"] is not None and token is None):
            raise S3Error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided "
                          "does not exist in our records.", ("AWSAccessKeyId", akid))
        if token is not None and (c["token"] is None or not hmac.compare_digest(
                token.encode(), c["token"].encode())):
            raise S3Error(400, "InvalidToken", "The provided token is malformed or otherwise "
                          "invalid.")
        now = self.now_ms()
        if c["expires_ms"] is not None and now >= c["expires_ms"]:
            raise S3Error(400, "ExpiredToken", "The provided token has expired.")
        amz_date = req.headers.get("x-amz-date")
        m = _AMZ_DATE.fullmatch(amz_date or "")
        t = None
        if m:
            try:
                t = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
                    tzinfo=datetime.timezone.utc)
            except ValueError:
                t = None
        if t is None:
            raise S3Error(403, "AccessDenied", "AWS authentication requires a valid Date or "
                          "x-amz-date header")
        skew = self.settings["max_skew_s"]
        if abs(t.timestamp() * 1000 - now) > skew * 1000:
            raise S3Error(403, "RequestTimeTooSkewed", "The difference between the request "
                          "time and the current time is too large.",
                          ("RequestTime", amz_date),
                          ("ServerTime", common.iso_ms(now)[:19] + "Z"),
                          ("MaxAllowedSkewMilliseconds", skew * 1000))
        if cdate != amz_date[:8]:
            raise S3Error(400, "AuthorizationHeaderMalformed", "Invalid credential date. Date "
                          "is not the same as X-Amz-Date.")
        region = self.settings["region"]
        if cregion != region:
            raise S3Error(400, "AuthorizationHeaderMalformed", "The authorization header is "
                          "malformed; the region '%s' is wrong; expecting '%s'"
                          % (cregion, region), ("Region", region))
        if cservice != "s3":
            raise S3Error(400, "AuthorizationHeaderMalformed", "The authorization header is "
                          "malformed; incorrect service '%s'. This endpoint belongs to 's3'."
                          % cservice)
        if term != "aws4_request":
            raise S3Error(400, "AuthorizationHeaderMalformed", "The authorization header is "
                          "malformed; incorrect terminal '%s'. This endpoint uses "
                          "'aws4_request'." % term)
        payload = req.headers.get("x-amz-content-sha256")
        if payload is None:
            raise S3Error(400, "InvalidRequest", "Missing required header for this request: "
                          "x-amz-content-sha256")
        if payload != UNSIGNED and not _HEX64.fullmatch(payload):
            raise S3Error(400, "InvalidArgument", "x-amz-content-sha256 must be "
                          "UNSIGNED-PAYLOAD, or a valid sha256 value (STREAMING-* payloads "
                          "are not supported by this fake).",
                          ("ArgumentName", "x-amz-content-sha256"),
                          ("ArgumentValue", payload))
        signed = fields["SignedHeaders"].split(";")
        present = {n.lower() for n in req.headers.keys()}
        unsigned_amz = sorted(n for n in present if n.startswith("x-amz-") and n not in signed)
        if unsigned_amz:
            raise S3Error(403, "AccessDenied", "There were headers present in the request "
                          "which were not signed",
                          ("HeadersNotSigned", ", ".join(unsigned_amz)))

        def mismatch(why, creq="", sts=""):
            hexes = lambda s: " ".join("%02x" % b for b in s.encode())  # noqa: E731
            extra = [("AWSAccessKeyId", akid), ("StringToSign", sts),
                     ("SignatureProvided", fields["Signature"]),
                     ("StringToSignBytes", hexes(sts)), ("CanonicalRequest", creq),
                     ("CanonicalRequestBytes", hexes(creq))]
            if why:
                extra.insert(0, ("Reason", why))
            return S3Error(403, "SignatureDoesNotMatch", "The request signature we calculated "
                           "does not match the signature you provided. Check your key and "
                           "signing method.", *extra)

        if signed != sorted(set(signed)) or any(h != h.lower() or not h for h in signed):
            raise mismatch("SignedHeaders must be lower case, sorted and unique")
        if "host" not in signed:
            raise mismatch("host must be a signed header")
        missing = [h for h in signed if h not in present]
        if missing:
            raise mismatch("signed header(s) not in the request: " + ", ".join(missing))
        values = {h: req.headers.get_all(h) for h in signed}
        pairs = [(k, v) for k, vs in req.query.items() for v in vs]
        sig, creq, sts = sign(c["secret"], req.method, req.raw_path, pairs, values, signed,
                              payload, amz_date, cregion)
        if not hmac.compare_digest(sig.encode(), fields["Signature"].encode()):
            raise mismatch(None, creq, sts)
        if payload != UNSIGNED and not isinstance(req.body, TooLarge):
            actual = hashlib.sha256(req.body).hexdigest()
            if actual != payload:
                raise S3Error(400, "XAmzContentSHA256Mismatch", "The provided "
                              "'x-amz-content-sha256' header does not match what was "
                              "computed.", ("ClientComputedContentSHA256", payload),
                              ("S3ComputedContentSHA256", actual))
        return akid

    # --- operations --------------------------------------------------------------------------

    def operate(self, req, entry):
        segs = req.raw_path.split("/", 2)  # "", bucket, raw key
        bucket = urllib.parse.unquote(segs[1]) if len(segs) > 1 else ""
        key = urllib.parse.unquote(segs[2]) if len(segs) > 2 else ""
        entry["bucket"] = bucket or None
        entry["key"] = key or None
        if not bucket:
            entry["op"] = "ListBuckets"
            if req.method != "GET":
                raise S3Error(405, "MethodNotAllowed", "The specified method is not allowed "
                              "against this resource.", ("Method", req.method),
                              ("ResourceType", "SERVICE"))
            return self.list_buckets()
        if not key:
            entry["op"] = "ListObjectsV2" if req.method == "GET" else "Bucket" + req.method
            with self.lock:
                self.need_bucket(bucket)
            if req.method != "GET":
                raise S3Error(501, "NotImplemented", "A header you provided implies "
                              "functionality that is not implemented",
                              ("Method", req.method))
            if req.arg("list-type") != "2":
                raise S3Error(501, "NotImplemented", "Only ListObjectsV2 (list-type=2) is "
                              "implemented by this fake")
            with self.lock:
                return self.list_objects(req, bucket)
        if len(key.encode()) > MAX_KEY_BYTES:
            raise S3Error(400, "KeyTooLongError", "Your key is too long")
        extra = set(req.query) - {"x-id"}
        op = {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject",
              "DELETE": "DeleteObject"}.get(req.method, "Object" + req.method)
        entry["op"] = op
        if extra:
            raise S3Error(501, "NotImplemented", "Sub-resources and query parameters on "
                          "objects are not implemented by this fake: "
                          + ", ".join(sorted(extra)))
        if op in ("GetObject", "HeadObject"):
            with self.lock:
                return self.get_object(req, bucket, key, entry)
        if op == "PutObject":
            return self.put_object(req, bucket, key, entry)
        if op == "DeleteObject":
            return self.delete_object(req, bucket, key, entry)
        raise S3Error(405, "MethodNotAllowed", "The specified method is not allowed against "
                      "this resource.", ("Method", req.method), ("ResourceType", "OBJECT"))

    def need_bucket(self, bucket):
        if bucket not in self.buckets:
            raise S3Error(404, "NoSuchBucket", "The specified bucket does not exist",
                          ("BucketName", bucket))
        return self.buckets[bucket]

    def object_headers(self, obj):
        h = {"ETag": obj["etag"], "Last-Modified": http_date(obj["last_modified_ms"]),
             "Content-Type": obj["content_type"], "Accept-Ranges": "bytes"}
        for name, value in sorted(obj.get("meta", {}).items()):
            h["x-amz-meta-" + name] = value
        return h

    def get_object(self, req, bucket, key, entry):
        objs = self.need_bucket(bucket)
        obj = objs.get(key)
        if obj is None:
            raise S3Error(404, "NoSuchKey", "The specified key does not exist.", ("Key", key))
        md5hex = obj["etag"].strip('"')
        lm_s = obj["last_modified_ms"] // 1000
        h = req.headers
        im, inm = h.get("If-Match"), h.get("If-None-Match")
        ims, ius = h.get("If-Modified-Since"), h.get("If-Unmodified-Since")
        if im is not None:
            if not etag_matches(im, md5hex):
                raise S3Error(412, "PreconditionFailed", "At least one of the pre-conditions "
                              "you specified did not hold", ("Condition", "If-Match"))
        elif ius is not None:
            t = parse_http_date(ius)
            if t is not None and lm_s > t:
                raise S3Error(412, "PreconditionFailed", "At least one of the pre-conditions "
                              "you specified did not hold", ("Condition", "If-Unmodified-Since"))
        not_modified = False
        if inm is not None:
            not_modified = etag_matches(inm, md5hex)
        elif ims is not None:
            t = parse_http_date(ims)
            not_modified = t is not None and lm_s <= t
        headers = self.object_headers(obj)
        entry["etag"], entry["size"] = obj["etag"], len(obj["body"])
        if not_modified:
            return 304, {"ETag": headers["ETag"],
                         "Last-Modified": headers["Last-Modified"]}, None
        body = obj["body"]
        status = 200
        rng = h.get("Range")
        if rng is not None:
            span = parse_range(rng, len(body))
            if span == "bad":
                raise S3Error(416, "InvalidRange", "The requested range is not satisfiable",
                              ("RangeRequested", rng), ("ActualObjectSize", len(body)),
                              headers={"Content-Range": "bytes */%d" % len(body)})
            if span is not None:
                a, b = span
                headers["Content-Range"] = "bytes %d-%d/%d" % (a, b, len(body))
                body = body[a:b + 1]
                status = 206
        if req.method == "HEAD":
            headers["X-Fake-Content-Length"] = str(len(body))
            return status, headers, None
        return status, headers, body

    def put_object(self, req, bucket, key, entry):
        h = req.headers
        if isinstance(req.body, TooLarge):
            raise S3Error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum "
                          "allowed size", ("ProposedSize", req.body.declared),
                          ("MaxSizeAllowed", self.settings["max_object_bytes"]))
        if "chunked" in h.get("Transfer-Encoding", "").lower():
            raise S3Error(501, "NotImplemented", "A header you provided implies "
                          "functionality that is not implemented",
                          ("Header", "Transfer-Encoding"))
        if h.get("Content-Length") is None:
            raise S3Error(411, "MissingContentLength", "You must provide the Content-Length "
                          "HTTP header.")
        body = bytes(req.body)
        md5 = hashlib.md5(body)
        cmd5 = h.get("Content-MD5")
        if cmd5 is not None:
            try:
                want = base64.b64decode(cmd5.strip(), validate=True)
            except (binascii.Error, ValueError):
                want = b""
            if len(want) != 16:
                raise S3Error(400, "InvalidDigest", "The Content-MD5 you specified was "
                              "invalid.", ("Content-MD5", cmd5))
            if want != md5.digest():
                raise S3Error(400, "BadDigest", "The Content-MD5 you specified did not match "
                              "what we received.", ("ExpectedDigest", cmd5),
                              ("CalculatedDigest", base64.b64encode(md5.digest()).decode()))
        meta = user_metadata(h)
        im, inm = h.get("If-Match"), h.get("If-None-Match")
        for name in ("If-Modified-Since", "If-Unmodified-Since"):
            if h.get(name) is not None:
                raise S3Error(501, "NotImplemented", "A header you provided implies "
                              "functionality that is not implemented", ("Header", name))
        if im is not None and inm is not None:
            raise S3Error(501, "NotImplemented", "A header you provided implies "
                          "functionality that is not implemented", ("Header", "If-None-Match"))
        if inm is not None and inm.strip() != "*":
            raise S3Error(501, "NotImplemented", "A header you provided implies "
                          "functionality that is not implemented", ("Header", "If-None-Match"))
        conditional = im is not None or inm is not None
        entry["conditional"] = conditional
        slot = (bucket, key)
        with self.lock:
            self.need_bucket(bucket)
            if conditional:
                self.claim(slot)
            delay = self.settings["write_delay_ms"]
        try:
            if conditional and delay:
                time.sleep(delay / 1000)
            with self.lock:
                objs = self.need_bucket(bucket)
                old = objs.get(key)
                if inm is not None and old is not None:
                    raise S3Error(412, "PreconditionFailed", "At least one of the "
                                  "pre-conditions you specified did not hold",
                                  ("Condition", "If-None-Match"))
                if im is not None:
                    if old is None:
                        raise S3Error(404, "NoSuchKey", "The specified key does not exist.",
                                      ("Key", key))
                    if not etag_matches(im, old["etag"].strip('"')):
                        raise S3Error(412, "PreconditionFailed", "At least one of the "
                                      "pre-conditions you specified did not hold",
                                      ("Condition", "If-Match"))
                obj = self.store(bucket, key, body, h.get("Content-Type"), md5, meta)
                entry["overwrote"] = old is not None
                entry["etag"], entry["size"] = obj["etag"], len(body)
        finally:
            if conditional:
                with self.lock:
                    self.release(slot)
        return 200, {"ETag": obj["etag"]}, None

    def claim(self, slot):
        """Marks a conditional write to slot as in progress, or raises the 409."""
        forced = self.conflicts.get(slot, 0)
        if forced > 0 or self.inflight.get(slot, 0) > 0:
            if forced > 0:
                self.conflicts[slot] = forced - 1
                if forced == 1:
                    del self.conflicts[slot]
            raise S3Error(409, "ConditionalRequestConflict", "A conflicting conditional "
                          "operation is currently in progress against this resource. Try "
                          "again.")
        self.inflight[slot] = self.inflight.get(slot, 0) + 1

    def release(self, slot):
        n = self.inflight.get(slot, 0) - 1
        if n > 0:
            self.inflight[slot] = n
        else:
            self.inflight.pop(slot, None)

    def store(self, bucket, key, body, content_type, md5=None, meta=None):
        md5 = md5 or hashlib.md5(body)
        t = self.write_stamp()
        obj = {"body": body, "etag": '"%s"' % md5.hexdigest(),
               "content_type": content_type or DEFAULT_CONTENT_TYPE,
               "last_modified_ms": t - t % 1000, "meta": dict(meta or {})}
        self.buckets[bucket][key] = obj
        return obj

    def delete_object(self, req, bucket, key, entry):
        im = req.headers.get("If-Match")
        slot = (bucket, key)
        with self.lock:
            objs = self.need_bucket(bucket)
            if im is not None:
                entry["conditional"] = True
                self.claim(slot)
                self.release(slot)
                old = objs.get(key)
                if old is not None and not etag_matches(im, old["etag"].strip('"')):
                    raise S3Error(412, "PreconditionFailed", "At least one of the "
                                  "pre-conditions you specified did not hold",
                                  ("Condition", "If-Match"))
            entry["overwrote"] = objs.pop(key, None) is not None
        return 204, {}, None

    def list_buckets(self):
        with self.lock:
            names = sorted(self.buckets)
            items = "".join("<Bucket><Name>%s</Name><CreationDate>%s</CreationDate></Bucket>"
                            % (xml_escape(n), iso_list_date(self.bucket_created.get(n, 0)))
                            for n in names)
        xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<ListAllMyBucketsResult xmlns="%s">'
               "<Owner><ID>%s</ID><DisplayName>atsrecon-fake</DisplayName></Owner>"
               "<Buckets>%s</Buckets></ListAllMyBucketsResult>"
               % (S3_NS, "0" * 64, items))
        return 200, {"Content-Type": "application/xml"}, xml.encode()

    def list_objects(self, req, bucket):
        objs = self.need_bucket(bucket)
        known = {"list-type", "prefix", "delimiter", "max-keys", "continuation-token",
                 "start-after", "encoding-type", "fetch-owner", "x-id"}
        unknown = set(req.query) - known
        if unknown:
            raise S3Error(501, "NotImplemented", "Not implemented by this fake: "
                          + ", ".join(sorted(unknown)))
        prefix = req.arg("prefix", "")
        delim = req.arg("delimiter", "")
        enc = req.arg("encoding-type")
        if enc not in (None, "url"):
            raise S3Error(400, "InvalidArgument", "Invalid Encoding Method specified in "
                          "Request", ("ArgumentName", "encoding-type"), ("ArgumentValue", enc))
        try:
            max_keys = int(req.arg("max-keys", str(MAX_KEYS)))
            if max_keys < 0:
                raise ValueError
        except ValueError:
            raise S3Error(400, "InvalidArgument", "Provided max-keys not an integer or "
                          "within integer range", ("ArgumentName", "max-keys"),
                          ("ArgumentValue", req.arg("max-keys")))
        max_keys = min(max_keys, MAX_KEYS)
        token = req.arg("continuation-token")
        after = req.arg("start-after", "")
        if token is not None:
            try:
                after = base64.urlsafe_b64decode(token.encode() + b"==").decode()
                if not token or not after.startswith("k:"):
                    raise ValueError
                after = after[2:]
            except (ValueError, binascii.Error, UnicodeDecodeError):
                raise S3Error(400, "InvalidArgument", "The continuation token provided is "
                              "incorrect", ("ArgumentName", "continuation-token"))
        keys = sorted((k for k in objs if k.startswith(prefix)), key=lambda k: k.encode())
        keys = [k for k in keys if k.encode() > after.encode()] if after else keys
        contents, prefixes, last, truncated = [], [], None, False
        for k in keys:
            cp = None
            if delim:
                i = k.find(delim, len(prefix))
                if i >= 0:
                    cp = k[:i + len(delim)]
            if cp is not None and prefixes and prefixes[-1] == cp:
                last = k
                continue
            if len(contents) + len(prefixes) >= max_keys:
                truncated = True
                break
            if cp is not None:
                prefixes.append(cp)
            else:
                contents.append(k)
            last = k
        show = (lambda s: urllib.parse.quote(s, safe="/")) if enc == "url" else (lambda s: s)
        parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="%s">'
                 % S3_NS, "<Name>%s</Name>" % xml_escape(bucket),
                 "<Prefix>%s</Prefix>" % xml_escape(show(prefix)),
                 "<KeyCount>%d</KeyCount>" % (len(contents) + len(prefixes)),
                 "<MaxKeys>%d</MaxKeys>" % max_keys]
        if delim:
            parts.append("<Delimiter>%s</Delimiter>" % xml_escape(show(delim)))
        if enc:
            parts.append("<EncodingType>url</EncodingType>")
        parts.append("<IsTruncated>%s</IsTruncated>" % ("true" if truncated else "false"))
        if token is not None:
            parts.append("<ContinuationToken>%s</ContinuationToken>" % xml_escape(token))
        if truncated:
            nxt = base64.urlsafe_b64encode(("k:" + last).encode()).decode().rstrip("=")
            parts.append("<NextContinuationToken>%s</NextContinuationToken>" % nxt)
        if req.arg("start-after") is not None:
            parts.append("<StartAfter>%s</StartAfter>"
                         % xml_escape(show(req.arg("start-after"))))
        for k in contents:
            o = objs[k]
            parts.append("<Contents><Key>%s</Key><LastModified>%s</LastModified>"
                         "<ETag>%s</ETag><Size>%d</Size><StorageClass>STANDARD</StorageClass>"
                         "</Contents>" % (xml_escape(show(k)), iso_list_date(
                             o["last_modified_ms"]), xml_escape(o["etag"]), len(o["body"])))
        for cp in prefixes:
            parts.append("<CommonPrefixes><Prefix>%s</Prefix></CommonPrefixes>"
                         % xml_escape(show(cp)))
        parts.append("</ListBucketResult>")
        return 200, {"Content-Type": "application/xml"}, "".join(parts).encode()

    # --- state and admin ---------------------------------------------------------------------

    def describe(self, obj):
        return {"etag": obj["etag"], "size": len(obj["body"]),
                "md5": obj["etag"].strip('"'),
                "sha256": hashlib.sha256(obj["body"]).hexdigest(),
                "content_type": obj["content_type"],
                "last_modified_ms": obj["last_modified_ms"],
                "metadata": dict(obj.get("meta", {}))}

    def dump_state(self):
        return {"buckets": {b: {k: self.describe(o) for k, o in sorted(objs.items())}
                            for b, objs in sorted(self.buckets.items())},
                "credentials": self.list_creds(), "settings": dict(self.settings),
                "inflight": sorted([list(s) for s in self.inflight])}

    def load_state(self, obj):
        if not isinstance(obj, dict) or set(obj) - {"buckets"}:
            raise HttpError(400, {"error": 'state must be {"buckets": {B: {K: {text | '
                                           'body_b64, content_type?}}}}'})
        buckets = obj.get("buckets") or {}
        self.buckets = {b: {} for b in buckets}
        now = self.now_ms()
        self.bucket_created = {b: now for b in buckets}
        for b, objs in buckets.items():
            for k, spec in (objs or {}).items():
                self.store(b, k, object_body(spec), spec.get("content_type"))

    def list_creds(self):
        return [{"access_key_id": k, "session": v["token"] is not None,
                 "expires_ms": v["expires_ms"]} for k, v in sorted(self.creds.items())]

    def admin_settings(self, req, body):
        if req.method == "POST":
            common.check_known("settings", self.settings, body)
            self.check_settings(body)
            self.settings.update(body)
        return dict(self.settings)

    @admin_route("GET", "/_admin/object")
    def admin_get_object(self, req, body):
        b, k = req.arg("bucket", DEFAULT_BUCKET), req.arg("key")
        obj = self.buckets.get(b, {}).get(k)
        if obj is None:
            raise HttpError(404, {"error": "no such object", "bucket": b, "key": k})
        return dict(self.describe(obj), body_b64=base64.b64encode(obj["body"]).decode())

    @admin_route("POST", "/_admin/object")
    def admin_put_object(self, req, body):
        b = body.get("bucket", DEFAULT_BUCKET)
        if b not in self.buckets:
            raise ValueError("no bucket %r" % b)
        k = body["key"]
        if not isinstance(k, str) or not k:
            raise ValueError("key must be a non-empty string")
        meta = body.get("metadata") or {}
        if not isinstance(meta, dict) or not all(isinstance(n, str) and isinstance(v, str)
                                                 for n, v in meta.items()):
            raise ValueError("metadata must be {NAME: value} strings")
        obj = self.store(b, k, object_body(body), body.get("content_type"),
                         meta={n.lower(): v for n, v in meta.items()})
        return self.describe(obj)

    @admin_route("POST", "/_admin/delete-object")
    def admin_delete_object(self, req, body):
        b = body.get("bucket", DEFAULT_BUCKET)
        return {"deleted": self.buckets.get(b, {}).pop(body["key"], None) is not None}

    @admin_route("POST", "/_admin/buckets")
    def admin_buckets(self, req, body):
        name = body["name"]
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
                                                        name):
            raise ValueError("bad bucket name %r" % (name,))
        self.buckets.setdefault(name, {})
        self.bucket_created.setdefault(name, self.now_ms())
        return {"buckets": sorted(self.buckets)}

    @admin_route("GET", "/_admin/credentials")
    @admin_route("POST", "/_admin/credentials")
    def admin_credentials(self, req, body):
        if req.method == "POST":
            common.check_known("credential fields", ("access_key_id", "secret_access_key",
                                                     "session_token", "expires_ms",
                                                     "replace"), body)
            akid, secret = body["access_key_id"], body["secret_access_key"]
            token, exp = body.get("session_token"), body.get("expires_ms")
            if not isinstance(akid, str) or not re.fullmatch(r"[A-Za-z0-9]{1,128}", akid):
                raise ValueError("access_key_id must be 1..128 letters or digits")
            if not isinstance(secret, str) or not secret:
                raise ValueError("secret_access_key must be a non-empty string")
            if token is not None and (not isinstance(token, str) or not token):
                raise ValueError("session_token must be a non-empty string or null")
            if exp is not None and (not isinstance(exp, int) or isinstance(exp, bool)):
                raise ValueError("expires_ms must be epoch milliseconds or null")
            if body.get("replace"):
                self.creds = {}
            self.creds[akid] = {"secret": secret, "token": token, "expires_ms": exp}
        return self.list_creds()

    @admin_route("POST", "/_admin/latency")
    def admin_latency(self, req, body):
        ms = body["ms"]
        if not isinstance(ms, (int, float)) or isinstance(ms, bool) or ms < 0:
            raise ValueError("ms must be a number >= 0")
        self.latency_ms = ms
        return {"latency_ms": ms}

    @admin_route("POST", "/_admin/conflict")
    def admin_conflict(self, req, body):
        slot = (body.get("bucket", DEFAULT_BUCKET), body["key"])
        times = body.get("times", 1)
        if not isinstance(times, int) or isinstance(times, bool) or times < 0:
            raise ValueError("times must be an integer >= 0")
        if times:
            self.conflicts[slot] = times
        else:
            self.conflicts.pop(slot, None)
        return {"bucket": slot[0], "key": slot[1], "times": times}

    @admin_route("POST", "/_admin/s3-error")
    def admin_s3_error(self, req, body):
        common.check_known("s3-error fields", ("status", "code", "message", "match", "times",
                                               "every", "after", "retry_after", "name"), body)
        status = body.get("status", 503)
        code = body.get("code", "SlowDown" if status == 503 else "InternalError")
        message = body.get("message", {"SlowDown": "Please reduce your request rate.",
                                       "InternalError": "We encountered an internal error. "
                                                        "Please try again."}
                           .get(code, "Injected error"))
        rid = secrets.token_hex(8).upper()
        headers = {"Content-Type": "application/xml", "x-amz-request-id": rid,
                   "x-amz-id-2": self.host_id}
        if body.get("retry_after") is not None:
            headers["Retry-After"] = str(body["retry_after"])
        spec = {"kind": "status", "status": status, "headers": headers,
                "body": error_xml(code, message, [], rid, self.host_id).decode()}
        for k in ("match", "times", "every", "after", "name"):
            if k in body:
                spec[k] = body[k]
        rule = common.FaultRule(spec, len(self.faults))
        self.faults = self.faults + [rule]
        return {"ok": True, "rules": len(self.faults), "name": rule.name}

    @admin_route("GET", "/_admin/s3log")
    def admin_s3log(self, req, body):
        since = int(req.arg("since", "0"))
        return {"next": self.s3seq, "entries": [e for e in self.s3log if e["seq"] >= since]}

    @admin_route("POST", "/_admin/s3log/reset")
    def admin_s3log_reset(self, req, body):
        self.s3log = []
        return {"ok": True, "next": self.s3seq}


META_PREFIX = "x-amz-meta-"
MAX_META_BYTES = 2048


def user_metadata(headers):
    """The x-amz-meta-* headers of a PUT as {name: value}, or the 400 S3 answers."""
    meta = {}
    for name, value in headers.items():
        if name.lower().startswith(META_PREFIX):
            meta[name.lower()[len(META_PREFIX):]] = value.strip()
    size = sum(len(n.encode()) + len(v.encode()) for n, v in meta.items())
    if size > MAX_META_BYTES:
        raise S3Error(400, "MetadataTooLarge", "Your metadata headers exceed the maximum "
                      "allowed metadata size.", ("Size", size), ("MaxSizeAllowed", MAX_META_BYTES))
    return meta


def object_body(spec):
    """The bytes of an admin object spec: {"text": str} or {"body_b64": str}."""
    if "text" in spec:
        if not isinstance(spec["text"], str):
            raise ValueError("text must be a string")
        return spec["text"].encode()
    if "body_b64" in spec:
        return base64.b64decode(spec["body_b64"], validate=True)
    raise ValueError("an object needs text or body_b64")


def parse_range(v, size):
    """One "bytes=" range -> (first, last) inclusive, None to ignore the header (several
    ranges, other units: S3 serves the whole object), or "bad" if unsatisfiable."""
    m = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", v)
    if not m or (not m.group(1) and not m.group(2)):
        return None
    a, b = m.group(1), m.group(2)
    if not a:
        n = int(b)
        if n == 0 or size == 0:
            return "bad"
        return max(0, size - n), size - 1
    a = int(a)
    if a >= size:
        return "bad"
    last = size - 1 if not b else min(int(b), size - 1)
    if last < a:
        return None  # RFC 9110: an invalid range spec is ignored
    return a, last


if __name__ == "__main__":
    common.main(S3Fake)
