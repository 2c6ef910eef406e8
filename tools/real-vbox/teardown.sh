#!/bin/bash
# Undo tools/real-vbox/provision.sh: stop VBoxSVC inside the chroot and
# unmount everything below it.  With --remove also delete the root and the
# host command (the next provision then builds from scratch, ~50 s).
#
# Usage: teardown.sh [--remove]
# Environment: REALVBOX_ROOT, REALVBOX_BIN (same defaults as provision.sh)
set -eu

ROOT=${REALVBOX_ROOT:-/var/lib/nova-virtualbox/realvbox/root}
ROOT=${ROOT%/}
BIN=${REALVBOX_BIN:-/usr/local/bin/vboxmanage-real}
REMOVE=no
case ${1-} in
    "") ;;
    --remove) REMOVE=yes ;;
    *) echo "usage: $0 [--remove]" >&2; exit 2 ;;
esac
case $ROOT in
    /?*) ;;
    *) echo "teardown: REALVBOX_ROOT must be an absolute path other than /" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "teardown: must run as root" >&2; exit 2; }

mounts_under_root() {
    awk -v r="$ROOT" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo |
        awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2-
}

procs_in_root() {
    local p r
    for p in /proc/[0-9]*; do
        r=$(readlink "$p/root" 2>/dev/null) || continue
        case $r in
            "$ROOT"|"$ROOT"/*) echo "${p#/proc/}" ;;
        esac
    done
}

# VBoxSVC flushes its registry on SIGTERM; give it a few seconds.
pids=$(procs_in_root)
if [ -n "$pids" ]; then
    echo "teardown: stopping processes in the root: $(echo $pids)"
    kill $pids 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        [ -n "$(procs_in_root)" ] || break
        sleep 0.5
    done
    pids=$(procs_in_root)
    [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
fi

for m in $(mounts_under_root); do
    umount "$m" 2>/dev/null || umount -l "$m"
done
echo "teardown: unmounted $ROOT"

if [ "$REMOVE" = yes ]; then
    if [ -n "$(mounts_under_root)" ]; then
        echo "teardown: mounts remain under $ROOT; not removing" >&2
        exit 1
    fi
    rm -rf --one-file-system "$ROOT"
    rm -f "$BIN" "$(dirname "$ROOT")/provision.log" "$(dirname "$ROOT")/.provision.lock"
    rmdir "$(dirname "$ROOT")" 2>/dev/null || true
    echo "teardown: removed $ROOT and $BIN"
fi
