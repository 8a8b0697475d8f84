#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""wgnetd on a private system bus with the real polkitd, wireguard-go in a network
namespace: every method's happy path checked on the bus, on the device (wg show dump) and
after a restart; bad input changes nothing; polkit guards every change."""

import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wgnet import (MANAGER, NETWORK, PEER, WGNETD, expect_error, main, opts, require_root_and_tools,  # noqa: E402
                   run, unwrap, wait_for)

E = "org.wgnet1.Error."
INVALID = "org.freedesktop.DBus.Error.InvalidArgs"
DENIED = "org.freedesktop.DBus.Error.AccessDenied"

state = {}


def ifname(rig, n):
    return f"wgd{rig.tag[-5:]}{n}"


def config_value(config, key):
    vals = [line.split("=", 1)[1].strip() for line in config.splitlines()
            if "=" in line and not line.lstrip().startswith("#") and line.split("=", 1)[0].strip() == key]
    return vals


def test_start_empty(rig):
    rig.start_daemon()
    m = rig.manager()
    assert unwrap(m.ListNetworks()) == []
    assert rig.prop("/org/wgnet1", MANAGER, "Backend") == "userspace"
    assert rig.prop("/org/wgnet1", MANAGER, "Version")


def test_create_network(rig):
    m = rig.manager()
    ifn = ifname(rig, 0)
    path = unwrap(m.CreateNetwork("office", opts(Interface=ifn, Addresses=["10.71.0.1/24", "fd00:71::1/64"],
                                                  Endpoint="vpn.example.com:51871", ListenPort=51871,
                                                  DNS=["10.71.0.1", "example.internal"], Mode="hub")))
    assert path.startswith("/org/wgnet1/network/")
    state["net"] = path
    state["ifname"] = ifn
    p = rig.props(path, NETWORK)
    assert p["Name"] == "office" and p["Interface"] == ifn and p["Active"] is True
    assert p["Addresses"] == ["10.71.0.1/24", "fd00:71::1/64"]
    assert p["ListenPort"] == 51871 and p["Mode"] == "hub" and p["KeyPolicy"] == "stored"
    assert p["PeerCount"] == 0 and p["OnlineThreshold"] == 180
    dev, peers = rig.wg_dump(ifn)
    assert dev["public_key"] == p["PublicKey"], "the device holds the network's key"
    assert dev["listen_port"] == 51871 and peers == {}
    addrs = rig.ns("ip", "-o", "addr", "show", "dev", ifn).stdout
    assert "10.71.0.1/24" in addrs and "fd00:71::1/64" in addrs
    assert "UP" in rig.ns("ip", "link", "show", ifn).stdout
    assert unwrap(m.GetNetworkByName("office")) == path
    assert unwrap(m.ListNetworks()) == [("office", path)]
    # the private key is stored encrypted: the database never holds it in clear
    assert dev["private_key"] not in rig.sqlite("SELECT hex(private_key) FROM networks") 


def test_create_network_bad_input(rig):
    m = rig.manager()
    before = rig.sqlite("SELECT count(*) FROM networks")
    cases = [
        (INVALID, "bad name!", opts(Addresses=["10.72.0.1/24"])),
        (INVALID, "n1", opts(Addresses=["10.72.0.0/24"])),           # network address, not the server's
        (INVALID, "n1", opts(Addresses=["10.72.0.1"])),              # no prefix
        (INVALID, "n1", opts(Addresses=["10.72.0.1/33"])),
        (INVALID, "n1", opts(Addresses=["::ffff:10.72.0.1/120"])),
        (INVALID, "n1", opts(Addresses=[])),
        (INVALID, "n1", opts(Addresses=["10.72.0.1/24"], Endpoint="foo:99999")),
        (INVALID, "n1", opts(Addresses=["10.72.0.1/24"], Mode="star")),
        (INVALID, "n1", opts(Addresses=["10.72.0.1/24"], DNS=["in valid"])),
        (INVALID, "n1", opts(Addresses=["10.72.0.1/24"], MTU=100)),
        (INVALID, "n1", opts(Addresses=["10.72.0.1/24"], Interface="way-too-long-ifname")),
        (INVALID, "n1", opts(Addresses=["10.72.0.1/24"], Bogus="x")),
        (INVALID, "n1", opts(Addresses=["10.72.0.1/24"], ExtraRoutes=["192.168.1.1/24"])),
        (E + "AddressInUse", "n1", opts(Addresses=["10.71.0.9/16"])),      # overlaps office
        (E + "ListenPortInUse", "n1", opts(Addresses=["10.72.0.1/24"], ListenPort=51871)),
        (E + "NetworkExists", "office", opts(Addresses=["10.72.0.1/24"])),
        (E + "InterfaceInUse", "n1", opts(Addresses=["10.72.0.1/24"], Interface=state["ifname"])),
    ]
    for err, name, o in cases:
        msg = expect_error(err, m.CreateNetwork, name, o)
        assert msg, f"{err} without a message"
    # the messages quote the bad value
    assert "foo:99999" in expect_error(INVALID, m.CreateNetwork, "n1", opts(Addresses=["10.72.0.1/24"], Endpoint="foo:99999"))
    assert rig.sqlite("SELECT count(*) FROM networks") == before
    assert unwrap(m.ListNetworks()) == [("office", state["net"])]

    # A WireGuard interface running without wgnet is refused by CreateNetwork (it would lose
    # its key and peers), and left exactly as it was.
    foreign = f"wgf{rig.tag[-5:]}"
    rig.ns("wireguard-go", foreign)
    try:
        wait_for(lambda: os.path.exists(f"/run/wireguard/{foreign}.sock"), 5, "wireguard-go")
        key = run(["wg", "genkey"]).stdout.strip()
        peer = run(["wg", "pubkey"], input=run(["wg", "genkey"]).stdout).stdout.strip()
        with tempfile.NamedTemporaryFile("w") as f:
            f.write(key + "\n")
            f.flush()
            rig.ns("wg", "set", foreign, "private-key", f.name, "peer", peer, "allowed-ips", "10.99.1.2/32")
        dump = rig.wg_dump(foreign)
        msg = expect_error(E + "InterfaceInUse", m.CreateNetwork, "n1", opts(Addresses=["10.72.0.1/24"], Interface=foreign))
        assert "ImportNetwork" in msg, msg
        assert rig.wg_dump(foreign) == dump
        # ImportNetwork adopts it as it runs (a daemonized wireguard-go, as wg-quick starts
        # it): same process, same key, the peer kept; then it is an ordinary network.
        pid = run(["pgrep", "-f", f"wireguard-go {foreign}$"]).stdout.split()
        text = (f"[Interface]\nPrivateKey = {key}\nAddress = 10.99.1.1/24\nListenPort = {dump[0]['listen_port']}\n\n"
                f"[Peer]\nPublicKey = {peer}\nAllowedIPs = 10.99.1.2/32\n")
        adopted = unwrap(m.ImportNetwork("adopted", text, opts(Interface=foreign)))
        after = rig.wg_dump(foreign)
        assert after[0]["private_key"] == dump[0]["private_key"] and list(after[1]) == [peer], after
        assert run(["pgrep", "-f", f"wireguard-go {foreign}$"]).stdout.split() == pid, "the same wireguard-go"
        # Its binder (the parent that daemonized) is gone: wgnetd never signals that PID,
        # which may belong to another process by now; deleting the link stops it.
        rig.network(adopted).Delete()
        assert run(["pgrep", "-f", f"wireguard-go {foreign}$"], check=False).returncode != 0, "wireguard-go still runs"
        assert not os.path.exists(f"/run/wireguard/{foreign}.sock")
        assert rig.ns("ip", "link", "show", foreign, check=False).returncode != 0
    finally:
        rig.ns("ip", "link", "del", foreign, check=False)


def test_add_peer(rig):
    net = rig.network(state["net"])
    path, config = unwrap(net.AddPeer("phone", opts(Email="a@example.com")))
    state["phone"] = path
    p = rig.props(path, PEER)
    assert p["Name"] == "phone" and p["Email"] == "a@example.com" and p["Network"] == state["net"]
    assert p["Addresses"] == ["10.71.0.2/32", "fd00:71::2/128"], p["Addresses"]
    assert p["AllowedIPs"] == ["10.71.0.2/32", "fd00:71::2/128"]
    assert p["PersistentKeepalive"] == 25 and p["HasPresharedKey"] and p["PrivateKeyStored"] and p["Enabled"]
    assert p["Role"] == "client" and p["Online"] is False
    # the config: the key the daemon generated, the server's key, the subnets (hub mode)
    assert config_value(config, "Address") == ["10.71.0.2/32, fd00:71::2/128"]
    assert config_value(config, "DNS") == ["10.71.0.1, example.internal"]
    assert config_value(config, "PublicKey") == [rig.prop(state["net"], NETWORK, "PublicKey")]
    assert config_value(config, "AllowedIPs") == ["10.71.0.0/24, fd00:71::/64"]
    assert config_value(config, "Endpoint") == ["vpn.example.com:51871"]
    assert config_value(config, "PersistentKeepalive") == ["25"]
    priv = config_value(config, "PrivateKey")[0]
    pub = run(["wg", "pubkey"], input=priv + "\n").stdout.strip()
    assert pub == p["PublicKey"], "the config's private key belongs to the peer"
    dev, peers = rig.wg_dump(state["ifname"])
    assert list(peers) == [p["PublicKey"]]
    wp = peers[p["PublicKey"]]
    assert wp["allowed_ips"] == ["10.71.0.2/32", "fd00:71::2/128"]
    assert wp["preshared_key"] == config_value(config, "PresharedKey")[0]
    # GetConfig gives the same text again
    assert unwrap(rig.peer(path).GetConfig()) == config
    assert rig.prop(state["net"], NETWORK, "PeerCount") == 1
    state["phone_config"] = config


def test_qrcode(rig):
    peer = rig.peer(state["phone"])
    png = unwrap(peer.GetQRCode("png"))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with tempfile.NamedTemporaryFile(suffix=".png") as f:
        f.write(png)
        f.flush()
        r = run(["zbarimg", "--raw", "-q", f.name])
        assert r.stdout.rstrip("\n") == state["phone_config"].rstrip("\n"), "the QR code decodes to the config"
    svg = unwrap(peer.GetQRCode("svg")).decode()
    assert "<svg" in svg and "</svg>" in svg
    text = unwrap(peer.GetQRCode("utf8")).decode()
    assert "\u2588" in text or "\u2580" in text
    expect_error(INVALID, peer.GetQRCode, "gif")


def test_add_peer_explicit_and_conflicts(rig):
    net = rig.network(state["net"])
    path, config = unwrap(net.AddPeer("laptop", opts(Addresses=["10.71.0.50"], PersistentKeepalive=0,
                                                      PresharedKey=False)))
    p = rig.props(path, PEER)
    assert p["Addresses"] == ["10.71.0.50/32"] and p["HasPresharedKey"] is False
    assert config_value(config, "PersistentKeepalive") == []
    assert config_value(config, "PresharedKey") == []
    state["laptop"] = path
    dev_before = rig.wg_dump(state["ifname"])
    db_before = rig.sqlite("SELECT count(*) FROM peers; SELECT count(*) FROM peer_addresses")
    for err, name, o in [
        (E + "AddressInUse", "x", opts(Addresses=["10.71.0.50"])),
        (E + "PeerExists", "laptop", opts()),
        (INVALID, "x", opts(Addresses=["10.99.0.5"])),        # outside the subnet
        (INVALID, "x", opts(Addresses=["10.71.0.1"])),        # the server
        (INVALID, "x", opts(Addresses=["10.71.0.255"])),      # broadcast
        (INVALID, "x", opts(Addresses=["10.71.0.0/24"])),     # not a host
        (INVALID, "x", opts(Addresses=[])),
        (INVALID, "", opts()),
        (INVALID, "a" * 65, opts()),
        (INVALID, "tab\there", opts()),
        (E + "InvalidKey", "x", opts(PublicKey="xxxx")),
        (E + "InvalidKey", "x", opts(PublicKey="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=")),
        (INVALID, "x", opts(Role="boss")),
        (INVALID, "x", opts(SiteNetworks=["192.168.5.0/24"])),    # not a site gateway
        (INVALID, "x", opts(Role="site-gateway", SiteNetworks=["10.71.0.0/25"])),
        (INVALID, "x", opts(Email="not an email")),
        (INVALID, "x", opts(Frobnicate=True)),
    ]:
        expect_error(err, net.AddPeer, name, o)
    assert rig.wg_dump(state["ifname"]) == dev_before, "failed calls change nothing on the device"
    assert rig.sqlite("SELECT count(*) FROM peers; SELECT count(*) FROM peer_addresses") == db_before


def test_own_key_and_site_gateway(rig):
    net = rig.network(state["net"])
    priv = run(["wg", "genkey"]).stdout.strip()
    pub = run(["wg", "pubkey"], input=priv + "\n").stdout.strip()
    path, config = unwrap(net.AddPeer("branch", opts(PublicKey=pub, Role="site-gateway",
                                                      SiteNetworks=["192.168.77.0/24"])))
    p = rig.props(path, PEER)
    assert p["PublicKey"] == pub and p["PrivateKeyStored"] is False
    assert p["AllowedIPs"] == ["10.71.0.3/32", "fd00:71::3/128", "192.168.77.0/24"]
    assert config_value(config, "PrivateKey") == []
    assert "private key is not held" in config
    assert unwrap(rig.peer(path).GetConfig()) == config
    dev, peers = rig.wg_dump(state["ifname"])
    assert peers[pub]["allowed_ips"] == ["10.71.0.3/32", "192.168.77.0/24", "fd00:71::3/128"]
    routes = rig.ns("ip", "route", "show", "192.168.77.0/24").stdout
    assert state["ifname"] in routes, "a route to the site network through the tunnel"
    expect_error(E + "PeerExists", net.AddPeer, "again", opts(PublicKey=pub))
    state["branch"] = path
    # the site networks of one AddPeers are checked in pairs before polkit: at most 4,096
    sites = [f"172.{16 + i // 256}.{i % 256}.0/24" for i in range(4200)]
    msg = expect_error(INVALID, net.AddPeers, [(f"gw{k}", opts(Role="site-gateway", SiteNetworks=sites[k * 210:(k + 1) * 210]))
                                              for k in range(20)])
    assert "Too many site networks in one call" in msg, msg
    # and per peer (256), and addresses per peer (64): both are compared in pairs before polkit
    msg = expect_error(INVALID, net.AddPeer, "gw", opts(Role="site-gateway", SiteNetworks=sites[:257]))
    assert "Too many site networks for one peer: 257" in msg, msg
    msg = expect_error(INVALID, net.AddPeer, "many", opts(Addresses=[f"fd00:71::{i + 100:x}/128" for i in range(65)]))
    assert "Too many addresses for one peer: 65" in msg, msg
    # a site network that another interface routes, or another network's subnet: RouteInUse
    rig.ns("ip", "route", "add", "198.51.100.0/24", "dev", "lo")
    try:
        msg = expect_error(E + "RouteInUse", net.AddPeer, "gw", opts(Role="site-gateway", SiteNetworks=["198.51.100.128/25"]))
        assert "198.51.100.128/25" in msg and "lo" in msg, msg
    finally:
        rig.ns("ip", "route", "del", "198.51.100.0/24", "dev", "lo")
    other = unwrap(rig.manager().CreateNetwork("other", opts(Interface=f"wgo{rig.tag[-5:]}", Addresses=["10.72.0.1/24"],
                                                                ListenPort=51899)))
    msg = expect_error(E + "RouteInUse", net.AddPeer, "gw", opts(Role="site-gateway", SiteNetworks=["10.72.0.128/25"]))
    assert "10.72.0.128/25" in msg and "other" in msg, msg
    unwrap(rig.network(other).Delete())
    # a peer that would be live until the next tick's revocation is refused
    msg = expect_error(INVALID, net.AddPeer, "late", opts(ExpiresAt=int((time.time() - 60) * 1e6)))
    assert "ExpiresAt" in msg and "in the past" in msg, msg
    # a subnet over the site network would hand out its hosts' addresses to clients
    msg = expect_error(INVALID, net.Update, opts(Addresses=["10.71.0.1/24", "fd00:71::1/64", "192.168.0.1/16"]))
    assert "192.168.77.0/24" in msg and "branch" in msg, msg
    assert rig.prop(state["net"], NETWORK, "Addresses") == ["10.71.0.1/24", "fd00:71::1/64"]


def test_bulk_add(rig):
    net = rig.network(state["net"])
    batch = [(f"bulk{i:03d}", opts()) for i in range(200)]
    res = unwrap(net.AddPeers(batch))
    assert len(res) == 200 and all(c.count("PrivateKey") == 1 for _, c in res)
    dev, peers = rig.wg_dump(state["ifname"])
    assert len(peers) == 203
    assert rig.prop(state["net"], NETWORK, "PeerCount") == 203
    # a batch with one bad entry adds nothing
    expect_error(E + "PeerExists", net.AddPeers, [("ok1", opts()), ("bulk000", opts())])
    expect_error(E + "PeerExists", net.AddPeers, [("dup", opts()), ("dup", opts())])
    assert len(rig.wg_dump(state["ifname"])[1]) == 203
    assert rig.sqlite("SELECT count(*) FROM peers") == "203"
    state["bulk"] = [p for p, _ in res]
    # an automatic address of an earlier entry never takes the one a later entry names
    nxt = [a for a in unwrap(net.NextAddresses()) if "." in a][0]
    (auto, _), (explicit, _) = unwrap(net.AddPeers([("autofirst", opts()), ("named", opts(Addresses=[nxt]))]))
    assert rig.prop(explicit, PEER, "Addresses") == [nxt]
    assert nxt not in rig.prop(auto, PEER, "Addresses") and len(rig.prop(auto, PEER, "Addresses")) == 2
    for p in (auto, explicit):
        net.RemovePeer(p)
    assert rig.sqlite("SELECT count(*) FROM peers") == "203"


def test_queued_add_then_conflicting_calls(rig):
    """An AddPeer queued for the group commit, then, before it is committed, a call that
    takes the same key (AddPeers) or name (Peer.Update): the second call sees the first as
    committed and is refused; the first peer stays whole on the device and in the maps."""
    import base64
    import dbus
    from dbus.mainloop.glib import DBusGMainLoop
    from gi.repository import GLib

    bus = dbus.bus.BusConnection(rig.address, mainloop=DBusGMainLoop())
    net = dbus.Interface(bus.get_object("org.wgnet1", state["net"]), NETWORK)
    other_path, _ = unwrap(rig.network(state["net"]).AddPeer("renamed-not", opts()))
    other = dbus.Interface(bus.get_object("org.wgnet1", other_path), PEER)
    replies = {}

    def record(key):
        return (lambda *a: replies.__setitem__(key, ("ok", a)),
                lambda e: replies.__setitem__(key, ("error", e.get_dbus_name())))

    keys = {}
    for i in range(8):
        keys[i] = base64.b64encode(os.urandom(32)).decode()
        ok, err = record(("add", i))
        net.AddPeer(f"qa{i}", opts(PublicKey=keys[i]), reply_handler=ok, error_handler=err)
        ok, err = record(("bulk", i))
        net.AddPeers([(f"qb{i}", opts(PublicKey=keys[i]))], reply_handler=ok, error_handler=err)
        ok, err = record(("name", i))
        net.AddPeer(f"qc{i}", opts(), reply_handler=ok, error_handler=err)
        ok, err = record(("rename", i))
        other.Update(opts(Name=f"qc{i}"), reply_handler=ok, error_handler=err)
    ctx = GLib.MainContext.default()
    def all_replied():
        while ctx.iteration(False):
            pass
        return len(replies) == 32
    wait_for(all_replied, 20, "the 32 replies")
    peers = rig.wg_dump(state["ifname"])[1]
    for i in range(8):
        winners = [k for k in ("add", "bulk") if replies[(k, i)][0] == "ok"]
        assert len(winners) == 1, (i, replies[("add", i)], replies[("bulk", i)])
        loser = "bulk" if winners == ["add"] else "add"
        assert replies[(loser, i)][1] == E + "PeerExists"
        path = replies[(winners[0], i)][1][0] if winners == ["add"] else replies[("bulk", i)][1][0][0][0]
        assert rig.prop(path, PEER, "PublicKey") == keys[i]
        assert peers[keys[i]]["allowed_ips"] == rig.prop(path, PEER, "AllowedIPs")
        assert rig.sqlite(f"SELECT count(*) FROM peers WHERE name IN ('qa{i}', 'qb{i}')") == "1"
        assert replies[("name", i)][0] == "ok"
        assert replies[("rename", i)] == ("error", E + "PeerExists"), replies[("rename", i)]
        # the queued peer keeps its name in the daemon's map: the name is still taken
        expect_error(E + "PeerExists", rig.network(state["net"]).AddPeer, f"qc{i}", opts())
    assert rig.prop(other_path, PEER, "Name") == "renamed-not"
    # gone again, so that the later tests count the peers they expect
    made = [other_path] + [replies[("add", i)][1][0] for i in range(8) if replies[("add", i)][0] == "ok"]
    made += [replies[("bulk", i)][1][0][0][0] for i in range(8) if replies[("bulk", i)][0] == "ok"]
    made += [replies[("name", i)][1][0] for i in range(8)]
    for path in made:
        rig.network(state["net"]).RemovePeer(path)
    assert not any(k in rig.wg_dump(state["ifname"])[1] for k in keys.values())


def test_values_the_config_renderer_refuses(rig):
    """Values are checked when set with the rules the config renderer applies later (a DNS
    entry or endpoint of digits and dots that is no address would break every config), long
    names render whole, and oversized calls are refused while they are read."""
    net = rig.network(state["net"])
    before = rig.props(state["net"], NETWORK)
    for o in (opts(DNS=["10.0.0"]), opts(Endpoint="10.0.0:51820"), opts(DNS=["1.1.1.1"] * 4097)):
        expect_error(INVALID, net.Update, o)
    assert rig.props(state["net"], NETWORK) == before
    name = "\U0001F600" * 64      # 64 characters of 4 bytes each
    path, config = unwrap(net.AddPeer(name, opts()))
    assert name in config and name in unwrap(rig.peer(path).GetConfig())
    n_peers = rig.sqlite("SELECT count(*) FROM peers")
    expect_error(INVALID, net.AddPeers, [("", opts())] * 65537)
    assert rig.sqlite("SELECT count(*) FROM peers") == n_peers
    net.RemovePeer(path)


def test_bulk_add_in_chunks(rig):
    """A bulk larger than one device chunk (256): a failure in a later chunk leaves nothing
    on the device nor in the database; a success puts every peer on the device."""
    ifn = ifname(rig, 4)
    path = unwrap(rig.manager().CreateNetwork("chunks", opts(Interface=ifn, Addresses=["10.75.0.1/23"],
                                                              ListenPort=51875)))
    net = rig.network(path)
    nid = path.rsplit("/", 1)[1]
    # 509 free addresses in the /23: the 510th peer finds the subnet full
    expect_error(E + "SubnetFull", net.AddPeers, [(f"c{i:03d}", opts()) for i in range(600)])
    assert rig.wg_dump(ifn)[1] == {}, "the chunks sent before the failure are taken off the device"
    assert rig.sqlite(f"SELECT count(*) FROM peers WHERE network_id = {nid}") == "0"
    res = unwrap(net.AddPeers([(f"c{i:03d}", opts()) for i in range(300)]))
    assert len(res) == 300
    keys = {rig.prop(p, PEER, "PublicKey") for p, _ in res}
    assert set(rig.wg_dump(ifn)[1]) == keys
    assert rig.prop(path, NETWORK, "PeerCount") == 300
    net.Delete()


def test_update_peer_live(rig):
    peer = rig.peer(state["laptop"])
    pub = rig.prop(state["laptop"], PEER, "PublicKey")
    _, before = rig.wg_dump(state["ifname"])
    peer.Update(opts(Addresses=["10.71.0.240", "fd00:71::240"], Name="laptop2", PersistentKeepalive=15))
    p = rig.props(state["laptop"], PEER)
    assert p["Name"] == "laptop2" and p["Addresses"] == ["10.71.0.240/32", "fd00:71::240/128"]
    assert p["PersistentKeepalive"] == 15
    _, after = rig.wg_dump(state["ifname"])
    assert after[pub]["allowed_ips"] == ["10.71.0.240/32", "fd00:71::240/128"]
    for k in before:
        if k != pub:
            assert before[k] == after[k], "other peers are untouched"
    expect_error(E + "AddressInUse", peer.Update, opts(Addresses=["10.71.0.2"]))
    expect_error(E + "PeerExists", peer.Update, opts(Name="phone"))
    expect_error(INVALID, peer.Update, opts(PublicKey=pub))
    expect_error(INVALID, peer.Update, opts(Addresses=["10.1.2.3"]))
    assert rig.wg_dump(state["ifname"])[1] == after
    # the freed address .50 is reused first
    path, _ = unwrap(rig.network(state["net"]).AddPeer("reuse", opts(Addresses=["auto"])))
    assert rig.prop(path, PEER, "Addresses")[0] == "10.71.0.50/32"
    rig.peer(path).Remove()


def test_disable_enable(rig):
    peer = rig.peer(state["phone"])
    pub = rig.prop(state["phone"], PEER, "PublicKey")
    peer.Disable()
    assert rig.prop(state["phone"], PEER, "Enabled") is False
    assert pub not in rig.wg_dump(state["ifname"])[1], "disabled = off the device"
    assert rig.prop(state["phone"], PEER, "Addresses") == ["10.71.0.2/32", "fd00:71::2/128"]
    expect_error(E + "AddressInUse", rig.network(state["net"]).AddPeer, "steal", opts(Addresses=["10.71.0.2"]))
    peer.Enable()
    assert rig.wg_dump(state["ifname"])[1][pub]["allowed_ips"] == ["10.71.0.2/32", "fd00:71::2/128"]


def test_rotate_psk(rig):
    peer = rig.peer(state["phone"])
    pub = rig.prop(state["phone"], PEER, "PublicKey")
    old = rig.wg_dump(state["ifname"])[1][pub]["preshared_key"]
    config = unwrap(peer.RotateKeys("psk"))
    new = config_value(config, "PresharedKey")[0]
    assert new != old and rig.wg_dump(state["ifname"])[1][pub]["preshared_key"] == new
    expect_error(INVALID, peer.RotateKeys, "everything")


def test_next_addresses_and_stats(rig):
    net = rig.network(state["net"])
    nxt = unwrap(net.NextAddresses())
    assert len(nxt) == 2 and nxt[0].endswith("/32") and nxt[1].endswith("/128")
    stats = unwrap(net.GetStats())
    assert len(stats) == rig.prop(state["net"], NETWORK, "PeerCount")
    assert all(len(s) == 6 for s in stats)


def test_secret_key_bound_to_database(rig):
    """The secret key belongs to the database: a start without it, or with another key,
    is refused with a message naming it, and changes nothing; the right key starts again."""
    key = os.path.join(rig.state, "secret.key")
    good = open(key, "rb").read()
    assert rig.sqlite("SELECT count(*) FROM meta WHERE key = 'key_check'") == "1"
    rig.stop_daemon()
    before = rig.sqlite("SELECT count(*) FROM networks") + "/" + rig.sqlite("SELECT count(*) FROM peers")

    def start_fails(why):
        r = subprocess.run(["ip", "netns", "exec", rig.netns, WGNETD, f"--state-dir={rig.state}", "--config=/dev/null",
                            "--backend=userspace"], capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=rig.address))
        assert r.returncode != 0, f"{why}: wgnetd started"
        return r.stderr

    try:
        os.unlink(key)
        err = start_fails("no key")
        assert "secret.key, which is missing: restore it" in err, err
        assert not os.path.exists(key), "a new key was made for a database sealed with another"
        with open(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            f.write(os.urandom(32))
        err = start_fails("another key")
        assert "does not open this database's keys" in err, err
        # a database from before the check value: its first network's private key decides
        rig.sqlite("DELETE FROM meta WHERE key = 'key_check'")
        err = start_fails("another key, no check value")
        assert "does not open the private key of network" in err, err
    finally:
        with open(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
            f.write(good)
    after = rig.sqlite("SELECT count(*) FROM networks") + "/" + rig.sqlite("SELECT count(*) FROM peers")
    assert after == before
    rig.start_daemon()
    assert rig.prop(state["phone"], PEER, "Name") == "phone"
    assert "PrivateKey" in unwrap(rig.peer(state["phone"]).GetConfig())
    assert rig.sqlite("SELECT count(*) FROM meta WHERE key = 'key_check'") == "1", "the check value made again"


def test_restart_keeps_everything(rig):
    net_props = rig.props(state["net"], NETWORK)
    peer_props = rig.props(state["phone"], PEER)
    dump = rig.wg_dump(state["ifname"])
    rig.restart_daemon()
    assert rig.props(state["net"], NETWORK) == net_props
    p = rig.props(state["phone"], PEER)
    for k in ("Name", "PublicKey", "Addresses", "AllowedIPs", "HasPresharedKey", "PrivateKeyStored", "CreatedAt"):
        assert p[k] == peer_props[k], k
    assert unwrap(rig.peer(state["phone"]).GetConfig()).count("PrivateKey") == 1
    d2 = rig.wg_dump(state["ifname"])
    assert d2[0] == dump[0] and set(d2[1]) == set(dump[1])
    for k, v in dump[1].items():
        assert d2[1][k]["allowed_ips"] == v["allowed_ips"] and d2[1][k]["preshared_key"] == v["preshared_key"]


def test_unfinished_create_removed(rig):
    """A CreateNetwork that crashed between its device and its commit left an interface and
    the intent it wrote first: the next start removes that interface, and keeps one that a
    network owns."""
    stray = f"wgx{rig.tag[-5:]}"
    rig.ns("wireguard-go", stray)                       # daemonized: its binder exits
    wait_for(lambda: os.path.exists(f"/run/wireguard/{stray}.sock"), 5, "wireguard-go")
    creating = os.path.join(rig.state, "creating")
    os.makedirs(creating, exist_ok=True)
    for name in (stray, state["ifname"]):
        open(os.path.join(creating, name), "w").close()
    peers = len(rig.wg_dump(state["ifname"])[1])
    rig.restart_daemon()
    wait_for(lambda: rig.ns("ip", "link", "show", stray, check=False).returncode != 0, 10, "the stray interface removed")
    assert not os.path.exists(f"/run/wireguard/{stray}.sock")
    assert len(rig.wg_dump(state["ifname"])[1]) == peers, "the network's own interface is kept"
    assert os.listdir(creating) == []
    with open(rig.daemon_log) as f:
        assert f"Removed interface {stray}, left by a creation that did not finish" in f.read()


def test_drift_repaired(rig):
    ifn = state["ifname"]
    pub = rig.prop(state["phone"], PEER, "PublicKey")
    stranger = run(["wg", "pubkey"], input=run(["wg", "genkey"]).stdout).stdout.strip()
    rig.ns("wg", "set", ifn, "peer", pub, "remove")
    rig.ns("wg", "set", ifn, "peer", stranger, "allowed-ips", "10.71.0.200/32")
    lap = rig.prop(state["laptop"], PEER, "PublicKey")
    rig.ns("wg", "set", ifn, "peer", lap, "allowed-ips", "10.71.0.201/32")
    wait_for(lambda: pub in rig.wg_dump(ifn)[1] and stranger not in rig.wg_dump(ifn)[1]
             and rig.wg_dump(ifn)[1][lap]["allowed_ips"] == ["10.71.0.240/32", "fd00:71::240/128"],
             timeout=10, what="the tick to repair the device")
    # the interface goes missing: until the tick repairs it, GetStats says so instead of
    # answering with the last figures (a daemon with a slow tick, so that it cannot repair)
    rig.stop_daemon()
    rig.start_daemon("--tick=60")
    rig.ns("ip", "link", "del", ifn)
    time.sleep(0.3)     # older than the read that callers within 250 ms share
    msg = expect_error(E + "DeviceFailed", rig.network(state["net"]).GetStats)
    assert ifn in msg, msg
    rig.stop_daemon()
    rig.start_daemon()
    # and gone while the daemon runs
    rig.ns("ip", "link", "del", ifn)
    wait_for(lambda: rig.ns("wg", "show", ifn, "dump", check=False).returncode == 0
             and len(rig.wg_dump(ifn)[1]) == rig.prop(state["net"], NETWORK, "PeerCount"),
             timeout=15, what="the interface to be recreated")
    assert "10.71.0.1/24" in rig.ns("ip", "-o", "addr", "show", "dev", ifn).stdout
    # an address that is not the network's (left by a failed Update, or added by hand)
    rig.ns("ip", "addr", "add", "10.123.0.1/24", "dev", ifn)
    wait_for(lambda: "10.123.0.1" not in rig.ns("ip", "-o", "addr", "show", "dev", ifn).stdout,
             timeout=10, what="the stray address to be removed")
    assert "10.71.0.1/24" in rig.ns("ip", "-o", "addr", "show", "dev", ifn).stdout
    with open(rig.daemon_log) as f:
        log = f.read()
    assert "removing unknown peer" in log and "interface missing" in log and "not the network's" in log


def test_unprivileged_denied(rig):
    net, peer = state["net"], state["phone"]
    calls = [
        ("/org/wgnet1", MANAGER, "CreateNetwork", "sa{sv}", "x1", {"Addresses": ["10.73.0.1/24"]}),
        (net, NETWORK, "AddPeer", "sa{sv}", "u1", {}),
        (net, NETWORK, "AddPeers", "a(sa{sv})", [["u2", {}]]),
        (net, NETWORK, "RemovePeer", "o", peer),
        (net, NETWORK, "Update", "a{sv}", {"Endpoint": "x.example.com:1"}),
        (net, NETWORK, "Activate", ""),
        (net, NETWORK, "Deactivate", ""),
        (net, NETWORK, "Delete", ""),
        (net, NETWORK, "Export", ""),
        (peer, PEER, "GetConfig", ""),
        (peer, PEER, "GetQRCode", "s", "png"),
        (peer, PEER, "Update", "a{sv}", {"Email": "b@example.com"}),
        (peer, PEER, "Enable", ""),
        (peer, PEER, "Disable", ""),
        (peer, PEER, "RotateKeys", "s", "psk"),
        (peer, PEER, "Remove", ""),
    ]
    dump = rig.wg_dump(state["ifname"])
    for path, iface, method, sig, *args in calls:
        err, _ = rig.as_user(path, iface, method, sig, *args)
        assert err in (DENIED, "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"), f"{method}: {err}"
    assert rig.wg_dump(state["ifname"]) == dump
    # reading needs nothing
    err, props = rig.as_user(peer, "org.freedesktop.DBus.Properties", "GetAll", "s", PEER)
    assert err is None and props["Name"] == "phone"
    err, stats = rig.as_user(net, NETWORK, "GetStats", "")
    assert err is None and len(stats) > 0


def test_polkit_rule_grants_group(rig):
    rig.grant_user()
    try:
        err, res = rig.as_user(state["net"], NETWORK, "AddPeer", "sa{sv}", "granted", {})
        assert err is None, err
        assert res[0].startswith("/org/wgnet1/peer/") and "PrivateKey" in res[1]
        err, cfg = rig.as_user(res[0], PEER, "GetConfig", "")
        assert err is None and cfg == res[1]
        # RotateKeys needs two actions (manage-peers, then read-secrets), asked in turn.
        err, cfg2 = rig.as_user(res[0], PEER, "RotateKeys", "s", "psk")
        assert err is None and "PresharedKey" in cfg2 and cfg2 != cfg
        err, _ = rig.as_user(res[0], PEER, "Remove", "")
        assert err is None
        # The checks that must see queued AddPeer calls run again once polkit has answered
        # (they are not flushed for a caller still waiting): a granted user's AddPeers,
        # Peer.Update and Network.Update are checked against every committed peer.
        err, _ = rig.as_user(state["net"], NETWORK, "AddPeers", "a(sa{sv})", [["phone", {}]])
        assert err == E + "PeerExists", err
        err, added = rig.as_user(state["net"], NETWORK, "AddPeers", "a(sa{sv})", [["granted3", {}], ["granted4", {}]])
        assert err is None and len(added) == 2
        err, _ = rig.as_user(added[0][0], PEER, "Update", "a{sv}", {"Name": "phone"})
        assert err == E + "PeerExists", err
        err, _ = rig.as_user(added[0][0], PEER, "Update", "a{sv}", {"Name": "granted5"})
        assert err is None and rig.prop(added[0][0], PEER, "Name") == "granted5"
        dns = rig.prop(state["net"], NETWORK, "DNS")
        err, _ = rig.as_user(state["net"], NETWORK, "Update", "a{sv}", {"DNS": ["192.0.2.53"]})
        assert err is None and rig.prop(state["net"], NETWORK, "DNS") == ["192.0.2.53"]
        err, _ = rig.as_user(state["net"], NETWORK, "Update", "a{sv}", {"DNS": dns})
        assert err is None and rig.prop(state["net"], NETWORK, "DNS") == dns
        for path in [a[0] for a in added]:
            err, _ = rig.as_user(path, PEER, "Remove", "")
            assert err is None, err
    finally:
        rig.revoke_user()


def test_one_time_network(rig):
    m = rig.manager()
    ifn = ifname(rig, 1)
    path = unwrap(m.CreateNetwork("onetime", opts(Interface=ifn, Addresses=["10.74.0.1/24"], KeyPolicy="one-time",
                                                   ListenPort=51874)))
    net = rig.network(path)
    ppath, config = unwrap(net.AddPeer("guest", opts()))
    assert len(config_value(config, "PrivateKey")) == 1, "the reply carries the only copy"
    assert rig.prop(ppath, PEER, "PrivateKeyStored") is False
    again = unwrap(rig.peer(ppath).GetConfig())
    assert config_value(again, "PrivateKey") == [] and "not held" in again
    assert rig.sqlite(f"SELECT count(*) FROM peers WHERE id = {ppath.rsplit('/', 1)[1]} AND private_key IS NULL") == "1"
    state["onetime"] = path
    state["onetime_if"] = ifn


def test_export_and_import(rig):
    text = unwrap(rig.network(state["net"]).Export())
    assert "PrivateKey" in text and "[Peer]" in text
    ifn = ifname(rig, 2)
    # Import the export under another name: it conflicts with the original (same subnets).
    expect_error(E + "AddressInUse", rig.manager().ImportNetwork, "copy", text, opts(Interface=ifn))
    # A hand-written wg-quick server config
    k = run(["wg", "genkey"]).stdout.strip()
    p1 = run(["wg", "pubkey"], input=run(["wg", "genkey"]).stdout).stdout.strip()
    p2 = run(["wg", "pubkey"], input=run(["wg", "genkey"]).stdout).stdout.strip()
    psk = run(["wg", "genpsk"]).stdout.strip()
    conf = (f"[Interface]\nPrivateKey = {k}\nAddress = 10.75.0.1/24\nListenPort = 51875\n"
            f"PostUp = iptables -A FORWARD -i %i -j ACCEPT\n\n"
            f"[Peer]\n# Name = alice\nPublicKey = {p1}\nPresharedKey = {psk}\nAllowedIPs = 10.75.0.2/32\n\n"
            f"[Peer]\nPublicKey = {p2}\nAllowedIPs = 10.75.0.3/32, 192.168.9.0/24\n")
    path = unwrap(rig.manager().ImportNetwork("imported", conf, opts(Interface=ifn)))
    dev, peers = rig.wg_dump(ifn)
    assert dev["private_key"] == k and dev["listen_port"] == 51875
    assert peers[p1]["preshared_key"] == psk and peers[p1]["allowed_ips"] == ["10.75.0.2/32"]
    assert peers[p2]["allowed_ips"] == ["10.75.0.3/32", "192.168.9.0/24"]
    names = sorted(rig.prop(o, PEER, "Name") for o, *_ in unwrap(rig.network(path).GetStats()))
    assert names == ["alice", "peer2"], names
    # bad configs change nothing
    before = rig.sqlite("SELECT count(*) FROM networks")
    for bad in ["", "[Interface]\nPrivateKey = xxxx\n", "[Peer]\nPublicKey = " + p1 + "\n",
                conf.replace("ListenPort = 51875", "ListenPort = 666666666")]:
        expect_error(E + "InvalidConfig", rig.manager().ImportNetwork, "bad", bad, opts(Interface=ifname(rig, 3)))
    assert rig.sqlite("SELECT count(*) FROM networks") == before
    state["imported"] = path


def test_network_update_and_activation(rig):
    net = rig.network(state["onetime"])
    net.Update(opts(Endpoint="[2001:db8::1]:51874", Mode="gateway", MTU=1380, PeerIsolation=True))
    p = rig.props(state["onetime"], NETWORK)
    assert p["Endpoint"] == "[2001:db8::1]:51874" and p["Mode"] == "gateway" and p["MTU"] == 1380
    assert "mtu 1380" in rig.ns("ip", "link", "show", state["onetime_if"]).stdout
    expect_error(INVALID, net.Update, opts(Interface="other"))
    # a port another program holds: refused, the device keeps its socket and its peers
    port = rig.wg_dump(state["onetime_if"])[0]["listen_port"]
    holder = subprocess.Popen(["ip", "netns", "exec", rig.netns, sys.executable, "-c",
                               "import socket, sys, time\n"
                               "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                               "s.bind(('0.0.0.0', 51990)); print('bound', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "bound"
        msg = expect_error(E + "ListenPortInUse", net.Update, opts(ListenPort=51990))
        assert "another program" in msg, msg
    finally:
        holder.kill()
        holder.wait()
    assert rig.wg_dump(state["onetime_if"])[0]["listen_port"] == port
    assert rig.prop(state["onetime"], NETWORK, "ListenPort") == port
    expect_error(INVALID, net.Update, opts(Addresses=["10.74.0.1/30"]) if False else opts(Mode="mesh?"))
    net.Deactivate()
    assert rig.prop(state["onetime"], NETWORK, "Active") is False
    assert rig.ns("wg", "show", state["onetime_if"], check=False).returncode != 0
    rig.restart_daemon()
    assert rig.ns("wg", "show", state["onetime_if"], check=False).returncode != 0, "stays down after restart"
    net = rig.network(state["onetime"])
    net.Activate()
    assert len(rig.wg_dump(state["onetime_if"])[1]) == 1


def test_failed_save_changes_nothing(rig):
    """A write that cannot be made durable (another writer holds the database) is refused
    and leaves memory, database and device as they were."""
    import sqlite3
    import dbus
    path = state["onetime"]
    before = rig.props(path, NETWORK)
    nexts = unwrap(rig.network(path).NextAddresses())
    row = rig.sqlite(f"SELECT addresses, dns, mtu FROM networks WHERE id = {path.rsplit('/', 1)[1]}")
    link = rig.ns("ip", "link", "show", state["onetime_if"]).stdout
    peer = str(rig.network(path).GetStats()[0][0])
    peer_before = rig.props(peer, PEER)
    lock = sqlite3.connect(os.path.join(rig.state, "wgnet.db"), timeout=0)
    lock.execute("BEGIN IMMEDIATE")
    try:
        for fn, arg in [(rig.network(path).Update, opts(MTU=1300, DNS=["192.0.2.53"], PeerIsolation=False,
                                                          Addresses=[*before["Addresses"], "10.97.0.1/24"])),
                        (rig.peer(peer).Update, opts(Email="x@example.org", RemoteEndpoint="192.0.2.9:1",
                                                     PersistentKeepalive=7))]:
            try:
                fn(arg)
                raise AssertionError("the update succeeded with the database locked")
            except dbus.DBusException as e:
                # a locked database reads as what it is, not as a port in use or a full subnet
                assert e.get_dbus_name() not in (E + "ListenPortInUse", E + "SubnetFull", E + "NetworkExists"), e
                assert "busy" in e.get_dbus_message().lower() or "locked" in e.get_dbus_message().lower(), e
    finally:
        lock.rollback()
        lock.close()
    assert rig.props(path, NETWORK) == before
    assert unwrap(rig.network(path).NextAddresses()) == nexts
    assert rig.props(peer, PEER) == peer_before
    assert rig.sqlite(f"SELECT addresses, dns, mtu FROM networks WHERE id = {path.rsplit('/', 1)[1]}") == row
    assert rig.ns("ip", "link", "show", state["onetime_if"]).stdout.split("mtu")[1].split()[0] == link.split("mtu")[1].split()[0]
    rig.network(path).Update(opts(MTU=1300))
    assert rig.prop(path, NETWORK, "MTU") == 1300


def test_mesh_mode_is_fixed(rig):
    """A mesh's peers come and go through the mesh; no network turns into a mesh or back."""
    m = rig.manager()
    mesh = unwrap(m.CreateNetwork("meshy", opts(Addresses=["10.98.0.1/24"], Mode="mesh", Endpoint="192.0.2.1:51990",
                                                Interface=ifname(rig, 7))))
    before = rig.sqlite("SELECT count(*) FROM peers")
    msg = expect_error(INVALID, rig.network(mesh).AddPeer, "intruder", opts())
    assert "mesh" in msg and "CreateInvitation" in msg, msg
    msg = expect_error(INVALID, rig.network(mesh).Update, opts(Mode="hub"))
    assert "mesh stays a mesh" in msg, msg
    msg = expect_error(INVALID, rig.network(state["net"]).Update, opts(Mode="mesh"))
    assert "JoinMesh" in msg, msg
    key = run(["wg", "genkey"]).stdout.strip()
    msg = expect_error(INVALID, m.ImportNetwork, "meshimp", f"[Interface]\nPrivateKey = {key}\nAddress = 10.97.5.1/24\n",
                       opts(Mode="mesh", Interface=ifname(rig, 8)))
    assert "JoinMesh" in msg, msg
    assert rig.sqlite("SELECT count(*) FROM peers") == before
    assert rig.prop(mesh, NETWORK, "Mode") == "mesh" and rig.prop(state["net"], NETWORK, "Mode") != "mesh"
    rig.network(mesh).Delete()


def test_kill9_then_restart_matches(rig):
    net = rig.network(state["net"])
    for i in range(20):
        net.AddPeer(f"k9-{i}", opts())
    rig.stop_daemon(signal.SIGKILL)
    rig.start_daemon()
    count = int(rig.sqlite(f"SELECT count(*) FROM peers WHERE network_id = {state['net'].rsplit('/', 1)[1]} AND enabled = 1"))
    wait_for(lambda: len(rig.wg_dump(state["ifname"])[1]) == count, what="device = database")
    keys = set(rig.sqlite(f"SELECT public_key FROM peers WHERE network_id = {state['net'].rsplit('/', 1)[1]}").split())
    assert set(rig.wg_dump(state["ifname"])[1]) == keys


def test_remove_and_delete(rig):
    net = rig.network(state["net"])
    pub = rig.prop(state["laptop"], PEER, "PublicKey")
    net.RemovePeer(state["laptop"])
    assert pub not in rig.wg_dump(state["ifname"])[1]
    expect_error("org.freedesktop.DBus.Error.UnknownObject", rig.prop, state["laptop"], PEER, "Name")
    expect_error(E + "NotFound", net.RemovePeer, state["laptop"])
    rig.network(state["imported"]).Delete()
    assert rig.sqlite("SELECT count(*) FROM networks WHERE name = 'imported'") == "0"
    expect_error(E + "NotFound", rig.manager().GetNetworkByName, "imported")
    tree = run(["busctl", f"--address={rig.address}", "tree", "org.wgnet1"]).stdout
    assert state["net"] in tree and state["imported"] not in tree and state["phone"] in tree
    # the newest peer and network removed, then a restart: their ids (object paths, the
    # audit trail's WGNET_PEER_ID) are not given again
    extra = unwrap(rig.manager().CreateNetwork("extra", opts(Interface=f"wgx{rig.tag[-5:]}",
                                                                Addresses=["10.94.0.1/24"], ListenPort=51897)))
    extra_peer, _ = unwrap(rig.network(extra).AddPeer("p", opts()))
    newest, _ = unwrap(net.AddPeer("newest", opts()))     # the highest peer id: only RemovePeer records it
    net.RemovePeer(newest)
    rig.network(extra).Delete()
    rig.restart_daemon()
    again, _ = unwrap(rig.network(state["net"]).AddPeer("again", opts()))
    other = unwrap(rig.manager().CreateNetwork("extra", opts(Interface=f"wgx{rig.tag[-5:]}",
                                                                Addresses=["10.94.0.1/24"], ListenPort=51897)))
    ids = lambda p: int(str(p).rsplit("/", 1)[1])  # noqa: E731
    assert ids(again) > max(ids(newest), ids(extra_peer)), (again, newest, extra_peer)
    assert ids(other) > ids(extra), (other, extra)
    rig.network(other).Delete()


TESTS = [test_start_empty, test_create_network, test_create_network_bad_input, test_add_peer, test_qrcode,
         test_add_peer_explicit_and_conflicts, test_own_key_and_site_gateway, test_bulk_add, test_queued_add_then_conflicting_calls,
         test_values_the_config_renderer_refuses, test_bulk_add_in_chunks,
         test_update_peer_live, test_disable_enable, test_rotate_psk, test_next_addresses_and_stats,
         test_secret_key_bound_to_database, test_restart_keeps_everything,
         test_unfinished_create_removed, test_drift_repaired, test_unprivileged_denied, test_polkit_rule_grants_group, test_one_time_network,
         test_export_and_import, test_network_update_and_activation, test_failed_save_changes_nothing,
         test_mesh_mode_is_fixed, test_kill9_then_restart_matches,
         test_remove_and_delete]

if __name__ == "__main__":
    require_root_and_tools("wireguard-go", "wg", "dbus-daemon", "/usr/lib/polkit-1/polkitd", "zbarimg", "sqlite3")
    main(TESTS, "daemon")
