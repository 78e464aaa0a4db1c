"""
How an auditor's text scanner reads a host's idle-session settings. Pure logic.

OpenSCAP with the SCAP Security Guide (SSG) content asks neither sshd nor bash:
its OVAL checks match lines of text. For idle sessions (SSG 0.1.65, as Debian's
``ssg-debderived`` packages it for Ubuntu 20.04 and 22.04; the OVAL objects
``object_sshd_idle_timeout``, ``object_sshd_set_keepalive_clientalivecountmax``,
``object_etc_profile_tmout`` and ``object_etc_profiled_tmout``):

- ``sshd_set_idle_timeout``: the *first* ``ClientAliveInterval N`` line of
  ``/etc/ssh/sshd_config`` itself, within the profile's bounds. Drop-ins are not
  read, and a ``Keyword=value`` line does not match.
- ``sshd_set_keepalive``: *every* ``ClientAliveCountMax N`` line of that file
  (Match blocks included) equals the benchmark's value; at least one exists.
- ``accounts_tmout``: a ``declare -xr TMOUT=N`` line in ``/etc/profile`` or a
  ``/etc/profile.d/*.sh`` file (the first per file), every such N within bounds.
  The three-line ``TMOUT=N`` / ``readonly`` / ``export`` form never matches.

This module reproduces that reading, so ``idlelock.audit`` can say where the
scanner's verdict and the effective value differ, with the line to show an
auditor.
"""

import re

# The OVAL patterns, with the multi-line anchors of OpenSCAP's textfilecontent54.
_INTERVAL_RE = re.compile(r"^\s*(?i:ClientAliveInterval)\s+(\d+)\s*(?:#.*)?$", re.M)
_COUNT_MAX_RE = re.compile(r"^\s*(?i:ClientAliveCountMax)\s+(\d+)\s*(?:#.*)?$", re.M)
_TMOUT_RE = re.compile(r"^\s*declare\s+-xr\s+TMOUT=(\w+).*$", re.M)

RULES = ("sshd_set_idle_timeout", "sshd_set_keepalive", "accounts_tmout")


def _lineno(text, offset):
    return text.count("\n", 0, offset) + 1


def _within(value, limits, key):
    low, high = limits.get(f"{key}_min"), limits.get(f"{key}_max")
    return value is not None and (low is None or value >= low) and (high is None or value <= high)


def _bounds(limits, key):
    low, high = limits.get(f"{key}_min"), limits.get(f"{key}_max")
    if low is not None and low == high:
        return str(low)
    return f"{low if low is not None else 0}..{high if high is not None else '∞'}"


def _int(text):
    return int(text) if text.isdigit() else None


def read(scanner, main, texts):
    """
    Judge ``texts`` ({path: text}) as the scanner would, for each rule of ``scanner``.

    ``scanner`` is a profile's ``scanner`` mapping ({SSG rule: thresholds});
    ``main`` the path of the main sshd_config in ``texts``; the profile files are
    ``/etc/profile`` and ``/etc/profile.d/*.sh`` in ``texts``. Returns
    ``[{rule, passed, expected, reading, source}]`` in :data:`RULES` order.
    """
    results = []
    sshd = texts.get(main) or ""
    for rule in RULES:
        limits = (scanner or {}).get(rule)
        if not limits:
            continue
        if rule == "sshd_set_idle_timeout":
            found = _INTERVAL_RE.search(sshd)
            value = _int(found.group(1)) if found else None
            results.append({
                "rule": rule, "passed": _within(value, limits, "client_alive_interval"),
                "expected": f"ClientAliveInterval {_bounds(limits, 'client_alive_interval')} "
                            f"as the first such line of {main}",
                "reading": f"ClientAliveInterval {value}" if found else f"no such line in {main}",
                "source": f"{main}:{_lineno(sshd, found.start())}" if found else main})
        elif rule == "sshd_set_keepalive":
            found = list(_COUNT_MAX_RE.finditer(sshd))
            bad = [m for m in found if not _within(_int(m.group(1)), limits,
                                                   "client_alive_count_max")]
            shown = bad or found
            results.append({
                "rule": rule, "passed": bool(found) and not bad,
                "expected": f"every ClientAliveCountMax line of {main} "
                            f"= {_bounds(limits, 'client_alive_count_max')}",
                "reading": ", ".join(f"ClientAliveCountMax {m.group(1)}" for m in shown)
                or f"no such line in {main}",
                "source": ", ".join(f"{main}:{_lineno(sshd, m.start())}" for m in shown) or main})
        else:
            firsts = []
            for path, text in sorted(texts.items()):
                if path == "/etc/profile" or (path.startswith("/etc/profile.d/")
                                              and path.endswith(".sh")):
                    found = _TMOUT_RE.search(text or "")
                    if found:
                        firsts.append((path, _lineno(text, found.start()), found.group(1)))
            bad = [f for f in firsts if not _within(_int(f[2]), limits, "tmout")]
            shown = bad or firsts
            results.append({
                "rule": rule, "passed": bool(firsts) and not bad,
                "expected": f"declare -xr TMOUT={_bounds(limits, 'tmout')} in /etc/profile "
                            "or /etc/profile.d/*.sh",
                "reading": ", ".join(f"declare -xr TMOUT={v}" for _, _, v in shown)
                or "no declare -xr TMOUT line",
                "source": ", ".join(f"{p}:{n}" for p, n, _ in shown)
                or "/etc/profile, /etc/profile.d/*.sh"})
    return results
