"""The wheel's file list: setuptools takes no glob for top-level modules."""

import configparser
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_the_wheel_installs_every_util():
    """setup.cfg lists each _utils module (setuptools takes no glob), so none is left out."""
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    listed = config["options"]["py_modules"].split()
    assert sorted(listed) == sorted(p.stem for p in (REPO / "_utils").glob("*.py"))
