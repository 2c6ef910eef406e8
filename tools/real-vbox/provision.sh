#!/bin/bash
# Provision the real VirtualBox 7.2 VBoxManage for the nova-virtualbox test tier.
#
# VirtualBox cannot start VMs on a CI host (no vboxdrv kernel module), but its
# VBoxManage runs every configuration command.  Debian bookworm has no
# virtualbox package, so we build a minimal Debian sid chroot that carries
# `virtualbox` from sid/contrib (without virtualbox-dkms) and expose its real
# binary on the host as /usr/local/bin/vboxmanage-real.
#
# VMs start too: a small launcher of ours (vboxheadless-driverless.c, built
# here with the host's C compiler) replaces the chroot's hardened
# VBoxHeadless, and the global extradata VBoxInternal/HM/FallbackToIEM=1 lets
# VirtualBox run guests in its instruction interpreter without a kernel
# driver (see FINDINGS.md: tiny guests only).
#
# Run as root.  Idempotent: a second run only re-checks the root, re-mounts
# what is missing and rewrites the host command (about 1 s).  A root that has
# no success marker (an interrupted run) is unmounted, removed and rebuilt.
#
# Environment:
#   REALVBOX_ROOT         chroot location   (/var/lib/nova-virtualbox/realvbox/root)
#   REALVBOX_SHARED_DIRS  host dirs bind-mounted at the same path inside
#                         (space-separated; default "/tmp /var/lib/nova")
#   REALVBOX_BIN          host command to write (/usr/local/bin/vboxmanage-real)
#   REALVBOX_MIRROR       Debian mirror (http://deb.debian.org/debian)
#   REALVBOX_SUITE        suite providing virtualbox (sid)
#   REALVBOX_LOG          log file (next to the root: provision.log)
set -eEu
set -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=${REALVBOX_ROOT:-/var/lib/nova-virtualbox/realvbox/root}
ROOT=${ROOT%/}
SHARED_DIRS=${REALVBOX_SHARED_DIRS-/tmp /var/lib/nova}
BIN=${REALVBOX_BIN:-/usr/local/bin/vboxmanage-real}
MIRROR=${REALVBOX_MIRROR:-http://deb.debian.org/debian}
SUITE=${REALVBOX_SUITE:-sid}
STATE_DIR=$(dirname "$ROOT")
LOG=${REALVBOX_LOG:-$STATE_DIR/provision.log}
MARKER=$ROOT/.nova-realvbox-ready
VBM_IN_ROOT=/usr/lib/virtualbox/VBoxManage
CHROOT_PATH=/usr/sbin:/usr/bin:/sbin:/bin

case $ROOT in
    /*) ;;
    *) echo "provision: REALVBOX_ROOT must be an absolute path" >&2; exit 2 ;;
esac
if [ "$ROOT" = / ] || [ "$ROOT" = "" ]; then
    echo "provision: refusing to use / as the chroot" >&2; exit 2
fi
if [ "$(id -u)" != 0 ]; then
    echo "provision: must run as root" >&2; exit 2
fi

mkdir -p "$STATE_DIR"
: > "$LOG"

now() { date +%s.%N; }
T_ALL=$(now)
T_STEP=$T_ALL
STEP=""
step() { STEP=$1; T_STEP=$(now); }
done_step() {
    printf 'realvbox: %-44s %6.1f s\n' "$STEP" \
        "$(awk -v a="$T_STEP" -v b="$(now)" 'BEGIN{print b-a}')"
}
fail() {
    echo "realvbox: FAILED during: $STEP" >&2
    echo "realvbox: last lines of $LOG:" >&2
    tail -n 25 "$LOG" | sed 's/^/    /' >&2
    exit 1
}
trap 'fail' ERR
# Run a command with its output going to the log only.
# fd 9 (the lock) is closed so that a VBoxSVC spawned by a smoke-test call
# does not keep the lock for its ~5 s auto-shutdown delay.
run() { echo "+ $*" >>"$LOG"; "$@" 9>&- >>"$LOG" 2>&1; }

# One provision at a time (CI may start several test jobs).
exec 9>"$STATE_DIR/.provision.lock"
flock 9

# Mount points below ROOT, deepest first.
mounts_under_root() {
    awk -v r="$ROOT" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo |
        awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2-
}

# Processes whose root directory is inside ROOT (VBoxSVC, VBoxXPCOMIPCD, ...).
procs_in_root() {
    local p r
    for p in /proc/[0-9]*; do
        r=$(readlink "$p/root" 2>/dev/null) || continue
        case $r in
            "$ROOT"|"$ROOT"/*) echo "${p#/proc/}" ;;
        esac
    done
}

unmount_all() {
    local pids m
    pids=$(procs_in_root)
    if [ -n "$pids" ]; then
        kill $pids 2>/dev/null || true
        sleep 1
        pids=$(procs_in_root)
        [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
    fi
    for m in $(mounts_under_root); do
        umount "$m" 2>>"$LOG" || umount -l "$m"
    done
}

remove_root() {
    unmount_all
    if [ -n "$(mounts_under_root)" ]; then
        echo "realvbox: mounts remain under $ROOT; not removing it" >&2
        mounts_under_root >&2
        exit 1
    fi
    rm -rf --one-file-system "$ROOT"
}

ensure_mount() {   # ensure_mount TARGET mount-args...
    local target=$1; shift
    mountpoint -q "$target" || run mount "$@" "$target"
}

mount_all() {
    local d
    ensure_mount "$ROOT/proc" -t proc proc
    # read-only: VBoxSVC needs /sys for CPU/memory figures; the root must not
    # be able to change the host through it.
    ensure_mount "$ROOT/sys" -t sysfs -o ro,nosuid,nodev,noexec sysfs
    if ! mountpoint -q "$ROOT/dev"; then
        run mount --bind /dev "$ROOT/dev"
        run mount --make-slave "$ROOT/dev"
    fi
    # A private devpts instance so nothing touches the host's /dev/pts.
    ensure_mount "$ROOT/dev/pts" -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts
    for d in $SHARED_DIRS; do
        case $d in /*) ;; *) echo "realvbox: shared dir '$d' is not absolute" >>"$LOG"; false ;; esac
        mkdir -p "$d" "$ROOT$d"
        if ! mountpoint -q "$ROOT$d"; then
            run mount --bind "$d" "$ROOT$d"
            run mount --make-slave "$ROOT$d"
        fi
    done
}

write_host_command() {
    local tmp q
    # Single-quote the root for the generated script.
    q=$(printf '%s' "$ROOT" | sed "s/'/'\\\\''/g")
    mkdir -p "$(dirname "$BIN")"
    tmp=$BIN.tmp.$$
    cat >"$tmp" <<EOF
#!/bin/sh
# Generated by nova-virtualbox tools/real-vbox/provision.sh: runs the real
# VirtualBox VBoxManage (not Debian's wrapper script) inside the chroot.
# Arguments, stdin, stdout, stderr and the exit code pass through unchanged.
# The working directory is kept when it also exists inside the chroot.
root='$q'
if [ ! -e "\$root/proc/self" ]; then
    echo "vboxmanage-real: \$root is not mounted; run tools/real-vbox/provision.sh" >&2
    exit 126
fi
cwd=\$PWD
[ -n "\$cwd" ] && [ -d "\$root\$cwd" ] || cwd=/
exec chroot "\$root" env -i -C "\$cwd" HOME=/root USER=root LOGNAME=root LC_ALL=C \\
    PATH=$CHROOT_PATH $VBM_IN_ROOT "\$@"
EOF
    chmod 0755 "$tmp"
    mv -f "$tmp" "$BIN"
}

# The driverless launcher in place of VBoxHeadless (Debian's file diverted to
# VBoxHeadless.distrib), rebuilt when its source changes, and the extradata
# that lets VMs fall back on the instruction interpreter.
install_driverless() {
    local src=$HERE/vboxheadless-driverless.c
    local target=$ROOT/usr/lib/virtualbox/VBoxHeadless
    local built=$STATE_DIR/VBoxHeadless-driverless
    local stamp=$STATE_DIR/VBoxHeadless-driverless.sha256
    local sum
    sum=$(sha256sum "$src" | cut -d' ' -f1)
    if [ ! -x "$built" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
        if ! command -v "${CC:-cc}" >/dev/null 2>&1; then
            run apt-get update -qq
            run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                --no-install-recommends gcc libc6-dev
        fi
        run "${CC:-cc}" -O2 -Wall -o "$built.tmp" "$src" -ldl
        mv -f "$built.tmp" "$built"
        echo "$sum" >"$stamp"
    fi
    if ! chroot "$ROOT" dpkg-divert --list /usr/lib/virtualbox/VBoxHeadless |
            grep -q 'local diversion'; then
        run chroot "$ROOT" env -i PATH=$CHROOT_PATH dpkg-divert --local \
            --rename --add /usr/lib/virtualbox/VBoxHeadless
    fi
    cmp -s "$built" "$target" || install -m 0755 "$built" "$target"
    run "$BIN" setextradata global VBoxInternal/HM/FallbackToIEM 1
}

# ---------------------------------------------------------------------------
if [ -f "$MARKER" ] && [ -x "$ROOT$VBM_IN_ROOT" ]; then
    step "reuse $ROOT"
    mount_all
    write_host_command
    run "$BIN" --version
    ver=$(tail -n 1 "$LOG")
    install_driverless
    done_step
    echo "realvbox: ready: $BIN ($ver, VMs start in driverless mode)"
    exit 0
fi

if [ -e "$ROOT" ]; then
    step "remove incomplete root"
    remove_root
    done_step
fi

if ! command -v debootstrap >/dev/null 2>&1; then
    step "apt-get install debootstrap (host)"
    run apt-get update -qq
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        debootstrap debian-archive-keyring
    done_step
fi

step "debootstrap $SUITE (minbase, main+contrib)"
mkdir -p "$ROOT"
run debootstrap --variant=minbase --components=main,contrib \
    --keyring=/usr/share/keyrings/debian-archive-keyring.gpg "$SUITE" "$ROOT" "$MIRROR"
done_step

step "configure root and mount"
# Mirrors' sid Release files can look expired to a machine whose clock lags.
echo 'Acquire::Check-Valid-Until "false";' >"$ROOT/etc/apt/apt.conf.d/90nova-realvbox"
# No daemons may start from maintainer scripts.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>>"$LOG" || true
mount_all
run chroot "$ROOT" env -i PATH=$CHROOT_PATH apt-get update -qq
done_step

step "dummy virtualbox-modules (no dkms)"
# virtualbox Depends: virtualbox-dkms | virtualbox-source | virtualbox-modules.
# A local empty package providing virtualbox-modules keeps dkms and a
# kernel-header toolchain out of the root.
pkgdir=$ROOT/root/nova-vbox-modules
mkdir -p "$pkgdir/DEBIAN"
cat >"$pkgdir/DEBIAN/control" <<'EOF'
Package: nova-virtualbox-modules-none
Version: 1.0
Architecture: all
Maintainer: nova-virtualbox test tier <root@localhost>
Provides: virtualbox-modules
Description: satisfies virtualbox-modules without a kernel module
 VBoxManage configuration commands need no kernel module.
EOF
run chroot "$ROOT" env -i PATH=$CHROOT_PATH dpkg-deb --build /root/nova-vbox-modules /root/nova-vbox-modules.deb
run chroot "$ROOT" env -i PATH=$CHROOT_PATH dpkg -i /root/nova-vbox-modules.deb
done_step

step "apt-get install virtualbox"
run chroot "$ROOT" env -i PATH=$CHROOT_PATH DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends virtualbox
run chroot "$ROOT" env -i PATH=$CHROOT_PATH apt-get clean
done_step

step "smoke test"
write_host_command
run "$BIN" --version
ver=$(tail -n 1 "$LOG")
smoke=nova-realvbox-smoke-$$
run "$BIN" createvm --name "$smoke" --ostype Linux_64 --register
# (no "| grep -q": with pipefail an early grep exit can fail the pipeline)
out=$("$BIN" showvminfo "$smoke" --machinereadable 9>&- 2>>"$LOG")
run "$BIN" unregistervm "$smoke" --delete
case $out in *'VMState="poweroff"'*) ;; *) echo "smoke VM not poweroff" >>"$LOG"; false ;; esac
out=$("$BIN" list hostinfo 9>&- 2>>"$LOG")
# /sys missing or unreadable makes VBoxSVC report 0 CPUs
case $out in *'Processor count: 0'*|'') echo "list hostinfo: 0 CPUs" >>"$LOG"; false ;; esac
done_step

step "driverless VBoxHeadless"
install_driverless
done_step

date -u +%Y-%m-%dT%H:%M:%SZ >"$MARKER"
excl=""
for d in $SHARED_DIRS; do excl="$excl --exclude=$ROOT$d"; done
echo "realvbox: disk used by root: $(du -sxm $excl "$ROOT" | cut -f1) MB"
printf 'realvbox: total %.1f s\n' "$(awk -v a="$T_ALL" -v b="$(now)" 'BEGIN{print b-a}')"
echo "realvbox: ready: $BIN ($ver, VMs start in driverless mode)"
