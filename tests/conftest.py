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


def make_minion_opts(tmp_path):
    """Options of a masterless minion that loads idlelock straight from this repository."""
    import salt.config

    root = tmp_path / "salt-root"
    opts = salt.config.minion_config(None)
    opts.update(
        {
            "root_dir": str(root),
            "cachedir": str(root / "cache"),
            "pki_dir": str(root / "pki"),
            "sock_dir": str(root / "sock"),
            "extension_modules": str(root / "extmods"),
            "file_client": "local",
            "file_roots": {"base": [str(REPO / "salt"), str(REPO)]},
            "pillar_roots": {"base": [str(tmp_path / "pillar")]},
            "module_dirs": [str(REPO)],
            "id": "functional-minion",
        }
    )
    return opts


@pytest.fixture
def minion_opts(tmp_path):
    """A masterless minion that loads idlelock straight from this repository."""
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
