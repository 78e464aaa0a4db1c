"""
Every util of ``_utils`` loads through Salt's own loader, as a minion loads the
synced ``utils`` folder (``__utils__``). A util that fails there is not broken
for idlelock's own imports, but Salt logs "Failed to import utils ..., this is
due most likely to a syntax error" with a traceback on every run, which a user
reads as idlelock being broken. Python's dataclasses, for one, look a string
annotation up in ``sys.modules[cls.__module__]``, where Salt's loader has not
put the module yet.
"""

import ast
import logging

import pytest
import salt.loader

from tests.support.loader import make_minion_opts
from tests.support.salt_call import REPO

UTILS = sorted(path.stem for path in (REPO / "_utils").glob("idlelock_*.py"))


def public_functions(name):
    """The module's top-level public functions, which ``__utils__`` must hold."""
    tree = ast.parse((REPO / "_utils" / f"{name}.py").read_text(encoding="utf-8"))
    return {node.name for node in tree.body
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")}


@pytest.mark.parametrize("name", UTILS)
def test_each_util_loads_without_an_error(name, tmp_path, caplog):
    opts = make_minion_opts(tmp_path)
    with caplog.at_level(logging.ERROR, logger="salt.loader"):
        utils = salt.loader.utils(opts)
        loaded = {key.partition(".")[2] for key in utils if key.startswith(f"{name}.")}
    assert public_functions(name) <= loaded, f"Salt's loader did not load {name}"
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert not [e for e in errors if name in e], errors
