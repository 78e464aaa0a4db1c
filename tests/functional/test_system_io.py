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
    assert system.resolve(str(tmp_path), "/etc/ssh/sshd_config")[0] == "/etc/ssh/a.conf"
    system.write_all(str(tmp_path), {"/etc/ssh/sshd_config": "z"})
    assert (tmp_path / "etc" / "ssh" / "a.conf").read_text() == "z"
    assert link.is_symlink()


def test_a_root_that_is_not_a_directory_is_refused(tmp_path):
    with pytest.raises(system.ProbeError, match="is not a directory"):
        system.check_root(str(tmp_path / "missing"))
