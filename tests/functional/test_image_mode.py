"""Image mode (``idlelock:root``): a root that is not a directory, or that has no sshd,
is refused with a message naming it, and nothing is created or written anywhere."""

import os

import pytest
from salt.exceptions import CommandExecutionError


@pytest.fixture(params=["missing", "file"])
def bad_root(request, tmp_path):
    """A root that does not exist, or is a regular file."""
    path = tmp_path / "image"
    if request.param == "file":
        path.write_text("not an image\n")
    return path


def test_a_root_that_is_not_a_directory_is_refused_everywhere(idlelock, bad_root, tmp_path):
    before = sorted(os.listdir(tmp_path))
    expected = f"idlelock:root '{bad_root}' is not a directory"

    for setter in (idlelock.set_sshd, idlelock.set_shell):
        ret = setter(root=str(bad_root), timeout=3)
        assert ret["result"] is False
        assert ret["comment"].startswith("Bad input, nothing changed: " + expected)
    report = idlelock.get(root=str(bad_root))
    assert report["error"].startswith(expected) and "shell" not in report
    with pytest.raises(CommandExecutionError, match="is not a directory"):
        idlelock.policy(root=str(bad_root))

    # get used to stage its shell probes inside the root, creating it on the host.
    assert sorted(os.listdir(tmp_path)) == before
    assert not bad_root.is_dir()


def test_a_root_without_sshd_is_refused_before_any_probe(idlelock, tmp_path):
    image = tmp_path / "image"
    (image / "etc" / "ssh").mkdir(parents=True)
    (image / "etc" / "ssh" / "sshd_config").write_text("ClientAliveInterval 10\n")

    ret = idlelock.set_sshd(root=str(image), timeout=3)

    assert ret["result"] is False
    assert ret["comment"] == (
        f"no sshd at /usr/sbin/sshd in root {image}: install openssh-server there, "
        "set sshd:binary, or set sshd:enabled to false; nothing was changed"
    )
    assert (image / "etc" / "ssh" / "sshd_config").read_text() == "ClientAliveInterval 10\n"
    assert sorted(p.name for p in image.rglob("*")) == ["etc", "ssh", "sshd_config"]
    assert idlelock.get(root=str(image))["error"].startswith("no sshd at /usr/sbin/sshd in root")
