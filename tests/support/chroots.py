"""Real OpenSSH builds in Debian chroots, for the version-matrix tests.

``scripts/build-chroots.sh`` builds the chroots (root only) into a cache outside
the repository; this module finds or builds them, runs their ``sshd`` and sets
up a user so that the host's ``/usr/bin/ssh`` can log in to them.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "scripts" / "build-chroots.sh"
STAMP = ".idlelock-complete"
BUILD_TIMEOUT = 2400  # seconds; a cold build of every suite takes a few minutes

# suite -> OpenSSH major.minor it ships (Debian's package versions: 1:8.4p1-5, 1:10.0p1-7
# whose binary reports OpenSSH_10.0p2, 10.3p1 from trixie-backports, 10.6p1 in sid).
VERSIONS = {"bullseye": "8.4", "trixie": "10.0", "trixie-backports": "10.3", "sid": "10.6"}

# Where test sshd configs live inside a chroot: never the chroot's (or host's) sshd_config.
TEST_CONFIG_DIR = "/etc/ssh/idlelock-test"

_VERSION_RE = re.compile(r"OpenSSH_(\d+\.\d+(?:p\d+)?)")  # Debian 12's 9.2 prints no "p1"

# The chroot's /dev/ptmx (char 5:2) opens the devpts mounted on the /dev/pts
# beside it; gid 5 is Debian's "tty" group, which sshd gives each session's pty.
DEVPTS_OPTIONS = "newinstance,ptmxmode=0666,mode=0620,gid=5"


def chroot_cache_dir() -> Path:
    """Directory holding one chroot per suite (env IDLELOCK_CHROOT_CACHE overrides)."""
    return Path(os.environ.get("IDLELOCK_CHROOT_CACHE", "/var/cache/idlelock/chroots"))


def is_complete(root: Path) -> bool:
    """True if the build script finished ``root`` (its stamp is written last)."""
    return (root / STAMP).is_file()


def ensure_chroot(suite: str) -> Path:
    """Return the chroot for ``suite``, building it with the script if it is missing."""
    if suite not in VERSIONS:
        raise ValueError(f"unknown suite {suite!r}; known: {sorted(VERSIONS)}")
    root = chroot_cache_dir() / suite
    if not is_complete(root):
        subprocess.run([str(BUILD_SCRIPT), suite], check=True, timeout=BUILD_TIMEOUT)
    if not is_complete(root):
        raise RuntimeError(f"{BUILD_SCRIPT} ran but {root} has no {STAMP}")
    return root


def sshd_in(root: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """Run the chroot's sshd with ``args`` (e.g. ``-t -f /etc/ssh/...``), capturing text."""
    return subprocess.run(
        ["chroot", str(root), "/usr/sbin/sshd", *args],
        capture_output=True, text=True, timeout=timeout,
    )


def sshd_version_in(root: Path) -> str:
    """Version of the chroot's sshd, e.g. ``"8.4p1"`` (``"9.2"`` for the host's, as ``chroot /``).

    9.x prints it for ``-V``; 8.4 rejects ``-V`` and prints it in its usage text.
    Either way it is on stderr, so both streams are searched.
    """
    proc = sshd_in(root, "-V")
    match = _VERSION_RE.search(proc.stdout + proc.stderr)
    if not match:
        raise RuntimeError(f"no OpenSSH version from {root}/usr/sbin/sshd -V: {proc.stderr!r}")
    return match.group(1)


def ensure_chroot_user(root: Path, name: str, pubkey: str, groups: tuple = ()) -> None:
    """Create ``name`` inside the chroot (home, bash) able to log in with ``pubkey``.

    ``groups`` are created inside the chroot if missing, and ``name`` is made a member.
    ``root`` (the account) exists already; it only gets the key. useradd, groupadd and
    usermod run under ``chroot``, so they write the chroot's /etc, never the host's.
    """
    def inside(*argv):
        subprocess.run(["chroot", str(root), *argv], check=True, timeout=30)

    if subprocess.run(["chroot", str(root), "id", name], capture_output=True, timeout=30).returncode:
        inside("useradd", "-m", "-s", "/bin/bash", name)
    for group in groups:
        inside("groupadd", "-f", group)
    if groups:
        inside("usermod", "-a", "-G", ",".join(groups), name)
    # useradd leaves the password "!" (locked); without PAM, sshd refuses locked
    # accounts even for key logins. "*" means "no password" but not locked.
    inside("usermod", "-p", "*", name)
    home = "/root" if name == "root" else f"/home/{name}"
    ssh_dir = root / home.lstrip("/") / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text(pubkey.strip() + "\n")
    inside("chown", "-R", f"{name}:", f"{home}/.ssh")


def write_test_config(root: Path, extra: str = "", name: str = "sshd_config") -> str:
    """Write a minimal key-only sshd config under TEST_CONFIG_DIR in the chroot.

    Returns its absolute path *inside* the chroot, as sshd -f needs it. UsePAM and
    StrictModes are off because the chroot has no PAM session setup and the test
    user's files are written from the host. ``extra`` is appended, so it may end
    in Match blocks; it cannot override the base keywords (the first value wins).
    """
    inside = f"{TEST_CONFIG_DIR}/{name}"
    path = root / inside.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = sorted(p.name for p in (root / "etc/ssh").glob("ssh_host_*_key"))
    base = [f"HostKey /etc/ssh/{k}" for k in keys] + [
        "UsePAM no",
        "StrictModes no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        "AuthorizedKeysFile .ssh/authorized_keys",
    ]
    path.write_text("\n".join(base) + "\n" + (extra.strip() + "\n" if extra.strip() else ""))
    return inside


def copy_stock_config(root: Path, name: str) -> str:
    """Copy the chroot's own sshd_config and drop-ins to TEST_CONFIG_DIR/``name``/.

    Returns the copy's main file, as an absolute path inside the chroot. Its
    Include points at the copy's own ``sshd_config.d``, so whatever idlelock
    writes lands in the copy, never in the chroot's /etc/ssh. The login
    settings of :func:`write_test_config` come first (the first value wins), so
    the copy also serves real logins. Remove it with :func:`remove_test_config`.
    """
    inside = f"{TEST_CONFIG_DIR}/{name}"
    etc_ssh = root / "etc" / "ssh"
    shutil.copytree(etc_ssh / "sshd_config.d", root / inside.lstrip("/") / "sshd_config.d")
    stock = (etc_ssh / "sshd_config").read_text()
    stock = stock.replace("/etc/ssh/sshd_config.d/", f"{inside}/sshd_config.d/")
    return write_test_config(root, stock, name=f"{name}/sshd_config")


def remove_test_config(root: Path, name: str) -> None:
    """Remove TEST_CONFIG_DIR/``name`` (a config copy) from the chroot."""
    shutil.rmtree(root / TEST_CONFIG_DIR.lstrip("/") / name, ignore_errors=True)


@dataclass
class ChrootSshd:
    """A running ``sshd -D`` inside a chroot; ``stop()`` ends it and its sessions."""

    pid: int
    port: int
    root: Path
    log_path: Path
    _proc: subprocess.Popen = field(repr=False)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 10) -> None:
        # Sessions are forked descendants of the listener and outlive it. End
        # them leaves first, so processes die while their parent can still reap
        # them: PID 1 on these machines reaps orphans only after a delay.
        _terminate_descendants(self.pid, timeout)
        if self._proc.poll() is None:
            self._proc.terminate()
        try:
            self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=timeout)

    def __enter__(self) -> ChrootSshd:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _terminate_descendants(pid: int, timeout: float) -> None:
    """SIGTERM the descendants of ``pid``, leaves first; SIGKILL what outlives ``timeout``."""
    deadline = time.monotonic() + timeout
    while tree := _descendants(pid):
        parents = set(tree.values())
        leaves = [p for p in tree if p not in parents]
        sig = signal.SIGTERM if time.monotonic() < deadline else signal.SIGKILL
        for leaf in leaves:
            try:
                os.kill(leaf, sig)
            except ProcessLookupError:
                pass
        if sig == signal.SIGKILL:
            return
        time.sleep(0.05)


def _descendants(pid: int) -> dict[int, int]:
    """{descendant pid: its parent pid} for every process below ``pid``."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The comm field may contain spaces; the ppid follows its closing ")".
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = {}, [pid]
    while todo:
        parent = todo.pop()
        for child in children.get(parent, []):
            found[child] = parent
            todo.append(child)
    return found


def free_port() -> int:
    """An unused TCP port on 127.0.0.1 (racy by nature, but fine for tests)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    # Read the kernel's socket table rather than connecting: a probe connection
    # would show up in sshd's log and count against MaxStartups.
    wanted = f"0100007F:{port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == wanted and fields[3] == "0A":  # 0A = LISTEN
            return True
    return False


def start_chroot_sshd(root: Path, config_path_inside_root: str, port: int,
                      timeout: float = 15) -> ChrootSshd:
    """Run ``chroot ROOT /usr/sbin/sshd -D -e -f CONFIG`` on 127.0.0.1:``port``, ptys working.

    The config path must be absolute inside the chroot: sshd re-executes itself
    with it. Returns once sshd listens on the port.
    """
    if not config_path_inside_root.startswith("/"):
        raise ValueError("config path must be absolute inside the chroot")
    log_fd, log_name = tempfile.mkstemp(prefix=f"sshd-{root.name}-", suffix=".log")
    # A chroot has no /dev/pts, so sshd could not allocate a pty for a login.
    # Give it a devpts instance of its own in a private mount namespace: the
    # mount vanishes with the last process, and the cached chroot stays as built.
    # unshare and sh exec in place, so the PID is sshd's.
    mount_devpts = (f"mount -t devpts -o {DEVPTS_OPTIONS} idlelock-devpts \"$1/dev/pts\""
                    ' && exec chroot "$@"')
    # PidFile none: several test sshds may share one chroot's /run.
    proc = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", mount_devpts, "sh",
         str(root), "/usr/sbin/sshd", "-D", "-e", "-f", config_path_inside_root,
         "-o", f"ListenAddress=127.0.0.1:{port}", "-o", "PidFile=none"],
        stdin=subprocess.DEVNULL, stdout=log_fd, stderr=log_fd,
    )
    os.close(log_fd)
    handle = ChrootSshd(proc.pid, port, root, Path(log_name), proc)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd in {root} exited {proc.returncode}: {handle.log()}")
        if _listening(port):
            return handle
        time.sleep(0.05)
    handle.stop()
    raise TimeoutError(f"sshd in {root} not listening on {port} after {timeout}s: {handle.log()}")


def make_client_key(directory: Path) -> tuple[Path, str]:
    """Generate an ed25519 key pair in ``directory``; return (private key, public key text)."""
    key = Path(directory) / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                   check=True, timeout=30)
    return key, key.with_suffix(".pub").read_text()


def ssh_command(port: int, user: str, key: Path, *command: str) -> list[str]:
    """argv for the host's ssh client, isolated from any user or host ssh config."""
    return [
        "/usr/bin/ssh", "-F", "/dev/null", "-p", str(port), "-i", str(key),
        "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
        f"{user}@127.0.0.1", *command,
    ]


@dataclass(frozen=True)
class OpenSSHChroot:
    suite: str
    version: str  # major.minor, as in VERSIONS
    root: Path


@pytest.fixture(scope="session", params=sorted(VERSIONS), ids=lambda s: f"{s}-{VERSIONS[s]}")
def openssh_chroot(request) -> OpenSSHChroot:
    """One chroot per suite in VERSIONS; import it into a test module or conftest."""
    if os.geteuid() != 0:
        pytest.skip("chroot-based tests need root")
    return OpenSSHChroot(request.param, VERSIONS[request.param], ensure_chroot(request.param))
