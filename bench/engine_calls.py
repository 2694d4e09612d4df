"""bench/engine_calls — API calls an incremental run uses, against the minimum.

    python3 bench/engine_calls.py [--people 50000] [--drift-pct 5] [--bin ./atsrecon]

Builds a world of N people in the Greenhouse fake and the same N people in the
Keap fake as a settled earlier sync left them (names, email, phone, the
external-id field and the stage tag), runs atsrecon once to link them (zero
writes expected), then changes DRIFT % of the people in the ATS (half a last
name, half a stage move) and runs again. It counts every request both fakes
received during that second run and divides by the minimum a client needs:

    1 read per page per side (the ATS window's listings at 500 per page, Keap's
    changed contacts at 1000 per page) + 1 write per changed contact
    + 1 call per 100 contacts per tag applied or removed

Target (issue: engine): at most 1.05. Prints the breakdown by endpoint.
"""

import argparse
import json
import math
import os
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "fakes"))
import tenant  # noqa: E402


def start(name, tmp, *args):
    pf = os.path.join(tmp, name + ".port")
    p = subprocess.Popen([sys.executable, os.path.join(TOP, "tests", "fakes", name + ".py"),
                          "--certdir", os.path.join(tmp, "ca"), "--port-file", pf,
                          "--idle-timeout", "900", "--max-lifetime", "3600"] + list(args),
                         stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, name + ".log"), "w"))
    for _ in range(400):
        if os.path.exists(pf) and os.path.getsize(pf) > 0:
            break
        time.sleep(0.05)
    with open(pf) as f:
        return p, "https://localhost:%s" % f.read().strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=50000)
    ap.add_argument("--drift-pct", type=float, default=5.0)
    ap.add_argument("--bin", default=os.path.join(TOP, "atsrecon"))
    ap.add_argument("--moved-share", type=float, default=0.0,
                    help="share of the drifted people moved to another stage instead of renamed")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="atsrecon-calls-")
    procs = []
    try:
        kp, ku = start("keap", tmp)
        procs.append(kp)
        gp, gu = start("greenhouse", tmp, "--limit-per-window", "10000000")
        procs.append(gp)
        ca = os.path.join(tmp, "ca", "ca.pem")
        ctx = ssl.create_default_context(cafile=ca)

        def call(base, method, path, body=None):
            req = urllib.request.Request(base + path, method=method,
                                         data=json.dumps(body).encode() if body is not None else None)
            with urllib.request.urlopen(req, context=ctx, timeout=600) as r:
                return json.loads(r.read() or b"null")

        # --- the worlds, made two hours ago (fake time): the runs' windows then hold
        # only the changes the bench makes, as an hourly schedule would see them
        t0 = time.monotonic()
        call(gu, "POST", "/_admin/clock", {"offset_s": -7200})
        call(ku, "POST", "/_admin/clock", {"offset_s": -7200})
        call(gu, "POST", "/_admin/canon/generate", {"people": a.people, "seed": 11})
        people = call(gu, "GET", "/_admin/canon/people")["people"]
        st = call(ku, "GET", "/_admin/state")
        fid = {f["label"]: str(f["id"]) for f in st["model"]["custom_fields"]}
        cat = {"id": "900", "name": "ATS Stage"}
        tags = [{"id": str(901 + i), "name": n, "category": cat}
                for i, n in enumerate(sorted(set(tenant.STAGE_TAGS["by_stage"].values()) |
                                             set(tenant.STAGE_TAGS["by_status"].values())))]
        tag_id = {t["name"]: t["id"] for t in tags}
        contacts = []
        for i, p in enumerate(people):
            if not p["emails"]:
                continue
            want = tenant.STAGE_TAGS["by_status"].get(p["status"]) or \
                tenant.STAGE_TAGS["by_stage"].get(p["stage"])
            c = {"id": str(200000 + i), "given_name": p["first_name"], "family_name": p["last_name"],
                 "email_addresses": [{"email": p["emails"][0], "field": "EMAIL1"}],
                 "custom_fields": [{"id": fid["ATS Candidate ID"], "content": "greenhouse:" + p["id"]}],
                 "tag_ids": [int(tag_id[want])] if want else []}
            if p["phones"]:
                c["phone_numbers"] = [{"number": p["phones"][0], "field": "PHONE1"}]
            contacts.append(c)
        call(ku, "POST", "/_admin/state", {"_merge": True, "contacts": contacts,
                                            "tags": tags, "tag_categories": [cat]})
        call(gu, "POST", "/_admin/clock", {"offset_s": 0})
        call(ku, "POST", "/_admin/clock", {"offset_s": 0})
        print("world: %d people, %d contacts (%.1f s)" % (len(people), len(contacts),
                                                          time.monotonic() - t0))
        state = os.path.join(tmp, "state")
        cfg = tenant.config("greenhouse", gu, ku, ca, state, overrides=[
            'fields=[{"from": "first_name", "to": "given_name"}, {"from": "last_name", "to": '
            '"family_name"}, {"from": "email", "to": "email:EMAIL1"}, {"from": "phone", "to": '
            '"phone:PHONE1"}]', "keap.max_rps=100", "keap.concurrency=8",
            "guards.max_change_percent=100", "log.level=\"warn\""])
        cpath = os.path.join(tmp, "atsrecon.jsonc")
        with open(cpath, "w") as f:
            json.dump(cfg, f)
        rt = call(ku, "POST", "/_admin/tokens", {})["refresh_token"]
        subprocess.run([a.bin, "auth", "keap", "--refresh-token", rt, "-c", cpath, "-q"], check=True)

        def stats():
            return call(ku, "GET", "/_admin/stats"), call(gu, "GET", "/_admin/stats")

        def run(label):
            k0, g0 = stats()
            t = time.monotonic()
            r = subprocess.run([a.bin, "run", "-c", cpath, "-q"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
            dt = time.monotonic() - t
            k1, g1 = stats()
            print("%s: exit %d in %.1f s; Keap requests %d (writes %d), Greenhouse requests %d" % (
                label, r.returncode, dt, k1["requests"] - k0["requests"], k1["writes"] - k0["writes"],
                g1["requests"] - g0["requests"]))
            if r.returncode not in (0, 1):
                print(r.stderr.decode()[-2000:])
            return k0, g0, k1, g1

        run("linking run (everything already agrees)")
        # --- drift: half renamed, half moved to another stage
        n = int(len(people) * a.drift_pct / 100)
        stages = list(tenant.STAGE_TAGS["by_stage"])
        renamed = moved = 0
        for i, p in enumerate(people[:n * 4:4][:n]):
            if i >= n * a.moved_share:
                call(gu, "POST", "/_admin/canon/edit", {"id": p["id"], "last_name": p["last_name"] + "-Smith"})
                renamed += 1
            else:
                cur = p["stage"] if p["status"] == "active" else None
                nxt = stages[(stages.index(cur) + 1) % len(stages)] if cur in stages else stages[0]
                call(gu, "POST", "/_admin/canon/stage", {"id": p["id"], "stage": nxt})
                moved += 1
        time.sleep(1.0)
        k0, g0, k1, g1 = run("drift run (%d renamed, %d moved)" % (renamed, moved))
        kreq = k1["requests"] - k0["requests"]
        greq = g1["requests"] - g0["requests"]
        writes = k1["writes"] - k0["writes"]
        # the minimum: the ATS window's listings (candidates and applications changed in it,
        # 500 per page), Keap's changed contacts (our own writes come back: 1000 per page),
        # one PATCH per renamed contact, one call per 100 contacts per tag applied/removed
        changed = renamed + moved
        minimum = (math.ceil(renamed / 500) + math.ceil(moved / 500) + max(1, math.ceil(changed / 1000))
                   + renamed + (2 * max(1, math.ceil(moved / 100 / len(stages))) * len(stages) if moved else 0))
        used = kreq + greq
        print("minimum %d, used %d (Keap %d + Greenhouse %d), Keap writes %d: ratio %.3f "
              "(target <= 1.05)" % (minimum, used, kreq, greq, writes, used / minimum))
        if moved:
            # Greenhouse v3 has no id filter on /candidates: a stage move (an application
            # change) costs one GET of its candidate whatever the client does
            shape = minimum + moved
            print("with the API's shape (one GET per application-only change): minimum %d, "
                  "ratio %.3f" % (shape, used / shape))
        print("Greenhouse by path:", json.dumps({k: v - g0["by_path"].get(k, 0) for k, v in
                                                 g1["by_path"].items() if v != g0["by_path"].get(k, 0)},
                                                sort_keys=True))
        ops_k = {k: v - k0["by_operation"].get(k, 0) for k, v in k1["by_operation"].items()
                 if v != k0["by_operation"].get(k, 0)}
        print("Keap by operation:", json.dumps(ops_k, sort_keys=True))
    finally:
        for p in procs:
            p.terminate()


if __name__ == "__main__":
    main()
