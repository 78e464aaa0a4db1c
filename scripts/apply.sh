#!/usr/bin/env bash
# Apply the idlelock policy to this host, masterless, as root.
# Creates a venv with pinned Salt and a local minion config whose file_roots
# are salt/ plus this repository and whose pillar_roots is pillar/, syncs the
# custom modules, and runs state.apply. Extra arguments go to state.apply,
# e.g. `scripts/apply.sh test=True`.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# Outside the tree: masterless Salt walks every file root on every run.
venv=${IDLELOCK_VENV:-/var/cache/idlelock/venv}
conf=$repo/.salt-local

[[ -x $venv/bin/salt-call ]] || { mkdir -p "$(dirname "$venv")" && python3 -m venv "$venv" &&
                                   "$venv/bin/pip" install -q 'salt==3008.3'; }
mkdir -p "$conf"
cat > "$conf/minion" <<CONF
file_client: local
root_dir: $conf/root
file_roots:
  base: [$repo/salt, $repo]
pillar_roots:
  base: [$repo/pillar]
CONF
"$venv/bin/salt-call" --local -c "$conf" saltutil.sync_all >/dev/null
exec "$venv/bin/salt-call" --local -c "$conf" --retcode-passthrough state.apply idlelock "$@"
