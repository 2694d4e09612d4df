"""Ashby fake: a stateful stand-in for the Ashby public API (RPC over POST, JSON bodies).

Run: python3 tests/fakes/ashby.py --port-file /tmp/port [--api-key KEY] [...]; see --help and
common.py. The API lives at the root: https://localhost:PORT/candidate.list and so on, so a
client configured with base_url https://localhost:PORT appends "/candidate.list" exactly as it
does for https://api.ashbyhq.com.

Sources (read, not remembered): shared/research/ats-apis.md ("research"; §0, §3 Ashby, §5,
§9), the Ashby OpenAPI description shared/specs/ats/ashby-openapi.yml (facts only: paths,
operation ids, property names, types, enums, required lists, permission names; extracted by
ashby_schemas.py into ashby_schemas.json, which this fake validates every request body
against), and the two example payloads shared/specs/ats/examples/ashby-*.json (the error
envelope and a last list page carrying a syncToken).

What is modelled
----------------
Calls (research §3 "Base URL, authentication, headers"): every call is POST /<rpc> with a JSON
body, HTTP Basic with the API key as user name and an empty password, Content-Type
application/json, Accept: application/json; version=1. Served:
  POST /candidate.list      candidates (permission candidatesRead)
  POST /application.list    applications (candidatesRead); filters status, jobId
  POST /candidate.info      {id} or {externalMappingId} -> one candidate
  POST /application.info    {applicationId} -> one application
  POST /job.list            jobs (jobsRead); filter status [Draft|Open|Closed|Archived]
  POST /apiKey.info         the key's title and scopes (apiKeysRead)
Anything else is a 404 with the error envelope (code "not_found"); another method on a served
path is a 405 (code "method_not_allowed").

Answers: HTTP 200 {"success": true, "results": ...}. Lists add "moreDataAvailable" (always) and
"nextCursor" (when more) or "syncToken" (on the last page), as in examples/ashby-list-envelope.
Errors arrive as HTTP 200 {"success": false, "errors": [CODE], "errorInfo": {"code": CODE,
"message": "...", "requestId": "..."}} (research: most errors are 200 with success:false; the
description's error schema requires both errors and errorInfo, errors being deprecated).
Codes used:
  invalid_input                 the body is not JSON, not an object, or fails the operation's
                                schema (also: limit not a whole number in 1..100, research's
                                documented maximum); a conformance failure is recorded
  missing_endpoint_permission   the key lacks the operation's permission (the description
                                names one per operation) or the endpoint is denied to it
  candidate_not_found, application_not_found   *.info of an unknown, deleted, merged-away or
                                hidden (confidential) record; the example payload shows
                                application_not_found, candidate_not_found is by analogy
  invalid_cursor                a cursor this fake did not issue, or issued for another
                                endpoint or key
  sync_token_expired            settings.expired_token_code (research: NOT FOUND; one hobby
                                client checks this word); a token past its lifetime
  invalid_sync_token            settings.invalid_token_code: a token this fake did not issue,
                                or issued by another endpoint
  incremental_sync_too_large    research (changelog 2026-05-14): a deep incremental listing
                                fails; here page settings.incremental_max_pages + 1 of a
                                listing that started from a syncToken (0: never)
HTTP-level errors (research: "401 = missing key; 403 = bad key"): no or garbled Basic
credentials -> 401; an unknown key -> 403; both carry the envelope (codes "unauthenticated",
"invalid_api_key", a guess). Rate limit (research: numbers NOT FOUND): a fixed window of
limits.window_s per key, limits.limit_per_window requests (0: off, the default); a refused
request is a 429 with the envelope (code "rate_limit_exceeded"), Retry-After in whole seconds
unless settings.retry_after is "none", and X-RateLimit-Scope: integration-partner when
settings.partner_scope is true (research: only partner-wide 429s carry it). A 429 or a
Retry-After-less 429 can also be injected with common.py faults.

Pagination and incremental sync (research §3 "Pagination and incremental sync"): body {limit
(1..100, default 100), cursor, syncToken, createdAfter (epoch ms)}. Records are listed in a
fixed order (the order they were created in; research: ordering NOT documented) by keyset: a
cursor stores the endpoint, the key, the listing's filters, the position of the last record
served and the listing's start. The next page is "records matching the filters NOW, after that
position", evaluated when it is requested, so:
  * a record edited mid-listing and not served yet is served once, with its new values;
  * a record served and edited afterwards is not served again by this listing;
  * records created mid-listing come at the end and are served if the listing gets there;
  * a record deleted mid-listing simply stops appearing.
The last page carries a syncToken that stands for the listing's START (the change counter
when its first page was served): a later listing with it returns every record of that
endpoint changed after that moment, so nothing edited during a listing is lost (it may come
twice). Tokens are short opaque strings (like the examples' "Rld2D") mapped on the server to
(endpoint, counter, issue time); one endpoint's token is refused by another. They expire
settings.sync_token_lifetime_s after issue (research: lifetime NOT FOUND); POST
/_admin/expire-sync-tokens expires all at once. A cursor request may repeat the listing's
syncToken (a different one is invalid_input); other filters of a cursor request are ignored
(the cursor's win). Cursors do not expire.
What counts as a change: a candidate changes when its own fields change (edit, anonymise, a
merge into it); an application changes when its stage, status, job or source changes or it
moves to another candidate. Editing an application does NOT change its candidate's updatedAt
or put the candidate into candidate.list deltas (research: candidates and applications are
separate listings; stage and status live on applications) -- the hard case for a client.

Records (the description's candidate.info, application.list and job.list result schemas;
timestamps ISO-8601 UTC with milliseconds and "Z"; ids UUIDs):
  candidate: id, createdAt, updatedAt, name (one string), primaryEmailAddress {value, type
    Personal|Work|Other, isPrimary} (absent when none), emailAddresses [same shape, the primary
    included], primaryPhoneNumber, phoneNumbers (likewise), socialLinks, tags, position,
    company, school, applicationIds, fileHandles, customFields [{id, title, value, isPrivate}],
    profileUrl, source {id, title, isArchived, sourceType {id, title, isArchived}},
    creditedToUser (a user), timezone, fraudStatus (null).
  application: id, createdAt, updatedAt, status Active|Hired|Archived|Lead, customFields,
    candidate {id, name, primaryEmailAddress, primaryPhoneNumber}, currentInterviewStage {id,
    title, type, orderInInterviewPlan, interviewPlanId}, source, archiveReason {id, text,
    reasonType RejectedByCandidate|RejectedByOrg|Other, isArchived, customFields} and
    archivedAt (archived ones only), job {id, title, locationId, departmentId},
    creditedToUser, hiringTeam.
  job: id, title, confidential, status, employmentType, locationId, departmentId,
    defaultInterviewPlanId, interviewPlanIds, customFields, jobPostingIds, hiringTeam,
    createdAt, updatedAt, openedAt.

Where research is silent and this fake chose (every one a guess, not Ashby fact):
  * Interview plans: one per job, stages Application Review (type PreInterviewScreen),
    Recruiter Phone Screen, Take Home Test, Face to Face (Active), Offer (Offer), Hired
    (Hired), Archived (Archived) -- the pipeline names of greenhouse.py and of the shared test
    tenant (tenant.py), so one mapping serves every source. Archiving moves an application to the
    Archived stage with an archive reason (the description: application.changeStage needs
    archiveReasonId for a stage of type Archived); hiring moves it to the Hired stage; making
    it active again puts it back on the stage it left.
  * Status words: Active for the pipeline; Lead is never generated.
  * Anonymisation (research: candidate.anonymize exists; the result's shape is NOT FOUND):
    name becomes "Anonymized Candidate"; emails, phones, social links, tags, files, custom
    fields, position, company, school and timezone are removed; updatedAt bumps; the
    applications stay. The description requires every application to be archived or hired
    first; canon/anonymize archives the active ones (reason "Other") before erasing.
  * Confidential: a job may be confidential (job.list's confidential field). A key without
    the confidential permission (keys[..].confidential false) does not see confidential jobs,
    nor the candidates with an application on one, nor those candidates' applications
    (research: "confidential jobs and their candidates are hidden unless the key has the
    confidential permission"); *.info of them is *_not_found. A key with it sees everything.
  * Deletes have no feed (research: webhooks only): a deleted candidate and its applications
    vanish from lists and *.info. Merges (research: candidateMerge webhook, deleted -> merged
    candidate id): the merged-away candidate vanishes like a delete; its emails and phones
    are added to the survivor, its applications move to the survivor (they change), the
    survivor changes. The history keeps each delete and merge as the webhooks would tell it.
  * job.list without a status filter lists every job.
  * Unknown body properties: recorded as conformance failures and otherwise ignored
    (settings.unknown_properties "record"; "reject" answers invalid_input; "ignore").
  * An Accept header without "version=1" is recorded as a conformance failure (research lists
    the header) and otherwise served; several Accept lines count as one list.
  * emailAddresses/phoneNumbers include the primary one (isPrimary true).
  * Ids: UUIDs. canon/add and the admin endpoints make them from a counter of the world
    (uuid5), so a world rebuilt by the same steps has the same ids (the scenario suite relies
    on it); canon/generate draws them from its seed.

Conformance (like keap.py): every request body is validated against the operation's request
schema in ashby_schemas.json; a failure answers invalid_input and is recorded
(GET /_admin/conformance: {"failures": [{id, ts, path, kind, errors}]}, kind one of schema,
json, limit, header, unknown_property, content_type); the request's log line carries
"conformance_failure": true. Tests assert the list is empty at the end.

Admin endpoints (besides common.py's state/faults/requests/reset-log/shutdown and
StatefulFake's stats, settings, limits, reset-counters, clock). Bodies are JSON objects; errors
are 400/404 {"error": "..."}:
  Canonical (vendor-neutral, shared by every ATS fake; P = {id, first_name, last_name, emails,
  phones, title, company, stage, status, job, source, anonymized, private}):
  POST /_admin/canon/generate   {people, seed?: 1, apps_per_person?: 1} -> {ids}
  GET  /_admin/canon/people     {people: [P...]} every person not deleted (?applied_at=1: each
                                P also has applied_at, the current application's createdAt); first/last split
                                from the name as the driver splits it; stage/status/job/
                                source from the current application (the driver's rule:
                                active first, latest updatedAt, ties to the greatest id);
                                private: an application on a confidential job
  POST /_admin/canon/add        {P without id; private: true puts the application on the
                                confidential job; anonymized: true erases at once} -> {id}
  POST /_admin/canon/edit       {id, first_name?, last_name?, title?, company?, emails?, phones?}
  POST /_admin/canon/stage      {id, stage}     moves the current application (active again)
  POST /_admin/canon/status     {id, status: active|rejected|hired|withdrawn|archived}
  POST /_admin/canon/delete     {id}
  POST /_admin/canon/anonymize  {id}
  POST /_admin/canon/merge      {from, into}
  Ashby-specific:
  GET  /_admin/summary          counts, the change counter, tokens and cursors issued
  (GET /_admin/stats: besides the counters, delta_since {candidate, application}: the change
  counter the sync token of the latest incremental listing of each stood for)
  GET  /_admin/candidate?id=ID  {candidate, applications} as rendered, ignoring visibility
  POST /_admin/edit-application {id, stage?, status?, job?, source?, bump?: true}: an
                                application-only change (the candidate does not change)
  POST /_admin/keys             {key, permissions?: [...], deny?: ["/job.list", ...],
                                confidential?: true, title?} adds or replaces a key
  POST /_admin/jobs             {title, confidential?: false, status?: "Open"} -> job
  POST /_admin/expire-sync-tokens {}          every token issued so far expires
  POST /_admin/mid-listing      {path: "/candidate.list", after_pages: N, actions: [{canon:
                                "edit"|"stage"|"status"|"delete"|"anonymize"|"add"|"merge",
                                body: {...}}, ...]}: once N more pages of PATH have been
                                served, the actions run just before the next page is built
                                (an edit landing mid-listing)
  GET  /_admin/conformance      the conformance failures; POST /_admin/conformance/reset
  GET  /_admin/history          deletes and merges, as the webhooks would report them
GET /_admin/state dumps the whole world exactly (settings, limits, keys, clock, jobs,
candidates and applications with their ids, stamps and change counters, sync tokens, history;
plus "people", the canonical view, for reading); POST /_admin/state loads such a dump back
(issued sync tokens stay valid), or resets the world and loads a hand-written object with any
of settings, limits, keys, clock_offset_ms, jobs ({title, confidential?, status?}) and
people (canonical P, ids kept when given).

CLI (besides common.py's): --api-key KEY (default ashby-test-key, all permissions and the
confidential one), --sync-token-lifetime S, --limit-per-window N, --window-seconds S.
"""

import base64
import collections
import json
import os
import random
import re
import secrets
import sys
import threading
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common  # noqa: E402
from common import HttpError, StatefulFake, admin_route, iso_ms, route  # noqa: E402

SCHEMAS_PATH = os.path.join(HERE, "ashby_schemas.json")
NS = uuid.UUID("6f1e0c3a-8d54-4b8e-9a77-2c1d5e0f3b10")  # reference data ids (uuid5)
MAX_LIMIT = 100
PERMISSIONS = ("candidatesRead", "candidatesWrite", "jobsRead", "apiKeysRead")
DEFAULT_KEY = "ashby-test-key"

OPS = {  # path -> operationId in ashby_schemas.json
    "/apiKey.info": "apiKeyInfo",
    "/candidate.list": "candidateList",
    "/candidate.info": "candidateInfo",
    "/application.list": "applicationList",
    "/application.info": "applicationInfo",
    "/job.list": "jobList",
}

STAGES = (("Application Review", "PreInterviewScreen"), ("Recruiter Phone Screen", "Active"),
          ("Take Home Test", "Active"), ("Face to Face", "Active"), ("Offer", "Offer"),
          ("Hired", "Hired"), ("Archived", "Archived"))
PIPELINE = 5                 # the first five stages are the active pipeline
HIRED_STAGE, ARCHIVED_STAGE = 5, 6
SOURCES = (("Indeed", "Job Board"), ("Meetups", "Event"), ("LinkedIn (Prospecting)", "Sourced"),
           ("Referral", "Referral"), ("Careers Site", "Inbound"))
REASONS = (("Lacking skills", "RejectedByOrg"), ("Hired someone else", "RejectedByOrg"),
           ("Candidate withdrew", "RejectedByCandidate"), ("Position closed", "Other"))
REASON_FOR = {"rejected": 0, "withdrawn": 2, "archived": 3}
JOBS = (("DevOps Engineer", False, "Open"), ("Data Scientist", False, "Open"),
        ("Accounting Manager", False, "Closed"), ("Chief of Staff", True, "Open"))
CONFIDENTIAL_JOB = 3
USERS = (("Kate", "Austen"), ("Bob", "Smith"))
USERS_UPDATED = "2026-01-05T10:00:00.000Z"   # reference data: one fixed stamp
FIRST = ("Ada", "Grace", "Alan", "Linus", "Barbara", "Ken", "Radia", "Dennis", "Frances",
         "Edsger", "Margaret", "Donald", "Katherine", "John", "Hedy", "Tim")
LAST = ("Lovelace", "Hopper", "Turing", "Torvalds", "Liskov", "Thompson", "Perlman", "Ritchie",
        "Allen", "Dijkstra", "Hamilton", "Knuth", "Johnson", "Backus", "Lamarr", "Berners-Lee")
COMPANIES = ("Initech", "Globex", "Hooli", "Umbrella", "Stark Industries", "Wayne Enterprises",
             "Acme", "Tyrell", None)
TITLES = ("Engineer", "Product Manager", "Designer", "Data Scientist", "Account Executive",
          "Recruiter", None)
ANON_NAME = "Anonymized Candidate"
CANON_STATUS = ("active", "rejected", "hired", "withdrawn", "archived")

DEFAULT_SETTINGS = {
    "sync_token_lifetime_s": 7 * 86400,
    "expired_token_code": "sync_token_expired",
    "invalid_token_code": "invalid_sync_token",
    "incremental_max_pages": 0,
    "unknown_properties": "record",
    "retry_after": "seconds",
    "partner_scope": False,
}
DEFAULT_LIMITS = {"limit_per_window": 0, "window_s": 10}

_tl = threading.local()  # per request thread: ids of this request's conformance records


def rid(kind, name):
    return str(uuid.uuid5(NS, "%s:%s" % (kind, name)))


# ---------------------------------------------------------------------------------------------
# Schema validation (the subset of JSON Schema that ashby_schemas.json uses)

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{12}$")
ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def json_type(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def is_type(v, t):
    jt = json_type(v)
    if t == "number":
        return jt in ("integer", "number")
    if t == "integer":
        return jt == "integer" or (jt == "number" and v.is_integer())
    return jt == t


class Schemas:
    def __init__(self, path=SCHEMAS_PATH):
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        self.ops = doc["operations"]
        self.schemas = doc["schemas"]
        self.source = doc.get("source", {})

    def resolve(self, s):
        while isinstance(s, dict) and "$ref" in s:
            s = self.schemas[s["$ref"]]
        return s

    def validate(self, schema, value, where="$", errors=None, unknown=None):
        """Appends violations to errors and, to unknown, the paths of object properties that a
        schema with properties (and no additionalProperties) does not name. -> errors."""
        errors = [] if errors is None else errors
        unknown = [] if unknown is None else unknown
        s = self.resolve(schema)
        if not isinstance(s, dict):
            return errors
        known = set()
        self._check(s, value, where, errors, unknown, known)
        if isinstance(value, dict) and self._has_props(s):
            for k in value:
                if k not in known:
                    unknown.append("%s.%s" % (where, k))
        return errors

    def _has_props(self, s):
        s = self.resolve(s)
        if not isinstance(s, dict):
            return False
        if "properties" in s or "additionalProperties" in s:
            return True
        return any(self._has_props(x) for k in ("allOf", "oneOf", "anyOf")
                   for x in s.get(k, ()))

    def _known(self, s, known):
        """Property names an object schema (with its allOf parts) defines."""
        s = self.resolve(s)
        if not isinstance(s, dict):
            return
        known.update(s.get("properties", {}))
        if s.get("additionalProperties") not in (None, False):
            known.add(None)
        for x in s.get("allOf", ()):
            self._known(x, known)

    def _check(self, s, value, where, errors, unknown, known):
        s = self.resolve(s)
        for sub in s.get("allOf", ()):
            self._check(self.resolve(sub), value, where, errors, unknown, known)
        for key in ("anyOf", "oneOf"):
            if key in s:
                each = [self.validate(sub, value, where, [], []) for sub in s[key]]
                matches = [sub for sub, e in zip(s[key], each) if not e]
                if not matches or (key == "oneOf" and len(matches) > 1):
                    closest = min(each, key=len) if not matches else []
                    errors.append("%s: matches %d of the %s alternatives%s" % (
                        where, len(matches), key,
                        " (closest: %s)" % "; ".join(closest[:3]) if closest else ""))
                else:
                    # the alternative that matched validates the rest (nested unknowns)
                    self._check(self.resolve(matches[0]), value, where, [], unknown, known)
        t = s.get("type")
        if t is not None:
            types = t if isinstance(t, list) else [t]
            if s.get("nullable"):
                types = types + ["null"]
            if not any(is_type(value, x) for x in types):
                errors.append("%s: expected %s, got %s" % (where, "|".join(types),
                                                            json_type(value)))
                return
        if "enum" in s and value not in s["enum"]:
            errors.append("%s: %s is not one of %s" % (where, json.dumps(value),
                                                       ", ".join(map(str, s["enum"]))))
        if "const" in s and value != s["const"]:
            errors.append("%s: must be %s" % (where, json.dumps(s["const"])))
        fmt = s.get("format")
        if isinstance(value, str):
            if fmt == "uuid" and not UUID_RE.match(value):
                errors.append("%s: not a UUID" % where)
            if fmt == "date-time" and not ISO_RE.match(value):
                errors.append("%s: not an ISO-8601 date-time" % where)
            if "maxLength" in s and len(value) > s["maxLength"]:
                errors.append("%s: longer than %d" % (where, s["maxLength"]))
            if "minLength" in s and len(value) < s["minLength"]:
                errors.append("%s: shorter than %d" % (where, s["minLength"]))
        if is_type(value, "number"):
            if fmt == "int64" and not (is_type(value, "integer") and
                                       -2 ** 63 <= value < 2 ** 63):
                errors.append("%s: not an int64" % where)
            if "minimum" in s and value < s["minimum"]:
                errors.append("%s: less than %s" % (where, s["minimum"]))
            if "maximum" in s and value > s["maximum"]:
                errors.append("%s: greater than %s" % (where, s["maximum"]))
        if isinstance(value, list) and "items" in s:
            for i, v in enumerate(value):
                self.validate(s["items"], v, "%s[%d]" % (where, i), errors, unknown)
        if isinstance(value, dict):
            self._known(s, known)
            for r in s.get("required", ()):
                if r not in value:
                    errors.append("%s: required property %s is missing" % (where, r))
            props = s.get("properties", {})
            for k, v in value.items():
                if k in props:
                    self.validate(props[k], v, "%s.%s" % (where, k), errors, unknown)
                elif s.get("additionalProperties") is False:
                    errors.append("%s.%s: property not allowed" % (where, k))


# ---------------------------------------------------------------------------------------------
# The fake

def b62(n):
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    return "".join(secrets.choice(alphabet) for _ in range(n))


class Listing:
    """One listing in progress (what a cursor stands for)."""
    __slots__ = ("ep", "key", "filt", "s0", "last", "page", "token")

    def __init__(self, ep, key, filt, s0, token):
        self.ep, self.key, self.filt, self.s0, self.token = ep, key, filt, s0, token
        self.last = -1
        self.page = 0


class AshbyFake(StatefulFake):
    """Ashby public API fake (candidates, applications, jobs; sync tokens; per-key access)."""

    default_settings = DEFAULT_SETTINGS
    default_limits = DEFAULT_LIMITS
    clock_now_ms = True

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.schemas = Schemas()
        self.cli_key = DEFAULT_KEY
        self.cli = {}
        self.conformance = []
        self.reset_world()

    # --- world -------------------------------------------------------------------------------

    def reset_world(self):
        super().reset_world()
        self.settings.update(self.cli.get("settings", {}))
        self.limits.update(self.cli.get("limits", {}))
        self.keys = {}
        self.put_key({"key": self.cli_key})
        self.seq = 0                  # change counter (sync tokens stand for a value of it)
        self.gen_serial = 0           # generated people so far (unique emails)
        self.next_n = 0               # ids made by new_uuid so far
        self.jobs = {}                # id -> {title, confidential, status, plan, stages, ...}
        self.job_order = []
        now = self.now_ms()
        for i, (title, conf, status) in enumerate(JOBS):
            self.add_job({"title": title, "confidential": conf, "status": status}, now)
        self.default_job = self.job_order[0]
        self.sources = [{"id": rid("source", t), "title": t, "isArchived": False,
                         "sourceType": {"id": rid("sourcetype", st), "title": st,
                                        "isArchived": False}} for t, st in SOURCES]
        self.source_by_title = {s["title"]: i for i, s in enumerate(self.sources)}
        self.reasons = [{"id": rid("reason", t), "text": t, "reasonType": rt, "isArchived": False}
                        for t, rt in REASONS]
        self.users = [{"id": rid("user", f + l), "firstName": f, "lastName": l,
                       "email": "%s.%s@company.example" % (f.lower(), l.lower()),
                       "globalRole": "Organization Admin", "isEnabled": True,
                       "updatedAt": USERS_UPDATED} for f, l in USERS]
        # candidates and applications: content (a dict, or a tuple for generated ones never
        # edited), meta [pos, created ms, updated ms, change seq], listing order by pos
        self.cands, self.cmeta, self.corder = {}, {}, []
        self.capps = {}               # candidate id -> [application id, ...]
        self.apps, self.ameta, self.aorder = {}, {}, []
        self.tokens = {}              # sync token -> {ep, seq, issued, expired}
        self.listings = collections.OrderedDict()  # cursor -> Listing
        self.mid = []                 # scheduled mid-listing actions
        self.history = []
        self.rl = {}                  # key -> (window, used)

    @staticmethod
    def new_stats():
        return {"requests": 0, "by_path": {}, "by_status": {}, "by_code": {}, "pages": 0,
                "records": 0, "full_listings": 0, "delta_listings": 0, "sync_tokens_issued": 0,
                "cursors_issued": 0, "429": 0, "401": 0, "403": 0,
                # per endpoint ("candidate", "application"): the change counter the sync
                # token of the latest incremental listing stood for (which token a client
                # kept: a test compares it with the counter before a failed run)
                "delta_since": {}}

    def stats_extra(self):
        return {"conformance_failures": len(self.conformance)}

    def bump(self):
        self.seq += 1
        return self.seq

    def new_uuid(self, kind):
        """A new id, the same in every world built by the same steps (the scenario suite
        rebuilds a world and expects the same ids)."""
        self.next_n += 1
        return rid(kind, "n%d" % self.next_n)

    # --- CLI ---------------------------------------------------------------------------------

    @classmethod
    def add_arguments(cls, p):
        g = p.add_argument_group("ashby")
        g.add_argument("--api-key", default=DEFAULT_KEY,
                       help="the API key with every permission (%(default)s)")
        g.add_argument("--sync-token-lifetime", type=int,
                       default=DEFAULT_SETTINGS["sync_token_lifetime_s"],
                       help="seconds a sync token stays valid (%(default)s)")
        g.add_argument("--limit-per-window", type=int, default=DEFAULT_LIMITS["limit_per_window"],
                       help="requests per window and key (%(default)s; 0: no limit)")
        g.add_argument("--window-seconds", type=int, default=DEFAULT_LIMITS["window_s"])

    def configure(self, a):
        with self.lock:
            self.cli_key = a.api_key
            self.cli = {"settings": {"sync_token_lifetime_s": a.sync_token_lifetime},
                        "limits": {"limit_per_window": a.limit_per_window,
                                   "window_s": a.window_seconds}}
            self.reset_world()

    def check_limit(self, name, value):
        if not isinstance(value, int) or value < (1 if name == "window_s" else 0):
            raise ValueError("%s must be a whole number" % name)

    def reset_counters(self):
        self.rl = {}

    # --- keys --------------------------------------------------------------------------------

    def put_key(self, body):
        common.check_known("key fields", ("key", "permissions", "deny", "confidential", "title"),
                           body)
        key = str(body["key"])
        if not key or ":" in key:
            raise ValueError("a key is a non-empty string without ':'")
        perms = list(body.get("permissions", PERMISSIONS))
        for p in perms:
            if p not in PERMISSIONS:
                raise ValueError("permission %r is not one of %s" % (p, ", ".join(PERMISSIONS)))
        deny = list(body.get("deny", []))
        for d in deny:
            if d not in OPS:
                raise ValueError("deny: %r is not a served path" % d)
        self.keys[key] = {"key": key, "permissions": perms, "deny": deny,
                          "confidential": bool(body.get("confidential", True)),
                          "title": str(body.get("title", "atsrecon test key"))}
        return dict(self.keys[key], key="<redacted>")

    # --- reference data ----------------------------------------------------------------------

    def add_job(self, body, now):
        title = str(body["title"])
        jid = rid("job", title) if rid("job", title) not in self.jobs else self.new_uuid("job")
        plan = rid("plan", jid)
        stages = [{"id": rid("stage", "%s:%s" % (jid, name)), "title": name, "type": typ,
                   "orderInInterviewPlan": i, "interviewPlanId": plan}
                  for i, (name, typ) in enumerate(STAGES)]
        status = body.get("status", "Open")
        if status not in ("Draft", "Open", "Closed", "Archived"):
            raise ValueError("job status must be Draft, Open, Closed or Archived")
        self.jobs[jid] = {"title": title, "confidential": bool(body.get("confidential", False)),
                          "status": status, "plan": plan, "stages": stages,
                          "stage_by_title": {s["title"]: i for i, s in enumerate(stages)},
                          "created": now, "updated": now, "seq": self.bump(),
                          "pos": len(self.job_order)}
        self.job_order.append(jid)
        return jid

    def job_by_title(self, title):
        for jid in self.job_order:
            if self.jobs[jid]["title"] == title:
                return jid
        raise ValueError("no job titled %r" % title)

    def render_job(self, jid):
        j = self.jobs[jid]
        return {"id": jid, "title": j["title"], "confidential": j["confidential"],
                "status": j["status"], "employmentType": "FullTime",
                "locationId": rid("location", "HQ"), "departmentId": rid("department", "Eng"),
                "defaultInterviewPlanId": j["plan"], "interviewPlanIds": [j["plan"]],
                "customFields": [], "jobPostingIds": [], "hiringTeam": [],
                "createdAt": iso_ms(j["created"]), "updatedAt": iso_ms(j["updated"]),
                "openedAt": iso_ms(j["created"])}

    # --- candidates --------------------------------------------------------------------------

    def cand_content(self, cid):
        """The content dict of a candidate (a generated one is built, not stored)."""
        rec = self.cands[cid]
        if isinstance(rec, dict):
            return rec
        serial, fi, li, ci, ti, src, pfmt, efmt = rec
        first, last = FIRST[fi], LAST[li]
        email = "%s.%s.%d@example.com" % (first.lower(), last.lower(), serial)
        if efmt:
            email = "%s.%s.%d@Example.COM" % (first, last, serial)
        phone = "+1415555%04d" % (serial % 10000)
        if pfmt:
            phone = "(415) 555-%04d" % (serial % 10000)
        return {"name": "%s %s" % (first, last), "emails": [[email, "Personal"]],
                "phones": [[phone, "Personal"]],
                "position": TITLES[ti], "company": COMPANIES[ci], "school": None,
                "source": src, "credited": None, "tags": [], "custom": [], "anonymized": False,
                "timezone": "America/Los_Angeles"}

    def cand_dict(self, cid):
        rec = self.cands[cid]
        if not isinstance(rec, dict):
            rec = json.loads(json.dumps(self.cand_content(cid)))
            self.cands[cid] = rec
        return rec

    def new_candidate(self, cid, content, now):
        if cid in self.cands:
            raise ValueError("candidate %s exists" % cid)
        self.cands[cid] = content
        self.cmeta[cid] = [len(self.corder), now, now, self.bump()]
        self.corder.append(cid)
        self.capps[cid] = []

    def touch_cand(self, cid, stamp=None):
        m = self.cmeta[cid]
        m[2] = stamp if stamp is not None else self.write_stamp()
        m[3] = self.bump()

    def remove_cand(self, cid):
        m = self.cmeta.pop(cid)
        self.corder[m[0]] = None
        del self.cands[cid]
        for aid in self.capps.pop(cid, []):
            am = self.ameta.pop(aid)
            self.aorder[am[0]] = None
            del self.apps[aid]

    @staticmethod
    def contact(value, typ, primary):
        return {"value": value, "type": typ, "isPrimary": primary}

    def render_cand(self, cid):
        c = self.cand_content(cid)
        m = self.cmeta[cid]
        out = {"id": cid, "createdAt": iso_ms(m[1]), "updatedAt": iso_ms(m[2]),
               "name": c["name"]}
        emails = [self.contact(v, t, i == 0) for i, (v, t) in enumerate(c["emails"])]
        phones = [self.contact(v, t, i == 0) for i, (v, t) in enumerate(c["phones"])]
        if emails:
            out["primaryEmailAddress"] = emails[0]
        out["emailAddresses"] = emails
        if phones:
            out["primaryPhoneNumber"] = phones[0]
        out["phoneNumbers"] = phones
        out["socialLinks"] = []
        out["tags"] = [{"id": rid("tag", t), "title": t, "isArchived": False}
                       for t in c["tags"]]
        for k in ("position", "company", "school"):
            if c.get(k) is not None:
                out[k] = c[k]
        out["applicationIds"] = list(self.capps.get(cid, []))
        out["fileHandles"] = []
        out["customFields"] = [dict(f) for f in c["custom"]]
        out["profileUrl"] = "https://app.ashbyhq.com/candidate-searches/new/right-side/" \
                            "candidates/%s" % cid
        if c["source"] is not None:
            out["source"] = json.loads(json.dumps(self.sources[c["source"]]))
        if c["credited"] is not None:
            out["creditedToUser"] = dict(self.users[c["credited"]])
        if c.get("timezone"):
            out["timezone"] = c["timezone"]
        out["fraudStatus"] = None
        return out

    # --- applications ------------------------------------------------------------------------

    def app_content(self, aid):
        rec = self.apps[aid]
        if isinstance(rec, dict):
            return rec
        cid, ji, si, st, ri, src = rec
        jid = self.job_order[ji]
        status = ("Active", "Archived", "Hired")[st]
        stage = si if st == 0 else (ARCHIVED_STAGE if st == 1 else HIRED_STAGE)
        return {"cand": cid, "job": jid, "stage": stage, "last_stage": si, "status": status,
                "reason": ri if st == 1 else None, "archived_at": None, "source": src,
                "credited": 0 if SOURCES[src][1] == "Referral" else None}

    def app_dict(self, aid):
        rec = self.apps[aid]
        if not isinstance(rec, dict):
            rec = dict(self.app_content(aid))
            rec["archived_at"] = self.ameta[aid][2] if rec["status"] == "Archived" else None
            self.apps[aid] = rec
        return rec

    def new_application(self, aid, content, now):
        if aid in self.apps:
            raise ValueError("application %s exists" % aid)
        self.apps[aid] = content
        self.ameta[aid] = [len(self.aorder), now, now, self.bump()]
        self.aorder.append(aid)
        self.capps.setdefault(content["cand"] if isinstance(content, dict) else content[0],
                              []).append(aid)

    def touch_app(self, aid, stamp=None):
        m = self.ameta[aid]
        m[2] = stamp if stamp is not None else self.write_stamp()
        m[3] = self.bump()

    def render_app(self, aid):
        a = self.app_content(aid)
        m = self.ameta[aid]
        job = self.jobs[a["job"]]
        c = self.cand_content(a["cand"])
        cand = {"id": a["cand"], "name": c["name"]}
        if c["emails"]:
            cand["primaryEmailAddress"] = self.contact(c["emails"][0][0], c["emails"][0][1],
                                                       True)
        if c["phones"]:
            cand["primaryPhoneNumber"] = self.contact(c["phones"][0][0], c["phones"][0][1],
                                                      True)
        out = {"id": aid, "createdAt": iso_ms(m[1]), "updatedAt": iso_ms(m[2]),
               "status": a["status"], "customFields": [], "candidate": cand,
               "currentInterviewStage": dict(job["stages"][a["stage"]])}
        if a["source"] is not None:
            out["source"] = json.loads(json.dumps(self.sources[a["source"]]))
        if a["status"] == "Archived" and a["reason"] is not None:
            out["archiveReason"] = dict(self.reasons[a["reason"]], customFields=[])
            out["archivedAt"] = iso_ms(a["archived_at"] if a.get("archived_at") else m[2])
        out["job"] = {"id": a["job"], "title": job["title"],
                      "locationId": rid("location", "HQ"),
                      "departmentId": rid("department", "Eng")}
        if a["credited"] is not None:
            out["creditedToUser"] = dict(self.users[a["credited"]])
        out["hiringTeam"] = []
        return out

    # --- visibility --------------------------------------------------------------------------

    def cand_confidential(self, cid):
        for aid in self.capps.get(cid, ()):
            if self.jobs[self.app_content(aid)["job"]]["confidential"]:
                return True
        return False

    def can_see_cand(self, key, cid):
        return key["confidential"] or not self.cand_confidential(cid)

    def can_see_app(self, key, aid):
        return key["confidential"] or not self.cand_confidential(self.app_content(aid)["cand"])

    # --- gateway -----------------------------------------------------------------------------

    @staticmethod
    def envelope(code, message):
        return {"success": False, "errors": [code],
                "errorInfo": {"code": code, "message": message,
                              "requestId": "01" + b62(24).upper()}}

    def fail(self, code, message):
        """An API error: HTTP 200 with success false."""
        self.stats["by_code"][code] = self.stats["by_code"].get(code, 0) + 1
        raise HttpError(200, self.envelope(code, message))

    def record(self, req, kind, errors):
        rec = {"id": len(self.conformance) + 1, "ts": iso_ms(self.now_ms()),
               "path": req.raw_path, "kind": kind, "errors": list(errors)}
        self.conformance.append(rec)
        ids = getattr(_tl, "conf", None)
        if ids is None:
            ids = _tl.conf = []
        ids.append(rec["id"])
        common.note("conformance failure (%s) %s: %s", kind, req.raw_path, "; ".join(errors))

    def reject(self, req, kind, errors):
        self.record(req, kind, errors)
        self.fail("invalid_input", "; ".join(errors)[:1000])

    def authenticate(self, req):
        """-> (key record, None) or (None, (status, headers, body))."""
        auth = req.headers.get("Authorization") or ""
        if auth[:6].lower() != "basic ":
            return None, (401, {"WWW-Authenticate": 'Basic realm="Ashby API"'},
                          self.envelope("unauthenticated", "Missing API key (HTTP Basic)"))
        try:
            user, sep, _ = base64.b64decode(auth[6:].strip(), validate=True).decode(
                "utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            user, sep = "", ""
        if not sep or not user:
            return None, (401, {"WWW-Authenticate": 'Basic realm="Ashby API"'},
                          self.envelope("unauthenticated", "Malformed HTTP Basic credentials"))
        key = self.keys.get(user)
        if key is None:
            return None, (403, {}, self.envelope("invalid_api_key", "Invalid API key"))
        return key, None

    def throttle(self, key):
        limit = self.limits["limit_per_window"]
        if not limit:
            return None
        span = max(1, int(self.limits["window_s"])) * 1000
        now = self.now_ms()
        win = now // span
        w, used = self.rl.get(key["key"], (None, 0))
        if w != win:
            used = 0
        if used >= limit:
            self.stats["429"] += 1
            h = {}
            if self.settings["retry_after"] == "seconds":
                h["Retry-After"] = str(max(1, -(-((win + 1) * span - now) // 1000)))
            if self.settings["partner_scope"]:
                h["X-RateLimit-Scope"] = "integration-partner"
            return 429, h, self.envelope("rate_limit_exceeded", "Too many requests")
        self.rl[key["key"]] = (win, used + 1)
        return None

    def dispatch(self, req):
        path = req.path
        if path not in OPS:
            return 404, {}, self.envelope("not_found", "No endpoint %s" % req.raw_path[:200])
        if req.method != "POST":
            return 405, {"Allow": "POST"}, self.envelope(
                "method_not_allowed", "%s takes POST" % path)
        with self.lock:
            key, err = self.authenticate(req)
            if err is not None:
                self.stats[str(err[0])] += 1
                return err
            refused = self.throttle(key)
            if refused is not None:
                return refused
            req.key = key
        return super().dispatch(req)

    def log_request(self, entry, handler, body_bytes, status, fault, t0, tls, resp_bytes=0):
        ids = getattr(_tl, "conf", None)
        _tl.conf = None
        if ids:
            entry["conformance_failure"] = True
            entry["conformance_ids"] = ids
        with self.lock:
            st = self.stats
            st["requests"] += 1
            p = entry.get("path") or ""
            st["by_path"][p] = st["by_path"].get(p, 0) + 1
            k = str(status) if status is not None else "reset"
            st["by_status"][k] = st["by_status"].get(k, 0) + 1
        super().log_request(entry, handler, body_bytes, status, fault, t0, tls, resp_bytes)

    def request_body(self, req, op_id):
        """The validated JSON body of an RPC (invalid_input + a record on any violation)."""
        op = self.schemas.ops[op_id]
        # Several Accept field lines are one list (RFC 9110 5.3): http.c sends its default
        # "application/json" and the driver adds the versioned one.
        accept = ", ".join(req.headers.get_all("Accept") or [])
        if "application/json" not in accept or not re.search(r"version\s*=\s*1\b", accept):
            self.record(req, "header", ["Accept is %r, not application/json; version=1"
                                        % accept[:100]])
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if req.body and ctype != "application/json":
            self.reject(req, "content_type", ["Content-Type %r is not application/json"
                                              % ctype[:100]])
        if not req.body.strip():
            body = {}
            if op["request"] and op["request"]["required"]:
                self.reject(req, "json", ["the request body is required"])
        elif req.json is None:
            self.reject(req, "json", ["the body is not JSON: %s" % (req.json_error or "?")])
        else:
            body = req.json
        if not isinstance(body, dict):
            self.reject(req, "json", ["the body is not a JSON object"])
        perm = op.get("permission")
        key = req.key
        if (perm and perm not in key["permissions"]) or req.path in key["deny"]:
            self.fail("missing_endpoint_permission",
                      "This API key lacks the %s permission needed for %s"
                      % (perm or "?", req.path))
        if op["request"]:
            unknown = []
            errors = self.schemas.validate(op["request"]["schema"], body, "$", [], unknown)
            if errors:
                self.reject(req, "schema", errors)
            if unknown and self.settings["unknown_properties"] != "ignore":
                msgs = ["%s: not a property of %s" % (u, op_id) for u in unknown]
                if self.settings["unknown_properties"] == "reject":
                    self.reject(req, "unknown_property", msgs)
                self.record(req, "unknown_property", msgs)
        return body

    # --- lists -------------------------------------------------------------------------------

    def run_mid_listing(self, path):
        for m in list(self.mid):
            if m["path"] != path:
                continue
            if m["left"] > 0:
                m["left"] -= 1
                continue
            self.mid.remove(m)
            for act in m["actions"]:
                try:
                    getattr(self, "canon_" + act["canon"])(act.get("body") or {})
                except (HttpError, KeyError, TypeError, ValueError) as e:
                    common.note("mid-listing action %s failed: %r", act["canon"], e)

    def listing(self, req, op_id, ep):
        body = self.request_body(req, op_id)
        key = req.key
        if "limit" in body:
            lim = body["limit"]
            if not is_type(lim, "integer") or not 1 <= lim <= MAX_LIMIT:
                self.reject(req, "limit", ["limit %s is not a whole number from 1 to %d (the "
                                           "documented maximum)" % (json.dumps(lim), MAX_LIMIT)])
            limit = int(lim)
        else:
            limit = MAX_LIMIT
        self.run_mid_listing(req.path)
        if "cursor" in body:
            cur = self.listings.get(body["cursor"])
            if cur is None or cur.ep != ep or cur.key != key["key"]:
                self.fail("invalid_cursor", "The cursor is not valid for this listing")
            if "syncToken" in body and body["syncToken"] != cur.token:
                self.fail("invalid_input", "The syncToken differs from the listing's")
            lst = cur
        else:
            filt = {k: body[k] for k in ("createdAfter", "status", "jobId") if k in body}
            token = body.get("syncToken")
            if token is not None:
                t = self.tokens.get(token)
                if t is None or t["ep"] != ep:
                    self.fail(self.settings["invalid_token_code"], "Unknown sync token")
                if t["expired"] or self.now_ms() >= \
                        t["issued"] + self.settings["sync_token_lifetime_s"] * 1000:
                    self.fail(self.settings["expired_token_code"], "The sync token has expired")
                filt["since"] = t["seq"]
                self.stats["delta_listings"] += 1
                self.stats["delta_since"][ep] = t["seq"]
            else:
                self.stats["full_listings"] += 1
            lst = Listing(ep, key["key"], filt, self.seq, token)
        page_no = lst.page + 1
        if lst.token is not None and self.settings["incremental_max_pages"] and \
                page_no > self.settings["incremental_max_pages"]:
            self.fail("incremental_sync_too_large",
                      "The incremental sync is too large; sync in full without a syncToken")
        order, match, render = self.list_parts(ep, key, lst.filt)
        i = lst.last + 1
        page = []
        while i < len(order) and len(page) < limit:
            x = order[i]
            if x is not None and match(x):
                page.append(x)
            i += 1
        last = i - 1
        more = False
        while i < len(order):
            x = order[i]
            if x is not None and match(x):
                more = True
                break
            i += 1
        out = {"success": True, "results": [render(x) for x in page], "moreDataAvailable": more}
        self.stats["pages"] += 1
        self.stats["records"] += len(page)
        if more:
            nl = Listing(lst.ep, lst.key, lst.filt, lst.s0, lst.token)
            nl.last, nl.page = last, page_no
            cursor = b62(8)
            self.listings[cursor] = nl
            while len(self.listings) > 20000:
                self.listings.popitem(last=False)
            self.stats["cursors_issued"] += 1
            out["nextCursor"] = cursor
        else:
            tok = b62(9)
            self.tokens[tok] = {"ep": ep, "seq": lst.s0, "issued": self.now_ms(),
                                "expired": False}
            self.stats["sync_tokens_issued"] += 1
            out["syncToken"] = tok
        return 200, {}, out

    def list_parts(self, ep, key, filt):
        """-> (order list, match(id), render(id)) for a listing of ep."""
        since = filt.get("since")
        after = filt.get("createdAfter")
        if ep == "candidate":
            meta = self.cmeta

            def match(cid):
                m = meta[cid]
                return (since is None or m[3] > since) and (after is None or m[1] > after) and \
                    self.can_see_cand(key, cid)
            return self.corder, match, self.render_cand
        if ep == "application":
            meta = self.ameta
            status, job = filt.get("status"), filt.get("jobId")

            def match(aid):
                m = meta[aid]
                if (since is not None and m[3] <= since) or (after is not None and m[1] <= after):
                    return False
                if status is not None or job is not None:
                    a = self.app_content(aid)
                    if (status is not None and a["status"] != status) or \
                            (job is not None and a["job"] != job):
                        return False
                return self.can_see_app(key, aid)
            return self.aorder, match, self.render_app
        statuses = filt.get("status")

        def match_job(jid):
            j = self.jobs[jid]
            return (since is None or j["seq"] > since) and \
                (after is None or j["created"] > after) and \
                (statuses is None or j["status"] in statuses) and \
                (key["confidential"] or not j["confidential"])
        return self.job_order, match_job, self.render_job

    @route("POST", r"^/candidate\.list$")
    def candidate_list(self, req):
        return self.listing(req, "candidateList", "candidate")

    @route("POST", r"^/application\.list$")
    def application_list(self, req):
        return self.listing(req, "applicationList", "application")

    @route("POST", r"^/job\.list$")
    def job_list(self, req):
        return self.listing(req, "jobList", "job")

    @route("POST", r"^/candidate\.info$")
    def candidate_info(self, req):
        body = self.request_body(req, "candidateInfo")
        cid = body.get("id")
        if cid is None:  # by externalMappingId: nothing here carries one
            self.fail("candidate_not_found", "Candidate not found")
        if cid not in self.cands or not self.can_see_cand(req.key, cid):
            self.fail("candidate_not_found", "Candidate not found")
        self.stats["records"] += 1
        return 200, {}, {"success": True, "results": self.render_cand(cid)}

    @route("POST", r"^/application\.info$")
    def application_info(self, req):
        body = self.request_body(req, "applicationInfo")
        aid = body.get("applicationId")
        if aid is None or aid not in self.apps or not self.can_see_app(req.key, aid):
            self.fail("application_not_found", "Application not found")
        self.stats["records"] += 1
        return 200, {}, {"success": True, "results": self.render_app(aid)}

    @route("POST", r"^/apiKey\.info$")
    def api_key_info(self, req):
        self.request_body(req, "apiKeyInfo")
        k = req.key
        return 200, {}, {"success": True, "results": {
            "title": k["title"], "createdAt": iso_ms(self.now_ms() - 86400000),
            "scopes": list(k["permissions"]) + (["confidential"] if k["confidential"] else [])}}

    # --- canonical admin ---------------------------------------------------------------------

    def find_cand(self, cid):
        if not isinstance(cid, str) or cid not in self.cands:
            raise HttpError(404, {"error": "no candidate %r" % (cid,)})
        return cid

    def current_app(self, cid):
        """The driver's rule: active first, latest updatedAt, ties to the greatest id."""
        best = None
        for aid in self.capps.get(cid, ()):
            a = self.app_content(aid)
            k = (a["status"] in ("Active", "Lead"), self.ameta[aid][2], aid)
            if best is None or k > best[0]:
                best = (k, aid)
        return best[1] if best else None

    @staticmethod
    def split_name(name):
        parts = name.split()
        return (parts[0] if parts else ""), " ".join(parts[1:])

    def canon_status_of(self, a):
        if a["status"] in ("Active", "Lead"):
            return "active"
        if a["status"] == "Hired":
            return "hired"
        rt = self.reasons[a["reason"]]["reasonType"] if a["reason"] is not None else "Other"
        return {"RejectedByOrg": "rejected", "RejectedByCandidate": "withdrawn"}.get(rt,
                                                                                    "archived")

    def canon_person(self, cid):
        c = self.cand_content(cid)
        first, last = self.split_name(c["name"])
        p = {"id": cid, "first_name": first, "last_name": last,
             "emails": [e[0] for e in c["emails"]], "phones": [x[0] for x in c["phones"]],
             "title": c["position"], "company": c["company"], "stage": None, "status": None,
             "job": None, "source": self.sources[c["source"]]["title"]
             if c["source"] is not None else None,
             "anonymized": bool(c["anonymized"]), "private": self.cand_confidential(cid)}
        aid = self.current_app(cid)
        if aid is not None:
            a = self.app_content(aid)
            job = self.jobs[a["job"]]
            p.update(stage=job["stages"][a["stage"]]["title"], status=self.canon_status_of(a),
                     job=job["title"])
            if a["source"] is not None:
                p["source"] = self.sources[a["source"]]["title"]
        return p

    @staticmethod
    def str_list(v, what):
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise ValueError("%s must be a list of strings" % what)
        return list(v)

    def canon_add(self, body):
        common.check_known("person fields", ("id", "first_name", "last_name", "emails", "phones",
                                             "title", "company", "stage", "status", "job",
                                             "source", "anonymized", "private"), body)
        now = self.write_stamp()
        cid = str(body.get("id") or self.new_uuid("candidate"))
        if not UUID_RE.match(cid):
            raise ValueError("id must be a UUID")
        name = " ".join(x for x in (body.get("first_name") or "", body.get("last_name") or "")
                        if x).strip()
        src = body.get("source")
        si = self.source_by_title[src] if src is not None else None
        if src is not None and si is None:
            raise ValueError("no source %r" % src)
        content = {"name": name, "emails": [[e, "Personal"] for e in
                                            self.str_list(body.get("emails", []), "emails")],
                   "phones": [[x, "Personal"] for x in
                              self.str_list(body.get("phones", []), "phones")],
                   "position": body.get("title"), "company": body.get("company"),
                   "school": None, "source": si, "credited": None, "tags": [], "custom": [],
                   "anonymized": False, "timezone": None}
        if body.get("private"):
            jid = self.job_order[CONFIDENTIAL_JOB]
            if body.get("job") not in (None, self.jobs[jid]["title"]):
                raise ValueError("a private person's application is on the confidential job")
        else:
            jid = self.job_by_title(body["job"]) if body.get("job") else self.default_job
        title = body.get("stage") or STAGES[0][0]
        if title in (STAGES[HIRED_STAGE][0], STAGES[ARCHIVED_STAGE][0]) and \
                body.get("status") not in (None, "active"):
            title = STAGES[0][0]  # a terminal stage comes from the status (a dumped person)
        stage = self.jobs[jid]["stage_by_title"].get(title)
        if stage is None or stage >= PIPELINE:
            raise ValueError("stage must be one of %s" % ", ".join(s for s, _ in
                                                                   STAGES[:PIPELINE]))
        self.new_candidate(cid, content, now)
        aid = self.new_uuid("application")
        self.new_application(aid, {"cand": cid, "job": jid, "stage": stage, "last_stage": stage,
                                   "status": "Active", "reason": None, "archived_at": None,
                                   "source": si, "credited": 0 if src == "Referral" else None},
                             now)
        status = body.get("status") or "active"
        if status != "active":
            self.set_status(aid, status)
        if body.get("anonymized"):
            self.canon_anonymize({"id": cid})
        return {"id": cid}

    def canon_edit(self, body):
        common.check_known("edit fields", ("id", "first_name", "last_name", "title", "company",
                                           "emails", "phones"), body)
        cid = self.find_cand(body["id"])
        c = self.cand_dict(cid)
        if "first_name" in body or "last_name" in body:
            first, last = self.split_name(c["name"])
            first = body.get("first_name", first) or ""
            last = body.get("last_name", last) or ""
            c["name"] = " ".join(x for x in (first, last) if x)
        if "title" in body:
            c["position"] = body["title"]
        if "company" in body:
            c["company"] = body["company"]
        if "emails" in body:
            c["emails"] = [[e, "Personal"] for e in self.str_list(body["emails"], "emails")]
        if "phones" in body:
            c["phones"] = [[x, "Personal"] for x in self.str_list(body["phones"], "phones")]
        self.touch_cand(cid)
        return {"ok": True}

    def current_or_fail(self, cid):
        aid = self.current_app(cid)
        if aid is None:
            raise ValueError("candidate %s has no application" % cid)
        return aid

    def set_stage(self, aid, title):
        a = self.app_dict(aid)
        st = self.jobs[a["job"]]["stage_by_title"].get(title)
        if st is None or st >= PIPELINE:
            raise ValueError("stage must be one of %s" % ", ".join(s for s, _ in
                                                                   STAGES[:PIPELINE]))
        a.update(stage=st, last_stage=st, status="Active", reason=None, archived_at=None)
        self.touch_app(aid)

    def set_status(self, aid, status):
        a = self.app_dict(aid)
        if status == "active":
            a.update(status="Active", stage=a["last_stage"], reason=None, archived_at=None)
        elif status == "hired":
            a.update(status="Hired", stage=HIRED_STAGE, reason=None, archived_at=None)
        elif status in REASON_FOR:
            stamp = self.now_ms()
            a.update(status="Archived", stage=ARCHIVED_STAGE, reason=REASON_FOR[status],
                     archived_at=stamp)
        else:
            raise ValueError("status must be one of %s" % ", ".join(CANON_STATUS))
        self.touch_app(aid)

    def canon_stage(self, body):
        cid = self.find_cand(body["id"])
        self.set_stage(self.current_or_fail(cid), str(body["stage"]))
        return {"ok": True}

    def canon_status(self, body):
        cid = self.find_cand(body["id"])
        self.set_status(self.current_or_fail(cid), str(body["status"]))
        return {"ok": True}

    def canon_delete(self, body):
        cid = self.find_cand(body["id"])
        apps = list(self.capps.get(cid, []))
        self.remove_cand(cid)
        self.history.append({"action": "candidateDelete", "at": iso_ms(self.now_ms()),
                             "candidate": {"id": cid}, "deletedApplicationIds": apps})
        return {"ok": True}

    def canon_anonymize(self, body):
        cid = self.find_cand(body["id"])
        for aid in self.capps.get(cid, []):
            if self.app_content(aid)["status"] in ("Active", "Lead"):
                self.set_status(aid, "archived")
        c = self.cand_dict(cid)
        c.update(name=ANON_NAME, emails=[], phones=[], position=None, company=None,
                 school=None, tags=[], custom=[], anonymized=True, timezone=None)
        self.touch_cand(cid)
        return {"ok": True}

    def canon_merge(self, body):
        src = self.find_cand(body["from"])
        dst = self.find_cand(body["into"])
        if src == dst:
            raise ValueError("from and into are the same candidate")
        s, d = self.cand_content(src), self.cand_dict(dst)
        for k in ("emails", "phones"):
            seen = {v.strip().lower() for v, _ in d[k]}
            for v, t in s[k]:
                if v.strip().lower() not in seen:
                    seen.add(v.strip().lower())
                    d[k].append([v, t])
        moved = list(self.capps.get(src, []))
        stamp = self.write_stamp()
        for aid in moved:
            self.app_dict(aid)["cand"] = dst
            self.touch_app(aid, stamp)
        self.capps[dst].extend(moved)
        self.capps[src] = []
        self.remove_cand(src)
        self.touch_cand(dst, stamp)
        self.history.append({"action": "candidateMerge", "at": iso_ms(stamp),
                             "deletedCandidate": {"id": src}, "mergedCandidate": {"id": dst},
                             "movedApplicationIds": moved})
        return {"ok": True}

    def canon_generate(self, body):
        n = int(body.get("people", 0))
        k = int(body.get("apps_per_person", 1))
        if not 0 <= n <= 2000000 or not 0 <= k <= 10:
            raise ValueError("people 0..2000000, apps_per_person 0..10")
        rng = random.Random(body.get("seed", 1))
        rand = rng.random
        now = self.now_ms()
        span = 30 * 86400 * 1000
        open_jobs = [i for i, jid in enumerate(self.job_order)
                     if not self.jobs[jid]["confidential"]]
        ids = []
        for i in range(n):
            cid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            if cid in self.cands:
                raise ValueError("generated id %s exists (generate again with another seed)"
                                 % cid)
            serial = self.gen_serial
            self.gen_serial += 1
            created = now - span + span * i // max(n, 1)
            rec = (serial, int(rand() * len(FIRST)), int(rand() * len(LAST)),
                   int(rand() * len(COMPANIES)), int(rand() * len(TITLES)),
                   int(rand() * len(SOURCES)), serial % 5 == 3, serial % 7 == 5)
            self.cands[cid] = rec
            self.seq += 1
            self.cmeta[cid] = [len(self.corder), created, created + int(rand() * (now - created)),
                               self.seq]
            self.corder.append(cid)
            mine = self.capps[cid] = []
            for _ in range(k):
                aid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                r = rand()
                st = 0 if r < 0.7 else 1 if r < 0.9 else 2
                self.apps[aid] = (cid, open_jobs[int(rand() * len(open_jobs))],
                                  int(rand() * PIPELINE), st, int(rand() * 2), rec[5])
                a_created = created + int(rand() * (now - created))
                self.seq += 1
                self.ameta[aid] = [len(self.aorder), a_created,
                                   a_created + int(rand() * (now - a_created)), self.seq]
                self.aorder.append(aid)
                mine.append(aid)
            ids.append(cid)
        self.last_write_ms = max(self.last_write_ms, now)
        return {"ids": ids}

    @admin_route("POST", "/_admin/canon/generate")
    def admin_canon_generate(self, req, body):
        return self.canon_generate(body)

    @admin_route("GET", "/_admin/canon/people")
    def admin_canon_people(self, req, body):
        people = [self.canon_person(c) for c in self.corder if c is not None]
        if req.arg("applied_at"):   # ?applied_at=1: the current application's createdAt
            for p in people:
                aid = self.current_app(p["id"])
                p["applied_at"] = iso_ms(self.ameta[aid][1]) if aid is not None else None
        return {"people": people}

    @admin_route("POST", "/_admin/canon/add")
    def admin_canon_add(self, req, body):
        if "id" in body:
            raise ValueError("canon/add takes a person without id")
        return self.canon_add(body)

    @admin_route("POST", "/_admin/canon/edit")
    def admin_canon_edit(self, req, body):
        return self.canon_edit(body)

    @admin_route("POST", "/_admin/canon/stage")
    def admin_canon_stage(self, req, body):
        return self.canon_stage(body)

    @admin_route("POST", "/_admin/canon/status")
    def admin_canon_status(self, req, body):
        return self.canon_status(body)

    @admin_route("POST", "/_admin/canon/delete")
    def admin_canon_delete(self, req, body):
        return self.canon_delete(body)

    @admin_route("POST", "/_admin/canon/anonymize")
    def admin_canon_anonymize(self, req, body):
        return self.canon_anonymize(body)

    @admin_route("POST", "/_admin/canon/merge")
    def admin_canon_merge(self, req, body):
        return self.canon_merge(body)

    # --- Ashby-specific admin ----------------------------------------------------------------

    @admin_route("GET", "/_admin/summary")
    def admin_summary(self, req, body):
        return {"candidates": len(self.cands), "applications": len(self.apps),
                "jobs": len(self.jobs), "seq": self.seq, "sync_tokens": len(self.tokens),
                "open_listings": len(self.listings), "now": iso_ms(self.now_ms())}

    @admin_route("GET", "/_admin/candidate")
    def admin_candidate(self, req, body):
        cid = self.find_cand(req.arg("id") or body.get("id"))
        return {"candidate": self.render_cand(cid),
                "applications": [self.render_app(a) for a in self.capps.get(cid, [])]}

    @admin_route("POST", "/_admin/edit-application")
    def admin_edit_application(self, req, body):
        common.check_known("edit-application fields", ("id", "stage", "status", "job", "source"),
                           body)
        aid = body["id"]
        if aid not in self.apps:
            raise HttpError(404, {"error": "no application %r" % (aid,)})
        if "job" in body:
            a = self.app_dict(aid)
            a["job"] = self.job_by_title(body["job"])
        if "source" in body:
            a = self.app_dict(aid)
            a["source"] = self.source_by_title[body["source"]]
        if "stage" in body:
            self.set_stage(aid, body["stage"])
        if "status" in body:
            self.set_status(aid, body["status"])
        self.touch_app(aid)
        return self.render_app(aid)

    @admin_route("POST", "/_admin/keys")
    def admin_keys(self, req, body):
        return self.put_key(body)

    @admin_route("POST", "/_admin/jobs")
    def admin_jobs(self, req, body):
        common.check_known("job fields", ("title", "confidential", "status"), body)
        return self.render_job(self.add_job(body, self.write_stamp()))

    @admin_route("POST", "/_admin/expire-sync-tokens")
    def admin_expire_sync_tokens(self, req, body):
        for t in self.tokens.values():
            t["expired"] = True
        return {"ok": True, "expired": len(self.tokens)}

    @admin_route("POST", "/_admin/mid-listing")
    def admin_mid_listing(self, req, body):
        common.check_known("mid-listing fields", ("path", "after_pages", "actions"), body)
        if body["path"] not in OPS:
            raise ValueError("path must be one of %s" % ", ".join(OPS))
        acts = body.get("actions") or []
        for a in acts:
            if not isinstance(a, dict) or a.get("canon") not in (
                    "edit", "stage", "status", "delete", "anonymize", "add", "merge"):
                raise ValueError("each action is {canon: edit|stage|status|delete|anonymize|"
                                 "add|merge, body: {...}}")
        self.mid.append({"path": body["path"], "left": int(body.get("after_pages", 1)),
                         "actions": acts})
        return {"ok": True, "scheduled": len(self.mid)}

    @admin_route("GET", "/_admin/conformance")
    def admin_conformance(self, req, body):
        return {"failures": list(self.conformance)}

    @admin_route("POST", "/_admin/conformance/reset")
    def admin_conformance_reset(self, req, body):
        self.conformance = []
        return {"ok": True}

    @admin_route("GET", "/_admin/history")
    def admin_history(self, req, body):
        return {"history": list(self.history)}

    # --- state -------------------------------------------------------------------------------

    def dump_state(self):
        """The whole world, exactly (ids, stamps, change counters, sync tokens): loading it
        back gives the same answers and keeps issued tokens valid. "people" is the canonical
        view, for reading; load_state ignores it when "candidates" is there."""
        cands, apps = [], []
        for cid in self.corder:
            if cid is None:
                continue
            m = self.cmeta[cid]
            cands.append({"id": cid, "pos": m[0], "created": m[1], "updated": m[2],
                          "seq": m[3], "apps": list(self.capps.get(cid, [])),
                          "content": json.loads(json.dumps(self.cand_content(cid)))})
        for aid in self.aorder:
            if aid is None:
                continue
            m = self.ameta[aid]
            a = dict(self.app_content(aid))
            if a["status"] == "Archived" and a.get("archived_at") is None:
                a["archived_at"] = m[2]
            apps.append({"id": aid, "pos": m[0], "created": m[1], "updated": m[2],
                         "seq": m[3], "content": a})
        jobs = [{"id": j, "title": self.jobs[j]["title"],
                 "confidential": self.jobs[j]["confidential"], "status": self.jobs[j]["status"],
                 "created": self.jobs[j]["created"], "updated": self.jobs[j]["updated"],
                 "seq": self.jobs[j]["seq"]} for j in self.job_order]
        return {"settings": dict(self.settings), "limits": dict(self.limits),
                "clock_offset_ms": self.clock_offset_ms,
                "keys": [dict(k) for k in self.keys.values()],
                "seq": self.seq, "gen_serial": self.gen_serial, "next_n": self.next_n,
                "last_write_ms": self.last_write_ms, "jobs": jobs,
                "candidates": cands, "applications": apps,
                "tokens": json.loads(json.dumps(self.tokens)),
                "history": json.loads(json.dumps(self.history)),
                "people": [self.canon_person(c) for c in self.corder if c is not None]}

    def load_state(self, obj):
        """A dump_state object, or a hand-written one: any of settings, limits,
        clock_offset_ms, keys, jobs ({title, confidential?, status?}, added to the default
        ones) and people (canonical persons, added as canon/add does)."""
        if not isinstance(obj, dict):
            raise HttpError(400, {"error": "state must be a JSON object"})
        common.check_known("state sections", (
            "settings", "limits", "clock_offset_ms", "keys", "seq", "gen_serial", "next_n",
            "last_write_ms", "jobs", "candidates", "applications", "tokens", "history",
            "people"), obj)
        self.reset_world()
        for k, target in (("settings", self.settings), ("limits", self.limits)):
            if k in obj:
                common.check_known(k, target, obj[k])
                target.update(obj[k])
        self.clock_offset_ms = int(obj.get("clock_offset_ms", 0))
        if "keys" in obj:
            self.keys = {}
            for k in obj["keys"]:
                self.put_key(k)
        raw = "candidates" in obj or "applications" in obj
        if raw:
            self.load_raw(obj)
        else:
            for j in obj.get("jobs", ()):
                if j.get("title") not in [self.jobs[x]["title"] for x in self.job_order]:
                    self.add_job({k: j[k] for k in ("title", "confidential", "status")
                                  if k in j}, self.now_ms())
            for p in obj.get("people", ()):
                p = dict(p)
                if p.get("id") is None:
                    p.pop("id", None)
                for k in ("stage", "status", "job", "source"):
                    if p.get(k) is None:
                        p.pop(k, None)
                self.canon_add(p)
        self.history = list(obj.get("history", []))

    def load_raw(self, obj):
        if "jobs" in obj:
            self.jobs, self.job_order = {}, []
            for j in obj["jobs"]:
                jid = self.add_job({"title": j["title"], "confidential": j["confidential"],
                                    "status": j["status"]}, j["created"])
                job = self.jobs.pop(jid)
                self.job_order[-1] = j["id"]
                plan = rid("plan", j["id"])
                job.update(plan=plan, updated=j["updated"], seq=j["seq"],
                           stages=[{"id": rid("stage", "%s:%s" % (j["id"], name)),
                                    "title": name, "type": typ, "orderInInterviewPlan": i,
                                    "interviewPlanId": plan}
                                   for i, (name, typ) in enumerate(STAGES)])
                self.jobs[j["id"]] = job
            self.default_job = self.job_order[0]
        cands = obj.get("candidates", [])
        apps = obj.get("applications", [])
        self.corder = [None] * (max([c["pos"] for c in cands], default=-1) + 1)
        self.aorder = [None] * (max([a["pos"] for a in apps], default=-1) + 1)
        for c in cands:
            cid = c["id"]
            self.cands[cid] = json.loads(json.dumps(c["content"]))
            self.cmeta[cid] = [c["pos"], c["created"], c["updated"], c["seq"]]
            self.corder[c["pos"]] = cid
            self.capps[cid] = list(c.get("apps", []))
        for a in apps:
            aid = a["id"]
            content = json.loads(json.dumps(a["content"]))
            if content["cand"] not in self.cands or content["job"] not in self.jobs:
                raise ValueError("application %s: unknown candidate or job" % aid)
            self.apps[aid] = content
            self.ameta[aid] = [a["pos"], a["created"], a["updated"], a["seq"]]
            self.aorder[a["pos"]] = aid
            if aid not in self.capps[content["cand"]]:
                self.capps[content["cand"]].append(aid)
        for cid, ids in self.capps.items():
            self.capps[cid] = [x for x in ids if x in self.apps]
        self.tokens = {k: dict(v) for k, v in obj.get("tokens", {}).items()}
        stamps = [m[3] for m in self.cmeta.values()] + [m[3] for m in self.ameta.values()] + \
            [j["seq"] for j in self.jobs.values()]
        self.seq = max([int(obj.get("seq", 0))] + stamps)
        self.gen_serial = int(obj.get("gen_serial", len(self.cands)))
        self.next_n = int(obj.get("next_n", len(self.cands) + len(self.apps)))
        self.last_write_ms = max(int(obj.get("last_write_ms", 0)), self.last_write_ms)

if __name__ == "__main__":
    common.main(AshbyFake)
