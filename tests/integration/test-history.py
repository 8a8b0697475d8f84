#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Transfer history end to end: a client namespace (veth to the daemon's namespace) brings
up the config wgnetd generated with its own wireguard-go and pings through the tunnel; the
tick records the bytes and Peer.GetTransferHistory returns them in 5-minute and hourly
buckets, to an unprivileged caller too (the open bucket, held in memory until it closes,
included), and after a restart, with the bytes moved while wgnetd was stopped; never more
than the device counted while it lived; a disabled peer's bytes are not counted again when
its network goes down and up; a range of more than 10,000 points is refused."""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wgnet import PEER, expect_error, main, opts, require_root_and_tools, run, unwrap, wait_for  # noqa: E402

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
    state["network"] = path
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


def ifname(rig):
    return f"wgh{rig.tag[-5:]}"


def device_counters(rig):
    """The peer's counters on the device: (rx, tx)."""
    _, peers = rig.wg_dump(ifname(rig))
    assert len(peers) == 1, peers
    p = next(iter(peers.values()))
    return p["rx"], p["tx"]


def at_most_device(rig, what):
    """The device lived since the peer was added: the history holds no more than it counted."""
    h = history(rig)
    rx, tx = sum(x[1] for x in h), sum(x[2] for x in h)
    drx, dtx = device_counters(rig)
    assert rx <= drx and tx <= dtx, f"{what}: history rx {rx} tx {tx} above the device's {drx} {dtx}"
    return rx, tx


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
    at_most_device(rig, "while running")
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
    at_most_device(rig, "after a restart")
    rig.restart_daemon(signal.SIGKILL)      # a crash: what memory held is counted again, once
    h = history(rig)
    assert sum(x[1] for x in h) >= rx and sum(x[2] for x in h) >= tx
    at_most_device(rig, "after a crash")


def test_bytes_moved_while_stopped(rig):
    """The devices live on while wgnetd is stopped: the bytes moved then count after the start."""
    before = history(rig)
    rig.stop_daemon()
    r = run(["ip", "netns", "exec", state["client"], "ping", "-n", "-q", "-c", "20", "-i", "0.05", "-s", "1200",
             "-W", "2", "10.211.0.1"], check=False)
    assert r.returncode == 0, "ping through the tunnel with wgnetd stopped: " + r.stdout + r.stderr
    rx, tx = device_counters(rig)
    rig.start_daemon()
    # 20 pings of 1,200 bytes each way, beyond what was recorded before the stop
    assert sum(x[1] for x in before) + 20 * 1200 <= rx, (before, rx)

    def counted():
        h = history(rig)
        return sum(x[1] for x in h) >= rx and sum(x[2] for x in h) >= tx
    wait_for(counted, timeout=10, what=f"history of rx {rx} tx {tx}, the device's counters with wgnetd stopped")
    at_most_device(rig, "after the bytes moved while stopped")


def test_disabled_peer_across_down_up(rig):
    """A disabled peer is off the device; its last counters are not counted again when the
    network goes down and up (the device is made anew, without it)."""
    rig.peer(state["peer"]).Disable()
    time.sleep(1.5)
    h = history(rig)
    rx, tx = sum(x[1] for x in h), sum(x[2] for x in h)
    network = rig.network(state["network"])
    for _ in range(2):
        network.Deactivate()
        time.sleep(1.5)
        network.Activate()
        time.sleep(1.5)
    h = history(rig)
    assert (sum(x[1] for x in h), sum(x[2] for x in h)) == (rx, tx), (h, rx, tx)


def test_query_bound(rig):
    """Ten years of 5-minute buckets: a range of more than 10,000 points is refused, naming
    since and step; a larger step is answered."""
    path = os.path.join(rig.dir, "long.conf")
    with open(path, "w") as f:
        f.write("HistoryRetention5Min=3650\nHistoryRetentionHourly=3650\n")
    rig.stop_daemon()
    rig.start_daemon(f"--config={path}")
    now = int(time.time() * 10**6)
    since = now - 40 * 86400 * 10**6
    msg = expect_error("org.freedesktop.DBus.Error.InvalidArgs", rig.peer(state["peer"]).GetTransferHistory,
                       since, 0)
    assert f"since {since}" in msg and "step 0" in msg and "600000000" in msg, msg
    history(rig, since, 600 * 10**6)
    history(rig, now - 30 * 86400 * 10**6, 0)
    err, _ = rig.as_user(state["peer"], PEER, "GetTransferHistory", "tt", 0, 0)
    assert err == "org.freedesktop.DBus.Error.InvalidArgs", err


def test_cleanup(rig):
    state["wg"].terminate()
    state["wg"].wait(5)
    run(["ip", "netns", "del", state["client"]], check=False)


TESTS = [test_setup, test_history_recorded, test_unprivileged_and_any_step, test_survives_restart,
         test_bytes_moved_while_stopped, test_disabled_peer_across_down_up, test_query_bound, test_cleanup]

if __name__ == "__main__":
    require_root_and_tools("wireguard-go", "wg", "dbus-daemon", "/usr/lib/polkit-1/polkitd", "ping")
    main(TESTS, "history")
