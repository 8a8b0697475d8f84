# SPDX-License-Identifier: LGPL-2.1-or-later
# A private system bus inside the throw-away VM (tests/rig/vm-run): dbus-daemon alone, and
# root may do anything on it (the callers there are root, for whom wgnetd skips polkit).
#
#   . tests/rig/vm-bus.sh
#   vm_bus_start DIR      # DIR/system.conf, DIR/socket, DIR/log; 1 when no socket came up

vm_bus_start() {
        local d=$1
        mkdir -p "$d"
        cat > "$d/system.conf" <<XML
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$d/socket</listen>
  <auth>EXTERNAL</auth>
  <policy user="root">
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
XML
        dbus-daemon --config-file="$d/system.conf" --nofork --nopidfile >"$d/log" 2>&1 &
        for _ in $(seq 100); do [ -S "$d/socket" ] && return 0; sleep 0.05; done
        return 1
}
