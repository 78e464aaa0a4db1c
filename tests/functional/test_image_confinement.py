"""
Image mode stays inside the image: every layout of tests/scenarios/image/ through
``idlelock.set_sshd root=<image>`` with the image's real sshd. Nothing outside the
image ever changes; an escape is refused with a clear error and nothing changes.
"""

import json
import os
import pathlib
import shutil

import pytest

from tests.functional.test_sshd_scenarios import bounded
from tests.support import image as image_support
from tests.support import scenarios
from tests.support.scenarios import flatten
from tests.support.sshd_sandbox import snapshot


@pytest.fixture(scope="session")
def base_image(tmp_path_factory, host_key):
    return image_support.build(tmp_path_factory.mktemp("base") / "image", host_key)


@pytest.fixture
def image(base_image, tmp_path):
    path = tmp_path / "image"
    shutil.copytree(base_image, path, symlinks=True, copy_function=os.link)
    return path


def fill(text, host):
    return text.replace("@HOST@", str(host).lstrip("/"))


def build_layout(scenario, image, host):
    for rel, text in scenario.get("host_files", {}).items():
        (host / rel).parent.mkdir(parents=True, exist_ok=True)
        (host / rel).write_text(fill(text, host))
    for rel, text in scenario.get("files", {}).items():
        path = image / fill(rel, host)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(fill(text, host))
    for rel, target in scenario.get("symlinks", {}).items():
        link = image / fill(rel, host)
        if link.is_dir() and not link.is_symlink():
            shutil.rmtree(link)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(fill(target, host))


@pytest.mark.parametrize("scenario", scenarios.params("image"))
def test_image_layout(scenario, image, tmp_path, idlelock):
    host = tmp_path / "host"
    host.mkdir()
    build_layout(scenario, image, host)
    host_before, image_before = snapshot(host), snapshot(image)
    host_entries = sorted(str(p) for p in host.rglob("*"))

    ret = idlelock.set_sshd(root=str(image), **flatten(scenario.get("policy", {})))

    json.dumps(ret, ensure_ascii=False).encode("utf-8")
    assert snapshot(host) == host_before and sorted(str(p) for p in host.rglob("*")) == \
        host_entries, "nothing outside the image may change"
    if scenario.get("error"):
        assert ret["result"] is False, ret
        assert scenario["error"] in ret["comment"], ret["comment"]
        assert "nothing was changed" in ret["comment"] or "untouched" in ret["comment"]
        assert snapshot(image) == image_before
        report = idlelock.get(root=str(image))
        assert scenario["error"] in json.dumps(report)
        return
    assert ret["result"] is True, ret["comment"]
    values = image_support.sshd_T(image)
    for keyword, value in scenario["effective"].items():
        assert values.get(keyword) == value, keyword
    for rel in scenario.get("symlinks", {}):
        assert (image / fill(rel, host)).is_symlink()
    report = idlelock.get(root=str(image))
    assert report["sshd"]["ClientAliveInterval"]["value"] == values["clientaliveinterval"]


# ---------------------------------------------------------------- takeover backups
@pytest.fixture
def taken_over_image(image, tmp_path):
    """An image whose profile.d sets TMOUT=900 (taken over below), beside a host directory."""
    host = tmp_path / "host"
    host.mkdir()
    (image / "etc" / "profile.d").mkdir(parents=True)
    (image / "etc" / "profile.d" / "zz-site.sh").write_bytes(b"# caf\xe9\nTMOUT=900\n")
    return image, host


def set_shell(idlelock, image):
    return idlelock.set_shell(root=str(image), takeover=True, tmout=600)


@pytest.mark.parametrize("link", ["../../../host/victim", "/@HOST@/victim"])
def test_a_symlink_at_the_backup_path_is_replaced_never_followed(idlelock, taken_over_image,
                                                                 link):
    image, host = taken_over_image
    backup = image / "etc" / "profile.d" / "zz-site.sh.idlelock.bak"
    backup.symlink_to(fill(link, host))

    ret = set_shell(idlelock, image)

    assert ret["result"] is True, ret["comment"]
    json.dumps(ret, ensure_ascii=False).encode("utf-8")
    assert list(host.iterdir()) == [], "the link's target (on the host) must not be created"
    assert not (image / fill(link, host).lstrip("/")).exists()
    assert not backup.is_symlink() and backup.read_bytes() == b"# caf\xe9\nTMOUT=900\n"


@pytest.mark.parametrize("left", [b"", b"# caf\xe9\nTMO", b"TMOUT=900\n"])
def test_an_incomplete_backup_is_replaced_by_a_complete_one(idlelock, taken_over_image, left):
    image, _ = taken_over_image
    backup = image / "etc" / "profile.d" / "zz-site.sh.idlelock.bak"
    backup.write_bytes(left)  # what a run stopped by a full disk left behind

    ret = set_shell(idlelock, image)

    assert ret["result"] is True, ret["comment"]
    assert backup.read_bytes() == b"# caf\xe9\nTMOUT=900\n"
    profile = (image / "etc" / "profile.d" / "zz-site.sh").read_bytes()
    assert profile == b"# caf\xe9\n: # idlelock-takeover: TMOUT=900\n"
    # A second run changes nothing, the backup included.
    mtime = backup.stat().st_mtime_ns
    again = set_shell(idlelock, image)
    assert again["result"] is True and again["changes"] == {}, again
    assert backup.stat().st_mtime_ns == mtime


@pytest.mark.parametrize("kind,what", [("fifo", "a FIFO (named pipe)"), ("directory", "a directory"),
                                       ("socket", "a socket"), ("chardev", "a character device")])
def test_a_special_file_among_the_shell_files_is_refused_unopened(idlelock, image, kind, what):
    scenarios.make_special(str(image / "etc" / "profile.d" / "10-odd.sh"), kind)
    before = snapshot(image)

    with bounded(60):  # a FIFO once blocked the run forever
        ret = idlelock.set_shell(root=str(image), tmout=600)

    assert ret["result"] is False
    assert f"/etc/profile.d/10-odd.sh is {what}, not a regular file" in ret["comment"]
    assert ret["comment"].endswith("nothing was changed")
    assert snapshot(image) == before
    report = idlelock.get(root=str(image))
    assert f"/etc/profile.d/10-odd.sh is {what}" in report["shell"]["error"]


def test_a_shell_timeout_under_a_minute_is_written_with_a_warning(idlelock, image):
    ret = idlelock.set_shell(root=str(image), tmout=6)

    assert ret["result"] is True, ret["comment"]
    assert any(w.startswith("shell:tmout 6: 6 s is under 60 s") for w in ret["warnings"])
    assert "TMOUT=6" in (image / "etc" / "profile.d" / "idlelock.sh").read_text()


# ---------------------------------------------------------------- logind
def logind_policy(image, **logind):
    import idlelock_defaults
    import idlelock_policy

    raw = {"root": str(image), "logind": dict({"enabled": True}, **logind)}
    resolved, errors, _ = idlelock_policy.resolve(raw, idlelock_defaults.DEFAULTS, None)
    assert errors == []
    return resolved


@pytest.mark.parametrize("layout,message", [
    ("fifo", "idlelock.conf is a FIFO (named pipe), not a regular file"),
    ("escape", "leads out of root"),
])
def test_logind_drop_in_that_is_no_file_or_leaves_the_image_is_refused(image, tmp_path,
                                                                       layout, message):
    # Salt's grains decide whether logind is supported; the body is exercised directly,
    # as on a systemd >= 252 host.
    import idlelock_enforce

    host = tmp_path / "host"
    (host / "logind.conf.d").mkdir(parents=True)
    directory = image / "etc" / "systemd" / "logind.conf.d"
    if layout == "fifo":
        directory.mkdir(parents=True)
        os.mkfifo(directory / "idlelock.conf")
    else:
        directory.parent.mkdir(parents=True)
        directory.symlink_to("../../../host/logind.conf.d")
    before = snapshot(image)

    with bounded(60):
        ret = idlelock_enforce.set_logind(logind_policy(image), False, (True, None),
                                          str(tmp_path / "cache"))

    assert ret["result"] is False and message in ret["comment"], ret["comment"]
    assert snapshot(image) == before and list((host / "logind.conf.d").iterdir()) == []


def test_logind_short_timeout_is_written_with_a_warning(image, tmp_path):
    import idlelock_enforce

    ret = idlelock_enforce.set_logind(logind_policy(image, stop_idle_session_sec=9), False,
                                      (True, None), str(tmp_path / "cache"))
    assert ret["result"] is True, ret["comment"]
    assert any(w.startswith("logind:stop_idle_session_sec 9: 9 s is under 60 s")
               for w in ret["warnings"])
    assert "StopIdleSessionSec=9" in (
        image / "etc" / "systemd" / "logind.conf.d" / "idlelock.conf").read_text()


# ---------------------------------------------------------------- idlelock's own files
VICTIM = b"# admin data\nX11Forwarding no\n"
OWN_FILES = {"sshd": "/etc/ssh/sshd_config.d/00-idlelock.conf",
             "shell": "/etc/profile.d/idlelock.sh",
             "logind": "/etc/systemd/logind.conf.d/idlelock.conf"}


def set_part(idlelock, image, part, tmp_path):
    import idlelock_enforce

    if part == "sshd":
        return idlelock.set_sshd(root=str(image))
    if part == "shell":
        return idlelock.set_shell(root=str(image), tmout=600)
    return idlelock_enforce.set_logind(logind_policy(image), False, (True, None),
                                       str(tmp_path / "cache"))


@pytest.mark.parametrize("target", ["/etc/victim.conf", "../../victim.conf", "/etc/missing.conf"])
@pytest.mark.parametrize("part", sorted(OWN_FILES))
def test_a_symlink_at_idlelocks_own_file_is_refused_not_written_through(idlelock, image,
                                                                        tmp_path, part, target):
    (image / "etc" / "ssh" / "sshd_config").write_text(
        "Include /etc/ssh/sshd_config.d/*.conf\nClientAliveInterval 900\n")
    (image / "etc" / "victim.conf").write_bytes(VICTIM)
    link = image / OWN_FILES[part].lstrip("/")
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)
    before = snapshot(image)

    ret = set_part(idlelock, image, part, tmp_path)

    assert ret["result"] is False, ret
    if part == "sshd" and target == "/etc/missing.conf":
        # sshd's Include matches the dangling link and cannot open it: the configuration
        # cannot be read, as for any other dangling drop-in.
        assert f"{OWN_FILES[part]}: no such file" in ret["comment"]
        assert "idlelock leaves it untouched" in ret["comment"]
    else:
        assert f"{OWN_FILES[part]} is a symlink to {target}, not a regular file" in ret["comment"]
        assert "nothing was changed" in ret["comment"]
    assert snapshot(image) == before and os.readlink(link) == target
    assert (image / "etc" / "victim.conf").read_bytes() == VICTIM
    assert not (image / "etc" / "missing.conf").exists()


@pytest.mark.parametrize("kind", ["directory", "symlink", "fifo"])
def test_what_is_not_a_backup_at_the_backup_path_is_named_by_removal(idlelock, taken_over_image,
                                                                     kind):
    image, host = taken_over_image
    assert set_shell(idlelock, image)["result"] is True
    backup = image / "etc" / "profile.d" / "zz-site.sh.idlelock.bak"
    backup.unlink()
    if kind == "symlink":  # it would give back another file's text
        backup.symlink_to("/etc/passwd")
    else:
        scenarios.make_special(str(backup), kind)
    before = snapshot(image)

    with bounded(60):
        ret = idlelock.remove(parts=["shell"], root=str(image))

    json.dumps(ret, ensure_ascii=False).encode("utf-8")
    assert ret["result"] is False, ret
    assert ("/etc/profile.d/zz-site.sh.idlelock.bak is a" in ret["comment"]
            and "where idlelock keeps the original of /etc/profile.d/zz-site.sh" in ret["comment"])
    assert "Traceback" not in ret["comment"] and "nothing was changed" in ret["comment"]
    assert snapshot(image) == before and list(host.iterdir()) == []


def test_a_directory_at_the_backup_path_stops_a_takeover_with_a_clear_error(idlelock,
                                                                            taken_over_image):
    image, _ = taken_over_image
    (image / "etc" / "profile.d" / "zz-site.sh.idlelock.bak").mkdir()
    before = snapshot(image)

    predicted = idlelock.set_shell(root=str(image), takeover=True, tmout=600, test=True)
    ret = set_shell(idlelock, image)

    for outcome in (predicted, ret):
        assert outcome["result"] is False, outcome
        assert ("/etc/profile.d/zz-site.sh.idlelock.bak is a directory, not a regular file; it "
                "is where idlelock keeps the original of /etc/profile.d/zz-site.sh"
                ) in outcome["comment"]
        assert outcome["comment"].endswith("nothing was changed")
    assert snapshot(image) == before
