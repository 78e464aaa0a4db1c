"""The one reader of ``sshd -T`` output and the exempt_groups Match block; sshd as oracle."""

import os
import shutil
import subprocess

import pytest

import idlelock_sshd

SSHD = "/usr/sbin/sshd"

# Excerpts of real `sshd -T` output for one configuration (ClientAliveInterval 300,
# ChannelTimeout session:*=300 direct-tcpip=600, UnusedConnectionTimeout 0).
OUTPUT_10_3 = """port 22
listenaddress [::]:22
listenaddress 0.0.0.0:22
usepam no
clientaliveinterval 300
clientalivecountmax 3
unusedconnectiontimeout none
hostkey /etc/ssh/ssh_host_ecdsa_key
hostkey /etc/ssh/ssh_host_ed25519_key
channeltimeout session:*=300 direct-tcpip=600
"""
OUTPUT_10_6 = """Port 22
ListenAddress [::]:22
ListenAddress 0.0.0.0:22
UsePAM no
ClientAliveInterval 300
ClientAliveCountMax 3
UnusedConnectionTimeout none
HostKey /etc/ssh/ssh_host_ecdsa_key
HostKey /etc/ssh/ssh_host_ed25519_key
ChannelTimeout session:*=300 direct-tcpip=600
"""
EXPECTED = {
    "port": "22",
    "listenaddress": "[::]:22",  # printed twice: the first line is kept
    "usepam": "no",
    "clientaliveinterval": "300",
    "clientalivecountmax": "3",
    "unusedconnectiontimeout": "none",
    "hostkey": "/etc/ssh/ssh_host_ecdsa_key",
    "channeltimeout": "session:*=300 direct-tcpip=600",
}


@pytest.mark.parametrize("output", [OUTPUT_10_3, OUTPUT_10_6], ids=["10.3-lower", "10.6-mixed"])
def test_reader_folds_keywords_as_sshd_does(output):
    assert idlelock_sshd.read_effective(output) == EXPECTED


def test_reader_finds_every_managed_keyword_in_the_10_6_form():
    values = idlelock_sshd.read_effective(OUTPUT_10_6)
    for keyword in ("ClientAliveInterval", "ClientAliveCountMax", "ChannelTimeout",
                    "UnusedConnectionTimeout"):
        assert values[keyword.lower()] is not None


@pytest.mark.parametrize("line", ["channeltimeout none", "ChannelTimeout none", "ChannelTimeout NONE"])
def test_channel_timeout_none_reads_as_unset_like_9_2_prints_it(line):
    assert idlelock_sshd.read_effective(f"usepam no\n{line}\n") == {"usepam": "no"}


def test_reader_keeps_what_sshd_prints_around_a_value():
    # sshd prints "keyword value": only its own whitespace is trimmed, a U+00A0 stays.
    assert idlelock_sshd.read_effective("banner /etc/issue\u00a0\nchrootdirectory \u3000/srv\n") == {
        "banner": "/etc/issue\u00a0", "chrootdirectory": "\u3000/srv"}


def test_normalize_trims_only_what_sshd_trims():
    # sshd drops trailing " \t\r\n\f" from a line; a U+00A0 is part of the value.
    assert idlelock_sshd.normalize("Banner", "/etc/issue\u00a0") == "/etc/issue\u00a0"
    assert idlelock_sshd.normalize("Banner", "/etc/issue \t\x0c") == "/etc/issue"


def test_reader_splits_on_newline_only():
    # A carriage return is part of a value to sshd, not a line end.
    assert idlelock_sshd.read_effective("banner a\rclientaliveinterval 1\n") == {
        "banner": "a\rclientaliveinterval 1"}


@pytest.mark.parametrize("value,exempt", [
    ("session:*=300", "session:*=0"),
    ("session:*=300 direct-tcpip=600", "direct-tcpip=600"),
    ("session:shell=300 session:command=300 x11-connection=60", "x11-connection=60"),
    ("*=300", "session:*=0"),
    ("direct-tcpip=60 session:subsystem:sftp=5 global=900", "direct-tcpip=60 global=900"),
    # One entry to sshd (it splits on space and tab): a session entry, dropped whole.
    ("session:*=300\u00a0direct-tcpip=600", "session:*=0"),
    ("direct-tcpip=600\u3000session:*=300 x11-connection=60",
     "direct-tcpip=600\u3000session:*=300 x11-connection=60"),
])
def test_exempt_members_keep_every_entry_but_those_that_close_sessions(value, exempt):
    assert idlelock_sshd.exempt_channel_timeout(value) == exempt


def test_dropin_ends_with_the_exemption_block():
    directives = {"ClientAliveInterval": "300", "ChannelTimeout": "session:*=300"}
    block = idlelock_sshd.exemption_block(directives, ["ops", "dba"])
    text = idlelock_sshd.render_dropin(directives, block)

    assert text.endswith("ChannelTimeout session:*=300\n" + idlelock_sshd.EXEMPT_COMMENT
                         + "Match Group ops,dba\n    ChannelTimeout session:*=0\n")
    files = {"/etc/ssh/sshd_config": "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n",
             "/etc/ssh/sshd_config.d/00-idlelock.conf": text,
             "/etc/ssh/sshd_config.d/50-site.conf": "ClientAliveCountMax 2\n"}
    tree = idlelock_sshd.walk("/etc/ssh/sshd_config", files.get,
                              lambda pattern: sorted(p for p in files if p.endswith(".conf")))
    # The Match block ends with the drop-in: the next drop-in and the main file stay global.
    winners = tree.winners(["ClientAliveCountMax", "PermitRootLogin", "ChannelTimeout"])
    assert winners["ClientAliveCountMax"].source == "/etc/ssh/sshd_config.d/50-site.conf:1"
    assert winners["PermitRootLogin"].source == "/etc/ssh/sshd_config:2"
    (keyword, directive), = tree.match_overrides(["ChannelTimeout"])
    assert idlelock_sshd.is_own(directive) and directive.match.value == "Group ops,dba"


@pytest.mark.parametrize("directives,groups", [
    ({"ChannelTimeout": "session:*=300"}, []),
    ({"ChannelTimeout": "none"}, ["ops"]),
    ({"ClientAliveInterval": "300"}, ["ops"]),
])
def test_no_block_without_groups_or_without_a_channel_timeout(directives, groups):
    assert idlelock_sshd.exemption_block(directives, groups) is None
    assert "Match" not in idlelock_sshd.render_dropin(directives, None)


def _fs(files):
    return files.get, lambda pattern: sorted(p for p in files if p.startswith(pattern[:-6]))


@pytest.mark.parametrize("main,placed", [
    ("Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\n", True),
    # A Match before the Include: the main-file layout, where no Match can be placed safely.
    ("Match User x\n  X11Forwarding no\nInclude /etc/ssh/sshd_config.d/*.conf\n", False),
    ("UsePAM yes\n", False),
])
def test_plan_places_the_block_only_in_the_dropin(main, placed):
    files = {"/etc/ssh/sshd_config": main}
    read, expand = _fs(files)
    tree = idlelock_sshd.walk("/etc/ssh/sshd_config", read, expand)
    directives = {"ChannelTimeout": "session:*=300"}

    plan = idlelock_sshd.plan(tree, directives, read, expand, exempt_groups=["ops"])

    assert (plan.exemption is not None) is placed
    assert ("Match Group ops" in "".join(plan.texts.values())) is placed
    assert tree.main in plan.texts or placed


def test_the_main_layout_gets_no_block_even_with_a_dropin_directory():
    files = {"/etc/ssh/sshd_config": "Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\n"}
    read, expand = _fs(files)
    tree = idlelock_sshd.walk("/etc/ssh/sshd_config", read, expand)

    plan = idlelock_sshd.plan(tree, {"ChannelTimeout": "session:*=300"}, read, expand,
                              layout="main", exempt_groups=["ops"])

    assert plan.exemption is None and plan.target == tree.main
    assert "Match" not in "".join(t for t in plan.texts.values() if t)


@pytest.mark.skipif(not os.access(SSHD, os.X_OK) or not shutil.which("ssh-keygen"),
                    reason="no sshd here: the literal cases above still run")
def test_the_real_sshd_keeps_unicode_spaces_in_values_and_entries(tmp_path):
    """sshd -T is the oracle: what it prints, the reader reads and the normalizer predicts."""
    key = tmp_path / "hostkey"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    config = tmp_path / "sshd_config"
    config.write_bytes(f"HostKey {key}\nBanner /etc/issue\u00a0\nChrootDirectory \u3000/srv\n"
                       "ChannelTimeout session:*=600 x11-connection=5\x0c\n".encode())
    out = subprocess.run([SSHD, "-T", "-f", str(config)], capture_output=True, timeout=30,
                         check=True).stdout.decode("utf-8", "surrogateescape")
    tree = idlelock_sshd.walk(str(config), lambda path: config.read_text(), lambda pattern: [])
    printed = idlelock_sshd.read_effective(out)
    for keyword, directive in tree.winners(["Banner", "ChrootDirectory", "ChannelTimeout"]).items():
        assert printed[keyword.lower()] == idlelock_sshd.normalize(keyword, directive.value)
    assert printed["banner"] == "/etc/issue\u00a0" and printed["chrootdirectory"] == "\u3000/srv"
    # One entry to sshd: "600<U+00A0>x11-connection=5" is no time, and sshd refuses the file.
    config.write_bytes(f"HostKey {key}\nChannelTimeout session:*=600\u00a0x11-connection=5\n"
                       .encode())
    refused = subprocess.run([SSHD, "-T", "-f", str(config)], capture_output=True, timeout=30)
    assert refused.returncode != 0
    assert idlelock_sshd.list_entries("session:*=600\u00a0x11-connection=5") == [
        "session:*=600\u00a0x11-connection=5"]
