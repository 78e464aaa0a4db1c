"""
The last verdict on this minion: whether the idle-timeout policy was found in
force by the last ``state.apply idlelock`` or ``idlelock.audit``, and when.

The writers (the execution module's audit, the formula's last state) record it;
the ``idlelock`` grain only reads it, so that a grain refresh or any
``salt-call`` costs one small file read, never a probe. The file lives in the
minion's cachedir and is replaced atomically (Salt's ``atomic_open``).
"""

import json
import logging
import os
import time

import idlelock_audit

import salt.utils.atomicfile

log = logging.getLogger(__name__)

PATH = ("idlelock", "verdict.json")
MAX_BYTES = 1 << 20  # a verdict is a few hundred bytes; refuse to parse anything huge
# What the grain says when nothing was recorded (a new minion), or cannot be read.
NONE_YET = "no verdict recorded yet: run state.apply idlelock or idlelock.audit"


def path(cachedir):
    return os.path.join(cachedir, *PATH)


def from_audit(result, policy, when=None):
    """
    The verdict of an ``idlelock.audit`` return. Its ``profile`` is the one
    audited, or the policy's own when the audit judged the policy (which is
    never weaker than its profile), as for a state run.
    """
    findings = result.get("findings", [])
    profile = result["profile"]
    summary = dict(result, profile=policy["profile"] if profile == idlelock_audit.POLICY_PROFILE
                   else profile)
    verdict = _base(f"idlelock.audit profile={profile}", result["compliant"], summary, when)
    unknown = [f"{f['check']}: {f['actual']}" for f in findings if f["severity"] == "unknown"]
    failing = [f["check"] for f in findings
               if f["severity"] in idlelock_audit.BLOCKING and f["severity"] != "unknown"]
    if failing:
        verdict["failing"] = failing
    if unknown:
        verdict["reason"] = "; ".join(unknown)
    pending = next((f for f in findings if f["check"] == idlelock_audit.RELOAD_CHECK
                    and f["severity"] in idlelock_audit.BLOCKING), None)
    if pending:
        verdict["pending_reload"] = pending["actual"]
    return verdict


def from_states(results, policy, reload=None, when=None):
    """
    The verdict of a formula run: ``results`` is ``{state id: state return}`` of
    the idlelock states that ran. The policy is in force when every one of them
    succeeded and the running sshd has loaded the files they left.

    ``reload``: ``idlelock_sshd.reload_status`` checked after the run's
    service reload (None: sshd not managed, or another root). A pending reload
    fails the verdict as the ``sshd reload`` check, as in the audit, and its
    summary (files and times) is kept under ``pending_reload``.
    """
    failing = sorted(state_id for state_id, ret in results.items() if ret.get("result") is not True)
    pending = bool(reload and reload["pending"])
    if pending:
        failing.append(idlelock_audit.RELOAD_CHECK)
    summary = {"profile": policy.get("profile"), "timeout": policy.get("timeout"),
               "environment": policy.get("environment")}
    verdict = _base("state.apply idlelock", not failing, summary, when)
    if failing:
        verdict["failing"] = failing
    if pending:
        verdict["pending_reload"] = reload["summary"]
    return verdict


def from_removal(policy, when=None):
    """The verdict once ``idlelock.remove`` (``state.apply idlelock.clean``) took idlelock out."""
    summary = {key: policy.get(key) for key in ("profile", "timeout", "environment")}
    verdict = _base("idlelock.remove", False, summary, when)
    verdict["failing"] = ["idlelock removed"]
    verdict["reason"] = "idlelock was removed from this host: nothing of its policy is enforced"
    return verdict


def _base(source, compliant, summary, when):
    when = time.time() if when is None else when
    return {
        "compliant": compliant,
        "source": source,
        "checked_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when)),
        "profile": summary.get("profile"),
        "timeout": summary.get("timeout"),
        "environment": summary.get("environment"),
    }


def record(cachedir, verdict):
    """
    Replace the recorded verdict atomically; True when written. A cache that
    cannot be written costs the grain its answer, never the run that found it:
    that is logged as a warning.
    """
    target = path(cachedir)
    try:
        os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
        with salt.utils.atomicfile.atomic_open(target, "w") as handle:
            handle.write(json.dumps(verdict, sort_keys=True))
    except OSError as exc:
        log.warning("idlelock: cannot record the verdict in %s: %s", target, exc)
        return False
    return True


def read(cachedir):
    """The recorded verdict, or one with ``compliant: None`` and the reason there is none."""
    try:
        with open(path(cachedir), encoding="utf-8") as handle:
            text = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return _unknown(NONE_YET)
    except OSError as exc:
        return _unknown(f"cannot read {path(cachedir)}: {exc.strerror}")
    try:
        verdict = json.loads(text) if len(text) <= MAX_BYTES else None
    except ValueError:
        verdict = None
    if not isinstance(verdict, dict) or "compliant" not in verdict:
        return _unknown(f"{path(cachedir)} is not a verdict idlelock wrote; "
                        "run idlelock.audit to record a new one")
    return verdict


def _unknown(reason):
    return {"compliant": None, "profile": None, "timeout": None, "environment": None,
            "reason": reason}
