#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Node-to-node tunnels on the real WireGuard kernel module, inside a throw-away VM
# (tests/rig/vm-run): two hosts (namespaces "a" and "b", a veth between them, a LAN
# namespace behind each), each with its own private bus (dbus-daemon only: the caller is
# root, for whom wgnetd skips polkit) and its own wgnetd --backend=kernel.
#
#   1. host a creates a tunnel and gives an offer; host b imports it and gives the reply;
#      host a imports the reply: both tunnels "up", with routes to the other LAN;
#   2. LAN to LAN ping through the kernel devices; wg show dump agrees on both sides;
#   3. Deactivate removes the link; Activate brings it back;
#   4. kill -9 of host a's daemon, the device removed while it is down: the restart puts
#      it back and the LANs ping again.
#
#   tunnel-kernel-vm.sh BUILD_DIR
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
        VM_RUN_TIMEOUT=${VM_RUN_TIMEOUT:-240} "$here/../rig/vm-run" -- "$here/tunnel-kernel-vm.sh" "$build" || rc=$?
        [ $rc = 77 ] && echo "SKIP: the VM cannot run here (see above)"
        exit $rc
fi

# ---- inside the VM ----------------------------------------------------------------------
for t in wg ping busctl dbus-daemon; do
        command -v $t >/dev/null || { echo "SKIP: no $t"; exit 77; }
done
t0=$(date +%s)
fail() {
        echo "FAIL: $*"
        for h in a b; do [ -f /tmp/$h/wgnetd.log ] && { echo "--- wgnetd of host $h"; tail -20 /tmp/$h/wgnetd.log; }; done
        exit 1
}

. "$here/../rig/vm-bus.sh"
declare -A pid
bus() { echo "unix:path=/tmp/$1/bus/socket"; }
on() { local h=$1; shift; DBUS_SYSTEM_BUS_ADDRESS=$(bus "$h") "$@"; }
unquote() { sed -E 's/^[a-z]+ "(.*)"$/\1/'; }

echo "== 0. two hosts, each with a bus and a LAN"
for h in a b; do
        mkdir -p /tmp/$h/state
        vm_bus_start /tmp/$h/bus || fail "the bus of host $h did not come up"
        ip netns add $h
        ip netns add lan$h
        ip -n $h link set lo up
        ip -n lan$h link set lo up
        ip netns exec $h sysctl -qw net.ipv4.ip_forward=1
done
ip link add va netns a type veth peer name vb netns b
ip -n a addr add 192.168.81.1/24 dev va
ip -n b addr add 192.168.81.2/24 dev vb
ip -n a link set va up
ip -n b link set vb up
ip link add la netns a type veth peer name lan netns lana
ip link add lb netns b type veth peer name lan netns lanb
ip -n a addr add 10.81.0.1/24 dev la
ip -n b addr add 10.82.0.1/24 dev lb
ip -n lana addr add 10.81.0.2/24 dev lan
ip -n lanb addr add 10.82.0.2/24 dev lan
for h in a b; do
        ip -n $h link set l$h up
        ip -n lan$h link set lan up
done
ip -n lana route add default via 10.81.0.1
ip -n lanb route add default via 10.82.0.1

start_daemon() {
        local h=$1
        ip netns exec $h env DBUS_SYSTEM_BUS_ADDRESS="$(bus $h)" "$build/daemon/wgnetd" --state-dir=/tmp/$h/state \
                --config=/dev/null --backend=kernel --tick=1 --firewall=no >>/tmp/$h/wgnetd.log 2>&1 &
        pid[$h]=$!
        for _ in $(seq 200); do
                [ "$(on $h busctl call org.freedesktop.DBus / org.freedesktop.DBus NameHasOwner s org.wgnet1 2>/dev/null)" \
                  = "b true" ] && return 0
                kill -0 "${pid[$h]}" 2>/dev/null || fail "wgnetd of host $h exited"
                sleep 0.1
        done
        fail "wgnetd of host $h did not take its name"
}
start_daemon a
start_daemon b
[ "$(on a busctl get-property org.wgnet1 /org/wgnet1 org.wgnet1.Manager Backend)" = 's "kernel"' ] \
        || fail "the backend is not the kernel one"

state() { on "$1" busctl get-property org.wgnet1 "$2" org.wgnet1.Tunnel State | unquote; }
wait_state() {
        for _ in $(seq 300); do [ "$(state "$1" "$2")" = "$3" ] && return 0; sleep 0.1; done
        fail "tunnel $2 of host $1 is $(state "$1" "$2"), not $3"
}

echo "== 1. pairing: offer from a, reply from b"
ta=$(on a busctl call org.wgnet1 /org/wgnet1 org.wgnet1.Manager CreateTunnel 'sa{sv}' to-b 4 \
        Interface s wgtb ListenPort q 51831 LocalNetworks as 1 10.81.0.0/24 Endpoint s 192.168.81.1:51831 | unquote)
offer=$(on a busctl call org.wgnet1 "$ta" org.wgnet1.Tunnel GetPairing | unquote)
tb=$(on b busctl call org.wgnet1 /org/wgnet1 org.wgnet1.Manager ImportPairing 'sa{sv}' "$offer" 5 \
        Name s to-a Interface s wgta ListenPort q 51832 LocalNetworks as 1 10.82.0.0/24 \
        Endpoint s 192.168.81.2:51832 | unquote)
reply=$(on b busctl call org.wgnet1 "$tb" org.wgnet1.Tunnel GetPairing | unquote)
done_path=$(on a busctl call org.wgnet1 /org/wgnet1 org.wgnet1.Manager ImportPairing 'sa{sv}' "$reply" 0 | unquote)
[ "$done_path" = "$ta" ] || fail "the reply made $done_path instead of completing $ta"
wait_state a "$ta" up
wait_state b "$tb" up
echo "  both tunnels up"

echo "== 2. LAN to LAN over the kernel devices; wg show agrees"
ip netns exec lana ping -c 2 -W 3 10.82.0.2 >/dev/null || fail "LAN a cannot ping LAN b"
ip netns exec lanb ping -c 2 -W 3 10.81.0.2 >/dev/null || fail "LAN b cannot ping LAN a"
ip -n a route show 10.82.0.0/24 | grep -q "dev wgtb" || fail "no route to LAN b on host a"
da=$(ip netns exec a wg show wgtb dump)
db=$(ip netns exec b wg show wgta dump)
pa=$(head -1 <<<"$da" | cut -f2)
pb=$(head -1 <<<"$db" | cut -f2)
peer_a=$(tail -n +2 <<<"$da")
peer_b=$(tail -n +2 <<<"$db")
[ "$(cut -f1 <<<"$peer_a")" = "$pb" ] && [ "$(cut -f1 <<<"$peer_b")" = "$pa" ] || fail "the peers are not each other's keys"
[ "$(cut -f2 <<<"$peer_a")" = "$(cut -f2 <<<"$peer_b")" ] && [ "$(cut -f2 <<<"$peer_a")" != "(none)" ] \
        || fail "the preshared keys differ"
[ "$(cut -f4 <<<"$peer_a")" = 10.82.0.0/24 ] && [ "$(cut -f4 <<<"$peer_b")" = 10.81.0.0/24 ] \
        || fail "allowed IPs are not the remote networks"
echo "  pings both ways; keys, PSK and allowed IPs agree"

echo "== 3. Deactivate removes the link, Activate brings it back"
on a busctl call org.wgnet1 "$ta" org.wgnet1.Tunnel Deactivate
[ "$(state a "$ta")" = inactive ] || fail "not inactive after Deactivate"
ip -n a link show wgtb >/dev/null 2>&1 && fail "the link is still there"
ip netns exec lana ping -c 1 -W 1 10.82.0.2 >/dev/null 2>&1 && fail "ping works without the tunnel"
on a busctl call org.wgnet1 "$ta" org.wgnet1.Tunnel Activate
wait_state a "$ta" up
ip netns exec lana ping -c 2 -W 3 10.82.0.2 >/dev/null || fail "no ping after Activate"
echo "  link gone and back, ping again"

echo "== 4. kill -9, device removed meanwhile, restart"
kill -KILL "${pid[a]}"; wait "${pid[a]}" 2>/dev/null || true
ip -n a link del wgtb
start_daemon a
ip -n a link show wgtb >/dev/null 2>&1 || fail "the restart did not bring the device back"
wait_state a "$ta" up
ok=0
for _ in $(seq 20); do ip netns exec lana ping -c 1 -W 1 10.82.0.2 >/dev/null && { ok=1; break; }; done
[ $ok = 1 ] || fail "no ping after kill -9 and restart"
echo "  device back, tunnel up, ping"

for h in a b; do kill -TERM "${pid[$h]}"; wait "${pid[$h]}" || true; done
echo "ok ($(( $(date +%s) - t0 )) s in the VM)"
