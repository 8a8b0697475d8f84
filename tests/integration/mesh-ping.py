#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Ping many addresses at once from one process (run inside a host's namespace by
test-mesh.py): an ICMP echo request to every address that has not answered yet, every 0.1 s,
until each answered or the time is up. Prints one line per address that answered, "ADDRESS
SECONDS" with the wall-clock time of its first answer, and exits 0 when all answered.

    mesh-ping.py DEADLINE ADDRESS...     (DEADLINE: seconds since the epoch)"""

import os
import select
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


def main():
    deadline = float(sys.argv[1])
    targets = sys.argv[2:]
    ident = os.getpid() & 0xffff
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    answered = {}
    seq = 0
    next_send = 0.0
    while len(answered) < len(targets) and time.time() < deadline:
        now = time.time()
        if now >= next_send:
            seq = (seq + 1) & 0xffff
            for t in targets:
                if t in answered:
                    continue
                header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
                payload = b"wgnet-mesh"
                packet = struct.pack("!BBHHH", 8, 0, checksum(header + payload), ident, seq) + payload
                try:
                    sock.sendto(packet, (t, 0))
                except OSError:
                    pass
            next_send = now + 0.1
        r, _, _ = select.select([sock], [], [], max(0.0, min(next_send, deadline) - time.time()))
        if not r:
            continue
        data, (src, _) = sock.recvfrom(2048)
        ihl = (data[0] & 0x0f) * 4
        typ, _, _, rid, _ = struct.unpack("!BBHHH", data[ihl:ihl + 8])
        if typ == 0 and rid == ident and src in targets and src not in answered:
            answered[src] = time.time()
            print(f"{src} {answered[src]:.3f}", flush=True)
    sys.exit(0 if len(answered) == len(targets) else 1)


if __name__ == "__main__":
    main()
