#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""wgnetctl with no system bus to reach (DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent):
what it must decide before it connects. Wrong usage exits 2 naming what is wrong, an output
file that cannot be written exits 1 before any call is made (a one-time key is asked for
only when it has somewhere to go), and nothing is left behind.

  test-wgnetctl-nobus.py            (WGNET_BUILD_ROOT, WGNET_SOURCE_ROOT from meson)"""

import os
import shutil
import subprocess
import sys
import tempfile

BUILD = os.environ.get("WGNET_BUILD_ROOT", "build")
SRC = os.environ.get("WGNET_SOURCE_ROOT", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WGNETCTL = os.path.join(BUILD, "client", "wgnetctl")
NO_BUS = "Cannot connect to the system bus"

passed = failed = 0


def ctl(*args, stdin=None):
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent", LC_ALL="C.UTF-8", NO_COLOR="1")
    return subprocess.run([WGNETCTL, *args], capture_output=True, text=True, env=env, timeout=30,
                          input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL)


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}" + (f": {detail}" if detail else ""))


def expect(rc, needle, *args, name=None, absent=NO_BUS):
    """wgnetctl ARGS exits rc, its stderr names needle and (by default) it never tried the bus."""
    r = ctl(*args)
    ok = r.returncode == rc and needle in r.stderr and (absent is None or absent not in r.stderr)
    check(name or " ".join(args), ok, f"exit {r.returncode}, stderr {r.stderr!r}")
    return r


def test_output_file():
    with tempfile.TemporaryDirectory() as d:
        taken = os.path.join(d, "taken.conf")
        with open(taken, "w") as f:
            f.write("old")
        for verb in (["peer", "add", "n", "p"], ["peer", "rotate", "n", "p"], ["peer", "config", "n", "p"],
                     ["network", "export", "n"]):
            expect(1, f"Cannot write '{taken}': the file exists (use --force", *verb, "-o", taken)
        expect(1, f"Cannot write '{taken}': the file exists", "peer", "qr", "n", "p", f"--png={taken}")
        with open(taken) as f:
            check("an existing file is left alone", f.read() == "old")
        missing = os.path.join(d, "no-such-dir", "x.conf")
        expect(1, f"Cannot write '{missing}': No such file or directory", "peer", "add", "n", "p", "-o", missing)
        expect(1, f"Cannot write '{d}': it is a directory", "peer", "add", "n", "p", "-o", d, "--force")
        # a free name: made ready, then the bus is unreachable; nothing is left behind
        free = os.path.join(d, "free.conf")
        expect(1, NO_BUS, "peer", "add", "n", "p", "-o", free, absent=None, name="peer add -o FREE without a bus")
        check("no file or temporary file left", sorted(os.listdir(d)) == ["taken.conf"], sorted(os.listdir(d)))
        expect(1, NO_BUS, "peer", "add", "n", "p", "-o", taken, "--force", absent=None,
               name="peer add -o TAKEN --force without a bus")
        with open(taken) as f:
            check("--force replaces only after the call", f.read() == "old")
        check("still nothing left behind", sorted(os.listdir(d)) == ["taken.conf"], sorted(os.listdir(d)))


def test_usage_errors():
    """Wrong usage exits 2 naming what is wrong, without trying the bus (wgnetctl(1): EXIT STATUS)."""
    for needle, args in [
        ("Unknown command 'frob'", ["frob"]),
        ("Unknown command 'network frob'", ["network", "frob"]),
        ("Unknown command 'peer frob'", ["peer", "frob"]),
        ("Unknown command 'tunnel frob'", ["tunnel", "frob"]),
        ("Unknown command 'mesh bogus'", ["mesh", "bogus"]),
        ("'network create' is missing NAME", ["network", "create"]),
        ("'peer add' is missing NAME", ["peer", "add", "office"]),
        ("'mesh exit-node' is missing", ["mesh", "exit-node", "m"]),
        ("Unexpected argument 'b'", ["network", "list", "b"]),
        ("Option --port does not apply to 'peer add'", ["peer", "add", "n", "p", "--port=1"]),
        ("Invalid value '0' for --port", ["network", "create", "n", "--address=10.1.0.1/24", "--port=0"]),
        ("Give either --psk or --no-psk", ["peer", "add", "n", "p", "--psk", "--no-psk"]),
        ("Missing --address for network 'x'", ["network", "create", "x"]),
        ("Nothing to change: 'network set'", ["network", "set", "x"]),
        ("Nothing to change: 'peer set'", ["peer", "set", "n", "p"]),
        ("Nothing to change: 'tunnel set'", ["tunnel", "set", "t"]),
        ("Give either --png or --svg", ["peer", "qr", "a", "b", "--png=x", "--svg=y"]),
        ("Invalid value 'abc' for --public-key", ["peer", "add", "a", "b", "--public-key=abc"]),
        ("'mesh exit-node MESH use' needs the member's name", ["mesh", "exit-node", "m", "use"]),
        ("'mesh exit-node MESH offer' takes no member name ('x')", ["mesh", "exit-node", "m", "offer", "x"]),
        ("Unknown exit-node action 'frob'", ["mesh", "exit-node", "m", "frob"]),
        ("mesh create needs --address", ["mesh", "create", "m"]),
        ("mesh create needs --endpoint", ["mesh", "create", "m", "--address=10.7.0.1/24"]),
        ("--expires must lie in the future", ["mesh", "invite", "m", "--expires=@5"]),
        ("Missing peer: give NETWORK PEER", ["peer", "show", "phone"]),
        ("Missing peer: give NETWORK PEER", ["peer", "rotate", "phone"]),
        ("Missing peer: give NETWORK PEER", ["peer", "qr", "phone"]),
        ("Empty file name", ["peer", "config", "n", "p", "-o", ""]),
        ("Option --mode does not apply to 'mesh create'", ["mesh", "create", "m", "--address=10.7.0.1/24",
                                                            "--endpoint=192.0.2.1:51820", "--mode=hub"]),
        ("Invalid value '+6m' for --expires: 'm' may mean minutes or months", ["peer", "add", "n", "p", "--expires=+6m"]),
        ("Invalid value '6m' for --rotate-every: 'm' may mean", ["network", "set", "n", "--rotate-every=6m"]),
        ("Empty file name", ["peer", "qr", "n", "p", "--png="]),
    ]:
        expect(2, needle, *args)
    # what is right gets as far as the bus
    expect(1, NO_BUS, "mesh", "exit-node", "m", "use", "x", absent=None)
    expect(1, NO_BUS, "peer", "show", "/org/wgnet1/peer/7", absent=None)


def ctl_bytes(*args, stdin=b""):
    """wgnetctl with byte arguments and stdin; stderr decoded with escapes for what is not UTF-8."""
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent", LC_ALL="C.UTF-8", NO_COLOR="1")
    r = subprocess.run([WGNETCTL.encode(), *args], capture_output=True, env=env, timeout=30, input=stdin)
    return r.returncode, r.stderr.decode("utf-8", "backslashreplace")


def expect_bytes(rc, needle, *args, stdin=b"", name, absent=(NO_BUS,)):
    code, err = ctl_bytes(*args, stdin=stdin)
    ok = code == rc and needle in err and not any(a in err for a in absent)
    check(name, ok, f"exit {code}, stderr {err!r}")


def test_not_utf8():
    """Text that D-Bus cannot carry (not UTF-8) is a usage error naming the option, argument or
    file and line, before connecting; it was 'Out of memory', exit 1."""
    utf8_hint = "not valid UTF-8"
    expect_bytes(2, "Invalid value 'caf\\xe9@example.com' for --email: not valid UTF-8 (byte 4)",
                 b"peer", b"add", b"n", b"p", b"--email=caf\xe9@example.com", name="--email in Latin-1")
    expect_bytes(2, "for --name: " + utf8_hint, b"peer", b"set", b"n", b"p", b"--name=\xff", name="--name")
    expect_bytes(2, "for --address: " + utf8_hint, b"network", b"create", b"n", b"-a", b"10.1.0.1/24\xc0",
                 name="-a (a list option)")
    expect_bytes(2, "for --endpoint: " + utf8_hint, b"tunnel", b"create", b"t", b"--endpoint=h\xed\xa0\x80:1",
                 name="--endpoint with a surrogate")
    expect_bytes(2, "Argument NAME ('caf\\xe9') of 'peer add' is not valid UTF-8 (byte 4)",
                 b"peer", b"add", b"office", b"caf\xe9", name="a peer name in Latin-1")
    expect_bytes(2, "Argument NETWORK... ('b\\xff') of 'network delete'", b"network", b"delete", b"a", b"b\xff",
                 name="the second of several networks")
    # a pairing string is a secret: named, not shown
    code, err = ctl_bytes(b"tunnel", b"import", b"wgpair1-secret\xff")
    check("a bad pairing string is named, not shown",
          code == 2 and "Argument PAIRING|- of 'tunnel import' is not valid UTF-8" in err and "secret" not in err
          and NO_BUS not in err, (code, err))
    expect_bytes(2, "Standard input line 2 is not valid UTF-8 (byte 0xe9", b"mesh", b"join", b"-",
                 stdin=b"wgmesh1-x\n\xe9\n", name="an invitation on stdin")
    expect_bytes(2, "Standard input line 1 is not valid UTF-8", b"tunnel", b"import", b"-", stdin=b"\x80",
                 name="a pairing string on stdin")
    with tempfile.TemporaryDirectory() as d:
        conf = os.path.join(d, "office.conf")
        with open(conf, "wb") as f:
            f.write(b"[Interface]\nPrivateKey = aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRlc3QgMTIzNDU=\n"
                    b"# Bureau de Ren\xe9\nAddress = 10.9.0.1/24\n")
        expect_bytes(2, f"'{conf}' line 3 is not valid UTF-8 (byte 0xe9 in column 16)", b"network", b"import",
                     b"office", conf.encode(), name="a wg-quick file with a Latin-1 comment")
        code, err = ctl_bytes(b"network", b"import", b"office", conf.encode())
        check("the file's text is not quoted", "PrivateKey" not in err and "aGVsbG8" not in err, err)
        expect_bytes(2, "Standard input line 3 is not valid UTF-8", b"network", b"import", b"office", b"-",
                     stdin=open(conf, "rb").read(), name="a wg-quick config on stdin")
        expect_bytes(1, f"Cannot read '{d}/none.conf'", b"network", b"import", b"office", f"{d}/none.conf".encode(),
                     name="an unreadable file: exit 1 before connecting")
        good = os.path.join(d, "good.conf")
        with open(good, "wb") as f:
            f.write("[Interface]\n# Bureau de René\nAddress = 10.9.0.1/24\n".encode())
        expect_bytes(1, NO_BUS, b"network", b"import", b"office", good.encode(), absent=(),
                     name="a UTF-8 file gets as far as the bus")
        # local file names need not be UTF-8: they never go on the bus
        expect_bytes(1, NO_BUS, b"peer", b"config", b"n", b"p", b"-o", os.path.join(d, "\xff.conf").encode(),
                     absent=(), name="-o with a name that is not UTF-8")
        bad_name = os.path.join(d.encode(), b"caf\xe9.conf")
        with open(bad_name, "wb") as f:
            f.write(b"[Interface]\nAddress = 10.9.0.1/24\n")
        expect_bytes(1, NO_BUS, b"network", b"import", b"office", bad_name, absent=(),
                     name="an input file whose name is not UTF-8")
        check("nothing left behind", sorted(os.listdir(d)) == sorted(["office.conf", "good.conf", "caf\udce9.conf"]),
              os.listdir(d))


def test_version_without_bus():
    r = ctl("version")
    check("version without a bus: the client's version, exit 1",
          r.returncode == 1 and r.stdout.startswith("wgnetctl ") and NO_BUS in r.stderr, (r.returncode, r.stdout, r.stderr))
    r = ctl("--json=short", "version")
    check("version --json without a bus", r.returncode == 1 and '"Client":' in r.stdout and '"Daemon":null' in r.stdout,
          (r.returncode, r.stdout))
    r = ctl("--version")
    check("--version", r.returncode == 0 and r.stdout.startswith("wgnetctl "), r)


# What the fake wgnetctl of the completion tests prints for --json=short ... list.
FAKE_JSON = {
    "network list": '[{"Path":"/org/wgnet1/network/1","Id":1,"Name":"office","Mode":"hub"},'
                    '{"Path":"/org/wgnet1/network/2","Id":2,"Name":"head office","Mode":"hub"},'
                    '{"Path":"/org/wgnet1/network/3","Id":3,"Name":"corp mesh","Mode":"mesh"}]',
    "peer list head office": '[{"Path":"/org/wgnet1/peer/1","Name":"old laptop","NetworkName":"head office"},'
                             '{"Path":"/org/wgnet1/peer/2","Name":"phone","NetworkName":"head office"},'
                             '{"Path":"/org/wgnet1/peer/3","Name":"Bob\'s \\"tab\\\\let\\"","NetworkName":"head office"}]',
    "tunnel list": '[{"Name":"to b","Path":"/org/wgnet1/tunnel/1"}]',
    "mesh members corp mesh": '[{"Name":"laptop 2","Path":"/org/wgnet1/peer/9"},{"Name":"gw","Path":"/org/wgnet1/peer/10"}]',
}


def complete(line):
    """What bash completion offers for the last word of line; words are split at blanks
    not escaped by a backslash. wgnetctl is a fake that prints FAKE_JSON."""
    words = [w.replace("\x00", "\\ ") for w in line.replace("\\ ", "\x00").split(" ")]
    with tempfile.TemporaryDirectory() as d:
        cases = []
        for i, (k, v) in enumerate(FAKE_JSON.items()):
            with open(os.path.join(d, str(i)), "w") as f:
                f.write(v + "\n")
            cases.append(f"  '{k}') cat {d}/{i} ;;")
        script = (f"source {os.path.join(SRC, 'client', 'wgnetctl.bash')}\n"
                  'wgnetctl() { shift 2; case "$*" in\n' + "\n".join(cases) + "\n  esac; }\n"
                  f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
                  "COMP_LINE=\"${COMP_WORDS[*]}\"; _wgnetctl; printf '%s\\n' \"${COMPREPLY[@]}\"")
        r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    return sorted(x for x in r.stdout.split("\n") if x)


def test_bash_completion():
    if not shutil.which("bash"):
        print("skip bash completion: no bash")
        return
    cases = [
        ("wgnetctl ", ["help", "mesh", "monitor", "network", "peer", "status", "tunnel", "version"]),
        ("wgnetctl mesh ", ["create", "exit-node", "invite", "join", "leave", "members"]),
        ("wgnetctl network show ", ["corp\\ mesh", "head\\ office", "office"]),
        ("wgnetctl network show h", ["head\\ office"]),
        ("wgnetctl peer show head\\ office ", [r"Bob\'s\ \"tab\\let\"", "old\\ laptop", "phone"]),
        ("wgnetctl peer show head\\ office B", [r"Bob\'s\ \"tab\\let\""]),
        ("wgnetctl peer show head\\ office ol", ["old\\ laptop"]),
        ("wgnetctl tunnel up ", ["to\\ b"]),
        ("wgnetctl mesh members ", ["corp\\ mesh"]),
        ("wgnetctl mesh exit-node ", ["corp\\ mesh"]),
        ("wgnetctl mesh exit-node corp\\ mesh ", ["none", "offer", "use", "withdraw"]),
        ("wgnetctl mesh exit-node corp\\ mesh use ", ["gw", "laptop\\ 2"]),
        ("wgnetctl mesh exit-node corp\\ mesh offer ", []),
        ("wgnetctl peer add office x --rem", ["--remote-endpoint="]),
        ("wgnetctl peer set office x --all", ["--allowed-ip="]),
        ("wgnetctl peer add -o f.conf office x --no-", ["--no-ask-password", "--no-legend", "--no-pager",
                                                          "--no-psk", "--no-qr"]),
        ("wgnetctl peer add -o f.conf ", ["corp\\ mesh", "head\\ office", "office"]),
        ("wgnetctl mesh create m --mo", []),
        ("wgnetctl mesh create m --mt", ["--mtu="]),
    ]
    for line, want in cases:
        got = complete(line)
        check(f"completion of {line!r}", got == want, f"{got} != {want}")
    for line, needles in [
        ("wgnetctl peer add office x -", ["-a", "-o", "-q", "-h", "--remote-endpoint=", "--allowed-ip=", "--qr"]),
        ("wgnetctl peer set office x -", ["-a", "--remote-endpoint=", "--allowed-ip=", "--name="]),
        ("wgnetctl peer rotate office x -", ["-o", "--output=", "--force", "--psk"]),
        ("wgnetctl mesh create m -", ["-a", "--address=", "--dns=", "--port=", "--mtu=", "--route=", "--isolation=",
                                      "--nat-interface=", "--online-threshold=", "--interface=", "--inactive"]),
        ("wgnetctl mesh invite m -", ["--name=", "--expires=", "--endpoint="]),
        ("wgnetctl mesh join - -", ["--name=", "--interface=", "--port="]),
    ]:
        got = complete(line)
        missing = [n for n in needles if n not in got]
        check(f"completion of {line!r} offers {needles}", not missing, f"missing {missing} in {got}")


def commands():
    """The commands of the verb table, from --help."""
    out = ctl("--help").stdout
    lines = out.split("Commands:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    groups = ("network", "peer", "tunnel", "mesh")
    return [" ".join(w.split()[:2]) if w.split()[0] in groups else w.split()[0] for w in lines]


def test_man_page():
    man = os.path.join(SRC, "client", "wgnetctl.1")
    if not shutil.which("groff"):
        print("skip man page: groff is not installed")
        return
    r = subprocess.run(["groff", "-man", "-ww", "-z", man], capture_output=True, text=True)
    check("wgnetctl.1: groff -ww gives no warnings", r.returncode == 0 and not r.stderr, r.stderr)
    text = subprocess.run(["groff", "-man", "-Tutf8", "-P-cbou", "-rLL=200n", man], capture_output=True,
                          text=True, env=dict(os.environ, LC_ALL="C.UTF-8")).stdout
    # a command heads its own paragraph (a .TP tag at the first indentation of COMMANDS), not
    # text in another's
    section = text.split("\nCOMMANDS\n", 1)[1].split("\nOPTIONS\n", 1)[0]
    tags = [line[7:] for line in section.splitlines() if line.startswith("       ") and not line.startswith("        ")]
    cmds = commands()
    check("commands found in --help", len(cmds) > 30, cmds)
    for c in cmds:
        if c == "help":
            continue
        check(f"wgnetctl.1 describes '{c}' in a paragraph of its own",
              any(t == c or t.startswith(c + " ") or (", " + c) in t for t in tags))


def main():
    if not os.access(WGNETCTL, os.X_OK):
        print(f"SKIP: {WGNETCTL} is not built")
        sys.exit(77)
    for t in [v for k, v in sorted(globals().items()) if k.startswith("test_") and callable(v)]:
        t()
    print(f"# {passed} ok, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
