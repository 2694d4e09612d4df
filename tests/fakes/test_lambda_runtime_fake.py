"""Self-test of the Lambda Runtime API fake (lambda_runtime.py), run as a subprocess over
plain HTTP (as the real API is).

Run: python3 tests/fakes/test_lambda_runtime_fake.py
Prints "ok - NAME" or "not ok - NAME: WHY" per check, then "N passed, N failed"; exits 1 if
any check failed. Standard library only.
"""

import hashlib
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lambda_runtime  # noqa: E402
import selftest  # noqa: E402
from selftest import check, eq, true  # noqa: E402

API = "/2018-06-01/runtime"
ERR_CT = "application/vnd.aws.lambda.error+json"
ARN = "arn:aws:lambda:eu-west-1:111122223333:function:atsrecon-test"
F = None
TMP = None


class Fake(selftest.FakeProcess):
    """lambda_runtime.py in a subprocess; one plain HTTP connection per call."""

    def __init__(self, tmp, name, *args):
        super().__init__("lambda_runtime.py", os.path.join(tmp, name), "--idle-timeout", "60",
                         "--max-lifetime", "300", "--function-arn", ARN, *args, name=name)

    def call(self, method, path, body=None, headers=None, timeout=15):
        """-> (status, {lower header: value}, body bytes)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = body.encode() if isinstance(body, str) else body
            c.request(method, path, body=data, headers=headers or {})
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def admin(self, method, what, obj=None, want=200):
        st, _, out = self.call(method, "/_admin/" + what,
                               json.dumps(obj) if obj is not None else None,
                               {"Content-Type": "application/json"} if obj is not None else {},
                               timeout=120)
        if st != want:
            raise AssertionError("admin %s %s: %d %r" % (method, what, st, out[:300]))
        return json.loads(out) if out else None

    def next(self, timeout=15):
        return self.call("GET", API + "/invocation/next", timeout=timeout)

    def respond(self, rid, body, ct="application/json", headers=None):
        h = {"Content-Type": ct} if ct else {}
        h.update(headers or {})
        return self.call("POST", "%s/invocation/%s/response" % (API, rid), body, h)

    def error(self, rid, body, etype="Function.RunFailed", ct=ERR_CT, path=None):
        h = {}
        if ct:
            h["Content-Type"] = ct
        if etype is not None:
            h["Lambda-Runtime-Function-Error-Type"] = etype
        return self.call("POST", path or "%s/invocation/%s/error" % (API, rid), body, h)

    def inv(self, rid):
        return self.admin("GET", "invocation?id=" + rid)

    def conformance(self):
        return self.admin("GET", "conformance")


def reported(t):
    return lambda_runtime.reported_type(t)


def err_body(msg="boom", etype="Function.RunFailed", **extra):
    return json.dumps(dict({"errorMessage": msg, "errorType": etype}, **extra))


def problems(since=0, severity=None):
    return [c["problem"] for c in F.conformance()[since:]
            if severity is None or c["severity"] == severity]


def fresh():
    """A clean slate: no records, runtime state "started"."""
    F.admin("POST", "clear", {})


def invoke_and_next(**kw):
    rid = F.admin("POST", "invoke", kw)["request_id"]
    st, h, body = F.next()
    eq(st, 200, "next (%r)" % body[:200])
    eq(h.get("lambda-runtime-aws-request-id"), rid, "request id")
    return rid, h, body


def checks():
    @check("a clean flow: invoke, next (event and headers), response 202, results")
    def _():
        fresh()
        t0 = int(time.time() * 1000)
        out = F.admin("POST", "invoke", {"payload": {"source": "aws.events", "n": 1},
                                         "timeout_ms": 60000})
        rid = out["request_id"]
        true(re.fullmatch(r"[0-9a-f-]{36}", rid), "request id is a UUID: %r" % rid)
        st, h, body = F.next()
        t1 = int(time.time() * 1000)
        eq((st, json.loads(body)), (200, {"source": "aws.events", "n": 1}), "event")
        eq(h.get("lambda-runtime-aws-request-id"), rid, "Lambda-Runtime-Aws-Request-Id")
        dl = int(h.get("lambda-runtime-deadline-ms", "0"))
        true(t0 + 60000 <= dl <= t1 + 60000, "deadline %d not delivery + 60 s (%d..%d)"
             % (dl, t0 + 60000, t1 + 60000))
        eq(h.get("lambda-runtime-invoked-function-arn"), ARN, "function ARN")
        true(re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0",
                          h.get("lambda-runtime-trace-id", "")), "trace id %r"
             % h.get("lambda-runtime-trace-id"))
        eq(h.get("content-type"), "application/json", "event Content-Type")
        true("lambda-runtime-client-context" not in h, "no client context unless given")
        summary = {"ok": True, "writes": 3}
        st, _, out = F.respond(rid, json.dumps(summary))
        eq((st, json.loads(out)), (202, {"status": "OK"}), "response")
        r = F.admin("GET", "results")
        inv = r["invocations"][0]
        eq((inv["status"], inv["response"]["json"], inv["response"]["content_type"]),
           ("responded", summary, "application/json"), "recorded")
        eq(inv["response"]["sha256"], hashlib.sha256(json.dumps(summary).encode()).hexdigest(),
           "sha256")
        eq((r["runtime_state"], r["current"], r["conformance"]),
           ("response_sent", None, []), "state after a clean response")
        true(inv["delivered_at_ms"] <= inv["answered_at_ms"] <= inv["deadline_ms"], "times")

    @check("answering twice, or an unknown id, is 403 InvalidStateTransition; another id "
           "while one is in progress is 400 InvalidRequestID")
    def _():
        fresh()
        rid, _, _ = invoke_and_next()
        st, _, out = F.respond("not-the-id", "{}")
        eq((st, json.loads(out)["errorType"]), (400, "InvalidRequestID"), "other id")
        eq(F.respond(rid, "{}")[0], 202, "the right one")
        st, _, out = F.respond(rid, "{}")
        eq((st, json.loads(out)["errorType"]), (403, "InvalidStateTransition"), "twice")
        st, _, _ = F.error(rid, err_body())
        eq(st, 403, "error after response")
        st, _, _ = F.respond("never-heard-of", "{}")
        eq(st, 403, "unknown id with nothing in progress")
        p = problems(severity="error")
        eq(len(p), 4, "four conformance errors: %r" % p)
        true("already answered" in p[1] and "unknown request id" in p[3], p)
        eq(F.inv(rid)["status"], "responded", "first answer kept")

    @check("error: 202, header and body recorded with Lambda's reported type")
    def _():
        fresh()
        rid, _, _ = invoke_and_next()
        st, _, out = F.error(rid, err_body("keap 401", "Function.AuthFailed",
                                           stackTrace=["run.c:10"]), "Function.AuthFailed")
        eq((st, json.loads(out)), (202, {"status": "OK"}), "error accepted")
        inv = F.inv(rid)
        eq((inv["status"], inv["error"]["header_type"], inv["error"]["reported_type"],
            inv["error"]["json"]["errorMessage"], inv["error"]["content_type"]),
           ("errored", "Function.AuthFailed", "Function.AuthFailed", "keap 401", ERR_CT),
           "recorded")
        eq(F.conformance(), [], "a well-formed error is no conformance failure")

    @check("malformed errors are recorded: no type header, bad body, odd type, mismatch")
    def _():
        fresh()
        cases = [
            (dict(body=err_body(), etype=None), "error", "no Lambda-Runtime-Function-Error-Type"),
            (dict(body="not json"), "error", "not JSON"),
            (dict(body=json.dumps({"errorMessage": 5})), "error", "errorMessage missing or not"),
            (dict(body=err_body(stackTrace="x")), "error", "stackTrace is not a list"),
            (dict(body=err_body(etype="Unhandled"), etype="Unhandled"), "warning",
             "Lambda reports Runtime.Unknown"),
            (dict(body=err_body(etype="Function.First"), etype="Function.Second"), "warning",
             "differs from the header"),
            (dict(body=err_body(), ct="text/plain"), "warning", "error Content-Type"),
        ]
        rids = []
        for kw, sev, text in cases:
            n = len(F.conformance())
            rid, _, _ = invoke_and_next()
            rids.append(rid)
            eq(F.error(rid, **kw)[0], 202, "still 202 (%s)" % text)
            got = [c for c in F.conformance()[n:]]
            true(any(c["severity"] == sev and text in c["problem"] and c["request_id"] == rid
                     for c in got), "%s %r not in %r" % (sev, text, got))
        eq(F.inv(rids[5])["error"]["reported_type"], "Function.Second", "reported type")
        eq(reported("Function.B"), "Function.Unknown", "one letter is too short (RIE regex)")
        rid, _, _ = invoke_and_next()
        F.error(rid, err_body(etype="Unhandled"), etype="Unhandled")
        eq(F.inv(rid)["error"]["reported_type"], "Runtime.Unknown", "Unhandled is reported as")

    @check("response Content-Type: JSON sent as form data is a warning, non-JSON as JSON an "
           "error")
    def _():
        fresh()
        rid, _, _ = invoke_and_next()
        eq(F.respond(rid, '{"ok":true}', ct="application/x-www-form-urlencoded")[0], 202,
           "accepted")
        eq([(c["severity"], "Content-Type application/x-www-form-urlencoded" in c["problem"])
            for c in F.conformance()], [("warning", True)], "warning")
        rid, _, _ = invoke_and_next()
        eq(F.respond(rid, "{broken", ct="application/json")[0], 202, "accepted")
        eq(problems(1, "error"), ["Content-Type application/json but the body is not JSON"],
           "error")
        rid, _, _ = invoke_and_next()
        eq(F.respond(rid, "plain words", ct="text/plain")[0], 202, "text is fine")
        eq(len(F.conformance()), 2, "no record for a text body")

    @check("next blocks until an invocation is queued, and counts as idle")
    def _():
        fresh()
        got = {}

        def runtime():
            got["r"] = F.next(timeout=30)
            got["t"] = time.monotonic()
        t = threading.Thread(target=runtime)
        t.start()
        deadline = time.monotonic() + 10
        while F.admin("GET", "results")["waiting_next"] != 1:
            true(time.monotonic() < deadline, "next never waited")
            time.sleep(0.02)
        time.sleep(0.5)
        true("r" not in got, "next returned with nothing queued: %r" % (got.get("r"),))
        eq(F.admin("GET", "results")["runtime_state"], "ready", "state while waiting")
        t0 = time.monotonic()
        rid = F.admin("POST", "invoke", {"payload": {"late": True}})["request_id"]
        t.join(10)
        eq(got["r"][1].get("lambda-runtime-aws-request-id"), rid, "delivered after queueing")
        true(got["t"] - t0 < 2, "delivered %.2f s after the invoke" % (got["t"] - t0))
        F.respond(rid, "{}")

    @check("deadline: unanswered -> timed_out at the deadline; late answers 403 and recorded")
    def _():
        fresh()
        rid, h, _ = invoke_and_next(timeout_ms=400)
        dl = int(h["lambda-runtime-deadline-ms"])
        inv = F.admin("POST", "wait", {"request_id": rid, "timeout_ms": 5000})
        eq(inv["status"], "timed_out", "status")
        true(dl <= inv["timed_out_at_ms"] <= dl + 300, "timed out at %d, deadline %d"
             % (inv["timed_out_at_ms"], dl))
        eq(F.admin("GET", "results")["runtime_state"], "started", "environment reset")
        st, _, out = F.respond(rid, "{}")
        eq((st, json.loads(out)["errorType"]), (403, "InvalidStateTransition"), "late response")
        inv = F.inv(rid)
        eq((inv["status"], [c["call"] for c in inv["late_calls"]]), ("timed_out", ["response"]),
           "late call recorded, outcome unchanged")
        true(any("after its deadline" in p for p in problems()), "conformance says why")
        rid2, _, _ = invoke_and_next(deadline_ms=int(time.time() * 1000) + 300)
        eq(F.admin("POST", "wait", {"request_id": rid2})["status"], "timed_out",
           "absolute deadline_ms")

    @check("kill-on-timeout SIGKILLs the armed process at the deadline, once")
    def _():
        fresh()
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            F.admin("POST", "kill-on-timeout", {"pid": child.pid,
                                                "cmdline_contains": "time.sleep"})
            rid, h, _ = invoke_and_next(timeout_ms=300)
            dl = int(h["lambda-runtime-deadline-ms"])
            eq(child.wait(5), -9, "child killed by SIGKILL")
            killed_at = int(time.time() * 1000)
            true(killed_at >= dl, "not before the deadline")
            inv = F.admin("POST", "wait", {"request_id": rid})
            eq((inv["status"], inv["killed"]["pid"], inv["killed"]["signal"],
                inv["killed"]["ok"]), ("timed_out", child.pid, "KILL", True), "kill record")
            rid, _, _ = invoke_and_next(timeout_ms=200)
            eq(F.admin("POST", "wait", {"request_id": rid})["killed"], None, "used once")
            true(other.poll() is None, "the other process lives")
            F.admin("POST", "kill-on-timeout", {"pid": other.pid, "cmdline_contains": "nope"})
            rid, _, _ = invoke_and_next(timeout_ms=200)
            k = F.admin("POST", "wait", {"request_id": rid})["killed"]
            eq((k["ok"], other.poll()), (False, None), "cmdline guard: %r" % k)
            F.admin("POST", "kill-on-timeout", {"pid": os.getpid()}, want=400)  # its parent
            F.admin("POST", "kill-on-timeout", {"pid": None})
            F.admin("POST", "kill-on-timeout", {"pid": 1}, want=400)
        finally:
            for p in (child, other):
                if p.poll() is None:
                    p.kill()
                    p.wait()

    @check("413 over 6291556 bytes ends the invocation as Function.ResponseSizeTooLarge; the "
           "limit itself passes")
    def _():
        fresh()
        limit = lambda_runtime.MAX_RESPONSE_BYTES
        eq(limit, 6291556, "6 MiB + 100")
        rid, _, _ = invoke_and_next()
        eq(F.respond(rid, b'"' + b"x" * (limit - 2) + b'"')[0], 202, "exactly the limit")
        eq(F.inv(rid)["response"]["bytes"], limit, "bytes")
        rid, _, _ = invoke_and_next()
        st, _, out = F.respond(rid, b'"' + b"x" * (limit - 1) + b'"')
        eq((st, json.loads(out)), (413, {"errorMessage": "Exceeded maximum allowed payload size "
                                                         "(6291556 bytes).",
                                         "errorType": "RequestEntityTooLarge"}), "413")
        inv = F.inv(rid)
        eq((inv["status"], inv["error"]["reported_type"], inv["error"]["bytes"]),
           ("errored", "Function.ResponseSizeTooLarge", limit + 1), "outcome")
        eq(F.respond(rid, "{}")[0], 403, "no second chance")

    @check("init/error: 202 and recorded; served to the first invocation; next is 403; "
           "restart")
    def _():
        fresh()
        st, _, out = F.error(None, err_body("no keap token", "Runtime.ConfigError"),
                             "Runtime.ConfigError", path=API + "/init/error")
        eq((st, json.loads(out)), (202, {"status": "OK"}), "init/error")
        r = F.admin("GET", "results")
        eq((r["init_failed"], r["runtime_state"], r["init_errors"][0]["reported_type"],
            r["init_errors"][0]["json"]["errorMessage"]),
           (True, "init_error", "Runtime.ConfigError", "no keap token"), "recorded")
        out = F.admin("POST", "invoke", {})
        eq((out["queued"], out["status"]), (False, "init_error"), "first invoke gets it")
        inv = F.inv(out["request_id"])
        eq(inv["error"]["reported_type"], "Runtime.ConfigError", "served error")
        eq(F.admin("POST", "invoke", {})["queued"], True, "only the first")
        st, _, out = F.next()
        eq((st, json.loads(out)["errorType"]), (403, "InvalidStateTransition"), "next after")
        true(any("next after init/error" in p for p in problems()), "conformance")
        F.admin("POST", "runtime/restart", {})
        st, h, _ = F.next()
        eq(st, 200, "after a restart the queued invocation is delivered")
        F.respond(h["lambda-runtime-aws-request-id"], "{}")

    @check("init/error after next, next while unanswered, unknown paths and methods: recorded")
    def _():
        fresh()
        rid, _, _ = invoke_and_next()
        st, _, _ = F.error(None, err_body(), path=API + "/init/error")
        eq(st, 403, "init/error after next")
        st, h, body = F.next()
        eq((st, h.get("lambda-runtime-aws-request-id")), (200, rid), "redelivered like RIE")
        eq(F.inv(rid)["deliveries"], 2, "deliveries")
        F.respond(rid, "{}")
        eq(F.call("GET", "/2018-06-01/runtime/invocation/nxt")[0], 404, "typo path")
        eq(F.call("POST", API + "/invocation/next")[0], 405, "POST next")
        eq(F.call("GET", API + "/invocation/%s/response" % rid)[0], 405, "GET response")
        eq(F.call("GET", "/2019-01-01/runtime/invocation/next")[0], 404, "other version")
        p = problems(severity="error")
        eq(len(p), 6, "six errors: %r" % p)
        true("only before the first next" in p[0] and "has no response" in p[1] and
             "is not a Runtime API call" in p[2], p)

    @check("admin: invoke options, wait until delivered, wait timeout, settings, clear")
    def _():
        fresh()
        out = F.admin("POST", "invoke", {"raw": "not json at all", "content_type": "text/plain",
                                         "client_context": "ctx", "request_id": "req-1",
                                         "function_arn": ARN + ":live"})
        eq(out["request_id"], "req-1", "own id")
        waited = {}
        t = threading.Thread(target=lambda: waited.update(
            F.admin("POST", "wait", {"request_id": "req-1", "until": "delivered",
                                     "timeout_ms": 10000})))
        t.start()
        time.sleep(0.2)
        st, h, body = F.next()
        t.join(10)
        eq((body, h["content-type"], h["lambda-runtime-client-context"],
            h["lambda-runtime-invoked-function-arn"]),
           (b"not json at all", "text/plain", "ctx", ARN + ":live"), "event as given")
        eq(waited.get("status"), "delivered", "wait until delivered")
        w = F.admin("POST", "wait", {"request_id": "req-1", "timeout_ms": 200})
        eq((w["status"], w.get("wait_timed_out")), ("delivered", True), "wait timeout")
        F.respond("req-1", "{}")
        F.admin("POST", "invoke", {"request_id": "req-1"}, want=400)
        F.admin("POST", "invoke", {"payload": {}, "raw": "x"}, want=400)
        F.admin("POST", "invoke", {"timeout_ms": 0}, want=400)
        F.admin("POST", "invoke", {"bogus": 1}, want=400)
        eq(F.admin("POST", "settings", {"default_timeout_ms": 1234})["default_timeout_ms"],
           1234, "settings")
        F.admin("POST", "settings", {"function_arn": "nope"}, want=400)
        rid = F.admin("POST", "invoke", {})["request_id"]
        eq(F.inv(rid)["timeout_ms"], 1234, "default timeout used")
        F.admin("POST", "settings", {"default_timeout_ms": 300000})
        F.admin("POST", "clear", {})
        r = F.admin("GET", "results")
        eq((r["invocations"], r["queued"], r["conformance"], r["runtime_state"]),
           ([], [], [], "started"), "cleared")
        F.admin("GET", "invocation?id=nope", want=404)

    @check("a runtime left waiting in next does not keep the fake alive (--idle-timeout)")
    def _():
        idle = Fake(TMP, "idle", "--idle-timeout", "1")
        got = {}

        def runtime():
            try:
                got["r"] = idle.next(timeout=20)
            except (OSError, http.client.HTTPException) as e:
                got["e"] = type(e).__name__
        t0 = time.monotonic()
        t = threading.Thread(target=runtime)
        t.start()
        rc = idle.wait_exit(15)
        took = time.monotonic() - t0
        t.join(20)
        eq(rc, 0, "the fake exited by itself (%s)" % idle.errors())
        true(took < 10, "within %.1f s" % took)
        true("idle" in idle.errors(), "because it was idle: %s" % idle.errors())
        true("e" in got or got["r"][0] == 500, "the waiting next ended: %r" % (got,))


def start(tmp):
    global F, TMP
    TMP = tmp
    F = Fake(tmp, "main")


if __name__ == "__main__":
    sys.exit(selftest.main("atsrecon-lambda-", start, checks, "lambda runtime fake starts"))
