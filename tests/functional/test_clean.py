"""
Removal through Salt's loader: ``idlelock.remove`` after ``set_sshd`` and
``set_shell`` puts every layout back exactly as it was.

sshd: every layout of tests/scenarios/sshd/, checked with the real ``sshd -T``.
Shells: every layout of tests/scenarios/shell/, laid over /etc in a private
mount namespace and checked with real login shells (root and a regular user).
"""

import os
import pathlib
import subprocess

import pytest

from tests.functional.conftest import flatten
from tests.support import scenarios

SSHD = "/usr/sbin/sshd"
ODD_MODE, ODD_GID = 0o640, 4  # not what a new file gets: a rewrite that loses them shows


def tree_state(root):
    """Every entry under ``root``: a file's bytes, mode and owner; a link's target; a dir."""
    found = {}
    for path in sorted(pathlib.Path(root).rglob("*")):
        info = path.lstat()
        if path.is_symlink():
            found[str(path)] = ("link", os.readlink(path))
        elif path.is_dir():
            found[str(path)] = ("dir", info.st_mode, info.st_uid, info.st_gid)
        else:
            found[str(path)] = (path.read_bytes(), info.st_mode, info.st_uid, info.st_gid)
    return found


def sshd_t(config):
    """What ``sshd -T`` prints for ``config``, or its error."""
    proc = subprocess.run([SSHD, "-T", "-f", config], capture_output=True, text=True,
                          check=False, timeout=30)
    return proc.returncode, proc.stdout, proc.stderr.replace(str(config), "CONFIG")


def sshd_tree(scenario, tmp_path, host_key):
    root = tmp_path / "tree"
    root.mkdir()
    scenarios.materialize(scenario, root, host_key)
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            os.chmod(path, ODD_MODE)
            os.chown(path, 0, ODD_GID)
    return root


def sshd_policy(scenario, config):
    policy = dict(scenario.get("policy", {}))
    policy["sshd"] = dict(policy.get("sshd", {}), config=config, manage_service=False)
    return flatten(policy)


@pytest.mark.parametrize("scenario", scenarios.params("sshd", functional=(True, True)))
def test_sshd_install_then_remove_round_trips(scenario, tmp_path, host_key, idlelock):
    root = sshd_tree(scenario, tmp_path, host_key)
    config = str(root / "sshd_config")
    before, printed = tree_state(root), sshd_t(config)

    installed = idlelock.set_sshd(**sshd_policy(scenario, config))
    assert installed["result"] is (False if scenario.get("error") else True), installed
    predicted = idlelock.remove(test=True, parts=["sshd"], config=config)
    removed = idlelock.remove(parts=["sshd"], config=config)
    again = idlelock.remove(parts=["sshd"], config=config)

    for rel in scenario.get("clean_removes", []):
        del before[str(root / rel)]
    assert tree_state(root) == before
    if not scenario.get("clean_removes"):
        assert sshd_t(config) == printed
    if installed["changes"] or scenario.get("clean_removes"):
        assert predicted["result"] is None and removed["result"] is True, removed
        assert predicted["changes"] == removed["changes"]
        assert removed["changes"]["sshd"]["diff"]
    else:
        assert removed == again
    assert again["result"] is True and again["changes"] == {}
    assert "sshd: nothing to remove" in again["comment"]


# ---------------------------------------------------------------- login shells
# The Debian per-OS values of map.jinja, so zsh and tcsh are covered too.
SHELL_POLICY = {"tmout": 5, "zsh_file": "/etc/zsh/zprofile",
                "csh_file": "/etc/csh/login.d/idlelock.csh"}
SHELL_PATHS = ("/etc/profile", "/etc/profile.d", "/etc/bash.bashrc", "/etc/bashrc",
               "/etc/environment", "/etc/zsh", "/etc/csh")
LOGIN_SHELLS = {"bash": ["--login", "-i"], "dash": ["-l", "-i"], "zsh": ["-l", "-i"],
                "ksh": ["-l", "-i"], "tcsh": ["-l"]}
USER = "idlelock-clean"


def etc_state():
    """Every start-up file a login shell may read (and its backups): bytes, mode, owner."""
    found = {}
    for top in SHELL_PATHS:
        paths = [top]
        if os.path.isdir(top):
            paths = [os.path.join(d, n) for d, _, names in os.walk(top) for n in names]
        for path in paths:
            if os.path.lexists(path):
                info = os.lstat(path)
                found[path] = (open(path, "rb").read(), info.st_mode, info.st_uid, info.st_gid)
    return found


def logins():
    """What each installed login shell reports, as root and as a regular user."""
    import idlelock_shell

    seen = {}
    for user in ("root", USER):
        for name, args in LOGIN_SHELLS.items():
            path = f"/usr/bin/{name}"
            if not os.path.exists(path):
                continue
            script = idlelock_shell.probe_script("csh" if name == "tcsh" else "sh")
            proc = subprocess.run(
                ["/usr/sbin/runuser", "-u", user, "--", path, *args], input=script, capture_output=True,
                text=True, timeout=30, cwd="/", check=False,
                env={"HOME": "/nonexistent", "TERM": "dumb", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
            seen[(user, name)] = (proc.returncode, proc.stdout, proc.stderr)
    return seen


def shell_round_trip(mod, policy):
    subprocess.run(["useradd", "-M", "-d", "/nonexistent", "-s", "/bin/bash", USER],
                   check=True, timeout=30)
    out = {"files0": etc_state(), "logins0": logins()}
    out["installed"] = mod.set_shell(**policy)
    out["files1"] = etc_state()
    # Removal takes the paths only: a policy that install refused is no reason to keep idlelock.
    paths = shell_paths(policy)
    out["predicted"] = mod.remove(test=True, parts=["shell"], **paths)
    out["files2"] = etc_state()
    out["removed"] = mod.remove(parts=["shell"], **paths)
    out["files3"], out["logins3"] = etc_state(), logins()
    out["again"] = mod.remove(parts=["shell"], **paths)
    return out


def shell_paths(policy):
    return {key: value for key, value in policy.items()
            if key in ("profile_file", "csh_file", "zsh_file", "root")}


def write_upper(upper, files):
    for rel, text in files.items():
        path = upper / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        os.chmod(path, ODD_MODE | 0o004)  # other users' login shells must read it
        os.chown(path, 0, ODD_GID)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: mount namespaces")
@pytest.mark.parametrize("scenario", scenarios.params("shell"))
def test_shell_install_then_remove_round_trips(scenario, idlelock, tmp_path):
    from tests.support.private_etc import run_with_etc

    upper = tmp_path / "etc"
    write_upper(upper, scenario.get("files", {}))
    policy = dict(SHELL_POLICY, **scenario.get("policy", {}))
    out = run_with_etc(upper, lambda: shell_round_trip(idlelock, policy))

    installed, predicted, removed = out["installed"], out["predicted"], out["removed"]
    assert installed["result"] is scenario["expect"]["state"]["result"], installed
    assert out["files3"] == out["files0"], "install then remove must give back every byte"
    assert out["logins3"] == out["logins0"], "login shells must behave as before"
    assert out["files2"] == out["files1"], "test=True wrote a file"
    if installed["changes"]:
        assert predicted["result"] is None and removed["result"] is True, removed
        assert predicted["changes"] == removed["changes"] and removed["changes"]["shell"]["diff"]
    assert out["again"]["result"] is True and out["again"]["changes"] == {}
    assert "login shells: nothing to remove" in out["again"]["comment"]
