"""
sshd_config structure: read it the way sshd does, and plan idlelock's edits.

Pure logic. File access is injected (``read`` and ``expand`` callables), so the
same code walks the live tree, a candidate tree, or a dict in a unit test.

The sshd rules this follows (docs/how-idle-sessions-end.md §1):
- for each keyword the first value obtained wins;
- ``Include`` expands its globs in sorted order, relative paths against /etc/ssh,
  and the included lines belong to the Include's own Match context;
- a ``Match`` line opens a block that lasts until the next Match or the end of
  the file it is in (a Match in an included file ends with that file).
"""

import datetime
import fnmatch
import posixpath
import re
from dataclasses import dataclass, field

from idlelock_policy import sshd_time_seconds

SSHDIR = "/etc/ssh"
DROPIN_NAME = "00-idlelock.conf"
MAX_INCLUDE_DEPTH = 16  # sshd's READCONF_MAX_DEPTH
DISABLED_MARK = "# idlelock disabled: "
BLOCK_BEGIN = "# BEGIN idlelock (managed by Salt; local edits are overwritten)"
BLOCK_END = "# END idlelock"
HEADER = "# Managed by Salt (idlelock): idle SSH session timeouts. Local edits are overwritten.\n"
EXEMPT_COMMENT = ("# exempt_groups: no idle session timeout for members. Last in this file:\n"
                  "# a Match block in an included file ends with that file.\n")
# ChannelTimeout types that can match an interactive session's channel label
# (session:shell, session:command, ...): what an exempt member must not get.
_SESSION_TYPE_RE = re.compile(r"session(?::.*)?|\*")

_GLOB_CHARS = re.compile(r"[*?\[]")


class ConfigError(ValueError):
    """The configuration cannot be read the way sshd would read it."""


@dataclass(frozen=True)
class Directive:
    """One configuration line, as sshd sees it."""

    path: str
    lineno: int
    keyword: str  # lower case, as sshd compares keywords
    args: tuple
    # The enclosing Match Directive; None: global. No string annotation here or
    # in any dataclass of the utils: dataclasses resolves one through
    # sys.modules[cls.__module__], which Salt's loader fills only after the
    # module has run, so the util would fail to load as __utils__ and Salt
    # would log a traceback on every run (tests/functional/test_utils_loader.py).
    match: object = None
    included: tuple = field(default=(), compare=False)  # Include: files, in order

    @property
    def source(self):
        return f"{self.path}:{self.lineno}"

    @property
    def value(self):
        return " ".join(self.args)

    def describe(self):
        """``Match Group admins``: a Match line as the audit names it (only Match lines are)."""
        return f"Match {self.value}"


@dataclass
class Tree:
    """A configuration as sshd reads it: every directive in sshd's order."""

    main: str
    texts: dict  # path -> text of every file read, in first-visit order
    directives: list

    def winners(self, keywords):
        """``{keyword: Directive}``: the first global directive per keyword."""
        wanted = {keyword.lower(): keyword for keyword in keywords}
        found = {}
        for directive in self.directives:
            keyword = wanted.get(directive.keyword)
            if keyword and directive.match is None and keyword not in found:
                found[keyword] = directive
        return found

    def match_overrides(self, keywords):
        """``[(keyword, Directive)]`` inside Match blocks that set one of ``keywords``."""
        wanted = {keyword.lower(): keyword for keyword in keywords}
        return [(wanted[d.keyword], d) for d in self.directives
                if d.match is not None and d.keyword in wanted]


def split_lines(text, keepends=False):
    """
    The lines of ``text`` as sshd and the POSIX shells read them: split on
    ``\\n`` only. ``str.splitlines`` also splits on ``\\r``, ``\\f``, ``\\v``,
    ``\\x1c``-``\\x1e``, ``\\x85``, U+2028 and U+2029, which would turn a comment
    such as ``# old:<FF>Include ...`` into a live line that sshd never sees.
    """
    if not text:
        return []
    parts = text.split("\n")
    last = parts.pop()
    if keepends:
        parts = [part + "\n" for part in parts]
    if last:
        parts.append(last)
    return parts


# sshd's WHITESPACE (misc.h) between a keyword and its arguments; arguments are
# split on space and tab only (argv_split), and a line loses trailing
# whitespace and form feeds first (servconf.c).
_SSHD_WHITESPACE = " \t\r\n"
_ARG_SEPARATORS = " \t"
_TRAILING = " \t\r\n\f"
_PLAIN_ARGS = re.compile(r"[^\"'\\#]*")
_KEYWORD_END = re.compile(r'[ \t\r\n"=]')
_ARG_SPLIT = re.compile(r"[ \t]+")
# Most lines: a plain keyword, blanks, arguments without quotes, escapes or
# comments. They split the same way through the general path, only slower.
_PLAIN_LINE = re.compile(r"[ \t]*([A-Za-z0-9]+)[ \t]+([^ \t\r\n=\"'\\#][^\r\n\"'\\#]*?)[ \t\r\n\f]*")


def _strdelim(text):
    """
    ``(token, rest)`` as sshd's ``strdelim`` takes the keyword off a line: it
    ends at whitespace, ``=`` or a double quote (a quoted keyword loses its
    quotes); one ``=`` between keyword and value is skipped. ``None`` when a
    quote has no match (sshd then ignores the line).
    """
    found = _KEYWORD_END.search(text)
    if found is None:
        return text, ""
    index = found.start()
    if text[index] == '"':
        text = text[:index] + text[index + 1:]
        close = text.find('"', index)
        if close < 0:
            return None
        return text[:close], text[close + 1:].lstrip(_SSHD_WHITESPACE)
    token, rest = text[:index], text[index + 1:].lstrip(_SSHD_WHITESPACE)
    if text[index] != "=" and rest.startswith("="):
        rest = rest[1:].lstrip(_SSHD_WHITESPACE)
    return token, rest


def argv_split(text):
    """
    Arguments as sshd's ``argv_split`` splits them: on space and tab, with
    single or double quotes, backslash escapes, and ``#`` at the start of an
    argument ending the line. Raises ConfigError for an unbalanced quote.
    """
    if _PLAIN_ARGS.fullmatch(text):
        return tuple(arg for arg in _ARG_SPLIT.split(text) if arg)
    args, index, length = [], 0, len(text)
    while index < length:
        if text[index] in _ARG_SEPARATORS:
            index += 1
            continue
        if text[index] == "#":
            break
        word, quote = [], None
        while index < length:
            char = text[index]
            if char == "\\" and index + 1 < length and (
                    text[index + 1] in "'\"\\" or (quote is None and text[index + 1] == " ")):
                word.append(text[index + 1])
                index += 2
                continue
            if quote is None and char in _ARG_SEPARATORS:
                break
            if quote is None and char in "'\"":
                quote = char
            elif quote is not None and char == quote:
                quote = None
            else:
                word.append(char)
            index += 1
        if quote is not None:
            raise ConfigError("invalid quotes")
        args.append("".join(word))
    return tuple(args)


def tokenize(line):
    """
    Split one line into ``(keyword, args)`` exactly as sshd does; ``None`` for
    blanks, comments and lines sshd ignores.

    Handles ``Keyword=value``, a quoted keyword (``"ClientAliveInterval" 7``),
    tabs, quoted arguments, backslash escapes and trailing comments. Raises
    ConfigError for unbalanced quotes in the arguments, where sshd fails too.
    """
    plain = _PLAIN_LINE.fullmatch(line)
    if plain:
        return plain.group(1).lower(), tuple(_ARG_SPLIT.split(plain.group(2)))
    line = line.rstrip(_TRAILING)
    if not line or line.lstrip(" \t").startswith("#"):
        return None
    first = _strdelim(line)
    if first is None:
        return None
    keyword, rest = first
    if keyword == "":  # leading whitespace
        first = _strdelim(rest)
        if first is None:
            return None
        keyword, rest = first
    if not keyword or keyword.startswith("#"):
        return None
    # A keyword without a value is sshd's error ("no argument after keyword"),
    # which sshd -T reports with its own words: read it as a line with no value.
    return keyword.lower(), argv_split(rest)


# What ``sshd -T`` reads besides the configuration: the host keys and
# certificates (sshd(8) refuses to start without a loadable host key: "no
# hostkeys available"), its defaults when no HostKey is set, and the account
# database (the privilege-separation user).
_KEY_KEYWORDS = ("hostkey", "hostcertificate")
DEFAULT_HOST_KEYS = tuple(f"{SSHDIR}/ssh_host_{kind}_key" for kind in ("rsa", "ecdsa", "ed25519"))
ACCOUNTS = ("/etc/passwd", "/etc/group")


def inputs(tree):
    """
    Every path whose change can change what ``sshd -T`` answers for ``tree``:
    its files, the directories its Include globs expand (a new drop-in changes
    only its directory), the host keys and certificates it loads, and the
    account database.
    """
    globbed = {posixpath.dirname(include_path(arg))
               for directive in tree.directives if directive.keyword == "include"
               for arg in directive.args}
    keys = [include_path(arg) for directive in tree.directives
            if directive.keyword in _KEY_KEYWORDS and directive.match is None
            for arg in directive.args[:1]]
    host_keys = [include_path(arg) for directive in tree.directives
                 if directive.keyword == "hostkey" for arg in directive.args[:1]]
    if not host_keys:
        keys += DEFAULT_HOST_KEYS
    extra = sorted(globbed - set(tree.texts)) + keys + \
        [f"{key}.pub" for key in host_keys or DEFAULT_HOST_KEYS] + list(ACCOUNTS)
    return list(tree.texts) + list(dict.fromkeys(p for p in extra if p not in tree.texts))


def include_path(pattern):
    """An Include argument as sshd resolves it: relative to /etc/ssh."""
    return posixpath.join(SSHDIR, pattern)  # an absolute pattern replaces SSHDIR


def walk(main, read, expand):
    """
    Read the configuration rooted at ``main`` in sshd's order.

    ``read(path)`` returns the text or ``None`` when the file is missing;
    ``expand(pattern)`` returns the sorted paths an absolute glob matches.
    """
    texts, directives = {}, []

    def visit(path, context, depth):
        if depth > MAX_INCLUDE_DEPTH:
            raise ConfigError(f"{path}: Include nested deeper than {MAX_INCLUDE_DEPTH}")
        text = texts.get(path)
        if text is None:
            text = read(path)
            if text is None:
                raise ConfigError(f"{path}: no such file")
            texts[path] = text
        match = context
        for lineno, line in enumerate(split_lines(text), 1):
            try:
                parsed = tokenize(line)
            except ConfigError as exc:
                raise ConfigError(f"{path} line {lineno}: {exc}") from None
            if parsed is None:
                continue
            keyword, args = parsed
            if keyword == "match":
                match = Directive(path, lineno, keyword, args, None)
                directives.append(match)
            elif keyword == "include":
                files = tuple(f for arg in args for f in expand(include_path(arg)))
                directives.append(Directive(path, lineno, keyword, args, match, files))
                for included in files:
                    visit(included, match, depth + 1)
            else:
                directives.append(Directive(path, lineno, keyword, args, match))

    visit(main, None, 0)
    return Tree(main, texts, directives)


def host_keys(tree):
    """The host key files sshd loads: the global HostKey lines, else its defaults."""
    keys = [directive.value for directive in tree.directives
            if directive.keyword == "hostkey" and directive.match is None]
    return keys or list(DEFAULT_HOST_KEYS)


# ---------------------------------------------------------------- values
def read_effective(output):
    """
    ``sshd -T`` output as ``{keyword: value}``, keywords in lower case.

    The one reader of sshd's effective configuration: the state, ``get``,
    ``audit`` and the grain all read it through here. sshd compares keywords
    case-insensitively, and the case it prints them in is not stable across
    releases: up to 10.3p1 ``-T`` prints ``clientaliveinterval 300``, 10.6p1
    prints ``ClientAliveInterval 300`` (both measured by tests/matrix). Keys
    are folded to lower case, as sshd folds keywords when it parses them. A
    keyword printed on several lines (``hostkey``, ``listenaddress``) keeps its
    first value. Lines are split on ``\n`` only, as sshd writes them.

    ``ChannelTimeout none`` and an unset ChannelTimeout are one setting: 9.2p1
    prints no line for either, 10.0p2, 10.3p1 and 10.6p1 print ``none`` (measured
    by tests/matrix); the reader gives no ``channeltimeout`` key, as 9.2 does.
    """
    values = {}
    for line in output.split("\n"):
        keyword, _, value = line.strip(_SSHD_WHITESPACE).partition(" ")
        if keyword:
            values.setdefault(keyword.lower(), value.strip(_SSHD_WHITESPACE))
    if values.get("channeltimeout", "").lower() == "none":
        del values["channeltimeout"]
    return values


def normalize(keyword, value):
    """
    A value in the form ``sshd -T`` prints it, or ``None`` when sshd prints none.

    ``5m`` becomes ``300``; ``UnusedConnectionTimeout 0`` becomes ``none``; an
    unset or ``none`` ChannelTimeout prints nothing.
    """
    keyword = keyword.lower()
    if value is None:
        return None
    value = value.strip(_TRAILING)
    if keyword == "channeltimeout":
        if value.lower() == "none":
            return None
        parts = []
        for entry in list_entries(value):
            ctype, _, seconds = entry.partition("=")
            parts.append(f"{ctype}={sshd_time_seconds(seconds)}")
        return " ".join(parts)
    if keyword == "unusedconnectiontimeout":
        if value.lower() == "none" or sshd_time_seconds(value) == 0:
            return "none"
        return str(sshd_time_seconds(value))
    if keyword == "clientaliveinterval":
        return str(sshd_time_seconds(value))
    return value


# ---------------------------------------------------------------- list values
def list_entries(value):
    """
    The entries of a list value (ChannelTimeout), split on space and tab as
    sshd splits arguments: ``str.split()`` would also cut "a=1<U+00A0>b=2",
    which sshd reads as one (invalid) entry.
    """
    return [entry for entry in _ARG_SPLIT.split(value) if entry]


def _merge_channel_timeout(ours, theirs):
    """
    Our ChannelTimeout entries first (sshd uses the first entry whose type
    matches a channel), then the site's entries of other types. A site's
    ``session:...`` entry is replaced when ours is ``session:*``: it would
    never be reached after it.
    """
    mine = list_entries(ours)
    types = {entry.partition("=")[0] for entry in mine}
    kept = [entry for entry in list_entries(theirs)
            if "=" in entry and entry.partition("=")[0] not in types
            and not ("session:*" in types and entry.startswith("session"))]
    return " ".join(mine + kept)


# Keywords whose value is a list: idlelock's line must carry the entries it
# does not manage, or writing it silently drops the site's (sshd_config(5):
# the first ChannelTimeout line obtained is the whole list).
LIST_KEYWORDS = {"ChannelTimeout": _merge_channel_timeout}


def is_ours(tree, directive):
    """True for a line idlelock wrote: its drop-in, or its block in the main file."""
    if posixpath.basename(directive.path) == DROPIN_NAME:
        return True
    return directive.path == tree.main and directive.lineno in _block_lines(
        tree.texts[tree.main])


def carry_list_entries(tree, desired, effective):
    """
    ``(desired, notes)`` with each list-valued keyword (``LIST_KEYWORDS``)
    carrying the entries of the site's own line: the first global line that
    idlelock did not write, in sshd's order, or else the whole value sshd
    prints today (``effective``, ``sshd -T``), which is idlelock's own line
    once it carries them. ``notes`` say what was kept and from where.
    """
    result, notes = dict(desired), []
    for keyword, merge in LIST_KEYWORDS.items():
        if keyword not in desired or desired[keyword] == "none":
            continue
        site = next((d for d in tree.directives if d.keyword == keyword.lower()
                     and d.match is None and not is_ours(tree, d)), None)
        theirs = site.value if site else (effective.get(keyword.lower()) or "")
        result[keyword] = merge(desired[keyword], theirs)
        kept = result[keyword][len(desired[keyword]):].strip(_ARG_SEPARATORS)
        if kept and site:
            notes.append(f"{keyword} keeps {kept} from {site.source}")
    return result, notes


# ---------------------------------------------------------------- planning
@dataclass
class Plan:
    """What idlelock would write: new texts for the files that change."""

    target: str
    texts: dict  # path -> new text, only files whose text changes
    disabled: list  # foreign Directives that would beat ours, commented out
    tree: Tree  # the candidate configuration as sshd would read it
    exemption: object = None  # {match, ChannelTimeout} of the block written, if any


def exempt_channel_timeout(value):
    """
    The ChannelTimeout an exempt group gets: ``value`` (what idlelock sets
    globally, site entries included) without the entries that can close an
    interactive session, or ``session:*=0`` (no timeout) when nothing is left.

    Never ``none``: 10.6p1 accepts ``ChannelTimeout none`` inside Match (``-t``
    and ``-T -C`` too), then ends every matching session as it opens
    ("server_process_channel_timeouts: internal error: bad timeout none",
    measured by tests/matrix/test_idle_sessions.py).
    """
    kept = [entry for entry in list_entries(value)
            if not _SESSION_TYPE_RE.fullmatch(entry.partition("=")[0])]
    return " ".join(kept) or "session:*=0"


def exemption_block(directives, exempt_groups):
    """
    ``{"match": "Group a,b", "ChannelTimeout": value}`` for the Match block that
    exempts ``exempt_groups``, or ``None`` when idlelock sets no ChannelTimeout.
    """
    channel = directives.get("ChannelTimeout")
    if not exempt_groups or channel is None or channel == "none":
        return None
    return {"match": "Group " + ",".join(exempt_groups),
            "ChannelTimeout": exempt_channel_timeout(channel)}


def render_dropin(directives, exemption=None):
    """
    The drop-in file idlelock owns; ``exemption`` (:func:`exemption_block`)
    ends it with a Match block, which sshd closes at the end of the file.
    """
    text = HEADER + "".join(f"{keyword} {value}\n" for keyword, value in directives.items())
    if exemption:
        text += (f"{EXEMPT_COMMENT}Match {exemption['match']}\n"
                 f"    ChannelTimeout {exemption['ChannelTimeout']}\n")
    return text


def is_own(directive):
    """True for a line of idlelock's own drop-in (its exemption block included)."""
    return posixpath.basename(directive.path) == DROPIN_NAME


def _render_block(directives):
    body = "".join(f"{keyword} {value}\n" for keyword, value in directives.items())
    return f"{BLOCK_BEGIN}\n{body}{BLOCK_END}\n"


def _strip_block(text):
    """Remove idlelock's managed block from a main file."""
    pattern = re.compile(
        rf"^{re.escape(BLOCK_BEGIN)}\n.*?^{re.escape(BLOCK_END)}\n?", re.M | re.S
    )
    return pattern.sub("", text)


def dropin_target(tree):
    """
    The drop-in path idlelock writes, or ``None`` to use a block in the main file.

    Only a global Include in the main file that comes before any Match line and
    whose glob matches ``00-idlelock.conf`` qualifies: anything else would put
    our lines inside a Match block or after values that beat them.
    """
    for directive in tree.directives:
        if directive.path != tree.main:
            continue  # lines of included files; a Match there ends with its file
        if directive.keyword == "match":
            return None
        if directive.keyword != "include":
            continue
        for arg in directive.args:
            directory, pattern = posixpath.split(include_path(arg))
            if not _GLOB_CHARS.search(directory) and fnmatch.fnmatchcase(DROPIN_NAME, pattern):
                return posixpath.join(directory, DROPIN_NAME)
    return None


# A disabled line keeps the whitespace sshd skipped before its keyword.
DISABLED_RE = re.compile("([" + _SSHD_WHITESPACE + "]*)" + re.escape(DISABLED_MARK) + "(.*)",
                         re.S)


def _disable_line(text, lineno):
    lines = split_lines(text, keepends=True)
    line = lines[lineno - 1]
    body = line.lstrip(_SSHD_WHITESPACE)
    lines[lineno - 1] = f"{line[: len(line) - len(body)]}{DISABLED_MARK}{body}"
    return "".join(lines)


def overlay(read, expand, texts):
    """
    ``read``/``expand`` that see ``texts`` (new or changed files) over the disk;
    a ``None`` text is a file deleted.
    """

    def read_over(path):
        return texts[path] if path in texts else read(path)

    def expand_over(pattern):
        found = set(expand(pattern))
        directory, name = posixpath.split(pattern)
        for path, text in texts.items():
            if posixpath.dirname(path) == directory and fnmatch.fnmatchcase(
                posixpath.basename(path), name
            ):
                (found.add if text is not None else found.discard)(path)
        return sorted(found)

    return read_over, expand_over


LAYOUTS = ("dropin", "main")


def plan(tree, directives, read, expand, layout="dropin", exempt_groups=()):
    """
    Plan the edits that make ``directives`` effective in ``tree``.

    idlelock writes its values where sshd reads them first in global context.
    With ``layout`` ``dropin``: a ``00-idlelock.conf`` drop-in when the main
    file includes a drop-in directory before any Match, else a block at the top
    of the main file; a foreign global line that sshd would read before ours,
    with a different value, is commented out in place with a marker.

    With ``layout`` ``main`` (the layout text scanners read: SSG's
    ``sshd_set_idle_timeout`` and ``sshd_set_keepalive`` read only
    ``/etc/ssh/sshd_config``, and demand that *every* ``ClientAliveCountMax``
    line there has the benchmark's value): the block at the top of the main
    file, before any Include, and *every* foreign global line for a managed
    keyword commented out, also those that lose anyway. idlelock's own drop-in
    from the other layout is removed. Match blocks are never edited.

    ``exempt_groups`` get a ``Match Group`` block at the end of the drop-in
    (``Plan.exemption``). A block at the top of the main file gets none: a
    Match there would capture every line after it, and one appended at the end
    of the file would capture whatever anyone appends later.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}")
    target = dropin_target(tree)
    texts = {}
    exemption = None
    if layout == "main" and target:
        if target in tree.texts:
            texts[target] = None  # ours (it holds nothing else): the block replaces it
        target = None
    if target:
        exemption = exemption_block(directives, exempt_groups)
        texts[target] = render_dropin(directives, exemption)
        stripped = _strip_block(tree.texts[tree.main])
        if stripped != tree.texts[tree.main]:
            texts[tree.main] = stripped
    else:
        target = tree.main
        texts[target] = _render_block(directives) + _strip_block(tree.texts[tree.main])
    disabled = []
    for _ in range(len(tree.directives) + 1):
        candidate = walk(tree.main, *overlay(read, expand, texts))
        if layout == "main":
            losing = _foreign_lines(candidate, directives, target)
        else:
            losing = [
                winner
                for keyword, winner in candidate.winners(directives).items()
                if winner.path != target
                and normalize(keyword, winner.value) != normalize(keyword, directives[keyword])
            ]
        if not losing:
            break
        for winner in losing:
            current = texts.get(winner.path, candidate.texts[winner.path])
            texts[winner.path] = _disable_line(current, winner.lineno)
            disabled.append(winner)
    changed = {path: text for path, text in texts.items()
               if tree.texts.get(path) != text and (text is not None or path in tree.texts)}
    return Plan(target=target, texts=changed, disabled=disabled, tree=candidate,
                exemption=exemption)


def _foreign_lines(tree, directives, target):
    """Every global line outside idlelock's block that sets a keyword of ``directives``."""
    wanted = {keyword.lower() for keyword in directives}
    ours = _block_lines(tree.texts[target])  # the main file: always read
    return [d for d in tree.directives
            if d.match is None and d.keyword in wanted
            and not (d.path == target and d.lineno in ours)]


def _block_lines(text):
    """Line numbers (from 1) of idlelock's marked block in ``text``."""
    lines, inside, found = text.split("\n"), False, set()
    for number, line in enumerate(lines, 1):
        if line == BLOCK_BEGIN:
            inside = True
        if inside:
            found.add(number)
        if line == BLOCK_END:
            inside = False
    return found


# ---------------------------------------------------------------- staging
def stage(tree, stage_dir):
    """
    Copy a candidate tree into ``stage_dir`` so sshd can validate it as a whole.

    Every file gets a staged copy; each Include line is rewritten to list the
    staged copies of the files it expanded to, in the same order, so the staged
    tree reads exactly like the candidate. Line numbers are kept, so sshd's
    errors map back through the returned ``{staged path: original path}``.
    """
    names = {
        path: posixpath.join(stage_dir, f"{index:03d}.conf")
        for index, path in enumerate(tree.texts)
    }
    includes = {}
    for directive in tree.directives:
        if directive.keyword == "include":
            includes[(directive.path, directive.lineno)] = directive.included
    files = {}
    for path, text in tree.texts.items():
        # Byte for byte, but for the Include lines: the staged tree is what
        # sshd reads, line endings, odd bytes and separators included.
        lines = split_lines(text, keepends=True)
        for (inc_path, lineno), included in includes.items():
            if inc_path == path:
                staged = " ".join(names[p] for p in included)
                ending = "\n" if lines[lineno - 1].endswith("\n") else ""
                lines[lineno - 1] = (f"Include {staged}" if staged else "# Include: no match") + ending
        files[names[path]] = "".join(lines)
    return files, names[tree.main], {staged: path for path, staged in names.items()}


def unstage_message(message, staged_paths):
    """Translate staged file names in an sshd message back to the real paths."""
    for staged, original in staged_paths.items():
        message = message.replace(staged, original)
    return message


# ---------------------------------------------------------------- the running listener
# sshd reads its configuration when it starts and again when SIGHUP makes it
# re-execute itself (same PID); each time it then rewrites its PID file. So a
# file sshd reads that changed after the PID file was written has not been
# loaded by the running listener: a pending reload.
DEFAULT_CONFIG = posixpath.join(SSHDIR, "sshd_config")  # sshd's compiled-in -f
_OPTIONS_WITH_ARGUMENT = frozenset("CEbcfghkopu")  # sshd.c getopt: "C:E:b:c:f:g:h:k:o:p:u:..."


def argv_config(argv):
    """
    The main configuration file an sshd started with ``argv`` reads (``-f``,
    else the default). ``argv`` is /proc/<pid>/cmdline split at NUL: the
    listener replaces it with its title, ``sshd: <argv joined by spaces>
    [listener] ...``, so a single word with a space is read as that title (a
    ``-f`` value then runs up to the next word that starts with ``-``).
    """
    words = list(argv)
    title = len(words) == 1 and " " in words[0]
    if title:
        words = words[0].removeprefix("sshd: ").rsplit(" [listener]", 1)[0].split(" ")
    config, words = DEFAULT_CONFIG, words[1:]
    while words:
        word = words.pop(0)
        if word == "--" or not word.startswith("-") or word == "-":
            break
        for index, letter in enumerate(word[1:], 1):
            if letter in _OPTIONS_WITH_ARGUMENT:
                value = word[index + 1:] or (words.pop(0) if words else "")
                while title and words and not words[0].startswith("-"):
                    value += " " + words.pop(0)
                if letter == "f":
                    config = value
                break
    return config


def consulted_paths(tree):
    """
    What sshd consults to load ``tree``: every file it read, then every
    directory an Include lists (adding or removing a drop-in changes what sshd
    loads without changing any file it read).
    """
    paths = list(tree.texts)
    for directive in tree.directives:
        if directive.keyword != "include":
            continue
        # A pattern's glob-free leading directories: a glob in a directory part
        # (/srv/ssh/*/x.conf) also matches files in directories created later.
        listed = [posixpath.dirname(_GLOB_CHARS.split(include_path(arg), 1)[0])
                  for arg in directive.args]
        listed += [posixpath.dirname(path) for path in directive.included]
        for directory in listed:
            if directory not in paths:
                paths.append(directory)
    return paths


def _when(nanoseconds):
    """A file time (ns since the epoch) as ISO 8601 UTC, to the millisecond."""
    moment = datetime.datetime.fromtimestamp(nanoseconds / 1e9, datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def reload_status(config, pidfile, listener, changed):
    """
    Has the running sshd loaded the current configuration files?

    config
        The in-root main file (``sshd:config``); a listener started with
        another ``-f`` is not the listener of this configuration.
    pidfile
        ``sshd -T``'s ``pidfile`` value.
    listener
        ``idlelock_system.sshd_listener(root, pidfile)``: ``None`` when there
        is no PID file, else ``{pid, written (ns), alive, exe, argv}``.
    changed
        ``{in-root path: change time (ns) or None}`` of ``consulted_paths``.

    Returns ``{pending, pidfile, summary}``, ``pending`` being True (a file
    changed after the listener loaded its configuration: ``pid``, ``loaded``
    and ``changed`` ``[{path, at}]`` say which and when), False (loaded, or no
    sshd runs this configuration: the next one to start loads the files) or
    None (idlelock cannot tell).
    """
    status = {"pidfile": pidfile}
    if pidfile in (None, "", "none"):
        return dict(status, pending=None, summary=(
            "PidFile none: idlelock cannot tell whether the running sshd loaded the "
            "current files"))
    if listener is None:
        return dict(status, pending=False, summary=(
            f"no sshd is running ({pidfile} does not exist): the next one started loads "
            "the current files"))
    pid = listener.get("pid")
    if pid is None:
        problem = f"cannot read it: {listener['error']}" if listener.get("error") else "it holds no PID"
        return dict(status, pending=None, summary=(
            f"idlelock cannot tell whether the running sshd loaded the current files: "
            f"{pidfile}: {problem}"))
    exe = (listener.get("exe") or "").removesuffix(" (deleted)")
    if not listener.get("alive") or not posixpath.basename(exe).startswith("sshd"):
        what = "has exited" if not listener.get("alive") else f"is {exe or 'not sshd'}"
        return dict(status, pending=False, summary=(
            f"no sshd is running: PID {pid} from {pidfile} {what} (a stale PID file)"))
    reads = argv_config(listener.get("argv") or [])
    if posixpath.normpath(reads) != posixpath.normpath(config):
        return dict(status, pending=False, pid=pid, summary=(
            f"no running sshd reads {config}: the sshd with PID {pid} reads {reads}"))
    loaded = listener["written"]
    newer = sorted((at, path) for path, at in changed.items() if at is not None and at > loaded)
    status.update(pid=pid, loaded=_when(loaded),
                  changed=[{"path": path, "at": _when(at)} for at, path in newer])
    if not newer:
        return dict(status, pending=False, summary=(
            f"the running sshd (PID {pid}) loaded the current files at {status['loaded']}"))
    return dict(status, pending=True, summary=(
        f"pending reload: the running sshd (PID {pid}) loaded its configuration at "
        f"{status['loaded']}; changed since: "
        + ", ".join(f"{entry['path']} at {entry['at']}" for entry in status["changed"])))


def reload_note(status, manage_service):
    """
    ``(note, warning)`` for the ``idlelock.sshd`` state: what its comment adds
    about the running listener (``reload_status``, or None off the running
    system), and the warning when the files are not, or not provably, in force.
    Both are empty when the listener has loaded the files or none runs.
    """
    if status is None or status["pending"] is False:
        return "", None
    if status["pending"] is None:
        return f"; {status['summary']}", status["summary"]
    if manage_service:
        return (f"; {status['summary']}; the sshd service reload that watches this state "
                "loads them"), None
    warning = (f"{status['summary']}. sshd:manage_service is false, so idlelock does not "
               "reload sshd: new connections keep the old values until sshd is reloaded")
    return f"; {warning}", warning
