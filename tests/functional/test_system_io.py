"""The I/O layer on a real disk: atomic writes, ownership, symlinks, rollback, chroot paths."""

import os
import stat

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
    assert system.resolve_symlinks(str(tmp_path), "/etc/ssh/sshd_config") == "/etc/ssh/a.conf"
    system.write_all(str(tmp_path), {"/etc/ssh/sshd_config": "z"})
    assert (tmp_path / "etc" / "ssh" / "a.conf").read_text() == "z"
    assert link.is_symlink()


def test_a_root_that_is_not_a_directory_is_refused(tmp_path):
    with pytest.raises(system.ProbeError, match="is not a directory"):
        system.check_root(str(tmp_path / "missing"))


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
