#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The audit trail and the no-secret-in-logs rule: the whole daemon scenario of
test-daemon.py runs on one rig with wgnetd's stderr captured (audit entries go to stderr
here: WGNET_LOG_JOURNAL=0). Every private key and preshared key that the scenario saw (in
configs, exports, `wg show dump`, keys it generated itself) is then searched for in the log,
in base64 and in hex: none may appear. Then every change is in the log exactly once, with
its action, network, peer, the caller's uid and a MESSAGE_ID.

With --journald the same runs against a real systemd-journald (started in a private mount
namespace, so the host's journal is untouched; WGNET_LOG_JOURNAL=1): the entries are read
back with journalctl as structured fields (WGNET_ACTION=, WGNET_NETWORK=, WGNET_PEER=,
WGNET_CALLER_UID=, MESSAGE_ID=, …), and no key may appear in any field of the journal nor
on wgnetd's stderr."""

import base64
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import wgnet  # noqa: E402

spec = importlib.util.spec_from_file_location("test_daemon", os.path.join(HERE, "test-daemon.py"))
td = importlib.util.module_from_spec(spec)
spec.loader.exec_module(td)

SECRET_LINE = re.compile(r"^\s*(PrivateKey|PresharedKey)\s*=\s*(\S+)", re.M)
B64_KEY = re.compile(r"^[A-Za-z0-9+/]{43}=$")
secrets = set()


def collect(v):
    if isinstance(v, str):
        for _, key in SECRET_LINE.findall(v):
            secrets.add(key)
    elif isinstance(v, (list, tuple)):
        for x in v:
            collect(x)
    elif isinstance(v, dict):
        for x in v.values():
            collect(x)
    return v


orig_unwrap = td.unwrap
td.unwrap = lambda v: collect(orig_unwrap(v))

orig_run = td.run


def run_recording(cmd, *a, **kw):
    r = orig_run(cmd, *a, **kw)
    if list(cmd[:2]) in (["wg", "genkey"], ["wg", "genpsk"]):
        secrets.add(r.stdout.strip())
    return r


td.run = run_recording

orig_dump = wgnet.Rig.wg_dump


def dump_recording(self, ifname):
    dev, peers = orig_dump(self, ifname)
    secrets.add(dev["private_key"])
    for p in peers.values():
        if p["preshared_key"]:
            secrets.add(p["preshared_key"])
    return dev, peers


wgnet.Rig.wg_dump = dump_recording


def check_no_secrets(log):
    keys = {k for k in secrets if B64_KEY.match(k)}
    assert len(keys) >= 200, f"the scenario should have seen hundreds of secrets, saw {len(keys)}"
    low = log.lower()
    leaked = [k for k in keys if k in log or base64.b64decode(k).hex() in low]
    assert not leaked, f"{len(leaked)} secrets in wgnetd's log, e.g. {leaked[0][:6]}…"
    print(f"ok   no secret in the log ({len(keys)} keys searched in {len(log)} bytes)")


AUDIT = re.compile(r"^<5>(?P<text>.*) \[audit action=(?P<action>[a-z-]+)(?: network=(?P<network>.*?))?"
                   r"(?: peer=(?P<peer>.*?))?(?: tunnel=(?P<tunnel>.*?))? uid=(?P<uid>\S+) pid=(?P<pid>\S+) unit=(?P<unit>\S+)"
                   r" sender=(?P<sender>\S+) message_id=(?P<mid>[0-9a-f]{32})\]$")


def entries_from_log(log):
    return [m.groupdict() for m in map(AUDIT.match, log.splitlines()) if m]


def entries_from_journal(records):
    """The audit records of wgnetd in journalctl's JSON, in the shape of entries_from_log."""
    out = []
    for j in records:
        if "WGNET_ACTION" not in j:
            continue
        out.append({"text": j.get("MESSAGE", ""), "action": j["WGNET_ACTION"], "network": j.get("WGNET_NETWORK"),
                    "peer": j.get("WGNET_PEER"), "tunnel": j.get("WGNET_TUNNEL"), "uid": j.get("WGNET_CALLER_UID", "-"),
                    "pid": j.get("WGNET_CALLER_PID", "-"), "unit": j.get("WGNET_CALLER_UNIT", "-"),
                    "sender": j.get("WGNET_CALLER_BUS_NAME", "-"), "mid": j.get("MESSAGE_ID"),
                    "priority": j.get("PRIORITY")})
    return out


def test_interleaved_callers(rig):
    """Calls of root and of the granted user in turns: each record names its own caller
    (wgnetd keeps the creds of each caller by unique name)."""
    net = wgnet.unwrap(rig.manager().CreateNetwork("mix", wgnet.opts(Interface=f"wgx{rig.tag[-5:]}",
                                                                     Addresses=["10.94.0.1/24"])))
    rig.grant_user()
    try:
        for i in range(3):
            rig.network(net).AddPeer(f"mixroot{i}", wgnet.opts())
            err, _ = rig.as_user(net, wgnet.NETWORK, "AddPeer", "sa{sv}", f"mixuser{i}", {})
            assert not err, err
    finally:
        rig.revoke_user()
    rig.network(net).Delete()


def test_tunnel_audited(rig):
    """A tunnel's life: created, updated, deactivated, activated, its pairing read (a
    secret), deleted: each one entry with the caller."""
    path = str(rig.manager().CreateTunnel("aud", wgnet.opts(Interface=f"wga{rig.tag[-5:]}", ListenPort=51877,
                                                               LocalNetworks=["10.201.0.0/24"],
                                                               Endpoint="192.0.2.1:51877")))
    t = wgnet.dbus.Interface(rig.bus().get_object(wgnet.BUS, path), "org.wgnet1.Tunnel")
    t.Update(wgnet.opts(PersistentKeepalive=10))
    t.Deactivate()
    t.Activate()
    collect(str(t.GetPairing()))
    t.Delete()


def check_tunnel(entries):
    got = [e["action"] for e in entries if e.get("tunnel") == "aud"]
    assert got == ["tunnel-created", "tunnel-updated", "tunnel-deactivated", "tunnel-activated", "secret-read",
                   "tunnel-deleted"], got
    assert all(e["uid"] == "0" for e in entries if e.get("tunnel") == "aud")


def check_interleaved(entries, user_uid):
    added = {e["peer"]: e["uid"] for e in entries if e["action"] == "peer-added" and e["network"] == "mix"}
    assert {added.get(f"mixroot{i}") for i in range(3)} == {"0"}, added
    assert {added.get(f"mixuser{i}") for i in range(3)} == {str(user_uid)}, added


def check_audit(entries, log, user_uid):
    actions = {e["action"] for e in entries}
    for a in ("network-created", "network-imported", "network-updated", "network-activated", "network-deactivated",
              "network-deleted", "peer-added", "peer-updated", "peer-enabled", "peer-disabled", "peer-removed",
              "peer-keys-rotated", "secret-read"):
        assert a in actions, f"no audit entry for {a}: {sorted(actions)}"
    # RotateKeys' reply holds the new keys: a secret read besides the rotation
    assert any(e["action"] == "secret-read" and "new config read (RotateKeys)" in e["text"] for e in entries), \
        [e["text"] for e in entries if e["action"] == "secret-read"]
    # one MESSAGE_ID per kind, distinct kinds distinct ids
    ids = {}
    for e in entries:
        assert ids.setdefault(e["action"], e["mid"]) == e["mid"], e
    assert len(set(ids.values())) == len(ids)
    # every change once: the first peer and each bulk peer have exactly one peer-added entry
    added = [e["peer"] for e in entries if e["action"] == "peer-added" and e["network"] == "office"]
    assert added.count("phone") == 1, added.count("phone")
    assert all(added.count(f"bulk{i:03d}") == 1 for i in range(200))
    assert sum(1 for e in entries if e["action"] == "peer-keys-rotated") >= 1
    # who: root over the bus, and the unprivileged user that the polkit rule granted
    by_daemon = ("peer-rotation-completed", "peer-revoked")      # the tick, no bus caller
    anonymous = [e for e in entries if e["action"] not in by_daemon and "scheduled" not in e["text"]
                 and (e["uid"] == "-" or not e["sender"].startswith(":"))]
    assert not anonymous, f"entries without caller credentials: {anonymous[:3]}"
    assert any(e["uid"] == "0" for e in entries)
    granted = [e for e in entries if e["peer"] == "granted"]
    assert {e["action"] for e in granted} >= {"peer-added", "secret-read", "peer-removed"}, granted
    assert all(e["uid"] == str(user_uid) for e in granted), granted
    # the plain stderr line of a change is the audit entry: no second line for the same change
    assert not re.search(r"^<6>office: peer 'phone' added$", log, re.M)
    assert all(e.get("priority", "5") == "5" for e in entries)
    check_interleaved(entries, user_uid)
    check_tunnel(entries)
    print(f"ok   audit trail ({len(entries)} entries, {len(actions)} kinds)")


JOURNAL_DIR = "/run/log/journal"


def start_journald():
    """A real systemd-journald for this (private) mount namespace: tmpfs on /run/systemd and
    /run/log, so its sockets and its volatile journal are ours only."""
    for d in ("/run/systemd", "/run/log"):
        os.makedirs(d, exist_ok=True)
        wgnet.run(["mount", "-t", "tmpfs", "tmpfs", d])
    os.makedirs("/run/systemd/journal", exist_ok=True)
    jd = subprocess.Popen(["/lib/systemd/systemd-journald"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wgnet.wait_for(lambda: os.path.exists("/run/systemd/journal/socket"), timeout=10, what="journald's socket")
    return jd


def read_journal():
    r = wgnet.run(["journalctl", "--no-pager", "-D", JOURNAL_DIR, "-o", "json"])
    return r.stdout, [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def main():
    journald = "--journald" in sys.argv
    wgnet.require_root_and_tools("wireguard-go", "wg", "dbus-daemon", "/usr/lib/polkit-1/polkitd", "zbarimg",
                                 "sqlite3")
    if journald:
        for t in ("unshare", "journalctl", "/lib/systemd/systemd-journald"):
            if not shutil.which(t) and not os.path.exists(t):
                wgnet.skip(f"{t} is not installed")
        if not os.environ.get("WGNET_AUDIT_IN_NS"):
            r = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable, *sys.argv],
                               env=dict(os.environ, WGNET_AUDIT_IN_NS="1"))
            sys.exit(r.returncode)
        jd = start_journald()
    os.environ["WGNET_LOG_JOURNAL"] = "1" if journald else "0"
    rig = wgnet.Rig("audjd" if journald else "audit")
    failed = 0
    try:
        rig.start()
        for t in td.TESTS + [test_interleaved_callers, test_tunnel_audited]:
            t0 = time.time()
            try:
                t(rig)
                print(f"ok   {t.__name__} ({time.time() - t0:.2f}s)", flush=True)
            except Exception:
                failed += 1
                print(f"FAIL {t.__name__}", flush=True)
                traceback.print_exc()
        rig.stop_daemon()
        log = open(rig.daemon_log, errors="replace").read()
        import pwd
        uid = pwd.getpwnam(rig.user).pw_uid
        if journald:
            time.sleep(0.5)     # journald has read every datagram
            text, records = read_journal()
            entries = entries_from_journal(records)
            checks = [lambda: check_no_secrets(log), lambda: check_no_secrets(text),
                      lambda: check_audit(entries, log, uid),
                      lambda: check_logged_once(log)]
        else:
            checks = [lambda: check_no_secrets(log), lambda: check_audit(entries_from_log(log), log, uid)]
        for check in checks:
            try:
                check()
            except Exception:
                failed += 1
                print("FAIL audit check", flush=True)
                traceback.print_exc()
    finally:
        rig.stop()
        if journald:
            jd.terminate()
            jd.wait()
    print(f"# {failed} failed")
    sys.exit(1 if failed else 0)


def check_logged_once(log):
    """With the journal on, audit records go there only, not also to stderr."""
    assert "[audit action=" not in log, "audit records on stderr too"
    print("ok   audit records in the journal only")


if __name__ == "__main__":
    main()
