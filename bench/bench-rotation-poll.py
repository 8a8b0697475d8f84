#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What a pending keypair rotation costs: a rig (private bus, polkitd, namespace, wgnetd of
BUILD, wireguard-go) with a network of PEERS peers; the CPU time of every process in the
namespace (wgnetd and wireguard-go) over 10 s at rest, then over 10 s with one rotation
pending (RotateKeys, a grace period of a day). Run it for two builds to compare:

    sudo bench/bench-rotation-poll.py BUILD [PEERS]     (PEERS 10000 by default)"""

import os
import subprocess
import sys
import time

build = os.path.abspath(sys.argv[1])
peers = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
os.environ["WGNET_BUILD_ROOT"] = build
sys.path.insert(0, os.path.join(os.path.dirname(build), "tests", "integration"))
from wgnet import Rig, opts, unwrap  # noqa: E402


def cpu_seconds(netns):
    pids = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True).stdout.split()
    ticks = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().split(")")[1].split()
            ticks += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def share(netns, seconds=10):
    c0 = cpu_seconds(netns)
    time.sleep(seconds)
    return (cpu_seconds(netns) - c0) / seconds


rig = Rig("rpoll")
try:
    rig.start()
    rig.start_daemon("--tick=5")
    net = unwrap(rig.manager().CreateNetwork("r", opts(Interface=f"wgq{rig.tag[-5:]}", Addresses=["10.60.0.1/16"],
                                                       GracePeriod=86400)))
    n = rig.network(net)
    unwrap(n.AddPeers([(f"p{i}", opts()) for i in range(peers)], timeout=300))
    time.sleep(2)
    idle = share(rig.netns)
    rig.peer(str(unwrap(n.GetStats())[0][0])).RotateKeys("keypair")
    time.sleep(1)
    pending = share(rig.netns)
    print(f"{build}: {peers} peers, CPU of wgnetd and wireguard-go: at rest {idle * 100:.1f}% of a core, "
          f"one rotation pending {pending * 100:.1f}%")
finally:
    rig.stop()
