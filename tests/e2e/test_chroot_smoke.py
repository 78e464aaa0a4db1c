"""Smoke tests for the OpenSSH version-matrix chroots: right version, working sshd,
version-specific config semantics, and a real login from the host's ssh client."""

import subprocess

import idlelock_sshd
import pytest

from tests.support.chroots import (
    ensure_chroot_user,
    free_port,
    make_client_key,
    openssh_chroot,  # noqa: F401  (fixture)
    ssh_command,
    sshd_in,
    sshd_version_in,
    start_chroot_sshd,
    write_test_config,
)

pytestmark = pytest.mark.matrix

USER = "idltest"


def test_sshd_version(openssh_chroot):
    assert sshd_version_in(openssh_chroot.root).startswith(openssh_chroot.version + "p")


def test_sshd_T_prints_effective_config(openssh_chroot):
    config = write_test_config(openssh_chroot.root)
    proc = sshd_in(openssh_chroot.root, "-T", "-f", config)
    assert proc.returncode == 0, proc.stderr
    # 10.6 prints "UsePAM no", earlier versions "usepam no": sshd's keywords have no case.
    assert idlelock_sshd.read_effective(proc.stdout)["usepam"] == "no"


def test_channel_timeout_support_follows_version(openssh_chroot):
    config = write_test_config(openssh_chroot.root, "ChannelTimeout session:*=3",
                               name="channeltimeout_config")
    proc = sshd_in(openssh_chroot.root, "-t", "-f", config)
    if openssh_chroot.version == "8.4":
        assert proc.returncode != 0
        assert "Bad configuration option" in proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr


def test_real_login_runs_command(openssh_chroot, tmp_path):
    key, pubkey = make_client_key(tmp_path)
    ensure_chroot_user(openssh_chroot.root, USER, pubkey)
    config = write_test_config(openssh_chroot.root)
    with start_chroot_sshd(openssh_chroot.root, config, free_port()) as sshd:
        proc = subprocess.run(ssh_command(sshd.port, USER, key, "echo", "ok"),
                              capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, f"{proc.stderr}\n--- sshd log ---\n{sshd.log()}"
    assert proc.stdout == "ok\n"
