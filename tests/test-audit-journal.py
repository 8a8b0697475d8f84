#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The journal side of the audit trail: in a private mount namespace, a datagram socket
stands in for journald at /run/systemd/journal/socket; an audit entry written with
WGNET_LOG_JOURNAL=1 must arrive there as one native-protocol message with MESSAGE=,
MESSAGE_ID=, PRIORITY=, WGNET_ACTION=, WGNET_NETWORK=, WGNET_NETWORK_ID=, WGNET_INTERFACE=,
WGNET_PEER=, WGNET_PEER_ID=, and nothing on stderr (logged once).

  test-audit-journal.py AUDIT-SEND-PROGRAM      (root: unshare -m; else skip)"""

import os
import shutil
import subprocess
import sys

CHILD = r'''
import os, socket, subprocess, sys
os.makedirs("/run/systemd/journal", exist_ok=True)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/run/systemd/journal/socket")
s.settimeout(5)
r = subprocess.run([sys.argv[1]], env=dict(os.environ, WGNET_LOG_JOURNAL="1"), capture_output=True)
sys.stdout.buffer.write(b"STDERR:" + r.stderr + b"\n")
sys.stdout.buffer.write(b"RC:%d\n" % r.returncode)
sys.stdout.buffer.write(b"MSG:" + s.recv(65536))
'''


def main():
    if len(sys.argv) != 2:
        sys.exit(2)
    if os.geteuid() != 0 or not shutil.which("unshare"):
        print("SKIP: needs root and unshare (a private mount namespace with a stand-in journal socket)")
        sys.exit(77)
    # a tmpfs on /run/systemd in a private mount namespace: the host's journal is untouched
    script = f"mkdir -p /run/systemd && mount -t tmpfs tmpfs /run/systemd && exec /usr/bin/python3 -c '{CHILD}' '{sys.argv[1]}'"
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], capture_output=True, timeout=30)
    out = r.stdout
    assert r.returncode == 0, r.stderr.decode()
    stderr = out.split(b"STDERR:", 1)[1].split(b"\nRC:", 1)[0]
    msg = out.split(b"MSG:", 1)[1]
    fields = dict(line.split("=", 1) for line in msg.decode().split("\n") if "=" in line)
    want = {"MESSAGE": "office: peer 'phone' added", "MESSAGE_ID": "84d81aeb1db945c09ad3581c3d06a74c",
            "PRIORITY": "5", "WGNET_ACTION": "peer-added", "WGNET_NETWORK": "office", "WGNET_NETWORK_ID": "3",
            "WGNET_INTERFACE": "wg7", "WGNET_PEER": "phone", "WGNET_PEER_ID": "42"}
    failed = 0
    for k, v in want.items():
        ok = fields.get(k) == v
        failed += not ok
        print(("ok   " if ok else "FAIL ") + f"{k}={fields.get(k)!r}" + ("" if ok else f" (expected {v!r})"))
    ok = stderr.strip() == b""
    failed += not ok
    print(("ok   " if ok else "FAIL ") + "nothing on stderr: the entry is logged once" + ("" if ok else f": {stderr!r}"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
