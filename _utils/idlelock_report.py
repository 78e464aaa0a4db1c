"""
Fleet compliance report: group per-host audits and render them.

Pure logic: the runner gathers ``idlelock.audit`` returns (from minions, or
from salt-ssh hosts) and the saved summaries of earlier runs, and passes them
in; this module judges the fleet, groups the findings by rule, most severe
first, and renders a terminal table, CSV, JSON, JUnit XML (one testcase per
host and check) or one self-contained HTML page (no external assets) that
stays usable at thousands of hosts: the verdict and the failing and silent
hosts first, compliant hosts as counts, a filter box, the trend of earlier runs.
"""

import collections
import csv
import html
import io
import json
import textwrap
import xml.etree.ElementTree as ET

STATUSES = ("compliant", "non-compliant", "no answer")
COLOURS = {"compliant": "#2e7d32", "non-compliant": "#c62828", "no answer": "#757575"}
# Most severe first. ``unknown``: the audit could not prove the state (not
# compliant); ``low`` only informs.
SEVERITIES = ("high", "unknown", "medium", "low")
SEVERITY_ORDER = {severity: rank for rank, severity in enumerate(SEVERITIES)}
TOP = 5
# How many earlier runs the trend shows, and how many the master keeps.
TREND_RUNS = 30
HISTORY_KEEP = 500
# The per-mechanism timeouts shown per host (keys of the audit's ``mechanisms``).
MECHANISMS = ("ChannelTimeout", "ClientAliveInterval", "ClientAliveCountMax", "TMOUT",
              "StopIdleSessionSec")
# The rule of a host whose audit failed (idlelock missing, an exception).
AUDIT_RULE = "idlelock.audit"
CSV_COLUMNS = ("host", "environment", "status", "transport", "severity", "rule", "check",
               "expected", "actual", "source", "fix", "remediation", "openssh", "timeout",
               "last_seen")


# ---------------------------------------------------------------- data
def _host_entry(name, ret, environment, transport, last_seen):
    """One host's line of the report, from its audit return (or its absence)."""
    entry = {"environment": environment or "unknown", "transport": transport,
             "last_seen": last_seen, "findings": [], "passed": [], "timeout": None,
             "openssh": None, "mechanisms": {}, "thresholds": {}}
    if ret is _SILENT:
        entry["status"] = "no answer"
    elif not isinstance(ret, dict) or "compliant" not in ret:
        # idlelock missing or the audit failed: not proven, so not compliant.
        entry.update(status="non-compliant", error=str(ret), findings=[{
            "check": "audit", "rule": AUDIT_RULE, "expected": "an audit",
            "actual": str(ret), "source": name, "severity": "unknown",
            "fix": "sync idlelock to the host (saltutil.sync_all; salt-ssh ships it), "
                   "then run idlelock.audit there"}])
    else:
        entry.update(
            status="compliant" if ret["compliant"] else "non-compliant",
            environment=ret.get("environment") or entry["environment"],
            findings=list(ret.get("findings", [])), passed=list(ret.get("passed", [])),
            timeout=ret.get("timeout"), openssh=ret.get("openssh"),
            mechanisms=dict(ret.get("mechanisms") or {}),
            thresholds=dict(ret.get("thresholds") or {}))
    entry["findings"].sort(key=lambda f: (SEVERITY_ORDER.get(f["severity"], 1), f["check"]))
    return entry


_SILENT = object()
NO_ANSWER = object()


def ssh_answer(ret):
    """
    What one host returned to salt-ssh: the function's return (an audit, or
    the error text when it failed on the host), or :data:`NO_ANSWER` when ssh
    itself failed (unreachable, refused, bad key: salt-ssh gives retcode 255
    and ssh's stderr, no return).
    """
    if isinstance(ret, dict) and "return" in ret:
        return ret["return"]
    if isinstance(ret, dict) and ret.get("retcode") == 255:
        return NO_ANSWER
    if isinstance(ret, dict) and ("stderr" in ret or "_error" in ret):
        return str(ret.get("_error") or ret.get("stderr"))
    return ret


def _commands(names, hosts, functions):
    """``salt -L`` (``salt-ssh -L``) lines running each of ``functions`` on ``names``."""
    by_transport = collections.defaultdict(list)
    for name in names:
        by_transport[hosts[name]["transport"]].append(name)
    commands = []
    for transport, targets in sorted(by_transport.items()):
        command = "salt-ssh" if transport == "salt-ssh" else "salt"
        commands += [f"{command} -L {','.join(sorted(targets))} {function}"
                     for function in functions[transport]]
    return commands


def _remediation(group, profile, hosts):
    """
    A runnable remediation for one rule: the command (and the pillar change
    when the profile asks for more than the hosts' policy) or, for what
    idlelock does not edit (Match blocks, a broken sshd), the command that
    shows where, with the finding's own instruction. ``functions`` holds what
    to run per transport, so that a single host's command can be made too.
    """
    fix = group["fix"]
    applies = fix.startswith("state.apply idlelock")
    if applies:
        functions = {"minion": ["state.apply idlelock"], "salt-ssh": ["state.apply idlelock"]}
    elif group["rule"] == AUDIT_RULE:  # salt-ssh ships the modules with every call
        functions = {"minion": ["saltutil.sync_all", "idlelock.audit"],
                     "salt-ssh": ["idlelock.audit"]}
    else:  # what idlelock never edits: show each value with the file:line that sets it
        functions = {"minion": ["idlelock.get"], "salt-ssh": ["idlelock.get"]}
    pillar = {}
    if applies and profile not in ("policy", ""):
        # Judged against a named profile: make the hosts' own policy that
        # profile (state.apply then refuses anything weaker), within its timeout.
        pillar["profile"] = profile
        limits = [hosts[n]["thresholds"].get("timeout_max") for n in group["hosts"]]
        limit = min((v for v in limits if isinstance(v, int)), default=None)
        if limit is not None and any(isinstance(hosts[n]["timeout"], int)
                                     and hosts[n]["timeout"] > limit for n in group["hosts"]):
            pillar["timeout"] = limit
    runnable = applies or group["rule"] == AUDIT_RULE
    return {"commands": _commands(group["hosts"], hosts, functions), "functions": functions,
            "pillar": {"idlelock": pillar} if pillar else {}, "then": "" if runnable else fix}


def _rules(hosts, profile):
    """Findings grouped by (rule, check, severity), most severe first, then most hosts."""
    groups = {}
    for name, entry in hosts.items():
        for finding in entry["findings"]:
            key = (finding["rule"], finding["check"], finding["severity"])
            group = groups.setdefault(key, {
                "rule": finding["rule"], "check": finding["check"],
                "severity": finding["severity"], "hosts": [], "environments": set(),
                "expected": collections.Counter(), "actual": collections.Counter(),
                "fixes": collections.Counter()})
            group["hosts"].append(name)
            group["environments"].add(entry["environment"])
            group["expected"][value_text(finding["expected"])] += 1
            group["actual"][value_text(finding["actual"])] += 1
            group["fixes"][finding["fix"]] += 1
    rules = []
    for group in groups.values():
        group["fix"] = group.pop("fixes").most_common(1)[0][0]
        group["environments"] = sorted(group["environments"])
        group["expected"] = [value for value, _ in group["expected"].most_common()]
        group["actual"] = [{"value": v, "hosts": n} for v, n in group["actual"].most_common()]
        group["remediation"] = _remediation(group, profile, hosts)
        rules.append(group)
    rules.sort(key=lambda g: (SEVERITY_ORDER.get(g["severity"], 1), -len(g["hosts"]),
                              g["rule"], g["check"]))
    return rules


def value_text(value):
    """An expected or actual value as text; ``None`` (not set at all) as ``unset``."""
    return "unset" if value is None else str(value)


def history_entry(report):
    """What the master keeps of one report run for the trend: counts only."""
    return {"generated": report["generated"], "profile": report["profile"],
            "target": report["target"], "counts": dict(report["counts"]),
            "environments": {env: {status: len(names) for status, names in groups.items()}
                             for env, groups in report["environments"].items()}}


def trend(history, report, runs=TREND_RUNS):
    """
    The last ``runs`` runs with the same profile and target, this one last:
    ``[{generated, counts, total, compliance}]`` (``compliance`` in percent).
    """
    same = [entry for entry in history
            if entry.get("profile") == report["profile"] and entry.get("target") == report["target"]
            and isinstance(entry.get("counts"), dict)]
    points = []
    for entry in same[-(runs - 1):] + [history_entry(report)]:
        counts = {status: int(entry["counts"].get(status, 0)) for status in STATUSES}
        total = sum(counts.values())
        points.append({"generated": entry["generated"], "counts": counts, "total": total,
                       "compliance": round(100 * counts["compliant"] / total, 1) if total else 0.0})
    return points


def summarize(profile, returns, expected, environments=None, *, generated="", target="*",
              transports=None, last_seen=None, history=()):
    """
    The fleet report as data.

    ``returns``: ``{host: audit dict, or an error string}`` from the hosts that
    answered; ``expected``: every host the target should have reached;
    ``environments``: ``{host: environment}`` for hosts that did not answer
    (from the master's cache), else ``unknown``; ``generated``: when (text);
    ``target``: what was targeted; ``transports``: ``{host: "salt-ssh"}`` for
    hosts reached without a minion (default ``minion``); ``last_seen``:
    ``{host: when it last answered}`` from earlier runs; ``history``: the
    saved summaries of earlier runs (:func:`history_entry`), oldest first.

    Returns ``{profile, generated, target, compliant, counts, environments,
    rules, top_findings, hosts, trend}``.
    """
    environments, transports, last_seen = environments or {}, transports or {}, last_seen or {}
    hosts = {}
    for name in sorted(set(expected) | set(returns)):
        answered = name in returns
        hosts[name] = _host_entry(
            name, returns[name] if answered else _SILENT, environments.get(name),
            transports.get(name, "minion"), generated if answered else last_seen.get(name))
    groups = {}
    for name, entry in hosts.items():
        env = groups.setdefault(entry["environment"], {status: [] for status in STATUSES})
        env[entry["status"]].append(name)
    rules = _rules(hosts, profile)
    report = {
        "profile": profile,
        "generated": generated,
        "target": target,
        "compliant": all(entry["status"] == "compliant" for entry in hosts.values()),
        "counts": {status: sum(1 for e in hosts.values() if e["status"] == status)
                   for status in STATUSES},
        "environments": dict(sorted(groups.items())),
        "thresholds": _thresholds_by_env(hosts),
        "rules": rules,
        "top_findings": [{"rule": g["rule"], "check": g["check"], "severity": g["severity"],
                          "hosts": len(g["hosts"])}
                         for g in rules if g["severity"] != "low"][:TOP],
        "hosts": hosts,
    }
    report["trend"] = trend(list(history), report)
    return report


def _thresholds_by_env(hosts):
    """``{environment: [threshold text, ...]}``: what the hosts there were judged against."""
    found = collections.defaultdict(collections.Counter)
    for entry in hosts.values():
        if entry["thresholds"]:
            found[entry["environment"]][thresholds_text(entry["thresholds"])] += 1
    return {env: [text for text, _ in texts.most_common()] for env, texts in sorted(found.items())}


def thresholds_text(thresholds):
    """``timeout <= 600 s, ClientAliveInterval 1..600, ...`` from profile thresholds."""
    parts = []
    if "timeout_max" in thresholds:
        parts.append(f"idle logout <= {thresholds['timeout_max']} s")
    for key, label in (("client_alive_interval", "ClientAliveInterval"),
                       ("client_alive_count_max", "ClientAliveCountMax"), ("tmout", "TMOUT"),
                       ("stop_idle_session_sec", "StopIdleSessionSec")):
        low, high = thresholds.get(f"{key}_min"), thresholds.get(f"{key}_max")
        if low is not None and high is not None:
            parts.append(f"{label} {'= ' + str(low) if low == high else f'{low}..{high}'}")
        elif low is not None or high is not None:
            parts.append(f"{label} {'>= ' + str(low) if low is not None else '<= ' + str(high)}")
    flags = [flag for flag in ("readonly", "exported") if thresholds.get(flag)]
    if flags:
        parts.append("TMOUT " + " ".join(flags))
    return ", ".join(parts) or "none"


def headline(report):
    """One line: the profile and how many hosts are in each status."""
    counts = report["counts"]
    return (f"idlelock audit, profile {report['profile']}: {len(report['hosts'])} hosts, "
            f"{counts['compliant']} compliant, {counts['non-compliant']} non-compliant, "
            f"{counts['no answer']} no answer")


def verdict(report):
    """``COMPLIANT`` or ``NOT COMPLIANT: ...`` in a few words."""
    counts, total = report["counts"], len(report["hosts"])
    if report["compliant"]:
        return f"COMPLIANT: all {total} hosts"
    parts = []
    if counts["non-compliant"]:
        parts.append(f"{counts['non-compliant']} of {total} hosts fail")
    if counts["no answer"]:
        parts.append(f"{counts['no answer']} did not answer")
    return "NOT COMPLIANT: " + ", ".join(parts)


def remediation_lines(group, host=None, hosts=None):
    """
    The remediation of one rule as shell-ready lines: for all its hosts, or
    for ``host`` alone (``hosts``: the report's host entries).
    """
    remedy = group["remediation"]
    lines = []
    if remedy["pillar"]:
        lines.append("# first, in their pillar: " + json.dumps(remedy["pillar"], sort_keys=True))
    lines += (remedy["commands"] if host is None else
              _commands([host], hosts, remedy["functions"]))
    if remedy["then"]:
        lines.append(f"# then: {remedy['then']}")
    return lines


def _actual_text(group, width=140):
    """The most common actual value (cut at ``width``), and how many others there are."""
    first = group["actual"][0]
    text = first["value"] if len(first["value"]) <= width else first["value"][:width - 3] + "..."
    if len(group["actual"]) > 1:
        text += f" ({first['hosts']} hosts; {len(group['actual']) - 1} other value(s))"
    return text


def _findings(report):
    """Every finding of the fleet, worst first: ``(host, entry, finding)``."""
    rows = [(host, entry, finding)
            for host, entry in report["hosts"].items() for finding in entry["findings"]]
    return sorted(rows, key=lambda r: (SEVERITY_ORDER.get(r[2]["severity"], 1), r[0],
                                       r[2]["check"]))


# ---------------------------------------------------------------- table
def _columns(rows):
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()
            for row in rows]


def _names(names, indent="    "):
    return textwrap.wrap(", ".join(names), 100, initial_indent=indent, subsequent_indent=indent,
                         break_on_hyphens=False)


def render_table(report):
    """
    The terminal report, most important first: the verdict, the findings by
    rule with their remediation, the environments, the failing and silent hosts
    by name, then every finding per host.
    """
    lines = [headline(report), verdict(report),
             f"generated {report['generated'] or 'now'}, profile {report['profile']}, "
             f"target {report['target']}", ""]
    if report["rules"]:
        lines.append("FINDINGS BY RULE (most severe first):")
        for group in report["rules"]:
            lines.append(f"  {group['severity']:<8} {len(group['hosts']):>5} host(s)  "
                         f"{group['rule']}  {group['check']}")
            lines.append(f"           expected {' | '.join(group['expected'])}; "
                         f"actual {_actual_text(group)}")
            lines += [f"           {line}" for line in remediation_lines(group)]
        lines.append("")
    env_rows = [("ENVIRONMENT", "HOSTS", "COMPLIANT", "NON-COMPLIANT", "NO ANSWER", "THRESHOLDS")]
    env_rows += [(env, sum(len(g[s]) for s in STATUSES), len(g["compliant"]),
                  len(g["non-compliant"]), len(g["no answer"]),
                  " | ".join(report["thresholds"].get(env, [])) or "-")
                 for env, g in report["environments"].items()]
    lines += _columns(env_rows)
    for status in ("non-compliant", "no answer"):
        if report["counts"][status]:
            lines += ["", status.upper() + ":"]
            for env, groups in report["environments"].items():
                if groups[status]:
                    named = groups[status]
                    if status == "no answer":
                        named = [f"{n} (last seen {report['hosts'][n]['last_seen'] or 'never'})"
                                 for n in named]
                    lines.append(f"  {env} ({len(groups[status])}):")
                    lines += _names(named)
    if len(report["trend"]) > 1:
        lines += ["", "TREND (compliant %): " + " -> ".join(
            f"{p['compliance']:g}" for p in report["trend"][-10:])]
    rows = [("SEVERITY", "HOST", "CHECK", "RULE", "EXPECTED", "ACTUAL", "SOURCE")]
    rows += [(f["severity"], host, f["check"], f["rule"], value_text(f["expected"]),
              value_text(f["actual"]), f["source"]) for host, _, f in _findings(report)]
    if len(rows) > 1:
        lines += ["", "FINDINGS PER HOST:"] + ["  " + line for line in _columns(rows)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- csv
def render_csv(report):
    """
    CSV for spreadsheets: one row per host and finding; a compliant or silent
    host has one row with the finding columns empty.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    groups = {(g["rule"], g["check"], g["severity"]): g for g in report["rules"]}
    for host, entry in report["hosts"].items():
        common = {"host": host, "environment": entry["environment"], "status": entry["status"],
                  "transport": entry["transport"], "openssh": entry["openssh"] or "",
                  "timeout": "" if entry["timeout"] is None else entry["timeout"],
                  "last_seen": entry["last_seen"] or ""}
        for finding in entry["findings"] or [{}]:
            row = dict(common, **{key: finding.get(key, "") for key in
                                  ("severity", "rule", "check", "expected", "actual", "source",
                                   "fix")})
            if finding:
                row.update(expected=value_text(finding["expected"]),
                           actual=value_text(finding["actual"]))
            group = groups.get((finding.get("rule"), finding.get("check"), finding.get("severity")))
            # This host's own command: the group's would repeat every host on every row.
            row["remediation"] = " ; ".join(
                remediation_lines(group, host, report["hosts"])) if group else ""
            writer.writerow([_csv_cell(row[column]) for column in CSV_COLUMNS])
    return out.getvalue()


def _csv_cell(value):
    text = "" if value is None else str(value)
    # A cell that starts like a formula is run by spreadsheets (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


# ---------------------------------------------------------------- json
def render_json(report):
    """The report data as JSON."""
    return json.dumps(report, indent=2, sort_keys=True, default=str) + "\n"


# ---------------------------------------------------------------- junit
def render_junit(report):
    """
    JUnit XML: a testsuite per environment, a testcase per host and check.

    high/medium findings are ``failure``; ``unknown`` (not evaluated, audit
    failed, no answer) is ``error``; a ``low`` finding passes with its note in
    ``system-out``.
    """
    root = ET.Element("testsuites", name=f"idlelock audit ({report['profile']})")
    totals = collections.Counter()
    for env, groups in report["environments"].items():
        suite = ET.SubElement(root, "testsuite", name=env)
        counts = collections.Counter()
        for host in sorted(h for status in STATUSES for h in groups[status]):
            entry = report["hosts"][host]
            if entry["status"] == "no answer":
                case = ET.SubElement(suite, "testcase", classname=host, name="audit")
                ET.SubElement(case, "error", message="the host did not answer", type="no answer")
                counts.update(tests=1, errors=1)
                continue
            for check in entry["passed"]:
                ET.SubElement(suite, "testcase", classname=host, name=check)
                counts.update(tests=1)
            for finding in entry["findings"]:
                case = ET.SubElement(suite, "testcase", classname=host, name=finding["check"])
                counts.update(tests=1)
                expected, actual = value_text(finding["expected"]), value_text(finding["actual"])
                text = (f"rule: {finding['rule']}\nexpected: {expected}\nactual: {actual}\n"
                        f"source: {finding['source']}\nfix: {finding['fix']}")
                message = f"[{finding['rule']}] expected {expected}, got {actual}"
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
*{box-sizing:border-box}
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
main{padding:0 1.5em 2em}
header{display:flex;flex-wrap:wrap;gap:1em 2em;align-items:center;padding:.8em 1.5em;background:#fff;
 border-bottom:1px solid #ddd}
h1{font-size:1.25em;margin:0}h2{font-size:1.05em;margin:1.4em 0 .4em}
.verdict{font-size:1.3em;font-weight:700;padding:.25em .6em;border-radius:4px;color:#fff}
.verdict.ok{background:#2e7d32}.verdict.bad{background:#c62828}
.meta{color:#555;font-size:.9em}
#filterbar{position:sticky;top:0;z-index:2;background:#fafafa;padding:.4em 0}
#filter{width:32em;max-width:100%;padding:.35em .5em;font:inherit}
#shown{color:#555;margin-left:1em}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f0f0f0;white-space:nowrap}td.num,td.sev{white-space:nowrap}
#hosts td,#rules td{overflow-wrap:anywhere}
#rules{table-layout:fixed}#rules col.sev{width:6.5em}#rules col.rule{width:11em}#rules col.check{width:11em}
#rules col.n{width:4.5em}#rules col.exp{width:10em}#rules col.act{width:22%}
th.sort{cursor:pointer;user-select:none}th.sort:after{content:" \\2195";color:#999}
th.sort[data-dir=asc]:after{content:" \\2191";color:#222}th.sort[data-dir=desc]:after{content:" \\2193";color:#222}
td.num{text-align:right}
.sev{font-weight:700;text-transform:uppercase;font-size:.8em}
.sev-high,.sev-unknown{color:#c62828}.sev-medium{color:#e65100}.sev-low{color:#555}
.names{max-height:4.3em;overflow:auto}
.names a{margin-right:.5em;white-space:nowrap}
details summary{cursor:pointer;color:#2e7d32;white-space:nowrap}
code,pre{font:12px/1.35 ui-monospace,monospace}
pre.fix{margin:0;white-space:pre-wrap;word-break:break-all;max-height:6em;overflow:auto;background:#f6f6f6;padding:2px 4px}
td.host a{color:inherit}
.st-non-compliant{color:#c62828}.st-no-answer{color:#757575}.st-compliant{color:#2e7d32}
ul.f{margin:0;padding-left:1.1em}
svg text{font:11px system-ui,sans-serif}
"""
_JS = """
(function () {
  var box = document.getElementById("filter"), shown = document.getElementById("shown");
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-host]"));
  var keys = {host: "host", env: "env", rule: "rule", severity: "sev", sev: "sev"};
  function apply() {
    var terms = box.value.toLowerCase().split(/\\s+/).filter(Boolean).map(function (t) {
      var i = t.indexOf(":"), k = i > 0 ? keys[t.slice(0, i)] : null;
      return k ? [k, t.slice(i + 1)] : [null, t];
    });
    var hosts = 0;
    rows.forEach(function (row) {
      var ok = terms.every(function (term) {
        var fields = term[0] ? [term[0]] : ["host", "env", "rule", "sev"];
        return fields.some(function (f) { return (row.dataset[f] || "").indexOf(term[1]) >= 0; });
      });
      row.hidden = !ok;
      if (ok && row.parentNode.parentNode.id === "hosts") { hosts++; }
    });
    shown.textContent = terms.length ? hosts + " host(s) match" : "";
  }
  box.addEventListener("input", apply);
  document.querySelectorAll("th.sort").forEach(function (th) {
    th.addEventListener("click", function () {
      var table = th.closest("table"), body = table.tBodies[0], col = th.cellIndex;
      var dir = th.dataset.dir === "asc" ? -1 : 1;
      table.querySelectorAll("th.sort").forEach(function (o) { delete o.dataset.dir; });
      th.dataset.dir = dir === 1 ? "asc" : "desc";
      var sorted = Array.prototype.slice.call(body.rows).sort(function (a, b) {
        var x = a.cells[col].dataset.key || a.cells[col].textContent;
        var y = b.cells[col].dataset.key || b.cells[col].textContent;
        return x.localeCompare(y, undefined, {numeric: true}) * dir;
      });
      var frag = document.createDocumentFragment();
      sorted.forEach(function (row) { frag.appendChild(row); });
      body.appendChild(frag);
    });
  });
})();
"""


def _attrs(**fields):
    """``data-*`` attributes the filter reads, lower case."""
    return "".join(f' data-{key}="{html.escape(" ".join(values).lower())}"'
                   for key, values in fields.items())


def _trend_svg(points):
    """Compliance in percent over the last runs: a line with a dot per run."""
    width, height, pad = 300, 70, 6
    n = len(points)
    step = (width - 2 * pad) / max(n - 1, 1)
    coords = [(pad + i * step, pad + (height - 2 * pad) * (1 - p["compliance"] / 100))
              for i, p in enumerate(points)]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" id="trend" width="{width}" '
             f'height="{height + 14}" role="img" aria-label="compliance over the last {n} runs">',
             f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff" stroke="#ddd"/>']
    if n > 1:
        parts.append('<polyline fill="none" stroke="#1565c0" stroke-width="2" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in coords) + '"/>')
    for (x, y), p in zip(coords, points):
        parts.append(f'<circle class="run" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#1565c0" '
                     f'data-compliance="{p["compliance"]}"><title>{html.escape(p["generated"])}: '
                     f'{p["compliance"]:g}% compliant ({p["counts"]["compliant"]} of '
                     f'{p["total"]})</title></circle>')
    first, last = points[0], points[-1]
    parts.append(f'<text x="0" y="{height + 12}">{first["compliance"]:g}%</text>'
                 f'<text x="{width}" y="{height + 12}" text-anchor="end">'
                 f'{last["compliance"]:g}% compliant, last {n} run(s)</text></svg>')
    return "".join(parts)


def _host_link(name):
    return f'<a href="#h-{html.escape(name)}">{html.escape(name)}</a>'


def _shared_thresholds(report):
    """The thresholds text when every environment was judged against the same ones."""
    texts = {tuple(texts) for texts in report["thresholds"].values()}
    return " | ".join(texts.pop()) if len(texts) == 1 else None


def _env_table(report):
    esc = html.escape
    per_env = _shared_thresholds(report) is None and report["thresholds"]
    rows = ['<table id="environments"><thead><tr><th>environment</th><th>hosts</th>'
            "<th>non-compliant</th><th>no answer</th><th>compliant</th>"
            + ("<th>judged against</th>" if per_env else "") + "</tr></thead><tbody>"]
    for env, groups in report["environments"].items():
        total = sum(len(groups[s]) for s in STATUSES)
        cells = []
        for status in ("non-compliant", "no answer"):
            names = groups[status]
            cells.append(f'<td class="st-{status.replace(" ", "-")}"><b>{len(names)}</b>'
                         + (f'<div class="names">{" ".join(map(_host_link, names))}</div>'
                            if names else "") + "</td>")
        compliant = groups["compliant"]
        cells.append(f'<td class="num">{len(compliant)}</td>' if not compliant else
                     f'<td><details><summary>{len(compliant)} compliant</summary>'
                     f'<div class="names">{" ".join(map(_host_link, compliant))}</div>'
                     "</details></td>")
        if per_env:
            limits = "<br>".join(map(esc, report["thresholds"].get(env, []))) or "-"
            cells.append(f"<td>{limits}</td>")
        rows.append(f'<tr data-env="{esc(env)}"><th scope="row">{esc(env)}</th>'
                    f'<td class="num">{total}</td>{"".join(cells)}</tr>')
    rows.append("</tbody></table>")
    return "".join(rows)


def _rules_table(report):
    esc = html.escape
    rows = ['<table id="rules"><colgroup><col class="sev"><col class="rule"><col class="check">'
            '<col class="n"><col class="exp"><col class="act"><col></colgroup>'
            "<thead><tr><th>severity</th><th>rule</th><th>check</th><th>hosts</th><th>expected</th>"
            "<th>actual</th><th>remediation</th></tr></thead><tbody>"]
    for group in report["rules"]:
        sev = group["severity"]
        rows.append(
            f'<tr{_attrs(host=group["hosts"], env=group["environments"], rule=[group["rule"], group["check"]], sev=[sev])}>'
            f'<td class="sev sev-{esc(sev)}">{esc(sev)}</td><td><code>{esc(group["rule"])}</code></td>'
            f'<td>{esc(group["check"])}</td><td class="num">{len(group["hosts"])}</td>'
            f'<td>{esc(" | ".join(group["expected"]))}</td><td>{esc(_actual_text(group))}</td>'
            f'<td><pre class="fix">{esc(chr(10).join(remediation_lines(group)))}</pre></td></tr>')
    rows.append("</tbody></table>")
    return "".join(rows)


def _seconds(value):
    return "-" if value is None else str(value)


def _hosts_table(report):
    esc = html.escape
    order = {"non-compliant": 0, "no answer": 1, "compliant": 2}
    head = "".join(f'<th class="sort">{esc(label)}</th>' for label in (
        "host", "environment", "status", "findings", "OpenSSH", "ChannelTimeout s",
        "ClientAlive s x count", "TMOUT s", "logind s", "last seen"))
    rows = [f'<table id="hosts"><thead><tr>{head}</tr></thead><tbody>']

    def key(item):
        name, entry = item
        worst = min((SEVERITY_ORDER.get(f["severity"], 1) for f in entry["findings"]), default=9)
        return (order[entry["status"]], worst, name)

    for name, entry in sorted(report["hosts"].items(), key=key):
        mech = entry["mechanisms"]
        findings = "".join(
            f'<li><span class="sev sev-{esc(f["severity"])}">{esc(f["severity"])}</span> '
            f'<code>{esc(f["rule"])}</code> {esc(f["check"])}: {esc(value_text(f["actual"]))} '
            f'<small>({esc(f["source"])})</small></li>' for f in entry["findings"])
        alive = "-"
        if mech.get("ClientAliveInterval") is not None:
            alive = f"{mech['ClientAliveInterval']} x {_seconds(mech.get('ClientAliveCountMax'))}"
        status = entry["status"]
        ssh = " (salt-ssh)" if entry["transport"] == "salt-ssh" else ""
        worst = min((SEVERITY_ORDER.get(f["severity"], 1) for f in entry["findings"]), default=9)
        rows.append(
            f'<tr id="h-{esc(name)}"{_attrs(host=[name], env=[entry["environment"]], rule=[f["rule"] + " " + f["check"] for f in entry["findings"]], sev=sorted({f["severity"] for f in entry["findings"]}))}>'
            f'<td class="host">{esc(name)}{ssh}</td><td>{esc(entry["environment"])}</td>'
            f'<td class="st-{status.replace(" ", "-")}" data-key="{order[status]}{worst}">{esc(status)}</td>'
            f'<td data-key="{len(entry["findings"]):05d}">'
            + (f'<ul class="f">{findings}</ul>' if findings else "") + "</td>"
            f'<td>{esc(entry["openssh"] or "-")}</td>'
            f'<td class="num">{_seconds(mech.get("ChannelTimeout"))}</td><td class="num">{alive}</td>'
            f'<td class="num">{_seconds(mech.get("TMOUT"))}</td>'
            f'<td class="num">{_seconds(mech.get("StopIdleSessionSec"))}</td>'
            f'<td>{esc(entry["last_seen"] or "never")}</td></tr>')
    rows.append("</tbody></table>")
    return "".join(rows)


def render_html(report):
    """
    One self-contained HTML page (no external assets), most important first:
    the verdict with when, profile and target; the trend of earlier runs; per
    environment the failing and silent hosts by name and the compliant ones as
    an expandable count; the findings by rule, most severe first, each with a
    runnable remediation; a filter box (host, environment, rule, severity, or
    ``env:prod``-style terms); every host with its OpenSSH version, effective
    timeout per mechanism and when it last answered (sortable columns).
    """
    esc = html.escape
    ok = report["compliant"]
    counts = report["counts"]
    legend = ", ".join(f"{counts[s]} {s}" for s in STATUSES)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>idlelock audit: {esc(verdict(report))}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<header><div>",
        f'<h1>idlelock audit <span id="verdict" class="verdict {"ok" if ok else "bad"}">'
        f"{esc(verdict(report))}</span></h1>",
        f'<p class="meta" id="meta">{len(report["hosts"])} hosts: {esc(legend)}.<br>'
        f'Generated {esc(report["generated"] or "-")}; profile <b>{esc(report["profile"])}</b>; '
        f'target <code>{esc(report["target"])}</code>.'
        + (f'<br>Thresholds: {esc(_shared_thresholds(report))}.' if _shared_thresholds(report)
           else "") + "</p>",
        "</div>",
        _trend_svg(report["trend"]),
        "</header><main>",
        "<h2>Environments: hosts that need attention</h2>",
        _env_table(report),
        '<div id="filterbar"><input id="filter" type="search" autocomplete="off" '
        'placeholder="Filter: host, environment, rule or severity (env:prod sev:high)" '
        'aria-label="filter hosts and findings"><span id="shown"></span></div>',
        "<h2>Findings by rule, most severe first</h2>",
        _rules_table(report) if report["rules"] else "<p>No findings.</p>",
        "<h2>Hosts</h2>",
        _hosts_table(report),
        "</main>",
        f"<script>{_JS}</script>",
        "</body></html>",
        "",
    ])


RENDERERS = {"table": render_table, "csv": render_csv, "json": render_json,
             "junit": render_junit, "html": render_html}
