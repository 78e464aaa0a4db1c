"""
What a user reads from the shell part: the judge's verdict per login shell, the
expected value per shell, conflict messages, and the zsh hook it edits in place, to the character.
"""

import shutil
import subprocess

import pytest

import idlelock_shell as shell

POLICY = {"tmout": 90, "readonly": True, "exempt_groups": ["ops"]}


def probe(value, readonly=True, groups=("root",), errors=()):
    return {"value": value, "readonly": readonly, "exported": True, "groups": list(groups),
            "errors": list(errors)}


@pytest.mark.parametrize("name, got, verdict", [
    ("bash", probe("90"), ([], [])),
    ("bash", probe("0", readonly=False), (["bash login gets TMOUT '0', not '90'"], [])),
    ("bash", probe("90", readonly=False), (["bash login gets TMOUT 90, but not readonly"], [])),
    ("zsh", probe("60"), ([], ["zsh login gets TMOUT '60', not '90'"])),
    ("ksh", probe("90"), ([], [])),
    # ksh93 starts every shell with TMOUT=0, i.e. off: reported as unset.
    ("ksh", probe("0", readonly=False), ([], ["ksh login gets TMOUT None, not '90'"])),
    ("ksh", probe("0"), ([], ["ksh login gets TMOUT '0', not '90'"])),
    # tcsh counts minutes: 90 s is 1 minute, rounded down (never longer than the policy).
    ("tcsh", probe("1"), ([], [])),
    ("tcsh", probe("2"), ([], ["tcsh login gets autologout '2', not '1'"])),
    ("tcsh", probe(None), ([], ["tcsh login gets autologout None, not '1'"])),
    ("dash", probe("600"), ([], [])),  # dash ignores TMOUT
    ("dash", probe("90", errors=["/etc/profile.d/x.sh: TMOUT: is read only"]),
     (["dash login prints: /etc/profile.d/x.sh: TMOUT: is read only"], [])),
    ("bash", probe(None, groups=("root", "ops")), ([], [])),  # exempt: no TMOUT wanted
    ("bash", probe("90", groups=("ops",)), (["bash login gets TMOUT '90', not None"], [])),
])
def test_judge_per_login_shell(name, got, verdict):
    assert shell.judge({name: got}, POLICY) == verdict


@pytest.mark.parametrize("name, groups, want", [
    ("bash", ["root"], "90"), ("zsh", ["root"], "90"), ("tcsh", ["root"], "1"),
    ("tcsh", ["ops"], None), ("bash", ["wheel", "ops"], None),
])
def test_expected_value_per_shell(name, groups, want):
    assert shell.expected(name, POLICY, groups) == want


def test_probe_without_flags_reads_as_not_readonly_not_exported():
    assert shell.parse_probe("IDLELOCK value=5\n", "") == {
        "value": "5", "readonly": False, "exported": False, "groups": [], "errors": []}


def test_static_conflict_message():
    lines = shell.scan({"/etc/profile": "readonly TMOUT=900\n"})["lines"]
    assert shell.static_conflicts(lines) == [{
        "source": "/etc/profile:1",
        "problem": "declares TMOUT readonly (value '900'): a login shell that reads it before "
                   "idlelock keeps that value, one that reads it after prints "
                   "'TMOUT: readonly variable'"}]


def test_zsh_hook_replaces_its_block_in_place_and_keeps_the_rest():
    old = shell.zsh_hook("", "/etc/profile.d/old.sh")
    # An unrelated "# END idlelock" before the block (e.g. another idlelock marker).
    text = "# END idlelock\nexport A=1\n" + old + "export B=2\n"
    new = shell.zsh_hook(text, "/etc/profile.d/idlelock.sh")
    assert new == ("# END idlelock\nexport A=1\n" + shell.ZSH_BEGIN + "\n"
                   "if [ -r /etc/profile.d/idlelock.sh ]; then . /etc/profile.d/idlelock.sh; fi\n"
                   + shell.ZSH_END + "\nexport B=2\n")


def test_zsh_hook_is_appended_after_the_existing_lines():
    assert shell.zsh_hook("emulate sh\n", "/p.sh") == (
        "emulate sh\n" + shell.ZSH_BEGIN + "\nif [ -r /p.sh ]; then . /p.sh; fi\n"
        + shell.ZSH_END + "\n")


def test_unknown_form_is_a_clear_error():
    with pytest.raises(ValueError, match=r"^unknown form 'typeset'$"):
        shell.render_profile(5, form="typeset")


@pytest.mark.parametrize("line", ["\u00a0TMOUT=300", "export\u00a0TMOUT=300", "export\tTMOUT=300",
                                  "\x0cTMOUT=300", "export  TMOUT=300"])
def test_etc_environment_lines_pam_env_skips(line):
    # pam_env.c skips " \n\t" and then exactly "export " (one space); the key must be
    # [A-Za-z0-9_], so each of these sets nothing.
    assert shell.scan({"/etc/environment": line + "\n"})["lines"] == []


def test_a_takeover_mark_after_a_non_blank_is_not_ours():
    # To the shell "<U+00A0>:" is a command word (not found): the line is no no-op of ours.
    text = "\u00a0: # idlelock-takeover: TMOUT=5\n  : # idlelock-takeover: TMOUT=6\n"
    assert shell.scan({"/etc/profile": text})["taken_over"] == [
        {"source": "/etc/profile:2", "original": "TMOUT=6"}]


def test_the_probe_reads_lines_as_the_shell_printed_them():
    # Lines end at \n only: a value holding \x1c or U+2028 is kept whole, and groups
    # are the names `id -Gn` separates with spaces.
    found = shell.parse_probe("IDLELOCK value=600\x1c7\nIDLELOCK groups=a\u00a0b c\r\n", "")
    assert found["value"] == "600\x1c7" and found["groups"] == ["a\u00a0b", "c"]
    assert shell.parse_probe("IDLELOCK value=6\u20280\n", "")["value"] == "6\u20280"


def test_etc_environment_is_read_as_pam_env():
    assert shell.scan({"/etc/environment": "TMOUT=300\n"}) == {"lines": [{
        "source": "/etc/environment:1", "file": "/etc/environment", "line": 1,
        "text": "TMOUT=300", "value": "300", "readonly": False, "exported": True,
        "unset": False, "simple": False, "ours": False, "environment": True}], "taken_over": []}


@pytest.mark.skipif(not shutil.which("bash"), reason="bash missing")
@pytest.mark.parametrize("setup, want", [
    ("", {"value": None, "readonly": False, "exported": False}),
    ("TMOUT=5", {"value": "5", "readonly": False, "exported": False}),
    ("export TMOUT=5", {"value": "5", "readonly": False, "exported": True}),
    ("readonly TMOUT=5; export TMOUT", {"value": "5", "readonly": True, "exported": True}),
])
def test_the_sh_probe_reports_what_the_shell_has(setup, want):
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-s"], input=setup + "\n"
                          + shell.probe_script("sh"), capture_output=True, text=True, timeout=30,
                          env={"PATH": "/usr/bin:/bin"})
    found = shell.parse_probe(proc.stdout, proc.stderr)
    assert {key: found[key] for key in want} == want
    assert found["groups"] and found["errors"] == [] and proc.returncode == 0


@pytest.mark.skipif(not shutil.which("tcsh"), reason="tcsh missing")
@pytest.mark.parametrize("setup, want", [
    ("", {"value": None, "readonly": False}),
    ("set autologout = 2", {"value": "2", "readonly": False}),
    ("set -r autologout = 2", {"value": "2", "readonly": True}),
])
def test_the_csh_probe_reports_what_tcsh_has(setup, want):
    proc = subprocess.run(["tcsh", "-f"], input=setup + "\n" + shell.probe_script("csh"),
                          capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
    found = shell.parse_probe(proc.stdout, proc.stderr)
    assert {key: found[key] for key in want} == want
    assert found["groups"] and proc.returncode == 0, proc.stderr


def login(value, who="root", shell_name="bash", is_login=True, errors=()):
    """A probe as idlelock_facts.probe_shells labels it: with shell, who and login."""
    return dict(probe(value, errors=errors), shell=shell_name, who=who, login=is_login)


def test_judge_names_each_login_as_the_report_shows_it():
    probes = {
        "bash": login("90"),
        "bash as a regular user": login(None, who="a regular user"),
        "bash -i": login(None, is_login=False),
        "zsh as a regular user": login("60", who="a regular user", shell_name="zsh"),
    }
    assert shell.judge(probes, POLICY, non_login=True) == (
        ["bash as a regular user gets TMOUT None, not '90'",
         "bash -i (interactive, not a login) gets TMOUT None, not '90'"],
        ["zsh as a regular user gets TMOUT '60', not '90'"])


def test_non_login_bash_is_judged_only_when_the_system_bashrc_is_hooked():
    probes = {"bash -i": login(None, is_login=False),
              "bash -i as a regular user": login(None, who="a regular user", is_login=False),
              "bash as a regular user": login("900", who="a regular user")}
    later = ["bash as a regular user gets TMOUT '900', not '90'"]
    assert shell.judge(probes, POLICY) == (later, [])
    assert shell.judge(probes, POLICY, non_login=False) == (later, [])


def test_a_readonly_error_every_login_prints_is_named_once_after_the_first():
    error = "/etc/profile.d/x.sh: line 1: TMOUT: readonly variable"
    probes = {"bash": login("90", errors=[error]),
              "bash as a regular user": login("90", who="a regular user", errors=[error]),
              "bash -i": login("90", is_login=False, errors=[error, "bash: TMOUT: read only"])}
    assert shell.judge(probes, POLICY)[0] == [
        f"bash login prints: {error}",
        "bash -i (interactive, not a login) prints: bash: TMOUT: read only"]


@pytest.mark.parametrize("seconds, warning", [
    (30, "tcsh counts autologout in whole minutes: 30 s is under a minute, so tcsh logs out "
         "after 1 min"),
    (150, "tcsh counts autologout in whole minutes: 150 s becomes 2 min (120 s)"),
    (659, "tcsh counts autologout in whole minutes: 659 s becomes 10 min (600 s)"),
    (600, None),
])
def test_csh_warning_says_what_tcsh_does_instead(seconds, warning):
    assert shell.csh_warning(seconds) == warning


def test_probe_value_keeps_every_character_the_shell_printed():
    # TMOUT="600X": bash waits 600 s, but the value is not the policy's; the
    # judge sees exactly what the login has.
    assert shell.parse_probe("IDLELOCK value=600X\r\n", "")["value"] == "600X"
    assert shell.judge({"bash": probe("90X")}, POLICY)[0] == ["bash login gets TMOUT '90X', not '90'"]
