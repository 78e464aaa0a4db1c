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
    for line in (idlelock_system.read_text(root, "/etc/passwd") or "").splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[3].isdigit():
            users.append((fields[0], int(fields[3])))
    for line in (idlelock_system.read_text(root, "/etc/group") or "").splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[2].isdigit():
            groups.append((fields[0], int(fields[2]), [m for m in fields[3].split(",") if m]))
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
                entry["effective"] = idlelock_system.sshd_effective(binary, config, root,
                                                                    connection)
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
    for path in (shell["profile_file"], shell["csh_file"]):
        if path not in paths:
            paths.append(path)
    return {path: idlelock_system.read_text(root, path) for path in paths}


def probe_shells(root, candidate=None, files=()):
    """
    What each installed login shell ends up with: ``{shell: parse_probe(...)}``.

    ``files`` (the paths of ``shell_texts``) lets unchanged files be probed once
    per process.
    """
    scripts = {family: idlelock_shell.probe_script(family) for family in ("sh", "csh")}
    shells = idlelock_system.installed_shells(root)
    if files:
        # The answer depends on more than the files that set TMOUT: every
        # start-up file, the directories globs expand, the accounts, the shells.
        expand = lambda pattern: idlelock_system.expand_glob(root, pattern)  # noqa: E731
        files = (list(files) + idlelock_shell.startup_inputs(expand)
                 + sorted(path for path, _ in shells.values()))
    raw = idlelock_system.probe_login_shells(root, shells, scripts, candidate, files)
    return {name: idlelock_shell.parse_probe(*output) for name, output in raw.items()}


def shell_report(resolved):
    """The ``shell`` section of ``idlelock.get``."""
    shell = resolved["shell"]
    texts = shell_texts(resolved["root"], shell)
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
        report["effective"] = probe_shells(resolved["root"], files=list(texts))
    except idlelock_system.ProbeError as exc:
        report["effective"] = {}
        report["error"] = str(exc)
    for name, probe in report["effective"].items():
        report["conflicts"] += [
            {"source": f"{name} login", "problem": error} for error in probe["errors"]
        ]
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
    conflicts = [{"source": f"{shell} login", "problem": error}
                 for shell, seen in report["effective"].items() for error in seen["errors"]]
    readonly = [line for line in lines if line["readonly"]]
    if len(readonly) > 1:
        conflicts += [{"source": line["source"], "problem": "declares TMOUT readonly"}
                      for line in readonly]
    return {"shell": name, "value": probe["value"], "readonly": probe["readonly"],
            "exported": probe["exported"], "sources": sources, "conflicts": conflicts}


# ---------------------------------------------------------------- logind
def logind_support(resolved, grains):
    """``(supported, reason)`` from Salt's ``init`` and ``systemd`` grains: does logind
    honour StopIdleSessionSec here?"""
    if resolved["root"] not in ("", "/"):
        return False, ("logind support is detected on the running system only; "
                       f"root {resolved['root']} is not checked")
    version = (grains.get("systemd") or {}).get("version")
    try:
        version = int(str(version).split(".")[0]) if version is not None else None
    except ValueError:
        version = None
    return idlelock_logind.logind_supported(version, grains.get("init"))


def logind_report(resolved, supported, reason):
    """The ``logind`` section of ``idlelock.get``; ``supported``/``reason`` from the caller."""
    root = resolved["root"]
    dropins = []
    for directory in idlelock_logind.LOGIND_DIRS + (os.path.dirname(resolved["logind"]["conf_file"]),):
        dropins += idlelock_system.expand_glob(root, directory + "/*.conf")
    order = [idlelock_logind.LOGIND_MAIN] + idlelock_logind.logind_order(sorted(set(dropins)))
    value, source = idlelock_logind.logind_effective(
        [(path, idlelock_system.read_text(root, path)) for path in order]
    )
    report = {"stop_idle_session_sec": value, "source": source or "default",
              "supported": supported}
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
            effective = idlelock_system.sshd_effective(sshd["binary"], sshd["config"], root,
                                                       files=idlelock_sshd.inputs(tree))
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
