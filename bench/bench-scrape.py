#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A Prometheus scrape at N peers (default 10,000): wgnetd on the private bus rig with a
wireguard-go device of N peers, then wgnet-exporter run ROUNDS times the way the socket
unit runs it (a new process, a new bus connection, one HTTP request on stdin/stdout).
Prints the median and worst wall time of a whole scrape, the exporter's own collect time
(the bus calls) and the size of the answer. See docs/metrics.md.

Usage (root): bench/bench-scrape.py [PEERS [ROUNDS]] [--baseline=EXPORTER]   with WGNET_BUILD_ROOT=build

--baseline=EXPORTER: another build of wgnet-exporter (an older commit, say) scraped in
turns with this one against the same daemon, so that both are timed in the same run; its
answer must be the same text (the collect time aside)."""

import os
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from wgnet import BUILD, Rig, opts, unwrap  # noqa: E402

EXPORTER = os.path.join(BUILD, "exporter", "wgnet-exporter")


def scrape(address, exporter=EXPORTER):
    a, b = socket.socketpair()
    a.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
    t0 = time.perf_counter()
    p = subprocess.Popen([exporter], stdin=b, stdout=b, env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address))
    b.close()
    chunks = []
    while chunk := a.recv(1 << 20):     # read while it writes: the answer is larger than a socket buffer
        chunks.append(chunk)
    t = time.perf_counter() - t0
    data = b"".join(chunks)
    assert p.wait() == 0
    a.close()
    body = data.partition(b"\r\n\r\n")[2].decode()
    collect = float(body.rsplit("wgnet_exporter_collect_seconds ", 1)[1])
    return t, collect, len(body), body.rsplit("wgnet_exporter_collect_seconds ", 1)[0]


def summary(what, res):
    wall = [r[0] * 1000 for r in res]
    coll = [r[1] * 1000 for r in res]
    print(f"{what}scrape (process + bus + render + HTTP): median {statistics.median(wall):.1f} ms, "
          f"min {min(wall):.1f} ms, max {max(wall):.1f} ms over {len(res)}")
    print(f"{what}collect (ListNetworks + GetAll + the peers' call per network): median {statistics.median(coll):.1f} ms")
    print(f"{what}answer: {res[0][2]} bytes")
    return statistics.median(wall)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--baseline=")]
    baseline = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--baseline=")), None)
    n = int(args[0]) if len(args) > 0 else 10000
    rounds = int(args[1]) if len(args) > 1 else 20
    if os.geteuid() != 0:
        print("needs root (the bus rig, a network namespace)")
        sys.exit(77)
    rig = Rig("scrape")
    try:
        rig.start()
        rig.start_daemon("--tick=5")
        path = unwrap(rig.manager().CreateNetwork("bench", opts(Interface=f"wgs{rig.tag[-5:]}",
                                                                 Addresses=["10.90.0.1/16"], Mode="hub")))
        net = rig.network(path)
        t0 = time.time()
        for k in range(0, n, 1000):
            net.AddPeers([(f"peer{i:05d}", opts()) for i in range(k, min(n, k + 1000))], timeout=600)
        print(f"{n} peers added in {time.time() - t0:.1f} s", flush=True)
        scrape(rig.address)     # warm up
        if not baseline:
            summary("", [scrape(rig.address) for _ in range(rounds)])
            return
        scrape(rig.address, baseline)
        res, base = [], []
        for _ in range(rounds):
            res.append(scrape(rig.address))
            base.append(scrape(rig.address, baseline))
        assert res[-1][3] == base[-1][3], "the baseline exporter's answer differs"
        m = summary("this build: ", res)
        b = summary("baseline:   ", base)
        print(f"ratio (this build / baseline, medians): {m / b:.2f}")
    finally:
        rig.stop()


if __name__ == "__main__":
    main()
