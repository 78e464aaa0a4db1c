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


_LOGIND_RE = re.compile(r"\s*StopIdleSessionSec\s*=\s*(.*?)\s*")
_SECTION_RE = re.compile(r"\s*\[([^\]]*)\]\s*")
# systemd's read_line() ends a line at \n, \r, \r\n or NUL, nothing else.
_LINE_END = re.compile(r"(\r\n|[\n\r\0])")
# A taken-over line stays in its file as a comment with the original text.
TAKEOVER_MARK = "# idlelock-takeover: "
TAKEOVER_RE = re.compile(r"(\s*)" + re.escape(TAKEOVER_MARK) + r"(.*)")


def split_lines(text, keepends=False):
    """The lines of a systemd configuration ``text``, split as systemd splits them."""
    parts = _LINE_END.split(text)
    if not keepends:
        return parts[::2]
    lines = [line + ending for line, ending in zip(parts[::2], parts[1::2] + [""])]
    return lines if lines[-1] else lines[:-1]


def assignments(texts):
    """
    ``[(path, line number, value)]``: every StopIdleSessionSec that systemd
    applies, in its reading order. ``texts`` is ``[(path, text)]`` in that
    order (see ``logind_paths``). Only the ``[Login]`` section counts; ``#``
    and ``;`` start comments; an empty value resets to the default.
    """
    found = []
    for path, text in texts:
        section = None
        for number, line in enumerate(split_lines(text or ""), 1):
            if line.lstrip().startswith(("#", ";")):
                continue
            header = _SECTION_RE.fullmatch(line)
            if header:
                section = header.group(1)
                continue
            match = _LOGIND_RE.fullmatch(line)
            if match and section == "Login":
                found.append((path, number, match.group(1)))
    return found


def logind_effective(texts):
    """
    ``(value, file:line)`` of StopIdleSessionSec, or ``(None, None)`` when unset.

    ``texts`` is ``[(path, text)]`` in systemd's reading order (logind.conf,
    then the drop-ins sorted by file name); the last assignment wins
    (systemd.syntax(7)); an empty assignment resets it to the default.
    """
    found = assignments(texts)
    if not found or found[-1][2] == "":
        return None, (f"{found[-1][0]}:{found[-1][1]}" if found else None)
    path, number, value = found[-1]
    return value, f"{path}:{number}"


# Where systemd looks, in its order of precedence (systemd.syntax(7)): the
# main file is the first of these that exists (systemd >= 254; older ones read
# /etc only, which comes first anyway), and a drop-in in an earlier directory
# masks a drop-in of the same name in a later one.
LOGIND_MAINS = ("/etc/systemd/logind.conf", "/run/systemd/logind.conf",
                "/usr/local/lib/systemd/logind.conf", "/usr/lib/systemd/logind.conf")
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


def logind_paths(mains, dropins):
    """
    Every file systemd-logind reads, in its order: the first existing of
    ``mains`` (``LOGIND_MAINS`` that exist), then ``logind_order(dropins)``.
    """
    return list(mains[:1]) + logind_order(dropins)


def conflicts(texts, ours):
    """
    The assignments that beat idlelock's file ``ours``: every one systemd
    applies after it (the last assignment wins). ``[(path, line, value)]``.
    """
    found = assignments(texts)
    last = max((index for index, entry in enumerate(found) if entry[0] == ours), default=-1)
    return [entry for entry in found[last + 1:] if entry[0] != ours]


def plan_takeover(texts, lines):
    """
    ``{path: new text}`` with each of ``lines`` (``[(path, line, value)]``)
    commented out in place with ``TAKEOVER_MARK``, like the shell takeover.
    """
    by_path = dict(texts)
    new = {}
    for path, number, _ in lines:
        old = split_lines(new.get(path, by_path[path]), keepends=True)
        line = old[number - 1]
        indent = line[: len(line) - len(line.lstrip())]
        old[number - 1] = f"{indent}{TAKEOVER_MARK}{line.lstrip()}"
        new[path] = "".join(old)
    return new
