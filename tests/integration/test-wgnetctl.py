#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""wgnetctl against the real wgnetd on a private system bus with the real polkitd and
wireguard-go in a network namespace: every verb, as root and as the unprivileged test
user; --json output checked against `wg show IF dump` and the bus; the error path of every
verb with its exit code (0 ok, 1 failure, 2 usage) and a message naming the argument;
`monitor` showing a peer that another client adds."""

import json
import os
import queue
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wgnet import NETWORK, SRC, main, opts, require_root_and_tools, run, unwrap  # noqa: E402
from wgnetctl_lib import (WGNETCTL, Client, check_against_device, config_value, ctl, ctl_json, fails,  # noqa: E402
                          ifname, pubkey_of, run_on_tty)

state = {}


# --- tests ---------------------------------------------------------------------------------

def test_usage_errors(rig):
    """Wrong usage exits 2 before any bus call, naming what is wrong."""
    rig.start_daemon()
    for needle, args in [
        ("Unknown command 'frob'", ["frob"]),
        ("Unknown command 'network frob'", ["network", "frob"]),
        ("Unknown command 'peer frob'", ["peer", "frob"]),
        ("Unknown command 'tunnel frob'", ["tunnel", "frob"]),
        ("Unknown command 'mesh bogus'", ["mesh", "bogus"]),
        ("'mesh exit-node MESH use' needs the member's name", ["mesh", "exit-node", "m", "use"]),
        ("Nothing to change: 'tunnel set'", ["tunnel", "set", "t"]),
        ("'network create' is missing NAME", ["network", "create"]),
        ("'network show' is missing NETWORK", ["network", "show"]),
        ("'network delete' is missing NETWORK", ["network", "delete"]),
        ("'network up' is missing NETWORK", ["network", "up"]),
        ("'network down' is missing NETWORK", ["network", "down"]),
        ("'network set' is missing NETWORK", ["network", "set"]),
        ("'network import' is missing FILE", ["network", "import", "x"]),
        ("'network export' is missing NETWORK", ["network", "export"]),
        ("'network next-ip' is missing NETWORK", ["network", "next-ip"]),
        ("'peer show' is missing NETWORK", ["peer", "show"]),
        ("'peer add' is missing NAME", ["peer", "add", "office"]),
        ("'peer remove' is missing NETWORK", ["peer", "remove"]),
        ("'peer enable' is missing NETWORK", ["peer", "enable"]),
        ("'peer disable' is missing NETWORK", ["peer", "disable"]),
        ("'peer set' is missing NETWORK", ["peer", "set"]),
        ("'peer config' is missing NETWORK", ["peer", "config"]),
        ("'peer qr' is missing NETWORK", ["peer", "qr"]),
        ("'peer rotate' is missing NETWORK", ["peer", "rotate"]),
        ("Invalid value 'soon' for --rotate-every", ["network", "set", "n", "--rotate-every=soon"]),
        ("Invalid value 'x' for --grace-period", ["peer", "set", "n", "p", "--grace-period=x"]),
        ("Invalid value '1.5d' for --revoke-after", ["peer", "add", "n", "p", "--revoke-after=1.5d"]),
        ("Invalid value 'all' for --rotation-kind", ["peer", "set", "n", "p", "--rotation-kind=all"]),
        ("Option --rotate-every does not apply to 'peer rotate'", ["peer", "rotate", "n", "p", "--rotate-every=1d"]),
        ("Unexpected argument 'b'", ["network", "list", "b"]),
        ("Unexpected argument 'x'", ["peer", "show", "n", "p", "x"]),
        ("Unexpected argument 'x'", ["monitor", "x"]),
        ("Unexpected argument 'x'", ["version", "x"]),
        ("Unexpected argument 'y'", ["status", "x", "y"]),
        ("Option --port does not apply to 'peer add'", ["peer", "add", "n", "p", "--port=1"]),
        ("Option --key-policy does not apply to 'network set'", ["network", "set", "n", "--key-policy=stored"]),
        ("Option --name does not apply to 'peer add'", ["peer", "add", "n", "p", "--name=q"]),
        ("Option --output does not apply to 'network list'", ["network", "list", "-o", "f"]),
        ("Invalid value '0' for --port", ["network", "create", "n", "--address=10.1.0.1/24", "--port=0"]),
        ("Invalid value '70000' for --port", ["network", "set", "n", "--port=70000"]),
        ("Invalid value 'x' for --mtu", ["network", "set", "n", "--mtu=x"]),
        ("Invalid value 'maybe' for --isolation", ["network", "set", "n", "--isolation=maybe"]),
        ("Invalid value 'sometimes' for --key-policy", ["network", "create", "n", "--key-policy=sometimes"]),
        ("Invalid value 'abc' for --keepalive", ["peer", "add", "n", "p", "--keepalive=abc"]),
        ("Invalid value 'tomorrow' for --expires", ["peer", "set", "n", "p", "--expires=tomorrow"]),
        ("Invalid value 'boss' for --role", ["peer", "add", "n", "p", "--role=boss"]),
        ("Invalid value 'xml' for --json", ["--json=xml", "status"]),
        ("Invalid value 'short' for --public-key", ["peer", "add", "n", "p", "--public-key=short"]),
        ("Give either --psk or --no-psk", ["peer", "add", "n", "p", "--psk", "--no-psk"]),
        ("Give either --png or --svg", ["peer", "qr", "n", "p", "--png=a", "--svg=b"]),
        ("Missing --address for network 'n'", ["network", "create", "n"]),
        ("Nothing to change: 'network set'", ["network", "set", "n"]),
        ("Nothing to change: 'peer set'", ["peer", "set", "n", "p"]),
        ("Missing peer: give NETWORK PEER", ["peer", "show", "phone"]),
    ]:
        fails(rig, 2, needle, *args)
    r = ctl(rig, "--frobnicate", rc=2)
    assert "frobnicate" in r.stderr
    # help and version need no daemon and succeed
    assert "peer add NETWORK NAME" in ctl(rig, "--help").stdout
    assert ctl(rig, "--version").stdout.startswith("wgnetctl ")


def test_version(rig):
    v = ctl_json(rig, "version")
    assert v["Client"] == v["Daemon"] and v["Backend"] == "userspace", v
    out = ctl(rig, "version").stdout
    assert "wgnetd" in out and "userspace backend" in out


def test_network_create_and_show(rig):
    ifn = ifname(rig, 0)
    r = ctl(rig, "network", "create", "office", f"--interface={ifn}", "--address=10.81.0.1/24",
            "-a", "fd00:81::1/64", "--endpoint=vpn.example.com:51881", "--port=51881",
            "--dns=10.81.0.1,example.internal", "--mode=hub")
    assert "Created network 'office'" in r.stdout
    state["ifname"] = ifn
    net, peers = check_against_device(rig, "office")
    assert peers == []
    assert net["Name"] == "office" and net["Interface"] == ifn and net["Active"] is True
    assert net["Addresses"] == ["10.81.0.1/24", "fd00:81::1/64"]
    assert net["DNS"] == ["10.81.0.1", "example.internal"] and net["Endpoint"] == "vpn.example.com:51881"
    assert net["KeyPolicy"] == "stored" and net["Mode"] == "hub" and net["ListenPort"] == 51881
    state["net"] = net["Path"]
    # the same network by interface name and by object path, and the list
    assert ctl_json(rig, "network", "show", ifn)[0]["Path"] == net["Path"]
    assert ctl_json(rig, "network", "show", net["Path"])[0]["Name"] == "office"
    listed = ctl_json(rig, "network", "list")
    assert [n["Name"] for n in listed] == ["office"]
    assert rig.prop(net["Path"], NETWORK, "PublicKey") == listed[0]["PublicKey"]
    # pretty JSON is the same data
    assert json.loads(ctl(rig, "--json=pretty", "network", "list").stdout) == listed
    assert json.loads(ctl(rig, "--json", "network", "list").stdout) == listed


def test_network_errors(rig):
    fails(rig, 1, "Cannot create network 'office'", "network", "create", "office", "--address=10.82.0.1/24",
          f"--interface={ifname(rig, 9)}")
    r = fails(rig, 1, "Cannot create network 'other'", "network", "create", "other", "--address=10.81.0.7/24",
              f"--interface={ifname(rig, 9)}")
    assert "10.81.0.7/24" in r.stderr and "office" in r.stderr, "names the bad value and the other network"
    r = fails(rig, 1, "Invalid address '10.82.0.0/24'", "network", "create", "other", "--address=10.82.0.0/24",
              f"--interface={ifname(rig, 9)}")
    fails(rig, 1, "Invalid mode 'mesh?'", "network", "set", "office", "--mode=mesh?")
    fails(rig, 1, "Invalid endpoint 'foo:99999'", "network", "set", "office", "--endpoint=foo:99999")
    fails(rig, 1, "Invalid MTU '100'", "network", "set", "office", "--mtu=100")
    for verb in (["show"], ["delete"], ["up"], ["down"], ["export"], ["next-ip"], ["set", "--mtu=1400"]):
        fails(rig, 1, "No network 'nope'", "network", verb[0], "nope", *verb[1:])
    fails(rig, 1, "No network 'nope'", "status", "nope")
    fails(rig, 1, "No network 'nope'", "peer", "list", "nope")
    fails(rig, 1, "No network 'nope'", "peer", "add", "nope", "x")
    fails(rig, 1, "Cannot read '/nonexistent.conf'", "network", "import", "x", "/nonexistent.conf")
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
        f.write("[Interface]\nPrivateKey = xxxx\n")
        f.flush()
        fails(rig, 1, "Cannot import", "network", "import", "bad", f.name, f"--interface={ifname(rig, 9)}")
    assert [n["Name"] for n in ctl_json(rig, "network", "list")] == ["office"], "failed calls change nothing"


def test_peer_add(rig):
    out = ctl_json(rig, "peer", "add", "office", "phone", "--email=a@example.com")
    config = out["Config"]
    assert out["Name"] == "phone" and out["PrivateKeyGenerated"] is True and out["PrivateKeyStored"] is True
    state["phone"] = out["Path"]
    state["phone_config"] = config
    p = ctl_json(rig, "peer", "show", "office", "phone")
    assert pubkey_of(config_value(config, "PrivateKey")[0]) == p["PublicKey"]
    assert p["Addresses"] == ["10.81.0.2/32", "fd00:81::2/128"] and p["Email"] == "a@example.com"
    assert config_value(config, "Endpoint") == ["vpn.example.com:51881"]
    # human output: config on stdout, message on stderr, no QR without a terminal
    r = ctl(rig, "peer", "add", "office", "laptop", "--address=10.81.0.50", "--keepalive=off", "--no-psk")
    assert "Added peer 'laptop' to network 'office'" in r.stderr
    assert config_value(r.stdout, "Address") == ["10.81.0.50/32"] and "\u2588" not in r.stdout
    assert config_value(r.stdout, "PresharedKey") == [] and config_value(r.stdout, "PersistentKeepalive") == []
    # --qr: the config followed by its QR code
    r = ctl(rig, "peer", "add", "office", "tablet", "--qr", "--expires=+30d")
    assert "[Interface]" in r.stdout and "\u2588" in r.stdout and "\u2580" in r.stdout + "\u2580"
    t = ctl_json(rig, "peer", "show", "office", "tablet")
    assert abs(t["ExpiresAt"] / 1e6 - (time.time() + 30 * 86400)) < 120
    # own key pair and a site gateway: the private key never reaches the host
    priv = run(["wg", "genkey"]).stdout.strip()
    pub = pubkey_of(priv)
    r = ctl(rig, "peer", "add", "office", "branch", f"--public-key={pub}", "--site=192.168.81.0/24")
    assert config_value(r.stdout, "PrivateKey") == [] and "own key pair" in r.stderr
    b = ctl_json(rig, "peer", "show", "office", "branch")
    assert b["PublicKey"] == pub and b["Role"] == "site-gateway" and b["PrivateKeyStored"] is False
    assert b["SiteNetworks"] == ["192.168.81.0/24"] and "192.168.81.0/24" in b["AllowedIPs"]
    # -o FILE: written 0600
    path = os.path.join(rig.dir, "desk.conf")
    ctl(rig, "peer", "add", "office", "desk", "-o", path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as f:
        assert "PrivateKey" in f.read()
    net, listed = check_against_device(rig, "office")
    assert [p["Name"] for p in listed] == ["phone", "laptop", "tablet", "branch", "desk"]
    # peers by public key and by object path
    assert ctl_json(rig, "peer", "show", "office", pub)["Name"] == "branch"
    assert ctl_json(rig, "peer", "show", state["phone"])["Name"] == "phone"
    # next-ip
    assert ctl_json(rig, "network", "next-ip", "office") == ["10.81.0.6/32", "fd00:81::6/128"]
    assert ctl(rig, "network", "next-ip", "office").stdout.split() == ["10.81.0.6/32", "fd00:81::6/128"]


def test_peer_errors(rig):
    before = rig.wg_dump(state["ifname"])
    r = fails(rig, 1, "Cannot add peer 'phone' to network 'office'", "peer", "add", "office", "phone")
    assert "already exists" in r.stderr
    fails(rig, 1, "Address '10.81.0.50' is already in use", "peer", "add", "office", "x", "--address=10.81.0.50")
    fails(rig, 1, "Address '10.99.0.5' is outside", "peer", "add", "office", "x", "--address=10.99.0.5")
    fails(rig, 1, "Invalid public key 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB='", "peer", "add", "office", "x",
          "--public-key=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=")
    fails(rig, 1, "Invalid email 'not-an-email'", "peer", "add", "office", "x", "--email=not-an-email")
    fails(rig, 1, "Invalid peer name", "peer", "add", "office", "a" * 65)
    for verb in ("show", "remove", "enable", "disable", "config", "qr"):
        fails(rig, 1, "No peer 'ghost' in network 'office'", "peer", verb, "office", "ghost")
        fails(rig, 1, "No network 'nope'", "peer", verb, "nope", "phone")
        fails(rig, 1, "No peer '/org/wgnet1/peer/999'", "peer", verb, "/org/wgnet1/peer/999")
    fails(rig, 1, "No peer 'ghost' in network 'office'", "peer", "set", "office", "ghost", "--keepalive=5")
    fails(rig, 1, "Cannot change peer 'laptop' of network 'office'", "peer", "set", "office", "laptop",
          "--name=phone")
    fails(rig, 1, "Address '10.81.0.2' is already in use", "peer", "set", "office", "laptop",
          "--address=10.81.0.2")
    fails(rig, 1, "Cannot write '/nonexistent-dir/x.svg'", "peer", "qr", "office", "phone",
          "--svg=/nonexistent-dir/x.svg")
    assert rig.wg_dump(state["ifname"]) == before, "failed calls change nothing on the device"


def test_peer_set_enable_disable(rig):
    ctl(rig, "peer", "disable", "office", "laptop")
    net, listed = check_against_device(rig, "office")
    assert not [p for p in listed if p["Name"] == "laptop"][0]["Enabled"]
    assert "disabled" in ctl(rig, "peer", "list", "office").stdout
    ctl(rig, "peer", "enable", "office", "laptop")
    ctl(rig, "peer", "set", "office", "laptop", "--keepalive=15", "--name=notebook", "--email=n@example.com")
    p = ctl_json(rig, "peer", "show", "office", "notebook")
    assert p["PersistentKeepalive"] == 15 and p["Email"] == "n@example.com" and p["Enabled"] is True
    ctl(rig, "peer", "set", "office", "notebook", "--expires=2030-01-01")
    assert ctl_json(rig, "peer", "show", "office", "notebook")["ExpiresAt"] > 1.8e15
    check_against_device(rig, "office")


def test_config_and_qr(rig):
    r = ctl(rig, "peer", "config", "office", "phone")
    assert r.stdout == state["phone_config"]
    path = os.path.join(rig.dir, "phone.conf")
    ctl(rig, "peer", "config", "office", "phone", "-o", path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as f:
        assert f.read() == state["phone_config"]
    with open(path, "w") as f:
        f.write("old")
    fails(rig, 1, f"Cannot write '{path}': the file exists (use --force", "peer", "config", "office", "phone",
          "-o", path)
    with open(path) as f:
        assert f.read() == "old", "an existing file is left alone"
    os.chmod(path, 0o644)
    ctl(rig, "peer", "config", "office", "phone", "-o", path, "--force")
    with open(path) as f:
        assert f.read() == state["phone_config"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, "--force makes the file private too"
    # A symlink planted where the file goes: refused, and with --force replaced by the file
    # itself; its target is never written. No temporary file is left behind.
    target, link = os.path.join(rig.dir, "target"), os.path.join(rig.dir, "planted.conf")
    with open(target, "w") as f:
        f.write("target")
    os.symlink(target, link)
    fails(rig, 1, "the file exists", "peer", "config", "office", "phone", "-o", link)
    ctl(rig, "peer", "config", "office", "phone", "-o", link, "--force")
    assert not os.path.islink(link) and open(link).read() == state["phone_config"]
    assert open(target).read() == "target"
    assert not [n for n in os.listdir(rig.dir) if n.startswith("planted.conf.")], os.listdir(rig.dir)
    # A config that cannot reach stdout is a failure (exit 1), not a silent success.
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=rig.address, LC_ALL="C.UTF-8", NO_COLOR="1")
    with open("/dev/full", "w") as full:
        r = subprocess.run([WGNETCTL, "peer", "config", "office", "phone"], stdout=full, stderr=subprocess.PIPE,
                           text=True, env=env, timeout=60)
    assert r.returncode == 1 and "cannot write the output" in r.stderr, (r.returncode, r.stderr)
    # QR codes: PNG and SVG from the daemon, terminal text drawn locally
    png = os.path.join(rig.dir, "phone.png")
    ctl(rig, "peer", "qr", "office", "phone", f"--png={png}")
    assert stat.S_IMODE(os.stat(png).st_mode) == 0o600
    decoded = run(["zbarimg", "--raw", "-q", png]).stdout
    assert decoded.rstrip("\n") == state["phone_config"].rstrip("\n"), "the QR code decodes to the config"
    svg = os.path.join(rig.dir, "phone.svg")
    ctl(rig, "peer", "qr", "office", "phone", f"--svg={svg}")
    with open(svg) as f:
        assert "<svg" in f.read()
    text = ctl(rig, "peer", "qr", "office", "phone").stdout
    assert "\u2588" in text and text.count("\n") > 20
    fails(rig, 1, "the file exists", "peer", "qr", "office", "phone", f"--png={png}")


def test_output_file_off_screen(rig):
    """With -o FILE the config goes only there: no QR code on the terminal unless --qr, and
    --json says where it was written instead of carrying it."""
    path = os.path.join(rig.dir, "screen1.conf")
    out = ctl_json(rig, "peer", "add", "office", "screen1", "-o", path)
    assert "Config" not in out and out["ConfigFile"] == path, out
    with open(path) as f:
        config = f.read()
    assert pubkey_of(config_value(config, "PrivateKey")[0]) == ctl_json(rig, "peer", "show", "office", "screen1")["PublicKey"]
    path = os.path.join(rig.dir, "screen2.conf")
    rc, shown = run_on_tty(rig, ["peer", "add", "office", "screen2", "-o", path], root=True)
    assert rc == 0 and "Wrote the config to" in shown, (rc, shown)
    assert "\u2588" not in shown and "PrivateKey" not in shown, shown
    path = os.path.join(rig.dir, "screen3.conf")
    rc, shown = run_on_tty(rig, ["peer", "add", "office", "screen3", "-o", path, "--qr"], root=True)
    assert rc == 0 and "\u2588" in shown, (rc, shown)
    out = ctl_json(rig, "peer", "rotate", "office", "screen1", "-o", os.path.join(rig.dir, "screen1-new.conf"))
    assert "Config" not in out and out["ConfigFile"].endswith("screen1-new.conf"), out
    # without a file, JSON still carries the config
    assert "PrivateKey" in ctl_json(rig, "peer", "rotate", "office", "screen2")["Config"]
    for name in ("screen1", "screen2", "screen3"):
        ctl(rig, "peer", "remove", "office", name)


def test_online_peer(rig):
    """A real client brings the peer online: handshake, endpoint and counters in --json
    equal wg show dump, the dot and "online" in the tables."""
    client = Client(rig, "phone", state["phone_config"], "10.81.0.2/32", "10.81.0.0/24", 51881)
    try:
        assert client.ping("10.81.0.1") == 0, "the client reaches the hub through the tunnel"
        p = ctl_json(rig, "peer", "show", "office", "phone")
        assert p["Online"] is True and p["LastHandshake"] > 0 and p["RxBytes"] > 0 and p["TxBytes"] > 0, p
        assert p["Endpoint"].startswith("192.0.2.2:"), p["Endpoint"]
        net, listed = check_against_device(rig, "office")
        out = ctl(rig, "peer", "list", "office").stdout
        line = [x for x in out.splitlines() if " phone " in x][0]
        assert line.startswith("\u25cf") and "online" in line and ("s ago" in line or "now" in line), line
        show = ctl(rig, "peer", "show", "office", "phone").stdout
        assert "State: \u25cf online" in show and "192.0.2.2:" in show and " received, " in show, show
        assert "1 online" in ctl(rig, "status").stdout
        wait_until = time.time() + 15
        while ctl_json(rig, "network", "show", "office")[0]["OnlinePeerCount"] != 1 and time.time() < wait_until:
            time.sleep(0.2)
        assert ctl_json(rig, "network", "show", "office")[0]["OnlinePeerCount"] == 1
    finally:
        client.stop()


def test_rotation(rig):
    """peer rotate: a new key pair next to the old one until its first handshake, or a new
    preshared key at once; rotation policy options on networks and peers."""
    old = ctl_json(rig, "peer", "show", "office", "desk")
    out = ctl_json(rig, "peer", "rotate", "office", "desk")
    new_pub = pubkey_of(config_value(out["Config"], "PrivateKey")[0])
    assert out["Rotated"] == "keypair" and out["RotationDeadline"] > time.time() * 1e6
    p = ctl_json(rig, "peer", "show", "office", "desk")
    assert p["RotationPending"] is True and p["PendingPublicKey"] == new_pub and p["PublicKey"] == old["PublicKey"]
    dev, peers = rig.wg_dump(state["ifname"])
    assert old["PublicKey"] in peers and new_pub in peers, "old and new key both on the device"
    assert peers[new_pub]["allowed_ips"] == [], "the new key has no addresses until it is used"
    r = ctl(rig, "peer", "show", "office", "desk")
    assert "Rotation pending: new key " + new_pub in r.stdout, r.stdout
    # --psk: a new preshared key, in force at once
    r = ctl(rig, "peer", "rotate", "office", "notebook", "--psk", "-o", os.path.join(rig.dir, "nb.conf"))
    assert "cut off" in r.stderr
    with open(os.path.join(rig.dir, "nb.conf")) as f:
        psk = config_value(f.read(), "PresharedKey")[0]
    nb = ctl_json(rig, "peer", "show", "office", "notebook")
    assert rig.wg_dump(state["ifname"])[1][nb["PublicKey"]]["preshared_key"] == psk
    # policy: network defaults, peer overrides, "default" goes back to the network's
    ctl(rig, "network", "set", "office", "--rotate-every=30d", "--rotation-kind=psk", "--grace-period=12h",
        "--revoke-after=90d")
    n = ctl_json(rig, "network", "show", "office")[0]
    assert (n["RotationInterval"], n["RotationKind"], n["GracePeriod"], n["RevokeAfterInactive"]) == \
        (30 * 86400, "psk", 12 * 3600, 90 * 86400), n
    assert "every 30 days (psk), grace period 12 h" in ctl(rig, "network", "show", "office").stdout
    ctl(rig, "peer", "set", "office", "notebook", "--rotation-kind=keypair", "--rotate-every=7d")
    nb = ctl_json(rig, "peer", "show", "office", "notebook")
    assert (nb["RotationKind"], nb["RotationInterval"]) == ("keypair", 7 * 86400), nb
    ctl(rig, "peer", "set", "office", "notebook", "--rotation-kind=default")
    assert ctl_json(rig, "peer", "show", "office", "notebook")["RotationKind"] == "psk"
    ctl(rig, "network", "set", "office", "--rotate-every=off", "--revoke-after=off")
    fails(rig, 1, "Invalid GracePeriod", "network", "set", "office", "--grace-period=99999999999")
    fails(rig, 1, "No peer 'ghost' in network 'office'", "peer", "rotate", "office", "ghost")


def test_status_and_tables(rig):
    out = ctl(rig, "status").stdout
    assert "office" in out and "active" in out and "phone" in out and "notebook" in out
    st = ctl_json(rig, "status")
    assert [n["Name"] for n in st] == ["office"] and len(st[0]["Peers"]) == 5
    out = ctl(rig, "peer", "list", "office").stdout
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["NAME", "ADDRESSES"] and "5 peers listed." in out
    phone = ctl_json(rig, "peer", "show", "office", "phone")
    assert phone["PublicKey"] not in out, "keys are hidden in listings"
    assert phone["PublicKey"] in ctl(rig, "--show-keys", "peer", "list", "office").stdout
    out = ctl(rig, "--no-legend", "peer", "list", "office").stdout
    assert "NAME" not in out and "listed" not in out and len(out.splitlines()) == 5
    assert "-" in out.split(), "empty cells show a dash"
    out = ctl(rig, "peer", "list").stdout
    assert "NETWORK" in out and "office" in out, "all peers: with the network column"
    out = ctl(rig, "network", "show", "office").stdout
    assert "Listen port: 51881" in out and "Key policy: stored" in out
    out = ctl(rig, "peer", "show", "office", "notebook").stdout
    assert "Last handshake: never" in out and "Transfer: 0 B received, 0 B sent" in out
    assert "\u25cb" in ctl(rig, "peer", "list", "office").stdout, "the offline dot"


def complete(rig, line):
    """What bash completion offers for the last word of line (which may be empty)."""
    words = line.split(" ")
    script = (f"source {os.path.join(SRC, 'client', 'wgnetctl.bash')}\n"
              f"wgnetctl() {{ {WGNETCTL} \"$@\"; }}\n"
              f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
              "COMP_LINE=\"${COMP_WORDS[*]}\"; _wgnetctl; printf '%s\\n' \"${COMPREPLY[@]}\"")
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=rig.address, LC_ALL="C.UTF-8")
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=30)
    return sorted(x for x in r.stdout.split("\n") if x)


def test_bash_completion(rig):
    assert complete(rig, "wgnetctl ") == ["help", "mesh", "monitor", "network", "peer", "status", "tunnel", "version"]
    assert "next-ip" in complete(rig, "wgnetctl network ")
    assert complete(rig, "wgnetctl peer r") == ["remove", "rotate"]
    assert complete(rig, "wgnetctl peer show ") == ["office"], "network names from the bus"
    assert complete(rig, "wgnetctl peer show office ") == ["branch", "desk", "notebook", "phone", "tablet"], \
        "peer names from the bus"
    assert complete(rig, "wgnetctl peer config office ph") == ["phone"]
    assert complete(rig, "wgnetctl network create x --mo") == ["--mode="]
    assert complete(rig, "wgnetctl network create x --mode=s") == ["--mode=site-to-site", "--mode=split"]
    assert "--public-key=" in complete(rig, "wgnetctl peer add office x --")
    assert "--public-key=" not in complete(rig, "wgnetctl peer set office x --")
    assert "--remote-endpoint=" in complete(rig, "wgnetctl peer set office x --")
    assert "-o" in complete(rig, "wgnetctl peer add office x -")
    # a name with a blank, read from the daemon, offered quoted
    ctl(rig, "peer", "add", "office", "old laptop", "--no-qr")
    try:
        assert complete(rig, "wgnetctl peer show office ol") == ["old\\ laptop"]
    finally:
        ctl(rig, "peer", "remove", "office", "old laptop")


def test_one_time_network(rig):
    ifn = ifname(rig, 1)
    ctl(rig, "network", "create", "guests", f"--interface={ifn}", "--address=10.84.0.1/24", "--port=51884",
        "--key-policy=one-time", "--isolation=yes")
    r = ctl(rig, "peer", "add", "guests", "visitor")
    assert "only time" in r.stderr and "one-time" in r.stderr
    assert len(config_value(r.stdout, "PrivateKey")) == 1
    p = ctl_json(rig, "peer", "show", "guests", "visitor")
    assert p["PrivateKeyStored"] is False
    assert pubkey_of(config_value(r.stdout, "PrivateKey")[0]) == p["PublicKey"]
    assert "not held" in ctl(rig, "peer", "config", "guests", "visitor").stdout
    net, _ = check_against_device(rig, "guests")
    assert net["PeerIsolation"] is True and net["KeyPolicy"] == "one-time"
    state["guests_if"] = ifn


def ctl_on_full_disk(rig, *args):
    """wgnetctl ARGS with FULL, in a private mount namespace, a tmpfs whose space is used up:
    the new output file can be created but not written. Returns the result."""
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=rig.address, LC_ALL="C.UTF-8", NO_COLOR="1")
    script = ('mount -t tmpfs -o size=4k tmpfs "$FULL" && (dd if=/dev/zero of="$FULL/fill" bs=4k count=2 '
              '2>/dev/null; true) && exec "$@"')
    full = os.path.join(rig.dir, "full")
    os.makedirs(full, exist_ok=True)
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", WGNETCTL, *args],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                          env=dict(env, FULL=full))


def test_one_time_output_file(rig):
    """peer add -o FILE in a one-time network: a file that cannot be written is found
    before the peer is added; one that fails after the call gets the config on stdout
    with a warning, so the only copy of the key is not lost."""
    names = lambda: [p["Name"] for p in ctl_json(rig, "peer", "list", "guests")]
    before = names()
    taken = os.path.join(rig.dir, "taken.conf")
    with open(taken, "w") as f:
        f.write("old")
    fails(rig, 1, f"Cannot write '{taken}': the file exists", "peer", "add", "guests", "v-taken", "-o", taken)
    fails(rig, 1, "Cannot write", "peer", "add", "guests", "v-nodir", "-o", os.path.join(rig.dir, "nodir", "x.conf"))
    assert names() == before, "no peer added when its config has nowhere to go"
    assert open(taken).read() == "old"
    # The disk is full: the file is made ready, AddPeer succeeds, the write fails.
    full = os.path.join(rig.dir, "full")
    r = ctl_on_full_disk(rig, "peer", "add", "guests", "v-full", "-o", os.path.join(full, "v.conf"))
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "Cannot write" in r.stderr and "printing the config on standard output instead" in r.stderr, r.stderr
    key = config_value(r.stdout, "PrivateKey")
    assert len(key) == 1 and pubkey_of(key[0]) == ctl_json(rig, "peer", "show", "guests", "v-full")["PublicKey"]
    assert "only time" in r.stderr
    r = ctl_on_full_disk(rig, "--json=short", "peer", "add", "guests", "v-full2", "-o", os.path.join(full, "v.conf"))
    assert r.returncode == 1 and "standard output instead" in r.stderr, (r.returncode, r.stderr)
    out = json.loads(r.stdout)
    assert pubkey_of(config_value(out["Config"], "PrivateKey")[0]) == \
        ctl_json(rig, "peer", "show", "guests", "v-full2")["PublicKey"]
    for name in ("v-full", "v-full2"):
        ctl(rig, "peer", "remove", "guests", name)
    assert names() == before


def test_qr_too_long(rig):
    """A config too long for a QR code: peer add still succeeds (exit 0) with the config
    printed and a warning instead of the QR code; peer qr, whose only job it is, fails."""
    domains = ",".join(f"d{i:03d}.search.example.internal" for i in range(120))
    ctl(rig, "network", "create", "qrbig", f"--interface={ifname(rig, 3)}", "--address=10.87.0.1/24",
        "--port=51887", f"--dns={domains}")
    r = ctl(rig, "peer", "add", "qrbig", "long", "--qr")
    assert "too long for a QR code" in r.stderr and "Warning" in r.stderr, r.stderr
    assert len(config_value(r.stdout, "PrivateKey")) == 1 and "\u2588" not in r.stdout
    fails(rig, 1, "too long for a QR code", "peer", "qr", "qrbig", "long")
    ctl(rig, "network", "delete", "qrbig")


def test_network_set_up_down(rig):
    # an empty list value clears the values before it: DNS = []
    ctl(rig, "network", "set", "guests", "--mtu=1380", "--mode=gateway", "--endpoint=[2001:db8::1]:51884",
        "--dns=1.1.1.1", "--dns=", "--isolation=no")
    n = ctl_json(rig, "network", "show", "guests")[0]
    assert n["MTU"] == 1380 and n["Mode"] == "gateway" and n["Endpoint"] == "[2001:db8::1]:51884"
    assert n["DNS"] == [] and n["PeerIsolation"] is False
    assert "mtu 1380" in rig.ns("ip", "link", "show", state["guests_if"]).stdout
    ctl(rig, "network", "down", "guests")
    assert ctl_json(rig, "network", "show", "guests")[0]["Active"] is False
    assert rig.ns("wg", "show", state["guests_if"], check=False).returncode != 0
    assert "inactive" in ctl(rig, "network", "list").stdout
    ctl(rig, "network", "up", "guests")
    check_against_device(rig, "guests")


def test_several_networks(rig):
    """Verbs on several networks: every name is looked up first (one unknown name: nothing
    is done, and it is named); then each is acted on, a failure reported and the others
    still done, exit 1."""
    a, b = ifname(rig, 4), ifname(rig, 5)
    ctl(rig, "network", "create", "multi-a", f"--interface={a}", "--address=10.88.0.1/24", "--port=51888", "--inactive")
    ctl(rig, "network", "create", "multi-b", f"--interface={b}", "--address=10.89.0.1/24", "--port=51889", "--inactive")
    active = lambda name: ctl_json(rig, "network", "show", name)[0]["Active"]
    r = fails(rig, 1, "No network 'nope'", "network", "up", "multi-a", "nope", "multi-b")
    assert "Nothing activated" in r.stderr and not active("multi-a") and not active("multi-b"), r.stderr
    fails(rig, 1, "No network 'nope'", "network", "show", "multi-a", "nope")
    # someone else's interface where multi-b's goes: multi-b fails, multi-a comes up
    rig.ns("ip", "link", "add", b, "type", "veth", "peer", "name", f"{b}p")     # no dummy module everywhere
    try:
        r = ctl(rig, "network", "up", "multi-b", "multi-a", rc=1)
        assert "Cannot activate network 'multi-b'" in r.stderr, r.stderr
        assert "Network 'multi-a' activated." in r.stdout, r.stdout
        assert active("multi-a") and not active("multi-b")
    finally:
        rig.ns("ip", "link", "del", b, check=False)
    # the same network twice (name and interface) is acted on once
    r = ctl(rig, "network", "down", "multi-a", a)
    assert r.stdout.count("deactivated") == 1, r.stdout
    ctl(rig, "network", "delete", "multi-a", "multi-b")
    assert not [n for n in ctl_json(rig, "network", "list") if n["Name"].startswith("multi-")]


def test_stats_unreadable(rig):
    """A network whose device cannot be read (removed behind wgnetd's back) does not stop
    status, network show or peer list: a warning, the last tick's values, exit 0, and the
    other networks printed (also with --json)."""
    a = ifname(rig, 6)
    ctl(rig, "network", "create", "stats-gone", f"--interface={a}", "--address=10.87.0.1/24", "--port=51887")
    ctl(rig, "peer", "add", "stats-gone", "p1", "--no-qr")
    # a daemon with a slow tick, so that it does not make the device again meanwhile
    rig.stop_daemon()
    rig.start_daemon("--tick=60")
    rig.ns("ip", "link", "del", a)
    time.sleep(0.3)     # older than the read that callers within 250 ms share
    try:
        r = ctl(rig, "status")
        assert "cannot read the statistics of network 'stats-gone'" in r.stderr, r.stderr
        assert "stats-gone" in r.stdout and "office" in r.stdout and "p1" in r.stdout, r.stdout
        names = [n["Name"] for n in ctl_json(rig, "status")]
        assert "stats-gone" in names and "office" in names, names
        ctl(rig, "network", "show", "stats-gone")
        assert "p1" in ctl(rig, "peer", "list").stdout
    finally:
        ctl(rig, "network", "delete", "stats-gone")
        rig.stop_daemon()
        rig.start_daemon()


def test_next_ip_full(rig):
    """network next-ip on a full subnet exits 1, with --json too (which prints [])."""
    ctl(rig, "network", "create", "tiny", f"--interface={ifname(rig, 6)}", "--address=10.90.0.1/30", "--port=51890")
    assert ctl_json(rig, "network", "next-ip", "tiny") == ["10.90.0.2/32"]
    ctl(rig, "peer", "add", "tiny", "only", "--no-qr")
    fails(rig, 1, "Network 'tiny' has no free address left", "network", "next-ip", "tiny")
    r = fails(rig, 1, "Network 'tiny' has no free address left", "--json=short", "network", "next-ip", "tiny")
    assert json.loads(r.stdout) == [], r.stdout
    ctl(rig, "network", "delete", "tiny")


def test_export_import(rig):
    path = os.path.join(rig.dir, "guests.conf")
    ctl(rig, "network", "export", "guests", "-o", path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as f:
        text = f.read()
    assert "PrivateKey" in text and "[Peer]" in text
    assert ctl(rig, "network", "export", "guests").stdout == text
    before = ctl_json(rig, "peer", "list", "guests")
    ctl(rig, "network", "delete", "guests")
    assert [n["Name"] for n in ctl_json(rig, "network", "list")] == ["office"]
    assert rig.ns("wg", "show", state["guests_if"], check=False).returncode != 0
    ifn = ifname(rig, 2)
    r = ctl(rig, "network", "import", "again", path, f"--interface={ifn}")
    assert "Imported" in r.stdout
    after = ctl_json(rig, "peer", "list", "again")
    assert [p["PublicKey"] for p in after] == [p["PublicKey"] for p in before]
    assert [p["Addresses"] for p in after] == [p["Addresses"] for p in before]
    check_against_device(rig, "again")
    # from stdin
    ctl(rig, "network", "delete", "again")
    ctl(rig, "network", "import", "again", "-", f"--interface={ifn}", stdin=text)
    check_against_device(rig, "again")
    state["again_if"] = ifn


def test_unprivileged(rig):
    """The test user reads everything; every change and secret is refused with the polkit
    action named; a polkit rule for its group lets it in."""
    assert [n["Name"] for n in ctl_json(rig, "network", "list", user=True)] == ["office", "again"]
    assert len(ctl_json(rig, "peer", "list", "office", user=True)) == 5
    ctl(rig, "status", user=True)
    ctl(rig, "network", "next-ip", "office", user=True)
    ctl(rig, "version", user=True)
    # A valid config the user can read: input is checked before polkit is asked.
    state["user_conf"] = os.path.join(rig.dir, "user.conf")
    with open(state["user_conf"], "w") as f:
        f.write(f"[Interface]\nPrivateKey = {run(['wg', 'genkey']).stdout.strip()}\nAddress = 10.86.0.1/24\n")
    os.chmod(state["user_conf"], 0o644)
    dump = rig.wg_dump(state["ifname"])
    for action, args in [
        ("org.wgnet1.manage-networks", ["network", "create", "x", "--address=10.85.0.1/24"]),
        ("org.wgnet1.manage-networks", ["network", "delete", "again"]),
        ("org.wgnet1.manage-networks", ["network", "up", "again"]),
        ("org.wgnet1.manage-networks", ["network", "down", "again"]),
        ("org.wgnet1.manage-networks", ["network", "set", "again", "--mtu=1400"]),
        ("org.wgnet1.manage-networks", ["network", "import", "x", state["user_conf"]]),
        ("org.wgnet1.read-secrets", ["network", "export", "again"]),
        ("org.wgnet1.manage-peers", ["peer", "add", "office", "u1"]),
        ("org.wgnet1.manage-peers", ["peer", "remove", "office", "phone"]),
        ("org.wgnet1.manage-peers", ["peer", "enable", "office", "phone"]),
        ("org.wgnet1.manage-peers", ["peer", "disable", "office", "phone"]),
        ("org.wgnet1.manage-peers", ["peer", "set", "office", "phone", "--keepalive=5"]),
        ("org.wgnet1.read-secrets", ["peer", "config", "office", "phone"]),
        ("org.wgnet1.read-secrets", ["peer", "qr", "office", "phone"]),
        ("org.wgnet1.read-secrets", ["peer", "qr", "office", "phone", "--png=/tmp/never.png"]),
        # RotateKeys asks manage-peers, then read-secrets: the first is the one refused here,
        # and the message names the action the daemon refused (not the client's guess)
        ("org.wgnet1.manage-peers", ["peer", "rotate", "office", "phone"]),
    ]:
        r = ctl(rig, *args, user=True, rc=1)
        err = r.stderr.strip()
        assert len(err.splitlines()) == 1, f"one line: {err!r}"
        assert action in err and ("polkit" in err), f"{args}: {err}"
        assert "rules" in err or "root" in err, f"says how to get it: {err}"
    assert rig.wg_dump(state["ifname"]) == dump
    assert not os.path.exists("/tmp/never.png")
    # The example rule (here: the rig's group rule) grants it.
    rig.grant_user()
    try:
        out = ctl_json(rig, "peer", "add", "office", "granted", user=True)
        assert "PrivateKey" in out["Config"]
        assert ctl(rig, "peer", "config", "office", "granted", user=True).stdout == out["Config"]
        ctl(rig, "peer", "remove", "office", "granted", user=True)
    finally:
        rig.revoke_user()
    ctl(rig, "peer", "add", "office", "u2", user=True, rc=1)


def test_polkit_agent(rig):
    """On a terminal, wgnetctl starts pkttyagent for itself and polkit asks for the
    administrator's password; a wrong one is refused and the refusal explained.
    --no-ask-password asks nothing."""
    n = len(ctl_json(rig, "peer", "list", "office"))
    rc, out = run_on_tty(rig, ["peer", "add", "office", "ttyuser"], answer="not-the-password")
    assert "AUTHENTICATING FOR org.wgnet1.manage-peers" in out, out
    assert rc == 1 and "not authorized (polkit action org.wgnet1.manage-peers)" in out, out
    rc, out = run_on_tty(rig, ["--no-ask-password", "peer", "config", "office", "phone"])
    assert "AUTHENTICATING" not in out and "Password" not in out, out
    assert rc == 1 and "authentication is required for polkit action org.wgnet1.read-secrets" in out, out
    assert "--no-ask-password" in out
    assert len(ctl_json(rig, "peer", "list", "office")) == n, "nothing changed"
    assert not pgrep_agents(rig), "the agent is gone with wgnetctl"


def pgrep_agents(rig):
    r = run(["pgrep", "-u", rig.user, "-x", "pkttyagent"], check=False)
    return r.stdout.split()


def test_monitor(rig):
    """monitor (run unprivileged) prints a line for a peer added by another client."""
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=rig.address, LC_ALL="C.UTF-8")
    for json_mode in (True, False):
        args = ["--json=short", "monitor"] if json_mode else ["monitor"]
        # setpriv execs wgnetctl itself (runuser would stay the parent and die of the signal)
        mon = subprocess.Popen(["setpriv", f"--reuid={rig.user}", f"--regid={rig.user}", "--init-groups",
                                WGNETCTL, *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, text=True)
        lines = queue.Queue()
        # bound now: a late line of the previous monitor must not reach this one's queue
        reader = threading.Thread(target=lambda q=lines, out=mon.stdout: [q.put(x) for x in out], daemon=True)
        reader.start()
        ppath = None
        try:
            line = mon.stderr.readline()
            assert "Monitoring org.wgnet1" in line, line
            name = f"watched{int(json_mode)}"
            # another client: dbus-python as root
            ppath, _ = unwrap(rig.network(state["net"]).AddPeer(name, opts()))
            rig.peer(ppath).Disable()
            seen = []
            deadline = time.time() + 10
            while time.time() < deadline and not any("Enabled" in x for x in seen):
                try:
                    seen.append(lines.get(timeout=0.5))
                except queue.Empty:
                    pass
            if json_mode:
                events = [json.loads(x) for x in seen]
                added = [e for e in events if e["Event"] == "PeerAdded"]
                assert added, events
                assert added[0]["Properties"]["Peer"] == ppath and added[0]["Details"] == f"office/{name}", added
                assert added[0]["Time"] > 0 and added[0]["Timestamp"]
                ia = [e for e in events if e["Event"] == "InterfacesAdded"]
                assert ia and ia[0]["Path"] == ppath and ia[0]["Object"] == f"office/{name}", events
                ch = [e for e in events if e["Event"] == "PropertiesChanged" and e["Path"] == ppath]
                assert ch and ch[0]["Properties"]["Enabled"] is False, events
            else:
                text = "".join(seen)
                assert f"office PeerAdded: office/{name}" in text, text
                assert f"office/{name} PropertiesChanged: Enabled=no" in text, text
                # one line each, with a timestamp
                for x in seen:
                    assert x[:4].isdigit() and x[4] == "-" and x[10] == " ", x
        finally:
            if ppath:
                rig.network(state["net"]).RemovePeer(ppath)
            mon.send_signal(signal.SIGTERM)
            rc = mon.wait(10)
        assert rc == 0, f"monitor exits 0 on SIGTERM, not {rc}"


def test_remove_and_delete(rig):
    ctl(rig, "peer", "remove", "office", "tablet")
    ctl(rig, "peer", "remove", state["phone"])
    net, listed = check_against_device(rig, "office")
    assert [p["Name"] for p in listed] == ["notebook", "branch", "desk"]
    ctl(rig, "network", "delete", "office", "again")
    assert ctl_json(rig, "network", "list") == []
    assert "No networks" in ctl(rig, "status").stdout


def test_daemon_not_running(rig):
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=rig.address, LC_ALL="C.UTF-8")
    mon = subprocess.Popen([WGNETCTL, "--json=short", "monitor"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, env=env, text=True)
    assert "Monitoring" in mon.stderr.readline()
    rig.stop_daemon()
    fails(rig, 1, "wgnetd is not running", "network", "list")
    fails(rig, 1, "wgnetd is not running", "peer", "add", "x", "y")
    fails(rig, 1, "wgnetd is not running", "version")
    rig.start_daemon()
    ctl(rig, "status")
    time.sleep(0.5)
    mon.send_signal(signal.SIGTERM)
    out, _ = mon.communicate(timeout=10)
    events = [json.loads(x)["Event"] for x in out.splitlines()]
    assert "DaemonStopped" in events and "DaemonStarted" in events, events
    assert mon.returncode == 0, "monitor keeps running while the daemon is away"


if __name__ == "__main__":
    require_root_and_tools("wireguard-go", "wg", "dbus-daemon", "/usr/lib/polkit-1/polkitd", "zbarimg", "runuser", "setpriv", "ping", "pkttyagent", "unshare")
    if not os.path.exists(WGNETCTL):
        print(f"SKIP: {WGNETCTL} is not built")
        sys.exit(77)
    main([test_usage_errors, test_version, test_network_create_and_show, test_network_errors, test_peer_add,
          test_peer_errors, test_peer_set_enable_disable, test_config_and_qr, test_output_file_off_screen, test_online_peer, test_rotation,
          test_status_and_tables, test_bash_completion,
          test_one_time_network, test_one_time_output_file, test_qr_too_long, test_network_set_up_down, test_several_networks, test_stats_unreadable, test_next_ip_full, test_export_import, test_unprivileged, test_polkit_agent, test_monitor,
          test_remove_and_delete, test_daemon_not_running], "wgctl")
