"""Loader fixtures for the functional tests: Salt's own loaders over this repository's modules."""

import pytest


@pytest.fixture(scope="session")
def session_minion_opts(tmp_path_factory):
    """A masterless minion that loads idlelock straight from this repository."""
    from tests.support.loader import make_minion_opts

    return make_minion_opts(tmp_path_factory.mktemp("functional"))


@pytest.fixture(scope="session")
def session_loaders(session_minion_opts):
    """Salt's loaders, built once: computing grains costs about 2 s."""
    from saltfactories.utils.functional import Loaders

    return Loaders(session_minion_opts)


@pytest.fixture
def idlelock(session_loaders):
    """The ``idlelock`` execution module, loaded by Salt."""
    try:
        yield session_loaders.modules.idlelock
    finally:
        session_loaders.reset_state()
