"""
Where the policy comes from, through the real ``salt-call`` and the formula:

- minion config wins over pillar (``config.get`` semantics, README "Policy"),
  key by key: a minion's own ``idlelock:timeout`` beats the pillar's, while the
  pillar's other keys still apply;
- the per-OS values (map.jinja) reach the shell state as the formula resolves
  them, from the ``os_family`` grain alone: the files each family gets, and the
  TMOUT a real bash login then ends with. The shell part writes only inside a
  private /etc overlay (tests/support/private_etc.py).
"""

import os
import subprocess

import pytest

from tests.functional.test_formula import sandbox  # noqa: F401 - the same sshd tree
from tests.functional.test_sshd_scenarios import effective
from tests.support.private_etc import run_with_etc
from tests.support.salt_call import LocalMinion, states_by_id

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: mount namespaces")


def test_minion_config_wins_over_pillar_key_by_key(sandbox):
    config = sandbox / "etc-ssh" / "sshd_config"
    pillar = {"timeout": 600, "profile": "none",
              "sshd": {"config": str(config), "manage_service": False,
                       "client_alive_count_max": 3},
              "shell": {"enabled": False}, "schedule": {"enabled": False}}
    minion = LocalMinion(sandbox / "minion", pillar,
                         {"idlelock": {"timeout": 120, "sshd": {"client_alive_count_max": 2}}})

    policy = minion.call("idlelock.policy")
    assert policy["timeout"] == 120
    assert policy["sshd"]["client_alive_count_max"] == 2
    assert policy["sshd"]["config"] == str(config)  # the pillar's key still applies
    result = minion.call("state.apply", "idlelock")

    assert states_by_id(result)["idlelock-sshd"]["result"] is True
    values = effective(str(config))
    assert values["channeltimeout"] == "session:*=120"
    assert values["clientaliveinterval"] == "120"
    assert values["unusedconnectiontimeout"] == "120"
    assert values["clientalivecountmax"] == "2"


BASH_PROBE = 'echo "v=${TMOUT-unset}"; (unset TMOUT) 2>/dev/null && echo rw || echo ro'


@pytest.mark.parametrize("os_family, declare, zsh_hook, csh_file", [
    ("Debian", False, True, "csh/login.d/idlelock.csh"),
    ("RedHat", True, False, "profile.d/idlelock.csh"),
])
def test_per_os_values_as_the_formula_resolves_them(sandbox, os_family, declare, zsh_hook,
                                                    csh_file):
    pillar = {"timeout": 45, "sshd": {"enabled": False}, "schedule": {"enabled": False}}
    minion = LocalMinion(sandbox / "minion", pillar, {"grains": {"os_family": os_family}})
    upper = sandbox / "etc"
    # The host's zprofile and csh directory, present in the lower layer or not.
    has_zsh, has_csh = os.path.isfile("/etc/zsh/zprofile"), os.path.isdir("/etc/csh/login.d")

    def body():
        result = minion.call("state.apply", "idlelock.shell")
        login = subprocess.run(["bash", "--login", "-c", BASH_PROBE], capture_output=True,
                               text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "HOME": "/"})
        return states_by_id(result)["idlelock-shell"], login.stdout.split(), login.stderr

    state, login, stderr = run_with_etc(upper, body)

    assert state["result"] is True, state
    profile = (upper / "profile.d" / "idlelock.sh").read_text()
    # RedHat's scanners look for `declare -xr TMOUT=N`, Debian's for the three lines.
    assert ("declare -xr TMOUT=45" in profile) is declare
    assert "TMOUT=45\n    readonly TMOUT\n    export TMOUT\n" in profile
    assert login == ["v=45", "ro"], stderr  # what a bash login really gets
    if has_zsh:
        zprofile = upper / "zsh" / "zprofile"
        assert zprofile.exists() is zsh_hook
        if zsh_hook:
            assert ". /etc/profile.d/idlelock.sh" in zprofile.read_text()
    if csh_file.startswith("profile.d/") or has_csh:
        assert "set -r autologout = 1" in (upper / csh_file).read_text()
