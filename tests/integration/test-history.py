#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Transfer history end to end: a client namespace (veth to the daemon's namespace) brings
up the config wgnetd generated with its own wireguard-go and pings through the tunnel; the
tick records the bytes and Peer.GetTransferHistory returns them in 5-minute and hourly
buckets, to an unprivileged caller too, and after a restart, with the bytes moved while
wgnetd was stopped."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wgnet import PEER, main, opts, require_root_and_tools, run, unwrap, wait_for  # noqa: E402

state = {}
MIN5, HOUR = 300 * 10**6, 3600 * 10**6


def conf(config, key):
    return [line.split("=", 1)[1].strip() for line in config.splitlines()
            if "=" in line and not line.startswith("#") and line.split("=", 1)[0].strip() == key]


def test_setup(rig):
    rig.start_daemon()
    client = f"wgnh-{rig.tag}"
    state["client"] = client
    run(["ip", "netns", "add", client])
    run(["ip", "link", "add", "hv0", "netns", rig.netns, "type", "veth", "peer", "name", "hv1", "netns", client])
    rig.ns("ip", "addr", "add", "10.210.0.1/24", "dev", "hv0")
    rig.ns("ip", "link", "set", "hv0", "up")
    run(["ip", "-n", client, "addr", "add", "10.210.0.2/24", "dev", "hv1"])
    run(["ip", "-n", client, "link", "set", "hv1", "up"])
    run(["ip", "-n", client, "link", "set", "lo", "up"])
    path = unwrap(rig.manager().CreateNetwork("hist", opts(Interface=f"wgh{rig.tag[-5:]}", Addresses=["10.211.0.1/24"],
                                                            ListenPort=51999, Endpoint="10.210.0.1:51999", Mode="hub")))
    peer, config = unwrap(rig.network(path).AddPeer("c", opts()))
    state["peer"] = peer
    d = rig.dir
    with open(os.path.join(d, "c.key"), "w") as f:
        f.write(conf(config, "PrivateKey")[0] + "\n")
    with open(os.path.join(d, "c.psk"), "w") as f:
        f.write(conf(config, "PresharedKey")[0] + "\n")
    state["wg"] = subprocess.Popen(["ip", "netns", "exec", client, "wireguard-go", "-f", "wgc0"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: run(["ip", "-n", client, "link", "show", "wgc0"], check=False).returncode == 0, what="wgc0")
    run(["ip", "netns", "exec", client, "wg", "set", "wgc0", "private-key", os.path.join(d, "c.key"),
         "peer", conf(config, "PublicKey")[0], "preshared-key", os.path.join(d, "c.psk"),
         "endpoint", "10.210.0.1:51999", "allowed-ips", "10.211.0.0/24"])
    run(["ip", "-n", client, "addr", "add", conf(config, "Address")[0].split(",")[0].strip(), "dev", "wgc0"])
    run(["ip", "-n", client, "link", "set", "wgc0", "up"])
    run(["ip", "-n", client, "route", "add", "10.211.0.0/24", "dev", "wgc0"])
    r = run(["ip", "netns", "exec", client, "ping", "-n", "-q", "-c", "5", "-i", "0.2", "-W", "2", "10.211.0.1"],
            check=False)
    assert r.returncode == 0, "ping through the tunnel: " + r.stdout + r.stderr


def history(rig, since=0, step=0):
    return unwrap(rig.peer(state["peer"]).GetTransferHistory(since, step))


def test_history_recorded(rig):
    try:
        wait_for(lambda: any(rx > 0 and tx > 0 for _, rx, tx in history(rig)), timeout=15, what="history with traffic")
    except AssertionError:
        p = rig.props(state["peer"], PEER)
        raise AssertionError(f"no history: peer rx {p['RxBytes']} tx {p['TxBytes']}, history {history(rig)}, rows "
                             + rig.sqlite("SELECT count(*) FROM history_fine; PRAGMA user_version"))
    # what the device saw since the peer came up is at least what history counted
    time.sleep(1.5)
    fine = history(rig)
    p = rig.props(state["peer"], PEER)
    rx, tx = sum(x[1] for x in fine), sum(x[2] for x in fine)
    assert 0 < rx <= p["RxBytes"] and 0 < tx <= p["TxBytes"], (rx, tx, p["RxBytes"], p["TxBytes"])
    assert rx >= 5 * 84 and tx >= 5 * 84, "five pings each way (84 bytes of ICMP each, plus WireGuard)"
    assert all(t % MIN5 == 0 for t, _, _ in fine), "5-minute buckets"
    coarse = history(rig, 0, HOUR)
    assert all(t % HOUR == 0 for t, _, _ in coarse)
    assert sum(x[1] for x in coarse) == rx and sum(x[2] for x in coarse) == tx, "hourly = sum of 5-minute"
    now = int(time.time() * 10**6)
    assert history(rig, now + HOUR, 0) == []
    state["totals"] = (rx, tx)


def test_unprivileged_and_any_step(rig):
    err, res = rig.as_user(state["peer"], PEER, "GetTransferHistory", "tt", 0, 0)
    assert err is None and len(res) >= 1, err
    # a step below the bucket is rounded up to it: the answer stays bounded
    err, res1 = rig.as_user(state["peer"], PEER, "GetTransferHistory", "tt", 0, 1)
    assert err is None and res1 == res, (err, res1, res)


def test_survives_restart(rig):
    rig.restart_daemon()
    rx, tx = state["totals"]
    h = history(rig)
    assert sum(x[1] for x in h) >= rx and sum(x[2] for x in h) >= tx


def test_bytes_moved_while_stopped(rig):
    """The devices live on while wgnetd is stopped: the bytes moved then count after the start."""
    ifname = f"wgh{rig.tag[-5:]}"
    before = history(rig)
    rig.stop_daemon()
    r = run(["ip", "netns", "exec", state["client"], "ping", "-n", "-q", "-c", "20", "-i", "0.05", "-s", "1200",
             "-W", "2", "10.211.0.1"], check=False)
    assert r.returncode == 0, "ping through the tunnel with wgnetd stopped: " + r.stdout + r.stderr
    rx, tx = (int(x) for x in rig.ns("wg", "show", ifname, "transfer").stdout.split()[1:3])
    rig.start_daemon()
    # 20 pings of 1,200 bytes each way, beyond what was recorded before the stop
    assert sum(x[1] for x in before) + 20 * 1200 <= rx, (before, rx)

    def counted():
        h = history(rig)
        return sum(x[1] for x in h) >= rx and sum(x[2] for x in h) >= tx
    wait_for(counted, timeout=10, what=f"history of rx {rx} tx {tx}, the device's counters with wgnetd stopped")


def test_cleanup(rig):
    state["wg"].terminate()
    state["wg"].wait(5)
    run(["ip", "netns", "del", state["client"]], check=False)


TESTS = [test_setup, test_history_recorded, test_unprivileged_and_any_step, test_survives_restart,
         test_bytes_moved_while_stopped, test_cleanup]

if __name__ == "__main__":
    require_root_and_tools("wireguard-go", "wg", "dbus-daemon", "/usr/lib/polkit-1/polkitd", "ping")
    main(TESTS, "history")
