"""A real, private sshd on 127.0.0.1 for end-to-end tests.

Nothing here mocks OpenSSH: the sandbox runs the installed ``/usr/sbin/sshd`` with its own
host key, config, drop-in directory, pidfile and port, so that tests can prove what a real
server does with a configuration (docs/how-idle-sessions-end.md §1).

The real ``/etc/ssh`` is never read or written, and neither is the host's account database:
test users exist in a private copy that the sandbox sshd sees through bind mounts.  sshd and
the login shells it starts run on the suite's private /etc (tests/support/private_etc.py), so
no start-up file of the host's changes a session; the sandbox's own ``profile.d`` can be
bind-mounted over /etc/profile.d.

Typical use::

    user = ensure_test_user(shell="/bin/bash")
    with SshdSandbox(tmp_path) as sshd:
        sshd.write_dropin("10-idle.conf", "ChannelTimeout session:*=3\\n")
        sshd.start()
        assert sshd.effective()["channeltimeout"] == "session:*=3"
"""

from __future__ import annotations

import atexit
import dataclasses
import fcntl
import os
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import idlelock_sshd

from tests.support import private_etc

SSHD = "/usr/sbin/sshd"  # sshd refuses to re-exec on SIGHUP unless started by absolute path
SSH_KEYGEN = "/usr/bin/ssh-keygen"
PRIVSEP_DIR = Path("/run/sshd")  # sshd -t/-T/-D all refuse to run without it
USER_LOCK = Path("/run/idlelock-test-users.lock")

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


class SandboxError(RuntimeError):
    """sshd did not start, reload or stop as expected; the message carries its log tail."""


def wait_until(predicate, timeout, interval=0.05, what="condition"):
    """Poll ``predicate`` until it returns a truthy value; raise TimeoutError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}")
        time.sleep(interval)


def pid_alive(pid):
    """True if ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            # The state letter follows the parenthesised command name.
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def child_pids(pid):
    """PIDs whose parent is ``pid`` (sshd's per-connection processes, for a clean stop)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(errors="replace")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry.name))
    return children


def free_port():
    """A TCP port on 127.0.0.1 that is free right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_accepts(port, host="127.0.0.1"):
    """True if a TCP connection to ``host:port`` succeeds."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------
# Test user


@dataclasses.dataclass(frozen=True)
class TestUser:
    """A local login account usable over the sandbox sshd with public-key authentication."""

    __test__ = False  # not a pytest test class, despite the name

    name: str
    home: Path
    shell: str
    key: Path  # private key; the public half is ``key`` + ".pub" and is in authorized_keys
    groups: tuple = ()

    @property
    def authorized_keys(self):
        """Path of the user's authorized_keys file (what the sandbox sshd consults)."""
        return self.home / ".ssh" / "authorized_keys"


def _resolve_shell(shell):
    """Accept "/bin/bash" or just "bash"; return an absolute path to an executable."""
    path = shell if os.path.isabs(shell) else shutil.which(shell)
    if not path or not os.access(path, os.X_OK):
        raise ValueError(f"login shell not found or not executable: {shell!r}")
    return path


def _try_lock(fh):
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _run(argv):
    subprocess.run(argv, check=True, capture_output=True, text=True, timeout=30)


# Test accounts never touch the host's /etc: useradd --prefix writes a private copy of the
# account database, and the sandbox sshd (and its login shells) see that copy through bind
# mounts in its own mount namespace.  One copy per test process, removed when it exits.
ACCOUNTS = Path(tempfile.gettempdir()) / f"idlelock-test-accounts-{os.getpid()}"
ACCOUNT_FILES = ("passwd", "group", "shadow", "gshadow")


def _accounts():
    """The private account database (``<ACCOUNTS>/etc``), seeded from the host's once."""
    etc = ACCOUNTS / "etc"
    if not (ACCOUNTS / "live").is_dir():
        (etc / "default").mkdir(parents=True, exist_ok=True)
        (ACCOUNTS / "home").mkdir(mode=0o755, exist_ok=True)
        os.chmod(ACCOUNTS, 0o755)
        for name in (*ACCOUNT_FILES, "login.defs", "default/useradd"):
            if os.path.exists(f"/etc/{name}"):
                shutil.copy2(f"/etc/{name}", etc / name)
        (ACCOUNTS / "live").mkdir()
        for name in ACCOUNT_FILES:
            shutil.copy2(etc / name, ACCOUNTS / "live" / name)
        atexit.register(shutil.rmtree, ACCOUNTS, True)
    return etc


def _publish_accounts():
    """Copy the database into the files a running sandbox has bind-mounted, in place.

    useradd replaces its files (a new inode), which a bind mount would never show; the
    ``live`` copies keep their inodes, so a user created after sshd started can log in.
    """
    for name in ACCOUNT_FILES:
        data = (ACCOUNTS / "etc" / name).read_bytes()
        with open(ACCOUNTS / "live" / name, "r+b") as handle:
            handle.write(data)
            handle.truncate()


def account_binds():
    """``{/etc/passwd: private copy, ...}``: what a sandbox binds, so that accounts made
    even after it started can log in."""
    with open(USER_LOCK, "w") as lock:
        wait_until(lambda: _try_lock(lock), 30, what=f"lock {USER_LOCK}")
        _accounts()
    return {f"/etc/{name}": str(ACCOUNTS / "live" / name) for name in ACCOUNT_FILES}


def _entries(name):
    """``[fields]`` of each line of the private ``/etc/<name>``."""
    return [line.split(":") for line in (ACCOUNTS / "etc" / name).read_text().splitlines()
            if line]


def ensure_test_user(name="idlelock-test", shell="/bin/bash", groups=()):
    """Create or update a sandbox login account and return a :class:`TestUser`.

    The account exists in the private database only (see ``ACCOUNTS``): the host's
    /etc/passwd never has it, and its home is under ``ACCOUNTS``.  Idempotent, and safe to
    call again with another ``shell`` or ``groups``: the account is updated in place, its
    key pair is kept.  ``groups`` become the user's *exact* supplementary groups (missing
    groups are created).  An empty ~/.zshrc is created if absent, so that zsh does not
    start its new-user wizard.  The password field is set to ``*``: without PAM, sshd
    refuses accounts whose field starts with ``!`` (useradd's default) as locked, while
    ``*`` merely means "no password login".
    """
    shell = _resolve_shell(shell)
    groups = tuple(groups)
    USER_LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(USER_LOCK, "w") as lock:
        wait_until(lambda: _try_lock(lock), 30, what=f"lock {USER_LOCK}")
        prefix = ["--prefix", str(ACCOUNTS)]
        _accounts()
        known_groups = {fields[0] for fields in _entries("group")}
        for group in groups:
            if group not in known_groups:
                _run(["groupadd", *prefix, group])
        home = ACCOUNTS / "home" / name
        if any(fields[0] == name for fields in _entries("passwd")):
            _run(["usermod", *prefix, "-s", shell, "-G", ",".join(groups), "-d", str(home),
                  name])
        else:
            primary = ["-g", name] if name in known_groups else ["-U"]
            _run(["useradd", *prefix, "-M", "-d", str(home), *primary, "-s", shell,
                  "-G", ",".join(groups), name])
        _run(["usermod", *prefix, "-p", "*", name])
        _publish_accounts()
        uid, gid = next((int(f[2]), int(f[3])) for f in _entries("passwd") if f[0] == name)
        home.mkdir(parents=True, exist_ok=True)
        os.chown(home, uid, gid)
        zshrc = home / ".zshrc"
        if not zshrc.exists():
            # Without any zsh dotfile, zsh starts its interactive new-user wizard, which eats
            # the first keystrokes of a test.
            zshrc.write_text("# idlelock test user: keeps zsh-newuser-install quiet\n")
            os.chown(zshrc, uid, gid)
        ssh_dir = home / ".ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        key = ssh_dir / "id_ed25519"
        if not key.exists() or not key.with_suffix(".pub").exists():
            key.unlink(missing_ok=True)
            _run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", f"{name}@idlelock-test",
                  "-f", str(key)])
        pub = key.with_suffix(".pub").read_text().strip()
        authorized = ssh_dir / "authorized_keys"
        lines = authorized.read_text().splitlines() if authorized.exists() else []
        if pub not in lines:
            authorized.write_text("\n".join(lines + [pub]) + "\n")
        for path in (ssh_dir, key, key.with_suffix(".pub"), authorized):
            os.chown(path, uid, gid)
        os.chmod(ssh_dir, 0o700)
        os.chmod(key, 0o600)
        os.chmod(authorized, 0o600)
        actual_groups = tuple(f[0] for f in _entries("group")
                              if len(f) > 3 and name in f[3].split(","))
    return TestUser(name=name, home=home, shell=shell, key=key, groups=actual_groups)


# ---------------------------------------------------------------------------------------------
# sshd sandbox


class SshdSandbox:
    """A private sshd listening on 127.0.0.1:<free port>, configured under ``tmp_path``.

    Layout (all absolute, because a relative ``-f`` makes sshd die on SIGHUP)::

        <root>/etc/ssh/sshd_config         main file, "Include .../sshd_config.d/*.conf" first
        <root>/etc/ssh/sshd_config.d/      drop-ins (empty at first)
        <root>/etc/ssh/ssh_host_ed25519_key
        <root>/etc/profile.d/              empty at first; see start(namespace_profile_d)
        <root>/run/sshd.pid, <root>/sshd.log

    Create it, adjust the files, then :meth:`start`.  The object is a context manager that
    stops sshd on exit.
    """

    def __init__(self, tmp_path, port=None, extra_config=""):
        """Write the sandbox files.  ``extra_config`` is appended to the main file verbatim."""
        self.root_dir = Path(tmp_path).resolve() / "sshd-sandbox"
        self.etc_ssh = self.root_dir / "etc" / "ssh"
        self.config = self.etc_ssh / "sshd_config"
        self.dropin_dir = self.etc_ssh / "sshd_config.d"
        self.host_key = self.etc_ssh / "ssh_host_ed25519_key"
        self.profile_d = self.root_dir / "etc" / "profile.d"
        self.pidfile = self.root_dir / "run" / "sshd.pid"
        self.log_file = self.root_dir / "sshd.log"
        self.port = port or free_port()
        self.proc = None
        self.binds = {}

        self.dropin_dir.mkdir(parents=True, exist_ok=True)
        self.pidfile.parent.mkdir(parents=True, exist_ok=True)
        # Empty: bound over /etc/profile.d, it shows only what the test adds.
        self.profile_d.mkdir(parents=True, exist_ok=True)
        if not self.host_key.exists():
            _run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f", str(self.host_key)])
        self.config.write_text(self._main_config() + extra_config)

    def _main_config(self):
        # The Include comes first, as on Debian/Ubuntu/Fedora, so drop-ins win (first value wins).
        return "\n".join([
            f"Include {self.dropin_dir}/*.conf",
            f"HostKey {self.host_key}",
            f"PidFile {self.pidfile}",
            "ListenAddress 127.0.0.1",
            f"Port {self.port}",
            "UsePAM no",
            # tmp_path and test homes are not root-only; sshd would reject keys beneath them.
            "StrictModes no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "AuthorizedKeysFile %h/.ssh/authorized_keys",
            "PrintMotd no",
            "PrintLastLog no",
            "Subsystem sftp internal-sftp",
            "",
        ])

    # -- files -------------------------------------------------------------------------------

    def write_dropin(self, name, text):
        """Write ``<dropin_dir>/<name>`` (e.g. "10-idle.conf") and return its path."""
        path = self.dropin_dir / name
        path.write_text(text)
        return path

    def write_profile_d(self, name, text):
        """Write a script into the sandbox profile.d and return its path."""
        path = self.profile_d / name
        path.write_text(text)
        return path

    # -- lifecycle ---------------------------------------------------------------------------

    def _bind_map(self, namespace_profile_d):
        binds = dict(account_binds())
        if namespace_profile_d:
            binds["/etc/profile.d"] = self.profile_d
        for target, source in binds.items():
            if not Path(source).exists() or not Path(target).exists():
                raise ValueError(f"bind mount needs both paths to exist: {source} -> {target}")
        return {str(t): str(Path(s).resolve()) for t, s in binds.items()}

    def command(self):
        """The sshd argv: foreground (-D), log to stderr (-e), absolute config path."""
        return [SSHD, "-D", "-e", "-f", str(self.config)]

    def start(self, namespace_profile_d=False, timeout=START_TIMEOUT, etc=None):
        """Start sshd and wait until it accepts connections; return self.

        sshd, and every login shell it starts, runs in a private mount namespace on the
        suite's /etc (:mod:`tests.support.private_etc`): ``etc`` (default: ``<root>/etc-upper``)
        as the upper layer over the suite's baseline, so no start-up file of this host's
        /etc reaches a session; started from inside ``run_with_etc``, sshd shares that /etc.
        With ``namespace_profile_d=True``, the sandbox ``profile_d`` is bind-mounted over
        ``/etc/profile.d``.
        """
        if self.running:
            raise SandboxError("sshd sandbox already started")
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        self.check_config()
        self.binds = self._bind_map(namespace_profile_d)
        argv = self.command()
        mounts = " && ".join(
            f"mount --bind {shlex.quote(src)} {shlex.quote(dst)}"
            for dst, src in self.binds.items())
        argv = ["sh", "-c", f"{mounts} && exec {shlex.join(argv)}"]
        # The wrapper and sh both exec: the Popen PID ends up being sshd itself.
        argv = private_etc.command(etc or self.root_dir / "etc-upper", argv)
        self.pidfile.unlink(missing_ok=True)
        with open(self.log_file, "ab") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until(lambda: self.proc.poll() is None and self._pidfile_pid(),
                       timeout, what=f"sshd pidfile {self.pidfile}")
            wait_until(lambda: port_accepts(self.port), timeout,
                       what=f"sshd on 127.0.0.1:{self.port}")
        except TimeoutError as exc:
            returncode = self.proc.poll()
            self.stop()
            raise SandboxError(f"{exc}; sshd exit status {returncode}\n{self.log_tail()}") from None
        if self.pid != self.proc.pid:
            self.stop()
            raise SandboxError(f"pidfile says {self.pid}, but we started {self.proc.pid}")
        return self

    def _pidfile_pid(self):
        try:
            return int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    @property
    def pid(self):
        """The listener PID, as written by sshd into its pidfile (None if absent)."""
        return self._pidfile_pid()

    def _listening_count(self):
        return self.log_text().count("Server listening on")

    def reload(self, timeout=START_TIMEOUT):
        """SIGHUP the listener and wait until the re-executed sshd accepts again.

        sshd re-execs in place (same PID) and logs "Server listening on" anew; waiting for that
        line, not just the port, avoids racing the old socket before the signal is handled.
        """
        pid = self.pid
        if pid is None or not pid_alive(pid):
            raise SandboxError(f"sshd is not running\n{self.log_tail()}")
        before = self._listening_count()
        os.kill(pid, signal.SIGHUP)
        try:
            wait_until(lambda: self._listening_count() > before or not pid_alive(pid),
                       timeout, what="sshd to re-exec after SIGHUP")
            if not pid_alive(pid):
                raise TimeoutError("sshd listener died on SIGHUP")
            # sshd unlinks its pidfile before re-exec and rewrites it once listening.
            wait_until(lambda: self._pidfile_pid() == pid, timeout, what="sshd pidfile rewrite")
            wait_until(lambda: port_accepts(self.port), timeout, what="sshd to accept again")
        except TimeoutError as exc:
            raise SandboxError(f"{exc}\n{self.log_tail()}") from None

    def stop(self, timeout=STOP_TIMEOUT):
        """Terminate the listener and its per-connection children, by PID; bounded wait."""
        if self.proc is None:
            return
        pids = [self.proc.pid] + child_pids(self.proc.pid)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=timeout)
        for pid in pids[1:]:
            try:
                wait_until(lambda: not pid_alive(pid), timeout, what=f"sshd child {pid}")
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
        self.proc = None

    @property
    def running(self):
        """True while the listener we started is alive."""
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- introspection -----------------------------------------------------------------------

    def log_text(self):
        """Everything sshd logged so far (it runs with -e, so this is its whole log)."""
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=20):
        """The last ``lines`` lines of the sshd log, for error messages."""
        return "\n".join(self.log_text().splitlines()[-lines:])

    def check_config(self):
        """Run ``sshd -t``; raise SandboxError with sshd's message if the config is invalid."""
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        res = subprocess.run([SSHD, "-t", "-f", str(self.config)], capture_output=True,
                             text=True, timeout=30)
        if res.returncode != 0:
            raise SandboxError(f"sshd -t failed ({res.returncode}): {res.stderr.strip()}")

    def effective(self, user=None, host="localhost", addr="127.0.0.1"):
        """Effective configuration from ``sshd -T``: {lower-case keyword: value}.

        With ``user`` (a name or TestUser), Match blocks are applied for a connection from
        ``addr``.  A keyword that sshd prints on several lines (hostkey, listenaddress, ...)
        maps to a list of values in printed order; every other keyword maps to a string.
        """
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        argv = [SSHD, "-T", "-f", str(self.config)]
        if user is not None:
            argv += ["-C", f"user={getattr(user, 'name', user)},host={host},addr={addr}"]
            # sshd looks the user up: in the private account database.
            mounts = " && ".join(f"mount --bind {shlex.quote(src)} {shlex.quote(dst)}"
                                 for dst, src in account_binds().items())
            if mounts:
                argv = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                        f"{mounts} && exec {shlex.join(argv)}"]
        res = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        if res.returncode != 0:
            raise SandboxError(f"sshd -T failed ({res.returncode}): {res.stderr.strip()}")
        result = {}
        for line in res.stdout.splitlines():
            keyword, _, value = line.partition(" ")
            if keyword in result:
                previous = result[keyword]
                result[keyword] = (previous if isinstance(previous, list) else [previous]) + [value]
            else:
                result[keyword] = value
        return result


def snapshot(root):
    """Every file under ``root``: bytes and mtime."""
    found = {}
    for path in sorted(Path(root).rglob("*")):
        if path.is_file() and not path.is_symlink():
            found[str(path)] = (path.read_bytes(), path.stat().st_mtime_ns)
    return found


def effective(config, *extra):
    """``sshd -T`` of ``config`` (and ``extra`` options, e.g. ``-h key``): ``{keyword: value}``
    as sshd prints them. Raises CalledProcessError when sshd refuses the config."""
    out = subprocess.run(
        ["/usr/sbin/sshd", "-T", "-f", config, *extra], capture_output=True, text=True,
        check=True, timeout=30,
    ).stdout
    return idlelock_sshd.read_effective(out)
