"""The formula and example pillar pass salt-lint."""

import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_sls_files_pass_salt_lint():
    # map.jinja is not an SLS: salt-lint reads the `}}` of its dict literals as Jinja.
    files = sorted(str(p) for p in [*REPO.glob("salt/**/*.sls"), *REPO.glob("pillar/**/*.sls")])
    assert any(f.endswith("salt/idlelock/sshd.sls") for f in files)
    salt_lint = pathlib.Path(sys.executable).parent / "salt-lint"
    proc = subprocess.run([str(salt_lint), *files], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
