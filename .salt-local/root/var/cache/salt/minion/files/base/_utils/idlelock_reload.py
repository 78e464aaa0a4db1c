"""
Re-import the idlelock utils that ``saltutil.sync_all`` replaced in a running minion.

Salt's loader executes ``_modules``, ``_states``, ``_grains`` and ``_runners``
afresh after a sync, but a plain ``import idlelock_policy`` in them is answered
from ``sys.modules``: a minion daemon (and every job it forks) would run the new
module over the old utils. Each glue module imports its utils with ordinary
``import`` statements and then calls :func:`reload_replaced` once; a util whose
file changed since it was imported is re-executed in place, in dependency order,
so the names the glue bound already see the new code. (This module is never
reloaded: it is the one util that must stay as small as it is.) The wheel install never
changes under a running process, so there the call only compares file stamps.
"""

import importlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_STAMPS = {}  # module name -> stamp of the file it was executed from


def _stamp(module):
    try:
        info = os.stat(module.__file__)
    except (OSError, TypeError, AttributeError):
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


def _home(module):
    try:
        return os.path.dirname(os.path.abspath(module.__file__))
    except (AttributeError, TypeError):
        return None


def reload_replaced():
    """
    Re-execute the imported utils when any of their files changed since it was
    executed: all of them, in dependency order, since a util keeps values taken
    from another at import. Returns the names reloaded.
    """
    # sys.modules keeps modules in the order their import finished: each util
    # after the ones it imports, the order a reload needs.
    loaded = [module for name, module in list(sys.modules.items())
              if name.startswith("idlelock_") and name != __name__ and _home(module) == HERE]
    # A module seen for the first time was imported just before this call.
    if all(_STAMPS.setdefault(m.__name__, _stamp(m)) == _stamp(m) for m in loaded):
        return []
    for module in loaded:
        importlib.reload(module)
        _STAMPS[module.__name__] = _stamp(module)
    return [module.__name__ for module in loaded]
