"""
idlelock reads a line the way the real sshd does: for each odd but valid form,
the walker's winning ClientAliveInterval is the value ``sshd -T`` prints.
"""

import subprocess

import pytest

import idlelock_facts
import idlelock_sshd

LINES = {
    "quoted keyword": ('"ClientAliveInterval" 7', "7"),
    "equals": ("ClientAliveInterval=7", "7"),
    "spaced equals": ("ClientAliveInterval = 7", "7"),
    "equals then space": ("ClientAliveInterval= 7", "7"),
    "space then equals": ("ClientAliveInterval =7", "7"),
    "leading tab and space": ("\t ClientAliveInterval\t7", "7"),
    "upper case": ("CLIENTALIVEINTERVAL 7", "7"),
    "trailing comment": ("ClientAliveInterval 7 # seven", "7"),
    "double-quoted value": ('ClientAliveInterval "7"', "7"),
    "single-quoted value": ("ClientAliveInterval '7'", "7"),
    "trailing form feed": ("ClientAliveInterval 7\f", "7"),
    "CRLF": ("ClientAliveInterval 7\r", "7"),
    "tabs, trailing blanks and CR": ("ClientAliveInterval\t\t7 \t\r", "7"),
    "escaped quote in a comment after the value": ('ClientAliveInterval 7 #"', "7"),
    "unmatched quote in keyword (sshd skips the line)": ('"ClientAliveInterval 7', "0"),
    "form feed in a comment": ("# was\fClientAliveInterval 7", "0"),
    "vertical tab in a comment": ("# was\vClientAliveInterval 7", "0"),
    "NEL in a comment": ("# was\x85ClientAliveInterval 7", "0"),
    "U+2029 in a comment": ("# was\u2029ClientAliveInterval 7", "0"),
    "file separator in a comment": ("# was\x1cClientAliveInterval 7", "0"),
}


@pytest.mark.parametrize("line,expected", LINES.values(), ids=LINES.keys())
def test_walker_and_sshd_agree(tmp_path, host_key, line, expected):
    config = tmp_path / "sshd_config"
    config.write_bytes(f"{line}\nHostKey {host_key}\n".encode())
    out = subprocess.run(["/usr/sbin/sshd", "-T", "-f", str(config)], capture_output=True,
                         text=True, timeout=30, check=True).stdout
    printed = dict(entry.split(" ", 1) for entry in out.splitlines())["clientaliveinterval"]
    assert printed == expected  # the table states what sshd does

    tree = idlelock_facts.sshd_tree("/", str(config))[0]
    winner = tree.winners(["ClientAliveInterval"]).get("ClientAliveInterval")
    seen = idlelock_sshd.normalize("ClientAliveInterval", winner.value) if winner else "0"
    assert seen == printed
    assert (winner.source if winner else None) == (f"{config}:1" if expected != "0" else None)


def test_get_audit_and_the_state_read_the_same_files_the_same_way(idlelock, tmp_path, host_key):
    # A quoted keyword (live to sshd) and a form feed hiding an Include (comment to sshd).
    config = tmp_path / "sshd_config"
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "10-x.conf").write_text("ClientAliveInterval 9\n")
    config.write_bytes(f'"ClientAliveInterval" 700\n# old:\fInclude {tmp_path}/d/*.conf\n'
                       f"HostKey {host_key}\n".encode())
    source = f"{config}:1"

    report = idlelock.get(config=str(config))
    assert report["sshd"]["ClientAliveInterval"] == {"value": "700", "source": source}

    result = idlelock.audit(config=str(config), timeout=600)
    finding = next(f for f in result["findings"] if f["check"] == "sshd ClientAliveInterval")
    assert finding["source"] == source and finding["actual"] == "700", finding

    # No live Include: the values go in a block at the top of the main file,
    # read before the quoted line, and no drop-in is written.
    ret = idlelock.set_sshd(config=str(config), test=True)
    assert ret["result"] is None and "commented out" not in ret["comment"]
    assert ret["changes"]["ClientAliveInterval"] == {"old": "700", "new": "300"}
    assert f"+++ {config}\n" in ret["changes"]["diff"] and "00-idlelock.conf" not in ret["changes"]["diff"]
