"""
Grain ``idlelock``: ``{compliant, profile, timeout, environment}``, so that

.. code-block:: bash

    salt -G 'idlelock:compliant:False' state.apply idlelock

reaches exactly the minions that need it.

Cheap: one ``sshd -V``, one plain ``sshd -T`` and one run of the login shells.
Match blocks that set a managed keyword would need one ``sshd -T -C`` each, so
the grain does not evaluate them: it reports ``compliant: None`` and says so;
``idlelock.audit`` evaluates them. It never raises: on any error
``compliant`` is ``None`` and ``reason`` says why.

Where the policy comes from. Grains are computed before pillar (the pillar top
file targets grains), so the grain cannot read pillar. It judges against:

1. the policy idlelock last resolved *with* pillar, which ``idlelock.policy``
   (called by every ``state.apply idlelock``) and ``idlelock.audit`` keep in
   ``<cachedir>/idlelock/policy.json``;
2. else idlelock's defaults (``_utils/idlelock_defaults.py``) with the minion
   config's ``idlelock:`` key over it.

Limitations: a pillar change reaches the grain after the next ``state.apply
idlelock`` (or ``idlelock.policy``) *and* a grains refresh (minion restart,
``saltutil.refresh_grains``, ``saltutil.sync_grains``). The judgement is
against the policy (``idlelock.audit profile=policy``), which is never weaker
than the profile it names.
"""

import logging
import os

import idlelock_audit
import idlelock_defaults
import idlelock_facts
import idlelock_policy
import idlelock_reload
import idlelock_system

import salt.utils.json

idlelock_reload.reload_replaced()

log = logging.getLogger(__name__)


def _version(policy):
    sshd = policy["sshd"]
    if not sshd["enabled"]:
        return None
    try:
        return idlelock_system.sshd_version(sshd["binary"], policy["root"])[0]
    except idlelock_system.ProbeError:
        return None  # judged as "no usable sshd" by the audit facts


def _policy():
    """``(resolved policy, where it came from)``, or ``(None, why there is none)``."""
    cache = os.path.join(__opts__["cachedir"], *idlelock_facts.POLICY_CACHE)
    if os.path.isfile(cache):
        with open(cache, encoding="utf-8") as handle:
            return salt.utils.json.load(handle), cache
    defaults = idlelock_defaults.DEFAULTS
    raw = __opts__.get("idlelock", {})
    merged = idlelock_policy.merge(defaults, raw if isinstance(raw, dict) else {})
    policy, errors, _ = idlelock_policy.resolve(raw, defaults, _version(merged))
    if errors:
        return None, "bad idlelock minion config: " + "; ".join(errors)
    return policy, "idlelock's defaults and the minion config"


def _summary(grains):
    policy, source = _policy()
    if policy is None:
        return {"compliant": None, "profile": None, "timeout": None, "environment": None,
                "reason": source}
    summary = {"profile": policy["profile"], "timeout": policy["timeout"],
               "environment": policy["environment"], "policy_from": source}
    supported, reason = idlelock_facts.logind_support(policy, grains)
    policy["logind"]["supported"] = supported
    facts = idlelock_facts.audit_facts(
        policy, _version(policy), idlelock_facts.logind_report(policy, supported, reason),
        matches=False)
    thresholds = idlelock_audit.profile_thresholds(idlelock_audit.POLICY_PROFILE, policy)
    result = idlelock_audit.judge(facts, idlelock_audit.POLICY_PROFILE, thresholds,
                                  policy["timeout"])
    unknown = [f for f in result["findings"] if f["severity"] == "unknown"]
    failing = [f["check"] for f in result["findings"]
               if f["severity"] in idlelock_audit.BLOCKING and f not in unknown]
    # Proven failures make it False; what could not be judged alone makes it None.
    summary["compliant"] = False if failing else (None if unknown else True)
    if failing:
        summary["failing"] = failing
    if unknown:
        summary["reason"] = "; ".join(f"{f['check']}: {f['actual']}" for f in unknown)
    return summary


def idlelock(grains):
    """
    The ``idlelock`` grain (see the module docstring).

    CLI Example:

    .. code-block:: bash

        salt '*' grains.get idlelock
        salt -G 'idlelock:compliant:False' state.apply idlelock
    """
    try:
        return {"idlelock": _summary(grains)}
    except Exception as exc:  # noqa: BLE001 - a grain that raises takes others down with it
        log.warning("idlelock grain: %s", exc, exc_info=True)
        return {"idlelock": {"compliant": None, "profile": None, "timeout": None,
                             "environment": None, "reason": f"{type(exc).__name__}: {exc}"}}
