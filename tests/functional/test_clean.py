"""
Removal through Salt's loader: ``idlelock.remove`` after ``set_sshd`` and
``set_shell`` puts every layout back exactly as it was.

sshd: every layout of tests/scenarios/sshd/, checked with the real ``sshd -T``.
Shells: every layout of tests/scenarios/shell/, laid over /etc in a private
mount namespace and checked with real login shells (root and a regular user).
"""

import os
import pathlib
import stat
import subprocess

import pytest

from tests.support import scenarios
from tests.support.scenarios import flatten

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
        elif not stat.S_ISREG(info.st_mode):  # a FIFO would block the read
            found[str(path)] = ("special", info.st_mode, info.st_ino)
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
    # sshd -T itself would block on a FIFO drop-in.
    before = tree_state(root)
    printed = None if scenario.get("clean_error") else sshd_t(config)

    installed = idlelock.set_sshd(**sshd_policy(scenario, config))
    assert installed["result"] is (False if scenario.get("error") else True), installed
    predicted = idlelock.remove(test=True, parts=["sshd"], config=config)
    removed = idlelock.remove(parts=["sshd"], config=config)
    if scenario.get("clean_error"):
        for ret in (predicted, removed):
            assert ret["result"] is False and scenario["error"] in ret["comment"], ret
            assert "nothing was changed" in ret["comment"]
        assert tree_state(root) == before
        return
    again = idlelock.remove(parts=["sshd"], config=config)

    for rel in scenario.get("clean_removes", []):
        del before[str(root / rel)]
    after = tree_state(root)
    for rel in scenario.get("clean_keeps", []):
        assert after.pop(str(root / rel))[0] == "dir" and not os.listdir(root / rel)
    assert after == before
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
                ["/usr/sbin/runuser", "-u", user, "--", path, *args], input=script,
                # A scenario's start-up file may make a shell print a cut multibyte name.
                capture_output=True, encoding="utf-8", errors="surrogateescape", timeout=30,
                cwd="/", check=False,
                env={"HOME": "/nonexistent", "TERM": "dumb", "PATH": "/usr/bin:/bin"})
            seen[(user, name)] = (proc.returncode, proc.stdout, proc.stderr)
    return seen


def shell_round_trip(mod, policy, scenario):
    subprocess.run(["useradd", "-M", "-d", "/nonexistent", "-s", "/bin/bash", USER],
                   check=True, timeout=30)
    # The host state the scenario describes (see test_shell_scenarios.py).
    for group in scenario.get("groups", []):
        subprocess.run(["groupadd", group], check=True, capture_output=True, timeout=30)
    for rel, mode in scenario.get("dir_modes", {}).items():
        os.chmod(os.path.join("/etc", rel), int(mode, 8))
    out = {"files0": etc_state(), "logins0": logins()}
    for rel in scenario.get("clean_removes", []):  # idlelock's own, from an earlier run
        del out["files0"][os.path.join("/etc", rel)]
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


def write_upper(upper, files, modes=None):
    for rel, text in files.items():
        path = upper / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        os.chmod(path, ODD_MODE | 0o004)  # other users' login shells must read it
        if rel in (modes or {}):
            os.chmod(path, int(modes[rel], 8))  # a scenario about modes
        os.chown(path, 0, ODD_GID)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: mount namespaces")
@pytest.mark.parametrize("scenario", scenarios.params("shell"))
def test_shell_install_then_remove_round_trips(scenario, idlelock, tmp_path):
    from tests.support.private_etc import run_with_etc

    upper = tmp_path / "etc"
    write_upper(upper, scenario.get("files", {}), scenario.get("modes"))
    policy = dict(SHELL_POLICY, **scenario.get("policy", {}))
    out = run_with_etc(upper, lambda: shell_round_trip(idlelock, policy, scenario))

    installed, predicted, removed = out["installed"], out["predicted"], out["removed"]
    assert installed["result"] is scenario["expect"]["state"]["result"], installed
    assert out["files3"] == out["files0"], "install then remove must give back every byte"
    if not scenario.get("clean_removes"):  # else an earlier run's TMOUT is gone too
        assert out["logins3"] == out["logins0"], "login shells must behave as before"
    assert out["files2"] == out["files1"], "test=True wrote a file"
    if installed["changes"]:
        assert predicted["result"] is None and removed["result"] is True, removed
        assert predicted["changes"] == removed["changes"] and removed["changes"]["shell"]["diff"]
    if scenario.get("clean_error"):  # the paths themselves are refused, by removal too
        for comment in scenario["expect"]["state"]["comment"]:
            assert comment in out["again"]["comment"], out["again"]
        assert out["again"]["result"] is False and out["again"]["changes"] == {}
        return
    assert out["again"]["result"] is True and out["again"]["changes"] == {}
    assert "login shells: nothing to remove" in out["again"]["comment"]


# ---------------------------------------------------------------- edits, refusals, no-ops
def dropin_tree(tmp_path, host_key, main):
    root = tmp_path / "tree"
    (root / "sshd_config.d").mkdir(parents=True)
    config = root / "sshd_config"
    config.write_text(main.format(root=root, hostkey=host_key))
    return root, config


def test_admin_edits_between_install_and_remove_are_kept(tmp_path, host_key, idlelock):
    # No Include: idlelock's block goes at the top of the main file.
    root = tmp_path / "tree"
    root.mkdir()
    config = root / "sshd_config"
    original = f"HostKey {host_key}\nClientAliveInterval 0\nPasswordAuthentication yes\n"
    config.write_text(original)
    assert idlelock.set_sshd(config=str(config))["result"] is True
    # An admin puts a line inside idlelock's block and edits one below it.
    lines = config.read_text().split("\n")
    lines.insert(2, "PermitRootLogin no")
    edited = "\n".join(lines).replace("PasswordAuthentication yes", "PasswordAuthentication no")
    config.write_text(edited)

    removed = idlelock.remove(parts=["sshd"], config=str(config))

    assert removed["result"] is True, removed
    assert config.read_text() == ("PermitRootLogin no\n" + original).replace(
        "PasswordAuthentication yes", "PasswordAuthentication no")
    assert removed["warnings"] == [
        f"{config}: kept 'PermitRootLogin no', which someone added inside idlelock's block"]
    values = dict(line.split(" ", 1) for line in sshd_t(str(config))[1].splitlines())
    assert values["permitrootlogin"] == "no" and values["clientaliveinterval"] == "0"


def test_admin_edit_next_to_a_disabled_line_is_kept(tmp_path, host_key, idlelock):
    root, config = dropin_tree(tmp_path, host_key,
                               "ClientAliveInterval 900\nX11Forwarding no\n"
                               "Include {root}/sshd_config.d/*.conf\nHostKey {hostkey}\n")
    original = config.read_text()
    assert idlelock.set_sshd(config=str(config))["result"] is True
    assert config.read_text().startswith("# idlelock disabled: ClientAliveInterval 900\n")
    config.write_text(config.read_text().replace("X11Forwarding no", "X11Forwarding yes"))

    removed = idlelock.remove(parts=["sshd"], config=str(config))

    assert removed["result"] is True
    assert config.read_text() == original.replace("X11Forwarding no", "X11Forwarding yes")
    assert removed["changes"]["sshd"]["restored"] == [f"{config}:1"]
    dropin = root / "sshd_config.d" / "00-idlelock.conf"
    assert removed["changes"]["sshd"]["removed"] == [str(dropin)]
    assert not dropin.exists()


def test_a_line_sshd_now_rejects_keeps_everything_in_place(tmp_path, host_key, idlelock):
    root, config = dropin_tree(tmp_path, host_key,
                               "ClientAliveInterval 900\nInclude {root}/sshd_config.d/*.conf\n"
                               "HostKey {hostkey}\n")
    assert idlelock.set_sshd(config=str(config))["result"] is True
    # The line idlelock commented out became one this sshd rejects (an upgrade
    # dropped the option, or the value grew invalid while it was a comment).
    config.write_text(config.read_text().replace("ClientAliveInterval 900",
                                                 "ClientAliveInterval 9x9"))
    before = tree_state(root)

    predicted = idlelock.remove(test=True, config=str(config))
    removed = idlelock.remove(config=str(config))

    for ret in (predicted, removed):
        assert ret["result"] is False and ret["changes"] == {}
        assert f"{config} line 1" in ret["comment"], ret["comment"]
        assert "no part of idlelock was removed" in ret["comment"]
    assert tree_state(root) == before


def test_remove_where_idlelock_never_ran(tmp_path, host_key, idlelock):
    from tests.support.private_etc import run_with_etc

    root, config = dropin_tree(tmp_path, host_key,
                               "Include {root}/sshd_config.d/*.conf\nHostKey {hostkey}\n")
    before = tree_state(root)
    conf = tmp_path / "logind.conf.d" / "idlelock.conf"

    def body():
        files = etc_state()
        ret = idlelock.remove(config=str(config), conf_file=str(conf), **SHELL_POLICY)
        return ret, files == etc_state()

    ret, etc_unchanged = run_with_etc(tmp_path / "etc", body)
    assert ret["result"] is True and ret["changes"] == {}, ret
    for part in ("sshd", "login shells", "logind", "schedule"):
        assert f"{part}: nothing to remove" in ret["comment"]
    assert etc_unchanged and tree_state(root) == before


def test_logind_dropin_round_trips(tmp_path, session_loaders, monkeypatch, idlelock):
    from tests.support.private_etc import run_with_etc

    monkeypatch.setitem(session_loaders.grains, "init", "systemd")
    monkeypatch.setitem(session_loaders.grains, "systemd", {"version": "252"})
    tree = tmp_path / "tree"
    conf = tree / "logind.conf.d" / "idlelock.conf"
    conf.parent.mkdir(parents=True)
    other = conf.parent / "50-site.conf"
    other.write_text("[Login]\nKillUserProcesses=no\n")
    before = tree_state(tree)

    def body():  # on the suite's /etc: this host's logind.conf would change the outcome
        assert idlelock.set_logind(enabled=True, conf_file=str(conf), timeout=5)["result"] is True
        predicted = idlelock.remove(test=True, parts=["logind"], conf_file=str(conf))
        assert conf.exists() and predicted["result"] is None
        return predicted, idlelock.remove(parts=["logind"], conf_file=str(conf))

    predicted, removed = run_with_etc(tmp_path / "etc", body)

    assert removed["changes"] == predicted["changes"]
    assert removed["changes"]["logind"]["removed"] == [str(conf)]
    assert "systemd-logind keeps StopIdleSessionSec until it restarts" in removed["warnings"][0]
    assert tree_state(tree) == before


def test_a_file_at_idlelocks_path_that_is_not_idlelocks_stays(tmp_path, idlelock):
    conf = tmp_path / "idlelock.conf"
    conf.write_text("[Login]\nStopIdleSessionSec=60\n")
    removed = idlelock.remove(parts=["logind"], conf_file=str(conf))
    assert removed["result"] is True and removed["changes"] == {}
    assert conf.read_text() == "[Login]\nStopIdleSessionSec=60\n"
    assert "does not start with idlelock's header" in removed["warnings"][0]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: mount namespaces")
def test_taken_over_file_edited_since_keeps_the_edit(idlelock, tmp_path):
    from tests.support.private_etc import run_with_etc

    upper = tmp_path / "etc"
    site = "readonly TMOUT=900\nexport TMOUT\nalias ll='ls -l'\n"
    write_upper(upper, {"profile.d/zz-site.sh": site})
    policy = dict(SHELL_POLICY, takeover=True)

    def body():
        installed = idlelock.set_shell(**policy)
        path = "/etc/profile.d/zz-site.sh"
        with open(path, "a", encoding="utf-8") as handle:
            handle.write("alias la='ls -a'\n")
        removed = idlelock.remove(parts=["shell"], **shell_paths(policy))
        return installed, removed, open(path).read(), sorted(os.listdir("/etc/profile.d"))

    installed, removed, text, listing = run_with_etc(upper, body)
    assert installed["result"] is True and installed["changes"]["taken_over"]
    assert removed["result"] is True
    assert text == site + "alias la='ls -a'\n"
    assert listing == ["zz-site.sh"], "profile, backup: all of idlelock's files go"
    assert any("changed after idlelock took it over" in w for w in removed["warnings"])


# ---------------------------------------------------------------- the formula
def test_clean_sls_through_salt_call(tmp_path, host_key):
    from tests.functional.test_formula import sandbox_pillar
    from tests.support.salt_call import LocalMinion, states_by_id

    root, config = dropin_tree(tmp_path, host_key,
                               "ClientAliveInterval 900\nInclude {root}/sshd_config.d/*.conf\n"
                               "HostKey {hostkey}\n")
    pillar = sandbox_pillar(tmp_path, sshd={"config": str(config)}, schedule={"enabled": True})
    minion = LocalMinion(tmp_path / "minion", pillar)
    schedule_conf = tmp_path / "minion" / "minion.d" / "_schedule.conf"
    before, printed = tree_state(root), sshd_t(str(config))
    minion.call("state.apply", "idlelock")
    assert "idlelock" in schedule_conf.read_text()
    installed = tree_state(root)

    predicted = states_by_id(minion.call("state.apply", "idlelock.clean", "test=True"))
    assert tree_state(root) == installed and "idlelock" in schedule_conf.read_text()
    assert predicted["idlelock-sshd-clean"]["result"] is None
    assert predicted["idlelock-sshd-clean"]["changes"]["diff"]

    cleaned = states_by_id(minion.call("state.apply", "idlelock.clean"))
    assert all(state["result"] is True for state in cleaned.values()), cleaned
    assert tree_state(root) == before and sshd_t(str(config)) == printed
    assert "idlelock" not in schedule_conf.read_text()
    assert cleaned["idlelock-sshd-clean"]["changes"]["restored"] == [f"{config}:1"]

    again = states_by_id(minion.call("state.apply", "idlelock.clean"))
    assert all(not state["changes"] for state in again.values()), again


def test_clean_sls_reloads_sshd_on_change_only_and_restarts_nothing_else(tmp_path, host_key):
    from tests.functional.test_formula import sandbox_pillar
    from tests.support.salt_call import LocalMinion

    _, config = dropin_tree(tmp_path, host_key, "HostKey {hostkey}\n")
    pillar = sandbox_pillar(tmp_path, sshd={"config": str(config), "manage_service": True},
                            logind={"enabled": True})
    minion = LocalMinion(tmp_path / "minion", pillar, {"grains": {"os_family": "Debian"}})
    shown = minion.call("state.show_sls", "idlelock.clean")

    services = {sid: state["service"] for sid, state in shown.items() if "service" in state}
    assert list(services) == ["idlelock-sshd-clean-reload"]
    reload = services["idlelock-sshd-clean-reload"]
    assert {"name": "ssh"} in reload and {"reload": True} in reload
    assert {"watch": [{"idlelock": "idlelock-sshd-clean"}]} in reload
    # The socket-activated sshd (decided at run time): reloaded only while it runs.
    socket = shown["idlelock-sshd-clean-socket-reload"]["module"]
    assert {"service.reload": [{"name": "ssh"}]} in socket
    assert {"onlyif": [{"fun": "service.enabled", "args": ["ssh.socket"]},
                       {"fun": "service.status", "args": ["ssh"]}]} in socket
    assert {"onchanges": [{"idlelock": "idlelock-sshd-clean"}]} in socket
    for sid in ("idlelock-shell-clean", "idlelock-logind-clean", "idlelock-schedule-clean"):
        assert {"require": [{"idlelock": "idlelock-sshd-clean"}]} in next(
            iter(value for key, value in shown[sid].items() if not key.startswith("__")))


def test_lines_added_to_idlelocks_dropin_are_named_and_kept(tmp_path, host_key, idlelock):
    root, config = dropin_tree(tmp_path, host_key,
                               "Include {root}/sshd_config.d/*.conf\nHostKey {hostkey}\n")
    assert idlelock.set_sshd(config=str(config))["result"] is True
    dropin = root / "sshd_config.d" / "00-idlelock.conf"
    dropin.write_text(dropin.read_text() + "PermitRootLogin no\n")
    before = tree_state(root)

    removed = idlelock.remove(parts=["sshd"], config=str(config))

    assert removed["result"] is False and removed["changes"] == {}
    assert "line 6: 'PermitRootLogin no'" in removed["comment"], removed["comment"]
    assert tree_state(root) == before


def test_a_failed_removal_puts_deleted_files_back_untouched(tmp_path):
    import idlelock_system

    kept, gone = tmp_path / "kept.sh", tmp_path / "gone.conf"
    kept.write_text("old\n")
    gone.write_text("idlelock's\n")
    os.chmod(gone, 0o600)
    os.chown(gone, 0, ODD_GID)
    inode = gone.stat().st_ino
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError):
        idlelock_system.write_all("/", {str(kept): "new\n", str(gone): None,
                                        str(tmp_path / "file" / "x"): "cannot be written\n"})
    assert kept.read_text() == "old\n"
    info = gone.stat()
    assert (gone.read_text(), info.st_ino, info.st_mode & 0o777, info.st_gid) == (
        "idlelock's\n", inode, 0o600, ODD_GID)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "gone.conf", "kept.sh"]
