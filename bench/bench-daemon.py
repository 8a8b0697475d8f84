#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""wgnetd benchmarks against baselines measured in the same run on the same device.

    sudo /usr/bin/python3 bench/bench-daemon.py [N] [--rss-max=M] [--only=a,b,...]

N peers (default 10000); M peers for the largest RSS point (default 100000). It uses the
integration rig (tests/integration/wgnet.py): a private system bus with the real polkitd,
wgnetd (--backend=userspace) in a network namespace with wireguard-go, the state directory
on disk (durable commits). Baselines run on a second wireguard-go device in the same
namespace: `wg setconf` of the same peers, one `wg set` process per peer, and the way
wg-easy applies a change (rewrite the whole wg-quick file, then
`wg syncconf IF <(wg-quick strip FILE)`). Prints a Markdown table; ratios are what to quote
on a shared machine, not the absolute times. Needs root; a benchmark, not a test."""

import base64
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))
import dbus  # noqa: E402
from wgnet import BUILD, NETWORK, WGNETD, Rig, opts, run, unwrap  # noqa: E402

BENCH_BUS = os.path.join(BUILD, "bench", "bench-bus")
N = 10000
RSS_MAX = 100000
ONLY = None
rows = []


def arg_parse():
    global N, RSS_MAX, ONLY
    for a in sys.argv[1:]:
        if a.startswith("--rss-max="):
            RSS_MAX = int(a.split("=", 1)[1])
        elif a.startswith("--only="):
            ONLY = set(a.split("=", 1)[1].split(","))
        else:
            N = int(a)


def want(part):
    return ONLY is None or part in ONLY


def row(what, wgnet, baseline_what, baseline, ratio, target=""):
    rows.append((what, wgnet, baseline_what, baseline, ratio, target))
    print(f"  {what}: {wgnet} | {baseline_what}: {baseline} | {ratio} {target}", flush=True)


def bench_bus(rig, *args, user=None, input=None):
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=rig.address)
    cmd = [BENCH_BUS, *map(str, args)]
    if user:
        cmd = ["runuser", "-u", user, "--", "env", f"DBUS_SYSTEM_BUS_ADDRESS={rig.address}", *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, input=input)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {r.stderr}")
    return r.stdout.strip().splitlines()


def rss_kib(pid):
    """VmRSS at rest: 0.2 s after the last call (wgnetd gives a bulk's freed memory back
    once its loop is idle)."""
    time.sleep(0.2)
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def start_daemon_timed(rig):
    """Start wgnetd; seconds until it owns its name (it reconciles every device first)."""
    log = open(rig.daemon_log, "a")
    t0 = time.monotonic()
    rig.daemon = subprocess.Popen(
        ["ip", "netns", "exec", rig.netns, WGNETD, f"--state-dir={rig.state}", "--config=/dev/null",
         "--backend=userspace", "--tick=5"],
        stdout=log, stderr=log, env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=rig.address))
    bus = rig.bus()
    while not bus.name_has_owner("org.wgnet1"):
        if rig.daemon.poll() is not None:
            raise RuntimeError("wgnetd exited:\n" + rig.log_tail())
        time.sleep(0.002)
    return time.monotonic() - t0


class Baseline:
    """A wireguard-go device of its own in the rig's namespace."""

    def __init__(self, rig, name):
        self.rig, self.prefix, self.ifname = rig, name, None
        self.dir = tempfile.mkdtemp(prefix="wgnet-bench-base-", dir=rig.dir)

    def create(self):
        """A new device (a new name each time: an old wireguard-go may still hold its socket)."""
        self.n = getattr(self, "n", -1) + 1
        self.ifname = f"{self.prefix}{self.n}"
        self.rig.ns("wireguard-go", self.ifname)
        for _ in range(200):
            if self.rig.ns("wg", "show", self.ifname, check=False).returncode == 0:
                return
            time.sleep(0.01)
        raise RuntimeError(f"wireguard-go {self.ifname} did not come up")

    def delete(self):
        if self.ifname:
            self.rig.ns("ip", "link", "del", self.ifname, check=False)

    def timed(self, script):
        t0 = time.monotonic()
        run(["ip", "netns", "exec", self.rig.netns, "bash", "-c", script])
        return time.monotonic() - t0


def fmt_rate(x):
    return f"{x:,.0f}/s"


def fmt_ms(x):
    return f"{x * 1000:.2f} ms" if x < 10 else f"{x:.1f} s"


def main():
    arg_parse()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # clean up the rig
    if os.geteuid() != 0:
        sys.exit("bench-daemon needs root (namespaces, polkitd, wireguard-go)")
    for f in (WGNETD, BENCH_BUS):
        if not os.path.exists(f):
            sys.exit(f"{f} is not built (meson setup build && ninja -C build)")
    rig = Rig("bench")
    # durable means on disk: keep the state directory off tmpfs
    rig.state = os.path.join(tempfile.mkdtemp(prefix="wgnet-bench-state-", dir="/var/tmp"), "state")
    rig.start()
    print(f"# wgnetd benchmark, N={N}, {os.cpu_count()} CPUs, state on "
          f"{run(['stat', '-f', '-c', '%T', os.path.dirname(rig.state)]).stdout.strip()}", flush=True)
    try:
        run_all(rig)
    finally:
        rig.stop()
        run(["rm", "-rf", os.path.dirname(rig.state)], check=False)
    print()
    print("| measure | wgnet | baseline | baseline figure | ratio | target |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


def uapi_get_seconds(ifname):
    """One UAPI get of the device over its socket, read to the end of the reply: what the
    device itself takes, the floor of any reader."""
    time.sleep(0.3)  # not within the daemon's tick or a GetStats
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(f"/run/wireguard/{ifname}.sock")
        t0 = time.monotonic()
        s.sendall(b"get=1\n\n")
        buf = bytearray()
        while not buf.endswith(b"\n\n"):
            chunk = s.recv(1 << 20)
            if not chunk:
                raise RuntimeError(f"{ifname}: the UAPI socket closed mid-reply")
            buf += chunk
        return time.monotonic() - t0


def showconf(rig, ifname):
    """The device's config without its listen port (taken by the daemon's device)."""
    return "".join(line + "\n" for line in rig.ns("wg", "showconf", ifname).stdout.splitlines()
                   if not line.startswith("ListenPort"))


def create_network(rig, name, ifname, subnet, port):
    return unwrap(rig.manager().CreateNetwork(name, opts(Interface=ifname, Addresses=[subnet], ListenPort=port,
                                                         Mode="hub", Endpoint="vpn.example.com:51820")))


def run_all(rig):
    tag = rig.tag[-4:]
    start_daemon_timed(rig)
    pid = rig.daemon.pid
    ifa, ifb, ifc, ifd = (f"wgb{tag}{c}" for c in "abcd")
    base = Baseline(rig, f"wgb{tag}z")  # wgbTAGz0, wgbTAGz1, …
    net_a = create_network(rig, "a", ifa, "10.100.0.1/16", 52001)
    rss = {}

    # 1. AddPeer, one call at a time, as root: 0 -> N, durable before each reply
    per_call_10k = None
    if want("add"):
        first = min(1000, N)
        out = bench_bus(rig, "add", net_a, first, 1, "a", 1000)
        rss[first] = rss_kib(pid)
        blocks = [float(line.split()[2]) for line in out if line.startswith("block")]
        if N > first:
            out = bench_bus(rig, "add", net_a, N - first, 1, "b", 1000)
            blocks += [float(line.split()[2]) for line in out if line.startswith("block")]
        rss[N] = rss_kib(pid)
        print("  AddPeer/s per 1000 peers: " + " ".join(f"{b:.0f}" for b in blocks), flush=True)
        rate_last = blocks[-1]
        per_call_10k = 1 / rate_last
        state_a = True
    else:
        bench_bus(rig, "bulk", net_a, N, "a")
        state_a = False

    # baselines on a device of N peers: the same peers as the daemon's (wg showconf)
    conf = os.path.join(base.dir, "a.conf")
    with open(conf, "w") as f:
        f.write(showconf(rig, ifa))
    base.create()
    t_setconf = base.timed(f"wg setconf {base.ifname} {conf}")

    if want("add") and state_a:
        # one `wg set` process per peer (on top of N peers)
        k = 200
        pubs = [base64.b64encode(os.urandom(32)).decode() for _ in range(k)]
        script = "\n".join(f"wg set {base.ifname} peer {pubs[i]} allowed-ips 10.200.{i // 250}.{i % 250 + 1}/32"
                           for i in range(k))
        t_wgset = base.timed(script) / k
        # rewrite everything + wg-quick strip + wg syncconf per change (wg-easy)
        wq = os.path.join(base.dir, f"{base.ifname}.conf")
        conf_text = open(conf).read()
        iface, _, peers = conf_text.partition("\n[Peer]")
        iface_lines = [line for line in iface.splitlines() if not line.startswith("ListenPort")]
        times = []
        for i in range(3):
            t0 = time.monotonic()
            with open(wq, "w") as f:
                f.write("\n".join(iface_lines) + "\nAddress = 10.100.0.1/16\nListenPort = 52099\n"
                        "PostUp = iptables -A FORWARD -i %i -j ACCEPT\n\n[Peer]" + peers +
                        f"\n[Peer]\nPublicKey = {pubs[i]}\nAllowedIPs = 10.201.0.{i + 1}/32\n")
            run(["ip", "netns", "exec", rig.netns, "bash", "-c", f"wg syncconf {base.ifname} <(wg-quick strip {wq})"])
            times.append(time.monotonic() - t0)
        t_sync = statistics.median(times)
        row(f"AddPeer sequential as root at {N:,} peers (durable)",
            f"{fmt_rate(rate_last)} in the last 1,000 (median of the {len(blocks)} blocks: "
            f"{fmt_rate(statistics.median(blocks))})",
            "wg-easy way: rewrite + wg-quick strip + wg syncconf", fmt_ms(t_sync) + " per change",
            f"{t_sync / per_call_10k:,.0f}× faster", "≥2,000/s")
        row(f"AddPeer sequential as root at {N:,} peers", fmt_ms(per_call_10k) + " per peer",
            "one `wg set` process per peer", fmt_ms(t_wgset) + " per peer", f"{t_wgset / per_call_10k:.1f}× faster", "")

    # 2. GetStats at N peers
    if want("stats"):
        # fresh: each call reads the device (older than the 250 ms the daemon shares a read)
        out = bench_bus(rig, "stats", net_a, 10, 300)
        _, peers_seen, smin, smed = out[-1].split()
        dumps = []
        for _ in range(5):
            t0 = time.monotonic()
            rig.ns("wg", "show", ifa, "dump")
            dumps.append(time.monotonic() - t0)
        t_dump = statistics.median(dumps)
        t_get = statistics.median(uapi_get_seconds(ifa) for _ in range(5))
        row(f"GetStats of {peers_seen} peers, device read each call", f"{float(smed):.1f} ms (min {float(smin):.1f})",
            "`wg show IF dump` of the same device", fmt_ms(t_dump), f"{float(smed) / 1000 / t_dump:.2f}×", "≤30 ms")
        row("", "", "the device's own answer: one UAPI `get=1`, read to its end (no parsing)", fmt_ms(t_get),
            f"{float(smed) / 1000 / t_get:.2f}×", "")
        out = bench_bus(rig, "stats", net_a, 20)
        _, peers_seen, smin, smed = out[-1].split()
        row(f"GetStats of {peers_seen} peers, back to back", f"{float(smed):.1f} ms (min {float(smin):.1f})",
            "", "", "", "")

    # 3. as the user granted by a polkit rule vs polkit's own CheckAuthorization
    if want("polkit"):
        rig.grant_user()
        k = max(200, min(500, N // 20))
        # pairs, check then add, so that both see the same moment of a shared machine
        checks, users, ratios = [], [], []
        for i in range(3):
            ca = bench_bus(rig, "checkauth", "org.wgnet1.manage-peers", k, user=rig.user)[-1].split()
            assert int(ca[4]) == k, f"the rule does not grant the user: {ca}"
            out = bench_bus(rig, "add", net_a, k, 1, f"u{i}-", 0, user=rig.user)[-1].split()
            checks.append(float(ca[3]) / 1000)
            users.append(float(out[5]) / 1000)  # median, like the check
            ratios.append(users[-1] / checks[-1])
        t_check, t_user = statistics.median(checks), statistics.median(users)
        rca = bench_bus(rig, "checkauth", "org.wgnet1.manage-peers", k)[-1].split()
        row(f"AddPeer sequential as a polkit-granted user (3 × {k} calls at ~{N:,})",
            fmt_ms(t_user) + " per call (median)",
            "polkit CheckAuthorization, same user, same run", fmt_ms(t_check) + f" (root subject {float(rca[3]):.2f} ms)",
            f"{statistics.median(ratios):.2f}× (pairs: {', '.join(f'{x:.2f}' for x in ratios)})", "≤1.2×")
        rig.revoke_user()

    # 4. startup reconcile of N peers to an empty device vs wg setconf of the same peers
    if want("reconcile"):
        # the device stays (its wireguard-go too), its peers are taken off while wgnetd is down
        rig.stop_daemon()
        empty = os.path.join(base.dir, "empty.conf")
        with open(empty, "w") as f:
            f.write(rig.ns("wg", "showconf", ifa).stdout.split("\n[Peer]")[0] + "\n")
        rig.ns("wg", "setconf", ifa, empty)
        assert len(rig.wg_dump(ifa)[1]) == 0, "the device is empty before the start"
        t_empty = start_daemon_timed(rig)
        pid = rig.daemon.pid
        assert len(rig.wg_dump(ifa)[1]) >= N, "the device holds every peer after the start"
        base.delete()
        base.create()
        t_setconf = base.timed(f"wg setconf {base.ifname} {conf}")
        row(f"start: reconcile {N:,} peers to an empty device", fmt_ms(t_empty),
            "wg setconf of the same peers", fmt_ms(t_setconf), f"{t_empty / t_setconf:.2f}×", "≤1.2×")
        # the device gone too: wgnetd starts wireguard-go first (not in the baseline)
        rig.stop_daemon()
        rig.ns("ip", "link", "del", ifa, check=False)
        # the old wireguard-go exits on its own: wait until its socket is gone
        for _ in range(500):
            if not os.path.exists(f"/var/run/wireguard/{ifa}.sock"):
                break
            time.sleep(0.01)
        t_start = start_daemon_timed(rig)
        pid = rig.daemon.pid
        assert len(rig.wg_dump(ifa)[1]) >= N, "the device holds every peer after the start"
        row(f"start: no device: start wireguard-go, then {N:,} peers", fmt_ms(t_start),
            "wg setconf of the same peers (on a running device)", fmt_ms(t_setconf), f"{t_start / t_setconf:.2f}×", "")
        rig.stop_daemon()
        t_noop = start_daemon_timed(rig)
        pid = rig.daemon.pid
        row(f"start: {N:,} peers already on the device", fmt_ms(t_noop), "", "", "", "")

    # 5. 8 concurrent callers (group commit)
    if want("concurrent"):
        net_b = create_network(rig, "b", ifb, "10.101.0.1/16", 52002)
        out = bench_bus(rig, "add", net_b, N, 8, "c", 0)[-1].split()
        row(f"AddPeer, 8 concurrent callers, 0→{N:,} peers", fmt_rate(float(out[4])) +
            f" (p50 {float(out[5]):.2f} ms, p99 {float(out[6]):.2f} ms)", "", "", "", "≥10,000/s")

    # 6. bulk AddPeers of N vs wg setconf of the same peers
    if want("bulk"):
        net_c = create_network(rig, "c", ifc, "10.102.0.1/16", 52003)
        t_bulk = float(bench_bus(rig, "bulk", net_c, N, "d")[-1].split()[2])
        conf_c = os.path.join(base.dir, "c.conf")
        with open(conf_c, "w") as f:
            f.write(showconf(rig, ifc))
        base.delete()
        base.create()
        t_set_c = base.timed(f"wg setconf {base.ifname} {conf_c}")
        row(f"AddPeers bulk of {N:,}", fmt_ms(t_bulk), "wg setconf of the same peers", fmt_ms(t_set_c),
            f"{t_bulk / t_set_c:.2f}×", "≤1.2×")

    # 7. load: 50 readers during N adds
    if want("load"):
        net_d = create_network(rig, "d", ifd, "10.103.0.1/16", 52004)
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=rig.address)
        readers = subprocess.Popen([BENCH_BUS, "readers", net_d, "50"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   text=True, env=env)
        assert readers.stdout.readline().strip() == "ready"
        out = bench_bus(rig, "add", net_d, N, 1, "e", 0)[-1].split()
        readers.stdin.close()
        rd = readers.stdout.read().split()
        readers.wait()
        row(f"load: 50 readers (each 10 reads/s, 1 of them GetStats) during {N:,} adds", f"{rd[1]} reads, {rd[2]} errors, "
            f"p50 {float(rd[3]):.2f} ms, p99 {float(rd[4]):.2f} ms",
            "adds meanwhile", f"{float(out[4]):,.0f}/s, {out[2]} errors, p99 {float(out[6]):.2f} ms", "", "0 errors")

    # 8. RSS
    if want("rss"):
        total = int(rig.sqlite("SELECT count(*) FROM peers"))
        rss[total] = rss_kib(pid)
        if RSS_MAX > total:
            # a network without a device: the daemon's memory, not wireguard-go's
            net_e = create_network(rig, "e", f"wgb{tag}e", "10.128.0.1/10", 52005)
            rig.network(net_e).Deactivate()
            left, i = RSS_MAX - total, 0
            while left > 0:
                k = min(left, 20000)
                bench_bus(rig, "bulk", net_e, k, f"f{i}-")
                left -= k
                i += 1
            rss[RSS_MAX] = rss_kib(pid)
        for k in sorted(x for x in rss if rss[x] is not None):
            target = {10000: "≤24 MiB", 100000: "≤150 MiB"}.get(k, "")
            row(f"daemon RSS at {k:,} peers", f"{rss[k] / 1024:.1f} MiB", "", "", "", target)
    base.delete()


if __name__ == "__main__":
    main()
