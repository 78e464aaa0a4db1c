"""
The ``salt.loader`` entry point of the idlelock package.

``pip install .`` puts ``_modules``, ``_states`` (and the other ``_*`` loader
folders) inside this package; Salt asks this function where they are, so
a minion in that environment has ``idlelock.*`` with no sync.
"""

import os

# No "utils": Salt never loads utils from an entry point; the wheel installs
# them as top-level modules instead (setup.cfg py_modules).
_KINDS = {
    "modules": "_modules",
    "states": "_states",
    "grains": "_grains",
    "runners": "_runners",
    "output": "_output",
    "wrapper": "_wrapper",  # salt-ssh wrappers, loaded on the master
}


def loader_dirs():
    """``{loader kind: [directory]}`` for every kind this package ships."""
    here = os.path.dirname(os.path.abspath(__file__))
    dirs = {}
    for kind, folder in _KINDS.items():
        path = os.path.join(here, folder)
        if os.path.isdir(path):
            dirs[kind] = [path]
    return dirs
