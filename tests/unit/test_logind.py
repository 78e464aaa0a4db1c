"""idlelock_logind: the drop-in it renders, systemd's reading order, and where StopIdleSessionSec applies."""

import pytest

import idlelock_logind as logind


def test_logind_dropin_order_and_effective_value():
    assert logind.render_logind(600).splitlines()[-2:] == ["[Login]", "StopIdleSessionSec=600"]
    order = logind.logind_order([
        "/usr/lib/systemd/logind.conf.d/10-a.conf",
        "/etc/systemd/logind.conf.d/10-a.conf",
        "/usr/lib/systemd/logind.conf.d/05-b.conf",
    ])
    assert order == ["/usr/lib/systemd/logind.conf.d/05-b.conf",
                     "/etc/systemd/logind.conf.d/10-a.conf"]
    value, source = logind.logind_effective([
        ("/etc/systemd/logind.conf", "[Login]\n#StopIdleSessionSec=infinity\nStopIdleSessionSec=60\n"),
        ("/etc/systemd/logind.conf.d/idlelock.conf", logind.render_logind(600)),
    ])
    assert value == "600" and source == "/etc/systemd/logind.conf.d/idlelock.conf:4"


@pytest.mark.parametrize("version, init, ok", [
    (252, "systemd", True), (255, "systemd", True), (251, "systemd", False),
    (None, "systemd", False), (252, "sysvinit", False), (None, None, False),
])
def test_logind_supported(version, init, ok):
    supported, reason = logind.logind_supported(version, init)
    assert supported is ok and (reason is None) is ok
