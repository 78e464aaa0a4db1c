"""
The formula through the real ``salt-call``: SLS wiring, defaults agreement,
service states, and the README's masterless apply command.
"""

import hashlib
import json
import os
import pathlib
import subprocess

import pytest

from tests.support import private_etc
from tests.support.salt_call import REPO, SALT_CALL, LocalMinion, states_by_id
from tests.support.sshd_sandbox import effective


@pytest.fixture
def sandbox(tmp_path, host_key):
    """A Debian-like sshd tree, so nothing real is touched."""
    etc = tmp_path / "etc-ssh"
    (etc / "sshd_config.d").mkdir(parents=True)
    (etc / "sshd_config").write_text(f"Include {etc}/sshd_config.d/*.conf\nHostKey {host_key}\n")
    return tmp_path


def sandbox_pillar(sandbox, **extra):
    pillar = {
        "sshd": {"config": str(sandbox / "etc-ssh" / "sshd_config"), "manage_service": False},
        # Login shells read only the real /etc/profile.d; the shell part has its
        # own namespace-sandboxed tests.
        "shell": {"enabled": False},
        "schedule": {"enabled": False},
    }
    for key, value in extra.items():
        if isinstance(value, dict):
            pillar.setdefault(key, {}).update(value)
        else:
            pillar[key] = value
    return pillar


def test_sls_and_policy_agree(sandbox):
    minion = LocalMinion(sandbox / "minion", sandbox_pillar(sandbox, timeout=42, profile="cis"))
    policy = minion.call("idlelock.policy")
    result = minion.call("state.apply", "idlelock")

    assert states_by_id(result)["idlelock-sshd"]["result"] is True
    values = effective(str(sandbox / "etc-ssh" / "sshd_config"))
    assert values["channeltimeout"] == " ".join(policy["sshd"]["channel_timeout"]) == "session:*=42"
    assert values["clientaliveinterval"] == str(policy["sshd"]["client_alive_interval"]) == "42"
    # The CIS benchmark's remediation value, which the cis profile defaults to.
    assert values["clientalivecountmax"] == str(policy["sshd"]["client_alive_count_max"]) == "3"
    assert values["unusedconnectiontimeout"] == str(policy["sshd"]["unused_connection_timeout"]) == "42"

    again = minion.call("state.apply", "idlelock")
    assert all(not state["changes"] for state in again.values())


@pytest.mark.parametrize("os_family,service", [("Debian", "ssh"), ("RedHat", "sshd"), ("Arch", "sshd")])
def test_service_states_are_separate_and_watch_the_config(sandbox, os_family, service):
    pillar = sandbox_pillar(sandbox, sshd={"manage_service": True})
    minion = LocalMinion(sandbox / "minion", pillar, {"grains": {"os_family": os_family}})
    shown = minion.call("state.show_sls", "idlelock.sshd")

    enable = shown["idlelock-sshd-service-enabled"]["service"]
    running = shown["idlelock-sshd-service-reload"]["service"]
    assert {"name": service} in enable and "enabled" in enable
    assert {"name": service} in running and {"reload": True} in running
    assert {"enable": True} not in running, "enable and the watched reload must be separate states"
    assert {"watch": [{"idlelock": "idlelock-sshd"}]} in running


def test_manage_service_false_skips_the_service(sandbox):
    minion = LocalMinion(sandbox / "minion", sandbox_pillar(sandbox))
    shown = minion.call("state.show_sls", "idlelock.sshd")
    assert list(shown) == ["idlelock-sshd"]


FAKE_SERVICE = REPO / "tests" / "support" / "fake_service"
# Grains per platform, and whether systemd socket-activates sshd there (the
# stand-in service manager answers service.enabled ssh.socket).
PLATFORMS = {
    "Debian 12": ({"os_family": "Debian", "os": "Debian", "osrelease": "12"}, False),
    "Ubuntu 24.04": ({"os_family": "Debian", "os": "Ubuntu", "osrelease": "24.04"}, True),
    "Ubuntu 22.04": ({"os_family": "Debian", "os": "Ubuntu", "osrelease": "22.04"}, False),
    "Rocky 9": ({"os_family": "RedHat", "os": "Rocky", "osrelease": "9.4"}, False),
}


def platform_minion(sandbox, platform, **sshd):
    grains, socket = PLATFORMS[platform]
    service = "sshd" if grains["os_family"] == "RedHat" else "ssh"
    config = {
        "module_dirs": [str(REPO), str(FAKE_SERVICE)],
        "grains": dict(grains, init="systemd"),
        "idlelock_test_services": {
            service: {"pidfile": str(sandbox / "sshd.pid"), "enabled": not socket},
            f"{service}.socket": {"pidfile": str(sandbox / "socket.pid"), "enabled": socket},
        },
    }
    pillar = sandbox_pillar(sandbox, sshd=dict({"manage_service": True}, **sshd))
    return LocalMinion(sandbox / "minion", pillar, config), service


@pytest.mark.parametrize("platform", PLATFORMS)
def test_rendered_sshd_sls_per_platform(sandbox, platform):
    """
    Rendering asks no service manager, so every platform gets the same three
    service states, decided when they run: enable and reload ssh.service unless
    its socket unit is enabled (Ubuntu >= 22.10: enabling ssh.service there
    breaks port 22, and service.running would start it), else reload it only
    while it runs; every reload only when the sshd state changed something.
    """
    minion, service = platform_minion(sandbox, platform)
    shown = minion.call("state.show_sls", "idlelock.sshd")
    socket_enabled = {"fun": "service.enabled", "args": [f"{service}.socket"]}

    assert sorted(shown) == ["idlelock-sshd", "idlelock-sshd-service-enabled",
                             "idlelock-sshd-service-reload", "idlelock-sshd-socket-reload"]
    enable = shown["idlelock-sshd-service-enabled"]["service"]
    running = shown["idlelock-sshd-service-reload"]["service"]
    assert {"name": service} in enable and {"unless": [socket_enabled]} in enable
    assert {"name": service} in running and {"reload": True} in running
    assert {"unless": [socket_enabled]} in running
    assert {"watch": [{"idlelock": "idlelock-sshd"}]} in running
    socket = shown["idlelock-sshd-socket-reload"]["module"]
    assert "run" in socket and {"service.reload": [{"name": service}]} in socket
    assert {"onlyif": [socket_enabled, {"fun": "service.status", "args": [service]}]} in socket
    assert {"onchanges": [{"idlelock": "idlelock-sshd"}]} in socket
    assert not list(sandbox.glob("*.calls")), "rendering asked the service manager"


def test_socket_activated_sshd_is_reloaded_only_while_it_runs(sandbox):
    """
    Ubuntu >= 22.10 with ssh.service inactive (nobody logged in since boot): a
    change enables nothing, starts nothing and reloads nothing. (A running one
    is reloaded: tests/e2e/test_sshd_pending_reload.py, with a real sshd.)
    """
    minion, service = platform_minion(sandbox, "Ubuntu 24.04", client_alive_count_max=1)
    calls = sandbox / "sshd.pid.calls"

    ran = states_by_id(minion.call("state.apply", "idlelock.sshd"))

    assert ran["idlelock-sshd"]["changes"], "the config was written"
    for service_state in ("idlelock-sshd-service-enabled", "idlelock-sshd-service-reload"):
        assert ran[service_state]["result"] is True
        assert ran[service_state]["comment"] == "unless condition is true"
    assert ran["idlelock-sshd-socket-reload"]["result"] is True
    assert "onlyif condition is false" in ran["idlelock-sshd-socket-reload"]["comment"]
    made = calls.read_text().split("\n") if calls.exists() else []
    assert not {f"start {service}", f"enable {service}", f"reload {service}",
                f"restart {service}"} & set(made), made
    assert not (sandbox / "sshd.pid.enabled.json").exists()


@pytest.mark.parametrize("platform", [p for p, (_, socket) in PLATFORMS.items() if not socket])
def test_sshd_without_socket_activation_is_left_to_the_service_states(sandbox, platform):
    """Where the socket unit is not enabled, the socket reload steps aside at run time."""
    minion, service = platform_minion(sandbox, platform, client_alive_count_max=1)

    ran = states_by_id(minion.call("state.apply", "idlelock.sshd", check=False))

    assert ran["idlelock-sshd"]["changes"]
    assert ran["idlelock-sshd-service-enabled"]["comment"] == (
        f"Service {service} is already enabled, and is in the desired state")
    assert "unless condition" not in ran["idlelock-sshd-service-reload"]["comment"]
    assert "onlyif condition is false" in ran["idlelock-sshd-socket-reload"]["comment"]


def test_rendering_the_formula_changes_nothing_and_asks_no_service(sandbox):
    """state.show_sls renders every SLS: no file under the minion's root, no systemd query."""
    fake_systemd = REPO / "tests" / "support" / "fake_service"
    minion_config = {
        "module_dirs": [str(REPO), str(fake_systemd)],
        "grains": {"init": "systemd", "os_family": "Debian"},
        "idlelock_test_services": {"ssh": {"pidfile": str(sandbox / "ssh.pid")},
                                   "ssh.socket": {"pidfile": str(sandbox / "ssh-socket.pid")}},
    }
    pillar = sandbox_pillar(sandbox, sshd={"manage_service": True}, schedule={"enabled": True})
    minion = LocalMinion(sandbox / "minion", pillar, minion_config)
    cachedir = sandbox / "minion" / "root" / "var" / "cache" / "salt" / "minion"
    config = sandbox / "etc-ssh"
    before = tree_digest(config)

    shown = minion.call("state.show_sls", "idlelock")

    assert "idlelock-sshd-socket-reload" in shown and "idlelock-schedule" in shown
    assert tree_digest(config) == before
    assert not list(cachedir.glob("idlelock*")), "rendering wrote idlelock state"
    assert not list(sandbox.glob("ssh*.calls")), "rendering asked the service manager"


def test_bad_pillar_fails_the_state_and_changes_nothing(sandbox):
    minion = LocalMinion(
        sandbox / "minion", sandbox_pillar(sandbox, sshd={"client_alive_interval": "300\nPermitRootLogin yes"})
    )
    main = sandbox / "etc-ssh" / "sshd_config"
    before = main.read_bytes()
    result = minion.call("state.apply", "idlelock", check=False)
    sshd = states_by_id(result)["idlelock-sshd"]
    assert sshd["result"] is False
    assert "idlelock:sshd:client_alive_interval: '300\\nPermitRootLogin yes' is not accepted" in sshd["comment"]
    assert main.read_bytes() == before
    assert not (sandbox / "etc-ssh" / "sshd_config.d" / "00-idlelock.conf").exists()


def tree_digest(path):
    digest = hashlib.sha256()
    for item in sorted(pathlib.Path(path).rglob("*")):
        digest.update(str(item).encode())
        if item.is_file() and not item.is_symlink():
            digest.update(item.read_bytes())
    return digest.hexdigest()


def untracked():
    """Files in the repository that git does not track (ignored ones included), bytecode aside."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "--others", "-z"],
        capture_output=True, check=True, timeout=60,
    ).stdout.decode().split("\0")
    return sorted(path for path in listed if path and "__pycache__" not in path)


def test_readme_apply_command_in_a_private_mount_namespace(tmp_path):
    """
    ``scripts/apply.sh`` as a user runs it, in a private mount namespace whose
    /etc is an overlay (the suite's, tests/support/private_etc.py: this host's
    start-up files do not decide the outcome): every write lands in the test's
    directory, whatever the formula touches (sshd, profile.d, zsh, csh ...).
    """
    upper = tmp_path / "etc-upper"
    watched = [n for n in ("ssh", "profile.d", "zsh", "csh") if os.path.isdir(f"/etc/{n}")]
    real_before = [tree_digest(f"/etc/{name}") for name in watched]
    pillar = '{"idlelock": {"sshd": {"manage_service": false}, "schedule": {"enabled": false}}}'
    state = tmp_path / "salt-state"  # IDLELOCK_STATE: Salt's config, cache and logs
    script = f"""
        set -e
        mkdir -p /run/sshd
        {REPO}/scripts/apply.sh pillar='{pillar}' > {tmp_path}/apply.out 2>&1
        /usr/sbin/sshd -T -f /etc/ssh/sshd_config
    """
    repo_before = untracked()
    proc = subprocess.run(
        private_etc.command(upper, ["bash", "-c", script]),
        capture_output=True, text=True, timeout=600, env=dict(os.environ, IDLELOCK_STATE=str(state)),
    )
    output = (tmp_path / "apply.out").read_text() if (tmp_path / "apply.out").exists() else ""
    assert proc.returncode == 0, output + proc.stderr
    # Salt logs a util it cannot load as an ERROR with a traceback on every run.
    assert "Failed to import" not in output, output
    values = dict(line.split(" ", 1) for line in proc.stdout.splitlines())
    assert values["channeltimeout"] == "session:*=600"
    assert values["clientalivecountmax"] == "1"
    assert (upper / "ssh" / "sshd_config.d" / "00-idlelock.conf").exists()
    assert (upper / "profile.d" / "idlelock.sh").exists()
    assert [tree_digest(f"/etc/{name}") for name in watched] == real_before

    # Nothing of Salt's own state landed in the repository, and Salt serves the
    # formula only: no tests/, bench/, scripts/ or pillar/ as salt:// files.
    assert untracked() == repo_before
    served = subprocess.run(
        [SALT_CALL, "--local", "-c", str(state), "--out=json", "cp.list_master"],
        capture_output=True, text=True, timeout=120, check=True,
    )
    files = json.loads(served.stdout)["local"]
    assert "idlelock/init.sls" in files
    assert not [f for f in files if not f.startswith("idlelock/") and f != "top.sls"], files


@pytest.mark.parametrize("proof_max_age,asked", [(0, ["-T", "-V"]), ("6h", [])])
def test_a_no_op_run_asks_sshd_once_or_not_at_all(sandbox, proof_max_age, asked):
    """
    Without the record, one salt-call asks sshd once (-V, -T); with it, a no-op
    run after a proven one asks nothing (tests/functional/test_proof_record.py
    shows what makes it ask again).
    """
    calls = sandbox / "sshd-calls.log"
    wrapper = sandbox / "sshd"
    wrapper.write_text(f'#!/bin/sh\necho "$1" >> {calls}\nexec /usr/sbin/sshd "$@"\n')
    wrapper.chmod(0o755)
    pillar = sandbox_pillar(sandbox, sshd={"binary": str(wrapper)}, proof_max_age=proof_max_age)
    minion = LocalMinion(sandbox / "minion", pillar)
    minion.call("state.apply", "idlelock")
    minion.call("state.apply", "idlelock")  # the first run proved a staged candidate
    calls.write_text("")

    again = minion.call("state.apply", "idlelock")

    assert all(not state["changes"] for state in again.values())
    assert sorted(calls.read_text().split()) == asked


def test_a_latin1_config_and_a_short_timeout_through_state_apply(sandbox):
    # A byte that is not UTF-8 once crashed Salt's serialisation of the diff after
    # the files were written; a 6 s timeout closes idle sessions within seconds.
    config = sandbox / "etc-ssh" / "sshd_config"
    config.write_bytes(b"# caf\xe9\nClientAliveInterval 100\n" + config.read_bytes())
    minion = LocalMinion(sandbox / "minion", sandbox_pillar(sandbox, timeout=6))

    result = states_by_id(minion.call("state.apply", "idlelock"))  # exits 0, parses as JSON

    sshd = result["idlelock-sshd"]
    assert sshd["result"] is True, sshd["comment"]
    assert "# caf\\xe9" in sshd["changes"]["diff"]
    assert any("sshd:channel_timeout session:*=6: 6 s is under 60 s" in w
               for w in sshd["warnings"]), sshd.get("warnings")
    assert config.read_bytes().startswith(b"# caf\xe9\n# idlelock disabled: ClientAliveInterval")
    assert effective(str(config))["channeltimeout"] == "session:*=6"
