"""
States that close idle sessions, declared from the ``idlelock`` pillar.

.. code-block:: yaml

    idlelock-sshd:
      idlelock.sshd:
        - timeout: 600        # optional: overrides pillar for this state

The ``*_absent`` states take idlelock back out (``idlelock.remove``); the
``idlelock.clean`` SLS declares them all:

.. code-block:: yaml

    idlelock-sshd-clean:
      idlelock.sshd_absent:
        - name: /etc/ssh/sshd_config

Each state asks the execution module for the change (``idlelock.set_*``),
honours ``test=True``, and returns ``changes`` as ``{key: {old, new}}`` plus a
``diff``; advice goes in ``warnings``.
"""

__virtualname__ = "idlelock"


def __virtual__():
    if "idlelock.set_sshd" not in __salt__:
        return False, "the idlelock execution module is not available (run saltutil.sync_all)"
    return __virtualname__


def _state(name, setter, kwargs):
    outcome = __salt__[setter](test=__opts__["test"], **kwargs)
    ret = {
        "name": name,
        "result": outcome["result"],
        "changes": outcome["changes"],
        "comment": outcome["comment"],
    }
    if outcome.get("warnings"):
        ret["warnings"] = outcome["warnings"]
    return ret


def sshd(name, **kwargs):
    """
    Make the idle-timeout sshd values effective, as ``sshd -T`` reports them.

    name
        A label for the state.

    Keyword arguments override the pillar policy for this state: ``timeout``,
    ``profile``, ``root``, and the ``sshd`` keys (``client_alive_interval``,
    ``client_alive_count_max``, ``channel_timeout``,
    ``unused_connection_timeout``, ``config``, ``binary``).

    On success the state changes only files, never the running daemon: reload
    the sshd service with a ``watch`` on this state.
    """
    return _state(name, "idlelock.set_sshd", kwargs)


def shell(name, **kwargs):
    """
    Make idle login shells log out: a readonly, exported TMOUT for sh, bash,
    zsh and ksh, and ``autologout`` for tcsh, proven by running the shells.

    name
        A label for the state (the SLS uses the profile file's path).

    Keyword arguments override the pillar policy for this state: ``timeout``,
    ``profile``, ``root``, and the ``shell`` keys (``tmout``, ``readonly``,
    ``profile_file``, ``csh_file``, ``zsh_file``, ``form``,
    ``exempt_groups``, ``takeover``).

    Fails, naming the file and line, when a foreign readonly TMOUT would win
    or make logins print ``TMOUT: readonly variable``, unless ``takeover`` is
    true.
    """
    return _state(name, "idlelock.set_shell", kwargs)


def logind(name, **kwargs):
    """
    Write the systemd-logind drop-in that stops idle sessions
    (``StopIdleSessionSec``). Succeeds with a "skipped" comment where
    systemd-logind >= 252 is not running.

    name
        A label for the state (the SLS uses the drop-in's path).

    Keyword arguments override the pillar policy for this state: ``timeout``,
    ``root``, and the ``logind`` keys (``stop_idle_session_sec``,
    ``conf_file``). Restart systemd-logind with a ``watch`` on this state.
    """
    return _state(name, "idlelock.set_logind", kwargs)


def _absent(name, part, kwargs):
    outcome = __salt__["idlelock.remove"](test=__opts__["test"], parts=[part], **kwargs)
    ret = {
        "name": name,
        "result": outcome["result"],
        "changes": outcome["changes"].get(part, {}),
        "comment": outcome["comment"],
    }
    if outcome.get("warnings"):
        ret["warnings"] = outcome["warnings"]
    return ret


def sshd_absent(name, root=None, binary=None):
    """
    Take idlelock out of the sshd configuration ``name`` (the main file, e.g.
    ``/etc/ssh/sshd_config``): delete ``00-idlelock.conf`` or the block in the
    main file, and give back every line idlelock commented out, byte for byte.

    The whole restored configuration is validated with ``sshd -T`` first; if
    sshd rejects it, nothing changes and the comment names the line. Changes
    files only: reload the sshd service with a ``watch`` on this state.

    root
        A mounted image or chroot instead of this system (default: the policy's).

    binary
        The sshd that validates the restored configuration (default: the policy's).
    """
    return _absent(name, "sshd", _given(config=name, root=root, binary=binary))


def shell_absent(name, csh_file=None, zsh_file=None, root=None):
    """
    Take idlelock out of the login shells: delete the profile file ``name``
    (e.g. ``/etc/profile.d/idlelock.sh``) and ``csh_file``, remove the hook
    block from ``zsh_file``, give back every taken-over TMOUT line and delete
    the ``.idlelock.bak`` backups. Where a taken-over file changed since, only
    idlelock's markers go, and a warning says so.
    """
    return _absent(name, "shell", _given(profile_file=name, csh_file=csh_file,
                                         zsh_file=zsh_file, root=root))


def logind_absent(name, root=None):
    """
    Delete idlelock's logind drop-in ``name`` (e.g.
    ``/etc/systemd/logind.conf.d/idlelock.conf``). systemd-logind is not
    restarted: it drops StopIdleSessionSec at its next restart.
    """
    return _absent(name, "logind", _given(conf_file=name, root=root))


def _given(**kwargs):
    """The arguments a state was given; the rest come from the pillar policy."""
    return {key: value for key, value in kwargs.items() if value is not None}
