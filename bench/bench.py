"""
idlelock benchmarks: print ratios measured in this one run.

Every figure is a ratio against a floor measured in the same run, with paired,
alternating A/B repetitions (A B, B A, A B, ...) and the median of the per-pair
ratios, so that drift in the machine's load cancels out. Nothing here passes
or fails on time.

The whole run happens in a private mount namespace, with copies of /etc/ssh,
/etc/profile.d, /etc/zsh and /etc/csh bind-mounted over the real ones: the
no-op and changing runs use idlelock's default paths exactly as a host would,
and nothing the host owns is written.

Usage (as root): ``make bench`` or ``python bench/bench.py [--pairs N]``.
"""

import argparse
import json
import os
import pathlib
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "_utils"))  # tests.support imports the pure utils, as pytest does

from tests.support import private_etc  # noqa: E402
from tests.support.salt_call import SALT_CALL, LocalMinion  # noqa: E402
from tests.support.sshd_sandbox import SshdSandbox  # noqa: E402

SSHD = "/usr/sbin/sshd"
# saltstack-formulas/openssh-formula, the peer of the no-op figure, where the
# search tool's fetch left it (a bare repository; its code is never committed).
PEER_MIRROR = pathlib.Path("/work/.mirror/saltstack-formulas+openssh-formula/repo")
# What the shell part reads and writes on Debian (per-OS data): bound over the real ones.
SANDBOXED_ETC = ("ssh", "profile.d", "zsh", "csh")
NAMESPACE_FLAG = "IDLELOCK_BENCH_NAMESPACE"
STEP_TIMEOUT = 300


def reexec_in_namespace():
    """Run this script again in a private mount namespace, unless already there."""
    if os.environ.get(NAMESPACE_FLAG) == "1":
        return
    if os.geteuid() != 0:
        sys.exit("bench: run as root (it needs a private mount namespace)")
    env = dict(os.environ, **{NAMESPACE_FLAG: "1"})
    os.execvpe("unshare", ["unshare", "-m", "--propagation", "private",
                           sys.executable, *sys.argv], env)


def sandbox_etc(work):
    """Bind copies of the host's /etc/{ssh,profile.d,zsh,csh} over the real ones."""
    for name in SANDBOXED_ETC:
        real, copy = pathlib.Path("/etc", name), work / "etc" / name
        if not real.is_dir():
            continue
        shutil.copytree(real, copy, symlinks=True)
        subprocess.run(["mount", "--bind", str(copy), str(real)], check=True, timeout=30)
        # Refuse to go on unless the bind took: the runs below write these paths.
        if not os.path.samefile(real, copy):
            sys.exit(f"bench: /etc/{name} is not the sandbox copy; stopping")
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    # This namespace's /etc is private already: salt-call and the sandbox sshd
    # (tests/support) share it rather than overlay one of their own, so the
    # minion and the salt-ssh side see the same files, and no overlay wrapper's
    # start-up time lands in a ratio.
    os.environ[private_etc.INSIDE] = "1"


def clean_roots(work):
    """
    file_roots as a deployment has them: the formula and the extension modules.

    The repository root also holds .git and a venv; masterless Salt walks every
    file root on every run, which would add seconds of Salt's own time to both
    sides and hide idlelock's cost in the noise.
    """
    roots = work / "roots"
    roots.mkdir(parents=True)
    for path in [*REPO.glob("_*"), REPO / "bench"]:  # _modules, _states, _utils, _grains...
        (roots / path.name).symlink_to(path)
    return [str(REPO / "salt"), str(roots)]


def timed_call(minion, *args):
    start = time.perf_counter()
    result = minion.call(*args)
    return time.perf_counter() - start, result


def children_cpu():
    """CPU seconds of every waited-for descendant so far (salt-call and what it ran)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def paired(run_a, run_b, pairs):
    """``(median of b/a, median of b - a in ms)`` over alternating pairs."""
    ratios, deltas = [], []
    for index in range(pairs):
        if index % 2 == 0:
            a, b = run_a(), run_b()
        else:
            b, a = run_b(), run_a()
        ratios.append(b / a)
        deltas.append((b - a) * 1000)
    return statistics.median(ratios), statistics.median(deltas)


def paired_runs(run_a, run_b, pairs):
    """
    :func:`paired` for whole runs, on wall time and on CPU time.

    The CPU figure counts every process of the run tree; other load on the
    machine stretches wall time far more than it does CPU time.
    """
    cpu = {"a": [], "b": []}

    def measured(run, side):
        before = children_cpu()
        seconds = run()
        cpu[side].append(children_cpu() - before)
        return seconds

    wall = paired(lambda: measured(run_a, "a"), lambda: measured(run_b, "b"), pairs)
    cpu_ratio = statistics.median(b / a for a, b in zip(cpu["a"], cpu["b"]))
    cpu_delta = statistics.median((b - a) * 1000 for a, b in zip(cpu["a"], cpu["b"]))
    return wall + (cpu_ratio, cpu_delta)


def changed(result):
    return any(state["changes"] for state in result.values())


def failures(result):
    return [key for key, state in result.items() if state["result"] is not True]


# ---------------------------------------------------------------- masterless runs
def peer_minion(work, repo):
    """
    openssh-formula's ``openssh.config`` as a no-op peer: its ``sshd_config``
    state alone (``state.sls_id``: the SLS renders whole, with its map.jinja
    stack, but the package and service states it includes are not run).
    ``None`` when no copy of the formula is at hand.
    """
    if repo is None or not (repo / "HEAD").exists():
        return None
    roots = work / "peer-roots"
    roots.mkdir()
    archive = subprocess.run(["git", "--git-dir", str(repo), "archive", "HEAD", "openssh"],
                             capture_output=True, check=True, timeout=STEP_TIMEOUT).stdout
    subprocess.run(["tar", "-x", "-C", str(roots)], input=archive, check=True,
                   timeout=STEP_TIMEOUT)
    peer = LocalMinion(work / "peer", {}, {"file_roots": {"base": [str(roots)]},
                                            "disable_grains": ["idlelock"]})
    # Its pillar, as a site using it for the same idle policy would write it;
    # its own sshd_config, so that idlelock's runs and its runs never meet.
    (work / "peer-etc").mkdir()
    (peer.dir / "pillar" / "idlelock.sls").write_text(
        f"openssh: {{sshd_config_backup: false, sshd_config: {work / 'peer-etc' / 'sshd_config'}}}\n"
        "sshd_config: {Include: /etc/ssh/sshd_config.d/*.conf, ClientAliveInterval: 300,\n"
        "              ClientAliveCountMax: 1, ChannelTimeout: 'session:*=600',\n"
        "              UsePAM: 'yes', Subsystem: 'sftp /usr/lib/openssh/sftp-server'}\n")
    return peer


def masterless(work, pairs, peer_repo=None):
    pillar = {"sshd": {"manage_service": False}}  # no service manager in a bench namespace
    config = {"file_roots": {"base": clean_roots(work)}}
    minion = LocalMinion(work / "minion", pillar, config)
    # The floor is Salt alone: idlelock's grain runs probes in every salt-call,
    # so it belongs to idlelock's side of the ratio, not to the floor.
    pure = LocalMinion(work / "pure", pillar, dict(config, disable_grains=["idlelock"]))

    def nop(on):
        def run():
            seconds, result = timed_call(on, "state.apply", "bench.floor")
            assert not failures(result), result
            return seconds
        return run

    floor, floor_with_grain = nop(pure), nop(minion)

    def noop_on(on):
        def run():
            seconds, result = timed_call(on, "state.apply", "idlelock")
            assert not failures(result) and not changed(result), result
            return seconds
        return run

    noop, noop_without_grain = noop_on(minion), noop_on(pure)

    timeouts = iter([300, 600] * pairs)

    def changing():
        # Each run moves the timeout, so sshd's drop-in and the shell file change.
        minion.set_pillar(dict(pillar, timeout=next(timeouts)))
        seconds, result = timed_call(minion, "state.apply", "idlelock")
        assert not failures(result) and changed(result), result
        return seconds

    peer = peer_minion(work, peer_repo)

    def peer_noop():
        seconds, result = timed_call(peer, "state.sls_id", "sshd_config", "openssh.config")
        assert not failures(result) and not changed(result), result
        return seconds

    for each in (minion, pure):  # the host compliant, each minion's schedule job added
        first = each.call("state.apply", "idlelock")
        assert not failures(first), first
    warmups = [floor, floor_with_grain, noop, noop_without_grain]
    runs = [("noop", noop), ("state", noop_without_grain), ("grain", floor_with_grain),
            ("changing", changing)]
    if peer is not None:
        peer.call("state.sls_id", "sshd_config", "openssh.config")  # writes its sshd_config
        warmups.append(peer_noop)
        runs.append(("peer", peer_noop))
    for warm in warmups:
        warm()  # first-run caches (grains, file lists) belong to neither side
    figures = {}
    for name, run in runs:
        (figures[f"{name}_ratio"], figures[f"{name}_marginal_ms"],
         figures[f"{name}_cpu_ratio"], figures[f"{name}_cpu_marginal_ms"]) = paired_runs(
            floor, run, pairs)
    minion.set_pillar(pillar)
    minion.call("state.apply", "idlelock")  # back to compliant
    noop_result = minion.call("state.apply", "idlelock")
    assert not changed(noop_result), noop_result
    figures["noop_states"] = {key.split("_|-")[1]: round(state["duration"], 1)
                              for key, state in noop_result.items()}
    figures["floor_spawns"] = spawns(pure, work / "floor.strace", "bench.floor")
    figures["grain_spawns"] = spawns(minion, work / "grain.strace", "bench.floor")
    figures["noop_spawns"] = spawns(minion, work / "noop.strace", "idlelock")
    minion.set_pillar(dict(pillar, timeout=300))
    figures["changing_spawns"] = spawns(minion, work / "changing.strace", "idlelock")
    return figures


def ping(work, pairs):
    """
    ``salt-call --local test.ping`` on a minion with idlelock synced against the
    same minion without it: what idlelock (its grain, mostly) costs every Salt
    call on a host, even one that never applies the formula.
    """
    config = {"file_roots": {"base": clean_roots(work / "ping")}, "module_dirs": []}
    synced = LocalMinion(work / "ping-synced", {}, config)
    bare = LocalMinion(work / "ping-bare", {}, config)
    assert synced.call("saltutil.sync_all")["grains"], "nothing was synced"
    synced.call("idlelock.audit")  # a recorded verdict: the grain's usual case

    def ping_on(minion):
        def run():
            seconds, result = timed_call(minion, "test.ping")
            assert result is True, result
            return seconds
        return run

    for warm in (ping_on(bare), ping_on(synced)):
        warm()
    figures = {}
    (figures["ping_ratio"], figures["ping_marginal_ms"], figures["ping_cpu_ratio"],
     figures["ping_cpu_marginal_ms"]) = paired_runs(ping_on(bare), ping_on(synced), pairs)
    return figures


def apply_script(work, pairs):
    """
    A no-op ``scripts/apply.sh`` (the README's first command, with its own
    config) against Salt's floor with the same config: ``state.single test.nop``.
    """
    env = dict(os.environ, IDLELOCK_STATE=str(work / "apply-state"))
    pillar = 'pillar={"idlelock": {"sshd": {"manage_service": false}}}'

    def run(argv, check_changes):
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, env=env,
                              timeout=STEP_TIMEOUT, check=False)
        seconds = time.perf_counter() - start
        assert proc.returncode == 0, proc.stdout + proc.stderr
        result = json.loads(proc.stdout)["local"]
        assert not failures(result) and not (check_changes and changed(result)), result
        return seconds

    apply_sh = [str(REPO / "scripts" / "apply.sh"), pillar, "--out=json"]
    floor = [SALT_CALL, "--local", "-c", env["IDLELOCK_STATE"], "--out=json",
             "state.single", "test.nop", "name=floor"]
    run(apply_sh, check_changes=False)  # the first run makes the host compliant
    figures = {}
    (figures["apply_ratio"], figures["apply_marginal_ms"], figures["apply_cpu_ratio"],
     figures["apply_cpu_marginal_ms"]) = paired_runs(
        lambda: run(floor, True), lambda: run(apply_sh, True), pairs)
    figures["apply_floor_s"] = statistics.median(run(floor, True) for _ in range(3))
    return figures


_EXECVE_RE = re.compile(r'^execve\("([^"]+)", \[(.*?)\]\, .*\) = 0$')


def spawns(minion, trace, sls):
    """Programs that one ``state.apply`` executes, counted with strace: ``{name: n}``."""
    trace.mkdir()
    proc = subprocess.run(
        # -ff: one file per process, so that concurrent execve calls are not
        # split into "unfinished"/"resumed" halves.
        ["strace", "-ff", "-qq", "-e", "trace=execve", "-e", "signal=none", "-s", "64",
         "-o", str(trace / "pid"), SALT_CALL, "--local", "-c", str(minion.dir),
         "--out=json", "state.apply", sls],
        capture_output=True, text=True, timeout=STEP_TIMEOUT, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"strace salt-call failed: {proc.stderr[-2000:]}")
    counts = {}
    lines = [line for path in trace.iterdir() for line in path.read_text().splitlines()]
    for line in lines:
        found = _EXECVE_RE.match(line)
        if not found:
            continue  # a failed execve (PATH search) starts nothing
        name = os.path.basename(found.group(1))
        if name == "sshd":
            flag = re.search(r'"(-[VTt])"', found.group(2))
            name = f"sshd {flag.group(1) if flag else ''}".strip()
        counts[name] = counts.get(name, 0) + 1
    counts.pop("salt-call", None)  # the run itself
    counts.pop("python3.11", None)
    return dict(sorted(counts.items()))


# ---------------------------------------------------------------- large tree
DROPINS, DROPIN_MATCHES, MAIN_MATCHES, LINES = 100, 2, 100, 5000
_GLOBALS = ("X11Forwarding no", "MaxAuthTries 6", "LoginGraceTime 60", "Banner none",
            "PermitRootLogin prohibit-password", "MaxSessions 10", "ClientAliveInterval 120")
_MATCH_BODY = ("X11Forwarding yes", "AllowTcpForwarding no", "PermitTTY yes",
               "ClientAliveInterval 900")


def _match_block(number):
    criteria = ("User bench{n}", "Group benchgroup{n}", "Address 10.{a}.{b}.0/24")[number % 3]
    return [f"Match {criteria.format(n=number, a=number // 250, b=number % 250)}",
            *(f"    {line}" for line in _MATCH_BODY)]


def large_tree(directory):
    """
    A tree like a long-lived, much-edited host: ``LINES`` lines in the main
    file and ``DROPINS`` drop-ins, with ``DROPINS * DROPIN_MATCHES +
    MAIN_MATCHES`` Match blocks (some override ClientAliveInterval).
    Returns the main file's path.
    """
    sandbox = SshdSandbox(directory)
    number = 0
    dropin_lines = 0
    for index in range(DROPINS):
        lines = [f"# drop-in {index}"]
        lines += [_GLOBALS[(index + k) % len(_GLOBALS)] for k in range(12)]
        lines += [f"# note {k}" for k in range(5)]
        for _ in range(DROPIN_MATCHES):
            lines += _match_block(number)
            number += 1
        sandbox.write_dropin(f"{index + 10:03d}-bench.conf", "\n".join(lines) + "\n")
        dropin_lines += len(lines)
    main = sandbox.config.read_text().splitlines()
    filler = LINES - dropin_lines - len(main) - MAIN_MATCHES * (1 + len(_MATCH_BODY))
    main += [f"# {k}" if k % 2 else _GLOBALS[k % len(_GLOBALS)] for k in range(filler)]
    for _ in range(MAIN_MATCHES):
        main += _match_block(number)
        number += 1
    sandbox.config.write_text("\n".join(main) + "\n")
    return str(sandbox.config)


def large_tree_get(work, pairs):
    """``idlelock.get`` (in Salt's loader, as a minion runs it) against ``sshd -T`` alone."""
    from saltfactories.utils.functional import Loaders

    from tests.support.loader import make_minion_opts

    config = large_tree(work / "large")
    (work / "loader" / "pillar").mkdir(parents=True)
    loaders = Loaders(make_minion_opts(work / "loader"))
    get = loaders.modules.idlelock.get

    def sshd_t():
        start = time.perf_counter()
        subprocess.run([SSHD, "-T", "-f", config], capture_output=True, check=True,
                       timeout=STEP_TIMEOUT)
        return time.perf_counter() - start

    def idlelock_get():
        loaders.context.clear()  # a fresh CLI call: the version is probed again
        start = time.perf_counter()
        report = get(config=config)
        seconds = time.perf_counter() - start
        assert "error" not in report, report
        return seconds

    figures = {}
    figures["get_ratio"], figures["get_marginal_ms"] = paired(sshd_t, idlelock_get, pairs)
    figures["sshd_T_ms"] = statistics.median(sshd_t() for _ in range(5)) * 1000
    figures["get_parts_ms"] = parts = get_parts(config, pairs)
    # What the tree costs idlelock: everything but the login shells, which do
    # not read it and take the same time on any tree.
    figures["get_sshd_part_ratio"] = (sum(parts.values()) - parts["login-shell probes"]) / (
        parts["sshd -T"])
    return figures


def get_parts(config, repeats):
    """
    Where ``idlelock.get`` spends its time: its steps timed one by one (median
    ms), through the same library calls, without a profiler's overhead.
    """
    import idlelock_facts
    import idlelock_policy
    import idlelock_system

    managed = tuple(idlelock_policy.SSHD_KEYWORDS.values())  # as _modules/idlelock.py
    tree = idlelock_facts.sshd_tree("/", config)[0]
    steps = {
        "sshd -V": lambda: idlelock_system.sshd_version(SSHD),
        "sshd -T": lambda: idlelock_system.sshd_effective(SSHD, config),
        "walk the tree": lambda: idlelock_facts.sshd_tree("/", config),
        "winners and Match overrides": lambda: (tree.winners(managed),
                                                tree.match_overrides(managed)),
        "login-shell probes": lambda: idlelock_facts.probe_shells("/"),
    }
    parts = {}
    for name, step in steps.items():
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            step()
            samples.append(time.perf_counter() - start)
        parts[name] = round(statistics.median(samples) * 1000, 1)
    return parts


# ---------------------------------------------------------------- fleet
def fleet(work, pairs):
    """``salt '*' state.apply idlelock`` on 3 minions against 1, on one master (pytest)."""
    out = work / "fleet.json"
    proc = subprocess.run(
        # -p: fleet.py is also the plugin that binds the log server to 127.0.0.1.
        [sys.executable, "-m", "pytest", str(REPO / "bench" / "fleet.py"), "-q", "-s",
         "-p", "no:cacheprovider", "-p", "bench.fleet", "--rootdir", str(REPO),
         f"--basetemp={work / 'fleet'}"],
        env=dict(os.environ, IDLELOCK_BENCH_OUT=str(out), IDLELOCK_BENCH_PAIRS=str(pairs),
                 IDLELOCK_BENCH_ROOTS=json.dumps(clean_roots(work / "fleet-roots"))),
        cwd=REPO, capture_output=True, text=True, timeout=STEP_TIMEOUT, check=False,
    )
    if proc.returncode != 0 or not out.exists():
        return {"fleet_error": (proc.stdout + proc.stderr)[-3000:]}
    return json.loads(out.read_text())


# ---------------------------------------------------------------- fleet report, salt-ssh
def report_render(work, pairs):  # pylint: disable=unused-argument
    """The fleet report at 500 and 5,000 hosts (bench/report_render.py)."""
    import report_render as part  # bench/ is sys.path[0]  # pylint: disable=import-outside-toplevel

    return part.render_times(pairs, paired)


def salt_ssh(work, pairs):
    """salt-ssh against salt-call, no-op apply (bench/salt_ssh.py); fewer pairs: ~10 s each."""
    import salt_ssh as part  # bench/ is sys.path[0]  # pylint: disable=import-outside-toplevel

    return part.apply_times(work, max(3, pairs // 3), paired)


# ---------------------------------------------------------------- report
def report(figures):
    rows = [
        ("salt-call test.ping, idlelock synced / without", "ping_ratio", "≤ 1.02"),
        ("  marginal ms", "ping_marginal_ms", ""),
        ("  CPU time ratio", "ping_cpu_ratio", ""),
        ("  CPU marginal ms", "ping_cpu_marginal_ms", ""),
        ("no-op scripts/apply.sh / Salt's floor (same config)", "apply_ratio", ""),
        ("  marginal ms", "apply_marginal_ms", ""),
        ("  CPU marginal ms", "apply_cpu_marginal_ms", ""),
        ("  the floor, s", "apply_floor_s", ""),
        ("no-op state.apply idlelock / test.nop floor", "noop_ratio", "≤ 1.05"),
        ("  marginal ms", "noop_marginal_ms", "≤ ~100"),
        ("  CPU time ratio", "noop_cpu_ratio", ""),
        ("  CPU marginal ms", "noop_cpu_marginal_ms", ""),
        ("  of which the state run (grain off) / floor", "state_ratio", ""),
        ("    marginal ms", "state_marginal_ms", ""),
        ("    CPU marginal ms", "state_cpu_marginal_ms", ""),
        ("  of which idlelock's grain (test.nop) / floor", "grain_ratio", "≤ 1.02"),
        ("    marginal ms", "grain_marginal_ms", ""),
        ("    CPU marginal ms", "grain_cpu_marginal_ms", ""),
        ("peer: openssh-formula openssh.config no-op / floor", "peer_ratio", ""),
        ("  marginal ms", "peer_marginal_ms", ""),
        ("changing state.apply idlelock / floor", "changing_ratio", "≤ 1.15"),
        ("  marginal ms", "changing_marginal_ms", ""),
        ("  CPU time ratio", "changing_cpu_ratio", ""),
        ("  CPU marginal ms", "changing_cpu_marginal_ms", ""),
        ("idlelock.get, large tree / sshd -T alone", "get_ratio", "≤ 3"),
        ("  marginal ms", "get_marginal_ms", ""),
        ("  sshd -T alone, ms", "sshd_T_ms", ""),
        ("  its sshd steps alone / sshd -T", "get_sshd_part_ratio", ""),
        ("salt '*' state.apply: 3 minions / 1 minion", "fleet_ratio", "≤ 1.3"),
        ("  1 minion, s", "fleet_one_s", ""),
        ("  CPU s of the master, 1 minion", "fleet_master_cpu_s", ""),
        ("  CPU s of the minion and its job", "fleet_minion_cpu_s", ""),
        ("salt '*' state.apply test.nop: 3 / 1 minion", "fleet_floor_ratio", ""),
        ("  1 minion, s", "fleet_floor_one_s", ""),
        ("  CPU s of the master, 1 minion", "fleet_floor_master_cpu_s", ""),
        ("  CPU s of the minion and its job", "fleet_floor_minion_cpu_s", ""),
        ("report, 500 hosts, all formats, ms", "report_500_ms", ""),
        ("  / Salt's msgpack decode of their returns", "report_500_decode_ratio", ""),
        ("  HTML page, KiB", "report_500_html_kb", ""),
        ("report, 5,000 hosts, all formats, ms", "report_5000_ms", ""),
        ("  / Salt's msgpack decode of their returns", "report_5000_decode_ratio", ""),
        ("  HTML page, KiB", "report_5000_html_kb", ""),
        ("salt-ssh state.apply / salt-call, no-op", "ssh_apply_ratio", ""),
        ("  salt-ssh, s", "ssh_apply_s", ""),
        ("  salt-call (minion), s", "minion_apply_s", ""),
    ]
    print(f"\n{'figure':48} {'measured':>10}  target")
    for label, key, target in rows:
        value = figures.get(key)
        if value is None:
            shown = "n/a"
        else:  # ratios and seconds to two places, milliseconds whole
            shown = f"{value:.0f}" if key.endswith("_ms") else f"{value:.2f}"
        print(f"{label:48} {shown:>10}  {target}")
    floor = figures.get("floor_spawns")
    if floor is not None:
        print(f"\nprocesses started by Salt alone (the floor): {sum(floor.values())}, {floor}")
        for key, what in (("grain_spawns", "the floor with idlelock's grain"),
                          ("noop_spawns", "a no-op state.apply idlelock"),
                          ("changing_spawns", "a changing state.apply idlelock")):
            extra = {name: count - floor.get(name, 0) for name, count in figures[key].items()
                     if count != floor.get(name, 0)}
            print(f"processes beyond the floor, {what}: {sum(extra.values())}, {extra}")
    if "peer_ratio" not in figures:
        print("\npeer not measured: pass --peer with a clone of saltstack-formulas/openssh-formula")
    print(f"\nno-op state durations (ms, as Salt reports them): {figures.get('noop_states')}")
    print(f"the same in a minion daemon (fleet): {figures.get('fleet_states')}")
    print(f"idlelock.get on the large tree, its steps (ms): {figures.get('get_parts_ms')}")
    if "fleet_error" in figures:
        print("\nfleet bench failed:\n" + figures["fleet_error"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=int(os.environ.get("BENCH_PAIRS", 15)),
                        help="A/B pairs per figure (default 15)")
    parser.add_argument("--only",
                        choices=("ping", "apply", "masterless", "large", "fleet", "report", "ssh"),
                        action="append",
                        help="run only these parts (repeatable)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--peer", type=pathlib.Path,
                        default=PEER_MIRROR if PEER_MIRROR.exists() else None,
                        help="a git repository of saltstack-formulas/openssh-formula, "
                             "measured as the no-op peer (default: the fetched mirror)")
    args = parser.parse_args()
    # A minion caches the bytecode of idlelock's modules after its first run; an
    # environment that forbids that would charge every run with compiling them.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    reexec_in_namespace()
    parts = args.only or ["ping", "apply", "masterless", "large", "fleet", "report", "ssh"]
    work = pathlib.Path(tempfile.mkdtemp(prefix="idlelock-bench-"))
    figures = {"date": time.strftime("%Y-%m-%d"), "pairs": args.pairs}
    try:
        sandbox_etc(work)
        for name, part in (("ping", ping), ("apply", apply_script), ("masterless", masterless),
                           ("large", large_tree_get), ("fleet", fleet),
                           ("report", report_render), ("ssh", salt_ssh)):
            if name in parts:
                started = time.monotonic()
                figures.update(part(work, args.pairs, args.peer) if name == "masterless"
                               else part(work, args.pairs))
                print(f"bench: {name} done in {time.monotonic() - started:.0f} s", flush=True)
    finally:
        report(figures)
        if args.json:
            pathlib.Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
