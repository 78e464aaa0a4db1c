"""The I/O layer on a real disk: atomic writes, ownership, symlinks, rollback, chroot paths."""

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time

import pytest

import idlelock_system as system


def test_write_all_restores_everything_when_one_write_fails(tmp_path):
    first = tmp_path / "first.conf"
    first.write_text("old\n")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")

    with pytest.raises(OSError):
        system.write_all("/", {str(first): "new\n", str(blocker / "second.conf"): "x\n",
                               str(tmp_path / "third.conf"): "y\n"})

    assert first.read_text() == "old\n"
    assert not (tmp_path / "third.conf").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first.conf", "not-a-dir"]


def test_new_file_created_by_a_failed_transaction_is_removed(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError):
        system.write_all("/", {str(tmp_path / "new.conf"): "a\n", str(blocker / "x"): "b\n"})
    assert not (tmp_path / "new.conf").exists()


def test_symlink_is_written_through_and_stays_a_link(tmp_path):
    target = tmp_path / "real" / "sshd_config"
    target.parent.mkdir()
    target.write_text("old\n")
    os.chmod(target, 0o640)
    link = tmp_path / "sshd_config"
    link.symlink_to("real/sshd_config")

    system.write_all("/", {str(link): "new\n"})

    assert link.is_symlink() and target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_paths_resolve_inside_a_root(tmp_path):
    (tmp_path / "etc" / "ssh").mkdir(parents=True)
    (tmp_path / "etc" / "ssh" / "a.conf").write_text("x")
    (tmp_path / "etc" / "ssh" / "b.conf").write_text("y")
    link = tmp_path / "etc" / "ssh" / "sshd_config"
    link.symlink_to("/etc/ssh/a.conf")  # absolute: means <root>/etc/ssh/a.conf inside the image

    assert system.expand_glob(str(tmp_path), "/etc/ssh/*.conf") == ["/etc/ssh/a.conf", "/etc/ssh/b.conf"]
    assert system.resolve(str(tmp_path), "/etc/ssh/sshd_config")[0] == "/etc/ssh/a.conf"
    system.write_all(str(tmp_path), {"/etc/ssh/sshd_config": "z"})
    assert (tmp_path / "etc" / "ssh" / "a.conf").read_text() == "z"
    assert link.is_symlink()


def test_a_root_that_is_not_a_directory_is_refused(tmp_path):
    missing = str(tmp_path / "missing")
    with pytest.raises(system.ProbeError) as refused:
        system.check_root(missing)
    assert str(refused.value) == (f"root {missing!r} is not a directory (expected a mounted "
                                  "image or chroot)")


@pytest.mark.parametrize("root", ["/", "image"])
def test_a_root_without_the_sshd_binary_is_refused_by_name(tmp_path, root):
    root = str(tmp_path) if root == "image" else root
    where = f"root {root}" if root == str(tmp_path) else "this system"
    with pytest.raises(system.ProbeError) as refused:
        system.check_root(root, "/usr/sbin/idlelock-no-such-sshd")
    assert str(refused.value) == (
        f"no sshd at /usr/sbin/idlelock-no-such-sshd in {where}: install openssh-server there, "
        "set sshd:binary, or set sshd:enabled to false")


def test_the_sshd_binary_is_looked_for_inside_the_root(tmp_path):
    binary = "/idlelock-test-only/sshd"  # in the image, on no host
    (tmp_path / "idlelock-test-only").mkdir()
    (tmp_path / "idlelock-test-only" / "sshd").write_bytes(b"")
    system.check_root(str(tmp_path), binary)
    system.check_root(str(tmp_path))  # no binary asked: only the directory
    with pytest.raises(system.ProbeError, match=f"no sshd at {binary} in this system"):
        system.check_root("/", binary)


# ---------------------------------------------------------------- confinement
def test_resolution_follows_symlinks_inside_the_root_and_refuses_escapes(tmp_path):
    root = tmp_path / "image"
    (root / "etc" / "ssh").mkdir(parents=True)
    (root / "etc" / "alt").mkdir()
    (root / "etc" / "ssh" / "d").symlink_to("/etc/alt")  # absolute: inside the image
    (root / "etc" / "ssh" / "up").symlink_to("../../..")  # climbs past the image's /
    image = str(root)

    assert system.resolve(image, "/etc/ssh/d/x.conf") == ("/etc/alt/x.conf",
                                                         f"{root}/etc/alt/x.conf")
    assert system.resolve(image, "/etc/ssh/../ssh/./d")[0] == "/etc/alt"
    assert system.resolve(image, "/etc/ssh/d", follow=False)[0] == "/etc/ssh/d"
    for escape in ("/../etc", "/etc/../../x", "/etc/ssh/up/x"):
        with pytest.raises(system.OutsideRoot, match="leads out of root"):
            system.resolve(image, escape)
    # On the running system '..' above / is / itself, as for the kernel.
    assert system.resolve("/", "/../etc/../etc/ssh")[0] == "/etc/ssh"


def test_a_symlink_loop_is_an_error_not_a_hang(tmp_path):
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(system.ProbeError, match="too many levels"):
        system.resolve(str(tmp_path), "/a")


def test_escapes_are_refused_by_name_and_through_which_symlink(tmp_path):
    root = tmp_path / "image"
    (root / "etc" / "ssh").mkdir(parents=True)
    (root / "etc" / "ssh" / "up").symlink_to("../../..")
    refused = []
    for escape in ("/../etc", "/etc/ssh/up/x"):
        with pytest.raises(system.OutsideRoot) as caught:
            system.resolve(str(root), escape)
        refused.append(str(caught.value))
    assert refused == [f"/../etc leads out of root {root}: refused",
                       f"/etc/ssh/up/x leads out of root {root} (through the symlink "
                       "/etc/ssh/up -> ../../..): refused"]


def test_a_dot_is_no_directory_before_a_dot_dot(tmp_path):
    # "a/./.." is "a/.." is "": the kernel's reading, in a path and in a symlink's target.
    (tmp_path / "etc" / "ssh").mkdir(parents=True)
    (tmp_path / "etc" / "ssh" / "link").symlink_to("./../issue")
    assert system.resolve(str(tmp_path), "/etc/ssh/./../issue")[0] == "/etc/issue"
    assert system.resolve(str(tmp_path), "/etc/ssh/link") == ("/etc/issue",
                                                              f"{tmp_path}/etc/issue")


def test_forty_symlinks_are_followed_as_the_kernel_does_and_one_more_is_refused(tmp_path):
    # Linux follows at most 40 symlinks in one lookup (MAXSYMLINKS, path_resolution(7)).
    (tmp_path / "file").write_bytes(b"")
    for n in range(41):
        (tmp_path / f"l{n}").symlink_to(f"l{n + 1}" if n < 40 else "file")
    assert system.resolve(str(tmp_path), "/l1")[0] == "/file"  # 40 links: l1 .. l40
    with pytest.raises(system.ProbeError) as caught:
        system.resolve(str(tmp_path), "/l0")
    assert str(caught.value) == "/l0: too many levels of symbolic links"


def test_an_empty_root_is_this_system_whatever_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert system.resolve("", "/etc/../etc/ssh") == ("/etc/ssh", "/etc/ssh")


def test_glob_hides_dotfiles_and_sorts_by_bytes_like_glob3(tmp_path):
    directory = tmp_path / "d"
    directory.mkdir()
    for name in ("b.conf", "B.conf", ".hidden.conf", "a.conf", "\u00e9.conf", "z.txt"):
        (directory / name).write_text("")
    assert system.expand_glob(str(tmp_path), "/d/*.conf") == [
        "/d/B.conf", "/d/a.conf", "/d/b.conf", "/d/\u00e9.conf"]
    assert system.expand_glob(str(tmp_path), "/d/.*.conf") == ["/d/.hidden.conf"]
    assert system.expand_glob(str(tmp_path), "/*/[!ab].conf") == ["/d/B.conf", "/d/\u00e9.conf"]
    assert system.expand_glob(str(tmp_path), "/d/z.txt") == ["/d/z.txt"]
    assert system.expand_glob(str(tmp_path), "/missing/*.conf") == []


def test_glob_goes_on_past_a_base_that_is_no_directory_and_keeps_every_match(tmp_path):
    for name in ("a", "c"):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.conf").write_text("")
    (tmp_path / "b").write_text("")  # matches "*", then cannot be listed
    assert system.expand_glob(str(tmp_path), "/*/*.conf") == ["/a/a.conf", "/c/c.conf"]


def test_glob_sorts_bytes_that_are_not_utf8_as_glob3_does(tmp_path):
    # "\xff" (decoded as U+DCFF) sorts after U+FF41 as text, before it as bytes
    # (0xEF 0xBD 0x81 < 0xFF): sshd reads the files in byte order.
    directory = tmp_path / "d"
    directory.mkdir()
    for name in (b"\xff.conf", "\uff41.conf".encode()):
        (directory / os.fsdecode(name)).write_text("")
    assert system.expand_glob(str(tmp_path), "/d/*.conf") == [
        "/d/\uff41.conf", "/d/" + os.fsdecode(b"\xff.conf")]


def test_glob_keeps_a_dangling_symlink_as_glob3_does(tmp_path):
    directory = tmp_path / "d"
    directory.mkdir()
    (directory / "x.conf").symlink_to("/nonexistent-idlelock-target")
    assert system.expand_glob(str(tmp_path), "/d/*.conf") == ["/d/x.conf"]


def test_is_dir_looks_inside_the_root(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "file").write_text("")
    (tmp_path / "link").symlink_to("/sub")  # absolute: starts again at the root
    assert system.is_dir(str(tmp_path), "/sub") is True
    assert system.is_dir(str(tmp_path), "/link") is True
    assert system.is_dir(str(tmp_path), "/file") is False
    assert system.is_dir(str(tmp_path), "/missing") is False


# ---------------------------------------------------------------- reading
def test_bytes_that_are_not_utf8_survive_a_read_and_a_rewrite(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"# caf\xe9\r\n\x85\fx\n")
    text = system.read_text("/", str(path))
    system.write_all("/", {str(path): text + "y\n"})
    assert path.read_bytes() == b"# caf\xe9\r\n\x85\fx\ny\n"
    assert system.printable(text) == "# caf\\xe9\r\n\\x85\fx\n"


def test_reads_are_bounded_in_size(tmp_path, monkeypatch):
    monkeypatch.setattr(system, "MAX_FILE_BYTES", 10)
    (tmp_path / "big").write_bytes(b"x" * 11)
    with pytest.raises(system.ProbeError, match="larger than 10 bytes"):
        system.read_text("/", str(tmp_path / "big"))


def test_a_fifo_is_refused_without_being_opened(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(system.NotRegular, match="is a FIFO"):
        system.read_text("/", str(tmp_path / "pipe"))  # an open for reading would block
    with pytest.raises(system.NotRegular, match="is a FIFO"):
        system.write_all("/", {str(tmp_path / "pipe"): "x"})


# ---------------------------------------------------------------- all or nothing
def test_any_exception_rolls_back_even_keyboard_interrupt(tmp_path):
    old = tmp_path / "old"
    old.write_bytes(b"before\n")
    with pytest.raises(KeyboardInterrupt):
        with system.all_or_nothing("/") as txn:
            txn.write({str(old): "after\n", str(tmp_path / "new"): "x\n"},
                      new_mode=0o644, dir_mode=0o755)
            raise KeyboardInterrupt
    assert old.read_bytes() == b"before\n" and not (tmp_path / "new").exists()


def test_sigterm_rolls_back_then_reaches_the_previous_handler(tmp_path):
    old = tmp_path / "old"
    old.write_bytes(b"before\n")
    seen = []

    def handler(signum, frame):
        seen.append(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        with pytest.raises(system.Terminated):
            with system.all_or_nothing("/") as txn:
                txn.write({str(old): "after\n"}, new_mode=0o644, dir_mode=0o755)
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # the handler interrupts this
        assert old.read_bytes() == b"before\n"
        assert seen == [signal.SIGTERM], "the handler that was there before gets the signal"
        assert signal.getsignal(signal.SIGTERM) is handler, "and is in place again"
    finally:
        signal.signal(signal.SIGTERM, previous)


# ---------------------------------------------------------------- one run per root
def test_a_busy_root_names_the_process_that_holds_it(tmp_path):
    # The holder imports the very module under test (mutation testing runs a copy elsewhere).
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            sys.path.insert(0, {os.path.dirname(system.__file__)!r})
            import idlelock_system
            with idlelock_system.root_lock({str(tmp_path)!r}, "/mnt/image"):
                print("held", flush=True)
                time.sleep(30)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(system.Busy, match=f"another idlelock run \\(PID {holder.pid}\\) "
                                              "is changing root /mnt/image; waited 0.2 s"):
            with system.root_lock(str(tmp_path), "/mnt/image", timeout=0.2):
                pass
        with system.root_lock(str(tmp_path), "/mnt/other", timeout=0.2):
            pass  # another root: no wait
    finally:
        holder.kill()
        holder.wait()
    with system.root_lock(str(tmp_path), "/mnt/image", timeout=5):
        pass  # the kernel released the dead holder's lock


# ---------------------------------------------------------------- modes
def mode_of(path):
    info = os.stat(path)
    return f"{stat.S_IMODE(info.st_mode):04o} {info.st_uid}:{info.st_gid}"


def test_forced_modes_and_new_directories_ignore_the_umask(tmp_path):
    old = tmp_path / "profile.d" / "idlelock.sh"
    old.parent.mkdir()
    old.write_text("old\n")
    os.chmod(old, 0o600)
    os.chown(old, 65534, 65534)
    new = tmp_path / "csh" / "login.d" / "idlelock.csh"
    previous = os.umask(0o077)
    try:
        system.write_all("/", {str(old): "new\n", str(new): "x\n"},
                         modes={str(old): 0o644, str(new): 0o644})
    finally:
        os.umask(previous)
    # Every user's shell must read them: root-owned 0644, whatever the older copy had.
    assert mode_of(old) == "0644 0:0" and mode_of(new) == "0644 0:0"
    assert mode_of(new.parent) == "0755 0:0" and mode_of(new.parent.parent) == "0755 0:0"


def test_new_directories_can_take_their_parents_mode(tmp_path):
    parent = tmp_path / "ssh"
    parent.mkdir()
    os.chmod(parent, 0o700)
    target = parent / "sshd_config.d" / "00-idlelock.conf"
    system.write_all("/", {str(target): "x\n"}, new_mode=0o600, dir_mode=None)
    assert mode_of(target.parent) == "0700 0:0" and mode_of(target) == "0600 0:0"


def test_a_failed_transaction_gives_forced_files_their_old_mode_back(tmp_path):
    old = tmp_path / "idlelock.sh"
    old.write_text("old\n")
    os.chmod(old, 0o600)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(OSError):
        system.write_all("/", {str(old): "new\n", str(blocker / "x"): "y\n"},
                         modes={str(old): 0o644})
    assert old.read_text() == "old\n" and mode_of(old) == "0600 0:0"


def test_unreadable_names_the_first_file_or_directory_users_cannot_read(tmp_path):
    directory = tmp_path / "profile.d"
    directory.mkdir()
    (directory / "a.sh").write_text("")
    (directory / "b.sh").write_text("")
    os.chmod(directory / "b.sh", 0o600)
    root = str(tmp_path)  # in-root paths: the test's own parents are 0700
    assert system.unreadable(root, ["/profile.d/a.sh", "/profile.d/b.sh"]) == [
        ("/profile.d/b.sh", 0o600)]
    os.chmod(directory, 0o700)
    assert system.unreadable(root, ["/profile.d/a.sh"]) == [("/profile.d", 0o700)]


@pytest.mark.parametrize("text", ["new\n", "old\n"])  # "old\n": a rewrite for the mode alone
def test_any_exception_gives_forced_files_their_old_owner_and_mode_back(tmp_path, text):
    old = tmp_path / "idlelock.sh"
    old.write_text("old\n")
    os.chmod(old, 0o600)
    os.chown(old, 65534, 65534)
    with pytest.raises(KeyboardInterrupt):
        with system.all_or_nothing("/") as txn:
            txn.write({str(old): text}, modes={str(old): 0o644}, new_mode=0o644,
                      dir_mode=0o755)
            assert mode_of(old) == "0644 0:0"
            raise KeyboardInterrupt
    assert old.read_text() == "old\n" and mode_of(old) == "0600 65534:65534"
