"""
Close idle SSH and shell sessions: read, resolve and enforce the idle timeout.

The policy comes from the ``idlelock`` pillar key (minion config wins over
pillar, as with ``config.get``) over the defaults in ``defaults.yaml``. The
logic lives in ``_utils``: ``idlelock_policy`` and ``idlelock_sshd`` (pure) and
``idlelock_system`` (I/O); this module wires them to Salt.
"""

import importlib
import logging
import os
import sys

import salt.utils.platform
import salt.utils.process
import salt.utils.yaml
from salt.exceptions import CommandExecutionError


def _fresh(name):
    # Synced (or loaded from the repository), _utils is on sys.path while Salt
    # loads this module. Installed as a package it is not: Salt never loads
    # utils from a salt.loader entry point, so import them from the package.
    # A long-running minion keeps imported modules across saltutil.sync_all;
    # reload ours so a synced upgrade of _utils takes effect with the module.
    for qualified in (name, f"idlelock_salt._utils.{name}"):
        if qualified in sys.modules:
            return importlib.reload(sys.modules[qualified])
    try:
        return importlib.import_module(name)
    except ImportError:
        return importlib.import_module(f"idlelock_salt._utils.{name}")


try:
    idlelock_policy = _fresh("idlelock_policy")
    idlelock_sshd = _fresh("idlelock_sshd")
    idlelock_system = _fresh("idlelock_system")
    IMPORT_ERROR = None
except ImportError as exc:  # _utils not synced or not installed
    IMPORT_ERROR = str(exc)

log = logging.getLogger(__name__)

__virtualname__ = "idlelock"

MANAGED = tuple(idlelock_policy.SSHD_KEYWORDS.values()) if IMPORT_ERROR is None else ()


def __virtual__():
    if salt.utils.platform.is_windows():
        return False, "idlelock manages OpenSSH and POSIX shells; Windows is not supported"
    if IMPORT_ERROR is not None:
        return False, f"idlelock's _utils are missing ({IMPORT_ERROR}): run saltutil.sync_all"
    return __virtualname__


# ---------------------------------------------------------------- policy
def _defaults():
    if "idlelock.defaults" not in __context__:
        path = os.path.join(os.path.dirname(idlelock_policy.__file__), "idlelock_defaults.yaml")
        with open(path, encoding="utf-8") as handle:
            __context__["idlelock.defaults"] = salt.utils.yaml.safe_load(handle)["idlelock"]
    return __context__["idlelock.defaults"]


def _raw(overrides=None, os_defaults=None):
    """Policy input: per-OS defaults, then pillar, then minion config, then overrides."""
    merge = idlelock_policy.merge
    raw = merge(os_defaults or {}, __pillar__.get("idlelock", {}))
    raw = merge(raw, __opts__.get("idlelock", {}))
    return merge(raw, overrides or {})


def _version(binary, root):
    """The OpenSSH version, probed once per binary for as long as the binary is unchanged."""
    try:
        info = os.stat(idlelock_system.host_path(root, binary))
    except OSError:
        return None, None
    key = ("idlelock.version", root, binary, info.st_mtime_ns, info.st_size)
    if key not in __context__:
        try:
            __context__[key] = idlelock_system.sshd_version(binary, root)
        except idlelock_system.ProbeError as exc:
            log.warning("idlelock: %s", exc)
            __context__[key] = (None, None)
    return __context__[key]


def _resolve(overrides=None, os_defaults=None):
    """``(policy, errors)`` for this minion, with ``auto`` resolved for its OpenSSH."""
    defaults = _defaults()
    raw = _raw(overrides, os_defaults)
    merged = idlelock_policy.merge(defaults, raw if isinstance(raw, dict) else {})
    sshd = merged.get("sshd") if isinstance(merged.get("sshd"), dict) else {}
    version, text = (None, None)
    if sshd.get("enabled") is True and isinstance(sshd.get("binary"), str):
        version, text = _version(sshd["binary"], merged.get("root") or "/")
    policy, errors, _ = idlelock_policy.resolve(raw, defaults, version)
    policy["openssh"] = text
    return policy, errors


def _split_overrides(kwargs, section):
    """State/CLI keyword arguments as a policy mapping (top-level keys or ``section``)."""
    top_level = {"timeout", "environment", "profile", "root", "profiles"}
    overrides = {}
    for key, value in kwargs.items():
        if key.startswith("__"):
            continue  # Salt's __pub_* job data
        if key in top_level:
            overrides[key] = value
        else:
            overrides.setdefault(section, {})[key] = value
    return overrides


def policy(strict=True, os_defaults=None, **kwargs):
    """
    The resolved policy for this minion: pillar (and minion config) over
    ``defaults.yaml``, with ``auto`` resolved for the installed OpenSSH.

    strict
        Raise on bad input (the default). With ``strict=False`` the result holds
        the list of ``errors`` instead; the formula uses this to decide what to
        include, while each state still refuses bad input itself.

    os_defaults
        Per-OS defaults from the formula's ``map.jinja`` (service names); pillar
        wins over them. An empty ``sshd:service`` means "the per-OS name".

    CLI Example:

    .. code-block:: bash

        salt '*' idlelock.policy
        salt '*' idlelock.policy timeout=300
    """
    resolved, errors = _resolve(_split_overrides(kwargs, "sshd"), os_defaults)
    resolved["sshd"]["socket_activated"] = _socket_activated(resolved["sshd"].get("service"))
    resolved["schedule"]["job"] = idlelock_policy.schedule_job(
        resolved["schedule"], offline=not _minion_daemon_running()
    )
    if errors and strict:
        raise CommandExecutionError("; ".join(errors))
    if not strict:
        resolved["errors"] = errors
    return resolved


def _minion_daemon_running():
    """True when a salt-minion daemon runs with this configuration."""
    # The daemon owns the live schedule and answers schedule.* over its event
    # bus; without it (masterless salt-call) the job goes straight to the file
    # that a daemon reads when it starts.
    pid = salt.utils.process.get_pidfile(__opts__.get("pidfile", ""))
    return pid > 0 and salt.utils.process.os_is_running(pid)


def _socket_activated(service):
    """True when systemd starts sshd per connection from ``<service>.socket``."""
    # Ubuntu >= 22.10: enabling (or starting) ssh.service there breaks port 22.
    if not service or __grains__.get("init") != "systemd":
        return False
    return bool(__salt__["service.enabled"](f"{service}.socket"))


# ---------------------------------------------------------------- sshd
def _sshd_paths(resolved):
    return resolved["root"], resolved["sshd"]["config"], resolved["sshd"]["binary"]


def _walk(root, config):
    read = lambda path: idlelock_system.read_text(root, path)  # noqa: E731
    expand = lambda pattern: idlelock_system.expand_glob(root, pattern)  # noqa: E731
    return idlelock_sshd.walk(config, read, expand), read, expand


def _override_notes(tree, version):
    """Describe Match blocks that set a managed keyword for some connections."""
    notes = []
    for directive in tree.match_overrides(MANAGED):
        keyword = next(k for k in MANAGED if k.lower() == directive.keyword)
        note = {
            "keyword": keyword,
            "value": directive.value,
            "source": directive.source,
            "match": directive.match.describe(),
            "match_source": directive.match.source,
            "effective": True,
        }
        if keyword == "ChannelTimeout" and not idlelock_policy.version_at_least(
            version, idlelock_policy.V_CHANNEL_TIMEOUT_IN_MATCH
        ):
            note["effective"] = False  # sshd < 10.5 ignores ChannelTimeout in Match
        notes.append(note)
    return notes


def _sshd_state(resolved):
    """The live sshd state: version, effective values, sources, Match overrides."""
    root, config, binary = _sshd_paths(resolved)
    idlelock_system.check_root(root)
    version, text = _version(binary, root)
    if version is None:
        raise idlelock_system.ProbeError(f"no usable sshd at {binary} (root {root})")
    effective = idlelock_system.sshd_effective(binary, config, root)
    tree, read, expand = _walk(root, config)
    return {
        "version": version,
        "text": text,
        "effective": effective,
        "tree": tree,
        "read": read,
        "expand": expand,
    }


def get(**kwargs):
    """
    The effective idle-timeout settings of this host, with their sources.

    For each managed sshd keyword: the value ``sshd -T`` reports and the
    ``file:line`` that set it (``default`` when no line does), found by following
    Include in sshd's own order. Also the OpenSSH version, and the Match blocks
    that override a managed keyword for some connections.

    Keyword arguments override the path keys of the policy (``root``,
    ``config``, ``binary``), e.g. to inspect a mounted image.

    CLI Example:

    .. code-block:: bash

        salt '*' idlelock.get
        salt-call idlelock.get root=/mnt/image
    """
    resolved, _ = _resolve(_split_overrides(kwargs, "sshd"))
    root, config, binary = _sshd_paths(resolved)
    report = {"root": root, "config": config, "binary": binary}
    try:
        live = _sshd_state(resolved)
    except (idlelock_system.ProbeError, idlelock_sshd.ConfigError) as exc:
        report["error"] = str(exc)
        return report
    winners = live["tree"].winners(MANAGED)
    report["openssh"] = live["text"]
    report["sshd"] = {
        keyword: {
            "value": live["effective"].get(keyword.lower()),
            "source": winners[keyword].source if keyword in winners else "default",
        }
        for keyword in MANAGED
    }
    report["match_overrides"] = _override_notes(live["tree"], live["version"])
    return report


def _fail(comment, warnings=()):
    return {"result": False, "comment": comment, "changes": {}, "warnings": list(warnings)}


def _verify_candidate(resolved, candidate_tree, desired):
    """
    Validate the whole candidate with sshd before anything is replaced.

    Returns ``None`` when sshd accepts it and every desired value is effective,
    else the reason, naming the file and line that win.
    """
    root, _, binary = _sshd_paths(resolved)
    with idlelock_system.stage_dir(root) as scratch:
        files, main, names = idlelock_sshd.stage(candidate_tree, scratch)
        idlelock_system.write_plain(root, files)
        try:
            effective = idlelock_system.sshd_effective(binary, main, root)
        except idlelock_system.ProbeError as exc:
            return "sshd rejects the candidate configuration: " + idlelock_sshd.unstage_message(
                str(exc), names
            )
    winners = candidate_tree.winners(desired)
    for keyword, value in desired.items():
        want = idlelock_sshd.normalize(keyword, value)
        got = effective.get(keyword.lower())
        if got != want:
            source = winners[keyword].source if keyword in winners else "sshd's default"
            return f"{keyword} would be {got!r}, not {want!r}: {source} wins"
    return None


def set_sshd(test=None, **kwargs):
    """
    Make the policy's sshd values effective; the write path of the ``idlelock.sshd`` state.

    idlelock writes its values where sshd reads them first (a ``00-idlelock.conf``
    drop-in, or a block at the top of the main file), comments out foreign lines
    that would beat them, validates the whole candidate with ``sshd -T`` before
    anything is replaced, and writes atomically. An already-invalid
    configuration is left alone.

    Returns ``{result, comment, changes, warnings}``; ``changes`` holds
    ``{Keyword: {old, new}}`` and a unified ``diff``.

    test
        Predict the changes and write nothing (``result: None``). Defaults to
        the minion's ``test`` option.

    Keyword arguments override the policy (``timeout``, ``profile``, ``root``
    and the ``sshd`` keys).

    CLI Example:

    .. code-block:: bash

        salt '*' idlelock.set_sshd test=True
        salt '*' idlelock.set_sshd timeout=300
    """
    test = __opts__.get("test", False) if test is None else test
    resolved, errors = _resolve(_split_overrides(kwargs, "sshd"))
    if errors:
        return _fail("Bad input, nothing changed: " + "; ".join(errors))
    warnings = list(resolved["warnings"])
    if not resolved["sshd"]["enabled"]:
        return {"result": True, "comment": "sshd is not managed (sshd:enabled is false)",
                "changes": {}, "warnings": warnings}
    try:
        live = _sshd_state(resolved)
    except idlelock_sshd.ConfigError as exc:
        return _fail(f"Cannot read the sshd configuration: {exc}", warnings)
    except idlelock_system.ProbeError as exc:
        return _fail(
            "sshd rejects the current configuration, so idlelock leaves it untouched: "
            f"{exc}",
            warnings,
        )
    desired = idlelock_policy.sshd_directives(resolved["sshd"])
    for note in _override_notes(live["tree"], live["version"]):
        state = "" if note["effective"] else " (ignored: OpenSSH < 10.5 ignores ChannelTimeout in Match)"
        warnings.append(
            f"{note['match']} at {note['match_source']} sets {note['keyword']} "
            f"{note['value']} at {note['source']} for matching connections{state}"
        )
    plan = idlelock_sshd.plan(live["tree"], desired, live["read"], live["expand"])
    settings = ", ".join(f"{k} {v}" for k, v in desired.items()) or "nothing"
    if not plan.texts:
        return {"result": True, "comment": f"sshd already enforces {settings}",
                "changes": {}, "warnings": warnings}
    problem = _verify_candidate(resolved, plan.tree, desired)
    if problem:
        return _fail(f"{problem}; nothing was changed", warnings)
    changes = {
        keyword: {"old": live["effective"].get(keyword.lower()), "new": value}
        for keyword, value in desired.items()
        if live["effective"].get(keyword.lower()) != idlelock_sshd.normalize(keyword, value)
    }
    changes["diff"] = idlelock_sshd.diff(live["tree"].texts, plan.texts)
    disabled = "".join(f"; commented out {d.source} ({d.keyword} {d.value})" for d in plan.disabled)
    if test:
        return {"result": None, "comment": f"sshd would enforce {settings}{disabled}",
                "changes": changes, "warnings": warnings}
    try:
        idlelock_system.write_all(resolved["root"], plan.texts)
    except OSError as exc:
        return _fail(f"Writing {exc.filename or 'a file'} failed ({exc.strerror}); "
                     "every file was restored", warnings)
    return {"result": True, "comment": f"sshd enforces {settings}{disabled}",
            "changes": changes, "warnings": warnings}
