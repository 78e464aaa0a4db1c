"""
Fleet compliance report for idlelock: ``salt-run idlelock.report``.

The runner asks the targeted minions for ``idlelock.audit``, names the ones
that did not answer, groups the results by environment and renders them
(``_utils/idlelock_report.py``).
"""

import logging
import os

import idlelock_reload
import idlelock_report

import salt.cache
import salt.client
import salt.utils.files

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


def report(tgt="*", profile="policy", format="table", path=None, tgt_type="glob",
           timeout=None):  # pylint: disable=redefined-builtin
    """
    Audit the targeted minions and report compliance per environment.

    tgt, tgt_type
        Which minions, as for ``salt`` (``tgt_type=grain`` with ``tgt=env:prod``).

    profile
        ``policy`` (each minion's resolved policy), ``cis``, ``stig`` or a
        site profile, passed to ``idlelock.audit``.

    format
        ``table`` (default), ``json``, ``junit`` (one testcase per minion and
        check) or ``html`` (one self-contained file with a chart per environment
        and a sortable table of findings).

    path
        Write the report to this file on the master instead of printing it.

    timeout
        Seconds to wait for the minions (default: the master's ``timeout``).

    Minions that the target should reach but that do not answer are named.
    The exit status is 1 when any minion is non-compliant or did not answer.

    CLI Example:

    .. code-block:: bash

        salt-run idlelock.report
        salt-run idlelock.report env:prod stig tgt_type=grain format=junit path=/tmp/idlelock.xml
    """
    if format not in idlelock_report.RENDERERS:
        raise ValueError(f"format must be one of {', '.join(idlelock_report.RENDERERS)}")
    timeout = int(timeout or __opts__.get("timeout", 5))
    client = salt.client.get_local_client(__opts__["conf_file"])
    expected, returns = [], {}
    for item in client.cmd_iter(tgt, "idlelock.audit", kwarg={"profile": profile},
                                tgt_type=tgt_type, timeout=timeout, yield_pub_data=True):
        if "minions" in item and "jid" in item:  # the publication: who should answer
            expected = list(item["minions"])
            continue
        for minion, ret in item.items():
            returns[minion] = ret.get("ret") if isinstance(ret, dict) else ret
    missing = sorted(set(expected) - set(returns))
    data = idlelock_report.summarize(profile, returns, expected, _environments(missing))
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
