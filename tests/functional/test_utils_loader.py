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


class _Errors(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """``(names of __utils__, error messages)``: one loader, every util loaded once."""
    opts = make_minion_opts(tmp_path_factory.mktemp("utils-loader"))
    errors, logger = _Errors(), logging.getLogger("salt.loader")
    logger.addHandler(errors)
    try:
        names = list(salt.loader.utils(opts))  # listing the keys loads every module
    finally:
        logger.removeHandler(errors)
    return names, errors.messages


@pytest.mark.parametrize("name", UTILS)
def test_each_util_loads_without_an_error(name, loaded):
    utils, errors = loaded
    loaded = {key.partition(".")[2] for key in utils if key.startswith(f"{name}.")}
    assert public_functions(name) <= loaded, f"Salt's loader did not load {name}"
    assert not [e for e in errors if name in e], errors
