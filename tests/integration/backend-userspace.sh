#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The userspace backend against real wireguard-go, in network namespaces:
#  1. test-backend: 1000 peers in one set, compared with `wg show dump`; single-peer changes.
#  2. names across namespaces: a live name owned by another namespace is refused
#     (EADDRINUSE), and not listed there.
#  3. failures: a missing binary, malformed replies, an implementation that ignores SIGTERM.
#  4. live traffic: a tunnel between two namespaces; ping at 10 ms intervals while the
#     server side goes through 200 single-peer adds and 200 removes through the backend;
#     not one packet of the existing peer may be lost.
# usage: backend-userspace.sh TEST_BACKEND BACKEND_CTL   (exit 77 when it cannot run here)
set -euo pipefail

TEST_BACKEND=${1:?test-backend path}
BACKEND_CTL=${2:?backend-ctl path}
SRC=$(cd "$(dirname "$0")/../.." && pwd)

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
for t in wireguard-go wg ip ping python3; do
        command -v $t >/dev/null || skip "$t is not installed"
done
ip netns add "wgr-probe-$$" 2>/dev/null || skip "cannot create network namespaces"
ip netns del "wgr-probe-$$"

. "$SRC/tests/rig/netns.sh"
rig_init

step() { echo "== $*"; }
fail() { echo "FAIL: $*"; exit 1; }

step "1. test-backend, 1000 peers"
ns1=$(rig_ns tb)
ifn=$(rig_ifname wt)
ip netns exec "$ns1" "$TEST_BACKEND" "$ifn" userspace 1000 || fail "test-backend"

step "2. one name, two namespaces"
nsa=$(rig_ns a)
nsb=$(rig_ns b)
shared=$(rig_ifname ws)
ip netns exec "$nsa" "$BACKEND_CTL" create "$shared" || fail "create in $nsa"
out=$(ip netns exec "$nsb" "$BACKEND_CTL" create "$shared" 2>&1) && fail "create of a name owned by another namespace succeeded"
echo "$out" | grep -q "Address already in use" || fail "unexpected error: $out"
ip netns exec "$nsb" "$BACKEND_CTL" exists "$shared" && fail "$shared exists in $nsb"
ip netns exec "$nsb" "$BACKEND_CTL" list | grep -qx "$shared" && fail "$shared listed in $nsb"
ip netns exec "$nsa" "$BACKEND_CTL" list | grep -qx "$shared" || fail "$shared not listed in $nsa"
ip netns exec "$nsb" "$BACKEND_CTL" delete "$shared" 2>/dev/null && fail "delete from $nsb succeeded"
ip netns exec "$nsa" "$BACKEND_CTL" exists "$shared" || fail "$shared gone from $nsa"
ip netns exec "$nsa" "$BACKEND_CTL" delete "$shared" || fail "delete in $nsa"
ip netns exec "$nsa" "$BACKEND_CTL" exists "$shared" && fail "$shared still exists after delete"
[ -e "/run/wireguard/$shared.sock" ] && fail "socket left behind"
# now free: the other namespace may take it
ip netns exec "$nsb" "$BACKEND_CTL" create "$shared" || fail "create in $nsb after delete"
ip netns exec "$nsb" "$BACKEND_CTL" delete "$shared" || fail "delete in $nsb"
echo "ok"

step "3. failures: missing binary, malformed replies, an implementation that ignores SIGTERM"
nsf=$(rig_ns fail)
ifn=$(rig_ifname wf)
out=$(WG_QUICK_USERSPACE_IMPLEMENTATION=/nonexistent/wireguard-go ip netns exec "$nsf" "$BACKEND_CTL" create "$ifn" 2>&1) && fail "create with a missing binary succeeded"
echo "$out" | grep -q "No such file or directory" || fail "missing binary: $out"
fake="$SRC/tests/integration/fake-wg-impl.py"
FAKE_GET_REPLY='listen_port=1\nlisten_port=2\nerrno=0\n\n' WG_QUICK_USERSPACE_IMPLEMENTATION="$fake" \
        ip netns exec "$nsf" "$BACKEND_CTL" create "$ifn" || fail "create with the fake implementation"
out=$(ip netns exec "$nsf" "$BACKEND_CTL" count "$ifn" 2>&1) && fail "a malformed reply was accepted"
echo "$out" | grep -q "Bad message" || fail "malformed reply: $out"
t0=$(date +%s.%N)
ip netns exec "$nsf" "$BACKEND_CTL" delete "$ifn" || fail "delete of the fake implementation"
t1=$(date +%s.%N)
ip netns exec "$nsf" "$BACKEND_CTL" exists "$ifn" && fail "$ifn exists after delete"
[ -e "/run/wireguard/$ifn.sock" ] && fail "the killed implementation's socket was left behind"
printf 'SIGTERM ignored: killed after %.1f s, socket removed\n' "$(echo "$t1 - $t0" | bc)"
echo "ok"

step "4. live traffic during 200 peer adds and removes"
srv=$(rig_ns srv)
cli=$(rig_ns cli)
rig_veth "$srv" 10.231.0.1/24 "$cli" 10.231.0.2/24 >/dev/null
wsrv=$(rig_ifname wsrv)
wcli=$(rig_ifname wcli)
ip netns exec "$srv" "$BACKEND_CTL" create "$wsrv" || fail "create $wsrv"
rig_wggo "$cli" "$wcli" || fail "wireguard-go $wcli"
umask 077
wg genkey > "$RIG_DIR/s.key"; wg pubkey < "$RIG_DIR/s.key" > "$RIG_DIR/s.pub"
wg genkey > "$RIG_DIR/c.key"; wg pubkey < "$RIG_DIR/c.key" > "$RIG_DIR/c.pub"
ip -n "$srv" addr add 10.232.0.1/24 dev "$wsrv"
ip -n "$cli" addr add 10.232.0.2/24 dev "$wcli"
ip -n "$srv" link set "$wsrv" up
ip -n "$cli" link set "$wcli" up
# passive side first
ip netns exec "$srv" wg set "$wsrv" private-key "$RIG_DIR/s.key" listen-port 51820 \
        peer "$(cat "$RIG_DIR/c.pub")" allowed-ips 10.232.0.2/32
ip netns exec "$cli" wg set "$wcli" private-key "$RIG_DIR/c.key" \
        peer "$(cat "$RIG_DIR/s.pub")" endpoint 10.231.0.1:51820 allowed-ips 10.232.0.1/32 persistent-keepalive 25
ip netns exec "$cli" ping -c 3 -i 0.2 -W 2 10.232.0.1 >/dev/null || fail "no traffic through the tunnel before the churn"

# ping every 10 ms; the churn runs in the middle of it
# ping every 10 ms; the churn (10 rounds of 20 adds + 20 removes, 0.2 s apart) runs
# in the middle of it
count=300
ip netns exec "$cli" ping -c $count -i 0.01 -W 1 10.232.0.1 > "$RIG_DIR/ping.out" 2>&1 &
ping_pid=$!
rig_record_pid "$ping_pid"
sleep 0.5
t0=$(date +%s.%N)
for round in 1 2 3 4 5 6 7 8 9 10; do
        ip netns exec "$srv" "$BACKEND_CTL" churn "$wsrv" 20 || fail "churn"
        sleep 0.2
done
t1=$(date +%s.%N)
kill -0 "$ping_pid" 2>/dev/null || fail "ping ended before the churn did: lengthen it"
wait "$ping_pid" || true
cat "$RIG_DIR/ping.out" | tail -3
[ "$(ip netns exec "$srv" "$BACKEND_CTL" count "$wsrv")" = 1 ] || fail "churn peers left on $wsrv"
stats=$(grep 'packets transmitted' "$RIG_DIR/ping.out") || fail "no ping statistics"
tx=$(echo "$stats" | sed -E 's/^([0-9]+) packets transmitted.*/\1/')
rx=$(echo "$stats" | sed -E 's/.* ([0-9]+) received.*/\1/')
printf '200 adds + 200 removes over %.3f s; ping: %s sent, %s received\n' "$(echo "$t1 - $t0" | bc)" "$tx" "$rx"
[ "$tx" = $count ] && [ "$rx" = $count ] || fail "lost packets: $tx sent, $rx received"
ip netns exec "$srv" "$BACKEND_CTL" delete "$wsrv" || fail "delete $wsrv"
echo "ok"
echo "PASS"
