"""
Enforce and inspect a resolved idle-timeout policy on one host: the bodies of
``idlelock.get``, ``idlelock.audit`` and ``idlelock.set_*``.

Salt-free orchestration over the pure modules and ``idlelock_system``: each
function takes a resolved policy (and the host facts that only Salt knows, such
as logind support from grains), plans, proves the candidate with the real
daemons and shells, writes atomically or changes nothing, and returns a plain
outcome. The execution module resolves the policy and turns errors into Salt's.
"""

import difflib
import functools
import logging
import os

import idlelock_audit
import idlelock_facts
import idlelock_logind
import idlelock_policy
import idlelock_shell
import idlelock_sshd
import idlelock_system
import idlelock_unplan

log = logging.getLogger(__name__)

MANAGED = idlelock_facts.MANAGED
# Where the per-root locks live, under the minion's cachedir: the schedule and an
# administrator's salt-call share it.
LOCKS = ("idlelock", "locks")


# ---------------------------------------------------------------- outcomes
def outcome(result, comment, changes=None, warnings=()):
    """
    What every ``set_*`` returns, and its state turns into a state return: text
    only, with bytes that are not UTF-8 shown as ``\\xNN`` (Salt must serialise it).
    """
    return idlelock_system.printable({"result": result, "comment": comment,
                                      "changes": changes or {}, "warnings": list(warnings)})


def fail(comment, warnings=()):
    return outcome(False, comment, warnings=warnings)


def _write_failed(exc, warnings=()):
    if isinstance(exc, idlelock_system.RestoreFailed):
        return fail(str(exc), warnings)
    if isinstance(exc, OSError):
        return fail(f"Writing {exc.filename or 'a file'} failed ({exc.strerror}); "
                    "every file was restored", warnings)
    return fail(f"{exc}; every file was restored", warnings)


def locked(cachedir, root, warnings, body):
    """
    ``body()`` under the lock of ``root`` (kept under the minion's
    ``cachedir``), for one run's read, prove and write: a scheduled run and an
    administrator's salt-call take turns. A ProbeError (a busy root, a file
    that cannot be read, no sshd) fails the run, with ``warnings``, and
    changes nothing.
    """
    try:
        with idlelock_system.root_lock(os.path.join(cachedir, *LOCKS), root):
            return body()
    except idlelock_system.ProbeError as exc:
        return fail(f"{exc}; nothing was changed", warnings)


def diff(old_texts, new_texts):
    """A unified diff of every changed file (``None`` text: a file created or deleted)."""
    chunks = []
    for path, new in new_texts.items():
        old = old_texts.get(path)
        chunks.extend(difflib.unified_diff(
            idlelock_sshd.split_lines(old or "", keepends=True),
            idlelock_sshd.split_lines(new or "", keepends=True),
            fromfile=path if old is not None else "/dev/null",
            tofile=path if new is not None else "/dev/null",
        ))
    return "".join(chunks)


# ---------------------------------------------------------------- host
def sshd_version(binary, root):
    """``(version tuple, text)`` of the OpenSSH at ``binary``, or ``(None, None)``.

    Probed once per process for as long as the binary is unchanged.
    """
    try:
        if not os.path.isfile(idlelock_system.host_path(root, binary)):
            return None, None
        return idlelock_system.sshd_version(binary, root)
    except idlelock_system.ProbeError as exc:
        log.warning("idlelock: %s", exc)
        return None, None


def root_error(root):
    """Why ``root`` cannot be managed (not a directory), or ``None``."""
    if not isinstance(root, str):
        return None  # the schema check names the bad value
    try:
        idlelock_system.check_root(root)
    except idlelock_system.ProbeError as exc:
        return f"idlelock:{exc}"
    return None


# ---------------------------------------------------------------- sshd
def _sshd_paths(resolved):
    return resolved["root"], resolved["sshd"]["config"], resolved["sshd"]["binary"]


def override_notes(tree, version):
    """Describe Match blocks that set a managed keyword for some connections."""
    notes = []
    for keyword, directive in tree.match_overrides(MANAGED):
        if idlelock_sshd.is_own(directive):
            continue  # idlelock's exempt_groups block, reported as such by set_sshd
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


def sshd_state(resolved):
    """The live sshd state: version, effective values, sources, Match overrides."""
    root, config, binary = _sshd_paths(resolved)
    # Not sshd_version(): a hung or broken binary must be named as such here.
    version, text = idlelock_system.sshd_version(binary, root)
    tree, read, expand = idlelock_facts.sshd_tree(root, config)
    effective, note = idlelock_facts.sshd_effective(root, binary, config, tree,
                                                    files=idlelock_sshd.inputs(tree))
    return {
        "version": version,
        "text": text,
        "effective": effective,
        "host_key_note": note,
        "tree": tree,
        "read": read,
        "expand": expand,
        "reload": idlelock_facts.reload_facts(resolved, tree, effective),
    }


def get(resolved, logind_support):
    """The body of ``idlelock.get``; ``logind_support`` is ``(supported, reason)``."""
    root, config, binary = _sshd_paths(resolved)
    report = {"root": root, "config": config, "binary": binary}
    # Before any probe: the shell probes stage files inside the root.
    problem = root_error(root)
    if problem:
        report["error"] = problem
        return report
    report["shell"] = idlelock_facts.shell_report(resolved)
    report["logind"] = idlelock_facts.logind_report(resolved, *logind_support)
    try:
        idlelock_system.check_root(root, binary)
        live = sshd_state(resolved)
    except (idlelock_system.ProbeError, idlelock_sshd.ConfigError) as exc:
        report["error"] = str(exc)
        return idlelock_system.printable(report)
    winners = live["tree"].winners(MANAGED)
    report["openssh"] = live["text"]
    if live["host_key_note"]:
        report["sshd_note"] = live["host_key_note"]
    report["sshd"] = {
        keyword: {
            "value": live["effective"].get(keyword.lower()),
            "source": winners[keyword].source if keyword in winners else "default",
        }
        for keyword in MANAGED
    }
    report["match_overrides"] = override_notes(live["tree"], live["version"])
    report["reload"] = live["reload"]
    return idlelock_system.printable(report)


def reload_status(resolved):
    """
    The body of ``idlelock.reload_status``: ``idlelock_facts.reload_facts`` of
    the live sshd, or None where sshd is not managed, cannot be probed (the
    sshd state reports that itself) or lies under another ``root``.
    """
    if not resolved["sshd"]["enabled"]:
        return None
    try:
        idlelock_system.check_root(resolved["root"], resolved["sshd"]["binary"])
        return sshd_state(resolved)["reload"]
    except (idlelock_system.ProbeError, idlelock_sshd.ConfigError):
        return None


def audit(resolved, profile, logind_support):
    """
    The body of ``idlelock.audit``: probe the host and judge it against ``profile``.

    Raises ``ValueError`` for an unknown profile.
    """
    supported, reason = logind_support
    thresholds = idlelock_audit.profile_thresholds(profile, resolved, supported)
    version, openssh = None, None
    if resolved["sshd"]["enabled"]:
        version, openssh = sshd_version(resolved["sshd"]["binary"], resolved["root"])
    facts = idlelock_facts.audit_facts(
        resolved, version, idlelock_facts.logind_report(resolved, supported, reason))
    result = idlelock_audit.judge(facts, profile, thresholds, resolved["timeout"])
    result.update(
        environment=resolved["environment"],
        timeout=resolved["timeout"],
        openssh=openssh,
        matches=[{key: block[key] for key in ("match", "source", "connection", "reason")
                  if key in block} for block in facts["matches"]],
    )
    return idlelock_system.printable(result)


def _unenforced(effective, tree, desired):
    """Why ``effective`` (sshd -T) misses a ``desired`` value, naming the line that wins."""
    winners = tree.winners(desired)
    for keyword, value in desired.items():
        # Whole values, both sides in sshd's units: sshd 9.x prints a
        # ChannelTimeout list as written (direct-tcpip=1h), later ones in seconds.
        want = idlelock_sshd.normalize(keyword, value)
        got = effective.get(keyword.lower())
        if idlelock_sshd.normalize(keyword, got) != want:
            source = winners[keyword].source if keyword in winners else "sshd's default"
            return f"{keyword} would be {got!r}, not {want!r}: {source} wins"
    return None


def verify_candidate(resolved, candidate_tree, desired, exemption=None, proof=None):
    """
    Validate the whole candidate with sshd before anything is replaced.

    Returns ``None`` when sshd accepts it and every desired value is effective,
    else the reason, naming the file and line that win. With ``exemption``
    (the plan's Match Group block), ``proof`` receives what
    ``idlelock_facts.prove_exemption`` finds on the candidate.
    """
    root, _, binary = _sshd_paths(resolved)
    with idlelock_system.stage_dir(root) as scratch:
        files, main, names = idlelock_sshd.stage(candidate_tree, scratch)
        idlelock_system.write_plain(root, files)
        try:
            effective = idlelock_facts.sshd_effective(root, binary, main, candidate_tree)[0]
            if exemption:
                proof.extend(idlelock_facts.prove_exemption(resolved, main, exemption))
        except idlelock_system.Rejected as exc:
            return "sshd rejects the candidate configuration: " + idlelock_sshd.unstage_message(
                str(exc), names
            )
    return _unenforced(effective, candidate_tree, desired)


def prove_written(resolved, desired):
    """
    After the write: ``sshd -T`` on the real files, read the way sshd reads
    them, must show every desired value. Raises ProbeError naming the line
    that wins otherwise (the caller rolls back).
    """
    root, config, binary = _sshd_paths(resolved)
    tree = idlelock_facts.sshd_tree(root, config)[0]
    effective = idlelock_facts.sshd_effective(root, binary, config, tree,
                                              files=list(tree.texts))[0]
    problem = _unenforced(effective, tree, desired)
    if problem:
        raise idlelock_system.ProbeError(f"after writing, sshd -T disagrees: {problem}")


_UNREADABLE = (idlelock_sshd.ConfigError, idlelock_system.OutsideRoot, idlelock_system.NotRegular)


def set_sshd(resolved, test, cachedir):
    """The body of ``idlelock.set_sshd`` for a valid policy with ``sshd:enabled``;
    ``cachedir`` is the minion's (for the per-root locks)."""
    warnings = list(resolved["warnings"]) + idlelock_policy.short_timeouts(resolved, "sshd")
    try:
        idlelock_system.check_root(resolved["root"], resolved["sshd"]["binary"])
    except idlelock_system.ProbeError as exc:
        return fail(f"{exc}; nothing was changed", warnings)
    return locked(cachedir, resolved["root"], warnings,
                  lambda: _set_sshd(resolved, test, warnings))


def _set_sshd(resolved, test, warnings):
    """``set_sshd`` under the root's lock: read, plan, prove, write, prove again."""
    try:
        live = sshd_state(resolved)
    except _UNREADABLE as exc:
        return fail(f"Cannot read the sshd configuration, so idlelock leaves it untouched: {exc}",
                    warnings)
    except idlelock_system.Rejected as exc:
        return fail(
            "sshd rejects the current configuration, so idlelock leaves it untouched: "
            f"{exc}",
            warnings,
        )
    desired, kept = idlelock_sshd.carry_list_entries(
        live["tree"], idlelock_policy.sshd_directives(resolved["sshd"]), live["effective"])
    warnings += kept
    for note in override_notes(live["tree"], live["version"]):
        state = "" if note["effective"] else " (ignored: OpenSSH < 10.5 ignores ChannelTimeout in Match)"
        if note["effective"] and note["keyword"] == "ChannelTimeout" \
                and note["value"].lower() == "none":  # sshd's arguments: no blanks left
            state = (" (OpenSSH 10.6 drops each such session as it opens: 'bad timeout none'; "
                     "use session:*=0 to turn the timeout off)")
        warnings.append(
            f"{note['match']} at {note['match_source']} sets {note['keyword']} "
            f"{note['value']} at {note['source']} for matching connections{state}"
        )
    groups = resolved["exempt_groups"] if resolved["sshd"]["exempt"] else ()
    try:
        plan = idlelock_sshd.plan(live["tree"], desired, live["read"], live["expand"],
                                  resolved["sshd"]["layout"], groups)
        if plan.target != live["tree"].main:
            idlelock_system.check_own(resolved["root"], plan.target, "idlelock's sshd drop-in")
    except _UNREADABLE as exc:
        return fail(f"Cannot plan the sshd configuration: {exc}; nothing was changed", warnings)
    settings = ", ".join(f"{k} {v}" for k, v in desired.items()) or "nothing"
    keyless = f" ({live['host_key_note']})" if live["host_key_note"] else ""
    if groups and plan.exemption is None:
        warnings.append(
            f"idlelock's block is at the top of {plan.target} (sshd:layout main, or no drop-in "
            "directory included before any Match), so it writes no Match Group block for "
            "exempt_groups (in the main file it would capture the lines after it); the shell "
            "guard is the only exemption")
    if plan.exemption:
        settings += (f"; Match {plan.exemption['match']}: ChannelTimeout "
                     f"{plan.exemption['ChannelTimeout']}")
    manage = resolved["sshd"]["manage_service"]
    if not plan.texts:
        note, warning = idlelock_sshd.reload_note(live["reload"], manage)
        if not note:
            return outcome(True, f"sshd already enforces {settings}{keyless}", warnings=warnings)
        # A reload that failed or was skipped, or a hand edit: report it as a
        # change so that the service reload watching this state runs again.
        changes = ({"reload": {"old": live["reload"]["summary"], "new": "reload requested"}}
                   if manage and live["reload"]["pending"] else {})
        return outcome(None if test and changes else True,
                       f"sshd files already set {settings}{note}{keyless}", changes,
                       warnings + [warning] * bool(warning))
    proof = []
    problem = verify_candidate(resolved, plan.tree, desired, plan.exemption, proof)
    if problem:
        return fail(f"{problem}; nothing was changed", warnings)
    if plan.exemption:
        proven, problems = proof
        warnings.extend(problems)
        settings += f" (proven with sshd -T -C for {', '.join(proven) or 'no member'})"
    changes = {
        keyword: {"old": live["effective"].get(keyword.lower()), "new": value}
        for keyword, value in desired.items()
        if idlelock_sshd.normalize(keyword, live["effective"].get(keyword.lower()))
        != idlelock_sshd.normalize(keyword, value)
    }
    changes["diff"] = diff(live["tree"].texts, plan.texts)
    disabled = "".join(f"; commented out {d.source} ({d.keyword} {d.value})" for d in plan.disabled)
    if not test:
        try:
            # The staged copy proved the plan; the files sshd really reads prove
            # the result. Anything going wrong in between, SIGTERM included, puts
            # the old files back, owner and mode included. A hardened host's 0600
            # sshd_config and 0700 sshd_config.d stay so: a new drop-in is never
            # more permissive than the main file, a new directory takes its
            # parent's mode; existing files keep theirs.
            main_mode = idlelock_system.file_mode(resolved["root"], resolved["sshd"]["config"])
            with idlelock_system.all_or_nothing(resolved["root"]) as txn:
                txn.write(plan.texts, new_mode=(main_mode[0] if main_mode else 0o644) & 0o644,
                          dir_mode=None)
                prove_written(resolved, desired)
        except (OSError, idlelock_system.ProbeError) as exc:
            return _write_failed(exc, warnings)
    note, warning = idlelock_sshd.reload_note(idlelock_facts.reload_facts(
        resolved, plan.tree, live["effective"], writing=plan.texts if test else ()), manage)
    warnings += [warning] * bool(warning)
    verb = ("files would set" if test else "files set") if note else (
        "would enforce" if test else "enforces")
    return outcome(None if test else True, f"sshd {verb} {settings}{disabled}{note}{keyless}",
                   changes, warnings)


# ---------------------------------------------------------------- shell
def set_shell(resolved, test, cachedir):
    """The body of ``idlelock.set_shell`` for a valid policy with ``shell:enabled``;
    ``cachedir`` is the minion's (for the per-root locks)."""
    warnings = idlelock_policy.short_timeouts(resolved, "shell")
    return locked(cachedir, resolved["root"], warnings,
                  lambda: _set_shell(resolved, test, warnings))


def _set_shell(resolved, test, warnings):
    """``set_shell`` under the root's lock: read, plan, prove with real shells, write."""
    shell, root = resolved["shell"], resolved["root"]
    for path in (shell["profile_file"], shell["csh_file"]):
        idlelock_system.check_own(root, path, "idlelock's login-shell file")
    texts = idlelock_facts.shell_texts(root, shell)
    managed = (shell["profile_file"],)
    found = idlelock_shell.scan(texts, managed)
    planned, taken = dict(texts), []
    if shell["takeover"]:
        edits, taken, refused = idlelock_shell.plan_takeover(texts, found["lines"])
        if refused:
            return fail(
                f"takeover cannot rewrite {', '.join(refused)}: the line does more than set "
                "TMOUT; edit it by hand. Nothing was changed"
            )
        planned.update(edits)
    for source in {source.rsplit(":", 1)[0] for source in taken}:
        idlelock_system.check_own(root, source + idlelock_shell.BACKUP_SUFFIX,
                                  f"where idlelock keeps the original of {source}", replaced=True)
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

    failures, old = check_shell_candidate(resolved, changed, list(texts), warnings, modes)
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
        return fail("; ".join(failures) + hint + ". Nothing was changed", warnings)

    what = f"TMOUT {tmout}" + (" readonly" if readonly else "")
    if taken:
        what += f"; took over {', '.join(taken)}"
    if not changed:
        return outcome(True, f"login shells already get {what}", warnings=warnings)
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
    changes["diff"] = diff(texts, changed)
    if test:
        return outcome(None, f"login shells would get {what}", changes, warnings)
    taken_files = {source.rsplit(":", 1)[0] for source in taken}
    try:
        # The backup is the file without idlelock's takeover marks: complete,
        # whatever an earlier, interrupted run left at the backup path.
        idlelock_system.write_backups(root, {
            path + idlelock_shell.BACKUP_SUFFIX: (path, idlelock_unplan.unmark(
                texts[path], idlelock_shell.TAKEOVER_RE)[0].encode("utf-8", "surrogateescape"))
            for path in changed if path in taken_files})
        idlelock_system.write_all(root, changed, modes)
    except (OSError, idlelock_system.ProbeError) as exc:
        return _write_failed(exc, warnings)
    return outcome(True, f"login shells get {what}", changes, warnings)


def check_shell_candidate(resolved, changed, files, warnings, modes):
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


# ---------------------------------------------------------------- logind
def set_logind(resolved, test, logind_support, cachedir):
    """The body of ``idlelock.set_logind`` for a valid policy with ``logind:enabled``;
    ``logind_support`` is ``(supported, reason)``, ``cachedir`` the minion's (for the
    per-root locks)."""
    supported, reason = logind_support
    if not supported:
        return outcome(True, f"logind skipped: {reason}")
    warnings = idlelock_policy.short_timeouts(resolved, "logind")
    return locked(cachedir, resolved["root"], warnings,
                  lambda: _set_logind(resolved, test, warnings))


def _set_logind(resolved, test, warnings):
    """``set_logind`` under the root's lock."""
    logind, root = resolved["logind"], resolved["root"]
    path, seconds = logind["conf_file"], logind["stop_idle_session_sec"]
    idlelock_system.check_own(root, path, "idlelock's logind drop-in")
    texts = idlelock_facts.logind_texts(root, path, candidate=(path,))
    old = dict(texts).get(path)
    new = idlelock_logind.render_logind(seconds)
    candidate = [(p, new if p == path else text) for p, text in texts]
    planned, taken = {path: new}, []
    beaten = idlelock_logind.conflicts(candidate, path)
    if beaten and logind.get("takeover"):
        edits = idlelock_logind.plan_takeover(candidate, beaten)
        planned.update(edits)
        candidate = [(p, edits.get(p, text)) for p, text in candidate]
        taken = [f"{p}:{n}" for p, n, _ in beaten]
    # What systemd-logind will apply once written: every directory, same-name
    # masking, the last assignment winning; checked before anything is written.
    value, source = idlelock_logind.logind_effective(candidate)
    stop = idlelock_logind.read(candidate)[1]
    if stop and (value != str(seconds) or not (source or "").startswith(path + ":")):
        return fail(f"systemd-logind stops reading its configuration at {stop}, so "
                    f"StopIdleSessionSec would be {value!r}, not '{seconds}'; fix that "
                    "line first. Nothing was changed", warnings)
    if value != str(seconds) or not (source or "").startswith(path + ":"):
        winner = f"{source} wins" if source else f"{path} is masked by a drop-in of its name"
        hint = "" if logind.get("takeover") else " (logind:takeover: true comments it out)"
        return fail(f"StopIdleSessionSec would be {value!r}, not '{seconds}': {winner}"
                    f"{hint}. Nothing was changed", warnings)
    changed = {p: text for p, text in planned.items() if dict(texts).get(p) != text}
    if not changed:
        return outcome(True, f"logind already has StopIdleSessionSec={seconds}",
                       warnings=warnings)
    before, _ = idlelock_logind.logind_effective(texts)
    changes = {"StopIdleSessionSec": {"old": before, "new": str(seconds)},
               "diff": diff(dict(texts), changed)}
    taken_note = f"; took over {', '.join(taken)}" if taken else ""
    if taken:
        changes["taken_over"] = {"old": [], "new": taken}
    if test:
        return outcome(None, f"{path} would set StopIdleSessionSec={seconds}{taken_note}",
                       changes, warnings)
    try:
        # Each taken-over file's backup holds it without idlelock's marks.
        idlelock_system.write_backups(root, {
            p + idlelock_shell.BACKUP_SUFFIX: (p, idlelock_unplan.unmark(
                dict(texts)[p], idlelock_logind.TAKEOVER_RE)[0].encode("utf-8", "surrogateescape"))
            for p in changed if p != path})
        idlelock_system.write_all(root, changed)
    except (OSError, idlelock_system.ProbeError) as exc:
        return _write_failed(exc, warnings)
    return outcome(True, f"{path} sets StopIdleSessionSec={seconds}{taken_note}", changes,
                   warnings)


# ---------------------------------------------------------------- removal
# The bodies of ``idlelock.remove``. Each ``remove_*`` returns an outcome whose
# ``changes`` hold ``removed`` (files deleted), ``restored`` (``file:line`` given
# back) and a unified ``diff``; empty ``changes``: there was nothing to remove.
# The pure half, what each file held before idlelock, is ``idlelock_unplan``.
def _apply(root, what, removal, old_texts, test):
    """Predict or write ``removal``; ``what`` names the mechanism in the comment."""
    if not removal.texts:
        return outcome(True, f"{what}: nothing to remove", warnings=removal.notes)
    changes = {"removed": sorted(p for p, text in removal.texts.items() if text is None),
               "restored": removal.restored,
               "diff": diff(old_texts, removal.texts)}
    changes = {key: value for key, value in changes.items() if value}
    summary = "; ".join(
        part for part in (
            f"files {', '.join(changes['removed'])}" if changes.get("removed") else "",
            f"lines {', '.join(changes['restored'])} given back" if changes.get("restored") else "",
        ) if part) or "idlelock's lines"
    if test:
        return outcome(None, f"{what}: would remove {summary}", changes, removal.notes)
    try:
        idlelock_system.write_all(root, removal.texts)
    except OSError as exc:
        return outcome(False, f"{what}: writing {exc.filename or 'a file'} failed "
                               f"({exc.strerror}); every file was restored", warnings=removal.notes)
    except idlelock_system.RestoreFailed as exc:
        return outcome(False, f"{what}: {exc}", warnings=removal.notes)
    except idlelock_system.ProbeError as exc:
        return outcome(False, f"{what}: {exc}; every file was restored", warnings=removal.notes)
    return outcome(True, f"{what}: removed {summary}", changes, removal.notes)


def _refusing(what):
    """A ``remove_*`` whose file it cannot read (a special file, a symlink at a
    backup path, a path out of ``root``) fails, names it and changes nothing."""
    def wrap(function):
        @functools.wraps(function)
        def run(resolved, test):
            try:
                return function(resolved, test)
            except idlelock_system.ProbeError as exc:
                return outcome(False, f"{what}: {exc}; nothing was changed")
        return run
    return wrap


def _sshd_accepts(root, binary, tree):
    """``None`` when sshd accepts the configuration ``tree``, else sshd's reason."""
    with idlelock_system.stage_dir(root) as scratch:
        files, main, names = idlelock_sshd.stage(tree, scratch)
        idlelock_system.write_plain(root, files)
        try:
            # An image without host keys is judged like set_sshd judges it.
            idlelock_facts.sshd_effective(root, binary, main, tree)
        except idlelock_system.ProbeError as exc:
            return idlelock_sshd.unstage_message(str(exc), names)
    return None


@_refusing("sshd")
def remove_sshd(resolved, test):
    """
    Take idlelock out of the sshd configuration: delete ``00-idlelock.conf`` (or
    the block at the top of the main file) and give back every line it
    commented out, byte for byte.

    The whole restored configuration is validated with ``sshd -T`` before
    anything is written; when sshd rejects it (a line given back that this
    sshd no longer accepts), nothing changes and the comment names the line.
    """
    root, config, binary = resolved["root"], resolved["sshd"]["config"], resolved["sshd"]["binary"]
    what = "sshd"
    try:
        idlelock_system.check_root(root)
    except idlelock_system.ProbeError as exc:
        return outcome(False, f"{what}: {exc}; nothing was changed")
    if idlelock_system.read_text(root, config) is None:
        return outcome(True, f"{what}: nothing to remove ({config} does not exist)")
    try:
        tree, read, expand = idlelock_facts.sshd_tree(root, config)
    except idlelock_sshd.ConfigError as exc:
        return outcome(False, f"{what}: cannot read the configuration, so idlelock leaves it "
                               f"untouched: {exc}")
    target = idlelock_sshd.dropin_target(tree)
    removal = idlelock_unplan.unplan_sshd(
        tree, read(target) if target else None, MANAGED)
    if removal.refusals:
        return outcome(False, f"{what}: {'; '.join(removal.refusals)}; nothing was changed",
                       warnings=removal.notes)
    if removal.texts:
        try:
            idlelock_system.check_root(root, binary)
            candidate = idlelock_sshd.walk(config, *idlelock_sshd.overlay(read, expand,
                                                                          removal.texts))
            problem = _sshd_accepts(root, binary, candidate)
        except (idlelock_system.ProbeError, idlelock_sshd.ConfigError) as exc:
            problem = str(exc)
        if problem:
            given = (f" (lines given back: {', '.join(removal.restored)})"
                     if removal.restored else "")
            return outcome(False, f"{what}: the restored configuration would be invalid: "
                                   f"{problem}{given}; nothing was changed",
                            warnings=removal.notes)
    return _apply(root, what, removal, {**tree.texts, **({target: read(target)} if target else {})},
                  test)


def _backups(root, texts, patterns):
    """
    ``{path: text of its backup}`` for every file idlelock may have taken over:
    ``texts``' paths, and the files ``patterns`` (globs) name.
    """
    suffix = idlelock_shell.BACKUP_SUFFIX
    candidates = set(texts)
    for pattern in patterns:
        # A taken-over file deleted since still leaves its backup behind.
        candidates.update(path[:-len(suffix)]
                          for path in idlelock_system.expand_glob(root, pattern + suffix))
    found = {}
    for path in sorted(candidates):
        # Only a regular file is a backup idlelock made: a symlink there would
        # give back another file's text.
        idlelock_system.check_own(root, path + suffix,
                                  f"where idlelock keeps the original of {path}")
        text = idlelock_system.read_text(root, path + suffix)
        if text is not None:
            found[path] = text
    return found


@_refusing("login shells")
def remove_shell(resolved, test):
    """
    Take idlelock out of the login shells: delete the profile and csh files,
    remove the zsh hook block, give back every line it took over and delete
    the ``.idlelock.bak`` copies (see ``idlelock_unplan.unplan_shell``).
    """
    root, shell = resolved["root"], resolved["shell"]
    try:
        idlelock_system.check_root(root)
    except idlelock_system.ProbeError as exc:
        return outcome(False, f"login shells: {exc}; nothing was changed")
    texts = idlelock_facts.shell_texts(root, shell)
    backups = _backups(root, texts, idlelock_shell.SHELL_FILES)
    removal = idlelock_unplan.unplan_shell(
        texts, backups, own=(shell["profile_file"], shell["csh_file"]))
    old = dict(texts)
    old.update({path + idlelock_shell.BACKUP_SUFFIX: text for path, text in backups.items()})
    return _apply(root, "login shells", removal, old, test)


@_refusing("logind")
def remove_logind(resolved, test):
    """
    Delete the logind drop-in, give back the lines ``logind:takeover`` commented
    out and delete their ``.idlelock.bak`` copies (``idlelock_unplan.unplan_logind``).
    systemd-logind is not restarted: it keeps StopIdleSessionSec until its next
    restart (stopping sessions is what a restart could do wrong).
    """
    root, path = resolved["root"], resolved["logind"]["conf_file"]
    try:
        idlelock_system.check_root(root)
    except idlelock_system.ProbeError as exc:
        return outcome(False, f"logind: {exc}; nothing was changed")
    texts = dict(idlelock_facts.logind_texts(root, path))
    texts.setdefault(path, idlelock_system.read_text(root, path))
    # A taken-over file deleted since still leaves its backup in a directory logind reads.
    patterns = idlelock_logind.LOGIND_MAINS + tuple(
        directory + "/*.conf" for directory in
        idlelock_logind.LOGIND_DIRS + (os.path.dirname(path),))
    backups = _backups(root, texts, patterns)
    old = dict(texts)
    old.update({p + idlelock_shell.BACKUP_SUFFIX: text for p, text in backups.items()})
    ret = _apply(root, "logind", idlelock_unplan.unplan_logind(path, texts, backups), old, test)
    if ret["changes"]:
        ret["warnings"].append("systemd-logind keeps StopIdleSessionSec until it restarts "
                               "(idlelock restarts nothing when it is removed)")
    return ret
