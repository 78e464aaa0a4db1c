#!/usr/bin/env bash
# Apply the idlelock policy to this host, masterless, as root: the formula and
# the extension modules of this checkout, pillar from its pillar/. Extra
# arguments go to state.apply, e.g. `scripts/apply.sh test=True`.
#
# Salt gets only what a minion needs: file_roots is salt/ (the formula), and
# the modules load from a directory that holds nothing but links to the
# _modules, _states, _grains, _utils, ... folders (masterless Salt lists every
# file root on each run, so tests/, bench/, docs/ and .git never reach it; the
# loader reads the modules in place, so no saltutil.sync_all is needed). The
# venv and all of Salt's own state (config, cache, logs, those links) live
# outside the repository: IDLELOCK_VENV and IDLELOCK_STATE.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${IDLELOCK_VENV:-/var/cache/idlelock/venv}
state=${IDLELOCK_STATE:-/var/cache/idlelock/apply}
ext=$state/extensions

[[ -x $venv/bin/salt-call ]] || { mkdir -p "$(dirname "$venv")" && python3 -m venv "$venv" &&
                                   "$venv/bin/pip" install -q 'salt==3008.3'; }
rm -rf "$ext"
mkdir -p "$ext"
for folder in "$repo"/_*/; do
    ln -s "${folder%/}" "$ext/$(basename "$folder")"
done
cat > "$state/minion" <<CONF
file_client: local
root_dir: $state/root
file_roots:
  base: [$repo/salt]
module_dirs: [$ext]
pillar_roots:
  base: [$repo/pillar]
CONF
exec "$venv/bin/salt-call" --local -c "$state" --retcode-passthrough state.apply idlelock "$@"
