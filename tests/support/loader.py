"""Options for Salt's loader over this repository's modules, as a masterless minion has them."""

import salt.config

from tests.support.salt_call import REPO


def make_minion_opts(tmp_path):
    """Options of a masterless minion that loads idlelock straight from this repository."""
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
