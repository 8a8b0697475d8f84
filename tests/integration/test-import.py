#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""ImportNetwork over the shared corpus of real-world wg-quick configs
(../shared/corpus/wg-quick, read in place; SOURCES.md says which file is what):

- every valid file is accepted, its export is equivalent to it, and brought up it puts on
  the device what `wg-quick up` would (keys, PSKs, AllowedIPs as wg keeps them, endpoints —
  host names resolved —, keepalives);
- every invalid file and every template is refused with InvalidConfig naming the problem,
  and nothing changes (database, interfaces);
- peer names come from the comments where wireguard-ui and others write them, and a
  refusal that quotes a long value still reaches the caller;
- a client-side config survives a restart; its default route goes into the network's own
  table (DefaultRoute), other routes into the main table.

The expected values come from a small wg-quick reader here (the oracle), not from wgnetd."""

import atexit
import base64
import glob
import ipaddress
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wgnet import *  # noqa: E402,F403

CORPUS = os.environ.get("WGNET_CORPUS_DIR", os.path.join(SRC, "..", "shared", "corpus", "wg-quick"))
E = "org.wgnet1.Error."
EXPECT_CLIENT = "wireguard-tools__man-wg-quick-client.conf"


# --- the oracle: what wg-quick and wg make of a file ----------------------------------
def read_conf(text):
    iface = {"addresses": [], "dns": [], "listen_port": None, "mtu": None, "private_key": None}
    peers, cur = {}, None
    order = []
    for raw in text.replace("\r", "\n").split("\n"):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            sec = line.strip("[] \t").lower()
            cur = {} if sec == "peer" else None
            if sec == "peer":
                order.append(cur)
            continue
        key, _, value = line.partition("=")
        key, value = key.strip().lower(), value.strip()
        items = [v.strip() for v in value.split(",") if v.strip()]
        if cur is None:
            if key == "address":
                iface["addresses"] += [str(ipaddress.ip_interface(v)) for v in items]
            elif key == "dns":
                iface["dns"] += items
            elif key == "listenport":
                iface["listen_port"] = int(value)
            elif key == "mtu":
                iface["mtu"] = int(value)
            elif key == "privatekey":
                iface["private_key"] = value
        else:
            if key == "publickey":
                cur["key"] = value
            elif key == "presharedkey":
                cur["psk"] = value
            elif key == "allowedips":
                cur.setdefault("allowed", []).extend(str(ipaddress.ip_network(v, strict=False)) for v in items)
            elif key == "endpoint":
                cur["endpoint"] = value
            elif key == "persistentkeepalive":
                cur["keepalive"] = 0 if value == "off" else int(value)
    # wg merges repeated peers; an allowed IP stays with the last peer that names it.
    for p in order:
        q = peers.setdefault(p["key"], {"psk": None, "allowed": [], "endpoint": None, "keepalive": 0})
        q["psk"] = p.get("psk", q["psk"])
        q["endpoint"] = p.get("endpoint", q["endpoint"])
        q["keepalive"] = p.get("keepalive", q["keepalive"])
        for a in p.get("allowed", []):
            for other in peers.values():
                if a in other["allowed"]:
                    other["allowed"].remove(a)
            q["allowed"].append(a)
    for q in peers.values():
        q["allowed"] = sorted(set(q["allowed"]))
    return iface, peers


def corpus_files():
    """(path, status) for every file SOURCES.md lists: valid, invalid or template."""
    table = open(os.path.join(CORPUS, "SOURCES.md"), encoding="utf-8").read()
    files = []
    for line in table.split("\n"):
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)]
        if len(cells) < 8 or not cells[1].startswith("`"):
            continue
        name, status = cells[1].strip("`"), cells[6]
        kind = "template" if status.startswith("template") else "invalid" if status.startswith("invalid") else "valid"
        files.append((os.path.join(CORPUS, name), kind))
    return files


def endpoint_hosts(files):
    hosts = set()
    for path, kind in files:
        if kind != "valid":
            continue
        for p in read_conf(open(path, encoding="utf-8").read())[1].values():
            ep = p["endpoint"]
            if ep and not ep.startswith("["):
                host = ep.rsplit(":", 1)[0]
                try:
                    ipaddress.ip_address(host)
                except ValueError:
                    hosts.add(host)
    return {h: f"192.0.2.{i + 10}" for i, h in enumerate(sorted(hosts))}


def expected_endpoint(ep, hosts):
    if not ep:
        return "(none)"
    host, port = ep.rsplit(":", 1)
    host = host.strip("[]")
    if host in hosts:
        return f"{hosts[host]}:{port}"
    a = ipaddress.ip_address(host)
    return f"[{a}]:{port}" if a.version == 6 else f"{a}:{port}"


# --- checks ---------------------------------------------------------------------------
def check_export(rig, path, src_text):
    text = str(rig.network(path).Export())
    want_if, want_peers = read_conf(src_text)
    got_if, got_peers = read_conf(text)
    assert got_if["private_key"] == want_if["private_key"]
    assert sorted(got_if["addresses"]) == sorted(set(want_if["addresses"])), (got_if, want_if)
    if want_if["listen_port"] is not None:
        assert got_if["listen_port"] == want_if["listen_port"]
    assert got_if["mtu"] == want_if["mtu"] and got_if["dns"] == want_if["dns"], (got_if, want_if)
    assert got_peers == want_peers, f"export differs:\n{got_peers}\n{want_peers}"


def clamped(key):
    """A private key as the device holds it: X25519-clamped (a config may give it unclamped)."""
    k = bytearray(base64.b64decode(key))
    k[0] &= 248
    k[31] = (k[31] & 127) | 64
    return base64.b64encode(bytes(k)).decode()


def check_device(rig, ifname, src_text, hosts):
    want_if, want_peers = read_conf(src_text)

    def matches():
        dev, peers = rig.wg_dump(ifname)
        assert dev["private_key"] == clamped(want_if["private_key"]), (dev["private_key"], want_if["private_key"])
        if want_if["listen_port"] is not None:
            assert dev["listen_port"] == want_if["listen_port"]
        assert set(peers) == set(want_peers), (set(peers), set(want_peers))
        for k, w in want_peers.items():
            g = peers[k]
            assert g["preshared_key"] == w["psk"] and g["allowed_ips"] == w["allowed"], (g, w)
            assert g["keepalive"] == w["keepalive"], (k, g, w)
            if g["endpoint"] != expected_endpoint(w["endpoint"], hosts):
                return False        # a host name still being resolved
        return True
    wait_for(matches, timeout=10, what=f"{ifname} to hold the imported peers and endpoints")


def peer_paths(rig, net):
    return [str(s[0]) for s in rig.network(net).GetStats()]


def test_client_import_checks(rig):
    """A client config (host addresses only) does not make this host a router, as wg-quick
    would not; a peer with the interface's own key or an all-zero key is refused, as
    AddPeer refuses it; and a generated name never takes a name the file gives."""
    for k in ("net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"):
        rig.ns("sysctl", "-qw", f"{k}=0")
    priv = base64.b64encode(os.urandom(32)).decode()
    own = run(["wg", "pubkey"], input=priv).stdout.strip()
    other = [base64.b64encode(os.urandom(32)).decode() for _ in range(2)]
    client = (f"[Interface]\nPrivateKey = {priv}\nAddress = 10.2.0.2/32, fd00:2::2/128\n\n"
              f"[Peer]\nPublicKey = {other[0]}\nAllowedIPs = 0.0.0.0/0, ::/0\nEndpoint = 192.0.2.7:51820\n")
    net = unwrap(rig.manager().ImportNetwork("client", client, opts(Interface="wgcl0")))
    for k in ("net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"):
        assert rig.ns("sysctl", "-n", k).stdout.strip() == "0", k
    rig.network(net).Delete()
    before = (rig.sqlite("SELECT count(*) FROM networks"), rig.ns("ip", "-o", "link").stdout.count("\n"))
    for bad, why in ((own, "own key"), ("A" * 43 + "=", "all zero")):
        text = (f"[Interface]\nPrivateKey = {priv}\nAddress = 10.3.0.1/24\n\n"
                f"[Peer]\nPublicKey = {bad}\nAllowedIPs = 10.3.0.2/32\n")
        msg = expect_error(E + "InvalidKey", rig.manager().ImportNetwork, "badkey", text, opts(Interface="wgbk0"))
        assert bad in msg, (why, msg)
    assert (rig.sqlite("SELECT count(*) FROM networks"), rig.ns("ip", "-o", "link").stdout.count("\n")) == before
    named = (f"[Interface]\nPrivateKey = {priv}\nAddress = 10.4.0.1/24\n\n"
             f"[Peer]\n# Name = peer2\nPublicKey = {other[0]}\nAllowedIPs = 10.4.0.2/32\n\n"
             f"[Peer]\nPublicKey = {other[1]}\nAllowedIPs = 10.4.0.3/32\n")
    net = unwrap(rig.manager().ImportNetwork("named", named, opts(Interface="wgnm0")))
    names = sorted(rig.prop(p, PEER, "Name") for p in peer_paths(rig, net))
    assert names[0] == "peer2" and len(set(names)) == 2, names
    rig.network(net).Delete()


def test_names_and_messages(rig):
    """A server file in wireguard-ui's layout (each client's '# Name:' block above its
    [Peer] line): every name goes to the peer below it. A name or a hook with a control
    character does not fail the import (the peer gets the default name). An error that
    quotes a long value cut where a character is split still reaches the caller: sd-bus
    sends UTF-8 only, and the call used to wait for a reply that never came."""
    priv = base64.b64encode(os.urandom(32)).decode()
    keys = [run(["wg", "pubkey"], input=base64.b64encode(os.urandom(32)).decode()).stdout.strip() for _ in range(4)]
    text = (f"[Interface]\nAddress = 10.5.0.1/24\nListenPort = 51905\nPrivateKey = {priv}\n"
            "PostUp = echo \x01\nPreDown = \nTable = auto\n\n")
    for i, name in enumerate(("alice", "bob", "carol")):
        text += (f"\n# ID:           c{i}\n# Name:         {name}\n# Email:        \n"
                 f"[Peer]\nPublicKey = {keys[i]}\n\nAllowedIPs = 10.5.0.{i + 2}/32\nPersistentKeepalive = 15\n\n")
    text += f"# Name = esc\x1b[1m\n[Peer]\nPublicKey = {keys[3]}\nAllowedIPs = 10.5.0.9/32\n"
    net = unwrap(rig.manager().ImportNetwork("wgui", text, opts(Interface="wgui0")))
    got = {rig.prop(p, PEER, "PublicKey"): rig.prop(p, PEER, "Name") for p in peer_paths(rig, net)}
    assert got == {keys[0]: "alice", keys[1]: "bob", keys[2]: "carol", keys[3]: "peer4"}, got
    rig.network(net).Delete()

    # wg-easy's own server file (the corpus): "# Client: 321 (its uuid)" names the peer 321.
    text = open(os.path.join(CORPUS, "wg-easy__pr438-data-wg0.conf"), encoding="utf-8").read()
    net = unwrap(rig.manager().ImportNetwork("wgeasy", text, opts(Interface="wgeasy0")))
    assert [rig.prop(p, PEER, "Name") for p in peer_paths(rig, net)] == ["321"]
    rig.network(net).Delete()

    text = f"[Interface]\nPrivateKey = {priv}\nAddress = {'a' * 255}\u00e9\n"
    msg = expect_error(E + "InvalidConfig", rig.manager().ImportNetwork, "long", text, opts(Interface="wglong0"))
    assert msg == f"Invalid config: line 3: invalid Address '{'a' * 255}...'", msg


def test_valid_files_are_imported(rig):
    hosts = endpoint_hosts(corpus_files())
    valid = [(p, k) for p, k in corpus_files() if k == "valid"]
    assert len(valid) == 29, len(valid)
    for i, (path, _) in enumerate(valid):
        text = open(path, encoding="utf-8").read()
        name = os.path.basename(path)
        ifname = f"wgim{i}"
        try:
            net = unwrap(rig.manager().ImportNetwork(f"imp{i}", text, opts(Interface=ifname)))
            check_export(rig, net, text)
            check_device(rig, ifname, text, hosts)
            rig.network(net).Delete()
        except Exception as e:
            raise AssertionError(f"{name}: {e}") from e
    assert rig.sqlite("SELECT count(*) FROM networks") == "0"
    print(f"  {len(valid)} valid files: accepted, exported equal, on the device as wg-quick would have them")


def test_invalid_files_change_nothing(rig):
    bad = [(p, k) for p, k in corpus_files() if k != "valid"]
    assert len(bad) == 30, len(bad)
    rig.manager().CreateNetwork("keep", opts(Addresses=["10.66.0.1/24"], Interface="wgkeep"))
    before = (rig.sqlite("SELECT count(*) FROM networks"), rig.sqlite("SELECT count(*) FROM peers"),
              rig.ns("ip", "-o", "link").stdout.count("\n"))
    for i, (path, kind) in enumerate(bad):
        text = open(path, encoding="utf-8", errors="surrogateescape").read()
        msg = expect_error(E + "InvalidConfig", rig.manager().ImportNetwork, f"bad{i}", text, opts(Interface=f"wgbad{i}"))
        assert re.search(r"line \d+|\[Interface\]", msg), f"{path}: {msg}"
    after = (rig.sqlite("SELECT count(*) FROM networks"), rig.sqlite("SELECT count(*) FROM peers"),
             rig.ns("ip", "-o", "link").stdout.count("\n"))
    assert before == after, (before, after)
    rig.network(unwrap(rig.manager().GetNetworkByName("keep"))).Delete()
    print(f"  {len(bad)} invalid files and templates: refused, nothing changed")


def test_client_config_survives_restart(rig):
    hosts = endpoint_hosts(corpus_files())
    path = os.path.join(CORPUS, EXPECT_CLIENT)
    text = open(path, encoding="utf-8").read()
    net = unwrap(rig.manager().ImportNetwork("laptop", text, opts(Interface="wglaptop")))
    check_device(rig, "wglaptop", text, hosts)
    props = rig.props(peer_paths(rig, net)[0], PEER)
    want = read_conf(text)[1][props["PublicKey"]]
    assert want["allowed"] == ["0.0.0.0/0"], want
    assert props["Role"] == "site-gateway" and props["SiteNetworks"] == ["0.0.0.0/0"], props
    assert props["RemoteEndpoint"] == want["endpoint"] == "demo.wireguard.com:51820", props
    # The default route goes into a table of the network's, with policy rules, as wg-quick
    # does (test-full-tunnel.py): the main table gets none.
    assert rig.ns("ip", "route", "show", "default").stdout.strip() == ""
    assert rig.ns("ip", "-6", "route", "show", "default").stdout.strip() == ""
    table = rig.prop(net, NETWORK, "RouteTable")
    assert rig.prop(net, NETWORK, "DefaultRoute") is True and table >= 51820
    assert f"lookup {table}" in rig.ns("ip", "rule", "show").stdout
    rig.restart_daemon()
    check_device(rig, "wglaptop", text, hosts)
    check_export(rig, net, text)
    rig.network(net).Delete()


def test_site_routes_installed(rig):
    path = os.path.join(CORPUS, "wireguard-docs__lan-bridging-montreal.conf")
    text = open(path, encoding="utf-8").read()
    net = unwrap(rig.manager().ImportNetwork("montreal", text, opts(Interface="wgmtl", ListenPort=dbus.UInt16(51999))))
    routes = rig.ns("ip", "route", "show", "dev", "wgmtl").stdout
    for p in read_conf(text)[1].values():
        for a in p["allowed"]:
            if not a.endswith("/32"):
                assert a in routes, (a, routes)
    rig.network(net).Delete()


def test_remote_endpoint_update(rig):
    key = run(["wg", "genkey"]).stdout.strip()
    peer_key = run(["wg", "pubkey"], input=run(["wg", "genkey"]).stdout).stdout.strip()
    text = f"[Interface]\nPrivateKey = {key}\nAddress = 10.77.0.2/32\n\n[Peer]\nPublicKey = {peer_key}\nAllowedIPs = 10.77.0.0/24\nEndpoint = 192.0.2.7:51820\n"
    net = unwrap(rig.manager().ImportNetwork("upd", text, opts(Interface="wgupd")))
    pp = peer_paths(rig, net)[0]
    assert rig.wg_dump("wgupd")[1][peer_key]["endpoint"] == "192.0.2.7:51820"
    rig.peer(pp).Update(opts(RemoteEndpoint="192.0.2.8:4500"))
    assert rig.wg_dump("wgupd")[1][peer_key]["endpoint"] == "192.0.2.8:4500"
    assert rig.sqlite(f"SELECT remote_endpoint FROM peers WHERE public_key = '{peer_key}'") == "192.0.2.8:4500"
    msg = expect_error("org.freedesktop.DBus.Error.InvalidArgs", rig.peer(pp).Update, opts(RemoteEndpoint="nonsense"))
    assert "nonsense" in msg, msg
    assert rig.prop(pp, PEER, "RemoteEndpoint") == "192.0.2.8:4500"
    # The same through wgnetctl, and a file import through it.
    ctl = os.path.join(BUILD, "client", "wgnetctl")
    run([ctl, "peer", "set", "upd", "peer1", "--remote-endpoint=[2001:db8::7]:51820"])
    shown = json.loads(run([ctl, "--json", "peer", "show", "upd", "peer1"]).stdout)
    assert shown["RemoteEndpoint"] == "[2001:db8::7]:51820", shown
    assert rig.wg_dump("wgupd")[1][peer_key]["endpoint"] == "[2001:db8::7]:51820"
    rig.network(net).Delete()
    path = os.path.join(CORPUS, "wgcf__generated-profile.conf")
    run([ctl, "network", "import", "warp", path, "--interface=wgwarp"])
    check_export(rig, unwrap(rig.manager().GetNetworkByName("warp")), open(path, encoding="utf-8").read())
    run([ctl, "network", "delete", "warp"])


def test_site_network_inside_subnet(rig):
    """An imported site gateway whose LAN lies inside the network's subnet: AddPeer auto and
    NextAddresses never hand out its addresses (they would take its traffic), also after a
    restart; once the gateway is removed they are free again."""
    key = run(["wg", "genkey"]).stdout.strip()
    gw = run(["wg", "pubkey"], input=run(["wg", "genkey"]).stdout).stdout.strip()
    text = (f"[Interface]\nPrivateKey = {key}\nAddress = 10.66.0.1/24\nListenPort = 51966\n\n"
            f"[Peer]\nPublicKey = {gw}\nAllowedIPs = 10.66.0.0/28, 10.66.0.16/29\n")
    net = unwrap(rig.manager().ImportNetwork("holes", text, opts(Interface="wgholes")))
    gw_path = peer_paths(rig, net)[0]
    assert rig.prop(gw_path, PEER, "SiteNetworks") == ["10.66.0.0/28", "10.66.0.16/29"]
    assert unwrap(rig.network(net).NextAddresses()) == ["10.66.0.24/32"]
    p = unwrap(rig.network(net).AddPeer("phone", opts(Addresses=["auto"])))[0]
    assert rig.prop(p, PEER, "Addresses") == ["10.66.0.24/32"]
    # an explicit address inside the gateway's LAN is refused too
    msg = expect_error(E + "AddressInUse", rig.network(net).AddPeer, "lan", opts(Addresses=["10.66.0.5/32"]))
    assert "10.66.0.5" in msg and "10.66.0.0/28" in msg, msg
    rig.restart_daemon()
    p = unwrap(rig.network(net).AddPeer("laptop", opts(Addresses=["auto"])))[0]
    assert rig.prop(p, PEER, "Addresses") == ["10.66.0.25/32"]
    rig.peer(gw_path).Remove()
    assert unwrap(rig.network(net).NextAddresses()) == ["10.66.0.2/32"]
    rig.network(net).Delete()


def test_start(rig):
    # Endpoint host names resolve inside the daemon's namespace (ip netns exec binds
    # /etc/netns/NS/hosts over /etc/hosts); this machine has no DNS.
    etc = f"/etc/netns/{rig.netns}"
    os.makedirs(etc, exist_ok=True)
    atexit.register(shutil.rmtree, etc, True)
    with open(os.path.join(etc, "hosts"), "w") as f:
        f.write("127.0.0.1 localhost\n" + "".join(f"{ip} {h}\n" for h, ip in endpoint_hosts(corpus_files()).items()))
    rig.start_daemon()


if __name__ == "__main__":
    if not os.path.isdir(CORPUS):
        skip(f"the corpus is not at {CORPUS}")
    require_root_and_tools("wg", "wireguard-go", "sqlite3")
    main([test_start, test_client_import_checks, test_names_and_messages, test_valid_files_are_imported,
          test_invalid_files_change_nothing, test_client_config_survives_restart, test_site_routes_installed,
          test_site_network_inside_subnet, test_remote_endpoint_update], "import")
