#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The mesh's control channel against local users and on-path hosts, with real packets:
three hosts of test-mesh.py's kind (namespace, private bus, wgnetd on wireguard-go, one LAN):
h1 coordinates, h2 joins, h3 plays the attacker (a host on the LAN, or a joiner of its own
making that holds an invitation's one-time key and speaks the channel by hand).

- A process on a member host that is not its wgnetd gets no D-Bus on the coordinator's
  control port (no Leave for it) and cannot keep the member's own connection out.
- A process that listens on the coordinator's mesh address while its wgnetd is stopped
  cannot prove the coordinator's key: the member sends it nothing of D-Bus.
- A client that proves its key gets D-Bus; one message longer than the cap closes it.
- A member connects only through its mesh interface, not by a route around it.
- JoinMesh: ListenPort 0 is InvalidArgs, a subnet that another interface routes is
  RouteInUse; a mesh whose database row is missing keeps its members across a restart."""

import base64
import hashlib
import importlib.util
import os
import socket
import struct
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from wgnet import NETWORK, require_root_and_tools, wait_for  # noqa: E402

import dbus  # noqa: E402

_spec = importlib.util.spec_from_file_location("test_mesh", os.path.join(HERE, "test-mesh.py"))
tm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tm)
MESH, MEMBER, E, INVALID, MESH_NET, opts = tm.MESH, tm.MEMBER, tm.E, tm.INVALID, tm.MESH_NET, tm.opts
COORD = f"{MESH_NET}.1"
PORT = 51821


def invitation_parts(inv):
    """(id, coordinator key, one-time private key, first reserved address with prefix)."""
    s = inv.split(":", 2)[2]
    data = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))[:-4]
    inv_id, ckey, priv = data[1:17], data[25:57], data[57:89]
    o = 89 + 1 + data[89]
    family, plen = data[o + 1], data[o + 2]
    assert family == 4, data[o:o + 8]
    addr = socket.inet_ntoa(data[o + 3:o + 7])
    return inv_id, ckey, priv, f"{addr}/{plen}"


def x25519(priv, pub):
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    return X25519PrivateKey.from_private_bytes(priv).exchange(X25519PublicKey.from_public_bytes(pub))


def public_of(priv):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    return X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def proof(k, role, nm, nc):
    return hashlib.blake2b(role + nm + nc, key=k, digest_size=32).digest()


def session_key(priv, own_pub, other_pub, member_is_own):
    mk, ck = (own_pub, other_pub) if member_is_own else (other_pub, own_pub)
    return hashlib.blake2b(b"wgnet mesh control 1" + mk + ck, key=x25519(priv, other_pub), digest_size=32).digest()


def dbus_call(serial, path, iface, member, body_len=None):
    """A method call without arguments, marshalled by hand (little endian)."""
    fields = b""
    for code, sig, val in ((1, b"o", path), (2, b"s", iface), (3, b"s", member)):
        fields += b"\0" * (-len(fields) % 8)
        v = val.encode()
        fields += bytes([code, 1]) + sig + b"\0" + struct.pack("<I", len(v)) + v + b"\0"
    head = b"l\x01\x00\x01" + struct.pack("<III", body_len or 0, serial, len(fields)) + fields
    return head + b"\0" * (-len(head) % 8)


def recv_exactly(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise ConnectionError(f"closed after {len(b)} of {n} bytes")
        b += c
    return b


def closed_within(s, seconds):
    s.settimeout(seconds)
    try:
        while s.recv(65536):
            pass
        return True
    except socket.timeout:
        return False
    except OSError:
        return True


class Rig(tm.Mesh):
    def setup3(self):
        self.setup(2)
        c, h2 = self.hosts[0], self.hosts[1]
        self.net = str(c.manager().CreateNetwork("mesh", opts(Mode="mesh", Interface=c.ifname, ListenPort=51820,
                                                             Addresses=[f"{MESH_NET}.1/24"],
                                                             Endpoint=f"{c.lan_ip}:51820")))
        self.join(h2, self.invite(h2.name), Name="mesh")
        self.addr_of[c] = COORD
        wait_for(lambda: h2.prop(self.members[h2], MESH, "State") == "connected", 20, "h2 connected")


def listener(netns, code):
    """A Python program listening in a namespace, once it said 'listening'."""
    p = subprocess.Popen(["ip", "netns", "exec", netns, "/usr/bin/python3", "-c", code], stdout=subprocess.PIPE,
                         text=True)
    if p.stdout.readline().strip() != "listening":
        p.kill()
        p.wait()
        raise AssertionError(f"the listener in {netns} did not start")
    return p


def member_of(m):
    return m.hosts[1]


def force_reconnect(m):
    """Mesh.Update closes every member's connection: they connect again at once."""
    mesh = m.coord.mesh(m.net)
    mesh.Update(opts(OfflineAfter=tm.OFFLINE_AFTER + 1))
    mesh.Update(opts(OfflineAfter=tm.OFFLINE_AFTER))


def test_local_process_gets_no_dbus(m):
    """A process on a member host connects from the member's mesh address: before, it could
    call Leave (and the coordinator removed the member everywhere, without polkit). Now it
    must prove the member's WireGuard key first: with D-Bus straight away, or a proof of a
    wrong key, the coordinator closes the connection; the member stays."""
    c, h = m.coord, member_of(m)
    code = ("import dbus\n"
            "try:\n"
            f"  b=dbus.connection.Connection('tcp:host={COORD},port={PORT}')\n"
            "  b.call_blocking(None,'/org/wgnet1/mesh','org.wgnet1.MeshControl','Leave','',(),timeout=5)\n"
            "  print('left')\n"
            "except dbus.DBusException as e: print(e.get_dbus_name())\n")
    r = h.ns("/usr/bin/python3", "-c", code, check=False)
    out = (r.stdout + r.stderr).strip().split("\n")[-1]
    print(f"# Leave called by a local process of the member host: {out}")
    assert out != "left" and not out.startswith(E), out
    # The handshake with the member's public key (it is no secret) and a made-up proof.
    hpub = base64.b64decode(h.prop(m.members[h], NETWORK, "PublicKey"))
    code = ("import socket,os,sys\n"
            f"s=socket.create_connection(('{COORD}',{PORT}),3)\n"
            f"s.sendall(b'wgnetMC1'+os.urandom(32)+bytes.fromhex('{hpub.hex()}'))\n"
            "got=b''\n"
            "while len(got)<104:\n"
            "  c=s.recv(104-len(got))\n"
            "  if not c: break\n"
            "  got+=c\n"
            "s.sendall(os.urandom(32)+b'\\0AUTH ANONYMOUS 74657374\\r\\nBEGIN\\r\\n')\n"
            "s.settimeout(3)\n"
            "rest=b''\n"
            "try:\n"
            "  while True:\n"
            "    c=s.recv(4096)\n"
            "    if not c: break\n"
            "    rest+=c\n"
            "  print('closed', len(got), len(rest))\n"
            "except ConnectionResetError: print('closed', len(got), len(rest))\n"
            "except socket.timeout: print('open', len(got), len(rest))\n")
    out = h.ns("/usr/bin/python3", "-c", code).stdout.strip()
    print(f"# a made-up proof of the member's key: {out}")
    assert out == "closed 104 0", out   # its hello and proof, then nothing: no "OK" of D-Bus
    assert h.name in c.peers(m.net) and c.peers(m.net)[h.name]["Invitation"] is False
    assert c.sqlite("SELECT departed FROM mesh_peers WHERE peer_id = "
                    f"(SELECT id FROM peers WHERE name = '{h.name}')") == "0"
    assert h.prop(m.members[h], MESH, "State") == "connected"


def test_local_process_cannot_crowd_out(m):
    """The same process opens eight connections and holds them: before, four of them took
    every place of the member's address and wgnetd's own connection was refused. Now
    unproven connections only push each other out; the member reconnects at once."""
    h = member_of(m)
    code = ("import socket,time,sys\n"
            "socks=[socket.create_connection(('%s',%d),3) for i in range(8)]\n"
            "print('held', flush=True)\n"
            "time.sleep(8)\n" % (COORD, PORT))
    p = subprocess.Popen(["ip", "netns", "exec", h.netns, "/usr/bin/python3", "-c", code], stdout=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline().strip() == "held"
        t0 = time.time()
        force_reconnect(m)
        wait_for(lambda: h.prop(m.members[h], MESH, "State") != "connected", 3, "the member's connection closed")
        wait_for(lambda: h.prop(m.members[h], MESH, "State") == "connected", 6, "the member connected again")
        print(f"# the member reconnected {time.time() - t0:.2f}s after its connection was closed, "
              "8 unproven connections held from its address")
    finally:
        p.kill()
        p.wait()


def test_impostor_coordinator(m):
    """While the coordinator's wgnetd is stopped (its tunnel runs on), a process on its host
    listens on the control port. Before, members talked to it and applied its member list.
    Now it cannot prove the coordinator's key: the member closes, having sent nothing of
    D-Bus, and keeps its peers; it connects to the real one when that is back."""
    c, h = m.coord, member_of(m)
    ckey = base64.b64decode(c.prop(m.net, NETWORK, "PublicKey"))
    before = sorted(h.peers(m.members[h]))
    c.stop_daemon()
    code = ("import socket,os,time\n"
            "l=socket.socket(); l.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
            f"l.bind(('{COORD}',{PORT})); l.listen(8); l.settimeout(12)\n"
            "print('listening',flush=True)\n"
            "n=0; leaked=0\n"
            "t=time.time()+10\n"
            "while time.time()<t and n<3:\n"
            "  try: s,_=l.accept()\n"
            "  except socket.timeout: break\n"
            "  n+=1\n"
            f"  s.sendall(b'wgnetMC1'+os.urandom(32)+bytes.fromhex('{ckey.hex()}')+os.urandom(32))\n"
            "  s.settimeout(3); got=b''\n"
            "  try:\n"
            "    while True:\n"
            "      c=s.recv(4096)\n"
            "      if not c: break\n"
            "      got+=c\n"
            "  except socket.timeout: pass\n"
            "  leaked+=len(got)>104\n"
            "  print('conn',len(got),flush=True)\n"
            "print('done',n,leaked,flush=True)\n")
    p = listener(c.netns, code)
    try:
        out = p.communicate(timeout=30)[0].strip().split("\n")
    finally:
        p.kill()
        p.wait()
        c.start_daemon()
        c.wait_daemon()
    print(f"# an impostor on the coordinator's port: {out[-1]}")
    n, leaked = map(int, out[-1].split()[1:])
    assert n >= 1 and leaked == 0, out
    assert all(line == "conn 104" for line in out if line.startswith("conn")), out
    assert sorted(h.peers(m.members[h])) == before
    with open(h.log) as f:
        assert "did not prove the coordinator's key" in f.read()
    wait_for(lambda: h.prop(m.members[h], MESH, "State") == "connected", 30, "the member back with the coordinator")


def raw_joiner(m, host, ifname):
    """host becomes a joiner by hand: a WireGuard interface with an invitation's one-time key
    and the coordinator as its peer. Returns (one-time private key, coordinator key)."""
    c = m.coord
    inv = m.invite("raw")
    inv_id, ckey, priv, addr = invitation_parts(inv)
    keyfile = os.path.join(m.base, "raw.key")
    with open(keyfile, "w") as f:
        f.write(base64.b64encode(priv).decode())
    host.ns("wireguard-go", ifname)
    host.ns("wg", "set", ifname, "private-key", keyfile, "peer", base64.b64encode(ckey).decode(),
            "endpoint", f"{c.lan_ip}:51820", "allowed-ips", f"{COORD}/32")
    host.ns("ip", "addr", "add", addr, "dev", ifname)
    host.ns("ip", "link", "set", ifname, "up")
    return priv, ckey


def test_proven_client_and_message_cap(m):
    """A client that holds a key (a joiner by hand with an invitation's one-time key) proves
    it and checks the coordinator's proof, then gets D-Bus: a Ping is answered. A message
    that declares more than the cap (64 KiB from a member; sd-bus alone takes 128 MiB) closes
    the connection before its body comes."""
    h3 = m.hosts[2]
    ifname = f"wraw{tm.PID}"
    priv, ckey = raw_joiner(m, h3, ifname)
    pub = public_of(priv)
    k = session_key(priv, pub, ckey, True)
    code = f"""
import socket,os,sys,hashlib,struct
def proof(role,nm,nc): return hashlib.blake2b(role+nm+nc,key=bytes.fromhex('{k.hex()}'),digest_size=32).digest()
def rx(s,n):
    b=b''
    while len(b)<n:
        c=s.recv(n-len(b))
        if not c: raise SystemExit('closed after %d' % len(b))
        b+=c
    return b
s=socket.create_connection(('{COORD}',{PORT}),10)
s.settimeout(5)
nm=os.urandom(32)
s.sendall(b'wgnetMC1'+nm+bytes.fromhex('{pub.hex()}'))
h=rx(s,72)
assert h[:8]==b'wgnetMC1' and h[40:]==bytes.fromhex('{ckey.hex()}')
nc=h[8:40]
assert rx(s,32)==proof(b'C',nm,nc), 'the coordinator proof'
s.sendall(proof(b'M',nm,nc)+b'\\0AUTH ANONYMOUS 74657374\\r\\nBEGIN\\r\\n')
line=b''
while not line.endswith(b'\\r\\n'): line+=rx(s,1)
assert line.startswith(b'OK '), line
s.sendall(bytes.fromhex(sys.argv[1]))
if sys.argv[2]=='ping':
    r=rx(s,16)
    print('reply', chr(r[0]), r[1])
else:
    s.sendall(b'\\0'*4096)
    s.settimeout(3)
    try:
        while s.recv(65536): pass
        print('closed')
    except ConnectionResetError: print('closed')
    except socket.timeout: print('open')
"""
    ping = dbus_call(1, "/org/wgnet1/mesh", "org.freedesktop.DBus.Peer", "Ping")
    out = h3.ns("/usr/bin/python3", "-c", code, ping.hex(), "ping").stdout.strip()
    print(f"# proven client, Ping: {out}")
    assert out == "reply l 2", out        # a method return
    big = dbus_call(2, "/org/wgnet1/mesh", "org.freedesktop.DBus.Peer", "Ping", body_len=2 * 1024 * 1024)
    out = h3.ns("/usr/bin/python3", "-c", code, big.hex(), "big").stdout.strip()
    print(f"# proven client, a message of 2 MiB declared: {out}")
    assert out == "closed", out
    with open(m.coord.log) as f:
        assert "a message too long" in f.read()
    h3.ns("ip", "link", "del", ifname)
    m.coord.mesh(m.net).RemoveMember(m.coord.peers(m.net)["raw"]["path"])


def test_member_bound_to_its_interface(m):
    """A route around the tunnel toward the coordinator's mesh address (an on-path host
    answering for it): the member's connection still goes through its mesh interface and
    the host on the path sees none."""
    h, h3 = member_of(m), m.hosts[2]
    h3.ns("ip", "addr", "add", f"{COORD}/32", "dev", "lan0")
    h.ns("ip", "route", "add", f"{COORD}/32", "via", h3.lan_ip, "dev", "lan0")
    code = ("import socket,time\n"
            f"l=socket.socket(); l.bind(('{COORD}',{PORT})); l.listen(8); l.settimeout(6)\n"
            "print('listening',flush=True)\n"
            "try:\n"
            "  s,a=l.accept(); print('connection from',a[0])\n"
            "except socket.timeout: print('none')\n")
    p = listener(h3.netns, code)
    try:
        force_reconnect(m)
        out = p.communicate(timeout=20)[0].strip()
    finally:
        p.kill()
        p.wait()
        h.ns("ip", "route", "del", f"{COORD}/32", check=False)
        h3.ns("ip", "addr", "del", f"{COORD}/32", "dev", "lan0", check=False)
    print(f"# the host on the path: {out}")
    assert out == "none", out
    wait_for(lambda: h.prop(m.members[h], MESH, "State") == "connected", 15, "the member connected")


def test_join_listen_port_zero(m):
    """JoinMesh with ListenPort 0: InvalidArgs (it was ListenPortInUse), nothing created."""
    h3 = m.hosts[2]
    inv = m.invite("port0")
    try:
        h3.manager().JoinMesh(inv, opts(Interface="wmzero", ListenPort=0))
        raise AssertionError("ListenPort 0 accepted")
    except dbus.DBusException as e:
        assert e.get_dbus_name() == INVALID and "'0'" in str(e), e
    assert h3.sqlite("SELECT count(*) FROM networks") == "0"
    m.coord.mesh(m.net).RemoveMember(m.coord.peers(m.net)["port0"]["path"])


def test_join_subnet_routed_elsewhere(m):
    """JoinMesh on a host where another interface routes the mesh's subnet (a LAN, another
    VPN): RouteInUse naming that interface, nothing created (the mesh's route would have
    taken that traffic)."""
    h3 = m.hosts[2]
    dummy = f"wjr{tm.PID}"
    h3.ns("ip", "link", "add", dummy, "type", "veth", "peer", "name", f"wjq{tm.PID}")
    h3.ns("ip", "link", "set", dummy, "up")
    h3.ns("ip", "route", "add", f"{MESH_NET}.0/24", "dev", dummy)
    inv = m.invite("routed")
    try:
        h3.manager().JoinMesh(inv, opts(Interface="wmrouted", ListenPort=51830))
        raise AssertionError("JoinMesh accepted a subnet routed elsewhere")
    except dbus.DBusException as e:
        assert e.get_dbus_name() == E + "RouteInUse" and dummy in str(e) and f"{MESH_NET}.0/24" in str(e), e
    finally:
        h3.ns("ip", "link", "del", dummy, check=False)
    assert h3.sqlite("SELECT count(*) FROM networks") == "0"
    assert h3.ns("ip", "link", "show", "wmrouted", check=False).returncode != 0
    m.coord.mesh(m.net).RemoveMember(m.coord.peers(m.net)["routed"]["path"])


def test_mesh_row_missing(m):
    """A coordinator's network whose meshes row is missing (CreateNetwork wrote it apart from
    its transaction, and a failed write was ignored): after a restart it is still the
    coordinator with every member (before, every member was removed as an unfinished
    invitation), and the row is written again."""
    c, h = m.coord, member_of(m)
    assert c.sqlite("SELECT count(*) FROM meshes") == "1"
    c.stop_daemon()
    c.sqlite("DELETE FROM meshes")
    c.start_daemon()
    c.wait_daemon()
    wait_for(lambda: c.sqlite("SELECT count(*) FROM meshes") == "1", 10, "the row written again")
    assert h.name in c.peers(m.net), c.peers(m.net)
    assert c.prop(m.net, MESH, "Role") == "coordinator"
    with open(c.log) as f:
        log = f.read()
    assert "a crash left unfinished" not in log and "the mesh had no row in the database" in log
    wait_for(lambda: h.prop(m.members[h], MESH, "State") == "connected", 30, "the member connected again")
    # a heartbeat of 0 in the database (Mesh.Update cannot set one) gives way to the default
    # instead of a timer that re-arms at once
    want = (c.prop(m.net, MESH, "HeartbeatInterval"), c.prop(m.net, MESH, "OfflineAfter"))
    c.stop_daemon()
    c.sqlite("UPDATE meshes SET heartbeat = 0")
    c.start_daemon()
    c.wait_daemon()
    assert (c.prop(m.net, MESH, "HeartbeatInterval"), c.prop(m.net, MESH, "OfflineAfter")) == want
    with open(c.log) as f:
        assert "the mesh's heartbeat 0 s" in f.read()
    wait_for(lambda: h.prop(m.members[h], MESH, "State") == "connected", 30, "the member connected again")


def test_disabled_member_leaves_everyone(m):
    """Peer.Disable of a member on the coordinator takes it off every member's device at
    once (the list leaves it out), not when its heartbeats are missed (OfflineAfter, 2
    minutes here); Enable brings it back. Last: a third member joins for it."""
    c, h2, h3 = m.coord, member_of(m), m.hosts[2]
    m.join(h3, m.invite(h3.name), Name="mesh")
    wait_for(lambda: h3.prop(m.members[h3], MESH, "State") == "connected", 20, "h3 connected")
    pub2 = h2.prop(m.members[h2], NETWORK, "PublicKey")
    wait_for(lambda: pub2 in h3.wg(h3.ifname)[1], 20, "h2 on h3's device")
    peer = dbus.Interface(c.obj(c.peers(m.net)[h2.name]["path"]), tm.PEER)
    time.sleep(3)       # no list of the join still on its way (paced, one a second)
    t0 = time.time()
    peer.Disable()
    wait_for(lambda: pub2 not in h3.wg(h3.ifname)[1], 2, "the disabled member off h3's device")
    took = time.time() - t0
    assert pub2 not in c.wg(c.ifname)[1]
    m.summary.append(f"disabled member off the others' devices after {took:.2f}s")
    peer.Enable()
    wait_for(lambda: pub2 in h3.wg(h3.ifname)[1], 30, "the member back on h3's device")


TESTS = [test_local_process_gets_no_dbus, test_local_process_cannot_crowd_out, test_impostor_coordinator,
         test_proven_client_and_message_cap, test_member_bound_to_its_interface, test_join_listen_port_zero,
         test_join_subnet_routed_elsewhere, test_mesh_row_missing, test_disabled_member_leaves_everyone]


def main():
    require_root_and_tools("wireguard-go", "wg", "dbus-daemon", "sqlite3")
    try:
        import cryptography  # noqa: F401
    except ImportError:
        print("SKIP: python3-cryptography is needed to speak the control channel by hand")
        sys.exit(77)
    m = Rig()
    failed = ran = 0
    only = os.environ.get("TEST_ONLY")
    try:
        m.setup3()
        for t in TESTS:
            if only and not any(o in t.__name__ for o in only.split(",")):
                continue
            t0 = time.time()
            ran += 1
            try:
                t(m)
                print(f"ok   {t.__name__} ({time.time() - t0:.2f}s)", flush=True)
            except Exception:
                failed += 1
                print(f"FAIL {t.__name__}", flush=True)
                traceback.print_exc()
                for h in m.hosts:
                    print(f"--- {h.name} wgnetd log tail:\n" + h.log_tail(), flush=True)
    finally:
        m.teardown()
    print(f"# {ran - failed} ok, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
