# SPDX-License-Identifier: LGPL-2.1-or-later
"""Test helpers for the integration tests: the rig (private system bus with the real polkitd,
a network namespace with wireguard-go, wgnetd) and a tiny test runner.

The bus and polkit parts come from tests/rig/bus.sh (one implementation for the shell and
the Python tests); the namespace and the daemon are handled here."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

import dbus

SRC = os.environ.get("WGNET_SOURCE_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("WGNET_BUILD_ROOT", os.path.join(SRC, "build"))
WGNETD = os.path.join(BUILD, "daemon", "wgnetd")
BUS_RIG = os.path.join(SRC, "tests", "rig", "bus.sh")

# WGNET_VALGRIND=1: wgnetd runs under valgrind's memcheck (valgrind 3.19 does not know
# pidfd_open: the userspace backend then watches its wireguard-go children by PID); any
# error (invalid access, use of uninitialised memory, a definite leak) makes it exit with
# 99, which stop_daemon reports. Otherwise valgrind exits as wgnetd does: with its status,
# or killed by the same signal.
VALGRIND = ["valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full", "--show-leak-kinds=definite",
            "--errors-for-leak-kinds=definite", "--child-silent-after-fork=yes",
            f"--suppressions={os.path.join(SRC, 'tests', 'integration', 'valgrind.supp')}"] if os.environ.get("WGNET_VALGRIND") else []

BUS = "org.wgnet1"
MANAGER = "org.wgnet1.Manager"
NETWORK = "org.wgnet1.Network"
PEER = "org.wgnet1.Peer"
PROPS = "org.freedesktop.DBus.Properties"


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(77)


def require_root_and_tools(*tools):
    if os.geteuid() != 0:
        skip("needs root (network namespaces, polkitd, wireguard-go)")
    for t in tools:
        if not shutil.which(t) and not os.path.exists(t):
            skip(f"{t} is not installed")
    if not os.path.exists(WGNETD):
        skip(f"{WGNETD} is not built")


def run(cmd, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{cmd!r} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def stop_processes(procs):
    """Terminate the test's own helper processes (an echo service, a wireguard-go), killing
    those that do not exit within 3 s."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def kill_netns_processes(netns):
    """The processes left in a namespace (wireguard-go of the daemon's devices, which the
    daemon leaves running on exit so traffic keeps flowing): by PID, SIGTERM then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = [int(p) for p in run(["ip", "netns", "pids", netns], check=False).stdout.split()]
        for p in pids:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        deadline = time.time() + 3
        while pids and time.time() < deadline:
            pids = [p for p in pids if os.path.exists(f"/proc/{p}") and open(f"/proc/{p}/stat").read().split()[2] != "Z"]
            time.sleep(0.02)
        if not pids:
            return


class Rig:
    """Private bus + polkitd + a namespace for wgnetd's devices."""

    def __init__(self, name):
        self.tag = f"{name[:5]}{os.getpid() % 100000}"
        self.dir = tempfile.mkdtemp(prefix=f"wgnet-{name}-")
        os.chmod(self.dir, 0o755)
        self.state = os.path.join(self.dir, "state")
        self.netns = f"wgnt-{self.tag}"
        self.daemon = None
        self.daemon_log = os.path.join(self.dir, "wgnetd.log")
        self.rig_env = dict(os.environ, WGNET_RIG_DIR=os.path.join(self.dir, "bus"))
        self.address = None
        self.user = None

    def bash(self, script, check=True):
        return run(["bash", "-c", f"set -e; source {BUS_RIG}; {script}"], check=check, env=self.rig_env)

    def start(self):
        r = self.bash("rig_bus_start >/dev/null 2>&1; rig_bus_address; rig_user_name")
        self.address, self.user = r.stdout.split()[-2:]
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = self.address
        run(["ip", "netns", "add", self.netns])
        run(["ip", "-n", self.netns, "link", "set", "lo", "up"])
        return self

    def stop(self):
        """Stop wgnetd (it must exit with 0, see stop_daemon) and take the rig down, also when
        it did not."""
        try:
            self.stop_daemon()
        finally:
            # wireguard-go instances of this rig: their tun links live in the namespace and
            # go with it; their processes exit when the link is gone.
            kill_netns_processes(self.netns)
            run(["ip", "netns", "del", self.netns], check=False)
            self.bash("rig_bus_stop", check=False)
            if os.environ.get("WGNET_KEEP_TEST_DIR"):
                print(f"kept {self.dir}")
            else:
                shutil.rmtree(self.dir, ignore_errors=True)

    # --- the daemon -------------------------------------------------------------------
    def start_daemon(self, *args, env=None):
        assert self.daemon is None
        log = open(self.daemon_log, "a")
        self.daemon = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, *VALGRIND, WGNETD, f"--state-dir={self.state}", "--config=/dev/null",
             "--backend=userspace", "--tick=1", *args],
            stdout=log, stderr=log, env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address, **(env or {})))
        deadline = time.time() + (120 if VALGRIND else 20)
        while time.time() < deadline:
            if self.daemon.poll() is not None:
                code, self.daemon = self.daemon.returncode, None  # reported here, not again at the stop
                raise AssertionError(f"wgnetd exited with {code}:\n{self.log_tail()}")
            try:
                bus = self.bus()
                if bus.name_has_owner(BUS):
                    return
            except dbus.DBusException:
                pass
            time.sleep(0.05)
        raise AssertionError("wgnetd did not take its bus name in 20 s:\n" + self.log_tail())

    def stop_daemon(self, sig=signal.SIGTERM):
        """Send sig to wgnetd and wait for it to end. After SIGTERM it must exit with 0 in
        time: a status, a fatal signal (negative, also under valgrind), valgrind's 99 for the
        errors it found, or a daemon that ended before it was stopped, fail. Other signals
        (SIGKILL: a crash) are sent to end it whatever its state: not checked."""
        if self.daemon is None:
            return
        self.daemon.send_signal(sig)  # not sent when it has ended already: its status tells
        timeout = 60 if VALGRIND else 10
        hung = False
        try:
            self.daemon.wait(timeout)
        except subprocess.TimeoutExpired:
            hung = True
            self.daemon.kill()
            self.daemon.wait()
        code = self.daemon.returncode
        self.daemon = None
        # Wait until the name is released so the next start does not race with it.
        for _ in range(200):
            try:
                if not self.bus().name_has_owner(BUS):
                    break
            except dbus.DBusException:
                break
            time.sleep(0.02)
        if sig != signal.SIGTERM:
            return
        if hung:
            raise AssertionError(f"wgnetd did not exit within {timeout} s of SIGTERM:\n" + self.log_tail())
        if VALGRIND and code == 99:
            raise AssertionError("valgrind found errors in wgnetd:\n" + self.log_tail(80))
        if code != 0:
            how = f"signal {-code}" if code < 0 else f"status {code}"
            raise AssertionError(f"wgnetd ended with {how}, not 0, when stopped with SIGTERM:\n" + self.log_tail())

    def restart_daemon(self, sig=signal.SIGTERM):
        self.stop_daemon(sig)
        self.start_daemon()

    def log_tail(self, n=40):
        try:
            with open(self.daemon_log) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    # --- talking to it ----------------------------------------------------------------
    def bus(self):
        return dbus.bus.BusConnection(self.address)

    def manager(self):
        return dbus.Interface(self.bus().get_object(BUS, "/org/wgnet1"), MANAGER)

    def network(self, path):
        return dbus.Interface(self.bus().get_object(BUS, path), NETWORK)

    def peer(self, path):
        return dbus.Interface(self.bus().get_object(BUS, path), PEER)

    def props(self, path, iface):
        obj = self.bus().get_object(BUS, path)
        return unwrap(dbus.Interface(obj, PROPS).GetAll(iface))

    def prop(self, path, iface, name):
        obj = self.bus().get_object(BUS, path)
        return unwrap(dbus.Interface(obj, PROPS).Get(iface, name))

    def as_user(self, method_path, iface, method, signature="", *args):
        """Call a method as the unprivileged test user; returns (error_name or None, result)."""
        prog = os.path.join(SRC, "tests", "integration", "buscall.py")
        r = run(["runuser", "-u", self.user, "--", "/usr/bin/python3", prog, self.address, method_path, iface, method,
                 signature, json.dumps(list(args))], check=False)
        if r.returncode not in (0, 3):
            raise AssertionError(f"buscall failed: {r.stderr}")
        out = json.loads(r.stdout)
        return out.get("error"), out.get("result")

    def grant_user(self):
        self.bash("rig_polkit_grant_group")

    def revoke_user(self):
        self.bash("rig_polkit_revoke_group")

    # --- the device -------------------------------------------------------------------
    def wg_dump(self, ifname):
        """`wg show IF dump` as {'interface': {...}, 'peers': {pubkey: {...}}}."""
        r = run(["ip", "netns", "exec", self.netns, "wg", "show", ifname, "dump"])
        lines = r.stdout.strip().split("\n")
        f = lines[0].split("\t")
        dev = {"private_key": f[0], "public_key": f[1], "listen_port": int(f[2]), "fwmark": f[3]}
        peers = {}
        for line in lines[1:]:
            f = line.split("\t")
            peers[f[0]] = {"preshared_key": None if f[1] == "(none)" else f[1], "endpoint": f[2],
                           "allowed_ips": sorted(x for x in f[3].split(",") if x and x != "(none)"),
                           "latest_handshake": int(f[4]), "rx": int(f[5]), "tx": int(f[6]),
                           "keepalive": 0 if f[7] == "off" else int(f[7])}
        return dev, peers

    def ns(self, *cmd, check=True):
        return run(["ip", "netns", "exec", self.netns, *cmd], check=check)

    def sqlite(self, sql):
        return run(["sqlite3", os.path.join(self.state, "wgnet.db"), sql]).stdout.strip()


def unwrap(v):
    """dbus-python values to plain Python."""
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, (dbus.String, dbus.ObjectPath, dbus.Signature)):
        return str(v)
    if isinstance(v, (dbus.Byte, dbus.Int16, dbus.Int32, dbus.Int64, dbus.UInt16, dbus.UInt32, dbus.UInt64)):
        return int(v)
    if isinstance(v, dbus.Double):
        return float(v)
    if isinstance(v, dbus.Array) and v.signature == "y":
        return bytes(int(b) for b in v)
    if isinstance(v, (dbus.Array, list)):
        return [unwrap(x) for x in v]
    if isinstance(v, (dbus.Struct, tuple)):
        return tuple(unwrap(x) for x in v)
    if isinstance(v, (dbus.Dictionary, dict)):
        return {unwrap(k): unwrap(x) for k, x in v.items()}
    return v


def opts(**kw):
    """a{sv} with the right D-Bus types for wgnet's options."""
    types = {"ListenPort": dbus.UInt16, "PersistentKeepalive": dbus.UInt16, "MTU": dbus.UInt32,
             "OnlineThreshold": dbus.UInt32, "ExpiresAt": dbus.UInt64,
             "RotationInterval": dbus.UInt64, "RevokeAfterInactive": dbus.UInt64, "GracePeriod": dbus.UInt64}
    d = dbus.Dictionary({}, signature="sv")
    for k, v in kw.items():
        if isinstance(v, bool):
            d[k] = dbus.Boolean(v, variant_level=1)
        elif isinstance(v, list):
            d[k] = dbus.Array(v, signature="s", variant_level=1)
        elif k in types:
            d[k] = types[k](v, variant_level=1)
        else:
            d[k] = dbus.String(v, variant_level=1)
    return d


def expect_error(name, fn, *args):
    try:
        fn(*args)
    except dbus.DBusException as e:
        if e.get_dbus_name() != name:
            raise AssertionError(f"expected {name}, got {e.get_dbus_name()}: {e.get_dbus_message()}")
        return e.get_dbus_message()
    raise AssertionError(f"expected {name}, but the call succeeded")


def wait_for(pred, timeout=10, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def main(tests, rig_name):
    """Run tests (list of functions taking the rig) in order on one rig."""
    only = os.environ.get("TEST_ONLY")
    rig = Rig(rig_name)
    failed = 0
    try:
        rig.start()
        for t in tests:
            if only and only not in t.__name__:
                continue
            t0 = time.time()
            try:
                t(rig)
                print(f"ok   {t.__name__} ({time.time() - t0:.2f}s)", flush=True)
            except Exception:
                failed += 1
                print(f"FAIL {t.__name__}", flush=True)
                traceback.print_exc()
                print("--- wgnetd log tail:\n" + rig.log_tail(), flush=True)
    finally:
        stopped = True
        try:
            rig.stop()
        except Exception:
            stopped = False
            print("FAIL stopping wgnetd at the end", flush=True)
            traceback.print_exc()
    print(f"# {len(tests) - failed} ok, {failed} failed" + ("" if stopped else ", wgnetd's stop failed"))
    sys.exit(1 if failed or not stopped else 0)
