"""
System I/O for idlelock: run sshd probes, read and write files safely.

No policy here. Every path is a path *inside* ``root`` (``/`` for the running
system, or a mounted image / chroot), and every probe runs inside that root, so
Include paths and binaries mean what they mean to that system.

Confinement: a path is resolved component by component the way a process
chrooted into ``root`` would resolve it (an absolute symlink starts again at
``root``), so reading and writing end at the same file, and a path or symlink
that would climb out of ``root`` is refused (:class:`OutsideRoot`) instead of
reaching the host.
"""

import contextlib
import fcntl
import fnmatch
import glob
import hashlib
import logging
import os
import posixpath
import re
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
import time

import idlelock_record
import idlelock_sshd

PROBE_TIMEOUT = 30
# The longest a run waits for another run on the same root (read, prove, write).
LOCK_TIMEOUT = 120
# The largest configuration or start-up file read: sshd_config and profiles are
# a few KiB; anything bigger is not a configuration file.
MAX_FILE_BYTES = 4 * 1024 * 1024
# A binary that did not answer is not asked again for this long (one probe per run).
HUNG_MEMORY = 600
_VERSION_RE = re.compile(r"OpenSSH_([0-9]+)\.([0-9]+)(?:p([0-9]+))?")
_PRIVSEP_RE = re.compile(r"Missing privilege separation directory: (\S+)")
_MAX_SYMLINKS = 40
log = logging.getLogger(__name__)
_KINDS = {stat.S_IFDIR: "directory", stat.S_IFIFO: "FIFO (named pipe)",
          stat.S_IFSOCK: "socket", stat.S_IFCHR: "character device",
          stat.S_IFBLK: "block device"}


class ProbeError(RuntimeError):
    """A probe could not run, or sshd rejected a configuration."""


class Rejected(ProbeError):
    """sshd ran and rejected the configuration (its message is the text)."""


class ProbeTimeout(ProbeError):
    """A probe did not answer in time."""


class OutsideRoot(ProbeError):
    """A path, an Include or a symlink that leads out of the managed root."""


class NotRegular(ProbeError):
    """A configuration path that is a directory, FIFO, socket or device."""


class Busy(ProbeError):
    """Another idlelock run holds the lock of this root."""


class RestoreFailed(ProbeError):
    """A rollback could not put every file back: the message names what is left."""


class Terminated(SystemExit):
    """SIGTERM arrived while files were being replaced (raised to roll back)."""


def _is_host(root):
    return root in ("", "/")


def resolve(root, path, follow=True):
    """
    ``(in-root path, host path)`` of the in-root ``path``, every symlink followed
    inside ``root`` (the last component only when ``follow``).

    An absolute symlink target starts again at ``root``, as it does for sshd
    chrooted there. ``..`` above ``/`` is ``/`` on the running system; in an
    image it would reach the host, so it raises :class:`OutsideRoot`.
    """
    base = "/" if _is_host(root) else os.path.realpath(root)
    parts = [part for part in path.split("/") if part not in ("", ".")]
    done, links, via = [], 0, ""
    while parts:
        part = parts.pop(0)
        if part == "..":
            if done:
                done.pop()
            elif not _is_host(root):
                raise OutsideRoot(f"{path} leads out of root {root}{via}: refused")
            continue
        host = os.path.join(base, *done, part)
        if (parts or follow) and os.path.islink(host):
            links += 1
            if links > _MAX_SYMLINKS:
                raise ProbeError(f"{path}: too many levels of symbolic links")
            target = os.readlink(host)
            via = f" (through the symlink /{'/'.join(done + [part])} -> {target})"
            if target.startswith("/"):
                done = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        done.append(part)
    return "/" + "/".join(done), os.path.join(base, *done)


def host_path(root, path):
    """Where the in-root ``path`` (symlinks resolved inside ``root``) lives on this host."""
    return resolve(root, path)[1]


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


def read_bytes(root, path):
    """
    The bytes of an in-root regular file, or ``None`` when it does not exist.

    A directory, FIFO, socket or device raises :class:`NotRegular` without
    being opened (a FIFO would block the run forever, a device may act on
    open); a file over ``MAX_FILE_BYTES`` raises :class:`ProbeError`.
    """
    real = host_path(root, path)
    try:
        info = os.lstat(real)
    except (FileNotFoundError, NotADirectoryError):
        return None
    _check_regular(path, info)
    # O_NOFOLLOW and O_NONBLOCK: a symlink or FIFO swapped in since lstat fails
    # or returns at once instead of reaching the host or blocking.
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:  # removed since lstat
        return None
    with os.fdopen(fd, "rb") as handle:
        _check_regular(path, os.fstat(handle.fileno()))
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ProbeError(f"{path} is larger than {MAX_FILE_BYTES} bytes: not a configuration "
                         "file idlelock reads")
    return data


def _check_regular(path, info):
    if not stat.S_ISREG(info.st_mode):
        kind = _KINDS.get(stat.S_IFMT(info.st_mode), "special file")
        raise NotRegular(f"{path} is a {kind}, not a regular file: sshd and login shells "
                         "cannot read it as configuration; remove it or rename it out of "
                         "the pattern that matches it")


def check_own(root, path, role, replaced=False):
    """
    Refuse anything but a regular file (or nothing) at the in-root ``path``
    itself, a symlink included: ``path`` is a file idlelock makes (``role``
    says what it is), and writing through a symlink it did not make would
    replace another file. With ``replaced`` (a file idlelock renames a new
    copy over, never writes into), only a directory is refused: a rename
    replaces anything else, a symlink itself included. Raises :class:`NotRegular`.
    """
    real = resolve(root, path, follow=False)[1]
    try:
        info = os.lstat(real)
    except (FileNotFoundError, NotADirectoryError):
        return
    if stat.S_ISREG(info.st_mode) or (replaced and not stat.S_ISDIR(info.st_mode)):
        return
    if stat.S_ISLNK(info.st_mode):
        what = f"a symlink to {os.readlink(real)}"
    else:
        what = f"a {_KINDS.get(stat.S_IFMT(info.st_mode), 'special file')}"
    raise NotRegular(f"{path} is {what}, not a regular file; it is {role}, which idlelock "
                     "writes only in place of a regular file: move it away and run again")


def read_text(root, path):
    """
    The text of an in-root file, or ``None`` when it does not exist.

    Bytes that are not UTF-8 decode as surrogates and encode back unchanged,
    so a file idlelock rewrites keeps every byte it does not edit.
    """
    data = read_bytes(root, path)
    return None if data is None else data.decode("utf-8", "surrogateescape")


def expand_glob(root, pattern):
    """
    In-root paths that an absolute glob matches, as sshd's glob(3) finds them:
    hidden names only for a pattern that starts with ``.``, sorted by bytes.
    Every directory is resolved inside ``root``.
    """
    found = ["/"]
    for part in (p for p in pattern.split("/") if p):
        if not glob.has_magic(part):
            found = [posixpath.join(base, part) for base in found]
            continue
        matched = []
        for base in found:
            try:
                names = os.listdir(host_path(root, base))
            except (FileNotFoundError, NotADirectoryError, PermissionError):
                continue
            matched += [posixpath.join(base, name) for name in names
                        if fnmatch.fnmatchcase(name, part)
                        and (part.startswith(".") or not name.startswith("."))]
        found = matched
    return sorted((path for path in found if os.path.lexists(resolve(root, path, False)[1])),
                  key=os.fsencode)


def _run(root, binary, args):
    """Run ``binary`` (in-root) with ``args`` in ``root``; the whole process group is
    killed when it does not answer in ``PROBE_TIMEOUT`` s, and is not asked again."""
    argv = [binary] + list(args)
    if not _is_host(root):
        argv = ["chroot", root] + argv
    key = (root, binary)
    hung = _HUNG.get(key)
    if hung and hung[0] == file_identity(root, [binary]) and time.monotonic() < hung[1]:
        raise ProbeTimeout(f"sshd ({binary}) did not answer in {hung[2]} s earlier in this "
                           "run; not asked again")
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, errors="surrogateescape",
                                start_new_session=True)
    except FileNotFoundError as exc:
        raise ProbeError(f"cannot run {argv[0]}: {exc.strerror}") from None
    try:
        stdout, stderr = proc.communicate(timeout=PROBE_TIMEOUT)
    except subprocess.TimeoutExpired:
        _HUNG[key] = (file_identity(root, [binary]), time.monotonic() + HUNG_MEMORY,
                      PROBE_TIMEOUT)
        raise ProbeTimeout(f"sshd ({binary}) did not answer in {PROBE_TIMEOUT} s") from None
    finally:
        if proc.poll() is None:  # timed out, or interrupted (SIGTERM): no orphan
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)


def run_sshd(binary, args, root="/"):
    """
    Run ``sshd`` with ``args`` inside ``root``; return the CompletedProcess.

    sshd refuses to test a configuration when its privilege-separation directory
    is missing (a host or image where sshd never ran since boot). Create it the
    way the distributions' units do (systemd ``RuntimeDirectory=sshd``, mode
    0755, owned by root), inside ``root``, and try once more.
    """
    if not os.path.isfile(host_path(root, binary)):
        raise ProbeError(f"no sshd binary at {binary} (root {root})")
    proc = _run(root, binary, args)
    missing = _PRIVSEP_RE.search(proc.stderr)
    if proc.returncode != 0 and missing:
        try:
            directory = host_path(root, missing.group(1))
        except OutsideRoot as exc:
            raise OutsideRoot(f"sshd needs its privilege-separation directory "
                              f"{missing.group(1)}, but {exc}") from None
        os.makedirs(directory, mode=0o755, exist_ok=True)
        os.chmod(directory, 0o755)
        proc = _run(root, binary, args)
    return proc


# ---------------------------------------------------------------- one probe per input state
# Every probe's answer is keyed by its arguments and the identity of every file
# and directory it reads, so that any write, ours or anyone's, makes the next
# call probe afresh. Answers are kept for the life of the process (the grain and
# the states of one salt-call ask the same questions), and, where the Salt glue
# names a record (see remember_probes), across processes: see idlelock_record.
# Both survive importlib.reload, which reuses the module namespace.
_PROBES = globals().get("_PROBES", {})
# (root, binary) -> (binary identity, forget after, seconds waited): a hung sshd.
_HUNG = globals().get("_HUNG", {})
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
            # ctime too: a chmod (a profile file made unreadable to users) changes it.
            identity.append((path, info.st_dev, info.st_ino, info.st_size,
                             info.st_mtime_ns, info.st_ctime_ns))
        except (OSError, ProbeError):
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


NO_HOST_KEYS = "no hostkeys available"


def sshd_effective(binary, config, root="/", connection=None, files=(), throwaway_key=False):
    """
    The effective configuration, as ``sshd -T`` prints it: ``{keyword: value}``
    with keywords in lower case (``idlelock_sshd.read_effective``).

    ``connection`` (``{"user": .., "host": .., "addr": ..}``) applies the Match
    blocks for that connection. ``files``, every file of the configuration,
    lets an unchanged configuration be answered once per process. Raises
    ProbeError with sshd's message when sshd rejects the configuration.

    ``throwaway_key``: add a host key made for this probe (``sshd -h``, in a
    private temporary directory inside ``root`` that is removed afterwards),
    for an image whose host keys are made at first boot; sshd refuses ``-T``
    without any (``no hostkeys available``). The caller decides when: only
    when the configured keys are absent.
    """
    args = ["-T", "-f", config]
    if connection:
        args += ["-C", ",".join(f"{key}={value}" for key, value in connection.items())]

    def probe():
        if throwaway_key:
            with stage_dir(root) as scratch:
                key = scratch + "/ssh_host_ed25519_key"
                try:
                    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                                    "idlelock-probe", "-f", host_path(root, key)],
                                   capture_output=True, check=True, timeout=PROBE_TIMEOUT)
                except (OSError, subprocess.SubprocessError) as exc:
                    raise ProbeError(f"cannot make a throwaway host key: {exc}") from None
                proc = run_sshd(binary, args + ["-h", key], root)
        else:
            proc = run_sshd(binary, args, root)
        if proc.returncode != 0:
            raise Rejected(proc.stderr.strip() or f"sshd -T exited {proc.returncode}")
        return idlelock_sshd.read_effective(proc.stdout)

    if not files or connection:  # -C depends on the account database too
        return probe()
    return dict(_once(("effective", root, tuple(args), throwaway_key,
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
    """Write scratch files (``{in-root path: text}``) byte for byte, with no care for ownership."""
    for path, text in files.items():
        with open(host_path(root, path), "wb") as handle:
            handle.write(text.encode("utf-8", "surrogateescape"))


def _fsync_dir(directory):
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def make_dirs(root, directory, mode=None):
    """
    Create the in-root ``directory`` and its missing parents (resolved inside
    ``root``), each chmod-ed explicitly (the process umask, 027 or 077 on
    hardened hosts, never decides): to ``mode``, or with ``None`` to its
    parent's mode (the convention of the tree it joins, e.g. a 0700 /etc/ssh
    gets a 0700 sshd_config.d).
    """
    real = host_path(root, directory)
    missing = []
    while not os.path.isdir(real):
        missing.append(real)
        parent = os.path.dirname(real)
        if parent == real:
            break
        real = parent
    for path in reversed(missing):
        parent_mode = stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode)
        os.mkdir(path, 0o700)
        os.chmod(path, parent_mode if mode is None else mode)


def _replace(real, data, mode, uid, gid):
    """Write ``data`` to a temporary file beside ``real``, fsync it, rename it over ``real``."""
    directory = os.path.dirname(real)
    handle, tmp = tempfile.mkstemp(prefix=".idlelock-", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fchmod(out.fileno(), mode)
            os.fchown(out.fileno(), uid, gid)
            os.fsync(out.fileno())
        os.rename(tmp, real)  # replaces a symlink itself, never its target
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def file_mode(root, path):
    """``(mode, uid, gid)`` of the in-root regular file at ``path`` (through
    symlinks, inside ``root``), or ``None`` when there is none; anything but a
    regular file raises :class:`NotRegular`."""
    try:
        info = os.lstat(host_path(root, path))
    except (FileNotFoundError, NotADirectoryError):
        return None
    _check_regular(path, info)
    return stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid


def write_atomic(root, path, data, mode, new_mode, dir_mode):
    """
    Replace an in-root file with ``data`` (bytes) atomically.

    A symlink is written through to its target, resolved inside ``root``
    exactly as :func:`read_bytes` resolves it. An existing file keeps its
    owner and mode, unless ``mode`` is not ``None``: then it becomes root-owned with
    that mode (idlelock's own shell files must be readable by every user,
    whatever an older copy had). A new file is root-owned with ``mode`` or
    ``new_mode``; missing directories are made by :func:`make_dirs` with
    ``dir_mode``. The data reaches the disk before the rename, so a crash
    leaves either the old file or the new one.
    """
    real = host_path(root, path)
    keep = file_mode(root, path)
    if keep is None:
        keep = new_mode, 0, 0
        make_dirs(root, posixpath.dirname(resolve(root, path)[0]), dir_mode)
    _replace(real, data, *((mode, 0, 0) if mode is not None else keep))


class Transaction:
    """
    Files replaced so far in one run, with their old bytes, owner and mode, so
    that all of them can be put back. Use :func:`all_or_nothing`.
    """

    def __init__(self, root):
        self.root = root
        self.saved = []  # (in-root path, old bytes or None, (mode, uid, gid) or None)
        self.aside = []  # (parked host path, host path) of files being deleted

    def write(self, texts, modes=None, *, new_mode, dir_mode):
        """
        Replace every file of ``{in-root path: text}``; a ``None`` text deletes
        that file (the entry itself, a symlink included): it is moved aside in
        its directory and unlinked by :meth:`commit`, so a rollback moves it back
        with its owner, mode and inode untouched.

        ``modes`` (``{in-root path: mode}``) forces those files root-owned with
        that mode; ``new_mode`` and ``dir_mode`` are for new files and
        directories (see :func:`write_atomic`), with no default: the caller
        knows the tree it writes into (:func:`write_all` has idlelock's).
        """
        modes = modes or {}
        for path, text in texts.items():
            if text is None:
                real = resolve(self.root, path, follow=False)[1]
                if os.path.lexists(real):
                    directory, name = os.path.split(real)
                    parked = os.path.join(directory, f".{name}.idlelock-removing")
                    os.rename(real, parked)
                    self.aside.append((parked, real))
                continue
            # Saved before the write: a signal between the rename and the
            # bookkeeping must still find the old bytes, owner and mode.
            self.saved.append((path, read_bytes(self.root, path),
                               file_mode(self.root, path)))
            write_atomic(self.root, path, text.encode("utf-8", "surrogateescape"),
                         modes.get(path), new_mode, dir_mode)

    def rollback(self):
        """Put every file back; return ``["path: why"]`` for those that could not be."""
        failures = []
        for path, old, owner_mode in reversed(self.saved):
            try:
                if read_bytes(self.root, path) == old and \
                        file_mode(self.root, path) == owner_mode:
                    continue
                if old is None:
                    os.unlink(host_path(self.root, path))
                else:
                    _replace(host_path(self.root, path), old, *owner_mode)
            except (OSError, ProbeError) as exc:
                failures.append(f"{path}: {getattr(exc, 'strerror', None) or exc}")
        for parked, real in reversed(self.aside):
            try:
                os.rename(parked, real)
            except OSError as exc:
                failures.append(f"{real}: {exc.strerror}")
        self.saved, self.aside = [], []
        return failures

    def commit(self):
        """Unlink the files :meth:`write` deleted (moved aside until now)."""
        for parked, _ in self.aside:
            os.unlink(parked)
        self.aside = []


@contextlib.contextmanager
def all_or_nothing(root):
    """
    Yield a :class:`Transaction`; on any exception, SIGTERM included, every
    file it wrote gets its old bytes, owner and mode back (new files are
    removed) before the exception goes on. When a restore itself fails,
    :class:`RestoreFailed` names the files left changed. A SIGTERM is
    delivered again, to the handler that was there before, once the files are
    back; one that arrives during the restore waits for it to finish.
    """
    txn = Transaction(root)
    state = {"restoring": False, "pending": False}

    def on_sigterm(signum, frame):  # noqa: ARG001 (signal handler signature)
        if state["restoring"]:
            state["pending"] = True
        else:
            raise Terminated(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread: exceptions still roll back
        previous = None
    try:
        yield txn
        txn.commit()
    except BaseException as exc:
        state["restoring"] = True
        state["pending"] |= isinstance(exc, Terminated)
        failures = txn.rollback()
        if failures:
            message = (f"{exc}; restoring the old files FAILED for {'; '.join(failures)}: "
                       "those files hold idlelock's new text, fix them by hand")
            log.error("idlelock: %s", message)  # a SIGTERM ends the run before any return
            raise RestoreFailed(message) from exc
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
            if state["pending"]:
                signal.raise_signal(signal.SIGTERM)


def write_all(root, texts, modes=None, new_mode=0o644, dir_mode=0o755):
    """
    Write every file of ``{in-root path: text}``, or none of them.

    ``modes``, ``new_mode`` and ``dir_mode`` as for :meth:`Transaction.write`.
    A ``None`` text deletes that file. When one write fails (or anything else
    goes wrong, SIGTERM included), the files already written get their old
    bytes, owner and mode back, new files are removed and deleted ones come
    back (see :class:`Transaction`) before the error is raised.
    """
    with all_or_nothing(root) as txn:
        txn.write(texts, modes, new_mode=new_mode, dir_mode=dir_mode)


# ---------------------------------------------------------------- one run per root
@contextlib.contextmanager
def root_lock(lock_dir, root, timeout=None):
    """
    Hold the exclusive lock of ``root`` (keyed by its real path) for the read,
    prove and write of one run; wait at most ``timeout`` s (``LOCK_TIMEOUT``).

    The lock file holds the holder's PID, so a run that gives up says which
    process it waited for. Raises :class:`Busy`.
    """
    timeout = LOCK_TIMEOUT if timeout is None else timeout
    real = os.path.realpath(root or "/")
    os.makedirs(lock_dir, mode=0o700, exist_ok=True)
    path = os.path.join(lock_dir, hashlib.sha256(os.fsencode(real)).hexdigest()[:32] + ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
                    raise Busy(f"another idlelock run (PID {holder}) is changing root {real}; "
                               f"waited {timeout} s for it (lock {path})") from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


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
# Interactive non-login bash (`sudo -s`, `su` without `-`, a terminal emulator)
# reads the system bashrc, never /etc/profile.d: probed as a shell of its own.
NON_LOGIN_BASH = "bash -i"
_PROBE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Who a probe runs as: ``(uid, gid, supplementary gids)``; ``None`` is this
# process (root). The unprivileged probes use the kernel's overflow id 65534
# (``nobody`` on Debian, RedHat and SUSE) through ``chroot --userspec`` in the
# child, rather than a throwaway account: no account database is written, the
# numbers need no passwd entry in an image, and a member of any group is that
# id with the group's gid added, which is what a login's initgroups() gives
# and what ``id -Gn`` (the exempt test of the profile file) reads.
UNPRIVILEGED = 65534
ROOT = None


def installed_shells(root):
    """``{name: (in-root path, family)}`` of the login shells present in ``root``."""
    found = {}
    for name, (path, family) in LOGIN_SHELLS.items():
        for candidate in (path, "/usr" + path):
            if os.access(host_path(root, candidate), os.X_OK):
                found[name] = (candidate, family)
                break
    return found


def _overlay_mounts(root, candidate, scratch, modes=None):
    """
    Shell commands that show ``candidate`` ({in-root path: text}) over ``root``.

    Each top-level directory that holds a candidate (``/etc``) gets an overlay
    whose upper layer holds the candidate files, so the shell reads them with
    everything else in that directory unchanged. A candidate file gets the
    mode it will be written with (``modes``, else its current one, else 0644)
    and each directory its real mode (0755 where it does not exist yet), so an
    unprivileged probe reads them as it will read the written files.
    Returns the commands; the caller runs them in a private mount namespace,
    where they vanish with it.
    """
    tops = {}
    for path, text in candidate.items():
        top = "/" + path.lstrip("/").split("/", 1)[0]
        upper = os.path.join(scratch, top.strip("/"), "upper")
        relative = path.lstrip("/").split("/", 1)[1]
        target = os.path.join(upper, relative)
        _copy_dir_modes(host_path(root, top), upper, os.path.dirname(relative))
        with open(target, "wb") as handle:
            handle.write(text.encode("utf-8", "surrogateescape"))
        os.chmod(target, (modes or {}).get(path) or _candidate_mode(root, path))
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


def _copy_dir_modes(lower, upper, relative):
    """
    Make ``upper/relative`` with each directory's mode as in ``lower`` (0755 where
    ``lower`` has none yet: what ``write_atomic`` creates), so the overlay shows
    an unprivileged probe the directory modes the real files will have.
    """
    os.makedirs(upper, exist_ok=True)
    os.chmod(upper, stat.S_IMODE(os.stat(lower).st_mode) if os.path.isdir(lower) else 0o755)
    here, there = upper, lower
    for part in [p for p in relative.split("/") if p]:
        here, there = os.path.join(here, part), os.path.join(there, part)
        os.makedirs(here, exist_ok=True)
        os.chmod(here, stat.S_IMODE(os.stat(there).st_mode) if os.path.isdir(there) else 0o755)


def _candidate_mode(root, path):
    """The mode a candidate file will have once written: its own, or 0644 when new."""
    try:
        return stat.S_IMODE(os.stat(host_path(root, path)).st_mode)
    except OSError:
        return 0o644


def _as_identity(identity, root, home):
    """The ``chroot --userspec`` prefix that runs a command as ``identity`` in ``root``."""
    if identity is ROOT:
        return ["chroot", root] if root not in ("", "/") else []
    uid, gid, groups = identity
    return ["chroot", f"--userspec={uid}:{gid}",
            "--groups=" + ",".join(str(g) for g in (gid, *groups)), host_path(root, "/")]


def probe_login_shells(root, shells, scripts, candidate=None, files=(), identities=(ROOT,),
                       modes=None):
    """
    Run each shell in ``root`` as each identity; return ``{(identity, name): (stdout, stderr)}``.

    ``files``, every start-up file the shells may read, lets unchanged files be
    answered once per process (never a ``candidate``).

    ``shells`` is ``installed_shells(root)``, plus ``NON_LOGIN_BASH`` for an
    interactive non-login bash; ``scripts`` maps a family (``sh``, ``csh``) to
    the commands a shell runs after its start-up files. ``identities`` are
    ``ROOT`` (this process) or ``(uid, gid, supplementary gids)``. The shells
    run interactive where they allow it (so they read what an interactive
    login reads), with an empty environment and an empty HOME of their own,
    so that only the system files count.

    With ``candidate`` ({in-root path: text}) the shells see those files
    instead of the ones on disk, through an overlay in a private mount
    namespace: a what-if that writes nothing outside a scratch directory.
    ``modes`` are the forced modes the candidate files will be written with
    (see ``write_all``). Raises ProbeError when that namespace cannot be made
    (no CAP_SYS_ADMIN).
    """
    identities = tuple(identities)
    if files and not candidate:
        key = ("shells", root, tuple(sorted(shells.items())), tuple(sorted(scripts.items())),
               identities, file_identity(root, files))
        # Recorded as JSON: a list of [identity, shell, stdout, stderr] rows.
        rows = _once(key, lambda: [[identity, name, *output] for (identity, name), output
                                   in probe_login_shells(root, shells, scripts,
                                                         identities=identities).items()])
        return {(tuple(identity[:2]) + (tuple(identity[2]),) if identity else identity,
                 name): (stdout, stderr) for identity, name, stdout, stderr in rows}
    results, started = {}, {}
    with tempfile.TemporaryDirectory(prefix="idlelock-overlay-") as scratch, \
            stage_dir(root) as stage:
        try:
            # All shells start at once: each spends its time reading start-up
            # files, so a run waits for the slowest login rather than for the sum.
            # Each identity's empty HOME is its own; the users may only pass through.
            os.chmod(host_path(root, stage), 0o711)
            for number, identity in enumerate(identities):
                home = f"{stage}/{number}"
                os.mkdir(host_path(root, home), 0o700)
                if identity is not ROOT:
                    os.chown(host_path(root, home), identity[0], identity[1])
                for name, (path, family) in shells.items():
                    key = (identity, name)
                    # Each shell gets its own overlay: two live overlays cannot
                    # share an upper or work directory.
                    mounts = (_overlay_mounts(root, candidate,
                                              os.path.join(scratch, f"{number}-{name}"), modes)
                              if candidate else [])
                    args = ["-i"] if name == NON_LOGIN_BASH else _SHELL_ARGS.get(
                        name, ["-l", "-i"])
                    command = _as_identity(identity, root, home) + [path] + args
                    if mounts:
                        command = ["unshare", "--mount", "--propagation", "private", "sh",
                                   "-c", " && ".join(mounts + ['exec "$@"']),
                                   "idlelock"] + command
                    try:
                        # The environment is given here rather than by `env -i`:
                        # one process fewer per shell, the same environment.
                        started[key] = subprocess.Popen(
                            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            # Bytes as read_text reads files: a start-up file that
                            # prints invalid UTF-8 (or a cut multibyte name in an
                            # error) must not fail the probe.
                            stderr=subprocess.PIPE, encoding="utf-8",
                            errors="surrogateescape", cwd=host_path(root, home),
                            env={"HOME": home, "TERM": "dumb", "PATH": _PROBE_PATH,
                                 "SHELL": path})
                    except FileNotFoundError as exc:
                        raise ProbeError(f"cannot run {command[0]}: {exc.strerror}") from None
            deadline = time.monotonic() + PROBE_TIMEOUT
            for (identity, name), proc in started.items():
                try:
                    stdout, stderr = proc.communicate(
                        scripts[shells[name][1]], timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    raise ProbeError(
                        f"a {name} login did not finish in {PROBE_TIMEOUT} s") from None
                if candidate and proc.returncode != 0 and "IDLELOCK" not in stdout:
                    raise ProbeError(f"cannot run {name} for the probe: "
                                     f"{stderr.strip()[-300:]}")
                results[(identity, name)] = (stdout, stderr)
        finally:
            for proc in started.values():  # the ones an error above left running
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    return results


def unreadable(root, paths):
    """
    ``[(in-root path, mode)]`` among ``paths`` and their directories that a
    regular user cannot read: a file without ``o+r``, a directory without
    ``o+rx`` (bash skips such files silently: docs/how-idle-sessions-end.md §2).
    """
    found, seen = [], set()
    for path in paths:
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts) + 1):
            current = "/" + "/".join(parts[:depth])
            if current in seen:
                continue
            seen.add(current)
            try:
                info = os.stat(host_path(root, current))
            except (OSError, ProbeError):
                break
            need = 0o005 if stat.S_ISDIR(info.st_mode) else 0o004
            if info.st_mode & need != need:
                found.append((current, stat.S_IMODE(info.st_mode)))
                break
    return found


def write_backups(root, backups):
    """
    Make each backup ``{in-root backup path: (in-root source path, bytes)}`` hold
    exactly ``bytes``, with the source's owner and mode.

    A backup that already holds them is kept. Anything else at the backup path
    (a truncated copy from a full disk, an older text, a symlink) is replaced
    through a temporary file and a rename: the rename replaces a symlink itself,
    so its target, perhaps outside ``root``, is never written.
    """
    for backup, (source, data) in backups.items():
        real = resolve(root, backup, follow=False)[1]
        try:
            info = os.lstat(real)
        except FileNotFoundError:
            info = None
        if info is not None and stat.S_ISREG(info.st_mode) and info.st_size == len(data) \
                and read_bytes(root, backup) == data:
            continue
        check_own(root, backup, f"where idlelock keeps the original of {source}", replaced=True)
        origin = os.stat(host_path(root, source))
        _replace(real, data, stat.S_IMODE(origin.st_mode), origin.st_uid, origin.st_gid)


def printable(value):
    """
    ``value`` (str, list, tuple, dict) with every byte that is not UTF-8 shown as
    ``\\xNN``: what is returned to Salt must serialise, while the files keep
    their bytes (they decode with surrogateescape).
    """
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if isinstance(value, dict):
        return {printable(key): printable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(printable(item) for item in value)
    return value


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
