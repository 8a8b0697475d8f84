#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The kernel backend against wg(8) on the real WireGuard module, inside a VM
# (tests/rig/vm-run):
#   set of N peers on a new device      vs  wg setconf on another new device (same config)
#   get of N peers (median of 5)        vs  wg show IF dump >/dev/null (median of 5)
#   one-peer set (mean of 200)          vs  wg set IF peer KEY persistent-keepalive K (mean of 50)
# Every measurement uses a new device and nothing is deleted: the kernel removes peers one
# RCU grace period at a time (minutes for 10k under TCG), and the VM is thrown away.
# Links stay down (no handshakes). Prints the numbers and the ratios ours/wg.
#
#   bench/bench-backend-kernel.sh [BUILD_DIR=build] [N_PEERS...=1000 10000]

set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)

if [ "${VM_RUN_GUEST:-0}" != 1 ]; then
        build=$(cd "${1:-$src/build}" && pwd)
        shift || true
        [ -x "$build/tests/test-backend-kernel" ] || { echo "build $build/tests/test-backend-kernel first" >&2; exit 1; }
        echo "# $(date -u +%FT%TZ) host $(uname -r), $(nproc) CPUs; guest: $(ls /lib/modules | sort -V | tail -1), 1 vCPU, QEMU TCG; $(wg --version)"
        cd "$build"
        exec env VM_RUN_TIMEOUT=${VM_RUN_TIMEOUT:-600} "$src/tests/rig/vm-run" -- "$src/bench/bench-backend-kernel.sh" "$build" "${@:-1000 10000}"
fi

build=$1
shift
ms() { echo "$(( ($(date +%s%N) - $1) / 1000 ))" | awk '{ printf "%.3f", $1 / 1000 }'; }
median5() { sort -n | awk '{ v[NR] = $1 } END { print v[3] }'; }
ratio() { awk -v a="$2" -v b="$3" -v w="$1" 'BEGIN { printf "%-26s ours %10.3f ms   wg %10.3f ms   ratio %.2f (%.1fx %s)\n", w, a, b, a / b, a < b ? b / a : a / b, a < b ? "faster" : "slower" }'; }

i=0
for n in $*; do
        i=$((i + 1))
        ours=$("$build/tests/test-backend-kernel" bench "wgo$i" "$n" /tmp/bench.conf)
        o_set=$(awk '/^ours set/ { print $NF }' <<< "$ours")
        o_get=$(awk '/^ours get/ { print $NF }' <<< "$ours")
        o_one=$(awk '/^ours one-peer/ { print $NF }' <<< "$ours")

        ip link add "wgw$i" type wireguard
        t=$(date +%s%N); wg setconf "wgw$i" /tmp/bench.conf; w_set=$(ms "$t")
        [ "$(wg show "wgw$i" peers | wc -l)" = "$n" ] || { echo "wg setconf: wrong peer count" >&2; exit 1; }
        w_get=$(for k in 1 2 3 4 5; do t=$(date +%s%N); wg show "wgw$i" dump > /dev/null; ms "$t"; echo; done | median5)
        keys=($(wg show "wgw$i" peers | sed -n 1,50p))
        t=$(date +%s%N)
        for j in $(seq 0 49); do
                wg set "wgw$i" peer "${keys[$j]}" persistent-keepalive $((10 + j))
        done
        w_one=$(awk -v t="$(ms "$t")" 'BEGIN { printf "%.3f", t / 50 }')

        t=$(date +%s%N)
        for j in $(seq 1 20); do wg --version > /dev/null; done
        w_start=$(awk -v t="$(ms "$t")" 'BEGIN { printf "%.3f", t / 20 }')

        echo "N = $n peers (2 allowed IPs each, PSK on half, endpoint on a third, keepalive)"
        ratio "set N peers" "$o_set" "$w_set"
        ratio "get N peers" "$o_get" "$w_get"
        ratio "one-peer set" "$o_one" "$w_one"
        echo "  (of which starting the wg process, timed as wg --version: $w_start ms per run)"
done
