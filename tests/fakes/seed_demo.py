"""Seeds the demo world: the ATS's people and a Keap that has drifted from them.

    python3 tests/fakes/seed_demo.py ATS_URL KEAP_URL CA_FILE [--ats KIND] [--file PATH]
                                     [--candidates 500] [--seed 7]
    python3 tests/fakes/seed_demo.py ... --activity     (a day of changes on both sides)

Vendor-neutral: the ATS fakes are driven through their canonical admin API
(/_admin/canon/..., the same on Greenhouse, Lever and Ashby); with --ats file
the export file is written instead (tests/scenarios/run.py's FileAts, the
columns of tests/fakes/tenant.py). The first form generates the people, then
writes Keap contacts for most of them, as an earlier sync tool would have left
them: mostly right, some with representation-only noise (email case, phone
formatting) that must NOT cause writes, some with real drift (renamed, a second
email that must survive, duplicates, an empty job title); the rest are missing
from Keap, and a few marketing contacts match no candidate at all. The second
form makes the changes a day brings: edits in Keap, edits and stage moves in
the ATS, a delete, an anonymisation and (where the ATS has merges) a merge.
Standard library only; prints a summary.
"""

import argparse
import json
import os
import pickle
import random
import ssl
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scenarios"))
sys.path.insert(0, HERE)
from admin import Admin  # noqa: E402


def file_ats(path):
    """The export-file 'fake': the people live in a pickle next to the CSV."""
    from run import FileAts  # tests/scenarios/run.py
    f = FileAts(path)
    keep = path + ".people"
    if os.path.exists(keep):
        with open(keep, "rb") as fh:
            f.people, f.next = pickle.load(fh)

    def save():
        with open(keep, "wb") as fh:
            pickle.dump((f.people, f.next), fh)
    f.save = save
    return f


STAGES = ["Application Review", "Recruiter Phone Screen", "Take Home Test", "Face to Face",
          "Offer"]


def seed(ats, kp, n, rng):
    ats.call("POST", "/_admin/canon/generate", {"people": n, "seed": rng.randrange(1 << 30)})
    people = ats.call("GET", "/_admin/canon/people")["people"]
    contacts, next_id = [], 70001
    counts = {"synced": 0, "noise": 0, "renamed": 0, "second_email": 0, "duplicate": 0,
              "no_title": 0, "missing": 0, "marketing": 0}
    for i, p in enumerate(people):
        emails = p.get("emails") or []
        if not emails:
            continue
        r = rng.random()
        if r < 0.10:
            counts["missing"] += 1
            continue
        ct = {"id": str(next_id), "given_name": p.get("first_name") or "",
              "family_name": p.get("last_name") or "", "job_title": p.get("title") or "",
              "email_addresses": [{"email": emails[0], "field": "EMAIL1"}]}
        next_id += 1
        phones = p.get("phones") or []
        if phones:
            ct["phone_numbers"] = [{"number": phones[0], "field": "PHONE1"}]
        if r < 0.15:
            ct["email_addresses"][0]["email"] = " " + emails[0].upper() + " "
            counts["noise"] += 1
        elif r < 0.20:
            ct["given_name"] = (ct["given_name"] or "X") + "ie"
            counts["renamed"] += 1
        elif r < 0.23:
            ct["email_addresses"].append({"email": "home.%d@example.org" % i, "field": "EMAIL2"})
            ct["given_name"] = (ct["given_name"] or "X") + "y"
            counts["second_email"] += 1
        elif r < 0.25:
            ct["job_title"] = ""
            counts["no_title"] += 1
        else:
            counts["synced"] += 1
        contacts.append(ct)
        if 0.25 <= r < 0.26:
            dup = dict(ct, id=str(next_id))
            next_id += 1
            contacts.append(dup)
            counts["duplicate"] += 1
    for k in range(5):
        contacts.append({"id": str(next_id), "given_name": "Newsletter", "family_name": "Reader%d" % k,
                         "email_addresses": [{"email": "reader%d@newsletter.example" % k,
                                              "field": "EMAIL1"}]})
        next_id += 1
        counts["marketing"] += 1
    kp.call("POST", "/_admin/state", {"_merge": True, "contacts": contacts})
    return counts


def activity(ats, kp, rng, kind):
    people = [p for p in ats.call("GET", "/_admin/canon/people")["people"] if p.get("emails")]
    rng.shuffle(people)
    kworld = kp.call("GET", "/_admin/state")
    # linked: the external-id field holds an id (bare, as an earlier tool wrote it, or
    # "<ats>:<id>")
    ext = [str(f["id"]) for f in kworld["model"]["custom_fields"] if f["label"] == "ATS Candidate ID"]
    linked = [c for c in kworld["contacts"] if any(
        str(f.get("id")) in ext and str(f.get("content") or "").strip()
        for f in c.get("custom_fields") or [])]
    rng.shuffle(linked)
    done = {"keap_edits": 0, "ats_edits": 0, "stage_moves": 0, "deleted": 0, "anonymized": 0,
            "merged": 0}
    for ct in linked[:8]:
        kp.call("POST", "/_admin/edit-contact", {"id": ct["id"], "set": {"family_name": "Edited"}})
        done["keap_edits"] += 1
    for p in people[:8]:
        ats.call("POST", "/_admin/canon/edit", {"id": p["id"], "last_name": (p.get("last_name") or
                                                                            "X") + "-Hart"})
        done["ats_edits"] += 1
    for p in people[8:14]:
        if p.get("status") == "active" and p.get("stage") in STAGES:
            nxt = STAGES[(STAGES.index(p["stage"]) + 1) % len(STAGES)]
            ats.call("POST", "/_admin/canon/stage", {"id": p["id"], "stage": nxt})
            done["stage_moves"] += 1
    ats.call("POST", "/_admin/canon/delete", {"id": people[20]["id"]})
    done["deleted"] += 1
    ats.call("POST", "/_admin/canon/anonymize", {"id": people[21]["id"]})
    done["anonymized"] += 1
    if kind != "lever":     # Lever has no merges
        ats.call("POST", "/_admin/canon/merge", {"from": people[22]["id"], "into": people[23]["id"]})
        done["merged"] += 1
    return done


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("ats_url")
    p.add_argument("keap")
    p.add_argument("ca")
    p.add_argument("--ats", default="greenhouse")
    p.add_argument("--file")
    p.add_argument("--candidates", type=int, default=500)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--activity", action="store_true")
    a = p.parse_args(argv[1:])
    ctx = ssl.create_default_context(cafile=a.ca)
    rng = random.Random(a.seed + (1 if a.activity else 0))
    ats = file_ats(a.file) if a.ats == "file" else Admin(a.ats_url, ctx=ctx)
    kp = Admin(a.keap, ctx=ctx)
    out = activity(ats, kp, rng, a.ats) if a.activity else seed(ats, kp, a.candidates, rng)
    if a.ats == "file":
        ats.save()
    print(", ".join("%s %d" % (k.replace("_", " "), v) for k, v in out.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
