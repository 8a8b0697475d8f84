#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Security as tests: every private key and PSK the daemon creates (network keys, stored
and one-time peer keys, PSKs, rotated keys) is looked for in the raw bytes of the database,
its WAL and shared-memory files (base64, raw 32 bytes, hex) and in the daemon's log (run
with --debug), and in every property of every object; the state directory is 0700 and its
files 0600; the daemon is not dumpable (asked through gdb) and its core size limit is 0."""

import base64
import os
import shutil
import subprocess
import sys

import dbus

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wgnet import NETWORK, PEER, main, opts, require_root_and_tools, run, unwrap  # noqa: E402

state = {"secrets": set()}


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
    # a restart reads every secret back (and logs at debug level)
    rig.stop_daemon()
    rig.start_daemon("--debug")
    state["nets"] = nets
    assert len(state["secrets"]) >= 30, len(state["secrets"])


def forms(secret):
    raw = base64.b64decode(secret)
    assert len(raw) == 32
    return [secret.encode(), raw, raw.hex().encode(), raw.hex().upper().encode(),
            base64.urlsafe_b64encode(raw).rstrip(b"=")]


def test_no_secret_in_database(rig):
    files = [os.path.join(rig.state, f) for f in os.listdir(rig.state) if f.startswith("wgnet.db")]
    assert any(f.endswith("-wal") for f in files), files  # the WAL holds recent pages: look there too
    blobs = {f: open(f, "rb").read() for f in files}
    for s in state["secrets"]:
        for form in forms(s):
            for f, data in blobs.items():
                assert form not in data, f"a secret is in clear in {os.path.basename(f)}"
    # and through SQLite itself, whatever the page layout
    dump = run(["sqlite3", os.path.join(rig.state, "wgnet.db"), ".dump"]).stdout
    for s in state["secrets"]:
        raw = base64.b64decode(s)
        assert s not in dump and raw.hex().upper() not in dump and raw.hex() not in dump


def test_no_secret_in_log(rig):
    log = open(rig.daemon_log, "rb").read()
    assert b"peer 'peer0' added" in log, "the log was captured"
    for s in state["secrets"]:
        for form in forms(s):
            assert form not in log, "a secret is in the daemon's log"


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
    # and the public keys are there, so the search looked at the right values
    assert any(isinstance(v, dict) and v.get("PublicKey") for v in values)
    assert NETWORK in next(iter(v for v in objects.values() if NETWORK in v))


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
