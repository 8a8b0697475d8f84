#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Security as tests: every private key and PSK the daemon creates or is given (network
keys, stored and one-time peer keys, PSKs, rotated keys, tunnel keys and PSKs given and
made for a pairing offer, a mesh network's key and the one-time key a mesh invitation
carries) and the pairing and invitation strings themselves are looked for in the raw bytes
of the database, its WAL and shared-memory files (base64, raw 32 bytes, hex), copied while
the daemon runs (before a clean stop checkpoints and deletes the WAL) and again after a
restart, in the daemon's log (run with --debug), and in every property of every object; the
state directory is 0700 and its files 0600; the daemon is not dumpable (asked through gdb)
and its core size limit is 0."""

import base64
import os
import shutil
import subprocess
import sys

import dbus

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wgnet import NETWORK, PEER, main, opts, require_root_and_tools, run, unwrap  # noqa: E402

MESH = "org.wgnet1.Mesh"
TUNNEL = "org.wgnet1.Tunnel"
DB_FILES = ("wgnet.db", "wgnet.db-wal", "wgnet.db-shm")

# secrets: base64 keys (looked for in several forms); strings: pairing strings and mesh
# invitations, looked for as they are
state = {"secrets": set(), "strings": set()}


def config_values(config, key):
    return [line.split("=", 1)[1].strip() for line in config.splitlines()
            if "=" in line and not line.lstrip().startswith("#") and line.split("=", 1)[0].strip() == key]


def collect_config(config):
    for k in ("PrivateKey", "PresharedKey"):
        for v in config_values(config, k):
            state["secrets"].add(v)


def collect_device(rig, ifn):
    dev, peers = rig.wg_dump(ifn)
    state["secrets"].add(dev["private_key"])
    for p in peers.values():
        if p["preshared_key"]:
            state["secrets"].add(p["preshared_key"])
    return dev, peers


def collect_pairing(string):
    """A pairing string (tunnel offer) or mesh invitation (lib/pairing.c: kind, id, expiry,
    public key, then the secret: the PSK, or the one-time private key of an invitation)."""
    assert string.startswith("wgnet-pair:1:"), string
    b64 = string[len("wgnet-pair:1:"):]
    body = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
    state["strings"].add(string)
    state["strings"].add(b64)
    state["secrets"].add(base64.b64encode(body[57:89]).decode())
    return body[0]


def genkey(kind="genkey"):
    return run(["wg", kind]).stdout.strip()


def make_tunnels_and_mesh(rig):
    """A tunnel made by hand with a given PSK, one waiting for the other side with a pairing
    offer (its PSK made by the daemon, pending), a mesh network with an invitation."""
    m = rig.manager()
    tag = rig.tag[-5:]
    psk = genkey("genpsk")
    remote = run(["wg", "pubkey"], input=genkey() + "\n").stdout.strip()
    state["secrets"].add(psk)
    hand = f"wst{tag}0"
    m.CreateTunnel("by-hand", opts(Interface=hand, ListenPort=51892, RemotePublicKey=remote, RemoteEndpoint="192.0.2.7:51820",
                                   RemoteNetworks=["10.99.7.0/24"], PresharedKey=psk))
    _, peers = collect_device(rig, hand)
    assert peers[remote]["preshared_key"] == psk, "the tunnel's PSK is on its device"
    offering = f"wst{tag}1"
    path = unwrap(m.CreateTunnel("offering", opts(Interface=offering, ListenPort=51893, LocalNetworks=["10.99.8.0/24"],
                                                  Endpoint="192.0.2.8:51893")))
    tunnel = dbus.Interface(rig.bus().get_object("org.wgnet1", path), TUNNEL)
    assert collect_pairing(str(tunnel.GetPairing())) == 1, "an offer"
    assert rig.prop(path, TUNNEL, "Pairing") == "offered"
    collect_device(rig, offering)
    mesh_if = f"wsm{tag}"
    net = unwrap(m.CreateNetwork("secmesh", opts(Mode="mesh", Interface=mesh_if, Addresses=["10.98.0.1/24"],
                                                 ListenPort=51894, Endpoint="192.0.2.9:51894")))
    mesh = dbus.Interface(rig.bus().get_object("org.wgnet1", net), MESH)
    for name in ("laptop", "phone"):
        assert collect_pairing(str(mesh.CreateInvitation(opts(Name=name)))) == 3, "an invitation"
    collect_device(rig, mesh_if)


def copy_database(rig, to):
    """The database files as they are while the daemon runs: the WAL holds the pages of the
    recent commits (a clean stop checkpoints it into wgnet.db and deletes it)."""
    os.makedirs(to)
    for f in DB_FILES:
        shutil.copyfile(os.path.join(rig.state, f), os.path.join(to, f))
    assert os.path.getsize(os.path.join(to, "wgnet.db-wal")) > 0, "the WAL is empty: nothing to look at"


def test_make_secrets(rig):
    rig.start_daemon("--debug")
    m = rig.manager()
    nets = []
    for i, policy in enumerate(("stored", "one-time")):
        ifn = f"wgs{rig.tag[-5:]}{i}"
        path = unwrap(m.CreateNetwork(f"sec{i}", opts(Interface=ifn, Addresses=[f"10.9{i}.0.1/24"], ListenPort=51890 + i,
                                                       KeyPolicy=policy, Endpoint="vpn.example.com:51890")))
        nets.append((path, ifn))
        net = rig.network(path)
        for k in range(4):
            _, config = unwrap(net.AddPeer(f"peer{k}", opts()))
            collect_config(config)
        specs = dbus.Array([dbus.Struct((f"bulk{k}", opts()), signature="sa{sv}") for k in range(3)], signature="(sa{sv})")
        for _, config in unwrap(net.AddPeers(specs)):
            collect_config(config)
        collect_config(unwrap(net.Export()))
    # rotations: a new PSK, a new keypair (pending until the grace period ends or a handshake)
    net_path, ifn = nets[0]
    peer_path, config = unwrap(rig.network(net_path).AddPeer("rotated", opts()))
    collect_config(config)
    collect_config(unwrap(rig.peer(peer_path).RotateKeys("psk")))
    collect_config(unwrap(rig.peer(peer_path).RotateKeys("keypair")))
    collect_config(unwrap(rig.peer(peer_path).GetConfig()))
    for path, ifn in nets:
        collect_device(rig, ifn)
    make_tunnels_and_mesh(rig)
    copy_database(rig, os.path.join(rig.dir, "live"))
    # a restart reads every secret back (and logs at debug level)
    rig.stop_daemon()
    rig.start_daemon("--debug")
    state["nets"] = nets
    assert len(state["secrets"]) >= 38, len(state["secrets"])
    assert len(state["strings"]) == 6, state["strings"]


def forms(secret):
    raw = base64.b64decode(secret)
    assert len(raw) == 32
    return [secret.encode(), raw, raw.hex().encode(), raw.hex().upper().encode(),
            base64.urlsafe_b64encode(raw).rstrip(b"=")]


def test_no_secret_in_database(rig):
    live = os.path.join(rig.dir, "live")
    files = [os.path.join(live, f) for f in DB_FILES]
    files += [os.path.join(rig.state, f) for f in os.listdir(rig.state) if f.startswith("wgnet.db")]
    assert any(f.startswith(rig.state) and f.endswith("-wal") for f in files), files  # after the restart too
    blobs = {f: open(f, "rb").read() for f in files}
    for f, data in blobs.items():
        where = os.path.relpath(f, rig.dir)
        for s in state["secrets"]:
            for form in forms(s):
                assert form not in data, f"a secret is in clear in {where}"
        for s in state["strings"]:
            assert s.encode() not in data, f"a pairing string or invitation is in {where}"
    # and through SQLite itself, whatever the page layout
    dump = run(["sqlite3", os.path.join(rig.state, "wgnet.db"), ".dump"]).stdout
    for s in state["secrets"]:
        raw = base64.b64decode(s)
        assert s not in dump and raw.hex().upper() not in dump and raw.hex() not in dump
    for s in state["strings"]:
        assert s not in dump


def test_no_secret_in_log(rig):
    log = open(rig.daemon_log, "rb").read()
    assert b"peer 'peer0' added" in log, "the log was captured"
    for s in state["secrets"]:
        for form in forms(s):
            assert form not in log, "a secret is in the daemon's log"
    for s in state["strings"]:
        assert s.encode() not in log, "a pairing string or invitation is in the daemon's log"


def test_no_secret_in_properties(rig):
    bus = rig.bus()
    om = dbus.Interface(bus.get_object("org.wgnet1", "/org/wgnet1"), "org.freedesktop.DBus.ObjectManager")
    objects = unwrap(om.GetManagedObjects())
    assert sum(1 for v in objects.values() if PEER in v) >= 15
    # GetAll on every interface of every object, and on the manager
    values = [unwrap(dbus.Interface(bus.get_object("org.wgnet1", "/org/wgnet1"), "org.freedesktop.DBus.Properties")
                     .GetAll("org.wgnet1.Manager"))]
    for path, ifaces in objects.items():
        for iface in ifaces:
            values.append(rig.props(path, iface))
    text = repr(values)
    for s in state["secrets"]:
        raw = base64.b64decode(s)
        assert s not in text and raw.hex() not in text and repr(raw) not in text, "a property carries a secret"
    for s in state["strings"]:
        assert s not in text, "a property carries a pairing string or invitation"
    # and the public keys are there, so the search looked at the right values, also of the
    # tunnels and the mesh
    assert any(isinstance(v, dict) and v.get("PublicKey") for v in values)
    for iface in (NETWORK, TUNNEL, MESH):
        assert any(iface in v for v in objects.values()), f"no object with {iface}"
    print(f"#   {len(state['secrets'])} keys and {len(state['strings'])} pairing strings looked for in "
          f"{len(values)} property sets of {len(objects)} objects")


def test_state_file_modes(rig):
    st = os.stat(rig.state)
    assert st.st_mode & 0o777 == 0o700, oct(st.st_mode)
    names = os.listdir(rig.state)
    assert "wgnet.db" in names and "secret.key" in names, names
    for f in names:
        mode = os.stat(os.path.join(rig.state, f)).st_mode & 0o777
        assert mode & 0o077 == 0, f"{f} is {oct(mode)}"


def dumpable(pid):
    """PR_GET_DUMPABLE asked inside the process (gdb calls prctl there): the kernel shows
    the flag nowhere in /proc for a root process. None if gdb cannot tell."""
    r = subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx", "-ex", "print (int)prctl(3, 0, 0, 0, 0)"],
                       capture_output=True, text=True, timeout=60)
    for line in r.stdout.splitlines():
        if line.startswith("$1 = "):
            return int(line.split("=")[1])
    return None


def test_no_core_dumps(rig):
    pid = rig.daemon.pid
    assert open(f"/proc/{pid}/comm").read().strip() == "wgnetd"
    limits = open(f"/proc/{pid}/limits").read()
    core = next(line for line in limits.splitlines() if line.startswith("Max core file size"))
    assert core.split()[4:6] == ["0", "0"], core
    if not shutil.which("gdb"):
        print("skip PR_GET_DUMPABLE of wgnetd: gdb is not installed (only the core size limit was checked)")
        return
    # the probe tells a dumpable process apart
    control = subprocess.Popen(["sleep", "30"])
    try:
        assert dumpable(control.pid) == 1, "the probe cannot see a dumpable process: it proves nothing"
    finally:
        control.kill()
        control.wait()
    assert dumpable(pid) == 0, "wgnetd is dumpable (PR_SET_DUMPABLE not 0)"
    assert rig.manager().ListNetworks() is not None, "the daemon runs on after the probe"


if __name__ == "__main__":
    require_root_and_tools("wireguard-go", "wg", "sqlite3")
    main([test_make_secrets, test_no_secret_in_database, test_no_secret_in_log, test_no_secret_in_properties,
          test_state_file_modes, test_no_core_dumps], "secur")
