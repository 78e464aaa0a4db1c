#!/usr/bin/env bash
# Run the whole idlelock test suite on a bare Debian/Ubuntu machine, as root.
# Installs what the suite needs: openssh-server and the login shells (apt),
# debootstrap for the OpenSSH version chroots, chromium with its WebDriver for the
# HTML report's browser tests, and a venv with pinned Salt.
# Extra arguments go to pytest, e.g. `scripts/test.sh tests/unit -x`.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

missing=()
[[ -x /usr/sbin/sshd ]] || missing+=(openssh-server)
for tool in ssh:openssh-client zsh:zsh ksh:ksh tcsh:tcsh dash:dash debootstrap:debootstrap curl:curl \
            unshare:util-linux python3:python3 chromium:chromium chromedriver:chromium-driver ; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool##*:}")
done
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
# The auditor's scanner and its Ubuntu CIS/STIG content (tests/matrix/test_scanner.py).
command -v oscap >/dev/null || missing+=(openscap-scanner)
[[ -f /usr/share/xml/scap/ssg/content/ssg-ubuntu2204-ds.xml ]] || missing+=(ssg-debderived)
if ((${#missing[@]})); then
  echo "== installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Outside the tree: masterless Salt walks every file root on every run.
venv=${IDLELOCK_VENV:-/var/cache/idlelock/venv}
if [[ ! -x $venv/bin/python ]]; then
  echo "== creating $venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check -r tests/requirements.txt
"$venv/bin/pip" check >/dev/null

scripts/build-chroots.sh   # OpenSSH 8.4, 10.0, 10.3, 10.6 for tests/matrix, in parallel; cached (cold: 2-9 min)
exec "$venv/bin/python" -m pytest "$@"
