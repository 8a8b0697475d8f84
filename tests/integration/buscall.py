#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Call one wgnet method and print {"result": ...} or {"error": name, "message": ...} as JSON.
Used to call as another user: runuser -u USER -- buscall.py ADDRESS PATH IFACE METHOD SIG ARGS_JSON"""
import json
import sys

import dbus

sys.path.insert(0, sys.path[0])
from wgnet import unwrap  # noqa: E402

address, path, iface, method, sig, args = sys.argv[1:7]
bus = dbus.bus.BusConnection(address)
obj = bus.get_object("org.wgnet1", path)
try:
    if iface == "org.freedesktop.DBus.Properties":
        res = obj.get_dbus_method(method, iface)(*json.loads(args))
    else:
        res = obj.get_dbus_method(method, iface)(*json.loads(args), signature=sig)
    print(json.dumps({"result": unwrap(res)}, default=lambda b: b.hex() if isinstance(b, bytes) else str(b)))
except dbus.DBusException as e:
    print(json.dumps({"error": e.get_dbus_name(), "message": e.get_dbus_message()}))
    sys.exit(3)
