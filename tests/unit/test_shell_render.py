"""idlelock_shell: what it renders really works in every shell; what it reads, it reads right."""

import grp
import os
import re
import shlex
import shutil
import subprocess
import time

import pytest

import idlelock_shell as shell
import idlelock_unplan

# Every shell the profile file is written for; a missing one is reported as a skip.
SH_SHELLS = [pytest.param(s, marks=pytest.mark.skipif(not shutil.which(s), reason=f"{s} missing"))
             for s in ("sh", "dash", "bash", "zsh", "ksh")]
REPORT = 'echo "v=${TMOUT-unset}"; (unset TMOUT) 2>/dev/null && echo rw || echo ro; env | grep -c "^TMOUT=" || true'
# ComplianceAsCode's accounts_tmout patterns (RedHat declare form; the multi-line form).
CAC_DECLARE = re.compile(r"^[\s]*declare[\s]+-xr[\s]+TMOUT=([\w$]+).*$", re.M)
CAC_LINES = re.compile(r"^[\s]*TMOUT=([\w$]+)[\s]*readonly TMOUT[\s]*export TMOUT$", re.M)


def run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False, **kwargs)


@pytest.mark.parametrize("form", shell.FORMS)
@pytest.mark.parametrize("sh", SH_SHELLS)
def test_profile_sourced_twice_and_in_a_function_is_silent(sh, form, tmp_path):
    path = tmp_path / "idlelock.sh"
    path.write_text(shell.render_profile(7, form=form))
    script = f". {path}; . {path}; f() {{ . {path}; }}; f; {REPORT}"
    proc = run([sh, "-c", script])
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.split() == ["v=7", "ro", "1"]


@pytest.mark.parametrize("sh", SH_SHELLS)
def test_profile_after_a_foreign_readonly_is_silent_and_keeps_it(sh, tmp_path):
    path = tmp_path / "idlelock.sh"
    path.write_text(shell.render_profile(7))
    proc = run([sh, "-c", f"TMOUT=60; readonly TMOUT; . {path}; {REPORT}"])
    assert proc.stderr == "" and proc.stdout.split()[:2] == ["v=60", "ro"]


@pytest.mark.parametrize("sh", SH_SHELLS)
def test_exempt_group_member_gets_no_tmout(sh, tmp_path):
    member = run(["id", "-gn"]).stdout.strip()
    path = tmp_path / "idlelock.sh"
    path.write_text(shell.render_profile(7, exempt_groups=["nosuchgroup", member]))
    proc = run([sh, "-c", f". {path}; {REPORT}"])
    # ksh93 starts every shell with TMOUT=0 (off); the others leave it unset.
    assert proc.stderr == "" and proc.stdout.split()[:2] in (["v=unset", "rw"], ["v=0", "rw"])


def test_not_readonly_when_policy_says_so(tmp_path):
    path = tmp_path / "idlelock.sh"
    path.write_text(shell.render_profile(7, readonly=False))
    proc = run(["bash", "-c", f". {path}; {REPORT}"])
    assert proc.stdout.split() == ["v=7", "rw", "1"]


def test_forms_match_the_compliance_scanners():
    assert CAC_DECLARE.search(shell.render_profile(600, form="declare")).group(1) == "600"
    assert not CAC_DECLARE.search(shell.render_profile(600, form="posix"))
    assert CAC_LINES.search(shell.render_profile(600, form="posix")).group(1) == "600"


@pytest.mark.parametrize("seconds, minutes, warned", [
    (1, 1, True), (5, 1, True), (59, 1, True), (60, 1, False), (61, 1, True), (90, 1, True),
    (119, 1, True), (120, 2, False), (600, 10, False), (659, 10, True)])
def test_csh_minutes_round_down_never_below_one(seconds, minutes, warned):
    # tcsh's autologout is whole minutes: never longer than the policy, never 0 (off).
    assert shell.csh_minutes(seconds) == minutes
    assert minutes * 60 <= max(seconds, 60)
    assert f"set -r autologout = {minutes}" in shell.render_csh(seconds)
    assert (shell.csh_warning(seconds) is not None) is warned


@pytest.mark.skipif(not shutil.which("tcsh"), reason="tcsh missing")
def test_csh_file_sourced_twice_readonly(tmp_path):
    path = tmp_path / "idlelock.csh"
    path.write_text(shell.render_csh(90, exempt_groups=["nosuchgroup"]))
    proc = run(["tcsh", "-f", "-c", f"source {path}; source {path}; echo al=$autologout; "
                                    "set autologout = 9"])
    assert "al=1" in proc.stdout  # 90 s: 1 min, never the 2 min that outlast the policy
    assert "read-only" in proc.stderr  # the only error: our own attempt to change it


def test_zsh_hook_is_appended_once_and_replaced_in_place():
    once = shell.zsh_hook("# zprofile\n", "/etc/profile.d/idlelock.sh")
    assert shell.zsh_hook(once, "/etc/profile.d/idlelock.sh") == once
    moved = shell.zsh_hook(once, "/etc/profile.d/other.sh")
    assert moved.count(shell.ZSH_BEGIN) == 1 and "/etc/profile.d/other.sh" in moved
    assert shell.zsh_hook(None, "/x") is None


def test_bashrc_hook_is_appended_once_quoted_and_gives_non_login_bash_the_timeout(tmp_path):
    profile = tmp_path / "idle lock's.sh"  # a space and a quote: the path is quoted
    profile.write_text(shell.render_profile(7))
    bashrc = tmp_path / "bash.bashrc"
    once = shell.bashrc_hook("[ -z \"$PS1\" ] && return\n", str(profile))
    assert shell.bashrc_hook(once, str(profile)) == once
    assert once.count(shell.BASHRC_BEGIN) == 1 and shell.bashrc_hook(None, "/x") is None
    bashrc.write_text(once)
    # What bash does for an interactive non-login shell: it sources the system bashrc.
    proc = run(["bash", "--norc", "-i", "-c", f". {shlex.quote(str(bashrc))}; {REPORT}"])
    assert proc.stdout.split()[-3:] == ["v=7", "ro", "1"], proc.stderr


@pytest.mark.parametrize("line, expected", [
    ("TMOUT=900", {"value": "900", "readonly": False, "exported": False, "simple": True}),
    ("readonly TMOUT=900 ; export TMOUT", {"value": "900", "readonly": True, "exported": True, "simple": True}),
    ("declare -xr TMOUT=900", {"value": "900", "readonly": True, "exported": True, "simple": True}),
    ("  typeset -r TMOUT", {"value": None, "readonly": True, "exported": False, "simple": True}),
    ('export TMOUT="600"  # note', {"value": "600", "readonly": False, "exported": True, "simple": True}),
    ("if true; then readonly TMOUT=900; fi", {"value": "900", "readonly": True, "simple": False}),
    ('[ -z "$X" ] && TMOUT=5', {"value": "5", "simple": False}),
])
def test_parse_line(line, expected):
    found = shell.parse_line(line)
    assert {key: found[key] for key in expected} == expected


# Characters Python's \\s, str.split() and str.strip() take for blanks and the shells do
# not: bash, dash and zsh split words on space and tab only, so "export<U+00A0>TMOUT=600"
# is one word, a command that is not found, and TMOUT stays unset.
NOT_BLANKS = ["\u00a0", "\u3000", "\u2003", "\x85", "\x1f", "\v", "\f"]
NOT_BLANK_LINES = (
    [f"export{c}TMOUT=600" for c in NOT_BLANKS]
    + [f"readonly{c}TMOUT=600" for c in NOT_BLANKS[:3]]
    + [f"{c}TMOUT=600" for c in NOT_BLANKS[:3]]
    # Not a comment: "<U+00A0>#" is a command word, and TMOUT=600 only its environment.
    + [f"TMOUT=600 {c}# site default" for c in NOT_BLANKS[:3]]
    + ["declare -xr\u00a0TMOUT=600", "typeset -r\u3000TMOUT=600", "TMOUT=\uff16\uff10\uff10",
       "TMOUT=600\u00a0", "readonly TMOUT=600\u2003", "readonly\tTMOUT=600",
       # A keyword glued to what follows by a non-blank is one word, not a keyword.
       "then\u00a0TMOUT=600", "!\u3000TMOUT=600", "{\u2003TMOUT=600"]
)


@pytest.mark.parametrize("sh", [s for s in SH_SHELLS if s.values[0] in ("dash", "bash", "zsh")])
@pytest.mark.parametrize("line", NOT_BLANK_LINES)
def test_a_line_reads_as_the_shell_runs_it(sh, line):
    """The static reading of a line is what a real shell ends up with after running it."""
    proc = subprocess.run([sh, "-s"], input=(line + "\n" + shell.probe_script("sh")).encode(),
                          capture_output=True, timeout=30,
                          env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"})
    probe = shell.parse_probe(proc.stdout.decode(), proc.stderr.decode(errors="replace"))
    found = shell.parse_line(line) or {"value": None, "readonly": False, "exported": False}
    assert (found["value"], found["readonly"], found["exported"]) == (
        probe["value"], probe["readonly"], probe["exported"]), proc.stderr


# TMOUT value -> the seconds after which bash ends an idle prompt (atoi: a sign, C blanks,
# ASCII digits, the rest ignored), None for no timeout.
TMOUT_SECONDS = {"1": 1, "1x": 1, "+1": 1, " 1": 1, "\t1": 1, "1_0": 1, "1\u00a0": 1,
                 "\uff11": None, "\u0661": None, "\u00a01": None, "0": None, "-1": None,
                 "x1": None, "": None,
                 # strtol() clamps an overflow; atoi()'s int keeps the low 32 bits.
                 "4294967297": 1, "-4294967295": 1, "4294967296": None,
                 "18446744073709551617": None, "0" * 30 + "1": 1, "1" * 5000: None,
                 # 19 digits, each 1 mod 2**32: in long range (1 s), just past LONG_MAX and
                 # LONG_MIN (clamped: -1 and 0, no timeout).
                 "1000000001486618625": 1, "9223372041149743105": None,
                 "-9223372041149743103": None}


def test_tmout_reads_as_bash_reads_it():
    assert {value: shell.tmout_seconds(value) for value in TMOUT_SECONDS} == TMOUT_SECONDS
    assert shell.tmout_seconds(None) is None


@pytest.mark.skipif(not shutil.which("script") or not shutil.which("bash"),
                    reason="script(1) or bash missing")
def test_a_real_bash_times_out_as_tmout_seconds_says():
    """An interactive bash on a pty, idle: it exits after 1 s exactly when tmout_seconds is 1."""
    sessions = {value: subprocess.Popen(
        ["script", "-qec", "bash --norc --noprofile -i", "/dev/null"], stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={"PATH": "/usr/bin:/bin", "TMOUT": value, "LC_ALL": "C.UTF-8"})
        for value in TMOUT_SECONDS}
    time.sleep(3)  # twice the 1 s timeout and more, on a loaded machine
    ended = {}
    for value, proc in sessions.items():
        ended[value] = 1 if proc.poll() is not None else None
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        proc.stdin.close()
    assert ended == TMOUT_SECONDS


@pytest.mark.parametrize("line", ["# TMOUT=900", 'echo "$TMOUT"', "echo ${TMOUT:-0}", "PATH=/bin"])
def test_lines_that_set_nothing(line):
    assert shell.parse_line(line) is None


def test_takeover_marks_restores_and_refuses_compound_lines():
    texts = {
        "/etc/profile.d/a.sh": "x=1\n  readonly TMOUT=900\nexport TMOUT\n",
        "/etc/profile.d/b.sh": "if true; then TMOUT=5; fi\n",
        "/etc/profile.d/idlelock.sh": shell.render_profile(5),
        "/etc/environment": "TMOUT=900\n",
    }
    lines = shell.scan(texts, managed=("/etc/profile.d/idlelock.sh",))["lines"]
    new, taken, refused = shell.plan_takeover(texts, lines)
    assert taken == ["/etc/profile.d/a.sh:2", "/etc/profile.d/a.sh:3"]
    assert refused == ["/etc/profile.d/b.sh:1"]
    assert set(new) == {"/etc/profile.d/a.sh"}
    assert new["/etc/profile.d/a.sh"].splitlines()[1] == "  : # idlelock-takeover: readonly TMOUT=900"
    rescan = shell.scan({"/etc/profile.d/a.sh": new["/etc/profile.d/a.sh"]})
    assert rescan["lines"] == []
    assert [t["source"] for t in rescan["taken_over"]] == taken
    restored, numbers = idlelock_unplan.unmark(new["/etc/profile.d/a.sh"], shell.TAKEOVER_RE)
    assert (restored, numbers) == (texts["/etc/profile.d/a.sh"], [2, 3])


def test_taken_over_line_inside_an_if_keeps_the_file_valid(tmp_path):
    text = "if true; then\n  readonly TMOUT=900\nfi\n"
    lines = shell.scan({"/f.sh": text})["lines"]
    new, _, _ = shell.plan_takeover({"/f.sh": text}, lines)
    path = tmp_path / "f.sh"
    path.write_text(new["/f.sh"])
    proc = run(["dash", "-n", str(path)])
    assert proc.returncode == 0, proc.stderr


def test_static_conflicts_name_foreign_readonly_lines_only():
    texts = {"/etc/profile": "readonly TMOUT=900\nTMOUT=5\n",
             "/etc/profile.d/idlelock.sh": shell.render_profile(5)}
    lines = shell.scan(texts, managed=("/etc/profile.d/idlelock.sh",))["lines"]
    assert [c["source"] for c in shell.static_conflicts(lines)] == ["/etc/profile:1"]


def test_judge():
    policy = {"tmout": 5, "readonly": True, "exempt_groups": ["ops"]}
    good = {"value": "5", "readonly": True, "exported": True, "groups": ["root"], "errors": []}
    assert shell.judge({"bash": good}, policy) == ([], [])
    assert shell.judge({"bash": dict(good, value="900")}, policy)[0] == [
        "bash login gets TMOUT '900', not '5'"]
    assert shell.judge({"bash": dict(good, readonly=False)}, policy)[0]
    assert shell.judge({"bash": dict(good, value=None, groups=["ops"])}, policy) == ([], [])
    assert shell.judge({"ksh": dict(good, value="0", readonly=False, groups=["ops"])}, policy) == (
        [], [])
    assert shell.judge({"zsh": dict(good, value=None)}, policy) == (
        [], ["zsh login gets TMOUT None, not '5'"])
    assert shell.judge({"dash": dict(good, errors=["x: TMOUT: is read only"])}, policy)[0]


@pytest.mark.parametrize("policy_readonly, probe_readonly, failures", [
    (False, False, []),  # shell:readonly: false asks for a TMOUT the user may change
    (False, True, []),   # stricter than asked: a foreign readonly line is judged elsewhere
    (True, True, []),
    (True, False, ["bash login gets TMOUT 5, but not readonly"]),
])
def test_judge_follows_shell_readonly(policy_readonly, probe_readonly, failures):
    policy = {"tmout": 5, "readonly": policy_readonly, "exempt_groups": []}
    probe = {"value": "5", "readonly": probe_readonly, "exported": True, "groups": ["root"],
             "errors": []}
    assert shell.judge({"bash": probe}, policy) == (failures, [])
    zsh = shell.judge({"zsh": probe}, policy)
    assert zsh == ([], [f.replace("bash", "zsh") for f in failures])


def test_parse_probe():
    out = "noise\nIDLELOCK value=5\nIDLELOCK readonly=1\nIDLELOCK groups=root adm\n"
    err = "bash: no job control in this shell\n-bash: TMOUT: readonly variable\n"
    assert shell.parse_probe(out, err) == {
        "value": "5", "readonly": True, "exported": False, "groups": ["root", "adm"],
        "errors": ["-bash: TMOUT: readonly variable"]}


def test_zsh_hook_quotes_the_path_so_a_shell_runs_nothing_from_it(tmp_path):
    # Validation refuses such paths; the hook quotes every path all the same.
    witness = tmp_path / "pwned"
    path = f"/nonexistent/x;touch {witness};$(touch {witness}).sh"
    hook = shell.zsh_hook("", path)
    subprocess.run(["sh", "-c", hook], check=True, timeout=10)
    assert not witness.exists()


def test_zsh_hook_keeps_bytes_and_separators_of_the_other_lines():
    text = "# caf\udce9\fsetopt x\r\nbindkey -e\x85\n"
    hooked = shell.zsh_hook(text, "/etc/profile.d/idlelock.sh")
    assert hooked.startswith(text) and hooked.count("\n") == text.count("\n") + 3


@pytest.mark.parametrize("readonly", [True, False])
@pytest.mark.parametrize("form", shell.FORMS)
@pytest.mark.parametrize("sh", SH_SHELLS)
@pytest.mark.parametrize("where", ["top", "function"])
def test_profile_gives_the_value_the_policy_asks_for_even_from_a_function(where, sh, form,
                                                                          readonly, tmp_path):
    # A profile.d file sourced from a function (some rc files loop over
    # profile.d inside one): bash's declare and zsh's readonly would make a
    # local that vanishes when the function returns.
    path = tmp_path / "idlelock.sh"
    path.write_text(shell.render_profile(7, readonly=readonly, form=form))
    source = f". {path};" if where == "top" else f"f() {{ . {path}; }}; f;"
    proc = run([sh, "-c", f"{source} {REPORT}"])
    assert proc.stderr == ""
    assert proc.stdout.split() == ["v=7", "ro" if readonly else "rw", "1"]


# The exact text an administrator finds in the file. The same bytes are run by
# real shells right after (and, for every shell and form, by the tests above).
PROFILE_DECLARE = """\
# Managed by idlelock (Salt): close idle shells. Local edits are overwritten.
# Idle shells log out after 600 s at the prompt.
# Guarded: sourcing this twice, or after another readonly TMOUT, is silent.
if (unset TMOUT) 2>/dev/null; then
  case " $(id -Gn 2>/dev/null) " in
    *" ops "*|*" dba "*) ;;  # exempt: shell:exempt_groups
    *)
      if [ -n "${ZSH_VERSION-}" ]; then
        typeset -gxr TMOUT=600
      elif [ -n "${BASH_VERSION-}" ] && ! (local _idlelock) 2>/dev/null; then
        declare -xr TMOUT=600
      else
        TMOUT=600
        readonly TMOUT
        export TMOUT
      fi
      ;;
  esac
fi
"""


@pytest.mark.parametrize("sh", SH_SHELLS)
def test_profile_text_is_exactly_what_the_shells_run(sh, tmp_path):
    text = shell.render_profile(600, exempt_groups=["ops", "dba"], form="declare")
    assert text == PROFILE_DECLARE
    path = tmp_path / "idlelock.sh"
    path.write_text(text)
    proc = run([sh, "-c", f". {path}; {REPORT}"])
    assert proc.stderr == "" and proc.stdout.split() == ["v=600", "ro", "1"]
    posix = shell.render_profile(600, readonly=False)
    assert posix.splitlines()[4:] == [
        '  if [ -n "${ZSH_VERSION-}" ]; then', "    typeset -gx TMOUT=600", "  else",
        "    TMOUT=600", "    export TMOUT", "  fi", "fi"]


CSH = """\
# Managed by idlelock (Salt): close idle shells. Local edits are overwritten.
# Idle tcsh shells log out after 1 min (90 s in whole minutes, rounded down).
# Guarded: a readonly autologout from elsewhere (or a second sourcing) is kept.
( set autologout = 0 ) >& /dev/null
if ( $status == 0 ) then
  set _idlelock_groups = " `id -Gn` "
  if ( "$_idlelock_groups" !~ *" nosuchgroup "* && "$_idlelock_groups" !~ *" nogroup "* ) then
    set -r autologout = 1
  endif
  unset _idlelock_groups
endif
"""
# After sourcing: autologout's value (or "unset"), whether it can still be
# changed, and whether idlelock left its scratch variable behind.
CSH_REPORT = ('if ( $?autologout ) then\n echo "al=$autologout"\nelse\n echo al=unset\nendif\n'
              "( set autologout = 9 ) >& /dev/null\n"
              'if ( $status == 0 ) then\n echo rw\nelse\n echo ro\nendif\n'
              'echo "scratch=$?_idlelock_groups"\n')


def tcsh_run(tmp_path, text, **kwargs):
    path = tmp_path / "idlelock.csh"
    path.write_text(text)
    script = tmp_path / "login.csh"
    script.write_text(f"source {path}\nsource {path}\n" + CSH_REPORT)
    return run(["tcsh", "-f", str(script)], **kwargs)


@pytest.mark.skipif(not shutil.which("tcsh"), reason="tcsh missing")
def test_csh_text_is_exactly_what_tcsh_runs(tmp_path):
    text = shell.render_csh(90, exempt_groups=["nosuchgroup", "nogroup"])
    assert text == CSH
    proc = tcsh_run(tmp_path, text)
    assert (proc.stdout.split(), proc.stderr) == (["al=1", "ro", "scratch=0"], "")


@pytest.mark.skipif(not shutil.which("tcsh"), reason="tcsh missing")
@pytest.mark.parametrize("readonly, exempt, want", [
    (True, [], ["al=1", "ro", "scratch=0"]),
    (False, [], ["al=1", "rw", "scratch=0"]),       # shell:readonly false: the user may change it
    (False, ["nosuchgroup", "othergroup"], ["al=1", "rw", "scratch=0"]),
])
def test_csh_file_in_tcsh(tmp_path, readonly, exempt, want):
    proc = tcsh_run(tmp_path, shell.render_csh(90, readonly=readonly, exempt_groups=exempt))
    assert (proc.stdout.split(), proc.stderr) == (want, "")


@pytest.mark.skipif(not shutil.which("tcsh") or os.geteuid() != 0,
                    reason="tcsh missing, or not root (a supplementary group needs root)")
def test_csh_exempts_a_member_through_a_supplementary_group(tmp_path):
    # The exempt group is only a supplementary group of this login, not its primary one.
    gid = grp.getgrnam("nogroup").gr_gid
    text = shell.render_csh(90, exempt_groups=["nosuchgroup", "nogroup"])
    proc = tcsh_run(tmp_path, text, extra_groups=[gid])
    assert (proc.stdout.split(), proc.stderr) == (["al=unset", "rw", "scratch=0"], "")


@pytest.mark.skipif(not shutil.which("bash"), reason="bash missing")
def test_bashrc_hook_is_skipped_by_a_login_bash(tmp_path):
    # Debian's /etc/profile reads the system bashrc before /etc/profile.d: a
    # login that took TMOUT (readonly) there would make every later TMOUT line
    # in profile.d print "TMOUT: readonly variable". A login gets it from profile.d.
    profile = tmp_path / "idlelock.sh"
    profile.write_text(shell.render_profile(7))
    bashrc = tmp_path / "bash.bashrc"
    bashrc.write_text(shell.bashrc_hook("", str(profile)))
    proc = run(["bash", "--login", "--noprofile", "--norc", "-c", f". {bashrc}; {REPORT}"])
    assert (proc.stdout.split(), proc.stderr) == (["v=unset", "rw", "0"], "")
