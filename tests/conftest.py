"""Fixtures shared by every test layer."""

import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root():
    return REPO


@pytest.fixture(scope="session")
def host_key(tmp_path_factory):
    """One sshd host key for every sandbox configuration (generating one costs ~50 ms)."""
    path = tmp_path_factory.mktemp("hostkey") / "ssh_host_ed25519_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True
    )
    return path


@pytest.fixture
def minion_opts(tmp_path):
    """A masterless minion that loads idlelock straight from this repository."""
    from tests.support.loader import make_minion_opts  # imports Salt: only where used

    return make_minion_opts(tmp_path)


@pytest.fixture
def loaders(minion_opts):
    """Salt's own loaders over the repository's modules."""
    from saltfactories.utils.functional import Loaders

    loaders = Loaders(minion_opts)
    try:
        yield loaders
    finally:
        loaders.reset_state()
