"""Self-test of common.py, through echo.py run as a subprocess and one fake run in-process.

Run: python3 tests/fakes/test_common.py
Prints "ok - NAME" or "not ok - NAME: WHY" per check, then "N passed, N failed"; exits 1 if
any check failed.
"""

import errno
import gzip
import http.client
import json
import os
import random
import socket
import ssl
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common  # noqa: E402
import selftest  # noqa: E402
from common import FakeServer, HttpError, admin_route, route  # noqa: E402
from selftest import true as expect  # noqa: E402


class Fake(selftest.FakeProcess):
    """echo.py in a subprocess on an ephemeral port, with its log, port and pid files."""

    def __init__(self, tmp, name, *args, tls=True):
        dirpath = os.path.join(tmp, name)
        self.pid_file = os.path.join(dirpath, "pid")
        self.tls = tls
        super().__init__("echo.py", dirpath, "--pid-file", self.pid_file,
                         "--certdir", os.path.join(tmp, "ca"), "--idle-timeout", "30",
                         "--max-lifetime", "60", *args, *([] if tls else ["--no-tls"]),
                         name=name, start_timeout=10)

    def connect(self, host="127.0.0.1", tls_min=None, tls_max=None):
        if not self.tls:
            return http.client.HTTPConnection(host, self.port, timeout=10)
        return http.client.HTTPSConnection(host, self.port, timeout=10,
                                           context=client_context(tls_min, tls_max))

    def request(self, method, path, body=None, headers=None, conn=None):
        """One request (on conn, or a fresh connection); returns (response, body bytes)."""
        c = conn or self.connect()
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        if conn is None:
            c.close()
        return r, data

    def admin(self, method, what, obj=None):
        r, data = self.request(method, "/_admin/" + what, obj)
        if r.status != 200:
            raise AssertionError("admin %s %s: %d %r" % (method, what, r.status, data))
        return json.loads(data)

    def faults(self, *rules):
        self.admin("POST", "faults", list(rules))

    def statuses(self, n, path="/echo"):
        """Statuses of n fresh-connection GETs; a failed connection counts as None."""
        out = []
        for _ in range(n):
            try:
                out.append(self.request("GET", path)[0].status)
            except (OSError, http.client.HTTPException):
                out.append(None)
        return out



CA = None  # set in main(): the CertPaths every client trusts


def client_context(tls_min=None, tls_max=None):
    ctx = ssl.create_default_context(cafile=CA.ca_pem)
    if tls_min:
        ctx.minimum_version = common.TLS_VERSIONS[tls_min]
    if tls_max:
        ctx.maximum_version = common.TLS_VERSIONS[tls_max]
    return ctx


def expect_raises(excs, fn):
    try:
        fn()
    except excs as e:
        return e
    raise AssertionError("no %s raised" % " or ".join(e.__name__ for e in excs))


def read_log(fake):
    with open(fake.log) as f:
        return [json.loads(line) for line in f]


# ---------------------------------------------------------------------------------------------
# An in-process fake, to check that the route API extends well from another module.

class CounterFake(FakeServer):
    """Counts POSTs; proves routes, hooks, HttpError, 405 and `process` faults."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.count = 0

    @route("POST", r"^/count$")
    def inc(self, req):
        self.count += 1
        return 201, {"X-Count": str(self.count)}, {"count": self.count}

    @route("GET", r"^/items/(?P<id>\d+)$")
    def item(self, req):
        if req.params["id"] == "0":
            raise HttpError(404, {"message": "no item 0"})
        return 200, {}, {"id": int(req.params["id"]), "q": req.arg("q")}

    @route("GET", r"^/wait$", lock=False)
    def wait(self, req):
        # Runs without self.lock, so another request can take it meanwhile.
        time.sleep(0.2)
        return 200, {}, "waited"

    @admin_route("GET", "/_admin/count")
    @admin_route("POST", "/_admin/count")
    def admin_count(self, req, body):
        if req.method == "POST":
            self.count = int(body["count"])
        return {"count": self.count}

    def dump_state(self):
        return {"count": self.count}

    def load_state(self, obj):
        self.count = obj["count"]


class SubCounterFake(CounterFake):
    """Overrides one inherited route by redefining the method."""

    def item(self, req):
        return 200, {}, {"overridden": req.params["id"]}


# ---------------------------------------------------------------------------------------------
# The checks. Each takes the shared context dict and raises AssertionError on failure.

def check_ca_files(ctx):
    tmp = ctx["tmp"]
    p = common.ensure_test_ca(os.path.join(tmp, "ca"))
    text = subprocess.run(["openssl", "x509", "-in", p.ca_pem, "-noout", "-text"],
                          capture_output=True, text=True).stdout
    expect("CA:TRUE" in text and "Certificate Sign" in text and "P-256" in text, "CA extensions")
    text = subprocess.run(["openssl", "x509", "-in", p.server_pem, "-noout", "-text"],
                          capture_output=True, text=True).stdout
    for want in ("TLS Web Server Authentication", "DNS:localhost", "DNS:fake.test",
                 "IP Address:127.0.0.1", "P-256"):
        expect(want in text, "server cert lacks " + want)
    before = [os.stat(f).st_mtime_ns for f in p]
    expect(common.ensure_test_ca(os.path.join(tmp, "ca")) == p, "paths differ on reuse")
    expect([os.stat(f).st_mtime_ns for f in p] == before, "files were regenerated on reuse")


def check_tls13_default(ctx):
    f = ctx["main"]
    r, data = f.request("GET", "/tls", conn=f.connect(host="localhost"))
    expect(json.loads(data) == {"tls": "TLSv1.3"}, "got %r" % data)


def expect_tls_only(f, version, **refused):
    """f serves TLS `version`, and a client limited as `refused` says cannot connect."""
    r, data = f.request("GET", "/tls")
    expect(json.loads(data) == {"tls": version}, "got %r" % data)
    expect_raises((ssl.SSLError,),
                  lambda: f.request("GET", "/tls", conn=f.connect(**refused)))


def check_tls12_only(ctx):
    expect_tls_only(ctx["tls12"], "TLSv1.2", tls_min="1.3")


def check_tls13_only(ctx):
    expect_tls_only(ctx["tls13"], "TLSv1.3", tls_max="1.2")


def check_plain_http(ctx):
    f = ctx["plain"]
    r, data = f.request("GET", "/tls")
    expect(json.loads(data) == {"tls": None}, "got %r" % data)


def check_keepalive(ctx):
    f = ctx["main"]
    c = f.connect()
    r1, _ = f.request("GET", "/echo?n=1", conn=c)
    sock = c.sock
    r2, _ = f.request("POST", "/echo", {"a": 1}, conn=c)
    expect(r1.status == r2.status == 200, "statuses %d %d" % (r1.status, r2.status))
    expect(c.sock is sock and sock is not None, "client reconnected")
    c.close()
    last = f.admin("GET", "requests")["requests"][-2:]
    expect(last[0]["conn"] == last[1]["conn"], "server saw two connections: %r" % last)


def check_gzip(ctx):
    f = ctx["main"]
    r, data = f.request("GET", "/big?n=100000", headers={"Accept-Encoding": "gzip"})
    expect(r.getheader("Content-Encoding") == "gzip", "no Content-Encoding: gzip")
    expect(int(r.getheader("Content-Length")) == len(data) < 100000, "length not compressed")
    expect(len(gzip.decompress(data)) == 100000, "decompressed size")
    r, data = f.request("GET", "/big?n=100000")
    expect(r.getheader("Content-Encoding") is None and len(data) == 100000, "identity body")
    r, data = f.request("GET", "/big?n=0", headers={"Accept-Encoding": "gzip"})
    expect(r.getheader("Content-Encoding") is None and data == b"", "empty body gzipped")
    r, data = ctx["tls12"].request("GET", "/big?n=1000", headers={"Accept-Encoding": "gzip"})
    expect(r.getheader("Content-Encoding") is None and len(data) == 1000, "--no-gzip ignored")


def check_echo_and_404(ctx):
    f = ctx["main"]
    r, data = f.request("POST", "/echo", {"x": [1, "é"]})
    expect(json.loads(data) == {"x": [1, "é"]}, "POST /echo got %r" % data)
    r, data = f.request("GET", "/echo?a=1&a=2&b=", headers={"X-Thing": "v"})
    got = json.loads(data)
    expect(got["query"] == {"a": ["1", "2"], "b": [""]}, "query %r" % got["query"])
    expect(got["headers"].get("X-Thing") == "v", "headers %r" % got["headers"])
    r, data = f.request("GET", "/nowhere")
    expect(r.status == 404 and json.loads(data)["error"] == "not found", "got %d" % r.status)


def check_fault_status(ctx):
    f = ctx["main"]
    f.faults({"match": {"method": "GET", "path": "^/echo$"}, "kind": "status", "status": 429,
              "headers": {"Retry-After": "7"}, "body": {"message": "slow down"}, "times": 1})
    r, data = f.request("GET", "/echo")
    expect(r.status == 429 and r.getheader("Retry-After") == "7", "got %d" % r.status)
    expect(json.loads(data) == {"message": "slow down"}, "body %r" % data)
    expect(f.request("POST", "/echo", {})[0].status == 200, "method match ignored")
    expect(f.request("GET", "/echo")[0].status == 200, "times: 1 ignored")


def tls_raw_get(port, path):
    """GET over TLS driven through memory BIOs on a plain socket, so that socket errors reach
    the caller as they are (an SSLSocket reports a peer's RST as a ragged EOF)."""
    tls_in, tls_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = client_context().wrap_bio(tls_in, tls_out, server_hostname="localhost")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        def run(op):
            while True:
                try:
                    result = op()
                    sock.sendall(tls_out.read())
                    return result
                except ssl.SSLWantReadError:
                    sock.sendall(tls_out.read())
                    data = sock.recv(65536)  # raises ConnectionResetError on an RST
                    if not data:
                        return b""
                    tls_in.write(data)
        run(tls.do_handshake)
        run(lambda: tls.write(b"GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path.encode()))
        return run(lambda: tls.read(65536))


def check_fault_reset(ctx):
    rule = {"match": {"path": "^/echo$"}, "kind": "reset"}
    for name in ("main", "plain"):
        f = ctx[name]
        f.faults(rule)
        if f.tls:
            e = expect_raises((ConnectionError,), lambda: tls_raw_get(f.port, "/echo"))
        else:
            e = expect_raises((ConnectionError,), lambda: f.request("GET", "/echo"))
        # A plain close would give EOF (RemoteDisconnected, errno None), an RST ECONNRESET.
        expect(e.errno == errno.ECONNRESET, "%s: not a TCP reset: %r" % (name, e))
        f.faults()
        entry = f.admin("GET", "requests")["requests"][-1]
        expect(entry["status"] is None and entry["fault"] == "reset#0", "log %r" % entry)


def check_fault_truncate(ctx):
    f = ctx["main"]
    f.faults({"match": {"path": "^/big$"}, "kind": "truncate", "keep": 100})
    e = expect_raises((http.client.IncompleteRead,), lambda: f.request("GET", "/big?n=5000"))
    expect(len(e.partial) == 100 and e.expected == 4900, "partial %d expected %r"
           % (len(e.partial), e.expected))
    # On a keep-alive connection too, announced as if it were to stay open.
    c = f.connect()
    f.request("GET", "/echo", conn=c)
    c.request("GET", "/big?n=5000")
    r = c.getresponse()
    expect(r.getheader("Connection") is None and r.getheader("Content-Length") == "5000",
           "headers give the truncation away")
    expect_raises((http.client.IncompleteRead,), r.read)
    c.close()
    f.faults()


def check_fault_cut(ctx):
    f = ctx["main"]
    f.faults({"match": {"path": "^/echo$"}, "kind": "cut", "keep": 7})
    r, data = f.request("GET", "/echo", headers={"Accept-Encoding": "gzip"})
    data = gzip.decompress(data) if r.getheader("Content-Encoding") == "gzip" else data
    expect(r.status == 200 and r.getheader("Content-Type") == "application/json", "headers")
    expect(len(data) == 7, "cut to %d bytes, not 7" % len(data))
    expect_raises((ValueError,), lambda: json.loads(data))
    f.faults()


def check_fault_midreset(ctx):
    f = ctx["plain"]
    f.faults({"match": {"path": "^/big$"}, "kind": "midreset", "keep": 100})
    c = f.connect()
    c.request("GET", "/big?n=5000")
    r = c.getresponse()
    expect(r.status == 200 and r.getheader("Content-Length") == "5000", "headers")
    e = expect_raises((ConnectionError, http.client.IncompleteRead), r.read)
    expect(not isinstance(e, http.client.IncompleteRead) or len(e.partial) <= 100,
           "more than 100 bytes before the reset: %r" % e)
    c.close()
    f.faults()
    entry = f.admin("GET", "requests")["requests"][-1]
    expect(entry["fault"] == "midreset#0", "log %r" % entry)


def check_fault_malformed(ctx):
    f = ctx["main"]
    f.faults({"match": {"path": "^/echo$"}, "kind": "malformed"})
    r, data = f.request("GET", "/echo", headers={"Accept-Encoding": "gzip"})
    data = gzip.decompress(data)
    expect(r.status == 200 and r.getheader("Content-Type") == "application/json", "headers")
    expect_raises((ValueError,), lambda: json.loads(data))
    f.faults()


def check_fault_oversize(ctx):
    f = ctx["main"]
    f.faults({"match": {"path": "^/echo$"}, "kind": "oversize", "bytes": 5 * 1024 * 1024})
    r, data = f.request("GET", "/echo")
    expect(len(data) == 5 * 1024 * 1024, "size %d" % len(data))
    expect(len(json.loads(data)["data"]) > 1000, "not a list of records")
    f.faults()


def check_fault_delay_and_latency(ctx):
    f = ctx["main"]
    f.faults({"match": {"path": "^/echo$"}, "kind": "delay", "ms": 300})
    t0 = time.monotonic()
    r, _ = f.request("GET", "/echo")
    expect(r.status == 200 and time.monotonic() - t0 >= 0.3, "not delayed")
    f.faults()
    t0 = time.monotonic()
    ctx["tls13"].request("GET", "/echo")  # started with --latency-ms 150
    expect(time.monotonic() - t0 >= 0.15, "--latency-ms not applied")


def check_fault_every(ctx):
    f = ctx["main"]
    f.faults({"match": {"path": "^/echo$"}, "kind": "status", "status": 503, "every": 3})
    got = f.statuses(7)
    expect(got == [200, 200, 503, 200, 200, 503, 200], "got %r" % got)


def check_fault_probability(ctx):
    f = ctx["main"]
    rule = {"match": {"path": "^/echo$"}, "kind": "status", "status": 500,
            "probability": 0.5, "seed": 42}
    f.faults(rule)
    first = f.statuses(16)
    f.faults(rule)  # replacing the rules restarts their random generators
    second = f.statuses(16)
    rng = random.Random(42)
    want = [500 if rng.random() < 0.5 else 200 for _ in range(16)]
    expect(first == second == want, "runs %r %r, expected %r" % (first, second, want))
    expect(len(set(want)) == 2, "seed gives a constant pattern")


def check_fault_times_after(ctx):
    f = ctx["main"]
    f.faults({"match": {"path": "^/echo$"}, "kind": "status", "status": 502, "after": 2,
              "times": 2},
             {"match": {"path": "^/echo$"}, "kind": "reset", "after": 5, "times": 1})
    got = f.statuses(8)
    # the second rule counts only requests the first let through: its 6th is the 8th overall
    expect(got == [200, 200, 502, 502, 200, 200, 200, None], "got %r" % got)
    rules = f.admin("GET", "faults")["rules"]
    expect([(r["seen"], r["fired"]) for r in rules] == [(8, 2), (6, 1)], "counters %r" % rules)


def check_admin_unfaulted_unlogged(ctx):
    f = ctx["main"]
    f.faults({"kind": "status", "status": 500})  # matches every path
    expect(f.request("GET", "/echo")[0].status == 500, "catch-all fault did not fire")
    f.admin("GET", "state")
    f.admin("POST", "faults", [])
    entries = f.admin("GET", "requests")["requests"]
    expect(not any(e["path"].startswith("/_admin") for e in entries), "admin logged")
    r, data = f.request("POST", "/_admin/faults", [{"kind": "nope"}])
    expect(r.status == 400 and "kind" in json.loads(data)["error"], "bad rule accepted")


def check_admin_state(ctx):
    f = ctx["main"]
    state = {"contacts": [{"id": 1, "email": "a@example.com"}], "n": 2}
    f.admin("POST", "state", state)
    expect(f.admin("GET", "state") == state, "state not round-tripped")


def check_startup_files(ctx):
    f = ctx["configured"]  # started with --state and --faults files
    expect(f.admin("GET", "state") == {"from": "file"}, "--state not loaded")
    got = f.statuses(2)
    expect(got == [418, 200], "--faults not loaded: %r" % got)
    with open(f.pid_file) as pf:
        expect(int(pf.read()) == f.proc.pid, "pid file")


def check_log_redaction(ctx):
    f = ctx["main"]
    start = f.admin("POST", "reset-log")["next"]
    f.request("GET", "/echo", headers={"Authorization": "Bearer SECRET-abc",
                                       "X-Api-Key": "SECRET-def", "Cookie": "s=SECRET-ghi",
                                       "X-Plain": "visible"})
    f.request("GET", "/echo")
    with open(f.log) as lf:
        text = lf.read()
    expect("SECRET" not in text, "a secret reached the log file")
    got = f.admin("GET", "requests?since=%d" % start)["requests"]
    expect(len(got) == 2 and got[0]["seq"] == start, "since/reset-log: %r" % got)
    e = got[0]
    expect(e["headers"]["Authorization"] == common.REDACTED and e["auth"] is True and
           e["auth_scheme"] == "Bearer", "authorization entry %r" % e)
    expect(e["headers"]["X-Api-Key"] == e["headers"]["Cookie"] == common.REDACTED, "others")
    expect(e["headers"]["X-Plain"] == "visible", "plain header lost")
    expect(got[1]["auth"] is False, "auth flag on request without Authorization")
    expect(read_log(f)[-1]["seq"] == got[1]["seq"], "file and memory logs differ")
    for key in ("ts", "method", "path", "query", "body_bytes", "status", "fault",
                "latency_ms"):
        expect(key in e, "log entry lacks " + key)


def check_in_process_subclass(ctx):
    srv = SubCounterFake(0, certdir=None, faults=[
        {"match": {"path": "^/count$"}, "kind": "status", "status": 504, "process": True,
         "times": 1}])
    t = threading.Thread(target=srv.serve, daemon=True)
    t.start()
    try:
        def call(method, path, body=None):
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
            c.request(method, path, body=body)
            r = c.getresponse()
            data = r.read()
            c.close()
            return r, data
        r, _ = call("POST", "/count")
        expect(r.status == 504 and srv.count == 1, "process: true did not run the handler")
        r, data = call("POST", "/count")
        expect(r.status == 201 and r.getheader("X-Count") == "2", "route headers")
        r, data = call("GET", "/items/7?q=x")
        expect(json.loads(data) == {"overridden": "7"}, "override: %r" % data)
        r, data = call("DELETE", "/count")
        expect(r.status == 405 and r.getheader("Allow") == "POST", "405: %d" % r.status)
        # A lock=False handler waits while another request takes the lock.
        waiter = threading.Thread(target=call, args=("GET", "/wait"))
        waiter.start()
        time.sleep(0.05)
        t0 = time.monotonic()
        call("POST", "/count")
        expect(time.monotonic() - t0 < 0.15, "lock=False handler held the lock")
        waiter.join()
        expect(srv.dump_state() == {"count": 3}, "state %r" % srv.dump_state())
        # @admin_route: JSON object bodies only; KeyError and the like are 400s.
        r, data = call("POST", "/_admin/count", b'{"count": 10}')
        expect(r.status == 200 and json.loads(data) == {"count": 10}, "admin_route %r" % data)
        r, data = call("POST", "/_admin/count", b"[1]")
        expect(r.status == 400, "admin_route took a non-object body: %d" % r.status)
        r, data = call("POST", "/_admin/count", b"{}")
        expect(r.status == 400 and json.loads(data)["error"].startswith("KeyError"),
               "admin_route error: %d %r" % (r.status, data))
        r, data = call("GET", "/_admin/count")
        expect(json.loads(data) == {"count": 10}, "admin_route GET %r" % data)
    finally:
        srv.stop("test done")
        t.join(5)
    expect(not t.is_alive() and srv.stop_reason == "test done", "serve() did not return")


def check_http_error_in_base_subclass(ctx):
    srv = CounterFake(0)
    req = common.Request("GET", "/items/0", {}, {}, b"")
    expect(srv.dispatch(req) == (404, {}, {"message": "no item 0"}), "HttpError not mapped")
    srv.server_close()


def check_idle_timeout(ctx):
    f = ctx["idle"]  # started with --idle-timeout 1
    expect(f.wait_exit(5) == 0, "still running after idle timeout")
    expect(not os.path.exists(f.port_file) and not os.path.exists(f.pid_file),
           "port/pid files left behind")
    expect("idle" in f.errors(), "exit reason not reported")


def check_max_lifetime(ctx):
    f = ctx["lifetime"]  # started with --max-lifetime 2
    expect(f.wait_exit(5) == 0, "still running after max lifetime")
    expect("max lifetime" in f.errors(), "exit reason not reported")


def check_admin_shutdown(ctx):
    f = ctx["plain"]
    f.admin("POST", "shutdown")
    expect(f.wait_exit(5) == 0, "still running after /_admin/shutdown")


def check_no_tracebacks(ctx):
    for name in ("main", "tls12", "tls13", "plain"):
        err = ctx[name].errors()
        expect("Traceback" not in err, "%s stderr: %s" % (name, err))


CHECKS = [
    ("ensure_test_ca makes a valid CA and reuses it", check_ca_files),
    ("TLS 1.3 by default, hostname localhost verified", check_tls13_default),
    ("TLS 1.2-only server", check_tls12_only),
    ("TLS 1.3-only server", check_tls13_only),
    ("plain HTTP with --no-tls", check_plain_http),
    ("keep-alive: two requests on one connection", check_keepalive),
    ("gzip when asked, not for empty bodies, off with --no-gzip", check_gzip),
    ("echo routes and 404 JSON", check_echo_and_404),
    ("fault status with Retry-After and times", check_fault_status),
    ("fault reset gives a connection reset", check_fault_reset),
    ("fault truncate gives IncompleteRead", check_fault_truncate),
    ("fault cut: honest Content-Length, incomplete JSON", check_fault_cut),
    ("fault midreset: part of the body, then a reset", check_fault_midreset),
    ("fault malformed gives invalid JSON", check_fault_malformed),
    ("fault oversize gives N bytes of valid JSON", check_fault_oversize),
    ("fault delay and --latency-ms", check_fault_delay_and_latency),
    ("fault every N-th request", check_fault_every),
    ("fault seeded probability is reproducible", check_fault_probability),
    ("fault after and times, first rule wins", check_fault_times_after),
    ("admin is never faulted nor logged; bad rules rejected", check_admin_unfaulted_unlogged),
    ("admin state load and dump", check_admin_state),
    ("--state, --faults and --pid-file at start", check_startup_files),
    ("request log redacts secrets; since and reset-log", check_log_redaction),
    ("in-process subclass: routes, override, 405, process, lock=False", check_in_process_subclass),
    ("HttpError from a handler", check_http_error_in_base_subclass),
    ("idle timeout exits and removes port/pid files", check_idle_timeout),
    ("max lifetime exits", check_max_lifetime),
    ("admin shutdown exits", check_admin_shutdown),
    ("no tracebacks on stderr", check_no_tracebacks),
]


def start_fakes(ctx):
    global CA
    tmp = ctx["tmp"]
    CA = common.ensure_test_ca(os.path.join(tmp, "ca"))
    config = os.path.join(tmp, "config")
    os.makedirs(config)
    with open(os.path.join(config, "state.json"), "w") as f:
        json.dump({"from": "file"}, f)
    with open(os.path.join(config, "faults.json"), "w") as f:
        json.dump({"rules": [{"kind": "status", "status": 418, "times": 1}]}, f)
    # The lifetime checks run last, so these two servers time out while the rest runs.
    ctx["idle"] = Fake(tmp, "idle", "--idle-timeout", "1")
    ctx["lifetime"] = Fake(tmp, "lifetime", "--max-lifetime", "2", "--idle-timeout", "0")
    ctx["main"] = Fake(tmp, "main")
    ctx["tls12"] = Fake(tmp, "tls12", "--tls-max", "1.2", "--no-gzip")
    ctx["tls13"] = Fake(tmp, "tls13", "--tls-min", "1.3", "--latency-ms", "150")
    ctx["plain"] = Fake(tmp, "plain", tls=False)
    ctx["configured"] = Fake(tmp, "configured", "--state", os.path.join(config, "state.json"),
                             "--faults", os.path.join(config, "faults.json"))


def main():
    ctx = {}

    def start(tmp):
        ctx["tmp"] = tmp
        start_fakes(ctx)

    def checks():
        for name, fn in CHECKS:
            selftest.run_check(name, fn, ctx)
    return selftest.main("atsrecon-fakes-", start, checks, "start the fakes")


if __name__ == "__main__":
    sys.exit(main())
