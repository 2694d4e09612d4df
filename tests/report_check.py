"""Loads an HTML report in headless Chromium (Debian's `chromium`) and checks it.

    python3 tests/report_check.py REPORT.html SCREENSHOT.png [--min-rows N] [--expect-network]
        [--cause-count N] [--period] [--pdf OUT.pdf --pdf-text FILE]

Checks, from what Chromium itself did (not from reading the file):
  - the DOM it renders (--dump-dom) holds the SVG trend chart (svg#trend with a
    polyline), the drift table (table#drift with at least N data rows) and the
    per-stage and per-job tables;
  - the page made no network request: every request Chromium's net log shows
    with the page as its initiator must be file: or data:. Chromium's own
    background traffic (update checks, "initiator: not an origin") is not the
    page's and is ignored;
  - a screenshot is written (the test artefact).
  - the causes section (section#causes) is there; with --cause-count N, exactly
    one cause (li.cause) has data-count N and its count is the one shown;
  - the trend chart has date labels on its axis (text.date);
  - with --pdf, the page printed by Chromium (--print-to-pdf) is turned into
    text by pdftotext (poppler-utils) and every line of --pdf-text (a cause
    title) is in it;
  - --period: a period report (the weeks table, no drift table).
With --expect-network the verdict is inverted (a control page that loads
something must be caught, so the check is known to be able to fail).
Prints one line per check ("ok - ..." / "not ok - ...") and exits 1 on failure.
"""

import argparse
import html.parser
import json
import os
import subprocess
import sys
import tempfile

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--hide-scrollbars", "--mute-audio"]


class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack = []
        self.svg_trend = self.polyline = False
        self.rows = {}          # table id -> data rows
        self.table = None
        self.dates = 0          # text.date labels in the trend
        self.causes_section = False
        self.cause_counts = []  # data-count of each li.cause
        self.shown_counts = []  # the number shown in each cause (b.count)
        self.in_count = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg" and a.get("id") == "trend":
            self.svg_trend = True
        if tag == "polyline" and self.svg_trend:
            self.polyline = True
        if tag == "text" and a.get("class") == "date":
            self.dates += 1
        if tag == "section" and a.get("id") == "causes":
            self.causes_section = True
        if tag == "li" and a.get("class") == "cause":
            self.cause_counts.append(a.get("data-count"))
        if tag == "b" and a.get("class") == "count":
            self.in_count = True
        if tag == "table":
            self.table = a.get("id")
            self.rows.setdefault(self.table, 0)
        if tag == "td" and self.table is not None and self.stack[-1:] == ["tr-new"]:
            self.rows[self.table] += 1
            self.stack[-1] = "tr"
        if tag == "tr":
            self.stack.append("tr-new")

    def handle_data(self, data):
        if self.in_count:
            self.shown_counts.append(data.strip())
            self.in_count = False

    def handle_endtag(self, tag):
        if tag == "tr" and self.stack:
            self.stack.pop()
        if tag == "table":
            self.table = None


def chromium(args, timeout=90):
    exe = os.environ.get("CHROMIUM", "chromium")
    return subprocess.run([exe] + FLAGS + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


def page_requests(netlog):
    with open(netlog) as f:
        d = json.load(f)
    names = {v: k for k, v in d["constants"]["logEventTypes"].items()}
    out = []
    for e in d["events"]:
        p = e.get("params") or {}
        if names.get(e["type"]) != "URL_REQUEST_START_JOB" or "url" not in p:
            continue
        if p.get("initiator") == "not an origin":
            continue    # the browser's own traffic, not the page's
        if p["url"].startswith(("file:", "data:")):
            continue
        out.append(p["url"])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("report")
    ap.add_argument("screenshot")
    ap.add_argument("--min-rows", type=int, default=1)
    ap.add_argument("--expect-network", action="store_true")
    ap.add_argument("--cause-count", type=int)
    ap.add_argument("--period", action="store_true")
    ap.add_argument("--pdf")
    ap.add_argument("--pdf-text")
    a = ap.parse_args()
    url = "file://" + os.path.abspath(a.report)
    failed = 0

    def check(ok, what):
        nonlocal failed
        print(("ok - " if ok else "not ok - ") + what)
        failed += not ok

    with tempfile.TemporaryDirectory(prefix="atsrecon-chromium-") as tmp:
        netlog = os.path.join(tmp, "net.json")
        r = chromium(["--user-data-dir=" + os.path.join(tmp, "profile"),
                      "--log-net-log=" + netlog, "--dump-dom", url])
        check(r.returncode == 0 and r.stdout, "chromium rendered the page (exit %d)" % r.returncode)
        reqs = page_requests(netlog) if os.path.exists(netlog) else ["(no net log)"]
        if a.expect_network:
            check(len(reqs) > 0, "the control page's requests are caught: %s" % reqs[:3])
            return 1 if failed else 0
        dom = Dom()
        dom.feed(r.stdout.decode("utf-8", "replace"))
        check(dom.svg_trend and dom.polyline, "the DOM holds the SVG trend chart with its line")
        if a.period:
            check("weeks" in dom.rows and dom.rows["weeks"] > 0,
                  "the period report has its weeks table (%s)" % dom.rows)
        else:
            check(dom.rows.get("drift", 0) >= a.min_rows,
                  "the drift table has %d rows (at least %d)" % (dom.rows.get("drift", 0), a.min_rows))
            check("per-stage" in dom.rows and "per-job" in dom.rows and dom.rows["per-stage"] > 0,
                  "the per-stage and per-job tables are there (%s)" % dom.rows)
        check(dom.causes_section, "the causes section is there")
        if a.cause_count is not None:
            n = dom.cause_counts.count(str(a.cause_count))
            check(n == 1 and str(a.cause_count) in dom.shown_counts,
                  "exactly one cause of %d (causes: %s, shown: %s)" %
                  (a.cause_count, dom.cause_counts, dom.shown_counts))
        check(dom.dates >= 1, "the trend has %d date labels on its axis" % dom.dates)
        check(not reqs, "the page made no network request %s" % (reqs[:3] or ""))
        os.makedirs(os.path.dirname(os.path.abspath(a.screenshot)), exist_ok=True)
        r = chromium(["--user-data-dir=" + os.path.join(tmp, "profile2"),
                      "--window-size=1280,1800", "--screenshot=" + os.path.abspath(a.screenshot),
                      url])
        size = os.path.getsize(a.screenshot) if os.path.exists(a.screenshot) else 0
        check(r.returncode == 0 and size > 10000, "screenshot kept: %s (%d bytes)" %
              (a.screenshot, size))
        if a.pdf:
            pdf = os.path.abspath(a.pdf)
            r = chromium(["--user-data-dir=" + os.path.join(tmp, "profile3"),
                          "--no-pdf-header-footer", "--print-to-pdf=" + pdf, url])
            ok = r.returncode == 0 and os.path.exists(pdf) and os.path.getsize(pdf) > 1000
            check(ok, "printed to PDF: %s" % pdf)
            txt = subprocess.run(["pdftotext", "-layout", pdf, "-"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE).stdout.decode("utf-8", "replace") if ok else ""
            pages = txt.count("\f") + (1 if txt and not txt.endswith("\f") else 0)
            flat = " ".join(txt.split())
            want = []
            if a.pdf_text:
                with open(a.pdf_text) as f:
                    want = [" ".join(l.split()) for l in f if l.strip()]
            missing = [w for w in want if w not in flat]
            check(ok and want and not missing,
                  "the PDF (%d pages) holds every cause (%d): missing %s" % (pages, len(want), missing[:3]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
