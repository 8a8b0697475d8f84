# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the wgnetctl integration tests share: running wgnetctl (as root or the test user,
on a pipe or a pseudo-terminal), its JSON checked against `wg show dump`, and a real
WireGuard client brought up from a config it printed."""

import fcntl
import json
import os
import select
import subprocess
import termios
import time

from wgnet import BUILD, run

WGNETCTL = os.path.join(BUILD, "client", "wgnetctl")


def ifname(rig, n):
    return f"wgc{rig.tag[-5:]}{n}"


def ctl(rig, *args, user=False, rc=0, stdin=None):
    """Run wgnetctl (as the test user if user); check the exit status unless rc is None."""
    cmd = [WGNETCTL, *args]
    if user:
        cmd = ["runuser", "-u", rig.user, "--", *cmd]
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=rig.address, LC_ALL="C.UTF-8", NO_COLOR="1")
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60,
                       input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL)
    if rc is not None and r.returncode != rc:
        raise AssertionError(f"wgnetctl {' '.join(args)}: exit {r.returncode}, expected {rc}\n"
                             f"stdout: {r.stdout}\nstderr: {r.stderr}")
    return r


def ctl_json(rig, *args, **kw):
    return json.loads(ctl(rig, "--json=short", *args, **kw).stdout)


def fails(rig, rc, needle, *args, user=False):
    """wgnetctl ARGS exits with rc and its one error line contains needle."""
    r = ctl(rig, *args, user=user, rc=rc)
    assert needle in r.stderr, f"wgnetctl {' '.join(args)}: {needle!r} not in {r.stderr!r}"
    assert r.stderr.startswith("wgnetctl: "), r.stderr
    return r


def config_value(config, key):
    return [line.split("=", 1)[1].strip() for line in config.splitlines()
            if "=" in line and not line.lstrip().startswith("#") and line.split("=", 1)[0].strip() == key]


def pubkey_of(private):
    return run(["wg", "pubkey"], input=private + "\n").stdout.strip()


def check_against_device(rig, network, tries=3):
    """peer list --json of a network equals `wg show IF dump` (enabled peers). Counters and
    handshakes may move between the two reads (keepalives): then read both again."""
    for attempt in range(tries):
        net = ctl_json(rig, "network", "show", network)[0]
        listed = ctl_json(rig, "peer", "list", network)
        dev, peers = rig.wg_dump(net["Interface"])
        assert dev["public_key"] == net["PublicKey"] and dev["listen_port"] == net["ListenPort"]
        enabled = {p["PublicKey"]: p for p in listed if p["Enabled"]}
        # a pending key rotation: the new key is on the device too, without addresses
        pending = {p["PendingPublicKey"] for p in listed if p["Enabled"] and p["RotationPending"]}
        assert set(enabled) | pending == set(peers), (sorted(enabled), sorted(pending), sorted(peers))
        for key in pending:
            assert peers[key]["allowed_ips"] == [], peers[key]
        moving = False
        for key, p in enabled.items():
            d = peers[key]
            assert sorted(p["AllowedIPs"]) == d["allowed_ips"], (p["AllowedIPs"], d["allowed_ips"])
            # PersistentKeepalive is the client's; the hub keeps a keepalive only toward
            # site gateways (it must reach the LAN behind them), never toward clients.
            want = p["PersistentKeepalive"] if p["Role"] == "site-gateway" else 0
            assert want == d["keepalive"], (p["Name"], p["PersistentKeepalive"], d["keepalive"])
            assert p["HasPresharedKey"] == (d["preshared_key"] is not None)
            assert p["Endpoint"] == ("" if d["endpoint"] == "(none)" else d["endpoint"]), (p["Endpoint"], d)
            if (p["RxBytes"], p["TxBytes"], p["LastHandshake"] // 1000000) != (d["rx"], d["tx"], d["latest_handshake"]):
                moving = True
        assert net["PeerCount"] == len(listed)
        if not moving:
            return net, listed
        time.sleep(0.3)
    raise AssertionError(f"counters or handshakes differ from wg show dump: {listed} {peers}")


class Client:
    """A WireGuard client in its own namespace (wireguard-go), joined to the rig's
    namespace by a veth pair, brought up from a config that wgnetctl printed."""

    def __init__(self, rig, name, config, address, subnet, port):
        self.rig = rig
        self.netns = f"wgcn-{rig.tag}"
        self.ifname = f"wgk{rig.tag[-5:]}"
        self.veth = (f"vc{rig.tag[-5:]}", f"vs{rig.tag[-5:]}")
        run(["ip", "netns", "add", self.netns])
        run(["ip", "link", "add", self.veth[0], "type", "veth", "peer", "name", self.veth[1]])
        run(["ip", "link", "set", self.veth[0], "netns", self.netns])
        run(["ip", "link", "set", self.veth[1], "netns", rig.netns])
        run(["ip", "-n", rig.netns, "addr", "add", "192.0.2.1/24", "dev", self.veth[1]])
        run(["ip", "-n", rig.netns, "link", "set", self.veth[1], "up"])
        run(["ip", "-n", self.netns, "addr", "add", "192.0.2.2/24", "dev", self.veth[0]])
        run(["ip", "-n", self.netns, "link", "set", self.veth[0], "up"])
        # Only the keys wg(8) knows; the endpoint is the hub's side of the veth pair.
        lines = [line for line in config.splitlines()
                 if line.split("=", 1)[0].strip() not in ("Address", "DNS", "MTU", "Endpoint")]
        lines.append(f"Endpoint = 192.0.2.1:{port}")
        path = os.path.join(rig.dir, f"{name}.wg")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write("\n".join(lines) + "\n")
        run(["ip", "netns", "exec", self.netns, "wireguard-go", self.ifname])
        run(["ip", "netns", "exec", self.netns, "wg", "setconf", self.ifname, path])
        run(["ip", "-n", self.netns, "addr", "add", address, "dev", self.ifname])
        run(["ip", "-n", self.netns, "link", "set", self.ifname, "up"])
        run(["ip", "-n", self.netns, "route", "add", subnet, "dev", self.ifname])

    def ping(self, address):
        return run(["ip", "netns", "exec", self.netns, "ping", "-c", "2", "-W", "2", address], check=False).returncode

    def stop(self):
        # wireguard-go exits when its link goes
        run(["ip", "-n", self.netns, "link", "del", self.ifname], check=False)
        run(["ip", "netns", "del", self.netns], check=False)


def controlling_tty():
    """In the child: a new session with stdin (the pty) as its controlling terminal."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def run_on_tty(rig, args, answer=None, timeout=30, root=False):
    """wgnetctl as the test user (or root) on a pseudo-terminal; answer the password prompt
    (if any) with answer. Returns (exit status, everything the terminal showed)."""
    master, slave = os.openpty()
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=rig.address, LC_ALL="C.UTF-8", NO_COLOR="1")
    user = [] if root else ["setpriv", f"--reuid={rig.user}", f"--regid={rig.user}", "--init-groups"]
    p = subprocess.Popen([*user, WGNETCTL, *args], stdin=slave, stdout=slave, stderr=slave, env=env,
                         preexec_fn=controlling_tty)
    os.close(slave)
    out, answered, deadline = b"", 0.0, time.time() + timeout
    while time.time() < deadline:
        # The agent may flush the terminal's input when it turns echo off: answer a
        # moment after the prompt, and again while nothing happens.
        if (answer is not None and b"Password:" in out and b"AUTHENTICATION" not in out.split(b"Password:")[-1]
                and time.time() - answered > 1.5):
            if answered == 0.0:
                time.sleep(0.3)
            os.write(master, answer.encode() + b"\n")
            answered = time.time()
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        elif p.poll() is not None:
            break
    rc = p.wait(10)
    os.close(master)
    return rc, out.decode(errors="replace")
