"""
Probe what a host really does about idle sessions: the facts ``idlelock.get``
reports and ``idlelock.audit`` judges.

I/O glue without Salt: it reads files and runs probes through
``idlelock_system`` and interprets them with the pure modules. The execution
module and the grain both use it (a grain has no ``__salt__``), so each fact is
gathered one way only. Every path is inside the policy's ``root``.
"""

import os
import time

import idlelock_logind
import idlelock_match
import idlelock_policy
import idlelock_shell
import idlelock_sshd
import idlelock_system

MANAGED = tuple(idlelock_policy.SSHD_KEYWORDS.values())
# The login shell whose TMOUT the audit judges, in order of preference: STIG and
# CIS checks are written for bash; dash ignores TMOUT.
JUDGED_SHELLS = ("bash", "zsh", "ksh")


# ---------------------------------------------------------------- sshd
def sshd_tree(root, config):
    """``(tree, read, expand)``: the sshd configuration as sshd reads it, inside ``root``."""
    read = lambda path: idlelock_system.read_text(root, path)  # noqa: E731
    expand = lambda pattern: idlelock_system.expand_glob(root, pattern)  # noqa: E731
    return idlelock_sshd.walk(config, read, expand), read, expand


def sshd_effective(root, binary, config, tree, connection=None, files=()):
    """
    ``(sshd -T values, note)``. Where every configured host key is absent (an
    image before first boot: the keys are made then), sshd refuses ``-T``
    with "no hostkeys available"; the values are then probed with a throwaway
    host key, and ``note`` says so. A key that exists but does not load is a
    real error and is raised, like any other.
    """
    try:
        return idlelock_system.sshd_effective(binary, config, root, connection, files), None
    except idlelock_system.ProbeError as exc:
        keys = idlelock_sshd.host_keys(tree)
        if idlelock_system.NO_HOST_KEYS not in str(exc) or any(
                os.path.lexists(idlelock_system.host_path(root, key)) for key in keys):
            raise
    values = idlelock_system.sshd_effective(binary, config, root, connection, files,
                                            throwaway_key=True)
    return values, (f"no host key at {', '.join(keys)} (an image before its first boot?): "
                    "sshd -T was run with a throwaway host key")


def reload_facts(resolved, tree, effective, writing=()):
    """
    Has the running sshd loaded ``tree``? ``idlelock_sshd.reload_status`` for
    the listener whose PID file ``sshd -T`` (``effective``) names, or ``None``
    for a root other than the running system's, where no listener of it runs.

    ``writing``: in-root paths about to be written (a ``test=True`` run),
    counted as changed now.
    """
    if resolved["root"] not in ("", "/"):
        return None
    pidfile = effective.get("pidfile")
    listener = None
    if pidfile and pidfile != "none":
        listener = idlelock_system.sshd_listener(resolved["root"], pidfile)
    changed = idlelock_system.change_times(resolved["root"], idlelock_sshd.consulted_paths(tree))
    changed.update(dict.fromkeys(writing, time.time_ns()))
    return idlelock_sshd.reload_status(resolved["sshd"]["config"], pidfile, listener, changed)


def override_blocks(tree):
    """``{Match directive: {Keyword: {value, source}}}`` for blocks that set a managed keyword."""
    blocks = {}
    for keyword, directive in tree.match_overrides(MANAGED):
        # Inside one block, as everywhere, the first value sshd obtains wins.
        blocks.setdefault(directive.match, {}).setdefault(
            keyword, {"value": directive.value, "source": directive.source})
    return blocks


def accounts(root):
    """
    ``(users, groups)`` of the account database that sshd in ``root`` consults:
    ``[(name, primary gid)]`` and ``[(name, gid, [members])]``.

    The running system goes through NSS (LDAP and SSSD accounts included); an
    image or chroot through its own /etc/passwd and /etc/group.
    """
    if root in ("", "/"):
        import grp
        import pwd

        return ([(entry.pw_name, entry.pw_gid) for entry in pwd.getpwall()],
                [(entry.gr_name, entry.gr_gid, list(entry.gr_mem)) for entry in grp.getgrall()])
    users, groups = [], []
    for line in (idlelock_system.read_text(root, "/etc/passwd") or "").split("\n"):
        fields = line.split(":")
        # ASCII digits, as glibc's nss_files reads an id (strtoul); isdigit() also
        # takes "٣" and "²", and int() then takes the first and raises on the second.
        gid = idlelock_policy.decimal(fields[3]) if len(fields) >= 4 else None
        if gid is not None:
            users.append((fields[0], gid))
    for line in (idlelock_system.read_text(root, "/etc/group") or "").split("\n"):
        fields = line.split(":")
        gid = idlelock_policy.decimal(fields[2]) if len(fields) >= 4 else None
        if gid is not None:
            groups.append((fields[0], gid, [m for m in fields[3].split(",") if m]))
    return users, groups


def match_facts(resolved, tree):
    """
    One entry per Match block that sets a managed keyword, with that block's own
    ``sshd -T -C`` (a connection derived from its criteria), or the reason
    there is none.
    """
    root, config, binary = resolved["root"], resolved["sshd"]["config"], resolved["sshd"]["binary"]
    blocks = override_blocks(tree)
    database = accounts(root) if blocks else ([], [])
    facts = []
    for match, sets in blocks.items():
        entry = {"match": match.describe(), "source": match.source, "sets": sets,
                 "exemption": idlelock_sshd.is_own(match)}
        connection, reason = idlelock_match.connection_for(match.args, *database)
        if connection is not None:
            entry["connection"] = connection
            try:
                entry["effective"] = sshd_effective(root, binary, config, tree, connection)[0]
            except idlelock_system.ProbeError as exc:
                reason = f"sshd -T -C rejected {connection}: {exc}"
        if reason:
            entry["reason"] = reason
        facts.append(entry)
    return facts


# Members whose exemption is proven one by one; past this many, a group (an
# LDAP group of thousands) is proven for its first members in sorted order.
MAX_PROVEN_MEMBERS = 20


def prove_exemption(resolved, config, exemption):
    """
    Prove idlelock's ``Match Group`` exemption member by member: ``sshd -T -C
    user=<member>`` on ``config`` (in-root path, e.g. a staged candidate) must
    give each member the block's ChannelTimeout.

    Returns ``(proven members, problems)``; a problem names the member and what
    sshd gives it, or a group without members to prove it with.
    """
    root, binary = resolved["root"], resolved["sshd"]["binary"]
    users, groups = accounts(root)
    want = idlelock_sshd.normalize("ChannelTimeout", exemption["ChannelTimeout"])
    proven, problems = [], []
    for group in resolved["exempt_groups"]:
        members = idlelock_match.group_members(group, users, groups)
        if not members:
            problems.append(f"group {group} has no member in this host's account database, "
                            "so its exemption in sshd is not proven")
        for member in members[:MAX_PROVEN_MEMBERS]:
            connection = dict(idlelock_match.DEFAULT_CONNECTION, user=member)
            got = idlelock_system.sshd_effective(binary, config, root, connection).get(
                "channeltimeout")
            if got == want:
                proven.append(member)
            else:
                problems.append(f"{member} (group {group}) would get ChannelTimeout {got!r}, "
                                f"not {want!r}")
    return sorted(set(proven)), problems


# ---------------------------------------------------------------- shells
def shell_texts(root, shell):
    """``{in-root path: text or None}`` of every file that matters to the shell part."""
    expand = lambda pattern: idlelock_system.expand_glob(root, pattern)  # noqa: E731
    paths = idlelock_shell.shell_files(expand, shell["zsh_file"])
    for path in (shell["profile_file"], shell["csh_file"], shell["bashrc_file"]):
        if path and path not in paths:
            paths.append(path)
    return {path: idlelock_system.read_text(root, path) for path in paths}


REGULAR_USER = "a regular user"


def probe_identities(root, exempt_groups=()):
    """
    ``{who: identity}``: root, a regular user (uid and gid 65534, in no other
    group), and one member of each ``exempt_groups`` group that exists in the
    account database of ``root`` (a group that does not exist has no members).

    The one place where the probe of an exempt member is built: every caller
    (state, audit, grain) asks ``probe_shells``, which asks this.
    """
    who = {"root": idlelock_system.ROOT}
    unprivileged = idlelock_system.UNPRIVILEGED
    who[REGULAR_USER] = (unprivileged, unprivileged, ())
    if exempt_groups:
        gids = {name: gid for name, gid, _ in accounts(root)[1]}
        for group in exempt_groups:
            if group in gids:
                who[f"a member of {group}"] = (unprivileged, unprivileged, (gids[group],))
    return who


def probe_label(shell, who):
    """The key of one probe in ``probe_shells``: the shell alone for root."""
    return shell if who == "root" else f"{shell} as {who}"


def probe_errors(effective):
    """``[{source, problem}]``: each readonly error a probe printed, once (every user
    prints the same line), named after the first login that printed it."""
    found, seen = [], set()
    for label, probe in effective.items():
        for error in probe["errors"]:
            if error not in seen:
                seen.add(error)
                login = probe.get("login", True) and probe.get("who", "root") == "root"
                found.append({"source": f"{label} login" if login else label,
                              "problem": error})
    return found


def probe_shells(root, candidate=None, files=(), exempt_groups=(), modes=None):
    """
    What each installed shell ends up with, as each identity of
    ``probe_identities``: ``{label: parse_probe(...) + {shell, who, login}}``.

    The label of a root login is the shell's name (``bash``); others read
    ``bash as a regular user``, and ``bash -i`` (as root) or ``bash -i as a
    regular user`` for the interactive non-login bash. ``files`` (the paths of ``shell_texts``) lets unchanged
    files be probed once per process; ``modes`` are the modes the candidate
    files will be written with.
    """
    scripts = {family: idlelock_shell.probe_script(family) for family in ("sh", "csh")}
    shells = idlelock_system.installed_shells(root)
    if files:
        # The answer depends on more than the files that set TMOUT: every
        # start-up file, the directories globs expand, the accounts, the shells.
        expand = lambda pattern: idlelock_system.expand_glob(root, pattern)  # noqa: E731
        files = (list(files) + idlelock_shell.startup_inputs(expand)
                 + sorted(path for path, _ in shells.values()))
    if "bash" in shells:
        shells[idlelock_system.NON_LOGIN_BASH] = shells["bash"]
    identities = probe_identities(root, exempt_groups)
    raw = idlelock_system.probe_login_shells(
        root, shells, scripts, candidate, files, tuple(identities.values()), modes)
    probes = {}
    for who, identity in identities.items():
        for name in shells:
            login = name != idlelock_system.NON_LOGIN_BASH
            found = idlelock_shell.parse_probe(*raw[(identity, name)])
            probes[probe_label(name, who)] = dict(found, shell=name if login else "bash",
                                                  who=who, login=login)
    return probes


# idlelock's own shell files: every user's login must read them (bash skips an
# unreadable profile file silently: docs/how-idle-sessions-end.md §2).
SHELL_FILE_MODE = 0o644


def shell_modes(root, shell):
    """``{in-root path: mode}`` of idlelock's own shell files, forced root-owned."""
    modes = {shell["profile_file"]: SHELL_FILE_MODE}
    if idlelock_system.is_dir(root, os.path.dirname(shell["csh_file"])):
        modes[shell["csh_file"]] = SHELL_FILE_MODE
    return modes


def wrong_modes(root, modes):
    """``{path: "mode owner"}`` of existing files among ``modes`` whose mode or owner differ."""
    wrong = {}
    for path, mode in modes.items():
        found = idlelock_system.file_mode(root, path)
        if found is not None and found != (mode, 0, 0):
            wrong[path] = f"{found[0]:04o} {found[1]}:{found[2]}"
    return wrong


def shell_hook_warnings(root, shell, texts):
    """What the shell part cannot do exactly here: tcsh's minutes, a missing system bashrc."""
    warnings = []
    tcsh_reads = "tcsh" in idlelock_system.installed_shells(root)
    note = idlelock_shell.csh_warning(shell["tmout"]) if shell["tmout"] else None
    if note and tcsh_reads:
        warnings.append(note)
    if shell["bashrc_file"] and texts.get(shell["bashrc_file"]) is None:
        warnings.append(f"{shell['bashrc_file']} (shell:bashrc_file) is missing: interactive "
                        "bash that is not a login gets no TMOUT")
    return warnings


def unreadable_hint(root, paths):
    """``; <path> is <mode>: regular users cannot read it`` for each such shell file."""
    return "".join(f"; {path} is {mode:04o}: regular users cannot read it"
                   for path, mode in idlelock_system.unreadable(root, paths))


def shell_report(resolved):
    """The ``shell`` section of ``idlelock.get``."""
    shell = resolved["shell"]
    try:
        texts = shell_texts(resolved["root"], shell)
    except idlelock_system.ProbeError as exc:  # a FIFO in profile.d, a path out of root
        return {"profile_file": shell["profile_file"], "managed": False, "lines": [],
                "taken_over": [], "conflicts": [], "effective": {}, "error": str(exc)}
    found = idlelock_shell.scan(texts, managed=(shell["profile_file"],))
    report = {
        "profile_file": shell["profile_file"],
        "managed": texts.get(shell["profile_file"]) is not None,
        "lines": [
            {key: entry[key] for key in ("source", "text", "value", "readonly", "exported", "ours")}
            for entry in found["lines"]
            if not entry["ours"]
        ],
        "taken_over": found["taken_over"],
        "conflicts": idlelock_shell.static_conflicts(found["lines"]),
    }
    try:
        report["effective"] = probe_shells(resolved["root"], files=list(texts),
                                           exempt_groups=shell["exempt_groups"])
        # The policy holds interactive non-login bash to TMOUT where it names a
        # system bashrc that exists (idlelock hooks it, or will).
        report["non_login_judged"] = bool(shell["bashrc_file"]) and (
            texts.get(shell["bashrc_file"]) is not None)
    except idlelock_system.ProbeError as exc:
        report["effective"] = {}
        report["error"] = str(exc)
    report["conflicts"] += probe_errors(report["effective"])
    return report


def login_shell_facts(report):
    """
    The audit's view of a ``shell_report``: the judged login shell's TMOUT, the
    line that set it, and the readonly conflicts.

    A conflict is what a login really prints (``TMOUT: readonly variable``), or
    two foreign readonly declarations (whichever a shell reads second fails).
    Returns ``None`` when no judged shell is installed.
    """
    name = next((n for n in JUDGED_SHELLS if n in report["effective"]), None)
    if name is None:
        return None
    probe = report["effective"][name]
    ours = report["profile_file"] if report["managed"] else None
    lines = report["lines"]
    sources = {}
    if probe["value"] is not None:
        sources["value"] = next(
            (line["source"] for line in lines if line["value"] == probe["value"]), ours)
    if probe["readonly"]:
        sources["readonly"] = next((line["source"] for line in lines if line["readonly"]), ours)
    conflicts = probe_errors(report["effective"])
    readonly = [line for line in lines if line["readonly"]]
    if len(readonly) > 1:
        conflicts += [{"source": line["source"], "problem": "declares TMOUT readonly"}
                      for line in readonly]
    # Everyone else who must get the same TMOUT: the judged shell as a regular
    # user, and the interactive non-login bash where idlelock hooks the system
    # bashrc. Members of exempt groups are the state's concern, not a profile's.
    others = [{"who": label, "value": found["value"], "readonly": found["readonly"],
               "exported": found["exported"]}
              for label, found in report["effective"].items()
              if label != name and found["who"] in ("root", REGULAR_USER)
              and ((found["shell"] == name and found["login"])
                   or (not found["login"] and report.get("non_login_judged")))]
    return {"shell": name, "value": probe["value"], "readonly": probe["readonly"],
            "exported": probe["exported"], "sources": sources, "conflicts": conflicts,
            "others": others}


# ---------------------------------------------------------------- logind
def logind_support(resolved, grains):
    """``(supported, reason)`` from Salt's ``init`` and ``systemd`` grains: does logind
    honour StopIdleSessionSec here?"""
    if resolved["root"] not in ("", "/"):
        return False, ("logind support is detected on the running system only; "
                       f"root {resolved['root']} is not checked")
    version = (grains.get("systemd") or {}).get("version")
    if version is not None:
        version = idlelock_policy.decimal(str(version).split(".")[0])
    return idlelock_logind.logind_supported(version, grains.get("init"))


def logind_texts(root, conf_file, candidate=()):
    """
    ``[(in-root path, text)]`` of every file systemd-logind reads, in its order:
    the one reading for ``get``, the audit and ``set_logind``. ``candidate``
    paths (idlelock's drop-in before it exists) are placed where systemd would
    read them, masking or masked like any other.
    """
    mains = [path for path in idlelock_logind.LOGIND_MAINS
             if idlelock_system.read_text(root, path) is not None]
    dropins = set(candidate)
    for directory in idlelock_logind.LOGIND_DIRS + (os.path.dirname(conf_file),):
        try:
            dropins.update(idlelock_system.expand_glob(root, directory + "/*.conf"))
        except idlelock_system.OutsideRoot:
            continue  # a directory that leads out of root: nothing of this system
    return [(path, idlelock_system.read_text(root, path))
            for path in idlelock_logind.logind_paths(mains, sorted(dropins))]


def logind_report(resolved, supported, reason):
    """The ``logind`` section of ``idlelock.get``; ``supported``/``reason`` from the caller."""
    report = {"supported": supported}
    try:
        texts = logind_texts(resolved["root"], resolved["logind"]["conf_file"])
        value, source = idlelock_logind.logind_effective(texts)
        stop = idlelock_logind.read(texts)[1]
        if stop:  # systemd reads none of the files after this line
            report["error"] = f"systemd stops reading logind's configuration at {stop}"
    except idlelock_system.ProbeError as exc:  # a file that is no file, a path out of root
        value, source = None, None
        report["error"] = str(exc)
    report.update(stop_idle_session_sec=value, source=source or "default")
    if reason:
        report["reason"] = reason
    return report


# ---------------------------------------------------------------- audit
def audit_facts(resolved, version, logind):
    """
    Everything ``idlelock_audit.judge`` needs, probed: one plain ``sshd -T``,
    one ``sshd -T -C`` per overriding Match block, the login shells, logind.

    ``version`` is the OpenSSH version tuple the caller probed (or None);
    ``logind`` a ``logind_report``.
    """
    facts = {"openssh": version, "matches": [], "logind": logind}
    sshd = resolved["sshd"]
    if sshd["enabled"]:
        root = resolved["root"]
        try:
            idlelock_system.check_root(root)
            if version is None:
                raise idlelock_system.ProbeError(f"no usable sshd at {sshd['binary']} "
                                                 f"(root {root})")
            tree = sshd_tree(root, sshd["config"])[0]
            effective, note = sshd_effective(root, sshd["binary"], sshd["config"], tree,
                                             files=idlelock_sshd.inputs(tree))
            if note:
                facts["sshd_note"] = note
        except (idlelock_system.ProbeError, idlelock_sshd.ConfigError) as exc:
            facts["sshd_error"] = str(exc)
        else:
            winners = tree.winners(MANAGED)
            facts["sshd"] = {"effective": effective,
                             "sources": {k: d.source for k, d in winners.items()}}
            facts["reload"] = reload_facts(resolved, tree, effective)
            facts["matches"] = match_facts(resolved, tree)
    report = shell_report(resolved)
    if report.get("error"):
        facts["shell_error"] = report["error"]
    else:
        facts["shell"] = login_shell_facts(report)
    facts["scanner_view"] = scanner_view(resolved["root"], sshd["config"])
    return facts


def scanner_view(root, config):
    """``{main, texts}``: the files an auditor's text scanner reads (see idlelock_scanner)."""
    paths = [config, "/etc/profile"] + idlelock_system.expand_glob(root, "/etc/profile.d/*.sh")
    return {"main": config, "texts": {path: idlelock_system.read_text(root, path)
                                      for path in paths}}
