"""Self-test of the Ashby fake (ashby.py), run as a subprocess over TLS.

Run: python3 tests/fakes/test_ashby_fake.py
Prints "ok - NAME" or "not ok - NAME: WHY" per check, then "N passed, N failed"; exits 1 if
any check failed. Needs only the Python 3 standard library and the openssl CLI (for the CA).
Every answer of the API is validated against the response schema of its operation in
ashby_schemas.json (the fake's own faithfulness), and the committed ashby_schemas.json is
compared with what ashby_schemas.py makes of the description today.
"""

import base64
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ashby  # noqa: E402
import ashby_schemas  # noqa: E402
import selftest  # noqa: E402
from selftest import check, eq, true  # noqa: E402

KEY = "selftest-key-123"
SCHEMAS = ashby.Schemas()
F = None


class Fake(selftest.KeepAliveFake):
    """ashby.py in a subprocess on an ephemeral port."""

    def __init__(self, tmp, *args):
        super().__init__("ashby.py", tmp, "--idle-timeout", "60", "--max-lifetime", "300",
                         "--api-key", KEY, *args, timeout=30)

    def rpc(self, path, body=None, key=KEY, accept="application/json; version=1", raw=None,
            validate=True):
        """POST /PATH; -> (status, headers, parsed body). A 200 answer is checked against the
        operation's response schema."""
        h = {"Content-Type": "application/json"}
        if accept:
            h["Accept"] = accept
        if key is not None:
            h["Authorization"] = "Basic " + base64.b64encode((key + ":").encode()).decode()
        st, hd, out = self.request("POST", path, body if raw is None else None, h, raw)
        if validate and st == 200 and path in ashby.OPS:
            op = SCHEMAS.ops[ashby.OPS[path]]
            errs = SCHEMAS.validate(op["responses"]["200"], out)
            true(not errs, "%s answer does not fit its schema: %s" % (path, errs[:5]))
        return st, hd, out

    def ok(self, path, body=None, key=KEY):
        st, _, out = self.rpc(path, body, key)
        eq(st, 200, "%s status (%r)" % (path, out))
        true(isinstance(out, dict) and out.get("success") is True,
             "%s not a success: %r" % (path, out))
        return out

    def err(self, path, body, code, key=KEY, status=200):
        st, _, out = self.rpc(path, body, key)
        eq(st, status, "%s status (%r)" % (path, out))
        true(isinstance(out, dict) and out.get("success") is False, "not success:false: %r"
             % (out,))
        eq(out["errorInfo"]["code"], code, "error code")
        eq(out["errors"], [code], "errors[]")
        true(out["errorInfo"].get("requestId"), "requestId")
        return out

    def list_all(self, path, body=None, key=KEY, limit=100):
        """-> (pages, records, syncToken)."""
        body = dict(body or {}, limit=limit)
        pages = []
        while True:
            out = self.ok(path, body, key)
            pages.append(out["results"])
            if not out["moreDataAvailable"]:
                true("nextCursor" not in out, "no cursor on the last page")
                return pages, [r for p in pages for r in p], out.get("syncToken")
            true(out.get("nextCursor"), "a cursor when more data is available")
            true("syncToken" not in out, "no syncToken before the last page")
            body = dict(body, cursor=out["nextCursor"])
            if len(pages) > 5000:
                raise AssertionError("too many pages")

    def conformance(self):
        return self.admin("GET", "conformance")["failures"]

    def people(self):
        return {p["id"]: p for p in self.admin("GET", "canon/people")["people"]}


def same(a, b, what, path="$"):
    """eq for big JSON values: names the first place where they differ."""
    if type(a) is not type(b):
        raise AssertionError("%s: %s: %r != %r" % (what, path, a, b))
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                raise AssertionError("%s: %s.%s only on one side" % (what, path, k))
            same(a[k], b[k], what, "%s.%s" % (path, k))
    elif isinstance(a, list):
        if len(a) != len(b):
            raise AssertionError("%s: %s: %d != %d items" % (what, path, len(a), len(b)))
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, what, "%s[%d]" % (path, i))
    elif a != b:
        raise AssertionError("%s: %s: %r != %r" % (what, path, a, b))


def fresh(**extra):
    F.admin("POST", "state", dict(extra))
    F.admin("POST", "faults", [])
    F.admin("POST", "conformance/reset", {})


def start(tmp):
    global F
    F = Fake(tmp)


def main():
    return selftest.main("ashby-fake-test-", start, run_checks, "ashby.py starts")


def run_checks():
    fresh()

    @check("ashby_schemas.json is what ashby_schemas.py makes of the description today")
    def _():
        if not os.path.exists(ashby_schemas.DEFAULT_SPEC):
            print("# %s not here: comparison skipped" % ashby_schemas.DEFAULT_SPEC)
            return
        with open(ashby_schemas.DEFAULT_OUT, encoding="utf-8") as f:
            eq(f.read() == ashby_schemas.generate(ashby_schemas.DEFAULT_SPEC), True,
               "committed ashby_schemas.json up to date")
        ops = SCHEMAS.ops
        eq(ops["candidateList"]["permission"], "candidatesRead", "permission from the text")
        eq(ops["jobList"]["permission"], "jobsRead", "job.list permission")

    @check("validator: the description's error example fits the error schema; broken ones do "
           "not (a check that can fail)")
    def _():
        err = {"success": False, "errors": ["invalid_input"],
               "errorInfo": {"code": "invalid_input", "message": "m", "requestId": "r"}}
        resp = SCHEMAS.ops["candidateInfo"]["responses"]["200"]
        eq(SCHEMAS.validate(resp, err), [], "error envelope")
        true(SCHEMAS.validate(resp, {"success": False, "errorInfo": {"code": "x"}}),
             "errors[] is required by the schema")
        true(SCHEMAS.validate(resp, {"success": True, "results": {"id": "x"}}),
             "a candidate without its required fields")
        req = SCHEMAS.ops["candidateInfo"]["request"]["schema"]
        eq(SCHEMAS.validate(req, {"id": "f9e52a51-a075-4116-a7b8-484deba69004"}), [], "info body")
        true(SCHEMAS.validate(req, {"id": "not-a-uuid"}), "id format uuid")
        true(SCHEMAS.validate(req, {}), "one of id or externalMappingId")

    @check("auth: HTTP Basic with the key as user name; none -> 401, unknown key -> 403, both "
           "with the error envelope; other paths 404, GET 405")
    def _():
        st, h, out = F.rpc("/candidate.list", {}, key=None)
        eq(st, 401, "no credentials")
        eq(out["success"], False, "envelope")
        true("basic" in h.get("www-authenticate", "").lower(), "WWW-Authenticate")
        st, _, out = F.rpc("/candidate.list", {}, key="nope-nope")
        eq((st, out["errorInfo"]["code"]), (403, "invalid_api_key"), "bad key")
        st, _, out = F.rpc("/candidate.search", {}, validate=False)
        eq((st, out["success"]), (404, False), "unknown rpc")
        st, _, out = F.request("GET", "/candidate.list")
        eq((st, out["success"]), (405, False), "GET")
        F.ok("/candidate.list", {})
        eq(F.conformance(), [], "no conformance failure so far")

    @check("conformance: limit > 100, unknown property, bad JSON, wrong type, a missing "
           "Accept version -> recorded (invalid_input where it is an error)")
    def _():
        F.err("/candidate.list", {"limit": 101}, "invalid_input")
        F.err("/candidate.list", {"limit": 2.5}, "invalid_input")
        F.err("/candidate.list", {"cursor": 7}, "invalid_input")
        F.err("/candidate.info", {"id": "not-a-uuid"}, "invalid_input")
        F.err("/candidate.info", {}, "invalid_input")
        st, _, out = F.rpc("/candidate.list", raw=b"{not json")
        eq((st, out["errorInfo"]["code"]), (200, "invalid_input"), "bad JSON")
        F.ok("/candidate.list", {"limit": 5, "updatedAfter": 1})
        st, _, out = F.rpc("/candidate.list", {}, accept="application/json")
        eq(out["success"], True, "served without the version")
        kinds = [c["kind"] for c in F.conformance()]
        eq(kinds, ["limit", "limit", "schema", "schema", "schema", "json", "unknown_property",
                   "header"], "recorded kinds")
        entries = F.admin("GET", "requests")["requests"]
        true(any(e.get("conformance_failure") for e in entries), "flagged in the request log")
        F.admin("POST", "conformance/reset", {})
        eq(F.conformance(), [], "reset")
        F.admin("POST", "settings", {"unknown_properties": "reject"})
        F.err("/candidate.list", {"updatedAfter": 1}, "invalid_input")
        F.admin("POST", "settings", {"unknown_properties": "record"})
        F.admin("POST", "conformance/reset", {})

    @check("records: candidate, application and job shapes fit the description; status and "
           "stage follow the archive rules")
    def _():
        fresh()
        a = F.admin("POST", "canon/add", {"first_name": "Mary", "last_name": "Ann Smith",
                                           "emails": ["Mary@Example.COM", "m@work.example"],
                                           "phones": ["(415) 555-0100"], "title": "Engineer",
                                           "company": "Initech", "stage": "Take Home Test",
                                           "source": "Referral"})["id"]
        r = F.admin("POST", "canon/add", {"first_name": "Rae", "emails": ["r@example.com"],
                                           "status": "rejected"})["id"]
        out = F.ok("/candidate.info", {"id": a})["results"]
        eq(out["name"], "Mary Ann Smith", "one name string")
        eq(out["primaryEmailAddress"], {"value": "Mary@Example.COM", "type": "Personal",
                                        "isPrimary": True}, "primary email")
        eq([e["value"] for e in out["emailAddresses"]], ["Mary@Example.COM", "m@work.example"],
           "emailAddresses include the primary")
        eq(out["phoneNumbers"][0]["value"], "(415) 555-0100", "phone as entered")
        eq((out["position"], out["company"]), ("Engineer", "Initech"), "position, company")
        eq(len(out["applicationIds"]), 1, "applicationIds")
        app = F.ok("/application.info", {"applicationId": out["applicationIds"][0]})["results"]
        eq((app["status"], app["currentInterviewStage"]["title"]), ("Active", "Take Home Test"),
           "active application")
        eq(app["candidate"]["id"], a, "application.candidate.id")
        eq(app["source"]["sourceType"]["title"], "Referral", "source type")
        eq(app["creditedToUser"]["firstName"], "Kate", "credited user")
        eq(app["job"]["title"], "DevOps Engineer", "default job")
        out = F.ok("/candidate.info", {"id": r})["results"]
        app = F.ok("/application.info", {"applicationId": out["applicationIds"][0]})["results"]
        eq((app["status"], app["currentInterviewStage"]["type"],
            app["archiveReason"]["reasonType"]), ("Archived", "Archived", "RejectedByOrg"),
           "rejected = archived by the org")
        true(app.get("archivedAt"), "archivedAt")
        F.admin("POST", "canon/status", {"id": r, "status": "withdrawn"})
        app = F.ok("/application.info", {"applicationId": out["applicationIds"][0]})["results"]
        eq(app["archiveReason"]["reasonType"], "RejectedByCandidate", "withdrawn")
        F.admin("POST", "canon/status", {"id": r, "status": "active"})
        app = F.ok("/application.info", {"applicationId": out["applicationIds"][0]})["results"]
        eq((app["status"], app["currentInterviewStage"]["title"], "archiveReason" in app),
           ("Active", "Application Review", False), "active again, back on its stage")
        F.admin("POST", "canon/status", {"id": r, "status": "hired"})
        app = F.ok("/application.info", {"applicationId": out["applicationIds"][0]})["results"]
        eq((app["status"], app["currentInterviewStage"]["title"]), ("Hired", "Hired"), "hired")
        jobs = F.ok("/job.list", {})["results"]
        eq([j["title"] for j in jobs], ["DevOps Engineer", "Data Scientist",
                                        "Accounting Manager", "Chief of Staff"], "jobs")
        eq([j["confidential"] for j in jobs], [False, False, False, True], "confidential")
        eq(len(F.ok("/job.list", {"status": ["Closed"]})["results"]), 1, "status filter")
        F.err("/candidate.info", {"id": "00000000-0000-4000-8000-000000000000"},
              "candidate_not_found")
        F.err("/application.info", {"applicationId": "00000000-0000-4000-8000-000000000000"},
              "application_not_found")
        k = F.ok("/apiKey.info", {})["results"]
        true("candidatesRead" in k["scopes"], "apiKey.info scopes")
        eq(F.conformance(), [], "conformance")

    @check("pagination: 250 people, limit 100 -> 3 pages, every id once, syncToken only on the "
           "last page; cursors are per endpoint and key")
    def _():
        fresh()
        ids = F.admin("POST", "canon/generate", {"people": 250, "seed": 5})["ids"]
        pages, recs, tok = F.list_all("/candidate.list")
        eq([len(p) for p in pages], [100, 100, 50], "page sizes")
        eq([r["id"] for r in recs], ids, "creation order, each once")
        true(isinstance(tok, str) and 4 <= len(tok) <= 20, "a short opaque token: %r" % tok)
        out = F.ok("/candidate.list", {"limit": 10})
        F.err("/application.list", {"cursor": out["nextCursor"]}, "invalid_cursor")
        F.err("/candidate.list", {"cursor": "bogus"}, "invalid_cursor")
        F.admin("POST", "keys", {"key": "other-key-456"})
        F.err("/candidate.list", {"cursor": out["nextCursor"]}, "invalid_cursor",
              key="other-key-456")
        _, apps, atok = F.list_all("/application.list", limit=33)
        eq(len(apps), 250, "applications")
        true(atok and atok != tok, "its own token")
        eq(len(F.ok("/candidate.list", {"createdAfter": 0})["results"]), 100, "createdAfter")
        eq(F.conformance(), [], "conformance")

    @check("sync tokens: deltas per endpoint; an application-only change is not a candidate "
           "change; tokens expire; another endpoint's token is refused; "
           "incremental_sync_too_large past the configured depth")
    def _():
        fresh()
        ids = F.admin("POST", "canon/generate", {"people": 30, "seed": 9})["ids"]
        _, _, ctok = F.list_all("/candidate.list")
        _, apps, atok = F.list_all("/application.list")
        out = F.ok("/candidate.list", {"syncToken": ctok})
        eq((out["results"], out["moreDataAvailable"]), ([], False), "nothing changed")
        true(out["syncToken"], "a new token on the last (only) page")
        F.admin("POST", "canon/edit", {"id": ids[3], "title": "CTO"})
        app_of_7 = [a["id"] for a in apps if a["candidate"]["id"] == ids[7]][0]
        F.admin("POST", "edit-application", {"id": app_of_7, "stage": "Offer"})
        _, recs, ctok2 = F.list_all("/candidate.list", {"syncToken": ctok})
        eq([r["id"] for r in recs], [ids[3]], "candidate delta: the edited one only")
        eq(recs[0]["position"], "CTO", "new value")
        _, recs, atok2 = F.list_all("/application.list", {"syncToken": atok})
        eq([r["id"] for r in recs], [app_of_7], "application delta")
        eq(recs[0]["currentInterviewStage"]["title"], "Offer", "moved")
        eq(F.ok("/candidate.list", {"syncToken": ctok2})["results"], [], "after the new token")
        F.err("/application.list", {"syncToken": ctok2}, "invalid_sync_token")
        F.err("/candidate.list", {"syncToken": "nonsense"}, "invalid_sync_token")
        F.admin("POST", "expire-sync-tokens", {})
        F.err("/candidate.list", {"syncToken": ctok2}, "sync_token_expired")
        F.admin("POST", "settings", {"expired_token_code": "something_else"})
        F.err("/application.list", {"syncToken": atok2}, "something_else")
        F.admin("POST", "settings", {"expired_token_code": "sync_token_expired"})
        _, _, ctok3 = F.list_all("/candidate.list")
        for i in range(25):
            F.admin("POST", "canon/edit", {"id": ids[i], "company": "C%d" % i})
        F.admin("POST", "settings", {"incremental_max_pages": 2})
        out = F.ok("/candidate.list", {"syncToken": ctok3, "limit": 10})
        out = F.ok("/candidate.list", {"syncToken": ctok3, "limit": 10,
                                       "cursor": out["nextCursor"]})
        F.err("/candidate.list", {"syncToken": ctok3, "limit": 10, "cursor": out["nextCursor"]},
              "incremental_sync_too_large")
        F.err("/candidate.list", {"syncToken": "zzz", "cursor": out["nextCursor"]},
              "invalid_input")
        F.admin("POST", "settings", {"incremental_max_pages": 0})
        out = F.ok("/candidate.list", {"limit": 10, "cursor": out["nextCursor"]})
        eq(len(out["results"]), 5, "a cursor alone goes on")
        eq(F.conformance(), [], "conformance")

    @check("an edit landing mid-listing: a record not served yet comes with its new value, one "
           "served already comes in the next delta (the token stands for the listing's start)")
    def _():
        fresh()
        ids = F.admin("POST", "canon/generate", {"people": 30, "seed": 2})["ids"]
        F.admin("POST", "mid-listing", {"path": "/candidate.list", "after_pages": 1, "actions": [
            {"canon": "edit", "body": {"id": ids[0], "title": "Early"}},
            {"canon": "edit", "body": {"id": ids[29], "title": "Late"}},
            {"canon": "delete", "body": {"id": ids[20]}},
            {"canon": "add", "body": {"first_name": "New", "emails": ["new@example.com"]}}]})
        pages, recs, tok = F.list_all("/candidate.list", limit=10)
        by = {r["id"]: r for r in recs}
        eq(len(recs), 30, "29 old (one deleted mid-listing) + 1 created mid-listing")
        true(ids[20] not in by, "deleted mid-listing: gone")
        true(by[ids[0]].get("position") != "Early", "served before the edit")
        eq(by[ids[29]]["position"], "Late", "served after the edit")
        _, recs, _ = F.list_all("/candidate.list", {"syncToken": tok})
        eq(sorted(r.get("position") for r in recs if r["name"] != "New"), ["Early", "Late"],
           "the next delta has both edits")

    @check("permissions: a denied endpoint and a missing permission -> "
           "missing_endpoint_permission naming the endpoint; confidential jobs and their "
           "candidates hidden from a key without the permission")
    def _():
        fresh()
        F.admin("POST", "keys", {"key": "deny-apps", "deny": ["/application.list"]})
        F.admin("POST", "keys", {"key": "no-jobs", "permissions": ["candidatesRead"]})
        F.admin("POST", "keys", {"key": "limited", "confidential": False})
        out = F.err("/application.list", {}, "missing_endpoint_permission", key="deny-apps")
        true("/application.list" in out["errorInfo"]["message"], "names the endpoint")
        F.ok("/candidate.list", {}, key="deny-apps")
        out = F.err("/job.list", {}, "missing_endpoint_permission", key="no-jobs")
        true("jobsRead" in out["errorInfo"]["message"], "names the permission")
        p = F.admin("POST", "canon/add", {"first_name": "Pat", "emails": ["p@example.com"],
                                           "private": True})["id"]
        F.admin("POST", "canon/add", {"first_name": "Open", "emails": ["o@example.com"]})
        eq(len(F.ok("/candidate.list", {})["results"]), 2, "the full key sees both")
        eq([c["name"] for c in F.ok("/candidate.list", {}, key="limited")["results"]], ["Open"],
           "limited key")
        eq(len(F.ok("/application.list", {}, key="limited")["results"]), 1, "their applications")
        F.err("/candidate.info", {"id": p}, "candidate_not_found", key="limited")
        eq(len(F.ok("/job.list", {}, key="limited")["results"]), 3, "confidential job hidden")
        eq(F.people()[p]["private"], True, "canon private")
        eq(F.conformance(), [], "conformance")

    @check("rate limit: 429 with the envelope and Retry-After, none with retry_after none, "
           "X-RateLimit-Scope when partner-wide; per key")
    def _():
        fresh(limits={"limit_per_window": 2, "window_s": 30})
        F.ok("/candidate.list", {})
        F.ok("/candidate.list", {})
        st, h, out = F.rpc("/candidate.list", {})
        eq((st, out["errorInfo"]["code"]), (429, "rate_limit_exceeded"), "third in the window")
        true(1 <= int(h["retry-after"]) <= 30, "Retry-After seconds")
        true("x-ratelimit-scope" not in h, "no scope on a per-key 429")
        F.admin("POST", "keys", {"key": "second-key"})
        F.ok("/candidate.list", {}, key="second-key")
        F.admin("POST", "settings", {"retry_after": "none", "partner_scope": True})
        st, h, out = F.rpc("/candidate.list", {})
        eq(st, 429, "still limited")
        true("retry-after" not in h, "no Retry-After")
        eq(h.get("x-ratelimit-scope"), "integration-partner", "scope")
        eq(F.admin("GET", "stats")["429"], 2, "counted")
        F.admin("POST", "limits", {"limit_per_window": 0})
        F.ok("/candidate.list", {})

    @check("faults from common.py apply to RPC paths (malformed, 429 without Retry-After)")
    def _():
        fresh()
        F.admin("POST", "faults", [{"match": {"path": r"^/candidate\.list$"},
                                    "kind": "malformed", "times": 1},
                                   {"match": {"path": r"^/job\.list$"}, "kind": "status",
                                    "status": 429, "times": 1}])
        st, _, out = F.rpc("/candidate.list", {}, validate=False)
        eq((st, isinstance(out, bytes)), (200, True), "malformed body")
        st, h, _ = F.rpc("/job.list", {}, validate=False)
        eq((st, "retry-after" in h), (429, False), "429 without Retry-After")
        F.ok("/job.list", {})
        F.admin("POST", "faults", [])

    @check("canonical admin: generate is deterministic for a seed; people carry the canonical "
           "fields; edit/stage/status/delete/anonymize/merge show through the API")
    def _():
        fresh()
        ids1 = F.admin("POST", "canon/generate", {"people": 40, "seed": 3,
                                                   "apps_per_person": 2})["ids"]
        ppl1 = F.people()
        fresh()
        ids2 = F.admin("POST", "canon/generate", {"people": 40, "seed": 3,
                                                   "apps_per_person": 2})["ids"]
        eq(ids1, ids2, "same seed, same ids")
        ppl = F.people()
        eq(ppl, ppl1, "same people")
        keys = {"id", "first_name", "last_name", "emails", "phones", "title", "company", "stage",
                "status", "job", "source", "anonymized", "private"}
        for p in ppl.values():
            eq(set(p), keys, "person keys")
            true(p["status"] in ashby.CANON_STATUS, "status word")
            true(p["stage"] in [s for s, _ in ashby.STAGES], "stage name")
            true(p["source"] in [s for s, _ in ashby.SOURCES], "source name")
        true(any(any(c.isupper() for c in p["emails"][0]) for p in ppl.values()),
             "some emails in upper case")
        true(any(p["phones"][0].startswith("(") for p in ppl.values()), "some national phones")
        true(len({p["status"] for p in ppl.values()}) >= 2, "several statuses")
        a, b, c = ids2[0], ids2[1], ids2[2]
        F.admin("POST", "canon/edit", {"id": a, "first_name": "Zoe", "last_name": "Q Public",
                                       "emails": ["zoe@example.com"], "phones": ["+15550100"]})
        F.admin("POST", "canon/stage", {"id": a, "stage": "Face to Face"})
        p = F.people()[a]
        eq((p["first_name"], p["last_name"], p["emails"], p["stage"], p["status"]),
           ("Zoe", "Q Public", ["zoe@example.com"], "Face to Face", "active"), "edited")
        eq(F.ok("/candidate.info", {"id": a})["results"]["name"], "Zoe Q Public", "name")
        F.admin("POST", "canon/anonymize", {"id": b})
        cb = F.ok("/candidate.info", {"id": b})["results"]
        eq((cb["name"], cb["emailAddresses"], cb["phoneNumbers"], "primaryEmailAddress" in cb),
           (ashby.ANON_NAME, [], [], False), "anonymised")
        pb = F.people()[b]
        true(pb["anonymized"] and pb["status"] != "active", "anonymised, nothing active")
        emails_c = F.people()[c]["emails"]
        F.admin("POST", "canon/merge", {"from": c, "into": a})
        F.err("/candidate.info", {"id": c}, "candidate_not_found")
        ca = F.ok("/candidate.info", {"id": a})["results"]
        eq([e["value"] for e in ca["emailAddresses"]], ["zoe@example.com"] + emails_c,
           "emails moved to the survivor")
        eq(len(ca["applicationIds"]), 4, "applications moved")
        F.admin("POST", "canon/delete", {"id": a})
        F.err("/candidate.info", {"id": a}, "candidate_not_found")
        hist = F.admin("GET", "history")["history"]
        eq([h["action"] for h in hist], ["candidateMerge", "candidateDelete"], "history")
        eq(len(F.people()), 38, "people left")
        eq(F.conformance(), [], "conformance")

    @check("state: a dump loads back exactly (ids, stamps, answers; issued sync tokens stay "
           "valid); a hand-written state of canonical people loads too")
    def _():
        fresh()
        ids = F.admin("POST", "canon/generate", {"people": 12, "seed": 4, "apps_per_person": 2})[
            "ids"]
        F.admin("POST", "canon/add", {"first_name": "Pat", "emails": ["p@x.example"],
                                      "private": True, "status": "rejected"})
        F.admin("POST", "canon/status", {"id": ids[1], "status": "withdrawn"})
        F.admin("POST", "canon/merge", {"from": ids[2], "into": ids[3]})
        F.admin("POST", "canon/delete", {"id": ids[4]})
        _, recs, tok = F.list_all("/candidate.list")
        _, apps, _ = F.list_all("/application.list")
        dump = F.admin("GET", "state")
        F.admin("POST", "canon/edit", {"id": ids[0], "title": "Changed"})
        F.admin("POST", "state", dump)
        same(F.admin("GET", "state"), dump, "dump, load, dump")
        same(F.list_all("/candidate.list")[1], recs, "same candidates")
        same(F.list_all("/application.list")[1], apps, "same applications")
        eq(F.ok("/candidate.list", {"syncToken": tok})["results"], [], "the token still works")
        F.admin("POST", "canon/edit", {"id": ids[5], "title": "After"})
        eq([r["id"] for r in F.ok("/candidate.list", {"syncToken": tok})["results"]], [ids[5]],
           "and sees later changes")
        before = F.people()
        F.admin("POST", "state", {"people": list(before.values())})
        same(F.people(), before, "canonical people round trip")
        eq(F.conformance(), [], "conformance")

    @check("100,000 people generated fast; a sweep of 10,000 in pages of 100")
    def _():
        fresh()
        t0 = time.monotonic()
        F.admin("POST", "canon/generate", {"people": 100000, "seed": 1})
        t_gen = time.monotonic() - t0
        out = F.ok("/candidate.list", {"limit": 100})
        eq(len(out["results"]), 100, "first page")
        fresh()
        F.admin("POST", "canon/generate", {"people": 10000, "seed": 1})
        t1 = time.monotonic()
        pages, recs, _ = F.list_all("/candidate.list")
        t_sweep = time.monotonic() - t1
        eq((len(pages), len({r["id"] for r in recs})), (100, 10000), "pages, distinct ids")
        print("# generate 100k: %.2f s; sweep of 10k: %.2f s" % (t_gen, t_sweep))
        true(t_gen < 20, "generate took %.1f s" % t_gen)
        eq(F.conformance(), [], "conformance")


if __name__ == "__main__":
    sys.exit(main())
