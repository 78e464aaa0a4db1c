"""
Judge the effective idle-timeout state of a host against a compliance profile.

Pure logic: no I/O. The caller probes the host (``sshd -T`` globally and once
per Match block that sets a managed keyword, the login shells, logind) and
passes the facts (``idlelock_match`` builds the connection that makes a Match
block apply); this module turns the resolved policy into a profile and returns
the findings.

Every threshold and rule ID is data (``idlelock_defaults`` ``profiles``,
or a site's own profile in pillar); nothing here names a benchmark.
"""

import math

import idlelock_logind
import idlelock_policy
import idlelock_scanner
import idlelock_shell

POLICY_PROFILE = idlelock_policy.POLICY_PROFILE
# Severities that make a host non-compliant. ``unknown``: the audit could not
# prove the state (an unevaluable Match block, a failed probe), so it must not
# claim compliance. ``low`` findings inform only.
BLOCKING = ("high", "medium", "unknown")

# The idlelock key a check cites when the profile names no rule for it.
DEFAULT_RULES = {
    "client_alive_interval": "idlelock:sshd:client_alive_interval",
    "client_alive_count_max": "idlelock:sshd:client_alive_count_max",
    "tmout": "idlelock:shell:tmout",
    "tmout_readonly": "idlelock:shell:readonly",
    "tmout_exported": "idlelock:shell:tmout",
    "tmout_conflict": "idlelock:shell:takeover",
    "stop_idle_session_sec": "idlelock:logind:stop_idle_session_sec",
    "idle_logout": "idlelock:timeout",
    "reload": "idlelock:sshd:manage_service",
}
# What decides whether sshd closes an idle session; a Match context that
# leaves them as they are globally needs no idle-logout check of its own.
IDLE_KEYWORDS = ("channeltimeout", "clientaliveinterval", "clientalivecountmax")
SSHD_CHECKS = {"client_alive_interval": "ClientAliveInterval",
               "client_alive_count_max": "ClientAliveCountMax"}



# ---------------------------------------------------------------- profiles
def profile_thresholds(name, policy, logind_supported=False):
    """
    The thresholds (and ``rules``) of profile ``name`` for this resolved policy.

    ``policy`` is the policy's own values as a profile: what ``state.apply
    idlelock`` would enforce, with stricter values accepted (a shorter TMOUT
    passes); its logind value counts only where this host's logind honours it
    (``logind_supported``). Raises ``ValueError`` for an unknown profile.
    """
    if name == POLICY_PROFILE:
        return _policy_thresholds(policy, logind_supported)
    profiles = policy.get("profiles", {})
    if name not in profiles:
        raise ValueError(f"unknown profile {name!r}; known: "
                         + ", ".join(sorted(profiles) + [POLICY_PROFILE]))
    return profiles[name]


def _exact_or_range(thresholds, key, value):
    """``0`` (or ``none``) means "off" and must stay off; a positive value is a ceiling."""
    if value in (0, idlelock_policy.NONE):
        thresholds[f"{key}_min"] = thresholds[f"{key}_max"] = 0
    elif isinstance(value, int):
        thresholds[f"{key}_min"], thresholds[f"{key}_max"] = 1, value


def _policy_thresholds(policy, logind_supported):
    thresholds = {"timeout_max": policy["timeout"]}
    sshd, shell, logind = policy["sshd"], policy["shell"], policy["logind"]
    if sshd["enabled"]:
        _exact_or_range(thresholds, "client_alive_interval", sshd["client_alive_interval"])
        count = sshd["client_alive_count_max"]
        count = 0 if count == idlelock_policy.NONE else count
        if isinstance(count, int):  # 0 disables ClientAlive since 8.2: never "stricter"
            thresholds["client_alive_count_max_min"] = thresholds["client_alive_count_max_max"] = count
    if shell["enabled"]:
        _exact_or_range(thresholds, "tmout", shell["tmout"])
        thresholds["readonly"] = shell["readonly"]
        thresholds["exported"] = True
    if logind["enabled"] and logind_supported:
        thresholds["stop_idle_session_sec_max"] = logind["stop_idle_session_sec"]
    return thresholds


# ---------------------------------------------------------------- judging
def _int(value):
    """A number as ``sshd -T`` prints it (ASCII digits), a number as it is, else ``None``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return idlelock_policy.decimal(value)


# How each consumer reads the value the audit judges: TMOUT as bash does (atoi),
# the rest as sshd prints them or already in seconds.
_READERS = {"tmout": idlelock_shell.tmout_seconds}


def _bounds_text(low, high):
    if low is not None and high is not None:
        return f"= {low}" if low == high else f"{low}..{high}"
    return f">= {low}" if low is not None else f"<= {high}"


def _out_of_bounds(value, thresholds, key):
    """The expected text when ``value`` breaks ``key``'s bounds in ``thresholds``, else None."""
    low, high = thresholds.get(f"{key}_min"), thresholds.get(f"{key}_max")
    if low is None and high is None:
        return None
    number = _READERS.get(key, _int)(value)
    if number is None or (low is not None and number < low) or (
            high is not None and number > high):
        return _bounds_text(low, high)
    return None


def _rule(check, thresholds, fails):
    """The rule IDs for a failed ``check``: those whose own limits ``fails`` too."""
    rules = thresholds.get("rules", {}).get(check)
    if not rules:
        return DEFAULT_RULES[check]
    cited = []
    for rule in rules:
        rule_id, own = (rule["id"], rule) if isinstance(rule, dict) else (rule, {})
        limits = dict(thresholds, **{k: v for k, v in own.items() if k != "id"})
        if fails(limits):
            cited.append(rule_id)
    # A rule whose own limit is looser passes; when every rule does, the
    # profile's stricter limit still fails and all its rules are named.
    return " / ".join(cited or [r["id"] if isinstance(r, dict) else r for r in rules])


class _Audit:
    """Collects findings and passed checks for one profile."""

    def __init__(self, thresholds):
        self.thresholds = thresholds
        self.findings, self.passed = [], []

    def bounds(self, check, name, value, source, fix, key=None):
        """A min/max check of ``value`` against the profile."""
        key = key or check
        if f"{key}_min" not in self.thresholds and f"{key}_max" not in self.thresholds:
            return
        expected = _out_of_bounds(value, self.thresholds, key)
        if expected is None:
            self.passed.append(name)
            return
        rule = _rule(check, self.thresholds,
                     lambda limits: _out_of_bounds(value, limits, key) is not None)
        self.add(name, rule, expected, value, source, "medium", fix(expected))

    def flag(self, check, name, wanted, actual, source, fix):
        """A boolean the profile requires (``readonly``, ``exported``)."""
        if not self.thresholds.get(wanted):
            return
        if actual:
            self.passed.append(name)
        else:
            rule = _rule(check, self.thresholds, lambda limits: limits.get(wanted))
            self.add(name, rule, True, False, source, "medium", fix)

    def add(self, name, rule, expected, actual, source, severity, fix):
        self.findings.append({"check": name, "rule": rule, "expected": expected,
                              "actual": actual, "source": source, "severity": severity,
                              "fix": fix})


def channel_idle_seconds(value):
    """Shortest ChannelTimeout (``sshd -T`` text) that covers every interactive session."""
    seconds = []
    for entry in (value or "").split():
        ctype, _, number = entry.partition("=")
        if ctype in idlelock_policy.IDLE_CHANNEL_TYPES and _int(number):
            seconds.append(_int(number))
    return min(seconds) if seconds else None


def _version_text(version):
    return "unknown" if not version else ".".join(map(str, version[:2]))


def _idle_mechanisms(effective, version, shell, logind, limit):
    """``(mechanisms that close an idle session within limit, reasons the rest do not)``."""
    found, missing = [], []
    if effective is not None:
        channel = channel_idle_seconds(effective.get("channeltimeout"))
        if channel is not None and channel <= limit:
            found.append(f"ChannelTimeout session:*={channel}")
        elif channel is not None:
            missing.append(f"ChannelTimeout closes idle sessions after {channel} s, "
                           f"more than {limit}")
        elif idlelock_policy.version_at_least(version, idlelock_policy.V_CHANNEL_TIMEOUT):
            missing.append("no ChannelTimeout session:* is set")
        else:
            missing.append(f"OpenSSH {_version_text(version)} has no ChannelTimeout "
                           "(needs >= 9.2)")
        interval = _int(effective.get("clientaliveinterval")) or 0
        count = _int(effective.get("clientalivecountmax"))
        zero_disables = idlelock_policy.version_at_least(
            version, idlelock_policy.V_COUNTMAX_ZERO_DISABLES)
        if count == 0 and version is not None and not zero_disables and 0 < interval <= limit:
            found.append(f"ClientAliveCountMax 0 on OpenSSH {_version_text(version)} "
                         f"drops every connection after {interval} s")
        elif count == 0 and zero_disables:
            missing.append(f"ClientAliveCountMax 0 disables ClientAlive disconnection on "
                           f"OpenSSH {_version_text(version)} (since 8.2)")
        else:
            missing.append("ClientAlive only drops dead peers: a live idle client answers "
                           "every probe")
    if shell is not None:
        tmout = idlelock_shell.tmout_seconds(shell.get("value"))
        if tmout and tmout <= limit:
            found.append(f"TMOUT {tmout} in {shell['shell']} login shells")
        elif tmout:
            missing.append(f"TMOUT {tmout} is more than {limit}")
        else:
            missing.append(f"no TMOUT in {shell['shell']} login shells")
    if logind is not None:
        stop = _logind_seconds(logind.get("stop_idle_session_sec"))
        if not logind.get("supported"):
            missing.append(f"logind: {logind.get('reason') or 'not supported here'}")
        elif stop and stop <= limit:
            found.append(f"logind StopIdleSessionSec={stop}")
        else:
            missing.append("logind StopIdleSessionSec is "
                           + (f"{stop} s, more than {limit}" if stop else "unset"))
    return found, missing


def _logind_seconds(value):
    """StopIdleSessionSec in seconds as systemd reads it; ``None``: unset, never or refused."""
    if value is None:
        return None
    seconds = idlelock_logind.stop_idle_seconds(value)
    return None if seconds == math.inf else seconds


def _idle_fix(version, limit):
    if idlelock_policy.version_at_least(version, idlelock_policy.V_CHANNEL_TIMEOUT):
        return (f"state.apply idlelock with timeout <= {limit} (sshd:channel_timeout: auto "
                f"writes ChannelTimeout session:*={limit}; shell TMOUT covers login shells)")
    return (f"state.apply idlelock with shell:tmout <= {limit}: OpenSSH "
            f"{_version_text(version)} has no ChannelTimeout, so the shell must log out")


def _judge_sshd(audit, context, effective, sources, keywords, fix):
    """ClientAlive checks for one context (global, or one Match block's keywords)."""
    for check, keyword in SSHD_CHECKS.items():
        if keyword not in keywords:
            continue
        audit.bounds(check, f"sshd {keyword}{context}", effective.get(keyword.lower()),
                     sources.get(keyword, "default"), lambda expected, k=keyword: fix(k, expected))


# The check a pending reload fails; the recorded verdict names it the same way.
RELOAD_CHECK = "sshd reload"


def _judge_reload(audit, reload):
    """
    New connections get what the running sshd loaded, not what ``sshd -T``
    reads from the files: a pending reload makes every sshd value unproven.
    """
    if reload is None:
        return  # not the running system (an image or chroot): no listener to check
    if reload["pending"] is False:
        audit.passed.append(RELOAD_CHECK)
        return
    fix = ("reload sshd (systemctl reload ssh on Debian and Ubuntu, sshd elsewhere), or "
           "state.apply idlelock with sshd:manage_service: true")
    if reload["pending"]:
        audit.add(RELOAD_CHECK, _rule("reload", audit.thresholds, lambda limits: True),
                  "the running sshd has loaded the current files", reload["summary"],
                  ", ".join(entry["path"] for entry in reload["changed"]), "high", fix)
    else:
        audit.add(RELOAD_CHECK, _rule("reload", audit.thresholds, lambda limits: True),
                  "the running sshd has loaded the current files", reload["summary"],
                  reload["pidfile"] or "PidFile", "low",
                  "set PidFile to a path, so that idlelock can tell when sshd loaded its files")


def _judge_shell(audit, shell):
    """
    TMOUT checks over every login that must get it: the judged shell as root,
    then ``others`` (as a regular user, the non-login bash); each check reports
    the first login that fails it, so a site file that spares regular users
    is found even when root's login is right.
    """
    name = shell["shell"]
    sources = shell.get("sources", {})
    logins = [shell] + list(shell.get("others", ()))
    thresholds = audit.thresholds

    def first(fails):
        return next((login for login in logins if fails(login)), shell)

    def where(login, source):
        return source if login is shell else login["who"]

    value_source = sources.get("value") or f"{name} login shell"
    takeover = " (shell:takeover: true takes over foreign lines)"
    chosen = first(lambda login: _out_of_bounds(login.get("value"), thresholds, "tmout"))
    audit.bounds("tmout", "shell TMOUT", chosen.get("value"), where(chosen, value_source),
                 lambda expected: f"state.apply idlelock with shell:tmout {expected}"
                 + (f"; {value_source} sets it now" if sources.get("value") else "") + takeover)
    if shell.get("value") is None:
        return  # unset: readonly and exported follow from the TMOUT finding
    chosen = first(lambda login: login.get("value") is not None and not login.get("readonly"))
    audit.flag("tmout_readonly", "shell TMOUT readonly", "readonly", chosen.get("readonly"),
               where(chosen, sources.get("readonly") or value_source),
               "state.apply idlelock with shell:readonly: true" + takeover)
    chosen = first(lambda login: login.get("value") is not None and not login.get("exported"))
    audit.flag("tmout_exported", "shell TMOUT exported", "exported", chosen.get("exported"),
               where(chosen, value_source),
               "state.apply idlelock: its profile file exports TMOUT" + takeover)


def _judge_conflicts(audit, shell):
    conflicts = shell.get("conflicts", [])
    if conflicts:
        audit.add("shell TMOUT conflicts",
                  _rule("tmout_conflict", audit.thresholds, lambda limits: True),
                  "one readonly TMOUT", "; ".join(c["problem"] for c in conflicts),
                  ", ".join(c["source"] for c in conflicts), "medium",
                  "keep one readonly TMOUT: remove the others, or set shell:takeover: true "
                  "and state.apply idlelock")
    else:
        audit.passed.append("shell TMOUT conflicts")


# What an sshd rule's text reading stands for in ``sshd -T``.
_SCANNER_EFFECTIVE = {"sshd_set_idle_timeout": "clientaliveinterval",
                      "sshd_set_keepalive": "clientalivecountmax"}


def _judge_scanner_view(audit, facts, scanner):
    """
    ``{SSG rule: pass|fail}`` as the auditor's text scanner would judge the host,
    with a ``low`` finding per failing rule: evidence to answer the scanner's
    report, not a verdict (the verdict is about what is in force).
    """
    seen = facts.get("scanner_view")
    if not scanner or not seen:
        return None
    effective = (facts.get("sshd") or {}).get("effective", {})
    verdicts = {}
    for result in idlelock_scanner.read(scanner, seen["main"], seen["texts"]):
        verdicts[result["rule"]] = "pass" if result["passed"] else "fail"
        name = f"scanner view: {result['rule']}"
        if result["passed"]:
            audit.passed.append(name)
            continue
        keyword = _SCANNER_EFFECTIVE.get(result["rule"])
        actual = "the scanner reads " + result["reading"]
        if keyword and keyword in effective:
            actual += f"; in force (sshd -T): {keyword} {effective[keyword]}"
        audit.add(name, f"SSG {result['rule']}", result["expected"], actual, result["source"],
                  "low", "state.apply idlelock with sshd:layout: main and shell:form: declare "
                  "(the defaults of the cis and stig profiles): the scanner reads text, not "
                  "what sshd and bash do")
    return verdicts


def judge(facts, profile, thresholds, timeout):
    """
    Judge probed ``facts`` against ``thresholds`` (from :func:`profile_thresholds`).

    ``facts``: ``openssh`` (version tuple or None); ``sshd`` (``{effective,
    sources}`` or None when sshd is not audited); ``sshd_error``; ``matches``
    (one entry per Match block that sets a managed keyword: ``match``,
    ``source``, ``sets`` ``{Keyword: {value, source}}``, ``exemption`` (true
    for idlelock's own ``exempt_groups`` block, which is not judged), and
    either ``effective`` (its ``sshd -T -C``) or ``reason``); ``reload``
    (``idlelock_sshd.reload_status``, or None off the running system); ``shell`` (the login
    shell's ``value``, ``readonly``, ``exported``, ``sources``, ``conflicts``;
    None when no login shell was probed) and ``shell_error``; ``logind``;
    ``scanner_view`` (``{main, texts}``: the files a text scanner reads, judged
    when the profile has ``scanner`` thresholds). ``timeout`` is the policy timeout, used when the profile sets no
    ``timeout_max``.

    Returns ``{compliant, profile, findings, passed}``, and ``scanner``
    (``{SSG rule: pass|fail}``, the text scanner's predicted verdict) when the
    profile has ``scanner`` thresholds.
    """
    audit = _Audit(thresholds)
    version = facts.get("openssh")
    limit = thresholds.get("timeout_max", timeout)
    shell, logind, sshd = facts.get("shell"), facts.get("logind"), facts.get("sshd")

    def sshd_fix(keyword, expected):
        source = sshd["sources"].get(keyword, "default") if sshd else "default"
        beaten = "" if source == "default" else f"; it comments out {source}, which wins now"
        return f"state.apply idlelock with {keyword} {expected}{beaten}"

    if facts.get("sshd_error"):
        audit.add("sshd", "idlelock:sshd", "sshd -T succeeds",
                  facts["sshd_error"], "sshd", "unknown",
                  "fix sshd (or set sshd:enabled: false where there is none) and audit again")
    if sshd is not None:
        _judge_sshd(audit, "", sshd["effective"], sshd["sources"], SSHD_CHECKS.values(),
                    sshd_fix)
    _judge_reload(audit, facts.get("reload"))
    if facts.get("shell_error"):
        audit.add("shell TMOUT", "idlelock:shell", "login shells can be probed",
                  facts["shell_error"], "login shells", "unknown",
                  "make the login shells runnable as root and audit again")
    elif shell is not None:
        _judge_shell(audit, shell)
        _judge_conflicts(audit, shell)
    if logind is not None and "stop_idle_session_sec_max" in thresholds:
        audit.bounds("stop_idle_session_sec", "logind StopIdleSessionSec",
                     _logind_seconds(logind.get("stop_idle_session_sec")),
                     logind.get("source", "default"),
                     lambda expected: f"state.apply idlelock with logind:enabled: true and "
                     f"logind:stop_idle_session_sec {expected}",
                     key="stop_idle_session_sec")

    scanner = _judge_scanner_view(audit, facts, thresholds.get("scanner"))

    contexts = []
    if sshd is not None or shell is not None or logind is not None:
        contexts.append(("", sshd["effective"] if sshd else None, "global configuration"))
    for block in facts.get("matches", []):
        label = f" ({block['match']})"
        where = f"{block['match']} at {block['source']}"
        if block.get("exemption"):
            # idlelock's own block for exempt_groups: no idle logout is the policy there.
            audit.passed.append(f"idle logout{label}: exempt (exempt_groups)")
            continue
        if block.get("effective") is None:
            audit.add(f"sshd{label}", DEFAULT_RULES["idle_logout"],
                      "a connection this block applies to",
                      f"could not evaluate: {block['reason']}", block["source"], "unknown",
                      f"check {where} by hand (sshd -T -C user=...,host=...,addr=...)")
            continue
        effective = dict(block["effective"])
        channel = block["sets"].get("ChannelTimeout")
        if channel and not idlelock_policy.version_at_least(
                version, idlelock_policy.V_CHANNEL_TIMEOUT_IN_MATCH):
            # sshd < 10.5 parses ChannelTimeout in Match but never applies it.
            effective["channeltimeout"] = (sshd or {}).get("effective", {}).get("channeltimeout")
            audit.add(f"sshd ChannelTimeout{label}", DEFAULT_RULES["idle_logout"],
                      "ChannelTimeout in the global section", f"ChannelTimeout {channel['value']} "
                      f"ignored: OpenSSH {_version_text(version)} ignores ChannelTimeout in "
                      "Match (fixed in 10.5)", channel["source"], "low",
                      f"set ChannelTimeout globally; remove it from {where}")
        sources = {keyword: f"{entry['source']} ({where})"
                   for keyword, entry in block["sets"].items()}

        def match_fix(keyword, expected, where=where, sets=block["sets"]):
            return (f"edit {where}: remove {keyword} at {sets[keyword]['source']} or "
                    f"set it {expected} (idlelock never edits Match blocks)")

        _judge_sshd(audit, label, effective, sources, block["sets"], match_fix)
        if sshd is None or any(effective.get(k) != sshd["effective"].get(k)
                               for k in IDLE_KEYWORDS):
            contexts.append((label, effective, where))

    for label, effective, where in contexts:
        found, missing = _idle_mechanisms(effective, version, shell, logind, limit)
        name = f"idle logout{label}"
        if found:
            audit.passed.append(name)
            continue
        audit.add(name, _rule("idle_logout", thresholds, lambda limits: True),
                  f"an idle interactive session is closed within {limit} s",
                  "nothing closes it: " + "; ".join(missing), where, "high",
                  _idle_fix(version, limit))

    verdict = {
        "compliant": not any(f["severity"] in BLOCKING for f in audit.findings),
        "profile": profile,
        "findings": audit.findings,
        "passed": audit.passed,
        "mechanisms": mechanisms(sshd, shell, logind),
        "thresholds": {key: value for key, value in thresholds.items() if key != "rules"},
    }
    if scanner is not None:
        verdict["scanner"] = scanner
    return verdict


def mechanisms(sshd, shell, logind):
    """
    The effective idle timeout of each mechanism, in seconds (``None``: unset or
    not probed), for the fleet report's per-host details: ``ChannelTimeout``
    (its shortest interactive ``session`` entry), ``ClientAliveInterval`` and
    ``ClientAliveCountMax`` (the global section), ``TMOUT`` (the judged login
    shell), ``StopIdleSessionSec`` (logind, where it applies).
    """
    effective = (sshd or {}).get("effective") or {}
    return {
        "ChannelTimeout": channel_idle_seconds(effective.get("channeltimeout")),
        "ClientAliveInterval": _int(effective.get("clientaliveinterval")),
        "ClientAliveCountMax": _int(effective.get("clientalivecountmax")),
        "TMOUT": idlelock_shell.tmout_seconds((shell or {}).get("value")),
        "StopIdleSessionSec": (_logind_seconds((logind or {}).get("stop_idle_session_sec"))
                               if (logind or {}).get("supported") else None),
    }
