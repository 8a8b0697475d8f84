#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`meson install --destdir` puts every file where Debian expects it.

The project is configured the way debhelper's meson build system does it (prefix /usr,
sysconfdir /etc, localstatedir /var, libdir lib/<triplet>, buildtype plain), the installed
programs are built, and `meson install --destdir` runs into a temporary directory. The
installed tree must be exactly the expected list (nothing missing, nothing unexpected),
programs executable, the units pointing at the installed programs and passing
`systemd-analyze verify` against that tree (skipped, and said, where it cannot).

  test-install.py            (WGNET_SOURCE_ROOT: the source tree)"""

import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("WGNET_SOURCE_ROOT", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def unit_dir():
    r = subprocess.run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"], capture_output=True, text=True)
    return (r.stdout.strip() or "/usr/lib/systemd/system").lstrip("/")


APPLET = {"usr/bin/wgnet-applet", "usr/share/applications/org.wgnet1.Applet.desktop",
          "usr/share/icons/hicolor/scalable/apps/org.wgnet1.Applet.svg"}


def expected(applet):
    u = unit_dir()
    return (APPLET if applet else set()) | {
        "usr/sbin/wgnetd",
        "usr/bin/wgnetctl",
        "usr/libexec/wgnet-exporter",
        f"{u}/wgnetd.service",
        f"{u}/wgnet-exporter.socket",
        f"{u}/wgnet-exporter@.service",
        "usr/share/dbus-1/system.d/org.wgnet1.conf",
        "usr/share/dbus-1/system-services/org.wgnet1.service",
        "usr/share/dbus-1/interfaces/org.wgnet1.Manager.xml",
        "usr/share/dbus-1/interfaces/org.wgnet1.Network.xml",
        "usr/share/dbus-1/interfaces/org.wgnet1.Peer.xml",
        "usr/share/dbus-1/interfaces/org.wgnet1.Tunnel.xml",
        "usr/share/dbus-1/interfaces/org.wgnet1.Mesh.xml",
        "usr/share/dbus-1/interfaces/org.wgnet1.MeshMember.xml",
        "usr/share/polkit-1/actions/org.wgnet1.policy",
        "usr/share/doc/wgnet/50-wgnet-admins.rules.example",
        "usr/share/man/man1/wgnetctl.1",
        "usr/share/man/man8/wgnetd.8",
        "usr/share/bash-completion/completions/wgnetctl",
    }


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        print(f"FAIL {' '.join(cmd)}:\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
        sys.exit(1)
    return r


def main():
    failed = 0

    def check(name, cond, detail=""):
        nonlocal failed
        print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))
        failed += not cond

    if not shutil.which("meson") or not shutil.which("pkg-config"):
        print("SKIP: meson or pkg-config missing")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="wgnet-install-")
    try:
        build, dest = os.path.join(tmp, "build"), os.path.join(tmp, "dest")
        triplet = run(["gcc", "-print-multiarch"]).stdout.strip() or "x86_64-linux-gnu"
        run(["meson", "setup", build, SRC, "--prefix=/usr", "--sysconfdir=/etc", "--localstatedir=/var",
             f"--libdir=lib/{triplet}", "--buildtype=plain", "--wrap-mode=nodownload",
             "-Dtests_integration=false"])
        # The applet is built when GTK 4 is there (-Dapplet=auto), and then installed too.
        import json
        targets = json.loads(run(["meson", "introspect", "--targets", build]).stdout)
        applet = any(t["name"] == "wgnet-applet" for t in targets)
        print(f"# applet {'built' if applet else 'not built (no GTK 4)'}")
        run(["meson", "compile", "-C", build, "daemon/wgnetd:executable", "client/wgnetctl:executable",
             "exporter/wgnet-exporter:executable"] + (["client/applet/wgnet-applet:executable"] if applet else []))
        run(["meson", "install", "-C", build, "--no-rebuild", "--quiet", "--destdir", dest])

        have = set()
        for root, _, files in os.walk(dest):
            for f in files:
                have.add(os.path.relpath(os.path.join(root, f), dest))
        want = expected(applet)
        check("every file installed", want <= have, sorted(want - have))
        check("nothing unexpected installed", have <= want, sorted(have - want))
        for exe in ("usr/sbin/wgnetd", "usr/bin/wgnetctl", "usr/libexec/wgnet-exporter") + (("usr/bin/wgnet-applet",) if applet else ()):
            p = os.path.join(dest, exe)
            check(f"{exe} is executable", os.path.isfile(p) and os.access(p, os.X_OK))
        u = unit_dir()
        units = {n: open(os.path.join(dest, u, n)).read() for n in ("wgnetd.service", "wgnet-exporter@.service")}
        check("wgnetd.service runs /usr/sbin/wgnetd", "ExecStart=/usr/sbin/wgnetd" in units["wgnetd.service"])
        check("wgnet-exporter@.service runs /usr/libexec/wgnet-exporter",
              "ExecStart=/usr/libexec/wgnet-exporter" in units["wgnet-exporter@.service"])
        sock = open(os.path.join(dest, u, "wgnet-exporter.socket")).read()
        check("the exporter listens on loopback only",
              all(line.split("=", 1)[1].startswith(("127.0.0.1:", "[::1]:"))
                  for line in sock.splitlines() if line.startswith("ListenStream=")) and "Accept=yes" in sock)
        for f in ("usr/share/dbus-1/system.d/org.wgnet1.conf", "usr/share/polkit-1/actions/org.wgnet1.policy"):
            check(f"{f} is not executable", not os.access(os.path.join(dest, f), os.X_OK))

        sa = shutil.which("systemd-analyze")
        if not sa:
            print("skip systemd-analyze verify: systemd-analyze is not installed")
        else:
            # The units as installed, with their programs' paths pointed into DESTDIR (verify
            # checks that ExecStart= is executable); the system's own units stay where they are.
            vdir = os.path.join(tmp, "verify")
            os.mkdir(vdir)
            names = ("wgnet-exporter.socket", "wgnet-exporter@.service", "wgnetd.service")
            for n in names:
                text = open(os.path.join(dest, u, n)).read()
                for exe in ("/usr/sbin/wgnetd", "/usr/libexec/wgnet-exporter"):
                    text = text.replace("=" + exe, "=" + dest + exe)
                open(os.path.join(vdir, n), "w").write(text)
            r = subprocess.run([sa, "verify", "--man=no", os.path.join(vdir, "wgnet-exporter.socket"),
                                os.path.join(vdir, "wgnet-exporter@.service"), os.path.join(vdir, "wgnetd.service")],
                               capture_output=True, text=True, cwd=vdir)
            bad = [line for line in r.stderr.splitlines() if "wgnet" in line]
            check("systemd-analyze verify of the installed units", r.returncode == 0 and not bad, "\n".join(bad)[-1500:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"# {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
