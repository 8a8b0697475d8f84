# SPDX-License-Identifier: LGPL-2.1-or-later
"""The tunnel tests of what a tunnel will not take and of calls that fail half way (run
by test-tunnel.py on its two hosts, after the pairing): interfaces, ports and routes of
others, remote networks that would take the host's routing, tunnel addresses in use, a
crash's leftovers, and commits or devices that fail (fail-fsync.so's full disk): each
refusal or failure names the value and leaves nothing behind."""

import base64
import os
import subprocess
import time

from tunnel_rig import (E, HOST_B, IF_A, IF_A2, INVALID, LAN_A, NET_B, NETS_B, PID, PORT_A, SHIM, WAN_A, WAN_B,
                        disk_full, foreign_wg, hold_udp_port, lan_ping, make_pairing, pairing_body, restart, snapshot,
                        start,
                        state, tprop, tprops, tunnel, wait_state)
from wgnet import BUS, expect_error, opts

import dbus


def test_networks_and_tunnels_share_nothing(a, b):
    m = a.manager()
    msg = expect_error(E + "InterfaceInUse", m.CreateNetwork, "n0", opts(Interface=IF_A, Addresses=["10.99.0.1/24"]))
    assert "to-b" in msg, msg
    msg = expect_error(E + "ListenPortInUse", m.CreateNetwork, "n0",
                       opts(Interface="wtn0", Addresses=["10.99.0.1/24"], ListenPort=PORT_A))
    assert "to-b" in msg, msg
    t = str(m.CreateTunnel("tmp", opts(Interface="wtz10", Activate=False)))
    port = tprop(a, t, "ListenPort")
    n = str(m.CreateNetwork("n1", opts(Interface="wtn1", Addresses=["10.99.0.1/24"], Activate=False)))
    assert a.prop(n, "org.wgnet1.Network", "ListenPort") not in (port, PORT_A)
    expect_error(E + "InterfaceInUse", m.CreateTunnel, "t2", opts(Interface="wtn1"))
    expect_error(E + "ListenPortInUse", m.CreateTunnel, "t2",
                 opts(Interface="wtz11", ListenPort=a.prop(n, "org.wgnet1.Network", "ListenPort")))
    dbus.Interface(a.bus().get_object(BUS, n), "org.wgnet1.Network").Delete()
    tunnel(a, t).Delete()


def test_refused_takeovers(a, b):
    """What belongs to others stays theirs, and a refused call changes nothing: a WireGuard
    interface wgnet does not manage, a UDP port another program holds, a prefix another
    interface routes, another tunnel's remote networks, port 0."""
    m = a.manager()
    ifn = f"wtf{PID}"
    foreign_wg(a, ifn)
    key = base64.b64encode(os.urandom(32)).decode()
    a.ns("wg", "set", ifn, "listen-port", "51960", "peer", key, "allowed-ips", "10.98.0.0/24")
    before = a.wg_dump(ifn)
    try:
        msg = expect_error(E + "InterfaceInUse", m.CreateTunnel, "foreign", opts(Interface=ifn))
        assert ifn in msg and "not managed by wgnet" in msg, msg
        assert a.wg_dump(ifn) == before, "the foreign interface was touched"
        assert a.sqlite("SELECT count(*) FROM tunnels WHERE name = 'foreign'") == "0"
    finally:
        a.ns("ip", "link", "del", ifn, check=False)

    ta = tunnel(a, state["a"])
    p0 = tprops(a, state["a"])
    expect_error(INVALID, ta.Update, opts(ListenPort=0))
    holder = subprocess.Popen(["ip", "netns", "exec", a.netns, "/usr/bin/python3", "-c",
                               "import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                               "s.bind(('0.0.0.0', 51961)); print('bound', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "bound"
        msg = expect_error(E + "ListenPortInUse", ta.Update, opts(ListenPort=51961, PersistentKeepalive=7))
        assert "51961" in msg and "another program" in msg, msg
    finally:
        holder.kill()
        holder.wait()
    dummy = f"wtd{PID}"     # a LAN of this host (a veth pair: no dummy module everywhere)
    a.ns("ip", "link", "add", dummy, "type", "veth", "peer", "name", f"wte{PID}")
    a.ns("ip", "link", "set", dummy, "up")
    a.ns("ip", "route", "add", "10.97.0.0/24", "dev", dummy, "metric", "100")
    try:
        msg = expect_error(E + "RouteInUse", ta.Update, opts(RemoteNetworks=NETS_B + ["10.97.0.0/24"]))
        assert "10.97.0.0/24" in msg and dummy in msg, msg
        assert f"dev {dummy}" in a.ns("ip", "route", "show", "10.97.0.0/24").stdout
        assert f"dev {IF_A}" not in a.ns("ip", "route", "show", "10.97.0.0/24").stdout
    finally:
        a.ns("ip", "link", "del", dummy, check=False)
    msg = expect_error(E + "RouteInUse", m.CreateTunnel, "t3", opts(Interface="wtz12", RemoteNetworks=[NET_B],
                                                                      Activate=False))
    assert "to-b" in msg, msg
    a.ns("ip", "route", "add", "blackhole", "10.96.0.0/24")
    try:
        msg = expect_error(E + "RouteInUse", ta.Update, opts(RemoteNetworks=NETS_B + ["10.96.0.0/24"]))
        assert "10.96.0.0/24" in msg, msg
    finally:
        a.ns("ip", "route", "del", "blackhole", "10.96.0.0/24")
    msg = expect_error(E + "RouteInUse", m.CreateNetwork, "over-b", opts(Interface="wtn3", Addresses=["10.72.0.1/24"],
                                                                          Activate=False))
    assert "to-b" in msg, msg
    n = str(m.CreateNetwork("sites", opts(Interface="wtn2", Addresses=["10.99.1.1/24"], Activate=False)))
    net = dbus.Interface(a.bus().get_object(BUS, n), "org.wgnet1.Network")
    msg = expect_error(E + "RouteInUse", net.AddPeer, "branch", opts(Role="site-gateway", SiteNetworks=[NET_B]))
    assert "to-b" in msg, msg
    net.Delete()
    p1 = tprops(a, state["a"])
    for k in ("ListenPort", "PersistentKeepalive", "RemoteNetworks", "Routes"):
        assert p1[k] == p0[k], (k, p0[k], p1[k])
    assert a.wg_dump(IF_A)[0]["listen_port"] == PORT_A
    assert a.sqlite(f"SELECT listen_port FROM tunnels WHERE interface = '{IF_A}'") == str(PORT_A)
    lan_ping(LAN_A, HOST_B)


def test_tunnel_subnet_routed_elsewhere(a, b):
    """A tunnel address brings the route of its prefix: a prefix that another interface of
    the host routes is refused with RouteInUse naming it, at CreateTunnel and when an offer
    is imported (the importer's addresses are the offer's peers). Nothing is created."""
    dummy = f"wtr{PID}"
    a.ns("ip", "link", "add", dummy, "type", "veth", "peer", "name", f"wtq{PID}")
    a.ns("ip", "link", "set", dummy, "up")
    a.ns("ip", "route", "add", "10.94.0.0/24", "dev", dummy)
    tb = None
    try:
        before = snapshot(a)
        msg = expect_error(E + "RouteInUse", a.manager().CreateTunnel, "sub",
                           opts(Interface="wtz13", TunnelAddresses=["10.94.0.1/30"], Activate=False))
        assert "Tunnel subnet '10.94.0.0/30'" in msg and dummy in msg, msg
        # b offers 10.94.0.1/30 (nothing routes it there); a would get 10.94.0.2/30
        tb = str(b.manager().CreateTunnel("sub-b", opts(Interface="wtz14", ListenPort=51963,
                                                        TunnelAddresses=["10.94.0.1/30"], Endpoint=f"{WAN_B}:51963")))
        offer = str(tunnel(b, tb).GetPairing())
        msg = expect_error(E + "RouteInUse", a.manager().ImportPairing, offer, opts(Name="sub", Interface="wtz13"))
        assert "10.94.0.0/30" in msg and dummy in msg, msg
        assert snapshot(a) == before
    finally:
        a.ns("ip", "link", "del", dummy, check=False)
        if tb:
            tunnel(b, tb).Delete()


def test_remote_networks_bounded(a, b):
    """What an offer or a caller names as remote networks cannot take this host's routing: a
    /1 is half of the default route (0.0.0.0/1 + 128.0.0.0/1 take all of it, and the route
    checks saw the default route as nobody's), and a routed prefix holding the remote
    endpoint sends the tunnel's own packets into the tunnel. Refused with InvalidArgs naming
    them, by hand (CreateTunnel, Update) and in an offer or a reply; nothing changes."""
    m = a.manager()
    ta = tunnel(a, state["a"])
    before, p0 = snapshot(a), tprops(a, state["a"])
    routes = (a.ns("ip", "route").stdout, a.ns("ip", "-6", "route").stdout)
    ifn = f"wtg{PID}"
    for o, what in ((opts(Interface=ifn, RemoteNetworks=["0.0.0.0/1", "128.0.0.0/1"]), "'0.0.0.0/1': a /1 is half"),
                    (opts(Interface=ifn, RemoteNetworks=[NET_B, "8000::/1"]), "'8000::/1'"),
                    (opts(Interface=ifn, LocalNetworks=["::/1"]), "local network '::/1'"),
                    (opts(Interface=ifn, RemoteEndpoint="203.0.113.9:51820", RemoteNetworks=["203.0.113.0/24"]),
                     "Remote network '203.0.113.0/24' holds the remote endpoint 203.0.113.9:51820"),
                    (opts(Interface=ifn, RemoteEndpoint="10.255.7.3:51820", TunnelAddresses=["10.255.7.1/30"]),
                     "Tunnel subnet '10.255.7.0/30' holds the remote endpoint 10.255.7.3:51820")):
        msg = expect_error(INVALID, m.CreateTunnel, "bad", o)
        assert what in msg, (what, msg)
    msg = expect_error(INVALID, ta.Update, opts(RemoteNetworks=NETS_B + ["128.0.0.0/1"]))
    assert "'128.0.0.0/1'" in msg, msg
    # the endpoint moved into a network the tunnel routes
    msg = expect_error(INVALID, ta.Update, opts(RemoteEndpoint="10.72.0.9:51902"))
    assert "'10.72.0.0/24' holds the remote endpoint 10.72.0.9:51902" in msg, msg

    def offer(endpoint, networks, addresses=()):
        return make_pairing(1, os.urandom(16), os.urandom(32), endpoint, networks, addresses)

    for text, what in ((offer("192.0.2.1:51820", ["0.0.0.0/1", "128.0.0.0/1"]), "'0.0.0.0/1'"),
                       # (overlaps no network of to-b: before, the tunnel was made and ::/1 routed into it)
                       (offer("[2001:db8::1]:51820", ["::/1"]), "'::/1'"),
                       # four /2s cover all of IPv4 as well: a tunnel's networks are /8 or longer
                       (offer("192.0.2.1:51820", ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"]),
                        "'0.0.0.0/2': wider than /8"),
                       (offer("192.0.2.1:51820", ["192.0.2.0/24"]),
                        "'192.0.2.0/24' holds the remote endpoint 192.0.2.1:51820"),
                       (offer("192.0.2.1:51820", [], ["192.0.2.2/30"]),
                        "'192.0.2.0/30' holds the remote endpoint 192.0.2.1:51820")):
        msg = expect_error(INVALID, m.ImportPairing, text, opts(Name="def1", Interface=ifn))
        assert what in msg, (what, msg)
    # replies to a waiting offer of this host, with its id and preshared key
    t = str(m.CreateTunnel("waiting", opts(Interface=ifn, ListenPort=51966, Activate=False)))
    offer = pairing_body(str(tunnel(a, t).GetPairing()))
    pid, psk = offer[1:17], offer[57:89]
    for text, what in ((make_pairing(2, pid, psk, "192.0.2.1:51820", ["0.0.0.0/1", "128.0.0.0/1"]), "'0.0.0.0/1'"),
                       (make_pairing(2, pid, psk, "192.0.2.1:51820", ["192.0.2.0/24"]),
                        "'192.0.2.0/24' holds the remote endpoint 192.0.2.1:51820")):
        msg = expect_error(INVALID, m.ImportPairing, text, opts())
        assert what in msg, (what, msg)
    assert tprop(a, t, "Pairing") == "offered" and tprop(a, t, "RemoteNetworks") == []
    tunnel(a, t).Delete()
    p1 = tprops(a, state["a"])
    for k in ("RemoteEndpoint", "RemoteNetworks", "Routes"):
        assert p1[k] == p0[k], (k, p0[k], p1[k])
    assert snapshot(a) == before
    assert (a.ns("ip", "route").stdout, a.ns("ip", "-6", "route").stdout) == routes
    lan_ping(LAN_A, HOST_B)


def test_tunnel_addresses_taken(a, b):
    """A tunnel address's prefix is taken, also while its tunnel is inactive: by another
    tunnel's address (AddressInUse, as between networks' subnets) or remote network, a
    network's subnet (AddressInUse) or a peer's site network (RouteInUse), each naming the
    tunnel. Before, a second tunnel with the same /31, or a network over it, was accepted."""
    m = a.manager()
    t = str(m.CreateTunnel("addr1", opts(Interface=f"wth{PID}", TunnelAddresses=["10.255.9.1/31"], Activate=False)))
    before = snapshot(a)
    msg = expect_error(E + "AddressInUse", m.CreateTunnel, "addr2",
                       opts(Interface=f"wti{PID}", TunnelAddresses=["10.255.9.0/31"], Activate=False))
    assert "'10.255.9.0/31' of tunnel 'addr1'" in msg, msg
    msg = expect_error(E + "RouteInUse", m.CreateTunnel, "addr2",
                       opts(Interface=f"wti{PID}", RemoteNetworks=["10.255.9.0/24"], Activate=False))
    assert "Remote network '10.255.9.0/24' overlaps tunnel subnet '10.255.9.0/31' of tunnel 'addr1'" in msg, msg
    msg = expect_error(E + "AddressInUse", m.CreateNetwork, "over-addr",
                       opts(Interface="wtn4", Addresses=["10.255.9.1/24"], Activate=False))
    assert "Subnet '10.255.9.1/24' overlaps tunnel subnet '10.255.9.0/31' of tunnel 'addr1'" in msg, msg
    # an active tunnel's: its /31 route does not cover a /24 either
    msg = expect_error(E + "AddressInUse", m.CreateNetwork, "over-to-b",
                       opts(Interface="wtn4", Addresses=["10.255.0.1/24"], Activate=False))
    assert "tunnel subnet '10.255.0.0/31' of tunnel 'to-b'" in msg, msg
    assert snapshot(a) == before
    n = str(m.CreateNetwork("sites2", opts(Interface="wtn5", Addresses=["10.99.2.1/24"], Activate=False)))
    net = dbus.Interface(a.bus().get_object(BUS, n), "org.wgnet1.Network")
    msg = expect_error(E + "RouteInUse", net.AddPeer, "branch",
                       opts(Role="site-gateway", SiteNetworks=["10.255.9.0/24"]))
    assert "Site network '10.255.9.0/24' overlaps tunnel subnet '10.255.9.0/31' of tunnel 'addr1'" in msg, msg
    # and the other way round: a tunnel address in a network's subnet (was RouteInUse)
    msg = expect_error(E + "AddressInUse", m.CreateTunnel, "addr3",
                       opts(Interface=f"wti{PID}", TunnelAddresses=["10.99.2.5/30"], Activate=False))
    assert "Tunnel subnet '10.99.2.4/30' overlaps subnet '10.99.2.0/24' of network 'sites2'" in msg, msg
    net.Delete()
    tunnel(a, t).Delete()
    # gone with its tunnel
    t = str(m.CreateTunnel("addr2", opts(Interface=f"wti{PID}", TunnelAddresses=["10.255.9.0/31"], Activate=False)))
    tunnel(a, t).Delete()


def test_interface_of_another_kind(a, b):
    """An Interface that exists and is no WireGuard link (a veth here) is refused with
    InterfaceInUse naming it, by CreateTunnel and ImportPairing, as CreateNetwork does
    (before: an inactive tunnel was created that no Activate could bring up)."""
    veth = f"wtk{PID}"
    a.ns("ip", "link", "add", veth, "type", "veth", "peer", "name", f"wtj{PID}")
    try:
        before = snapshot(a)
        msg = expect_error(E + "InterfaceInUse", a.manager().CreateTunnel, "veth", opts(Interface=veth, Activate=False))
        assert f"'{veth}' exists and is not a WireGuard interface" in msg, msg
        offer = make_pairing(1, os.urandom(16), os.urandom(32), "192.0.2.1:51820", ["10.93.0.0/24"])
        msg = expect_error(E + "InterfaceInUse", a.manager().ImportPairing, offer,
                           opts(Name="veth", Interface=veth, Activate=False))
        assert f"'{veth}' exists and is not a WireGuard interface" in msg, msg
        assert snapshot(a) == before
        assert "veth" in a.ns("ip", "-d", "link", "show", veth).stdout
    finally:
        a.ns("ip", "link", "del", veth, check=False)


def test_crash_leftovers_removed(a, b):
    """A crash between the device and the commit leaves nothing behind: CreateTunnel leaves
    no intent file; a start removes the interface of a tunnel the database calls inactive
    (an Activate cut short), but not an interface of that name with another key."""
    m = a.manager()
    ifn = f"wts{PID}"
    t = str(m.CreateTunnel("sleeper", opts(Interface=ifn, ListenPort=51962)))
    assert a.ns("ip", "link", "show", ifn, check=False).returncode == 0
    assert not os.path.exists(os.path.join(a.state, "creating", ifn)), "the intent file stayed"
    a.stop_daemon()
    a.sqlite(f"UPDATE tunnels SET active = 0 WHERE interface = '{ifn}'")   # the commit an Activate did not make
    start(a)
    assert a.ns("ip", "link", "show", ifn, check=False).returncode != 0, "the inactive tunnel's interface stayed"
    with open(a.daemon_log) as f:
        assert "tunnel 'sleeper' is inactive, removing its interface" in f.read()
    assert tprop(a, t, "Active") is False
    # someone else's interface under the inactive tunnel's name stays, also across a start
    a.stop_daemon()
    foreign_wg(a, ifn)
    start(a)
    time.sleep(1.5)     # a tick
    assert a.ns("ip", "link", "show", ifn, check=False).returncode == 0, "a foreign interface was removed"
    a.ns("ip", "link", "del", ifn)
    tunnel(a, t).Delete()
    wait_state(a, state["a"], "up")


def test_old_tunnel_address_no_offer(a, b):
    """A tunnel stored before tunnel addresses were bounded (a /16) gets no new offer: GetPairing
    says why, before it voids the offer handed out."""
    t = str(a.manager().CreateTunnel("legacy", opts(Interface=f"wtl{PID}", ListenPort=51963,
                                                     TunnelAddresses=["10.254.7.1/31"])))
    tunnel(a, t).GetPairing()
    a.stop_daemon()
    a.sqlite(f"UPDATE tunnels SET tunnel_addresses = '10.254.7.1/16' WHERE interface = 'wtl{PID}'")
    start(a)
    before = a.sqlite(f"SELECT hex(pairing_id), pairing_expires FROM tunnels WHERE interface = 'wtl{PID}'")
    msg = expect_error("org.freedesktop.DBus.Error.InvalidArgs", tunnel(a, t).GetPairing)
    assert "10.254.7.1/16" in msg and "Update" in msg, msg
    assert a.sqlite(f"SELECT hex(pairing_id), pairing_expires FROM tunnels WHERE interface = 'wtl{PID}'") == before
    tunnel(a, t).Delete()


def test_reply_commit_fails(a, b):
    """ImportPairing(reply) whose commit fails after the device took the reply (a full
    disk): the waiting tunnel is put back as it was, in memory, database and on the device,
    and wgnetd lives on (before: the undo copied the whole tunnel back, the routes and
    endpoint the apply had freed included, and wgnetd freed them again); the same reply
    completes the tunnel once the disk takes writes."""
    if not SHIM:
        print("     skip: no fail-fsync.so")
        return
    ta = str(a.manager().CreateTunnel("full", opts(Interface=IF_A2, ListenPort=51964, LocalNetworks=["10.76.0.0/24"],
                                                    Endpoint=f"{WAN_A}:51964")))
    offer = str(tunnel(a, ta).GetPairing())
    tb = str(b.manager().ImportPairing(offer, opts(Name="full-b", Interface=f"wtp{PID}", ListenPort=51965,
                                                   LocalNetworks=["10.77.0.0/24"], Endpoint=f"{WAN_B}:51965")))
    reply = str(tunnel(b, tb).GetPairing())
    keys = ("RemotePublicKey", "RemoteEndpoint", "RemoteNetworks", "HasPresharedKey", "Pairing", "Routes", "Active")
    p0, before = tprops(a, ta), snapshot(a)
    with disk_full(a):
        try:
            a.manager().ImportPairing(reply, opts())
            raise AssertionError("ImportPairing succeeded although its commit failed")
        except dbus.DBusException as e:
            assert "No space left" in e.get_dbus_message(), (e.get_dbus_name(), e.get_dbus_message())
        assert a.daemon.poll() is None, "wgnetd died:\n" + a.log_tail()
        time.sleep(1.5)     # a tick on what the undo left
        assert a.daemon.poll() is None, "wgnetd died:\n" + a.log_tail()
        p1 = tprops(a, ta)
        for k in keys:
            assert p1[k] == p0[k], (k, p0[k], p1[k])
        assert a.wg_dump(IF_A2)[1] == {}, "the reply's peer stayed on the device"
        assert a.ns("ip", "route", "show", "10.77.0.0/24").stdout.strip() == ""
    assert snapshot(a) == before
    # not used up: the same reply completes the tunnel now
    assert str(a.manager().ImportPairing(reply, opts())) == ta
    p2 = tprops(a, ta)
    assert p2["RemoteNetworks"] == ["10.77.0.0/24"] and p2["Pairing"] == "none" and p2["Routes"] == ["10.77.0.0/24"]
    wait_state(a, ta, "up")
    tunnel(b, tb).Delete()
    tunnel(a, ta).Delete()


def test_activate_fails(a, b):
    """A failed Activate leaves no live device behind a tunnel marked inactive: a commit that
    fails (a full disk) brings nothing up (before: the device came up first and stayed, the
    tunnel inactive, and the tick ignored it); a device that refuses (its port taken) is
    taken down again; someone's WireGuard interface under the tunnel's name is refused with
    InterfaceInUse before anything is written to it (before: its key was replaced, and the
    next start deleted it as the tunnel's leftover)."""
    m = a.manager()
    ifn = f"wtv{PID}"
    t = str(m.CreateTunnel("act", opts(Interface=ifn, ListenPort=51967, Activate=False)))
    ta = tunnel(a, t)

    def inactive():
        assert tprop(a, t, "Active") is False and tprop(a, t, "State") == "inactive"
        assert a.sqlite(f"SELECT active FROM tunnels WHERE interface = '{ifn}'") == "0"

    def link():
        return a.ns("ip", "link", "show", ifn, check=False).returncode == 0

    if SHIM:
        with disk_full(a):
            try:
                ta.Activate()
                raise AssertionError("Activate succeeded although its commit failed")
            except dbus.DBusException as e:
                assert "No space left" in e.get_dbus_message(), (e.get_dbus_name(), e.get_dbus_message())
            time.sleep(1.5)     # a tick
            assert not link(), "a live device behind an inactive tunnel"
            inactive()
    else:
        print("     skip the failed commit: no fail-fsync.so")
    holder = hold_udp_port(a, 51967)
    try:
        msg = expect_error(E + "DeviceFailed", ta.Activate)
        assert ifn in msg, msg
        assert not link(), "the half-made interface stayed"
        inactive()
        # Someone's WireGuard interface under the tunnel's name: refused before anything is
        # written to it (its key and peers stay), and a restart leaves it too.
        foreign_wg(a, ifn)
        before = a.ns("wg", "show", ifn, "dump").stdout
        msg = expect_error(E + "InterfaceInUse", ta.Activate)
        assert ifn in msg and "another key" in msg, msg
        assert link() and a.ns("wg", "show", ifn, "dump").stdout == before, "the foreign interface was changed"
        inactive()
        restart(a)
        ta = tunnel(a, t)
        assert link(), "the next start deleted the foreign interface"
    finally:
        holder.kill()
        holder.wait()
        a.ns("ip", "link", "del", ifn, check=False)
    ta.Activate()
    assert link() and tprop(a, t, "Active") is True
    ta.Delete()
