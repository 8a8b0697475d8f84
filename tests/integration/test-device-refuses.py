#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A device that refuses a change after the database took it: wgnetd's userspace
implementation is tests/integration/fake-wg-impl.py (a mock: no real implementation can be
made to refuse a valid set on demand), on a tun link of its own, refusing every set of 2 peers or
more. AddPeers is answered DeviceFailed, its rows are gone (also after a restart), no
object was announced, and a single AddPeer afterwards works."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wgnet import NETWORK, PEER, SRC, expect_error, main, opts, require_root_and_tools, unwrap  # noqa: E402

import dbus  # noqa: E402

FAKE = os.path.join(SRC, "tests", "integration", "fake-wg-impl.py")
state = {}


def test_setup(rig):
    os.environ["FAKE_DUMMY_LINK"] = "1"
    os.environ["FAKE_REFUSE_PEERS"] = "2"
    rig.start_daemon(f"--userspace-binary={FAKE}")
    state["net"] = unwrap(rig.manager().CreateNetwork("refusing", opts(Interface=f"wgf{rig.tag[-5:]}",
                                                                        Addresses=["10.97.0.1/24"])))


def test_bulk_refused_after_commit(rig):
    from dbus.mainloop.glib import DBusGMainLoop
    from gi.repository import GLib
    events = []
    sigbus = dbus.bus.BusConnection(rig.address, mainloop=DBusGMainLoop())
    for name in ("InterfacesAdded", "InterfacesRemoved"):
        sigbus.add_signal_receiver(lambda path, *_, name=name: events.append((name, str(path))),
                                   signal_name=name, dbus_interface="org.freedesktop.DBus.ObjectManager",
                                   path="/org/wgnet1")
    net = rig.network(state["net"])
    expect_error("org.wgnet1.Error.DeviceFailed", net.AddPeers, [("a", opts()), ("b", opts()), ("c", opts())])
    assert rig.sqlite("SELECT count(*) FROM peers") == "0"
    assert rig.prop(state["net"], NETWORK, "PeerCount") == 0
    managed = unwrap(dbus.Interface(rig.bus().get_object("org.wgnet1", "/org/wgnet1"),
                                    "org.freedesktop.DBus.ObjectManager").GetManagedObjects())
    assert not [p for p, ifaces in managed.items() if PEER in ifaces], managed
    # never announced: the signals go out once the device took the peers
    loop = GLib.MainLoop()
    GLib.timeout_add(300, loop.quit)
    loop.run()
    assert events == [], events


def test_single_add_then_restart(rig):
    path, config = unwrap(rig.network(state["net"]).AddPeer("one", opts()))
    assert "PrivateKey" in config
    rig.stop_daemon()
    rig.start_daemon(f"--userspace-binary={FAKE}")
    assert rig.sqlite("SELECT name FROM peers") == "one"
    assert rig.prop(path, PEER, "Name") == "one"
    # the addresses of the refused peers were given back: the first free one went to "one"
    assert rig.prop(path, PEER, "Addresses") == ["10.97.0.2/32"]


def test_concurrent_adds_redone_alone(rig):
    """Eight AddPeer calls at once share one commit and one device set (group commit); the
    device refuses the set of several peers, so each call is done again alone: every
    caller gets its own peer, on the device as on the bus, with addresses of its own."""
    from dbus.mainloop.glib import DBusGMainLoop
    from gi.repository import GLib
    bus = dbus.bus.BusConnection(rig.address, mainloop=DBusGMainLoop())
    net = dbus.Interface(bus.get_object("org.wgnet1", state["net"]), NETWORK)
    loop, results = GLib.MainLoop(), {}

    def done(name, ok, value):
        results[name] = (ok, value)
        if len(results) == 8:
            loop.quit()
    for i in range(8):
        name = f"c{i}"
        net.AddPeer(name, opts(), reply_handler=lambda p, c, name=name: done(name, True, str(p)),
                    error_handler=lambda e, name=name: done(name, False, e))
    GLib.timeout_add(20000, loop.quit)
    loop.run()
    assert len(results) == 8 and all(ok for ok, _ in results.values()), results
    with open(rig.daemon_log) as f:
        assert "AddPeer calls failed" in f.read(), "the calls were never batched"
    addrs = [rig.prop(path, PEER, "Addresses")[0] for _, path in results.values()]
    assert len(set(addrs)) == 8, addrs
    assert rig.sqlite("SELECT count(*) FROM peers WHERE name LIKE 'c%'") == "8"


def test_delete(rig):
    """The fake ignores SIGTERM: Delete kills it, and removes the socket it left."""
    sock = f"/run/wireguard/wgf{rig.tag[-5:]}.sock"
    assert os.path.exists(sock)
    rig.network(state["net"]).Delete()
    assert not os.path.exists(sock)


TESTS = [test_setup, test_bulk_refused_after_commit, test_single_add_then_restart, test_concurrent_adds_redone_alone,
         test_delete]

if __name__ == "__main__":
    require_root_and_tools("dbus-daemon", "/usr/lib/polkit-1/polkitd", "sqlite3")
    main(TESTS, "refuse")
