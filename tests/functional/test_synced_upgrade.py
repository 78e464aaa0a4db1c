"""
A synced upgrade reaches a long-running minion: after ``saltutil.sync_all``
replaces a util, the next load of the execution module runs the new util, not
the copy an earlier load left in ``sys.modules``.

It runs in its own Python process (a minion daemon keeps ``sys.modules`` across
loader refreshes; pytest's own process has the repository's utils imported).
"""

import select
import shutil
import subprocess
import sys
import textwrap

from tests.support.salt_call import REPO

# One long-lived process: load, "sync" an upgrade, load again (as the daemon
# does on module_refresh), call the same function each time.
DAEMON = textwrap.dedent("""
    import os, sys
    import salt.config, salt.loader

    extmods = sys.argv[1]
    opts = salt.config.minion_config(None)
    opts.update(root_dir=sys.argv[2], cachedir=os.path.join(sys.argv[2], "cache"),
                pki_dir=os.path.join(sys.argv[2], "pki"), extension_modules=extmods,
                file_client="local", id="upgrade-minion")
    opts["grains"] = salt.loader.grains(opts)
    opts["pillar"] = {}
    for _ in range(2):
        utils = salt.loader.utils(opts)
        mods = salt.loader.minion_mods(opts, utils=utils)
        print(mods["idlelock.policy"](strict=False)["timeout"], flush=True)
        sys.stdin.readline()  # the test replaces a util in between
""")


def test_a_synced_util_upgrade_takes_effect_without_a_restart(tmp_path):
    extmods = tmp_path / "extmods"
    shutil.copytree(REPO / "_modules", extmods / "modules")
    shutil.copytree(REPO / "_utils", extmods / "utils")
    daemon = subprocess.Popen(
        [sys.executable, "-c", DAEMON, str(extmods), str(tmp_path / "root")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=tmp_path,
    )
    try:
        ready, _, _ = select.select([daemon.stdout], [], [], 120)
        assert ready, "the first load did not answer within 120 s"
        before = daemon.stdout.readline()
        # The "upgrade": a new default timeout, as saltutil.sync_all would write it.
        defaults = extmods / "utils" / "idlelock_defaults.py"
        text = defaults.read_text()
        assert '"timeout": 600,' in text
        defaults.write_text(text.replace('"timeout": 600,', '"timeout": 900,'))
        daemon.stdin.write("\n")
        daemon.stdin.flush()
        after, _ = daemon.communicate("\n", timeout=120)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    assert daemon.returncode == 0
    assert [before.strip(), after.strip()] == ["600", "900"]
