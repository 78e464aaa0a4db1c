"""The version matrix: one target per OpenSSH, each with a private copy of its sshd config.

A target is a chroot of tests/support/chroots.py (8.4, 10.0, 10.3, 10.6), or the host itself
(whatever its sshd reports; Debian 12 has 9.2), whose sshd runs as ``chroot / sshd``, so that
every probe is the same command everywhere.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import idlelock_sshd
import pytest

from tests.functional.conftest import idlelock, session_loaders, session_minion_opts  # noqa: F401
from tests.support.chroots import (
    VERSIONS,
    copy_stock_config,
    ensure_chroot,
    remove_test_config,
    sshd_in,
    sshd_version_in,
)
from tests.support.sshd_sandbox import SshdSandbox

pytestmark = pytest.mark.matrix

HOST = Path("/")


@dataclass
class Target:
    """One OpenSSH under test and a private copy of an sshd config for it."""

    label: str
    root: Path     # "/" for the host
    version: tuple  # (major, minor) that its sshd reports
    config: str    # the copy's main file, as a path inside ``root``
    copy_dir: Path  # the copy's directory on this host

    @property
    def kwargs(self):
        """``root`` and ``config`` for the idlelock functions."""
        return {"root": str(self.root), "config": self.config}

    def sshd(self, *args):
        """Run this target's sshd (inside its root) with ``args``."""
        return sshd_in(self.root, *args)

    def sshd_T(self, connection=None):
        """``sshd -T`` on the copy, as printed; Match blocks applied with ``connection``."""
        args = ["-T", "-f", self.config] + (["-C", connection] if connection else [])
        proc = self.sshd(*args)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def effective(self, connection=None):
        """``sshd -T`` on the copy through idlelock's one reader: {lower-case keyword: value}."""
        return idlelock_sshd.read_effective(self.sshd_T(connection))

    def printed(self, keyword, connection=None):
        """The value on the one line of ``sshd -T`` that names ``keyword`` in any case, or None.

        Deliberately not idlelock's reader: a regex over the raw output, so that a change in
        how sshd prints keywords shows up as a disagreement between the two.
        """
        found = re.findall(rf"(?im)^{keyword}[ \t]+(.*)$", self.sshd_T(connection))
        assert len(found) <= 1, found
        return found[0] if found else None

    def texts(self):
        """The copy's main file and drop-ins: {path relative to the copy: text}."""
        files = [self.copy_dir / "sshd_config"] + sorted((self.copy_dir / "sshd_config.d").iterdir())
        return {str(p.relative_to(self.copy_dir)): p.read_text() for p in files}


def _version(root):
    major, minor = sshd_version_in(root).split("p")[0].split(".")
    return int(major), int(minor)


@pytest.fixture(params=["bullseye", "host", "trixie", "trixie-backports", "sid"],
                ids=lambda s: "host" if s == "host" else f"{s}-{VERSIONS[s]}")
def target(request, tmp_path):
    """Each OpenSSH of the matrix with a config copy of its own, removed afterwards."""
    if os.geteuid() != 0:
        pytest.skip("the version matrix needs root: chroot and sshd")
    if request.param == "host":
        sandbox = SshdSandbox(tmp_path)  # its config only; this sshd is never started
        yield Target("host", HOST, _version(HOST), str(sandbox.config), sandbox.etc_ssh)
        return
    root = ensure_chroot(request.param)
    name = f"matrix-{uuid.uuid4().hex[:8]}"
    config = copy_stock_config(root, name)
    try:
        yield Target(request.param, root, _version(root), config,
                     root / config.lstrip("/").rsplit("/", 1)[0])
    finally:
        remove_test_config(root, name)


@pytest.fixture
def etc_restored(target):
    """Remove whatever the test adds under the chroot's /etc (the shell part writes there)."""
    etc = target.root / "etc"
    before = set(etc.rglob("*"))
    yield etc
    for path in sorted(set(etc.rglob("*")) - before, reverse=True):  # files before their dirs
        path.rmdir() if path.is_dir() and not path.is_symlink() else path.unlink()
