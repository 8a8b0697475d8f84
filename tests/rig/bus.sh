# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# The bus rig: a private "system" bus (dbus-daemon with the project's bus policy) and the
# real polkitd on it, with the project's polkit actions, for the integration tests. One
# implementation for the shell tests and the Python helper (tests/integration/wgnet.py).
#
# Source it, then call the functions; each may run in a separate bash process:
#
#   export WGNET_RIG_DIR=/some/dir          # state; created if missing (default /tmp/wgnet-rig)
#   source tests/rig/bus.sh
#   addr=$(rig_bus_start | tail -n1)        # or just rig_bus_start: exports DBUS_SYSTEM_BUS_ADDRESS
#   rig_user_name                           # -> wgnettest (uid 59871, member of wgnet-test-admins)
#   rig_pkcheck org.wgnet1.manage-peers     # -> yes        (root)
#   rig_pkcheck --user org.wgnet1.manage-peers   # -> challenge (the test user, not granted)
#   rig_polkit_grant_group                  # rules file: wgnet-test-admins may do org.wgnet1.*
#   rig_polkit_revoke_group                 # and back
#   as_user busctl --system call ...        # run as the test user, on the private bus
#   rig_polkitd_restart                     # polkitd reads actions only at start
#   rig_bus_stop                            # idempotent
#
# dbus-daemon and polkitd are started detached (setsid) so that they outlive the bash that
# started them; their PIDs are recorded in $WGNET_RIG_DIR/{dbus,polkitd}.pid and they are
# stopped by those PIDs only. polkitd runs in its own mount namespace, where
# /usr/share/polkit-1/actions and /etc/polkit-1 are bind mounts of directories in
# $WGNET_RIG_DIR: nothing of the host's polkit configuration is written.
#
# Every function prints diagnostics on stderr; rig_bus_start prints only the address on
# stdout. Without root, rig_bus_start says why on stderr and returns 77.

RIG_USER=wgnettest
RIG_UID=59871
RIG_GROUP=wgnet-test-admins
RIG_GID=59872
# An auth_admin action of polkit/org.wgnet1.policy, used to see whether a grant is in force.
RIG_PROBE_ACTION=org.wgnet1.manage-peers
RIG_RULES_NAME=50-wgnet-test-admins.rules

_rig_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

_rig_dir() { printf '%s\n' "${WGNET_RIG_DIR:-/tmp/wgnet-rig}"; }
_rig_src() { printf '%s\n' "${WGNET_SOURCE_ROOT:-$(cd "$_rig_here/../.." && pwd)}"; }
_rig_say() { echo "rig: $*" >&2; }

_rig_polkitd_bin() {
        local b
        for b in /usr/lib/polkit-1/polkitd /usr/libexec/polkitd /usr/libexec/polkit-1/polkitd; do
                [ -x "$b" ] && { echo "$b"; return 0; }
        done
        return 1
}

# _rig_alive PID: the process exists and is not a zombie.
_rig_alive() {
        local st
        [ -n "${1:-}" ] || return 1
        st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
        [ -n "$st" ] && [ "$st" != Z ]
}

_rig_pid() { cat "$(_rig_dir)/$1.pid" 2>/dev/null; }

# _rig_kill NAME COMM: stop the process recorded in NAME.pid, if it is still the COMM we
# started (a recycled PID is left alone), and wait until it is gone.
_rig_kill() {
        local d pid comm i
        d=$(_rig_dir)
        pid=$(_rig_pid "$1") || return 0
        if [ -n "$pid" ] && _rig_alive "$pid"; then
                comm=$(cat "/proc/$pid/comm" 2>/dev/null)
                if [ "$comm" = "$2" ]; then
                        kill -TERM "$pid" 2>/dev/null
                        for i in $(seq 250); do
                                _rig_alive "$pid" || break
                                [ "$i" = 150 ] && kill -KILL "$pid" 2>/dev/null
                                sleep 0.02
                        done
                        wait "$pid" 2>/dev/null   # reaps it when this shell is its parent
                        _rig_alive "$pid" && { _rig_say "$2 ($pid) did not stop"; return 1; }
                else
                        _rig_say "PID $pid of $1.pid is now '$comm', not $2: left alone"
                fi
        fi
        rm -f "$d/$1.pid"
        return 0
}

_rig_ensure_user() {
        (
                flock 9
                getent group "$RIG_GROUP" >/dev/null || groupadd -g "$RIG_GID" "$RIG_GROUP" || exit 1
                if ! getent passwd "$RIG_USER" >/dev/null; then
                        useradd -u "$RIG_UID" -M -d /nonexistent -s /usr/sbin/nologin \
                                -c "wgnet test user" -G "$RIG_GROUP" "$RIG_USER" || exit 1
                fi
                id -nG "$RIG_USER" | tr ' ' '\n' | grep -qx "$RIG_GROUP" ||
                        usermod -aG "$RIG_GROUP" "$RIG_USER" || exit 1
        ) 9>/run/wgnet-rig-users.lock
}

_rig_copy_actions() {
        local d src
        d=$(_rig_dir)
        src=$(_rig_src)
        rm -rf "$d/actions"
        mkdir -p "$d/actions"
        # The host's actions stay visible; the project's policy wins over an installed copy.
        cp /usr/share/polkit-1/actions/*.policy "$d/actions/" 2>/dev/null
        cp "$src/polkit/org.wgnet1.policy" "$d/actions/" || return 1
        chmod 755 "$d/actions"
        chmod 644 "$d/actions"/*.policy
}

_rig_wait_polkit() {
        local addr=$1 i
        for i in $(seq 500); do
                DBUS_SYSTEM_BUS_ADDRESS=$addr busctl --system status org.freedesktop.PolicyKit1 \
                        >/dev/null 2>&1 && return 0
                _rig_alive "$(_rig_pid polkitd)" || break
                sleep 0.02
        done
        _rig_say "polkitd did not come up on $addr; its log:"
        tail -n 20 "$(_rig_dir)/polkitd.log" >&2
        return 1
}

_rig_start_polkitd() {
        local d addr bin i
        d=$(_rig_dir)
        addr=$(rig_bus_address) || return 1
        bin=$(_rig_polkitd_bin) || { _rig_say "polkitd not found"; return 1; }
        _rig_copy_actions || return 1
        rm -f "$d/polkitd.pid"
        # setsid: its own session, so it outlives us; unshare -m: private mount propagation,
        # the bind mounts exist only for this polkitd. bash execs polkitd: $$ is its PID.
        setsid unshare -m --propagation private -- bash -c '
                set -e
                mount --bind "$1/actions" /usr/share/polkit-1/actions
                mount --bind "$1/etc-polkit-1" /etc/polkit-1
                echo $$ >"$1/polkitd.pid"
                export DBUS_SYSTEM_BUS_ADDRESS=$2
                exec "$3" --no-debug' rig-polkitd "$d" "$addr" "$bin" \
                </dev/null >"$d/polkitd.log" 2>&1 &
        for i in $(seq 250); do
                [ -s "$d/polkitd.pid" ] && break
                sleep 0.02
        done
        _rig_wait_polkit "$addr"
}

_rig_bus_start() {
        local d src addr i
        d=$(_rig_dir)
        src=$(_rig_src)
        for i in dbus-daemon busctl pkcheck unshare setsid runuser useradd flock; do
                command -v "$i" >/dev/null || { _rig_say "$i is not installed"; return 77; }
        done
        _rig_polkitd_bin >/dev/null || { _rig_say "polkitd is not installed"; return 77; }
        [ -f /usr/share/dbus-1/system.conf ] || { _rig_say "/usr/share/dbus-1/system.conf missing (package dbus)"; return 77; }
        [ -d /usr/share/polkit-1/actions ] && [ -d /etc/polkit-1 ] ||
                { _rig_say "polkit directories missing (package polkitd)"; return 77; }
        for i in "$src/dbus/org.wgnet1.conf" "$src/polkit/org.wgnet1.policy"; do
                [ -f "$i" ] || { _rig_say "$i not found (set WGNET_SOURCE_ROOT)"; return 1; }
        done

        # Already running (a second call): keep it.
        if _rig_alive "$(_rig_pid dbus)" && _rig_alive "$(_rig_pid polkitd)" && [ -s "$d/address" ]; then
                return 0
        fi
        rig_bus_stop

        _rig_ensure_user || { _rig_say "cannot create user $RIG_USER / group $RIG_GROUP"; return 1; }

        mkdir -p "$d/system.d" "$d/etc-polkit-1/rules.d" || return 1
        chmod 755 "$d" "$d/system.d" "$d/etc-polkit-1" "$d/etc-polkit-1/rules.d"
        if ! runuser -u "$RIG_USER" -- test -x "$d"; then
                _rig_say "$RIG_USER cannot reach $d (a parent directory is not searchable)"
                return 1
        fi
        cp "$src/dbus/org.wgnet1.conf" "$d/system.d/" && chmod 644 "$d/system.d/org.wgnet1.conf" || return 1
        rm -f "$d/etc-polkit-1/rules.d/$RIG_RULES_NAME"

        addr=unix:path=$d/system_bus_socket
        # Debian's system.conf with: our socket, absolute includedirs plus $d/system.d, no
        # fork, no syslog, no activation (no service helper, no service dirs).
        sed -e "s|<listen>[^<]*</listen>|<listen>$addr</listen>|" \
            -e 's|<includedir>system.d</includedir>|<includedir>/usr/share/dbus-1/system.d</includedir>|' \
            -e "s|<includedir>/etc/dbus-1/system.d</includedir>|<includedir>/etc/dbus-1/system.d</includedir><includedir>$d/system.d</includedir>|" \
            -e 's|<pidfile>[^<]*</pidfile>||' \
            -e 's|^\s*<fork/>||' -e 's|^\s*<syslog/>||' \
            -e 's|^\s*<standard_system_servicedirs/>||' -e 's|^\s*<servicehelper>.*</servicehelper>||' \
            /usr/share/dbus-1/system.conf >"$d/system.conf" || return 1
        grep -q "$d/system.d" "$d/system.conf" || { _rig_say "could not adapt system.conf"; return 1; }

        rm -f "$d/system_bus_socket" "$d/address" "$d/dbus.pid"
        setsid bash -c 'echo $$ >"$1/dbus.pid"; exec dbus-daemon --config-file="$1/system.conf" --nofork --nopidfile' \
                rig-dbus "$d" </dev/null >"$d/dbus.log" 2>&1 &
        for i in $(seq 500); do
                [ -S "$d/system_bus_socket" ] && DBUS_SYSTEM_BUS_ADDRESS=$addr busctl --system status >/dev/null 2>&1 && break
                _rig_alive "$(_rig_pid dbus)" || [ "$i" -lt 20 ] || break
                sleep 0.02
        done
        if ! DBUS_SYSTEM_BUS_ADDRESS=$addr busctl --system status >/dev/null 2>&1; then
                _rig_say "dbus-daemon did not come up; its log:"
                tail -n 20 "$d/dbus.log" >&2
                rig_bus_stop
                return 1
        fi
        echo "$addr" >"$d/address"
        chmod 644 "$d/address"

        if ! _rig_start_polkitd; then
                rig_bus_stop
                return 1
        fi
        return 0
}

rig_bus_start() {
        local -
        set +e +u +o pipefail
        local rc
        if [ "$(id -u)" != 0 ]; then
                _rig_say "needs root (test user, private system bus, polkitd in a mount namespace)"
                return 77
        fi
        _rig_bus_start >&2
        rc=$?
        [ "$rc" = 0 ] || return "$rc"
        DBUS_SYSTEM_BUS_ADDRESS=$(rig_bus_address)
        export DBUS_SYSTEM_BUS_ADDRESS
        echo "$DBUS_SYSTEM_BUS_ADDRESS"
}

rig_bus_stop() {
        local -
        set +e +u +o pipefail
        local d rc=0
        d=$(_rig_dir)
        _rig_kill polkitd polkitd || rc=1
        _rig_kill dbus dbus-daemon || rc=1
        rm -f "$d/system_bus_socket" "$d/address"
        return "$rc"
}

rig_bus_address() {
        local -
        set +e +u +o pipefail
        local d
        d=$(_rig_dir)
        [ -s "$d/address" ] || { _rig_say "no bus: $d/address missing (rig_bus_start first)"; return 1; }
        cat "$d/address"
}

rig_user_name() { echo "$RIG_USER"; }

rig_polkitd_restart() {
        local -
        set +e +u +o pipefail
        _rig_kill polkitd polkitd || return 1
        _rig_start_polkitd >&2
}

# rig_pkcheck [--user] ACTION: yes, no or challenge, for root or the test user. The subject
# is the pkcheck process itself (sh execs it), running as that user.
rig_pkcheck() {
        local -
        set +e +u +o pipefail
        local user=0 addr rc
        if [ "${1:-}" = --user ]; then user=1; shift; fi
        [ -n "${1:-}" ] || { _rig_say "usage: rig_pkcheck [--user] ACTION"; return 2; }
        addr=$(rig_bus_address) || return 1
        if [ "$user" = 1 ]; then
                runuser -u "$RIG_USER" -- env DBUS_SYSTEM_BUS_ADDRESS="$addr" \
                        /bin/sh -c 'exec pkcheck --action-id "$1" --process $$' rig-pkcheck "$1" >/dev/null 2>&1
        else
                env DBUS_SYSTEM_BUS_ADDRESS="$addr" \
                        /bin/sh -c 'exec pkcheck --action-id "$1" --process $$' rig-pkcheck "$1" >/dev/null 2>&1
        fi
        rc=$?
        case $rc in
        0) echo yes ;;
        1) echo no ;;
        2) echo challenge ;;
        *) _rig_say "pkcheck failed ($rc) for $1"; echo error; return 1 ;;
        esac
        return 0
}

# _rig_poll_user WANT: wait until the test user's answer for the probe action is (WANT=yes)
# or is not (WANT=not-yes) yes. polkitd reloads rules.d by inotify, a little later.
_rig_poll_user() {
        local i r
        for i in $(seq 100); do
                r=$(rig_pkcheck --user "$RIG_PROBE_ACTION")
                case $1 in
                yes) [ "$r" = yes ] && return 0 ;;
                not-yes) [ "$r" = no ] || [ "$r" = challenge ] && return 0 ;;
                esac
                sleep 0.1
        done
        _rig_say "polkit did not apply the rules change (wanted $1, have '$r')"
        return 1
}

rig_polkit_grant_group() {
        local -
        set +e +u +o pipefail
        local d src f
        d=$(_rig_dir)
        src=$(_rig_src)
        f=$d/etc-polkit-1/rules.d/$RIG_RULES_NAME
        [ -d "${f%/*}" ] || { _rig_say "no rig in $d"; return 1; }
        # The shipped example, for the test group: the example itself is what is tested.
        sed "s/\"wgnet-admins\"/\"$RIG_GROUP\"/" "$src/polkit/50-wgnet-admins.rules.example" >"$f.tmp" || return 1
        grep -q "\"$RIG_GROUP\"" "$f.tmp" || { _rig_say "the rules example names no group"; rm -f "$f.tmp"; return 1; }
        chmod 644 "$f.tmp"
        mv -f "$f.tmp" "$f"
        _rig_poll_user yes
}

rig_polkit_revoke_group() {
        local -
        set +e +u +o pipefail
        local d
        d=$(_rig_dir)
        rm -f "$d/etc-polkit-1/rules.d/$RIG_RULES_NAME"
        _rig_poll_user not-yes
}

# as_user CMD...: run CMD as the test user with the rig's bus as the system bus.
as_user() {
        local -
        set +e +u +o pipefail
        local addr
        addr=$(rig_bus_address 2>/dev/null) || addr=${DBUS_SYSTEM_BUS_ADDRESS:-}
        runuser -u "$RIG_USER" -- env DBUS_SYSTEM_BUS_ADDRESS="$addr" "$@"
}
