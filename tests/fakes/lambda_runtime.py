"""Lambda Runtime API fake: the HTTP API a provided.al2023 custom runtime (atsrecon lambda)
talks to, with invocations queued by the test and every runtime call checked and recorded.

Run: python3 tests/fakes/lambda_runtime.py --port-file /tmp/port [--default-timeout-ms N]
[--function-arn ARN] [--max-response-bytes N]; see --help and common.py (--idle-timeout,
--max-lifetime, faults, request log). Then start the runtime with
AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT.

PLAIN HTTP by default, like the real API ("http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01", an
address inside the execution environment): the runtime must not need TLS for it. --tls serves
HTTPS with the throwaway CA instead (common.py's option; its default is flipped here).

Sources: the Runtime API OpenAPI document AWS publishes with the developer guide
(runtime-api.zip, "AWS Lambda Runtime API" version 1.0.3, read in a copy stored in a public
notes repository), shared/research/style-and-conventions.md B.1 (paths, headers, init error,
10 s init, SIGKILL), and the Runtime Interface Emulator (aws/aws-lambda-runtime-interface-
emulator: internal/lambda/rapi/handler/{invocationnext,invocationresponse,invocationerror,
initerror}.go, rapi/rendering/{rendering,render_error}.go, core/states.go,
fatalerror/fatalerror.go, and interop/model.go in the LocalStack fork, whose 6 MiB + 100
byte limit is marked "in parity with what AWS returns").

Protocol note for the C client (lambda.c)
-----------------------------------------
  GET  /2018-06-01/runtime/invocation/next
       Blocks until the test queues an invocation, then 200 with the event as the body
       (Content-Type application/json unless the invocation says otherwise) and
         Lambda-Runtime-Aws-Request-Id        a UUID
         Lambda-Runtime-Deadline-Ms           epoch milliseconds
         Lambda-Runtime-Invoked-Function-Arn  --function-arn
         Lambda-Runtime-Trace-Id              Root=1-xxxxxxxx-<24 hex>;Parent=<16 hex>;Sampled=0
         Lambda-Runtime-Client-Context, Lambda-Runtime-Cognito-Identity  only if the
                                              invocation sets them
       Set NO overall timeout on this request (aws-lambda-cpp sets CURLOPT_TIMEOUT 0).
  POST /2018-06-01/runtime/invocation/{id}/response   body = the result -> 202 {"status":"OK"}
  POST /2018-06-01/runtime/invocation/{id}/error      -> 202 {"status":"OK"}
       header Lambda-Runtime-Function-Error-Type: Runtime.Xxx or Function.Xxx (anything else
       Lambda reports as Runtime.Unknown, per RIE fatalerror.go: the value must contain
       (Runtime|Function)\\.[A-Z][a-zA-Z]+), Content-Type application/vnd.aws.lambda.error+json
       (the document's error format), body {"errorMessage": str, "errorType": str,
       "stackTrace": [str, ...] (optional)}.
  POST /2018-06-01/runtime/init/error                 same header and body -> 202, then EXIT;
       only before the first next.
  Errors the fake answers (RIE's, JSON {"errorMessage", "errorType"}):
    403 InvalidStateTransition  response/error with no invocation in progress (never
                                delivered, already answered, or timed out: Lambda has reset
                                the environment), init/error after next, next after init/error
    400 InvalidRequestID        response/error for an id other than the invocation in progress
    400 InvalidFunctionResponseMode  Lambda-Runtime-Function-Response-Mode other than streaming
    413 RequestEntityTooLarge   a response body over --max-response-bytes (default 6291556 =
                                6 MiB + 100): "Exceeded maximum allowed payload size (6291556
                                bytes)."; the invocation then ends as error
                                Function.ResponseSizeTooLarge (what RIE does)
    404/405                     any other path or method
  So "400 for an already-answered id" is, like RIE, a 403 InvalidStateTransition unless a
  newer invocation is in progress (then 400 InvalidRequestID).

Behaviour
---------
  * One invocation at a time, FIFO. The deadline is deadline_ms if the test gives one, else
    delivery time + timeout_ms (default --default-timeout-ms, 300000 like RIE's
    AWS_LAMBDA_FUNCTION_TIMEOUT default of 300 s).
  * Deadline passed with no response/error: the invocation is "timed_out" (recorded with the
    time), and, as Lambda resets the environment after a timeout, the runtime state goes back
    to "started" (a new runtime process is expected to call next). If a pid was armed with
    POST /_admin/kill-on-timeout, that process gets SIGKILL (or SIGTERM) at that moment, as
    Lambda kills a timed-out runtime; the arming is used once. A response or error arriving
    later is recorded under the invocation's late_calls and answered 403.
  * next while an invocation is still unanswered: a conformance failure; like RIE, the same
    invocation is delivered again.
  * init/error: recorded, state "init_error" (next is then 403); the first queued invocation,
    or the next one queued, ends as "init_error" ("Error will be served in response to the
    first invoke"). POST /_admin/runtime/restart starts a fresh environment.
  * A waiting next counts as idle for --idle-timeout, so a runtime left waiting does not keep
    the fake alive: after the idle time (or --max-lifetime, or /_admin/shutdown) the fake
    exits and the waiting next sees its connection close (or a 500).
Every call is checked and failures are recorded as conformance records {id, at_ms,
severity: "error"|"warning", call, request_id, method, path, problem}: errors are protocol
violations (unknown path, wrong state, wrong id, error without Lambda-Runtime-Function-Error-
Type, an error body that is not {errorMessage: str, errorType: str, stackTrace?: [str]}, a JSON
Content-Type on a body that is not JSON, a body on next); warnings are what Lambda accepts but
degrades (an error type Lambda reports as Runtime.Unknown, errorType differing from the header,
an unusual error Content-Type, a JSON response sent with another Content-Type such as curl's
default application/x-www-form-urlencoded, query parameters, streaming mode).

Admin (JSON, besides common.py's /_admin/state|faults|requests|reset-log|shutdown):
  POST /_admin/invoke        {payload?: JSON (default {}) | raw?: str, content_type?,
                             timeout_ms? | deadline_ms?, request_id?, function_arn?,
                             trace_id?, client_context?, cognito_identity?}
                             -> {request_id, queued}
  GET  /_admin/results       {runtime_state, init_failed, waiting_next, queued: [id],
                             current, invocations: [INV], init_errors: [...],
                             conformance: [...], stats}
       INV = {request_id, status: queued|delivered|responded|errored|timed_out|init_error|
              abandoned, queued_at_ms, delivered_at_ms, deadline_ms, timeout_ms,
              answered_at_ms, deliveries, response: {content_type, bytes, sha256, text,
              json} | null, error: {header_type, reported_type, content_type, bytes, sha256,
              text, json} | null, timed_out_at_ms, killed: {pid, signal, ok, error} | null,
              late_calls: [{call, at_ms, bytes}]}   (text holds at most 1 MiB)
  GET  /_admin/invocation?id=ID    one INV (404 if unknown)
  POST /_admin/wait          {request_id? (default: the last queued), until?: "done"
                             (default) | "delivered", timeout_ms? (default 10000, max 600000)}
                             -> INV once it got there, or INV with "wait_timed_out": true
  POST /_admin/kill-on-timeout {pid: N | null, signal?: "KILL" (default) | "TERM",
                             cmdline_contains?: str (kill only if /proc/PID/cmdline holds it)}
  POST /_admin/runtime/restart  a fresh environment: state "started"; an unanswered
                             invocation becomes "abandoned"
  GET  /_admin/conformance   the records; POST /_admin/conformance/reset clears them
  POST /_admin/clear         forget invocations, queue, init errors, conformance, stats;
                             state "started"
  GET|POST /_admin/settings  {function_arn, default_timeout_ms, max_response_bytes}
  GET  /_admin/state = GET /_admin/results; POST /_admin/state {} = /_admin/clear
"""

import collections
import hashlib
import json
import os
import re
import secrets
import signal
import threading
import time
import uuid

import common
from common import FakeServer, HttpError, admin_route, route

API = "/2018-06-01"
DEFAULT_ARN = "arn:aws:lambda:us-east-1:123456789012:function:atsrecon"
DEFAULT_TIMEOUT_MS = 300000
MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100
MAX_TEXT = 1024 * 1024
ERROR_CT = "application/vnd.aws.lambda.error+json"
ERROR_TYPE_RE = re.compile(r"(Runtime|Function)\.[A-Z][a-zA-Z]+")
ID_RE = r"(?P<id>[^/]+)"
DONE = ("responded", "errored", "timed_out", "init_error", "abandoned")


def now_ms():
    return int(time.time() * 1000)


def reported_type(header):
    """The error type Lambda reports for a Lambda-Runtime-Function-Error-Type value (RIE
    fatalerror.GetValidRuntimeOrFunctionErrorType)."""
    if header and ERROR_TYPE_RE.search(header):
        return header
    if header and header.startswith("Function."):
        return "Function.Unknown"
    return "Runtime.Unknown"


def body_record(body, content_type):
    """What the results keep of a body: size, hash, text (capped), parsed JSON or null."""
    try:
        parsed = json.loads(body) if body else None
        valid = bool(body)
    except ValueError:
        parsed, valid = None, False
    return {"content_type": content_type, "bytes": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "text": body[:MAX_TEXT].decode("utf-8", "replace"),
            "json": parsed, "_valid_json": valid}


def error_shape(body):
    """Problems of an error body against the ErrorRequest schema (empty list: fine)."""
    try:
        obj = json.loads(body)
    except ValueError:
        return ["the error body is not JSON"]
    if not isinstance(obj, dict):
        return ["the error body is not a JSON object"]
    out = []
    for k in ("errorMessage", "errorType"):
        if not isinstance(obj.get(k), str):
            out.append("%s missing or not a string" % k)
    st = obj.get("stackTrace")
    if st is not None and not (isinstance(st, list) and all(isinstance(x, str) for x in st)):
        out.append("stackTrace is not a list of strings")
    return out


class LambdaRuntimeFake(FakeServer):
    """Lambda Runtime API fake (2018-06-01) for a provided.al2023 custom runtime."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.use_gzip = False
        self.cond = threading.Condition(self.lock)
        self.settings = {"function_arn": DEFAULT_ARN, "default_timeout_ms": DEFAULT_TIMEOUT_MS,
                         "max_response_bytes": MAX_RESPONSE_BYTES}
        self.kill = None
        self.clear()
        threading.Thread(target=self._deadline_watch, daemon=True).start()

    def clear(self):
        self.invocations = collections.OrderedDict()  # request id -> record
        self.queue = collections.deque()
        self.current = None
        self.rt_state = "started"
        self.init_failed = False
        self.pending_init_error = None  # index of an init error owed to the next invocation
        self.init_errors = []
        self.conformance = []
        self.waiting = 0
        self.last_id = None
        self.stats = {"next_calls": 0, "responses": 0, "errors": 0, "init_errors": 0,
                      "timeouts": 0, "kills": 0, "late_calls": 0, "conformance_errors": 0,
                      "conformance_warnings": 0}

    # --- CLI ---------------------------------------------------------------------------------

    @classmethod
    def add_arguments(cls, p):
        p.set_defaults(tls=False)
        g = p.add_argument_group("lambda runtime")
        g.add_argument("--function-arn", default=DEFAULT_ARN)
        g.add_argument("--default-timeout-ms", type=int, default=DEFAULT_TIMEOUT_MS,
                       help="an invocation's time from delivery to deadline (%(default)s)")
        g.add_argument("--max-response-bytes", type=int, default=MAX_RESPONSE_BYTES,
                       help="larger responses are 413 (%(default)s)")

    def configure(self, a):
        with self.lock:
            self.set_settings({"function_arn": a.function_arn,
                               "default_timeout_ms": a.default_timeout_ms,
                               "max_response_bytes": a.max_response_bytes})

    def set_settings(self, body):
        common.check_known("settings", self.settings, body)
        for k, v in body.items():
            if k == "function_arn":
                if not isinstance(v, str) or not v.startswith("arn:"):
                    raise ValueError("function_arn must be an ARN")
            elif not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError("%s must be an integer >= 1" % k)
        self.settings.update(body)

    # --- records -----------------------------------------------------------------------------

    def conform(self, severity, call, req, request_id, problem):
        rec = {"id": len(self.conformance) + 1, "at_ms": now_ms(), "severity": severity,
               "call": call, "request_id": request_id,
               "method": req.method if req else None, "path": req.raw_path if req else None,
               "problem": problem}
        self.conformance.append(rec)
        self.stats["conformance_errors" if severity == "error" else
                   "conformance_warnings"] += 1
        common.note("conformance %s (%s): %s", severity, call, problem)

    @staticmethod
    def public(inv):
        out = {k: v for k, v in inv.items() if not k.startswith("_")}
        for k in ("response", "error"):
            if out.get(k):
                out[k] = {kk: vv for kk, vv in out[k].items() if not kk.startswith("_")}
        return out

    def results(self):
        return {"runtime_state": self.rt_state, "init_failed": self.init_failed,
                "waiting_next": self.waiting, "queued": list(self.queue),
                "current": self.current,
                "invocations": [self.public(i) for i in self.invocations.values()],
                "init_errors": json.loads(json.dumps(self.init_errors)),
                "conformance": list(self.conformance), "stats": dict(self.stats)}

    def dump_state(self):
        return self.results()

    def load_state(self, obj):
        if obj not in ({}, None):
            raise HttpError(400, {"error": "only {} (clear everything) can be loaded"})
        self.clear()

    # --- deadlines ---------------------------------------------------------------------------

    def _deadline_watch(self):
        with self.lock:
            while True:
                self._expire()
                wait = 0.5
                if self.current is not None:
                    left = self.invocations[self.current]["deadline_ms"] - now_ms()
                    wait = min(max(left / 1000, 0.002), 0.5)
                self.cond.wait(wait)

    def _expire(self):
        """Times out the invocation in progress if its deadline has passed (holding lock)."""
        if self.current is None:
            return
        inv = self.invocations[self.current]
        t = now_ms()
        if t < inv["deadline_ms"]:
            return
        inv["status"] = "timed_out"
        inv["timed_out_at_ms"] = t
        self.current = None
        self.rt_state = "started"  # Lambda resets the environment after a timeout
        self.stats["timeouts"] += 1
        if self.kill is not None:
            k, self.kill = self.kill, None
            inv["killed"] = self.do_kill(k)
        common.note("invocation %s timed out", inv["request_id"])
        self.cond.notify_all()

    def do_kill(self, k):
        rec = {"pid": k["pid"], "signal": k["signal"], "ok": False, "error": None}
        try:
            if k.get("cmdline_contains"):
                with open("/proc/%d/cmdline" % k["pid"], "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
                if k["cmdline_contains"] not in cmd:
                    raise OSError("pid %d is not %r (%s)" % (k["pid"], k["cmdline_contains"],
                                                             cmd[:100]))
            os.kill(k["pid"], signal.SIGKILL if k["signal"] == "KILL" else signal.SIGTERM)
            rec["ok"] = True
            self.stats["kills"] += 1
        except OSError as e:
            rec["error"] = str(e)
        return rec

    # --- the Runtime API ---------------------------------------------------------------------

    def forbidden(self, transition):
        return 403, {}, {"errorMessage": "State transition from %s to %s failed for runtime. "
                                         "Error: State transition is not allowed"
                                         % (self.rt_state, transition),
                         "errorType": "InvalidStateTransition"}

    def event_headers(self, inv):
        h = {"Lambda-Runtime-Aws-Request-Id": inv["request_id"],
             "Lambda-Runtime-Deadline-Ms": str(inv["deadline_ms"]),
             "Lambda-Runtime-Invoked-Function-Arn": inv["_arn"],
             "Lambda-Runtime-Trace-Id": inv["_trace_id"],
             "Content-Type": inv["_content_type"]}
        if inv["_client_context"] is not None:
            h["Lambda-Runtime-Client-Context"] = inv["_client_context"]
        if inv["_cognito_identity"] is not None:
            h["Lambda-Runtime-Cognito-Identity"] = inv["_cognito_identity"]
        return h

    @route("GET", r"^/2018-06-01/runtime/invocation/next$", lock=False)
    def next_invocation(self, req):
        with self.lock:
            self.stats["next_calls"] += 1
            self._expire()
            if req.body:
                self.conform("error", "next", req, None, "GET next carries a body")
            if req.query:
                self.conform("warning", "next", req, None, "query parameters on next")
            if self.rt_state == "init_error":
                self.conform("error", "next", req, None, "next after init/error (the runtime "
                             "should have exited)")
                return self.forbidden("Ready")
            if self.current is not None:
                inv = self.invocations[self.current]
                self.conform("error", "next", req, self.current, "next while invocation %s "
                             "has no response or error (delivered again)" % self.current)
                inv["deliveries"] += 1
                return 200, self.event_headers(inv), inv["_body"]
            if self.waiting:
                self.conform("error", "next", req, None, "a second next while one is waiting")
            self.rt_state = "ready"
            self.waiting += 1
            self.activity(-1)  # waiting for work is idle time (--idle-timeout)
            try:
                while not self.queue and self.stop_reason is None:
                    self.cond.wait(0.25)
            finally:
                self.waiting -= 1
                self.activity(+1)
            if not self.queue:
                return 500, {}, {"errorMessage": "the fake is stopping",
                                 "errorType": "InternalServerError"}
            rid = self.queue.popleft()
            inv = self.invocations[rid]
            t = now_ms()
            inv["status"] = "delivered"
            inv["delivered_at_ms"] = t
            inv["deliveries"] += 1
            if inv["deadline_ms"] is None:
                inv["deadline_ms"] = t + inv["timeout_ms"]
            self.current = rid
            self.rt_state = "running"
            self.cond.notify_all()  # the deadline watcher and /_admin/wait
            return 200, self.event_headers(inv), inv["_body"]

    def answerable(self, req, call):
        """Common checks of response and error; -> (inv, None) or (None, answer)."""
        self._expire()
        rid = req.params["id"]
        inv = self.invocations.get(rid)
        if self.rt_state != "running":
            if inv is not None:
                inv["late_calls"].append({"call": call, "at_ms": now_ms(),
                                          "bytes": len(req.body)})
                self.stats["late_calls"] += 1
            why = {"timed_out": "after its deadline", "queued": "before it was delivered",
                   "init_error": "after init/error"}.get(
                inv["status"] if inv else None,
                "that was already answered" if inv else "with an unknown request id")
            self.conform("error", call, req, rid, "%s for invocation %s %s (runtime state %s)"
                         % (call, rid, why, self.rt_state))
            return None, self.forbidden("Invocation%s" % ("Response" if call == "response"
                                                           else "ErrorResponse"))
        if rid != self.current:
            self.conform("error", call, req, rid, "%s for request id %s, but %s is in "
                         "progress" % (call, rid, self.current))
            return None, (400, {}, {"errorMessage": "Invalid request ID",
                                    "errorType": "InvalidRequestID"})
        mode = req.headers.get("Lambda-Runtime-Function-Response-Mode")
        if mode is not None and mode != "streaming":
            self.conform("error", call, req, rid, "Lambda-Runtime-Function-Response-Mode %r"
                         % mode)
            return None, (400, {}, {"errorMessage": "Invalid function response mode",
                                    "errorType": "InvalidFunctionResponseMode"})
        if mode == "streaming":
            self.conform("warning", call, req, rid, "streaming response mode is not "
                         "modelled; the body is taken as one buffered response")
        if req.query:
            self.conform("warning", call, req, rid, "query parameters on %s" % call)
        return inv, None

    def finish(self, inv, status):
        inv["status"] = status
        inv["answered_at_ms"] = now_ms()
        self.current = None
        self.rt_state = "response_sent"
        self.cond.notify_all()

    @route("POST", r"^/2018-06-01/runtime/invocation/" + ID_RE + r"/response$")
    def post_response(self, req):
        inv, answer = self.answerable(req, "response")
        if answer:
            return answer
        rid = inv["request_id"]
        limit = self.settings["max_response_bytes"]
        if len(req.body) > limit:
            msg = "Response payload size exceeded maximum allowed payload size (%d bytes)." \
                % limit
            inv["error"] = {"header_type": None, "reported_type":
                            "Function.ResponseSizeTooLarge", "content_type": "application/json",
                            "bytes": len(req.body), "sha256": None,
                            "text": json.dumps({"errorMessage": msg,
                                                "errorType": "Function.ResponseSizeTooLarge"}),
                            "json": {"errorMessage": msg,
                                     "errorType": "Function.ResponseSizeTooLarge"}}
            self.stats["errors"] += 1
            self.finish(inv, "errored")
            return 413, {}, {"errorMessage": "Exceeded maximum allowed payload size (%d bytes)."
                                             % limit, "errorType": "RequestEntityTooLarge"}
        ct = req.headers.get("Content-Type")
        rec = body_record(req.body, ct)
        is_json_ct = ct is not None and ct.split(";")[0].strip().lower() in (
            "application/json", "text/json")
        if is_json_ct and not rec["_valid_json"]:
            self.conform("error", "response", req, rid, "Content-Type %s but the body is not "
                         "JSON" % ct)
        elif rec["_valid_json"] and not is_json_ct:
            self.conform("warning", "response", req, rid, "a JSON body sent with Content-Type "
                         "%s" % ct)
        inv["response"] = rec
        self.stats["responses"] += 1
        self.finish(inv, "responded")
        return 202, {}, {"status": "OK"}

    def error_record(self, req, call, rid):
        """Checks and records an error report (invocation or init); -> the record."""
        header = req.headers.get("Lambda-Runtime-Function-Error-Type")
        rep = reported_type(header)
        if header is None:
            self.conform("error", call, req, rid, "no Lambda-Runtime-Function-Error-Type "
                         "header (Lambda reports Runtime.Unknown)")
        elif rep != header:
            self.conform("warning", call, req, rid, "Lambda-Runtime-Function-Error-Type %r is "
                         "not Runtime.Xxx/Function.Xxx; Lambda reports %s" % (header, rep))
        ct = req.headers.get("Content-Type")
        if ct is None or ct.split(";")[0].strip().lower() not in (ERROR_CT,
                                                                  "application/json"):
            self.conform("warning", call, req, rid, "error Content-Type %s (expected %s)"
                         % (ct, ERROR_CT))
        for p in error_shape(req.body):
            self.conform("error", call, req, rid, p)
        rec = body_record(req.body, ct)
        rec["header_type"] = header
        rec["reported_type"] = rep
        body_type = rec["json"].get("errorType") if isinstance(rec["json"], dict) else None
        if header is not None and isinstance(body_type, str) and body_type != header:
            self.conform("warning", call, req, rid, "errorType %r differs from the header %r"
                         % (body_type, header))
        return rec

    @route("POST", r"^/2018-06-01/runtime/invocation/" + ID_RE + r"/error$")
    def post_error(self, req):
        inv, answer = self.answerable(req, "error")
        if answer:
            return answer
        inv["error"] = self.error_record(req, "error", inv["request_id"])
        self.stats["errors"] += 1
        self.finish(inv, "errored")
        return 202, {}, {"status": "OK"}

    @route("POST", r"^/2018-06-01/runtime/init/error$")
    def post_init_error(self, req):
        if self.rt_state != "started":
            self.conform("error", "init_error", req, None, "init/error in runtime state %s "
                         "(only before the first next)" % self.rt_state)
            return self.forbidden("InitError")
        rec = self.error_record(req, "init_error", None)
        rec["at_ms"] = now_ms()
        rec["served_to"] = None
        self.init_errors.append(rec)
        self.init_failed = True
        self.rt_state = "init_error"
        self.stats["init_errors"] += 1
        self.pending_init_error = len(self.init_errors) - 1
        if self.queue:
            self.serve_init_error(self.invocations[self.queue.popleft()])
        self.cond.notify_all()
        return 202, {}, {"status": "OK"}

    def serve_init_error(self, inv):
        i = self.pending_init_error
        self.pending_init_error = None
        self.init_errors[i]["served_to"] = inv["request_id"]
        inv["status"] = "init_error"
        inv["answered_at_ms"] = now_ms()
        inv["error"] = {k: v for k, v in self.init_errors[i].items()
                        if k not in ("at_ms", "served_to")}
        self.cond.notify_all()

    @route("GET", r"^/")
    @route("POST", r"^/")
    @route("PUT", r"^/")
    @route("DELETE", r"^/")
    @route("PATCH", r"^/")
    def unknown(self, req):
        known = re.fullmatch(API + r"/runtime/(invocation/(next|[^/]+/(response|error))|"
                             r"init/error)", req.path)
        self.conform("error", "unknown", req, None, "%s %s is not a Runtime API call"
                     % (req.method, req.path))
        if known:
            return 405, {"Allow": "GET" if req.path.endswith("/next") else "POST"}, \
                {"errorMessage": "Method Not Allowed", "errorType": "MethodNotAllowed"}
        return 404, {}, {"errorMessage": "404 page not found", "errorType": "NotFound"}

    # --- admin -------------------------------------------------------------------------------

    @admin_route("POST", "/_admin/invoke")
    def admin_invoke(self, req, body):
        common.check_known("invoke fields", ("payload", "raw", "content_type", "timeout_ms",
                                             "deadline_ms", "request_id", "function_arn",
                                             "trace_id", "client_context",
                                             "cognito_identity"), body)
        if "payload" in body and "raw" in body:
            raise ValueError("give payload or raw, not both")
        if "raw" in body:
            if not isinstance(body["raw"], str):
                raise ValueError("raw must be a string")
            event = body["raw"].encode()
        else:
            event = json.dumps(body.get("payload", {}), separators=(",", ":")).encode()
        if len(event) > MAX_RESPONSE_BYTES:
            raise ValueError("an event is at most %d bytes" % MAX_RESPONSE_BYTES)
        if "timeout_ms" in body and "deadline_ms" in body:
            raise ValueError("give timeout_ms or deadline_ms, not both")
        timeout = body.get("timeout_ms", self.settings["default_timeout_ms"])
        deadline = body.get("deadline_ms")
        for name, v in (("timeout_ms", timeout), ("deadline_ms", deadline)):
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
                raise ValueError("%s must be a positive integer" % name)
        rid = body.get("request_id") or str(uuid.uuid4())
        if not isinstance(rid, str) or not re.fullmatch(r"[A-Za-z0-9._-]{1,128}", rid) or \
                rid in self.invocations:
            raise ValueError("request_id must be new and 1..128 of [A-Za-z0-9._-]")
        for k in ("content_type", "function_arn", "trace_id", "client_context",
                  "cognito_identity"):
            if body.get(k) is not None and not isinstance(body[k], str):
                raise ValueError("%s must be a string" % k)
        trace = body.get("trace_id") or "Root=1-%08x-%s;Parent=%s;Sampled=0" % (
            int(time.time()), secrets.token_hex(12), secrets.token_hex(8))
        inv = {"request_id": rid, "status": "queued", "queued_at_ms": now_ms(),
               "delivered_at_ms": None, "deadline_ms": deadline,
               "timeout_ms": None if deadline is not None else timeout,
               "answered_at_ms": None, "deliveries": 0, "response": None, "error": None,
               "timed_out_at_ms": None, "killed": None, "late_calls": [],
               "event_bytes": len(event),
               "_body": event, "_arn": body.get("function_arn") or self.settings["function_arn"],
               "_trace_id": trace, "_content_type": body.get("content_type") or
               "application/json", "_client_context": body.get("client_context"),
               "_cognito_identity": body.get("cognito_identity")}
        self.invocations[rid] = inv
        self.last_id = rid
        if self.pending_init_error is not None:
            self.serve_init_error(inv)
            return {"request_id": rid, "queued": False, "status": inv["status"]}
        self.queue.append(rid)
        self.cond.notify_all()
        return {"request_id": rid, "queued": True, "status": "queued"}

    @admin_route("GET", "/_admin/results")
    def admin_results(self, req, body):
        self._expire()
        return self.results()

    @admin_route("GET", "/_admin/invocation")
    def admin_invocation(self, req, body):
        self._expire()
        inv = self.invocations.get(req.arg("id"))
        if inv is None:
            raise HttpError(404, {"error": "no such invocation", "id": req.arg("id")})
        return self.public(inv)

    @admin_route("POST", "/_admin/wait")
    def admin_wait(self, req, body):
        common.check_known("wait fields", ("request_id", "until", "timeout_ms"), body)
        rid = body.get("request_id") or self.last_id
        inv = self.invocations.get(rid)
        if inv is None:
            raise HttpError(404, {"error": "no such invocation", "id": rid})
        until = body.get("until", "done")
        if until not in ("done", "delivered"):
            raise ValueError('until must be "done" or "delivered"')
        timeout = body.get("timeout_ms", 10000)
        if not isinstance(timeout, int) or isinstance(timeout, bool) or \
                not 0 <= timeout <= 600000:
            raise ValueError("timeout_ms must be an integer in [0, 600000]")
        end = time.monotonic() + timeout / 1000

        def reached():
            return inv["status"] in DONE or (until == "delivered" and
                                             inv["status"] == "delivered")
        while not reached():
            self._expire()
            left = end - time.monotonic()
            if left <= 0 or reached():
                break
            self.cond.wait(min(left, 0.5))
        out = self.public(inv)
        if not reached():
            out["wait_timed_out"] = True
        return out

    @admin_route("POST", "/_admin/kill-on-timeout")
    def admin_kill(self, req, body):
        common.check_known("kill fields", ("pid", "signal", "cmdline_contains"), body)
        pid = body.get("pid")
        if pid is None:
            self.kill = None
            return {"armed": False}
        if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 1 or \
                pid in (os.getpid(), os.getppid()):
            raise ValueError("pid must be another process's id")
        sig = body.get("signal", "KILL")
        if sig not in ("KILL", "TERM"):
            raise ValueError('signal must be "KILL" or "TERM"')
        cc = body.get("cmdline_contains")
        if cc is not None and (not isinstance(cc, str) or not cc):
            raise ValueError("cmdline_contains must be a non-empty string")
        self.kill = {"pid": pid, "signal": sig, "cmdline_contains": cc}
        return {"armed": True, "pid": pid, "signal": sig}

    @admin_route("POST", "/_admin/runtime/restart")
    def admin_restart(self, req, body):
        if self.current is not None:
            inv = self.invocations[self.current]
            inv["status"] = "abandoned"
            inv["answered_at_ms"] = now_ms()
        self.current = None
        self.rt_state = "started"
        self.pending_init_error = None
        self.cond.notify_all()
        return {"runtime_state": self.rt_state}

    @admin_route("GET", "/_admin/conformance")
    def admin_conformance(self, req, body):
        return list(self.conformance)

    @admin_route("POST", "/_admin/conformance/reset")
    def admin_conformance_reset(self, req, body):
        n = len(self.conformance)
        self.conformance = []
        return {"ok": True, "cleared": n}

    @admin_route("POST", "/_admin/clear")
    def admin_clear(self, req, body):
        self.clear()
        self.cond.notify_all()
        return {"ok": True}

    @admin_route("GET", "/_admin/settings")
    @admin_route("POST", "/_admin/settings")
    def admin_settings(self, req, body):
        if req.method == "POST":
            self.set_settings(body)
        return dict(self.settings)


if __name__ == "__main__":
    common.main(LambdaRuntimeFake)
