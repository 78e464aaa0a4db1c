"""
Include nesting: the walker stops where sshd stops, with a clear error.

sshd allows 16 levels of Include below the main file (READCONF_MAX_DEPTH in
OpenSSH's readconf.h) and refuses the 17th; a file that includes itself is
the everyday way to get there. The real sshd is the oracle where installed.
"""

import os
import shutil
import subprocess

import pytest

import idlelock_sshd

SSHD = "/usr/sbin/sshd"


def chain(root, levels):
    """``{path: text}``: the main file, then ``levels`` files each including the next."""
    files = {f"{root}/sshd_config": f"Include {root}/level1.conf\n"}
    for level in range(1, levels + 1):
        nxt = f"Include {root}/level{level + 1}.conf\n" if level < levels else ""
        files[f"{root}/level{level}.conf"] = f"{nxt}ClientAliveCountMax {level}\n"
    return files


def walk(files, main):
    def expand(pattern):
        return [pattern] if pattern in files else []

    return idlelock_sshd.walk(main, files.get, expand)


def test_sixteen_levels_are_read():
    files = chain("/s", idlelock_sshd.MAX_INCLUDE_DEPTH)
    tree = walk(files, "/s/sshd_config")
    assert len(tree.texts) == idlelock_sshd.MAX_INCLUDE_DEPTH + 1
    assert tree.winners(["ClientAliveCountMax"])["ClientAliveCountMax"].value == "16"


def test_seventeen_levels_are_refused_naming_the_file():
    files = chain("/s", idlelock_sshd.MAX_INCLUDE_DEPTH + 1)
    with pytest.raises(idlelock_sshd.ConfigError, match=r"^/s/level17\.conf: Include nested "
                       r"deeper than 16$"):
        walk(files, "/s/sshd_config")


def test_a_file_that_includes_itself_is_a_clear_error():
    files = {"/s/sshd_config": "Include /s/sshd_config\nClientAliveInterval 5\n"}
    with pytest.raises(idlelock_sshd.ConfigError, match="Include nested deeper than 16"):
        walk(files, "/s/sshd_config")


@pytest.mark.skipif(not os.access(SSHD, os.X_OK) or not shutil.which("ssh-keygen"),
                    reason="no sshd here: the walker's boundary is still tested above")
@pytest.mark.parametrize("levels, accepted", [(16, True), (17, False)])
def test_sshd_draws_the_same_line(levels, accepted, tmp_path):
    key = tmp_path / "hostkey"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    files = chain(str(tmp_path), levels)
    files[f"{tmp_path}/sshd_config"] += f"HostKey {key}\n"
    for path, text in files.items():
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    proc = subprocess.run([SSHD, "-T", "-f", f"{tmp_path}/sshd_config"], capture_output=True,
                          text=True, timeout=30, check=False)
    assert (proc.returncode == 0) is accepted, proc.stderr
    walked = True
    try:
        walk(files, f"{tmp_path}/sshd_config")
    except idlelock_sshd.ConfigError:
        walked = False
    assert walked is accepted
