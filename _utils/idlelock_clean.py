"""
Remove idlelock from a host: read what is there, work out what was there before
(``idlelock_unplan``), prove it, and write it back all at once.

I/O glue without Salt, like ``idlelock_facts``. Every path is inside the
policy's ``root``. Each ``remove_*`` returns ``{result, comment, changes,
warnings}``: ``result`` is ``None`` under ``test`` (nothing written), ``changes``
holds ``removed`` (files deleted), ``restored`` (``file:line`` given back) and
a unified ``diff``; an empty ``changes`` means there was nothing to remove.
"""

try:
    import idlelock_facts
    import idlelock_shell
    import idlelock_sshd
    import idlelock_system
    import idlelock_unplan
except ImportError:  # pip-installed: _utils is a package, not a sys.path entry
    from idlelock_salt._utils import (
        idlelock_facts,
        idlelock_shell,
        idlelock_sshd,
        idlelock_system,
        idlelock_unplan,
    )


def _outcome(result, comment, changes=None, warnings=()):
    return {"result": result, "comment": comment, "changes": changes or {},
            "warnings": list(warnings)}


def _apply(root, what, removal, old_texts, test):
    """Predict or write ``removal``; ``what`` names the mechanism in the comment."""
    if not removal.texts:
        return _outcome(True, f"{what}: nothing to remove", warnings=removal.notes)
    changes = {"removed": sorted(p for p, text in removal.texts.items() if text is None),
               "restored": removal.restored,
               "diff": idlelock_sshd.diff(old_texts, removal.texts)}
    changes = {key: value for key, value in changes.items() if value}
    summary = "; ".join(
        part for part in (
            f"files {', '.join(changes['removed'])}" if changes.get("removed") else "",
            f"lines {', '.join(changes['restored'])} given back" if changes.get("restored") else "",
        ) if part) or "idlelock's lines"
    if test:
        return _outcome(None, f"{what}: would remove {summary}", changes, removal.notes)
    try:
        idlelock_system.write_all(root, removal.texts)
    except OSError as exc:
        return _outcome(False, f"{what}: writing {exc.filename or 'a file'} failed "
                               f"({exc.strerror}); every file was restored", warnings=removal.notes)
    return _outcome(True, f"{what}: removed {summary}", changes, removal.notes)


def _validate(root, binary, tree):
    """``None`` when sshd accepts the configuration ``tree``, else sshd's reason."""
    with idlelock_system.stage_dir(root) as scratch:
        files, main, names = idlelock_sshd.stage(tree, scratch)
        idlelock_system.write_plain(root, files)
        try:
            idlelock_system.sshd_effective(binary, main, root)
        except idlelock_system.ProbeError as exc:
            return idlelock_sshd.unstage_message(str(exc), names)
    return None


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
        return _outcome(False, f"{what}: {exc}; nothing was changed")
    if idlelock_system.read_text(root, config) is None:
        return _outcome(True, f"{what}: nothing to remove ({config} does not exist)")
    try:
        tree, read, expand = idlelock_facts.sshd_tree(root, config)
    except idlelock_sshd.ConfigError as exc:
        return _outcome(False, f"{what}: cannot read the configuration, so idlelock leaves it "
                               f"untouched: {exc}")
    target = idlelock_sshd.dropin_target(tree)
    removal = idlelock_unplan.unplan_sshd(
        tree, read(target) if target else None, idlelock_facts.MANAGED)
    if removal.texts:
        try:
            idlelock_system.check_root(root, binary)
            candidate = idlelock_sshd.walk(config, *idlelock_sshd.overlay(read, expand,
                                                                          removal.texts))
            problem = _validate(root, binary, candidate)
        except (idlelock_system.ProbeError, idlelock_sshd.ConfigError) as exc:
            problem = str(exc)
        if problem:
            given = f" (lines given back: {', '.join(removal.restored)})" if removal.restored else ""
            return _outcome(False, f"{what}: the restored configuration would be invalid: "
                                   f"{problem}{given}; nothing was changed",
                            warnings=removal.notes)
    return _apply(root, what, removal, {**tree.texts, **({target: read(target)} if target else {})},
                  test)


def _backups(root, texts):
    """``{path: text of its backup}`` for every file idlelock may have taken over."""
    suffix = idlelock_shell.BACKUP_SUFFIX
    candidates = set(texts)
    for pattern in idlelock_shell.SHELL_FILES:
        # A taken-over file deleted since still leaves its backup behind.
        candidates.update(path[:-len(suffix)]
                          for path in idlelock_system.expand_glob(root, pattern + suffix))
    found = {}
    for path in sorted(candidates):
        text = idlelock_system.read_text(root, path + suffix)
        if text is not None:
            found[path] = text
    return found


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
        return _outcome(False, f"login shells: {exc}; nothing was changed")
    texts = idlelock_facts.shell_texts(root, shell)
    backups = _backups(root, texts)
    removal = idlelock_unplan.unplan_shell(
        texts, backups, own=(shell["profile_file"], shell["csh_file"]))
    old = dict(texts)
    old.update({path + idlelock_shell.BACKUP_SUFFIX: text for path, text in backups.items()})
    return _apply(root, "login shells", removal, old, test)


def remove_logind(resolved, test):
    """
    Delete the logind drop-in. systemd-logind is not restarted: it keeps
    StopIdleSessionSec until its next restart (stopping sessions is what a
    restart could do wrong).
    """
    root, path = resolved["root"], resolved["logind"]["conf_file"]
    try:
        idlelock_system.check_root(root)
    except idlelock_system.ProbeError as exc:
        return _outcome(False, f"logind: {exc}; nothing was changed")
    text = idlelock_system.read_text(root, path)
    outcome = _apply(root, "logind", idlelock_unplan.unplan_logind(path, text), {path: text}, test)
    if outcome["changes"]:
        outcome["warnings"].append("systemd-logind keeps StopIdleSessionSec until it restarts "
                                   "(idlelock restarts nothing when it is removed)")
    return outcome
