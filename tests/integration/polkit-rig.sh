#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The bus rig itself (tests/rig/bus.sh): a private system bus with the project's bus policy
# and the real polkitd with the project's actions.
#   - root is allowed, the test user gets only a challenge for an auth_admin_keep action;
#   - the group grant (the shipped rules example) lets the user in, the revoke shuts it out;
#   - only root may own org.wgnet1; the test user may call org.wgnet1.Manager on it, not an
#     interface the policy does not open;
#   - rig_bus_stop leaves none of the recorded processes running.
# Usage: polkit-rig.sh BUS-STUB   (the built tests/integration/bus-stub)
set -uo pipefail
src=${WGNET_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
stub=${1:-}

if [ "$(id -u)" != 0 ]; then
        echo "SKIP: needs root (test user, private system bus, polkitd in a mount namespace)"
        exit 77
fi
for t in dbus-daemon busctl pkcheck; do
        command -v "$t" >/dev/null || { echo "SKIP: $t is not installed"; exit 77; }
done

# What the host's polkit directories hold, to see that the rig changes nothing there.
host_polkit() { ls -la /usr/share/polkit-1/actions /etc/polkit-1 /etc/polkit-1/rules.d 2>&1; }
host_before=$(host_polkit)

tmp=$(mktemp -d /tmp/wgnet-polkit-rig.XXXXXX)
chmod 755 "$tmp"
export WGNET_RIG_DIR=$tmp/bus
stub_pid=
cleanup() {
        [ -n "$stub_pid" ] && kill "$stub_pid" 2>/dev/null && wait "$stub_pid" 2>/dev/null
        rig_bus_stop
        rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM INT   # so that the EXIT trap stops the rig on a timeout too
# shellcheck source=tests/rig/bus.sh
source "$src/tests/rig/bus.sh"

failed=0
passed=0
check() {   # check NAME EXPECTED ACTUAL
        if [ "$2" = "$3" ]; then
                echo "ok   $1"
                passed=$((passed + 1))
        else
                echo "FAIL $1: expected '$2', got '$3'"
                failed=$((failed + 1))
        fi
}

out=$(rig_bus_start)
rc=$?
[ "$rc" = 77 ] && { echo "SKIP: rig_bus_start cannot run here"; exit 77; }
[ "$rc" = 0 ] || { echo "FAIL rig_bus_start returned $rc"; exit 1; }
addr=$(rig_bus_address)
check "rig_bus_start prints the address as its only stdout" "$addr" "$out"
check "address is a unix socket in the rig dir" "unix:path=$WGNET_RIG_DIR/system_bus_socket" "$addr"
# In this shell (not a subshell), rig_bus_start exports the address.
rig_bus_start >/dev/null
check "rig_bus_start exports DBUS_SYSTEM_BUS_ADDRESS" "$addr" "${DBUS_SYSTEM_BUS_ADDRESS:-}"
check "rig_user_name" wgnettest "$(rig_user_name)"
check "test user uid" 59871 "$(id -u wgnettest)"
groups=" $(id -nG wgnettest) "
check "test user is in wgnet-test-admins" yes "$([[ $groups == *" wgnet-test-admins "* ]] && echo yes || echo no)"

dbus_pid=$(cat "$WGNET_RIG_DIR/dbus.pid")
polkitd_pid=$(cat "$WGNET_RIG_DIR/polkitd.pid")
check "dbus-daemon runs in its own session" "$dbus_pid" "$(ps -o sid= -p "$dbus_pid" | tr -d ' ')"
check "polkitd is in its own mount namespace" different \
        "$([ "$(readlink /proc/$$/ns/mnt)" != "$(readlink "/proc/$polkitd_pid/ns/mnt")" ] && echo different || echo same)"

for a in org.wgnet1.manage-networks org.wgnet1.manage-peers org.wgnet1.read-secrets; do
        check "root: $a" yes "$(rig_pkcheck "$a")"
        # challenge (not no) also proves polkitd knows the action: an unknown one is an error.
        check "test user, not granted: $a" challenge "$(rig_pkcheck --user "$a")"
done
check "test user: unknown action is an error" error "$(rig_pkcheck --user org.wgnet1.no-such-action 2>/dev/null)"

rig_polkit_grant_group
check "grant returns 0" 0 $?
check "the host's polkit directories are untouched (rig running, grant in force)" "$host_before" "$(host_polkit)"
for a in org.wgnet1.manage-networks org.wgnet1.manage-peers org.wgnet1.read-secrets; do
        check "test user, granted: $a" yes "$(rig_pkcheck --user "$a")"
done
check "grant is only for org.wgnet1.*" challenge "$(rig_pkcheck --user org.freedesktop.policykit.exec)"
# Separate bash processes, as the Python helper calls them.
bash -c "source '$src/tests/rig/bus.sh'; rig_polkit_revoke_group"
check "revoke (separate bash) returns 0" 0 $?
check "test user, revoked: org.wgnet1.manage-peers" challenge "$(rig_pkcheck --user org.wgnet1.manage-peers)"
check "root still allowed after revoke" yes "$(bash -c "source '$src/tests/rig/bus.sh'; rig_pkcheck org.wgnet1.manage-peers")"

# The bus policy, with a stand-in for wgnetd.
if [ -x "$stub" ]; then
        check "the test user may not own org.wgnet1" 3 "$(as_user "$stub" own 2>/dev/null; echo $?)"
        check "root may own org.wgnet1" "owned 0" "$("$stub" own 2>/dev/null | tr '\n' ' '; echo "${PIPESTATUS[0]}")"
        coproc STUB { exec "$stub" serve 15; }
        stub_pid=$STUB_PID
        read -r -t 10 line <&"${STUB[0]}"
        check "stub serves org.wgnet1 as root" ready "${line:-}"
        check "the test user may call org.wgnet1.Manager" "a(so) 0" \
                "$(as_user busctl --system call org.wgnet1 /org/wgnet1 org.wgnet1.Manager ListNetworks 2>&1)"
        out=$(as_user busctl --system introspect org.wgnet1 /org/wgnet1 2>&1)
        check "the test user may introspect org.wgnet1" yes "$([[ $out == *ListNetworks* ]] && echo yes || echo no)"
        out=$(as_user busctl --system call org.wgnet1 /org/wgnet1 org.wgnet1.Test Hidden 2>&1)
        check "the test user may not call another interface of org.wgnet1" "Call failed: Access denied" "$out"
        check "root may call that interface" 's "should not be reachable by others"' \
                "$(busctl --system call org.wgnet1 /org/wgnet1 org.wgnet1.Test Hidden 2>&1)"
        kill "$stub_pid" 2>/dev/null; wait "$stub_pid" 2>/dev/null; stub_pid=
else
        echo "FAIL bus-stub not given or not built ('$stub')"
        failed=$((failed + 1))
fi

# polkitd restart (actions are read at start) keeps the bus and the answers.
bash -c "source '$src/tests/rig/bus.sh'; rig_polkitd_restart"
check "rig_polkitd_restart returns 0" 0 $?
new_polkitd=$(cat "$WGNET_RIG_DIR/polkitd.pid")
check "polkitd has a new PID" yes "$([ "$new_polkitd" != "$polkitd_pid" ] && echo yes || echo no)"
check "the old polkitd is gone" gone "$(st=$(awk '{print $3}' /proc/$polkitd_pid/stat 2>/dev/null); [ -z "$st" ] || [ "$st" = Z ] && echo gone || echo running)"
check "test user after restart" challenge "$(rig_pkcheck --user org.wgnet1.manage-peers)"

# Stop from another bash: nothing recorded is left running (a zombie awaiting a parent
# that does not reap is not running).
bash -c "source '$src/tests/rig/bus.sh'; rig_bus_stop && rig_bus_stop"
check "rig_bus_stop (twice) returns 0" 0 $?
for p in "$dbus_pid" "$new_polkitd"; do
        st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)
        check "process $p stopped" gone "$([ -z "$st" ] || [ "$st" = Z ] && echo gone || echo "running ($st)")"
done
check "pid files removed" none "$(ls "$WGNET_RIG_DIR"/*.pid 2>/dev/null || echo none)"
check "socket removed" none "$([ -e "$WGNET_RIG_DIR/system_bus_socket" ] && echo present || echo none)"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
