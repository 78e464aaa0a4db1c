"""
Grain ``idlelock``: the last verdict recorded on this minion, so that

.. code-block:: bash

    salt -G 'idlelock:compliant:False' state.apply idlelock

reaches the minions whose last check found the policy not in force.

The grain reads ``<cachedir>/idlelock/verdict.json``, which the last
``state.apply idlelock`` (its ``idlelock.verdict`` state) or ``idlelock.audit``
wrote: ``{compliant, source, checked_at, profile, timeout, environment}``, plus
``failing`` (what failed), ``reason`` (what could not be judged) and
``pending_reload`` (present only then: the running sshd had not loaded the
current files, naming them; the state run records after its reload). It never
probes: a grain is computed on every ``salt-call`` and every grain refresh, and
must cost no more than a file read. The live answer is ``idlelock.audit``.

A minion with no verdict yet, or an unreadable one, gets ``compliant: None``
and the ``reason``. A verdict is as fresh as ``checked_at``: a drift after it is
found by the next audit or state run (the formula schedules one), and reaches
the grain at the next grains refresh.
"""

import logging

import idlelock_reload
import idlelock_verdict

idlelock_reload.reload_replaced()

log = logging.getLogger(__name__)


def idlelock():
    """
    The ``idlelock`` grain (see the module docstring).

    CLI Example:

    .. code-block:: bash

        salt '*' grains.get idlelock
        salt -G 'idlelock:compliant:False' state.apply idlelock
    """
    try:
        return {"idlelock": idlelock_verdict.read(__opts__["cachedir"])}
    except Exception as exc:  # noqa: BLE001 - a grain must answer, whatever the file holds
        log.warning("idlelock grain: %s", exc, exc_info=True)
        return {"idlelock": {"compliant": None, "reason": f"{type(exc).__name__}: {exc}"}}
