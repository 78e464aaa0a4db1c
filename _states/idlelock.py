"""
States that close idle sessions, declared from the ``idlelock`` pillar.

.. code-block:: yaml

    idlelock-sshd:
      idlelock.sshd:
        - timeout: 600        # optional: overrides pillar for this state

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
    ``profile_file``, ``csh_file``, ``zsh_file``, ``bashrc_file``, ``form``,
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
    ``conf_file``, ``takeover``). Restart systemd-logind with a ``watch`` on
    this state.

    Fails, naming the file and line, when another drop-in that systemd reads
    after idlelock's (in /etc, /run, /usr/local/lib or /usr/lib logind.conf.d;
    the last assignment wins) would set StopIdleSessionSec, unless
    ``takeover`` is true.
    """
    return _state(name, "idlelock.set_logind", kwargs)
