"""
systemd-logind's idle-session stop: render idlelock's drop-in, read logind's
configuration the way systemd does, and say whether this logind honours it.

Pure logic: no I/O. The caller reads the files and the ``systemd`` grain.
``StopIdleSessionSec=`` exists from systemd 252 (logind.conf(5)); systemd reads
logind.conf, then the drop-ins sorted by file name, and the last assignment
wins (systemd.syntax(7)).
"""

import re

from idlelock_shell import HEADER  # one header for every file idlelock writes

V_STOP_IDLE_SESSION = 252


def render_logind(seconds):
    """The logind drop-in: ``[Login]`` ``StopIdleSessionSec=`` (systemd >= 252)."""
    return "\n".join([
        HEADER,
        "# Stops sessions whose tty was idle this long (tmux and screen included).",
        "[Login]",
        f"StopIdleSessionSec={int(seconds)}",
        "",
    ])


def logind_supported(version, init):
    """``(True, None)`` when logind honours StopIdleSessionSec, else ``(False, reason)``."""
    if init != "systemd":
        return False, f"systemd is not the init system here (init: {init or 'unknown'})"
    if version is None or version < V_STOP_IDLE_SESSION:
        return False, (f"systemd {version or 'unknown'} has no StopIdleSessionSec "
                       f"(needs >= {V_STOP_IDLE_SESSION})")
    return True, None


_LOGIND_RE = re.compile(r"^\s*StopIdleSessionSec\s*=\s*(\S*)\s*$")


def logind_effective(texts):
    """
    ``(value, file:line)`` of StopIdleSessionSec, or ``(None, None)`` when unset.

    ``texts`` is ``[(path, text)]`` in systemd's reading order (logind.conf,
    then the drop-ins sorted by file name); the last assignment wins.
    """
    value, source = None, None
    for path, text in texts:
        for number, line in enumerate((text or "").splitlines(), 1):
            found = _LOGIND_RE.match(line)
            if found:
                value, source = found.group(1), f"{path}:{number}"
    return value, source


LOGIND_MAIN = "/etc/systemd/logind.conf"
LOGIND_DIRS = ("/etc/systemd/logind.conf.d", "/run/systemd/logind.conf.d",
               "/usr/local/lib/systemd/logind.conf.d", "/usr/lib/systemd/logind.conf.d")


def logind_order(dropins):
    """
    The drop-ins systemd reads, in its order: sorted by file name, and for one
    name only the copy in the first of ``LOGIND_DIRS`` (``/etc`` masks ``/usr``).
    """
    chosen = {}
    for path in dropins:
        directory, name = path.rsplit("/", 1)
        rank = LOGIND_DIRS.index(directory) if directory in LOGIND_DIRS else -1
        if name not in chosen or rank < chosen[name][0]:
            chosen[name] = (rank, path)
    return [chosen[name][1] for name in sorted(chosen)]
