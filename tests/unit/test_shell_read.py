"""
idlelock_shell reading the files the way the shells do: which files, which
lines set TMOUT and how, which lines can be taken over without breaking the
file, and the hook blocks it keeps in place.
"""

import fnmatch
import shutil
import subprocess

import pytest

import idlelock_shell as shell

# A host's files, for an ``expand`` that globs like idlelock_system.expand_glob
# (sorted, only what exists).
HOST = ["/etc/profile.d/a.sh", "/etc/profile.d/b.sh", "/etc/profile.d/readme.txt",
        "/etc/csh/login.d/x.csh"]


def expand(pattern):
    return sorted(path for path in HOST if fnmatch.fnmatch(path, pattern))


def test_shell_files_in_the_order_bash_reads_them():
    assert shell.shell_files(expand, "/etc/zsh/zprofile") == [
        "/etc/environment", "/etc/profile", "/etc/profile.d/a.sh", "/etc/profile.d/b.sh",
        "/etc/bash.bashrc", "/etc/bashrc", "/etc/zsh/zprofile"]
    # No zsh start-up file configured (zsh not installed): nothing appended.
    assert shell.shell_files(expand, "")[-1] == "/etc/bashrc"


def test_startup_inputs_name_every_start_up_file_and_each_file_the_globs_expand_to():
    # A change in any of them can change what a login ends up with: the probe
    # cache is keyed on all of them.
    assert shell.startup_inputs(expand) == [
        *shell.STARTUP_INPUTS, "/etc/profile.d/a.sh", "/etc/profile.d/b.sh",
        "/etc/profile.d/readme.txt", "/etc/csh/login.d/x.csh"]


@pytest.mark.parametrize("line, expected", [
    # A one-line case: the readonly arm after an empty `;;` segment is still read.
    ("case $USER in root) ;; *) readonly TMOUT=900 ;; esac",
     {"value": "900", "readonly": True, "exported": False, "unset": False, "simple": False}),
    # declare -x exports, it does not make TMOUT readonly.
    ("declare -x TMOUT=900",
     {"value": "900", "readonly": False, "exported": True, "unset": False, "simple": True}),
    ("typeset -x TMOUT=900",
     {"value": "900", "readonly": False, "exported": True, "unset": False, "simple": True}),
    ("typeset -r -x TMOUT=900",
     {"value": "900", "readonly": True, "exported": True, "unset": False, "simple": True}),
    # Each statement adds to what the line does: export first, readonly after.
    ("export TMOUT=900; readonly TMOUT",
     {"value": "900", "readonly": True, "exported": True, "unset": False, "simple": True}),
    ("unset TMOUT",
     {"value": None, "readonly": False, "exported": False, "unset": True, "simple": True}),
    ("unset TMOUT; TMOUT=5",
     {"value": "5", "readonly": False, "exported": False, "unset": True, "simple": True}),
    # The body of a multi-line if: the keyword makes it part of a bigger statement.
    ("then readonly TMOUT=900",
     {"value": "900", "readonly": True, "exported": False, "unset": False, "simple": False}),
    # Quotes are shell quoting: an empty quoted value is empty; letters are letters.
    ('TMOUT=""', {"value": "", "readonly": False, "exported": False, "unset": False,
                  "simple": True}),
    ("TMOUT=''", {"value": "", "readonly": False, "exported": False, "unset": False,
                  "simple": True}),
    ("TMOUT=XX", {"value": "XX", "readonly": False, "exported": False, "unset": False,
                  "simple": True}),
    ('TMOUT="9"', {"value": "9", "readonly": False, "exported": False, "unset": False,
                   "simple": True}),
])
def test_parse_line_reads_every_statement(line, expected):
    assert shell.parse_line(line) == expected


def test_readonly_empty_value_is_named_with_its_empty_value():
    lines = shell.scan({"/etc/profile": 'readonly TMOUT=""\n'})["lines"]
    assert shell.static_conflicts(lines)[0]["problem"].startswith(
        "declares TMOUT readonly (value ''): ")


def test_scan_reads_on_past_missing_files_and_other_lines():
    texts = {"/etc/environment": "LANG=C\nexport TMOUT=300\n", "/etc/profile": None,
             "/etc/profile.d/a.sh": "umask 022\nreadonly TMOUT=900\n"}
    assert shell.scan(texts) == {"lines": [
        # pam_env reads a leading "export" as noise (pam_env.conf(5)).
        {"source": "/etc/environment:2", "file": "/etc/environment", "line": 2,
         "text": "export TMOUT=300", "value": "300", "readonly": False, "exported": True,
         "unset": False, "simple": False, "ours": False, "environment": True},
        {"source": "/etc/profile.d/a.sh:2", "file": "/etc/profile.d/a.sh", "line": 2,
         "text": "readonly TMOUT=900", "value": "900", "readonly": True, "exported": False,
         "unset": False, "simple": True, "ours": False, "environment": False},
    ], "taken_over": []}
    # A missing file first, a file with a line after it.
    assert [entry["source"] for entry in shell.scan(
        {"/etc/bashrc": None, "/etc/profile": "TMOUT=5\n"})["lines"]] == ["/etc/profile:1"]


def test_takeover_skips_a_refused_line_and_takes_the_next_and_names_the_original():
    texts = {"/etc/profile.d/a.sh": "if true; then TMOUT=5; fi\n",
             "/etc/profile.d/b.sh": "  readonly TMOUT=900"}  # no final newline
    lines = shell.scan(texts)["lines"]
    new, taken, refused = shell.plan_takeover(texts, lines)
    assert refused == ["/etc/profile.d/a.sh:1"]
    assert taken == ["/etc/profile.d/b.sh:1"]
    assert new == {"/etc/profile.d/b.sh": "  : # idlelock-takeover: readonly TMOUT=900"}
    assert shell.scan(new)["taken_over"] == [
        {"source": "/etc/profile.d/b.sh:1", "original": "readonly TMOUT=900"}]


@pytest.mark.skipif(not shutil.which("dash"), reason="dash missing")
def test_the_body_line_of_a_multi_line_if_is_refused_so_the_file_stays_valid(tmp_path):
    # Marking "then readonly TMOUT=900" would comment out the `then`: a broken
    # /etc/profile for every login. It is named for a manual edit instead.
    text = 'if [ "$USER" = root ]\nthen readonly TMOUT=900\nfi\n'
    new, taken, refused = shell.plan_takeover({"/f.sh": text}, shell.scan({"/f.sh": text})["lines"])
    assert (new, taken, refused) == ({}, [], ["/f.sh:2"])
    path = tmp_path / "f.sh"
    path.write_text(text)
    assert subprocess.run(["dash", "-n", str(path)], timeout=10).returncode == 0


def test_a_hook_block_emptied_by_hand_is_filled_in_place_not_appended_again():
    text = "emulate sh\n" + shell.ZSH_BEGIN + "\n" + shell.ZSH_END + "\nexport B=2\n"
    assert shell.zsh_hook(text, "/p.sh") == (
        "emulate sh\n" + shell.ZSH_BEGIN + "\nif [ -r /p.sh ]; then . /p.sh; fi\n"
        + shell.ZSH_END + "\nexport B=2\n")


@pytest.mark.parametrize("line", ["readonly TMOUT=900;\r", "readonly TMOUT=900; \u00a0",
                                  "\freadonly TMOUT=900", "\u00a0readonly TMOUT=900"])
def test_a_line_with_a_stray_command_is_named_not_commented_out(line):
    # bash runs "\r" (a CRLF line after ";") or a no-break space as a command,
    # or glues a leading \f or no-break space to "readonly": "command not found"
    # at every login. The line does more than set
    # TMOUT, so it is named for a manual edit, never silently commented out.
    assert shell.parse_line(line)["simple"] is False
    new, taken, refused = shell.plan_takeover({"/f.sh": line + "\n"},
                                              shell.scan({"/f.sh": line + "\n"})["lines"])
    assert (new, taken, refused) == ({}, [], ["/f.sh:1"])


def test_typeset_plus_r_does_not_make_tmout_readonly():
    assert shell.parse_line("typeset +r -x TMOUT=900")["readonly"] is False
