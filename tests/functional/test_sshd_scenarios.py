"""
The sshd scenario folder through Salt's loader and the real sshd.

For each host layout: ``idlelock.set_sshd`` makes the policy effective as
``sshd -T`` reports it (or fails and changes nothing), and a second run is a
no-op that writes nothing.
"""

import contextlib
import json
import os
import signal
import subprocess

import pytest

from tests.support import scenarios
from tests.support.scenarios import flatten
from tests.support.sshd_sandbox import effective, snapshot


@contextlib.contextmanager
def bounded(seconds):
    """Fail the test instead of hanging the suite."""

    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("scenario", scenarios.params("sshd", functional=(True, True)))
def test_sshd_scenario(scenario, tmp_path, host_key, idlelock):
    root = tmp_path / "tree"
    root.mkdir()
    scenarios.materialize(scenario, root, host_key)
    # Deepest first, so a 0700 directory is set after the files inside it.
    for rel, mode in sorted(scenario.get("modes", {}).items(), key=lambda i: -len(i[0])):
        os.chmod(root / rel, int(mode, 8))
    config = str(root / "sshd_config")
    policy = dict(scenario.get("policy", {}))
    policy["sshd"] = dict(policy.get("sshd", {}), config=config, manage_service=False)
    before = snapshot(root)

    with bounded(60):  # a FIFO once blocked the run forever
        ret = idlelock.set_sshd(**flatten(policy))

    # What Salt serialises: text only, whatever bytes the files hold.
    json.dumps(ret, ensure_ascii=False).encode("utf-8")
    if scenario.get("error"):
        assert ret["result"] is False
        assert scenario["error"] in ret["comment"]
        assert snapshot(root) == before, "a failed run must change nothing"
        return
    assert ret["result"] is True, ret["comment"]
    warnings = [scenarios.relative(w, root) for w in ret["warnings"]]
    for expected in scenario.get("warnings", []):
        assert any(expected in w for w in warnings), (expected, warnings)
    comment = scenarios.relative(ret["comment"], root)
    for expected in scenario.get("comment", []):
        assert expected in comment, comment
    extra = ()
    if scenario.get("throwaway_key"):
        # An image without host keys: plain sshd -T refuses it, so the proof is
        # the one a user would run there, sshd -T with a host key of one's own.
        with pytest.raises(subprocess.CalledProcessError):
            effective(config)
        extra = ("-h", str(host_key))
    values = effective(config, *extra)
    for keyword, value in scenarios.sshd_effective(scenario).items():
        assert values.get(keyword) == value, keyword
    for disabled in scenario["disabled"]:
        rel, lineno = disabled.rsplit(":", 1)
        line = (root / rel).read_bytes().decode(scenario.get("encoding", "utf-8")).split("\n")[
            int(lineno) - 1]
        assert line.lstrip().startswith("# idlelock disabled: ")
    if scenario.get("diff_contains"):
        assert scenario["diff_contains"] in ret["changes"]["diff"]
    # Every line idlelock did not comment out keeps its bytes (odd separators,
    # bytes that are not UTF-8).
    encoding = scenario.get("encoding", "utf-8")
    disabled_lines = {(d.rsplit(":", 1)[0], int(d.rsplit(":", 1)[1])) for d in scenario["disabled"]}
    for rel, text in scenario.get("files", {}).items():
        if rel == scenario["target"] or rel in scenario.get("removed", []):
            continue
        old = scenarios.files({"files": {rel: text}}, str(root), host_key)[str(root / rel)]
        new = (root / rel).read_bytes().split(b"\n")
        for number, line in enumerate(old.encode(encoding).split(b"\n"), 1):
            if (rel, number) not in disabled_lines:
                assert line in new, (rel, number, line)
    if scenario.get("unchanged"):
        assert ret["changes"] == {} and snapshot(root) == before
    for rel in scenario.get("symlinks", {}):
        assert os.path.islink(root / rel), "the symlink itself must stay a symlink"

    for rel, mode in scenario.get("written_modes", {}).items():
        info = os.stat(root / rel)
        assert f"{info.st_mode & 0o7777:04o} {info.st_uid}:{info.st_gid}" == mode, rel

    after_first = snapshot(root)
    again = idlelock.set_sshd(**flatten(policy))
    assert again["result"] is True and again["changes"] == {}
    assert snapshot(root) == after_first, "a second run must write nothing"
