"""
The suite's private /etc (tests/support/private_etc.py) hides what this host's
admin set: on a host made dirty by tests/support/dirty_host.sh (the README's
own scripts/apply.sh, then a readonly TMOUT in profile.d, TMOUT in bash.bashrc
and zprofile, a tcsh autologout, an sshd drop-in, logind's StopIdleSessionSec),
a login shell, ``sshd -T`` and logind's files started through
``private_etc.command`` (what runs the integration minions, ``salt-call`` and
every sandbox sshd) show none of it. The same probes outside the wrapper show
the dirt, so the host really is dirty.
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
DIRTY_HOST = REPO / "tests" / "support" / "dirty_host.sh"
WRAPPER = REPO / "tests" / "support" / "private_etc.py"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: mount namespaces"),
    pytest.mark.skipif(not all(map(shutil.which, ("zsh", "tcsh"))), reason="zsh or tcsh missing"),
]

# Each line: what a user of that program would see of an idle timeout.
PROBE = r"""
export HOME=$(mktemp -d) ZDOTDIR=
: > "$HOME/.zshrc"
echo "bash=[$(bash -l -i -c 'echo ${TMOUT-}' 2>/dev/null)]"
echo "zsh=[$(zsh -l -i -c 'echo ${TMOUT-}' 2>/dev/null)]"
echo "tcsh=[$(echo 'if ($?autologout) echo "A=$autologout"' | tcsh -l 2>/dev/null | grep -o 'A=.*')]"
echo "sshd=[$(/usr/sbin/sshd -T -f /etc/ssh/sshd_config -h "$KEY" | grep -i '^clientaliveinterval ')]"
echo "logind=[$(cat /etc/systemd/logind.conf /etc/systemd/logind.conf.d/*.conf 2>/dev/null |
                grep -c "^StopIdleSessionSec")]"
rm -rf "$HOME"
"""


def probes(output):
    return dict(re.findall(r"^(\w+)=\[(.*)\]$", output, re.M))


@pytest.fixture(scope="module")
def seen(tmp_path_factory):
    """``(on the dirty host, through the wrapper)``: what each probe printed."""
    base = tmp_path_factory.mktemp("private-etc")
    key = base / "host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True,
                   timeout=30)
    script = base / "probe.sh"
    script.write_text(PROBE)
    wrapped = [sys.executable, str(WRAPPER), str(base / "etc"), "--", "sh", str(script)]
    both = f"sh {script}; echo ===; {' '.join(wrapped)}"
    proc = subprocess.run([str(DIRTY_HOST), "sh", "-c", both], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, KEY=str(key)))
    assert proc.returncode == 0, proc.stderr
    dirty, private = proc.stdout.split("===")
    return probes(dirty), probes(private)


def test_the_dirty_host_is_dirty(seen):
    dirty, _ = seen
    assert dirty["bash"] and dirty["zsh"], dirty  # scripts/apply.sh's readonly TMOUT
    assert dirty["tcsh"] == "A=10", dirty
    assert dirty["sshd"] == "clientaliveinterval 300", dirty
    assert dirty["logind"] != "0", dirty  # more when dirty_host.sh runs on a dirty host


def test_the_private_etc_shows_none_of_it(seen):
    _, private = seen
    assert private == {"bash": "", "zsh": "", "tcsh": "", "sshd": "clientaliveinterval 0",
                       "logind": "0"}
