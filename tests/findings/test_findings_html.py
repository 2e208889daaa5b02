"""The HTML report as text: self-contained, escaped, with counts that match the JSON."""

from __future__ import annotations

import json
import re
import time
from html.parser import HTMLParser

from findings_support import blank_finding, empty_fields_finding, many_findings
from plan_support import sample_plan

from no_direct_policies.findings.html_report import normalize_plan, render_html, report_data
from no_direct_policies.findings.model import Finding, counts_by_account, findings_to_json

DATA = re.compile(r'<script type="application/json" id="findings-data">(.*?)</script>', re.S)


class Elements(HTMLParser):
    """Every start tag with its attributes, and every script body."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def parse(document: str) -> Elements:
    parser = Elements()
    parser.feed(document)
    parser.close()
    return parser


def embedded(document: str) -> dict:
    match = DATA.search(document)
    assert match
    return json.loads(match.group(1))


def assert_self_contained(document: str) -> None:
    elements = parse(document)
    for tag, attrs in elements.tags:
        for name in ("src", "href", "xlink:href", "action", "srcset", "poster", "data"):
            value = attrs.get(name) or ""
            assert not re.match(r"\s*(https?:)?//", value, re.I), (tag, name, value)
        assert tag not in {"link", "iframe", "object", "embed", "base"}
    assert "@import" not in document
    assert not re.search(r"""src\s*=\s*["']?\s*(https?:)?//""", document, re.I)
    assert not re.search(r"""href\s*=\s*["']?\s*(https?:)?//""", document, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", document, re.I)
    assert "Content-Security-Policy" in document


def test_the_report_is_one_self_contained_file(findings: list[Finding]) -> None:
    document = render_html(findings, sample_plan())
    assert document.startswith("<!DOCTYPE html>")
    assert_self_contained(document)
    assert "<style>" in document
    assert "<svg" in document


def test_counts_match_the_json(findings: list[Finding]) -> None:
    data = embedded(render_html(findings))
    records = json.loads(findings_to_json(findings))
    assert data["total"] == len(records)
    for verdict, count in data["byVerdict"].items():
        assert count == sum(r["ComplianceType"] == verdict for r in records)
    assert data["byAccount"] == counts_by_account(findings)


def test_user_data_is_escaped(findings: list[Finding]) -> None:
    document = render_html(findings, sample_plan())
    elements = parse(document)
    # Only the report's own two scripts exist; the user's never became one.
    assert len([t for t, _ in elements.tags if t == "script"]) == 2
    assert not any(t == "img" for t, _ in elements.tags)
    assert '<script>alert("x")' not in document
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#x27;" in document
    assert "\u00e9t\u00e9 \U0001f512" in document
    assert "</script><img" not in document
    # The embedded JSON cannot close its script element early.
    assert embedded(document)["total"] == len(findings)


def test_the_table_is_sortable_and_has_every_user(findings: list[Finding]) -> None:
    elements = parse(render_html(findings))
    rows = [a for t, a in elements.tags if t == "tr" and "data-verdict" in a]
    assert [r["data-verdict"] for r in rows] == [f.compliance_type for f in findings]
    tables = [a for t, a in elements.tags if t == "table"]
    assert all("sortable" in (a.get("class") or "") for a in tables)
    assert sum(t == "button" for t, _ in elements.tags) == 10 + 5


def test_the_plan_picture_links_users_groups_and_policies() -> None:
    plan = sample_plan()
    document = render_html([], plan)
    elements = parse(document)
    kinds = [a.get("class") for t, a in elements.tags if t == "g"]
    assert kinds.count("node-user") == 3
    assert kinds.count("node-group") == 3
    assert kinds.count("node-policy") == 3
    paths = [a.get("class") for t, a in elements.tags if t == "path"]
    assert paths.count("edge-ug") == 4  # alice 1, dave 2, eve 1
    assert paths.count("edge-gp") == 3
    assert normalize_plan(plan)[2]["UserName"] == 'eve<script>alert("x")</script>'


def test_no_plan_section_without_a_plan_and_an_empty_plan_says_so(
    findings: list[Finding],
) -> None:
    assert "Remediation plan" not in render_html(findings)
    assert "nothing to move" in render_html(findings, [])


def test_zero_findings() -> None:
    document = render_html([])
    assert_self_contained(document)
    assert embedded(document) == report_data([])
    assert "No findings." in document


def test_empty_fields_and_blank_findings() -> None:
    document = render_html([empty_fields_finding(), blank_finding()])
    assert_self_contained(document)
    assert embedded(document)["byVerdict"]["NOT_APPLICABLE"] == 2


def test_five_thousand_findings_quickly() -> None:
    findings = many_findings()
    started = time.perf_counter()
    document = render_html(findings)
    assert time.perf_counter() - started < 5
    assert embedded(document)["total"] == 5000
    assert document.count('data-verdict="') == 5000
