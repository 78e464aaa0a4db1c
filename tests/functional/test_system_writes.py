"""
The write path's smaller pieces on a real disk: scratch files, backups (kept
once, never written through a symlink), deletions and their rollback, new
files inside a root, and reads that are bounded and follow no symlink swapped in.
"""

import errno
import os
import re
import resource
import shutil
import signal
import stat

import pytest

import idlelock_system as system


def test_scratch_files_are_written_as_given(tmp_path):
    system.write_plain(str(tmp_path), {"/a.conf": "Kéy 1\n", "/b.conf": "x\udcff\n"})
    assert (tmp_path / "a.conf").read_bytes() == "Kéy 1\n".encode()
    assert (tmp_path / "b.conf").read_bytes() == b"x\xff\n"  # undecodable bytes survive


def test_a_backup_holding_its_bytes_is_kept_and_does_not_stop_the_next(tmp_path):
    (tmp_path / "real.sh").write_text("original\n")
    (tmp_path / "link.sh").symlink_to("real.sh")
    (tmp_path / "other.sh").write_text("other\n")
    system.write_backups(str(tmp_path), {"/link.sh.bak": ("/link.sh", b"original\n")})
    kept = (tmp_path / "link.sh.bak").stat().st_ino
    system.write_backups(str(tmp_path), {"/link.sh.bak": ("/link.sh", b"original\n"),
                                         "/other.sh.bak": ("/other.sh", b"other\n")})
    assert (tmp_path / "link.sh.bak").read_text() == "original\n"
    assert not (tmp_path / "link.sh.bak").is_symlink()
    assert (tmp_path / "link.sh.bak").stat().st_ino == kept, "a complete backup is not rewritten"
    assert (tmp_path / "other.sh.bak").read_text() == "other\n"


def test_a_new_file_is_root_owned_0644(tmp_path):
    system.write_all("/", {str(tmp_path / "new" / "00-idlelock.conf"): "x\n"})
    info = (tmp_path / "new" / "00-idlelock.conf").stat()
    assert (info.st_uid, info.st_gid, info.st_mode & 0o7777) == (0, 0, 0o644)


def test_undecodable_bytes_read_in_are_written_back_unchanged(tmp_path):
    system.write_all("/", {str(tmp_path / "f.conf"): "x\udcff\n"})
    assert (tmp_path / "f.conf").read_bytes() == b"x\xff\n"


def test_an_interrupted_atomic_write_leaves_the_file_and_no_temp(tmp_path):
    target = tmp_path / "sshd_config"
    target.write_text("old\n")
    with pytest.raises(TypeError):
        system.write_atomic("/", str(target), "text, not bytes", None, 0o644, 0o755)
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["sshd_config"]


def owner_mode(path):
    info = os.lstat(path)
    return f"{stat.S_IMODE(info.st_mode):04o} {info.st_uid}:{info.st_gid}"


mode_of = owner_mode


# ---------------------------------------------------------------- backups
BACKUP = {"/profile.sh.idlelock-orig": ("/profile.sh", b"original\n")}

@pytest.fixture
def source(tmp_path):
    """A hardened original, owned by another user: its backup must carry both."""
    path = tmp_path / "profile.sh"
    path.write_bytes(b"original\n")
    os.chmod(path, 0o640)
    os.chown(path, 65534, 65534)
    return path


@pytest.mark.parametrize("held", [b"someone else's file\n", b"original\n"])
def test_a_symlink_at_the_backup_path_is_replaced_never_written_through(tmp_path, source,
                                                                        held):
    # b"original\n": the link's target already holds the backup's bytes, and
    # the backup must still become a file of its own, not a link that another
    # change to the target would empty.
    victim = tmp_path / "victim"
    victim.write_bytes(held)
    backup = tmp_path / "profile.sh.idlelock-orig"
    backup.symlink_to(victim)
    system.write_backups(str(tmp_path), BACKUP)
    assert not backup.is_symlink() and backup.read_bytes() == b"original\n"
    assert owner_mode(backup) == "0640 65534:65534"
    assert victim.read_bytes() == held


def test_a_fifo_at_the_backup_path_is_replaced_without_being_opened(tmp_path, source):
    backup = tmp_path / "profile.sh.idlelock-orig"
    os.mkfifo(backup)
    system.write_backups(str(tmp_path), BACKUP)
    assert backup.read_bytes() == b"original\n" and owner_mode(backup) == "0640 65534:65534"


def test_a_directory_at_the_backup_path_is_refused_by_name(tmp_path, source):
    (tmp_path / "profile.sh.idlelock-orig").mkdir()
    with pytest.raises(system.NotRegular) as caught:
        system.write_backups(str(tmp_path), BACKUP)
    assert str(caught.value) == (
        "/profile.sh.idlelock-orig is a directory, not a regular file; it is where idlelock "
        "keeps the original of /profile.sh, which idlelock writes only in place of a regular "
        "file: move it away and run again")
    assert os.listdir(tmp_path / "profile.sh.idlelock-orig") == []


# ---------------------------------------------------------------- new files inside a root
def test_a_new_file_in_a_root_lands_there_with_its_new_directories(tmp_path):
    # /etc/ssh is an absolute symlink: inside the image it means <root>/srv/ssh.
    (tmp_path / "srv" / "ssh").mkdir(parents=True)
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "ssh").symlink_to("/srv/ssh")
    system.write_all(str(tmp_path), {"/etc/ssh/sshd_config.d/00-idlelock.conf": "x\n"})
    written = tmp_path / "srv" / "ssh" / "sshd_config.d" / "00-idlelock.conf"
    assert written.read_bytes() == b"x\n"
    assert owner_mode(written) == "0644 0:0" and owner_mode(written.parent) == "0755 0:0"
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == [
        "etc", "etc/ssh", "srv", "srv/ssh", "srv/ssh/sshd_config.d",
        "srv/ssh/sshd_config.d/00-idlelock.conf"]


# ---------------------------------------------------------------- deleting files
def test_deleting_removes_files_and_links_themselves_and_goes_on(tmp_path):
    target = tmp_path / "site.sh"
    target.write_bytes(b"# the site's own file\n")
    link = tmp_path / "profile.d" / "idlelock.sh"
    link.parent.mkdir()
    link.symlink_to(target)
    plain = tmp_path / "profile.d" / "idlelock.csh"
    plain.write_bytes(b"set autologout=5\n")
    system.write_all(str(tmp_path), {"/profile.d/idlelock.sh": None,
                                     "/profile.d/idlelock.csh": None,
                                     "/profile.d/never-there.sh": None,
                                     "/profile.d/after.sh": "after\n"})
    assert target.read_bytes() == b"# the site's own file\n", "the link's target is kept"
    assert sorted(os.listdir(link.parent)) == ["after.sh"]
    assert (link.parent / "after.sh").read_bytes() == b"after\n"


def test_a_file_being_deleted_waits_beside_itself_until_commit(tmp_path):
    # Killed before the commit (SIGKILL, power loss), the run leaves the file
    # next to where it was, under a name that says why, not in the process's
    # working directory.
    doomed = tmp_path / "etc" / "old.conf"
    doomed.parent.mkdir()
    doomed.write_bytes(b"old\n")
    with system.all_or_nothing(str(tmp_path)) as txn:
        txn.write({"/etc/old.conf": None}, new_mode=0o644, dir_mode=0o755)
        assert os.listdir(doomed.parent) == [".old.conf.idlelock-removing"]
        assert (doomed.parent / ".old.conf.idlelock-removing").read_bytes() == b"old\n"
    assert os.listdir(doomed.parent) == []


def test_a_failed_run_brings_deleted_files_back_untouched(tmp_path):
    kept = tmp_path / "idlelock.sh"
    kept.write_bytes(b"old\n")
    os.chmod(kept, 0o600)
    os.chown(kept, 65534, 65534)
    inode = kept.stat().st_ino
    link = tmp_path / "idlelock.csh"
    link.symlink_to("site.csh")  # dangling: a link is moved, never read
    blocker = tmp_path / "not-a-dir"
    blocker.write_bytes(b"")
    with pytest.raises(FileExistsError):  # not-a-dir is a file
        system.write_all("/", {str(kept): None, str(link): None, str(blocker / "x"): "y\n"})
    assert kept.read_bytes() == b"old\n" and owner_mode(kept) == "0600 65534:65534"
    assert kept.stat().st_ino == inode
    assert os.readlink(link) == "site.csh"
    assert sorted(os.listdir(tmp_path)) == ["idlelock.csh", "idlelock.sh", "not-a-dir"]


# ---------------------------------------------------------------- bounded, unfollowed reads
def test_a_special_file_is_refused_by_name(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(system.NotRegular) as caught:
        system.read_bytes(str(tmp_path), "/pipe")
    assert str(caught.value) == (
        "/pipe is a FIFO (named pipe), not a regular file: sshd and login shells cannot read it as "
        "configuration; remove it or rename it out of the pattern that matches it")


def test_the_size_bound_admits_its_limit_and_names_what_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(system, "MAX_FILE_BYTES", 10)
    (tmp_path / "limit").write_bytes(b"x" * 10)
    (tmp_path / "over").write_bytes(b"x" * 11)
    assert system.read_bytes(str(tmp_path), "/limit") == b"x" * 10
    with pytest.raises(system.ProbeError) as caught:
        system.read_bytes(str(tmp_path), "/over")
    assert str(caught.value) == ("/over is larger than 10 bytes: not a configuration file "
                                 "idlelock reads")


def test_a_sparse_disk_image_is_refused_without_being_loaded(tmp_path):
    # A stray 8 GiB disk image matched by a glob: the read stops after the
    # bound, it never asks for memory for the whole file. The child process
    # has 512 MiB of address space more than it uses.
    image = tmp_path / "disk.img"
    with open(image, "wb") as handle:
        handle.truncate(8 << 30)
    # Read in this process too (a file within the bound): mutmut runs a test
    # only for the functions it saw that test call, in the test's own process.
    (tmp_path / "small.conf").write_bytes(b"x" * 4096)
    assert system.read_bytes(str(tmp_path), "/small.conf") == b"x" * 4096
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (child)
        try:
            with open("/proc/self/statm") as statm:
                used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            resource.setrlimit(resource.RLIMIT_AS, (used + (512 << 20), resource.RLIM_INFINITY))
            system.read_bytes(str(tmp_path), "/disk.img")
            outcome = "read"
        except BaseException as exc:  # noqa: BLE001 (reported to the parent)
            outcome = f"{type(exc).__name__}: {exc}"
        os.write(writer, outcome.encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as answer:
        outcome = answer.read()
    os.waitpid(pid, 0)
    assert outcome == ("ProbeError: /disk.img is larger than 4194304 bytes: not a "
                       "configuration file idlelock reads")


@pytest.fixture
def swapped_before_open(monkeypatch):
    """Replace ``path`` with ``swap(path)`` after read_bytes checked it, right
    before it opens it: the race between its check and its open, made to
    happen every time."""
    def arm(path, swap):
        real_open = os.open

        def opening(name, *args, **kwargs):
            if os.fspath(name) == str(path):
                monkeypatch.setattr(os, "open", real_open)
                swap(path)
            return real_open(name, *args, **kwargs)
        monkeypatch.setattr(os, "open", opening)
    return arm


def test_a_fifo_swapped_in_after_the_check_does_not_block_the_read(tmp_path, swapped_before_open):
    def to_fifo(path):
        path.unlink()
        os.mkfifo(path)

    (tmp_path / "sshd_config").write_bytes(b"Port 22\n")
    swapped_before_open(tmp_path / "sshd_config", to_fifo)

    def stuck(signum, frame):
        raise AssertionError("the read blocked on a FIFO with no writer")

    previous = signal.signal(signal.SIGALRM, stuck)
    signal.setitimer(signal.ITIMER_REAL, 5)
    try:
        with pytest.raises(system.NotRegular) as caught:
            system.read_bytes(str(tmp_path), "/sshd_config")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert str(caught.value).startswith("/sshd_config is a FIFO (named pipe), not a regular file")


def test_a_symlink_swapped_in_after_the_check_is_not_followed(tmp_path, swapped_before_open):
    secret = tmp_path / "shadow"
    secret.write_bytes(b"root:$6$secret\n")

    def to_link(path):
        path.unlink()
        path.symlink_to(secret)

    (tmp_path / "sshd_config").write_bytes(b"Port 22\n")
    swapped_before_open(tmp_path / "sshd_config", to_link)
    with pytest.raises(OSError) as caught:
        system.read_bytes(str(tmp_path), "/sshd_config")
    assert caught.value.errno == errno.ELOOP


# ---------------------------------------------------------------- a restore that fails
def test_a_restore_that_fails_names_each_file_and_why(tmp_path, caplog):
    # Someone else changed the files during the run: the directory of one is
    # gone, a FIFO stands in place of another, the parked copy of a deleted
    # one vanished. The error names every file left changed, and why.
    gone = tmp_path / "gone" / "a.conf"
    gone.parent.mkdir()
    gone.write_bytes(b"old\n")
    fifo = tmp_path / "b.conf"
    fifo.write_bytes(b"old\n")
    deleted = tmp_path / "c.conf"
    deleted.write_bytes(b"old\n")
    with pytest.raises(system.RestoreFailed) as caught:
        with system.all_or_nothing("/") as txn:
            txn.write({str(gone): "new\n", str(fifo): "new\n", str(deleted): None},
                      new_mode=0o644, dir_mode=0o755)
            shutil.rmtree(gone.parent)
            fifo.unlink()
            os.mkfifo(fifo)
            os.unlink(tmp_path / ".c.conf.idlelock-removing")
            raise RuntimeError("sshd -t refused the new config")
    assert str(caught.value) == (
        f"sshd -t refused the new config; restoring the old files FAILED for {fifo}: {fifo} "
        "is a FIFO (named pipe), not a regular file: sshd and login shells cannot read it as "
        "configuration; remove it or rename it out of the pattern that matches it; "
        f"{gone}: No such file or directory; {deleted}: No such file or directory: those "
        "files hold idlelock's new text, fix them by hand")
    assert isinstance(caught.value.__cause__, RuntimeError)
    # Logged too: a SIGTERM ends the run before the error reaches anyone.
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("ERROR", f"idlelock: {caught.value}")]


# ---------------------------------------------------------------- idlelock's own files
def test_only_a_regular_file_or_nothing_stands_where_idlelock_writes_its_own(tmp_path):
    root = str(tmp_path)
    (tmp_path / "00-idlelock.conf").write_bytes(b"x\n")
    system.check_own(root, "/00-idlelock.conf", "idlelock's sshd drop-in")
    system.check_own(root, "/never-there.conf", "idlelock's sshd drop-in")
    (tmp_path / "link.conf").symlink_to("/etc/shadow")
    os.mkfifo(tmp_path / "pipe.conf")
    refused = {}
    for name in ("link.conf", "pipe.conf"):
        with pytest.raises(system.NotRegular) as caught:
            system.check_own(root, f"/{name}", "idlelock's sshd drop-in")
        refused[name] = str(caught.value)
        # A file idlelock renames a new copy over replaces either: nothing is
        # written through the link, nothing opens the FIFO.
        system.check_own(root, f"/{name}", "where idlelock keeps an original", replaced=True)
    tail = ("not a regular file; it is idlelock's sshd drop-in, which idlelock writes only "
            "in place of a regular file: move it away and run again")
    assert refused == {"link.conf": f"/link.conf is a symlink to /etc/shadow, {tail}",
                       "pipe.conf": f"/pipe.conf is a FIFO (named pipe), {tail}"}


def test_the_mode_of_a_special_file_is_refused_by_name(tmp_path):
    os.mkfifo(tmp_path / "sshd_config")
    with pytest.raises(system.NotRegular) as caught:
        system.file_mode(str(tmp_path), "/sshd_config")
    assert str(caught.value).startswith("/sshd_config is a FIFO (named pipe), not a regular file:")
    assert system.file_mode(str(tmp_path), "/never-there") is None
    assert system.read_text(str(tmp_path), "/never-there") is None


# ---------------------------------------------------------------- what a write shows meanwhile
def test_a_write_in_progress_is_a_hidden_file_beside_its_target(tmp_path, monkeypatch):
    # csh sources every file of /etc/csh/login.d but, like every glob, skips
    # dotfiles: a write cut short (power loss) must not leave a file there that
    # the next login runs. The data is in the directory before the rename.
    login_d = tmp_path / "csh" / "login.d"
    login_d.mkdir(parents=True)
    seen = []
    real_fsync = os.fsync

    def fsync(fd):
        seen.append(sorted(os.listdir(login_d)))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    system.write_all("/", {str(login_d / "idlelock"): "set autologout=5\n"})
    monkeypatch.undo()
    [pending], renamed = seen  # at the file's fsync, then at the directory's
    assert re.fullmatch(r"\.idlelock-[a-z0-9_]{8}", pending), pending
    assert renamed == ["idlelock"]
    assert os.listdir(login_d) == ["idlelock"]


def test_a_new_directory_is_never_open_to_others_before_its_chmod(tmp_path, monkeypatch):
    seen = {}
    real_chmod = os.chmod

    def chmod(path, mode, *args, **kwargs):
        seen[os.fspath(path)] = stat.S_IMODE(os.stat(path).st_mode)
        return real_chmod(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "chmod", chmod)
    previous = os.umask(0o022)
    try:
        system.write_all("/", {str(tmp_path / "a" / "b" / "f.conf"): "x\n"})
    finally:
        os.umask(previous)
    monkeypatch.undo()
    assert seen == {str(tmp_path / "a"): 0o700, str(tmp_path / "a" / "b"): 0o700}
    assert mode_of(tmp_path / "a") == mode_of(tmp_path / "a" / "b") == "0755 0:0"


def test_a_signal_right_after_the_rename_still_rolls_back(tmp_path, monkeypatch):
    # SIGTERM's handler raises between os.rename and the end of the write: the
    # temporary file is already gone, and the interrupt, not a cleanup error,
    # must reach all_or_nothing (which re-delivers a SIGTERM only as itself).
    target = tmp_path / "sshd_config"
    target.write_bytes(b"old\n")
    real_rename = os.rename

    def rename(src, dst, *args, **kwargs):
        real_rename(src, dst, *args, **kwargs)
        if os.fspath(dst) == str(target):
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        system.write_all("/", {str(target): "new\n"})
    monkeypatch.undo()
    assert target.read_bytes() == b"old\n" and os.listdir(tmp_path) == ["sshd_config"]
