"""Seeds the demo world: Greenhouse candidates and a Keap that has drifted from them.

    python3 tests/fakes/seed_demo.py GREENHOUSE_URL KEAP_URL CA_FILE [--candidates 500] [--seed 7]
    python3 tests/fakes/seed_demo.py ... --activity     (a day of changes on both sides)

The first form generates the candidates in the Greenhouse fake, then writes Keap
contacts for most of them, as an earlier sync tool would have left them: mostly
right, some with representation-only noise (email case, phone formatting) that
must NOT cause writes, and some with real drift (renamed, a second email that must
survive, duplicates, an empty job title); the rest are missing from Keap, and a
few marketing contacts match no candidate at all. The second form makes the
changes a day brings: edits in Keap, edits and stage moves in Greenhouse, a hard
delete, an anonymisation, a merge. Standard library only; prints a summary.
"""

import argparse
import json
import random
import ssl
import sys
import urllib.request


def call(base, ctx, method, path, body=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=120) as r:
        return json.loads(r.read() or b"null")


def seed(gh, kp, ctx, n, rng):
    call(gh, ctx, "POST", "/_admin/generate", {"candidates": n, "applications_per_candidate": 1,
                                               "seed": rng.randrange(1 << 30)})
    world = call(gh, ctx, "GET", "/_admin/state")
    cands = world["candidates"]
    contacts, next_id = [], 70001
    counts = {"synced": 0, "noise": 0, "renamed": 0, "second_email": 0, "duplicate": 0,
              "no_title": 0, "missing": 0, "marketing": 0}
    for i, c in enumerate(cands):
        emails = [e["value"] for e in c.get("email_addresses") or []]
        if not emails:
            continue
        r = rng.random()
        if r < 0.10:
            counts["missing"] += 1
            continue
        ct = {"id": str(next_id), "given_name": c.get("first_name") or "",
              "family_name": c.get("last_name") or "", "job_title": c.get("title") or "",
              "email_addresses": [{"email": emails[0], "field": "EMAIL1"}]}
        next_id += 1
        phones = [p["value"] for p in c.get("phone_numbers") or []]
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
    call(kp, ctx, "POST", "/_admin/state", {"_merge": True, "contacts": contacts})
    return counts


def activity(gh, kp, ctx, rng):
    world = call(gh, ctx, "GET", "/_admin/state")
    cands = [c for c in world["candidates"] if c.get("email_addresses")]
    rng.shuffle(cands)
    kworld = call(kp, ctx, "GET", "/_admin/state")
    linked = [c for c in kworld["contacts"] if any(
        f.get("content", "").startswith("greenhouse:") for f in c.get("custom_fields") or [])]
    rng.shuffle(linked)
    done = {"keap_edits": 0, "ats_edits": 0, "stage_moves": 0, "deleted": 0, "anonymized": 0}
    for ct in linked[:8]:
        call(kp, ctx, "POST", "/_admin/edit-contact", {"id": ct["id"], "set": {"family_name": "Edited"}})
        done["keap_edits"] += 1
    for c in cands[:8]:
        call(gh, ctx, "POST", "/_admin/edit-candidate", {"id": c["id"], "set": {"title": "Promoted"}})
        done["ats_edits"] += 1
    apps = [a for a in world["applications"] if a.get("status") == "in_process"]
    rng.shuffle(apps)
    for a in apps[:6]:
        stages = [s["id"] for s in world["job_interview_stages"] if s["job_id"] == a["job_id"]]
        if stages:
            call(gh, ctx, "POST", "/_admin/edit-application",
                 {"id": a["id"], "set": {"job_interview_stage_id": rng.choice(stages)}})
            done["stage_moves"] += 1
    call(gh, ctx, "POST", "/_admin/delete-candidate", {"id": cands[20]["id"]})
    done["deleted"] += 1
    call(gh, ctx, "POST", "/_admin/anonymize", {"id": cands[21]["id"]})
    done["anonymized"] += 1
    return done


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("greenhouse")
    p.add_argument("keap")
    p.add_argument("ca")
    p.add_argument("--candidates", type=int, default=500)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--activity", action="store_true")
    a = p.parse_args(argv[1:])
    ctx = ssl.create_default_context(cafile=a.ca)
    rng = random.Random(a.seed + (1 if a.activity else 0))
    out = activity(a.greenhouse, a.keap, ctx, rng) if a.activity else \
        seed(a.greenhouse, a.keap, ctx, a.candidates, rng)
    print(", ".join("%s %d" % (k.replace("_", " "), v) for k, v in out.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
