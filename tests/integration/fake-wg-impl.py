#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A stand-in userspace WireGuard implementation for the backend tests: listens on
/run/wireguard/IF.sock, answers set=1 with errno=0 and get=1 with $FAKE_GET_REPLY (default
an empty device), never creates a tun device and ignores SIGTERM, so the backend has to
SIGKILL it. For the daemon's tests: FAKE_DUMMY_LINK=1 makes a (persistent, unused) tun link of that name
first (so that addresses and routes can be set), and FAKE_REFUSE_PEERS=N answers a set of
N or more peers with errno=5.   usage: fake-wg-impl.py IFNAME"""
import os, signal, socket, subprocess, sys

signal.signal(signal.SIGTERM, signal.SIG_IGN)
path = f"/run/wireguard/{sys.argv[1]}.sock"
if os.environ.get("FAKE_DUMMY_LINK"):
    subprocess.run(["ip", "tuntap", "add", "dev", sys.argv[1], "mode", "tun"], check=True)
refuse = int(os.environ.get("FAKE_REFUSE_PEERS", "0"))
os.makedirs("/run/wireguard", exist_ok=True)
try:
    os.unlink(path)
except FileNotFoundError:
    pass
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(16)
reply_get = os.environ.get("FAKE_GET_REPLY", "listen_port=0\nerrno=0\n\n").encode().decode("unicode_escape").encode()
while True:
    c, _ = srv.accept()
    buf = b""
    while True:
        d = c.recv(65536)
        if not d:
            break
        buf += d
        while b"\n\n" in buf:
            req, buf = buf.split(b"\n\n", 1)
            if req.startswith(b"get=1"):
                c.sendall(reply_get)
            elif refuse and req.count(b"\npublic_key=") >= refuse:
                c.sendall(b"errno=5\n\n")
            else:
                c.sendall(b"errno=0\n\n")
    c.close()
