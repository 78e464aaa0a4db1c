"""
``salt-ssh state.apply idlelock`` against ``salt-call state.apply idlelock``
on the same host (bench.py part ``ssh``): the no-op run, paired and alternating.

salt-ssh reaches this machine through a private sshd on 127.0.0.1 (the test
suite's harness, tests/support/salt_ssh.py); the minion side is a masterless
``salt-call`` with the same file_roots and pillar. Both run inside bench.py's
private mount namespace, where /etc/ssh, /etc/profile.d, /etc/zsh and /etc/csh
are copies. salt-ssh pays for an ssh connection, the thin's checksum check and
the state tarball on every run, and renders the formula on the master.
"""

import pathlib
import time

from tests.support.salt_call import LocalMinion
from tests.support.salt_ssh import SaltSsh

REPO = pathlib.Path(__file__).resolve().parents[1]
PILLAR = {"environment": "bench", "timeout": 600, "sshd": {"manage_service": False}}


def apply_times(work, pairs, paired):
    """``{ssh_apply_ratio, ssh_apply_s, minion_apply_s}`` for the no-op run."""
    pillar = work / "ssh-pillar"
    pillar.mkdir()
    (pillar / "top.sls").write_text("base:\n  '*':\n    - idlelock\n")
    (pillar / "idlelock.sls").write_text(
        "idlelock:\n  environment: bench\n  timeout: 600\n  sshd: {manage_service: false}\n")
    minion = LocalMinion(work / "ssh-minion", PILLAR)
    ssh = SaltSsh(work / "salt-ssh", REPO, pillar, {"bench-ssh": {}}).start()
    try:
        ssh.run("salt-run", "saltutil.sync_all")
        ssh.run("salt-ssh", "bench-ssh", "state.apply", "idlelock")  # deploys the thin, applies
        minion.call("state.apply", "idlelock")

        def over_ssh():
            return ssh.run("salt-ssh", "bench-ssh", "state.apply", "idlelock")[2]

        def on_minion():
            started = time.perf_counter()
            minion.call("state.apply", "idlelock")
            return time.perf_counter() - started

        samples = {"ssh": [], "minion": []}

        def record(run, side):
            def measured():
                seconds = run()
                samples[side].append(seconds)
                return seconds
            return measured

        ratio, _ = paired(record(on_minion, "minion"), record(over_ssh, "ssh"), pairs)
    finally:
        ssh.stop()
    median = lambda values: sorted(values)[len(values) // 2]  # noqa: E731
    return {"ssh_apply_ratio": ratio, "ssh_apply_s": median(samples["ssh"]),
            "minion_apply_s": median(samples["minion"])}
