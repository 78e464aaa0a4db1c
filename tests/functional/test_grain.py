"""
The ``idlelock`` grain through Salt's grains loader: it never raises, and says
why it cannot judge.
"""

from saltfactories.utils.functional import Loaders

from tests.conftest import make_minion_opts
from tests.support.private_etc import run_with_etc


def grain(tmp_path, config):
    opts = make_minion_opts(tmp_path)
    opts["idlelock"] = config
    return Loaders(opts).grains["idlelock"]


def test_host_without_sshd_gets_a_reason_not_an_exception(tmp_path):
    # Login shells read an empty /etc/profile.d (whatever this host's has, e.g.
    # after scripts/apply.sh): no TMOUT from there.
    value = run_with_etc(tmp_path / "etc", lambda: grain(tmp_path, {
        "sshd": {"binary": "/nonexistent/sbin/sshd"}, "shell": {"enabled": False}}))
    assert "no usable sshd at /nonexistent/sbin/sshd" in value["reason"]
    # No TMOUT either: a proven failure outranks what cannot be judged.
    assert value["compliant"] is False and value["failing"] == ["idle logout"]
    assert (value["profile"], value["timeout"]) == ("none", 600)


def test_bad_minion_config_gets_a_reason(tmp_path):
    value = grain(tmp_path, {"timeout": "ten minutes"})
    assert value["compliant"] is None
    assert "idlelock:timeout: 'ten minutes' is not accepted" in value["reason"]
