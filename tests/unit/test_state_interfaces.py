"""The states' interfaces as sys.argspec and salt-lint see them: explicit keyword arguments, an SLS example each."""

import importlib.util
import inspect
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def states_module():
    spec = importlib.util.spec_from_file_location("idlelock_states", REPO / "_states" / "idlelock.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


STATES = states_module()
FUNCTIONS = [name for name, fn in inspect.getmembers(STATES, inspect.isfunction)
             if not name.startswith("_") and fn.__module__ == STATES.__name__]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_state_takes_name_and_explicit_keywords(name):
    params = inspect.signature(getattr(STATES, name)).parameters
    assert next(iter(params)) == "name"
    assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params.values()), params


@pytest.mark.parametrize("name", FUNCTIONS)
def test_state_docstring_has_an_sls_example_naming_it(name):
    doc = inspect.getdoc(getattr(STATES, name))
    assert ".. code-block:: yaml" in doc and f"idlelock.{name}:" in doc
