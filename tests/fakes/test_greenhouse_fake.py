"""Self-test of the Greenhouse Harvest v3 fake (greenhouse.py), run as a subprocess over TLS.

Run: python3 tests/fakes/test_greenhouse_fake.py
Prints "ok - NAME" or "not ok - NAME: WHY" per check, then "N passed, N failed"; exits 1 if
any check failed. Needs only the Python 3 standard library and the openssl CLI (for the CA).
"""

import base64
import datetime
import http.client
import json
import os
import ssl
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import greenhouse  # noqa: E402
import selftest  # noqa: E402
from selftest import check, eq, true  # noqa: E402

CLIENT_ID, CLIENT_SECRET, USER = "test-client", "test-secret", 4711
HOUR_MS = 3600 * 1000

CANDIDATE_KEYS = {"id", "first_name", "last_name", "preferred_name", "company", "title",
                  "private", "can_email", "email_addresses", "phone_numbers", "addresses",
                  "website_addresses", "social_media_addresses", "tags", "linked_user_ids",
                  "time_zone", "custom_fields", "last_activity_at", "created_at", "updated_at"}
APPLICATION_KEYS = {"id", "candidate_id", "prospect", "job_id", "job_post_id", "status",
                    "stage_id", "stage_name", "job_interview_stage_id", "rejection_reason_id",
                    "rejected_at", "source_id", "referrer_id", "recruiter_id", "coordinator_id",
                    "prospective_job_ids", "custom_fields", "answers", "location_address",
                    "needs_decision", "agency_note_id", "last_activity_at", "created_at",
                    "updated_at"}


class Fake(selftest.KeepAliveFake):
    """greenhouse.py in a subprocess on an ephemeral port."""

    def __init__(self, tmp, *args):
        super().__init__("greenhouse.py", tmp, "--idle-timeout", "60", "--max-lifetime", "180",
                         "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, *args,
                         timeout=20)

    def token_request(self, form, basic=(CLIENT_ID, CLIENT_SECRET),
                      content_type="application/x-www-form-urlencoded", path="/auth/token",
                      raw=None):
        h = {"Content-Type": content_type}
        if basic:
            h["Authorization"] = "Basic " + base64.b64encode(
                ("%s:%s" % basic).encode()).decode()
        data = raw if raw is not None else urllib.parse.urlencode(form).encode()
        return self.request("POST", path, None, h, data)

    def token(self, user=USER):
        st, _, body = self.token_request({"grant_type": "client_credentials", "sub": str(user)})
        eq(st, 200, "token status (%r)" % (body,))
        return body["access_token"]

    def api(self, path, token, query=None, raw_query=None):
        """GET /v3/PATH; query is a dict (encoded with quote, so | and : are escaped) or
        raw_query a literal query string."""
        url = "/v3/" + path
        if query:
            url += "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote, safe="")
        elif raw_query is not None:
            url += "?" + raw_query
        h = {"Authorization": "Bearer " + token} if token else {}
        return self.request("GET", url, None, h)

    def follow(self, link, token):
        """Follows a Link rel=next exactly; checks it is a full URL to this server."""
        url = parse_next(link)
        u = urllib.parse.urlsplit(url)
        eq((u.scheme, u.hostname, u.port), ("https", "localhost", self.port), "Link target")
        eq(list(urllib.parse.parse_qs(u.query, keep_blank_values=True)), ["cursor"],
           "Link query parameters")
        return self.request("GET", u.path + "?" + u.query, None,
                            {"Authorization": "Bearer " + token})

    def list_all(self, path, token, query, max_pages=1000):
        """-> (pages [[record, ...], ...], records)."""
        st, h, body = self.api(path, token, query)
        eq(st, 200, "first page of %s (%r)" % (path, body))
        pages = [body]
        while "link" in h:
            if len(pages) >= max_pages:
                raise AssertionError("more than %d pages" % max_pages)
            st, h, body = self.follow(h["link"], token)
            eq(st, 200, "page %d of %s (%r)" % (len(pages) + 1, path, body))
            pages.append(body)
        return pages, [r for p in pages for r in p]


F = None


def parse_next(link):
    true(link.startswith("<") and link.endswith('>; rel="next"'), "Link shape: %r" % link)
    return link[1:link.index(">")]


def ms(iso):
    return greenhouse.parse_iso_us(iso) // 1000


def iso(t_ms):
    return greenhouse.iso_ms(t_ms)


def is_error(body, status_text=None):
    true(isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]
         and all(isinstance(e, str) for e in body["errors"]), "not {errors: [..]}: %r" % (body,))
    if status_text is not None:
        true(any(status_text.lower() in e.lower() for e in body["errors"]),
             "%r not in %r" % (status_text, body["errors"]))


def descending(records, what):
    ids = [r["id"] for r in records]
    true(all(a > b for a, b in zip(ids, ids[1:])), "%s not strictly id-descending: %s"
         % (what, ids[:20]))


# A fixed world: 30 candidates 1001..1030, candidate i updated BASE + i hours, one
# application each (2001..2030), and two more for 1010 (rejected, hired).
BASE = None


def world():
    cands, apps = [], []
    for i in range(30):
        cid = 1001 + i
        up = BASE + i * HOUR_MS
        cands.append({
            "id": cid, "first_name": greenhouse.FIRST[i % 16], "last_name": "Tester%d" % i,
            "company": "Initech", "title": "Engineer", "private": cid == 1003,
            "email_addresses": [{"value": "c%d@example.com" % cid, "type": "personal"}],
            "phone_numbers": [{"value": "+1415555%04d" % cid, "type": "mobile"}],
            "custom_fields": {"desired_salary": {"name": "Desired Salary", "type": "short_text",
                                                 "value": "100K"}},
            "created_at": iso(up - 30 * 24 * HOUR_MS), "updated_at": iso(up)})
        apps.append({"id": 2001 + i, "candidate_id": cid, "job_id": 4001, "source_id": 7,
                     "job_interview_stage_id": 5001, "created_at": iso(up - 24 * HOUR_MS),
                     "updated_at": iso(up)})
    apps.append({"id": 2101, "candidate_id": 1010, "job_id": 4002, "status": "rejected",
                 "stage_name": "Take Home Test", "rejection_reason_id": 9504,
                 "rejected_at": iso(BASE), "source_id": 16, "updated_at": iso(BASE)})
    apps.append({"id": 2102, "candidate_id": 1010, "job_id": 4001, "status": "hired",
                 "stage_name": "Offer", "referrer_id": 6001, "source_id": 21,
                 "updated_at": iso(BASE)})
    return {"candidates": cands, "applications": apps,
            "limits": {"limit_per_window": 1000000, "window_s": 30}}


def reset_world(**extra):
    """The fixed world, limits out of the way, clock at real time; -> a fresh token."""
    state = world()
    state.update(extra)
    F.admin("POST", "state", state)
    return F.token()


def window_q(lo_h, hi_h, lo="gte", hi="lte"):
    return "%s|%s|%s|%s" % (lo, iso(BASE + lo_h * HOUR_MS), hi, iso(BASE + hi_h * HOUR_MS))


def start(tmp):
    global F, BASE
    F = Fake(tmp)
    BASE = F.admin("GET", "clock")["now_ms"] - 10 * 24 * HOUR_MS
    BASE -= BASE % 1000


def main():
    return selftest.main("greenhouse-fake-test-", start, run_checks, "greenhouse.py starts")


def run_checks():
    tok = reset_world()

    @check("token endpoint: Basic client id/secret + grant_type=client_credentials + sub -> "
           "{access_token, token_type, expires_at}")
    def _():
        now = F.admin("GET", "clock")["now_ms"]
        st, h, body = F.token_request({"grant_type": "client_credentials", "sub": str(USER)})
        eq(st, 200, "status (%r)" % (body,))
        eq(set(body), {"access_token", "token_type", "expires_at"}, "response fields")
        eq(body["token_type"], "Bearer", "token_type")
        exp = datetime.datetime.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%S%z")
        true(abs(exp.timestamp() * 1000 - (now + 3600 * 1000)) < 5000,
             "expires_at about an hour ahead: %s" % body["expires_at"])
        eq(h.get("cache-control"), "no-store", "Cache-Control")
        true(len(body["access_token"]) > 500 and body["access_token"].count(".") == 2,
             "a long JWT-shaped token")

    @check("token endpoint errors: bad client 401, missing/unknown sub 400, wrong grant 400, "
           "JSON body 400, parameters in the URL 400")
    def _():
        good = {"grant_type": "client_credentials", "sub": str(USER)}
        cases = [
            (F.token_request(good, basic=(CLIENT_ID, "wrong")), 401, "invalid_client"),
            (F.token_request(good, basic=("nobody", CLIENT_SECRET)), 401, "invalid_client"),
            (F.token_request(good, basic=None), 401, "invalid_client"),
            (F.token_request({"grant_type": "client_credentials"}), 400, "invalid_request"),
            (F.token_request({"grant_type": "client_credentials", "sub": ""}), 400,
             "invalid_request"),
            (F.token_request({"grant_type": "client_credentials", "sub": "999"}), 400,
             "invalid_grant"),
            (F.token_request({"grant_type": "password", "sub": str(USER)}), 400,
             "unsupported_grant_type"),
            (F.token_request({}, content_type="application/json",
                             raw=json.dumps(good).encode()), 400, "invalid_request"),
            (F.token_request({}, path="/auth/token?" + urllib.parse.urlencode(good), raw=b""),
             400, "invalid_request"),
        ]
        for i, ((st, _, body), want, err) in enumerate(cases):
            eq((st, body.get("error") if isinstance(body, dict) else body), (want, err),
               "case %d" % i)
            true(isinstance(body.get("error_description"), str), "error_description")
        eq(F.token_request(good, path="/token")[0], 404, "only the configured auth path")

    @check("API auth: no token / garbage token 401 {errors} + WWW-Authenticate; token 200")
    def _():
        for t in (None, "nope"):
            st, h, body = F.api("candidates", t)
            eq(st, 401, "status")
            is_error(body)
            true(h.get("www-authenticate", "").startswith("Bearer"), "WWW-Authenticate")
            true("x-ratelimit-remaining" in h, "rate headers on a 401")
        st, h, body = F.request("GET", "/v3/candidates", None,
                                {"Authorization": "Basic " + base64.b64encode(
                                    b"test-client:test-secret").decode()})
        eq(st, 401, "Basic on the API")
        eq(F.api("candidates", tok)[0], 200, "with the token")

    @check("access tokens expire (clock past the lifetime -> 401 'expired'; a new token "
           "works); /_admin/expire-tokens")
    def _():
        t = F.token()
        F.admin("POST", "clock", {"advance_s": 3601})
        st, _, body = F.api("candidates", t)
        eq(st, 401, "after the lifetime")
        is_error(body, "expired")
        t2 = F.token()
        eq(F.api("candidates", t2)[0], 200, "new token")
        F.admin("POST", "clock", {"offset_s": 0})
        t3 = F.token()
        eq(F.api("candidates", t3)[0], 200, "before expire-tokens")
        F.admin("POST", "expire-tokens")
        eq(F.api("candidates", t3)[0], 401, "after expire-tokens")

    tok = reset_world()

    @check("403: token user not a Site Admin; client without the endpoint's scope")
    def _():
        t = F.token(4712)  # default non-admin user
        st, _, body = F.api("candidates", t)
        eq(st, 403, "non-admin")
        is_error(body, "Site Admin")
        F.admin("POST", "clients", {"client_id": "narrow", "client_secret": "s",
                                    "scopes": ["harvest:applications:list"]})
        st, _, body = F.token_request({"grant_type": "client_credentials", "sub": str(USER)},
                                      basic=("narrow", "s"))
        eq(st, 200, "narrow token")
        st, _, body = F.api("candidates", body["access_token"])
        eq(st, 403, "missing scope")
        is_error(body, "harvest:candidates:list")

    @check("v3 record shapes: candidate and application fields, no v1 names "
           "(is_private, application_ids, applications, current_stage, applied_at)")
    def _():
        st, _, body = F.api("candidates", tok, {"per_page": 500})
        eq(st, 200, "status")
        eq(len(body), 30, "all candidates")
        for c in body:
            eq(set(c), CANDIDATE_KEYS, "candidate %s keys" % c["id"])
            for t in ("created_at", "updated_at", "last_activity_at"):
                true(c[t].endswith("Z") and len(c[t]) == 24, "ms-Z timestamp %r" % c[t])
        c = [x for x in body if x["id"] == 1005][0]
        eq(c["email_addresses"], [{"value": "c1005@example.com", "type": "personal"}], "emails")
        eq(c["phone_numbers"], [{"value": "+14155551005", "type": "mobile"}], "phones")
        eq(c["custom_fields"]["desired_salary"]["value"], "100K", "custom field by name_key")
        st, _, apps = F.api("applications", tok, {"per_page": 500})
        eq(len(apps), 32, "all applications")
        for a in apps:
            eq(set(a), APPLICATION_KEYS, "application %s keys" % a["id"])
            true(a["status"] in ("in_process", "rejected", "hired", "converted"),
                 "v3 status %r" % a["status"])

    @check("lists are id-descending")
    def _():
        for path in ("candidates", "applications", "jobs", "job_interview_stages", "sources",
                     "referrers"):
            st, _, body = F.api(path, tok, {"per_page": 500})
            eq(st, 200, path)
            true(len(body) >= 2, "%s has records" % path)
            descending(body, path)

    @check("the whole /v3/applications listing (a full sweep's join): every application once, "
           "id-descending across cursor pages, each naming its candidate")
    def _():
        pages, apps = F.list_all("applications", tok, {"per_page": 7})
        true(len(pages) >= 5, "several pages (%d)" % len(pages))
        eq(len(apps), 32, "every application")
        eq(len({a["id"] for a in apps}), 32, "each once")
        descending(apps, "applications across pages")
        _, _, cands = F.api("candidates", tok, {"per_page": 500})
        known = {c["id"] for c in cands}
        true(all(a["candidate_id"] in known for a in apps), "each names a listed candidate")

    @check("updated_at window: gte/lte inclusive, gt/lt exclusive, encoded or raw '|', "
           "created_at alone, empty window, one-sided")
    def _():
        def ids(q=None, raw=None):
            st, h, body = F.api("candidates", tok, q, raw)
            eq(st, 200, "status for %r (%r)" % (q or raw, body))
            true("link" not in h, "one page")
            return [c["id"] for c in body]
        want = list(range(1021, 1005, -1))
        eq(ids({"updated_at": window_q(5, 20), "per_page": 100}), want, "gte|lte inclusive")
        eq(ids({"updated_at": window_q(5, 20, "gt", "lt")}), want[1:-1], "gt|lt exclusive")
        raw = "updated_at=" + window_q(5, 20).replace(":", "%3A") + "&per_page=100"
        eq(ids(raw=raw), want, "raw | with %3A colons (the docs' request builder)")
        eq(ids({"updated_at": "gte|" + iso(BASE + 25 * HOUR_MS)}), list(range(1030, 1025, -1)),
           "gte only")
        eq(ids({"updated_at": window_q(20, 5)}), [], "lower above upper: empty")
        lo = BASE - 30 * 24 * HOUR_MS
        eq(ids({"created_at": "gte|%s|lte|%s" % (iso(lo), iso(lo + 2 * HOUR_MS))}),
           [1003, 1002, 1001], "created_at window")
        off = (datetime.datetime.fromtimestamp((BASE + 5 * HOUR_MS) / 1000,
                                               datetime.timezone(datetime.timedelta(hours=2)))
               .isoformat())
        eq(ids({"updated_at": "gte|%s|lte|%s" % (off, iso(BASE + 20 * HOUR_MS))}), want,
           "+02:00 offset, %2B-encoded")

    @check("bad windows are 422 {errors}: created_at with updated_at, bad op, bad timestamp, "
           "raw '+' in an offset, odd parts, repeated parameter")
    def _():
        bad = [
            {"updated_at": window_q(1, 2), "created_at": window_q(1, 2)},
            {"updated_at": "after|" + iso(BASE)},
            {"updated_at": "gte|yesterday"},
            {"updated_at": "gte|2026-01-01"},
            {"updated_at": "gte"},
            {"updated_at": "gte|%s|gt|%s" % (iso(BASE), iso(BASE))},
        ]
        for q in bad:
            st, h, body = F.api("candidates", tok, q)
            eq(st, 422, "status for %r" % q)
            is_error(body)
            true("x-ratelimit-remaining" in h, "rate headers on a 422")
        st, _, body = F.api("candidates", tok,
                            raw_query="updated_at=gte|2026-01-01T00:00:00+02:00")
        eq(st, 422, "an unencoded + decodes to a space")
        st, _, body = F.api("candidates", tok, raw_query="per_page=5&per_page=6")
        eq(st, 422, "repeated per_page")

    @check("multi-page Link cursors followed exactly: full URL, only cursor, last page has no "
           "Link, nothing skipped or doubled")
    def _():
        q = {"updated_at": window_q(5, 20), "per_page": 5}
        pages, recs = F.list_all("candidates", tok, q)
        eq([len(p) for p in pages], [5, 5, 5, 1], "page sizes")
        eq([r["id"] for r in recs], list(range(1021, 1005, -1)), "records in order")
        pages, recs = F.list_all("candidates", tok, {"updated_at": window_q(5, 20),
                                                      "per_page": 4})
        eq([len(p) for p in pages], [4, 4, 4, 4], "a full last page has no Link")
        pages, recs = F.list_all("candidates", tok, {"per_page": 1})
        eq(len(pages), 30, "per_page=1 over everything")
        descending(recs, "per_page=1 pages")
        st, h, _ = F.api("candidates", tok, {"updated_at": window_q(5, 20), "per_page": 3})
        st2, h2, _ = F.api("candidates", tok, {"per_page": 3})
        true(len(parse_next(h["link"])) > len(parse_next(h2["link"])),
             "the cursor grows with the filters")

    @check("--trailing-empty-page style: a Link after a full last page leads to [] without Link")
    def _():
        F.admin("POST", "settings", {"trailing_empty_page": True})
        try:
            pages, recs = F.list_all("candidates", tok, {"updated_at": window_q(5, 20),
                                                          "per_page": 8})
            eq([len(p) for p in pages], [8, 8, 0], "page sizes")
        finally:
            F.admin("POST", "settings", {"trailing_empty_page": False})

    @check("cursor plus any other parameter -> 422 with the documented message; tampered or "
           "foreign cursor -> 422 'Invalid cursor.'")
    def _():
        st, h, _ = F.api("candidates", tok, {"updated_at": window_q(5, 20), "per_page": 5})
        u = urllib.parse.urlsplit(parse_next(h["link"]))
        auth = {"Authorization": "Bearer " + tok}
        for extra in ("&per_page=5", "&updated_at=" + urllib.parse.quote(window_q(5, 20)),
                      "&x=", "&cursor=abc"):
            st, _, body = F.request("GET", u.path + "?" + u.query + extra, None, auth)
            eq(st, 422, "cursor with %r" % extra)
            eq(body, {"errors": [greenhouse.MSG_CURSOR_PARAMS]}, "body")
        cur = u.query[len("cursor="):]
        flipped = cur[:10] + ("A" if cur[10] != "A" else "B") + cur[11:]
        st, _, body = F.request("GET", "/v3/candidates?cursor=" + flipped, None, auth)
        eq((st, body), (422, {"errors": [greenhouse.MSG_CURSOR_INVALID]}), "tampered")
        st, _, body = F.request("GET", "/v3/applications?cursor=" + cur, None, auth)
        eq((st, body), (422, {"errors": [greenhouse.MSG_CURSOR_INVALID]}), "other endpoint")
        st, _, body = F.request("GET", "/v3/candidates?" + u.query, None, auth)
        eq(st, 200, "the cursor itself still works")

    @check("expired cursors -> 422 saying so: /_admin/expire-cursors and the cursor lifetime")
    def _():
        st, h, _ = F.api("candidates", tok, {"per_page": 5})
        F.admin("POST", "expire-cursors")
        st, _, body = F.follow(h["link"], tok)
        eq(st, 422, "after expire-cursors")
        is_error(body, "expired")
        st, h, _ = F.api("candidates", tok, {"per_page": 5})
        eq(F.follow(h["link"], tok)[0], 200, "a new pagination works")
        F.admin("POST", "clock", {"advance_s": 301})
        try:
            t = F.token()
            st, _, body = F.follow(h["link"], t)
            eq(st, 422, "after the cursor lifetime")
            is_error(body, "expired")
        finally:
            F.admin("POST", "clock", {"offset_s": 0})
        stats = F.admin("GET", "stats")
        true(stats["expired_cursors"] >= 2, "expired cursors counted")

    @check("per_page bounds: 0, 501, -1, abc, empty -> 422; 1 and 500 accepted")
    def _():
        for v in ("0", "501", "-1", "abc", "", "1.5"):
            st, _, body = F.api("candidates", tok, raw_query="per_page=" + v)
            eq(st, 422, "per_page=%r" % v)
            is_error(body, "per_page")
        st, h, body = F.api("candidates", tok, {"per_page": 1})
        eq((st, len(body), "link" in h), (200, 1, True), "per_page=1")
        st, h, body = F.api("candidates", tok, {"per_page": 500})
        eq((st, len(body), "link" in h), (200, 30, False), "per_page=500")

    @check("unknown query parameter -> 422; GET by id takes no parameters")
    def _():
        st, _, body = F.api("candidates", tok, {"updated_after": iso(BASE)})
        eq(st, 422, "v1's updated_after")
        is_error(body, "updated_after")
        eq(F.api("candidates/1005", tok, {"x": "1"})[0], 422, "GET with a parameter")

    @check("edit mid-pagination, closed window: the edited record leaves the window and the "
           "next run's window catches it; nothing in-window skipped or doubled")
    def _():
        t = reset_world()
        q = {"updated_at": window_q(0, 29), "per_page": 10}
        run_end = BASE + 29 * HOUR_MS
        st, h, page1 = F.api("candidates", t, q)
        eq([c["id"] for c in page1], list(range(1030, 1020, -1)), "page 1")
        F.admin("POST", "edit-candidate", {"id": 1015, "set": {"title": "CTO"}})   # not served
        F.admin("POST", "edit-candidate", {"id": 1025, "set": {"title": "CFO"}})   # served
        new = F.admin("POST", "add-candidate", {"first_name": "New", "last_name": "Hire",
                                                "updated_at": iso(BASE + HOUR_MS)})
        F.admin("POST", "delete-candidate", {"id": 1002})
        recs = list(page1)
        while "link" in h:
            st, h, body = F.follow(h["link"], t)
            eq(st, 200, "later page")
            recs += body
        ids = [c["id"] for c in recs]
        eq(len(ids), len(set(ids)), "no record twice")
        want = [i for i in range(1030, 1000, -1) if i not in (1015, 1002)]
        eq(ids, want, "every unchanged in-window record exactly once, id-descending")
        true(new["id"] not in ids, "a record created mid-pagination is not served")
        for c in recs:
            true(ms(c["updated_at"]) <= run_end, "served records are in the window")
        now = F.admin("GET", "clock")["now_ms"]
        _, recs2 = F.list_all("candidates", t, {
            "updated_at": "gte|%s|lte|%s" % (iso(run_end - HOUR_MS), iso(now)), "per_page": 10})
        ids2 = [c["id"] for c in recs2]
        true(1015 in ids2 and 1025 in ids2, "next run's window has both edits: %s" % ids2)
        eq([c["title"] for c in recs2 if c["id"] == 1015], ["CTO"], "with the new value")

    @check("edit mid-pagination, open window (gte only): the edited record is served once, "
           "with its new values")
    def _():
        t = reset_world()
        st, h, page1 = F.api("candidates", t, {"updated_at": "gte|" + iso(BASE),
                                               "per_page": 10})
        F.admin("POST", "edit-candidate", {"id": 1012, "set": {"company": "Globex"}})
        F.admin("POST", "edit-candidate", {"id": 1028, "set": {"company": "Hooli"}})
        recs = list(page1)
        while "link" in h:
            st, h, body = F.follow(h["link"], t)
            recs += body
        ids = [c["id"] for c in recs]
        eq(ids, list(range(1030, 1000, -1)), "each once")
        eq([c["company"] for c in recs if c["id"] == 1012], ["Globex"], "new value served")
        eq([c["company"] for c in recs if c["id"] == 1028], ["Initech"],
           "already-served record not served again")

    tok = reset_world()

    @check("GET /v3/candidates/{id}: 200 equals the list record; 404 after a hard delete, "
           "gone from lists with its applications")
    def _():
        st, _, c = F.api("candidates/1010", tok)
        eq(st, 200, "status")
        _, _, lst = F.api("candidates", tok, {"per_page": 500})
        eq(c, [x for x in lst if x["id"] == 1010][0], "same as in the list")
        d = F.admin("POST", "delete-candidate", {"id": 1010})
        eq(sorted(d["deleted_application_ids"]), [2010, 2101, 2102], "deleted applications")
        st, _, body = F.api("candidates/1010", tok)
        eq(st, 404, "after delete")
        is_error(body)
        _, _, lst = F.api("candidates", tok, {"per_page": 500})
        true(1010 not in [x["id"] for x in lst], "gone from the list")
        eq(F.api("applications/2101", tok)[0], 404, "its application")
        _, _, apps = F.api("applications", tok, {"candidate_ids": "1010"})
        eq(apps, [], "no applications by candidate_ids")
        eq(F.api("candidates/abc", tok)[0], 404, "non-numeric id")

    @check("merge: loser 404 and gone; emails (deduplicated) and applications move to the "
           "winner; winner keeps its id; history records the mapping")
    def _():
        F.admin("POST", "edit-candidate", {"id": 1020, "set": {"email_addresses": [
            {"value": "c1020@example.com", "type": "personal"},
            {"value": "C1021@Example.com", "type": "work"}]}})
        before = F.api("candidates/1021", tok)[2]
        w = F.admin("POST", "merge", {"winner": 1021, "loser": 1020})
        eq(w["id"], 1021, "winner id")
        eq([e["value"] for e in w["email_addresses"]], ["c1021@example.com",
                                                        "c1020@example.com"], "emails")
        eq(len(w["phone_numbers"]), 2, "phones merged")
        true(w["updated_at"] > before["updated_at"], "winner updated_at bumped")
        eq(F.api("candidates/1020", tok)[0], 404, "loser 404")
        _, _, apps = F.api("applications", tok, {"candidate_ids": "1021,1020"})
        eq(sorted(a["id"] for a in apps), [2020, 2021], "applications")
        true(all(a["candidate_id"] == 1021 for a in apps), "moved to the winner")
        hist = F.admin("GET", "state")["history"]
        true({"action": "merge_candidate", "candidate_id": 1020, "new_candidate_id": 1021}
             .items() <= hist[-1].items(), "history: %r" % hist[-1])

    @check("anonymise: 'Anonymized' + id, contact lists emptied, company/title null, "
           "updated_at bumped so an incremental window sees it")
    def _():
        before = F.api("candidates/1007", tok)[2]
        a = F.admin("POST", "anonymize", {"id": 1007})
        eq((a["first_name"], a["last_name"]), ("Anonymized", "1007"), "name")
        eq((a["email_addresses"], a["phone_numbers"], a["addresses"], a["company"],
            a["title"]), ([], [], [], None, None), "blanked")
        true(a["updated_at"] > before["updated_at"], "updated_at bumped")
        _, _, lst = F.api("candidates", tok, {"updated_at": "gte|" + before["updated_at"]})
        true(1007 in [c["id"] for c in lst], "in the next window")
        eq(F.api("candidates/1007", tok)[2], a, "GET agrees")

    @check("private candidates: listed with private=true; hidden (and 404) for a Site Admin "
           "without 'view private'")
    def _():
        st, _, c = F.api("candidates/1003", tok)
        eq((st, c["private"]), (200, True), "private flag")
        _, _, lst = F.api("candidates", tok, {"per_page": 500})
        eq([x["private"] for x in lst if x["id"] == 1003], [True], "in the list")
        eq(sum(x["private"] for x in lst), 1, "only one private")
        F.admin("POST", "users", {"id": 4713, "site_admin": True, "can_view_private": False})
        t = F.token(4713)
        _, _, lst = F.api("candidates", t, {"per_page": 500})
        true(1003 not in [x["id"] for x in lst], "hidden from the list")
        eq(F.api("candidates/1003", t)[0], 404, "GET 404")

    @check("applications: several per candidate, rejected/hired/in_process fields, stage ids, "
           "candidate_ids filter (max 50)")
    def _():
        _, _, apps = F.api("applications", tok, {"candidate_ids": "1011"})
        eq([a["id"] for a in apps], [2011], "one")
        F.admin("POST", "add-application", {"candidate_id": 1011, "job_id": 4002,
                                            "job_interview_stage_id": 5008})
        _, _, apps = F.api("applications", tok, {"candidate_ids": "1011"})
        eq(len(apps), 2, "two after add")
        descending(apps, "applications by candidate")
        a = apps[0]
        eq((a["status"], a["stage_name"], a["job_interview_stage_id"], a["job_id"]),
           ("in_process", "Take Home Test", 5008, 4002), "in_process stage")
        _, _, stages = F.api("job_interview_stages", tok, {"per_page": 500})
        sids = {s["id"] for s in stages}
        true(a["job_interview_stage_id"] in sids and a["stage_id"] not in sids,
             "job_interview_stage_id resolves, stage_id does not")
        st, _, rej = F.api("applications/2010", tok)
        eq(st, 404, "1010 was deleted earlier in this world")
        tok2 = reset_world()
        _, _, apps = F.api("applications", tok2, {"candidate_ids": "1010"})
        by = {x["id"]: x for x in apps}
        eq(sorted(by), [2010, 2101, 2102], "three applications")
        r = by[2101]
        eq((r["status"], r["rejection_reason_id"], r["rejected_at"], r["stage_name"],
            r["stage_id"], r["job_interview_stage_id"]),
           ("rejected", 9504, iso(BASE), "Take Home Test", None, None), "rejected")
        h = by[2102]
        eq((h["status"], h["rejected_at"], h["rejection_reason_id"], h["referrer_id"],
            h["source_id"]), ("hired", None, None, 6001, 21), "hired")
        e = F.admin("POST", "edit-application", {"id": 2010, "set": {
            "status": "rejected", "rejection_reason_id": 8}})
        true(e["rejected_at"] is not None and e["stage_name"] == "Application Review",
             "edit to rejected: %r" % e)
        true(e["updated_at"] > by[2010]["updated_at"], "application updated_at bumped")
        c = F.api("candidates/1010", tok2)[2]
        eq(c["updated_at"], iso(BASE + 9 * HOUR_MS), "candidate updated_at unchanged")
        eq(c["last_activity_at"], e["updated_at"], "candidate last_activity_at follows")
        st, _, body = F.api("applications", tok2,
                            {"candidate_ids": ",".join(str(i) for i in range(1, 52))})
        eq(st, 422, "51 ids")
        is_error(body, "50")
        eq(F.api("applications", tok2, {"candidate_ids": "1,x"})[0], 422, "non-integer id")

    @check("reference lists: jobs, job_interview_stages (job_ids), sources, rejection_reasons "
           "(defaults only with include_defaults=true), referrers")
    def _():
        t = F.token()
        _, _, jobs = F.api("jobs", t)
        eq({j["id"] for j in jobs}, {4001, 4002, 4003}, "jobs")
        true(all({"id", "name", "status", "created_at", "updated_at"} <= set(j) for j in jobs),
             "job fields")
        _, _, st = F.api("job_interview_stages", t, {"job_ids": "4001"})
        eq([s["name"] for s in sorted(st, key=lambda s: s["sort_order"])],
           ["Application Review", "Recruiter Phone Screen", "Take Home Test", "Face to Face",
            "Offer"], "stages of 4001")
        true(all(s["job_id"] == 4001 for s in st), "job_ids filter")
        _, _, src = F.api("sources", t)
        true(all(set(s) == {"id", "name", "type", "created_at", "updated_at"} and
                 set(s["type"]) == {"id", "name"} for s in src), "source shape")
        _, _, rr = F.api("rejection_reasons", t)
        eq(sorted(r["id"] for r in rr), [9504, 9600], "custom reasons only")
        _, _, rr = F.api("rejection_reasons", t, {"include_defaults": "true"})
        eq(sorted(r["id"] for r in rr), [8, 9, 9504, 9600], "with defaults")
        true(all(set(r["type"]) == {"id", "key", "name"} for r in rr), "reason type shape")
        _, _, refs = F.api("referrers", t)
        true(all(set(r) == {"id", "name", "user_id", "created_at", "updated_at"}
                 for r in refs), "referrer shape")
        eq(F.api("rejection_reasons", t, {"include_defaults": "yes"})[0], 422, "bad boolean")

    @check("rate limit: X-RateLimit-Limit/Remaining/Reset (epoch) on every /v3 response; "
           "429 + Retry-After when the 30 s window is used up; next window 200")
    def _():
        t = F.token()
        F.admin("POST", "limits", {"limit_per_window": 3, "window_s": 30})
        F.admin("POST", "clock", {"align_to_window": True})
        F.admin("POST", "reset-counters")
        F.admin("POST", "stats/reset")
        try:
            now = F.admin("GET", "clock")["now_ms"]
            window_end = (now // 30000 + 1) * 30
            got = []
            for path in ("candidates", "candidates/999999", "candidates?per_page=0"):
                st, h, _ = F.request("GET", "/v3/" + path, None, {"Authorization": "Bearer " + t})
                got.append((st, h["x-ratelimit-limit"], h["x-ratelimit-remaining"],
                            int(h["x-ratelimit-reset"])))
            eq(got, [(200, "3", "2", window_end), (404, "3", "1", window_end),
                     (422, "3", "0", window_end)], "statuses and headers")
            st, h, _ = F.api("candidates", "bogus")
            eq((st, h["x-ratelimit-remaining"]), (401, "0"), "a 401 carries headers, costs 0")
            st, h, body = F.api("candidates", t)
            eq(st, 429, "fourth request")
            eq(body, {"message": "Rate limit exceeded"}, "429 body")
            ra = int(h["retry-after"])
            true(1 <= ra <= 30, "Retry-After in seconds: %d" % ra)
            eq((h["x-ratelimit-remaining"], int(h["x-ratelimit-reset"])), ("0", window_end),
               "429 headers")
            F.admin("POST", "clock", {"advance_s": ra})
            st, h, _ = F.api("candidates", t)
            eq((st, h["x-ratelimit-remaining"], int(h["x-ratelimit-reset"])),
               (200, "2", window_end + 30), "next window")
            F.admin("POST", "settings", {"reset_format": "seconds", "retry_after": "epoch",
                                         "limit_header": False})
            eq([F.api("candidates", t)[0] for _ in range(2)], [200, 200], "rest of the window")
            st, h, _ = F.api("candidates", t)
            eq(st, 429, "limit again")
            true(int(h["x-ratelimit-reset"]) <= 30 and "x-ratelimit-limit" not in h,
                 "seconds-from-now Reset, no Limit header: %r" % h)
            true(int(h["retry-after"]) > 1000000000, "epoch Retry-After")
            stats = F.admin("GET", "stats")
            eq(stats["429"], 2, "429s counted")
            true(stats["by_path"].get("/v3/candidates", 0) >= 5 and
                 stats["by_path"].get("/v3/candidates/{id}") == 1, "by_path: %r"
                 % stats["by_path"])
        finally:
            F.admin("POST", "settings", {"reset_format": "epoch", "retry_after": "seconds",
                                         "limit_header": True})
            F.admin("POST", "limits", {"limit_per_window": 1000000})
            F.admin("POST", "clock", {"offset_s": 0})

    @check("faults from common.py on these routes: status, malformed, truncate, reset")
    def _():
        t = F.token()
        F.admin("POST", "faults", [
            {"kind": "status", "status": 503, "times": 1, "match": {"path": "^/v3/candidates$"}},
            {"kind": "malformed", "times": 1, "match": {"path": "^/v3/applications$"}},
        ])
        try:
            eq(F.api("candidates", t)[0], 503, "injected 503")
            eq(F.api("candidates", t)[0], 200, "then normal")
            st, _, body = F.api("applications", t)
            eq((st, isinstance(body, bytes)), (200, True), "malformed JSON body")
            F.admin("POST", "faults", [{"kind": "truncate", "times": 1,
                                        "match": {"path": "^/v3/jobs$"}}])
            conn = F.connect(timeout=10)
            try:
                conn.request("GET", "/v3/jobs", headers={"Authorization": "Bearer " + t})
                r = conn.getresponse()
                try:
                    r.read()
                    raise AssertionError("truncated body read in full")
                except http.client.IncompleteRead:
                    pass
            finally:
                conn.close()
            F.admin("POST", "faults", [{"kind": "reset", "times": 1,
                                        "match": {"path": "^/auth/token$"}}])
            conn = F.connect(timeout=10)
            try:
                conn.request("POST", "/auth/token", body=b"grant_type=client_credentials",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
                try:
                    conn.getresponse().read()
                    raise AssertionError("reset fault answered")
                except (ConnectionError, http.client.HTTPException, ssl.SSLError):
                    pass
            finally:
                conn.close()
        finally:
            F.admin("POST", "faults", [])

    @check("state dump/load round trip keeps candidates, applications, reference data, tokens")
    def _():
        t = F.token()
        st1 = F.admin("GET", "state")
        F.admin("POST", "state", st1)
        st2 = F.admin("GET", "state")
        for k in ("candidates", "applications", "jobs", "job_interview_stages", "sources",
                  "rejection_reasons", "referrers", "tokens", "users", "history"):
            eq(st2[k], st1[k], k)
        eq(F.api("candidates", t)[0], 200, "token survives")
        F.admin("POST", "state", {"_merge": True, "limits": {"limit_per_window": 999999}})
        eq(F.admin("GET", "state")["candidates"], st1["candidates"], "_merge keeps candidates")
        F.admin("POST", "limits", {"limit_per_window": 1000000})

    @check("generate 100,000 candidates and page through them all (per_page 500): every id "
           "once, id-descending, default page 100")
    def _():
        F.admin("POST", "state", {"candidates": [], "applications": [],
                                  "limits": {"limit_per_window": 1000000, "window_s": 30}})
        t0 = time.monotonic()
        g = F.admin("POST", "generate", {"candidates": 100000, "applications_per_candidate": 2,
                                         "seed": 7, "private_every": 1000})
        t_gen = time.monotonic() - t0
        eq((g["candidates"], g["applications"]), (100000, 200000), "generated")
        t = F.token()
        st, h, body = F.api("candidates", t)
        eq((st, len(body)), (200, 100), "default per_page")
        for c in body[:3]:
            eq(set(c), CANDIDATE_KEYS, "generated candidate keys")
        t1 = time.monotonic()
        pages, recs = F.list_all("candidates", t, {"per_page": 500})
        t_page = time.monotonic() - t1
        eq(len(pages), 200, "pages")
        ids = [c["id"] for c in recs]
        eq(len(ids), 100000, "records")
        eq(len(set(ids)), 100000, "distinct")
        descending(recs, "100k sweep")
        eq(sum(c["private"] for c in recs), 100, "private_every")
        _, _, apps = F.api("applications", t, {"candidate_ids": str(ids[0])})
        eq(len(apps), 2, "applications per candidate")
        true(t_gen < 10 and t_page < 20, "generate %.1f s, sweep %.1f s" % (t_gen, t_page))
        print("# generate 100k: %.2f s; 200 pages of 500: %.2f s" % (t_gen, t_page))
        st, _, body = F.api("candidates", t, {"updated_at": "gte|" + iso(
            F.admin("GET", "clock")["now_ms"] - 24 * HOUR_MS), "per_page": 500})
        eq(st, 200, "window over generated records")


    @check("the canonical admin API: generate, people, add, edit, stage, status, anonymize, "
           "merge, delete, each visible through the v3 API as the driver reads it")
    def _():
        F.admin("POST", "state", {"candidates": [], "applications": [],
                                  "limits": {"limit_per_window": 1000000, "window_s": 30}})
        ids = F.admin("POST", "canon/generate", {"people": 5, "seed": 3})["ids"]
        eq(len(ids), 5, "generated")
        people = F.admin("GET", "canon/people")["people"]
        eq([p["id"] for p in people], ids, "people listed in id order")
        true(all(p["stage"] and p["job"] and p["source"] and p["emails"] for p in people),
             "generated people have a stage, job, source and email")
        new = F.admin("POST", "canon/add", {"first_name": "Ada", "last_name": "Byron",
                                            "emails": ["ada@example.com"], "phones": ["+14155550100"],
                                            "stage": "Face to Face", "source": "Referral"})["id"]
        p = F.admin("POST", "canon/edit", {"id": new, "title": "Countess"})
        eq((p["title"], p["stage"], p["status"], p["source"], p["job"]),
           ("Countess", "Face to Face", "active", "Referral", "DevOps Engineer"), "added + edited")
        t = F.token()
        st, _, c = F.api("candidates/" + new, t)
        eq((st, c["title"]), (200, "Countess"), "the edit is visible in v3")
        eq(F.admin("POST", "canon/stage", {"id": new, "stage": "Offer"})["stage"], "Offer", "moved")
        _, _, apps = F.api("applications", t, {"candidate_ids": new})
        eq(apps[0]["stage_name"], "Offer", "the move is visible in v3")
        eq(F.admin("POST", "canon/status", {"id": new, "status": "hired"})["status"], "hired",
           "hired")
        eq(F.admin("POST", "canon/anonymize", {"id": ids[0]})["anonymized"], True, "anonymized")
        w = F.admin("POST", "canon/merge", {"from": ids[1], "into": ids[2]})
        true(len(w["emails"]) == 2, "the survivor has both emails")
        F.admin("POST", "canon/delete", {"id": ids[3]})
        left = [p["id"] for p in F.admin("GET", "canon/people")["people"]]
        eq(left, [ids[0], ids[2], ids[4], new], "merged and deleted people are gone")
        st, _, _ = F.api("candidates/" + ids[3], t)
        eq(st, 404, "deleted in v3")


if __name__ == "__main__":
    sys.exit(main())
