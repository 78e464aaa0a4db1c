"""Fixtures of the unit tests: the defaults, as the policy resolution reads them."""

import copy

import idlelock_defaults
import pytest


@pytest.fixture(scope="session")
def defaults():
    """The one set of defaults, as the execution module reads it (a copy)."""
    return copy.deepcopy(idlelock_defaults.DEFAULTS)
