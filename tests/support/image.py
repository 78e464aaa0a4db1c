"""
A minimal image for image mode (``idlelock:root``): the host's own ``sshd`` and
the libraries it loads, an account database with the privilege-separation
user, and a host key, so that ``chroot <image> sshd -T`` really runs.
"""

import os
import pathlib
import re
import shutil
import stat
import subprocess

SSHD = "/usr/sbin/sshd"
_LIB_RE = re.compile(r"(/\S+) \(0x")


def build(image, host_key):
    """Populate ``image`` (a new directory) and return it as a ``pathlib.Path``."""
    image = pathlib.Path(image)
    out = subprocess.run(["ldd", SSHD], capture_output=True, text=True, check=True).stdout
    for path in [SSHD] + _LIB_RE.findall(out):
        dest = image / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.realpath(path), dest)
    etc = image / "etc"
    (etc / "ssh").mkdir(parents=True, exist_ok=True)
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n"
                                "sshd:x:102:65534::/run/sshd:/usr/sbin/nologin\n")
    (etc / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    (image / "dev").mkdir(exist_ok=True)
    os.mknod(image / "dev" / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    (image / "run").mkdir(exist_ok=True)
    (image / "tmp").mkdir(mode=0o1777, exist_ok=True)
    key = etc / "ssh" / "ssh_host_ed25519_key"
    shutil.copy2(host_key, key)
    os.chmod(key, 0o600)
    return image


def sshd_T(image, config="/etc/ssh/sshd_config"):
    """``{keyword: value}`` that the image's sshd prints for ``config``."""
    out = subprocess.run(["chroot", str(image), "/usr/sbin/sshd", "-T", "-f", config],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    return dict(line.split(" ", 1) for line in out.splitlines())
