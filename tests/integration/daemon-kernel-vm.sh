#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# wgnetd against the real WireGuard kernel module, inside a throw-away VM (tests/rig/vm-run):
# the core scenario and the hub test of the end-to-end suite, with the kernel backend.
#
#   1. a private bus (dbus-daemon only: the caller is root, for whom wgnetd skips polkit),
#      wgnetd --backend=kernel in namespace "hub";
#   2. CreateNetwork and AddPeer over the bus; the device (wg show dump) holds the peer;
#   3. a client namespace brings up the generated config on a kernel WireGuard interface
#      and pings the hub; the hub sees the handshake (Online, GetStats);
#   4. a clean restart and a kill -9 + restart keep the device equal to the database, and
#      the tunnel keeps answering;
#   5. an imported full-tunnel client config (AllowedIPs 0.0.0.0/0) sends the hub's traffic
#      through a kernel VPN server whose endpoint only the default route reaches: the
#      kernel's fwmark takes the tunnel's own packets out by the uplink.
#
#   daemon-kernel-vm.sh BUILD_DIR
#
# Exit 77 (with the reason) when not root or when the VM cannot run here.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-${WGNET_BUILD_ROOT:-}}
[ -n "$build" ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(cd "$build" && pwd)

if [ "${VM_RUN_GUEST:-0}" != 1 ]; then
        [ "$(id -u)" = 0 ] || { echo "SKIP: needs root (the VM shares the host's / with every file readable)"; exit 77; }
        [ -x "$build/daemon/wgnetd" ] || { echo "FAIL: $build/daemon/wgnetd not built" >&2; exit 1; }
        cd "$build"
        rc=0
        VM_RUN_TIMEOUT=${VM_RUN_TIMEOUT:-240} "$here/../rig/vm-run" -- "$here/daemon-kernel-vm.sh" "$build" || rc=$?
        [ $rc = 77 ] && echo "SKIP: the VM cannot run here (see above)"
        exit $rc
fi

# ---- inside the VM ----------------------------------------------------------------------
for t in wg ping busctl dbus-daemon python3; do
        command -v $t >/dev/null || { echo "SKIP: no $t"; exit 77; }
done
t0=$(date +%s)
fail() { echo "FAIL: $*"; [ -f /tmp/wgnetd.log ] && tail -30 /tmp/wgnetd.log; exit 1; }

echo "== 1. private bus, wgnetd with the kernel backend"
mkdir -p /tmp/state
. "$here/../rig/vm-bus.sh"
vm_bus_start /tmp/bus || fail "the private bus did not come up"
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/tmp/bus/socket

ip netns add hub
ip netns add client
ip link add vh netns hub type veth peer name vc netns client
ip -n hub addr add 192.168.79.1/24 dev vh
ip -n client addr add 192.168.79.2/24 dev vc
for ns in hub client; do ip -n $ns link set lo up; done
ip -n hub link set vh up
ip -n client link set vc up

start_daemon() {
        ip netns exec hub "$build/daemon/wgnetd" --state-dir=/tmp/state --config=/dev/null --backend=kernel \
                --tick=1 >>/tmp/wgnetd.log 2>&1 &
        daemon_pid=$!
        for _ in $(seq 200); do
                [ "$(busctl call org.freedesktop.DBus / org.freedesktop.DBus NameHasOwner s org.wgnet1 2>/dev/null)" = "b true" ] \
                        && return 0
                kill -0 $daemon_pid 2>/dev/null || fail "wgnetd exited"
                sleep 0.1
        done
        fail "wgnetd did not take its name"
}
start_daemon
[ "$(busctl get-property org.wgnet1 /org/wgnet1 org.wgnet1.Manager Backend)" = 's "kernel"' ] \
        || fail "the backend is not the kernel one"

echo "== 2. CreateNetwork, AddPeer"
net=$(busctl call org.wgnet1 /org/wgnet1 org.wgnet1.Manager CreateNetwork 'sa{sv}' office 4 \
        Interface s wgk0 Addresses as 1 10.70.0.1/24 ListenPort q 51820 Endpoint s 192.168.79.1:51820 |
        sed -E 's/^o "(.*)"$/\1/')
peer_json=$(busctl --json=short call org.wgnet1 "$net" org.wgnet1.Network AddPeer 'sa{sv}' laptop 1 \
        PersistentKeepalive q 1)
peer=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0])' <<<"$peer_json")
python3 -c 'import json,sys; sys.stdout.write(json.load(sys.stdin)["data"][1])' <<<"$peer_json" > /tmp/client.conf
pub=$(busctl get-property org.wgnet1 "$peer" org.wgnet1.Peer PublicKey | sed -E 's/^s "(.*)"$/\1/')
ip netns exec hub wg show wgk0 dump | awk -v k="$pub" '$1 == k && $4 == "10.70.0.2/32" { f = 1 } END { exit !f }' \
        || fail "the kernel device does not hold the peer with its address"
echo "  the kernel device holds $pub with 10.70.0.2/32"

echo "== 3. the client brings up the generated config on a kernel interface and pings the hub"
grep -vE '^(Address|DNS|MTU) *=' /tmp/client.conf > /tmp/client.wg
addr=$(sed -nE 's/^Address *= *([^,]*).*/\1/p' /tmp/client.conf)
ip -n client link add wgc type wireguard
ip netns exec client wg setconf wgc /tmp/client.wg
ip -n client addr add "$addr" dev wgc
ip -n client link set wgc up
ip -n client route add 10.70.0.0/24 dev wgc 2>/dev/null || true
ip netns exec client ping -c 3 -W 5 10.70.0.1 >/dev/null || fail "the client cannot ping the hub"
for _ in $(seq 50); do
        [ "$(busctl get-property org.wgnet1 "$peer" org.wgnet1.Peer Online)" = "b true" ] && break
        sleep 0.1
done
[ "$(busctl get-property org.wgnet1 "$peer" org.wgnet1.Peer Online)" = "b true" ] || fail "the peer is not Online"
echo "  ping through the tunnel, the peer is Online"

echo "== 4. restart and kill -9: the device stays equal to the database"
kill -TERM $daemon_pid; wait $daemon_pid || true
start_daemon
ip netns exec client ping -c 2 -W 5 10.70.0.1 >/dev/null || fail "no tunnel after a restart"
busctl call org.wgnet1 "$net" org.wgnet1.Network AddPeer 'sa{sv}' phone 0 >/dev/null
kill -KILL $daemon_pid; wait $daemon_pid 2>/dev/null || true
ip netns exec hub wg set wgk0 peer "$pub" remove     # drift while the daemon is down
start_daemon
n=$(ip netns exec hub wg show wgk0 dump | tail -n +2 | wc -l)
[ "$n" = 2 ] || fail "the device holds $n peers after kill -9 and restart, not 2"
# The re-added peer has no session: the client notices the silence and handshakes again
# (WireGuard's rekey timeout, up to about 15 s).
ok=0
for _ in $(seq 30); do
        ip netns exec client ping -c 1 -W 1 10.70.0.1 >/dev/null && { ok=1; break; }
done
[ $ok = 1 ] || fail "no tunnel after kill -9, drift and restart"
echo "  2 peers on the device, the removed one repaired, the tunnel answers"

echo "== 5. a full-tunnel client: an imported VPN config's default route, with the kernel's fwmark"
# The client namespace plays the VPN server now: a kernel interface, its endpoint and an
# "internet" address on its lo, both reachable from the hub only by its default route.
ip -n hub route add default via 192.168.79.2
ip -n client addr add 203.0.113.1/32 dev lo
ip -n client addr add 198.51.100.7/32 dev lo
spriv=$(wg genkey); spub=$(wg pubkey <<<"$spriv")
cpriv=$(wg genkey); cpub=$(wg pubkey <<<"$cpriv")
ip -n client link add wgs type wireguard
(umask 077; echo "$spriv" > /tmp/srv.key)
ip netns exec client wg set wgs private-key /tmp/srv.key listen-port 51999 peer "$cpub" allowed-ips 10.66.0.2/32
ip -n client addr add 10.66.0.1/24 dev wgs
ip -n client link set wgs up
printf '[Interface]\nPrivateKey = %s\nAddress = 10.66.0.2/32\n\n[Peer]\nPublicKey = %s\nAllowedIPs = 0.0.0.0/0\nEndpoint = 203.0.113.1:51999\n' \
        "$cpriv" "$spub" > /tmp/vpn.conf
vpn=$(busctl call org.wgnet1 /org/wgnet1 org.wgnet1.Manager ImportNetwork 'ssa{sv}' vpn "$(cat /tmp/vpn.conf)" 1 \
        Interface s wgft | sed -E 's/^o "(.*)"$/\1/')
table=$(busctl get-property org.wgnet1 "$vpn" org.wgnet1.Network RouteTable | sed -E 's/^u //')
[ "$(ip netns exec hub wg show wgft fwmark)" = "$(printf '0x%x' "$table")" ] || fail "the device's fwmark is not table $table"
ip netns exec hub ip route get 198.51.100.7 | grep -q "dev wgft table $table" || fail "the internet is not routed into the tunnel"
ip netns exec hub ip route get 192.168.79.2 | grep -q "dev vh" || fail "the LAN left the LAN"
ok=0
for _ in $(seq 10); do
        ip netns exec hub ping -c 1 -W 1 198.51.100.7 >/dev/null && { ok=1; break; }
done
[ $ok = 1 ] || fail "no answer through the full tunnel (the handshake needs the fwmark to leave by the uplink)"
[ "$(ip netns exec client wg show wgs latest-handshakes | awk '{print $2}')" != 0 ] || fail "no handshake on the server"
busctl call org.wgnet1 "$vpn" org.wgnet1.Network Update 'a{sv}' 1 DefaultRoute b false >/dev/null
ip netns exec hub ip rule show | grep -q "lookup $table" && fail "rules left after DefaultRoute false"
ip netns exec hub ip route get 198.51.100.7 | grep -q "dev vh" || fail "not back on the uplink"
busctl call org.wgnet1 "$vpn" org.wgnet1.Network Delete >/dev/null
echo "  fwmark $table, the default route through the kernel tunnel, the LAN and the endpoint on the uplink"

kill -TERM $daemon_pid; wait $daemon_pid || true
echo "ok ($(( $(date +%s) - t0 )) s in the VM)"
