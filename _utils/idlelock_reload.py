"""
Re-import the idlelock utils that ``saltutil.sync_all`` replaced in a running minion.

Salt's loader executes ``_modules``, ``_states``, ``_grains`` and ``_runners``
afresh after a sync, but a plain ``import idlelock_policy`` in them is answered
from ``sys.modules``: a minion daemon (and every job it forks) would run the new
module over the old utils. Each glue module imports its utils with ordinary
``import`` statements and then calls :func:`reload_replaced` once; a util whose
file changed since it was imported is re-executed in place, in dependency order,
so the names the glue bound already see the new code. The wheel install never
changes under a running process, so there the call only compares file stamps.
"""

import importlib
import os
import sys

# Every util, each after the ones it imports.
UTILS = (
    "idlelock_policy",
    "idlelock_defaults",
    "idlelock_sshd",
    "idlelock_match",
    "idlelock_shell",
    "idlelock_logind",
    "idlelock_system",
    "idlelock_audit",
    "idlelock_facts",
    "idlelock_enforce",
    "idlelock_report",
)

_STAMPS = {}  # module name -> stamp of the file it was executed from


def _stamp(module):
    try:
        info = os.stat(module.__file__)
    except (OSError, TypeError, AttributeError):
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


def reload_replaced():
    """
    Re-execute the imported utils when any of their files changed since it was
    executed: all of them, in dependency order, since a util keeps values taken
    from another at import. Returns the names reloaded.
    """
    loaded = [sys.modules[name] for name in UTILS if name in sys.modules]
    # A module seen for the first time was imported just before this call.
    if all(_STAMPS.setdefault(m.__name__, _stamp(m)) == _stamp(m) for m in loaded):
        return []
    for module in loaded:
        importlib.reload(module)
        _STAMPS[module.__name__] = _stamp(module)
    return [module.__name__ for module in loaded]
