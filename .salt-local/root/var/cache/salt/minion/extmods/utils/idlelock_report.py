"""
Fleet compliance report: group per-minion audits and render them.

Pure logic: the runner gathers ``idlelock.audit`` returns and passes them in;
this module groups them by environment and renders a terminal table, JSON,
JUnit XML (one testcase per minion and check) or one self-contained HTML file.
"""

import collections
import html
import json
import xml.etree.ElementTree as ET

STATUSES = ("compliant", "non-compliant", "no answer")
COLOURS = {"compliant": "#2e7d32", "non-compliant": "#c62828", "no answer": "#9e9e9e"}
SEVERITY_ORDER = {"high": 0, "unknown": 1, "medium": 2, "low": 3}
TOP = 5


def summarize(profile, returns, expected, environments=None):
    """
    The fleet report as data.

    ``returns``: ``{minion: audit dict, or an error string}`` from the minions
    that answered; ``expected``: every minion the target should have reached;
    ``environments``: ``{minion: environment}`` for minions that did not answer
    (from the master's cache), else ``unknown``.
    """
    environments = environments or {}
    minions = {}
    for minion in sorted(set(expected) | set(returns)):
        ret = returns.get(minion)
        if minion not in returns:
            entry = {"status": "no answer", "environment": environments.get(minion) or "unknown",
                     "findings": [], "passed": []}
        elif not isinstance(ret, dict) or "compliant" not in ret:
            # idlelock missing or the audit failed: not proven, so not compliant.
            entry = {"status": "non-compliant", "environment": environments.get(minion) or "unknown",
                     "error": str(ret), "passed": [],
                     "findings": [{"check": "audit", "rule": "idlelock.audit", "expected": "an audit",
                                   "actual": str(ret), "source": minion, "severity": "unknown",
                                   "fix": "saltutil.sync_all, then idlelock.audit on the minion"}]}
        else:
            entry = {"status": "compliant" if ret["compliant"] else "non-compliant",
                     "environment": ret.get("environment") or "unknown",
                     "findings": ret["findings"], "passed": ret.get("passed", []),
                     "timeout": ret.get("timeout"), "openssh": ret.get("openssh")}
        minions[minion] = entry
    groups = {}
    for minion, entry in minions.items():
        env = groups.setdefault(entry["environment"], {status: [] for status in STATUSES})
        env[entry["status"]].append(minion)
    counted = collections.Counter(
        (finding["check"], finding["rule"], finding["severity"])
        for entry in minions.values() if entry["status"] == "non-compliant"
        for finding in entry["findings"] if finding["severity"] != "low")
    top = [{"check": check, "rule": rule, "severity": severity, "minions": count}
           for (check, rule, severity), count in sorted(
               counted.items(), key=lambda item: (-item[1], SEVERITY_ORDER[item[0][2]], item[0]))]
    return {
        "profile": profile,
        "compliant": all(entry["status"] == "compliant" for entry in minions.values()),
        "counts": {status: sum(1 for e in minions.values() if e["status"] == status)
                   for status in STATUSES},
        "environments": dict(sorted(groups.items())),
        "top_findings": top[:TOP],
        "minions": minions,
    }


def _rows(report):
    """Every finding of the fleet, worst first: ``(minion, environment, finding)``."""
    rows = [(minion, entry["environment"], finding)
            for minion, entry in report["minions"].items() for finding in entry["findings"]]
    return sorted(rows, key=lambda row: (SEVERITY_ORDER[row[2]["severity"]], row[0], row[2]["check"]))


def headline(report):
    """One line: the profile and how many minions are in each status."""
    counts = report["counts"]
    return (f"idlelock audit, profile {report['profile']}: {len(report['minions'])} minions, "
            f"{counts['compliant']} compliant, {counts['non-compliant']} non-compliant, "
            f"{counts['no answer']} no answer")


# ---------------------------------------------------------------- table
def _columns(rows):
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()
            for row in rows]


def render_table(report):
    """The terminal report: environments, then each non-compliant minion's findings."""
    lines = [headline(report), ""]
    env_rows = [("ENVIRONMENT", "COMPLIANT", "NON-COMPLIANT", "NO ANSWER")]
    env_rows += [(env, len(g["compliant"]), len(g["non-compliant"]), len(g["no answer"]))
                 for env, g in report["environments"].items()]
    lines += _columns(env_rows)
    for status in ("non-compliant", "no answer"):
        named = [(m, e) for m, e in report["minions"].items() if e["status"] == status]
        if named:
            lines += ["", status.upper() + ":"]
            lines += [f"  {minion} ({entry['environment']})" for minion, entry in named]
    rows = [("SEVERITY", "MINION", "CHECK", "RULE", "EXPECTED", "ACTUAL", "SOURCE")]
    rows += [(f["severity"], minion, f["check"], f["rule"], f["expected"], f["actual"], f["source"])
             for minion, _, f in _rows(report)]
    if len(rows) > 1:
        lines += ["", "FINDINGS:"] + ["  " + line for line in _columns(rows)]
    if report["top_findings"]:
        lines += ["", "TOP FINDINGS:"]
        lines += [f"  {t['minions']} minion(s)  {t['severity']}  {t['check']}  [{t['rule']}]"
                  for t in report["top_findings"]]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- json
def render_json(report):
    """The report data as JSON."""
    return json.dumps(report, indent=2, sort_keys=True, default=str) + "\n"


# ---------------------------------------------------------------- junit
def render_junit(report):
    """
    JUnit XML: a testsuite per environment, a testcase per minion and check.

    high/medium findings are ``failure``; ``unknown`` (not evaluated, audit
    failed, no answer) is ``error``; a ``low`` finding passes with its note in
    ``system-out``.
    """
    root = ET.Element("testsuites", name=f"idlelock audit ({report['profile']})")
    totals = collections.Counter()
    for env, groups in report["environments"].items():
        suite = ET.SubElement(root, "testsuite", name=env)
        counts = collections.Counter()
        for minion in sorted(m for status in STATUSES for m in groups[status]):
            entry = report["minions"][minion]
            if entry["status"] == "no answer":
                case = ET.SubElement(suite, "testcase", classname=minion, name="audit")
                ET.SubElement(case, "error", message="the minion did not answer", type="no answer")
                counts.update(tests=1, errors=1)
                continue
            for check in entry["passed"]:
                ET.SubElement(suite, "testcase", classname=minion, name=check)
                counts.update(tests=1)
            for finding in entry["findings"]:
                case = ET.SubElement(suite, "testcase", classname=minion, name=finding["check"])
                counts.update(tests=1)
                text = (f"rule: {finding['rule']}\nexpected: {finding['expected']}\n"
                        f"actual: {finding['actual']}\nsource: {finding['source']}\n"
                        f"fix: {finding['fix']}")
                message = f"[{finding['rule']}] expected {finding['expected']}, got {finding['actual']}"
                if finding["severity"] == "low":
                    ET.SubElement(case, "system-out").text = text
                    continue
                kind = "error" if finding["severity"] == "unknown" else "failure"
                ET.SubElement(case, kind, message=message, type=finding["severity"]).text = text
                counts.update(**{kind + "s": 1})
        for key in ("tests", "failures", "errors"):
            suite.set(key, str(counts[key]))
        totals.update(counts)
    for key in ("tests", "failures", "errors"):
        root.set(key, str(totals[key]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ---------------------------------------------------------------- html
_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:2em}
.ok{color:#2e7d32}.bad{color:#c62828}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3;cursor:pointer;user-select:none}th:after{content:" \\2195";color:#999}
td.sev-high,td.sev-unknown{color:#c62828;font-weight:bold}td.sev-medium{color:#e65100}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
"""
_SORT_JS = """
document.querySelectorAll("table.sortable th").forEach(function (th, col) {
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var dir = th.dataset.dir === "asc" ? -1 : 1;
    th.dataset.dir = dir === 1 ? "asc" : "desc";
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.key || a.cells[col].textContent;
      var y = b.cells[col].dataset.key || b.cells[col].textContent;
      return x.localeCompare(y, undefined, {numeric: true}) * dir;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
"""


def _svg_chart(report):
    """One horizontal stacked bar per environment: compliant / non-compliant / no answer."""
    envs = report["environments"]
    widest = max((sum(len(g[s]) for s in STATUSES) for g in envs.values()), default=1) or 1
    label_w, bar_w, row_h = 140, 480, 28
    height = row_h * len(envs) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 60}" '
             f'height="{height}" role="img" aria-label="minions per environment and status">']
    for row, (env, groups) in enumerate(envs.items()):
        y = 5 + row * row_h
        parts.append(f'<text x="0" y="{y + 17}" font-size="13">{html.escape(env)}</text>')
        x = label_w
        for status in STATUSES:
            count = len(groups[status])
            if not count:
                continue
            width = round(bar_w * count / widest, 2)
            parts.append(
                f'<rect class="bar" data-env="{html.escape(env)}" data-status="{status}" '
                f'data-count="{count}" x="{x}" y="{y}" width="{width}" height="20" '
                f'fill="{COLOURS[status]}"><title>{html.escape(env)}: {count} {status}</title></rect>')
            parts.append(f'<text x="{x + width / 2}" y="{y + 15}" font-size="12" fill="#fff" '
                         f'text-anchor="middle">{count}</text>')
            x += width
        total = sum(len(groups[s]) for s in STATUSES)
        parts.append(f'<text class="total" data-env="{html.escape(env)}" x="{x + 6}" '
                     f'y="{y + 15}" font-size="12">{total}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(report):
    """One self-contained HTML file: summary and SVG chart per environment, then a
    sortable table of every finding. No external assets."""
    esc = html.escape
    counts = report["counts"]
    verdict = ('<p class="ok">Every minion is compliant.</p>' if report["compliant"] else
               f'<p class="bad">{counts["non-compliant"]} non-compliant, '
               f'{counts["no answer"]} without an answer.</p>')
    summary = ["<table><thead><tr><th>environment</th><th>compliant</th><th>non-compliant</th>"
               "<th>no answer</th></tr></thead><tbody>"]
    for env, groups in report["environments"].items():
        cells = "".join(f"<td>{len(groups[s])}: {esc(', '.join(groups[s]))}</td>" for s in STATUSES)
        summary.append(f"<tr><td>{esc(env)}</td>{cells}</tr>")
    summary.append("</tbody></table>")
    top = "".join(f"<li>{t['minions']} minion(s): <b>{esc(t['check'])}</b> "
                  f"[{esc(t['rule'])}] ({t['severity']})</li>" for t in report["top_findings"])
    rows = []
    for minion, env, f in _rows(report):
        rows.append(
            f'<tr><td class="sev-{f["severity"]}" data-key="{SEVERITY_ORDER[f["severity"]]}">'
            f'{esc(f["severity"])}</td><td>{esc(minion)}</td><td>{esc(env)}</td>'
            f'<td>{esc(f["check"])}</td><td>{esc(f["rule"])}</td><td>{esc(str(f["expected"]))}</td>'
            f'<td>{esc(str(f["actual"]))}</td><td>{esc(f["source"])}</td><td>{esc(f["fix"])}</td></tr>')
    legend = "".join(f'<span style="background:{COLOURS[s]}"></span>{s}' for s in STATUSES)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>idlelock audit: {esc(report['profile'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{esc(headline(report))}</h1>",
        verdict,
        "<h2>Environments</h2>",
        f'<p class="legend">{legend}</p>',
        _svg_chart(report),
        "".join(summary),
        f"<h2>Top findings</h2><ol>{top}</ol>" if top else "",
        "<h2>Findings</h2>",
        '<table class="sortable" id="findings"><thead><tr><th>severity</th><th>minion</th>'
        "<th>environment</th><th>check</th><th>rule</th><th>expected</th><th>actual</th>"
        "<th>source</th><th>fix</th></tr></thead><tbody>",
        "\n".join(rows),
        "</tbody></table>",
        f"<script>{_SORT_JS}</script>",
        "</body></html>",
        "",
    ])


RENDERERS = {"table": render_table, "json": render_json, "junit": render_junit,
             "html": render_html}
