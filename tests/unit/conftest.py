import pathlib

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def defaults():
    """The one defaults file, as the execution module reads it."""
    text = (REPO / "_utils" / "idlelock_defaults.yaml").read_text()
    return yaml.safe_load(text)["idlelock"]
