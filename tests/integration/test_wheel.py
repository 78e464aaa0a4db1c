"""
The package install path: ``pip install .`` (a wheel, not editable) into a
fresh venv gives a minion ``idlelock.*`` through the ``salt.loader`` entry
point, with no ``saltutil.sync_all``.
"""

import importlib.metadata
import json
import os
import subprocess
import sys
import types

import idlelock_defaults
import pytest
import salt.utils.yaml

from tests.support.sshd_sandbox import SshdSandbox

pytestmark = pytest.mark.wheel

PIP_TIMEOUT = 600


@pytest.fixture(scope="module")
def venv(checkout, tmp_path_factory):
    """A fresh venv with this Salt release and idlelock installed from a clean tree."""
    path = tmp_path_factory.mktemp("wheel") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=120)
    # Salt is pinned in the same command: a newer 3008.x does not resolve here.
    salt_pin = f"salt=={importlib.metadata.version('salt')}"
    subprocess.run(
        [str(path / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
         salt_pin, str(checkout)],
        check=True, timeout=PIP_TIMEOUT,
    )
    return path


@pytest.fixture(scope="module")
def salt_call(venv, checkout, tmp_path_factory):
    """
    ``salt-call --local`` of that venv: ``.run(function, *args) -> data``,
    and the minion's ``sandbox`` and ``conf_dir``. Its file_roots hold the
    formula only: the modules come from the package.
    """
    tmp = tmp_path_factory.mktemp("wheel-minion")
    sandbox = SshdSandbox(tmp)
    config = {
        "id": "wheel-minion",
        "root_dir": str(tmp / "root"),
        "pidfile": str(tmp / "root" / "minion.pid"),
        "file_client": "local",
        "file_roots": {"base": [str(checkout / "salt")]},
        "pillar_roots": {"base": [str(checkout / "pillar")]},
        "idlelock": {
            "sshd": {"config": str(sandbox.config), "manage_service": False},
            "shell": {
                "enabled": False,
                "profile_file": str(sandbox.profile_d / "idlelock.sh"),
                "csh_file": str(sandbox.profile_d / "idlelock.csh"),
            },
        },
    }
    conf_dir = tmp / "conf"
    conf_dir.mkdir()
    (conf_dir / "minion").write_text(salt.utils.yaml.safe_dump(config))
    # Nothing from this checkout may leak in: only the installed package counts.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}

    def run(*args):
        done = subprocess.run(
            [str(venv / "bin" / "salt-call"), "--local", "-c", str(conf_dir),
             "--out=json", "--retcode-passthrough", *args],
            capture_output=True, text=True, cwd=tmp, env=env, timeout=120, check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)["local"]

    return types.SimpleNamespace(
        run=run,
        sandbox=sandbox,
        conf_dir=conf_dir,
        extmods=tmp / "root" / "var" / "cache" / "salt" / "minion" / "extmods",
    )


def test_the_wheel_installs_the_utils_as_top_level_modules(venv):
    """``import idlelock_policy`` works as it does when _utils is synced, defaults included."""
    found = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import json, idlelock_defaults, idlelock_enforce; "
         "print(json.dumps([idlelock_enforce.__file__, idlelock_defaults.DEFAULTS]))"],
        capture_output=True, text=True, check=True, cwd=venv,
    ).stdout
    installed, defaults = json.loads(found)
    assert installed.startswith(str(venv)), "idlelock_enforce is not the installed copy"
    assert defaults == json.loads(json.dumps(idlelock_defaults.DEFAULTS))


def test_policy_and_docs_with_no_sync(salt_call):
    policy = salt_call.run("idlelock.policy")
    assert policy["timeout"] == 600
    assert policy["environment"] == "default"  # pillar/idlelock/defaults.sls
    assert policy["sshd"]["channel_timeout"] == ["session:*=600"]
    docs = salt_call.run("sys.doc", "idlelock")
    assert {"idlelock.policy", "idlelock.get", "idlelock.set_sshd"} <= set(docs)
    for function, doc in docs.items():
        assert "CLI Example" in doc, f"{function} has no CLI example"
    assert not list(salt_call.extmods.rglob("idlelock*")), "something synced modules"


def test_masterless_apply_with_the_package_and_the_formula(salt_call):
    ret = salt_call.run("state.apply", "idlelock")
    assert all(state["result"] is True for state in ret.values()), ret
    assert salt_call.sandbox.effective()["channeltimeout"] == "session:*=600"
    # No salt-minion daemon runs: the job goes to the file a daemon reads at start.
    persisted = salt.utils.yaml.safe_load(
        (salt_call.conf_dir / "minion.d" / "_schedule.conf").read_text()
    )
    job = persisted["schedule"]["idlelock"]
    assert (job["function"], job["args"], job["minutes"]) == ("state.apply", ["idlelock"], 30)
    again = salt_call.run("state.apply", "idlelock")
    assert not any(state["changes"] for state in again.values()), again
