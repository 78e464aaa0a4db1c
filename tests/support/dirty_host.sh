#!/usr/bin/env bash
# Run COMMAND as on a host whose admin has already changed /etc: the README's
# own scripts/apply.sh applied (pillar defaults), plus a readonly TMOUT in
# profile.d, TMOUT in bash.bashrc and zsh's zprofile, a tcsh autologout, an
# sshd drop-in and logind's StopIdleSessionSec. The tests must give the same
# results here as on a stock host (README, "Tests").
#
#   sudo tests/support/dirty_host.sh /var/cache/idlelock/venv/bin/python -m pytest tests/integration
#
# The real /etc is never written: in a private mount namespace, a copy of it is
# bind-mounted over /etc (a bind, not an overlay: the tests overlay /etc and the
# product overlays their overlay; a third level would pass the kernel's overlay
# stacking depth of 2), and /run is an empty tmpfs (no host service is found).
# Both go when COMMAND ends; the copy is removed.
set -euo pipefail
(($#)) || { echo "usage: $0 COMMAND..." >&2; exit 2; }
# Every run enters a namespace of its own, even from inside another dirty host:
# the marker is an argument of this very exec, never inherited by COMMAND.
if [[ $1 != --in-private-namespace ]]; then
    exec unshare --mount --propagation private "$0" --in-private-namespace "$@"
fi
shift
repo=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$(mktemp -d /tmp/idlelock-dirty-host.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
cp -a /etc "$scratch/etc"
mount --bind "$scratch/etc" /etc
# Refuse to go on unless the bind took: everything below writes /etc.
[[ /etc -ef $scratch/etc ]] || { echo "dirty_host: /etc is not the copy; stopping" >&2; exit 1; }
mount -t tmpfs -o mode=0755 dirty-host-run /run
mkdir -p /run/sshd

# On a host that is dirty already the apply may fail (a foreign readonly TMOUT):
# what it wrote stays, as it would for the admin.
IDLELOCK_STATE=$scratch/apply "$repo/scripts/apply.sh" >"$scratch/apply.log" 2>&1 ||
    echo "dirty_host: scripts/apply.sh failed: $(grep -m1 'Comment: .*Nothing was changed' "$scratch/apply.log")" >&2
mkdir -p /etc/profile.d /etc/ssh/sshd_config.d /etc/systemd/logind.conf.d /etc/zsh
printf 'TMOUT=900; readonly TMOUT; export TMOUT\n' >/etc/profile.d/zz-host.sh
printf 'TMOUT=1200; export TMOUT\n' >>/etc/bash.bashrc
printf 'TMOUT=1300; export TMOUT\n' >>/etc/zsh/zprofile
printf 'set autologout=21\n' >>/etc/csh.login
printf 'ClientAliveInterval 45\nClientAliveCountMax 2\n' >/etc/ssh/sshd_config.d/zz-host.conf
printf '[Login]\nStopIdleSessionSec=120\n' >/etc/systemd/logind.conf.d/zz-host.conf
printf 'StopIdleSessionSec=90\n' >>/etc/systemd/logind.conf
echo "dirty_host: /etc/profile.d holds $(ls /etc/profile.d | tr '\n' ' ')" >&2
"$@"
