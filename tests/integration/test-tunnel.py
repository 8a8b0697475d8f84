#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Node-to-node tunnels between two hosts, each running its own wgnetd on its own private
system bus (with its own polkitd): two network namespaces joined by a veth pair, a LAN
namespace behind each. The hosts pair with GetPairing/ImportPairing across the two
daemons; the tunnels come up, the LANs ping each other through them, `wg show` agrees on
both sides, Deactivate takes the link away, restarts keep everything, a reused, expired
or malformed pairing is refused and changes nothing. What a tunnel will not take, and
calls that fail half way, are in tunnel_refusals.py; the rig and helpers in tunnel_rig.py."""

import base64
import json
import os
import struct
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tunnel_refusals import (test_activate_fails, test_crash_leftovers_removed,  # noqa: E402
                             test_interface_of_another_kind, test_networks_and_tunnels_share_nothing,
                             test_old_tunnel_address_no_offer, test_refused_takeovers, test_remote_networks_bounded,
                             test_reply_commit_fails, test_tunnel_addresses_taken, test_tunnel_subnet_routed_elsewhere)
from tunnel_rig import (DENIED, E, HOST6_A, HOST6_B, HOST_A, HOST_B, IF_A, IF_A2, IF_B, INVALID, LAN_A,  # noqa: E402
                        LAN_B, NET_A, NET_B, NETS_A, NETS_B, PORT_A, PORT_B, TADDR_A, TADDR_B, TUNNEL, WAN_A, WAN_B,
                        encode_body, lan_ping, managed_tunnels, pairing_body, pairing_id, restart, setup_network,
                        snapshot, start, state, teardown_network, topts, tprop, tprops, tunnel, wait_state)
from wgnet import (BUS, MANAGER, SRC, Rig, expect_error, opts, require_root_and_tools, run,  # noqa: E402
                   wait_for)

import dbus  # noqa: E402


def test_start(a, b):
    start(a)
    start(b)
    want = os.environ.get("WGNET_TEST_BACKEND", "userspace")
    assert a.prop("/org/wgnet1", MANAGER, "Backend") == want
    assert managed_tunnels(a) == [] and managed_tunnels(b) == []
    # Before pairing the LANs cannot reach each other.
    assert not lan_ping(LAN_A, HOST_B, count=1, check=False)


def test_create_tunnel(a, b):
    path = str(a.manager().CreateTunnel("to-b", opts(Interface=IF_A, ListenPort=PORT_A, LocalNetworks=NETS_A,
                                                     TunnelAddresses=TADDR_A, Endpoint=f"{WAN_A}:{PORT_A}")))
    assert path.startswith("/org/wgnet1/tunnel/")
    p = tprops(a, path)
    assert p["Name"] == "to-b" and p["Interface"] == IF_A and p["ListenPort"] == PORT_A
    assert p["LocalNetworks"] == NETS_A and p["RemoteNetworks"] == [] and p["RemotePublicKey"] == ""
    assert p["TunnelAddresses"] == TADDR_A and p["LocalEndpoint"] == f"{WAN_A}:{PORT_A}"
    assert p["Active"] is True and p["State"] == "connecting" and p["Pairing"] == "none"
    assert p["PersistentKeepalive"] == 25 and p["Routes"] == [] and len(p["PublicKey"]) == 44
    dev, peers = a.wg_dump(IF_A)
    assert dev["public_key"] == p["PublicKey"] and dev["listen_port"] == PORT_A and peers == {}
    addrs = a.ns("ip", "-br", "addr", "show", IF_A).stdout
    assert "10.255.0.1/31" in addrs and "fd00:255::1/127" in addrs, addrs
    state["a"] = path
    # bad input: named, nothing created
    before = snapshot(a)
    for o, what in ((opts(Interface=IF_A), "InterfaceInUse"), (opts(Interface="x" * 16), "interface name"),
                    (opts(Interface="wtz0", LocalNetworks=["10.1.0.1/24"]), "10.1.0.1/24"),
                    (opts(Interface="wtz0", TunnelAddresses=["10.255.0.5/24"]), "10.255.0.5/24"),
                    (opts(Interface="wtz0", TunnelAddresses=["0.0.0.1/1"]), "/24 to /31"),
                    (opts(Interface="wtz0", TunnelAddresses=["10.254.0.1/23"]), "/24 to /31"),
                    (opts(Interface="wtz0", TunnelAddresses=["fd00:254::1/63"]), "/24 to /31"),
                    (opts(Interface="wtz0", RemoteEndpoint="host:99999"), "host:99999"),
                    (opts(Interface="wtz0", RemotePublicKey="abc"), "abc"),
                    (opts(Interface="wtz0", ListenPort=PORT_A), "ListenPortInUse"),
                    (opts(Interface="wtz0", LocalNetworks=[NET_A], RemoteNetworks=["10.71.0.0/16"]), "overlaps"),
                    (opts(Interface="wtz0", Bogus="x"), "Bogus")):
        try:
            a.manager().CreateTunnel("bad", o)
            raise AssertionError(f"CreateTunnel accepted {o}")
        except dbus.DBusException as e:
            assert what in e.get_dbus_name() + e.get_dbus_message(), (what, e.get_dbus_message())
    expect_error(E + "TunnelExists", a.manager().CreateTunnel, "to-b", opts(Interface="wtz0"))
    assert snapshot(a) == before


def test_pair(a, b):
    ta = tunnel(a, state["a"])
    offer = str(ta.GetPairing())
    assert offer.startswith("wgnet-pair:1:") and "\n" not in offer and len(offer) < 400
    assert tprop(a, state["a"], "Pairing") == "offered"
    state["offer"] = offer
    # A second GetPairing replaces the offer: only the newest one completes.
    offer = str(ta.GetPairing())
    assert offer != state["offer"] and pairing_id(offer) != pairing_id(state["offer"])
    state["old_offer"], state["offer"] = state["offer"], offer

    path_b = str(b.manager().ImportPairing(offer, opts(Name="to-a", Interface=IF_B, ListenPort=PORT_B,
                                                       LocalNetworks=NETS_B, Endpoint=f"{WAN_B}:{PORT_B}")))
    state["b"] = path_b
    pa, pb = tprops(a, state["a"]), tprops(b, path_b)
    assert pb["Name"] == "to-a" and pb["Interface"] == IF_B and pb["Pairing"] == "imported"
    assert pb["RemotePublicKey"] == pa["PublicKey"] and pb["RemoteEndpoint"] == f"{WAN_A}:{PORT_A}"
    assert pb["RemoteNetworks"] == NETS_A and pb["LocalNetworks"] == NETS_B
    assert pb["TunnelAddresses"] == TADDR_B and pb["HasPresharedKey"] is True
    assert pb["Routes"] == NETS_A
    # A does not know B yet: B's handshakes go unanswered.
    assert pb["State"] == "connecting"

    reply = str(tunnel(b, path_b).GetPairing())
    assert reply.startswith("wgnet-pair:1:") and pairing_id(reply) == pairing_id(offer)
    assert pairing_body(reply)[0] == 2 and pairing_body(offer)[0] == 1
    state["reply"] = reply
    # The reply completes the waiting tunnel instead of creating one.
    assert str(a.manager().ImportPairing(reply, opts())) == state["a"]
    assert managed_tunnels(a) == [state["a"]]
    pa = tprops(a, state["a"])
    assert pa["RemotePublicKey"] == pb["PublicKey"] and pa["RemoteEndpoint"] == f"{WAN_B}:{PORT_B}"
    assert pa["RemoteNetworks"] == NETS_B and pa["Pairing"] == "none" and pa["HasPresharedKey"] is True
    t0 = time.time()
    wait_state(a, state["a"], "up")
    wait_state(b, state["b"], "up")
    print(f"     both tunnels up {time.time() - t0:.1f}s after the reply was imported")


def test_lan_to_lan(a, b):
    lan_ping(LAN_A, HOST_B)
    lan_ping(LAN_B, HOST_A)
    lan_ping(LAN_A, HOST6_B)
    lan_ping(LAN_B, HOST6_A)
    # the hosts themselves through the tunnel addresses
    a.ns("ping", "-c", "1", "-W", "2", "10.255.0.0")
    a.ns("ping", "-c", "1", "-W", "2", "fd00:255::")
    for rig, path, nets, ifn in ((a, state["a"], NETS_B, IF_A), (b, state["b"], NETS_A, IF_B)):
        p = tprops(rig, path)
        assert p["Routes"] == nets, p["Routes"]
        assert p["RxBytes"] > 0 and p["TxBytes"] > 0 and p["LastHandshake"] > 0
        for net in nets:
            routes = rig.ns("ip", "route", "show", net).stdout if ":" not in net else \
                rig.ns("ip", "-6", "route", "show", net).stdout
            assert f"dev {ifn}" in routes, (net, routes)
    assert tprop(a, state["a"], "Endpoint") == f"{WAN_B}:{PORT_B}"
    assert tprop(b, state["b"], "Endpoint") == f"{WAN_A}:{PORT_A}"


def test_wg_show_agrees(a, b):
    dev_a, peers_a = a.wg_dump(IF_A)
    dev_b, peers_b = b.wg_dump(IF_B)
    assert list(peers_a) == [dev_b["public_key"]] and list(peers_b) == [dev_a["public_key"]]
    pa, pb = peers_a[dev_b["public_key"]], peers_b[dev_a["public_key"]]
    assert pa["preshared_key"] and pa["preshared_key"] == pb["preshared_key"]
    assert pa["allowed_ips"] == sorted(NETS_B + ["10.255.0.0/32", "fd00:255::/128"]), pa["allowed_ips"]
    assert pb["allowed_ips"] == sorted(NETS_A + ["10.255.0.1/32", "fd00:255::1/128"]), pb["allowed_ips"]
    assert pa["keepalive"] == 25 and pb["keepalive"] == 25
    assert dev_a["listen_port"] == PORT_A and dev_b["listen_port"] == PORT_B
    assert tprop(a, state["a"], "PublicKey") == dev_a["public_key"]
    assert tprop(a, state["a"], "RemotePublicKey") == dev_b["public_key"]
    # The secret stays sealed in the database.
    assert pa["preshared_key"] not in a.sqlite("SELECT hex(preshared_key) FROM tunnels")
    with open(os.path.join(a.state, "wgnet.db"), "rb") as f:
        assert base64.b64decode(pa["preshared_key"]) not in f.read()


def test_reused_pairing_refused(a, b):
    before_a, before_b = snapshot(a), snapshot(b)
    oid = pairing_id(state["offer"])
    msg = expect_error(E + "PairingUsed", b.manager().ImportPairing, state["offer"],
                       opts(Name="again", Interface="wtz1"))
    assert oid in msg and "already used" in msg, msg
    msg = expect_error(E + "PairingUsed", a.manager().ImportPairing, state["reply"], opts())
    assert oid in msg, msg
    assert snapshot(a) == before_a and snapshot(b) == before_b
    # An offer imported on the host that made it
    offer_old = state["old_offer"]
    msg = expect_error(INVALID, a.manager().ImportPairing, offer_old, opts(Name="self", Interface="wtz2"))
    assert pairing_id(offer_old) in msg and "this host" in msg, msg
    # B already has a tunnel to A: a second offer of the same tunnel is not a second tunnel
    msg = expect_error(E + "TunnelExists", b.manager().ImportPairing, offer_old, opts(Name="dup", Interface="wtz3"))
    assert "to-a" in msg, msg
    assert snapshot(a) == before_a and snapshot(b) == before_b


def test_expired_pairing_refused(a, b):
    path = str(a.manager().CreateTunnel("short", topts(Interface=IF_A2, PairingLifetime=1, Activate=False,
                                                      LocalNetworks=["10.74.0.0/24"])))
    offer = str(tunnel(a, path).GetPairing())
    time.sleep(2.2)
    before = snapshot(b)
    msg = expect_error(E + "PairingExpired", b.manager().ImportPairing, offer, opts(Name="late", Interface="wtz4"))
    assert pairing_id(offer) in msg and "expired at" in msg, msg
    assert snapshot(b) == before
    tunnel(a, path).Delete()
    assert managed_tunnels(a) == [state["a"]]
    # Our offer's own lifetime bounds the reply too: B answers in time (its reply would be
    # good for long), A gets the answer after its offer expired.
    # (2 s: expiry counts in whole seconds, so the import right after GetPairing must have at
    # least one full second on a busy machine)
    path = str(a.manager().CreateTunnel("short2", topts(Interface=IF_A2, PairingLifetime=2, Activate=False,
                                                       LocalNetworks=["10.74.0.0/24"])))
    offer = str(tunnel(a, path).GetPairing())
    path_b = str(b.manager().ImportPairing(offer, opts(Name="late2", Interface="wtz6", LocalNetworks=["10.75.0.0/24"])))
    reply = str(tunnel(b, path_b).GetPairing())
    time.sleep(3.2)
    before = snapshot(a)
    msg = expect_error(E + "PairingExpired", a.manager().ImportPairing, reply, opts())
    assert "short2" in msg, msg
    assert snapshot(a) == before
    tunnel(b, path_b).Delete()
    tunnel(a, path).Delete()
    assert managed_tunnels(a) == [state["a"]]


def test_malformed_pairing_rejected(a, b):
    # A well-formed body to damage, field by field (the layout of lib/pairing.h): one IPv4
    # tunnel address and one IPv4 network last.
    offer = pairing_body(state["offer"])
    ep = b"192.0.2.1:51820"
    base = (b"\x01" + os.urandom(16) + struct.pack(">Q", int(time.time()) + 3600) + offer[25:89] +
            bytes([len(ep)]) + ep + b"\x01\x04\x1f\x0a\xff\x00\x01" + b"\x01\x04\x18\x0a\x47\x00\x00")
    # offsets: kind 0, id 1..16, expires 17..24, key 25..56, psk 57..88, endpoint length 89
    ep_len = base[89]
    after_ep = 90 + ep_len

    # the undamaged base parses (A refuses it only because it carries A's own key)
    msg = expect_error(INVALID, a.manager().ImportPairing, encode_body(base), opts(Name="m", Interface="wtz5"))
    assert "made by tunnel 'to-b' of this host" in msg, msg

    def with_(offset, data, cut=None):
        return base[:offset] + data + base[offset + (len(data) if cut is None else cut):]

    bad = [
        ("", "empty"),
        ("   ", "empty"),
        ("hello", "does not start"),
        ("wgnet-pair:2:AAAA", "version"),
        ("wgnet-pair:1:", "truncated"),
        ("wgnet-pair:1:!!!!", "base64url"),
        ("wgnet-pair:1:" + "A" * 3000, "too long"),
        (state["offer"][:-6], None),
        (state["offer"] + "A", None),
        (state["offer"][:20] + ("B" if state["offer"][20] != "B" else "C") + state["offer"][21:], "checksum"),
        (state["offer"].replace("wgnet-pair:1:", "wgnet-pair:1:+/"), "base64url"),
        (encode_body(base[:-1]), None),
        (encode_body(base + b"\0"), "trailing"),
        (encode_body(with_(0, b"\x03")), "kind"),
        (encode_body(with_(1, b"\0" * 16)), "id is zero"),
        (encode_body(with_(17, b"\0" * 8)), "expiry"),
        (encode_body(with_(25, b"\0" * 32)), "public key is zero"),
        (encode_body(with_(57, b"\0" * 32)), "preshared key is zero"),
        (encode_body(with_(89, b"\x05hello", cut=after_ep - 89)), "endpoint"),
        (encode_body(with_(89, b"\x40" + b"1" * 64, cut=after_ep - 89)), "endpoint"),
        (encode_body(base[:after_ep] + b"\x03" + base[after_ep + 1:]), None),
        (encode_body(base[:after_ep] + b"\x01\x04\x18\x0a\xff\x00\x05" + base[after_ep + 7:]), "point-to-point"),
        (encode_body(base[:after_ep] + b"\x01\x04\x20\x0a\xff\x00\x01" + base[after_ep + 7:]), "point-to-point"),
        (encode_body(base[:after_ep] + b"\x01\x05\x1f\x0a\xff\x00\x01" + base[after_ep + 7:]), "tunnel address"),
        # 0.0.0.1/1: the importer got 0.0.0.2/1 and the kernel routed 0.0.0.0/1 into the tunnel
        (encode_body(base[:after_ep] + b"\x01\x04\x01\x00\x00\x00\x01" + base[after_ep + 7:]), "shorter than /24"),
        (encode_body(base[:after_ep] + b"\x01\x04\x17\x0a\xff\x00\x01" + base[after_ep + 7:]), "shorter than /24"),
        (encode_body(base[:-6] + b"\x04\x18\x0a\x47\x00\x01"), "host bits"),
        (encode_body(base[:-7] + b"\x01\x04\x21\x0a\x47\x00\x00"), "bad network"),
        (encode_body(base[:-7] + b"\x21" + b"\x04\x18\x0a\x47\x00\x00" * 33), "network count"),
        (encode_body(base[:-7] + b"\x02\x04\x18\x0a\x47\x00\x00\x04\x10\x0a\x47\x00\x00"), "overlap"),
        (encode_body(base[:-7] + b"\x01\x06\x18\x0a\x47\x00\x00"), "bad network"),
    ]
    before_a, before_b = snapshot(a), snapshot(b)
    for text, why in bad:
        for rig in (a, b):
            msg = expect_error(INVALID, rig.manager().ImportPairing, text, opts(Name="m", Interface="wtz5"))
            assert msg.startswith("Invalid pairing string: "), msg
            assert why is None or why in msg, (text[:40], why, msg)
            assert pairing_body(state["offer"])[57:89].hex() not in msg
    # Not a pairing problem but a bad option: named too.
    msg = expect_error(INVALID, a.manager().ImportPairing, state["reply"], opts(Name="x"))
    assert "Name" in msg, msg
    assert snapshot(a) == before_a and snapshot(b) == before_b
    print(f"     {len(bad)} malformed pairings refused on both hosts, nothing changed")


def test_unprivileged_denied(a, b):
    path = state["a"]
    # an offer that host A could import
    tmp = str(b.manager().CreateTunnel("tmp", opts(Interface="wtz9", Activate=False)))
    offer = str(tunnel(b, tmp).GetPairing())
    tunnel(b, tmp).Delete()
    before = snapshot(a)
    calls = [
        ("/org/wgnet1", MANAGER, "CreateTunnel", "sa{sv}", "u1", {"Interface": "wtz6"}),
        ("/org/wgnet1", MANAGER, "ImportPairing", "sa{sv}", offer, {"Interface": "wtz7"}),
        (path, TUNNEL, "GetPairing", ""),
        (path, TUNNEL, "Update", "a{sv}", {"Endpoint": "192.0.2.1:1"}),
        (path, TUNNEL, "Activate", ""),
        (path, TUNNEL, "Deactivate", ""),
        (path, TUNNEL, "Delete", ""),
    ]
    for p, iface, method, sig, *args in calls:
        err, _ = a.as_user(p, iface, method, sig, *args)
        assert err in DENIED, f"{method}: {err}"
    assert snapshot(a) == before and tprop(a, path, "Pairing") == "none"
    err, props = a.as_user(path, "org.freedesktop.DBus.Properties", "GetAll", "s", TUNNEL)
    assert err is None and props["State"] == "up" and props["Name"] == "to-b"


def test_update(a, b):
    ta = tunnel(a, state["a"])
    ta.Update(opts(RemoteNetworks=NETS_B + ["10.73.0.0/24"], PersistentKeepalive=15))
    p = tprops(a, state["a"])
    assert p["RemoteNetworks"] == NETS_B + ["10.73.0.0/24"] and p["Routes"] == NETS_B + ["10.73.0.0/24"]
    peer = a.wg_dump(IF_A)[1][p["RemotePublicKey"]]
    assert peer["allowed_ips"] == sorted(NETS_B + ["10.73.0.0/24", "10.255.0.0/32", "fd00:255::/128"])
    assert peer["keepalive"] == 15
    assert f"dev {IF_A}" in a.ns("ip", "route", "show", "10.73.0.0/24").stdout
    expect_error(INVALID, ta.Update, opts(Interface="other"))
    expect_error(INVALID, ta.Update, opts(RemoteNetworks=[NET_A]))
    ta.Update(opts(RemoteNetworks=NETS_B, PersistentKeepalive=25))
    assert tprop(a, state["a"], "Routes") == NETS_B
    assert a.ns("ip", "route", "show", "10.73.0.0/24").stdout.strip() == ""
    assert a.wg_dump(IF_A)[1][p["RemotePublicKey"]]["allowed_ips"] == sorted(NETS_B + ["10.255.0.0/32", "fd00:255::/128"])
    lan_ping(LAN_A, HOST_B)


def test_deactivate_activate(a, b):
    ta = tunnel(a, state["a"])
    ta.Deactivate()
    p = tprops(a, state["a"])
    assert p["State"] == "inactive" and p["Active"] is False and p["Routes"] == []
    assert a.ns("ip", "link", "show", IF_A, check=False).returncode != 0, "link still there"
    assert a.sqlite(f"SELECT active FROM tunnels WHERE interface = '{IF_A}'") == "0"
    assert not lan_ping(LAN_A, HOST_B, count=1, check=False)
    ta.Deactivate()     # idempotent
    ta.Activate()
    assert tprop(a, state["a"], "Active") is True
    wait_state(a, state["a"], "up")
    lan_ping(LAN_A, HOST_B)


def test_state_follows_data_plane(a, b):
    """The other side goes away: the handshake ages past OnlineThreshold and State turns
    "down", with PropertiesChanged; it comes back: "up" again."""
    path = state["a"]
    mon = subprocess.Popen(["dbus-monitor", "--address", a.address,
                            f"type='signal',interface='org.freedesktop.DBus.Properties',path='{path}'"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        time.sleep(0.3)
        tunnel(a, path).Update(topts(OnlineThreshold=3))
        assert tprop(a, path, "OnlineThreshold") == 3
        tunnel(b, state["b"]).Deactivate()
        assert tprop(b, state["b"], "State") == "inactive"
        t0 = time.time()
        wait_state(a, path, "down", timeout=20)
        assert time.time() - a.prop(path, TUNNEL, "LastHandshake") / 1e6 >= 3
        tunnel(b, state["b"]).Activate()
        wait_state(a, path, "up", timeout=20)
        wait_state(b, state["b"], "up", timeout=20)
        print(f"     down {time.time() - t0:.1f}s after the remote left, up again when it came back")
        time.sleep(0.3)
    finally:
        mon.terminate()
        out = mon.communicate(timeout=5)[0]
    tunnel(a, path).Update(topts(OnlineThreshold=180))
    changes = [i for i, line in enumerate(out.splitlines()) if 'string "State"' in line]
    assert len(changes) >= 2, out[-2000:]
    lines = out.splitlines()
    values = [lines[i + 1].strip() for i in changes]
    assert 'variant             string "down"' in values and 'variant             string "up"' in values, values
    lan_ping(LAN_A, HOST_B)


def test_drift_repaired(a, b):
    """The database is the truth: the tick puts back a removed peer, route and address."""
    remote = tprop(a, state["a"], "RemotePublicKey")
    dump = a.wg_dump(IF_A)[1][remote]
    a.ns("wg", "set", IF_A, "peer", remote, "remove")
    a.ns("ip", "route", "del", NET_B, "dev", IF_A)
    a.ns("ip", "addr", "flush", "dev", IF_A)
    wait_for(lambda: remote in a.wg_dump(IF_A)[1], 10, "the peer back")
    wait_for(lambda: f"dev {IF_A}" in a.ns("ip", "route", "show", NET_B).stdout, 10, "the route back")
    wait_for(lambda: "10.255.0.1/31" in a.ns("ip", "-br", "addr", "show", IF_A).stdout, 10, "the address back")
    again = a.wg_dump(IF_A)[1][remote]
    assert again["preshared_key"] == dump["preshared_key"] and again["allowed_ips"] == dump["allowed_ips"]
    assert again["endpoint"] == f"{WAN_B}:{PORT_B}"
    lan_ping(LAN_A, HOST_B)
    with open(a.daemon_log) as f:
        log = f.read()
    assert "remote peer missing, repairing" in log and "adding missing address" in log, log[-1500:]


def test_restart_keeps_tunnel(a, b):
    before = tprops(a, state["a"])
    dump = a.wg_dump(IF_A)
    restart(a)
    after = tprops(a, state["a"])
    for k in ("Name", "Interface", "PublicKey", "RemotePublicKey", "RemoteEndpoint", "LocalNetworks",
              "RemoteNetworks", "TunnelAddresses", "ListenPort", "Active", "Routes"):
        assert after[k] == before[k], (k, before[k], after[k])
    assert after["State"] == "up", after["State"]
    assert a.wg_dump(IF_A)[1].keys() == dump[1].keys()
    lan_ping(LAN_A, HOST_B)
    # The device gone while the daemon is down: the start brings it back.
    a.stop_daemon()
    a.ns("ip", "link", "del", IF_A)
    start(a)
    assert a.wg_dump(IF_A)[0]["public_key"] == before["PublicKey"]
    wait_state(a, state["a"], "up")
    lan_ping(LAN_A, HOST_B)
    restart(b)
    assert tprop(b, state["b"], "State") == "up" and tprop(b, state["b"], "Pairing") == "imported"
    lan_ping(LAN_B, HOST_A)


def test_delete(a, b):
    tunnel(b, state["b"]).Delete()
    assert managed_tunnels(b) == []
    assert b.ns("ip", "link", "show", IF_B, check=False).returncode != 0
    assert b.sqlite("SELECT count(*) FROM tunnels") == "0"
    # the pairing stays used after the tunnel is gone
    expect_error(E + "PairingUsed", b.manager().ImportPairing, state["offer"], opts(Interface="wtz8"))
    tunnel(a, state["a"]).Delete()
    assert managed_tunnels(a) == []
    gone = dbus.Interface(a.bus().get_object(BUS, state["a"], introspect=False), "org.freedesktop.DBus.Properties")
    expect_error("org.freedesktop.DBus.Error.UnknownObject", gone.Get, TUNNEL, "Name")


def wgnetctl(rig, *args, check=True, stdin=None):
    exe = os.path.join(os.environ.get("WGNET_BUILD_ROOT", os.path.join(SRC, "build")), "client", "wgnetctl")
    r = run([exe, "--no-ask-password", *args], check=False, env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=rig.address),
            input=stdin)
    if check and r.returncode != 0:
        raise AssertionError(f"wgnetctl {' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return r


def test_wgnetctl_pairing(a, b):
    """The same exchange with wgnetctl on both hosts, as an admin would type it."""
    r = wgnetctl(a, "tunnel", "create", "cli-b", f"--interface={IF_A}", f"--port={PORT_A}", f"--local-network={NET_A}",
                 f"--endpoint={WAN_A}:{PORT_A}", "--tunnel-address=10.255.1.1/31")
    assert "Created tunnel 'cli-b'" in r.stdout and "wgnetctl tunnel pairing" in r.stdout, r.stdout
    offer = wgnetctl(a, "tunnel", "pairing", "cli-b").stdout.strip()
    assert offer.startswith("wgnet-pair:1:") and "\n" not in offer
    r = wgnetctl(b, "tunnel", "import", offer, "--name=cli-a", f"--interface={IF_B}", f"--port={PORT_B}",
                 f"--local-network={NET_B}", f"--endpoint={WAN_B}:{PORT_B}")
    # the reply on a line of its own, and the hint gives it on stdin (not as an argument)
    assert "Created tunnel 'cli-a'" in r.stdout and "wgnetctl tunnel import -" in r.stdout, r.stdout
    reply = [x for x in r.stdout.splitlines() if x.startswith("wgnet-pair:1:")][0]
    assert pairing_id(reply) == pairing_id(offer)
    r = wgnetctl(a, "tunnel", "import", "-", stdin=reply + "\n")
    assert "is paired" in r.stdout, r.stdout
    r = wgnetctl(a, "tunnel", "import", reply, check=False)
    assert r.returncode == 1 and "already used" in r.stderr and pairing_id(reply) in r.stderr, r.stderr
    r = wgnetctl(b, "tunnel", "import", "wgnet-pair:1:AAAA", check=False)
    assert r.returncode == 1 and "Invalid pairing string" in r.stderr, r.stderr
    r = wgnetctl(b, "tunnel", "show", "nope", check=False)
    assert r.returncode == 1 and "No tunnel 'nope'" in r.stderr, r.stderr

    def state_of(rig, name):
        rows = json.loads(wgnetctl(rig, "--json=short", "tunnel", "list").stdout)
        return {t["Name"]: t for t in rows}[name]["State"]
    wait_for(lambda: state_of(a, "cli-b") == "up" and state_of(b, "cli-a") == "up", 30, "cli tunnels up")
    lan_ping(LAN_A, HOST_B)
    out = wgnetctl(a, "tunnel", "show", "cli-b").stdout
    assert NET_B in out and "Remote networks" in out and "Routes" in out, out
    out = wgnetctl(a, "tunnel", "list").stdout
    assert "cli-b" in out and "1 tunnel listed." in out, out
    wgnetctl(a, "tunnel", "set", "cli-b", "--keepalive=20")
    path = json.loads(wgnetctl(a, "--json=short", "tunnel", "show", "cli-b").stdout)[0]["Path"]
    assert tprop(a, path, "PersistentKeepalive") == 20
    r = wgnetctl(a, "tunnel", "set", "cli-b", check=False)
    assert r.returncode == 2 and "Nothing to change" in r.stderr
    wgnetctl(a, "tunnel", "down", "cli-b")
    assert tprop(a, path, "State") == "inactive"
    wgnetctl(a, "tunnel", "up", "cli-b")
    wait_state(a, path, "up")
    # an unprivileged user is told which polkit action is missing
    err, _ = a.as_user(path, TUNNEL, "GetPairing", "")
    assert err in DENIED
    wgnetctl(a, "tunnel", "delete", "cli-b")
    wgnetctl(b, "tunnel", "delete", "cli-a")
    assert managed_tunnels(a) == [] and managed_tunnels(b) == []


TESTS = [test_start, test_create_tunnel, test_pair, test_lan_to_lan, test_wg_show_agrees, test_reused_pairing_refused,
         test_expired_pairing_refused, test_malformed_pairing_rejected, test_unprivileged_denied, test_update,
         test_deactivate_activate, test_state_follows_data_plane, test_drift_repaired,
         # tunnel_refusals.py
         test_networks_and_tunnels_share_nothing, test_refused_takeovers, test_tunnel_subnet_routed_elsewhere,
         test_remote_networks_bounded, test_tunnel_addresses_taken, test_interface_of_another_kind,
         test_crash_leftovers_removed, test_old_tunnel_address_no_offer, test_reply_commit_fails, test_activate_fails,
         test_restart_keeps_tunnel, test_delete, test_wgnetctl_pairing]


def main():
    require_root_and_tools("wireguard-go", "wg", "dbus-daemon", "/usr/lib/polkit-1/polkitd", "sqlite3", "ping")
    a, b = Rig("tuna"), Rig("tunb")
    failed = 0
    try:
        a.start()
        b.start()
        setup_network(a, b)
        for t in TESTS:
            t0 = time.time()
            try:
                t(a, b)
                print(f"ok   {t.__name__} ({time.time() - t0:.2f}s)", flush=True)
            except Exception:
                failed += 1
                print(f"FAIL {t.__name__}", flush=True)
                traceback.print_exc()
                print("--- host A wgnetd log tail:\n" + a.log_tail(), flush=True)
                print("--- host B wgnetd log tail:\n" + b.log_tail(), flush=True)
                if t in (test_start, test_create_tunnel, test_pair):
                    break
    finally:
        teardown_network()
        try:
            a.stop()
        finally:
            b.stop()    # also when A's wgnetd did not end well: its names would clash with the next run
    print(f"# {len(TESTS) - failed} ok, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
