#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The interface XML in dbus/ is what the daemon really exports: introspect a running wgnetd
and compare interface by interface (methods, arguments, properties, signals, annotations).
WGNET_UPDATE_XML=1 rewrites the files from the daemon instead."""

import os
import sys
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wgnet import MANAGER, NETWORK, PEER, SRC, main, opts, require_root_and_tools, unwrap  # noqa: E402

import dbus  # noqa: E402

HEADER = ('<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n'
          ' "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">\n'
          '<!-- SPDX-License-Identifier: LGPL-2.1-or-later -->\n'
          '<!-- Generated from the running daemon by tests/integration/test-introspect.py\n'
          '     (WGNET_UPDATE_XML=1); the test keeps it equal to the vtables. -->\n')


def canonical(iface):
    """An interface element as sorted, comparable text."""
    out = []
    for child in iface:
        attrs = " ".join(f'{k}="{v}"' for k, v in sorted(child.attrib.items()))
        inner = []
        for sub in child:
            inner.append(f'  <{sub.tag} ' + " ".join(f'{k}="{v}"' for k, v in sorted(sub.attrib.items())) + "/>")
        out.append(f"<{child.tag} {attrs}>\n" + "\n".join(inner))
    return "\n".join(sorted(out))


def render(iface):
    lines = [f' <interface name="{iface.attrib["name"]}">']
    for child in iface:
        attrs = " ".join(f'{k}="{v}"' for k, v in child.attrib.items())
        if len(child):
            lines.append(f"  <{child.tag} {attrs}>")
            for sub in child:
                sattrs = " ".join(f'{k}="{v}"' for k, v in sub.attrib.items())
                lines.append(f"   <{sub.tag} {sattrs}/>")
            lines.append(f"  </{child.tag}>")
        else:
            lines.append(f"  <{child.tag} {attrs}/>")
    lines.append(" </interface>")
    return HEADER + "<node>\n" + "\n".join(lines) + "\n</node>\n"


def test_interfaces_added(rig):
    """The InterfacesAdded of new peers (built by wgnetd while the device works, not by
    sd-bus) carries what GetManagedObjects says about them, interface by interface."""
    from dbus.mainloop.glib import DBusGMainLoop
    from gi.repository import GLib
    seen = {}
    sigbus = dbus.bus.BusConnection(rig.address, mainloop=DBusGMainLoop())
    sigbus.add_signal_receiver(lambda path, ifaces: seen.__setitem__(str(path), unwrap(ifaces)),
                               signal_name="InterfacesAdded", dbus_interface="org.freedesktop.DBus.ObjectManager",
                               path="/org/wgnet1")
    if rig.daemon is None:
        rig.start_daemon()
    net = unwrap(rig.manager().CreateNetwork("ia", opts(Interface=f"wga{rig.tag[-5:]}", Addresses=["10.93.0.1/24"])))
    paths = [unwrap(rig.network(net).AddPeer("one", opts(Email="one@example.org", Role="site-gateway", SiteNetworks=["192.168.77.0/24"],
                                                        PersistentKeepalive=dbus.UInt16(7))))[0]]
    paths += [p for p, _ in unwrap(rig.network(net).AddPeers([("two", opts()), ("three", opts(Enabled=False))]))]
    loop = GLib.MainLoop()
    deadline = time.time() + 10
    while time.time() < deadline and not all(p in seen for p in paths):
        GLib.timeout_add(50, loop.quit)
        loop.run()
    managed = unwrap(dbus.Interface(rig.bus().get_object("org.wgnet1", "/org/wgnet1"),
                                    "org.freedesktop.DBus.ObjectManager").GetManagedObjects())
    for p in paths:
        assert p in seen, f"no InterfacesAdded for {p}: {sorted(seen)}"
        assert seen[p] == managed[p], f"{p}:\n signal  {seen[p]}\n managed {managed[p]}"
        assert seen[p][PEER]["Network"] == net and len(seen[p][PEER]) == 30, seen[p][PEER]
    assert seen[paths[0]][PEER]["SiteNetworks"] == ["192.168.77.0/24"] and seen[paths[0]][PEER]["PersistentKeepalive"] == 7
    assert seen[paths[2]][PEER]["Enabled"] is False
    rig.network(net).Delete()


def test_interfaces_match(rig):
    if rig.daemon is None:
        rig.start_daemon()
    net = unwrap(rig.manager().CreateNetwork("x", opts(Interface=f"wgi{rig.tag[-5:]}", Addresses=["10.91.0.1/24"])))
    peer, _ = unwrap(rig.network(net).AddPeer("p", opts()))
    tunnel = unwrap(rig.manager().CreateTunnel("t", opts(Interface=f"wgt{rig.tag[-5:]}", Activate=False)))
    mesh = unwrap(rig.manager().CreateNetwork("m", opts(Interface=f"wgm{rig.tag[-5:]}", Addresses=["10.92.0.1/24"],
                                                        Mode="mesh", Endpoint="192.0.2.1:51820")))
    dbus.Interface(rig.bus().get_object("org.wgnet1", mesh), "org.wgnet1.Mesh").CreateInvitation(opts(Name="member"))
    member = [p for p, ifs in unwrap(dbus.Interface(rig.bus().get_object("org.wgnet1", "/org/wgnet1"),
                                                    "org.freedesktop.DBus.ObjectManager").GetManagedObjects()).items()
              if "org.wgnet1.MeshMember" in ifs][0]
    update = os.environ.get("WGNET_UPDATE_XML") == "1"
    for path, name in (("/org/wgnet1", MANAGER), (net, NETWORK), (peer, PEER), (tunnel, "org.wgnet1.Tunnel"),
                       (mesh, "org.wgnet1.Mesh"), (member, "org.wgnet1.MeshMember")):
        xml = str(dbus.Interface(rig.bus().get_object("org.wgnet1", path),
                                 "org.freedesktop.DBus.Introspectable").Introspect())
        live = [i for i in ET.fromstring(xml).findall("interface") if i.attrib["name"] == name]
        assert len(live) == 1, f"{path} does not export {name}"
        file = os.path.join(SRC, "dbus", f"{name}.xml")
        if update:
            with open(file, "w") as f:
                f.write(render(live[0]))
            continue
        assert os.path.exists(file), f"{file} is missing: run with WGNET_UPDATE_XML=1"
        stored = [i for i in ET.parse(file).getroot().findall("interface") if i.attrib["name"] == name]
        assert len(stored) == 1, f"{file} has no interface {name}"
        a, b = canonical(stored[0]), canonical(live[0])
        if a != b:
            raise AssertionError(f"{file} differs from what wgnetd exports (run with WGNET_UPDATE_XML=1):\n"
                                 f"--- file\n{a}\n--- daemon\n{b}")


if __name__ == "__main__":
    require_root_and_tools("wireguard-go")
    main([test_interfaces_added, test_interfaces_match], "intro")
