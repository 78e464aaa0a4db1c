"""
How an auditor's text scanner reads a host's idle-session settings. Pure logic.

OpenSCAP with the SCAP Security Guide (SSG) content asks neither sshd nor bash:
its OVAL checks match lines of text. For idle sessions (SSG 0.1.65, as Debian's
``ssg-debderived`` packages it for Ubuntu 20.04 and 22.04; the OVAL objects
``object_sshd_idle_timeout``, ``object_sshd_set_keepalive_clientalivecountmax``,
``object_etc_profile_tmout`` and ``object_etc_profiled_tmout``):

- ``sshd_set_idle_timeout``: the *first* ``ClientAliveInterval N`` line of
  ``/etc/ssh/sshd_config`` itself, within the profile's bounds. Drop-ins are not
  read, and a ``Keyword=value`` line does not match. The definition also
  extends ``sshd_set_keepalive``: it fails whenever that rule fails.
- ``sshd_set_keepalive``: *every* ``ClientAliveCountMax N`` line of that file
  (Match blocks included) equals the benchmark's value; at least one exists.
- ``accounts_tmout``: either ``/etc/profile`` has a ``declare -xr TMOUT=N``
  line (its first) within bounds, or at least one ``/etc/profile.d/*.sh`` file
  has one and the first of every such file is within bounds. The three-line
  ``TMOUT=N`` / ``readonly`` / ``export`` form never matches.

This module reproduces that reading, so ``idlelock.audit`` can say where the
scanner's verdict and the effective value differ, with the line to show an
auditor.
"""

import re

from idlelock_policy import decimal

# The OVAL patterns, with the multi-line anchors of OpenSCAP's textfilecontent54.
# OpenSCAP matches them with PCRE, without Unicode properties (PCRE2_UCP): its \d,
# \s and \w are ASCII ([0-9], [ \t\n\v\f\r], [A-Za-z0-9_]), which is what
# re.ASCII makes Python's; without it "ClientAliveInterval ６００" or a U+00A0
# after "declare" would match here and not for the scanner.
_FLAGS = re.M | re.ASCII
_INTERVAL_RE = re.compile(r"^\s*(?i:ClientAliveInterval)\s+(\d+)\s*(?:#.*)?$", _FLAGS)
_COUNT_MAX_RE = re.compile(r"^\s*(?i:ClientAliveCountMax)\s+(\d+)\s*(?:#.*)?$", _FLAGS)
_TMOUT_RE = re.compile(r"^\s*declare\s+-xr\s+TMOUT=(\w+).*$", _FLAGS)

RULES = ("sshd_set_idle_timeout", "sshd_set_keepalive", "accounts_tmout")


def _lineno(text, match):
    """The line of the matched directive. The pattern's leading ``^\\s*`` may start at an
    earlier blank line, since ``\\s`` matches newlines: count from its first non-blank."""
    whole = match.group(0)
    blank = len(whole) - len(whole.lstrip(" \t\n\v\f\r"))  # re.ASCII's \s
    return text.count("\n", 0, match.start() + blank) + 1


def _within(value, limits, key):
    low, high = limits.get(f"{key}_min"), limits.get(f"{key}_max")
    return value is not None and (low is None or value >= low) and (high is None or value <= high)


def _bounds(limits, key):
    low, high = limits.get(f"{key}_min"), limits.get(f"{key}_max")
    if low is not None and low == high:
        return str(low)
    return f"{low if low is not None else 0}..{high if high is not None else '∞'}"


def read(scanner, main, texts):
    """
    Judge ``texts`` ({path: text}) as the scanner would, for each rule of ``scanner``.

    ``scanner`` is a profile's ``scanner`` mapping ({SSG rule: thresholds});
    ``main`` the path of the main sshd_config in ``texts``; the profile files are
    ``/etc/profile`` and ``/etc/profile.d/*.sh`` in ``texts``. Returns
    ``[{rule, passed, expected, reading, source}]`` in :data:`RULES` order.
    """
    results = {}
    sshd = texts.get(main) or ""
    keepalive = (scanner or {}).get("sshd_set_keepalive")
    if keepalive:
        found = list(_COUNT_MAX_RE.finditer(sshd))
        bad = [m for m in found if not _within(decimal(m.group(1)), keepalive,
                                               "client_alive_count_max")]
        shown = bad or found
        results["sshd_set_keepalive"] = {
            "rule": "sshd_set_keepalive", "passed": bool(found) and not bad,
            "expected": f"every ClientAliveCountMax line of {main} "
                        f"= {_bounds(keepalive, 'client_alive_count_max')}",
            "reading": ", ".join(f"ClientAliveCountMax {m.group(1)}" for m in shown)
            or f"no such line in {main}",
            "source": ", ".join(f"{main}:{_lineno(sshd, m)}" for m in shown) or main}
    idle = (scanner or {}).get("sshd_set_idle_timeout")
    if idle:
        found = _INTERVAL_RE.search(sshd)
        value = decimal(found.group(1)) if found else None
        passed = _within(value, idle, "client_alive_interval")
        reading = f"ClientAliveInterval {value}" if found else f"no such line in {main}"
        if passed and keepalive and not results["sshd_set_keepalive"]["passed"]:
            passed, reading = False, reading + " (it extends sshd_set_keepalive, which fails)"
        results["sshd_set_idle_timeout"] = {
            "rule": "sshd_set_idle_timeout", "passed": passed,
            "expected": f"ClientAliveInterval {_bounds(idle, 'client_alive_interval')} "
                        f"as the first such line of {main}",
            "reading": reading,
            "source": f"{main}:{_lineno(sshd, found)}" if found else main}
    tmout = (scanner or {}).get("accounts_tmout")
    if tmout:
        firsts = []
        for path, text in sorted(texts.items()):
            if path == "/etc/profile" or (path.startswith("/etc/profile.d/")
                                          and path.endswith(".sh")):
                found = _TMOUT_RE.search(text or "")
                if found:
                    firsts.append((path, _lineno(text, found), found.group(1)))
        profile = [f for f in firsts if f[0] == "/etc/profile"]
        profiled = [f for f in firsts if f[0] != "/etc/profile"]

        def fine(group):
            return bool(group) and all(_within(decimal(v), tmout, "tmout") for _, _, v in group)

        bad = [f for f in firsts if not _within(decimal(f[2]), tmout, "tmout")]
        shown = bad or firsts
        results["accounts_tmout"] = {
            "rule": "accounts_tmout", "passed": fine(profile) or fine(profiled),
            "expected": f"declare -xr TMOUT={_bounds(tmout, 'tmout')} in /etc/profile, "
                        "or in every /etc/profile.d/*.sh that sets it",
            "reading": ", ".join(f"declare -xr TMOUT={v}" for _, _, v in shown)
            or "no declare -xr TMOUT line",
            "source": ", ".join(f"{p}:{n}" for p, n, _ in shown)
            or "/etc/profile, /etc/profile.d/*.sh"}
    return [results[rule] for rule in RULES if rule in results]
