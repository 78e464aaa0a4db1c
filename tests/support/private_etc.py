"""Run test code against a sandbox /etc without touching the real one.

``run_with_etc(upper, func)`` forks; the child enters a private mount namespace
and mounts an overlay over ``/etc`` whose upper layer is ``upper`` (a test
directory), then calls ``func()`` and sends its result back. Every write lands
in ``upper``; the mounts die with the child. ``command(upper, argv)`` does the
same for a daemon (the integration tests' minions).

Below ``upper`` lies the suite's own :data:`BASELINE` (the login shells',
sshd's and logind's start-up files and drop-in directories, as on a stock
Debian 12), and only then the host's /etc: what this machine's admin set there
(e.g. a TMOUT left by ``scripts/apply.sh``) never changes an outcome.

Real programs (login shells, ``unshare`` in the product's own probe) run in
that namespace as they would on a host whose /etc held these files.
"""

import ctypes
import hashlib
import os
import pickle
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback

CLONE_NEWNS = 0x00020000
TIMEOUT = 120
# Set in every process that runs on a private /etc (inherited by its children).
INSIDE = "IDLELOCK_TEST_PRIVATE_ETC"

# Debian 12's /etc/profile, less its comments: PATH, bash.bashrc for an
# interactive bash, then every readable /etc/profile.d/*.sh.
PROFILE = """\
if [ "$(id -u)" -eq 0 ]; then
  PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
else
  PATH="/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games"
fi
export PATH
if [ "${PS1-}" ]; then
  if [ "${BASH-}" ] && [ "$BASH" != "/bin/sh" ]; then
    if [ -f /etc/bash.bashrc ]; then
      . /etc/bash.bashrc
    fi
  else
    if [ "$(id -u)" -eq 0 ]; then
      PS1='# '
    else
      PS1='$ '
    fi
  fi
fi
if [ -d /etc/profile.d ]; then
  for i in /etc/profile.d/*.sh; do
    if [ -r $i ]; then
      . $i
    fi
  done
  unset i
fi
"""
# Debian 12's csh.login and csh.cshrc, less the key bindings: each sources
# every file of its .d directory.
CSH_DIR_LOOP = """\
if (-e /etc/csh/{0}.d && `/bin/ls /etc/csh/{0}.d` != "") then
  foreach FILE (`/bin/ls /etc/csh/{0}.d/*`)
    source $FILE;
  end;
endif
"""
# Debian 12's sshd_config, less its comments: drop-ins first (first value wins).
SSHD_CONFIG = """\
Include /etc/ssh/sshd_config.d/*.conf
KbdInteractiveAuthentication no
UsePAM yes
X11Forwarding yes
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
"""
OWNED = "# the test's own copy: the host's never shows\n"
# The /etc every test sees below its own upper layer, over the host's: each
# file a login shell (bash(1) INVOCATION, zsh(1) STARTUP/SHUTDOWN FILES,
# tcsh(1) STARTUP, ksh(1)), sshd (sshd_config(5)) or logind
# (logind.conf(5)) reads to decide an idle timeout is a Debian default the
# test suite wrote, so what this machine's admin changed there (a TMOUT in
# /etc/profile.d, a drop-in in sshd_config.d, StopIdleSessionSec) cannot change
# an outcome. A text is a file; None an empty directory that hides the
# host's; WHITEOUT a file the host may have and the test's /etc has not.
WHITEOUT = object()
BASELINE = {
    "profile": PROFILE,
    "bash.bashrc": OWNED,
    "environment": "",
    "profile.d": None,
    "bashrc": WHITEOUT,  # Fedora's, read by its bash.bashrc only; never on Debian
    "zsh": None,
    "zsh/zshenv": OWNED,
    "zsh/zprofile": OWNED,
    "zsh/zshrc": OWNED,
    "zsh/zlogin": OWNED,
    "zshenv": WHITEOUT,  # upstream zsh's paths (Debian builds it with /etc/zsh)
    "zprofile": WHITEOUT,
    "zshrc": WHITEOUT,
    "zlogin": WHITEOUT,
    "ksh.kshrc": WHITEOUT,
    "csh.login": CSH_DIR_LOOP.format("login"),
    "csh.cshrc": CSH_DIR_LOOP.format("cshrc"),
    "csh": None,
    "csh/login.d": None,
    "csh/cshrc.d": None,
    "ssh/sshd_config": SSHD_CONFIG,
    "ssh/sshd_config.d": None,
    "systemd/logind.conf": "[Login]\n",
    "systemd/logind.conf.d": None,
}
# Opaque in a test's own upper layer too, on request (a test that writes there
# before entering).
OPAQUE = ()


def baseline():
    """
    The directory holding :data:`BASELINE`, made once per content and shared
    by every overlay (a lower layer is only read). Opaque directories and
    whiteouts are xattrs and device nodes, which git cannot carry: written here.
    """
    with open(__file__, "rb") as source:  # a new BASELINE, a new directory
        digest = hashlib.sha256(source.read()).hexdigest()[:16]
    final = os.path.join(tempfile.gettempdir(), f"idlelock-etc-baseline-{digest}")
    if os.path.isdir(final):
        return final
    staging = tempfile.mkdtemp(prefix="idlelock-etc-baseline-")
    os.chmod(staging, 0o755)
    for name, content in sorted(BASELINE.items()):
        path = os.path.join(staging, name)
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        if content is None:
            os.makedirs(path, mode=0o755, exist_ok=True)
            os.setxattr(path, "trusted.overlay.opaque", b"y")
        elif content is WHITEOUT:
            os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(0, 0))
        else:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(content)
            os.chmod(path, 0o644)
    try:
        os.rename(staging, final)
    except OSError:  # another test process made it first: the same content
        shutil.rmtree(staging)
    return final


def _enter(layers, private_run=False):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
    # Private propagation first, or the overlay would appear in the host's namespace.
    subprocess.run(["mount", "--make-rprivate", "/"], check=True, timeout=30)
    for target, (lower, upper, work) in layers.items():
        subprocess.run(["mount", "-t", "overlay", "sandbox" + target.replace("/", "-"), "-o",
                        f"lowerdir={lower},upperdir={upper},workdir={work}", target],
                       check=True, timeout=30, capture_output=True)
    os.environ[INSIDE] = "1"
    if private_run:
        # An empty /run: no pidfile of the host's services (an init script that
        # would reload the host's sshd finds none), room for sshd's privsep dir.
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "sandbox-run", "/run"],
                       check=True, timeout=30, capture_output=True)


def layers(upper, opaque=OPAQUE, also=None):
    """
    ``{target: (lower, upper, work)}`` for ``/etc`` (upper ``upper``, over
    the :func:`baseline`, over the host's) and each ``also`` entry, their
    directories made; each ``opaque`` directory of ``upper`` is marked so that
    nothing below it shows.
    """
    upper = os.path.abspath(upper)
    found = {}
    for target, top in {"/etc": upper, **(also or {})}.items():
        top = os.path.abspath(top)
        work = top.rstrip("/") + ".work"
        os.makedirs(top, exist_ok=True)
        os.makedirs(work, exist_ok=True)
        lower = f"{baseline()}:{target}" if target == "/etc" else target
        found[target] = (lower, top, work)
    for name in opaque:
        path = os.path.join(upper, name)
        os.makedirs(path, exist_ok=True)
        os.setxattr(path, "trusted.overlay.opaque", b"y")
    return found


def run_with_etc(upper, func, opaque=OPAQUE, timeout=TIMEOUT, also=None,
                 private_run=False):
    """
    Return ``func()`` as run with ``upper`` overlaid on /etc; re-raise its failure.

    ``also`` (``{"/run": upper, "/usr": upper}``) overlays more system
    directories the same way, e.g. where systemd reads drop-ins beside /etc.
    ``private_run`` mounts an empty tmpfs on /run instead (not with an ``also``
    layer on /run).
    """
    found = layers(upper, opaque, also)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        os.close(read_end)
        try:
            _enter(found, private_run)
            payload = ("ok", func())
        except BaseException:  # noqa: BLE001 - report everything to the parent
            payload = ("error", traceback.format_exc())
        with os.fdopen(write_end, "wb") as out:
            pickle.dump(payload, out)
        os._exit(0)
    os.close(write_end)
    chunks, deadline = [], time.monotonic() + timeout
    with os.fdopen(read_end, "rb") as handle:
        while True:  # EOF when the child exits
            ready, _, _ = select.select([handle], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise TimeoutError(f"sandbox child {pid} did not finish in {timeout} s")
            chunk = os.read(handle.fileno(), 65536)
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    _, status = os.waitpid(pid, 0)
    if not data:
        raise RuntimeError(f"sandbox child died (wait status {status})")
    kind, value = pickle.loads(data)
    if kind == "error":
        raise AssertionError("in the sandbox /etc:\n" + value)
    return value


def add_accounts(accounts):
    """
    Create ``{user: [groups]}`` with useradd and groupadd, inside the sandbox:
    call it from the ``func`` of ``run_with_etc``, where they write the
    overlay's /etc/passwd and /etc/group, never the host's. No home directory.
    """
    for user, groups in accounts.items():
        for group in groups:
            subprocess.run(["groupadd", "-f", group], check=True, capture_output=True,
                           timeout=30)
        exists = subprocess.run(["getent", "passwd", user], capture_output=True,
                                timeout=30).returncode == 0
        argv = (["usermod", "-G", ",".join(groups), user] if exists else
                ["useradd", "-M", "-N", "-s", "/bin/bash", "-G", ",".join(groups), user])
        subprocess.run(argv, check=True, capture_output=True, timeout=30)


def command(upper, argv, opaque=OPAQUE):
    """
    ``argv`` prefixed so that it runs in a mount namespace of its own with
    ``upper`` overlaid on /etc, as :func:`run_with_etc` does, for a program
    that must stay a child of its starter (a daemon, ``salt-call``): this file
    runs as a script, enters the namespace in its own process and execs
    ``argv``, so the PID is the program's. The overlay ends with it.

    Called on a private /etc already (in ``run_with_etc``), ``argv`` shares
    that /etc and ``upper`` is not used: what it writes is the caller's to see,
    and a second overlay would leave the product's own probe overlays beyond
    the kernel's stacking depth of 2.
    """
    if os.environ.get(INSIDE) == "1":
        return ["unshare", "--mount", "--propagation", "private", *argv]
    upper = layers(upper, opaque)["/etc"][1]
    return [sys.executable, os.path.abspath(__file__), upper, "--", *argv]


def main(args):
    """``private_etc.py UPPER -- COMMAND...``: see :func:`command`."""
    upper, separator, *argv = args
    if separator != "--" or not argv:
        sys.exit("usage: private_etc.py UPPER -- COMMAND...")
    _enter(layers(upper, opaque=()))
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
