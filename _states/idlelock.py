"""
States that close idle sessions; each one manages one file, named by ``name``.

.. code-block:: yaml

    /etc/ssh/sshd_config:
      idlelock.sshd:
        - timeout: 600        # optional: overrides pillar for this state

The ``*_absent`` states take idlelock back out (``idlelock.remove``); the
``idlelock.clean`` SLS declares them all:

.. code-block:: yaml

    /etc/ssh/sshd_config:
      idlelock.sshd_absent: []

Every argument left out comes from the minion's resolved policy (pillar over
idlelock's defaults and per-OS data), exactly as for ``idlelock.set_*`` on the
command line; declaring a state manages its part even where pillar's
``<part>:enabled`` is false. Each state asks the execution module for the change, honours
``test=True`` (``result: None``), and returns ``changes`` as ``{key: {old,
new}}`` plus a ``diff``; advice goes in ``warnings``.
"""

import idlelock_reload
import idlelock_verdict

from salt.exceptions import CommandExecutionError

idlelock_reload.reload_replaced()

__virtualname__ = "idlelock"
# The states whose results make the verdict of a formula run.
ENFORCING = ("sshd", "shell", "logind")


def __virtual__():
    if "idlelock.set_sshd" not in __salt__:
        return False, "the idlelock execution module is not available (run saltutil.sync_all)"
    return __virtualname__


def _state(name, setter, overrides):
    # Declaring the state is the opt-in: it manages its file even where pillar
    # leaves that part disabled (the formula includes only enabled parts).
    given = {key: value for key, value in overrides.items() if value is not None}
    given["enabled"] = True
    outcome = __salt__[setter](test=__opts__["test"], **given)
    ret = {
        "name": name,
        "result": outcome["result"],
        "changes": outcome["changes"],
        "comment": outcome["comment"],
    }
    if outcome.get("warnings"):
        ret["warnings"] = outcome["warnings"]
    return ret


def sshd(
    name,
    timeout=None,
    profile=None,
    root=None,
    client_alive_interval=None,
    client_alive_count_max=None,
    channel_timeout=None,
    unused_connection_timeout=None,
    binary=None,
    exempt_groups=None,
):
    """
    Make the idle-timeout sshd values effective in the sshd configuration
    ``name``, as ``sshd -T`` reports them.

    .. code-block:: yaml

        /etc/ssh/sshd_config:
          idlelock.sshd:
            - timeout: 900

    name
        The main sshd configuration file (``sshd:config``), e.g.
        ``/etc/ssh/sshd_config``; idlelock writes a drop-in where it Includes one.

    timeout, profile, root
        Override the policy's top-level keys for this state (seconds, a profile
        name, the root of a mounted image).

    client_alive_interval, client_alive_count_max, channel_timeout, unused_connection_timeout
        Override the ``sshd`` keys of the policy (seconds, a count, a
        ChannelTimeout list, ``auto``, ``none`` or ``unmanaged``).

    binary
        The sshd that validates the candidate (``sshd -T``).

    exempt_groups
        Override the policy's ``exempt_groups``: on OpenSSH >= 10.5 its members
        get a ``Match Group`` block at the end of idlelock's drop-in that lifts
        the session timeout (proven per member with ``sshd -T -C``); older
        versions get a warning that only the shell guard exempts them.

    On success the state changes only files, never the running daemon: reload
    the sshd service with a ``watch`` on this state (the formula does). When the
    running sshd has not loaded the current files (its PID file is older than
    a file it reads), the comment says "pending reload"; with
    ``manage_service`` true the state then reports a ``reload`` change, so that
    the watching reload runs again after one that failed or was skipped, and
    with ``manage_service`` false it warns that new connections keep the old
    values.
    """
    return _state(name, "idlelock.set_sshd", {
        "config": name, "timeout": timeout, "profile": profile, "root": root,
        "client_alive_interval": client_alive_interval,
        "client_alive_count_max": client_alive_count_max,
        "channel_timeout": channel_timeout,
        "unused_connection_timeout": unused_connection_timeout, "binary": binary,
        "exempt_groups": exempt_groups,
    })


def shell(
    name,
    timeout=None,
    profile=None,
    root=None,
    tmout=None,
    readonly=None,
    csh_file=None,
    zsh_file=None,
    bashrc_file=None,
    form=None,
    exempt_groups=None,
    takeover=None,
):
    """
    Make idle login shells log out: the profile file ``name`` sets a readonly,
    exported TMOUT for sh, bash, zsh and ksh, and ``csh_file`` sets
    ``autologout`` for tcsh, proven by running the shells.

    .. code-block:: yaml

        /etc/profile.d/idlelock.sh:
          idlelock.shell:
            - tmout: 600
            - exempt_groups: [batch]

    name
        The profile file idlelock owns (``shell:profile_file``).

    timeout, profile, root
        Override the policy's top-level keys for this state.

    tmout, readonly, csh_file, zsh_file, bashrc_file, form, exempt_groups, takeover
        Override the ``shell`` keys of the policy: TMOUT in seconds, whether it
        is readonly, the tcsh file (``autologout`` in whole minutes, rounded
        down), the zsh start-up file that must source ``name`` (``""``: none),
        the system bashrc that must source it for interactive non-login bash
        (``""``: none), ``posix`` or ``declare``, groups whose members keep
        idle shells, and whether foreign TMOUT lines are commented out.

    The proof runs the shells as root, as a regular user (uid 65534) and as a
    member of each exempt group. Fails, naming the file and line, when a
    foreign readonly TMOUT would win or make logins print ``TMOUT: readonly
    variable`` (unless ``takeover`` is true), when a regular user would get
    another TMOUT or an exempt member one at all, or when regular users cannot
    read a file (named with its mode). idlelock's own files are written
    root-owned 0644.
    """
    return _state(name, "idlelock.set_shell", {
        "profile_file": name, "timeout": timeout, "profile": profile, "root": root,
        "tmout": tmout, "readonly": readonly, "csh_file": csh_file, "zsh_file": zsh_file,
        "bashrc_file": bashrc_file, "form": form, "exempt_groups": exempt_groups,
        "takeover": takeover,
    })


def logind(name, timeout=None, root=None, stop_idle_session_sec=None, takeover=None):
    """
    Write the systemd-logind drop-in ``name`` that stops idle sessions
    (``StopIdleSessionSec``). Succeeds with a "skipped" comment where
    systemd-logind >= 252 is not running.

    .. code-block:: yaml

        /etc/systemd/logind.conf.d/idlelock.conf:
          idlelock.logind:
            - stop_idle_session_sec: 900

    name
        The drop-in file (``logind:conf_file``).

    timeout, root
        Override the policy's top-level keys for this state.

    stop_idle_session_sec
        Seconds of tty idleness before logind stops the session.

    takeover
        Comment out (with a ``.idlelock.bak`` copy) every StopIdleSessionSec
        that systemd-logind would apply after this drop-in. Without it the
        state fails, ``test=True`` included, naming the ``file:line`` that
        would win: logind reads ``/etc``, ``/run``, ``/usr/local/lib`` and
        ``/usr/lib`` ``logind.conf.d`` sorted by file name (a name in an
        earlier directory masks the later ones) and the last assignment wins.

    logind stops tmux and screen sessions too, so the formula includes this
    state only where pillar sets ``logind:enabled: true``. Restart
    systemd-logind with a ``watch`` on this state.
    """
    return _state(name, "idlelock.set_logind", {
        "conf_file": name, "timeout": timeout, "root": root,
        "stop_idle_session_sec": stop_idle_session_sec, "takeover": takeover,
    })


def verdict(name):
    """
    Record what this state run found, for the ``idlelock`` grain: the policy is
    in force when every ``idlelock.sshd``, ``idlelock.shell`` and
    ``idlelock.logind`` state that ran before this one succeeded, and the
    running sshd has loaded the files (checked here, after the run's service
    reload; a pending reload is recorded under ``pending_reload``). Nothing is
    recorded under ``test=True``. Run it last (the formula's ``init.sls`` does).

    .. code-block:: yaml

        idlelock-verdict:
          idlelock.verdict:
            - name: idlelock
            - order: last

    name
        A label; the verdict goes to ``<cachedir>/idlelock/verdict.json``.
    """
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    results = {
        key.split("_|-")[1]: ran for key, ran in __running__.items()
        if key.startswith(f"{__virtualname__}_|-") and key.rsplit("_|-", 1)[-1] in ENFORCING
    }
    if __opts__["test"]:
        ret["comment"] = "test mode: no verdict recorded"
        return ret
    # Checked now, after the run's service reload: a verdict taken before it
    # would keep reporting a reload that has since happened.
    configs = [key.split("_|-")[2] for key in __running__
               if key.startswith(f"{__virtualname__}_|-") and key.endswith("_|-sshd")]
    reload = None
    if configs:
        try:
            reload = __salt__["idlelock.reload_status"](config=configs[0])
        except CommandExecutionError:
            pass  # bad input: the sshd state has already failed the verdict on it
    found = idlelock_verdict.from_states(
        results, __salt__["idlelock.policy"](strict=False), reload)
    if not idlelock_verdict.record(__opts__["cachedir"], found):
        ret["warnings"] = ["the verdict could not be recorded; see the minion log"]
    state = "in force" if found["compliant"] else "not in force: " + ", ".join(found["failing"])
    ret["comment"] = f"recorded: the idle-timeout policy is {state} ({len(results)} states)"
    return ret


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

    .. code-block:: yaml

        /etc/ssh/sshd_config:
          idlelock.sshd_absent: []

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

    .. code-block:: yaml

        /etc/profile.d/idlelock.sh:
          idlelock.shell_absent:
            - zsh_file: /etc/zsh/zprofile
    """
    return _absent(name, "shell", _given(profile_file=name, csh_file=csh_file,
                                         zsh_file=zsh_file, root=root))


def logind_absent(name, root=None):
    """
    Delete idlelock's logind drop-in ``name`` (e.g.
    ``/etc/systemd/logind.conf.d/idlelock.conf``). systemd-logind is not
    restarted: it drops StopIdleSessionSec at its next restart.

    .. code-block:: yaml

        /etc/systemd/logind.conf.d/idlelock.conf:
          idlelock.logind_absent: []
    """
    return _absent(name, "logind", _given(conf_file=name, root=root))


def _given(**kwargs):
    """The arguments a state was given; the rest come from the pillar policy."""
    return {key: value for key, value in kwargs.items() if value is not None}
