"""A stand-in ``service`` execution module for machines without systemd.

The test machines have no init system, so Salt's real ``service.running``, ``service.enabled``
and ``mod_watch`` (watch -> reload) have nothing to drive.  This module gives them a real target:
a daemon that the test started itself and that writes a pidfile, such as the sandbox sshd.
"Reload" is what systemd's ``ExecReload`` does for ssh.service: SIGHUP to the main PID.

Configure it in the minion opts (e.g. the minion config of a salt-factories minion, with this
directory in ``module_dirs``)::

    idlelock_test_services:
      ssh: /tmp/.../run/sshd.pid                 # pidfile only
      other:                                      # or a mapping
        pidfile: /tmp/.../other.pid
        start: [/usr/sbin/other, -f, /tmp/x]      # optional argv; without it start() fails
        enabled: true                             # optional initial enabled state

Every call appends one line, ``<function> <name>`` (e.g. ``reload ssh``), to ``<pidfile>.calls``
so that tests can count reloads.  The enabled flag lives in ``<pidfile>.enabled.json``.

Every ``service.*`` function that salt/states/service.py may call is defined here, including
``offline``: the loader fills a missing ``service.X`` from any other module with the same
virtual name, and on these machines systemd_service loads in "offline" mode (systemctl is
installed, systemd is not running).  Its ``offline()`` returns True, which turns
``service.running`` into a silent no-op.
"""

import json
import os
import signal
import subprocess
import time

from salt.exceptions import CommandExecutionError

__virtualname__ = "service"

OPTS_KEY = "idlelock_test_services"
WAIT_SECONDS = 10.0


def __virtual__():
    """Load only in tests that configured ``idlelock_test_services``; then shadow ``service``."""
    if OPTS_KEY not in __opts__:  # noqa: F821 -- injected by the Salt loader
        return (False, f"service_sighup: no '{OPTS_KEY}' in the minion options (test-only module)")
    return __virtualname__


# -- helpers --------------------------------------------------------------------------------------


def _services():
    """{name: {"pidfile": ..., optional "start", "enabled"}} from the minion options."""
    services = {}
    for name, spec in (__opts__.get(OPTS_KEY) or {}).items():  # noqa: F821
        services[name] = dict(spec) if isinstance(spec, dict) else {"pidfile": spec}
    return services


def _spec(name):
    """The spec of service ``name``, or None if it is not configured."""
    return _services().get(name)


def _record(func, name=""):
    """Append ``func name`` to the calls log of ``name`` (or of every service, if no name)."""
    targets = [_spec(name)] if name else list(_services().values())
    for spec in targets:
        if spec:
            with open(spec["pidfile"] + ".calls", "a", encoding="utf-8") as log:
                log.write(f"{func} {name}".rstrip() + "\n")


def _read_pid(spec):
    """The PID in the service's pidfile, or None if the file is missing or garbled."""
    try:
        with open(spec["pidfile"], encoding="ascii") as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def _alive(pid):
    """True if ``pid`` is a running (not zombie) process."""
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is not running
    except (OSError, IndexError):
        return False


def _pidfile_mtime(spec):
    """The pidfile's mtime in ns (None if absent): sshd rewrites it after each reload."""
    try:
        return os.stat(spec["pidfile"]).st_mtime_ns
    except OSError:
        return None


def _wait(predicate, timeout=WAIT_SECONDS):
    """Poll ``predicate`` until true (return True) or ``timeout`` s pass (return False)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _state_file(spec):
    """Where the enabled flag of a service is kept."""
    return spec["pidfile"] + ".enabled.json"


def _is_enabled(spec):
    """The stored enabled flag; the spec's ``enabled`` (default False) until first set."""
    try:
        with open(_state_file(spec), encoding="utf-8") as fh:
            return bool(json.load(fh)["enabled"])
    except (OSError, ValueError, KeyError):
        return bool(spec.get("enabled", False))


def _set_enabled(spec, value):
    """Store the enabled flag atomically; return True."""
    tmp = _state_file(spec) + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"enabled": bool(value)}, fh)
    os.replace(tmp, _state_file(spec))
    return True


# -- status ---------------------------------------------------------------------------------------


def offline():
    """
    Return False: the test services are live processes, so states must really check them.

    CLI Example:

    .. code-block:: bash

        salt '*' service.offline
    """
    _record("offline")
    return False


def status(name, sig=None):
    """
    Return True if the PID in the service's pidfile is a live process. ``sig`` is ignored.

    CLI Example:

    .. code-block:: bash

        salt '*' service.status ssh
    """
    _record("status", name)
    spec = _spec(name)
    return bool(spec) and _alive(_read_pid(spec))


def available(name):
    """
    Return True if ``name`` is one of the configured test services.

    CLI Example:

    .. code-block:: bash

        salt '*' service.available ssh
    """
    _record("available", name)
    return _spec(name) is not None


def missing(name):
    """
    Return True if ``name`` is not a configured test service (the inverse of ``available``).

    CLI Example:

    .. code-block:: bash

        salt '*' service.missing ssh
    """
    _record("missing", name)
    return _spec(name) is None


def get_all():
    """
    Return the sorted names of all configured test services.

    CLI Example:

    .. code-block:: bash

        salt '*' service.get_all
    """
    _record("get_all")
    return sorted(_services())


def get_enabled():
    """
    Return the sorted names of the configured services that are enabled.

    CLI Example:

    .. code-block:: bash

        salt '*' service.get_enabled
    """
    _record("get_enabled")
    return sorted(n for n, spec in _services().items() if _is_enabled(spec))


def get_disabled():
    """
    Return the sorted names of the configured services that are not enabled.

    CLI Example:

    .. code-block:: bash

        salt '*' service.get_disabled
    """
    _record("get_disabled")
    return sorted(n for n, spec in _services().items() if not _is_enabled(spec))


# -- control --------------------------------------------------------------------------------------


def reload(name, **kwargs):
    """
    Send SIGHUP to the service's PID and wait (bounded) until it has restarted in place.

    sshd answers SIGHUP by unlinking its pidfile and re-executing itself under the same PID; it
    rewrites the pidfile once it listens again, so "same PID alive and pidfile rewritten" means
    the reload finished. Returns False if the service is not running or dies.

    CLI Example:

    .. code-block:: bash

        salt '*' service.reload ssh
    """
    _record("reload", name)
    spec = _spec(name)
    pid = _read_pid(spec) if spec else None
    if not _alive(pid):
        return False
    before = _pidfile_mtime(spec)
    os.kill(pid, signal.SIGHUP)
    rewritten = _wait(lambda: not _alive(pid) or (
        _pidfile_mtime(spec) not in (None, before) and _read_pid(spec) == pid))
    return rewritten and _alive(pid)


def start(name, **kwargs):
    """
    Start the service with its configured ``start`` argv and wait for a live PID in the pidfile.

    Returns True if it is already running, False if the service is unknown or has no ``start``
    command (the test owns how its daemon is started) or it did not come up in time.

    CLI Example:

    .. code-block:: bash

        salt '*' service.start ssh
    """
    _record("start", name)
    spec = _spec(name)
    if not spec:
        return False
    if _alive(_read_pid(spec)):
        return True
    if not spec.get("start"):
        return False
    # A new session, so the daemon outlives this call and is not tied to the minion's signals.
    subprocess.Popen(list(spec["start"]), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)
    return _wait(lambda: _alive(_read_pid(spec)))


def stop(name, **kwargs):
    """
    Send SIGTERM to the service's PID and wait (bounded) until it is gone.

    Returns True if the service is not running afterwards, False if it is unknown or survived.

    CLI Example:

    .. code-block:: bash

        salt '*' service.stop ssh
    """
    _record("stop", name)
    spec = _spec(name)
    if not spec:
        return False
    pid = _read_pid(spec)
    if not _alive(pid):
        return True
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    return _wait(lambda: not _alive(pid))


def restart(name, **kwargs):
    """
    Stop then start the service. Refuses (returns False, leaving the service running) when no
    ``start`` command is configured, because it could not be brought back.

    CLI Example:

    .. code-block:: bash

        salt '*' service.restart ssh
    """
    _record("restart", name)
    spec = _spec(name)
    if not spec or not spec.get("start"):
        return False
    return stop(name) and start(name)


def force_reload(name, **kwargs):
    """
    Same as ``reload`` (mod_watch uses it when ``force: True`` is set next to ``reload: True``).

    CLI Example:

    .. code-block:: bash

        salt '*' service.force_reload ssh
    """
    _record("force_reload", name)
    return reload(name)


def full_restart(name, **kwargs):
    """
    Same as ``restart`` (mod_watch uses it when ``full_restart: True`` is set).

    CLI Example:

    .. code-block:: bash

        salt '*' service.full_restart ssh
    """
    _record("full_restart", name)
    return restart(name)


def masked(name, runtime=False):
    """
    Return False: test services are never masked.

    CLI Example:

    .. code-block:: bash

        salt '*' service.masked ssh
    """
    _record("masked", name)
    return False


def mask(name, runtime=False):
    """
    Refuse: masking is a systemd concept this stand-in does not model.

    CLI Example:

    .. code-block:: bash

        salt '*' service.mask ssh
    """
    _record("mask", name)
    raise CommandExecutionError("service_sighup: mask is not supported by the test stand-in")


def unmask(name, runtime=False):
    """
    Refuse: masking is a systemd concept this stand-in does not model.

    CLI Example:

    .. code-block:: bash

        salt '*' service.unmask ssh
    """
    _record("unmask", name)
    raise CommandExecutionError("service_sighup: unmask is not supported by the test stand-in")


# -- boot-time enablement -------------------------------------------------------------------------


def enabled(name, **kwargs):
    """
    Return True if the service is marked enabled (state kept in ``<pidfile>.enabled.json``).

    CLI Example:

    .. code-block:: bash

        salt '*' service.enabled ssh
    """
    _record("enabled", name)
    spec = _spec(name)
    return bool(spec) and _is_enabled(spec)


def disabled(name, **kwargs):
    """
    Return True if the service is known and not marked enabled.

    CLI Example:

    .. code-block:: bash

        salt '*' service.disabled ssh
    """
    _record("disabled", name)
    spec = _spec(name)
    return bool(spec) and not _is_enabled(spec)


def enable(name, **kwargs):
    """
    Mark the service enabled. Returns False for an unknown service.

    CLI Example:

    .. code-block:: bash

        salt '*' service.enable ssh
    """
    _record("enable", name)
    spec = _spec(name)
    return bool(spec) and _set_enabled(spec, True)


def disable(name, **kwargs):
    """
    Mark the service disabled. Returns False for an unknown service.

    CLI Example:

    .. code-block:: bash

        salt '*' service.disable ssh
    """
    _record("disable", name)
    spec = _spec(name)
    return bool(spec) and _set_enabled(spec, False)
