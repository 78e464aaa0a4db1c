"""
Close idle SSH and shell sessions: read, resolve and enforce the idle timeout.

The policy comes from the ``idlelock`` pillar key (minion config wins over
pillar, as with ``config.get``) over ``_utils/idlelock_defaults.py``. This
module is Salt glue: it resolves the policy from Salt's data and hands it to
``idlelock_enforce`` (plan, prove, write), turning its outcomes into Salt's.
"""

import copy
import logging
import os

import idlelock_defaults
import idlelock_enforce
import idlelock_facts
import idlelock_policy
import idlelock_reload
import idlelock_system
import idlelock_verdict

import salt.utils.json
import salt.utils.platform
import salt.utils.process
from salt.exceptions import CommandExecutionError

idlelock_reload.reload_replaced()

log = logging.getLogger(__name__)

__virtualname__ = "idlelock"


def __virtual__():
    if salt.utils.platform.is_windows():
        return False, "idlelock manages OpenSSH and POSIX shells; Windows is not supported"
    return __virtualname__


# ---------------------------------------------------------------- policy
# Under salt-ssh, ``salt-call`` on the target compiles no pillar; idlelock's
# wrapper (_wrapper/idlelock.py) ships the target's ``idlelock`` pillar in this
# minion option instead. Its presence also means: no minion daemon here.
SSH_PILLAR = "idlelock_ssh_pillar"
# Probe answers that state runs may reuse while their inputs are unchanged.
PROBE_RECORD = ("idlelock", "probes.json")


def _pillar():
    """The ``idlelock`` pillar key: from salt-ssh's wrapper, else ``__pillar__``."""
    if SSH_PILLAR in __opts__:
        return __opts__[SSH_PILLAR]
    return __pillar__.get("idlelock", {})


def _resolve(overrides=None, record=True, judge_profile=True):
    """
    ``(policy, errors)`` for this minion: idlelock's defaults with the per-OS
    data for its ``os_family`` grain, then pillar, minion config and
    ``overrides``, with ``auto`` resolved for its OpenSSH. Every entry point
    (CLI, states, audit, formula) resolves here, so all get the same values.

    ``record``: probes may be answered from the record of earlier runs for up to
    ``proof_max_age`` (state runs); ``"read"``: the same, but nothing is added
    to the record (the formula's rendering writes nothing); ``False``: every
    probe runs (``get`` and ``audit`` are the live answer).
    """
    defaults = idlelock_policy.defaults_for(__grains__.get("os_family"))
    merge = idlelock_policy.merge
    raw = merge(merge(_pillar(), __opts__.get("idlelock", {})), overrides or {})
    merged = merge(defaults, raw if isinstance(raw, dict) else {})
    try:  # before the version probe below; a bad value is refused by resolve()
        max_age = idlelock_policy.parse_seconds(merged.get("proof_max_age")) if record else 0
    except ValueError:
        max_age = 0
    idlelock_system.remember_probes(
        os.path.join(__opts__["cachedir"], *PROBE_RECORD) if max_age else None, max_age,
        write=record is True)
    sshd = merged.get("sshd") if isinstance(merged.get("sshd"), dict) else {}
    root = merged.get("root") or "/"
    root_error = idlelock_enforce.root_error(root)
    version = None
    if root_error is None and sshd.get("enabled") is True and isinstance(sshd.get("binary"), str):
        version = idlelock_enforce.sshd_version(sshd["binary"], root)[0]
    policy, errors, _ = idlelock_policy.resolve(raw, defaults, version, judge_profile)
    if root_error:
        errors.insert(0, root_error)
    return policy, errors


def policy(strict=True, **kwargs):
    """
    The resolved policy for this minion: pillar (and minion config) over
    idlelock's defaults and the per-OS data of its ``os_family``, with ``auto``
    resolved for the installed OpenSSH. Reads only: rendering the formula,
    which calls this, changes nothing on the minion.

    strict
        Raise on bad input (the default). With ``strict=False`` the result holds
        the list of ``errors`` instead; the formula uses this to decide what to
        include, while each state still refuses bad input itself.

    Keyword arguments override the policy, each routed to the section whose
    schema has that key (``timeout=300``, ``tmout=120``).

    Returns the policy sections (``timeout``, ``sshd``, ``shell``, ``logind``,
    ``schedule`` with the Salt ``job`` it implies, ...) and, apart from them,
    ``host``: facts about this minion, ``{openssh, logind: {supported,
    reason}, minion_daemon}``.

    CLI Example:

    .. code-block:: bash

        salt '*' idlelock.policy
        salt '*' idlelock.policy timeout=300
    """
    # Every SLS of the formula asks (map.jinja): one resolution per run, as
    # long as nothing it depends on differs.
    key = salt.utils.json.dumps(
        [_pillar(), __opts__.get("idlelock"), kwargs,
         __grains__.get("os_family")], sort_keys=True, default=str)
    cached = __context__.get("idlelock.policy")
    if not cached or cached[0] != key:
        resolved, errors = _resolve(idlelock_policy.route(kwargs), record="read")
        host = _host(resolved)
        resolved["schedule"]["job"] = idlelock_policy.schedule_job(
            resolved["schedule"], offline=not host["minion_daemon"]
        )
        resolved["schedule"]["unavailable"] = idlelock_policy.schedule_unavailable(
            salt_ssh=SSH_PILLAR in __opts__)
        resolved["host"] = host
        cached = __context__["idlelock.policy"] = (key, resolved, errors)
    resolved, errors = copy.deepcopy(cached[1:])
    if errors and strict:
        raise CommandExecutionError("; ".join(errors))
    if not strict:
        resolved["errors"] = errors
    return resolved


def _host(resolved):
    """Facts about this minion that the formula needs beside the policy."""
    supported, reason = _logind_support(resolved)
    openssh = None
    if resolved["sshd"]["enabled"] and idlelock_enforce.root_error(resolved["root"]) is None:
        openssh = idlelock_enforce.sshd_version(resolved["sshd"]["binary"], resolved["root"])[1]
    return {"openssh": openssh, "logind": {"supported": supported, "reason": reason},
            "minion_daemon": _minion_daemon_running()}


def _minion_daemon_running():
    """True when a salt-minion daemon runs with this configuration."""
    # The daemon owns the live schedule and answers schedule.* over its event
    # bus; without it (masterless salt-call) the job goes straight to the file
    # that a daemon reads when it starts.
    pid = salt.utils.process.get_pidfile(__opts__.get("pidfile", ""))
    return pid > 0 and salt.utils.process.os_is_running(pid)


def get(**kwargs):
    """
    The effective idle-timeout settings of this host, with their sources.

    For each managed sshd keyword: the value ``sshd -T`` reports and the
    ``file:line`` that set it (``default`` when no line does), found by following
    Include in sshd's own order. Also the OpenSSH version, and the Match blocks
    that override a managed keyword for some connections. ``reload``: whether
    the running sshd has loaded those files (``pending`` true: a file changed
    after its PID file was written, with the files and times; null: it cannot
    be told), or null under another ``root``.

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
    resolved, _ = _resolve(idlelock_policy.route(kwargs), record=False)
    return idlelock_enforce.get(resolved, _logind_support(resolved))


# ---------------------------------------------------------------- audit
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

    Without keyword arguments the verdict is recorded for the ``idlelock``
    grain (``<cachedir>/idlelock/verdict.json``, with its time).

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
    overrides = idlelock_policy.route(kwargs)
    # Any host against any profile: a policy weaker than its own profile is
    # what an audit should find, not a reason to refuse one.
    resolved, errors = _resolve(overrides, record=False, judge_profile=False)
    if errors:
        raise CommandExecutionError("Bad input: " + "; ".join(errors))
    try:
        result = idlelock_enforce.audit(resolved, profile, _logind_support(resolved))
    except ValueError as exc:  # an unknown profile
        raise CommandExecutionError(str(exc)) from None
    if not overrides:  # this host's own state, not a mounted image's
        idlelock_verdict.record(__opts__["cachedir"], idlelock_verdict.from_audit(result, resolved))
    return result



def reload_status(**kwargs):
    """
    Whether the running sshd has loaded the current configuration files: a
    file sshd reads changed after the listener's PID file was written means a
    pending reload. ``idlelock.get`` reports the same under ``reload``; this
    is its cheap part (one ``sshd -T``, a few ``stat`` calls), which the
    formula's ``idlelock.verdict`` state checks after the service reload.

    Returns ``{pending, pidfile, summary}`` plus, when pending, ``pid``,
    ``loaded`` and ``changed`` ``[{path, at}]``; ``pending`` is None when it
    cannot be told (``PidFile none``). Returns None where sshd is not managed,
    cannot be probed, or under another ``root``. Keyword arguments override
    the policy's ``sshd`` keys (``config``, ``binary``).

    CLI Example:

    .. code-block:: bash

        salt '*' idlelock.reload_status
    """
    resolved, errors = _resolve(idlelock_policy.route(kwargs, "sshd"))
    if errors:
        raise CommandExecutionError("Bad input: " + "; ".join(errors))
    return idlelock_enforce.reload_status(resolved)


def _begin(kwargs, section, test, what):
    """
    ``(test, resolved policy, outcome)`` shared by the ``set_*`` functions.

    ``outcome`` is set when there is nothing more to do: bad input anywhere in
    the policy, or ``<section>:enabled`` false.
    """
    test = __opts__.get("test", False) if test is None else test
    resolved, errors = _resolve(idlelock_policy.route(kwargs, section))
    if errors:
        return test, resolved, idlelock_enforce.fail("Bad input, nothing changed: " + "; ".join(errors))
    if not resolved[section]["enabled"]:
        return test, resolved, idlelock_enforce.outcome(
            True, f"{what} not managed ({section}:enabled is false)")
    return test, resolved, None


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
    return idlelock_enforce.set_sshd(resolved, test, __opts__["cachedir"])


# ---------------------------------------------------------------- shell and logind
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
    return idlelock_enforce.set_shell(resolved, test, __opts__["cachedir"])


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
    return idlelock_enforce.set_logind(resolved, test, _logind_support(resolved), __opts__["cachedir"])


# ---------------------------------------------------------------- removal
REMOVABLE = ("sshd", "shell", "logind", "schedule")
ENFORCING = ("sshd", "shell", "logind")


def _remove_schedule(resolved, test):
    """Delete the idlelock job from the schedule (and from ``_schedule.conf``)."""
    job = idlelock_policy.schedule_job(resolved["schedule"], offline=not _minion_daemon_running())
    name = job["name"]
    jobs = __salt__["schedule.list"](show_all=True, return_yaml=False, offline=job["offline"])
    if name not in (jobs or {}):
        return idlelock_enforce.outcome(True, "schedule: nothing to remove")
    changes = {"removed": [f"schedule job {name}"]}
    if test:
        return idlelock_enforce.outcome(None, f"schedule: would remove job {name}", changes)
    ret = __salt__["schedule.delete"](name, persist=job["persist"], offline=job["offline"])
    if not ret.get("result"):
        return idlelock_enforce.fail(f"schedule: {ret.get('comment')}")
    return idlelock_enforce.outcome(True, f"schedule: removed job {name}", changes)


def remove(test=None, parts=REMOVABLE, **kwargs):
    """
    Remove idlelock from this host: put back every file it touched as it was.

    Deletes ``00-idlelock.conf`` (or the block in the main sshd file) and gives
    back every line idlelock commented out, byte for byte, after ``sshd -T``
    accepts the whole restored configuration; deletes the profile and csh files,
    the zsh hook block, the logind drop-in and the ``.idlelock.bak`` backups,
    giving back every taken-over line; deletes the schedule job. Where a file
    changed after idlelock wrote it, only idlelock's own lines go, and a
    warning says so. No service is reloaded or restarted (the ``idlelock.clean``
    SLS reloads sshd when an sshd file changed). Once sshd, shell or logind
    files changed, the verdict the ``idlelock`` grain reads says idlelock was
    removed (not compliant).

    test
        Predict the removal, with diffs, and write nothing (``result: None``).
        Defaults to the minion's ``test`` option.

    parts
        Which mechanisms to remove: any of ``sshd``, ``shell``, ``logind``,
        ``schedule`` (default: all).

    Keyword arguments override the policy's path keys (``root``, ``config``,
    ``binary``, ``profile_file``, ``csh_file``, ``zsh_file``, ``conf_file``),
    as for ``idlelock.get``.

    Returns ``{result, comment, changes, warnings}``: ``changes`` is keyed by
    mechanism, each ``{removed, restored, diff}``; empty when there was
    nothing to remove. ``result`` is False when any part failed (that part
    changed nothing).

    CLI Example:

    .. code-block:: bash

        salt-call idlelock.remove test=True
        salt '*' idlelock.remove
        salt '*' idlelock.remove parts='[sshd]'
    """
    test = __opts__.get("test", False) if test is None else test
    if isinstance(parts, str):
        parts = [parts]
    unknown = [part for part in parts if part not in REMOVABLE]
    if unknown:
        return idlelock_enforce.fail(f"Bad input, nothing changed: parts {unknown} "
                                     f"(known: {', '.join(REMOVABLE)})")
    resolved, errors = _resolve(idlelock_policy.route(kwargs))
    if errors:
        return idlelock_enforce.fail("Bad input, nothing changed: " + "; ".join(errors))
    # Under the root's lock, as every set_* run: a scheduled set_logind between
    # this run's read and its write would take a line over again after it was
    # reported given back, and its backup would be deleted under it.
    return idlelock_enforce.locked(__opts__["cachedir"], resolved["root"], [],
                                   lambda: _remove(resolved, parts, test))


def _remove(resolved, parts, test):
    """``remove`` for a valid policy, under the root's lock."""

    def run(dry):
        return {part: (_remove_schedule(resolved, dry) if part == "schedule" else
                       getattr(idlelock_enforce, f"remove_{part}")(resolved, dry))
                for part in REMOVABLE if part in parts}

    # All or nothing: a part that would fail (an sshd configuration that the
    # restored lines make invalid) keeps every other part from changing too,
    # so several parts are predicted before any is written.
    outcomes = run(test or len(parts) > 1)
    warnings = [warning for outcome in outcomes.values() for warning in outcome["warnings"]]
    failed = [outcome["comment"] for outcome in outcomes.values() if outcome["result"] is False]
    if failed:
        return idlelock_enforce.fail("; ".join(failed) + "; no part of idlelock was removed",
                                     warnings)
    if not test and len(parts) > 1:
        outcomes = run(False)
    if not test and any(outcomes[part]["changes"] for part in ENFORCING if part in outcomes):
        # The grain must not keep saying "compliant" for a policy that is gone.
        idlelock_verdict.record(__opts__["cachedir"], idlelock_verdict.from_removal(resolved))
    results = [outcome["result"] for outcome in outcomes.values()]
    result = False if False in results else (None if None in results else True)
    return idlelock_enforce.outcome(
        result,
        "; ".join(outcome["comment"] for outcome in outcomes.values()),
        {part: outcome["changes"] for part, outcome in outcomes.items() if outcome["changes"]},
        [warning for outcome in outcomes.values() for warning in outcome["warnings"]],
    )
