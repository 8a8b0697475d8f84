#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Two builds side by side: each in a rig of its own (private bus, polkitd, namespace,
wgnetd, wireguard-go, state on disk), driven in alternation with the same command, so
that both see the same moments of a shared machine. Prints each build's median, min, max,
every value, the ratio of the medians and the median of the per-round ratios.

    sudo bench/bench-ab.py BUILD_A BUILD_B COMMAND ROUNDS      (PREFILL=9000 by default)

BUILD is a build directory of a source tree (its bench/bench-daemon.py and
tests/integration/wgnet.py are used with it). COMMAND, run once per round in each rig:

    add COUNT CALLERS   AddPeer COUNT times from CALLERS connections: adds per second
    bulk COUNT          AddPeers of COUNT into a new network: milliseconds
    stats COUNT GAP_MS  GetStats COUNT times GAP_MS apart: median milliseconds

Before the first round each rig gets a network with PREFILL peers (one AddPeers call).
For example, the AddPeer rate at 9,000-10,000 peers, 20 rounds of 200 adds:

    sudo bench/bench-ab.py ../old/build build "add 200 1" 20"""

import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def worker(build):
    """One rig for one build: reads commands on stdin, prints one figure per command."""
    src = os.path.dirname(os.path.abspath(build).rstrip("/"))
    os.environ["WGNET_BUILD_ROOT"] = os.path.abspath(build)
    sys.path.insert(0, os.path.join(src, "tests", "integration"))
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_daemon", os.path.join(src, "bench", "bench-daemon.py"))
    bd = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bd)
    from wgnet import Rig
    rig = Rig("ab")
    rig.state = os.path.join(tempfile.mkdtemp(prefix="wgnet-bench-state-", dir="/var/tmp"), "state")
    rig.start()
    try:
        bd.start_daemon_timed(rig)
        tag = rig.tag[-4:]
        net = bd.create_network(rig, "a", f"wgb{tag}a", "10.100.0.1/16", 52001)
        prefill = int(os.environ.get("PREFILL", "9000"))
        if prefill:
            bd.bench_bus(rig, "bulk", net, prefill, "a")
        print("ready", flush=True)
        for k, line in enumerate(sys.stdin, 1):
            cmd = line.split()
            if cmd[0] == "add":
                out = bd.bench_bus(rig, "add", net, int(cmd[1]), int(cmd[2]), f"b{k}-", 0)
                print(out[-1].split()[4], flush=True)
            elif cmd[0] == "bulk":
                other = bd.create_network(rig, f"n{k}", f"wgb{tag}{k}", f"10.{110 + k}.0.1/16", 52001 + k)
                t = float(bd.bench_bus(rig, "bulk", other, int(cmd[1]), f"d{k}-")[-1].split()[2])
                print(t * 1000, flush=True)
            elif cmd[0] == "stats":
                out = bd.bench_bus(rig, "stats", net, int(cmd[1]), int(cmd[2]))
                print(out[-1].split()[3], flush=True)
            else:
                print("nan", flush=True)
    finally:
        rig.stop()
        subprocess.run(["rm", "-rf", os.path.dirname(rig.state)])


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        return worker(sys.argv[2])
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    if os.geteuid() != 0:
        print("needs root (the rigs)")
        sys.exit(77)
    builds, command, rounds = sys.argv[1:3], sys.argv[3], int(sys.argv[4])
    procs = [subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", b], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for b in builds]
    try:
        for p in procs:
            while (line := p.stdout.readline().strip()) != "ready":
                if not line and p.poll() is not None:
                    sys.exit("a rig did not start")
        res = [[], []]
        for r in range(rounds):
            for i in (0, 1) if r % 2 == 0 else (1, 0):
                procs[i].stdin.write(command + "\n")
                procs[i].stdin.flush()
                res[i].append(float(procs[i].stdout.readline()))
    finally:
        for p in procs:
            p.stdin.close()
            p.wait()
    for b, v in zip(builds, res):
        print(f"{b}: median {statistics.median(v):.1f} min {min(v):.1f} max {max(v):.1f}  "
              + " ".join(f"{x:.0f}" for x in v))
    m = [statistics.median(v) for v in res]
    pairs = [b / a for a, b in zip(*res) if a > 0]
    print(f"ratio B/A of the medians: {m[1] / m[0]:.3f}; median of the per-round ratios: "
          f"{statistics.median(pairs):.3f}")


if __name__ == "__main__":
    main()
