"""
systemd-logind's idle-session stop: render idlelock's drop-in, read logind's
configuration the way systemd does, and say whether this logind honours it.

Pure logic: no I/O. The caller reads the files and the ``systemd`` grain.
``StopIdleSessionSec=`` exists from systemd 252 (logind.conf(5)); systemd reads
logind.conf, then the drop-ins sorted by file name, and the last assignment
wins (systemd.syntax(7)).
"""

import math
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


# systemd's WHITESPACE (src/basic/string-util.h): what it strips around a line, a
# key and a value, and skips inside a time span. Not Python's str.strip() or \s, which
# also take U+00A0, U+3000, \v, \f, \x1c-\x1f...: to systemd a line
# "<U+00A0>StopIdleSessionSec=600" sets an unknown key, and is ignored.
# https://github.com/systemd/systemd/blob/main/src/basic/string-util.h
WHITESPACE = " \t\n\r"
# systemd's read_line() ends a line at \n, \r, \r\n or NUL, nothing else.
_LINE_END = re.compile(r"(\r\n|[\n\r\0])")
# A taken-over line stays in its file as a comment with the original text.
TAKEOVER_MARK = "# idlelock-takeover: "
TAKEOVER_RE = re.compile("([" + WHITESPACE + "]*)" + re.escape(TAKEOVER_MARK) + "(.*)")

# parse_time() (src/basic/time-util.c, as parse_sec() calls it): numbers are what
# strtoll() reads (C-locale blanks, a "+", ASCII digits), with an optional
# ".digits" fraction, each followed by an optional unit, the first unit of this
# table (in systemd's order) that the text starts with.
# https://github.com/systemd/systemd/blob/main/src/basic/time-util.c
_NUMBER = re.compile(r"[ \t\n\v\f\r]*\+?([0-9]+)(?:\.([0-9]*))?|\.([0-9]*)")
_USEC = {"s": 10**6, "min": 60 * 10**6, "h": 3600 * 10**6, "d": 86400 * 10**6}
_UNITS = (("seconds", _USEC["s"]), ("second", _USEC["s"]), ("sec", _USEC["s"]),
          ("s", _USEC["s"]), ("minutes", _USEC["min"]), ("minute", _USEC["min"]),
          ("min", _USEC["min"]), ("months", 2629800 * 10**6), ("month", 2629800 * 10**6),
          ("M", 2629800 * 10**6), ("msec", 1000), ("ms", 1000), ("m", _USEC["min"]),
          ("hours", _USEC["h"]), ("hour", _USEC["h"]), ("hr", _USEC["h"]), ("h", _USEC["h"]),
          ("days", _USEC["d"]), ("day", _USEC["d"]), ("d", _USEC["d"]),
          ("weeks", 7 * _USEC["d"]), ("week", 7 * _USEC["d"]), ("w", 7 * _USEC["d"]),
          ("years", 31557600 * 10**6), ("year", 31557600 * 10**6), ("y", 31557600 * 10**6),
          ("usec", 1), ("us", 1), ("\u03bcs", 1), ("\u00b5s", 1))


def stop_idle_seconds(value):
    """
    ``StopIdleSessionSec`` ``value`` in seconds as systemd-logind parses it
    (``config_parse_sec_fix_0``: a time span, ``0`` and ``infinity`` meaning
    never), ``math.inf`` for never, or ``None`` when systemd refuses it (it
    logs "Failed to parse" and ignores the line). ``10min``, ``1h 30min``,
    ``1.5h`` and ``600`` parse; ``６００`` (full-width), ``10MIN`` and ``6_00`` do not.
    """
    text = str(value).lstrip(WHITESPACE)
    if text.startswith("infinity"):
        return math.inf if not text[len("infinity"):].strip(WHITESPACE) else None
    usec, found = 0, False
    while True:
        text = text.lstrip(WHITESPACE)
        if not text:
            break
        number = _NUMBER.match(text)
        if not number:
            return None
        whole, fraction = number.group(1) or "0", number.group(2) or number.group(3) or ""
        rest = text[number.end():]
        after = rest.lstrip(WHITESPACE)
        unit = next(((name, factor) for name, factor in _UNITS if after.startswith(name)),
                    None)
        if unit is None and after == rest and rest:
            return None  # "12.34.56": no unit and nothing between the numbers
        name, factor = unit or ("", _USEC["s"])
        usec += int(whole) * factor + sum(int(digit) * (factor // 10 ** place)
                                          for place, digit in enumerate(fraction, 1))
        text, found = after[len(name):] if unit else after, True
    if not found:
        return None
    if usec == 0:
        return math.inf  # the "fix_0": 0 turns the timeout off
    return usec // 10**6 if usec % 10**6 == 0 else usec / 10**6


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
    and ``;`` start comments; a value systemd cannot parse
    (``stop_idle_seconds``), the empty one included, is ignored, as systemd
    does: ``config_parse_sec_fix_0`` has no empty-value case, and
    ``parse_time("")`` fails (src/shared/conf-parser.c, src/basic/time-util.c).
    Line, key and value lose systemd's ``WHITESPACE`` only (conf-parser.c).
    """
    found = []
    for path, text in texts:
        section = None
        for number, line in enumerate(split_lines(text or ""), 1):
            line = line.strip(WHITESPACE)
            if line.startswith(("#", ";")):
                continue
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1]
                continue
            key, equals, value = line.partition("=")
            value = value.strip(WHITESPACE)
            if (equals and section == "Login" and key.strip(WHITESPACE) == "StopIdleSessionSec"
                    and stop_idle_seconds(value) is not None):
                found.append((path, number, value))
    return found


def logind_effective(texts):
    """
    ``(value, file:line)`` of StopIdleSessionSec, or ``(None, None)`` when unset.

    ``texts`` is ``[(path, text)]`` in systemd's reading order (logind.conf,
    then the drop-ins sorted by file name); the last assignment wins
    (systemd.syntax(7)).
    """
    found = assignments(texts)
    if not found:
        return None, None
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
        body = line.lstrip(WHITESPACE)
        old[number - 1] = f"{line[: len(line) - len(body)]}{TAKEOVER_MARK}{body}"
        new[path] = "".join(old)
    return new
