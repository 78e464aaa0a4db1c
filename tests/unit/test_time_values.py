"""
Accepted time values resolve to the seconds a user meant, as sshd counts them.

``timeout: 10m`` is the README's own example: it must become 600 s in every
part (sshd, TMOUT, logind), not merely pass validation. The oracle is the real
sshd where one is installed: it converts the same strings in ``sshd -T``.
"""

import os
import shutil
import subprocess

import pytest

import idlelock_policy as policy
import idlelock_sshd

V92 = (9, 2, 1)
SSHD = "/usr/sbin/sshd"

# sshd time format (sshd_config(5) TIME FORMATS): units s m h d w, either case.
TIMES = [
    ("90", 90), ("30s", 30), ("10m", 600), ("10M", 600), ("2h", 7200), ("2H", 7200),
    ("1d", 86400), ("1w", 604800), ("1h30m", 5400), ("1m30s", 90), ("5m5", 305),
]


@pytest.mark.parametrize("text, seconds", TIMES)
def test_parse_seconds_counts_like_sshd(text, seconds):
    assert policy.parse_seconds(text) == seconds
    assert policy.sshd_time_seconds(text) == seconds


@pytest.mark.parametrize("text, seconds", TIMES)
def test_timeout_reaches_every_part_in_seconds(text, seconds, defaults):
    resolved, errors, _ = policy.resolve({"timeout": text}, defaults, V92)
    assert errors == []
    assert resolved["timeout"] == seconds
    assert resolved["shell"]["tmout"] == seconds
    assert resolved["logind"]["stop_idle_session_sec"] == seconds
    assert resolved["sshd"]["channel_timeout"] == [f"session:*={seconds}"]
    assert resolved["sshd"]["unused_connection_timeout"] == seconds
    assert resolved["sshd"]["client_alive_interval"] == min(seconds, 300)
    directives = policy.sshd_directives(resolved["sshd"])
    assert directives["ChannelTimeout"] == f"session:*={seconds}"


@pytest.mark.parametrize("raw, path, value", [
    ({"sshd": {"client_alive_interval": "5m"}}, ("sshd", "client_alive_interval"), 300),
    ({"sshd": {"unused_connection_timeout": "1h"}}, ("sshd", "unused_connection_timeout"), 3600),
    ({"sshd": {"channel_timeout": {"session:shell": "10m"}}}, ("sshd", "channel_timeout"),
     ["session:shell=600"]),
    ({"sshd": {"channel_timeout": ["session:*=600", "x11-connection=1h"]}},
     ("sshd", "channel_timeout"), ["session:*=600", "x11-connection=3600"]),
    ({"shell": {"tmout": "10m"}}, ("shell", "tmout"), 600),
    ({"logind": {"stop_idle_session_sec": "10m"}}, ("logind", "stop_idle_session_sec"), 600),
    ({"timeout": 3}, ("sshd", "client_alive_interval"), 3),
    ({"timeout": 300}, ("sshd", "client_alive_interval"), 300),
    ({"timeout": 301}, ("sshd", "client_alive_interval"), 300),
])
def test_each_time_key_resolves_to_seconds(raw, path, value, defaults):
    resolved, errors, _ = policy.resolve(raw, defaults, V92)
    assert errors == []
    section, key = path
    assert resolved[section][key] == value


@pytest.mark.parametrize("keyword, text, shown", [
    ("ClientAliveInterval", "5m", "300"),
    ("UnusedConnectionTimeout", "1h", "3600"),
    ("UnusedConnectionTimeout", "0", "none"),
    ("UnusedConnectionTimeout", "none", "none"),
    ("ChannelTimeout", "session:*=10m", "session:*=600"),
    ("ChannelTimeout", "none", None),
    ("ClientAliveCountMax", " 3 ", "3"),
])
def test_normalize_prints_what_sshd_means(keyword, text, shown):
    assert idlelock_sshd.normalize(keyword, text) == shown


@pytest.mark.skipif(not os.access(SSHD, os.X_OK) or not shutil.which("ssh-keygen"),
                    reason="no sshd here: the literal table above still runs")
def test_the_real_sshd_converts_the_same_strings(tmp_path):
    key = tmp_path / "hostkey"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    for text, seconds in TIMES:
        config = tmp_path / "sshd_config"
        config.write_text(f"HostKey {key}\nClientAliveInterval {text}\n")
        out = subprocess.run([SSHD, "-T", "-f", str(config)], capture_output=True, text=True,
                             timeout=30, check=True).stdout
        printed = dict(line.split(" ", 1) for line in out.splitlines())["clientaliveinterval"]
        assert int(printed) == seconds == policy.parse_seconds(text), text


@pytest.mark.skipif(not os.access(SSHD, os.X_OK) or not shutil.which("ssh-keygen"),
                    reason="no sshd here: test_policy's refused values still run")
@pytest.mark.parametrize("text", ["\uff16\uff10\uff10", "\u0663\u0660\u0660", "6_00",
                                  "9" * 5000, "1" * 20 + "s"])
def test_digits_sshd_refuses_are_refused(tmp_path, text):
    """int() and \\d take these; sshd does not, so neither may the policy."""
    key = tmp_path / "hostkey"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    config = tmp_path / "sshd_config"
    config.write_bytes(f"HostKey {key}\nClientAliveInterval {text}\n".encode())
    refused = subprocess.run([SSHD, "-T", "-f", str(config)], capture_output=True, timeout=30)
    assert refused.returncode != 0, refused.stdout
    with pytest.raises(policy.Invalid):
        policy.parse_seconds(text)
