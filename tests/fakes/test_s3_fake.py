"""Self-test of the S3 fake (s3.py), run as a subprocess over TLS.

Run: python3 tests/fakes/test_s3_fake.py
Prints "ok - NAME" or "not ok - NAME: WHY" per check, then "N passed, N failed"; exits 1 if
any check failed. Needs the Python 3 standard library, the openssl CLI (for the CA) and the
curl command-line tool (its --aws-sigv4 is a second, independent SigV4 signer).

Requests are signed here by this file's own SigV4 code (written from the AWS specification,
separately from s3.py's verifier) and both signers are first pinned to AWS's published S3
examples, so a bug shared by the two would still have to reproduce AWS's own signatures.
"""

import base64
import datetime
import hashlib
import hmac
import http.client
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common  # noqa: E402
import s3  # noqa: E402
import selftest  # noqa: E402
from selftest import check, eq, true  # noqa: E402

AKID, SECRET, REGION = "AKIATESTFAKE0000001", "test/secret+key=for/the/fake", "eu-west-1"
SESSION_AKID, SESSION_SECRET, SESSION_TOKEN = "ASIATESTFAKE0000002", "session-secret", \
    "FwoGZXIvYXdzEFAKESESSIONTOKEN//+=="
BUCKET = "state-bucket"
NS = "{%s}" % s3.S3_NS
EMPTY = hashlib.sha256(b"").hexdigest()
UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
F = None
TMP = None


# ---------------------------------------------------------------------------------------------
# The test's own SigV4 signer

def pct(data):
    if isinstance(data, str):
        data = data.encode()
    return "".join(chr(b) if b in UNRESERVED else "%%%02X" % b for b in data)


def amz_now(offset_s=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_s)
    return t.strftime("%Y%m%dT%H%M%SZ")


def authorization(method, raw_path, query, headers, payload_hash, akid, secret, region,
                  amz_date, signed=None, service="s3", scope_date=None):
    """The Authorization value for a request. query: decoded (name, value) pairs; headers:
    {name: value} as sent; signed: header names to sign (default: all of them)."""
    lower = {}
    for k, v in headers.items():
        lower.setdefault(k.lower(), []).append(" ".join(str(v).split()))
    names = sorted(lower) if signed is None else list(signed)
    segs = raw_path.split("/")
    curi = "/".join(pct(urllib.parse.unquote_to_bytes(s)) for s in segs)
    cquery = "&".join(k + "=" + v for k, v in sorted((pct(k), pct(v)) for k, v in query))
    chead = "".join(n + ":" + ",".join(lower.get(n, [""])) + "\n" for n in names)
    creq = "%s\n%s\n%s\n%s\n%s\n%s" % (method, curi, cquery, chead, ";".join(names),
                                       payload_hash)
    date = scope_date or amz_date[:8]
    scope = "/".join((date, region, service, "aws4_request"))
    sts = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (amz_date, scope,
                                            hashlib.sha256(creq.encode()).hexdigest())

    def mac(k, m):
        return hmac.new(k, m.encode(), hashlib.sha256).digest()
    key = mac(mac(mac(mac(("AWS4" + secret).encode(), date), region), service), "aws4_request")
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    return "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        akid, scope, ";".join(names), sig)


class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body or b""

    def code(self):
        if not self.body.startswith(b"<?xml"):
            return None
        root = ET.fromstring(self.body)
        return root.findtext("Code") if root.tag == "Error" else root.tag

    def field(self, name):
        return ET.fromstring(self.body).findtext(name)

    def __repr__(self):
        return "<%d %s %r>" % (self.status, self.code(), self.body[:300])


class Fake(selftest.KeepAliveFake):
    """s3.py in a subprocess, with a signed-request helper."""

    def __init__(self, tmp, *args):
        self.cafile = common_ca(tmp)
        super().__init__("s3.py", os.path.join(tmp, "s3"), "--certdir",
                         os.path.join(tmp, "ca"), "--idle-timeout", "120",
                         "--max-lifetime", "600", "--access-key-id", AKID,
                         "--secret-access-key", SECRET, "--region", REGION,
                         "--bucket", BUCKET, "--bucket", "other-bucket", *args,
                         cafile=self.cafile, timeout=60)

    def s3(self, method, key=None, body=b"", headers=None, query=(), payload="hash",
           akid=AKID, secret=SECRET, region=REGION, amz_date=None, token=None, signed=None,
           after=None, bucket=BUCKET, raw_path=None, conn=None, **auth_kw):
        """One signed request. payload: "hash" (the body's), "unsigned", None (no header) or
        a literal value. after(headers) may tamper with the headers once signed.
        -> Resp."""
        path = raw_path or ("/" + pct(bucket) + ("/" + "/".join(pct(s) for s in
                                                               key.split("/")) if key else ""))
        qs = "&".join(pct(k) + "=" + pct(v) for k, v in query)
        h = {"Host": "localhost:%d" % self.port, "x-amz-date": amz_date or amz_now()}
        if payload == "hash":
            h["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
        elif payload == "unsigned":
            h["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
        elif payload is not None:
            h["x-amz-content-sha256"] = payload
        if token is not None:
            h["x-amz-security-token"] = token
        h.update(headers or {})
        h["Authorization"] = authorization(
            method, path, list(query), {k: v for k, v in h.items()},
            h.get("x-amz-content-sha256", EMPTY), akid, secret, region, h["x-amz-date"],
            signed=signed, **auth_kw)
        if after:
            after(h)
        url = path + ("?" + qs if qs else "")
        return self.raw(method, url, body if body or method in ("PUT", "POST") else None, h,
                        conn)

    def raw(self, method, url, body, headers, conn=None):
        """One request on conn, or on the keep-alive connection (reopened once if it
        fails); -> Resp with the body as bytes."""
        for attempt in (1, 2):
            c = conn
            if c is None:
                if self.conn is None:
                    self.conn = self.connect()
                c = self.conn
            try:
                c.request(method, url, body=body, headers=headers)
                r = c.getresponse()
                out = r.read()
                break
            except (http.client.HTTPException, OSError):
                if conn is not None or attempt == 2:
                    raise
                self.conn.close()
                self.conn = None
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, out)

    def admin_raw(self, method, what, obj=None):
        return self.request(method, "/_admin/" + what, obj)


def common_ca(tmp):
    return common.ensure_test_ca(os.path.join(tmp, "ca")).ca_pem


def expect_error(r, status, code, what=""):
    eq((r.status, r.code()), (status, code), "%s (%r)" % (what, r))


def curl(*args, data=None):
    """Runs curl -s against the fake; -> (http status, body bytes)."""
    out = os.path.join(TMP, "curl.out")
    cmd = ["curl", "-s", "-S", "--cacert", F.cafile, "-o", out, "-w", "%{http_code}",
           "--max-time", "60"] + list(args)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, input=data,
                       timeout=90)
    true(p.returncode == 0, "curl failed: %s" % p.stderr.decode()[:300])
    with open(out, "rb") as f:
        body = f.read()
    return int(p.stdout.decode().strip() or "0"), body


def url(key=None, query=""):
    return "https://localhost:%d/%s%s%s" % (F.port, BUCKET, "/" + key if key else "",
                                            "?" + query if query else "")


def log_since(n):
    return F.admin("GET", "s3log?since=%d" % n)["entries"]


def log_next():
    return F.admin("GET", "s3log?since=999999999")["next"]


# ---------------------------------------------------------------------------------------------
# Checks

def checks():
    @check("both SigV4 signers reproduce AWS's published S3 example signatures")
    def _():
        host, d, sec = "examplebucket.s3.amazonaws.com", "20130524T000000Z", s3.DEFAULT_SECRET
        body = b"Welcome to Amazon S3."
        ph = hashlib.sha256(body).hexdigest()
        vectors = [
            ("GET", "/test.txt", [], {"Host": host, "Range": "bytes=0-9",
                                      "x-amz-content-sha256": EMPTY, "x-amz-date": d}, EMPTY,
             "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
            ("PUT", "/test%24file.text", [], {
                "Date": "Fri, 24 May 2013 00:00:00 GMT", "Host": host,
                "x-amz-content-sha256": ph, "x-amz-date": d,
                "x-amz-storage-class": "REDUCED_REDUNDANCY"}, ph,
             "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"),
            ("GET", "/", [("lifecycle", "")], {"Host": host, "x-amz-content-sha256": EMPTY,
                                               "x-amz-date": d}, EMPTY,
             "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
            ("GET", "/", [("max-keys", "2"), ("prefix", "J")], {
                "Host": host, "x-amz-content-sha256": EMPTY, "x-amz-date": d}, EMPTY,
             "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
        ]
        for method, path, q, hdrs, phash, want in vectors:
            mine = authorization(method, path, q, hdrs, phash, s3.DEFAULT_ACCESS_KEY, sec,
                                 "us-east-1", d).rsplit("=", 1)[1]
            eq(mine, want, "test signer, %s %s" % (method, path))
            vals = {k.lower(): [v] for k, v in hdrs.items()}
            theirs = s3.sign(sec, method, path, q, vals, sorted(vals), phash, d,
                             "us-east-1")[0]
            eq(theirs, want, "s3.py signer, %s %s" % (method, path))

    @check("PUT then GET and HEAD: ETag is the quoted MD5, Last-Modified, Content-Type, body")
    def _():
        body = b'{"snapshot": 1}'
        r = F.s3("PUT", "p/state.json", body, {"Content-Type": "application/json"})
        eq(r.status, 200, "PUT (%r)" % r)
        etag = '"%s"' % hashlib.md5(body).hexdigest()
        eq(r.headers.get("etag"), etag, "PUT ETag")
        true(r.headers.get("x-amz-request-id"), "x-amz-request-id")
        r = F.s3("GET", "p/state.json")
        eq((r.status, r.body), (200, body), "GET")
        eq(r.headers.get("etag"), etag, "GET ETag")
        eq(r.headers.get("content-type"), "application/json", "Content-Type kept")
        lm = r.headers.get("last-modified", "")
        t = s3.parse_http_date(lm)
        true(t is not None and lm.endswith(" GMT") and abs(t - time.time()) < 30,
             "Last-Modified %r" % lm)
        r = F.s3("HEAD", "p/state.json")
        eq((r.status, r.body, r.headers.get("content-length"), r.headers.get("etag")),
           (200, b"", str(len(body)), etag), "HEAD")
        r = F.s3("PUT", "p/plain", b"x")
        eq(F.s3("GET", "p/plain").headers.get("content-type"), "binary/octet-stream",
           "default Content-Type")

    @check("DELETE is 204 (also for a missing key); GET 404 NoSuchKey; HEAD 404 with no body")
    def _():
        F.s3("PUT", "p/gone", b"bye")
        eq(F.s3("DELETE", "p/gone").status, 204, "DELETE")
        eq(F.s3("DELETE", "p/gone").status, 204, "DELETE of a missing key")
        r = F.s3("GET", "p/gone")
        expect_error(r, 404, "NoSuchKey", "GET after DELETE")
        eq(r.field("Key"), "p/gone", "<Key>")
        r = F.s3("HEAD", "p/gone")
        eq((r.status, r.body), (404, b""), "HEAD after DELETE")
        expect_error(F.s3("GET", "x", bucket="no-such-bucket"), 404, "NoSuchBucket", "bucket")

    @check("a signed header, the path, the query or x-amz-date changed after signing fails")
    def _():
        n = log_next()

        def tamper(name, value):
            return lambda h: h.__setitem__(name, value)
        r = F.s3("PUT", "p/t1", b"v", {"Content-Type": "text/plain"},
                 after=tamper("Content-Type", "text/html"))
        expect_error(r, 403, "SignatureDoesNotMatch", "Content-Type changed")
        true("content-type:text/plain" not in r.field("CanonicalRequest") and
             "content-type:text/html" in r.field("CanonicalRequest"),
             "CanonicalRequest shows what the fake saw")
        r = F.s3("PUT", "p/t1", b"v", {"If-None-Match": "*"},
                 after=lambda h: h.pop("If-None-Match"))
        expect_error(r, 403, "SignatureDoesNotMatch", "signed If-None-Match dropped")
        r = F.s3("GET", "p/state.json")
        eq(r.status, 200, "control: the same request untampered")
        sig = F.s3("GET", raw_path="/%s" % BUCKET, query=[("list-type", "2"),
                                                          ("prefix", "p/")])
        eq(sig.status, 200, "control: list")
        h = {}

        def grab(hh):
            h.update(hh)
        F.s3("GET", "p/state.json", after=grab)
        st, _, _ = F.request("GET", "/%s/p/other.json" % BUCKET, headers=h)
        eq(st, 403, "path changed")
        F.s3("GET", raw_path="/" + BUCKET, query=[("list-type", "2"), ("prefix", "p/")],
             after=grab)
        st, _, out = F.request("GET", "/%s?list-type=2&prefix=q%%2F" % BUCKET, headers=h)
        eq(st, 403, "query changed (%r)" % (out,))
        d = amz_now()
        later = (datetime.datetime.strptime(d, "%Y%m%dT%H%M%SZ") +
                 datetime.timedelta(seconds=1)).strftime("%Y%m%dT%H%M%SZ")
        r = F.s3("GET", "p/state.json", amz_date=d, after=tamper("x-amz-date", later))
        expect_error(r, 403, "SignatureDoesNotMatch", "x-amz-date moved by a second")
        true(not any(e["op"] == "PutObject" and e["status"] == 200 and e["key"] == "p/t1"
                     for e in log_since(n)), "nothing stored by a rejected PUT")
        eq(F.s3("GET", "p/t1").status, 404, "p/t1 absent")

    @check("a changed body under a signed hash is XAmzContentSHA256Mismatch; UNSIGNED-PAYLOAD "
           "is accepted")
    def _():
        hh = hashlib.sha256(b"original").hexdigest()
        r = F.s3("PUT", "p/b1", b"tampered", payload=hh)
        expect_error(r, 400, "XAmzContentSHA256Mismatch", "body changed")
        eq(r.field("S3ComputedContentSHA256"), hashlib.sha256(b"tampered").hexdigest(),
           "computed hash")
        eq(F.s3("GET", "p/b1").status, 404, "not stored")
        r = F.s3("PUT", "p/b1", b"anything", payload="unsigned")
        eq(r.status, 200, "UNSIGNED-PAYLOAD (%r)" % r)
        eq(F.s3("GET", "p/b1").body, b"anything", "stored")
        r = F.s3("GET", "p/b1", payload=hashlib.sha256(b"x").hexdigest())
        expect_error(r, 400, "XAmzContentSHA256Mismatch", "GET claiming a body")

    @check("wrong secret, unknown key, wrong region/service/terminal/scope date")
    def _():
        r = F.s3("GET", "p/state.json", secret="not-the-secret")
        expect_error(r, 403, "SignatureDoesNotMatch", "wrong secret")
        eq(r.field("AWSAccessKeyId"), AKID, "AWSAccessKeyId")
        true(r.field("StringToSign").startswith("AWS4-HMAC-SHA256\n"), "StringToSign")
        true(SECRET not in r.body.decode(), "the secret is never echoed")
        r = F.s3("GET", "p/state.json", akid="AKIANOSUCHKEY000000")
        expect_error(r, 403, "InvalidAccessKeyId", "unknown key")
        r = F.s3("GET", "p/state.json", region="us-east-1")
        expect_error(r, 400, "AuthorizationHeaderMalformed", "wrong region")
        eq(r.field("Region"), REGION, "<Region> names the right one")
        expect_error(F.s3("GET", "p/state.json", service="sts"), 400,
                     "AuthorizationHeaderMalformed", "wrong service")
        r = F.s3("GET", "p/state.json", scope_date="20200101")
        expect_error(r, 400, "AuthorizationHeaderMalformed", "scope date != x-amz-date")
        true("X-Amz-Date" in r.field("Message"), r.field("Message"))

        def terminal(h):
            h["Authorization"] = h["Authorization"].replace("/aws4_request,", "/aws5_request,")
        expect_error(F.s3("GET", "p/state.json", after=terminal), 400,
                     "AuthorizationHeaderMalformed", "terminal")

    @check("x-amz-date: 16 min off is RequestTimeTooSkewed, 14 min passes; the fake's clock "
           "counts")
    def _():
        expect_error(F.s3("GET", "p/state.json", amz_date=amz_now(-16 * 60)), 403,
                     "RequestTimeTooSkewed", "16 min old")
        expect_error(F.s3("GET", "p/state.json", amz_date=amz_now(16 * 60)), 403,
                     "RequestTimeTooSkewed", "16 min ahead")
        eq(F.s3("GET", "p/state.json", amz_date=amz_now(-14 * 60)).status, 200, "14 min old")
        F.admin("POST", "clock", {"offset_s": 3600})
        try:
            expect_error(F.s3("GET", "p/state.json"), 403, "RequestTimeTooSkewed",
                         "fake clock an hour ahead")
        finally:
            F.admin("POST", "clock", {"offset_s": 0})
        r = F.s3("GET", "p/state.json", after=lambda h: h.pop("x-amz-date"))
        expect_error(r, 403, "AccessDenied", "no x-amz-date")

    @check("malformed authentication: none, SigV2, garbled, no/bad x-amz-content-sha256, "
           "unsigned x-amz-*, host unsigned, presigned")
    def _():
        st, _, out = F.request("GET", "/%s/p/state.json" % BUCKET)
        eq(st, 403, "anonymous")
        true(b"<Code>AccessDenied</Code>" in out, "AccessDenied body %r" % out)
        r = F.s3("GET", "p/state.json",
                 after=lambda h: h.__setitem__("Authorization", "AWS %s:abc=" % AKID))
        expect_error(r, 400, "InvalidRequest", "SigV2")
        r = F.s3("GET", "p/state.json", after=lambda h: h.__setitem__(
            "Authorization", h["Authorization"].replace("SignedHeaders=", "Signed=")))
        expect_error(r, 400, "AuthorizationHeaderMalformed", "garbled")
        expect_error(F.s3("GET", "p/state.json", payload=None), 400, "InvalidRequest",
                     "no x-amz-content-sha256")
        for bad in ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", EMPTY.upper(), "abc"):
            expect_error(F.s3("GET", "p/state.json", payload=bad), 400, "InvalidArgument",
                         "x-amz-content-sha256 %s" % bad)
        r = F.s3("GET", "p/state.json", headers={"x-amz-meta-note": "hi"},
                 signed=["host", "x-amz-content-sha256", "x-amz-date"])
        expect_error(r, 403, "AccessDenied", "unsigned x-amz-meta-note")
        eq(r.field("HeadersNotSigned"), "x-amz-meta-note", "HeadersNotSigned")
        r = F.s3("GET", "p/state.json", signed=["x-amz-content-sha256", "x-amz-date"])
        expect_error(r, 403, "SignatureDoesNotMatch", "host not signed")
        r = F.s3("GET", "p/state.json", signed=["x-amz-date", "host", "x-amz-content-sha256"])
        expect_error(r, 403, "SignatureDoesNotMatch", "SignedHeaders not sorted")
        r = F.s3("GET", "p/state.json", query=[("X-Amz-Signature", "ab")])
        expect_error(r, 403, "AccessDenied", "presigned")
        eq(F.s3("GET", "p/state.json", headers={"Content-Type": "x/y"},
                signed=["host", "x-amz-content-sha256", "x-amz-date"]).status, 200,
           "an unsigned non-amz header is fine")
        stats = F.admin("GET", "stats")
        true(stats["auth_failures"] >= 10, "auth_failures counted: %r" % stats)

    @check("session credentials: token required, checked, signed; expiry")
    def _():
        F.admin("POST", "credentials", {"access_key_id": SESSION_AKID,
                                        "secret_access_key": SESSION_SECRET,
                                        "session_token": SESSION_TOKEN})
        creds = F.admin("GET", "credentials")
        eq(sorted((c["access_key_id"], c["session"]) for c in creds),
           [(AKID, False), (SESSION_AKID, True)], "credentials listed")
        true(all(set(c) == {"access_key_id", "session", "expires_ms"} for c in creds),
             "no secrets listed: %r" % creds)
        kw = {"akid": SESSION_AKID, "secret": SESSION_SECRET}
        eq(F.s3("GET", "p/state.json", token=SESSION_TOKEN, **kw).status, 200, "with token")
        expect_error(F.s3("GET", "p/state.json", **kw), 403, "InvalidAccessKeyId",
                     "without token")
        expect_error(F.s3("GET", "p/state.json", token="wrong", **kw), 400, "InvalidToken",
                     "wrong token")
        r = F.s3("GET", "p/state.json", token=SESSION_TOKEN,
                 signed=["host", "x-amz-content-sha256", "x-amz-date"], **kw)
        expect_error(r, 403, "AccessDenied", "token not signed")
        eq(r.field("HeadersNotSigned"), "x-amz-security-token", "HeadersNotSigned")
        expect_error(F.s3("GET", "p/state.json", token=SESSION_TOKEN), 400, "InvalidToken",
                     "token with a long-term key")
        F.admin("POST", "credentials", {"access_key_id": SESSION_AKID,
                                        "secret_access_key": SESSION_SECRET,
                                        "session_token": SESSION_TOKEN,
                                        "expires_ms": int(time.time() * 1000) - 1})
        expect_error(F.s3("GET", "p/state.json", token=SESSION_TOKEN, **kw), 400,
                     "ExpiredToken", "expired session")
        F.admin("POST", "credentials", {"access_key_id": SESSION_AKID,
                                        "secret_access_key": SESSION_SECRET,
                                        "session_token": SESSION_TOKEN})
        with open(F.log) as f:
            true(SESSION_TOKEN not in f.read(), "token not in the request log")

    @check("curl --aws-sigv4 (the CLI, a separate signer): PUT, GET, HEAD, list, DELETE verify")
    def _():
        if shutil.which("curl") is None:
            raise AssertionError("curl is not installed")
        user = "%s:%s" % (AKID, SECRET)
        sig = ["--aws-sigv4", "aws:amz:%s:s3" % REGION, "--user", user]
        body = b"snapshot from curl\n" * 100
        hh = hashlib.sha256(body).hexdigest()
        st, out = curl(*sig, "-X", "PUT", "--data-binary", "@-", "-H",
                       "x-amz-content-sha256: " + hh, "-H", "If-None-Match: *",
                       "-H", "Content-Type: application/octet-stream", url("curl/obj"),
                       data=body)
        eq(st, 200, "curl PUT (%r)" % out)
        eq(F.admin("GET", "object?bucket=%s&key=curl/obj" % BUCKET)["sha256"], hh, "stored")
        st, out = curl(*sig, "-H", "x-amz-content-sha256: " + EMPTY, url("curl/obj"))
        eq((st, out), (200, body), "curl GET")
        st, out = curl(*sig, "-I", "-H", "x-amz-content-sha256: " + EMPTY, url("curl/obj"))
        eq(st, 200, "curl HEAD")
        # curl 7.88.1 signs the query as written: give it sorted and encoded (curl 8 sorts).
        st, out = curl(*sig, "-H", "x-amz-content-sha256: " + EMPTY,
                       url(query="list-type=2&prefix=curl%2F"))
        eq(st, 200, "curl list (%r)" % out[:300])
        keys = [c.findtext(NS + "Key") for c in ET.fromstring(out).iter(NS + "Contents")]
        eq(keys, ["curl/obj"], "listed keys")
        path = os.path.join(TMP, "upload.bin")
        with open(path, "wb") as f:
            f.write(body[:100])
        st, out = curl(*sig, "-T", path, "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                       "-H", 'If-Match: "%s"' % hashlib.md5(body).hexdigest(),
                       url("curl/obj"))
        eq(st, 200, "curl -T with UNSIGNED-PAYLOAD and If-Match (%r)" % out)
        st, out = curl(*sig, "-X", "DELETE", "-H", "x-amz-content-sha256: " + EMPTY,
                       url("curl/obj"))
        eq(st, 204, "curl DELETE")

    @check("curl --aws-sigv4 with a wrong secret, region, stale date, changed body, session "
           "token")
    def _():
        def get(user, region=REGION, *extra):
            return curl("--aws-sigv4", "aws:amz:%s:s3" % region, "--user", user, "-H",
                        "x-amz-content-sha256: " + EMPTY, *extra, url("p/state.json"))
        eq(get("%s:%s" % (AKID, SECRET))[0], 200, "control")
        st, out = get("%s:%s" % (AKID, SECRET + "x"))
        eq((st, b"<Code>SignatureDoesNotMatch</Code>" in out), (403, True), "wrong secret")
        st, out = get("%s:%s" % (AKID, SECRET), "us-west-2")
        eq((st, b"<Code>AuthorizationHeaderMalformed</Code>" in out), (400, True),
           "wrong region")
        st, out = get("%s:%s" % (AKID, SECRET), REGION, "-H", "x-amz-date: " +
                      amz_now(-3600))
        eq((st, b"<Code>RequestTimeTooSkewed</Code>" in out), (403, True), "stale date")
        st, out = curl("--aws-sigv4", "aws:amz:%s:s3" % REGION, "--user",
                       "%s:%s" % (AKID, SECRET), "-X", "PUT", "--data-binary", "@-", "-H",
                       "x-amz-content-sha256: " + hashlib.sha256(b"one").hexdigest(),
                       url("curl/changed"), data=b"two")
        eq((st, b"<Code>XAmzContentSHA256Mismatch</Code>" in out), (400, True),
           "body changed (%r)" % out[:200])
        st, out = get("%s:%s" % (SESSION_AKID, SESSION_SECRET), REGION,
                      "-H", "x-amz-security-token: " + SESSION_TOKEN)
        eq(st, 200, "session token via curl (%r)" % out[:200])
        st, out = get("%s:%s" % (SESSION_AKID, SESSION_SECRET))
        eq(st, 403, "session key without token via curl")

    @check("conditional PUT: If-None-Match * creates once; If-Match current/stale/missing")
    def _():
        n = log_next()
        r = F.s3("PUT", "lease", b"owner=a", {"If-None-Match": "*"})
        eq(r.status, 200, "create (%r)" % r)
        e1 = r.headers["etag"]
        r = F.s3("PUT", "lease", b"owner=b", {"If-None-Match": "*"})
        expect_error(r, 412, "PreconditionFailed", "create again")
        eq(r.field("Condition"), "If-None-Match", "<Condition>")
        r = F.s3("PUT", "lease", b"owner=a2", {"If-Match": e1})
        eq(r.status, 200, "If-Match current (%r)" % r)
        e2 = r.headers["etag"]
        true(e2 != e1, "new ETag")
        r = F.s3("PUT", "lease", b"owner=c", {"If-Match": e1})
        expect_error(r, 412, "PreconditionFailed", "If-Match stale")
        eq(r.field("Condition"), "If-Match", "<Condition>")
        eq(F.s3("PUT", "lease", b"owner=a3", {"If-Match": e2.strip('"')}).status, 200,
           "If-Match without quotes")
        expect_error(F.s3("PUT", "no-lease", b"x", {"If-Match": e1}), 404, "NoSuchKey",
                     "If-Match on a missing key")
        eq(F.s3("GET", "lease").body, b"owner=a3", "final content")
        for hdrs in ({"If-None-Match": e1}, {"If-None-Match": "*", "If-Match": e2},
                     {"If-Modified-Since": "Wed, 01 Jan 2020 00:00:00 GMT"}):
            expect_error(F.s3("PUT", "lease", b"z", hdrs), 501, "NotImplemented", str(hdrs))
        ents = [e for e in log_since(n) if e["op"] == "PutObject"]
        eq([(e["status"], e["conditional"]) for e in ents[:6]],
           [(200, True), (412, True), (200, True), (412, True), (200, True), (404, True)],
           "s3log")
        eq(ents[0]["if_none_match"], "*", "s3log if_none_match")
        eq(ents[2]["if_match"], e1, "s3log if_match")

    @check("DELETE If-Match: mismatch 412, match 204, missing key 204")
    def _():
        e = F.s3("PUT", "del-me", b"1").headers["etag"]
        expect_error(F.s3("DELETE", "del-me", headers={"If-Match": '"00"'}), 412,
                     "PreconditionFailed", "mismatch")
        eq(F.s3("DELETE", "del-me", headers={"If-Match": e}).status, 204, "match")
        eq(F.s3("DELETE", "del-me", headers={"If-Match": e}).status, 204, "missing")

    @check("racing conditional writes: one wins, the other gets 409 ConditionalRequestConflict")
    def _():
        F.admin("POST", "settings", {"write_delay_ms": 1000})
        try:
            for hdr in ("create", "update"):
                key = "race-" + hdr
                base = None
                if hdr == "update":
                    base = F.s3("PUT", key, b"v0").headers["etag"]
                results = {}

                def writer(name):
                    c = F.connect()
                    try:
                        h = {"If-None-Match": "*"} if base is None else {"If-Match": base}
                        results[name] = F.s3("PUT", key, name.encode(), h, conn=c)
                    finally:
                        c.close()
                t1 = threading.Thread(target=writer, args=("w1",))
                t1.start()
                deadline = time.monotonic() + 10
                while [BUCKET, key] not in F.admin("GET", "state")["inflight"]:
                    true(time.monotonic() < deadline, "w1 never got in progress")
                    time.sleep(0.01)
                writer("w2")  # w1 is inside its write window now
                t1.join(10)
                eq((results["w1"].status, results["w2"].status, results["w2"].code()),
                   (200, 409, "ConditionalRequestConflict"), hdr)
                eq(F.s3("GET", key).body, b"w1", "the winner's content (%s)" % hdr)
                eq(F.admin("GET", "state")["inflight"], [], "nothing left in progress")
            # Once the first write is done, a second If-None-Match: * sees the object: 412.
            expect_error(F.s3("PUT", "race-create", b"w3", {"If-None-Match": "*"}), 412,
                         "PreconditionFailed", "after the race")
        finally:
            F.admin("POST", "settings", {"write_delay_ms": 0})

    @check("admin conflict forces N 409s on conditional writes to one key only")
    def _():
        e = F.s3("PUT", "forced", b"1").headers["etag"]
        F.admin("POST", "conflict", {"bucket": BUCKET, "key": "forced", "times": 2})
        expect_error(F.s3("PUT", "forced", b"2", {"If-Match": e}), 409,
                     "ConditionalRequestConflict", "first")
        eq(F.s3("PUT", "other-key", b"2", {"If-None-Match": "*"}).status, 200, "other key")
        eq(F.s3("PUT", "forced", b"2").status, 200, "unconditional write is not blocked")
        e = F.s3("HEAD", "forced").headers["etag"]
        expect_error(F.s3("DELETE", "forced", headers={"If-Match": e}), 409,
                     "ConditionalRequestConflict", "second (a conditional DELETE)")
        eq(F.s3("PUT", "forced", b"3", {"If-Match": e}).status, 200, "third passes")
        stats = F.admin("GET", "stats")
        true(stats["conflicts"] >= 3, "conflicts counted %r" % stats["conflicts"])

    @check("the s3log shows an unconditional overwrite, and stats count it")
    def _():
        before = F.admin("GET", "stats")["unconditional_overwrites"]
        n = log_next()
        F.s3("PUT", "ow", b"1", {"If-None-Match": "*"})
        F.s3("PUT", "ow", b"2", {"If-Match": F.s3("HEAD", "ow").headers["etag"]})
        clean = [e for e in log_since(n) if e["op"] == "PutObject" and e["status"] == 200
                 and e["overwrote"] and not e["conditional"]]
        eq(clean, [], "no unconditional overwrite yet")
        F.s3("PUT", "ow", b"3")
        bad = [e for e in log_since(n) if e["op"] == "PutObject" and e["status"] == 200
               and e["overwrote"] and not e["conditional"]]
        eq([(e["key"], e["if_match"], e["if_none_match"]) for e in bad], [("ow", None, None)],
           "the overwrite is visible")
        eq(F.admin("GET", "stats")["unconditional_overwrites"], before + 1, "stats")

    @check("GET conditionals: 304, 412, If-Modified-Since, If-Unmodified-Since, precedence")
    def _():
        r = F.s3("PUT", "cond", b"data")
        etag = r.headers["etag"]
        lm = F.s3("HEAD", "cond").headers["last-modified"]
        past, future = "Wed, 01 Jan 2020 00:00:00 GMT", "Fri, 01 Jan 2100 00:00:00 GMT"
        r = F.s3("GET", "cond", headers={"If-None-Match": etag})
        eq((r.status, r.body, r.headers.get("etag")), (304, b"", etag), "If-None-Match hit")
        eq(F.s3("GET", "cond", headers={"If-None-Match": '"0", W/' + etag}).status, 304,
           "list and weak form")
        eq(F.s3("GET", "cond", headers={"If-None-Match": '"00"'}).status, 200, "miss")
        expect_error(F.s3("GET", "cond", headers={"If-Match": '"00"'}), 412,
                     "PreconditionFailed", "If-Match miss")
        eq(F.s3("HEAD", "cond", headers={"If-Match": '"00"'}).status, 412, "HEAD If-Match")
        eq(F.s3("GET", "cond", headers={"If-Match": etag}).status, 200, "If-Match hit")
        eq(F.s3("GET", "cond", headers={"If-Modified-Since": lm}).status, 304, "IMS = LM")
        eq(F.s3("GET", "cond", headers={"If-Modified-Since": past}).status, 200, "IMS past")
        eq(F.s3("GET", "cond", headers={"If-Unmodified-Since": past}).status, 412, "IUS past")
        eq(F.s3("GET", "cond", headers={"If-Unmodified-Since": future}).status, 200,
           "IUS future")
        eq(F.s3("GET", "cond", headers={"If-Match": etag, "If-Unmodified-Since": past}).status,
           200, "If-Match true beats If-Unmodified-Since false")
        eq(F.s3("GET", "cond", headers={"If-None-Match": '"00"', "If-Modified-Since": future}
                ).status, 200, "If-None-Match false beats If-Modified-Since")
        eq(F.s3("GET", "cond", headers={"If-Modified-Since": "garbage"}).status, 200,
           "bad date ignored")

    @check("Range: 206 with Content-Range, suffix range, 416 InvalidRange")
    def _():
        F.s3("PUT", "ranged", b"0123456789")
        r = F.s3("GET", "ranged", headers={"Range": "bytes=2-4"})
        eq((r.status, r.body, r.headers.get("content-range")), (206, b"234", "bytes 2-4/10"),
           "2-4")
        eq(F.s3("GET", "ranged", headers={"Range": "bytes=-3"}).body, b"789", "suffix")
        eq(F.s3("GET", "ranged", headers={"Range": "bytes=8-"}).body, b"89", "open")
        expect_error(F.s3("GET", "ranged", headers={"Range": "bytes=10-"}), 416,
                     "InvalidRange", "past the end")

    @check("ListObjectsV2: prefix, delimiter, max-keys with continuation, start-after, "
           "encoding-type=url")
    def _():
        keys = ["list/a", "list/b/1", "list/b/2", "list/c", "list/d e", "lisz"]
        for k in keys:
            F.s3("PUT", k, k.encode())

        def ls(*q):
            r = F.s3("GET", raw_path="/" + BUCKET, query=[("list-type", "2")] + list(q))
            eq(r.status, 200, "list %r (%r)" % (q, r))
            root = ET.fromstring(r.body)
            eq(root.tag, NS + "ListBucketResult", "root element")
            return (root, [c.findtext(NS + "Key") for c in root.iter(NS + "Contents")],
                    [p.findtext(NS + "Prefix") for p in root.iter(NS + "CommonPrefixes")])
        root, got, _ = ls(("prefix", "list/"))
        eq(got, keys[:5], "prefix")
        eq(root.findtext(NS + "KeyCount"), "5", "KeyCount")
        c = next(root.iter(NS + "Contents"))
        eq((c.findtext(NS + "ETag"), c.findtext(NS + "Size")),
           ('"%s"' % hashlib.md5(b"list/a").hexdigest(), "6"), "ETag and Size")
        true(c.findtext(NS + "LastModified").endswith(".000Z"), "LastModified")
        _, got, cps = ls(("prefix", "list/"), ("delimiter", "/"))
        eq((got, cps), (["list/a", "list/c", "list/d e"], ["list/b/"]), "delimiter")
        seen, token, pages = [], None, 0
        while True:
            q = [("prefix", "list/"), ("max-keys", "2")]
            if token:
                q.append(("continuation-token", token))
            root, got, _ = ls(*q)
            seen += got
            pages += 1
            if root.findtext(NS + "IsTruncated") != "true":
                break
            token = root.findtext(NS + "NextContinuationToken")
            true(token, "NextContinuationToken")
        eq((seen, pages), (keys[:5], 3), "pages")
        _, got, _ = ls(("prefix", "list/"), ("start-after", "list/b/2"))
        eq(got, ["list/c", "list/d e"], "start-after")
        _, got, _ = ls(("prefix", "list/d"), ("encoding-type", "url"))
        eq(got, ["list/d%20e"], "encoding-type=url")
        r = F.s3("GET", raw_path="/" + BUCKET, query=[("list-type", "2"),
                                                      ("continuation-token", "@@")])
        expect_error(r, 400, "InvalidArgument", "bad token")
        r = F.s3("GET", raw_path="/" + BUCKET, query=[("prefix", "list/")])
        expect_error(r, 501, "NotImplemented", "ListObjects v1")
        _, got, _ = ls(("prefix", "nothing/"))
        eq(got, [], "empty listing")

    @check("a 64 MiB object: signed PUT, GET back byte-identical (timed)")
    def _():
        big = os.urandom(1024 * 1024) * 64
        t0 = time.monotonic()
        r = F.s3("PUT", "snapshots/data.mdb", big, {"If-None-Match": "*"})
        t1 = time.monotonic()
        eq(r.status, 200, "PUT (%r)" % r)
        eq(r.headers["etag"], '"%s"' % hashlib.md5(big).hexdigest(), "ETag")
        g = F.s3("GET", "snapshots/data.mdb")
        t2 = time.monotonic()
        eq(g.status, 200, "GET")
        true(g.body == big, "body differs (%d bytes back)" % len(g.body))
        print("# 64 MiB: PUT %.2f s, GET %.2f s (TLS, loopback, SigV4 with the body hash)"
              % (t1 - t0, t2 - t1))
        F.s3("DELETE", "snapshots/data.mdb")

    @check("over max_object_bytes: 400 EntityTooLarge without reading the body; fake serves on")
    def _():
        F.admin("POST", "settings", {"max_object_bytes": 1024 * 1024})
        try:
            n = 2 * 1024 * 1024
            c = F.connect()
            try:
                # As curl does for a large upload: headers with Expect: 100-continue, then
                # the body only after "100 Continue", which must not come.
                path = "/%s/too-big" % BUCKET
                h = {"Host": "localhost:%d" % F.port, "x-amz-date": amz_now(),
                     "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "Content-Length": str(n),
                     "Expect": "100-continue"}
                h["Authorization"] = authorization("PUT", path, [], h, "UNSIGNED-PAYLOAD",
                                                   AKID, SECRET, REGION, h["x-amz-date"])
                c.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
                for k, v in h.items():
                    c.putheader(k, v)
                c.endheaders()
                resp = c.getresponse()
                r = Resp(resp.status, {k.lower(): v for k, v in resp.getheaders()},
                         resp.read())
            finally:
                c.close()
            expect_error(r, 400, "EntityTooLarge", "2 MiB over 1 MiB")
            eq((r.field("ProposedSize"), r.headers.get("connection")),
               (str(n), "close"), "ProposedSize, connection closed")
            eq(F.s3("PUT", "small", b"x" * 1024).status, 200, "a small PUT afterwards")
            eq(F.s3("GET", "too-big").status, 404, "not stored")
        finally:
            F.admin("POST", "settings", {"max_object_bytes": 1024 * 1024 * 1024})
        st, _, _ = F.admin_raw("POST", "settings", {"max_object_bytes": -1})
        eq(st, 400, "negative max refused")

    @check("user metadata: x-amz-meta-* stored, sent back with GET/HEAD/206, replaced by the "
           "next PUT, signed like every x-amz-*, over 2 KB refused")
    def _():
        digest = hashlib.sha256(b"meta body").hexdigest()
        eq(F.s3("PUT", "meta", b"meta body", {"x-amz-meta-sha256": digest,
                                              "X-Amz-Meta-Note": "a b"}).status, 200, "PUT")
        r = F.s3("GET", "meta")
        eq((r.status, r.headers.get("x-amz-meta-sha256"), r.headers.get("x-amz-meta-note")),
           (200, digest, "a b"), "GET returns it")
        eq(F.s3("HEAD", "meta").headers.get("x-amz-meta-sha256"), digest, "HEAD too")
        r = F.s3("GET", "meta", headers={"Range": "bytes=0-0"})
        eq((r.status, r.headers.get("x-amz-meta-sha256")), (206, digest), "a 206 too")
        eq(F.admin("GET", "object?bucket=%s&key=meta" % BUCKET)["metadata"],
           {"sha256": digest, "note": "a b"}, "admin view")
        eq(F.s3("PUT", "meta", b"other").status, 200, "PUT without metadata")
        eq(F.s3("GET", "meta").headers.get("x-amz-meta-sha256"), None, "replaced: none")
        r = F.s3("PUT", "meta", b"x", {"x-amz-meta-sha256": "1"},
                 after=lambda h: h.update({"x-amz-meta-extra": "unsigned"}))
        eq((r.status, r.code()), (403, "AccessDenied"), "an unsigned x-amz-meta-* header")
        expect_error(F.s3("PUT", "meta", b"x", {"x-amz-meta-big": "v" * 2046}), 400,
                     "MetadataTooLarge", "2 KB + 1")
        eq(F.s3("PUT", "meta", b"x", {"x-amz-meta-ok": "v" * 2046}).status, 200,
           "exactly 2 KB")
        F.admin("POST", "object", {"bucket": BUCKET, "key": "meta", "text": "damaged",
                                   "metadata": {"SHA256": digest}})
        eq(F.s3("GET", "meta").headers.get("x-amz-meta-sha256"), digest,
           "admin-planted metadata (a damaged body that keeps its checksum)")

    @check("Content-MD5 checked; chunked upload 501; POST 405; sub-resources 501")
    def _():
        body = b"md5 body"
        good = base64.b64encode(hashlib.md5(body).digest()).decode()
        eq(F.s3("PUT", "md5", body, {"Content-MD5": good}).status, 200, "right MD5")
        expect_error(F.s3("PUT", "md5", body, {"Content-MD5": base64.b64encode(
            hashlib.md5(b"other").digest()).decode()}), 400, "BadDigest", "wrong MD5")
        expect_error(F.s3("PUT", "md5", body, {"Content-MD5": "nope"}), 400, "InvalidDigest",
                     "garbled MD5")
        c = F.connect()
        try:
            path = "/%s/chunked" % BUCKET
            h = {"Host": "localhost:%d" % F.port, "x-amz-date": amz_now(),
                 "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "Transfer-Encoding": "chunked"}
            h["Authorization"] = authorization("PUT", path, [], h, "UNSIGNED-PAYLOAD", AKID,
                                               SECRET, REGION, h["x-amz-date"])
            c.request("PUT", path, body=iter([b"abc", b"def"]), headers=h,
                      encode_chunked=True)
            r = c.getresponse()
            out = r.read()
            eq((r.status, b"<Code>NotImplemented</Code>" in out), (501, True),
               "chunked (%r)" % out)
        finally:
            c.close()
        expect_error(F.s3("POST", "md5", b"x"), 405, "MethodNotAllowed", "POST")
        expect_error(F.s3("GET", "md5", query=[("acl", "")]), 501, "NotImplemented", "?acl")
        eq(F.s3("GET", "md5", query=[("x-id", "GetObject")]).status, 200, "x-id ignored")

    @check("faults: 503 SlowDown XML with Retry-After, a reset drops the connection, nothing "
           "stored")
    def _():
        F.admin("POST", "s3-error", {"status": 503, "match": {"method": "PUT",
                                                             "path": "/faulty$"},
                                     "times": 1, "retry_after": 2})
        r = F.s3("PUT", "faulty", b"1")
        expect_error(r, 503, "SlowDown", "injected")
        eq((r.field("Message"), r.headers.get("retry-after"),
            r.headers.get("content-type")),
           ("Please reduce your request rate.", "2", "application/xml"), "SlowDown shape")
        eq(F.s3("GET", "faulty").status, 404, "not stored")
        eq(F.s3("PUT", "faulty", b"1").status, 200, "times: 1")
        F.admin("POST", "s3-error", {"status": 500, "match": {"path": "/faulty$"},
                                     "times": 1})
        expect_error(F.s3("GET", "faulty"), 500, "InternalError", "500 InternalError")
        F.admin("POST", "faults", [{"kind": "reset", "match": {"path": "/reset-me$"},
                                    "times": 1}])
        c = F.connect()
        try:
            try:
                F.s3("PUT", "reset-me", b"1", conn=c)
                raise AssertionError("no connection error")
            except (ConnectionError, http.client.HTTPException, OSError):
                pass
        finally:
            c.close()
        eq(F.s3("GET", "reset-me").status, 404, "not stored after a reset")
        F.admin("POST", "faults", [])

    @check("admin: state dump, objects in and out, settings, latency, buckets")
    def _():
        d = F.admin("POST", "object", {"bucket": BUCKET, "key": "seed/x", "text": "seeded",
                                       "content_type": "text/plain"})
        eq(d["etag"], '"%s"' % hashlib.md5(b"seeded").hexdigest(), "admin put ETag")
        eq(F.s3("GET", "seed/x").body, b"seeded", "visible through the API")
        st = F.admin("GET", "state")
        o = st["buckets"][BUCKET]["seed/x"]
        eq((o["size"], o["etag"], o["content_type"]), (6, d["etag"], "text/plain"), "dump")
        true("body_b64" not in o, "no bodies in the dump")
        eq(sorted(st["buckets"]), ["other-bucket", BUCKET], "buckets")
        g = F.admin("GET", "object?bucket=%s&key=seed/x" % BUCKET)
        eq(base64.b64decode(g["body_b64"]), b"seeded", "admin get body")
        eq(F.admin_raw("GET", "object?bucket=%s&key=nope" % BUCKET)[0], 404, "admin get 404")
        eq(F.admin("POST", "delete-object", {"bucket": BUCKET, "key": "seed/x"}),
           {"deleted": True}, "admin delete")
        eq(F.admin("POST", "settings", {"region": REGION})["region"], REGION, "settings")
        eq(F.admin_raw("POST", "settings", {"region": "Bad Region"})[0], 400, "bad region")
        eq(F.admin_raw("POST", "settings", {"nope": 1})[0], 400, "unknown setting")
        F.admin("POST", "latency", {"ms": 300})
        t0 = time.monotonic()
        F.s3("HEAD", "lease")
        took = time.monotonic() - t0
        F.admin("POST", "latency", {"ms": 0})
        true(took >= 0.3, "latency applied (%.3f s)" % took)
        F.admin("POST", "buckets", {"name": "made-by-admin"})
        eq(F.s3("PUT", "k", b"1", bucket="made-by-admin").status, 200, "new bucket usable")
        F.admin("POST", "state", {"buckets": {BUCKET: {"only": {"text": "one"}}}})
        eq(sorted(F.admin("GET", "state")["buckets"]), [BUCKET], "state replaced")
        eq(F.s3("GET", "only").body, b"one", "loaded object")


def start(tmp):
    global F, TMP
    TMP = tmp
    F = Fake(tmp)


if __name__ == "__main__":
    sys.exit(selftest.main("atsrecon-s3-", start, checks, "s3 fake starts"))
