# SPDX-License-Identifier: LGPL-2.1-or-later
# Network namespace rig for the userspace WireGuard tests (bash, sourced).
#
#   . tests/rig/netns.sh
#   rig_init                        # unique id, work dir, teardown on EXIT/INT/TERM
#   ns=$(rig_ns srv)                # a fresh namespace, lo up
#   rig_veth "$ns_a" 10.99.0.1/24 "$ns_b" 10.99.0.2/24   # prints "ifa ifb"
#   ifn=$(rig_ifname)               # a WireGuard interface name unique to this run
#   rig_wggo "$ns" "$ifn"           # wireguard-go in "$ns", PID recorded, waits for its socket
#   rig_teardown                    # also runs by itself at exit, after failures too
#
# Interface names are unique per run because /run/wireguard is shared by all namespaces.
# What is created is recorded in files of the work directory, so the functions may run in
# command substitutions (subshells).
# Processes are stopped by their recorded PIDs (and the PIDs `ip netns pids` reports for
# our own namespaces), never by process name.

RIG_ID=
RIG_DIR=

rig_log() { echo "rig: $*" >&2; }

rig_init() {
        # 6 characters: interface names stay within 15 (IFNAMSIZ - 1)
        RIG_ID=$(printf '%04x%02x' $(( $$ & 0xffff )) $(( RANDOM & 0xff )))
        RIG_DIR=$(mktemp -d "/tmp/wgnet-rig-$RIG_ID.XXXXXX")
        trap 'rig_teardown' EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
}

# A counter kept in a file: unique across subshells.
rig_next() {
        local n
        n=$(( $(cat "$RIG_DIR/counter" 2>/dev/null || echo 0) + 1 ))
        echo "$n" > "$RIG_DIR/counter"
        echo "$n"
}

# rig_ns NAME: create and print a namespace name unique to this run.
rig_ns() {
        local ns="wgr-$RIG_ID-$1"
        echo "$ns" >> "$RIG_DIR/namespaces"
        ip netns add "$ns" || return 1
        ip -n "$ns" link set lo up
        echo "$ns"
}

# rig_ifname [PREFIX]: a fresh interface name (at most 15 characters).
rig_ifname() {
        local n
        n="${1:-wg}$RIG_ID$(rig_next)"
        n=${n:0:15}
        echo "$n" >> "$RIG_DIR/ifnames"
        echo "$n"
}

# rig_veth NS_A CIDR_A NS_B CIDR_B: a veth pair between two namespaces, up, addressed.
rig_veth() {
        local n a b
        n=$(rig_next)
        a="va$RIG_ID$n" b="vb$RIG_ID$n"
        ip link add "$a" netns "$1" type veth peer name "$b" netns "$3" || return 1
        ip -n "$1" addr add "$2" dev "$a"
        ip -n "$3" addr add "$4" dev "$b"
        ip -n "$1" link set "$a" up
        ip -n "$3" link set "$b" up
        echo "$a $b"
}

# rig_record_pid PID: stop it at teardown.
rig_record_pid() {
        echo "$1" >> "$RIG_DIR/pids"
}

# rig_wggo NS IFNAME: start wireguard-go for IFNAME inside NS, wait for its UAPI socket.
rig_wggo() {
        local ns=$1 ifn=$2
        WG_PROCESS_FOREGROUND=1 ip netns exec "$ns" wireguard-go "$ifn" >"$RIG_DIR/$ifn.log" 2>&1 &
        rig_record_pid $!
        for _ in $(seq 250); do
                [ -S "/run/wireguard/$ifn.sock" ] && ip netns exec "$ns" wg show "$ifn" >/dev/null 2>&1 && return 0
                sleep 0.02
        done
        rig_log "wireguard-go for $ifn did not start:"
        cat "$RIG_DIR/$ifn.log" >&2
        return 1
}

rig_teardown() {
        local pids=() namespaces=() ifnames=() p ns ifn
        [ -n "$RIG_DIR" ] || return 0
        [ -f "$RIG_DIR/pids" ] && mapfile -t pids < "$RIG_DIR/pids"
        [ -f "$RIG_DIR/namespaces" ] && mapfile -t namespaces < "$RIG_DIR/namespaces"
        [ -f "$RIG_DIR/ifnames" ] && mapfile -t ifnames < "$RIG_DIR/ifnames"
        for ns in "${namespaces[@]}"; do
                for p in $(ip netns pids "$ns" 2>/dev/null); do pids+=("$p"); done
        done
        for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
        for _ in $(seq 50); do
                local alive=0
                for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
                [ $alive = 0 ] && break
                sleep 0.05
        done
        for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
        # sockets of our names only, and only those nobody listens on any more
        for ifn in "${ifnames[@]}"; do
                local s="/run/wireguard/$ifn.sock"
                [ -S "$s" ] || continue
                python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$s" 2>/dev/null || rm -f "$s"
        done
        rm -rf "$RIG_DIR"
        RIG_DIR=
}
