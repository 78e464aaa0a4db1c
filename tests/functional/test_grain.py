"""
The ``idlelock`` grain through Salt's grains loader: it never raises, and says
why it cannot judge.
"""

import os

import idlelock_shell
import pytest
from saltfactories.utils.functional import Loaders

from tests.conftest import make_minion_opts
from tests.support.private_etc import run_with_etc


def grain(tmp_path, config):
    opts = make_minion_opts(tmp_path)
    opts["idlelock"] = config
    return Loaders(opts).grains["idlelock"]


def test_host_without_sshd_gets_a_reason_not_an_exception(tmp_path):
    value = grain(tmp_path, {"sshd": {"binary": "/nonexistent/sbin/sshd"},
                             "shell": {"enabled": False}})
    assert "no usable sshd at /nonexistent/sbin/sshd" in value["reason"]
    # No TMOUT on this host either: a proven failure outranks what cannot be judged.
    assert value["compliant"] is False and value["failing"] == ["idle logout"]
    assert (value["profile"], value["timeout"]) == ("none", 600)


def test_bad_minion_config_gets_a_reason(tmp_path):
    value = grain(tmp_path, {"timeout": "ten minutes"})
    assert value["compliant"] is None
    assert "idlelock:timeout: 'ten minutes' is not accepted" in value["reason"]


def test_grain_sees_a_site_file_that_spares_regular_users(tmp_path):
    """Issue 10 case 1, as the grain sees it: root's login has the policy's TMOUT, a regular
    user's has 1800. The grain uses the same probes as the state and the audit."""
    if os.geteuid() != 0:
        pytest.skip("needs root: mount namespaces")
    upper = tmp_path / "etc"
    (upper / "profile.d").mkdir(parents=True)
    (upper / "profile.d" / "00-site-tmout.sh").write_text(
        'if [ "$(id -u)" -ne 0 ]; then TMOUT=1800; readonly TMOUT; export TMOUT; fi\n')
    (upper / "profile.d" / "idlelock.sh").write_text(idlelock_shell.render_profile(600))
    config = {"sshd": {"enabled": False}}
    value = run_with_etc(upper, lambda: grain(tmp_path, config))
    assert value["compliant"] is False and value["failing"] == ["shell TMOUT"], value
    (upper / "profile.d" / "00-site-tmout.sh").unlink()
    value = run_with_etc(upper, lambda: grain(tmp_path / "again", config))
    assert value["compliant"] is True, value
