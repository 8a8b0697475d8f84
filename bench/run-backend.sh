#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run bench-backend in a scratch network namespace (userspace backend, wireguard-go), with
# wg(8) as the baseline on the same device. Needs root, wireguard-go and wg.
# usage: bench/run-backend.sh [BUILD_DIR=build] [N_PEERS=10000]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
N=${2:-10000}
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 77; }
for t in wireguard-go wg ip; do command -v $t >/dev/null || { echo "$t missing" >&2; exit 77; }; done
. "$SRC/tests/rig/netns.sh"
rig_init
ns=$(rig_ns bench)
ifn=$(rig_ifname wb)
echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) CPUs, $(wireguard-go --version | head -1), $(wg --version)"
ip netns exec "$ns" "$BUILD/bench/bench-backend" "$ifn" "$N" userspace
