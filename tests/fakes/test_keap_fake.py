"""Self-test of the Keap fake (keap.py), run as a subprocess over TLS with the common test CA.

Run: python3 tests/fakes/test_keap_fake.py
Prints "ok - NAME" or "not ok - NAME: WHY" per check, then "N passed, N failed"; exits 1 if
any check failed. Needs only the Python 3 standard library and the openssl CLI (for the CA).
"""

import base64
import email.utils
import json
import os
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import keap  # noqa: E402
import selftest  # noqa: E402
from selftest import check, eq, true  # noqa: E402

PREFIX = "/crm/rest"
CLIENT_ID, CLIENT_SECRET = "test-client", "test-secret"
SCHEMAS = keap.Schemas()


class Fake(selftest.KeepAliveFake):
    """keap.py in a subprocess on an ephemeral port."""

    def __init__(self, tmp, *args):
        super().__init__("keap.py", tmp, "--idle-timeout", "60", "--max-lifetime", "120",
                         "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, *args)

    def api(self, method, path, body=None, token=None, headers=None, query=None, raw=None):
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        url = PREFIX + path
        if query:
            url += "?" + urllib.parse.urlencode(query, doseq=True, quote_via=urllib.parse.quote)
        return self.request(method, url, body, h, raw)

    def token_request(self, form, basic=True, content_type="application/x-www-form-urlencoded"):
        h = {"Content-Type": content_type}
        if basic:
            cred = base64.b64encode(("%s:%s" % basic if isinstance(basic, tuple) else
                                     "%s:%s" % (CLIENT_ID, CLIENT_SECRET)).encode()).decode()
            h["Authorization"] = "Basic " + cred
        return self.request("POST", "/token", None, h, urllib.parse.urlencode(form).encode())


F = None


def conforms(schema_name, value):
    """The fake's own answers must match the spec's response schemas, with no extra keys."""
    errors, unknown = [], []
    SCHEMAS.validate({"$ref": schema_name}, value, "$", errors, unknown)
    if errors or unknown:
        raise AssertionError("%s does not match the spec: %s" % (
            schema_name, "; ".join(errors + ["%s: not in spec" % u for u in unknown])))


def is_gateway_fault(body, errorcode):
    true(isinstance(body, dict) and isinstance(body.get("fault"), dict),
         "not a gateway fault envelope: %r" % (body,))
    eq(body["fault"]["detail"]["errorcode"], errorcode, "errorcode")
    true(isinstance(body["fault"].get("faultstring"), str), "no faultstring")


def is_v2_error(body, status):
    true(isinstance(body, dict) and set(body) == {"code", "message", "status", "details"},
         "not a v2 error: %r" % (body,))
    eq(int(body["code"]), status, "code")
    conforms("Error", dict(body, code=int(body["code"])))


def conformance():
    return F.admin("GET", "conformance")


def reset_world(**extra):
    """A fresh world: no contacts, default model, limits off unless given."""
    state = {"limits": {"spike_per_second": 0, "product_per_minute": 0, "product_per_day": 0,
                        "tenant_per_minute": 0, "tenant_per_day": 0}}
    state.update(extra)
    F.admin("POST", "state", state)
    return F.admin("POST", "tokens", {})


def new_contact(token, email_, given="Jane", family="Doe", **more):
    body = dict({"given_name": given, "family_name": family,
                 "email_addresses": [{"email": email_, "field": "EMAIL1"}]}, **more)
    st, _, c = F.api("POST", "/v2/contacts", body, token)
    eq(st, 201, "create status (%r)" % (c,))
    return c


def list_all(token, query):
    """Follows next_page_token; -> (pages, contacts)."""
    pages, out, q = [], [], dict(query)
    for _ in range(100):
        st, _, body = F.api("GET", "/v2/contacts", token=token, query=q)
        eq(st, 200, "list status (%r)" % (body,))
        conforms("ListContactsResponse", body)
        pages.append(body)
        out += body["contacts"]
        tok = body.get("next_page_token")
        if not tok:
            return pages, out
        q = dict(query, page_token=tok)
    raise AssertionError("pagination did not end")


def start(tmp):
    global F
    F = Fake(tmp)


def main():
    return selftest.main("keap-fake-test-", start, run_checks, "keap.py starts")


def run_checks():
    @check("keap_schemas.json is what keap_schemas.py makes from swagger.yml (skipped if absent)")
    def _():
        import keap_schemas
        if not os.path.exists(keap_schemas.DEFAULT_SWAGGER):
            return
        with open(keap_schemas.DEFAULT_OUT, encoding="utf-8") as f:
            eq(f.read() == keap_schemas.generate(keap_schemas.DEFAULT_SWAGGER), True,
               "keap_schemas.json up to date (run keap_schemas.py)")

    @check("YAML subset parser: block scalars, multi-line quoted and plain, flow, sequences")
    def _():
        import keap_schemas
        doc = keap_schemas.load_yaml(
            "a: |-\n  x\n  y\nb: 'one\n  two'\nc: plain\n  more\nd: {\n  }\ne:\n- k: 1\n  "
            "l: [a, 'b']\n- '5'\nf: \"q\\tz\"\ng: >\n  f1\n  f2\n\n  f3\n")
        eq(doc, {"a": "x\ny", "b": "one two", "c": "plain more", "d": {},
                 "e": [{"k": 1, "l": ["a", "b"]}, "5"], "f": "q\tz", "g": "f1 f2\nf3\n"},
           "parsed")

    tok = reset_world()
    at = tok["access_token"]

    @check("no credential -> 401 gateway fault oauth.v2.InvalidAccessToken, no rate headers")
    def _():
        st, h, body = F.api("GET", "/v2/contacts")
        eq(st, 401, "status")
        is_gateway_fault(body, "oauth.v2.InvalidAccessToken")
        true("x-keap-product-quota-available" not in h, "rate headers on a 401")
        st, _, body = F.api("GET", "/v2/no/such/path")
        eq(st, 401, "unknown path without credentials (gateway authenticates first)")

    @check("unknown bearer -> 401 keymanagement.service.invalid_access_token")
    def _():
        st, _, body = F.api("GET", "/v2/contacts", token="garbage")
        eq(st, 401, "status")
        is_gateway_fault(body, "keymanagement.service.invalid_access_token")

    @check("authorization_code grant: code + redirect_uri -> token pair; reuse -> invalid_grant")
    def _():
        code = F.admin("POST", "auth-codes", {"redirect_uri": "https://app.example/cb"})["code"]
        st, h, body = F.token_request({"grant_type": "authorization_code", "code": code,
                                       "redirect_uri": "https://app.example/cb"}, basic=False)
        eq(st, 401, "no client credentials")
        st, h, body = F.token_request({"grant_type": "authorization_code", "code": code,
                                       "redirect_uri": "https://app.example/cb",
                                       "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
                                      basic=False)
        eq(st, 200, "status (%r)" % (body,))
        eq(sorted(body), ["access_token", "expires_in", "refresh_token", "scope",
                          "token_type"], "keys")
        eq(body["expires_in"], 86400, "expires_in (24 h)")
        true(body["scope"].startswith("full|"), "scope full|tenant")
        st, _, _ = F.api("GET", "/v2/contacts", token=body["access_token"])
        eq(st, 200, "new access token works")
        code2 = F.admin("POST", "auth-codes", {"redirect_uri": "https://app.example/cb"})["code"]
        st, _, body = F.token_request({"grant_type": "authorization_code", "code": code2,
                                       "redirect_uri": "https://other.example/cb"})
        eq((st, body.get("error")), (400, "invalid_grant"), "wrong redirect_uri")
        st, _, body = F.token_request({"grant_type": "authorization_code", "code": code,
                                       "redirect_uri": "https://app.example/cb"})
        eq((st, body.get("error")), (400, "invalid_grant"), "code reuse")

    @check("refresh rotates: new pair, old refresh token dead (invalid_grant), new one works")
    def _():
        pair = F.admin("POST", "tokens", {})
        st, _, new = F.token_request({"grant_type": "refresh_token",
                                      "refresh_token": pair["refresh_token"]})
        eq(st, 200, "refresh (%r)" % (new,))
        true(new["refresh_token"] != pair["refresh_token"], "refresh token rotated")
        true(new["access_token"] != pair["access_token"], "new access token")
        st, _, body = F.token_request({"grant_type": "refresh_token",
                                       "refresh_token": pair["refresh_token"]})
        eq((st, body.get("error")), (400, "invalid_grant"), "reuse of the old refresh token")
        st, _, again = F.token_request({"grant_type": "refresh_token",
                                        "refresh_token": new["refresh_token"]})
        eq(st, 200, "the rotated refresh token works once")
        st, _, body = F.token_request({"grant_type": "refresh_token",
                                       "refresh_token": again["refresh_token"]},
                                      basic=("test-client", "wrong"))
        eq((st, body.get("error")), (401, "invalid_client"), "wrong client secret")

    @check("token request as JSON -> 400 invalid_request + conformance record")
    def _():
        n = len(conformance())
        st, _, body = F.token_request({"grant_type": "refresh_token", "refresh_token": "x"},
                                      content_type="application/json")
        eq((st, body.get("error")), (400, "invalid_request"), "status")
        eq(len(conformance()), n + 1, "recorded")

    @check("expired access token -> 401 keymanagement.service.access_token_expired; refresh heals")
    def _():
        pair = F.admin("POST", "tokens", {})
        eq(F.api("GET", "/v2/contacts", token=pair["access_token"])[0], 200, "fresh")
        F.admin("POST", "expire-access-tokens", {})
        st, _, body = F.api("GET", "/v2/contacts", token=pair["access_token"])
        eq(st, 401, "expired status")
        is_gateway_fault(body, "keymanagement.service.access_token_expired")
        st, _, new = F.token_request({"grant_type": "refresh_token",
                                      "refresh_token": pair["refresh_token"]})
        eq(F.api("GET", "/v2/contacts", token=new["access_token"])[0], 200, "after refresh")

    @check("access lifetime configurable; clock advance expires tokens")
    def _():
        F.admin("POST", "lifetimes", {"access_s": 60})
        pair = F.admin("POST", "tokens", {})
        eq(pair["expires_in"], 60, "expires_in")
        F.admin("POST", "clock", {"advance_s": 61})
        st, _, body = F.api("GET", "/v2/contacts", token=pair["access_token"])
        eq(st, 401, "expired by the clock")
        F.admin("POST", "clock", {"offset_s": 0})
        F.admin("POST", "lifetimes", {"access_s": 86400})

    @check("X-Keap-API-Key accepted; unknown key -> 401 oauth.v2.InvalidApiKey")
    def _():
        F.admin("POST", "limits", {"product_per_day": 30000, "product_per_minute": 240})
        key = F.admin("POST", "api-keys", {"kind": "PAT"})["key"]
        st, h, _ = F.api("GET", "/v2/contacts", headers={"X-Keap-API-Key": key})
        eq(st, 200, "with key")
        true("x-keap-product-quota-available" in h, "rate headers")
        st, _, body = F.api("GET", "/v2/contacts", headers={"X-Keap-API-Key": "KeapAK-nope"})
        eq(st, 401, "bad key")
        is_gateway_fault(body, "oauth.v2.InvalidApiKey")
        F.admin("POST", "limits", {"product_per_day": 0, "product_per_minute": 0})

    at = reset_world()["access_token"]

    @check("contact model: custom fields with ids, labels, types, dropdown options")
    def _():
        st, _, m = F.api("GET", "/v2/contacts/model", token=at)
        eq(st, 200, "status")
        conforms("ObjectModel", m)
        src = [f for f in m["custom_fields"] if f["label"] == "ATS Source"][0]
        eq(src["field_type"], "DROPDOWN", "type")
        true(any(o["label"] == "LinkedIn" for o in src["options"]), "options")
        true("custom_fields" in m["optional_properties"], "custom_fields is optional")

    @check("create 201; upsert duplicate_option=Email -> 200 same contact; none -> 201 new")
    def _():
        c = new_contact(at, "ada@example.com", "Ada", "Lovelace")
        conforms("Contact", c)
        true(c["id"].isdigit(), "string id")
        st, _, u = F.api("POST", "/v2/contacts", {
            "given_name": "Ada", "job_title": "Analyst",
            "email_addresses": [{"email": "ADA@example.com", "field": "EMAIL1"}]},
            at, query={"duplicate_option": "Email", "fields": "id,job_title,given_name"})
        eq(st, 200, "upsert matched (%r)" % (u,))
        eq(u["id"], c["id"], "same id")
        eq(u.get("job_title"), "Analyst", "updated")
        st, _, d = F.api("POST", "/v2/contacts", {
            "email_addresses": [{"email": "ada@example.com", "field": "EMAIL1"}]}, at)
        eq(st, 201, "no duplicate_option always creates")
        true(d["id"] != c["id"], "a second contact")
        st, _, e = F.api("POST", "/v2/contacts", {
            "given_name": "Other", "email_addresses": [{"email": "new@example.com"}]}, at,
            query={"duplicate_option": "EmailAndName"})
        eq(st, 201, "no match -> created")
        eq(e["email_addresses"][0]["field"], "EMAIL1", "slot assigned")
        st, _, body = F.api("POST", "/v2/contacts", {"given_name": "Nobody"}, at)
        eq(st, 400, "create without email/phone/address")
        is_v2_error(body, 400)

    @check("get one contact with fields; default fields omit optional ones; unknown id -> 404")
    def _():
        c = new_contact(at, "get@example.com", custom_fields=[{"id": "11", "content": "gh-1"}],
                        job_title="Eng")
        st, _, g = F.api("GET", "/v2/contacts/" + c["id"], token=at)
        eq(st, 200, "status")
        true("custom_fields" not in g and "job_title" not in g and "tag_ids" not in g,
             "optional fields absent by default: %r" % sorted(g))
        st, _, g = F.api("GET", "/v2/contacts/" + c["id"], token=at,
                         query={"fields": "custom_fields,job_title,tag_ids,update_time"})
        eq(g.get("custom_fields"), [{"id": "11", "content": "gh-1"}], "custom fields")
        eq(g.get("job_title"), "Eng", "job_title")
        eq(g.get("tag_ids"), [], "tag_ids")
        conforms("Contact", g)
        st, _, body = F.api("GET", "/v2/contacts/999999", token=at)
        eq(st, 404, "unknown id")
        is_v2_error(body, 404)
        eq(body["code"], 404, "code is an integer by default")
        F.admin("POST", "settings", {"error_code": "string"})
        st, _, body = F.api("GET", "/v2/contacts/999999", token=at)
        eq(body["code"], "404", "code as a string when configured")
        F.admin("POST", "settings", {"error_code": "int"})

    at = reset_world()["access_token"]

    @check("pagination: opaque next_page_token across 3 pages, stable order, last page ''")
    def _():
        made = [new_contact(at, "p%02d@example.com" % i)["id"] for i in range(25)]
        pages, got = list_all(at, {"page_size": 10, "fields": "id,update_time"})
        eq([len(p["contacts"]) for p in pages], [10, 10, 5], "page sizes")
        eq([c["id"] for c in got], made, "every contact once, id order")
        eq(pages[-1].get("next_page_token"), "", "last page token")
        _, got2 = list_all(at, {"page_size": 7, "order_by": "update_time desc"})
        eq([c["id"] for c in got2], made[::-1], "order_by update_time desc")

    @check("last page variants: absent key; trailing empty page")
    def _():
        F.admin("POST", "settings", {"last_page_token": "absent"})
        pages, got = list_all(at, {"page_size": 10})
        true("next_page_token" not in pages[-1], "key absent on the last page")
        F.admin("POST", "settings", {"last_page_token": "empty", "trailing_empty_page": True})
        pages, got = list_all(at, {"page_size": 5})
        eq(len(pages), 6, "25 contacts in pages of 5 plus an empty one")
        eq(pages[-1]["contacts"], [], "empty trailing page")
        eq(len(got), 25, "all contacts")
        F.admin("POST", "settings", {"trailing_empty_page": False})

    @check("page_size 1001 -> 400 + conformance; token reused with another filter -> 400")
    def _():
        n = len(conformance())
        st, _, body = F.api("GET", "/v2/contacts", token=at, query={"page_size": 1001})
        eq(st, 400, "page_size over the spec's maximum")
        is_v2_error(body, 400)
        st, _, body = F.api("GET", "/v2/contacts", token=at, query={"page_size": 3})
        st, _, body = F.api("GET", "/v2/contacts", token=at, query={
            "page_size": 3, "page_token": body["next_page_token"],
            "filter": "given_name==Jane"})
        eq(st, 400, "token for another query")
        eq(len(conformance()), n + 2, "both recorded")

    @check("filter start_update_time (ISO ms Z): sees a Keap-side edit and the client's own write")
    def _():
        st, h, body = F.api("GET", "/v2/contacts", token=at,
                            query={"page_size": 1000, "fields": "id,update_time"})
        ids = [c["id"] for c in body["contacts"]]
        latest = max(keap.parse_iso(c["update_time"]) for c in body["contacts"])
        mark = keap.iso_ms(max(latest + 1, keap.parse_iso(F.admin("GET", "clock")["now"])))
        F.admin("POST", "edit-contact", {"id": ids[3], "set": {"given_name": "Edited"}})
        st, _, p = F.api("PATCH", "/v2/contacts/" + ids[5], {"job_title": "CTO"}, at,
                         query={"update_mask": "job_title"})
        eq(st, 200, "patch")
        _, got = list_all(at, {"filter": "start_update_time==" + mark,
                               "fields": "id,given_name,update_time"})
        eq(sorted(c["id"] for c in got), sorted([ids[3], ids[5]]), "changed since mark")
        true(all(keap.ISO_MS_RE.match(c["update_time"]) and c["update_time"].endswith("Z")
                 for c in got), "update_time ISO with ms and Z")
        true(all(c["update_time"] >= mark for c in got), "update_time moved")
        _, got = list_all(at, {"filter": "start_update_time==%s;end_update_time==%s"
                               % (mark, p["update_time"])})
        eq([c["id"] for c in got], [ids[3]], "end_update_time is exclusive")
        st, _, body = F.api("GET", "/v2/contacts", token=at,
                            query={"filter": "start_update_time==2026-01-01"})
        eq(st, 400, "date-only start_update_time rejected")

    @check("filter email (any slot, case-insensitive, wildcard) and ids; bad field -> 400")
    def _():
        _, got = list_all(at, {"filter": "email==P07@EXAMPLE.COM"})
        eq(len(got), 1, "exact email")
        _, got = list_all(at, {"filter": "email==p0*"})
        eq(len(got), 10, "prefix wildcard")
        _, got = list_all(at, {"filter": "ids==1001,1002,99999"})
        eq(sorted(c["id"] for c in got), ["1001", "1002"], "ids")
        st, _, _ = F.api("GET", "/v2/contacts", token=at, query={"filter": "shoe_size==9"})
        eq(st, 400, "unknown filter field")
        n = len(conformance())
        st, _, body = F.api("GET", "/v2/contacts", token=at,
                            query={"email": "p07@example.com", "page_size": 1000})
        eq((st, len(body["contacts"])), (200, 25), "unknown ?email= ignored, as Keap does")
        eq(conformance()[n:][0]["kind"], "query", "but recorded")

    at = reset_world()["access_token"]

    @check("PATCH replaces email_addresses WHOLE: second email dropped when only one is sent")
    def _():
        c = new_contact(at, "one@example.com", email_addresses=[
            {"email": "one@example.com", "field": "EMAIL1"},
            {"email": "two@example.com", "field": "EMAIL2"}])
        eq(len(c["email_addresses"]), 2, "two emails")
        st, _, p = F.api("PATCH", "/v2/contacts/" + c["id"], {
            "email_addresses": [{"email": "one@example.com", "field": "EMAIL1"}]}, at,
            query={"update_mask": "email_addresses"})
        eq(st, 200, "patch (%r)" % (p,))
        eq([e["email"] for e in p["email_addresses"]], ["one@example.com"], "EMAIL2 gone")
        conforms("Contact", p)

    @check("update_mask respected: unmasked body fields untouched, masked absent ones cleared")
    def _():
        c = new_contact(at, "mask@example.com", "Mary", "Major", job_title="Dev",
                        custom_fields=[{"id": "11", "content": "a"}, {"id": "17", "content": "b"}])
        st, _, p = F.api("PATCH", "/v2/contacts/" + c["id"], {
            "given_name": "Maria", "family_name": "Minor",
            "custom_fields": [{"id": "17", "content": "c"}]}, at,
            query={"update_mask": ["given_name", "custom_fields", "job_title"],
                   "fields": "given_name,family_name,job_title,custom_fields"})
        eq(st, 200, "status (%r)" % (p,))
        eq(p["given_name"], "Maria", "masked field written")
        eq(p["family_name"], "Major", "unmasked field untouched")
        true("job_title" not in p, "masked field absent from the body is cleared")
        eq(p["custom_fields"], [{"id": "17", "content": "c"}], "custom_fields replaced whole")
        n = len(conformance())
        st, _, body = F.api("PATCH", "/v2/contacts/" + c["id"], {"given_name": "X"}, at,
                            query={"update_mask": "tag_ids"})
        eq(st, 400, "mask names a read-only property")
        st, _, body = F.api("PATCH", "/v2/contacts/" + c["id"], {"given_name": "X"}, at,
                            query={"update_mask": "given_name,family_name"})
        eq(st, 200, "comma-joined mask still applied")
        eq(len(conformance()), n + 2, "read-only mask and comma-joined mask recorded")

    @check("custom field values checked against the model (dropdown option, date)")
    def _():
        n = len(conformance())
        st, _, body = F.api("POST", "/v2/contacts", {
            "email_addresses": [{"email": "cf@example.com"}],
            "custom_fields": [{"id": "13", "content": "MySpace"}]}, at)
        eq(st, 400, "dropdown value not an option")
        is_v2_error(body, 400)
        st, _, body = F.api("POST", "/v2/contacts", {
            "email_addresses": [{"email": "cf@example.com"}],
            "custom_fields": [{"id": "15", "content": "2026-02-30"}]}, at)
        eq(st, 400, "bad date")
        st, _, body = F.api("POST", "/v2/contacts", {
            "email_addresses": [{"email": "cf@example.com"}],
            "custom_fields": [{"id": "13", "content": "Referral"},
                              {"id": "15", "content": "2026-02-03"}]}, at)
        eq(st, 201, "valid values")
        eq([r["kind"] for r in conformance()[n:]], ["value", "value"], "records")

    @check("schema-invalid body -> 400 v2 error + conformance record + log line flag")
    def _():
        F.admin("POST", "conformance/reset")
        st, _, body = F.api("POST", "/v2/contacts", {
            "given_name": 42, "email_addresses": [{"email": "x@example.com",
                                                   "field": "EMAIL9"}]}, at)
        eq(st, 400, "status")
        is_v2_error(body, 400)
        true("given_name" in body["message"] and "EMAIL9" in body["message"], body["message"])
        recs = conformance()
        eq(len(recs), 1, "one record")
        eq((recs[0]["kind"], recs[0]["operation"], recs[0]["status"]),
           ("schema", "createContact", 400), "record")
        with open(F.log) as f:
            lines = [json.loads(ln) for ln in f if ln.strip()]
        flagged = [ln for ln in lines if ln.get("conformance_failure") is True]
        true(flagged and flagged[-1]["status"] == 400 and
             flagged[-1]["path"] == PREFIX + "/v2/contacts", "log line flagged")

    @check("unknown property (tag_ids on a contact) accepted as Keap does, but recorded")
    def _():
        c = new_contact(at, "extra@example.com")
        F.admin("POST", "conformance/reset")
        st, _, _ = F.api("PATCH", "/v2/contacts/" + c["id"], {"given_name": "Y",
                                                              "tag_ids": ["1"]}, at,
                         query={"update_mask": "given_name"})
        eq(st, 200, "accepted")
        eq([r["kind"] for r in conformance()], ["unknown_property"], "recorded")

    @check("DELETE contact -> 204, then GET -> 404")
    def _():
        c = new_contact(at, "del@example.com")
        eq(F.api("DELETE", "/v2/contacts/" + c["id"], token=at)[0], 204, "delete")
        eq(F.api("GET", "/v2/contacts/" + c["id"], token=at)[0], 404, "gone")

    at = reset_world()["access_token"]

    @check("tag categories and tags: create 201, list with category filter")
    def _():
        st, _, cat = F.api("POST", "/v2/tags/categories", {"name": "ATS Stage"}, at)
        eq(st, 201, "category")
        conforms("TagCategory", cat)
        st, _, body = F.api("POST", "/v2/tags/categories", {"name": "ats stage"}, at)
        eq(st, 409, "category names are unique")
        st, _, t = F.api("POST", "/v2/tags", {"name": "ATS Stage: Hired",
                                              "category": {"id": cat["id"]}}, at)
        eq(st, 201, "tag")
        conforms("Tag", t)
        F.api("POST", "/v2/tags", {"name": "Loose"}, at)
        st, _, lst = F.api("GET", "/v2/tags", token=at,
                           query={"filter": "category_id==" + cat["id"]})
        conforms("ListTagsResponse", lst)
        eq([x["name"] for x in lst["tags"]], ["ATS Stage: Hired"], "filtered")
        st, _, lst = F.api("GET", "/v2/tags/categories", token=at)
        conforms("ListTagCategoriesResponse", lst)
        eq(len(lst["tag_categories"]), 1, "one category")

    @check("applyTags: 200 with per-contact results incl. CONTACT_NOT_FOUND and FAILURE")
    def _():
        t = F.api("GET", "/v2/tags", token=at)[2]["tags"][0]
        a = new_contact(at, "t1@example.com")["id"]
        b = new_contact(at, "t2@example.com")["id"]
        c = new_contact(at, "t3@example.com")["id"]
        F.admin("POST", "settings", {"tag_fail_contacts": [c]})
        st, _, r = F.api("POST", "/v2/tags/%s/contacts:applyTags" % t["id"],
                         {"contact_ids": [a, b, "999999", c]}, at)
        eq(st, 200, "status")
        conforms("ApplyTagsResponse", r)
        eq(r["results"], {a: "SUCCESS", b: "SUCCESS", "999999": "CONTACT_NOT_FOUND",
                          c: "FAILURE"}, "results")
        st, _, r = F.api("POST", "/v2/tags/%s/contacts:applyTags" % t["id"],
                         {"contact_ids": [a]}, at)
        eq(r["results"], {a: "DUPLICATE"}, "already tagged")
        g = F.api("GET", "/v2/contacts/" + a, token=at, query={"fields": "tag_ids"})[2]
        eq(g["tag_ids"], [t["id"]], "tag on the contact")
        st, _, body = F.api("POST", "/v2/tags/%s/contacts:removeTags" % t["id"],
                            {"contact_ids": [a]}, at)
        eq((st, body), (204, None), "removeTags 204 without body")
        g = F.api("GET", "/v2/contacts/" + a, token=at, query={"fields": "tag_ids"})[2]
        eq(g["tag_ids"], [], "tag removed")
        F.admin("POST", "settings", {"tag_fail_contacts": []})

    @check("tag batches: > 100 ids -> 400 + record; ids must be strings; unknown tag -> 404")
    def _():
        t = F.api("GET", "/v2/tags", token=at)[2]["tags"][0]
        n = len(conformance())
        st, _, body = F.api("POST", "/v2/tags/%s/contacts:applyTags" % t["id"],
                            {"contact_ids": [str(i) for i in range(1, 102)]}, at)
        eq(st, 400, "101 ids")
        st, _, body = F.api("POST", "/v2/tags/%s/contacts:applyTags" % t["id"],
                            {"contact_ids": [1001]}, at)
        eq(st, 400, "integer id")
        eq(len(conformance()), n + 2, "recorded")
        st, _, body = F.api("POST", "/v2/tags/424242/contacts:applyTags",
                            {"contact_ids": ["1001"]}, at)
        eq(st, 404, "unknown tag")
        is_v2_error(body, 404)

    @check("403 when the token lacks a permission (contacts:write revoked), reads still work")
    def _():
        c = new_contact(at, "perm@example.com")
        F.admin("POST", "permissions", {"target": at, "permissions": ["contacts:read",
                                                                      "tags:read"]})
        st, _, body = F.api("PATCH", "/v2/contacts/" + c["id"], {"given_name": "Z"}, at,
                            query={"update_mask": "given_name"})
        eq(st, 403, "write refused")
        is_v2_error(body, 403)
        eq(F.api("GET", "/v2/contacts/" + c["id"], token=at)[0], 200, "read allowed")
        F.admin("POST", "permissions", {"target": at, "permissions": list(keap.PERMISSIONS)})

    @check("rate headers on every authenticated answer; tenant values pipe-delimited")
    def _():
        F.admin("POST", "limits", {"product_per_day": 1000, "product_per_minute": 100,
                                   "tenant_per_minute": 500, "tenant_per_day": 5000})
        F.admin("POST", "reset-counters")
        st, h, _ = F.api("GET", "/v2/contacts", token=at)
        st2, h2, _ = F.api("GET", "/v2/contacts/424242", token=at)
        eq((st, st2), (200, 404), "statuses")
        for hh in (h, h2):
            for name in ("x-keap-product-throttle-available", "x-keap-product-quota-available",
                         "x-keap-tenant-throttle-available", "x-keap-product-quota-expiry-time"):
                true(name in hh, "missing %s" % name)
        eq(h2["x-keap-product-quota-available"], "998", "quota available")
        eq(h2["x-keap-product-throttle-available"], "98", "throttle available")
        eq(h2["x-keap-tenant-throttle-available"], "498|4998", "tenant available")
        eq(h2["x-keap-tenant-throttle-time-unit"], "minute|day", "tenant units")
        exp = int(h2["x-keap-product-quota-expiry-time"])
        eq(exp % 86400000, 0, "expiry at 00:00 UTC (epoch ms)")

    @check("429 spike arrest: gateway fault, Retry-After seconds / HTTP date / absent, counted")
    def _():
        F.admin("POST", "limits", {"spike_per_second": 3, "retry_after": "seconds"})
        F.admin("POST", "reset-counters")
        F.admin("POST", "stats/reset")
        sts = [F.api("GET", "/v2/tags", token=at) for _ in range(4)]
        eq([s[0] for s in sts[:3]], [200, 200, 200], "within the limit")
        st, h, body = sts[3]
        eq(st, 429, "over the limit")
        is_gateway_fault(body, "policies.ratelimit.SpikeArrestViolation")
        true(h.get("retry-after", "").isdigit(), "Retry-After seconds: %r" % h.get("retry-after"))
        true("x-keap-product-quota-available" in h, "rate headers on a 429")
        F.admin("POST", "limits", {"retry_after": "http-date"})
        st, h, _ = F.api("GET", "/v2/tags", token=at)
        eq(st, 429, "still limited")
        true(email.utils.parsedate_to_datetime(h["retry-after"]) is not None, "HTTP date")
        F.admin("POST", "limits", {"retry_after": "none", "body_429": "v2"})
        st, h, body = F.api("GET", "/v2/tags", token=at)
        eq(st, 429, "still limited")
        true("retry-after" not in h, "no Retry-After")
        eq((body["code"], body["status"]), ("429", "Request Throttled"), "v2-shaped 429 body")
        F.admin("POST", "clock", {"advance_s": 1.1})
        eq(F.api("GET", "/v2/tags", token=at)[0], 200, "a second later")
        stats = F.admin("GET", "stats")
        eq((stats["429"], stats["429_by_limit"]["spike"]), (3, 3), "429s counted")
        F.admin("POST", "clock", {"offset_s": 0})
        F.admin("POST", "limits", {"spike_per_second": 0, "body_429": "fault",
                                   "retry_after": "seconds"})

    @check("daily quota exhaustion: 429 QuotaViolation, quota-available 0, resets at midnight")
    def _():
        F.admin("POST", "limits", {"product_per_day": 3})
        F.admin("POST", "reset-counters")
        sts = [F.api("GET", "/v2/tags", token=at) for _ in range(4)]
        eq([s[0] for s in sts], [200, 200, 200, 429], "statuses")
        st, h, body = sts[3]
        is_gateway_fault(body, "policies.ratelimit.QuotaViolation")
        eq(h["x-keap-product-quota-available"], "0", "quota-available")
        now_ms = int(time.time() * 1000)
        wait = int(h["retry-after"])
        true(abs(now_ms + wait * 1000 - int(h["x-keap-product-quota-expiry-time"])) < 5000,
             "Retry-After points at the quota expiry")
        clock = F.admin("GET", "clock")
        F.admin("POST", "clock", {"advance_s": wait + 1})
        eq(F.api("GET", "/v2/tags", token=at)[0], 200, "next UTC day")
        F.admin("POST", "clock", {"offset_s": clock["offset_ms"] / 1000})
        F.admin("POST", "limits", {"product_per_day": 0})

    @check("admin edit-contact bumps update_time; _merge load keeps unnamed sections")
    def _():
        c = new_contact(at, "edit@example.com")
        e = F.admin("POST", "edit-contact", {"id": c["id"], "set": {
            "email_addresses": [{"email": "edited@example.com"}]}})
        true(e["update_time"] > c["update_time"], "update_time bumped")
        eq([x["email"] for x in e["email_addresses"]], ["edited@example.com"], "list replaced")
        before = F.admin("GET", "state")
        F.admin("POST", "state", {"_merge": True, "settings": {"default_page_size": 7}})
        after = F.admin("GET", "state")
        eq(after["settings"]["default_page_size"], 7, "named section changed")
        eq(len(after["contacts"]), len(before["contacts"]), "contacts kept")
        eq(after["access_tokens"], before["access_tokens"], "tokens kept")
        F.admin("POST", "settings", {"default_page_size": 100})

    @check("state dump/load round trip keeps contacts, tags, tokens and applied tags")
    def _():
        st1 = F.admin("GET", "state")
        F.admin("POST", "state", st1)
        st2 = F.admin("GET", "state")
        for k in ("contacts", "tags", "tag_categories", "access_tokens", "refresh_tokens",
                  "model", "limits", "settings"):
            eq(st2[k], st1[k], k)
        eq(F.api("GET", "/v2/contacts", token=at)[0], 200, "token survives")

    @check("the fake's answers for contacts match the spec's Contact schema with all fields")
    def _():
        avail = SCHEMAS.ops["getContact"]["query"]["fields"]["available"]
        c = new_contact(at, "full@example.com", phone_numbers=[
            {"number": "+14155550100", "field": "PHONE1", "type": "Work"}],
            addresses=[{"field": "BILLING", "line1": "1 Main St", "locality": "Phoenix",
                        "region_code": "US-AZ", "country_code": "USA", "postal_code": "85001"}],
            company={"id": "7"}, origin={"ip_address": "192.0.2.1"})
        st, _, g = F.api("GET", "/v2/contacts/" + c["id"], token=at,
                         query={"fields": ",".join(avail)})
        eq(st, 200, "status (%r)" % (g,))
        conforms("Contact", g)
        eq(g["phone_numbers"][0].get("number_e164"), "+14155550100", "E.164 echoed")


if __name__ == "__main__":
    sys.exit(main())
