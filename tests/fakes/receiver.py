"""Webhook receiver fake: a Slack-compatible incoming webhook for the alert tests.

It behaves as Slack's incoming webhooks do (api.slack.com/messaging/webhooks and its error
list), as far as atsrecon's alerts use them:

  POST /services/<team>/<bot>/<token>   the webhook; the URL is the credential
      Content-Type application/json, body a JSON object with a non-empty string "text"
        -> 200 text/plain "ok"
      body not JSON, or not an object                -> 400 "invalid_payload"
      no "text" (or not a string, or empty)          -> 400 "no_text"
      any other path, or a token other than --token  -> 404 "no_service"
      other methods                                  -> 405

Every POST is recorded, whatever the answer (also when a fault replaces it, with the fault's
`process: true`; see common.py): GET /_admin/received?since=N -> {"next": N, "received":
[{seq, path, content_type, body (text), json (parsed or null), status (the handler's
answer), headers (secret-bearing values redacted)}]}; POST /_admin/received/reset forgets
them. The path is recorded as sent: it holds the fake's token, which is no secret here.

On demand (common.py's faults, POST /_admin/faults): 500s {"kind": "status", "status": 500,
"process": true}, a hanging receiver {"kind": "delay", "ms": 30000}, a reset connection
{"kind": "reset"}; "times" limits a rule to the first N requests.

Run: python3 tests/fakes/receiver.py --port-file /tmp/port [--token T] [...]; see --help.
"""

import common
from common import FakeServer, route

MAX_RECORDED = 1000  # the oldest records are dropped beyond this


class ReceiverFake(FakeServer):
    """Slack-compatible incoming-webhook receiver for atsrecon's alert tests."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.token = None  # None: any token is accepted
        self.received = []
        self.next_seq = 0

    @classmethod
    def add_arguments(cls, parser):
        parser.add_argument("--token", help="the only webhook token accepted (default: any)")

    def configure(self, args):
        self.token = args.token

    def record(self, req, status):
        entry = {"seq": self.next_seq, "path": req.raw_path,
                 "content_type": req.headers.get("Content-Type"),
                 "body": req.body.decode("utf-8", "replace"),
                 "json": req.json, "status": status,
                 "headers": common.redacted_headers(req.headers)}
        self.next_seq += 1
        self.received.append(entry)
        del self.received[:-MAX_RECORDED]

    @route("POST", r"^/services/(?P<team>[^/]+)/(?P<bot>[^/]+)/(?P<token>[^/]+)$")
    def webhook(self, req):
        status, body = 200, "ok"
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if self.token is not None and req.params["token"] != self.token:
            status, body = 404, "no_service"
        elif ctype != "application/json" or req.json is None or not isinstance(req.json, dict):
            status, body = 400, "invalid_payload"
        elif not isinstance(req.json.get("text"), str) or not req.json["text"]:
            status, body = 400, "no_text"
        self.record(req, status)
        return status, {"Content-Type": "text/plain; charset=utf-8"}, body

    @route("POST", r"^/")
    def elsewhere(self, req):
        self.record(req, 404)
        return 404, {"Content-Type": "text/plain; charset=utf-8"}, "no_service"

    @common.admin_route("GET", "/_admin/received")
    def admin_received(self, req, body):
        since = int(req.arg("since", "0"))
        return {"next": self.next_seq, "received": [e for e in self.received if e["seq"] >= since]}

    @common.admin_route("POST", "/_admin/received/reset")
    def admin_received_reset(self, req, body):
        self.received = []
        return {"ok": True, "next": self.next_seq}

    def dump_state(self):
        return {"received": self.received}

    def load_state(self, obj):
        self.received = list((obj or {}).get("received", []))


if __name__ == "__main__":
    common.main(ReceiverFake)
