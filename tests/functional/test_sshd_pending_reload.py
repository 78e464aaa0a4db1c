"""
Pending reload through Salt's loader, against a real sshd the test started on 127.0.0.1.

Each kind of change to what sshd loads, made after the listener loaded its
configuration, must make ``idlelock.get`` and ``idlelock.audit`` say "pending
reload"; a SIGHUP to that listener (by its PID) must clear it.
"""

import os
import shutil
import time

import pytest

from tests.support.sshd_sandbox import SshdSandbox

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: sshd")

# File times tick with the kernel's coarse clock (a few ms): an edit made in
# the same tick as sshd's PID file write would look as old as the load.
TICK = 0.02


def keep_mtime(path, edit):
    """Edit ``path``, then put its old mtime back (what cp -p, rsync -t, touch -r do)."""
    before = os.stat(path)
    edit()
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


EDITS = {
    "main file edited": lambda s: s.config.write_text(s.config.read_text() + "# edit\n"),
    "drop-in added": lambda s: s.write_dropin("50-new.conf", "LoginGraceTime 50\n"),
    "drop-in removed": lambda s: (s.dropin_dir / "40-old.conf").unlink(),
    "drop-in renamed away": lambda s: (s.dropin_dir / "40-old.conf").rename(
        s.dropin_dir / "40-old.conf.disabled"),
    "edited, old mtime put back": lambda s: keep_mtime(
        s.dropin_dir / "40-old.conf",
        lambda: (s.dropin_dir / "40-old.conf").write_text("LoginGraceTime 41\n")),
    "file of a nested Include edited": lambda s: (s.etc_ssh / "extra" / "a.conf").write_text(
        "MaxStartups 9\n"),
    "symlinked drop-in retargeted": lambda s: retarget(s.dropin_dir / "30-link.conf",
                                                      s.etc_ssh / "other.conf"),
}


def retarget(link, target):
    tmp = link.with_name(link.name + ".tmp")
    tmp.symlink_to(target)
    tmp.rename(link)


@pytest.fixture
def sshd(tmp_path):
    with SshdSandbox(tmp_path) as sandbox:
        (sandbox.etc_ssh / "extra").mkdir()
        (sandbox.etc_ssh / "extra" / "a.conf").write_text("MaxStartups 10\n")
        (sandbox.etc_ssh / "linked.conf").write_text("MaxSessions 10\n")
        (sandbox.etc_ssh / "other.conf").write_text("MaxSessions 10\n")
        (sandbox.dropin_dir / "30-link.conf").symlink_to(sandbox.etc_ssh / "linked.conf")
        sandbox.write_dropin("20-nested.conf", f"Include {sandbox.etc_ssh}/extra/*.conf\n")
        sandbox.write_dropin("40-old.conf", "LoginGraceTime 40\n")
        sandbox.start()
        yield sandbox


def reload_of(idlelock, sshd):
    return idlelock.get(config=str(sshd.config))["reload"]


@pytest.mark.parametrize("edit", EDITS)
def test_a_change_after_the_load_is_a_pending_reload(idlelock, sshd, edit):
    loaded = reload_of(idlelock, sshd)
    assert loaded["pending"] is False and loaded["pid"] == sshd.pid, loaded

    time.sleep(TICK)
    EDITS[edit](sshd)

    status = reload_of(idlelock, sshd)
    assert status["pending"] is True, status
    assert status["summary"].startswith(f"pending reload: the running sshd (PID {sshd.pid})")
    audit = idlelock.audit(config=str(sshd.config))
    finding = next(f for f in audit["findings"] if f["check"] == "sshd reload")
    assert audit["compliant"] is False and finding["severity"] == "high"

    sshd.reload()
    assert reload_of(idlelock, sshd)["pending"] is False


def test_no_listener_means_nothing_pending(idlelock, sshd):
    sshd.config.write_text(sshd.config.read_text() + "# edit\n")
    sshd.stop()

    status = reload_of(idlelock, sshd)

    assert status["pending"] is False
    assert status["summary"].startswith("no sshd is running"), status


def test_a_listener_of_another_configuration_is_not_this_ones(idlelock, sshd, tmp_path):
    other = tmp_path / "other_config"
    shutil.copy(sshd.config, other)

    status = idlelock.get(config=str(other))["reload"]

    assert status["pending"] is False
    assert status["summary"] == (f"no running sshd reads {other}: the sshd with PID "
                                 f"{sshd.pid} reads {sshd.config}")


def test_pidfile_none_is_unknown_and_only_informs(idlelock, sshd, tmp_path):
    other = tmp_path / "no_pidfile_config"
    other.write_text("PidFile none\n" + sshd.config.read_text())

    status = idlelock.get(config=str(other))["reload"]
    audit = idlelock.audit(config=str(other))

    assert status["pending"] is None and "PidFile none" in status["summary"]
    finding = next(f for f in audit["findings"] if f["check"] == "sshd reload")
    assert finding["severity"] == "low"
    assert audit["compliant"] is all(f["severity"] == "low" for f in audit["findings"])



@pytest.mark.parametrize("manage_service", [False, True])
def test_test_mode_predicts_the_pending_reload(idlelock, sshd, manage_service):
    before = {path: path.read_bytes() for path in sshd.etc_ssh.rglob("*") if path.is_file()}

    ret = idlelock.set_sshd(test=True, config=str(sshd.config), timeout=3,
                            manage_service=manage_service)

    assert ret["result"] is None and ret["changes"]
    assert ret["comment"].startswith("sshd files would set ClientAliveInterval 3")
    assert f"pending reload: the running sshd (PID {sshd.pid})" in ret["comment"]
    assert "enforce" not in ret["comment"]
    if manage_service:
        assert "the sshd service reload that watches this state loads them" in ret["comment"]
        assert not any("pending reload" in w for w in ret["warnings"])
    else:
        assert any("manage_service is false" in w for w in ret["warnings"])
    assert {path: path.read_bytes() for path in before} == before
    assert reload_of(idlelock, sshd)["pending"] is False
