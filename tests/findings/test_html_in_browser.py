"""The HTML report in a real headless Chromium (Debian's ``chromium`` package).

Collection: ``conftest.py`` leaves this module out when ``chromium`` is not on
PATH, unless ``REQUIRE_BROWSER=1``, in which case it is collected and a
missing browser fails. CI installs Chromium before ``make test``, so there it
always runs; nothing in it is skipped.

Checked: the page renders and its script runs (``data-rendered``), the counts
the script computes from the rendered rows and writes into the page equal
the embedded ``findings-data`` and the counts of the ``--format json``
output, clicking a header sorts the table, and a non-empty PNG screenshot is
produced. Chromium runs with the network features off, and the report's
Content-Security-Policy forbids any request.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

from findings_support import many_findings
from plan_support import sample_plan

from no_direct_policies.findings.html_report import render_html
from no_direct_policies.findings.model import Finding, counts_by_account, findings_to_json

TIMEOUT = 120
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def chromium() -> str:
    path = shutil.which("chromium")
    assert path, "REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install chromium)"
    return path


def run_chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(  # noqa: S603  # fixed arguments, our own file
        command, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


class Dom(HTMLParser):
    """What the rendered DOM shows: the count cells, the rows, the script's output."""

    def __init__(self) -> None:
        super().__init__()
        self.body: dict[str, str | None] = {}
        self.counts: dict[str, str] = {}
        self.rows: list[str] = []
        self.dom_counts = ""
        self.sorted_names = ""
        self._capture: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "body":
            self.body = a
        if a.get("data-count"):
            self._capture = f"count:{a['data-count']}"
        if a.get("id") in {"dom-counts", "sorted-names"}:
            self._capture = a["id"]
        if tag == "tr" and a.get("data-verdict"):
            self.rows.append(a.get("data-account") or "")

    def handle_endtag(self, tag: str) -> None:
        self._capture = None

    def handle_data(self, data: str) -> None:
        if self._capture == "dom-counts":
            self.dom_counts += data
        elif self._capture == "sorted-names":
            self.sorted_names += data
        elif self._capture and self._capture.startswith("count:"):
            self.counts[self._capture[6:]] = self.counts.get(self._capture[6:], "") + data


def rendered(tmp_path: Path, document: str) -> Dom:
    report = tmp_path / "report.html"
    report.write_text(document, encoding="utf-8")
    result = run_chromium(tmp_path / "profile", "--dump-dom", report.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    dom = Dom()
    dom.feed(result.stdout)
    return dom


def blank_out_server_counts(document: str) -> str:
    """The count cells emptied, so only the page's script can fill them."""
    for marker in ('data-count="total">', *(f'data-count="{v}">' for v in _VERDICTS)):
        head, sep, tail = document.partition(marker)
        document = head + sep + tail[tail.index("<") :]
    return document


_VERDICTS = ("COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE")


def test_the_report_renders_and_its_counts_match_the_json(
    tmp_path: Path, findings: list[Finding]
) -> None:
    document = blank_out_server_counts(render_html(findings, sample_plan()))
    dom = rendered(tmp_path, document)
    assert dom.body.get("data-rendered") == "true"
    computed = json.loads(dom.dom_counts)
    records = json.loads(findings_to_json(findings))
    assert computed["total"] == len(records) == int(dom.counts["total"])
    for verdict in _VERDICTS:
        expected = sum(r["ComplianceType"] == verdict for r in records)
        assert computed["byVerdict"][verdict] == expected == int(dom.counts[verdict])
    assert computed["byAccount"] == counts_by_account(findings)


def test_five_thousand_findings_render(tmp_path: Path) -> None:
    findings = many_findings()
    dom = rendered(tmp_path, blank_out_server_counts(render_html(findings)))
    assert len(dom.rows) == 5000
    assert json.loads(dom.dom_counts)["byAccount"] == counts_by_account(findings)
    assert dom.counts["total"] == "5000"


def test_clicking_a_header_sorts_the_table(tmp_path: Path, findings: list[Finding]) -> None:
    # Click "User" twice (ascending, then descending) and write the row order into the page.
    script = (
        "<script>document.addEventListener('DOMContentLoaded',function(){"
        "var b=document.querySelectorAll('#findings-table thead th button')[2];b.click();b.click();"
        "var names=Array.prototype.map.call(document.querySelectorAll("
        "'#findings-table tbody tr'),function(tr){return tr.children[2].dataset.sort;});"
        "var out=document.createElement('pre');out.id='sorted-names';"
        "out.textContent=JSON.stringify({names:names,sort:b.parentNode.getAttribute('aria-sort')});"
        "document.body.appendChild(out);});</script>"
    )
    document = render_html(findings).replace("</body>", script + "</body>")
    dom = rendered(tmp_path, document)
    result = json.loads(dom.sorted_names)
    assert result["sort"] == "descending"
    assert result["names"] == sorted((f.user_name for f in findings), key=str.lower, reverse=True)


def test_a_screenshot_is_produced(tmp_path: Path, findings: list[Finding]) -> None:
    report = tmp_path / "report.html"
    report.write_text(render_html(findings, sample_plan()), encoding="utf-8")
    png = tmp_path / "report.png"
    result = run_chromium(
        tmp_path / "profile",
        f"--screenshot={png}",
        "--window-size=1280,900",
        "--hide-scrollbars",
        report.as_uri(),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    data = png.read_bytes()
    assert data.startswith(PNG_MAGIC)
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 900)
    assert len(data) > 10_000  # a real page, not a blank frame
