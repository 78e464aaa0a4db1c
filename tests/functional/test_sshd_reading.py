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
