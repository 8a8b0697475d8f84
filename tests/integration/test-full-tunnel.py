#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Full-tunnel clients: an imported VPN client config whose peer takes the default route
sends the host's traffic through the tunnel (DefaultRoute, fwmark and policy rules, as
wg-quick does), keeps the LAN on the LAN, and reaches the endpoint over the uplink.

wgnetd runs in the rig's namespace, which is the client here. The VPN server is a namespace
with its own wireguard-go, set up by hand; it is also "the internet" (198.51.100.7), which
the client reaches over its uplink as well, so the address the server sees says which way
a packet went. The server's endpoint (203.0.113.1) is reachable only by the client's
default route: without the fwmark the handshake would be routed into the tunnel itself.

    client (wgnetd)  up0 192.0.2.2/24 --- eth0 192.0.2.1/24  server (wireguard-go wgsrv)
    default via 192.0.2.1                                     lo: 203.0.113.1, 198.51.100.7,
                                                                  2001:db8:77::7
"""

import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wgnet import (BUILD, NETWORK, expect_error, kill_netns_processes, main, opts, require_root_and_tools, run,  # noqa: E402
                   skip, stop_processes, unwrap, wait_for)

E = "org.wgnet1.Error."
INVALID = "org.freedesktop.DBus.Error.InvalidArgs"
INET4, INET6, ENDPOINT = "198.51.100.7", "2001:db8:77::7", "203.0.113.1"
ECHO_PORT = 7777
state = {"procs": []}


def srv(*cmd, check=True):
    return run(["ip", "netns", "exec", state["server"], *cmd], check=check)


def keypair():
    priv = run(["wg", "genkey"]).stdout.strip()
    return priv, run(["wg", "pubkey"], input=priv + "\n").stdout.strip()


def client_config(table=None, peer_allowed="0.0.0.0/0, ::/0", host=2):
    return ("[Interface]\n"
            f"PrivateKey = {state['client_priv']}\n"
            f"Address = 10.66.0.{host}/32, fd66::{host}/128\n"
            "DNS = 10.66.0.1\n"
            + (f"Table = {table}\n" if table else "") +
            "\n[Peer]\n"
            f"PublicKey = {state['server_pub']}\n"
            f"AllowedIPs = {peer_allowed}\n"
            f"Endpoint = {ENDPOINT}:51999\n"
            "PersistentKeepalive = 25\n")


def whoami(family=4):
    """The source address the server's echo service sees from the client (None: no answer)."""
    dst = INET4 if family == 4 else INET6
    code = ("import socket,sys\n"
            f"s=socket.socket(socket.AF_INET{'6' if family == 6 else ''},socket.SOCK_DGRAM);s.settimeout(1)\n"
            "for _ in range(5):\n"
            f"    s.sendto(b'who',(sys.argv[1],{ECHO_PORT}))\n"
            "    try:\n"
            "        print(s.recv(100).decode());break\n"
            "    except socket.timeout:\n"
            "        pass\n")
    r = run(["ip", "netns", "exec", state["rig"].netns, "/usr/bin/python3", "-c", code, dst], check=False)
    return r.stdout.strip() or None


def route_get(rig, addr, *extra):
    r = rig.ns("ip", "route", "get", addr, *extra, check=False)
    m = re.search(r"\bdev (\S+)", r.stdout)
    return (m.group(1) if m else None), r.stdout


def rules(rig, family):
    """The namespace's policy rules of one family, as `ip rule` prints them."""
    return rig.ns("ip", f"-{family}", "rule", "show").stdout


def tunnel_state(rig, ifname, table):
    """What the host holds of the network's full tunnel: fwmark, rules and table routes."""
    dev, _ = rig.wg_dump(ifname)
    mark = 0 if dev["fwmark"] == "off" else int(dev["fwmark"], 0)
    have = {}
    for fam in (4, 6):
        text = rules(rig, fam)
        have[fam] = {
            "suppress": f"32764:\tnot from all fwmark {hex(table)} lookup main suppress_prefixlength 0" in text,
            "table": f"32765:\tnot from all fwmark {hex(table)} lookup {table}" in text,
            "route": ifname in rig.ns("ip", f"-{fam}", "route", "show", "table", str(table), check=False).stdout,
        }
    return mark, have


def all_on(have, fams=(4, 6)):
    return all(have[f]["suppress"] and have[f]["table"] and have[f]["route"] for f in fams)


def none_left(rig, table):
    return all(hex(table) not in rules(rig, f) for f in (4, 6))


def test_topology(rig):
    state["rig"] = rig
    server = state["server"] = f"wgft-{rig.tag}-srv"
    run(["ip", "netns", "add", server])
    srv("ip", "link", "set", "lo", "up")
    run(["ip", "link", "add", "up0", "netns", rig.netns, "type", "veth", "peer", "name", "eth0", "netns", server])
    rig.ns("ip", "addr", "add", "192.0.2.2/24", "dev", "up0")
    srv("ip", "addr", "add", "192.0.2.1/24", "dev", "eth0")
    rig.ns("ip", "link", "set", "up0", "up")
    srv("ip", "link", "set", "eth0", "up")
    rig.ns("ip", "route", "add", "default", "via", "192.0.2.1")
    rig.ns("ip", "addr", "add", "2001:db8:1::2/64", "dev", "up0", "nodad")
    srv("ip", "addr", "add", "2001:db8:1::1/64", "dev", "eth0", "nodad")
    rig.ns("ip", "-6", "route", "add", "default", "via", "2001:db8:1::1")
    for a in (f"{ENDPOINT}/32", f"{INET4}/32", f"{INET6}/128"):
        srv("ip", "addr", "add", a, "dev", "lo")
    # The VPN server: wireguard-go, its peer the client's key and tunnel addresses.
    state["client_priv"], client_pub = keypair()
    server_priv, state["server_pub"] = keypair()
    log = open(os.path.join(rig.dir, "wgsrv.log"), "w")
    state["procs"].append(subprocess.Popen(["ip", "netns", "exec", server, "wireguard-go", "-f", "wgsrv"],
                                           stdout=log, stderr=log, env=dict(os.environ, WG_PROCESS_FOREGROUND="1")))
    wait_for(lambda: srv("wg", "show", "wgsrv", check=False).returncode == 0, what="the server's wireguard-go")
    key = os.path.join(rig.dir, "srv.key")
    with open(key, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(server_priv + "\n")
    srv("wg", "set", "wgsrv", "private-key", key, "listen-port", "51999",
        "peer", client_pub, "allowed-ips", "10.66.0.2/32,fd66::2/128")
    srv("ip", "addr", "add", "10.66.0.1/24", "dev", "wgsrv")
    srv("ip", "addr", "add", "fd66::1/64", "dev", "wgsrv", "nodad")
    srv("ip", "link", "set", "wgsrv", "up")
    # The echo service: answers with the source address it sees (IPv4 and IPv6).
    code = ("import socket,select\n"
            "a=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);a.bind(('0.0.0.0',%d))\n"
            "b=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM);b.setsockopt(41,26,1);b.bind(('::',%d))\n"
            "while True:\n"
            "    for s in select.select([a,b],[],[])[0]:\n"
            "        d,f=s.recvfrom(100)\n"
            "        s.sendto(f[0].encode(),f)\n" % (ECHO_PORT, ECHO_PORT))
    state["procs"].append(subprocess.Popen(["ip", "netns", "exec", server, "/usr/bin/python3", "-c", code]))
    # A strict reverse-path filter, as many distributions set it: the tunnel's replies come
    # in on the uplink and must be checked as the tunnel's packets left (their mark).
    rig.ns("sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=1", "net.ipv4.conf.up0.rp_filter=1")
    rig.start_daemon()
    wait_for(lambda: whoami() == "192.0.2.2", what="the echo service over the uplink")
    assert whoami(6) == "2001:db8:1::2"


def test_import_routes_everything(rig):
    """A client config with AllowedIPs 0.0.0.0/0, ::/0 and no Table: everything goes
    through the tunnel, the LAN stays on the LAN, the endpoint is reached by the uplink."""
    path = unwrap(rig.manager().ImportNetwork("vpn", client_config(), opts(Interface="wgvpn")))
    state["vpn"] = path
    p = rig.props(path, NETWORK)
    assert p["DefaultRoute"] is True and p["RouteTable"] >= 51820, p
    table = state["table"] = p["RouteTable"]
    mark, have = tunnel_state(rig, "wgvpn", table)
    assert mark == table, f"the device marks its packets with the table: {mark} != {table}"
    assert all_on(have), have
    assert route_get(rig, INET4)[0] == "wgvpn"
    assert route_get(rig, INET6)[0] == "wgvpn"
    assert route_get(rig, "192.0.2.1")[0] == "up0", "the LAN's own route wins over the tunnel"
    assert route_get(rig, ENDPOINT, "mark", str(table))[0] == "up0", "the tunnel's packets take the uplink"
    wait_for(lambda: whoami() == "10.66.0.2", timeout=15, what="IPv4 through the tunnel")
    wait_for(lambda: whoami(6) == "fd66::2", timeout=15, what="IPv6 through the tunnel")
    assert rig.ns("sysctl", "-n", "net.ipv4.conf.all.src_valid_mark").stdout.strip() == "1"
    fw = rig.ns("nft", "list", "table", "inet", "wgnet").stdout
    assert f"meta mark 0x{table:08x} ct mark set meta mark" in fw and "meta mark set ct mark" in fw, fw
    assert 'iifname != "wgvpn" ip daddr 10.66.0.2 fib saddr type != local drop' in fw, fw
    assert rig.sqlite("SELECT default_route, route_table FROM networks WHERE name = 'vpn'") == f"1|{table}"


def test_drift_repaired(rig):
    """A rule and the table's route taken away by hand come back within a tick, logged."""
    table = state["table"]
    rig.ns("ip", "-4", "rule", "del", "priority", "32765")
    rig.ns("ip", "-6", "route", "del", "default", "dev", "wgvpn", "table", str(table))
    rig.ns("wg", "set", "wgvpn", "fwmark", "0")
    assert route_get(rig, INET4)[0] == "up0"
    wait_for(lambda: all_on(tunnel_state(rig, "wgvpn", table)[1]) and tunnel_state(rig, "wgvpn", table)[0] == table,
             timeout=5, what="the repair")
    log = open(rig.daemon_log).read()
    assert "IPv4 default route through the tunnel missing, repaired" in log, log[-2000:]
    assert "IPv6 default route through the tunnel missing, repaired" in log
    assert f"fwmark 0 differs, setting {table}" in log
    wait_for(lambda: whoami() == "10.66.0.2", timeout=15, what="IPv4 through the tunnel again")


def test_off_and_on(rig):
    """DefaultRoute false: rules and mark go, the uplink carries the traffic; true again:
    the same table comes back. A disabled peer takes its default route away."""
    net = rig.network(state["vpn"])
    table = state["table"]
    assert f"through the tunnel (table {table})" in wgnetctl(rig, "network", "show", "vpn")
    wgnetctl(rig, "network", "set", "vpn", "--default-route=no")
    assert rig.prop(state["vpn"], NETWORK, "DefaultRoute") is False
    mark, have = tunnel_state(rig, "wgvpn", table)
    assert mark == 0 and none_left(rig, table), (mark, have)
    assert whoami() == "192.0.2.2" and whoami(6) == "2001:db8:1::2"
    net.Update(opts(DefaultRoute=True))
    assert rig.prop(state["vpn"], NETWORK, "RouteTable") == table
    assert all_on(tunnel_state(rig, "wgvpn", table)[1])
    wait_for(lambda: whoami() == "10.66.0.2", timeout=15, what="the tunnel again")
    peer = rig.peer(peer_path(rig))
    peer.Disable()
    assert none_left(rig, table), "no peer with a default route: no rules"
    assert whoami() == "192.0.2.2"
    peer.Enable()
    assert all_on(tunnel_state(rig, "wgvpn", table)[1])
    wait_for(lambda: whoami() == "10.66.0.2", timeout=15, what="the tunnel after Enable")


def wgnetctl(rig, *args):
    return run([os.path.join(BUILD, "client", "wgnetctl"), "--no-pager", *args],
               env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=rig.address)).stdout


def test_one_tunnel_at_a_time(rig):
    """A second VPN config comes in without DefaultRoute (two would send each other's packets
    into themselves), and DefaultRoute on it is refused while the first has it."""
    path = unwrap(rig.manager().ImportNetwork("vpn2", client_config(host=3), opts(Interface="wgvpn2", ListenPort=51998)))
    assert rig.prop(path, NETWORK, "DefaultRoute") is False
    assert "imported without DefaultRoute: network 'vpn' has the default route" in open(rig.daemon_log).read()
    msg = expect_error(E + "RouteInUse", rig.network(path).Update, opts(DefaultRoute=True))
    assert "'vpn'" in msg, msg
    assert rig.prop(path, NETWORK, "DefaultRoute") is False
    rig.network(path).Delete()
    assert all_on(tunnel_state(rig, "wgvpn", state["table"])[1])


def test_foreign_rules_left_alone(rig):
    """With DefaultRoute off, the tick does not take away a rule another program makes with
    the same table (wg-quick chooses an empty table and would take it)."""
    net = rig.network(state["vpn"])
    table = state["table"]
    net.Update(opts(DefaultRoute=False))
    rig.ns("ip", "-4", "rule", "add", "not", "fwmark", str(table), "table", str(table), "priority", "32765")
    time.sleep(2.5)
    assert f"32765:\tnot from all fwmark {hex(table)} lookup {table}" in rules(rig, 4), "a foreign rule was deleted"
    rig.ns("ip", "-4", "rule", "del", "priority", "32765")
    net.Update(opts(DefaultRoute=True))
    assert all_on(tunnel_state(rig, "wgvpn", table)[1])


def peer_path(rig):
    objs = unwrap(rig.bus().get_object("org.wgnet1", "/org/wgnet1").GetManagedObjects(
        dbus_interface="org.freedesktop.DBus.ObjectManager"))
    return next(p for p, i in objs.items() if "org.wgnet1.Peer" in i and i["org.wgnet1.Peer"]["Network"] == state["vpn"])


def test_restart_and_deactivate(rig):
    """A restart keeps it all; Deactivate takes the rules away with the device, Activate and
    a second table for a second network; Delete leaves nothing."""
    table = state["table"]
    rig.restart_daemon()
    assert rig.prop(state["vpn"], NETWORK, "DefaultRoute") is True
    assert all_on(tunnel_state(rig, "wgvpn", table)[1])
    net = rig.network(state["vpn"])
    net.Deactivate()
    assert none_left(rig, table)
    assert whoami() == "192.0.2.2", "the uplink again once the tunnel is down"
    net.Activate()
    assert all_on(tunnel_state(rig, "wgvpn", table)[1])
    rig.stop_daemon(sig=signal.SIGKILL)
    rig.start_daemon()
    assert all_on(tunnel_state(rig, "wgvpn", table)[1]), "after a crash"
    net = rig.network(state["vpn"])
    rig.peer(peer_path(rig)).Remove()
    assert none_left(rig, table), "the peer with the default route went, its rules with it"
    net.Delete()
    assert none_left(rig, table)
    assert whoami() == "192.0.2.2"


def test_table_off_and_options(rig):
    """`Table = off` keeps the default route out, so does DefaultRoute false; a mesh refuses
    it; an adopted interface keeps the mark (and table) wg-quick gave it."""
    path = unwrap(rig.manager().ImportNetwork("off", client_config(table="off"), opts(Interface="wgoff")))
    p = rig.props(path, NETWORK)
    assert p["DefaultRoute"] is False and p["RouteTable"] == 0, p
    assert rig.wg_dump("wgoff")[0]["fwmark"] == "off"
    assert "51820" not in rules(rig, 4) and route_get(rig, INET4)[0] == "up0"
    rig.network(path).Delete()
    # `Table = off` makes no route at all, as wg-quick: PeerRoutes off; on again by Update.
    path = unwrap(rig.manager().ImportNetwork("bgp", client_config(table="off", peer_allowed="10.99.0.0/24"),
                                              opts(Interface="wgbgp")))
    assert rig.prop(path, NETWORK, "PeerRoutes") is False
    assert "\nTable = off\n" in unwrap(rig.network(path).Export()), "exported as it came"
    assert "10.99.0.0/24" in rig.wg_dump("wgbgp")[1][state["server_pub"]]["allowed_ips"]
    assert route_get(rig, "10.99.0.1")[0] == "up0", "no route for the peer's network"
    rig.network(path).Update(opts(PeerRoutes=True))
    assert route_get(rig, "10.99.0.1")[0] == "wgbgp"
    rig.network(path).Update(opts(PeerRoutes=False))
    assert route_get(rig, "10.99.0.1")[0] == "up0", "the route went with PeerRoutes"
    rig.restart_daemon()
    assert route_get(rig, "10.99.0.1")[0] == "up0" and rig.prop(path, NETWORK, "PeerRoutes") is False
    rig.network(path).Delete()
    path = unwrap(rig.manager().ImportNetwork("opt", client_config(), opts(Interface="wgopt", DefaultRoute=False)))
    assert rig.prop(path, NETWORK, "DefaultRoute") is False
    rig.network(path).Delete()
    msg = expect_error(INVALID, rig.manager().CreateNetwork, "m", opts(Mode="mesh", Addresses=["10.90.0.1/24"],
                                                                     DefaultRoute=True))
    assert "DefaultRoute" in msg
    # A running interface with a mark of its own (wg-quick's), adopted by the import.
    rig.ns("ip", "link", "add", "wgado", "type", "wireguard", check=False)
    if rig.ns("ip", "link", "show", "wgado", check=False).returncode != 0:
        log = open(os.path.join(rig.dir, "wgado.log"), "w")
        state["procs"].append(subprocess.Popen(["ip", "netns", "exec", rig.netns, "wireguard-go", "-f", "wgado"],
                                               stdout=log, stderr=log,
                                               env=dict(os.environ, WG_PROCESS_FOREGROUND="1")))
        wait_for(lambda: rig.ns("wg", "show", "wgado", check=False).returncode == 0, what="wgado")
    rig.ns("wg", "set", "wgado", "fwmark", "51888")
    path = unwrap(rig.manager().ImportNetwork("ado", client_config(), opts(Interface="wgado")))
    assert rig.prop(path, NETWORK, "RouteTable") == 51888
    assert all_on(tunnel_state(rig, "wgado", 51888)[1])
    rig.network(path).Delete()
    assert none_left(rig, 51888)


def cleanup(rig):
    stop_processes(state["procs"])
    if "server" in state:
        kill_netns_processes(state["server"])
        run(["ip", "netns", "del", state["server"]], check=False)


def test_cleanup(rig):
    cleanup(rig)
    assert run(["ip", "netns", "pids", state["server"]], check=False).returncode != 0, "the server namespace is gone"


TESTS = [test_topology, test_import_routes_everything, test_drift_repaired, test_off_and_on,
         test_one_tunnel_at_a_time, test_foreign_rules_left_alone, test_restart_and_deactivate, test_table_off_and_options, test_cleanup]

if __name__ == "__main__":
    require_root_and_tools("wireguard-go", "wg", "dbus-daemon", "/usr/lib/polkit-1/polkitd")
    if not os.path.exists("/dev/net/tun"):
        skip("no /dev/net/tun: wireguard-go cannot create its device")
    try:
        main(TESTS, "fullt")
    finally:
        cleanup(None)
