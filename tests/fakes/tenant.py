"""The test tenant: one atsrecon configuration for the fakes, shared by the demo,
the engine test, the scenario suite and the benchmarks (one place, not four).

    python3 tests/fakes/tenant.py --ats greenhouse --ats-url URL --keap-url URL --ca CA \\
        --state DIR [--report DIR] [--file PATH] [--set section.key=JSON ...]

prints the configuration (JSON, which is valid JSONC). From Python: tenant.config(...)
returns the dict. The mapping is the one the fakes' worlds are built for: the Keap
fake's custom fields (ATS Candidate ID, ATS Source, ATS Applied Date), the stage
names every ATS fake uses (Application Review, Recruiter Phone Screen, Take Home
Test, Face to Face, Offer) and their sources (Indeed, Meetups, LinkedIn
(Prospecting), Referral, Careers Site).
"""

import argparse
import json
import sys

# Credentials the fakes accept (each fake's defaults).
GREENHOUSE = {"client_id": "gh-client", "client_secret": "gh-secret", "user_id": "4711"}
LEVER_KEY = "lever-test-key-0001"
ASHBY_KEY = "ashby-test-key"
KEAP = {"client_id": "atsrecon-test-client", "client_secret": "atsrecon-test-secret"}

# The columns of the export file the file source reads (tests/fakes/export.py writes it).
FILE_COLUMNS = {"id": "Applicant ID", "first_name": "First Name", "last_name": "Last Name",
                "email": ["Email", "Other Email"], "phone": "Phone", "title": "Title",
                "company": "Company", "stage": "Stage", "status": "Status", "job": "Job",
                "source": "Source", "applied_at": "Date Applied", "updated_at": "Updated",
                "anonymized": "Anonymized"}

FIELDS = [
    {"from": "first_name", "to": "given_name"},
    {"from": "last_name", "to": "family_name"},
    {"from": "email", "to": "email:EMAIL1"},
    {"from": "phone", "to": "phone:PHONE1"},
    {"from": "source", "to": "custom:ATS Source",
     "map": {"Indeed": "Job Board", "Referral": "Referral", "Careers Site": "Careers Page",
             "LinkedIn (Prospecting)": "LinkedIn"}},
    {"from": "applied_at", "to": "custom:ATS Applied Date"},
    {"from": "title", "to": "job_title", "owner": "fill"},
]

STAGE_TAGS = {
    "category": "ATS Stage",
    "by_status": {"hired": "ATS Stage: Hired", "rejected": "ATS Stage: Rejected"},
    "by_stage": {"Application Review": "ATS Stage: Review",
                 "Recruiter Phone Screen": "ATS Stage: Screen",
                 "Take Home Test": "ATS Stage: Test", "Face to Face": "ATS Stage: Onsite",
                 "Offer": "ATS Stage: Offer"},
}


def ats_block(kind, url, file=None):
    if kind == "greenhouse":
        return dict(GREENHOUSE, kind=kind, base_url=url + "/v3", auth_url=url + "/auth")
    if kind == "lever":
        return {"kind": kind, "base_url": url + "/v1", "api_key": LEVER_KEY}
    if kind == "ashby":
        return {"kind": kind, "base_url": url, "api_key": ASHBY_KEY}
    if kind == "file":
        return {"kind": kind, "file": file, "format": "csv", "columns": FILE_COLUMNS}
    raise ValueError("unknown ATS kind %r" % kind)


def config(ats, ats_url, keap_url, ca, state, report=None, file=None, overrides=()):
    c = {
        "ats": ats_block(ats, ats_url, file),
        "keap": dict(KEAP, base_url=keap_url + "/crm/rest", token_url=keap_url + "/token",
                     max_rps=50),
        "http": {"ca_file": ca, "max_retries": 3},
        "state": {"dir": state},
        "guards": {"max_change_percent": 70, "max_archives": 5, "max_creates": 20},
        "fields": json.loads(json.dumps(FIELDS)),
        "stage_tags": json.loads(json.dumps(STAGE_TAGS)),
    }
    if report:
        c["report"] = {"dir": report}
    for item in overrides:
        path, _, value = item.partition("=")
        sec, _, key = path.partition(".")
        if not key:
            c[sec] = json.loads(value)
        else:
            c.setdefault(sec, {})[key] = json.loads(value)
    return c


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ats", default="greenhouse")
    p.add_argument("--ats-url", default="")
    p.add_argument("--keap-url", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--state", required=True)
    p.add_argument("--report")
    p.add_argument("--file")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=JSON")
    a = p.parse_args()
    json.dump(config(a.ats, a.ats_url, a.keap_url, a.ca, a.state, a.report, a.file, a.set),
              sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
