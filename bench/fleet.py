"""
Fleet benchmark: ``salt '*' state.apply idlelock`` on 3 minions against 1.

One real salt-master and three real minions (pytest-salt-factories), all on
127.0.0.1. Each pair runs the no-op apply targeted at one minion and at all
three, in alternating order; the figure is the median of the per-pair wall-time
ratios of the ``salt`` command. bench/bench.py runs this module through pytest
inside its private mount namespace (the shell part reads the sandboxed
/etc/profile.d) and reads the figures from ``$IDLELOCK_BENCH_OUT``.

Not a test: it asserts only that each run succeeded and changed nothing.
"""

import contextlib
import json
import os
import pathlib
import statistics
import time

import pytest
# The daemons bind and log on 127.0.0.1 only, as in the integration tests.
from tests.integration.conftest import event_listener, salt_factories_config  # noqa: F401
from tests.support.sshd_sandbox import SshdSandbox, child_pids

REPO = pathlib.Path(__file__).resolve().parents[1]
MINIONS = ("bench-1", "bench-2", "bench-3")
JOB_TIMEOUT = 120
TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu(pid):
    """CPU seconds used so far by ``pid``, its live descendants and the ones they reaped."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile; its parent's cutime has it
        total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        pending += child_pids(current)
    return total / TICK


@pytest.hookimpl(hookwrapper=True)
def pytest_sessionstart(session):
    # Loaded with -p: bind the daemons' log server to 127.0.0.1 before it starts
    # (its default is 0.0.0.0).
    session.config.pluginmanager.get_plugin("saltfactories-log-server").log_host = "127.0.0.1"
    yield


@pytest.fixture(scope="module")
def fleet(salt_factories, tmp_path_factory):
    """A running master and three minions, each with its own sshd tree, already compliant."""
    pillar = tmp_path_factory.mktemp("pillar")
    (pillar / "top.sls").write_text("base:\n  '*':\n    - idlelock\n")
    # No service manager here; the shell part uses the sandboxed /etc/profile.d.
    (pillar / "idlelock.sls").write_text(
        "idlelock:\n  sshd:\n    manage_service: false\n")
    master = salt_factories.salt_master_daemon(
        "bench-master",
        overrides={
            # bench.py passes the deployment-like roots it built (no .git, no venv).
            "file_roots": {"base": json.loads(os.environ.get(
                "IDLELOCK_BENCH_ROOTS", json.dumps([str(REPO / "salt"), str(REPO)])))},
            "pillar_roots": {"base": [str(pillar)]},
            "interface": "127.0.0.1",
            "timeout": JOB_TIMEOUT,
        },
    )
    minions = []
    with contextlib.ExitStack() as stack:
        stack.enter_context(master.started())
        for minion_id in MINIONS:
            sandbox = SshdSandbox(tmp_path_factory.mktemp(minion_id))
            minion = master.salt_minion_daemon(
                minion_id, overrides={"idlelock": {"sshd": {"config": str(sandbox.config)}}})
            stack.enter_context(minion.started())
            minions.append(minion)
        cli = master.salt_cli(timeout=JOB_TIMEOUT)
        cli.daemon_pids = {"master": master.pid, **{m.id: m.pid for m in minions}}
        synced = cli.run("saltutil.sync_all", minion_tgt="*")
        assert synced.returncode == 0, synced.stderr
        for minion_id in MINIONS:  # one at a time: they share the shell files
            first = cli.run("state.apply", "idlelock", minion_tgt=minion_id)
            assert first.returncode == 0, first.stdout + first.stderr
        yield cli


def _apply(cli, sls, target, expected):
    start = time.perf_counter()
    ret = cli.run("state.apply", sls, minion_tgt=target)
    seconds = time.perf_counter() - start
    assert ret.returncode == 0, ret.stdout + ret.stderr
    data = ret.data if len(expected) > 1 else {expected[0]: ret.data}
    assert sorted(data) == sorted(expected), data
    for states in data.values():
        assert isinstance(states, dict), states
        assert not any(state["changes"] for state in states.values()), states
    return seconds


def _three_against_one(cli, sls, pairs):
    """
    ``{ratio, one_s, master_cpu_s, minion_cpu_s}``: the median 3/1 wall-time
    ratio, and for one minion the median wall time, and the CPU seconds the
    master and the minion (with its job processes) spent on the run.
    """
    cpu = []

    def one():
        before = {name: tree_cpu(pid) for name, pid in cli.daemon_pids.items()}
        seconds = _apply(cli, sls, MINIONS[0], MINIONS[:1])
        cpu.append({name: tree_cpu(pid) - before[name] for name, pid in cli.daemon_pids.items()})
        return seconds

    three = lambda: _apply(cli, sls, "bench-*", MINIONS)  # noqa: E731
    one(), three()  # warm-up: both sides start with the minions' caches filled
    ratios, singles = [], []
    for index in range(pairs):
        if index % 2 == 0:
            a, b = one(), three()
        else:
            b, a = three(), one()
        ratios.append(b / a)
        singles.append(a)
    return {"ratio": statistics.median(ratios), "one_s": statistics.median(singles),
            "master_cpu_s": statistics.median(c["master"] for c in cpu[1:]),
            "minion_cpu_s": statistics.median(c[MINIONS[0]] for c in cpu[1:])}


def test_three_minions_against_one(fleet):
    pairs = int(os.environ.get("IDLELOCK_BENCH_PAIRS", "7"))
    figures = {}
    # The same comparison for one test.nop tells Salt's own scaling on this
    # machine apart from idlelock's.
    for name, sls in (("fleet", "idlelock"), ("fleet_floor", "bench.floor")):
        for key, value in _three_against_one(fleet, sls, pairs).items():
            figures[f"{name}_{key}"] = value
    ret = fleet.run("state.apply", "idlelock", minion_tgt=MINIONS[0])
    figures["fleet_states"] = {key.split("_|-")[1]: round(state["duration"], 1)
                               for key, state in ret.data.items()}
    out = os.environ.get("IDLELOCK_BENCH_OUT")
    if out:
        pathlib.Path(out).write_text(json.dumps(figures))
    print(figures)
