"""
logind through Salt's loader: a sandbox drop-in path and a faked systemd.

Only systemd is faked (grains ``init`` and ``systemd:version``): this machine
has no running systemd, which is also the real "no systemd" case. Where logind
is managed, the state reads /etc/systemd/logind.conf and its drop-ins beside
the test's drop-in: those runs see the suite's /etc (run_with_etc), not this
host's, whose StopIdleSessionSec would change the outcome.
"""

import pytest

from tests.support.private_etc import run_with_etc

CASES_SKIPPED = [
    ({"init": "unknown"}, "systemd is not the init system here"),
    ({"init": "systemd", "systemd": {"version": "251"}}, "systemd 251 has no StopIdleSessionSec"),
]


@pytest.fixture
def fake_grains(session_loaders, monkeypatch):
    """Set grains for the loaded modules, restored afterwards."""
    def apply(values):
        for key, value in values.items():
            monkeypatch.setitem(session_loaders.grains, key, value)
    return apply


@pytest.fixture
def conf(tmp_path):
    return tmp_path / "logind.conf.d" / "idlelock.conf"


@pytest.mark.parametrize("grains, reason", CASES_SKIPPED)
def test_without_a_suitable_systemd_the_state_skips_and_succeeds(
        grains, reason, fake_grains, session_loaders, idlelock, conf):
    fake_grains(grains)
    ret = session_loaders.states.idlelock.logind(name=str(conf), timeout=5)
    assert ret["result"] is True and ret["changes"] == {}
    assert ret["comment"].startswith("logind skipped: ") and reason in ret["comment"]
    assert not conf.parent.exists()
    assert idlelock.get(conf_file=str(conf))["logind"]["supported"] is False


def test_writes_the_dropin_once_with_test_mode_first(fake_grains, idlelock, conf, tmp_path):
    fake_grains({"init": "systemd", "systemd": {"version": "252"}})
    args = {"enabled": True, "conf_file": str(conf), "stop_idle_session_sec": 5}
    run_with_etc(tmp_path / "etc", lambda: writes_once(idlelock, conf, args))


def writes_once(idlelock, conf, args):
    preview = idlelock.set_logind(test=True, **args)
    assert preview["result"] is None and not conf.exists()
    assert preview["changes"]["StopIdleSessionSec"] == {"old": None, "new": "5"}

    first = idlelock.set_logind(**args)
    assert first["result"] is True and first["changes"]["diff"] == preview["changes"]["diff"]
    assert conf.read_text().splitlines()[-2:] == ["[Login]", "StopIdleSessionSec=5"]
    assert oct(conf.stat().st_mode & 0o777) == "0o644"
    mtime = conf.stat().st_mtime_ns

    second = idlelock.set_logind(**args)
    assert second["result"] is True and second["changes"] == {}
    assert conf.stat().st_mtime_ns == mtime

    changed = idlelock.set_logind(**dict(args, stop_idle_session_sec=900))
    assert changed["changes"]["StopIdleSessionSec"] == {"old": "5", "new": "900"}
    report = idlelock.get(conf_file=str(conf))["logind"]
    assert report["supported"] is True


def test_auto_follows_the_timeout(fake_grains, idlelock, conf, tmp_path):
    fake_grains({"init": "systemd", "systemd": {"version": "255"}})
    ret = run_with_etc(tmp_path / "etc", lambda: idlelock.set_logind(
        enabled=True, conf_file=str(conf), timeout=42))
    assert ret["result"] is True and "StopIdleSessionSec=42" in conf.read_text()


def test_disabled_by_default(fake_grains, idlelock, conf):
    fake_grains({"init": "systemd", "systemd": {"version": "255"}})
    ret = idlelock.set_logind(conf_file=str(conf))
    assert ret["result"] is True and "not managed" in ret["comment"] and not conf.exists()


@pytest.mark.parametrize("key, value", [
    ("stop_idle_session_sec", "5; systemctl reboot"),
    ("stop_idle_session_sec", "5\nKillUserProcesses=yes"),
    ("conf_file", "relative/idlelock.conf"),
])
def test_bad_input_is_refused_and_nothing_written(key, value, fake_grains, idlelock, conf):
    fake_grains({"init": "systemd", "systemd": {"version": "255"}})
    args = {"enabled": True, "conf_file": str(conf), key: value}
    ret = idlelock.set_logind(**args)
    assert ret["result"] is False and f"idlelock:logind:{key}: {value!r}" in ret["comment"]
    assert not conf.parent.exists()
