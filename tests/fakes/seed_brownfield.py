"""Brownfield worlds: an ATS and the Keap an EARLIER integration left behind, plus a checker.

    python3 tests/fakes/seed_brownfield.py config --ats KIND --ats-url URL --keap-url URL --ca CA
                                                  --state DIR [--file PATH]   > atsrecon.json
    python3 tests/fakes/seed_brownfield.py seed  --ats KIND --ats-url URL --keap-url URL --ca CA
                                                  [--file PATH] [--candidates 2000] [--seed 7]
                                                  [--variant brownfield|noise|clean] -o MANIFEST
    python3 tests/fakes/seed_brownfield.py snap  ... -m MANIFEST        (before a run)
    python3 tests/fakes/seed_brownfield.py check ... -m MANIFEST [--label TEXT] [--no-lifecycle]
    python3 tests/fakes/seed_brownfield.py drift ... -m MANIFEST        (warm path: drift later)
    python3 tests/fakes/seed_brownfield.py writes-since ... -m MANIFEST (Keap writes since snap)

The world is built the way a Make/Zapier scenario running for a year would have left it, NOT
the way atsrecon writes (tests/fakes/tenant.py's mapping plus a DATE_TIME field, a keap-owned
field and an unmapped note field, all created by that earlier integration):
  * "ATS Candidate ID" holds the ATS's OWN id (10000123, a Lever contact uuid, an Ashby uuid,
    the file's Applicant ID), bare; a few percent as "<ats>:<id>";
  * phones as people type them ((415) 555-0100, 415.555.0100, +1 415 555 0100) and some
    already E.164; DATE fields as 01/27/2025 on some, YYYY-MM-DD on the rest; DATE_TIME with
    whole seconds (2026-11-07T13:46:13Z); emails in another case (Jane.Doe@X.com);
  * Keap-owned data a PATCH must keep: EMAIL2, PHONE2, a FAX1 number, a BILLING address, the
    "Recruiter Notes" custom field (mapped nowhere) and "ATS Company" (owner keap);
  * some contacts with two stage tags, some with a stale one; marketing contacts that match no
    candidate; second contacts holding a linked candidate's email (possible duplicates);
  * then ATS history: candidates deleted, anonymised, merged (not Lever), emails changed; some
    candidates never reached Keap (to be created); and a controlled set of real drift
    (renamed in the ATS, a stage move, a Keap-side edit of an ats-owned field, an empty
    job title to fill).
The manifest (JSON) lists every seeded contact with its role and the outcome DESIGN.md §4/§5
demands: which contacts must be written and why, which must not be written at all, which tags
they must gain, and how many contacts must be created. Variants: "noise" differs from the ATS
only by what DESIGN §4 calls noise (email case, ATS-side phone spelling, ATS milliseconds,
the "<ats>:<id>" spelling): 0 writes; "clean" is the undrifted start of the warm path.

`check` compares the Keap fake's admin dump with the ATS and the manifest and prints one
"ok - ..." / "not ok - ..." line per measurement plus a summary line
"SOURCE: agreement P % (a/t), writes W, creates C (want K), duplicates D, deletes X".
Standard library only.
"""

import argparse
import datetime
import json
import os
import random
import re
import ssl
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tenant  # noqa: E402
from admin import Admin  # noqa: E402

EXT_FIELD = "ATS Candidate ID"
TAG_ARCHIVE = "ATS: Archived"
TAG_GDPR = "ATS: GDPR Erased"
TAG_DUP = "ATS: Possible Duplicate"
STAGE_CATEGORY = tenant.STAGE_TAGS["category"]
SOURCE_MAP = dict(tenant.FIELDS[4]["map"], **{"Meetups": "Event"})
# The custom fields the earlier integration created (ids as the Keap fake's model numbers them).
EXTRA_CUSTOM = [
    ("31", "ATS Applied At", "DATE_TIME", "ATSAppliedAt", ()),
    ("33", "ATS Company", "TEXT", "ATSCompany", ()),
    ("35", "Recruiter Notes", "TEXT_AREA", "RecruiterNotes", ()),
]
ALLOWED_MASK = {"given_name", "family_name", "email_addresses", "phone_numbers", "custom_fields",
                "job_title"}


def fields():
    f = json.loads(json.dumps(tenant.FIELDS))
    f[4]["map"] = dict(SOURCE_MAP)
    f += [{"from": "applied_at", "to": "custom:ATS Applied At"},
          {"from": "company", "to": "custom:ATS Company", "owner": "keap"}]
    return f


def config(a):
    c = tenant.config(a.ats, a.ats_url or "", a.keap_url, a.ca, a.state, a.report, a.file, [
        "guards.max_change_percent=100", "guards.max_creates=100000",
        "guards.max_archives=100000", "keap.max_rps=100", 'log.level="warn"'])
    c["fields"] = fields()
    c["match"] = {"external_id_field": EXT_FIELD, "by_email": True}
    c["lifecycle"] = {"deleted_tag": TAG_ARCHIVE, "anonymized_tag": TAG_GDPR,
                      "duplicate_tag": TAG_DUP, "deletes": "tag"}
    c["run"] = {"max_runtime": "20m"}
    for s in a.set or []:
        path, _, value = s.partition("=")
        sec, _, key = path.partition(".")
        c.setdefault(sec, {})[key] = json.loads(value)
    return c


# --- talking to the fakes -------------------------------------------------------------------

def open_ats(a, ctx):
    if a.ats == "file":
        sys.path.insert(0, os.path.join(HERE, "..", "scenarios"))
        from seed_demo import file_ats
        return file_ats(a.file)
    return Admin(a.ats_url, ctx=ctx)


def people_of(ats):
    out = []
    for p in ats.call("GET", "/_admin/canon/people?applied_at=1")["people"]:
        p = dict(p)
        p["id"] = str(p["id"])
        if "applied_at" not in p:          # the export file's runner keeps "applied"
            p["applied_at"] = p.get("applied") or "2026-11-02"
        out.append(p)
    return out


# --- DESIGN §4 normalisation, written here from the text (not from src/) --------------------

def e164(s, region_cc="1"):
    """US default region: 10 digits get +1; '+...' keeps its digits; else None."""
    if not s:
        return None
    s = s.strip()
    digits = re.sub(r"\D", "", s)
    if s.startswith("+"):
        return "+" + digits if 8 <= len(digits) <= 15 else None
    if len(digits) == 10:
        return "+" + region_cc + digits
    if len(digits) == 11 and digits.startswith(region_cc):
        return "+" + digits
    return None


def typed_phone(e, style):
    """A US E.164 number as a person would type it."""
    d = e[2:]
    return {"paren": "(%s) %s-%s" % (d[:3], d[3:6], d[6:]),
            "dots": "%s.%s.%s" % (d[:3], d[3:6], d[6:]),
            "spaced": "+1 %s %s %s" % (d[:3], d[3:6], d[6:]),
            "dashes": "%s-%s-%s" % (d[:3], d[3:6], d[6:]),
            "e164": e}[style]


def parse_time(v):
    """ISO date or date-time (any precision, Z or offset), or MM/DD/YYYY -> aware datetime."""
    if v is None or v == "":
        return None
    v = str(v).strip()
    m = re.match(r"^(\d{2})/(\d{2})/(\d{4})$", v)
    if m:
        return datetime.datetime(int(m.group(3)), int(m.group(1)), int(m.group(2)),
                                 tzinfo=datetime.timezone.utc)
    if re.match(r"^\d{4}-\d{2}-\d{2}$", v):
        return datetime.datetime.strptime(v, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)
    v2 = v.replace("Z", "+00:00")
    try:
        d = datetime.datetime.fromisoformat(v2)
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return d.astimezone(datetime.timezone.utc)


def want_date(applied):
    d = parse_time(applied)
    return d.strftime("%Y-%m-%d") if d else None


def want_datetime_s(applied):
    d = parse_time(applied)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ") if d else None


def fold(s):
    return " ".join((s or "").split())


def stage_tag(p):
    st = p.get("status")
    if st in tenant.STAGE_TAGS["by_status"]:
        return tenant.STAGE_TAGS["by_status"][st]
    return tenant.STAGE_TAGS["by_stage"].get(p.get("stage") or "")


def ext_values(kind, pid):
    return {pid, "%s:%s" % (kind, pid)}


# --- the world ------------------------------------------------------------------------------

def model():
    cf = []
    for id_, label, ftype, name, opts in EXTRA_CUSTOM:
        cf.append({"id": id_, "label": label, "options": [{"id": str(i + 1), "label": o}
                                                           for i, o in enumerate(opts)],
                   "record_type": "CONTACT", "field_type": ftype, "group_id": "1",
                   "group_name": "ATS", "field_name": name})
    return cf


def keap_setup(kp):
    """The model and tags the earlier integration created; returns {label: id}, {tag: id}."""
    st = kp.call("GET", "/_admin/state")
    m = st["model"]
    have = {f["label"] for f in m["custom_fields"]}
    for f in m["custom_fields"]:
        if f["label"] == "ATS Source" and "Event" not in [o["label"] for o in f["options"]]:
            f["options"].append({"id": str(len(f["options"]) + 1), "label": "Event"})
    m["custom_fields"] += [f for f in model() if f["label"] not in have]
    cats = st.get("tag_categories") or []
    if not any(c["name"] == STAGE_CATEGORY for c in cats):
        cats.append({"id": "61", "name": STAGE_CATEGORY, "description": "set by Zapier"})
    cat_id = [c["id"] for c in cats if c["name"] == STAGE_CATEGORY][0]
    tags = st.get("tags") or []
    names = {t["name"] for t in tags}
    nid = 701
    for t in sorted(set(tenant.STAGE_TAGS["by_stage"].values()) |
                    set(tenant.STAGE_TAGS["by_status"].values())):
        if t not in names:
            tags.append({"id": str(nid), "name": t, "category": {"id": cat_id}})
            nid += 1
    for t in ("Newsletter", "VIP"):
        if t not in names:
            tags.append({"id": str(nid), "name": t})
            nid += 1
    kp.call("POST", "/_admin/state", {"_merge": True, "model": m, "tag_categories": cats,
                                      "tags": tags})
    st = kp.call("GET", "/_admin/state")
    return ({f["label"]: str(f["id"]) for f in st["model"]["custom_fields"]},
            {t["name"]: str(t["id"]) for t in st["tags"]})


def case_noise(email):
    local, _, dom = email.partition("@")
    return ".".join(x[:1].upper() + x[1:] for x in local.split(".")) + "@" + dom.capitalize()


def seed(a, ats, kp):
    rng = random.Random(a.seed)
    variant = a.variant
    fid, tid = keap_setup(kp)
    if a.ats == "file":
        ats.call("POST", "/_admin/canon/generate", {"people": a.candidates})
        # an export with real times: application time with milliseconds, as an ATS keeps it
        for n, pid in enumerate(sorted(ats.people, key=int)):
            t = 1793000000000 + n * 3_600_123 + rng.randrange(1000)
            ats.people[pid]["applied"] = datetime.datetime.fromtimestamp(
                t / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
                "%03dZ" % (t % 1000)
        ats.write()
    else:
        ats.call("POST", "/_admin/canon/generate", {"people": a.candidates,
                                                    "seed": rng.randrange(1 << 30)})
    people = people_of(ats)
    rng.shuffle(people)
    can_merge = a.ats != "lever"
    contacts = []
    man = {"source": a.ats, "variant": variant, "candidates_seeded": len(people),
           "contacts": {}, "candidates": {}, "fields": fid, "tags": tid, "creates": [],
           "counts": {}}
    next_id = [50001]

    def count(k):
        man["counts"][k] = man["counts"].get(k, 0) + 1

    def new_id():
        next_id[0] += 1
        return str(next_id[0] - 1)

    # Decide each person's fate first (fractions of N; brownfield only).
    n = len(people)
    plan = {}
    if variant == "brownfield":
        quotas = [("missing", 0.05), ("deleted", 0.02), ("anonymized", 0.01),
                  ("merge_from", 0.01 if can_merge else 0), ("email_changed", 0.02),
                  ("renamed", 0.01), ("stage_moved", 0.01), ("keap_edited", 0.01),
                  ("no_title", 0.01), ("dup_contact", 0.01)]
        i = 0
        for what, frac in quotas:
            k = max(1, int(n * frac)) if frac else 0
            for _ in range(k):
                if what == "merge_from":
                    # needs a survivor: the next person, kept plain
                    plan[people[i]["id"]] = ("merge_from", people[i + 1]["id"])
                    plan[people[i + 1]["id"]] = ("merge_into", people[i]["id"])
                    i += 2
                    continue
                if what == "no_title" and not people[i].get("title"):
                    plan[people[i]["id"]] = ("plain", None)
                    i += 1
                    continue
                plan[people[i]["id"]] = (what, None)
                i += 1

    ats_edits = []   # (verb, body) applied after Keap is seeded: ATS history
    for p in people:
        pid = p["id"]
        fate = plan.get(pid, ("plain", None))[0]
        emails = p.get("emails") or []
        phones = p.get("phones") or []
        cand = {"fate": fate, "ext": pid}
        man["candidates"][pid] = cand
        count("fate:" + fate)
        if fate == "missing" or not emails:
            cand["fate"] = "missing"
            man["creates"].append(pid)
            continue
        cid = new_id()
        cand["contact"] = cid
        reasons = []           # why this contact must be written (empty: must not be)
        add_tags = []          # tags it must gain
        ext = pid
        if variant != "clean" and rng.random() < 0.04:
            ext = "%s:%s" % (a.ats, pid)      # the other accepted spelling: in sync
            count("ext_prefixed")
        email = emails[0].strip().lower()
        if variant != "clean" and rng.random() < 0.3:
            email = case_noise(email)          # noise: Keap matches email without case
            count("email_case")
        ct = {"id": cid, "given_name": p.get("first_name") or "",
              "family_name": p.get("last_name") or "",
              "job_title": p.get("title") or rng.choice(["Engineer", "Candidate", "Analyst"]),
              "email_addresses": [{"email": email, "field": "EMAIL1"}],
              "custom_fields": [{"id": fid[EXT_FIELD], "content": ext}],
              "create_time": "2025-11-%02dT09:%02d:%02d.000Z" % (rng.randrange(1, 28),
                                                                 rng.randrange(60),
                                                                 rng.randrange(60))}
        ct["update_time"] = ct["create_time"]
        e = e164(phones[0]) if phones else None
        if e:
            style = "e164"
            if variant == "brownfield":
                style = rng.choice(["paren", "dots", "spaced", "dashes"]) \
                    if rng.random() < 0.25 else "e164"
            ct["phone_numbers"] = [{"number": typed_phone(e, style), "field": "PHONE1",
                                    "type": "Mobile"}]
            if style != "e164":
                reasons.append("phone_format")
                count("phone_typed")
        src = SOURCE_MAP.get(p.get("source") or "")
        if src:
            ct["custom_fields"].append({"id": fid["ATS Source"], "content": src})
        d = want_date(p.get("applied_at"))
        if d:
            if variant == "brownfield" and rng.random() < 0.15:
                y, m_, dd = d.split("-")
                ct["custom_fields"].append({"id": fid["ATS Applied Date"],
                                            "content": "%s/%s/%s" % (m_, dd, y)})
                reasons.append("date_format")
                count("date_mmddyyyy")
            else:
                ct["custom_fields"].append({"id": fid["ATS Applied Date"], "content": d})
            ct["custom_fields"].append({"id": fid["ATS Applied At"],
                                        "content": want_datetime_s(p.get("applied_at"))})
        # Keap-owned data every PATCH must keep
        if p.get("company"):
            ct["custom_fields"].append({"id": fid["ATS Company"],
                                        "content": p["company"] if rng.random() < 0.5 else
                                        "Typed by hand %d" % rng.randrange(100)})
        if rng.random() < 0.3:
            ct["email_addresses"].append({"email": "home.%s@mail.example" % cid,
                                          "field": "EMAIL2"})
        if rng.random() < 0.2:
            ct.setdefault("phone_numbers", []).append(
                {"number": "(650) 555-%04d" % (int(cid) % 10000), "field": "PHONE2",
                 "type": "Work"})
        if rng.random() < 0.1:
            ct["fax_numbers"] = [{"number": "415-555-9%03d" % (int(cid) % 1000),
                                  "field": "FAX1"}]
        if rng.random() < 0.2:
            ct["addresses"] = [{"field": "BILLING", "line1": "%d Market St" % rng.randrange(999),
                                "locality": "San Francisco", "region_code": "US-CA",
                                "country_code": "USA", "postal_code": "94103"}]
        if rng.random() < 0.3:
            ct["custom_fields"].append({"id": fid["Recruiter Notes"],
                                        "content": "Met at meetup; prefers remote (%s)" % cid})
        tags = []
        want_tag = stage_tag(p)
        if want_tag:
            tags.append(tid[want_tag])
        if rng.random() < 0.05:
            tags.append(tid["VIP"])
        if variant == "brownfield" and want_tag and rng.random() < 0.03 and fate == "plain":
            other = [t for t in tenant.STAGE_TAGS["by_stage"].values() if t != want_tag][0]
            tags.append(tid[other])                 # two stage tags: one must go
            reasons.append("stage_tag_multiple")
            count("two_stage_tags")
        ct["tag_ids"] = tags
        # real drift and ATS history
        if fate == "renamed":
            ats_edits.append(("edit", {"id": pid, "first_name": (p.get("first_name") or "X") +
                                       "ine"}))
            reasons.append("renamed_in_ats")
        elif fate == "stage_moved":
            stages = list(tenant.STAGE_TAGS["by_stage"])
            cur = p.get("stage") if p.get("stage") in stages else stages[0]
            nxt = stages[(stages.index(cur) + 1) % len(stages)]
            ats_edits.append(("stage", {"id": pid, "stage": nxt}))
            reasons.append("stage_moved")
        elif fate == "keap_edited":
            ct["family_name"] = (ct["family_name"] or "X") + "-Edited"
            reasons.append("keap_edited")
        elif fate == "no_title":
            ct["job_title"] = ""
            reasons.append("fill_title")
        elif fate == "email_changed":
            ats_edits.append(("edit", {"id": pid, "emails": ["changed.%s@newmail.example" %
                                                             re.sub(r"\W", "", pid)[:12]]}))
            reasons.append("email_changed")
        elif fate == "deleted":
            ats_edits.append(("delete", {"id": pid}))
            add_tags, reasons = [TAG_ARCHIVE], ["deleted_in_ats"]
        elif fate == "anonymized":
            ats_edits.append(("anonymize", {"id": pid}))
            add_tags, reasons = [TAG_GDPR], ["anonymized"]
        elif fate == "merge_from":
            ats_edits.append(("merge", {"from": pid, "into": plan[pid][1]}))
            add_tags, reasons = [TAG_ARCHIVE], ["merged_away"]
        may = []
        if fate == "merge_into":
            may = ["merge_survivor"]   # takes the merged-away's applications: may change
        contacts.append(ct)
        man["contacts"][cid] = {"role": "linked", "candidate": pid, "fate": cand["fate"],
                                "must_write": bool(reasons), "may_write": may, "reasons": reasons,
                                "add_tags": add_tags, "seeded": ct}
        if fate == "dup_contact":
            did = new_id()
            dup = {"id": did, "given_name": ct["given_name"], "family_name": ct["family_name"],
                   "email_addresses": [{"email": case_noise(emails[0].strip().lower()),
                                        "field": "EMAIL1"}],
                   "create_time": "2026-01-05T10:00:00.000Z",
                   "update_time": "2026-01-05T10:00:00.000Z"}
            contacts.append(dup)
            man["contacts"][did] = {"role": "duplicate", "candidate": pid, "must_write": True,
                                    "reasons": ["possible_duplicate"], "add_tags": [TAG_DUP],
                                    "seeded": dup}
    for k in range(max(5, n // 40)):
        mid = new_id()
        mk = {"id": mid, "given_name": "Reader", "family_name": "Number%d" % k,
              "email_addresses": [{"email": "reader%d@newsletter.example" % k,
                                   "field": "EMAIL1"}],
              "phone_numbers": [{"number": "(212) 555-%04d" % k, "field": "PHONE1"}],
              "tag_ids": [tid["Newsletter"]],
              "create_time": "2025-06-01T08:00:00.000Z", "update_time": "2025-06-01T08:00:00.000Z"}
        contacts.append(mk)
        man["contacts"][mid] = {"role": "marketing", "candidate": None, "must_write": False,
                                "reasons": [], "add_tags": [], "seeded": mk}
        count("marketing")
    kp.call("POST", "/_admin/state", {"_merge": True, "contacts": contacts})
    # the ATS's history since the earlier integration last wrote
    if variant == "noise":
        # ATS-side phone spelling is noise: Keap already holds the E.164 form
        for p in people[: n // 4]:
            if p.get("phones") and e164(p["phones"][0]):
                ats_edits.append(("edit", {"id": p["id"], "phones": [
                    typed_phone(e164(p["phones"][0]), rng.choice(["paren", "dots", "spaced"]))]}))
                count("ats_phone_typed")
    for verb, body in ats_edits:
        ats.call("POST", "/_admin/canon/" + verb, body)
    if a.ats == "file":
        ats.save()
    man["people"] = {p["id"]: p for p in people_of(ats)}
    man["kind"] = a.ats
    man["merge_into"] = {v[1]: k for k, v in plan.items() if v[0] == "merge_from"}
    return man


# --- measuring ------------------------------------------------------------------------------

class View:
    """The Keap admin dump, indexed."""

    def __init__(self, st, fid):
        self.st = st
        self.by_id = {c["id"]: c for c in st["contacts"]}
        self.tagname = {str(t["id"]): t["name"] for t in st["tags"]}
        cats = {str(c["id"]): c["name"] for c in st.get("tag_categories") or []}
        self.stage_tags = {str(t["id"]) for t in st["tags"]
                           if cats.get(str((t.get("category") or {}).get("id") or
                                           t.get("category_id"))) == STAGE_CATEGORY}
        self.fid = fid

    def custom(self, c, label):
        for f in c.get("custom_fields") or []:
            if str(f.get("id")) == self.fid[label]:
                v = f.get("content")
                return v if v not in ("",) else None
        return None

    def tags(self, c):
        return sorted(self.tagname.get(str(t), str(t)) for t in c.get("tag_ids") or [])

    def slot(self, c, lf, attr, slot):
        for e in c.get(lf) or []:
            if e.get("field") == slot:
                return e.get(attr)
        return None


def keap_owned(v, c, fill=False):
    """What a PATCH must keep: every slot but EMAIL1/PHONE1, faxes, addresses, the keap-owned
    and unmapped custom fields."""
    return json.dumps({
        "emails": sorted((e.get("field"), e.get("email")) for e in c.get("email_addresses") or []
                         if e.get("field") != "EMAIL1"),
        "phones": sorted((e.get("field"), e.get("number")) for e in c.get("phone_numbers") or []
                         if e.get("field") != "PHONE1"),
        "fax": sorted((e.get("field"), e.get("number")) for e in c.get("fax_numbers") or []),
        "addresses": sorted(json.dumps({k: x for k, x in e.items() if k != "id"},
                                       sort_keys=True) for e in c.get("addresses") or []),
        "company": v.custom(c, "ATS Company"), "notes": v.custom(c, "Recruiter Notes"),
        "job_title": None if fill else c.get("job_title") or None,
    }, sort_keys=True)


def field_checks(v, c, p):
    """[(field, agrees, keap value, want)] for a live candidate p and its contact c."""
    out = []
    out.append(("given_name", fold(c.get("given_name")) == fold(p.get("first_name")),
                c.get("given_name"), p.get("first_name")))
    out.append(("family_name", fold(c.get("family_name")) == fold(p.get("last_name")),
                c.get("family_name"), p.get("last_name")))
    em = (p.get("emails") or [""])[0].strip().lower()
    got = (v.slot(c, "email_addresses", "email", "EMAIL1") or "").strip().lower()
    out.append(("email1", got == em, got, em))
    ph = e164((p.get("phones") or [""])[0]) if p.get("phones") else None
    got = v.slot(c, "phone_numbers", "number", "PHONE1")
    out.append(("phone1 (exactly E.164)", (got or None) == ph, got, ph))
    src = SOURCE_MAP.get(p.get("source") or "")
    got = v.custom(c, "ATS Source")
    out.append(("custom:ATS Source", got == src, got, src))
    d = want_date(p.get("applied_at"))
    got = v.custom(c, "ATS Applied Date")
    out.append(("custom:ATS Applied Date (exactly YYYY-MM-DD)", got == d, got, d))
    dt = want_datetime_s(p.get("applied_at"))
    got = v.custom(c, "ATS Applied At")
    gs = parse_time(got)
    out.append(("custom:ATS Applied At (same second)",
                (gs.strftime("%Y-%m-%dT%H:%M:%SZ") if gs else None) == dt, got, dt))
    want_tag = stage_tag(p)
    have = [v.tagname.get(str(t)) for t in c.get("tag_ids") or [] if str(t) in v.stage_tags]
    out.append(("stage tag (exactly one)", have == ([want_tag] if want_tag else []), have,
                want_tag))
    if p.get("title"):
        out.append(("job_title (fill)", bool((c.get("job_title") or "").strip()),
                    c.get("job_title"), "non-empty"))
    return out


class Checker:
    def __init__(self, label):
        self.label, self.passed, self.failed = label, 0, 0

    def ok(self, cond, what):
        print(("ok - " if cond else "not ok - ") + self.label + ": " + what, flush=True)
        if cond:
            self.passed += 1
        else:
            self.failed += 1
        return cond


def contacts_for(v, kind, pid):
    vals = ext_values(kind, pid)
    return [c for c in v.st["contacts"] if (v.custom(c, EXT_FIELD) or "").strip() in vals]


def check(a, ats, kp, man):
    kind = man["kind"]
    fid = man["fields"]
    snap = man.get("snap") or {}
    before = {c["id"]: c for c in snap.get("contacts", [])}
    v = View(kp.call("GET", "/_admin/state"), fid)
    ck = Checker(a.label or kind)
    people = {p["id"]: p for p in people_of(ats)}
    # 1. agreement over every live candidate
    agree = total = 0
    dups = []
    worst = {}
    for pid, p in people.items():
        if p.get("anonymized"):
            continue
        cs = contacts_for(v, kind, pid)
        if len(cs) > 1:
            dups.append(pid)
        if not cs:
            n = len(field_checks(v, {}, p))
            total += n
            worst.setdefault("no contact", []).append(pid)
            continue
        for f, good, got, want in field_checks(v, cs[0], p):
            total += 1
            agree += bool(good)
            if not good:
                worst.setdefault(f, []).append("%s: %r want %r" % (cs[0]["id"], got, want))
    pct = 100.0 * agree / total if total else 100.0
    ck.ok(agree == total, "field agreement with the ATS %.1f %% (%d/%d fields)%s" % (
        pct, agree, total, "".join("; %s x%d e.g. %s" % (f, len(x), x[0])
                                   for f, x in sorted(worst.items()))))
    # 2. creates: exactly the missing candidates, each once
    created = [c for c in v.st["contacts"] if c["id"] not in before]
    want_creates = set(man["creates"]) & set(people)
    got_for = {}
    for c in created:
        got_for.setdefault((v.custom(c, EXT_FIELD) or "").split(":")[-1], []).append(c["id"])
    ck.ok(set(got_for) == want_creates and len(created) == len(want_creates),
          "creates: %d, want exactly the %d missing candidates (%d for others, %d missing not "
          "created)" % (len(created), len(want_creates), len(set(got_for) - want_creates),
                        len(want_creates - set(got_for))))
    ck.ok(not dups, "duplicates: %d candidates with more than one contact%s" % (
        len(dups), " e.g. %s" % dups[:3] if dups else ""))
    deleted = [cid for cid in before if cid not in v.by_id]
    ck.ok(not deleted, "Keap deletes: %d" % len(deleted))
    # 3. what was written: contacts whose update_time moved or whose content changed
    def body(c):
        return json.dumps({k: x for k, x in c.items() if k not in ("update_time",)},
                          sort_keys=True)
    written = [cid for cid, c in before.items() if cid in v.by_id and
               (v.by_id[cid].get("update_time") != c.get("update_time") or
                body(v.by_id[cid]) != body(c))]
    roles = man["contacts"]
    must_not = [cid for cid in written if not roles.get(cid, {}).get("must_write") and
                not roles.get(cid, {}).get("may_write")]
    by_why = {}
    for cid in must_not:
        r = roles.get(cid, {})
        by_why.setdefault(r.get("role", "?") + "/" + r.get("fate", "-"), []).append(cid)
    ck.ok(not must_not, "contacts written: %d, all with real drift per the manifest (%d written "
          "without%s)" % (len(written), len(must_not), "".join(
              ": %s x%d e.g. %s" % (k, len(x), x[0]) for k, x in sorted(by_why.items()))))
    fill = {cid for cid, r in roles.items() if "fill_title" in r.get("reasons", [])}
    owned = [cid for cid, c in before.items() if cid in v.by_id and
             keap_owned(v, v.by_id[cid], cid in fill) != keap_owned(v, c, cid in fill)]
    ck.ok(not owned, "Keap-owned values changed (EMAIL2, PHONE2, fax, address, ATS Company, "
          "Recruiter Notes, a non-empty job title): %d contacts%s" % (
              len(owned), " e.g. %s" % owned[:3] if owned else ""))
    reqs = kp.call("GET", "/_admin/requests?since=%d" % snap.get("seq", 0))["requests"]
    bad_mask = set()
    for q in reqs:
        if q.get("method") == "PATCH":
            for m in q.get("query", {}).get("update_mask", []):
                for x in m.split(","):
                    if x not in ALLOWED_MASK:
                        bad_mask.add(x)
    ck.ok(not bad_mask, "PATCH update masks name only mapped fields (%s)" % (
        ", ".join(sorted(bad_mask)) or "none other"))
    kdel = [q for q in reqs if q.get("method") == "DELETE" and "/contacts/" in q.get("path", "")]
    ck.ok(not kdel, "DELETE requests on contacts: %d" % len(kdel))
    marketing = [cid for cid, r in roles.items() if r["role"] == "marketing"]
    mtouched = [cid for cid in marketing if cid in written]
    ck.ok(not mtouched, "marketing contacts untouched: %d of %d written" % (
        len(mtouched), len(marketing)))
    # 4. lifecycle and duplicate tags, nothing copied
    if not a.no_lifecycle:
        for role_fate, tag, what in (("linked/deleted", TAG_ARCHIVE, "deleted in the ATS"),
                                     ("linked/merge_from", TAG_ARCHIVE, "merged away"),
                                     ("linked/anonymized", TAG_GDPR, "anonymised"),
                                     ("duplicate/-", TAG_DUP, "second contact with a linked "
                                      "candidate's email")):
            ids = [cid for cid, r in roles.items()
                   if r["role"] + "/" + r.get("fate", "-") == role_fate and cid in before]
            if not ids:
                continue
            have = [cid for cid in ids if cid in v.by_id and tag in v.tags(v.by_id[cid])]
            ck.ok(len(have) == len(ids), "%s: %d of %d contacts carry %r" % (
                what, len(have), len(ids), tag))
            if role_fate == "linked/merge_from":
                wrong = [cid for cid in ids if cid in v.by_id and TAG_DUP in v.tags(v.by_id[cid])]
                ck.ok(not wrong, "merged away: %d carry the possible-duplicate tag instead" %
                      len(wrong))
            if role_fate != "duplicate/-":
                keys = ("given_name", "family_name", "email_addresses", "phone_numbers",
                        "custom_fields", "job_title")
                changed = [cid for cid in ids if cid in v.by_id and any(
                    json.dumps(v.by_id[cid].get(k), sort_keys=True) !=
                    json.dumps(before[cid].get(k), sort_keys=True) for k in keys)]
                ck.ok(not changed, "%s: %d of %d contacts had values changed (only a tag may be "
                      "added%s)" % (what, len(changed), len(ids),
                                    "; nothing blanked copied" if tag == TAG_GDPR else ""))
    dup_ids = [cid for cid, r in roles.items() if r["role"] == "duplicate" and cid in v.by_id]
    dup_changed = [cid for cid in dup_ids if json.dumps(v.by_id[cid].get("email_addresses")) !=
                   json.dumps(before.get(cid, {}).get("email_addresses"))]
    ck.ok(not dup_changed, "possible duplicates keep their data: %d changed" % len(dup_changed))
    stats_w = kp.call("GET", "/_admin/stats")["writes"] - snap.get("writes", 0)
    if man["variant"] in ("noise", "clean"):
        ck.ok(stats_w == 0, "a %s world: first run writes %d (want 0)" % (
            "noise-only" if man["variant"] == "noise" else "undrifted", stats_w))
    print("# %s: agreement %.1f %% (%d/%d), writes %d, contacts written %d, creates %d (want %d), "
          "duplicates %d, deletes %d" % (ck.label, pct, agree, total, stats_w, len(written),
                                        len(created), len(want_creates), len(dups),
                                        len(deleted) + len(kdel)), flush=True)
    print("%d passed, %d failed" % (ck.passed, ck.failed))
    return ck


def snap(kp, man):
    st = kp.call("GET", "/_admin/state")
    man["snap"] = {"contacts": st["contacts"],
                   "seq": kp.call("GET", "/_admin/requests?since=999999999")["next"],
                   "writes": kp.call("GET", "/_admin/stats")["writes"]}
    return man


def drift_later(a, ats, kp, man):
    """Warm path: drift added after a first run on an undrifted world. Marks what each
    incremental run must repair and what only a full sweep sees."""
    rng = random.Random(a.seed + 99)
    v = View(kp.call("GET", "/_admin/state"), man["fields"])
    kind = man["kind"]
    live = [p for p in people_of(ats) if p.get("emails") and not p.get("anonymized")]
    rng.shuffle(live)
    later = {"renamed": [], "stage_moved": [], "keap_edited": [], "keap_phone_typed": [],
             "email_changed": [], "new_dup": [], "deleted": []}
    stages = list(tenant.STAGE_TAGS["by_stage"])
    k = max(4, len(live) // 100)
    it = iter(live)
    for _ in range(k):
        p = next(it)
        ats.call("POST", "/_admin/canon/edit", {"id": p["id"], "last_name": (p.get("last_name")
                                                                            or "X") + "-Hart"})
        later["renamed"].append(p["id"])
    for _ in range(k):
        p = next(it)
        if p.get("status") != "active" or p.get("stage") not in stages:
            continue
        ats.call("POST", "/_admin/canon/stage", {"id": p["id"], "stage": stages[
            (stages.index(p["stage"]) + 1) % len(stages)]})
        later["stage_moved"].append(p["id"])
    for _ in range(k):
        p = next(it)
        ats.call("POST", "/_admin/canon/edit", {"id": p["id"], "emails": [
            "later.%s@newmail.example" % re.sub(r"\W", "", p["id"])[:12]]})
        later["email_changed"].append(p["id"])
    for _ in range(k):
        p = next(it)
        cs = contacts_for(v, kind, p["id"])
        if cs:
            kp.call("POST", "/_admin/edit-contact", {"id": cs[0]["id"],
                                                     "set": {"given_name": "Edited"}})
            later["keap_edited"].append(p["id"])
    for _ in range(k):
        p = next(it)
        cs = contacts_for(v, kind, p["id"])
        ph = v.slot(cs[0], "phone_numbers", "number", "PHONE1") if cs else None
        if ph and ph.startswith("+1"):
            nums = [dict(x) for x in cs[0].get("phone_numbers")]
            for x in nums:
                x.pop("number_e164", None)
                if x.get("field") == "PHONE1":
                    x["number"] = typed_phone(ph, "paren")
            kp.call("POST", "/_admin/edit-contact", {"id": cs[0]["id"],
                                                     "set": {"phone_numbers": nums}})
            later["keap_phone_typed"].append(p["id"])
    for _ in range(k // 2):
        later["new_dup"].append(next(it)["id"])
    new = []
    for pid in later["new_dup"]:
        p = [x for x in live if x["id"] == pid][0]
        new.append({"given_name": p.get("first_name"), "family_name": p.get("last_name"),
                    "email_addresses": [{"email": case_noise(p["emails"][0].lower()),
                                         "field": "EMAIL1"}]})
    later["new_dup_contacts"] = []
    for c in new:       # one at a time, as a person types them: each its own update time
        cur = kp.call("GET", "/_admin/state")["contacts"]
        ids = {x["id"] for x in cur}
        kp.call("POST", "/_admin/state", {"_merge": True, "contacts": cur + [c]})
        after = kp.call("GET", "/_admin/state")["contacts"]
        later["new_dup_contacts"] += [x["id"] for x in after if x["id"] not in ids]
        time.sleep(0.02)
    for _ in range(k // 2):
        p = next(it)
        ats.call("POST", "/_admin/canon/delete", {"id": p["id"]})
        later["deleted"].append(p["id"])
    if a.ats == "file":
        ats.save()
    man["later"] = later
    return man


def check_later(a, ats, kp, man, full):
    """After the incremental run (full False) or the next --full (True)."""
    kind = man["kind"]
    later = man["later"]
    v = View(kp.call("GET", "/_admin/state"), man["fields"])
    ck = Checker(a.label or kind)
    people = {p["id"]: p for p in people_of(ats)}
    for what in ("renamed", "stage_moved", "email_changed", "keap_edited", "keap_phone_typed"):
        ids = later[what]
        bad = []
        for pid in ids:
            cs = contacts_for(v, kind, pid)
            if len(cs) != 1 or not all(g for _, g, _, _ in field_checks(v, cs[0], people[pid])):
                bad.append(pid)
        ck.ok(not bad, "%s later: %d of %d repaired by the %s run" % (
            what.replace("_", " "), len(ids) - len(bad), len(ids),
            "--full" if full else "incremental"))
    nd = later.get("new_dup_contacts", [])
    have = [cid for cid in nd if cid in v.by_id and TAG_DUP in v.tags(v.by_id[cid])]
    ck.ok(len(have) == len(nd), "contact created in Keap after the last run with a linked "
          "candidate's email: %d of %d carry %r after the %s run" % (
              len(have), len(nd), TAG_DUP, "--full" if full else "incremental"))
    if full:
        ids = later["deleted"]
        have = [pid for pid in ids if any(TAG_ARCHIVE in v.tags(c)
                                          for c in contacts_for(v, kind, pid))]
        ck.ok(len(have) == len(ids), "deleted later: %d of %d archive-tagged by --full" % (
            len(have), len(ids)))
    print("%d passed, %d failed" % (ck.passed, ck.failed))
    return ck


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("cmd", choices=("config", "seed", "snap", "check", "drift", "check-later",
                                   "check-later-full", "writes"))
    p.add_argument("--ats", default="greenhouse")
    p.add_argument("--ats-url", default="")
    p.add_argument("--keap-url", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--state", default="/nonexistent")
    p.add_argument("--report")
    p.add_argument("--file")
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--candidates", type=int, default=2000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--variant", choices=("brownfield", "noise", "clean"), default="brownfield")
    p.add_argument("-m", "--manifest")
    p.add_argument("--label")
    p.add_argument("--no-lifecycle", action="store_true")
    a = p.parse_args(argv[1:])
    if a.cmd == "config":
        json.dump(config(a), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    ctx = ssl.create_default_context(cafile=a.ca)
    kp = Admin(a.keap_url, ctx=ctx)
    if a.cmd == "writes":
        print(kp.call("GET", "/_admin/stats")["writes"])
        return 0
    ats = open_ats(a, ctx)
    if a.cmd == "seed":
        man = seed(a, ats, kp)
        snap(kp, man)
        with open(a.manifest, "w") as f:
            json.dump(man, f)
        print("# seeded %s (%s): %d candidates; %s" % (a.ats, a.variant, man["candidates_seeded"],
                                                        ", ".join("%s %d" % kv for kv in sorted(
                                                            man["counts"].items()))))
        print("# manifest: %d contacts must be written, %d must not; %d creates" % (
            sum(1 for r in man["contacts"].values() if r["must_write"]),
            sum(1 for r in man["contacts"].values() if not r["must_write"]),
            len(man["creates"])))
        return 0
    with open(a.manifest) as f:
        man = json.load(f)
    if a.cmd == "snap":
        snap(kp, man)
    elif a.cmd == "drift":
        drift_later(a, ats, kp, man)
    elif a.cmd == "check":
        return 0 if check(a, ats, kp, man).failed == 0 else 1
    elif a.cmd in ("check-later", "check-later-full"):
        return 0 if check_later(a, ats, kp, man, a.cmd.endswith("full")).failed == 0 else 1
    with open(a.manifest, "w") as f:
        json.dump(man, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
