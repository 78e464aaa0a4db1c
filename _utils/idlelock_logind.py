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
_LLONG_MAX = 2**63 - 1
_USEC_INFINITY = 2**64 - 1  # USEC_INFINITY, "never" (src/basic/time-util.h)
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
    ``1.5h`` and ``600`` parse; ``６００`` (full-width), ``10MIN``, ``6_00``,
    ``300.`` (a point without digits after it) and a span of ``USEC_INFINITY``
    microseconds or more (parse_time()'s -ERANGE) do not.
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
        whole = (number.group(1) or "0").lstrip("0") or "0"
        fraction = number.group(2) if number.group(2) is not None else number.group(3)
        if fraction == "":
            return None  # "3.", "3.sec": parse_time() wants a digit after the point
        rest = text[number.end():]
        after = rest.lstrip(WHITESPACE)
        unit = next(((name, factor) for name, factor in _UNITS if after.startswith(name)),
                    None)
        if unit is None and after == rest and rest:
            return None  # "12.34.56": no unit and nothing between the numbers
        name, factor = unit or ("", _USEC["s"])
        # strtoll() stops at LLONG_MAX (ERANGE); then the span must stay below
        # USEC_INFINITY, checked as parse_time() checks it. Digits are counted
        # before int(), which refuses more than 4300 of them.
        if len(whole) > len(str(_LLONG_MAX)) or int(whole) > _LLONG_MAX:
            return None
        if int(whole) >= _USEC_INFINITY // factor:
            return None
        usec += int(whole) * factor
        if usec >= _USEC_INFINITY:
            return None
        place = factor // 10
        for digit in fraction or "":
            usec += int(digit) * place
            place //= 10
        if usec >= _USEC_INFINITY:
            return None
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


# Section names config_parse() refuses (string_is_safe(), src/basic/string-util.c):
# control characters, quotes, backslash, DEL.
_UNSAFE_SECTION = re.compile("[\x01-\x1f\"'\\\\\x7f]")
_BOM = "\ufeff"


def _logical_lines(text):
    """
    ``(first line number, logical line)`` of one file, as config_parse()
    builds them (src/shared/conf-parser.c): a line whose first non-blank
    character is ``#`` or ``;`` is skipped even inside a continuation; a UTF-8
    byte order mark is dropped from the first line that starts with one; a line
    ending in an unescaped backslash continues on the next, the backslash
    read as a blank.
    """
    pending, first, bom_seen = None, 0, False
    for number, line in enumerate(split_lines(text or ""), 1):
        if line.lstrip(WHITESPACE)[:1] in ("#", ";"):
            continue
        if not bom_seen and line.startswith(_BOM):
            line, bom_seen = line[len(_BOM):], True
        if pending is None:
            pending, first = line, number
        else:
            pending += line
        tail = len(pending) - len(pending.rstrip("\\"))
        if tail % 2:
            pending = pending[:-1] + " "
            continue
        yield first, pending
        pending = None
    if pending is not None:
        yield first, pending


def read(texts):
    """
    ``(assignments, stop)``: every StopIdleSessionSec that systemd applies, in
    its reading order, as ``[(path, line number, value)]``, and where systemd
    stops reading (``"path:line: why"``) or ``None``. ``texts`` is
    ``[(path, text)]`` in that order (see ``logind_paths``).

    Only the ``[Login]`` section counts; a line systemd cannot parse as a whole
    (a section header without its ``]`` or with quotes, backslashes or control
    characters in its name, bytes that are not UTF-8) ends the reading of that
    file and of every file after it: config_parse() fails and
    config_parse_many_files() returns, keeping what it applied so far
    (src/shared/conf-parser.c). A value systemd cannot parse
    (``stop_idle_seconds``), the empty one included, is ignored, as systemd
    does: ``config_parse_sec_fix_0`` has no empty-value case, and
    ``parse_time("")`` fails (src/basic/time-util.c). Line, key and value lose
    systemd's ``WHITESPACE`` only. A line number is the first line of a
    continued line.
    """
    found = []
    for path, text in texts:
        section = None
        for number, line in _logical_lines(text):
            line = line.strip(WHITESPACE)
            if not line:
                continue
            if re.search("[\udc80-\udcff]", line):
                return found, f"{path}:{number}: not UTF-8"
            if line.startswith("["):
                if not line.endswith("]") or _UNSAFE_SECTION.search(line[1:-1]):
                    return found, f"{path}:{number}: invalid section header {line!r}"
                section = line[1:-1]
                continue
            key, equals, value = line.partition("=")
            value = value.strip(WHITESPACE)
            if (equals and section == "Login" and key.strip(WHITESPACE) == "StopIdleSessionSec"
                    and stop_idle_seconds(value) is not None):
                found.append((path, number, value))
    return found, None


def assignments(texts):
    """The assignments of ``read(texts)``: ``[(path, line number, value)]``."""
    return read(texts)[0]


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
