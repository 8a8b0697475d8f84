#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""wgnetd's life around its calls, on the private bus with the real polkitd and
wireguard-go in a namespace: polkitd that stops answering, a second wgnetd started by
mistake, --remove-devices (the package's prerm at a remove), and the bus going away."""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wgnet import (NETWORK, SRC, WGNETD, main, opts, require_root_and_tools, unwrap, wait_for)  # noqa: E402

state = {}


def test_setup(rig):
    rig.start_daemon()
    state["ifname"] = f"wgl{rig.tag[-5:]}"
    state["net"] = unwrap(rig.manager().CreateNetwork("life", opts(Interface=state["ifname"],
                                                                      Addresses=["10.93.0.1/24"])))
    rig.network(state["net"]).AddPeer("one", opts())


def test_polkit_hangs(rig):
    """polkitd stops answering: a user's call is answered AccessDenied saying so within
    wgnetd's 10 s, before the caller's own 25 s timeout, and nothing changes."""
    with open(os.path.join(rig.dir, "bus", "polkitd.pid")) as f:
        pk = int(f.read().strip())
    count = rig.sqlite("SELECT count(*) FROM peers")
    os.kill(pk, signal.SIGSTOP)
    try:
        t0 = time.time()
        err, _ = rig.as_user(state["net"], NETWORK, "AddPeer", "sa{sv}", "hung", {})
        took = time.time() - t0
    finally:
        os.kill(pk, signal.SIGCONT)
    # AccessDenied in about 10 s (busctl-like callers would have seen their own timeout at 25 s)
    assert err == "org.freedesktop.DBus.Error.AccessDenied", err
    assert 9 < took < 20, took
    assert rig.sqlite("SELECT count(*) FROM peers") == count


SLOW_RULE = """polkit.addRule(function(action, subject) {
    if (action.id == "org.wgnet1.manage-peers" && subject.user == "%s") {
        polkit.spawn(["/bin/sleep", "3"]);
        return polkit.Result.YES;
    }
});
"""


def test_caller_leaves_during_polkit(rig):
    """A caller that leaves while polkit is asked (a Ctrl-C at the password prompt) has its
    check withdrawn: polkit's "allowed", 3 s later, makes no change. The same call from a
    caller that stays is run (the rule allows it, slowly)."""
    rules = os.path.join(rig.dir, "bus", "etc-polkit-1", "rules.d", "10-wgnet-slow.rules")
    with open(rules + ".tmp", "w") as f:
        f.write(SLOW_RULE % rig.user)
    os.chmod(rules + ".tmp", 0o644)
    os.rename(rules + ".tmp", rules)
    try:
        wait_for(lambda: rig.bash("rig_pkcheck --user org.wgnet1.manage-peers").stdout.strip() == "yes", 20,
                 "polkitd to load the slow rule")
        prog = os.path.join(SRC, "tests", "integration", "buscall.py")
        call = lambda name: subprocess.Popen(  # noqa: E731
            ["runuser", "-u", rig.user, "--", "/usr/bin/python3", prog, rig.address, state["net"], NETWORK,
             "AddPeer", "sa{sv}", f'["{name}", {{}}]'], stdout=subprocess.PIPE, text=True, start_new_session=True)
        gone = call("left")
        time.sleep(1)
        os.killpg(gone.pid, signal.SIGKILL)
        gone.wait()
        wait_for(lambda: "left while polkit was asked about org.wgnet1.manage-peers" in open(rig.daemon_log).read(),
                 5, "wgnetd to drop the call")
        t0 = time.time()
        stays = call("stayed")
        out, _ = stays.communicate(timeout=20)
        assert stays.returncode == 0 and time.time() - t0 > 2.5, (stays.returncode, out)
        time.sleep(1)   # the first check's answer, had it not been withdrawn, came before the second's
        names = rig.sqlite("SELECT group_concat(name) FROM peers WHERE name IN ('left', 'stayed')")
        assert names == "stayed", names
        assert rig.daemon.poll() is None
    finally:
        os.unlink(rules)


def test_second_instance_refused(rig):
    """A second wgnetd (on the same state directory, or another one on the same bus) exits
    at once with a message naming the first, before it touches a device or the database."""
    first = rig.daemon.pid
    before = rig.wg_dump(state["ifname"])
    for state_dir, expect in ((rig.state, f"Another wgnetd (PID {first}) uses the state directory"),
                              (os.path.join(rig.dir, "state2"), "org.wgnet1 is owned by another process")):
        p = subprocess.run(["ip", "netns", "exec", rig.netns, WGNETD, f"--state-dir={state_dir}", "--config=/dev/null",
                            "--backend=userspace", "--tick=1"], capture_output=True, text=True, timeout=20,
                           env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=rig.address))
        assert p.returncode != 0 and expect in p.stderr, (p.returncode, p.stderr)
    assert rig.daemon.poll() is None
    assert rig.wg_dump(state["ifname"]) == before
    assert rig.prop(state["net"], NETWORK, "Name")
    assert not os.path.exists(os.path.join(rig.dir, "state2", "wgnet.db"))


def test_remove_devices(rig):
    """wgnetd --remove-devices (the package's prerm at a remove): refused while wgnetd runs;
    once it is stopped, every interface of the database is gone, wireguard-go with it."""
    cmd = ["ip", "netns", "exec", rig.netns, WGNETD, f"--state-dir={rig.state}", "--config=/dev/null",
           "--backend=userspace", "--remove-devices"]
    links = lambda: rig.ns("ip", "-o", "link", "show").stdout  # noqa: E731
    assert state["ifname"] in links()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "stop wgnetd first" in p.stderr, (p.returncode, p.stderr)
    assert state["ifname"] in links()
    rig.stop_daemon()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert f"Removed {state['ifname']}" in p.stderr, p.stderr
    wait_for(lambda: state["ifname"] not in links(), 5, "the interface to go")
    wait_for(lambda: not os.path.exists(f"/run/wireguard/{state['ifname']}.sock"), 5, "wireguard-go to exit")
    rig.start_daemon()
    wait_for(lambda: state["ifname"] in links(), 10, "the start to bring the active network back")


def test_bus_lost_exits(rig):
    """dbus-daemon goes away (restarted, killed): wgnetd, unreachable, exits with a failure
    (so that systemd starts it again) instead of running on without its name. Last: the
    rig's bus is gone afterwards."""
    with open(os.path.join(rig.dir, "bus", "dbus.pid")) as f:
        bus_pid = int(f.read().strip())
    os.kill(bus_pid, signal.SIGKILL)
    code = rig.daemon.wait(10)
    rig.daemon = None
    assert code == 1, code
    with open(rig.daemon_log) as f:
        assert "Lost the connection to the system bus" in f.read()


TESTS = [test_setup, test_polkit_hangs, test_caller_leaves_during_polkit, test_second_instance_refused, test_remove_devices, test_bus_lost_exits]

if __name__ == "__main__":
    require_root_and_tools("wireguard-go", "wg", "dbus-daemon", "/usr/lib/polkit-1/polkitd", "sqlite3")
    main(TESTS, "life")
