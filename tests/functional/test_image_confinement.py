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

from tests.functional.conftest import flatten
from tests.functional.test_sshd_scenarios import snapshot
from tests.support import image as image_support
from tests.support import scenarios


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
