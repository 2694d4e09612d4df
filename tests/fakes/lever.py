"""Lever fake: a stateful stand-in for the Lever Data API v1 (opportunities, contacts, deletes).

Run: python3 tests/fakes/lever.py --port-file /tmp/port [--rps 10 --burst 20] [...]; see --help
and common.py. The API lives under /v1 (a client's base URL is https://localhost:PORT/v1, as
https://api.lever.co/v1 in production; sandbox and EU hosts are only other base URLs).

Sources (read, not remembered): shared/research/ats-apis.md ("research"; §0, §2 Lever, §5, §9)
and the example payloads shared/specs/ats/examples/lever-*.json; where research summarises the
official documentation (hire.lever.co/developer/documentation) the documentation's own text was
read for: the contact_id filter ("Multiple contacts can be specified and results will include a
union of result sets"), the include/expand parameters, the Contact object {id, name, headline,
isAnonymized, location {name}, emails, phones}, the archive reason object {id, text, status,
type hired|non-hired}, the list of fields whose change bumps updatedAt, and the rule "when all
of a contact's Opportunities have been anonymized, the contact is fully anonymized and their
personal information is removed".

What is modelled
----------------
Auth (research §2): HTTP Basic, the API key as the user name and an EMPTY password. Missing or
garbled header, unknown key or a non-empty password -> 401 {"code", "message"} with
WWW-Authenticate: Basic realm="Lever API". A key carries permissions named like Lever's OAuth
scopes; an endpoint whose permission the key lacks -> 403; asking for confidential data
(confidentiality=confidential|all, or GET of a confidential opportunity) without
confidential:access:admin -> 403 (documentation: "any request to retrieve confidential data will
return an access error").
  opportunities:read:admin   GET /v1/opportunities, /v1/opportunities/{id},
                             /v1/opportunities/deleted
  archive_reasons:read:admin GET /v1/archive_reasons[/{id}]
  stages:read:admin          GET /v1/stages[/{id}]
  postings:read:admin        GET /v1/postings[/{id}]
  contact:read:admin         GET /v1/contacts/{id}
  confidential:access:admin  confidential opportunities and postings

Rate limit (research §2: "token bucket ... steady state 10 requests/second per API key ... bursts
of requests up to 20"): one bucket per key, --rps tokens a second, --burst deep (defaults 10 and
20; --rps 0 turns the limiter off). A request that finds no token -> 429 {"code":
"TooManyRequests", "message"}; no rate-limit headers on any answer (none are documented) and no
Retry-After unless --retry-after seconds (research: "Retry-After is not mentioned"). The bucket
runs on the real monotonic clock, not the shiftable one. 401s take no token.

Lists: {"data": [...], "hasNext": bool, "next": "<offset token>"} ("next" only when hasNext).
limit 1..100 (default 100), offset = a token from an earlier answer, passed back EXACTLY; a token
this server never issued -> 400 (documentation: "You can only pass in an offset that was returned
to you via a previously paginated request"). Tokens look like the documentation's example
"0.1414895548650.a6070140-..." (a keyset position: createdAt and id of the last record served).
Opportunities are served in (createdAt, id) order (research: order NOT documented; the example
token suggests this keyset) and each page is computed when it is asked for: a record edited
after an earlier page keeps its place (createdAt never changes), so nothing is skipped or doubled
by paging itself; a record whose edit moves it out of a CLOSED updated_at window before its page
is served is simply not in that window any more (the next window has it).

GET /v1/opportunities parameters: limit, offset, include (repeatable field names: only those
fields are returned, unless expanded), expand (repeatable: applications, stage, owner, followers,
sourcedBy, contact), confidentiality (non-confidential (default) | confidential | all),
updated_at_start/_end, created_at_start/_end, archived_at_start/_end (epoch ms, inclusive; a
record whose updatedAt is null matches no updated_at bound), archived (true|false), contact_id,
stage_id, posting_id, archive_reason_id, tag, origin, source (each repeatable: union), email.
Anything else, a repeated single-valued parameter, a non-integer timestamp or a bad enum value
-> 400. GET /v1/opportunities/deleted: deleted_at_start/_end, limit, offset -> the deleted
opportunities (deletedAt order), each the opportunity as it was plus deletedAt and deletedBy
(the documentation lists both among the opportunity's attributes "only for deleted
Opportunities"); settings {"deleted_shape": "minimal"} sends only {id, deletedAt, deletedBy}
(research's summary). Reference lists /v1/archive_reasons (type=hired|non-hired), /v1/stages,
/v1/postings (state, confidentiality) paginate the same way.

Records (research §2, examples/lever-v1-opportunity-retrieve-response.json): a contact is the
person (name, headline, location, emails = untyped strings, phones = [{type, value}], links);
every opportunity carries its contact's fields (shared and consistent) plus its own: contact,
stage, stageChanges, confidentiality, createdAt, updatedAt (null for "old" records), archived
{archivedAt, reason} (settings "archive_shape": "object" (default) | "top" (the example's
top-level archivedAt/archiveReason) | "both"), tags, sources, origin, owner, followers,
applications [one id], urls, dataProtection, isAnonymized, lastInteractionAt, lastAdvancedAt.
An application (expand=applications) has id, opportunityId, candidateId, createdAt, type,
posting, name, email, phone, company, links, archived. updatedAt is bumped by every change of
a field the documentation lists (stage, archived, emails, name, phones, ...): a contact edit
bumps ALL of its opportunities.

Where research is silent and this fake chose (guesses, not Lever fact):
  * Error codes: 400 "BadRequestError", 401 "UnauthorizedError", 403 "ForbiddenError", 404
    "ResourceNotFound" (the documentation's example), 429 "TooManyRequests", 503 via faults.
  * Unknown query parameters and unknown expand/include names are 400 (a typo fails here).
  * A full last page has hasNext false (the fake looks ahead); --trailing-empty-page sends
    hasNext true after every full page instead.
  * Anonymising an opportunity sets isAnonymized and bumps it; once every opportunity of a
    contact is anonymised the contact's name becomes "Anonymized", emails/phones/links are
    emptied, headline and location cleared.
  * A confidential opportunity is one flagged so (the documentation ties it to a confidential
    posting; the fake does not enforce that). The deleted feed ignores confidentiality.
  * Hard delete of an opportunity removes it (GET -> 404) and adds it to the deleted feed
    (deletedBy: the fake's admin user). A contact with no opportunity left disappears.
  * There are no merges in Lever (research §5: "n/a (contacts link opps)").

Admin endpoints (besides common.py's state/faults/requests/reset-log/shutdown and StatefulFake's
stats, stats/reset, settings, limits {rps, burst}, reset-counters, clock). JSON bodies; errors
400/404 {"error"}:
  POST /_admin/keys                 {key, permissions?: [..]} add or replace an API key
  GET  /_admin/summary              counts
  GET  /_admin/person?id=CONTACT    {contact, opportunities: [...]} (everything, expanded)
  POST /_admin/add-opportunity      {contact: id | {name, emails, phones, headline, location},
                                     id?, stage (name|id), posting (text|id), reason (text|id,
                                     archives), archived_at?, confidential?, sources?, origin?,
                                     company?, tags?, created_at?, updated_at? (ms or null)}
                                     -> the opportunity (expanded)
  POST /_admin/edit-opportunity     {id, set: {stage, posting, reason (null: unarchive),
                                     confidential, sources, company, tags, updated_at}, bump?}
  POST /_admin/edit-contact         {id, set: {name, emails, phones, headline, location}}
                                     (bumps every opportunity of the contact)
  POST /_admin/delete-opportunity   {id}
  POST /_admin/anonymize-opportunity {id}
  POST /_admin/generate             {people, opportunities_per_person?: 1, seed?: 1,
                                     confidential_every?: 0, null_updated_every?: 0,
                                     span_days?: 30} -> {contacts, opportunities, first, last}
  POST /_admin/on-page              {page: N, do: "edit-contact"|"edit-opportunity"|
                                     "delete-opportunity"|"anonymize-opportunity"|"canon/edit"|
                                     "canon/stage"|"canon/status", body: {...}, path?:
                                     "/v1/opportunities"}: runs the edit right before the list
                                     page N (1-based, counted per path since this call) is
                                     served: an edit landing mid-listing
  Canonical admin (vendor-neutral, shared with the other ATS fakes); a person is a contact:
  POST /_admin/canon/generate {people, seed, apps_per_person} -> {ids}
  GET  /_admin/canon/people   -> {people: [P...]} (contacts with a live opportunity;
                                 ?applied_at=1 adds the current opportunity's createdAt)
  POST /_admin/canon/add      {P without id} -> {id}
  POST /_admin/canon/edit     {id, first_name, last_name, title, company, emails, phones}
  POST /_admin/canon/stage    {id, stage}      (the current opportunity)
  POST /_admin/canon/status   {id, status: rejected|hired|active}
  POST /_admin/canon/delete   {id}             (every opportunity of the person)
  POST /_admin/canon/anonymize {id}            (every opportunity of the person)
  POST /_admin/canon/merge    -> 400 (Lever has no merges)
  P = {id (contact), first_name, last_name (the name split at its first space), emails, phones,
  title (always null: Lever has no job-title field), company (the current opportunity's
  application company), stage, status (active, or from the archive reason's type: hired,
  non-hired -> rejected, none -> archived), job (posting text), source (sources[0]), anonymized,
  private (any opportunity confidential)}. The current opportunity follows atsrecon's one rule:
  the most recently updated active one, else the most recently updated, ties to the greatest id.

CLI (besides common.py's): --api-key lever-test-key-0001 (all permissions), --rps 10,
--burst 20, --retry-after none|seconds, --trailing-empty-page, --default-limit 100.
"""

import base64
import bisect
import json
import os
import random
import re
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common  # noqa: E402
from common import HttpError, StatefulFake, admin_route, route  # noqa: E402

MAX_LIMIT = 100
DEFAULT_KEY = "lever-test-key-0001"
ADMIN_USER = "df0adaa6-172c-4cd6-8520-49b203660fe1"  # the example's owner
PERMS = ("opportunities:read:admin", "archive_reasons:read:admin", "stages:read:admin",
         "postings:read:admin", "contact:read:admin", "confidential:access:admin")
EXPANDABLE = ("applications", "stage", "owner", "followers", "sourcedBy", "contact")
OPP_FIELDS = ("id", "name", "headline", "contact", "emails", "phones", "confidentiality",
              "location", "links", "createdAt", "updatedAt", "lastInteractionAt",
              "lastAdvancedAt", "snoozedUntil", "archived", "archivedAt", "archiveReason",
              "stage", "stageChanges", "owner", "tags", "sources", "origin", "sourcedBy",
              "applications", "resume", "followers", "urls", "dataProtection", "isAnonymized",
              "opportunityLocation")
ORIGINS = ("agency", "applied", "internal", "referred", "sourced", "university")
PHONE_TYPES = ("mobile", "work", "home", "other", "skype", None)

# The same names as greenhouse.py's default pipeline, jobs and sources: one tenant mapping
# serves every source.
STAGES = [
    ("00922a60-7c15-422b-b086-f62000824fd7", "Application Review"),
    ("5b8b1ee4-1a4e-4d1b-8a9e-7c2d1e5f0a11", "Recruiter Phone Screen"),
    ("7c2690d8-6308-4ed9-ae2a-cbfe7db26593", "Take Home Test"),
    ("992f01a9-ee19-41d2-ae79-1040701b195c", "Face to Face"),
    ("f709f65a-481f-4067-9a0d-934a79da9f8e", "Offer"),
]
POSTINGS = [
    ("f2f01e16-27f8-4711-a728-7d49499795a0", "DevOps Engineer", "published", False),
    ("e540e665-06af-4888-a846-89eb36f2097d", "Data Scientist - BK", "published", False),
    ("6a1e4b79-75a3-454f-9417-ea79612b9585", "Accounting Manager", "closed", False),
    ("a061e321-9ed7-492b-9950-5a23a2b5acae", "Stealth Project Lead", "published", True),
]
SOURCES = ("Indeed", "Meetups", "LinkedIn (Prospecting)", "Referral", "Careers Site")
# From the documentation's /archive_reasons example.
ARCHIVE_REASONS = [
    ("63dd55b2-a99f-4e7b-985f-22c7bf80ab42", "Underqualified", "active", "non-hired"),
    ("41f98875-06c7-4cb1-b3d0-07f7ae192c0c", "Culture Fit", "active", "non-hired"),
    ("737b8899-7f32-42a5-954f-e199b0306fcb", "Timing", "active", "non-hired"),
    ("3274b963-c37c-4465-abeb-1113896e2aa3", "Withdrew", "active", "non-hired"),
    ("1fdbfaac-4c73-45f7-af32-369054426364", "Offer declined", "active", "non-hired"),
    ("16308515-dc77-4aa7-b3af-96161b2b4e9b", "Hired", "active", "hired"),
    ("9b6f482e-0399-4ba4-9a2f-1e1d9e3da15b", "Position filled", "inactive", "non-hired"),
]
REASON_FOR_STATUS = {"rejected": "Underqualified", "hired": "Hired", "withdrawn": "Withdrew"}
FIRST = ("Ada", "Grace", "Alan", "Linus", "Barbara", "Ken", "Radia", "Dennis", "Frances",
         "Edsger", "Margaret", "Donald", "Katherine", "John", "Hedy", "Tim")
LAST = ("Lovelace", "Hopper", "Turing", "Torvalds", "Liskov", "Thompson", "Perlman", "Ritchie",
        "Allen", "Dijkstra", "Hamilton", "Knuth", "Johnson", "Backus", "Lamarr", "Berners-Lee")
COMPANIES = ("Initech", "Globex", "Hooli", "Umbrella", "Stark Industries", "Wayne Enterprises",
             "Acme", "Tyrell", None)

DEFAULT_SETTINGS = {"archive_shape": "object", "deleted_shape": "full", "retry_after": "none",
                    "trailing_empty_page": False, "default_limit": 100}
DEFAULT_LIMITS = {"rps": 10, "burst": 20}
SINGLE = ("limit", "offset", "confidentiality", "updated_at_start", "updated_at_end",
          "created_at_start", "created_at_end", "archived_at_start", "archived_at_end",
          "archived", "email", "deleted_at_start", "deleted_at_end", "type")
MULTI = ("include", "expand", "contact_id", "stage_id", "posting_id", "archive_reason_id",
         "tag", "origin", "source", "state")


class Contact:
    """A person. Lists are kept as tuples (phones as (type, value) pairs): 100,000 generated
    people must fit in a modest amount of memory."""
    __slots__ = ("id", "name", "headline", "location", "emails", "phones", "links",
                 "anonymized")

    def __init__(self, cid, name, emails=(), phones=(), headline="", location="", links=()):
        self.id = cid
        self.name = name
        self.headline = headline
        self.location = location
        self.set("emails", emails)
        self.set("phones", phones)
        self.set("links", links)
        self.anonymized = False

    def set(self, k, v):
        if k == "phones":
            v = tuple((p.get("type"), p["value"]) if isinstance(p, dict) else tuple(p)
                      for p in v)
        elif k in ("emails", "links"):
            v = tuple(v)
        setattr(self, k, v)

    def phone_dicts(self):
        return [{"type": t, "value": v} for t, v in self.phones]


class Opp:
    __slots__ = ("id", "contact", "stage", "created", "updated", "advanced", "archived_at",
                 "reason", "confidential", "sources", "origin", "tags", "app_id", "posting",
                 "company", "anonymized")


def check_ms(v, what):
    if v is None:
        return None
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise ValueError("%s must be epoch milliseconds (an integer) or null" % what)
    return v


def split_name(name):
    parts = (name or "").split()
    return (parts[0] if parts else ""), " ".join(parts[1:])


class LeverFake(StatefulFake):
    """Lever Data API v1 fake (opportunities, contacts, deleted feed, reference lists)."""

    default_settings = DEFAULT_SETTINGS
    default_limits = DEFAULT_LIMITS
    clock_now_ms = True

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.cli = None
        self.reset_world()

    # --- world -------------------------------------------------------------------------------

    def reset_world(self):
        super().reset_world()
        self.keys = {DEFAULT_KEY: set(PERMS)}
        self.buckets = {}            # key -> [tokens, last monotonic s]
        self.contacts = {}           # id -> Contact
        self.opps = {}               # id -> Opp
        self.by_contact = {}         # contact id -> [opp id, ...]
        self.order = []              # sorted [(createdAt, opp id)]
        self.deleted = []            # sorted [(deletedAt, opp id)]
        self.deleted_recs = {}       # opp id -> rendered record at deletion
        self.offsets = {}            # token -> (kind, position)
        self.hooks = []              # on-page edits
        self.pages_by_path = {}
        self.stages = {i: n for i, n in STAGES}
        self.stage_ids = {n: i for i, n in STAGES}
        self.postings = {p[0]: {"text": p[1], "state": p[2], "confidential": p[3]}
                         for p in POSTINGS}
        self.reasons = {r[0]: {"text": r[1], "status": r[2], "type": r[3]}
                        for r in ARCHIVE_REASONS}
        if self.cli:
            self.apply_cli()

    @staticmethod
    def new_stats():
        return {"requests": 0, "by_path": {}, "by_status": {}, "401": 0, "403": 0, "400": 0,
                "429": 0, "pages": 0, "records": 0, "offsets_issued": 0, "bad_offsets": 0,
                "max_contact_ids": 0}

    def check_limit(self, name, value):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0 or \
                (name == "burst" and value < 1):
            raise ValueError("%s must be a number (rps >= 0, burst >= 1)" % name)

    def limits_changed(self):
        self.buckets = {}

    def reset_counters(self):
        self.buckets = {}

    # --- CLI ---------------------------------------------------------------------------------

    @classmethod
    def add_arguments(cls, p):
        g = p.add_argument_group("lever")
        g.add_argument("--api-key", default=DEFAULT_KEY, help="a key with every permission")
        g.add_argument("--rps", type=float, default=DEFAULT_LIMITS["rps"],
                       help="token bucket refill per second (%(default)s; 0: no limit)")
        g.add_argument("--burst", type=int, default=DEFAULT_LIMITS["burst"],
                       help="token bucket depth (%(default)s)")
        g.add_argument("--retry-after", choices=("none", "seconds"), default="none",
                       help="Retry-After on 429 (%(default)s)")
        g.add_argument("--trailing-empty-page", action="store_true",
                       help="hasNext true after every full page")
        g.add_argument("--default-limit", type=int, default=100)

    def configure(self, a):
        with self.lock:
            self.cli = {"key": a.api_key,
                        "limits": {"rps": a.rps, "burst": a.burst},
                        "settings": {"retry_after": a.retry_after,
                                     "trailing_empty_page": a.trailing_empty_page,
                                     "default_limit": a.default_limit}}
            self.apply_cli()

    def apply_cli(self):
        c = self.cli
        self.keys = {c["key"]: set(PERMS)}
        self.limits.update(c["limits"])
        self.settings.update(c["settings"])

    # --- state -------------------------------------------------------------------------------

    def dump_state(self):
        return {
            "settings": dict(self.settings), "limits": dict(self.limits),
            "clock_offset_ms": self.clock_offset_ms,
            "keys": [{"key": k, "permissions": sorted(v)} for k, v in self.keys.items()],
            "contacts": [self.contact_obj(self.contacts[c]) for c in sorted(self.contacts)],
            "opportunities": [self.render_opp(self.opps[k[1]], EXPANDABLE, None)
                              for k in self.order],
            "deleted": [self.deleted_recs[k[1]] for k in self.deleted],
            "stats": json.loads(json.dumps(self.stats)),
        }

    def load_state(self, obj):
        """Replaces the world. Sections: settings, limits, clock_offset_ms, keys, contacts
        ([{id, name, emails, phones, headline, location, links}]), opportunities (add-opportunity
        bodies; a contact may be named by id from "contacts"). Missing sections: defaults."""
        if not isinstance(obj, dict):
            raise HttpError(400, {"error": "state must be a JSON object"})
        common.check_known("state sections", {"settings", "limits", "clock_offset_ms", "keys",
                                              "contacts", "opportunities", "deleted", "stats"},
                           obj)
        self.reset_world()
        for key, target in (("settings", self.settings), ("limits", self.limits)):
            if key in obj:
                common.check_known(key, target, obj[key])
                target.update(obj[key])
        self.clock_offset_ms = int(obj.get("clock_offset_ms", 0))
        if "keys" in obj:
            self.keys = {}
            for k in obj["keys"]:
                self.put_key(k)
        for c in obj.get("contacts", ()):
            self.new_contact(c, cid=c.get("id"))
        for o in obj.get("opportunities", ()):
            self.add_opportunity(o, self.write_stamp())

    def put_key(self, body):
        key = str(body["key"])
        perms = body.get("permissions", list(PERMS))
        if not isinstance(perms, list) or set(perms) - set(PERMS):
            raise ValueError("permissions must be a subset of %s" % ", ".join(PERMS))
        if len(key) < 4:
            raise ValueError("key too short")
        self.keys[key] = set(perms)
        return {"key": key, "permissions": sorted(perms)}

    # --- records -----------------------------------------------------------------------------

    def new_id(self):
        return str(uuid.uuid4())

    def new_contact(self, c, cid=None):
        if not isinstance(c, dict):
            raise ValueError("contact must be an object or an existing contact id")
        common.check_known("contact keys", {"id", "name", "emails", "phones", "headline",
                                            "location", "links"}, c)
        emails = c.get("emails", [])
        phones = c.get("phones", [])
        self.check_contact_fields(c)
        cid = str(cid) if cid else self.new_id()
        if cid in self.contacts:
            raise ValueError("contact %s exists" % cid)
        con = Contact(cid, c.get("name", ""), emails, phones, c.get("headline") or "",
                      c.get("location") or "", c.get("links", []))
        self.contacts[cid] = con
        self.by_contact.setdefault(cid, [])
        return con

    @staticmethod
    def check_contact_fields(c):
        if "name" in c and not isinstance(c["name"], str):
            raise ValueError("name must be a string")
        if "emails" in c and (not isinstance(c["emails"], list) or
                              not all(isinstance(e, str) for e in c["emails"])):
            raise ValueError("emails are a list of strings (Lever emails are untyped)")
        if "phones" in c:
            if not isinstance(c["phones"], list):
                raise ValueError("phones are a list of {type, value}")
            for p in c["phones"]:
                if not isinstance(p, dict) or not isinstance(p.get("value"), str) or \
                        set(p) - {"type", "value"} or p.get("type") not in PHONE_TYPES:
                    raise ValueError("phones are [{type: mobile|work|home|other|skype|null, "
                                     "value}]")
        for k in ("headline", "location"):
            if k in c and c[k] is not None and not isinstance(c[k], str):
                raise ValueError("%s must be a string" % k)

    def find(self, table, key, what):
        if key in table:
            return key
        raise HttpError(404, {"error": "no %s %r" % (what, key)})

    def stage_id(self, v):
        if v is None:
            return STAGES[0][0]
        if v in self.stages:
            return v
        if v in self.stage_ids:
            return self.stage_ids[v]
        raise ValueError("no stage %r" % (v,))

    def posting_id(self, v):
        if v is None:
            return None
        if v in self.postings:
            return v
        for pid, p in self.postings.items():
            if p["text"] == v:
                return pid
        raise ValueError("no posting %r" % (v,))

    def reason_id(self, v):
        if v is None:
            return None
        if v in self.reasons:
            return v
        for rid, r in self.reasons.items():
            if r["text"] == v:
                return rid
        raise ValueError("no archive reason %r" % (v,))

    def insert_opp(self, o):
        self.opps[o.id] = o
        self.by_contact.setdefault(o.contact, []).append(o.id)
        key = (o.created, o.id)
        if not self.order or key > self.order[-1]:
            self.order.append(key)
        else:
            bisect.insort(self.order, key)

    def add_opportunity(self, b, stamp):
        b = dict(b)
        common.check_known("opportunity keys", {"contact", "id", "stage", "posting", "reason",
                                                "archived_at", "confidential", "sources",
                                                "origin", "company", "tags", "created_at",
                                                "updated_at", "anonymized"}, b)
        c = b.get("contact")
        if isinstance(c, str):
            cid = self.find(self.contacts, c, "contact")
        else:
            cid = self.new_contact(c or {}).id
        o = Opp()
        o.id = str(b["id"]) if b.get("id") else self.new_id()
        if o.id in self.opps or o.id in self.deleted_recs:
            raise ValueError("opportunity %s exists" % o.id)
        o.contact = cid
        o.stage = self.stage_id(b.get("stage"))
        o.posting = self.posting_id(b.get("posting", POSTINGS[0][0]))
        o.reason = self.reason_id(b.get("reason"))
        o.created = check_ms(b.get("created_at", stamp), "created_at")
        o.updated = check_ms(b.get("updated_at", stamp), "updated_at") \
            if "updated_at" in b else stamp
        o.advanced = o.created
        o.archived_at = check_ms(b.get("archived_at"), "archived_at")
        if o.reason is not None and o.archived_at is None:
            o.archived_at = o.updated or o.created
        o.confidential = bool(b.get("confidential", False))
        o.sources = tuple(b.get("sources", []))
        if not all(isinstance(s, str) for s in o.sources):
            raise ValueError("sources are strings")
        o.origin = b.get("origin", "applied")
        if o.origin not in ORIGINS:
            raise ValueError("origin must be one of %s" % "|".join(ORIGINS))
        o.tags = tuple(b.get("tags", []))
        o.company = b.get("company")
        o.app_id = self.new_id()
        o.anonymized = False
        self.insert_opp(o)
        if b.get("anonymized"):
            self.anonymize_opp(o.id, stamp)
        return o

    def bump(self, o, stamp=None):
        o.updated = stamp if stamp is not None else self.write_stamp()

    def edit_opportunity(self, oid, new, bump=True):
        o = self.opps[self.find(self.opps, oid, "opportunity")]
        common.check_known("opportunity fields", {"stage", "posting", "reason", "confidential",
                                                  "sources", "company", "tags", "updated_at",
                                                  "archived_at"}, new)
        stamp = self.write_stamp()
        if "stage" in new:
            s = self.stage_id(new["stage"])
            if s != o.stage:
                o.stage = s
                o.advanced = stamp
        if "posting" in new:
            o.posting = self.posting_id(new["posting"])
        if "reason" in new:
            o.reason = self.reason_id(new["reason"])
            o.archived_at = stamp if o.reason is not None else None
        if "archived_at" in new:
            o.archived_at = check_ms(new["archived_at"], "archived_at")
        if "confidential" in new:
            o.confidential = bool(new["confidential"])
        if "sources" in new:
            o.sources = tuple(new["sources"])
        if "company" in new:
            o.company = new["company"]
        if "tags" in new:
            o.tags = tuple(new["tags"])
        if "updated_at" in new:
            o.updated = check_ms(new["updated_at"], "updated_at")
        elif bump:
            o.updated = stamp
        return o

    def edit_contact(self, cid, new):
        con = self.contacts[self.find(self.contacts, cid, "contact")]
        common.check_known("contact fields", {"name", "emails", "phones", "headline",
                                              "location", "links"}, new)
        self.check_contact_fields(new)
        for k, v in new.items():
            con.set(k, v)
        stamp = self.write_stamp()
        for oid in self.by_contact.get(cid, ()):
            self.opps[oid].updated = stamp
        return con

    def delete_opp(self, oid):
        o = self.opps[self.find(self.opps, oid, "opportunity")]
        rec = self.render_opp(o, (), None)
        stamp = self.write_stamp()
        rec["deletedAt"] = stamp
        rec["deletedBy"] = ADMIN_USER
        del self.opps[oid]
        self.order.remove((o.created, oid))
        mine = self.by_contact[o.contact]
        mine.remove(oid)
        if not mine:
            del self.by_contact[o.contact]
            del self.contacts[o.contact]
        self.deleted_recs[oid] = rec
        self.deleted.append((stamp, oid))
        return rec

    def anonymize_opp(self, oid, stamp=None):
        o = self.opps[self.find(self.opps, oid, "opportunity")]
        o.anonymized = True
        o.company = None
        self.bump(o, stamp)
        if all(self.opps[i].anonymized for i in self.by_contact[o.contact]):
            con = self.contacts[o.contact]
            con.anonymized = True
            con.name, con.headline, con.location = "Anonymized", "", ""
            con.emails, con.phones, con.links = (), (), ()
        return o

    # --- rendering ---------------------------------------------------------------------------

    @staticmethod
    def user_obj(uid):
        return {"id": uid, "name": "Integration Admin", "email": "admin@example.com",
                "username": "admin", "accessRole": "super admin"}

    def contact_obj(self, con):
        return {"id": con.id, "name": con.name, "headline": con.headline,
                "isAnonymized": con.anonymized, "location": {"name": con.location},
                "emails": list(con.emails), "phones": con.phone_dicts()}

    def app_obj(self, o, con):
        archived = {"archivedAt": o.archived_at, "reason": o.reason} \
            if o.archived_at is not None else None
        return {"id": o.app_id, "opportunityId": o.id, "candidateId": o.id,
                "createdAt": o.created, "type": "posting" if o.origin != "referred"
                else "referral", "posting": o.posting, "postingOwner": ADMIN_USER,
                "postingHiringManager": ADMIN_USER, "user": None, "name": con.name,
                "email": con.emails[0] if con.emails else None,
                "phone": con.phone_dicts()[0] if con.phones else None,
                "company": o.company, "links": list(con.links) or None, "comments": None,
                "customQuestions": [], "archived": archived, "requisitionForHire": None}

    def render_opp(self, o, expand, include):
        con = self.contacts[o.contact]
        shape = self.settings["archive_shape"]
        d = {"id": o.id, "name": con.name, "headline": con.headline,
             "contact": self.contact_obj(con) if "contact" in expand else o.contact,
             "emails": list(con.emails), "phones": con.phone_dicts(),
             "confidentiality": "confidential" if o.confidential else "non-confidential",
             "location": con.location, "links": list(con.links),
             "createdAt": o.created, "updatedAt": o.updated,
             "lastInteractionAt": o.updated or o.created, "lastAdvancedAt": o.advanced,
             "snoozedUntil": None,
             "stage": {"id": o.stage, "text": self.stages.get(o.stage)} if "stage" in expand
             else o.stage,
             "stageChanges": [{"toStageId": o.stage,
                               "toStageIndex": [s[0] for s in STAGES].index(o.stage)
                               if o.stage in dict(STAGES) else 0,
                               "userId": ADMIN_USER, "updatedAt": o.advanced}],
             "owner": self.user_obj(ADMIN_USER) if "owner" in expand else ADMIN_USER,
             "tags": list(o.tags), "sources": list(o.sources), "origin": o.origin,
             "sourcedBy": (self.user_obj(ADMIN_USER) if "sourcedBy" in expand else ADMIN_USER)
             if o.origin == "sourced" else None,
             "applications": [self.app_obj(o, con)] if "applications" in expand
             else [o.app_id],
             "resume": None,
             "followers": [self.user_obj(ADMIN_USER)] if "followers" in expand
             else [ADMIN_USER],
             "urls": {"list": "https://hire.lever.co/candidates",
                      "show": "https://hire.lever.co/candidates/%s" % o.id},
             "dataProtection": None, "isAnonymized": o.anonymized}
        if shape in ("object", "both"):
            d["archived"] = {"archivedAt": o.archived_at, "reason": o.reason} \
                if o.archived_at is not None else None
        if shape in ("top", "both"):
            d["archivedAt"] = o.archived_at
            d["archiveReason"] = o.reason
        if include:
            d = {k: v for k, v in d.items() if k in include or k in expand}
        return d

    # --- gateway -----------------------------------------------------------------------------

    @staticmethod
    def error(status, code, message, headers=None):
        raise HttpError(status, {"code": code, "message": message}, headers)

    def authenticate(self, req):
        auth = req.headers.get("Authorization") or ""
        www = {"WWW-Authenticate": 'Basic realm="Lever API"'}
        if auth[:6].lower() != "basic ":
            self.error(401, "UnauthorizedError", "A valid API key was not provided with the "
                       "request (HTTP Basic, the key as user name, empty password)", www)
        try:
            user, sep, pw = base64.b64decode(auth[6:].strip(), validate=True).decode(
                "utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            self.error(401, "UnauthorizedError", "Malformed Basic credentials", www)
        if not sep or pw != "" or user not in self.keys:
            self.error(401, "UnauthorizedError", "Invalid API key", www)
        return user

    def throttle(self, key):
        rps, burst = float(self.limits["rps"]), float(self.limits["burst"])
        if rps <= 0:
            return
        now = time.monotonic()
        b = self.buckets.get(key)
        if b is None:
            b = self.buckets[key] = [burst, now]
        b[0] = min(burst, b[0] + (now - b[1]) * rps)
        b[1] = now
        if b[0] >= 1.0:
            b[0] -= 1.0
            return
        self.stats["429"] += 1
        h = {}
        if self.settings["retry_after"] == "seconds":
            h["Retry-After"] = "1"
        self.error(429, "TooManyRequests", "Rate limit exceeded; retry with exponential "
                   "backoff", h)

    def dispatch(self, req):
        if not req.path.startswith("/v1/"):
            return 404, {}, {"code": "ResourceNotFound", "message": "Not found: %s" % req.path}
        try:
            with self.lock:
                req.key = self.authenticate(req)
                self.throttle(req.key)
        except HttpError as e:
            return e.status, dict(e.headers), e.body
        status, headers, body = super().dispatch(req)
        if status in (404, 405) and isinstance(body, dict) and "error" in body:
            body = {"code": "ResourceNotFound" if status == 404 else "MethodNotAllowed",
                    "message": "%s %s: %s" % (req.method, req.path, body["error"])}
        return status, headers, body

    def log_request(self, entry, handler, body_bytes, status, fault, t0, tls, resp_bytes=0):
        path = re.sub(r"/[0-9a-f]{8}-[0-9a-f-]{27}(?=/|$)", "/{id}", entry.get("path") or "")
        with self.lock:
            st = self.stats
            st["requests"] += 1
            st["by_path"][path] = st["by_path"].get(path, 0) + 1
            key = str(status) if status is not None else "reset"
            st["by_status"][key] = st["by_status"].get(key, 0) + 1
            if status in (400, 401, 403) and not fault:
                st[str(status)] += 1
            # The in-memory log would grow without bound on a benchmark: keep the last 10,000.
            if len(self.requests) > 20000:
                del self.requests[:10000]
        super().log_request(entry, handler, body_bytes, status, fault, t0, tls, resp_bytes)

    def need(self, req, perm):
        if perm not in self.keys.get(req.key, ()):
            self.error(403, "ForbiddenError", "Your API key is not authorized for this "
                       "operation (it lacks %s). Talk to a Super Admin on your Lever account to "
                       "update your API settings." % perm)

    # --- query parsing -----------------------------------------------------------------------

    def parse(self, req, allowed):
        out = {}
        for k, v in req.query.items():
            if k not in allowed:
                self.error(400, "BadRequestError", "Unknown query parameter %r (allowed: %s)"
                           % (k, ", ".join(sorted(allowed))))
            if k in SINGLE:
                if len(v) > 1:
                    self.error(400, "BadRequestError", "Parameter %r given more than once" % k)
                out[k] = v[0]
            else:
                out[k] = list(v)
        for k in list(out):
            if k.endswith(("_start", "_end")):
                if not re.fullmatch(r"\d{1,16}", out[k]):
                    self.error(400, "BadRequestError", "%s must be a timestamp in milliseconds, "
                               "not %r" % (k, out[k]))
                out[k] = int(out[k])
        for k in ("expand", "include"):
            for v in out.get(k, ()):
                if k == "expand" and v not in EXPANDABLE:
                    self.error(400, "BadRequestError", "Cannot expand %r (one of %s; repeat the "
                               "parameter for several)" % (v, ", ".join(EXPANDABLE)))
                if k == "include" and v not in OPP_FIELDS:
                    self.error(400, "BadRequestError", "Cannot include %r" % v)
        lim = out.get("limit")
        if lim is None:
            out["limit"] = int(self.settings["default_limit"])
        elif not re.fullmatch(r"\d{1,4}", lim) or not 1 <= int(lim) <= MAX_LIMIT:
            self.error(400, "BadRequestError", "limit must be between 1 and %d, not %r"
                       % (MAX_LIMIT, lim))
        else:
            out["limit"] = int(lim)
        return out

    def position(self, q, kind):
        tok = q.get("offset")
        if tok is None:
            return None
        pos = self.offsets.get(tok)
        if pos is None or pos[0] != kind:
            self.stats["bad_offsets"] += 1
            self.error(400, "BadRequestError", "Invalid offset %r: you can only pass in an "
                       "offset that was returned to you via a previously paginated request"
                       % tok[:80])
        return pos[1]

    def issue(self, kind, pos):
        tok = "0.%d.%s" % (pos[0], pos[1])
        self.offsets[tok] = (kind, pos)
        self.stats["offsets_issued"] += 1
        return tok

    def page(self, kind, keys, start, match, limit, render):
        """Keyset page over sorted keys from position start (exclusive)."""
        j = bisect.bisect_right(keys, start) if start is not None else 0
        out = []
        while j < len(keys) and len(out) < limit:
            k = keys[j]
            j += 1
            if match(k):
                out.append(k)
        more = False
        if len(out) == limit:
            if self.settings["trailing_empty_page"]:
                more = True
            else:
                while j < len(keys):
                    if match(keys[j]):
                        more = True
                        break
                    j += 1
        body = {"data": [render(k) for k in out], "hasNext": more}
        if more:
            body["next"] = self.issue(kind, out[-1])
        self.stats["pages"] += 1
        self.stats["records"] += len(out)
        return 200, {}, body

    def run_hooks(self, path):
        n = self.pages_by_path[path] = self.pages_by_path.get(path, 0) + 1
        due = [h for h in self.hooks if h["path"] == path and h["page"] == n]
        for h in due:
            self.hooks.remove(h)
            try:
                self.ADMIN_ACTIONS[h["do"]](self, None, h["body"])
            except (HttpError, KeyError, TypeError, ValueError) as e:
                common.note("on-page %s failed: %s", h["do"], e)

    # --- API ---------------------------------------------------------------------------------

    @route("GET", r"^/v1/opportunities$")
    def list_opportunities(self, req):
        self.need(req, "opportunities:read:admin")
        q = self.parse(req, set(SINGLE) - {"deleted_at_start", "deleted_at_end", "type"} |
                       set(MULTI) - {"state"})
        conf = q.get("confidentiality", "non-confidential")
        if conf not in ("confidential", "non-confidential", "all"):
            self.error(400, "BadRequestError", "confidentiality must be confidential, "
                       "non-confidential or all")
        if conf != "non-confidential":
            self.need(req, "confidential:access:admin")
        if "archived" in q and q["archived"] not in ("true", "false"):
            self.error(400, "BadRequestError", "archived must be true or false")
        start = self.position(q, "opportunities")
        self.run_hooks("/v1/opportunities")
        keys = self.order
        if "contact_id" in q:
            self.stats["max_contact_ids"] = max(self.stats["max_contact_ids"],
                                                len(q["contact_id"]))
            keys = sorted((self.opps[i].created, i) for c in set(q["contact_id"])
                          for i in self.by_contact.get(c, ()))
        preds = []
        if conf == "non-confidential":
            preds.append(lambda o: not o.confidential)
        elif conf == "confidential":
            preds.append(lambda o: o.confidential)
        for name, get in (("updated_at", lambda o: o.updated), ("created_at",
                                                                 lambda o: o.created),
                          ("archived_at", lambda o: o.archived_at)):
            lo, hi = q.get(name + "_start"), q.get(name + "_end")
            if lo is not None or hi is not None:
                preds.append(lambda o, g=get, lo=lo, hi=hi: g(o) is not None and
                             (lo is None or g(o) >= lo) and (hi is None or g(o) <= hi))
        if "archived" in q:
            want = q["archived"] == "true"
            preds.append(lambda o: (o.archived_at is not None) == want)
        for name, get in (("stage_id", lambda o: [o.stage]), ("posting_id",
                                                             lambda o: [o.posting]),
                          ("archive_reason_id", lambda o: [o.reason]),
                          ("tag", lambda o: o.tags), ("origin", lambda o: [o.origin]),
                          ("source", lambda o: o.sources)):
            if name in q:
                wanted = set(q[name])
                preds.append(lambda o, g=get, w=wanted: any(x in w for x in g(o)))
        if "email" in q:
            e = q["email"].strip().lower()
            preds.append(lambda o: e in [x.strip().lower()
                                         for x in self.contacts[o.contact].emails])
        expand = tuple(q.get("expand", ()))
        include = tuple(q.get("include", ())) or None

        def match(k):
            o = self.opps[k[1]]
            for p in preds:
                if not p(o):
                    return False
            return True
        return self.page("opportunities", keys, start, match, q["limit"],
                         lambda k: self.render_opp(self.opps[k[1]], expand, include))

    @route("GET", r"^/v1/opportunities/deleted$")
    def list_deleted(self, req):
        self.need(req, "opportunities:read:admin")
        q = self.parse(req, {"limit", "offset", "deleted_at_start", "deleted_at_end"})
        start = self.position(q, "deleted")
        self.run_hooks("/v1/opportunities/deleted")
        lo, hi = q.get("deleted_at_start"), q.get("deleted_at_end")
        minimal = self.settings["deleted_shape"] == "minimal"

        def render(k):
            r = self.deleted_recs[k[1]]
            if minimal:
                return {"id": r["id"], "deletedAt": r["deletedAt"], "deletedBy": r["deletedBy"]}
            return json.loads(json.dumps(r))
        return self.page("deleted", self.deleted, start,
                         lambda k: (lo is None or k[0] >= lo) and (hi is None or k[0] <= hi),
                         q["limit"], render)

    @route("GET", r"^/v1/opportunities/(?P<id>[^/]+)$")
    def get_opportunity(self, req):
        self.need(req, "opportunities:read:admin")
        q = self.parse(req, {"expand", "include"})
        o = self.opps.get(req.params["id"])
        if o is None:
            self.error(404, "ResourceNotFound", "opportunities %s was not found"
                       % req.params["id"])
        if o.confidential:
            self.need(req, "confidential:access:admin")
        return 200, {}, {"data": self.render_opp(o, tuple(q.get("expand", ())),
                                                 tuple(q.get("include", ())) or None)}

    @route("GET", r"^/v1/contacts/(?P<id>[^/]+)$")
    def get_contact(self, req):
        self.need(req, "contact:read:admin")
        self.parse(req, set())
        con = self.contacts.get(req.params["id"])
        if con is None:
            self.error(404, "ResourceNotFound", "contacts %s was not found" % req.params["id"])
        return 200, {}, {"data": self.contact_obj(con)}

    def ref_list(self, req, perm, kind, table, render, pred=None):
        self.need(req, perm)
        allowed = {"limit", "offset"} | ({"type"} if kind == "archive_reasons" else set()) | \
            ({"state", "confidentiality"} if kind == "postings" else set())
        q = self.parse(req, allowed)
        start = self.position(q, kind)
        keys = sorted((0, i) for i in table)
        return self.page(kind, keys, start, lambda k: pred is None or pred(k[1], q),
                         q["limit"], lambda k: render(k[1]))

    @route("GET", r"^/v1/archive_reasons$")
    def list_reasons(self, req):
        if "type" in req.query and req.query["type"][0] not in ("hired", "non-hired"):
            self.error(400, "BadRequestError", "type must be hired or non-hired")
        return self.ref_list(req, "archive_reasons:read:admin", "archive_reasons", self.reasons,
                             lambda i: dict(id=i, **self.reasons[i]),
                             lambda i, q: q.get("type") in (None, self.reasons[i]["type"]))

    @route("GET", r"^/v1/stages$")
    def list_stages(self, req):
        return self.ref_list(req, "stages:read:admin", "stages", self.stages,
                             lambda i: {"id": i, "text": self.stages[i]})

    @route("GET", r"^/v1/postings$")
    def list_postings(self, req):
        conf = (req.query.get("confidentiality") or ["non-confidential"])[0]
        if conf not in ("confidential", "non-confidential", "all"):
            self.error(400, "BadRequestError", "confidentiality must be confidential, "
                       "non-confidential or all")
        if conf != "non-confidential":
            self.need(req, "confidential:access:admin")

        def pred(i, q):
            p = self.postings[i]
            return (conf == "all" or p["confidential"] == (conf == "confidential")) and \
                ("state" not in q or p["state"] in q["state"])
        return self.ref_list(req, "postings:read:admin", "postings", self.postings,
                             lambda i: self.posting_obj(i), pred)

    def posting_obj(self, i):
        p = self.postings[i]
        return {"id": i, "text": p["text"], "state": p["state"],
                "confidentiality": "confidential" if p["confidential"] else "non-confidential",
                "createdAt": 1407779365624, "updatedAt": 1407779365624, "user": ADMIN_USER,
                "owner": ADMIN_USER, "hiringManager": ADMIN_USER,
                "categories": {"team": "Platform", "location": "San Francisco",
                               "commitment": "Full-time"}, "tags": []}

    @route("GET", r"^/v1/(?P<kind>archive_reasons|stages|postings)/(?P<id>[^/]+)$")
    def get_ref(self, req):
        kind, i = req.params["kind"], req.params["id"]
        perm = {"archive_reasons": "archive_reasons:read:admin", "stages": "stages:read:admin",
                "postings": "postings:read:admin"}[kind]
        self.need(req, perm)
        self.parse(req, set())
        table = {"archive_reasons": self.reasons, "stages": self.stages,
                 "postings": self.postings}[kind]
        if i not in table:
            self.error(404, "ResourceNotFound", "%s %s was not found" % (kind, i))
        if kind == "postings":
            if self.postings[i]["confidential"]:
                self.need(req, "confidential:access:admin")
            return 200, {}, {"data": self.posting_obj(i)}
        if kind == "stages":
            return 200, {}, {"data": {"id": i, "text": self.stages[i]}}
        return 200, {}, {"data": dict(id=i, **self.reasons[i])}

    # --- person view (canonical) -------------------------------------------------------------

    def opp_status(self, o):
        if o.archived_at is None:
            return "active"
        r = self.reasons.get(o.reason)
        if r is None:
            return "archived"
        return "hired" if r["type"] == "hired" else "rejected"

    def current(self, cid):
        """The current opportunity by atsrecon's one rule."""
        best = None
        for oid in self.by_contact.get(cid, ()):
            o = self.opps[oid]
            k = (o.archived_at is None, o.updated if o.updated is not None else o.created, o.id)
            if best is None or k > best[0]:
                best = (k, o)
        return best[1] if best else None

    def person(self, cid):
        con = self.contacts[cid]
        o = self.current(cid)
        first, last = split_name(con.name)
        return {"id": cid, "first_name": first, "last_name": last,
                "emails": list(con.emails), "phones": [v for _, v in con.phones],
                "title": None, "company": o.company, "stage": self.stages.get(o.stage),
                "status": self.opp_status(o),
                "job": self.postings[o.posting]["text"] if o.posting in self.postings else None,
                "source": o.sources[0] if o.sources else None,
                "anonymized": con.anonymized,
                "private": any(self.opps[i].confidential for i in self.by_contact[cid])}

    # --- admin -------------------------------------------------------------------------------

    @admin_route("POST", "/_admin/keys")
    def admin_keys(self, req, body):
        return self.put_key(body)

    @admin_route("GET", "/_admin/summary")
    def admin_summary(self, req, body):
        return {"contacts": len(self.contacts), "opportunities": len(self.opps),
                "deleted": len(self.deleted), "offsets": len(self.offsets),
                "now_ms": self.now_ms()}

    @admin_route("GET", "/_admin/person")
    def admin_person(self, req, body):
        cid = self.find(self.contacts, req.arg("id") or body.get("id"), "contact")
        return {"contact": self.contact_obj(self.contacts[cid]),
                "opportunities": [self.render_opp(self.opps[i], EXPANDABLE, None)
                                  for i in self.by_contact[cid]]}

    @admin_route("POST", "/_admin/add-opportunity")
    def admin_add_opportunity(self, req, body):
        o = self.add_opportunity(body, self.write_stamp())
        return self.render_opp(o, EXPANDABLE, None)

    @admin_route("POST", "/_admin/edit-opportunity")
    def admin_edit_opportunity(self, req, body):
        new = body.get("set") or {}
        if not isinstance(new, dict):
            raise ValueError("set must be an object")
        o = self.edit_opportunity(body["id"], new, body.get("bump", True))
        return self.render_opp(o, EXPANDABLE, None)

    @admin_route("POST", "/_admin/edit-contact")
    def admin_edit_contact(self, req, body):
        new = body.get("set") or {}
        if not isinstance(new, dict):
            raise ValueError("set must be an object")
        return self.contact_obj(self.edit_contact(body["id"], new))

    @admin_route("POST", "/_admin/delete-opportunity")
    def admin_delete_opportunity(self, req, body):
        return self.delete_opp(body["id"])

    @admin_route("POST", "/_admin/anonymize-opportunity")
    def admin_anonymize_opportunity(self, req, body):
        return self.render_opp(self.anonymize_opp(body["id"]), EXPANDABLE, None)

    @admin_route("POST", "/_admin/on-page")
    def admin_on_page(self, req, body):
        do = body["do"]
        if do not in self.ADMIN_ACTIONS:
            raise ValueError("do must be one of %s" % ", ".join(sorted(self.ADMIN_ACTIONS)))
        page = int(body["page"])
        if page < 1:
            raise ValueError("page counts from 1")
        path = body.get("path", "/v1/opportunities")
        self.pages_by_path[path] = 0
        self.hooks.append({"page": page, "do": do, "body": dict(body.get("body") or {}),
                           "path": path})
        return {"ok": True, "hooks": len(self.hooks)}

    def generate(self, n, k, seed, confidential_every=0, null_updated_every=0, span_days=30):
        if not 0 <= n <= 2000000 or not 1 <= k <= 20:
            raise ValueError("people 0..2000000, opportunities per person 1..20")
        rng = random.Random(seed)
        rand = rng.random
        now = self.now_ms()
        span = int(float(span_days) * 86400 * 1000)
        start = now - span
        postings = [p for p in self.postings if not self.postings[p]["confidential"]]
        hired = [r for r in self.reasons if self.reasons[r]["type"] == "hired"]
        nonhired = [r for r in self.reasons if self.reasons[r]["type"] == "non-hired"]
        stage_ids = [s[0] for s in STAGES]
        src_tuples = [(x,) for x in SOURCES]
        ids = []
        for i in range(n):
            cid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            if cid in self.contacts:
                raise ValueError("seed %r was used before in this world" % (seed,))
            f, la = FIRST[int(rand() * len(FIRST))], LAST[int(rand() * len(LAST))]
            num = len(self.contacts) + 1
            email = "%s.%s.%d@example.com" % (f.lower(), la.lower(), num)
            if num % 5 == 0:
                email = "%s.%s.%d@Example.COM" % (f, la, num)
            phone = "+1415555%04d" % (num % 10000) if num % 3 else \
                "(415) 555-%04d" % (num % 10000)
            con = Contact(cid, "%s %s" % (f, la), (email,), (("mobile", phone),))
            self.contacts[cid] = con
            self.by_contact[cid] = []
            created = start + span * i // max(n, 1)
            company = COMPANIES[int(rand() * len(COMPANIES))]
            for _ in range(k):
                o = Opp()
                o.id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                o.contact = cid
                o.stage = stage_ids[int(rand() * len(stage_ids))]
                o.created = created + int(rand() * 1000)
                o.updated = o.created + int(rand() * (now - o.created))
                if null_updated_every and (i + 1) % null_updated_every == 0:
                    o.updated = None
                o.advanced = o.created
                r = rand()
                o.reason = None if r < 0.7 else nonhired[int(rand() * len(nonhired))] \
                    if r < 0.9 else hired[0]
                o.archived_at = (o.updated or o.created) if o.reason else None
                o.confidential = bool(confidential_every) and (i + 1) % confidential_every == 0
                o.sources = src_tuples[int(rand() * len(src_tuples))]
                o.origin = "applied"
                o.tags = ()
                o.posting = postings[int(rand() * len(postings))]
                o.company = company
                o.app_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                o.anonymized = False
                self.insert_opp(o)
            ids.append(cid)
        self.last_write_ms = max(self.last_write_ms, now)
        return ids

    @admin_route("POST", "/_admin/generate")
    def admin_generate(self, req, body):
        ids = self.generate(int(body.get("people", 0)),
                            int(body.get("opportunities_per_person", 1)),
                            body.get("seed", 1), int(body.get("confidential_every", 0)),
                            int(body.get("null_updated_every", 0)),
                            body.get("span_days", 30))
        return {"contacts": len(ids), "opportunities": len(self.opps),
                "first": ids[0] if ids else None, "last": ids[-1] if ids else None}

    # --- canonical admin ---------------------------------------------------------------------

    @admin_route("POST", "/_admin/canon/generate")
    def canon_generate(self, req, body):
        common.check_known("canon/generate keys", {"people", "seed", "apps_per_person"}, body)
        return {"ids": self.generate(int(body.get("people", 0)),
                                     int(body.get("apps_per_person", 1)), body.get("seed", 1))}

    @admin_route("GET", "/_admin/canon/people")
    def canon_people(self, req, body):
        people = [self.person(c) for c in sorted(self.contacts) if self.by_contact.get(c)]
        if req.arg("applied_at"):   # ?applied_at=1: the current opportunity's createdAt
            for p in people:
                p["applied_at"] = common.iso_ms(self.current(p["id"]).created)
        return {"people": people}

    CANON_P = {"first_name", "last_name", "emails", "phones", "title", "company", "stage",
               "status", "job", "source", "anonymized", "private"}

    @staticmethod
    def canon_name(first, last):
        return " ".join(x for x in (first or "", last or "") if x)

    @admin_route("POST", "/_admin/canon/add")
    def canon_add(self, req, body):
        common.check_known("person fields", self.CANON_P, body)
        status = body.get("status", "active")
        if status not in ("active", "rejected", "hired", "withdrawn", "archived"):
            raise ValueError("status must be active, rejected, hired, withdrawn or archived")
        stamp = self.write_stamp()
        con = self.new_contact({"name": self.canon_name(body.get("first_name"),
                                                        body.get("last_name")),
                                "emails": body.get("emails", []),
                                "phones": [{"type": "mobile", "value": p}
                                           for p in body.get("phones", [])]})
        o = self.add_opportunity({"contact": con.id, "stage": body.get("stage"),
                                  "posting": body.get("job") or POSTINGS[0][0],
                                  "reason": REASON_FOR_STATUS.get(status),
                                  "confidential": bool(body.get("private")),
                                  "sources": [body["source"]] if body.get("source") else [],
                                  "company": body.get("company")}, stamp)
        if status == "archived":
            o.archived_at = stamp
        if body.get("anonymized"):
            self.anonymize_opp(o.id)
        return {"id": con.id}

    def canon_find(self, body):
        return self.find(self.contacts, body["id"], "person")

    @admin_route("POST", "/_admin/canon/edit")
    def canon_edit(self, req, body):
        cid = self.canon_find(body)
        common.check_known("edit fields", {"id", "first_name", "last_name", "title", "company",
                                           "emails", "phones"}, body)
        con = self.contacts[cid]
        new = {}
        if "first_name" in body or "last_name" in body:
            f, la = split_name(con.name)
            new["name"] = self.canon_name(body.get("first_name", f), body.get("last_name", la))
        if "emails" in body:
            new["emails"] = body["emails"]
        if "phones" in body:
            new["phones"] = [{"type": "mobile", "value": p} for p in body["phones"]]
        # title: Lever has no job-title field; accepted and ignored (P.title stays null).
        if new:
            self.edit_contact(cid, new)
        if "company" in body:
            self.edit_opportunity(self.current(cid).id, {"company": body["company"]})
        return self.person(cid)

    @admin_route("POST", "/_admin/canon/stage")
    def canon_stage(self, req, body):
        cid = self.canon_find(body)
        self.edit_opportunity(self.current(cid).id, {"stage": body["stage"]})
        return self.person(cid)

    @admin_route("POST", "/_admin/canon/status")
    def canon_status(self, req, body):
        cid = self.canon_find(body)
        st = body["status"]
        if st not in ("rejected", "hired", "active"):
            raise ValueError("status must be rejected, hired or active")
        self.edit_opportunity(self.current(cid).id, {"reason": REASON_FOR_STATUS.get(st)})
        return self.person(cid)

    @admin_route("POST", "/_admin/canon/delete")
    def canon_delete(self, req, body):
        cid = self.canon_find(body)
        for oid in list(self.by_contact[cid]):
            self.delete_opp(oid)
        return {"ok": True}

    @admin_route("POST", "/_admin/canon/anonymize")
    def canon_anonymize(self, req, body):
        cid = self.canon_find(body)
        for oid in list(self.by_contact[cid]):
            self.anonymize_opp(oid)
        return self.person(cid)

    @admin_route("POST", "/_admin/canon/merge")
    def canon_merge(self, req, body):
        raise HttpError(400, {"error": "Lever has no candidate merges (a contact links its "
                                       "opportunities)"})

    ADMIN_ACTIONS = {
        "edit-contact": lambda s, r, b: s.admin_edit_contact(r, b),
        "edit-opportunity": lambda s, r, b: s.admin_edit_opportunity(r, b),
        "delete-opportunity": lambda s, r, b: s.admin_delete_opportunity(r, b),
        "anonymize-opportunity": lambda s, r, b: s.admin_anonymize_opportunity(r, b),
        "canon/edit": lambda s, r, b: s.canon_edit(r, b),
        "canon/stage": lambda s, r, b: s.canon_stage(r, b),
        "canon/status": lambda s, r, b: s.canon_status(r, b),
    }


if __name__ == "__main__":
    common.main(LeverFake)
