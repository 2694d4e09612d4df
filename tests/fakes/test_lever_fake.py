"""Self-test of the Lever v1 fake (lever.py), run as a subprocess over TLS.

Run: python3 tests/fakes/test_lever_fake.py
Prints "ok - NAME" or "not ok - NAME: WHY" per check, then "N passed, N failed"; exits 1 if
any check failed. Needs only the Python 3 standard library and the openssl CLI (for the CA).
"""

import base64
import json
import os
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lever  # noqa: E402
import selftest  # noqa: E402
from selftest import check, eq, true  # noqa: E402

KEY = "test-lever-key-42"
F = None


class Fake(selftest.KeepAliveFake):
    """lever.py in a subprocess on an ephemeral port."""

    def __init__(self, tmp, *args):
        super().__init__("lever.py", tmp, "--idle-timeout", "60", "--max-lifetime", "180",
                         "--api-key", KEY, *args, timeout=20)

    def api(self, path, query=None, key=KEY, password=""):
        """GET /v1/PATH; query: a list of (name, value) pairs or a dict."""
        url = "/v1/" + path
        if query:
            url += "?" + urllib.parse.urlencode(query, doseq=True)
        h = {}
        if key is not None:
            h["Authorization"] = "Basic " + base64.b64encode(
                ("%s:%s" % (key, password)).encode()).decode()
        return self.request("GET", url, None, h)

    def ok(self, path, query=None, key=KEY):
        st, _, body = self.api(path, query, key)
        eq(st, 200, "GET %s %r: %r" % (path, query, body))
        return body

    def list_all(self, path, query, max_pages=1000):
        """Follows next exactly; -> (pages, records)."""
        q = list(query.items()) if isinstance(query, dict) else list(query)
        body = self.ok(path, q)
        pages = [body]
        while body["hasNext"]:
            true(isinstance(body.get("next"), str) and body["next"], "next with hasNext")
            if len(pages) >= max_pages:
                raise AssertionError("more than %d pages" % max_pages)
            body = self.ok(path, q + [("offset", body["next"])])
            pages.append(body)
        true("next" not in pages[-1], "no next on the last page")
        return pages, [r for p in pages for r in p["data"]]


def is_error(body, code=None):
    true(isinstance(body, dict) and set(body) == {"code", "message"} and
         isinstance(body["message"], str), "not {code, message}: %r" % (body,))
    if code is not None:
        eq(body["code"], code, "error code")


def reset(**extra):
    """A fresh world with the limiter out of the way."""
    state = {"limits": {"rps": 0, "burst": 20}}
    state.update(extra)
    F.admin("POST", "state", state)


def add(contact, **kw):
    body = dict(kw, contact=contact)
    return F.admin("POST", "add-opportunity", body)


def start(tmp):
    global F
    F = Fake(tmp)


def main():
    return selftest.main("lever-fake-test-", start, run_checks, "lever.py starts")


def run_checks():
    reset()

    @check("auth: Basic with the key and an empty password; no header, wrong key or a password "
           "-> 401 {code, message} + WWW-Authenticate Basic")
    def _():
        F.admin("POST", "generate", {"people": 3})
        eq(F.api("opportunities")[0], 200, "good key")
        for key, pw in ((None, ""), ("nope-nope", ""), (KEY, "x")):
            st, h, body = F.api("opportunities", key=key, password=pw)
            eq(st, 401, "status for %r:%r" % (key, pw))
            is_error(body, "UnauthorizedError")
            true(h.get("www-authenticate", "").startswith("Basic"), "WWW-Authenticate")
        st, _, body = F.request("GET", "/v1/opportunities", None,
                                {"Authorization": "Bearer " + KEY})
        eq(st, 401, "Bearer is not Lever's key auth")

    @check("403: a key without archive_reasons:read:admin; confidentiality=all without "
           "confidential:access:admin; the message names the permission")
    def _():
        F.admin("POST", "keys", {"key": "narrow-key", "permissions":
                                 ["opportunities:read:admin"]})
        st, _, body = F.api("archive_reasons", key="narrow-key")
        eq(st, 403, "archive_reasons")
        is_error(body, "ForbiddenError")
        true("archive_reasons:read:admin" in body["message"], "names the permission")
        eq(F.api("opportunities", key="narrow-key")[0], 200, "opportunities allowed")
        st, _, body = F.api("opportunities", {"confidentiality": "all"}, key="narrow-key")
        eq(st, 403, "confidential")
        true("confidential:access:admin" in body["message"], "names confidential access")

    reset()
    F.admin("POST", "generate", {"people": 120, "opportunities_per_person": 2, "seed": 7})

    @check("list envelope {data, hasNext, next}; following next exactly walks every "
           "opportunity once, in (createdAt, id) order; limit bounds")
    def _():
        pages, recs = F.list_all("opportunities", {"limit": 50})
        eq(len(pages), 5, "pages of 50 for 240")
        eq(len(recs), 240, "records")
        eq(len({r["id"] for r in recs}), 240, "distinct")
        keys = [(r["createdAt"], r["id"]) for r in recs]
        eq(keys, sorted(keys), "order")
        true(all(p["hasNext"] for p in pages[:-1]) and not pages[-1]["hasNext"], "hasNext")
        parts = pages[0]["next"].split(".")
        true(len(parts) == 3 and parts[0] == "0" and parts[1].isdigit(),
             "token shaped like the documentation's: %r" % pages[0]["next"])
        for lim in ("0", "101", "x"):
            st, _, body = F.api("opportunities", {"limit": lim})
            eq(st, 400, "limit %s" % lim)
            is_error(body, "BadRequestError")
        eq(len(F.ok("opportunities")["data"]), 100, "default limit 100")

    @check("an offset the server never issued -> 400; a reference list's token on opportunities "
           "-> 400")
    def _():
        st, _, body = F.api("opportunities", {"offset": "0.1414895548650.a6070140-33db-407c-"
                                                         "91f5-2760e15c8e94"})
        eq(st, 400, "made-up offset")
        is_error(body, "BadRequestError")
        tok = F.ok("stages", {"limit": 2})["next"]
        eq(F.api("opportunities", {"offset": tok})[0], 400, "other list's token")

    @check("include=contact returns only the contact; expand=stage/contact/applications "
           "objects; comma-joined expand, unknown or repeated parameters -> 400")
    def _():
        r = F.ok("opportunities", {"limit": 3, "include": "contact"})["data"]
        eq([set(x) for x in r], [{"contact"}] * 3, "only contact")
        r = F.ok("opportunities", [("limit", 1), ("expand", "stage"), ("expand", "contact"),
                                   ("expand", "applications")])["data"][0]
        eq(set(r["stage"]), {"id", "text"}, "stage object")
        true(r["stage"]["text"] in dict(lever.STAGES).values(), "stage name")
        eq(set(r["contact"]), {"id", "name", "headline", "isAnonymized", "location", "emails",
                               "phones"}, "contact object")
        app = r["applications"][0]
        true(app["opportunityId"] == r["id"] and app["posting"] in dict(
            (p[0], p[1]) for p in lever.POSTINGS), "application object")
        r = F.ok("opportunities", {"limit": 1})["data"][0]
        true(isinstance(r["contact"], str) and isinstance(r["stage"], str), "ids unexpanded")
        true(isinstance(r["emails"], list) and all(isinstance(e, str) for e in r["emails"]),
             "emails untyped strings")
        true(all(set(p) == {"type", "value"} for p in r["phones"]), "phones {type, value}")
        for q in ({"expand": "stage,contact"}, {"expands": "stage"},
                  [("limit", 1), ("limit", 2)], {"updated_at_start": "2026-01-01"}):
            eq(F.api("opportunities", q)[0], 400, "query %r" % (q,))

    @check("contact_id repeated: the union of those contacts' opportunities (all pages)")
    def _():
        recs = F.ok("opportunities", {"limit": 100})["data"]
        cids = sorted({r["contact"] for r in recs})[:30]
        _, got = F.list_all("opportunities", [("limit", 25)] + [("contact_id", c)
                                                               for c in cids])
        eq(len(got), 60, "2 each")
        eq({r["contact"] for r in got}, set(cids), "contacts")
        eq(F.admin("GET", "stats")["max_contact_ids"], 30, "stats max_contact_ids")

    reset()

    @check("updated_at window: inclusive ms bounds; updatedAt null never matches a window but is "
           "listed by a full sweep")
    def _():
        now = F.admin("GET", "clock")["now_ms"]
        a = add({"name": "Old Timer", "emails": ["old@example.com"]}, updated_at=None,
                created_at=now - 10 ** 9)
        b = add({"name": "Win Dow"})
        c = add({"name": "Late Comer"})
        eq(a["updatedAt"], None, "null updatedAt")
        lo, hi = b["updatedAt"], c["updatedAt"]
        got = [r["id"] for r in F.ok("opportunities", {"updated_at_start": lo,
                                                       "updated_at_end": hi})["data"]]
        eq(sorted(got), sorted([b["id"], c["id"]]), "inclusive on both ends")
        got = [r["id"] for r in F.ok("opportunities", {"updated_at_start": lo + 1,
                                                       "updated_at_end": hi})["data"]]
        eq(got, [c["id"]], "start excludes earlier")
        eq(len(F.ok("opportunities", {"updated_at_start": 0})["data"]), 2, "null not matched")
        eq(len(F.ok("opportunities")["data"]), 3, "full list has it")

    @check("confidential opportunities: hidden by default, listed with confidentiality=all or "
           "=confidential; GET by id of one needs confidential access")
    def _():
        x = add({"name": "Secret Agent"}, confidential=True)
        ids = lambda q: {r["id"] for r in F.ok("opportunities", q)["data"]}  # noqa: E731
        true(x["id"] not in ids({}), "hidden by default")
        true(x["id"] in ids({"confidentiality": "all"}), "all")
        eq(ids({"confidentiality": "confidential"}), {x["id"]}, "only confidential")
        eq(F.ok("opportunities/" + x["id"])["data"]["confidentiality"], "confidential", "GET")
        F.admin("POST", "keys", {"key": "plain-key", "permissions":
                                 ["opportunities:read:admin"]})
        eq(F.api("opportunities/" + x["id"], key="plain-key")[0], 403, "GET without access")

    reset()

    @check("a contact edit bumps every opportunity of the contact; a stage change bumps one; "
           "contact fields are the same on every opportunity")
    def _():
        a = add({"name": "Two Jobs", "emails": ["two@example.com"]})
        b = add(a["contact"]["id"], stage="Offer", posting="Data Scientist - BK")
        time.sleep(0.01)
        F.admin("POST", "edit-contact", {"id": a["contact"]["id"], "set": {
            "emails": ["two@new.example.com", "Two@Example.com"]}})
        p = F.admin("GET", "person?id=" + a["contact"]["id"])
        ups = [o["updatedAt"] for o in p["opportunities"]]
        true(all(u > max(a["updatedAt"], b["updatedAt"]) for u in ups), "both bumped")
        eq([o["emails"] for o in p["opportunities"]],
           [["two@new.example.com", "Two@Example.com"]] * 2, "shared emails")
        F.admin("POST", "edit-opportunity", {"id": b["id"], "set": {"stage": "Face to Face"}})
        p2 = F.admin("GET", "person?id=" + a["contact"]["id"])
        eq(p2["opportunities"][0]["updatedAt"], ups[0], "other one untouched")
        true(p2["opportunities"][1]["updatedAt"] > ups[1], "moved one bumped")
        eq(p2["opportunities"][1]["stage"]["text"], "Face to Face", "stage")

    reset()

    @check("deletes: GET 404 ResourceNotFound, the deleted feed lists {opportunity..., "
           "deletedAt, deletedBy} by deleted_at window; minimal shape; the contact goes with its "
           "last opportunity")
    def _():
        a = add({"name": "Del Me"})
        b = add(a["contact"]["id"])
        c = add({"name": "Keep Me"})
        d1 = F.admin("POST", "delete-opportunity", {"id": a["id"]})
        st, _, body = F.api("opportunities/" + a["id"])
        eq(st, 404, "GET deleted")
        is_error(body, "ResourceNotFound")
        eq(F.admin("GET", "summary")["contacts"], 2, "contact kept (one opportunity left)")
        d2 = F.admin("POST", "delete-opportunity", {"id": b["id"]})
        eq(F.admin("GET", "summary")["contacts"], 1, "contact gone with its last")
        recs = F.ok("opportunities/deleted")["data"]
        eq([r["id"] for r in recs], [a["id"], b["id"]], "feed")
        eq(recs[0]["contact"], a["contact"]["id"], "contact in the record")
        true(recs[0]["deletedBy"] and recs[0]["deletedAt"] == d1["deletedAt"], "deletedAt/By")
        got = F.ok("opportunities/deleted", {"deleted_at_start": d2["deletedAt"],
                                             "deleted_at_end": d2["deletedAt"]})["data"]
        eq([r["id"] for r in got], [b["id"]], "window")
        F.admin("POST", "settings", {"deleted_shape": "minimal"})
        eq(set(F.ok("opportunities/deleted")["data"][0]), {"id", "deletedAt", "deletedBy"},
           "minimal")
        eq([r["id"] for r in F.ok("opportunities")["data"]], [c["id"]], "live list")

    reset()

    @check("anonymisation: one of two opportunities -> isAnonymized there only, contact intact; "
           "all -> the contact is anonymized and its personal data removed")
    def _():
        a = add({"name": "Gdpr Person", "emails": ["g@example.com"],
                 "phones": [{"type": "mobile", "value": "+14155550123"}]})
        b = add(a["contact"]["id"])
        F.admin("POST", "anonymize-opportunity", {"id": a["id"]})
        p = F.admin("GET", "person?id=" + a["contact"]["id"])
        eq([o["isAnonymized"] for o in p["opportunities"]], [True, False], "per opportunity")
        eq(p["contact"]["isAnonymized"], False, "contact not yet")
        eq(p["contact"]["emails"], ["g@example.com"], "data kept")
        F.admin("POST", "anonymize-opportunity", {"id": b["id"]})
        p = F.admin("GET", "person?id=" + a["contact"]["id"])
        eq((p["contact"]["isAnonymized"], p["contact"]["emails"], p["contact"]["phones"],
            p["opportunities"][0]["name"]), (True, [], [], "Anonymized"), "erased")

    reset()

    @check("archive state: archived {archivedAt, reason} (object), the example's top-level "
           "archivedAt/archiveReason (top), both; /archive_reasons types and filter")
    def _():
        a = add({"name": "Hired Person"}, reason="Hired")
        body = F.ok("opportunities/" + a["id"])["data"]
        eq(body["archived"]["reason"], "16308515-dc77-4aa7-b3af-96161b2b4e9b", "reason id")
        true("archiveReason" not in body, "object shape only")
        F.admin("POST", "settings", {"archive_shape": "top"})
        body = F.ok("opportunities/" + a["id"])["data"]
        true("archived" not in body and body["archiveReason"] ==
             "16308515-dc77-4aa7-b3af-96161b2b4e9b" and body["archivedAt"], "top shape")
        F.admin("POST", "settings", {"archive_shape": "both"})
        body = F.ok("opportunities/" + a["id"])["data"]
        true("archived" in body and "archivedAt" in body, "both")
        hired = F.ok("archive_reasons", {"type": "hired"})["data"]
        eq([r["text"] for r in hired], ["Hired"], "type filter")
        eq(len(F.ok("archive_reasons")["data"]), 7, "all reasons")
        eq(F.api("archive_reasons", {"type": "fired"})[0], 400, "bad type")

    reset(limits={"rps": 10, "burst": 20})

    @check("rate limit: a burst of 20 passes, then 429 {code: TooManyRequests} with no rate "
           "headers and no Retry-After; 10 r/s sustained passes")
    def _():
        F.admin("POST", "reset-counters")
        st = [F.api("stages")[0] for _ in range(26)]
        true(st[:20] == [200] * 20 and 429 in st[20:], "burst then 429: %s" % st)
        s, h, body = F.api("stages")
        if s == 429:
            is_error(body, "TooManyRequests")
            true("retry-after" not in h and not any(k.startswith("x-ratelimit") for k in h),
                 "no headers: %s" % h)
        F.admin("POST", "reset-counters")
        for _ in range(20):
            F.api("stages")  # drain the burst
        t0 = time.monotonic()
        bad = 0
        for i in range(15):
            while time.monotonic() < t0 + (i + 1) * 0.105:
                time.sleep(0.005)
            bad += F.api("stages")[0] == 429
        eq(bad, 0, "429s at 9.5 r/s after the burst")
        F.admin("POST", "settings", {"retry_after": "seconds"})
        F.admin("POST", "reset-counters")
        hs = [F.api("stages") for _ in range(22)][-1]
        eq((hs[0], hs[1].get("retry-after")), (429, "1"), "--retry-after seconds")
        true(F.admin("GET", "stats")["429"] >= 2, "stats count 429s")

    reset()

    @check("faults from common.py apply to the API: 503, truncated, malformed and 5 MB bodies")
    def _():
        F.admin("POST", "generate", {"people": 2})
        F.admin("POST", "faults", [{"match": {"path": "^/v1/opportunities$"}, "kind": "status",
                                    "status": 503, "times": 1}])
        eq(F.api("opportunities")[0], 503, "503")
        eq(F.api("opportunities")[0], 200, "then ok")
        F.admin("POST", "faults", [{"match": {"path": "^/v1/opportunities$"},
                                    "kind": "oversize", "bytes": 5000000, "times": 1}])
        st, h, body = F.api("opportunities")
        true(st == 200 and isinstance(body, dict) and
             len(json.dumps(body, separators=(",", ":"))) >= 4990000, "5 MB valid JSON")
        F.admin("POST", "faults", [{"match": {"path": "^/v1/opportunities$"},
                                    "kind": "malformed", "times": 1}])
        st, _, body = F.api("opportunities")
        true(st == 200 and isinstance(body, bytes), "malformed JSON")
        F.admin("POST", "faults", [])

    reset()

    @check("on-page: an edit lands right before page 2 of a listing (keyset: nothing skipped or "
           "doubled; a CLOSED window loses the record that moved out of it)")
    def _():
        F.admin("POST", "generate", {"people": 30})
        now = F.admin("GET", "clock")["now_ms"]
        time.sleep(0.005)
        all_ = F.list_all("opportunities", {"limit": 10})[1]
        late = all_[-1]  # served on page 3
        # touch everything so a closed window [t0, t1] holds all 30
        stamps = [F.admin("POST", "edit-opportunity", {"id": r["id"], "set": {"tags": ["x"]}})
                  ["updatedAt"] for r in all_]
        t0, t1 = min(stamps), max(stamps)
        true(t0 > now, "clock moves")
        F.admin("POST", "on-page", {"page": 2, "do": "edit-contact", "body": {
            "id": late["contact"], "set": {"name": "Moved Out"}}})
        _, got = F.list_all("opportunities", {"limit": 10, "updated_at_start": t0,
                                              "updated_at_end": t1})
        ids = [r["id"] for r in got]
        eq(len(ids), len(set(ids)), "no doubles")
        eq(set(ids), {r["id"] for r in all_} - {late["id"]}, "only the moved one is missing")
        _, got = F.list_all("opportunities", {"limit": 10})
        eq(len(got), 30, "an open listing keeps it")

    reset()

    @check("canon: generate is deterministic for a seed; people P shape; phones partly national, "
           "emails partly upper case; stages/jobs/sources from greenhouse.py's names")
    def _():
        ids = F.admin("POST", "canon/generate", {"people": 40, "seed": 5,
                                                 "apps_per_person": 2})["ids"]
        reset()
        ids2 = F.admin("POST", "canon/generate", {"people": 40, "seed": 5,
                                                  "apps_per_person": 2})["ids"]
        eq(ids, ids2, "same ids for a seed")
        people = F.admin("GET", "canon/people")["people"]
        eq(len(people), 40, "people")
        eq(set(people[0]), {"id", "first_name", "last_name", "emails", "phones", "title",
                            "company", "stage", "status", "job", "source", "anonymized",
                            "private"}, "P keys")
        true(any(p["phones"][0].startswith("(") for p in people), "national phones")
        true(any(p["emails"][0] != p["emails"][0].lower() for p in people), "upper case")
        true({p["stage"] for p in people} <= {n for _, n in lever.STAGES}, "stage names")
        true({p["source"] for p in people} <= set(lever.SOURCES), "sources")
        true({p["status"] for p in people} <= {"active", "rejected", "hired"}, "statuses")
        eq(F.request("POST", "/_admin/canon/merge", {"from": ids[0], "into": ids[1]})[0], 400,
           "no merges")

    reset()

    @check("canon add/edit/stage/status/delete/anonymize, and the current-opportunity rule "
           "(most recently updated active, else latest)")
    def _():
        pid = F.admin("POST", "canon/add", {
            "first_name": "Jane", "last_name": "Van Doe", "emails": ["Jane@X.com"],
            "phones": ["(415) 555-0100"], "title": "CTO", "company": "Initech",
            "stage": "Recruiter Phone Screen", "status": "active", "job": "DevOps Engineer",
            "source": "Referral"})["id"]
        p = [x for x in F.admin("GET", "canon/people")["people"] if x["id"] == pid][0]
        eq((p["first_name"], p["last_name"], p["title"], p["company"], p["stage"], p["status"],
            p["job"], p["source"], p["private"]),
           ("Jane", "Van Doe", None, "Initech", "Recruiter Phone Screen", "active",
            "DevOps Engineer", "Referral", False), "added")
        p = F.admin("POST", "canon/edit", {"id": pid, "last_name": "Doe", "company": "Hooli"})
        eq((p["last_name"], p["company"]), ("Doe", "Hooli"), "edit")
        eq(F.admin("POST", "canon/stage", {"id": pid, "stage": "Offer"})["stage"], "Offer",
           "stage")
        eq(F.admin("POST", "canon/status", {"id": pid, "status": "hired"})["status"], "hired",
           "hired")
        # a second, active opportunity becomes the current one
        add(pid, stage="Face to Face", posting="Accounting Manager")
        p = F.admin("POST", "canon/status", {"id": pid, "status": "rejected"})
        eq((p["stage"], p["status"]), ("Face to Face", "rejected"), "new current rejected")
        p = [x for x in F.admin("GET", "canon/people")["people"] if x["id"] == pid][0]
        eq((p["stage"], p["status"]), ("Face to Face", "rejected"), "latest archived wins")
        eq(F.admin("POST", "canon/anonymize", {"id": pid})["anonymized"], True, "anonymize")
        F.admin("POST", "canon/delete", {"id": pid})
        eq(F.admin("GET", "canon/people")["people"], [], "deleted")
        eq(len(F.ok("opportunities/deleted")["data"]), 2, "both in the feed")

    reset()

    @check("generate 20,000 people with 2 opportunities each in a few seconds")
    def _():
        t0 = time.monotonic()
        r = F.admin("POST", "generate", {"people": 20000, "opportunities_per_person": 2})
        eq((r["contacts"], r["opportunities"]), (20000, 40000), "counts")
        true(time.monotonic() - t0 < 15, "took %.1f s" % (time.monotonic() - t0))
        eq(len(F.ok("opportunities", {"include": "contact"})["data"]), 100, "lists")


if __name__ == "__main__":
    sys.exit(main())
