"""
salt-ssh wrapper for idlelock: ``salt-ssh '*' idlelock.policy`` (``get``,
``audit``) and the formula's ``map.jinja`` see the target's pillar.

Under salt-ssh an execution module runs on the target through ``salt-call
--local``, which compiles no pillar there: ``__pillar__`` is empty, so pillar
``timeout: 300`` or ``manage_service: false`` would be silently ignored. (A
state run is different: ``state.pkg`` carries the pillar to the target.) This
wrapper runs on the master, where salt-ssh has compiled the target's pillar
(``__pillar__``), and calls the target's ``idlelock`` function with the
``idlelock`` pillar key in its minion options (``idlelock_ssh_pillar``), which
the module reads in place of the missing pillar. It also tells the module
that no minion daemon runs there (the schedule state says so).

The master loads wrappers from its own extension modules: run
``salt-run saltutil.sync_all`` (or ``saltutil.sync_wrapper``) once on the
master, as for the runner; a pip-installed idlelock needs no sync.
"""

import salt.client.ssh.wrapper

__virtualname__ = "idlelock"

# The minion option that carries the target's pillar; _modules/idlelock.py reads it.
SSH_PILLAR = "idlelock_ssh_pillar"


def __virtual__():
    return __virtualname__


def _target(function, *args, **kwargs):
    """Run ``idlelock.<function>`` on the target with its pillar in the minion options."""
    minion_opts = dict(__salt__.minion_opts or {})
    minion_opts[SSH_PILLAR] = (__pillar__ or {}).get("idlelock") or {}
    target = dict(__salt__.kwargs)
    functions = salt.client.ssh.wrapper.FunctionWrapper(
        __opts__, target.pop("id_"), target.pop("host"), mods=__salt__.mods,
        fsclient=__salt__.fsclient, minion_opts=minion_opts, **target)
    return functions[f"idlelock.{function}"](*args, **kwargs)


def policy(strict=True, **kwargs):
    """
    The target's resolved policy, its pillar included; see ``idlelock.policy``.

    CLI Example:

    .. code-block:: bash

        salt-ssh '*' idlelock.policy
    """
    # Every SLS of the formula imports map.jinja, which asks for the policy;
    # under salt-ssh each ask is an ssh round trip. One state run renders on
    # the master with one __context__: ask the target once per run.
    # A text key: salt-ssh hands __context__ to the Jinja renderer as keywords.
    key = f"idlelock.policy {strict} {sorted(kwargs.items())!r}"
    if key not in __context__:
        __context__[key] = _target("policy", strict=strict, **kwargs)
    return __context__[key]


def get(**kwargs):
    """
    The target's effective idle-timeout settings; see ``idlelock.get``.

    CLI Example:

    .. code-block:: bash

        salt-ssh '*' idlelock.get
    """
    return _target("get", **kwargs)


def audit(profile="policy", **kwargs):
    """
    Judge the target against its pillar policy or a profile; see ``idlelock.audit``.

    CLI Example:

    .. code-block:: bash

        salt-ssh '*' idlelock.audit profile=stig
    """
    return _target("audit", profile=profile, **kwargs)
