"""Greenhouse fake: a stateful stand-in for Greenhouse Harvest v3 and its OAuth token endpoint.

Run: python3 tests/fakes/greenhouse.py --port-file /tmp/port [--limit-per-window 50] [...]; see
--help and common.py. One server plays both Greenhouse hosts:

    auth  (https://auth.greenhouse.io/token)    ->  https://localhost:PORT/auth/token
    API   (https://harvest.greenhouse.io/v3)    ->  https://localhost:PORT/v3

so a client configured with auth_url https://localhost:PORT/auth and base_url
https://localhost:PORT/v3 appends "/token" and "/candidates" exactly as it does for the real
hosts. --auth-path moves the token endpoint (e.g. "/token"), --api-prefix puts the API under a
prefix (PREFIX/v3/...). Anything else (other than /_admin/) is a 404 {"errors": [...]}.

Sources (read, not remembered): shared/research/ats-apis.md ("research"; §0, §1.1 Harvest v3,
§1.2 for v1 background, §8, §9), the v1 example payloads in shared/specs/ats/examples/
(greenhouse-*.json: field names where v3 keeps them) and, where the research cites it, the
Airbyte v3 connector (airbytehq/airbyte source-greenhouse AGENTS.md @ 0e9d87b and manifest.yaml
@ 0481622: endpoint paths, v3 record schemas, token response fields). shared/specs/ats/ats.yml
(Apideck) mentions Greenhouse only to say it has no total count; nothing taken from it.

What is modelled
----------------
OAuth2 client credentials (research §1.1 "Base URL and authentication"):
  POST /auth/token, HTTP Basic client_id:client_secret, Content-Type
  application/x-www-form-urlencoded, body grant_type=client_credentials&sub=<user id>.
  200 {"access_token": "<JWT-shaped opaque string, ~700 chars>", "token_type": "Bearer",
       "expires_at": "2026-11-05T11:00:00Z"}   (Cache-Control: no-store)
  Errors use the OAuth shape {"error", "error_description"}:
    no/garbled Basic header, unknown client or wrong secret   401 invalid_client
    body not form-encoded (e.g. JSON), parameters in the URL  400 invalid_request
    grant_type missing                                        400 invalid_request
    grant_type other than client_credentials                  400 unsupported_grant_type
    sub missing or empty                                      400 invalid_request
    sub not a known, active user                              400 invalid_grant
  Access tokens live --token-lifetime seconds (default 3600); afterwards every API call is a
  401. POST /_admin/expire-tokens expires them all at once. The token carries the client's
  scopes and the user (sub). No refresh tokens: a client mints a new token per run.

API (every call: Authorization: Bearer <access_token>):
  GET /v3/candidates                 list (scope harvest:candidates:list)
  GET /v3/candidates/{id}            one candidate; 404 once hard-deleted or merged away
  GET /v3/applications               list (harvest:applications:list); candidate_ids=1,2,..
  GET /v3/applications/{id}          one application
  GET /v3/jobs                       reference list (harvest:jobs:list)
  GET /v3/job_interview_stages       stage names per job (harvest:job_interview_stages:list);
                                     job_ids=1,2,.. filter
  GET /v3/sources                    (harvest:sources:list)
  GET /v3/rejection_reasons          (harvest:rejection_reasons:list); default reasons are
                                     hidden unless include_defaults=true (research §1.1)
  GET /v3/referrers                  {id, name, user_id} (harvest:referrers:list)
  Every list: bare JSON array (no envelope, no count), records by id DESCENDING.
  Query parameters of a first page: per_page (1..500, default 100), one of
    updated_at=<op>|<ISO>[|<op>|<ISO>] or created_at=... (op: gte, gt, lte, lt; e.g.
    updated_at=gte|2026-01-01T00:00:00Z|lte|2026-01-02T00:00:00Z, percent-encoded by the
    client; the server decodes first, so %7C and %3A are fine, a raw "+" in an offset is a
    space and a 422), plus the per-endpoint filters above.
  Pagination (research §1.1 "Pagination"): when more records match, the response carries
    Link: <https://HOST:PORT/v3/candidates?cursor=CURSOR>; rel="next"
  (full URL, host taken from the request's Host header; only a next link; no Link at all on
  the last page). CURSOR is URL-safe base64 without padding, opaque, HMAC-signed, and grows
  with the filters. A follow-up request must be that URL exactly.
  422 {"errors": ["..."]} for: cursor plus any other query parameter (even an empty one) ->
  "When passing a cursor, do not include other query params." (the research's exact text);
  an expired cursor -> "Cursor has expired; start again from the first page without a
  cursor."; a tampered cursor or one from another endpoint -> "Invalid cursor."; per_page
  outside 1..500 or not an integer; created_at and updated_at together; a malformed window;
  more than 50 ids in a *_ids filter; an unknown or repeated query parameter.
  Other errors: 401 {"errors": [...]} + WWW-Authenticate: Bearer error="invalid_token" (no
  token, unknown token, expired token); 403 {"errors": [...]} when the token lacks the
  endpoint's scope or its user is not a Site Admin (research: list endpoints need one); 404
  {"errors": ["... not found"]}.

Cursor semantics and an edit landing mid-pagination. A cursor stores the endpoint, the first
request's filters (the ORIGINAL window), per_page and the last id served. The next page is
"records matching the original filters NOW, with id < last id, by id descending", evaluated
when the page is requested (keyset pagination on the primary key, which is how research
describes v3: "paginates by primary key DESCENDING, not by the cursor field"). Consequences,
all deliberate:
  * Nothing inside the window is skipped or doubled by the cursor itself: ids are unique and
    never change, so every record that matches throughout is served exactly once.
  * A record edited after page 1 was served, whose id is below the cursor, gets a new
    updated_at (now, later than the window's fixed lte) and drops out of a CLOSED window; the
    next run's window [old end - overlap, new end] catches it. With an open window (gte only)
    it stays in and is served once, with its new values.
  * A record already served and edited afterwards is not served again in this pagination.
  * Records created during the pagination have higher ids and are not served by it.
  * A record deleted or merged away mid-pagination simply stops appearing.
Cursor lifetime (research: "422 for an expired cursor", no lifetime published): each cursor
expires --cursor-lifetime seconds (default 300) after the response that carried it;
POST /_admin/expire-cursors expires every cursor issued so far.

Rate limit (research §1.1 "Rate limits", §0.4): fixed windows of --window-seconds (default 30)
aligned to multiples of the window on the fake's clock, --limit-per-window requests per window
(default 50; 0 disables the limiter and its headers), one budget for the whole fake (one
organisation). Every /v3 response (200, 4xx, 429; not the token endpoint, which is another
host) carries
    X-RateLimit-Limit: 50          (research: seen as 75 once; --no-limit-header omits it,
                                    since research confirms only Remaining and Reset for v3)
    X-RateLimit-Remaining: 49      after this request
    X-RateLimit-Reset: 1767225630  epoch seconds when the window ends (v1 docs: "the
                                    timestamp"; --reset-format seconds sends seconds-from-now)
Requests that pass authentication consume one unit (401s do not). When the window is used up:
429 {"message": "Rate limit exceeded"} (the body seen in airbyte #35004) with Retry-After:
whole seconds until the window ends, at least 1 (v1's current docs; --retry-after epoch sends
an epoch timestamp as older docs described, none omits it). 429s consume nothing.

Records (research §1.1 "Candidate (v3) fields", "Application (v3) fields"; Airbyte schemas;
timestamps ISO-8601 UTC with milliseconds and "Z", the form v3 documents):
  candidate: id, first_name, last_name, preferred_name, company, title, private, can_email,
    email_addresses [{value, type: personal|work|other}], phone_numbers [{value, type:
    home|work|mobile|skype|other}], addresses [{value, type}], website_addresses [{value,
    type}], social_media_addresses [{value}], tags [str], linked_user_ids [int], time_zone,
    custom_fields {name_key: {name, type, value}}, last_activity_at, created_at, updated_at.
    v1 names are NOT sent: no is_private (v3: private), no application_ids/applications (v3:
    list /v3/applications?candidate_ids=...), no recruiter/coordinator objects, no
    keyed_custom_fields, no last_activity.
  application: id, candidate_id, prospect, job_id, job_post_id, status (in_process | rejected
    | hired | converted; v1's "active" is v3's "in_process"), stage_id, stage_name,
    job_interview_stage_id, rejection_reason_id, rejected_at, source_id, referrer_id,
    recruiter_id, coordinator_id, prospective_job_ids, custom_fields, answers,
    location_address, needs_decision, agency_note_id, last_activity_at, created_at,
    updated_at. A candidate may have several applications. No applied_at (not a v3 field in
    the research; DESIGN.md takes applied_at from the application's created_at).
  jobs: id, name, requisition_id, status (draft|open|closed), notes, office_ids, opened_at,
    created_at, updated_at.   job_interview_stages: id, job_id, name, sort_order, active,
    created_at, updated_at.   sources: id, name, type {id, name}, created_at, updated_at.
  rejection_reasons: id, name, type {id, key, name}, created_at, updated_at.
  referrers: id, name, user_id, created_at, updated_at.

Where research is silent and this fake chose (every one is a guess, not Greenhouse fact):
  * Token response: exactly access_token, token_type "Bearer", expires_at (RFC 3339, whole
    seconds, "Z"); no expires_in, no scope. Research names expires_at only; other clients
    read token_type/access_token/expires_at. The token is JWT-shaped (real ones are JWTs) so
    a client with a short token buffer fails here, not in production; never parse it.
  * Client authentication only by HTTP Basic (no client_id/client_secret in the body). A
    Basic user or password that is percent-encoded (RFC 6749 2.3.1) is accepted too.
  * Which OAuth error code each token failure gets (table above) and the API error texts.
  * Scopes: one per list endpoint, named as research's examples; GET by id needs the same
    scope as the list; every API call needs a Site Admin user (research: list endpoints).
  * Private candidates (research: NOT FOUND whether lists hide them): they are listed, with
    "private": true, to users that may view private candidates (the default user may); for a
    user without can_view_private they are left out of lists and GET is a 404. Their
    applications stay visible.
  * stage_id vs job_interview_stage_id: job_interview_stage_id resolves in
    /v3/job_interview_stages; stage_id is a different number (job_interview_stage_id +
    100000000) standing for the application-stage instance, so a client that looks stage_id
    up in job_interview_stages finds nothing, here as it would in production. For rejected,
    hired and converted applications both ids are null (the v3 schema says so for terminal
    states) and stage_name keeps the last stage's name.
  * Editing an application does not bump its candidate's updated_at (research: poll both
    streams); edit-application {"bump_candidate": true} does. The candidate's
    last_activity_at is the latest updated_at of it and its applications.
  * Merge: the loser disappears (404, gone from lists); its email addresses, phone numbers,
    addresses, websites, social links and tags are added to the winner (duplicates dropped),
    its applications move to the winner (candidate_id changes and their updated_at is
    bumped); the winner keeps its own id and scalar fields, its updated_at is bumped. The
    mapping is recorded in the state's history, as the merge_candidate webhook would give it.
  * Hard delete removes the candidate and its applications (the delete_candidate webhook
    lists deleted_application_ids). No tombstone is visible through the API.
  * Anonymisation (research: v3 NOT FOUND, assume v1): first_name "Anonymized", last_name
    "<id>", preferred_name/company/title null, email_addresses, phone_numbers, addresses and
    social_media_addresses emptied, updated_at bumped; admin "fields" selects a subset.
  * Unknown query parameters are a 422 (--unknown-params ignore accepts them); candidates
    support no id filter; applications support candidate_ids only; gte/gt/lte/lt are the
    window operators; a window whose lower bound is above its upper bound is empty, not an
    error; per_page on a cursor request is an error like any other parameter.
  * A full last page has no Link (the fake looks ahead); --trailing-empty-page instead sends
    a Link after every full page, which can lead to an empty final page.
  * Rate-limit keying (one budget per fake), 401s not counted, the Reset/Retry-After format
    defaults, the 429 body (above).

Admin endpoints (besides common.py's state/faults/requests/reset-log/shutdown). Bodies are
JSON objects; errors are 400/404 {"error": "..."}:
  GET  /_admin/stats                 {requests, by_path {"/v3/candidates/{id}": n, ..},
                                     by_status, "401", "403", "422", "429" (limiter),
                                     token_requests, tokens_issued, pages, records,
                                     cursors_issued, cursor_with_params, expired_cursors,
                                     invalid_cursors}
  POST /_admin/stats/reset
  GET|POST /_admin/settings          read / merge settings (see the state's "settings")
  GET|POST /_admin/limits            {limit_per_window, window_s}
  POST /_admin/reset-counters        forget the current window's count
  GET|POST /_admin/clock             {advance_s} | {offset_s} | {align_to_window: true} (move
                                     to the start of the next rate window); -> {now, offset_ms}
  POST /_admin/tokens                {user_id?, client_id?, lifetime_s?} -> a token response
  POST /_admin/expire-tokens         {token?}: expire one or all access tokens
  POST /_admin/expire-cursors        every cursor issued so far -> 422 expired
  POST /_admin/users                 {id, name?, site_admin?, can_view_private?, active?}
  POST /_admin/clients               {client_id, client_secret, scopes?}
  GET  /_admin/summary               record counts (cheap even after generate)
  GET  /_admin/candidate?id=ID       {candidate, applications} ignoring visibility
  POST /_admin/add-candidate         {candidate fields.., id?, created_at?, updated_at?,
                                     applications?: [application fields..]} -> candidate
  POST /_admin/add-application       {candidate_id, application fields..} -> application
  POST /_admin/edit-candidate        {id, set: {fields}, bump?: true}: bumps updated_at
  POST /_admin/edit-application      {id, set: {fields}, bump?: true, bump_candidate?: false}
  POST /_admin/delete-candidate      {id} -> {message, deleted_application_ids}
  POST /_admin/merge                 {winner, loser} -> the winner
  POST /_admin/anonymize             {id, fields?: [full_name, current_company, current_title,
                                     email_addresses, phone_numbers, addresses,
                                     social_media_addresses, website_addresses, tags,
                                     custom_fields]} -> the candidate
  POST /_admin/generate              {candidates, applications_per_candidate?: 1, seed?: 1,
                                     private_every?: 0, span_days?: 30} bulk records (compact
                                     in memory; 100,000 in about a second)
  /_admin/canon/...                  the canonical admin API shared by every ATS fake (see
                                     ashby.py); GET /_admin/canon/people?applied_at=1 adds each
                                     person's current application's created_at
GET/POST /_admin/state dumps/loads the world: settings, limits, clock_offset_ms, next_ids,
clients, users, tokens, candidates, applications, jobs, job_interview_stages, sources,
rejection_reasons (with "default": bool), referrers, history (delete/merge/anonymize events),
stats. Missing sections get defaults (a few jobs, stages, sources, reasons, referrers, the
CLI's client and user) unless the object has "_merge": true, which keeps the current value of
every section it does not name. Candidates may carry nested "applications"; an application may
name its stage by job_interview_stage_id or by stage_name (looked up in its job's stages). A
"jobs" section without "job_interview_stages" also drops the default stages.

CLI (besides common.py's): --auth-path /auth/token, --api-prefix "", --client-id gh-client,
--client-secret gh-secret, --user-id 4711 (repeatable; Site Admin users allowed as sub),
--token-lifetime 3600, --cursor-lifetime 300, --limit-per-window 50, --window-seconds 30,
--reset-format epoch|seconds, --retry-after seconds|epoch|none, --no-limit-header,
--default-per-page 100, --trailing-empty-page, --unknown-params reject|ignore.
"""

import base64
import bisect
import datetime
import hashlib
import hmac
import json
import math
import os
import random
import re
import secrets
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common  # noqa: E402
from common import HttpError, StatefulFake, admin_route, iso_ms, route  # noqa: E402

MAX_PER_PAGE = 500
MAX_IDS = 50
STAGE_ID_OFFSET = 100000000
CURSOR_MAC_LEN = 12
WINDOW_OPS = ("gte", "gt", "lte", "lt")
STATUSES = ("in_process", "rejected", "hired", "converted")
TERMINAL = ("rejected", "hired", "converted")
EMAIL_TYPES = ("personal", "work", "other")
PHONE_TYPES = ("home", "work", "mobile", "skype", "other")
MSG_CURSOR_PARAMS = "When passing a cursor, do not include other query params."
MSG_CURSOR_EXPIRED = "Cursor has expired; start again from the first page without a cursor."
MSG_CURSOR_INVALID = "Invalid cursor."

RESOURCES = {  # list name -> (scope, extra query parameters)
    "candidates": ("harvest:candidates:list", ()),
    "applications": ("harvest:applications:list", ("candidate_ids",)),
    "jobs": ("harvest:jobs:list", ()),
    "job_interview_stages": ("harvest:job_interview_stages:list", ("job_ids",)),
    "sources": ("harvest:sources:list", ()),
    "rejection_reasons": ("harvest:rejection_reasons:list", ("include_defaults",)),
    "referrers": ("harvest:referrers:list", ()),
}
ALL_SCOPES = [v[0] for v in RESOURCES.values()]
BASE_PARAMS = ("per_page", "updated_at", "created_at")

CAND_DEFAULTS = {
    "first_name": None, "last_name": None, "preferred_name": None, "company": None,
    "title": None, "private": False, "can_email": True, "email_addresses": [],
    "phone_numbers": [], "addresses": [], "website_addresses": [], "social_media_addresses": [],
    "tags": [], "linked_user_ids": [], "time_zone": None, "custom_fields": {},
}
APP_DEFAULTS = {
    "candidate_id": None, "prospect": False, "job_id": None, "job_post_id": None,
    "status": "in_process", "stage_id": None, "stage_name": None,
    "job_interview_stage_id": None, "rejection_reason_id": None, "rejected_at": None,
    "source_id": None, "referrer_id": None, "recruiter_id": None, "coordinator_id": None,
    "prospective_job_ids": [], "custom_fields": {}, "answers": [], "location_address": None,
    "needs_decision": False, "agency_note_id": None,
}
ANON_FIELDS = {
    "full_name": None, "current_company": None, "current_title": None,
    "email_addresses": None, "phone_numbers": None, "addresses": None,
    "social_media_addresses": None, "website_addresses": None, "tags": None,
    "custom_fields": None,
}
ANON_DEFAULT = ("full_name", "current_company", "current_title", "email_addresses",
                "phone_numbers", "addresses", "social_media_addresses")

DEFAULT_SETTINGS = {
    "auth_path": "/auth/token", "api_prefix": "", "token_lifetime_s": 3600,
    "cursor_lifetime_s": 300, "default_per_page": 100, "trailing_empty_page": False,
    "unknown_params": "reject", "reset_format": "epoch", "retry_after": "seconds",
    "limit_header": True,
}
DEFAULT_LIMITS = {"limit_per_window": 50, "window_s": 30}
DEFAULT_CLIENT = {"client_id": "gh-client", "client_secret": "gh-secret"}
DEFAULT_USERS = [
    {"id": 4711, "name": "Integration Admin", "site_admin": True, "can_view_private": True,
     "active": True},
    {"id": 4712, "name": "Basic User", "site_admin": False, "can_view_private": False,
     "active": True},
]
FIRST = ("Ada", "Grace", "Alan", "Linus", "Barbara", "Ken", "Radia", "Dennis", "Frances",
         "Edsger", "Margaret", "Donald", "Katherine", "John", "Hedy", "Tim")
LAST = ("Lovelace", "Hopper", "Turing", "Torvalds", "Liskov", "Thompson", "Perlman", "Ritchie",
        "Allen", "Dijkstra", "Hamilton", "Knuth", "Johnson", "Backus", "Lamarr", "Berners-Lee")
COMPANIES = ("Initech", "Globex", "Hooli", "Umbrella", "Stark Industries", "Wayne Enterprises",
             "Acme", "Tyrell", None)
TITLES = ("Engineer", "Product Manager", "Designer", "Data Scientist", "Account Executive",
          "Recruiter", None)
GEN_STATUS = ("in_process", "rejected", "hired")


# ---------------------------------------------------------------------------------------------
# Time

def iso_s(ms):
    """Epoch ms -> '2026-01-05T10:00:00Z' (whole seconds, rounded down)."""
    return datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?"
                    r"(Z|[+-]\d{2}:\d{2})$")


def parse_iso_us(s):
    """ISO-8601 date-time with Z or an offset -> epoch microseconds, or None."""
    if not isinstance(s, str):
        return None
    m = ISO_RE.match(s)
    if m is None:
        return None
    frac = m.group(7) or ""
    us = int((frac[1:] + "000000")[:6]) if frac else 0
    tz = m.group(8)
    try:
        d = datetime.datetime(*(int(m.group(i)) for i in range(1, 7)),
                              tzinfo=datetime.timezone.utc)
    except ValueError:
        return None
    off = 0
    if tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        off = sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    return (int(d.timestamp()) - off) * 1000000 + us


def parse_iso_ms(s, what):
    us = parse_iso_us(s)
    if us is None:
        raise ValueError("%s: %r is not an ISO-8601 date-time with Z or an offset" % (what, s))
    return us // 1000


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ---------------------------------------------------------------------------------------------
# A collection: ids kept sorted ascending (lists walk it backwards), records, two timestamps

class Coll:
    def __init__(self):
        self.ids = []
        self.recs = {}
        self.crt = {}   # id -> created ms
        self.upd = {}   # id -> updated ms

    def __len__(self):
        return len(self.recs)

    def __contains__(self, i):
        return i in self.recs

    def put(self, i, rec, created, updated):
        if i not in self.recs:
            if not self.ids or i > self.ids[-1]:
                self.ids.append(i)
            else:
                bisect.insort(self.ids, i)
        self.recs[i] = rec
        self.crt[i] = created
        self.upd[i] = updated

    def remove(self, i):
        del self.recs[i]
        del self.crt[i]
        del self.upd[i]
        j = bisect.bisect_left(self.ids, i)
        del self.ids[j]

    def max_id(self):
        return self.ids[-1] if self.ids else 0

    def as_dict(self, i, content):
        """Record i as a stored dict: a generated one (not a dict yet) is replaced by a copy of
        content(i, rec)."""
        rec = self.recs[i]
        if not isinstance(rec, dict):
            rec = json.loads(json.dumps(content(i, rec)))
            self.recs[i] = rec
        return rec


# ---------------------------------------------------------------------------------------------
# The fake

class GreenhouseFake(StatefulFake):
    """Greenhouse Harvest v3 fake (candidates, applications, reference lists) and its OAuth."""

    default_settings = DEFAULT_SETTINGS
    default_limits = DEFAULT_LIMITS
    clock_now_ms = True

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.cursor_key = secrets.token_bytes(32)
        self.cli = None
        self.reset_world()

    # --- world -------------------------------------------------------------------------------

    def reset_world(self):
        super().reset_world()
        self.clients = {DEFAULT_CLIENT["client_id"]: dict(DEFAULT_CLIENT, scopes=list(ALL_SCOPES))}
        self.users = {u["id"]: dict(u) for u in DEFAULT_USERS}
        self.tokens = {}            # token -> {client_id, user_id, scopes, issued, expires}
        self.cursor_gen = 0         # cursors from older generations are expired
        self.rl_window = None
        self.rl_used = 0
        self.colls = {name: Coll() for name in RESOURCES}
        self.cands = self.colls["candidates"]
        self.apps = self.colls["applications"]
        self.apps_by_cand = {}      # candidate id -> [application id, ...]
        self.next_ids = {"candidate": 10000001, "application": 50000001, "job": 4101,
                         "job_interview_stage": 5101, "source": 101, "rejection_reason": 9701,
                         "referrer": 6101}
        self.history = []
        self.load_reference(default_reference(self.now_ms()))

    @staticmethod
    def new_stats():
        return {"requests": 0, "by_path": {}, "by_status": {}, "401": 0, "403": 0, "422": 0,
                "429": 0, "token_requests": 0, "tokens_issued": 0, "pages": 0, "records": 0,
                "cursors_issued": 0, "cursor_with_params": 0, "expired_cursors": 0,
                "invalid_cursors": 0}

    def new_id(self, kind, coll=None):
        n = self.next_ids[kind]
        if coll is not None and n <= coll.max_id():
            n = coll.max_id() + 1
        self.next_ids[kind] = n + 1
        return n

    # --- CLI hooks ---------------------------------------------------------------------------

    @classmethod
    def add_arguments(cls, p):
        g = p.add_argument_group("greenhouse")
        g.add_argument("--auth-path", default=DEFAULT_SETTINGS["auth_path"],
                       help="token endpoint path (%(default)s)")
        g.add_argument("--api-prefix", default="", help="path before /v3 (default: none)")
        g.add_argument("--client-id", default=DEFAULT_CLIENT["client_id"])
        g.add_argument("--client-secret", default=DEFAULT_CLIENT["client_secret"])
        g.add_argument("--user-id", type=int, action="append", default=[], metavar="ID",
                       help="a Site Admin user allowed as sub (repeatable; default 4711)")
        g.add_argument("--token-lifetime", type=int,
                       default=DEFAULT_SETTINGS["token_lifetime_s"],
                       help="access token lifetime in seconds (%(default)s)")
        g.add_argument("--cursor-lifetime", type=int,
                       default=DEFAULT_SETTINGS["cursor_lifetime_s"],
                       help="seconds a cursor stays valid after its page (%(default)s)")
        g.add_argument("--limit-per-window", type=int,
                       default=DEFAULT_LIMITS["limit_per_window"],
                       help="requests per rate window (%(default)s; 0: no limit, no headers)")
        g.add_argument("--window-seconds", type=int, default=DEFAULT_LIMITS["window_s"],
                       help="fixed rate window length (%(default)s)")
        g.add_argument("--reset-format", choices=("epoch", "seconds"), default="epoch",
                       help="X-RateLimit-Reset as an epoch timestamp or seconds from now")
        g.add_argument("--retry-after", choices=("seconds", "epoch", "none"),
                       default="seconds", help="Retry-After on 429 (%(default)s)")
        g.add_argument("--no-limit-header", dest="limit_header", action="store_false",
                       help="leave X-RateLimit-Limit out")
        g.add_argument("--default-per-page", type=int,
                       default=DEFAULT_SETTINGS["default_per_page"])
        g.add_argument("--trailing-empty-page", action="store_true",
                       help="send a next link after every full page")
        g.add_argument("--unknown-params", choices=("reject", "ignore"), default="reject")

    def configure(self, a):
        with self.lock:
            prefix = "/" + a.api_prefix.strip("/") if a.api_prefix.strip("/") else ""
            auth = "/" + a.auth_path.strip("/")
            self.cli = {
                "settings": {"auth_path": auth, "api_prefix": prefix,
                             "token_lifetime_s": a.token_lifetime,
                             "cursor_lifetime_s": a.cursor_lifetime,
                             "default_per_page": a.default_per_page,
                             "trailing_empty_page": a.trailing_empty_page,
                             "unknown_params": a.unknown_params,
                             "reset_format": a.reset_format, "retry_after": a.retry_after,
                             "limit_header": a.limit_header},
                "limits": {"limit_per_window": a.limit_per_window,
                           "window_s": a.window_seconds},
                "client": {"client_id": a.client_id, "client_secret": a.client_secret,
                           "scopes": list(ALL_SCOPES)},
                "users": list(a.user_id),
            }
            self.apply_cli()

    def apply_cli(self):
        if not self.cli:
            return
        self.settings.update(self.cli["settings"])
        self.limits.update(self.cli["limits"])
        c = self.cli["client"]
        self.clients = {c["client_id"]: dict(c, scopes=list(c["scopes"]))}
        for uid in self.cli["users"]:
            self.users[uid] = {"id": uid, "name": "User %d" % uid, "site_admin": True,
                               "can_view_private": True, "active": True}

    # --- state -------------------------------------------------------------------------------

    def dump_state(self):
        return {
            "settings": dict(self.settings),
            "limits": dict(self.limits),
            "clock_offset_ms": self.clock_offset_ms,
            "next_ids": dict(self.next_ids),
            "clients": [dict(c, scopes=list(c["scopes"])) for c in self.clients.values()],
            "users": [dict(u) for u in sorted(self.users.values(), key=lambda u: u["id"])],
            "tokens": [dict(v, token=k, expires_at=iso_s(v["expires"]))
                       for k, v in self.tokens.items()],
            "candidates": [self.render_candidate(i) for i in self.cands.ids],
            "applications": [self.render_application(i) for i in self.apps.ids],
            "jobs": [self.render_ref("jobs", i) for i in self.colls["jobs"].ids],
            "job_interview_stages": [self.render_ref("job_interview_stages", i)
                                     for i in self.colls["job_interview_stages"].ids],
            "sources": [self.render_ref("sources", i) for i in self.colls["sources"].ids],
            "rejection_reasons": [dict(self.render_ref("rejection_reasons", i),
                                       default=self.colls["rejection_reasons"].recs[i]
                                       .get("_default", False))
                                  for i in self.colls["rejection_reasons"].ids],
            "referrers": [self.render_ref("referrers", i) for i in self.colls["referrers"].ids],
            "history": json.loads(json.dumps(self.history)),
            "stats": json.loads(json.dumps(self.stats)),
        }

    def load_state(self, obj):
        if not isinstance(obj, dict):
            raise HttpError(400, {"error": "state must be a JSON object"})
        known = {"_merge", "settings", "limits", "clock_offset_ms", "next_ids", "clients",
                 "users", "tokens", "candidates", "applications", "jobs",
                 "job_interview_stages", "sources", "rejection_reasons", "referrers",
                 "history", "stats"}
        common.check_known("state sections", known, obj)
        merge = bool(obj.get("_merge"))
        if merge:
            old = self.dump_state()
            keep = {k: v for k, v in old.items() if k not in obj}
            obj = dict(keep, **{k: v for k, v in obj.items() if k != "_merge"})
        self.reset_world()
        self.apply_cli()
        for key, target in (("settings", self.settings), ("limits", self.limits)):
            if key in obj:
                common.check_known(key, target, obj[key])
                target.update(obj[key])
        self.clock_offset_ms = int(obj.get("clock_offset_ms", 0))
        now = self.now_ms()
        if "clients" in obj:
            self.clients = {}
            for c in obj["clients"]:
                self.clients[str(c["client_id"])] = {
                    "client_id": str(c["client_id"]), "client_secret": str(c["client_secret"]),
                    "scopes": list(c.get("scopes", ALL_SCOPES))}
        if "users" in obj:
            self.users = {}
            for u in obj["users"]:
                self.put_user(u)
        for t in obj.get("tokens", ()):
            self.tokens[t["token"]] = {k: t[k] for k in ("client_id", "user_id", "scopes",
                                                         "issued", "expires")}
        ref = {k: obj[k] for k in ("jobs", "job_interview_stages", "sources",
                                   "rejection_reasons", "referrers") if k in obj}
        if ref:
            if "jobs" in ref:  # default stages belong to the default jobs
                ref.setdefault("job_interview_stages", [])
            for k in ref:
                self.colls[k] = Coll()
            self.load_reference(ref)
        for c in obj.get("candidates", ()):
            self.add_candidate(c, now, loading=True)
        for a in obj.get("applications", ()):
            self.add_application(a, now, loading=True)
        self.history = list(obj.get("history", []))
        if "stats" in obj:
            self.stats = dict(self.new_stats(), **obj["stats"])
        if "next_ids" in obj:
            self.next_ids.update({k: int(v) for k, v in obj["next_ids"].items()})
        stamps = [self.last_write_ms] + [max(c.upd.values(), default=0)
                                         for c in self.colls.values()]
        self.last_write_ms = max(stamps)

    def put_user(self, u):
        uid = int(u["id"])
        old = self.users.get(uid, {"id": uid, "name": "User %d" % uid, "site_admin": True,
                                   "can_view_private": True, "active": True})
        common.check_known("user keys", old, u)
        new = dict(old, **u)
        new["id"] = uid
        for k in ("site_admin", "can_view_private", "active"):
            if not isinstance(new[k], bool):
                raise ValueError("user %s must be a boolean" % k)
        self.users[uid] = new
        return new

    # --- reference data ----------------------------------------------------------------------

    REF_FIELDS = {
        "jobs": {"name": None, "requisition_id": None, "status": "open", "notes": None,
                 "office_ids": [], "opened_at": None},
        "job_interview_stages": {"job_id": None, "name": None, "sort_order": 0, "active": True},
        "sources": {"name": None, "type": None},
        "rejection_reasons": {"name": None, "type": None},
        "referrers": {"name": None, "user_id": None},
    }
    REF_KIND = {"jobs": "job", "job_interview_stages": "job_interview_stage",
                "sources": "source", "rejection_reasons": "rejection_reason",
                "referrers": "referrer"}

    def load_reference(self, ref):
        now = self.now_ms()
        for name in ("jobs", "job_interview_stages", "sources", "rejection_reasons", "referrers"):
            coll = self.colls[name]
            for r in ref.get(name, ()):
                fields = self.REF_FIELDS[name]
                extra = set(r) - set(fields) - {"id", "created_at", "updated_at", "default"}
                if extra:
                    raise ValueError("%s: unknown keys %s" % (name, ", ".join(sorted(extra))))
                if "default" in r and name != "rejection_reasons":
                    raise ValueError("%s: only rejection_reasons have default" % name)
                rid = int(r["id"]) if "id" in r else self.new_id(self.REF_KIND[name], coll)
                rec = {k: json.loads(json.dumps(r.get(k, v))) for k, v in fields.items()}
                if name == "job_interview_stages" and rec["job_id"] not in \
                        self.colls["jobs"].recs:
                    raise ValueError("job_interview_stages %d: no job %r" % (rid, rec["job_id"]))
                if name == "jobs" and rec["status"] not in ("draft", "open", "closed"):
                    raise ValueError("jobs %d: status must be draft, open or closed" % rid)
                if name == "rejection_reasons":
                    rec["_default"] = bool(r.get("default", False))
                created = parse_iso_ms(r["created_at"], "created_at") if "created_at" in r \
                    else now
                updated = parse_iso_ms(r["updated_at"], "updated_at") if "updated_at" in r \
                    else created
                coll.put(rid, rec, created, updated)

    def render_ref(self, name, i):
        coll = self.colls[name]
        out = {"id": i}
        out.update((k, v) for k, v in coll.recs[i].items() if k[0] != "_")
        out["created_at"] = iso_ms(coll.crt[i])
        out["updated_at"] = iso_ms(coll.upd[i])
        return out

    def stage_name(self, jis):
        s = self.colls["job_interview_stages"].recs.get(jis)
        return s["name"] if s else None

    def job_stages(self, job_id):
        st = self.colls["job_interview_stages"]
        return sorted((i for i in st.ids if st.recs[i]["job_id"] == job_id),
                      key=lambda i: (st.recs[i]["sort_order"], i))

    # --- candidates --------------------------------------------------------------------------

    def cand_content(self, cid, rec):
        """The content fields (no id, no timestamps) of a stored candidate."""
        if isinstance(rec, dict):
            return rec
        fi, li, priv, ci = rec  # a generated, never edited candidate
        first, last = FIRST[fi], LAST[li]
        out = dict(CAND_DEFAULTS)
        out.update(
            first_name=first, last_name=last, company=COMPANIES[ci % len(COMPANIES)],
            title=TITLES[ci % len(TITLES)], private=priv,
            email_addresses=[{"value": "%s.%s.%d@example.com" % (first.lower(), last.lower(),
                                                                 cid), "type": "personal"}],
            phone_numbers=[{"value": "+1415555%04d" % (cid % 10000), "type": "mobile"}])
        return out

    def cand_dict(self, cid):
        """The candidate's content as a stored dict (materialises a generated one)."""
        return self.cands.as_dict(cid, self.cand_content)

    def cand_private(self, cid):
        rec = self.cands.recs[cid]
        return rec["private"] if isinstance(rec, dict) else rec[2]

    def render_candidate(self, cid):
        out = {"id": cid}
        out.update(self.cand_content(cid, self.cands.recs[cid]))
        upd = self.cands.upd[cid]
        act = max([upd] + [self.apps.upd[a] for a in self.apps_by_cand.get(cid, ())])
        out["last_activity_at"] = iso_ms(act)
        out["created_at"] = iso_ms(self.cands.crt[cid])
        out["updated_at"] = iso_ms(upd)
        return out

    @staticmethod
    def check_candidate_fields(fields, where):
        """Validates candidate content fields; returns a deep copy."""
        bad = set(fields) - set(CAND_DEFAULTS)
        if bad:
            raise ValueError("%s: unknown candidate fields %s (v3 names: private, not "
                             "is_private; no application_ids)" % (where, ", ".join(sorted(bad))))
        out = json.loads(json.dumps(fields))
        for k in ("first_name", "last_name", "preferred_name", "company", "title", "time_zone"):
            if k in out and out[k] is not None and not isinstance(out[k], str):
                raise ValueError("%s: %s must be a string or null" % (where, k))
        for k in ("private", "can_email"):
            if k in out and not isinstance(out[k], bool):
                raise ValueError("%s: %s must be a boolean" % (where, k))
        for k, types in (("email_addresses", EMAIL_TYPES), ("phone_numbers", PHONE_TYPES),
                         ("addresses", None), ("website_addresses", None),
                         ("social_media_addresses", None)):
            if k not in out:
                continue
            if not isinstance(out[k], list):
                raise ValueError("%s: %s must be a list" % (where, k))
            for e in out[k]:
                if not isinstance(e, dict) or not isinstance(e.get("value"), str):
                    raise ValueError("%s: %s entries are {value, type}" % (where, k))
                allowed = {"value"} if k == "social_media_addresses" else {"value", "type"}
                if set(e) - allowed:
                    raise ValueError("%s: %s entries take only %s" % (where, k,
                                                                     ", ".join(sorted(allowed))))
                if types and e.get("type") not in types:
                    raise ValueError("%s: %s type must be one of %s" % (where, k,
                                                                       "|".join(types)))
        if "tags" in out and (not isinstance(out["tags"], list) or
                              not all(isinstance(t, str) for t in out["tags"])):
            raise ValueError("%s: tags are a list of strings" % where)
        if "linked_user_ids" in out and (not isinstance(out["linked_user_ids"], list) or not all(
                isinstance(u, int) and not isinstance(u, bool) for u in out["linked_user_ids"])):
            raise ValueError("%s: linked_user_ids are a list of integers" % where)
        if "custom_fields" in out:
            cf = out["custom_fields"]
            if not isinstance(cf, dict) or not all(
                    isinstance(v, dict) and set(v) <= {"name", "type", "value"}
                    for v in cf.values()):
                raise ValueError("%s: custom_fields is {name_key: {name, type, value}}" % where)
        return out

    def take_identity(self, rec, kind, coll, now):
        """Pops id, created_at, updated_at and last_activity_at (computed) from rec, a new
        `kind` record for coll; -> (id, created ms, updated ms). A given id must be new;
        created defaults to now, updated to created."""
        i = int(rec.pop("id")) if "id" in rec else self.new_id(kind, coll)
        if i in coll:
            raise ValueError("%s %d exists" % (kind, i))
        created = parse_iso_ms(rec.pop("created_at"), "created_at") if "created_at" in rec \
            else now
        updated = parse_iso_ms(rec.pop("updated_at"), "updated_at") if "updated_at" in rec \
            else created
        rec.pop("last_activity_at", None)
        return i, created, updated

    def add_candidate(self, c, now, loading=False):
        c = dict(c)
        apps = c.pop("applications", [])
        cid, created, updated = self.take_identity(c, "candidate", self.cands, now)
        content = dict(CAND_DEFAULTS)
        content.update(self.check_candidate_fields(c, "candidate %d" % cid))
        self.cands.put(cid, json.loads(json.dumps(content)), created, updated)
        self.apps_by_cand.setdefault(cid, [])
        if self.next_ids["candidate"] <= cid:
            self.next_ids["candidate"] = cid + 1
        for a in apps:
            a = dict(a)
            if a.setdefault("candidate_id", cid) != cid:
                raise ValueError("nested application of candidate %d names another" % cid)
            self.add_application(a, now, loading)
        return cid

    # --- applications ------------------------------------------------------------------------

    def app_content(self, aid, rec):
        if isinstance(rec, dict):
            return rec
        cid, job, jis, st, src, reason, rej_ms, ref = rec  # generated, never edited
        status = GEN_STATUS[st]
        terminal = status in TERMINAL
        out = dict(APP_DEFAULTS)
        out.update(candidate_id=cid, job_id=job, status=status,
                   stage_name=self.stage_name(jis),
                   job_interview_stage_id=None if terminal else jis,
                   stage_id=None if terminal else jis + STAGE_ID_OFFSET,
                   source_id=src, referrer_id=ref, rejection_reason_id=reason,
                   rejected_at=iso_ms(rej_ms) if rej_ms else None)
        return out

    def app_dict(self, aid):
        """The application's content as a stored dict (materialises a generated one)."""
        return self.apps.as_dict(aid, self.app_content)

    def render_application(self, aid):
        out = {"id": aid}
        out.update(self.app_content(aid, self.apps.recs[aid]))
        upd = self.apps.upd[aid]
        out["last_activity_at"] = iso_ms(upd)
        out["created_at"] = iso_ms(self.apps.crt[aid])
        out["updated_at"] = iso_ms(upd)
        return out

    def normalize_application(self, a, where, stamp):
        """Fills derived fields of application content `a` (in place) and checks it."""
        bad = set(a) - set(APP_DEFAULTS)
        if bad:
            raise ValueError("%s: unknown application fields %s (v3 names: status in_process, "
                             "job_id, source_id, ...)" % (where, ", ".join(sorted(bad))))
        if a["candidate_id"] not in self.cands:
            raise ValueError("%s: no candidate %r" % (where, a["candidate_id"]))
        if a["status"] not in STATUSES:
            raise ValueError("%s: status must be one of %s" % (where, "|".join(STATUSES)))
        for k, coll in (("job_id", "jobs"), ("source_id", "sources"),
                        ("referrer_id", "referrers"), ("rejection_reason_id",
                                                       "rejection_reasons")):
            if a[k] is not None and a[k] not in self.colls[coll].recs:
                raise ValueError("%s: %s %r does not exist" % (where, k, a[k]))
        if a["prospect"] and a["status"] == "converted":
            raise ValueError("%s: a converted application is no longer a prospect" % where)
        if not a["prospect"] and a["job_id"] is None:
            raise ValueError("%s: job_id is required unless prospect is true" % where)
        jis = a["job_interview_stage_id"]
        if jis is None and a["job_id"] is not None and not a["prospect"]:
            stages = self.job_stages(a["job_id"])
            if a["stage_name"] is not None:  # find the stage by name (loading, reopening)
                named = [i for i in stages if self.stage_name(i) == a["stage_name"]]
                jis = named[0] if named else None
                if jis is None and a["status"] == "in_process":
                    raise ValueError("%s: job %d has no stage named %r" % (
                        where, a["job_id"], a["stage_name"]))
            elif a["status"] == "in_process":
                jis = stages[0] if stages else None
        if jis is not None:
            st = self.colls["job_interview_stages"].recs.get(jis)
            if st is None:
                raise ValueError("%s: job_interview_stage_id %r does not exist" % (where, jis))
            if a["job_id"] is not None and st["job_id"] != a["job_id"]:
                raise ValueError("%s: stage %d belongs to job %d" % (where, jis, st["job_id"]))
            a["stage_name"] = st["name"]
        if a["status"] in TERMINAL or a["prospect"]:
            a["job_interview_stage_id"] = None
            a["stage_id"] = None
        else:
            a["job_interview_stage_id"] = jis
            a["stage_id"] = jis + STAGE_ID_OFFSET if jis is not None else None
        if a["status"] == "rejected":
            if a["rejected_at"] is None:
                a["rejected_at"] = iso_ms(stamp)
            else:
                a["rejected_at"] = iso_ms(parse_iso_ms(a["rejected_at"], "rejected_at"))
        else:
            a["rejected_at"] = None
            a["rejection_reason_id"] = None
        return a

    def add_application(self, a, now, loading=False):
        a = dict(a)
        aid, created, updated = self.take_identity(a, "application", self.apps, now)
        content = dict(APP_DEFAULTS)
        content.update(json.loads(json.dumps(a)))
        if content["candidate_id"] is not None:
            content["candidate_id"] = int(content["candidate_id"])
        self.normalize_application(content, "application %d" % aid, updated)
        self.apps.put(aid, content, created, updated)
        self.apps_by_cand.setdefault(content["candidate_id"], []).append(aid)
        if self.next_ids["application"] <= aid:
            self.next_ids["application"] = aid + 1
        return aid

    # --- gateway: auth, rate limit, routing ---------------------------------------------------

    @staticmethod
    def api_error(status, message, headers=None):
        return status, dict(headers or {}), {"errors": [message]}

    def authenticate(self, req):
        """-> (token record, None) or (None, 401 response)."""
        auth = req.headers.get("Authorization") or ""
        www = {"WWW-Authenticate": 'Bearer realm="Greenhouse Harvest", error="invalid_token"'}
        if auth[:7].lower() != "bearer " or not auth[7:].strip():
            return None, self.api_error(401, "Missing or malformed Authorization: Bearer "
                                        "header", {"WWW-Authenticate":
                                                   'Bearer realm="Greenhouse Harvest"'})
        t = self.tokens.get(auth[7:].strip())
        if t is None:
            return None, self.api_error(401, "Invalid access token", www)
        if t["expires"] <= self.now_ms():
            return None, self.api_error(401, "Access token expired", www)
        return t, None

    def throttle(self, consume):
        """-> (rate headers, None) or (rate headers, 429 response)."""
        limit = self.limits["limit_per_window"]
        if not limit:
            return {}, None
        span = max(1, int(self.limits["window_s"])) * 1000
        now = self.now_ms()
        win = now // span
        if win != self.rl_window:
            self.rl_window, self.rl_used = win, 0
        reset_ms = (win + 1) * span
        refused = consume and self.rl_used >= limit
        if consume and not refused:
            self.rl_used += 1
        h = {}
        if self.settings["limit_header"]:
            h["X-RateLimit-Limit"] = str(limit)
        h["X-RateLimit-Remaining"] = str(max(0, limit - self.rl_used))
        wait_s = max(0, math.ceil((reset_ms - now) / 1000))
        h["X-RateLimit-Reset"] = str(reset_ms // 1000) if \
            self.settings["reset_format"] == "epoch" else str(wait_s)
        if not refused:
            return h, None
        self.stats["429"] += 1
        rh = dict(h)
        if self.settings["retry_after"] == "seconds":
            rh["Retry-After"] = str(max(1, wait_s))
        elif self.settings["retry_after"] == "epoch":
            rh["Retry-After"] = str(reset_ms // 1000)
        return h, (429, rh, {"message": "Rate limit exceeded"})

    def dispatch(self, req):
        path = req.path
        s = self.settings
        if path == s["auth_path"]:
            req.path = "/_token"
            return super().dispatch(req)
        api = path[len(s["api_prefix"]):] if path.startswith(s["api_prefix"] + "/v3/") else None
        if api is None:
            return self.api_error(404, "Not found: %s" % req.raw_path)
        req.path = api
        with self.lock:
            tok, err = self.authenticate(req)
            rate_headers, refused = self.throttle(consume=err is None)
            if err is not None:
                err[1].update(rate_headers)
                return err
            if refused is not None:
                return refused
            req.token = tok
        status, headers, body = super().dispatch(req)
        if status in (404, 405) and isinstance(body, dict) and "error" in body and \
                "path" in body:
            body = {"errors": ["%s %s: %s" % (req.method, req.raw_path, body["error"])]}
        headers.update(rate_headers)
        return status, headers, body

    def log_request(self, entry, handler, body_bytes, status, fault, t0, tls, resp_bytes=0):
        path = re.sub(r"/\d+(?=/|$)", "/{id}", entry.get("path") or "")
        with self.lock:
            st = self.stats
            st["requests"] += 1
            st["by_path"][path] = st["by_path"].get(path, 0) + 1
            key = str(status) if status is not None else "reset"
            st["by_status"][key] = st["by_status"].get(key, 0) + 1
            if status in (401, 403, 422) and not fault:
                st[str(status)] += 1
        super().log_request(entry, handler, body_bytes, status, fault, t0, tls, resp_bytes)

    def need(self, req, scope):
        t = req.token
        if scope not in t["scopes"]:
            raise HttpError(403, {"errors": ["The access token lacks the scope %s" % scope]})
        u = self.users.get(t["user_id"])
        if u is None or not u["active"]:
            raise HttpError(403, {"errors": ["The token's user no longer exists"]})
        if not u["site_admin"]:
            raise HttpError(403, {"errors": ["This endpoint requires the token's user to be a "
                                             "Site Admin"]})
        return u

    # --- OAuth -------------------------------------------------------------------------------

    @staticmethod
    def oauth_error(status, error, description, headers=None):
        raise HttpError(status, {"error": error, "error_description": description},
                        dict({"Cache-Control": "no-store"}, **(headers or {})))

    def issue_token(self, client_id, user_id, lifetime_s=None):
        now = self.now_ms()
        life = self.settings["token_lifetime_s"] if lifetime_s is None else int(lifetime_s)
        expires = now + life * 1000
        scopes = list(self.clients[client_id]["scopes"])
        header = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "fake-greenhouse"},
                                   separators=(",", ":")).encode())
        payload = b64url(json.dumps({
            "iss": "https://auth.greenhouse.io", "sub": str(user_id), "client_id": client_id,
            "iat": now // 1000, "exp": expires // 1000, "jti": secrets.token_hex(16),
            "scope": " ".join(scopes)}, separators=(",", ":")).encode())
        token = "%s.%s.%s" % (header, payload, b64url(secrets.token_bytes(256)))
        self.tokens[token] = {"client_id": client_id, "user_id": int(user_id),
                              "scopes": scopes, "issued": now, "expires": expires}
        self.stats["tokens_issued"] += 1
        return {"access_token": token, "token_type": "Bearer", "expires_at": iso_s(expires)}

    @route("POST", r"^/_token$")
    def token(self, req):
        self.stats["token_requests"] += 1
        auth = req.headers.get("Authorization") or ""
        basic = {"WWW-Authenticate": 'Basic realm="Greenhouse"'}
        if auth[:6].lower() != "basic ":
            self.oauth_error(401, "invalid_client", "Client authentication by HTTP Basic is "
                             "required", basic)
        try:
            cid, sep, secret = base64.b64decode(auth[6:].strip(), validate=True).decode(
                "utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            self.oauth_error(401, "invalid_client", "Malformed Basic credentials", basic)
        client = self.clients.get(cid) or self.clients.get(urllib.parse.unquote(cid))
        if not sep or client is None or not (
                hmac.compare_digest(client["client_secret"].encode(), secret.encode()) or
                hmac.compare_digest(client["client_secret"].encode(),
                                    urllib.parse.unquote(secret).encode())):
            self.oauth_error(401, "invalid_client", "Invalid client credentials", basic)
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            self.oauth_error(400, "invalid_request", "The body must be "
                             "application/x-www-form-urlencoded, not %r" % ctype)
        if req.query:
            self.oauth_error(400, "invalid_request", "Parameters belong in the form body, not "
                             "the URL (%s)" % ", ".join(sorted(req.query)))
        try:
            form = urllib.parse.parse_qs(req.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            self.oauth_error(400, "invalid_request", "The body is not UTF-8")
        for k, v in form.items():
            if len(v) > 1:
                self.oauth_error(400, "invalid_request", "Repeated parameter %s" % k)
        form = {k: v[0] for k, v in form.items()}
        grant = form.get("grant_type")
        if not grant:
            self.oauth_error(400, "invalid_request", "grant_type is required")
        if grant != "client_credentials":
            self.oauth_error(400, "unsupported_grant_type",
                             "grant_type %r is not supported" % grant)
        sub = (form.get("sub") or "").strip()
        if not sub:
            self.oauth_error(400, "invalid_request", "sub (the Greenhouse user id the "
                             "integration acts as) is required")
        user = self.users.get(int(sub)) if sub.isdigit() else None
        if user is None or not user["active"]:
            self.oauth_error(400, "invalid_grant", "Unknown or inactive user %r" % sub)
        return 200, {"Cache-Control": "no-store", "Pragma": "no-cache"}, \
            self.issue_token(client["client_id"], user["id"])

    # --- lists -------------------------------------------------------------------------------

    def bad(self, message, stat=None):
        if stat:
            self.stats[stat] += 1
        raise HttpError(422, {"errors": [message]})

    def encode_cursor(self, name, params, per_page, last_id):
        payload = json.dumps({"r": name, "q": params, "p": per_page, "a": last_id,
                              "t": self.now_ms(), "g": self.cursor_gen},
                             separators=(",", ":"), sort_keys=True).encode()
        mac = hmac.new(self.cursor_key, payload, hashlib.sha256).digest()[:CURSOR_MAC_LEN]
        self.stats["cursors_issued"] += 1
        return b64url(payload + mac)

    def decode_cursor(self, name, text):
        try:
            raw = unb64url(text)
        except (ValueError, TypeError):
            self.bad(MSG_CURSOR_INVALID, "invalid_cursors")
        payload, mac = raw[:-CURSOR_MAC_LEN], raw[-CURSOR_MAC_LEN:]
        want = hmac.new(self.cursor_key, payload, hashlib.sha256).digest()[:CURSOR_MAC_LEN]
        if len(raw) <= CURSOR_MAC_LEN or not hmac.compare_digest(mac, want):
            self.bad(MSG_CURSOR_INVALID, "invalid_cursors")
        c = json.loads(payload)
        if c["r"] != name:
            self.bad(MSG_CURSOR_INVALID, "invalid_cursors")
        if c["g"] != self.cursor_gen or \
                self.now_ms() >= c["t"] + self.settings["cursor_lifetime_s"] * 1000:
            self.bad(MSG_CURSOR_EXPIRED, "expired_cursors")
        return c

    def parse_window(self, field, text):
        parts = text.split("|")
        if len(parts) < 2 or len(parts) % 2:
            self.bad("Invalid %s filter %r: expected op|timestamp[|op|timestamp] with op one of "
                     "%s" % (field, text, ", ".join(WINDOW_OPS)))
        bounds = {}
        for op, value in zip(parts[0::2], parts[1::2]):
            if op not in WINDOW_OPS:
                self.bad("Invalid %s operator %r (one of %s)" % (field, op,
                                                                 ", ".join(WINDOW_OPS)))
            if op in bounds or (op[:2] == "gt" and ("gt" in bounds or "gte" in bounds)) or \
                    (op[:2] == "lt" and ("lt" in bounds or "lte" in bounds)):
                self.bad("Invalid %s filter %r: one lower and one upper bound at most"
                         % (field, text))
            us = parse_iso_us(value)
            if us is None:
                self.bad("Invalid %s timestamp %r: expected ISO-8601 such as "
                         "2026-01-01T00:00:00Z" % (field, value))
            bounds[op] = us
        return bounds

    @staticmethod
    def window_pred(stamps, bounds):
        lo_in, lo_ex = bounds.get("gte"), bounds.get("gt")
        hi_in, hi_ex = bounds.get("lte"), bounds.get("lt")

        def pred(i):
            t = stamps[i] * 1000
            return not ((lo_in is not None and t < lo_in) or (lo_ex is not None and t <= lo_ex)
                        or (hi_in is not None and t > hi_in) or
                        (hi_ex is not None and t >= hi_ex))
        return pred

    def parse_ids(self, key, text):
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts or not all(p.isdigit() for p in parts):
            self.bad("%s must be comma-separated integer ids" % key)
        if len(parts) > MAX_IDS:
            self.bad("%s accepts at most %d ids" % (key, MAX_IDS))
        return {int(p) for p in parts}

    @route("GET", r"^/v3/(?P<resource>%s)$" % "|".join(RESOURCES))
    def list_resource(self, req):
        """A list endpoint, /v3/NAME for each NAME in RESOURCES: first page from the query,
        later pages from the cursor."""
        name = req.params["resource"]
        scope, extras = RESOURCES[name]
        user = self.need(req, scope)
        q = req.query
        if "cursor" in q:
            if len(q) > 1 or len(q["cursor"]) > 1:
                self.bad(MSG_CURSOR_PARAMS, "cursor_with_params")
            c = self.decode_cursor(name, q["cursor"][0])
            params, per_page, after = c["q"], c["p"], c["a"]
        else:
            allowed = set(BASE_PARAMS) | set(extras)
            params = {}
            for k, v in q.items():
                if k not in allowed:
                    if self.settings["unknown_params"] == "reject":
                        self.bad("Unknown query parameter %r for /v3/%s (allowed: %s)"
                                 % (k, name, ", ".join(sorted(allowed))))
                    continue
                if len(v) > 1:
                    self.bad("Query parameter %r given more than once" % k)
                params[k] = v[0]
            per_page = self.settings["default_per_page"]
            if "per_page" in params:
                pp = params.pop("per_page")
                if not re.fullmatch(r"\d{1,6}", pp) or not 1 <= int(pp) <= MAX_PER_PAGE:
                    self.bad("per_page must be an integer from 1 to %d, not %r"
                             % (MAX_PER_PAGE, pp))
                per_page = int(pp)
            after = None
        coll = self.colls[name]
        preds = []
        if "updated_at" in params and "created_at" in params:
            self.bad("Choose one of created_at or updated_at; they cannot be combined.")
        for field, stamps in (("updated_at", coll.upd), ("created_at", coll.crt)):
            if field in params:
                preds.append(self.window_pred(stamps, self.parse_window(field, params[field])))
        ids = coll.ids
        if name == "applications" and "candidate_ids" in params:
            wanted = self.parse_ids("candidate_ids", params["candidate_ids"])
            ids = sorted(a for c in wanted for a in self.apps_by_cand.get(c, ()))
        if name == "job_interview_stages" and "job_ids" in params:
            jobs = self.parse_ids("job_ids", params["job_ids"])
            preds.append(lambda i: coll.recs[i]["job_id"] in jobs)
        if name == "rejection_reasons":
            inc = params.get("include_defaults", "false")
            if inc not in ("true", "false"):
                self.bad("include_defaults must be true or false")
            if inc == "false":
                preds.append(lambda i: not coll.recs[i].get("_default"))
        if name == "candidates" and not user["can_view_private"]:
            preds.append(lambda i: not self.cand_private(i))

        def match(i):
            for p in preds:
                if not p(i):
                    return False
            return True

        j = (bisect.bisect_left(ids, after) if after is not None else len(ids)) - 1
        page = []
        while j >= 0 and len(page) < per_page:
            i = ids[j]
            j -= 1
            if match(i):
                page.append(i)
        more = False
        if len(page) == per_page:
            if self.settings["trailing_empty_page"]:
                more = True
            else:
                while j >= 0:
                    if match(ids[j]):
                        more = True
                        break
                    j -= 1
        render = {"candidates": self.render_candidate,
                  "applications": self.render_application}.get(name) or \
            (lambda i: self.render_ref(name, i))
        body = [render(i) for i in page]
        self.stats["pages"] += 1
        self.stats["records"] += len(body)
        headers = {}
        if more:
            cursor = self.encode_cursor(name, params, per_page, page[-1])
            host = req.headers.get("Host") or "127.0.0.1:%d" % self.port
            scheme = "https" if self.ssl_context else "http"
            headers["Link"] = '<%s://%s%s/v3/%s?cursor=%s>; rel="next"' % (
                scheme, host, self.settings["api_prefix"], name, cursor)
        return 200, headers, body

    def no_params(self, req):
        if req.query and self.settings["unknown_params"] == "reject":
            self.bad("This endpoint takes no query parameters (got %s)"
                     % ", ".join(sorted(req.query)))

    @route("GET", r"^/v3/candidates/(?P<id>[^/]+)$")
    def get_candidate(self, req):
        user = self.need(req, RESOURCES["candidates"][0])
        self.no_params(req)
        cid = int(req.params["id"]) if req.params["id"].isdigit() else None
        if cid not in self.cands or (self.cand_private(cid) and not user["can_view_private"]):
            raise HttpError(404, {"errors": ["Candidate %s not found" % req.params["id"]]})
        return 200, {}, self.render_candidate(cid)

    @route("GET", r"^/v3/applications/(?P<id>[^/]+)$")
    def get_application(self, req):
        self.need(req, RESOURCES["applications"][0])
        self.no_params(req)
        aid = int(req.params["id"]) if req.params["id"].isdigit() else None
        if aid not in self.apps:
            raise HttpError(404, {"errors": ["Application %s not found" % req.params["id"]]})
        return 200, {}, self.render_application(aid)

    # --- admin -------------------------------------------------------------------------------
    # StatefulFake serves stats, stats/reset, settings, limits, reset-counters and clock.

    def check_limit(self, name, value):
        if not isinstance(value, int) or value < (1 if name == "window_s" else 0):
            raise ValueError("%s must be a whole number" % name)

    def limits_changed(self):
        self.rl_window = None

    def reset_counters(self):
        self.rl_window, self.rl_used = None, 0

    def move_clock(self, body):
        if body.get("align_to_window"):
            span = max(1, int(self.limits["window_s"])) * 1000
            now = self.now_ms()
            self.clock_offset_ms += (now // span + 1) * span - now

    @admin_route("POST", "/_admin/tokens")
    def admin_tokens(self, req, body):
        cid = body.get("client_id") or next(iter(self.clients))
        if cid not in self.clients:
            raise ValueError("no client %r" % cid)
        uid = int(body.get("user_id", min(self.users)))
        if uid not in self.users:
            raise ValueError("no user %r" % uid)
        return self.issue_token(cid, uid, body.get("lifetime_s"))

    @admin_route("POST", "/_admin/expire-tokens")
    def admin_expire_tokens(self, req, body):
        now = self.now_ms()
        n = 0
        for k, t in self.tokens.items():
            if body.get("token") in (None, k):
                t["expires"] = min(t["expires"], now)
                n += 1
        return {"ok": True, "expired": n}

    @admin_route("POST", "/_admin/expire-cursors")
    def admin_expire_cursors(self, req, body):
        self.cursor_gen += 1
        return {"ok": True, "generation": self.cursor_gen}

    @admin_route("POST", "/_admin/users")
    def admin_users(self, req, body):
        return self.put_user(body)

    @admin_route("POST", "/_admin/clients")
    def admin_clients(self, req, body):
        cid = str(body["client_id"])
        scopes = list(body.get("scopes", ALL_SCOPES))
        self.clients[cid] = {"client_id": cid, "client_secret": str(body["client_secret"]),
                             "scopes": scopes}
        return dict(self.clients[cid])

    @admin_route("GET", "/_admin/summary")
    def admin_summary(self, req, body):
        return dict({name: len(c) for name, c in self.colls.items()},
                    tokens=len(self.tokens), history=len(self.history),
                    now=iso_ms(self.now_ms()))

    def find_candidate(self, cid):
        cid = int(cid)
        if cid not in self.cands:
            raise HttpError(404, {"error": "no candidate %d" % cid})
        return cid

    @admin_route("GET", "/_admin/candidate")
    def admin_candidate(self, req, body):
        cid = self.find_candidate(req.arg("id") or body.get("id"))
        return {"candidate": self.render_candidate(cid),
                "applications": [self.render_application(a)
                                 for a in sorted(self.apps_by_cand.get(cid, ()))]}

    @admin_route("POST", "/_admin/add-candidate")
    def admin_add_candidate(self, req, body):
        stamp = self.write_stamp()
        cid = self.add_candidate(body, stamp)
        return self.render_candidate(cid)

    @admin_route("POST", "/_admin/add-application")
    def admin_add_application(self, req, body):
        self.find_candidate(body["candidate_id"])
        aid = self.add_application(body, self.write_stamp())
        return self.render_application(aid)

    @admin_route("POST", "/_admin/edit-candidate")
    def admin_edit_candidate(self, req, body):
        cid = self.find_candidate(body["id"])
        new = body.get("set") or {}
        if not isinstance(new, dict):
            raise ValueError("set must be an object")
        checked = self.check_candidate_fields(new, "edit-candidate")
        rec = self.cand_dict(cid)
        rec.update(checked)
        if body.get("bump", True):
            self.cands.upd[cid] = self.write_stamp()
        return self.render_candidate(cid)

    @admin_route("POST", "/_admin/edit-application")
    def admin_edit_application(self, req, body):
        aid = int(body["id"])
        if aid not in self.apps:
            raise HttpError(404, {"error": "no application %d" % aid})
        new = body.get("set") or {}
        if not isinstance(new, dict):
            raise ValueError("set must be an object")
        if "candidate_id" in new:
            raise ValueError("move applications with /_admin/merge, not candidate_id")
        stamp = self.write_stamp()
        old = self.app_content(aid, self.apps.recs[aid])
        merged = dict(old)
        merged.update(json.loads(json.dumps(new)))
        if "job_id" in new and new["job_id"] != old["job_id"] and \
                "job_interview_stage_id" not in new:
            merged["job_interview_stage_id"] = None  # the old stage belongs to the old job
            if "stage_name" not in new:
                merged["stage_name"] = None
        if "job_interview_stage_id" in new and "stage_name" not in new:
            merged["stage_name"] = None  # derived from the new stage
        if new.get("status") == "rejected" and old["status"] != "rejected" and \
                "rejected_at" not in new:
            merged["rejected_at"] = None  # stamped now
        self.normalize_application(merged, "edit-application", stamp)
        self.apps.recs[aid] = merged
        if body.get("bump", True):
            self.apps.upd[aid] = stamp
        if body.get("bump_candidate"):
            self.cands.upd[merged["candidate_id"]] = self.write_stamp()
        return self.render_application(aid)

    @admin_route("POST", "/_admin/delete-candidate")
    def admin_delete_candidate(self, req, body):
        cid = self.find_candidate(body["id"])
        apps = sorted(self.apps_by_cand.pop(cid, []))
        for a in apps:
            self.apps.remove(a)
        self.cands.remove(cid)
        self.history.append({"action": "delete_candidate", "at": iso_ms(self.now_ms()),
                             "candidate_id": cid, "deleted_application_ids": apps})
        return {"message": "Person %d has been deleted." % cid, "deleted_application_ids": apps}

    @admin_route("POST", "/_admin/merge")
    def admin_merge(self, req, body):
        win = self.find_candidate(body["winner"])
        lose = self.find_candidate(body["loser"])
        if win == lose:
            raise ValueError("winner and loser are the same candidate")
        w = self.cand_dict(win)
        lo = self.cand_content(lose, self.cands.recs[lose])
        for k in ("email_addresses", "phone_numbers", "addresses", "website_addresses",
                  "social_media_addresses"):
            seen = {str(e.get("value", "")).strip().lower() for e in w[k]}
            add = []
            for e in lo[k]:
                key = str(e.get("value", "")).strip().lower()
                if key not in seen:
                    seen.add(key)
                    add.append(dict(e))
            w[k] = list(w[k]) + add
        w["tags"] = list(w["tags"]) + [t for t in lo["tags"] if t not in w["tags"]]
        stamp = self.write_stamp()
        moved = sorted(self.apps_by_cand.pop(lose, []))
        for a in moved:
            d = self.app_dict(a)
            d["candidate_id"] = win
            self.apps.upd[a] = stamp
        self.apps_by_cand.setdefault(win, []).extend(moved)
        self.cands.remove(lose)
        self.cands.upd[win] = stamp
        self.history.append({"action": "merge_candidate", "at": iso_ms(stamp),
                             "candidate_id": lose, "new_candidate_id": win,
                             "moved_application_ids": moved})
        return self.render_candidate(win)

    @admin_route("POST", "/_admin/anonymize")
    def admin_anonymize(self, req, body):
        cid = self.find_candidate(body["id"])
        fields = body.get("fields", list(ANON_DEFAULT))
        bad = [f for f in fields if f not in ANON_FIELDS]
        if bad or not fields:
            raise ValueError("fields must be a non-empty subset of %s" % ", ".join(ANON_FIELDS))
        c = self.cand_dict(cid)
        for f in fields:
            if f == "full_name":
                c.update(first_name="Anonymized", last_name=str(cid), preferred_name=None)
            elif f == "current_company":
                c["company"] = None
            elif f == "current_title":
                c["title"] = None
            elif f == "custom_fields":
                c["custom_fields"] = {}
            else:
                c[f] = []
        stamp = self.write_stamp()
        self.cands.upd[cid] = stamp
        self.history.append({"action": "anonymize_candidate", "at": iso_ms(stamp),
                             "candidate_id": cid, "fields": list(fields)})
        return self.render_candidate(cid)

    @admin_route("POST", "/_admin/generate")
    def admin_generate(self, req, body):
        n = int(body.get("candidates", 0))
        k = int(body.get("applications_per_candidate", 1))
        if not 0 <= n <= 2000000 or not 0 <= k <= 20:
            raise ValueError("candidates 0..2000000, applications_per_candidate 0..20")
        rng = random.Random(body.get("seed", 1))
        private_every = int(body.get("private_every", 0))
        span = int(float(body.get("span_days", 30)) * 86400 * 1000)
        jobs = [(j, self.job_stages(j)) for j in self.colls["jobs"].ids]
        jobs = [(j, s) for j, s in jobs if s]
        if k and not jobs:
            raise ValueError("no job with stages to generate applications for")
        sources = list(self.colls["sources"].ids) or [None]
        reasons = list(self.colls["rejection_reasons"].ids) or [None]
        referrers = list(self.colls["referrers"].ids)
        now = self.now_ms()
        start = now - span
        cands, apps, by_cand = self.cands, self.apps, self.apps_by_cand
        cid = max(self.next_ids["candidate"], cands.max_id() + 1)
        aid = max(self.next_ids["application"], apps.max_id() + 1)
        first_c, first_a = cid, aid
        nf, nl, nc = len(FIRST), len(LAST), len(COMPANIES) * len(TITLES)
        rand = rng.random
        for i in range(n):
            created = start + span * i // max(n, 1)
            updated = created + int(rand() * (now - created))
            priv = bool(private_every) and (i + 1) % private_every == 0
            cands.recs[cid] = (int(rand() * nf), int(rand() * nl), priv, int(rand() * nc))
            cands.crt[cid] = created
            cands.upd[cid] = updated
            cands.ids.append(cid)
            mine = []
            for _ in range(k):
                job, stages = jobs[int(rand() * len(jobs))]
                jis = stages[int(rand() * len(stages))]
                a_created = created + int(rand() * (updated - created))
                a_updated = a_created + int(rand() * (now - a_created))
                r = rand()
                sti = 0 if r < 0.7 else 1 if r < 0.9 else 2
                reason = reasons[int(rand() * len(reasons))] if sti == 1 else None
                rej = a_updated if sti == 1 else 0
                ref = referrers[int(rand() * len(referrers))] if referrers and rand() < 0.1 \
                    else None
                apps.recs[aid] = (cid, job, jis, sti, sources[int(rand() * len(sources))],
                                  reason, rej, ref)
                apps.crt[aid] = a_created
                apps.upd[aid] = a_updated
                apps.ids.append(aid)
                mine.append(aid)
                aid += 1
            by_cand[cid] = mine
            cid += 1
        self.next_ids["candidate"], self.next_ids["application"] = cid, aid
        self.last_write_ms = max(self.last_write_ms, now)
        return {"candidates": n, "applications": n * k,
                "first_candidate_id": first_c if n else None,
                "last_candidate_id": cid - 1 if n else None,
                "first_application_id": first_a if n * k else None,
                "last_application_id": aid - 1 if n * k else None}


    # --- the canonical admin API (the same on every ATS fake: demo and scenarios) -------------

    def canon_current_app(self, cid):
        """The current application by the driver's rule: the most recently updated active
        one, else the most recently updated; ties to the greater id."""
        apps = sorted(self.apps_by_cand.get(cid, ()))
        if not apps:
            return None
        active = [a for a in apps if self.app_content(a, self.apps.recs[a])["status"]
                  == "in_process"]
        pool = active or apps
        return max(pool, key=lambda a: (self.apps.upd[a], a))

    def canon_person(self, cid):
        c = self.cand_content(cid, self.cands.recs[cid])
        out = {"id": str(cid), "first_name": c["first_name"], "last_name": c["last_name"],
               "emails": [e["value"] for e in c["email_addresses"]],
               "phones": [p["value"] for p in c["phone_numbers"]],
               "title": c["title"], "company": c["company"], "stage": None, "status": None,
               "job": None, "source": None, "private": bool(c["private"]),
               "anonymized": c["first_name"] == "Anonymized" and not c["email_addresses"]}
        aid = self.canon_current_app(cid)
        if aid is not None:
            a = self.app_content(aid, self.apps.recs[aid])
            out["stage"] = a["stage_name"]
            out["status"] = {"in_process": "active", "converted": "active"}.get(a["status"],
                                                                                a["status"])
            if a["job_id"] is not None:
                out["job"] = self.colls["jobs"].recs[a["job_id"]]["name"]
            if a["source_id"] is not None:
                out["source"] = self.colls["sources"].recs[a["source_id"]]["name"]
        return out

    def canon_ref_id(self, coll, name):
        for i in self.colls[coll].ids:
            if self.colls[coll].recs[i].get("name") == name:
                return i
        raise ValueError("no %s named %r" % (coll, name))

    @staticmethod
    def canon_fields(p):
        out = {}
        for k in ("first_name", "last_name", "title", "company"):
            if k in p:
                out[k] = p[k]
        if "emails" in p:
            out["email_addresses"] = [{"value": e, "type": "personal"} for e in p["emails"]]
        if "phones" in p:
            out["phone_numbers"] = [{"value": x, "type": "mobile"} for x in p["phones"]]
        if "private" in p:
            out["private"] = bool(p["private"])
        return out

    @admin_route("POST", "/_admin/canon/generate")
    def canon_generate(self, req, body):
        r = self.admin_generate(req, {"candidates": int(body.get("people", 0)),
                                      "applications_per_candidate":
                                          int(body.get("apps_per_person", 1)),
                                      "seed": body.get("seed", 1)})
        if not r["candidates"]:
            return {"ids": []}
        return {"ids": [str(i) for i in range(r["first_candidate_id"],
                                              r["last_candidate_id"] + 1)]}

    @admin_route("GET", "/_admin/canon/people")
    def canon_people(self, req, body):
        people = [self.canon_person(c) for c in sorted(self.cands.ids)]
        if req.arg("applied_at"):   # ?applied_at=1: the current application's creation time
            for p in people:
                aid = self.canon_current_app(int(p["id"]))
                p["applied_at"] = iso_ms(self.apps.crt[aid]) if aid is not None else None
        return {"people": people}

    @admin_route("POST", "/_admin/canon/add")
    def canon_add(self, req, body):
        c = self.canon_fields(body)
        job = self.canon_ref_id("jobs", body.get("job") or "DevOps Engineer")
        app = {"job_id": job, "status": {"active": "in_process"}.get(
            body.get("status") or "active", body.get("status"))}
        if body.get("stage"):
            app["stage_name"] = body["stage"]
        if body.get("source"):
            app["source_id"] = self.canon_ref_id("sources", body["source"])
        c["applications"] = [app]
        cid = self.add_candidate(c, self.write_stamp())
        return {"id": str(cid)}

    @admin_route("POST", "/_admin/canon/edit")
    def canon_edit(self, req, body):
        return self.canon_person(int(self.admin_edit_candidate(
            req, {"id": body["id"], "set": self.canon_fields(body)})["id"]))

    @admin_route("POST", "/_admin/canon/stage")
    def canon_stage(self, req, body):
        cid = self.find_candidate(body["id"])
        aid = self.canon_current_app(cid)
        if aid is None:
            raise ValueError("candidate %d has no application" % cid)
        job = self.app_content(aid, self.apps.recs[aid])["job_id"]
        named = [i for i in self.job_stages(job) if self.stage_name(i) == body["stage"]]
        if not named:
            raise ValueError("job %d has no stage %r" % (job, body["stage"]))
        self.admin_edit_application(req, {"id": aid, "set": {
            "job_interview_stage_id": named[0], "status": "in_process"}})
        return self.canon_person(cid)

    @admin_route("POST", "/_admin/canon/status")
    def canon_status(self, req, body):
        cid = self.find_candidate(body["id"])
        aid = self.canon_current_app(cid)
        if aid is None:
            raise ValueError("candidate %d has no application" % cid)
        st = {"active": "in_process"}.get(body["status"], body["status"])
        self.admin_edit_application(req, {"id": aid, "set": {"status": st}})
        return self.canon_person(cid)

    @admin_route("POST", "/_admin/canon/delete")
    def canon_delete(self, req, body):
        return self.admin_delete_candidate(req, {"id": body["id"]})

    @admin_route("POST", "/_admin/canon/anonymize")
    def canon_anonymize(self, req, body):
        self.admin_anonymize(req, {"id": body["id"]})
        return self.canon_person(int(body["id"]))

    @admin_route("POST", "/_admin/canon/merge")
    def canon_merge(self, req, body):
        w = self.admin_merge(req, {"winner": body["into"], "loser": body["from"]})
        return self.canon_person(int(w["id"]))


# ---------------------------------------------------------------------------------------------
# Default reference data (names from the v1 examples where they exist)

def default_reference(now):
    t = iso_ms(now - 90 * 86400 * 1000)
    jobs = [
        {"id": 4001, "name": "DevOps Engineer", "requisition_id": "ENG-101", "status": "open"},
        {"id": 4002, "name": "Data Scientist - BK", "requisition_id": "DS-7", "status": "open"},
        {"id": 4003, "name": "Accounting Manager", "requisition_id": "FIN-3",
         "status": "closed"},
    ]
    names = ("Application Review", "Recruiter Phone Screen", "Take Home Test", "Face to Face",
             "Offer")
    stages = []
    sid = 5001
    for j in jobs:
        j.update(created_at=t, updated_at=t, opened_at=t)
        for n, name in enumerate(names):
            stages.append({"id": sid, "job_id": j["id"], "name": name, "sort_order": n,
                           "created_at": t, "updated_at": t})
            sid += 1
    return {
        "jobs": jobs,
        "job_interview_stages": stages,
        "sources": [
            {"id": 7, "name": "Indeed", "type": {"id": 3, "name": "Third-party boards"}},
            {"id": 12, "name": "Meetups", "type": {"id": 7, "name": "In person event"}},
            {"id": 16, "name": "LinkedIn (Prospecting)", "type": {"id": 4,
                                                                   "name": "Prospecting"}},
            {"id": 21, "name": "Referral", "type": {"id": 2, "name": "Referral"}},
            {"id": 30, "name": "Careers Site", "type": {"id": 6, "name": "Company marketing"}},
        ],
        "rejection_reasons": [
            {"id": 8, "name": "Lacking skill(s)/qualification(s)", "default": True,
             "type": {"id": 1, "key": "WE_REJECTED_THEM", "name": "We rejected them"}},
            {"id": 9, "name": "Wasn't interested", "default": True,
             "type": {"id": 2, "key": "THEY_REJECTED_US", "name": "They rejected us"}},
            {"id": 9504, "name": "Hired another candidate", "default": False,
             "type": {"id": 1, "key": "WE_REJECTED_THEM", "name": "We rejected them"}},
            {"id": 9600, "name": "Compensation", "default": False,
             "type": {"id": 2, "key": "THEY_REJECTED_US", "name": "They rejected us"}},
        ],
        "referrers": [
            {"id": 6001, "name": "Kate Austen", "user_id": 4080},
            {"id": 6002, "name": "Bob Smith", "user_id": None},
        ],
    }


if __name__ == "__main__":
    common.main(GreenhouseFake)
