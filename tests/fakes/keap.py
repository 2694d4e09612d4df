"""Keap fake: a stateful stand-in for Keap's REST v2 API, its Apigee gateway and its OAuth server.

Run: python3 tests/fakes/keap.py --port-file /tmp/port [--rps 25] [--daily-quota N] [...]; see
--help and common.py. The client's base URL is https://localhost:PORT/crm/rest (the prefix is
--prefix) and its token URL https://localhost:PORT/token.

Sources (read, not remembered): Keap's v2 OpenAPI (shared/specs/keap/swagger.yml, condensed by
keap_schemas.py into keap_schemas.json), the v1 OpenAPI for background, and
shared/research/keap-api.md ("research" below; its section numbers are cited as §N).

What is modelled
----------------
Gateway (runs before routing, like Apigee, so an unknown path without credentials is a 401):
  * Credentials: "Authorization: Bearer <access token>" (OAuth) or "X-Keap-API-Key: <key>"
    (PAT/SAK configured in the state). Failures are 401 in the gateway envelope
    {"fault":{"faultstring":..,"detail":{"errorcode":..}}}:
      no credential                     "Invalid access token" / oauth.v2.InvalidAccessToken
      unknown or revoked bearer token   "Invalid Access Token" /
                                        keymanagement.service.invalid_access_token
      expired bearer token              "Access Token expired" /
                                        keymanagement.service.access_token_expired
      unknown X-Keap-API-Key            "Invalid ApiKey" / oauth.v2.InvalidApiKey
    The two first are measured (research §8); the expired and API-key codes are Apigee's
    generic ones (research: NOT FOUND for Keap).
  * Rate limits (research §7), counted only for authenticated requests, in this order:
      spike arrest    per second, sliding 1 s window (--rps, default 25), no headers
      product quota   per day per product (OAuth client id or API key), resets 00:00 UTC
                      (--daily-quota, default 150000)
      product throttle per minute, rolling 60 s window (--per-minute, default 1500)
      tenant          per minute and per day, whole fake (--tenant-per-minute 10000,
                      --tenant-daily-quota 250000)
    A limit of 0 disables it (and its header family is then left out). A request refused by
    one limit consumes none. Refusal: 429 with
    the gateway envelope (errorcode policies.ratelimit.SpikeArrestViolation or
    policies.ratelimit.QuotaViolation), or with --429-body v2 the other shape seen on the wire,
    {"code":"429","message":"Quota Exceeded","status":"Request Throttled","details":null}.
    Retry-After (--retry-after): "seconds" (integer, rounded up), "http-date" (IMF-fixdate), or
    "none" (absent: research says it is NOT CONFIRMED that Keap sends one).
    Every authenticated API response (2xx, 4xx, 429; not 401, not /token) carries:
      x-keap-product-quota-limit / -time-unit (day) / -interval (1) / -available / -used /
        -expiry-time (epoch ms of the next 00:00 UTC)
      x-keap-product-throttle-limit / -time-unit (minute) / -interval (1) / -available / -used
      x-keap-tenant-throttle-limit / -time-unit / -interval / -available / -used, pipe-delimited
        "minute|day" windows by default (research §7.2 gotcha; --tenant-headers single sends
        only the minute window), and x-keap-tenant-id.
    429s are counted by limit in GET /_admin/stats.
  * Permissions: every access token, refresh token (inherited by the tokens it mints) and API
    key carries a permission set (contacts:read contacts:write contacts:delete tags:read
    tags:write tags:apply model:read). A missing one is a 403 in v2's error shape. Real Keap
    has one OAuth scope ("full"); the set stands for the acting user's permissions (a
    restricted user's PAT, research §8 "403").

OAuth server at /token (research §6.1): form-encoded POST; client authentication by HTTP Basic
(client_id:client_secret) or client_id/client_secret form fields.
  * grant_type=authorization_code with code + redirect_uri (codes issued by the admin API;
    single use; redirect_uri must equal the one the code was issued for).
  * grant_type=refresh_token: refresh tokens are single use and ROTATE: each refresh returns a
    new access and refresh token and the old refresh token is dead; reuse -> 400
    {"error":"invalid_grant","error_description":"Invalid refresh token"}. Access tokens live
    --access-lifetime seconds (default 86400, Keap's 24 h), refresh tokens --refresh-lifetime
    (default 45 days). A rotated-away refresh token's access token stays valid until it expires
    (no statement either way in the research).
  * Response: {"access_token","refresh_token","expires_in","token_type":"bearer",
    "scope":"full|<tenant>"}. Bad client: 401 invalid_client; missing parameter or a JSON body:
    400 invalid_request; unknown grant type: 400 unsupported_grant_type.

API (v2 paths as swagger.yml names them, under the prefix):
  GET    /v2/contacts                     listContacts: page_size (0..1000, 0 = default),
         page_token, fields (comma-joined), order_by ("<field> <asc|desc>", fields id,
         create_time, email, update_time), filter (field==value clauses joined by ';')
  POST   /v2/contacts[?duplicate_option=Email|EmailAndName|EmailAndNameAndCompany]
         createContact: 201 created; with duplicate_option and a match, 200 and the match is
         updated (fields present overwrite, lists present are replaced whole)
  GET    /v2/contacts/{contact_id}[?fields=]           getContact
  PATCH  /v2/contacts/{contact_id}?update_mask=a&update_mask=b[&fields=]   updateContact
  DELETE /v2/contacts/{contact_id}        204
  GET    /v2/contacts/model               retrieveContactModel {custom_fields, optional_properties}
  GET    /v2/contacts/{contact_id}/tags   listTagsForContact
  GET    /v2/tags, POST /v2/tags (201), GET|PATCH|DELETE /v2/tags/{tag_id}
  GET    /v2/tags/categories, POST (201), GET|PATCH|DELETE /v2/tags/categories/{tag_category_id}
  POST   /v2/tags/{tag_id}/contacts:applyTags  {"contact_ids":[..]} -> 200
         {"results":{"<id>":"SUCCESS"|"DUPLICATE"|"CONTACT_NOT_FOUND"|"FAILURE"}}
  POST   /v2/tags/{tag_id}/contacts:removeTags {"contact_ids":[..]} -> 204
  GET    /v2/tags/{tag_id}/contacts       listContactsWithTagId
  GET    /v2/oauth/connect/userinfo       getUserInfo
  Anything else under the prefix (v1 included) is a 404 in v2's error shape.

Validation and conformance. Every write body is validated against the request schema of its
operation in keap_schemas.json (types, required, enums, lengths, uniqueItems, formats,
additionalProperties where given) and every query parameter against its schema and the value
lists the spec documents (fields, order_by, filter). A violation is a 400 in v2's error shape
{"code":400,"message":..,"status":"Bad Request","details":[{"domain":..,"resource":..}]} AND a
conformance failure: appended to the state's list (GET /_admin/conformance) and flagged in the
request log line with "conformance_failure": true. Also recorded, though Keap would answer 2xx
and so does the fake: properties the spec does not define (Keap ignores them silently, which
hides client bugs such as sending tag_ids on a contact; --unknown-properties reject makes them
400, ignore stops recording them), query parameters the operation does not define (research:
an unknown ?email= is ignored and returns everything), deprecated properties (Address.region,
Address.country), update_mask as one comma-joined value instead of repeated keys, a PATCH without
update_mask, an API key sent as Bearer, a non-form /token request. Keap's documented rules beyond
the schema are enforced with 400 + record: a create needs an email, phone or address;
country_code is required with region; slots (EMAIL1.., PHONE1.., BILLING..) unique per list;
per-slot lengths from the field descriptions; custom field ids must exist in the model and
values must fit the field type (DROPDOWN/RADIO: an option label; DATE: YYYY-MM-DD; DATE_TIME:
ISO-8601 with offset; numbers; YES_NO: boolean; LIST_BOX: list of labels or comma-joined labels);
at most --max-tag-batch (default 100) contact ids per applyTags/removeTags call.

A conformance record (GET /_admin/conformance, a JSON list) is {id, ts, method, path, query
(secret-looking values redacted), operation (operationId or "token"), kind, errors: [text],
status (what the fake answered; 200 for recorded-but-accepted)}; kind is one of schema, query,
contract, value, unknown_property, deprecated, policy, auth. The request log line of the same
request carries "conformance_failure": true and "conformance_ids": [id, ...].

Contacts: ids are decimal strings; create_time/update_time are ISO-8601 UTC with milliseconds
and "Z"; update_time is set on every write (create, upsert, PATCH, applyTags that adds a tag,
removeTags that removes one, admin edit) and strictly increases across writes, so an
incremental reader using start_update_time sees its own writes. Fields returned without
`fields=` are the model's non-optional ones; custom_fields, tag_ids, job_title and the other
entries of the model's optional_properties come only when asked for (research §2.2, §9.6).

Where spec and research disagree or are silent (and what this fake does):
  * Error.code is int32 in the spec; the wire has shown it as a string (research §7.4). The
    fake sends an integer; --error-code string makes every v2 error carry a string.
  * Error.status: no enum in the spec; the only wire sample is a phrase ("Request Throttled"),
    so the fake sends the HTTP reason phrase ("Bad Request", "Not Found", "Forbidden").
  * 429 and the gateway envelope are declared nowhere in the spec; shapes follow research §7.4.
  * next_page_token on the last page: not in the spec (research: NOT FOUND). Default "" (empty
    string); --last-page absent omits the key, null sends null. --trailing-empty-page makes a
    full last page carry a token that leads to an empty page. Tokens are bound to the filter
    and order_by they were issued for (a mismatch is 400 + record).
  * Default page_size: not in the spec; 100 here (--default-page-size).
  * start_update_time is inclusive, end_update_time exclusive (the spec does not say).
    Values must be full ISO-8601 date-times with milliseconds and an offset, as the spec says.
  * update_mask semantics: the spec says only the listed properties are updated. A property in
    the mask but absent from the body is CLEARED (Google AIP-134 behaviour, which this API's
    shape follows; not stated by Keap). A mask entry that is in the enum but not a request
    property (id, create_time, update_time, tag_ids, links, notes, ...) is a 400.
  * Lists in the body (email_addresses, phone_numbers, addresses, fax_numbers, social_accounts,
    custom_fields) replace the stored list WHOLE, on PATCH and on an upsert that matched, as the
    spec's property descriptions say. Email/phone/address entries without a slot get the first
    free one.
  * duplicate_option=Email matches any request email against any of a contact's three emails,
    case-insensitively; several matches -> the lowest id (research: all NOT FOUND).
    EmailAndNameAndCompany also needs equal company.id (the formal company, research §2.4).
  * applyTags statuses are v1's (v2 does not enumerate them). Applying a tag bumps update_time
    (unknown for Keap; --no-tag-bumps-update-time turns it off).
  * Custom field value formats are NOT documented (research §3); the rules above are the
    fake's. Custom fields without a value are not returned.
  * The tag batch cap is unknown (research §4); 100 is the research's suggestion.
  * The spec's server is https://api.keap.com/crm with paths /rest/v2/...; research and Keap's
    docs use https://api.infusionsoft.com/crm/rest + /v2/... Both give the same URLs; the fake
    serves <prefix>/v2/... with prefix /crm/rest. v1 is not modelled (404).
  * applyTags' test hook: settings.tag_fail_contacts lists contact ids that get "FAILURE".

Admin endpoints (besides common.py's state/faults/requests/reset-log/shutdown):
  GET  /_admin/conformance            the conformance failures (a JSON list)
  POST /_admin/conformance/reset      clear them
  GET  /_admin/stats                  request, status, 401/403/429 counts, 429s by limit
  POST /_admin/stats/reset
  GET  /_admin/tokens                 every access/refresh token, API key and auth code
  POST /_admin/tokens                 {client_id?, permissions?, access_lifetime_s?} -> a pair
  POST /_admin/auth-codes             {redirect_uri, client_id?, code?, permissions?} -> {code}
  GET  /app/oauth/authorize           the authorize page, approved at once: 302 to
                                      redirect_uri?code=..&state=.. (codes single-use, expiring
                                      after lifetimes.code_s; settings.authorize_deny: denied)
  POST /_admin/api-keys               {key?, kind?: SAK|PAT, permissions?} -> {key}
  POST /_admin/expire-access-tokens   {token?} expire one or all access tokens
  POST /_admin/revoke                 {token} revoke an access or refresh token or API key
  POST /_admin/permissions            {permissions: [..], target?: "all"|token|key}; "all"
                                      (default) also sets the default for new tokens
  POST /_admin/lifetimes              {access_s?, refresh_s?, code_s?}
  GET|POST /_admin/limits             read / merge the rate limits (see limits in the state)
  POST /_admin/reset-counters         forget rate-limit windows and daily counts
  GET|POST /_admin/settings           read / merge behaviour settings (see settings in state)
  GET|POST /_admin/clock              {advance_s} or {offset_s}: shift the fake's clock
  GET  /_admin/contact?id=ID          one contact with every field
  POST /_admin/edit-contact           {id, set: {CreateUpdateContactRequest fields}, clear: [..],
                                      add_tags: [..], remove_tags: [..]}: a person editing the
                                      contact in Keap (lists in set replace whole); bumps
                                      update_time
  POST /_admin/delete-contact         {id}
  POST /_admin/generate-contacts      {count, seed?, domain?}: bulk contacts for benchmarks
GET/POST /_admin/state dumps/loads the world: settings, limits, lifetimes, clock, contacts,
model, tags, tag_categories, clients, tokens, api_keys, auth_codes, counters, stats,
conformance. Missing sections get defaults unless the object has "_merge": true, which keeps
the current value of every section it does not name.
"""

import base64
import collections
import datetime
import email.utils
import hashlib
import json
import math
import os
import random
import re
import secrets
import sys
import threading
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common  # noqa: E402
from common import HttpError, StatefulFake, admin_route, iso_ms, route  # noqa: E402

SCHEMAS_PATH = os.path.join(HERE, "keap_schemas.json")

PERMISSIONS = ("contacts:read", "contacts:write", "contacts:delete", "tags:read", "tags:write",
               "tags:apply", "model:read")
LIST_FIELDS = ("addresses", "custom_fields", "email_addresses", "fax_numbers", "phone_numbers",
               "social_accounts")
# Returned without fields=; the rest of the spec's available list is optional (model's
# optional_properties).
DEFAULT_FIELDS = ("id", "given_name", "middle_name", "family_name", "preferred_name", "prefix",
                  "suffix", "email_addresses", "phone_numbers", "addresses", "company",
                  "owner_id", "contact_type", "source_type", "create_time", "update_time")
SLOTS = {
    "email_addresses": ("EMAIL1", "EMAIL2", "EMAIL3"),
    "phone_numbers": ("PHONE1", "PHONE2", "PHONE3", "PHONE4", "PHONE5"),
    "fax_numbers": ("FAX1", "FAX2"),
    "addresses": ("BILLING", "SHIPPING", "OTHER"),
}
UNSPECIFIED = {"EMAIL_FIELD_UNSPECIFIED", "PHONE_NUMBER_FIELD_UNSPECIFIED",
               "FAX_NUMBER_FIELD_UNSPECIFIED", "ADDRESS_FIELD_UNSPECIFIED"}
TAG_RESULTS = ("SUCCESS", "DUPLICATE", "CONTACT_NOT_FOUND", "FAILURE")
ISO_MS_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3,9})"
                       r"(Z|[+-]\d{2}:\d{2})$")
ISO_ANY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DAY_MS = 86400 * 1000

_tl = threading.local()  # per request thread: ids of conformance records of this request


# ---------------------------------------------------------------------------------------------
# Time

def parse_iso(s, need_ms=False):
    """ISO-8601 date-time with an offset -> epoch ms, or None. need_ms: the spec's filter form
    (milliseconds and offset required)."""
    if not isinstance(s, str):
        return None
    if need_ms and not ISO_MS_RE.match(s):
        return None
    if not need_ms and not ISO_ANY_RE.match(s):
        return None
    t = s.replace("Z", "+00:00")
    m = re.match(r"^(.*T\d{2}:\d{2}(?::\d{2})?)(\.\d+)?([+-]\d{2}:?\d{2})$", t)
    if m is None:
        return None
    frac = (m.group(2) or ".0")[1:]
    off = m.group(3)
    if ":" not in off:
        off = off[:3] + ":" + off[3:]
    try:
        d = datetime.datetime.fromisoformat(m.group(1) + off)
    except ValueError:
        return None
    return int(d.timestamp()) * 1000 + int((frac + "000")[:3])


def next_midnight_ms(now_ms):
    return (now_ms // DAY_MS + 1) * DAY_MS


# ---------------------------------------------------------------------------------------------
# Schema validation (the subset of JSON Schema / OpenAPI 3.1 that keap_schemas.json uses)

class Schemas:
    def __init__(self, path=SCHEMAS_PATH):
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        self.ops = doc["operations"]
        self.schemas = doc["schemas"]
        self.source = doc.get("source", {})

    def resolve(self, schema):
        while isinstance(schema, dict) and "$ref" in schema:
            schema = self.schemas[schema["$ref"]]
        return schema

    def validate(self, schema, value, where="$", errors=None, unknown=None, deprecated=None):
        """Appends messages for violations to errors, paths of properties the schema does not
        define (where additionalProperties is not given) to unknown, and paths of deprecated
        properties used to deprecated. Returns errors."""
        errors = [] if errors is None else errors
        unknown = [] if unknown is None else unknown
        deprecated = [] if deprecated is None else deprecated
        s = self.resolve(schema)
        if not isinstance(s, dict):
            return errors
        for sub in s.get("allOf", ()):
            self.validate(sub, value, where, errors, unknown, deprecated)
        for key in ("anyOf", "oneOf"):
            if key in s:
                ok = sum(1 for sub in s[key] if not self.validate(sub, value, where, [], [], []))
                if ok == 0 or (key == "oneOf" and ok > 1):
                    errors.append("%s: does not match %s" % (where, key))
        t = s.get("type")
        if t is not None:
            types = t if isinstance(t, list) else [t]
            if s.get("nullable") and "null" not in types:
                types = types + ["null"]
            if not any(_is_type(value, ty) for ty in types):
                errors.append("%s: expected %s, got %s" % (where, "|".join(types),
                                                            _json_type(value)))
                return errors
        if "enum" in s and value not in s["enum"]:
            errors.append("%s: %s is not one of %s" % (where, json.dumps(value),
                                                       ", ".join(map(str, s["enum"]))))
        if "const" in s and value != s["const"]:
            errors.append("%s: must be %s" % (where, json.dumps(s["const"])))
        if isinstance(value, str):
            if "maxLength" in s and len(value) > s["maxLength"]:
                errors.append("%s: longer than %d characters" % (where, s["maxLength"]))
            if "minLength" in s and len(value) < s["minLength"]:
                errors.append("%s: shorter than %d characters" % (where, s["minLength"]))
            if "pattern" in s and re.search(s["pattern"], value) is None:
                errors.append("%s: does not match %s" % (where, s["pattern"]))
            if s.get("format") == "date-time" and parse_iso(value) is None:
                errors.append("%s: not an ISO-8601 date-time" % where)
        if _is_type(value, "number"):
            if "minimum" in s and value < s["minimum"]:
                errors.append("%s: less than %s" % (where, s["minimum"]))
            if "maximum" in s and value > s["maximum"]:
                errors.append("%s: greater than %s" % (where, s["maximum"]))
            fmt = s.get("format")
            if fmt in ("int32", "int64") and _is_type(value, "integer"):
                bits = 31 if fmt == "int32" else 63
                if not -2 ** bits <= value < 2 ** bits:
                    errors.append("%s: out of %s range" % (where, fmt))
        if isinstance(value, list):
            if "minItems" in s and len(value) < s["minItems"]:
                errors.append("%s: fewer than %d items" % (where, s["minItems"]))
            if "maxItems" in s and len(value) > s["maxItems"]:
                errors.append("%s: more than %d items" % (where, s["maxItems"]))
            if s.get("uniqueItems"):
                seen = set()
                for i, v in enumerate(value):
                    k = json.dumps(v, sort_keys=True)
                    if k in seen:
                        errors.append("%s[%d]: duplicate item %s" % (where, i, k))
                    seen.add(k)
            if "items" in s:
                for i, v in enumerate(value):
                    self.validate(s["items"], v, "%s[%d]" % (where, i), errors, unknown,
                                  deprecated)
        if isinstance(value, dict):
            props = s.get("properties", {})
            for r in s.get("required", ()):
                if r not in value:
                    errors.append("%s: required property %s is missing" % (where, r))
            extra = s.get("additionalProperties")
            for k, v in value.items():
                sub = "%s.%s" % (where, k)
                if k in props:
                    if isinstance(props[k], dict) and props[k].get("deprecated"):
                        deprecated.append(sub)
                    self.validate(props[k], v, sub, errors, unknown, deprecated)
                elif extra is False:
                    errors.append("%s: property not allowed" % sub)
                elif isinstance(extra, dict):
                    self.validate(extra, v, sub, errors, unknown, deprecated)
                elif extra is None and (props or "type" in s):
                    unknown.append(sub)
        return errors


def _json_type(v):
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


_PY_TYPES = {"string": str, "boolean": bool, "object": dict, "array": list, "null": type(None)}


def _is_type(v, t):
    if t == "integer":
        return (isinstance(v, int) and not isinstance(v, bool)) or \
            (isinstance(v, float) and v.is_integer())
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    return isinstance(v, _PY_TYPES.get(t, object))


# ---------------------------------------------------------------------------------------------
# Defaults

DEFAULT_SETTINGS = {
    "last_page_token": "empty",        # "empty" | "absent" | "null"
    "trailing_empty_page": False,
    "default_page_size": 100,
    "error_code": "int",               # "int" | "string"
    "authorize_deny": False,           # /app/oauth/authorize answers error=access_denied
    "unknown_properties": "record",    # "record" | "reject" | "ignore"
    "max_tag_batch": 100,
    "tag_bumps_update_time": True,
    "tag_fail_contacts": [],           # applyTags reports FAILURE for these contact ids
    "require_update_mask": True,       # a PATCH without update_mask is recorded
}
DEFAULT_LIMITS = {
    "spike_per_second": 25,
    "product_per_minute": 1500,
    "product_per_day": 150000,
    "tenant_per_minute": 10000,
    "tenant_per_day": 250000,
    "retry_after": "seconds",          # "seconds" | "http-date" | "none"
    "body_429": "fault",               # "fault" | "v2"
    "tenant_headers": "pipe",          # "pipe" | "single"
}
DEFAULT_LIFETIMES = {"access_s": 86400, "refresh_s": 45 * 86400, "code_s": 600}
DEFAULT_CLIENT = {"client_id": "atsrecon-test-client", "client_secret": "atsrecon-test-secret"}
DEFAULT_TENANT = "fake123.infusionsoft.com"


def default_model():
    def f(id_, label, ftype, name, options=()):
        d = {"id": id_, "label": label, "options": [{"id": str(i + 1), "label": o}
                                                    for i, o in enumerate(options)],
             "record_type": "CONTACT", "field_type": ftype, "group_id": "1",
             "group_name": "ATS", "field_name": name}
        return d
    return {
        "custom_fields": [
            f("11", "ATS Candidate ID", "TEXT", "ATSCandidateID"),
            f("13", "ATS Source", "DROPDOWN", "ATSSource",
              ("LinkedIn", "Referral", "Job Board", "Careers Page", "Agency")),
            f("15", "ATS Applied Date", "DATE", "ATSAppliedDate"),
            f("17", "ATS Stage", "TEXT", "ATSStage"),
            f("19", "ATS Last Activity", "DATE_TIME", "ATSLastActivity"),
            f("21", "ATS Score", "WHOLE_NUMBER", "ATSScore"),
            f("23", "ATS Hired", "YES_NO", "ATSHired"),
            f("25", "ATS Skills", "LIST_BOX", "ATSSkills", ("C", "Python", "SQL", "Go")),
        ],
        "optional_properties": None,  # None: every available field not in DEFAULT_FIELDS
    }


# ---------------------------------------------------------------------------------------------
# The fake

class KeapFake(StatefulFake):
    """Keap REST v2 fake (contacts, tags, model), its OAuth token endpoint and its gateway."""

    default_settings = DEFAULT_SETTINGS
    default_limits = DEFAULT_LIMITS

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.schemas = Schemas()
        self.prefix = "/crm/rest"
        self.reset_world()

    # --- world -------------------------------------------------------------------------------

    def reset_world(self):
        super().reset_world()
        self.lifetimes = dict(DEFAULT_LIFETIMES)
        self.tenant_id = DEFAULT_TENANT
        self.contacts = {}          # id -> internal record (see store_contact)
        self.next_ids = {"contact": 1001, "tag": 101, "category": 11, "key": 1}
        self.model = default_model()
        self.tags = {}              # id -> {id, name, description, category_id, create, update}
        self.categories = {}        # id -> {id, name, description, create, update}
        self.clients = {DEFAULT_CLIENT["client_id"]: dict(DEFAULT_CLIENT)}
        self.access_tokens = {}     # token -> {client_id, permissions, issued, expires, revoked}
        self.refresh_tokens = {}    # token -> {client_id, permissions, issued, expires, state,
        #                                      replaced_by}
        self.api_keys = {}          # key -> {kind, permissions, revoked}
        self.auth_codes = {}        # code -> {client_id, redirect_uri, permissions, expires, used}
        self.default_permissions = list(PERMISSIONS)
        self.windows = {}           # (scope, id) -> deque of ms (transient)
        self.day_counts = {}        # (scope, id) -> [day number, count]
        self.conformance = []

    @staticmethod
    def new_stats():
        return {"requests": 0, "by_operation": {}, "by_status": {}, "401": 0, "403": 0,
                "429": 0, "429_by_limit": {"spike": 0, "product_day": 0, "product_minute": 0,
                                           "tenant_day": 0, "tenant_minute": 0},
                "token_requests": 0, "refreshes": 0, "writes": 0}

    def new_id(self, kind):
        n = self.next_ids[kind]
        self.next_ids[kind] = n + 1
        return str(n)

    # --- CLI hooks ---------------------------------------------------------------------------

    @classmethod
    def add_arguments(cls, p):
        g = p.add_argument_group("keap")
        g.add_argument("--prefix", default="/crm/rest", help="API path prefix (%(default)s)")
        g.add_argument("--tenant-id", default=DEFAULT_TENANT)
        g.add_argument("--rps", type=int, default=DEFAULT_LIMITS["spike_per_second"],
                       help="spike arrest, requests per second (0: off)")
        g.add_argument("--per-minute", type=int, default=DEFAULT_LIMITS["product_per_minute"],
                       help="product throttle per rolling minute (0: off)")
        g.add_argument("--daily-quota", type=int, default=DEFAULT_LIMITS["product_per_day"],
                       help="product quota per UTC day (0: off)")
        g.add_argument("--tenant-per-minute", type=int,
                       default=DEFAULT_LIMITS["tenant_per_minute"])
        g.add_argument("--tenant-daily-quota", type=int, default=DEFAULT_LIMITS["tenant_per_day"])
        g.add_argument("--retry-after", choices=("seconds", "http-date", "none"),
                       default="seconds", help="Retry-After on 429 (%(default)s)")
        g.add_argument("--429-body", dest="body_429", choices=("fault", "v2"), default="fault")
        g.add_argument("--tenant-headers", choices=("pipe", "single"), default="pipe")
        g.add_argument("--access-lifetime", type=int, default=DEFAULT_LIFETIMES["access_s"],
                       help="access token lifetime in seconds (%(default)s)")
        g.add_argument("--refresh-lifetime", type=int, default=DEFAULT_LIFETIMES["refresh_s"])
        g.add_argument("--client-id", default=DEFAULT_CLIENT["client_id"])
        g.add_argument("--client-secret", default=DEFAULT_CLIENT["client_secret"])
        g.add_argument("--access-token", action="append", default=[], metavar="TOKEN",
                       help="pre-issue this access token (repeatable)")
        g.add_argument("--refresh-token", action="append", default=[], metavar="TOKEN",
                       help="pre-issue this refresh token (repeatable)")
        g.add_argument("--api-key", action="append", default=[], metavar="KEY",
                       help="accept this X-Keap-API-Key (repeatable)")
        g.add_argument("--last-page", choices=("empty", "absent", "null"), default="empty",
                       help="next_page_token on the last page (%(default)s)")
        g.add_argument("--trailing-empty-page", action="store_true")
        g.add_argument("--default-page-size", type=int,
                       default=DEFAULT_SETTINGS["default_page_size"])
        g.add_argument("--error-code", choices=("int", "string"), default="int")
        g.add_argument("--unknown-properties", choices=("record", "reject", "ignore"),
                       default="record")
        g.add_argument("--max-tag-batch", type=int, default=DEFAULT_SETTINGS["max_tag_batch"])
        g.add_argument("--no-tag-bumps-update-time", dest="tag_bumps", action="store_false")

    def configure(self, a):
        with self.lock:
            self.prefix = "/" + a.prefix.strip("/") if a.prefix.strip("/") else ""
            self.tenant_id = a.tenant_id
            self.limits.update(spike_per_second=a.rps, product_per_minute=a.per_minute,
                               product_per_day=a.daily_quota,
                               tenant_per_minute=a.tenant_per_minute,
                               tenant_per_day=a.tenant_daily_quota, retry_after=a.retry_after,
                               body_429=a.body_429, tenant_headers=a.tenant_headers)
            self.lifetimes.update(access_s=a.access_lifetime, refresh_s=a.refresh_lifetime)
            self.clients = {a.client_id: {"client_id": a.client_id,
                                          "client_secret": a.client_secret}}
            self.settings.update(last_page_token=a.last_page,
                                 trailing_empty_page=a.trailing_empty_page,
                                 default_page_size=a.default_page_size,
                                 error_code=a.error_code,
                                 unknown_properties=a.unknown_properties,
                                 max_tag_batch=a.max_tag_batch,
                                 tag_bumps_update_time=a.tag_bumps)
            self.cli_defaults = {"settings": dict(self.settings), "limits": dict(self.limits),
                                 "lifetimes": dict(self.lifetimes), "clients": dict(self.clients),
                                 "access": list(a.access_token),
                                 "refresh": list(a.refresh_token), "keys": list(a.api_key)}
            self.issue_cli_credentials()

    def issue_cli_credentials(self):
        cli = getattr(self, "cli_defaults", None)
        if not cli:
            return
        cid = self.first_client()
        for t in cli["access"]:
            self.issue_access(cid, list(self.default_permissions), token=t)
        for t in cli["refresh"]:
            self.issue_refresh(cid, list(self.default_permissions), token=t)
        for k in cli["keys"]:
            self.api_keys[k] = {"kind": "SAK", "permissions": list(self.default_permissions),
                                "revoked": False}

    # --- state -------------------------------------------------------------------------------

    def dump_state(self):
        return {
            "settings": dict(self.settings),
            "limits": dict(self.limits),
            "lifetimes": dict(self.lifetimes),
            "tenant_id": self.tenant_id,
            "clock_offset_ms": self.clock_offset_ms,
            "next_ids": dict(self.next_ids),
            "contacts": [self.dump_contact(c) for c in self.sorted_contacts()],
            "model": json.loads(json.dumps(self.model)),
            "tags": [self.render_tag(t) for t in sorted(self.tags.values(),
                                                         key=lambda t: int(t["id"]))],
            "tag_categories": [self.render_category(c) for c in
                               sorted(self.categories.values(), key=lambda c: int(c["id"]))],
            "clients": list(self.clients.values()),
            "access_tokens": [dict(v, token=k, expires_at=iso_ms(v["expires"]))
                              for k, v in self.access_tokens.items()],
            "refresh_tokens": [dict(v, token=k, expires_at=iso_ms(v["expires"]))
                               for k, v in self.refresh_tokens.items()],
            "api_keys": [dict(v, key=k) for k, v in self.api_keys.items()],
            "auth_codes": [dict(v, code=k) for k, v in self.auth_codes.items()],
            "default_permissions": list(self.default_permissions),
            "counters": {"|".join(k): {"day": iso_ms(v[0] * DAY_MS)[:10], "count": v[1]}
                         for k, v in self.day_counts.items()},
            "stats": json.loads(json.dumps(self.stats)),
            "conformance": list(self.conformance),
        }

    def load_state(self, obj):
        if not isinstance(obj, dict):
            raise HttpError(400, {"error": "state must be a JSON object"})
        merge = bool(obj.get("_merge"))
        old = self.dump_state() if merge else None
        keep = {}
        if merge:
            keep = {"contacts": self.contacts, "tags": self.tags, "categories": self.categories,
                    "access": self.access_tokens, "refresh": self.refresh_tokens,
                    "keys": self.api_keys, "codes": self.auth_codes, "windows": self.windows,
                    "days": self.day_counts, "last_write": self.last_write_ms}
        cli = getattr(self, "cli_defaults", None)
        self.reset_world()
        if cli:
            self.settings.update(cli["settings"])
            self.limits.update(cli["limits"])
            self.lifetimes.update(cli["lifetimes"])
            self.clients = dict(cli["clients"])
            if not merge:
                self.issue_cli_credentials()
        if merge:
            self.settings.update(old["settings"])
            self.limits.update(old["limits"])
            self.lifetimes.update(old["lifetimes"])
            self.contacts, self.tags, self.categories = keep["contacts"], keep["tags"], \
                keep["categories"]
            self.access_tokens, self.refresh_tokens = keep["access"], keep["refresh"]
            self.api_keys, self.auth_codes = keep["keys"], keep["codes"]
            self.windows, self.day_counts = keep["windows"], keep["days"]
            self.last_write_ms = keep["last_write"]
            for k in ("tenant_id", "clock_offset_ms", "next_ids", "model", "clients",
                      "default_permissions", "stats", "conformance"):
                if k not in obj:
                    obj = dict(obj, **{k: old[k]})
        for key, target in (("settings", self.settings), ("limits", self.limits),
                            ("lifetimes", self.lifetimes)):
            v = obj.get(key)
            if v is not None:
                common.check_known(key, target, v)
                target.update(v)
        self.tenant_id = obj.get("tenant_id", self.tenant_id)
        self.clock_offset_ms = int(obj.get("clock_offset_ms", 0))
        if "next_ids" in obj:
            self.next_ids.update({k: int(v) for k, v in obj["next_ids"].items()})
        if "model" in obj:
            m = obj["model"]
            self.model = {"custom_fields": list(m.get("custom_fields") or []),
                          "optional_properties": m.get("optional_properties")}
        if "clients" in obj:
            self.clients = {c["client_id"]: dict(c) for c in obj["clients"]}
        if "default_permissions" in obj:
            self.default_permissions = self.check_permissions(obj["default_permissions"])
        if "stats" in obj:
            self.stats = self.new_stats()
            self.stats.update(obj["stats"])
        if "conformance" in obj:
            self.conformance = list(obj["conformance"])
        now = self.now_ms()
        if "tag_categories" in obj:
            self.categories = {}
            for c in obj["tag_categories"]:
                cid = str(c.get("id") or self.new_id("category"))
                self.categories[cid] = {
                    "id": cid, "name": c.get("name"), "description": c.get("description"),
                    "create": parse_iso(c.get("create_time")) or now,
                    "update": parse_iso(c.get("update_time")) or now}
        if "tags" in obj:
            self.tags = {}
            for t in obj["tags"]:
                tid = str(t.get("id") or self.new_id("tag"))
                cat = t.get("category") or {}
                self.tags[tid] = {
                    "id": tid, "name": t.get("name"), "description": t.get("description"),
                    "category_id": str(cat["id"]) if cat.get("id") is not None else
                    (str(t["category_id"]) if t.get("category_id") is not None else None),
                    "create": parse_iso(t.get("create_time")) or now,
                    "update": parse_iso(t.get("update_time")) or now}
        if "contacts" in obj:
            self.contacts = {}
            for c in obj["contacts"]:
                rec = self.load_contact(c, now)
                self.contacts[rec["id"]] = rec
        for k, v in obj.items():
            if k == "access_tokens":
                self.access_tokens = {}
                for t in v:
                    self.issue_access(t.get("client_id") or self.first_client(),
                                      t.get("permissions"), token=t["token"],
                                      expires=parse_iso(t.get("expires_at")) or t.get("expires"),
                                      revoked=t.get("revoked", False), issued=t.get("issued"))
            elif k == "refresh_tokens":
                self.refresh_tokens = {}
                for t in v:
                    rec = self.issue_refresh(t.get("client_id") or self.first_client(),
                                             t.get("permissions"), token=t["token"],
                                             expires=parse_iso(t.get("expires_at")) or
                                             t.get("expires"), issued=t.get("issued"))
                    rec["state"] = t.get("state", "active")
                    rec["replaced_by"] = t.get("replaced_by")
            elif k == "api_keys":
                self.api_keys = {t["key"]: {"kind": t.get("kind", "SAK"),
                                            "permissions": self.check_permissions(
                                                t.get("permissions", self.default_permissions)),
                                            "revoked": bool(t.get("revoked", False))}
                                 for t in v}
            elif k == "auth_codes":
                self.auth_codes = {}
                for t in v:
                    self.auth_codes[t["code"]] = {
                        "client_id": t.get("client_id") or self.first_client(),
                        "redirect_uri": t["redirect_uri"],
                        "permissions": self.check_permissions(
                            t.get("permissions", self.default_permissions)),
                        "expires": parse_iso(t.get("expires_at")) or t.get("expires") or
                        now + self.lifetimes["code_s"] * 1000,
                        "used": bool(t.get("used", False))}
        ids = [int(i) for i in self.contacts if i.isdigit()]
        if ids:
            self.next_ids["contact"] = max(self.next_ids["contact"], max(ids) + 1)
        ids = [int(i) for i in self.tags if i.isdigit()]
        if ids:
            self.next_ids["tag"] = max(self.next_ids["tag"], max(ids) + 1)
        ids = [int(i) for i in self.categories if i.isdigit()]
        if ids:
            self.next_ids["category"] = max(self.next_ids["category"], max(ids) + 1)
        if self.contacts:
            self.last_write_ms = max(self.last_write_ms,
                                     max(c["update"] for c in self.contacts.values()))

    def first_client(self):
        return next(iter(self.clients))

    @staticmethod
    def check_permissions(perms):
        if perms is None:
            return list(PERMISSIONS)
        if not isinstance(perms, list) or any(p not in PERMISSIONS for p in perms):
            raise ValueError("permissions must be a list of %s" % ", ".join(PERMISSIONS))
        return list(perms)

    # --- contacts: storage and rendering ---------------------------------------------------------

    def load_contact(self, c, now):
        """A contact from the state (Contact JSON, times in ISO) -> internal record."""
        cid = str(c.get("id") or self.new_id("contact"))
        rec = {k: json.loads(json.dumps(v)) for k, v in c.items()
               if k not in ("id", "create_time", "update_time", "tag_ids", "tag_applied")}
        rec["id"] = cid
        rec["create"] = parse_iso(c.get("create_time")) or now
        rec["update"] = parse_iso(c.get("update_time")) or rec["create"]
        applied = c.get("tag_applied") or {}
        rec["tags"] = {str(t): parse_iso(applied.get(str(t))) or rec["update"]
                       for t in c.get("tag_ids") or []}
        for lf in ("email_addresses", "phone_numbers", "addresses", "fax_numbers"):
            if lf in rec:
                rec[lf] = self.assign_slots(lf, rec[lf], {})
        if "email_addresses" in rec:
            rec["email_addresses"] = [self.email_status(e, []) for e in rec["email_addresses"]]
        return rec

    def sorted_contacts(self):
        return sorted(self.contacts.values(), key=lambda c: int(c["id"]) if c["id"].isdigit()
                      else 0)

    def optional_properties(self):
        op = self.model.get("optional_properties")
        if op is not None:
            return list(op)
        avail = self.schemas.ops["getContact"]["query"]["fields"]["available"]
        return [f for f in avail if f not in DEFAULT_FIELDS]

    def contact_props(self):
        return list(self.schemas.schemas["Contact"]["properties"])

    def render_contact(self, c, fields=None):
        """Internal record -> Contact JSON with the requested fields (None or []: defaults)."""
        if not fields:
            opt = set(self.optional_properties())
            fields = [f for f in self.schemas.ops["getContact"]["query"]["fields"]["available"]
                      if f not in opt]
        want = set(fields)
        out = {}
        for f in self.contact_props():  # the spec's property order
            if f not in want:
                continue
            if f == "id":
                out["id"] = c["id"]
            elif f == "create_time":
                out[f] = iso_ms(c["create"])
            elif f == "update_time":
                out[f] = iso_ms(c["update"])
            elif f == "tag_ids":
                out[f] = sorted(c["tags"], key=_num_key)
            elif f == "custom_fields":
                out[f] = [{"id": v["id"], "content": v["content"]}
                          for v in sorted(c.get("custom_fields") or [],
                                          key=lambda v: _num_key(v["id"]))
                          if v.get("content") is not None]
            elif f == "email_addresses":
                out[f] = [{k: e[k] for k in ("email", "field", "is_opt_in", "email_opt_status")
                           if e.get(k) is not None} for e in c.get(f) or []]
            elif f in ("phone_numbers", "addresses", "fax_numbers", "social_accounts"):
                out[f] = [dict(x) for x in c.get(f) or []]
            elif f == "links":
                out[f] = []
            elif f == "utm_parameters":
                out[f] = list(c.get("utm_response") or [])
            elif f == "origin":
                if c.get("origin"):
                    out[f] = dict(c["origin"])
            elif c.get(f) is not None:
                out[f] = json.loads(json.dumps(c[f]))
        return out

    def dump_contact(self, c):
        out = self.render_contact(c, self.contact_props())
        out["custom_fields"] = [dict(v) for v in c.get("custom_fields") or []]
        out["tag_applied"] = {t: iso_ms(ms) for t, ms in sorted(c["tags"].items())}
        return out

    # --- requests: helpers -------------------------------------------------------------------

    def v2_error(self, status, message, details=None):
        code = str(status) if self.settings["error_code"] == "string" else status
        return {"code": code, "message": message, "status": common.http_reason(status),
                "details": details or []}

    def fail(self, status, message, details=None):
        raise HttpError(status, self.v2_error(status, message, details))

    def record(self, req, kind, errors, status):
        """Records a conformance failure of this request (see the module docstring)."""
        rec = {"id": len(self.conformance) + 1,
               "ts": iso_ms(int(datetime.datetime.now(datetime.timezone.utc).timestamp()
                                * 1000)),
               "method": req.method, "path": req.raw_path, "query": redact_query(req.query),
               "operation": getattr(req, "op", None), "kind": kind, "errors": list(errors),
               "status": status}
        self.conformance.append(rec)
        ids = getattr(_tl, "conf", None)
        if ids is not None:
            ids.append(rec["id"])
        common.note("conformance failure (%s) %s %s: %s", kind, req.method, req.raw_path,
                    "; ".join(errors))
        return rec

    def reject(self, req, kind, errors, status=400):
        """Records a conformance failure and answers it with a v2 error."""
        self.record(req, kind, errors, status)
        details = [{"domain": kind, "resource": e} for e in errors[:20]]
        msg = "; ".join(errors)
        raise HttpError(status, self.v2_error(status, msg[:2000], details))

    def need(self, req, perm):
        if perm not in req.principal["permissions"]:
            self.stats["403"] += 1
            self.fail(403, "The credential is not permitted to do this (%s)" % perm)

    def op(self, req, name, perm=None):
        """Marks req as operation `name`, checks permission and query parameters."""
        req.op = name
        s = self.stats["by_operation"]
        s[name] = s.get(name, 0) + 1
        if perm:
            self.need(req, perm)
        return self.check_query(req, name)

    def check_query(self, req, name):
        """Validates req.query against the operation's parameters; returns {name: value} with
        arrays as lists and integers as ints. Unknown parameters are recorded (Keap ignores
        them), invalid values are rejected."""
        spec = self.schemas.ops[name]["query"]
        out, errors = {}, []
        for k, vals in req.query.items():
            p = spec.get(k)
            if p is None:
                self.record(req, "query", ["query parameter %r is not defined for %s (Keap "
                                           "ignores it)" % (k, name)], 200)
                continue
            sch = p["schema"]
            if sch.get("type") == "array":
                if p.get("explode", True):
                    items = list(vals)
                    if len(vals) == 1 and "," in vals[0] and "enum" in sch.get("items", {}):
                        self.record(req, "query", ["%s sent comma-joined; the spec's form "
                                                   "(explode) is one %s=... per value" % (k, k)],
                                    200)
                        items = vals[0].split(",")
                else:
                    if len(vals) > 1:
                        self.record(req, "query", ["%s repeated; the spec says one "
                                                   "comma-delimited value (explode: false)" % k],
                                    200)
                    items = [i for v in vals for i in v.split(",")]
                items = [i.strip() for i in items if i.strip() != ""]
                self.schemas.validate(sch, items, k, errors)
                if "available" in p:
                    bad = [i for i in items if i not in p["available"]]
                    if bad:
                        errors.append("%s: unknown %s" % (k, ", ".join(bad)))
                out[k] = items
                continue
            if len(vals) > 1:
                errors.append("%s: given %d times" % (k, len(vals)))
            v = vals[-1]
            if sch.get("type") == "integer":
                try:
                    v = int(v)
                except ValueError:
                    errors.append("%s: %r is not an integer" % (k, v))
                    continue
            self.schemas.validate(sch, v, k, errors)
            out[k] = v
        for k, p in spec.items():
            if p.get("required") and k not in req.query:
                errors.append("%s: required" % k)
        if errors:
            self.reject(req, "query", errors)
        return out

    def body(self, req, name):
        """The validated JSON body of a write (400 + record on any schema violation)."""
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            self.reject(req, "contract", ["Content-Type must be application/json, got %r"
                                          % ctype], 415)
        if req.json is None:
            self.reject(req, "schema", ["body is not JSON: %s" % (req.json_error or "empty")])
        schema = self.schemas.ops[name]["request"]["schema"]
        errors, unknown, deprecated = [], [], []
        self.schemas.validate(schema, req.json, "$", errors, unknown, deprecated)
        if errors:
            self.reject(req, "schema", errors)
        mode = self.settings["unknown_properties"]
        if unknown and mode == "reject":
            self.reject(req, "unknown_property", ["%s: not defined by the spec" % u
                                                  for u in unknown])
        if unknown and mode == "record":
            self.record(req, "unknown_property",
                        ["%s: not defined by the spec (Keap ignores it)" % u for u in unknown],
                        200)
        if deprecated:
            self.record(req, "deprecated", ["%s: deprecated in the spec" % d
                                            for d in deprecated], 200)
        return req.json

    # --- gateway -----------------------------------------------------------------------------

    @staticmethod
    def fault(status, faultstring, errorcode, headers=None):
        return status, dict(headers or {}), {"fault": {"faultstring": faultstring,
                                                       "detail": {"errorcode": errorcode}}}

    def authenticate(self, req):
        """-> (principal, None) or (None, 401 response)."""
        now = self.now_ms()
        if "access_token" in req.query:
            self.record(req, "auth", ["access token in the query string; Keap wants "
                                      "Authorization: Bearer"], 401)
        key = req.headers.get("X-Keap-API-Key")
        auth = req.headers.get("Authorization") or ""
        if key is not None:
            k = self.api_keys.get(key.strip())
            if k is None or k["revoked"]:
                return None, self.fault(401, "Invalid ApiKey", "oauth.v2.InvalidApiKey")
            return {"kind": k["kind"], "product": "key:" + _short_hash(key.strip()),
                    "permissions": k["permissions"], "client_id": None}, None
        if auth[:7].lower() == "bearer ":
            tok = auth[7:].strip()
            t = self.access_tokens.get(tok)
            if t is not None:
                if t["revoked"]:
                    return None, self.fault(401, "Invalid Access Token",
                                            "keymanagement.service.invalid_access_token")
                if t["expires"] <= now:
                    return None, self.fault(401, "Access Token expired",
                                            "keymanagement.service.access_token_expired")
                return {"kind": "oauth", "product": "client:" + t["client_id"],
                        "permissions": t["permissions"], "client_id": t["client_id"]}, None
            k = self.api_keys.get(tok)
            if k is not None and not k["revoked"]:
                self.record(req, "auth", ["API key sent as Bearer; the documented header is "
                                          "X-Keap-API-Key"], 200)
                return {"kind": k["kind"], "product": "key:" + _short_hash(tok),
                        "permissions": k["permissions"], "client_id": None}, None
            return None, self.fault(401, "Invalid Access Token",
                                    "keymanagement.service.invalid_access_token")
        return None, self.fault(401, "Invalid access token", "oauth.v2.InvalidAccessToken")

    def window(self, key, span_ms, now):
        w = self.windows.get(key)
        if w is None:
            w = self.windows[key] = collections.deque()
        while w and w[0] <= now - span_ms:
            w.popleft()
        return w

    def day_count(self, key, now):
        day = now // DAY_MS
        d = self.day_counts.get(key)
        if d is None or d[0] != day:
            d = self.day_counts[key] = [day, 0]
        return d

    def throttle(self, principal):
        """Applies the limits; -> (rate headers, None) or (rate headers, 429 response)."""
        L = self.limits
        now = self.now_ms()
        prod = principal["product"]
        sec = self.window(("sec", prod), 1000, now)
        minute = self.window(("min", prod), 60000, now)
        tmin = self.window(("min", "tenant"), 60000, now)
        pday = self.day_count(("day", prod), now)
        tday = self.day_count(("day", "tenant"), now)
        midnight = next_midnight_ms(now)
        refused = None
        if L["spike_per_second"] and len(sec) >= L["spike_per_second"]:
            refused = ("spike", sec[0] + 1000 - now)
        elif L["product_per_day"] and pday[1] >= L["product_per_day"]:
            refused = ("product_day", midnight - now)
        elif L["product_per_minute"] and len(minute) >= L["product_per_minute"]:
            refused = ("product_minute", minute[0] + 60000 - now)
        elif L["tenant_per_day"] and tday[1] >= L["tenant_per_day"]:
            refused = ("tenant_day", midnight - now)
        elif L["tenant_per_minute"] and len(tmin) >= L["tenant_per_minute"]:
            refused = ("tenant_minute", tmin[0] + 60000 - now)
        if refused is None:
            sec.append(now)
            minute.append(now)
            tmin.append(now)
            pday[1] += 1
            tday[1] += 1

        h = {"x-keap-tenant-id": self.tenant_id}

        def family(name, windows):
            """windows: [(unit, limit, used)]; a disabled (0) limit is left out."""
            windows = [w for w in windows if w[1]]
            if not windows:
                return
            for suffix, k in (("limit", 1), ("time-unit", 0), ("interval", None),
                              ("available", "a"), ("used", 2)):
                vals = ["1" if k is None else str(max(0, w[1] - w[2])) if k == "a" else
                        str(w[k]) for w in windows]
                h["x-keap-%s-%s" % (name, suffix)] = "|".join(vals)
        family("product-quota", [("day", L["product_per_day"], pday[1])])
        if L["product_per_day"]:
            h["x-keap-product-quota-expiry-time"] = str(midnight)
        family("product-throttle", [("minute", L["product_per_minute"], len(minute))])
        tw = [("minute", L["tenant_per_minute"], len(tmin))]
        if L["tenant_headers"] == "pipe":
            tw.append(("day", L["tenant_per_day"], tday[1]))
        family("tenant-throttle", tw)
        if refused is None:
            return h, None
        which, wait_ms = refused
        self.stats["429"] += 1
        self.stats["429_by_limit"][which] += 1
        rh = dict(h)
        wait_s = max(1, math.ceil(wait_ms / 1000))
        if L["retry_after"] == "seconds":
            rh["Retry-After"] = str(wait_s)
        elif L["retry_after"] == "http-date":
            rh["Retry-After"] = email.utils.formatdate(
                (self.now_ms() + wait_s * 1000) / 1000 - self.clock_offset_ms / 1000,
                usegmt=True)
        if L["body_429"] == "v2":
            return h, (429, rh, {"code": "429", "message": "Quota Exceeded",
                                 "status": "Request Throttled", "details": None})
        if which == "spike":
            msg = ("Spike arrest violation. Allowed rate : MessageRate{messagesPerPeriod=%d, "
                   "periodInMicroseconds=1000000}" % L["spike_per_second"])
            return h, (429, rh, {"fault": {"faultstring": msg, "detail": {
                "errorcode": "policies.ratelimit.SpikeArrestViolation"}}})
        msg = "Rate limit quota violation. Quota limit exceeded. Identifier : %s" % (
            self.tenant_id if which.startswith("tenant") else prod)
        return h, (429, rh, {"fault": {"faultstring": msg, "detail": {
            "errorcode": "policies.ratelimit.QuotaViolation"}}})

    def dispatch(self, req):
        _tl.conf = []
        req.op = None
        if req.path == "/token":
            with self.lock:
                self.stats["token_requests"] += 1
            return super().dispatch(req)
        if req.path == "/app/oauth/authorize":
            return super().dispatch(req)
        with self.lock:
            self.stats["requests"] += 1
            principal, err = self.authenticate(req)
            if err is not None:
                self.stats["401"] += 1
                self.count_status(err[0])
                return err
            req.principal = principal
            rate_headers, refused = self.throttle(principal)
            if refused is not None:
                self.count_status(429)
                return refused
        pre = self.prefix + "/"
        req.path = "/api/" + req.path[len(pre):] if req.path.startswith(pre) else \
            "/_unrouted" + req.path
        status, headers, body = super().dispatch(req)
        if status in (404, 405) and isinstance(body, dict) and set(body) >= {"error", "path"}:
            body = self.v2_error(status, "%s %s: %s" % (body.get("method", req.method),
                                                       req.raw_path, body["error"]))
        with self.lock:
            self.count_status(status)
        headers.update(rate_headers)
        return status, headers, body

    def count_status(self, status):
        s = self.stats["by_status"]
        s[str(status)] = s.get(str(status), 0) + 1

    def log_request(self, entry, handler, body_bytes, status, fault, t0, tls, resp_bytes=0):
        ids = getattr(_tl, "conf", None)
        _tl.conf = None
        entry["query"] = redact_query(entry.get("query") or {})
        if ids:
            entry["conformance_failure"] = True
            entry["conformance_ids"] = ids
        super().log_request(entry, handler, body_bytes, status, fault, t0, tls, resp_bytes)

    # --- OAuth -------------------------------------------------------------------------------

    def issue_access(self, client_id, permissions, token=None, expires=None, revoked=False,
                     lifetime_s=None, issued=None):
        now = self.now_ms() if issued is None else int(issued)
        token = token or "KA-" + secrets.token_urlsafe(24)
        life = self.lifetimes["access_s"] if lifetime_s is None else lifetime_s
        self.access_tokens[token] = {
            "client_id": client_id, "permissions": self.check_permissions(permissions),
            "issued": now, "expires": int(expires) if expires else now + life * 1000,
            "revoked": bool(revoked)}
        return token

    def issue_refresh(self, client_id, permissions, token=None, expires=None, issued=None):
        now = self.now_ms() if issued is None else int(issued)
        token = token or "KR-" + secrets.token_urlsafe(24)
        rec = {"client_id": client_id, "permissions": self.check_permissions(permissions),
               "issued": now, "expires": int(expires) if expires else
               now + self.lifetimes["refresh_s"] * 1000, "state": "active",
               "replaced_by": None}
        self.refresh_tokens[token] = rec
        return rec

    def token_pair(self, client_id, permissions, access_lifetime_s=None):
        at = self.issue_access(client_id, permissions, lifetime_s=access_lifetime_s)
        rt = "KR-" + secrets.token_urlsafe(24)
        self.issue_refresh(client_id, permissions, token=rt)
        return {"access_token": at, "refresh_token": rt,
                # rounded up: the clock moved a few ms since the token was issued
                "expires_in": -((self.now_ms() - self.access_tokens[at]["expires"]) // 1000),
                "token_type": "bearer", "scope": "full|" + self.tenant_id}

    @staticmethod
    def oauth_error(status, error, description):
        raise HttpError(status, {"error": error, "error_description": description},
                        {"Cache-Control": "no-store"})

    @route("GET", r"^/app/oauth/authorize$")
    def authorize(self, req):
        """Keap's authorize page (accounts.infusionsoft.com/app/oauth/authorize, research
        §6.1) with the person's approval already given: a valid request is answered with
        302 to redirect_uri?code=..&state=.. (the state echoed when sent); the code is the
        same single-use, expiring kind /_admin/auth-codes issues. settings.authorize_deny
        makes it answer as a person who clicked "deny" (error=access_denied)."""
        req.op = "authorize"
        q = {k: v[-1] for k, v in (req.query or {}).items() if v}
        cid, uri = q.get("client_id"), q.get("redirect_uri")
        if not cid or cid not in self.clients:
            return 400, {"Content-Type": "text/html"}, \
                "<html><body>Invalid client_id</body></html>"
        if not uri or not uri.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            return 400, {"Content-Type": "text/html"}, \
                "<html><body>Invalid redirect_uri</body></html>"
        sep = "&" if "?" in uri else "?"
        tail = ("&state=" + urllib.parse.quote(q["state"], safe="")) if "state" in q else ""
        if q.get("response_type") != "code" or q.get("scope") != "full":
            return 302, {"Location": uri + sep + "error=invalid_request" + tail}, None
        if self.settings.get("authorize_deny"):
            return 302, {"Location": uri + sep + "error=access_denied" + tail}, None
        code = "KC-" + secrets.token_urlsafe(12)
        self.auth_codes[code] = {
            "client_id": cid, "redirect_uri": uri,
            "permissions": self.check_permissions(self.default_permissions),
            "expires": self.now_ms() + self.lifetimes["code_s"] * 1000, "used": False}
        return 302, {"Location": uri + sep + "code=" + urllib.parse.quote(code, safe="") +
                     tail}, None

    @route("POST", r"^/token$")
    def token(self, req):
        req.op = "token"
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            self.record(req, "contract", ["token request Content-Type must be "
                                          "application/x-www-form-urlencoded, got %r" % ctype],
                        400)
            self.oauth_error(400, "invalid_request", "Parameters must be form-encoded in the "
                             "request body")
        if req.query:
            self.record(req, "contract", ["token parameters belong in the form body, not the "
                                          "URI (%s)" % ", ".join(sorted(req.query))], 400)
            self.oauth_error(400, "invalid_request", "Parameters must not be in the URI")
        try:
            form = {k: v[-1] for k, v in urllib.parse.parse_qs(
                req.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False).items()}
        except UnicodeDecodeError:
            self.oauth_error(400, "invalid_request", "body is not UTF-8")
        client_id = form.get("client_id")
        secret = form.get("client_secret")
        auth = req.headers.get("Authorization") or ""
        if auth[:6].lower() == "basic ":
            try:
                cid, _, sec = base64.b64decode(auth[6:].strip(), validate=True).decode(
                    "utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                self.oauth_error(401, "invalid_client", "Malformed Basic credentials")
            client_id, secret = urllib.parse.unquote(cid), urllib.parse.unquote(sec)
        client = self.clients.get(client_id or "")
        if client is None or not secrets.compare_digest(client["client_secret"],
                                                        secret or ""):
            self.oauth_error(401, "invalid_client", "Invalid client credentials")
        grant = form.get("grant_type")
        now = self.now_ms()
        if grant == "refresh_token":
            rt = form.get("refresh_token")
            if not rt:
                self.oauth_error(400, "invalid_request", "refresh_token is required")
            rec = self.refresh_tokens.get(rt)
            if rec is None or rec["state"] != "active" or rec["expires"] <= now or \
                    rec["client_id"] != client_id:
                if rec is not None and rec["state"] == "used":
                    common.note("refresh token reused after rotation")
                self.oauth_error(400, "invalid_grant", "Invalid refresh token")
            pair = self.token_pair(client_id, rec["permissions"])
            rec["state"] = "used"
            rec["replaced_by"] = pair["refresh_token"]
            self.stats["refreshes"] += 1
            return 200, {"Cache-Control": "no-store"}, pair
        if grant == "authorization_code":
            code, uri = form.get("code"), form.get("redirect_uri")
            if not code or not uri:
                self.oauth_error(400, "invalid_request", "code and redirect_uri are required")
            rec = self.auth_codes.get(code)
            if rec is None or rec["used"] or rec["expires"] <= now or \
                    rec["client_id"] != client_id or rec["redirect_uri"] != uri:
                if rec is not None:
                    rec["used"] = True  # a failed redemption burns the code, as OAuth advises
                self.oauth_error(400, "invalid_grant", "Invalid authorization code")
            rec["used"] = True
            return 200, {"Cache-Control": "no-store"}, self.token_pair(client_id,
                                                                       rec["permissions"])
        self.oauth_error(400, "unsupported_grant_type" if grant else "invalid_request",
                         "grant_type %r is not supported" % grant if grant else
                         "grant_type is required")

    # --- contacts ----------------------------------------------------------------------------

    @route("GET", r"^/api/v2/contacts/model$")
    def get_model(self, req):
        self.op(req, "retrieveContactModel", "model:read")
        return 200, {}, {"custom_fields": [self.render_field(f)
                                           for f in self.model["custom_fields"]],
                         "optional_properties": self.optional_properties()}

    @staticmethod
    def render_field(f):
        keys = ("id", "label", "options", "record_type", "field_type", "default_value",
                "group_id", "group_name", "field_name")
        return {k: f[k] for k in keys if f.get(k) is not None}

    @route("GET", r"^/api/v2/contacts$")
    def list_contacts(self, req):
        q = self.op(req, "listContacts", "contacts:read")
        fields = q.get("fields")
        filt = req.arg("filter") or ""
        preds = self.contact_filter(req, filt)
        field, desc = self.parse_order(req, "listContacts", q.get("order_by"), "id")
        keyf = {"id": lambda c: (0, _num_key(c["id"])),
                "create_time": lambda c: (c["create"], _num_key(c["id"])),
                "update_time": lambda c: (c["update"], _num_key(c["id"])),
                "email": lambda c: (self.primary_email(c), _num_key(c["id"]))}[field]
        items = [c for c in self.contacts.values() if all(p(c) for p in preds)]
        page, token = self.paginate(req, q, items, keyf, desc, "contacts", filt,
                                    q.get("order_by", ""))
        return 200, {}, self.list_body("contacts", [self.render_contact(c, fields)
                                                    for c in page], token)

    def list_body(self, name, items, token):
        body = {name: items}
        if token is not None:
            body["next_page_token"] = token
        elif self.settings["last_page_token"] == "empty":
            body["next_page_token"] = ""
        elif self.settings["last_page_token"] == "null":
            body["next_page_token"] = None
        return body

    @staticmethod
    def primary_email(c):
        ems = c.get("email_addresses") or []
        for e in ems:
            if e.get("field") == "EMAIL1":
                return e.get("email", "").lower()
        return ems[0].get("email", "").lower() if ems else ""

    def parse_order(self, req, op, value, default):
        if not value:
            return default, False
        spec = self.schemas.ops[op]["query"]["order_by"]
        parts = value.split()
        ok = 1 <= len(parts) <= 2 and parts[0] in spec["order_fields"] and \
            (len(parts) == 1 or parts[1].lower() in spec["order_directions"])
        if not ok:
            self.reject(req, "query", ["order_by %r: expected '<field> <asc|desc>' with field "
                                       "one of %s" % (value, ", ".join(spec["order_fields"]))])
        return parts[0], len(parts) == 2 and parts[1].lower() == "desc"

    def paginate(self, req, q, items, keyf, desc, listname, filt, order):
        size = q.get("page_size") or self.settings["default_page_size"]
        items = sorted(items, key=keyf, reverse=desc)
        tok = req.arg("page_token")
        if tok:
            try:
                pad = "=" * (-len(tok) % 4)
                t = json.loads(base64.urlsafe_b64decode(tok + pad).decode())
                after = _tuplify(t["k"])
                if t["l"] != listname or t["p"] != self.prefix:
                    raise ValueError("wrong list")
            except (ValueError, KeyError, TypeError):
                self.reject(req, "query", ["page_token is not one this server issued"])
            if t["f"] != filt or t["o"] != order:
                self.reject(req, "query", ["page_token was issued for filter=%r order_by=%r; "
                                           "this request has filter=%r order_by=%r"
                                           % (t["f"], t["o"], filt, order)])
            items = [c for c in items if (keyf(c) < after if desc else keyf(c) > after)]
        page = items[:size]
        more = len(items) > size or (self.settings["trailing_empty_page"] and page and
                                     len(page) == size)
        token = None
        if more and page:
            raw = json.dumps({"l": listname, "p": self.prefix, "f": filt, "o": order,
                              "k": keyf(page[-1])}, separators=(",", ":")).encode()
            token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return page, token

    FILTER_RE = re.compile(r"^\s*([A-Za-z0-9_]+)\s*(==|!=|>=|<=|>|<)\s*(.*?)\s*$")

    def parse_filter(self, req, op, text):
        """'a==1;b==2' -> [(field, op, value)]; rejects fields the spec does not document
        (custom field names are allowed for contacts)."""
        out = []
        allowed = self.schemas.ops[op]["query"]["filter"]["filter_fields"]
        custom = {f.get("field_name", "").lower(): f for f in self.model["custom_fields"]}
        for clause in text.split(";"):
            if not clause.strip():
                continue
            m = self.FILTER_RE.match(clause)
            if m is None:
                self.reject(req, "query", ["filter clause %r: expected field==value" % clause])
            f, o, v = m.groups()
            if f not in allowed and not (op == "listContacts" and f.lower() in custom):
                self.reject(req, "query", ["filter field %r is not one the spec allows for %s"
                                           % (f, op)])
            out.append((f, o, v))
        return out

    def time_pred(self, req, field, value, getter, lower):
        t = parse_iso(value, need_ms=True)
        if t is None:
            self.reject(req, "query", ["%s=%r: must be an ISO-8601 date-time with milliseconds "
                                       "and an offset, e.g. 2026-01-01T00:00:00.000Z (a '+' "
                                       "offset must be percent-encoded)" % (field, value)])
        if lower:
            return lambda x: getter(x) is not None and getter(x) >= t
        return lambda x: getter(x) is not None and getter(x) < t

    def contact_filter(self, req, text):
        preds = []
        clauses = self.parse_filter(req, "listContacts", text)
        fields = {f for f, _, _ in clauses}
        if "phone_number" in fields and "phone_fields" not in fields:
            self.reject(req, "query", ["filter phone_number requires phone_fields"])
        phone_fields = None
        for f, o, v in clauses:
            if f == "phone_fields":
                phone_fields = [x.strip() for x in v.split(",")]
        std = set(self.schemas.ops["listContacts"]["query"]["filter"]["filter_fields"])
        for f, o, v in clauses:
            if o != "==" and f != "contact_id" and f in std:
                self.reject(req, "query", ["filter %s supports only ==" % f])
            if f in ("start_update_time", "end_update_time"):
                preds.append(self.time_pred(req, f, v, lambda c: c["update"],
                                            f.startswith("start")))
            elif f in ("email",):
                preds.append(lambda c, v=v: any(_wild(v, e.get("email"))
                                                for e in c.get("email_addresses") or []))
            elif f in ("given_name", "family_name", "middle_name", "website"):
                preds.append(lambda c, f=f, v=v: _wild(v, c.get(f)))
            elif f == "company_id":
                preds.append(lambda c, v=v: str((c.get("company") or {}).get("id")) == v)
            elif f in ("ids", "contact_ids"):
                ids = {x.strip() for x in v.split(",") if x.strip()}
                preds.append(lambda c, ids=ids: c["id"] in ids)
            elif f == "contact_id":
                try:
                    n = int(v)
                except ValueError:
                    self.reject(req, "query", ["filter contact_id: %r is not a number" % v])
                preds.append(lambda c, o=o, n=n: _compare(_num_key(c["id"]), o, n))
            elif f == "phone_number":
                digits = re.sub(r"\D", "", v)
                preds.append(lambda c, d=digits, pf=phone_fields: any(
                    re.sub(r"\D", "", p.get("number", "")) == d and p.get("field") in pf
                    for p in c.get("phone_numbers") or []))
            elif f == "phone_fields":
                continue
            elif re.match(r"^(billing|shipping|other)_address_", f):
                slot, attr = f.split("_address_")
                preds.append(lambda c, s=slot.upper(), a=attr, v=v: any(
                    a_.get("field") == s and _wild(v, a_.get(a))
                    for a_ in c.get("addresses") or []))
            elif f in ("city", "state"):
                attr = "locality" if f == "city" else "region"
                preds.append(lambda c, a=attr, v=v: any(
                    _wild(v, x.get(a)) for x in (c.get("addresses") or [])[:1]))
            elif f == "lead_source_name":
                self.fail(501, "filter lead_source_name is not modelled by the fake")
            else:  # a custom field by field_name
                cf = {x.get("field_name", "").lower(): x for x in self.model["custom_fields"]}
                meta = cf[f.lower()]
                preds.append(self.custom_pred(req, meta, o, v))
        return preds

    def custom_pred(self, req, meta, o, v):
        ft = meta.get("field_type")
        numeric = ft in ("WHOLE_NUMBER", "DECIMAL_NUMBER", "CURRENCY", "PERCENT", "YEAR",
                         "MONTH", "DAY_OF_WEEK", "USER")
        dates = ft in ("DATE", "DATE_TIME")

        def content(c):
            for x in c.get("custom_fields") or []:
                if x.get("id") == meta["id"]:
                    return x.get("content")
            return None
        if numeric or dates:
            if dates:
                t = parse_iso(v, need_ms=True)
                if t is None:
                    self.reject(req, "query", ["custom field date filter %r: full ISO-8601 "
                                               "date-time with milliseconds required" % v])

                def get(c):
                    x = content(c)
                    return parse_iso(x) if isinstance(x, str) and "T" in x else \
                        parse_iso(x + "T00:00:00.000Z") if isinstance(x, str) else None
                return lambda c: get(c) is not None and _compare(get(c), o, t)
            try:
                n = float(v)
            except ValueError:
                self.reject(req, "query", ["custom field filter %r is not a number" % v])
            return lambda c: _to_num(content(c)) is not None and _compare(_to_num(content(c)),
                                                                          o, n)
        if o != "==":
            self.reject(req, "query", ["custom field %s supports only ==" % meta["field_name"]])
        if ft == "YES_NO":
            return lambda c: str(content(c)).lower() in (v.lower(),
                                                         {"yes": "true", "no": "false"}
                                                         .get(v.lower(), v.lower()))
        if ft == "LIST_BOX":
            return lambda c: v in _listbox(content(c))
        return lambda c: _wild(v, content(c) if isinstance(content(c), str) else None)

    @route("GET", r"^/api/v2/contacts/(?P<id>[^/:]+)$")
    def get_contact(self, req):
        q = self.op(req, "getContact", "contacts:read")
        c = self.find_contact(req.params["id"])
        return 200, {}, self.render_contact(c, q.get("fields"))

    def find_contact(self, cid):
        c = self.contacts.get(cid)
        if c is None:
            self.fail(404, "Contact %s not found" % cid,
                      [{"domain": "contact", "resource": cid}])
        return c

    @route("POST", r"^/api/v2/contacts$")
    def create_contact(self, req):
        q = self.op(req, "createContact", "contacts:write")
        body = self.body(req, "createContact")
        new = self.check_contact(req, body, creating=True)
        dup = q.get("duplicate_option")
        match = self.find_duplicate(dup, new) if dup else None
        stamp = self.write_stamp()
        self.stats["writes"] += 1
        if match is not None:
            self.apply_fields(match, new, list(new))
            match["update"] = stamp
            return 200, {}, self.render_contact(match, q.get("fields"))
        cid = self.new_id("contact")
        rec = {"id": cid, "create": stamp, "update": stamp, "tags": {},
               "source_type": "API"}
        self.apply_fields(rec, new, list(new))
        if body.get("origin"):
            rec["origin"] = {"date": iso_ms(stamp), "ip_address": body["origin"].get(
                "ip_address")}
        self.contacts[cid] = rec
        return 201, {}, self.render_contact(rec, q.get("fields"))

    def find_duplicate(self, option, new):
        emails = {e.get("email", "").strip().lower() for e in new.get("email_addresses") or []
                  if e.get("email")}
        if not emails:
            return None

        def name(x, k):
            return (x.get(k) or "").strip().lower()
        for c in self.sorted_contacts():
            theirs = {e.get("email", "").strip().lower() for e in c.get("email_addresses") or []}
            if not emails & theirs:
                continue
            if option in ("EmailAndName", "EmailAndNameAndCompany") and \
                    (name(c, "given_name"), name(c, "family_name")) != \
                    (name(new, "given_name"), name(new, "family_name")):
                continue
            if option == "EmailAndNameAndCompany":
                a = (c.get("company") or {}).get("id")
                b = (new.get("company") or {}).get("id")
                if a is None or a != b:
                    continue
            return c
        return None

    @route("PATCH", r"^/api/v2/contacts/(?P<id>[^/:]+)$")
    def patch_contact(self, req):
        q = self.op(req, "updateContact", "contacts:write")
        c = self.find_contact(req.params["id"])
        body = self.body(req, "updateContact")
        mask = q.get("update_mask")
        writable = set(self.schemas.schemas["CreateUpdateContactRequest"]["properties"])
        if mask is None:
            if self.settings["require_update_mask"]:
                self.record(req, "policy", ["PATCH without update_mask: every property in the "
                                            "body is written; research says always send one"],
                            200)
            mask = list(body)
        else:
            bad = [m for m in mask if m not in writable]
            if bad:
                self.reject(req, "contract", ["update_mask: %s cannot be updated through this "
                                              "operation" % ", ".join(bad)])
        new = self.check_contact(req, body, creating=False)
        self.apply_fields(c, new, mask)
        c["update"] = self.write_stamp()
        self.stats["writes"] += 1
        return 200, {}, self.render_contact(c, q.get("fields"))

    @route("DELETE", r"^/api/v2/contacts/(?P<id>[^/:]+)$")
    def delete_contact(self, req):
        self.op(req, "deleteContact", "contacts:delete")
        self.find_contact(req.params["id"])
        del self.contacts[req.params["id"]]
        self.stats["writes"] += 1
        return 204, {}, None

    @route("GET", r"^/api/v2/contacts/(?P<id>[^/:]+)/tags$")
    def contact_tags(self, req):
        q = self.op(req, "listTagsForContact", "tags:read")
        c = self.find_contact(req.params["id"])
        filt = req.arg("filter") or ""
        preds = self.tag_filter(req, "listTagsForContact", filt,
                                applied=lambda t: c["tags"].get(t["id"]))
        field, desc = self.parse_order(req, "listTagsForContact", q.get("order_by"), "id")
        rows = [self.tags[t] for t in c["tags"] if t in self.tags]
        rows = [t for t in rows if all(p(t) for p in preds)]
        keyf = self.tag_key(field, applied=lambda t: c["tags"].get(t["id"]))
        page, token = self.paginate(req, q, rows, keyf, desc, "contact_tags:" + c["id"], filt,
                                    q.get("order_by", ""))
        return 200, {}, self.list_body("tags", [{"tag": self.render_tag(t),
                                                 "applied_time": iso_ms(c["tags"][t["id"]])}
                                                for t in page], token)

    # --- contact values ------------------------------------------------------------------------

    def check_contact(self, req, body, creating):
        """Keap's documented rules beyond the schema; returns the normalised new values."""
        errs = []
        if creating and not any(body.get(k) for k in ("email_addresses", "phone_numbers",
                                                      "addresses")):
            errs.append("a contact must contain at least one item in email_addresses, "
                        "phone_numbers or addresses")
        new = {}
        for k, v in body.items():
            if k in ("origin", "utm_parameters"):
                continue
            new[k] = json.loads(json.dumps(v))
        for lf in ("email_addresses", "phone_numbers", "addresses", "fax_numbers"):
            if lf not in new:
                continue
            seen = set()
            for i, item in enumerate(new[lf]):
                slot = item.get("field")
                if slot and slot not in UNSPECIFIED:
                    if slot in seen:
                        errs.append("$.%s[%d].field: %s given twice" % (lf, i, slot))
                    seen.add(slot)
            if len(new[lf]) > len(SLOTS[lf]):
                errs.append("$.%s: at most %d items (%s)" % (lf, len(SLOTS[lf]),
                                                              ", ".join(SLOTS[lf])))
        vals = []
        for i, e in enumerate(new.get("email_addresses") or []):
            em = e.get("email")
            if not em or not EMAIL_RE.match(em):
                vals.append("$.email_addresses[%d].email: %r is not an email address" % (i, em))
            limit = 75 if e.get("field") in (None, "EMAIL1", "EMAIL_FIELD_UNSPECIFIED") else 100
            if em and len(em) > limit:
                vals.append("$.email_addresses[%d].email: longer than %d characters for %s"
                            % (i, limit, e.get("field") or "EMAIL1"))
        for i, p in enumerate(new.get("phone_numbers") or []):
            num = p.get("number")
            if not num:
                vals.append("$.phone_numbers[%d].number: missing" % i)
            limit = 20 if p.get("field") in ("PHONE4", "PHONE5") else 40
            if num and len(num) > limit:
                vals.append("$.phone_numbers[%d].number: longer than %d characters" % (i, limit))
        for i, a in enumerate(new.get("addresses") or []):
            where = "$.addresses[%d]" % i
            billing = a.get("field") in (None, "BILLING", "ADDRESS_FIELD_UNSPECIFIED")
            shipping = a.get("field") == "SHIPPING"
            if a.get("region") and not a.get("country_code"):
                errs.append("%s: country_code is required if region is specified" % where)
            for k, lim in (("line1", 75 if billing else 100), ("line2", 75 if billing else 100),
                           ("locality", 50 if billing else 100),
                           ("postal_code", 20 if shipping else 15),
                           ("zip_code", 20 if shipping else 15), ("zip_four", 10),
                           ("region", 50), ("country", 100)):
                if isinstance(a.get(k), str) and len(a[k]) > lim:
                    vals.append("%s.%s: longer than %d characters" % (where, k, lim))
            if a.get("country_code") and not re.match(r"^[A-Z]{3}$", a["country_code"]):
                vals.append("%s.country_code: %r is not ISO 3166-1 alpha-3"
                            % (where, a["country_code"]))
            if a.get("region_code") and not re.match(r"^[A-Z]{2}-[A-Z0-9]{1,3}$",
                                                     a["region_code"]):
                vals.append("%s.region_code: %r is not ISO 3166-2" % (where, a["region_code"]))
        for k in ("birth_date", "anniversary_date"):
            if new.get(k) and not _valid_date(new[k]):
                vals.append("$.%s: %r is not YYYY-MM-DD" % (k, new[k]))
        if new.get("time_zone") and not _valid_tz(new["time_zone"]):
            vals.append("$.time_zone: %r is not a time zone Keap knows" % new["time_zone"])
        model = {f["id"]: f for f in self.model["custom_fields"]}
        seen = set()
        for i, v in enumerate(new.get("custom_fields") or []):
            where = "$.custom_fields[%d]" % i
            fid = v.get("id")
            if fid is None:
                errs.append("%s.id: required" % where)
                continue
            if fid in seen:
                errs.append("%s.id: custom field %s given twice" % (where, fid))
            seen.add(fid)
            meta = model.get(fid)
            if meta is None:
                vals.append("%s.id: no custom field %s in the contact model" % (where, fid))
                continue
            msg = _check_custom(meta, v.get("content"))
            if msg:
                vals.append("%s.content: %s" % (where, msg))
        if errs:
            self.reject(req, "contract", errs + vals)
        if vals:
            self.reject(req, "value", vals)
        return new

    def assign_slots(self, lf, items, old_by_slot):
        """Gives every item of list field lf a slot (the first free one when none is given)."""
        if lf not in SLOTS:
            return items
        used = {i.get("field") for i in items if i.get("field") not in (None,) and
                i.get("field") not in UNSPECIFIED}
        free = [s for s in SLOTS[lf] if s not in used]
        out = []
        for i in items:
            i = dict(i)
            if i.get("field") is None or i.get("field") in UNSPECIFIED:
                i["field"] = free.pop(0) if free else SLOTS[lf][-1]
            out.append(i)
        order = {s: n for n, s in enumerate(SLOTS[lf])}
        return sorted(out, key=lambda i: order.get(i["field"], 99))

    @staticmethod
    def email_status(e, old):
        prev = {o.get("email", "").lower(): o for o in old}
        p = prev.get((e.get("email") or "").lower())
        out = {"email": e.get("email"), "field": e.get("field")}
        if p is not None and not e.get("opt_in_reason"):
            out["is_opt_in"] = p.get("is_opt_in", False)
            out["email_opt_status"] = p.get("email_opt_status", "UNENGAGED_NON_MARKETABLE")
        elif e.get("opt_in_reason"):
            out["is_opt_in"] = True
            out["email_opt_status"] = "SINGLE_OPT_IN"
        else:
            out["is_opt_in"] = e.get("is_opt_in", False)
            out["email_opt_status"] = e.get("email_opt_status", "UNENGAGED_NON_MARKETABLE")
        return out

    SERVER_MANAGED = ("origin", "utm_parameters", "id", "create_time", "update_time",
                      "tag_ids", "links", "created_by", "last_updated_by")

    def apply_fields(self, c, new, mask, allowed=None):
        """Writes the masked properties of new into contact c: lists are replaced whole, a
        masked property absent from new is cleared. Only `allowed` properties are touched
        (default: the spec's CreateUpdateContactRequest properties)."""
        if allowed is None:
            allowed = self.schemas.schemas["CreateUpdateContactRequest"]["properties"]
        for f in mask:
            if f not in allowed or f in self.SERVER_MANAGED:
                continue
            if f not in new or new[f] is None:
                c.pop(f, None)
                continue
            v = new[f]
            if f in SLOTS:
                v = self.assign_slots(f, v, {})
            if f == "email_addresses":
                v = [self.email_status(e, c.get("email_addresses") or []) for e in v]
            elif f == "phone_numbers":
                v = [_phone(p) for p in v]
            elif f == "custom_fields":
                v = [{"id": x["id"], "content": x.get("content")} for x in v]
            c[f] = v

    # --- tags --------------------------------------------------------------------------------

    def render_tag(self, t):
        out = {"id": t["id"], "name": t["name"]}
        if t.get("description") is not None:
            out["description"] = t["description"]
        if t.get("category_id") is not None:
            out["category"] = {"id": t["category_id"]}
        out["create_time"] = iso_ms(t["create"])
        out["update_time"] = iso_ms(t["update"])
        return out

    def render_category(self, c):
        out = {"id": c["id"], "name": c["name"]}
        if c.get("description") is not None:
            out["description"] = c["description"]
        out["create_time"] = iso_ms(c["create"])
        out["update_time"] = iso_ms(c["update"])
        return out

    def tag_key(self, field, applied=None):
        if field == "name":
            return lambda t: ((t.get("name") or "").lower(), _num_key(t["id"]))
        if field == "create_time":
            return lambda t: (t["create"], _num_key(t["id"]))
        if field == "update_time":
            return lambda t: (t["update"], _num_key(t["id"]))
        if field == "applied_time" and applied:
            return lambda t: (applied(t) or 0, _num_key(t["id"]))
        if field == "category_id":
            return lambda t: (_num_key(t.get("category_id") or "0"), _num_key(t["id"]))
        return lambda t: (0, _num_key(t["id"]))

    def tag_filter(self, req, op, text, applied=None):
        preds = []
        for f, o, v in self.parse_filter(req, op, text):
            if o != "==":
                self.reject(req, "query", ["filter %s supports only ==" % f])
            if f in ("name", "description"):
                preds.append(lambda t, f=f, v=v: (t.get(f) in (None, "")) if v == "NONE"
                             else _wild(v, t.get(f)))
            elif f == "category_id":
                preds.append(lambda t, v=v: t.get("category_id") is None if v == "NONE"
                             else t.get("category_id") == v)
            elif f == "tag_ids":
                ids = {x.strip() for x in v.split(",")}
                preds.append(lambda t, ids=ids: t["id"] in ids)
            elif f.endswith("_time"):
                which = f.split("_", 1)[1].rsplit("_", 1)[0]  # create | update | applied
                getter = {"create": lambda t: t["create"], "update": lambda t: t["update"],
                          "applied": applied or (lambda t: None)}[which]
                preds.append(self.time_pred(req, f, v, getter, f.startswith("since")))
        return preds

    def list_tag_records(self, req, op, records, kind, listname, render):
        """listTags / listTagCategories: `records` (tags or categories) filtered, ordered and
        paged; kind names them in page tokens, listname in the answer."""
        q = self.op(req, op, "tags:read")
        filt = req.arg("filter") or ""
        preds = self.tag_filter(req, op, filt)
        field, desc = self.parse_order(req, op, q.get("order_by"), "id")
        rows = [r for r in records if all(p(r) for p in preds)]
        page, token = self.paginate(req, q, rows, self.tag_key(field), desc, kind, filt,
                                    q.get("order_by", ""))
        return 200, {}, self.list_body(listname, [render(r) for r in page], token)

    @route("GET", r"^/api/v2/tags/categories$")
    def list_categories(self, req):
        return self.list_tag_records(req, "listTagCategories", self.categories.values(),
                                     "categories", "tag_categories", self.render_category)

    @route("POST", r"^/api/v2/tags/categories$")
    def create_category(self, req):
        self.op(req, "createTagCategory", "tags:write")
        body = self.body(req, "createTagCategory")
        name = (body.get("name") or "").strip()
        if not name:
            self.reject(req, "contract", ["$.name: a tag category needs a name"])
        if any((c["name"] or "").lower() == name.lower() for c in self.categories.values()):
            self.fail(409, "A tag category named %r already exists" % name)
        now = self.write_stamp()
        cid = self.new_id("category")
        self.categories[cid] = {"id": cid, "name": body["name"],
                                "description": body.get("description"), "create": now,
                                "update": now}
        self.stats["writes"] += 1
        return 201, {}, self.render_category(self.categories[cid])

    def find_category(self, cid):
        c = self.categories.get(cid)
        if c is None:
            self.fail(404, "Tag category %s not found" % cid)
        return c

    @route("GET", r"^/api/v2/tags/categories/(?P<id>[^/:]+)$")
    def get_category(self, req):
        self.op(req, "getCategory", "tags:read")
        return 200, {}, self.render_category(self.find_category(req.params["id"]))

    @route("PATCH", r"^/api/v2/tags/categories/(?P<id>[^/:]+)$")
    def patch_category(self, req):
        q = self.op(req, "updateTagCategory", "tags:write")
        c = self.find_category(req.params["id"])
        body = self.body(req, "updateTagCategory")
        for f in q.get("update_mask") or list(body):
            c[f] = body.get(f)
        c["update"] = self.write_stamp()
        self.stats["writes"] += 1
        return 200, {}, self.render_category(c)

    @route("DELETE", r"^/api/v2/tags/categories/(?P<id>[^/:]+)$")
    def delete_category(self, req):
        req.op = "deleteTagCategory"
        self.need(req, "tags:write")
        self.find_category(req.params["id"])
        del self.categories[req.params["id"]]
        for t in self.tags.values():
            if t.get("category_id") == req.params["id"]:
                t["category_id"] = None
        return 204, {}, None

    @route("GET", r"^/api/v2/tags$")
    def list_tags(self, req):
        return self.list_tag_records(req, "listTags", self.tags.values(), "tags", "tags",
                                     self.render_tag)

    @route("POST", r"^/api/v2/tags$")
    def create_tag(self, req):
        self.op(req, "createTag", "tags:write")
        body = self.body(req, "createTag")
        if not (body.get("name") or "").strip():
            self.reject(req, "contract", ["$.name: a tag needs a name"])
        cat = (body.get("category") or {}).get("id")
        if cat is not None and cat not in self.categories:
            self.fail(400, "Tag category %s not found" % cat)
        now = self.write_stamp()
        tid = self.new_id("tag")
        self.tags[tid] = {"id": tid, "name": body["name"][:255],
                          "description": body.get("description"), "category_id": cat,
                          "create": now, "update": now}
        self.stats["writes"] += 1
        return 201, {}, self.render_tag(self.tags[tid])

    def find_tag(self, tid):
        t = self.tags.get(tid)
        if t is None:
            self.fail(404, "Tag %s not found" % tid, [{"domain": "tag", "resource": tid}])
        return t

    @route("GET", r"^/api/v2/tags/(?P<id>[^/:]+)$")
    def get_tag(self, req):
        self.op(req, "getTag", "tags:read")
        return 200, {}, self.render_tag(self.find_tag(req.params["id"]))

    @route("PATCH", r"^/api/v2/tags/(?P<id>[^/:]+)$")
    def patch_tag(self, req):
        q = self.op(req, "updateTag", "tags:write")
        t = self.find_tag(req.params["id"])
        body = self.body(req, "updateTag")
        for f in q.get("update_mask") or list(body):
            if f == "category":
                cat = (body.get("category") or {}).get("id")
                if cat is not None and cat not in self.categories:
                    self.fail(400, "Tag category %s not found" % cat)
                t["category_id"] = cat
            else:
                t[f] = body.get(f)
        t["update"] = self.write_stamp()
        self.stats["writes"] += 1
        return 200, {}, self.render_tag(t)

    @route("DELETE", r"^/api/v2/tags/(?P<id>[^/:]+)$")
    def delete_tag(self, req):
        self.op(req, "deleteTag", "tags:write")
        self.find_tag(req.params["id"])
        del self.tags[req.params["id"]]
        for c in self.contacts.values():
            c["tags"].pop(req.params["id"], None)
        self.stats["writes"] += 1
        return 204, {}, None

    def tag_batch(self, req, name):
        self.op(req, name, "tags:apply")
        t = self.find_tag(req.params["id"])
        body = self.body(req, name)
        ids = body["contact_ids"]
        cap = self.settings["max_tag_batch"]
        if cap and len(ids) > cap:
            self.reject(req, "policy", ["$.contact_ids: %d ids; at most %d per call"
                                        % (len(ids), cap)])
        if not ids:
            self.reject(req, "contract", ["$.contact_ids: empty"])
        return t, ids

    @route("POST", r"^/api/v2/tags/(?P<id>[^/:]+)/contacts:applyTags$")
    def apply_tags(self, req):
        t, ids = self.tag_batch(req, "applyTags")
        results = {}
        stamp = None
        failing = set(map(str, self.settings["tag_fail_contacts"]))
        for cid in ids:
            c = self.contacts.get(cid)
            if c is None:
                results[cid] = "CONTACT_NOT_FOUND"
            elif cid in failing:
                results[cid] = "FAILURE"
            elif t["id"] in c["tags"]:
                results[cid] = "DUPLICATE"
            else:
                stamp = stamp or self.write_stamp()
                c["tags"][t["id"]] = stamp
                if self.settings["tag_bumps_update_time"]:
                    c["update"] = stamp
                results[cid] = "SUCCESS"
        self.stats["writes"] += 1
        return 200, {}, {"results": results}

    @route("POST", r"^/api/v2/tags/(?P<id>[^/:]+)/contacts:removeTags$")
    def remove_tags(self, req):
        t, ids = self.tag_batch(req, "removeTags")
        stamp = None
        for cid in ids:
            c = self.contacts.get(cid)
            if c is not None and t["id"] in c["tags"]:
                stamp = stamp or self.write_stamp()
                del c["tags"][t["id"]]
                if self.settings["tag_bumps_update_time"]:
                    c["update"] = stamp
        self.stats["writes"] += 1
        return 204, {}, None

    @route("GET", r"^/api/v2/tags/(?P<id>[^/:]+)/contacts$")
    def tagged_contacts(self, req):
        q = self.op(req, "listContactsWithTagId", "tags:read")
        t = self.find_tag(req.params["id"])
        filt = req.arg("filter") or ""
        preds = []
        for f, o, v in self.parse_filter(req, "listContactsWithTagId", filt):
            if f in ("given_name", "family_name"):
                preds.append(lambda c, f=f, v=v: _wild(v, c.get(f)))
            elif f == "email":
                preds.append(lambda c, v=v: _wild(v, self.primary_email(c)))
            else:
                preds.append(self.time_pred(req, f, v, lambda c: c["tags"].get(t["id"]),
                                            f.startswith("since")))
        field, desc = self.parse_order(req, "listContactsWithTagId", q.get("order_by"), "id")
        keyf = {"id": lambda c: (0, _num_key(c["id"])),
                "given_name": lambda c: ((c.get("given_name") or "").lower(), _num_key(c["id"])),
                "family_name": lambda c: ((c.get("family_name") or "").lower(),
                                          _num_key(c["id"])),
                "email": lambda c: (self.primary_email(c), _num_key(c["id"])),
                "applied_time": lambda c: (c["tags"][t["id"]], _num_key(c["id"]))}[field]
        rows = [c for c in self.contacts.values() if t["id"] in c["tags"] and
                all(p(c) for p in preds)]
        page, token = self.paginate(req, q, rows, keyf, desc, "tagged:" + t["id"], filt,
                                    q.get("order_by", ""))
        out = []
        for c in page:
            row = {"id": c["id"]}
            if self.primary_email(c):
                row["email"] = self.primary_email(c)
            for k in ("given_name", "family_name"):
                if c.get(k) is not None:
                    row[k] = c[k]
            row["applied_time"] = iso_ms(c["tags"][t["id"]])
            out.append(row)
        return 200, {}, self.list_body("contacts", out, token)

    @route("GET", r"^/api/v2/oauth/connect/userinfo$")
    def userinfo(self, req):
        self.op(req, "getUserInfo")
        p = req.principal
        return 200, {}, {"email": "integration@example.com", "sub": "1", "id": "1",
                         "keap_id": "fake-user-1", "given_name": "Fake",
                         "family_name": "Integration", "is_admin": p["kind"] != "PAT",
                         "tenant_id": self.tenant_id.split(".")[0]}

    # --- admin -------------------------------------------------------------------------------
    # StatefulFake serves stats, stats/reset, settings, limits, reset-counters and clock.

    def stats_extra(self):
        return {"conformance_failures": len(self.conformance)}

    def reset_counters(self):
        self.windows = {}
        self.day_counts = {}

    @admin_route("GET", "/_admin/conformance")
    def admin_conformance(self, req, body):
        return list(self.conformance)

    @admin_route("POST", "/_admin/conformance/reset")
    def admin_conformance_reset(self, req, body):
        n = len(self.conformance)
        self.conformance = []
        return {"ok": True, "cleared": n}

    @admin_route("GET", "/_admin/tokens")
    def admin_tokens(self, req, body):
        st = self.dump_state()
        return {k: st[k] for k in ("access_tokens", "refresh_tokens", "api_keys", "auth_codes",
                                   "clients", "default_permissions")}

    @admin_route("POST", "/_admin/tokens")
    def admin_issue(self, req, body):
        cid = body.get("client_id") or self.first_client()
        if cid not in self.clients:
            raise ValueError("no client %r" % cid)
        perms = self.check_permissions(body.get("permissions", self.default_permissions))
        return self.token_pair(cid, perms, body.get("access_lifetime_s"))

    @admin_route("POST", "/_admin/auth-codes")
    def admin_code(self, req, body):
        cid = body.get("client_id") or self.first_client()
        code = body.get("code") or "KC-" + secrets.token_urlsafe(12)
        self.auth_codes[code] = {
            "client_id": cid, "redirect_uri": body["redirect_uri"],
            "permissions": self.check_permissions(body.get("permissions",
                                                           self.default_permissions)),
            "expires": self.now_ms() + int(body.get("lifetime_s", self.lifetimes["code_s"]))
            * 1000, "used": False}
        return {"code": code}

    @admin_route("POST", "/_admin/api-keys")
    def admin_key(self, req, body):
        key = body.get("key") or "KeapAK-" + secrets.token_hex(16)
        kind = body.get("kind", "SAK")
        if kind not in ("SAK", "PAT"):
            raise ValueError("kind must be SAK or PAT")
        self.api_keys[key] = {"kind": kind, "permissions": self.check_permissions(
            body.get("permissions", self.default_permissions)), "revoked": False}
        return {"key": key}

    @admin_route("POST", "/_admin/expire-access-tokens")
    def admin_expire(self, req, body):
        now = self.now_ms()
        tok = body.get("token")
        n = 0
        for k, t in self.access_tokens.items():
            if tok is None or k == tok:
                t["expires"] = min(t["expires"], now - 1)
                n += 1
        return {"ok": True, "expired": n}

    @admin_route("POST", "/_admin/revoke")
    def admin_revoke(self, req, body):
        tok = body["token"]
        if tok in self.access_tokens:
            self.access_tokens[tok]["revoked"] = True
        elif tok in self.refresh_tokens:
            self.refresh_tokens[tok]["state"] = "revoked"
        elif tok in self.api_keys:
            self.api_keys[tok]["revoked"] = True
        else:
            raise ValueError("no such token")
        return {"ok": True}

    @admin_route("POST", "/_admin/permissions")
    def admin_permissions(self, req, body):
        perms = self.check_permissions(body["permissions"])
        target = body.get("target", "all")
        n = 0
        for table in (self.access_tokens, self.refresh_tokens, self.api_keys):
            for k, t in table.items():
                if target in ("all", k):
                    t["permissions"] = list(perms)
                    n += 1
        if target == "all":
            self.default_permissions = list(perms)
        elif n == 0:
            raise ValueError("no such token or key")
        return {"ok": True, "changed": n}

    @admin_route("POST", "/_admin/lifetimes")
    def admin_lifetimes(self, req, body):
        for k, v in body.items():
            if k not in self.lifetimes or not isinstance(v, int) or v < 0:
                raise ValueError("lifetimes: %s must be a known key with a whole number of "
                                 "seconds" % k)
            self.lifetimes[k] = v
        return dict(self.lifetimes)

    @admin_route("GET", "/_admin/contact")
    def admin_contact(self, req, body):
        c = self.contacts.get(req.arg("id") or "")
        if c is None:
            raise HttpError(404, {"error": "no such contact"})
        return self.dump_contact(c)

    @admin_route("POST", "/_admin/edit-contact")
    def admin_edit(self, req, body):
        c = self.contacts.get(str(body["id"]))
        if c is None:
            raise HttpError(404, {"error": "no such contact"})
        new = body.get("set") or {}
        if not isinstance(new, dict):
            raise ValueError("set must be an object")
        props = self.contact_props()
        bad = [f for f in list(new) + list(body.get("clear") or [])
               if f not in props or f in self.SERVER_MANAGED]
        if bad:
            raise ValueError("edit-contact cannot set %s" % ", ".join(bad))
        self.apply_fields(c, json.loads(json.dumps(new)), list(new), props)
        for f in body.get("clear") or []:
            c.pop(f, None)
        stamp = self.write_stamp()
        for t in body.get("add_tags") or []:
            if str(t) not in self.tags:
                raise ValueError("no tag %s" % t)
            c["tags"].setdefault(str(t), stamp)
        for t in body.get("remove_tags") or []:
            c["tags"].pop(str(t), None)
        c["update"] = stamp
        return self.dump_contact(c)

    @admin_route("POST", "/_admin/delete-contact")
    def admin_delete(self, req, body):
        if self.contacts.pop(str(body["id"]), None) is None:
            raise HttpError(404, {"error": "no such contact"})
        return {"ok": True}

    @admin_route("POST", "/_admin/generate-contacts")
    def admin_generate(self, req, body):
        n = int(body["count"])
        rng = random.Random(body.get("seed", 1))
        domain = body.get("domain", "example.com")
        first = None
        stamp = self.write_stamp()
        for _ in range(n):
            cid = self.new_id("contact")
            first = first or cid
            g = rng.choice(("Ada", "Grace", "Alan", "Linus", "Barbara", "Ken", "Radia", "Dennis"))
            f = rng.choice(("Lovelace", "Hopper", "Turing", "Torvalds", "Liskov", "Thompson"))
            self.contacts[cid] = {
                "id": cid, "create": stamp, "update": stamp, "tags": {}, "source_type": "API",
                "given_name": g, "family_name": f,
                "email_addresses": [{"email": "%s.%s.%s@%s" % (g.lower(), f.lower(), cid,
                                                               domain),
                                     "field": "EMAIL1", "is_opt_in": False,
                                     "email_opt_status": "UNENGAGED_NON_MARKETABLE"}]}
        return {"created": n, "first_id": first, "last_id": str(self.next_ids["contact"] - 1)}


# ---------------------------------------------------------------------------------------------
# Small value helpers

def redact_query(query):
    """A copy of a parsed query string with secret-looking parameters (token, key, secret,
    password, code) replaced by "<redacted>"."""
    return {k: [common.REDACTED] * len(v) if common.is_secret_header(k) or "code" in k.lower()
            else v for k, v in query.items()}


def _short_hash(s):
    return hashlib.sha256(s.encode()).hexdigest()[:12]


def _num_key(s):
    s = str(s)
    return int(s) if s.isdigit() else -1


def _tuplify(v):
    return tuple(_tuplify(x) for x in v) if isinstance(v, list) else v


def _wild(pattern, value):
    """Keap filter match: case-insensitive equality, or prefix match with a trailing '*'."""
    if value is None:
        return False
    value = str(value).lower()
    p = pattern.lower()
    return value.startswith(p[:-1]) if p.endswith("*") else value == p


def _compare(a, o, b):
    return {"==": a == b, "!=": a != b, ">": a > b, "<": a < b, ">=": a >= b,
            "<=": a <= b}[o]


def _to_num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _listbox(v):
    if isinstance(v, list):
        return [str(x) for x in v]
    if isinstance(v, str):
        return [x.strip() for x in v.split(",") if x.strip()]
    return []


def _valid_date(s):
    if not isinstance(s, str) or not DATE_RE.match(s):
        return False
    try:
        datetime.date.fromisoformat(s)
        return True
    except ValueError:
        return False


_ZONES = None


def _valid_tz(name):
    global _ZONES
    if _ZONES is None:
        try:
            import zoneinfo
            _ZONES = zoneinfo.available_timezones()
        except Exception:  # no tz database: accept anything shaped like Area/City
            _ZONES = set()
    if not _ZONES:
        return bool(re.match(r"^[A-Za-z]+(/[A-Za-z0-9_+-]+)+$|^UTC$", name))
    return name in _ZONES


def _check_custom(meta, content):
    """None if content fits the custom field, else why not (the fake's rules; Keap's are not
    documented)."""
    if content is None:
        return None
    ft = meta.get("field_type")
    labels = [o.get("label") for o in meta.get("options") or []]
    if ft in ("DROPDOWN", "RADIO"):
        if content not in labels:
            return "%r is not an option of %s (%s)" % (content, meta.get("label"),
                                                      ", ".join(map(str, labels)))
        return None
    if ft == "LIST_BOX":
        if not isinstance(content, (list, str)):
            return "expected a list of option labels or a comma-joined string"
        bad = [x for x in _listbox(content) if x not in labels]
        return "not options of %s: %s" % (meta.get("label"), ", ".join(bad)) if bad else None
    if ft == "DATE":
        return None if _valid_date(content) else "%r is not YYYY-MM-DD" % (content,)
    if ft == "DATE_TIME":
        return None if parse_iso(content) is not None else \
            "%r is not an ISO-8601 date-time with an offset" % (content,)
    if ft in ("WHOLE_NUMBER", "YEAR", "MONTH", "DAY_OF_WEEK", "USER"):
        if isinstance(content, bool) or not (isinstance(content, int) or
                                             (isinstance(content, str) and
                                              re.match(r"^-?\d+$", content))):
            return "%r is not a whole number" % (content,)
        return None
    if ft in ("DECIMAL_NUMBER", "CURRENCY", "PERCENT"):
        if isinstance(content, bool) or _to_num(content) is None:
            return "%r is not a number" % (content,)
        return None
    if ft == "YES_NO":
        return None if isinstance(content, bool) else "%r is not a boolean" % (content,)
    if not isinstance(content, str):
        return "expected text, got %s" % _json_type(content)
    if len(content) > 65535:
        return "longer than 65535 characters"
    if ft == "EMAIL" and content and not EMAIL_RE.match(content):
        return "%r is not an email address" % content
    return None


def _phone(p):
    out = {k: p[k] for k in ("number", "extension", "type", "field") if p.get(k) is not None}
    raw = re.sub(r"[\s().-]", "", p.get("number") or "")
    if p.get("number_e164"):
        out["number_e164"] = p["number_e164"]
    elif re.match(r"^\+[1-9]\d{6,14}$", raw):
        out["number_e164"] = raw
    return out


if __name__ == "__main__":
    common.main(KeapFake)
