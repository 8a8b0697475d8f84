#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""wgnet-exporter against wgnetd on the private bus: run as the unprivileged test user, its
output passes `promtool check metrics` and a strict parser of the text exposition format,
holds the series and labels of the ecosystem's WireGuard exporters with the values the
daemon reports, escapes label values; over HTTP (the connection on stdin/stdout, as the
socket unit passes it) it answers GET /metrics, 404 elsewhere and 405 to POST; a scrape
with wgnetd stopped answers wgnet_up 0 and does not have the bus start it again; one with
a wgnetd that never answers answers wgnet_up 0 by the exporter's deadline."""

import os
import re
import shutil
import socket
import subprocess
import time
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wgnet import (BUILD, BUS, MANAGER, NETWORK, PEER, main, opts, require_root_and_tools, run,  # noqa: E402
                   unwrap, wait_for)

EXPORTER = os.path.join(BUILD, "exporter", "wgnet-exporter")
BUS_STUB = os.path.join(BUILD, "tests", "integration", "bus-stub")
state = {}

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*)?\}})? (\S+)$")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')


def parse_strict(text):
    """{(name, frozenset(labels)): value}; raises on anything the format does not allow."""
    assert text.endswith("\n"), "ends with a newline"
    types, helps, samples, seen_families = {}, {}, {}, []
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            assert re.fullmatch(NAME, name) and help_text and name not in helps, f"line {n}: {line}"
            helps[name] = help_text
            continue
        if line.startswith("# TYPE "):
            name, _, t = line[7:].partition(" ")
            assert t in ("counter", "gauge") and name not in types, f"line {n}: {line}"
            types[name] = t
            seen_families.append(name)
            continue
        assert not line.startswith("#") and line, f"line {n}: stray line {line!r}"
        m = SAMPLE.match(line)
        assert m, f"line {n}: not a sample: {line!r}"
        name, labels, value = m.groups()
        assert name in types and seen_families[-1] == name, f"line {n}: {name} outside its family"
        if types[name] == "counter":
            assert name.endswith("_total"), name
        v = float(value)
        assert v == v and v >= 0, f"line {n}: value {value}"
        lab = frozenset((k, v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\"))
                        for k, v in LABEL_RE.findall(labels or ""))
        key = (name, lab)
        assert key not in samples, f"line {n}: duplicate series"
        samples[key] = v
    return samples, types


def series(samples, metric, **labels):
    want = set(labels.items())
    return [v for (n, lab), v in samples.items() if n == metric and want <= set(lab)]


def test_setup(rig):
    rig.start_daemon()
    m = rig.manager()
    ifn = f"wgm{rig.tag[-5:]}"
    state["net"] = unwrap(m.CreateNetwork("metrics", opts(Interface=ifn, Addresses=["10.81.0.1/24"], Mode="hub")))
    state["ifname"] = ifn
    net = rig.network(state["net"])
    state["peers"] = [unwrap(net.AddPeer(name, opts()))[0] for name in ("alice", 'odd "name" \\ here', "carol")]
    rig.peer(state["peers"][2]).Disable()


def exporter(rig, *args, stdin=None, user=True):
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=rig.address)
    cmd = [EXPORTER, *args]
    if user:
        cmd = ["runuser", "-u", rig.user, "--"] + cmd
    return subprocess.run(cmd, env=env, stdin=stdin, capture_output=True, timeout=30)


def test_output_is_valid(rig):
    state["before"] = {path: rig.props(path, PEER) for path in state["peers"]}
    r = exporter(rig, "--stdout")
    assert r.returncode == 0, r.stderr.decode()
    text = r.stdout.decode()
    state["text"] = text
    if shutil.which("promtool"):
        p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        assert p.returncode == 0, f"promtool: {p.stdout}{p.stderr}"
    samples, types = parse_strict(text)
    state["samples"] = samples
    assert types["wireguard_received_bytes_total"] == "counter"
    assert types["wireguard_sent_bytes_total"] == "counter"
    assert types["wireguard_latest_handshake_seconds"] == "gauge"


def test_values_match_the_daemon(rig):
    s = state["samples"]
    assert series(s, "wgnet_up") == [1]
    ifn = state["ifname"]
    assert series(s, "wgnet_network_peers", interface=ifn, network="metrics") == [3]
    assert series(s, "wgnet_network_peers_online", interface=ifn) == [0]
    assert series(s, "wgnet_network_active", interface=ifn) == [1]
    assert series(s, "wgnet_network_peers_rotation_pending", interface=ifn) == [0]
    for path in state["peers"]:
        p = rig.props(path, PEER)
        labels = dict(interface=ifn, public_key=p["PublicKey"], name=p["Name"], allowed_ips=",".join(p["AllowedIPs"]))
        b = state["before"][path]     # the tick may move counters between the scrape and now
        for metric, prop, div in [("wireguard_received_bytes_total", "RxBytes", 1), ("wireguard_sent_bytes_total", "TxBytes", 1),
                                  ("wireguard_latest_handshake_seconds", "LastHandshake", 1000000)]:
            v = series(s, metric, **labels)
            assert len(v) == 1 and b[prop] // div <= v[0] <= p[prop] // div, (metric, v, b[prop], p[prop])
        short = dict(interface=ifn, public_key=p["PublicKey"])
        assert series(s, "wgnet_peer_enabled", **short) == [int(p["Enabled"])]
        assert series(s, "wgnet_peer_online", **short) == [int(p["Online"])]
        assert series(s, "wgnet_peer_rotation_pending", **short) == [int(p["RotationPending"])]
    # the label with a quote and a backslash came back intact
    assert len(series(s, "wireguard_sent_bytes_total", name='odd "name" \\ here')) == 1
    carol = rig.prop(state["peers"][2], PEER, "PublicKey")
    assert series(s, "wgnet_peer_enabled", public_key=carol) == [0]
    # no secret: the exporter never sees one, the output holds public keys only
    assert "PrivateKey" not in state["text"] and "PresharedKey" not in state["text"]


def http(rig, request, **env_extra):
    a, b = socket.socketpair()
    try:
        a.sendall(request)
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=rig.address, **env_extra)
        p = subprocess.Popen(["runuser", "-u", rig.user, "--", EXPORTER], env=env, stdin=b, stdout=b)
        b.close()
        a.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := a.recv(65536):       # while it writes: the answer may exceed a socket buffer
            data += chunk
        return p.wait(timeout=30), data
    finally:
        a.close()


def test_http(rig):
    rc, data = http(rig, b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert rc == 0 and lines[0] == "HTTP/1.1 200 OK", lines
    hdr = dict(line.split(": ", 1) for line in lines[1:])
    assert hdr["Content-Type"].startswith("text/plain; version=0.0.4")
    assert int(hdr["Content-Length"]) == len(body)
    parse_strict(body.decode())
    for req, status in [(b"GET / HTTP/1.1\r\n\r\n", "404"), (b"POST /metrics HTTP/1.1\r\n\r\n", "405"),
                        (b"garbage\r\n\r\n", "400"), (b"GET /metrics?x=1 HTTP/1.0\r\n\r\n", "200")]:
        _, data = http(rig, req)
        assert data.split(b" ", 2)[1].decode() == status, (req, data[:80])


def test_trickling_client_cut_off(rig):
    """A client that sends its request a byte every half second never finishes it: the
    exporter answers 400 once the request's 2 s are over, whatever the gaps between bytes."""
    a, b = socket.socketpair()
    try:
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=rig.address)
        p = subprocess.Popen(["runuser", "-u", rig.user, "--", EXPORTER], env=env, stdin=b, stdout=b)
        b.close()
        t0 = time.monotonic()
        request = b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"x" * 40
        for byte in request:
            if p.poll() is not None:
                break
            try:
                a.send(bytes([byte]))
            except OSError:
                break
            time.sleep(0.5)
        p.wait(timeout=5)
        elapsed = time.monotonic() - t0
        a.settimeout(2)
        data = a.recv(65536)
        assert data.startswith(b"HTTP/1.1 400"), data[:80]
        assert 1.5 < elapsed < 4.5, f"cut off after {elapsed:.1f} s"
    finally:
        a.close()


def test_daemon_gone(rig):
    rig.stop_daemon()
    r = exporter(rig, "--stdout")
    assert r.returncode == 0
    samples, _ = parse_strict(r.stdout.decode())
    assert series(samples, "wgnet_up") == [0]


def reload_bus_config(rig):
    """dbus-daemon reads its configuration again (and with it <servicedir>); it answers once done."""
    rig.bus().call_blocking("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "ReloadConfig",
                            "", [])


def test_stopped_daemon_not_started_again(rig):
    """A scrape must not have the bus start a stopped wgnetd (dbus/org.wgnet1.service makes
    org.wgnet1 activatable): the rig's bus gets an activation file for org.wgnet1 whose
    program only leaves a marker, and the scrape answers wgnet_up 0 without running it.
    Then busctl, which allows auto-start, shows that the activation file is in force (else
    the first check would prove nothing)."""
    assert rig.daemon is None, "test_daemon_gone stopped wgnetd"
    d = os.path.join(rig.dir, "activation")
    services, marker_dir = os.path.join(d, "services"), os.path.join(d, "marker")
    os.makedirs(services)
    os.makedirs(marker_dir)
    os.chmod(d, 0o755)
    os.chmod(services, 0o755)
    os.chmod(marker_dir, 0o1777)            # dbus-daemon runs the program as its own user
    marker = os.path.join(marker_dir, "started")
    prog = os.path.join(d, "fake-wgnetd")
    with open(prog, "w") as f:
        f.write(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    os.chmod(prog, 0o755)
    with open(os.path.join(services, "org.wgnet1.service"), "w") as f:
        f.write(f"[D-BUS Service]\nName=org.wgnet1\nExec={prog}\nUser=root\n")
    os.chmod(os.path.join(services, "org.wgnet1.service"), 0o644)
    conf = os.path.join(rig.rig_env["WGNET_RIG_DIR"], "system.d", "zz-wgnet-test-activation.conf")
    with open(conf, "w") as f:
        f.write('<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"\n'
                ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
                f"<busconfig><servicedir>{services}</servicedir></busconfig>\n")
    os.chmod(conf, 0o644)
    reload_bus_config(rig)
    try:
        r = exporter(rig, "--stdout")
        assert r.returncode == 0, r.stderr.decode()
        samples, _ = parse_strict(r.stdout.decode())
        assert series(samples, "wgnet_up") == [0]
        time.sleep(0.5)                     # an activation would have run by now
        assert not os.path.exists(marker), "the scrape had the bus start org.wgnet1"
        assert not rig.bus().name_has_owner(BUS)
        # The control: a call that allows auto-start runs the program.
        run(["busctl", "--system", "call", BUS, "/org/wgnet1", MANAGER, "ListNetworks"], check=False,
            env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=rig.address))
        wait_for(lambda: os.path.exists(marker), 5, "the activation file to be in force (the rig cannot activate?)")
    finally:
        os.unlink(conf)
        reload_bus_config(rig)


def test_hung_daemon_answered_in_time(rig):
    """A wgnetd that holds its name and never answers (bus-stub hang): the scrape still
    answers 200 with wgnet_up 0, once the exporter's 5 s for asking wgnetd are over, under
    Prometheus's default scrape_timeout (10 s) and the unit's RuntimeMaxSec=30s (before,
    sd-bus's own 25 s per call ran into it: the client got a closed connection).
    WGNET_EXPORTER_COLLECT_TIMEOUT_MS shortens that time, and cannot lengthen it."""
    assert rig.daemon is None, "test_daemon_gone stopped wgnetd"
    stub = subprocess.Popen([BUS_STUB, "hang", "120"], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=rig.address))
    try:
        assert stub.stdout.readline().strip() == "ready", "bus-stub could not take org.wgnet1"
        for env, least, most in [({}, 4.5, 8), ({"WGNET_EXPORTER_COLLECT_TIMEOUT_MS": "1000"}, 0.9, 3),
                                 ({"WGNET_EXPORTER_COLLECT_TIMEOUT_MS": "60000"}, 4.5, 8)]:
            t0 = time.monotonic()
            rc, data = http(rig, b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n", **env)
            elapsed = time.monotonic() - t0
            head, _, body = data.partition(b"\r\n\r\n")
            assert rc == 0 and head.startswith(b"HTTP/1.1 200 OK"), (env, data[:80])
            samples, _ = parse_strict(body.decode())
            assert series(samples, "wgnet_up") == [0], env
            assert series(samples, "wgnet_exporter_collect_seconds")[0] >= least - 0.1, env
            assert least <= elapsed < most, f"{env}: answered after {elapsed:.1f} s"
    finally:
        stub.kill()
        stub.wait()


TESTS = [test_setup, test_output_is_valid, test_values_match_the_daemon, test_http, test_trickling_client_cut_off,
         test_daemon_gone, test_stopped_daemon_not_started_again, test_hung_daemon_answered_in_time]

if __name__ == "__main__":
    require_root_and_tools("wireguard-go", "wg", "dbus-daemon", "/usr/lib/polkit-1/polkitd", EXPORTER,
                           BUS_STUB)
    main(TESTS, "metrics")
