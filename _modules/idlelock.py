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

import salt.utils.atomicfile
import salt.utils.json
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
    idlelock_shell = _fresh("idlelock_shell")
    idlelock_audit = _fresh("idlelock_audit")
    idlelock_facts = _fresh("idlelock_facts")
    IMPORT_ERROR = None
except ImportError as exc:  # _utils not synced or not installed
    IMPORT_ERROR = str(exc)

log = logging.getLogger(__name__)

__virtualname__ = "idlelock"

MANAGED = idlelock_facts.MANAGED if IMPORT_ERROR is None else ()


def __virtual__():
    if salt.utils.platform.is_windows():
        return False, "idlelock manages OpenSSH and POSIX shells; Windows is not supported"
    if IMPORT_ERROR is not None:
        return False, f"idlelock's _utils are missing ({IMPORT_ERROR}): run saltutil.sync_all"
    return __virtualname__


# ---------------------------------------------------------------- policy
DEFAULTS_URL = "salt://idlelock/defaults.yaml"


def _defaults():
    """
    The one ``defaults.yaml``: packaged beside ``_utils`` in the wheel, else the
    formula's copy on the fileserver (saltutil.sync_all copies only Python files).
    """
    if "idlelock.defaults" not in __context__:
        packaged = os.path.join(os.path.dirname(idlelock_policy.__file__), "idlelock_defaults.yaml")
        if os.path.isfile(packaged):
            with open(packaged, encoding="utf-8") as handle:
                text = handle.read()
        else:
            text = __salt__["cp.get_file_str"](DEFAULTS_URL)
        if not text:
            raise CommandExecutionError(
                f"idlelock cannot find its defaults: neither {packaged} (pip install) "
                f"nor {DEFAULTS_URL} (formula on file_roots)"
            )
        __context__["idlelock.defaults"] = salt.utils.yaml.safe_load(text)["idlelock"]
    return __context__["idlelock.defaults"]


def _raw(overrides=None, os_defaults=None):
    """Policy input: per-OS defaults, then pillar, then minion config, then overrides."""
    merge = idlelock_policy.merge
    raw = merge(os_defaults or {}, __pillar__.get("idlelock", {}))
    raw = merge(raw, __opts__.get("idlelock", {}))
    return merge(raw, overrides or {})


def _version(binary, root):
    """The OpenSSH version, probed once per process for as long as the binary is unchanged."""
    if not os.path.isfile(idlelock_system.host_path(root, binary)):
        return None, None
    try:
        return idlelock_system.sshd_version(binary, root)
    except idlelock_system.ProbeError as exc:
        log.warning("idlelock: %s", exc)
        return None, None


def _resolve(overrides=None, os_defaults=None):
    """``(policy, errors)`` for this minion, with ``auto`` resolved for its OpenSSH."""
    defaults = _defaults()
    raw = _raw(overrides, os_defaults)
    merged = idlelock_policy.merge(defaults, raw if isinstance(raw, dict) else {})
    sshd = merged.get("sshd") if isinstance(merged.get("sshd"), dict) else {}
    root = merged.get("root") or "/"
    root_error = _root_error(root)
    version, text = (None, None)
    if root_error is None and sshd.get("enabled") is True and isinstance(sshd.get("binary"), str):
        version, text = _version(sshd["binary"], root)
    policy, errors, _ = idlelock_policy.resolve(raw, defaults, version)
    if root_error:
        errors.insert(0, root_error)
    policy["openssh"] = text
    return policy, errors


def _root_error(root):
    """Why ``root`` cannot be managed (not a directory), or ``None``."""
    if not isinstance(root, str):
        return None  # the schema check names the bad value
    try:
        idlelock_system.check_root(root)
    except idlelock_system.ProbeError as exc:
        return f"idlelock:{exc}"
    return None


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
    resolved["logind"]["supported"] = _logind_support(resolved)[0]
    resolved["schedule"]["job"] = idlelock_policy.schedule_job(
        resolved["schedule"], offline=not _minion_daemon_running()
    )
    if errors and strict:
        raise CommandExecutionError("; ".join(errors))
    if not errors and not _split_overrides(kwargs, "sshd"):
        _remember(resolved)
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
    # Every SLS of the formula resolves the policy: ask systemd once per run.
    key = ("idlelock.socket_activated", service)
    if key not in __context__:
        __context__[key] = bool(__salt__["service.enabled"](f"{service}.socket"))
    return __context__[key]


# ---------------------------------------------------------------- sshd
def _sshd_paths(resolved):
    return resolved["root"], resolved["sshd"]["config"], resolved["sshd"]["binary"]


def _override_notes(tree, version):
    """Describe Match blocks that set a managed keyword for some connections."""
    notes = []
    for keyword, directive in tree.match_overrides(MANAGED):
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
    version, text = _version(binary, root)
    if version is None:
        raise idlelock_system.ProbeError(f"no usable sshd at {binary} (root {root})")
    tree, read, expand = idlelock_facts.sshd_tree(root, config)
    effective = idlelock_system.sshd_effective(binary, config, root, files=list(tree.texts))
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

    ``shell``: the TMOUT that each installed login shell really ends up with
    (found by running it), every line that sets TMOUT with its ``file:line``,
    and the conflicts. ``logind``: StopIdleSessionSec and whether it applies.

    Keyword arguments override the path keys of the policy (``root``,
    ``config``, ``binary``, ``profile_file``, ``conf_file``, ...), e.g. to
    inspect a mounted image.

    CLI Example:

    .. code-block:: bash

        salt '*' idlelock.get
        salt-call idlelock.get root=/mnt/image
    """
    resolved, _ = _resolve(_get_overrides(kwargs))
    root, config, binary = _sshd_paths(resolved)
    report = {"root": root, "config": config, "binary": binary}
    # Before any probe: the shell probes stage files inside the root.
    problem = _root_error(root)
    if problem:
        report["error"] = problem
        return report
    report["shell"] = idlelock_facts.shell_report(resolved)
    report["logind"] = idlelock_facts.logind_report(resolved, *_logind_support(resolved))
    try:
        idlelock_system.check_root(root, binary)
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


# ---------------------------------------------------------------- audit
def _remember(resolved):
    """
    Keep the last policy resolved with pillar, for the ``idlelock`` grain.

    Grains are computed before pillar (the pillar top file targets grains), so
    this file is how the grain learns the environment's timeout and profile
    after the first ``state.apply idlelock`` (its map.jinja resolves the policy).
    """
    path = os.path.join(__opts__["cachedir"], *idlelock_facts.POLICY_CACHE)
    text = salt.utils.json.dumps(resolved)
    try:
        # Every SLS of the formula resolves the policy: a no-op run writes nothing.
        with open(path, encoding="utf-8") as handle:
            if handle.read() == text:
                return
    except OSError:
        pass  # not written yet
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with salt.utils.atomicfile.atomic_open(path, "w") as handle:
            handle.write(text)
    except OSError as exc:  # a cache: the policy itself is still right
        log.warning("idlelock: cannot write %s: %s", path, exc)


def audit(profile="policy", **kwargs):
    """
    Judge the *effective* idle-timeout state of this host against a profile.

    profile
        ``policy`` (the default: this minion's resolved pillar policy, stricter
        values pass), or a profile of ``idlelock:profiles`` (``cis``, ``stig``,
        or a site's own), whose thresholds and rule IDs are data.

    It runs ``sshd -T`` once globally and once per Match block that sets a
    managed keyword, with a connection built from that block's criteria (a
    ``Match Group`` needs a real member from the account database; without one
    the block is reported as not evaluated, which is not compliant). It probes
    the login shells' TMOUT (value, readonly, exported, conflicts) and logind,
    and checks that some mechanism closes an idle interactive session within
    the timeout.

    Returns ``{compliant, profile, findings, passed, environment, timeout,
    openssh, matches}``; each finding is ``{check, rule, expected, actual,
    source, severity, fix}``. Severity ``high``, ``medium`` or ``unknown`` makes
    the host non-compliant; ``low`` only informs.

    Keyword arguments override the policy's path keys, as for ``idlelock.get``.

    CLI Example:

    .. code-block:: bash

        salt '*' idlelock.audit
        salt '*' idlelock.audit profile=stig
    """
    overrides = _get_overrides(kwargs)
    resolved, errors = _resolve(overrides)
    if errors:
        raise CommandExecutionError("Bad input: " + "; ".join(errors))
    supported, reason = _logind_support(resolved)
    resolved["logind"]["supported"] = supported
    try:
        thresholds = idlelock_audit.profile_thresholds(profile, resolved)
    except ValueError as exc:
        raise CommandExecutionError(str(exc)) from None
    version = None
    if resolved["sshd"]["enabled"]:
        version = _version(resolved["sshd"]["binary"], resolved["root"])[0]
    facts = idlelock_facts.audit_facts(
        resolved, version, idlelock_facts.logind_report(resolved, supported, reason))
    result = idlelock_audit.judge(facts, profile, thresholds, resolved["timeout"])
    result.update(
        environment=resolved["environment"],
        timeout=resolved["timeout"],
        openssh=resolved["openssh"],
        matches=[{key: block[key] for key in ("match", "source", "connection", "reason")
                  if key in block} for block in facts["matches"]],
    )
    if not overrides:
        _remember(resolved)
    return result


def _outcome(result, comment, changes=None, warnings=()):
    """What every ``set_*`` returns, and its state turns into a state return."""
    return {"result": result, "comment": comment, "changes": changes or {},
            "warnings": list(warnings)}


def _fail(comment, warnings=()):
    return _outcome(False, comment, warnings=warnings)


def _write_failed(exc, warnings=()):
    return _fail(f"Writing {exc.filename or 'a file'} failed ({exc.strerror}); "
                 "every file was restored", warnings)


def _begin(kwargs, section, test, what):
    """
    ``(test, resolved policy, outcome)`` shared by the ``set_*`` functions.

    ``outcome`` is set when there is nothing more to do: bad input anywhere in
    the policy, or ``<section>:enabled`` false.
    """
    test = __opts__.get("test", False) if test is None else test
    resolved, errors = _resolve(_split_overrides(kwargs, section))
    if errors:
        return test, resolved, _fail("Bad input, nothing changed: " + "; ".join(errors))
    if not resolved[section]["enabled"]:
        return test, resolved, _outcome(
            True, f"{what} not managed ({section}:enabled is false)")
    return test, resolved, None


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
    test, resolved, outcome = _begin(kwargs, "sshd", test, "sshd is")
    if outcome:
        return outcome
    warnings = list(resolved["warnings"])
    try:
        idlelock_system.check_root(resolved["root"], resolved["sshd"]["binary"])
    except idlelock_system.ProbeError as exc:
        return _fail(f"{exc}; nothing was changed", warnings)
    try:
        live = _sshd_state(resolved)
    except idlelock_sshd.ConfigError as exc:
        return _fail(f"Cannot read the sshd configuration, so idlelock leaves it untouched: {exc}",
                     warnings)
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
        return _outcome(True, f"sshd already enforces {settings}", warnings=warnings)
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
        return _outcome(None, f"sshd would enforce {settings}{disabled}", changes, warnings)
    try:
        idlelock_system.write_all(resolved["root"], plan.texts)
    except OSError as exc:
        return _write_failed(exc, warnings)
    return _outcome(True, f"sshd enforces {settings}{disabled}", changes, warnings)


# ---------------------------------------------------------------- shell and logind
def _get_overrides(kwargs):
    """``get`` keyword arguments, each routed to the section that has that key."""
    sections = {
        section: set(idlelock_policy.SCHEMA[section]) - {"enabled"}
        for section in ("shell", "logind")
    }
    rest = {key: value for key, value in kwargs.items()
            if not any(key in keys for keys in sections.values())}
    overrides = _split_overrides(rest, "sshd")
    for section, keys in sections.items():
        for key in keys & set(kwargs):
            overrides.setdefault(section, {})[key] = kwargs[key]
    return overrides


def set_shell(test=None, **kwargs):
    """
    Make login shells close when idle; the write path of the ``idlelock.shell`` state.

    Writes the guarded ``shell:profile_file`` (readonly, exported TMOUT, in the
    ``shell:form`` that the OS's compliance scanners expect), the tcsh/csh
    ``shell:csh_file`` (``autologout`` in whole minutes, rounded down) where
    its directory exists, a block in ``shell:zsh_file`` for a zsh that reads
    no /etc/profile, and a block in ``shell:bashrc_file`` (the system bashrc)
    for interactive bash that is not a login. idlelock's own files are written
    root-owned 0644 whatever an older copy's mode, new directories 0755.
    With ``shell:takeover`` it comments out foreign TMOUT lines in place, with
    the marker ``: # idlelock-takeover:`` and a ``.idlelock.bak`` copy.

    Every candidate is proven before it is written: the installed login shells
    (bash, dash, zsh, ksh, tcsh) and an interactive non-login bash run on it
    in a private mount namespace, as root, as a regular user (uid 65534) and
    as a member of each exempt group. A readonly error, or a bash that would
    not get the policy value (an exempt member: no TMOUT), fails the run and
    names the file and line, or the file regular users cannot read; nothing
    is written.

    Returns ``{result, comment, changes, warnings}``.

    test
        Predict the changes and write nothing (``result: None``). Defaults to
        the minion's ``test`` option.

    Keyword arguments override the policy (``timeout``, ``profile``, ``root``
    and the ``shell`` keys).

    CLI Example:

    .. code-block:: bash

        salt '*' idlelock.set_shell test=True
        salt '*' idlelock.set_shell tmout=300 exempt_groups='[batch]'
    """
    test, resolved, outcome = _begin(kwargs, "shell", test, "shell timeouts are")
    if outcome:
        return outcome
    shell, root = resolved["shell"], resolved["root"]
    warnings = []
    texts = idlelock_facts.shell_texts(root, shell)
    managed = (shell["profile_file"],)
    found = idlelock_shell.scan(texts, managed)
    planned, taken = dict(texts), []
    if shell["takeover"]:
        edits, taken, refused = idlelock_shell.plan_takeover(texts, found["lines"])
        if refused:
            return _fail(
                f"takeover cannot rewrite {', '.join(refused)}: the line does more than set "
                "TMOUT; edit it by hand. Nothing was changed"
            )
        planned.update(edits)
    tmout, readonly, exempt = shell["tmout"], shell["readonly"], shell["exempt_groups"]
    planned[shell["profile_file"]] = idlelock_shell.render_profile(
        tmout, readonly, exempt, shell["form"]
    )
    csh_dir = os.path.dirname(shell["csh_file"])
    if idlelock_system.is_dir(root, csh_dir):
        planned[shell["csh_file"]] = idlelock_shell.render_csh(tmout, readonly, exempt)
    elif "tcsh" in idlelock_system.installed_shells(root):
        warnings.append(f"tcsh is installed but {csh_dir} is missing: {shell['csh_file']} "
                        "not written; set shell:csh_file to a directory tcsh reads")
    if shell["zsh_file"]:
        planned[shell["zsh_file"]] = idlelock_shell.zsh_hook(
            planned.get(shell["zsh_file"]), shell["profile_file"]
        )
    warnings += idlelock_facts.shell_hook_warnings(root, shell, texts)
    if shell["bashrc_file"]:
        planned[shell["bashrc_file"]] = idlelock_shell.bashrc_hook(
            planned.get(shell["bashrc_file"]), shell["profile_file"]
        )
    modes = idlelock_facts.shell_modes(root, shell)
    wrong_modes = idlelock_facts.wrong_modes(root, modes)
    changed = {path: text for path, text in planned.items()
               if text is not None and (texts.get(path) != text or path in wrong_modes)}

    failures, old = _check_shell_candidate(resolved, changed, list(texts), warnings, modes)
    if failures:
        # Shells name the file only sometimes ("-bash: TMOUT: readonly
        # variable"): the lines come from the text of the candidate.
        culprits = idlelock_shell.foreign(idlelock_shell.scan(planned, managed)["lines"])
        hint = "".join(
            f"; {label} at {', '.join(c['source'] for c in group)}"
            for label, group in (
                ("foreign readonly TMOUT", [c for c in culprits if c["readonly"]]),
                ("TMOUT also set", [c for c in culprits if not c["readonly"]]),
            )
            if group
        )
        if culprits and not shell["takeover"]:
            hint += " (shell:takeover: true comments such lines out)"
        hint += idlelock_facts.unreadable_hint(root, list(planned))
        return _fail("; ".join(failures) + hint + ". Nothing was changed", warnings)

    what = f"TMOUT {tmout}" + (" readonly" if readonly else "")
    if taken:
        what += f"; took over {', '.join(taken)}"
    if not changed:
        return _outcome(True, f"login shells already get {what}", warnings=warnings)
    changes = {}
    bash_before = (old or {}).get("bash", {})
    if bash_before.get("value") != str(tmout):
        changes["TMOUT"] = {"old": bash_before.get("value"), "new": str(tmout)}
    if bash_before.get("readonly", False) != readonly:
        changes["readonly"] = {"old": bash_before.get("readonly"), "new": readonly}
    if taken:
        changes["taken_over"] = {"old": [], "new": taken}
    for path, mode in wrong_modes.items():
        changes[f"mode {path}"] = {"old": mode, "new": f"{modes[path]:04o} root:root"}
    changes["diff"] = idlelock_shell.diff(texts, changed)
    if test:
        return _outcome(None, f"login shells would get {what}", changes, warnings)
    try:
        idlelock_system.write_backups(
            root, {path: path + idlelock_shell.BACKUP_SUFFIX for path in changed
                   if path in {source.rsplit(":", 1)[0] for source in taken}}
        )
        idlelock_system.write_all(root, changed, modes)
    except OSError as exc:
        return _write_failed(exc, warnings)
    return _outcome(True, f"login shells get {what}", changes, warnings)


def _check_shell_candidate(resolved, changed, files, warnings, modes):
    """
    Run the shells on the candidate, as root, as a regular user and as a
    member of each exempt group; return ``(failures, probes before)``.

    When no private mount namespace can be made, fall back to the file text:
    every foreign readonly TMOUT left in the candidate is a failure.
    """
    shell = resolved["shell"]
    root, exempt = resolved["root"], shell["exempt_groups"]
    try:
        after = idlelock_facts.probe_shells(root, changed or None, files, exempt, modes)
        before = (idlelock_facts.probe_shells(root, files=files, exempt_groups=exempt)
                  if changed else after)
    except idlelock_system.ProbeError as exc:
        warnings.append(f"could not run login shells on the candidate ({exc}); "
                        "judged from the file text only")
        planned = idlelock_facts.shell_texts(resolved["root"], shell)
        planned.update(changed)
        lines = idlelock_shell.scan(planned, (shell["profile_file"],))["lines"]
        return [f"{c['source']} {c['problem']}"
                for c in idlelock_shell.static_conflicts(lines)], None
    hooked = bool(shell["bashrc_file"]) and (
        shell["bashrc_file"] in changed
        or idlelock_system.read_text(root, shell["bashrc_file"]) is not None)
    failures, notes = idlelock_shell.judge(after, shell, non_login=hooked)
    warnings.extend(notes)
    return failures, before


def _logind_support(resolved):
    """``(supported, reason)``: does this system's logind honour StopIdleSessionSec?"""
    return idlelock_facts.logind_support(resolved, __grains__)


def set_logind(test=None, **kwargs):
    """
    Write the logind drop-in ``[Login] StopIdleSessionSec=``; the write path of
    the ``idlelock.logind`` state.

    Opt-in (``logind:enabled``): logind stops the whole session, tmux and
    screen included. Only where systemd-logind >= 252 runs; elsewhere the run
    succeeds and says why it skipped. The SLS restarts systemd-logind through
    a ``watch``, so only on change.

    test
        Predict the change and write nothing (``result: None``).

    CLI Example:

    .. code-block:: bash

        salt '*' idlelock.set_logind test=True
        salt '*' idlelock.set_logind enabled=True stop_idle_session_sec=900
    """
    test, resolved, outcome = _begin(kwargs, "logind", test, "logind is")
    if outcome:
        return outcome
    logind, root = resolved["logind"], resolved["root"]
    supported, reason = _logind_support(resolved)
    if not supported:
        return _outcome(True, f"logind skipped: {reason}")
    path, seconds = logind["conf_file"], logind["stop_idle_session_sec"]
    old = idlelock_system.read_text(root, path)
    new = idlelock_shell.render_logind(seconds)
    if old == new:
        return _outcome(True, f"logind already has StopIdleSessionSec={seconds}")
    before, _ = idlelock_shell.logind_effective([(path, old)])
    changes = {"StopIdleSessionSec": {"old": before, "new": str(seconds)},
               "diff": idlelock_shell.diff({path: old}, {path: new})}
    if test:
        return _outcome(None, f"{path} would set StopIdleSessionSec={seconds}", changes)
    try:
        idlelock_system.write_all(root, {path: new})
    except OSError as exc:
        return _write_failed(exc)
    return _outcome(True, f"{path} sets StopIdleSessionSec={seconds}", changes)
