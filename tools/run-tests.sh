#!/usr/bin/env bash
# Runs every test tier of nova-virtualbox on a fresh machine: installs what
# the tiers need, then runs tox. What CI's .ci/run calls.
#
#   tools/run-tests.sh            all tiers: pep8, then in one virtualenv
#                                 unit (eventlet and native threads), the
#                                 simulator's suite and contract tests, Nova
#                                 functional tests on the simulator and on
#                                 real VirtualBox 7.2 (chroot)
#                                 then the all-in-one OpenStack's lifecycle
#                                 test with the openstack CLI, its two-host
#                                 test (as root), Tempest's
#                                 subset and Horizon in Chromium on the
#                                 simulator, and (as root) on real VirtualBox
#   TOX_ENVS=py311 tools/run-tests.sh      other tox environments
#   SKIP_ALLINONE=1 tools/run-tests.sh     without the all-in-one test
#
# As root on Debian/Ubuntu it apt-installs qemu-utils and provisions the real
# VirtualBox chroot (tools/real-vbox/provision.sh, about a minute the first
# time). Without root, the real-VirtualBox tier is skipped with a message
# unless REALVBOX_CMD names a VBoxManage to use.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$(pwd)
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
envs=${TOX_ENVS:-pep8,all}

say() { printf '== %s\n' "$*"; }

is_root() { [ "$(id -u)" = 0 ]; }

# System tools the tests use: qemu-img converts images, genisoimage builds
# config drives (Nova's ConfigDriveBuilder), tgt is the iSCSI target of
# the all-in-one's Cinder and of the volume tests on real VirtualBox,
# libiscsi-bin an initiator that logs in to a Cinder export with its CHAP
# secret; headless Chromium driven through chromedriver tests Horizon and
# the noVNC console.
missing=""
command -v qemu-img >/dev/null || missing="$missing qemu-utils"
command -v genisoimage >/dev/null || missing="$missing genisoimage"
command -v tgtd >/dev/null || missing="$missing tgt"
command -v iscsi-readcapacity16 >/dev/null || missing="$missing libiscsi-bin"
if [ "${SKIP_ALLINONE:-0}" != 1 ]; then
    command -v chromium >/dev/null || missing="$missing chromium"
    command -v chromedriver >/dev/null || missing="$missing chromium-driver"
    # The all-in-one's multi-host mode (its two-host test, as root):
    # RabbitMQ, MariaDB, each host's sshd and rsync for migrations.
    if is_root; then
        [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] ||
            missing="$missing rabbitmq-server"
        command -v mariadbd >/dev/null || missing="$missing mariadb-server"
        [ -x /usr/sbin/sshd ] || missing="$missing openssh-server"
        command -v rsync >/dev/null || missing="$missing rsync"
    fi
fi
if [ -n "$missing" ]; then
    if is_root && command -v apt-get >/dev/null; then
        say "installing$missing"
        apt-get update -qq
        # tgt's maintainer scripts try to start a service: not here.
        DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq \
            --no-install-recommends $missing >/dev/null
    else
        say "missing$missing and cannot apt-get them: those tests will skip"
    fi
fi

case ",$envs," in
*,realvbox,*|*,all,*)
    if [ -z "${REALVBOX_CMD:-}" ]; then
        if is_root && command -v apt-get >/dev/null; then
            say "provisioning real VirtualBox 7.2 (tools/real-vbox)"
            bash tools/real-vbox/provision.sh
            export REALVBOX_CMD=/usr/local/bin/vboxmanage-real
        else
            say "not root: the real-VirtualBox tests will be skipped"
            export REALVBOX_REQUIRED=0
        fi
    fi
    ;;
esac

VENV=$TOP/.tox-venv
if [ ! -x "$VENV/bin/tox" ]; then
    say "installing tox into $VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q 'tox>=4.6'
fi

say "tox -e $envs"
started=$(date +%s)
"$VENV/bin/tox" -e "$envs" -- "$@"

# The main job, as a user drives it: the all-in-one OpenStack on the
# simulator, exercised with the real openstack CLI (about 4 minutes).
if [ "${SKIP_ALLINONE:-0}" != 1 ]; then
    say "all-in-one OpenStack lifecycle test (tools/allinone/tests/lifecycle.py)"
    "$PYTHON" tools/allinone/tests/lifecycle.py
    # Two compute hosts of one cloud on this machine (as root: RabbitMQ,
    # MariaDB, a mount namespace for the second host): servers on both,
    # cold migration and resize between them, evacuation (about 3 minutes).
    say "all-in-one with two hosts (tools/allinone/tests/twohost.py)"
    "$PYTHON" tools/allinone/tests/twohost.py
    # Its plumbing's own tests, in the venv the lifecycle test installed.
    say "all-in-one plumbing tests (tools/allinone/tests/test_*.py)"
    "${AIO_VENV:-$TOP/.aio/venv}/bin/python" -m unittest discover \
        -s tools/allinone/tests
    # Tempest, OpenStack's own test suite, judges the cloud: its CI subset
    # of tempest.api.compute on the simulator (Tempest installed into the
    # venv the first time; every test left out is listed with its reason in
    # tools/allinone/tempest-excluded.txt).
    say "Tempest against the all-in-one (tools/allinone/tests/tempest_ci.py)"
    "$PYTHON" tools/allinone/tests/tempest_ci.py
    # Horizon as a user drives it, in headless Chromium: log in as demo,
    # launch tinyguest with the wizard, ACTIVE, console tab, delete (about
    # 2 minutes); screenshots and horizon.log in .aio/artifacts/horizon/.
    if command -v chromium >/dev/null && command -v chromedriver >/dev/null
    then
        say "Horizon in headless Chromium (tools/allinone/tests/horizon.py)"
        "$PYTHON" tools/allinone/tests/horizon.py
    else
        say "no chromium and chromedriver: the Horizon browser test is skipped"
    fi
    # The main job on real VirtualBox (tools/real-vbox's chroot, where VMs
    # run): the tiny guest through the openstack CLI, its console log, its
    # noVNC console in headless Chromium, stop/start, pause, suspend, soft
    # reboot, snapshot, delete (about 4 minutes). Root only, like the chroot.
    if is_root && [ -x /usr/local/bin/vboxmanage-real ]; then
        # Re-checks the chroot's mounts (about 1 s when provisioned).
        bash tools/real-vbox/provision.sh >/dev/null
        say "all-in-one on real VirtualBox (tools/allinone/tests/realvbox.py)"
        "$PYTHON" tools/allinone/tests/realvbox.py
    else
        say "no real VirtualBox (root and /usr/local/bin/vboxmanage-real):" \
            "the all-in-one's real-VirtualBox test is skipped"
    fi
fi
say "all tiers passed in $(( $(date +%s) - started )) s"
# One plain closing line for whoever reads only the end (each tier above
# printed its own counts; set -e got us here only if every one passed).
tiers=$(echo "$envs" | tr ',' '\n' | grep -c .)
[ "${SKIP_ALLINONE:-0}" = 1 ] || tiers=$((tiers + 1))
echo "tiers: $tiers passed, 0 failed"
