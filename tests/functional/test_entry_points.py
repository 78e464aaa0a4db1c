"""
One policy resolution for every entry point. Under the grains of each OS family
in idlelock's per-OS data (and of one it does not know), the CLI
(``idlelock.set_*``), the formula (``state.apply idlelock``), ``idlelock.policy``,
``idlelock.audit`` and the ``idlelock`` grain agree: the same resolved policy,
the same files byte for byte, and no entry point undoes another's work.

Every run happens in a private mount namespace with an overlay over /etc
(tests/support/private_etc.py): the files an entry point writes are exactly the
overlay's upper layer.
"""

import pathlib

import idlelock_defaults
import pytest

from tests.support.private_etc import run_with_etc
from tests.support.salt_call import LocalMinion, states_by_id

FAMILIES = sorted(idlelock_defaults.OS_FAMILY) + ["Plan9"]
PILLAR = {"sshd": {"manage_service": False}, "schedule": {"enabled": False}}


def written(upper):
    """``{path under /etc: bytes}`` of every regular file an entry point wrote."""
    upper = pathlib.Path(upper)
    return {str(path.relative_to(upper)): path.read_bytes()
            for path in sorted(upper.rglob("*")) if path.is_file() and not path.is_symlink()}


def changed(ret):
    return {key: state["changes"] for key, state in states_by_id(ret).items() if state["changes"]}


@pytest.mark.parametrize("family", FAMILIES)
def test_every_entry_point_resolves_and_writes_the_same(tmp_path, family):
    minion = LocalMinion(tmp_path / "minion", PILLAR, {"grains": {"os_family": family}})
    upper = tmp_path / "etc"

    def entry_points():
        policy = minion.call("idlelock.policy")
        outcomes = [minion.call("idlelock.set_sshd"), minion.call("idlelock.set_shell")]
        assert [o["result"] for o in outcomes] == [True, True], outcomes
        cli_files = written(upper)
        state = minion.call("state.apply", "idlelock")
        audit = minion.call("idlelock.audit")
        return policy, cli_files, state, audit, minion.call("grains.get", "idlelock")

    policy, cli_files, state, audit, grain = run_with_etc(upper, entry_points)

    # The formula finds the CLI's files exactly as it would write them.
    assert all(s["result"] is True for s in states_by_id(state).values()), state
    assert changed(state) == {}, "the formula rewrote what the CLI wrote"
    assert written(upper) == cli_files

    # The per-OS data is in the one resolved policy and in the files.
    expected = idlelock_defaults.OS_FAMILY.get(family, {})
    for section, values in expected.items():
        assert {key: policy[section][key] for key in values} == values
    shell = policy["shell"]
    profile = cli_files[shell["profile_file"].removeprefix("/etc/")].decode()
    assert ("declare -xr TMOUT=" in profile) == (shell["form"] == "declare")
    assert shell["csh_file"].removeprefix("/etc/") in cli_files
    if shell["zsh_file"]:
        assert shell["zsh_file"].removeprefix("/etc/") in cli_files

    # The audit and the grain judge this same policy, and find it in force.
    assert audit["compliant"] is True, audit["findings"]
    assert audit["timeout"] == policy["timeout"]
    assert grain["compliant"] is True and grain["timeout"] == policy["timeout"]
