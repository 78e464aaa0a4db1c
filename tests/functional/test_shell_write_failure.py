"""
README: "restores everything if one write fails", through the ``idlelock.shell``
state. The shell part writes the zsh hook, the profile file and the csh file,
in that order; the csh directory is mounted read-only (a private mount
namespace over a sandbox /etc), so the third write fails for real after two
succeeded. Both are put back, and a bash login sees no change.
"""

import os
import subprocess

import pytest

from tests.support.private_etc import run_with_etc

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: mount namespaces"),
    pytest.mark.skipif(not (os.path.isdir("/etc/csh/login.d") and os.path.isfile("/etc/zsh/zprofile")),
                       reason="needs tcsh's /etc/csh/login.d and zsh's /etc/zsh/zprofile"),
]

PROBE = 'echo "v=${TMOUT-unset}"'


def test_a_write_failing_part_way_through_the_shell_state_puts_every_file_back(
        session_loaders, tmp_path):
    upper = tmp_path / "etc"

    def body():
        with open("/etc/zsh/zprofile", "rb") as handle:  # the sandbox's, before the run
            before = handle.read()
        csh = "/etc/csh/login.d"
        subprocess.run(["mount", "--bind", csh, csh], check=True, timeout=30)
        subprocess.run(["mount", "-o", "remount,bind,ro", csh], check=True, timeout=30)
        ret = session_loaders.states.idlelock.shell(
            name="/etc/profile.d/idlelock.sh", tmout=45, zsh_file="/etc/zsh/zprofile",
            csh_file="/etc/csh/login.d/idlelock.csh")
        login = subprocess.run(["bash", "--login", "-c", PROBE], capture_output=True, text=True,
                               timeout=60, env={"PATH": "/usr/bin:/bin", "HOME": "/"})
        with open("/etc/zsh/zprofile", "rb") as handle:
            seen = handle.read()
        return ({"result": ret.result, "comment": ret.comment, "changes": ret.changes},
                login.stdout.strip(), before, seen)

    ret, login, zprofile, seen = run_with_etc(upper, body)

    assert ret["result"] is False, ret
    assert "failed (Read-only file system); every file was restored" in ret["comment"], ret
    assert ret["changes"] == {}
    assert seen == zprofile, "the zsh hook written before the failure was not taken back"
    assert not (upper / "profile.d" / "idlelock.sh").exists()
    assert login == "v=unset"
