"""A masterless minion in a temp dir, driven through the real ``salt-call``."""

import json
import os
import pathlib
import subprocess
import sys

import yaml

from tests.support import private_etc

REPO = pathlib.Path(__file__).resolve().parents[2]
SALT_CALL = str(pathlib.Path(sys.executable).parent / "salt-call")


def states_by_id(ret):
    """A state run's return as ``{state id: result dict}``, failing on render errors."""
    assert isinstance(ret, dict), f"the state run failed to render: {ret}"
    return {key.split("_|-")[1]: value for key, value in ret.items()}


class LocalMinion:
    """
    ``salt-call --local`` with file_roots on this repo and a pillar of the test's own.

    Each call runs on a private /etc (:func:`tests.support.private_etc.command`)
    whose upper layer, ``<directory>/etc``, keeps what earlier calls wrote (or
    on the caller's, from inside ``run_with_etc``); the host's /etc is neither
    read for an outcome nor written.
    """

    def __init__(self, directory, pillar, minion_config=None):
        self.dir = pathlib.Path(directory)
        (self.dir / "pillar").mkdir(parents=True, exist_ok=True)
        self.set_pillar(pillar)
        config = {
            "file_client": "local",
            "root_dir": str(self.dir / "root"),
            "file_roots": {"base": [str(REPO / "salt"), str(REPO)]},
            "pillar_roots": {"base": [str(self.dir / "pillar")]},
            "module_dirs": [str(REPO)],
            "log_file": str(self.dir / "minion.log"),
            "id": "local-minion",
        }
        config.update(minion_config or {})
        (self.dir / "minion").write_text(yaml.safe_dump(config))

    def set_pillar(self, pillar):
        (self.dir / "pillar" / "top.sls").write_text("base:\n  '*':\n    - idlelock\n")
        (self.dir / "pillar" / "idlelock.sls").write_text(yaml.safe_dump({"idlelock": pillar}))

    def call(self, *args, check=True):
        """Run ``salt-call --local`` and return its JSON ``local`` value."""
        argv = [SALT_CALL, "--local", "-c", str(self.dir), "--out=json", "--retcode-passthrough",
                *args]
        argv = private_etc.command(self.dir / "etc", argv)
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=120, env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"salt-call {args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return json.loads(proc.stdout)["local"] if proc.stdout.strip() else None
