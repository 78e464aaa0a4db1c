"""
Files vs. the running daemon, on a real sshd listening on 127.0.0.1.

``sshd -T`` proves what the files say; new connections get what the running
listener loaded. The listener here is a real sshd started by the test with its
own PID file; its "service manager" is the SIGHUP stand-in
(tests/support/fake_service), since this machine has no systemd.
"""

import os
import time

import pytest

from tests.support.salt_call import REPO, LocalMinion, states_by_id
from tests.support.sshd_sandbox import SshdSandbox

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: sshd"),
]

FAKE_SERVICE_DIR = REPO / "tests" / "support" / "fake_service"
TIMEOUT = 3
# File times tick with the kernel's coarse clock (a few ms): an edit made in
# the same tick as sshd's PID file write would look as old as the load.
TICK = 0.02


@pytest.fixture
def sshd(tmp_path):
    with SshdSandbox(tmp_path / "sshd") as sandbox:
        sandbox.start()
        yield sandbox


def make_minion(tmp_path, sshd, manage_service, services=None, grains=None):
    pillar = {
        "timeout": TIMEOUT,
        "sshd": {"config": str(sshd.config), "manage_service": manage_service},
        "shell": {"enabled": False},
        "schedule": {"enabled": False},
    }
    return LocalMinion(tmp_path / "minion", pillar, {
        "module_dirs": [str(REPO), str(FAKE_SERVICE_DIR)],
        "idlelock_test_services": services or {"ssh": str(sshd.pidfile)},
        "grains": grains or {"os_family": "Debian"},
    })


def calls(sshd):
    log = sshd.pidfile.with_name(sshd.pidfile.name + ".calls")
    return log.read_text().splitlines() if log.exists() else []


def pending(minion):
    """What ``idlelock.get``, the audit and the grain say about the listener."""
    reload = minion.call("idlelock.get")["reload"]
    audit = minion.call("idlelock.audit")
    grain = minion.call("grains.get", "idlelock")
    finding = next((f for f in audit["findings"] if f["check"] == "sshd reload"), None)
    return reload, audit, finding, grain


def test_pending_reload_with_manage_service_false(tmp_path, sshd):
    minion = make_minion(tmp_path, sshd, manage_service=False)
    dropin = sshd.dropin_dir / "00-idlelock.conf"

    state = states_by_id(minion.call("state.apply", "idlelock"))["idlelock-sshd"]
    recorded = minion.call("grains.get", "idlelock")  # the formula run's own verdict

    assert state["result"] is True and state["changes"]
    assert recorded["source"] == "state.apply idlelock" and recorded["compliant"] is False
    assert "sshd reload" in recorded["failing"] and str(dropin) in recorded["pending_reload"]
    assert "enforces" not in state["comment"]
    assert "pending reload" in state["comment"] and f"PID {sshd.pid}" in state["comment"]
    assert any("manage_service is false" in w and str(dropin) in w for w in state["warnings"])
    assert calls(sshd) == [], "manage_service false: idlelock never touches the service"
    reload, audit, finding, grain = pending(minion)
    assert reload["pending"] is True and reload["pid"] == sshd.pid
    assert str(dropin) in [entry["path"] for entry in reload["changed"]]
    assert audit["compliant"] is False
    assert finding["severity"] == "high" and str(dropin) in finding["source"]
    assert finding["actual"].startswith("pending reload") and reload["loaded"] in finding["actual"]
    assert grain["compliant"] is False and str(dropin) in grain["pending_reload"]
    # The files alone are right: only the daemon is behind.
    assert sshd.effective()["channeltimeout"] == f"session:*={TIMEOUT}"

    again = states_by_id(minion.call("state.apply", "idlelock"))["idlelock-sshd"]
    assert not again["changes"], "manage_service false: no change reported, nothing reloads"
    assert "pending reload" in again["comment"] and "enforces" not in again["comment"]

    sshd.reload()  # SIGHUP to the listener's PID: the test started it
    reload, audit, finding, grain = pending(minion)
    assert reload["pending"] is False and finding is None and "sshd reload" in audit["passed"]
    assert audit["compliant"] is True and grain["compliant"] is True
    assert "pending_reload" not in grain
    settled = states_by_id(minion.call("state.apply", "idlelock"))["idlelock-sshd"]
    assert settled["comment"].startswith("sshd already enforces")
    # Only the short-timeout warning of this 3 s test policy is left, no word of a reload.
    assert not [w for w in settled.get("warnings", []) if "reload" in w or "manage_service" in w]

    # A hand edit after the reload brings it back (other kinds of edit:
    # tests/functional/test_sshd_pending_reload.py).
    time.sleep(TICK)
    sshd.config.write_text(sshd.config.read_text() + "# hand edit\n")
    reload = minion.call("idlelock.get")["reload"]
    assert reload["pending"] is True
    assert [entry["path"] for entry in reload["changed"]] == [str(sshd.config)]


def test_failed_reload_is_retried_on_the_next_run(tmp_path, sshd):
    """
    The service reload fails (here: the service manager looks at the wrong PID
    file), so the listener keeps the old values; the next run says so, and its
    reload (now working) clears it.
    """
    listener = sshd.pid
    broken = {"ssh": str(tmp_path / "elsewhere.pid")}
    minion = make_minion(tmp_path, sshd, manage_service=True, services=broken)

    first = states_by_id(minion.call("state.apply", "idlelock", check=False))
    assert first["idlelock-sshd"]["changes"]
    assert first["idlelock-sshd-service-reload"]["result"] is False
    assert minion.call("idlelock.get")["reload"]["pending"] is True

    fixed = make_minion(tmp_path, sshd, manage_service=True)
    second = states_by_id(fixed.call("state.apply", "idlelock"))
    sshd_state = second["idlelock-sshd"]
    assert "pending reload" in sshd_state["comment"] and "enforces" not in sshd_state["comment"]
    assert list(sshd_state["changes"]) == ["reload"]
    assert calls(sshd).count("reload ssh") == 1 and sshd.pid == listener
    assert fixed.call("idlelock.get")["reload"]["pending"] is False
    # The verdict is taken after the run's reload, so it shows none pending.
    grain = fixed.call("grains.get", "idlelock")
    assert grain["compliant"] is True and "pending_reload" not in grain

    third = states_by_id(fixed.call("state.apply", "idlelock"))
    assert all(not state["changes"] for state in third.values())
    assert calls(sshd).count("reload ssh") == 1


def test_socket_activated_running_sshd_is_reloaded_never_enabled_or_started(tmp_path, sshd):
    """Ubuntu >= 22.10: ssh.socket started this sshd; a change reloads it, once."""
    listener = sshd.pid
    services = {"ssh": {"pidfile": str(sshd.pidfile), "enabled": False},
                "ssh.socket": {"pidfile": str(tmp_path / "socket.pid"), "enabled": True}}
    minion = make_minion(tmp_path, sshd, manage_service=True, services=services,
                         grains={"os_family": "Debian", "os": "Ubuntu", "init": "systemd"})

    first = states_by_id(minion.call("state.apply", "idlelock"))
    second = states_by_id(minion.call("state.apply", "idlelock"))

    assert first["idlelock-sshd"]["changes"] and first["idlelock-sshd-socket-reload"]["result"]
    assert first["idlelock-sshd-socket-reload"]["changes"], "the running sshd was reloaded"
    for service_state in ("idlelock-sshd-service-enabled", "idlelock-sshd-service-reload"):
        assert first[service_state]["comment"] == "unless condition is true"
    assert calls(sshd).count("reload ssh") == 1 and sshd.pid == listener
    assert not {"enable ssh", "start ssh", "restart ssh"} & set(calls(sshd))
    assert minion.call("idlelock.get")["reload"]["pending"] is False
    # Recorded after the reload: the grain does not show the reload that was pending.
    grain = minion.call("grains.get", "idlelock")
    assert grain["compliant"] is True and "pending_reload" not in grain
    assert all(not state["changes"] for state in second.values())
    assert calls(sshd).count("reload ssh") == 1
