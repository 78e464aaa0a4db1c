"""
A real ``salt-ssh`` against a real sshd on 127.0.0.1, the target being this
machine: run it inside :func:`tests.support.private_etc.run_with_etc` (an
overlay over all of /etc, a private /run), so that what the formula writes to
/etc/ssh and /etc/profile.d lands in the overlay.

The transport sshd is a :class:`SshdSandbox` of its own (key login as root on
a free port) on that same /etc, so the sessions salt-ssh opens, and the login
shells its probes start, read it too; the sshd idlelock manages is
/etc/ssh/sshd_config as seen through the overlay: the suite's baseline copy
(Debian's), never the host's. The master's config, roster, pillar and
salt-ssh's thin directory live under the test's directory.
"""

import json
import os
import pathlib
import subprocess
import sys
import time

import yaml

from tests.support.sshd_sandbox import SSH_KEYGEN, SshdSandbox

BIN = pathlib.Path(sys.executable).parent
# salt-ssh runs the thin with the target's python3; root's PATH here starts
# with pyenv shims, so the roster pins the system's own.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
TIMEOUT = 300


class SaltSsh:
    """salt-ssh with its master config under ``directory``, serving ``checkout``."""

    def __init__(self, directory, checkout, pillar_roots, hosts):
        """
        ``hosts``: ``{roster id: {grains...}}``; each is this machine through
        one transport sshd. ``pillar_roots``: the master's pillar directory.
        """
        self.dir = pathlib.Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.key = self.dir / "id_ed25519"
        if not self.key.exists():
            subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f", str(self.key)],
                           check=True, timeout=30)
        self.sshd = SshdSandbox(self.dir / "transport")
        authorized = self.dir / "authorized_keys"
        authorized.write_text((self.dir / "id_ed25519.pub").read_text())
        # First value wins in sshd: this drop-in comes before the sandbox's own lines.
        self.sshd.write_dropin("00-salt-ssh.conf", f"AuthorizedKeysFile {authorized}\n"
                                                   "PermitRootLogin prohibit-password\n")
        self.hosts = hosts
        # The transport sshd's key, accepted as a user would have: salt-ssh's
        # wrappers open connections of their own, which check it too.
        key = (self.sshd.host_key.parent / (self.sshd.host_key.name + ".pub")).read_text().split()
        (self.dir / "known_hosts").write_text(f"[127.0.0.1]:{self.sshd.port} {key[0]} {key[1]}\n")
        self.conf = self.dir / "master.d"
        self.conf.mkdir(exist_ok=True)
        root = self.dir / "master-root"
        (root / "cache" / "proc").mkdir(parents=True, exist_ok=True)  # salt-run's job files
        (self.conf / "master").write_text(yaml.safe_dump({
            "root_dir": str(root),
            "cachedir": str(root / "cache"),
            "pki_dir": str(root / "pki"),
            "sock_dir": str(root / "sock"),
            "log_file": str(self.dir / "master.log"),
            "ssh_log_file": str(self.dir / "ssh.log"),
            "user": "root",
            "file_roots": {"base": [str(checkout / "salt"), str(checkout)]},
            "pillar_roots": {"base": [str(pillar_roots)]},
            "roster_file": str(self.dir / "roster"),
            "known_hosts_file": str(self.dir / "known_hosts"),
        }))
        self.write_roster()

    def write_roster(self, down=()):
        """The roster; hosts in ``down`` point at a port where nothing listens."""
        roster = {}
        for host, grains in self.hosts.items():
            roster[host] = {
                "host": "127.0.0.1", "port": 1 if host in down else self.sshd.port,
                "user": "root", "priv": str(self.key), "set_path": SYSTEM_PATH,
                "thin_dir": str(self.dir / "thin" / host), "timeout": 10, "grains": grains,
            }
        (self.dir / "roster").write_text(yaml.safe_dump(roster))

    def start(self):
        self.sshd.start()
        return self

    def stop(self):
        self.sshd.stop()

    def run(self, command, *args, check=True):
        """``(exit code, parsed JSON output, seconds)`` of ``salt-ssh`` or ``salt-run``."""
        argv = [str(BIN / command), "-c", str(self.conf), "--out=json", "--log-level=quiet"]
        if command == "salt-ssh":
            argv.append("--static")
        argv += args
        started = time.monotonic()
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT,
                              env=dict(os.environ, PATH=f"{BIN}:{SYSTEM_PATH}"))
        seconds = time.monotonic() - started
        try:
            data = json.loads(proc.stdout) if proc.stdout.strip() else None
        except ValueError:
            data = proc.stdout
        if check and proc.returncode != 0:
            raise AssertionError(f"{argv} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc.returncode, data, seconds
