"""One self-contained HTML report of the findings, and of a remediation plan.

The file needs nothing but itself: CSS and JavaScript are inline, the
diagram is inline SVG, and a Content-Security-Policy forbids every network
request, so opening it never reaches out. All user data is escaped.

The page carries its counts twice: ``<script type="application/json"
id="findings-data">`` written here, and the counts its script computes from
the table rows once the page has loaded (``#dom-counts``, and the
``data-count`` cells of the summary), so a browser test can compare them.

A plan is a list of dicts, one per user, with the keys ``UserName``,
``GroupsToJoin`` (group names), ``GroupPolicies`` (``{group: [policy ARN,
...]}``, the policies each group carries) and ``PoliciesToDetach`` (policy
ARNs or inline policy names that leave the user). The snake_case spellings
``user_name``, ``groups_to_join``, ``group_policies`` and
``policies_to_detach`` are accepted too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from no_direct_policies.findings.model import (
    COMPLIANCE_TYPES,
    Finding,
    counts_by_account,
    iso_z,
)

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)

_VERDICT_LABEL = {
    "COMPLIANT": "Compliant",
    "NON_COMPLIANT": "Non-compliant",
    "NOT_APPLICABLE": "Not applicable",
}

_CSS = """
:root{--ok:#1a7f37;--bad:#cf222e;--na:#6e7781;--ink:#1f2328;--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);
margin:0;padding:24px 32px;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.sub{color:var(--na);margin:0 0 16px}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 16px;min-width:150px;
background:var(--bg)}
.card .n{font-size:26px;font-weight:600}.card.bad .n{color:var(--bad)}.card.ok .n{color:var(--ok)}
.card.na .n{color:var(--na)}
table{border-collapse:collapse;width:100%;margin-top:6px}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:var(--bg);position:sticky;top:0}
th button{all:unset;cursor:pointer;font-weight:600}
th button::after{content:" \\2195";color:var(--na)}
th[aria-sort=ascending] button::after{content:" \\2191";color:var(--ink)}
th[aria-sort=descending] button::after{content:" \\2193";color:var(--ink)}
td.num,th.num{text-align:right}
.v{font-weight:600;white-space:nowrap}.v-NON_COMPLIANT{color:var(--bad)}
.v-COMPLIANT{color:var(--ok)}.v-NOT_APPLICABLE{color:var(--na)}
ul.l{margin:0;padding-left:16px}code{font-size:12px;word-break:break-all}
.diagram{overflow:auto;border:1px solid var(--line);border-radius:8px;background:#fff}
.diagram text{font:12px system-ui,sans-serif}
.legend{color:var(--na);font-size:12px}
.empty{color:var(--na);font-style:italic}
"""

_JS = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("findings-data").textContent);
  var rows = Array.prototype.slice.call(
    document.querySelectorAll("#findings-table tbody tr[data-verdict]"));
  var counts = {total: rows.length, byVerdict: {}, byAccount: {}};
  data.verdicts.forEach(function (v) { counts.byVerdict[v] = 0; });
  rows.forEach(function (tr) {
    var a = tr.getAttribute("data-account"), v = tr.getAttribute("data-verdict");
    counts.byVerdict[v] = (counts.byVerdict[v] || 0) + 1;
    if (!counts.byAccount[a]) {
      counts.byAccount[a] = {};
      data.verdicts.forEach(function (k) { counts.byAccount[a][k] = 0; });
    }
    counts.byAccount[a][v] += 1;
  });
  document.querySelectorAll("[data-count]").forEach(function (el) {
    var key = el.getAttribute("data-count");
    el.textContent = String(key === "total" ? counts.total : (counts.byVerdict[key] || 0));
  });
  document.getElementById("dom-counts").textContent = JSON.stringify(counts);

  function cellValue(tr, index, type) {
    var td = tr.children[index];
    var raw = td.getAttribute("data-sort");
    if (raw === null) { raw = td.textContent; }
    return type === "num" ? Number(raw) : raw.toLowerCase();
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, index) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var type = th.getAttribute("data-type") || "text";
        var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
        heads.forEach(function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
        var body = table.tBodies[0];
        var sorted = Array.prototype.slice.call(body.rows).map(function (tr, i) {
          return {tr: tr, key: cellValue(tr, index, type), i: i};
        });
        sorted.sort(function (a, b) {
          if (a.key < b.key) { return -dir; }
          if (a.key > b.key) { return dir; }
          return a.i - b.i;
        });
        var frag = document.createDocumentFragment();
        sorted.forEach(function (s) { frag.appendChild(s.tr); });
        body.appendChild(frag);
      });
    });
  });
  document.body.setAttribute("data-rendered", "true");
}());
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _script_json(value: object) -> str:
    """JSON that cannot end its ``<script>`` element early."""
    return (
        json.dumps(value, ensure_ascii=False, sort_keys=True)
        .replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
    )


def _list(items: Sequence[str]) -> str:
    if not items:
        return '<span class="empty">none</span>'
    return '<ul class="l">' + "".join(f"<li><code>{_e(i)}</code></li>" for i in items) + "</ul>"


def _th(label: str, kind: str = "text") -> str:
    cls = ' class="num"' if kind == "num" else ""
    return (
        f'<th data-type="{kind}"{cls} scope="col"><button type="button">{_e(label)}</button></th>'
    )


def _summary(findings: Sequence[Finding]) -> str:
    per_account = counts_by_account(findings)
    cards = [
        f'<div class="card"><div class="n" data-count="total">{len(findings)}</div>'
        "<div>Users evaluated</div></div>"
    ]
    css = {"COMPLIANT": "ok", "NON_COMPLIANT": "bad", "NOT_APPLICABLE": "na"}
    for verdict in COMPLIANCE_TYPES:
        n = sum(1 for f in findings if f.compliance_type == verdict)
        cards.append(
            f'<div class="card {css[verdict]}"><div class="n" data-count="{verdict}">{n}</div>'
            f"<div>{_e(_VERDICT_LABEL[verdict])}</div></div>"
        )
    head = (
        "<thead><tr>"
        + _th("Account")
        + "".join(_th(_VERDICT_LABEL[v], "num") for v in COMPLIANCE_TYPES)
        + _th("Users", "num")
        + "</tr></thead>"
    )
    rows = []
    for account, counts in per_account.items():
        cells = "".join(f'<td class="num">{counts[v]}</td>' for v in COMPLIANCE_TYPES)
        total = sum(counts.values())
        rows.append(
            f'<tr data-account="{_e(account)}"><td><code>{_e(account) or "(none)"}</code></td>'
            f'{cells}<td class="num">{total}</td></tr>'
        )
    body = "".join(rows) or (
        f'<tr><td colspan="{len(COMPLIANCE_TYPES) + 2}" class="empty">No findings.</td></tr>'
    )
    return (
        f'<div class="cards">{"".join(cards)}</div>'
        "<h2>Per account</h2>"
        f'<table class="sortable" id="accounts-table">{head}<tbody>{body}</tbody></table>'
    )


def _findings_table(findings: Sequence[Finding]) -> str:
    head = (
        "<thead><tr>"
        + _th("Account")
        + _th("Region")
        + _th("User")
        + _th("Path")
        + _th("Verdict")
        + _th("Attached managed policies", "num")
        + _th("Inline policies", "num")
        + _th("Groups", "num")
        + _th("Annotation")
        + _th("Evaluated (UTC)")
        + "</tr></thead>"
    )
    rows = []
    for f in findings:
        tags = ", ".join(f"{k}={v}" for k, v in sorted(f.tags.items()))
        tag_line = f'<div class="legend">tags: {_e(tags)}</div>' if tags else ""
        rows.append(
            f'<tr data-account="{_e(f.account_id)}" data-verdict="{_e(f.compliance_type)}">'
            f"<td><code>{_e(f.account_id)}</code></td>"
            f"<td>{_e(f.region)}</td>"
            f'<td data-sort="{_e(f.user_name)}"><strong>{_e(f.user_name)}</strong>'
            f'<div class="legend"><code>{_e(f.arn)}</code></div>{tag_line}</td>'
            f"<td><code>{_e(f.path)}</code></td>"
            f'<td class="v v-{_e(f.compliance_type)}">{_e(_VERDICT_LABEL[f.compliance_type])}</td>'
            f'<td data-sort="{len(f.attached_policy_arns)}">{_list(f.attached_policy_arns)}</td>'
            f'<td data-sort="{len(f.inline_policy_names)}">{_list(f.inline_policy_names)}</td>'
            f'<td data-sort="{len(f.groups)}">{_list(f.groups)}</td>'
            f"<td>{_e(f.annotation)}</td>"
            f"<td>{_e(iso_z(f.evaluated_at))}</td></tr>"
        )
    body = "".join(rows) or '<tr><td colspan="10" class="empty">No findings.</td></tr>'
    return f'<table class="sortable" id="findings-table">{head}<tbody>{body}</tbody></table>'


def _get(entry: Mapping[str, Any], camel: str, snake: str, default: Any) -> Any:
    if camel in entry:
        return entry[camel]
    return entry.get(snake, default)


def normalize_plan(plan: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The plan entries with CamelCase keys and list values."""
    out = []
    for entry in plan:
        group_policies = _get(entry, "GroupPolicies", "group_policies", {}) or {}
        out.append(
            {
                "UserName": str(_get(entry, "UserName", "user_name", "")),
                "GroupsToJoin": [str(g) for g in _get(entry, "GroupsToJoin", "groups_to_join", [])],
                "GroupPolicies": {str(g): [str(p) for p in ps] for g, ps in group_policies.items()},
                "PoliciesToDetach": [
                    str(p) for p in _get(entry, "PoliciesToDetach", "policies_to_detach", [])
                ],
            }
        )
    return out


def _short(text: str, limit: int = 44) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _policy_label(arn: str) -> str:
    return arn.rsplit("/", 1)[-1] if arn.startswith("arn:") else arn


_ROW = 30
_BOX_W = 300
_COLS = (16, 420, 824)


def _plan_svg(plan: list[dict[str, Any]]) -> str:
    users = [entry["UserName"] for entry in plan]
    groups: dict[str, int] = {}
    policies: dict[str, int] = {}
    edges_ug: list[tuple[int, int]] = []
    edges_gp: set[tuple[int, int]] = set()
    for u_index, entry in enumerate(plan):
        for group in entry["GroupsToJoin"]:
            edges_ug.append((u_index, groups.setdefault(group, len(groups))))
    for entry in plan:
        for group, arns in entry["GroupPolicies"].items():
            g_index = groups.setdefault(group, len(groups))
            for arn in arns:
                edges_gp.add((g_index, policies.setdefault(arn, len(policies))))
    top = 40
    height = top + max(len(users), len(groups), len(policies), 1) * _ROW + 16
    width = _COLS[2] + _BOX_W + 16

    def y(index: int) -> int:
        return top + index * _ROW

    parts = [
        f'<svg id="plan-diagram" role="img" aria-labelledby="plan-title" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">',
        '<title id="plan-title">Remediation plan: users, the groups they will join, '
        "and the policies each group carries</title>",
    ]
    for x, label in zip(
        _COLS, ("Users", "Groups they will join", "Policies each group carries"), strict=True
    ):
        parts.append(f'<text x="{x}" y="22" font-weight="600">{_e(label)}</text>')
    for u_index, g_index in edges_ug:
        x1, y1 = _COLS[0] + _BOX_W, y(u_index) + 11
        x2, y2 = _COLS[1], y(g_index) + 11
        parts.append(
            f'<path class="edge-ug" d="M{x1},{y1} C{x1 + 60},{y1} {x2 - 60},{y2} {x2},{y2}" '
            'fill="none" stroke="#0969da" stroke-width="1.5"/>'
        )
    for g_index, p_index in sorted(edges_gp):
        x1, y1 = _COLS[1] + _BOX_W, y(g_index) + 11
        x2, y2 = _COLS[2], y(p_index) + 11
        parts.append(
            f'<path class="edge-gp" d="M{x1},{y1} C{x1 + 60},{y1} {x2 - 60},{y2} {x2},{y2}" '
            'fill="none" stroke="#8250df" stroke-width="1.5"/>'
        )

    def policy_text(arn: str) -> str:
        return _short(_policy_label(arn))

    nodes: list[tuple[int, Iterable[str], str, str, Callable[[str], str]]] = [
        (0, users, "#ddf4ff", "node-user", _short),
        (1, groups, "#fbefff", "node-group", _short),
        (2, policies, "#fff8c5", "node-policy", policy_text),
    ]
    for column, names, fill, css, text_of in nodes:
        for index, name in enumerate(names):
            x = _COLS[column]
            parts.append(
                f'<g class="{css}"><title>{_e(name)}</title>'
                f'<rect x="{x}" y="{y(index)}" width="{_BOX_W}" height="22" rx="5" '
                f'fill="{fill}" stroke="#8c959f"/>'
                f'<text x="{x + 8}" y="{y(index) + 15}">{_e(text_of(name))}</text></g>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _plan_section(plan: list[dict[str, Any]]) -> str:
    if not plan:
        return '<h2>Remediation plan</h2><p class="empty">The plan has nothing to move.</p>'
    rows = "".join(
        f"<tr><td><strong>{_e(entry['UserName'])}</strong></td>"
        f"<td>{_list(entry['GroupsToJoin'])}</td>"
        f"<td>{_list(entry['PoliciesToDetach'])}</td></tr>"
        for entry in plan
    )
    return (
        "<h2>Remediation plan</h2>"
        '<p class="legend">Each user joins the groups in the middle column; each group '
        "carries the policies on the right. Once a user is in its groups, the policies "
        "listed below leave the user: its permissions stay the same, now through groups.</p>"
        f'<div class="diagram">{_plan_svg(plan)}</div>'
        '<table class="sortable" id="plan-table"><thead><tr>'
        + _th("User")
        + _th("Groups to join")
        + _th("Policies to detach from the user")
        + f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def report_data(findings: Sequence[Finding]) -> dict[str, Any]:
    """The counts the report shows, as embedded in ``#findings-data``."""
    by_verdict = {v: sum(1 for f in findings if f.compliance_type == v) for v in COMPLIANCE_TYPES}
    return {
        "verdicts": list(COMPLIANCE_TYPES),
        "total": len(findings),
        "byVerdict": by_verdict,
        "byAccount": counts_by_account(findings),
    }


def render_html(
    findings: Iterable[Finding],
    plan: Iterable[Mapping[str, Any]] | None = None,
    *,
    title: str = "IAM users receive permissions only through groups",
    generated_at: datetime | None = None,
) -> str:
    """The report as one self-contained HTML5 document."""
    findings = list(findings)
    generated = iso_z(generated_at or datetime.now(UTC))
    rule_names = sorted({f.rule_name for f in findings if f.rule_name})
    accounts = {f.account_id for f in findings}
    plan_html = "" if plan is None else _plan_section(normalize_plan(plan))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(title)}</h1>"
        f'<p class="sub">Rule {_e(", ".join(rule_names) or "(none)")} \u00b7 '
        f"{len(findings)} users in {len(accounts)} accounts \u00b7 generated {_e(generated)}</p>"
        f"{_summary(findings)}"
        f"{plan_html}"
        "<h2>Users</h2>"
        f"{_findings_table(findings)}"
        '<pre id="dom-counts" hidden></pre>'
        '<script type="application/json" id="findings-data">'
        f"{_script_json(report_data(findings))}</script>"
        f"<script>{_JS}</script>"
        "</body></html>\n"
    )
