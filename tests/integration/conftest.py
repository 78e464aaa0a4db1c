"""
A real salt-master and real minions on 127.0.0.1, serving this repository.

The master serves a copy of this working tree the documented way: file_roots
are its ``salt/`` plus a directory of links to its extension folders only (the
formula-sync install path), pillar_roots its ``pillar/``, so that a test may edit a pillar file without touching the
repository. Each minion's config points every idlelock path into its own
sandbox (``config.get`` semantics) and never manages a service, and each
minion runs in a private mount namespace on the suite's own /etc
(tests/support/fleet.py): nothing here reads the host's /etc for an outcome
or writes it. The master reads no /etc file that decides one and stays on the
host's.
"""

import os
import shutil
import subprocess

import pytest
import salt._logging.impl
from saltfactories.plugins.event_listener import EventListener

JOB_TIMEOUT = 120  # seconds a salt CLI call may take


@pytest.fixture(scope="session")
def event_listener():
    """salt-factories' event listener, bound to 127.0.0.1 rather than 0.0.0.0."""
    listener = EventListener()
    listener.host = "127.0.0.1"
    listener.address = f"tcp://{listener.host}:{listener.port}"
    with listener:
        yield listener


@pytest.fixture(scope="session")
def salt_factories_config(request, tmp_path_factory):
    """Every daemon under the session's tmp dir, logging to 127.0.0.1 only."""
    log_server = request.config.pluginmanager.get_plugin("saltfactories-log-server")
    if log_server.log_host != "127.0.0.1":
        # The plugin's log server binds 0.0.0.0 by default; nothing here needs
        # to be reachable from another host.
        log_server.stop()
        log_server.log_host = "127.0.0.1"
        log_server.start()
    # Importing salt parked a deferred stderr handler on the root logger. It
    # would buffer every record the daemons forward and write them at exit, to
    # a stream pytest has closed by then; hand them to pytest's handlers now.
    salt._logging.impl.shutdown_temp_handler()
    return {"root_dir": tmp_path_factory.mktemp("salt"), "log_server_host": "127.0.0.1"}


@pytest.fixture(scope="package")
def checkout(repo_root, tmp_path_factory):
    """
    This working tree as a site's clone holds it: tracked and new files, none
    that git ignores. The master walks its whole file_roots on every file
    list request, and a test venv in the tree would make each one slow.
    """
    listed = subprocess.run(
        ["git", "-C", str(repo_root), "ls-files", "-z", "--cached", "--others",
         "--exclude-standard"],
        capture_output=True, check=True,
    ).stdout.decode()
    tree = tmp_path_factory.mktemp("checkout") / "idlelock"
    for name in filter(None, listed.split("\0")):
        source = repo_root / name
        if not os.path.lexists(source):
            continue  # deleted in the working tree, not yet in the index
        target = tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    return tree


@pytest.fixture(scope="package")
def salt_master(salt_factories, checkout):
    """One real salt-master for the whole integration package."""
    extensions = checkout.parent / "extensions"  # only _modules, _states, _utils, ...
    extensions.mkdir(exist_ok=True)
    for folder in checkout.glob("_*"):
        if not (extensions / folder.name).exists():
            (extensions / folder.name).symlink_to(folder)
    factory = salt_factories.salt_master_daemon(
        "idlelock-master",
        overrides={
            "file_roots": {"base": [str(checkout / "salt"), str(extensions)]},
            "pillar_roots": {"base": [str(checkout / "pillar")]},
            "timeout": JOB_TIMEOUT,
        },
    )
    with factory.started():
        yield factory


@pytest.fixture(scope="package")
def salt_cli(salt_master):
    """The ``salt`` command of the master."""
    return salt_master.salt_cli(timeout=JOB_TIMEOUT)


@pytest.fixture(scope="package")
def salt_run_cli(salt_master):
    """The ``salt-run`` command of the master."""
    return salt_master.salt_run_cli(timeout=JOB_TIMEOUT)
