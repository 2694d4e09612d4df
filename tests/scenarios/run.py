"""The declarative scenario suite: tests/scenarios/*.scn, run against the fakes.

    python3 tests/scenarios/run.py --bin ATSRECON --keap URL --ca CA \\
        [--ats greenhouse=URL] [--ats lever=URL] [--ats ashby=URL] [--ats file] \\
        [--only NAME] [--kill-max N] [--work DIR]

Every scenario runs on every source it names (line `sources ...`; default: all
given), each from a fresh world: the fakes are reset to the state they had at
start and the state directory is new. A scenario is a list of steps, one per
line (shell-like quoting, `#` comments):

  sources greenhouse lever ...     which sources this scenario runs on
  people N                         N generated people, named #1..#N
  person NAME k=v ...              one person (first_name last_name emails phones
                                   title company stage status job source; lists
                                   comma-separated)
  keap add NAME k=v ...            a Keap contact (given_name family_name emails
                                   phones job_title; as another tool left it: ext=REF
                                   or ext=REF:prefixed, custom:LABEL=VALUE with {id:REF}
                                   {applied_date:REF} {applied_mdy:REF} {applied_s:REF},
                                   tags=T1,T2, fax=N, address=LINE1, created=ISO)
  keap edit REF k=v ...            edit the contact of REF (a person: its linked
                                   contact; or a name from keap add)
  keap tag REF TAG / keap delete REF
  keap fail-writes REF [off]       Keap refuses every write to REF's contact (400)
  keap fail-creates N              Keap refuses the next N creates (400)
  ats edit REF k=v ... / ats stage REF STAGE / ats status REF STATUS
  ats delete REF / ats anonymize REF / ats merge REF INTO
  config SECTION.KEY=JSON ...      change the tenant's configuration
  run [ARGS] -> RC                 atsrecon run ARGS, expecting exit RC
  plan FILE / apply FILE -> RC     atsrecon plan -o FILE / apply FILE
  kill-each                        the next run is also done killed after its
                                   1st, 2nd, ... write and state commit, each
                                   resumed by a plain run: every one must end in
                                   the same Keap state as the uninterrupted run,
                                   with no duplicate contact and no lost repair
  expect writes N | writes-max N   Keap writes made by the last command
  expect field REF FIELD VALUE     given_name family_name job_title email1
                                   email2 phone1 phone2 custom:LABEL (VALUE expanded
                                   like keap add's custom values)
  expect tags REF T1,T2 | has-tag REF T | no-tag REF T
  expect contacts N | contacts-for REF N (contacts holding REF's first email)
  expect drift KIND N | drift KIND >=N   rows of that kind in report.json
  expect no-keap-deletes | only-reads
  expect lock-held-exit               a run while another holds the lock: 75

Prints "ok - ..." / "not ok - ..." per check and ends with "N passed, N failed".
"""

import argparse
import csv
import datetime
import glob
import json
import re
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fakes"))
import tenant  # noqa: E402
from admin import Admin  # noqa: E402

PASSED = 0
FAILED = 0


def report(ok, what):
    global PASSED, FAILED
    print(("ok - " if ok else "not ok - ") + what, flush=True)
    if ok:
        PASSED += 1
    else:
        FAILED += 1
    return ok


class FileAts:
    """The export-file source: the runner keeps the people and writes the CSV."""

    def __init__(self, path):
        self.path = path
        self.people = {}
        self.next = 1001
        self.pristine = None

    def write(self):
        cols = tenant.FILE_COLUMNS
        hdr = ["Applicant ID", "First Name", "Last Name", "Email", "Other Email", "Phone",
               "Title", "Company", "Stage", "Status", "Job", "Source", "Date Applied", "Updated",
               "Anonymized"]
        assert set(hdr) >= {c for v in cols.values() for c in ([v] if isinstance(v, str) else v)}
        tmp = self.path + ".tmp"
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\r\n")
            w.writerow(hdr)
            for pid in sorted(self.people, key=int):
                p = self.people[pid]
                em = p.get("emails") or []
                w.writerow([pid, p.get("first_name") or "", p.get("last_name") or "",
                            em[0] if em else "", em[1] if len(em) > 1 else "",
                            (p.get("phones") or [""])[0], p.get("title") or "",
                            p.get("company") or "", p.get("stage") or "",
                            p.get("status") or "active", p.get("job") or "", p.get("source") or "",
                            p.get("applied") or "2026-11-02", p.get("updated") or "",
                            "yes" if p.get("anonymized") else "no"])
        os.replace(tmp, self.path)

    def op(self, method, path, body=None):
        verb = path.split("?")[0].rsplit("/", 1)[-1]
        if verb == "people":
            return {"people": [dict(p, id=k) for k, p in sorted(self.people.items())]}
        if verb == "generate":
            ids = []
            stages = list(tenant.STAGE_TAGS["by_stage"])
            sources = ["Indeed", "Referral", "Careers Site", "LinkedIn (Prospecting)"]
            for i in range(int(body["people"])):
                pid = str(self.next)
                self.next += 1
                self.people[pid] = {
                    "first_name": ["Ana", "Ben", "Cleo", "Dev", "Eli", "Fay"][i % 6],
                    "last_name": "Export%d" % i, "emails": ["person.%s@example.com" % pid],
                    "phones": ["(415) 555-%04d" % (int(pid) % 10000)], "title": "Engineer",
                    "company": "Acme", "stage": stages[i % len(stages)], "status": "active",
                    "job": "DevOps Engineer", "source": sources[i % len(sources)]}
                ids.append(pid)
            self.write()
            return {"ids": ids}
        if verb == "add":
            pid = str(self.next)
            self.next += 1
            self.people[pid] = dict(body)
            self.write()
            return {"id": pid}
        p = self.people[str(body.get("id") or body.get("from"))]
        if verb == "edit":
            p.update({k: v for k, v in body.items() if k != "id"})
        elif verb == "stage":
            p["stage"] = body["stage"]
        elif verb == "status":
            p["status"] = body["status"]
        elif verb == "delete":
            del self.people[str(body["id"])]
        elif verb == "anonymize":
            p.update(first_name="", last_name="", emails=[], phones=[], anonymized=True)
        elif verb == "merge":
            into = self.people[str(body["into"])]
            into["emails"] = (into.get("emails") or []) + [
                e for e in p.get("emails") or [] if e not in (into.get("emails") or [])]
            del self.people[str(body["from"])]
        self.write()
        return {}

    def call(self, method, path, body=None):
        if path == "/_admin/state":
            if method == "GET":
                return {"people": json.loads(json.dumps(self.people)), "next": self.next}
            self.people = json.loads(json.dumps(body.get("people", {})))
            self.next = body.get("next", 1001)
            self.write()
            return {}
        return self.op(method, path, body)


class World:
    def __init__(self, a, kind, url, work):
        self.a = a
        self.kind = kind
        self.keap = Admin(a.keap, ca=a.ca, timeout=120)
        self.file = os.path.join(work, "export.csv")
        self.ats = FileAts(self.file) if kind == "file" else Admin(url, ca=a.ca, timeout=120)
        self.state = os.path.join(work, "state")
        self.cfg = os.path.join(work, "atsrecon.jsonc")
        self.work = work
        self.names = {}       # REF -> person id
        self.knames = {}      # keap NAME -> contact id
        self.last_writes = 0
        self.last_requests_to = {}
        self.last_reads_only = True
        c = tenant.config(kind, url or "", a.keap, a.ca, self.state, file=self.file,
                          overrides=["guards.max_change_percent=100", "guards.max_creates=200",
                                     "guards.max_archives=20", "keap.max_rps=100",
                                     "log.level=\"warn\""])
        # the owner kinds beyond the tenant's (title is "fill" there)
        c["fields"] += [{"from": "first_name", "to": "preferred_name", "owner": "keap"},
                        {"from": "company", "to": "middle_name", "owner": "create"}]
        self.conf = c
        self.write_config()

    def write_config(self):
        with open(self.cfg, "w") as f:
            json.dump(self.conf, f, indent=1)

    # -- helpers
    def pid(self, ref):
        if ref not in self.names:
            raise KeyError("unknown person %r" % ref)
        return self.names[ref]

    def ext(self, ref):
        return "%s:%s" % (self.kind, self.pid(ref))

    def subst(self, text):
        """"@REF" in text → REF's ATS id; "@@REF" → <ats>:<id>."""
        text = re.sub(r"@@([A-Za-z0-9_#]+)", lambda m: self.ext(m.group(1)), text)
        return re.sub(r"@([A-Za-z0-9_#]+)", lambda m: str(self.pid(m.group(1))), text)

    def keap_state(self):
        return self.keap.call("GET", "/_admin/state")

    def field_id(self, st, label):
        for f in st["model"]["custom_fields"]:
            if f["label"] == label:
                return str(f["id"])
        raise KeyError(label)

    def contact_of(self, ref, st=None):
        st = st or self.keap_state()
        if ref in self.knames:
            want = [c for c in st["contacts"] if c["id"] == self.knames[ref]]
            return want[0] if want else None
        fid = self.field_id(st, "ATS Candidate ID")
        # the ATS's own id, as atsrecon writes it by default, or <ats>:<id> as
        # older versions (and multi-source setups) wrote it (DESIGN.md §4)
        keys = (self.ext(ref), str(self.pid(ref)))
        for c in st["contacts"]:
            for cf in c.get("custom_fields") or []:
                if str(cf.get("id")) == fid and str(cf.get("content") or "").strip() in keys:
                    return c
        return None

    def applied(self, ref):
        """The person's current application time as the ATS fake reports it (ISO)."""
        pid = self.pid(ref)
        for p in self.ats.call("GET", "/_admin/canon/people?applied_at=1")["people"]:
            if str(p["id"]) == pid:
                return p.get("applied_at") or p.get("applied") or "2026-11-02"
        raise KeyError("no person %r in the ATS" % ref)

    def expand(self, v):
        """{applied_date:REF} (YYYY-MM-DD), {applied_mdy:REF} (MM/DD/YYYY), {applied_s:REF}
        (whole-second UTC), {id:REF} (the ATS's own id) and {ext:REF} ("<ats>:<id>") in a
        seeded or expected value."""
        def one(m):
            what, ref = m.group(1), m.group(2)
            if what == "id":
                return self.pid(ref)
            if what == "ext":
                return self.ext(ref)
            t = self.applied(ref)
            d = datetime.datetime.fromisoformat(t.replace("Z", "+00:00")) if "T" in t else \
                datetime.datetime.strptime(t, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)
            d = d.astimezone(datetime.timezone.utc)
            return d.strftime({"applied_date": "%Y-%m-%d", "applied_mdy": "%m/%d/%Y",
                               "applied_s": "%Y-%m-%dT%H:%M:%SZ"}[what])
        return re.sub(r"\{(id|ext|applied_date|applied_mdy|applied_s):([^}]+)\}", one, v)

    def writes(self):
        return self.keap.call("GET", "/_admin/stats")["writes"]

    def atsrecon(self, args, env=None, timeout=300):
        e = dict(os.environ)
        e.pop("ATSRECON_TEST_KILL_AT", None)
        e.update(env or {})
        t0 = time.monotonic()
        r = subprocess.run([self.a.bin] + args + ["-c", self.cfg, "--log-format", "json"] + ([] if os.environ.get("SCN_DEBUG") else ["-q"]),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e, timeout=timeout)
        self.last_out = r.stdout.decode("utf-8", "replace") + r.stderr.decode("utf-8", "replace")
        self.last_secs = time.monotonic() - t0
        return r.returncode

    def report(self):
        with open(os.path.join(self.state, "reports", "report.json")) as f:
            return json.load(f)

    # -- the world as data (for the kill tests)
    def save(self):
        snap = os.path.join(self.work, "saved-state")
        shutil.rmtree(snap, ignore_errors=True)
        if os.path.isdir(self.state):
            shutil.copytree(self.state, snap)
        # a run only reads the ATS: Keap and the state directory are what it changes
        return (self.keap.call("GET", "/_admin/state"), snap)

    def restore(self, saved):
        k, snap = saved
        self.keap.call("POST", "/_admin/state", k)
        shutil.rmtree(self.state, ignore_errors=True)
        if os.path.isdir(snap):
            shutil.copytree(snap, self.state)

    def normal_keap(self):
        """Keap's contacts without ids and stamps, in a canonical order, plus duplicates."""
        st = self.keap_state()
        tags = {str(t["id"]): t["name"] for t in st["tags"]}
        out = []
        for c in st["contacts"]:
            out.append(json.dumps({
                "given": c.get("given_name"), "family": c.get("family_name"),
                "title": c.get("job_title"),
                "emails": sorted((e.get("field"), e.get("email")) for e in
                                 c.get("email_addresses") or []),
                "phones": sorted((p.get("field"), p.get("number")) for p in
                                 c.get("phone_numbers") or []),
                "custom": sorted((str(f.get("id")), json.dumps(f.get("content"))) for f in
                                 c.get("custom_fields") or [] if f.get("content") not in
                                 (None, "")),
                "tags": sorted(tags.get(str(t), str(t)) for t in c.get("tag_ids") or []),
            }, sort_keys=True))
        return sorted(out)


def parse_kv(items):
    out = {}
    for it in items:
        k, _, v = it.partition("=")
        if k in ("emails", "phones"):
            out[k] = [x for x in v.split(",") if x]
        else:
            out[k] = v
    return out


KEAP_FIELDS = {"given_name", "family_name", "job_title", "preferred_name", "middle_name"}


def keap_contact_body(kv, cid):
    c = {"id": cid}
    for k in KEAP_FIELDS:
        if k in kv:
            c[k] = kv[k]
    if "emails" in kv:
        c["email_addresses"] = [{"email": e, "field": "EMAIL%d" % (i + 1)}
                                for i, e in enumerate(kv["emails"])]
    if "phones" in kv:
        c["phone_numbers"] = [{"number": p, "field": "PHONE%d" % (i + 1)}
                              for i, p in enumerate(kv["phones"])]
    return c


def seeded_extras(w, st, kv):
    """What another tool left on a contact (keap add): ext=REF or ext=REF:prefixed (the
    external-id field holding the ATS's own id, or "<ats>:<id>"), custom:LABEL=VALUE (values
    expanded by World.expand), tags=T1,T2 (created when missing; "ATS Stage: ..." ones in the
    stage category), fax=N, address=LINE1, created=ISO. Returns {"_body": contact fields} plus
    the state sections to merge (tags, tag_categories)."""
    body, out = {}, {}
    custom = []
    for k, v in kv.items():
        if k == "ext":
            ref, _, how = v.partition(":")
            custom.append({"id": w.field_id(st, "ATS Candidate ID"),
                           "content": w.ext(ref) if how == "prefixed" else w.pid(ref)})
        elif k.startswith("custom:"):
            custom.append({"id": w.field_id(st, k[7:]), "content": w.expand(v)})
        elif k == "fax":
            body["fax_numbers"] = [{"number": v, "field": "FAX1"}]
        elif k == "address":
            body["addresses"] = [{"field": "BILLING", "line1": v, "locality": "San Francisco",
                                  "region_code": "US-CA", "country_code": "USA",
                                  "postal_code": "94103"}]
        elif k == "created":
            body["create_time"] = body["update_time"] = v
    if custom:
        body["custom_fields"] = custom
    if "tags" in kv:
        names = [t for t in kv["tags"].split(",") if t]
        tags = list(st["tags"])
        cats = list(st.get("tag_categories") or [])
        have = {t["name"]: str(t["id"]) for t in tags}
        cat = [str(c["id"]) for c in cats if c["name"] == tenant.STAGE_TAGS["category"]]
        if not cat and any(n.startswith("ATS Stage: ") for n in names):
            cats.append({"id": "61", "name": tenant.STAGE_TAGS["category"]})
            cat = ["61"]
        nid = 801 + len(tags)
        for n in names:
            if n not in have:
                t = {"id": str(nid), "name": n}
                if n.startswith("ATS Stage: "):
                    t["category"] = {"id": cat[0]}
                tags.append(t)
                have[n] = str(nid)
                nid += 1
        body["tag_ids"] = [have[n] for n in names]
        out.update(tags=tags, tag_categories=cats)
    out["_body"] = body
    return out


def step(w, words, where, kill_next):
    cmd = words[0]
    if cmd == "people":
        ids = w.ats.call("POST", "/_admin/canon/generate", {"people": int(words[1]), "seed": 5})["ids"]
        for i, pid in enumerate(ids):
            w.names["#%d" % (i + 1)] = pid
    elif cmd == "person":
        w.names[words[1]] = w.ats.call("POST", "/_admin/canon/add", parse_kv(words[2:]))["id"]
    elif cmd == "keap":
        sub = words[1]
        if sub == "fail-creates":
            # the next N creates (POST /contacts) are refused with a 400
            w.keap.call("POST", "/_admin/faults", [
                {"kind": "status", "status": 400, "times": int(words[2]),
                 "match": {"method": "POST", "path": "/contacts$"}}])
            return
        if sub == "add":
            cid = str(90000 + len(w.knames) + 1)
            st = w.keap_state()
            kv = parse_kv(words[3:])
            body = keap_contact_body(kv, cid)
            extra = seeded_extras(w, st, kv)
            body.update(extra.pop("_body"))
            if "extid" in kv:
                # the external-id field as an earlier integration left it:
                # "@ada" is ada's ATS id, bare; "@@ada" is <ats>:<id>
                body["custom_fields"] = [cf for cf in body.get("custom_fields") or []
                                         if str(cf["id"]) != w.field_id(st, "ATS Candidate ID")] + [
                    {"id": w.field_id(st, "ATS Candidate ID"), "content": w.subst(kv["extid"])}]
            w.keap.call("POST", "/_admin/state", dict(extra, _merge=True, contacts=st["contacts"] + [
                body]))
            w.knames[words[2]] = cid
        else:
            c = w.contact_of(words[2])
            if c is None:
                raise RuntimeError("%s: %s has no Keap contact" % (where, words[2]))
            if sub == "edit":
                kv = parse_kv(words[3:])
                body = keap_contact_body(kv, c["id"])
                body.pop("id")
                w.keap.call("POST", "/_admin/edit-contact", {"id": c["id"], "set": body})
            elif sub == "tag":
                st = w.keap_state()
                tid = [t["id"] for t in st["tags"] if t["name"] == words[3]]
                if not tid:
                    raise RuntimeError("%s: no tag %r" % (where, words[3]))
                w.keap.call("POST", "/_admin/edit-contact", {"id": c["id"], "add_tags": tid})
            elif sub == "delete":
                w.keap.call("POST", "/_admin/delete-contact", {"id": c["id"]})
            elif sub == "fail-writes":
                # every write to this contact is refused (a validation error) until cleared
                w.keap.call("POST", "/_admin/faults", [] if words[3:] == ["off"] else [
                    {"kind": "status", "status": 400, "match": {"method": ["PATCH", "POST"],
                                                               "path": "/contacts/%s" % c["id"]}}])
            else:
                raise RuntimeError("%s: unknown keap step %r" % (where, sub))
    elif cmd == "ats":
        sub, ref = words[1], words[2]
        if sub == "edit":
            w.ats.call("POST", "/_admin/canon/edit", dict(parse_kv(words[3:]), id=w.pid(ref)))
        elif sub in ("stage", "status"):
            w.ats.call("POST", "/_admin/canon/" + sub, {"id": w.pid(ref), sub: words[3]})
        elif sub in ("delete", "anonymize"):
            w.ats.call("POST", "/_admin/canon/" + sub, {"id": w.pid(ref)})
        elif sub == "merge":
            w.ats.call("POST", "/_admin/canon/merge", {"from": w.pid(ref), "into": w.pid(words[3])})
        else:
            raise RuntimeError("%s: unknown ats step %r" % (where, sub))
        time.sleep(0.01)
    elif cmd in ("run", "plan", "apply"):
        args = words[:]
        want = None
        if "->" in args:
            i = args.index("->")
            want = int(args[i + 1])
            args = args[:i]
        if cmd == "plan":
            args = ["plan", "-o", os.path.join(w.work, args[1])]
        elif cmd == "apply":
            args = ["apply", os.path.join(w.work, args[1])]
        if kill_next:
            kill_each(w, args, want, where)
        w0 = w.writes()
        r0 = w.keap.call("GET", "/_admin/requests?since=999999999")["next"]
        rc = w.atsrecon(args)
        # the accuracy pass walks the candidates compare walked, in the same order
        # (a candidate compare forgot has no bit): it says when they differ
        report("compare found in sync" not in w.last_out,
               "%s: %s: the accuracy pass met the candidates compare found in sync%s" % (
                   where, " ".join(args), "" if "compare found in sync" not in w.last_out
                   else ": " + w.last_out.strip()[-300:]))
        w.last_writes = w.writes() - w0
        w.last_requests_to = {}
        for q in w.keap.call("GET", "/_admin/requests?since=%d" % r0)["requests"]:
            path = q.get("path", "")
            if q.get("method") in ("PATCH", "POST", "PUT", "DELETE") and "/contacts/" in path:
                cid = path.rstrip("/").split("/contacts/")[1].split("/")[0].split("?")[0]
                w.last_requests_to[cid] = w.last_requests_to.get(cid, 0) + 1
        if want is not None:
            report(rc == want, "%s: %s exits %d (got %d%s)" % (
                where, " ".join(args), want, rc,
                "" if rc == want else ": " + w.last_out.strip()[-400:]))
    elif cmd == "config":
        for item in words[1:]:
            path, _, value = item.partition("=")
            sec, _, key = path.partition(".")
            w.conf.setdefault(sec, {})[key] = json.loads(value)
        w.write_config()
    elif cmd == "expect":
        expect(w, words[1:], where)
    else:
        raise RuntimeError("%s: unknown step %r" % (where, cmd))


def kill_each(w, args, want, where):
    """Runs args killed after its Nth write / state commit, resumes, compares to the clean run."""
    saved = w.save()
    results = []
    for point in ("http-write", "state-commit"):
        for n in range(1, w.a.kill_max + 1):
            w.restore(saved)
            rc = w.atsrecon(args, env={"ATSRECON_TEST_KILL_AT": "%s:%d" % (point, n)})
            if rc != -signal.SIGKILL:
                break   # fewer than n: the run finished by itself
            rc2 = w.atsrecon((args if args[0] == "run" else ["run"]) + (
                ["--log-level", "debug"] if os.environ.get("SCN_DEBUG") else []))
            results.append(("%s:%d" % (point, n), rc2, w.normal_keap()))
            if os.environ.get("SCN_DEBUG"):
                with open(os.path.join(w.work, "resume-%s-%d.log" % (point, n)), "w") as f:
                    f.write(w.last_out)
    w.restore(saved)
    w0 = w.writes()
    rc = w.atsrecon(args)
    ref_writes = w.writes() - w0
    ref = w.normal_keap()
    w.restore(saved)
    bad = [(p, rc2) for p, rc2, st in results if st != ref]
    for p, rc2, st in results:
        if st != ref:
            print("# after %s (resumed run exit %d): only in the clean run: %s; only here: %s" % (
                p, rc2, sorted(set(ref) - set(st))[:2], sorted(set(st) - set(ref))[:2]))
            break
    dup = [p for p, _, st in results if len(st) != len(ref)]
    report(not bad and results,
           "%s: killed after each of %d points (each write landing, each commit) and resumed: same Keap state "
           "as the uninterrupted run (%d writes)%s" % (where, len(results), ref_writes,
                                                       "; differs after %s" % bad[:4] if bad else ""))
    report(not dup, "%s: no duplicate and no lost contact after any kill%s" % (
        where, " (%s)" % dup[:4] if dup else ""))


def expect(w, words, where):
    what = words[0]
    label = "%s: expect %s" % (where, " ".join(words))
    if what == "writes":
        report(w.last_writes == int(words[1]), "%s (got %d)" % (label, w.last_writes))
    elif what == "writes-max":
        report(w.last_writes <= int(words[1]), "%s (got %d)" % (label, w.last_writes))
    elif what == "field":
        ref, field, value = words[1], words[2], w.expand(words[3])
        st = w.keap_state()
        c = w.contact_of(ref, st)
        got = None
        if c is not None:
            if field in KEAP_FIELDS:
                got = c.get(field)
            elif field.startswith(("email", "phone")):
                key, attr = ("email_addresses", "email") if field.startswith("email") else \
                    ("phone_numbers", "number")
                slot = field[:5].upper() + field[5:] if field.startswith("email") else \
                    "PHONE" + field[5:]
                got = next((e.get(attr) for e in c.get(key) or [] if e.get("field") == slot), None)
            elif field.startswith("custom:"):
                fid = w.field_id(st, field[7:])
                got = next((f.get("content") for f in c.get("custom_fields") or []
                            if str(f.get("id")) == fid), None)
                if isinstance(got, dict):
                    got = got.get("label") or got.get("value") or json.dumps(got)
        report(got is not None and str(got).strip() == value, "%s (got %r)" % (label, got))
    elif what in ("tags", "has-tag", "no-tag"):
        st = w.keap_state()
        c = w.contact_of(words[1], st)
        names = {str(t["id"]): t["name"] for t in st["tags"]}
        have = sorted(names.get(str(t), str(t)) for t in (c or {}).get("tag_ids") or [])
        if what == "tags":
            ok = c is not None and ",".join(have) == words[2]
        elif what == "has-tag":
            ok = c is not None and words[2] in have
        else:
            ok = c is not None and words[2] not in have
        report(ok, "%s (has %s)" % (label, have if c else "no contact"))
    elif what == "contacts":
        n = len(w.keap_state()["contacts"])
        report(n == int(words[1]), "%s (got %d)" % (label, n))
    elif what == "contacts-for":
        people = {p["id"]: p for p in w.ats.call("GET", "/_admin/canon/people")["people"]}
        p = people.get(w.pid(words[1]))
        email = (p["emails"][0] if p and p["emails"] else words[3] if len(words) > 3 else "")
        n = sum(1 for c in w.keap_state()["contacts"]
                if any((e.get("email") or "").strip().lower() == email.lower()
                       for e in c.get("email_addresses") or []))
        report(n == int(words[2]), "%s (%s: %d)" % (label, email, n))
    elif what == "drift":
        kind, n = words[1], words[2]
        rows = [d for d in w.report()["drift"] if d["kind"] == kind]
        ok = len(rows) >= int(n[2:]) if n.startswith(">=") else len(rows) == int(n)
        report(ok, "%s (got %d)" % (label, len(rows)))
    elif what == "totals":
        # the report's totals: expect totals in_sync=2 candidates=2
        got = w.report()["totals"]
        want = {k: int(v) for k, _, v in (x.partition("=") for x in words[1:])}
        report(all(got.get(k) == v for k, v in want.items()),
               "%s (got %s)" % (label, {k: got.get(k) for k in want}))
    elif what == "extid":
        st = w.keap_state()
        c = w.contact_of(words[1], st)
        fid = w.field_id(st, "ATS Candidate ID")
        got = next((f.get("content") for f in (c or {}).get("custom_fields") or []
                    if str(f.get("id")) == fid), None)
        report(got == w.subst(words[2]), "%s (got %r)" % (label, got))
    elif what == "no-keap-deletes":
        ops = w.keap.call("GET", "/_admin/stats")["by_operation"]
        dels = {k: v for k, v in ops.items() if "delete" in k.lower() and "tag" not in k.lower()}
        report(not dels, "%s (%s)" % (label, dels or "none"))
    elif what == "writes-to":
        # requests the Keap fake saw for REF's contact during the last command
        c = w.contact_of(words[1])
        n = w.last_requests_to.get(c["id"], 0) if c else -1
        report(n == int(words[2]), "%s (got %d)" % (label, n))
    elif what == "log":
        # the last command's output (log level warn: scenarios set it) holds TEXT
        report(words[1] in w.last_out, "%s (%s)" % (label, "found" if words[1] in w.last_out
                                                     else "not in: " + w.last_out.strip()[-300:]))
    elif what == "only-reads":
        report(w.last_writes == 0, "%s (writes %d)" % (label, w.last_writes))
    elif what == "lock-held-exit":
        lock = os.path.join(w.state, "lock")
        p = subprocess.Popen(["flock", lock, "sleep", "3"])
        time.sleep(0.3)
        rc = w.atsrecon(["run"])
        p.wait()
        report(rc == 75, "%s (got %d)" % (label, rc))
    else:
        raise RuntimeError("%s: unknown expectation %r" % (where, what))


def run_scenario(a, path, kind, url):
    name = os.path.basename(path)[:-4]
    with open(path) as f:
        lines = [(i + 1, ln) for i, ln in enumerate(f)]
    steps = []
    sources = None
    for no, ln in lines:
        words = shlex.split(ln, comments=True)
        if not words:
            continue
        if words[0] == "sources":
            sources = words[1:]
            continue
        steps.append((no, words))
    if sources is not None and kind not in sources:
        return
    work = tempfile.mkdtemp(prefix="scn-%s-%s-" % (name, kind), dir=a.work)
    w = World(a, kind, url, work)
    kill_next = False
    try:
        w.keap.call("POST", "/_admin/state", a.pristine_keap)
        if kind != "file":
            try:
                w.ats.call("POST", "/_admin/state", a.pristine_ats[kind])
            except RuntimeError:
                w.ats.call("POST", "/_admin/state", {})   # the fake's default world
        rt = w.keap.call("POST", "/_admin/tokens", {})["refresh_token"]
        rc = w.atsrecon(["auth", "keap", "--refresh-token", rt])
        if rc != 0:
            raise RuntimeError("auth keap exit %d: %s" % (rc, w.last_out[-300:]))
        t0 = time.monotonic()
        for no, words in steps:
            where = "%s[%s] %s:%d" % (name, kind, os.path.basename(path), no)
            if words[0] == "kill-each":
                kill_next = True
                continue
            step(w, words, where, kill_next)
            if words[0] in ("run", "plan", "apply"):
                kill_next = False
        print("# %s[%s]: %.1f s" % (name, kind, time.monotonic() - t0), flush=True)
        if not os.environ.get("SCN_DEBUG"):
            shutil.rmtree(work, ignore_errors=True)
    except Exception as e:  # noqa: BLE001 — a broken scenario is a failed check, not a crash
        report(False, "%s[%s]: %s: %s (work dir %s kept)" % (name, kind, type(e).__name__, e, work))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--keap", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--ats", action="append", default=[], help="KIND=URL, or file")
    p.add_argument("--only")
    p.add_argument("--kinds", help="comma-separated: only these sources")
    p.add_argument("--kill-max", type=int, default=60)
    p.add_argument("--work", default=None)
    a = p.parse_args()
    a.work = a.work or tempfile.mkdtemp(prefix="atsrecon-scn-")
    os.makedirs(a.work, exist_ok=True)
    a.pristine_keap = Admin(a.keap, ca=a.ca, timeout=120).call("GET", "/_admin/state")
    a.pristine_ats = {}
    kinds = []
    for item in a.ats:
        kind, _, url = item.partition("=")
        if a.kinds and kind not in a.kinds.split(","):
            continue
        kinds.append((kind, url or None))
        if url:
            a.pristine_ats[kind] = Admin(url, ca=a.ca, timeout=120).call("GET", "/_admin/state")
    for path in sorted(glob.glob(os.path.join(HERE, "*.scn"))):
        if a.only and a.only not in os.path.basename(path):
            continue
        for kind, url in kinds:
            run_scenario(a, path, kind, url)
    print("%d passed, %d failed" % (PASSED, FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
