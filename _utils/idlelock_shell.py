"""
Login-shell idle timeouts (TMOUT, tcsh autologout): render idlelock's files,
read everybody else's.

Pure logic: no I/O. The caller reads the files (``read(path) -> text or None``,
``expand(glob) -> [paths]``) and runs the shells; this module renders the
managed profile and csh files, finds every line that sets TMOUT, plans
the takeover of foreign lines, and judges what a login shell reported.

The facts behind every choice are in docs/how-idle-sessions-end.md §2-3: a second ``readonly
TMOUT`` makes every login print ``TMOUT: readonly variable`` (and dash abort
/etc/profile), so idlelock's own file is guarded, and foreign readonly lines
are either taken over or named.
"""

import re
import shlex

from idlelock_sshd import split_lines

FORMS = ("posix", "declare")
HEADER = "# Managed by idlelock (Salt): close idle shells. Local edits are overwritten."
# A taken-over line keeps its indentation and becomes a no-op command with the
# original text in a comment: `:` keeps an if/then body that held only this
# line syntactically valid, where a bare comment would not.
TAKEOVER_MARK = ": # idlelock-takeover: "
TAKEOVER_RE = re.compile(r"^([ \t]*)" + re.escape(TAKEOVER_MARK) + r"(.*)$")
BACKUP_SUFFIX = ".idlelock.bak"
ZSH_BEGIN = "# BEGIN idlelock: zsh does not read /etc/profile here; source the idle timeout"
BASHRC_BEGIN = ("# BEGIN idlelock: interactive non-login bash reads no /etc/profile.d; "
                "source the idle timeout")
ZSH_END = "# END idlelock"  # ends the bashrc block too
ENVIRONMENT = "/etc/environment"
# Where a login shell can pick up TMOUT, in the order bash usually reads them.
SHELL_FILES = ("/etc/profile", "/etc/profile.d/*.sh", "/etc/bash.bashrc", "/etc/bashrc")

# The shells' blanks are space and tab, and a name is ASCII letters, digits and
# "_" (bash(1) DEFINITIONS, POSIX XCU 2.3): not Python's \s, \S and \w, which also
# take U+00A0, U+3000, \v, \f, \x1c-\x1f and non-ASCII letters and digits. To
# bash, "export<U+00A0>TMOUT=600" is one word, a command that is not found.
BLANKS = " \t"
_COMMENT_RE = re.compile(r"(?:^|[ \t])#.*$")
# A name, not a read: "$TMOUT" and "${TMOUT}" only use the value. Only a pre-filter
# (_SEGMENT_RE decides what a line does): the Unicode \w here keeps "éTMOUT=1" out,
# as bash glues every character but a blank or a metacharacter into one word.
_MENTION_RE = re.compile(r"(?<![$\w{])TMOUT\b")
_SPLIT_RE = re.compile(r";|&&|\|\|")
# What may precede a command on its line: a compound keyword, or a case arm's
# pattern (``*" ops "*)``), which makes the line part of a bigger statement.
_KEYWORD_RE = re.compile(
    r"""^[ \t]*(?:(?:(?:then|else|do|\{|!)[ \t]+)|(?:case[ \t]+(?:"[^"]*"|[^ \t])+[ \t]+in[ \t]+)"""
    r"""|(?:(?:"[^"]*"|'[^']*'|[^ \t"'()])+\)[ \t]*))+""")
_SEGMENT_RE = re.compile(
    r"""^[ \t]*(?:(?P<cmd>export|readonly|declare|typeset|local|unset)[ \t]+"""
    r"""(?P<flags>(?:[-+][A-Za-z]+[ \t]+)*))?TMOUT"""
    r"""(?:=(?P<value>"[^"]*"|'[^']*'|[^ \t;'"]*))?[ \t]*$"""
)


# ---------------------------------------------------------------- rendering
def _exempt_case(groups, indent, body):
    """Wrap ``body`` lines so that members of ``groups`` skip them (sh syntax)."""
    if not groups:
        return [indent + line for line in body]
    # Group names are validated ([A-Za-z0-9_.-]): no quoting or glob characters.
    pattern = "|".join(f'*" {group} "*' for group in groups)
    lines = [
        f'{indent}case " $(id -Gn 2>/dev/null) " in',
        f"{indent}  {pattern}) ;;  # exempt: shell:exempt_groups",
        f"{indent}  *)",
    ]
    lines += [indent + "    " + line for line in body]
    lines += [f"{indent}    ;;", f"{indent}esac"]
    return lines


def render_profile(tmout, readonly=True, exempt_groups=(), form="posix"):
    """
    The text of the managed profile file, sourced by sh, dash, bash, zsh and ksh.

    The ``(unset TMOUT)`` guard makes a second sourcing (or a login that already
    has a readonly TMOUT) a silent no-op. ``form`` picks the line that
    compliance scanners look for: ``declare`` (RedHat: ``declare -xr TMOUT=N``
    for bash) or ``posix`` (Debian/Ubuntu: ``TMOUT=N`` / ``readonly TMOUT`` /
    ``export TMOUT``). zsh gets ``typeset -gx[r]``: its ``readonly`` before
    ``export`` fails, and a plain ``typeset`` inside a function is local.
    bash's ``declare`` is local inside a function too (and ``-g`` would hide
    the line from the scanners), so a file sourced from a function (``(local)``
    succeeds there) takes the POSIX lines, which set the global variable.
    """
    if form not in FORMS:
        raise ValueError(f"unknown form {form!r}")
    tmout = int(tmout)
    flags = "-xr" if readonly else "-x"
    posix = [f"TMOUT={tmout}"] + (["readonly TMOUT"] if readonly else []) + ["export TMOUT"]
    if form == "declare":
        other = (
            ['elif [ -n "${BASH_VERSION-}" ] && ! (local _idlelock) 2>/dev/null; then',
             f"  declare {flags} TMOUT={tmout}", "else"]
            + ["  " + line for line in posix]
        )
    else:
        other = ["else"] + ["  " + line for line in posix]
    body = (
        ['if [ -n "${ZSH_VERSION-}" ]; then', f"  typeset -g{flags[1:]} TMOUT={tmout}"]
        + other
        + ["fi"]
    )
    lines = [
        HEADER,
        f"# Idle shells log out after {tmout} s at the prompt.",
        "# Guarded: sourcing this twice, or after another readonly TMOUT, is silent.",
        "if (unset TMOUT) 2>/dev/null; then",
    ]
    lines += _exempt_case(list(exempt_groups), "  ", body)
    lines.append("fi")
    return "\n".join(lines) + "\n"


def csh_minutes(tmout):
    """
    tcsh ``autologout`` counts whole minutes: round down, so the session is
    never longer than the policy, and never below 1 (0 turns it off).
    """
    return max(1, int(tmout) // 60)


def csh_warning(tmout):
    """Why tcsh cannot honour ``tmout`` seconds exactly, or ``None``."""
    tmout = int(tmout)
    if tmout < 60:
        return (f"tcsh counts autologout in whole minutes: {tmout} s is under a minute, so "
                "tcsh logs out after 1 min")
    if tmout % 60:
        return (f"tcsh counts autologout in whole minutes: {tmout} s becomes "
                f"{csh_minutes(tmout)} min ({csh_minutes(tmout) * 60} s)")
    return None


def render_csh(tmout, readonly=True, exempt_groups=()):
    """The text of the managed tcsh/csh file: ``set -r autologout=<minutes>``."""
    minutes = csh_minutes(tmout)
    setter = f"set -r autologout = {minutes}" if readonly else f"set autologout = {minutes}"
    lines = [
        HEADER,
        f"# Idle tcsh shells log out after {minutes} min ({tmout} s in whole minutes, "
        "rounded down).",
        "# Guarded: a readonly autologout from elsewhere (or a second sourcing) is kept.",
        "( set autologout = 0 ) >& /dev/null",
        "if ( $status == 0 ) then",
    ]
    if exempt_groups:
        tests = " && ".join(f'"$_idlelock_groups" !~ *" {group} "*' for group in exempt_groups)
        lines += [
            '  set _idlelock_groups = " `id -Gn` "',
            f"  if ( {tests} ) then",
            f"    {setter}",
            "  endif",
            "  unset _idlelock_groups",
        ]
    else:
        lines.append(f"  {setter}")
    lines.append("endif")
    return "\n".join(lines) + "\n"


def put_block(text, begin, body, end):
    """
    ``text`` with the ``begin`` .. ``end`` block holding ``body`` (lines):
    replaced in place when present, else appended.

    Every byte outside the block is kept (the text is split on ``\\n`` only,
    as the shells read it). A text without a final newline gets one before the
    block and none after it, so that removing the block
    (``idlelock_unplan.remove_block``) gives back the exact original bytes.
    """
    block = [begin, *body, end]
    lines = text.split("\n")
    if begin in lines and end in lines[lines.index(begin) + 1:]:
        start = lines.index(begin)
        lines[start:lines.index(end, start + 1) + 1] = block
        return "\n".join(lines)
    if text == "" or text.endswith("\n"):
        return text + "\n".join(block) + "\n"
    return text + "\n" + "\n".join(block)


def zsh_hook(text, profile_file):
    """
    ``text`` of the zsh startup file with idlelock's block that sources ``profile_file``.

    Debian's zsh reads neither /etc/profile nor /etc/profile.d. The block is
    replaced in place when present, else appended (see ``put_block``).
    ``None`` (no such file: zsh is not installed) stays ``None``.
    """
    if text is None:
        return None
    return put_block(text, ZSH_BEGIN, [_source_line(profile_file)], ZSH_END)


def _source_line(profile_file, condition=""):
    """The one line a hook block holds: source ``profile_file`` (quoted) if readable."""
    quoted = shlex.quote(profile_file)
    return f"if [ -r {quoted} ]{condition}; then . {quoted}; fi"


def bashrc_hook(text, profile_file):
    """
    ``text`` of the system bashrc with idlelock's block that sources ``profile_file``.

    An interactive bash that is not a login (``sudo -s``, ``su`` without
    ``-``, a terminal emulator) reads the system bashrc and never
    /etc/profile.d; CIS lists the system bashrc as a place TMOUT must be set.
    Login shells skip the block: Debian's /etc/profile reads the system
    bashrc *before* /etc/profile.d, so a readonly TMOUT set there would make
    every later TMOUT line in profile.d print ``TMOUT: readonly variable``;
    a login gets the timeout from profile.d as before. ``None`` (no such
    file) stays ``None``.
    """
    if text is None:
        return None
    line = _source_line(profile_file, " && ! shopt -q login_shell 2>/dev/null")
    return put_block(text, BASHRC_BEGIN, [line], ZSH_END)


# ---------------------------------------------------------------- reading
def _strip_comment(line):
    return _COMMENT_RE.sub("", line)


def _unquote(value):
    if value and value[0] == value[-1] and value[0] in "'\"" and len(value) >= 2:
        return value[1:-1]
    return value


def parse_line(line):
    """
    What one line does to TMOUT, or ``None`` when it does not mention it.

    Returns ``{value, readonly, exported, unset, simple}``: ``simple`` is true
    when the line consists only of TMOUT statements (so it can be taken over by
    replacing the whole line).
    """
    code = _strip_comment(line)
    if not _MENTION_RE.search(code):
        return None
    found = {"value": None, "readonly": False, "exported": False, "unset": False, "simple": True}
    for segment in _SPLIT_RE.split(code):
        if not segment.strip(BLANKS):
            continue
        bare = _KEYWORD_RE.sub("", segment)
        if bare != segment:
            found["simple"] = False  # part of an if/for/while: not a line of its own
        match = _SEGMENT_RE.match(bare)
        if not match:
            found["simple"] = False
            continue
        cmd = match.group("cmd") or ""
        # "-rx" gives attributes, "+x" takes them away: only the "-" words add one.
        flags = "".join(f for f in (match.group("flags") or "").split() if f[0] == "-")
        if match.group("value") is not None:
            found["value"] = _unquote(match.group("value"))
        found["readonly"] |= cmd == "readonly" or (cmd in ("declare", "typeset") and "r" in flags)
        found["exported"] |= cmd == "export" or (cmd in ("declare", "typeset") and "x" in flags)
        found["unset"] |= cmd == "unset"
    return found


# bash reads TMOUT with atoi() each time it prompts (eval.c read_command): C-locale
# blanks, a sign, ASCII digits, and the rest ignored ("600x" is 600, "６００" is 0);
# above 0 the timeout is on. Checked against a real bash in
# tests/unit/test_shell_render.py.
_ATOI_RE = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)")


def tmout_seconds(value):
    """
    The seconds after which bash ends an idle prompt with TMOUT ``value``, or
    ``None``. bash reads it with atoi() (eval.c): glibc's strtol() clamps an
    overflow to LONG_MIN..LONG_MAX, and the cast to int keeps the low 32 bits,
    so ``4294967297`` is 1 second and ``18446744073709551617`` no timeout.
    """
    found = _ATOI_RE.match(value) if isinstance(value, str) else None
    if not found:
        return None
    sign, digits = (-1 if found.group(1)[0] == "-" else 1), found.group(1).lstrip("+-")
    digits = digits.lstrip("0") or "0"
    # Counted before int(), which refuses more than 4300 digits.
    number = sign * (int(digits) if len(digits) <= 19 else 2**63)
    number = max(-2**63, min(2**63 - 1, number))
    seconds = (number + 2**31) % 2**32 - 2**31
    return seconds if seconds > 0 else None


def shell_files(expand, zsh_file):
    """In-root paths that may set TMOUT for a login shell, in reading order."""
    paths = [ENVIRONMENT]
    for pattern in SHELL_FILES:
        paths += expand(pattern) if "*" in pattern else [pattern]
    if zsh_file:
        paths.append(zsh_file)
    return paths


# What a login shell may read before its prompt, beyond shell_files: the
# start-up files of bash(1) INVOCATION, zsh(1) STARTUP/SHUTDOWN FILES (Debian's
# /etc/zsh and upstream's /etc), ksh93(1) and tcsh(1) STARTUP, the directories
# whose globs they expand, and the account database (group membership decides
# an exemption).
STARTUP_INPUTS = (
    "/etc/environment", "/etc/profile", "/etc/profile.d", "/etc/bash.bashrc", "/etc/bashrc",
    "/etc/zsh", "/etc/zsh/zshenv", "/etc/zsh/zprofile", "/etc/zsh/zshrc", "/etc/zsh/zlogin",
    "/etc/zshenv", "/etc/zprofile", "/etc/zshrc", "/etc/zlogin", "/etc/ksh.kshrc",
    "/etc/csh.cshrc", "/etc/csh.login", "/etc/csh", "/etc/csh/login.d",
    "/etc/passwd", "/etc/group",
)
STARTUP_GLOBS = ("/etc/profile.d/*", "/etc/csh/login.d/*")


def startup_inputs(expand):
    """Every in-root path whose change can change what a login shell ends up with."""
    found = list(STARTUP_INPUTS)
    for pattern in STARTUP_GLOBS:
        found += expand(pattern)
    return found


def scan(texts, managed=()):
    """
    Every line that sets TMOUT: ``{"lines": [...], "taken_over": [...]}``.

    ``texts`` maps path to text (``None``: missing). ``managed`` names
    idlelock's own files, reported with ``ours: True``. Lines idlelock took
    over are listed apart, as ``file:line`` and their original text.
    """
    lines, taken = [], []
    for path, text in texts.items():
        if text is None:
            continue
        for number, line in enumerate(split_lines(text), 1):
            source = f"{path}:{number}"
            mark = TAKEOVER_RE.match(line)
            if mark:
                taken.append({"source": source, "original": mark.group(2)})
                continue
            if path == ENVIRONMENT:
                # pam_env syntax, not shell: sets a plain environment variable;
                # pam_env.c skips blanks and one "export " (one space) before it.
                found = re.match(r"^[ \t]*(?:export )?TMOUT=([^ \t]*)[ \t]*$", line)
                if found:
                    lines.append({"source": source, "file": path, "line": number,
                                  "text": line, "value": _unquote(found.group(1)),
                                  "readonly": False, "exported": True, "unset": False,
                                  "simple": False, "ours": False, "environment": True})
                continue
            found = parse_line(line)
            if found is None:
                continue
            found.update({"source": source, "file": path, "line": number, "text": line,
                          "ours": path in managed, "environment": False})
            lines.append(found)
    return {"lines": lines, "taken_over": taken}


def foreign(lines):
    """The shell lines (not /etc/environment, not idlelock's own) that set TMOUT."""
    return [entry for entry in lines if not entry["ours"] and not entry["environment"]]


def static_conflicts(lines):
    """Foreign readonly TMOUT lines: each makes idlelock's value impossible or noisy."""
    return [
        {
            "source": entry["source"],
            "problem": (
                f"declares TMOUT readonly (value {entry['value']!r}): a login shell that "
                "reads it before idlelock keeps that value, one that reads it after prints "
                "'TMOUT: readonly variable'"
            ),
        }
        for entry in foreign(lines)
        if entry["readonly"]
    ]


# ---------------------------------------------------------------- takeover
def plan_takeover(texts, lines):
    """
    Comment out every foreign TMOUT line, in place, with idlelock's marker.

    Returns ``(new_texts, taken, refused)``: ``new_texts`` holds only the files
    that change, ``taken`` the ``file:line`` list, and ``refused`` the lines
    that also do something else (an ``if`` on the same line, a second command)
    and so must be edited by hand.
    """
    by_file, refused = {}, []
    for entry in foreign(lines):
        if not entry["simple"]:
            refused.append(entry["source"])
            continue
        by_file.setdefault(entry["file"], []).append(entry["line"])
    new_texts, taken = {}, []
    for path, numbers in by_file.items():
        old = split_lines(texts[path], keepends=True)
        for number in numbers:
            line = old[number - 1]  # its "\n", if any, stays at the end
            code = line.lstrip(BLANKS)
            old[number - 1] = f"{line[: len(line) - len(code)]}{TAKEOVER_MARK}{code}"
            taken.append(f"{path}:{number}")
        new_texts[path] = "".join(old)
    return new_texts, taken, refused


# ---------------------------------------------------------------- judging
_PROBE_RE = re.compile(r"IDLELOCK ([a-z]+)=(.*)")
_READONLY_ERROR_RE = re.compile(r"TMOUT.*(?:readonly|read-only|read only)|"
                                r"autologout.*read-only", re.IGNORECASE)


def probe_script(family):
    """Commands a login shell runs to report its TMOUT (``sh``) or autologout (``csh``)."""
    if family == "csh":
        return "\n".join([
            # csh expands $autologout on a one-line if even when it is unset.
            "if ( $?autologout ) then",
            '  echo "IDLELOCK value=$autologout"',
            "endif",
            "( set autologout = 0 ) >& /dev/null",
            'if ( $status != 0 ) echo "IDLELOCK readonly=1"',
            'echo "IDLELOCK groups=`id -Gn`"',
            "exit 0",
            "",
        ])
    return "\n".join([
        'if [ -n "${TMOUT+1}" ]; then echo "IDLELOCK value=$TMOUT"; fi',
        'if (unset TMOUT) 2>/dev/null; then :; else echo "IDLELOCK readonly=1"; fi',
        'if env | grep -q "^TMOUT="; then echo "IDLELOCK exported=1"; fi',
        'echo "IDLELOCK groups=$(id -Gn)"',
        "exit 0",
        "",
    ])


def parse_probe(stdout, stderr):
    """``{value, readonly, exported, groups, errors}`` from a probe's output."""
    found = {"value": None, "readonly": False, "exported": False, "groups": [], "errors": []}
    # Lines end at \n only, and the value keeps every byte the shell printed:
    # splitlines() and strip() would also cut at U+0085, U+2028, \x1c...
    for line in stdout.split("\n"):
        match = _PROBE_RE.fullmatch(line.rstrip("\r"))
        if not match:
            continue
        key, value = match.groups()
        if key == "value":
            found["value"] = value
        elif key == "groups":
            found["groups"] = [group for group in value.split(" ") if group]  # id -Gn
        else:
            found[key] = value == "1"
    found["errors"] = [line.strip() for line in stderr.splitlines()
                       if _READONLY_ERROR_RE.search(line)]
    return found


def expected(shell, policy_shell, groups):
    """The ``value`` a probe of ``shell`` must report, or ``None`` for an exempt user."""
    if set(groups) & set(policy_shell["exempt_groups"]):
        return None
    if shell == "tcsh":
        return str(csh_minutes(policy_shell["tmout"]))
    return str(int(policy_shell["tmout"]))


def judge(probes, policy_shell, non_login=False):
    """
    Problems in what the shells reported: ``(failures, warnings)``.

    ``probes`` maps a label (``bash``, ``bash as a regular user``) to a
    ``parse_probe`` result with ``shell``, ``who`` and ``login`` (see
    ``idlelock_facts.probe_shells``); a bare ``parse_probe`` is a root login
    of the shell its label names. Any readonly error fails (it is printed at
    every login). bash must end up with the policy value and readonly flag,
    for root, for a regular user and for a member of an exempt group (no
    TMOUT): and, with ``non_login`` (idlelock hooks the system bashrc), so
    must the interactive non-login bash. Other shells only warn, since
    whether they read the files at all depends on the host (Debian's zsh
    reads /etc/zsh/zprofile only, tcsh reads its own files).
    """
    failures, warnings = [], []
    for label, probe in probes.items():
        shell = probe.get("shell", label)
        login = probe.get("login", True)
        who = label if login else f"{label} (interactive, not a login)"
        if login and probe.get("who", "root") == "root":
            who = f"{label} login"
        for error in probe["errors"]:
            if not any(failure.endswith(f" prints: {error}") for failure in failures):
                failures.append(f"{who} prints: {error}")  # once, not once per user
        if not login and not non_login:
            continue  # no hook in the system bashrc: nothing to hold it to
        want = expected(shell, policy_shell, probe["groups"])
        got = probe["value"]
        if shell == "ksh" and got == "0" and not probe["readonly"]:
            got = None  # ksh93 starts every shell with TMOUT=0, i.e. off
        problem = None
        if got != want:
            variable = "autologout" if shell == "tcsh" else "TMOUT"
            problem = f"{who} gets {variable} {got!r}, not {want!r}"
        elif want is not None and policy_shell["readonly"] and not probe["readonly"]:
            problem = f"{who} gets TMOUT {got}, but not readonly"
        if problem and shell == "bash":
            failures.append(problem)
        elif problem and shell != "dash":  # dash ignores TMOUT anyway (docs/how-idle-sessions-end.md §2)
            warnings.append(problem)
    return failures, warnings
