#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# wgnetd with the kernel backend, inside a throw-away VM (tests/rig/vm-run), against wg(8)
# on the same kernel module in the same VM: the figures of bench-daemon.py that depend on
# the device set, where the set is a netlink message instead of wireguard-go's UAPI.
#
#   AddPeer, one call at a time as root, 0 -> N     vs  one `wg set IF peer K allowed-ips A`
#                                                       process per peer (on a device of N)
#   AddPeer, 8 concurrent callers, 0 -> N
#   AddPeers, one bulk call of N                    vs  wg setconf of the same peers
#
# A private bus (dbus-daemon only: the caller is root, for whom wgnetd skips polkit),
# wgnetd --backend=kernel in a namespace. The state directory is on an ext4 file system in
# a loop file on the host's disk (shared with the VM over virtio-9p: SQLite's WAL cannot
# live on 9p itself), so each commit's fsync reaches the host's disk, at about 3 ms per
# fsync under TCG; or on the VM's tmpfs with STATE=tmpfs (no fsync cost: the device and
# bus part alone). The VM
# runs QEMU TCG on this machine: absolute times are several times the host's; quote the
# ratios to wg(8) measured in the same VM.
#
#   bench/bench-daemon-kernel.sh [BUILD_DIR=build] [N=2000]     (root; STATE=disk|tmpfs)

set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)

if [ "${VM_RUN_GUEST:-0}" != 1 ]; then
        build=$(cd "${1:-$src/build}" && pwd)
        n=${2:-2000}
        [ -x "$build/daemon/wgnetd" ] && [ -x "$build/bench/bench-bus" ] \
                || { echo "build $build first (wgnetd, bench-bus)" >&2; exit 1; }
        share=$(mktemp -d /var/tmp/wgnet-bench-kernel-XXXXXX)
        trap 'rm -rf "$share"' EXIT
        echo "# $(date -u +%FT%TZ) host $(uname -r), $(nproc) CPUs; guest: ${VM_RUN_SMP:-1} vCPU, QEMU; $(wg --version | head -1); state: ${STATE:-disk}"
        cd "$build"
        env VM_RUN_TIMEOUT=${VM_RUN_TIMEOUT:-1200} STATE=${STATE:-disk} SHARE="$share" \
                "$src/tests/rig/vm-run" -w "$share" -- "$src/bench/bench-daemon-kernel.sh" "$build" "$n"
        exit $?
fi

# ---- inside the VM ----------------------------------------------------------------------
build=$1
n=$2
bench_bus=$build/bench/bench-bus
ms() { echo "$(( ($(date +%s%N) - $1) / 1000 ))" | awk '{ printf "%.3f", $1 / 1000 }'; }
fail() { echo "FAIL: $*"; [ -f /tmp/wgnetd.log ] && tail -30 /tmp/wgnetd.log; exit 1; }

mkdir -p /tmp/bus
if [ "$STATE" = tmpfs ]; then
        state=/tmp/state
else
        modprobe loop && modprobe ext4 || fail "no loop or ext4 module"
        truncate -s 512M "$SHARE/disk.img"
        mkfs.ext4 -q "$SHARE/disk.img"
        mkdir -p /tmp/disk
        mount -o loop "$SHARE/disk.img" /tmp/disk
        state=/tmp/disk/state
fi
mkdir -p "$state"
. "$src/tests/rig/vm-bus.sh"
vm_bus_start /tmp/bus || fail "the private bus did not come up"
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/tmp/bus/socket

ip netns add hub
ip -n hub link set lo up
ip netns exec hub "$build/daemon/wgnetd" --state-dir="$state" --config=/dev/null --backend=kernel --tick=5 \
        >>/tmp/wgnetd.log 2>&1 &
daemon_pid=$!
for _ in $(seq 300); do
        [ "$(busctl call org.freedesktop.DBus / org.freedesktop.DBus NameHasOwner s org.wgnet1 2>/dev/null)" = "b true" ] \
                && break
        kill -0 $daemon_pid 2>/dev/null || fail "wgnetd exited"
        sleep 0.1
done
[ "$(busctl get-property org.wgnet1 /org/wgnet1 org.wgnet1.Manager Backend)" = 's "kernel"' ] \
        || fail "the backend is not the kernel one"

network() {     # name ifname subnet port
        busctl call org.wgnet1 /org/wgnet1 org.wgnet1.Manager CreateNetwork 'sa{sv}' "$1" 4 \
                Interface s "$2" Addresses as 1 "$3" ListenPort q "$4" Mode s hub | sed -E 's/^o "(.*)"$/\1/'
}
showconf() { ip netns exec hub wg showconf "$1" | grep -v '^ListenPort'; }

echo "== AddPeer, one call at a time, 0 -> $n peers"
net_a=$(network a wgka 10.100.0.1/16 52001)
out=$("$bench_bus" add "$net_a" "$n" 1 a $(( n / 5 )))
echo "$out" | sed 's/^/  /'
rate=$(echo "$out" | awk '/^block/ { r = $3 } END { print r }')
per_call=$(awk -v r="$rate" 'BEGIN { printf "%.3f", 1000 / r }')

showconf wgka > /tmp/a.conf
ip -n hub link add wgkz0 type wireguard
t=$(date +%s%N); ip netns exec hub wg setconf wgkz0 /tmp/a.conf; w_setconf_a=$(ms "$t")
k=200
for i in $(seq 0 $((k - 1))); do
        echo "wg set wgkz0 peer $(head -c 32 /dev/urandom | base64) allowed-ips 10.200.$((i / 250)).$((i % 250 + 1))/32"
done > /tmp/wgset.sh
t=$(date +%s%N); ip netns exec hub bash /tmp/wgset.sh; w_set=$(awk -v t="$(ms "$t")" -v k=$k 'BEGIN { printf "%.3f", t / k }')
t=$(date +%s%N); for _ in $(seq 20); do wg --version >/dev/null; done
w_start=$(awk -v t="$(ms "$t")" 'BEGIN { printf "%.3f", t / 20 }')

echo "== AddPeer, 8 concurrent callers, 0 -> $n peers"
net_b=$(network b wgkb 10.101.0.1/16 52002)
out8=$("$bench_bus" add "$net_b" "$n" 8 c 0 | tail -1)
echo "  $out8"

echo "== AddPeers, one bulk call of $n"
net_c=$(network c wgkc 10.102.0.1/16 52003)
t_bulk=$("$bench_bus" bulk "$net_c" "$n" d | tail -1 | awk '{ printf "%.3f", $3 * 1000 }')
showconf wgkc > /tmp/c.conf
ip -n hub link add wgkz1 type wireguard
t=$(date +%s%N); ip netns exec hub wg setconf wgkz1 /tmp/c.conf; w_setconf_c=$(ms "$t")

kill -TERM $daemon_pid; wait $daemon_pid || true
[ "$STATE" = tmpfs ] || umount /tmp/disk
echo
echo "| measure (kernel backend, in the VM, N = $n) | wgnet | wg(8) in the same VM | ratio |"
echo "|---|---|---|---|"
awk -v r="$rate" -v pc="$per_call" -v ws="$w_set" -v st="$w_start" 'BEGIN {
        printf "| AddPeer sequential as root, rate in the last block | %.0f/s (%.3f ms per peer) | one `wg set` process per peer: %.3f ms (of which %.3f ms starting the process) | %.2f× the time of `wg set` |\n", r, pc, ws, st, pc / ws }'
awk -v o="$out8" 'BEGIN { split(o, f, " "); printf "| AddPeer, 8 concurrent callers | %.0f/s (p50 %.2f ms, p99 %.2f ms) | | |\n", f[5], f[6], f[7] }'
awk -v b="$t_bulk" -v w="$w_setconf_c" 'BEGIN { printf "| AddPeers bulk of N | %.1f ms | `wg setconf` of the same peers: %.1f ms | %.2f× |\n", b, w, b / w }'
echo "(wg setconf of network a's $n peers: $w_setconf_a ms)"
