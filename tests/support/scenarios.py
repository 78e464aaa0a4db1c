"""Load the data-only scenario files under tests/scenarios/."""

import os
import pathlib
import socket
import stat

import yaml

SCENARIOS = pathlib.Path(__file__).resolve().parent.parent / "scenarios"
# The profiles every audit scenario states its expected findings for.
PROFILES = ("stig", "cis", "policy")

# What `sshd -T` prints after a run with the default policy (timeout 600 s):
# written out here rather than derived from idlelock's own resolution, so that a
# test compares the code with the expected values and not with itself. A
# scenario's `effective` adds or overrides keywords.
SSHD_DEFAULT_EFFECTIVE = {"clientaliveinterval": "300", "clientalivecountmax": "1",
                          "channeltimeout": "session:*=600", "unusedconnectiontimeout": "600"}


def sshd_effective(scenario):
    """The effective values a successful run of an sshd scenario must leave."""
    return dict(SSHD_DEFAULT_EFFECTIVE, **scenario.get("effective", {}))


def load(kind):
    """``[(name, scenario dict)]`` for every ``tests/scenarios/<kind>/*.yaml``."""
    return [
        (path.stem, yaml.safe_load(path.read_text()))
        for path in sorted((SCENARIOS / kind).glob("*.yaml"))
    ]


def params(kind, **filters):
    """pytest params for ``kind``, keeping scenarios whose keys match ``filters``."""
    import pytest

    return [
        pytest.param(scenario, id=name)
        for name, scenario in load(kind)
        if all(scenario.get(key, default) == want for key, (want, default) in filters.items())
    ]


def files(scenario, root, host_key="/nonexistent/hostkey"):
    """The scenario's files as ``{absolute path: text}`` with placeholders filled in."""
    return {
        os.path.join(root, rel): text.replace("@ROOT@", root).replace("@HOSTKEY@", str(host_key))
        for rel, text in scenario.get("files", {}).items()
    }


def materialize(scenario, root, host_key):
    """Write the scenario's tree under ``root`` (a real directory), byte for byte."""
    encoding = scenario.get("encoding", "utf-8")
    for path, text in files(scenario, str(root), host_key).items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(text.encode(encoding))
    for rel, target in scenario.get("symlinks", {}).items():
        link = os.path.join(root, rel)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(target if target.startswith("/") else os.path.join(root, target), link)
    for rel, kind in scenario.get("special", {}).items():
        make_special(os.path.join(root, rel), kind)


def make_special(path, kind):
    """Create a non-regular file: ``fifo``, ``directory``, ``socket`` or ``chardev``."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        os.mkdir(path)
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(path)
        sock.close()  # the socket file stays
    elif kind == "chardev":
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # like /dev/null
    else:
        raise ValueError(f"unknown special file kind {kind!r}")


def relative(text, root):
    """Sandbox paths in a message, made relative like the scenario's own paths."""
    return str(text).replace(str(root).rstrip("/") + "/", "")


def apply_three_times(setter, policy, snapshot):
    """
    ``setter(test=True)``, the real run, then a second run, with a ``snapshot()``
    of the files before and after each: ``{files0, test, files1, first, files2,
    second, files3}``, what the state scenarios compare.
    """
    out = {"files0": snapshot()}
    for number, (key, test) in enumerate((("test", True), ("first", False),
                                          ("second", False)), 1):
        out[key] = setter(test=test, **policy)
        out[f"files{number}"] = snapshot()
    return out


def flatten(policy):
    """A pillar-shaped policy as ``idlelock.set_*`` keyword arguments."""
    kwargs = {}
    for key, value in policy.items():
        if isinstance(value, dict) and key != "profiles":
            kwargs.update(value)
        else:
            kwargs[key] = value
    return kwargs


def found(result):
    """An audit's findings as sorted ``[check, rule, severity]``, as the scenarios state
    them; the scanner view is judged apart (``scanner``)."""
    return sorted([f["check"], f["rule"], f["severity"]] for f in result["findings"]
                  if not f["check"].startswith("scanner view: "))
