#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The Debian package: build it with dpkg-buildpackage from a copy of the source tree, check
# what it installs where, validate its unit with systemd-analyze verify, and start the
# packaged wgnetd on a private bus (root caller, userspace backend in a namespace) to see it
# answer. The package is not installed on this machine: dpkg -x unpacks it into a scratch
# root (installing would change the host for the tests that follow).
#
#   test-deb.sh SOURCE_DIR
#
# Exit 77 with the reason when dpkg-buildpackage, debhelper or root are missing.

set -euo pipefail
src=$(cd "${1:-${WGNET_SOURCE_ROOT:-.}}" && pwd)

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (a network namespace for the daemon)"; exit 77; }
for t in dpkg-buildpackage dh dbus-daemon busctl systemd-analyze wireguard-go; do
        command -v $t >/dev/null || { echo "SKIP: $t is not installed"; exit 77; }
done

work=$(mktemp -d /tmp/wgnet-deb.XXXXXX)
ns=wgdeb$$
bus_pid=
daemon_pid=
cleanup() {
        [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
        for p in $(ip netns pids $ns 2>/dev/null); do kill "$p" 2>/dev/null || true; done
        ip netns del $ns 2>/dev/null || true
        [ -n "$bus_pid" ] && kill "$bus_pid" 2>/dev/null
        rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

echo "== build the package"
mkdir -p "$work/wgnet-0.1.0"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
        (cd "$src" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work/wgnet-0.1.0" 2>/dev/null) || true
else
        (cd "$src" && tar --exclude='./build*' --exclude=./.git -cf - .) | tar -C "$work/wgnet-0.1.0" -xf -
fi
[ -f "$work/wgnet-0.1.0/debian/rules" ] || fail "debian/ is not in the copy"
# The unit tests ran in the main build already: nocheck keeps the package build short.
(cd "$work/wgnet-0.1.0" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) \
        || { tail -40 "$work/build.log"; fail "dpkg-buildpackage"; }
deb=$(ls "$work"/wgnet_*_amd64.deb 2>/dev/null || ls "$work"/wgnet_*.deb)
echo "  built $(basename "$deb")"

echo "== what it installs"
root=$work/root
dpkg -x "$deb" "$root"
for f in usr/sbin/wgnetd usr/bin/wgnetctl usr/libexec/wgnet-exporter \
         lib/systemd/system/wgnetd.service lib/systemd/system/wgnet-exporter.socket \
         lib/systemd/system/wgnet-exporter@.service \
         usr/share/dbus-1/system.d/org.wgnet1.conf usr/share/dbus-1/system-services/org.wgnet1.service \
         usr/share/dbus-1/interfaces/org.wgnet1.Manager.xml usr/share/polkit-1/actions/org.wgnet1.policy \
         usr/share/man/man1/wgnetctl.1.gz usr/share/man/man8/wgnetd.8.gz \
         usr/share/bash-completion/completions/wgnetctl usr/share/doc/wgnet/50-wgnet-admins.rules.example; do
        [ -e "$root/$f" ] || fail "the package lacks /$f"
done
dpkg -I "$deb" > "$work/info"
grep -q 'Depends:.*polkitd' "$work/info" || fail "the package does not depend on polkitd"
# wgnetd enabled and started on install, the metrics socket left off (opt-in).
dpkg -e "$deb" "$work/control"
grep -q "enable 'wgnetd.service'" "$work/control/postinst" || fail "postinst does not enable wgnetd.service"
# --no-enable: postinst only keeps an admin's earlier choice ("debian-installed").
grep -q "debian-installed 'wgnet-exporter.socket'" "$work/control/postinst" \
        || fail "postinst enables the metrics socket, which must stay opt-in"
if grep -q "deb-systemd-invoke .*wgnet-exporter" "$work/control/postinst"; then
        fail "postinst starts the metrics socket, which must stay opt-in"
fi
# Purge takes /var/lib/wgnet (the database and the key to its secrets); a remove keeps it.
# The script is run against a scratch tree: /var/lib/wgnet is rewritten to point into it.
[ -x "$work/control/postrm" ] || fail "the package has no postrm"
mkdir -p "$work/fake/var/lib/wgnet" && touch "$work/fake/var/lib/wgnet/wgnet.db"
# only wgnet's own block: debhelper's snippets would act on this host's systemd
awk '/^if \[ "\$1" = "purge" \]; then$/ { on = 1 } on { print } on && /^fi$/ { exit }' "$work/control/postrm" \
        | sed "s|/var/lib/wgnet|$work/fake/var/lib/wgnet|g" > "$work/postrm-test"
grep -q "$work/fake/var/lib/wgnet" "$work/postrm-test" || fail "postrm does not name /var/lib/wgnet"
# in a namespace of its own: the purge deletes table inet wgnet, which is this host's too
debns=wgdeb-$$
ip netns add "$debns"
ip netns exec "$debns" sh "$work/postrm-test" remove
[ -e "$work/fake/var/lib/wgnet/wgnet.db" ] || fail "postrm remove deleted the state"
ip netns exec "$debns" sh "$work/postrm-test" purge
ip netns del "$debns"
[ ! -e "$work/fake/var/lib/wgnet" ] || fail "postrm purge left /var/lib/wgnet"
# a remove (not an upgrade) takes the interfaces down (wgnetd --remove-devices: test-daemon)
grep -q 'if \[ "$1" = "remove" \]' "$work/control/prerm" && grep -q -- "wgnetd --remove-devices" "$work/control/prerm" \
        || fail "prerm does not take the interfaces down at a remove"
echo "  $(dpkg -c "$deb" | grep -vc '/$') files, wgnetd enabled on install, the exporter socket not, purge removes the state"

echo "== the unit"
sed "s|/usr/sbin/wgnetd|$root/usr/sbin/wgnetd|" "$root/lib/systemd/system/wgnetd.service" > "$work/wgnetd.service"
systemd-analyze verify "$work/wgnetd.service" || fail "systemd-analyze verify of the packaged unit"

echo "== the packaged wgnetd starts and answers"
[[ "$("$root/usr/sbin/wgnetd" --version)" == "wgnetd "* ]] || fail "wgnetd --version"
mkdir -p "$work/bus"
cat > "$work/bus/system.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$work/bus/socket</listen>
  <auth>EXTERNAL</auth>
  <policy user="root"><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/></policy>
</busconfig>
EOF
dbus-daemon --config-file="$work/bus/system.conf" --nofork --nopidfile >"$work/bus/log" 2>&1 &
bus_pid=$!
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$work/bus/socket
for _ in $(seq 100); do [ -S "$work/bus/socket" ] && break; sleep 0.05; done
ip netns add $ns
ip -n $ns link set lo up
ip netns exec $ns "$root/usr/sbin/wgnetd" --state-dir="$work/state" --config=/dev/null --backend=userspace \
        --firewall=no >"$work/wgnetd.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 100); do
        [ "$(busctl call org.freedesktop.DBus / org.freedesktop.DBus NameHasOwner s org.wgnet1 2>/dev/null)" = "b true" ] && break
        sleep 0.1
done
ifn=wgdeb$(( $$ % 10000 ))
net=$(busctl call org.wgnet1 /org/wgnet1 org.wgnet1.Manager CreateNetwork 'sa{sv}' pkg 2 \
        Interface s "$ifn" Addresses as 1 10.93.0.1/24) || { cat "$work/wgnetd.log"; fail "CreateNetwork"; }
"$root/usr/bin/wgnetctl" --no-pager peer add pkg phone >"$work/peer.out" 2>&1 || { cat "$work/peer.out"; fail "wgnetctl peer add"; }
grep -q 'PrivateKey' "$work/peer.out" || fail "wgnetctl peer add printed no config"
[ "$(ip netns exec $ns wg show "$ifn" peers | wc -l)" = 1 ] || fail "the device does not hold the peer"
echo "  $net, a peer added with the packaged wgnetctl is on the device"
echo "ok"
