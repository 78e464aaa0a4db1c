#!/usr/bin/env bash
# Build minimal Debian chroots that carry a real OpenSSH of a given version, for
# the version-matrix tests.
#
#   scripts/build-chroots.sh [suite...]        (default: every known suite)
#
# A suite named <release>-backports is <release> with openssh-server installed
# from that release's backports (apt -t), after debootstrap.
#
# Each chroot lands in $IDLELOCK_CHROOT_CACHE/<suite> (default
# /var/cache/idlelock/chroots/<suite>), outside the repository. A chroot counts
# as complete only when its stamp file exists; the stamp is written after the
# sshd version was verified, and the directory is renamed into place after
# that, so an interrupted build never looks complete. Suites build in parallel.
set -euo pipefail

CACHE=${IDLELOCK_CHROOT_CACHE:-/var/cache/idlelock/chroots}
STAMP=.idlelock-complete
BUILD_TIMEOUT=${IDLELOCK_BUILD_TIMEOUT:-1800}   # seconds, per suite
LOCK_TIMEOUT=$((BUILD_TIMEOUT + 60))            # another run may be building

# suite -> the version its sshd reports (Debian's 1:10.0p1-7 reports 10.0p2). sid
# moves: when it ships a newer OpenSSH, the build stops here and says so.
declare -A EXPECTED=([bullseye]=OpenSSH_8.4p1 [trixie]=OpenSSH_10.0p2
                     [trixie-backports]=OpenSSH_10.3p1 [sid]=OpenSSH_10.6p1)
ALL_SUITES=(bullseye trixie trixie-backports sid)

log() { printf '[build-chroots] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# First non-security mirror URI from the host's apt configuration, so the same
# (reachable) registry serves the chroots. IDLELOCK_MIRROR overrides it.
host_mirror() {
    local f uri
    if [[ -n ${IDLELOCK_MIRROR:-} ]]; then echo "$IDLELOCK_MIRROR"; return; fi
    for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list.d/*.sources; do
        [[ -r $f ]] || continue
        # deb822: stanzas separated by blank lines; skip security-only stanzas.
        uri=$(awk 'BEGIN { RS = ""; FS = "\n" }
            { uris = ""; suites = ""; deb = 0
              for (i = 1; i <= NF; i++) {
                  if ($i ~ /^#/) continue
                  if ($i ~ /^Types:.*[ \t]deb([ \t]|$)/) deb = 1
                  if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); uris = a[2] }
                  if ($i ~ /^Suites:/) suites = $i }
              if (deb && uris != "" && suites !~ /-security/) { print uris; exit } }' "$f")
        [[ -n $uri ]] && { echo "$uri"; return; }
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -r $f ]] || continue
        uri=$(awk '$1 == "deb" { sub(/^deb[ \t]+(\[[^]]*\][ \t]+)?/, "")
                                 if ($2 !~ /-security/) { print $1; exit } }' "$f")
        [[ -n $uri ]] && { echo "$uri"; return; }
    done
    die "no Debian mirror found in the host's apt configuration"
}

sshd_version() {  # 8.4 has no -V and prints the version in its usage text
    chroot "$1" /usr/sbin/sshd -V 2>&1 | grep -oE 'OpenSSH_[0-9]+\.[0-9]+p[0-9]+' | head -n1 || true
}

# Processes whose root directory is inside $1 (e.g. a daemon a package script started).
procs_rooted_in() {
    local p root
    for p in /proc/[0-9]*; do
        root=$(readlink "$p/root" 2>/dev/null) || continue
        [[ $root == "$1" || $root == "$1"/* ]] && echo "${p#/proc/}"
    done
    return 0
}

# Remove a (partial) chroot safely: an interrupted debootstrap can leave /proc
# or /sys mounted inside, and rm must never descend into those.
remove_tree() {
    local dir=$1 mnt pids
    [[ -e $dir ]] || return 0
    pids=$(procs_rooted_in "$dir")
    [[ -z $pids ]] || die "processes still run inside $dir (PIDs: $pids); not removing it"
    awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r |
        while read -r mnt; do umount "$mnt" || umount -l "$mnt"; done
    rm -rf --one-file-system "$dir"
}

build_suite() {
    local suite=$1 mirror=$2 want=${EXPECTED[$1]}
    local final=$CACHE/$suite tmp=$CACHE/.$suite.tmp.$$ start=$SECONDS got pids stale
    # debootstrap inherits fd 9, so a build orphaned by a killed run keeps the
    # lock until it ends, and no later run deletes a tree still being written.
    exec 9>"$CACHE/.$suite.lock"
    flock -w "$LOCK_TIMEOUT" 9 || die "$suite: timed out waiting for another build's lock"

    if [[ -f $final/$STAMP && $(sshd_version "$final") == "$want" ]]; then
        log "$suite: complete ($want) at $final, skipping"
        return 0
    fi
    [[ -e $final ]] && log "$suite: $final is incomplete, rebuilding"
    for stale in "$CACHE"/."$suite".tmp.*; do   # left by an interrupted run
        [[ -e $stale ]] && log "$suite: removing stale partial build $stale"
        remove_tree "$stale"
    done
    trap 'remove_tree "$tmp"' EXIT

    local release=${suite%-backports}
    log "$suite: debootstrap $release into $tmp (log: $CACHE/$suite.log)"
    if ! timeout "$BUILD_TIMEOUT" debootstrap --variant=minbase --include=openssh-server \
            "$release" "$tmp" "$mirror" >"$CACHE/$suite.log" 2>&1; then
        tail -n 20 "$CACHE/$suite.log" >&2
        die "$suite: debootstrap failed or exceeded ${BUILD_TIMEOUT}s"
    fi
    # Deny service starts from any apt run in the chroot (this one, and later
    # ones): it shares the host's network, so a package-started sshd would
    # grab port 22.
    printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
    chmod 0755 "$tmp/usr/sbin/policy-rc.d"
    if [[ $suite != "$release" ]]; then
        log "$suite: openssh-server from $suite"
        echo "deb $mirror $suite main" >"$tmp/etc/apt/sources.list.d/$suite.list"
        # debootstrap leaves no resolver configuration; apt needs one only now.
        cp -L /etc/resolv.conf "$tmp/etc/resolv.conf"
        if ! timeout "$BUILD_TIMEOUT" chroot "$tmp" env DEBIAN_FRONTEND=noninteractive \
                sh -c "apt-get update && apt-get install -y -t $suite openssh-server" \
                >>"$CACHE/$suite.log" 2>&1; then
            tail -n 20 "$CACHE/$suite.log" >&2
            die "$suite: apt-get install -t $suite openssh-server failed"
        fi
        rm -f "$tmp/etc/resolv.conf"
        chroot "$tmp" apt-get clean
    fi

    # The sshd privilege-separation dir is normally a systemd RuntimeDirectory.
    mkdir -p "$tmp/run/sshd" && chmod 0755 "$tmp/run/sshd"
    chroot "$tmp" ssh-keygen -A >/dev/null
    # debootstrap swaps in a fake start-stop-daemon (and a policy-rc.d) while
    # configuring; a leftover fake means its cleanup did not run.
    [[ ! -e $tmp/sbin/start-stop-daemon.REAL ]] || die "$suite: fake start-stop-daemon left behind"

    pids=$(procs_rooted_in "$tmp")
    if [[ -n $pids ]]; then
        log "$suite: package scripts left processes running in the chroot:"
        ps -o pid,args -p "${pids//$'\n'/,}" >&2 || true
        kill $pids 2>/dev/null || true   # started by this build, so ours to stop
        sleep 2
        [[ -z $(procs_rooted_in "$tmp") ]] || die "$suite: processes $pids survived SIGTERM"
    else
        log "$suite: no processes left running inside the chroot"
    fi

    got=$(sshd_version "$tmp")
    [[ $got == "$want" ]] || die "$suite: expected $want, chroot sshd reports '${got:-nothing}'" \
        "(the archive moved on: update EXPECTED here and VERSIONS in tests/support/chroots.py)"
    printf 'suite=%s\nversion=%s\nbuilt=%s\nseconds=%s\n' \
        "$suite" "$got" "$(date -u +%FT%TZ)" "$((SECONDS - start))" >"$tmp/$STAMP"

    remove_tree "$final"
    mv "$tmp" "$final"
    trap - EXIT
    log "$suite: built $got in $((SECONDS - start))s, $(du -sh --one-file-system "$final" | cut -f1) at $final"
}

main() {
    [[ $EUID -eq 0 ]] || die "must run as root (debootstrap and chroot)"
    command -v debootstrap >/dev/null || die "debootstrap missing: apt-get install -y debootstrap"
    local suites=("$@") suite mirror="" failed=0
    ((${#suites[@]})) || suites=("${ALL_SUITES[@]}")
    for suite in "${suites[@]}"; do
        [[ -n ${EXPECTED[$suite]:-} ]] || die "unknown suite '$suite' (known: ${!EXPECTED[*]})"
    done
    local missing=()
    for suite in "${suites[@]}"; do   # a complete cache needs no network at all
        [[ -f $CACHE/$suite/$STAMP ]] || missing+=("$suite")
    done
    if ((${#missing[@]})); then
        mirror=$(host_mirror)
        mirror=${mirror%/}
        for suite in "${missing[@]}"; do   # fail early and clearly, not deep in debootstrap
            curl -fsS --max-time 60 -o /dev/null "$mirror/dists/$suite/InRelease" ||
                die "mirror does not serve '$suite' (set IDLELOCK_MIRROR, e.g. to an archive path)"
        done
    fi
    mkdir -p "$CACHE"

    declare -A jobs=()
    for suite in "${suites[@]}"; do
        # Separate target dirs and logs, so parallel builds do not interfere.
        (build_suite "$suite" "$mirror") &
        jobs[$suite]=$!
    done
    for suite in "${!jobs[@]}"; do
        wait "${jobs[$suite]}" || { log "$suite: FAILED"; failed=1; }
    done
    return "$failed"
}

main "$@"
