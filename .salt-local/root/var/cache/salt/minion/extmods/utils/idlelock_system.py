"""
System I/O for idlelock: run sshd probes, read and write files safely.

No policy here. Every path is a path *inside* ``root`` (``/`` for the running
system, or a mounted image / chroot), and every probe runs inside that root, so
Include paths and binaries mean what they mean to that system.
"""

import contextlib
import glob
import os
import re
import shlex
import shutil
import stat
import subprocess
import tempfile
import time

import idlelock_record
import idlelock_sshd

PROBE_TIMEOUT = 30
_VERSION_RE = re.compile(r"OpenSSH_(\d+)\.(\d+)(?:p(\d+))?")
_PRIVSEP_RE = re.compile(r"Missing privilege separation directory: (\S+)")
_MAX_SYMLINKS = 40


class ProbeError(RuntimeError):
    """A probe could not run, or sshd rejected a configuration."""


def host_path(root, path):
    """Where the in-root ``path`` lives on this host."""
    if root in ("", "/"):
        return path
    return os.path.join(root, path.lstrip("/"))


def check_root(root, binary=None):
    """
    Refuse a root that is not a directory, or (given ``binary``) that has no such file.

    Checked before anything runs or is staged inside the root: a typo in
    ``root`` must not create directories on the host or probe the host's sshd.
    """
    if not os.path.isdir(root):
        raise ProbeError(f"root {root!r} is not a directory (expected a mounted image "
                         "or chroot)")
    if binary is not None and not os.path.isfile(host_path(root, binary)):
        where = "this system" if root in ("", "/") else f"root {root}"
        raise ProbeError(f"no sshd at {binary} in {where}: install openssh-server there, "
                         "set sshd:binary, or set sshd:enabled to false")


def read_text(root, path):
    """The text of an in-root file, or ``None`` when it does not exist."""
    try:
        with open(host_path(root, path), encoding="utf-8", errors="surrogateescape") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return None


def expand_glob(root, pattern):
    """In-root paths that an absolute glob matches, sorted as sshd's glob(3) sorts."""
    prefix = host_path(root, "/").rstrip("/")
    found = glob.glob(host_path(root, pattern))
    return sorted(path[len(prefix):] if prefix else path for path in found)


def _run(root, argv):
    if root not in ("", "/"):
        argv = ["chroot", root] + argv
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT, check=False
        )
    except FileNotFoundError as exc:
        raise ProbeError(f"cannot run {argv[0]}: {exc.strerror}") from None
    except subprocess.TimeoutExpired:
        raise ProbeError(f"{' '.join(argv)} did not finish in {PROBE_TIMEOUT} s") from None
    return proc


def run_sshd(binary, args, root="/"):
    """
    Run ``sshd`` with ``args`` inside ``root``; return the CompletedProcess.

    sshd refuses to test a configuration when its privilege-separation directory
    is missing (a host or image where sshd never ran since boot). Create it the
    way the distributions' units do (systemd ``RuntimeDirectory=sshd``, mode
    0755, owned by root) and try once more.
    """
    if not os.path.isfile(host_path(root, binary)):
        raise ProbeError(f"no sshd binary at {binary} (root {root})")
    proc = _run(root, [binary] + list(args))
    missing = _PRIVSEP_RE.search(proc.stderr)
    if proc.returncode != 0 and missing:
        directory = host_path(root, missing.group(1))
        os.makedirs(directory, mode=0o755, exist_ok=True)
        os.chmod(directory, 0o755)
        proc = _run(root, [binary] + list(args))
    return proc


# ---------------------------------------------------------------- one probe per input state
# Every probe's answer is keyed by its arguments and the identity of every file
# and directory it reads, so that any write, ours or anyone's, makes the next
# call probe afresh. Answers are kept for the life of the process (the grain and
# the states of one salt-call ask the same questions), and, where the Salt glue
# names a record (see remember_probes), across processes: see idlelock_record.
# Both survive importlib.reload, which reuses the module namespace.
_PROBES = globals().get("_PROBES", {})
_MAX_PROBES = 64
_RECORD = globals().get("_RECORD", {"path": None, "max_age": 0, "write": False})
_UNRECORDED = globals().get("_UNRECORDED", set())  # answers probed while not writing


def remember_probes(path, max_age, write=True):
    """
    Keep probe answers in the file ``path`` for ``max_age`` seconds, across runs.

    ``path=None`` or ``max_age=0``: answers live for this process only (a full
    proof on every run). ``write=False`` reads the record but adds nothing to it:
    rendering the formula changes nothing on the minion; the state run that
    follows records what rendering probed.
    """
    if _RECORD["path"] and not (path and max_age):
        _PROBES.clear()  # a live proof from here on: forget answers the record gave
        _UNRECORDED.clear()
    _RECORD.update(path=path if max_age else None, max_age=max_age, write=write)


def file_identity(root, paths):
    """What changes when any of the in-root ``paths`` (files or directories) is written,
    created, removed or replaced, or a directory gains or loses an entry."""
    identity = []
    for path in paths:
        try:
            info = os.stat(host_path(root, path))
            identity.append((path, info.st_dev, info.st_ino, info.st_size,
                             info.st_mtime_ns, info.st_ctime_ns))
        except OSError:
            identity.append((path, None))
    return tuple(identity)


def _once(key, probe, decode=lambda answer: answer):
    """
    ``probe()``, or its answer for the same ``key`` from earlier in this process
    or from the record. ``decode`` turns a recorded (JSON) answer back into
    what ``probe`` returns. A failing probe is never recorded.
    """
    path = _RECORD["path"]
    if key in _PROBES:
        if path and _RECORD["write"] and key in _UNRECORDED:
            _record(path, key, _PROBES[key])
        return _PROBES[key]
    found, answer = (idlelock_record.lookup(path, key, _RECORD["max_age"]) if path
                     else (False, None))
    if found:
        try:
            answer = decode(answer)
        except (TypeError, ValueError, IndexError, KeyError):
            found = False  # a record of another shape: prove afresh
    if not found:
        answer = probe()
        if path and _RECORD["write"]:
            _record(path, key, answer)
        elif path:
            _UNRECORDED.add(key)
    if len(_PROBES) >= _MAX_PROBES:
        _PROBES.clear()
        _UNRECORDED.clear()
    _PROBES[key] = answer
    return answer


def _record(path, key, answer):
    _UNRECORDED.discard(key)
    try:
        idlelock_record.store(path, key, answer)
    except OSError:
        pass  # a cache: the answer itself is right


def sshd_version(binary, root="/"):
    """``((major, minor, patch), text)`` of the OpenSSH that ``binary`` is."""

    def probe():
        # 9.x prints the version for -V; 8.4 rejects -V and prints it in the usage.
        proc = run_sshd(binary, ["-V"], root)
        found = _VERSION_RE.search(proc.stderr + proc.stdout)
        if not found:
            raise ProbeError(f"cannot tell the OpenSSH version of {binary}: {proc.stderr.strip()}")
        major, minor, patch = found.groups()
        return (int(major), int(minor), int(patch or 0)), found.group(0)

    return _once(("version", root, file_identity(root, [binary])), probe,
                 lambda answer: (tuple(answer[0]), answer[1]))


def sshd_effective(binary, config, root="/", connection=None, files=()):
    """
    The effective configuration, as ``sshd -T`` prints it: ``{keyword: value}``
    with keywords in lower case (``idlelock_sshd.read_effective``).

    ``connection`` (``{"user": .., "host": .., "addr": ..}``) applies the Match
    blocks for that connection. ``files``, every file of the configuration,
    lets an unchanged configuration be answered once per process. Raises
    ProbeError with sshd's message when sshd rejects the configuration.
    """
    args = ["-T", "-f", config]
    if connection:
        args += ["-C", ",".join(f"{key}={value}" for key, value in connection.items())]

    def probe():
        proc = run_sshd(binary, args, root)
        if proc.returncode != 0:
            raise ProbeError(proc.stderr.strip() or f"sshd -T exited {proc.returncode}")
        return idlelock_sshd.read_effective(proc.stdout)

    if not files or connection:  # -C depends on the account database too
        return probe()
    return dict(_once(("effective", root, tuple(args),
                       file_identity(root, [binary, config, *files])), probe))


@contextlib.contextmanager
def stage_dir(root="/"):
    """A private temporary directory inside ``root``, yielded as an in-root path."""
    parent = next(
        (p for p in ("/run", "/tmp") if os.path.isdir(host_path(root, p))), "/tmp"
    )
    os.makedirs(host_path(root, parent), exist_ok=True)
    real = tempfile.mkdtemp(prefix="idlelock-", dir=host_path(root, parent))
    try:
        yield parent.rstrip("/") + "/" + os.path.basename(real)
    finally:
        shutil.rmtree(real, ignore_errors=True)


def write_plain(root, files):
    """Write scratch files (``{in-root path: text}``) with no care for ownership."""
    for path, text in files.items():
        with open(host_path(root, path), "w", encoding="utf-8", errors="surrogateescape") as fh:
            fh.write(text)


def resolve_symlinks(root, path):
    """The in-root path a chain of symlinks ends at, so writes go to the target."""
    for _ in range(_MAX_SYMLINKS):
        real = host_path(root, path)
        if not os.path.islink(real):
            return path
        target = os.readlink(real)
        path = os.path.normpath(
            target if target.startswith("/") else os.path.join(os.path.dirname(path), target)
        )
    raise ProbeError(f"{path}: too many levels of symbolic links")


def write_atomic(root, path, data):
    """
    Replace an in-root file with ``data`` (bytes) atomically.

    A symlink is written through to its target. The file keeps its owner and
    mode; a new file is root-owned and 0644. The data reaches the disk before
    the rename, so a crash leaves either the old file or the new one.
    """
    real = host_path(root, resolve_symlinks(root, path))
    directory = os.path.dirname(real)
    try:
        info = os.stat(real)
        mode, uid, gid = stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid
    except FileNotFoundError:
        mode, uid, gid = 0o644, 0, 0
        os.makedirs(directory, mode=0o755, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=".idlelock-", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fchmod(out.fileno(), mode)
            os.fchown(out.fileno(), uid, gid)
            os.fsync(out.fileno())
        os.rename(tmp, real)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _read_bytes(root, path):
    try:
        with open(host_path(root, resolve_symlinks(root, path)), "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write_all(root, texts):
    """
    Write every file of ``{in-root path: text}``, or none of them.

    A ``None`` text deletes that file. When one write fails, the files already
    written get their old bytes back (and new files are removed) before the
    error is raised. A deleted file is first moved aside in its directory, and
    unlinked only once every write succeeded: a rollback moves it back with its
    owner, mode and inode untouched.
    """
    written, aside = [], []
    try:
        for path, text in texts.items():
            if text is None:
                real = host_path(root, path)
                if os.path.lexists(real):
                    directory, name = os.path.split(real)
                    parked = os.path.join(directory, f".{name}.idlelock-removing")
                    os.rename(real, parked)
                    aside.append((parked, real))
                continue
            old = _read_bytes(root, path)
            write_atomic(root, path, text.encode("utf-8", "surrogateescape"))
            written.append((path, old))
    except OSError:
        for path, old in reversed(written):
            if old is None:
                os.unlink(host_path(root, resolve_symlinks(root, path)))
            else:
                write_atomic(root, path, old)
        for parked, real in reversed(aside):
            os.rename(parked, real)
        raise
    for parked, _ in aside:
        os.unlink(parked)


# ---------------------------------------------------------------- login shells
# Probes for the shell part: run real login shells on the files, optionally on
# candidate files shown through a private mount namespace, never by regex.

LOGIN_SHELLS = {
    "bash": ("/bin/bash", "sh"),
    "dash": ("/bin/dash", "sh"),
    "zsh": ("/bin/zsh", "sh"),
    "ksh": ("/bin/ksh", "sh"),
    "tcsh": ("/bin/tcsh", "csh"),
}
_SHELL_ARGS = {"bash": ["--login", "-i"], "tcsh": ["-l"]}
_PROBE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def installed_shells(root):
    """``{name: (in-root path, family)}`` of the login shells present in ``root``."""
    found = {}
    for name, (path, family) in LOGIN_SHELLS.items():
        for candidate in (path, "/usr" + path):
            if os.access(host_path(root, candidate), os.X_OK):
                found[name] = (candidate, family)
                break
    return found


def _overlay_mounts(root, candidate, scratch):
    """
    Shell commands that show ``candidate`` ({in-root path: text}) over ``root``.

    Each top-level directory that holds a candidate (``/etc``) gets an overlay
    whose upper layer holds the candidate files, so the shell reads them with
    everything else in that directory unchanged. Returns the commands; the
    caller runs them in a private mount namespace, where they vanish with it.
    """
    tops = {}
    for path, text in candidate.items():
        top = "/" + path.lstrip("/").split("/", 1)[0]
        upper = os.path.join(scratch, top.strip("/"), "upper")
        target = os.path.join(upper, path.lstrip("/").split("/", 1)[1])
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(text)
        tops[top] = upper
    commands = []
    for top, upper in tops.items():
        lower = host_path(root, top)
        work = os.path.join(os.path.dirname(upper), "work")
        os.makedirs(work, exist_ok=True)
        if any(ch in lower + upper + work for ch in ",:\\"):
            raise ProbeError(f"cannot overlay {lower}: ',' ':' or '\\' in a path")
        options = f"lowerdir={lower},upperdir={upper},workdir={work}"
        commands.append(f"mount -t overlay idlelock -o {shlex.quote(options)} "
                        f"{shlex.quote(lower)}")
    return commands


def probe_login_shells(root, shells, scripts, candidate=None, files=()):
    """
    Run each login shell in ``root`` and return ``{name: (stdout, stderr)}``.

    ``files``, every start-up file the shells may read, lets unchanged files be
    answered once per process (never a ``candidate``).

    ``shells`` is ``installed_shells(root)``; ``scripts`` maps a family
    (``sh``, ``csh``) to the commands a shell runs after its start-up files.
    The shells run as root, interactive where they allow it (so they read
    what an interactive login reads), with an empty environment and an empty
    HOME, so that only the system files count.

    With ``candidate`` ({in-root path: text}) the shells see those files
    instead of the ones on disk, through an overlay in a private mount
    namespace: a what-if that writes nothing outside a scratch directory.
    Raises ProbeError when that namespace cannot be made (no CAP_SYS_ADMIN).
    """
    if files and not candidate:
        key = ("shells", root, tuple(sorted(shells.items())), tuple(sorted(scripts.items())),
               file_identity(root, files))
        return dict(_once(key, lambda: probe_login_shells(root, shells, scripts)))
    results, started = {}, {}
    with tempfile.TemporaryDirectory(prefix="idlelock-overlay-") as scratch, \
            stage_dir(root) as home:
        try:
            # All shells start at once: each spends its time reading start-up
            # files, so a run waits for the slowest login rather than for the sum.
            for name, (path, family) in shells.items():
                # Each shell gets its own overlay: two live overlays cannot share
                # an upper or work directory.
                mounts = (_overlay_mounts(root, candidate, os.path.join(scratch, name))
                          if candidate else [])
                command = [path] + _SHELL_ARGS.get(name, ["-l", "-i"])
                if root not in ("", "/"):
                    command = ["chroot", root] + command
                if mounts:
                    command = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                               " && ".join(mounts + ['exec "$@"']), "idlelock"] + command
                try:
                    # The environment is given here rather than by `env -i`:
                    # one process fewer per shell, the same environment.
                    started[name] = subprocess.Popen(
                        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True, cwd=host_path(root, home),
                        env={"HOME": home, "TERM": "dumb", "PATH": _PROBE_PATH, "SHELL": path})
                except FileNotFoundError as exc:
                    raise ProbeError(f"cannot run {command[0]}: {exc.strerror}") from None
            deadline = time.monotonic() + PROBE_TIMEOUT
            for name, proc in started.items():
                try:
                    stdout, stderr = proc.communicate(
                        scripts[shells[name][1]], timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    raise ProbeError(
                        f"a {name} login did not finish in {PROBE_TIMEOUT} s") from None
                if candidate and proc.returncode != 0 and "IDLELOCK" not in stdout:
                    raise ProbeError(f"cannot show the candidate files to {name}: "
                                     f"{stderr.strip()[-300:]}")
                results[name] = (stdout, stderr)
        finally:
            for proc in started.values():  # the ones an error above left running
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    return results


def write_backups(root, paths):
    """Copy each in-root file to ``<path><suffix>`` once, keeping the first (original) copy."""
    for path, backup in paths.items():
        real = host_path(root, backup)
        if os.path.exists(real):
            continue
        shutil.copy2(host_path(root, resolve_symlinks(root, path)), real)


def is_dir(root, path):
    """True when the in-root ``path`` is a directory."""
    return os.path.isdir(host_path(root, path))


# ---------------------------------------------------------------- the running sshd
_PIDFILE_MAX = 64  # a PID and a newline; more is not a PID file
_CMDLINE_MAX = 65536


def _proc_text(pid, name, limit):
    try:
        with open(f"/proc/{pid}/{name}", "rb") as handle:
            return handle.read(limit)
    except OSError:
        return None


def sshd_listener(root, pidfile):
    """
    What the PID file ``pidfile`` (in-root) says about a running sshd.

    ``None`` when there is no such file, else ``{pid, written, alive, exe,
    argv}``: the PID it holds (``None`` when it holds none), its mtime in ns
    (sshd rewrites it after loading its configuration, at start and on every
    SIGHUP), whether that process is alive (not a zombie), its executable and
    its argv from /proc. Read without blocking and bounded: a FIFO or a huge
    file is not a PID file.
    """
    try:
        handle = os.open(host_path(root, pidfile), os.O_RDONLY | os.O_NONBLOCK)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        return {"pid": None, "error": exc.strerror}
    try:
        info = os.fstat(handle)
        data = os.read(handle, _PIDFILE_MAX) if stat.S_ISREG(info.st_mode) else b""
    finally:
        os.close(handle)
    text = data.decode("ascii", "replace").strip()
    pid = int(text) if text.isdigit() and 0 < int(text) < 2**22 else None
    found = {"pid": pid, "written": info.st_mtime_ns, "alive": False, "exe": None, "argv": []}
    if pid is None:
        return found
    proc_stat = _proc_text(pid, "stat", 4096)
    try:
        # The state letter follows the parenthesised command name; Z is a zombie.
        found["alive"] = proc_stat is not None and proc_stat.rsplit(b")", 1)[1].split()[0] != b"Z"
    except IndexError:
        found["alive"] = False
    with contextlib.suppress(OSError):
        found["exe"] = os.readlink(f"/proc/{pid}/exe")
    cmdline = _proc_text(pid, "cmdline", _CMDLINE_MAX) or b""
    found["argv"] = [word.decode("utf-8", "surrogateescape")
                     for word in cmdline.split(b"\0")[:-1]]
    return found


def change_times(root, paths):
    """
    ``{in-root path: ns}``: when each file or directory last changed (its
    ctime, which a write, rename, chmod or ``touch -d`` all move, unlike the
    mtime that ``cp -p`` or ``rsync -t`` carry over). A symlink counts as
    changed when the link or its target did; ``None`` for a missing path.
    """
    times = {}
    for path in paths:
        real = host_path(root, path)
        try:
            times[path] = os.lstat(real).st_ctime_ns
        except OSError:
            times[path] = None
            continue
        with contextlib.suppress(OSError):
            times[path] = max(times[path], os.stat(real).st_ctime_ns)
    return times
