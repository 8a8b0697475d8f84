#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The kernel backend against the real WireGuard module, inside a throw-away VM
# (tests/rig/vm-run):
#   1. test-backend IF kernel: create, 1000 peers in one set, compared with `wg show dump`,
#      single-peer changes, delete;
#   2. test-backend-kernel: 10k peers set and read back, a peer with 5000 allowed IPs, dumps
#      racing with changes, replace/delete/-ENODEV;
#   3. a live tunnel between two network namespaces (configured with `wg`, the independent
#      tool) that keeps answering pings while the backend adds and removes single peers on
#      one end.
#
#   backend-kernel-vm.sh BUILD_DIR
#
# Exit 77 (with the reason) when not root or when the VM cannot run here (no qemu, no
# kernel, no busybox-static); this script installs nothing.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-${WGNET_BUILD_ROOT:-}}
[ -n "$build" ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(cd "$build" && pwd)

if [ "${VM_RUN_GUEST:-0}" != 1 ]; then
        [ "$(id -u)" = 0 ] || { echo "SKIP: needs root (the VM shares the host's / with every file readable)"; exit 77; }
        for t in test-backend test-backend-kernel; do
                [ -x "$build/tests/$t" ] || { echo "FAIL: $build/tests/$t not built" >&2; exit 1; }
        done
        cd "$build"
        rc=0
        VM_RUN_TIMEOUT=${VM_RUN_TIMEOUT:-240} "$here/../rig/vm-run" -- "$here/backend-kernel-vm.sh" "$build" || rc=$?
        [ $rc = 77 ] && echo "SKIP: the VM cannot run here (see above)"
        exit $rc
fi

# ---- inside the VM ----------------------------------------------------------------------
command -v wg >/dev/null || { echo "SKIP: no wg (wireguard-tools)"; exit 77; }
command -v ping >/dev/null || { echo "SKIP: no ping (iputils-ping)"; exit 77; }
t0=$(date +%s)

echo "== 1. test-backend (1000 peers, against wg show dump)"
"$build/tests/test-backend" wgk0 kernel 1000

echo "== 2. test-backend-kernel (10000 peers)"
"$build/tests/test-backend-kernel" 10000

echo "== 3. tunnel between two namespaces, single-peer churn on one end"
ip netns add a
ip netns add b
ip link add va netns a type veth peer name vb netns b
ip -n a addr add 192.168.77.1/24 dev va
ip -n b addr add 192.168.77.2/24 dev vb
ip -n a link set va up
ip -n b link set vb up
ip -n a link set lo up
ip -n b link set lo up
umask 077
wg genkey > /tmp/ka
wg genkey > /tmp/kb
pa=$(wg pubkey < /tmp/ka)
pb=$(wg pubkey < /tmp/kb)
ip -n a link add wga type wireguard
ip -n b link add wgb type wireguard
# The passive side first, so that the first handshake is not retried after 5 s.
ip netns exec a wg set wga private-key /tmp/ka listen-port 51820 peer "$pb" allowed-ips 10.7.0.2/32
ip netns exec b wg set wgb private-key /tmp/kb listen-port 51821 peer "$pa" allowed-ips 10.7.0.1/32 \
        endpoint 192.168.77.1:51820 persistent-keepalive 1
ip -n a addr add 10.7.0.1/24 dev wga
ip -n b addr add 10.7.0.2/24 dev wgb
ip -n a link set wga up
ip -n b link set wgb up
ip netns exec b ping -c 3 -W 5 10.7.0.1 >/dev/null || { echo "FAIL: no tunnel before the churn"; exit 1; }

# ping for as long as the churn lasts, then SIGINT: ping prints its summary.
ip netns exec b ping -i 0.05 -W 2 10.7.0.1 > /tmp/ping.out 2>&1 &
ping_pid=$!
ip netns exec a "$build/tests/test-backend-kernel" churn wga 1000
sleep 0.5
kill -INT $ping_pid
wait $ping_pid || true
loss=$(grep -oE '[0-9.]+% packet loss' /tmp/ping.out | cut -d% -f1)
grep -E 'packets transmitted' /tmp/ping.out
[ "$loss" = 0 ] || { echo "FAIL: ${loss:-?}% of the pings lost during the churn"; cat /tmp/ping.out; exit 1; }
ip netns exec a wg show wga dump | awk -v pb="$pb" 'NR > 1 && $1 == pb { found = 1 } END { exit !found }' \
        || { echo "FAIL: the tunnel peer is gone"; exit 1; }
echo "  no ping lost while 1000 peers were added and removed on the other end"

echo "ok ($(( $(date +%s) - t0 )) s in the VM)"
