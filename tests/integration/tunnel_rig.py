# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the tunnel tests (test-tunnel.py, tunnel_refusals.py) share: two hosts, each a
network namespace with its own private system bus, polkitd and wgnetd, joined by a veth
pair, with a LAN namespace behind each; the names, the helpers to read tunnels and pairing
strings (and to make them), and the daemons' start with the fault injection."""

import base64
import contextlib
import hashlib
import ipaddress
import os
import struct
import subprocess
import sys
import time

from wgnet import BUS, opts, run, unwrap, wait_for

import dbus

TUNNEL = "org.wgnet1.Tunnel"
E = "org.wgnet1.Error."
INVALID = "org.freedesktop.DBus.Error.InvalidArgs"
DENIED = ("org.freedesktop.DBus.Error.AccessDenied", "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired")

PID = os.getpid() % 100000
IF_A, IF_B, IF_A2 = f"wta{PID}", f"wtb{PID}", f"wtc{PID}"
VETH_A, VETH_B = f"tva{PID}", f"tvb{PID}"
LAN_A, LAN_B = f"wgnt-lana{PID}", f"wgnt-lanb{PID}"
WAN_A, WAN_B = "192.168.71.1", "192.168.71.2"
NET_A, NET_B = "10.71.0.0/24", "10.72.0.0/24"
HOST_A, HOST_B = "10.71.0.2", "10.72.0.2"
NET6_A, NET6_B = "fd71::/64", "fd72::/64"
HOST6_A, HOST6_B = "fd71::2", "fd72::2"
NETS_A, NETS_B = [NET_A, NET6_A], [NET_B, NET6_B]
TADDR_A, TADDR_B = ["10.255.0.1/31", "fd00:255::1/127"], ["10.255.0.0/31", "fd00:255::/127"]
PORT_A, PORT_B = 51901, 51902

state = {}


def topts(**kw):
    d = opts(**kw)
    for k in ("PairingLifetime", "OnlineThreshold"):
        if k in kw:
            d[k] = dbus.UInt32(kw[k], variant_level=1)
    return d


def tunnel(rig, path):
    return dbus.Interface(rig.bus().get_object(BUS, path), TUNNEL)


def tprops(rig, path):
    return rig.props(path, TUNNEL)


def tprop(rig, path, name):
    return rig.prop(path, TUNNEL, name)


def pairing_body(s):
    b64 = s.split(":", 2)[2]
    return base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))


def pairing_id(s):
    return pairing_body(s)[1:17].hex()


def encode_body(body):
    """A pairing string with a correct check over any body."""
    data = body + hashlib.blake2b(body, digest_size=32).digest()[:4]
    return "wgnet-pair:1:" + base64.urlsafe_b64encode(data).decode().rstrip("=")


def prefix_bytes(prefix):
    ip = ipaddress.ip_interface(prefix)
    return bytes([ip.version, ip.network.prefixlen]) + ip.ip.packed


def make_pairing(kind, pid, psk, endpoint, networks, addresses=()):
    """A well-formed pairing string (kind 1 offer, 2 reply) with a fresh key, good for an hour."""
    ep = endpoint.encode()
    body = (bytes([kind]) + pid + struct.pack(">Q", int(time.time()) + 3600) + os.urandom(32) + psk +
            bytes([len(ep)]) + ep + bytes([len(addresses)]) + b"".join(map(prefix_bytes, addresses)) +
            bytes([len(networks)]) + b"".join(map(prefix_bytes, networks)))
    return encode_body(body)


def managed_tunnels(rig):
    obj = rig.bus().get_object(BUS, "/org/wgnet1")
    objs = unwrap(dbus.Interface(obj, "org.freedesktop.DBus.ObjectManager").GetManagedObjects())
    return sorted(p for p, ifs in objs.items() if TUNNEL in ifs)


def snapshot(rig):
    """What must not change when a call is refused."""
    return (managed_tunnels(rig), rig.sqlite("SELECT id, name, remote_public_key, pairing, pairing_id FROM tunnels ORDER BY id"),
            rig.sqlite("SELECT count(*) FROM pairings_used"), run(["ip", "netns", "exec", rig.netns, "ip", "-br", "link"]).stdout)


def lan_ping(src_ns, dst, count=2, check=True):
    r = run(["ip", "netns", "exec", src_ns, "ping", "-c", str(count), "-i", "0.2", "-W", "2", dst], check=False)
    if check and r.returncode != 0:
        raise AssertionError(f"ping {dst} from {src_ns} failed:\n{r.stdout}{r.stderr}")
    return r.returncode == 0


def wait_state(rig, path, want, timeout=40):
    wait_for(lambda: tprop(rig, path, "State") == want, timeout, f"{path} State {want} (is {tprop(rig, path, 'State')})")


# --- the two hosts ---------------------------------------------------------------------

def setup_network(a, b):
    ip = ["ip"]
    run(ip + ["link", "add", VETH_A, "type", "veth", "peer", "name", VETH_B])
    run(ip + ["link", "set", VETH_A, "netns", a.netns])
    run(ip + ["link", "set", VETH_B, "netns", b.netns])
    for rig, dev, addr in ((a, VETH_A, WAN_A), (b, VETH_B, WAN_B)):
        rig.ns("ip", "addr", "add", f"{addr}/24", "dev", dev)
        rig.ns("ip", "link", "set", dev, "up")
        rig.ns("sysctl", "-qw", "net.ipv4.ip_forward=1")
    for rig, lan, net, host, host6 in ((a, LAN_A, NET_A, HOST_A, HOST6_A), (b, LAN_B, NET_B, HOST_B, HOST6_B)):
        gw = net.replace("0/24", "1")
        gw6 = host6[:-1] + "1"
        inner, outer = f"l{lan[-7:]}i", f"l{lan[-7:]}o"
        run(["ip", "netns", "add", lan])
        run(["ip", "-n", lan, "link", "set", "lo", "up"])
        run(["ip", "link", "add", outer, "type", "veth", "peer", "name", inner])
        run(["ip", "link", "set", outer, "netns", rig.netns])
        run(["ip", "link", "set", inner, "netns", lan])
        rig.ns("ip", "addr", "add", f"{gw}/24", "dev", outer)
        rig.ns("ip", "-6", "addr", "add", f"{gw6}/64", "dev", outer, "nodad")
        rig.ns("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
        rig.ns("ip", "link", "set", outer, "up")
        run(["ip", "-n", lan, "addr", "add", f"{host}/24", "dev", inner])
        run(["ip", "-n", lan, "link", "set", inner, "up"])
        run(["ip", "-n", lan, "route", "add", "default", "via", gw])
        run(["ip", "-n", lan, "-6", "addr", "add", f"{host6}/64", "dev", inner, "nodad"])
        run(["ip", "-n", lan, "-6", "route", "add", "default", "via", gw6])


def teardown_network():
    for lan in (LAN_A, LAN_B):
        run(["ip", "netns", "del", lan], check=False)


# --- the daemons -----------------------------------------------------------------------

# WGNET_TEST_BACKEND=kernel runs both daemons on the kernel module (tests/rig/vm-run).
DAEMON_ARGS = [f"--backend={os.environ['WGNET_TEST_BACKEND']}"] if os.environ.get("WGNET_TEST_BACKEND") else []
# fail-fsync.so (meson passes it, also to the valgrind run): both daemons run with it
# preloaded, and while a rig's flag file exists (disk_full) that daemon's commits fail as
# on a full disk. Without it the cases that need it say so and are left out.
SHIM = sys.argv[1] if len(sys.argv) > 1 and os.path.exists(sys.argv[1]) else ""


def start(rig):
    env = {"LD_PRELOAD": SHIM, "WGNET_FAIL_WRITE": os.path.join(rig.dir, "disk-full")} if SHIM else None
    rig.start_daemon(*DAEMON_ARGS, env=env)


@contextlib.contextmanager
def disk_full(rig):
    flag = os.path.join(rig.dir, "disk-full")
    open(flag, "w").close()
    try:
        yield
    finally:
        os.unlink(flag)


def restart(rig):
    rig.stop_daemon()
    start(rig)


def foreign_wg(rig, ifname):
    """A WireGuard interface wgnet does not manage (one wg-quick would make)."""
    if os.environ.get("WGNET_TEST_BACKEND") == "kernel":
        rig.ns("ip", "link", "add", ifname, "type", "wireguard")
    else:
        rig.ns("wireguard-go", ifname)


def hold_udp_port(rig, port):
    """Another program's socket on the port, in the rig's namespace, until killed."""
    holder = subprocess.Popen(["ip", "netns", "exec", rig.netns, "/usr/bin/python3", "-c",
                               "import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                               f"s.bind(('0.0.0.0', {port})); print('bound', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "bound"
    return holder
