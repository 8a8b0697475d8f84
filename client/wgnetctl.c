/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wgnetctl: the command-line client of wgnetd, on the public D-Bus API (org.wgnet1). This
 * file: the options, the verb table, main(); the shared helpers are in wgnetctl-util.c, the
 * verbs in the other wgnetctl-*.c. */
#include "wgnetctl.h"

WgnetctlArgs arg = { .ask_password = true };
static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, OPT_VERSION },
        { "json", optional_argument, NULL, OPT_JSON },
        { "no-legend", no_argument, NULL, OPT_NO_LEGEND },
        { "no-pager", no_argument, NULL, OPT_NO_PAGER },
        { "no-ask-password", no_argument, NULL, OPT_NO_ASK_PASSWORD },
        { "show-keys", no_argument, NULL, OPT_SHOW_KEYS },
        { "quiet", no_argument, NULL, 'q' },
        { "address", required_argument, NULL, OPT_ADDRESS },
        { "dns", required_argument, NULL, OPT_DNS },
        { "endpoint", required_argument, NULL, OPT_ENDPOINT },
        { "port", required_argument, NULL, OPT_PORT },
        { "listen-port", required_argument, NULL, OPT_PORT },
        { "mtu", required_argument, NULL, OPT_MTU },
        { "mode", required_argument, NULL, OPT_MODE },
        { "route", required_argument, NULL, OPT_ROUTE },
        { "extra-route", required_argument, NULL, OPT_ROUTE },
        { "isolation", required_argument, NULL, OPT_ISOLATION },
        { "default-route", required_argument, NULL, OPT_DEFAULT_ROUTE },
        { "peer-routes", required_argument, NULL, OPT_PEER_ROUTES },
        { "nat-interface", required_argument, NULL, OPT_NAT_INTERFACE },
        { "key-policy", required_argument, NULL, OPT_KEY_POLICY },
        { "online-threshold", required_argument, NULL, OPT_ONLINE_THRESHOLD },
        { "interface", required_argument, NULL, OPT_INTERFACE },
        { "inactive", no_argument, NULL, OPT_INACTIVE },
        { "keepalive", required_argument, NULL, OPT_KEEPALIVE },
        { "psk", no_argument, NULL, OPT_PSK },
        { "no-psk", no_argument, NULL, OPT_NO_PSK },
        { "public-key", required_argument, NULL, OPT_PUBLIC_KEY },
        { "role", required_argument, NULL, OPT_ROLE },
        { "site", required_argument, NULL, OPT_SITE },
        { "allowed-ip", required_argument, NULL, OPT_SITE },
        { "email", required_argument, NULL, OPT_EMAIL },
        { "name", required_argument, NULL, OPT_NAME },
        { "disabled", no_argument, NULL, OPT_DISABLED },
        { "expires", required_argument, NULL, OPT_EXPIRES },
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "force", no_argument, NULL, OPT_FORCE },
        { "png", required_argument, NULL, OPT_PNG },
        { "svg", required_argument, NULL, OPT_SVG },
        { "qr", no_argument, NULL, OPT_QR },
        { "no-qr", no_argument, NULL, OPT_NO_QR },
        { "local-network", required_argument, NULL, OPT_LOCAL_NETWORK },
        { "remote-network", required_argument, NULL, OPT_REMOTE_NETWORK },
        { "remote-endpoint", required_argument, NULL, OPT_REMOTE_ENDPOINT },
        { "tunnel-address", required_argument, NULL, OPT_TUNNEL_ADDRESS },
        { "pairing-lifetime", required_argument, NULL, OPT_PAIRING_LIFETIME },
        { "rotate-every", required_argument, NULL, OPT_ROTATE_EVERY },
        { "rotation-kind", required_argument, NULL, OPT_ROTATION_KIND },
        { "revoke-after", required_argument, NULL, OPT_REVOKE_AFTER },
        { "grace-period", required_argument, NULL, OPT_GRACE_PERIOD },
        { 0 },
};

const char *option_name(int opt) {
        for (const struct option *o = long_options; o->name; o++)
                if (o->val == opt)
                        return o->name;
        return "?";
}

/* --- version ------------------------------------------------------------------------------ */

static int verb_version(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(freep) char *version = NULL, *backend = NULL;
        int r;

        /* without a bus (connect_bus() said why): the client's version only, exit 1 */
        r = !bus ? -ENOTCONN
                 : sd_bus_get_property_string(bus, WGNET_BUS_NAME, WGNET_OBJECT_ROOT, WGNET_MANAGER_INTERFACE,
                                              "Version", &error, &version);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, WGNET_BUS_NAME, WGNET_OBJECT_ROOT, WGNET_MANAGER_INTERFACE,
                                               "Backend", &error, &backend);
        if (output.json) {
                _cleanup_(json_freep) Json *j = json_new_object();
                if (!j || json_object_add(j, "Client", json_new_string(WGNET_VERSION)) < 0 ||
                    json_object_add(j, "Daemon", json_new_string(version)) < 0 ||
                    json_object_add(j, "Backend", json_new_string(backend)) < 0)
                        return oom();
                json_print(stdout, j, output.json_format);
        } else {
                printf("wgnetctl %s\n", WGNET_VERSION);
                if (r >= 0)
                        printf("wgnetd %s (%s backend)\n", version, backend);
        }
        if (r < 0 && !bus)
                return 1;
        if (r < 0)
                return report_bus_error(&error, r, NULL, NULL, "Cannot read the version of wgnetd");
        return 0;
}

/* --- the verb table ------------------------------------------------------------------------- */

static int verb_help(sd_bus *bus, int argc, char **argv);

static const Verb verbs[] = {
        { NULL, "status", 0, 1, verb_status, false, 0, "[NETWORK]", "Show networks and their peers" },
        { "network", "list", 0, 0, verb_network_list, false, 0, "", "List networks" },
        { "network", "show", 1, 16, verb_network_show, false, 0, "NETWORK...", "Show networks in detail" },
        { "network", "create", 1, 1, verb_network_create, true,
          NET_SETTINGS | BIT(OPT_KEY_POLICY) | BIT(OPT_INTERFACE) | BIT(OPT_INACTIVE), "NAME --address=CIDR [OPTIONS]",
          "Create a network (a new WireGuard interface)", check_network_create },
        { "network", "delete", 1, 16, verb_network_delete, true, 0, "NETWORK...", "Delete networks and their peers" },
        { "network", "up", 1, 16, verb_network_up, true, 0, "NETWORK...", "Activate networks" },
        { "network", "down", 1, 16, verb_network_down, true, 0, "NETWORK...", "Deactivate networks" },
        { "network", "set", 1, 1, verb_network_set, true, NET_SETTINGS, "NETWORK OPTIONS", "Change network settings",
          check_network_set },
        { "network", "import", 2, 2, verb_network_import, true,
          BIT(OPT_DNS) | BIT(OPT_ENDPOINT) | BIT(OPT_PORT) | BIT(OPT_MTU) | BIT(OPT_MODE) | BIT(OPT_ROUTE) |
          BIT(OPT_ISOLATION) | BIT(OPT_NAT_INTERFACE) | BIT(OPT_ONLINE_THRESHOLD) | BIT(OPT_INTERFACE) |
          BIT(OPT_INACTIVE) | BIT(OPT_DEFAULT_ROUTE) | BIT(OPT_PEER_ROUTES), "NAME FILE|-", "Import a wg-quick config with its peers", check_input_file },
        { "network", "export", 1, 1, verb_network_export, true, BIT(OPT_OUTPUT) | BIT(OPT_FORCE), "NETWORK [-o FILE]",
          "Print the network as a wg-quick config (with the private key)" },
        { "network", "next-ip", 1, 1, verb_network_next_ip, false, 0, "NETWORK", "Show the next free peer addresses" },
        { "peer", "list", 0, 1, verb_peer_list, false, 0, "[NETWORK]", "List peers" },
        { "peer", "show", 1, 2, verb_peer_show, false, 0, "NETWORK PEER", "Show a peer in detail", check_peer_args },
        { "peer", "add", 2, 2, verb_peer_add, true,
          PEER_SETTINGS | BIT(OPT_PSK) | BIT(OPT_NO_PSK) | BIT(OPT_PUBLIC_KEY) | BIT(OPT_DISABLED) | BIT(OPT_OUTPUT) |
          BIT(OPT_FORCE) | BIT(OPT_QR) | BIT(OPT_NO_QR), "NETWORK NAME [OPTIONS]",
          "Add a peer; prints its config and QR code", check_peer_add },
        { "peer", "remove", 1, 2, verb_peer_remove, true, 0, "NETWORK PEER", "Remove a peer", check_peer_args },
        { "peer", "enable", 1, 2, verb_peer_enable, true, 0, "NETWORK PEER", "Enable a peer", check_peer_args },
        { "peer", "disable", 1, 2, verb_peer_disable, true, 0, "NETWORK PEER", "Disable a peer (keeps it)",
          check_peer_args },
        { "peer", "set", 1, 2, verb_peer_set, true, PEER_SETTINGS | BIT(OPT_NAME), "NETWORK PEER OPTIONS",
          "Change peer settings", check_peer_set },
        { "peer", "config", 1, 2, verb_peer_config, true, BIT(OPT_OUTPUT) | BIT(OPT_FORCE), "NETWORK PEER [-o FILE]",
          "Print a peer's client config", check_peer_args },
        { "peer", "rotate", 1, 2, verb_peer_rotate, true,
          BIT(OPT_PSK) | BIT(OPT_OUTPUT) | BIT(OPT_FORCE) | BIT(OPT_QR) | BIT(OPT_NO_QR), "NETWORK PEER [--psk]",
          "New key pair (with a grace period), or a new preshared key", check_peer_args },
        { "peer", "qr", 1, 2, verb_peer_qr, true, BIT(OPT_PNG) | BIT(OPT_SVG) | BIT(OPT_OUTPUT) | BIT(OPT_FORCE),
          "NETWORK PEER [--png=FILE|--svg=FILE]", "Show a peer's config as a QR code", check_peer_qr },
        { "tunnel", "list", 0, 0, verb_tunnel_list, false, 0, "", "List node-to-node tunnels" },
        { "tunnel", "show", 1, 16, verb_tunnel_show, false, 0, "TUNNEL...", "Show tunnels in detail" },
        { "tunnel", "create", 1, 1, verb_tunnel_create, true,
          TUNNEL_SETTINGS | BIT(OPT_INTERFACE) | BIT(OPT_INACTIVE), "NAME [OPTIONS]",
          "Create a tunnel to another host (pair it, or give --public-key)" },
        { "tunnel", "pairing", 1, 1, verb_tunnel_pairing, true, 0, "TUNNEL",
          "Print the pairing string to import on the other host" },
        { "tunnel", "import", 1, 1, verb_tunnel_import, true, TUNNEL_IMPORT_SETTINGS, "PAIRING|- [OPTIONS]",
          "Import a pairing string: create the tunnel, or complete it", check_input_secret },
        { "tunnel", "up", 1, 16, verb_tunnel_up, true, 0, "TUNNEL...", "Activate tunnels" },
        { "tunnel", "down", 1, 16, verb_tunnel_down, true, 0, "TUNNEL...", "Deactivate tunnels" },
        { "tunnel", "set", 1, 1, verb_tunnel_set, true, TUNNEL_SETTINGS, "TUNNEL OPTIONS", "Change tunnel settings",
          check_tunnel_set },
        { "tunnel", "delete", 1, 16, verb_tunnel_delete, true, 0, "TUNNEL...", "Delete tunnels" },
        /* the mode is mesh: --mode is refused rather than ignored */
        { "mesh", "create", 1, 1, verb_mesh_create, true,
          (NET_SETTINGS & ~BIT(OPT_MODE)) | BIT(OPT_INTERFACE) | BIT(OPT_INACTIVE), "NAME --address=CIDR --endpoint=ADDR:PORT",
          "Create a mesh that this host coordinates", check_mesh_create },
        { "mesh", "invite", 1, 1, verb_mesh_invite, true, BIT(OPT_NAME) | BIT(OPT_ENDPOINT) | BIT(OPT_EXPIRES),
          "MESH [--name=NAME] [--expires=+1h]", "Print a one-time invitation for another host", check_mesh_invite },
        { "mesh", "join", 1, 1, verb_mesh_join, true, BIT(OPT_NAME) | BIT(OPT_INTERFACE) | BIT(OPT_PORT),
          "INVITATION|- [--name=NAME]", "Join a mesh with an invitation (this host's key is made here)",
          check_input_secret },
        { "mesh", "leave", 1, 1, verb_mesh_leave, true, 0, "MESH", "Leave a mesh and remove its interface" },
        { "mesh", "members", 1, 1, verb_mesh_members, false, 0, "MESH", "List the members of a mesh" },
        { "mesh", "exit-node", 2, 3, verb_mesh_exit_node, true, BIT(OPT_NAT_INTERFACE),
          "MESH offer|withdraw|use MEMBER|none", "Offer this host as exit node, or route through one",
          check_mesh_exit_node },
        { NULL, "monitor", 0, 0, verb_monitor, false, 0, "", "Print signals and property changes as they happen" },
        { NULL, "version", 0, 0, verb_version, false, 0, "", "Show client and daemon versions" },
        { NULL, "help", 0, 0, verb_help, false, 0, "", "Show this help" },
};

static void print_help(void) {
        printf("wgnetctl [OPTIONS...] COMMAND ...\n\n"
               "Manage WireGuard networks and peers of wgnetd.\n\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                char left[96];
                snprintf(left, sizeof(left), "%s%s%s %s", verbs[i].group ? verbs[i].group : "",
                         verbs[i].group ? " " : "", verbs[i].name, verbs[i].args);
                printf("  %-44s %s\n", left, verbs[i].help);
        }
        printf("\nNETWORK is a name, an interface or an object path; PEER is a name, a public key\n"
               "or an object path (then NETWORK may be left out).\n\n"
               "Options:\n"
               "  -h --help                Show this help\n"
               "     --version             Show the version\n"
               "     --json=pretty|short   JSON output\n"
               "     --no-legend           No table headers and footers\n"
               "     --no-pager            Accepted; wgnetctl does not page\n"
               "     --no-ask-password     Do not ask for a password (polkit)\n"
               "     --show-keys           Show public keys in tables\n"
               "  -q --quiet               Fewer messages\n\n"
               "Network options (create, set, import):\n"
               "  -a --address=CIDR        Server address and subnet (repeat for IPv4 and IPv6)\n"
               "     --port=PORT           Listen port\n"
               "     --endpoint=HOST:PORT  Public endpoint written into client configs\n"
               "     --dns=IP              DNS servers for clients (repeat; --dns= clears)\n"
               "     --mtu=BYTES           MTU (0 = default)\n"
               "     --mode=MODE           hub, gateway, split or site-to-site\n"
               "     --route=CIDR          Extra route for split mode (repeat; --route= clears)\n"
               "     --isolation=BOOL      Peers cannot reach each other\n"
               "     --default-route=BOOL  A peer's 0.0.0.0/0, ::/0 takes this host's traffic (policy\n"
               "                           routing, as wg-quick; import: on unless Table = off)\n"
               "     --peer-routes=BOOL    Routes for the peers' site networks (import: off with\n"
               "                           Table = off)\n"
               "     --nat-interface=IF    Masquerade on this egress interface\n"
               "     --online-threshold=S  Seconds since the last handshake to count as online\n"
               "     --key-policy=POLICY   stored or one-time (create only)\n"
               "     --interface=IF        Interface name if not the network name (create, import)\n"
               "     --inactive            Create without bringing the interface up\n\n"
               "Peer options (add, set):\n"
               "  -a --address=auto|IP     Peer address (repeat; default auto)\n"
               "     --keepalive=S|off     Persistent keepalive (default 25)\n"
               "     --psk / --no-psk      With or without a preshared key (default with);\n"
               "                           rotate --psk: replace only the preshared key\n"
               "     --public-key=KEY      Use the peer's own key pair (the daemon never sees its private key)\n"
               "     --role=ROLE           client or site-gateway\n"
               "     --site=CIDR           Network behind a site gateway (repeat; also --allowed-ip)\n"
               "     --email=ADDR          Contact address\n"
               "     --expires=TIME        never, +30d, +12h, YYYY-MM-DD[ HH:MM[:SS]], @EPOCH\n"
               "     --name=NAME           New name (set)\n"
               "     --rotate-every=TIME   Automatic key rotation (30d, 12h, off; also networks)\n"
               "     --rotation-kind=KIND  psk or keypair (peers: default = the network's)\n"
               "     --grace-period=TIME   How long the old key pair works after a rotation\n"
               "     --revoke-after=TIME   Disable peers without a handshake for that long\n"
               "     --disabled            Add the peer disabled\n"
               "  -o --output=FILE         Write the config to FILE (0600; --force overwrites)\n"
               "     --qr / --no-qr        QR code after 'peer add' (default: on a terminal, not with -o)\n"
               "     --png=FILE --svg=FILE QR code image (peer qr)\n\n"
               "Tunnel options (create, set, import):\n"
               "     --local-network=CIDR  Network behind this host (repeat; --local-network= clears)\n"
               "     --remote-network=CIDR Network behind the other host (create, set)\n"
               "     --endpoint=IP:PORT    This host's address as the other host reaches it\n"
               "     --remote-endpoint=HOST:PORT  Tunnels: the other host's address (create, set);\n"
               "                           peers: where the device sends to first (add, set; '' = none)\n"
               "     --public-key=KEY      The other host's public key (instead of pairing)\n"
               "     --tunnel-address=CIDR Point-to-point address, e.g. 10.255.0.1/31 (create, set)\n"
               "     --port=PORT --interface=IF --keepalive=S|off --online-threshold=S --inactive\n"
               "     --pairing-lifetime=S  How long a pairing string stays valid (default 900)\n"
               "     --name=NAME           Name of the tunnel created by import\n\n"
               "See wgnetctl(1).\n");
}

static int verb_help(sd_bus *bus, int argc, char **argv) {
        print_help();
        return 0;
}

/* The list that a repeatable option adds to, or NULL. */
static char ***list_of(int opt) {
        switch (opt) {
        case OPT_ADDRESS: return &arg.addresses;
        case OPT_DNS: return &arg.dns;
        case OPT_ROUTE: return &arg.routes;
        case OPT_SITE: return &arg.sites;
        case OPT_LOCAL_NETWORK: return &arg.local_networks;
        case OPT_REMOTE_NETWORK: return &arg.remote_networks;
        case OPT_TUNNEL_ADDRESS: return &arg.tunnel_addresses;
        default: return NULL;
        }
}

/* Where --rotate-every, --revoke-after or --grace-period goes. */
static uint64_t *duration_of(int opt) {
        switch (opt) {
        case OPT_ROTATE_EVERY: return &arg.rotate_every;
        case OPT_REVOKE_AFTER: return &arg.revoke_after;
        default: return &arg.grace_period;
        }
}

/* "+6m": minutes to some, months to others. */
static int ambiguous_minutes(int opt, const char *value) {
        return usage_error("Invalid value '%s' for --%s: 'm' may mean minutes or months; write 'min' for minutes, "
                           "or days ('d') or weeks ('w'), e.g. %s180d for about six months", value, option_name(opt),
                           value[0] == '+' ? "+" : "");
}

static int parse_argv(int argc, char **argv) {
        int c, r;
        uint64_t v;

        while ((c = getopt_long(argc, argv, "hqa:o:", long_options, NULL)) >= 0) {
                if (c == 'a')
                        c = OPT_ADDRESS;
                if (c >= OPT_ADDRESS && c < _OPT_VERB_MAX)
                        arg.given |= BIT(c);
                /* every value but the local file names goes on the bus: UTF-8 only */
                if (optarg && c != 'o' && c != OPT_OUTPUT && c != OPT_PNG && c != OPT_SVG) {
                        r = check_utf8_option(c, optarg);
                        if (r < 0)
                                return r;
                }
                char ***list = list_of(c);
                if (list) {
                        if (list_option(list, optarg) < 0)
                                return oom();
                        continue;
                }
                switch (c) {
                case 'h':
                        print_help();
                        return 0;
                case OPT_VERSION:
                        printf("wgnetctl %s\n", WGNET_VERSION);
                        return 0;
                case 'q':
                        arg.quiet = true;
                        break;
                case OPT_JSON:
                        output.json = true;
                        if (!optarg || streq(optarg, "pretty"))
                                output.json_format = JSON_FORMAT_PRETTY;
                        else if (streq(optarg, "short"))
                                output.json_format = JSON_FORMAT_SHORT;
                        else
                                return bad_value(c, optarg, "pretty or short");
                        break;
                case OPT_NO_LEGEND:
                        output.legend = false;
                        break;
                case OPT_NO_PAGER:
                        break;
                case OPT_NO_ASK_PASSWORD:
                        arg.ask_password = false;
                        break;
                case OPT_SHOW_KEYS:
                        output.show_keys = true;
                        break;
                case OPT_ENDPOINT:
                        arg.endpoint = optarg;
                        break;
                case OPT_REMOTE_ENDPOINT:
                        arg.remote_endpoint = optarg;
                        break;
                case OPT_PAIRING_LIFETIME:
                        if (parse_unsigned(optarg, 1, 7 * 86400, &v) < 0)
                                return bad_value(c, optarg, "seconds, 1 to 604800");
                        arg.pairing_lifetime = (uint32_t) v;
                        break;
                case OPT_PORT:
                        if (parse_unsigned(optarg, 1, 65535, &v) < 0)
                                return bad_value(c, optarg, "a port number 1-65535");
                        arg.port = (uint16_t) v;
                        break;
                case OPT_MTU:
                        if (parse_unsigned(optarg, 0, 65535, &v) < 0)
                                return bad_value(c, optarg, "a number of bytes, 1280-9000, or 0 for the default");
                        arg.mtu = (uint32_t) v;
                        break;
                case OPT_MODE:
                        arg.mode = optarg;
                        break;
                case OPT_ISOLATION:
                        r = parse_bool(optarg);
                        if (r < 0)
                                return bad_value(c, optarg, "yes or no");
                        arg.isolation = r;
                        break;
                case OPT_DEFAULT_ROUTE:
                        r = parse_bool(optarg);
                        if (r < 0)
                                return bad_value(c, optarg, "yes or no");
                        arg.default_route = r;
                        break;
                case OPT_PEER_ROUTES:
                        r = parse_bool(optarg);
                        if (r < 0)
                                return bad_value(c, optarg, "yes or no");
                        arg.peer_routes = r;
                        break;
                case OPT_NAT_INTERFACE:
                        arg.nat_interface = optarg;
                        break;
                case OPT_KEY_POLICY:
                        if (!streq(optarg, "stored") && !streq(optarg, "one-time"))
                                return bad_value(c, optarg, "stored or one-time");
                        arg.key_policy = optarg;
                        break;
                case OPT_ONLINE_THRESHOLD:
                        if (parse_unsigned(optarg, 1, UINT32_MAX, &v) < 0)
                                return bad_value(c, optarg, "a number of seconds");
                        arg.online_threshold = (uint32_t) v;
                        break;
                case OPT_INTERFACE:
                        arg.interface = optarg;
                        break;
                case OPT_INACTIVE:
                case OPT_DISABLED:
                case OPT_FORCE:
                case OPT_QR:
                case OPT_NO_QR:
                        break;
                case OPT_KEEPALIVE:
                        if (parse_keepalive(optarg, &arg.keepalive) < 0)
                                return bad_value(c, optarg, "seconds 0-65535 or off");
                        break;
                case OPT_PSK:
                        arg.psk = true;
                        break;
                case OPT_NO_PSK:
                        arg.psk = false;
                        break;
                case OPT_PUBLIC_KEY:
                        arg.public_key = optarg;
                        break;
                case OPT_ROLE:
                        if (!streq(optarg, "client") && !streq(optarg, "site-gateway"))
                                return bad_value(c, optarg, "client or site-gateway");
                        arg.role = optarg;
                        break;
                case OPT_EMAIL:
                        arg.email = optarg;
                        break;
                case OPT_NAME:
                        arg.name = optarg;
                        break;
                case OPT_EXPIRES:
                        r = parse_expiry(optarg, now_realtime_usec(), &arg.expires);
                        if (r == -EDOM)
                                return ambiguous_minutes(c, optarg);
                        if (r < 0)
                                return bad_value(c, optarg, "never, +30d, +12h, +90min, +2w, YYYY-MM-DD[ HH:MM[:SS]] or @EPOCH");
                        break;
                case OPT_ROTATE_EVERY:
                case OPT_REVOKE_AFTER:
                case OPT_GRACE_PERIOD:
                        r = parse_duration(optarg, duration_of(c));
                        if (r == -EDOM)
                                return ambiguous_minutes(c, optarg);
                        if (r < 0)
                                return bad_value(c, optarg, "a duration such as 30d, 12h, 90min, 3600 (seconds) or off");
                        break;
                case OPT_ROTATION_KIND:
                        if (!streq(optarg, "psk") && !streq(optarg, "keypair") && !streq(optarg, "default"))
                                return bad_value(c, optarg, "psk, keypair or default (the network's, for peers)");
                        arg.rotation_kind = streq(optarg, "default") ? "" : optarg;
                        break;
                case 'o':
                        arg.given |= BIT(OPT_OUTPUT);
                        __attribute__((fallthrough));
                case OPT_OUTPUT:
                        arg.output = optarg;
                        break;
                case OPT_PNG:
                        arg.png = optarg;
                        break;
                case OPT_SVG:
                        arg.svg = optarg;
                        break;
                case '?':
                        return -EXIT_USAGE;
                default:
                        return usage_error("Unhandled option");
                }
        }
        if (GIVEN(OPT_PSK) && GIVEN(OPT_NO_PSK))
                return usage_error("Give either --psk or --no-psk, not both");
        if (GIVEN(OPT_QR) && GIVEN(OPT_NO_QR))
                return usage_error("Give either --qr or --no-qr, not both");
        return 1;
}

/* A word that starts two-word commands ("network", "peer", "tunnel", "mesh"). */
static bool is_group(const char *word) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq_ptr(verbs[i].group, word))
                        return true;
        return false;
}

static const Verb *find_verb(int argc, char **argv, int *ret_consumed) {
        const char *group = argc > 0 ? argv[0] : "status";

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (!verbs[i].group && streq(verbs[i].name, group)) {
                        *ret_consumed = argc > 0;
                        return &verbs[i];
                }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                if (!streq_ptr(verbs[i].group, group))
                        continue;
                const char *name = argc > 1 ? argv[1] : "list";
                for (size_t k = i; k < ELEMENTSOF(verbs); k++)
                        if (streq_ptr(verbs[k].group, group) && streq(verbs[k].name, name)) {
                                *ret_consumed = argc > 1 ? 2 : 1;
                                return &verbs[k];
                        }
                return NULL;
        }
        return NULL;
}

static sd_bus *connect_bus(void) {
        sd_bus *bus = NULL;
        int r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "wgnetctl: Cannot connect to the system bus: %s\n", strerror(-r));
                return NULL;
        }
        (void) sd_bus_set_allow_interactive_authorization(bus, arg.ask_password && isatty(STDIN_FILENO));
        return bus;
}

static int run(int argc, char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const Verb *verb;
        int consumed = 0, r;

        output_init();
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? -r : 0;
        argc -= optind;
        argv += optind;

        verb = find_verb(argc, argv, &consumed);
        if (!verb) {
                if (argc > 1 && is_group(argv[0]))
                        usage_error("Unknown command '%s %s' (see wgnetctl --help)", argv[0], argv[1]);
                else
                        usage_error("Unknown command '%s' (see wgnetctl --help)", argv[0]);
                return EXIT_USAGE;
        }
        argc -= consumed;
        argv += consumed;

        char full[64];
        snprintf(full, sizeof(full), "%s%s%s", verb->group ? verb->group : "", verb->group ? " " : "", verb->name);
        if ((unsigned) argc < verb->min_args) {
                /* Name the first missing argument from the usage words. */
                char words[96], *save = NULL, *w = NULL;
                snprintf(words, sizeof(words), "%s", verb->args);
                w = strtok_r(words, " ", &save);
                for (int i = 0; w && i < argc; i++)
                        w = strtok_r(NULL, " ", &save);
                usage_error("'%s' is missing %s (usage: wgnetctl %s %s)", full, w ? w : "an argument", full, verb->args);
                return EXIT_USAGE;
        }
        if ((unsigned) argc > verb->max_args) {
                usage_error("Unexpected argument '%s': '%s' takes at most %u (usage: wgnetctl %s%s%s)", argv[verb->max_args],
                            full, verb->max_args, full, *verb->args ? " " : "", verb->args);
                return EXIT_USAGE;
        }
        uint64_t bad = arg.given & ~verb->options;
        if (bad) {
                for (int o = OPT_ADDRESS; o < _OPT_VERB_MAX; o++)
                        if (bad & BIT(o)) {
                                usage_error("Option --%s does not apply to '%s'", option_name(o), full);
                                break;
                        }
                return EXIT_USAGE;
        }
        if (verb->fn == verb_help)
                return verb_help(NULL, argc, argv);
        /* Wrong usage is found before connecting: exit 2 whether or not a bus is there. */
        if (output_path() && !*output_path()) {
                usage_error("Empty file name for -o, --png or --svg: give a file, or - for standard output");
                return EXIT_USAGE;
        }
        /* Arguments go on the bus (names, pairing strings), except files: UTF-8 only. */
        {
                char words[96], *save = NULL, *w;
                snprintf(words, sizeof(words), "%s", verb->args);
                w = strtok_r(words, " ", &save);
                for (int i = 0; i < argc; i++) {
                        if (!w || strncmp(w, "FILE", 4) != 0) {
                                r = check_utf8_argument(full, w, argv[i]);
                                if (r != 0)
                                        return -r;
                        }
                        if (w && !strstr(w, "..."))
                                w = strtok_r(NULL, " ", &save);
                }
        }
        if (verb->check) {
                r = verb->check(argc, argv);
                if (r != 0)
                        return r < 0 ? -r : r;
        }
        /* Before the call that fills it: a key handed out once must have somewhere to go. */
        r = output_prepare();
        if (r != 0)
                return r;

        bus = connect_bus();
        if (!bus)
                /* the client's version needs no bus */
                return verb->fn == verb_version ? verb_version(NULL, argc, argv) : 1;
        if (verb->auth && arg.ask_password)
                (void) polkit_agent_open();
        r = verb->fn(bus, argc, argv);
        polkit_agent_close();
        return r < 0 ? -r : r;
}

int main(int argc, char **argv) {
        int r = run(argc, argv);
        output_done();
        /* A config or key that never reached stdout (a full disk, a closed pipe) is a
         * failure: with KeyPolicy=one-time it cannot be fetched again. */
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "wgnetctl: cannot write the output: %s\n", strerror(errno ? errno : EIO));
                if (r == 0)
                        r = 1;
        }
        wipe_free(arg.input);
        strv_free(arg.addresses);
        strv_free(arg.dns);
        strv_free(arg.routes);
        strv_free(arg.sites);
        strv_free(arg.local_networks);
        strv_free(arg.remote_networks);
        strv_free(arg.tunnel_addresses);
        return r;
}
