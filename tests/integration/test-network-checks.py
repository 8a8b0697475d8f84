#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A network against the rest of the host, on the private bus with the real polkitd and
wireguard-go in a namespace: a subnet over another network's site network or over a route
of another interface (RouteInUse), the default listen port skipping one another program
holds, an interface name that is not WireGuard's, an Activate that fails on a device found
in place (left as it was), and an MTU set back to the default on the device."""

import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wgnet import NETWORK, expect_error, main, opts, require_root_and_tools, unwrap, wait_for  # noqa: E402

E = "org.wgnet1.Error."
state = {}


def ifname(rig, prefix):
    return f"{prefix}{rig.tag[-5:]}"


def networks(rig):
    return rig.sqlite("SELECT group_concat(name) FROM (SELECT name FROM networks ORDER BY id)")


def link_mtu(rig, name):
    out = rig.ns("ip", "-o", "link", "show", name).stdout
    return int(out.split(" mtu ")[1].split()[0])


def hold_udp_port(rig, port):
    """A program of the namespace that holds a UDP port (both families, as WireGuard binds)."""
    code = ("import socket, sys, time\n"
            "a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(('0.0.0.0', int(sys.argv[1])))\n"
            "b = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"
            "b.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1); b.bind(('::', int(sys.argv[1])))\n"
            "print('ready', flush=True); time.sleep(600)\n")
    p = subprocess.Popen(["ip", "netns", "exec", rig.netns, "/usr/bin/python3", "-c", code, str(port)],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def test_setup(rig):
    rig.start_daemon()
    state["site"] = unwrap(rig.manager().CreateNetwork("site", opts(Interface=ifname(rig, "wgs"),
                                                                    Addresses=["10.81.0.1/24"])))
    rig.network(state["site"]).AddPeer("branch", opts(Role="site-gateway", SiteNetworks=["192.168.50.0/24"]))
    state["port"] = rig.prop(state["site"], NETWORK, "ListenPort")


def test_ipv6_forwarding_keeps_router_advertisements(rig):
    """The first network that forwards IPv6 (here an IPv4 network with a gateway to an IPv6
    LAN) switches IPv6 forwarding on; an interface that took router
    advertisements from the kernel (accept_ra=1) gets accept_ra=2 first, or the kernel would
    drop its default route and take no more advertisements. One with accept_ra=0 (networkd,
    NetworkManager) is left alone."""
    conf = "/proc/sys/net/ipv6/conf"
    sysctl = lambda name, key: rig.ns("cat", f"{conf}/{name}/{key}").stdout.strip()  # noqa: E731
    assert sysctl("all", "forwarding") == "0", "IPv6 forwarding is off before"
    uplink, managed = ifname(rig, "vr"), ifname(rig, "vm")
    rig.ns("ip", "link", "add", uplink, "type", "veth", "peer", "name", managed)
    try:
        rig.ns("sh", "-c", f"echo 1 > {conf}/{uplink}/accept_ra; echo 0 > {conf}/{managed}/accept_ra")
        lo = sysctl("lo", "accept_ra")
        # an IPv4 network whose site gateway has an IPv6 LAN forwards IPv6 too
        net = unwrap(rig.manager().CreateNetwork("six", opts(Interface=ifname(rig, "wg6"), Addresses=["10.89.0.1/24"],
                                                             Mode="site-to-site")))
        assert sysctl("all", "forwarding") == "0"
        rig.network(net).AddPeer("lan6", opts(Role="site-gateway", SiteNetworks=["fd00:89:1::/64"]))
        wait_for(lambda: sysctl("all", "forwarding") == "1", 5, "IPv6 forwarding for the site's IPv6 LAN")
        assert sysctl(uplink, "accept_ra") == "2" and sysctl(managed, "accept_ra") == "0"
        # not lo, not a WireGuard interface (advertisements through a tunnel are a peer's)
        assert sysctl("lo", "accept_ra") == lo and sysctl(ifname(rig, "wg6"), "accept_ra") != "2"
        with open(rig.daemon_log) as f:
            assert f"{uplink}: accept_ra=2" in f.read()
        rig.network(net).Delete()
    finally:
        rig.ns("ip", "link", "del", uplink)


def test_subnet_over_site_network(rig):
    """A subnet over another network's site network (or inside it) is refused, naming both."""
    before = networks(rig)
    for addr in ("192.168.50.1/24", "192.168.50.129/25", "192.168.0.1/16"):
        msg = expect_error(E + "RouteInUse", rig.manager().CreateNetwork, "over",
                           opts(Interface=ifname(rig, "wgv"), Addresses=[addr]))
        assert addr in msg and "192.168.50.0/24" in msg and "branch" in msg and "site" in msg, msg
    assert networks(rig) == before
    assert ifname(rig, "wgv") not in rig.ns("ip", "-o", "link", "show").stdout


def test_subnet_over_host_route(rig):
    """A route of another interface for the subnet's prefix or a wider one (the LAN the host is
    on) makes CreateNetwork and Update refuse; the network's own routes are not another's,
    nor a default route or a full-tunnel VPN's two /1 routes."""
    rig.ns("ip", "route", "add", "198.51.100.0/24", "dev", "lo")
    try:
        for addr in ("198.51.100.1/24", "198.51.100.129/25"):
            msg = expect_error(E + "RouteInUse", rig.manager().CreateNetwork, "lan",
                               opts(Interface=ifname(rig, "wgl"), Addresses=[addr]))
            assert addr in msg and "through lo" in msg, msg
        site = rig.network(state["site"])
        msg = expect_error(E + "RouteInUse", site.Update, opts(Addresses=["10.81.0.1/24", "198.51.100.1/24"]))
        assert "198.51.100.1/24" in msg and "lo" in msg, msg
        assert rig.prop(state["site"], NETWORK, "Addresses") == ["10.81.0.1/24"]
        # its own subnet's route (on its own interface) is no conflict for an Update
        site.Update(opts(Addresses=["10.81.0.1/24", "fd00:81::1/64"]))
        assert rig.prop(state["site"], NETWORK, "Addresses") == ["10.81.0.1/24", "fd00:81::1/64"]
        # a full-tunnel VPN's pair of /1 routes (OpenVPN's def1, a mesh exit node's) is a
        # default route: no conflict for subnets nor site networks
        for half in ("0.0.0.0/1", "128.0.0.0/1"):
            rig.ns("ip", "route", "add", half, "dev", "lo")
        try:
            net = unwrap(rig.manager().CreateNetwork("behind-vpn", opts(Interface=ifname(rig, "wgh"),
                                                                        Addresses=["10.87.0.1/24"])))
            rig.network(net).AddPeer("gw", opts(Role="site-gateway", SiteNetworks=["192.168.88.0/24"]))
            rig.network(net).Delete()
        finally:
            for half in ("0.0.0.0/1", "128.0.0.0/1"):
                rig.ns("ip", "route", "del", half, "dev", "lo", check=False)
        # a narrower route of another interface inside a new subnet is no conflict either way
        # (the host route wins for its part); the default route never is
        rig.ns("ip", "route", "add", "10.82.0.128/26", "dev", "lo")
        net = unwrap(rig.manager().CreateNetwork("narrow", opts(Interface=ifname(rig, "wgn"),
                                                                Addresses=["10.82.0.1/24"])))
        rig.network(net).Delete()
    finally:
        rig.ns("ip", "route", "del", "198.51.100.0/24", "dev", "lo")
        rig.ns("ip", "route", "del", "10.82.0.128/26", "dev", "lo", check=False)
    assert networks(rig) == "site"


def test_default_port_skips_taken(rig):
    """Without ListenPort a network gets the next port that neither wgnet nor another program
    uses (a wg-quick interface on it failed the device, and an inactive network kept it)."""
    taken = state["port"] + 1
    holder = hold_udp_port(rig, taken)
    try:
        net = unwrap(rig.manager().CreateNetwork("second", opts(Interface=ifname(rig, "wgp"),
                                                                Addresses=["10.83.0.1/24"])))
        port = rig.prop(net, NETWORK, "ListenPort")
        assert port == taken + 1, (port, taken)
        assert rig.prop(net, NETWORK, "Active")
        dev, _ = rig.wg_dump(ifname(rig, "wgp"))
        assert dev["listen_port"] == port
        rig.network(net).Delete()
    finally:
        holder.kill()
        holder.wait()


def test_foreign_link_refused(rig):
    """An interface name that another kind of link has (an Ethernet port, a veth) is refused
    before anything is written: the device could never be made."""
    veth = ifname(rig, "vx")
    rig.ns("ip", "link", "add", veth, "type", "veth", "peer", "name", veth + "p")
    try:
        for activate in (True, False):
            msg = expect_error(E + "InterfaceInUse", rig.manager().CreateNetwork, "eth",
                               opts(Interface=veth, Addresses=["10.84.0.1/24"], Activate=activate))
            assert veth in msg and "not a WireGuard interface" in msg, msg
        assert networks(rig) == "site"
    finally:
        rig.ns("ip", "link", "del", veth)


def test_activate_failure_keeps_device_found(rig):
    """Activate of an inactive network whose interface runs already (wg-quick still has it)
    fails on the device (its port is held): the running interface is left in place, the
    network stays inactive."""
    name = ifname(rig, "wga")
    net = unwrap(rig.manager().CreateNetwork("later", opts(Interface=name, Addresses=["10.85.0.1/24"],
                                                           ListenPort=51990, Activate=False)))
    rig.ns("wireguard-go", name)
    holder = hold_udp_port(rig, 51990)
    try:
        expect_error(E + "DeviceFailed", rig.network(net).Activate)
        assert name in rig.ns("ip", "-o", "link", "show").stdout, "the interface found in place was removed"
        assert os.path.exists(f"/run/wireguard/{name}.sock")
        assert rig.prop(net, NETWORK, "Active") is False
        assert rig.sqlite("SELECT active FROM networks WHERE name = 'later'") == "0"
    finally:
        holder.kill()
        holder.wait()
    # with the port free again, Activate adopts it
    rig.network(net).Activate()
    dev, _ = rig.wg_dump(name)
    assert dev["listen_port"] == 51990
    rig.network(net).Delete()


def test_mtu_back_to_default(rig):
    """MTU 0 (the default) after a set one puts WireGuard's default back on the device."""
    site = rig.network(state["site"])
    name = ifname(rig, "wgs")
    site.Update(opts(MTU=1380))
    assert link_mtu(rig, name) == 1380
    site.Update(opts(MTU=0))
    assert link_mtu(rig, name) == 1420
    assert rig.prop(state["site"], NETWORK, "MTU") == 0
    rig.restart_daemon()
    assert link_mtu(rig, name) == 1420


def test_site_network_queued_for_two_networks(rig):
    """Two AddPeer calls sent at once into two networks with the same site network (queued
    together for one commit): one is added, the other refused with RouteInUse. Before, both
    passed the checks (which see committed peers only) and both were committed."""
    from dbus.mainloop.glib import DBusGMainLoop
    from gi.repository import GLib
    import dbus
    other = unwrap(rig.manager().CreateNetwork("branch", opts(Interface=ifname(rig, "wgq"), Addresses=["10.91.0.1/24"])))
    bus = dbus.bus.BusConnection(rig.address, mainloop=DBusGMainLoop())
    loop, results = GLib.MainLoop(), {}

    def done(key, ok, value):
        results[key] = (ok, value)
        if len(results) == 8:
            loop.quit()
    for k in range(4):
        for path in (state["site"], other):
            net = dbus.Interface(bus.get_object("org.wgnet1", path), NETWORK)
            key = f"{path[-2:]}-{k}"
            net.AddPeer(f"gw{k}", opts(Role="site-gateway", SiteNetworks=[f"192.168.{60 + k}.0/24"]),
                        reply_handler=lambda p, c, key=key: done(key, True, str(p)),
                        error_handler=lambda e, key=key: done(key, False, e.get_dbus_name()))
    GLib.timeout_add(20000, loop.quit)
    loop.run()
    try:
        assert len(results) == 8, results
        for k in range(4):
            pair = [results[f"{p[-2:]}-{k}"] for p in (state["site"], other)]
            assert sorted(ok for ok, _ in pair) == [False, True], pair
            assert [v for ok, v in pair if not ok] == [E + "RouteInUse"], pair
        assert rig.sqlite("SELECT count(*) FROM peers WHERE name LIKE 'gw%'") == "4"
    finally:
        rig.network(other).Delete()
        for ok, path in results.values():
            if ok and path.startswith("/org/wgnet1/peer/"):
                try:
                    rig.peer(path).Remove()
                except dbus.DBusException:
                    pass


def test_add_peers_reply_too_large(rig):
    """AddPeers whose configs would not fit in one reply (dbus-daemon carries 32 MiB a
    message) is refused before the commit, nothing added: before, the peers were committed
    and the caller got no config (a one-time network's keys lost). Here: split mode with
    4,000 extra routes, 64 KiB a config."""
    routes = [f"100.{64 + i // 256}.{i % 256}.0/24" for i in range(4000)]
    net = unwrap(rig.manager().CreateNetwork("wide", opts(Interface=ifname(rig, "wgw"), Addresses=["10.88.0.1/16"],
                                                          Mode="split", ExtraRoutes=routes)))
    try:
        peers = [(f"p{i}", opts()) for i in range(600)]
        msg = expect_error("org.freedesktop.DBus.Error.LimitsExceeded", rig.network(net).AddPeers, peers)
        assert "600 peers" in msg and "smaller calls" in msg, msg
        assert rig.prop(net, NETWORK, "PeerCount") == 0
        assert rig.sqlite("SELECT count(*) FROM peers p JOIN networks n ON p.network_id = n.id "
                          "WHERE n.name = 'wide'") == "0"
        assert rig.wg_dump(ifname(rig, "wgw"))[1] == {}
        added = unwrap(rig.network(net).AddPeers(peers[:100]))
        assert len(added) == 100 and "100.79.159.0/24" in added[0][1]
    finally:
        rig.network(net).Delete()


def test_isolation_not_applied_is_refused(rig):
    """Update PeerIsolation=true while the nftables table cannot be applied: FirewallFailed,
    nothing changed (the property, the database, the table in force); once nft works it
    applies. Other settings change as before."""
    shim = sys.argv[1] if len(sys.argv) > 1 else ""
    if not os.path.exists(shim) or os.environ.get("WGNET_VALGRIND"):
        print("skip isolation refused: " + ("under valgrind" if os.environ.get("WGNET_VALGRIND") else
                                            f"no fail-nft.so (got '{shim}')"))
        return
    flag = os.path.join(rig.dir, "fail-nft")
    rig.stop_daemon()
    rig.start_daemon(env={"LD_PRELOAD": shim, "WGNET_FAIL_NFT": flag})
    site = rig.network(state["site"])
    table = lambda: rig.ns("nft", "list", "table", "inet", "wgnet").stdout  # noqa: E731
    before = table()
    open(flag, "w").close()
    try:
        msg = expect_error(E + "FirewallFailed", site.Update, opts(PeerIsolation=True))
        assert "site" in msg and "nothing changed" in msg, msg
        assert rig.prop(state["site"], NETWORK, "PeerIsolation") is False
        assert rig.sqlite("SELECT peer_isolation FROM networks WHERE name = 'site'") == "0"
        assert table() == before
        site.Update(opts(DNS=["10.81.0.1"]))          # not the firewall's: changes
        assert rig.prop(state["site"], NETWORK, "DNS") == ["10.81.0.1"]
    finally:
        os.unlink(flag)
    site.Update(opts(PeerIsolation=True))
    assert rig.prop(state["site"], NETWORK, "PeerIsolation") is True
    assert table() != before
    site.Update(opts(PeerIsolation=False))
    rig.stop_daemon()
    rig.start_daemon()


TESTS = [test_setup, test_ipv6_forwarding_keeps_router_advertisements, test_subnet_over_site_network, test_subnet_over_host_route, test_default_port_skips_taken,
         test_foreign_link_refused, test_activate_failure_keeps_device_found, test_mtu_back_to_default,
         test_site_network_queued_for_two_networks, test_add_peers_reply_too_large,
         test_isolation_not_applied_is_refused]

if __name__ == "__main__":
    require_root_and_tools("wireguard-go", "wg", "dbus-daemon", "/usr/lib/polkit-1/polkitd", "sqlite3")
    main(TESTS, "netcheck")
