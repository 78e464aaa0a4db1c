"""
Fleet compliance report for idlelock: ``salt-run idlelock.report``.

The runner asks the targeted minions for ``idlelock.audit``, names the ones
that did not answer, groups the results by environment and renders them
(``_utils/idlelock_report.py``).
"""

import datetime
import logging
import os

import idlelock_reload
import idlelock_report

import salt.cache
import salt.client
import salt.client.ssh.client
import salt.roster
import salt.utils.atomicfile
import salt.utils.files
import salt.utils.json

idlelock_reload.reload_replaced()

log = logging.getLogger(__name__)

OUTPUTTER = "idlelock"


def _environments(minions):
    """
    ``{minion: environment}`` from the master's minion data cache (pillar
    ``idlelock:environment``), for minions that did not answer.
    """
    found = {}
    try:
        cache = salt.cache.factory(__opts__)
        for minion in minions:
            pillar = cache.fetch("pillar", minion) or {}
            env = (pillar.get("idlelock") or {}).get("environment")
            if env:
                found[minion] = env
    except Exception as exc:  # noqa: BLE001 - a cache miss must not lose the report
        log.debug("idlelock report: no cached environments: %s", exc)
    return found


# Under the master's cachedir: one line per report run (counts only, for the
# trend) and when each host last answered (for the silent ones).
HISTORY = ("idlelock", "report-history.jsonl")
LAST_SEEN = ("idlelock", "last-seen.json")


def _state_path(name):
    return os.path.join(__opts__["cachedir"], *name)


def _history():
    """The saved summaries of earlier runs, oldest first (unreadable lines skipped)."""
    entries = []
    try:
        with salt.utils.files.fopen(_state_path(HISTORY), "r") as handle:
            for line in handle:
                try:
                    entries.append(salt.utils.json.loads(line))
                except ValueError:
                    continue  # a line cut by a full disk must not lose the others
    except OSError:
        pass  # first run
    return entries


def _last_seen():
    try:
        with salt.utils.files.fopen(_state_path(LAST_SEEN), "r") as handle:
            seen = salt.utils.json.loads(handle.read())
        return seen if isinstance(seen, dict) else {}
    except (OSError, ValueError):
        return {}


def _keep(data, history, seen):
    """Save this run's summary and who answered; a report is still printed if this fails."""
    entries = history[-(idlelock_report.HISTORY_KEEP - 1):] + [idlelock_report.history_entry(data)]
    seen = dict(seen, **{host: {"seen": data["generated"], "environment": entry["environment"]}
                         for host, entry in data["hosts"].items()
                         if entry["status"] != "no answer"})
    try:
        os.makedirs(os.path.dirname(_state_path(HISTORY)), exist_ok=True)
        with salt.utils.atomicfile.atomic_open(_state_path(HISTORY), "w") as handle:
            handle.write("".join(salt.utils.json.dumps(e, sort_keys=True) + "\n" for e in entries))
        with salt.utils.atomicfile.atomic_open(_state_path(LAST_SEEN), "w") as handle:
            handle.write(salt.utils.json.dumps(seen, sort_keys=True))
    except OSError as exc:
        log.warning("idlelock report: cannot keep its history: %s", exc)


def _minion_returns(tgt, tgt_type, profile, timeout):
    """``(expected, returns)`` from the minions over the master's bus."""
    client = salt.client.get_local_client(__opts__["conf_file"])
    expected, returns = [], {}
    for item in client.cmd_iter(tgt, "idlelock.audit", kwarg={"profile": profile},
                                tgt_type=tgt_type, timeout=timeout, yield_pub_data=True):
        if "minions" in item and "jid" in item:  # the publication: who should answer
            expected = list(item["minions"])
            continue
        for minion, ret in item.items():
            returns[minion] = ret.get("ret") if isinstance(ret, dict) else ret
    return expected, returns


def _ssh_returns(tgt, tgt_type, profile, timeout):
    """
    ``(expected, returns)`` from the roster's hosts through salt-ssh. A host
    that cannot be reached (ssh fails: retcode 255) is left out of the returns,
    so the report names it as silent.
    """
    roster = salt.roster.Roster(__opts__, __opts__.get("roster", "flat"))
    client = salt.client.ssh.client.SSHClient(mopts=__opts__)
    expected, returns = list(roster.targets(tgt, tgt_type)), {}
    for item in client.cmd_iter(tgt, "idlelock.audit", kwarg={"profile": profile},
                                timeout=timeout, tgt_type=tgt_type):
        for host, ret in item.items():
            answer = idlelock_report.ssh_answer(ret)
            if answer is not idlelock_report.NO_ANSWER:
                returns[host] = answer
    return expected, returns


def report(tgt="*", profile="policy", format="table", path=None, tgt_type="glob",
           timeout=None, ssh=False):  # pylint: disable=redefined-builtin
    """
    Audit the targeted hosts and report compliance per environment.

    tgt, tgt_type
        Which minions, as for ``salt`` (``tgt_type=grain`` with ``tgt=env:prod``),
        or with ``ssh=True`` which roster hosts, as for ``salt-ssh``.

    profile
        ``policy`` (each host's resolved policy), ``cis``, ``stig`` or a
        site profile, passed to ``idlelock.audit``.

    format
        ``table`` (default: the findings by rule first), ``csv`` (one row per
        host and finding), ``json``, ``junit`` (one testcase per host and check)
        or ``html`` (one self-contained page: verdict, failing and silent hosts
        per environment, findings by rule with their remediation, a filter box,
        per-host details, the trend of earlier runs).

    path
        Write the report to this file on the master instead of printing it.

    timeout
        Seconds to wait for the hosts (default: the master's ``timeout``).

    ssh
        ``True``: reach the hosts with salt-ssh (the master's roster) instead of
        minions; the modules travel with each call, nothing needs syncing.

    Hosts that the target should reach but that do not answer are named. Each
    run keeps its counts in ``<cachedir>/idlelock/report-history.jsonl`` on the
    master (the trend) and when each host last answered in
    ``<cachedir>/idlelock/last-seen.json``. The exit status is 1 when any host
    is non-compliant or did not answer.

    CLI Example:

    .. code-block:: bash

        salt-run idlelock.report
        salt-run idlelock.report env:prod stig tgt_type=grain format=junit path=/tmp/idlelock.xml
        salt-run idlelock.report ssh=True format=csv
    """
    if format not in idlelock_report.RENDERERS:
        raise ValueError(f"format must be one of {', '.join(idlelock_report.RENDERERS)}")
    timeout = int(timeout or __opts__.get("timeout", 5))
    gather = _ssh_returns if ssh else _minion_returns
    expected, returns = gather(tgt, tgt_type, profile, timeout)
    missing = sorted(set(expected) - set(returns))
    history, seen = _history(), _last_seen()
    # A silent host's environment: the master's pillar cache (minions), else
    # what its last answer said (salt-ssh hosts have no cached pillar).
    environments = {host: seen[host].get("environment") for host in missing
                    if isinstance(seen.get(host), dict)}
    environments.update(_environments(missing))
    data = idlelock_report.summarize(
        profile, returns, expected, environments,
        generated=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        target=f"{'salt-ssh ' if ssh else ''}{tgt_type} {tgt}",
        transports={host: "salt-ssh" for host in expected} if ssh else None,
        last_seen={host: entry.get("seen") for host, entry in seen.items()
                   if isinstance(entry, dict)},
        history=history)
    _keep(data, history, seen)
    text = idlelock_report.RENDERERS[format](data)
    retcode = 0 if data["compliant"] else 1
    # salt-run exits with "retcode" from the return; orchestration's
    # salt.runner state reads __context__.
    __context__["retcode"] = retcode
    if path:
        with salt.utils.files.fopen(path, "w") as handle:
            handle.write(text)
        text = f"{idlelock_report.headline(data)}\nwrote {os.path.abspath(path)}\n"
    return {"outputter": OUTPUTTER, "data": {"report": text, "retcode": retcode}}
