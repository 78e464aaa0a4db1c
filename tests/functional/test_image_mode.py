"""Image mode (``idlelock:root``): a root that is not a directory, or that has no sshd,
is refused with a message naming it, and nothing is created or written anywhere."""

import os
import subprocess

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


def test_an_image_without_host_keys_is_hardened_with_a_throwaway_key(idlelock, tmp_path):
    """Issue 10 case 8 on a real Debian trixie image (OpenSSH 10.0) whose host keys are
    removed, as in an image before its first boot. The image is an overlay in a private mount
    namespace: the cached chroot is never written."""
    from tests.support.chroots import chroot_cache_dir, is_complete
    from tests.support.private_etc import run_with_etc

    image = chroot_cache_dir() / "trixie"
    if os.geteuid() != 0 or not is_complete(image):
        pytest.skip("needs root and the trixie chroot (scripts/build-chroots.sh)")
    key = tmp_path / "probe_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True,
                   timeout=30)

    def body():
        for path in (image / "etc" / "ssh").glob("ssh_host_*"):
            path.unlink()  # a whiteout in the overlay
        plain = subprocess.run(["chroot", str(image), "/usr/sbin/sshd", "-T"],
                               capture_output=True, text=True, timeout=30)
        ret = idlelock.set_sshd(root=str(image), timeout=420)
        again = idlelock.set_sshd(root=str(image), timeout=420)
        # The proof a user would run: sshd -T with a key of one's own.
        (image / "run" / "probe_key").write_bytes(key.read_bytes())
        os.chmod(image / "run" / "probe_key", 0o600)
        proof = subprocess.run(["chroot", str(image), "/usr/sbin/sshd", "-T", "-h",
                                "/run/probe_key"], capture_output=True, text=True, timeout=30)
        leftovers = sorted(p.name for p in (image / "etc" / "ssh").glob("ssh_host_*"))
        return plain, ret, again, proof.stdout, leftovers

    plain, ret, again, proof, leftovers = run_with_etc(
        tmp_path / "etc", body, opaque=(), also={str(image): tmp_path / "image"})
    assert plain.returncode != 0 and "no hostkeys available" in plain.stderr
    assert ret["result"] is True, ret
    assert "no host key at /etc/ssh/ssh_host_rsa_key" in ret["comment"]
    assert "sshd -T was run with a throwaway host key" in ret["comment"]
    assert again["result"] is True and again["changes"] == {}, again
    assert "channeltimeout session:*=420" in proof and "clientaliveinterval 300" in proof
    assert leftovers == [], "the throwaway key must not stay in the image"
