"""idlelock_unplan: each of idlelock's edits, undone from the text alone, gives back every byte."""

import pytest

import idlelock_logind
import idlelock_shell
import idlelock_sshd
import idlelock_unplan as unplan

# Texts of the kinds that lose bytes to a careless splitter or joiner.
TEXTS = ["", "a", "a\n", "a\n\n", "\n", "a\r\nb\r\n", "a\nb", "\tx  \n  y\t", "x\x0by\x0cz\n",
         "a\u2028b\n", "# END idlelock\n"]
BEGIN, END = idlelock_shell.ZSH_BEGIN, idlelock_shell.ZSH_END


@pytest.mark.parametrize("text", TEXTS)
def test_a_hook_block_comes_out_byte_for_byte(text):
    hooked = idlelock_shell.put_block(text, BEGIN, [". /etc/profile.d/idlelock.sh"], END)
    assert idlelock_shell.put_block(hooked, BEGIN, [". /etc/profile.d/idlelock.sh"], END) == hooked
    assert unplan.remove_block("/f", hooked, BEGIN, END, lambda line: True) == (text, [])


@pytest.mark.parametrize("text", TEXTS)
def test_the_sshd_block_comes_out_byte_for_byte(text):
    tree = idlelock_sshd.walk("/s", {"/s": text}.get, lambda pattern: [])
    plan = idlelock_sshd.plan(tree, {"ClientAliveInterval": "300"}, {"/s": text}.get,
                              lambda pattern: [])
    written = plan.texts["/s"]
    after = idlelock_sshd.walk("/s", {"/s": written}.get, lambda pattern: [])
    removal = unplan.unplan_sshd(after, None, ["ClientAliveInterval"])
    assert removal.texts.get("/s", written) == text and removal.notes == []


@pytest.mark.parametrize("line", ["ClientAliveInterval 900", "  \tClientAliveInterval=900 \t ",
                                  "clientaliveinterval\t900 # site", "\x0cClientAliveInterval 9"])
def test_a_disabled_line_comes_back_exactly(line):
    for text in (f"{line}\nInclude /d/*.conf\n", f"{line}\nInclude /d/*.conf"):
        disabled = idlelock_sshd._disable_line(text, 1)
        assert disabled != text
        assert unplan.unmark(disabled, idlelock_sshd.DISABLED_RE) == (text, [1])


def test_a_line_someone_added_inside_the_block_stays_and_is_named():
    text = f"{idlelock_sshd.BLOCK_BEGIN}\nClientAliveInterval 300\nPermitRootLogin no\n" \
           f"{idlelock_sshd.BLOCK_END}\nHostKey /k\n"
    tree = idlelock_sshd.walk("/s", {"/s": text}.get, lambda pattern: [])
    removal = unplan.unplan_sshd(tree, None, ["ClientAliveInterval"])
    assert removal.texts == {"/s": "PermitRootLogin no\nHostKey /k\n"}
    assert removal.notes == ["/s: kept 'PermitRootLogin no', which someone added inside "
                             "idlelock's block"]


def test_a_block_without_its_end_is_left_alone():
    text = f"HostKey /k\n{idlelock_sshd.BLOCK_BEGIN}\nClientAliveInterval 300\n"
    assert unplan.remove_block("/s", text, idlelock_sshd.BLOCK_BEGIN, idlelock_sshd.BLOCK_END,
                               lambda line: True) == (text, [
        f"/s:2: idlelock's block has no end line ({idlelock_sshd.BLOCK_END!r}); left as it is, "
        "remove it by hand"])


def test_only_a_dropin_with_idlelocks_header_is_deleted():
    files = {"/s": "Include /d/*.conf\n", "/d/00-idlelock.conf": "ClientAliveInterval 5\n"}
    tree = idlelock_sshd.walk("/s", files.get, lambda pattern: ["/d/00-idlelock.conf"])
    removal = unplan.unplan_sshd(tree, None, ["ClientAliveInterval"])
    assert removal.texts == {}
    assert "not idlelock's file" in removal.notes[0]


def test_a_dropin_no_include_reaches_any_more_is_still_deleted():
    tree = idlelock_sshd.walk("/s", {"/s": "Include /d/*.conf\n"}.get, lambda pattern: [])
    removal = unplan.unplan_sshd(tree, idlelock_sshd.HEADER + "ClientAliveInterval 5\n", [])
    assert removal.texts == {"/d/00-idlelock.conf": None}


def test_shell_backup_matches_or_the_edit_is_kept_and_named():
    original = "\treadonly TMOUT=900  \nexport TMOUT"
    texts = {"/etc/profile.d/a.sh": original}
    lines = idlelock_shell.scan(texts)["lines"]
    taken, _, _ = idlelock_shell.plan_takeover(texts, lines)
    own = ("/etc/profile.d/idlelock.sh",)
    current = {**taken, own[0]: idlelock_shell.render_profile(5)}
    backups = {"/etc/profile.d/a.sh": original}

    exact = unplan.unplan_shell(current, backups, own)
    assert exact.texts == {"/etc/profile.d/a.sh": original, own[0]: None,
                           "/etc/profile.d/a.sh.idlelock.bak": None}
    assert exact.notes == [] and exact.restored == ["/etc/profile.d/a.sh:1",
                                                    "/etc/profile.d/a.sh:2"]

    current["/etc/profile.d/a.sh"] += "\nalias ll='ls -l'\n"
    edited = unplan.unplan_shell(current, backups, own)
    assert edited.texts["/etc/profile.d/a.sh"] == original + "\nalias ll='ls -l'\n"
    assert edited.texts["/etc/profile.d/a.sh.idlelock.bak"] is None
    assert "changed after idlelock took it over" in edited.notes[0]


def test_a_hook_line_an_admin_added_stays():
    own = ("/etc/profile.d/idlelock.sh",)
    hooked = idlelock_shell.zsh_hook("emulate sh\n", own[0])
    edited = hooked.replace(f"\n{END}", f"\nexport EDITOR=vi\n{END}")
    removal = unplan.unplan_shell({"/etc/zsh/zprofile": edited}, {}, own)
    assert removal.texts == {"/etc/zsh/zprofile": "emulate sh\nexport EDITOR=vi\n"}
    assert "export EDITOR=vi" in removal.notes[0]


def test_a_dropin_someone_added_lines_to_is_refused_naming_them():
    dropin = (idlelock_sshd.HEADER + "ClientAliveInterval 300\nPasswordAuthentication no\n"
              "# exempt_groups: ...\nMatch Group ops\n    ChannelTimeout session:*=0\n")
    files = {"/s": "Include /d/*.conf\n", "/d/00-idlelock.conf": dropin}
    tree = idlelock_sshd.walk("/s", files.get, lambda pattern: ["/d/00-idlelock.conf"])
    removal = unplan.unplan_sshd(tree, None, ["ClientAliveInterval", "ChannelTimeout"])
    assert removal.refusals == [
        "/d/00-idlelock.conf holds lines idlelock does not write (line 3: "
        "'PasswordAuthentication no'): move them to a file of your own, then remove "
        "idlelock again"]
    without = dropin.replace("PasswordAuthentication no\n", "")
    files["/d/00-idlelock.conf"] = without
    tree = idlelock_sshd.walk("/s", files.get, lambda pattern: ["/d/00-idlelock.conf"])
    removal = unplan.unplan_sshd(tree, None, ["ClientAliveInterval", "ChannelTimeout"])
    assert removal.refusals == [] and removal.texts == {"/d/00-idlelock.conf": None}


@pytest.mark.parametrize("line", ["\x0c# old note", "\u00a0# old note", "\u3000ClientAliveInterval 0"])
def test_a_line_sshd_reads_as_a_keyword_is_someone_elses(line):
    """sshd skips " \t\r\n" only: after a form feed or U+00A0 a "#" is a keyword, not a comment."""
    dropin = idlelock_sshd.HEADER + "ClientAliveInterval 300\n" + line + "\n"
    files = {"/s": "Include /d/*.conf\n", "/d/00-idlelock.conf": dropin}
    tree = idlelock_sshd.walk("/s", files.get, lambda pattern: ["/d/00-idlelock.conf"])
    removal = unplan.unplan_sshd(tree, None, ["ClientAliveInterval"])
    assert removal.refusals == [
        f"/d/00-idlelock.conf holds lines idlelock does not write (line 3: {line!r}): move "
        "them to a file of your own, then remove idlelock again"]


@pytest.mark.parametrize("text, pattern", [
    ("\u00a0# idlelock disabled: ClientAliveInterval 0\n", idlelock_sshd.DISABLED_RE),
    ("\x0c# idlelock disabled: ClientAliveInterval 0\n", idlelock_sshd.DISABLED_RE),
    ("\u00a0# idlelock-takeover: StopIdleSessionSec=5\n", idlelock_logind.TAKEOVER_RE),
    ("\u3000# idlelock-takeover: StopIdleSessionSec=5\n", idlelock_logind.TAKEOVER_RE),
])
def test_a_mark_after_what_its_reader_does_not_skip_is_not_ours(text, pattern):
    # idlelock indents a mark with what sshd (" \t\r\n") or systemd (" \t\n\r") skip only;
    # to them this line is no comment, and giving it "back" would change what they read.
    assert unplan.unmark(text, pattern) == (text, [])
