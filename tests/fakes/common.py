"""Base for every fake API server used by the atsrecon tests (Python 3 standard library only).

A fake is a subclass of FakeServer whose methods are decorated with @route:

    import common
    from common import FakeServer, HttpError, route

    class KeapFake(FakeServer):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.contacts = {}

        @route("GET", r"^/crm/rest/v2/contacts/(?P<id>\\d+)$")
        def get_contact(self, req):
            c = self.contacts.get(req.params["id"])
            if c is None:
                raise HttpError(404, {"message": "not found"})
            return 200, {}, c

        def dump_state(self):
            return {"contacts": self.contacts}

        def load_state(self, obj):
            self.contacts = obj.get("contacts", {})

    if __name__ == "__main__":
        common.main(KeapFake)

What the base provides: HTTP/1.1 with keep-alive on 127.0.0.1 only, optional TLS (certificates
from a throwaway CA, see ensure_test_ca), gzip, a JSON-lines request log with secrets redacted,
fault injection (static or changed at runtime), an admin endpoint under /_admin/ (extended with
@admin_route methods), and a bounded lifetime so a fake never outlives its test run.
StatefulFake adds what the API fakes (keap.py, greenhouse.py) share: settings, rate limits, a
shiftable clock and request stats, with their admin endpoints.
"""

import argparse
import collections
import datetime
import fcntl
import gzip
import http.server
import json
import os
import random
import re
import secrets
import signal
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

HOST = "127.0.0.1"
DEFAULT_CERT_NAMES = ("localhost", "fake.test")
DEFAULT_CERTDIR = os.path.join(tempfile.gettempdir(), "atsrecon-fake-ca-%d" % os.getuid())
KEEPALIVE_TIMEOUT_S = 30  # an idle keep-alive connection is closed after this long
REDACTED = "<redacted>"
# A header whose lower-cased name contains one of these never has its value recorded.
SECRET_HEADER_WORDS = ("auth", "token", "key", "secret", "cookie", "pass")
NO_BODY_STATUSES = (204, 304)  # RFC 9110: no body and no Content-Length

TLS_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def note(fmt, *args):
    """One quiet line on stderr for things worth knowing but not worth a traceback."""
    try:
        sys.stderr.write("fake[%d]: %s\n" % (os.getpid(), fmt % args))
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def iso_ms(ms):
    """Epoch ms -> '2026-01-05T10:00:00.123Z'."""
    d = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def check_known(what, known, given):
    """Raises ValueError("unknown WHAT: a, b") if `given` has keys that `known` lacks."""
    unknown = set(given) - set(known)
    if unknown:
        raise ValueError("unknown %s: %s" % (what, ", ".join(sorted(unknown))))


# ---------------------------------------------------------------------------------------------
# Throwaway certificate authority

CertPaths = collections.namedtuple("CertPaths", "ca_pem ca_key server_pem server_key")

_OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[v3_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
subjectAltName = %s
"""


def _openssl(*args):
    """Runs the openssl CLI; returns (rc, stdout+stderr text)."""
    p = subprocess.run(("openssl",) + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, text=True)
    return p.returncode, p.stdout


def _openssl_ok(*args):
    rc, out = _openssl(*args)
    if rc != 0:
        raise RuntimeError("openssl %s failed: %s" % (args[0], out.strip()))


def _cert_fresh(path, min_valid_s=86400):
    """True if path holds a certificate valid for at least min_valid_s more seconds."""
    return os.path.exists(path) and \
        _openssl("x509", "-in", path, "-noout", "-checkend", str(min_valid_s))[0] == 0


def _cert_sans(path):
    """The SAN entries of a certificate as a set like {"DNS:localhost", "IP:127.0.0.1"}."""
    rc, out = _openssl("x509", "-in", path, "-noout", "-ext", "subjectAltName")
    if rc != 0:
        return set()
    sans = set()
    for line in out.splitlines()[1:]:  # first line is the extension's title
        for item in line.split(","):
            item = item.strip().replace("IP Address:", "IP:")
            if item:
                sans.add(item)
    return sans


def _genkey(path):
    _openssl_ok("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", path)
    os.chmod(path, 0o600)


def _serial():
    return "0x%x" % (secrets.randbits(127) | 1)  # random, positive, non-zero, 16 bytes


def ensure_test_ca(dirpath, names=DEFAULT_CERT_NAMES):
    """Makes (once) a throwaway CA and a server certificate for `names` + IP:127.0.0.1 in dirpath.

    Files: ca.pem, ca.key, server.pem, server.key, all EC P-256. The CA has basicConstraints
    CA:TRUE and keyUsage keyCertSign; the server certificate has extendedKeyUsage serverAuth,
    which mbedTLS 3.6 insists on. Existing files are reused while they are valid for at least
    another day, chain to the CA and cover every requested name; a server certificate that is
    missing names is reissued for the union of old and new names, so fakes asking for different
    names in one directory do not keep replacing each other's certificate. Safe to call from
    several processes at once (flock). Returns a CertPaths.
    """
    for n in names:
        if not re.fullmatch(r"[A-Za-z0-9*.-]+", n):
            raise ValueError("bad certificate name %r" % n)
    os.makedirs(dirpath, mode=0o700, exist_ok=True)
    p = CertPaths(*(os.path.join(dirpath, f)
                    for f in ("ca.pem", "ca.key", "server.pem", "server.key")))
    wanted = {"DNS:" + n for n in names} | {"IP:127.0.0.1"}
    with open(os.path.join(dirpath, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ca_ok = _cert_fresh(p.ca_pem) and os.path.exists(p.ca_key)
        have = set()
        if ca_ok and _cert_fresh(p.server_pem) and os.path.exists(p.server_key) and \
                _openssl("verify", "-CAfile", p.ca_pem, p.server_pem)[0] == 0:
            have = _cert_sans(p.server_pem)
            if wanted <= have:
                return p
        with tempfile.TemporaryDirectory(dir=dirpath) as tmp:
            cnf = os.path.join(tmp, "openssl.cnf")
            with open(cnf, "w") as f:
                f.write(_OPENSSL_CNF % ", ".join(sorted(wanted | have)))
            t = CertPaths(*(os.path.join(tmp, os.path.basename(x)) for x in p))
            if not ca_ok:
                _genkey(t.ca_key)
                _openssl_ok("req", "-new", "-x509", "-config", cnf, "-extensions", "v3_ca",
                            "-key", t.ca_key, "-subj", "/CN=atsrecon test CA",
                            "-days", "3650", "-sha256", "-set_serial", _serial(),
                            "-out", t.ca_pem)
            ca_pem = p.ca_pem if ca_ok else t.ca_pem
            ca_key = p.ca_key if ca_ok else t.ca_key
            csr = os.path.join(tmp, "server.csr")
            _genkey(t.server_key)
            _openssl_ok("req", "-new", "-config", cnf, "-key", t.server_key,
                        "-subj", "/CN=%s" % names[0], "-out", csr)
            _openssl_ok("x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key,
                        "-set_serial", _serial(), "-days", "825", "-sha256",
                        "-extfile", cnf, "-extensions", "v3_server", "-out", t.server_pem)
            # Keys before certificates, so a file never names a key that is not there yet.
            if not ca_ok:
                os.replace(t.ca_key, p.ca_key)
                os.replace(t.ca_pem, p.ca_pem)
            os.replace(t.server_key, p.server_key)
            os.replace(t.server_pem, p.server_pem)
    return p


# ---------------------------------------------------------------------------------------------
# Requests, responses, routes

class Request:
    """One parsed HTTP request as a route handler sees it."""

    def __init__(self, method, raw_path, query, headers, body, params=None, tls_version=None):
        self.method = method
        self.raw_path = raw_path  # path as sent on the request line, still percent-encoded
        self.path = urllib.parse.unquote(raw_path)
        self.query = query  # {name: [value, ...]}
        self.headers = headers  # http.client.HTTPMessage: case-insensitive .get()
        self.body = body  # raw bytes
        self.json = None  # parsed body, or None if empty or not JSON (see json_error)
        self.json_error = None
        if body:
            try:
                self.json = json.loads(body)
            except ValueError as e:
                self.json_error = str(e)
        self.params = params or {}  # named groups of the route's regex
        self.tls_version = tls_version  # "TLSv1.3", "TLSv1.2" or None for plain HTTP

    def arg(self, name, default=None):
        """The first value of query parameter `name`, or default."""
        v = self.query.get(name)
        return v[0] if v else default


class HttpError(Exception):
    """Raise from a handler to answer with this status, body and headers."""

    def __init__(self, status, body=None, headers=None):
        super().__init__(status)
        self.status = status
        self.body = body if body is not None else {"error": http_reason(status)}
        self.headers = headers or {}


def http_reason(status):
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "status %d" % status


def route(method, pattern, *, lock=True):
    """Marks a FakeServer method as the handler of `method` requests whose path matches `pattern`.

    The handler is called as handler(self, req) and returns (status, headers, body); body may
    be a dict or list (sent as JSON), bytes, str or None. Named groups of the pattern are in
    req.params. By default the handler runs holding self.lock; pass lock=False for handlers
    that block (long polls) and take self.lock themselves when touching shared state. One
    method may carry several @route decorators. A subclass re-registering the same method and
    pattern replaces the inherited route.
    """
    re.compile(pattern)  # fail at import time on a bad pattern

    def mark(fn):
        fn.__dict__.setdefault("_fake_routes", []).append((method.upper(), pattern, lock))
        return fn
    return mark


def admin_route(method, path):
    """Marks a FakeServer method as the handler of `method` requests to the admin path `path`
    ("/_admin/NAME", matched exactly; tried before the built-in admin endpoints).

    The handler is called as handler(self, req, body) holding self.lock, body being the
    request's JSON object ({} for an empty body), and returns the JSON-able answer, sent with
    200. A body that is not a JSON object is a 400, and so is a KeyError, TypeError or
    ValueError from the handler; an HttpError gives its own answer. One method may carry
    several @admin_route decorators; a subclass overrides a handler by redefining the method.
    """
    if not path.startswith("/_admin/"):
        raise ValueError("admin path %r is not under /_admin/" % path)

    def mark(fn):
        fn.__dict__.setdefault("_fake_admin", []).append((method.upper(), path))
        return fn
    return mark


def encode_body(body, headers):
    """Turns a handler's body into bytes, setting a default Content-Type in headers."""
    if body is None:
        return b""
    if isinstance(body, (dict, list)):
        headers.setdefault("Content-Type", "application/json")
        return json.dumps(body, separators=(",", ":")).encode()
    if isinstance(body, str):
        headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        return body.encode()
    if isinstance(body, (bytes, bytearray)):
        headers.setdefault("Content-Type", "application/octet-stream")
        return bytes(body)
    raise TypeError("handler body must be dict, list, str, bytes or None, not %s"
                    % type(body).__name__)


def is_secret_header(name):
    name = name.lower()
    return any(w in name for w in SECRET_HEADER_WORDS)


def redacted_headers(headers):
    """Header name -> value with every secret-bearing value replaced by "<redacted>"."""
    out = {}
    for name, value in headers.items():
        value = REDACTED if is_secret_header(name) else value
        out[name] = out[name] + ", " + value if name in out and value != REDACTED else value
    return out


def accepts_gzip(headers):
    """True if Accept-Encoding lists gzip with a non-zero q-value."""
    for part in headers.get("Accept-Encoding", "").split(","):
        coding, *params = part.split(";")
        if coding.strip().lower() != "gzip":
            continue
        q = 1.0
        for param in params:
            k, _, v = param.partition("=")
            if k.strip().lower() == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        return q > 0
    return False


# ---------------------------------------------------------------------------------------------
# Fault injection

MALFORMED_BODY = b'{"data":[{"id":1,"email":"broken@example.com"},{"id":2,"email":"trunc'


def oversize_body(n):
    """Exactly n bytes of valid JSON: an array of small records, then padding to the size."""
    head, tail = b'{"data":[', b'],"pad":""}'
    parts, size, i = [head], len(head) + len(tail), 0
    while True:
        item = b'{"id":%d,"email":"user%d@example.com"}' % (i, i)
        extra = len(item) + (1 if i else 0)
        if size + extra > n:
            break
        parts.append(b"," + item if i else item)
        size += extra
        i += 1
    parts.append(b'],"pad":"' + b"x" * (n - size) + b'"}')
    return b"".join(parts)


class FaultRule:
    """One fault rule; see FakeServer.set_faults for the JSON form.

    A rule counts the requests that match it (`seen`) and how often it fired (`fired`).
    Trigger order: skip the first `after` matches; stop after `times` firings; then fire on
    every `every`-th remaining match, or with probability `probability` drawn from its own
    random.Random(seed), or on every match if neither is given.
    """

    KINDS = {
        "status": {"status", "body", "headers"},
        "reset": set(),
        "delay": {"ms"},
        "truncate": {"keep"},
        "cut": {"keep"},
        "midreset": {"keep"},
        "malformed": {"body"},
        "oversize": {"bytes"},
    }
    COMMON = {"name", "kind", "match", "every", "probability", "seed", "times", "after"}
    # Kinds that replace the response; `process: true` still runs the handler first, as when
    # a server commits a write and the answer is lost on the way back.
    REPLACING = {"status", "reset", "malformed", "oversize"}

    def __init__(self, spec, index):
        if not isinstance(spec, dict):
            raise ValueError("fault rule %d: not an object" % index)
        kind = spec.get("kind")
        if kind not in self.KINDS:
            raise ValueError("fault rule %d: kind must be one of %s"
                             % (index, ", ".join(sorted(self.KINDS))))
        allowed = self.COMMON | self.KINDS[kind] | ({"process"} if kind in self.REPLACING
                                                    else set())
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError("fault rule %d (%s): unknown keys %s"
                             % (index, kind, ", ".join(sorted(unknown))))
        self.spec = spec
        self.kind = kind
        self.name = spec.get("name") or "%s#%d" % (kind, index)
        match = spec.get("match") or {}
        if set(match) - {"method", "path"}:
            raise ValueError("fault rule %d: match takes only method and path" % index)
        methods = match.get("method")
        self.methods = None if methods is None else \
            {m.upper() for m in ([methods] if isinstance(methods, str) else methods)}
        self.path_re = re.compile(match.get("path", ""))
        if "every" in spec and "probability" in spec:
            raise ValueError("fault rule %d: every and probability exclude each other" % index)
        self.every = self._int(spec, "every", 1, index)
        self.times = self._int(spec, "times", 0, index)
        self.after = self._int(spec, "after", 0, index) or 0
        self.probability = spec.get("probability")
        if self.probability is not None and not 0 <= self.probability <= 1:
            raise ValueError("fault rule %d: probability must be in [0, 1]" % index)
        self.rng = random.Random(spec.get("seed", 0))
        self.process = bool(spec.get("process", False))
        self.status = self._int(spec, "status", 100, index) or 500
        self.headers = dict(spec.get("headers") or {})
        self.ms = self._int(spec, "ms", 0, index) or 0
        self.keep = self._int(spec, "keep", 0, index)  # None: half the body
        self.body = None  # the replacement body, for kinds that have one
        if kind == "status":
            self.body = spec.get("body", {"error": "injected fault", "status": self.status})
        elif kind == "malformed":
            self.body = spec.get("body", MALFORMED_BODY)
        elif kind == "oversize":
            self.body = oversize_body(self._int(spec, "bytes", 32, index) or 5 * 1024 * 1024)
        self.seen = 0
        self.fired = 0

    @staticmethod
    def _int(spec, key, minimum, index):
        v = spec.get(key)
        if v is None:
            return None
        if not isinstance(v, int) or isinstance(v, bool) or v < minimum:
            raise ValueError("fault rule %d: %s must be an integer >= %d" % (index, key, minimum))
        return v

    def matches(self, method, path):
        return (self.methods is None or method in self.methods) and \
            self.path_re.search(path) is not None

    def fires(self):
        """Counts one matching request and says whether the fault applies to it."""
        self.seen += 1
        if self.seen <= self.after or (self.times is not None and self.fired >= self.times):
            return False
        if self.every is not None:
            fire = (self.seen - self.after) % self.every == 0
        elif self.probability is not None:
            fire = self.rng.random() < self.probability
        else:
            fire = True
        self.fired += fire
        return fire

    def describe(self):
        return dict(self.spec, name=self.name, seen=self.seen, fired=self.fired)


def load_fault_specs(text):
    """Fault rules from JSON text: a list of rules or {"rules": [...]}."""
    obj = json.loads(text)
    if isinstance(obj, dict):
        obj = obj.get("rules")
    if not isinstance(obj, list):
        raise ValueError('faults must be a JSON list of rules or {"rules": [...]}')
    return obj


# ---------------------------------------------------------------------------------------------
# The request handler (one instance per connection, in its own thread)

class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "atsrecon-fake/1"
    sys_version = ""
    timeout = KEEPALIVE_TIMEOUT_S

    def setup(self):
        self.conn_id = self.server.next_conn_id()
        # Headers and body go out in two sends: without TCP_NODELAY, Nagle plus the client's
        # delayed ACK would add ~40 ms to every keep-alive request.
        try:
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        ctx = self.server.ssl_context
        if ctx is not None:
            # Handshake here, in the connection's thread, so a slow or broken client cannot
            # stall the accept loop. Errors go to FakeServer.handle_error (one quiet line).
            self.request.settimeout(self.timeout)
            self.request = ctx.wrap_socket(self.request, server_side=True)
        super().setup()

    def finish(self):
        try:
            super().finish()
        finally:
            if self.server.ssl_context is not None:
                self.connection.close()  # wrap_socket detached the socket the server closes

    # Every method goes through one dispatcher; others get 501 from the base class.
    def do_GET(self):
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        pass  # the JSON log records every request; log_error below reports protocol errors

    def log_error(self, fmt, *args):
        note("%s: %s", self.client_address[1], fmt % args)

    def _read_body(self):
        """The request body, or None if it is malformed or the client went away."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0], 16)
                except ValueError:
                    return None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunk = self.rfile.read(size)
                if len(chunk) != size:
                    return None
                chunks.append(chunk)
                self.rfile.readline(1024)
        try:
            n = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            return None
        if n < 0:
            return None
        body = self.rfile.read(n)
        return body if len(body) == n else None

    def _serve(self):
        srv = self.server
        t0 = time.monotonic()
        srv.activity(+1)
        try:
            self._serve_one(srv, t0)
        finally:
            srv.activity(-1)

    def _serve_one(self, srv, t0):
        split = urllib.parse.urlsplit(self.path)
        raw_path = split.path or "/"
        query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        body = self._read_body()
        tls = self.connection.version() if isinstance(self.connection, ssl.SSLSocket) else None
        entry = {"seq": None, "ts": None, "conn": self.conn_id, "method": self.command,
                 "path": raw_path, "query": query, "error": None}
        if body is None:
            self.close_connection = True
            self._send(400, {}, {"error": "bad request body"})
            srv.log_request(entry, self, 0, 400, None, t0, tls)
            return
        req = Request(self.command, raw_path, query, self.headers, body, tls_version=tls)

        if req.path.startswith("/_admin/"):
            if self.client_address[0] != HOST:
                self._send(403, {}, {"error": "admin is local only"})
                return
            self.after_response = None
            self._send(*srv.handle_admin(req, self))
            if self.after_response is not None:
                self.after_response()
            return

        if srv.latency_ms:
            time.sleep(srv.latency_ms / 1000)
        fault = srv.pick_fault(req.method, req.path)
        kind = fault.kind if fault else None
        if kind == "delay":
            time.sleep(fault.ms / 1000)
        if fault is None or kind not in FaultRule.REPLACING or fault.process:
            status, headers, out = srv.dispatch(req)
        if kind == "status":
            status, headers, out = fault.status, dict(fault.headers), fault.body
        elif kind in ("malformed", "oversize"):
            status, headers, out = 200, {"Content-Type": "application/json"}, fault.body
        elif kind == "reset":
            self._reset()
            srv.log_request(entry, self, len(body), None, fault, t0, tls)
            return
        try:
            sent = self._send(status, headers, out, truncate=kind == "truncate",
                              keep=fault.keep if fault else None, cut=kind == "cut",
                              midreset=kind == "midreset")
        except OSError as e:  # the client went away; still log the request, then drop it
            entry["error"] = type(e).__name__
            srv.log_request(entry, self, len(body), status, fault, t0, tls)
            raise
        srv.log_request(entry, self, len(body), status, fault, t0, tls, sent)

    def _send(self, status, headers, body, truncate=False, keep=None, cut=False,
              midreset=False):
        """Writes one response; returns the number of body bytes written.

        With truncate, only `keep` body bytes (default half) follow the full Content-Length,
        then the connection closes. With cut, the body itself is cut to `keep` bytes (default
        half, at least 1) before any compression and sent with an honest Content-Length: a
        complete HTTP answer whose JSON is incomplete. With midreset, `keep` bytes (default
        half) follow the full Content-Length, then the connection is reset (TCP RST).
        """
        headers = {k: v for k, v in headers.items()
                   if k.lower() not in ("content-length", "connection")}
        data = encode_body(body, headers)
        if cut and status not in NO_BODY_STATUSES:
            if not data:
                data = b'{"cut":true}'
            data = data[:max(1, min(len(data) // 2 if keep is None else keep, len(data) - 1))]
        if midreset:
            truncate = True
        if status in NO_BODY_STATUSES:
            data = b""
        elif data and self.server.use_gzip and accepts_gzip(self.headers) and \
                not any(k.lower() == "content-encoding" for k in headers):
            data = gzip.compress(data, compresslevel=6, mtime=0)
            headers["Content-Encoding"] = "gzip"
            headers["Vary"] = "Accept-Encoding"
        if truncate:
            if not data:  # nothing to cut: announce a body that never comes
                data = b'{"truncated":true}'
            keep = min(len(data) // 2 if keep is None else keep, len(data) - 1)
        self.send_response(status)
        for k, v in headers.items():
            for one in (v if isinstance(v, list) else [v]):
                self.send_header(k, str(one))
        if status not in NO_BODY_STATUSES:
            self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        out = data[:keep] if truncate else data
        if out:
            self.wfile.write(out)
        if midreset:
            self.wfile.flush()
            self._reset()
        elif truncate:  # closed without notice: the client must see the short body itself
            self.close_connection = True
        return len(out)

    def _reset(self):
        """Drops the connection with a TCP RST (SO_LINGER 0) and no response."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.connection.close()  # the fd closes, with the RST, when rfile/wfile close


# ---------------------------------------------------------------------------------------------
# The server

class FakeServer(http.server.ThreadingHTTPServer):
    """A threaded HTTP/1.1 server on 127.0.0.1 with routing, faults, a request log and admin.

    Subclass hooks:
      @route(...) methods         API handlers (see route()).
      @admin_route(...) methods   more /_admin/ endpoints (see admin_route()).
      add_arguments(parser)       classmethod: extra CLI options for main().
      configure(args)             called by main() with the parsed options, before --state.
      dump_state() / load_state() JSON-able state for GET/POST /_admin/state and --state.
                                  The default keeps one JSON object in self.state.
    Shared state must be touched only under self.lock (an RLock); @route handlers hold it
    unless declared with lock=False.
    """

    daemon_threads = True  # open keep-alive connections never keep the process alive
    request_queue_size = 128
    _route_table = {}
    _admin_table = {}  # (method, path) -> method name, from @admin_route

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        table = dict(cls._route_table)  # inherited routes first; same key is overridden
        admin = dict(cls._admin_table)
        for name, fn in vars(cls).items():
            for method, pattern, lock in getattr(fn, "_fake_routes", ()):
                table[(method, pattern)] = (name, lock)
            for key in getattr(fn, "_fake_admin", ()):
                admin[key] = name
        cls._route_table = table
        cls._routes = [(m, re.compile(p), name, lock) for (m, p), (name, lock) in table.items()]
        cls._admin_table = admin

    def __init__(self, port=0, *, certdir=None, cert_names=DEFAULT_CERT_NAMES, tls_min=None,
                 tls_max=None, log_path=None, faults=(), idle_timeout=60, max_lifetime=600,
                 latency_ms=0, use_gzip=True):
        """certdir None means plain HTTP; otherwise TLS with ensure_test_ca(certdir, cert_names)
        and tls_min/tls_max "1.2" or "1.3" (None: 1.2 and 1.3). idle_timeout/max_lifetime in
        seconds, 0 disables. faults is a list of rule specs (see set_faults)."""
        self.lock = threading.RLock()
        self.state = {}
        self.use_gzip = use_gzip
        self.latency_ms = latency_ms
        self.idle_timeout = idle_timeout
        self.max_lifetime = max_lifetime
        self.ssl_context = None
        self.cert_paths = None
        if certdir is not None:
            self.cert_paths = ensure_test_ca(certdir, cert_names)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.cert_paths.server_pem, self.cert_paths.server_key)
            ctx.minimum_version = TLS_VERSIONS[tls_min or "1.2"]
            ctx.maximum_version = TLS_VERSIONS[tls_max or "1.3"]
            self.ssl_context = ctx
        self.faults = []
        self.set_faults(faults)
        self.requests = []  # in-memory copy of the log, cleared by /_admin/reset-log
        self._seq = 0  # log sequence number; never reset, so the file's entries stay unique
        self._conns = 0
        self._active = 0
        self.started = self._last_activity = time.monotonic()
        self.stop_reason = None
        super().__init__((HOST, port), _Handler)
        self._log = open(log_path, "a", encoding="utf-8") if log_path else None

    def server_bind(self):
        # HTTPServer.server_bind would do a reverse DNS lookup (getfqdn); none is needed here.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    @property
    def port(self):
        return self.server_address[1]

    @property
    def base_url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.ssl_context else "http", self.port)

    # --- hooks -------------------------------------------------------------------------------

    @classmethod
    def add_arguments(cls, parser):
        """Adds subclass-specific options to main()'s argparse parser."""

    def configure(self, args):
        """Receives main()'s parsed options (including those from add_arguments)."""

    def dump_state(self):
        """The fake's state as a JSON-able object (called holding self.lock)."""
        return self.state

    def load_state(self, obj):
        """Replaces the fake's state (called holding self.lock)."""
        if not isinstance(obj, dict):
            raise HttpError(400, {"error": "state must be a JSON object"})
        self.state = obj

    # --- routing -----------------------------------------------------------------------------

    def dispatch(self, req):
        """Runs the route for req; returns (status, headers, body)."""
        allowed = []
        for method, regex, name, lock in self._routes:
            m = regex.search(req.path)
            if m is None:
                continue
            if method != req.method:
                allowed.append(method)
                continue
            req.params = m.groupdict()
            try:
                if lock:
                    with self.lock:
                        status, headers, body = getattr(self, name)(req)
                else:
                    status, headers, body = getattr(self, name)(req)
            except HttpError as e:
                return e.status, dict(e.headers), e.body
            except Exception:  # a bug in the fake: loud on stderr, 500 to the client
                traceback.print_exc()
                return 500, {}, {"error": "fake handler crashed", "handler": name}
            return status, dict(headers or {}), body
        if allowed:
            return 405, {"Allow": ", ".join(sorted(set(allowed)))}, \
                {"error": "method not allowed", "method": req.method, "path": req.path}
        return 404, {}, {"error": "not found", "method": req.method, "path": req.path}

    # --- faults ------------------------------------------------------------------------------

    def set_faults(self, specs):
        """Replaces the fault rules, resetting their counters and random generators.

        Each rule is a JSON object:
          {"name": "optional label for the log",
           "match": {"method": "GET" | ["GET", ...], "path": "regex (re.search)"},
           "kind": "status" | "reset" | "delay" | "truncate" | "cut" | "midreset" |
                   "malformed" | "oversize",
           "status": 429, "headers": {"Retry-After": "1"}, "body": {...}   (status)
           "ms": 1500                                                     (delay)
           "keep": 10       body bytes sent before closing (default half)  (truncate)
                            or before the reset (midreset), or the length the body
                            is cut to, with an honest Content-Length            (cut)
           "body": "text"   replaces the default broken JSON               (malformed)
           "bytes": 5242880 size of the valid JSON body (default 5 MiB)     (oversize)
           "process": true  run the handler before replacing its answer (status, reset,
                            malformed, oversize)
           "every": N | "probability": p, "seed": s, "times": k, "after": k}
        Rules are tried in order; the first that fires wins. Raises ValueError.
        """
        rules = [FaultRule(s, i) for i, s in enumerate(specs)]
        with self.lock:
            self.faults = rules

    def pick_fault(self, method, path):
        with self.lock:
            for rule in self.faults:
                if rule.matches(method, path) and rule.fires():
                    return rule
        return None

    # --- request log -------------------------------------------------------------------------

    def log_request(self, entry, handler, body_bytes, status, fault, t0, tls, resp_bytes=0):
        """Completes entry (seq, ts, conn, method, path, query, error already there) and
        appends it to the in-memory log and the JSON-lines file. error names the exception
        when the response could not be written (client gone), else null."""
        headers = handler.headers
        auth = headers.get("Authorization")
        entry.update(
            ts=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
            tls=tls,
            headers=redacted_headers(headers),
            redacted=sorted({n.lower() for n in headers.keys() if is_secret_header(n)}),
            auth=auth is not None,
            # The scheme ("Bearer", "Basic") is not secret and tells tests which one was used.
            auth_scheme=auth.split(" ", 1)[0] if auth and " " in auth else None,
            body_bytes=body_bytes,
            status=status,
            resp_bytes=resp_bytes,
            fault=fault.name if fault else None,
            latency_ms=round((time.monotonic() - t0) * 1000, 2),
        )
        with self.lock:
            entry["seq"] = self._seq
            self._seq += 1
            self.requests.append(entry)
            if self._log is not None:
                self._log.write(json.dumps(entry, separators=(",", ":")) + "\n")
                self._log.flush()

    # --- admin -------------------------------------------------------------------------------

    def handle_admin(self, req, handler):
        """Serves /_admin/*; returns (status, headers, body). Never logged, never faulted."""
        what = (req.method, req.path)
        name = self._admin_table.get(what)
        if name is not None:
            return self.run_admin(getattr(self, name), req)
        try:
            if what == ("GET", "/_admin/state"):
                with self.lock:
                    return 200, {}, self.dump_state()
            if what == ("POST", "/_admin/state"):
                if req.json is None and req.body.strip() != b"null":
                    raise HttpError(400, {"error": "body is not JSON",
                                          "detail": req.json_error})
                try:
                    with self.lock:
                        self.load_state(req.json)
                except (KeyError, TypeError, ValueError) as e:
                    raise HttpError(400, {"error": "state rejected: %s: %s"
                                          % (type(e).__name__, e)})
                return 200, {}, {"ok": True}
            if what == ("GET", "/_admin/faults"):
                with self.lock:
                    return 200, {}, {"rules": [r.describe() for r in self.faults]}
            if what == ("POST", "/_admin/faults"):
                try:
                    self.set_faults(load_fault_specs(req.body or b"[]"))
                except ValueError as e:
                    raise HttpError(400, {"error": str(e)})
                return 200, {}, {"ok": True, "rules": len(self.faults)}
            if what == ("GET", "/_admin/requests"):
                try:
                    since = int(req.arg("since", "0"))
                except ValueError:
                    raise HttpError(400, {"error": "since must be an integer"})
                with self.lock:
                    return 200, {}, {"next": self._seq,
                                     "requests": [e for e in self.requests if e["seq"] >= since]}
            if what == ("POST", "/_admin/reset-log"):
                with self.lock:
                    self.requests = []
                    return 200, {}, {"ok": True, "next": self._seq}
            if what == ("POST", "/_admin/shutdown"):
                # Stop once the answer is out: the process exits soon after serve() returns.
                handler.close_connection = True
                handler.after_response = threading.Thread(
                    target=self.stop, args=("admin shutdown",), daemon=True).start
                return 200, {}, {"ok": True}
        except HttpError as e:
            return e.status, dict(e.headers), e.body
        return 404, {}, {"error": "no such admin endpoint", "path": req.path}

    def run_admin(self, fn, req):
        """Runs an @admin_route handler (bound method fn) as admin_route() describes."""
        if req.body.strip() and req.json is None:
            return 400, {}, {"error": "body is not JSON", "detail": req.json_error}
        body = req.json if req.json is not None else {}
        if not isinstance(body, dict):
            return 400, {}, {"error": "body must be a JSON object"}
        try:
            with self.lock:
                return 200, {}, fn(req, body)
        except HttpError as e:
            return e.status, dict(e.headers), e.body
        except (KeyError, TypeError, ValueError) as e:
            return 400, {}, {"error": "%s: %s" % (type(e).__name__, e)}

    # --- lifetime ----------------------------------------------------------------------------

    def next_conn_id(self):
        with self.lock:
            self._conns += 1
            return self._conns

    def activity(self, delta):
        """Marks a request starting (+1) or ending (-1); the idle clock runs when none is."""
        with self.lock:
            self._active += delta
            self._last_activity = time.monotonic()

    def stop(self, reason):
        """Stops serve(); callable from any thread except the one running serve()."""
        with self.lock:
            if self.stop_reason is not None:
                return
            self.stop_reason = reason
        self.shutdown()

    def _watchdog(self, done):
        while not done.wait(0.1):
            now = time.monotonic()
            with self.lock:
                idle = self._active == 0 and now - self._last_activity
            if self.idle_timeout and idle and idle >= self.idle_timeout:
                self.stop("idle for %ss" % self.idle_timeout)
            elif self.max_lifetime and now - self.started >= self.max_lifetime:
                self.stop("max lifetime %ss reached" % self.max_lifetime)
            else:
                continue
            return

    def serve(self):
        """Serves until stop() or a lifetime limit; closes the server; returns the reason."""
        done = threading.Event()
        threading.Thread(target=self._watchdog, args=(done,), daemon=True).start()
        try:
            self.serve_forever(poll_interval=0.1)
        finally:
            done.set()
            self.server_close()
            if self._log is not None:
                with self.lock:
                    self._log.close()
                    self._log = None
        return self.stop_reason

    def handle_error(self, request, client_address):
        """Client disconnects and TLS failures are normal here: one line, no traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):  # includes ConnectionError, TimeoutError, ssl.SSLError
            note("%s: %s: %s", client_address[1], type(exc).__name__, exc)
        else:
            super().handle_error(request, client_address)


# ---------------------------------------------------------------------------------------------
# The base of the stateful API fakes

class StatefulFake(FakeServer):
    """A FakeServer with a world: settings, rate limits, a shiftable clock and request stats.

    Subclass data and hooks:
      default_settings, default_limits  dicts that reset_world() copies to self.settings and
                                        self.limits; the admin endpoints take only their keys
      new_stats()                       staticmethod: fresh counters for self.stats
      reset_world()                     extend it (calling this one) to reset the records too
      check_limit(name, value)          raise ValueError to refuse a limit's new value
      limits_changed()                  after POST /_admin/limits has changed self.limits
      reset_counters()                  forget the rate-limit counts (POST /_admin/reset-counters)
      stats_extra()                     more keys for GET /_admin/stats
      move_clock(body)                  more POST /_admin/clock options, after advance_s/offset_s
      clock_now_ms                      True: GET /_admin/clock also answers now_ms (epoch ms)
    Admin endpoints (all answer JSON objects):
      GET  /_admin/stats                self.stats (plus stats_extra())
      POST /_admin/stats/reset          self.stats = new_stats()
      GET|POST /_admin/settings         read / merge the settings
      GET|POST /_admin/limits           read / merge the rate limits
      POST /_admin/reset-counters       reset_counters()
      GET|POST /_admin/clock            {advance_s} or {offset_s}: shift the fake's clock;
                                        answers {now (ISO ms Z), [now_ms,] offset_ms}
    """

    default_settings = {}
    default_limits = {}
    clock_now_ms = False

    def reset_world(self):
        """Settings and limits to their defaults, the clock to real time, fresh stats."""
        self.settings = dict(self.default_settings)
        self.limits = dict(self.default_limits)
        self.clock_offset_ms = 0
        self.last_write_ms = 0
        self.stats = self.new_stats()

    @staticmethod
    def new_stats():
        return {}

    def now_ms(self):
        """The fake's clock: real time shifted by clock_offset_ms, in epoch ms."""
        return int(datetime.datetime.now(datetime.timezone.utc).timestamp() * 1000) + \
            self.clock_offset_ms

    def write_stamp(self):
        """The update time for a write: now, strictly after the previous write's stamp."""
        t = max(self.now_ms(), self.last_write_ms + 1)
        self.last_write_ms = t
        return t

    # --- hooks -------------------------------------------------------------------------------

    def check_limit(self, name, value):
        """Raises ValueError if `value` is not acceptable for limit `name` (default: any is)."""

    def limits_changed(self):
        """Called after POST /_admin/limits has merged new values into self.limits."""

    def reset_counters(self):
        """Forgets the rate-limit counts."""

    def stats_extra(self):
        """More keys for GET /_admin/stats."""
        return {}

    def move_clock(self, body):
        """Applies clock options beyond advance_s and offset_s (called for every POST)."""

    # --- admin -------------------------------------------------------------------------------

    @admin_route("GET", "/_admin/stats")
    def admin_stats(self, req, body):
        return dict(json.loads(json.dumps(self.stats)), **self.stats_extra())

    @admin_route("POST", "/_admin/stats/reset")
    def admin_stats_reset(self, req, body):
        self.stats = self.new_stats()
        return {"ok": True}

    @admin_route("GET", "/_admin/settings")
    @admin_route("POST", "/_admin/settings")
    def admin_settings(self, req, body):
        if req.method == "POST":
            check_known("settings", self.settings, body)
            self.settings.update(body)
        return dict(self.settings)

    @admin_route("GET", "/_admin/limits")
    @admin_route("POST", "/_admin/limits")
    def admin_limits(self, req, body):
        if req.method == "POST":
            check_known("limits", self.limits, body)
            for k, v in body.items():
                self.check_limit(k, v)
            self.limits.update(body)
            self.limits_changed()
        return dict(self.limits)

    @admin_route("POST", "/_admin/reset-counters")
    def admin_reset_counters(self, req, body):
        self.reset_counters()
        return {"ok": True}

    @admin_route("GET", "/_admin/clock")
    @admin_route("POST", "/_admin/clock")
    def admin_clock(self, req, body):
        if req.method == "POST":
            if "advance_s" in body:
                self.clock_offset_ms += int(float(body["advance_s"]) * 1000)
            if "offset_s" in body:
                self.clock_offset_ms = int(float(body["offset_s"]) * 1000)
            self.move_clock(body)
        now = self.now_ms()
        out = {"now": iso_ms(now)}
        if self.clock_now_ms:
            out["now_ms"] = now
        out["offset_ms"] = self.clock_offset_ms
        return out


# ---------------------------------------------------------------------------------------------
# Command line

def write_atomically(path, text):
    """Writes text to path via a temporary file and rename, so readers see all or nothing."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def build_parser(server_cls):
    p = argparse.ArgumentParser(description=(server_cls.__doc__ or "").strip().split("\n")[0])
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: ephemeral)")
    p.add_argument("--tls", action=argparse.BooleanOptionalAction, default=True,
                   help="serve HTTPS with the throwaway CA (default) or plain HTTP")
    p.add_argument("--certdir", default=DEFAULT_CERTDIR,
                   help="where ca.pem etc. are made or reused (default %(default)s)")
    p.add_argument("--cert-name", action="append", metavar="DNS",
                   help="DNS name for the server certificate, repeatable "
                        "(default: %s)" % ", ".join(DEFAULT_CERT_NAMES))
    p.add_argument("--tls-min", choices=sorted(TLS_VERSIONS), help="lowest TLS version")
    p.add_argument("--tls-max", choices=sorted(TLS_VERSIONS), help="highest TLS version")
    p.add_argument("--log", metavar="FILE", help="append a JSON line per API request")
    p.add_argument("--faults", metavar="FILE", help="JSON fault rules (list or {rules: [...]})")
    p.add_argument("--fault", action="append", default=[], metavar="JSON",
                   help="one fault rule as JSON, repeatable, after those of --faults")
    p.add_argument("--state", metavar="FILE", help="initial state JSON, passed to load_state")
    p.add_argument("--idle-timeout", type=float, default=60,
                   help="exit after this many seconds without requests (0: never)")
    p.add_argument("--max-lifetime", type=float, default=600,
                   help="exit after this many seconds in any case (0: never)")
    p.add_argument("--port-file", metavar="PATH", help="write the bound port here (atomically)")
    p.add_argument("--pid-file", metavar="PATH", help="write the process id here (atomically)")
    p.add_argument("--latency-ms", type=float, default=0, help="added to every API request")
    p.add_argument("--no-gzip", dest="gzip", action="store_false",
                   help="never gzip responses")
    server_cls.add_arguments(p)
    return p


def main(server_cls, argv=None):
    """Runs server_cls from the command line; exits the process when the server stops."""
    args = build_parser(server_cls).parse_args(argv)
    try:
        faults = []
        if args.faults:
            with open(args.faults, encoding="utf-8") as f:
                faults = load_fault_specs(f.read())
        faults += [json.loads(r) for r in args.fault]
        server = server_cls(
            args.port, certdir=args.certdir if args.tls else None,
            cert_names=tuple(args.cert_name or DEFAULT_CERT_NAMES),
            tls_min=args.tls_min, tls_max=args.tls_max, log_path=args.log, faults=faults,
            idle_timeout=args.idle_timeout, max_lifetime=args.max_lifetime,
            latency_ms=args.latency_ms, use_gzip=args.gzip)
        server.configure(args)
        if args.state:
            with open(args.state, encoding="utf-8") as f:
                state = json.load(f)
            with server.lock:
                server.load_state(state)
    except (OSError, ValueError, RuntimeError, HttpError) as e:
        note("cannot start: %s", e)
        sys.exit(2)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: threading.Thread(
            target=server.stop, args=(signal.Signals(signum).name,), daemon=True).start())
    written = []
    for path, value in ((args.pid_file, os.getpid()), (args.port_file, server.port)):
        if path:
            write_atomically(path, "%d\n" % value)
            written.append(path)
    note("%s listening on %s", server_cls.__name__, server.base_url)
    try:
        reason = server.serve()
    finally:
        for path in written:
            try:
                os.unlink(path)
            except OSError:
                pass
    note("exiting: %s", reason)
    sys.exit(0)
