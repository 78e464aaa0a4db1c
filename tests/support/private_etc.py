"""Run test code against a sandbox /etc without touching the real one.

``run_with_etc(upper, func)`` forks; the child enters a private mount namespace
and mounts an overlay over ``/etc`` whose upper layer is ``upper`` (a test
directory), then calls ``func()`` and sends its result back. Reads see the
sandbox files over the host's; every write lands in ``upper``; the mounts die
with the child. Directories listed in ``opaque`` (``"profile.d"``) show only the
sandbox's files, so host files cannot change a scenario's outcome.

Real programs (login shells, ``unshare`` in the product's own probe) run in
that namespace as they would on a host whose /etc held these files.
"""

import ctypes
import os
import pickle
import select
import signal
import subprocess
import time
import traceback

CLONE_NEWNS = 0x00020000
TIMEOUT = 120


def _enter(layers, private_run=False):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
    # Private propagation first, or the overlay would appear in the host's namespace.
    subprocess.run(["mount", "--make-rprivate", "/"], check=True, timeout=30)
    for target, (upper, work) in layers.items():
        subprocess.run(["mount", "-t", "overlay", "sandbox" + target.replace("/", "-"), "-o",
                        f"lowerdir={target},upperdir={upper},workdir={work}", target],
                       check=True, timeout=30, capture_output=True)
    if private_run:
        # An empty /run: no pidfile of the host's services (an init script that
        # would reload the host's sshd finds none), room for sshd's privsep dir.
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "sandbox-run", "/run"],
                       check=True, timeout=30, capture_output=True)


def run_with_etc(upper, func, opaque=("profile.d",), timeout=TIMEOUT, also=None,
                 private_run=False):
    """
    Return ``func()`` as run with ``upper`` overlaid on /etc; re-raise its failure.

    ``also`` (``{"/run": upper, "/usr": upper}``) overlays more system
    directories the same way, e.g. where systemd reads drop-ins beside /etc.
    ``private_run`` mounts an empty tmpfs on /run instead (not with an ``also``
    layer on /run).
    """
    upper = os.path.abspath(upper)
    layers = {}
    for target, top in {"/etc": upper, **(also or {})}.items():
        top = os.path.abspath(top)
        work = top.rstrip("/") + ".work"
        os.makedirs(top, exist_ok=True)
        os.makedirs(work, exist_ok=True)
        layers[target] = (top, work)
    for name in opaque:
        path = os.path.join(upper, name)
        os.makedirs(path, exist_ok=True)
        os.setxattr(path, "trusted.overlay.opaque", b"y")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        os.close(read_end)
        try:
            _enter(layers, private_run)
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
