"""
The write path's smaller pieces on a real disk: scratch files, backups kept
once, and an interrupted atomic write that leaves no temp file behind.
"""

import os

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
        system.write_atomic("/", str(target), "text, not bytes")
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["sshd_config"]
