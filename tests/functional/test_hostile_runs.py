"""
Runs that go wrong: a hung sshd, two runs at once, a run killed mid-write, a
restore that itself fails, backups that an earlier run left broken. Real
processes throughout: a fake ``sshd`` (a shell script configured as
``sshd:binary``) that answers like the real one but hangs, sleeps or sabotages
where a test needs it, real ``salt-call`` processes, real signals.
"""

import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import idlelock_system
from tests.support.salt_call import SALT_CALL, LocalMinion
from tests.support.sshd_sandbox import effective, snapshot

MAIN = """\
ClientAliveInterval 100
Include {root}/sshd_config.d/*.conf
HostKey {key}
"""


@pytest.fixture
def tree(tmp_path, host_key):
    root = tmp_path / "etc-ssh"
    (root / "sshd_config.d").mkdir(parents=True)
    (root / "sshd_config").write_text(MAIN.format(root=root, key=host_key))
    return root


def fake_sshd(directory, on_T):
    """
    A script standing in for sshd: ``-V`` and anything else go to the real sshd
    after ``on_T`` (shell code) ran for a ``-T``. Every call is logged, one line
    each (PID and arguments), in ``<directory>/calls``.
    """
    path = directory / "fake-sshd"
    path.write_text(f"""#!/bin/sh
here={directory}
echo "$$ $*" >> "$here/calls"
if [ "$1" = "-T" ]; then
{on_T}
fi
exec /usr/sbin/sshd "$@"
""")
    path.chmod(0o755)
    return path


def calls(directory):
    try:
        return (directory / "calls").read_text().splitlines()
    except FileNotFoundError:
        return []


def wait_for(predicate, seconds, what):
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen in {seconds} s")
        time.sleep(0.05)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def short_probe(monkeypatch):
    """Probes give up after 2 s (instead of 30); no hung binary remembered from before."""
    monkeypatch.setattr(idlelock_system, "PROBE_TIMEOUT", 2)
    monkeypatch.setattr(idlelock_system, "_HUNG", {}, raising=False)


# ---------------------------------------------------------------- a hung sshd
@pytest.mark.parametrize("hang_on", ["everything", "-T"])
def test_a_hung_sshd_is_probed_once_and_named_as_not_answering(idlelock, tree, tmp_path,
                                                                short_probe, hang_on):
    guard = "" if hang_on == "-T" else 'if [ "$1" = "-V" ]; then sleep 600 & echo $! >> "$here/children"; wait; fi\n'
    binary = fake_sshd(tmp_path, 'sleep 600 & echo $! >> "$here/children"; wait')
    if guard:
        text = binary.read_text().replace('echo "$$ $*" >> "$here/calls"\n',
                                          'echo "$$ $*" >> "$here/calls"\n' + guard)
        binary.write_text(text)
    before = snapshot(tree)
    started = time.monotonic()

    ret = idlelock.set_sshd(config=str(tree / "sshd_config"), binary=str(binary))

    elapsed = time.monotonic() - started
    assert ret["result"] is False
    assert f"sshd ({binary}) did not answer in 2 s" in ret["comment"], ret["comment"]
    assert "rejects" not in ret["comment"]
    assert len(calls(tmp_path)) == (1 if hang_on == "everything" else 2), calls(tmp_path)
    assert elapsed < 2 * 2 + 3, f"one bounded probe, not several: {elapsed:.1f} s"
    assert snapshot(tree) == before
    # The whole process group went: neither the script nor its child lingers.
    pids = [int(line.split()[0]) for line in calls(tmp_path)]
    pids += [int(p) for p in (tmp_path / "children").read_text().split()]
    wait_for(lambda: not any(alive(pid) for pid in pids), 5, "the hung probe's exit")


# ---------------------------------------------------------------- two runs at once
def salt_call(minion_dir, pillar, opts, *args):
    """A real ``salt-call --local`` in the background, sharing ``opts``' cachedir."""
    minion = LocalMinion(minion_dir, pillar, {key: opts[key] for key in ("root_dir", "cachedir")})
    return subprocess.Popen(
        [SALT_CALL, "--local", "-c", str(minion.dir), "--out=json", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_second_run_on_the_same_root_waits_and_names_the_holder(
        idlelock, session_minion_opts, tree, tmp_path, monkeypatch):
    # Run A (a real salt-call) reads the tree, then its sshd -T sleeps 6 s.
    binary = fake_sshd(tmp_path, 'touch "$here/reading"; sleep 6')
    pillar = {"sshd": {"config": str(tree / "sshd_config"), "binary": str(binary),
                       "manage_service": False}}
    # The grain of run A reads the policy that earlier tests left in the shared
    # cachedir (their configs, their fake binaries): not this test's business.
    cached = pathlib.Path(session_minion_opts["cachedir"], "idlelock", "policy.json")
    cached.unlink(missing_ok=True)
    first = salt_call(tmp_path / "minion", pillar, session_minion_opts, "idlelock.set_sshd")
    try:
        wait_for(lambda: (tmp_path / "reading").exists(), 60, "run A's first sshd -T")
        monkeypatch.setattr(idlelock_system, "LOCK_TIMEOUT", 1, raising=False)

        second = idlelock.set_sshd(config=str(tree / "sshd_config"))

        assert second["result"] is False
        assert f"another idlelock run (PID {first.pid}) is changing root /" in second["comment"]
        assert "waited 1 s" in second["comment"] and "nothing was changed" in second["comment"]
        stdout, stderr = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert json.loads(stdout)["local"]["result"] is True, stderr
    assert effective(str(tree / "sshd_config"))["clientaliveinterval"] == "300"
    monkeypatch.setattr(idlelock_system, "LOCK_TIMEOUT", 120, raising=False)
    again = idlelock.set_sshd(config=str(tree / "sshd_config"))
    assert again["result"] is True and again["changes"] == {}, again


def test_a_removal_waits_for_the_run_that_holds_the_root(idlelock, session_minion_opts,
                                                         monkeypatch):
    # A removal read between a scheduled run's read and write: the run took a
    # logind line over again after the removal said it was given back, and the
    # removal deleted the backup under it. test=True: nothing is written either way.
    locks = os.path.join(session_minion_opts["cachedir"], "idlelock", "locks")
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            sys.path.insert(0, {os.path.dirname(idlelock_system.__file__)!r})
            import idlelock_system
            with idlelock_system.root_lock({locks!r}, "/"):
                print("held", flush=True)
                time.sleep(30)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        monkeypatch.setattr(idlelock_system, "LOCK_TIMEOUT", 1, raising=False)
        ret = idlelock.remove(parts=["logind"], test=True)
    finally:
        holder.kill()
        holder.wait()
    assert ret["result"] is False, ret
    assert f"another idlelock run (PID {holder.pid}) is changing root /" in ret["comment"]
    assert "nothing was changed" in ret["comment"] and ret["changes"] == {}


# ---------------------------------------------------------------- killed mid-write
def test_sigterm_during_the_proof_after_the_write_puts_every_file_back(tree, tmp_path):
    main = tree / "sshd_config"
    # The second sshd -T on the real config is the proof after the write: it sleeps.
    binary = fake_sshd(tmp_path, f"""
if [ "$3" = "{main}" ]; then
  if [ -e "$here/read" ]; then
    sleep 600 & echo $! >> "$here/children"; touch "$here/proving"; wait
  fi
  touch "$here/read"
fi""")
    pillar = {"sshd": {"config": str(main), "binary": str(binary), "manage_service": False}}
    before = snapshot(tree)
    own = {"root_dir": str(tmp_path / "salt-root"), "cachedir": str(tmp_path / "salt-root" / "cache")}
    run = salt_call(tmp_path / "minion", pillar, own, "idlelock.set_sshd")
    try:
        wait_for(lambda: (tmp_path / "proving").exists(), 90, "the proof after the write")
        # Mid-write: the drop-in is there and the line before the Include is commented out.
        assert (tree / "sshd_config.d" / "00-idlelock.conf").exists()
        assert main.read_text().startswith("# idlelock disabled: ")

        run.send_signal(signal.SIGTERM)
        stdout, _ = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    # salt-call ends quietly on SIGTERM (its handler exits 0): no return, no success.
    assert "sshd enforces" not in stdout
    assert snapshot(tree) == {path: (data, snapshot(tree)[path][1]) for path, (data, _) in
                              before.items()}, "every file back, byte for byte"
    assert sorted(p.name for p in (tree / "sshd_config.d").iterdir()) == []
    assert effective(str(main))["clientaliveinterval"] == "100"
    children = [int(p) for p in (tmp_path / "children").read_text().split()]
    wait_for(lambda: not any(alive(pid) for pid in children), 5, "the killed proof's exit")


# ---------------------------------------------------------------- a restore that fails
def test_a_failed_restore_is_reported_as_such(idlelock, tree, tmp_path):
    main = tree / "sshd_config"
    # The proof after the write finds nothing enforced, and the main file's
    # directory has become immutable: the disabled line cannot be put back.
    binary = fake_sshd(tmp_path, f"""
if [ "$3" = "{main}" ]; then
  if [ -e "$here/read" ]; then chattr +i "{tree}"; exit 0; fi
  touch "$here/read"
fi""")
    try:
        ret = idlelock.set_sshd(config=str(main), binary=str(binary))
    finally:
        subprocess.run(["chattr", "-i", str(tree)], check=True)
    assert ret["result"] is False
    assert "after writing, sshd -T disagrees" in ret["comment"]
    assert f"restoring the old files FAILED for {main}: Operation not permitted" in ret["comment"]
    assert "every file was restored" not in ret["comment"]
    # What the message says is what the disk holds: the drop-in went, the main file did not.
    assert not (tree / "sshd_config.d" / "00-idlelock.conf").exists()
    assert main.read_text().startswith("# idlelock disabled: ")
