"""Self-test of the webhook receiver fake (receiver.py), over HTTPS with the test CA.

Run: python3 tests/fakes/test_receiver_fake.py
Prints "ok - NAME" or "not ok - NAME: WHY" per check, then "N passed, N failed"; exits 1 if
any check failed. Standard library only.
"""

import os
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import selftest  # noqa: E402
from selftest import check, eq, true  # noqa: E402

F = None
HOOK = "/services/T0001/B0001/s3cr3t-token"


def checks():
    @check("a Slack-shaped message is accepted with 200 ok and recorded")
    def _():
        F.admin("POST", "received/reset")
        st, h, body = F.request("POST", HOOK, {"text": "hello *world*"})
        eq((st, body), (200, b"ok"), "answer")
        true(h["content-type"].startswith("text/plain"), "plain text answer: %r" % h)
        got = F.admin("GET", "received")["received"]
        eq(len(got), 1, "one record")
        eq((got[0]["path"], got[0]["json"], got[0]["status"]), (HOOK, {"text": "hello *world*"}, 200),
           "record")
        eq(got[0]["content_type"], "application/json", "content type recorded")

    @check("Slack's errors: invalid_payload, no_text, no_service, 405 for GET")
    def _():
        eq(F.request("POST", HOOK, raw=b"not json", headers={"Content-Type": "application/json"})[::2],
           (400, b"invalid_payload"), "not JSON")
        eq(F.request("POST", HOOK, raw=b'{"text":"x"}', headers={"Content-Type": "text/plain"})[::2],
           (400, b"invalid_payload"), "wrong content type")
        eq(F.request("POST", HOOK, [1, 2])[::2], (400, b"invalid_payload"), "not an object")
        eq(F.request("POST", HOOK, {"blocks": []})[::2], (400, b"no_text"), "no text")
        eq(F.request("POST", HOOK, {"text": ""})[::2], (400, b"no_text"), "empty text")
        eq(F.request("POST", "/hooks/x", {"text": "x"})[::2], (404, b"no_service"), "other path")
        eq(F.request("GET", HOOK)[0], 405, "GET")
        st = [e["status"] for e in F.admin("GET", "received?since=1")["received"]]
        eq(st, [400, 400, 400, 400, 400, 404], "every POST recorded with its answer")

    @check("--token: another token is no_service")
    def _():
        t = selftest.KeepAliveFake("receiver.py", os.path.join(TMP, "tok"), "--token", "good",
                                   "--idle-timeout", "60", "--max-lifetime", "120")
        eq(t.request("POST", "/services/A/B/good", {"text": "x"})[::2], (200, b"ok"), "right token")
        eq(t.request("POST", "/services/A/B/bad", {"text": "x"})[::2], (404, b"no_service"),
           "wrong token")

    @check("on demand: a 500 that still records the message (process: true), then 200")
    def _():
        F.admin("POST", "received/reset")
        n0 = F.admin("GET", "received")["next"]
        F.admin("POST", "faults", [{"kind": "status", "status": 500, "process": True, "times": 1}])
        eq(F.request("POST", HOOK, {"text": "one"})[0], 500, "first: injected 500")
        eq(F.request("POST", HOOK, {"text": "two"})[0], 200, "second: ok")
        got = F.admin("GET", "received?since=%d" % n0)["received"]
        eq([e["json"]["text"] for e in got], ["one", "two"], "both recorded")
        F.admin("POST", "faults", [])

    @check("on demand: a hanging receiver (delay) keeps the client waiting")
    def _():
        F.admin("POST", "faults", [{"kind": "delay", "ms": 3000, "times": 1}])
        c = F.connect(timeout=1)
        t0 = time.monotonic()
        try:
            c.request("POST", HOOK, body=b'{"text":"x"}', headers={"Content-Type": "application/json"})
            c.getresponse().read()
            raise AssertionError("answered within 1 s")
        except socket.timeout:
            pass
        finally:
            c.close()
        true(time.monotonic() - t0 < 2, "the client's own timeout ended it")
        F.admin("POST", "faults", [])

    @check("the request log redacts secret-bearing headers")
    def _():
        F.request("POST", HOOK, {"text": "x"}, headers={"Authorization": "Bearer abcdef123"})
        last = F.admin("GET", "received")["received"][-1]
        eq(last["headers"].get("Authorization"), "<redacted>", "redacted")


TMP = None


def start(tmp):
    global F, TMP
    TMP = tmp
    F = selftest.KeepAliveFake("receiver.py", os.path.join(tmp, "main"), "--idle-timeout", "60",
                               "--max-lifetime", "300")


if __name__ == "__main__":
    sys.exit(selftest.main("atsrecon-receiver-", start, checks, "receiver fake starts"))
